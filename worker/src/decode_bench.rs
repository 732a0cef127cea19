//! `attribution-worker bench decode`: the serving runtime's decode speed side by side with the
//! peers a user would run instead (Hugging Face transformers and llama.cpp, through
//! `worker/bench/peers/decode.py` in a Python environment outside the repository), on the same
//! GGUF file, thread count, prompt and number of new tokens, in one invocation. Runs alternate
//! between the worker and the peers so that load from elsewhere falls on all of them alike.

use crate::chat_template::ChatMessage;
use crate::checkpoint::{write_safetensors, HostTensor, StoredDtype};
use crate::job::ModelDir;
use crate::lora::{LoraConfig, TargetModule};
use crate::model::projection_path;
use crate::peft;
use crate::serve::cli::Weights;
use crate::serve::engine::EngineConfig;
use crate::serve::runtime::bench::{decode_benchmark, DecodeFigures};
use crate::serve::runtime::native::{NativeRuntime, RuntimeOptions};
use crate::serve::runtime::quant::WeightFormat;
use crate::serve::runtime::{
    keep_spare_up_to, prepare_spare_factors, AdapterKey, KvFormat, LoraWeights, PhaseTimes, Runtime,
};
use anyhow::{bail, Context, Result};
use clap::Args;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

/// The many-adapter runs' rank unless `--adapter-rank` says otherwise.
const DEFAULT_ADAPTER_RANK: usize = 16;

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
    /// Adapters registered for the many-adapter runs (random LoRA, as PEFT files): the streams
    /// on one adapter, then spread over as many adapters as streams, on the first weight
    /// format; 0 skips them.
    #[arg(long, default_value_t = 100)]
    pub adapters: usize,
    /// Those adapters' rank.
    #[arg(long, default_value_t = DEFAULT_ADAPTER_RANK)]
    pub adapter_rank: usize,
    /// The projections those adapters adapt: all seven by default, the most a step reads;
    /// `q_proj,v_proj` is PEFT's default and this worker's training's.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj"
    )]
    pub adapter_targets: Vec<String>,
    /// How those adapter files store their factors: `f32`, as this worker's training writes
    /// them, or 16-bit (`f16`, `bf16`), as PEFT writes adapters of a half-precision model (the
    /// runtime keeps 16-bit factors 16-bit).
    #[arg(long, value_enum, default_value = "f32")]
    pub adapter_dtype: StoredDtype,
    /// The weight formats of the worker's runs (`nf4` too when asked for).
    #[arg(long, value_enum, value_delimiter = ',', default_values = ["q4", "q8", "f32"])]
    pub weights: Vec<Weights>,
    /// What the worker's KV caches keep (`serve --kv-cache`): each weight format runs with
    /// each; the many-adapter runs use the first.
    #[arg(long, value_enum, value_delimiter = ',', default_values = ["f32", "f16"])]
    pub kv_cache: Vec<KvFormat>,
    /// Also time the worker's decode steps phase by phase (norms, each product, attention,
    /// ...: wall time, so a serial phase counts whole) and print where a step's time went.
    #[arg(long)]
    pub phases: bool,
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
    /// Loading an adapter that is not resident: mapping its PEFT file, decoding its factors into
    /// the runtime's layout and handing them to the runtime.
    pub adapter_load_ms: Option<AdapterLoad>,
    /// With `--phases`: where the worker's decode steps went.
    pub phases: Vec<PhaseRow>,
}

/// One worker configuration's decode steps, phase by phase, over every repeat.
#[derive(Serialize, Debug, Clone)]
pub struct PhaseRow {
    pub engine: String,
    pub streams: usize,
    pub steps: usize,
    /// Microseconds a step, per phase (`serve::runtime::Phase`), in the order a pass runs them.
    pub micros: Vec<(String, f64)>,
}

/// Phase times summed per (engine, streams), in the order the runs came.
#[derive(Default)]
struct PhaseSums(Vec<(String, usize, PhaseTimes)>);

impl PhaseSums {
    fn add(&mut self, engine: &str, figures: &DecodeFigures) {
        let Some(times) = &figures.phases else {
            return;
        };
        let key = (engine, figures.batch);
        match self.0.iter_mut().find(|(e, s, _)| (e.as_str(), *s) == key) {
            Some((_, _, sum)) => sum.add(times),
            None => self.0.push((engine.into(), figures.batch, times.clone())),
        }
    }

