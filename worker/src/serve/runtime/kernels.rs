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
//! For several tokens the SIMD paths decode weight blocks once and run every token over them,
//! so a batch of sequences costs little more weight decoding than one. Q4_1's weights are kept
//! as [`GroupQ4_1`]s (one block of sixteen rows, each row's codes in its own 32-bit lane, four
//! values a lane): four of a token's activations broadcast to every lane meet all sixteen rows'
//! codes in one integer multiply-add, whose `i32` lanes are already the rows' partial sums — one
//! 512-bit `vpdpbusd` with AVX-512 VNNI, `vpmaddubsw` and `vpmaddwd` on each 8-row half
//! without it (integer sums: the same bits either way).
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
use super::quant::{scale_q8_0, BlockQ8, BlockQ8_0, GroupQ4_1, Storage, BLOCK, GROUP_ROWS};
use std::ops::Range;

/// The instruction set the kernels use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isa {
    /// Portable Rust, any CPU.
    Scalar,
    /// x86-64 with AVX2, FMA and F16C.
    #[cfg(target_arch = "x86_64")]
    Avx2,
    /// AVX2 as above, with AVX-512 (F, BW, VL and VNNI) for Q4_1's products on 512-bit vectors.
    #[cfg(target_arch = "x86_64")]
    Avx512Vnni,
}

impl Isa {
    /// The fastest set this CPU runs.
    pub fn detect() -> Self {
        Self::available().pop().unwrap_or(Isa::Scalar)
    }

    /// Every set this CPU runs, slowest first (tests compare their bits).
    pub fn available() -> Vec<Self> {
        #[allow(unused_mut)]
        let mut sets = vec![Isa::Scalar];
        #[cfg(target_arch = "x86_64")]
        if is_x86_feature_detected!("avx2")
            && is_x86_feature_detected!("fma")
            && is_x86_feature_detected!("f16c")
        {
            sets.push(Isa::Avx2);
            if is_x86_feature_detected!("avx512f")
                && is_x86_feature_detected!("avx512bw")
                && is_x86_feature_detected!("avx512vl")
                && is_x86_feature_detected!("avx512vnni")
            {
                sets.push(Isa::Avx512Vnni);
            }
        }
        sets
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
    /// `x: [tokens, cols]` prepared for weights stored as `format` (the same bits on every
    /// instruction set).
    pub fn new(isa: Isa, format: WeightFormat, x: &[f32], cols: usize) -> Self {
        match format {
            // NF4's product (`super::nf4`) reads `x` as it is.
            WeightFormat::F32 | WeightFormat::Nf4 => Activations::F32(x.to_vec()),
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
                    match isa {
                        Isa::Scalar => quantize_activations(x, out),
                        #[cfg(target_arch = "x86_64")]
                        // SAFETY: both sets are only chosen when the CPU has AVX2, FMA and F16C.
                        Isa::Avx2 | Isa::Avx512Vnni => unsafe {
                            avx2::quantize_activations(x, out)
                        },
                    }
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
                // SAFETY: `Isa::Avx2` and `Isa::Avx512Vnni` are only chosen when the CPU has
                // AVX2, FMA and F16C.
                Isa::Avx2 | Isa::Avx512Vnni => unsafe { avx2::f32_row(w, x, cols, out) },
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
                Isa::Avx2 | Isa::Avx512Vnni => unsafe { avx2::q8_0_row(w, x, nb, out) },
            }
        }
        // The SIMD paths take Q4_1 a group of rows at a time in `rows_dot`, to the same bits.
        (Storage::Q4_1(v), TokenRows::Q8(x)) => {
            let (g, r) = (row / GROUP_ROWS, row % GROUP_ROWS);
            let groups = &v[g * nb..(g + 1) * nb];
            for (o, x) in out.iter_mut().zip(x.chunks_exact(nb)) {
                *o = scalar::dot_q4_1(groups, r, x);
            }
        }
        _ => panic!("activations prepared for another weight format"),
    }
}

