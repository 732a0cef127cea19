//! Attention's scaled, causally masked softmax as one op, on `[batch, heads, rows, keys]` scores
//! whose rows are `seq` query positions, repeated for each query head of a key/value group:
//!
//! ```text
//! y = softmax_j(scale · s_j)   over the keys j that row r sees (j ≤ r mod seq + keys − seq),
//! y = 0                        elsewhere
//! ```
//!
//! The first `keys − seq` keys are a prefix every query sees (P-tuning v2). Backward needs only
//! `y`: `∂L/∂s = scale · y ⊙ (g − Σ_j g_j·y_j)` with `g = ∂L/∂y`. burn's composition (a scalar
//! division, a mask fill, then softmax's maximum, subtraction, exponential, sum and division)
//! records seven ops, keeps their inputs and allocates each intermediate, all on one thread.

use super::{flex, place, register, values, Place, Tracked};
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::Flex;
use burn::tensor::activation::softmax;
use burn::tensor::{Bool, Tensor, TensorData};
use rayon::prelude::*;

/// Rows of scores per rayon task.
const ROWS_PER_TASK: usize = 64;

/// `softmax(scale · scores)` over the last dimension, each row masked to the keys its query
/// position sees. `scores`: `[batch, heads, rows, keys]`, row `r` is query position `r mod seq`.
pub fn causal_softmax(scores: Tensor<4>, scale: f64, seq: usize) -> Tensor<4> {
    let scale = scale as f32;
    match place(scores) {
        Place::Tracked(scores) => {
            let (scores, node) = scores.into_parts();
            let y = forward(&scores, scale, seq);
            let output = match (SoftmaxBackward { scale })
                .prepare::<NoCheckpointing>([node])
                .compute_bound()
                .stateful()
            {
                OpsKind::Tracked(prep) => prep.finish(y.clone(), y),
                OpsKind::UnTracked(prep) => prep.finish(y),
            };
            Tensor::from_primitive::<Tracked>(output)
        }
        Place::Plain(scores) => Tensor::from_primitive::<Flex>(forward(&scores, scale, seq)),
        Place::Other(scores) => composed(scores, scale.into(), seq),
    }
}

/// The composition of burn ops this replaces.
pub(crate) fn composed(scores: Tensor<4>, scale: f64, seq: usize) -> Tensor<4> {
    let [_, _, rows, keys] = scores.dims();
    let mask: Vec<bool> = (0..rows)
        .flat_map(|r| (0..keys).map(move |j| j >= visible(r, seq, keys)))
        .collect();
    let mask = Tensor::<2, Bool>::from_data(TensorData::new(mask, [rows, keys]), &scores.device());
    softmax(
        scores
            .mul_scalar(scale)
            .mask_fill(mask.unsqueeze::<4>(), f32::NEG_INFINITY),
        3,
    )
}

/// How many keys row `r` sees: its position's own and earlier ones, and the prefix.
fn visible(r: usize, seq: usize, keys: usize) -> usize {
    r % seq + 1 + keys - seq
}

/// `(rows, keys)` of the scores: every leading dimension folds into rows.
fn rows_keys(scores: &FlexTensor) -> (usize, usize) {
    let shape = scores.layout().shape();
    let keys = shape[shape.num_dims() - 1];
    (shape[shape.num_dims() - 2], keys)
}

fn forward(scores: &FlexTensor, scale: f32, seq: usize) -> FlexTensor {
    let shape = scores.layout().shape().to_vec();
    let (rows, keys) = rows_keys(scores);
    let s = values(scores);
    let mut y = vec![0f32; s.len()];
    y.par_chunks_mut(ROWS_PER_TASK * keys)
        .zip(s.par_chunks(ROWS_PER_TASK * keys))
        .enumerate()
        .for_each(|(task, (y, s))| {
            for (index, (y, s)) in y.chunks_mut(keys).zip(s.chunks(keys)).enumerate() {
                let seen = visible((task * ROWS_PER_TASK + index) % rows, seq, keys);
                let (y, s) = (&mut y[..seen], &s[..seen]);
                let max = s.iter().fold(f32::NEG_INFINITY, |m, v| m.max(v * scale));
                let mut sum = 0.0;
                for (y, s) in y.iter_mut().zip(s) {
                    *y = (s * scale - max).exp();
                    sum += *y;
                }
                y.iter_mut().for_each(|y| *y /= sum);
            }
        });
    flex(y, shape)
}

#[derive(Debug)]
struct SoftmaxBackward {
    scale: f32,
}

impl Backward<Flex, 1> for SoftmaxBackward {
    /// The output `y`.
    type State = FlexTensor;

    fn backward(
        self,
        ops: Ops<Self::State, 1>,
        grads: &mut Gradients,
        _checkpointer: &mut Checkpointer,
    ) {
        let grad = grads.consume::<Flex>(&ops.node);
        let shape = ops.state.layout().shape().to_vec();
        let (_, keys) = rows_keys(&ops.state);
        let y = values(&ops.state);
        let g = values(&grad);
        register(&ops, 0, grads, || {
            let mut ds = vec![0f32; y.len()];
            ds.par_chunks_mut(ROWS_PER_TASK * keys)
                .zip(y.par_chunks(ROWS_PER_TASK * keys))
                .zip(g.par_chunks(ROWS_PER_TASK * keys))
                .for_each(|((ds, y), g)| {
                    for ((ds, y), g) in ds.chunks_mut(keys).zip(y.chunks(keys)).zip(g.chunks(keys))
                    {
                        let dot: f32 = y.iter().zip(g).map(|(y, g)| y * g).sum();
                        for ((ds, y), g) in ds.iter_mut().zip(y).zip(g) {
                            *ds = self.scale * y * (g - dot);
                        }
                    }
                });
            flex(ds, shape)
        });
    }
}
