//! Answers grounded in a datanet version: the question retrieves rows (BM25 over the version the
//! model was trained on), the model answers with them as numbered sources in its context, and
//! after the answer the engine measures which sources changed it (ContextCite, by ablation)
//! and the span index finds the training rows it repeats verbatim (span provenance); a request
//! with `"retrieval": false` is answered without sources, so only the training rows are paid
//! (spans, influence). For an
//! adapter with an influence index, the answer's gradient under the adapter finds the training
//! rows that raised its likelihood (influence). They become one attribution
//! ([`crate::provenance::combined`]): the record's on-chain entries; what they leave goes to the
//! version's pool (see `docs/attribution.md`).

use super::generate::{chat_messages, rendered};
use super::ApiError;
use crate::chat_template::{ChatMessage, ChatTemplate};
use crate::data::SpecialTokens;
use crate::provenance::attribution::SpanAttribution;
use crate::provenance::combined::{self, combine_with_influence};
use crate::provenance::index::SpanIndex;
use crate::provenance::influence::adapter::AdapterInfluence;
use crate::provenance::influence::InfluenceAttribution;
use crate::rag::attribution::{AnswerAttribution, AttributionRequest};
use crate::rag::index::RowIndex;
use crate::rag::method::Method;
use crate::rag::prompt::{group_hits, PromptLayout};
use crate::serve::engine::{AdapterId, Engine, KeptPrompt};
use crate::serve::runtime::Numerics;
use attribution_primitives::attribution::{Attribution, AttributionEntry, AttributionProvenance};
use attribution_primitives::traits::PoolId;
use attribution_primitives::{ContributionId, Hash, ModelId, PARTS_PER_MILLION};
use serde_json::{json, Value};
use std::sync::{Arc, OnceLock};
use std::time::Instant;
use tokenizers::Tokenizer;

/// Retrieval and attribution for one served model.
pub struct Grounding {
    pub index: RowIndex,
    /// The same rows' span index, under the model's tokenizer.
    pub spans: SpanIndex,
    /// The version the rows come from.
    pub pool: PoolId,
    /// The model's id on chain (it seeds the ablations).
    pub chain_model: ModelId,
    /// Rows retrieved per question.
    pub top_k: usize,
    /// How the retrieved sources are attributed (the worker's `--attribution-method`).
    pub method: Method,
    /// What the runtime computes on (`--weights`, `--kv-cache`), which the method's name
    /// carries.
    pub numerics: Numerics,
    /// The served adapter's influence index over the same rows, once built (answers before
    /// that are attributed without it, under a method name without influence).
    pub influence: OnceLock<AdapterInfluence>,
}

impl Grounding {
    /// The combined method's name that answers attributed with `context` get now: with
    /// influence once the adapter's influence index is built.
    pub fn method_name(&self, context: &Method) -> String {
        combined::method(
            &context.name(),
            &self.numerics.name(),
            self.influence.get().is_some(),
        )
    }
}

/// A prompt built from retrieved sources, kept to attribute its answer.
pub struct Grounded {
    pub grounding: Arc<Grounding>,
    pub layout: PromptLayout,
    pub question: String,
    pub contributions: Vec<ContributionId>,
    pub rows: Vec<Vec<u32>>,
}

impl Grounded {
    /// The grounded prompt of a chat's `messages`. With `retrieval`, the last user message
    /// retrieves sources and is asked over them ([`Self::build`]); without, the conversation
    /// is asked as the chat template renders it, as a model without a datanet is asked, and
    /// its answer is attributed to the training rows only (spans, influence): no source, no
    /// ablation. `None` when no message is the user's (nothing to ground).
    pub fn for_chat(
        grounding: Arc<Grounding>,
        tokenizer: &Tokenizer,
        template: &ChatTemplate,
        special: SpecialTokens,
        messages: &[ChatMessage],
        retrieval: bool,
    ) -> Result<Option<Self>, ApiError> {
        let Some(question) = messages.iter().rev().find(|m| m.role == "user") else {
            return Ok(None);
        };
        if retrieval {
            return Self::build(
                grounding,
                tokenizer,
                Some(template),
                special,
                &question.content,
            )
            .map(Some);
        }
        let layout = PromptLayout {
            prefix: rendered(tokenizer, template, messages)?,
            sources: Vec::new(),
            suffix: Vec::new(),
        };
        Ok(Some(Self {
            grounding,
            layout,
            question: question.content.clone(),
            contributions: Vec::new(),
            rows: Vec::new(),
        }))
    }

