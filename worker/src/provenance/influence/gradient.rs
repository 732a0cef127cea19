//! Per-example gradients with respect to an adapter's parameters only.
//!
//! For one example (a training row, or a prompt and its answer) the target is its summed
//! completion log-likelihood `Σ_t log p(x_t | x_<t)` over the tokens training counts (the
//! completion, after the prompt; see [`crate::data::make_batch`]): the same quantity for rows
//! and answers, so that a row's gradient step raises an answer's log-likelihood by about
//! `η · g_answer · g_row`. The gradient is taken with respect to every LoRA factor of the
//! model, flattened in this order: layers ascending, projections in
//! [`TargetModule::ALL`] order, for each adapted one `A` (`[d_in, r]`, row-major) then `B`
//! (`[r, d_out]`). The base weights are frozen, so backpropagation forms no weight-shaped
//! gradient of them.

use crate::data::{make_batch, Encoded};
use crate::lora::TargetModule;
use crate::model::Llama;
use crate::train::masked_loss;
use anyhow::{ensure, Context, Result};
use burn::module::Param;
use burn::optim::GradientsParams;
use burn::tensor::{Device, Tensor};

/// The adapter parameters of `model` in gradient order.
fn lora_params(model: &Llama) -> Vec<&Param<Tensor<2>>> {
    let mut params = Vec::new();
    for layer in &model.layers {
        for target in TargetModule::ALL {
            if let Some(lora) = &layer.projection(target).lora {
                params.push(&lora.a);
                params.push(&lora.b);
            }
        }
    }
    params
}

/// How many adapter parameters `model` has (`d`, the gradient's length).
pub fn lora_dims(model: &Llama) -> usize {
    lora_params(model)
        .iter()
        .map(|p| p.shape().num_elements())
        .sum()
}

/// The gradient of `example`'s completion log-likelihood with respect to `model`'s adapter
/// factors (`[d]`, the order in the module docs), and that log-likelihood.
///
/// `model` must be on an autodiff `device` and carry adapters; `pad` fills nothing here (one
/// example per pass) but is what [`make_batch`] pads with.
pub fn lora_gradient(
    model: &Llama,
    example: &Encoded,
    pad: u32,
    device: &Device,
) -> Result<(Vec<f32>, f64)> {
    ensure!(device.is_autodiff(), "gradients need an autodiff device");
    let params = lora_params(model);
    ensure!(
        !params.is_empty(),
        "the model has no adapter to take gradients of"
    );
    let batch = make_batch(&[example], pad, device);
    ensure!(
        batch.trained_tokens > 0,
        "an example without completion tokens has no log-likelihood"
    );
    let tokens = batch.trained_tokens as f64;
    // masked_loss is the mean negative log-likelihood; its negative times the token count is
    // the summed log-likelihood.
    let log_likelihood =
        masked_loss(model.forward(batch.inputs.clone()), &batch).mul_scalar(-tokens);
    let value = f64::from(log_likelihood.clone().into_scalar::<f32>());
    let grads = GradientsParams::from_grads(log_likelihood.backward(), model);
    let mut gradient = Vec::with_capacity(lora_dims(model));
    for param in params {
        match grads.get::<2>(param.id) {
            Some(grad) => gradient.extend(
                grad.into_data()
                    .try_to_vec::<f32>()
                    .map_err(|e| anyhow::anyhow!("reading a gradient: {e:?}"))
                    .context("adapter gradient")?,
            ),
            // A factor the loss does not reach (its rows masked out) has a zero gradient.
            None => gradient.extend(std::iter::repeat_n(0.0, param.shape().num_elements())),
        }
    }
    Ok((gradient, value))
}
