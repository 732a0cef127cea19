//! Attention capture for AT2 (`Runtime::forward_attention`): the attention weight each new
//! row gives to ranges of cached positions, per layer and query head.
//!
//! It recomputes the weights from the rotated queries and keys, beside the pass's own attention
//! (`attention::attend`, whose output it does not change): a query's scores over every visible
//! key (the cache, then the new tokens up to its own), their softmax, and the mass on each
//! range. In `f32` like the pass, the sum over a range in `f64` in position order, each
//! (head, row) on its own, so the bits do not depend on the threads.

use super::exp::exp;
use super::team;
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

    /// Records `layer`: `q` is the rows' rotated queries `[rows, heads · head_dim]` (rows
    /// `q_stride` apart), `keys` the cache's `[cached, head_dim]` of each key/value head,
    /// `new_keys` the rows' own, `[kv_heads, rows, head_dim]`.
    pub fn record(
        &mut self,
        layer: usize,
        q: &[f32],
        q_stride: usize,
        keys: &[&[f32]],
        new_keys: &[f32],
        head_dim: usize,
    ) {
        let (heads, ranges, layers) = (self.heads, &self.ranges, self.layers);
        let scale = 1.0 / (head_dim as f32).sqrt();
        let cached = keys.first().map_or(0, |k| k.len() / head_dim);
        let group = heads / keys.len();
        let per_head = new_keys.len() / keys.len();
        let weights: Vec<Vec<f32>> = team::map(self.rows * heads, |index| {
            let (row, head) = (index / heads, index % heads);
            let kv_head = head / group;
            let query = &q[row * q_stride + head * head_dim..][..head_dim];
            let score = |key: &[f32]| -> f32 {
                query.iter().zip(key).map(|(a, b)| a * b).sum::<f32>() * scale
            };
            let own = &new_keys[kv_head * per_head..][..(row + 1) * head_dim];
            let scores: Vec<f32> = keys[kv_head]
                .chunks_exact(head_dim)
                .chain(own.chunks_exact(head_dim))
                .map(score)
                .collect();
            let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let exps: Vec<f32> = scores.iter().map(|s| exp(s - max)).collect();
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
        });
        let width = ranges.len();
        for (index, weights) in weights.into_iter().enumerate() {
            let (row, head) = (index / heads, index % heads);
            let at = ((row * layers + layer) * heads + head) * width;
            self.mass[at..at + width].copy_from_slice(&weights);
        }
    }
}
