//! `bench train --model PATH --quality STEPS`: how much quantization of the base bends
//! training, on the real checkpoint and real rows.
//!
//! LoRA (over the `f32` base) and each QLoRA (over the checkpoint's own quantized blocks, and
//! over NF4) train the same adapters (same seed, rank, alpha, targets, rows, order and
//! schedule) for `STEPS` steps; at the start and at every checkpoint (each quarter of the run)
//! each is scored on held-out rows that none trains on: mean cross-entropy over the completion
//! tokens, as training measures it. Step 0 is each base alone (the adapters start at `B = 0`),
//! so its gap to LoRA is the quantization error itself; later gaps show whether training closes
//! or widens it.
//!
//! Beside the loss, ROUGE-L (F-measure, percent) of greedy completions of the first held-out
//! rows' prompts against their reference completions: each row generates at most as many
//! tokens as its reference has within the cutoff, all rows in one batch per generated token.

use crate::checkpoint::ModelWeights;
use crate::data::Encoded;
use crate::eval::held_out_loss;
use crate::model::Llama;
use crate::rouge::mean_fmeasures;
use crate::train::{TrainConfig, Trainer};
use crate::tuning::Method;
use anyhow::{anyhow, ensure, Result};
use burn::module::Module;
use burn::tensor::{Device, Int, Tensor, TensorData};
use serde::Serialize;
use std::path::Path;
use tokenizers::Tokenizer;

/// Checkpoints of a quality run: each quarter of the steps.
const CHECKPOINTS: usize = 4;

/// Held-out loss and ROUGE-L of every method after `steps` optimizer steps.
#[derive(Debug, Clone, Serialize)]
pub struct QualityPoint {
    pub steps: usize,
    /// In the order of [`QualitySettings::methods`].
    pub scores: Vec<Score>,
}

/// One method's scores at one checkpoint.
#[derive(Debug, Clone, Serialize)]
pub struct Score {
    pub method: String,
    pub loss: f64,
    /// Percent.
    pub rouge_l: f64,
}

/// A quality run: LoRA beside the QLoRAs.
#[derive(Debug, Clone, Serialize)]
pub struct QualityReport {
    pub train_rows: usize,
    pub held_out_rows: usize,
    /// Held-out rows whose prompts are completed for ROUGE-L (the first ones).
    pub generated_rows: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    pub points: Vec<QualityPoint>,
}

/// What a quality run trains on and how.
pub struct QualitySettings<'a> {
    pub model: &'a Path,
    /// The methods by name, the first the one the others are compared with (`lora`, then the
    /// QLoRAs of the benchmark's plan: rank, alpha, all seven projections).
    pub methods: Vec<(String, Method)>,
    pub train: &'a [Encoded],
    pub held_out: &'a [Encoded],
    /// How many of `held_out` (the first ones) to complete for ROUGE-L.
    pub generated_rows: usize,
    /// Decodes completions and references for ROUGE-L.
    pub tokenizer: &'a Tokenizer,
    /// Ends a completion.
    pub eos: Option<u32>,
    pub pad: u32,
    pub batch_size: usize,
    pub steps: usize,
    pub learning_rate: f64,
    pub seed: u64,
}

/// Trains every method and scores each at every checkpoint.
pub fn run(settings: &QualitySettings) -> Result<QualityReport> {
    ensure!(
        settings.steps >= CHECKPOINTS,
        "--quality needs at least {CHECKPOINTS} steps (one per checkpoint)"
    );
    ensure!(!settings.held_out.is_empty(), "no held-out rows");
    let device = Device::flex().autodiff();
    let config = TrainConfig {
        steps: settings.steps,
        batch_size: settings.batch_size,
        learning_rate: settings.learning_rate,
        warmup_steps: (settings.steps / 10).max(1),
        seed: settings.seed,
        progress: false,
        ..TrainConfig::default()
    };
    let at: Vec<usize> = (0..=CHECKPOINTS)
        .map(|i| settings.steps * i / CHECKPOINTS)
        .collect();
    let generated = &settings.held_out[..settings.generated_rows.min(settings.held_out.len())];
    let references = generated
        .iter()
        .map(|row| decode(settings.tokenizer, &row.tokens[row.prompt_len..]))
        .collect::<Result<Vec<_>>>()?;
    let mut points: Vec<QualityPoint> = at
        .iter()
        .map(|&steps| QualityPoint {
            steps,
            scores: Vec::new(),
        })
        .collect();
    for (name, method) in &settings.methods {
        let weights = ModelWeights::open(settings.model)?;
        device.seed(settings.seed);
        let model = Llama::from_checkpoint(&weights, method, &device)?;
        drop(weights);
        let mut trainer = Trainer::new(model, settings.train, settings.pad, &config, &device)?;
        for point in &mut points {
            let steps = point.steps;
            while trainer.steps_done() < steps {
                trainer.step();
            }
            let model = trainer.model().valid();
            let loss = held_out_loss(
                &model,
                settings.held_out,
                settings.batch_size,
                settings.pad,
                &Device::flex(),
            );
            let completions = greedy_completions(
                &model,
                generated,
                settings.pad,
                settings.eos,
                &Device::flex(),
            )
            .iter()
            .map(|tokens| decode(settings.tokenizer, tokens))
            .collect::<Result<Vec<_>>>()?;
            let [_, _, rouge_l] = mean_fmeasures(
                references
                    .iter()
                    .zip(&completions)
                    .map(|(reference, completion)| (reference.as_str(), completion.as_str())),
            );
            tracing::info!(method = name, steps, loss, rouge_l, "held-out scores");
            point.scores.push(Score {
                method: name.clone(),
                loss,
                rouge_l,
            });
        }
    }
    Ok(QualityReport {
        train_rows: settings.train.len(),
        held_out_rows: settings.held_out.len(),
        generated_rows: generated.len(),
        batch_size: settings.batch_size,
        learning_rate: settings.learning_rate,
        points,
    })
}

