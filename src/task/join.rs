//! [`JoinHandle`] and [`JoinError`]: awaiting a task's output.
//!
//! # Invariants
//! 1. The handle owns one task reference and the `JOIN_INTEREST` bit.
//! 2. The join waker slot is written by the handle only while `JOIN_WAKER` is
//!    unset and the task is not complete (state word protocol).
//! 3. The output is read or dropped exactly once: by the handle if it saw
//!    `COMPLETE` while holding `JOIN_INTEREST`, otherwise by the completer.

use super::control::TaskRef;
use super::header::RawTask;
use super::state::{Snapshot, JOIN_WAKER};
use std::any::Any;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

/// An owned permission to await a spawned task's output.
///
/// Returned by [`spawn`](crate::spawn), [`Runtime::spawn`](crate::Runtime::spawn)
/// and [`Handle::spawn`](crate::Handle::spawn). Awaiting it yields
/// `Ok(output)`, or a [`JoinError`] if the task panicked or was cancelled
/// (aborted, or dropped by runtime shutdown). A panic of the future's `Drop`
/// counts as the task's panic: when the future is dropped after returning
/// `Ready` (its output is then dropped instead of delivered) or when it is
/// cancelled, the handle gets [`JoinError::is_panic`] with that payload.
///
/// Dropping the handle *detaches* the task: it keeps running and its output
/// is dropped when it finishes. Panics that no handle can see are caught
/// and dropped, reported only by the panic hook (the worker runs on): a
/// detached task's panic (its payload is dropped), and a panic of the
/// output's `Drop` when the output is dropped unread (the task detached,
/// the handle dropped after the task finished, which drops the output
/// inside the handle's `drop`, or the runtime shut down).
///
/// # Panics
/// Polled again after it returned `Ready` (the output was moved out).
///
/// # Examples
/// ```
/// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
/// let rt = tempo::Runtime::builder().worker_threads(1).build().unwrap();
/// let h = rt.spawn(async { 6 * 7 });
/// assert_eq!(rt.block_on(h).unwrap(), 42);
/// # }
/// ```
pub struct JoinHandle<T> {
    raw: RawTask,
    done: bool,
    _p: PhantomData<T>,
}

// SAFETY: the output `T: Send` is moved across threads only once, through the
// task cell's ownership protocol (invariant 3); the handle itself only holds
// a reference-counted pointer.
unsafe impl<T: Send> Send for JoinHandle<T> {}
// SAFETY: `&JoinHandle` exposes only atomic operations (abort, is_finished, task_ref).
unsafe impl<T: Send> Sync for JoinHandle<T> {}
impl<T> Unpin for JoinHandle<T> {}

impl<T> JoinHandle<T> {
    /// Takes ownership of one reference and `JOIN_INTEREST`.
    pub(crate) fn new(raw: RawTask) -> Self {
        JoinHandle {
            raw,
            done: false,
            _p: PhantomData,
        }
    }

    /// Requests cancellation. If the task has not completed, its future is
    /// dropped the next time a worker picks it up (at once if idle), and the
    /// handle resolves to a [`JoinError`] with [`JoinError::is_cancelled`]
    /// ([`JoinError::is_panic`] if the future's `Drop` panicked).
    /// A task that already completed keeps its output. Idempotent.
    ///
    /// # Examples
    /// ```
    /// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
    /// let rt = tempo::Runtime::builder().worker_threads(1).build().unwrap();
    /// let h = rt.spawn(std::future::pending::<()>());
    /// h.abort();
    /// assert!(rt.block_on(h).unwrap_err().is_cancelled());
    /// # }
    /// ```
    pub fn abort(&self) {
        self.raw.act_on(self.raw.state().transition_to_cancelled());
    }

    /// Whether the task has completed (output ready, panicked, or cancelled).
    ///
    /// # Examples
    /// ```
    /// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
    /// let rt = tempo::Runtime::builder().worker_threads(1).build().unwrap();
    /// let h = rt.spawn(async {});
    /// rt.block_on(tempo::time::sleep(std::time::Duration::from_millis(10)));
    /// assert!(h.is_finished());
    /// # }
    /// ```
    pub fn is_finished(&self) -> bool {
        self.raw.state().load().is_complete()
    }

