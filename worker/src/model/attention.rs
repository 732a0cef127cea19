//! Causal grouped-query self-attention with rotary positions and an optional trainable prefix
//! (P-tuning v2).

use super::fused::causal_softmax;
use super::projection::Projection;
use super::rope::RotaryEmbedding;
use crate::ptuning::Prefix;
use burn::module::Module;
use burn::tensor::Tensor;

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
    ///
    /// The query heads that share a key/value head run as one product against it: queries are
    /// laid out `[batch, kv_heads, groups·seq, head_dim]` (Hugging Face orders query head `h`
    /// under key/value head `h / groups`), so keys and values are never repeated per query head
    /// (a copy forward and a sum backward) and each product is `groups` times taller.
    pub fn forward(&self, x: Tensor<3>, rope: &RotaryEmbedding) -> Tensor<3> {
        let [batch, seq, d_model] = x.dims();
        let [q, k, v] = Projection::forward_shared(
            [&self.q_proj, &self.k_proj, &self.v_proj],
            x.reshape([batch * seq, d_model]),
        );
        let groups = self.n_heads / self.n_kv_heads;
        let q = rope
            .forward(self.split(q, batch, self.n_heads))
            .swap_dims(1, 2)
            .reshape([batch, self.n_kv_heads, groups * seq, self.head_dim]);
        let mut k = rope
            .forward(self.split(k, batch, self.n_kv_heads))
            .swap_dims(1, 2);
        let mut v = self.split(v, batch, self.n_kv_heads).swap_dims(1, 2);
        if let Some(prefix) = &self.prefix {
            (k, v) = prefix.extend(k, v);
        }

        let scores = q.matmul(k.swap_dims(2, 3));
        let weights = causal_softmax(scores, 1.0 / (self.head_dim as f64).sqrt(), seq);
        let out = weights
            .matmul(v)
            .reshape([batch, self.n_heads, seq, self.head_dim])
            .swap_dims(1, 2)
            .reshape([batch, seq, self.n_heads * self.head_dim]);
        self.o_proj.forward(out)
    }

    /// `[batch·seq, heads·head_dim]` -> `[batch, seq, heads, head_dim]`
    fn split(&self, x: Tensor<2>, batch: usize, heads: usize) -> Tensor<4> {
        let seq = x.dims()[0] / batch;
        x.reshape([batch, seq, heads, self.head_dim])
    }
}
