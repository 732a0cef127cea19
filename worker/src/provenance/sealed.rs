//! The envelope of the worker's index files (the span index, the influence index): the file
//! starts with an 8-byte magic and a `u32` format version and ends with a BLAKE2b-256 checksum
//! of every byte before it, so a truncated or corrupt file is refused before any field is read.
//! Files are replaced through a temporary file in the same directory, so a reader never sees
//! half of one.

use anyhow::{ensure, Context, Result};
use blake2::digest::consts::U32;
use blake2::{Blake2b, Digest};
use std::io::Write;
use std::path::Path;

pub const CHECKSUM_BYTES: usize = 32;

fn checksum(bytes: &[u8]) -> [u8; 32] {
    Blake2b::<U32>::digest(bytes).into()
}

/// `bytes` (magic, version, fields) followed by their checksum.
pub fn seal(mut bytes: Vec<u8>) -> Vec<u8> {
    let sum = checksum(&bytes);
    bytes.extend_from_slice(&sum);
    bytes
}

/// The body of a sealed file (without its checksum) once its size (at least `header` bytes
/// before the checksum), checksum, `magic` and `version` are right; `what` names the file in
/// errors.
pub fn open<'a>(
    bytes: &'a [u8],
    magic: &[u8; 8],
    version: u32,
    header: usize,
    what: &str,
) -> Result<&'a [u8]> {
    ensure!(
        bytes.len() >= header + CHECKSUM_BYTES,
        "{} bytes are too few for {what}",
        bytes.len()
    );
    let (body, sum) = bytes.split_at(bytes.len() - CHECKSUM_BYTES);
    ensure!(
        checksum(body)[..] == sum[..],
        "the checksum of {what} does not match its contents (corrupt or truncated)"
    );
    ensure!(&body[..8] == magic, "not {what} (wrong magic)");
    let found = u32::from_le_bytes(body[8..12].try_into().expect("4 bytes"));
    ensure!(
        found == version,
        "{what}: format version {found}, this worker reads {version}"
    );
    Ok(body)
}

/// Writes `bytes` to `path` through a temporary file in the same directory, renamed.
pub fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut file = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("creating a file in {}", dir.display()))?;
    file.write_all(bytes)?;
    file.persist(path)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// The file at `path`.
pub fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}
