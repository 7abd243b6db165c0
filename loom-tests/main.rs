//! loom models of tempo's concurrency edges, run by `cargo test --features loom`.
//!
//! Each model builds a real runtime (the real state word, queues, sched role,
//! parking and shutdown code, on loom's model of the C11 memory model) with at
//! most 3 threads, and explores every interleaving up to the preemption bound
//! (`LOOM_MAX_PREEMPTIONS`, default 2 here). A lost wakeup shows up as a loom
//! deadlock; a double poll or a double drop as a failed assertion or a loom
//! `UnsafeCell` access violation. loom prints the failing interleaving; rerun
//! it with `LOOM_CHECKPOINT_FILE=f.json LOOM_CHECKPOINT_INTERVAL=1` to replay.
//!
//! | model | edge |
//! |---|---|
//! | `wake_vs_completion` | a wakeup racing the task's final poll |
//! | `wake_vs_abort` | a wakeup racing an abort of an idle task |
//! | `signal_vs_receive` | signal racing receive_signal, with release/acquire data |
//! | `expiry_vs_wakeup` | the deadline passing (manual clock) racing a wakeup |
//! | `spawn_vs_shutdown` | a spawn from another thread racing runtime drop |
//! | `last_waker_drop_vs_completion` | the last foreign waker dropped as the task completes |
//! | `role_handoff_vs_park` | two workers handing the sched role over while parking |
//! | `two_callers_hand_the_role_over` | two `block_on` callers of a `worker_threads(0)` runtime: the sched role passes between them directly |
//! | `block_on_caller_driven` | worker_threads(0): the caller is the only worker |
//! | `slot_wake_vs_abort` | a task woken into its waker's next-run slot, aborted from another thread meanwhile |
//! | `slot_vs_shutdown` | a task in a worker's next-run slot while the runtime shuts down: its future is dropped once |
//! | `rerun_vs_abort` | a task re-posting itself through its worker's rerun list, aborted from another thread |
//! | `rerun_vs_shutdown` | the runtime dropped while a task re-posts itself: its future is dropped once |
//! | `local_spawn_vs_abort` | a task spawned by a task of a one-runner runtime (straight to the runner's rerun list, run from it without a round), aborted from another thread |
//! | `local_spawn_vs_shutdown` | the runtime dropped while a task spawns locally and its child re-posts itself: every future dropped once |
//! | `second_wake_while_notified` | a second wake from another thread while the task runs already `NOTIFIED`: still one RMW, so it publishes the waker's writes to the rerun |
//! | `worker_wakes_a_waiting_task` | a task of the worker wakes a task waiting in the heap (the wake goes to the front queue, not the next-run slot) while the clock passes its deadline |
//! | `handle_drop_vs_completion` | abort + drop of the `JoinHandle` racing the task's completion: output dropped once |
//! | `sync::*` (`sync.rs`) | `tempo::sync` on plain threads: semaphore release vs. cancel (full and partial grants), a grant collected without the lock vs. a cancel, lock-free releases vs. an acquire that queues, close vs. acquire; mutex exclusion vs. a cancelled lock, a hand-over to a spinning (unwoken) poll; mpsc send vs. recv vs. close, last sender drop vs. recv; oneshot send vs. receiver drop, send/drop vs. recv, `closed` vs. receiver drop; `Notify::notify_one` vs. a registered future dropped unpolled |
//! | `watch::slot_owner_vs_stealer`, `watch::share_owner_vs_stealer` (`watch.rs`) | a monitor's tick (the real `Watch::steal_stale`, then it runs what it stole) racing the owner's take of its next-run slot and its pops of its share (`sched/watch.rs` invariants 1 and 6) |
//! | `watch::spawn_kept_in_the_slot_vs_stealer` (`watch.rs`, bound 3) | a task spawned from a run while the monitor is in the runtime kept in the spawner's next-run slot (`sched/shared.rs` invariant 5), racing the monitor's steal of it |
//! | `watch::second_spawn_unkeeps_the_first_vs_stealer` (`watch.rs`, bound 3) | the run's second spawn moves the kept first one to the head of the ready queue (`SlotUnkeep`), racing the monitor's steal of the slot |
//! | `readiness::*` (`readiness.rs`) | I/O readiness vs. interest on a `MockIo`: an edge racing the reader's check/clear/register (once, twice), a close racing a pending read, a close racing an edge |

