//! The model's hyper-parameters, read from a Hugging Face `config.json` (as transformers 4 or
//! 5 writes it) or GGUF metadata, and the checkpoint layout they imply.

use crate::lora::TargetModule;
use anyhow::{bail, ensure, Result};
use serde::{Deserialize, Serialize};

/// The fields of a Hugging Face Llama `config.json` this model reads.
///
/// Written in the transformers 4 form (top-level `rope_theta`), which transformers 5 still
/// reads. Reading accepts both: transformers 5 moves the RoPE settings into
/// `rope_parameters: {rope_theta, rope_type}`. Options that change the computation and that
/// this model does not implement (RoPE scaling, projection biases, another activation) are
/// refused by name rather than ignored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "HfConfig")]
pub struct LlamaConfig {
    pub model_type: String,
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub intermediate_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub num_key_value_heads: Option<usize>,
    pub head_dim: Option<usize>,
    pub rms_norm_eps: f64,
    pub rope_theta: f64,
    pub max_position_embeddings: usize,
    pub tie_word_embeddings: bool,
    pub bos_token_id: Option<u32>,
    /// The first id when `config.json` lists several.
    pub eos_token_id: Option<u32>,
}

/// `config.json` as written, before its variants are reconciled.
#[derive(Deserialize)]
struct HfConfig {
    #[serde(default = "default_model_type")]
    model_type: String,
    vocab_size: usize,
    hidden_size: usize,
    intermediate_size: usize,
    num_hidden_layers: usize,
    num_attention_heads: usize,
    #[serde(default)]
    num_key_value_heads: Option<usize>,
    #[serde(default)]
    head_dim: Option<usize>,
    #[serde(default = "default_eps")]
    rms_norm_eps: f64,
    /// transformers 4.
    #[serde(default)]
    rope_theta: Option<f64>,
    /// transformers 4.
    #[serde(default)]
    rope_scaling: Option<RopeParameters>,
    /// transformers 5.
    #[serde(default)]
    rope_parameters: Option<RopeParameters>,
    #[serde(default = "default_positions")]
    max_position_embeddings: usize,
    #[serde(default)]
    tie_word_embeddings: bool,
    #[serde(default)]
    bos_token_id: Option<TokenIds>,
    #[serde(default)]
    eos_token_id: Option<TokenIds>,
    #[serde(default)]
    attention_bias: bool,
    #[serde(default)]
    mlp_bias: bool,
    #[serde(default)]
    hidden_act: Option<String>,
}

#[derive(Deserialize)]
struct RopeParameters {
    #[serde(default)]
    rope_theta: Option<f64>,
    /// transformers 4's `rope_scaling` may spell it `type`.
    #[serde(default, alias = "type")]
    rope_type: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum TokenIds {
    One(u32),
    Many(Vec<u32>),
}

impl TokenIds {
    fn first(self) -> Option<u32> {
        match self {
            TokenIds::One(id) => Some(id),
            TokenIds::Many(ids) => ids.first().copied(),
        }
    }
}

impl TryFrom<HfConfig> for LlamaConfig {
    type Error = anyhow::Error;

    fn try_from(raw: HfConfig) -> Result<Self> {
        for (field, rope) in [
            ("rope_parameters", &raw.rope_parameters),
            ("rope_scaling", &raw.rope_scaling),
        ] {
            if let Some(kind) = rope.as_ref().and_then(|r| r.rope_type.as_deref()) {
                if kind != "default" {
                    bail!("{field}.rope_type `{kind}` (RoPE scaling) is not supported; only `default` is");
                }
            }
        }
        for (field, set) in [
            ("attention_bias", raw.attention_bias),
            ("mlp_bias", raw.mlp_bias),
        ] {
            ensure!(
                !set,
                "{field} = true is not supported (the projections have no bias)"
            );
        }
        if let Some(act) = raw.hidden_act.as_deref() {
            ensure!(
                act == "silu",
                "hidden_act `{act}` is not supported (expected `silu`)"
            );
        }
        let rope_theta = raw
            .rope_parameters
            .and_then(|r| r.rope_theta)
            .or(raw.rope_theta)
            .unwrap_or_else(default_theta);
        Ok(Self {
            model_type: raw.model_type,
            vocab_size: raw.vocab_size,
            hidden_size: raw.hidden_size,
            intermediate_size: raw.intermediate_size,
            num_hidden_layers: raw.num_hidden_layers,
            num_attention_heads: raw.num_attention_heads,
            num_key_value_heads: raw.num_key_value_heads,
            head_dim: raw.head_dim,
            rms_norm_eps: raw.rms_norm_eps,
            rope_theta,
            max_position_embeddings: raw.max_position_embeddings,
            tie_word_embeddings: raw.tie_word_embeddings,
            bos_token_id: raw.bos_token_id.and_then(TokenIds::first),
            eos_token_id: raw.eos_token_id.and_then(TokenIds::first),
        })
    }
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