    /// Retrieves sources for `question` and lays out the prompt.
    pub fn build(
        grounding: Arc<Grounding>,
        tokenizer: &Tokenizer,
        template: Option<&ChatTemplate>,
        special: SpecialTokens,
        question: &str,
    ) -> Result<Self, ApiError> {
        let hits = grounding
            .index
            .search(question, grounding.top_k)
            .map_err(|e| ApiError::internal(format!("retrieval: {e:#}")))?;
        let sources = group_hits(&hits);
        let layout = PromptLayout::build(tokenizer, template, special, &sources, question)
            .map_err(|e| ApiError::invalid("messages", format!("{e:#}")))?;
        Ok(Self {
            contributions: sources.iter().map(|s| s.contribution).collect(),
            rows: sources
                .iter()
                .map(|s| s.rows.iter().map(|(row, _)| *row).collect())
                .collect(),
            grounding,
            layout,
            question: question.to_string(),
        })
    }

    /// Measures which sources shaped `answer` (`method`, run on the engine between two steps,
    /// from the generation's kept `prompt` cache when there is one), which training rows it
    /// repeats (span provenance) and, for an adapter with an influence index, which training
    /// rows raised its likelihood (one backward pass, off the async threads), and combines
    /// them. Returns the on-chain entries, the provenance the record commits to (the retrieved
    /// contributions in prompt order, the method, the ablation seed: with the prompt and the
    /// answer, what a juror recomputes the entries from) and the response's `attribution`
    /// field.
    pub async fn attribute(
        self,
        engine: &Engine,
        method: &Method,
        adapter: Option<AdapterId>,
        answer: Vec<u32>,
        prompt: Option<&KeptPrompt>,
    ) -> Result<(Attribution, AttributionProvenance, Value), ApiError> {
        let tokenizer = engine.tokenizer().clone();
        let started = Instant::now();
        let spans = self
            .grounding
            .spans
            .attribute(&tokenizer, &answer)
            .map_err(|e| ApiError::internal(format!("span provenance: {e:#}")))?;
        let spans_seconds = started.elapsed().as_secs_f64();
        let measured = if answer.is_empty() || self.contributions.is_empty() {
            None
        } else {
            let grounding = self.grounding.clone();
            let (layout, question, contributions, answer, method) = (
                self.layout.clone(),
                self.question.clone(),
                self.contributions.clone(),
                answer.clone(),
                method.clone(),
            );
            let started = Instant::now();
            let measured = engine
                .exclusive(adapter, prompt, move |runtime, key, prompt_slot| {
                    let request = AttributionRequest {
                        model: grounding.chain_model,
                        adapter: key,
                        pool: grounding.pool,
                        question: &question,
                        layout: &layout,
                        contributions: &contributions,
                        answer: &answer,
                        prompt_slot,
                    };
                    method.attribute(runtime, &tokenizer, &request)
                })
                .await
                .map_err(|e| ApiError::internal(format!("attribution: {e:#}")))?;
            tracing::debug!(
                seconds = started.elapsed().as_secs_f64(),
                "context attribution"
            );
            Some(measured)
        };
        let influence = match self.grounding.influence.get() {
            Some(_) if !answer.is_empty() => {
                let grounding = self.grounding.clone();
                let (prompt, answer) = (self.layout.full(), answer.clone());
                let started = Instant::now();
                let influence = tokio::task::spawn_blocking(move || {
                    let influence = grounding.influence.get().expect("checked above");
                    influence.attribute(&prompt, &answer)
                })
                .await
                .map_err(|e| ApiError::internal(format!("influence: {e}")))?
                .map_err(|e| ApiError::internal(format!("influence: {e:#}")))?;
                tracing::debug!(seconds = started.elapsed().as_secs_f64(), "influence");
                Some(influence)
            }
            _ => None,
        };
        let context = measured.as_ref().map_or(&[][..], |m| &m.entries[..]);
        let influence_entries = influence.as_ref().map_or(&[][..], |i| &i.entries[..]);
        let combined = combine_with_influence(context, &spans, influence_entries)
            .map_err(|e| ApiError::internal(format!("combining the attribution: {e:#}")))?;
        tracing::debug!(
            seconds = spans_seconds,
            answer_tokens = answer.len(),
            spans = spans.spans.len(),
            "span provenance"
        );
        let entries = Attribution::try_from(combined.clone())
            .map_err(|_| ApiError::internal("more attribution entries than a record holds"))?;
        let name = self.grounding.method_name(method);
        let provenance = self.provenance(&name, measured.as_ref())?;
        Ok((
            entries,
            provenance,
            self.describe(
                &name,
                &answer,
                &combined,
                measured.as_ref(),
                &spans,
                influence.as_ref(),
            ),
        ))
    }

