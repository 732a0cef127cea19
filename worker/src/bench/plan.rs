//! The plan of a real-checkpoint training benchmark: one JSON file that every process of the
//! run reads, so ours and the peer train on the same rows, in the same order, with the same
//! padding, learning rates and optimizer settings.
//!
//! The rows are encoded once here (the model's tokenizer, `cutoff` tokens each). Our side hands
//! them to [`Trainer`](crate::train::Trainer), whose sampler draws a seeded shuffle;
//! [`Plan::batches`] lists the batches that sampler draws, built with the trainer's own
//! [`make_batch`], for the peer (which receives token ids, never text).

use crate::data::{make_batch, Encoded};
use crate::train::TrainConfig;
use anyhow::{ensure, Context, Result};
use burn::optim::AdamWConfig;
use burn::tensor::Device;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Everything a process of the benchmark needs to run one method.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Plan {
    /// The checkpoint: a `.gguf` file or a Hugging Face directory.
    pub model: PathBuf,
    pub threads: usize,
    pub seed: u64,
    pub batch_size: usize,
    /// Tokens per row at most (prompt included).
    pub cutoff: usize,
    /// Untimed steps at the start of every run.
    pub warmup: usize,
    /// Timed steps after the warm-up.
    pub steps: usize,
    pub rank: usize,
    pub alpha: f64,
    pub prefix_length: usize,
    /// Peak learning rate (linear warm-up over one step, then cosine decay).
    pub learning_rate: f64,
    pub pad: u32,
    pub optimizer: OptimizerPlan,
    /// The training rows as token ids.
    pub rows: Vec<PlanRow>,
    /// Step by step, what the trainer's sampler draws from `rows`.
    pub batches: Vec<PlanBatch>,
}

/// AdamW and clipping as our [`Trainer`](crate::train::Trainer) configures them; the peer
/// sets `torch.optim.AdamW` and `clip_grad_norm_` to the same values.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OptimizerPlan {
    pub betas: [f64; 2],
    pub epsilon: f64,
    pub weight_decay: f64,
    pub max_grad_norm: f64,
}

/// One encoded row: `tokens` (at most `cutoff`), the first `prompt_len` of which are the prompt.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlanRow {
    pub tokens: Vec<u32>,
    pub prompt_len: usize,
}

/// One step's batch, as [`make_batch`] pads it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlanBatch {
    /// Indexes into [`Plan::rows`], in batch order.
    pub rows: Vec<usize>,
    /// `[batch, seq]`
    pub inputs: Vec<Vec<i64>>,
    /// `[batch, seq]`: the token after each input.
    pub targets: Vec<Vec<i64>>,
    /// `[batch, seq]`: 1 where the loss counts the target.
    pub mask: Vec<Vec<f32>>,
    pub learning_rate: f64,
}

/// The settings of a plan, before the rows are known.
#[derive(Debug, Clone)]
pub struct PlanSettings {
    pub model: PathBuf,
    pub threads: usize,
    pub batch_size: usize,
    pub cutoff: usize,
    pub warmup: usize,
    pub steps: usize,
    pub rank: usize,
    pub alpha: f64,
    pub prefix_length: usize,
    pub learning_rate: f64,
}

impl Plan {
    /// A plan over `rows` (already encoded), with the batches our trainer will draw.
    pub fn new(settings: PlanSettings, rows: &[Encoded], pad: u32) -> Result<Self> {
        ensure!(!rows.is_empty(), "no training rows");
        ensure!(settings.steps > 0, "at least one timed step");
        ensure!(settings.batch_size > 0, "batch size must be at least 1");
        let mut plan = Plan {
            model: settings.model,
            threads: settings.threads,
            seed: TrainConfig::default().seed,
            batch_size: settings.batch_size,
            cutoff: settings.cutoff,
            warmup: settings.warmup,
            steps: settings.steps,
            rank: settings.rank,
            alpha: settings.alpha,
            prefix_length: settings.prefix_length,
            learning_rate: settings.learning_rate,
            pad,
            optimizer: OptimizerPlan::default(),
            rows: rows
                .iter()
                .map(|e| PlanRow {
                    tokens: e.tokens.clone(),
                    prompt_len: e.prompt_len,
                })
                .collect(),
            batches: Vec::new(),
        };
        let config = plan.train_config();
        plan.optimizer.max_grad_norm = f64::from(config.max_grad_norm);
        plan.optimizer.weight_decay = f64::from(config.weight_decay);
        let device = Device::flex();
        let encoded = plan.encoded();
        plan.batches = sampler_order(rows.len(), plan.batch_size, config.steps, plan.seed)
            .into_iter()
            .enumerate()
            .map(|(step, picked)| {
                let examples: Vec<&Encoded> = picked.iter().map(|&i| &encoded[i]).collect();
                let batch = make_batch(&examples, pad, &device);
                Ok(PlanBatch {
                    rows: picked,
                    inputs: rows_of(
                        batch.inputs.into_data().try_into_vec_as::<i64>(),
                        config.batch_size,
                    )?,
                    targets: rows_of(
                        batch.targets.into_data().try_into_vec_as::<i64>(),
                        config.batch_size,
                    )?,
                    mask: rows_of(
                        batch.mask.into_data().try_into_vec::<f32>(),
                        config.batch_size,
                    )?,
                    learning_rate: config.learning_rate_at(step),
                })
            })
            .collect::<Result<_>>()?;
        Ok(plan)
    }

