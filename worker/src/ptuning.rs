//! P-tuning v2 (Liu et al. 2022): trainable key/value prefixes at every layer, the base model
//! frozen. Every query attends to the `length` prefix positions before the sequence.

use burn::module::{Module, Param};
use burn::tensor::{Device, Distribution, Tensor};
use serde::{Deserialize, Serialize};

/// Prefix hyper-parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrefixConfig {
    /// Prefix positions per layer (the P-tuning v2 reference setting is 128).
    #[serde(default = "default_length")]
    pub length: usize,
}

fn default_length() -> usize {
    128
}

impl Default for PrefixConfig {
    fn default() -> Self {
        Self {
            length: default_length(),
        }
    }
}

impl PrefixConfig {
    pub fn with_length(self, length: usize) -> Self {
        Self { length }
    }

    /// A prefix for one layer with `kv_heads` heads of `head_dim`.
    pub fn init(&self, kv_heads: usize, head_dim: usize, device: &Device) -> Prefix {
        let shape = [kv_heads, self.length, head_dim];
        let init = || {
            Param::from_tensor(Tensor::random(
                shape,
                Distribution::Normal(0.0, 0.02),
                device,
            ))
        };
        Prefix {
            key: init(),
            value: init(),
        }
    }
}

/// One layer's prefix keys and values.
#[derive(Module, Debug)]
pub struct Prefix {
    /// `[kv_heads, length, head_dim]`
    pub key: Param<Tensor<3>>,
    /// `[kv_heads, length, head_dim]`
    pub value: Param<Tensor<3>>,
}

impl Prefix {
    /// Puts the prefix in front of the keys and values.
    ///
    /// - k, v: `[batch, kv_heads, seq, head_dim]`
    /// - output: `[batch, kv_heads, length + seq, head_dim]` each
    pub fn extend(&self, k: Tensor<4>, v: Tensor<4>) -> (Tensor<4>, Tensor<4>) {
        let batch = k.dims()[0];
        let expand = |p: Tensor<3>| p.unsqueeze::<4>().repeat_dim(0, batch);
        (
            Tensor::cat(vec![expand(self.key.val()), k], 2),
            Tensor::cat(vec![expand(self.value.val()), v], 2),
        )
    }
}
