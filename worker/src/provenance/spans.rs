//! Maximal matching spans of an answer in the indexed rows, and which of them count.
//!
//! A **match** is a run of answer tokens that occurs, as is, inside some indexed row. It is
//! **maximal** when it cannot be extended by one token on either side and still occur
//! (OLMoTrace's maximal matching spans): from each start `i` the longest match `len_i` is found
//! in the suffix array, and `i..i + len_i` is maximal unless the match from `i − 1` already
//! reaches as far (`len_i < len_{i−1}`, since then `i − 1..i + len_i` occurs too).
//!
//! A span's **information** is `−log2` of its unigram probability, `Σ_t log2(N / c_t)` over its
//! tokens (`c_t` the token's count in the rows, `N` all the rows' tokens): long spans of rare
//! tokens have much, short runs of common ones little. It is computed in integers
//! ([`log2_fixed`], 1/65536 bit) so that every machine ranks spans alike.
//!
//! The [`SpanRule`] keeps the spans that count: at least `min_tokens` tokens and
//! `min_information_bits` bits, the most informative first (ties: longer, then earlier), at
//! most `ceil(spans_per_100_tokens · L / 100)` of them for an answer of `L` tokens (OLMoTrace
//! keeps 5 %).

use super::suffix_array::SuffixArray;
use std::collections::BTreeMap;
use std::ops::Range;

/// Fractional bits of [`log2_fixed`] and of span information.
pub const INFORMATION_FRACTION_BITS: u32 = 16;

/// `log2(x)` in fixed point with [`INFORMATION_FRACTION_BITS`] fractional bits, rounded down;
/// 0 for `x ≤ 1`. Integer only (repeated squaring of the mantissa), so exact on every machine.
pub fn log2_fixed(x: u64) -> u64 {
    if x <= 1 {
        return 0;
    }
    let integer = 63 - u64::from(x.leading_zeros());
    // The mantissa x / 2^integer in [1, 2), as a Q62 number.
    let mut mantissa: u128 = if integer <= 62 {
        u128::from(x) << (62 - integer)
    } else {
        u128::from(x) >> (integer - 62)
    };
    let mut result = integer << INFORMATION_FRACTION_BITS;
    for bit in (0..INFORMATION_FRACTION_BITS).rev() {
        mantissa = (mantissa * mantissa) >> 62;
        if mantissa >= 1 << 63 {
            mantissa >>= 1;
            result |= 1 << bit;
        }
    }
    result
}

/// A maximal match of answer tokens in the indexed rows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Match {
    /// Answer token positions.
    pub tokens: Range<usize>,
    /// Where it occurs: an interval of the suffix array.
    pub suffixes: Range<usize>,
}

impl Match {
    /// Times the span occurs in the rows.
    pub fn occurrences(&self) -> usize {
        self.suffixes.len()
    }
}

/// The maximal matches of `pattern` (answer symbols: token id + 1) in `array`, by start.
pub fn maximal_matches(array: &SuffixArray, pattern: &[u32]) -> Vec<Match> {
    let mut matches = Vec::new();
    let mut previous_end = 0;
    for start in 0..pattern.len() {
        let mut interval = array.all();
        let mut length = 0;
        while start + length < pattern.len() {
            let narrower = array.narrow(interval.clone(), length, pattern[start + length]);
            if narrower.is_empty() {
                break;
            }
            interval = narrower;
            length += 1;
        }
        if length > 0 && start + length > previous_end {
            matches.push(Match {
                tokens: start..start + length,
                suffixes: interval,
            });
        }
        previous_end = previous_end.max(start + length);
    }
    matches
}

/// Which maximal spans count, and how many.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpanRule {
    pub min_tokens: usize,
    pub min_information_bits: u64,
    pub spans_per_100_tokens: usize,
}

/// The rule of span provenance v1 (`docs/attribution.md`, "Span provenance").
pub const SPAN_RULE_V1: SpanRule = SpanRule {
    min_tokens: 4,
    min_information_bits: 32,
    spans_per_100_tokens: 5,
};

/// Per-token information `log2(N / c_t)` in the rows of `array`, counted once per token id.
pub struct Information<'a> {
    array: &'a SuffixArray,
    log2_total: u64,
    cache: BTreeMap<u32, u64>,
}

impl<'a> Information<'a> {
    /// `total`: the rows' tokens (separators not counted).
    pub fn new(array: &'a SuffixArray, total: u64) -> Self {
        Self {
            array,
            log2_total: log2_fixed(total),
            cache: BTreeMap::new(),
        }
    }

    /// The information of `symbols` (each occurring in the rows).
    pub fn of(&mut self, symbols: &[u32]) -> u64 {
        symbols
            .iter()
            .map(|&symbol| {
                *self.cache.entry(symbol).or_insert_with(|| {
                    let count = self.array.find(&[symbol]).len() as u64;
                    self.log2_total.saturating_sub(log2_fixed(count))
                })
            })
            .sum()
    }
}

/// The matches of `pattern` (the answer's symbols) that `rule` keeps, each with its
/// information, most informative first.
pub fn ranked(
    matches: Vec<Match>,
    pattern: &[u32],
    information: &mut Information<'_>,
    rule: &SpanRule,
) -> Vec<(Match, u64)> {
    let min_information = rule.min_information_bits << INFORMATION_FRACTION_BITS;
    let mut kept: Vec<(Match, u64)> = matches
        .into_iter()
        .filter(|m| m.tokens.len() >= rule.min_tokens)
        .map(|m| {
            let bits = information.of(&pattern[m.tokens.clone()]);
            (m, bits)
        })
        .filter(|(_, bits)| *bits >= min_information)
        .collect();
    kept.sort_by(|(a, a_bits), (b, b_bits)| {
        b_bits
            .cmp(a_bits)
            .then(b.tokens.len().cmp(&a.tokens.len()))
            .then(a.tokens.start.cmp(&b.tokens.start))
    });
    kept.truncate((rule.spans_per_100_tokens * pattern.len()).div_ceil(100));
    kept
}
