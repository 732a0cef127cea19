//! Weight matrices as the runtime keeps them: `f32`, or ggml's blocks of 32 values that stay
//! packed in memory and are decoded inside the dot product ([`super::kernels`]).
//!
//! ```text
//! Q8_0  34 bytes / 32 weights   w = d·q          d: f16, q: i8
//! Q4_1  20 bytes / 32 weights   w = d·q + m      d, m: f16, q: 4 bits (low nibbles are
//!                                                values 0..16, high nibbles 16..32)
//! ```
//!
//! The blocks hold the values of a GGUF file's blocks, so a GGUF tensor already in the format
//! asked for is taken as it is (no second rounding). A matrix is `[rows, cols]` with each row
//! (one output of a projection, Hugging Face layout `[d_out, d_in]`) cut into blocks along
//! `cols`. Both are regrouped at load ([`GroupQ8_0`], [`GroupQ4_1`]): the same block of sixteen
//! rows side by side, so that one integer instruction multiplies sixteen rows' codes with four
//! of a token's activations and the kernel needs no horizontal sums ([`super::kernels`]).

use super::nf4::Nf4Stack;
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
    /// The seven projections in QLoRA's NF4 ([`super::nf4`]), 4.5 bits per weight, the
    /// embeddings and head as the checkpoint stores them (`f32` for a type the runtime does not
    /// compute with).
    Nf4,
}

impl WeightFormat {
    /// The format's name, as `--weights` takes it and as an attribution's method names the
    /// weights it was computed on.
    pub fn name(self) -> &'static str {
        match self {
            WeightFormat::F32 => "f32",
            WeightFormat::Q8_0 => "q8",
            WeightFormat::Q4 => "q4",
            WeightFormat::Nf4 => "nf4",
        }
    }

    /// The GGUF type whose blocks are this format's (NF4 has none).
    pub fn ggml_type(self) -> Option<GgmlType> {
        match self {
            WeightFormat::F32 => Some(GgmlType::F32),
            WeightFormat::Q8_0 => Some(GgmlType::Q8_0),
            WeightFormat::Q4 => Some(GgmlType::Q4_1),
            WeightFormat::Nf4 => None,
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

/// Rows of a Q4_1 matrix kept side by side in one [`GroupQ4_1`].
pub const GROUP_ROWS: usize = 16;

/// One block (32 values) of [`GROUP_ROWS`] consecutive rows of a Q4_1 matrix, arranged for the
/// kernels: four 64-byte vectors `P_j` (`j < 4`) whose `i32` lane `r` holds row `r`'s values
/// `4j .. 4j + 4` in its low nibbles and `16 + 4j .. 16 + 4j + 4` in its high nibbles, so one
/// integer multiply-add of a vector's nibbles with four broadcast activations sums four values
/// of all sixteen rows at once, each in its own lane. `d` and `m`: the rows' scales and minima
/// (`f16` bits), first, so a kernel reads a group's five cache lines in order. A matrix whose rows are not a multiple of sixteen ends with a group whose
/// missing rows are zero.
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(C, align(64))]
pub struct GroupQ4_1 {
    pub d: [u16; GROUP_ROWS],
    pub m: [u16; GROUP_ROWS],
    pub qs: [u8; 4 * 4 * GROUP_ROWS],
}

impl GroupQ4_1 {
    const ZERO: Self = Self {
        d: [0; GROUP_ROWS],
        m: [0; GROUP_ROWS],
        qs: [0; 4 * 4 * GROUP_ROWS],
    };

    /// Where row `r`'s value `v` lives: byte of `qs`, and the shift of its nibble.
    fn place(r: usize, v: usize) -> (usize, u32) {
        let (half, k) = (v / 16, v % 16);
        (4 * GROUP_ROWS * (k / 4) + 4 * r + k % 4, 4 * half as u32)
    }

    /// Row `r`'s code of value `v`.
    pub fn code(&self, r: usize, v: usize) -> u8 {
        let (byte, shift) = Self::place(r, v);
        self.qs[byte] >> shift & 0x0f
    }

    /// [`GROUP_ROWS`] rows' blocks (`None`: a missing row, all zero) as one group.
    fn pack(rows: [Option<&BlockQ4_1>; GROUP_ROWS]) -> Self {
        let mut group = Self::ZERO;
        for (r, block) in rows.iter().enumerate() {
            let Some(block) = block else { continue };
            (group.d[r], group.m[r]) = (block.d, block.m);
            for v in 0..BLOCK {
                let code = if v < BLOCK / 2 {
                    block.qs[v] & 0x0f
                } else {
                    block.qs[v - BLOCK / 2] >> 4
                };
                let (byte, shift) = Self::place(r, v);
                group.qs[byte] |= code << shift;
            }
        }
        group
    }

    /// Row `r`'s block, as ggml stores it.
    fn unpack(&self, r: usize) -> BlockQ4_1 {
        BlockQ4_1 {
            d: self.d[r],
            m: self.m[r],
            qs: std::array::from_fn(|i| self.code(r, i) | self.code(r, i + BLOCK / 2) << 4),
        }
    }

    /// Row `r`'s scale and minimum as `f32`.
    pub fn scales(&self, r: usize) -> (f32, f32) {
        (half_to_f32(self.d[r]), half_to_f32(self.m[r]))
    }
}

/// One block (32 values) of [`GROUP_ROWS`] consecutive rows of a Q8_0 matrix, arranged as
/// [`GroupQ4_1`]'s: eight 64-byte vectors `P_j` whose `i32` lane `r` holds row `r`'s values
/// `4j .. 4j + 4`, each stored as `q + 128` (`q ^ 0x80`, an unsigned byte, as AVX-512 VNNI's
/// multiply-add takes it: the kernels subtract `128·Σx` after). `d`: the rows' scales (`f16`
/// bits), after the codes (the group's ninth cache line). A matrix whose rows are not a
/// multiple of sixteen ends with a group whose missing rows are zero.
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(C, align(64))]
pub struct GroupQ8_0 {
    pub qs: [u8; BLOCK * GROUP_ROWS],
    pub d: [u16; GROUP_ROWS],
}

