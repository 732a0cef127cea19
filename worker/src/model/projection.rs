//! A linear projection of the Llama block (`q_proj`, ..., `down_proj`): a base weight that is
//! trained, frozen, or packed (NF4, or the checkpoint's own ggml blocks), plus an optional LoRA
//! adapter.

use super::fused::{matmul, packed_matmul, scaled_matmul, scaled_matmul_add, PackedMatrix};
use crate::gguf::BlockMatrix;
use crate::lora::LoraAdapter;
use crate::nf4::Nf4Matrix;
use burn::module::{Module, Param};
use burn::tensor::{Device, Tensor};

/// Where a projection's base weight `W: [d_in, d_out]` lives.
#[derive(Module, Debug)]
pub enum BaseWeight {
    /// A dense parameter, trainable (full fine-tuning) or frozen.
    Dense(Param<Tensor<2>>),
    /// Frozen NF4 codes on the host, expanded for each forward pass.
    Nf4(PackedWeight),
    /// Frozen ggml blocks as a quantized checkpoint stores them (`[d_out, d_in]`), expanded
    /// for each forward pass.
    Blocks(PackedBlocks),
}

/// A [`BlockMatrix`] carried through the module tree without being a parameter.
#[derive(Module, Debug)]
pub struct PackedBlocks {
    #[module(skip)]
    pub matrix: BlockMatrix,
    #[module(skip)]
    device: Device,
}

impl PackedBlocks {
    /// Packs `matrix` (`[d_out, d_in]`) for use on `device`.
    pub fn new(matrix: BlockMatrix, device: &Device) -> Self {
        Self {
            matrix,
            device: device.clone(),
        }
    }
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
            BaseWeight::Blocks(packed) => PackedMatrix::to_tensor(&packed.matrix, &packed.device),
        }
    }

    /// `[d_in, d_out]`
    pub fn shape(&self) -> [usize; 2] {
        match self {
            BaseWeight::Dense(weight) => weight.shape().dims(),
            BaseWeight::Nf4(packed) => packed.matrix.shape(),
            BaseWeight::Blocks(packed) => {
                let [d_out, d_in] = packed.matrix.shape();
                [d_in, d_out]
            }
        }
    }

    /// Whether the weight is stored quantized (NF4 or ggml blocks).
    pub fn is_packed(&self) -> bool {
        !matches!(self, BaseWeight::Dense(_))
    }

    /// Bytes the packed weight occupies; `None` for a dense one.
    pub fn packed_bytes(&self) -> Option<usize> {
        match self {
            BaseWeight::Dense(_) => None,
            BaseWeight::Nf4(packed) => Some(packed.matrix.stored_bytes()),
            BaseWeight::Blocks(packed) => Some(packed.matrix.stored_bytes()),
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
        let mut dims = x.dims();
        let d_in = dims[D - 1];
        let rows = x.shape().num_elements() / d_in.max(1);
        let y = self.forward_rows(x.reshape([rows, d_in]));
        dims[D - 1] = self.base.shape()[1];
        y.reshape(dims)
    }

    /// The product over rows: leading dimensions folded into one, so every matmul is a single
    /// `[rows, d_in]·[d_in, ·]` product instead of one per batch element (burn keeps a batched
    /// matmul for narrow outputs such as LoRA's `x·A`, and its weight gradient then sums one
    /// product per batch element).
    ///
    /// - input: `[rows, d_in]`
    /// - output: `[rows, d_out]`
    pub fn forward_rows(&self, x: Tensor<2>) -> Tensor<2> {
        let base = self.base_rows(x.clone());
        match &self.lora {
            Some(lora) => lora.add_update(base, x),
            None => base,
        }
    }

    /// `x·W` alone. Input `[rows, d_in]`, output `[rows, d_out]`.
    fn base_rows(&self, x: Tensor<2>) -> Tensor<2> {
        match &self.base {
            BaseWeight::Dense(weight) => matmul(x, weight.val()),
            BaseWeight::Nf4(packed) => packed_matmul(x, &packed.matrix),
            BaseWeight::Blocks(packed) => packed_matmul(x, &packed.matrix),
        }
    }

    /// Several projections of the same input, `[rows, d_in]` -> one `[rows, d_out_i]` each.
    ///
    /// When every one carries a dropout-free adapter of the same rank and scale (q/k/v; gate/up),
    /// their `A` factors run as one `[rows, d_in]·[d_in, N·r]` product, split afterwards: one
    /// pass over `x` instead of `N`, and one wider (faster) matmul in backward as well. The
    /// values and gradients are those of separate products.
    pub fn forward_shared<const N: usize>(
        projections: [&Projection; N],
        x: Tensor<2>,
    ) -> [Tensor<2>; N] {
        let Some(adapters) = shared_adapters(&projections) else {
            return projections.map(|p| p.forward_rows(x.clone()));
        };
        let rank = adapters[0].rank();
        let a = Tensor::cat(adapters.iter().map(|lora| lora.a.val()).collect(), 1);
        let down = scaled_matmul(x.clone(), a, adapters[0].scale);
        let mut index = 0;
        projections.map(|projection| {
            let lora = projection
                .lora
                .as_ref()
                .expect("checked by shared_adapters");
            let part = down.clone().slice_dim(1, index * rank..(index + 1) * rank);
            index += 1;
            scaled_matmul_add(projection.base_rows(x.clone()), part, lora.b.val(), 1.0)
        })
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

/// The adapters of `projections` when their `A` products can be fused: every projection has one,
/// with the same rank and scale, and none applies dropout (a shared product would share the mask).
fn shared_adapters<'a, const N: usize>(
    projections: &[&'a Projection; N],
) -> Option<Vec<&'a LoraAdapter>> {
    let adapters: Vec<&LoraAdapter> = projections
        .iter()
        .map(|p| p.lora.as_ref())
        .collect::<Option<_>>()?;
    let first = adapters.first()?;
    adapters
        .iter()
        .all(|a| a.is_dropout_free() && a.rank() == first.rank() && a.scale == first.scale)
        .then_some(adapters)
}
