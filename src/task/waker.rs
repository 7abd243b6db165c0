//! The `Waker` of a task: a `RawWaker` whose data pointer is the task header.
//!
//! # Invariants
//! 1. Every `Waker` owns one task reference (clone = `ref_inc`, drop = `ref_dec`),
//!    except the borrowed waker built by [`waker_ref`] for the duration of a
//!    poll, which owns none and is never dropped.
//! 2. Every wake is one RMW on the state word (`transition_to_notified`), even
//!    when it changes nothing.
//! 3. A waker that is not ours (a `JoinHandle`'s, a timer's or an I/O
//!    waiter's: whatever the user's future passed in) is woken by the
//!    runtime through [`wake_contained`]/[`wake_by_ref_contained`]: a panic
//!    of its `wake` is caught and dropped there (the panic hook has reported
//!    it; its payload is dropped contained too, `unwind.rs` invariant 1), like a panicking task's, so it never unwinds through a worker
//!    thread (which died with it, and `Runtime`'s drop then waited for it
//!    forever) nor skips the rest of the caller's duties (the next wakers of
//!    a list, the task's unregistration).

use super::header::{Header, RawTask};
use super::unwind::contain;
use std::mem::ManuallyDrop;
use std::ptr::NonNull;
use std::task::{RawWaker, RawWakerVTable, Waker};

static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake_by_ref, drop_waker);

fn raw(p: *const ()) -> RawTask {
    // SAFETY: the data pointer of our wakers is always a non-null header.
    RawTask::from_ptr(unsafe { NonNull::new_unchecked(p as *mut Header) })
}

unsafe fn clone(p: *const ()) -> RawWaker {
    raw(p).state().ref_inc();
    RawWaker::new(p, &VTABLE)
}

unsafe fn wake(p: *const ()) {
    let t = raw(p);
    t.wake_by_ref();
    t.drop_ref();
}

unsafe fn wake_by_ref(p: *const ()) {
    raw(p).wake_by_ref();
}

unsafe fn drop_waker(p: *const ()) {
    raw(p).drop_ref();
}

/// A borrowed waker for the duration of a poll (owns no reference).
///
/// # Safety
/// The task must stay alive while the returned waker is used; cloning it
/// takes a real reference.
pub(crate) unsafe fn waker_ref(p: NonNull<Header>) -> ManuallyDrop<Waker> {
    // SAFETY: VTABLE upholds the RawWaker contract; ManuallyDrop prevents the
    // unowned reference from being released.
    ManuallyDrop::new(unsafe { Waker::from_raw(RawWaker::new(p.as_ptr() as *const (), &VTABLE)) })
}

/// The task whose waker `w` is, if it is a tempo task's (`join_waker.rs`).
pub(crate) fn task_of(w: &Waker) -> Option<NonNull<Header>> {
    if std::ptr::eq(w.vtable(), &VTABLE) {
        NonNull::new(w.data() as *mut Header)
    } else {
        None
    }
}

/// The waker of task `p`, owning one reference of it (invariant 1).
///
/// # Safety
/// The caller gives up one reference of the live task `p` to the waker
/// (as `Waker::from_raw` takes over what its data pointer owns).
pub(crate) unsafe fn from_task(p: NonNull<Header>) -> Waker {
    // SAFETY: VTABLE upholds the RawWaker contract; the reference the caller
    // gives up is released by the waker's drop or wake.
    unsafe { Waker::from_raw(RawWaker::new(p.as_ptr() as *const (), &VTABLE)) }
}

/// Whether `w` is (a clone of) task `t`'s own waker.
pub(crate) fn is_own_waker(w: &Waker, t: RawTask) -> bool {
    w.data() == t.ptr().as_ptr() as *const () && std::ptr::eq(w.vtable(), &VTABLE)
}

/// Wakes `w` (invariant 3: a panic of its `wake` is caught and dropped).
pub(crate) fn wake_contained(w: Waker) {
    contain(|| w.wake());
}

/// Wakes `w` by reference (invariant 3, as [`wake_contained`]).
pub(crate) fn wake_by_ref_contained(w: &Waker) {
    contain(|| w.wake_by_ref());
}
