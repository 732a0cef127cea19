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
//! - **Entries against leave-one-contribution-out**: the rows belong to contributions; the
//!   adapter is re-trained without each contribution's rows, and the answer's log-likelihood
//!   drop is that contribution's true effect. For each entries rule of [`CANDIDATES`]: the
//!   Spearman correlation over contributions between the rule's weights and the true drops,
//!   whether its largest entry is the contribution of the largest drop, and the share of the
//!   10^6 ppm it pays to contributions whose drop is ≤ 0 (paid for nothing).
//!
//! Spearman's correlation is [`crate::rag::quality::spearman`] (ContextCite's LDS uses it too); an
//! answer whose scores or log-likelihoods are constant over the subsets counts 0.
//!
//! The baseline beside TRAK's scores is the plain gradient inner product `φ · φ_i` (no
//! kernel), as LESS uses (there, cosine).

use super::entries::{entries, Rule};
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
use attribution_primitives::{ContributionId, PARTS_PER_MILLION};
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
    /// Training rows.
    pub rows: &'a [Encoded],
    /// The contribution of each row.
    pub contributions: &'a [ContributionId],
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
    /// Entries rules against leave-one-contribution-out.
    pub by_contribution: ContributionFigures,
}

/// The entries rules compared against leave-one-contribution-out.
pub const CANDIDATES: [Rule; 6] = [
    Rule::SumAll,
    Rule::TopK(4),
    Rule::TopK(8),
    Rule::Outliers(2.0),
    Rule::Outliers(3.5),
    Rule::Outliers(5.0),
];

/// Leave-one-contribution-out, and how each rule's entries compare with it.
#[derive(Clone, Debug, Serialize)]
pub struct ContributionFigures {
    /// Rows of each contribution, by ascending contribution id.
    pub rows: Vec<usize>,
    /// `drops[a][c]`: answer `a`'s log-likelihood drop (nats) when the adapter is re-trained
    /// without contribution `c`'s rows (`c` in ascending id order).
    pub drops: Vec<Vec<f64>>,
    pub rules: Vec<RuleFigures>,
}

/// One rule's agreement with leave-one-contribution-out, over the answers.
#[derive(Clone, Debug, Serialize)]
pub struct RuleFigures {
    pub rule: String,
    /// Mean Spearman correlation between the rule's weights and the true drops (an answer with
    /// constant weights, such as no entries, counts 0).
    pub spearman: f64,
    /// Answers whose largest entry is the contribution with the largest drop.
    pub top_hits: usize,
    /// Mean share of the 10^6 ppm paid to contributions whose drop is ≤ 0.
    pub paid_for_nothing: f64,
    /// Mean share of the 10^6 ppm paid at all.
    pub paid: f64,
    /// Answers with no entries (all to the pool).
    pub no_entries: usize,
}

impl RuleFigures {
    /// `rule`'s figures from each answer's row `scores` and its true `drops` per contribution
    /// (`ids` ascending, as in `drops`).
    pub fn measure(
        rule: Rule,
        rows: &[RowRef],
        scores: &[Vec<f64>],
        ids: &[ContributionId],
        drops: &[Vec<f64>],
    ) -> Result<Self> {
        let (mut spearmans, mut top_hits, mut nothing, mut paid, mut none) =
            (Vec::new(), 0, 0.0, 0.0, 0);
        for (scores, drops) in scores.iter().zip(drops) {
            let weights = rule.weights(rows, scores)?;
            ensure!(
                weights.iter().map(|(c, _)| *c).eq(ids.iter().copied()),
                "the rule's contributions are not the measured ones"
            );
            let positive: Vec<f64> = weights.iter().map(|(_, w)| w.max(0.0)).collect();
            spearmans.push(spearman(&positive, drops).unwrap_or(0.0));
            let entries = entries(&weights)?;
            let drop_of = |c: ContributionId| ids.iter().position(|&i| i == c).map(|j| drops[j]);
            let best = (0..ids.len())
                .max_by(|&i, &j| drops[i].total_cmp(&drops[j]).then(j.cmp(&i)))
                .map(|j| ids[j]);
            top_hits += usize::from(entries.first().map(|e| e.contribution) == best);
            none += usize::from(entries.is_empty());
            let ppm = |keep: &dyn Fn(&ContributionId) -> bool| {
                entries
                    .iter()
                    .filter(|e| keep(&e.contribution))
                    .map(|e| f64::from(e.weight_ppm))
                    .sum::<f64>()
                    / f64::from(PARTS_PER_MILLION)
            };
            nothing += ppm(&|&c| drop_of(c).is_some_and(|d| d <= 0.0));
            paid += ppm(&|_| true);
        }
        let answers = scores.len().max(1) as f64;
        Ok(Self {
            rule: rule.to_string(),
            spearman: spearmans.iter().sum::<f64>() / answers,
            top_hits,
            paid_for_nothing: nothing / answers,
            paid: paid / answers,
            no_entries: none,
        })
    }
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
            self.contributions.len() == n,
            "{} contributions for {n} rows",
            self.contributions.len()
        );
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
                    contribution: self.contributions[i],
                    row: i as u32,
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

        // Leave one contribution out.
        let mut ids: Vec<ContributionId> = self.contributions.to_vec();
        ids.sort_unstable();
        ids.dedup();
        ensure!(ids.len() >= 2, "at least two contributions");
        let mut drops = vec![Vec::new(); self.answers.len()];
        for &c in &ids {
            let model = timed_train(&self.subset(|i| self.contributions[i] != c))?;
            for (a, answer) in self.answers.iter().enumerate() {
                drops[a].push(full_ll[a] - log_likelihood(&model, answer, self.pad, device));
            }
            tracing::info!(contribution = c, "leave-one-contribution-out re-training");
        }
        let rules = CANDIDATES
            .iter()
            .map(|&rule| RuleFigures::measure(rule, &index.rows, &scores, &ids, &drops))
            .collect::<Result<Vec<_>>>()?;
        let by_contribution = ContributionFigures {
            rows: ids
                .iter()
                .map(|&c| self.contributions.iter().filter(|&&x| x == c).count())
                .collect(),
            drops,
            rules,
        };
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
            by_contribution,
        })
    }
}
