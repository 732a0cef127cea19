//! `attribution-worker bench influence`: the quality of training-data influence
//! ([`crate::provenance::influence`]) against re-training, on a small synthetic model where
//! re-training the adapter dozens of times is affordable.
//!
//! The base is a random Llama pretrained (full fine-tuning) on one permutation of the
//! synthetic task; the adapter (LoRA on every projection) is fine-tuned from it on `rows` rows
//! of another permutation; answers are held-out rows of that task (prompt, then the right
//! completion). LDS and top-k removal are measured as [`QualitySetup::measure`] describes.

use crate::checkpoint::Checkpoint;
use crate::data::{encode, Encoded, SpecialTokens};
use crate::lora::{LoraConfig, TargetModule};
use crate::model::Llama;
use crate::provenance::influence::quality::{QualityFigures, QualitySetup};
use crate::provenance::influence::InfluenceConfig;
use crate::synthetic::{SyntheticTask, BOS, EOS, PAD, TASK};
use crate::train::{train, TrainConfig};
use crate::tuning::Method;
use anyhow::Result;
use burn::module::Module;
use burn::tensor::Device;
use clap::Args;
use std::path::PathBuf;

#[derive(Args, Debug, Clone)]
pub struct InfluenceBenchArgs {
    #[arg(long, default_value_t = 64)]
    pub hidden: usize,
    #[arg(long, default_value_t = 128)]
    pub intermediate: usize,
    #[arg(long, default_value_t = 2)]
    pub layers: usize,
    /// Training rows of the adapter (each its own contribution).
    #[arg(long, default_value_t = 64)]
    pub rows: usize,
    /// Held-out answers scored.
    #[arg(long, default_value_t = 8)]
    pub answers: usize,
    /// Random halves re-trained for LDS.
    #[arg(long, default_value_t = 16)]
    pub subsets: usize,
    /// `k` of top-k removal.
    #[arg(long, default_value_t = 6)]
    pub removed: usize,
    /// Random removals per answer.
    #[arg(long, default_value_t = 3)]
    pub trials: usize,
    /// Adapter training steps (batch 8).
    #[arg(long, default_value_t = 60)]
    pub steps: usize,
    #[arg(long, default_value_t = 1e-2)]
    pub learning_rate: f64,
    #[arg(long, default_value_t = 4)]
    pub rank: usize,
    #[arg(long, default_value_t = 8.0)]
    pub alpha: f64,
    /// Full fine-tuning steps that make the base (0: a random base).
    #[arg(long, default_value_t = 300)]
    pub pretrain_steps: usize,
    /// Projected dimensions `k`.
    #[arg(long, default_value_t = 1024)]
    pub dims: usize,
    #[arg(long, default_value_t = 0.1)]
    pub damping: f64,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Also write the figures as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

/// Builds the base and runs the measurement.
pub fn run(args: &InfluenceBenchArgs, device: &Device) -> Result<QualityFigures> {
    let autodiff = device.clone().autodiff();
    let pretrain_task = SyntheticTask {
        multiplier: 5,
        shift: 1,
        ..TASK
    };
    let config = TASK.config(args.hidden, args.intermediate, args.layers, 4, 2);
    let tokenizer = TASK.tokenizer()?;
    let special = SpecialTokens {
        bos: Some(BOS),
        eos: Some(EOS),
        pad: PAD,
    };
    let encode_all = |examples: &[crate::data::Example]| -> Result<Vec<Encoded>> {
        examples
            .iter()
            .map(|e| encode(&tokenizer, e, special, 32))
            .collect()
    };
    let mut base = Checkpoint::random(config.clone(), args.seed);
    if args.pretrain_steps > 0 {
        autodiff.seed(args.seed);
        let model = Llama::from_checkpoint(&base, &Method::Full, &autodiff)?;
        let schedule = TrainConfig {
            steps: args.pretrain_steps,
            batch_size: 16,
            learning_rate: 3e-3,
            warmup_steps: args.pretrain_steps / 10,
            progress: false,
            ..TrainConfig::default()
        };
        let pretrain = encode_all(&pretrain_task.examples(2048, args.seed + 100))?;
        let (model, report) = train(
            model,
            &Method::Full,
            &pretrain,
            PAD,
            &schedule,
            None,
            &autodiff,
        )?;
        tracing::info!(loss = report.losses.last().copied(), "base pretrained");
        base = model.valid().to_checkpoint(&config);
    }
    let rows = encode_all(&TASK.examples(args.rows, args.seed + 200))?;
    let answers = encode_all(&TASK.examples(args.answers, args.seed + 300))?;
    let setup = QualitySetup {
        base: &base,
        lora: LoraConfig::new(args.rank, args.alpha).with_targets(
            TargetModule::ALL
                .iter()
                .map(|t| t.hf_name().to_string())
                .collect(),
        ),
        train: TrainConfig {
            steps: args.steps,
            batch_size: 8,
            learning_rate: args.learning_rate,
            warmup_steps: args.steps / 10,
            progress: false,
            seed: args.seed,
            ..TrainConfig::default()
        },
        rows: &rows,
        answers: &answers,
        pad: PAD,
        influence: InfluenceConfig {
            dims: args.dims,
            seed: args.seed,
            damping: args.damping,
        },
        subsets: args.subsets,
        removed: args.removed,
        trials: args.trials,
        seed: args.seed,
    };
    let figures = setup.measure(&autodiff)?;
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_vec_pretty(&figures)?)?;
    }
    Ok(figures)
}

/// The figures as a Markdown table.
pub fn markdown(f: &QualityFigures) -> String {
    let mut out = String::new();
    out.push_str("| figure | value |\n|---|---|\n");
    let mut row = |name: &str, value: String| out.push_str(&format!("| {name} | {value} |\n"));
    row(
        "training rows / answers",
        format!("{} / {}", f.rows, f.answers),
    );
    row(
        "LoRA parameters d → projected k",
        format!("{} → {}", f.lora_params, f.dims),
    );
    row("λ", format!("{:.4e}", f.lambda));
    row(
        &format!("LDS, TRAK ({} random halves, mean of answers)", f.subsets),
        format!("{:.3}", f.lds),
    );
    row(
        "LDS, plain inner product φ·φ_i",
        format!("{:.3}", f.lds_inner_product),
    );
    row(
        "LDS per answer",
        f.lds_per_answer
            .iter()
            .map(|x| format!("{x:.2}"))
            .collect::<Vec<_>>()
            .join(", "),
    );
    row(
        &format!("log-likelihood drop, top-{} rows removed", f.removed),
        format!("{:.3} nats", f.top_k_drop),
    );
    row(
        &format!(
            "log-likelihood drop, {} random rows removed (mean of {})",
            f.removed, f.trials
        ),
        format!("{:.3} nats", f.random_drop),
    );
    row(
        "answers where top-k beats random",
        format!("{} of {}", f.top_k_beats_random, f.answers),
    );
    row(
        "answer log-likelihood, full adapter",
        format!("{:.3} nats", f.full_log_likelihood),
    );
    row(
        "index build (all rows)",
        format!("{:.3} s", f.index_seconds),
    );
    row(
        "scoring one answer",
        format!("{:.1} ms", f.answer_seconds * 1e3),
    );
    row("one re-training", format!("{:.3} s", f.train_seconds));
    out
}
