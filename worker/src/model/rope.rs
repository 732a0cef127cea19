//! Rotary position embedding in the Hugging Face Llama layout ("rotate half": dimension `i` is
//! paired with `i + head_dim/2`, not with its neighbour).

use burn::module::Module;
use burn::tensor::{Device, Tensor, TensorData};

/// Precomputed `cos`/`sin` tables, `[max_positions, head_dim]` each.
#[derive(Module, Debug)]
pub struct RotaryEmbedding {
    #[module(skip)]
    cos: Tensor<2>,
    #[module(skip)]
    sin: Tensor<2>,
}

impl RotaryEmbedding {
    /// Tables for angles `pos · theta^(-2i/head_dim)`.
    pub fn new(head_dim: usize, max_positions: usize, theta: f64, device: &Device) -> Self {
        let half = head_dim / 2;
        let mut cos = Vec::with_capacity(max_positions * head_dim);
        let mut sin = Vec::with_capacity(max_positions * head_dim);
        for pos in 0..max_positions {
            // Both halves use the same frequencies.
            for i in 0..head_dim {
                let freq = theta.powf(-2.0 * (i % half) as f64 / head_dim as f64);
                let angle = pos as f64 * freq;
                cos.push(angle.cos() as f32);
                sin.push(angle.sin() as f32);
            }
        }
        let shape = [max_positions, head_dim];
        Self {
            cos: Tensor::from_data(TensorData::new(cos, shape), device),
            sin: Tensor::from_data(TensorData::new(sin, shape), device),
        }
    }

    /// Rotates positions `0..seq`.
    ///
    /// - input: `[batch, seq, heads, head_dim]`
    /// - output: `[batch, seq, heads, head_dim]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        super::fused::rope(x, &self.cos, &self.sin)
    }
}
