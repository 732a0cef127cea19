//! ggml's tensor types and their block dequantizers (`ggml-quants.c`'s `dequantize_row_*`).
//!
//! A quantized row is cut into blocks of [`GgmlType::block_len`] values, each stored in
//! [`GgmlType::block_bytes`] bytes: `f16` scales first, then packed codes. Scalar formulas:
//!
//! ```text
//! Q8_0  w = d·q                    q: i8
//! Q4_0  w = d·(q − 8)              q: 4 bits
//! Q4_1  w = d·q + m                q: 4 bits
//! Q5_0  w = d·(q − 16)             q: 4 low bits + 1 high bit from `qh`
//! Q5_1  w = d·q + m                q: as Q5_0
//! Q4_K  w = d·sc·q − dmin·mn       8 sub-blocks of 32, 6-bit sc/mn packed in 12 bytes
//! Q5_K  w = d·sc·q − dmin·mn       as Q4_K with a fifth bit from `qh`
//! Q6_K  w = d·sc·(q − 32)          16 sub-blocks of 16, sc: i8, q: 4 low + 2 high bits
//! ```

use anyhow::{bail, ensure, Result};
use half::{bf16, f16};
use std::fmt;

/// Values per super-block of the K-quants.
const QK_K: usize = 256;

/// A ggml tensor type, by its id in the GGUF file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GgmlType {
    F32,
    F16,
    Bf16,
    Q4_0,
    Q4_1,
    Q5_0,
    Q5_1,
    Q8_0,
    Q4K,
    Q5K,
    Q6K,
    /// A type this worker cannot decode: its id and, when known, ggml's name for it.
    Other(u32),
}

impl GgmlType {
    /// The type with GGUF id `id`.
    pub fn from_id(id: u32) -> Self {
        match id {
            0 => Self::F32,
            1 => Self::F16,
            2 => Self::Q4_0,
            3 => Self::Q4_1,
            6 => Self::Q5_0,
            7 => Self::Q5_1,
            8 => Self::Q8_0,
            12 => Self::Q4K,
            13 => Self::Q5K,
            14 => Self::Q6K,
            30 => Self::Bf16,
            other => Self::Other(other),
        }
    }

    /// The GGUF id of this type.
    pub fn id(self) -> u32 {
        match self {
            Self::F32 => 0,
            Self::F16 => 1,
            Self::Q4_0 => 2,
            Self::Q4_1 => 3,
            Self::Q5_0 => 6,
            Self::Q5_1 => 7,
            Self::Q8_0 => 8,
            Self::Q4K => 12,
            Self::Q5K => 13,
            Self::Q6K => 14,
            Self::Bf16 => 30,
            Self::Other(id) => id,
        }
    }

    /// Values per block.
    pub fn block_len(self) -> Result<usize> {
        Ok(match self {
            Self::F32 | Self::F16 | Self::Bf16 => 1,
            Self::Q4_0 | Self::Q4_1 | Self::Q5_0 | Self::Q5_1 | Self::Q8_0 => 32,
            Self::Q4K | Self::Q5K | Self::Q6K => QK_K,
            Self::Other(_) => bail!("{self} tensors are not supported"),
        })
    }

    /// Bytes per block.
    pub fn block_bytes(self) -> Result<usize> {
        Ok(match self {
            Self::F32 => 4,
            Self::F16 | Self::Bf16 => 2,
            Self::Q4_0 => 18,
            Self::Q4_1 => 20,
            Self::Q5_0 => 22,
            Self::Q5_1 => 24,
            Self::Q8_0 => 34,
            Self::Q4K => 144,
            Self::Q5K => 176,
            Self::Q6K => 210,
            Self::Other(_) => bail!("{self} tensors are not supported"),
        })
    }

    /// Bytes that `values` values of this type occupy (`values` a multiple of the block).
    pub fn bytes_for(self, values: usize) -> Result<usize> {
        let block = self.block_len()?;
        ensure!(
            values.is_multiple_of(block),
            "{values} values do not fill whole {self} blocks of {block}"
        );
        Ok(values / block * self.block_bytes()?)
    }

    /// Whether tensors of this type are stored in quantized blocks (not `f32`, `f16` or
    /// `bf16` values).
    pub fn is_block_quantized(self) -> bool {
        !matches!(self, Self::F32 | Self::F16 | Self::Bf16 | Self::Other(_))
    }

    /// Decodes `bytes` (whole blocks of this type) into `f32` values.
    pub fn dequantize(self, bytes: &[u8]) -> Result<Vec<f32>> {
        let block_bytes = self.block_bytes()?;
        let mut out = vec![0f32; bytes.len() / block_bytes * self.block_len()?];
        self.dequantize_into(bytes, &mut out)?;
        Ok(out)
    }

