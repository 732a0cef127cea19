//! ContextCite: which retrieved contributions caused a fixed answer, measured by ablation.
//!
//! 1. Sources are the retrieved contributions ([`super::prompt::Source`]), in prompt order.
//! 2. `n` masks keep each source with probability 1/2, from the seed
//!    [`ablation_seed`]`(domain, model, pool, question, answer)`, the domain and `n` those of
//!    the [`Ablation`] (the method's version, [`ContextCiteConfig::masks_for`]).
//! 3. Each mask scores the fixed answer by teacher forcing, its sources removed from the prompt
//!    (`contextcite-v1`) or hidden from the answer's attention (`contextcite-v2`): the target
//!    is the logit of
//!    the answer's probability ([`logit_probability`]), as ContextCite defines it. Unlike the
//!    mean token log-probability it is additive over the answer's tokens (a sentence's
//!    contribution is part of the whole) and, unlike the probability itself, it is not squashed
//!    to 0 for long answers: it stays in the range where a linear model of the mask fits.
//! 4. A LASSO ([`fit_lasso`]) of the scores on the masks; its weights are the attributions.
//! 5. [`attribution_entries`] maps positive weights to at most 16 on-chain ppm entries.
//!
//! The same masks also give each answer sentence's score; a LASSO per sentence says which
//! sentences each source supports.

use super::ablation::{
    ablation_seed, answer_logprobs, answer_logprobs_knockout, logit_probability, random_masks,
    Ablation, Mask,
};
use super::lasso::{fit_lasso, LinearSurrogate};
use super::ppm::attribution_entries;
use super::prompt::PromptLayout;
use crate::serve::runtime::{AdapterKey, Runtime, SlotId};
use anyhow::{anyhow, bail, Result};
use attribution_primitives::attribution::AttributionEntry;
use attribution_primitives::traits::PoolId;
use attribution_primitives::{ContributionId, ModelId};
use std::ops::Range;
use tokenizers::Tokenizer;

/// ContextCite's settings; part of what a recomputation must match.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ContextCiteConfig {
    /// How masks remove sources (the method's version).
    pub ablation: Ablation,
    /// Random ablations to fit on (ContextCite uses 32 to 64); with [`Ablation::Knockout`], at
    /// most this many ([`ContextCiteConfig::masks_for`]).
    pub ablations: usize,
    /// LASSO penalty (ContextCite's default 0.01 on logit-probability targets).
    pub alpha: f64,
    /// Most runtime slots alive at once while scoring (the runtime's own limit permitting).
    pub max_live_slots: usize,
}

/// Knockout masks per retrieved source (see [`ContextCiteConfig::masks_for`]).
pub const KNOCKOUT_MASKS_PER_SOURCE: usize = 4;
/// Fewest knockout masks, however few the sources.
pub const KNOCKOUT_MIN_MASKS: usize = 16;

impl ContextCiteConfig {
    /// Masks for an answer with `sources` sources: `ablations` for the exact ablation; for
    /// knockout, `min(ablations, max(16, 4 · sources))`: a linear model of `sources` weights
    /// needs masks on the order of the sources, not a fixed count.
    pub fn masks_for(&self, sources: usize) -> usize {
        match self.ablation {
            Ablation::Exact => self.ablations,
            Ablation::Knockout => self
                .ablations
                .min(KNOCKOUT_MIN_MASKS.max(KNOCKOUT_MASKS_PER_SOURCE * sources)),
        }
    }
}

/// What the worker serves: `contextcite-v1`, the exact ablation. Knockout (`contextcite-v2`)
/// costs about a seventh as much but, measured on SmolLM2 (`docs/attribution.md`, "Cost"), its
/// weights predict the exact removal of sources less well (LDS 0.76 against 0.88 over 12
/// answers, a gap of 2.5 standard errors of the paired differences), so it is not the default.
impl Default for ContextCiteConfig {
    fn default() -> Self {
        Self {
            ablation: Ablation::Exact,
            ablations: 32,
            alpha: 0.01,
            max_live_slots: 32,
        }
    }
}

/// What an attribution is computed for.
#[derive(Clone, Copy, Debug)]
pub struct AttributionRequest<'a> {
    /// The model that answered (on-chain id).
    pub model: ModelId,
    /// The runtime's key of that model's adapter (`None` for a base model).
    pub adapter: Option<AdapterKey>,
    /// The datanet version retrieved from.
    pub pool: PoolId,
    /// The user's question, as retrieval received it.
    pub question: &'a str,
    pub layout: &'a PromptLayout,
    /// `contributions[i]` is source `i`'s contribution.
    pub contributions: &'a [ContributionId],
    /// The generated answer's token ids (without the end-of-turn token).
    pub answer: &'a [u32],
    /// A slot of `adapter` holding the prompt but its last token, with every source (the
    /// generation's own cache): knockout scores from it instead of running the prompt again.
    /// The exact ablation does not use it.
    pub prompt_slot: Option<SlotId>,
}

impl AttributionRequest<'_> {
    /// The number of sources, checked to be the number of contributions.
    pub fn sources(&self) -> Result<usize> {
        let sources = self.layout.sources.len();
        if self.contributions.len() != sources {
            bail!(
                "{} contributions for {sources} sources",
                self.contributions.len()
            );
        }
        Ok(sources)
    }
}

/// An answer sentence a source supports.
#[derive(Clone, Debug, PartialEq)]
pub struct SpanSupport {
    /// Answer token positions.
    pub tokens: Range<usize>,
    pub text: String,
    /// The source's weight in the sentence's own surrogate (positive).
    pub weight: f64,
}

