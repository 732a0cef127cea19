//! The SwiGLU feed-forward block: `down(silu(gate(x)) ⊙ up(x))`.

use super::projection::Projection;
use burn::module::Module;
use burn::tensor::activation::silu;
use burn::tensor::Tensor;

/// Llama's MLP.
#[derive(Module, Debug)]
pub struct Mlp {
    pub gate_proj: Projection,
    pub up_proj: Projection,
    pub down_proj: Projection,
}

impl Mlp {
    /// - input: `[batch, seq, d_model]`
    /// - output: `[batch, seq, d_model]`
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let gated = silu(self.gate_proj.forward(x.clone())) * self.up_proj.forward(x);
        self.down_proj.forward(gated)
    }
}
