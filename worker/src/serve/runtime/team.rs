//! The runtime's threads: a pass runs on the thread that asks for it, with the team's other
//! threads spinning beside it to take each parallel phase's tasks, then sleeping once idle.
//!
//! A decode pass alternates 150–200 short parallel phases (the products, attention) with
//! serial ones (norms, RoPE, cache appends). On rayon's pool an idle worker yields to the OS 32
//! times and then sleeps on a futex, so most phases began by waking a thread, and a phase's end
//! often waited for one: on a 2-core VM a one-stream step made 270 futex calls and 2,800
//! `sched_yield`s, a fifth of the CPU time in the scheduler (`perf`), and waking a halted vCPU
//! goes through the hypervisor. Here the threads wait for the next phase with `pause` and only
//! sleep after [`SPIN`] without one.
//!
//! Phases are [`for_each`], [`map`] and [`map_beside`]. A phase's tasks are in two queues: the
//! thread running the pass takes the first queue's first, the others the second's (for
//! [`map_beside`]: work that waits on memory on one thread, arithmetic on the other). Called
//! within [`Team::run`] they use the team; within one of its tasks (a phase nested in a phase)
//! they run on that task's thread; elsewhere (tests, loading) on rayon's pool. No result
//! depends on which thread runs a task.

use std::any::Any;
use std::cell::Cell;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long an idle thread spins for the next phase before it sleeps: longer than the gaps
/// between a pass's phases and between a server's passes, short enough that an idle server
/// gives its cores back at once.
const SPIN: Duration = Duration::from_micros(500);

/// What the team's threads share.
struct Shared {
    /// The current phase: its generation (high 32 bits) and its next unclaimed task (low 32
    /// bits; [`CLOSED`] while a phase is being set up). A task is claimed by a
    /// compare-exchange of the whole word, so a thread that read an ended phase claims nothing.
    claim: AtomicU64,
    /// Where the current phase's first queue (`0..split`) ends.
    split: AtomicUsize,
    /// The second queue (`split..tasks`), as [`Shared::claim`]: generation and next task.
    claim_second: AtomicU64,
    /// The current phase's task count and tasks, valid while its tasks are unfinished.
    tasks: AtomicUsize,
    job: AtomicPtr<Job<'static>>,
    /// The current phase's tasks not yet finished.
    pending: AtomicUsize,
    /// The first panic of the phase's tasks, raised again on the thread running the pass.
    panic: Mutex<Option<Box<dyn Any + Send>>>,
    /// Threads asleep (or about to be), and what wakes them.
    sleepers: AtomicUsize,
    lock: Mutex<()>,
    wake: Condvar,
    stop: AtomicBool,
}

/// A phase's tasks, on the stack of the thread running the pass.
struct Job<'a>(&'a (dyn Fn(usize) + Sync));

/// The low half of [`Shared::claim`] while a phase is set up.
const CLOSED: u64 = u32::MAX as u64;

impl Shared {
    fn generation(&self) -> u64 {
        self.claim.load(Ordering::SeqCst) >> 32
    }