/// Greedy completions of `rows`' prompts, each at most as long as the row's own completion
/// (its reference within the cutoff), stopping at `eos`.
///
/// All unfinished rows run as one right-padded batch per generated token: attention is causal,
/// so the padding after a row's last token never reaches the position whose next token is read,
/// and each row's positions start at 0 as in training.
pub fn greedy_completions(
    model: &Llama,
    rows: &[Encoded],
    pad: u32,
    eos: Option<u32>,
    device: &Device,
) -> Vec<Vec<u32>> {
    let budgets: Vec<usize> = rows.iter().map(|r| r.tokens.len() - r.prompt_len).collect();
    let mut sequences: Vec<Vec<u32>> = rows
        .iter()
        .map(|r| r.tokens[..r.prompt_len].to_vec())
        .collect();
    let mut completions = vec![Vec::new(); rows.len()];
    let mut finished = vec![false; rows.len()];
    loop {
        let active: Vec<usize> = (0..rows.len())
            .filter(|&i| !finished[i] && completions[i].len() < budgets[i])
            .collect();
        let Some(width) = active.iter().map(|&i| sequences[i].len()).max() else {
            break;
        };
        let mut ids = Vec::with_capacity(active.len() * width);
        let mut last = Vec::with_capacity(active.len());
        for (row, &i) in active.iter().enumerate() {
            let sequence = &sequences[i];
            ids.extend(sequence.iter().map(|&t| i64::from(t)));
            ids.extend(std::iter::repeat_n(i64::from(pad), width - sequence.len()));
            last.push((row * width + sequence.len() - 1) as i64);
        }
        let n = active.len();
        let input = Tensor::<2, Int>::from_data(TensorData::new(ids, [n, width]), device);
        let top = model.body(input);
        let d = top.dims()[2];
        let index = Tensor::<1, Int>::from_data(TensorData::new(last, [n]), device);
        let at_last = top
            .reshape([n * width, d])
            .select(0, index)
            .reshape([n, 1, d]);
        let next = model
            .head(at_last)
            .argmax(2)
            .into_data()
            .convert::<i64>()
            .try_into_vec::<i64>()
            .expect("argmax gives integer ids");
        for (&i, &token) in active.iter().zip(&next) {
            let token = u32::try_from(token).expect("token ids fit in u32");
            if Some(token) == eos {
                finished[i] = true;
            } else {
                sequences[i].push(token);
                completions[i].push(token);
            }
        }
    }
    completions
}

fn decode(tokenizer: &Tokenizer, tokens: &[u32]) -> Result<String> {
    tokenizer
        .decode(tokens, true)
        .map_err(|e| anyhow!("decoding: {e}"))
}

impl QualityReport {
    /// The report as Markdown tables (loss, then ROUGE-L): each method, and each one's
    /// difference from the first.
    pub fn markdown(&self) -> String {
        let names: Vec<&str> = self.points.first().map_or(Vec::new(), |p| {
            p.scores.iter().map(|s| s.method.as_str()).collect()
        });
        let mut out = format!(
            "\nQuality: {} trained on {} rows (batch {}, learning rate {}), held-out loss on {} other rows, ROUGE-L of greedy completions of the first {}\n",
            names.join(", "),
            self.train_rows,
            self.batch_size,
            self.learning_rate,
            self.held_out_rows,
            self.generated_rows
        );
        let table = |what: &str, value: fn(&Score) -> f64, digits: usize| {
            let mut out = format!("\n| steps | {}", names.join(&format!(" {what} | ")));
            out += &format!(" {what} |");
            for name in names.iter().skip(1) {
                out += &format!(" {name} − {} |", names[0]);
            }
            out += &format!("\n|---:|{}\n", "---:|".repeat(2 * names.len() - 1));
            for p in &self.points {
                out += &format!("| {} |", p.steps);
                for score in &p.scores {
                    out += &format!(" {:.digits$} |", value(score));
                }
                for score in p.scores.iter().skip(1) {
                    out += &format!(" {:+.digits$} |", value(score) - value(&p.scores[0]));
                }
                out += "\n";
            }
            out
        };
        out += &table("loss", |s| s.loss, 4);
        out += &table("ROUGE-L", |s| s.rouge_l, 2);
        out
    }
}
