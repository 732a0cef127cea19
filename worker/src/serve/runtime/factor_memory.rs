//! The memory of adapters' factors: their values as the adapter file stores them ([`Values`]),
//! and the memory of dropped adapters, kept for the next adapter read ([`keep_spare_up_to`]).
//!
//! 16-bit factors stay 16-bit: half the memory of `f32`, so twice the adapters in a cache's
//! budget, and half the bytes a pass reads for them, which bound a batch spread over many
//! adapters (each row reads its own adapter's factors). They are widened a row at a time where
//! they are applied; widening `f16` or `bf16` to `f32` is exact, so the products are those of
//! the same values stored as `f32`, to the bit.
//!
//! A server whose adapter cache is full evicts one adapter for each it loads, and the new one's
//! factors are then written into memory the process already holds instead of fresh pages. On a
//! virtual machine whose free memory is handed back to the host (free page reporting), a fresh
//! page's first write also waits for the host to back it: about 7x the cost of a page the
//! process has touched before (`docs/performance.md`, "adapter-load tail").

use crate::checkpoint::decode_into;
use anyhow::{bail, ensure, Result};
use half::slice::HalfFloatSliceExt;
use half::{bf16, f16};
use safetensors::tensor::{Dtype, TensorView};
use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Mutex;

/// How a factor's values are kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stored {
    F32,
    F16,
    Bf16,
}

impl Stored {
    /// How factors stored as `dtype` are kept: as they are when 16-bit, else as `f32` (which
    /// [`Values::read`] decodes them to, or refuses).
    pub fn of(dtype: Dtype) -> Self {
        match dtype {
            Dtype::F16 => Self::F16,
            Dtype::BF16 => Self::Bf16,
            _ => Self::F32,
        }
    }

    fn width(self) -> usize {
        match self {
            Self::F32 => 4,
            Self::F16 | Self::Bf16 => 2,
        }
    }
}

/// A factor's values, `[rows, n]` row-major, in the type they are kept in.
#[derive(Clone, Debug, PartialEq)]
pub enum Values {
    F32(Vec<f32>),
    F16(Vec<f16>),
    Bf16(Vec<bf16>),
}

impl Values {
    pub fn zeros(stored: Stored, len: usize) -> Self {
        match stored {
            Stored::F32 => Self::F32(vec![0.0; len]),
            Stored::F16 => Self::F16(vec![f16::ZERO; len]),
            Stored::Bf16 => Self::Bf16(vec![bf16::ZERO; len]),
        }
    }

