//! A Llama-architecture GGUF as a [`WeightSource`]: the configuration from `llama.*` metadata,
//! tensors under their Hugging Face names and layout, decoded one at a time.
//!
//! llama.cpp's converter reorders the rows of `q_proj` and `k_proj` within each head for its
//! RoPE (which pairs neighbouring dimensions, where Hugging Face pairs `i` with
//! `i + head_dim/2`). Reading them back undoes it, as transformers' GGUF loader does:
//!
//! ```text
//! GGUF row  h·head_dim + 2i + j   =   Hugging Face row  h·head_dim + j·head_dim/2 + i
//! (h: head, i < head_dim/2, j ∈ {0, 1}; heads = key/value heads for k_proj)
//! ```

use super::{BlockMatrix, GgufFile, TensorInfo};
use crate::checkpoint::{HostTensor, WeightSource};
use crate::model::LlamaConfig;
use anyhow::{bail, ensure, Context, Result};
use std::collections::BTreeMap;
use std::path::Path;

/// The architecture this loader maps (`general.architecture`).
pub const ARCHITECTURE: &str = "llama";

/// A Llama GGUF file with its configuration.
#[derive(Debug)]
pub struct GgufLlama {
    file: GgufFile,
    config: LlamaConfig,
    /// Hugging Face name -> GGUF name, for every tensor of the model.
    names: BTreeMap<String, String>,
}

impl GgufLlama {
    /// Opens `path` and maps its metadata and tensors onto [`LlamaConfig`].
    pub fn open(path: &Path) -> Result<Self> {
        Self::new(GgufFile::open(path)?)
    }

    /// Maps an open file, refusing architectures, options and tensors the model does not have.
    pub fn new(file: GgufFile) -> Result<Self> {
        let config = config_from_metadata(&file).with_context(|| {
            format!(
                "reading the model configuration of {}",
                file.path().display()
            )
        })?;
        let names: BTreeMap<String, String> = config
            .tensor_shapes()
            .into_iter()
            .map(|(hf, _)| {
                let gguf = gguf_name(&hf).expect("every model tensor has a GGUF name");
                (hf, gguf)
            })
            .collect();
        let unknown: Vec<&str> = file
            .tensors
            .iter()
            .map(|t| t.name.as_str())
            .filter(|name| !names.values().any(|n| n == name))
            .collect();
        if let Some(name) = unknown.first() {
            let why = if *name == "rope_freqs.weight" {
                " (per-frequency RoPE scaling, as Llama 3.1 uses, is not supported)"
            } else if name.ends_with(".bias") {
                " (projection biases are not supported)"
            } else {
                ""
            };
            bail!(
                "{}: tensor `{name}` has no place in a Llama model{why}; unexpected tensors: {unknown:?}",
                file.path().display()
            );
        }
        Ok(Self {
            file,
            config,
            names,
        })
    }

    /// The underlying file (metadata, tokenizer, tensor types).
    pub fn file(&self) -> &GgufFile {
        &self.file
    }
}

impl WeightSource for GgufLlama {
    fn config(&self) -> &LlamaConfig {
        &self.config
    }

    fn read(&self, name: &str, shape: &[usize]) -> Result<HostTensor> {
        let (gguf, _) = self.stored(name, shape)?;
        let mut values = self.file.read(gguf)?;
        if let Some(heads) = self.permuted_heads(name) {
            values = unpermute_rows(&values, heads, self.config.head_dim(), shape[1]);
        }
        Ok(HostTensor {
            shape: shape.to_vec(),
            values,
        })
    }

    fn read_blocks(&self, name: &str, shape: &[usize]) -> Result<Option<BlockMatrix>> {
        let (_, info) = self.stored(name, shape)?;
        let &[rows, cols] = shape else {
            return Ok(None);
        };
        if !info.ggml_type.is_block_quantized() {
            return Ok(None);
        }
        let matrix = BlockMatrix::new(info.ggml_type, self.file.raw(info)?, rows, cols)
            .with_context(|| format!("GGUF tensor `{}` ({name})", info.name))?;
        match self.permuted_heads(name) {
            Some(heads) => {
                // The same row order as `read`'s, undone on whole rows of blocks.
                let rows: Vec<usize> = (0..rows).collect();
                matrix.permute_rows(&unpermute_rows(&rows, heads, self.config.head_dim(), 1))
            }
            None => Ok(matrix),
        }
        .map(Some)
    }
}

impl GgufLlama {
    /// The GGUF name and description of Hugging Face tensor `name`, checked to have `shape`.
    fn stored(&self, name: &str, shape: &[usize]) -> Result<(&str, &TensorInfo)> {
        let gguf = self
            .names
            .get(name)
            .with_context(|| format!("the model has no tensor `{name}`"))?;
        let info = self.file.tensor_info(gguf).with_context(|| {
            format!(
                "{} has no tensor `{gguf}` ({name})",
                self.file.path().display()
            )
        })?;
        ensure!(
            info.shape() == shape,
            "GGUF tensor `{gguf}` has shape {:?}, but the metadata implies {shape:?}",
            info.shape()
        );
        Ok((gguf, info))
    }

    /// The heads of `name` when llama.cpp reordered its rows (`q_proj` and `k_proj`).
    fn permuted_heads(&self, name: &str) -> Option<usize> {
        if name.ends_with("self_attn.q_proj.weight") {
            Some(self.config.num_attention_heads)
        } else if name.ends_with("self_attn.k_proj.weight") {
            Some(self.config.kv_heads())
        } else {
            None
        }
    }
}