    /// Claims a queue's next task (`word` as [`Shared::claim`], ending at `end`); `None`
    /// once it has none left.
    fn claim(word: &AtomicU64, end: &AtomicUsize) -> Option<usize> {
        loop {
            let claim = word.load(Ordering::Acquire);
            let next = claim & CLOSED;
            if next == CLOSED {
                // The thread running the pass is publishing a phase.
                std::hint::spin_loop();
                continue;
            }
            // The end published with `claim` or a later one; a later one means `claim` has
            // changed since, and the exchange below fails.
            if next as usize >= end.load(Ordering::Acquire) {
                return None;
            }
            if word
                .compare_exchange_weak(claim, claim + 1, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
            {
                return Some(next as usize);
            }
        }
    }

    /// Runs the current phase's tasks until none is left to claim, the second queue's first
    /// when `second_first`.
    fn work(&self, second_first: bool) {
        let first = || Self::claim(&self.claim, &self.split);
        let second = || Self::claim(&self.claim_second, &self.tasks);
        loop {
            let claimed = if second_first {
                second().or_else(first)
            } else {
                first().or_else(second)
            };
            let Some(task) = claimed else { return };
            // SAFETY: task `task` of the phase its queue's word published is claimed, and the
            // phase (with its `Job`, on the stack of `phase`) lasts until that task is finished.
            let job = unsafe { &*self.job.load(Ordering::Acquire) };
            if let Err(panic) = catch_unwind(AssertUnwindSafe(|| (job.0)(task))) {
                self.panic
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get_or_insert(panic);
            }
            self.pending.fetch_sub(1, Ordering::Release);
        }
    }

    /// A team thread's life: phases as they come, spinning between them, asleep when idle.
    fn serve(&self) {
        IN_TASK.set(true);
        // No phase seen yet: one may have started before this thread did.
        let mut seen = None;
        while !self.stop.load(Ordering::Acquire) {
            let generation = self.generation();
            if seen != Some(generation) {
                seen = Some(generation);
                self.work(true);
                continue;
            }
            let idle = Instant::now();
            while self.generation() == generation && idle.elapsed() < SPIN {
                for _ in 0..16 {
                    std::hint::spin_loop();
                }
            }
            if self.generation() == generation {
                self.sleep(generation);
            }
        }
    }

    /// Sleeps until a phase after `seen` starts (or the team stops).
    fn sleep(&self, seen: u64) {
        let mut guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
        self.sleepers.fetch_add(1, Ordering::SeqCst);
        while self.generation() == seen && !self.stop.load(Ordering::SeqCst) {
            guard = self.wake.wait(guard).unwrap_or_else(|e| e.into_inner());
        }
        self.sleepers.fetch_sub(1, Ordering::SeqCst);
    }

    /// Runs a phase of `tasks` tasks, the first queue ending at `split`, taking part in it
    /// until every task is finished.
    fn phase(&self, tasks: usize, split: usize, job: &Job<'_>) {
        let generation = (self.generation() + 1) & CLOSED;
        // Closed first, so no thread holding the last phase's claims can claim from this one's
        // queues.
        let closed = generation << 32 | CLOSED;
        self.claim.store(closed, Ordering::SeqCst);
        self.claim_second.store(closed, Ordering::SeqCst);
        // SAFETY: only the pointer's lifetime is erased: it is followed for claimed tasks, and
        // this function returns once they are all finished.
        let erased: *const Job<'static> = (job as *const Job<'_>).cast();
        self.job.store(erased.cast_mut(), Ordering::Release);
        self.tasks.store(tasks, Ordering::Release);
        self.split.store(split, Ordering::Release);
        self.pending.store(tasks, Ordering::Release);
        self.claim_second
            .store(generation << 32 | split as u64, Ordering::SeqCst);
        self.claim.store(generation << 32, Ordering::SeqCst);
        if self.sleepers.load(Ordering::SeqCst) > 0 {
            let _guard = self.lock.lock().unwrap_or_else(|e| e.into_inner());
            self.wake.notify_all();
        }
        let was = IN_TASK.replace(true);
        self.work(false);
        IN_TASK.set(was);
        while self.pending.load(Ordering::Acquire) > 0 {
            std::hint::spin_loop();
        }
        let panic = self.panic.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(panic) = panic {
            resume_unwind(panic);
        }
    }
}

thread_local! {
    /// The team whose pass this thread runs, if any.
    static TEAM: Cell<Option<&'static Shared>> = const { Cell::new(None) };
    /// Set while this thread runs a phase's task (or is a team thread): phases inside it run
    /// here, serially.
    static IN_TASK: Cell<bool> = const { Cell::new(false) };
}

/// The calling thread and `threads - 1` others that run passes' phases together.
pub struct Team {
    shared: Arc<Shared>,
    threads: Vec<JoinHandle<()>>,
}