    /// Decodes `bytes` (whole blocks of this type) into `out`, which must hold exactly as many
    /// values as the blocks do.
    pub fn dequantize_into(self, bytes: &[u8], out: &mut [f32]) -> Result<()> {
        let (block_bytes, block_len) = (self.block_bytes()?, self.block_len()?);
        ensure!(
            bytes.len().is_multiple_of(block_bytes),
            "{} bytes are not whole {self} blocks of {block_bytes} bytes",
            bytes.len()
        );
        ensure!(
            out.len() == bytes.len() / block_bytes * block_len,
            "{} bytes of {self} hold {} values, not {}",
            bytes.len(),
            bytes.len() / block_bytes * block_len,
            out.len()
        );
        let blocks = bytes
            .chunks_exact(block_bytes)
            .zip(out.chunks_exact_mut(block_len));
        match self {
            Self::F32 => {
                blocks.for_each(|(b, y)| y[0] = f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            }
            Self::F16 => blocks.for_each(|(b, y)| y[0] = half(b, 0)),
            Self::Bf16 => {
                blocks.for_each(|(b, y)| y[0] = bf16::from_le_bytes([b[0], b[1]]).to_f32())
            }
            Self::Q8_0 => blocks.for_each(|(b, y)| q8_0(b, y)),
            Self::Q4_0 => blocks.for_each(|(b, y)| q4(b, y, None)),
            Self::Q4_1 => blocks.for_each(|(b, y)| q4(b, y, Some(half(b, 2)))),
            Self::Q5_0 => blocks.for_each(|(b, y)| q5(b, y, None)),
            Self::Q5_1 => blocks.for_each(|(b, y)| q5(b, y, Some(half(b, 2)))),
            Self::Q4K => blocks.for_each(|(b, y)| q_k(b, y, false)),
            Self::Q5K => blocks.for_each(|(b, y)| q_k(b, y, true)),
            Self::Q6K => blocks.for_each(|(b, y)| q6_k(b, y)),
            Self::Other(_) => unreachable!("block_bytes refused it"),
        }
        Ok(())
    }
}

impl fmt::Display for GgmlType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Self::F32 => "F32",
            Self::F16 => "F16",
            Self::Bf16 => "BF16",
            Self::Q4_0 => "Q4_0",
            Self::Q4_1 => "Q4_1",
            Self::Q5_0 => "Q5_0",
            Self::Q5_1 => "Q5_1",
            Self::Q8_0 => "Q8_0",
            Self::Q4K => "Q4_K",
            Self::Q5K => "Q5_K",
            Self::Q6K => "Q6_K",
            Self::Other(id) => {
                // ggml's names for the types we do not decode, so an error says what the file has.
                let known = [
                    (4, "Q4_2 (removed)"),
                    (5, "Q4_3 (removed)"),
                    (9, "Q8_1"),
                    (10, "Q2_K"),
                    (11, "Q3_K"),
                    (15, "Q8_K"),
                    (16, "IQ2_XXS"),
                    (17, "IQ2_XS"),
                    (18, "IQ3_XXS"),
                    (19, "IQ1_S"),
                    (20, "IQ4_NL"),
                    (21, "IQ3_S"),
                    (22, "IQ2_S"),
                    (23, "IQ4_XS"),
                    (24, "I8"),
                    (25, "I16"),
                    (26, "I32"),
                    (27, "I64"),
                    (28, "F64"),
                    (29, "IQ1_M"),
                    (34, "TQ1_0"),
                    (35, "TQ2_0"),
                    (39, "MXFP4"),
                ];
                return match known.iter().find(|(known, _)| known == id) {
                    Some((_, name)) => write!(f, "{name} (type {id})"),
                    None => write!(f, "ggml type {id}"),
                };
            }
        };
        f.write_str(name)
    }
}

fn half(bytes: &[u8], at: usize) -> f32 {
    f16::from_le_bytes([bytes[at], bytes[at + 1]]).to_f32()
}

fn q8_0(b: &[u8], y: &mut [f32]) {
    let d = half(b, 0);
    for (y, &q) in y.iter_mut().zip(&b[2..34]) {
        *y = d * f32::from(q as i8);
    }
}

