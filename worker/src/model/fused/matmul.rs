//! `scale · lhs · rhs` for 2-D `flex` tensors on all cores, forward and backward (the
//! projections, LoRA's factors and the output head's products).
//!
//! burn `flex` runs a matmul on one thread below 192³ multiply-adds. LoRA's narrow products
//! (`[rows, d]·[d, r]`, `[rows, r]·[r, d]` and their gradients, about 45 per block and step
//! with r = 16) all fall under that line, and autodiff runs backward one op at a time, so each
//! of them left the second core idle. This op hands every narrow product to the `gemm` crate
//! with rayon's pool and lets `gemm` judge, per block of work, whether a second thread pays
//! (its own threshold is 48·48·256 multiply-adds); wide products run in bands of output
//! columns, one thread each (see [`product`]).
//!
//! The scale rides in `gemm`'s own multiplier, so LoRA's `alpha/r` costs no op of its own (burn
//! recorded a `mul_scalar` with a fresh output forward and backward).
//!
//! Backward: `∂L/∂lhs = scale · ∂L/∂y · rhsᵀ`, `∂L/∂rhs = scale · lhsᵀ · ∂L/∂y`; transposes are
//! strided views, which `gemm` reads in place.

use super::{place, register, Place, Tracked};
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::Flex;
use burn::tensor::{DType, Shape, Tensor};
use rayon::prelude::*;

/// `lhs · rhs`: `[m, k]·[k, n]` -> `[m, n]`.
pub fn matmul(lhs: Tensor<2>, rhs: Tensor<2>) -> Tensor<2> {
    scaled_matmul(lhs, rhs, 1.0)
}

/// `scale · lhs · rhs`: `[m, k]·[k, n]` -> `[m, n]`.
pub fn scaled_matmul(lhs: Tensor<2>, rhs: Tensor<2>, scale: f64) -> Tensor<2> {
    let scale = scale as f32;
    match (place(lhs), place(rhs)) {
        (Place::Tracked(lhs), Place::Tracked(rhs)) => {
            // Each operand is kept only for the other's gradient (a frozen weight's product
            // keeps no activation).
            let (keep_lhs, keep_rhs) = (rhs.is_tracked(), lhs.is_tracked());
            let (lhs, lhs_node) = lhs.into_parts();
            let (rhs, rhs_node) = rhs.into_parts();
            let y = product(&lhs, &rhs, scale);
            let output = match (MatmulBackward { scale })
                .prepare::<NoCheckpointing>([lhs_node, rhs_node])
                .compute_bound()
                .stateful()
            {
                OpsKind::Tracked(prep) => {
                    prep.finish((keep_lhs.then_some(lhs), keep_rhs.then_some(rhs)), y)
                }
                OpsKind::UnTracked(prep) => prep.finish(y),
            };
            Tensor::from_primitive::<Tracked>(output)
        }
        (Place::Plain(lhs), Place::Plain(rhs)) => {
            Tensor::from_primitive::<Flex>(product(&lhs, &rhs, scale))
        }
        (lhs, rhs) => {
            let y = lhs.into_tensor().matmul(rhs.into_tensor());
            if scale == 1.0 {
                y
            } else {
                y.mul_scalar(scale)
            }
        }
    }
}

/// `acc + scale · lhs · rhs`, with `acc`, `lhs`: `[m, ·]`, `rhs`: `[k, n]` (a projection's output
/// plus its LoRA update, `x·W + (alpha/r)·(x·A)·B`).
///
/// The product accumulates into `acc`'s buffer (see [`accumulate`]): no separate sum forward, and
/// backward hands `∂L/∂y` to `acc` as it is, with the product's two gradients as in
/// [`scaled_matmul`].
pub fn scaled_matmul_add(acc: Tensor<2>, lhs: Tensor<2>, rhs: Tensor<2>, scale: f64) -> Tensor<2> {
    let scale = scale as f32;
    match (place(acc), place(lhs), place(rhs)) {
        (Place::Tracked(acc), Place::Tracked(lhs), Place::Tracked(rhs)) => {
            let (keep_lhs, keep_rhs) = (rhs.is_tracked(), lhs.is_tracked());
            let (acc, acc_node) = acc.into_parts();
            let (lhs, lhs_node) = lhs.into_parts();
            let (rhs, rhs_node) = rhs.into_parts();
            let y = accumulate(acc, &lhs, &rhs, scale);
            let output = match (MatmulAddBackward { scale })
                .prepare::<NoCheckpointing>([acc_node, lhs_node, rhs_node])
                .compute_bound()
                .stateful()
            {
                OpsKind::Tracked(prep) => {
                    prep.finish((keep_lhs.then_some(lhs), keep_rhs.then_some(rhs)), y)
                }
                OpsKind::UnTracked(prep) => prep.finish(y),
            };
            Tensor::from_primitive::<Tracked>(output)
        }
        (Place::Plain(acc), Place::Plain(lhs), Place::Plain(rhs)) => {
            Tensor::from_primitive::<Flex>(accumulate(acc, &lhs, &rhs, scale))
        }
        (acc, lhs, rhs) => {
            acc.into_tensor() + scaled_matmul(lhs.into_tensor(), rhs.into_tensor(), scale.into())
        }
    }
}

