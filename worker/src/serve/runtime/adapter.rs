//! LoRA adapters kept unmerged beside the base weights, so sequences of different adapters
//! (or none) share one pass: the base projection runs once for every row of the batch, then
//! each row adds `scale·(x·A)·B` of its own adapter (as S-LoRA and Punica do). A pass's rows
//! are grouped by adapter ([`AdapterRows`]), so each task reads an adapter's factors once for
//! all its rows rather than once per row.
//!
//! An unloaded adapter's factor memory is kept for the next adapter read ([`keep_spare_up_to`]):
//! a server whose adapter cache is full evicts one adapter for each it loads, and the new one's
//! factors are then written into memory the process already holds instead of fresh pages. On a
//! virtual machine whose free memory is handed back to the host (free page reporting), a fresh
//! page's first write also waits for the host to back it: about 7x the cost of a page the
//! process has touched before (`docs/performance.md`, "adapter-load tail").

use super::kernels::Isa;
use super::LoraWeights;
use crate::checkpoint::decode_into;
use crate::lora::{LoraConfig, TargetModule};
use crate::peft;
use anyhow::{bail, ensure, Context, Result};
use memmap2::Mmap;
use rayon::prelude::*;
use safetensors::tensor::TensorView;
use safetensors::SafeTensors;
use std::collections::BTreeMap;
use std::fs::File;
use std::path::Path;
use std::sync::Mutex;

/// Factor buffers of dropped adapters, by length, for the next [`LoraWeights::from_peft`].
struct Spare {
    buffers: BTreeMap<usize, Vec<Vec<f32>>>,
    /// Bytes in `buffers`.
    bytes: usize,
    /// Bytes of the [`Adapter`]s alive now.
    resident: usize,
    /// The largest [`Adapter`] made so far, in bytes.
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

impl Spare {
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
            self.bytes -= buffer.len() * std::mem::size_of::<f32>();
        }
    }

    /// A buffer of `len` values: a kept one (holding a dropped adapter's values, to be
    /// overwritten) or a new zeroed one.
    fn take(&mut self, len: usize) -> Vec<f32> {
        let Some(list) = self.buffers.get_mut(&len) else {
            return vec![0.0; len];
        };
        let buffer = list.pop().expect("no empty lists are kept");
        if list.is_empty() {
            self.buffers.remove(&len);
        }
        self.bytes -= len * std::mem::size_of::<f32>();
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
    fn give(&mut self, buffer: Vec<f32>) {
        let bytes = buffer.len() * std::mem::size_of::<f32>();
        if buffer.len() == buffer.capacity() && self.resident + self.bytes + bytes <= self.room() {
            self.bytes += bytes;
            self.buffers.entry(buffer.len()).or_default().push(buffer);
        }
    }
}

impl LoraWeights {
    /// [`LoraWeights::from_peft`] on the file at `path`, mapped rather than read: the factors
    /// are then written once, into the memory they stay in.
    pub fn read_peft(path: &Path, config: &LoraConfig) -> Result<Self> {
        let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
        // SAFETY: adapter files are written whole before they are served and not changed
        // while a load reads them (the daemon names them by their hash; `serve --adapter`
        // reads an operator's directory); the map lives only for this call.
        let bytes =
            unsafe { Mmap::map(&file) }.with_context(|| format!("mapping {}", path.display()))?;
        Self::from_peft(&bytes, config).with_context(|| format!("reading {}", path.display()))
    }

