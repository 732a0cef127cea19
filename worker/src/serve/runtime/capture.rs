//! Attention capture for AT2 (`Runtime::forward_attention`): the attention weight each new
//! row gives to ranges of cached positions, per layer and query head.
//!
//! It recomputes the weights from the rotated queries and keys, beside the pass's own attention
//! (`attention::attend`, whose output it does not change): a query's scores over every visible
//! key (the cache, then the new tokens up to its own), their softmax, and the mass on each
//! range. In `f32` like the pass, the sum over a range in `f64` in position order, each
//! (head, row) on its own, so the bits do not depend on the threads.

use rayon::prelude::*;
use std::ops::Range;

/// What a capturing pass collects.
#[derive(Clone, Debug)]
pub struct Capture {
    /// Cached positions whose weight is summed, each within the cache.
    pub ranges: Vec<Range<usize>>,
    /// `[rows, layers, heads, ranges]` row-major, filled layer by layer.
    pub mass: Vec<f32>,
    pub rows: usize,
    pub layers: usize,
    pub heads: usize,
}

impl Capture {
    pub fn new(ranges: Vec<Range<usize>>, rows: usize, layers: usize, heads: usize) -> Self {
        let mass = vec![0.0; rows * layers * heads * ranges.len()];
        Self {
            ranges,
            mass,
            rows,
            layers,
            heads,
        }
    }

    /// Records `layer`: `q` is the rows' rotated queries `[rows, heads · head_dim]`, `keys` the
    /// cache's `[cached, kv_dim]`, `new_keys` the rows' own `[rows, kv_dim]`.
    #[allow(clippy::too_many_arguments)]
    pub fn record(
        &mut self,
        layer: usize,
        q: &[f32],
        q_stride: usize,
        keys: &[f32],
        new_keys: &[f32],
        kv_dim: usize,
        head_dim: usize,
        kv_heads: usize,
    ) {
        let (heads, ranges, layers) = (self.heads, &self.ranges, self.layers);
        let scale = 1.0 / (head_dim as f32).sqrt();
        let cached = keys.len() / kv_dim;
        let group = heads / kv_heads;
        let weights: Vec<Vec<f32>> = (0..self.rows * heads)
            .into_par_iter()
            .map(|index| {
                let (row, head) = (index / heads, index % heads);
                let at = head / group * head_dim;
                let query = &q[row * q_stride + head * head_dim..][..head_dim];
                let score = |key: &[f32]| -> f32 {
                    query
                        .iter()
                        .zip(&key[at..at + head_dim])
                        .map(|(a, b)| a * b)
                        .sum::<f32>()
                        * scale
                };
                let scores: Vec<f32> = keys
                    .chunks_exact(kv_dim)
                    .chain(new_keys.chunks_exact(kv_dim).take(row + 1))
                    .map(score)
                    .collect();
                let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let exps: Vec<f32> = scores.iter().map(|s| (s - max).exp()).collect();
                let total: f32 = exps.iter().sum();
                ranges
                    .iter()
                    .map(|r| {
                        let sum: f64 = exps[r.start.min(cached)..r.end.min(cached)]
                            .iter()
                            .map(|&e| f64::from(e))
                            .sum();
                        (sum / f64::from(total)) as f32
                    })
                    .collect()
            })
            .collect();
        let width = ranges.len();
        for (index, weights) in weights.into_iter().enumerate() {
            let (row, head) = (index / heads, index % heads);
            let at = ((row * layers + layer) * heads + head) * width;
            self.mass[at..at + width].copy_from_slice(&weights);
        }
    }
}