    /// A [`TaskRef`] to the task, for `wakeup()` and `signal()`.
    ///
    /// # Examples
    /// ```
    /// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
    /// use tempo::task::{self, WaitOutcome};
    /// let rt = tempo::Runtime::builder().worker_threads(1).build().unwrap();
    /// let h = rt.spawn(async { task::wait().await });
    /// h.task_ref().wakeup();
    /// assert_eq!(rt.block_on(h).unwrap(), WaitOutcome::Woken);
    /// # }
    /// ```
    pub fn task_ref(&self) -> TaskRef {
        TaskRef::new(self.raw)
    }

    /// The task's id: unique within the process (across runtimes too) and
    /// never reused, also after the task ends; the same as
    /// [`TaskRef::id`](crate::task::TaskRef::id) and [`JoinError::id`].
    ///
    /// # Examples
    /// ```
    /// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
    /// let a = tempo::Runtime::builder().worker_threads(1).build().unwrap();
    /// let b = tempo::Runtime::builder().worker_threads(1).build().unwrap();
    /// let (ha, hb) = (a.spawn(async {}), b.spawn(async {}));
    /// assert_ne!(ha.id(), hb.id());
    /// # }
    /// ```
    pub fn id(&self) -> u64 {
        self.raw.id()
    }

    fn read(&mut self) -> Poll<Result<T, JoinError>> {
        let mut out: Poll<Result<T, JoinError>> = Poll::Pending;
        // SAFETY: the task is complete and we hold JOIN_INTEREST (invariant 3);
        // `out` has the type the vtable's read_output expects.
        unsafe {
            (self.raw.header().vtable.read_output)(self.raw.ptr(), &mut out as *mut _ as *mut ())
        };
        self.done = true;
        out
    }

    fn set_waker(&self, w: &Waker) {
        self.raw.header().join_waker.with_mut(|slot| {
            // SAFETY: invariant 2: JOIN_WAKER is unset and not complete.
            unsafe { (*slot).set(w) }
        });
    }
}

impl<T> Future for JoinHandle<T> {
    type Output = Result<T, JoinError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        assert!(!self.done, "JoinHandle polled after it returned Ready");
        let snap: Snapshot = self.raw.state().load();
        if snap.is_complete() {
            return self.read();
        }
        if snap.has(JOIN_WAKER) {
            let same = self.raw.header().join_waker.with(|slot| {
                // SAFETY: JOIN_WAKER is set, so only reads happen concurrently (the completer).
                unsafe { (*slot).will_wake(cx.waker()) }
            });
            if same {
                return Poll::Pending;
            }
            if self.raw.state().unset_join_waker().is_err() {
                return self.read();
            }
        }
        self.set_waker(cx.waker());
        if self.raw.state().set_join_waker().is_err() {
            return self.read();
        }
        Poll::Pending
    }
}

impl<T> Drop for JoinHandle<T> {
    fn drop(&mut self) {
        let prev = self.raw.state().drop_join_interest();
        if prev.is_complete() {
            if !self.done {
                // SAFETY: invariant 3: we saw COMPLETE while holding JOIN_INTEREST.
                unsafe { (self.raw.header().vtable.drop_stage)(self.raw.ptr()) };
            }
        } else {
            // JOIN_WAKER is now clear and the task not complete: the slot is ours.
            let w = self.raw.header().join_waker.with_mut(|slot| {
                // SAFETY: invariant 2.
                unsafe { (*slot).take() }
            });
            // The handle's reference goes first: the waker's drop is user
            // code, and a panic of it would otherwise leak the task.
            self.raw.drop_ref();
            drop(w);
            return;
        }
        self.raw.drop_ref();
    }
}

impl<T> fmt::Debug for JoinHandle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JoinHandle")
            .field("id", &self.raw.id())
            .finish()
    }
}

