//! The model's hyper-parameters, read from a Hugging Face `config.json`, and the checkpoint
//! layout they imply.

use crate::lora::TargetModule;
use anyhow::{ensure, Result};
use serde::{Deserialize, Serialize};

/// The fields of a Hugging Face Llama `config.json` this model reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LlamaConfig {
    #[serde(default = "default_model_type")]
    pub model_type: String,
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    #[serde(default)]
    pub num_key_value_heads: Option<usize>,
    #[serde(default)]
    pub head_dim: Option<usize>,
    #[serde(default = "default_eps")]
    pub rms_norm_eps: f64,
    #[serde(default = "default_theta")]
    pub rope_theta: f64,
    #[serde(default = "default_positions")]
    pub max_position_embeddings: usize,
    #[serde(default)]
    pub tie_word_embeddings: bool,
    #[serde(default)]
    pub bos_token_id: Option<u32>,
    #[serde(default)]
    pub eos_token_id: Option<u32>,
}

fn default_model_type() -> String {
    "llama".into()
}
fn default_eps() -> f64 {
    1e-6
}
fn default_theta() -> f64 {
    10_000.0
}
fn default_positions() -> usize {
    2048
}

impl LlamaConfig {
    /// A small configuration; the rest of the fields take Llama's defaults.
    pub fn small(
        vocab_size: usize,
        hidden_size: usize,
        intermediate_size: usize,
        layers: usize,
        heads: usize,
        kv_heads: usize,
    ) -> Self {
        Self {
            model_type: default_model_type(),
            vocab_size,
            hidden_size,
            intermediate_size,
            num_hidden_layers: layers,
            num_attention_heads: heads,
            num_key_value_heads: Some(kv_heads),
            head_dim: None,
            rms_norm_eps: default_eps(),
            rope_theta: default_theta(),
            max_position_embeddings: 512,
            tie_word_embeddings: true,
            bos_token_id: None,
            eos_token_id: None,
        }
    }

    pub fn kv_heads(&self) -> usize {
        self.num_key_value_heads.unwrap_or(self.num_attention_heads)
    }

    pub fn head_dim(&self) -> usize {
        self.head_dim
            .unwrap_or(self.hidden_size / self.num_attention_heads)
    }

    /// Rejects configurations this model cannot run.
    pub fn validate(&self) -> Result<()> {
        ensure!(
            self.model_type == "llama",
            "model_type `{}` is not supported (expected `llama`)",
            self.model_type
        );
        ensure!(
            self.num_attention_heads > 0 && self.kv_heads() > 0,
            "config.json: head counts must be positive"
        );
        ensure!(
            self.num_attention_heads.is_multiple_of(self.kv_heads()),
            "config.json: num_attention_heads ({}) must be a multiple of num_key_value_heads ({})",
            self.num_attention_heads,
            self.kv_heads()
        );
        ensure!(
            self.head_dim().is_multiple_of(2),
            "config.json: head_dim must be even for rotary embeddings"
        );
        Ok(())
    }

    /// `[d_in, d_out]` of a projection (our layout; Hugging Face stores the transpose).
    pub fn projection_shape(&self, target: TargetModule) -> [usize; 2] {
        let (d, ff) = (self.hidden_size, self.intermediate_size);
        let (q, kv) = (
            self.num_attention_heads * self.head_dim(),
            self.kv_heads() * self.head_dim(),
        );
        match target {
            TargetModule::Q => [d, q],
            TargetModule::K | TargetModule::V => [d, kv],
            TargetModule::O => [q, d],
            TargetModule::Gate | TargetModule::Up => [d, ff],
            TargetModule::Down => [ff, d],
        }
    }

    /// Every tensor of the checkpoint with its Hugging Face name and shape.
    pub fn tensor_shapes(&self) -> Vec<(String, Vec<usize>)> {
        let d = self.hidden_size;
        let mut shapes = vec![(
            "model.embed_tokens.weight".to_string(),
            vec![self.vocab_size, d],
        )];
        for layer in 0..self.num_hidden_layers {
            for target in TargetModule::ALL {
                let [d_in, d_out] = self.projection_shape(target);
                shapes.push((
                    format!("{}.weight", projection_path(layer, target)),
                    vec![d_out, d_in],
                ));
            }
            shapes.push((
                format!("model.layers.{layer}.input_layernorm.weight"),
                vec![d],
            ));
            shapes.push((
                format!("model.layers.{layer}.post_attention_layernorm.weight"),
                vec![d],
            ));
        }
        shapes.push(("model.norm.weight".to_string(), vec![d]));
        if !self.tie_word_embeddings {
            shapes.push(("lm_head.weight".to_string(), vec![self.vocab_size, d]));
        }
        shapes
    }
}

/// Hugging Face module path of a projection: `model.layers.3.self_attn.q_proj`.
pub fn projection_path(layer: usize, target: TargetModule) -> String {
    let block = match target {
        TargetModule::Q | TargetModule::K | TargetModule::V | TargetModule::O => "self_attn",
        TargetModule::Gate | TargetModule::Up | TargetModule::Down => "mlp",
    };
    format!("model.layers.{layer}.{block}.{}", target.hf_name())
}