/// Weight blocks a kernel takes at a time (2 KiB of Q4_1 codes, in L1); Q4_1's sums restart
/// per segment (module docs).
const SEGMENT: usize = 64;

/// `out[(at + t) * stride + row - rows.start] = W[row] · x[t]` for each row of `rows` and each
/// of the `tokens` tokens of `x` (a token's rows side by side, as the product's output has
/// them): [`row_dot`] row by row, except for Q4_1 on the SIMD paths, where the sixteen rows of a
/// [`GroupQ4_1`] are taken together whatever the number of tokens, and only the rows of `rows`
/// are written.
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
    if let (Isa::Avx2 | Isa::Avx512Vnni, Storage::Q4_1(v), TokenRows::Q8(xq)) = (isa, &w.storage, x)
    {
        let nb = w.cols / BLOCK;
        let xq = &xq[..tokens * nb];
        for group in rows.start / GROUP_ROWS..rows.end.div_ceil(GROUP_ROWS) {
            let base = GROUP_ROWS * group;
            let first = base.max(rows.start);
            let written = first - base..rows.end.min(base + GROUP_ROWS) - base;
            let groups = &v[group * nb..(group + 1) * nb];
            let out = &mut out[at * stride + first - rows.start..];
            // SAFETY: each set is only chosen when the CPU has its features.
            unsafe {
                match isa {
                    Isa::Avx512Vnni => avx2::q4_1_group_512(groups, xq, out, stride, written),
                    _ => avx2::q4_1_group_256(groups, xq, out, stride, written),
                }
            }
        }
        return;
    }
    let mut values = vec![0.0; tokens];
    for row in rows.clone() {
        row_dot(isa, w, row, x, &mut values);
        for (t, &v) in values.iter().enumerate() {
            out[(at + t) * stride + row - rows.start] = v;
        }
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

    /// Row `r` of `w`'s groups, in the fixed order of the module docs: the same bits as the
    /// AVX2 kernels.
    pub fn dot_q4_1(w: &[GroupQ4_1], r: usize, x: &[BlockQ8]) -> f32 {
        let mut out = 0.0;
        for (w, x) in w.chunks(SEGMENT).zip(x.chunks(SEGMENT)) {
            let (mut low, mut high, mut minimum) = (0.0f32, 0.0f32, 0.0f32);
            for (w, x) in w.iter().zip(x) {
                let (d, m) = w.scales(r);
                let scale = d * x.d;
                let sum = |values: Range<usize>| -> i32 {
                    values
                        .map(|v| i32::from(w.code(r, v)) * i32::from(x.qs[v]))
                        .sum()
                };
                low = (sum(0..BLOCK / 2) as f32).mul_add(scale, low);
                high = (sum(BLOCK / 2..BLOCK) as f32).mul_add(scale, high);
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

    /// [`quantize_activations`](super::quantize_activations) eight values at a time, to the
    /// same bits: the maximum ignores NaN as `f32::max` does, and rounding half away from zero
    /// is the truncation plus one step where the dropped fraction reaches a half (exact for
    /// values clamped to the `i8` range first; NaN becomes 0).
    #[target_feature(enable = "avx2,fma,f16c")]
    pub unsafe fn quantize_activations(x: &[f32], out: &mut [BlockQ8]) {
        let sign = _mm256_set1_ps(-0.0);
        let (low, high) = (_mm256_set1_ps(-128.0), _mm256_set1_ps(127.0));
        let (half, minus_half) = (_mm256_set1_ps(0.5), _mm256_set1_ps(-0.5));
        let one = _mm256_set1_ps(1.0);
        // `packs` interleaves 128-bit lanes; this puts the 32 bytes back in order.
        let order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
        for (block, x) in out.iter_mut().zip(x.chunks_exact(BLOCK)) {
            let p = x.as_ptr();
            let v = [
                _mm256_loadu_ps(p),
                _mm256_loadu_ps(p.add(8)),
                _mm256_loadu_ps(p.add(16)),
                _mm256_loadu_ps(p.add(24)),
            ];
            // `max_ps(a, b)` is `b` when `a` is NaN.
            let mut m = _mm256_setzero_ps();
            for v in v {
                m = _mm256_max_ps(_mm256_andnot_ps(sign, v), m);
            }
            let m = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
            let m = _mm_max_ps(m, _mm_movehl_ps(m, m));
            let amax = _mm_cvtss_f32(_mm_max_ss(m, _mm_shuffle_ps(m, m, 1)));
            let d = amax / 127.0;
            let id = _mm256_set1_ps(if d > 0.0 { 1.0 / d } else { 0.0 });
            let mut q = [_mm256_setzero_si256(); 4];
            for (q, v) in q.iter_mut().zip(v) {
                let v = _mm256_mul_ps(v, id);
                let v = _mm256_and_ps(v, _mm256_cmp_ps(v, v, _CMP_ORD_Q));
                let v = _mm256_min_ps(_mm256_max_ps(v, low), high);
                let t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
                let f = _mm256_sub_ps(v, t);
                let up = _mm256_and_ps(_mm256_cmp_ps(f, half, _CMP_GE_OQ), one);
                let down = _mm256_and_ps(_mm256_cmp_ps(f, minus_half, _CMP_LE_OQ), one);
                *q = _mm256_cvttps_epi32(_mm256_sub_ps(_mm256_add_ps(t, up), down));
            }
            let sums = _mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3]));
            let sums = _mm_add_epi32(
                _mm256_castsi256_si128(sums),
                _mm256_extracti128_si256(sums, 1),
            );
            let sums = _mm_add_epi32(sums, _mm_shuffle_epi32(sums, 0b01_00_11_10));
            let sum =
                _mm_cvtsi128_si32(_mm_add_epi32(sums, _mm_shuffle_epi32(sums, 0b10_11_00_01)));
            let bytes = _mm256_packs_epi16(
                _mm256_packs_epi32(q[0], q[1]),
                _mm256_packs_epi32(q[2], q[3]),
            );
            _mm256_storeu_si256(
                block.qs.as_mut_ptr().cast(),
                _mm256_permutevar8x32_epi32(bytes, order),
            );
            block.d = d;
            block.s = d * sum as f32;
        }
    }

    /// Generates a Q4_1 kernel: one group's sixteen rows (`nb` [`GroupQ4_1`]s) against every
    /// token of `x: [tokens, nb]`, in the fixed order of the module docs, writing
    /// `out[t * stride + r - rows.start]` for the group's rows `r` in `rows`. `$lanes` is the
    /// vector width's module: the group is taken in `$lanes::PARTS` parts of `$lanes::ROWS` rows
    /// (one `f32` lane a row). Token tiles of up to [`Q4_TILE`] keep their three running sums a
    /// row in registers while each block is decoded once per tile.
    macro_rules! q4_1_kernel {
        ($name:ident, $features:literal, $lanes:ident) => {
            #[target_feature(enable = $features)]
            pub unsafe fn $name(
                w: &[GroupQ4_1],
                x: &[BlockQ8],
                out: &mut [f32],
                stride: usize,
                rows: Range<usize>,
            ) {
                use $lanes::*;

                /// Writes `out[t * stride + r - rows.start]` for the part's rows `r` in `rows`
                /// and the `N` tokens `t` of `x`.
                #[target_feature(enable = $features)]
                unsafe fn tile<const N: usize>(
                    w: &[GroupQ4_1],
                    x: &[BlockQ8],
                    part: usize,
                    out: &mut [f32],
                    stride: usize,
                    rows: &Range<usize>,
                ) {
                    let nb = w.len();
                    let mut total = [zero(); N];
                    for start in (0..nb).step_by(SEGMENT) {
                        let (mut low, mut high, mut minimum) =
                            ([zero(); N], [zero(); N], [zero(); N]);
                        for b in start..(start + SEGMENT).min(nb) {
                            if N > 1 {
                                prefetch(w, b + PREFETCH_AHEAD);
                            }
                            let (d, m) = scales(&w[b], part);
                            let c = codes::<0>(&w[b], part);
                            for t in 0..N {
                                let xb = &x[t * nb + b];
                                let scale = mul(d, set1(xb.d));
                                low[t] = fmadd(sums(&c, first_half(&xb.qs)), scale, low[t]);
                            }
                            let c = codes::<4>(&w[b], part);
                            for t in 0..N {
                                let xb = &x[t * nb + b];
                                let scale = mul(d, set1(xb.d));
                                high[t] = fmadd(sums(&c, second_half(&xb.qs)), scale, high[t]);
                                minimum[t] = fmadd(m, set1(xb.s), minimum[t]);
                            }
                        }
                        for t in 0..N {
                            total[t] = add(total[t], add(add(low[t], high[t]), minimum[t]));
                        }
                    }
                    let first = part * ROWS;
                    let written = rows.start.max(first)..rows.end.min(first + ROWS);
                    let mut values = [0.0f32; ROWS];
                    for (t, total) in total.iter().enumerate() {
                        store(*total, &mut values);
                        let out = &mut out[t * stride + written.start - rows.start..];
                        out[..written.len()]
                            .copy_from_slice(&values[written.start - first..][..written.len()]);
                    }
                }

                let nb = w.len();
                let tokens = x.len() / nb;
                for part in 0..PARTS {
                    if (part + 1) * ROWS <= rows.start || rows.end <= part * ROWS {
                        continue;
                    }
                    q4_tiles!(tokens, |t, N| tile::<N>(
                        w,
                        &x[t * nb..(t + N) * nb],
                        part,
                        &mut out[t * stride..],
                        stride,
                        &rows
                    ));
                }
            }
        };
    }

    /// Blocks ahead of the one being multiplied whose groups are fetched into L1 when a tile
    /// has several tokens: the hardware prefetchers alone left the kernel waiting on each
    /// block's first line (a third of its time at 8 tokens, `perf`). A lone token's reads keep
    /// them busy enough: asking for its blocks too made it 10–40 % slower.
    const PREFETCH_AHEAD: usize = 4;

    /// Asks for group `b`'s cache lines, if `w` has one.
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn prefetch(w: &[GroupQ4_1], b: usize) {
        if let Some(group) = w.get(b) {
            let p: *const i8 = (group as *const GroupQ4_1).cast();
            for line in 0..size_of::<GroupQ4_1>() / 64 {
                _mm_prefetch::<_MM_HINT_T0>(p.add(64 * line));
            }
        }
    }

    /// Tokens a Q4_1 kernel's tile takes at once: its `3·N` running sums, four code vectors and
    /// the scales fit in AVX-512's 32 vector registers.
    const Q4_TILE: usize = 6;

    /// Calls `$body` with const `$n` on tiles of [`Q4_TILE`] tokens, then one tile of the rest.
    macro_rules! q4_tiles {
        ($tokens:expr, |$t:ident, $n:ident| $body:expr) => {{
            let tokens = $tokens;
            let mut $t = 0;
            while $t + Q4_TILE <= tokens {
                const $n: usize = Q4_TILE;
                $body;
                $t += Q4_TILE;
            }
            match tokens - $t {
                0 => {}
                1 => {
                    const $n: usize = 1;
                    $body
                }
                2 => {
                    const $n: usize = 2;
                    $body
                }
                3 => {
                    const $n: usize = 3;
                    $body
                }
                4 => {
                    const $n: usize = 4;
                    $body
                }
                _ => {
                    const $n: usize = 5;
                    $body
                }
            }
        }};
    }

    q4_1_kernel!(q4_1_group_256, "avx2,fma,f16c", lanes256);
    q4_1_kernel!(
        q4_1_group_512,
        "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni",
        lanes512
    );

    #[inline]
    fn first_half(x: &[i8; BLOCK]) -> &[i8; 16] {
        x[..16].try_into().expect("a block's first half")
    }

    #[inline]
    fn second_half(x: &[i8; BLOCK]) -> &[i8; 16] {
        x[16..].try_into().expect("a block's second half")
    }

    /// Four activations (bytes `4j .. 4j + 4` of `x`) as one `i32`, to broadcast.
    #[inline]
    fn four(x: &[i8; 16], j: usize) -> i32 {
        let bytes: &[i8; 4] = x[4 * j..4 * j + 4]
            .try_into()
            .expect("four of sixteen bytes");
        i32::from_le_bytes(bytes.map(|b| b as u8))
    }

    /// Q4_1 groups on 256-bit vectors: two parts of eight rows; the sums by `vpmaddubsw` and
    /// `vpmaddwd` (pairs of products, then eight products, fit in `i16`: at most 8·15·127).
    mod lanes256 {
        use super::*;

        pub const ROWS: usize = 8;
        pub const PARTS: usize = GROUP_ROWS / ROWS;

        #[inline]
        #[target_feature(enable = "avx2,fma,f16c")]
        pub unsafe fn scales(g: &GroupQ4_1, part: usize) -> (__m256, __m256) {
            (
                _mm256_cvtph_ps(_mm_loadu_si128(g.d.as_ptr().add(ROWS * part).cast())),
                _mm256_cvtph_ps(_mm_loadu_si128(g.m.as_ptr().add(ROWS * part).cast())),
            )
        }

        /// The part's codes of values 0..16 (`SHIFT` 0: the low nibbles) or 16..32 (`SHIFT`
        /// 4: the high nibbles).
        #[inline]
        #[target_feature(enable = "avx2,fma,f16c")]
        pub unsafe fn codes<const SHIFT: i32>(g: &GroupQ4_1, part: usize) -> [__m256i; 4] {
            let mask = _mm256_set1_epi8(0x0f);
            let mut codes = [_mm256_setzero_si256(); 4];
            for (j, codes) in codes.iter_mut().enumerate() {
                let p = _mm256_loadu_si256(g.qs.as_ptr().add(64 * j + 32 * part).cast());
                *codes = _mm256_and_si256(_mm256_srli_epi16::<SHIFT>(p), mask);
            }
            codes
        }

        /// Each row's `Σ code·x` over the sixteen values `x`, as `f32` (exact).
        #[inline]
        #[target_feature(enable = "avx2,fma,f16c")]
        pub unsafe fn sums(codes: &[__m256i; 4], x: &[i8; 16]) -> __m256 {
            let mut product = [_mm256_setzero_si256(); 4];
            for (j, (product, codes)) in product.iter_mut().zip(codes).enumerate() {
                *product = _mm256_maddubs_epi16(*codes, _mm256_set1_epi32(four(x, j)));
            }
            let s16 = _mm256_add_epi16(
                _mm256_add_epi16(product[0], product[1]),
                _mm256_add_epi16(product[2], product[3]),
            );
            _mm256_cvtepi32_ps(_mm256_madd_epi16(s16, ones()))
        }

        #[inline]
        #[target_feature(enable = "avx2,fma,f16c")]
        pub unsafe fn zero() -> __m256 {
            _mm256_setzero_ps()
        }

        #[inline]
        #[target_feature(enable = "avx2,fma,f16c")]
        pub unsafe fn set1(v: f32) -> __m256 {
            _mm256_set1_ps(v)
        }

        #[inline]
        #[target_feature(enable = "avx2,fma,f16c")]
        pub unsafe fn mul(a: __m256, b: __m256) -> __m256 {
            _mm256_mul_ps(a, b)
        }

        #[inline]
        #[target_feature(enable = "avx2,fma,f16c")]
        pub unsafe fn add(a: __m256, b: __m256) -> __m256 {
            _mm256_add_ps(a, b)
        }

        #[inline]
        #[target_feature(enable = "avx2,fma,f16c")]
        pub unsafe fn fmadd(a: __m256, b: __m256, c: __m256) -> __m256 {
            _mm256_fmadd_ps(a, b, c)
        }

        #[inline]
        #[target_feature(enable = "avx2,fma,f16c")]
        pub unsafe fn store(v: __m256, out: &mut [f32; ROWS]) {
            _mm256_storeu_ps(out.as_mut_ptr(), v)
        }
    }

    /// Q4_1 groups on 512-bit vectors: one part of sixteen rows; the sums by `vpdpbusd`.
    mod lanes512 {
        use super::*;

        pub const ROWS: usize = GROUP_ROWS;
        pub const PARTS: usize = 1;

        #[inline]
        #[target_feature(enable = "avx512f,avx512bw,avx512vnni,f16c")]
        pub unsafe fn scales(g: &GroupQ4_1, _part: usize) -> (__m512, __m512) {
            (
                _mm512_cvtph_ps(_mm256_loadu_si256(g.d.as_ptr().cast())),
                _mm512_cvtph_ps(_mm256_loadu_si256(g.m.as_ptr().cast())),
            )
        }

        /// The codes of values 0..16 (`SHIFT` 0: the low nibbles) or 16..32 (`SHIFT` 4: the
        /// high nibbles).
        #[inline]
        #[target_feature(enable = "avx512f,avx512bw,avx512vnni,f16c")]
        pub unsafe fn codes<const SHIFT: u32>(g: &GroupQ4_1, _part: usize) -> [__m512i; 4] {
            let mask = _mm512_set1_epi8(0x0f);
            let mut codes = [_mm512_setzero_si512(); 4];
            for (j, codes) in codes.iter_mut().enumerate() {
                // `GroupQ4_1` is 64-byte aligned, and so is each of its four vectors.
                let p = _mm512_load_si512(g.qs.as_ptr().add(64 * j).cast());
                *codes = _mm512_and_si512(_mm512_srli_epi16::<SHIFT>(p), mask);
            }
            codes
        }

        /// Each row's `Σ code·x` over the sixteen values `x`, as `f32` (exact).
        #[inline]
        #[target_feature(enable = "avx512f,avx512bw,avx512vnni,f16c")]
        pub unsafe fn sums(codes: &[__m512i; 4], x: &[i8; 16]) -> __m512 {
            let mut sums = _mm512_setzero_si512();
            for (j, codes) in codes.iter().enumerate() {
                sums = _mm512_dpbusd_epi32(sums, *codes, _mm512_set1_epi32(four(x, j)));
            }
            _mm512_cvtepi32_ps(sums)
        }

        #[inline]
        #[target_feature(enable = "avx512f")]
        pub unsafe fn zero() -> __m512 {
            _mm512_setzero_ps()
        }

        #[inline]
        #[target_feature(enable = "avx512f")]
        pub unsafe fn set1(v: f32) -> __m512 {
            _mm512_set1_ps(v)
        }

        #[inline]
        #[target_feature(enable = "avx512f")]
        pub unsafe fn mul(a: __m512, b: __m512) -> __m512 {
            _mm512_mul_ps(a, b)
        }

        #[inline]
        #[target_feature(enable = "avx512f")]
        pub unsafe fn add(a: __m512, b: __m512) -> __m512 {
            _mm512_add_ps(a, b)
        }

        #[inline]
        #[target_feature(enable = "avx512f")]
        pub unsafe fn fmadd(a: __m512, b: __m512, c: __m512) -> __m512 {
            _mm512_fmadd_ps(a, b, c)
        }

        #[inline]
        #[target_feature(enable = "avx512f")]
        pub unsafe fn store(v: __m512, out: &mut [f32; ROWS]) {
            _mm512_storeu_ps(out.as_mut_ptr(), v)
        }
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

    /// Sixteen `1_i16`, to sum pairs of `i16` into `i32`.
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn ones() -> __m256i {
        _mm256_set1_epi16(1)
    }
}
