//! Decode speed of the native runtime on a real model, and the time to load a rank-16 adapter.
//!
//! ```text
//! cargo run --release --example runtime_bench -- [MODEL.gguf] [--threads 2] [--tokens 128]
//!     [--formats q4,q8_0,f32] [--batches 1,8]
//! ```
//! The model defaults to SmolLM2-135M-Instruct Q4_1 in `~/.cache/attribution-chain/models`.

use anyhow::{bail, Context, Result};
use attribution_worker::chat_template::ChatMessage;
use attribution_worker::checkpoint::{write_safetensors, HostTensor, StoredDtype};
use attribution_worker::job::ModelDir;
use attribution_worker::lora::{LoraConfig, TargetModule};
use attribution_worker::model::projection_path;
use attribution_worker::peft;
use attribution_worker::serve::runtime::{
    decode_benchmark, Chunk, Logits, LoraWeights, NativeRuntime, Runtime, RuntimeOptions,
    WeightFormat,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

struct Args {
    model: PathBuf,
    threads: usize,
    tokens: usize,
    formats: Vec<WeightFormat>,
    batches: Vec<usize>,
}

fn parse_args() -> Result<Args> {
    let home = std::env::var_os("HOME").context("HOME is not set")?;
    let mut args = Args {
        model: PathBuf::from(home)
            .join(".cache/attribution-chain/models/SmolLM2-135M-Instruct.Q4_1.gguf"),
        threads: 2,
        tokens: 128,
        formats: vec![WeightFormat::Q4, WeightFormat::Q8_0],
        batches: vec![1, 8],
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--threads" => args.threads = value()?.parse()?,
            "--tokens" => args.tokens = value()?.parse()?,
            "--batches" => {
                args.batches = value()?
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<_, _>>()?
            }
            "--formats" => {
                args.formats = value()?
                    .split(',')
                    .map(|f| match f {
                        "f32" => Ok(WeightFormat::F32),
                        "q8_0" => Ok(WeightFormat::Q8_0),
                        "q4" => Ok(WeightFormat::Q4),
                        other => bail!("unknown format {other} (f32, q8_0, q4)"),
                    })
                    .collect::<Result<_>>()?
            }
            path if !path.starts_with("--") => args.model = PathBuf::from(path),
            other => bail!("unknown option {other}"),
        }
    }
    Ok(args)
}

/// A rank-16 adapter on every projection, written as PEFT writes it and read back.
fn adapter_load_ms(runtime: &mut NativeRuntime) -> Result<(f64, usize)> {
    let config = runtime.config().clone();
    let lora = LoraConfig::new(16, 32.0).with_targets(
        TargetModule::ALL
            .iter()
            .map(|t| t.hf_name().to_string())
            .collect(),
    );
    let mut rng = StdRng::seed_from_u64(1);
    let mut tensors = BTreeMap::new();
    for layer in 0..config.num_hidden_layers {
        for target in TargetModule::ALL {
            let [d_in, d_out] = config.projection_shape(target);
            let path = projection_path(layer, target);
            for (factor, shape) in [("lora_A", [16, d_in]), ("lora_B", [d_out, 16])] {
                let values = (0..shape[0] * shape[1])
                    .map(|_| rng.random_range(-0.01..0.01))
                    .collect();
                let tensor = HostTensor {
                    shape: shape.to_vec(),
                    values,
                };
                tensors.insert(peft::key(&path, factor), tensor);
            }
        }
    }
    let dir = tempfile::tempdir()?;
    let file = dir.path().join(peft::WEIGHTS_FILE);
    write_safetensors(&tensors, StoredDtype::F32, &file)?;
    let bytes = std::fs::read(&file)?;
    let started = Instant::now();
    let adapter = LoraWeights::from_peft(&bytes, &lora)?;
    let (key, resident) = runtime.load_adapter(&adapter)?;
    let ms = started.elapsed().as_secs_f64() * 1e3;
    runtime.unload_adapter(key)?;
    Ok((ms, resident))
}

fn main() -> Result<()> {
    let args = parse_args()?;
    let model = ModelDir::load(&args.model)?;
    let template = model
        .chat_template
        .as_ref()
        .context("the model has no chat template")?;
    let prompt = template.render(
        &[ChatMessage::new("user", "What is the capital of France?")],
        true,
    )?;
    let ids = model
        .tokenizer
        .encode(prompt.as_str(), false)
        .map_err(anyhow::Error::msg)?
        .get_ids()
        .to_vec();
    // Each format's logits after the prompt against the f32 weights (the file decoded exactly).
    let last_logits = |runtime: &mut NativeRuntime| -> Result<Vec<f32>> {
        let slot = runtime.allocate(None)?;
        let logits = runtime.forward(&[Chunk {
            slot,
            tokens: &ids,
            logits: Logits::Last,
        }]);
        runtime.release(slot);
        logits
    };
    let options = |weights| RuntimeOptions {
        weights,
        max_slots: args.batches.iter().copied().max().unwrap_or(1),
        max_positions: ids.len() + args.tokens,
        threads: args.threads,
    };
    let exact = last_logits(&mut NativeRuntime::load(
        &model.checkpoint,
        options(WeightFormat::F32),
    )?)?;
    let argmax = |v: &[f32]| {
        (0..v.len())
            .max_by(|&a, &b| v[a].total_cmp(&v[b]))
            .unwrap_or(0)
    };
    for &format in &args.formats {
        let started = Instant::now();
        let mut runtime = NativeRuntime::load(&model.checkpoint, options(format))?;
        println!(
            "{format:?}: loaded in {:.2} s, {:.1} MB of weights, kernels {:?}",
            started.elapsed().as_secs_f64(),
            runtime.weight_bytes() as f64 / 1e6,
            runtime.isa()
        );
        let logits = last_logits(&mut runtime)?;
        let diff = logits
            .iter()
            .zip(&exact)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        println!(
            "  after the prompt vs f32 weights: max |logit diff| {diff:.4}, top token {} (f32: {})",
            argmax(&logits),
            argmax(&exact)
        );
        for &batch in &args.batches {
            let figures = decode_benchmark(&mut runtime, &ids, args.tokens, batch)?;
            let text = model
                .tokenizer
                .decode(&figures.tokens, true)
                .map_err(anyhow::Error::msg)?;
            println!(
                "  batch {batch}: {:.1} tokens/s decoding ({:.1} per sequence), prefill of {} tokens x {batch} in {:.1} ms; {:?}",
                figures.tokens_per_second,
                figures.tokens_per_second / batch as f64,
                figures.prompt_tokens,
                figures.prefill_seconds * 1e3,
                text.chars().take(60).collect::<String>()
            );
        }
        let (ms, bytes) = adapter_load_ms(&mut runtime)?;
        println!(
            "  rank-16 adapter on every projection: loaded in {ms:.1} ms ({:.1} MB)",
            bytes as f64 / 1e6
        );
    }
    Ok(())
}
