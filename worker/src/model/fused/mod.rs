//! Fused kernels with hand-written backward passes for burn's `flex` CPU backend.
//!
//! burn's autodiff records every elementwise op of a composition (RMSNorm is six, SwiGLU four)
//! and keeps each op's inputs for its backward step, so a block's norms and activations cost a
//! chain of freshly allocated tensors forward and again backward. Each op here is one pass over
//! its input, keeps only what its backward needs (an input it shares, a per-row scalar) and
//! registers one backward step that forms the gradients in one pass as well.
//!
//! The ops run on `flex` tensors, tracked (`Autodiff<Flex>`: the op records its own backward
//! step through burn's `Backward` trait) or not. On any other backend they fall back to the
//! composition of burn ops that they replace, which is also the oracle their tests compare
//! against.

mod causal_softmax;
mod matmul;
mod packed_matmul;
mod rms_norm;
mod rope;
mod swiglu;

pub use causal_softmax::causal_softmax;
pub use matmul::{deep_product, matmul, product, scaled_matmul, scaled_matmul_add};
pub use packed_matmul::{packed_matmul, PackedMatrix};
pub use rms_norm::rms_norm;
pub use rope::rope;
pub use swiglu::swiglu;

use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::Ops;
use burn::backend::flex::FlexTensor;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Flex};
use burn::tensor::{Tensor, TensorData};

/// The autodiff backend the fused ops record their steps on (what `Device::flex().autodiff()`
/// runs).
type Tracked = Autodiff<Flex, NoCheckpointing>;

/// A float tensor as the fused ops see it.
enum Place<const D: usize> {
    /// On `flex` with autodiff.
    Tracked(FloatTensor<Tracked>),
    /// On `flex`, untracked.
    Plain(FlexTensor),
    /// On another backend: compose burn ops instead.
    Other(Tensor<D>),
}

impl<const D: usize> Place<D> {
    /// Back to a tensor, for the composed fallback.
    fn into_tensor(self) -> Tensor<D> {
        match self {
            Place::Tracked(tensor) => Tensor::from_primitive::<Tracked>(tensor),
            Place::Plain(tensor) => Tensor::from_primitive::<Flex>(tensor),
            Place::Other(tensor) => tensor,
        }
    }
}

fn place<const D: usize>(x: Tensor<D>) -> Place<D> {
    if let Ok(tensor) = x.clone().try_into_primitive::<Tracked>() {
        return Place::Tracked(tensor);
    }
    if let Ok(tensor) = x.clone().try_into_primitive::<Flex>() {
        return Place::Plain(tensor);
    }
    Place::Other(x)
}

/// Whether the ops record their own backward steps on `device` (`flex` with autodiff), rather
/// than falling back to burn's compositions.
pub fn tracks_on(device: &burn::tensor::Device) -> bool {
    matches!(place(Tensor::<1>::zeros([1], device)), Place::Tracked(_))
}

/// Whether `x` is an untracked `flex` tensor (what the loss's in-place kernel needs).
pub fn is_plain_flex<const D: usize>(x: &Tensor<D>) -> bool {
    x.clone().try_into_primitive::<Flex>().is_ok()
}

/// The tensor's values, row-major (copied only when the layout is not contiguous).
fn values(tensor: &FlexTensor) -> std::borrow::Cow<'_, [f32]> {
    match tensor.as_slice::<f32>() {
        Some(values) => std::borrow::Cow::Borrowed(values),
        None => std::borrow::Cow::Owned(
            tensor
                .to_contiguous()
                .as_slice::<f32>()
                .expect("contiguous after the copy")
                .to_vec(),
        ),
    }
}

/// A `flex` tensor of `shape` holding `values`.
fn flex(values: Vec<f32>, shape: Vec<usize>) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape))
}

/// Registers `grad` for parent `index` of a backward step, when that parent needs one.
fn register<const N: usize>(
    ops: &Ops<impl Sized, N>,
    index: usize,
    grads: &mut Gradients,
    grad: impl FnOnce() -> FlexTensor,
) {
    if let Some(parent) = &ops.parents[index] {
        grads.register::<Flex>(parent.id, grad());
    }
}
