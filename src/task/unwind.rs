//! Containing the panics of user code that the runtime calls where no
//! caller could see them (a future's or an output's `Drop`, a foreign
//! waker's `wake`, the drop of task-local wakers).
//!
//! # Invariants
//! 1. The payload of a caught panic is itself user data: its `Drop` may
//!    panic too (`std::panic::panic_any` of a value whose `Drop` panics).
//!    It is therefore dropped under `catch_unwind` as well
//!    ([`drop_payload`]), never by a plain `let _ = catch_unwind(..)`,
//!    which dropped it outside the catch: the second panic unwound through
//!    the runtime (a worker thread died and its task stayed `RUNNING`
//!    forever, its `JoinHandle` waiting; `Runtime`'s drop panicked halfway
//!    through its sweep and never dropped the other tasks' futures). The
//!    payload of *that* panic (the payload's own `Drop` panicked) is leaked,
//!    not dropped: dropping it could panic again, without end. The panic
//!    hook has reported every one of them.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// A caught panic's payload.
pub(crate) type Payload = Box<dyn Any + Send + 'static>;

/// Drops a caught panic's payload, containing a panic of its own `Drop`
/// (invariant 1: that panic's payload is leaked).
pub(crate) fn drop_payload(p: Payload) {
    if let Err(again) = catch_unwind(AssertUnwindSafe(move || drop(p))) {
        std::mem::forget(again);
    }
}

/// Runs `f`, containing its panic (the payload is dropped by
/// [`drop_payload`], invariant 1).
pub(crate) fn contain(f: impl FnOnce()) {
    if let Err(p) = catch_unwind(AssertUnwindSafe(f)) {
        drop_payload(p);
    }
}
