//! `y = x·Wᵀ` for a batch of token rows against one weight matrix, parallel over the weight's
//! rows. Tokens are taken in tiles whose activations stay in L1 while a task's weight rows (in
//! L2) run over them: without tiles, a long prompt's activations are streamed from L2 or memory
//! once per weight row.

use super::kernels::{rows_dot, Activations, Isa, TILE};
use super::nf4::Nf4Stack;
use super::quant::{QMatrix, Storage, GROUP_ROWS};
use super::scratch::{self, Scratch};
use super::team;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Weight rows per parallel task, so each thread gets a few tasks to balance. A multiple of
/// [`GROUP_ROWS`], so the Q4_1 kernel's groups are whole but in a matrix's last task. (The
/// products' bits depend on none of this: each token's sum has one order, `kernels`' module
/// docs.)
fn rows_per_task(rows: usize) -> usize {
    rows.div_ceil(team::threads() * 4)
        .next_multiple_of(GROUP_ROWS)
        .max(GROUP_ROWS)
}

/// Activation bytes of a token tile (about half of a core's L1 data cache), rounded up to whole
/// tiles of the kernels ([`TILE`] tokens): eight tokens of a 1536-column matrix taken as 7 and
/// then 1 ran the last token's product on its own.
const TILE_BYTES: usize = 16 << 10;

thread_local! {
    /// Each thread's task results ([`scratch`]): at 8 tokens they outgrow the allocator's
    /// per-thread cache, and the threads' allocations waited on its lock.
    static OUT: Scratch<f32> = const { Scratch::new(Vec::new()) };
}

/// - x: `[tokens, w.cols]`
/// - output: `[tokens, w.rows]`
pub fn matmul(isa: Isa, w: &QMatrix, x: &[f32]) -> Vec<f32> {
    match Product::new(isa, w, x) {
        Ok(product) => {
            team::for_each(product.tasks(), |task| product.task(task));
            product.output()
        }
        Err(stack) => stack.matmul(isa, x),
    }
}

/// One `x·Wᵀ` of an `f32` or quantized matrix as tasks of a few weight rows each, for a phase
/// of its own ([`matmul`]) or one shared with other work.
pub struct Product<'a> {
    isa: Isa,
    w: &'a QMatrix,
    acts: Activations,
    tokens: usize,
    per_task: usize,
    tile: usize,
    /// The output's room, written by the tasks (not zeroed first: 5 MB a step at 8 streams,
    /// by one thread before the tasks start).
    y: Vec<f32>,
    columns: Columns,
    /// Tasks finished, so that `output` hands out only written values.
    done: AtomicUsize,
}

impl<'a> Product<'a> {
    /// NF4 weights are handed back: their product has tasks of its own (`super::nf4`).
    pub fn new(isa: Isa, w: &'a QMatrix, x: &[f32]) -> Result<Self, &'a Nf4Stack> {
        debug_assert_eq!(x.len() % w.cols, 0);
        if let Storage::Nf4(stack) = &w.storage {
            return Err(stack);
        }
        let tokens = x.len() / w.cols;
        let acts = Activations::new(isa, w.format(), x, w.cols);
        let tile = (TILE_BYTES / acts.bytes_per_token(w.cols))
            .max(1)
            .next_multiple_of(TILE);
        let mut y = Vec::with_capacity(tokens * w.rows);
        let columns = Columns(y.as_mut_ptr());
        Ok(Self {
            isa,
            w,
            acts,
            tokens,
            per_task: rows_per_task(w.rows),
            tile,
            y,
            columns,
            done: AtomicUsize::new(0),
        })
    }

    pub fn tasks(&self) -> usize {
        self.w.rows.div_ceil(self.per_task)
    }

    /// Computes the task's rows of every token (`[tokens, rows]`, the kernels' layout), then
    /// copies each token's into its row of the output.
    pub fn task(&self, task: usize) {
        let (w, tokens) = (self.w, self.tokens);
        let rows = task * self.per_task..((task + 1) * self.per_task).min(w.rows);
        let mut out = scratch::take(&OUT, rows.len() * tokens, 0.0);
        for start in (0..tokens).step_by(self.tile) {
            let end = (start + self.tile).min(tokens);
            let x = self.acts.tokens(start..end, w.cols);
            rows_dot(
                self.isa,
                w,
                rows.clone(),
                &x,
                end - start,
                &mut out,
                rows.len(),
                start,
            );
        }
        for (t, values) in out.chunks_exact(rows.len()).enumerate() {
            // SAFETY: within the output's room (`tokens · w.rows` values), which lives as long
            // as `self`; each task writes only its own rows' entries of each token's row, so
            // no two tasks write one place, and nothing reads it before `output`.
            unsafe {
                std::ptr::copy_nonoverlapping(
                    values.as_ptr(),
                    self.columns.at(t * w.rows + rows.start),
                    rows.len(),
                );
            }
        }
        OUT.set(out);
        self.done.fetch_add(1, Ordering::Release);
    }

    /// `[tokens, w.rows]`. Panics unless every task has run.
    pub fn output(self) -> Vec<f32> {
        assert_eq!(
            self.done.load(Ordering::Acquire),
            self.tasks(),
            "a product's output taken before its tasks ran"
        );
        let mut y = self.y;
        // SAFETY: the tasks, all finished, wrote every entry of `[tokens, w.rows]` (each its
        // rows of every token).
        unsafe { y.set_len(self.tokens * self.w.rows) };
        y
    }
}

/// `y`'s buffer, shared by the tasks that write disjoint entries of it.
#[derive(Clone, Copy)]
pub(super) struct Columns(pub(super) *mut f32);

// SAFETY: see `Product::task`, `LowRank::add_to` and SwiGLU in `native`: tasks write disjoint
// entries and nothing reads until they end.
unsafe impl Send for Columns {}
unsafe impl Sync for Columns {}

impl Columns {
    pub(super) fn at(self, index: usize) -> *mut f32 {
        // SAFETY: callers pass indices within the buffer (its values, or `Product`'s room).
        unsafe { self.0.add(index) }
    }
}
