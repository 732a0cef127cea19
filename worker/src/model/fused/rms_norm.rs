//! RMSNorm as one op: `y = x · r · γ` with `r = 1/sqrt(mean(x²) + eps)` per row.
//!
//! Backward, with `g = ∂L/∂y` and `d` the row length:
//!
//! ```text
//! ∂L/∂γ = Σ_rows g ⊙ x · r
//! ∂L/∂x = r · (g ⊙ γ) − x · r³ · mean(g ⊙ γ ⊙ x)
//! ```
//!
//! It keeps the input (which its caller keeps anyway: it is the residual stream), `γ` and one
//! `r` per row; burn's composition keeps `x²`, the mean, the root, the quotient and their
//! gradients, each a full-size tensor.

use super::{flex, place, register, values, Place, Tracked};
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::Flex;
use burn::tensor::Tensor;
use rayon::prelude::*;

/// Rows per rayon task: enough work to pay for the task.
const ROWS_PER_TASK: usize = 16;

/// `x / sqrt(mean(x², last dim) + eps) · γ`.
///
/// - x: `[..., d]`
/// - gamma: `[d]`
/// - output: `[..., d]`
pub fn rms_norm<const D: usize>(x: Tensor<D>, gamma: Tensor<1>, eps: f64) -> Tensor<D> {
    match (place(x), place(gamma)) {
        (Place::Tracked(x), Place::Tracked(gamma)) => {
            let (x, x_node) = x.into_parts();
            let (gamma, gamma_node) = gamma.into_parts();
            let (y, r) = forward(&x, &gamma, eps);
            let output = match RmsNormBackward
                .prepare::<burn::backend::autodiff::checkpoint::strategy::NoCheckpointing>([
                    x_node, gamma_node,
                ])
                .compute_bound()
                .stateful()
            {
                OpsKind::Tracked(prep) => prep.finish((x, gamma, r), y),
                OpsKind::UnTracked(prep) => prep.finish(y),
            };
            Tensor::from_primitive::<Tracked>(output)
        }
        (Place::Plain(x), Place::Plain(gamma)) => {
            Tensor::from_primitive::<Flex>(forward(&x, &gamma, eps).0)
        }
        (x, gamma) => composed(x.into_tensor(), gamma.into_tensor(), eps),
    }
}

/// The composition of burn ops this replaces.
pub(crate) fn composed<const D: usize>(x: Tensor<D>, gamma: Tensor<1>, eps: f64) -> Tensor<D> {
    let rms = x.clone().square().mean_dim(D - 1).add_scalar(eps).sqrt();
    x.div(rms).mul(gamma.unsqueeze::<D>())
}

/// `(y, r)`: the output and each row's `1/rms`.
fn forward(x: &FlexTensor, gamma: &FlexTensor, eps: f64) -> (FlexTensor, Vec<f32>) {
    let shape = x.layout().shape().to_vec();
    let x = values(x);
    let gamma = values(gamma);
    let d = gamma.len();
    let rows = x.len() / d;
    let mut y = vec![0f32; x.len()];
    let mut r = vec![0f32; rows];
    y.par_chunks_mut(d * ROWS_PER_TASK)
        .zip(r.par_chunks_mut(ROWS_PER_TASK))
        .zip(x.par_chunks(d * ROWS_PER_TASK))
        .for_each(|((y, r), x)| {
            for ((y, r), x) in y.chunks_mut(d).zip(r.iter_mut()).zip(x.chunks(d)) {
                let mean = x.iter().map(|v| v * v).sum::<f32>() / d as f32;
                *r = 1.0 / (mean + eps as f32).sqrt();
                for ((y, x), g) in y.iter_mut().zip(x).zip(gamma.iter()) {
                    *y = x * *r * g;
                }
            }
        });
    (flex(y, shape), r)
}

#[derive(Debug)]
struct RmsNormBackward;

impl Backward<Flex, 2> for RmsNormBackward {
    /// The input `x`, `γ` and each row's `1/rms`.
    type State = (FlexTensor, FlexTensor, Vec<f32>);

    fn backward(
        self,
        ops: Ops<Self::State, 2>,
        grads: &mut Gradients,
        _checkpointer: &mut Checkpointer,
    ) {
        let grad = grads.consume::<Flex>(&ops.node);
        let (x, gamma, r) = &ops.state;
        let shape = x.layout().shape().to_vec();
        let x = values(x);
        let gamma = values(gamma);
        let g = values(&grad);
        let d = gamma.len();
        register(&ops, 0, grads, || {
            let mut dx = vec![0f32; x.len()];
            dx.par_chunks_mut(d * ROWS_PER_TASK)
                .zip(x.par_chunks(d * ROWS_PER_TASK))
                .zip(g.par_chunks(d * ROWS_PER_TASK))
                .zip(r.par_chunks(ROWS_PER_TASK))
                .for_each(|(((dx, x), g), r)| {
                    for (((dx, x), g), r) in
                        dx.chunks_mut(d).zip(x.chunks(d)).zip(g.chunks(d)).zip(r)
                    {
                        let dot: f32 = x
                            .iter()
                            .zip(g)
                            .zip(gamma.iter())
                            .map(|((x, g), w)| x * g * w)
                            .sum();
                        let coef = r * r * r * dot / d as f32;
                        for (((dx, x), g), w) in dx.iter_mut().zip(x).zip(g).zip(gamma.iter()) {
                            *dx = r * g * w - x * coef;
                        }
                    }
                });
            flex(dx, shape.clone())
        });
        register(&ops, 1, grads, || {
            let mut dgamma = vec![0f32; d];
            for ((x, g), r) in x.chunks(d).zip(g.chunks(d)).zip(r) {
                for ((dw, x), g) in dgamma.iter_mut().zip(x).zip(g) {
                    *dw += g * x * r;
                }
            }
            flex(dgamma, vec![d])
        });
    }
}