    fn rows(self) -> Vec<PhaseRow> {
        self.0
            .into_iter()
            .map(|(engine, streams, times)| PhaseRow {
                engine,
                streams,
                steps: times.passes,
                micros: times
                    .micros_per_pass()
                    .map(|(phase, micros)| (phase.name().to_string(), micros))
                    .collect(),
            })
            .collect()
    }
}

#[derive(Serialize, Debug, Clone)]
pub struct AdapterLoad {
    pub adapters: usize,
    /// The cache's budget, a server's default (`serve --adapter-cache-mib`).
    pub budget_mib: usize,
    pub median: f64,
    pub max: f64,
    /// Loads before the cache first evicted an adapter (into fresh memory) and after (into
    /// evicted adapters' memory): (loads, median, max).
    pub filling: (usize, f64, f64),
    pub full: (usize, f64, f64),
    /// The slowest loads, slowest first: which one (in load order) and its two phases.
    pub slowest: Vec<LoadTime>,
    /// What a decode step reads besides the KV caches: the base's weights once, and each
    /// distinct adapter's factors once (`adapter_bytes` each): the figure that bounds a step
    /// on many adapters where memory is slow.
    pub weight_bytes: usize,
    pub adapter_bytes: usize,
}

/// One adapter load's phases, in milliseconds.
#[derive(Serialize, Debug, Clone, Copy)]
pub struct LoadTime {
    /// Its place in the load order (0: the first, just after the files were written).
    pub index: usize,
    /// Mapping the PEFT file and decoding its factors ([`LoraWeights::read_peft`]).
    pub read: f64,
    /// Handing them to the runtime ([`Runtime::load_adapter`]).
    pub hand_over: f64,
    /// Whether the cache had evicted an adapter before this load.
    pub full: bool,
}

impl LoadTime {
    fn total(&self) -> f64 {
        self.read + self.hand_over
    }
}

/// A worker configuration's name in the report: the weights' (`FORMATS`), and the cache's
/// when it is not `f32`.
fn engine_name(weights: &str, kv: KvFormat) -> String {
    match kv {
        KvFormat::F32 => weights.to_string(),
        other => format!("{weights}, {} cache", other.name()),
    }
}

const FORMATS: [(WeightFormat, &str); 4] = [
    (WeightFormat::Q4, "worker q4"),
    (WeightFormat::Q8_0, "worker q8"),
    (WeightFormat::F32, "worker f32"),
    (WeightFormat::Nf4, "worker nf4"),
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
        for &kv in &args.kv_cache {
            let runtime = NativeRuntime::load(
                &model.checkpoint,
                RuntimeOptions {
                    weights: format,
                    max_slots: args.streams.max(1),
                    max_positions: prompt.len() + args.new_tokens + 1,
                    threads: args.threads,
                    kv,
                },
            )?;
            runtimes.push((engine_name(name, kv), runtime));
        }
    }
    let mut rows = Vec::new();
    let mut phases = PhaseSums::default();
    for streams in [1, args.streams] {
        let mut samples: Vec<(String, Vec<Row>)> = Vec::new();
        for _ in 0..args.repeats.max(1) {
            for (name, runtime) in &mut runtimes {
                let base = vec![None; streams];
                let figures =
                    decode_benchmark(runtime, &prompt, args.new_tokens, &base, args.phases)?;
                phases.add(name, &figures);
                push(&mut samples, ours(name, &figures));
            }
            if let Some(python) = &args.peers {
                for peer in ["llama.cpp", "transformers"] {
                    push(&mut samples, peer_run(python, peer, args, streams)?);
                }
            }
        }
        rows.extend(samples.into_iter().map(median));
    }
    let mut adapter_load_ms = None;
    let mut adapter_rows = Vec::new();
    if let (true, Some((name, runtime))) = (args.adapters > 0, runtimes.first_mut()) {
        let load;
        (load, adapter_rows) = adapter_runs(runtime, name, &prompt, args, &mut phases)?;
        adapter_load_ms = Some(load);
        rows.extend(adapter_rows.iter().cloned());
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
    for (ours, _) in &runtimes {
        let ours = ours.as_str();
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
    if let [one, many] = adapter_rows.as_slice() {
        ratios.push((
            format!("{} / {}", many.engine, one.engine),
            many.decode_tokens_per_second / one.decode_tokens_per_second,
        ));
    }
    let report = DecodeReport {
        model: args.model.display().to_string(),
        threads: args.threads,
        new_tokens: args.new_tokens,
        rows,
        ratios,
        adapter_load_ms,
        phases: phases.rows(),
    };
    print(&report);
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_vec_pretty(&report)?)?;
    }
    Ok(report)
}

