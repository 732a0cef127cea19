//! `bench train --model PATH --quality STEPS`: how much NF4 quantization of the base bends
//! training, on the real checkpoint and real rows.
//!
//! LoRA (over the `f32` base) and QLoRA (over its NF4 packing) train the same adapters (same
//! seed, rank, alpha, targets, rows, order and schedule) for `STEPS` steps; at the start and at
//! every checkpoint (each quarter of the run) both are scored on held-out rows that neither
//! trains on: mean cross-entropy over the completion tokens, as training measures it. Step 0
//! is each base alone (the adapters start at `B = 0`), so its gap is the quantization error
//! itself; later gaps show whether training closes or widens it.
//!
//! Beside the loss, ROUGE-L (F-measure, percent) of greedy completions of the first held-out
//! rows' prompts against their reference completions: each row generates at most as many
//! tokens as its reference has within the cutoff, all rows in one batch per generated token.

use crate::checkpoint::ModelWeights;
use crate::data::Encoded;
use crate::eval::held_out_loss;
use crate::model::Llama;
use crate::rouge::mean_fmeasures;
use crate::train::{TrainConfig, Trainer};
use crate::tuning::Method;
use anyhow::{anyhow, ensure, Result};
use burn::module::Module;
use burn::tensor::{Device, Int, Tensor, TensorData};
use serde::Serialize;
use std::path::Path;
use tokenizers::Tokenizer;

/// Checkpoints of a quality run: each quarter of the steps.
const CHECKPOINTS: usize = 4;

/// Held-out loss and ROUGE-L of both methods after `steps` optimizer steps.
#[derive(Debug, Clone, Serialize)]
pub struct QualityPoint {
    pub steps: usize,
    pub lora_loss: f64,
    pub qlora_loss: f64,
    /// Percent.
    pub lora_rouge_l: f64,
    /// Percent.
    pub qlora_rouge_l: f64,
}

/// One method's scores at one checkpoint.
struct Score {
    loss: f64,
    rouge_l: f64,
}

/// A LoRA-beside-QLoRA quality run.
#[derive(Debug, Clone, Serialize)]
pub struct QualityReport {
    pub train_rows: usize,
    pub held_out_rows: usize,
    /// Held-out rows whose prompts are completed for ROUGE-L (the first ones).
    pub generated_rows: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    pub points: Vec<QualityPoint>,
}

/// What a quality run trains on and how.
pub struct QualitySettings<'a> {
    pub model: &'a Path,
    /// `lora` and `qlora` of the benchmark's plan (rank, alpha, all seven projections).
    pub methods: [Method; 2],
    pub train: &'a [Encoded],
    pub held_out: &'a [Encoded],
    /// How many of `held_out` (the first ones) to complete for ROUGE-L.
    pub generated_rows: usize,
    /// Decodes completions and references for ROUGE-L.
    pub tokenizer: &'a Tokenizer,
    /// Ends a completion.
    pub eos: Option<u32>,
    pub pad: u32,
    pub batch_size: usize,
    pub steps: usize,
    pub learning_rate: f64,
    pub seed: u64,
}

/// Trains both methods and scores them at every checkpoint.
pub fn run(settings: &QualitySettings) -> Result<QualityReport> {
    ensure!(
        settings.steps >= CHECKPOINTS,
        "--quality needs at least {CHECKPOINTS} steps (one per checkpoint)"
    );
    ensure!(!settings.held_out.is_empty(), "no held-out rows");
    let device = Device::flex().autodiff();
    let config = TrainConfig {
        steps: settings.steps,
        batch_size: settings.batch_size,
        learning_rate: settings.learning_rate,
        warmup_steps: (settings.steps / 10).max(1),
        seed: settings.seed,
        progress: false,
        ..TrainConfig::default()
    };
    let at: Vec<usize> = (0..=CHECKPOINTS)
        .map(|i| settings.steps * i / CHECKPOINTS)
        .collect();
    let generated = &settings.held_out[..settings.generated_rows.min(settings.held_out.len())];
    let references = generated
        .iter()
        .map(|row| decode(settings.tokenizer, &row.tokens[row.prompt_len..]))
        .collect::<Result<Vec<_>>>()?;
    let mut scores = [Vec::new(), Vec::new()];
    for (method, scores) in settings.methods.iter().zip(&mut scores) {
        let weights = ModelWeights::open(settings.model)?;
        device.seed(settings.seed);
        let model = Llama::from_checkpoint(&weights, method, &device)?;
        drop(weights);
        let mut trainer = Trainer::new(model, settings.train, settings.pad, &config, &device)?;
        for &steps in &at {
            while trainer.steps_done() < steps {
                trainer.step();
            }
            let model = trainer.model().valid();
            let loss = held_out_loss(
                &model,
                settings.held_out,
                settings.batch_size,
                settings.pad,
                &Device::flex(),
            );
            let completions = greedy_completions(
                &model,
                generated,
                settings.pad,
                settings.eos,
                &Device::flex(),
            )
            .iter()
            .map(|tokens| decode(settings.tokenizer, tokens))
            .collect::<Result<Vec<_>>>()?;
            let [_, _, rouge_l] = mean_fmeasures(
                references
                    .iter()
                    .zip(&completions)
                    .map(|(reference, completion)| (reference.as_str(), completion.as_str())),
            );
            tracing::info!(
                method = method.name(),
                steps,
                loss,
                rouge_l,
                "held-out scores"
            );
            scores.push(Score { loss, rouge_l });
        }
    }
    let [lora, qlora] = scores;
    Ok(QualityReport {
        train_rows: settings.train.len(),
        held_out_rows: settings.held_out.len(),
        generated_rows: generated.len(),
        batch_size: settings.batch_size,
        learning_rate: settings.learning_rate,
        points: at
            .iter()
            .zip(lora.iter().zip(&qlora))
            .map(|(&steps, (lora, qlora))| QualityPoint {
                steps,
                lora_loss: lora.loss,
                qlora_loss: qlora.loss,
                lora_rouge_l: lora.rouge_l,
                qlora_rouge_l: qlora.rouge_l,
            })
            .collect(),
    })
}