    /// What the record commits to besides the prompt and the answer, `method` the combined
    /// method's name. Without sources or answer nothing is ablated and the seed is zero.
    fn provenance(
        &self,
        method: &str,
        measured: Option<&AnswerAttribution>,
    ) -> Result<AttributionProvenance, ApiError> {
        Ok(AttributionProvenance {
            retrieved: self.contributions.clone().try_into().map_err(|_| {
                ApiError::internal("more retrieved contributions than a record commits to")
            })?,
            method: method
                .as_bytes()
                .to_vec()
                .try_into()
                .map_err(|_| ApiError::internal("the method name is too long for a record"))?,
            seed: measured.map_or(Hash::zero(), |m| Hash::from(m.seed)),
        })
    }

    /// The response's `attribution` field.
    fn describe(
        &self,
        method: &str,
        answer: &[u32],
        entries: &[AttributionEntry],
        measured: Option<&AnswerAttribution>,
        spans: &SpanAttribution,
        influence: Option<&InfluenceAttribution>,
    ) -> Value {
        let attributed: u32 = entries.iter().map(|e| e.weight_ppm).sum();
        let ppm_of = |contribution: ContributionId| {
            entries
                .iter()
                .find(|e| e.contribution == contribution)
                .map_or(0, |e| e.weight_ppm)
        };
        let listed = |entries: &[AttributionEntry]| -> Vec<Value> {
            entries
                .iter()
                .map(|e| json!({"contribution": e.contribution, "weight_ppm": e.weight_ppm}))
                .collect()
        };
        let sources: Vec<Value> = self
            .contributions
            .iter()
            .zip(&self.rows)
            .enumerate()
            .map(|(i, (contribution, rows))| {
                let source = measured.and_then(|m| m.sources.get(i));
                json!({
                    "contribution": contribution,
                    "rows": rows,
                    "weight": source.map(|s| s.weight),
                    "weight_ppm": ppm_of(*contribution),
                    "supports": source.map(|s| s.supports.iter().map(|span| json!({
                        "text": span.text, "weight": span.weight,
                    })).collect::<Vec<_>>()).unwrap_or_default(),
                })
            })
            .collect();
        let kept: Vec<Value> = spans
            .spans
            .iter()
            .map(|s| {
                json!({
                    "chars": [s.chars.start, s.chars.end],
                    "text": s.text,
                    "tokens": [s.span.tokens.start, s.span.tokens.end],
                    "occurrences": s.span.occurrences,
                    "information": s.span.information,
                    "rows": s.span.rows.iter().map(|r| json!({"contribution": r.contribution, "row": r.row})).collect::<Vec<_>>(),
                })
            })
            .collect();
        let with_influence = self.grounding.influence.get();
        let mut described = json!({
            "method": method,
            "ablations": measured.map_or(0, |m| m.masks.len()),
            "seed": measured.map(|m| format!("0x{}", hex::encode(m.seed))),
            "retrieved": self.contributions,
            "pool": {"datanet": self.grounding.pool.datanet, "version": self.grounding.pool.version},
            "answer_tokens": answer,
            "entries": listed(entries),
            "pool_ppm": PARTS_PER_MILLION.saturating_sub(attributed),
            "sources": sources,
            "context": {
                "entries": listed(measured.map_or(&[][..], |m| &m.entries[..])),
            },
            "spans": {
                "covered_tokens": spans.covered_tokens,
                "budget_ppm": spans.budget_ppm,
                "entries": listed(&spans.entries),
                "spans": kept,
            },
        });
        if let Some(index) = with_influence.map(|i| &i.index) {
            described["influence"] = describe_influence(index, influence, listed);
        }
        described
    }
}

/// An attribution recomputed from a record's prompt and answer, as a juror does it.
#[derive(Clone, Debug, PartialEq)]
pub struct Recomputed {
    pub entries: Attribution,
    pub provenance: AttributionProvenance,
}

