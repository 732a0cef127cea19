//! How good the estimator is, against the ground truth of re-training (affordable on a small
//! model):
//!
//! - **LDS** (linear datamodeling score): the adapter is re-trained on `subsets` random halves
//!   of the rows (same base, seed, steps and schedule); for each answer, the Spearman
//!   correlation over the subsets between the sum of the rows' scores in the subset and the
//!   answer's actual log-likelihood under the subset's adapter; averaged over answers.
//! - **Top-k removal**: for each answer, the adapter re-trained without its `k` highest-scored
//!   rows, against re-trained without `k` random rows (`trials` draws): how much the answer's
//!   log-likelihood drops from the full adapter's.
//!
//! Spearman's correlation is [`crate::rag::quality::spearman`] (ContextCite's LDS uses it too); an
//! answer whose scores or log-likelihoods are constant over the subsets counts 0.
//!
//! The baseline beside TRAK's scores is the plain gradient inner product `φ · φ_i` (no
//! kernel), as LESS uses (there, cosine).

use super::index::{InfluenceConfig, InfluenceIndex};
use crate::checkpoint::WeightSource;
use crate::data::{make_batch, Encoded};
use crate::lora::LoraConfig;
use crate::model::Llama;
use crate::provenance::index::RowRef;
use crate::rag::quality::spearman;
use crate::train::{masked_loss, train, TrainConfig};
use crate::tuning::Method;
use anyhow::{ensure, Result};
use burn::tensor::Device;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::Serialize;
use std::time::Instant;

/// What to measure on.
pub struct QualitySetup<'a, W: WeightSource> {
    pub base: &'a W,
    pub lora: LoraConfig,
    pub train: TrainConfig,
    /// Training rows, each its own contribution (contribution id = index).
    pub rows: &'a [Encoded],
    /// Answers: prompt then answer tokens (`prompt_len` marks the split).
    pub answers: &'a [Encoded],
    pub pad: u32,
    pub influence: InfluenceConfig,
    /// Random halves for LDS.
    pub subsets: usize,
    /// `k` of top-k removal.
    pub removed: usize,
    /// Random removals per answer.
    pub trials: usize,
    /// Seeds the adapter's initialisation (with `train.seed` its data order), the halves and the
    /// random removals.
    pub seed: u64,
}

/// The figures.
#[derive(Clone, Debug, Serialize)]
pub struct QualityFigures {
    pub rows: usize,
    pub answers: usize,
    pub lora_params: usize,
    pub dims: usize,
    pub lambda: f64,
    pub subsets: usize,
    /// Mean over answers of the per-answer Spearman correlation (TRAK scores).
    pub lds: f64,
    pub lds_per_answer: Vec<f64>,
    /// The same with the plain inner product `φ · φ_i`.
    pub lds_inner_product: f64,
    pub removed: usize,
    /// Mean drop of the answer's log-likelihood (nats) without its top-k rows.
    pub top_k_drop: f64,
    /// Mean drop without k random rows (mean of `trials` per answer).
    pub random_drop: f64,
    /// Answers whose top-k drop exceeds their mean random drop.
    pub top_k_beats_random: usize,
    pub trials: usize,
    /// Mean log-likelihood of the answers under the full adapter.
    pub full_log_likelihood: f64,
    /// Seconds to build the index (every row's gradient, projected, and the kernel).
    pub index_seconds: f64,
    /// Mean seconds to score one answer (its gradient, projection and scores).
    pub answer_seconds: f64,
    /// Mean seconds of one re-training.
    pub train_seconds: f64,
}

/// The completion log-likelihood of `example` under `model` (nats, summed).
pub fn log_likelihood(model: &Llama, example: &Encoded, pad: u32, device: &Device) -> f64 {
    let batch = make_batch(&[example], pad, device);
    let tokens = batch.trained_tokens as f64;
    let loss = masked_loss(model.forward(batch.inputs.clone()), &batch);
    -f64::from(loss.into_scalar::<f32>()) * tokens
}

