//! `bench train --model PATH`: the tuning methods on a real checkpoint and real text, beside
//! PyTorch + PEFT on the same batches, in one run.
//!
//! - Rows: Debian package descriptions (`apt-cache dumpavail`, or `--packages` in dpkg's
//!   format), one row per package as the demo's datanet has them, `cutoff` tokens each.
//! - A [`Plan`] fixes everything both sides need (rows as token ids, every step's batch and
//!   learning rate, AdamW's settings, clipping, threads) and is written once to a JSON file.
//! - Rounds: each round runs every method once in a fresh process of ours
//!   (`bench train --only METHOD --plan FILE`, see [`solo`](super::solo)) and then, when
//!   `--peers` names the peer environment's Python, the same method in a fresh process of the
//!   peer (`bench/peers/train.py`). Ours and the peer alternate (A B A B ...), so load from
//!   other processes on the machine falls on both. A fresh process per method and round keeps
//!   each resident-set peak (VmHWM) to one method; model loading is not timed.
//! - Each round also measures the machine's matmul throughput (see [`matmul`](super::matmul)).
//!
//! Reported per method and side: the median step over every timed step of every round, its
//! quartiles and range, tokens per second (`batch × seq` through the model per step), peak
//! resident memory (whole process, and the training steps alone) and our allocator's peak.