/// Greedy completions of `rows`' prompts, each at most as long as the row's own completion
/// (its reference within the cutoff), stopping at `eos`.
///
/// All unfinished rows run as one right-padded batch per generated token: attention is causal,
/// so the padding after a row's last token never reaches the position whose next token is read,
/// and each row's positions start at 0 as in training.
pub fn greedy_completions(
    model: &Llama,
    rows: &[Encoded],
    pad: u32,
    eos: Option<u32>,
    device: &Device,
) -> Vec<Vec<u32>> {
    let budgets: Vec<usize> = rows.iter().map(|r| r.tokens.len() - r.prompt_len).collect();
    let mut sequences: Vec<Vec<u32>> = rows
        .iter()
        .map(|r| r.tokens[..r.prompt_len].to_vec())
        .collect();
    let mut completions = vec![Vec::new(); rows.len()];
    let mut finished = vec![false; rows.len()];
    loop {
        let active: Vec<usize> = (0..rows.len())
            .filter(|&i| !finished[i] && completions[i].len() < budgets[i])
            .collect();
        let Some(width) = active.iter().map(|&i| sequences[i].len()).max() else {
            break;
        };
        let mut ids = Vec::with_capacity(active.len() * width);
        let mut last = Vec::with_capacity(active.len());
        for (row, &i) in active.iter().enumerate() {
            let sequence = &sequences[i];
            ids.extend(sequence.iter().map(|&t| i64::from(t)));
            ids.extend(std::iter::repeat_n(i64::from(pad), width - sequence.len()));
            last.push((row * width + sequence.len() - 1) as i64);
        }
        let n = active.len();
        let input = Tensor::<2, Int>::from_data(TensorData::new(ids, [n, width]), device);
        let top = model.body(input);
        let d = top.dims()[2];
        let index = Tensor::<1, Int>::from_data(TensorData::new(last, [n]), device);
        let at_last = top
            .reshape([n * width, d])
            .select(0, index)
            .reshape([n, 1, d]);
        let next = model
            .head(at_last)
            .argmax(2)
            .into_data()
            .convert::<i64>()
            .try_into_vec::<i64>()
            .expect("argmax gives integer ids");
        for (&i, &token) in active.iter().zip(&next) {
            let token = u32::try_from(token).expect("token ids fit in u32");
            if Some(token) == eos {
                finished[i] = true;
            } else {
                sequences[i].push(token);
                completions[i].push(token);
            }
        }
    }
    completions
}

fn decode(tokenizer: &Tokenizer, tokens: &[u32]) -> Result<String> {
    tokenizer
        .decode(tokens, true)
        .map_err(|e| anyhow!("decoding: {e}"))
}

impl QualityReport {
    /// The report as a Markdown table.
    pub fn markdown(&self) -> String {
        let mut out = format!(
            "\nQuality: LoRA and QLoRA trained on {} rows (batch {}, learning rate {}), held-out loss on {} other rows, ROUGE-L of greedy completions of the first {}\n\n| steps | LoRA loss | QLoRA loss | QLoRA − LoRA | LoRA ROUGE-L | QLoRA ROUGE-L | QLoRA − LoRA |\n|---:|---:|---:|---:|---:|---:|---:|\n",
            self.train_rows, self.batch_size, self.learning_rate, self.held_out_rows, self.generated_rows
        );
        for p in &self.points {
            out += &format!(
                "| {} | {:.4} | {:.4} | {:+.4} | {:.2} | {:.2} | {:+.2} |\n",
                p.steps,
                p.lora_loss,
                p.qlora_loss,
                p.qlora_loss - p.lora_loss,
                p.lora_rouge_l,
                p.qlora_rouge_l,
                p.qlora_rouge_l - p.lora_rouge_l
            );
        }
        out
    }
}
