//! Which runtime this thread is running a task of: the proof, for a wake
//! from inside a run, that the runtime outlives the wake's push.
//!
//! A wake that pushes a task onto the front queue hands the task over: from
//! then on another worker may run, complete and free it, and with it the
//! task's own `Arc<Shared>`. A wake from an arbitrary thread therefore clones
//! that `Arc` for the duration of the push (`RawTask::act_on`), which is an
//! RMW on a reference count every worker shares. A wake from one of the
//! runtime's own workers, in the middle of a run (a channel send, a join, a
//! spawn, a yield), skips the clone: the worker holds a handle to the runtime
//! for its whole run loop.
//!
//! # Invariants
//! 1. `RUNNING` is non-null exactly while this thread is inside
//!    `worker::run_task` for the runtime it points at; the thread holds a
//!    `Handle` (an `Arc<Shared>`) for its whole run loop, so the pointee
//!    outlives every step taken while it is set.
//! 2. Only this thread reads or writes its `RUNNING` (a thread-local);
//!    [`RunGuard`] restores the previous value on drop.

use super::Shared;
use crate::sync::tls;
use std::cell::Cell;

tls! {
    static RUNNING: Cell<*const Shared> = Cell::new(std::ptr::null());
}

/// Marks this thread as running a task of one runtime until dropped.
pub(crate) struct RunGuard {
    prev: *const Shared,
}

/// Enters `run_task` for `shared` (invariant 1).
pub(crate) fn enter(shared: &Shared) -> RunGuard {
    let prev = RUNNING.with(|r| r.replace(shared));
    RunGuard { prev }
}

/// Whether this thread is running a task of the runtime at `shared`: if so,
/// `*shared` outlives the caller's current step (invariant 1).
pub(crate) fn is_running_for(shared: *const Shared) -> bool {
    RUNNING.try_with(|r| r.get() == shared).unwrap_or(false)
}

impl Drop for RunGuard {
    fn drop(&mut self) {
        let prev = self.prev;
        let _ = RUNNING.try_with(|r| r.set(prev));
    }
}
