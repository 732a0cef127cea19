//! Low-rank adapters (Hu et al. 2021): `y = x·W + (alpha/r)·(dropout(x)·A)·B`.
//!
//! `W` stays frozen and untracked, so backpropagation computes only `∂L/∂x`, `∂L/∂A` and
//! `∂L/∂B`: no weight-shaped gradient and no dense `W + A·B` is ever formed. `B` starts at zero,
//! so an untrained adapter leaves the model exactly as it was.

use crate::model::fused::{scaled_matmul, scaled_matmul_add};
use anyhow::{bail, ensure, Result};
use burn::module::{Module, Param};
use burn::nn::{Dropout, DropoutConfig};
use burn::tensor::module::linear;
use burn::tensor::{Device, Distribution, Tensor};
use serde::{Deserialize, Serialize};

/// A projection of the Llama block that an adapter can target (PEFT's `target_modules`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TargetModule {
    Q,
    K,
    V,
    O,
    Gate,
    Up,
    Down,
}

impl TargetModule {
    /// Every projection, in checkpoint order.
    pub const ALL: [TargetModule; 7] = [
        TargetModule::Q,
        TargetModule::K,
        TargetModule::V,
        TargetModule::O,
        TargetModule::Gate,
        TargetModule::Up,
        TargetModule::Down,
    ];

    /// The Hugging Face module name (`q_proj`, ...).
    pub fn hf_name(self) -> &'static str {
        match self {
            TargetModule::Q => "q_proj",
            TargetModule::K => "k_proj",
            TargetModule::V => "v_proj",
            TargetModule::O => "o_proj",
            TargetModule::Gate => "gate_proj",
            TargetModule::Up => "up_proj",
            TargetModule::Down => "down_proj",
        }
    }

    /// Parses `q`, `q_proj`, `gate`, `gate_proj`, ...
    pub fn parse(name: &str) -> Result<Self> {
        let short = name.strip_suffix("_proj").unwrap_or(name);
        Ok(match short {
            "q" => TargetModule::Q,
            "k" => TargetModule::K,
            "v" => TargetModule::V,
            "o" => TargetModule::O,
            "gate" => TargetModule::Gate,
            "up" => TargetModule::Up,
            "down" => TargetModule::Down,
            _ => bail!(
                "unknown LoRA target module `{name}`: expected one of q, k, v, o, gate, up, down"
            ),
        })
    }
}

/// Hyper-parameters of the adapters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoraConfig {
    /// Rank `r` of `A: [d_in, r]` and `B: [r, d_out]`.
    pub rank: usize,
    /// Scale numerator: the update is multiplied by `alpha / rank`.
    pub alpha: f64,
    /// Dropout on the adapter's input.
    #[serde(default)]
    pub dropout: f64,
    /// Projection names (`q`, `k_proj`, ...); see [`TargetModule::parse`].
    #[serde(default = "default_targets")]
    pub targets: Vec<String>,
    /// QLoRA only: how the frozen base projections are stored. Left out of the JSON when it is
    /// the default, so a file without it reads and writes as before.
    #[serde(default, skip_serializing_if = "QloraBase::is_stored")]
    pub base: QloraBase,
}

/// How QLoRA keeps its frozen base projections (`"base"` in the method's JSON).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum QloraBase {
    /// A projection the checkpoint stores block-quantized (a GGUF's Q4_0, Q4_1, Q8_0, Q4_K,
    /// ...) keeps those blocks, so QLoRA's base has exactly the values LoRA's `f32` base has;
    /// one stored as floats is quantized to NF4.
    #[default]
    Stored,
    /// Every projection quantized to NF4, a block-quantized one after decoding it to `f32`
    /// (a second rounding onto NF4's levels).
    Nf4,
}

impl QloraBase {
    pub fn is_stored(&self) -> bool {
        *self == QloraBase::Stored
    }
}

fn default_targets() -> Vec<String> {
    vec!["q_proj".into(), "v_proj".into()]
}

impl LoraConfig {
    /// Rank and alpha; no dropout, adapters on `q_proj` and `v_proj` (PEFT's Llama default).
    pub fn new(rank: usize, alpha: f64) -> Self {
        Self {
            rank,
            alpha,
            dropout: 0.0,
            targets: default_targets(),
            base: QloraBase::Stored,
        }
    }

