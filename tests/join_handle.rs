#![cfg(not(any(feature = "loom", feature = "shuttle")))]
//! Integration tests of `JoinHandle` and `JoinError`: output, abort,
//! is_finished, detaching, panics.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use tempo::task::yield_now;
use tempo::time::sleep;
use tempo::{JoinError, Runtime};

mod common;
use common::{seed, within, PanickingWaker};

const LIMIT: Duration = Duration::from_secs(4);

fn rt(workers: usize) -> Runtime {
    Runtime::builder()
        .worker_threads(workers)
        .build()
        .expect("build runtime")
}

fn panic_message(p: &(dyn Any + Send)) -> Option<String> {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
}

/// Sleeps `ms` inside the runtime (drives it on worker_threads(0)).
fn nap(rt: &Runtime, ms: u64) {
    rt.block_on(async move { sleep(Duration::from_millis(ms)).await });
}

/// Counts drops of the future that owns it.
#[derive(Debug)]
struct DropCounter(Arc<AtomicUsize>);
impl Drop for DropCounter {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// Polls `cond` until true or `limit` passes.
fn eventually(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let t0 = Instant::now();
    while t0.elapsed() < limit {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    cond()
}

#[test]
fn output_is_delivered() {
    within(LIMIT, || {
        for workers in [0usize, 1, 2] {
            let rt = rt(workers);
            let h = rt.spawn(async { (1u8, String::from("two"), vec![3u64]) });
            assert!(h.id() > 0);
            let out = rt.block_on(h).unwrap();
            assert_eq!(out, (1, "two".to_string(), vec![3]));
            // Output after a real suspension.
            let h = rt.spawn(async {
                sleep(Duration::from_millis(2)).await;
                yield_now().await;
                Box::new(77u32)
            });
            assert_eq!(*rt.block_on(h).unwrap(), 77);
        }
    });
}

#[test]
fn ids_are_unique() {
    let rt = rt(1);
    let hs: Vec<_> = (0..100).map(|_| rt.spawn(async {})).collect();
    let mut ids: Vec<u64> = hs.iter().map(|h| h.id()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 100);
    // The TaskRef names the same task.
    assert_eq!(hs[3].task_ref().id(), hs[3].id());
}

#[test]
fn abort_idle_task_is_cancelled_and_drops_the_future() {
    within(LIMIT, || {
        for workers in [0usize, 1, 2] {
            let rt = rt(workers);
            let drops = Arc::new(AtomicUsize::new(0));
            let d = DropCounter(drops.clone());
            let h = rt.spawn(async move {
                let _d = d;
                std::future::pending::<u32>().await
            });
            // Let it start and go idle (on worker_threads(0) block_on drives it).
            nap(&rt, 5);
            assert!(!h.is_finished());
            h.abort();
            h.abort(); // idempotent
            let err = rt.block_on(h).unwrap_err();
            assert!(err.is_cancelled(), "workers={workers}: {err:?}");
            assert!(!err.is_panic());
            assert_eq!(
                drops.load(SeqCst),
                1,
                "workers={workers}: the future is dropped exactly once"
            );
        }
    });
}

#[test]
fn abort_before_first_poll_never_polls() {
    within(LIMIT, || {
        let rt = rt(0); // nothing runs until block_on
        let polled = Arc::new(AtomicBool::new(false));
        let drops = Arc::new(AtomicUsize::new(0));
        let p = polled.clone();
        let d = DropCounter(drops.clone());
        let h = rt.spawn(async move {
            let _d = d;
            p.store(true, SeqCst);
        });
        h.abort();
        let err = rt.block_on(h).unwrap_err();
        assert!(err.is_cancelled());
        assert!(
            !polled.load(SeqCst),
            "an aborted, never-started task must not be polled"
        );
        assert_eq!(drops.load(SeqCst), 1);
    });
}

#[test]
fn abort_sleeping_task() {
    within(LIMIT, || {
        for workers in [0usize, 2] {
            let rt = rt(workers);
            let drops = Arc::new(AtomicUsize::new(0));
            let d = DropCounter(drops.clone());
            let h = rt.spawn(async move {
                let _d = d;
                sleep(Duration::from_secs(3600)).await;
            });
            nap(&rt, 5);
            let t0 = Instant::now();
            h.abort();
            let err = rt.block_on(h).unwrap_err();
            assert!(err.is_cancelled());
            assert!(
                t0.elapsed() < Duration::from_secs(2),
                "abort of a sleeping task took {:?}",
                t0.elapsed()
            );
            assert_eq!(drops.load(SeqCst), 1);
        }
    });
}

#[test]
fn abort_of_completed_task_keeps_output() {
    within(LIMIT, || {
        for workers in [0usize, 1, 2] {
            let rt = rt(workers);
            let h = rt.spawn(async { 42 });
            if workers == 0 {
                rt.block_on(yield_now());
            }
            assert!(eventually(Duration::from_secs(2), || {
                if workers == 0 {
                    rt.block_on(yield_now());
                }
                h.is_finished()
            }));
            h.abort();
            assert!(h.is_finished());
            assert_eq!(rt.block_on(h).unwrap(), 42, "workers={workers}");
        }
    });
}

#[test]
fn abort_spinning_task_cancels_it() {
    within(LIMIT, || {
        for workers in [1usize, 2] {
            let rt = rt(workers);
            let drops = Arc::new(AtomicUsize::new(0));
            let d = DropCounter(drops.clone());
            let polls = Arc::new(AtomicUsize::new(0));
            let p = polls.clone();
            let h = rt.spawn(async move {
                let _d = d;
                loop {
                    p.fetch_add(1, SeqCst);
                    yield_now().await;
                }
            });
            assert!(eventually(Duration::from_secs(2), || polls.load(SeqCst) > 10));
            h.abort();
            let err = rt.block_on(h).unwrap_err();
            assert!(err.is_cancelled(), "{err:?}");
            assert_eq!(drops.load(SeqCst), 1);
            let after = polls.load(SeqCst);
            std::thread::sleep(Duration::from_millis(10));
            assert_eq!(
                polls.load(SeqCst),
                after,
                "an aborted task is never polled again"
            );
        }
    });
}

#[test]
fn abort_racing_a_running_task() {
    // The task does a few steps then returns; abort lands at random points.
    // Outcome must be Ok(value) or cancelled, and the future dropped exactly once.
    within(LIMIT, || {
        let seed = seed();
        let mut rng = Rng(seed);
        for workers in [1usize, 2] {
            let rt = rt(workers);
            let mut ok = 0;
            let mut cancelled = 0;
            for i in 0..300u64 {
                let drops = Arc::new(AtomicUsize::new(0));
                let d = DropCounter(drops.clone());
                let steps = rng.next() % 4;
                let h = rt.spawn(async move {
                    let _d = d;
                    for _ in 0..steps {
                        yield_now().await;
                    }
                    i
                });
                // Spin a random, short while before aborting.
                let spin = rng.next() % 2000;
                for _ in 0..spin {
                    std::hint::spin_loop();
                }
                h.abort();
                match rt.block_on(h) {
                    Ok(v) => {
                        assert_eq!(v, i);
                        ok += 1;
                    }
                    Err(e) => {
                        assert!(e.is_cancelled(), "seed={seed} i={i}: {e:?}");
                        cancelled += 1;
                    }
                }
                // Dropped exactly once, by now or very soon (the future is dropped
                // before the handle is woken).
                assert_eq!(drops.load(SeqCst), 1, "seed={seed} workers={workers} i={i}");
            }
            eprintln!("abort race workers={workers}: ok={ok} cancelled={cancelled} seed={seed}");
        }
    });
}

#[test]
fn is_finished_tracks_completion() {
    within(LIMIT, || {
        let rt = rt(2);
        let (tx, rx) = futures::channel::oneshot::channel::<()>();
        let h = rt.spawn(async move {
            rx.await.unwrap();
            5
        });
        std::thread::sleep(Duration::from_millis(10));
        assert!(!h.is_finished());
        let tr = h.task_ref();
        assert!(!tr.is_finished());
        tx.send(()).unwrap();
        assert!(eventually(Duration::from_secs(2), || h.is_finished()));
        assert!(tr.is_finished());
        assert_eq!(rt.block_on(h).unwrap(), 5);
    });
}

#[test]
fn dropping_join_handle_detaches_task() {
    within(LIMIT, || {
        for workers in [0usize, 1, 2] {
            let rt = rt(workers);
            let (tx, rx) = mpsc::channel();
            let out_drops = Arc::new(AtomicUsize::new(0));
            let od = out_drops.clone();
            let h = rt.spawn(async move {
                sleep(Duration::from_millis(5)).await;
                tx.send("ran").unwrap();
                DropCounter(od) // the output: dropped by the runtime since nobody reads it
            });
            drop(h);
            if workers == 0 {
                nap(&rt, 20);
            }
            assert_eq!(
                rx.recv_timeout(Duration::from_secs(2)),
                Ok("ran"),
                "workers={workers}"
            );
            assert!(
                eventually(Duration::from_secs(2), || out_drops.load(SeqCst) == 1),
                "the unread output of a detached task is dropped once (got {})",
                out_drops.load(SeqCst)
            );
        }
    });
}

#[test]
fn dropping_unread_completed_handle_drops_output_once() {
    within(LIMIT, || {
        let rt = rt(1);
        let drops = Arc::new(AtomicUsize::new(0));
        let d = drops.clone();
        let h = rt.spawn(async move { DropCounter(d) });
        assert!(eventually(Duration::from_secs(2), || h.is_finished()));
        assert_eq!(drops.load(SeqCst), 0, "output kept for the handle");
        drop(h);
        assert_eq!(drops.load(SeqCst), 1);
    });
}

#[test]
fn panicking_task_reports_panic_and_payload() {
    within(LIMIT, || {
        for workers in [0usize, 1, 2] {
            let rt = rt(workers);
            let err = rt
                .block_on(rt.spawn(async { panic!("boom {}", 7) }))
                .unwrap_err();
            assert!(err.is_panic());
            assert!(!err.is_cancelled());
            let p = err.into_panic();
            assert_eq!(panic_message(&*p).as_deref(), Some("boom 7"));

            // A non-string payload survives too.
            let err = rt
                .block_on(rt.spawn(async { std::panic::panic_any(1234u32) }))
                .unwrap_err();
            assert!(err.is_panic());
            assert_eq!(err.into_panic().downcast_ref::<u32>(), Some(&1234));

            // A panic after a suspension.
            let err = rt
                .block_on(rt.spawn(async {
                    sleep(Duration::from_millis(1)).await;
                    panic!("late");
                }))
                .unwrap_err();
            assert_eq!(panic_message(&*err.into_panic()).as_deref(), Some("late"));
        }
    });
}

#[test]
fn worker_and_other_tasks_continue_after_a_panic() {
    within(LIMIT, || {
        for workers in [0usize, 1, 2] {
            let rt = rt(workers);
            // A long-lived task that must survive a neighbour's panic.
            let (tx, rx) = futures::channel::oneshot::channel::<u32>();
            let survivor = rt.spawn(async move { rx.await.unwrap() + 1 });
            let bad: Vec<_> = (0..5)
                .map(|i| rt.spawn(async move { panic!("bad {i}") }))
                .collect();
            for b in bad {
                assert!(rt.block_on(b).unwrap_err().is_panic());
            }
            let hs: Vec<_> = (0..100u64).map(|i| rt.spawn(async move { i })).collect();
            let sum = rt.block_on(async move {
                let mut s = 0;
                for h in hs {
                    s += h.await.unwrap();
                }
                s
            });
            assert_eq!(sum, (0..100).sum::<u64>(), "workers={workers}");
            tx.send(9).unwrap();
            assert_eq!(rt.block_on(survivor).unwrap(), 10);
            // The worker threads are still the same count and alive.
            assert_eq!(rt.handle().worker_threads(), workers);
        }
    });
}

#[test]
fn panic_in_a_detached_task_is_contained() {
    within(LIMIT, || {
        let rt = rt(1);
        drop(rt.spawn(async { panic!("detached panic") }));
        // The panic payload is dropped by the runtime; the worker is fine.
        assert_eq!(rt.block_on(rt.spawn(async { 1 })).unwrap(), 1);
    });
}

#[test]
fn panicking_drop_of_output_or_future_is_contained() {
    struct PanicOnDrop;
    impl Drop for PanicOnDrop {
        fn drop(&mut self) {
            if !std::thread::panicking() {
                panic!("drop panics");
            }
        }
    }
    within(LIMIT, || {
        let rt = rt(1);
        // Detached output whose Drop panics (dropped by the worker).
        drop(rt.spawn(async { PanicOnDrop }));
        // Aborted future whose Drop panics: the panic is the task's result
        // (harness.rs invariant 5).
        let h = rt.spawn(async {
            let _p = PanicOnDrop;
            std::future::pending::<()>().await
        });
        std::thread::sleep(Duration::from_millis(5));
        h.abort();
        assert!(rt.block_on(h).unwrap_err().is_panic());
        assert_eq!(
            rt.block_on(rt.spawn(async { 2 })).unwrap(),
            2,
            "worker survived"
        );
    });
}

#[test]
fn join_error_display_and_debug() {
    within(LIMIT, || {
        let rt = rt(1);
        let h = rt.spawn(std::future::pending::<()>());
        let id = h.id();
        h.abort();
        let e: JoinError = rt.block_on(h).unwrap_err();
        assert_eq!(e.id(), id);
        let disp = e.to_string();
        let dbg = format!("{e:?}");
        assert!(
            disp.contains("cancelled") && disp.contains(&id.to_string()),
            "Display: {disp}"
        );
        assert!(
            dbg.contains("Cancelled") && dbg.contains(&id.to_string()),
            "Debug: {dbg}"
        );
        // A cancellation is not a panic.
        let e = e.try_into_panic().expect_err("cancellation has no payload");
        assert!(e.is_cancelled());
        let io: std::io::Error = e.into();
        assert!(io.to_string().contains("cancelled"), "{io}");

        let h = rt.spawn(async { panic!("kaboom") });
        let id = h.id();
        let e = rt.block_on(h).unwrap_err();
        let disp = e.to_string();
        let dbg = format!("{e:?}");
        assert!(
            disp.contains("panicked") && disp.contains("kaboom") && disp.contains(&id.to_string()),
            "Display: {disp}"
        );
        assert!(
            dbg.contains("Panic") && dbg.contains("kaboom"),
            "Debug: {dbg}"
        );
        let src: &dyn std::error::Error = &e;
        assert!(src.source().is_none());

        let e = rt
            .block_on(rt.spawn(async { std::panic::panic_any(5i32) }))
            .unwrap_err();
        assert!(e.to_string().contains("panicked"), "{e}");
        assert!(!format!("{e:?}").is_empty());
    });
}

#[test]
fn into_panic_on_cancellation_panics_with_message() {
    within(LIMIT, || {
        let rt = rt(1);
        let h = rt.spawn(std::future::pending::<()>());
        h.abort();
        let e = rt.block_on(h).unwrap_err();
        let p = catch_unwind(AssertUnwindSafe(|| e.into_panic()))
            .expect_err("into_panic on a cancellation");
        let msg = panic_message(&*p).unwrap_or_default();
        assert!(msg.contains("is_panic"), "{msg}");
    });
}

#[test]
fn await_join_handle_from_another_task() {
    within(LIMIT, || {
        for workers in [0usize, 1, 2] {
            let rt = rt(workers);
            let producer = rt.spawn(async {
                sleep(Duration::from_millis(3)).await;
                21u32
            });
            let consumer = rt.spawn(async move { producer.await.unwrap() * 2 });
            assert_eq!(rt.block_on(consumer).unwrap(), 42);

            // A chain of tasks, each awaiting the previous one's handle.
            let mut h = rt.spawn(async { 0u32 });
            for _ in 0..50 {
                let prev = h;
                h = rt.spawn(async move { prev.await.unwrap() + 1 });
            }
            assert_eq!(rt.block_on(h).unwrap(), 50, "workers={workers}");
        }
    });
}

#[test]
fn join_handle_polled_by_changing_wakers() {
    // The handle is polled from one task (waker A), then moved to another (waker B):
    // completion must wake B.
    within(LIMIT, || {
        let rt = rt(2);
        let (tx, rx) = futures::channel::oneshot::channel::<()>();
        let target = rt.spawn(async move {
            rx.await.unwrap();
            3
        });
        let (back_tx, back_rx) = futures::channel::oneshot::channel();
        let first = rt.spawn(async move {
            let mut target = target;
            // Poll once with this task's waker, then hand the handle on.
            let r = futures::poll!(&mut target);
            assert!(r.is_pending());
            back_tx.send(target).ok().unwrap();
        });
        rt.block_on(first).unwrap();
        let target = rt.block_on(back_rx).unwrap();
        let second = rt.spawn(async move { target.await.unwrap() });
        std::thread::sleep(Duration::from_millis(5));
        tx.send(()).unwrap();
        assert_eq!(rt.block_on(second).unwrap(), 3);
    });
}

#[test]
fn join_handle_in_select_with_timeout() {
    within(LIMIT, || {
        let rt = rt(1);
        let h = rt.spawn(std::future::pending::<()>());
        let r = rt.block_on(async move { tempo::time::timeout(Duration::from_millis(5), h).await });
        assert!(r.is_err(), "pending task's handle times out");
        // The handle was dropped by the timeout: the task is detached, still pending.
        assert_eq!(rt.handle().live_tasks(), 1);
    });
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545F4914F6CDD1D)
    }
}

