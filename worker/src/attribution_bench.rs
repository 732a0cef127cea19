//! `attribution-worker bench attribution`: ContextCite's quality and cost on the serving runtime,
//! and span provenance's cost over the same rows (`rag::quality::attribution_benchmark`):
//! questions built from this machine's Debian package descriptions, whose source row is known,
//! answered from retrieved rows and attributed.

use crate::job::ModelDir;
use crate::rag::ablation::Ablation;
use crate::rag::at2::{fit_theta, model_hash, theta_for, CalibrationAnswer};
use crate::rag::attribution::ContextCiteConfig;
use crate::rag::method::Method;
use crate::rag::prior::PriorConfig;
use crate::rag::quality::{
    at2_calibration, attribution_benchmark, AttributionFigures, BenchmarkConfig, Split,
};
use crate::serve::cli::Weights;
use crate::serve::runtime::native::{NativeRuntime, RuntimeOptions};
use crate::serve::runtime::KvFormat;
use anyhow::{Context, Result};
use clap::Args;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A method on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum AblationArg {
    /// `contextcite-v1`, the exact ablation.
    Exact,
    /// `contextcite-v2`, attention knockout.
    Knockout,
    /// AT2 with the model's fitted coefficients (`--theta`).
    At2,
    /// `contextcite-prior-v1`: a few exact ablations fitted toward AT2's weights (`--theta`),
    /// once per `--prior-random`.
    Prior,
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
    /// `knockout` (`contextcite-v2`), `at2`, `prior` (`contextcite-prior-v1`).
    #[arg(long, value_delimiter = ',', default_value = "exact,knockout")]
    pub methods: Vec<AblationArg>,
    /// The package descriptions the rows are made of (a dpkg status file).
    #[arg(long, default_value = "/var/lib/dpkg/status")]
    pub status: PathBuf,
    /// Also write the figures as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// AT2's coefficients (default: the committed `worker/at2/<model file's BLAKE2b-256>.json`,
    /// built into the worker).
    #[arg(long)]
    pub theta: Option<PathBuf>,
    /// `prior`'s random masks after its prefix path: one method measured per count.
    #[arg(long, value_delimiter = ',', default_value = "0")]
    pub prior_random: Vec<usize>,
    /// Instead of measuring: fit AT2's coefficients on `--questions` answers of the
    /// calibration split (`--ablations` exact ablations each) and write them here.
    #[arg(long)]
    pub calibrate: Option<PathBuf>,
    /// With `--calibrate`: the calibration answers (features and exact scores) are read from
    /// this file when it exists (no model run), else written to it.
    #[arg(long, requires = "calibrate")]
    pub samples: Option<PathBuf>,
}

/// Fits AT2's coefficients (`--calibrate`) and writes them.
fn calibrate(
    args: &AttributionBenchArgs,
    out: &Path,
    model: &ModelDir,
    status: &str,
    runtime: &mut NativeRuntime,
) -> Result<()> {
    let hash = model_hash(&args.model)?;
    let answers: Vec<CalibrationAnswer> = match &args.samples {
        Some(path) if path.exists() => serde_json::from_slice(
            &std::fs::read(path).with_context(|| format!("reading {}", path.display()))?,
        )
        .with_context(|| format!("{} holds no calibration answers", path.display()))?,
        samples => {
            let config = BenchmarkConfig {
                questions: args.questions,
                retrieved: args.retrieved,
                split: Split::Calibration,
                ..BenchmarkConfig::default()
            };
            at2_calibration(runtime, model, status, &config, args.ablations, |answers| {
                if let Some(path) = samples {
                    std::fs::write(path, serde_json::to_vec(answers)?)
                        .with_context(|| format!("writing {}", path.display()))?;
                }
                Ok(())
            })?
        }
    };
    let config = &model.checkpoint.config;
    let theta = fit_theta(
        &answers,
        &hash,
        config.num_hidden_layers,
        config.num_attention_heads,
    )?;
    let json = serde_json::to_string_pretty(&theta)?;
    std::fs::write(out, format!("{json}\n"))
        .with_context(|| format!("writing {}", out.display()))?;
    println!("{}", serde_json::to_string_pretty(&theta.calibration)?);
    Ok(())
}

/// Runs the benchmark and prints its figures as JSON (`None`: `--calibrate` ran instead).
pub fn run(args: &AttributionBenchArgs) -> Result<Option<AttributionFigures>> {
    let model = ModelDir::load(&args.model)?;
    let status = std::fs::read_to_string(&args.status)
        .with_context(|| format!("reading {}", args.status.display()))?;
    let needs_theta =
        args.methods.contains(&AblationArg::At2) || args.methods.contains(&AblationArg::Prior);
    let theta = if needs_theta && args.calibrate.is_none() {
        let hash = model_hash(&args.model)?;
        let theta = theta_for(args.theta.as_deref(), &hash, &model.checkpoint.config)?;
        Some(Arc::new(theta.with_context(|| {
            format!("no AT2 coefficients for the model {hash} (pass --theta FILE)")
        })?))
    } else {
        None
    };
    let context_cite = |ablation| {
        Method::ContextCite(ContextCiteConfig {
            ablation,
            ablations: args.ablations,
            ..ContextCiteConfig::default()
        })
    };
    let config = BenchmarkConfig {
        questions: args.questions,
        retrieved: args.retrieved,
        methods: args
            .methods
            .iter()
            .flat_map(|method| match method {
                AblationArg::Exact => vec![context_cite(Ablation::Exact)],
                AblationArg::Knockout => vec![context_cite(Ablation::Knockout)],
                AblationArg::At2 => theta.clone().map(Method::At2).into_iter().collect(),
                AblationArg::Prior => theta
                    .iter()
                    .flat_map(|theta| {
                        args.prior_random.iter().map(|&random| {
                            Method::Prior(PriorConfig {
                                random,
                                ..PriorConfig::new(theta.clone())
                            })
                        })
                    })
                    .collect(),
            })
            .collect(),
        ..BenchmarkConfig::default()
    };
    let live_slots = ContextCiteConfig::default().max_live_slots;
    let mut runtime = NativeRuntime::load(
        &model.checkpoint,
        RuntimeOptions {
            weights: args.weights.into(),
            // The trie's slots, its root and the generation's kept prompt.
            max_slots: live_slots + 3,
            max_positions: 2048.min(model.checkpoint.config.max_position_embeddings),
            threads: args.threads,
            kv: KvFormat::F32,
        },
    )?;
    if let Some(out) = &args.calibrate {
        calibrate(args, out, &model, &status, &mut runtime)?;
        return Ok(None);
    }
    let figures = attribution_benchmark(&mut runtime, &model, &status, &config)?;
    let json = serde_json::to_string_pretty(&figures)?;
    println!("{json}");
    if let Some(path) = &args.json {
        std::fs::write(path, json)?;
    }
    Ok(Some(figures))
}
