//! Held-out evaluation: loss and perplexity over completion tokens, and ROUGE of greedy
//! generations against the reference completions.

use crate::data::{make_batch, Encoded, Example};
use crate::model::Llama;
use crate::rouge::mean_fmeasures;
use crate::train::masked_loss;
use anyhow::{anyhow, Result};
use burn::tensor::{Device, Int, Tensor, TensorData};
use serde::{Deserialize, Serialize};
use tokenizers::Tokenizer;

/// Evaluation results; ROUGE values are F-measures in percent.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct EvalReport {
    pub loss: f64,
    pub perplexity: f64,
    pub rouge1: f64,
    pub rouge2: f64,
    pub rouge_l: f64,
}

/// Token-weighted mean loss over `examples`, in batches of `batch_size`.
pub fn held_out_loss(
    model: &Llama,
    examples: &[Encoded],
    batch_size: usize,
    pad: u32,
    device: &Device,
) -> f64 {
    let (mut total, mut tokens) = (0.0, 0usize);
    for chunk in examples.chunks(batch_size.max(1)) {
        let batch = make_batch(&chunk.iter().collect::<Vec<_>>(), pad, device);
        let loss: f32 = masked_loss(model.forward(batch.inputs.clone()), &batch).into_scalar();
        total += f64::from(loss) * batch.trained_tokens as f64;
        tokens += batch.trained_tokens;
    }
    total / tokens.max(1) as f64
}

/// Greedy continuation of `prompt` until `eos` or `max_new_tokens`.
pub fn generate(
    model: &Llama,
    prompt: &[u32],
    max_new_tokens: usize,
    eos: Option<u32>,
    device: &Device,
) -> Vec<u32> {
    let mut tokens = prompt.to_vec();
    for _ in 0..max_new_tokens {
        let ids: Vec<i64> = tokens.iter().map(|&t| i64::from(t)).collect();
        let input = Tensor::<2, Int>::from_data(TensorData::new(ids, [1, tokens.len()]), device);
        let logits = model.forward(input);
        let [_, seq, vocab] = logits.dims();
        let next: i64 = logits
            .slice([0..1, seq - 1..seq, 0..vocab])
            .argmax(2)
            .into_scalar();
        let next = next as u32;
        if Some(next) == eos {
            break;
        }
        tokens.push(next);
    }
    tokens.split_off(prompt.len())
}

/// How completions are generated for ROUGE.
#[derive(Debug, Clone, Copy)]
pub struct Generation {
    pub max_new_tokens: usize,
    /// Stops a generation.
    pub eos: Option<u32>,
    /// Fills batches for the loss.
    pub pad: u32,
}

/// Loss, perplexity and ROUGE on held-out `examples` (`encoded` are their tokenizations).
pub fn evaluate(
    model: &Llama,
    tokenizer: &Tokenizer,
    examples: &[Example],
    encoded: &[Encoded],
    generation: Generation,
    device: &Device,
) -> Result<EvalReport> {
    let loss = held_out_loss(model, encoded, 8, generation.pad, device);
    let mut predictions = Vec::with_capacity(examples.len());
    for item in encoded {
        let prompt = &item.tokens[..item.prompt_len];
        let generated = generate(
            model,
            prompt,
            generation.max_new_tokens,
            generation.eos,
            device,
        );
        predictions.push(
            tokenizer
                .decode(&generated, true)
                .map_err(|e| anyhow!("decoding: {e}"))?,
        );
    }
    let [rouge1, rouge2, rouge_l] = mean_fmeasures(
        examples
            .iter()
            .zip(&predictions)
            .map(|(example, prediction)| (example.completion.as_str(), prediction.as_str())),
    );
    Ok(EvalReport {
        loss,
        perplexity: loss.exp(),
        rouge1,
        rouge2,
        rouge_l,
    })
}
