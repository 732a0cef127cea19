//! Ablations: which sources each forward pass keeps, and the fixed answer's log-probability
//! under each of them, scored through a [`Runtime`]. Two ablations, two method versions:
//!
//! - [`Ablation::Exact`] (`contextcite-v1`): the prompt without the dropped sources' tokens, as
//!   if they had never been retrieved. The scorer shares computation between masks: masks are
//!   visited in lexicographic order of their keep bits, as a trie whose level `j` decides
//!   source `j`. A trie node is one runtime slot holding the prefix (the prompt header) and the
//!   kept sources before `j`; where masks split at `j`, the slot is forked, so masks that agree
//!   on the first sources share their KV cache. Each level is one [`Runtime::forward`] over all
//!   nodes that append source `j`; then every distinct mask appends the suffix and scores the
//!   answer with [`Logits::All`] (teacher forcing). Up to one prompt pass per mask.
//! - [`Ablation::Knockout`] (`contextcite-v2`): attention knockout. The whole prompt's KV cache
//!   is computed once with every source visible (the generation's own cache, when the caller
//!   kept it); each mask then scores the answer with the dropped sources' positions hidden from
//!   the answer's attention ([`Runtime::forward_hidden`]), all masks in one pass. A mask costs
//!   its answer's tokens only. What it does not remove: the sources' influence on the positions
//!   after them (later sources, the question), computed while every source was visible.

use super::prompt::PromptLayout;
use crate::serve::runtime::{AdapterKey, Chunk, Logits, Runtime, SlotId};
use anyhow::{bail, Result};
use attribution_primitives::traits::PoolId;
use attribution_primitives::ModelId;
use blake2::digest::consts::U32;
use blake2::{Blake2b, Digest};
use rayon::prelude::*;
use std::ops::Range;

/// Domain of the ablation seed; part of the recomputation rule (`docs/attribution.md`).
pub const SEED_DOMAIN: &[u8] = b"attribution-chain/contextcite/v1";
/// Domain of the knockout ablation's seed (`contextcite-v2`).
pub const KNOCKOUT_SEED_DOMAIN: &[u8] = b"attribution-chain/contextcite/v2";
/// Domain of the held-out masks the quality metrics use; never those the fit used.
pub const HELD_OUT_DOMAIN: &[u8] = b"attribution-chain/contextcite/held-out/v1";
/// Most sources a seed's masks can decide (bits of one BLAKE2b-256 output).
pub const MAX_SOURCES: usize = 256;
/// Most logits one scoring pass may return (`leaves x answer tokens x vocab` floats, 128 MiB).
const LOGITS_BUDGET: usize = 32 << 20;

/// A mask: `keep[i]` when source `i` stays in the prompt.
pub type Mask = Vec<bool>;

/// How a mask removes sources: the two versions of the method (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Ablation {
    /// `contextcite-v1`: the prompt re-run without the dropped sources' tokens.
    Exact,
    /// `contextcite-v2`: the dropped sources' positions hidden from the answer's attention.
    Knockout,
}

impl Ablation {
    /// The method's name and version in records and responses.
    pub fn method(self) -> &'static str {
        match self {
            Self::Exact => "contextcite-v1",
            Self::Knockout => "contextcite-v2",
        }
    }

    /// The domain of its masks' seed.
    pub fn seed_domain(self) -> &'static [u8] {
        match self {
            Self::Exact => SEED_DOMAIN,
            Self::Knockout => KNOCKOUT_SEED_DOMAIN,
        }
    }
}

