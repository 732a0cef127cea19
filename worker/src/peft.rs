//! LoRA adapters in the Hugging Face PEFT layout: `adapter_config.json` and
//! `adapter_model.safetensors` with keys such as
//! `base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight` (`[r, d_in]`; `lora_B` is
//! `[d_out, r]`, the transposes of our `A` and `B`).
//!
//! Loading accepts configurations written by PEFT up to 0.21: `task_type` may be null, fields
//! that do not change the computation are ignored, and options this worker cannot honour
//! (DoRA, rsLoRA, per-layer patterns, biases, saved extra modules, base-modifying
//! initialisations, ...) are refused by name rather than silently dropped.

use crate::checkpoint::{read_safetensors, write_safetensors, HostTensor, StoredDtype};
use crate::lora::{LoraConfig, TargetModule};
use crate::model::Llama;
use anyhow::{bail, ensure, Context, Result};
use burn::tensor::{Tensor, TensorData};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The PEFT file that describes an adapter.
pub const CONFIG_FILE: &str = "adapter_config.json";
/// The PEFT file that holds the adapter's weights.
pub const WEIGHTS_FILE: &str = "adapter_model.safetensors";

/// `adapter_config.json`, the fields PEFT needs to load a LoRA adapter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeftConfig {
    pub peft_type: String,
    /// `CAUSAL_LM`, or null (PEFT 0.21 writes null for a model wrapped without a task).
    #[serde(default)]
    pub task_type: Option<String>,
    pub r: usize,
    pub lora_alpha: f64,
    #[serde(default)]
    pub lora_dropout: f64,
    /// Module names; PEFT's `"all-linear"` is read as every projection.
    #[serde(deserialize_with = "target_modules")]
    pub target_modules: Vec<String>,
    #[serde(default = "default_bias")]
    pub bias: String,
    #[serde(default)]
    pub base_model_name_or_path: Option<String>,
    #[serde(default)]
    pub fan_in_fan_out: bool,
    #[serde(default)]
    pub inference_mode: bool,
}

fn default_bias() -> String {
    "none".into()
}

impl PeftConfig {
    /// The PEFT description of `lora`.
    pub fn from_lora(lora: &LoraConfig, base_model: Option<String>) -> Result<Self> {
        let targets = lora.validate()?;
        Ok(Self {
            peft_type: "LORA".into(),
            task_type: Some("CAUSAL_LM".into()),
            r: lora.rank,
            lora_alpha: lora.alpha,
            lora_dropout: lora.dropout,
            target_modules: targets.iter().map(|t| t.hf_name().to_string()).collect(),
            bias: default_bias(),
            base_model_name_or_path: base_model,
            fan_in_fan_out: false,
            inference_mode: true,
        })
    }

    /// Reads `adapter_config.json`, refusing by name the options [`load_adapter`] cannot
    /// honour.
    pub fn parse(json: &[u8]) -> Result<Self> {
        let raw: serde_json::Value = serde_json::from_slice(json)?;
        refuse_unsupported(&raw)?;
        Ok(serde_json::from_value(raw)?)
    }

    /// Our adapter settings from a PEFT description.
    pub fn to_lora(&self) -> Result<LoraConfig> {
        ensure!(
            self.peft_type == "LORA",
            "adapter peft_type `{}` is not LORA",
            self.peft_type
        );
        if let Some(task) = self.task_type.as_deref() {
            ensure!(
                task == "CAUSAL_LM",
                "adapter task_type `{task}` is not supported (expected CAUSAL_LM or null)"
            );
        }
        ensure!(
            !self.fan_in_fan_out,
            "adapter option fan_in_fan_out = true is not supported"
        );
        ensure!(
            self.bias == "none",
            "adapter option bias = `{}` is not supported (only `none`)",
            self.bias
        );
        let lora = LoraConfig::new(self.r, self.lora_alpha)
            .with_dropout(self.lora_dropout)
            .with_targets(self.target_modules.clone());
        lora.validate()?;
        Ok(lora)
    }
}

/// PEFT's `target_modules`: a list of names, or a string (`"all-linear"`, else a regex).
fn target_modules<'de, D: serde::Deserializer<'de>>(de: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Targets {
        Names(Vec<String>),
        Pattern(String),
    }
    match Targets::deserialize(de)? {
        Targets::Names(names) => Ok(names),
        Targets::Pattern(p) if p == "all-linear" => Ok(TargetModule::ALL
            .iter()
            .map(|t| t.hf_name().to_string())
            .collect()),
        Targets::Pattern(p) => Err(serde::de::Error::custom(format!(
            "adapter target_modules regex `{p}` is not supported (list the module names)"
        ))),
    }
}

