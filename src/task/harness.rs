//! The typed task cell: header + the future's stage, and the vtable
//! functions that poll, cancel, read and free it.
//!
//! # Invariants
//! 1. `stage` is accessed only by the holder of the run permission (a
//!    `RUNNING` task's worker, or shutdown after claiming it), by the
//!    `JoinHandle` once it observed `COMPLETE` with `JOIN_INTEREST` still set,
//!    or by the completer when `JOIN_INTEREST` was already gone. These are
//!    disjoint (see `State::drop_join_interest`).
//! 2. Every call into user code (poll, the future's and output's `Drop`) is
//!    wrapped in `catch_unwind`: a panicking task never takes its worker down.
//! 3. The future never moves: it is polled pinned in the cell and dropped in
//!    place (`set_stage`), as `Pin`'s drop guarantee requires of a pinned
//!    value. Futures that link themselves into intrusive waiter lists rely
//!    on it to unlink from the address they registered. (Until the
//!    fourteenth session the old stage was moved out and then dropped, so
//!    a task cancelled by `abort` or shutdown dropped its future at another
//!    address: `tests/join_handle.rs::a_cancelled_future_is_dropped_where_it_was_pinned`.)

use super::header::{Header, Vtable};
use super::join::{JoinError, Repr};
use super::waker::waker_ref;
use crate::sched::Shared;
use crate::sync::Arc;
use crate::sync::UnsafeCell;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Context, Poll};

/// What the cell holds. A failure is stored as a [`Repr`] (no task id: the
/// header has it, and `read_output` adds it), which keeps a small future's
/// stage at 24 bytes instead of 32 (unit test
/// `a_small_future_cell_is_104_bytes`).
enum Stage<F: Future> {
    Running(F),
    Finished(Result<F::Output, Repr>),
    Consumed,
}

#[repr(C)]
struct Cell<F: Future> {
    header: Header,
    stage: UnsafeCell<Stage<F>>,
}

struct Vt<F>(std::marker::PhantomData<F>);

impl<F: Future + Send + 'static> Vt<F>
where
    F::Output: Send + 'static,
{
    const VTABLE: Vtable = Vtable {
        poll: poll::<F>,
        cancel: cancel::<F>,
        read_output: read_output::<F>,
        drop_stage: drop_stage::<F>,
        dealloc: dealloc::<F>,
    };
}

/// Allocates a task for `future`.
pub(crate) fn allocate<F>(future: F, id: u64, shared: Arc<Shared>) -> NonNull<Header>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let cell = Box::new(Cell {
        header: Header::new(&Vt::<F>::VTABLE, id, shared),
        stage: UnsafeCell::new(Stage::Running(future)),
    });
    // `Cell` is repr(C) with the header first, so the cast is valid.
    NonNull::from(Box::leak(cell)).cast::<Header>()
}

/// # Safety
/// `p` must point to a live `Cell<F>`.
unsafe fn cell<'a, F: Future>(p: NonNull<Header>) -> &'a Cell<F> {
    // SAFETY: guaranteed by the caller; repr(C) makes the cast valid.
    unsafe { p.cast::<Cell<F>>().as_ref() }
}

/// Replaces the stage, dropping the old value in place under `catch_unwind`
/// (invariant 3).
fn set_stage<F: Future>(c: &Cell<F>, new: Stage<F>) {
    c.stage.with_mut(|st| {
        // SAFETY: invariant 1, the caller holds the stage; invariant 3, the
        // future is dropped where it was pinned. A panicking drop still
        // counts as done (drop glue unwinds through the remaining fields), so
        // the value is never dropped twice.
        let _ = catch_unwind(AssertUnwindSafe(|| unsafe { std::ptr::drop_in_place(st) }));
        // SAFETY: as above; the old value is gone, so `write` (which drops
        // nothing) is the right way to put the new one.
        unsafe { std::ptr::write(st, new) };
    })
}

