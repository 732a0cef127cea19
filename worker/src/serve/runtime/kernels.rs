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
//! so a batch of sequences costs little more weight decoding than one. Both formats' weights
//! are kept in groups ([`GroupQ8_0`], [`GroupQ4_1`]: one block of sixteen rows, each row's
//! codes in its own 32-bit lane, four values a lane): four of a token's activations broadcast
//! to every lane meet all sixteen rows' codes in one integer multiply-add, whose `i32` lanes
//! are already the rows' partial sums — one 512-bit `vpdpbusd` with AVX-512 VNNI, `vpmaddubsw`
//! and `vpmaddwd` on each 8-row half without it (integer sums: the same bits either way).
//!
//! **Every product is the same bits whatever else is in the pass.** A token's `W[row] · x`
//! is summed in one fixed order, whichever other tokens (of other sequences) share the pass,
//! where the token sits in it, how the rows are split between threads, and — for Q4_1 — on
//! the scalar path too. An attribution a juror recomputes alone must equal the one the operator
//! computed under load (`docs/attribution.md`), and a kernel that took another summation
//! order for a lone token (the last of a tile, or a batch of one) moved its logits in the last
//! bits, and its attribution's parts per million with them. The quantized formats' fixed
//! order, per row and token, over segments of [`SEGMENT`] blocks (a block's 32 products are
//! summed as integers, exactly, whatever the instructions; Q8_0 has no minimum):
//!
//! ```text
//! acc = 0       per block i:  acc = fma(Σ_{v<32} q_v·x_v,  d_i·d_x, acc)
//!                             acc = fma(m_i, s_x, acc)            (Q4_1)
//! out += acc    per segment (out starts at 0)
//! ```
//!
//! One running sum a token (Q4_1 kept a block's two halves and the minima's terms in three
//! until 2026-12-02) lets a tile hold eight tokens' sums in registers: a whole 8-stream step.

use super::quant::{quantize_activations, QMatrix, WeightFormat};
use super::quant::{BlockQ8, GroupQ4_1, GroupQ8_0, Storage, BLOCK, GROUP_ROWS};
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
                        sum: 0,
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
        // The SIMD paths take the grouped formats a group at a time in `rows_dot`, to the same
        // bits.
        (Storage::Q8_0(v), TokenRows::Q8(x)) => {
            let (g, r) = (row / GROUP_ROWS, row % GROUP_ROWS);
            let groups = &v[g * nb..(g + 1) * nb];
            for (o, x) in out.iter_mut().zip(x.chunks_exact(nb)) {
                *o = scalar::dot_q8_0(groups, r, x);
            }
        }
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

/// Tokens a kernel's tile takes at once (the `f32` kernel's largest tile; the grouped kernels'
/// running sums, a block's code vectors and its scales fit in AVX-512's 32 vector registers).
pub const TILE: usize = 8;

/// Weight blocks a kernel takes at a time (2 KiB of Q4_1 codes, in L1); Q4_1's sums restart
/// per segment (module docs).
const SEGMENT: usize = 64;

/// `out[(at + t) * stride + row - rows.start] = W[row] · x[t]` for each row of `rows` and each
/// of the `tokens` tokens of `x` (a token's rows side by side, as the product's output has
/// them): [`row_dot`] row by row, except for the grouped formats on the SIMD paths, where a
/// group's sixteen rows are taken together whatever the number of tokens, and only the rows of
/// `rows` are written.
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
    if let (Isa::Avx2 | Isa::Avx512Vnni, TokenRows::Q8(xq)) = (isa, x) {
        let nb = w.cols / BLOCK;
        let xq = &xq[..tokens * nb];
        let out = &mut out[at * stride..];
        let wide = isa == Isa::Avx512Vnni;
        // SAFETY (each kernel): each set is only chosen when the CPU has its features.
        match &w.storage {
            Storage::Q8_0(v) => {
                return each_group(v, nb, rows, out, |g, out, written| unsafe {
                    if wide {
                        avx2::q8_0_group_512(g, nb, xq, out, stride, written)
                    } else {
                        avx2::q8_0_group_256(g, nb, xq, out, stride, written)
                    }
                })
            }
            Storage::Q4_1(v) => {
                return each_group(v, nb, rows, out, |g, out, written| unsafe {
                    if wide {
                        avx2::q4_1_group_512(g, nb, xq, out, stride, written)
                    } else {
                        avx2::q4_1_group_256(g, nb, xq, out, stride, written)
                    }
                })
            }
            _ => {}
        }
    }
    let mut values = vec![0.0; tokens];
    for row in rows.clone() {
        row_dot(isa, w, row, x, &mut values);
        for (t, &v) in values.iter().enumerate() {
            out[(at + t) * stride + row - rows.start] = v;
        }
    }
}