/// One source's attribution.
#[derive(Clone, Debug, PartialEq)]
pub struct SourceAttribution {
    pub contribution: ContributionId,
    /// The LASSO weight: the answer score's expected change when the source is present.
    pub weight: f64,
    /// The sentences it supports, strongest first.
    pub supports: Vec<SpanSupport>,
}

/// An answer's attribution, with everything needed to check it.
#[derive(Clone, Debug, PartialEq)]
pub struct AnswerAttribution {
    pub seed: [u8; 32],
    pub masks: Vec<Mask>,
    /// The answer's score under each mask.
    pub scores: Vec<f64>,
    pub surrogate: LinearSurrogate,
    /// Per source, in prompt order.
    pub sources: Vec<SourceAttribution>,
    /// What goes on chain.
    pub entries: Vec<AttributionEntry>,
}

/// The answer's sentences as token ranges: a sentence ends after a token whose text (the
/// difference its decoding adds) ends in `.`, `!` or `?` (ignoring trailing whitespace) or
/// holds a line break; the last sentence ends with the answer.
pub fn answer_sentences(tokenizer: &Tokenizer, answer: &[u32]) -> Result<Vec<Range<usize>>> {
    let decode = |tokens: &[u32]| {
        tokenizer
            .decode(tokens, false)
            .map_err(|e| anyhow!("decoding the answer: {e}"))
    };
    let mut sentences = Vec::new();
    let (mut start, mut decoded_len) = (0, 0);
    for end in 1..=answer.len() {
        let text = decode(&answer[..end])?;
        let piece = text.get(decoded_len.min(text.len())..).unwrap_or_default();
        decoded_len = text.len();
        let trimmed = piece.trim_end_matches([' ', '\t']);
        if trimmed.ends_with(['.', '!', '?']) || piece.contains('\n') || end == answer.len() {
            sentences.push(start..end);
            start = end;
        }
    }
    Ok(sentences)
}

/// Each source's attribution: `weights[j]` for `contributions[j]`, and the answer sentences to
/// which `sentence_weights` (the sources' weights over one sentence's tokens) gives it a
/// positive weight, strongest first (ties: earlier sentence first).
pub fn source_attributions(
    tokenizer: &Tokenizer,
    answer: &[u32],
    contributions: &[ContributionId],
    weights: &[f64],
    mut sentence_weights: impl FnMut(Range<usize>) -> Result<Vec<f64>>,
) -> Result<Vec<SourceAttribution>> {
    let mut supports: Vec<Vec<SpanSupport>> = vec![Vec::new(); contributions.len()];
    for sentence in answer_sentences(tokenizer, answer)? {
        let text = tokenizer
            .decode(&answer[sentence.clone()], false)
            .map_err(|e| anyhow!("decoding the answer: {e}"))?;
        for (list, weight) in supports.iter_mut().zip(sentence_weights(sentence.clone())?) {
            if weight > 0.0 {
                list.push(SpanSupport {
                    tokens: sentence.clone(),
                    text: text.clone(),
                    weight,
                });
            }
        }
    }
    for list in &mut supports {
        list.sort_by(|a, b| {
            b.weight
                .total_cmp(&a.weight)
                .then(a.tokens.start.cmp(&b.tokens.start))
        });
    }
    Ok(contributions
        .iter()
        .zip(weights)
        .zip(supports)
        .map(|((&contribution, &weight), supports)| SourceAttribution {
            contribution,
            weight,
            supports,
        })
        .collect())
}

/// ContextCite over `runtime` for `request`.
pub fn attribute<R: Runtime + ?Sized>(
    runtime: &mut R,
    tokenizer: &Tokenizer,
    request: &AttributionRequest<'_>,
    config: &ContextCiteConfig,
) -> Result<AnswerAttribution> {
    let sources = request.sources()?;
    let seed = ablation_seed(
        config.ablation.seed_domain(),
        request.model,
        request.pool,
        request.question,
        request.answer,
    );
    let masks = random_masks(&seed, config.masks_for(sources), sources)?;
    let logprobs = match config.ablation {
        Ablation::Exact => answer_logprobs(
            runtime,
            request.adapter,
            request.layout,
            request.answer,
            &masks,
            config.max_live_slots,
        )?,
        Ablation::Knockout => answer_logprobs_knockout(
            runtime,
            request.adapter,
            request.layout,
            request.answer,
            &masks,
            request.prompt_slot,
        )?,
    };
    let scores: Vec<f64> = logprobs.iter().map(|l| logit_probability(l)).collect();
    let surrogate = fit_lasso(&masks, &scores, config.alpha)?;
    let entries = attribution_entries(request.contributions, &surrogate.weights)?;

    let sources = source_attributions(
        tokenizer,
        request.answer,
        request.contributions,
        &surrogate.weights,
        |sentence| {
            let sentence_scores: Vec<f64> = logprobs
                .iter()
                .map(|l| logit_probability(&l[sentence.clone()]))
                .collect();
            Ok(fit_lasso(&masks, &sentence_scores, config.alpha)?.weights)
        },
    )?;
    tracing::debug!(
        method = config.ablation.method(),
        ablations = masks.len(),
        entries = entries.len(),
        "attributed an answer"
    );
    Ok(AnswerAttribution {
        seed,
        masks,
        scores,
        surrogate,
        sources,
        entries,
    })
}
