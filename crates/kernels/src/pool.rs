//! A fixed-size thread pool for data-parallel kernels: `run(f)` calls `f(i, n)` once for every index
//! `i < n` and returns when all calls have returned.
//!
//! Indices are claimed from a shared counter by whichever threads are running (the caller included),
//! so a worker that is descheduled (another process took its core) never holds up the job: the caller
//! runs the index itself instead of waiting for the worker to wake. Idle workers spin briefly (decode
//! issues hundreds of tiny jobs per token, and a futex wake-up costs more than the job), then park on a
//! condvar, so a competing process is not starved by spinning. `run` allocates nothing.

use std::cell::{Cell, UnsafeCell};
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long an idle worker (or a waiting caller) spins before parking.
pub const DEFAULT_SPIN: Duration = Duration::from_micros(50);

type Job = dyn Fn(usize, usize) + Sync;

thread_local! {
    /// Set while this thread executes a pool job: a nested `run` then executes serially instead of
    /// deadlocking.
    static IN_JOB: Cell<bool> = const { Cell::new(false) };
}

/// `state` packs the job generation (high 32 bits) with the next unclaimed index (low 32 bits).
fn pack(epoch: u32, next: u32) -> u64 {
    (epoch as u64) << 32 | next as u64
}

fn unpack(v: u64) -> (u32, u32) {
    ((v >> 32) as u32, v as u32)
}

struct Shared {
    n_threads: usize,
    spin: Duration,
    /// Generation and next index of the current job. Claiming an index is a CAS on this word.
    state: AtomicU64,
    /// Threads between announcing themselves and leaving the claim loop; the caller returns only
    /// when this is zero, so no one still holds `job`.
    active: AtomicUsize,
    /// The current job. Written only by the caller holding `run_lock`, before the generation bump
    /// (SeqCst), read by threads after a successful claim in that generation.
    job: UnsafeCell<Option<*const Job>>,
    /// A call panicked during the current job.
    panicked: AtomicBool,
    shutdown: AtomicBool,
    /// Parked workers, and whether the caller is parked waiting for `active == 0`.
    sleepers: AtomicUsize,
    caller_sleeping: AtomicBool,
    lock: Mutex<()>,
    wake_workers: Condvar,
    wake_caller: Condvar,
}

// SAFETY: `job` is the only non-Sync field; its accesses are ordered through `state` and `active`
// (see the field comments), and the pointee is `Sync`.
unsafe impl Sync for Shared {}
unsafe impl Send for Shared {}

impl Shared {
    /// Claims and runs indices of the current generation until none are left.
    fn claim_and_run(&self) {
        let n = self.n_threads as u32;
        loop {
            let v = self.state.load(Ordering::SeqCst);
            let (epoch, next) = unpack(v);
            if next >= n {
                return;
            }
            if self
                .state
                .compare_exchange_weak(v, pack(epoch, next + 1), Ordering::SeqCst, Ordering::Relaxed)
                .is_err()
            {
                continue;
            }
            // SAFETY: a successful claim in this generation happens after the caller published `job`
            // (SeqCst), and the caller keeps the closure alive until `active` drops to zero, which
            // cannot happen before this thread leaves `participate`.
            let job = unsafe { *self.job.get() };
            if let Some(job) = job {
                let f = unsafe { &*job };
                if panic::catch_unwind(AssertUnwindSafe(|| f(next as usize, self.n_threads))).is_err() {
                    self.panicked.store(true, Ordering::SeqCst);
                }
            }
        }
    }

    /// A worker's share of the current job.
    fn participate(&self) {
        self.active.fetch_add(1, Ordering::SeqCst);
        self.claim_and_run();
        // SeqCst pairs with the caller's `caller_sleeping` store then `active` load (no lost wake-up).
        if self.active.fetch_sub(1, Ordering::SeqCst) == 1 && self.caller_sleeping.load(Ordering::SeqCst) {
            let _g = self.lock.lock().unwrap_or_else(|e| e.into_inner());
            self.wake_caller.notify_all();
        }
    }
}