impl GroupQ8_0 {
    const ZERO: Self = Self {
        qs: [0x80; BLOCK * GROUP_ROWS],
        d: [0; GROUP_ROWS],
    };

    /// Where row `r`'s value `v` lives in `qs`.
    fn place(r: usize, v: usize) -> usize {
        4 * GROUP_ROWS * (v / 4) + 4 * r + v % 4
    }

    /// Row `r`'s code of value `v`.
    pub fn code(&self, r: usize, v: usize) -> i8 {
        (self.qs[Self::place(r, v)] ^ 0x80) as i8
    }

    /// Row `r`'s scale as `f32`.
    pub fn scale(&self, r: usize) -> f32 {
        half_to_f32(self.d[r])
    }

    fn pack(rows: [Option<&BlockQ8_0>; GROUP_ROWS]) -> Self {
        let mut group = Self::ZERO;
        for (r, block) in rows.iter().enumerate() {
            let Some(block) = block else { continue };
            group.d[r] = block.d;
            for (v, &q) in block.qs.iter().enumerate() {
                group.qs[Self::place(r, v)] = q as u8 ^ 0x80;
            }
        }
        group
    }

    fn unpack(&self, r: usize) -> BlockQ8_0 {
        BlockQ8_0 {
            d: self.d[r],
            qs: std::array::from_fn(|v| self.code(r, v)),
        }
    }
}

/// `[rows, nb]` blocks in ggml's layout regrouped as `[ceil(rows / 16), nb]` groups by `pack`
/// ([`GroupQ8_0::pack`], [`GroupQ4_1::pack`]).
fn group<B, G>(
    blocks: &[B],
    rows: usize,
    nb: usize,
    pack: impl Fn([Option<&B>; GROUP_ROWS]) -> G,
) -> Vec<G> {
    let mut groups = Vec::with_capacity(rows.div_ceil(GROUP_ROWS) * nb);
    for first in (0..rows).step_by(GROUP_ROWS) {
        for b in 0..nb {
            groups.push(pack(std::array::from_fn(|r| {
                (first + r < rows).then(|| &blocks[(first + r) * nb + b])
            })));
        }
    }
    groups
}

/// The inverse of [`group`], by `unpack` (row `r` of a group).
fn ungroup<G, B>(groups: &[G], rows: usize, nb: usize, unpack: impl Fn(&G, usize) -> B) -> Vec<B> {
    (0..rows)
        .flat_map(|row| (0..nb).map(move |b| (row, b)))
        .map(|(row, b)| unpack(&groups[row / GROUP_ROWS * nb + b], row % GROUP_ROWS))
        .collect()
}

/// A block of activations quantized for an integer dot product (ggml's `block_q8_1`, with
/// `f32` scales): `x ≈ d·q`, `s = d·Σq` for the minimum term of Q4_1, and `sum = Σq` for the
/// offset of Q8_0's codes.
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(C)]
pub struct BlockQ8 {
    pub d: f32,
    pub s: f32,
    pub sum: i32,
    pub qs: [i8; BLOCK],
}

