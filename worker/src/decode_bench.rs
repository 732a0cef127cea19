//! `attribution-worker bench decode`: the serving runtime's decode speed side by side with the
//! peers a user would run instead (Hugging Face transformers and llama.cpp, through
//! `worker/bench/peers/decode.py` in a Python environment outside the repository), on the same
//! GGUF file, thread count, prompt and number of new tokens, in one invocation. Runs alternate
//! between the worker and the peers so that load from elsewhere falls on all of them alike.

use crate::chat_template::ChatMessage;
use crate::job::ModelDir;
use crate::serve::cli::Weights;
use crate::serve::runtime::bench::{decode_benchmark, DecodeFigures};
use crate::serve::runtime::native::{NativeRuntime, RuntimeOptions};
use crate::serve::runtime::quant::WeightFormat;
use anyhow::{bail, Context, Result};
use clap::Args;
use serde::Serialize;
use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

#[derive(Args, Debug)]
pub struct DecodeBenchArgs {
    /// The model (a `.gguf` file: the peers load the same file).
    #[arg(long)]
    pub model: PathBuf,
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    #[arg(long, default_value_t = 128)]
    pub new_tokens: usize,
    /// The user message (through the model's chat template).
    #[arg(long, default_value = "What is the capital of France?")]
    pub prompt: String,
    /// Concurrent streams measured besides one.
    #[arg(long, default_value_t = 8)]
    pub streams: usize,
    /// The Python of the peers' environment (`worker/bench/peers/setup.sh` prints it); without
    /// it only the worker is measured.
    #[arg(long)]
    pub peers: Option<PathBuf>,
    /// Measured runs of each configuration; the median is reported.
    #[arg(long, default_value_t = 3)]
    pub repeats: usize,
    /// Also write the report as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// The weight formats of the worker's runs.
    #[arg(long, value_enum, value_delimiter = ',', default_values = ["q4", "q8", "f32"])]
    pub weights: Vec<Weights>,
}

/// One configuration's median run.
#[derive(Serialize, Debug, Clone)]
pub struct Row {
    pub engine: String,
    pub streams: usize,
    pub prompt_tokens: usize,
    pub time_to_first_token_ms: f64,
    /// Decoded tokens per second over all streams.
    pub decode_tokens_per_second: f64,
}

#[derive(Serialize, Debug)]
pub struct DecodeReport {
    pub model: String,
    pub threads: usize,
    pub new_tokens: usize,
    pub rows: Vec<Row>,
    /// Named ratios (ours over the peer's, or batch over batch 1).
    pub ratios: Vec<(String, f64)>,
}

const FORMATS: [(WeightFormat, &str); 3] = [
    (WeightFormat::Q4, "worker q4"),
    (WeightFormat::Q8_0, "worker q8"),
    (WeightFormat::F32, "worker f32"),
];

