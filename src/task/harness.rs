//! The typed task cell: the future's stage, then the header, and the vtable
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
//!    A caught payload that is not stored is dropped contained as well
//!    (`unwind.rs` invariant 1: its own `Drop` may panic).
//! 3. The future never moves: it is polled pinned in the cell and dropped in
//!    place (`finish`), as `Pin`'s drop guarantee requires of a pinned
//!    value. Futures that link themselves into intrusive waiter lists rely
//!    on it to unlink from the address they registered. (Until the
//!    fourteenth session the old stage was moved out and then dropped, so
//!    a task cancelled by `abort` or shutdown dropped its future at another
//!    address: `tests/join_handle.rs::a_cancelled_future_is_dropped_where_it_was_pinned`.)
//! 4. The stage's live field follows from the state: the future until the
//!    task completes (`poll` and `cancel` end it, holding the run
//!    permission, before `transition_to_complete`); then the output, until
//!    exactly one party reads or drops it (`join.rs` invariant 3); then
//!    nothing, which `dealloc` relies on (the task is freed only after its
//!    completion: the registry's reference goes at completion or with the
//!    shutdown sweep, which completes every task it claims, and a task it
//!    finds running keeps its worker's reference until that worker
//!    completes it; nothing between the stored result and
//!    `transition_to_complete` unwinds: `worker.rs` `complete` contains the
//!    drop of the task-local wakers). Checked builds
//!    record the live field and assert every access (`Cell::step`).
//! 5. A panic of the future's `Drop` is the task's result
//!    (`JoinError::is_panic`, with that payload): after the future returned
//!    `Ready` (its output is then dropped, contained, in its place) and when
//!    it is cancelled (abort, shutdown), like a panic of its `poll`. If the
//!    poll itself panicked, that first payload is kept and the drop's is
//!    dropped. (The drop's panic used to be caught and discarded: the
//!    handle got `Ok(output)` or `is_cancelled`, and the
//!    panic was lost: `tests/join_handle.rs`
//!    `a_panic_in_the_future_s_drop_is_reported_to_the_join_handle`.)
//! 6. *The stage comes first, the header after it* (`#[repr(C)]`): a
//!    `NonNull<Header>` points `offset_of!(Cell<F>, header)` bytes into the
//!    allocation, derived from the whole allocation's pointer, and
//!    [`cell_ptr`] steps back by the same offset. The stage holds a
//!    `Repr` (a box), so it is 8-aligned and a multiple of 8 bytes long:
//!    the header follows it without padding, 8-aligned, whatever the
//!    future's alignment. It is at least 8 bytes (`Result<Infallible,
//!    Repr>`), usually 16 or more (`Result<(), Repr>` is 16). Why this
//!    order (a task's run bytes and its neighbour's apart): `header.rs`
//!    invariant 7.

use super::header::{Header, Vtable};
use super::join::{JoinError, Repr};
use super::unwind::{contain, drop_payload};
use super::waker::waker_ref;
use crate::sched::Shared;
use crate::shim::Arc;
use crate::shim::UnsafeCell;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::ptr::NonNull;
use std::task::{Context, Poll};

/// What the cell holds: the future until the task completes, then its
/// result until the join side reads or drops it, then nothing. Which of the
/// three it is follows from the task's state and the join protocol
/// (invariant 4); it is not stored, so the stage is as large as the larger
/// of the two and no larger (a 16-byte future's stage is 16 bytes; a tagged
/// enum took 24: unit test `a_small_future_cell_is_88_bytes`). A failure is
/// stored as a [`Repr`] (no task id: the header has it, and `read_output`
/// adds it).
union Stage<F: Future> {
    future: ManuallyDrop<F>,
    output: ManuallyDrop<Result<F::Output, Repr>>,
}

/// Which field of the stage is live (invariant 4). Stored only in checked
/// builds (debug, loom, shuttle), where every access asserts it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Live {
    Future,
    Output,
    Nothing,
}

#[repr(C)]
struct Cell<F: Future> {
    stage: UnsafeCell<Stage<F>>,
    header: Header,
    #[cfg(any(debug_assertions, tempo_loom, tempo_shuttle))]
    live: UnsafeCell<Live>,
}

