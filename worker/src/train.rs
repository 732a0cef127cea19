//! The training loop: AdamW, linear warmup then cosine decay, global-norm gradient clipping and
//! accumulation, fixed seeds, and checkpoints every K steps whose BLAKE2b-256 hashes the
//! training proof commits to.

pub mod adamw;

use crate::artifact::{write_trainable, CheckpointRecord};
use crate::clipping::{clip_factor, clip_global_norm, global_norm};
use crate::data::{make_batch, Batch, Encoded};
use crate::layerwise;
use crate::loss::head_loss;
use crate::model::{fused, Llama, LlamaConfig};
use crate::tuning::Method;
use anyhow::{ensure, Result};
use burn::module::Module;
use burn::optim::{AdamWConfig, GradientsAccumulator, GradientsParams, ModuleOptimizer};
use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Tensor};
use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Instant;

/// Optimisation settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainConfig {
    /// Optimizer steps.
    pub steps: usize,
    /// Examples per micro-batch.
    pub batch_size: usize,
    /// Micro-batches whose gradients are summed into one step.
    pub grad_accumulation: usize,
    pub learning_rate: f64,
    /// Steps of linear warmup before the cosine decay to zero.
    pub warmup_steps: usize,
    pub weight_decay: f32,
    /// Gradients are scaled together so that their global L2 norm is at most this; 0 disables
    /// clipping.
    pub max_grad_norm: f32,
    /// Seeds data order, adapter initialisation and dropout.
    pub seed: u64,
    /// Write a checkpoint every this many steps (0: only at the end).
    pub checkpoint_every: usize,
    /// Show the progress bar.
    pub progress: bool,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            steps: 100,
            batch_size: 8,
            grad_accumulation: 1,
            learning_rate: 2e-4,
            warmup_steps: 10,
            weight_decay: 0.0,
            max_grad_norm: 1.0,
            seed: 42,
            checkpoint_every: 0,
            progress: true,
        }
    }
}

impl TrainConfig {
    fn validate(&self) -> Result<()> {
        ensure!(self.steps > 0, "steps must be at least 1");
        ensure!(self.batch_size > 0, "batch_size must be at least 1");
        ensure!(
            self.grad_accumulation > 0,
            "grad_accumulation must be at least 1"
        );
        ensure!(self.learning_rate > 0.0, "learning_rate must be positive");
        Ok(())
    }

    /// Learning rate at optimizer step `step` (0-based): linear warmup, then cosine to zero.
    pub fn learning_rate_at(&self, step: usize) -> f64 {
        if step < self.warmup_steps {
            return self.learning_rate * (step + 1) as f64 / self.warmup_steps as f64;
        }
        let decay_steps = (self.steps - self.warmup_steps).max(1) as f64;
        let progress = (step - self.warmup_steps) as f64 / decay_steps;
        self.learning_rate * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
    }
}

/// Mean cross-entropy over the completion tokens.
///
/// - logits: `[batch, seq, vocab]`
/// - output: `[1]`
pub fn masked_loss(logits: Tensor<3>, batch: &Batch) -> Tensor<1> {
    let [b, s, _] = logits.dims();
    let picked = log_softmax(logits, 2)
        .gather(2, batch.targets.clone().unsqueeze_dim(2))
        .reshape([b, s]);
    let total = (picked * batch.mask.clone()).sum().neg();
    total.div_scalar(batch.trained_tokens.max(1) as f64)
}

/// What a run produced.
#[derive(Debug, Clone, Serialize)]
pub struct TrainReport {
    pub method: String,
    /// Loss of each optimizer step (mean over its micro-batches).
    pub losses: Vec<f32>,
    pub checkpoints: Vec<CheckpointRecord>,
    pub trained_tokens: usize,
    pub seconds: f64,
    /// Wall time of each optimizer step (without checkpoint writing).
    pub step_seconds: Vec<f64>,
}

/// Where a run writes its checkpoints.
pub struct Output {
    pub dir: PathBuf,
    /// The base model's configuration (written with full fine-tuning checkpoints).
    pub model_config: LlamaConfig,
    pub base_model: Option<String>,
}

