//! ContextCite with a prior (`contextcite-prior-v1`): a handful of exact ablations, chosen for
//! their cost, fitted by a linear surrogate shrunk toward AT2's weights.
//!
//! ```text
//! p        = AT2's weights (rag::at2, the model's θ)
//! masks    = the prefix path: keep sources 0 … j−1, drop the rest, j = 0 … S   (S + 1 masks)
//!            then `random` masks of `random_masks(seed, random, S)`, the seed's domain
//!            PRIOR_SEED_DOMAIN                                                   (step 3's rule)
//! y_i      = the exact ablation's score of mask i (step 4, v1's scores to the bit)
//! minimise Σ_i (y_i − b − α Σ_j m_ij p_j − Σ_j m_ij δ_j)² + λ Σ_j δ_j² + ε n α²
//! w_j      = α p_j + δ_j                                                         the weights
//! ```
//!
//! Why these masks: an exact ablation re-runs every kept token after its first dropped source
//! (the prompt's cache before it is the generation's own), so a prefix-path mask costs only
//! the suffix and the answer, while a random mask re-runs about half the sources. The prefix
//! path measures each source's effect with the sources before it present and those after it
//! absent; the random masks and AT2's prior stand in for the contexts it does not see. `b` and
//! `α` are free (AT2's weights are on another scale); `λ` (in units of masks' squared error,
//! so scale-free) is what keeps the corrections `δ` small where the masks do not pin them.
//! `ε` only keeps the system definite when AT2's weights are all zero.

use super::ablation::{
    ablation_seed, answer_logprobs_from_prompt, logit_probability, random_masks, with_prompt_slot,
    Mask,
};
use super::at2::{answer_features, source_weights, Theta};
use super::attribution::{source_attributions, AnswerAttribution, AttributionRequest};
use super::lasso::LinearSurrogate;
use super::ppm::attribution_entries;
use anyhow::{bail, ensure, Result};
use std::sync::Arc;

/// The method's name and version.
pub const METHOD: &str = "contextcite-prior-v1";
/// Domain of its random masks' seed.
pub const PRIOR_SEED_DOMAIN: &[u8] = b"attribution-chain/contextcite-prior/v1";
/// Penalty on the prior's scale `α` (keeps the normal equations definite).
const ALPHA_PENALTY: f64 = 1e-9;

/// The method's settings; part of what a recomputation must match.
#[derive(Clone, Debug, PartialEq)]
pub struct PriorConfig {
    /// AT2's coefficients for the model.
    pub theta: Arc<Theta>,
    /// Random masks after the prefix path.
    pub random: usize,
    /// The corrections' ridge `λ`.
    pub ridge: f64,
    /// Most runtime slots alive at once while scoring.
    pub max_live_slots: usize,
}

/// Random masks of `contextcite-prior-v1` after its prefix path: none. Measured on SmolLM2
/// (`docs/attribution.md`), one more raised the LDS by 0.003 for 0.23x the generation's time,
/// and the served method must cost less than the generation.
pub const DEFAULT_RANDOM: usize = 0;
/// Its ridge.
pub const DEFAULT_RIDGE: f64 = 0.3;

impl PriorConfig {
    /// The method's settings with `theta`: [`DEFAULT_RANDOM`], [`DEFAULT_RIDGE`].
    pub fn new(theta: Arc<Theta>) -> Self {
        Self {
            theta,
            random: DEFAULT_RANDOM,
            ridge: DEFAULT_RIDGE,
            max_live_slots: 32,
        }
    }

    /// The method with its settings and its coefficients' identity:
    /// `contextcite-prior-v1:` and the first 16 hex digits of the θ file's hash; other
    /// settings than the defaults are named (`contextcite-prior-v1(random=2,ridge=0.1):…`).
    pub fn method(&self) -> String {
        let hash = &hex::encode(self.theta.hash)[..16];
        if self.random == DEFAULT_RANDOM && self.ridge == DEFAULT_RIDGE {
            format!("{METHOD}:{hash}")
        } else {
            format!(
                "{METHOD}(random={},ridge={}):{hash}",
                self.random, self.ridge
            )
        }
    }
}

/// The masks: the prefix path (`S + 1`, keeping the first `j` sources) then `random` of
/// [`random_masks`] from `seed`.
pub fn prior_masks(seed: &[u8; 32], random: usize, sources: usize) -> Result<Vec<Mask>> {
    let mut masks: Vec<Mask> = (0..=sources)
        .map(|j| (0..sources).map(|i| i < j).collect())
        .collect();
    masks.extend(random_masks(seed, random, sources)?);
    Ok(masks)
}

