//! The span index as a file beside the adapter ([`FILE_NAME`]), format version 1, all integers
//! little-endian:
//!
//! ```text
//! offset     bytes   field
//! 0          8       magic "ACSPANS\0"
//! 8          4       format version (u32) = 1
//! 12         1       symbol width w: 2 when every symbol is at most 65535, else 4
//! 13         3       zero
//! 16         32      source fingerprint (BLAKE2b-256, see `index::source_fingerprint`)
//! 48         8       rows r (u64)
//! 56         8       text symbols n (u64): the rows' tokens plus one separator per row
//! 64         16·r    per row, in text order: contribution (u64), row in its blob (u32),
//!                    position of its first token (u32)
//! 64+16r     w·n     the text: token id + 1 per token, 0 after each row
//! …          4·n     the suffix array (u32 positions)
//! end − 32   32      BLAKE2b-256 of every byte before it
//! ```
//!
//! [`SpanIndex::load`] refuses a file whose checksum, magic, version, sizes or structure are
//! wrong, with an error saying which; [`SpanIndex::load_or_build`] then (or when the file is
//! missing, or was built from other rows or another tokenizer) builds the index again and
//! replaces the file.

use super::index::{source_fingerprint, RowRef, SpanIndex, TrainingRows};
use super::sealed;
use super::suffix_array::{SuffixArray, SEPARATOR};
use anyhow::{ensure, Context, Result};
use std::path::Path;
use tokenizers::Tokenizer;

/// The file's name in an adapter's directory.
pub const FILE_NAME: &str = "span-index.bin";
pub const MAGIC: &[u8; 8] = b"ACSPANS\0";
pub const FORMAT_VERSION: u32 = 1;
const HEADER_BYTES: usize = 64;
const ROW_BYTES: usize = 16;

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"))
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"))
}

impl SpanIndex {
    /// The file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let index = self;
        let text = index.array.text();
        let width: usize = if text.iter().all(|&s| s <= u32::from(u16::MAX)) {
            2
        } else {
            4
        };
        let mut bytes = Vec::with_capacity(
            HEADER_BYTES
                + ROW_BYTES * index.rows.len()
                + (width + 4) * text.len()
                + sealed::CHECKSUM_BYTES,
        );
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        bytes.extend_from_slice(&[width as u8, 0, 0, 0]);
        bytes.extend_from_slice(&index.fingerprint);
        bytes.extend_from_slice(&(index.rows.len() as u64).to_le_bytes());
        bytes.extend_from_slice(&(text.len() as u64).to_le_bytes());
        for (row, start) in &index.rows {
            bytes.extend_from_slice(&row.contribution.to_le_bytes());
            bytes.extend_from_slice(&row.row.to_le_bytes());
            bytes.extend_from_slice(&start.to_le_bytes());
        }
        for &symbol in text {
            bytes.extend_from_slice(&symbol.to_le_bytes()[..width]);
        }
        for &position in index.array.suffixes() {
            bytes.extend_from_slice(&position.to_le_bytes());
        }
        sealed::seal(bytes)
    }

    /// Reads the bytes of [`SpanIndex::to_bytes`] back, checking them.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let body = sealed::open(bytes, MAGIC, FORMAT_VERSION, HEADER_BYTES, "a span index")?;
        let width = usize::from(body[12]);
        ensure!(
            width == 2 || width == 4,
            "symbol width {width} is not 2 or 4"
        );
        let fingerprint: [u8; 32] = body[16..48].try_into().expect("32 bytes");
        let rows = usize::try_from(u64_at(body, 48))?;
        let symbols = usize::try_from(u64_at(body, 56))?;
        let expected = rows
            .checked_mul(ROW_BYTES)
            .zip(symbols.checked_mul(width + 4))
            .and_then(|(r, s)| r.checked_add(s)?.checked_add(HEADER_BYTES));
        ensure!(
            expected == Some(body.len()),
            "{rows} rows and {symbols} symbols do not fill {} bytes",
            body.len()
        );
        let mut at = HEADER_BYTES;
        let mut row_starts = Vec::with_capacity(rows);
        for _ in 0..rows {
            let row = RowRef {
                contribution: u64_at(body, at),
                row: u32_at(body, at + 8),
            };
            row_starts.push((row, u32_at(body, at + 12)));
            at += ROW_BYTES;
        }
        let mut text = Vec::with_capacity(symbols);
        for _ in 0..symbols {
            let mut word = [0u8; 4];
            word[..width].copy_from_slice(&body[at..at + width]);
            text.push(u32::from_le_bytes(word));
            at += width;
        }
        let suffixes: Vec<u32> = (0..symbols).map(|i| u32_at(body, at + 4 * i)).collect();
        check_rows(&row_starts, &text)?;
        Ok(Self {
            fingerprint,
            rows: row_starts,
            array: SuffixArray::from_parts(text, suffixes)?,
        })
    }
}

/// Rows start at 0 and right after each separator, and nowhere else.
fn check_rows(rows: &[(RowRef, u32)], text: &[u32]) -> Result<()> {
    ensure!(!rows.is_empty(), "a span index without rows");
    let separators = text.iter().filter(|&&s| s == SEPARATOR).count();
    ensure!(
        separators == rows.len() && text.last() == Some(&SEPARATOR),
        "{} rows for {separators} row ends",
        rows.len()
    );
    let mut expected = 0;
    for (row, start) in rows {
        ensure!(
            *start as usize == expected && text.get(expected) != Some(&SEPARATOR),
            "row {} of contribution {} does not start where the previous row ended",
            row.row,
            row.contribution
        );
        expected += text[expected..]
            .iter()
            .position(|&s| s == SEPARATOR)
            .expect("every row ends")
            + 1;
    }
    Ok(())
}

impl SpanIndex {
    /// Writes the index to `path` (through a temporary file in the same directory, renamed, so a
    /// reader never sees half a file).
    pub fn save(&self, path: &Path) -> Result<()> {
        sealed::write(path, &self.to_bytes())
    }

    /// Reads the index at `path`.
    pub fn load(path: &Path) -> Result<Self> {
        Self::from_bytes(&sealed::read(path)?).with_context(|| format!("in {}", path.display()))
    }

    /// The index of `rows` read from `path` when the file there was built from them with
    /// `tokenizer`, otherwise built and written there.
    pub fn load_or_build(
        path: &Path,
        rows: TrainingRows<'_>,
        tokenizer: &Tokenizer,
    ) -> Result<Self> {
        let fingerprint = source_fingerprint(rows, tokenizer)?;
        if path.exists() {
            match Self::load(path) {
                Ok(index) if index.fingerprint() == fingerprint => return Ok(index),
                Ok(_) => tracing::warn!(
                    path = %path.display(),
                    "span index built from other rows or another tokenizer: rebuilding"
                ),
                Err(error) => tracing::warn!(
                    path = %path.display(),
                    "unreadable span index, rebuilding: {error:#}"
                ),
            }
        }
        let index = Self::build_training(rows, tokenizer)?;
        index.save(path)?;
        Ok(index)
    }
}
