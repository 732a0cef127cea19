//! Weight matrices as the runtime keeps them: `f32`, or ggml's blocks of 32 values that stay
//! packed in memory and are decoded inside the dot product ([`super::kernels`]).
//!
//! ```text
//! Q8_0  34 bytes / 32 weights   w = d·q          d: f16, q: i8
//! Q4_1  20 bytes / 32 weights   w = d·q + m      d, m: f16, q: 4 bits (low nibbles are
//!                                                values 0..16, high nibbles 16..32)
//! ```
//!
//! The blocks are byte-for-byte those of a GGUF file, so a GGUF tensor already in the format
//! asked for is taken as it is (no second rounding). A matrix is `[rows, cols]` with each row
//! (one output of a projection, Hugging Face layout `[d_out, d_in]`) cut into blocks along
//! `cols`.

use crate::gguf::GgmlType;
use anyhow::{ensure, Result};
use half::f16;

/// Values per quantized block.
pub const BLOCK: usize = 32;

/// How the runtime stores its weight matrices (norms always stay `f32`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WeightFormat {
    /// Dense `f32`: exact, four bytes per weight.
    F32,
    /// ggml's Q8_0: 8.5 bits per weight.
    Q8_0,
    /// ggml's Q4_1: 5 bits per weight.
    Q4,
}

impl WeightFormat {
    /// The GGUF type whose blocks are this format's.
    pub fn ggml_type(self) -> GgmlType {
        match self {
            WeightFormat::F32 => GgmlType::F32,
            WeightFormat::Q8_0 => GgmlType::Q8_0,
            WeightFormat::Q4 => GgmlType::Q4_1,
        }
    }
}

/// ggml's `block_q8_0`.
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(C)]
pub struct BlockQ8_0 {
    /// `f16` bits of the scale.
    pub d: u16,
    pub qs: [i8; BLOCK],
}

/// ggml's `block_q4_1`.
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(C)]
pub struct BlockQ4_1 {
    /// `f16` bits of the scale.
    pub d: u16,
    /// `f16` bits of the minimum.
    pub m: u16,
    /// Value `j` in the low nibble of byte `j`, value `j + 16` in its high nibble.
    pub qs: [u8; BLOCK / 2],
}

/// A block of activations quantized for an integer dot product (ggml's `block_q8_1`, with
/// `f32` scales): `x ≈ d·q`, and `s = d·Σq` for the minimum term of Q4_1.
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(C)]
pub struct BlockQ8 {
    pub d: f32,
    pub s: f32,
    pub qs: [i8; BLOCK],
}

/// A matrix's values in its storage format.
#[derive(Clone, Debug)]
pub enum Storage {
    F32(Vec<f32>),
    Q8_0(Vec<BlockQ8_0>),
    Q4_1(Vec<BlockQ4_1>),
}

/// A weight matrix `[rows, cols]`, row-major.
#[derive(Clone, Debug)]
pub struct QMatrix {
    pub rows: usize,
    pub cols: usize,
    pub storage: Storage,
}

fn half_to_f32(bits: u16) -> f32 {
    f16::from_bits(bits).to_f32()
}

fn half_bits(value: f32) -> u16 {
    f16::from_f32(value).to_bits()
}

impl QMatrix {
    /// Quantizes row-major `values` (`[rows, cols]`) into `format`, as llama.cpp's reference
    /// quantizers do (`quantize_row_q8_0_ref`, `quantize_row_q4_1_ref`).
    pub fn quantize(
        values: &[f32],
        rows: usize,
        cols: usize,
        format: WeightFormat,
    ) -> Result<Self> {
        ensure!(
            values.len() == rows * cols,
            "{} values do not make a [{rows}, {cols}] matrix",
            values.len()
        );
        if format != WeightFormat::F32 {
            ensure!(
                cols.is_multiple_of(BLOCK),
                "{format:?} needs rows of whole blocks of {BLOCK}, but rows have {cols} values"
            );
        }
        let blocks = values.chunks_exact(BLOCK);
        let storage = match format {
            WeightFormat::F32 => Storage::F32(values.to_vec()),
            WeightFormat::Q8_0 => Storage::Q8_0(blocks.map(quantize_q8_0).collect()),
            WeightFormat::Q4 => Storage::Q4_1(blocks.map(quantize_q4_1).collect()),
        };
        Ok(Self {
            rows,
            cols,
            storage,
        })
    }

