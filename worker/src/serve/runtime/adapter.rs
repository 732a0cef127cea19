//! LoRA adapters kept unmerged beside the base weights, so sequences of different adapters
//! (or none) share one pass: the base projection runs once for every row of the batch, then
//! each row adds `scale·(x·A)·B` of its own adapter (as S-LoRA and Punica do), rows in
//! parallel.

use super::LoraWeights;
use crate::checkpoint::decode;
use crate::lora::{LoraConfig, TargetModule};
use crate::peft;
use anyhow::{bail, ensure, Context, Result};
use memmap2::Mmap;
use safetensors::tensor::TensorView;
use safetensors::SafeTensors;
use std::collections::BTreeMap;
use std::fs::File;
use std::path::Path;

impl LoraWeights {
    /// [`LoraWeights::from_peft`] on the file at `path`, mapped rather than read: the factors
    /// are then written once, into the memory they stay in.
    pub fn read_peft(path: &Path, config: &LoraConfig) -> Result<Self> {
        let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
        // SAFETY: adapter files are written whole before they are served and not changed
        // while a load reads them (the daemon names them by their hash; `serve --adapter`
        // reads an operator's directory); the map lives only for this call.
        let bytes =
            unsafe { Mmap::map(&file) }.with_context(|| format!("mapping {}", path.display()))?;
        Self::from_peft(&bytes, config).with_context(|| format!("reading {}", path.display()))
    }

    /// Reads a PEFT `adapter_model.safetensors` (already in memory) whose description is
    /// `config` (from `adapter_config.json`, see [`peft::PeftConfig`]): `lora_A: [r, d_in]`,
    /// `lora_B: [d_out, r]` under `base_model.model.<module path>.lora_{A,B}.weight`. `lora_A`
    /// is kept as stored, `lora_B` transposed to `[r, d_out]`, each decoded once. Whether each
    /// path is a projection of the model, and its shape, is checked when a runtime loads the
    /// adapter.
    pub fn from_peft(safetensors: &[u8], config: &LoraConfig) -> Result<Self> {
        let targets = config.validate()?;
        let file = SafeTensors::deserialize(safetensors).context("reading a PEFT adapter")?;
        let mut tensors: BTreeMap<String, TensorView<'_>> = file.tensors().into_iter().collect();
        let paths: Vec<String> = tensors
            .keys()
            .filter_map(|name| {
                name.strip_prefix("base_model.model.")?
                    .strip_suffix(".lora_A.weight")
                    .map(str::to_string)
            })
            .collect();
        let r = config.rank;
        let mut projections = Vec::with_capacity(paths.len());
        for path in paths {
            ensure!(
                targets.iter().any(|t| path.ends_with(t.hf_name())),
                "adapter tensor for `{path}`, which is not among its target modules {:?}",
                config.targets
            );
            let a_key = peft::key(&path, "lora_A");
            let b_key = peft::key(&path, "lora_B");
            let a = tensors.remove(&a_key).expect("listed above");
            let b = tensors
                .remove(&b_key)
                .with_context(|| format!("adapter has `{a_key}` but no `{b_key}`"))?;
            ensure!(
                a.shape().len() == 2 && a.shape()[0] == r,
                "adapter tensor `{a_key}` has shape {:?}, expected [{r}, d_in]",
                a.shape()
            );
            ensure!(
                b.shape().len() == 2 && b.shape()[1] == r,
                "adapter tensor `{b_key}` has shape {:?}, expected [d_out, {r}]",
                b.shape()
            );
            let a_t = decode(&a).with_context(|| format!("tensor `{a_key}`"))?;
            let b_stored = decode(&b).with_context(|| format!("tensor `{b_key}`"))?;
            let d_out = b.shape()[0];
            let mut b = vec![0.0; b_stored.len()];
            for (o, row) in b_stored.chunks_exact(r).enumerate() {
                for (k, &value) in row.iter().enumerate() {
                    b[k * d_out + o] = value;
                }
            }
            projections.push((path, a_t, b));
        }
        if let Some(name) = tensors.keys().next() {
            bail!("adapter tensor `{name}` is not a LoRA factor this runtime reads");
        }
        ensure!(
            !projections.is_empty(),
            "the adapter file has no LoRA factors"
        );
        Ok(Self {
            config: config.clone(),
            projections,
        })
    }
}