    /// Adapters on all seven projections ([`TargetModule::ALL`]).
    pub fn on_every_projection(self) -> Self {
        let targets = TargetModule::ALL.map(|t| t.hf_name().to_string()).to_vec();
        self.with_targets(targets)
    }

    pub fn with_dropout(self, dropout: f64) -> Self {
        Self { dropout, ..self }
    }

    pub fn with_targets(self, targets: Vec<String>) -> Self {
        Self { targets, ..self }
    }

    pub fn with_base(self, base: QloraBase) -> Self {
        Self { base, ..self }
    }

    /// Checks the values and resolves the target names.
    pub fn validate(&self) -> Result<Vec<TargetModule>> {
        ensure!(self.rank > 0, "LoRA rank must be at least 1 (got 0)");
        ensure!(
            (0.0..1.0).contains(&self.dropout),
            "LoRA dropout must be in [0, 1) (got {})",
            self.dropout
        );
        ensure!(
            !self.targets.is_empty(),
            "LoRA needs at least one target module"
        );
        self.targets
            .iter()
            .map(|t| TargetModule::parse(t))
            .collect()
    }

    /// `alpha / rank`.
    pub fn scale(&self) -> f64 {
        self.alpha / self.rank as f64
    }

    /// A fresh adapter for a `[d_in, d_out]` weight: `A` as PEFT initialises it
    /// (Kaiming-uniform, bound `1/sqrt(d_in)`), `B` zero.
    pub fn init(&self, d_in: usize, d_out: usize, device: &Device) -> LoraAdapter {
        let bound = 1.0 / (d_in as f64).sqrt();
        let a = Tensor::random(
            [d_in, self.rank],
            Distribution::Uniform(-bound, bound),
            device,
        );
        let b = Tensor::zeros([self.rank, d_out], device);
        self.from_factors(a, b)
    }

    /// An adapter from given factors `a: [d_in, r]`, `b: [r, d_out]`.
    pub fn from_factors(&self, a: Tensor<2>, b: Tensor<2>) -> LoraAdapter {
        LoraAdapter {
            a: Param::from_tensor(a),
            b: Param::from_tensor(b),
            scale: self.scale(),
            dropout: DropoutConfig::new(self.dropout).init(),
        }
    }
}

/// The trainable pair `A`, `B` attached to one frozen projection.
#[derive(Module, Debug)]
pub struct LoraAdapter {
    /// `[d_in, r]`
    pub a: Param<Tensor<2>>,
    /// `[r, d_out]`
    pub b: Param<Tensor<2>>,
    /// `alpha / r`
    pub scale: f64,
    dropout: Dropout,
}

impl LoraAdapter {
    /// The update `(alpha/r)·(dropout(x)·A)·B`.
    ///
    /// - input: `[..., d_in]`
    /// - output: `[..., d_out]`
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        // Scaling the rank-r activation costs r/d_out of scaling the output.
        let down = linear(self.dropout.forward(x), self.a.val(), None).mul_scalar(self.scale);
        linear(down, self.b.val(), None)
    }

    /// `base` plus the update over rows, `base + (alpha/r)·(dropout(x)·A)·B`, the update summed
    /// into `base`'s buffer by its own product.
    ///
    /// - input: `base` `[rows, d_out]`, `x` `[rows, d_in]`
    /// - output: `[rows, d_out]`
    pub fn add_update(&self, base: Tensor<2>, x: Tensor<2>) -> Tensor<2> {
        let down = scaled_matmul(self.dropout.forward(x), self.a.val(), self.scale);
        scaled_matmul_add(base, down, self.b.val(), 1.0)
    }

    /// Whether dropout is off, so that adapters reading the same input see the same values and
    /// their `A` products can run as one matmul.
    pub fn is_dropout_free(&self) -> bool {
        self.dropout.prob == 0.0
    }

    /// `r`
    pub fn rank(&self) -> usize {
        let [_, rank] = self.a.shape().dims();
        rank
    }

    /// The dense update `(alpha/r)·A·B`, used only to merge an adapter into its base weight.
    ///
    /// Output: `[d_in, d_out]`.
    pub fn delta_weight(&self) -> Tensor<2> {
        self.a.val().matmul(self.b.val()).mul_scalar(self.scale)
    }
}
