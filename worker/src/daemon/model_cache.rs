//! The operator's local base models, found by the weights hash registered on chain: a `.gguf`
//! file is identified by its own hash, a Hugging Face directory by its `model.safetensors`.
//! Hashes are remembered in `.hashes.json` beside the models (keyed by path, size and
//! modification time), so a large file is read once, not at every job.

use crate::artifact::blake2b_256;
use anyhow::{bail, Context, Result};
use attribution_primitives::Hash;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

const INDEX_FILE: &str = ".hashes.json";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Entry {
    size: u64,
    modified_ns: u128,
    hash: Hash,
}

/// A directory of base models.
pub struct ModelCache {
    dir: PathBuf,
}

impl ModelCache {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The model whose weights hash is `hash`: a `.gguf` file or a model directory.
    pub fn find(&self, hash: &Hash) -> Result<PathBuf> {
        for (model, weights) in self.candidates()? {
            if self.weights_hash(&weights)? == *hash {
                return Ok(model);
            }
        }
        bail!(
            "no model in {} has the registered weights hash {hash:?} (put its .gguf file or \
             Hugging Face directory there)",
            self.dir.display()
        )
    }

    /// Every model in the directory with the file its hash is taken of.
    fn candidates(&self) -> Result<Vec<(PathBuf, PathBuf)>> {
        let mut found = Vec::new();
        let entries = std::fs::read_dir(&self.dir)
            .with_context(|| format!("reading the model cache {}", self.dir.display()))?;
        for entry in entries {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "gguf") && path.is_file() {
                found.push((path.clone(), path));
            } else if path.join("model.safetensors").is_file() {
                found.push((path.clone(), path.join("model.safetensors")));
            }
        }
        found.sort();
        Ok(found)
    }

    /// The blake2-256 of `file`, from the index when the file is unchanged.
    pub fn weights_hash(&self, file: &Path) -> Result<Hash> {
        let metadata = std::fs::metadata(file)?;
        let modified_ns = metadata
            .modified()?
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let key = file.display().to_string();
        let index_path = self.dir.join(INDEX_FILE);
        let mut index: BTreeMap<String, Entry> = std::fs::read(&index_path)
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();
        if let Some(entry) = index.get(&key) {
            if entry.size == metadata.len() && entry.modified_ns == modified_ns {
                return Ok(entry.hash);
            }
        }
        let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        let hash = Hash::from(blake2b_256(&bytes));
        index.insert(
            key,
            Entry {
                size: metadata.len(),
                modified_ns,
                hash,
            },
        );
        // The index only saves time: failing to write it is not an error.
        let _ = std::fs::write(&index_path, serde_json::to_vec_pretty(&index)?);
        Ok(hash)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_gguf_files_and_model_directories_by_hash() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.gguf"), b"gguf bytes").unwrap();
        std::fs::create_dir(dir.path().join("hf")).unwrap();
        std::fs::write(
            dir.path().join("hf/model.safetensors"),
            b"safetensors bytes",
        )
        .unwrap();
        let cache = ModelCache::new(dir.path());
        let gguf = Hash::from(blake2b_256(b"gguf bytes"));
        let hf = Hash::from(blake2b_256(b"safetensors bytes"));
        assert_eq!(cache.find(&gguf).unwrap(), dir.path().join("a.gguf"));
        assert_eq!(cache.find(&hf).unwrap(), dir.path().join("hf"));
        // Answered from the index the second time, and still right.
        assert_eq!(cache.find(&gguf).unwrap(), dir.path().join("a.gguf"));
        let error = cache.find(&Hash::repeat_byte(9)).unwrap_err();
        assert!(format!("{error}").contains("no model"));
    }

    #[test]
    fn a_changed_file_is_hashed_again() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("m.gguf");
        std::fs::write(&file, b"first").unwrap();
        let cache = ModelCache::new(dir.path());
        assert_eq!(
            cache.weights_hash(&file).unwrap(),
            Hash::from(blake2b_256(b"first"))
        );
        std::fs::write(&file, b"second, longer").unwrap();
        assert_eq!(
            cache.weights_hash(&file).unwrap(),
            Hash::from(blake2b_256(b"second, longer"))
        );
    }
}
