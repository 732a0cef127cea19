//! TRAK's kernel: scores `Φ (ΦᵀΦ + λI)⁻¹ φ` for the `n` rows' projected gradients `Φ: [n, k]`
//! and an answer's `φ: [k]`, in `f64` through a Cholesky factor.
//!
//! With fewer rows than dimensions the same scores come from the `n × n` system
//! (`Φ (ΦᵀΦ + λI)⁻¹ = (ΦΦᵀ + λI)⁻¹ Φ`, the push-through identity), so the factor is of the
//! smaller of the two: `min(n, k)³ / 3` multiply-adds once, `n·k + min(n, k)²` per answer.
//!
//! `λ = damping · mean_i ‖φ_i‖²` (the mean diagonal of `ΦΦᵀ`): relative, so the same damping
//! suits any model's gradient scale; it keeps the system invertible when `n < k` or rows repeat.

use anyhow::{ensure, Result};

/// The factored kernel of one set of row features.
#[derive(Clone, Debug, PartialEq)]
pub struct Kernel {
    /// `true`: the `n × n` form `ΦΦᵀ + λI`; `false`: the `k × k` form `ΦᵀΦ + λI`.
    by_rows: bool,
    /// Lower-triangular Cholesky factor `L` (`LLᵀ` = the system), `[m, m]` row-major.
    factor: Vec<f64>,
    m: usize,
    /// The `λ` used.
    pub lambda: f64,
}

fn dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| f64::from(*x) * f64::from(*y))
        .sum()
}

impl Kernel {
    /// Factors the kernel of `features` (`[n, k]` row-major).
    pub fn new(features: &[f32], n: usize, k: usize, damping: f64) -> Result<Self> {
        ensure!(
            n > 0 && k > 0,
            "an influence kernel needs rows and dimensions"
        );
        ensure!(
            features.len() == n * k,
            "{} features for {n} × {k}",
            features.len()
        );
        ensure!(
            damping.is_finite() && damping > 0.0,
            "the damping must be positive (got {damping})"
        );
        let row = |i: usize| &features[i * k..(i + 1) * k];
        let mean_square = (0..n).map(|i| dot(row(i), row(i))).sum::<f64>() / n as f64;
        let lambda = if mean_square > 0.0 {
            damping * mean_square
        } else {
            damping
        };
        let by_rows = n <= k;
        let m = n.min(k);
        let mut system = vec![0f64; m * m];
        if by_rows {
            for i in 0..n {
                for j in 0..=i {
                    system[i * m + j] = dot(row(i), row(j));
                }
            }
        } else {
            for i in 0..n {
                let r = row(i);
                for a in 0..k {
                    let x = f64::from(r[a]);
                    if x != 0.0 {
                        for b in 0..=a {
                            system[a * m + b] += x * f64::from(r[b]);
                        }
                    }
                }
            }
        }
        for i in 0..m {
            system[i * m + i] += lambda;
        }
        Ok(Self {
            by_rows,
            factor: cholesky(system, m)?,
            m,
            lambda,
        })
    }

    /// Solves `LLᵀ x = b`.
    fn solve(&self, mut b: Vec<f64>) -> Vec<f64> {
        let (l, m) = (&self.factor, self.m);
        for i in 0..m {
            let s: f64 = (0..i).map(|j| l[i * m + j] * b[j]).sum();
            b[i] = (b[i] - s) / l[i * m + i];
        }
        for i in (0..m).rev() {
            let s: f64 = (i + 1..m).map(|j| l[j * m + i] * b[j]).sum();
            b[i] = (b[i] - s) / l[i * m + i];
        }
        b
    }

    /// Each row's score `[Φ (ΦᵀΦ + λI)⁻¹ φ]_i` for the answer's `φ` (`[k]`); `features` are the
    /// `[n, k]` the kernel was built from.
    pub fn scores(&self, features: &[f32], answer: &[f32]) -> Vec<f64> {
        let k = answer.len();
        let rows: Vec<&[f32]> = features.chunks(k).collect();
        if self.by_rows {
            self.solve(rows.iter().map(|r| dot(r, answer)).collect())
        } else {
            let v = self.solve(answer.iter().map(|&x| f64::from(x)).collect());
            rows.iter()
                .map(|r| r.iter().zip(&v).map(|(x, v)| f64::from(*x) * v).sum())
                .collect()
        }
    }
}

/// The lower Cholesky factor of the symmetric positive definite `a` (`[m, m]`, lower triangle
/// read).
fn cholesky(mut a: Vec<f64>, m: usize) -> Result<Vec<f64>> {
    for j in 0..m {
        let s: f64 = (0..j).map(|p| a[j * m + p] * a[j * m + p]).sum();
        let diagonal = a[j * m + j] - s;
        ensure!(
            diagonal > 0.0 && diagonal.is_finite(),
            "the influence kernel is not positive definite (pivot {j}: {diagonal})"
        );
        let d = diagonal.sqrt();
        a[j * m + j] = d;
        for i in j + 1..m {
            let s: f64 = (0..j).map(|p| a[i * m + p] * a[j * m + p]).sum();
            a[i * m + j] = (a[i * m + j] - s) / d;
        }
        for p in j + 1..m {
            a[j * m + p] = 0.0;
        }
    }
    Ok(a)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The two forms give the same scores, and those match a direct solve.
    #[test]
    fn both_forms_agree() {
        let (n, k) = (5, 3);
        let features: Vec<f32> = (0..n * k)
            .map(|i| ((i * 37 % 17) as f32 - 8.0) / 4.0)
            .collect();
        let answer = [0.5f32, -1.0, 2.0];
        let wide = Kernel::new(&features, n, k, 0.1).unwrap();
        assert!(!wide.by_rows);
        let wide_scores = wide.scores(&features, &answer);
        // The n × n form of the same data, built directly.
        let lambda = wide.lambda;
        let mut gram = vec![0f64; n * n];
        for i in 0..n {
            for j in 0..=i {
                gram[i * n + j] = dot(&features[i * k..][..k], &features[j * k..][..k]);
            }
            gram[i * n + i] += lambda;
        }
        let narrow = Kernel {
            by_rows: true,
            factor: cholesky(gram, n).unwrap(),
            m: n,
            lambda,
        };
        let narrow_scores = narrow.scores(&features, &answer);
        for (a, b) in wide_scores.iter().zip(&narrow_scores) {
            assert!((a - b).abs() < 1e-9 * (1.0 + a.abs()), "{a} vs {b}");
        }
        // One row, one dimension: score = f·a / (f² + λ), λ = damping · f².
        let one = Kernel::new(&[2.0], 1, 1, 0.25).unwrap();
        assert_eq!(one.lambda, 1.0);
        assert!((one.scores(&[2.0], &[3.0])[0] - 6.0 / 5.0).abs() < 1e-12);
    }
}