impl Team {
    /// A team of `threads` (at least one: the thread calling [`Team::run`]).
    pub fn new(threads: usize) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            claim: AtomicU64::new(0),
            split: AtomicUsize::new(0),
            claim_second: AtomicU64::new(0),
            tasks: AtomicUsize::new(0),
            job: AtomicPtr::new(std::ptr::null_mut()),
            pending: AtomicUsize::new(0),
            panic: Mutex::new(None),
            sleepers: AtomicUsize::new(0),
            lock: Mutex::new(()),
            wake: Condvar::new(),
            stop: AtomicBool::new(false),
        });
        let threads = (1..threads.max(1))
            .map(|i| {
                let shared = Arc::clone(&shared);
                std::thread::Builder::new()
                    .name(format!("runtime-{i}"))
                    .spawn(move || shared.serve())
            })
            .collect::<std::io::Result<_>>()?;
        Ok(Self { shared, threads })
    }

    /// Threads in the team, the caller's included.
    pub fn size(&self) -> usize {
        self.threads.len() + 1
    }

    /// Runs `pass` on this thread, its phases on the whole team.
    pub fn run<R>(&self, pass: impl FnOnce() -> R) -> R {
        // SAFETY: the reference is only reachable through `TEAM` while this call runs (it is
        // reset below, also on unwinding), and `self` outlives the call.
        let shared: &'static Shared = unsafe { &*Arc::as_ptr(&self.shared) };
        struct Reset(Option<&'static Shared>, usize);
        impl Drop for Reset {
            fn drop(&mut self) {
                TEAM.set(self.0);
                SIZE.set(self.1);
            }
        }
        let _reset = Reset(TEAM.replace(Some(shared)), SIZE.replace(self.size()));
        pass()
    }
}

thread_local! {
    /// The size of the team whose pass this thread runs.
    static SIZE: Cell<usize> = const { Cell::new(0) };
}

impl Drop for Team {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        {
            let _guard = self.shared.lock.lock().unwrap_or_else(|e| e.into_inner());
            self.shared.wake.notify_all();
        }
        for thread in self.threads.drain(..) {
            // A team thread catches its tasks' panics; there is nothing else to report.
            let _ = thread.join();
        }
    }
}

