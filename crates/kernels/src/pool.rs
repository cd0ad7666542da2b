//! A fixed-size thread pool for data-parallel kernels: `run(f)` calls `f(i, n)` on every thread at once.
//!
//! Workers spin briefly after each job (decode issues hundreds of tiny jobs per token, and a futex
//! wake-up costs more than the job), then park on a condvar, so a process competing for a core does not
//! make the pool burn its time slices (a pool that spins forever loses 4-6x under contention).
//! `run` allocates nothing.

use std::cell::{Cell, UnsafeCell};
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long an idle worker (or a waiting caller) spins before parking.
pub const DEFAULT_SPIN: Duration = Duration::from_micros(50);

type Job = dyn Fn(usize, usize) + Sync;

thread_local! {
    /// Set while this thread executes a pool job: a nested `run` then executes serially instead of deadlocking.
    static IN_JOB: Cell<bool> = const { Cell::new(false) };
}

struct Shared {
    n_threads: usize,
    spin: Duration,
    /// Bumped once per job; workers run the job when they see a new value.
    epoch: AtomicUsize,
    /// Workers that have not finished the current job.
    remaining: AtomicUsize,
    /// The current job. Written only by the thread holding `run_lock`, before `epoch` is bumped (Release),
    /// read by workers after they observe the bump (Acquire).
    job: UnsafeCell<Option<*const Job>>,
    /// A worker panicked during the current job.
    panicked: AtomicBool,
    shutdown: AtomicBool,
    /// Parked workers, and whether the caller is parked waiting for `remaining == 0`.
    sleepers: AtomicUsize,
    caller_sleeping: AtomicBool,
    lock: Mutex<()>,
    wake_workers: Condvar,
    wake_caller: Condvar,
}

// SAFETY: `job` is the only non-Sync field; access is ordered by `epoch` (see field comment), and the
// pointee is `Sync`.
unsafe impl Sync for Shared {}
unsafe impl Send for Shared {}

/// A pool of `n_threads - 1` workers plus the calling thread (index 0).
pub struct ThreadPool {
    shared: Arc<Shared>,
    workers: Vec<JoinHandle<()>>,
    /// Serializes concurrent `run` calls from different threads.
    run_lock: Mutex<()>,
}

impl ThreadPool {
    /// A pool running jobs on `n_threads` threads (at least 1; the caller is one of them).
    pub fn new(n_threads: usize) -> ThreadPool {
        ThreadPool::with_spin(n_threads, DEFAULT_SPIN)
    }

    /// Like `new`, with an explicit spin time before idle threads park.
    pub fn with_spin(n_threads: usize, spin: Duration) -> ThreadPool {
        let n_threads = n_threads.max(1);
        let shared = Arc::new(Shared {
            n_threads,
            spin,
            epoch: AtomicUsize::new(0),
            remaining: AtomicUsize::new(0),
            job: UnsafeCell::new(None),
            panicked: AtomicBool::new(false),
            shutdown: AtomicBool::new(false),
            sleepers: AtomicUsize::new(0),
            caller_sleeping: AtomicBool::new(false),
            lock: Mutex::new(()),
            wake_workers: Condvar::new(),
            wake_caller: Condvar::new(),
        });
        let mut workers = Vec::with_capacity(n_threads - 1);
        for idx in 1..n_threads {
            let s = Arc::clone(&shared);
            let spawned = std::thread::Builder::new()
                .name(format!("agora-pool-{idx}"))
                .spawn(move || worker_loop(&s, idx));
            match spawned {
                Ok(h) => workers.push(h),
                // Out of threads: run with what we have rather than fail (indices stay dense).
                Err(_) => break,
            }
        }
        let actual = workers.len() + 1;
        if actual != n_threads {
            // Rebuild with the true count so job indices stay dense.
            shutdown_workers(&shared, &mut workers);
            return ThreadPool::with_spin(actual, spin);
        }
        ThreadPool { shared, workers, run_lock: Mutex::new(()) }
    }

    pub fn n_threads(&self) -> usize {
        self.shared.n_threads
    }

