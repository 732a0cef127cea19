//! Each thread's scratch vectors, reused call after call by the runtime's parallel tasks.
//!
//! A step runs attention for every (sequence, key/value head) on every thread at once. Vectors
//! allocated afresh in each task, once past the allocator's per-thread cache (1 KiB), waited on
//! its one lock (`memory::use_one_arena`): a third of an 8-stream step's attention at short
//! contexts (`bench decode --phases`, docs/performance.md). The products' per-task results
//! showed no such wait (fewer, larger tasks).

use std::cell::RefCell;
use std::thread::LocalKey;

/// A thread's scratch vector.
pub type Scratch<T> = RefCell<Vec<T>>;

/// `len` values of `fill` in the thread's vector under `key`; hand it back with `key.set(..)`
/// (one not handed back is only a fresh allocation next time).
pub fn take<T: Copy>(key: &'static LocalKey<Scratch<T>>, len: usize, fill: T) -> Vec<T> {
    let mut values = key.take();
    values.clear();
    values.resize(len, fill);
    values
}
