//! Values kept narrower than `f32` (adapter factors, the KV cache) and widened to `f32`
//! exactly where they are read: one value at a time on the portable paths, eight (AVX2 with
//! F16C) or sixteen (AVX-512 F) at a time on vectors. Widening is exact for every type here, so
//! a path that widens by vectors computes on the same `f32`s as the portable one.

use half::slice::HalfFloatSliceExt;
use half::{bf16, f16};
use std::borrow::Cow;

/// A stored value that widens to `f32` exactly.
pub trait Lane: Copy + Send + Sync + 'static + Into<f32> {
    #[inline(always)]
    fn widen(self) -> f32 {
        self.into()
    }
    /// Eight values from `p` as `f32` lanes.
    ///
    /// # Safety
    /// `p` points to eight readable values, and the CPU has AVX2 and F16C.
    #[cfg(target_arch = "x86_64")]
    unsafe fn load8(p: *const Self) -> std::arch::x86_64::__m256;
}

/// A type a KV cache keeps its keys and values in: `f32`s are narrowed to it as they are
/// cached, and attention reads it sixteen at a time too.
pub trait KvValue: Lane {
    /// Appends every value of `x`, narrowed: the nearest value of this type (ties to even).
    fn extend_narrowed(to: &mut Vec<Self>, x: &[f32]);
    /// Every value of `x` narrowed (`x` itself for `f32`).
    fn narrow_all(x: &[f32]) -> Cow<'_, [Self]> {
        let mut narrow = Vec::with_capacity(x.len());
        Self::extend_narrowed(&mut narrow, x);
        Cow::Owned(narrow)
    }
    /// Sixteen values from `p` as `f32` lanes.
    ///
    /// # Safety
    /// `p` points to sixteen readable values, and the CPU has AVX-512 F.
    #[cfg(target_arch = "x86_64")]
    unsafe fn load16(p: *const Self) -> std::arch::x86_64::__m512;
}

impl Lane for f32 {
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn load8(p: *const Self) -> std::arch::x86_64::__m256 {
        // SAFETY: the caller's contract.
        unsafe { std::arch::x86_64::_mm256_loadu_ps(p) }
    }
}

impl KvValue for f32 {
    fn extend_narrowed(to: &mut Vec<Self>, x: &[f32]) {
        to.extend_from_slice(x);
    }

    fn narrow_all(x: &[f32]) -> Cow<'_, [Self]> {
        Cow::Borrowed(x)
    }

    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn load16(p: *const Self) -> std::arch::x86_64::__m512 {
        // SAFETY: the caller's contract.
        unsafe { std::arch::x86_64::_mm512_loadu_ps(p) }
    }
}

impl Lane for f16 {
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn load8(p: *const Self) -> std::arch::x86_64::__m256 {
        use std::arch::x86_64::*;
        // SAFETY: the caller's contract.
        unsafe { _mm256_cvtph_ps(_mm_loadu_si128(p.cast())) }
    }
}

impl KvValue for f16 {
    /// By vectors where the CPU has F16C (`half` rounds alike either way).
    fn extend_narrowed(to: &mut Vec<Self>, x: &[f32]) {
        let at = to.len();
        to.resize(at + x.len(), f16::ZERO);
        to[at..].convert_from_f32_slice(x);
    }

    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn load16(p: *const Self) -> std::arch::x86_64::__m512 {
        use std::arch::x86_64::*;
        // SAFETY: the caller's contract.
        unsafe { _mm512_cvtph_ps(_mm256_loadu_si256(p.cast())) }
    }
}

impl Lane for bf16 {
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn load8(p: *const Self) -> std::arch::x86_64::__m256 {
        use std::arch::x86_64::*;
        // A bf16 is the top half of the f32 with the same bits.
        // SAFETY: the caller's contract.
        unsafe {
            _mm256_castsi256_ps(_mm256_slli_epi32::<16>(_mm256_cvtepu16_epi32(
                _mm_loadu_si128(p.cast()),
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Narrowing a slice at once (by vectors where the CPU can) rounds every value as `half`
    /// narrows it alone: across `f32`s of every exponent, `f16`'s subnormals, ties and overflow.
    #[test]
    fn a_slice_narrows_as_its_values_do() {
        let values: Vec<f32> = (0..=u32::MAX)
            .step_by(4099)
            .map(f32::from_bits)
            .filter(|v| !v.is_nan())
            .chain([
                65504.0,
                65520.0,
                65519.99,
                1.0 + 1.0 / 2048.0,
                5.96e-8,
                2.98e-8,
            ])
            .collect();
        let mut narrowed = Vec::new();
        f16::extend_narrowed(&mut narrowed, &values);
        for (v, n) in values.iter().zip(&narrowed) {
            assert_eq!(n.to_bits(), f16::from_f32(*v).to_bits(), "{v:e}");
        }
    }
}
