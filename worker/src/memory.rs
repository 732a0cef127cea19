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

/// glibc's tunable that has malloc ask the kernel for transparent huge pages (2 MiB) for the
/// memory it takes from the system (`madvise(MADV_HUGEPAGE)`).
const HUGE_PAGE_TUNABLE: &str = "glibc.malloc.hugetlb";

/// Runs this process again, in place, with glibc's malloc on transparent huge pages, when the
/// kernel gives them only to memory that asks (`/sys/kernel/mm/transparent_hugepage/enabled`
/// is `madvise`, as on Debian and Ubuntu) and the environment does not already set the tunable
/// (`GLIBC_TUNABLES=glibc.malloc.hugetlb=0` keeps 4 KiB pages). Returns only when it does not
/// restart.
///
/// The serving runtime reads its weights, KV cache and adapter factors on every decode step;
/// on 4 KiB pages that is tens of thousands of pages a step, each a TLB entry and a boundary
/// the hardware prefetcher stops at. glibc reads its tunables once, before `main`, so setting
/// one means starting again: call this first thing in `main`, before any other thread exists.
/// `docs/performance.md` ("The heap on 2 MiB pages") has the measurements.
pub fn restart_with_huge_page_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use std::os::unix::process::CommandExt;
        let enabled = std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled");
        let Some(tunables) = with_huge_page_tunable(
            std::env::var_os("GLIBC_TUNABLES").as_deref(),
            enabled.as_deref().unwrap_or(""),
        ) else {
            return;
        };
        let Ok(exe) = std::env::current_exe() else {
            return;
        };
        let mut args = std::env::args_os();
        let mut command = std::process::Command::new(exe);
        if let Some(arg0) = args.next() {
            command.arg0(arg0);
        }
        let error = command.args(args).env("GLIBC_TUNABLES", tunables).exec();
        // Only a failed `exec` returns: go on as we are, on 4 KiB pages.
        eprintln!("could not restart with huge pages for the heap ({error}); going on without");
    }
}

/// The `GLIBC_TUNABLES` value to restart with, or `None` when restarting would change nothing:
/// the tunable is already set, or the kernel's mode (`enabled`, as sysfs prints it) is not
/// `madvise` (`always` gives every large region huge pages anyway, `never` none).
fn with_huge_page_tunable(current: Option<&std::ffi::OsStr>, enabled: &str) -> Option<String> {
    if !enabled.contains("[madvise]") {
        return None;
    }
    match current.map(|tunables| tunables.to_string_lossy()) {
        Some(tunables) if tunables.contains(HUGE_PAGE_TUNABLE) => None,
        Some(tunables) if !tunables.is_empty() => Some(format!("{tunables}:{HUGE_PAGE_TUNABLE}=1")),
        _ => Some(format!("{HUGE_PAGE_TUNABLE}=1")),
    }
}

/// Whether this process's malloc asks for transparent huge pages (see
/// [`restart_with_huge_page_heap`]).
pub fn heap_on_huge_pages() -> bool {
    std::env::var("GLIBC_TUNABLES").is_ok_and(|t| t.contains(&format!("{HUGE_PAGE_TUNABLE}=1")))
}

/// Bytes of this process's memory on transparent huge pages (`AnonHugePages` of
/// `/proc/self/smaps_rollup`), where the kernel reports it.
pub fn anonymous_huge_page_bytes() -> Option<u64> {
    let rollup = std::fs::read_to_string("/proc/self/smaps_rollup").ok()?;
    anonymous_huge_page_bytes_in(&rollup)
}

fn anonymous_huge_page_bytes_in(rollup: &str) -> Option<u64> {
    let line = rollup.lines().find(|l| l.starts_with("AnonHugePages:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn the_huge_page_tunable_is_added_once_and_only_where_it_changes_something() {
        let madvise = "always [madvise] never\n";
        assert_eq!(
            with_huge_page_tunable(None, madvise).as_deref(),
            Some("glibc.malloc.hugetlb=1")
        );
        assert_eq!(
            with_huge_page_tunable(Some(OsStr::new("")), madvise).as_deref(),
            Some("glibc.malloc.hugetlb=1")
        );
        // Other tunables are kept.
        assert_eq!(
            with_huge_page_tunable(Some(OsStr::new("glibc.malloc.arena_max=1")), madvise)
                .as_deref(),
            Some("glibc.malloc.arena_max=1:glibc.malloc.hugetlb=1")
        );
        // Set already (after the restart, or by the operator to keep 4 KiB pages): no restart.
        for set in ["glibc.malloc.hugetlb=1", "glibc.malloc.hugetlb=0"] {
            assert_eq!(with_huge_page_tunable(Some(OsStr::new(set)), madvise), None);
        }
        // The kernel decides alone, or gives none.
        for mode in ["[always] madvise never", "always madvise [never]", ""] {
            assert_eq!(with_huge_page_tunable(None, mode), None);
        }
    }

    #[test]
    fn huge_page_bytes_are_read_from_the_rollup() {
        let rollup = "Rss:              181232 kB\nAnonHugePages:     43008 kB\nShmemPmdMapped:        0 kB\n";
        assert_eq!(anonymous_huge_page_bytes_in(rollup), Some(43008 * 1024));
        assert_eq!(anonymous_huge_page_bytes_in("Rss: 1 kB\n"), None);
        assert_eq!(anonymous_huge_page_bytes_in("AnonHugePages: x kB\n"), None);
    }
}