    pub fn stored(&self) -> Stored {
        match self {
            Self::F32(_) => Stored::F32,
            Self::F16(_) => Stored::F16,
            Self::Bf16(_) => Stored::Bf16,
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Self::F32(v) => v.len(),
            Self::F16(v) => v.len(),
            Self::Bf16(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn bytes(&self) -> usize {
        self.len() * self.stored().width()
    }

    /// Every value as `f32`.
    pub fn widened(&self) -> Vec<f32> {
        match self {
            Self::F32(v) => v.clone(),
            Self::F16(v) => v.iter().map(|v| v.to_f32()).collect(),
            Self::Bf16(v) => v.iter().map(|v| v.to_f32()).collect(),
        }
    }

    /// Where the values are in memory.
    pub fn as_ptr(&self) -> *const u8 {
        match self {
            Self::F32(v) => v.as_ptr().cast(),
            Self::F16(v) => v.as_ptr().cast(),
            Self::Bf16(v) => v.as_ptr().cast(),
        }
    }

    /// Asks the CPU to bring the values into its caches, without waiting for them: the
    /// second half of a low-rank term runs after the base projection, and its factor read
    /// from memory would not overlap anything then.
    pub fn prefetch(&self) {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T1};
            let start = self.as_ptr().cast::<i8>();
            let bytes = self.bytes();
            for offset in (0..bytes).step_by(64) {
                // SAFETY: a prefetch reads nothing and cannot fault; the address is within the
                // buffer.
                unsafe { _mm_prefetch::<_MM_HINT_T1>(start.wrapping_add(offset)) };
            }
        }
    }

    /// Whether the buffer holds exactly its values (so its memory is what [`Values::bytes`]
    /// counts).
    fn is_exact(&self) -> bool {
        match self {
            Self::F32(v) => v.len() == v.capacity(),
            Self::F16(v) => v.len() == v.capacity(),
            Self::Bf16(v) => v.len() == v.capacity(),
        }
    }

    /// Writes one value in every 4 KiB, so that the kernel backs the whole buffer now rather
    /// than at the first write of a read (a zeroed buffer from the allocator may be pages
    /// nobody has touched yet).
    fn touch(&mut self) {
        fn touch<T: Copy + Default>(values: &mut [T]) {
            // Hidden from the optimiser, which may know the buffer is zero already.
            let values = std::hint::black_box(values);
            let step = (4096 / size_of::<T>()).max(1);
            for at in (0..values.len()).step_by(step) {
                values[at] = T::default();
            }
        }
        match self {
            Self::F32(v) => touch(v),
            Self::F16(v) => touch(v),
            Self::Bf16(v) => touch(v),
        }
    }

    /// Rows `rows` of `n` values each as `f32`, one after the other: the values themselves, or
    /// widened into `scratch` (which must hold them).
    #[inline(always)]
    pub fn rows<'a>(&'a self, rows: Range<usize>, n: usize, scratch: &'a mut [f32]) -> &'a [f32] {
        let range = rows.start * n..rows.end * n;
        let len = range.len();
        match self {
            Self::F32(v) => &v[range],
            Self::F16(v) => {
                v[range].convert_to_f32_slice(&mut scratch[..len]);
                &scratch[..len]
            }
            Self::Bf16(v) => {
                v[range].convert_to_f32_slice(&mut scratch[..len]);
                &scratch[..len]
            }
        }
    }

    /// Overwrites every value with `view`'s, which hold as many: as they are when `view`
    /// stores this buffer's type, decoded when this buffer is `f32`.
    pub fn read(&mut self, view: &TensorView<'_>) -> Result<()> {
        let data = view.data();
        let copy = |len: usize| {
            ensure!(
                data.len() == 2 * len,
                "the tensor has {} bytes of {:?}, not {len} values",
                data.len(),
                view.dtype()
            );
            Ok(data.chunks_exact(2).map(|b| [b[0], b[1]]))
        };
        match (self, view.dtype()) {
            (Self::F32(out), _) => decode_into(view, out),
            (Self::F16(out), Dtype::F16) => {
                let len = out.len();
                for (v, b) in out.iter_mut().zip(copy(len)?) {
                    *v = f16::from_le_bytes(b);
                }
                Ok(())
            }
            (Self::Bf16(out), Dtype::BF16) => {
                let len = out.len();
                for (v, b) in out.iter_mut().zip(copy(len)?) {
                    *v = bf16::from_le_bytes(b);
                }
                Ok(())
            }
            (values, dtype) => bail!("{dtype:?} values read as {:?}", values.stored()),
        }
    }

    /// `self[c·rows + r] = from[r·cols + c]`: `from`, `[rows, cols]`, transposed (both of one
    /// type and length).
    pub fn transpose_from(&mut self, from: &Values, rows: usize, cols: usize) {
        fn transpose<T: Copy>(to: &mut [T], from: &[T], rows: usize, cols: usize) {
            for (r, row) in from.chunks_exact(cols).take(rows).enumerate() {
                for (c, &value) in row.iter().enumerate() {
                    to[c * rows + r] = value;
                }
            }
        }
        match (self, from) {
            (Self::F32(to), Self::F32(from)) => transpose(to, from, rows, cols),
            (Self::F16(to), Self::F16(from)) => transpose(to, from, rows, cols),
            (Self::Bf16(to), Self::Bf16(from)) => transpose(to, from, rows, cols),
            (to, from) => unreachable!("{:?} transposed into {:?}", from.stored(), to.stored()),
        }
    }
}

/// Factor buffers of dropped adapters, by size and type, for the next adapter read.
struct Spare {
    buffers: BTreeMap<(usize, Stored), Vec<Values>>,
    /// Bytes in `buffers`.
    bytes: usize,
    /// Bytes of the adapters alive now.
    resident: usize,
    /// The largest adapter made so far, in bytes.
    largest: usize,
    /// The budget that [`Spare::room`] starts from (0: keep nothing).
    limit: usize,
}

static SPARE: Mutex<Spare> = Mutex::new(Spare {
    buffers: BTreeMap::new(),
    bytes: 0,
    resident: 0,
    largest: 0,
    limit: 0,
});

fn spare() -> std::sync::MutexGuard<'static, Spare> {
    // The counters are updated whole under the lock, so a panic elsewhere leaves them valid.
    SPARE
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Keeps the factor memory of dropped adapters for later reads while the adapters alive and
/// the memory kept add up to at most `bytes` (or what is alive, if more) and the largest
/// adapter made (0, the default, keeps nothing). A server passes its adapter cache's budget:
/// its cache reads an adapter before evicting another, so it holds the budget and one adapter
/// for a moment anyway, and the memory kept never takes it past that. Memory kept beyond a
/// lowered limit is freed.
pub fn keep_spare_up_to(bytes: usize) {
    spare().set_limit(bytes);
}

/// A buffer for `len` values kept as `stored`: a dropped adapter's (holding its values, to be
/// overwritten) or a new zeroed one.
pub fn take(stored: Stored, len: usize) -> Values {
    spare().take(stored, len)
}

/// Counts an adapter of `bytes` as alive, until [`dropped`].
pub fn made(bytes: usize) {
    let mut spare = spare();
    spare.resident += bytes;
    spare.largest = spare.largest.max(bytes);
}

/// An adapter of `bytes` dropped: its `values` are kept for later reads, within
/// [`keep_spare_up_to`]'s limit, or freed.
pub fn dropped(bytes: usize, values: impl IntoIterator<Item = Values>) {
    let mut spare = spare();
    spare.resident = spare.resident.saturating_sub(bytes);
    for values in values {
        spare.give(values);
    }
}

/// Makes, touches and keeps spare buffers for up to `adapters` more adapters of `shapes` (each
/// factor's type and length, as [`LoraWeights::factor_shapes`](super::LoraWeights::factor_shapes)
/// lists them), as far as the spare memory lacks them and its room holds them; `pending`
/// counts the adapter they were listed from as alive although the runtime may not hold it yet.
///
/// An adapter read that fills a cache writes into fresh memory. On a virtual machine whose free
/// memory goes back to the host, a fresh huge page's first write waits for the host to back it
/// (about 45 ms for a 20 MB adapter here, against 2 ms for pages the host still backs:
/// `docs/performance.md`, "The heap on 2 MiB pages"). Called after each read, off the path of
/// any request, this has the next reads write into memory that is backed already.
pub fn prepare(shapes: &[(Stored, usize)], pending: bool, adapters: usize) {
    for sets in 1..=adapters {
        let Some(missing) = spare().missing(shapes, pending, sets) else {
            return;
        };
        let buffers: Vec<Values> = missing
            .into_iter()
            .map(|(stored, len)| {
                let mut buffer = Values::zeros(stored, len);
                buffer.touch();
                buffer
            })
            .collect();
        let mut spare = spare();
        for buffer in buffers {
            spare.give(buffer);
        }
    }
}

impl Spare {
    /// The buffers that `sets` adapters of `shapes` would take and are not kept (perhaps none),
    /// or `None` when they would not fit the room (with `shapes`' own bytes counted alive if
    /// `pending`).
    fn missing(
        &self,
        shapes: &[(Stored, usize)],
        pending: bool,
        sets: usize,
    ) -> Option<Vec<(Stored, usize)>> {
        let mut wanted: BTreeMap<(usize, Stored), usize> = BTreeMap::new();
        for &(stored, len) in shapes {
            *wanted.entry((len * stored.width(), stored)).or_default() += sets;
        }
        let mut missing = Vec::new();
        for (&(bytes, stored), &count) in &wanted {
            let kept = self.buffers.get(&(bytes, stored)).map_or(0, Vec::len);
            let len = bytes / stored.width();
            missing.extend(std::iter::repeat_n(
                (stored, len),
                count.saturating_sub(kept),
            ));
        }
        let adapter: usize = shapes.iter().map(|&(s, len)| len * s.width()).sum();
        let more: usize = missing.iter().map(|&(s, len)| len * s.width()).sum();
        let alive = self.resident + if pending { adapter } else { 0 };
        (alive + self.bytes + more <= self.room()).then_some(missing)
    }

