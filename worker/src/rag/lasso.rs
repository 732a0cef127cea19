//! The sparse linear surrogate of ContextCite: LASSO by cyclic coordinate descent.
//!
//! Minimises, over the intercept `b` and the weights `w` (one per source),
//!
//! ```text
//! (1 / 2n) · Σ_i (y_i − b − Σ_j x_ij w_j)²  +  α · Σ_j |w_j|
//! ```
//!
//! with `x_ij = 1` when mask `i` keeps source `j` (scikit-learn's `Lasso`, which ContextCite
//! uses, minimises the same objective). The intercept is not penalised: features and targets
//! are centred, the weights fitted, and `b = ȳ − Σ_j x̄_j w_j`. Coordinates are updated in
//! source order, each sweep from the previous one's weights, starting at zero, until no weight
//! moves by more than [`TOLERANCE`] (relative to the largest weight, at least 1) or after
//! [`MAX_SWEEPS`] sweeps: the same inputs give the same weights.

use anyhow::{bail, Result};

/// Largest change of any weight in a sweep at which the fit stops.
pub const TOLERANCE: f64 = 1e-10;
/// Most sweeps over the coordinates.
pub const MAX_SWEEPS: usize = 100_000;

/// `score ≈ intercept + Σ_j weights[j] · keep[j]`.
#[derive(Clone, Debug, PartialEq)]
pub struct LinearSurrogate {
    pub intercept: f64,
    pub weights: Vec<f64>,
}

impl LinearSurrogate {
    /// The predicted score of a mask.
    pub fn predict(&self, keep: &[bool]) -> f64 {
        self.intercept
            + self
                .weights
                .iter()
                .zip(keep)
                .filter(|(_, k)| **k)
                .map(|(w, _)| w)
                .sum::<f64>()
    }
}

fn soft_threshold(value: f64, threshold: f64) -> f64 {
    if value > threshold {
        value - threshold
    } else if value < -threshold {
        value + threshold
    } else {
        0.0
    }
}

/// Fits the LASSO of `targets` on the 0/1 features of `masks` with penalty `alpha`.
pub fn fit_lasso(masks: &[Vec<bool>], targets: &[f64], alpha: f64) -> Result<LinearSurrogate> {
    let n = masks.len();
    if n == 0 || n != targets.len() {
        bail!("{n} masks for {} targets", targets.len());
    }
    if alpha.is_nan() || alpha < 0.0 {
        bail!("the LASSO penalty must be non-negative, not {alpha}");
    }
    if targets.iter().any(|y| !y.is_finite()) {
        bail!("a target is not finite");
    }
    let p = masks[0].len();
    if masks.iter().any(|m| m.len() != p) {
        bail!("masks of different lengths");
    }
    let n_f = n as f64;
    let y_mean = targets.iter().sum::<f64>() / n_f;
    let x_mean: Vec<f64> = (0..p)
        .map(|j| masks.iter().filter(|m| m[j]).count() as f64 / n_f)
        .collect();
    // Centred features, column-major: x[j][i].
    let x: Vec<Vec<f64>> = (0..p)
        .map(|j| {
            masks
                .iter()
                .map(|m| f64::from(u8::from(m[j])) - x_mean[j])
                .collect()
        })
        .collect();
    let squared: Vec<f64> = x
        .iter()
        .map(|column| column.iter().map(|v| v * v).sum::<f64>() / n_f)
        .collect();
    let mut residual: Vec<f64> = targets.iter().map(|y| y - y_mean).collect();
    let mut weights = vec![0.0; p];
    for _ in 0..MAX_SWEEPS {
        let mut largest_step: f64 = 0.0;
        for j in 0..p {
            if squared[j] == 0.0 {
                // A source kept (or dropped) by every mask: its effect is not identifiable.
                continue;
            }
            let old = weights[j];
            let correlation = x[j]
                .iter()
                .zip(&residual)
                .map(|(xij, r)| xij * (r + xij * old))
                .sum::<f64>()
                / n_f;
            let new = soft_threshold(correlation, alpha) / squared[j];
            if new != old {
                for (r, xij) in residual.iter_mut().zip(&x[j]) {
                    *r -= xij * (new - old);
                }
                weights[j] = new;
                largest_step = largest_step.max((new - old).abs());
            }
        }
        let scale = weights.iter().fold(1.0_f64, |m, w| m.max(w.abs()));
        if largest_step <= TOLERANCE * scale {
            break;
        }
    }
    let intercept = y_mean - weights.iter().zip(&x_mean).map(|(w, m)| w * m).sum::<f64>();
    Ok(LinearSurrogate { intercept, weights })
}
