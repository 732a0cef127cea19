//! AT2 (Cohen-Wang, Chuang and Madry, "Learning to Attribute with Attention", 2025): source
//! weights read from the answer's attention, with per-head coefficients learned once per model
//! so that they predict ContextCite's exact ablations.
//!
//! ```text
//! a[l,h,j] = (1/T) Σ_t Σ_{i ∈ source j} attn_{l,h}(t → i)      t: the T rows scoring the answer
//! w_j      = Σ_{l,h} θ[l,h] · a[l,h,j]                          the source's weight
//! ```
//!
//! The rows are those of the exact ablation's teacher forcing (the prompt's last token and the
//! answer but its last token: row `t` predicts answer token `t`), run once after the prompt's
//! KV cache ([`Runtime::forward_attention`]); no mask, one pass of the answer's tokens.
//!
//! θ ([`Theta`]) is fitted by [`fit_theta`] on calibration answers: for each, `n` masks of
//! `contextcite-v1` and their exact scores; the prediction for mask `m` of answer `q` is
//! `b_q + Σ_j m_j w_j` (an intercept per answer), and θ is the ridge regression of the scores
//! on `Σ_j m_j a[·,·,j]`, each answer's scores and features centred (its intercept) and divided
//! by the spread of its scores (every answer counts alike, as AT2's correlation objective makes
//! them), the ridge chosen by two-fold cross-validation over answers (mean Spearman on the held
//! fold). The θ file is named by the model file's BLAKE2b-256 and its own BLAKE2b-256 is part
//! of the method's identity.

use super::ablation::{logit_probability, with_prompt_slot, Mask};
use super::attribution::{source_attributions, AnswerAttribution, AttributionRequest};
use super::lasso::LinearSurrogate;
use super::ppm::attribution_entries;
use super::prompt::PromptLayout;
use super::quality::spearman;
use crate::model::LlamaConfig;
use crate::provenance::influence::kernel::Kernel;
use crate::serve::runtime::{AdapterKey, Runtime, SlotId};
use anyhow::{anyhow, bail, ensure, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The method's name and version.
pub const METHOD: &str = "at2-v1";
/// The θ file's format tag.
pub const THETA_FORMAT: &str = "attribution-chain/at2-theta/v1";
/// Ridge strengths tried (relative to the features' mean squared column norm).
pub const RIDGE_GRID: [f64; 6] = [1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0];

/// Per-head coefficients for one model, as stored (JSON).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ThetaFile {
    pub format: String,
    /// BLAKE2b-256 (hex) of the model file the coefficients were fitted on.
    pub model_blake2b_256: String,
    pub layers: usize,
    pub heads: usize,
    /// The ridge strength chosen (relative).
    pub ridge: f64,
    /// How it was fitted: answers, masks, cross-validated and in-sample Spearman.
    pub calibration: CalibrationSummary,
    /// θ in units of 2^-32, `[layers, heads]` row-major: integers, so every JSON reader gets
    /// the same coefficients to the bit.
    pub theta_q32: Vec<i64>,
}

/// θ's fixed-point unit: 2^-32.
pub const THETA_UNIT: f64 = 1.0 / 4_294_967_296.0;

impl ThetaFile {
    /// The coefficients, `θ_k = theta_q32[k] · 2^-32` (exact in `f64`).
    pub fn coefficients(&self) -> Vec<f64> {
        self.theta_q32
            .iter()
            .map(|&q| q as f64 * THETA_UNIT)
            .collect()
    }
}

/// `θ` rounded to the file's fixed point (`None` when a coefficient does not fit).
fn to_q32(theta: &[f64]) -> Option<Vec<i64>> {
    theta
        .iter()
        .map(|&v| {
            let q = (v / THETA_UNIT).round();
            (q.is_finite() && q.abs() < 2f64.powi(53)).then_some(q as i64)
        })
        .collect()
}

/// What a θ file says about its fit.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CalibrationSummary {
    pub answers: usize,
    pub masks: usize,
    /// The calibration packages: those whose [`calibration_package`] is true.
    pub split: String,
    /// Mean Spearman on the held fold for each ridge of [`RIDGE_GRID`].
    pub cross_validated: Vec<f64>,
    /// Mean Spearman of the final fit on its own answers' masks.
    pub in_sample: f64,
}

