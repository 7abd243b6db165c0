//! The loom models of `loom-tests/main.rs`, body for body, under shuttle.
//!
//! loom explores every interleaving of these bodies up to a preemption bound
//! (2; 1 for `role_handoff_vs_park`); shuttle samples schedules with no such
//! bound (random: any number of preemptions; PCT depth 3), so the two
//! checkers cover different corners of the same models. The port changes
//! only the checker's types: `loom::thread` → `shuttle::thread`,
//! `loom::sync::{atomic, Mutex}` → `shuttle::sync::{atomic, Mutex}` where the
//! value synchronises model threads (`signal_vs_receive`'s data, the `Gate`),
//! `std::sync::atomic` where it is only bookkeeping (drop counters: shuttle
//! runs every model thread on one OS thread, so a std atomic is exact there
//! and adds no scheduling points).
//!
//! Each runs [`check`](crate::check) with the full `TEMPO_SHUTTLE_ITERS`
//! (default 1000) under both schedulers.

use crate::{check, rt};
use shuttle::sync::atomic::{AtomicUsize, Ordering::*};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;
use tempo::task::{self, WaitOutcome};

/// Counts drops of the value it is attached to (bookkeeping: std atomic).
struct DropCount(Arc<std::sync::atomic::AtomicUsize>);
impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

#[test]
fn wake_vs_completion() {
    check("loom_bodies::wake_vs_completion", || {
        let rt = rt(1);
        let h = rt.spawn(async { task::wait().await });
        let t = h.task_ref();
        let th = shuttle::thread::spawn(move || t.wakeup());
        assert_eq!(rt.block_on(h).unwrap(), WaitOutcome::Woken);
        th.join().unwrap();
    });
}

#[test]
fn wake_vs_abort() {
    check("loom_bodies::wake_vs_abort", || {
        let rt = rt(1);
        let drops = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let d = DropCount(drops.clone());
        let h = rt.spawn(async move {
            let _d = d;
            loop {
                task::wait().await;
            }
        });
        let t = h.task_ref();
        let th = shuttle::thread::spawn(move || t.wakeup());
        h.abort();
        let r = rt.block_on(h);
        assert!(r.unwrap_err().is_cancelled());
        th.join().unwrap();
        assert_eq!(
            drops.load(std::sync::atomic::Ordering::SeqCst),
            1,
            "future dropped exactly once"
        );
    });
}

#[test]
fn signal_vs_receive() {
    check("loom_bodies::signal_vs_receive", || {
        let rt = rt(1);
        let data = Arc::new(AtomicUsize::new(0));
        let d2 = data.clone();
        let h = rt.spawn(async move {
            loop {
                if task::receive_signal() {
                    // Relaxed on purpose: visibility comes from signal/receive
                    // (shuttle treats it as SeqCst: see the module docs of main.rs).
                    return d2.load(Relaxed);
                }
                assert_eq!(task::wait().await, WaitOutcome::Signaled);
            }
        });
        let t = h.task_ref();
        let th = shuttle::thread::spawn(move || {
            data.store(42, Relaxed);
            t.signal();
        });
        assert_eq!(rt.block_on(h).unwrap(), 42);
        th.join().unwrap();
    });
}

#[test]
fn expiry_vs_wakeup() {
    check("loom_bodies::expiry_vs_wakeup", || {
        let clock = tempo::time::ManualClock::new();
        let rt = tempo::Runtime::builder()
            .worker_threads(1)
            .manual_clock(&clock)
            .build()
            .unwrap();
        let deadline = clock.now() + Duration::from_secs(1);
        let h = rt.spawn(async move { task::wait_until(deadline).await });
        let t = h.task_ref();
        let c2 = clock.clone();
        let th = shuttle::thread::spawn(move || c2.advance(Duration::from_secs(1)));
        t.wakeup();
        let r = rt.block_on(h).unwrap();
        assert!(
            r == WaitOutcome::Woken || r == WaitOutcome::Expired,
            "{r:?}"
        );
        th.join().unwrap();
    });
}

#[test]
fn spawn_vs_shutdown() {
    check("loom_bodies::spawn_vs_shutdown", || {
        let rt = rt(1);
        let drops = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let handle = rt.handle();
        let d = DropCount(drops.clone());
        let th = shuttle::thread::spawn(move || {
            let h = handle.spawn(async move {
                let _d = d;
                std::future::pending::<()>().await
            });
            drop(h);
        });
        drop(rt);
        th.join().unwrap();
        assert_eq!(
            drops.load(std::sync::atomic::Ordering::SeqCst),
            1,
            "future dropped exactly once, whatever the order"
        );
    });
}

