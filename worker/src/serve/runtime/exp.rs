//! `exp` of `f32`s, computed by the runtime itself rather than by the C library, on vectors.
//!
//! The rule is glibc's `expf` (since 2.28, from Arm's optimized routines) as its FMA build
//! computes it: in `f64`, `x·32/ln 2 = k + r` with `k` an integer and `|r| ≤ 1/2`, then
//! `2^(k/32) · p(r)` with a table of the 32 values `2^(i/32)` and a cubic `p`, rounded once to
//! `f32`. The runtime computes it on every machine, so a model's bits no longer depend on the
//! C library (another libc, or glibc without FMA, rounds a few results differently); on glibc
//! with FMA it is its `expf` to the bit (tested over a sweep of the whole range). Arguments at
//! or beyond ±88 (and NaN) are rare here and go to the library, whose results there (0, a
//! subnormal, infinity) are exact.
//!
//! SwiGLU takes `exp` of every gate value and attention of every score: one library call per
//! value was 7 % of an 8-stream decode step.

use super::kernels::Isa;

/// `32 / ln 2`
const INV_LN2_N: f64 = f64::from_bits(0x4047_1547_652b_82fe);
/// `1.5 · 2^52`: adding it rounds to an integer, kept in the low bits.
const SHIFT: f64 = f64::from_bits(0x4338_0000_0000_0000);
/// The cubic's coefficients of `r³`, `r²` and `r` (its constant term is 1).
const C: [f64; 3] = [
    f64::from_bits(0x3ebc_6af8_4b91_2394),
    f64::from_bits(0x3f2e_bfce_50fa_c4f3),
    f64::from_bits(0x3f96_2e42_ff0c_52d6),
];
/// `bits(2^(i/32)) − i·2^47`: adding `k·2^47` puts `k/32`'s integer part in the exponent.
const TABLE: [u64; 32] = [
    0x3ff0000000000000,
    0x3fefd9b0d3158574,
    0x3fefb5586cf9890f,
    0x3fef9301d0125b51,
    0x3fef72b83c7d517b,
    0x3fef54873168b9aa,
    0x3fef387a6e756238,
    0x3fef1e9df51fdee1,
    0x3fef06fe0a31b715,
    0x3feef1a7373aa9cb,
    0x3feedea64c123422,
    0x3feece086061892d,
    0x3feebfdad5362a27,
    0x3feeb42b569d4f82,
    0x3feeab07dd485429,
    0x3feea47eb03a5585,
    0x3feea09e667f3bcd,
    0x3fee9f75e8ec5f74,
    0x3feea11473eb0187,
    0x3feea589994cce13,
    0x3feeace5422aa0db,
    0x3feeb737b0cdc5e5,
    0x3feec49182a3f090,
    0x3feed503b23e255d,
    0x3feee89f995ad3ad,
    0x3feeff76f2fb5e47,
    0x3fef199bdd85529c,
    0x3fef3720dcef9069,
    0x3fef5818dcfba487,
    0x3fef7c97337b9b5f,
    0x3fefa4afa2a490da,
    0x3fefd0765b6e4540,
];
/// The top 12 bits of `|x|` from which the library computes (`|x| ≥ 88`, infinities, NaN).
const LIBRARY_TOP: u32 = 0x42b;

fn top12(x: f32) -> u32 {
    (x.to_bits() >> 20) & 0x7ff
}

/// `e^x`, the rule of the module docs.
pub fn exp(x: f32) -> f32 {
    if top12(x) >= LIBRARY_TOP {
        return x.exp();
    }
    let xd = f64::from(x);
    let shifted = INV_LN2_N.mul_add(xd, SHIFT);
    let k = shifted.to_bits();
    let r = INV_LN2_N.mul_add(xd, -(shifted - SHIFT));
    let s = f64::from_bits(TABLE[(k % 32) as usize].wrapping_add(k << 47));
    let z = r.mul_add(C[0], C[1]);
    let y = r.mul_add(C[2], 1.0);
    (z.mul_add(r * r, y) * s) as f32
}

