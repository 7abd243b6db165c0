//! The thread-local runtime context: which runtime's [`Handle`] this thread
//! is running for (a worker thread, or a thread inside `block_on`/`run`).
//!
//! # Invariants
//! 1. Set for the whole life of a worker thread, and for the duration of a
//!    `block_on`/`run` call; restored on exit (guard).
//! 2. A thread with a context set must not start `block_on`/`run` (it would
//!    block a worker, or nest event loops): that misuse panics. One
//!    exception: a blocking-pool thread runs each `spawn_blocking` closure
//!    inside its runtime's context ([`enter_blocking`]: `spawn`,
//!    `Handle::current`, sockets and timers find the runtime, as in tokio),
//!    and may start `block_on`, since it drives nothing. `BLOCKING` says so;
//!    [`enter`] clears it (a `block_on` there is an event loop again) and
//!    every guard restores both values.

use super::Handle;
use crate::sched::Shared;
use crate::shim::{tls, Arc};
use crate::time::clock::Clock;
use std::cell::{Cell, RefCell};

tls! {
    static CONTEXT: RefCell<Option<Handle>> = const { RefCell::new(None) };
}

tls! {
    /// The context was entered by a blocking-pool thread (invariant 2).
    static BLOCKING: Cell<bool> = const { Cell::new(false) };
}

/// Restores the previous context (and `BLOCKING`) on drop.
pub(crate) struct ContextGuard(Option<Handle>, bool);

/// Sets `h` as this thread's context.
pub(crate) fn enter(h: Handle) -> ContextGuard {
    let blocking = BLOCKING.with(|b| b.replace(false));
    ContextGuard(CONTEXT.with(|c| c.replace(Some(h))), blocking)
}

/// Sets `h` as the context of a blocking-pool thread for one job
/// (invariant 2).
#[cfg_attr(any(tempo_loom, tempo_shuttle), allow(dead_code))]
pub(crate) fn enter_blocking(h: Handle) -> ContextGuard {
    let blocking = BLOCKING.with(|b| b.replace(true));
    ContextGuard(CONTEXT.with(|c| c.replace(Some(h))), blocking)
}

/// Sets `h` as this thread's context if the thread-local is still alive
/// (`None` during thread-local destruction: a `Runtime` kept in a
/// thread-local and dropped at thread exit, after the context's own
/// destructor ran; `CONTEXT.with` would panic there, and a panic in a
/// thread-local destructor aborts the process).
pub(crate) fn try_enter(h: Handle) -> Option<ContextGuard> {
    let prev = CONTEXT.try_with(|c| c.replace(Some(h))).ok()?;
    let blocking = BLOCKING.try_with(|b| b.replace(false)).unwrap_or(false);
    Some(ContextGuard(prev, blocking))
}

impl Drop for ContextGuard {
    fn drop(&mut self) {
        let prev = self.0.take();
        let _ = CONTEXT.try_with(|c| *c.borrow_mut() = prev);
        let _ = BLOCKING.try_with(|b| b.set(self.1));
    }
}

/// Whether this thread drives a runtime (a worker thread, a task, a
/// `block_on`): a context entered by a blocking-pool thread does not count
/// (invariant 2).
pub(crate) fn drives_a_runtime() -> bool {
    CONTEXT.try_with(|c| c.borrow().is_some()).unwrap_or(false)
        && !BLOCKING.try_with(|b| b.get()).unwrap_or(false)
}

/// A clone of the current handle.
pub(crate) fn try_current() -> Option<Handle> {
    CONTEXT.try_with(|c| c.borrow().clone()).ok().flatten()
}

/// A clone of the current runtime's `Arc<Shared>`, for a spawn to move
/// into its task (`Shared::spawn_arc`): one RMW on the runtime's reference
/// count, where a [`Handle`] clone and its drop cost two more.
pub(crate) fn try_current_shared() -> Option<Arc<Shared>> {
    CONTEXT
        .try_with(|c| c.borrow().as_ref().map(|h| h.shared.clone()))
        .ok()
        .flatten()
}

/// Whether the current runtime reads `clock` (`None` outside a runtime);
/// compares in place, without cloning the current clock.
pub(crate) fn clock_is(clock: &Clock) -> Option<bool> {
    CONTEXT
        .try_with(|c| c.borrow().as_ref().map(|h| h.shared.clock.same(clock)))
        .ok()
        .flatten()
}

/// The current runtime's clock, if this thread runs inside a runtime.
pub(crate) fn try_clock() -> Option<Clock> {
    CONTEXT
        .try_with(|c| c.borrow().as_ref().map(|h| h.shared.clock.clone()))
        .ok()
        .flatten()
}

/// The current runtime's clock.
///
/// # Panics
/// Outside a runtime context, naming `what` and the fix.
pub(crate) fn clock(what: &str) -> Clock {
    match CONTEXT
        .try_with(|c| c.borrow().as_ref().map(|h| h.shared.clock.clone()))
        .ok()
        .flatten()
    {
        Some(c) => c,
        None => panic!(
            "{what} was called outside a tempo runtime: call it from inside `Runtime::block_on` \
             or a task spawned on the runtime"
        ),
    }
}