fn blake2b_256(parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Blake2b::<U32>::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

/// The seed of an answer's ablations: BLAKE2b-256 over
/// `domain ‖ model (u32 LE) ‖ datanet (u32 LE) ‖ version (u32 LE) ‖ len(question) (u64 LE) ‖
/// question (UTF-8) ‖ len(answer) (u64 LE) ‖ answer token ids (u32 LE each)`.
pub fn ablation_seed(
    domain: &[u8],
    model: ModelId,
    pool: PoolId,
    question: &str,
    answer: &[u32],
) -> [u8; 32] {
    let answer_bytes: Vec<u8> = answer.iter().flat_map(|t| t.to_le_bytes()).collect();
    blake2b_256(&[
        domain,
        &model.to_le_bytes(),
        &pool.datanet.to_le_bytes(),
        &pool.version.to_le_bytes(),
        &(question.len() as u64).to_le_bytes(),
        question.as_bytes(),
        &(answer.len() as u64).to_le_bytes(),
        &answer_bytes,
    ])
}

/// `count` masks over `sources` sources: mask `i` keeps source `j` when bit `j % 8` of byte
/// `j / 8` of BLAKE2b-256(`seed ‖ i (u32 LE)`) is set, so each source is kept with probability
/// 1/2, independently.
pub fn random_masks(seed: &[u8; 32], count: usize, sources: usize) -> Result<Vec<Mask>> {
    if sources > MAX_SOURCES {
        bail!("{sources} sources: at most {MAX_SOURCES} can be ablated");
    }
    Ok((0..count as u32)
        .map(|index| {
            let bits = blake2b_256(&[seed, &index.to_le_bytes()]);
            (0..sources)
                .map(|j| bits[j / 8] >> (j % 8) & 1 == 1)
                .collect()
        })
        .collect())
}

/// The masks that drop one source each (leave-one-out), in source order.
pub fn leave_one_out_masks(sources: usize) -> Vec<Mask> {
    (0..sources)
        .map(|dropped| (0..sources).map(|j| j != dropped).collect())
        .collect()
}

/// The log-probability of each answer token (`[answer.len()]` per mask) under the prompt with
/// each mask's sources, in the order of `masks`, run with `adapter` (the base model when `None`).
pub fn answer_logprobs<R: Runtime + ?Sized>(
    runtime: &mut R,
    adapter: Option<AdapterKey>,
    layout: &PromptLayout,
    answer: &[u32],
    masks: &[Mask],
    max_live_slots: usize,
) -> Result<Vec<Vec<f32>>> {
    check_exact_inputs(layout, answer, masks)?;
    let mut order: Vec<usize> = (0..masks.len()).collect();
    order.sort_by(|&a, &b| masks[a].cmp(&masks[b]).then(a.cmp(&b)));
    let sorted: Vec<&Mask> = order.iter().map(|&i| &masks[i]).collect();

    let vocab = runtime.config().vocab_size;
    let group = (LOGITS_BUDGET / (answer.len() * vocab).max(1)).clamp(1, max_live_slots.max(1));
    let root = runtime.allocate(adapter)?;
    let scored: Result<Vec<Vec<f32>>> = (|| {
        runtime.forward(&[Chunk {
            slot: root,
            tokens: &layout.prefix,
            logits: Logits::None,
        }])?;
        let mut scored = Vec::with_capacity(masks.len());
        for start in (0..sorted.len()).step_by(group) {
            let end = (start + group).min(sorted.len());
            scored.extend(score_group(
                runtime,
                layout,
                answer,
                &sorted[start..end],
                root,
            )?);
        }
        Ok(scored)
    })();
    runtime.release(root);
    let scored = scored?;
    let mut result = vec![Vec::new(); masks.len()];
    for (logprobs, index) in scored.into_iter().zip(order) {
        result[index] = logprobs;
    }
    Ok(result)
}

/// The log-probability of each answer token under attention knockout (`[answer.len()]` per
/// mask, in the order of `masks`): the prompt's cache holds every source, and each mask's
/// answer does not see its dropped sources' positions. `prompt` is a slot of `adapter` that
/// already holds the prompt but its last token (the generation's own cache); without one the
/// prompt is run once here. Identical masks are scored once.
pub fn answer_logprobs_knockout<R: Runtime + ?Sized>(
    runtime: &mut R,
    adapter: Option<AdapterKey>,
    layout: &PromptLayout,
    answer: &[u32],
    masks: &[Mask],
    prompt: Option<SlotId>,
) -> Result<Vec<Vec<f32>>> {
    if answer.is_empty() {
        bail!("no answer to score");
    }
    if let Some(mask) = masks.iter().find(|m| m.len() != layout.sources.len()) {
        bail!(
            "a mask over {} sources for a prompt of {}",
            mask.len(),
            layout.sources.len()
        );
    }
    let full = layout.full();
    let Some((&last, head)) = full.split_last() else {
        bail!("the prompt is empty");
    };
    let distinct = distinct_masks(masks);
    let positions = layout.source_spans();
    let hidden: Vec<Vec<Range<usize>>> = distinct
        .iter()
        .map(|mask| {
            mask.iter()
                .zip(&positions)
                .filter(|(&keep, range)| !keep && !range.is_empty())
                .map(|(_, range)| range.clone())
                .collect()
        })
        .collect();
    let mut scored_tokens = vec![last];
    scored_tokens.extend(&answer[..answer.len() - 1]);
    let vocab = runtime.config().vocab_size;
    let group = (LOGITS_BUDGET / (answer.len() * vocab).max(1)).max(1);
    let scored = with_prompt_slot(runtime, adapter, head, prompt, |runtime, slot| {
        let mut scored = Vec::with_capacity(hidden.len());
        for hidden in hidden.chunks(group) {
            let logits = runtime.forward_hidden(slot, &scored_tokens, hidden)?;
            if logits.len() != hidden.len() * answer.len() * vocab {
                bail!(
                    "the runtime returned {} logits for {} rows of {vocab}",
                    logits.len(),
                    hidden.len() * answer.len()
                );
            }
            scored.extend(
                logits
                    .chunks(answer.len() * vocab)
                    .map(|leaf| answer_token_logprobs(leaf, answer, vocab)),
            );
        }
        Ok(scored)
    })?;
    Ok(per_mask(masks, &distinct, &scored))
}

/// The exact ablation's log-probabilities (as [`answer_logprobs`], the same bits) scored from
/// `prompt`, a slot holding the whole prompt but its last token (the generation's own cache):
/// each mask forks it where its first dropped source begins (a mask keeping every source, at
/// its end) and runs only the kept sources after that, the suffix and the answer. So a mask
/// costs the tokens after its first dropped source: a mask that keeps a long run of the first
/// sources is cheap. At most `max_live_slots` forks are alive at once; identical masks are
/// scored once.
pub fn answer_logprobs_from_prompt<R: Runtime + ?Sized>(
    runtime: &mut R,
    layout: &PromptLayout,
    answer: &[u32],
    masks: &[Mask],
    prompt: SlotId,
    max_live_slots: usize,
) -> Result<Vec<Vec<f32>>> {
    check_exact_inputs(layout, answer, masks)?;
    let full = layout.full().len();
    let held = runtime.positions(prompt);
    if held != full - 1 {
        bail!(
            "the prompt's slot holds {held} positions, not the prompt's {} but its last",
            full - 1
        );
    }
    let distinct = distinct_masks(masks);
    let starts = layout.source_spans();
    // Per mask: where it forks the prompt, and what it runs after (its prompt but the last token).
    let plans: Vec<(usize, Vec<u32>)> = distinct
        .iter()
        .map(|mask| {
            let tokens = layout.tokens(mask);
            let at = mask
                .iter()
                .position(|&keep| !keep)
                .map_or(full - 1, |first| starts[first].start);
            (at, tokens[at..tokens.len() - 1].to_vec())
        })
        .collect();
    let mut scored_tokens = vec![*layout.suffix.last().expect("checked above")];
    scored_tokens.extend(&answer[..answer.len() - 1]);
    let vocab = runtime.config().vocab_size;
    let group = (LOGITS_BUDGET / (answer.len() * vocab).max(1)).clamp(1, max_live_slots.max(1));
    let mut scored = Vec::with_capacity(plans.len());
    for plans in plans.chunks(group) {
        let mut forks = Vec::with_capacity(plans.len());
        let result = (|| {
            for (at, _) in plans {
                forks.push(runtime.fork(prompt, *at)?);
            }
            let context: Vec<Chunk<'_>> = forks
                .iter()
                .zip(plans)
                .filter(|(_, (_, rest))| !rest.is_empty())
                .map(|(&slot, (_, rest))| Chunk {
                    slot,
                    tokens: rest,
                    logits: Logits::None,
                })
                .collect();
            if !context.is_empty() {
                runtime.forward(&context)?;
            }
            let chunks: Vec<Chunk<'_>> = forks
                .iter()
                .map(|&slot| Chunk {
                    slot,
                    tokens: &scored_tokens,
                    logits: Logits::All,
                })
                .collect();
            let logits = runtime.forward(&chunks)?;
            if logits.len() != forks.len() * answer.len() * vocab {
                bail!(
                    "the runtime returned {} logits for {} rows of {vocab}",
                    logits.len(),
                    forks.len() * answer.len()
                );
            }
            Ok(logits
                .chunks(answer.len() * vocab)
                .map(|leaf| answer_token_logprobs(leaf, answer, vocab))
                .collect::<Vec<_>>())
        })();
        for slot in forks {
            runtime.release(slot);
        }
        scored.extend(result?);
    }
    Ok(per_mask(masks, &distinct, &scored))
}

/// What the exact ablation needs: an answer, a suffix between the sources and the answer, and
/// masks over the prompt's sources.
fn check_exact_inputs(layout: &PromptLayout, answer: &[u32], masks: &[Mask]) -> Result<()> {
    if answer.is_empty() {
        bail!("no answer to score");
    }
    if layout.suffix.is_empty() {
        bail!("the prompt has no suffix: nothing separates the sources from the answer");
    }
    if let Some(mask) = masks.iter().find(|m| m.len() != layout.sources.len()) {
        bail!(
            "a mask over {} sources for a prompt of {}",
            mask.len(),
            layout.sources.len()
        );
    }
    Ok(())
}

/// The distinct masks of `masks`, sorted.
fn distinct_masks(masks: &[Mask]) -> Vec<&Mask> {
    let mut distinct: Vec<&Mask> = masks.iter().collect();
    distinct.sort();
    distinct.dedup();
    distinct
}

/// Each mask's entry of `scored` (one per entry of `distinct`, [`distinct_masks`]).
fn per_mask(masks: &[Mask], distinct: &[&Mask], scored: &[Vec<f32>]) -> Vec<Vec<f32>> {
    masks
        .iter()
        .map(|mask| {
            let at = distinct.binary_search(&mask).expect("every mask is listed");
            scored[at].clone()
        })
        .collect()
}

/// Runs `f` on a slot of `adapter` holding `head` (the prompt but its last token): `prompt`
/// when the caller kept one (checked to hold `head.len()` positions, and left to the caller),
/// else a slot filled here and released after.
pub fn with_prompt_slot<R: Runtime + ?Sized, T>(
    runtime: &mut R,
    adapter: Option<AdapterKey>,
    head: &[u32],
    prompt: Option<SlotId>,
    f: impl FnOnce(&mut R, SlotId) -> Result<T>,
) -> Result<T> {
    if let Some(slot) = prompt {
        let held = runtime.positions(slot);
        if held != head.len() {
            bail!(
                "the prompt's slot holds {held} positions, not the prompt's {} but its last",
                head.len()
            );
        }
        return f(runtime, slot);
    }
    let slot = runtime.allocate(adapter)?;
    let result = (|| {
        if !head.is_empty() {
            runtime.forward(&[Chunk {
                slot,
                tokens: head,
                logits: Logits::None,
            }])?;
        }
        f(runtime, slot)
    })();
    runtime.release(slot);
    result
}

/// Each answer token's log-probability from its row of `logits` (`[answer.len(), vocab]`).
/// Rows in parallel: each is its own sum over the vocabulary, so the bits do not depend on
/// the threads, and a row's exponentials cost as much as its share of the head's matmul.
fn answer_token_logprobs(logits: &[f32], answer: &[u32], vocab: usize) -> Vec<f32> {
    logits
        .par_chunks(vocab)
        .zip(answer)
        .map(|(row, &token)| log_softmax_at(row, token as usize))
        .collect()
}

/// Scores sorted `masks` (at most one leaf slot each) forked from `root`, which holds the
/// prefix.
fn score_group<R: Runtime + ?Sized>(
    runtime: &mut R,
    layout: &PromptLayout,
    answer: &[u32],
    masks: &[&Mask],
    root: SlotId,
) -> Result<Vec<Vec<f32>>> {
    let mut owned = Vec::new();
    let result = score_trie(runtime, layout, answer, masks, root, &mut owned);
    for slot in owned {
        runtime.release(slot);
    }
    result
}

fn score_trie<R: Runtime + ?Sized>(
    runtime: &mut R,
    layout: &PromptLayout,
    answer: &[u32],
    masks: &[&Mask],
    root: SlotId,
    owned: &mut Vec<SlotId>,
) -> Result<Vec<Vec<f32>>> {
    let first = runtime.fork(root, layout.prefix.len())?;
    owned.push(first);
    // Trie nodes of the current level: a slot and the masks (a range of `masks`) it serves.
    let mut nodes: Vec<(SlotId, Range<usize>)> = vec![(first, 0..masks.len())];
    for (j, segment) in layout.sources.iter().enumerate() {
        let mut next = Vec::with_capacity(nodes.len() * 2);
        let mut appending = Vec::new();
        for (slot, range) in nodes {
            // Masks in a node agree on sources before `j` and are sorted: dropped ones first.
            let split = range.start + masks[range.clone()].iter().take_while(|m| !m[j]).count();
            let (dropped, kept) = (range.start..split, split..range.end);
            let kept_slot = match (dropped.is_empty(), kept.is_empty()) {
                (_, true) => None,
                (true, false) => Some(slot),
                (false, false) => {
                    let fork = runtime.fork(slot, runtime.positions(slot))?;
                    owned.push(fork);
                    Some(fork)
                }
            };
            if !dropped.is_empty() {
                next.push((slot, dropped));
            }
            if let Some(kept_slot) = kept_slot {
                appending.push(kept_slot);
                next.push((kept_slot, kept));
            }
        }
        if !segment.is_empty() && !appending.is_empty() {
            let chunks: Vec<Chunk<'_>> = appending
                .iter()
                .map(|&slot| Chunk {
                    slot,
                    tokens: segment,
                    logits: Logits::None,
                })
                .collect();
            runtime.forward(&chunks)?;
        }
        nodes = next;
    }

    // The suffix but its last token, then (its last token, answer but its last token) with
    // every position's logits: row t predicts answer[t].
    let Some((last, head)) = layout.suffix.split_last() else {
        bail!("the prompt has no suffix");
    };
    if !head.is_empty() {
        let chunks: Vec<Chunk<'_>> = nodes
            .iter()
            .map(|(slot, _)| Chunk {
                slot: *slot,
                tokens: head,
                logits: Logits::None,
            })
            .collect();
        runtime.forward(&chunks)?;
    }
    let mut scored_tokens = vec![*last];
    scored_tokens.extend(&answer[..answer.len() - 1]);
    let chunks: Vec<Chunk<'_>> = nodes
        .iter()
        .map(|(slot, _)| Chunk {
            slot: *slot,
            tokens: &scored_tokens,
            logits: Logits::All,
        })
        .collect();
    let logits = runtime.forward(&chunks)?;
    let vocab = runtime.config().vocab_size;
    if logits.len() != nodes.len() * answer.len() * vocab {
        bail!(
            "the runtime returned {} logits for {} rows of {vocab}",
            logits.len(),
            nodes.len() * answer.len()
        );
    }
    let mut result = Vec::with_capacity(masks.len());
    for ((_, range), leaf) in nodes.iter().zip(logits.chunks(answer.len() * vocab)) {
        let logprobs = answer_token_logprobs(leaf, answer, vocab);
        result.extend(std::iter::repeat_n(logprobs, range.len()));
    }
    Ok(result)
}

/// `log softmax(row)[index]`, accumulated in `f64`.
fn log_softmax_at(row: &[f32], index: usize) -> f32 {
    let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let sum: f64 = row.iter().map(|&x| f64::from(x - max).exp()).sum();
    let value = row.get(index).copied().unwrap_or(f32::NEG_INFINITY);
    (f64::from(value - max) - sum.ln()) as f32
}

/// The answer's score under one ablation: the logit of its probability, `log p − log(1 − p)`
/// with `log p` the sum of its tokens' log-probabilities (clamped to at most `−1e-6` so the
/// logit is finite).
pub fn logit_probability(logprobs: &[f32]) -> f64 {
    let log_p = logprobs
        .iter()
        .map(|&x| f64::from(x))
        .sum::<f64>()
        .min(-1e-6);
    log_p - (-log_p.exp_m1()).ln()
}
