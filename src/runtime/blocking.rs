//! The blocking pool behind [`spawn_blocking`] (DESIGN.md layer 7, cnetmod's
//! `blocking_invoke`): threads that run closures which block or burn CPU,
//! so that they never hold up a worker thread.
//!
//! # What it owns
//! A [`Pool`] (one per runtime, in `Shared::blocking`) owns the FIFO queue
//! of jobs not yet started and counts its threads; each pool thread owns the
//! job it runs. A job is a closure plus a one-shot [`Slot`] that it shares
//! with a regular tempo task ([`BlockingTask`]): [`spawn_blocking`] spawns
//! that task with the ordinary spawn path, so its `JoinHandle` is tempo's
//! own (`abort`, `is_finished`, `id`, `JoinError` work as for any task).
//!
//! # Invariants
//! 1. At most `max_threads` pool threads exist: `State::threads` is raised
//!    under the lock *before* a thread is spawned, lowered under the lock by
//!    a thread that exits (or by the submitter whose spawn failed).
//! 2. A thread is spawned only when no idle thread is waiting: a submit that
//!    finds `idle > 0` hands the job to one of them (`idle -= 1`,
//!    `notified += 1`, `notify_one`); a waiting thread consumes a
//!    `notified` before it considers its keep-alive or shutdown, so no
//!    notification is lost and no thread counted idle has left.
//! 3. Jobs start in submit order (FIFO); a job beyond the cap waits in the
//!    queue until a pool thread finishes its job and pops it.
//! 4. A job whose task was cancelled (aborted, or dropped by shutdown)
//!    before it started is skipped: its closure is dropped, never called.
//!    A job that started runs to completion (blocking code cannot be
//!    interrupted); if its task is gone by then, its result is dropped by
//!    the pool thread.
//! 5. Shutdown never waits for blocking work: [`Pool::shutdown`] sets
//!    `shutdown`, takes the queue (the runtime drops those jobs; their tasks
//!    are swept like any unfinished task, so their handles resolve
//!    cancelled) and wakes the idle threads, which exit; a running thread is
//!    detached and exits when its job returns. A submit after shutdown drops
//!    the job at once.
//! 6. User code (the closure, its `Drop`, its result's `Drop`, a panic
//!    payload's `Drop`, the task's waker) never runs under `State`'s or a
//!    `Slot`'s lock, and every panic of it is contained on the pool thread
//!    (`task/unwind.rs`): a panic of the closure itself becomes the task's
//!    panic (re-raised with `resume_unwind` in the task's poll).
//! 7. An idle thread exits after [`KEEP_ALIVE`] without a job.
//! 8. A closure runs inside its runtime's context (`context.rs` invariant
//!    2: [`spawn`](crate::spawn), [`Handle::current`], sockets and timers
//!    find the runtime, as in a task), entered for the job and left before
//!    its result is stored. The thread drives nothing, so `block_on` (of
//!    this or another runtime) is allowed there: the bridge back to async
//!    code. The job holds the runtime weakly; a closure that starts after
//!    the last reference to the runtime went runs outside any context.
//!
//! # Who touches what
//! `State` (under `Inner::state`): `queue` is pushed by submitters and popped
//! by pool threads, taken by shutdown; `threads` and `idle`/`notified` as in
//! invariants 1 and 2; `shutdown` is set once by `Pool::shutdown` and read
//! by everyone. `Slot::state` (under its own lock): written by the pool
//! thread (result, or `Dropped`/`Failed` when the job is dropped or cannot
//! get a thread), by the task's poll (takes the result, stores the waker)
//! and by the task's drop (`Cancelled`).

use super::Handle;
use crate::sched::Shared;
use crate::shim::{thread, Arc, Condvar, Mutex, Weak};
use crate::task::unwind::{contain, drop_payload, Payload};
use crate::task::JoinHandle;
use std::collections::VecDeque;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// How long an idle pool thread waits for a job before it exits.
pub(crate) const KEEP_ALIVE: Duration = Duration::from_secs(10);

/// The default cap on pool threads ([`Builder::max_blocking_threads`](crate::Builder::max_blocking_threads)).
pub(crate) const DEFAULT_MAX_THREADS: usize = 512;