/// Where a phase called now runs.
enum Place {
    Team(&'static Shared),
    Here,
    Rayon,
}

fn place() -> Place {
    if IN_TASK.get() {
        Place::Here
    } else if let Some(shared) = TEAM.get() {
        Place::Team(shared)
    } else {
        Place::Rayon
    }
}

/// Threads a phase called now can use: to split work into a few tasks per thread.
pub fn threads() -> usize {
    match place() {
        Place::Team(_) => SIZE.get(),
        Place::Here => 1,
        Place::Rayon => rayon::current_num_threads(),
    }
}

/// `task(i)` for each `i` in `0..tasks`, in parallel.
pub fn for_each(tasks: usize, task: impl Fn(usize) + Sync) {
    match place() {
        Place::Team(shared) if tasks > 1 => shared.phase(tasks, tasks, &Job(&task)),
        Place::Team(_) | Place::Here => (0..tasks).for_each(task),
        Place::Rayon => {
            use rayon::prelude::*;
            (0..tasks).into_par_iter().for_each(&task)
        }
    }
}

/// `[task(0), task(1), …]`, computed in parallel.
pub fn map<T: Send + Sync>(tasks: usize, task: impl Fn(usize) -> T + Sync) -> Vec<T> {
    map_beside(tasks, task, 0, |_| {})
}

/// [`map`], with `others` other tasks (`other(j)`) in the same phase: work that waits on memory
/// (`task`) beside work that waits on arithmetic (`other`). The thread running the pass takes
/// the mapped tasks first, the team's other threads the others, so the two kinds run at once:
/// on two hyperthreads of one core (the 2-vCPU hosts measured) each uses what the other leaves.
/// When every thread took the mapped tasks first, both waited on memory together, then both
/// computed: 8-stream steps on adapters took 8–14 % longer (`docs/performance.md`).
pub fn map_beside<T: Send + Sync>(
    tasks: usize,
    task: impl Fn(usize) -> T + Sync,
    others: usize,
    other: impl Fn(usize) + Sync,
) -> Vec<T> {
    let results: Vec<OnceLock<T>> = (0..tasks).map(|_| OnceLock::new()).collect();
    let run = |i: usize| match i.checked_sub(tasks) {
        // Each index is run once, so each cell is set once.
        None => {
            let _ = results[i].set(task(i));
        }
        Some(j) => other(j),
    };
    match place() {
        Place::Team(shared) if tasks + others > 1 => {
            shared.phase(tasks + others, tasks, &Job(&run))
        }
        _ => for_each(tasks + others, run),
    }
    results
        .into_iter()
        .map(|cell| cell.into_inner().expect("every task ran"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn every_task_runs_once_across_many_phases() {
        let team = Team::new(3).unwrap();
        team.run(|| {
            for tasks in [0, 1, 2, 7, 100] {
                for _ in 0..50 {
                    let runs: Vec<AtomicUsize> = (0..tasks).map(|_| AtomicUsize::new(0)).collect();
                    for_each(tasks, |i| {
                        runs[i].fetch_add(1, Ordering::Relaxed);
                    });
                    assert!(runs.iter().all(|r| r.load(Ordering::Relaxed) == 1));
                }
            }
            assert_eq!(map(5, |i| i * i), vec![0, 1, 4, 9, 16]);
            let others: Vec<AtomicUsize> = (0..7).map(|_| AtomicUsize::new(0)).collect();
            let squares = map_beside(
                3,
                |i| i * i,
                7,
                |j| {
                    others[j].fetch_add(1, Ordering::Relaxed);
                },
            );
            assert_eq!(squares, vec![0, 1, 4]);
            assert!(others.iter().all(|r| r.load(Ordering::Relaxed) == 1));
            assert_eq!(threads(), 3);
        });
    }

    #[test]
    fn the_other_threads_take_the_beside_tasks_first() {
        let team = Team::new(2).unwrap();
        let started = AtomicBool::new(false);
        let waited = team.run(|| {
            // Each mapped task waits for the other task to start: had every thread taken the
            // mapped tasks first, both would wait until the timeout.
            map_beside(
                2,
                |_| {
                    let waiting = Instant::now();
                    while !started.load(Ordering::SeqCst) {
                        assert!(
                            waiting.elapsed() < Duration::from_secs(10),
                            "no thread took it"
                        );
                        std::hint::spin_loop();
                    }
                },
                1,
                |_| started.store(true, Ordering::SeqCst),
            )
        });
        assert_eq!(waited.len(), 2);
    }

    #[test]
    fn the_team_works_on_the_tasks() {
        let team = Team::new(2).unwrap();
        let threads: Vec<std::thread::ThreadId> = team.run(|| {
            // Tasks long enough that the other thread takes some.
            map(64, |_| {
                std::thread::sleep(Duration::from_millis(1));
                std::thread::current().id()
            })
        });
        let mut distinct = threads.clone();
        distinct.sort_by_key(|id| format!("{id:?}"));
        distinct.dedup();
        assert_eq!(distinct.len(), 2, "both threads took tasks");
    }

    #[test]
    fn nested_phases_run_in_their_task_and_sleeping_threads_wake() {
        let team = Team::new(2).unwrap();
        // Long enough for the other thread to fall asleep.
        std::thread::sleep(SPIN * 4);
        let sums = team.run(|| {
            map(8, |i| {
                assert_eq!(threads(), 1);
                map(4, |j| i * 4 + j).into_iter().sum::<usize>()
            })
        });
        assert_eq!(sums, (0..8).map(|i| 16 * i + 6).collect::<Vec<_>>());
    }

    #[test]
    fn a_panicking_task_panics_the_pass_and_the_team_goes_on() {
        let team = Team::new(2).unwrap();
        let result = catch_unwind(AssertUnwindSafe(|| {
            team.run(|| for_each(16, |i| assert_ne!(i, 5, "task five fails")))
        }));
        assert!(result.is_err());
        assert_eq!(team.run(|| map(3, |i| i + 1)), vec![1, 2, 3]);
    }

    #[test]
    fn outside_a_pass_phases_run_on_rayon() {
        assert_eq!(threads(), rayon::current_num_threads());
        assert_eq!(map(4, |i| i), vec![0, 1, 2, 3]);
    }
}