/// Loaded coefficients.
#[derive(Clone, Debug, PartialEq)]
pub struct Theta {
    pub file: ThetaFile,
    /// [`ThetaFile::coefficients`].
    pub theta: Vec<f64>,
    /// BLAKE2b-256 of the file's bytes: what a challenger must recompute with.
    pub hash: [u8; 32],
}

impl Theta {
    /// The method with its coefficients' identity: `at2-v1:` and the first 16 hex digits of
    /// the θ file's hash.
    pub fn method(&self) -> String {
        format!("{METHOD}:{}", &hex::encode(self.hash)[..16])
    }

    /// Reads and checks a θ file for the model whose file hashes to `model_hash` (hex) and has
    /// `config`'s layers and heads.
    pub fn load(path: &Path, model_hash: &str, config: &LlamaConfig) -> Result<Self> {
        let bytes = std::fs::read(path)
            .with_context(|| format!("reading the AT2 coefficients {}", path.display()))?;
        Self::parse(&bytes, model_hash, config)
            .with_context(|| format!("the AT2 coefficients {}", path.display()))
    }

    /// [`Theta::load`] from the file's bytes.
    pub fn parse(bytes: &[u8], model_hash: &str, config: &LlamaConfig) -> Result<Self> {
        let file: ThetaFile = serde_json::from_slice(bytes).context("not a θ file")?;
        ensure!(
            file.format == THETA_FORMAT,
            "format {:?}, not {THETA_FORMAT:?}",
            file.format
        );
        ensure!(
            file.model_blake2b_256 == model_hash,
            "fitted on the model {}, not this one ({model_hash})",
            file.model_blake2b_256
        );
        let (layers, heads) = (config.num_hidden_layers, config.num_attention_heads);
        ensure!(
            file.layers == layers && file.heads == heads,
            "{} layers × {} heads, but the model has {layers} × {heads}",
            file.layers,
            file.heads
        );
        ensure!(
            file.theta_q32.len() == layers * heads,
            "{} coefficients for {layers} × {heads} heads",
            file.theta_q32.len()
        );
        ensure!(
            file.theta_q32.iter().all(|q| q.unsigned_abs() < 1 << 53),
            "a coefficient is out of range"
        );
        Ok(Self {
            theta: file.coefficients(),
            file,
            hash: crate::artifact::blake2b_256(bytes),
        })
    }
}

/// BLAKE2b-256 (hex) of the model file (`model.safetensors` in a Hugging Face directory):
/// what AT2's coefficients are named by.
pub fn model_hash(path: &Path) -> Result<String> {
    if path.is_dir() {
        crate::artifact::hash_file(&path.join("model.safetensors"))
    } else {
        crate::artifact::hash_file(path)
    }
}

/// The θ files committed with the worker (`worker/at2/`, each named by the hash of the model
/// file it was fitted on), built into the binary so that every worker, a juror's too, holds them.
const COMMITTED: &[(&str, &[u8])] = &[(
    "d63af87b96e2fd6551e9e7320602f3934f34c41a91004117dd24981571d02f79",
    include_bytes!(
        "../../at2/d63af87b96e2fd6551e9e7320602f3934f34c41a91004117dd24981571d02f79.json"
    ),
)];

/// The coefficients for the model file hashing to `model_hash` (hex) with `config`'s layers and
/// heads: those of `file` when given (refused when they are for another model), else the
/// committed ones for that model, else `None`.
pub fn theta_for(
    file: Option<&Path>,
    model_hash: &str,
    config: &LlamaConfig,
) -> Result<Option<Theta>> {
    if let Some(path) = file {
        return Theta::load(path, model_hash, config).map(Some);
    }
    COMMITTED
        .iter()
        .find(|(hash, _)| *hash == model_hash)
        .map(|(hash, bytes)| {
            Theta::parse(bytes, model_hash, config)
                .with_context(|| format!("the committed AT2 coefficients worker/at2/{hash}.json"))
        })
        .transpose()
}

