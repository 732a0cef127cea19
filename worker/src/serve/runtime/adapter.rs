//! LoRA adapters kept unmerged beside the base weights, so sequences of different adapters
//! (or none) share one pass: the base projection runs once for every row of the batch, then
//! each row adds `scale·(x·A)·B` of its own adapter (as S-LoRA and Punica do). A pass's rows
//! are grouped by adapter ([`AdapterRows`]), so each task reads an adapter's factors once for
//! all its rows rather than once per row.
//!
//! Factors are kept as the adapter file stores them, and a dropped adapter's memory goes to the
//! next read ([`super::factor_memory`]).

use super::factor_memory::{self, Stored, Values};
use super::kernels::Isa;
use super::lane::Lane;
use super::matmul::Columns;
use super::team;
use super::LoraWeights;
use crate::lora::{LoraConfig, TargetModule};
use crate::peft;
use anyhow::{bail, ensure, Context, Result};
use memmap2::Mmap;
use safetensors::tensor::TensorView;
use safetensors::SafeTensors;
use std::collections::BTreeMap;
use std::fs::File;
use std::path::Path;

impl LoraWeights {
    /// Each factor's type and length, for [`factor_memory::prepare`].
    pub fn factor_shapes(&self) -> Vec<(Stored, usize)> {
        self.projections
            .iter()
            .flat_map(|(_, a, b)| [(a.stored(), a.len()), (b.stored(), b.len())])
            .collect()
    }

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
    /// adapter's memory when [`factor_memory::keep_spare_up_to`] kept some; 16-bit factors
    /// stay 16-bit). Whether each
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
            // 16-bit factors stay as stored when both are of one type; others become `f32`.
            let stored = match Stored::of(a.dtype()) {
                kept if kept == Stored::of(b.dtype()) => kept,
                _ => Stored::F32,
            };
            let mut a_t = factor_memory::take(stored, r * a.shape()[1]);
            let mut b_t = factor_memory::take(stored, r * d_out);
            let mut b_stored = Values::zeros(stored, r * d_out);
            a_t.read(&a).with_context(|| format!("tensor `{a_key}`"))?;
            b_stored
                .read(&b)
                .with_context(|| format!("tensor `{b_key}`"))?;
            b_t.transpose_from(&b_stored, d_out, r);
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
    a_t: Values,
    /// `B: [r, d_out]`
    b: Values,
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
            bytes += a_t.bytes() + b.bytes();
            *slot = Some(Factors {
                a_t,
                b,
                rank,
                scale,
            });
        }
        // Counted from here until dropped.
        factor_memory::made(bytes);
        Ok(Adapter {
            layers: adapter_layers,
            bytes,
        })
    }
}

/// Gives the factors' memory to the next adapter read, within
/// [`factor_memory::keep_spare_up_to`]'s limit.
impl Drop for Adapter {
    fn drop(&mut self) {
        let factors = self.layers.iter_mut().flatten().filter_map(Option::take);
        factor_memory::dropped(self.bytes, factors.flat_map(|f| [f.a_t, f.b]));
    }
}

impl Factors {
    /// Room to widen `n` 16-bit values (none for `f32` factors, used as they are).
    fn scratch(&self, n: usize) -> Vec<f32> {
        match self.a_t.stored() {
            Stored::F32 => Vec::new(),
            Stored::F16 | Stored::Bf16 => vec![0.0; n],
        }
    }

    /// `u[i·r + k] = scale·(x[rows[i]]·a_k)` for each of `rows` (`x: [.., d_in]`): the first
    /// half of the term, which reads only `x`. Every instruction set sums each entry in one
    /// fixed order, [`dot`]'s, whatever other rows share the pass, and with no fused
    /// multiply-adds, so the scalar and vector code round alike.
    fn down_rows(&self, isa: Isa, x: &[f32], d_in: usize, rows: &[usize]) -> Vec<f32> {
        match isa {
            Isa::Scalar => {
                let r = self.rank;
                let mut down = vec![0.0f32; rows.len() * r];
                let mut scratch = self.scratch(d_in);
                for k in 0..r {
                    let a = self.a_t.rows(k..k + 1, d_in, &mut scratch);
                    for (i, &row) in rows.iter().enumerate() {
                        down[i * r + k] = self.scale * dot(a, &x[row * d_in..][..d_in]);
                    }
                }
                down
            }
            #[cfg(target_arch = "x86_64")]
            // SAFETY: both sets are only chosen when the CPU has AVX2 and F16C.
            Isa::Avx2 | Isa::Avx512Vnni => unsafe { self.down_rows_avx2(x, d_in, rows) },
        }
    }

