//! A tiny model directory in Hugging Face layout, written and read back with the real code.

#![allow(dead_code)]

use attribution_worker::checkpoint::{Checkpoint, StoredDtype};
use attribution_worker::data::{encode, load_tokenizer, Encoded, SpecialTokens};
use attribution_worker::lora::LoraConfig;
use attribution_worker::model::{Llama, LlamaConfig};
use attribution_worker::synthetic::{BOS, EOS, PAD};
use attribution_worker::train::{train, Output, TrainConfig, TrainReport};
use attribution_worker::tuning::Method;
use burn::tensor::{Device, Distribution, Int, Tensor, TensorData};
use std::path::Path;

pub use attribution_worker::synthetic::TASK;

/// Grouped-query attention (4 query heads over 2 key/value heads), untied head.
pub fn config() -> LlamaConfig {
    let mut config = TASK.config(32, 64, 2, 4, 2);
    config.tie_word_embeddings = false;
    config
}

pub fn write_model(dir: &Path, dtype: StoredDtype) {
    TASK.write_model_dir(config(), 7, dtype, dir).unwrap();
}

/// A temporary directory holding the `f32` test model.
pub fn model_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_model(dir.path(), StoredDtype::F32);
    dir
}

pub fn load(dir: &Path, method: &Method, device: &Device) -> Llama {
    Llama::from_checkpoint(&Checkpoint::load(dir).unwrap(), method, device).unwrap()
}

pub fn special() -> SpecialTokens {
    SpecialTokens {
        bos: Some(BOS),
        eos: Some(EOS),
        pad: PAD,
    }
}

pub fn encoded(dir: &Path, count: usize, seed: u64) -> Vec<Encoded> {
    let tokenizer = load_tokenizer(&dir.join("tokenizer.json")).unwrap();
    TASK.examples(count, seed)
        .iter()
        .map(|e| encode(&tokenizer, e, special(), 32).unwrap())
        .collect()
}

/// `rows` with row `i` cut of its first `i` prompt tokens (at least one kept): prompts of
/// different lengths.
pub fn staggered(rows: Vec<Encoded>) -> Vec<Encoded> {
    rows.into_iter()
        .enumerate()
        .map(|(i, row)| {
            let drop = i.min(row.prompt_len - 1);
            Encoded {
                tokens: row.tokens[drop..].to_vec(),
                prompt_len: row.prompt_len - drop,
            }
        })
        .collect()
}

pub fn tokens(device: &Device) -> Tensor<2, Int> {
    let ids: Vec<i64> = vec![1, 5, 9, 13, 4, 7, 11, 2, 1, 6, 8, 10, 4, 12, 14, 2];
    Tensor::from_data(TensorData::new(ids, [2, 8]), device)
}

/// The model's logits for [`tokens`], flattened.
pub fn logits(model: &Llama, device: &Device) -> Vec<f32> {
    model
        .forward(tokens(device))
        .into_data()
        .try_to_vec::<f32>()
        .unwrap()
}

pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Writes a bf16 model, 16 JSONL rows and `job` (a job file) into `dir`; returns the job path.
pub fn write_job(dir: &std::path::Path, job: &str) -> std::path::PathBuf {
    write_model(&dir.join("model"), StoredDtype::Bf16);
    let rows: Vec<String> = TASK
        .examples(16, 9)
        .iter()
        .map(|e| serde_json::json!({"prompt": e.prompt, "completion": e.completion}).to_string())
        .collect();
    std::fs::write(dir.join("train.jsonl"), rows.join("\n")).unwrap();
    std::fs::write(dir.join("job.toml"), job).unwrap();
    dir.join("job.toml")
}

/// A job file over the directory [`write_job`] fills: the paths, then `method_and_train`.
pub fn job_toml(method_and_train: &str) -> String {
    format!(
        r#"model_dir = "model"
data = "train.jsonl"
output_dir = "out"
cutoff = 32
eval_fraction = 0.25
max_new_tokens = 4
{method_and_train}"#
    )
}

/// The model in `dir` with `lora` adapters whose `B` is random, as after some training (a fresh
/// adapter's `B = 0` changes nothing).
pub fn load_with_trained_adapters(dir: &Path, lora: &LoraConfig, device: &Device) -> Llama {
    load(dir, &Method::Lora(lora.clone()), device)
        .map_projections(|_, mut projection| {
            if let Some(adapter) = projection.lora.take() {
                let b = Tensor::random(adapter.b.shape(), Distribution::Normal(0.0, 0.1), device);
                projection.lora = Some(lora.from_factors(adapter.a.val(), b));
            }
            Ok(projection)
        })
        .unwrap()
}

/// A short run without a progress bar.
pub fn quick(steps: usize, learning_rate: f64) -> TrainConfig {
    TrainConfig {
        steps,
        batch_size: 8,
        learning_rate,
        warmup_steps: 2,
        progress: false,
        ..TrainConfig::default()
    }
}

/// Rank-4 adapters on four projections.
pub fn lora() -> LoraConfig {
    LoraConfig::new(4, 8.0).with_targets(["q", "v", "up", "down"].map(String::from).to_vec())
}

/// Loads the model in `dir` for `method` and trains it on `examples` task rows, writing
/// checkpoints under `out` when given.
pub fn train_on_task(
    dir: &Path,
    method: &Method,
    examples: usize,
    config: &TrainConfig,
    out: Option<&Path>,
    device: &Device,
) -> (Llama, TrainReport) {
    let output = out.map(|out| Output {
        dir: out.to_path_buf(),
        model_config: self::config(),
        base_model: None,
    });
    let model = load(dir, method, device);
    train(
        model,
        method,
        &encoded(dir, examples, 1),
        PAD,
        config,
        output.as_ref(),
        device,
    )
    .unwrap()
}

/// llama.cpp's `permute` (`convert_hf_to_gguf.py`): `w.reshape(heads, 2, head_dim/2, cols)
/// .swapaxes(1, 2)`, written out index by index.
pub fn llama_cpp_permute(w: &[f32], heads: usize, cols: usize) -> Vec<f32> {
    let rows = w.len() / cols;
    let half = rows / heads / 2;
    let mut out = Vec::with_capacity(w.len());
    // Output order is (head, i, j, col); the input element is at (head, j, i, col).
    for head in 0..heads {
        for i in 0..half {
            for j in 0..2 {
                let row = (head * 2 + j) * half + i;
                out.extend_from_slice(&w[row * cols..(row + 1) * cols]);
            }
        }
    }
    out
}

/// SmolLM2-135M-Instruct (GGUF) when the model cache holds it (`scripts/fetch-model`).
pub fn smollm2() -> Option<std::path::PathBuf> {
    let home = std::env::var_os("HOME")?;
    let path = std::path::PathBuf::from(home)
        .join(".cache/attribution-chain/models/SmolLM2-135M-Instruct.Q4_1.gguf");
    path.exists().then_some(path)
}
