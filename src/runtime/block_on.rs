//! `block_on`: drive one future to completion on the calling thread.
//!
//! The future is not a task: it lives on the caller's stack, so it need not
//! be `Send` or `'static`. It has its own task-local timer list (so `sleep`
//! and `timeout` work directly inside it). With worker threads, the caller
//! parks on its own parker between polls; with `worker_threads(0)` the caller
//! is the runtime's only worker and runs the worker loop, polling its future
//! whenever it is woken.
//!
//! # Invariants
//! 1. The main future is polled only by this thread, with `CURRENT` pointing
//!    at the frame's `TaskLocal` (task `None`).
//! 2. A wake of the main future sets `notified` (SeqCst) before it unparks, and
//!    the loop swaps `notified` before deciding to park, so no wake is lost.
//! 3. On a manual clock the frame's waker is in `Shared::clock_waiters`
//!    exactly while `block_on` runs: a drop guard ([`ClockWaiter`]) removes
//!    it on return and on unwind (a panicking future used to leave it there
//!    for the runtime's lifetime, woken on every `advance`).

use super::context;
use super::Handle;
use crate::sched::driver::{Driver, ParkDriver};
use crate::sched::worker::{run_loop, Hooks};
use crate::sched::Shared;
use crate::shim::atomic::{fence, AtomicBool, Ordering::SeqCst};
use crate::shim::Arc;
use crate::task::local::{self, Current, TaskLocal};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Instant;

struct MainSignal {
    notified: AtomicBool,
    /// `None`: unpark the runtime's driver (caller-driven runtime).
    parker: Option<ParkDriver>,
    handle: Handle,
}

impl MainSignal {
    fn unpark(&self) {
        match &self.parker {
            Some(p) => p.unpark(),
            None => {
                self.handle.shared.driver.unpark();
                // SeqCst fence: the waker's half of the park handshake
                // (`idle.rs` invariant 2), pairing with the fence in
                // `Idle::park`: this read sees the sleeper, or the sleeper's
                // `has_work` sees `notified`. The SeqCst swap alone is not
                // enough under loom (SeqCst accesses modelled as AcqRel): two
                // callers of a `worker_threads(0)` runtime deadlocked in the
                // loom model `two_callers_hand_the_role_over`.
                fence(SeqCst);
                if self.handle.shared.idle.sleepers() > 0 {
                    self.handle.shared.idle.notify_all();
                }
            }
        }
    }
}

impl Wake for MainSignal {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref()
    }
    fn wake_by_ref(self: &Arc<Self>) {
        // SeqCst RMW (every wake path is an RMW): invariant 2. A plain store
        // here was seen by loom to be missed by the next `swap` in `step`.
        self.notified.swap(true, SeqCst);
        self.unpark();
    }
}

struct Frame<'a, F: Future> {
    fut: Pin<&'a mut F>,
    /// The frame's owner id for its timers (`local.rs` invariant 2).
    id: u64,
    local: TaskLocal,
    signal: Arc<MainSignal>,
    waker: Waker,
    out: Option<F::Output>,
    handle: Handle,
}

impl<F: Future> Frame<'_, F> {
    /// Fires expired timers; polls the future if woken. Returns `true` when done.
    fn step(&mut self) -> bool {
        if self.local.timers.earliest().is_some() {
            let fired = self
                .local
                .timers
                .take_expired(self.handle.shared.clock.now());
            for w in fired {
                if w.will_wake(&self.waker) {
                    self.signal.notified.store(true, SeqCst);
                } else {
                    w.wake();
                }
            }
        }
        if !self.signal.notified.swap(false, SeqCst) {
            return false;
        }
        let guard = local::enter(Current::frame(self.id, &mut self.local));
        let mut cx = Context::from_waker(&self.waker);
        let r = self.fut.as_mut().poll(&mut cx);
        drop(guard);
        match r {
            Poll::Ready(v) => {
                self.out = Some(v);
                true
            }
            Poll::Pending => false,
        }
    }

    fn has_work(&self) -> bool {
        self.signal.notified.load(SeqCst)
            || self
                .local
                .timers
                .earliest()
                .is_some_and(|d| d <= self.handle.shared.clock.now())
    }
}

