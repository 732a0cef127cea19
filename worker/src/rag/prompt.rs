//! The chat prompt of a retrieval-augmented request, laid out so that any source can be removed.
//!
//! The conversation is a system message (a fixed header, then the numbered sources) and the
//! user's question. Its token sequence is the concatenation of separately tokenized segments:
//!
//! ```text
//! prefix   = template text up to the end of the header (BOS first when there is no template)
//! source i = "\n\n[i] " + the source's rows, one per line       (i = 1, 2, ...)
//! suffix   = template text after the system content: end of the system turn, the user's
//!            question, the assistant's header
//! ```
//!
//! so the prompt with some sources ablated is the same concatenation without their segments
//! (the others keep their numbers) and every ablation shares the prefix token for token.
//! Generation must use [`PromptLayout::tokens`] with every source kept, so that the answer is
//! scored against exactly the context it was generated from.

use super::index::Hit;
use crate::chat_template::{ChatMessage, ChatTemplate};
use crate::data::SpecialTokens;
use anyhow::{anyhow, bail, Result};
use attribution_primitives::ContributionId;
use std::ops::Range;
use tokenizers::Tokenizer;

/// The system header before the sources.
pub const SYSTEM_HEADER: &str = "Answer the user's question using the numbered sources below. \
If they do not contain the answer, say so.\nSources:";

/// Stands for the sources while the template renders; cannot occur in a template's own text.
const SOURCES_MARK: &str = "\u{1}SOURCES\u{1}";

/// One contribution's retrieved rows: the unit that is ablated and paid.
#[derive(Clone, Debug, PartialEq)]
pub struct Source {
    pub contribution: ContributionId,
    /// `(row index, text)` in retrieval order.
    pub rows: Vec<(u32, String)>,
}

impl Source {
    /// The source's text as shown to the model, after its number.
    pub fn text(&self) -> String {
        self.rows
            .iter()
            .map(|(_, text)| text.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Groups hits by contribution: sources in the order of their best hit, rows in hit order.
pub fn group_hits(hits: &[Hit]) -> Vec<Source> {
    let mut sources: Vec<Source> = Vec::new();
    for hit in hits {
        let row = (hit.row, hit.text.clone());
        match sources
            .iter_mut()
            .find(|s| s.contribution == hit.contribution)
        {
            Some(source) => source.rows.push(row),
            None => sources.push(Source {
                contribution: hit.contribution,
                rows: vec![row],
            }),
        }
    }
    sources
}

/// The segment of source number `number` (1-based).
fn source_segment(number: usize, source: &Source) -> String {
    format!("\n\n[{number}] {}", source.text())
}

/// The chat messages with every source, as a client would see the conversation.
pub fn messages(sources: &[Source], question: &str) -> Vec<ChatMessage> {
    let mut system = SYSTEM_HEADER.to_string();
    for (index, source) in sources.iter().enumerate() {
        system.push_str(&source_segment(index + 1, source));
    }
    vec![
        ChatMessage::new("system", &system),
        ChatMessage::new("user", question),
    ]
}

/// A prompt's tokens as prefix, one segment per source, and suffix.
#[derive(Clone, Debug, PartialEq)]
pub struct PromptLayout {
    pub prefix: Vec<u32>,
    /// One token segment per source, in source order.
    pub sources: Vec<Vec<u32>>,
    pub suffix: Vec<u32>,
}

impl PromptLayout {
    /// Lays out the prompt of `question` over `sources`, rendered with the model's chat
    /// template (with a generation prompt), or as plain `System:`/`User:`/`Assistant:` turns
    /// after BOS for a model without one.
    pub fn build(
        tokenizer: &Tokenizer,
        template: Option<&ChatTemplate>,
        special: SpecialTokens,
        sources: &[Source],
        question: &str,
    ) -> Result<Self> {
        if question.contains(SOURCES_MARK) {
            bail!("the question contains a reserved control sequence");
        }
        let system = format!("{SYSTEM_HEADER}{SOURCES_MARK}");
        let (rendered, bos) = match template {
            Some(template) => (
                template.render(
                    &[
                        ChatMessage::new("system", &system),
                        ChatMessage::new("user", question),
                    ],
                    true,
                )?,
                None,
            ),
            None => (
                format!("System: {system}\n\nUser: {question}\n\nAssistant:"),
                special.bos,
            ),
        };
        let (before, after) = rendered
            .split_once(SOURCES_MARK)
            .ok_or_else(|| anyhow!("the chat template dropped the system message"))?;
        let encode = |text: &str| -> Result<Vec<u32>> {
            Ok(tokenizer
                .encode(text, false)
                .map_err(|e| anyhow!("tokenizing the prompt: {e}"))?
                .get_ids()
                .to_vec())
        };
        let mut prefix: Vec<u32> = bos.into_iter().collect();
        prefix.extend(encode(before)?);
        let sources = sources
            .iter()
            .enumerate()
            .map(|(index, source)| encode(&source_segment(index + 1, source)))
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            prefix,
            sources,
            suffix: encode(after)?,
        })
    }

    /// The prompt's tokens with source `i` present where `keep[i]`.
    pub fn tokens(&self, keep: &[bool]) -> Vec<u32> {
        let mut tokens = self.prefix.clone();
        for (segment, _) in self.sources.iter().zip(keep).filter(|(_, k)| **k) {
            tokens.extend(segment);
        }
        tokens.extend(&self.suffix);
        tokens
    }

    /// The full prompt's tokens (every source kept).
    pub fn full(&self) -> Vec<u32> {
        self.tokens(&vec![true; self.sources.len()])
    }

    /// Each source's token positions in the full prompt.
    pub fn source_spans(&self) -> Vec<Range<usize>> {
        let mut start = self.prefix.len();
        self.sources
            .iter()
            .map(|segment| {
                let span = start..start + segment.len();
                start = span.end;
                span
            })
            .collect()
    }
}
