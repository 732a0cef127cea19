//! Backpropagation one block at a time (activation checkpointing), which QLoRA uses on backends
//! without the fused packed matmul ([`fused::packed_matmul`], `flex` has it) so that a block's packed
//! weights are expanded to `f32` only while that block runs, in the backward pass as in the
//! forward pass. On `flex` the whole graph is cheaper: that matmul keeps the packed weight, not
//! the expanded one, and no block runs twice.
//!
//! [`fused::packed_matmul`]: crate::model::fused::packed_matmul
//!
//! The forward pass runs without autodiff and keeps only each block's input, so a block's
//! expanded weights are dropped as soon as its output exists. The backward pass walks the blocks from the
//! top, recomputes one block from its saved input, and backpropagates the surrogate
//!
//! ```text
//! s = sum(output ⊙ ∂L/∂output)      ∂s/∂θ = ∂L/∂θ,  ∂s/∂input = ∂L/∂input
//! ```
//!
//! so it yields that block's parameter gradients and the gradient for the block below. The cost
//! is one more forward pass per step. The first pass runs in evaluation mode, so adapter dropout
//! applies only in the recomputation: with dropout, the gradient is an approximation.

use crate::data::Batch;
use crate::loss::head_loss;
use crate::model::Llama;
use burn::module::Module;
use burn::optim::{GradientsAccumulator, GradientsParams};

/// The loss of `batch` divided by `scale`, and its parameter gradients.
pub fn gradients(model: &Llama, batch: &Batch, scale: f64) -> (f32, GradientsParams) {
    // The forward pass runs outside autodiff, so it records no graph at all.
    let untracked = model.valid();
    let mut x = untracked.embed(batch.inputs.clone().inner());
    let mut inputs = Vec::with_capacity(model.layers.len());
    for layer in &untracked.layers {
        inputs.push(x.clone());
        x = layer.forward(x, &untracked.rope);
    }
    let top = x.autodiff().require_grad();
    let loss = head_loss(model, top.clone(), batch, scale);
    let value = loss.value;
    let mut grads = loss.surrogate.backward();
    let mut upstream = top
        .grad_remove(&mut grads)
        .expect("the head reads the top block");
    let mut accumulator = GradientsAccumulator::<Llama>::new();
    accumulator.accumulate(model, GradientsParams::from_grads(grads, model));
    for (layer, input) in model.layers.iter().zip(inputs).rev() {
        let input = input.autodiff().require_grad();
        let output = layer.forward(input.clone(), &model.rope);
        let mut grads = (output * upstream).sum().backward();
        upstream = input
            .grad_remove(&mut grads)
            .expect("a block reads its input");
        accumulator.accumulate(model, GradientsParams::from_grads(grads, model));
    }
    (value, accumulator.grads())
}