impl<F: Future> Hooks for Frame<'_, F> {
    fn done(&mut self) -> bool {
        self.out.is_some() || self.step()
    }
    fn pending(&self) -> bool {
        self.has_work()
    }
    fn deadline(&self) -> Option<Instant> {
        self.local.timers.earliest()
    }
}

/// The frame's waker registered in `Shared::clock_waiters`, removed when
/// this drops (invariant 3).
struct ClockWaiter<'a> {
    shared: &'a Shared,
    waker: Waker,
}

impl Drop for ClockWaiter<'_> {
    fn drop(&mut self) {
        self.shared
            .clock_waiters
            .lock()
            .retain(|w| !w.will_wake(&self.waker));
    }
}

/// Runs `fut` to completion on this thread (see the module docs).
pub(crate) fn block_on<F: Future>(handle: &Handle, fut: F) -> F::Output {
    if context::drives_a_runtime() {
        panic!(
            "tempo: cannot call `block_on`/`run` from inside a runtime (a task, a worker thread, or \
             another `block_on`): it would block the thread that drives the runtime. Use `.await` \
             instead, or `spawn` the future and await its JoinHandle."
        );
    }
    let _ctx = context::enter(handle.clone());
    let shared = handle.shared.clone();
    let caller_driven = shared.workers == 0;
    let signal = Arc::new(MainSignal {
        notified: AtomicBool::new(true),
        parker: if caller_driven {
            None
        } else {
            Some(ParkDriver::new())
        },
        handle: handle.clone(),
    });
    let mut fut = std::pin::pin!(fut);
    let mut frame = Frame {
        fut: fut.as_mut(),
        id: shared.next_id(),
        local: TaskLocal::new(),
        waker: Waker::from(signal.clone()),
        signal,
        out: None,
        handle: handle.clone(),
    };
    // A manual clock's `advance` must reach this frame's timers too
    // (invariant 3: until `block_on` returns or unwinds).
    let _clock_waiter = shared.clock.is_manual().then(|| {
        shared.clock_waiters.lock().push(frame.waker.clone());
        ClockWaiter {
            shared: &shared,
            waker: frame.waker.clone(),
        }
    });
    if caller_driven {
        run_loop(&shared, &mut frame);
        if frame.out.is_none() {
            panic!("tempo: the runtime shut down while `block_on` was running");
        }
    } else {
        while !frame.step() {
            if frame.has_work() {
                continue;
            }
            let timeout = frame
                .local
                .timers
                .earliest()
                .map(|d| d.saturating_duration_since(shared.clock.now()));
            let timeout = if shared.clock.is_manual() {
                None
            } else {
                timeout
            };
            frame
                .signal
                .parker
                .as_ref()
                .expect("own parker")
                .park(timeout);
        }
    }
    let out = frame.out.take().expect("completed");
    drop(frame);
    out
}

#[cfg(all(test, not(any(tempo_loom, tempo_shuttle))))]
mod tests {
    /// A `block_on` future that panics leaves no waker in the manual
    /// clock's list (invariant 3); its removal used to be skipped by the
    /// unwind.
    #[test]
    fn a_panicking_block_on_future_leaves_no_clock_waiter() {
        for workers in [0, 1] {
            let clock = crate::time::ManualClock::new();
            let rt = crate::Runtime::builder()
                .worker_threads(workers)
                .manual_clock(&clock)
                .build()
                .unwrap();
            let shared = rt.handle().shared;
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                rt.block_on(async { panic!("the block_on future panics") })
            }));
            assert!(r.is_err());
            assert_eq!(shared.clock_waiters.lock().len(), 0, "workers={workers}");
            rt.block_on(async {});
            assert_eq!(shared.clock_waiters.lock().len(), 0, "workers={workers}");
        }
    }
}