/// Runs the benchmark and prints its table.
pub fn run(args: &DecodeBenchArgs) -> Result<DecodeReport> {
    let model = ModelDir::load(&args.model)?;
    let template = model
        .chat_template
        .as_ref()
        .context("the model has no chat template")?;
    let text = template.render(&[ChatMessage::new("user", &args.prompt)], true)?;
    let prompt = model
        .tokenizer
        .encode(text, false)
        .map_err(|e| anyhow::anyhow!("tokenizing the prompt: {e}"))?
        .get_ids()
        .to_vec();
    let mut runtimes = Vec::new();
    for (format, name) in FORMATS {
        if !args
            .weights
            .iter()
            .any(|&w| WeightFormat::from(w) == format)
        {
            continue;
        }
        let runtime = NativeRuntime::load(
            &model.checkpoint,
            RuntimeOptions {
                weights: format,
                max_slots: args.streams.max(1),
                max_positions: prompt.len() + args.new_tokens + 1,
                threads: args.threads,
            },
        )?;
        runtimes.push((name, runtime));
    }
    let mut rows = Vec::new();
    for streams in [1, args.streams] {
        let mut samples: Vec<(String, Vec<Row>)> = Vec::new();
        for _ in 0..args.repeats.max(1) {
            for (name, runtime) in &mut runtimes {
                let figures = decode_benchmark(runtime, &prompt, args.new_tokens, streams)?;
                push(&mut samples, ours(name, &figures));
            }
            if let Some(python) = &args.peers {
                for peer in ["llama.cpp", "transformers"] {
                    push(&mut samples, peer_run(python, peer, args, streams)?);
                }
            }
        }
        for (_, mut runs) in samples {
            runs.sort_by(|a, b| {
                a.decode_tokens_per_second
                    .total_cmp(&b.decode_tokens_per_second)
            });
            rows.push(runs[runs.len() / 2].clone());
        }
    }
    let rate = |engine: &str, streams: usize| {
        rows.iter()
            .find(|r| r.engine == engine && r.streams == streams)
            .map(|r| r.decode_tokens_per_second)
    };
    let mut ratios = Vec::new();
    let mut ratio = |name: String, a: Option<f64>, b: Option<f64>| {
        if let (Some(a), Some(b)) = (a, b) {
            ratios.push((name, a / b));
        }
    };
    for (_, ours) in FORMATS {
        for peer in ["llama.cpp", "transformers"] {
            ratio(
                format!("{ours} / {peer}, 1 stream"),
                rate(ours, 1),
                rate(peer, 1),
            );
            ratio(
                format!("{ours} / {peer}, {} streams", args.streams),
                rate(ours, args.streams),
                rate(peer, args.streams),
            );
        }
        ratio(
            format!("{ours}: {} streams / 1 stream", args.streams),
            rate(ours, args.streams),
            rate(ours, 1),
        );
    }
    let report = DecodeReport {
        model: args.model.display().to_string(),
        threads: args.threads,
        new_tokens: args.new_tokens,
        rows,
        ratios,
    };
    print(&report);
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_vec_pretty(&report)?)?;
    }
    Ok(report)
}

fn push(samples: &mut Vec<(String, Vec<Row>)>, row: Row) {
    match samples.iter_mut().find(|(name, _)| *name == row.engine) {
        Some((_, runs)) => runs.push(row),
        None => samples.push((row.engine.clone(), vec![row])),
    }
}

fn ours(name: &str, figures: &DecodeFigures) -> Row {
    Row {
        engine: name.to_string(),
        streams: figures.batch,
        prompt_tokens: figures.prompt_tokens * figures.batch,
        time_to_first_token_ms: figures.prefill_seconds * 1e3,
        decode_tokens_per_second: figures.tokens_per_second,
    }
}

/// One run of a peer: `decode.py` prints one JSON line.
fn peer_run(python: &PathBuf, peer: &str, args: &DecodeBenchArgs, streams: usize) -> Result<Row> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("bench/peers/decode.py");
    let output = Command::new(python)
        .arg(&script)
        .args(["--peer", peer, "--gguf"])
        .arg(&args.model)
        .args([
            "--threads",
            &args.threads.to_string(),
            "--new-tokens",
            &args.new_tokens.to_string(),
            "--streams",
            &streams.to_string(),
            "--prompt",
            &args.prompt,
        ])
        .output()
        .with_context(|| format!("running {}", script.display()))?;
    if !output.status.success() {
        bail!(
            "the {peer} peer failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let line = String::from_utf8_lossy(&output.stdout);
    let value: Value = serde_json::from_str(line.trim())
        .with_context(|| format!("the {peer} peer printed {line}"))?;
    let number = |field: &str| {
        value[field]
            .as_f64()
            .with_context(|| format!("{peer}: no {field}"))
    };
    Ok(Row {
        engine: peer.to_string(),
        streams,
        prompt_tokens: number("prompt_tokens")? as usize,
        time_to_first_token_ms: number("ttft_ms")?,
        decode_tokens_per_second: number("decode_tokens_per_s")?,
    })
}

fn print(report: &DecodeReport) {
    println!(
        "decode, {} new tokens, {} threads: {}",
        report.new_tokens, report.threads, report.model
    );
    println!(
        "{:<14} {:>7} {:>14} {:>12} {:>16}",
        "engine", "streams", "prompt tokens", "TTFT ms", "decode tokens/s"
    );
    for row in &report.rows {
        println!(
            "{:<14} {:>7} {:>14} {:>12.1} {:>16.1}",
            row.engine,
            row.streams,
            row.prompt_tokens,
            row.time_to_first_token_ms,
            row.decode_tokens_per_second
        );
    }
    for (name, ratio) in &report.ratios {
        println!("{name:<40} {ratio:>6.2}x");
    }
}