    /// [`Factors::down_rows`] on AVX2 vectors for each type of stored values.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,f16c")]
    unsafe fn down_rows_avx2(&self, x: &[f32], d_in: usize, rows: &[usize]) -> Vec<f32> {
        // SAFETY: this runs where the CPU has AVX2 and F16C.
        unsafe {
            match &self.a_t {
                Values::F32(a_t) => self.down_rows_of(a_t, x, d_in, rows),
                Values::F16(a_t) => self.down_rows_of(a_t, x, d_in, rows),
                Values::Bf16(a_t) => self.down_rows_of(a_t, x, d_in, rows),
            }
        }
    }

    /// [`Factors::down_rows`] on AVX2 vectors, `a_t` being `Aᵀ`'s values: up to four rows of
    /// `x` at a time, with as many rows of `Aᵀ` as make four sums at once (a lone row's
    /// single sum would wait on each add), each sum with [`dot`]'s operations: the same bits.
    #[cfg(target_arch = "x86_64")]
    #[inline]
    #[target_feature(enable = "avx2,f16c")]
    unsafe fn down_rows_of<T: Lane>(
        &self,
        a_t: &[T],
        x: &[f32],
        d_in: usize,
        rows: &[usize],
    ) -> Vec<f32> {
        let r = self.rank;
        let mut down = vec![0.0f32; rows.len() * r];
        for (c, rows) in rows.chunks(4).enumerate() {
            let down = &mut down[c * 4 * r..];
            let xs = |rows: &[usize]| -> Vec<&[f32]> {
                rows.iter().map(|&row| &x[row * d_in..][..d_in]).collect()
            };
            // SAFETY: this runs where the CPU has AVX2 and F16C.
            unsafe {
                match *xs(rows) {
                    [a] => self.down_block::<T, 4, 1>(a_t, d_in, [a], down),
                    [a, b] => self.down_block::<T, 2, 2>(a_t, d_in, [a, b], down),
                    [a, b, c] => self.down_block::<T, 1, 3>(a_t, d_in, [a, b, c], down),
                    [a, b, c, d] => self.down_block::<T, 1, 4>(a_t, d_in, [a, b, c, d], down),
                    _ => unreachable!("chunks of at most four"),
                }
            }
        }
        down
    }

    /// `down[i·r + k]` for the `N` rows `xs`, `K` rows of `Aᵀ` at a time (then one at a time
    /// for the rank's remainder).
    #[cfg(target_arch = "x86_64")]
    #[inline]
    #[target_feature(enable = "avx2,f16c")]
    unsafe fn down_block<T: Lane, const K: usize, const N: usize>(
        &self,
        a_t: &[T],
        d_in: usize,
        xs: [&[f32]; N],
        down: &mut [f32],
    ) {
        let r = self.rank;
        let mut store = |k: usize, sums: &[[f32; N]]| {
            for (j, sums) in sums.iter().enumerate() {
                for (i, &sum) in sums.iter().enumerate() {
                    down[i * r + k + j] = self.scale * sum;
                }
            }
        };
        let row = |k: usize| &a_t[k * d_in..][..d_in];
        let mut k = 0;
        while k + K <= r {
            // SAFETY: this runs where the CPU has AVX2 and F16C.
            store(k, &unsafe {
                dots_avx2::<T, K, N>(std::array::from_fn(|j| row(k + j)), xs)
            });
            k += K;
        }
        for k in k..r {
            // SAFETY: as above.
            store(k, &unsafe { dots_avx2::<T, 1, N>([row(k)], xs) });
        }
    }