/// Calls `kernel(groups, out, written)` for each group of sixteen rows that `rows` touches,
/// with `groups` from the group's first block on (its `nb` blocks, then the groups after it,
/// which the kernel only asks into the cache), `out` from the group's first row in `rows` and
/// `written` the group's rows in `rows`.
#[cfg(target_arch = "x86_64")]
fn each_group<G>(
    groups: &[G],
    nb: usize,
    rows: Range<usize>,
    out: &mut [f32],
    mut kernel: impl FnMut(&[G], &mut [f32], Range<usize>),
) {
    for group in rows.start / GROUP_ROWS..rows.end.div_ceil(GROUP_ROWS) {
        let base = GROUP_ROWS * group;
        let first = base.max(rows.start);
        let written = first - base..rows.end.min(base + GROUP_ROWS) - base;
        kernel(
            &groups[group * nb..],
            &mut out[first - rows.start..],
            written,
        );
    }
}

mod scalar {
    use super::*;

    pub fn dot_f32(w: &[f32], x: &[f32]) -> f32 {
        w.iter().zip(x).map(|(w, x)| w * x).sum()
    }

    /// Row `r` of `w`'s groups, in the fixed order of the module docs: the same bits as the
    /// SIMD kernels.
    pub fn dot_q8_0(w: &[GroupQ8_0], r: usize, x: &[BlockQ8]) -> f32 {
        let mut out = 0.0;
        for (w, x) in w.chunks(SEGMENT).zip(x.chunks(SEGMENT)) {
            let mut acc = 0.0f32;
            for (w, x) in w.iter().zip(x) {
                let sum: i32 = (0..BLOCK)
                    .map(|v| i32::from(w.code(r, v)) * i32::from(x.qs[v]))
                    .sum();
                acc = (sum as f32).mul_add(w.scale(r) * x.d, acc);
            }
            out += acc;
        }
        out
    }