/// The surrogate `b + Σ_j m_j (α p_j + δ_j)` fitted to `scores` (see the module docs).
pub fn fit_with_prior(
    masks: &[Mask],
    scores: &[f64],
    prior: &[f64],
    ridge: f64,
) -> Result<LinearSurrogate> {
    let sources = prior.len();
    ensure!(
        !masks.is_empty() && masks.len() == scores.len(),
        "{} masks for {} scores",
        masks.len(),
        scores.len()
    );
    ensure!(
        masks.iter().all(|m| m.len() == sources),
        "a mask is not over the prior's {sources} sources"
    );
    ensure!(
        ridge.is_finite() && ridge > 0.0,
        "the ridge must be positive, not {ridge}"
    );
    ensure!(
        scores.iter().chain(prior).all(|v| v.is_finite()),
        "a score or a prior weight is not finite"
    );
    // Columns: b, α, δ_0 … δ_{S−1}.
    let width = sources + 2;
    let mut normal = vec![0.0; width * width];
    let mut rhs = vec![0.0; width];
    for (mask, &y) in masks.iter().zip(scores) {
        let mut row = Vec::with_capacity(width);
        row.push(1.0);
        row.push(
            mask.iter()
                .zip(prior)
                .filter(|(&k, _)| k)
                .map(|(_, p)| p)
                .sum(),
        );
        row.extend(mask.iter().map(|&k| f64::from(u8::from(k))));
        for (a, &x) in row.iter().enumerate() {
            rhs[a] += x * y;
            for (b, &z) in row.iter().enumerate() {
                normal[a * width + b] += x * z;
            }
        }
    }
    normal[width + 1] += ALPHA_PENALTY * masks.len() as f64;
    for j in 2..width {
        normal[j * width + j] += ridge;
    }
    let beta = solve_definite(&mut normal, &mut rhs, width)?;
    Ok(LinearSurrogate {
        intercept: beta[0],
        weights: prior
            .iter()
            .zip(&beta[2..])
            .map(|(p, d)| beta[1] * p + d)
            .collect(),
    })
}

/// Solves `A x = b` for a symmetric positive definite `A` (`n × n`, row-major) by Cholesky,
/// in a fixed order (the same bits every time).
fn solve_definite(a: &mut [f64], b: &mut [f64], n: usize) -> Result<Vec<f64>> {
    for j in 0..n {
        let mut d = a[j * n + j];
        for k in 0..j {
            d -= a[j * n + k] * a[j * n + k];
        }
        if d.is_nan() || d <= 0.0 {
            bail!("the normal equations are not positive definite");
        }
        let d = d.sqrt();
        a[j * n + j] = d;
        for i in j + 1..n {
            let mut v = a[i * n + j];
            for k in 0..j {
                v -= a[i * n + k] * a[j * n + k];
            }
            a[i * n + j] = v / d;
        }
    }
    for i in 0..n {
        let mut v = b[i];
        for k in 0..i {
            v -= a[i * n + k] * b[k];
        }
        b[i] = v / a[i * n + i];
    }
    for i in (0..n).rev() {
        let mut v = b[i];
        for k in i + 1..n {
            v -= a[k * n + i] * b[k];
        }
        b[i] = v / a[i * n + i];
    }
    Ok(b.to_vec())
}

/// `contextcite-prior-v1` over `runtime` for `request`: AT2's features and the masks' exact
/// scores from one prompt cache (the generation's, or one pass of the prompt here), the fit,
/// entries (the `rag::ppm` rule) and the sentences each source supports (the same fit over each
/// sentence's rows and tokens).
pub fn attribute_with_prior<R: crate::serve::runtime::Runtime + ?Sized>(
    runtime: &mut R,
    tokenizer: &tokenizers::Tokenizer,
    request: &AttributionRequest<'_>,
    config: &PriorConfig,
) -> Result<AnswerAttribution> {
    let sources = request.sources()?;
    if request.answer.is_empty() {
        bail!("no answer to attribute");
    }
    let seed = ablation_seed(
        PRIOR_SEED_DOMAIN,
        request.model,
        request.pool,
        request.question,
        request.answer,
    );
    let masks = prior_masks(&seed, config.random, sources)?;
    let full = request.layout.full();
    let head = &full[..full.len().saturating_sub(1)];
    let (features, logprobs) = with_prompt_slot(
        runtime,
        request.adapter,
        head,
        request.prompt_slot,
        |runtime, slot| {
            let features = answer_features(
                runtime,
                request.adapter,
                request.layout,
                request.answer,
                Some(slot),
            )?;
            let logprobs = answer_logprobs_from_prompt(
                runtime,
                request.layout,
                request.answer,
                &masks,
                slot,
                config.max_live_slots,
            )?;
            Ok((features, logprobs))
        },
    )?;
    let theta = &config.theta.theta;
    ensure!(
        features.heads == theta.len(),
        "{} coefficients for a model of {} heads",
        theta.len(),
        features.heads
    );
    let scores: Vec<f64> = logprobs.iter().map(|l| logit_probability(l)).collect();
    let prior = source_weights(theta, &features.mean(0..features.rows));
    let surrogate = fit_with_prior(&masks, &scores, &prior, config.ridge)?;
    let entries = attribution_entries(request.contributions, &surrogate.weights)?;
    let sources = source_attributions(
        tokenizer,
        request.answer,
        request.contributions,
        &surrogate.weights,
        |sentence| {
            let sentence_scores: Vec<f64> = logprobs
                .iter()
                .map(|l| logit_probability(&l[sentence.clone()]))
                .collect();
            let prior = source_weights(theta, &features.mean(sentence));
            Ok(fit_with_prior(&masks, &sentence_scores, &prior, config.ridge)?.weights)
        },
    )?;
    Ok(AnswerAttribution {
        seed,
        masks,
        scores,
        surrogate,
        sources,
        entries,
    })
}