/// A future that hands its waker out and completes when told to.
struct Gate {
    slot: Arc<shuttle::sync::Mutex<Option<Waker>>>,
    open: Arc<AtomicUsize>,
}
impl Future for Gate {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        *self.slot.lock().unwrap() = Some(cx.waker().clone());
        if self.open.load(SeqCst) == 1 {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

#[test]
fn last_waker_drop_vs_completion() {
    check("loom_bodies::last_waker_drop_vs_completion", || {
        let rt = rt(1);
        let slot = Arc::new(shuttle::sync::Mutex::new(None::<Waker>));
        let open = Arc::new(AtomicUsize::new(0));
        let h = rt.spawn(Gate {
            slot: slot.clone(),
            open: open.clone(),
        });
        let (s2, o2) = (slot.clone(), open.clone());
        let th = shuttle::thread::spawn(move || {
            o2.store(1, SeqCst);
            let w = s2.lock().unwrap().take();
            if let Some(w) = w {
                w.wake(); // consumes (drops) the waker
            }
        });
        rt.block_on(h).unwrap();
        th.join().unwrap();
        drop(slot.lock().unwrap().take());
    });
}

/// Two workers: one holds the sched role (and may park in the driver), the
/// other parks idle; a task spawned from outside must still run.
#[test]
fn role_handoff_vs_park() {
    check("loom_bodies::role_handoff_vs_park", || {
        let rt = rt(2);
        let h = rt.spawn(async { 7 });
        assert_eq!(rt.block_on(h).unwrap(), 7);
    });
}

#[test]
fn block_on_caller_driven() {
    check("loom_bodies::block_on_caller_driven", || {
        let rt = rt(0);
        let h = rt.spawn(async { task::wait().await });
        let t = h.task_ref();
        let th = shuttle::thread::spawn(move || t.wakeup());
        assert_eq!(rt.block_on(h).unwrap(), WaitOutcome::Woken);
        th.join().unwrap();
    });
}

/// A task that yields `n` times (re-posts through its worker's rerun list),
/// then waits forever; `started` is set when it first runs.
fn spawn_yielder(
    rt: &tempo::Runtime,
    n: usize,
    drops: &Arc<std::sync::atomic::AtomicUsize>,
    started: &Arc<AtomicUsize>,
) -> tempo::JoinHandle<()> {
    let d = DropCount(drops.clone());
    let started = started.clone();
    rt.spawn(async move {
        let _d = d;
        started.store(1, SeqCst);
        for _ in 0..n {
            task::yield_now().await;
        }
        loop {
            task::wait().await;
        }
    })
}

#[test]
fn rerun_vs_abort() {
    check("loom_bodies::rerun_vs_abort", || {
        let rt = rt(1);
        let drops = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let a = spawn_yielder(&rt, 2, &drops, &Arc::new(AtomicUsize::new(0)));
        let th = shuttle::thread::spawn(move || {
            a.abort();
            a
        });
        let a = th.join().unwrap();
        assert!(rt.block_on(a).unwrap_err().is_cancelled());
        assert_eq!(drops.load(std::sync::atomic::Ordering::SeqCst), 1);
    });
}

#[test]
fn rerun_vs_shutdown() {
    check("loom_bodies::rerun_vs_shutdown", || {
        let rt = rt(1);
        let drops = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let started = Arc::new(AtomicUsize::new(0));
        let a = spawn_yielder(&rt, 2, &drops, &started);
        while started.load(SeqCst) == 0 {
            shuttle::thread::yield_now();
        }
        drop(rt);
        assert_eq!(drops.load(std::sync::atomic::Ordering::SeqCst), 1);
        drop(a);
    });
}

/// A parent that spawns, from inside its poll on a one-runner runtime, a
/// child that yields once and then waits forever (`SpawnLocal`, then
/// `WorkerTakeRerun`); the parent returns the child's handle.
// The parent's output is the child's handle, on purpose (not awaited there).
#[allow(clippy::async_yields_async)]
fn spawn_local_parent(
    rt: &tempo::Runtime,
    drops: &Arc<std::sync::atomic::AtomicUsize>,
    started: &Arc<AtomicUsize>,
) -> tempo::JoinHandle<tempo::JoinHandle<()>> {
    let d = DropCount(drops.clone());
    let started = started.clone();
    rt.spawn(async move {
        tempo::spawn(async move {
            let _d = d;
            started.store(1, SeqCst);
            task::yield_now().await;
            loop {
                task::wait().await;
            }
        })
    })
}

#[test]
fn local_spawn_vs_abort() {
    check("loom_bodies::local_spawn_vs_abort", || {
        let rt = rt(1);
        let drops = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let p = spawn_local_parent(&rt, &drops, &Arc::new(AtomicUsize::new(0)));
        let c = rt.block_on(p).unwrap();
        let th = shuttle::thread::spawn(move || {
            c.abort();
            c
        });
        let c = th.join().unwrap();
        assert!(rt.block_on(c).unwrap_err().is_cancelled());
        assert_eq!(drops.load(std::sync::atomic::Ordering::SeqCst), 1);
    });
}

#[test]
fn local_spawn_vs_shutdown() {
    check("loom_bodies::local_spawn_vs_shutdown", || {
        let rt = rt(1);
        let drops = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let started = Arc::new(AtomicUsize::new(0));
        let p = spawn_local_parent(&rt, &drops, &started);
        while started.load(SeqCst) == 0 {
            shuttle::thread::yield_now();
        }
        drop(rt);
        assert_eq!(drops.load(std::sync::atomic::Ordering::SeqCst), 1);
        drop(p);
    });
}
