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
//! For several tokens the AVX2 path decodes a segment of a weight row once into L1 and runs
//! every token over it, so a batch of sequences costs little more weight decoding than one.
//!
//! **Every product is the same bits whatever else is in the pass.** A token's `W[row] · x`
//! is summed in one fixed order, whichever other tokens (of other sequences) share the pass,
//! where the token sits in it, how the rows are split between threads, and — for Q4_1 — on
//! the scalar path too. An attribution a juror recomputes alone must equal the one the operator
//! computed under load (`docs/attribution.md`), and a kernel that took another summation
//! order for a lone token (the last of a tile, or a batch of one) moved its logits in the last
//! bits, and its attribution's parts per million with them. Q4_1's fixed order, per row and
//! token, over segments of [`SEGMENT`] blocks:
//!
//! ```text
//! lo, hi, min = 0           per block i:  lo  = fma(Σ_{v<16} q_v·x_v,  d_i·d_x, lo)
//!                                         hi  = fma(Σ_{v≥16} q_v·x_v,  d_i·d_x, hi)
//!                                         min = fma(m_i, s_x, min)
//! out += (lo + hi) + min    per segment (out starts at 0)
//! ```

use super::quant::{quantize_activations, QMatrix, WeightFormat};
use super::quant::{scale_q8_0, scales_q4_1, BlockQ4_1, BlockQ8, BlockQ8_0, Storage, BLOCK};
use std::ops::Range;

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

    /// The rows of `tokens` (of `cols` values each).
    pub fn tokens(&self, tokens: Range<usize>, cols: usize) -> TokenRows<'_> {
        match self {
            Activations::F32(x) => TokenRows::F32(&x[tokens.start * cols..tokens.end * cols]),
            Activations::Q8(x) => {
                let nb = cols / BLOCK;
                TokenRows::Q8(&x[tokens.start * nb..tokens.end * nb])
            }
        }
    }

    /// Bytes of one token's row.
    pub fn bytes_per_token(&self, cols: usize) -> usize {
        match self {
            Activations::F32(_) => cols * size_of::<f32>(),
            Activations::Q8(_) => cols / BLOCK * size_of::<BlockQ8>(),
        }
    }
}

