//! A training job as a TOML file (`attribution-worker train --config job.toml`).
//!
//! ```toml
//! model_dir = "models/tiny-llama"   # config.json, model.safetensors, tokenizer.json; or a .gguf
//! data = "data/train.jsonl"
//! output_dir = "runs/1"
//! cutoff = 512                      # tokens per example, prompt included
//! eval_fraction = 0.1               # held-out share of the rows
//!
//! [method]
//! kind = "lora"                     # full | lora | qlora | p-tuning
//! rank = 8
//! alpha = 16.0
//! dropout = 0.05
//! targets = ["q", "k", "v", "o"]
//!
//! [train]
//! steps = 200
//! batch_size = 8
//! learning_rate = 2e-4
//! checkpoint_every = 50
//! ```

use crate::chat_template::ChatTemplate;
use crate::checkpoint::ModelWeights;
use crate::data::{encode, load_tokenizer, read_jsonl, Encoded, Example, SpecialTokens};
use crate::eval::{evaluate, EvalReport, Generation};
use crate::gguf;
use crate::model::Llama;
use crate::train::{train, Output, TrainConfig, TrainReport};
use crate::tuning::Method;
use anyhow::{ensure, Context, Result};
use burn::module::Module;
use burn::tensor::Device;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use tokenizers::Tokenizer;

/// A training job.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Job {
    pub model_dir: PathBuf,
    pub data: PathBuf,
    pub output_dir: PathBuf,
    #[serde(default = "default_cutoff")]
    pub cutoff: usize,
    #[serde(default = "default_eval_fraction")]
    pub eval_fraction: f64,
    /// Longest generation when scoring ROUGE on the held-out split.
    #[serde(default = "default_max_new_tokens")]
    pub max_new_tokens: usize,
    /// Use a CUDA GPU when the binary has the `cuda` feature and one is present.
    #[serde(default = "default_gpu")]
    pub gpu: bool,
    pub method: Method,
    #[serde(default)]
    pub train: TrainConfig,
}

fn default_cutoff() -> usize {
    512
}
fn default_eval_fraction() -> f64 {
    0.1
}
fn default_max_new_tokens() -> usize {
    64
}
fn default_gpu() -> bool {
    true
}

impl Job {
    /// Reads and checks a job file; relative paths are taken from the file's directory.
    pub fn load(path: &Path) -> Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let mut job: Job =
            toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        for dir in [&mut job.model_dir, &mut job.data, &mut job.output_dir] {
            if dir.is_relative() {
                *dir = base.join(&*dir);
            }
        }
        job.validate()?;
        Ok(job)
    }

    /// Checks the values that do not depend on the model or data.
    pub fn validate(&self) -> Result<()> {
        ensure!(self.cutoff >= 2, "cutoff must be at least 2 tokens");
        ensure!(
            (0.0..1.0).contains(&self.eval_fraction),
            "eval_fraction must be in [0, 1) (got {})",
            self.eval_fraction
        );
        if let Some(lora) = self.method.lora() {
            lora.validate()?;
        }
        Ok(())
    }
}

/// What `train` writes to `output_dir/metrics.json`.
#[derive(Debug, Clone, Serialize)]
pub struct JobReport {
    pub train: TrainReport,
    /// `None` when `eval_fraction` leaves no held-out rows.
    pub eval: Option<EvalReport>,
}

/// A model to train or evaluate: its weights, tokenizer, the token ids around text and its chat
/// template.
pub struct ModelDir {
    pub checkpoint: ModelWeights,
    pub tokenizer: Tokenizer,
    pub special: SpecialTokens,
    /// `None` for models without one (most base models).
    pub chat_template: Option<ChatTemplate>,
}

