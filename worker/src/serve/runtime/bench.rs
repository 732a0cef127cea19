//! Greedy decoding timed on any [`Runtime`], without a server: a batch of sequences (each with
//! its own adapter, or the base) prefill the same prompt in one pass, then decode together one
//! token per pass.

use super::{AdapterKey, Chunk, Logits, PhaseTimes, Runtime, SlotId};
use crate::serve::sampling::argmax;
use anyhow::{ensure, Result};
use std::time::Instant;

/// What one [`decode_benchmark`] run measured.
#[derive(Clone, Debug, PartialEq)]
pub struct DecodeFigures {
    pub batch: usize,
    pub prompt_tokens: usize,
    /// Tokens generated per sequence (the first comes from the prefill pass).
    pub new_tokens: usize,
    /// The prefill pass of every sequence.
    pub prefill_seconds: f64,
    /// The decode passes (each after the first new token).
    pub decode_seconds: f64,
    /// Decoded tokens of all sequences per second of decode passes.
    pub tokens_per_second: f64,
    /// The first sequence's new tokens.
    pub tokens: Vec<u32>,
    /// Where the decode passes' wall time went, when asked for.
    pub phases: Option<PhaseTimes>,
}

/// Decodes `new_tokens` tokens greedily after `prompt` in one sequence per entry of `adapters`
/// (`None`: the base model), all at once; with `phases`, times the decode passes' phases too.
pub fn decode_benchmark(
    runtime: &mut dyn Runtime,
    prompt: &[u32],
    new_tokens: usize,
    adapters: &[Option<AdapterKey>],
    phases: bool,
) -> Result<DecodeFigures> {
    let batch = adapters.len();
    ensure!(
        !prompt.is_empty() && new_tokens >= 2 && batch >= 1,
        "the benchmark needs a prompt, two new tokens and one sequence"
    );
    let vocab = runtime.config().vocab_size;
    let slots = adapters
        .iter()
        .map(|&adapter| runtime.allocate(adapter))
        .collect::<Result<Vec<SlotId>>>()?;
    let figures = (|| {
        let started = Instant::now();
        let chunks: Vec<Chunk<'_>> = slots
            .iter()
            .map(|&slot| Chunk {
                slot,
                tokens: prompt,
                logits: Logits::Last,
            })
            .collect();
        let logits = runtime.forward(&chunks)?;
        let prefill_seconds = started.elapsed().as_secs_f64();
        let mut last: Vec<u32> = logits.chunks_exact(vocab).map(argmax).collect();
        let mut tokens = vec![last[0]];
        runtime.time_phases(phases);
        let started = Instant::now();
        for _ in 1..new_tokens {
            let step: Vec<[u32; 1]> = last.iter().map(|&t| [t]).collect();
            let chunks: Vec<Chunk<'_>> = slots
                .iter()
                .zip(&step)
                .map(|(&slot, token)| Chunk {
                    slot,
                    tokens: token,
                    logits: Logits::Last,
                })
                .collect();
            last = runtime
                .forward(&chunks)?
                .chunks_exact(vocab)
                .map(argmax)
                .collect();
            tokens.push(last[0]);
        }
        let decode_seconds = started.elapsed().as_secs_f64();
        let phases = runtime.phase_times();
        Ok(DecodeFigures {
            batch,
            prompt_tokens: prompt.len(),
            new_tokens,
            prefill_seconds,
            decode_seconds,
            tokens_per_second: (batch * (new_tokens - 1)) as f64 / decode_seconds,
            tokens,
            phases,
        })
    })();
    runtime.time_phases(false);
    for slot in slots {
        runtime.release(slot);
    }
    figures
}
