//! One method of the real-checkpoint benchmark, alone in this process
//! (`bench train --only METHOD --plan FILE`, which the benchmark runs as a child).
//!
//! A process's peak resident set (VmHWM) covers everything it ever did, so each method runs in
//! a process of its own; the parent reads the one JSON line this prints.

use crate::checkpoint::ModelWeights;
use crate::lora::{LoraConfig, QloraBase};
use crate::memory::PeakAllocator;
use crate::model::Llama;
use crate::ptuning::PrefixConfig;
use crate::train::Trainer;
use crate::tuning::Method;
use anyhow::{bail, Context, Result};
use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use super::plan::Plan;

/// The methods of the real-checkpoint benchmark, in the order they run.
pub const METHODS: [&str; 5] = ["full", "lora", "qlora", "qlora-nf4", "p-tuning-v2"];

/// The methods a run has unless `--methods` says otherwise (`qlora-nf4` is asked for by name).
pub const DEFAULT_METHODS: [&str; 4] = ["full", "lora", "qlora", "p-tuning-v2"];

/// A method by its name in [`METHODS`]: LoRA and QLoRA with the plan's rank and alpha on all
/// seven projections (`qlora` over the checkpoint's own blocks where it has them, `qlora-nf4`
/// over NF4 always), P-tuning v2 with the plan's prefix length.
pub fn method(plan: &Plan, name: &str) -> Result<Method> {
    let lora = LoraConfig::new(plan.rank, plan.alpha).on_every_projection();
    Ok(match name {
        "full" => Method::Full,
        "lora" => Method::Lora(lora),
        "qlora" => Method::Qlora(lora),
        "qlora-nf4" => Method::Qlora(lora.with_base(QloraBase::Nf4)),
        "p-tuning-v2" => Method::PTuning(PrefixConfig::default().with_length(plan.prefix_length)),
        _ => bail!("unknown method `{name}`: expected one of {METHODS:?}"),
    })
}

/// What one process measured of one method: ours (printed by [`run`]) or the peer's (printed by
/// `bench/peers/train.py`, the same fields).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SoloRun {
    pub method: String,
    /// The peer's package versions; `None` for ours.
    #[serde(default)]
    pub version: Option<String>,
    pub trainable_params: usize,
    /// Wall time of each timed step (after the plan's warm-up).
    pub step_seconds: Vec<f64>,
    /// Loss of every step, warm-up included.
    pub losses: Vec<f32>,
    /// The process's peak resident set, loading included (VmHWM).
    pub peak_rss_bytes: u64,
    /// Peak resident set of the training steps alone (VmHWM reset after loading); `None` where
    /// the kernel does not allow the reset.
    pub train_peak_rss_bytes: Option<u64>,
    /// The allocator's high-water mark while training, above what was in use before the model
    /// was built: weights, activations, gradients, optimizer state. Ours only.
    #[serde(default)]
    pub peak_heap_bytes: Option<usize>,
}

/// Trains `name` on the plan's rows for warm-up plus timed steps on the CPU, with the plan's
/// thread count.
pub fn run(plan: &Plan, name: &str, memory: &PeakAllocator) -> Result<SoloRun> {
    use_threads(plan.threads);
    let method = method(plan, name)?;
    let weights = ModelWeights::open(&plan.model)?;
    let rows = plan.encoded();
    let device = Device::flex().autodiff();
    let baseline = memory.current();
    device.seed(plan.seed);
    let model = Llama::from_checkpoint(&weights, &method, &device)?;
    // The file's bytes are not training memory (the peer drops its loader's too).
    drop(weights);
    let trainable_params = super::trainable(&model);
    let load_peak = vm_hwm_bytes()?;
    let reset = reset_vm_hwm();
    memory.reset_peak();
    let config = plan.train_config();
    let mut trainer = Trainer::new(model, &rows, plan.pad, &config, &device)?;
    let mut step_seconds = Vec::with_capacity(plan.steps);
    let mut losses = Vec::with_capacity(config.steps);
    for step in 0..config.steps {
        let outcome = trainer.step();
        losses.push(outcome.loss);
        if step >= plan.warmup {
            step_seconds.push(outcome.seconds);
        }
    }
    let peak_heap_bytes = memory.peak().saturating_sub(baseline);
    let train_peak = vm_hwm_bytes()?;
    Ok(SoloRun {
        method: name.to_string(),
        version: None,
        trainable_params,
        step_seconds,
        losses,
        peak_rss_bytes: load_peak.max(train_peak),
        train_peak_rss_bytes: reset.then_some(train_peak),
        peak_heap_bytes: Some(peak_heap_bytes),
    })
}

/// This process's peak resident set so far: `VmHWM` of `/proc/self/status`.
pub fn vm_hwm_bytes() -> Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")
        .context("reading /proc/self/status (the resident set is measured on Linux only)")?;
    let line = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .context("no VmHWM in /proc/self/status")?;
    let kib: u64 = line
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .with_context(|| format!("VmHWM `{line}`"))?;
    Ok(kib * 1024)
}

/// Starts a new VmHWM at the current resident set (`echo 5 > /proc/self/clear_refs`); false
/// where the kernel refuses.
pub fn reset_vm_hwm() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// Sizes rayon's global pool, which burn's `flex` kernels run on, to `threads`; the pool can be
/// sized once per process, so a second call (tests) keeps the first size and says so.
pub fn use_threads(threads: usize) {
    if let Err(error) = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build_global()
    {
        tracing::warn!(%error, threads = rayon::current_num_threads(), "thread pool already sized");
    }
}
