//! The influence index of one adapter: its training rows' projected gradients `Φ: [n, k]`, the
//! factored kernel, and the scores of an answer against them.

use super::entries::{entries, RULE};
use super::gradient::{lora_dims, lora_gradient};
use super::kernel::Kernel;
use super::projection::Projection;
use crate::data::Encoded;
use crate::model::Llama;
use crate::provenance::index::RowRef;
use anyhow::{ensure, Result};
use attribution_primitives::attribution::AttributionEntry;
use attribution_primitives::ContributionId;
use burn::tensor::Device;

/// The estimator's settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct InfluenceConfig {
    /// `k`, the projected dimension.
    pub dims: usize,
    /// Seeds the projection ([`Projection`]).
    pub seed: u64,
    /// `λ / mean_i ‖φ_i‖²` (see [`super::kernel`]).
    pub damping: f64,
}

impl Default for InfluenceConfig {
    /// `k = 1024`, seed 0, damping 1 (chosen on the synthetic benchmark, `docs/attribution.md`).
    fn default() -> Self {
        Self {
            dims: 1024,
            seed: 0,
            damping: 1.0,
        }
    }
}

/// Rows whose gradients are projected together (each holds a `[d]` gradient meanwhile).
const ROWS_PER_PROJECTION: usize = 32;

/// An adapter's training rows as TRAK features.
#[derive(Clone, Debug)]
pub struct InfluenceIndex {
    /// What the index was built from (see [`super::file::influence_fingerprint`]).
    pub fingerprint: [u8; 32],
    pub config: InfluenceConfig,
    /// The rows, in the order of `features`.
    pub rows: Vec<RowRef>,
    /// `Φ`: `[n, k]` row-major, `φ_i = Pᵀ g_i`.
    pub features: Vec<f32>,
    kernel: Kernel,
}

/// One answer's influence.
#[derive(Clone, Debug, PartialEq)]
pub struct InfluenceAttribution {
    /// The answer's log-likelihood under the adapter (nats, summed over its tokens).
    pub log_likelihood: f64,
    /// Each row's score, in index order.
    pub row_scores: Vec<f64>,
    /// Each contribution's weight under [`RULE`], by contribution id.
    pub contributions: Vec<(ContributionId, f64)>,
    /// The positive weights as ppm entries ([`super::entries`]; Σ ≤ 10^6).
    pub entries: Vec<AttributionEntry>,
}

impl InfluenceIndex {
    /// Projects each row's adapter gradient under `model` (an autodiff `device`, adapters
    /// attached) and factors the kernel.
    pub fn build(
        model: &Llama,
        rows: &[(RowRef, Encoded)],
        pad: u32,
        config: InfluenceConfig,
        fingerprint: [u8; 32],
        device: &Device,
    ) -> Result<Self> {
        ensure!(!rows.is_empty(), "an influence index needs training rows");
        ensure!(
            config.dims > 0,
            "the projection needs at least one dimension"
        );
        let projection = Projection {
            dims: config.dims,
            seed: config.seed,
        };
        tracing::debug!(
            rows = rows.len(),
            params = lora_dims(model),
            dims = config.dims,
            "projecting row gradients"
        );
        let mut features = Vec::with_capacity(rows.len() * config.dims);
        for chunk in rows.chunks(ROWS_PER_PROJECTION) {
            let gradients = chunk
                .iter()
                .map(|(_, example)| Ok(lora_gradient(model, example, pad, device)?.0))
                .collect::<Result<Vec<_>>>()?;
            let refs: Vec<&[f32]> = gradients.iter().map(Vec::as_slice).collect();
            for feature in projection.project(&refs) {
                features.extend(feature);
            }
        }
        Self::from_parts(
            fingerprint,
            config,
            rows.iter().map(|(row, _)| *row).collect(),
            features,
        )
    }

    /// An index from its stored parts (the kernel is factored again).
    pub fn from_parts(
        fingerprint: [u8; 32],
        config: InfluenceConfig,
        rows: Vec<RowRef>,
        features: Vec<f32>,
    ) -> Result<Self> {
        ensure!(
            features.iter().all(|x| x.is_finite()),
            "a row's projected gradient is not finite"
        );
        let kernel = Kernel::new(&features, rows.len(), config.dims, config.damping)?;
        Ok(Self {
            fingerprint,
            config,
            rows,
            features,
            kernel,
        })
    }

    /// The `λ` of the kernel.
    pub fn lambda(&self) -> f64 {
        self.kernel.lambda
    }

    /// `φ = Pᵀ g` of `prompt` followed by `answer` (the gradient of the answer's
    /// log-likelihood given the prompt), with that log-likelihood.
    pub fn answer_feature(
        &self,
        model: &Llama,
        prompt: &[u32],
        answer: &[u32],
        pad: u32,
        device: &Device,
    ) -> Result<(Vec<f32>, f64)> {
        ensure!(!answer.is_empty(), "an empty answer has no gradient");
        let example = Encoded {
            tokens: prompt.iter().chain(answer).copied().collect(),
            prompt_len: prompt.len(),
        };
        let (gradient, log_likelihood) = lora_gradient(model, &example, pad, device)?;
        let projection = Projection {
            dims: self.config.dims,
            seed: self.config.seed,
        };
        let feature = projection.project(&[&gradient]).remove(0);
        Ok((feature, log_likelihood))
    }

    /// TRAK's score of every row for an answer's feature `φ` (`[k]`):
    /// `[Φ (ΦᵀΦ + λI)⁻¹ φ]_i`.
    pub fn scores(&self, answer: &[f32]) -> Result<Vec<f64>> {
        ensure!(
            answer.len() == self.config.dims,
            "an answer feature of {} dimensions for an index of {}",
            answer.len(),
            self.config.dims
        );
        Ok(self.kernel.scores(&self.features, answer))
    }

    /// The answer's influence: row scores, the contributions' weights and the entries.
    pub fn attribute(
        &self,
        model: &Llama,
        prompt: &[u32],
        answer: &[u32],
        pad: u32,
        device: &Device,
    ) -> Result<InfluenceAttribution> {
        let (feature, log_likelihood) = self.answer_feature(model, prompt, answer, pad, device)?;
        let row_scores = self.scores(&feature)?;
        let contributions = RULE.weights(&self.rows, &row_scores)?;
        Ok(InfluenceAttribution {
            log_likelihood,
            entries: entries(&contributions)?,
            row_scores,
            contributions,
        })
    }
}
