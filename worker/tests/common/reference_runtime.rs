//! A test oracle for [`Runtime`]: the burn [`Llama`] recomputing each sequence from its first
//! token whenever logits are asked for. Slow by design (no KV cache), simple enough to be right;
//! the attribution code is tested and benchmarked against it until the native runtime lands.

use anyhow::{anyhow, bail, Result};
use attribution_worker::model::{Llama, LlamaConfig};
use attribution_worker::serve::runtime::{AdapterKey, Chunk, Logits, LoraWeights, Runtime, SlotId};
use burn::tensor::{Device, Int, Tensor, TensorData};
use std::collections::BTreeMap;

pub struct ReferenceRuntime {
    model: Llama,
    config: LlamaConfig,
    device: Device,
    /// Each live slot's tokens.
    slots: BTreeMap<SlotId, Vec<u32>>,
    next: SlotId,
    /// `forward` calls and chunks served, to check how a caller batches.
    pub passes: usize,
    pub chunks: usize,
}

impl ReferenceRuntime {
    pub fn new(model: Llama, config: LlamaConfig, device: Device) -> Self {
        Self {
            model,
            config,
            device,
            slots: BTreeMap::new(),
            next: 0,
            passes: 0,
            chunks: 0,
        }
    }

    pub fn live_slots(&self) -> usize {
        self.slots.len()
    }

    /// Logits of the last `rows` positions of `tokens`: `[rows, vocab]` row-major.
    fn logits(&self, tokens: &[u32], rows: usize) -> Result<Vec<f32>> {
        let ids: Vec<i64> = tokens.iter().map(|&t| i64::from(t)).collect();
        let input =
            Tensor::<2, Int>::from_data(TensorData::new(ids, [1, tokens.len()]), &self.device);
        let mut x = self.model.embed(input);
        for layer in &self.model.layers {
            x = layer.forward(x, &self.model.rope);
        }
        let [_, seq, d_model] = x.dims();
        let last = self
            .model
            .head(x.slice([0..1, seq - rows..seq, 0..d_model]));
        last.into_data()
            .try_into_vec::<f32>()
            .map_err(|e| anyhow!("reading logits: {e:?}"))
    }
}

impl Runtime for ReferenceRuntime {
    fn config(&self) -> &LlamaConfig {
        &self.config
    }

    fn max_positions(&self) -> usize {
        self.config.max_position_embeddings
    }

    fn allocate(&mut self, adapter: Option<AdapterKey>) -> Result<SlotId> {
        if adapter.is_some() {
            bail!("the reference runtime has no adapters");
        }
        let slot = self.next;
        self.next += 1;
        self.slots.insert(slot, Vec::new());
        Ok(slot)
    }

    fn fork(&mut self, from: SlotId, len: usize) -> Result<SlotId> {
        let tokens = self
            .slots
            .get(&from)
            .ok_or_else(|| anyhow!("no slot {from}"))?;
        if len > tokens.len() {
            bail!("fork of {len} positions from a slot of {}", tokens.len());
        }
        let copy = tokens[..len].to_vec();
        let slot = self.allocate(None)?;
        self.slots.insert(slot, copy);
        Ok(slot)
    }

    fn release(&mut self, slot: SlotId) {
        self.slots.remove(&slot);
    }

    fn positions(&self, slot: SlotId) -> usize {
        self.slots.get(&slot).map_or(0, Vec::len)
    }

    fn forward(&mut self, chunks: &[Chunk<'_>]) -> Result<Vec<f32>> {
        self.passes += 1;
        let mut out = Vec::new();
        for chunk in chunks {
            self.chunks += 1;
            let max = self.max_positions();
            let tokens = self
                .slots
                .get_mut(&chunk.slot)
                .ok_or_else(|| anyhow!("no slot {}", chunk.slot))?;
            if tokens.len() + chunk.tokens.len() > max {
                bail!("slot {} full", chunk.slot);
            }
            tokens.extend_from_slice(chunk.tokens);
            let rows = match chunk.logits {
                Logits::None => continue,
                Logits::Last => 1,
                Logits::All => chunk.tokens.len(),
            };
            let tokens = tokens.clone();
            out.extend(self.logits(&tokens, rows)?);
        }
        Ok(out)
    }

    fn forward_hidden(
        &mut self,
        _slot: SlotId,
        _tokens: &[u32],
        _hidden: &[Vec<std::ops::Range<usize>>],
    ) -> Result<Vec<f32>> {
        bail!("the reference runtime recomputes from tokens: it cannot hide cached positions")
    }

    fn load_adapter(&mut self, _adapter: LoraWeights) -> Result<(AdapterKey, usize)> {
        bail!("the reference runtime has no adapters")
    }

    fn unload_adapter(&mut self, key: AdapterKey) -> Result<()> {
        bail!("no adapter {key}")
    }
}
