//! SwiGLU's gate as one op: `h = silu(g) ⊙ u = g·σ(g) ⊙ u`.
//!
//! Backward, with `s = σ(g)` and `e = ∂L/∂h`:
//!
//! ```text
//! ∂L/∂u = e ⊙ g·s
//! ∂L/∂g = e ⊙ u ⊙ s·(1 + g·(1 − s))
//! ```
//!
//! It keeps `g` and `u` (its inputs, which the projections produced); burn's composition also
//! keeps `σ(g)` and `silu(g)`, two more `[rows, d_ff]` tensors per block.

use super::{flex, place, register, values, Place, Tracked};
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::Flex;
use burn::tensor::activation::silu;
use burn::tensor::Tensor;
use rayon::prelude::*;

/// Values per rayon task.
const PER_TASK: usize = 16 * 1024;

/// `silu(gate) ⊙ up`, both `[..., d_ff]`.
pub fn swiglu<const D: usize>(gate: Tensor<D>, up: Tensor<D>) -> Tensor<D> {
    match (place(gate), place(up)) {
        (Place::Tracked(gate), Place::Tracked(up)) => {
            let (gate, gate_node) = gate.into_parts();
            let (up, up_node) = up.into_parts();
            let h = forward(&gate, &up);
            let output = match SwigluBackward
                .prepare::<NoCheckpointing>([gate_node, up_node])
                .compute_bound()
                .stateful()
            {
                OpsKind::Tracked(prep) => prep.finish((gate, up), h),
                OpsKind::UnTracked(prep) => prep.finish(h),
            };
            Tensor::from_primitive::<Tracked>(output)
        }
        (Place::Plain(gate), Place::Plain(up)) => {
            Tensor::from_primitive::<Flex>(forward(&gate, &up))
        }
        (gate, up) => composed(gate.into_tensor(), up.into_tensor()),
    }
}

/// The composition of burn ops this replaces.
pub(crate) fn composed<const D: usize>(gate: Tensor<D>, up: Tensor<D>) -> Tensor<D> {
    silu(gate) * up
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

fn forward(gate: &FlexTensor, up: &FlexTensor) -> FlexTensor {
    let shape = gate.layout().shape().to_vec();
    let gate = values(gate);
    let up = values(up);
    let mut h = vec![0f32; gate.len()];
    h.par_chunks_mut(PER_TASK)
        .zip(gate.par_chunks(PER_TASK))
        .zip(up.par_chunks(PER_TASK))
        .for_each(|((h, g), u)| {
            for ((h, g), u) in h.iter_mut().zip(g).zip(u) {
                *h = g * sigmoid(*g) * u;
            }
        });
    flex(h, shape)
}

#[derive(Debug)]
struct SwigluBackward;

impl Backward<Flex, 2> for SwigluBackward {
    /// The inputs `gate` and `up`.
    type State = (FlexTensor, FlexTensor);

    fn backward(
        self,
        ops: Ops<Self::State, 2>,
        grads: &mut Gradients,
        _checkpointer: &mut Checkpointer,
    ) {
        let grad = grads.consume::<Flex>(&ops.node);
        let (gate, up) = &ops.state;
        let shape = gate.layout().shape().to_vec();
        let gate = values(gate);
        let up = values(up);
        let e = values(&grad);
        let both = ops.parents.iter().all(Option::is_some);
        if both {
            // One pass for both gradients: σ(g) once.
            let mut dg = vec![0f32; gate.len()];
            let mut du = vec![0f32; gate.len()];
            dg.par_chunks_mut(PER_TASK)
                .zip(du.par_chunks_mut(PER_TASK))
                .zip(gate.par_chunks(PER_TASK))
                .zip(up.par_chunks(PER_TASK))
                .zip(e.par_chunks(PER_TASK))
                .for_each(|((((dg, du), g), u), e)| {
                    for ((((dg, du), g), u), e) in
                        dg.iter_mut().zip(du.iter_mut()).zip(g).zip(u).zip(e)
                    {
                        let s = sigmoid(*g);
                        *du = e * g * s;
                        *dg = e * u * s * (1.0 + g * (1.0 - s));
                    }
                });
            register(&ops, 0, grads, || flex(dg, shape.clone()));
            register(&ops, 1, grads, || flex(du, shape.clone()));
            return;
        }
        register(&ops, 0, grads, || {
            let dg = gate
                .iter()
                .zip(up.iter())
                .zip(e.iter())
                .map(|((g, u), e)| {
                    let s = sigmoid(*g);
                    e * u * s * (1.0 + g * (1.0 - s))
                })
                .collect();
            flex(dg, shape.clone())
        });
        register(&ops, 1, grads, || {
            let du = gate
                .iter()
                .zip(e.iter())
                .map(|(g, e)| e * g * sigmoid(*g))
                .collect();
            flex(du, shape.clone())
        });
    }
}
