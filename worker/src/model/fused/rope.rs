//! Rotary position embedding as one op, on `[batch, seq, heads, head_dim]` (the layout the
//! projections produce, before heads are moved ahead of positions), "rotate half" pairs
//! `(i, i + head_dim/2)` at positions `0..seq`:
//!
//! ```text
//! y_i        = x_i · cos_i        − x_{i+h} · sin_i
//! y_{i+h}    = x_{i+h} · cos_{i+h} + x_i · sin_{i+h}
//! ```
//!
//! Backward applies the transposed rotation to `g = ∂L/∂y`:
//! `∂L/∂x_i = g_i·cos_i + g_{i+h}·sin_{i+h}`, `∂L/∂x_{i+h} = g_{i+h}·cos_{i+h} − g_i·sin_i`.
//! It keeps nothing but the shared tables; burn's composition (two slices, a negation, a
//! concatenation, two products and a sum) keeps its inputs and allocates each intermediate.

use super::{flex, place, register, values, Place, Tracked};
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::Flex;
use burn::tensor::Tensor;
use rayon::prelude::*;

/// Rotates `x: [batch, seq, heads, head_dim]` by the angles of positions `0..seq` in the tables
/// `cos`, `sin`: `[max_positions, head_dim]` each.
pub fn rope(x: Tensor<4>, cos: &Tensor<2>, sin: &Tensor<2>) -> Tensor<4> {
    let tables = (flex_table(cos), flex_table(sin));
    match (place(x), tables) {
        (Place::Tracked(x), (Some(cos), Some(sin))) => {
            let (x, node) = x.into_parts();
            let y = rotate(&x, &cos, &sin, Direction::Forward);
            let output = match RopeBackward
                .prepare::<NoCheckpointing>([node])
                .compute_bound()
                .stateful()
            {
                OpsKind::Tracked(prep) => prep.finish((cos, sin), y),
                OpsKind::UnTracked(prep) => prep.finish(y),
            };
            Tensor::from_primitive::<Tracked>(output)
        }
        (Place::Plain(x), (Some(cos), Some(sin))) => {
            Tensor::from_primitive::<Flex>(rotate(&x, &cos, &sin, Direction::Forward))
        }
        (x, _) => composed(x.into_tensor(), cos.clone(), sin.clone()),
    }
}

/// The composition of burn ops this replaces.
pub(crate) fn composed(x: Tensor<4>, cos: Tensor<2>, sin: Tensor<2>) -> Tensor<4> {
    let [_, seq, _, head_dim] = x.dims();
    let cos = cos.slice_dim(0, 0..seq).reshape([1, seq, 1, head_dim]);
    let sin = sin.slice_dim(0, 0..seq).reshape([1, seq, 1, head_dim]);
    let half = head_dim / 2;
    let first = x.clone().slice_dim(3, 0..half);
    let second = x.clone().slice_dim(3, half..head_dim);
    let rotated = Tensor::cat(vec![second.neg(), first], 3);
    x * cos + rotated * sin
}

/// A table's `flex` primitive (tracked or not), `None` on another backend.
fn flex_table(table: &Tensor<2>) -> Option<FlexTensor> {
    match place(table.clone()) {
        Place::Tracked(table) => Some(table.into_primitive()),
        Place::Plain(table) => Some(table),
        Place::Other(_) => None,
    }
}

#[derive(Clone, Copy)]
enum Direction {
    /// The rotation.
    Forward,
    /// Its transpose (the backward pass).
    Transposed,
}

fn rotate(x: &FlexTensor, cos: &FlexTensor, sin: &FlexTensor, direction: Direction) -> FlexTensor {
    let shape = x.layout().shape().to_vec();
    let [seq, heads, head_dim] = [shape[1], shape[2], shape[3]];
    let half = head_dim / 2;
    let x = values(x);
    let cos = values(cos);
    let sin = values(sin);
    let mut y = vec![0f32; x.len()];
    // One task per (batch, position): `heads · head_dim` values sharing one table row.
    y.par_chunks_mut(heads * head_dim)
        .zip(x.par_chunks(heads * head_dim))
        .enumerate()
        .for_each(|(row, (y, x))| {
            let position = row % seq;
            let cos = &cos[position * head_dim..(position + 1) * head_dim];
            let sin = &sin[position * head_dim..(position + 1) * head_dim];
            for (y, x) in y.chunks_mut(head_dim).zip(x.chunks(head_dim)) {
                for i in 0..half {
                    let (a, b) = (x[i], x[i + half]);
                    let (y_a, y_b) = match direction {
                        Direction::Forward => (
                            a * cos[i] - b * sin[i],
                            b * cos[i + half] + a * sin[i + half],
                        ),
                        Direction::Transposed => (
                            a * cos[i] + b * sin[i + half],
                            b * cos[i + half] - a * sin[i],
                        ),
                    };
                    y[i] = y_a;
                    y[i + half] = y_b;
                }
            }
        });
    flex(y, shape)
}

#[derive(Debug)]
struct RopeBackward;

impl Backward<Flex, 1> for RopeBackward {
    /// The `cos` and `sin` tables.
    type State = (FlexTensor, FlexTensor);

    fn backward(
        self,
        ops: Ops<Self::State, 1>,
        grads: &mut Gradients,
        _checkpointer: &mut Checkpointer,
    ) {
        let grad = grads.consume::<Flex>(&ops.node);
        let (cos, sin) = &ops.state;
        register(&ops, 0, grads, || {
            rotate(&grad, cos, sin, Direction::Transposed)
        });
    }
}