    /// What our trainer runs: warm-up plus timed steps, no progress bar, the defaults otherwise
    /// (gradients clipped to global norm 1, no weight decay).
    pub fn train_config(&self) -> TrainConfig {
        TrainConfig {
            steps: self.warmup + self.steps,
            batch_size: self.batch_size,
            learning_rate: self.learning_rate,
            warmup_steps: 1,
            seed: self.seed,
            progress: false,
            ..TrainConfig::default()
        }
    }

    /// The rows as the trainer takes them.
    pub fn encoded(&self) -> Vec<Encoded> {
        self.rows
            .iter()
            .map(|r| Encoded {
                tokens: r.tokens.clone(),
                prompt_len: r.prompt_len,
            })
            .collect()
    }

    /// Tokens through the model per step (`batch × seq`, padding included), the median over
    /// the timed steps' batches.
    pub fn tokens_per_step(&self) -> usize {
        let mut tokens: Vec<usize> = self.batches[self.warmup..]
            .iter()
            .map(|b| b.inputs.iter().map(Vec::len).sum())
            .collect();
        tokens.sort_unstable();
        tokens[tokens.len() / 2]
    }

    pub fn write(&self, path: &Path) -> Result<()> {
        std::fs::write(path, serde_json::to_vec(self)?)
            .with_context(|| format!("writing {}", path.display()))
    }

    pub fn read(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_slice(&bytes).with_context(|| format!("parsing {}", path.display()))
    }
}

impl Default for OptimizerPlan {
    /// burn's `AdamWConfig::new()` as the trainer builds it, read through its serialized form so
    /// that the peer gets burn's actual values (its epsilon is 1e-5, PyTorch's default 1e-8).
    fn default() -> Self {
        let adamw = serde_json::to_value(AdamWConfig::new()).unwrap_or_default();
        let number = |name: &str, fallback: f64| adamw[name].as_f64().unwrap_or(fallback);
        Self {
            betas: [number("beta_1", 0.9), number("beta_2", 0.999)],
            epsilon: number("epsilon", 1e-5),
            weight_decay: 0.0,
            max_grad_norm: 0.0,
        }
    }
}

/// The indexes our trainer's sampler draws for each of `steps` batches: a shuffle of all rows
/// seeded with `seed`, taken from its end, reshuffled when used up (`train.rs`, `Sampler`).
/// The smoke test checks this against the trainer's own losses.
pub fn sampler_order(rows: usize, batch_size: usize, steps: usize, seed: u64) -> Vec<Vec<usize>> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut order: Vec<usize> = Vec::new();
    (0..steps)
        .map(|_| {
            (0..batch_size)
                .map(|_| {
                    if order.is_empty() {
                        order = (0..rows).collect();
                        order.shuffle(&mut rng);
                    }
                    order.pop().unwrap_or_default()
                })
                .collect()
        })
        .collect()
}

/// `values` (`[batch, seq]` row-major) as `batch` rows.
fn rows_of<T: Clone>(
    values: std::result::Result<Vec<T>, burn::tensor::DataError>,
    batch: usize,
) -> Result<Vec<Vec<T>>> {
    let values = values.map_err(|e| anyhow::anyhow!("reading a batch back: {e:?}"))?;
    let seq = values.len() / batch.max(1);
    Ok(values.chunks(seq.max(1)).map(<[T]>::to_vec).collect())
}