/// Whether a benchmark package belongs to the calibration split (else to evaluation): the
/// first byte of BLAKE2b-256(`attribution-chain/at2/split/v1 ‖ name`) is even.
pub fn calibration_package(name: &str) -> bool {
    let mut bytes = b"attribution-chain/at2/split/v1".to_vec();
    bytes.extend_from_slice(name.as_bytes());
    crate::artifact::blake2b_256(&bytes)[0].is_multiple_of(2)
}

/// An answer's attention on its sources: `per_row[t][s][k]`, `k = layer · heads + head`.
#[derive(Clone, Debug, PartialEq)]
pub struct Features {
    pub rows: usize,
    pub sources: usize,
    /// Layers × heads.
    pub heads: usize,
    /// `[rows, heads, sources]` (the runtime's `[rows, layers, heads, ranges]`).
    pub per_row: Vec<f32>,
}

impl Features {
    /// `a[·,·,j]` over `rows` (a mean over them), `[sources][heads]` in `f64`.
    pub fn mean(&self, rows: std::ops::Range<usize>) -> Vec<Vec<f64>> {
        let mut a = vec![vec![0.0; self.heads]; self.sources];
        let n = rows.len().max(1) as f64;
        for t in rows {
            let row = &self.per_row[t * self.heads * self.sources..][..self.heads * self.sources];
            for (k, by_source) in row.chunks_exact(self.sources).enumerate() {
                for (j, &v) in by_source.iter().enumerate() {
                    a[j][k] += f64::from(v);
                }
            }
        }
        for source in &mut a {
            source.iter_mut().for_each(|v| *v /= n);
        }
        a
    }
}

/// The answer's attention features: one pass of its scoring rows after the prompt, from
/// `prompt` (a slot holding the prompt but its last token) or a pass of the prompt here.
pub fn answer_features<R: Runtime + ?Sized>(
    runtime: &mut R,
    adapter: Option<AdapterKey>,
    layout: &PromptLayout,
    answer: &[u32],
    prompt: Option<SlotId>,
) -> Result<Features> {
    if answer.is_empty() {
        bail!("no answer to attribute");
    }
    let full = layout.full();
    let Some((&last, head)) = full.split_last() else {
        bail!("the prompt is empty");
    };
    let mut rows = vec![last];
    rows.extend(&answer[..answer.len() - 1]);
    let ranges = layout.source_spans();
    let config = runtime.config();
    let heads = config.num_hidden_layers * config.num_attention_heads;
    let per_row = with_prompt_slot(runtime, adapter, head, prompt, |runtime, slot| {
        runtime.forward_attention(slot, &rows, &ranges)
    })?;
    ensure!(
        per_row.len() == rows.len() * heads * ranges.len(),
        "the runtime returned {} attention weights for {} rows × {heads} heads × {} sources",
        per_row.len(),
        rows.len(),
        ranges.len()
    );
    Ok(Features {
        rows: rows.len(),
        sources: ranges.len(),
        heads,
        per_row,
    })
}

/// `w_j = Σ_k θ_k a[k, j]` for each source.
pub fn source_weights(theta: &[f64], a: &[Vec<f64>]) -> Vec<f64> {
    a.iter()
        .map(|source| source.iter().zip(theta).map(|(x, t)| x * t).sum())
        .collect()
}

/// AT2 over `runtime` for `request`: weights, entries (the `rag::ppm` rule, as ContextCite's)
/// and the sentences each source supports (the same weights over each sentence's rows). No
/// masks: `masks` and `scores` are empty and `seed` is the θ file's hash.
pub fn attribute_at2<R: Runtime + ?Sized>(
    runtime: &mut R,
    tokenizer: &tokenizers::Tokenizer,
    request: &AttributionRequest<'_>,
    theta: &Theta,
) -> Result<AnswerAttribution> {
    request.sources()?;
    let features = answer_features(
        runtime,
        request.adapter,
        request.layout,
        request.answer,
        request.prompt_slot,
    )?;
    ensure!(
        features.heads == theta.theta.len(),
        "{} coefficients for a model of {} heads",
        theta.theta.len(),
        features.heads
    );
    let weights = source_weights(&theta.theta, &features.mean(0..features.rows));
    let entries = attribution_entries(request.contributions, &weights)?;
    let sources = source_attributions(
        tokenizer,
        request.answer,
        request.contributions,
        &weights,
        |sentence| Ok(source_weights(&theta.theta, &features.mean(sentence))),
    )?;
    Ok(AnswerAttribution {
        seed: theta.hash,
        masks: Vec::new(),
        scores: Vec::new(),
        surrogate: LinearSurrogate {
            intercept: 0.0,
            weights,
        },
        sources,
        entries,
    })
}