    fn set_limit(&mut self, bytes: usize) {
        self.limit = bytes;
        while self.resident + self.bytes > self.room() {
            let Some(mut entry) = self.buffers.last_entry() else {
                break;
            };
            let buffer = entry.get_mut().pop().expect("no empty lists are kept");
            if entry.get().is_empty() {
                entry.remove();
            }
            self.bytes -= buffer.bytes();
        }
    }

    fn take(&mut self, stored: Stored, len: usize) -> Values {
        let key = (len * stored.width(), stored);
        let Some(list) = self.buffers.get_mut(&key) else {
            return Values::zeros(stored, len);
        };
        let buffer = list.pop().expect("no empty lists are kept");
        if list.is_empty() {
            self.buffers.remove(&key);
        }
        self.bytes -= key.0;
        buffer
    }

    /// Bytes that adapters alive and the memory kept may take together: the limit (or what is
    /// alive, when a cache holds more than its budget because it may not evict what runs) and
    /// the largest adapter.
    fn room(&self) -> usize {
        match self.limit {
            0 => 0,
            limit => limit.max(self.resident).saturating_add(self.largest),
        }
    }

    /// Keeps `buffer` if it fits in [`Spare::room`], frees it otherwise.
    fn give(&mut self, buffer: Values) {
        let bytes = buffer.bytes();
        if buffer.is_exact() && self.resident + self.bytes + bytes <= self.room() {
            self.bytes += bytes;
            self.buffers
                .entry((bytes, buffer.stored()))
                .or_default()
                .push(buffer);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f32s(values: &Values) -> &[f32] {
        match values {
            Values::F32(v) => v,
            other => panic!("{:?}", other.stored()),
        }
    }

    #[test]
    fn kept_memory_stays_within_the_limit_and_goes_to_reads_of_its_size_and_type() {
        // Room for 100 bytes and the largest adapter's 20.
        let mut spare = Spare {
            buffers: BTreeMap::new(),
            bytes: 0,
            resident: 60,
            largest: 20,
            limit: 100,
        };
        // 60 bytes alive and 40 kept: within 120.
        spare.give(Values::F32(vec![1.0; 10]));
        assert_eq!(spare.bytes, 40);
        // 24 more would make 124: freed.
        spare.give(Values::F32(vec![2.0; 6]));
        assert_eq!(spare.bytes, 40);
        // No buffer of 6 values is kept: a new zeroed one.
        assert!(f32s(&spare.take(Stored::F32, 6)) == [0.0; 6]);
        spare.give(Values::F32(vec![3.0; 4]));
        assert_eq!(spare.bytes, 56);
        // 4 bytes of `f16` (up to 120) are kept apart from `f32` ones, and from `bf16`.
        spare.give(Values::F16(vec![f16::ONE; 2]));
        assert_eq!(spare.bytes, 60);
        assert!(matches!(spare.take(Stored::Bf16, 2), Values::Bf16(v) if v == [bf16::ZERO; 2]));
        assert!(matches!(spare.take(Stored::F16, 2), Values::F16(v) if v == [f16::ONE; 2]));
        assert_eq!(spare.bytes, 56);
        // A lower limit frees the largest first, until it holds.
        spare.set_limit(90);
        assert_eq!((spare.bytes, spare.buffers.len()), (16, 1));
        assert!(f32s(&spare.take(Stored::F32, 4)) == [3.0; 4]);
        assert_eq!(spare.bytes, 0);
        assert!(spare.buffers.is_empty());
        // Nothing is kept under the default limit of 0.
        spare.set_limit(0);
        spare.resident = 0;
        spare.give(Values::F32(vec![1.0; 1]));
        assert_eq!(spare.bytes, 0);
    }

    #[test]
    fn spare_buffers_are_prepared_for_what_is_not_kept_and_only_within_the_room() {
        let mut spare = Spare {
            buffers: BTreeMap::new(),
            bytes: 0,
            resident: 40,
            largest: 20,
            limit: 100,
        };
        // An adapter of two 4-value f32 factors and one 2-value f16 one: 36 bytes.
        let shapes = [(Stored::F32, 4), (Stored::F16, 2), (Stored::F32, 4)];
        spare.give(Values::F32(vec![1.0; 4]));
        assert_eq!(
            spare.missing(&shapes, false, 1),
            Some(vec![(Stored::F16, 2), (Stored::F32, 4)])
        );
        // Counting the adapter itself alive: 40 + 36 + 16 kept + 20 more = 112, within 120.
        assert!(spare.missing(&shapes, true, 1).is_some());
        // Two adapters' worth: 20 + 36 more, 40 + 16 + 56 = 112 fits; with the pending one, not.
        assert_eq!(spare.missing(&shapes, false, 2).map(|m| m.len()), Some(5));
        assert_eq!(spare.missing(&shapes, true, 2), None);
        // With 70 alive, 70 + 36 + 16 + 20 = 142 does not fit.
        spare.resident = 70;
        assert_eq!(spare.missing(&shapes, true, 1), None);
        assert!(spare.missing(&shapes, false, 1).is_some());
        // Nothing is missing when everything is kept; nothing fits under a limit of 0.
        spare.give(Values::F32(vec![2.0; 4]));
        spare.give(Values::F16(vec![f16::ONE; 2]));
        assert_eq!(spare.missing(&shapes, false, 1), Some(vec![]));
        spare.set_limit(0);
        spare.resident = 0;
        assert_eq!(spare.missing(&[(Stored::F32, 8)], false, 1), None);
        // A touched buffer keeps its length and zero values.
        let mut buffer = Values::zeros(Stored::F16, 5000);
        buffer.touch();
        assert!(
            matches!(&buffer, Values::F16(v) if v.len() == 5000 && v.iter().all(|v| *v == f16::ZERO))
        );
    }

    #[test]
    fn rows_of_16_bit_values_are_their_exact_f32_values() {
        let wide: Vec<f32> = (0..12).map(|i| (i as f32 - 5.5) * 0.3).collect();
        let halves = Values::F16(wide.iter().map(|&v| f16::from_f32(v)).collect());
        let brains = Values::Bf16(wide.iter().map(|&v| bf16::from_f32(v)).collect());
        let mut scratch = [0.0; 4];
        for (values, widen) in [
            (&halves, &|v: f32| f16::from_f32(v).to_f32()),
            (&brains, &|v: f32| bf16::from_f32(v).to_f32()),
        ] as [(&Values, &dyn Fn(f32) -> f32); 2]
        {
            for k in 0..3 {
                let expected: Vec<f32> =
                    wide[k * 4..(k + 1) * 4].iter().map(|&v| widen(v)).collect();
                assert!(values.rows(k..k + 1, 4, &mut scratch) == expected);
            }
        }
        let mut transposed = Values::F16(vec![f16::ZERO; 12]);
        transposed.transpose_from(&halves, 3, 4);
        let Values::F16(t) = &transposed else {
            unreachable!()
        };
        assert_eq!(t[4 * 3 - 1].to_f32(), f16::from_f32(wide[11]).to_f32());
        assert_eq!(t[1].to_f32(), f16::from_f32(wide[4]).to_f32());
    }
}
