//! One job's training run: the model built for the job's method, trained with checkpoints the
//! run resumes from after a crash, then the base and the adapted model scored on the held-out
//! rows. The result is saved so a restarted daemon never trains a job twice.

use crate::artifact::{blake2b_256, write_trainable};
use crate::daemon::dataset::{Dataset, Row};
use crate::daemon::hyperparameters::Hyperparameters;
use crate::data::{Encoded, Example};
use crate::eval::{evaluate_base_and_adapted, held_out_loss, EvalReport, Generation, LOSS_BATCH};
use crate::job::ModelDir;
use crate::model::Llama;
use crate::peft;
use crate::serve::runtime::LoraWeights;
use crate::train::{Output, Trainer};
use crate::tuning::Method;
use anyhow::{bail, Context, Result};
use attribution_primitives::{ContributionId, Hash, JobId};
use burn::module::Module;
use burn::tensor::Device;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What a finished run produced: everything the proof commits to.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainedJob {
    pub job: JobId,
    pub steps: u64,
    pub tokens: u64,
    /// The adapter's weights file (PEFT `adapter_model.safetensors`).
    pub adapter_path: PathBuf,
    pub adapter_hash: Hash,
    pub adapter_size: u64,
    /// Hashes of the checkpoints' weights files, in step order.
    pub checkpoint_hashes: Vec<Hash>,
    pub held_out_root: Hash,
    pub contributions: Vec<ContributionId>,
    pub base: EvalReport,
    pub adapted: EvalReport,
}

/// A training step's figures, for the status API and the progress bar.
#[derive(Debug, Clone, Copy)]
pub struct StepProgress {
    pub step: usize,
    pub steps: usize,
    pub loss: f32,
    pub tokens_per_second: f64,
    pub eta_seconds: f64,
}

/// Where the run is, for whoever watches it.
pub trait Observer {
    fn step(&self, progress: StepProgress);
    fn evaluating(&self);
}

/// The model directory (or `.gguf` file), the rows and the settings of one job.
pub struct JobRun<'a> {
    pub job: JobId,
    pub model_path: &'a Path,
    pub dataset: &'a Dataset,
    pub hyperparameters: &'a Hyperparameters,
    pub seed: u64,
    /// Checkpoints go to `run_dir/checkpoint-{step}`.
    pub run_dir: &'a Path,
}