/// AdamW's state, in the implementation the device runs best.
enum Optimizer {
    /// One in-place pass per parameter on `flex` ([`adamw`]).
    Fused(adamw::AdamW),
    /// burn's composition, on other backends.
    Burn(ModuleOptimizer),
}

/// One optimizer's state over one model: the steps of a run, callable one at a time (the
/// benchmark interleaves several trainers so that machine load hits every method alike).
pub struct Trainer<'a> {
    model: Option<Llama>,
    optimizer: Optimizer,
    sampler: Sampler<'a>,
    config: TrainConfig,
    device: Device,
    steps_done: usize,
    /// Backpropagate block by block (see [`layerwise`]): for quantized models on backends where
    /// the packed matmul cannot expand its weight again in backward ([`fused::packed_matmul`]), so a
    /// whole-model graph would hold every expanded weight.
    layerwise: bool,
}

/// What one optimizer step did.
#[derive(Debug, Clone, Copy)]
pub struct StepOutcome {
    pub loss: f32,
    pub trained_tokens: usize,
    pub seconds: f64,
}

impl<'a> Trainer<'a> {
    /// A trainer for `model` (built on an autodiff `device`) over `examples`.
    pub fn new(
        model: Llama,
        examples: &'a [Encoded],
        pad: u32,
        config: &TrainConfig,
        device: &Device,
    ) -> Result<Self> {
        config.validate()?;
        ensure!(!examples.is_empty(), "no training examples");
        ensure!(device.is_autodiff(), "training needs an autodiff device");
        device.seed(config.seed);
        let optimizer = if fused::tracks_on(device) {
            Optimizer::Fused(adamw::AdamW::new(config.weight_decay))
        } else {
            Optimizer::Burn(
                AdamWConfig::new()
                    .with_weight_decay(config.weight_decay)
                    .init(),
            )
        };
        let model_is_quantized = model.is_quantized();
        Ok(Self {
            model: Some(model),
            optimizer,
            sampler: Sampler {
                examples,
                order: Vec::new(),
                rng: StdRng::seed_from_u64(config.seed),
                pad,
            },
            config: config.clone(),
            device: device.clone(),
            steps_done: 0,
            layerwise: model_is_quantized && !fused::tracks_on(device),
        })
    }

    /// Continues a run that stopped after `steps_done` optimizer steps, its parameters restored
    /// from a checkpoint: the data order and the learning-rate schedule pick up where they
    /// were. AdamW's moment estimates start again from zero (a warm restart).
    pub fn resume_at(&mut self, steps_done: usize) {
        for _ in 0..steps_done * self.config.grad_accumulation {
            self.sampler.pick(self.config.batch_size);
        }
        self.steps_done = steps_done;
    }

    /// Optimizer steps done so far.
    pub fn steps_done(&self) -> usize {
        self.steps_done
    }

    /// The model as trained so far.
    pub fn model(&self) -> &Llama {
        self.model.as_ref().expect("present between steps")
    }

    /// Consumes the trainer, returning the model.
    pub fn into_model(self) -> Llama {
        self.model.expect("present between steps")
    }

    /// One optimizer step over `grad_accumulation` micro-batches.
    ///
    /// The step runs on a thread of rayon's pool rather than the caller's: the products and
    /// fused ops it hands to the pool then start on the thread that is already running and
    /// return to it without a wake-up, where a caller outside the pool sleeps on a lock for each
    /// of them (about a thousand per step on a real model) and one more thread competes for the
    /// cores.
    pub fn step(&mut self) -> StepOutcome {
        rayon::scope(|_| self.step_in_pool())
    }