use super::matmul::{self, MatmulRate, StepFlops};
use super::plan::{OptimizerPlan, Plan, PlanSettings};
use super::quality::{self, QualityReport, QualitySettings};
use super::solo::{self, SoloRun, DEFAULT_METHODS, METHODS};
use super::BenchConfig;
use crate::data::{parse_jsonl, Encoded, Example};
use crate::job::ModelDir;
use crate::rag::quality::{debian_rows, packages_text};
use anyhow::{ensure, Context, Result};
use burn::tensor::Device;
use clap::Args;
use serde::Serialize;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The methods the peer runs (PEFT's QLoRA needs bitsandbytes' 4-bit kernels, which the peer
/// environment does not have on the CPU).
pub const PEER_METHODS: [&str; 3] = ["full", "lora", "p-tuning-v2"];

/// Options of the real-checkpoint benchmark (batch size, steps, warm-up, rank, alpha and prefix
/// length are the synthetic benchmark's options; with `--model`, `--steps` and `--warmup` are
/// per round).
#[derive(Debug, Clone, Args, Serialize)]
pub struct RealBenchArgs {
    /// A real checkpoint (`.gguf` file or Hugging Face directory): benchmark it on Debian
    /// package descriptions instead of the synthetic model.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// The Python of the peer environment (`worker/bench/peers/setup.sh` prints it): PyTorch +
    /// PEFT train the same batches, interleaved with ours.
    #[arg(long)]
    pub peers: Option<PathBuf>,
    /// Package descriptions in dpkg's format; without it, `apt-cache dumpavail`'s.
    #[arg(long)]
    pub packages: Option<PathBuf>,
    /// Tokens per row at most (prompt included).
    #[arg(long, default_value_t = 32)]
    pub cutoff: usize,
    /// Rounds; each runs every method once, ours then the peer's, each in a fresh process.
    #[arg(long, default_value_t = 4)]
    pub rounds: usize,
    /// CPU threads of every process (rayon for ours, `torch.set_num_threads` for the peer).
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// Methods to run, comma-separated, of `full`, `lora`, `qlora`, `qlora-nf4` (QLoRA over
    /// NF4 even where the checkpoint stores quantized blocks) and `p-tuning-v2` (the peer runs
    /// those of them it has).
    #[arg(long, value_delimiter = ',', default_values = DEFAULT_METHODS)]
    pub methods: Vec<String>,
    /// Peak learning rate (one warm-up step, then cosine decay).
    #[arg(long, default_value_t = 2e-4)]
    pub learning_rate: f64,
    /// After the timed rounds, train LoRA, QLoRA and QLoRA over NF4 this many steps on the rows
    /// and score each on held-out rows at the start and every quarter (see
    /// [`quality`](super::quality)); 0 skips it.
    #[arg(long, default_value_t = 0)]
    pub quality: usize,
    /// Held-out rows of the quality run (packages after every training row).
    #[arg(long, default_value_t = 64)]
    pub held_out: usize,
    /// Held-out rows (the first ones) whose prompts the quality run completes greedily at every
    /// checkpoint for ROUGE-L.
    #[arg(long, default_value_t = 16)]
    pub rouge_rows: usize,
    /// Run one method of `--plan` in this process and print its figures as one JSON line (what
    /// the benchmark runs in its child processes).
    #[arg(long, hide = true, requires = "plan")]
    pub only: Option<String>,
    #[arg(long, hide = true)]
    pub plan: Option<PathBuf>,
}

/// One method on one side, over all rounds.
#[derive(Debug, Clone, Serialize)]
pub struct MethodFigures {
    /// `ours` or `peft`.
    pub engine: String,
    pub method: String,
    pub version: Option<String>,
    /// Timed steps over all rounds.
    pub steps: usize,
    pub step_ms: f64,
    pub step_ms_p25: f64,
    pub step_ms_p75: f64,
    pub step_ms_min: f64,
    pub step_ms_max: f64,
    pub tokens_per_second: f64,
    /// The highest VmHWM of the rounds' processes, loading included.
    pub peak_rss_bytes: u64,
    /// The highest VmHWM of the rounds' training steps alone.
    pub train_peak_rss_bytes: Option<u64>,
    pub peak_heap_bytes: Option<usize>,
    pub trainable_params: usize,
    /// The first round's losses, warm-up included: on the same batches and base weights, the
    /// first step's loss is the same model's loss on the same tokens on both sides.
    pub losses: Vec<f32>,
}

/// A named ratio of two measured figures with the target, when it has one.
#[derive(Debug, Clone, Serialize)]
pub struct Ratio {
    pub name: String,
    pub value: f64,
    pub target: Option<String>,
}

/// Everything one real-checkpoint run measured.
#[derive(Debug, Clone, Serialize)]
pub struct RealBenchReport {
    pub model: String,
    pub threads: usize,
    pub batch_size: usize,
    pub cutoff: usize,
    pub rows: usize,
    pub tokens_per_step: usize,
    pub rounds: usize,
    pub warmup: usize,
    pub steps_per_round: usize,
    pub learning_rate: f64,
    pub optimizer: OptimizerPlan,
    pub results: Vec<MethodFigures>,
    pub ratios: Vec<Ratio>,
    /// Per shape, the median over rounds of each round's best.
    pub matmul: Vec<MatmulRate>,
    pub flops: StepFlops,
    /// The least time the LoRA step's matmuls take at the measured rates of their shapes.
    pub lora_matmul_floor_ms: Option<f64>,
    /// LoRA beside both QLoRAs on held-out rows at every checkpoint (`--quality`).
    pub quality: Option<QualityReport>,
    /// `/proc/loadavg` before and after the run: the machine's other load.
    pub load_average: [String; 2],
}

/// Runs the benchmark; `exe` is the worker binary that runs each method in a child process.
pub fn run(config: &BenchConfig, args: &RealBenchArgs, exe: &Path) -> Result<RealBenchReport> {
    let model_path = args.model.clone().context("--model is required")?;
    for method in &args.methods {
        ensure!(
            METHODS.contains(&method.as_str()),
            "unknown method `{method}`: expected some of {METHODS:?}"
        );
    }
    ensure!(args.rounds > 0, "--rounds must be at least 1");
    let load_before = load_average();
    let model = ModelDir::load(&model_path)?;
    let wanted = config.batch_size * (config.warmup + config.steps);
    let quality_rows = config.batch_size * args.quality;
    let held_out = if args.quality > 0 { args.held_out } else { 0 };
    let rows = package_rows(
        args.packages.as_deref(),
        wanted.max(quality_rows) + held_out,
    )?;
    let mut encoded: Vec<Encoded> = model.encode(&rows, args.cutoff)?;
    let held_out = encoded.split_off(encoded.len() - held_out);
    let plan = Plan::new(
        PlanSettings {
            model: model_path.clone(),
            threads: args.threads,
            batch_size: config.batch_size,
            cutoff: args.cutoff,
            warmup: config.warmup,
            steps: config.steps,
            rank: config.rank,
            alpha: config.alpha,
            prefix_length: config.prefix_length,
            learning_rate: args.learning_rate,
        },
        &encoded[..wanted],
        model.special.pad,
    )?;
    let dir = tempfile::tempdir()?;
    let plan_path = dir.path().join("plan.json");
    plan.write(&plan_path)?;
    let model_config = model.checkpoint.config.clone();
    let (tokenizer, eos) = (model.tokenizer.clone(), model.special.eos);
    drop(model);

    solo::use_threads(args.threads);
    let device = Device::flex();
    let tokens = plan.tokens_per_step();
    let shapes = matmul::shapes(&model_config, tokens, config.rank);
    let mut rates: Vec<Vec<MatmulRate>> = vec![Vec::new(); shapes.len()];
    let mut runs: Vec<(String, SoloRun)> = Vec::new();
    for round in 0..args.rounds {
        tracing::info!(round, "round");
        for ((name, shape), samples) in shapes.iter().zip(&mut rates) {
            samples.push(matmul::measure(name, *shape, 5, &device));
        }
        for method in &args.methods {
            runs.push(("ours".into(), ours(exe, &plan_path, method)?));
            if let Some(python) = args.peers.as_ref() {
                if PEER_METHODS.contains(&method.as_str()) {
                    runs.push(("peft".into(), peer(python, &plan_path, method)?));
                }
            }
        }
    }

    let results = figures(&runs, tokens);
    let matmul: Vec<MatmulRate> = rates
        .into_iter()
        .map(|mut samples| {
            samples.sort_by(|a, b| a.gflops.total_cmp(&b.gflops));
            samples.swap_remove(samples.len() / 2)
        })
        .collect();
    let seq = plan
        .batches
        .get(plan.warmup)
        .map_or(0, |b| b.inputs[0].len());
    let flops = StepFlops::new(&model_config, config.batch_size, seq, config.rank);
    let lora_matmul_floor_ms =
        matmul::lora_matmul_floor_seconds(&model_config, &flops, tokens, &matmul).map(|s| 1e3 * s);
    let ratios = ratios(&results);
    let quality = if args.quality > 0 {
        Some(quality::run(&QualitySettings {
            model: &model_path,
            methods: ["lora", "qlora", "qlora-nf4"]
                .into_iter()
                .map(|name| Ok((name.to_string(), solo::method(&plan, name)?)))
                .collect::<Result<_>>()?,
            train: &encoded[..quality_rows],
            held_out: &held_out,
            generated_rows: args.rouge_rows,
            tokenizer: &tokenizer,
            eos,
            pad: plan.pad,
            batch_size: config.batch_size,
            steps: args.quality,
            learning_rate: args.learning_rate,
            seed: plan.seed,
        })?)
    } else {
        None
    };
    let report = RealBenchReport {
        model: model_path.display().to_string(),
        threads: args.threads,
        batch_size: config.batch_size,
        cutoff: args.cutoff,
        rows: plan.rows.len(),
        tokens_per_step: tokens,
        rounds: args.rounds,
        warmup: config.warmup,
        steps_per_round: config.steps,
        learning_rate: args.learning_rate,
        optimizer: plan.optimizer.clone(),
        results,
        ratios,
        matmul,
        flops,
        lora_matmul_floor_ms,
        quality,
        load_average: [load_before, load_average()],
    };
    Ok(report)
}

/// The first `count` distinct packages with a description, as `{prompt, completion}` rows.
fn package_rows(packages: Option<&Path>, count: usize) -> Result<Vec<Example>> {
    let text = packages_text(packages)?;
    let mut names = BTreeSet::new();
    let jsonl: Vec<String> = debian_rows(&text)
        .into_iter()
        .filter(|p| names.insert(p.package.clone()))
        .take(count)
        .map(|p| p.jsonl)
        .collect();
    ensure!(
        jsonl.len() == count,
        "{} distinct packages with a description: fewer than the {count} rows asked",
        jsonl.len()
    );
    parse_jsonl(&jsonl.join("\n"))
}

/// One method in a fresh process of ours.
fn ours(exe: &Path, plan: &Path, method: &str) -> Result<SoloRun> {
    let mut command = Command::new(exe);
    command
        .args(["bench", "train", "--only", method, "--plan"])
        .arg(plan);
    json_line(command, &format!("our {method} run"))
}

/// One method in a fresh process of the peer.
fn peer(python: &Path, plan: &Path, method: &str) -> Result<SoloRun> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("bench/peers/train.py");
    let mut command = Command::new(python);
    command
        .arg(&script)
        .args(["--method", method, "--plan"])
        .arg(plan);
    json_line(command, &format!("the peer's {method} run"))
}