/// `v = e^v` for every value of `values`.
pub fn exp_in_place(isa: Isa, values: &mut [f32]) {
    match isa {
        Isa::Scalar => values.iter_mut().for_each(|v| *v = exp(*v)),
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `Isa::Avx2` is only chosen when the CPU has AVX2 and FMA.
        Isa::Avx2 => unsafe { simd::exp_in_place_avx2(values) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `Isa::Avx512Vnni` is only chosen when the CPU has AVX-512 F (and AVX2).
        Isa::Avx512Vnni => unsafe { simd::exp_in_place_avx512(values) },
    }
}

/// The rule in `f64` lanes: the same operations as [`exp`], each rounded once (a fused
/// multiply-add is one rounding in both), so the same bits. Without these, a machine with AVX2
/// but no AVX-512 computed `exp` value by value, and each of its five `mul_add`s was a call to
/// the C library's `fma` (the portable code is built without FMA): SwiGLU alone was 17 % of an
/// 8-stream decode step on such a machine.
#[cfg(target_arch = "x86_64")]
mod simd {
    use super::*;
    use std::arch::x86_64::*;

    /// Eight values at a time through `eight`; a run of eight with any argument for the library
    /// is done value by value, as is the remainder.
    #[inline(always)]
    unsafe fn by_eight(values: &mut [f32], eight: impl Fn(__m256) -> __m256) {
        let mut chunks = values.chunks_exact_mut(8);
        for chunk in &mut chunks {
            let x = _mm256_loadu_ps(chunk.as_ptr());
            let top = _mm256_and_si256(
                _mm256_srli_epi32::<20>(_mm256_castps_si256(x)),
                _mm256_set1_epi32(0x7ff),
            );
            let library = _mm256_cmpgt_epi32(top, _mm256_set1_epi32(LIBRARY_TOP as i32 - 1));
            if _mm256_movemask_epi8(library) != 0 {
                chunk.iter_mut().for_each(|v| *v = exp(*v));
                continue;
            }
            _mm256_storeu_ps(chunk.as_mut_ptr(), eight(x));
        }
        chunks
            .into_remainder()
            .iter_mut()
            .for_each(|v| *v = exp(*v));
    }

    /// Four lanes of `f64` (AVX2): the table read with a gather.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn four(x: __m128) -> __m128 {
        let xd = _mm256_cvtps_pd(x);
        let n = _mm256_set1_pd(INV_LN2_N);
        let shift = _mm256_set1_pd(SHIFT);
        let shifted = _mm256_fmadd_pd(n, xd, shift);
        let k = _mm256_castpd_si256(shifted);
        let r = _mm256_fmsub_pd(n, xd, _mm256_sub_pd(shifted, shift));
        let index = _mm256_and_si256(k, _mm256_set1_epi64x(31));
        let t = _mm256_i64gather_epi64::<8>(TABLE.as_ptr().cast(), index);
        let s = _mm256_castsi256_pd(_mm256_add_epi64(t, _mm256_slli_epi64::<47>(k)));
        let z = _mm256_fmadd_pd(r, _mm256_set1_pd(C[0]), _mm256_set1_pd(C[1]));
        let y = _mm256_fmadd_pd(r, _mm256_set1_pd(C[2]), _mm256_set1_pd(1.0));
        let y = _mm256_mul_pd(_mm256_fmadd_pd(z, _mm256_mul_pd(r, r), y), s);
        _mm256_cvtpd_ps(y)
    }

    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn exp_in_place_avx2(values: &mut [f32]) {
        by_eight(values, |x| {
            let low = four(_mm256_castps256_ps128(x));
            let high = four(_mm256_extractf128_ps::<1>(x));
            _mm256_set_m128(high, low)
        });
    }

    /// Eight lanes of `f64` (AVX-512): the table read with two permutes.
    #[target_feature(enable = "avx2,avx512f")]
    pub unsafe fn exp_in_place_avx512(values: &mut [f32]) {
        let table: [__m512i; 4] =
            std::array::from_fn(|i| _mm512_loadu_si512(TABLE[8 * i..].as_ptr().cast()));
        by_eight(values, |x| {
            let xd = _mm512_cvtps_pd(x);
            let n = _mm512_set1_pd(INV_LN2_N);
            let shift = _mm512_set1_pd(SHIFT);
            let shifted = _mm512_fmadd_pd(n, xd, shift);
            let k = _mm512_castpd_si512(shifted);
            let r = _mm512_fmsub_pd(n, xd, _mm512_sub_pd(shifted, shift));
            // `TABLE[k % 32]`: two 16-entry lookups, then the one bit 4 of `k` picks.
            let low = _mm512_permutex2var_epi64(table[0], k, table[1]);
            let high = _mm512_permutex2var_epi64(table[2], k, table[3]);
            let upper = _mm512_test_epi64_mask(k, _mm512_set1_epi64(16));
            let t = _mm512_mask_blend_epi64(upper, low, high);
            let s = _mm512_castsi512_pd(_mm512_add_epi64(t, _mm512_slli_epi64::<47>(k)));
            let z = _mm512_fmadd_pd(r, _mm512_set1_pd(C[0]), _mm512_set1_pd(C[1]));
            let y = _mm512_fmadd_pd(r, _mm512_set1_pd(C[2]), _mm512_set1_pd(1.0));
            let y = _mm512_mul_pd(_mm512_fmadd_pd(z, _mm512_mul_pd(r, r), y), s);
            _mm512_cvtpd_ps(y)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every 4099th `f32` (all signs and exponents, NaN and infinities included), and the
    /// neighbourhood of the library's bounds.
    fn sweep() -> Vec<f32> {
        let mut values: Vec<f32> = (0..=u32::MAX).step_by(4099).map(f32::from_bits).collect();
        for bound in [88.0f32, -88.0, 88.72, -103.97, -103.28, 0.0] {
            let bits = bound.to_bits();
            values.extend((bits.saturating_sub(64)..bits + 64).map(f32::from_bits));
        }
        values
    }

    fn bits(values: &[f32]) -> Vec<u32> {
        values.iter().map(|v| v.to_bits()).collect()
    }

    #[test]
    fn every_instruction_set_gives_the_same_bits() {
        let values = sweep();
        let portable: Vec<f32> = values.iter().map(|&v| exp(v)).collect();
        for isa in Isa::available() {
            let mut out = values.clone();
            exp_in_place(isa, &mut out);
            assert_eq!(bits(&out), bits(&portable), "{isa:?}");
        }
    }

    /// glibc with FMA computes the same rule: its `expf` is the oracle here. (Elsewhere the
    /// library may round some values differently, which is the point of not calling it.)
    #[test]
    #[cfg(all(target_env = "gnu", target_arch = "x86_64"))]
    fn it_is_glibcs_expf_to_the_bit() {
        if !is_x86_feature_detected!("fma") {
            return;
        }
        let values = sweep();
        let ours: Vec<f32> = values.iter().map(|&v| exp(v)).collect();
        let library: Vec<f32> = values.iter().map(|v| v.exp()).collect();
        let differ = values
            .iter()
            .zip(ours.iter().zip(&library))
            .filter(|(_, (a, b))| a.to_bits() != b.to_bits())
            .count();
        assert_eq!(differ, 0, "{differ} of {} differ", values.len());
        assert!(ours.iter().filter(|v| v.is_normal()).count() > values.len() / 4);
    }
}
