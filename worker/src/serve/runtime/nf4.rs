//! Projections kept as QLoRA's NF4 ([`crate::nf4`]): the serving runtime's base exactly as
//! `"base": "nf4"` trains over it. Training quantizes a projection's transpose `[d_in, d_out]`
//! in blocks of 64 values along `d_out`; this keeps those codes and scales as they are, so an
//! adapter trained over an NF4 base is served over the very values it learned against.
//!
//! Because a block runs along the outputs, a product is taken column-wise: for each input `i`,
//! one block of 64 outputs adds `x_i · (LEVELS[code] · scale)`, the 16 scaled levels looked up
//! by a permute (one `vpermps` over 16 lanes with AVX-512, two and a blend with AVX2). Every
//! output sums its inputs in the order `i = 0, 1, …`, one fused multiply-add each, on every
//! instruction set and whatever else shares the pass, so a row's result has the same bits
//! alone or in a batch, scalar or vectorized (the promise `docs/attribution.md` relies on).
//!
//! ```text
//! bytes per weight = 1/2 (codes) + 4/64 (the block scales, decoded once at load) = 0.5625
//! ```

use super::kernels::Isa;
use super::team;
use crate::nf4::{Nf4Matrix, BLOCK, LEVELS};
use anyhow::{ensure, Result};

/// Projections sharing their input, stacked by output (`q|k|v`, `gate|up`); one part each.
#[derive(Clone, Debug)]
pub struct Nf4Stack {
    parts: Vec<Nf4Part>,
}

/// One projection: the codes and scales of the NF4 matrix of its transpose `[d_in, d_out]`,
/// stored by columns of blocks, so that a task running down one column of 64 outputs reads
/// memory in order (row-major, each input's 32 bytes of a column are 288 bytes or more apart,
/// and most of every cache line fetched would be another task's).
#[derive(Clone, Debug)]
struct Nf4Part {
    d_in: usize,
    d_out: usize,
    /// `[d_out / 64, d_in, 32]`: block `(i, b)`'s codes, two a byte, low nibble first.
    codes: Vec<u8>,
    /// `[d_out / 64, d_in]`: block `(i, b)`'s dequantized scale ([`Nf4Matrix::block_scale`]).
    scales: Vec<f32>,
}

impl Nf4Stack {
    /// Quantizes a projection given in Hugging Face's layout (`values`: `[rows, cols]` =
    /// `[d_out, d_in]`) as QLoRA does: its transpose, through [`Nf4Matrix::quantize`].
    pub fn quantize(values: &[f32], rows: usize, cols: usize) -> Result<Self> {
        ensure!(
            values.len() == rows * cols,
            "{} values do not make a [{rows}, {cols}] matrix",
            values.len()
        );
        ensure!(
            rows.is_multiple_of(BLOCK),
            "NF4 keeps blocks of {BLOCK} outputs, but this projection has {rows}"
        );
        let mut transposed = vec![0.0; values.len()];
        for (r, row) in values.chunks_exact(cols).enumerate() {
            for (c, &value) in row.iter().enumerate() {
                transposed[c * rows + r] = value;
            }
        }
        let matrix = Nf4Matrix::quantize(&transposed, [cols, rows])?;
        let (codes, scales) = (matrix.codes(), matrix.block_scales());
        let blocks = rows / BLOCK;
        let mut part = Nf4Part {
            d_in: cols,
            d_out: rows,
            codes: Vec::with_capacity(codes.len()),
            scales: Vec::with_capacity(scales.len()),
        };
        for b in 0..blocks {
            for i in 0..cols {
                let block = i * blocks + b;
                part.codes
                    .extend_from_slice(&codes[block * BLOCK / 2..][..BLOCK / 2]);
                part.scales.push(scales[block]);
            }
        }
        Ok(Self { parts: vec![part] })
    }

    /// Stacks projections of the same input width by output.
    pub fn stack(stacks: impl IntoIterator<Item = Self>) -> Result<Self> {
        let parts: Vec<Nf4Part> = stacks.into_iter().flat_map(|s| s.parts).collect();
        ensure!(
            parts.windows(2).all(|w| w[0].d_in == w[1].d_in),
            "stacked matrices must share their width"
        );
        Ok(Self { parts })
    }

    /// Resident bytes.
    pub fn bytes(&self) -> usize {
        self.parts
            .iter()
            .map(|p| p.codes.len() + std::mem::size_of_val(p.scales.as_slice()))
            .sum()
    }

