//! Training data: JSONL rows of `{"prompt", "completion"}` or `{"text"}`, tokenized with a
//! Hugging Face `tokenizer.json`, batched with prompt tokens masked out of the loss.
//!
//! The row rules are the node's (`node/content-store/src/jsonl.rs`), so every published text
//! contribution is trainable: an instruction row has string `prompt` and `completion` and no
//! `text`; a text row has string `text` and neither of the others; a row with `text` and
//! `prompt` or `completion` is refused as ambiguous; other fields are ignored; blank lines are
//! skipped. Both sides test against `tests/fixtures/jsonl-rows.json`.

use anyhow::{anyhow, bail, Context, Result};
use burn::tensor::{Device, Int, Tensor, TensorData};
use serde_json::Value;
use std::path::Path;
use tokenizers::Tokenizer;

/// One row. A `text` row has an empty prompt: every token is trained on.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    pub prompt: String,
    pub completion: String,
}

/// One row as an example, or why it is not a row.
fn parse_row(line: &str) -> std::result::Result<Example, String> {
    let value: Value = serde_json::from_str(line).map_err(|error| format!("not JSON: {error}"))?;
    let Value::Object(mut row) = value else {
        return Err("not a JSON object".into());
    };
    match (
        row.remove("prompt"),
        row.remove("completion"),
        row.remove("text"),
    ) {
        (Some(Value::String(prompt)), Some(Value::String(completion)), None) => {
            Ok(Example { prompt, completion })
        }
        (None, None, Some(Value::String(text))) => Ok(Example {
            prompt: String::new(),
            completion: text,
        }),
        (Some(_), _, Some(_)) | (_, Some(_), Some(_)) => {
            Err("`text` cannot be combined with `prompt` or `completion`".into())
        }
        (Some(_), _, None) | (_, Some(_), None) => {
            Err("needs string `prompt` and `completion`".into())
        }
        (None, None, Some(_)) => Err("`text` must be a string".into()),
        (None, None, None) => {
            Err("needs string `prompt` and `completion`, or string `text`".into())
        }
    }
}

/// Parses JSONL; an error names the 1-based line and what is wrong with it.
pub fn parse_jsonl(source: &str) -> Result<Vec<Example>> {
    let mut examples = Vec::new();
    for (index, line) in source.lines().enumerate() {
        let line_no = index + 1;
        if line.trim().is_empty() {
            continue;
        }
        let example =
            parse_row(line).map_err(|reason| anyhow!("JSONL line {line_no}: {reason}"))?;
        examples.push(example);
    }
    if examples.is_empty() {
        bail!("JSONL: no rows");
    }
    Ok(examples)
}

/// Reads a JSONL file.
pub fn read_jsonl(path: &Path) -> Result<Vec<Example>> {
    let source =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    parse_jsonl(&source).with_context(|| format!("in {}", path.display()))
}

/// Loads `tokenizer.json`.
pub fn load_tokenizer(path: &Path) -> Result<Tokenizer> {
    Tokenizer::from_file(path).map_err(|e| anyhow!("loading tokenizer {}: {e}", path.display()))
}

/// An example as token ids, `prompt_len` of which belong to the prompt.
#[derive(Debug, Clone, PartialEq)]
pub struct Encoded {
    pub tokens: Vec<u32>,
    pub prompt_len: usize,
}

/// Token ids around the text: optional BOS first, EOS after the completion.
#[derive(Debug, Clone, Copy)]
pub struct SpecialTokens {
    pub bos: Option<u32>,
    pub eos: Option<u32>,
    pub pad: u32,
}

/// Tokenizes `prompt + completion`, truncated to `cutoff` tokens.
pub fn encode(
    tokenizer: &Tokenizer,
    example: &Example,
    special: SpecialTokens,
    cutoff: usize,
) -> Result<Encoded> {
    let ids = |text: &str| -> Result<Vec<u32>> {
        Ok(tokenizer
            .encode(text, false)
            .map_err(|e| anyhow!("tokenizing: {e}"))?
            .get_ids()
            .to_vec())
    };
    let mut tokens: Vec<u32> = special.bos.into_iter().collect();
    tokens.extend(ids(&example.prompt)?);
    let prompt_len = tokens.len();
    tokens.extend(ids(&example.completion)?);
    tokens.extend(special.eos);
    tokens.truncate(cutoff);
    Ok(Encoded {
        tokens,
        prompt_len: prompt_len.min(cutoff),
    })
}

/// A batch for next-token prediction.
#[derive(Debug, Clone)]
pub struct Batch {
    /// `[batch, seq]`
    pub inputs: Tensor<2, Int>,
    /// `[batch, seq]`: the token after each input.
    pub targets: Tensor<2, Int>,
    /// `[batch, seq]`: 1 where the target is a completion token, 0 for prompt and padding.
    pub mask: Tensor<2>,
    /// Completion tokens in the batch (the mask's sum).
    pub trained_tokens: usize,
}

/// Right-pads `examples` with `pad` to the longest of them.
pub fn make_batch(examples: &[&Encoded], pad: u32, device: &Device) -> Batch {
    let seq = examples
        .iter()
        .map(|e| e.tokens.len())
        .max()
        .unwrap_or(1)
        .max(2)
        - 1;
    let (mut inputs, mut targets, mut mask) = (Vec::new(), Vec::new(), Vec::new());
    for example in examples {
        let token = |i: usize| example.tokens.get(i).copied();
        for position in 0..seq {
            inputs.push(token(position).unwrap_or(pad) as i64);
            targets.push(token(position + 1).unwrap_or(pad) as i64);
            let trained =
                position + 1 >= example.prompt_len.max(1) && position + 1 < example.tokens.len();
            mask.push(if trained { 1f32 } else { 0.0 });
        }
    }
    let shape = [examples.len(), seq];
    let trained_tokens = mask.iter().filter(|m| **m > 0.0).count();
    Batch {
        inputs: Tensor::from_data(TensorData::new(inputs, shape), device),
        targets: Tensor::from_data(TensorData::new(targets, shape), device),
        mask: Tensor::from_data(TensorData::new(mask, shape), device),
        trained_tokens,
    }
}