    /// Row `r` of `w`'s groups, in the fixed order of the module docs: the same bits as the
    /// AVX2 kernels.
    pub fn dot_q4_1(w: &[GroupQ4_1], r: usize, x: &[BlockQ8]) -> f32 {
        let mut out = 0.0;
        for (w, x) in w.chunks(SEGMENT).zip(x.chunks(SEGMENT)) {
            let mut acc = 0.0f32;
            for (w, x) in w.iter().zip(x) {
                let (d, m) = w.scales(r);
                let sum: i32 = (0..BLOCK)
                    .map(|v| i32::from(w.code(r, v)) * i32::from(x.qs[v]))
                    .sum();
                acc = (sum as f32).mul_add(d * x.d, acc);
                acc = m.mul_add(x.s, acc);
            }
            out += acc;
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
            while $t + TILE <= tokens {
                const $n: usize = TILE;
                $body;
                $t += TILE;
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
            block.sum = sum;
        }
    }

    /// Generates a kernel for a grouped format: one group's sixteen rows (`w`'s first `nb`
    /// blocks; the groups after them are only asked for ahead) against every token of
    /// `x: [tokens, nb]`, in the fixed order of the module docs, writing
    /// `out[t * stride + r - rows.start]` for the group's rows `r` in `rows`. `$lanes` is the
    /// vector width's module: the group is taken in `$lanes::PARTS` parts of `$lanes::ROWS` rows
    /// (one `f32` lane a row); `$lanes::$format` decodes a part of a block once per tile and
    /// sums its products with a token's as integers. The floating-point steps, the module docs'
    /// order, are here once for every width and format. Tiles of up to [`TILE`] tokens keep a
    /// running sum for each row and token.
    macro_rules! group_kernel {
        ($name:ident, $features:literal, $lanes:ident, $format:ident) => {
            #[target_feature(enable = $features)]
            pub unsafe fn $name(
                w: &[$lanes::$format::Group],
                nb: usize,
                x: &[BlockQ8],
                out: &mut [f32],
                stride: usize,
                rows: Range<usize>,
            ) {
                use $lanes::$format::{block_sum, decode, minimum, Group};
                use $lanes::*;

                /// Writes `out[t * stride + r - rows.start]` for the group's rows `r` in `rows` and
                /// the `N` tokens `t` of `x`: block by block, each of the group's parts that
                /// `rows` touches in turn, so a block's lines are used while they are fresh and
                /// asked for once. (Each part over all blocks, then the next, was 8 % slower for a
                /// step's products at 8 tokens on an AVX2 AMD host, 27 % for one matrix read from
                /// memory by one thread; a lone token's time did not change.)
                #[target_feature(enable = $features)]
                unsafe fn tile<const N: usize>(
                    w: &[Group],
                    nb: usize,
                    x: &[BlockQ8],
                    parts: Range<usize>,
                    out: &mut [f32],
                    stride: usize,
                    rows: &Range<usize>,
                ) {
                    let mut total = [[zero(); N]; PARTS];
                    for start in (0..nb).step_by(SEGMENT) {
                        let mut acc = [[zero(); N]; PARTS];
                        for b in start..(start + SEGMENT).min(nb) {
                            if N > 1 {
                                prefetch(w, b + PREFETCH_AHEAD);
                            }
                            for part in parts.clone() {
                                let block = decode(&w[b], part);
                                let m = minimum(&block);
                                let acc = &mut acc[part];
                                for t in 0..N {
                                    let xb = &x[t * nb + b];
                                    let sum = block_sum(&block, xb);
                                    acc[t] = fmadd(sum, mul(block.d, set1(xb.d)), acc[t]);
                                    if let Some(m) = m {
                                        acc[t] = fmadd(m, set1(xb.s), acc[t]);
                                    }
                                }
                            }
                        }
                        for part in parts.clone() {
                            for t in 0..N {
                                total[part][t] = add(total[part][t], acc[part][t]);
                            }
                        }
                    }
                    let mut values = [0.0f32; ROWS];
                    for part in parts {
                        let first = part * ROWS;
                        let written = rows.start.max(first)..rows.end.min(first + ROWS);
                        for (t, total) in total[part].iter().enumerate() {
                            let out = &mut out[t * stride + written.start - rows.start..];
                            if written.len() == ROWS {
                                // A whole part: stored in place (a copy through `values` was a
                                // library call a token, 3 % of an 8-stream decode).
                                let out: &mut [f32; ROWS] =
                                    (&mut out[..ROWS]).try_into().expect("a part's rows");
                                store(*total, out);
                            } else {
                                store(*total, &mut values);
                                out[..written.len()].copy_from_slice(
                                    &values[written.start - first..][..written.len()],
                                );
                            }
                        }
                    }
                }

                let tokens = x.len() / nb;
                let parts = rows.start / ROWS..rows.end.div_ceil(ROWS);
                tiles_of_eight!(tokens, |t, N| tile::<N>(
                    w,
                    nb,
                    &x[t * nb..(t + N) * nb],
                    parts.clone(),
                    &mut out[t * stride..],
                    stride,
                    &rows
                ));
            }
        };
    }

    /// Asks for group `b`'s cache lines into L1, if `w` has one. Tiles of several tokens ask
    /// for the block `PREFETCH_AHEAD` ahead of the one being multiplied: the hardware
    /// prefetchers alone left the kernel waiting on each block's first line (a third of its
    /// time at 8 tokens, `perf`). A lone token's reads keep them busy enough: asking for its
    /// blocks too made it 10–40 % slower. The blocks asked for run on into the next group's:
    /// stopping at a group's last block left the first four of each group's 18 (576 columns)
    /// to the hardware, and 8-stream steps took up to 13 % longer (median 8 %). How far ahead
    /// is the vector width's (`lanes256`, `lanes512`), measured on the hosts each width ran on.
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn prefetch<G>(w: &[G], b: usize) {
        if let Some(group) = w.get(b) {
            let p: *const i8 = (group as *const G).cast();
            for line in 0..size_of::<G>().div_ceil(64) {
                _mm_prefetch::<_MM_HINT_T0>(p.add(64 * line));
            }
        }
    }

    /// Calls `$body` with const `$n` on tiles of [`TILE`] tokens, then one tile of the rest.
    macro_rules! tiles_of_eight {
        ($tokens:expr, |$t:ident, $n:ident| $body:expr) => {{
            let tokens = $tokens;
            let mut $t = 0;
            while $t + TILE <= tokens {
                const $n: usize = TILE;
                $body;
                $t += TILE;
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
                5 => {
                    const $n: usize = 5;
                    $body
                }
                6 => {
                    const $n: usize = 6;
                    $body
                }
                _ => {
                    const $n: usize = 7;
                    $body
                }
            }
        }};
    }

    group_kernel!(q4_1_group_256, "avx2,fma,f16c", lanes256, q4_1);
    group_kernel!(q8_0_group_256, "avx2,fma,f16c", lanes256, q8_0);
    group_kernel!(
        q4_1_group_512,
        "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni",
        lanes512,
        q4_1
    );
    group_kernel!(
        q8_0_group_512,
        "avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni",
        lanes512,
        q8_0
    );

    /// Four activations (bytes `4j .. 4j + 4` of `x`) as one `i32`, to broadcast.
    #[inline]
    fn four(x: &[i8; BLOCK], j: usize) -> i32 {
        let bytes: &[i8; 4] = x[4 * j..4 * j + 4]
            .try_into()
            .expect("four of a block's bytes");
        i32::from_le_bytes(bytes.map(|b| b as u8))
    }

    /// Groups on 256-bit vectors: two parts of eight rows; the sums by `vpmaddubsw` and
    /// `vpmaddwd`.
    mod lanes256 {
        use super::*;

        pub const ROWS: usize = 8;
        pub const PARTS: usize = GROUP_ROWS / ROWS;
        /// Blocks asked for ahead ([`prefetch`]): on a 2-core AMD EPYC (AVX2 only), 2, 8 and 16
        /// made 8-stream decode steps slower than 4 (4 of 4 alternated rounds).
        pub const PREFETCH_AHEAD: usize = 4;

        /// Code vector `j` of a group's `part`.
        #[inline]
        #[target_feature(enable = "avx2,fma,f16c")]
        unsafe fn vector(qs: &[u8], j: usize, part: usize) -> __m256i {
            _mm256_loadu_si256(qs.as_ptr().add(64 * j + 32 * part).cast())
        }

        /// A part's eight `f16` scales.
        #[inline]
        #[target_feature(enable = "avx2,fma,f16c")]
        unsafe fn halves(d: &[u16; GROUP_ROWS], part: usize) -> __m256 {
            _mm256_cvtph_ps(_mm_loadu_si128(d.as_ptr().add(ROWS * part).cast()))
        }

        pub mod q4_1 {
            use super::*;

            pub type Group = GroupQ4_1;

            /// A part's scales, minima and codes: values 0..16 (the low nibbles) in the first
            /// four vectors, 16..32 (the high nibbles) in the last four.
            pub struct Block {
                pub d: __m256,
                m: __m256,
                codes: [__m256i; 8],
            }

            #[inline]
            #[target_feature(enable = "avx2,fma,f16c")]
            pub unsafe fn decode(g: &GroupQ4_1, part: usize) -> Block {
                let mask = _mm256_set1_epi8(0x0f);
                let mut codes = [_mm256_setzero_si256(); 8];
                for j in 0..4 {
                    let p = vector(&g.qs, j, part);
                    codes[j] = _mm256_and_si256(p, mask);
                    codes[4 + j] = _mm256_and_si256(_mm256_srli_epi16::<4>(p), mask);
                }
                Block {
                    d: halves(&g.d, part),
                    m: halves(&g.m, part),
                    codes,
                }
            }

            /// The minima, for their term.
            #[inline]
            pub fn minimum(block: &Block) -> Option<__m256> {
                Some(block.m)
            }

            /// Each row's `Σ code·x` over the block, as `f32` (exact). Sixteen products, at
            /// most 16·15·127, fit in the `i16` lanes before they are widened.
            #[inline]
            #[target_feature(enable = "avx2,fma,f16c")]
            pub unsafe fn block_sum(block: &Block, x: &BlockQ8) -> __m256 {
                let product: [__m256i; 8] = std::array::from_fn(|j| {
                    _mm256_maddubs_epi16(block.codes[j], _mm256_set1_epi32(four(&x.qs, j)))
                });
                let s16 = _mm256_add_epi16(
                    _mm256_add_epi16(
                        _mm256_add_epi16(product[0], product[1]),
                        _mm256_add_epi16(product[2], product[3]),
                    ),
                    _mm256_add_epi16(
                        _mm256_add_epi16(product[4], product[5]),
                        _mm256_add_epi16(product[6], product[7]),
                    ),
                );
                _mm256_cvtepi32_ps(_mm256_madd_epi16(s16, ones()))
            }
        }

        pub mod q8_0 {
            use super::*;

            pub type Group = GroupQ8_0;

            /// A part's scales and codes, as `|q|` and `q` (for its signs: `vpmaddubsw` takes
            /// an unsigned and a signed byte).
            pub struct Block {
                pub d: __m256,
                abs: [__m256i; 8],
                signs: [__m256i; 8],
            }

            #[inline]
            #[target_feature(enable = "avx2,fma,f16c")]
            pub unsafe fn decode(g: &GroupQ8_0, part: usize) -> Block {
                let offset = _mm256_set1_epi8(-128);
                let signs: [__m256i; 8] =
                    std::array::from_fn(|j| _mm256_xor_si256(vector(&g.qs, j, part), offset));
                Block {
                    d: halves(&g.d, part),
                    abs: signs.map(|q| _mm256_abs_epi8(q)),
                    signs,
                }
            }

            /// Q8_0 has no minimum.
            #[inline]
            pub fn minimum(_: &Block) -> Option<__m256> {
                None
            }

            /// Each row's `Σ q·x` over the block, as `f32` (exact). A pair of products is at
            /// most 2·128·127, within `i16`; pairs are widened to `i32` before they are summed.
            #[inline]
            #[target_feature(enable = "avx2,fma,f16c")]
            pub unsafe fn block_sum(block: &Block, x: &BlockQ8) -> __m256 {
                let mut sums = _mm256_setzero_si256();
                for j in 0..8 {
                    let x = _mm256_sign_epi8(_mm256_set1_epi32(four(&x.qs, j)), block.signs[j]);
                    let pairs = _mm256_maddubs_epi16(block.abs[j], x);
                    sums = _mm256_add_epi32(sums, _mm256_madd_epi16(pairs, ones()));
                }
                _mm256_cvtepi32_ps(sums)
            }
        }

        #[inline]
        #[target_feature(enable = "avx2,fma,f16c")]
        pub unsafe fn zero() -> __m256 {
            _mm256_setzero_ps()
        }

        #[inline]
        #[target_feature(enable = "avx2,fma,f16c")]
        pub unsafe fn add(a: __m256, b: __m256) -> __m256 {
            _mm256_add_ps(a, b)
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
        pub unsafe fn fmadd(a: __m256, b: __m256, c: __m256) -> __m256 {
            _mm256_fmadd_ps(a, b, c)
        }

        #[inline]
        #[target_feature(enable = "avx2,fma,f16c")]
        pub unsafe fn store(v: __m256, out: &mut [f32; ROWS]) {
            _mm256_storeu_ps(out.as_mut_ptr(), v)
        }
    }

    /// Groups on 512-bit vectors: one part of sixteen rows; the sums by `vpdpbusd`.
    mod lanes512 {
        use super::*;

        pub const ROWS: usize = GROUP_ROWS;
        pub const PARTS: usize = 1;
        /// Blocks asked for ahead ([`prefetch`]): on a 2-core Intel Xeon with AVX-512 and 15 GB/s,
        /// whose 8-token tiles take a block in fewer cycles than AVX2's, asking 4 ahead left
        /// 8-stream decode steps 8–12 % longer than 12 to 32 ahead (16: −9 to −12 %, 4 of 4
        /// alternated rounds; one stream asks for nothing).
        pub const PREFETCH_AHEAD: usize = 16;

        /// Code vector `j` (`GroupQ4_1` and `GroupQ8_0` are 64-byte aligned, and so is each
        /// of their vectors).
        #[inline]
        #[target_feature(enable = "avx512f,avx512bw,avx512vnni,f16c")]
        unsafe fn vector(qs: &[u8], j: usize) -> __m512i {
            _mm512_load_si512(qs.as_ptr().add(64 * j).cast())
        }

        /// Sixteen `f16` scales.
        #[inline]
        #[target_feature(enable = "avx512f,avx512bw,avx512vnni,f16c")]
        unsafe fn halves(d: &[u16; GROUP_ROWS]) -> __m512 {
            _mm512_cvtph_ps(_mm256_loadu_si256(d.as_ptr().cast()))
        }

        /// Each row's `Σ code·x` over a block's 32 values, the codes unsigned.
        #[inline]
        #[target_feature(enable = "avx512f,avx512bw,avx512vnni,f16c")]
        unsafe fn dot_codes(codes: &[__m512i; 8], x: &[i8; BLOCK]) -> __m512i {
            let mut sums = _mm512_setzero_si512();
            for (j, codes) in codes.iter().enumerate() {
                sums = _mm512_dpbusd_epi32(sums, *codes, _mm512_set1_epi32(four(x, j)));
            }
            sums
        }

        pub mod q4_1 {
            use super::*;

            pub type Group = GroupQ4_1;

            /// The scales, minima and codes: values 0..16 (the low nibbles) in the first four
            /// vectors, 16..32 (the high nibbles) in the last four.
            pub struct Block {
                pub d: __m512,
                m: __m512,
                codes: [__m512i; 8],
            }

            #[inline]
            #[target_feature(enable = "avx512f,avx512bw,avx512vnni,f16c")]
            pub unsafe fn decode(g: &GroupQ4_1, _part: usize) -> Block {
                let mask = _mm512_set1_epi8(0x0f);
                let mut codes = [_mm512_setzero_si512(); 8];
                for j in 0..4 {
                    let p = vector(&g.qs, j);
                    codes[j] = _mm512_and_si512(p, mask);
                    codes[4 + j] = _mm512_and_si512(_mm512_srli_epi16::<4>(p), mask);
                }
                Block {
                    d: halves(&g.d),
                    m: halves(&g.m),
                    codes,
                }
            }

            /// The minima, for their term.
            #[inline]
            pub fn minimum(block: &Block) -> Option<__m512> {
                Some(block.m)
            }

            /// Each row's `Σ code·x` over the block, as `f32` (exact).
            #[inline]
            #[target_feature(enable = "avx512f,avx512bw,avx512vnni,f16c")]
            pub unsafe fn block_sum(block: &Block, x: &BlockQ8) -> __m512 {
                _mm512_cvtepi32_ps(dot_codes(&block.codes, &x.qs))
            }
        }

        pub mod q8_0 {
            use super::*;

            pub type Group = GroupQ8_0;

            /// The scales and the codes, each `q + 128`.
            pub struct Block {
                pub d: __m512,
                codes: [__m512i; 8],
            }

            #[inline]
            #[target_feature(enable = "avx512f,avx512bw,avx512vnni,f16c")]
            pub unsafe fn decode(g: &GroupQ8_0, _part: usize) -> Block {
                Block {
                    d: halves(&g.d),
                    codes: std::array::from_fn(|j| vector(&g.qs, j)),
                }
            }

            /// Q8_0 has no minimum.
            #[inline]
            pub fn minimum(_: &Block) -> Option<__m512> {
                None
            }

            /// Each row's `Σ q·x` over the block, as `f32`: `Σ (q + 128)·x − 128·Σx`, exact in
            /// `i32`.
            #[inline]
            #[target_feature(enable = "avx512f,avx512bw,avx512vnni,f16c")]
            pub unsafe fn block_sum(block: &Block, x: &BlockQ8) -> __m512 {
                let offset = _mm512_set1_epi32(128 * x.sum);
                _mm512_cvtepi32_ps(_mm512_sub_epi32(dot_codes(&block.codes, &x.qs), offset))
            }
        }

        #[inline]
        #[target_feature(enable = "avx512f")]
        pub unsafe fn zero() -> __m512 {
            _mm512_setzero_ps()
        }

        #[inline]
        #[target_feature(enable = "avx512f")]
        pub unsafe fn add(a: __m512, b: __m512) -> __m512 {
            _mm512_add_ps(a, b)
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
        pub unsafe fn fmadd(a: __m512, b: __m512, c: __m512) -> __m512 {
            _mm512_fmadd_ps(a, b, c)
        }

        #[inline]
        #[target_feature(enable = "avx512f")]
        pub unsafe fn store(v: __m512, out: &mut [f32; ROWS]) {
            _mm512_storeu_ps(out.as_mut_ptr(), v)
        }
    }

    /// Sixteen `1_i16`, to sum pairs of `i16` into `i32`.
    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn ones() -> __m256i {
        _mm256_set1_epi16(1)
    }
}