    /// Output `row`'s weights (`cols` values), as training's `Nf4Matrix::dequantize` gives them.
    pub fn dequantize_row(&self, mut row: usize, out: &mut [f32]) {
        let part = self
            .parts
            .iter()
            .find(|p| {
                let here = row < p.d_out;
                if !here {
                    row -= p.d_out;
                }
                here
            })
            .expect("a row within the matrix");
        let (b, j) = (row / BLOCK, row % BLOCK);
        for (i, out) in out.iter_mut().enumerate() {
            let block = b * part.d_in + i;
            let code = (part.codes[block * BLOCK / 2 + j / 2] >> (4 * (j % 2))) & 0x0f;
            *out = LEVELS[usize::from(code)] * part.scales[block];
        }
    }

    /// `y = x·Wᵀ`: `x` is `[tokens, d_in]`, the result `[tokens, rows]`. Parallel over blocks
    /// of 64 outputs; tokens in tiles whose sums stay in registers.
    pub fn matmul(&self, isa: Isa, x: &[f32]) -> Vec<f32> {
        let d_in = self.parts[0].d_in;
        debug_assert_eq!(x.len() % d_in, 0);
        let tokens = x.len() / d_in;
        let rows: usize = self.parts.iter().map(|p| p.d_out).sum();
        let mut tasks = Vec::new();
        let mut offset = 0;
        for part in &self.parts {
            tasks.extend((0..part.d_out / BLOCK).map(|b| (part, b, offset + b * BLOCK)));
            offset += part.d_out;
        }
        let tile = tile(isa);
        let columns: Vec<Vec<f32>> = team::map(tasks.len(), |task| {
            let (part, block, _) = tasks[task];
            let mut out = vec![0.0; tokens * BLOCK];
            for (x, out) in x.chunks(tile * d_in).zip(out.chunks_mut(tile * BLOCK)) {
                part.column(isa, block, x, out);
            }
            out
        });
        let mut y = vec![0.0; tokens * rows];
        for (&(_, _, column), out) in tasks.iter().zip(&columns) {
            for (y, out) in y.chunks_exact_mut(rows).zip(out.chunks_exact(BLOCK)) {
                y[column..column + BLOCK].copy_from_slice(out);
            }
        }
        y
    }
}

/// Tokens a task keeps in registers: 4 × 4 AVX-512 accumulators, or one token's 8 AVX2 ones.
fn tile(isa: Isa) -> usize {
    match isa {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512Vnni if is_x86_feature_detected!("avx512f") => 4,
        _ => 1,
    }
}

impl Nf4Part {
    /// Block `block`'s 64 outputs for the tokens `x` (`[n, d_in]`, `n` at most the tile) into
    /// `out` (`[n, 64]`).
    fn column(&self, isa: Isa, block: usize, x: &[f32], out: &mut [f32]) {
        let n = x.len() / self.d_in;
        match isa {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512Vnni if is_x86_feature_detected!("avx512f") => {
                // SAFETY: the CPU has AVX-512F (checked); indices are within the part.
                unsafe {
                    match n {
                        1 => avx512::column::<1>(self, block, x, out),
                        2 => avx512::column::<2>(self, block, x, out),
                        3 => avx512::column::<3>(self, block, x, out),
                        _ => avx512::column::<4>(self, block, x, out),
                    }
                }
            }
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2 | Isa::Avx512Vnni => {
                // SAFETY: `Isa` is only these when the CPU has AVX2 and FMA.
                unsafe { avx2::column(self, block, x, out) }
            }
            _ => self.column_scalar(block, x, out),
        }
    }

    /// The reference: what the vector paths compute, value for value.
    fn column_scalar(&self, block: usize, x: &[f32], out: &mut [f32]) {
        for (x, out) in x.chunks_exact(self.d_in).zip(out.chunks_exact_mut(BLOCK)) {
            let mut sums = [0f32; BLOCK];
            for (i, &xi) in x.iter().enumerate() {
                let table = LEVELS.map(|level| level * self.scale(i, block));
                let codes = &self.codes[(block * self.d_in + i) * BLOCK / 2..][..BLOCK / 2];
                for (pair, &byte) in sums.chunks_exact_mut(2).zip(codes) {
                    pair[0] = table[usize::from(byte & 0x0f)].mul_add(xi, pair[0]);
                    pair[1] = table[usize::from(byte >> 4)].mul_add(xi, pair[1]);
                }
            }
            out.copy_from_slice(&sums);
        }
    }

    /// Block `(i, block)`'s scale.
    fn scale(&self, i: usize, block: usize) -> f32 {
        self.scales[block * self.d_in + i]
    }

    /// Where block `(i, block)`'s codes start.
    #[cfg(target_arch = "x86_64")]
    fn codes_at(&self, i: usize, block: usize) -> *const u8 {
        self.codes[(block * self.d_in + i) * BLOCK / 2..].as_ptr()
    }
}