impl<F: Future> Cell<F> {
    /// Checked builds: asserts that `expect` is live and records `next`;
    /// accessed under the stage's rule (invariant 1). Nothing otherwise.
    #[inline]
    fn step(&self, expect: Live, next: Live) {
        #[cfg(any(debug_assertions, tempo_loom, tempo_shuttle))]
        self.live.with_mut(|l| {
            // SAFETY: invariant 1, as for the stage.
            let l = unsafe { &mut *l };
            assert_eq!(*l, expect, "tempo bug: the task stage holds another value");
            *l = next;
        });
        #[cfg(not(any(debug_assertions, tempo_loom, tempo_shuttle)))]
        let _ = (expect, next);
    }
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
        stage: UnsafeCell::new(Stage {
            future: ManuallyDrop::new(future),
        }),
        #[cfg(any(debug_assertions, tempo_loom, tempo_shuttle))]
        live: UnsafeCell::new(Live::Future),
    });
    let cell = NonNull::from(Box::leak(cell));
    // SAFETY: the header is a field of the cell just leaked; the pointer
    // keeps the whole allocation's provenance.
    unsafe { cell.byte_add(std::mem::offset_of!(Cell<F>, header)) }.cast::<Header>()
}

/// The cell whose header `p` points at (the header follows the stage).
///
/// # Safety
/// `p` must point to the header of a `Cell<F>` made by [`allocate`].
unsafe fn cell_ptr<F: Future>(p: NonNull<Header>) -> NonNull<Cell<F>> {
    // SAFETY: `p` is `offset_of!(Cell<F>, header)` bytes into the cell's
    // allocation (caller), with its provenance (`allocate`).
    unsafe { p.byte_sub(std::mem::offset_of!(Cell<F>, header)) }.cast::<Cell<F>>()
}

/// # Safety
/// `p` must point to a live `Cell<F>`.
unsafe fn cell<'a, F: Future>(p: NonNull<Header>) -> &'a Cell<F> {
    // SAFETY: guaranteed by the caller.
    unsafe { cell_ptr::<F>(p).as_ref() }
}