/// One calibration answer: its features and the exact ablation's scores under masks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CalibrationAnswer {
    pub package: String,
    /// `a[j][k]` over every row.
    pub features: Vec<Vec<f64>>,
    pub masks: Vec<Mask>,
    /// The exact ablation's logit-probability under each mask.
    pub scores: Vec<f64>,
}

impl CalibrationAnswer {
    /// From the features and each mask's answer log-probabilities.
    pub fn new(
        package: String,
        features: &Features,
        masks: Vec<Mask>,
        logprobs: &[Vec<f32>],
    ) -> Self {
        Self {
            package,
            features: features.mean(0..features.rows),
            masks,
            scores: logprobs.iter().map(|l| logit_probability(l)).collect(),
        }
    }

    /// Each mask's `Σ_j m_j a[·,·,j]`.
    fn design(&self) -> Vec<Vec<f64>> {
        let heads = self.features.first().map_or(0, Vec::len);
        self.masks
            .iter()
            .map(|mask| {
                let mut z = vec![0.0; heads];
                for (source, _) in self.features.iter().zip(mask).filter(|(_, &keep)| keep) {
                    z.iter_mut().zip(source).for_each(|(z, a)| *z += a);
                }
                z
            })
            .collect()
    }
}

/// Centred, spread-scaled rows of one answer: `(z, y)` per mask, or none when its scores do
/// not vary.
fn standardized(answer: &CalibrationAnswer) -> Vec<(Vec<f64>, f64)> {
    let n = answer.scores.len() as f64;
    let z = answer.design();
    if z.is_empty() {
        return Vec::new();
    }
    let y_mean = answer.scores.iter().sum::<f64>() / n;
    let spread = (answer
        .scores
        .iter()
        .map(|y| (y - y_mean).powi(2))
        .sum::<f64>()
        / n)
        .sqrt();
    if spread <= 1e-12 {
        return Vec::new();
    }
    let heads = z[0].len();
    let z_mean: Vec<f64> = (0..heads)
        .map(|k| z.iter().map(|row| row[k]).sum::<f64>() / n)
        .collect();
    z.iter()
        .zip(&answer.scores)
        .map(|(row, y)| {
            let row = row
                .iter()
                .zip(&z_mean)
                .map(|(v, m)| (v - m) / spread)
                .collect();
            (row, (y - y_mean) / spread)
        })
        .collect()
}

/// Ridge regression of the stacked standardized rows of `answers`, `ridge` relative to the
/// mean squared column norm.
fn ridge_fit(answers: &[&CalibrationAnswer], heads: usize, ridge: f64) -> Result<Vec<f64>> {
    let rows: Vec<(Vec<f64>, f64)> = answers.iter().flat_map(|a| standardized(a)).collect();
    ensure!(!rows.is_empty(), "no calibration answer's scores vary");
    // The kernel of Zᵀ ([heads, rows]) solves (ZᵀZ + λI)⁻¹ Zᵀ y (TRAK's kernel, transposed).
    let n = rows.len();
    let mut transposed = vec![0f32; heads * n];
    for (i, (z, _)) in rows.iter().enumerate() {
        for (k, &v) in z.iter().enumerate() {
            transposed[k * n + i] = v as f32;
        }
    }
    let y: Vec<f32> = rows.iter().map(|(_, y)| *y as f32).collect();
    let kernel = Kernel::new(&transposed, heads, n, ridge).context("the AT2 ridge fit")?;
    Ok(kernel.scores(&transposed, &y))
}