/// Refuses, by name, PEFT options that change which weights an adapter has or how it computes.
fn refuse_unsupported(raw: &serde_json::Value) -> Result<()> {
    use serde_json::Value;
    let set = |value: &Value| match value {
        Value::Null | Value::Bool(false) => false,
        Value::Array(items) => !items.is_empty(),
        Value::Object(map) => !map.is_empty(),
        Value::String(s) => !s.is_empty(),
        _ => true,
    };
    const UNSUPPORTED: [(&str, &str); 14] = [
        ("use_dora", "weight-decomposed adapters (DoRA)"),
        ("use_rslora", "rank-stabilised scaling alpha/sqrt(r)"),
        ("use_qalora", "quantization-aware adapters"),
        ("lora_bias", "adapter biases"),
        ("layers_to_transform", "adapters on some layers only"),
        ("layers_pattern", "adapters on some layers only"),
        ("rank_pattern", "per-module ranks"),
        ("alpha_pattern", "per-module alphas"),
        ("modules_to_save", "fully trained extra modules"),
        ("exclude_modules", "excluded modules"),
        ("layer_replication", "replicated layers"),
        ("trainable_token_indices", "trained token embeddings"),
        ("target_parameters", "adapters on raw parameters"),
        ("megatron_config", "Megatron-parallel layers"),
    ];
    for (field, what) in UNSUPPORTED {
        if let Some(value) = raw.get(field).filter(|v| set(v)) {
            bail!("adapter option {field} = {value} ({what}) is not supported");
        }
    }
    // These initialisations change the base weights, which the adapter then needs as saved.
    if let Some(init) = raw.get("init_lora_weights").and_then(|v| v.as_str()) {
        let harmless = ["gaussian"];
        if !harmless.contains(&init) {
            bail!(
                "adapter option init_lora_weights = `{init}` is not supported (it modifies the \
                 base weights; only true, false or `gaussian` adapters load on an unchanged base)"
            );
        }
    }
    Ok(())
}

/// The PEFT name of an adapter factor: `factor` is `lora_A` or `lora_B`, `path` a projection's
/// module path (`model.layers.0.self_attn.q_proj`).
pub fn key(path: &str, factor: &str) -> String {
    format!("base_model.model.{path}.{factor}.weight")
}

/// The adapters of `model` under their PEFT names.
pub fn adapter_tensors(model: &Llama) -> BTreeMap<String, HostTensor> {
    let mut tensors = BTreeMap::new();
    for (index, layer) in model.layers.iter().enumerate() {
        for target in TargetModule::ALL {
            if let Some(lora) = &layer.projection(target).lora {
                let path = crate::model::projection_path(index, target);
                tensors.insert(key(&path, "lora_A"), host(lora.a.val()).transposed());
                tensors.insert(key(&path, "lora_B"), host(lora.b.val()).transposed());
            }
        }
    }
    tensors
}

fn host(tensor: Tensor<2>) -> HostTensor {
    HostTensor {
        shape: tensor.dims().to_vec(),
        values: tensor.into_data().try_to_vec::<f32>().expect("f32 tensor"),
    }
}

/// Writes `model`'s adapters into `dir` as a PEFT adapter.
pub fn save_adapter(
    model: &Llama,
    lora: &LoraConfig,
    base_model: Option<String>,
    dir: &Path,
) -> Result<()> {
    std::fs::create_dir_all(dir)?;
    let config = PeftConfig::from_lora(lora, base_model)?;
    std::fs::write(dir.join(CONFIG_FILE), serde_json::to_vec_pretty(&config)?)?;
    write_safetensors(
        &adapter_tensors(model),
        StoredDtype::F32,
        &dir.join(WEIGHTS_FILE),
    )
}

/// Attaches the PEFT adapter in `dir` to `model`, replacing any adapters it had.
pub fn load_adapter(model: Llama, dir: &Path) -> Result<(Llama, LoraConfig)> {
    let config_path = dir.join(CONFIG_FILE);
    let config = PeftConfig::parse(
        &std::fs::read(&config_path)
            .with_context(|| format!("reading {}", config_path.display()))?,
    )
    .with_context(|| format!("in {}", config_path.display()))?;
    let lora = config.to_lora()?;
    let model = attach_adapter(model, &lora, read_safetensors(&dir.join(WEIGHTS_FILE))?)?;
    Ok((model, lora))
}

/// Attaches the adapter whose PEFT-named factors are `tensors` (`adapter_model.safetensors`
/// read) to `model`, replacing any adapters it had.
pub fn attach_adapter(
    model: Llama,
    lora: &LoraConfig,
    mut tensors: BTreeMap<String, HostTensor>,
) -> Result<Llama> {
    let targets = lora.validate()?;
    let model = model.map_projections(|path, mut projection| {
        projection.lora = None;
        if !targets.iter().any(|t| path.ends_with(t.hf_name())) {
            return Ok(projection);
        }
        let [d_in, d_out] = projection.base.shape();
        let mut factor = |name: &str, shape: [usize; 2]| -> Result<Tensor<2>> {
            let key = key(path, name);
            let tensor = tensors
                .remove(&key)
                .with_context(|| format!("adapter has no tensor `{key}`"))?;
            ensure!(
                tensor.shape == shape,
                "adapter tensor `{key}` has shape {:?}, but the model needs {:?}",
                tensor.shape,
                shape
            );
            let ours = tensor.transposed();
            let device = projection.base.tensor().device();
            Ok(Tensor::from_data(
                TensorData::new(ours.values, ours.shape),
                &device,
            ))
        };
        let a = factor("lora_A", [lora.rank, d_in])?;
        let b = factor("lora_B", [d_out, lora.rank])?;
        projection.lora = Some(lora.from_factors(a, b));
        Ok(projection)
    })?;
    ensure!(
        tensors.is_empty(),
        "adapter has tensors the model has no place for: {:?}",
        tensors.keys().collect::<Vec<_>>()
    );
    Ok(model)
}