    /// Runs `f(thread_idx, n_threads)` once for every `thread_idx` in `0..n_threads`, concurrently, and
    /// returns when all calls have returned. The caller runs index 0.
    ///
    /// A `run` from inside a job (nested), or on a single-thread pool, executes every index serially on
    /// the calling thread. A panic in any call is re-raised here after all threads have finished.
    pub fn run(&self, f: &(dyn Fn(usize, usize) + Sync)) {
        let n = self.shared.n_threads;
        if n == 1 || IN_JOB.with(|c| c.get()) {
            for i in 0..n {
                f(i, n);
            }
            return;
        }
        let _serial = self.run_lock.lock().unwrap_or_else(|e| e.into_inner());
        let s = &*self.shared;
        // SAFETY: erases the borrow's lifetime so workers can see the job. Workers dereference it only
        // between observing the epoch bump below and decrementing `remaining`; `Finish::drop` waits for
        // `remaining == 0` before this function returns or unwinds, so `f` outlives every use.
        let job: *const Job = unsafe { std::mem::transmute::<&(dyn Fn(usize, usize) + Sync + '_), &'static Job>(f) };
        // SAFETY: only the `run_lock` holder writes `job`, and no worker reads it until the epoch bump.
        unsafe { *s.job.get() = Some(job) };
        s.panicked.store(false, Ordering::Relaxed);
        s.remaining.store(n - 1, Ordering::Relaxed);
        s.epoch.fetch_add(1, Ordering::SeqCst);
        if s.sleepers.load(Ordering::SeqCst) > 0 {
            wake_all_workers(s);
        }

        let finish = Finish { s };
        IN_JOB.with(|c| c.set(true));
        let mine = panic::catch_unwind(AssertUnwindSafe(|| f(0, n)));
        IN_JOB.with(|c| c.set(false));
        drop(finish);

        if let Err(p) = mine {
            panic::resume_unwind(p);
        }
        if s.panicked.load(Ordering::Acquire) {
            panic!("a thread-pool worker panicked while running a job");
        }
    }
}

/// Waits for all workers to finish the current job, also while unwinding.
struct Finish<'a> {
    s: &'a Shared,
}

impl Drop for Finish<'_> {
    fn drop(&mut self) {
        let s = self.s;
        let start = Instant::now();
        let mut spins = 0u32;
        while s.remaining.load(Ordering::Acquire) != 0 {
            std::hint::spin_loop();
            spins += 1;
            if spins % 64 == 0 && start.elapsed() > s.spin {
                // Park until the last worker wakes us.
                let mut guard = s.lock.lock().unwrap_or_else(|e| e.into_inner());
                s.caller_sleeping.store(true, Ordering::SeqCst);
                while s.remaining.load(Ordering::SeqCst) != 0 {
                    guard = s.wake_caller.wait(guard).unwrap_or_else(|e| e.into_inner());
                }
                s.caller_sleeping.store(false, Ordering::SeqCst);
                break;
            }
        }
        // SAFETY: all workers are done with the job; clear the dangling pointer.
        unsafe { *s.job.get() = None };
    }
}

fn wake_all_workers(s: &Shared) {
    let _g = s.lock.lock().unwrap_or_else(|e| e.into_inner());
    s.wake_workers.notify_all();
}

fn worker_loop(s: &Shared, idx: usize) {
    IN_JOB.with(|c| c.set(true));
    let mut seen = 0usize;
    loop {
        // Wait for a new epoch: spin, then park.
        let start = Instant::now();
        let mut spins = 0u32;
        loop {
            if s.epoch.load(Ordering::Acquire) != seen {
                break;
            }
            std::hint::spin_loop();
            spins += 1;
            if spins % 64 == 0 && start.elapsed() > s.spin {
                let mut guard = s.lock.lock().unwrap_or_else(|e| e.into_inner());
                s.sleepers.fetch_add(1, Ordering::SeqCst);
                while s.epoch.load(Ordering::SeqCst) == seen {
                    guard = s.wake_workers.wait(guard).unwrap_or_else(|e| e.into_inner());
                }
                s.sleepers.fetch_sub(1, Ordering::SeqCst);
                break;
            }
        }
        seen = s.epoch.load(Ordering::Acquire);
        if s.shutdown.load(Ordering::Acquire) {
            return;
        }
        // SAFETY: the epoch bump (Acquire above) happened after `job` was written; `run` keeps the
        // closure alive until we decrement `remaining`.
        let job = unsafe { *s.job.get() };
        if let Some(job) = job {
            let f = unsafe { &*job };
            if panic::catch_unwind(AssertUnwindSafe(|| f(idx, s.n_threads))).is_err() {
                s.panicked.store(true, Ordering::Release);
            }
        }
        // SeqCst pairs with the caller's `caller_sleeping` store then `remaining` load (no lost wake-up).
        if s.remaining.fetch_sub(1, Ordering::SeqCst) == 1 && s.caller_sleeping.load(Ordering::SeqCst) {
            let _g = s.lock.lock().unwrap_or_else(|e| e.into_inner());
            s.wake_caller.notify_all();
        }
    }
}

fn shutdown_workers(s: &Shared, workers: &mut Vec<JoinHandle<()>>) {
    s.shutdown.store(true, Ordering::SeqCst);
    s.epoch.fetch_add(1, Ordering::SeqCst);
    wake_all_workers(s);
    for w in workers.drain(..) {
        let _ = w.join();
    }
}

impl Drop for ThreadPool {
    fn drop(&mut self) {
        shutdown_workers(&self.shared, &mut self.workers);
    }
}

impl std::fmt::Debug for ThreadPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ThreadPool").field("n_threads", &self.n_threads()).finish()
    }
}
