//! The seeded random projection `P: [d, k]` of TRAK, never stored: entry `(i, j)` is
//! `±1/√k` (Rademacher), its sign bit `j mod 64` of word `i·⌈k/64⌉ + ⌊j/64⌋` of the splitmix64
//! stream seeded with `seed` (bit set: `+`). Word `n` of that stream is
//! `mix(seed + (n + 1)·0x9E3779B97F4A7C15)` (wrapping), `mix` being splitmix64's finalizer, so
//! any row of `P` is generated on its own, in any order, on any machine.
//!
//! A Rademacher matrix preserves inner products in expectation (`E[PPᵀ] = I`, Johnson–
//! Lindenstrauss), which is all TRAK needs of it.

/// splitmix64's increment (the golden ratio in 64-bit fixed point).
const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// splitmix64's output function.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A projection to `dims` dimensions, seeded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Projection {
    pub dims: usize,
    pub seed: u64,
}

impl Projection {
    /// Row `i` of `P` as `±1` (the `1/√k` is applied once at the end), written into `row`
    /// (`[k]`).
    pub fn row_signs(&self, i: usize, row: &mut [f32]) {
        let words = self.dims.div_ceil(64) as u64;
        for (w, chunk) in row.chunks_mut(64).enumerate() {
            let n = i as u64 * words + w as u64;
            let bits = mix(self
                .seed
                .wrapping_add(n.wrapping_add(1).wrapping_mul(GOLDEN)));
            for (b, value) in chunk.iter_mut().enumerate() {
                *value = if (bits >> b) & 1 == 1 { 1.0 } else { -1.0 };
            }
        }
    }

    /// `Pᵀ g` for each gradient `g` (`[d]` each, all the same length): `[k]` each.
    ///
    /// Rows of `P` are generated once for all the gradients (block by block, one row at a
    /// time), so projecting many gradients together costs `d·k` sign bits once plus `d·k`
    /// multiply-adds per gradient; `P` is never held whole.
    pub fn project(&self, gradients: &[&[f32]]) -> Vec<Vec<f32>> {
        let k = self.dims;
        let mut out = vec![vec![0f64; k]; gradients.len()];
        let Some(d) = gradients.first().map(|g| g.len()) else {
            return Vec::new();
        };
        let mut row = vec![0f32; k];
        let mut acc = vec![vec![0f32; k]; gradients.len()];
        // f32 sums over blocks of rows, gathered into f64 between blocks: the sum over a
        // large d keeps its precision without an f64 inner loop.
        const BLOCK: usize = 256;
        for start in (0..d).step_by(BLOCK) {
            for i in start..(start + BLOCK).min(d) {
                self.row_signs(i, &mut row);
                for (g, a) in gradients.iter().zip(acc.iter_mut()) {
                    let x = g[i];
                    if x != 0.0 {
                        for (a, s) in a.iter_mut().zip(&row) {
                            *a += x * s;
                        }
                    }
                }
            }
            for (a, o) in acc.iter_mut().zip(out.iter_mut()) {
                for (a, o) in a.iter_mut().zip(o.iter_mut()) {
                    *o += f64::from(*a);
                    *a = 0.0;
                }
            }
        }
        let scale = 1.0 / (k as f64).sqrt();
        out.into_iter()
            .map(|o| o.into_iter().map(|v| (v * scale) as f32).collect())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_are_balanced_and_seeded() {
        let p = Projection {
            dims: 1000,
            seed: 7,
        };
        let mut row = vec![0f32; 1000];
        let mut plus = 0;
        for i in 0..100 {
            p.row_signs(i, &mut row);
            plus += row.iter().filter(|&&s| s > 0.0).count();
        }
        // 100,000 fair coins: 50,000 ± 5 standard deviations (158 each).
        assert!((49_200..=50_800).contains(&plus), "{plus} positive signs");
        let mut other = vec![0f32; 1000];
        Projection {
            dims: 1000,
            seed: 8,
        }
        .row_signs(0, &mut other);
        p.row_signs(0, &mut row);
        assert_ne!(row, other);
    }

    #[test]
    fn preserves_inner_products_roughly() {
        // Two fixed vectors of d = 512: their projected inner product is within a few
        // k^(-1/2) of the true one (relative to the norms).
        let d = 512;
        let a: Vec<f32> = (0..d).map(|i| ((i * 7 % 13) as f32 - 6.0) / 6.0).collect();
        let b: Vec<f32> = (0..d)
            .map(|i| ((i * 5 % 11) as f32 - 5.0) / 5.0 + a[i])
            .collect();
        let dot = |x: &[f32], y: &[f32]| x.iter().zip(y).map(|(x, y)| x * y).sum::<f32>();
        let p = Projection {
            dims: 4096,
            seed: 1,
        };
        let projected = p.project(&[&a, &b]);
        let exact = dot(&a, &b) / (dot(&a, &a) * dot(&b, &b)).sqrt();
        let approx = dot(&projected[0], &projected[1])
            / (dot(&projected[0], &projected[0]) * dot(&projected[1], &projected[1])).sqrt();
        assert!((exact - approx).abs() < 0.05, "cosine {exact} vs {approx}");
    }
}