/// `scale · lhs · rhs` as a new row-major tensor, on rayon's pool (also the output head's
/// logits, `[c, d]·[d, vocab]`).
///
/// Both operands are 2-D `f32` views with any strides (a transposed view costs no copy).
///
/// The output is a fresh buffer that `gemm` writes whole, never read first: no zeroing pass
/// (burn's `FlexTensor::empty` zeroes, then copies the buffer once more to raise its alignment,
/// both on the thread that drives autodiff while the pool waits).
pub fn product(lhs: &FlexTensor, rhs: &FlexTensor, scale: f32) -> FlexTensor {
    let [m, k] = dims(lhs);
    let [k_rhs, n] = dims(rhs);
    assert_eq!(
        k, k_rhs,
        "matmul: inner dimensions differ ({k} and {k_rhs})"
    );
    if k == 0 {
        return FlexTensor::zeros(Shape::from(vec![m, n]), DType::F32);
    }
    let mut values = Vec::<f32>::with_capacity(m * n);
    // SAFETY: the pointer addresses `m × n` elements of `values`' capacity, row-major; the views
    // are whole tensors.
    unsafe {
        multiply(
            values.as_mut_ptr(),
            false,
            View::of(lhs),
            View::of(rhs),
            [m, n, k],
            scale,
        )
    };
    // SAFETY: `multiply` without `accumulate` wrote every one of the `m × n` elements (k > 0).
    unsafe { values.set_len(m * n) };
    super::flex(values, vec![m, n])
}

/// `acc + scale · lhs · rhs`, into `acc`'s own buffer when nothing else holds it (a projection's
/// fresh output: the LoRA update lands on it without a separate sum and its fresh tensor).
pub fn accumulate(acc: FlexTensor, lhs: &FlexTensor, rhs: &FlexTensor, scale: f32) -> FlexTensor {
    let [m, k] = dims(lhs);
    let [k_rhs, n] = dims(rhs);
    assert_eq!(
        (k, [m, n]),
        (k_rhs, dims(&acc)),
        "matmul_add: operand shapes differ"
    );
    let mut out = if acc.is_contiguous() && acc.layout().start_offset() == 0 {
        acc
    } else {
        acc.to_contiguous()
    };
    if k == 0 {
        return out;
    }
    // `storage_mut` copies the buffer first if another tensor shares it.
    let dst = out.storage_mut::<f32>().as_mut_ptr();
    // SAFETY: `dst` is `out`'s own contiguous `m × n` buffer; the views are whole tensors.
    unsafe { multiply(dst, true, View::of(lhs), View::of(rhs), [m, n, k], scale) };
    out
}

