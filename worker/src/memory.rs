//! Heap accounting for the benchmark: a global allocator wrapper that tracks the bytes in use
//! and their high-water mark. On the CPU backend tensors live on the heap, so this is the
//! training run's memory.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Has every thread allocate from glibc's main arena, so that memory one thread frees is reused
/// by the next allocation of any thread.
///
/// glibc gives each thread that allocates an arena of its own (up to eight per core) and returns
/// a freed block to the arena it came from, where only the threads attached to that arena reuse
/// it. A training step allocates and frees on whichever of rayon's threads runs each op, so
/// each arena kept its own high-water mark of activations, and the resident set moved by
/// hundreds of MiB between identical runs (`docs/performance.md`). Call it first thing in
/// `main`, before any other thread exists.
pub fn use_one_arena() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `mallopt` sets one of the allocator's tunables; it is called before other threads
    // start.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
}

/// The system allocator, counting.
pub struct PeakAllocator {
    current: AtomicUsize,
    peak: AtomicUsize,
}

impl PeakAllocator {
    pub const fn new() -> Self {
        Self {
            current: AtomicUsize::new(0),
            peak: AtomicUsize::new(0),
        }
    }

    /// Bytes allocated now.
    pub fn current(&self) -> usize {
        self.current.load(Ordering::Relaxed)
    }

    /// Starts a new high-water mark at the current use and returns that use.
    pub fn reset_peak(&self) -> usize {
        let now = self.current();
        self.peak.store(now, Ordering::Relaxed);
        now
    }

    /// Highest use since the last [`reset_peak`](Self::reset_peak).
    pub fn peak(&self) -> usize {
        self.peak.load(Ordering::Relaxed)
    }

    fn grow(&self, bytes: usize) {
        let now = self.current.fetch_add(bytes, Ordering::Relaxed) + bytes;
        self.peak.fetch_max(now, Ordering::Relaxed);
    }
}

impl Default for PeakAllocator {
    fn default() -> Self {
        Self::new()
    }
}

// SAFETY: every call is forwarded to `System` unchanged; the counters only observe sizes.
unsafe impl GlobalAlloc for PeakAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            self.grow(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            self.grow(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        self.current.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            self.current.fetch_sub(layout.size(), Ordering::Relaxed);
            self.grow(new_size);
        }
        new
    }
}
