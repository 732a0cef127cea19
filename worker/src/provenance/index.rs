//! The span index of one datanet version: its rows' token ids in a suffix array, each position
//! mapped back to its row and contribution.
//!
//! Rows are the version's verified blobs as [`crate::data::parse_jsonl`] reads them (the node's
//! row rules), numbered from 0 within their blob as retrieval numbers them. A row's tokens are
//! those the adapter was trained on: [`crate::data::encode`] of its prompt and completion (each
//! tokenized on its own, no special tokens), so a span the model learnt from a row is found
//! as the model would write it.

use super::spans::{maximal_matches, ranked, Information, Match, SPAN_RULE_V1};
use super::suffix_array::{SuffixArray, SEPARATOR};
use crate::data::{encode, Example, SpecialTokens};
use crate::rag::index::Blob;
use anyhow::{anyhow, bail, Result};
use attribution_primitives::ContributionId;
use blake2::digest::consts::U32;
use blake2::{Blake2b, Digest};
use std::collections::BTreeSet;
use std::ops::Range;
use tokenizers::Tokenizer;

/// Domain of [`source_fingerprint`].
pub const FINGERPRINT_DOMAIN: &[u8] = b"attribution-chain/provenance/source/v1";

/// One row of the version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RowRef {
    pub contribution: ContributionId,
    /// 0-based index of the row among its blob's rows.
    pub row: u32,
}

/// A maximal span the rule keeps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Span {
    /// Answer token positions.
    pub tokens: Range<usize>,
    /// Times it occurs in the version's rows.
    pub occurrences: usize,
    /// `−log2` of its unigram probability, in 1/65536 bit.
    pub information: u64,
    /// The rows holding it, by contribution then row, each once.
    pub rows: Vec<RowRef>,
}

impl Span {
    /// The contributions holding the span, ascending, each once.
    pub fn contributions(&self) -> Vec<ContributionId> {
        let mut contributions: Vec<ContributionId> =
            self.rows.iter().map(|r| r.contribution).collect();
        contributions.dedup();
        contributions
    }
}

/// The rows an index covers: every row of `blobs` but the `held_out` ones. An adapter's job
/// holds rows out for evaluation (chosen by each row's hash, `daemon::dataset::split`); they
/// never trained it, so neither span provenance nor influence pays for them.
#[derive(Clone, Copy, Debug)]
pub struct TrainingRows<'a> {
    pub blobs: &'a [Blob<'a>],
    pub held_out: &'a BTreeSet<RowRef>,
}

/// No row held out.
static NONE_HELD_OUT: BTreeSet<RowRef> = BTreeSet::new();

impl<'a> TrainingRows<'a> {
    /// Every row of `blobs` (a model served from local files, with no job's split).
    pub fn all(blobs: &'a [Blob<'a>]) -> Self {
        Self {
            blobs,
            held_out: &NONE_HELD_OUT,
        }
    }

    /// The rows in blob order, numbered as retrieval numbers them, held-out ones left out.
    pub fn examples(&self) -> Result<Vec<(RowRef, Example)>> {
        let mut rows = Vec::new();
        for blob in self.blobs {
            for (row, example) in blob.examples()?.into_iter().enumerate() {
                let row = RowRef {
                    contribution: blob.contribution,
                    row: u32::try_from(row)?,
                };
                if !self.held_out.contains(&row) {
                    rows.push((row, example));
                }
            }
        }
        Ok(rows)
    }
}

/// What identifies an index's inputs: BLAKE2b-256 of [`FINGERPRINT_DOMAIN`], the tokenizer's
/// JSON and each blob (contribution id, length, bytes), lengths as u64 LE, then each held-out
/// row (contribution u64 LE, row u32 LE, ascending; nothing when none is). An index whose
/// fingerprint differs was built from other rows or another tokenizer.
pub fn source_fingerprint(rows: TrainingRows<'_>, tokenizer: &Tokenizer) -> Result<[u8; 32]> {
    let json = tokenizer
        .to_string(false)
        .map_err(|e| anyhow!("serializing the tokenizer: {e}"))?;
    let mut hasher = Blake2b::<U32>::new();
    hasher.update(FINGERPRINT_DOMAIN);
    hasher.update((json.len() as u64).to_le_bytes());
    hasher.update(json.as_bytes());
    for blob in rows.blobs {
        hasher.update(blob.contribution.to_le_bytes());
        hasher.update((blob.jsonl.len() as u64).to_le_bytes());
        hasher.update(blob.jsonl);
    }
    for row in rows.held_out {
        hasher.update(row.contribution.to_le_bytes());
        hasher.update(row.row.to_le_bytes());
    }
    Ok(hasher.finalize().into())
}

