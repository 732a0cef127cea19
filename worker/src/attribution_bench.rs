//! `attribution-worker bench attribution`: ContextCite's quality and cost on the serving runtime,
//! and span provenance's cost over the same rows (`rag::quality::attribution_benchmark`):
//! questions built from this machine's Debian package descriptions, whose source row is known,
//! answered from retrieved rows and attributed.

use crate::job::ModelDir;
use crate::rag::ablation::Ablation;
use crate::rag::attribution::ContextCiteConfig;
use crate::rag::quality::{attribution_benchmark, AttributionFigures, BenchmarkConfig};
use crate::serve::cli::Weights;
use crate::serve::runtime::native::{NativeRuntime, RuntimeOptions};
use anyhow::{Context, Result};
use clap::Args;
use std::path::PathBuf;

/// An ablation on the command line.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum AblationArg {
    Exact,
    Knockout,
}

impl From<AblationArg> for Ablation {
    fn from(arg: AblationArg) -> Self {
        match arg {
            AblationArg::Exact => Ablation::Exact,
            AblationArg::Knockout => Ablation::Knockout,
        }
    }
}

#[derive(Args, Debug)]
pub struct AttributionBenchArgs {
    /// The model (a `.gguf` file or a Hugging Face directory).
    #[arg(long)]
    pub model: PathBuf,
    #[arg(long, value_enum, default_value = "q4")]
    pub weights: Weights,
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// Questions asked (fewer if the data has fewer usable packages).
    #[arg(long, default_value_t = 12)]
    pub questions: usize,
    /// Rows retrieved per question.
    #[arg(long, default_value_t = 6)]
    pub retrieved: usize,
    /// ContextCite's random ablations per answer (the exact ablation's count, knockout's most).
    #[arg(long, default_value_t = 32)]
    pub ablations: usize,
    /// The methods compared on each answer, in this order: `exact` (`contextcite-v1`),
    /// `knockout` (`contextcite-v2`).
    #[arg(long, value_delimiter = ',', default_value = "exact,knockout")]
    pub methods: Vec<AblationArg>,
    /// The package descriptions the rows are made of (a dpkg status file).
    #[arg(long, default_value = "/var/lib/dpkg/status")]
    pub status: PathBuf,
    /// Also write the figures as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

/// Runs the benchmark and prints its figures as JSON.
pub fn run(args: &AttributionBenchArgs) -> Result<AttributionFigures> {
    let model = ModelDir::load(&args.model)?;
    let status = std::fs::read_to_string(&args.status)
        .with_context(|| format!("reading {}", args.status.display()))?;
    let config = BenchmarkConfig {
        questions: args.questions,
        retrieved: args.retrieved,
        methods: args
            .methods
            .iter()
            .map(|&method| ContextCiteConfig {
                ablation: method.into(),
                ablations: args.ablations,
                ..ContextCiteConfig::default()
            })
            .collect(),
        ..BenchmarkConfig::default()
    };
    let live_slots = config
        .methods
        .iter()
        .map(|m| m.max_live_slots)
        .max()
        .unwrap_or(1);
    let mut runtime = NativeRuntime::load(
        &model.checkpoint,
        RuntimeOptions {
            weights: args.weights.into(),
            // The trie's slots, its root and the generation's kept prompt.
            max_slots: live_slots + 3,
            max_positions: 2048.min(model.checkpoint.config.max_position_embeddings),
            threads: args.threads,
        },
    )?;
    let figures = attribution_benchmark(&mut runtime, &model, &status, &config)?;
    let json = serde_json::to_string_pretty(&figures)?;
    println!("{json}");
    if let Some(path) = &args.json {
        std::fs::write(path, json)?;
    }
    Ok(figures)
}
