//! An adapter's influence as the server holds it: the base model with the adapter attached as a
//! burn model on an autodiff CPU device (the serving runtime computes no gradients), and the
//! index of its training rows, read from the file beside the adapter or built on first serve.
//!
//! Memory: beside the serving runtime's copy, the base's weights as the adapter was trained on
//! them — `f32` for LoRA (4 bytes per parameter: 540 MB for a 135M model), NF4 projections for
//! QLoRA (half a byte per weight plus a scale per block; embedding, head and norms stay `f32`) —
//! plus `n · k` floats of row features.

use super::file::{influence_fingerprint, FILE_NAME};
use super::index::{InfluenceAttribution, InfluenceConfig, InfluenceIndex};
use crate::checkpoint::{parse_safetensors, WeightSource};
use crate::data::{encode, SpecialTokens};
use crate::lora::LoraConfig;
use crate::model::Llama;
use crate::peft::attach_adapter;
use crate::provenance::index::TrainingRows;
use crate::tuning::Method;
use anyhow::{Context, Result};
use burn::tensor::Device;
use std::path::Path;
use std::sync::Mutex;
use tokenizers::Tokenizer;

/// Where an adapter's influence file lives: beside the adapter's weights, named after them
/// (`{adapter file stem}.influence.bin`), or `influence.bin` inside an adapter directory.
pub fn file_beside(adapter: &Path) -> std::path::PathBuf {
    if adapter.is_dir() {
        return adapter.join(FILE_NAME);
    }
    let stem = adapter
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    adapter.with_file_name(format!("{stem}.{FILE_NAME}"))
}

/// What an influence index is built from.
pub struct InfluenceSource<'a, W: WeightSource> {
    /// The base model's weights.
    pub base: &'a W,
    /// Bytes naming the base (its weights hash on chain, or its file's name locally).
    pub base_id: &'a [u8],
    pub lora: &'a LoraConfig,
    /// The adapter was trained on the NF4 base (QLoRA): its gradients are taken over the same
    /// NF4 weights, not a dense `f32` copy.
    pub qlora: bool,
    /// The adapter's `adapter_model.safetensors` bytes (PEFT layout).
    pub adapter: &'a [u8],
    /// The training rows: the version's verified blobs but the job's held-out rows.
    pub rows: TrainingRows<'a>,
    pub tokenizer: &'a Tokenizer,
    /// Special tokens and cutoff the rows were trained with.
    pub special: SpecialTokens,
    pub cutoff: usize,
}

/// An adapter, as a model that takes gradients, with its rows' influence index.
pub struct AdapterInfluence {
    model: Mutex<Llama>,
    device: Device,
    pad: u32,
    pub index: InfluenceIndex,
}

impl AdapterInfluence {
    /// The adapter of `source` and its index: read from `path` when it holds this adapter's
    /// rows under these settings, otherwise built (one backward pass per row) and written there.
    pub fn load_or_build<W: WeightSource>(
        path: &Path,
        source: &InfluenceSource<'_, W>,
        config: InfluenceConfig,
    ) -> Result<Self> {
        let device = Device::flex().autodiff();
        // No dropout: an answer's gradient must not depend on a random mask.
        let lora = source.lora.clone().with_dropout(0.0);
        let method = if source.qlora {
            Method::Qlora(lora.clone())
        } else {
            Method::Lora(lora.clone())
        };
        let model = Llama::from_checkpoint(source.base, &method, &device)?;
        let model = attach_adapter(model, &lora, parse_safetensors(source.adapter)?)
            .context("attaching the adapter for influence")?;
        let fingerprint = influence_fingerprint(
            source.base_id,
            method.variant(),
            source.adapter,
            source.rows,
            source.tokenizer,
            source.cutoff,
        )?;
        let pad = source.special.pad;
        let index = InfluenceIndex::load_or_build(path, fingerprint, config, || {
            let started = std::time::Instant::now();
            let mut rows = Vec::new();
            for (row, example) in source.rows.examples()? {
                let encoded = encode(source.tokenizer, &example, source.special, source.cutoff)?;
                if encoded.tokens.len() > encoded.prompt_len.max(1) {
                    rows.push((row, encoded));
                }
            }
            let index = InfluenceIndex::build(&model, &rows, pad, config, fingerprint, &device)?;
            tracing::info!(
                rows = rows.len(),
                dims = config.dims,
                seconds = started.elapsed().as_secs_f64(),
                path = %path.display(),
                "influence index built"
            );
            Ok(index)
        })?;
        Ok(Self {
            model: Mutex::new(model),
            device,
            pad,
            index,
        })
    }

    /// The influence of the training rows on `answer` after `prompt` (one backward pass).
    pub fn attribute(&self, prompt: &[u32], answer: &[u32]) -> Result<InfluenceAttribution> {
        let model = self
            .model
            .lock()
            .map_err(|_| anyhow::anyhow!("the influence model's lock is poisoned"))?;
        self.index
            .attribute(&model, prompt, answer, self.pad, &self.device)
    }
}
