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

use super::context;
use super::Handle;
use crate::sched::driver::{Driver, ParkDriver};
use crate::sched::worker::{run_loop, Hooks};
use crate::sync::atomic::{AtomicBool, Ordering::SeqCst};
use crate::sync::Arc;
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
        let guard = local::enter(Current {
            id: self.id,
            local: &mut self.local,
            task: None,
        });
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

/// Runs `fut` to completion on this thread (see the module docs).
pub(crate) fn block_on<F: Future>(handle: &Handle, fut: F) -> F::Output {
    if context::is_entered() {
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
    if shared.clock.is_manual() {
        // A manual clock's `advance` must reach this frame's timers too.
        shared.clock_waiters.lock().push(frame.waker.clone());
    }
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
    if shared.clock.is_manual() {
        shared
            .clock_waiters
            .lock()
            .retain(|w| !w.will_wake(&frame.waker));
    }
    let out = frame.out.take().expect("completed");
    drop(frame);
    out
}
