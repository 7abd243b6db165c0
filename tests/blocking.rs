//! `spawn_blocking`: the blocking pool (`src/runtime/blocking.rs`).
#![cfg(not(any(feature = "loom", feature = "shuttle")))]

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

const LIMIT: Duration = Duration::from_secs(20);

#[test]
fn returns_the_value() {
    common::within(LIMIT, || {
        let rt = tempo::Runtime::builder().worker_threads(2).build().unwrap();
        let v = rt.block_on(async { tempo::spawn_blocking(|| 6 * 7).await.unwrap() });
        assert_eq!(v, 42);
        let h = rt.spawn_blocking(|| String::from("owned"));
        assert_eq!(rt.block_on(h).unwrap(), "owned");
        let h = rt.handle().spawn_blocking(|| vec![1, 2, 3]);
        assert!(rt.block_on(h).unwrap().len() == 3);
        let v = rt.block_on(async { tempo::task::spawn_blocking(|| 1u8).await.unwrap() });
        assert_eq!(v, 1);
    });
}

/// Eight closures sleeping on a one-worker runtime do not stop an async
/// task from making progress: they run off the worker.
#[test]
fn runs_off_the_worker() {
    common::within(LIMIT, || {
        let _g = common::serial();
        let rt = tempo::Runtime::builder().worker_threads(1).build().unwrap();
        rt.block_on(async {
            let ticks = Arc::new(AtomicUsize::new(0));
            let t = ticks.clone();
            let ticker = tempo::spawn(async move {
                for _ in 0..20 {
                    tempo::time::sleep(Duration::from_millis(5)).await;
                    t.fetch_add(1, Ordering::SeqCst);
                }
            });
            let start = Instant::now();
            let hs: Vec<_> = (0..8)
                .map(|_| tempo::spawn_blocking(|| std::thread::sleep(Duration::from_millis(500))))
                .collect();
            ticker.await.unwrap();
            // The ticker finished while the sleepers still slept.
            assert!(
                start.elapsed() < Duration::from_millis(450),
                "{:?}",
                start.elapsed()
            );
            assert_eq!(ticks.load(Ordering::SeqCst), 20);
            assert!(hs.iter().any(|h| !h.is_finished()));
            for h in hs {
                h.await.unwrap();
            }
        });
    });
}

#[test]
fn a_panic_reaches_the_handle_with_its_payload() {
    common::within(LIMIT, || {
        let rt = tempo::Runtime::builder().worker_threads(1).build().unwrap();
        let err = rt
            .block_on(rt.spawn_blocking(|| -> u32 {
                std::panic::panic_any(String::from("boom in the pool"))
            }))
            .unwrap_err();
        assert!(err.is_panic());
        let p = err.into_panic();
        assert_eq!(p.downcast_ref::<String>().unwrap(), "boom in the pool");
        // The pool thread survived: the pool still works.
        assert_eq!(rt.block_on(rt.spawn_blocking(|| 5)).unwrap(), 5);
    });
}

/// A queued job whose handle was aborted never runs.
#[test]
fn abort_of_a_queued_job_means_it_never_runs() {
    common::within(LIMIT, || {
        let rt = tempo::Runtime::builder()
            .worker_threads(1)
            .max_blocking_threads(1)
            .build()
            .unwrap();
        let (tx, rx) = mpsc::channel::<()>();
        let first = rt.spawn_blocking(move || rx.recv().unwrap());
        let ran = Arc::new(AtomicBool::new(false));
        let r = ran.clone();
        let second = rt.spawn_blocking(move || r.store(true, Ordering::SeqCst));
        second.abort();
        assert!(rt.block_on(second).unwrap_err().is_cancelled());
        tx.send(()).unwrap();
        rt.block_on(first).unwrap();
        // FIFO: a later job runs after the aborted one would have.
        rt.block_on(rt.spawn_blocking(|| ())).unwrap();
        assert!(!ran.load(Ordering::SeqCst), "an aborted queued job ran");
    });
}

