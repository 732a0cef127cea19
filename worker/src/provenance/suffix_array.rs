//! A suffix array over a sequence of integer symbols, and the search for a pattern's
//! occurrences in it.
//!
//! Construction is libsais (Ilya Grebnov's SA-IS implementation, the fastest suffix array
//! construction published and maintained upstream) through the `libsais` crate, for its `i32`
//! ("large alphabet") input: token ids need an alphabet of tens of thousands of symbols, which
//! the pure-Rust `suffix` and `divsufsort` crates cannot take (they sort bytes). It runs single
//! threaded (no OpenMP), in time linear in the text.
//!
//! The text's symbols are `token id + 1`, with `0` ending each row: a pattern never holds a 0,
//! so no match runs from one row into the next.

use anyhow::{bail, Result};
use libsais::SuffixArrayConstruction;
use std::ops::Range;

/// The symbol that ends each row.
pub const SEPARATOR: u32 = 0;

/// The text and its suffixes in lexicographic order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SuffixArray {
    text: Vec<u32>,
    suffixes: Vec<u32>,
}

impl SuffixArray {
    /// Sorts the suffixes of `text` (at most `i32::MAX` symbols, each at most `i32::MAX`).
    pub fn build(text: Vec<u32>) -> Result<Self> {
        if text.is_empty() {
            bail!("no text to index");
        }
        if text.len() > i32::MAX as usize {
            bail!(
                "{} symbols are more than a suffix array of i32 holds",
                text.len()
            );
        }
        let mut symbols = text
            .iter()
            .map(|&s| i32::try_from(s))
            .collect::<Result<Vec<i32>, _>>()?;
        let sorted = SuffixArrayConstruction::for_text_mut(&mut symbols)
            .in_owned_buffer32()
            .single_threaded()
            .run()
            .map_err(|e| anyhow::anyhow!("building the suffix array: {e}"))?
            .into_vec();
        // libsais returns positions in [0, len), which fit in u32.
        let suffixes = sorted.into_iter().map(|p| p as u32).collect();
        Ok(Self { text, suffixes })
    }

    /// A suffix array read back from storage. `suffixes` must be a permutation of `text`'s
    /// positions (checked: no lookup can go out of bounds); that they are in order is the
    /// file's checksum's to vouch for (checking it costs a comparison of whole suffixes).
    pub fn from_parts(text: Vec<u32>, suffixes: Vec<u32>) -> Result<Self> {
        if text.is_empty() || suffixes.len() != text.len() {
            bail!(
                "{} suffixes for a text of {} symbols",
                suffixes.len(),
                text.len()
            );
        }
        let mut seen = vec![false; text.len()];
        for &position in &suffixes {
            match seen.get_mut(position as usize) {
                Some(slot) if !*slot => *slot = true,
                _ => bail!("the suffixes are not a permutation of the text's positions"),
            }
        }
        Ok(Self { text, suffixes })
    }

    pub fn text(&self) -> &[u32] {
        &self.text
    }

    pub fn suffixes(&self) -> &[u32] {
        &self.suffixes
    }

    /// Every suffix: the interval of a pattern of length 0.
    pub fn all(&self) -> Range<usize> {
        0..self.suffixes.len()
    }

    /// The suffixes in `interval` (all starting with the same `depth` symbols) whose next
    /// symbol is `symbol`: those starting with the pattern one symbol longer.
    pub fn narrow(&self, interval: Range<usize>, depth: usize, symbol: u32) -> Range<usize> {
        let within = &self.suffixes[interval.clone()];
        // Past the text's end counts as smaller than every symbol (libsais's convention).
        let at = |&position: &u32| self.text.get(position as usize + depth).map(|&s| s as i64);
        let below = |suffix: &u32| at(suffix).unwrap_or(-1) < symbol as i64;
        let not_above = |suffix: &u32| at(suffix).unwrap_or(-1) <= symbol as i64;
        let start = within.partition_point(below);
        let end = within.partition_point(not_above);
        interval.start + start..interval.start + end
    }

    /// The suffixes starting with `pattern` (empty when it does not occur).
    pub fn find(&self, pattern: &[u32]) -> Range<usize> {
        let mut interval = self.all();
        for (depth, &symbol) in pattern.iter().enumerate() {
            if interval.is_empty() {
                break;
            }
            interval = self.narrow(interval, depth, symbol);
        }
        interval
    }
}