/// Undoes llama.cpp's per-head row order of `q_proj`/`k_proj` (`[heads·head_dim, cols]`).
pub fn unpermute_rows<T: Copy + Default>(
    values: &[T],
    heads: usize,
    head_dim: usize,
    cols: usize,
) -> Vec<T> {
    let half = head_dim / 2;
    let mut out = vec![T::default(); values.len()];
    for h in 0..heads {
        for i in 0..half {
            for j in 0..2 {
                let from = (h * head_dim + 2 * i + j) * cols;
                let to = (h * head_dim + j * half + i) * cols;
                out[to..to + cols].copy_from_slice(&values[from..from + cols]);
            }
        }
    }
    out
}

/// The GGUF name of a Hugging Face Llama tensor.
pub fn gguf_name(hf: &str) -> Option<String> {
    let fixed = match hf {
        "model.embed_tokens.weight" => Some("token_embd.weight"),
        "model.norm.weight" => Some("output_norm.weight"),
        "lm_head.weight" => Some("output.weight"),
        _ => None,
    };
    if let Some(name) = fixed {
        return Some(name.to_string());
    }
    let (layer, module) = hf.strip_prefix("model.layers.")?.split_once('.')?;
    let name = match module {
        "self_attn.q_proj.weight" => "attn_q",
        "self_attn.k_proj.weight" => "attn_k",
        "self_attn.v_proj.weight" => "attn_v",
        "self_attn.o_proj.weight" => "attn_output",
        "mlp.gate_proj.weight" => "ffn_gate",
        "mlp.up_proj.weight" => "ffn_up",
        "mlp.down_proj.weight" => "ffn_down",
        "input_layernorm.weight" => "attn_norm",
        "post_attention_layernorm.weight" => "ffn_norm",
        _ => return None,
    };
    Some(format!("blk.{layer}.{name}.weight"))
}

/// [`LlamaConfig`] from `general.architecture` and the `llama.*` keys.
pub fn config_from_metadata(file: &GgufFile) -> Result<LlamaConfig> {
    let arch = file.string("general.architecture")?;
    ensure!(
        arch == ARCHITECTURE,
        "GGUF architecture `{arch}` is not supported (expected `{ARCHITECTURE}`)"
    );
    let key = |name: &str| format!("{arch}.{name}");
    if let Some(experts) = file.optional_usize(&key("expert_count"))? {
        ensure!(
            experts == 0,
            "mixture-of-experts models ({} = {experts}) are not supported",
            key("expert_count")
        );
    }
    if let Some(scaling) = file.get(&key("rope.scaling.type")) {
        let kind = scaling.as_str().unwrap_or("?");
        ensure!(
            kind == "none",
            "RoPE scaling `{kind}` ({}) is not supported",
            key("rope.scaling.type")
        );
    }
    let hidden_size = file.usize(&key("embedding_length"))?;
    let num_attention_heads = file.usize(&key("attention.head_count"))?;
    ensure!(
        num_attention_heads > 0,
        "{} is 0",
        key("attention.head_count")
    );
    let kv_heads = file
        .optional_usize(&key("attention.head_count_kv"))?
        .unwrap_or(num_attention_heads);
    let head_dim = file
        .optional_usize(&key("attention.key_length"))?
        .unwrap_or(hidden_size / num_attention_heads);
    if let Some(value_length) = file.optional_usize(&key("attention.value_length"))? {
        ensure!(
            value_length == head_dim,
            "{} ({value_length}) differs from the key length ({head_dim}): not supported",
            key("attention.value_length")
        );
    }
    if let Some(rotary) = file.optional_usize(&key("rope.dimension_count"))? {
        ensure!(
            rotary == head_dim,
            "partial rotary embeddings ({} = {rotary}, head_dim {head_dim}) are not supported",
            key("rope.dimension_count")
        );
    }
    let vocab_size = match file.get("tokenizer.ggml.tokens").and_then(|t| t.as_array()) {
        Some(tokens) => tokens.len(),
        None => match file.optional_usize(&key("vocab_size"))? {
            Some(size) => size,
            None => file
                .tensor_info("token_embd.weight")
                .context("no token list, vocab_size or token_embd.weight")?
                .shape()[0],
        },
    };
    let token_id = |name: &str| -> Result<Option<u32>> {
        file.optional_usize(name)?
            .map(|id| u32::try_from(id).context("token id out of range"))
            .transpose()
    };
    let config = LlamaConfig {
        model_type: ARCHITECTURE.into(),
        vocab_size,
        hidden_size,
        intermediate_size: file.usize(&key("feed_forward_length"))?,
        num_hidden_layers: file.usize(&key("block_count"))?,
        num_attention_heads,
        num_key_value_heads: Some(kv_heads),
        head_dim: (head_dim != hidden_size / num_attention_heads).then_some(head_dim),
        rms_norm_eps: file
            .optional_f64(&key("attention.layer_norm_rms_epsilon"))?
            .context("no attention.layer_norm_rms_epsilon")?,
        rope_theta: file
            .optional_f64(&key("rope.freq_base"))?
            .unwrap_or(10_000.0),
        max_position_embeddings: file.optional_usize(&key("context_length"))?.unwrap_or(2048),
        tie_word_embeddings: file.tensor_info("output.weight").is_none(),
        bos_token_id: token_id("tokenizer.ggml.bos_token_id")?,
        eos_token_id: token_id("tokenizer.ggml.eos_token_id")?,
    };
    config.validate()?;
    Ok(config)
}