/// Runs `command` (its logs on our stderr) and reads the JSON line it prints last.
fn json_line(mut command: Command, what: &str) -> Result<SoloRun> {
    let output = command
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("starting {what}"))?;
    ensure!(output.status.success(), "{what} failed: {}", output.status);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().last().unwrap_or_default();
    let run: SoloRun =
        serde_json::from_str(line).with_context(|| format!("{what} printed `{line}`"))?;
    tracing::info!(
        what,
        median_ms = 1e3 * super::median(&run.step_seconds),
        "done"
    );
    Ok(run)
}

/// Each (engine, method)'s runs pooled, in the order they first ran.
fn figures(runs: &[(String, SoloRun)], tokens: usize) -> Vec<MethodFigures> {
    let mut out: Vec<MethodFigures> = Vec::new();
    let mut seen = BTreeSet::new();
    for (engine, first) in runs {
        if !seen.insert((engine.clone(), first.method.clone())) {
            continue;
        }
        let same: Vec<&SoloRun> = runs
            .iter()
            .filter(|(e, r)| e == engine && r.method == first.method)
            .map(|(_, r)| r)
            .collect();
        let mut ms: Vec<f64> = same
            .iter()
            .flat_map(|r| r.step_seconds.iter().map(|s| 1e3 * s))
            .collect();
        ms.sort_by(f64::total_cmp);
        let median = super::median(&ms);
        out.push(MethodFigures {
            engine: engine.clone(),
            method: first.method.clone(),
            version: first.version.clone(),
            steps: ms.len(),
            step_ms: median,
            step_ms_p25: quantile(&ms, 0.25),
            step_ms_p75: quantile(&ms, 0.75),
            step_ms_min: ms.first().copied().unwrap_or(f64::NAN),
            step_ms_max: ms.last().copied().unwrap_or(f64::NAN),
            tokens_per_second: tokens as f64 / (median / 1e3),
            peak_rss_bytes: same.iter().map(|r| r.peak_rss_bytes).max().unwrap_or(0),
            train_peak_rss_bytes: same.iter().filter_map(|r| r.train_peak_rss_bytes).max(),
            peak_heap_bytes: same.iter().filter_map(|r| r.peak_heap_bytes).max(),
            trainable_params: first.trainable_params,
            losses: first.losses.clone(),
        });
    }
    out
}