    /// `ys[i] += u[i]·B` for each row `i` (`d_out` values each), `k` ascending: the second
    /// half, onto the base projection's values, multiplying then adding (no fused
    /// multiply-adds: every instruction set rounds alike). Each row of `B` is read once for
    /// all the rows; the vector code keeps a stretch of `y` in registers for all `k`.
    fn up_rows(&self, isa: Isa, down: &[f32], ys: &mut [&mut [f32]]) {
        let (r, d_out) = (self.rank, self.b.len() / self.rank);
        match isa {
            Isa::Scalar => {
                let mut scratch = self.scratch(d_out);
                for k in 0..r {
                    let b = self.b.rows(k..k + 1, d_out, &mut scratch);
                    for (i, y) in ys.iter_mut().enumerate() {
                        let u = down[i * r + k];
                        for (y, b) in y.iter_mut().zip(b) {
                            *y += u * b;
                        }
                    }
                }
            }
            #[cfg(target_arch = "x86_64")]
            // SAFETY: both sets are only chosen when the CPU has AVX2 and F16C.
            Isa::Avx2 | Isa::Avx512Vnni => unsafe {
                match &self.b {
                    Values::F32(b) => up_rows_avx2(b, r, down, ys),
                    Values::F16(b) => up_rows_avx2(b, r, down, ys),
                    Values::Bf16(b) => up_rows_avx2(b, r, down, ys),
                }
            },
        }
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

/// The low-rank terms `y[row, offset..offset + d_out] += scale·(x[row]·A)·B` of one layer, for
/// every row of a pass's adapter groups and each `(target, offset)`: the projections that read
/// `x: [rows, d_in]`, side by side in `y: [rows, width]`. They are computed in two halves.
/// [`LowRank::down`] needs only `x`, so it runs beside the base projection: it reads the `Aᵀ`
/// factors (memory-bound: with many adapters, megabytes a step) while the base product of a
/// few rows is compute-bound, and the two overlap on the threads. [`LowRank::add_to`] then adds
/// `u·B` to the base's values, in place. A task takes up to [`ROWS_PER_TASK`] rows of one
/// adapter, for every target (fewer, larger tasks: a batch spread over many adapters makes one
/// per adapter), and each entry's sum is that of [`Factors::down_rows`] then
/// [`Factors::up_rows`]: the same bits however rows are grouped or split.
pub struct LowRank<'a> {
    tasks: Vec<Task<'a>>,
}

/// Up to [`ROWS_PER_TASK`] rows of one adapter, for every target it adapts.
struct Task<'a> {
    rows: &'a [usize],
    /// Per target: its factors, output offset, and the rows' `u = scale·(x·A)`.
    terms: Vec<(&'a Factors, usize, Vec<f32>)>,
}

impl<'a> LowRank<'a> {
    /// The first half, in one phase for every target, with `beside` tasks (the base
    /// product's, [`super::matmul::Product`]) taken after its own.
    #[allow(clippy::too_many_arguments)]
    pub fn down(
        isa: Isa,
        groups: &'a [AdapterRows<'a>],
        layer: usize,
        targets: &[(TargetModule, usize)],
        x: &[f32],
        d_in: usize,
        beside_tasks: usize,
        beside: impl Fn(usize) + Sync,
    ) -> Self {
        let chunks: Vec<(&Adapter, &[usize])> = groups
            .iter()
            .flat_map(|group| {
                group
                    .rows
                    .chunks(ROWS_PER_TASK)
                    .map(move |rows| (group.adapter, rows))
            })
            .collect();
        let down = |task: usize| {
            let (adapter, rows) = chunks[task];
            let terms = targets
                .iter()
                .filter_map(|&(target, offset)| {
                    let factors = adapter.layers[layer][target_index(target)].as_ref()?;
                    let down = factors.down_rows(isa, x, d_in, rows);
                    factors.b.prefetch();
                    Some((factors, offset, down))
                })
                .collect();
            Task { rows, terms }
        };
        Self {
            tasks: team::map_beside(chunks.len(), down, beside_tasks, beside),
        }
    }

