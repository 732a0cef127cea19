//! The SwiGLU feed-forward block: `down(silu(gate(x)) ⊙ up(x))`.

use super::fused::swiglu;
use super::projection::Projection;
use burn::module::Module;
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
        let [batch, seq, d_model] = x.dims();
        let [gate, up] = Projection::forward_shared(
            [&self.gate_proj, &self.up_proj],
            x.reshape([batch * seq, d_model]),
        );
        let gated = swiglu(gate, up);
        self.down_proj
            .forward_rows(gated)
            .reshape([batch, seq, d_model])
    }
}