/// Nearest-rank quantile of sorted values.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// The ratios the issue asks about, for whatever was measured.
fn ratios(results: &[MethodFigures]) -> Vec<Ratio> {
    let find = |engine: &str, method: &str| {
        results
            .iter()
            .find(|r| r.engine == engine && r.method == method)
    };
    let mut out = Vec::new();
    let mut push = |name: String, a: Option<f64>, b: Option<f64>, target: Option<&str>| {
        if let (Some(a), Some(b)) = (a, b) {
            out.push(Ratio {
                name,
                value: a / b,
                target: target.map(str::to_string),
            });
        }
    };
    let step = |engine: &str, method: &str| find(engine, method).map(|r| r.step_ms);
    let rss = |engine: &str, method: &str| find(engine, method).map(|r| r.peak_rss_bytes as f64);
    for method in PEER_METHODS {
        let target = (method == "lora").then_some("<= 0.8");
        push(
            format!("{method} step: ours / PEFT"),
            step("ours", method),
            step("peft", method),
            target,
        );
        let target = (method == "lora").then_some("<= 0.7");
        push(
            format!("{method} peak RSS: ours / PEFT"),
            rss("ours", method),
            rss("peft", method),
            target,
        );
    }
    push(
        "QLoRA step / our LoRA step".into(),
        step("ours", "qlora"),
        step("ours", "lora"),
        Some("<= 1.25"),
    );
    push(
        "our QLoRA peak RSS / PEFT LoRA peak RSS".into(),
        rss("ours", "qlora"),
        rss("peft", "lora"),
        Some("<= 0.4"),
    );
    push(
        "QLoRA-NF4 step / our LoRA step".into(),
        step("ours", "qlora-nf4"),
        step("ours", "lora"),
        None,
    );
    push(
        "our QLoRA-NF4 peak RSS / PEFT LoRA peak RSS".into(),
        rss("ours", "qlora-nf4"),
        rss("peft", "lora"),
        None,
    );
    for engine in ["ours", "peft"] {
        push(
            format!("{engine}: LoRA step / full fine-tuning step"),
            step(engine, "lora"),
            step(engine, "full"),
            None,
        );
        push(
            format!("{engine}: P-tuning v2 step / LoRA step"),
            step(engine, "p-tuning-v2"),
            step(engine, "lora"),
            Some("published 3.7"),
        );
    }
    out
}

