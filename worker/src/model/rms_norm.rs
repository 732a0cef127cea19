//! Root-mean-square layer norm as Llama uses it: `x / sqrt(mean(x²) + eps) · γ`.

use burn::module::{Module, Param};
use burn::tensor::Tensor;

/// RMSNorm with a learned gain `γ: [d_model]`.
#[derive(Module, Debug)]
pub struct RmsNorm {
    pub gamma: Param<Tensor<1>>,
    pub eps: f64,
}

impl RmsNorm {
    /// - input: `[batch, seq, d_model]`
    /// - output: `[batch, seq, d_model]`
    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        super::fused::rms_norm(x, self.gamma.val(), self.eps)
    }
}