/// Runs `f` on the current runtime's blocking pool, a set of threads apart
/// from the workers, and returns a handle to its result.
///
/// Use it for code that blocks (file I/O, a blocking library, a lock held
/// long) or computes for long: on a worker it would stop every other task
/// that worker runs. The pool spawns a thread when no idle one is waiting,
/// up to [`Builder::max_blocking_threads`](crate::Builder::max_blocking_threads)
/// (512 by default); further calls queue in FIFO order. An idle pool thread
/// exits after 10 s. The threads are named after the worker threads, with
/// `-blocking` appended (`tempo-worker-blocking` by default).
///
/// The returned [`JoinHandle`] is an ordinary task's: it resolves to `f`'s
/// value, or to [`JoinError::is_panic`](crate::JoinError::is_panic) with the
/// payload if `f` panicked. [`abort`](JoinHandle::abort) before `f` started
/// means `f` never runs (it is dropped); once started, `f` cannot be
/// interrupted: it runs to completion and its result is dropped, and the
/// handle resolves to [`is_cancelled`](crate::JoinError::is_cancelled).
///
/// Runtime shutdown never waits for blocking work: closures not yet started
/// are dropped (their handles resolve cancelled), running ones finish on
/// their detached thread. After shutdown began, `f` is dropped at once and
/// the handle resolves cancelled, as with [`spawn`](crate::spawn).
///
/// `f` runs inside the runtime's context: [`spawn`](crate::spawn),
/// [`Handle::current`], sockets and timers find the runtime, as in a task.
/// The pool thread drives nothing, so `f` may also
/// [`block_on`](crate::Runtime::block_on) a future (the bridge from
/// blocking code back to async code).
///
/// # Panics
/// Outside a runtime context: use [`Runtime::spawn_blocking`](crate::Runtime::spawn_blocking)
/// or [`Handle::spawn_blocking`] from other threads.
///
/// # Examples
/// ```
/// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
/// let rt = tempo::Runtime::new().unwrap();
/// let sum = rt.block_on(async {
///     let h = tempo::spawn_blocking(|| (1..=100u64).sum::<u64>());
///     h.await.unwrap()
/// });
/// assert_eq!(sum, 5050);
/// # }
/// ```
pub fn spawn_blocking<F, T>(f: F) -> JoinHandle<T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    match super::context::try_current() {
        Some(h) => h.spawn_blocking(f),
        None => panic!(
            "tempo::spawn_blocking was called outside a tempo runtime: call it from inside \
             `Runtime::block_on` or a task, or use `Runtime::spawn_blocking` / \
             `Handle::spawn_blocking` from other threads"
        ),
    }
}

impl Handle {
    /// Runs `f` on this runtime's blocking pool; see [`spawn_blocking`].
    /// Callable from any thread, inside a runtime or not.
    ///
    /// # Examples
    /// ```
    /// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
    /// let rt = tempo::Runtime::new().unwrap();
    /// let handle = rt.handle(); // Send + Sync: may be moved to any thread
    /// let h = handle.spawn_blocking(|| "from a pool thread");
    /// assert_eq!(rt.block_on(h).unwrap(), "from a pool thread");
    /// # }
    /// ```
    pub fn spawn_blocking<F, T>(&self, f: F) -> JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let slot = Arc::new(Slot {
            state: Mutex::new(SlotState::Waiting(None)),
        });
        let join = self.spawn(BlockingTask { slot: slot.clone() });
        if join.is_finished() {
            // Spawned after shutdown began: the task is already cancelled.
            contain(move || drop(f));
        } else {
            self.shared.blocking.submit(Box::new(Job {
                f: Some(f),
                slot,
                rt: Arc::downgrade(&self.shared),
            }));
        }
        join
    }
}

/// The pool's settings, from the [`Builder`](crate::Builder).
#[derive(Debug, Clone)]
pub(crate) struct Config {
    /// Cap on pool threads (at least 1).
    pub(crate) max_threads: usize,
    /// Invariant 7.
    pub(crate) keep_alive: Duration,
    /// The worker threads' name; pool threads append `-blocking`.
    pub(crate) name: String,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            max_threads: DEFAULT_MAX_THREADS,
            keep_alive: KEEP_ALIVE,
            name: "tempo-worker".into(),
        }
    }
}

/// A runtime's blocking pool (see the module docs).
pub(crate) struct Pool {
    inner: Arc<Inner>,
}

/// What the pool threads share with the pool.
struct Inner {
    state: Mutex<State>,
    /// Idle threads wait on it for a job, their keep-alive or shutdown.
    cv: Condvar,
    config: Config,
}

struct State {
    /// Jobs not yet started, FIFO (invariant 3).
    queue: VecDeque<Box<dyn Run>>,
    /// Live pool threads (invariant 1).
    threads: usize,
    /// Threads waiting for a job and not yet handed one (invariant 2).
    idle: usize,
    /// Jobs handed to idle threads by `notify_one`, not yet claimed.
    notified: usize,
    /// Set once by [`Pool::shutdown`] (invariant 5).
    shutdown: bool,
}

/// Jobs taken from the queue by [`Pool::shutdown`]: drop them with [`drop_jobs`].
pub(crate) type Queued = VecDeque<Box<dyn Run>>;