/// `/proc/loadavg`, or what kept it from being read.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|e| format!("unknown ({e})"))
}

impl RealBenchReport {
    /// The report as Markdown: methods, ratios, then the matmul throughput and the LoRA step's
    /// share of it.
    pub fn markdown(&self) -> String {
        let mib = |b: f64| b / f64::from(1 << 20);
        let mut out = format!(
            "{}: batch {}, cutoff {} ({} tokens per step), {} threads, {} rounds of {} warm-up + {} timed steps per method and side; load average before {}, after {}\n\n",
            self.model, self.batch_size, self.cutoff, self.tokens_per_step, self.threads,
            self.rounds, self.warmup, self.steps_per_round, self.load_average[0], self.load_average[1],
        );
        out += "| method | engine | step ms (median) | IQR | min – max | tokens/s | peak RSS MiB (process) | peak RSS MiB (training) | peak heap MiB | trainable params | loss: step 1 → last |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|\n";
        for r in &self.results {
            out += &format!(
                "| {} | {} | {:.0} | {:.0} – {:.0} | {:.0} – {:.0} | {:.0} | {:.0} | {} | {} | {} | {:.4} → {:.4} |\n",
                r.method,
                r.engine,
                r.step_ms,
                r.step_ms_p25,
                r.step_ms_p75,
                r.step_ms_min,
                r.step_ms_max,
                r.tokens_per_second,
                mib(r.peak_rss_bytes as f64),
                r.train_peak_rss_bytes
                    .map_or("–".into(), |b| format!("{:.0}", mib(b as f64))),
                r.peak_heap_bytes
                    .map_or("–".into(), |b| format!("{:.0}", mib(b as f64))),
                r.trainable_params,
                r.losses.first().copied().unwrap_or(f32::NAN),
                r.losses.last().copied().unwrap_or(f32::NAN),
            );
        }
        out += "\n| ratio | measured | target |\n|---|---:|---|\n";
        for r in &self.ratios {
            out += &format!(
                "| {} | {:.3} | {} |\n",
                r.name,
                r.value,
                r.target.as_deref().unwrap_or("")
            );
        }
        out += "\n| matmul | m × k × n | GFLOP/s |\n|---|---|---:|\n";
        for r in &self.matmul {
            out += &format!(
                "| {} | {} × {} × {} | {:.1} |\n",
                r.name, r.m, r.k, r.n, r.gflops
            );
        }
        let peak = self
            .matmul
            .iter()
            .find(|r| r.name == matmul::SQUARE)
            .map_or(f64::NAN, |r| r.gflops);
        for (method, flops) in [
            ("lora", self.flops.lora_step()),
            ("full", self.flops.full_step()),
        ] {
            if let Some(r) = self
                .results
                .iter()
                .find(|r| r.engine == "ours" && r.method == method)
            {
                let sustained = flops / (r.step_ms / 1e3) / 1e9;
                out += &format!(
                    "\nOur {method} step: {:.1} GFLOP of matmuls, {sustained:.1} GFLOP/s sustained = {:.0} % of the square peak ({peak:.1} GFLOP/s).",
                    flops / 1e9,
                    100.0 * sustained / peak,
                );
            }
        }
        if let (Some(floor), Some(r)) = (
            self.lora_matmul_floor_ms,
            self.results
                .iter()
                .find(|r| r.engine == "ours" && r.method == "lora"),
        ) {
            out += &format!(
                "\nAt the measured rates of its own shapes the LoRA step's matmuls take at least {floor:.0} ms: {:.0} % of its median step; the rest is everything else (elementwise ops, copies, autodiff, optimizer, allocation).\n",
                100.0 * floor / r.step_ms
            );
        }
        if let Some(quality) = &self.quality {
            out += &quality.markdown();
        }
        out
    }
}