/// Writes `args.adapters` random PEFT adapters, loads every one (timed) through a cache bounded
/// as a server's is (its default budget; the least recently loaded adapter is dropped once the
/// budget is exceeded, and its memory kept for the next read, as `serve` does), then decodes
/// `args.streams` streams on one adapter and on as many distinct adapters (the last loaded),
/// `args.repeats` times each, alternating.
fn adapter_runs(
    runtime: &mut NativeRuntime,
    name: &str,
    prompt: &[u32],
    args: &DecodeBenchArgs,
    phases: &mut PhaseSums,
) -> Result<(AdapterLoad, Vec<Row>)> {
    let config = runtime.config().clone();
    let lora = LoraConfig::new(args.adapter_rank, 2.0 * args.adapter_rank as f64)
        .with_targets(args.adapter_targets.clone());
    let targets = lora.validate()?;
    let dir = tempfile::tempdir()?;
    let mut rng = StdRng::seed_from_u64(7);
    let mut paths = Vec::with_capacity(args.adapters);
    for index in 0..args.adapters {
        let mut tensors = BTreeMap::new();
        for layer in 0..config.num_hidden_layers {
            for &target in &targets {
                let [d_in, d_out] = config.projection_shape(target);
                let path = projection_path(layer, target);
                let mut random = |shape: [usize; 2], scale: f32| HostTensor {
                    shape: shape.to_vec(),
                    values: (0..shape[0] * shape[1])
                        .map(|_| rng.random_range(-scale..scale))
                        .collect(),
                };
                let a = random([lora.rank, d_in], 1.0 / (d_in as f32).sqrt());
                let b = random([d_out, lora.rank], 0.01);
                tensors.insert(peft::key(&path, "lora_A"), a);
                tensors.insert(peft::key(&path, "lora_B"), b);
            }
        }
        let path = dir.path().join(format!("adapter-{index}.safetensors"));
        write_safetensors(&tensors, args.adapter_dtype, &path)?;
        // On disk before the loads are timed, as a stored adapter is.
        std::fs::File::open(&path)?.sync_all()?;
        paths.push(path);
    }
    let budget = EngineConfig::default().adapter_budget;
    keep_spare_up_to(budget);
    let mut resident: VecDeque<(AdapterKey, usize)> = VecDeque::new();
    let mut times = Vec::with_capacity(paths.len());
    let mut full = false;
    for (index, path) in paths.iter().enumerate() {
        let started = Instant::now();
        let weights = LoraWeights::read_peft(path, &lora)?;
        let read = started.elapsed().as_secs_f64() * 1e3;
        let shapes = weights.factor_shapes();
        resident.push_back(runtime.load_adapter(weights)?);
        let was_full = full;
        while resident.len() > 1 && resident.iter().map(|r| r.1).sum::<usize>() > budget {
            let (key, _) = resident.pop_front().expect("more than one");
            runtime.unload_adapter(key)?;
            full = true;
        }
        let total = started.elapsed().as_secs_f64() * 1e3;
        times.push(LoadTime {
            index,
            read,
            hand_over: total - read,
            full: was_full,
        });
        // As a server's reading thread does after handing the adapter over (untimed: no
        // request waits on it); one read at a time here, so for one more.
        prepare_spare_factors(&shapes, false, 1);
    }
    let summary = |full: bool| {
        let mut totals: Vec<f64> = times
            .iter()
            .filter(|t| t.full == full)
            .map(LoadTime::total)
            .collect();
        totals.sort_by(f64::total_cmp);
        let at = |i: usize| totals.get(i).copied().unwrap_or(f64::NAN);
        (
            totals.len(),
            at(totals.len() / 2),
            at(totals.len().wrapping_sub(1)),
        )
    };
    let (filling, full) = (summary(false), summary(true));
    times.sort_by(|a, b| b.total().total_cmp(&a.total()));
    let load = AdapterLoad {
        adapters: times.len(),
        budget_mib: budget >> 20,
        median: times[times.len() / 2].total(),
        max: times[0].total(),
        filling,
        full,
        slowest: times.iter().take(3).copied().collect(),
        weight_bytes: runtime.weight_bytes(),
        adapter_bytes: resident.back().map_or(0, |r| r.1),
    };
    let keys: Vec<AdapterKey> = resident.iter().rev().map(|r| r.0).collect();

    let spread = args.streams.min(keys.len());
    let mut stored = match args.adapter_dtype {
        StoredDtype::F32 => String::new(),
        StoredDtype::F16 => " (f16)".into(),
        StoredDtype::Bf16 => " (bf16)".into(),
    };
    if args.adapter_rank != DEFAULT_ADAPTER_RANK || targets.len() != TargetModule::ALL.len() {
        let names: Vec<&str> = targets.iter().map(|t| t.hf_name()).collect();
        stored += &format!(" (rank {}, {})", lora.rank, names.join("+"));
    }
    let one = format!("{name} 1 adapter{stored}");
    let many = format!("{name} {spread} of {} adapters{stored}", paths.len());
    let mut samples: Vec<(String, Vec<Row>)> = Vec::new();
    for _ in 0..args.repeats.max(1) {
        for (engine, adapters) in [
            (&one, vec![Some(keys[0]); args.streams]),
            (
                &many,
                (0..args.streams).map(|i| Some(keys[i % spread])).collect(),
            ),
        ] {
            let figures =
                decode_benchmark(runtime, prompt, args.new_tokens, &adapters, args.phases)?;
            phases.add(engine, &figures);
            push(&mut samples, ours(engine, &figures));
        }
    }
    for key in keys {
        runtime.unload_adapter(key)?;
    }
    keep_spare_up_to(0);
    Ok((load, samples.into_iter().map(median).collect()))
}

