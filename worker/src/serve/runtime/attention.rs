//! Causal attention of one sequence's new queries to its KV cache, for one query head.
//!
//! The keys a query sees are the cached positions left visible (all of them, or all but those
//! an ablation hides: attention knockout) followed by the new tokens up to its own. One body for
//! every instruction set, generic over its two inner loops: the dot product of a query with a
//! key and the `out += weight · value` update; AVX2 gives both in FMA intrinsics.

use super::kernels::Isa;

/// Keys and values of one run of positions, `[positions, kv_dim]` each.
pub type KeyValues<'a> = (&'a [f32], &'a [f32]);

/// - q: the head's query of each new token, `[len, head_dim]`
/// - past: the cached positions the queries see, runs in position order (hidden ones left out)
/// - new: the new tokens' keys and values, `[len, kv_dim]` each; token `i` sees `..=i`
/// - output: `[len, head_dim]`
///
/// Scores are taken in the order of `past` then `new`, so a query sees the same sums whether
/// the cache was filled in one pass or many.
#[allow(clippy::too_many_arguments)]
pub fn attend(
    isa: Isa,
    q: &[f32],
    past: &[KeyValues<'_>],
    new: KeyValues<'_>,
    kv_dim: usize,
    head_dim: usize,
    kv_head: usize,
) -> Vec<f32> {
    match isa {
        Isa::Scalar => attend_with::<Portable>(q, past, new, kv_dim, head_dim, kv_head),
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `Isa::Avx2` and `Isa::Avx512Vnni` are only chosen when the CPU has AVX2 and
        // FMA.
        Isa::Avx2 | Isa::Avx512Vnni => unsafe {
            attend_avx2(q, past, new, kv_dim, head_dim, kv_head)
        },
    }
}

/// The inner loops of [`attend_with`].
trait Lanes {
    /// `a · b`
    fn dot(a: &[f32], b: &[f32]) -> f32;
    /// `out += weight · v`
    fn axpy(weight: f32, v: &[f32], out: &mut [f32]);
}

struct Portable;

impl Lanes for Portable {
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
    kv_dim: usize,
    head_dim: usize,
    kv_head: usize,
) -> Vec<f32> {
    attend_with::<avx2::Fma>(q, past, new, kv_dim, head_dim, kv_head)
}

#[inline(always)]
fn attend_with<L: Lanes>(
    q: &[f32],
    past: &[KeyValues<'_>],
    new: KeyValues<'_>,
    kv_dim: usize,
    head_dim: usize,
    kv_head: usize,
) -> Vec<f32> {
    let scale = 1.0 / (head_dim as f32).sqrt();
    let at = kv_head * head_dim;
    let mut out = vec![0.0; q.len()];
    let cached: usize = past.iter().map(|(k, _)| k.len() / kv_dim).sum();
    let mut scores = Vec::with_capacity(cached + new.0.len() / kv_dim);
    for (i, (q, out)) in q
        .chunks_exact(head_dim)
        .zip(out.chunks_exact_mut(head_dim))
        .enumerate()
    {
        // Row `i` sees every visible cached position and the new ones up to its own.
        let runs = || {
            past.iter().copied().chain(std::iter::once((
                &new.0[..(i + 1) * kv_dim],
                &new.1[..(i + 1) * kv_dim],
            )))
        };
        scores.clear();
        for (keys, _) in runs() {
            for key in keys.chunks_exact(kv_dim) {
                scores.push(L::dot(q, &key[at..at + head_dim]) * scale);
            }
        }
        let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut total = 0.0;
        for s in scores.iter_mut() {
            *s = (*s - max).exp();
            total += *s;
        }
        let inverse = 1.0 / total;
        let values = runs().flat_map(|(_, values)| values.chunks_exact(kv_dim));
        for (s, value) in scores.iter().zip(values) {
            L::axpy(s * inverse, &value[at..at + head_dim], out);
        }
    }
    out
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{Lanes, Portable};
    use std::arch::x86_64::*;

    /// AVX2 with FMA; only used from `attend_avx2`, which requires both.
    pub struct Fma;

    impl Lanes for Fma {
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