/// Q4_0 (`min = None`: codes centred on 8) or Q4_1. The low nibbles hold values 0..16, the
/// high nibbles 16..32.
fn q4(b: &[u8], y: &mut [f32], min: Option<f32>) {
    let d = half(b, 0);
    let qs = &b[b.len() - 16..];
    let (m, offset) = match min {
        Some(m) => (m, 0.0),
        None => (0.0, 8.0),
    };
    let (low, high) = y.split_at_mut(16);
    for ((l, h), &q) in low.iter_mut().zip(high).zip(qs) {
        *l = d * (f32::from(q & 0x0f) - offset) + m;
        *h = d * (f32::from(q >> 4) - offset) + m;
    }
}

/// Q5_0 or Q5_1: as [`q4`], with bit `j` of `qh` the fifth bit of value `j`.
fn q5(b: &[u8], y: &mut [f32], min: Option<f32>) {
    let d = half(b, 0);
    let at = if min.is_some() { 4 } else { 2 };
    let qh = u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
    let qs = &b[at + 4..at + 20];
    let value = |q: u32| match min {
        Some(m) => d * q as f32 + m,
        None => d * (q as f32 - 16.0),
    };
    for j in 0..16 {
        y[j] = value(u32::from(qs[j] & 0x0f) | ((qh >> j) & 1) << 4);
        y[j + 16] = value(u32::from(qs[j] >> 4) | ((qh >> (j + 16)) & 1) << 4);
    }
}

/// Scale and minimum of sub-block `j` (0..8) from the 12 packed bytes of Q4_K/Q5_K: six bits
/// each, the first four sub-blocks in the low bits of bytes 0..8, the last four split over
/// bytes 8..12 and the top two bits of bytes 0..8.
fn scale_min_k4(j: usize, scales: &[u8]) -> (f32, f32) {
    let (sc, m) = if j < 4 {
        (scales[j] & 63, scales[j + 4] & 63)
    } else {
        (
            (scales[j + 4] & 0x0f) | ((scales[j - 4] >> 6) << 4),
            (scales[j + 4] >> 4) | ((scales[j] >> 6) << 4),
        )
    };
    (f32::from(sc), f32::from(m))
}

/// Q4_K (`five_bits = false`) or Q5_K: `d`, `dmin`, 12 scale bytes, for Q5_K 32 bytes `qh`,
/// then 128 bytes of codes. Each 32 code bytes hold two sub-blocks: the low nibbles one, the
/// high nibbles the next; Q5_K's sub-block `s` takes its fifth bits from bit `s` of `qh[l]`.
fn q_k(b: &[u8], y: &mut [f32], five_bits: bool) {
    let (d, dmin) = (half(b, 0), half(b, 2));
    let scales = &b[4..16];
    let (qh, codes) = if five_bits {
        (Some(&b[16..48]), &b[48..176])
    } else {
        (None, &b[16..144])
    };
    for (chunk, (qs, y)) in codes
        .chunks_exact(32)
        .zip(y.chunks_exact_mut(64))
        .enumerate()
    {
        for ((sub, shift), y) in [(2 * chunk, 0), (2 * chunk + 1, 4)]
            .into_iter()
            .zip(y.chunks_exact_mut(32))
        {
            let (sc, m) = scale_min_k4(sub, scales);
            let (scale, min) = (d * sc, dmin * m);
            for (l, (y, &q)) in y.iter_mut().zip(qs).enumerate() {
                let high = qh.map_or(0, |qh| ((qh[l] >> sub) & 1) << 4);
                *y = scale * f32::from(((q >> shift) & 0x0f) | high) - min;
            }
        }
    }
}

/// Q6_K: 128 bytes `ql` (low nibbles), 64 bytes `qh` (two high bits each), 16 `i8` scales,
/// then `d`. Each half (128 values) uses 64 `ql`, 32 `qh` and 8 scales.
fn q6_k(b: &[u8], y: &mut [f32]) {
    let d = half(b, 208);
    for half_block in 0..2 {
        let ql = &b[64 * half_block..64 * half_block + 64];
        let qh = &b[128 + 32 * half_block..128 + 32 * half_block + 32];
        let sc = &b[192 + 8 * half_block..192 + 8 * half_block + 8];
        let y = &mut y[128 * half_block..128 * half_block + 128];
        for l in 0..32 {
            let is = l / 16;
            let codes = [
                (ql[l] & 0x0f) | ((qh[l] & 3) << 4),
                (ql[l + 32] & 0x0f) | (((qh[l] >> 2) & 3) << 4),
                (ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4),
                (ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4),
            ];
            for (quarter, code) in codes.into_iter().enumerate() {
                let scale = f32::from(sc[is + 2 * quarter] as i8);
                y[l + 32 * quarter] = d * scale * (f32::from(code) - 32.0);
            }
        }
    }
}