/// Drops jobs that will never run, containing the panics of their closures'
/// `Drop` (invariant 6); their tasks stay pending for the shutdown sweep.
pub(crate) fn drop_jobs(jobs: Queued) {
    for job in jobs {
        contain(move || drop(job));
    }
}

impl Pool {
    pub(crate) fn new(config: Config) -> Pool {
        Pool {
            inner: Arc::new(Inner {
                state: Mutex::new(State {
                    queue: VecDeque::new(),
                    threads: 0,
                    idle: 0,
                    notified: 0,
                    shutdown: false,
                }),
                cv: Condvar::new(),
                config,
            }),
        }
    }

    /// Queues `job` and finds it a thread (invariants 1 to 3, 5).
    fn submit(&self, job: Box<dyn Run>) {
        let mut st = self.inner.state.lock();
        if st.shutdown {
            drop(st);
            contain(move || drop(job));
            return;
        }
        st.queue.push_back(job);
        if st.idle > 0 {
            st.idle -= 1;
            st.notified += 1;
            drop(st);
            self.inner.cv.notify_one();
            return;
        }
        if st.threads >= self.inner.config.max_threads {
            return; // a running thread pops it when its job returns
        }
        st.threads += 1;
        drop(st);
        let inner = self.inner.clone();
        let spawned = thread::Builder::new()
            .name(format!("{}-blocking", self.inner.config.name))
            .spawn(move || inner.run());
        if let Err(e) = spawned {
            let mut st = self.inner.state.lock();
            st.threads -= 1;
            // With another thread alive, it takes the job in turn; with none,
            // nothing would: fail the queued jobs (their tasks panic with why).
            let failed = if st.threads == 0 {
                std::mem::take(&mut st.queue)
            } else {
                VecDeque::new()
            };
            drop(st);
            let why = format!("tempo::spawn_blocking could not start a blocking thread: {e}");
            for job in failed {
                let why = why.clone();
                contain(move || job.fail(why));
            }
        }
    }

    /// Begins shutdown (invariant 5): returns the jobs not started, for the
    /// caller to drop with [`drop_jobs`].
    pub(crate) fn shutdown(&self) -> Queued {
        let mut st = self.inner.state.lock();
        st.shutdown = true;
        let queued = std::mem::take(&mut st.queue);
        drop(st);
        self.inner.cv.notify_all();
        queued
    }

    /// Live pool threads (tests).
    #[cfg(test)]
    pub(crate) fn threads(&self) -> usize {
        self.inner.state.lock().threads
    }
}

impl Inner {
    /// A pool thread's life: run jobs until the queue is empty, wait for one
    /// at most the keep-alive, exit on shutdown or when it expires.
    fn run(self: Arc<Self>) {
        let mut st = self.state.lock();
        loop {
            if let Some(job) = st.queue.pop_front() {
                drop(st);
                job.run(); // contains every panic (invariant 6)
                st = self.state.lock();
                continue;
            }
            if st.shutdown {
                break;
            }
            st.idle += 1;
            let deadline = Instant::now().checked_add(self.config.keep_alive);
            loop {
                st = match deadline {
                    Some(d) => {
                        let now = Instant::now();
                        self.cv.wait_timeout(st, d.saturating_duration_since(now))
                    }
                    None => self.cv.wait(st),
                };
                // Invariant 2: a notification first (the notifier already
                // took this thread out of `idle`).
                if st.notified > 0 {
                    st.notified -= 1;
                    break;
                }
                if st.shutdown {
                    st.idle -= 1;
                    break;
                }
                if deadline.is_some_and(|d| Instant::now() >= d) {
                    st.idle -= 1;
                    st.threads -= 1;
                    return;
                }
            }
        }
        st.threads -= 1;
    }
}

/// A type-erased job in the queue.
pub(crate) trait Run: Send {
    /// Runs the closure (or skips it: invariant 4) and fills the slot.
    fn run(self: Box<Self>);
    /// No thread could be started for it: its task panics with `why`.
    fn fail(self: Box<Self>, why: String);
}

struct Job<F, T> {
    /// `None` once run or failed; a job dropped with `Some` never ran.
    f: Option<F>,
    slot: Arc<Slot<T>>,
    /// The runtime whose context `f` runs in (invariant 8). Weak: a queued
    /// job does not keep a dropped runtime's memory.
    rt: Weak<Shared>,
}

