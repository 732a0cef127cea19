//! `y = x·Wᵀ` for a batch of token rows against one weight matrix, parallel over the weight's
//! rows. Tokens are taken in tiles whose activations stay in L1 while a task's weight rows (in
//! L2) run over them: without tiles, a long prompt's activations are streamed from L2 or memory
//! once per weight row.

use super::kernels::{rows_dot, Activations, Isa};
use super::quant::QMatrix;
use rayon::prelude::*;

/// Weight rows per parallel task, so each thread gets a few tasks to balance. A multiple of 4,
/// so the Q4_1 kernel's four-row groups are full but in a matrix's last task. (The products'
/// bits depend on none of this: each token's sum has one order, `kernels`' module docs.)
fn rows_per_task(rows: usize) -> usize {
    rows.div_ceil(rayon::current_num_threads() * 4)
        .next_multiple_of(4)
        .max(4)
}

/// Activation bytes of a token tile (about half of a core's L1 data cache).
const TILE_BYTES: usize = 16 << 10;

/// - x: `[tokens, w.cols]`
/// - output: `[tokens, w.rows]`
pub fn matmul(isa: Isa, w: &QMatrix, x: &[f32]) -> Vec<f32> {
    debug_assert_eq!(x.len() % w.cols, 0);
    let tokens = x.len() / w.cols;
    let acts = Activations::new(w.format(), x, w.cols);
    // Each task owns whole rows of the transposed output `[w.rows, tokens]`.
    let per_task = rows_per_task(w.rows);
    let tile = (TILE_BYTES / acts.bytes_per_token(w.cols)).max(4);
    let mut transposed = vec![0.0; w.rows * tokens];
    transposed
        .par_chunks_mut(per_task * tokens)
        .enumerate()
        .for_each(|(task, out)| {
            let first = task * per_task;
            let rows = first..first + out.len() / tokens;
            for start in (0..tokens).step_by(tile) {
                let end = (start + tile).min(tokens);
                let x = acts.tokens(start..end, w.cols);
                rows_dot(isa, w, rows.clone(), &x, end - start, out, tokens, start);
            }
        });
    if tokens == 1 {
        return transposed;
    }
    let mut y = vec![0.0; tokens * w.rows];
    for (row, values) in transposed.chunks_exact(tokens).enumerate() {
        for (t, &v) in values.iter().enumerate() {
            y[t * w.rows + row] = v;
        }
    }
    y
}
