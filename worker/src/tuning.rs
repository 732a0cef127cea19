//! Which parameters a run trains.

use crate::lora::{LoraConfig, QloraBase, TargetModule};
use crate::ptuning::PrefixConfig;
use anyhow::{ensure, Result};
use serde::{Deserialize, Serialize};

/// A fine-tuning method. All of them run on the same [`Llama`](crate::model::Llama) code.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Method {
    /// Every weight is trained.
    Full,
    /// Frozen `f32` base, LoRA adapters on the target projections.
    Lora(LoraConfig),
    /// Frozen quantized base projections (the checkpoint's own blocks, or NF4: see
    /// [`QloraBase`](crate::lora::QloraBase)), `f32` LoRA adapters.
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

    /// The name that also tells QLoRA's bases apart: `qlora` over the checkpoint's own blocks,
    /// `qlora-nf4` over NF4 (the names `bench train --methods` takes).
    pub fn variant(&self) -> &'static str {
        match self {
            Method::Qlora(config) if config.base == QloraBase::Nf4 => "qlora-nf4",
            _ => self.name(),
        }
    }

    /// The adapter settings, for the methods that have adapters.
    pub fn lora(&self) -> Option<&LoraConfig> {
        match self {
            Method::Lora(config) | Method::Qlora(config) => Some(config),
            Method::Full | Method::PTuning(_) => None,
        }
    }

    /// Checks the adapter settings and resolves their targets (none without adapters).
    pub fn validate(&self) -> Result<Vec<TargetModule>> {
        if let Method::Lora(lora) = self {
            ensure!(
                lora.base.is_stored(),
                "`base` chooses how QLoRA stores its base; LoRA trains over the base in f32"
            );
        }
        Ok(match self.lora() {
            Some(lora) => lora.validate()?,
            None => Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qloras_bases_have_their_own_names() {
        let lora = LoraConfig::new(4, 8.0);
        assert_eq!(Method::Lora(lora.clone()).variant(), "lora");
        assert_eq!(Method::Qlora(lora.clone()).variant(), "qlora");
        assert_eq!(
            Method::Qlora(lora.with_base(QloraBase::Nf4)).variant(),
            "qlora-nf4"
        );
    }
}