/// A `!Unpin` future that remembers where it was first polled and, when
/// dropped, whether it is still there: `Pin`'s drop guarantee says the
/// memory of a pinned value is not repurposed before its `drop` runs, which
/// futures holding intrusive links (waiter lists of locks, channels and
/// events) rely on to unlink themselves.
struct Anchored {
    first_poll_at: Arc<AtomicUsize>,
    dropped_at: Arc<AtomicUsize>,
    _pin: std::marker::PhantomPinned,
}

impl std::future::Future for Anchored {
    type Output = ();
    fn poll(self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        let at = &*self as *const Anchored as usize;
        self.first_poll_at
            .compare_exchange(0, at, SeqCst, SeqCst)
            .ok();
        std::task::Poll::Pending
    }
}

impl Drop for Anchored {
    fn drop(&mut self) {
        self.dropped_at
            .store(self as *const Anchored as usize, SeqCst);
    }
}

#[test]
fn a_cancelled_future_is_dropped_where_it_was_pinned() {
    within(LIMIT, || {
        for workers in [0usize, 1, 2] {
            for how in ["abort", "shutdown"] {
                for nested in [false, true] {
                    let rt = rt(workers);
                    let (polled, dropped) =
                        (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
                    let a = Anchored {
                        first_poll_at: polled.clone(),
                        dropped_at: dropped.clone(),
                        _pin: std::marker::PhantomPinned,
                    };
                    let h = if nested {
                        // Pinned inside an async block's state, itself pinned in the task.
                        rt.spawn(async move {
                            let _before = 1u8;
                            a.await
                        })
                    } else {
                        rt.spawn(a)
                    };
                    assert!(eventually(LIMIT, || {
                        nap(&rt, 1);
                        polled.load(SeqCst) != 0
                    }));
                    if how == "abort" {
                        h.abort();
                        assert!(rt.block_on(h).unwrap_err().is_cancelled());
                    } else {
                        drop(rt);
                        drop(h);
                    }
                    assert_eq!(
                        dropped.load(SeqCst),
                        polled.load(SeqCst),
                        "workers={workers} {how} nested={nested}: the future moved between its first poll and its drop"
                    );
                }
            }
        }
    });
}

/// A `JoinHandle` polled with a waker that panics when woken: the task then
/// completes on a worker thread, which wakes that waker. The worker used to
/// die of the panic (it unwound out of its loop), the runtime ran no task
/// any more, and `Runtime`'s drop waited for the dead worker forever. Now
/// the panic is contained like a panicking task's: the worker runs on, the
/// output is delivered and the drop returns.
#[test]
fn a_panicking_join_waker_does_not_kill_the_worker() {
    use std::future::Future;
    use std::pin::Pin;
    use std::task::{Context, Waker};
    within(LIMIT, || {
        let rt = rt(1);
        let (tx, rx) = futures::channel::oneshot::channel::<u32>();
        let mut h = rt.spawn(async move { rx.await.unwrap() });
        let waker = Waker::from(Arc::new(PanickingWaker));
        let mut cx = Context::from_waker(&waker);
        assert!(Pin::new(&mut h).poll(&mut cx).is_pending());
        drop(waker);
        // The task completes on the worker, which wakes the panicking waker.
        tx.send(7).unwrap();
        assert!(eventually(LIMIT, || h.is_finished()));
        // The worker still runs tasks.
        assert_eq!(rt.block_on(rt.spawn(async { 2 })).unwrap(), 2);
        assert_eq!(rt.block_on(h).unwrap(), 7);
        drop(rt); // returned before the `within` limit: no hang
    });
}

/// Task ids are unique across the threads that spawn (each takes a block of
/// ids from the process-wide counter: `shim::IdSource`), across runtimes,
/// and across the blocks' boundaries, and never 0.
#[test]
fn ids_spawned_from_many_threads_and_runtimes_are_unique() {
    within(LIMIT, || {
        let a = Arc::new(rt(2));
        let b = Arc::new(rt(0));
        let mut threads = Vec::new();
        for i in 0..4 {
            let rt = if i % 2 == 0 { a.clone() } else { b.clone() };
            threads.push(std::thread::spawn(move || {
                // More than one block per thread, from inside tasks too.
                let mut ids: Vec<u64> = (0..1500).map(|_| rt.spawn(async {}).id()).collect();
                let inner = rt.spawn(async {
                    (0..1500)
                        .map(|_| tempo::spawn(async {}).id())
                        .collect::<Vec<u64>>()
                });
                ids.extend(match rt.handle().worker_threads() {
                    0 => rt.block_on(inner).unwrap(),
                    _ => futures::executor::block_on(inner).unwrap(),
                });
                ids
            }));
        }
        let mut all: Vec<u64> = threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect();
        let n = all.len();
        assert!(all.iter().all(|&id| id != 0));
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), n, "duplicate task ids");
    });
}