/// Mean Spearman, over `answers`, between `theta`'s predictions and the exact scores.
pub fn mean_spearman(theta: &[f64], answers: &[&CalibrationAnswer]) -> f64 {
    let values: Vec<f64> = answers
        .iter()
        .filter_map(|answer| {
            let predicted: Vec<f64> = answer
                .design()
                .iter()
                .map(|z| z.iter().zip(theta).map(|(a, t)| a * t).sum())
                .collect();
            spearman(&predicted, &answer.scores)
        })
        .collect();
    values.iter().sum::<f64>() / values.len().max(1) as f64
}

/// Fits θ on `answers` for a model of `layers × heads` whose file hashes to `model_hash`: the
/// ridge of [`RIDGE_GRID`] with the best two-fold cross-validated mean Spearman (folds: even
/// and odd answers), then refitted on all.
pub fn fit_theta(
    answers: &[CalibrationAnswer],
    model_hash: &str,
    layers: usize,
    heads: usize,
) -> Result<ThetaFile> {
    ensure!(
        answers.len() >= 2,
        "{} calibration answers: at least 2 are needed",
        answers.len()
    );
    let width = layers * heads;
    if let Some(bad) = answers.iter().find(|a| {
        a.masks.len() != a.scores.len()
            || a.features.iter().any(|f| f.len() != width)
            || a.masks.iter().any(|m| m.len() != a.features.len())
    }) {
        bail!(
            "calibration answer {:?} does not have {width} features per source and one score per mask",
            bad.package
        );
    }
    let all: Vec<&CalibrationAnswer> = answers.iter().collect();
    let (even, odd): (Vec<_>, Vec<_>) = all
        .iter()
        .enumerate()
        .partition::<Vec<_>, _>(|(i, _)| i % 2 == 0);
    let even: Vec<&CalibrationAnswer> = even.into_iter().map(|(_, a)| *a).collect();
    let odd: Vec<&CalibrationAnswer> = odd.into_iter().map(|(_, a)| *a).collect();
    let mut cross_validated = Vec::with_capacity(RIDGE_GRID.len());
    for ridge in RIDGE_GRID {
        let on_odd = mean_spearman(&ridge_fit(&even, width, ridge)?, &odd);
        let on_even = mean_spearman(&ridge_fit(&odd, width, ridge)?, &even);
        cross_validated.push((on_odd + on_even) / 2.0);
    }
    let best = (0..RIDGE_GRID.len())
        .max_by(|&a, &b| {
            cross_validated[a]
                .total_cmp(&cross_validated[b])
                .then(b.cmp(&a))
        })
        .expect("the grid is not empty");
    let ridge = RIDGE_GRID[best];
    let theta_q32 = to_q32(&ridge_fit(&all, width, ridge)?)
        .ok_or_else(|| anyhow!("a fitted coefficient is beyond 2^21"))?;
    let theta: Vec<f64> = theta_q32.iter().map(|&q| q as f64 * THETA_UNIT).collect();
    Ok(ThetaFile {
        format: THETA_FORMAT.to_string(),
        model_blake2b_256: model_hash.to_string(),
        layers,
        heads,
        ridge,
        calibration: CalibrationSummary {
            answers: answers.len(),
            masks: answers.iter().map(|a| a.masks.len()).sum(),
            split: "first byte of BLAKE2b-256(\"attribution-chain/at2/split/v1\" ‖ package) even"
                .to_string(),
            cross_validated,
            in_sample: mean_spearman(&theta, &all),
        },
        theta_q32,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_committed_theta_file_is_built_in_under_its_models_hash() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("at2");
        let mut files = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let hash = path.file_stem().unwrap().to_str().unwrap().to_string();
            let (_, built_in) = COMMITTED
                .iter()
                .find(|(h, _)| *h == hash)
                .unwrap_or_else(|| panic!("{} is not built in", path.display()));
            assert_eq!(*built_in, &std::fs::read(&path).unwrap()[..]);
            let file: ThetaFile = serde_json::from_slice(built_in).unwrap();
            assert_eq!(file.model_blake2b_256, hash);
            files += 1;
        }
        assert_eq!(files, COMMITTED.len());
    }
}