/// Recomputes the attribution of `answer` to the chat request `body` (the exact bytes whose
/// blake2-256 the user signed) on `model`, exactly as serving computed it: the same retrieval
/// from the question (the last user message; none when the body says `"retrieval": false`),
/// the same prompt layout, the context method `method` names (the record's combined method,
/// whichever this worker serves itself: [`Method::served`]) seeded by (model, version,
/// question, answer tokens), span provenance and influence. A record computed on other
/// numerics than this worker's (weights or KV cache held in another format) is refused with
/// the formats to recompute it on (a name from before formats were named is recomputed on this
/// worker's). The answer is re-tokenized:
/// its tokens must round-trip through the tokenizer, as greedy and sampled answers of this
/// engine do when decoded without special tokens.
pub async fn recompute(
    state: &super::ApiState,
    model: &super::ServedModel,
    method: &str,
    body: &[u8],
    answer: &str,
) -> Result<Recomputed, ApiError> {
    let name = combined::split_method(method).ok_or_else(|| {
        ApiError::invalid(
            "method",
            format!("`{method}` is not a combined method's name"),
        )
    })?;
    let context = Method::served(name.context, state.theta.as_ref())
        .map_err(|e| ApiError::invalid("method", format!("{e:#}")))?;
    let grounding = model
        .grounding
        .clone()
        .ok_or_else(|| ApiError::internal(format!("model `{}` is not grounded", model.id)))?;
    let served = grounding.numerics.name();
    if let Some(numerics) = name.weights.filter(|n| *n != served) {
        let (weights, kv) = Numerics::split(numerics);
        return Err(ApiError::invalid(
            "method",
            format!(
                "`{method}` was computed on {numerics}, and this worker on {served} (recompute \
                 it with `--weights {weights} --kv-cache {}`)",
                kv.name()
            ),
        ));
    }
    let request: super::wire::ChatRequest = serde_json::from_slice(body)
        .map_err(|e| ApiError::invalid("messages", format!("not a chat request: {e}")))?;
    let template = state
        .chat_template
        .as_ref()
        .ok_or_else(|| ApiError::internal("the served model has no chat template"))?;
    let tokenizer = state.engine.tokenizer();
    let answer = tokenizer
        .encode(answer, false)
        .map_err(|e| ApiError::invalid("answer", format!("cannot tokenize the answer: {e}")))?
        .get_ids()
        .to_vec();
    let grounded = Grounded::for_chat(
        grounding,
        tokenizer,
        template,
        state.special,
        &chat_messages(&request)?,
        request.retrieval.unwrap_or(true),
    )?
    .ok_or_else(|| ApiError::invalid("messages", "no user message"))?;
    let (entries, provenance, _) = grounded
        .attribute(&state.engine, &context, model.adapter, answer, None)
        .await?;
    Ok(Recomputed {
        entries,
        provenance,
    })
}

/// Rows listed in the response's `influence.rows`, most influential first.
const LISTED_ROWS: usize = 16;

/// The response's `attribution.influence`: the entries, the answer's log-likelihood under the
/// adapter and its most influential rows (`null`s for an empty answer).
fn describe_influence(
    index: &crate::provenance::influence::InfluenceIndex,
    influence: Option<&InfluenceAttribution>,
    listed: impl Fn(&[AttributionEntry]) -> Vec<Value>,
) -> Value {
    let Some(influence) = influence else {
        return json!({
            "entries": [],
            "log_likelihood": null,
            "rows": [],
            "dims": index.config.dims,
            "lambda": index.lambda(),
        });
    };
    let mut order: Vec<usize> = (0..influence.row_scores.len()).collect();
    order.sort_by(|&a, &b| {
        influence.row_scores[b]
            .total_cmp(&influence.row_scores[a])
            .then(a.cmp(&b))
    });
    let rows: Vec<Value> = order
        .iter()
        .take(LISTED_ROWS)
        .map(|&i| {
            json!({
                "contribution": index.rows[i].contribution,
                "row": index.rows[i].row,
                "score": influence.row_scores[i],
            })
        })
        .collect();
    json!({
        "entries": listed(&influence.entries),
        "log_likelihood": influence.log_likelihood,
        "rows": rows,
        "dims": index.config.dims,
        "lambda": index.lambda(),
    })
}