impl<F, T> Run for Job<F, T>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    fn run(mut self: Box<Self>) {
        let Some(f) = self.f.take() else { return };
        if self.slot.is_cancelled() {
            contain(move || drop(f)); // invariant 4: never runs
            return;
        }
        // Invariant 8: inside the runtime's context while `f` runs.
        let ctx = self
            .rt
            .upgrade()
            .map(|shared| super::context::enter_blocking(Handle { shared }));
        let out = catch_unwind(AssertUnwindSafe(f));
        drop(ctx);
        self.slot.complete(out);
    }

    fn fail(mut self: Box<Self>, why: String) {
        let f = self.f.take();
        drop(self.slot.settle(SlotState::Failed(why)));
        contain(move || drop(f));
    }
}

impl<F, T> Drop for Job<F, T> {
    fn drop(&mut self) {
        if self.f.is_some() {
            // Dropped unstarted (shutdown): the task waits for the sweep.
            drop(self.slot.settle(SlotState::Dropped));
        }
    }
}

/// The one-shot completion slot a job shares with its task.
struct Slot<T> {
    state: Mutex<SlotState<T>>,
}

enum SlotState<T> {
    /// The job has not finished; the task's waker, once it polled.
    Waiting(Option<Waker>),
    /// `f` returned or panicked.
    Done(Result<T, Payload>),
    /// The task is gone (aborted or swept): skip or discard the job.
    Cancelled,
    /// The job was dropped unstarted by shutdown.
    Dropped,
    /// No pool thread could be started.
    Failed(String),
    /// The task took the result.
    Taken,
}

impl<T> Slot<T> {
    fn is_cancelled(&self) -> bool {
        matches!(*self.state.lock(), SlotState::Cancelled)
    }

    /// Stores `f`'s outcome and wakes the task, or drops it if the task is
    /// gone (invariants 4 and 6).
    fn complete(&self, out: Result<T, Payload>) {
        if let Err(SlotState::Done(out)) = self.settle(SlotState::Done(out)) {
            match out {
                Ok(v) => contain(move || drop(v)),
                Err(p) => drop_payload(p),
            }
        }
    }

    /// Ends a waiting slot with `end` and wakes the task; gives `end` back,
    /// unstored, if the task is gone (the caller drops it outside the lock:
    /// invariant 6).
    fn settle(&self, end: SlotState<T>) -> Result<(), SlotState<T>> {
        let mut g = self.state.lock();
        if let SlotState::Waiting(w) = &mut *g {
            let w = w.take();
            *g = end;
            drop(g);
            if let Some(w) = w {
                w.wake();
            }
            Ok(())
        } else {
            Err(end)
        }
    }
}

/// The task that [`spawn_blocking`] spawns: waits for its slot.
struct BlockingTask<T> {
    slot: Arc<Slot<T>>,
}

impl<T> Future for BlockingTask<T> {
    type Output = T;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let mut g = self.slot.state.lock();
        match std::mem::replace(&mut *g, SlotState::Taken) {
            SlotState::Done(Ok(v)) => Poll::Ready(v),
            SlotState::Done(Err(p)) => {
                drop(g);
                std::panic::resume_unwind(p)
            }
            SlotState::Failed(why) => {
                drop(g);
                panic!("{why}")
            }
            SlotState::Waiting(w) => {
                let w = match w {
                    Some(w) if w.will_wake(cx.waker()) => w,
                    _ => cx.waker().clone(),
                };
                *g = SlotState::Waiting(Some(w));
                Poll::Pending
            }
            // Shutdown dropped the job; the sweep drops this task (cancelled).
            SlotState::Dropped => {
                *g = SlotState::Dropped;
                Poll::Pending
            }
            SlotState::Cancelled | SlotState::Taken => {
                unreachable!("a blocking task polled after it completed or was dropped")
            }
        }
    }
}

impl<T> Drop for BlockingTask<T> {
    fn drop(&mut self) {
        // Invariant 4: a job not started is skipped. A result not taken is
        // dropped here, outside the lock (the harness contains its panic).
        let old = std::mem::replace(&mut *self.slot.state.lock(), SlotState::Cancelled);
        if let SlotState::Done(Err(p)) = old {
            drop_payload(p);
        } else {
            drop(old);
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::shim::thread;
    use std::time::{Duration, Instant};

    /// Idle pool threads exit after the keep-alive; the count returns to 0.
    #[test]
    fn idle_threads_exit_after_keep_alive() {
        let rt = crate::Runtime::builder()
            .worker_threads(1)
            .blocking_keep_alive(Duration::from_millis(50))
            .build()
            .unwrap();
        let hs: Vec<_> = (0..3)
            .map(|_| rt.spawn_blocking(|| thread::sleep(Duration::from_millis(20))))
            .collect();
        for h in hs {
            rt.block_on(h).unwrap();
        }
        let pool = &rt.handle().shared.blocking;
        assert!(pool.threads() >= 1);
        let start = Instant::now();
        while pool.threads() > 0 {
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "pool threads never exited"
            );
            thread::sleep(Duration::from_millis(10));
        }
    }
}