    /// Reads a PEFT `adapter_model.safetensors` (already in memory) whose description is
    /// `config` (from `adapter_config.json`, see [`peft::PeftConfig`]): `lora_A: [r, d_in]`,
    /// `lora_B: [d_out, r]` under `base_model.model.<module path>.lora_{A,B}.weight`. `lora_A`
    /// is kept as stored, `lora_B` transposed to `[r, d_out]`, each decoded once (into a dropped
    /// adapter's memory when [`keep_spare_up_to`] kept some). Whether each
    /// path is a projection of the model, and its shape, is checked when a runtime loads the
    /// adapter.
    pub fn from_peft(safetensors: &[u8], config: &LoraConfig) -> Result<Self> {
        let targets = config.validate()?;
        let file = SafeTensors::deserialize(safetensors).context("reading a PEFT adapter")?;
        let mut tensors: BTreeMap<String, TensorView<'_>> = file.tensors().into_iter().collect();
        let paths: Vec<String> = tensors
            .keys()
            .filter_map(|name| {
                name.strip_prefix("base_model.model.")?
                    .strip_suffix(".lora_A.weight")
                    .map(str::to_string)
            })
            .collect();
        let r = config.rank;
        let mut projections = Vec::with_capacity(paths.len());
        for path in paths {
            ensure!(
                targets.iter().any(|t| path.ends_with(t.hf_name())),
                "adapter tensor for `{path}`, which is not among its target modules {:?}",
                config.targets
            );
            let a_key = peft::key(&path, "lora_A");
            let b_key = peft::key(&path, "lora_B");
            let a = tensors.remove(&a_key).expect("listed above");
            let b = tensors
                .remove(&b_key)
                .with_context(|| format!("adapter has `{a_key}` but no `{b_key}`"))?;
            ensure!(
                a.shape().len() == 2 && a.shape()[0] == r,
                "adapter tensor `{a_key}` has shape {:?}, expected [{r}, d_in]",
                a.shape()
            );
            ensure!(
                b.shape().len() == 2 && b.shape()[1] == r,
                "adapter tensor `{b_key}` has shape {:?}, expected [d_out, {r}]",
                b.shape()
            );
            let d_out = b.shape()[0];
            let (mut a_t, mut b_t) = {
                let mut spare = spare();
                (spare.take(r * a.shape()[1]), spare.take(r * d_out))
            };
            let mut b_stored = vec![0.0; r * d_out];
            decode_into(&a, &mut a_t).with_context(|| format!("tensor `{a_key}`"))?;
            decode_into(&b, &mut b_stored).with_context(|| format!("tensor `{b_key}`"))?;
            for (o, row) in b_stored.chunks_exact(r).enumerate() {
                for (k, &value) in row.iter().enumerate() {
                    b_t[k * d_out + o] = value;
                }
            }
            projections.push((path, a_t, b_t));
        }
        if let Some(name) = tensors.keys().next() {
            bail!("adapter tensor `{name}` is not a LoRA factor this runtime reads");
        }
        ensure!(
            !projections.is_empty(),
            "the adapter file has no LoRA factors"
        );
        Ok(Self {
            config: config.clone(),
            projections,
        })
    }
}

/// One projection's factors as the runtime applies them.
#[derive(Debug)]
pub struct Factors {
    /// `Aᵀ: [r, d_in]`, so each `x·A` entry is a contiguous dot product.
    a_t: Vec<f32>,
    /// `B: [r, d_out]`
    b: Vec<f32>,
    rank: usize,
    scale: f32,
}

/// A loaded adapter: per layer, the factors of each [`TargetModule`] it adapts.
#[derive(Debug)]
pub struct Adapter {
    pub layers: Vec<[Option<Factors>; 7]>,
    pub bytes: usize,
}

/// Index of a target in [`TargetModule::ALL`].
pub fn target_index(target: TargetModule) -> usize {
    TargetModule::ALL
        .iter()
        .position(|&t| t == target)
        .expect("every target is in ALL")
}

impl Adapter {
    /// Checks `weights` against the model: `locate` maps a module path to its layer and
    /// target, `shape` gives a target's `[d_in, d_out]`.
    pub fn new(
        weights: LoraWeights,
        layers: usize,
        locate: impl Fn(&str) -> Option<(usize, TargetModule)>,
        shape: impl Fn(TargetModule) -> [usize; 2],
    ) -> Result<Self> {
        let rank = weights.config.rank;
        ensure!(rank > 0, "adapter rank must be at least 1");
        let scale = weights.config.scale() as f32;
        let mut adapter_layers: Vec<[Option<Factors>; 7]> =
            (0..layers).map(|_| Default::default()).collect();
        let mut bytes = 0;
        for (path, a_t, b) in weights.projections {
            let (layer, target) =
                locate(&path).with_context(|| format!("the model has no projection `{path}`"))?;
            let [d_in, d_out] = shape(target);
            ensure!(
                a_t.len() == d_in * rank && b.len() == rank * d_out,
                "adapter factors of `{path}` have {} and {} values; rank {rank} on [{d_in}, {d_out}] \
                 needs {} and {}",
                a_t.len(),
                b.len(),
                d_in * rank,
                rank * d_out
            );
            let slot = &mut adapter_layers[layer][target_index(target)];
            ensure!(slot.is_none(), "adapter has `{path}` twice");
            bytes += (a_t.len() + b.len()) * std::mem::size_of::<f32>();
            *slot = Some(Factors {
                a_t,
                b,
                rank,
                scale,
            });
        }
        // Counted from here until dropped.
        let mut spare = spare();
        spare.resident += bytes;
        spare.largest = spare.largest.max(bytes);
        drop(spare);
        Ok(Adapter {
            layers: adapter_layers,
            bytes,
        })
    }
}

