//! ThreadPool: every index runs exactly once per `run`, results are visible after `run` returns,
//! single-thread pools work, nested and concurrent calls are safe, panics propagate, drop joins,
//! absent workers do not stall a job.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kernels::pool::ThreadPool;

#[test]
fn many_runs_sum_correctly() {
    const ROUNDS: usize = 2000;
    for n in [1, 2, 3, 5] {
        let pool = ThreadPool::new(n);
        assert_eq!(pool.n_threads(), n);
        let total = AtomicUsize::new(0);
        for round in 0..ROUNDS {
            let seen = AtomicUsize::new(0);
            pool.run(&|i, nt| {
                assert_eq!(nt, n);
                assert!(i < n);
                seen.fetch_or(1 << i, Ordering::Relaxed);
                total.fetch_add(i + round, Ordering::Relaxed);
            });
            assert_eq!(seen.load(Ordering::Relaxed), (1 << n) - 1, "round {round}: some index did not run");
        }
        let per_round: usize = (0..n).sum();
        let rounds_term: usize = (0..ROUNDS).map(|r| r * n).sum();
        assert_eq!(total.load(Ordering::Relaxed), ROUNDS * per_round + rounds_term);
    }
}

#[test]
fn writes_are_visible_after_run() {
    let pool = ThreadPool::new(4);
    let data: Vec<AtomicUsize> = (0..4096).map(|_| AtomicUsize::new(0)).collect();
    for round in 1..200 {
        pool.run(&|i, n| {
            for (j, d) in data.iter().enumerate() {
                if j % n == i {
                    d.store(round * j, Ordering::Relaxed);
                }
            }
        });
        for (j, d) in data.iter().enumerate() {
            assert_eq!(d.load(Ordering::Relaxed), round * j);
        }
    }
}

#[test]
fn zero_threads_means_one() {
    let pool = ThreadPool::new(0);
    assert_eq!(pool.n_threads(), 1);
    let hits = AtomicUsize::new(0);
    pool.run(&|i, n| {
        assert_eq!((i, n), (0, 1));
        hits.fetch_add(1, Ordering::Relaxed);
    });
    assert_eq!(hits.load(Ordering::Relaxed), 1);
}

/// Workers park after spinning; a run after a long idle period must wake them.
#[test]
fn wakes_parked_workers() {
    let pool = ThreadPool::with_spin(3, Duration::from_micros(10));
    for _ in 0..5 {
        std::thread::sleep(Duration::from_millis(20));
        let hits = AtomicUsize::new(0);
        pool.run(&|_, _| {
            hits.fetch_add(1, Ordering::Relaxed);
        });
        assert_eq!(hits.load(Ordering::Relaxed), 3);
    }
}

/// The caller parks while a slow worker finishes.
#[test]
fn caller_waits_for_slow_worker() {
    let pool = ThreadPool::with_spin(2, Duration::from_micros(10));
    let done = AtomicUsize::new(0);
    pool.run(&|i, _| {
        if i == 1 {
            std::thread::sleep(Duration::from_millis(30));
        }
        done.fetch_add(1, Ordering::Relaxed);
    });
    assert_eq!(done.load(Ordering::Relaxed), 2);
}

#[test]
fn nested_run_executes_serially() {
    let pool = ThreadPool::new(3);
    let inner = AtomicUsize::new(0);
    pool.run(&|_, _| {
        pool.run(&|_, n| {
            assert_eq!(n, 3);
            inner.fetch_add(1, Ordering::Relaxed);
        });
    });
    assert_eq!(inner.load(Ordering::Relaxed), 9);
}

#[test]
fn concurrent_callers_are_serialized() {
    let pool = Arc::new(ThreadPool::new(2));
    let total = Arc::new(AtomicUsize::new(0));
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let (pool, total) = (Arc::clone(&pool), Arc::clone(&total));
            std::thread::spawn(move || {
                for _ in 0..500 {
                    pool.run(&|_, _| {
                        total.fetch_add(1, Ordering::Relaxed);
                    });
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(total.load(Ordering::Relaxed), 4 * 500 * 2);
}

#[test]
fn worker_panic_propagates_and_pool_survives() {
    let pool = ThreadPool::new(2);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        pool.run(&|i, _| {
            if i == 1 {
                panic!("boom in worker");
            }
        })
    }));
    assert!(r.is_err(), "a worker panic must reach the caller");
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        pool.run(&|i, _| {
            if i == 0 {
                panic!("boom in caller");
            }
        })
    }));
    assert!(r.is_err());
    let hits = AtomicUsize::new(0);
    pool.run(&|_, _| {
        hits.fetch_add(1, Ordering::Relaxed);
    });
    assert_eq!(hits.load(Ordering::Relaxed), 2);
}

/// Dropping the pool joins its workers: state they hold is released before `drop` returns.
#[test]
fn drop_joins_threads() {
    struct Flag(Arc<Mutex<usize>>);
    impl Drop for Flag {
        fn drop(&mut self) {
            *self.0.lock().unwrap() += 1;
        }
    }
    thread_local! {
        static HELD: std::cell::RefCell<Option<Flag>> = const { std::cell::RefCell::new(None) };
    }
    let dropped = Arc::new(Mutex::new(0));
    let set = AtomicUsize::new(0);
    let pool = ThreadPool::new(4);
    // Indices go to whichever thread claims them; sleeping jobs make every worker take some.
    for _ in 0..20 {
        pool.run(&|_, _| {
            let is_worker = std::thread::current().name().is_some_and(|n| n.starts_with("agora-pool-"));
            if is_worker {
                HELD.with(|h| {
                    if h.borrow().is_none() {
                        *h.borrow_mut() = Some(Flag(Arc::clone(&dropped)));
                        set.fetch_add(1, Ordering::SeqCst);
                    }
                });
            }
            std::thread::sleep(Duration::from_millis(1));
        });
    }
    let set = set.load(Ordering::SeqCst);
    assert!(set >= 1, "no worker ever ran a job");
    assert_eq!(*dropped.lock().unwrap(), 0);
    drop(pool);
    // Thread-locals of a worker are destroyed when the worker thread exits.
    assert_eq!(*dropped.lock().unwrap(), set, "every worker must have exited when drop returns");
}

/// Workers that are parked (or descheduled) when a job starts do not hold it up: the caller claims
/// their indices, and every index still runs exactly once.
#[test]
fn caller_takes_indices_of_absent_workers() {
    let pool = ThreadPool::with_spin(4, Duration::ZERO);
    for _ in 0..200 {
        let hits: Vec<AtomicUsize> = (0..4).map(|_| AtomicUsize::new(0)).collect();
        pool.run(&|i, _| {
            hits[i].fetch_add(1, Ordering::Relaxed);
        });
        assert!(hits.iter().all(|h| h.load(Ordering::Relaxed) == 1));
    }
}

/// Regression: a worker thread that started only after `drop` had begun read the shutdown
/// generation as "already seen" and waited forever; `drop` hung joining it.
#[test]
fn drop_right_after_new_does_not_hang() {
    for _ in 0..200 {
        drop(ThreadPool::new(3));
    }
}
