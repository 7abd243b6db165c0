//! serverbox's task controls: [`TaskRef`] (`wakeup`, `signal`) and the
//! in-task side ([`wait`], [`wait_until`], [`wait_timeout`],
//! [`receive_signal`], [`current`], [`yield_now`]).
//!
//! # Semantics (DESIGN.md, "Semantics kept from serverbox")
//! - `wakeup()` is idempotent and never lost: it guarantees at least one more
//!   run of the task, including when it arrives while the task runs; it has no
//!   effect on a task that is signaled.
//! - `signal()` is a wakeup plus a sticky flag: until the task calls
//!   [`receive_signal`], it keeps being run (its deadline ignored). Signals do
//!   not stack. Writes made before `signal()` are visible after a
//!   `receive_signal()` that returned `true` (Release/Acquire on the state word).
//! - A deadline that passes runs the task, and [`wait_until`] reports it as
//!   [`WaitOutcome::Expired`].
//!
//! # Invariants
//! 1. `TaskRef` owns one task reference.
//! 2. `Wait` touches the task-local state only through `local::with_local`
//!    (exclusive while the task runs).
//! 3. A `Wait` that returned `Pending` is counted among its owner's pending
//!    `wait`s until it returns `Ready` or drops (`local.rs` invariant 5):
//!    `counted` names that owner, and only that owner uncounts it. A `Wait`
//!    polled pending by another owner is counted there as well: every owner
//!    that holds its waker counts it.

use super::header::RawTask;
use super::local;
use super::state::SIGNALED;
use crate::time::timer::TimerReg;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// A cloneable, `Send + Sync` reference to a task, for serverbox's
/// `wakeup()` and `signal()`. Holding one keeps the task's memory (not its
/// future) alive; using it after the task finished, or after the runtime shut
/// down, is harmless.
///
/// # Examples
/// ```
/// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
/// use tempo::task::{self, WaitOutcome};
/// let rt = tempo::Runtime::builder().worker_threads(2).build().unwrap();
/// let h = rt.spawn(async {
///     // Sleep until someone signals us, then take the signal.
///     assert_eq!(task::wait().await, WaitOutcome::Signaled);
///     task::receive_signal()
/// });
/// let t = h.task_ref();
/// t.signal(); // TaskRef is Send + Sync: any thread may do this
/// assert!(rt.block_on(h).unwrap());
/// # }
/// ```
pub struct TaskRef {
    raw: RawTask,
}

impl TaskRef {
    /// Takes a new reference.
    pub(crate) fn new(raw: RawTask) -> Self {
        raw.state().ref_inc();
        TaskRef { raw }
    }

    /// Wakes the task: it will run at least once more, without delay.
    /// Idempotent (several wakeups before the run count as one); never lost;
    /// no effect on a signaled task. A task waiting in [`wait`] sees
    /// [`WaitOutcome::Woken`].
    ///
    /// TLA+: `Wakeup`
    pub fn wakeup(&self) {
        self.raw.act_on(self.raw.state().transition_to_woken());
    }

    /// Signals the task: a wakeup plus a sticky flag that stays set until the
    /// task calls [`receive_signal`]. Until then the task keeps being run.
    /// Signals do not stack.
    ///
    /// TLA+: `Signal`
    pub fn signal(&self) {
        self.raw.act_on(self.raw.state().transition_to_signaled());
    }

    /// Whether the task has completed.
    pub fn is_finished(&self) -> bool {
        self.raw.state().load().is_complete()
    }

    /// The task's id: unique within the process, across runtimes, and never
    /// reused (see [`JoinHandle::id`](crate::task::JoinHandle::id)).
    pub fn id(&self) -> u64 {
        self.raw.id()
    }
}

impl Clone for TaskRef {
    fn clone(&self) -> Self {
        TaskRef::new(self.raw)
    }
}

impl Drop for TaskRef {
    fn drop(&mut self) {
        self.raw.drop_ref();
    }
}

impl fmt::Debug for TaskRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskRef")
            .field("id", &self.raw.id())
            .finish()
    }
}

fn current_raw(what: &str) -> RawTask {
    match local::current().and_then(|c| c.running_task()) {
        Some(t) => t,
        None => panic!(
            "tempo::task::{what} must be called from inside a task spawned on a tempo runtime \
             (a `block_on` future is not a task: spawn the code with `tempo::spawn` instead)"
        ),
    }
}

/// A [`TaskRef`] to the task that is running this code.
///
/// # Panics
/// Outside a spawned task (including directly inside `block_on`).
///
/// # Examples
/// ```
/// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
/// let rt = tempo::Runtime::builder().worker_threads(1).build().unwrap();
/// let id = rt.block_on(rt.spawn(async { tempo::task::current().id() })).unwrap();
/// assert!(id > 0);
/// # }
/// ```
pub fn current() -> TaskRef {
    TaskRef::new(current_raw("current()"))
}

/// Like [`current`], but `None` outside a spawned task.
pub fn try_current() -> Option<TaskRef> {
    local::current()
        .and_then(|c| c.running_task())
        .map(TaskRef::new)
}

/// Takes the current task's pending signal: returns `true` (and clears it)
/// if a signal arrived since the last receipt. Acquire: everything written
/// before the matching `signal()` is visible afterwards.
///
/// # Panics
/// Outside a spawned task.
///
/// # Examples
/// ```
/// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
/// let rt = tempo::Runtime::builder().worker_threads(1).build().unwrap();
/// let got = rt.block_on(rt.spawn(async {
///     tempo::task::current().signal();
///     (tempo::task::receive_signal(), tempo::task::receive_signal())
/// })).unwrap();
/// assert_eq!(got, (true, false));
/// # }
/// ```
///
/// TLA+: `ReceiveSignal`
pub fn receive_signal() -> bool {
    current_raw("receive_signal()").state().receive_signal()
}