/// Gives the factors' memory to the next adapter read, within [`keep_spare_up_to`]'s limit.
impl Drop for Adapter {
    fn drop(&mut self) {
        let mut spare = spare();
        spare.resident = spare.resident.saturating_sub(self.bytes);
        for factors in self.layers.iter_mut().flatten().filter_map(Option::take) {
            spare.give(factors.a_t);
            spare.give(factors.b);
        }
    }
}

impl Factors {
    /// `y[i] += scale·(x[rows[i]]·A)·B` for each of `rows`: `x: [.., d_in]`, `y: [rows.len(),
    /// d_out]`. Each entry is summed in one fixed order (`u_k = scale·(x·a_k)` by [`dot`], then
    /// `y += u_k·b_k` for `k` ascending), whatever other rows share the pass and on every
    /// instruction set (no fused multiply-adds: the scalar and vector code round alike). Each
    /// row of `Aᵀ` and of `B` is read once for all the rows.
    #[inline(always)]
    fn apply_rows(
        &self,
        x: &[f32],
        d_in: usize,
        rows: &[usize],
        y: &mut [f32],
        dots: impl Fn(&[f32], &[&[f32]], &mut [f32]),
    ) {
        let (r, d_out) = (self.rank, y.len() / rows.len());
        let xs: Vec<&[f32]> = rows
            .iter()
            .map(|&row| &x[row * d_in..(row + 1) * d_in])
            .collect();
        let mut down = vec![0.0f32; rows.len() * r];
        let mut sums = vec![0.0f32; rows.len()];
        for (k, a) in self.a_t.chunks_exact(d_in).enumerate() {
            dots(a, &xs, &mut sums);
            for (i, &sum) in sums.iter().enumerate() {
                down[i * r + k] = self.scale * sum;
            }
        }
        for (k, b) in self.b.chunks_exact(d_out).enumerate() {
            for (i, y) in y.chunks_exact_mut(d_out).enumerate() {
                let u = down[i * r + k];
                for (y, b) in y.iter_mut().zip(b) {
                    *y += u * b;
                }
            }
        }
    }

    fn apply_rows_isa(&self, isa: Isa, x: &[f32], d_in: usize, rows: &[usize], y: &mut [f32]) {
        match isa {
            Isa::Scalar => self.apply_rows(x, d_in, rows, y, |a, xs, sums| {
                for (sum, x) in sums.iter_mut().zip(xs) {
                    *sum = dot(a, x);
                }
            }),
            #[cfg(target_arch = "x86_64")]
            // SAFETY: both sets are only chosen when the CPU has AVX2.
            Isa::Avx2 | Isa::Avx512Vnni => unsafe { self.apply_rows_avx2(x, d_in, rows, y) },
        }
    }

    /// [`Factors::apply_rows`] compiled for AVX2, with [`dot`]'s eight lanes in one vector
    /// and up to four rows' dot products with one row of `Aᵀ` at a time (the same operations
    /// per row, so the same bits).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn apply_rows_avx2(&self, x: &[f32], d_in: usize, rows: &[usize], y: &mut [f32]) {
        self.apply_rows(x, d_in, rows, y, |a, xs, sums| {
            for (xs, sums) in xs.chunks(4).zip(sums.chunks_mut(4)) {
                // SAFETY: this closure only runs where the CPU has AVX2.
                unsafe {
                    match xs.len() {
                        4 => dots_avx2::<4>(a, xs, sums),
                        3 => dots_avx2::<3>(a, xs, sums),
                        2 => dots_avx2::<2>(a, xs, sums),
                        _ => dots_avx2::<1>(a, xs, sums),
                    }
                }
            }
        })
    }
}

/// The rows of a pass that run with one adapter, in row order.
pub struct AdapterRows<'a> {
    pub adapter: &'a Adapter,
    pub rows: Vec<usize>,
}

/// Rows one task takes of an adapter: few enough that a batch on one adapter still spreads
/// over the threads, enough that its factors are read once for several rows.
const ROWS_PER_TASK: usize = 4;