    /// The second half: adds each task's `u·B` to `y: [rows, width]`, in place.
    pub fn add_to(&self, isa: Isa, y: &mut [f32], width: usize) {
        assert!(self
            .tasks
            .iter()
            .flat_map(|task| task.rows)
            .all(|&row| (row + 1) * width <= y.len()));
        let shared = Columns(y.as_mut_ptr());
        team::for_each(self.tasks.len(), |task| {
            let task = &self.tasks[task];
            for (factors, offset, down) in &task.terms {
                let d_out = factors.b.len() / factors.rank;
                let mut ys: Vec<&mut [f32]> = task
                    .rows
                    .iter()
                    // SAFETY: within `y` (asserted above, and `offset + d_out <= width`); a row
                    // is in one task only (it has one adapter, whose rows the tasks split), and
                    // one target's entries of it are taken at a time: no two slices alive
                    // overlap, and nothing else reads `y` until the tasks end.
                    .map(|&row| unsafe {
                        std::slice::from_raw_parts_mut(shared.at(row * width + offset), d_out)
                    })
                    .collect();
                factors.up_rows(isa, down, &mut ys);
            }
        });
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

/// `sums[j][i] = dot(a[j], xs[i])` for `K` rows of `Aᵀ` and `N` rows of `x`, all of one
/// length: [`dot`]'s eight lanes in one AVX2 vector per pair, each lane multiplying then adding
/// as the scalar code does (no fused multiply-add), so the bits are the same. Each vector of
/// `a` and `x` is loaded once for the block, and the `K·N` independent sums keep the adder busy.
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx2,f16c")]
unsafe fn dots_avx2<T: Lane, const K: usize, const N: usize>(
    a: [&[T]; K],
    xs: [&[f32]; N],
) -> [[f32; N]; K] {
    use std::arch::x86_64::*;
    let n = xs[0].len();
    assert!(a.iter().all(|v| v.len() == n) && xs.iter().all(|v| v.len() == n));
    let lanes = n / 8 * 8;
    let mut acc = [[_mm256_setzero_ps(); N]; K];
    for i in (0..lanes).step_by(8) {
        // SAFETY: `i + 8 <= lanes <= n`, within every row (all of length `n`).
        unsafe {
            let vx: [__m256; N] = std::array::from_fn(|r| _mm256_loadu_ps(xs[r].as_ptr().add(i)));
            for (acc, a) in acc.iter_mut().zip(a) {
                let va = T::load8(a.as_ptr().add(i));
                for (acc, vx) in acc.iter_mut().zip(vx) {
                    *acc = _mm256_add_ps(*acc, _mm256_mul_ps(va, vx));
                }
            }
        }
    }
    std::array::from_fn(|j| {
        std::array::from_fn(|r| {
            let mut lanes_out = [0.0f32; 8];
            // SAFETY: `lanes_out` holds eight values.
            unsafe { _mm256_storeu_ps(lanes_out.as_mut_ptr(), acc[j][r]) };
            let tail: f32 = a[j][lanes..]
                .iter()
                .zip(&xs[r][lanes..])
                .map(|(a, b)| a.widen() * b)
                .sum();
            add_lanes(lanes_out, tail)
        })
    })
}

/// [`Factors::up_rows`] on AVX2 vectors, `b` being `B`'s values (`[r, d_out]`), up to four
/// rows at a time. (AVX-512's wider vectors measured no faster: the factors' reads bound it.)
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,f16c")]
unsafe fn up_rows_avx2<T: Lane>(b: &[T], r: usize, down: &[f32], ys: &mut [&mut [f32]]) {
    let d_out = b.len() / r;
    assert!(ys.iter().all(|y| y.len() == d_out) && down.len() >= ys.len() * r);
    for (c, ys) in ys.chunks_mut(4).enumerate() {
        let down = &down[c * 4 * r..];
        // SAFETY: this runs where the CPU has AVX2 and F16C.
        unsafe {
            match ys {
                [a] => up_block::<T, 1, 8>(b, r, down, [a]),
                [a, b_] => up_block::<T, 2, 4>(b, r, down, [a, b_]),
                [a, b_, c] => up_block::<T, 3, 2>(b, r, down, [a, b_, c]),
                [a, b_, c, d] => up_block::<T, 4, 2>(b, r, down, [a, b_, c, d]),
                _ => unreachable!("chunks of one to four"),
            }
        }
    }
}

/// `ys[i] += u[i]·B` for `N` rows: `C` vectors of each row's values at a time, held in
/// registers while `k` runs over the rank (enough independent sums to keep the adder busy; `y`
/// was read and written once per `k`, 5 % of an 8-stream step on adapters), then one vector at
/// a time, then value by value; each value in the same order.
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx2,f16c")]
unsafe fn up_block<T: Lane, const N: usize, const C: usize>(
    b: &[T],
    r: usize,
    down: &[f32],
    mut ys: [&mut &mut [f32]; N],
) {
    // SAFETY: this runs where the CPU has AVX2 and F16C.
    let j = unsafe { up_vectors::<T, N, C>(b, r, down, &mut ys, 0) };
    // SAFETY: as above.
    let j = unsafe { up_vectors::<T, N, 1>(b, r, down, &mut ys, j) };
    let d_out = b.len() / r;
    for (i, y) in ys.into_iter().enumerate() {
        for (j, y) in y.iter_mut().enumerate().skip(j) {
            for k in 0..r {
                *y += down[i * r + k] * b[k * d_out + j].widen();
            }
        }
    }
}

/// [`up_block`]'s stretches of `C` vectors from value `j` on; returns where they stop.
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx2,f16c")]
unsafe fn up_vectors<T: Lane, const N: usize, const C: usize>(
    b: &[T],
    r: usize,
    down: &[f32],
    ys: &mut [&mut &mut [f32]; N],
    mut j: usize,
) -> usize {
    use std::arch::x86_64::*;
    let d_out = b.len() / r;
    while j + C * 8 <= d_out {
        // SAFETY: `j + 8·C <= d_out`, within each row of `B` and each `y`; this runs where the
        // CPU has AVX2 and F16C.
        unsafe {
            let mut acc: [[__m256; C]; N] = std::array::from_fn(|i| {
                std::array::from_fn(|v| _mm256_loadu_ps(ys[i].as_ptr().add(j + v * 8)))
            });
            for k in 0..r {
                let row = b.as_ptr().add(k * d_out + j);
                let vb: [__m256; C] = std::array::from_fn(|v| T::load8(row.add(v * 8)));
                for (i, acc) in acc.iter_mut().enumerate() {
                    let u = _mm256_set1_ps(down[i * r + k]);
                    for (acc, &vb) in acc.iter_mut().zip(&vb) {
                        *acc = _mm256_add_ps(*acc, _mm256_mul_ps(u, vb));
                    }
                }
            }
            for (y, acc) in ys.iter_mut().zip(&acc) {
                for (v, &acc) in acc.iter().enumerate() {
                    _mm256_storeu_ps(y.as_mut_ptr().add(j + v * 8), acc);
                }
            }
        }
        j += C * 8;
    }
    j
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    fn values(rng: &mut StdRng, n: usize) -> Vec<f32> {
        (0..n).map(|_| rng.random_range(-1.0..1.0)).collect()
    }

    /// Layer 0 with `q`, `k` and `v` factors of rank `rank`: `[d_in, 20]`, `[d_in, 9]` and
    /// `[d_in, 300]` (the vector code's widest stretches, then single vectors, then values).
    fn adapter(rng: &mut StdRng, d_in: usize, rank: usize, scale: f32) -> Adapter {
        let mut layer: [Option<Factors>; 7] = Default::default();
        for (target, d_out) in [
            (TargetModule::Q, 20),
            (TargetModule::K, 9),
            (TargetModule::V, 300),
        ] {
            layer[target_index(target)] = Some(Factors {
                a_t: Values::F32(values(rng, rank * d_in)),
                b: Values::F32(values(rng, rank * d_out)),
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
    fn grouped_terms_are_each_rows_own_sum_on_every_instruction_set() {
        // d_in 37: the dot product's eight lanes and a tail. Rows 0, 2, 3, 5, 6, 8, 9 on the
        // first adapter (tasks of four and three rows), 1 and 7 on the second, 10 on the third,
        // 4 on none: each number of rows a task takes.
        let mut rng = StdRng::seed_from_u64(3);
        let (d_in, width, rows) = (37, 329, 11);
        let (first, second, third) = (
            adapter(&mut rng, d_in, 5, 0.7),
            adapter(&mut rng, d_in, 3, 2.0),
            adapter(&mut rng, d_in, 16, 0.5),
        );
        let x = values(&mut rng, rows * d_in);
        let y = values(&mut rng, rows * width);
        let groups = [
            AdapterRows {
                adapter: &first,
                rows: vec![0, 2, 3, 5, 6, 8, 9],
            },
            AdapterRows {
                adapter: &second,
                rows: vec![1, 7],
            },
            AdapterRows {
                adapter: &third,
                rows: vec![10],
            },
        ];
        let targets = [
            (TargetModule::Q, 0),
            (TargetModule::K, 20),
            (TargetModule::V, 29),
        ];
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
                    let (Values::F32(a_t), Values::F32(b)) = (&f.a_t, &f.b) else {
                        unreachable!("f32 factors")
                    };
                    for (a, b) in a_t.chunks_exact(d_in).zip(b.chunks_exact(d_out)) {
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
            LowRank::down(isa, &groups, 0, &targets, &x, d_in, 0, |_| {})
                .add_to(isa, &mut out, width);
            assert!(out == expected, "{isa:?}");
        }
    }

    /// `adapter`'s factors mapped value by value.
    fn mapped(adapter: &Adapter, map: impl Fn(&Values) -> Values) -> Adapter {
        let layers = adapter
            .layers
            .iter()
            .map(|layer| {
                layer.each_ref().map(|factors| {
                    factors.as_ref().map(|f| Factors {
                        a_t: map(&f.a_t),
                        b: map(&f.b),
                        rank: f.rank,
                        scale: f.scale,
                    })
                })
            })
            .collect();
        Adapter { layers, bytes: 0 }
    }

    #[test]
    fn sixteen_bit_factors_give_the_bits_of_their_f32_values_on_every_instruction_set() {
        use half::{bf16, f16};
        let mut rng = StdRng::seed_from_u64(5);
        let (d_in, width, rows) = (37, 329, 5);
        let wide = adapter(&mut rng, d_in, 4, 0.9);
        let x = values(&mut rng, rows * d_in);
        let y = values(&mut rng, rows * width);
        let targets = [
            (TargetModule::Q, 0),
            (TargetModule::K, 20),
            (TargetModule::V, 29),
        ];
        let f32s = |values: &Values| match values {
            Values::F32(v) => v.clone(),
            other => panic!("{:?}", other.stored()),
        };
        for narrow in [
            &|v: &Values| Values::F16(f32s(v).into_iter().map(f16::from_f32).collect()),
            &|v: &Values| Values::Bf16(f32s(v).into_iter().map(bf16::from_f32).collect()),
        ] as [&dyn Fn(&Values) -> Values; 2]
        {
            let narrow = mapped(&wide, narrow);
            let widened = mapped(&narrow, |v| {
                let mut out = vec![0.0; v.len()];
                Values::F32(v.rows(0..1, v.len(), &mut out).to_vec())
            });
            let terms = |adapter: &Adapter, isa: Isa| {
                let groups = [AdapterRows {
                    adapter,
                    rows: vec![0, 1, 3, 4],
                }];
                let mut out = y.clone();
                LowRank::down(isa, &groups, 0, &targets, &x, d_in, 0, |_| {})
                    .add_to(isa, &mut out, width);
                out
            };
            let expected = terms(&widened, Isa::Scalar);
            assert!(expected != y);
            for isa in Isa::available() {
                assert!(terms(&narrow, isa) == expected, "{isa:?}");
            }
        }
    }
}
