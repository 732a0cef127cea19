//! `bench train --model PATH --quality STEPS`: how much NF4 quantization of the base bends
//! training, on the real checkpoint and real rows.
//!
//! LoRA (over the `f32` base) and QLoRA (over its NF4 packing) train the same adapters (same
//! seed, rank, alpha, targets, rows, order and schedule) for `STEPS` steps; at the start and at
//! every checkpoint (each quarter of the run) both are scored on held-out rows that neither
//! trains on: mean cross-entropy over the completion tokens, as training measures it. Step 0
//! is each base alone (the adapters start at `B = 0`), so its gap is the quantization error
//! itself; later gaps show whether training closes or widens it.

use crate::checkpoint::ModelWeights;
use crate::data::Encoded;
use crate::eval::held_out_loss;
use crate::model::Llama;
use crate::train::{TrainConfig, Trainer};
use crate::tuning::Method;
use anyhow::{ensure, Result};
use burn::module::Module;
use burn::tensor::Device;
use serde::Serialize;
use std::path::Path;

/// Checkpoints of a quality run: each quarter of the steps.
const CHECKPOINTS: usize = 4;

/// Held-out losses of both methods after `steps` optimizer steps.
#[derive(Debug, Clone, Serialize)]
pub struct QualityPoint {
    pub steps: usize,
    pub lora_loss: f64,
    pub qlora_loss: f64,
}

/// A LoRA-beside-QLoRA quality run.
#[derive(Debug, Clone, Serialize)]
pub struct QualityReport {
    pub train_rows: usize,
    pub held_out_rows: usize,
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
    let mut losses = [Vec::new(), Vec::new()];
    for (method, losses) in settings.methods.iter().zip(&mut losses) {
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
            tracing::info!(method = method.name(), steps, loss, "held-out loss");
            losses.push(loss);
        }
    }
    let [lora, qlora] = losses;
    Ok(QualityReport {
        train_rows: settings.train.len(),
        held_out_rows: settings.held_out.len(),
        batch_size: settings.batch_size,
        learning_rate: settings.learning_rate,
        points: at
            .iter()
            .zip(lora.iter().zip(&qlora))
            .map(|(&steps, (&lora_loss, &qlora_loss))| QualityPoint {
                steps,
                lora_loss,
                qlora_loss,
            })
            .collect(),
    })
}

impl QualityReport {
    /// The report as a Markdown table.
    pub fn markdown(&self) -> String {
        let mut out = format!(
            "\nQuality: LoRA and QLoRA trained on {} rows (batch {}, learning rate {}), held-out loss on {} other rows\n\n| steps | LoRA | QLoRA | QLoRA − LoRA |\n|---:|---:|---:|---:|\n",
            self.train_rows, self.batch_size, self.learning_rate, self.held_out_rows
        );
        for p in &self.points {
            out += &format!(
                "| {} | {:.4} | {:.4} | {:+.4} |\n",
                p.steps,
                p.lora_loss,
                p.qlora_loss,
                p.qlora_loss - p.lora_loss
            );
        }
        out
    }
}
