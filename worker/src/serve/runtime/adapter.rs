//! LoRA adapters kept unmerged beside the base weights, so sequences of different adapters
//! (or none) share one pass: the base projection runs once for every row of the batch, then
//! each row adds `scale·(x·A)·B` of its own adapter, the rows gathered by adapter (as S-LoRA
//! and Punica do).

use super::LoraWeights;
use crate::checkpoint::parse_safetensors;
use crate::lora::{LoraConfig, TargetModule};
use crate::peft;
use anyhow::{bail, ensure, Context, Result};

impl LoraWeights {
    /// Reads a PEFT `adapter_model.safetensors` (already in memory) whose description is
    /// `config` (from `adapter_config.json`, see [`peft::PeftConfig`]): `lora_A: [r, d_in]`,
    /// `lora_B: [d_out, r]` under `base_model.model.<module path>.lora_{A,B}.weight`, turned
    /// into our `a: [d_in, r]`, `b: [r, d_out]`. Whether each path is a projection of the model,
    /// and its shape, is checked when a runtime loads the adapter.
    pub fn from_peft(safetensors: &[u8], config: &LoraConfig) -> Result<Self> {
        let targets = config.validate()?;
        let mut tensors = parse_safetensors(safetensors).context("reading a PEFT adapter")?;
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
                a.shape.len() == 2 && a.shape[0] == r,
                "adapter tensor `{a_key}` has shape {:?}, expected [{r}, d_in]",
                a.shape
            );
            ensure!(
                b.shape.len() == 2 && b.shape[1] == r,
                "adapter tensor `{b_key}` has shape {:?}, expected [d_out, {r}]",
                b.shape
            );
            projections.push((path, a.transposed().values, b.transposed().values));
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
        weights: &LoraWeights,
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
        for (path, a, b) in &weights.projections {
            let (layer, target) =
                locate(path).with_context(|| format!("the model has no projection `{path}`"))?;
            let [d_in, d_out] = shape(target);
            ensure!(
                a.len() == d_in * rank && b.len() == rank * d_out,
                "adapter factors of `{path}` have {} and {} values; rank {rank} on [{d_in}, {d_out}] \
                 needs {} and {}",
                a.len(),
                b.len(),
                d_in * rank,
                rank * d_out
            );
            let slot = &mut adapter.layers[layer][target_index(target)];
            ensure!(slot.is_none(), "adapter has `{path}` twice");
            let mut a_t = vec![0.0; a.len()];
            for i in 0..d_in {
                for k in 0..rank {
                    a_t[k * d_in + i] = a[i * rank + k];
                }
            }
            adapter.bytes += (a_t.len() + b.len()) * std::mem::size_of::<f32>();
            *slot = Some(Factors {
                a_t,
                b: b.clone(),
                rank,
                scale,
            });
        }
        Ok(adapter)
    }
}

impl Factors {
    /// `y[t, offset..offset + d_out] += scale·(x[t]·A)·B` for each row `t` in `rows`.
    ///
    /// - x: `[tokens, d_in]`
    /// - y: `[tokens, width]`
    pub fn apply(
        &self,
        x: &[f32],
        d_in: usize,
        rows: &[usize],
        y: &mut [f32],
        width: usize,
        offset: usize,
    ) {
        let d_out = self.b.len() / self.rank;
        let mut down = vec![0.0f32; self.rank];
        for &t in rows {
            let x = &x[t * d_in..(t + 1) * d_in];
            for (u, a) in down.iter_mut().zip(self.a_t.chunks_exact(d_in)) {
                *u = self.scale * a.iter().zip(x).map(|(a, x)| a * x).sum::<f32>();
            }
            let y = &mut y[t * width + offset..t * width + offset + d_out];
            for (&u, b) in down.iter().zip(self.b.chunks_exact(d_out)) {
                for (y, b) in y.iter_mut().zip(b) {
                    *y += u * b;
                }
            }
        }
    }
}