/// Drops the future in place (invariant 3) and stores the task's result:
/// `out`, or the panic of the future's `Drop` (invariant 5). The caller
/// holds the run permission (invariant 1).
fn finish<F: Future>(c: &Cell<F>, out: Result<F::Output, Repr>) {
    c.step(Live::Future, Live::Output);
    c.stage.with_mut(|st| {
        // SAFETY: invariant 4: the future is live; invariant 3: it is
        // dropped where it was pinned. A panicking drop still counts as done
        // (drop glue unwinds through the remaining fields), so it is never
        // dropped twice.
        let dropped = catch_unwind(AssertUnwindSafe(|| unsafe {
            ManuallyDrop::drop(&mut (*st).future)
        }));
        // Invariant 5: a panic of the drop is the task's result, unless the
        // poll already panicked (the first panic is reported; the second's
        // payload is dropped, contained: `unwind.rs` invariant 1).
        let out = match (dropped, out) {
            (Ok(()), out) => out,
            (Err(second), out @ Err(Repr::Panic(_))) => {
                drop_payload(second);
                out
            }
            (Err(p), out) => {
                // The output the poll returned (none on a cancellation) is
                // dropped here, in place of the one the handle would read.
                contain(move || drop(out));
                Err(Repr::panic(p))
            }
        };
        // SAFETY: invariant 1; writing a union field drops nothing.
        unsafe { (*st).output = ManuallyDrop::new(out) };
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
    c.step(Live::Future, Live::Future);
    let res = catch_unwind(AssertUnwindSafe(|| {
        c.stage.with_mut(|st| {
            // SAFETY: invariants 1 and 4 (`RUNNING`: the future is live); the
            // future is pinned in its heap cell and never moved (invariant 3).
            unsafe { Pin::new_unchecked(&mut *(*st).future) }.poll(&mut cx)
        })
    }));
    match res {
        Ok(Poll::Pending) => false,
        Ok(Poll::Ready(out)) => {
            finish(c, Ok(out));
            true
        }
        Err(payload) => {
            finish(c, Err(Repr::panic(payload)));
            true
        }
    }
}

/// # Safety
/// As for `poll`.
unsafe fn cancel<F: Future>(p: NonNull<Header>) {
    // SAFETY: caller contract.
    let c = unsafe { cell::<F>(p) };
    finish(c, Err(Repr::Cancelled));
}

/// # Safety
/// `dst` is a `*mut Poll<Result<F::Output, JoinError>>`; the caller owns the
/// stage (invariant 1) and the task is complete.
unsafe fn read_output<F: Future>(p: NonNull<Header>, dst: *mut ()) {
    // SAFETY: caller contract.
    let c = unsafe { cell::<F>(p) };
    c.step(Live::Output, Live::Nothing);
    let out = c
        .stage
        .with_mut(|st| {
            // SAFETY: invariants 1 and 4: complete and not yet read, so the
            // output is live; it is moved out once (the step above).
            unsafe { ManuallyDrop::take(&mut (*st).output) }
        })
        .map_err(|e| JoinError::new(c.header.id, e));
    // SAFETY: caller contract on `dst`.
    unsafe { *(dst as *mut Poll<Result<F::Output, JoinError>>) = Poll::Ready(out) };
}

/// Drops the unread output.
///
/// # Safety
/// The caller owns the stage (invariant 1) and the task is complete.
unsafe fn drop_stage<F: Future>(p: NonNull<Header>) {
    // SAFETY: caller contract.
    let c = unsafe { cell::<F>(p) };
    c.step(Live::Output, Live::Nothing);
    c.stage.with_mut(|st| {
        // (`unwind.rs` invariant 1 for the payload of its panic.)
        // SAFETY: invariants 1 and 4, as in `read_output`.
        contain(|| unsafe { ManuallyDrop::drop(&mut (*st).output) });
    })
}

/// # Safety
/// The reference count reached zero.
unsafe fn dealloc<F: Future>(p: NonNull<Header>) {
    // SAFETY: allocated by `allocate` as a Box<Cell<F>>; last reference.
    let b = unsafe { Box::from_raw(cell_ptr::<F>(p).as_ptr()) };
    trace!(freed(&b.header.state as *const _ as usize));
    // Invariant 4: the output was read or dropped before the last reference
    // went (the stage, a union, drops nothing itself).
    b.step(Live::Nothing, Live::Nothing);
    contain(move || drop(b));
}

#[cfg(all(test, target_pointer_width = "64", not(any(tempo_loom, tempo_shuttle))))]
mod tests {
    use super::*;

    /// The cell's layout (invariant 6): the stage first, the header right
    /// after it, the 16 bytes before the header the stage's.
    #[test]
    fn the_header_follows_the_stage() {
        fn offset<F: Future>(_: &F) -> usize {
            std::mem::offset_of!(Cell<F>, header)
        }
        let small = async {};
        let big = async {
            let buf = [0u8; 100];
            std::future::ready(()).await;
            std::hint::black_box(buf);
        };
        assert_eq!(offset(&small), 16);
        assert!(offset(&big) >= 100);
        assert_eq!(offset(&big) % 8, 0);
        // The smallest stage: a future that never ends, of no size, whose
        // output cannot exist.
        assert_eq!(
            offset(&std::future::pending::<std::convert::Infallible>()),
            8
        );
        // An over-aligned future: the header still follows it at once.
        #[repr(align(128))]
        struct Aligned(#[allow(dead_code)] u8);
        let aligned = async {
            let a = Aligned(1);
            std::future::ready(()).await;
            std::hint::black_box(&a);
        };
        assert_eq!(offset(&aligned) % 128, 0);
        assert!(offset(&aligned) >= 128);
    }

    /// The shape of the `8-memory/idle-task` benchmark's future: one
    /// captured pointer and a `pending()` await (16 bytes). Its cell is the
    /// 72-byte header plus a 16-byte stage (release builds; debug builds add
    /// the `Live` record, 8 bytes with its padding). It was 112 while the stage held a whole
    /// `JoinError` (with the task id the header already has), 104 while
    /// the stage was a tagged enum, and 96 while the join waker took two
    /// words (`join_waker.rs`).
    #[test]
    fn a_small_future_cell_is_88_bytes() {
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
        let checked = if cfg!(debug_assertions) { 8 } else { 0 };
        assert_eq!(cell_size(&f), 88 + checked);
    }
}