/// A matrix's values in its storage format.
#[derive(Clone, Debug)]
pub enum Storage {
    F32(Vec<f32>),
    /// `[ceil(rows / 16), cols / 32]` groups.
    Q8_0(Vec<GroupQ8_0>),
    /// `[ceil(rows / 16), cols / 32]` groups.
    Q4_1(Vec<GroupQ4_1>),
    /// Stored transposed, by blocks of 64 outputs: see [`Nf4Stack`].
    Nf4(Nf4Stack),
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
        let blocks = || -> Result<std::slice::ChunksExact<'_, f32>> {
            ensure!(
                cols.is_multiple_of(BLOCK),
                "{format:?} needs rows of whole blocks of {BLOCK}, but rows have {cols} values"
            );
            Ok(values.chunks_exact(BLOCK))
        };
        let storage = match format {
            WeightFormat::F32 => Storage::F32(values.to_vec()),
            WeightFormat::Q8_0 => {
                let blocks: Vec<BlockQ8_0> = blocks()?.map(quantize_q8_0).collect();
                Storage::Q8_0(group(&blocks, rows, cols / BLOCK, GroupQ8_0::pack))
            }
            WeightFormat::Q4 => {
                let blocks: Vec<BlockQ4_1> = blocks()?.map(quantize_q4_1).collect();
                Storage::Q4_1(group(&blocks, rows, cols / BLOCK, GroupQ4_1::pack))
            }
            WeightFormat::Nf4 => Storage::Nf4(Nf4Stack::quantize(values, rows, cols)?),
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
            GgmlType::Q8_0 => {
                let blocks: Vec<BlockQ8_0> = bytes
                    .chunks_exact(34)
                    .map(|b| BlockQ8_0 {
                        d: u16::from_le_bytes([b[0], b[1]]),
                        qs: std::array::from_fn(|i| b[2 + i] as i8),
                    })
                    .collect();
                Storage::Q8_0(group(&blocks, rows, cols / BLOCK, GroupQ8_0::pack))
            }
            GgmlType::Q4_1 => {
                let blocks: Vec<BlockQ4_1> = bytes
                    .chunks_exact(20)
                    .map(|b| BlockQ4_1 {
                        d: u16::from_le_bytes([b[0], b[1]]),
                        m: u16::from_le_bytes([b[2], b[3]]),
                        qs: std::array::from_fn(|i| b[4 + i]),
                    })
                    .collect();
                Storage::Q4_1(group(&blocks, rows, cols / BLOCK, GroupQ4_1::pack))
            }
            _ => return None,
        };
        Some(Self {
            rows,
            cols,
            storage,
        })
    }

    /// The blocks as a GGUF file stores them (the inverse of [`QMatrix::from_ggml`]); `None`
    /// for NF4, which GGUF has no type for.
    pub fn ggml_bytes(&self) -> Option<Vec<u8>> {
        Some(match &self.storage {
            Storage::F32(v) => v.iter().flat_map(|v| v.to_le_bytes()).collect(),
            Storage::Q8_0(v) => ungroup(v, self.rows, self.cols / BLOCK, GroupQ8_0::unpack)
                .iter()
                .flat_map(|b| b.d.to_le_bytes().into_iter().chain(b.qs.map(|q| q as u8)))
                .collect(),
            Storage::Q4_1(v) => ungroup(v, self.rows, self.cols / BLOCK, GroupQ4_1::unpack)
                .iter()
                .flat_map(|b| {
                    let scales = [b.d.to_le_bytes(), b.m.to_le_bytes()];
                    scales.into_iter().flatten().chain(b.qs)
                })
                .collect(),
            Storage::Nf4(_) => return None,
        })
    }

    /// The format the values are stored in.
    pub fn format(&self) -> WeightFormat {
        match self.storage {
            Storage::F32(_) => WeightFormat::F32,
            Storage::Q8_0(_) => WeightFormat::Q8_0,
            Storage::Q4_1(_) => WeightFormat::Q4,
            Storage::Nf4(_) => WeightFormat::Nf4,
        }
    }

    /// Resident bytes.
    pub fn bytes(&self) -> usize {
        match &self.storage {
            Storage::F32(v) => std::mem::size_of_val(v.as_slice()),
            Storage::Q8_0(v) => std::mem::size_of_val(v.as_slice()),
            Storage::Q4_1(v) => std::mem::size_of_val(v.as_slice()),
            Storage::Nf4(stack) => stack.bytes(),
        }
    }

    /// Blocks (or values, for `f32`) per row.
    fn row_units(&self) -> usize {
        match self.storage {
            Storage::F32(_) => self.cols,
            _ => self.cols / BLOCK,
        }
    }

    /// The rows reordered: row `i` of the result is row `order[i]` of `self`. NF4 keeps blocks
    /// across rows, so it is refused (it is quantized from rows already in order).
    pub fn permute_rows(&self, order: &[usize]) -> Result<Self> {
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
            Storage::Q8_0(v) => {
                let blocks = gather(
                    &ungroup(v, self.rows, units, GroupQ8_0::unpack),
                    order,
                    units,
                );
                Storage::Q8_0(group(&blocks, order.len(), units, GroupQ8_0::pack))
            }
            Storage::Q4_1(v) => {
                let blocks = gather(
                    &ungroup(v, self.rows, units, GroupQ4_1::unpack),
                    order,
                    units,
                );
                Storage::Q4_1(group(&blocks, order.len(), units, GroupQ4_1::pack))
            }
            Storage::Nf4(_) => anyhow::bail!("NF4 rows cannot be reordered"),
        };
        Ok(Self {
            rows: order.len(),
            cols: self.cols,
            storage,
        })
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
            WeightFormat::Nf4 => {
                let stacks = parts.into_iter().filter_map(|part| match part.storage {
                    Storage::Nf4(stack) => Some(stack),
                    _ => None,
                });
                return Ok(Self {
                    rows,
                    cols,
                    storage: Storage::Nf4(Nf4Stack::stack(stacks)?),
                });
            }
        };
        // Grouped parts are stacked as ggml's blocks, then regrouped (a part's rows need not
        // be a multiple of sixteen).
        let (mut q8_0, mut q4_1) = (Vec::new(), Vec::new());
        for part in parts {
            match (&mut storage, part.storage) {
                (Storage::F32(all), Storage::F32(v)) => all.extend(v),
                (Storage::Q8_0(_), Storage::Q8_0(v)) => {
                    q8_0.extend(ungroup(&v, part.rows, cols / BLOCK, GroupQ8_0::unpack))
                }
                (Storage::Q4_1(_), Storage::Q4_1(v)) => {
                    q4_1.extend(ungroup(&v, part.rows, cols / BLOCK, GroupQ4_1::unpack))
                }
                _ => unreachable!("formats checked above"),
            }
        }
        match &mut storage {
            Storage::Q8_0(groups) => *groups = group(&q8_0, rows, cols / BLOCK, GroupQ8_0::pack),
            Storage::Q4_1(groups) => *groups = group(&q4_1, rows, cols / BLOCK, GroupQ4_1::pack),
            _ => {}
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
        match &self.storage {
            Storage::Q4_1(v) => {
                let (g, r) = (row / GROUP_ROWS, row % GROUP_ROWS);
                let groups = &v[g * units..(g + 1) * units];
                for (group, out) in groups.iter().zip(out.chunks_exact_mut(BLOCK)) {
                    let (d, m) = group.scales(r);
                    for (v, o) in out.iter_mut().enumerate() {
                        *o = d * f32::from(group.code(r, v)) + m;
                    }
                }
            }
            Storage::Nf4(stack) => stack.dequantize_row(row, out),
            Storage::F32(v) => out.copy_from_slice(&v[row * units..(row + 1) * units]),
            Storage::Q8_0(v) => {
                let (g, r) = (row / GROUP_ROWS, row % GROUP_ROWS);
                let groups = &v[g * units..(g + 1) * units];
                for (group, out) in groups.iter().zip(out.chunks_exact_mut(BLOCK)) {
                    let d = group.scale(r);
                    for (v, o) in out.iter_mut().enumerate() {
                        *o = d * f32::from(group.code(r, v));
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
        let qs: [i8; BLOCK] = std::array::from_fn(|i| round_to_i8(x[i] * id));
        let sum: i32 = qs.iter().map(|&q| i32::from(q)).sum();
        *block = BlockQ8 {
            d,
            s: d * sum as f32,
            sum,
            qs,
        };
    }
}

/// `v.round() as i8` (half away from zero, saturating, NaN to 0) without a call to `roundf`,
/// which the baseline x86-64 target cannot inline.
fn round_to_i8(v: f32) -> i8 {
    let t = (v as i32).clamp(-128, 127);
    // Exact: `t` is `v` truncated (or `v` is beyond the clamp and the result saturates).
    let fraction = v - t as f32;
    let rounded = if fraction >= 0.5 {
        t + 1
    } else if fraction <= -0.5 {
        t - 1
    } else {
        t
    };
    rounded.clamp(-128, 127) as i8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_to_i8_is_rusts_round_then_a_saturating_cast() {
        let mut values = vec![
            0.0,
            -0.0,
            0.5,
            -0.5,
            1.5,
            -1.5,
            2.5,
            0.49999997,
            -0.49999997,
            126.5,
            127.0,
            127.49999,
            127.5,
            -127.5,
            -128.5,
            1e9,
            -1e9,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            f32::MIN_POSITIVE,
        ];
        // Every quarter and a dense sweep between -130 and 130.
        values.extend((-520..=520).map(|i| i as f32 / 4.0));
        values.extend((0..100_000).map(|i| -130.0 + i as f32 * 0.0026));
        for v in values {
            assert_eq!(round_to_i8(v), v.round() as i8, "{v}");
        }
    }
}