impl JobRun<'_> {
    /// Trains (resuming from the last checkpoint in `run_dir`, if any) and evaluates.
    pub fn run(&self, device: &Device, observer: &dyn Observer) -> Result<TrainedJob> {
        let hp = self.hyperparameters;
        if hp.method.lora().is_none() {
            bail!("this worker trains LoRA and QLoRA jobs only");
        }
        let model_dir = ModelDir::load(self.model_path)?;
        let encode = |rows: &[Row]| -> Result<(Vec<Example>, Vec<Encoded>)> {
            let examples: Vec<Example> = rows.iter().map(|r| r.example.clone()).collect();
            let encoded = model_dir.encode(&examples, hp.cutoff)?;
            Ok((examples, encoded))
        };
        let (_, train_set) = encode(&self.dataset.train)?;
        let (held_out, held_out_encoded) = encode(&self.dataset.held_out)?;

        let mut config = hp.train.clone();
        config.seed = self.seed;
        let autodiff = device.clone().autodiff();
        autodiff.seed(self.seed);
        let model = Llama::from_checkpoint(&model_dir.checkpoint, &hp.method, &autodiff)?;
        let (model, resumed) = resume(model, self.run_dir)?;
        let output = Output {
            dir: self.run_dir.to_path_buf(),
            model_config: model_dir.checkpoint.config.clone(),
            base_model: Some(self.model_path.display().to_string()),
        };
        let pad = model_dir.special.pad;
        let mut trainer = Trainer::new(model, &train_set, pad, &config, &autodiff)?;
        let mut tokens = resumed.map_or(0, |state| {
            trainer.resume_at(state.step);
            tracing::info!(
                job = self.job,
                step = state.step,
                "resumed from the last checkpoint"
            );
            state.tokens
        });
        let (started, first) = (Instant::now(), trainer.steps_done());
        let mut tokens_now = 0u64;
        while trainer.steps_done() < config.steps {
            let outcome = trainer.step();
            let done = trainer.steps_done();
            tokens_now += outcome.trained_tokens as u64;
            let elapsed = started.elapsed().as_secs_f64().max(1e-9);
            observer.step(StepProgress {
                step: done,
                steps: config.steps,
                loss: outcome.loss,
                tokens_per_second: tokens_now as f64 / elapsed,
                eta_seconds: elapsed / (done - first) as f64 * (config.steps - done) as f64,
            });
            let due = config.checkpoint_every > 0 && done % config.checkpoint_every == 0;
            if due || done == config.steps {
                let record = write_trainable(&trainer.model().valid(), &hp.method, done, &output)?;
                let state = TrainerState {
                    step: done,
                    tokens: tokens + tokens_now,
                };
                // Written last: a checkpoint without it is incomplete and ignored on resume.
                std::fs::write(
                    self.run_dir
                        .join(format!("checkpoint-{done}"))
                        .join(STATE_FILE),
                    serde_json::to_vec(&state)?,
                )?;
                tracing::info!(job = self.job, step = done, hash = %record.hash, "checkpoint");
            }
        }
        tokens += tokens_now;
        let checkpoints = checkpoint_files(self.run_dir)?;
        let (_, adapter_path) = checkpoints.last().context("the run wrote no checkpoint")?;
        let adapter_bytes = std::fs::read(adapter_path)?;
        let checkpoint_hashes = checkpoints
            .iter()
            .map(|(_, path)| Ok(Hash::from(blake2b_256(&std::fs::read(path)?))))
            .collect::<Result<Vec<_>>>()?;

        observer.evaluating();
        let generation = Generation {
            max_new_tokens: hp.max_new_tokens,
            eos: model_dir.special.eos,
            pad,
        };
        // Losses with the training model (what training minimised); completions with the
        // serving runtime, from the adapter file the proof commits to (`verify` does the same).
        let adapted_model = trainer.into_model().valid();
        let adapted_loss =
            held_out_loss(&adapted_model, &held_out_encoded, LOSS_BATCH, pad, device);
        drop(adapted_model);
        let base_model = Llama::from_checkpoint(&model_dir.checkpoint, &Method::Full, device)?;
        let base_loss = held_out_loss(&base_model, &held_out_encoded, LOSS_BATCH, pad, device);
        drop(base_model);
        let lora = hp.method.lora().context("a LoRA method")?;
        let adapter = LoraWeights::from_peft(&adapter_bytes, lora)?;
        let started = Instant::now();
        let (base, adapted) = evaluate_base_and_adapted(
            &model_dir.checkpoint,
            &model_dir.tokenizer,
            &held_out,
            &held_out_encoded,
            generation,
            (base_loss, adapted_loss),
            &adapter,
        )?;
        tracing::info!(
            job = self.job,
            seconds = started.elapsed().as_secs_f64(),
            "held-out completions generated"
        );
        tracing::info!(
            job = self.job,
            base_loss = base.loss,
            adapted_loss = adapted.loss,
            base_rouge_l = base.rouge_l,
            adapted_rouge_l = adapted.rouge_l,
            "held-out evaluation"
        );
        Ok(TrainedJob {
            job: self.job,
            steps: config.steps as u64,
            tokens,
            adapter_path: adapter_path.clone(),
            adapter_hash: Hash::from(blake2b_256(&adapter_bytes)),
            adapter_size: adapter_bytes.len() as u64,
            checkpoint_hashes,
            held_out_root: self.dataset.held_out_root(),
            contributions: self.dataset.contributions.clone(),
            base,
            adapted,
        })
    }
}

/// Written into each checkpoint directory after its weights.
const STATE_FILE: &str = "trainer_state.json";

/// Where a checkpointed run was.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct TrainerState {
    step: usize,
    /// Completion tokens trained on up to `step`.
    tokens: u64,
}

/// Attaches the adapter of the latest complete checkpoint in `run_dir` to `model`. A checkpoint
/// that does not load (the process died while writing it) is deleted and the one before tried.
fn resume(model: Llama, run_dir: &Path) -> Result<(Llama, Option<TrainerState>)> {
    let mut checkpoints = checkpoint_files(run_dir)?;
    while let Some((_, weights)) = checkpoints.pop() {
        let dir = weights.parent().expect("a checkpoint file has a directory");
        let state = std::fs::read(dir.join(STATE_FILE))
            .ok()
            .and_then(|bytes| serde_json::from_slice::<TrainerState>(&bytes).ok());
        let loaded = state.map(|state| {
            let attached = peft::load_adapter(model.clone(), dir).map(|(m, _)| m);
            (state, attached)
        });
        match loaded {
            Some((state, Ok(adapted))) => return Ok((adapted, Some(state))),
            Some((_, Err(error))) => tracing::warn!(
                checkpoint = %dir.display(),
                "dropping a checkpoint that does not load: {error:#}"
            ),
            None => {
                tracing::warn!(checkpoint = %dir.display(), "dropping an incomplete checkpoint")
            }
        }
        std::fs::remove_dir_all(dir)?;
    }
    Ok((model, None))
}

/// `(step, weights file)` of every checkpoint in `run_dir`, in step order.
pub fn checkpoint_files(run_dir: &Path) -> Result<Vec<(usize, PathBuf)>> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(run_dir) else {
        return Ok(found);
    };
    for entry in entries {
        let path = entry?.path();
        let step = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_prefix("checkpoint-"))
            .and_then(|n| n.parse::<usize>().ok());
        let weights = path.join(peft::WEIGHTS_FILE);
        if let (Some(step), true) = (step, weights.is_file()) {
            found.push((step, weights));
        }
    }
    found.sort();
    Ok(found)
}