/// A panic payload, boxed once more so that it is one thin pointer: a
/// [`Repr`] is then 8 bytes and a `Result<(), Repr>` 16, as small as a small
/// future, so the task cell's stage (a union of the two) stays 16 bytes. The
/// extra allocation is paid only by a task that panicked.
pub(crate) struct Payload(Box<Box<dyn Any + Send + 'static>>);
// SAFETY: the payload is only reached through `&self` to call `downcast_ref`
// for `&str`/`String` (both `Sync`), which reads only the vtable's type id;
// it is otherwise moved out by value (`into_panic`).
unsafe impl Sync for Payload {}

/// Why a task ended without its output, as its cell stores it
/// (`harness.rs`): a [`JoinError`] without the task id, which
/// [`JoinError::new`] adds from the header when the output is read. The cell
/// of a small future is then 8 bytes smaller (`harness.rs` unit test
/// `a_small_future_cell_is_88_bytes`).
pub(crate) enum Repr {
    /// Aborted, or dropped by shutdown, before it completed.
    Cancelled,
    /// Its future panicked; the payload.
    Panic(Payload),
}

impl Repr {
    /// A panic with its payload.
    pub(crate) fn panic(p: Box<dyn Any + Send + 'static>) -> Repr {
        Repr::Panic(Payload(Box::new(p)))
    }
}

/// Why a task did not produce its output.
///
/// # Examples
/// ```
/// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
/// let rt = tempo::Runtime::builder().worker_threads(1).build().unwrap();
/// let err = rt.block_on(rt.spawn(async { panic!("boom") })).unwrap_err();
/// assert!(err.is_panic());
/// assert_eq!(err.into_panic().downcast_ref::<&str>(), Some(&"boom"));
/// # }
/// ```
pub struct JoinError {
    id: u64,
    repr: Repr,
}

impl JoinError {
    /// The error of task `id` (the id lives in the task's header, not in
    /// the stored [`Repr`]).
    pub(crate) fn new(id: u64, repr: Repr) -> Self {
        JoinError { id, repr }
    }
    /// The task was aborted or dropped by shutdown before it completed (and
    /// its future's `Drop` did not panic).
    pub fn is_cancelled(&self) -> bool {
        matches!(self.repr, Repr::Cancelled)
    }
    /// The task's future panicked: in `poll`, or in its `Drop` (after it
    /// returned `Ready`, or when it was cancelled). The payload is the first
    /// panic's.
    pub fn is_panic(&self) -> bool {
        matches!(self.repr, Repr::Panic(_))
    }
    /// The id of the task ([`JoinHandle::id`]).
    pub fn id(&self) -> u64 {
        self.id
    }
    /// The panic payload, to resume with `std::panic::resume_unwind`.
    ///
    /// # Panics
    /// If the error is not a panic (see [`try_into_panic`](Self::try_into_panic)).
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        self.try_into_panic()
            .expect("JoinError::into_panic called on a cancellation; check is_panic() first")
    }
    /// The panic payload, or the error back if it is a cancellation.
    ///
    /// # Errors
    /// Returns `Err(self)` when the task was cancelled rather than panicking.
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, JoinError> {
        match self.repr {
            Repr::Panic(p) => Ok(*p.0),
            Repr::Cancelled => Err(self),
        }
    }
    fn message(&self) -> Option<&str> {
        match &self.repr {
            Repr::Panic(p) => {
                p.0.downcast_ref::<&str>()
                    .copied()
                    .or_else(|| p.0.downcast_ref::<String>().map(|s| s.as_str()))
            }
            Repr::Cancelled => None,
        }
    }
}

impl fmt::Display for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.repr, self.message()) {
            (Repr::Cancelled, _) => write!(f, "task {} was cancelled", self.id),
            (Repr::Panic(_), Some(m)) => write!(f, "task {} panicked with message {m:?}", self.id),
            (Repr::Panic(_), None) => write!(f, "task {} panicked", self.id),
        }
    }
}

impl fmt::Debug for JoinError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Cancelled => write!(f, "JoinError::Cancelled({})", self.id),
            Repr::Panic(_) => write!(
                f,
                "JoinError::Panic({}, {:?})",
                self.id,
                self.message().unwrap_or("..")
            ),
        }
    }
}

impl std::error::Error for JoinError {}

impl From<JoinError> for std::io::Error {
    fn from(e: JoinError) -> Self {
        std::io::Error::other(e)
    }
}
