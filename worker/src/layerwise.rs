//! Backpropagation one block at a time (activation checkpointing), which QLoRA uses so that a
//! block's NF4 weights are expanded to `f32` only while that block runs, in the backward pass
//! as in the forward pass.
//!
//! The forward pass keeps each block's input and drops the block's graph (and with it the
//! expanded weights) as soon as its output exists. The backward pass walks the blocks from the
//! top, recomputes one block from its saved input, and backpropagates the surrogate
//!
//! ```text
//! s = sum(output ⊙ ∂L/∂output)      ∂s/∂θ = ∂L/∂θ,  ∂s/∂input = ∂L/∂input
//! ```
//!
//! so it yields that block's parameter gradients and the gradient for the block below. The cost
//! is one more forward pass per step. Dropout draws a new mask in the recomputation, so with
//! adapter dropout the gradient is that of a slightly different mask than the loss was computed
//! with.

use crate::data::Batch;
use crate::model::Llama;
use crate::train::masked_loss;
use burn::optim::{GradientsAccumulator, GradientsParams};

/// The loss of `batch` divided by `scale`, and its parameter gradients.
pub fn gradients(model: &Llama, batch: &Batch, scale: f64) -> (f32, GradientsParams) {
    let mut x = model.embed(batch.inputs.clone()).detach();
    let mut inputs = Vec::with_capacity(model.layers.len());
    for layer in &model.layers {
        inputs.push(x.clone());
        x = layer.forward(x, &model.rope).detach();
    }
    let top = x.require_grad();
    let loss = masked_loss(model.head(top.clone()), batch).div_scalar(scale);
    let value = loss.clone().into_scalar::<f32>();
    let mut grads = loss.backward();
    let mut upstream = top
        .grad_remove(&mut grads)
        .expect("the head reads the top block");
    let mut accumulator = GradientsAccumulator::<Llama>::new();
    accumulator.accumulate(model, GradientsParams::from_grads(grads, model));
    for (layer, input) in model.layers.iter().zip(inputs).rev() {
        let input = input.require_grad();
        let output = layer.forward(input.clone(), &model.rope);
        let mut grads = (output * upstream).sum().backward();
        upstream = input
            .grad_remove(&mut grads)
            .expect("a block reads its input");
        accumulator.accumulate(model, GradientsParams::from_grads(grads, model));
    }
    (value, accumulator.grads())
}
