//! Where a [`super::NativeRuntime`] pass spends its wall time, phase by phase, when asked
//! (`bench decode --phases`). A phase is charged the wall time from the end of the phase before
//! it, so a serial phase (a norm, SwiGLU of a few rows) counts whole though only one thread
//! works in it: what the step waits for, not the CPU time `perf` samples.

use serde::Serialize;
use std::time::Instant;

/// A pass's phases, in the order a block runs them (norms and residual adds of both halves of
/// a block are one phase each).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// The token embeddings.
    Embed,
    /// RMSNorm before attention, before the MLP and before the head.
    Norms,
    /// `q|k|v = h·W_qkvᵀ` (with the adapters' terms).
    Qkv,
    /// RoPE and the new keys and values laid out head by head.
    Rope,
    /// Attention of every sequence and key/value head.
    Attention,
    /// New keys and values appended to the caches; the heads' outputs laid out by row.
    Cache,
    /// The output projection.
    O,
    /// The two residual adds.
    Residuals,
    /// `g|u = h·W_guᵀ`.
    GateUp,
    /// `silu(g)⊙u`.
    SwiGlu,
    /// The down projection.
    Down,
    /// The logits of the rows asked for.
    Head,
}

impl Phase {
    pub const ALL: [Phase; 12] = [
        Phase::Embed,
        Phase::Norms,
        Phase::Qkv,
        Phase::Rope,
        Phase::Attention,
        Phase::Cache,
        Phase::O,
        Phase::Residuals,
        Phase::GateUp,
        Phase::SwiGlu,
        Phase::Down,
        Phase::Head,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Phase::Embed => "embed",
            Phase::Norms => "norms",
            Phase::Qkv => "qkv",
            Phase::Rope => "rope",
            Phase::Attention => "attention",
            Phase::Cache => "cache",
            Phase::O => "o",
            Phase::Residuals => "residuals",
            Phase::GateUp => "gate_up",
            Phase::SwiGlu => "swiglu",
            Phase::Down => "down",
            Phase::Head => "head",
        }
    }
}

/// Wall time per phase over the passes timed.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct PhaseTimes {
    pub passes: usize,
    /// Seconds, in [`Phase::ALL`]'s order.
    pub seconds: [f64; Phase::ALL.len()],
}

impl PhaseTimes {
    /// Adds another run's times.
    pub fn add(&mut self, other: &PhaseTimes) {
        self.passes += other.passes;
        for (total, seconds) in self.seconds.iter_mut().zip(other.seconds) {
            *total += seconds;
        }
    }

    /// Microseconds a pass, per phase.
    pub fn micros_per_pass(&self) -> impl Iterator<Item = (Phase, f64)> + '_ {
        let passes = self.passes.max(1) as f64;
        Phase::ALL
            .into_iter()
            .zip(self.seconds)
            .map(move |(phase, seconds)| (phase, seconds * 1e6 / passes))
    }
}

/// The stopwatch of one pass; records nothing without times to add to.
pub(super) struct Laps<'a> {
    times: Option<&'a mut PhaseTimes>,
    last: Instant,
}

impl<'a> Laps<'a> {
    pub fn start(times: Option<&'a mut PhaseTimes>) -> Self {
        Self {
            times,
            last: Instant::now(),
        }
    }

    /// Charges the time since the last lap to `phase`.
    pub fn lap(&mut self, phase: Phase) {
        if let Some(times) = self.times.as_deref_mut() {
            let now = Instant::now();
            times.seconds[phase as usize] += (now - self.last).as_secs_f64();
            self.last = now;
        }
    }

    /// Counts the pass.
    pub fn finish(self) {
        if let Some(times) = self.times {
            times.passes += 1;
        }
    }
}
