//! The influence index as a file beside the adapter ([`FILE_NAME`]), format version 1, all
//! integers little-endian:
//!
//! ```text
//! offset     bytes   field
//! 0          8       magic "ACINFLU\0"
//! 8          4       format version (u32) = 1
//! 12         4       projected dimensions k (u32)
//! 16         8       projection seed (u64)
//! 24         8       damping (f64)
//! 32         32      source fingerprint (BLAKE2b-256, see [`influence_fingerprint`])
//! 64         8       rows n (u64)
//! 72         12·n    per row: contribution (u64), row in its blob (u32)
//! 72+12n     4·n·k   Φ: each row's projected gradient, k f32 values
//! end − 32   32      BLAKE2b-256 of every byte before it
//! ```
//!
//! So a row costs `12 + 4k` bytes (4,108 at `k = 1024`). [`InfluenceIndex::load`] refuses a
//! file whose checksum, magic, version, sizes or values are wrong, saying which;
//! [`InfluenceIndex::load_or_build`] then (or when the file is missing or was built from
//! another base, adapter, rows, tokenizer or settings) builds the index again and replaces it.

use super::index::{InfluenceConfig, InfluenceIndex};
use crate::provenance::index::{source_fingerprint, RowRef, TrainingRows};
use crate::provenance::sealed;
use anyhow::{ensure, Context, Result};
use blake2::digest::consts::U32;
use blake2::{Blake2b, Digest};
use std::path::Path;
use tokenizers::Tokenizer;

/// The file's name beside an adapter.
pub const FILE_NAME: &str = "influence.bin";
pub const MAGIC: &[u8; 8] = b"ACINFLU\0";
pub const FORMAT_VERSION: u32 = 1;
/// Domain of [`influence_fingerprint`].
pub const FINGERPRINT_DOMAIN: &[u8] = b"attribution-chain/influence/source/v1";
const HEADER_BYTES: usize = 72;
const ROW_BYTES: usize = 12;

fn le<const N: usize>(bytes: &[u8], at: usize) -> [u8; N] {
    bytes[at..at + N].try_into().expect("N bytes")
}

/// What identifies an influence index's inputs: BLAKE2b-256 of [`FINGERPRINT_DOMAIN`], the base
/// model's identity (`base`: its weights hash, or any bytes naming it), the fine-tuning method
/// (`lora`, `qlora` or `qlora-nf4`: which precision of the base the gradients are taken over,
/// [`crate::tuning::Method::variant`]), the adapter
/// file's bytes, the rows' source fingerprint (tokenizer, blobs and held-out rows,
/// [`crate::provenance::index::source_fingerprint`]) and the token cutoff rows were encoded
/// with; byte strings length-prefixed (u64 LE).
pub fn influence_fingerprint(
    base: &[u8],
    method: &str,
    adapter: &[u8],
    rows: TrainingRows<'_>,
    tokenizer: &Tokenizer,
    cutoff: usize,
) -> Result<[u8; 32]> {
    let mut hasher = Blake2b::<U32>::new();
    hasher.update(FINGERPRINT_DOMAIN);
    for part in [base, method.as_bytes(), adapter] {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    hasher.update(source_fingerprint(rows, tokenizer)?);
    hasher.update((cutoff as u64).to_le_bytes());
    Ok(hasher.finalize().into())
}

impl InfluenceIndex {
    /// The file's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(
            HEADER_BYTES
                + ROW_BYTES * self.rows.len()
                + 4 * self.features.len()
                + sealed::CHECKSUM_BYTES,
        );
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        bytes.extend_from_slice(&(self.config.dims as u32).to_le_bytes());
        bytes.extend_from_slice(&self.config.seed.to_le_bytes());
        bytes.extend_from_slice(&self.config.damping.to_le_bytes());
        bytes.extend_from_slice(&self.fingerprint);
        bytes.extend_from_slice(&(self.rows.len() as u64).to_le_bytes());
        for row in &self.rows {
            bytes.extend_from_slice(&row.contribution.to_le_bytes());
            bytes.extend_from_slice(&row.row.to_le_bytes());
        }
        for value in &self.features {
            bytes.extend_from_slice(&value.to_le_bytes());
        }
        sealed::seal(bytes)
    }

    /// Reads the bytes of [`InfluenceIndex::to_bytes`] back, checking them.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let body = sealed::open(
            bytes,
            MAGIC,
            FORMAT_VERSION,
            HEADER_BYTES,
            "an influence index",
        )?;
        let config = InfluenceConfig {
            dims: usize::try_from(u32::from_le_bytes(le(body, 12)))?,
            seed: u64::from_le_bytes(le(body, 16)),
            damping: f64::from_le_bytes(le(body, 24)),
        };
        let fingerprint: [u8; 32] = le(body, 32);
        let rows = usize::try_from(u64::from_le_bytes(le(body, 64)))?;
        let expected = rows
            .checked_mul(config.dims)
            .and_then(|values| values.checked_mul(4))
            .zip(rows.checked_mul(ROW_BYTES))
            .and_then(|(features, rows)| features.checked_add(rows)?.checked_add(HEADER_BYTES));
        ensure!(
            expected == Some(body.len()),
            "{rows} rows of {} dimensions do not fill {} bytes",
            config.dims,
            body.len()
        );
        let mut at = HEADER_BYTES;
        let mut row_refs = Vec::with_capacity(rows);
        for _ in 0..rows {
            row_refs.push(RowRef {
                contribution: u64::from_le_bytes(le(body, at)),
                row: u32::from_le_bytes(le(body, at + 8)),
            });
            at += ROW_BYTES;
        }
        let features = body[at..]
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes")))
            .collect();
        Self::from_parts(fingerprint, config, row_refs, features)
    }

    /// Writes the index to `path` (through a temporary file in the same directory, renamed, so a
    /// reader never sees half a file).
    pub fn save(&self, path: &Path) -> Result<()> {
        sealed::write(path, &self.to_bytes())
    }

    /// Reads the index at `path`.
    pub fn load(path: &Path) -> Result<Self> {
        Self::from_bytes(&sealed::read(path)?).with_context(|| format!("in {}", path.display()))
    }

    /// is run and its index written there.
    pub fn load_or_build(
        path: &Path,
        fingerprint: [u8; 32],
        config: InfluenceConfig,
        build: impl FnOnce() -> Result<Self>,
    ) -> Result<Self> {
        if path.exists() {
            match Self::load(path) {
                Ok(index) if index.fingerprint == fingerprint && index.config == config => {
                    return Ok(index)
                }
                Ok(_) => tracing::warn!(
                    path = %path.display(),
                    "influence index built from other inputs or settings: rebuilding"
                ),
                Err(error) => tracing::warn!(
                    path = %path.display(),
                    "unreadable influence index, rebuilding: {error:#}"
                ),
            }
        }
        let index = build()?;
        ensure!(
            index.fingerprint == fingerprint && index.config == config,
            "the influence index built does not match the inputs it was asked for"
        );
        index.save(path)?;
        Ok(index)
    }
}