/// `y[row, offset..offset + d_out] += scale·(x[row]·A)·B` for every row of `groups` and each
/// `(target, offset)` of `targets`: the projections that read `x: [rows, d_in]`, side by side in
/// `y: [rows, width]`. One parallel section for all of them; a task takes up to
/// [`ROWS_PER_TASK`] rows of one adapter and one target, and the sums are those of
/// [`Factors::apply_rows`], the same bits however rows are grouped or split.
#[allow(clippy::too_many_arguments)]
pub fn add_terms(
    isa: Isa,
    groups: &[AdapterRows<'_>],
    layer: usize,
    targets: &[(TargetModule, usize)],
    x: &[f32],
    d_in: usize,
    y: &mut [f32],
    width: usize,
) {
    let tasks: Vec<(&Factors, usize, &[usize])> = targets
        .iter()
        .flat_map(|&(target, offset)| {
            groups.iter().flat_map(move |group| {
                group.adapter.layers[layer][target_index(target)]
                    .as_ref()
                    .into_iter()
                    .flat_map(move |factors| {
                        group
                            .rows
                            .chunks(ROWS_PER_TASK)
                            .map(move |rows| (factors, offset, rows))
                    })
            })
        })
        .collect();
    if tasks.is_empty() {
        return;
    }
    let y_in = &*y;
    // Each task adds to a copy of its rows' entries (the base projection's values), written
    // back after: tasks touch disjoint entries, so the order of write-backs does not matter.
    let outputs: Vec<Vec<f32>> = tasks
        .par_iter()
        .map(|&(factors, offset, rows)| {
            let d_out = factors.b.len() / factors.rank;
            let mut out: Vec<f32> = rows
                .iter()
                .flat_map(|&row| &y_in[row * width + offset..row * width + offset + d_out])
                .copied()
                .collect();
            factors.apply_rows_isa(isa, x, d_in, rows, &mut out);
            out
        })
        .collect();
    for ((factors, offset, rows), out) in tasks.iter().zip(outputs) {
        let d_out = factors.b.len() / factors.rank;
        for (&row, values) in rows.iter().zip(out.chunks_exact(d_out)) {
            y[row * width + offset..row * width + offset + d_out].copy_from_slice(values);
        }
    }
}

/// `a·b` as eight interleaved partial sums added pairwise: a fixed order (the same bits on any
/// CPU) that the compiler turns into vector code, where a sequential sum stays scalar.
#[inline(always)]
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let (a_lanes, b_lanes) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = a_lanes
        .remainder()
        .iter()
        .zip(b_lanes.remainder())
        .map(|(a, b)| a * b)
        .sum();
    let mut lanes = [0.0f32; 8];
    for (a, b) in a_lanes.zip(b_lanes) {
        for i in 0..8 {
            lanes[i] += a[i] * b[i];
        }
    }
    add_lanes(lanes, tail)
}

/// [`dot`]'s final sum of its lanes and tail.
#[inline(always)]
fn add_lanes([l0, l1, l2, l3, l4, l5, l6, l7]: [f32; 8], tail: f32) -> f32 {
    (((l0 + l4) + (l1 + l5)) + ((l2 + l6) + (l3 + l7))) + tail
}

