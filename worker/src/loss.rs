//! The training loss through the output head, computed in chunks outside autodiff.
//!
//! Over a 49 152-token vocabulary the logits of a batch (`[tokens, vocab]`, 50 MB for 256
//! tokens) and autodiff's copies of them (log-softmax, its gradient, the gathered picks) cost
//! more memory traffic than the matmul itself, and the prompt and padding positions they cover
//! never reach the loss. Here only the positions that are trained on go through the head, a
//! chunk of rows at a time, and cross-entropy's gradient is formed directly:
//!
//! ```text
//! z = h_n · Eᵀ                      (one chunk of trained positions, [c, vocab])
//! loss   = Σ (logsumexp(z) − z[target]) / N
//! ∂L/∂z  = (softmax(z) − onehot(target)) / N
//! ∂L/∂h_n = ∂L/∂z · E               ∂L/∂E = (∂L/∂z)ᵀ · h_n   (only when the head trains)
//! ```
//!
//! Autodiff then sees the surrogate `s = Σ h_n ⊙ ∂L/∂h_n (+ Σ E ⊙ ∂L/∂E)`, whose gradients with
//! respect to everything below `h_n` (the final norm, the blocks, the adapters) and to `E` are
//! exactly the loss's. `N` is the batch's trained-token count, as in [`masked_loss`].
//!
//! [`masked_loss`]: crate::train::masked_loss

use crate::data::Batch;
use crate::model::{fused, Llama};
use burn::backend::flex::FlexTensor;
use burn::backend::Flex;
use burn::tensor::{IndexingUpdateOp, Int, Tensor, TensorData};
use rayon::prelude::*;

/// Most rows of logits formed at once: `CHUNK × vocab` floats (25 MB for SmolLM2's vocabulary,
/// under glibc's largest mmap threshold, so the buffers are reused rather than faulted in anew).
/// The trained positions are split into equal chunks of at most this many: the head's matmul
/// reads (and packs) the whole `[vocab, d_model]` head once per chunk, so fewer, fuller chunks
/// run it faster.
const CHUNK: usize = 128;

/// The loss of `batch` given the top block's output, divided by `scale`.
pub struct HeadLoss {
    /// The loss's value.
    pub value: f32,
    /// A scalar whose gradients are the loss's: call `backward()` on it.
    pub surrogate: Tensor<1>,
}

/// Mean cross-entropy over the completion tokens of `batch`, divided by `scale`, from the top
/// block's output `top: [batch, seq, d_model]` (on an autodiff device).
pub fn head_loss(model: &Llama, top: Tensor<3>, batch: &Batch, scale: f64) -> HeadLoss {
    let [b, s, d] = top.dims();
    let normed = model.norm.forward(top);
    let (positions, targets) = trained_positions(batch);
    let trained = positions.len();
    let weight = 1.0 / (trained.max(1) as f64 * scale);
    // The head as `[vocab, d_model]` (tied embeddings are stored that way).
    let (head, head_trains, head_is_transposed) = match &model.lm_head {
        Some(head) => (head.val(), head.is_require_grad(), true),
        None => (
            model.embed_tokens.val(),
            model.embed_tokens.is_require_grad(),
            false,
        ),
    };
    let head_rows = if head_is_transposed {
        head.clone().inner().transpose()
    } else {
        head.clone().inner()
    };
    let flat = normed.clone().inner().reshape([b * s, d]);
    let device = flat.device();
    let mut value = 0.0f64;
    let mut grad_normed = Tensor::<2>::zeros([b * s, d], &device);
    let mut grad_head: Option<Tensor<2>> = None;
    let chunk = trained.div_ceil(trained.div_ceil(CHUNK).max(1)).max(1);
    for (chunk_positions, chunk_targets) in positions.chunks(chunk).zip(targets.chunks(chunk)) {
        let c = chunk_positions.len();
        let index = int_tensor(chunk_positions, [c], &device);
        let rows = flat.clone().select(0, index.clone());
        let logits = head_logits(rows.clone(), head_rows.clone());
        let (chunk_loss, grad_logits) = cross_entropy(logits, chunk_targets, weight);
        value += chunk_loss;
        let grad_rows = through_head(grad_logits.clone(), head_rows.clone());
        grad_normed = grad_normed.select_assign(0, index, grad_rows, IndexingUpdateOp::Add);
        if head_trains {
            let grad = grad_logits.transpose().matmul(rows);
            grad_head = Some(match grad_head {
                Some(sum) => sum + grad,
                None => grad,
            });
        }
    }
    let mut surrogate = (normed * grad_normed.reshape([b, s, d])).sum();
    if let Some(grad) = grad_head {
        let grad = if head_is_transposed {
            grad.transpose()
        } else {
            grad
        };
        surrogate = surrogate + (head * grad).sum();
    }
    HeadLoss {
        value: (value * weight) as f32,
        surrogate,
    }
}