/// `dst (+)= scale · lhs · rhs` over `[m, n, k]`, `dst` row-major `m × n`, on rayon's pool.
///
/// A wide product (every projection, the output head) runs as bands of output columns, one
/// rayon task and one thread each: `gemm` itself would split the output's rows between threads
/// and have every thread pack the whole of `rhs` (a frozen weight, or the 113 MB head), where
/// a band packs only its own columns of it. A narrow product (LoRA's rank-r factors) is one
/// `gemm` call on the pool, which splits it between threads when that pays.
///
/// # Safety
/// `dst` must address `m × n` writable elements (readable too with `accumulate`), `lhs` `m × k`
/// and `rhs` `k × n` readable ones at their strides.
unsafe fn multiply(
    dst: *mut f32,
    accumulate: bool,
    lhs: View,
    rhs: View,
    [m, n, k]: [usize; 3],
    scale: f32,
) {
    let bands = column_bands(n);
    if bands.len() == 1 {
        // SAFETY: as the caller promised.
        unsafe {
            gemm_views(
                dst,
                n,
                accumulate,
                lhs,
                rhs,
                [m, n, k],
                scale,
                gemm::Parallelism::Rayon(0),
            );
        }
        return;
    }
    let dst = SendPtr(dst);
    bands.into_par_iter().for_each(|(start, end)| {
        let dst = &dst;
        // SAFETY: the bands are disjoint column ranges of the `m × n` output, and each operand
        // view stays inside its tensor's storage.
        unsafe {
            gemm_views(
                dst.0.add(start),
                n,
                accumulate,
                lhs,
                rhs.columns(start),
                [m, end - start, k],
                scale,
                gemm::Parallelism::None,
            );
        }
    });
}

/// `lhs · rhs` for a deep product (`[m, k]·[k, n]`, `k ≫ m, n`: the gradient through the output
/// head, over the vocabulary).
///
/// `gemm` would split the output between threads and have each pack all of `rhs`; here each
/// rayon task multiplies one band of the depth on one thread, so each packs only its band of
/// `rhs`, and the bands' partial products are then added.
pub fn deep_product(lhs: &FlexTensor, rhs: &FlexTensor) -> FlexTensor {
    let [m, k] = dims(lhs);
    let [_, n] = dims(rhs);
    let (lhs_view, rhs_view) = (View::of(lhs), View::of(rhs));
    let bands = (2 * rayon::current_num_threads()).clamp(1, k.max(1));
    let size = k.div_ceil(bands).max(1);
    let partial = (0..k)
        .step_by(size)
        .map(|start| (start, (start + size).min(k)))
        .collect::<Vec<_>>()
        .into_par_iter()
        .map(|(start, end)| {
            let mut out = vec![0f32; m * n];
            // SAFETY: `out` is this band's own `m × n` buffer; the views stay inside their
            // tensors' storage.
            unsafe {
                gemm_views(
                    out.as_mut_ptr(),
                    n,
                    false,
                    lhs_view.columns(start),
                    rhs_view.rows(start),
                    [m, n, end - start],
                    1.0,
                    gemm::Parallelism::None,
                );
            }
            out
        })
        .reduce_with(|mut sum, part| {
            sum.iter_mut().zip(&part).for_each(|(s, p)| *s += p);
            sum
        })
        .unwrap_or_else(|| vec![0f32; m * n]);
    super::flex(partial, vec![m, n])
}

/// Least width of a band of output columns: below it a product runs as one `gemm` call.
const MIN_BAND: usize = 32;

/// Output columns in bands for one rayon task each, two per thread (so a thread the scheduler
/// delays leaves a share to the others), each a multiple of 16 columns (two AVX registers, the
/// microkernel's row of output); the whole range when that would make bands under
/// [`MIN_BAND`].
fn column_bands(n: usize) -> Vec<(usize, usize)> {
    let bands = 2 * rayon::current_num_threads();
    if n < bands * MIN_BAND {
        return vec![(0, n)];
    }
    let size = n.div_ceil(bands).next_multiple_of(16);
    (0..n)
        .step_by(size)
        .map(|start| (start, (start + size).min(n)))
        .collect()
}

/// A raw output pointer handed to rayon tasks that write disjoint parts of it.
struct SendPtr(*mut f32);
// SAFETY: the tasks holding it write disjoint elements (see the callers).
unsafe impl Sync for SendPtr {}

/// A strided 2-D operand: its first element and strides in elements.
#[derive(Clone, Copy)]
struct View {
    ptr: *const f32,
    row_stride: isize,
    col_stride: isize,
}

// SAFETY: a view only reads, and lives no longer than the tensor it was made from.
unsafe impl Sync for View {}
unsafe impl Send for View {}

