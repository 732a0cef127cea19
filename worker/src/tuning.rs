//! Which parameters a run trains.

use crate::lora::LoraConfig;
use crate::ptuning::PrefixConfig;
use serde::{Deserialize, Serialize};

/// A fine-tuning method. All of them run on the same [`Llama`](crate::model::Llama) code.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Method {
    /// Every weight is trained.
    Full,
    /// Frozen `f32` base, LoRA adapters on the target projections.
    Lora(LoraConfig),
    /// Frozen NF4 base projections, `f32` LoRA adapters.
    Qlora(LoraConfig),
    /// Frozen base, trainable key/value prefix at every layer.
    PTuning(PrefixConfig),
}

impl Method {
    /// Short name for logs and reports.
    pub fn name(&self) -> &'static str {
        match self {
            Method::Full => "full",
            Method::Lora(_) => "lora",
            Method::Qlora(_) => "qlora",
            Method::PTuning(_) => "p-tuning-v2",
        }
    }

    /// The adapter settings, for the methods that have adapters.
    pub fn lora(&self) -> Option<&LoraConfig> {
        match self {
            Method::Lora(config) | Method::Qlora(config) => Some(config),
            Method::Full | Method::PTuning(_) => None,
        }
    }
}