/// The run of median decode speed.
fn median((_, mut runs): (String, Vec<Row>)) -> Row {
    runs.sort_by(|a, b| {
        a.decode_tokens_per_second
            .total_cmp(&b.decode_tokens_per_second)
    });
    runs[runs.len() / 2].clone()
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
        "{:<30} {:>7} {:>14} {:>12} {:>16}",
        "engine", "streams", "prompt tokens", "TTFT ms", "decode tokens/s"
    );
    for row in &report.rows {
        println!(
            "{:<30} {:>7} {:>14} {:>12.1} {:>16.1}",
            row.engine,
            row.streams,
            row.prompt_tokens,
            row.time_to_first_token_ms,
            row.decode_tokens_per_second
        );
    }
    for (name, ratio) in &report.ratios {
        println!("{name:<50} {ratio:>6.2}x");
    }
    print_phases(&report.phases);
    if let Some(load) = &report.adapter_load_ms {
        println!(
            "loading one of {} adapters (map, decode, hand over; cache of {} MiB): median {:.1} ms, \
             max {:.1} ms",
            load.adapters, load.budget_mib, load.median, load.max
        );
        for (name, (loads, median, max)) in [
            ("filling the cache", load.filling),
            ("into a full cache", load.full),
        ] {
            match loads {
                0 => println!("  no loads {name}"),
                _ => println!("  {loads} loads {name}: median {median:.1} ms, max {max:.1} ms"),
            }
        }
        for slow in &load.slowest {
            println!(
                "  load #{}: {:.1} ms (reading {:.1}, handing over {:.1})",
                slow.index,
                slow.total(),
                slow.read,
                slow.hand_over
            );
        }
        println!(
            "a step reads the base's weights ({:.1} MB) and each distinct adapter's factors \
             ({:.1} MB an adapter)",
            load.weight_bytes as f64 / 1e6,
            load.adapter_bytes as f64 / 1e6
        );
    }
}

/// Phases down, configurations across: microseconds a decode step, and each one's total.
fn print_phases(rows: &[PhaseRow]) {
    if rows.is_empty() {
        return;
    }
    let columns: Vec<String> = rows
        .iter()
        .map(|r| format!("{} x{}", r.engine, r.streams))
        .collect();
    let width = columns.iter().map(String::len).max().unwrap_or(0).max(10) + 2;
    print!("{:<24}", "µs a decode step (wall)");
    for column in &columns {
        print!("{column:>width$}");
    }
    println!();
    for (i, (phase, _)) in rows[0].micros.iter().enumerate() {
        print!("{phase:<24}");
        for row in rows {
            print!("{:>width$.1}", row.micros[i].1);
        }
        println!();
    }
    print!("{:<24}", "total");
    for row in rows {
        print!(
            "{:>width$.1}",
            row.micros.iter().map(|(_, m)| m).sum::<f64>()
        );
    }
    println!();
}