/// `sums[r] = dot(a, xs[r])` for `N` rows of the same length as `a`, [`dot`]'s eight lanes in
/// one AVX2 vector per row: each lane multiplies then adds, as the scalar code does (no fused
/// multiply-add), so the bits are the same; `a` is loaded once for the `N` rows, and their
/// `N` independent sums keep the adder busy.
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn dots_avx2<const N: usize>(a: &[f32], xs: &[&[f32]], sums: &mut [f32]) {
    use std::arch::x86_64::*;
    let n = a.len();
    assert!(xs.len() == N && sums.len() == N && xs.iter().all(|x| x.len() == n));
    let lanes = n / 8 * 8;
    let mut acc = [_mm256_setzero_ps(); N];
    for i in (0..lanes).step_by(8) {
        // SAFETY: `i + 8 <= lanes <= n`, within `a` and every `x` (all of length `n`).
        unsafe {
            let va = _mm256_loadu_ps(a.as_ptr().add(i));
            for (acc, x) in acc.iter_mut().zip(xs) {
                *acc = _mm256_add_ps(*acc, _mm256_mul_ps(va, _mm256_loadu_ps(x.as_ptr().add(i))));
            }
        }
    }
    for ((sum, acc), x) in sums.iter_mut().zip(acc).zip(xs) {
        let mut lanes_out = [0.0f32; 8];
        // SAFETY: `lanes_out` holds eight values.
        unsafe { _mm256_storeu_ps(lanes_out.as_mut_ptr(), acc) };
        let tail: f32 = a[lanes..].iter().zip(&x[lanes..]).map(|(a, b)| a * b).sum();
        *sum = add_lanes(lanes_out, tail);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    fn values(rng: &mut StdRng, n: usize) -> Vec<f32> {
        (0..n).map(|_| rng.random_range(-1.0..1.0)).collect()
    }

    /// Layer 0 with `q` and `k` factors of rank `rank`: `q` is `[d_in, 20]`, `k` `[d_in, 9]`.
    fn adapter(rng: &mut StdRng, d_in: usize, rank: usize, scale: f32) -> Adapter {
        let mut layer: [Option<Factors>; 7] = Default::default();
        for (target, d_out) in [(TargetModule::Q, 20), (TargetModule::K, 9)] {
            layer[target_index(target)] = Some(Factors {
                a_t: values(rng, rank * d_in),
                b: values(rng, rank * d_out),
                rank,
                scale,
            });
        }
        Adapter {
            layers: vec![layer],
            bytes: 0,
        }
    }

    #[test]
    fn kept_memory_stays_within_the_limit_and_goes_to_reads_of_its_length() {
        // Room for 100 bytes and the largest adapter's 20.
        let mut spare = Spare {
            buffers: BTreeMap::new(),
            bytes: 0,
            resident: 60,
            largest: 20,
            limit: 100,
        };
        // 60 bytes alive and 40 kept: within 120.
        spare.give(vec![1.0; 10]);
        assert_eq!(spare.bytes, 40);
        // 24 more would make 124: freed.
        spare.give(vec![2.0; 6]);
        assert_eq!(spare.bytes, 40);
        // No buffer of 6 values is kept: a new zeroed one.
        assert!(spare.take(6) == [0.0; 6]);
        spare.give(vec![3.0; 4]);
        assert_eq!(spare.bytes, 56);
        // A lower limit frees the largest first, until it holds.
        spare.set_limit(90);
        assert_eq!((spare.bytes, spare.buffers.len()), (16, 1));
        assert!(spare.take(4) == [3.0; 4]);
        assert_eq!(spare.bytes, 0);
        assert!(spare.buffers.is_empty());
        // Nothing is kept under the default limit of 0.
        spare.set_limit(0);
        spare.resident = 0;
        spare.give(vec![1.0; 1]);
        assert_eq!(spare.bytes, 0);
    }

    #[test]
    fn grouped_terms_are_each_rows_own_sum_on_every_instruction_set() {
        // d_in 37: the dot product's eight lanes and a tail. Rows 0, 2, 3, 5, 6, 8 on the
        // first adapter (two tasks), 1 and 7 on the second, 4 on none.
        let mut rng = StdRng::seed_from_u64(3);
        let (d_in, width, rows) = (37, 29, 9);
        let (first, second) = (
            adapter(&mut rng, d_in, 5, 0.7),
            adapter(&mut rng, d_in, 3, 2.0),
        );
        let x = values(&mut rng, rows * d_in);
        let y = values(&mut rng, rows * width);
        let groups = [
            AdapterRows {
                adapter: &first,
                rows: vec![0, 2, 3, 5, 6, 8],
            },
            AdapterRows {
                adapter: &second,
                rows: vec![1, 7],
            },
        ];
        let targets = [(TargetModule::Q, 0), (TargetModule::K, 20)];
        // Row by row, in the documented order.
        let mut expected = y.clone();
        for group in &groups {
            for &row in &group.rows {
                for &(target, offset) in &targets {
                    let f = group.adapter.layers[0][target_index(target)]
                        .as_ref()
                        .unwrap();
                    let x = &x[row * d_in..(row + 1) * d_in];
                    let d_out = f.b.len() / f.rank;
                    let y = &mut expected[row * width + offset..row * width + offset + d_out];
                    for (a, b) in f.a_t.chunks_exact(d_in).zip(f.b.chunks_exact(d_out)) {
                        let u = f.scale * dot(a, x);
                        for (y, b) in y.iter_mut().zip(b) {
                            *y += u * b;
                        }
                    }
                }
            }
        }
        assert!(expected[4 * width..5 * width] == y[4 * width..5 * width]);
        assert!(expected != y);
        for isa in Isa::available() {
            let mut out = y.clone();
            add_terms(isa, &groups, 0, &targets, &x, d_in, &mut out, width);
            assert!(out == expected, "{isa:?}");
        }
    }
}
