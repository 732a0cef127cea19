//! An answer's spans as on-chain attribution entries, in integers only:
//!
//! ```text
//! L        = answer tokens;  covered = answer tokens inside at least one kept span
//! B        = floor(10^6 · covered / L)                       ppm the entries share at most
//! I_s      = span s's information (1/65536 bit);  n_s = contributions holding s
//! q_c      = Σ floor(I_s / n_s) over the kept spans s that contribution c holds
//! entries  = rag::ppm::entries_from_units(q, B)              (the 16 largest, as ContextCite's)
//! ```
//!
//! So the part of the answer that no kept span covers, and the weight of contributions beyond
//! the 16 largest, are not given to entries: the chain pays them to the version's pool. A span
//! several contributions hold is split evenly between them; a contributor repeating its own
//! rows gains nothing (contributions are counted, not rows).

use super::index::{Span, SpanIndex};
use crate::rag::ppm::entries_from_units;
use anyhow::{anyhow, Result};
use attribution_primitives::attribution::AttributionEntry;
use attribution_primitives::{ContributionId, PARTS_PER_MILLION};
use std::collections::BTreeMap;
use std::ops::Range;
use tokenizers::Tokenizer;

/// A kept span, located in the answer's text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttributedSpan {
    pub span: Span,
    /// Character (Unicode scalar) positions in the decoded answer: from where the decoding of
    /// the tokens before the span ends to where that of the tokens up to its end does, less
    /// white space at either end (a byte-level BPE token carries the space before its word).
    pub chars: Range<usize>,
    /// Those characters of the decoded answer.
    pub text: String,
}

/// An answer's span provenance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpanAttribution {
    pub answer_tokens: usize,
    pub covered_tokens: usize,
    /// `B`: ppm the entries share at most.
    pub budget_ppm: u32,
    /// The kept spans, most informative first.
    pub spans: Vec<AttributedSpan>,
    /// What goes on chain.
    pub entries: Vec<AttributionEntry>,
}

impl SpanIndex {
    /// The spans `answer` (token ids, as `tokenizer` decodes them) shares with the rows, and
    /// the entries they give (module docs). An empty answer has no spans and no entries.
    pub fn attribute(&self, tokenizer: &Tokenizer, answer: &[u32]) -> Result<SpanAttribution> {
        let spans = self.spans(answer);
        let mut covered = vec![false; answer.len()];
        let mut units: BTreeMap<ContributionId, u128> = BTreeMap::new();
        for span in &spans {
            covered[span.tokens.clone()].fill(true);
            let holders = span.contributions();
            let share = u128::from(span.information) / holders.len().max(1) as u128;
            for contribution in holders {
                *units.entry(contribution).or_default() += share;
            }
        }
        let covered_tokens = covered.iter().filter(|&&c| c).count();
        let budget_ppm = if answer.is_empty() {
            0
        } else {
            (u64::from(PARTS_PER_MILLION) * covered_tokens as u64 / answer.len() as u64) as u32
        };
        let (contributions, weights): (Vec<ContributionId>, Vec<u128>) = units.into_iter().unzip();
        let entries = entries_from_units(&contributions, &weights, budget_ppm)?;

        let decode = |tokens: &[u32]| {
            tokenizer
                .decode(tokens, false)
                .map_err(|e| anyhow!("decoding the answer: {e}"))
        };
        let full: Vec<char> = decode(answer)?.chars().collect();
        let char_at = |token: usize| -> Result<usize> {
            Ok(decode(&answer[..token])?.chars().count().min(full.len()))
        };
        let spans = spans
            .into_iter()
            .map(|span| {
                let (mut start, mut end) = (char_at(span.tokens.start)?, char_at(span.tokens.end)?);
                while start < end && full[start].is_whitespace() {
                    start += 1;
                }
                while end > start && full[end - 1].is_whitespace() {
                    end -= 1;
                }
                let chars = start..end;
                let text = full[chars.clone()].iter().collect();
                Ok(AttributedSpan { span, chars, text })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(SpanAttribution {
            answer_tokens: answer.len(),
            covered_tokens,
            budget_ppm,
            spans,
            entries,
        })
    }
}
