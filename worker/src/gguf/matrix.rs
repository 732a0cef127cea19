//! A weight matrix kept in its GGUF block format (QLoRA's frozen base over a quantized
//! checkpoint): the file's own bytes, decoded to `f32` only while a product needs them.
//!
//! ```text
//! [rows, cols] = [d_out, d_in]   (Hugging Face layout; each row is whole blocks along d_in)
//! Q4_1: 20 bytes / 32 weights (5 bits a weight)   Q8_0: 34 / 32 (8.5)   Q4_0: 18 / 32 (4.5)
//! ```
//!
//! The values decoded are exactly those [`GgmlType::dequantize`] gives the `f32` base (one
//! decoder for both), so QLoRA over these blocks and LoRA over the decoded checkpoint start from
//! the same weights.

use super::GgmlType;
use anyhow::{ensure, Result};
use rayon::prelude::*;
use std::sync::Arc;

/// A `[rows, cols]` matrix as whole rows of ggml blocks.
#[derive(Debug, Clone)]
pub struct BlockMatrix {
    ggml_type: GgmlType,
    rows: usize,
    cols: usize,
    /// Row-major: row `r` is bytes `r·row_bytes .. (r+1)·row_bytes`.
    bytes: Arc<Vec<u8>>,
}

impl BlockMatrix {
    /// Wraps `bytes` of `ggml_type` holding a `[rows, cols]` matrix; refuses a float type, rows
    /// that are not whole blocks and a byte count that does not match.
    pub fn new(ggml_type: GgmlType, bytes: Vec<u8>, rows: usize, cols: usize) -> Result<Self> {
        ensure!(
            ggml_type.is_block_quantized(),
            "{ggml_type} is not a block-quantized type"
        );
        let block = ggml_type.block_len()?;
        ensure!(
            cols.is_multiple_of(block),
            "{ggml_type} rows need whole blocks of {block} values, but a row has {cols}"
        );
        let expected = ggml_type.bytes_for(rows * cols)?;
        ensure!(
            bytes.len() == expected,
            "a [{rows}, {cols}] {ggml_type} matrix takes {expected} bytes, not {}",
            bytes.len()
        );
        Ok(Self {
            ggml_type,
            rows,
            cols,
            bytes: Arc::new(bytes),
        })
    }

    /// `[rows, cols]`.
    pub fn shape(&self) -> [usize; 2] {
        [self.rows, self.cols]
    }

    pub fn ggml_type(&self) -> GgmlType {
        self.ggml_type
    }

    /// Bytes of one row.
    fn row_bytes(&self) -> usize {
        self.bytes.len() / self.rows.max(1)
    }

    /// The rows reordered: row `i` of the result is row `order[i]` of `self` (`order` a
    /// permutation of the rows).
    pub fn permute_rows(&self, order: &[usize]) -> Result<Self> {
        ensure!(
            order.len() == self.rows && order.iter().all(|&r| r < self.rows),
            "a row order for {} rows must name each of them",
            self.rows
        );
        let row = self.row_bytes();
        let bytes = order
            .iter()
            .flat_map(|&r| &self.bytes[r * row..(r + 1) * row])
            .copied()
            .collect();
        Self::new(self.ggml_type, bytes, self.rows, self.cols)
    }

    /// The whole matrix decoded to row-major `f32` `[rows, cols]`, rows in parallel on
    /// rayon's pool (QLoRA decodes every projection twice a step: forward and backward).
    pub fn dequantize(&self) -> Vec<f32> {
        const ROWS_PER_TASK: usize = 16;
        let mut out = vec![0f32; self.rows * self.cols];
        if self.cols == 0 {
            return out;
        }
        let row = self.row_bytes();
        out.par_chunks_mut(self.cols * ROWS_PER_TASK)
            .zip(self.bytes.par_chunks(row * ROWS_PER_TASK))
            .for_each(|(values, bytes)| {
                self.ggml_type
                    .dequantize_into(bytes, values)
                    .expect("checked by new: whole blocks, matching lengths");
            });
        out
    }

    /// Bytes the blocks occupy.
    pub fn stored_bytes(&self) -> usize {
        self.bytes.len()
    }
}