/// Abort of a running job: it runs to completion, the handle is cancelled.
#[test]
fn abort_of_a_running_job_cancels_the_handle_and_the_job_finishes() {
    common::within(LIMIT, || {
        let rt = tempo::Runtime::builder().worker_threads(1).build().unwrap();
        let (started_tx, started_rx) = mpsc::channel::<()>();
        let (go_tx, go_rx) = mpsc::channel::<()>();
        let (done_tx, done_rx) = mpsc::channel::<()>();
        let h = rt.spawn_blocking(move || {
            started_tx.send(()).unwrap();
            go_rx.recv().unwrap();
            done_tx.send(()).unwrap();
            7
        });
        started_rx.recv().unwrap();
        h.abort();
        assert!(rt.block_on(h).unwrap_err().is_cancelled());
        go_tx.send(()).unwrap();
        done_rx.recv_timeout(Duration::from_secs(5)).unwrap();
    });
}

/// Dropping the runtime never waits for blocking work: a job blocked
/// forever does not hold it up, the queued job never runs and both handles
/// resolve cancelled.
#[test]
fn runtime_drop_does_not_wait_for_blocking_work() {
    common::within(LIMIT, || {
        let rt = tempo::Runtime::builder()
            .worker_threads(1)
            .max_blocking_threads(1)
            .build()
            .unwrap();
        let (tx, rx) = mpsc::channel::<()>();
        let (started_tx, started_rx) = mpsc::channel::<()>();
        let running = rt.spawn_blocking(move || {
            started_tx.send(()).unwrap();
            let _ = rx.recv(); // "forever": until the test ends
        });
        let ran = Arc::new(AtomicBool::new(false));
        let r = ran.clone();
        let queued = rt.spawn_blocking(move || r.store(true, Ordering::SeqCst));
        started_rx.recv().unwrap();
        let start = Instant::now();
        drop(rt);
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "runtime drop took {:?}",
            start.elapsed()
        );
        let other = tempo::Runtime::builder().worker_threads(0).build().unwrap();
        assert!(other.block_on(queued).unwrap_err().is_cancelled());
        assert!(other.block_on(running).unwrap_err().is_cancelled());
        drop(tx); // the detached pool thread returns and exits
        std::thread::sleep(Duration::from_millis(20));
        assert!(
            !ran.load(Ordering::SeqCst),
            "a queued job ran after shutdown"
        );
    });
}

/// `spawn_blocking` after shutdown resolves cancelled at once and drops `f`.
#[test]
fn spawn_blocking_after_shutdown_is_cancelled() {
    common::within(LIMIT, || {
        let rt = tempo::Runtime::builder().worker_threads(1).build().unwrap();
        let handle = rt.handle();
        drop(rt);
        let ran = Arc::new(AtomicBool::new(false));
        let r = ran.clone();
        let h = handle.spawn_blocking(move || r.store(true, Ordering::SeqCst));
        assert!(h.is_finished());
        let other = tempo::Runtime::builder().worker_threads(0).build().unwrap();
        assert!(other.block_on(h).unwrap_err().is_cancelled());
        assert!(!ran.load(Ordering::SeqCst));
    });
}

/// With `max_blocking_threads(2)`, never more than two jobs run at once,
/// and every job runs.
#[test]
fn the_thread_cap_holds() {
    common::within(LIMIT, || {
        let rt = tempo::Runtime::builder()
            .worker_threads(1)
            .max_blocking_threads(2)
            .build()
            .unwrap();
        let now = Arc::new(AtomicUsize::new(0));
        let max = Arc::new(AtomicUsize::new(0));
        let done = Arc::new(AtomicUsize::new(0));
        let hs: Vec<_> = (0..10)
            .map(|_| {
                let (now, max, done) = (now.clone(), max.clone(), done.clone());
                rt.spawn_blocking(move || {
                    let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                    max.fetch_max(n, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(20));
                    now.fetch_sub(1, Ordering::SeqCst);
                    done.fetch_add(1, Ordering::SeqCst);
                })
            })
            .collect();
        for h in hs {
            rt.block_on(h).unwrap();
        }
        assert_eq!(done.load(Ordering::SeqCst), 10);
        let m = max.load(Ordering::SeqCst);
        assert!(m <= 2, "{m} jobs ran at once");
        assert_eq!(m, 2, "the cap of 2 was never used");
    });
}

