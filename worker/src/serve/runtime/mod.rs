//! The model runtime a server drives: sequences that each keep their own KV cache, stepped
//! together, so that prefill chunks and decode tokens of many requests (and of different
//! adapters) share one pass over the base weights.
//!
//! - [`NativeRuntime`] ([`native`]): the runtime in plain Rust on the CPU.
//! - [`quant`], [`kernels`], [`matmul`]: weights kept in ggml's blocks, their dot products
//!   (scalar and AVX2) and the batched, parallel projection; [`nf4`]: projections in QLoRA's NF4.
//! - `cache`: one sequence's KV cache; `adapter`: unmerged LoRA adapters, gathered per row;
//!   `scratch`: each thread's reused vectors.
//! - [`bench`]: the decode benchmark; [`phases`]: where a pass's wall time goes.

mod adapter;
mod attention;
pub mod bench;
mod cache;
mod capture;
mod exp;
mod factor_memory;
pub mod kernels;
mod lane;
pub mod matmul;
pub mod native;
pub mod nf4;
pub mod phases;
pub mod quant;
mod scratch;
mod team;

pub use bench::{decode_benchmark, DecodeFigures};
pub use cache::KvFormat;
pub use factor_memory::{keep_spare_up_to, prepare as prepare_spare_factors, Stored, Values};
pub use kernels::Isa;
pub use native::{NativeRuntime, RuntimeOptions};
pub use phases::{Phase, PhaseTimes};
pub use quant::{QMatrix, WeightFormat};

use crate::lora::LoraConfig;
use crate::model::LlamaConfig;
use anyhow::{bail, Result};
use std::ops::Range;

/// What a runtime computes on: its weights' format and its KV caches'. Both are part of an
/// attribution: either held otherwise gives other logits, so a juror recomputes on the same.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Numerics {
    pub weights: WeightFormat,
    pub kv: KvFormat,
}

impl Numerics {
    /// The weights' name with `f32` caches (as names were before caches had a format), and
    /// `h` after it with `f16` (half-precision) ones: `q4h`. One letter, as a record's method
    /// name holds 64 bytes and the longest combination
    /// (`contextcite-prior-v1:…@nf4h+spans-v1+influence-v2`) takes all of them; no weights'
    /// name ends in `h`.
    pub fn name(self) -> String {
        match self.kv {
            KvFormat::F32 => self.weights.name().to_string(),
            KvFormat::F16 => format!("{}h", self.weights.name()),
        }
    }

    /// [`Numerics::name`]'s parts: the weights' name and the cache's format.
    pub fn split(name: &str) -> (&str, KvFormat) {
        match name.strip_suffix('h') {
            Some(weights) => (weights, KvFormat::F16),
            None => (name, KvFormat::F32),
        }
    }
}

/// A sequence held by a runtime.
pub type SlotId = u32;
/// A loaded adapter, local to one runtime.
pub type AdapterKey = u32;

/// Which logits a chunk asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Logits {
    /// None (a prefill chunk that is not the prompt's last).
    None,
    /// The last position's: one row of `vocab` values.
    Last,
    /// Every position's: one row per token (teacher-forced scoring).
    All,
}

/// Tokens appended to one sequence in a [`Runtime::forward`] pass.
#[derive(Clone, Copy, Debug)]
pub struct Chunk<'a> {
    pub slot: SlotId,
    pub tokens: &'a [u32],
    pub logits: Logits,
}

/// A LoRA adapter's factors on the host, per projection (Hugging Face module path, e.g.
/// `model.layers.3.self_attn.q_proj`): `Aᵀ: [r, d_in]` (PEFT's `lora_A`), `B: [r, d_out]`
/// row-major (each kept as the file stores it: [`Values`]), and the scale `alpha / r`, so that
/// the projection adds `scale·(x·A)·B`.
#[derive(Clone, Debug)]
pub struct LoraWeights {
    pub config: LoraConfig,
    pub projections: Vec<(String, Values, Values)>,
}

/// Sequences with KV caches over one resident base model.
pub trait Runtime: Send {
    fn config(&self) -> &LlamaConfig;
    /// The longest sequence a slot holds (prompt and answer).
    fn max_positions(&self) -> usize;
    /// A new empty sequence that runs with `adapter` (the base model when `None`).
    fn allocate(&mut self, adapter: Option<AdapterKey>) -> Result<SlotId>;
    /// A new sequence holding a copy of the first `len` positions of `from`, with its adapter.
    fn fork(&mut self, from: SlotId, len: usize) -> Result<SlotId>;
    /// Frees a sequence and its cache.
    fn release(&mut self, slot: SlotId);
    /// Positions in the sequence's cache.
    fn positions(&self, slot: SlotId) -> usize;
    /// Appends each chunk's tokens to its sequence in one pass and returns the logits asked
    /// for, chunk after chunk, row-major `[rows, vocab]`.
    fn forward(&mut self, chunks: &[Chunk<'_>]) -> Result<Vec<f32>>;
    /// Attention knockout: scores `tokens` as if appended to `slot`, once per entry of
    /// `hidden`, each time with those cached positions invisible to the new tokens (their keys
    /// get no attention weight; positions keep their numbers). All entries run in one pass and
    /// the slot is left as it was. Returns every row's logits, `[hidden.len() · tokens.len(),
    /// vocab]`, entry after entry.
    fn forward_hidden(
        &mut self,
        slot: SlotId,
        tokens: &[u32],
        hidden: &[Vec<Range<usize>>],
    ) -> Result<Vec<f32>>;
    /// Attention capture (AT2): runs `tokens` as if appended to `slot` (left as it was, no
    /// logits) and returns, for each token, layer and query head, the attention weight it gives
    /// each of `ranges` (cached positions): `[tokens, layers, heads, ranges.len()]` row-major.
    fn forward_attention(
        &mut self,
        slot: SlotId,
        tokens: &[u32],
        ranges: &[Range<usize>],
    ) -> Result<Vec<f32>> {
        let _ = (slot, tokens, ranges);
        bail!("this runtime does not capture attention weights")
    }
    /// Makes an adapter available to new sequences; returns its key and resident bytes. The
    /// factors are moved in, not copied: an adapter is tens of MiB, and writing them to fresh
    /// memory once more was a third of its load time.
    fn load_adapter(&mut self, adapter: LoraWeights) -> Result<(AdapterKey, usize)>;
    /// Drops an adapter no live sequence uses.
    fn unload_adapter(&mut self, key: AdapterKey) -> Result<()>;
    /// Starts timing each pass's phases from zero (`on`), or stops ([`phases`]). A runtime
    /// without phases ignores it.
    fn time_phases(&mut self, on: bool) {
        let _ = on;
    }
    /// The phases' times since timing started; `None` when it has not.
    fn phase_times(&self) -> Option<PhaseTimes> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numerics_names_split_back_into_their_formats() {
        let formats = [
            WeightFormat::F32,
            WeightFormat::Q8_0,
            WeightFormat::Q4,
            WeightFormat::Nf4,
        ];
        for weights in formats {
            for kv in [KvFormat::F32, KvFormat::F16] {
                let numerics = Numerics { weights, kv };
                let name = numerics.name();
                assert!(!weights.name().ends_with('h'));
                assert_eq!(Numerics::split(&name), (weights.name(), kv), "{name}");
            }
        }
        assert_eq!(
            Numerics {
                weights: WeightFormat::Q4,
                kv: KvFormat::F16
            }
            .name(),
            "q4h"
        );
    }
}