    fn step_in_pool(&mut self) -> StepOutcome {
        let start = Instant::now();
        let model = self.model.take().expect("present between steps");
        let mut accumulator = GradientsAccumulator::<Llama>::new();
        let (mut loss_sum, mut trained_tokens) = (0.0, 0);
        for _ in 0..self.config.grad_accumulation {
            let batch = self.sampler.next(self.config.batch_size, &self.device);
            let scale = self.config.grad_accumulation as f64;
            let (loss, grads) = if self.layerwise {
                layerwise::gradients(&model, &batch, scale)
            } else {
                let loss = head_loss(&model, model.body(batch.inputs.clone()), &batch, scale);
                let grads = loss.surrogate.backward();
                (loss.value, GradientsParams::from_grads(grads, &model))
            };
            loss_sum += loss;
            trained_tokens += batch.trained_tokens;
            accumulator.accumulate(&model, grads);
        }
        let grads = accumulator.grads();
        let max_norm = self.config.max_grad_norm;
        let learning_rate = self.config.learning_rate_at(self.steps_done);
        self.model = Some(match &mut self.optimizer {
            Optimizer::Fused(optimizer) => {
                let scale = (max_norm > 0.0)
                    .then(|| clip_factor(global_norm(&model, &grads), max_norm))
                    .flatten();
                optimizer.step(learning_rate, model, grads, scale)
            }
            Optimizer::Burn(optimizer) => {
                let grads = if max_norm > 0.0 {
                    clip_global_norm(&model, grads, max_norm)
                } else {
                    grads
                };
                optimizer.step(learning_rate, model, grads)
            }
        });
        self.steps_done += 1;
        StepOutcome {
            loss: loss_sum,
            trained_tokens,
            seconds: start.elapsed().as_secs_f64(),
        }
    }
}

/// Trains `model` (built for `method` on an autodiff device) on `examples` for `config.steps`,
/// with a progress bar and the checkpoints `output` asks for.
pub fn train(
    model: Llama,
    method: &Method,
    examples: &[Encoded],
    pad: u32,
    config: &TrainConfig,
    output: Option<&Output>,
    device: &Device,
) -> Result<(Llama, TrainReport)> {
    let mut trainer = Trainer::new(model, examples, pad, config, device)?;
    let progress = if config.progress {
        ProgressBar::new(config.steps as u64)
    } else {
        ProgressBar::hidden()
    };
    progress.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} steps  {msg}  ETA {eta}")
            .expect("valid template"),
    );
    let mut report = TrainReport {
        method: method.name().into(),
        losses: Vec::with_capacity(config.steps),
        checkpoints: Vec::new(),
        trained_tokens: 0,
        seconds: 0.0,
        step_seconds: Vec::with_capacity(config.steps),
    };
    let start = Instant::now();
    for done in 1..=config.steps {
        let outcome = trainer.step();
        report.losses.push(outcome.loss);
        report.step_seconds.push(outcome.seconds);
        report.trained_tokens += outcome.trained_tokens;
        progress.set_message(format!(
            "loss {:.4}  {:.0} tok/s",
            outcome.loss,
            report.trained_tokens as f64 / start.elapsed().as_secs_f64()
        ));
        progress.inc(1);
        tracing::debug!(step = done, loss = outcome.loss, "step");
        let due = config.checkpoint_every > 0 && done % config.checkpoint_every == 0;
        if let Some(output) = output.filter(|_| due || done == config.steps) {
            let record = write_trainable(&trainer.model().valid(), method, done, output)?;
            tracing::info!(step = done, hash = %record.hash, path = %record.path.display(), "checkpoint");
            report.checkpoints.push(record);
        }
    }
    progress.finish();
    report.seconds = start.elapsed().as_secs_f64();
    Ok((trainer.into_model(), report))
}

/// Draws batches from a seeded shuffle, reshuffled each epoch.
struct Sampler<'a> {
    examples: &'a [Encoded],
    order: Vec<usize>,
    rng: StdRng,
    pad: u32,
}

impl Sampler<'_> {
    fn next(&mut self, batch_size: usize, device: &Device) -> Batch {
        let picked: Vec<&Encoded> = self
            .pick(batch_size)
            .into_iter()
            .map(|i| &self.examples[i])
            .collect();
        make_batch(&picked, self.pad, device)
    }

    /// The indexes of the next `batch_size` examples.
    fn pick(&mut self, batch_size: usize) -> Vec<usize> {
        let mut picked = Vec::with_capacity(batch_size);
        while picked.len() < batch_size {
            if self.order.is_empty() {
                self.order = (0..self.examples.len()).collect();
                self.order.shuffle(&mut self.rng);
            }
            picked.push(self.order.pop().expect("refilled above"));
        }
        picked
    }
}