/// Why a [`wait`] / [`wait_until`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WaitOutcome {
    /// [`TaskRef::wakeup`] was called (the wakeup is consumed).
    Woken,
    /// A signal is pending (call [`receive_signal`] to take it).
    Signaled,
    /// The deadline passed with no wakeup or signal.
    Expired,
}

/// Waits until the task is woken ([`TaskRef::wakeup`]) or signaled.
/// A wakeup or signal that arrived before the call counts (never lost).
///
/// # Panics
/// When polled outside a spawned task.
///
/// # Examples
/// ```
/// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
/// use tempo::task::{self, WaitOutcome};
/// let rt = tempo::Runtime::builder().worker_threads(1).build().unwrap();
/// let h = rt.spawn(async { task::wait().await });
/// h.task_ref().wakeup();
/// h.task_ref().wakeup(); // idempotent
/// assert_eq!(rt.block_on(h).unwrap(), WaitOutcome::Woken);
/// # }
/// ```
pub fn wait() -> Wait {
    Wait {
        deadline: None,
        reg: TimerReg::new(),
        clock: None,
        counted: None,
    }
}

/// Waits until the task is woken, signaled, or `deadline` passes, and says
/// which. Priority when several hold: `Signaled`, then `Woken`, then `Expired`.
///
/// # Panics
/// When polled outside a spawned task.
///
/// # Examples
/// ```
/// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
/// use std::time::{Duration, Instant};
/// use tempo::task::{self, WaitOutcome};
/// let rt = tempo::Runtime::builder().worker_threads(1).build().unwrap();
/// let h = rt.spawn(async {
///     task::wait_until(Instant::now() + Duration::from_millis(5)).await
/// });
/// assert_eq!(rt.block_on(h).unwrap(), WaitOutcome::Expired);
/// # }
/// ```
pub fn wait_until(deadline: Instant) -> Wait {
    Wait {
        deadline: Some(deadline),
        reg: TimerReg::new(),
        clock: None,
        counted: None,
    }
}

/// [`wait_until`] `now + dur` (saturating: `Duration::MAX` waits forever).
///
/// # Panics
/// Outside a tempo runtime context (and when polled outside a spawned task).
pub fn wait_timeout(dur: Duration) -> Wait {
    let clock = crate::runtime::context::clock("tempo::task::wait_timeout");
    let deadline = clock.now().checked_add(dur);
    Wait {
        deadline,
        reg: TimerReg::new(),
        clock: Some(clock),
        counted: None,
    }
}

/// Future returned by [`wait`], [`wait_until`] and [`wait_timeout`].
#[must_use = "futures do nothing unless awaited"]
pub struct Wait {
    deadline: Option<Instant>,
    reg: TimerReg,
    clock: Option<crate::time::clock::Clock>,
    /// The owner whose pending `wait`s count this one (invariant 3).
    counted: Option<u64>,
}

impl Wait {
    /// Ends the registration: the timer and the count (invariant 3).
    fn end(&mut self) {
        self.reg.deregister();
        if let Some(owner) = self.counted.take() {
            let wakers = local::with_local(|id, l| (id == owner).then(|| l.wait_ended())).flatten();
            // Dropped after the borrow of the task-local state ended.
            drop(wakers);
        }
    }
}

impl Future for Wait {
    type Output = WaitOutcome;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<WaitOutcome> {
        let t = current_raw("wait()");
        let state = t.state();
        if state.load().has(SIGNALED) {
            self.end();
            return Poll::Ready(WaitOutcome::Signaled);
        }
        if state.take_woken() {
            self.end();
            return Poll::Ready(WaitOutcome::Woken);
        }
        if let Some(d) = self.deadline {
            let this = &mut *self;
            let clock = this
                .clock
                .get_or_insert_with(|| crate::runtime::context::clock("tempo::task::wait_until"));
            if clock.now() >= d {
                this.end();
                return Poll::Ready(WaitOutcome::Expired);
            }
            this.reg.register(d, cx.waker(), clock);
        }
        let counted = self.counted;
        let owner = local::with_local(|id, l| {
            // Counted by the owner that polls it pending. A `Wait` moved to
            // another task is counted there too (its waker is in that list
            // now) and stays counted in the first, whose list then empties
            // only at its completion: never a waker lost, at worst one kept.
            if counted != Some(id) {
                l.wait_started();
            }
            l.set_wait_waker(cx.waker());
            id
        });
        if owner.is_some() {
            self.counted = owner;
        }
        Poll::Pending
    }
}

impl Drop for Wait {
    fn drop(&mut self) {
        self.end();
    }
}

impl fmt::Debug for Wait {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wait")
            .field("deadline", &self.deadline)
            .finish()
    }
}

/// Yields once: the task goes to the back of the ready queue, so every task
/// already in it runs before this one runs again.
///
/// The yielding task stays on its worker: it waits in the worker's rerun
/// list until the end of the worker's batch (at most 32 runs), then goes to
/// the back of the ready queue. Tasks spawned, woken or timed out meanwhile
/// travel through the sched role: when the yielding task's worker takes the
/// role at the end of its batch, they go to the ready queue ahead of the
/// yielded task; when another worker holds the role, they may run after it,
/// never later than its next batch (`sched/worker.rs` invariants 1 and 5).
///
/// # Examples
/// ```
/// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
/// let rt = tempo::Runtime::builder().worker_threads(0).build().unwrap();
/// rt.block_on(async { tempo::task::yield_now().await });
/// # }
/// ```
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// Future returned by [`yield_now`].
#[must_use = "futures do nothing unless awaited"]
#[derive(Debug)]
pub struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            return Poll::Ready(());
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
