//! `y = x · W` for an NF4-packed frozen `W` whose backward expands `W` again instead of keeping
//! it: `∂L/∂x = ∂L/∂y · Wᵀ`, and `W` gets no gradient.
//!
//! burn's matmul keeps both operands for its backward step, so a QLoRA graph over the whole
//! model would hold every projection's expanded `f32` weight: the full-precision base QLoRA
//! exists to avoid. This op's backward state is the packed matrix (shared, a few bytes), so the
//! whole model's graph holds activations only, and QLoRA needs no block-by-block recomputation
//! (see [`layerwise`](crate::layerwise)): each weight is expanded once forward and once
//! backward, and no forward pass runs twice.

use super::matmul::product;
use super::{flex, place, register, Place, Tracked};
use crate::nf4::Nf4Matrix;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::Flex;
use burn::tensor::Tensor;

/// `x · W`.
///
/// - x: `[rows, d_in]`
/// - weight: `[d_in, d_out]`
/// - output: `[rows, d_out]`
pub fn nf4_matmul(x: Tensor<2>, weight: &Nf4Matrix) -> Tensor<2> {
    match place(x) {
        Place::Tracked(x) => {
            let (x, node) = x.into_parts();
            let y = product(&x, &expand(weight), 1.0);
            let output = match Nf4MatmulBackward
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

/// The weight as an `f32` `flex` tensor, `[d_in, d_out]`.
fn expand(weight: &Nf4Matrix) -> FlexTensor {
    flex(weight.dequantize(), weight.shape().to_vec())
}

#[derive(Debug)]
struct Nf4MatmulBackward;

impl Backward<Flex, 1> for Nf4MatmulBackward {
    /// The packed weight.
    type State = Nf4Matrix;

    fn backward(
        self,
        ops: Ops<Self::State, 1>,
        grads: &mut Gradients,
        _checkpointer: &mut Checkpointer,
    ) {
        let grad = grads.consume::<Flex>(&ops.node);
        register(&ops, 0, grads, || {
            product(&grad, &expand(&ops.state).transpose(0, 1), 1.0)
        });
    }
}