fn pool_threads(name: &str) -> usize {
    std::fs::read_dir("/proc/self/task")
        .unwrap()
        .filter_map(|e| std::fs::read_to_string(e.ok()?.path().join("comm")).ok())
        .filter(|c| c.trim_end() == name)
        .count()
}

/// Pool threads are named `{thread_name}-blocking` and exit after the
/// keep-alive.
#[test]
fn idle_pool_threads_exit() {
    common::within(LIMIT, || {
        let rt = tempo::Runtime::builder()
            .worker_threads(1)
            .thread_name("tbidle")
            .blocking_keep_alive(Duration::from_millis(100))
            .build()
            .unwrap();
        let (tx, rx) = mpsc::channel::<()>();
        let rx = Arc::new(std::sync::Mutex::new(rx));
        let hs: Vec<_> = (0..3)
            .map(|_| {
                let rx = rx.clone();
                rt.spawn_blocking(move || {
                    let _ = rx.lock().unwrap().recv_timeout(Duration::from_millis(300));
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(pool_threads("tbidle-blocking"), 3);
        drop(tx);
        for h in hs {
            rt.block_on(h).unwrap();
        }
        let start = Instant::now();
        while pool_threads("tbidle-blocking") > 0 {
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "idle pool threads never exited"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        // The pool spawns again on demand.
        assert_eq!(rt.block_on(rt.spawn_blocking(|| 3)).unwrap(), 3);
    });
}

#[test]
fn max_blocking_threads_zero_is_a_build_error() {
    let err = tempo::Runtime::builder()
        .max_blocking_threads(0)
        .build()
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
}

#[test]
fn spawn_blocking_outside_a_runtime_panics_helpfully() {
    let err = std::panic::catch_unwind(|| tempo::spawn_blocking(|| 1)).unwrap_err();
    let msg = err
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap();
    assert!(
        msg.contains("tempo::spawn_blocking was called outside a tempo runtime")
            && msg.contains("Handle::spawn_blocking"),
        "{msg}"
    );
}

#[test]
fn works_on_a_caller_driven_runtime() {
    common::within(LIMIT, || {
        let rt = tempo::Runtime::builder().worker_threads(0).build().unwrap();
        let v = rt.block_on(async {
            let a = tempo::spawn_blocking(|| {
                std::thread::sleep(Duration::from_millis(10));
                1
            });
            let b = tempo::spawn(async { tempo::spawn_blocking(|| 2).await.unwrap() });
            a.await.unwrap() + b.await.unwrap()
        });
        assert_eq!(v, 3);
    });
}

/// A `spawn_blocking` closure runs inside its runtime's context (blocking.rs
/// invariant 8): `tempo::spawn` and `Handle::current` reach the runtime from
/// it, and, since the pool thread drives nothing, it may `block_on` another
/// runtime. Before, `spawn` and `Handle::current` panicked there ("called
/// outside a tempo runtime").
#[test]
fn a_blocking_closure_runs_in_its_runtime_context_and_may_block_on() {
    common::within(LIMIT, || {
        let rt = tempo::Runtime::builder().worker_threads(2).build().unwrap();
        let other = Arc::new(tempo::Runtime::builder().worker_threads(1).build().unwrap());
        let o = other.clone();
        let (spawned_on, from_other) = rt.block_on(async move {
            let me = tempo::Handle::current().live_tasks();
            let h = tempo::spawn_blocking(move || {
                let (tx, rx) = mpsc::channel();
                // A task spawned from the pool thread runs on the runtime.
                tempo::spawn(
                    async move { tx.send(tempo::Handle::current().worker_threads()).unwrap() },
                );
                let workers = rx
                    .recv_timeout(Duration::from_secs(10))
                    .expect("the task spawned from a blocking closure never ran");
                // The bridge back to async code: block on another runtime.
                let v = o.block_on(async { tempo::spawn(async { 40 + 2 }).await.unwrap() });
                (workers, v)
            });
            let r = h.await.unwrap();
            assert!(tempo::Handle::current().live_tasks() >= me);
            r
        });
        assert_eq!(spawned_on, 2, "the task ran on the closure's runtime");
        assert_eq!(from_other, 42);
    });
}