/// # Safety
/// `p` is a live `Cell<F>` whose run permission the caller holds (`RUNNING`).
unsafe fn poll<F: Future>(p: NonNull<Header>) -> bool {
    // SAFETY: caller contract.
    let c = unsafe { cell::<F>(p) };
    // SAFETY: the task is alive for the whole poll (the worker holds the notification).
    let waker = unsafe { waker_ref(p) };
    let mut cx = Context::from_waker(&waker);
    let res = catch_unwind(AssertUnwindSafe(|| {
        c.stage.with_mut(|st| {
            // SAFETY: invariant 1; the future is pinned in its heap cell and never moved.
            match unsafe { &mut *st } {
                Stage::Running(f) => unsafe { Pin::new_unchecked(f) }.poll(&mut cx),
                _ => panic!("tempo bug: polling a finished task"),
            }
        })
    }));
    match res {
        Ok(Poll::Pending) => false,
        Ok(Poll::Ready(out)) => {
            set_stage(c, Stage::Finished(Ok(out)));
            true
        }
        Err(payload) => {
            set_stage(c, Stage::Finished(Err(Repr::panic(payload))));
            true
        }
    }
}

/// # Safety
/// As for `poll`.
unsafe fn cancel<F: Future>(p: NonNull<Header>) {
    // SAFETY: caller contract.
    let c = unsafe { cell::<F>(p) };
    set_stage(c, Stage::Finished(Err(Repr::Cancelled)));
}

/// # Safety
/// `dst` is a `*mut Poll<Result<F::Output, JoinError>>`; the caller owns the
/// stage (invariant 1) and the task is complete.
unsafe fn read_output<F: Future>(p: NonNull<Header>, dst: *mut ()) {
    // SAFETY: caller contract.
    let c = unsafe { cell::<F>(p) };
    let out = c
        .stage
        .with_mut(|st| {
            // SAFETY: invariant 1.
            match std::mem::replace(unsafe { &mut *st }, Stage::Consumed) {
                Stage::Finished(r) => r,
                _ => panic!("JoinHandle polled after it returned Ready"),
            }
        })
        .map_err(|e| JoinError::new(c.header.id, e));
    // SAFETY: caller contract on `dst`.
    unsafe { *(dst as *mut Poll<Result<F::Output, JoinError>>) = Poll::Ready(out) };
}

/// # Safety
/// The caller owns the stage (invariant 1).
unsafe fn drop_stage<F: Future>(p: NonNull<Header>) {
    // SAFETY: caller contract.
    let c = unsafe { cell::<F>(p) };
    set_stage(c, Stage::Consumed);
}

/// # Safety
/// The reference count reached zero.
unsafe fn dealloc<F: Future>(p: NonNull<Header>) {
    // SAFETY: allocated by `allocate` as a Box<Cell<F>>; last reference.
    let b = unsafe { Box::from_raw(p.cast::<Cell<F>>().as_ptr()) };
    let _ = catch_unwind(AssertUnwindSafe(move || drop(b)));
}

#[cfg(all(test, target_pointer_width = "64", not(any(tempo_loom, tempo_shuttle))))]
mod tests {
    use super::*;

    /// The shape of the `8-memory/idle-task` benchmark's future: one
    /// captured pointer and a `pending()` await (16 bytes). Its cell is the
    /// 80-byte header plus a 24-byte stage; it was 112 while the stage held
    /// a whole `JoinError` (with the task id the header already has).
    #[test]
    fn a_small_future_cell_is_104_bytes() {
        fn cell_size<F: Future>(_: &F) -> usize {
            std::mem::size_of::<Cell<F>>()
        }
        // 8 bytes captured, like the benchmark's latch handle.
        let a = Box::new(0u8);
        let f = async move {
            let _a = &a;
            std::future::pending::<()>().await
        };
        assert_eq!(std::mem::size_of_val(&f), 16);
        assert_eq!(cell_size(&f), 104);
    }
}