/// Vector `k` of a block's sums holds, in lane `l`, output `(k / 2)·2·lanes + 2l + k % 2`: the
/// codes of `lanes` bytes are expanded low nibbles (even outputs) apart from high ones (odd).
#[cfg(target_arch = "x86_64")]
fn interleave(lanes: usize, vectors: &[f32; BLOCK], out: &mut [f32]) {
    for (k, vector) in vectors.chunks_exact(lanes).enumerate() {
        let base = (k / 2) * 2 * lanes + k % 2;
        for (l, &value) in vector.iter().enumerate() {
            out[base + 2 * l] = value;
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::{interleave, Nf4Part, BLOCK, LEVELS};
    use std::arch::x86_64::*;

    /// [`Nf4Part::column_scalar`] for `N` tokens, 16 lanes.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn column<const N: usize>(
        part: &Nf4Part,
        block: usize,
        x: &[f32],
        out: &mut [f32],
    ) {
        let levels = _mm512_loadu_ps(LEVELS.as_ptr());
        let mut sums = [[_mm512_setzero_ps(); 4]; N];
        for i in 0..part.d_in {
            let table = _mm512_mul_ps(levels, _mm512_set1_ps(part.scale(i, block)));
            let codes = part.codes_at(i, block);
            let low = _mm512_cvtepu8_epi32(_mm_loadu_si128(codes.cast()));
            let high = _mm512_cvtepu8_epi32(_mm_loadu_si128(codes.add(16).cast()));
            // `vpermps` reads an index's low four bits: the low nibble as it is.
            let weights = [
                _mm512_permutexvar_ps(low, table),
                _mm512_permutexvar_ps(_mm512_srli_epi32::<4>(low), table),
                _mm512_permutexvar_ps(high, table),
                _mm512_permutexvar_ps(_mm512_srli_epi32::<4>(high), table),
            ];
            for (t, sums) in sums.iter_mut().enumerate() {
                let xi = _mm512_set1_ps(*x.get_unchecked(t * part.d_in + i));
                for (sum, &w) in sums.iter_mut().zip(&weights) {
                    *sum = _mm512_fmadd_ps(w, xi, *sum);
                }
            }
        }
        for (t, sums) in sums.iter().enumerate() {
            let mut vectors = [0f32; BLOCK];
            for (k, &sum) in sums.iter().enumerate() {
                _mm512_storeu_ps(vectors.as_mut_ptr().add(16 * k), sum);
            }
            interleave(16, &vectors, &mut out[t * BLOCK..(t + 1) * BLOCK]);
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{interleave, Nf4Part, BLOCK, LEVELS};
    use std::arch::x86_64::*;

    /// A 16-entry lookup in two 8-entry tables: bit 3 of each index picks the table.
    #[target_feature(enable = "avx2")]
    unsafe fn lookup(index: __m256i, low: __m256, high: __m256) -> __m256 {
        let pick = _mm256_castsi256_ps(_mm256_slli_epi32::<28>(index));
        _mm256_blendv_ps(
            _mm256_permutevar8x32_ps(low, index),
            _mm256_permutevar8x32_ps(high, index),
            pick,
        )
    }

    /// [`Nf4Part::column_scalar`] one token at a time, 8 lanes.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn column(part: &Nf4Part, block: usize, x: &[f32], out: &mut [f32]) {
        let (low_levels, high_levels) = (
            _mm256_loadu_ps(LEVELS.as_ptr()),
            _mm256_loadu_ps(LEVELS[8..].as_ptr()),
        );
        for (x, out) in x.chunks_exact(part.d_in).zip(out.chunks_exact_mut(BLOCK)) {
            let mut sums = [_mm256_setzero_ps(); 8];
            for (i, &xi) in x.iter().enumerate() {
                let scale = _mm256_set1_ps(part.scale(i, block));
                let (low, high) = (
                    _mm256_mul_ps(low_levels, scale),
                    _mm256_mul_ps(high_levels, scale),
                );
                let codes = part.codes_at(i, block);
                let xi = _mm256_set1_ps(xi);
                for (q, sums) in sums.chunks_exact_mut(2).enumerate() {
                    let bytes = _mm256_cvtepu8_epi32(_mm_loadl_epi64(codes.add(8 * q).cast()));
                    let even = lookup(bytes, low, high);
                    let odd = lookup(_mm256_srli_epi32::<4>(bytes), low, high);
                    sums[0] = _mm256_fmadd_ps(even, xi, sums[0]);
                    sums[1] = _mm256_fmadd_ps(odd, xi, sums[1]);
                }
            }
            let mut vectors = [0f32; BLOCK];
            for (k, &sum) in sums.iter().enumerate() {
                _mm256_storeu_ps(vectors.as_mut_ptr().add(8 * k), sum);
            }
            interleave(8, &vectors, out);
        }
    }
}
