//! A linear projection of the Llama block (`q_proj`, ..., `down_proj`): a base weight that is
//! trained, frozen or NF4-packed, plus an optional LoRA adapter.

use crate::lora::LoraAdapter;
use crate::nf4::Nf4Matrix;
use burn::module::{Module, Param};
use burn::tensor::module::linear;
use burn::tensor::{Device, Tensor};

/// Where a projection's base weight `W: [d_in, d_out]` lives.
#[derive(Module, Debug)]
pub enum BaseWeight {
    /// A dense parameter, trainable (full fine-tuning) or frozen.
    Dense(Param<Tensor<2>>),
    /// Frozen NF4 codes on the host, expanded for each forward pass.
    Nf4(PackedWeight),
}

/// An [`Nf4Matrix`] carried through the module tree without being a parameter.
#[derive(Module, Debug)]
pub struct PackedWeight {
    #[module(skip)]
    pub matrix: Nf4Matrix,
    #[module(skip)]
    device: Device,
}

impl PackedWeight {
    /// Packs `matrix` for use on `device`.
    pub fn new(matrix: Nf4Matrix, device: &Device) -> Self {
        Self {
            matrix,
            device: device.clone(),
        }
    }
}

impl BaseWeight {
    /// The weight as a tensor: `[d_in, d_out]`.
    pub fn tensor(&self) -> Tensor<2> {
        match self {
            BaseWeight::Dense(weight) => weight.val(),
            BaseWeight::Nf4(packed) => packed.matrix.to_tensor(&packed.device),
        }
    }

    /// `[d_in, d_out]`
    pub fn shape(&self) -> [usize; 2] {
        match self {
            BaseWeight::Dense(weight) => weight.shape().dims(),
            BaseWeight::Nf4(packed) => packed.matrix.shape(),
        }
    }
}

/// `y = x·W (+ LoRA update)`.
#[derive(Module, Debug)]
pub struct Projection {
    pub base: BaseWeight,
    pub lora: Option<LoraAdapter>,
}

impl Projection {
    /// - input: `[..., d_in]`
    /// - output: `[..., d_out]`
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        let Some(lora) = &self.lora else {
            return linear(x, self.base.tensor(), None);
        };
        let update = lora.forward(x.clone());
        linear(x, self.base.tensor(), None) + update
    }

    /// Folds the adapter into a dense base weight: `W' = W + (alpha/r)·A·B`.
    pub fn merge(self) -> Self {
        let Some(lora) = self.lora else {
            return self;
        };
        let merged = self.base.tensor() + lora.delta_weight();
        Projection {
            base: BaseWeight::Dense(Param::from_tensor(merged.detach()).set_require_grad(false)),
            lora: None,
        }
    }
}
