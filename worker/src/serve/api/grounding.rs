//! Answers grounded in a datanet version: the question retrieves rows (BM25 over the version the
//! model was trained on), the model answers with them as numbered sources in its context, and
//! after the answer the engine measures which sources changed it (ContextCite, by ablation).
//! The weights become the record's on-chain attribution; what they leave goes to the version's
//! pool (see `docs/attribution.md`).

use super::ApiError;
use crate::chat_template::ChatTemplate;
use crate::data::SpecialTokens;
use crate::rag::attribution::{
    attribute, AnswerAttribution, AttributionRequest, ContextCiteConfig,
};
use crate::rag::index::RowIndex;
use crate::rag::prompt::{group_hits, PromptLayout};
use crate::serve::engine::{AdapterId, Engine};
use attribution_primitives::attribution::Attribution;
use attribution_primitives::traits::PoolId;
use attribution_primitives::{ContributionId, ModelId, PARTS_PER_MILLION};
use serde_json::{json, Value};
use std::sync::Arc;
use tokenizers::Tokenizer;

/// Retrieval and attribution for one served model.
pub struct Grounding {
    pub index: RowIndex,
    /// The version the rows come from.
    pub pool: PoolId,
    /// The model's id on chain (it seeds the ablations).
    pub chain_model: ModelId,
    /// Rows retrieved per question.
    pub top_k: usize,
    pub config: ContextCiteConfig,
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

    /// Measures which sources shaped `answer` (run on the engine between two steps).
    pub async fn attribute(
        self,
        engine: &Engine,
        adapter: Option<AdapterId>,
        answer: Vec<u32>,
    ) -> Result<(Attribution, Value), ApiError> {
        if answer.is_empty() || self.contributions.is_empty() {
            return Ok((Attribution::default(), self.describe(None)));
        }
        let tokenizer = engine.tokenizer().clone();
        let grounding = self.grounding.clone();
        let (layout, question, contributions) = (
            self.layout.clone(),
            self.question.clone(),
            self.contributions.clone(),
        );
        let measured = engine
            .exclusive(adapter, move |runtime, key| {
                let request = AttributionRequest {
                    model: grounding.chain_model,
                    adapter: key,
                    pool: grounding.pool,
                    question: &question,
                    layout: &layout,
                    contributions: &contributions,
                    answer: &answer,
                };
                attribute(runtime, &tokenizer, &request, &grounding.config)
            })
            .await
            .map_err(|e| ApiError::internal(format!("attribution: {e:#}")))?;
        let entries = Attribution::try_from(measured.entries.clone())
            .map_err(|_| ApiError::internal("more attribution entries than a record holds"))?;
        Ok((entries, self.describe(Some(&measured))))
    }

    /// The response's `attribution` field.
    fn describe(&self, measured: Option<&AnswerAttribution>) -> Value {
        let entries = measured.map(|m| m.entries.as_slice()).unwrap_or_default();
        let attributed: u32 = entries.iter().map(|e| e.weight_ppm).sum();
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
                    "weight_ppm": entries.iter().find(|e| e.contribution == *contribution).map_or(0, |e| e.weight_ppm),
                    "supports": source.map(|s| s.supports.iter().map(|span| json!({
                        "text": span.text, "weight": span.weight,
                    })).collect::<Vec<_>>()).unwrap_or_default(),
                })
            })
            .collect();
        json!({
            "method": "context-cite",
            "ablations": measured.map_or(0, |m| m.masks.len()),
            "pool": {"datanet": self.grounding.pool.datanet, "version": self.grounding.pool.version},
            "entries": entries.iter().map(|e| json!({"contribution": e.contribution, "weight_ppm": e.weight_ppm})).collect::<Vec<_>>(),
            "pool_ppm": PARTS_PER_MILLION.saturating_sub(attributed),
            "sources": sources,
        })
    }
}
