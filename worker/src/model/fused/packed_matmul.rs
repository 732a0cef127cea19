//! `y = x · W` for a frozen `W` kept packed (QLoRA's base: NF4 codes, or a GGUF's own ggml
//! blocks) whose backward expands `W` again instead of keeping it: `∂L/∂x = ∂L/∂y · Wᵀ`, and
//! `W` gets no gradient.
//!
//! burn's matmul keeps both operands for its backward step, so a QLoRA graph over the whole
//! model would hold every projection's expanded `f32` weight: the full-precision base QLoRA
//! exists to avoid. This op's backward state is the packed matrix (shared, a few bytes), so the
//! whole model's graph holds activations only, and QLoRA needs no block-by-block recomputation
//! (see [`layerwise`](crate::layerwise)): each weight is expanded once forward and once
//! backward, and no forward pass runs twice.

use super::matmul::product;
use super::{flex, place, register, Place, Tracked};
use crate::gguf::BlockMatrix;
use crate::nf4::Nf4Matrix;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::Flex;
use burn::tensor::{Device, Tensor, TensorData};
use std::fmt::Debug;

/// A frozen weight `W: [d_in, d_out]` stored packed and expanded to `f32` on demand.
pub trait PackedMatrix: Clone + Debug + Send + Sync + 'static {
    /// `W` as an `f32` `flex` tensor `[d_in, d_out]` (any strides).
    fn expand(&self) -> FlexTensor;

    /// `W` as an untracked tensor `[d_in, d_out]` on `device` (the fallback off `flex`).
    fn to_tensor(&self, device: &Device) -> Tensor<2>;
}

impl PackedMatrix for Nf4Matrix {
    /// NF4 codes are stored `[d_in, d_out]`, row-major.
    fn expand(&self) -> FlexTensor {
        flex(self.dequantize(), self.shape().to_vec())
    }

    fn to_tensor(&self, device: &Device) -> Tensor<2> {
        Nf4Matrix::to_tensor(self, device)
    }
}

impl PackedMatrix for BlockMatrix {
    /// ggml blocks run along `d_in` (the matrix is stored `[d_out, d_in]`, as the checkpoint
    /// has it): decoded in that layout and handed over as its transposed view, which the
    /// products read in place.
    fn expand(&self) -> FlexTensor {
        flex(self.dequantize(), self.shape().to_vec()).transpose(0, 1)
    }

    fn to_tensor(&self, device: &Device) -> Tensor<2> {
        Tensor::<2>::from_data(TensorData::new(self.dequantize(), self.shape()), device).transpose()
    }
}

/// `x · W`.
///
/// - x: `[rows, d_in]`
/// - weight: `[d_in, d_out]`
/// - output: `[rows, d_out]`
pub fn packed_matmul<M: PackedMatrix>(x: Tensor<2>, weight: &M) -> Tensor<2> {
    match place(x) {
        Place::Tracked(x) => {
            let (x, node) = x.into_parts();
            let y = product(&x, &weight.expand(), 1.0);
            let output = match PackedMatmulBackward::<M>(std::marker::PhantomData)
                .prepare::<NoCheckpointing>([node])
                .compute_bound()
                .stateful()
            {
                OpsKind::Tracked(prep) => prep.finish(weight.clone(), y),
                OpsKind::UnTracked(prep) => prep.finish(y),
            };
            Tensor::from_primitive::<Tracked>(output)
        }
        other => {
            let x = other.into_tensor();
            let device = x.device();
            x.matmul(weight.to_tensor(&device))
        }
    }
}

#[derive(Debug)]
struct PackedMatmulBackward<M>(std::marker::PhantomData<M>);

impl<M: PackedMatrix> Backward<Flex, 1> for PackedMatmulBackward<M> {
    /// The packed weight.
    type State = M;

    fn backward(
        self,
        ops: Ops<Self::State, 1>,
        grads: &mut Gradients,
        _checkpointer: &mut Checkpointer,
    ) {
        let grad = grads.consume::<Flex>(&ops.node);
        register(&ops, 0, grads, || {
            product(&grad, &ops.state.expand().transpose(0, 1), 1.0)
        });
    }
}
