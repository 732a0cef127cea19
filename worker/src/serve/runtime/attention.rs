//! Causal attention of one sequence's new queries to its KV cache, for the query heads that
//! share one key/value head (grouped-query attention): each cached key and value is read once
//! for all of them (with AVX-512, once for every four heads of 64 values, whose sums stay in
//! registers), while each head's scores, softmax and output are computed exactly as they would
//! be alone (the same operations in the same order, so the same bits). The cache keeps `f32`s
//! or `f16`s ([`KvValue`]), widened exactly as they are read.
//!
//! The keys a query sees are the cached positions left visible (all of them, or all but those
//! an ablation hides: attention knockout) followed by the new tokens up to its own. One body for
//! every instruction set, generic over its two loops over the rows ([`Loops`]): the scores (a
//! query's dot product with each key) and the `out += weight · value` updates.
//!
//! **The same bits on every instruction set.** A score's dot product has one order, AVX2's:
//! two 8-lane FMA chains over the head's values 16 at a time (lane `l` of the first sums
//! values `16i + l`, of the second `16i + 8 + l`), added lane by lane, then halved three times
//! (lane `l` with `l + 4`, `l` with `l + 2`, `l` with `l + 1`), then the values past the last
//! multiple of 16 summed in order. An update is one FMA per value (`out = weight · value +
//! out`), rows in order. The portable path spells both out with `mul_add`; with AVX-512 a
//! 16-lane chain is both of AVX2's at once, and sixteen rows' sums are halved together.

use super::exp::exp_in_place;
use super::kernels::Isa;
use super::lane::KvValue;
use super::scratch::{self, Scratch};
use std::marker::PhantomData;

/// One key/value head's keys and values of a run of positions, `[positions, head_dim]` each, as
/// the cache keeps them.
pub type KeyValues<'a, E = f32> = (&'a [E], &'a [E]);

/// The shape of a key/value head's group.
#[derive(Clone, Copy, Debug)]
pub struct Heads {
    /// Values per head.
    pub head_dim: usize,
    /// Query heads per key/value head.
    pub group: usize,
}