/// Some tokens' rows of [`Activations`].
pub enum TokenRows<'a> {
    F32(&'a [f32]),
    Q8(&'a [BlockQ8]),
}

/// `out[t] = W[row] · x[t]` for every token `t` of `x` (`out.len()` tokens).
///
/// Panics if `x` was not prepared for `w`'s format ([`Activations::new`]).
fn row_dot(isa: Isa, w: &QMatrix, row: usize, x: &TokenRows<'_>, out: &mut [f32]) {
    let cols = w.cols;
    let nb = cols / BLOCK;
    match (&w.storage, x) {
        (Storage::F32(v), TokenRows::F32(x)) => {
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
        (Storage::Q8_0(v), TokenRows::Q8(x)) => {
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
        // AVX2 takes Q4_1 four rows at a time in `rows_dot`, to the same bits as this.
        (Storage::Q4_1(v), TokenRows::Q8(x)) => {
            let w = &v[row * nb..(row + 1) * nb];
            for (o, x) in out.iter_mut().zip(x.chunks_exact(nb)) {
                *o = scalar::dot_q4_1(w, x);
            }
        }
        _ => panic!("activations prepared for another weight format"),
    }
}

/// Weight blocks a kernel takes at a time (2 KiB of Q4_1 codes, in L1); Q4_1's sums restart
/// per segment (module docs).
const SEGMENT: usize = 64;

/// `out[(row - rows.start) * stride + at + t] = W[row] · x[t]` for each row of `rows` and each of
/// the `tokens` tokens of `x`: [`row_dot`] row by row, except for Q4_1 on AVX2, where four rows
/// share each activation block and one float conversion ([`avx2::q4_1_rows4`]) whatever the
/// number of tokens; a last group of fewer rows repeats its last row and writes only its own.
#[allow(clippy::too_many_arguments)]
pub fn rows_dot(
    isa: Isa,
    w: &QMatrix,
    rows: Range<usize>,
    x: &TokenRows<'_>,
    tokens: usize,
    out: &mut [f32],
    stride: usize,
    at: usize,
) {
    #[cfg(target_arch = "x86_64")]
    if let (Isa::Avx2, Storage::Q4_1(v), TokenRows::Q8(xq)) = (isa, &w.storage, x) {
        let nb = w.cols / BLOCK;
        for first in rows.clone().step_by(4) {
            let count = (rows.end - first).min(4);
            let row = |r: usize| {
                let row = first + r.min(count - 1);
                &v[row * nb..(row + 1) * nb]
            };
            let local = (first - rows.start) * stride + at;
            // SAFETY: `Isa::Avx2` is only chosen when the CPU has AVX2, FMA and F16C.
            unsafe {
                avx2::q4_1_rows4(
                    [row(0), row(1), row(2), row(3)],
                    &xq[..tokens * nb],
                    nb,
                    &mut out[local..],
                    stride,
                    count,
                );
            }
        }
        return;
    }
    for row in rows.clone() {
        let local = (row - rows.start) * stride + at;
        row_dot(isa, w, row, x, &mut out[local..local + tokens]);
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

    /// In the fixed order of the module docs, the same bits as the AVX2 kernel.
    pub fn dot_q4_1(w: &[BlockQ4_1], x: &[BlockQ8]) -> f32 {
        let mut out = 0.0;
        for (w, x) in w.chunks(SEGMENT).zip(x.chunks(SEGMENT)) {
            let (mut low, mut high, mut minimum) = (0.0f32, 0.0f32, 0.0f32);
            for (w, x) in w.iter().zip(x) {
                let (d, m) = scales_q4_1(w);
                let scale = d * x.d;
                let (x_low, x_high) = x.qs.split_at(BLOCK / 2);
                let sum = |shift: u8, x: &[i8]| -> i32 {
                    w.qs.iter()
                        .zip(x)
                        .map(|(&q, &v)| i32::from(q >> shift & 0x0f) * i32::from(v))
                        .sum()
                };
                low = (sum(0, x_low) as f32).mul_add(scale, low);
                high = (sum(4, x_high) as f32).mul_add(scale, high);
                minimum = m.mul_add(x.s, minimum);
            }
            out += (low + high) + minimum;
        }
        out
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

    /// `x: [tokens, nb]` blocks. One token reads each weight block straight from memory; several
    /// share each segment of decoded blocks.
    #[target_feature(enable = "avx2,fma,f16c")]
    pub unsafe fn q8_0_row(w: &[BlockQ8_0], x: &[BlockQ8], nb: usize, out: &mut [f32]) {
        let mut abs = [_mm256_setzero_si256(); SEGMENT];
        let mut signs = [_mm256_setzero_si256(); SEGMENT];
        let mut scales = [0.0f32; SEGMENT];
        out.fill(0.0);
        for start in (0..nb).step_by(SEGMENT) {
            let segment = &w[start..(start + SEGMENT).min(nb)];
            for (i, block) in segment.iter().enumerate() {
                let wq = _mm256_loadu_si256(block.qs.as_ptr().cast());
                // maddubs multiplies unsigned by signed bytes: w's sign moves onto x.
                (abs[i], signs[i]) = (_mm256_sign_epi8(wq, wq), wq);
                scales[i] = halves(block.d, 0).0;
            }
            let n = segment.len();
            for (t, o) in out.iter_mut().enumerate() {
                let x = &x[t * nb + start..t * nb + start + n];
                // Two accumulators (even and odd blocks) keep two FMA chains in flight.
                let mut acc = (_mm256_setzero_ps(), _mm256_setzero_ps());
                let pairs = n / 2 * 2;
                for i in (0..pairs).step_by(2) {
                    acc.0 = q8_0_block(abs[i], signs[i], scales[i], &x[i], acc.0);
                    acc.1 = q8_0_block(abs[i + 1], signs[i + 1], scales[i + 1], &x[i + 1], acc.1);
                }
                if pairs < n {
                    acc.0 = q8_0_block(abs[pairs], signs[pairs], scales[pairs], &x[pairs], acc.0);
                }
                *o += hsum(_mm256_add_ps(acc.0, acc.1));
            }
        }
    }

    /// Four rows `w` (`nb` blocks each) against every token of `x: [tokens, nb]`, in the
    /// fixed order of the module docs; `out[r * stride + t]` for the first `count` rows only
    /// (a last group of fewer rows passes its last row again). Per block and token, the four
    /// rows' integer sums are folded into one vector by `hadd` (lanes `r` and `r + 4` hold row
    /// `r`'s halves), so one conversion and one FMA serve four rows; the minimum term is a
    /// 4-wide FMA. Lanes never mix, so a row's bits do not depend on the rows beside it. One
    /// token uses each decoded block at once; several share a segment of decoded blocks.
    #[target_feature(enable = "avx2,fma,f16c")]
    pub unsafe fn q4_1_rows4(
        w: [&[BlockQ4_1]; 4],
        x: &[BlockQ8],
        nb: usize,
        out: &mut [f32],
        stride: usize,
        count: usize,
    ) {
        let tokens = x.len() / nb;
        for r in 0..count {
            out[r * stride..r * stride + tokens].fill(0.0);
        }
        if tokens == 1 {
            for start in (0..nb).step_by(SEGMENT) {
                let mut sums = Sums4::new();
                for (i, xb) in x[start..(start + SEGMENT).min(nb)].iter().enumerate() {
                    sums.add(&Decoded4::new(w, start + i), xb);
                }
                sums.finish(out, stride, 0, count);
            }
            return;
        }
        let mut decoded = [Decoded4::ZERO; SEGMENT];
        for start in (0..nb).step_by(SEGMENT) {
            let n = SEGMENT.min(nb - start);
            for (i, block) in decoded[..n].iter_mut().enumerate() {
                *block = Decoded4::new(w, start + i);
            }
            for t in 0..tokens {
                let mut sums = Sums4::new();
                for (block, xb) in decoded[..n].iter().zip(&x[t * nb + start..]) {
                    sums.add(block, xb);
                }
                sums.finish(out, stride, t, count);
            }
        }
    }

    /// Block `i` of four rows, decoded: their codes, scales (twice, for both halves' lanes)
    /// and minima.
    #[derive(Clone, Copy)]
    struct Decoded4 {
        codes: [__m256i; 4],
        scales: __m256,
        minima: __m128,
    }

    impl Decoded4 {
        // SAFETY: all-zero bits are a valid value of every SIMD type.
        const ZERO: Self = unsafe { std::mem::zeroed() };

        #[inline]
        #[target_feature(enable = "avx2,fma,f16c")]
        unsafe fn new(w: [&[BlockQ4_1]; 4], i: usize) -> Self {
            let (mut d, mut m) = ([0.0f32; 4], [0.0f32; 4]);
            let mut codes = [_mm256_setzero_si256(); 4];
            for r in 0..4 {
                let block = &w[r][i];
                codes[r] = nibbles(block);
                (d[r], m[r]) = halves(block.d, block.m);
            }
            let d = _mm_loadu_ps(d.as_ptr());
            Self {
                codes,
                scales: _mm256_set_m128(d, d),
                minima: _mm_loadu_ps(m.as_ptr()),
            }
        }
    }

    /// One token's running sums over a segment of four rows: `acc` (lanes `r`, `r + 4`: row
    /// `r`'s halves) and the minimum terms.
    struct Sums4 {
        acc: __m256,
        minimum: __m128,
    }

    impl Sums4 {
        #[inline]
        #[target_feature(enable = "avx2,fma,f16c")]
        unsafe fn new() -> Self {
            Self {
                acc: _mm256_setzero_ps(),
                minimum: _mm_setzero_ps(),
            }
        }

        #[inline]
        #[target_feature(enable = "avx2,fma,f16c")]
        unsafe fn add(&mut self, block: &Decoded4, xb: &BlockQ8) {
            let xq = _mm256_loadu_si256(xb.qs.as_ptr().cast());
            let [c0, c1, c2, c3] = block.codes;
            let sums = _mm256_hadd_epi32(
                _mm256_hadd_epi32(pair_sums(c0, xq), pair_sums(c1, xq)),
                _mm256_hadd_epi32(pair_sums(c2, xq), pair_sums(c3, xq)),
            );
            let scale = _mm256_mul_ps(block.scales, _mm256_set1_ps(xb.d));
            self.acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sums), scale, self.acc);
            self.minimum = _mm_fmadd_ps(block.minima, _mm_set1_ps(xb.s), self.minimum);
        }

        /// `out[r * stride + t] += (lo + hi) + minimum` for the first `count` rows.
        #[inline]
        #[target_feature(enable = "avx2,fma,f16c")]
        unsafe fn finish(self, out: &mut [f32], stride: usize, t: usize, count: usize) {
            let acc = self.acc;
            let halves = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
            let mut rows = [0.0f32; 4];
            _mm_storeu_ps(rows.as_mut_ptr(), _mm_add_ps(halves, self.minimum));
            for (r, value) in rows.iter().enumerate().take(count) {
                out[r * stride + t] += value;
            }
        }
    }

    /// `Σ q·q_x` of one block, as eight `i32` partial sums.
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn pair_sums(codes: __m256i, xq: __m256i) -> __m256i {
        _mm256_madd_epi16(_mm256_maddubs_epi16(codes, xq), ones())
    }

    /// `acc + d·d_x · Σ q·q_x` over one Q8_0 block given as `|q|` and `q` (for its signs).
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn q8_0_block(
        abs: __m256i,
        signs: __m256i,
        d: f32,
        xb: &BlockQ8,
        acc: __m256,
    ) -> __m256 {
        let xq = _mm256_loadu_si256(xb.qs.as_ptr().cast());
        let products = _mm256_maddubs_epi16(abs, _mm256_sign_epi8(xq, signs));
        let sums = _mm256_cvtepi32_ps(_mm256_madd_epi16(products, ones()));
        _mm256_fmadd_ps(_mm256_set1_ps(d * xb.d), sums, acc)
    }

    /// A Q4_1 block's 32 codes as bytes, in value order: values 0..16 from the low nibbles,
    /// 16..32 from the high ones.
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn nibbles(block: &BlockQ4_1) -> __m256i {
        let packed = _mm_loadu_si128(block.qs.as_ptr().cast());
        _mm256_and_si256(
            _mm256_set_m128i(_mm_srli_epi16(packed, 4), packed),
            _mm256_set1_epi8(0x0f),
        )
    }

    /// Sixteen `1_i16`, to sum pairs of `i16` into `i32`.
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn ones() -> __m256i {
        _mm256_set1_epi16(1)
    }
}