/// `rows · headᵀ`: `[c, d]·[d, vocab]` (on `flex`, each thread packs only its band of the head:
/// see [`fused::product`]).
fn head_logits(rows: Tensor<2>, head_rows: Tensor<2>) -> Tensor<2> {
    match (plain(&rows), plain(&head_rows)) {
        (Some(rows), Some(head)) => {
            Tensor::from_primitive::<Flex>(fused::product(&rows, &head.transpose(0, 1), 1.0))
        }
        _ => rows.matmul(head_rows.transpose()),
    }
}

/// `∂L/∂z · head`: `[c, vocab]·[vocab, d]` (on `flex`, each thread packs only its band of the
/// head).
fn through_head(grad_logits: Tensor<2>, head_rows: Tensor<2>) -> Tensor<2> {
    match (plain(&grad_logits), plain(&head_rows)) {
        (Some(grad), Some(head)) => {
            Tensor::from_primitive::<Flex>(fused::deep_product(&grad, &head))
        }
        _ => grad_logits.matmul(head_rows),
    }
}

/// The `flex` primitive of an untracked `flex` tensor.
fn plain(x: &Tensor<2>) -> Option<FlexTensor> {
    x.clone().try_into_primitive::<Flex>().ok()
}

/// Cross-entropy of `logits: [c, vocab]` against `targets` (summed over rows) and its gradient
/// `(softmax(logits) − onehot(targets)) · weight`, `[c, vocab]`.
///
/// On `flex` this is one pass per row over the logits' own buffer (the gradient overwrites
/// them); elsewhere a composition of burn ops.
fn cross_entropy(logits: Tensor<2>, targets: &[i64], weight: f64) -> (f64, Tensor<2>) {
    if fused::is_plain_flex(&logits) {
        let mut logits = logits
            .try_into_primitive::<Flex>()
            .expect("an untracked flex tensor");
        let vocab = logits.layout().shape()[1];
        let loss = softmax_gradient_in_place(logits.storage_mut::<f32>(), vocab, targets, weight);
        return (loss, Tensor::from_primitive::<Flex>(logits));
    }
    let device = logits.device();
    let c = targets.len();
    let target = int_tensor(targets, [c, 1], &device);
    let max = logits.clone().max_dim(1);
    let exp = (logits.clone() - max.clone()).exp();
    let sum = exp.clone().sum_dim(1);
    let picked = logits.gather(1, target.clone());
    let loss = (max + sum.clone().log() - picked).sum();
    let minus_one = Tensor::<2>::full([c, 1], -1.0, &device);
    let grad = (exp / sum)
        .scatter(1, target, minus_one, IndexingUpdateOp::Add)
        .mul_scalar(weight);
    (f64::from(loss.into_scalar::<f32>()), grad)
}

/// Replaces each row `z` of `logits` (`vocab` wide) by `(softmax(z) − onehot(target)) · weight`;
/// returns `Σ_rows logsumexp(z) − z[target]`.
fn softmax_gradient_in_place(
    logits: &mut [f32],
    vocab: usize,
    targets: &[i64],
    weight: f64,
) -> f64 {
    let weight = weight as f32;
    logits
        .par_chunks_mut(vocab)
        .zip(targets.par_iter())
        .map(|(z, &target)| {
            let target = usize::try_from(target).expect("token ids are non-negative");
            let picked = z[target];
            let max = z.iter().fold(f32::NEG_INFINITY, |m, v| m.max(*v));
            // Summed in f64: 49 152 terms in order would lose the fourth decimal in f32.
            let mut sum = 0f64;
            for v in z.iter_mut() {
                *v = (*v - max).exp();
                sum += f64::from(*v);
            }
            let scale = weight / sum as f32;
            for v in z.iter_mut() {
                *v *= scale;
            }
            z[target] -= weight;
            f64::from(max) + sum.ln() - f64::from(picked)
        })
        .sum()
}

/// The flat positions (`row · seq + position`) the loss covers, and their target tokens.
fn trained_positions(batch: &Batch) -> (Vec<i64>, Vec<i64>) {
    let mask = host_values::<f32>(batch.mask.clone().inner().into_data());
    let targets = host_values::<i64>(batch.targets.clone().inner().into_data());
    mask.iter()
        .zip(targets)
        .enumerate()
        .filter(|(_, (m, _))| **m > 0.0)
        .map(|(i, (_, t))| (i as i64, t))
        .unzip()
}

fn host_values<T: burn::tensor::Element>(data: TensorData) -> Vec<T> {
    data.convert::<T>()
        .try_into_vec::<T>()
        .expect("converted to the requested element type")
}

fn int_tensor<const D: usize>(
    values: &[i64],
    shape: [usize; D],
    device: &burn::tensor::Device,
) -> Tensor<D, Int> {
    Tensor::from_data(TensorData::new(values.to_vec(), shape), device)
}