#![cfg(feature = "loom")]

use loom::sync::atomic::{AtomicUsize, Ordering::*};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;
use tempo::task::{self, WaitOutcome};

mod readiness;
mod sync;
mod watch;

fn model(f: impl Fn() + Sync + Send + 'static) {
    model_with_bound(2, f)
}

/// Runs a loom model and prints how many executions it explored.
fn model_with_bound(bound: usize, f: impl Fn() + Sync + Send + 'static) {
    let mut b = loom::model::Builder::new();
    if b.preemption_bound.is_none() {
        b.preemption_bound = Some(bound);
    }
    let n = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let n2 = n.clone();
    let t0 = std::time::Instant::now();
    b.check(move || {
        n2.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        f();
        // Every thread is joined: the trace oracle's final checks.
        tempo::__model::end_execution();
    });
    eprintln!(
        "loom: {} executions (preemption bound {:?}) in {:.1?}",
        n.load(std::sync::atomic::Ordering::Relaxed),
        b.preemption_bound,
        t0.elapsed()
    );
}

fn rt(workers: usize) -> tempo::Runtime {
    tempo::Runtime::builder()
        .worker_threads(workers)
        .build()
        .unwrap()
}

/// Counts drops of the value it is attached to.
struct DropCount(Arc<AtomicUsize>);
impl Drop for DropCount {
    fn drop(&mut self) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// Spawns a task that waits for wakeups forever, holding a drop counter:
/// only an abort or shutdown ends it, by dropping its future.
fn spawn_waiter(rt: &tempo::Runtime, drops: &Arc<AtomicUsize>) -> tempo::JoinHandle<()> {
    let d = DropCount(drops.clone());
    rt.spawn(async move {
        let _d = d;
        loop {
            task::wait().await;
        }
    })
}

#[test]
fn wake_vs_completion() {
    model(|| {
        let rt = rt(1);
        let h = rt.spawn(async { task::wait().await });
        let t = h.task_ref();
        let th = loom::thread::spawn(move || t.wakeup());
        assert_eq!(rt.block_on(h).unwrap(), WaitOutcome::Woken);
        th.join().unwrap();
    });
}

#[test]
fn wake_vs_abort() {
    model(|| {
        let rt = rt(1);
        let drops = Arc::new(AtomicUsize::new(0));
        let h = spawn_waiter(&rt, &drops);
        let t = h.task_ref();
        let th = loom::thread::spawn(move || t.wakeup());
        h.abort();
        let r = rt.block_on(h);
        assert!(r.unwrap_err().is_cancelled());
        th.join().unwrap();
        assert_eq!(drops.load(SeqCst), 1, "future dropped exactly once");
    });
}

/// The `JoinHandle` is aborted and dropped on another thread while the task
/// completes: its output is dropped exactly once, by whichever side sees
/// the other's RMW (the completer if the handle is gone, the handle if the
/// task is complete).
#[test]
fn handle_drop_vs_completion() {
    model(|| {
        let rt = rt(1);
        let drops = Arc::new(AtomicUsize::new(0));
        let d = DropCount(drops.clone());
        let h = rt.spawn(async move { d });
        let th = loom::thread::spawn(move || {
            h.abort();
            drop(h);
        });
        th.join().unwrap();
        drop(rt); // shutdown: the task completed or is dropped now
        assert_eq!(
            drops.load(SeqCst),
            1,
            "output (or future) dropped exactly once"
        );
    });
}

#[test]
fn signal_vs_receive() {
    model(|| {
        let rt = rt(1);
        let data = Arc::new(AtomicUsize::new(0));
        let d2 = data.clone();
        let h = rt.spawn(async move {
            loop {
                if task::receive_signal() {
                    // Relaxed on purpose: visibility comes from signal/receive.
                    return d2.load(Relaxed);
                }
                assert_eq!(task::wait().await, WaitOutcome::Signaled);
            }
        });
        let t = h.task_ref();
        let th = loom::thread::spawn(move || {
            data.store(42, Relaxed);
            t.signal();
        });
        assert_eq!(rt.block_on(h).unwrap(), 42);
        th.join().unwrap();
    });
}

#[test]
fn expiry_vs_wakeup() {
    model(|| {
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
        let th = loom::thread::spawn(move || c2.advance(Duration::from_secs(1)));
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
    model(|| {
        let rt = rt(1);
        let drops = Arc::new(AtomicUsize::new(0));
        let handle = rt.handle();
        let d = DropCount(drops.clone());
        let th = loom::thread::spawn(move || {
            let h = handle.spawn(async move {
                let _d = d;
                std::future::pending::<()>().await
            });
            drop(h);
        });
        drop(rt);
        th.join().unwrap();
        assert_eq!(
            drops.load(SeqCst),
            1,
            "future dropped exactly once, whatever the order"
        );
    });
}

/// A future that hands its waker out and completes when told to.
struct Gate {
    slot: Arc<loom::sync::Mutex<Option<Waker>>>,
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
    model(|| {
        let rt = rt(1);
        let slot = Arc::new(loom::sync::Mutex::new(None::<Waker>));
        let open = Arc::new(AtomicUsize::new(0));
        let h = rt.spawn(Gate {
            slot: slot.clone(),
            open: open.clone(),
        });
        let (s2, o2) = (slot.clone(), open.clone());
        let th = loom::thread::spawn(move || {
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
/// other parks idle; a task spawned from outside must still run. The model
/// has 3 threads and a whole runtime, so its preemption bound is 1
/// (override with `LOOM_MAX_PREEMPTIONS`).
#[test]
fn role_handoff_vs_park() {
    model_with_bound(1, || {
        let rt = rt(2);
        let h = rt.spawn(async { 7 });
        assert_eq!(rt.block_on(h).unwrap(), 7);
    });
}

#[test]
fn block_on_caller_driven() {
    model(|| {
        let rt = rt(0);
        let h = rt.spawn(async { task::wait().await });
        let t = h.task_ref();
        let th = loom::thread::spawn(move || t.wakeup());
        assert_eq!(rt.block_on(h).unwrap(), WaitOutcome::Woken);
        th.join().unwrap();
    });
}

/// Task `b`, running on the only worker, wakes the idle task `a`: `a` goes
/// to the worker's next-run slot (`sched/running.rs`) instead of the front
/// queue, while another thread aborts `a`. The abort's RMW finds `a`
/// SCHEDULED (in the slot) or IDLE (before the wake), and either way the
/// future is dropped exactly once and the handle reports the cancellation.
///
/// Three threads (the worker, the caller, the aborter) and two tasks: the
/// preemption bound is 1 (override with `LOOM_MAX_PREEMPTIONS`).
#[test]
fn slot_wake_vs_abort() {
    model_with_bound(1, || {
        let rt = rt(1);
        let drops = Arc::new(AtomicUsize::new(0));
        let a = spawn_waiter(&rt, &drops);
        let ta = a.task_ref();
        let b = rt.spawn(async move { ta.wakeup() });
        let th = loom::thread::spawn(move || {
            a.abort();
            a
        });
        rt.block_on(b).unwrap();
        let a = th.join().unwrap();
        assert!(rt.block_on(a).unwrap_err().is_cancelled());
        assert_eq!(drops.load(SeqCst), 1, "future dropped exactly once");
    });
}

/// Task `b` wakes the idle task `a` into the worker's next-run slot, and
/// the runtime is dropped as soon as `b` is joined: `a` is then in the slot,
/// running, pushed to the front queue or idle again. Shutdown must find it
/// wherever it is and drop its future exactly once (no hang, no leak).
#[test]
fn slot_vs_shutdown() {
    model(|| {
        let rt = rt(1);
        let drops = Arc::new(AtomicUsize::new(0));
        let a = spawn_waiter(&rt, &drops);
        let ta = a.task_ref();
        let b = rt.spawn(async move { ta.wakeup() });
        rt.block_on(b).unwrap();
        drop(rt);
        assert_eq!(drops.load(SeqCst), 1, "future dropped exactly once");
        drop(a);
    });
}

/// Spawns a task that yields `n` times (each `yield_now` re-posts it into its
/// worker's rerun list, `worker.rs` invariant 5), then waits forever, holding
/// a drop counter.
fn spawn_yielder(
    rt: &tempo::Runtime,
    n: usize,
    drops: &Arc<AtomicUsize>,
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

/// A task re-posting itself through its worker's rerun list while another
/// thread aborts it: the abort finds it running, in the rerun list or in the
/// ready queue (after the flush), and either way its future is dropped
/// exactly once and the handle reports the cancellation.
///
/// Three threads (the worker, the caller, the aborter): preemption bound 1.
#[test]
fn rerun_vs_abort() {
    model_with_bound(1, || {
        let rt = rt(1);
        let drops = Arc::new(AtomicUsize::new(0));
        let a = spawn_yielder(&rt, 2, &drops, &Arc::new(AtomicUsize::new(0)));
        let th = loom::thread::spawn(move || {
            a.abort();
            a
        });
        let a = th.join().unwrap();
        assert!(rt.block_on(a).unwrap_err().is_cancelled());
        assert_eq!(drops.load(SeqCst), 1, "future dropped exactly once");
    });
}

/// The runtime is dropped while a task re-posts itself: shutdown must find
/// it in the worker's rerun list, the ready queue, running or waiting, and
/// drop its future exactly once (no hang, no leak; the worker flushes its
/// rerun list before it exits).
#[test]
fn rerun_vs_shutdown() {
    model(|| {
        let rt = rt(1);
        let drops = Arc::new(AtomicUsize::new(0));
        let started = Arc::new(AtomicUsize::new(0));
        let a = spawn_yielder(&rt, 2, &drops, &started);
        // Shut down only once the task runs: the race is with its re-posts.
        while started.load(SeqCst) == 0 {
            loom::thread::yield_now();
        }
        drop(rt);
        assert_eq!(drops.load(SeqCst), 1, "future dropped exactly once");
        drop(a);
    });
}

/// Spawns (on a one-runner runtime) a parent that spawns a yielder child
/// from inside its poll: the child goes straight to the worker's rerun list
/// (`shared.rs` invariant 3, TLA+ `SpawnLocal`) and its runs are taken from
/// that list within the batch (`worker.rs` invariant 6, `WorkerTakeRerun`).
/// The parent returns the child's handle.
// The parent's output is the child's handle, on purpose (not awaited there).
#[allow(clippy::async_yields_async)]
fn spawn_local_parent(
    rt: &tempo::Runtime,
    drops: &Arc<AtomicUsize>,
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

/// A task spawned locally and re-posting itself through its runner's rerun
/// list while another thread aborts it: its future is dropped exactly once
/// and the handle reports the cancellation.
///
/// Three threads (the worker, the caller, the aborter): preemption bound 1.
#[test]
fn local_spawn_vs_abort() {
    model_with_bound(1, || {
        let rt = rt(1);
        let drops = Arc::new(AtomicUsize::new(0));
        let p = spawn_local_parent(&rt, &drops, &Arc::new(AtomicUsize::new(0)));
        let c = rt.block_on(p).unwrap();
        let th = loom::thread::spawn(move || {
            c.abort();
            c
        });
        let c = th.join().unwrap();
        assert!(rt.block_on(c).unwrap_err().is_cancelled());
        assert_eq!(drops.load(SeqCst), 1, "future dropped exactly once");
    });
}

/// The runtime is dropped while a task spawns locally and its child
/// re-posts itself: shutdown finds the child in the rerun list, running or
/// waiting, and drops its future exactly once (the worker empties its list
/// before it exits).
#[test]
fn local_spawn_vs_shutdown() {
    model(|| {
        let rt = rt(1);
        let drops = Arc::new(AtomicUsize::new(0));
        let started = Arc::new(AtomicUsize::new(0));
        let p = spawn_local_parent(&rt, &drops, &started);
        // Shut down only once the child runs: the race is with its re-post.
        while started.load(SeqCst) == 0 {
            loom::thread::yield_now();
        }
        drop(rt);
        assert_eq!(drops.load(SeqCst), 1, "future dropped exactly once");
        drop(p);
    });
}

/// A task woken from another thread while the worker runs a share of other
/// tasks: the wake leaves the front queue's hint, so after the run in
/// progress the worker takes a round between runs (`worker.rs` invariant 8)
/// and the woken task passes the rest of the share (`role.rs` invariant 4);
/// or the wake lands before or after the batch and goes the usual way.
/// Every task runs exactly as owed either way (the trace oracle checks each
/// step against `Scheduler.tla`, where the pass sits in the holder's slot).
///
/// Two threads (the caller-driven worker, the waker): preemption bound 2.
#[test]
fn pass_between_runs() {
    model(|| {
        let rt = rt(0);
        let started = Arc::new(AtomicUsize::new(0));
        let s = started.clone();
        let w = rt.spawn(async move {
            s.store(1, SeqCst);
            task::wait().await
        });
        let t = w.task_ref();
        let th = loom::thread::spawn(move || {
            // Only a task that has run can pass (a spawn never does).
            while started.load(SeqCst) == 0 {
                loom::thread::yield_now();
            }
            t.wakeup();
        });
        let a = rt.spawn(async {
            task::yield_now().await;
            1
        });
        let b = rt.spawn(async { 2 });
        rt.block_on(async move {
            assert_eq!(w.await.unwrap(), WaitOutcome::Woken);
            assert_eq!(a.await.unwrap() + b.await.unwrap(), 3);
        });
        th.join().unwrap();
    });
}

/// A task awaits another task's `JoinHandle` (its join waker is then kept
/// as the awaiting task's header pointer, `task/join_waker.rs`: every other
/// model awaits handles from `block_on`, whose waker is boxed) while the
/// awaited task completes and the awaiting task is aborted from another
/// thread: the stored reference is taken over exactly once (by the wake at
/// completion, or by the handle's drop inside the aborted future; loom
/// checks the cell accesses and a leaked reference would keep the runtime
/// alive), and each future and output is dropped exactly once.
#[test]
fn task_awaits_task_vs_abort() {
    model(|| {
        let rt = rt(1);
        let out_drops = Arc::new(AtomicUsize::new(0));
        let a_drops = Arc::new(AtomicUsize::new(0));
        let started = Arc::new(AtomicUsize::new(0));
        let d = DropCount(out_drops.clone());
        let hb = rt.spawn(async move {
            // One yield, so that A can register its waker first.
            task::yield_now().await;
            d
        });
        let (da, s) = (DropCount(a_drops.clone()), started.clone());
        let ha = rt.spawn(async move {
            let _da = da;
            s.store(1, SeqCst);
            hb.await.is_ok()
        });
        let th = loom::thread::spawn(move || {
            while started.load(SeqCst) == 0 {
                loom::thread::yield_now();
            }
            ha.abort();
            drop(ha);
        });
        th.join().unwrap();
        drop(rt);
        assert_eq!(a_drops.load(SeqCst), 1, "the awaiting future dropped once");
        assert_eq!(out_drops.load(SeqCst), 1, "the awaited output dropped once");
    });
}

/// A future that hands its waker out on every poll and completes once it
/// reads `2` from `data` (Relaxed on purpose: visibility must come from the
/// wakes, the `Waker` contract's "writes before `wake` are seen by the poll
/// it causes").
struct Reader {
    slot: Arc<loom::sync::Mutex<Option<Waker>>>,
    data: Arc<AtomicUsize>,
}
impl Future for Reader {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        *self.slot.lock().unwrap() = Some(cx.waker().clone());
        if self.data.load(Relaxed) == 2 {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

/// Two wakes from another thread while the task runs: the first sets
/// `NOTIFIED`, the second finds it set. Each wake is one RMW on the state
/// word even then (a wake that only looked and skipped its RMW would publish
/// nothing: the rerun could read the first value and never be woken again,
/// a loom deadlock). Caller-driven (`worker_threads(0)`): two threads.
#[test]
fn second_wake_while_notified() {
    model(|| {
        let rt = rt(0);
        let slot = Arc::new(loom::sync::Mutex::new(None::<Waker>));
        let data = Arc::new(AtomicUsize::new(0));
        let h = rt.spawn(Reader {
            slot: slot.clone(),
            data: data.clone(),
        });
        let th = loom::thread::spawn(move || {
            let w = loop {
                if let Some(w) = slot.lock().unwrap().take() {
                    break w;
                }
                loom::thread::yield_now();
            };
            data.store(1, Relaxed);
            w.wake_by_ref();
            data.store(2, Relaxed);
            w.wake();
        });
        rt.block_on(h).unwrap();
        th.join().unwrap();
    });
}

/// Two callers of `block_on` on a `worker_threads(0)` runtime: each drives
/// the runtime itself, so the sched role passes between them directly, by
/// its release and the other's `try_acquire` (no idle-park mutex in
/// between to order them). The release must publish the role's core (the
/// heap, the round's queues) to the next holder: a loom `UnsafeCell`
/// causality violation otherwise.
///
/// Two threads (the callers): preemption bound 2.
#[test]
fn two_callers_hand_the_role_over() {
    model(|| {
        let rt = Arc::new(rt(0));
        let a = rt.spawn(async { 1 });
        let b = rt.spawn(async { 2 });
        let rt2 = rt.clone();
        let th = loom::thread::spawn(move || rt2.block_on(a).unwrap());
        assert_eq!(rt.block_on(b).unwrap(), 2);
        assert_eq!(th.join().unwrap(), 1);
    });
}

/// Task `b`, on the only (caller-driven) worker, wakes task `a` while `a`
/// waits for a deadline in the sched role's heap (`WAITING`), as another
/// thread advances the clock past that deadline. A wake of a `WAITING` task
/// must go through the front queue, where the role's dispatch removes the
/// heap entry, never to the worker's next-run slot (`running.rs`; TLA+ twin
/// `tla/mutants/slot_takes_waiting.cfg`): the trace oracle checks each step.
///
/// Two threads (the caller, the clock): preemption bound 2.
#[test]
fn worker_wakes_a_waiting_task() {
    model(|| {
        let clock = tempo::time::ManualClock::new();
        let rt = tempo::Runtime::builder()
            .worker_threads(0)
            .manual_clock(&clock)
            .build()
            .unwrap();
        let deadline = clock.now() + Duration::from_secs(1);
        let a = rt.spawn(async move { task::wait_until(deadline).await });
        let ta = a.task_ref();
        // Two yields: `a` is in the heap when `b` runs last.
        let b = rt.spawn(async move {
            task::yield_now().await;
            task::yield_now().await;
            ta.wakeup()
        });
        let c2 = clock.clone();
        let th = loom::thread::spawn(move || c2.advance(Duration::from_secs(1)));
        rt.block_on(b).unwrap();
        let r = rt.block_on(a).unwrap();
        assert!(
            r == WaitOutcome::Woken || r == WaitOutcome::Expired,
            "{r:?}"
        );
        th.join().unwrap();
    });
}