/// A suffix array over the token ids of a version's rows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpanIndex {
    pub(super) fingerprint: [u8; 32],
    /// Rows with at least one token, in text order, with the position of their first token.
    pub(super) rows: Vec<(RowRef, u32)>,
    pub(super) array: SuffixArray,
}

impl SpanIndex {
    /// Tokenizes every row of `blobs` with `tokenizer` and indexes them.
    pub fn build(blobs: &[Blob<'_>], tokenizer: &Tokenizer) -> Result<Self> {
        Self::build_training(TrainingRows::all(blobs), tokenizer)
    }

    /// Tokenizes the training rows with `tokenizer` and indexes them.
    pub fn build_training(rows: TrainingRows<'_>, tokenizer: &Tokenizer) -> Result<Self> {
        let special = SpecialTokens {
            bos: None,
            eos: None,
            pad: 0,
        };
        let tokenized = rows
            .examples()?
            .into_iter()
            .map(|(row, example)| {
                Ok((
                    row,
                    encode(tokenizer, &example, special, usize::MAX)?.tokens,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        Self::from_token_rows(tokenized, source_fingerprint(rows, tokenizer)?)
    }

    /// Indexes rows already tokenized; `fingerprint` names their source.
    pub fn from_token_rows(rows: Vec<(RowRef, Vec<u32>)>, fingerprint: [u8; 32]) -> Result<Self> {
        if rows.is_empty() {
            bail!("the version has no rows to index");
        }
        let mut text = Vec::new();
        let mut starts = Vec::new();
        for (row, tokens) in rows {
            if tokens.is_empty() {
                continue;
            }
            starts.push((row, u32::try_from(text.len())?));
            for token in tokens {
                if token >= i32::MAX as u32 {
                    bail!("token id {token} is too large to index");
                }
                text.push(token + 1);
            }
            text.push(SEPARATOR);
        }
        if starts.is_empty() {
            bail!("the version's rows have no tokens");
        }
        Ok(Self {
            fingerprint,
            rows: starts,
            array: SuffixArray::build(text)?,
        })
    }

    /// The fingerprint of the rows and tokenizer it was built from ([`source_fingerprint`]).
    pub fn fingerprint(&self) -> [u8; 32] {
        self.fingerprint
    }

    /// Rows indexed (those with at least one token).
    pub fn rows(&self) -> usize {
        self.rows.len()
    }

    /// Tokens indexed (row separators not counted).
    pub fn tokens(&self) -> u64 {
        (self.array.text().len() - self.rows.len()) as u64
    }

    /// The row holding text position `position`.
    fn row_at(&self, position: u32) -> RowRef {
        let index = self.rows.partition_point(|(_, start)| *start <= position);
        self.rows[index - 1].0
    }

    /// Every maximal match of `answer` (token ids) in the rows, by start, none filtered out.
    pub fn maximal_matches(&self, answer: &[u32]) -> Vec<Match> {
        maximal_matches(&self.array, &symbols(answer))
    }

    /// The spans of `answer` that count ([`SPAN_RULE_V1`]), most informative first, each with
    /// the rows holding it.
    pub fn spans(&self, answer: &[u32]) -> Vec<Span> {
        let pattern = symbols(answer);
        let matches = maximal_matches(&self.array, &pattern);
        let mut information = Information::new(&self.array, self.tokens());
        ranked(matches, &pattern, &mut information, &SPAN_RULE_V1)
            .into_iter()
            .map(|(found, information)| {
                let mut rows: Vec<RowRef> = self.array.suffixes()[found.suffixes.clone()]
                    .iter()
                    .map(|&position| self.row_at(position))
                    .collect();
                rows.sort_unstable();
                rows.dedup();
                Span {
                    occurrences: found.occurrences(),
                    tokens: found.tokens,
                    information,
                    rows,
                }
            })
            .collect()
    }
}

/// Answer token ids as text symbols. An id too large for the index occurs in no row: it
/// becomes a symbol no text holds, which no match crosses.
fn symbols(answer: &[u32]) -> Vec<u32> {
    answer
        .iter()
        .map(|&t| if t < i32::MAX as u32 { t + 1 } else { u32::MAX })
        .collect()
}
