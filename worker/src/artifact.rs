//! What a run leaves on disk: the trained parameters at each checkpoint, each with the
//! BLAKE2b-256 hash of its weights file (the leaves of the training proof's Merkle tree).

use crate::checkpoint::{write_safetensors, HostTensor, StoredDtype};
use crate::model::Llama;
use crate::peft;
use crate::train::Output;
use crate::tuning::Method;
use anyhow::{Context, Result};
use blake2::digest::consts::U32;
use blake2::{Blake2b, Digest};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One written checkpoint.
#[derive(Debug, Clone, Serialize)]
pub struct CheckpointRecord {
    pub step: usize,
    /// The weights file that was hashed.
    pub path: PathBuf,
    /// Hex BLAKE2b-256 of that file's bytes.
    pub hash: String,
}

/// BLAKE2b with a 256-bit output.
pub fn blake2b_256(bytes: &[u8]) -> [u8; 32] {
    Blake2b::<U32>::digest(bytes).into()
}

/// Writes what `method` trains (a PEFT adapter, the prefixes, or the whole model) to
/// `output.dir/checkpoint-{step}` and hashes it.
pub fn write_trainable(
    model: &Llama,
    method: &Method,
    step: usize,
    output: &Output,
) -> Result<CheckpointRecord> {
    let dir = output.dir.join(format!("checkpoint-{step}"));
    let weights = match method {
        Method::Lora(lora) | Method::Qlora(lora) => {
            peft::save_adapter(model, lora, output.base_model.clone(), &dir)?;
            dir.join(peft::WEIGHTS_FILE)
        }
        Method::PTuning(_) => {
            std::fs::create_dir_all(&dir)?;
            let path = dir.join("prefix.safetensors");
            write_safetensors(&prefix_tensors(model), StoredDtype::F32, &path)?;
            path
        }
        Method::Full => {
            model
                .to_checkpoint(&output.model_config)
                .save(&dir, StoredDtype::F32)?;
            dir.join("model.safetensors")
        }
    };
    Ok(CheckpointRecord {
        step,
        hash: hash_file(&weights)?,
        path: weights,
    })
}

/// Hex BLAKE2b-256 of a file.
pub fn hash_file(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(hex::encode(blake2b_256(&bytes)))
}

/// The P-tuning prefixes, `model.layers.{i}.self_attn.prefix_{key,value}`: `[kv_heads, length, head_dim]`.
fn prefix_tensors(model: &Llama) -> BTreeMap<String, HostTensor> {
    let mut tensors = BTreeMap::new();
    for (index, layer) in model.layers.iter().enumerate() {
        if let Some(prefix) = &layer.attention.prefix {
            for (name, param) in [("key", &prefix.key), ("value", &prefix.value)] {
                let tensor = param.val();
                tensors.insert(
                    format!("model.layers.{index}.self_attn.prefix_{name}"),
                    HostTensor {
                        shape: tensor.dims().to_vec(),
                        values: tensor.into_data().try_to_vec::<f32>().expect("f32 tensor"),
                    },
                );
            }
        }
    }
    tensors
}
