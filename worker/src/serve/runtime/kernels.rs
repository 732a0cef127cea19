//! Dot products of one weight row with the activations of several tokens, per storage format,
//! in portable scalar code and in AVX2/FMA (chosen at run time with
//! `is_x86_feature_detected!`).
//!
//! Quantized weights meet activations quantized to 8 bits per block of 32 (as llama.cpp does),
//! so each block is an integer dot product and one scale multiply:
//!
//! ```text
//! Q8_0 · Q8   Σ_blocks  d_w·d_x · Σ q_w·q_x
//! Q4_1 · Q8   Σ_blocks  d_w·d_x · Σ q_w·q_x  +  m_w · (d_x·Σ q_x)
//! ```
//!
//! The AVX2 path decodes a weight block once and uses it for a tile of up to 8 tokens, so a
//! batch of sequences costs little more weight decoding than one.

use super::quant::{quantize_activations, QMatrix, WeightFormat};
use super::quant::{scale_q8_0, scales_q4_1, BlockQ4_1, BlockQ8, BlockQ8_0, Storage, BLOCK};

/// The instruction set the kernels use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isa {
    /// Portable Rust, any CPU.
    Scalar,
    /// x86-64 with AVX2, FMA and F16C.
    #[cfg(target_arch = "x86_64")]
    Avx2,
}

impl Isa {
    /// The fastest set this CPU runs.
    pub fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        if is_x86_feature_detected!("avx2")
            && is_x86_feature_detected!("fma")
            && is_x86_feature_detected!("f16c")
        {
            return Isa::Avx2;
        }
        Isa::Scalar
    }
}

/// A pass's input rows `[tokens, cols]`, in the form the weights' kernels read.
pub enum Activations {
    /// For `f32` weights.
    F32(Vec<f32>),
    /// For quantized weights: `[tokens, cols / 32]` blocks.
    Q8(Vec<BlockQ8>),
}

impl Activations {
    /// `x: [tokens, cols]` prepared for weights stored as `format`.
    pub fn new(format: WeightFormat, x: &[f32], cols: usize) -> Self {
        match format {
            WeightFormat::F32 => Activations::F32(x.to_vec()),
            WeightFormat::Q8_0 | WeightFormat::Q4 => {
                let per_row = cols / BLOCK;
                let tokens = x.len() / cols;
                let mut blocks = vec![
                    BlockQ8 {
                        d: 0.0,
                        s: 0.0,
                        qs: [0; BLOCK],
                    };
                    tokens * per_row
                ];
                for (x, out) in x.chunks_exact(cols).zip(blocks.chunks_exact_mut(per_row)) {
                    quantize_activations(x, out);
                }
                Activations::Q8(blocks)
            }
        }
    }
}

/// `out[t] = W[row] · x[t]` for every token `t` of `x` (`out.len()` tokens).
///
/// Panics if `x` was not prepared for `w`'s format ([`Activations::new`]).
pub fn row_dot(isa: Isa, w: &QMatrix, row: usize, x: &Activations, out: &mut [f32]) {
    let cols = w.cols;
    let nb = cols / BLOCK;
    match (&w.storage, x) {
        (Storage::F32(v), Activations::F32(x)) => {
            let w = &v[row * cols..(row + 1) * cols];
            match isa {
                Isa::Scalar => {
                    for (o, x) in out.iter_mut().zip(x.chunks_exact(cols)) {
                        *o = scalar::dot_f32(w, x);
                    }
                }
                #[cfg(target_arch = "x86_64")]
                // SAFETY: `Isa::Avx2` is only chosen when the CPU has AVX2, FMA and F16C.
                Isa::Avx2 => unsafe { avx2::f32_row(w, x, cols, out) },
            }
        }
        (Storage::Q8_0(v), Activations::Q8(x)) => {
            let w = &v[row * nb..(row + 1) * nb];
            match isa {
                Isa::Scalar => {
                    for (o, x) in out.iter_mut().zip(x.chunks_exact(nb)) {
                        *o = scalar::dot_q8_0(w, x);
                    }
                }
                #[cfg(target_arch = "x86_64")]
                // SAFETY: as above.
                Isa::Avx2 => unsafe { avx2::q8_0_row(w, x, nb, out) },
            }
        }
        (Storage::Q4_1(v), Activations::Q8(x)) => {
            let w = &v[row * nb..(row + 1) * nb];
            match isa {
                Isa::Scalar => {
                    for (o, x) in out.iter_mut().zip(x.chunks_exact(nb)) {
                        *o = scalar::dot_q4_1(w, x);
                    }
                }
                #[cfg(target_arch = "x86_64")]
                // SAFETY: as above.
                Isa::Avx2 => unsafe { avx2::q4_1_row(w, x, nb, out) },
            }
        }
        _ => panic!("activations prepared for another weight format"),
    }
}