impl View {
    fn of(tensor: &FlexTensor) -> Self {
        let (row_stride, col_stride) = strides(tensor);
        Self {
            ptr: tensor.storage::<f32>()[tensor.layout().start_offset()..].as_ptr(),
            row_stride,
            col_stride,
        }
    }

    /// The view from column `start` on.
    fn columns(self, start: usize) -> Self {
        Self {
            ptr: self.ptr.wrapping_offset(start as isize * self.col_stride),
            ..self
        }
    }

    /// The view from row `start` on.
    fn rows(self, start: usize) -> Self {
        Self {
            ptr: self.ptr.wrapping_offset(start as isize * self.row_stride),
            ..self
        }
    }
}

/// `dst (+)= scale · lhs · rhs` over `[m, n, k]`, `dst` row-major with rows `dst_stride` apart;
/// without `accumulate`, `dst` is only written, never read.
///
/// # Safety
/// `dst` must address `m × n` writable elements at its row stride (readable too with
/// `accumulate`), `lhs` `m × k` and `rhs` `k × n` readable ones at theirs.
#[allow(clippy::too_many_arguments)]
unsafe fn gemm_views(
    dst: *mut f32,
    dst_stride: usize,
    accumulate: bool,
    lhs: View,
    rhs: View,
    [m, n, k]: [usize; 3],
    scale: f32,
    parallelism: gemm::Parallelism,
) {
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst,
            1,
            dst_stride as isize,
            accumulate,
            lhs.ptr,
            lhs.col_stride,
            lhs.row_stride,
            rhs.ptr,
            rhs.col_stride,
            rhs.row_stride,
            1.0,
            scale,
            false,
            false,
            false,
            parallelism,
        );
    }
}

fn dims(tensor: &FlexTensor) -> [usize; 2] {
    let shape = tensor.layout().shape();
    assert_eq!(shape.num_dims(), 2, "matmul takes 2-D tensors");
    [shape[0], shape[1]]
}

/// `(row stride, column stride)` in elements.
fn strides(tensor: &FlexTensor) -> (isize, isize) {
    let strides = tensor.layout().strides();
    (strides[0], strides[1])
}

#[derive(Debug)]
struct MatmulBackward {
    scale: f32,
}

impl Backward<Flex, 2> for MatmulBackward {
    /// `lhs` when `rhs` needs a gradient, `rhs` when `lhs` does.
    type State = (Option<FlexTensor>, Option<FlexTensor>);

    fn backward(
        self,
        ops: Ops<Self::State, 2>,
        grads: &mut Gradients,
        _checkpointer: &mut Checkpointer,
    ) {
        let grad = grads.consume::<Flex>(&ops.node);
        register_product_grads(&ops, [0, 1], grads, &grad, self.scale);
    }
}

/// The gradients of a product `scale · lhs · rhs` whose operands are parents `lhs_index` and
/// `rhs_index` of `ops`: `scale · ∂L/∂y · rhsᵀ` and `scale · lhsᵀ · ∂L/∂y`.
fn register_product_grads<const N: usize>(
    ops: &Ops<(Option<FlexTensor>, Option<FlexTensor>), N>,
    [lhs_index, rhs_index]: [usize; 2],
    grads: &mut Gradients,
    grad: &FlexTensor,
    scale: f32,
) {
    let (lhs, rhs) = &ops.state;
    register(ops, lhs_index, grads, || {
        let rhs = rhs.as_ref().expect("kept because lhs is tracked");
        product(grad, &rhs.transpose(0, 1), scale)
    });
    register(ops, rhs_index, grads, || {
        let lhs = lhs.as_ref().expect("kept because rhs is tracked");
        product(&lhs.transpose(0, 1), grad, scale)
    });
}

#[derive(Debug)]
struct MatmulAddBackward {
    scale: f32,
}

impl Backward<Flex, 3> for MatmulAddBackward {
    /// `lhs` when `rhs` needs a gradient, `rhs` when `lhs` does.
    type State = (Option<FlexTensor>, Option<FlexTensor>);

    fn backward(
        self,
        ops: Ops<Self::State, 3>,
        grads: &mut Gradients,
        _checkpointer: &mut Checkpointer,
    ) {
        let grad = grads.consume::<Flex>(&ops.node);
        register_product_grads(&ops, [1, 2], grads, &grad, self.scale);
        register(&ops, 0, grads, || grad);
    }
}