/// - q: the group's queries of each new token, `[len, group · head_dim]`
/// - past: the cached positions the queries see, runs in position order (hidden ones left out)
/// - new: the new tokens' keys and values; token `i` sees `..=i`
/// - output: `[len, group · head_dim]`
///
/// Scores are taken in the order of `past` then `new`, so a query sees the same sums whether
/// the cache was filled in one pass or many. The cache keeps `E`s: the new keys and values are
/// narrowed to `E` first, so that they are the same values now as once cached.
pub fn attend<E: KvValue>(
    isa: Isa,
    q: &[f32],
    past: &[KeyValues<'_, E>],
    new: KeyValues<'_, f32>,
    heads: Heads,
) -> Vec<f32> {
    let (keys, values) = (E::narrow_all(new.0), E::narrow_all(new.1));
    let new = (&*keys, &*values);
    match isa {
        Isa::Scalar => attend_with::<ByRow<Portable>, E>(isa, q, past, new, heads),
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `Isa::Avx2` and `Isa::Avx512Vnni` are only chosen when the CPU has AVX2, FMA
        // and F16C.
        Isa::Avx2 => unsafe { attend_avx2(q, past, new, heads) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `Isa::Avx512Vnni` is only chosen when the CPU has AVX-512 F (and AVX2, FMA,
        // F16C).
        Isa::Avx512Vnni => unsafe {
            match (heads.head_dim % 16, heads.head_dim / 16) {
                (0, 4) => attend_avx512::<E, 4>(q, past, new, heads),
                (0, 8) => attend_avx512::<E, 8>(q, past, new, heads),
                _ => attend_avx2(q, past, new, heads),
            }
        },
    }
}

thread_local! {
    /// Each thread's scores ([`scratch`]).
    static SCORES: Scratch<f32> = const { Scratch::new(Vec::new()) };
}

/// Positions ahead of the one being read whose key (and value) is asked for early: at 8
/// streams the caches outgrow the last-level cache, and without asking the loops waited on
/// memory (most of attention's time, `perf`). The hint differs by path, as measured on the
/// hosts each path ran on (alternated in one run): the AVX2 path asks with the non-temporal
/// hint, which made 8-stream decode steps 2–5 % shorter than `t0` on a 2-core AMD EPYC (AVX2
/// only, 5 of 5); the AVX-512 path asks for L1 (`t0`): on a 2-core Intel Xeon with AVX-512
/// and 15 GB/s the non-temporal hint made 8-stream steps 20–40 % longer than `t0` and one-stream
/// steps 5–6 % (4 runs while other builds ran; `perf` put half of attention's samples on the
/// prefetches; `t1` and `t2` were about as fast as `t0`), and on an earlier AVX-512 Intel host the
/// hints did not differ.
const AHEAD: usize = 16;

/// The two loops over the rows a query sees, in the module's order of operations.
trait Loops {
    /// `scores[g · seen + j] = (q_g · key_j) · scale` for each row `j` of `keys` (the group's
    /// heads `g`); returns the number of rows.
    fn scores<'a, E: KvValue>(
        q: &[f32],
        keys: impl Iterator<Item = KeyValues<'a, E>>,
        heads: Heads,
        scale: f32,
        seen: usize,
        scores: &mut [f32],
    ) -> usize;

    /// `out_g += weights[g · seen + j] · value_j` for each row `j` of `values`, in order.
    fn values<'a, E: KvValue>(
        weights: &[f32],
        values: impl Iterator<Item = KeyValues<'a, E>> + Clone,
        heads: Heads,
        seen: usize,
        out: &mut [f32],
    );
}

/// Asking for a row's values early.
trait Prefetch {
    /// Asks for `v[at..at + len]` in cache, if `v` holds it (a hint: it changes no value).
    fn prefetch<E>(v: &[E], at: usize, len: usize);
}

/// One row at a time: a dot product and an update per head.
trait Lanes: Prefetch {
    /// `a · b`
    fn dot<E: KvValue>(a: &[f32], b: &[E]) -> f32;
    /// `out += weight · v`
    fn axpy<E: KvValue>(weight: f32, v: &[E], out: &mut [f32]);
}

/// [`Loops`] of [`Lanes`]: each row's key meets every head's query in turn.
struct ByRow<L>(PhantomData<L>);

impl<L: Lanes> Loops for ByRow<L> {
    #[inline(always)]
    fn scores<'a, E: KvValue>(
        q: &[f32],
        keys: impl Iterator<Item = KeyValues<'a, E>>,
        heads: Heads,
        scale: f32,
        seen: usize,
        scores: &mut [f32],
    ) -> usize {
        each_head_row::<L, E>(keys, Side::Keys, heads, |j, key| {
            for (g, q) in q.chunks_exact(heads.head_dim).enumerate() {
                scores[g * seen + j] = L::dot(q, key) * scale;
            }
        })
    }

    #[inline(always)]
    fn values<'a, E: KvValue>(
        weights: &[f32],
        values: impl Iterator<Item = KeyValues<'a, E>> + Clone,
        heads: Heads,
        seen: usize,
        out: &mut [f32],
    ) {
        each_head_row::<L, E>(values, Side::Values, heads, |j, value| {
            for (g, out) in out.chunks_exact_mut(heads.head_dim).enumerate() {
                L::axpy(weights[g * seen + j], value, out);
            }
        });
    }
}

struct Portable;

impl Prefetch for Portable {
    #[inline(always)]
    fn prefetch<E>(_: &[E], _: usize, _: usize) {}
}

impl Lanes for Portable {
    /// AVX2's order (module docs), one lane at a time.
    #[inline(always)]
    fn dot<E: KvValue>(a: &[f32], b: &[E]) -> f32 {
        let n = a.len().min(b.len());
        let lanes = n / 16 * 16;
        let mut chains = [0.0f32; 16];
        for (a, b) in a[..lanes].chunks_exact(16).zip(b[..lanes].chunks_exact(16)) {
            for ((sum, a), b) in chains.iter_mut().zip(a).zip(b) {
                *sum = a.mul_add(b.widen(), *sum);
            }
        }
        let v: [f32; 8] = std::array::from_fn(|l| chains[l] + chains[l + 8]);
        let s: [f32; 4] = std::array::from_fn(|l| v[l] + v[l + 4]);
        ((s[0] + s[2]) + (s[1] + s[3])) + tail_dot(&a[lanes..n], &b[lanes..n])
    }

