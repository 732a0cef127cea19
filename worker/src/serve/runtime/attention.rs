//! Causal attention of one sequence's new queries to its KV cache, for the query heads that
//! share one key/value head (grouped-query attention): each cached key and value is read once
//! for all of them, while each head's scores, softmax and output are computed exactly as they
//! would be alone (the same operations in the same order, so the same bits).
//!
//! The keys a query sees are the cached positions left visible (all of them, or all but those
//! an ablation hides: attention knockout) followed by the new tokens up to its own. One body for
//! every instruction set, generic over its two inner loops: the dot product of a query with a
//! key and the `out += weight · value` update; AVX2 gives both in FMA intrinsics.

use super::kernels::Isa;

/// Keys and values of one run of positions, `[positions, kv_dim]` each.
pub type KeyValues<'a> = (&'a [f32], &'a [f32]);

/// Where the queries sit and which key/value head they read.
#[derive(Clone, Copy, Debug)]
pub struct Heads {
    /// Values per head.
    pub head_dim: usize,
    /// Query heads per key/value head.
    pub group: usize,
    /// The key/value head (its `head_dim` values at `kv_head · head_dim` of a key row).
    pub kv_head: usize,
    /// Values per key row (every key/value head's).
    pub kv_dim: usize,
}

/// - q: the group's queries of each new token, `[len, group · head_dim]`
/// - past: the cached positions the queries see, runs in position order (hidden ones left out)
/// - new: the new tokens' keys and values, `[len, kv_dim]` each; token `i` sees `..=i`
/// - output: `[len, group · head_dim]`
///
/// Scores are taken in the order of `past` then `new`, so a query sees the same sums whether
/// the cache was filled in one pass or many.
pub fn attend(
    isa: Isa,
    q: &[f32],
    past: &[KeyValues<'_>],
    new: KeyValues<'_>,
    heads: Heads,
) -> Vec<f32> {
    match isa {
        Isa::Scalar => attend_with::<Portable>(q, past, new, heads),
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `Isa::Avx2` and `Isa::Avx512Vnni` are only chosen when the CPU has AVX2 and
        // FMA.
        Isa::Avx2 | Isa::Avx512Vnni => unsafe { attend_avx2(q, past, new, heads) },
    }
}

/// Positions ahead of the one being read whose key (or value) is asked for early: a head's
/// slice of a row is a few cache lines a row apart, and without asking the loops waited on
/// them (most of attention's time at 8 streams, `perf`).
const AHEAD: usize = 8;

/// The inner loops of [`attend_with`].
trait Lanes {
    /// Asks for `v[at..at + len]` in cache, if `v` holds it (a hint: it changes no value).
    fn prefetch(v: &[f32], at: usize, len: usize);
    /// `a · b`
    fn dot(a: &[f32], b: &[f32]) -> f32;
    /// `out += weight · v`
    fn axpy(weight: f32, v: &[f32], out: &mut [f32]);
}

struct Portable;

impl Lanes for Portable {
    #[inline(always)]
    fn prefetch(_: &[f32], _: usize, _: usize) {}

    #[inline(always)]
    fn dot(a: &[f32], b: &[f32]) -> f32 {
        a.iter().zip(b).map(|(x, y)| x * y).sum()
    }

    #[inline(always)]
    fn axpy(weight: f32, v: &[f32], out: &mut [f32]) {
        for (o, v) in out.iter_mut().zip(v) {
            *o += weight * v;
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn attend_avx2(
    q: &[f32],
    past: &[KeyValues<'_>],
    new: KeyValues<'_>,
    heads: Heads,
) -> Vec<f32> {
    attend_with::<avx2::Fma>(q, past, new, heads)
}

#[inline(always)]
fn attend_with<L: Lanes>(
    q: &[f32],
    past: &[KeyValues<'_>],
    new: KeyValues<'_>,
    heads: Heads,
) -> Vec<f32> {
    let Heads {
        head_dim,
        group,
        kv_head,
        kv_dim,
    } = heads;
    let scale = 1.0 / (head_dim as f32).sqrt();
    let at = kv_head * head_dim;
    let width = group * head_dim;
    let mut out = vec![0.0; q.len()];
    let cached: usize = past.iter().map(|(k, _)| k.len() / kv_dim).sum();
    let seen = cached + new.0.len() / kv_dim;
    // `scores[g * seen + j]`: head `g`'s score of key `j`.
    let mut scores = vec![0.0f32; group * seen];
    let mut inverse = vec![0.0f32; group];
    for (i, (q, out)) in q
        .chunks_exact(width)
        .zip(out.chunks_exact_mut(width))
        .enumerate()
    {
        // Row `i` sees every visible cached position and the new ones up to its own.
        let runs = || {
            past.iter().copied().chain(std::iter::once((
                &new.0[..(i + 1) * kv_dim],
                &new.1[..(i + 1) * kv_dim],
            )))
        };
        let head = |j: usize, key: &[f32]| {
            for (g, q) in q.chunks_exact(head_dim).enumerate() {
                scores[g * seen + j] = L::dot(q, key) * scale;
            }
        };
        let n = each_head_row::<L>(runs().map(|(keys, _)| keys), kv_dim, at, head_dim, head);
        for (scores, inverse) in scores.chunks_exact_mut(seen).zip(inverse.iter_mut()) {
            let scores = &mut scores[..n];
            let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let mut total = 0.0;
            for s in scores.iter_mut() {
                *s = (*s - max).exp();
                total += *s;
            }
            *inverse = 1.0 / total;
        }
        let value = |j: usize, value: &[f32]| {
            for (g, out) in out.chunks_exact_mut(head_dim).enumerate() {
                L::axpy(scores[g * seen + j] * inverse[g], value, out);
            }
        };
        each_head_row::<L>(
            runs().map(|(_, values)| values),
            kv_dim,
            at,
            head_dim,
            value,
        );
    }
    out
}

/// Calls `f(j, row[at..at + len])` for each row `j` of the runs (`[positions, kv_dim]` each), in
/// order, asking for the row [`AHEAD`] positions on early; returns the number of rows.
#[inline(always)]
fn each_head_row<'a, L: Lanes>(
    runs: impl Iterator<Item = &'a [f32]>,
    kv_dim: usize,
    at: usize,
    len: usize,
    mut f: impl FnMut(usize, &[f32]),
) -> usize {
    let mut j = 0;
    for run in runs {
        for (r, row) in run.chunks_exact(kv_dim).enumerate() {
            L::prefetch(run, (r + AHEAD) * kv_dim + at, len);
            f(j, &row[at..at + len]);
            j += 1;
        }
    }
    j
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{Lanes, Portable};
    use std::arch::x86_64::*;

    /// AVX2 with FMA; only used from `attend_avx2`, which requires both.
    pub struct Fma;

    impl Lanes for Fma {
        #[inline(always)]
        fn prefetch(v: &[f32], at: usize, len: usize) {
            if at + len <= v.len() {
                // SAFETY: the lines asked for are within `v`; prefetching reads nothing.
                unsafe {
                    for line in (0..len).step_by(16) {
                        _mm_prefetch::<_MM_HINT_T0>(v.as_ptr().add(at + line).cast());
                    }
                }
            }
        }

        #[inline(always)]
        fn dot(a: &[f32], b: &[f32]) -> f32 {
            // SAFETY: `Fma` is only used where the CPU has AVX2 and FMA.
            unsafe { dot(a, b) }
        }

        #[inline(always)]
        fn axpy(weight: f32, v: &[f32], out: &mut [f32]) {
            // SAFETY: as above.
            unsafe { axpy(weight, v, out) }
        }
    }

    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn dot(a: &[f32], b: &[f32]) -> f32 {
        let n = a.len().min(b.len());
        let lanes = n / 16 * 16;
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut acc = (_mm256_setzero_ps(), _mm256_setzero_ps());
        // Two accumulators keep two FMA chains in flight; every load is within `..lanes`.
        for i in (0..lanes).step_by(16) {
            let (a0, b0) = (_mm256_loadu_ps(pa.add(i)), _mm256_loadu_ps(pb.add(i)));
            let (a1, b1) = (
                _mm256_loadu_ps(pa.add(i + 8)),
                _mm256_loadu_ps(pb.add(i + 8)),
            );
            acc.0 = _mm256_fmadd_ps(a0, b0, acc.0);
            acc.1 = _mm256_fmadd_ps(a1, b1, acc.1);
        }
        let v = _mm256_add_ps(acc.0, acc.1);
        let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
        _mm_cvtss_f32(s) + Portable::dot(&a[lanes..n], &b[lanes..n])
    }

    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn axpy(weight: f32, v: &[f32], out: &mut [f32]) {
        let n = v.len().min(out.len());
        let lanes = n / 8 * 8;
        let w = _mm256_set1_ps(weight);
        let (pv, po) = (v.as_ptr(), out.as_mut_ptr());
        for i in (0..lanes).step_by(8) {
            let o = _mm256_fmadd_ps(w, _mm256_loadu_ps(pv.add(i)), _mm256_loadu_ps(po.add(i)));
            _mm256_storeu_ps(po.add(i), o);
        }
        Portable::axpy(weight, &v[lanes..n], &mut out[lanes..n]);
    }
}