/// A panic payload whose own `Drop` panics (`panic_any` of such a value),
/// thrown where the runtime catches and drops it: by a future's `Drop` when
/// the task is aborted, and by a join waker's `wake` when the task
/// completes. The runtime dropped the caught payload outside its
/// `catch_unwind`, so the payload's panic unwound through the worker: the
/// aborted task stayed `RUNNING` forever (its handle never resolved) and
/// the worker thread died (with one worker, no task ran any more; on
/// `worker_threads(0)` the panic came out of an unrelated `block_on`). Now
/// the payload is dropped contained too (`task/unwind.rs` invariant 1).
#[test]
fn a_panic_payload_whose_drop_panics_never_escapes_the_runtime() {
    use std::future::Future;
    use std::pin::Pin;
    use std::task::{Context, Waker};
    struct PanickingPayload;
    impl Drop for PanickingPayload {
        fn drop(&mut self) {
            if !std::thread::panicking() {
                panic!("the panic payload's drop panics");
            }
        }
    }
    struct DropPanicsWithIt;
    impl Drop for DropPanicsWithIt {
        fn drop(&mut self) {
            if !std::thread::panicking() {
                std::panic::panic_any(PanickingPayload);
            }
        }
    }
    struct WakePanicsWithIt;
    impl std::task::Wake for WakePanicsWithIt {
        fn wake(self: Arc<Self>) {
            std::panic::panic_any(PanickingPayload);
        }
    }
    within(LIMIT, || {
        for workers in [0usize, 1, 2] {
            let rt = rt(workers);
            // A future's drop, on abort.
            let h = rt.spawn(async {
                let _p = DropPanicsWithIt;
                std::future::pending::<()>().await
            });
            nap(&rt, 5);
            h.abort();
            let r = catch_unwind(AssertUnwindSafe(|| {
                rt.block_on(async { tempo::time::timeout(LIMIT / 4, h).await })
            }));
            let r = r.unwrap_or_else(|_| panic!("the payload's panic escaped ({workers})"));
            let e = r.expect("the aborted task never completed").unwrap_err();
            if let Ok(p) = e.try_into_panic() {
                std::mem::forget(p); // a `PanickingPayload`
            }
            // A join waker's wake, on completion (a worker thread runs the
            // task; on worker_threads(0) the next `block_on` does).
            let (tx, rx) = futures::channel::oneshot::channel::<u32>();
            let mut h = rt.spawn(async move { rx.await.unwrap() });
            let waker = Waker::from(Arc::new(WakePanicsWithIt));
            assert!(Pin::new(&mut h)
                .poll(&mut Context::from_waker(&waker))
                .is_pending());
            drop(waker);
            tx.send(7).unwrap();
            let r = catch_unwind(AssertUnwindSafe(|| {
                rt.block_on(async {
                    tempo::time::timeout(LIMIT / 4, tempo::spawn(async { 2 })).await
                })
            }));
            let r = r.unwrap_or_else(|_| panic!("the payload's panic escaped ({workers})"));
            assert_eq!(r.expect("the worker died").unwrap(), 2);
            assert_eq!(rt.block_on(h).unwrap(), 7);
        }
    });
}