mod scalar {
    use super::*;

    pub fn dot_f32(w: &[f32], x: &[f32]) -> f32 {
        w.iter().zip(x).map(|(w, x)| w * x).sum()
    }

    pub fn dot_q8_0(w: &[BlockQ8_0], x: &[BlockQ8]) -> f32 {
        w.iter()
            .zip(x)
            .map(|(w, x)| {
                let sum: i32 =
                    w.qs.iter()
                        .zip(&x.qs)
                        .map(|(&a, &b)| i32::from(a) * i32::from(b))
                        .sum();
                scale_q8_0(w) * x.d * sum as f32
            })
            .sum()
    }

    pub fn dot_q4_1(w: &[BlockQ4_1], x: &[BlockQ8]) -> f32 {
        w.iter()
            .zip(x)
            .map(|(w, x)| {
                let (d, m) = scales_q4_1(w);
                let (low, high) = x.qs.split_at(BLOCK / 2);
                let sum: i32 =
                    w.qs.iter()
                        .zip(low.iter().zip(high))
                        .map(|(&q, (&l, &h))| {
                            i32::from(q & 0x0f) * i32::from(l) + i32::from(q >> 4) * i32::from(h)
                        })
                        .sum();
                d * x.d * sum as f32 + m * x.s
            })
            .sum()
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::*;
    use std::arch::x86_64::*;

    /// Calls `$kernel::<N>` on tiles of 8, then 4, then 1 tokens.
    macro_rules! tiles {
        ($tokens:expr, |$t:ident, $n:ident| $body:expr) => {{
            let tokens = $tokens;
            let mut $t = 0;
            while $t + 8 <= tokens {
                const $n: usize = 8;
                $body;
                $t += 8;
            }
            while $t + 4 <= tokens {
                const $n: usize = 4;
                $body;
                $t += 4;
            }
            while $t < tokens {
                const $n: usize = 1;
                $body;
                $t += 1;
            }
        }};
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn hsum(v: __m256) -> f32 {
        let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
        _mm_cvtss_f32(s)
    }

    /// Two `f16` values (as bits) to `f32`.
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn halves(a: u16, b: u16) -> (f32, f32) {
        let packed = _mm_cvtsi32_si128((u32::from(a) | (u32::from(b) << 16)) as i32);
        let both = _mm_cvtph_ps(packed);
        (
            _mm_cvtss_f32(both),
            _mm_cvtss_f32(_mm_shuffle_ps(both, both, 1)),
        )
    }

    /// `x: [tokens, cols]`
    #[target_feature(enable = "avx2,fma,f16c")]
    pub unsafe fn f32_row(w: &[f32], x: &[f32], cols: usize, out: &mut [f32]) {
        tiles!(out.len(), |t, N| f32_tile::<N>(
            w,
            &x[t * cols..(t + N) * cols],
            cols,
            &mut out[t..t + N]
        ));
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn f32_tile<const N: usize>(w: &[f32], x: &[f32], cols: usize, out: &mut [f32]) {
        let mut acc = [_mm256_setzero_ps(); N];
        let lanes = cols / 8 * 8;
        let (wp, xp) = (w.as_ptr(), x.as_ptr());
        for i in (0..lanes).step_by(8) {
            let wv = _mm256_loadu_ps(wp.add(i));
            for (t, acc) in acc.iter_mut().enumerate() {
                *acc = _mm256_fmadd_ps(wv, _mm256_loadu_ps(xp.add(t * cols + i)), *acc);
            }
        }
        for (t, acc) in acc.iter().enumerate() {
            let tail: f32 = (lanes..cols).map(|i| w[i] * x[t * cols + i]).sum();
            out[t] = hsum(*acc) + tail;
        }
    }

    /// `x: [tokens, nb]` blocks.
    #[target_feature(enable = "avx2,fma,f16c")]
    pub unsafe fn q8_0_row(w: &[BlockQ8_0], x: &[BlockQ8], nb: usize, out: &mut [f32]) {
        tiles!(out.len(), |t, N| q8_0_tile::<N>(
            w,
            &x[t * nb..(t + N) * nb],
            nb,
            &mut out[t..t + N]
        ));
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn q8_0_tile<const N: usize>(
        w: &[BlockQ8_0],
        x: &[BlockQ8],
        nb: usize,
        out: &mut [f32],
    ) {
        let mut acc = [_mm256_setzero_ps(); N];
        let ones = _mm256_set1_epi16(1);
        for (b, block) in w.iter().enumerate() {
            let (d, _) = halves(block.d, 0);
            let wq = _mm256_loadu_si256(block.qs.as_ptr().cast());
            // maddubs multiplies unsigned by signed bytes: move w's sign onto x.
            let w_abs = _mm256_sign_epi8(wq, wq);
            for (t, acc) in acc.iter_mut().enumerate() {
                let xb = &x[t * nb + b];
                let xq = _mm256_loadu_si256(xb.qs.as_ptr().cast());
                let products = _mm256_maddubs_epi16(w_abs, _mm256_sign_epi8(xq, wq));
                let sums = _mm256_cvtepi32_ps(_mm256_madd_epi16(products, ones));
                *acc = _mm256_fmadd_ps(_mm256_set1_ps(d * xb.d), sums, *acc);
            }
        }
        for (o, acc) in out.iter_mut().zip(&acc) {
            *o = hsum(*acc);
        }
    }

    /// `x: [tokens, nb]` blocks.
    #[target_feature(enable = "avx2,fma,f16c")]
    pub unsafe fn q4_1_row(w: &[BlockQ4_1], x: &[BlockQ8], nb: usize, out: &mut [f32]) {
        tiles!(out.len(), |t, N| q4_1_tile::<N>(
            w,
            &x[t * nb..(t + N) * nb],
            nb,
            &mut out[t..t + N]
        ));
    }

    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn q4_1_tile<const N: usize>(
        w: &[BlockQ4_1],
        x: &[BlockQ8],
        nb: usize,
        out: &mut [f32],
    ) {
        let mut acc = [_mm256_setzero_ps(); N];
        let mut minimum = [0.0f32; N];
        let ones = _mm256_set1_epi16(1);
        let nibble = _mm256_set1_epi8(0x0f);
        for (b, block) in w.iter().enumerate() {
            let (d, m) = halves(block.d, block.m);
            let packed = _mm_loadu_si128(block.qs.as_ptr().cast());
            // Values 0..16 from the low nibbles, 16..32 from the high ones.
            let wq = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(packed, 4), packed), nibble);
            for t in 0..N {
                let xb = &x[t * nb + b];
                let xq = _mm256_loadu_si256(xb.qs.as_ptr().cast());
                let products = _mm256_maddubs_epi16(wq, xq);
                let sums = _mm256_cvtepi32_ps(_mm256_madd_epi16(products, ones));
                acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(d * xb.d), sums, acc[t]);
                minimum[t] += m * xb.s;
            }
        }
        for t in 0..N {
            out[t] = hsum(acc[t]) + minimum[t];
        }
    }
}