    /// A matrix from a GGUF tensor's stored bytes (`[rows, cols]` of `ggml_type`), when that
    /// type is one this runtime computes with; `None` otherwise.
    pub fn from_ggml(ggml_type: GgmlType, bytes: &[u8], rows: usize, cols: usize) -> Option<Self> {
        if ggml_type.bytes_for(rows * cols).ok()? != bytes.len() {
            return None;
        }
        let storage = match ggml_type {
            GgmlType::F32 => Storage::F32(
                bytes
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect(),
            ),
            GgmlType::Q8_0 => Storage::Q8_0(
                bytes
                    .chunks_exact(34)
                    .map(|b| BlockQ8_0 {
                        d: u16::from_le_bytes([b[0], b[1]]),
                        qs: std::array::from_fn(|i| b[2 + i] as i8),
                    })
                    .collect(),
            ),
            GgmlType::Q4_1 => Storage::Q4_1(
                bytes
                    .chunks_exact(20)
                    .map(|b| BlockQ4_1 {
                        d: u16::from_le_bytes([b[0], b[1]]),
                        m: u16::from_le_bytes([b[2], b[3]]),
                        qs: std::array::from_fn(|i| b[4 + i]),
                    })
                    .collect(),
            ),
            _ => return None,
        };
        Some(Self {
            rows,
            cols,
            storage,
        })
    }

    /// The blocks as a GGUF file stores them (the inverse of [`QMatrix::from_ggml`]).
    pub fn ggml_bytes(&self) -> Vec<u8> {
        match &self.storage {
            Storage::F32(v) => v.iter().flat_map(|v| v.to_le_bytes()).collect(),
            Storage::Q8_0(v) => v
                .iter()
                .flat_map(|b| b.d.to_le_bytes().into_iter().chain(b.qs.map(|q| q as u8)))
                .collect(),
            Storage::Q4_1(v) => v
                .iter()
                .flat_map(|b| {
                    let scales = [b.d.to_le_bytes(), b.m.to_le_bytes()];
                    scales.into_iter().flatten().chain(b.qs)
                })
                .collect(),
        }
    }

    /// The format the values are stored in.
    pub fn format(&self) -> WeightFormat {
        match self.storage {
            Storage::F32(_) => WeightFormat::F32,
            Storage::Q8_0(_) => WeightFormat::Q8_0,
            Storage::Q4_1(_) => WeightFormat::Q4,
        }
    }

    /// Resident bytes.
    pub fn bytes(&self) -> usize {
        match &self.storage {
            Storage::F32(v) => std::mem::size_of_val(v.as_slice()),
            Storage::Q8_0(v) => std::mem::size_of_val(v.as_slice()),
            Storage::Q4_1(v) => std::mem::size_of_val(v.as_slice()),
        }
    }

    /// Blocks (or values, for `f32`) per row.
    fn row_units(&self) -> usize {
        match self.storage {
            Storage::F32(_) => self.cols,
            _ => self.cols / BLOCK,
        }
    }

    /// The rows reordered: row `i` of the result is row `order[i]` of `self`.
    pub fn permute_rows(&self, order: &[usize]) -> Self {
        let units = self.row_units();
        fn gather<T: Copy>(v: &[T], order: &[usize], units: usize) -> Vec<T> {
            order
                .iter()
                .flat_map(|&r| &v[r * units..(r + 1) * units])
                .copied()
                .collect()
        }
        let storage = match &self.storage {
            Storage::F32(v) => Storage::F32(gather(v, order, units)),
            Storage::Q8_0(v) => Storage::Q8_0(gather(v, order, units)),
            Storage::Q4_1(v) => Storage::Q4_1(gather(v, order, units)),
        };
        Self {
            rows: order.len(),
            cols: self.cols,
            storage,
        }
    }