impl ModelDir {
    /// Opens a GGUF file (tokenizer and chat template from its metadata) or a Hugging Face
    /// directory: `config.json`, `model.safetensors`, `tokenizer.json`, and the chat template
    /// from `chat_template.jinja` or `tokenizer_config.json` when present.
    pub fn load(path: &Path) -> Result<Self> {
        let checkpoint = ModelWeights::open(path)?;
        if let Some(file) = checkpoint.gguf() {
            return Ok(Self {
                tokenizer: gguf::tokenizer::tokenizer(file)?,
                special: gguf::tokenizer::special_tokens(file)?,
                chat_template: gguf::tokenizer::chat_template(file)?,
                checkpoint,
            });
        }
        let tokenizer = load_tokenizer(&path.join("tokenizer.json"))?;
        let config = &checkpoint.config;
        // Padding is masked out of the loss, so any id will do; Llama has no pad token.
        let special = SpecialTokens {
            bos: config.bos_token_id,
            eos: config.eos_token_id,
            pad: config.eos_token_id.unwrap_or(0),
        };
        let token = |id: Option<u32>| {
            id.and_then(|id| tokenizer.id_to_token(id))
                .unwrap_or_default()
        };
        let chat_template = match hf_chat_template(path)? {
            Some(source) => Some(ChatTemplate::new(
                &source,
                &token(config.bos_token_id),
                &token(config.eos_token_id),
            )?),
            None => None,
        };
        Ok(Self {
            checkpoint,
            tokenizer,
            special,
            chat_template,
        })
    }

    /// Tokenizes `examples` up to `cutoff` tokens each.
    pub fn encode(&self, examples: &[Example], cutoff: usize) -> Result<Vec<Encoded>> {
        examples
            .iter()
            .map(|e| encode(&self.tokenizer, e, self.special, cutoff))
            .collect()
    }
}

impl Job {
    /// Trains, evaluates on the held-out split, and writes checkpoints and `metrics.json`.
    pub fn run(&self, device: &Device) -> Result<JobReport> {
        let model_dir = ModelDir::load(&self.model_dir)?;
        let mut examples = read_jsonl(&self.data)?;
        examples.shuffle(&mut StdRng::seed_from_u64(self.train.seed));
        let held_out_len = (examples.len() as f64 * self.eval_fraction).round() as usize;
        let held_out = examples.split_off(examples.len() - held_out_len);
        let train_set = model_dir.encode(&examples, self.cutoff)?;
        tracing::info!(
            train = examples.len(),
            held_out = held_out.len(),
            method = self.method.name(),
            "job"
        );

        let autodiff = device.clone().autodiff();
        autodiff.seed(self.train.seed);
        let model = Llama::from_checkpoint(&model_dir.checkpoint, &self.method, &autodiff)?;
        let output = Output {
            dir: self.output_dir.clone(),
            model_config: model_dir.checkpoint.config.clone(),
            base_model: Some(self.model_dir.display().to_string()),
        };
        let pad = model_dir.special.pad;
        let (model, train_report) = train(
            model,
            &self.method,
            &train_set,
            pad,
            &self.train,
            Some(&output),
            &autodiff,
        )?;
        let eval = if held_out.is_empty() {
            None
        } else {
            let encoded = model_dir.encode(&held_out, self.cutoff)?;
            let generation = Generation {
                max_new_tokens: self.max_new_tokens,
                eos: model_dir.special.eos,
                pad,
            };
            Some(evaluate(
                &model.valid(),
                &model_dir.tokenizer,
                &held_out,
                &encoded,
                generation,
                device,
            )?)
        };
        let report = JobReport {
            train: train_report,
            eval,
        };
        std::fs::write(
            self.output_dir.join("metrics.json"),
            serde_json::to_vec_pretty(&report)?,
        )?;
        Ok(report)
    }
}

/// A Hugging Face directory's chat template: `chat_template.jinja` (transformers 5), else
/// `chat_template` in `tokenizer_config.json` (a string, or named templates of which `default`).
fn hf_chat_template(dir: &Path) -> Result<Option<String>> {
    let jinja = dir.join("chat_template.jinja");
    if jinja.exists() {
        return Ok(Some(std::fs::read_to_string(&jinja)?));
    }
    let config = dir.join("tokenizer_config.json");
    if !config.exists() {
        return Ok(None);
    }
    let config: serde_json::Value = serde_json::from_slice(&std::fs::read(&config)?)
        .with_context(|| format!("parsing {}", config.display()))?;
    Ok(match &config["chat_template"] {
        serde_json::Value::String(source) => Some(source.clone()),
        serde_json::Value::Array(named) => named
            .iter()
            .find(|t| t["name"] == "default")
            .and_then(|t| t["template"].as_str())
            .map(String::from),
        _ => None,
    })
}
