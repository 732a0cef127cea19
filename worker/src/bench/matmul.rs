//! The machine's `f32` matmul throughput through burn's `flex` backend, and the floating-point
//! work of one training step, so a step's time can be read as a share of what the matmuls
//! alone could reach.

use crate::lora::TargetModule;
use crate::model::LlamaConfig;
use burn::tensor::{Device, Distribution, Tensor};
use serde::{Deserialize, Serialize};
use std::time::Instant;

/// One matmul shape `[m, k] × [k, n]` and its best measured throughput.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MatmulRate {
    pub name: String,
    pub m: usize,
    pub k: usize,
    pub n: usize,
    pub gflops: f64,
}

impl MatmulRate {
    pub fn flops(&self) -> f64 {
        2.0 * (self.m * self.k * self.n) as f64
    }
}

/// The shapes measured: the square 1024³ peak, then the model's matmuls at `tokens` rows
/// (`batch × seq`): each of the seven projections (named as [`TargetModule::hf_name`]), the
/// tied LM head, and LoRA's two narrow factors at `rank` on a `d_model` projection.
pub fn shapes(config: &LlamaConfig, tokens: usize, rank: usize) -> Vec<(String, [usize; 3])> {
    let mut shapes = vec![(SQUARE.to_string(), [1024, 1024, 1024])];
    for target in TargetModule::ALL {
        let [d_in, d_out] = config.projection_shape(target);
        shapes.push((target.hf_name().to_string(), [tokens, d_in, d_out]));
    }
    let d = config.hidden_size;
    shapes.push((HEAD.into(), [tokens, d, config.vocab_size]));
    shapes.push((LORA_A.into(), [tokens, d, rank]));
    shapes.push((LORA_B.into(), [tokens, rank, d]));
    shapes
}

pub const SQUARE: &str = "square 1024";
const HEAD: &str = "LM head";
const LORA_A: &str = "LoRA x·A";
const LORA_B: &str = "LoRA (x·A)·B";

/// The best of `repeats` timed products of random `[m, k] × [k, n]` matrices on `device`
/// (one untimed product first). `flex` runs eagerly, so the product is done when `matmul`
/// returns.
pub fn measure(name: &str, [m, k, n]: [usize; 3], repeats: usize, device: &Device) -> MatmulRate {
    let a = Tensor::<2>::random([m, k], Distribution::Uniform(-1.0, 1.0), device);
    let b = Tensor::<2>::random([k, n], Distribution::Uniform(-1.0, 1.0), device);
    drop(a.clone().matmul(b.clone()));
    let best = (0..repeats.max(1))
        .map(|_| {
            let start = Instant::now();
            let product = a.clone().matmul(b.clone());
            let seconds = start.elapsed().as_secs_f64();
            drop(product);
            seconds
        })
        .fold(f64::INFINITY, f64::min);
    MatmulRate {
        name: name.to_string(),
        m,
        k,
        n,
        gflops: 2.0 * (m * k * n) as f64 / best / 1e9,
    }
}

/// Floating-point operations of one training step, matmuls only (norms, softmax, RoPE, SwiGLU's
/// products and AdamW are elementwise and left out).
///
/// With `T = batch · seq` tokens, `P = Σ_layers Σ_projections d_in · d_out` (the seven
/// projections), `d` the hidden size, `V` the vocabulary, `h` query heads of width `hd`,
/// `r` the LoRA rank over the seven projections:
///
/// ```text
/// frozen projections   forward 2·T·P            + input gradient 2·T·P
/// tied LM head         forward 2·T·d·V          + input gradient 2·T·d·V
/// attention per layer  forward 4·batch·h·seq²·hd + backward 8·batch·h·seq²·hd
/// LoRA per projection  6·T·r·(d_in + d_out)   (x·A, (x·A)·B forward; their weight and input
///                                              gradients backward)
/// full fine-tuning     adds the weight gradients 2·T·P + 2·T·d·V and no LoRA term
/// ```
///
/// The input gradient of the first block's projections is counted although nothing below
/// them trains: an upper bound by one block in 30.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct StepFlops {
    pub projections: f64,
    pub head: f64,
    pub attention: f64,
    pub lora: f64,
    pub weight_gradients: f64,
}

impl StepFlops {
    pub fn new(config: &LlamaConfig, batch: usize, seq: usize, rank: usize) -> Self {
        let tokens = (batch * seq) as f64;
        let layers = config.num_hidden_layers as f64;
        let (mut p, mut lora) = (0.0, 0.0);
        for target in TargetModule::ALL {
            let [d_in, d_out] = config.projection_shape(target);
            p += (d_in * d_out) as f64;
            lora += 6.0 * tokens * rank as f64 * (d_in + d_out) as f64;
        }
        let head = (config.hidden_size * config.vocab_size) as f64;
        let attention_unit =
            (batch * config.num_attention_heads * seq * seq * config.head_dim()) as f64;
        Self {
            projections: 4.0 * tokens * p * layers,
            head: 4.0 * tokens * head,
            attention: 12.0 * attention_unit * layers,
            lora: lora * layers,
            weight_gradients: 2.0 * tokens * (p * layers + head),
        }
    }

    /// A LoRA (or QLoRA) step: the frozen model forward and backward plus the adapters.
    pub fn lora_step(&self) -> f64 {
        self.projections + self.head + self.attention + self.lora
    }

    /// A full fine-tuning step.
    pub fn full_step(&self) -> f64 {
        self.projections + self.head + self.attention + self.weight_gradients
    }
}

/// The least time a LoRA step's matmuls can take at the throughputs measured for their shapes
/// (the backward products are taken at their forward shape's rate; attention at the square
/// rate; each LoRA product half at each factor's rate). `None` when a shape was not measured.
pub fn lora_matmul_floor_seconds(
    config: &LlamaConfig,
    flops: &StepFlops,
    tokens: usize,
    rates: &[MatmulRate],
) -> Option<f64> {
    let rate = |name: &str| {
        rates
            .iter()
            .find(|r| r.name == name)
            .map(|r| r.gflops * 1e9)
    };
    let layers = config.num_hidden_layers as f64;
    let mut seconds = 0.0;
    for target in TargetModule::ALL {
        let [d_in, d_out] = config.projection_shape(target);
        seconds += 4.0 * (tokens * d_in * d_out) as f64 * layers / rate(target.hf_name())?;
    }
    seconds += flops.head / rate(HEAD)?;
    seconds += flops.attention / rate(SQUARE)?;
    seconds += flops.lora / 2.0 * (1.0 / rate(LORA_A)? + 1.0 / rate(LORA_B)?);
    Some(seconds)
}