/// A future whose `Drop` panics: the panic is the task's result, reported to
/// the `JoinHandle` (`JoinError::is_panic` with that payload), whether the
/// future is dropped after it returned `Ready` (its output is dropped, once,
/// instead of delivered), when it is aborted, or by shutdown; a `poll` that
/// panicked first keeps its own payload. The runtime used to catch the
/// drop's panic and discard it: the handle got `Ok(output)` or
/// `is_cancelled`, and the panic was lost (harness.rs invariant 5).
#[test]
fn a_panic_in_the_future_s_drop_is_reported_to_the_join_handle() {
    use std::future::Future;
    use std::pin::Pin;
    use std::task::{Context, Poll};
    /// Returns `Ready(DropCounter)` (or panics, or stays pending) and
    /// panics when dropped.
    struct F {
        how: u8,
        out: Arc<AtomicUsize>,
        drops: Arc<AtomicUsize>,
    }
    impl Future for F {
        type Output = DropCounter;
        fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<DropCounter> {
            match self.how {
                0 => Poll::Ready(DropCounter(self.out.clone())),
                1 => panic!("the poll panics"),
                _ => Poll::Pending,
            }
        }
    }
    impl Drop for F {
        fn drop(&mut self) {
            self.drops.fetch_add(1, SeqCst);
            panic!("the future's drop panics");
        }
    }
    within(LIMIT, || {
        for workers in [0usize, 1, 2] {
            let rt = rt(workers);
            let out = Arc::new(AtomicUsize::new(0));
            let drops = Arc::new(AtomicUsize::new(0));
            let f = |how| F {
                how,
                out: out.clone(),
                drops: drops.clone(),
            };
            let message = |e: JoinError| {
                assert!(e.is_panic(), "workers={workers}: {e:?}");
                panic_message(&*e.into_panic()).unwrap()
            };
            // Ready, then the drop panics: the output is dropped, not delivered.
            let e = rt.block_on(rt.spawn(f(0))).unwrap_err();
            assert_eq!(message(e), "the future's drop panics");
            assert_eq!(out.load(SeqCst), 1, "the output is dropped once");
            // The poll panics, then the drop: the first payload is kept.
            let e = rt.block_on(rt.spawn(f(1))).unwrap_err();
            assert_eq!(message(e), "the poll panics");
            // Aborted.
            let h = rt.spawn(f(2));
            nap(&rt, 5);
            h.abort();
            assert_eq!(
                message(rt.block_on(h).unwrap_err()),
                "the future's drop panics"
            );
            // Dropped by shutdown.
            let h = rt.spawn(f(2));
            nap(&rt, 5);
            drop(rt);
            let e = futures::executor::block_on(h).unwrap_err();
            assert_eq!(message(e), "the future's drop panics");
            assert_eq!(drops.load(SeqCst), 4, "each future dropped once");
            assert_eq!(out.load(SeqCst), 1);
        }
    });
}
