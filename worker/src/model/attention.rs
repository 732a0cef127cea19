//! Causal grouped-query self-attention with rotary positions and an optional trainable prefix
//! (P-tuning v2).

use super::projection::Projection;
use super::rope::RotaryEmbedding;
use crate::ptuning::Prefix;
use burn::module::Module;
use burn::tensor::activation::softmax;
use burn::tensor::{Bool, Device, Tensor, TensorData};

/// `n_heads` query heads share `n_kv_heads` key/value heads.
#[derive(Module, Debug)]
pub struct Attention {
    pub q_proj: Projection,
    pub k_proj: Projection,
    pub v_proj: Projection,
    pub o_proj: Projection,
    pub prefix: Option<Prefix>,
    pub n_heads: usize,
    pub n_kv_heads: usize,
    pub head_dim: usize,
}

impl Attention {
    /// - input: `[batch, seq, d_model]`
    /// - output: `[batch, seq, d_model]`
    pub fn forward(&self, x: Tensor<3>, rope: &RotaryEmbedding) -> Tensor<3> {
        let [batch, seq, _] = x.dims();
        let device = x.device();
        let d_model = x.dims()[2];
        let [q, k, v] = Projection::forward_shared(
            [&self.q_proj, &self.k_proj, &self.v_proj],
            x.reshape([batch * seq, d_model]),
        );
        let q = rope
            .forward(self.split(q, batch, self.n_heads))
            .swap_dims(1, 2);
        let mut k = rope
            .forward(self.split(k, batch, self.n_kv_heads))
            .swap_dims(1, 2);
        let mut v = self.split(v, batch, self.n_kv_heads).swap_dims(1, 2);
        if let Some(prefix) = &self.prefix {
            (k, v) = prefix.extend(k, v);
        }
        let keys = k.dims()[2];
        let k = self.repeat_kv(k);
        let v = self.repeat_kv(v);

        let scores = q
            .matmul(k.swap_dims(2, 3))
            .div_scalar((self.head_dim as f64).sqrt());
        let mask = causal_mask(seq, keys, &device).unsqueeze::<4>();
        let weights = softmax(scores.mask_fill(mask, f32::NEG_INFINITY), 3);
        let out =
            weights
                .matmul(v)
                .swap_dims(1, 2)
                .reshape([batch, seq, self.n_heads * self.head_dim]);
        self.o_proj.forward(out)
    }

    /// `[batch·seq, heads·head_dim]` -> `[batch, seq, heads, head_dim]`
    fn split(&self, x: Tensor<2>, batch: usize, heads: usize) -> Tensor<4> {
        let seq = x.dims()[0] / batch;
        x.reshape([batch, seq, heads, self.head_dim])
    }

    /// `[batch, kv_heads, keys, head_dim]` -> `[batch, heads, keys, head_dim]`
    fn repeat_kv(&self, x: Tensor<4>) -> Tensor<4> {
        let groups = self.n_heads / self.n_kv_heads;
        if groups == 1 {
            return x;
        }
        let [batch, kv_heads, keys, head_dim] = x.dims();
        x.unsqueeze_dim::<5>(2).repeat_dim(2, groups).reshape([
            batch,
            kv_heads * groups,
            keys,
            head_dim,
        ])
    }
}

/// `[seq, keys]`, true where query `i` may not see key `j`. The first `keys - seq` keys are a
/// prefix every query sees.
fn causal_mask(seq: usize, keys: usize, device: &Device) -> Tensor<2, Bool> {
    let prefix = keys - seq;
    let mask: Vec<bool> = (0..seq)
        .flat_map(|i| (0..keys).map(move |j| j > i + prefix))
        .collect();
    Tensor::from_data(TensorData::new(mask, [seq, keys]), device)
}
