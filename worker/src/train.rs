//! The training loop: AdamW, linear warmup then cosine decay, gradient clipping and
//! accumulation, fixed seeds, and checkpoints every K steps whose BLAKE2b-256 hashes the
//! training proof commits to.

use crate::artifact::{write_trainable, CheckpointRecord};
use crate::data::{make_batch, Batch, Encoded};
use crate::model::{Llama, LlamaConfig};
use crate::tuning::Method;
use anyhow::{ensure, Result};
use burn::grad_clipping::GradientClippingConfig;
use burn::module::Module;
use burn::optim::{AdamWConfig, GradientsAccumulator, GradientsParams};
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
    /// Each parameter's gradient is rescaled to at most this L2 norm (burn's clipping is per
    /// tensor); 0 disables clipping.
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

/// Trains `model` (built for `method` on an autodiff device) on `examples`.
pub fn train(
    mut model: Llama,
    method: &Method,
    examples: &[Encoded],
    pad: u32,
    config: &TrainConfig,
    output: Option<&Output>,
    device: &Device,
) -> Result<(Llama, TrainReport)> {
    config.validate()?;
    ensure!(!examples.is_empty(), "no training examples");
    ensure!(device.is_autodiff(), "training needs an autodiff device");
    device.seed(config.seed);
    let mut optimizer_config = AdamWConfig::new().with_weight_decay(config.weight_decay);
    if config.max_grad_norm > 0.0 {
        optimizer_config = optimizer_config
            .with_grad_clipping(Some(GradientClippingConfig::Norm(config.max_grad_norm)));
    }
    let mut optimizer = optimizer_config.init();
    let mut rng = StdRng::seed_from_u64(config.seed);
    let mut order: Vec<usize> = Vec::new();

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
    for step in 0..config.steps {
        let step_start = Instant::now();
        let mut accumulator = GradientsAccumulator::<Llama>::new();
        let mut step_loss = 0.0;
        for _ in 0..config.grad_accumulation {
            let batch = next_batch(
                examples,
                config.batch_size,
                &mut order,
                &mut rng,
                pad,
                device,
            );
            let loss = masked_loss(model.forward(batch.inputs.clone()), &batch)
                .div_scalar(config.grad_accumulation as f64);
            step_loss += loss.clone().into_scalar::<f32>();
            report.trained_tokens += batch.trained_tokens;
            accumulator.accumulate(&model, GradientsParams::from_grads(loss.backward(), &model));
        }
        model = optimizer.step(config.learning_rate_at(step), model, accumulator.grads());
        report.losses.push(step_loss);
        report.step_seconds.push(step_start.elapsed().as_secs_f64());

        let elapsed = start.elapsed().as_secs_f64();
        progress.set_message(format!(
            "loss {step_loss:.4}  {:.0} tok/s",
            report.trained_tokens as f64 / elapsed
        ));
        progress.inc(1);
        tracing::debug!(step, loss = step_loss, "step");
        let done = step + 1;
        let due = config.checkpoint_every > 0 && done % config.checkpoint_every == 0;
        if let Some(output) = output.filter(|_| due || done == config.steps) {
            let record = write_trainable(&model.valid(), method, done, output)?;
            tracing::info!(step = done, hash = %record.hash, path = %record.path.display(), "checkpoint");
            report.checkpoints.push(record);
        }
    }
    progress.finish();
    report.seconds = start.elapsed().as_secs_f64();
    Ok((model, report))
}

/// The next `batch_size` examples of a seeded shuffle, reshuffled each epoch.
fn next_batch(
    examples: &[Encoded],
    batch_size: usize,
    order: &mut Vec<usize>,
    rng: &mut StdRng,
    pad: u32,
    device: &Device,
) -> Batch {
    let mut picked = Vec::with_capacity(batch_size);
    while picked.len() < batch_size {
        if order.is_empty() {
            *order = (0..examples.len()).collect();
            order.shuffle(rng);
        }
        picked.push(&examples[order.pop().expect("refilled above")]);
    }
    make_batch(&picked, pad, device)
}