/// One projection's factors as the runtime applies them.
#[derive(Debug)]
pub struct Factors {
    /// `Aᵀ: [r, d_in]`, so each `x·A` entry is a contiguous dot product.
    a_t: Vec<f32>,
    /// `B: [r, d_out]`
    b: Vec<f32>,
    rank: usize,
    scale: f32,
}

/// A loaded adapter: per layer, the factors of each [`TargetModule`] it adapts.
#[derive(Debug)]
pub struct Adapter {
    pub layers: Vec<[Option<Factors>; 7]>,
    pub bytes: usize,
}

/// Index of a target in [`TargetModule::ALL`].
pub fn target_index(target: TargetModule) -> usize {
    TargetModule::ALL
        .iter()
        .position(|&t| t == target)
        .expect("every target is in ALL")
}

impl Adapter {
    /// Checks `weights` against the model: `locate` maps a module path to its layer and
    /// target, `shape` gives a target's `[d_in, d_out]`.
    pub fn new(
        weights: LoraWeights,
        layers: usize,
        locate: impl Fn(&str) -> Option<(usize, TargetModule)>,
        shape: impl Fn(TargetModule) -> [usize; 2],
    ) -> Result<Self> {
        let rank = weights.config.rank;
        ensure!(rank > 0, "adapter rank must be at least 1");
        let scale = weights.config.scale() as f32;
        let mut adapter = Adapter {
            layers: (0..layers).map(|_| Default::default()).collect(),
            bytes: 0,
        };
        for (path, a_t, b) in weights.projections {
            let (layer, target) =
                locate(&path).with_context(|| format!("the model has no projection `{path}`"))?;
            let [d_in, d_out] = shape(target);
            ensure!(
                a_t.len() == d_in * rank && b.len() == rank * d_out,
                "adapter factors of `{path}` have {} and {} values; rank {rank} on [{d_in}, {d_out}] \
                 needs {} and {}",
                a_t.len(),
                b.len(),
                d_in * rank,
                rank * d_out
            );
            let slot = &mut adapter.layers[layer][target_index(target)];
            ensure!(slot.is_none(), "adapter has `{path}` twice");
            adapter.bytes += (a_t.len() + b.len()) * std::mem::size_of::<f32>();
            *slot = Some(Factors {
                a_t,
                b,
                rank,
                scale,
            });
        }
        Ok(adapter)
    }
}

impl Factors {
    /// `y += scale·(x·A)·B` for one row: `x: [d_in]`, `y: [d_out]`. Each entry is summed in one
    /// fixed order, whatever other rows share the pass.
    pub fn apply_row(&self, x: &[f32], y: &mut [f32]) {
        let d_in = x.len();
        let mut down = vec![0.0f32; self.rank];
        for (u, a) in down.iter_mut().zip(self.a_t.chunks_exact(d_in)) {
            *u = self.scale * dot(a, x);
        }
        for (&u, b) in down.iter().zip(self.b.chunks_exact(y.len())) {
            for (y, b) in y.iter_mut().zip(b) {
                *y += u * b;
            }
        }
    }
}

/// `a·b` as eight interleaved partial sums added pairwise: a fixed order (the same bits on any
/// CPU) that the compiler turns into vector code, where a sequential sum stays scalar.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let (a_lanes, b_lanes) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = a_lanes
        .remainder()
        .iter()
        .zip(b_lanes.remainder())
        .map(|(a, b)| a * b)
        .sum();
    let mut lanes = [0.0f32; 8];
    for (a, b) in a_lanes.zip(b_lanes) {
        for i in 0..8 {
            lanes[i] += a[i] * b[i];
        }
    }
    let [l0, l1, l2, l3, l4, l5, l6, l7] = lanes;
    (((l0 + l4) + (l1 + l5)) + ((l2 + l6) + (l3 + l7))) + tail
}