    /// Matrices of the same format and width stacked row-wise (fused projections such as
    /// `q|k|v`, so one pass over the activations serves all three).
    pub fn stack(parts: Vec<QMatrix>) -> Result<Self> {
        let first = parts.first().expect("at least one matrix to stack");
        let (cols, format) = (first.cols, first.format());
        ensure!(
            parts.iter().all(|p| p.cols == cols && p.format() == format),
            "stacked matrices must share their width and format"
        );
        let rows = parts.iter().map(|p| p.rows).sum();
        let mut storage = match format {
            WeightFormat::F32 => Storage::F32(Vec::new()),
            WeightFormat::Q8_0 => Storage::Q8_0(Vec::new()),
            WeightFormat::Q4 => Storage::Q4_1(Vec::new()),
        };
        for part in parts {
            match (&mut storage, part.storage) {
                (Storage::F32(all), Storage::F32(v)) => all.extend(v),
                (Storage::Q8_0(all), Storage::Q8_0(v)) => all.extend(v),
                (Storage::Q4_1(all), Storage::Q4_1(v)) => all.extend(v),
                _ => unreachable!("formats checked above"),
            }
        }
        Ok(Self {
            rows,
            cols,
            storage,
        })
    }

    /// Row `row` decoded to `f32` into `out` (`cols` values): an embedding lookup.
    pub fn dequantize_row(&self, row: usize, out: &mut [f32]) {
        let units = self.row_units();
        let range = row * units..(row + 1) * units;
        match &self.storage {
            Storage::F32(v) => out.copy_from_slice(&v[range]),
            Storage::Q8_0(v) => {
                for (block, out) in v[range].iter().zip(out.chunks_exact_mut(BLOCK)) {
                    let d = half_to_f32(block.d);
                    for (o, &q) in out.iter_mut().zip(&block.qs) {
                        *o = d * f32::from(q);
                    }
                }
            }
            Storage::Q4_1(v) => {
                for (block, out) in v[range].iter().zip(out.chunks_exact_mut(BLOCK)) {
                    let (d, m) = (half_to_f32(block.d), half_to_f32(block.m));
                    let (low, high) = out.split_at_mut(BLOCK / 2);
                    for ((l, h), &q) in low.iter_mut().zip(high).zip(&block.qs) {
                        *l = d * f32::from(q & 0x0f) + m;
                        *h = d * f32::from(q >> 4) + m;
                    }
                }
            }
        }
    }

    /// The whole matrix decoded to `f32`, row-major `[rows, cols]`.
    pub fn dequantize(&self) -> Vec<f32> {
        let mut out = vec![0.0; self.rows * self.cols];
        for (row, values) in out.chunks_exact_mut(self.cols).enumerate() {
            self.dequantize_row(row, values);
        }
        out
    }
}

fn quantize_q8_0(x: &[f32]) -> BlockQ8_0 {
    let amax = x.iter().fold(0.0f32, |a, v| a.max(v.abs()));
    let d = amax / 127.0;
    let id = if d > 0.0 { 1.0 / d } else { 0.0 };
    BlockQ8_0 {
        d: half_bits(d),
        qs: std::array::from_fn(|i| (x[i] * id).round() as i8),
    }
}

fn quantize_q4_1(x: &[f32]) -> BlockQ4_1 {
    let min = x.iter().copied().fold(f32::INFINITY, f32::min);
    let max = x.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let d = (max - min) / 15.0;
    let id = if d > 0.0 { 1.0 / d } else { 0.0 };
    let code = |v: f32| (((v - min) * id + 0.5) as u8).min(15);
    BlockQ4_1 {
        d: half_bits(d),
        m: half_bits(min),
        qs: std::array::from_fn(|j| code(x[j]) | (code(x[j + BLOCK / 2]) << 4)),
    }
}

/// Quantizes one row of activations (`cols` a multiple of [`BLOCK`]) into `out`.
pub fn quantize_activations(x: &[f32], out: &mut [BlockQ8]) {
    for (block, x) in out.iter_mut().zip(x.chunks_exact(BLOCK)) {
        let amax = x.iter().fold(0.0f32, |a, v| a.max(v.abs()));
        let d = amax / 127.0;
        let id = if d > 0.0 { 1.0 / d } else { 0.0 };
        let qs: [i8; BLOCK] = std::array::from_fn(|i| (x[i] * id).round() as i8);
        let sum: i32 = qs.iter().map(|&q| i32::from(q)).sum();
        *block = BlockQ8 {
            d,
            s: d * sum as f32,
            qs,
        };
    }
}

/// The scales of a block as `f32`, for the scalar kernels.
pub(super) fn scales_q4_1(block: &BlockQ4_1) -> (f32, f32) {
    (half_to_f32(block.d), half_to_f32(block.m))
}

pub(super) fn scale_q8_0(block: &BlockQ8_0) -> f32 {
    half_to_f32(block.d)
}
