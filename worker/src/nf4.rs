//! NF4 storage for frozen base weights (QLoRA, Dettmers et al. 2023).
//!
//! A weight matrix is cut into blocks of [`BLOCK`] values. Each block keeps its absolute maximum
//! `c1` and one 4-bit code per value: the index of the nearest of the 16 NormalFloat levels
//! ([`LEVELS`]) to `w / c1`; two codes share a byte. The block maxima are themselves quantized
//! (double quantization): their mean is subtracted and each second-level block of
//! [`SCALE_BLOCK`] maxima stores one `f32` absmax `c2` and an `i8` per maximum.
//!
//! ```text
//! bytes per weight = 1/2 (codes) + 1/64 (i8 scale) + 4/(64·256) (c2) ≈ 0.516  (f32: 4)
//! w ≈ LEVELS[code] · (mean + q · c2 / 127)
//! ```
//!
//! The packed weight stays on the host and is expanded to `f32` only for the layer being run,
//! so the full-precision base is never held as a whole.

use anyhow::{ensure, Result};
use burn::tensor::{Device, Tensor, TensorData};
use rayon::prelude::*;
use std::sync::Arc;

/// Values per first-level block (one `c1` each).
pub const BLOCK: usize = 64;
/// First-level scales per second-level block (one `c2` each).
pub const SCALE_BLOCK: usize = 256;

/// The 16 NormalFloat quantile levels from the QLoRA paper (bitsandbytes `NF4` table).
pub const LEVELS: [f32; 16] = [
    -1.0,
    -0.696_192_8,
    -0.525_073_05,
    -0.394_917_5,
    -0.284_441_38,
    -0.184_773_43,
    -0.091_050_036,
    0.0,
    0.079_580_3,
    0.160_930_2,
    0.246_112_3,
    0.337_915_24,
    0.440_709_83,
    0.562_617,
    0.722_956_84,
    1.0,
];

/// A matrix stored as NF4 codes with double-quantized block scales.
#[derive(Debug, Clone)]
pub struct Nf4Matrix {
    shape: [usize; 2],
    /// Two codes per byte, low nibble first.
    codes: Arc<Vec<u8>>,
    /// First-level scales as `i8` offsets from `scale_mean`, in units of `c2 / 127`.
    scales: Arc<Vec<i8>>,
    /// One `c2` per [`SCALE_BLOCK`] first-level scales.
    scale_absmax: Arc<Vec<f32>>,
    scale_mean: f32,
}

impl Nf4Matrix {
    /// Quantizes a row-major matrix of `shape`.
    pub fn quantize(values: &[f32], shape: [usize; 2]) -> Result<Self> {
        ensure!(
            values.len() == shape[0] * shape[1],
            "NF4: {} values do not fill a {:?} matrix",
            values.len(),
            shape
        );
        let absmax: Vec<f32> = values
            .chunks(BLOCK)
            .map(|block| block.iter().fold(0f32, |m, v| m.max(v.abs())))
            .collect();
        let mut codes = vec![0u8; values.len().div_ceil(2)];
        for (i, value) in values.iter().enumerate() {
            let c1 = absmax[i / BLOCK];
            let normalized = if c1 > 0.0 { value / c1 } else { 0.0 };
            codes[i / 2] |= nearest_level(normalized) << (4 * (i % 2));
        }
        let scale_mean = absmax.iter().sum::<f32>() / absmax.len().max(1) as f32;
        let scale_absmax: Vec<f32> = absmax
            .chunks(SCALE_BLOCK)
            .map(|chunk| {
                chunk
                    .iter()
                    .fold(0f32, |m, c| m.max((c - scale_mean).abs()))
            })
            .collect();
        let scales = absmax
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let c2 = scale_absmax[i / SCALE_BLOCK];
                if c2 > 0.0 {
                    ((c - scale_mean) / c2 * 127.0).round().clamp(-127.0, 127.0) as i8
                } else {
                    0
                }
            })
            .collect();
        Ok(Self {
            shape,
            codes: Arc::new(codes),
            scales: Arc::new(scales),
            scale_absmax: Arc::new(scale_absmax),
            scale_mean,
        })
    }

    /// Shape of the matrix this stores.
    pub fn shape(&self) -> [usize; 2] {
        self.shape
    }

    /// The dequantized first-level scale of block `block`.
    pub fn block_scale(&self, block: usize) -> f32 {
        let c2 = self.scale_absmax[block / SCALE_BLOCK];
        self.scale_mean + f32::from(self.scales[block]) * c2 / 127.0
    }

    /// The codes, two per byte, low nibble first, in the matrix's row-major order.
    pub fn codes(&self) -> &[u8] {
        &self.codes
    }

    /// Every block's dequantized scale ([`Nf4Matrix::block_scale`]), in block order.
    pub fn block_scales(&self) -> Vec<f32> {
        (0..self.scales.len())
            .map(|b| self.block_scale(b))
            .collect()
    }

    /// Largest error the scale quantization can add to a block scale: half a step of `c2 / 127`.
    pub fn scale_error_bound(&self, block: usize) -> f32 {
        self.scale_absmax[block / SCALE_BLOCK] / 254.0
    }

    /// Expands the codes back to row-major `f32` values.
    pub fn dequantize(&self) -> Vec<f32> {
        // QLoRA expands every projection twice a step (forward, then the recomputation in
        // backward), so this runs on all cores, a byte (two codes) at a time, through each
        // block's 16 levels scaled once.
        const BLOCKS_PER_TASK: usize = 256;
        let len = self.shape[0] * self.shape[1];
        let mut out = vec![0f32; len];
        out.par_chunks_mut(BLOCK * BLOCKS_PER_TASK)
            .enumerate()
            .for_each(|(task, values)| {
                for (offset, block) in values.chunks_mut(BLOCK).enumerate() {
                    let index = task * BLOCKS_PER_TASK + offset;
                    let scale = self.block_scale(index);
                    let table = LEVELS.map(|level| level * scale);
                    let codes = &self.codes[index * BLOCK / 2..];
                    for (pair, byte) in block.chunks_mut(2).zip(codes) {
                        pair[0] = table[usize::from(byte & 0x0f)];
                        if let Some(high) = pair.get_mut(1) {
                            *high = table[usize::from(byte >> 4)];
                        }
                    }
                }
            });
        out
    }

    /// Dequantizes onto `device` as an untracked tensor.
    ///
    /// Output: `[rows, cols]`.
    pub fn to_tensor(&self, device: &Device) -> Tensor<2> {
        Tensor::from_data(TensorData::new(self.dequantize(), self.shape), device)
    }

    /// Bytes this matrix occupies: codes, `i8` scales, `f32` second-level scales and the mean.
    pub fn stored_bytes(&self) -> usize {
        self.codes.len() + self.scales.len() + 4 * self.scale_absmax.len() + 4
    }
}

/// Index of the NF4 level nearest to `x` (`x` in `[-1, 1]`).
fn nearest_level(x: f32) -> u8 {
    let mut best = 0;
    for (i, level) in LEVELS.iter().enumerate() {
        if (level - x).abs() < (LEVELS[best] - x).abs() {
            best = i;
        }
    }
    best as u8
}

/// Largest distance from any `x` in `[-1, 1]` to its nearest level: half the widest gap.
pub fn level_error_bound() -> f32 {
    LEVELS
        .windows(2)
        .map(|w| (w[1] - w[0]) / 2.0)
        .fold(0.0, f32::max)
}