    #[inline(always)]
    fn axpy<E: KvValue>(weight: f32, v: &[E], out: &mut [f32]) {
        let lanes = v.len().min(out.len()) / 8 * 8;
        for (o, v) in out[..lanes].iter_mut().zip(&v[..lanes]) {
            *o = weight.mul_add(v.widen(), *o);
        }
        tail_axpy(weight, &v[lanes..], &mut out[lanes..]);
    }
}

/// The values of a dot product past its last 16, in order.
#[inline(always)]
fn tail_dot<E: KvValue>(a: &[f32], b: &[E]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y.widen()).sum()
}

/// The values of an update past its last 8, unfused.
#[inline(always)]
fn tail_axpy<E: KvValue>(weight: f32, v: &[E], out: &mut [f32]) {
    for (o, v) in out.iter_mut().zip(v) {
        *o += weight * v.widen();
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn attend_avx2<E: KvValue>(
    q: &[f32],
    past: &[KeyValues<'_, E>],
    new: KeyValues<'_, E>,
    heads: Heads,
) -> Vec<f32> {
    attend_with::<ByRow<avx2::Fma>, E>(Isa::Avx2, q, past, new, heads)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma,f16c")]
unsafe fn attend_avx512<E: KvValue, const C: usize>(
    q: &[f32],
    past: &[KeyValues<'_, E>],
    new: KeyValues<'_, E>,
    heads: Heads,
) -> Vec<f32> {
    attend_with::<avx512::Wide<C>, E>(Isa::Avx512Vnni, q, past, new, heads)
}

#[inline(always)]
fn attend_with<K: Loops, E: KvValue>(
    isa: Isa,
    q: &[f32],
    past: &[KeyValues<'_, E>],
    new: KeyValues<'_, E>,
    heads: Heads,
) -> Vec<f32> {
    let Heads { head_dim, group } = heads;
    let scale = 1.0 / (head_dim as f32).sqrt();
    let width = group * head_dim;
    let mut out = vec![0.0; q.len()];
    let cached: usize = past.iter().map(|(k, _)| k.len() / head_dim).sum();
    let seen = cached + new.0.len() / head_dim;
    // `scores[g * seen + j]`: head `g`'s score of key `j`, then its weight.
    let mut scores = scratch::take(&SCORES, group * seen, 0.0f32);
    for (i, (q, out)) in q
        .chunks_exact(width)
        .zip(out.chunks_exact_mut(width))
        .enumerate()
    {
        // Row `i` sees every visible cached position and the new ones up to its own.
        let runs = || {
            past.iter().copied().chain(std::iter::once((
                &new.0[..(i + 1) * head_dim],
                &new.1[..(i + 1) * head_dim],
            )))
        };
        let n = K::scores(q, runs(), heads, scale, seen, &mut scores);
        softmax(isa, &mut scores, seen, n);
        K::values(&scores, runs(), heads, seen, out);
    }
    SCORES.set(scores);
    out
}

/// Each head's softmax of its first `n` scores (`scores[g · seen..][..n]`): `exp(s − max)`, then
/// each divided by their total, summed in order. The maximum is exact in any order, so it is
/// taken sixteen lanes at a time; the totals, each a chain of dependent additions, run for all
/// the group's heads in lockstep, so the chains wait on each other's latency no more.
#[inline(always)]
fn softmax(isa: Isa, scores: &mut [f32], seen: usize, n: usize) {
    for scores in scores.chunks_exact_mut(seen) {
        let scores = &mut scores[..n];
        let max = maximum(scores);
        scores.iter_mut().for_each(|s| *s -= max);
        exp_in_place(isa, scores);
    }
    for heads in scores.chunks_mut(LOCKSTEP * seen) {
        let mut totals = [0.0f32; LOCKSTEP];
        let group = heads.len() / seen;
        for j in 0..n {
            for (g, total) in totals[..group].iter_mut().enumerate() {
                *total += heads[g * seen + j];
            }
        }
        for (scores, total) in heads.chunks_exact_mut(seen).zip(totals) {
            let inverse = 1.0 / total;
            scores[..n].iter_mut().for_each(|s| *s *= inverse);
        }
    }
}

/// Heads whose softmax totals are summed in lockstep.
const LOCKSTEP: usize = 8;

/// The largest value (`-∞` for none); NaNs are passed over, as `f32::max` passes them over.
#[inline(always)]
fn maximum(values: &[f32]) -> f32 {
    let mut lanes = [f32::NEG_INFINITY; 16];
    let chunks = values.chunks_exact(16);
    let rest = chunks.remainder();
    for chunk in chunks {
        for (lane, v) in lanes.iter_mut().zip(chunk) {
            *lane = lane.max(*v);
        }
    }
    lanes
        .iter()
        .chain(rest)
        .copied()
        .fold(f32::NEG_INFINITY, f32::max)
}

/// Which rows a pass over the cache reads.
#[derive(Clone, Copy, PartialEq)]
enum Side {
    /// The keys (the first pass): the values are asked for too, for the pass after it.
    Keys,
    Values,
}

/// Calls `f(j, row)` for each key (or value) row `j` of the runs, in order, asking for the
/// row [`AHEAD`] positions on early; returns the number of rows.
#[inline(always)]
fn each_head_row<'a, P: Prefetch, E: KvValue>(
    runs: impl Iterator<Item = KeyValues<'a, E>>,
    side: Side,
    heads: Heads,
    mut f: impl FnMut(usize, &[E]),
) -> usize {
    let head_dim = heads.head_dim;
    let mut j = 0;
    for (keys, values) in runs {
        let run = if side == Side::Keys { keys } else { values };
        for (r, row) in run.chunks_exact(head_dim).enumerate() {
            let ahead = (r + AHEAD) * head_dim;
            P::prefetch(run, ahead, head_dim);
            if side == Side::Keys {
                P::prefetch(values, ahead, head_dim);
            }
            f(j, row);
            j += 1;
        }
    }
    j
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{tail_axpy, tail_dot, KvValue, Lanes, Prefetch};
    use std::arch::x86_64::*;

    /// AVX2 with FMA; only used where the CPU has both.
    pub struct Fma;

    impl Prefetch for Fma {
        #[inline(always)]
        fn prefetch<E>(v: &[E], at: usize, len: usize) {
            prefetch::<_MM_HINT_NTA, E>(v, at, len);
        }
    }

    /// Asks for the cache lines of `v[at..at + len]` with `HINT`, if `v` holds them.
    #[inline(always)]
    pub fn prefetch<const HINT: i32, E>(v: &[E], at: usize, len: usize) {
        if at + len <= v.len() {
            // SAFETY: the lines asked for are within `v`; prefetching reads nothing.
            unsafe {
                for line in (0..len).step_by(64 / size_of::<E>()) {
                    _mm_prefetch::<HINT>(v.as_ptr().add(at + line).cast());
                }
            }
        }
    }

    impl Lanes for Fma {
        #[inline(always)]
        fn dot<E: KvValue>(a: &[f32], b: &[E]) -> f32 {
            // SAFETY: `Fma` is only used where the CPU has AVX2, FMA and F16C.
            unsafe { dot(a, b) }
        }

        #[inline(always)]
        fn axpy<E: KvValue>(weight: f32, v: &[E], out: &mut [f32]) {
            // SAFETY: as above.
            unsafe { axpy(weight, v, out) }
        }
    }

    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn dot<E: KvValue>(a: &[f32], b: &[E]) -> f32 {
        let n = a.len().min(b.len());
        let lanes = n / 16 * 16;
        let (pa, pb) = (a.as_ptr(), b.as_ptr());
        let mut acc = (_mm256_setzero_ps(), _mm256_setzero_ps());
        // Two accumulators keep two FMA chains in flight; every load is within `..lanes`.
        for i in (0..lanes).step_by(16) {
            let (a0, b0) = (_mm256_loadu_ps(pa.add(i)), E::load8(pb.add(i)));
            let (a1, b1) = (_mm256_loadu_ps(pa.add(i + 8)), E::load8(pb.add(i + 8)));
            acc.0 = _mm256_fmadd_ps(a0, b0, acc.0);
            acc.1 = _mm256_fmadd_ps(a1, b1, acc.1);
        }
        let v = _mm256_add_ps(acc.0, acc.1);
        let s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
        let s = _mm_add_ps(s, _mm_movehl_ps(s, s));
        let s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
        _mm_cvtss_f32(s) + tail_dot(&a[lanes..n], &b[lanes..n])
    }

    #[inline]
    #[target_feature(enable = "avx2,fma,f16c")]
    unsafe fn axpy<E: KvValue>(weight: f32, v: &[E], out: &mut [f32]) {
        let n = v.len().min(out.len());
        let lanes = n / 8 * 8;
        let w = _mm256_set1_ps(weight);
        let (pv, po) = (v.as_ptr(), out.as_mut_ptr());
        for i in (0..lanes).step_by(8) {
            let o = _mm256_fmadd_ps(w, E::load8(pv.add(i)), _mm256_loadu_ps(po.add(i)));
            _mm256_storeu_ps(po.add(i), o);
        }
        tail_axpy(weight, &v[lanes..n], &mut out[lanes..n]);
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    //! Heads of `16 · C` values on 512-bit vectors: a head is `C` vectors, so one 16-lane FMA
    //! chain is AVX2's two 8-lane chains side by side. A row's key is loaded once for every
    //! head of the group; the chains of sixteen rows are then halved together (four rounds of
    //! shuffles and adds for sixteen rows, where one row alone takes four of its own). A
    //! head's update keeps its `C` vectors of output in registers across the rows.

    use super::avx2::prefetch;
    use super::scratch::{self, Scratch};
    use super::{each_head_row, tail_dot, Heads, KeyValues, KvValue, Loops, Prefetch, Side};
    use std::arch::x86_64::*;

    thread_local! {
        /// Each thread's running sums ([`scratch`]).
        static CHAINS: Scratch<__m512> = const { Scratch::new(Vec::new()) };
    }

    /// Only used from `attend_avx512`, which requires AVX-512 F.
    pub struct Wide<const C: usize>;

    /// The accumulator slot of a block's row `p`: the halving leaves slot `4r + k` in lane
    /// `4k + r`, so row `p` goes to the slot that lands in lane `p`.
    const SLOT: [usize; 16] = {
        let mut slot = [0; 16];
        let mut p = 0;
        while p < 16 {
            slot[p] = 4 * (p % 4) + p / 4;
            p += 1;
        }
        slot
    };

    impl<const C: usize> Prefetch for Wide<C> {
        #[inline(always)]
        fn prefetch<E>(v: &[E], at: usize, len: usize) {
            prefetch::<_MM_HINT_T0, E>(v, at, len);
        }
    }

    impl<const C: usize> Loops for Wide<C> {
        #[inline(always)]
        fn scores<'a, E: KvValue>(
            q: &[f32],
            keys: impl Iterator<Item = KeyValues<'a, E>>,
            heads: Heads,
            scale: f32,
            seen: usize,
            scores: &mut [f32],
        ) -> usize {
            // SAFETY: `Wide` only runs where the CPU has AVX-512 F.
            unsafe { scores_512::<E, C>(q, keys, heads, scale, seen, scores) }
        }

        #[inline(always)]
        fn values<'a, E: KvValue>(
            weights: &[f32],
            values: impl Iterator<Item = KeyValues<'a, E>> + Clone,
            heads: Heads,
            seen: usize,
            out: &mut [f32],
        ) {
            // SAFETY: as above.
            unsafe { values_512::<E, C>(weights, values, heads, seen, out) }
        }
    }

    // The loops are functions of their own (not closures of `Loops`' methods) so that the
    // closures they pass `each_head_row` inherit AVX-512 and inline their intrinsics.

    /// [`Loops::scores`]; every load is within a row or query of `16 · C` values, every store
    /// within `scores` (masked to the block's rows).
    #[inline]
    #[target_feature(enable = "avx512f,avx2,fma")]
    unsafe fn scores_512<'a, E: KvValue, const C: usize>(
        q: &[f32],
        keys: impl Iterator<Item = KeyValues<'a, E>>,
        heads: Heads,
        scale: f32,
        seen: usize,
        scores: &mut [f32],
    ) -> usize {
        let Heads {
            head_dim, group, ..
        } = heads;
        debug_assert_eq!(head_dim, 16 * C);
        // The empty sum of the values past the last 16 (none here), added as AVX2 adds it.
        let tail = _mm512_set1_ps(tail_dot::<f32>(&[], &[]));
        let scale = _mm512_set1_ps(scale);
        let mut chains = scratch::take(&CHAINS, group * 16, _mm512_setzero_ps());
        let flush = |chains: &[__m512], first: usize, rows: usize, scores: &mut [f32]| {
            let mask = (((1u32 << rows) - 1) & 0xffff) as u16;
            for (g, chains) in chains.chunks_exact(16).enumerate() {
                let sums = _mm512_mul_ps(_mm512_add_ps(halve(chains), tail), scale);
                _mm512_mask_storeu_ps(scores.as_mut_ptr().add(g * seen + first), mask, sums);
            }
        };
        let rows = each_head_row::<Wide<C>, E>(keys, Side::Keys, heads, |j, key| {
            let key: [__m512; C] = std::array::from_fn(|c| E::load16(key.as_ptr().add(16 * c)));
            for (g, q) in q.chunks_exact(head_dim).enumerate() {
                let mut sum = _mm512_setzero_ps();
                for (c, key) in key.iter().enumerate() {
                    sum = _mm512_fmadd_ps(_mm512_loadu_ps(q.as_ptr().add(16 * c)), *key, sum);
                }
                chains[g * 16 + SLOT[j % 16]] = sum;
            }
            if j % 16 == 15 {
                flush(&chains, j - 15, 16, scores);
            }
        });
        if !rows.is_multiple_of(16) {
            flush(&chains, rows - rows % 16, rows % 16, scores);
        }
        CHAINS.set(chains);
        rows
    }

    /// [`Loops::values`]: the group's heads a few at a time ([`values_of_heads`]), as many as
    /// keep sixteen vectors of sums.
    #[inline]
    #[target_feature(enable = "avx512f,avx2,fma")]
    unsafe fn values_512<'a, E: KvValue, const C: usize>(
        weights: &[f32],
        values: impl Iterator<Item = KeyValues<'a, E>> + Clone,
        heads: Heads,
        seen: usize,
        out: &mut [f32],
    ) {
        let mut first = 0;
        while first < heads.group {
            let take = (heads.group - first).min(16 / C);
            let at = (weights, values.clone(), heads, seen, first);
            match take {
                1 => values_of_heads::<E, C, 1>(at, out),
                2 => values_of_heads::<E, C, 2>(at, out),
                3 => values_of_heads::<E, C, 3>(at, out),
                _ => values_of_heads::<E, C, 4>(at, out),
            }
            first += take;
        }
    }

    /// `H` heads' updates from `first` on, their sums in registers across the rows: a row's
    /// values are loaded (and widened) once for the `H` heads, and `H · C` independent FMA
    /// chains run where one head's `C` waited on each other. Each head's updates are still
    /// one FMA per value, rows in order. Loads and stores within rows and heads of `16 · C`
    /// values.
    #[inline]
    #[target_feature(enable = "avx512f,avx2,fma")]
    unsafe fn values_of_heads<'a, E: KvValue, const C: usize, const H: usize>(
        (weights, values, heads, seen, first): (
            &[f32],
            impl Iterator<Item = KeyValues<'a, E>>,
            Heads,
            usize,
            usize,
        ),
        out: &mut [f32],
    ) {
        let out = &mut out[first * heads.head_dim..(first + H) * heads.head_dim];
        let weights: [&[f32]; H] = std::array::from_fn(|h| &weights[(first + h) * seen..]);
        let mut sum: [[__m512; C]; H] = std::array::from_fn(|h| {
            std::array::from_fn(|c| _mm512_loadu_ps(out.as_ptr().add(h * heads.head_dim + 16 * c)))
        });
        each_head_row::<Wide<C>, E>(values, Side::Values, heads, |j, value| {
            let value: [__m512; C] = std::array::from_fn(|c| E::load16(value.as_ptr().add(16 * c)));
            for (sum, weights) in sum.iter_mut().zip(&weights) {
                let w = _mm512_set1_ps(weights[j]);
                for (sum, value) in sum.iter_mut().zip(&value) {
                    *sum = _mm512_fmadd_ps(w, *value, *sum);
                }
            }
        });
        for (h, sum) in sum.iter().enumerate() {
            for (c, sum) in sum.iter().enumerate() {
                _mm512_storeu_ps(out.as_mut_ptr().add(h * heads.head_dim + 16 * c), *sum);
            }
        }
    }

    /// Sixteen 16-lane chains (in [`SLOT`] order) to their sixteen sums, lane `p` the sum of
    /// row `p`, each halved as AVX2 halves one: lane `l` with `l + 8`, then `l + 4`, `l + 2`,
    /// `l + 1`.
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn halve(chains: &[__m512]) -> __m512 {
        // Lanes 0–7 and 8–15 of two chains: each 256-bit half is one chain's eight sums.
        let eights: [__m512; 8] = std::array::from_fn(|k| {
            let (a, b) = (chains[2 * k], chains[2 * k + 1]);
            _mm512_add_ps(
                _mm512_shuffle_f32x4::<0b01_00_01_00>(a, b),
                _mm512_shuffle_f32x4::<0b11_10_11_10>(a, b),
            )
        });
        // Each 128-bit block one chain's four sums.
        let fours: [__m512; 4] = std::array::from_fn(|m| {
            let (a, b) = (eights[2 * m], eights[2 * m + 1]);
            _mm512_add_ps(
                _mm512_shuffle_f32x4::<0b10_00_10_00>(a, b),
                _mm512_shuffle_f32x4::<0b11_01_11_01>(a, b),
            )
        });
        // Each 64-bit pair one chain's two sums.
        let twos: [__m512; 2] = std::array::from_fn(|n| {
            let (a, b) = (
                _mm512_castps_pd(fours[2 * n]),
                _mm512_castps_pd(fours[2 * n + 1]),
            );
            _mm512_add_ps(
                _mm512_castpd_ps(_mm512_unpacklo_pd(a, b)),
                _mm512_castpd_ps(_mm512_unpackhi_pd(a, b)),
            )
        });
        _mm512_add_ps(
            _mm512_shuffle_ps::<0b10_00_10_00>(twos[0], twos[1]),
            _mm512_shuffle_ps::<0b11_01_11_01>(twos[0], twos[1]),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use half::f16;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    fn values(rng: &mut StdRng, n: usize) -> Vec<f32> {
        (0..n).map(|_| rng.random_range(-2.0..2.0)).collect()
    }

    /// Every instruction set gives the scalar path's bits, for heads of 64 and 128 values (the
    /// 512-bit loops; groups of heads that split into runs of one to four heads of updates in
    /// registers), of 24 (a tail past the last 16) and of 8, with cached runs split by a
    /// hidden range and rows that are not a multiple of 16; for caches of `f32` and of `f16`,
    /// where an `f16` cache gives the bits an `f32` cache holding the same (rounded) values
    /// gives, on every instruction set.
    #[test]
    fn every_instruction_set_gives_the_same_bits() {
        let mut rng = StdRng::seed_from_u64(7);
        for (head_dim, group) in [(64, 3), (64, 5), (128, 2), (128, 3), (24, 4), (8, 1)] {
            for (cached, len) in [(0, 1), (37, 1), (40, 5), (3, 17)] {
                let keys = values(&mut rng, cached * head_dim);
                let vals = values(&mut rng, cached * head_dim);
                let new_keys = values(&mut rng, len * head_dim);
                let new_vals = values(&mut rng, len * head_dim);
                let q = values(&mut rng, len * group * head_dim);
                let heads = Heads { head_dim, group };
                let case = format!("head_dim {head_dim}, {cached} cached, {len} new");
                let wide = same_bits_on_every_isa(&q, &keys, &vals, (&new_keys, &new_vals), heads);
                assert!(wide.iter().all(|v| v.is_finite()), "{case}");
                assert!(wide.iter().any(|v| *v != 0.0), "{case}");
                let narrow =
                    |v: &[f32]| -> Vec<f16> { v.iter().map(|&x| f16::from_f32(x)).collect() };
                let round =
                    |v: &[f32]| -> Vec<f32> { narrow(v).iter().map(|x| x.to_f32()).collect() };
                let half = same_bits_on_every_isa(
                    &q,
                    &narrow(&keys),
                    &narrow(&vals),
                    (&new_keys, &new_vals),
                    heads,
                );
                let rounded = same_bits_on_every_isa(
                    &q,
                    &round(&keys),
                    &round(&vals),
                    (&round(&new_keys), &round(&new_vals)),
                    heads,
                );
                assert_eq!(bits(&half), bits(&rounded), "f16 cache, {case}");
                assert_ne!(bits(&half), bits(&wide), "f16 cache rounds, {case}");
            }
        }
    }

    /// The softmax's lockstep totals and lane-wise maxima give the bits of each head's softmax
    /// alone, in order: over groups of one to twenty heads (past one lockstep), rows past the
    /// first `n`, and values from -30 to 30 with ties for the maximum and signed zeros.
    #[test]
    fn the_softmax_is_each_heads_own_in_order() {
        let mut rng = StdRng::seed_from_u64(11);
        for group in [1, 3, 8, 9, 20] {
            for (seen, n) in [(1, 1), (17, 17), (40, 33), (101, 101)] {
                let mut scores: Vec<f32> = (0..group * seen)
                    .map(|_| match rng.random_range(0..10) {
                        0 => 0.0,
                        1 => -0.0,
                        2 => 30.0,
                        _ => rng.random_range(-30.0..30.0),
                    })
                    .collect();
                let mut alone = scores.clone();
                for scores in alone.chunks_exact_mut(seen) {
                    let scores = &mut scores[..n];
                    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                    scores.iter_mut().for_each(|s| *s -= max);
                    exp_in_place(Isa::Scalar, scores);
                    let total = scores.iter().fold(0.0, |total, s| total + s);
                    scores.iter_mut().for_each(|s| *s *= 1.0 / total);
                }
                softmax(Isa::Scalar, &mut scores, seen, n);
                assert_eq!(bits(&scores), bits(&alone), "{group} heads, {n} of {seen}");
            }
        }
    }

    fn bits(v: &[f32]) -> Vec<u32> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    /// The scalar path's output, after checking that every instruction set gives its bits; the
    /// cached positions 2..5 hidden, when there are that many.
    fn same_bits_on_every_isa<E: KvValue>(
        q: &[f32],
        keys: &[E],
        vals: &[E],
        new: KeyValues<'_, f32>,
        heads: Heads,
    ) -> Vec<f32> {
        let cached = keys.len() / heads.head_dim;
        let (split, resume) = (
            cached.min(2) * heads.head_dim,
            cached.min(5) * heads.head_dim,
        );
        let past = [
            (&keys[..split], &vals[..split]),
            (&keys[resume..], &vals[resume..]),
        ];
        let run = |isa| attend(isa, q, &past, new, heads);
        let scalar = run(Isa::Scalar);
        for isa in Isa::available() {
            assert_eq!(
                bits(&run(isa)),
                bits(&scalar),
                "{isa:?}, {heads:?}, {cached} cached"
            );
        }
        scalar
    }
}