impl<W: WeightSource> QualitySetup<'_, W> {
    /// A fresh adapter (initialised from `seed`) trained on `rows`.
    pub fn train_adapter(&self, rows: &[Encoded], device: &Device) -> Result<Llama> {
        device.seed(self.seed);
        let method = Method::Lora(self.lora.clone());
        let model = Llama::from_checkpoint(self.base, &method, device)?;
        Ok(train(model, &method, rows, self.pad, &self.train, None, device)?.0)
    }

    fn subset(&self, keep: impl Fn(usize) -> bool) -> Vec<Encoded> {
        (0..self.rows.len())
            .filter(|&i| keep(i))
            .map(|i| self.rows[i].clone())
            .collect()
    }

    /// Measures everything (on an autodiff `device`).
    pub fn measure(&self, device: &Device) -> Result<QualityFigures> {
        let n = self.rows.len();
        ensure!(n >= 4, "at least 4 rows");
        ensure!(!self.answers.is_empty(), "no answers");
        ensure!(
            self.removed < n,
            "cannot remove {} of {n} rows",
            self.removed
        );
        let mut train_seconds = Vec::new();
        let mut timed_train = |rows: &[Encoded]| -> Result<Llama> {
            let started = Instant::now();
            let model = self.train_adapter(rows, device)?;
            train_seconds.push(started.elapsed().as_secs_f64());
            Ok(model)
        };
        let full = timed_train(self.rows)?;
        let started = Instant::now();
        let refs: Vec<(RowRef, Encoded)> = self
            .rows
            .iter()
            .enumerate()
            .map(|(i, e)| {
                let row = RowRef {
                    contribution: i as u64,
                    row: 0,
                };
                (row, e.clone())
            })
            .collect();
        let index = InfluenceIndex::build(&full, &refs, self.pad, self.influence, [0; 32], device)?;
        let index_seconds = started.elapsed().as_secs_f64();
        let started = Instant::now();
        let mut scores = Vec::new();
        let mut inner = Vec::new();
        let mut full_ll = Vec::new();
        for answer in self.answers {
            let prompt = &answer.tokens[..answer.prompt_len];
            let tail = &answer.tokens[answer.prompt_len..];
            let (feature, ll) = index.answer_feature(&full, prompt, tail, self.pad, device)?;
            scores.push(index.scores(&feature)?);
            inner.push(
                index
                    .features
                    .chunks(self.influence.dims)
                    .map(|row| {
                        row.iter()
                            .zip(&feature)
                            .map(|(x, y)| f64::from(x * y))
                            .sum()
                    })
                    .collect::<Vec<f64>>(),
            );
            full_ll.push(ll);
        }
        let answer_seconds = started.elapsed().as_secs_f64() / self.answers.len() as f64;
        tracing::info!(
            index_seconds,
            answer_seconds,
            "influence index built and answers scored"
        );

        // LDS over random halves.
        let mut rng = StdRng::seed_from_u64(self.seed ^ 0x4c44_5300);
        let mut predicted = vec![Vec::new(); self.answers.len()];
        let mut predicted_inner = vec![Vec::new(); self.answers.len()];
        let mut actual = vec![Vec::new(); self.answers.len()];
        for s in 0..self.subsets {
            let mut order: Vec<usize> = (0..n).collect();
            order.shuffle(&mut rng);
            let mut kept = vec![false; n];
            for &i in &order[..n / 2] {
                kept[i] = true;
            }
            let model = timed_train(&self.subset(|i| kept[i]))?;
            for (a, answer) in self.answers.iter().enumerate() {
                let sum = |s: &[f64]| (0..n).filter(|&i| kept[i]).map(|i| s[i]).sum::<f64>();
                predicted[a].push(sum(&scores[a]));
                predicted_inner[a].push(sum(&inner[a]));
                actual[a].push(log_likelihood(&model, answer, self.pad, device));
            }
            tracing::info!(subset = s + 1, of = self.subsets, "LDS re-training");
        }
        let lds_per_answer: Vec<f64> = (0..self.answers.len())
            .map(|a| spearman(&predicted[a], &actual[a]).unwrap_or(0.0))
            .collect();
        let lds_inner: Vec<f64> = (0..self.answers.len())
            .map(|a| spearman(&predicted_inner[a], &actual[a]).unwrap_or(0.0))
            .collect();
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;

        // Top-k removal against random removal.
        let (mut top_drops, mut random_drops, mut beats) = (Vec::new(), Vec::new(), 0);
        for (a, answer) in self.answers.iter().enumerate() {
            let mut ranked: Vec<usize> = (0..n).collect();
            ranked.sort_by(|&i, &j| scores[a][j].total_cmp(&scores[a][i]).then(i.cmp(&j)));
            let top: Vec<usize> = ranked[..self.removed].to_vec();
            let model = timed_train(&self.subset(|i| !top.contains(&i)))?;
            let top_drop = full_ll[a] - log_likelihood(&model, answer, self.pad, device);
            let mut drops = Vec::new();
            for _ in 0..self.trials {
                let mut order: Vec<usize> = (0..n).collect();
                order.shuffle(&mut rng);
                let gone = &order[..self.removed];
                let model = timed_train(&self.subset(|i| !gone.contains(&i)))?;
                drops.push(full_ll[a] - log_likelihood(&model, answer, self.pad, device));
            }
            let random_drop = mean(&drops);
            beats += usize::from(top_drop > random_drop);
            tracing::info!(answer = a, top_drop, random_drop, "top-k removal");
            top_drops.push(top_drop);
            random_drops.push(random_drop);
        }
        Ok(QualityFigures {
            rows: n,
            answers: self.answers.len(),
            lora_params: super::gradient::lora_dims(&full),
            dims: self.influence.dims,
            lambda: index.lambda(),
            subsets: self.subsets,
            lds: mean(&lds_per_answer),
            lds_per_answer,
            lds_inner_product: mean(&lds_inner),
            removed: self.removed,
            top_k_drop: mean(&top_drops),
            random_drop: mean(&random_drops),
            top_k_beats_random: beats,
            trials: self.trials,
            full_log_likelihood: mean(&full_ll),
            index_seconds,
            answer_seconds,
            train_seconds: mean(&train_seconds),
        })
    }
}