/// A pool of `n_threads - 1` workers plus the calling thread.
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
        let n_threads = n_threads.clamp(1, u32::MAX as usize);
        let shared = Arc::new(Shared {
            n_threads,
            spin,
            // Generation 0 with nothing to claim.
            state: AtomicU64::new(pack(0, n_threads as u32)),
            active: AtomicUsize::new(0),
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
                .spawn(move || worker_loop(&s, 0));
            match spawned {
                Ok(h) => workers.push(h),
                // Out of threads: run with what we have rather than fail.
                Err(_) => break,
            }
        }
        let actual = workers.len() + 1;
        if actual != n_threads {
            shutdown_workers(&shared, &mut workers);
            return ThreadPool::with_spin(actual, spin);
        }
        ThreadPool { shared, workers, run_lock: Mutex::new(()) }
    }

    pub fn n_threads(&self) -> usize {
        self.shared.n_threads
    }

    /// Runs `f(i, n_threads)` once for every `i` in `0..n_threads`, concurrently, and returns when all
    /// calls have returned. Which thread runs which index is not fixed (the caller takes indices a
    /// descheduled worker has not started), so `f` must depend on `i`, not on the thread.
    ///
    /// A `run` from inside a job (nested), or on a single-thread pool, executes every index serially on
    /// the calling thread. A panic in any call is re-raised here after all calls have finished.
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
        // SAFETY: erases the borrow's lifetime so workers can see the job. A thread dereferences it only
        // after claiming an index of this generation and before leaving `participate`; `Finish::drop`
        // closes the generation and waits for `active == 0` before this function returns or unwinds,
        // so `f` outlives every use.
        let job: *const Job = unsafe { std::mem::transmute::<&(dyn Fn(usize, usize) + Sync + '_), &'static Job>(f) };
        // SAFETY: only the `run_lock` holder writes `job`; no thread can claim an index until the
        // generation bump below, and the previous `run` waited for every participant to leave.
        unsafe { *s.job.get() = Some(job) };
        s.panicked.store(false, Ordering::SeqCst);
        let (epoch, _) = unpack(s.state.load(Ordering::SeqCst));
        let epoch = epoch.wrapping_add(1);
        s.state.store(pack(epoch, 0), Ordering::SeqCst);
        if s.sleepers.load(Ordering::SeqCst) > 0 {
            wake_all_workers(s);
        }

        let finish = Finish { s, epoch };
        IN_JOB.with(|c| c.set(true));
        let mine = panic::catch_unwind(AssertUnwindSafe(|| s.claim_and_run()));
        IN_JOB.with(|c| c.set(false));
        drop(finish);

        if let Err(p) = mine {
            panic::resume_unwind(p);
        }
        if s.panicked.load(Ordering::SeqCst) {
            panic!("a thread-pool job panicked (see the message above)");
        }
    }
}

/// Closes the generation and waits until no thread is inside it, also while unwinding.
struct Finish<'a> {
    s: &'a Shared,
    epoch: u32,
}

impl Drop for Finish<'_> {
    fn drop(&mut self) {
        let s = self.s;
        // Normally every index is already claimed; after a panic, stop further claims.
        s.state.store(pack(self.epoch, s.n_threads as u32), Ordering::SeqCst);
        let start = Instant::now();
        let mut spins = 0u32;
        while s.active.load(Ordering::SeqCst) != 0 {
            std::hint::spin_loop();
            spins += 1;
            if spins & 63 == 0 && start.elapsed() > s.spin {
                let mut guard = s.lock.lock().unwrap_or_else(|e| e.into_inner());
                s.caller_sleeping.store(true, Ordering::SeqCst);
                while s.active.load(Ordering::SeqCst) != 0 {
                    guard = s.wake_caller.wait(guard).unwrap_or_else(|e| e.into_inner());
                }
                s.caller_sleeping.store(false, Ordering::SeqCst);
                break;
            }
        }
        // SAFETY: no thread is inside the job and none can claim it any more: clear the pointer.
        unsafe { *s.job.get() = None };
    }
}

fn wake_all_workers(s: &Shared) {
    let _g = s.lock.lock().unwrap_or_else(|e| e.into_inner());
    s.wake_workers.notify_all();
}

/// `seen`: the generation current when the pool was built (a thread that starts late must still
/// notice every bump since, shutdown included).
fn worker_loop(s: &Shared, mut seen: u32) {
    IN_JOB.with(|c| c.set(true));
    loop {
        // Wait for a new generation: spin, then park.
        let start = Instant::now();
        let mut spins = 0u32;
        loop {
            if unpack(s.state.load(Ordering::SeqCst)).0 != seen {
                break;
            }
            std::hint::spin_loop();
            spins += 1;
            if spins & 63 == 0 && start.elapsed() > s.spin {
                let mut guard = s.lock.lock().unwrap_or_else(|e| e.into_inner());
                s.sleepers.fetch_add(1, Ordering::SeqCst);
                while unpack(s.state.load(Ordering::SeqCst)).0 == seen {
                    guard = s.wake_workers.wait(guard).unwrap_or_else(|e| e.into_inner());
                }
                s.sleepers.fetch_sub(1, Ordering::SeqCst);
                break;
            }
        }
        seen = unpack(s.state.load(Ordering::SeqCst)).0;
        if s.shutdown.load(Ordering::SeqCst) {
            return;
        }
        s.participate();
    }
}

fn shutdown_workers(s: &Shared, workers: &mut Vec<JoinHandle<()>>) {
    s.shutdown.store(true, Ordering::SeqCst);
    // A new generation with nothing to claim wakes everyone up to see the flag.
    let (epoch, _) = unpack(s.state.load(Ordering::SeqCst));
    s.state.store(pack(epoch.wrapping_add(1), s.n_threads as u32), Ordering::SeqCst);
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
