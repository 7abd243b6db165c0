//! # tempo
//!
//! A multi-threaded async task scheduler whose core is formally specified
//! (`tla/Scheduler.tla`, checked with TLC) and whose code is explored under
//! loom (`cargo test --features loom`).
//!
//! The smallest program:
//!
//! ```
//! # #[cfg(not(any(feature = "loom", feature = "shuttle")))]
//! fn main() -> std::io::Result<()> {
//!     let rt = tempo::Runtime::new()?;
//!     let answer = rt.block_on(async {
//!         let task = tempo::spawn(async { 40 + 2 });
//!         task.await.unwrap()
//!     });
//!     assert_eq!(answer, 42);
//!     Ok(())
//! }
//! # #[cfg(any(feature = "loom", feature = "shuttle"))] fn main() {}
//! ```
//!
//! ## A tour, from simple to complex
//! 1. [`Runtime::new`] / [`Runtime::builder`] with
//!    [`worker_threads(n)`](Builder::worker_threads) (`0`: the caller of
//!    [`block_on`](Runtime::block_on) / [`run`](Runtime::run) is the only worker).
//! 2. [`spawn`] from inside the runtime, [`Runtime::spawn`] / [`Handle::spawn`]
//!    from anywhere; [`JoinHandle`] resolves to `Result<T, JoinError>` and can
//!    [`abort`](JoinHandle::abort); `spawn_blocking` (normal builds) runs a
//!    blocking closure on a pool thread and returns the same `JoinHandle`.
//! 3. [`time::sleep`], [`time::sleep_until`], [`time::timeout`]: deadlines are
//!    task-local, sub-millisecond, never early, FIFO among equals.
//! 4. serverbox's task controls: [`task::TaskRef::wakeup`],
//!    [`task::TaskRef::signal`], [`task::wait`], [`task::wait_until`] (which
//!    says whether the deadline expired), [`task::receive_signal`].
//! 5. [`Runtime::run`] + [`Handle::stop`]: cnetmod's `io_context::run()/stop()`.
//! 6. Shutdown: dropping the runtime or [`Runtime::shutdown_timeout`] drops
//!    every unfinished future exactly once and never hangs on idle tasks.
//! 7. [`sync`]: the asynchronous synchronisation primitives between tasks
//!    (cnetmod's "Mutex, channel, semaphore"): [`sync::Semaphore`] (FIFO-fair),
//!    [`sync::Mutex`], [`sync::mpsc`] (bounded and unbounded) and
//!    [`sync::oneshot`] channels, [`sync::Notify`]; runtime-agnostic, with
//!    each async method's cancel safety documented (a cancelled bounded
//!    `send` drops its value; nothing else is lost).
//!
//! ## Modules
//! [`task`] (spawning, joining, serverbox's task controls), [`time`] (sleep,
//! timeout, clocks), [`sync`] (semaphore, mutex, channels, notify) and, in normal
//! builds, `net` (TCP, UDP and Unix sockets on the reactor).
//!
//! ## How it is built
//! A lock-free front queue receives every spawn and wakeup; a *sched role*,
//! which any worker takes with a try-lock, moves tasks into a FIFO ready
//! queue or a waiting heap ordered by deadline; each worker pops its share of
//! the ready queue at once and runs at most a bounded batch before revisiting
//! the sched role (fairness, no pinning). A task woken by a running task
//! (a message, a join) skips the queues: it runs next on the waker's worker,
//! within the same batch bound. Spawns always queue, so tasks start in spawn
//! order; on a runtime with one runner thread a task spawned by a task goes
//! straight to that runner's own queue of tasks to run again (nobody else
//! could start it sooner), which that runner drains without a round of the
//! sched role while nothing else is waiting. Each task
//! has one atomic state word whose transitions are named, documented and
//! mirrored one-to-one by the TLA+ actions (see `tla/README.md`).

#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(rust_2018_idioms)]

/// Emits a trace-validation event (`src/trace`): under `--features loom` /
/// `shuttle` a call of `crate::trace::$call`; in normal builds nothing at all.
macro_rules! trace {
    ($($call:tt)*) => {
        #[cfg(any(tempo_loom, tempo_shuttle))]
        {
            $crate::trace::$($call)*;
        }
    };
}

/// Names a traced action: `crate::trace::Act::$a` under loom/shuttle, `()`
/// in normal builds (see [`TraceAct`]).
#[cfg(any(tempo_loom, tempo_shuttle))]
macro_rules! act {
    ($($a:tt)*) => {
        $crate::trace::Act::$($a)*
    };
}
#[cfg(not(any(tempo_loom, tempo_shuttle)))]
macro_rules! act {
    ($($a:tt)*) => {
        ()
    };
}

/// The type of a traced action's name: `()` in normal builds (zero size, no code).
#[cfg(not(any(tempo_loom, tempo_shuttle)))]
pub(crate) type TraceAct = ();
#[cfg(any(tempo_loom, tempo_shuttle))]
pub(crate) type TraceAct = trace::Act;

#[cfg(any(tempo_loom, tempo_shuttle))]
mod trace;

mod io;
#[cfg(not(any(tempo_loom, tempo_shuttle)))]
pub mod net;
mod runtime;
mod sched;
mod shim;
pub mod sync;
pub mod task;
pub mod time;

pub use runtime::{Builder, Handle, Runtime};

/// Test-only hooks for the loom and shuttle models (`--features loom` /
/// `shuttle`); not part of the API.
#[cfg(any(tempo_loom, tempo_shuttle))]
#[doc(hidden)]
pub mod __model {
    pub use crate::io::mock::MockIo;

    /// Ends the trace recording of this model execution: runs the trace
    /// oracle's final checks (call after every thread of the execution was
    /// joined and every value of the body dropped; the loom and shuttle
    /// harnesses do): every task of a runtime that shut down is complete and
    /// its cell freed.
    ///
    /// # Panics
    /// If the recorded execution left the spec (see `src/trace`).
    pub fn end_execution() {
        crate::trace::end_model_execution()
    }

    /// One tick of a monitor (`sched/watch.rs`) on the calling thread: it
    /// enters `handle`'s runtime as a runner, steals the next-run slot and
    /// the share of every other runner with the real `Watch::steal_stale`
    /// (under loom and shuttle every runner reads as stuck in one run),
    /// runs what it stole, and leaves. Returns how many tasks it stole.
    pub fn monitor_tick(handle: &crate::Handle) -> usize {
        handle.shared.watch.steal_and_run(&handle.shared, false)
    }

    /// One look of a lingering runner (`sched/watch.rs` invariant 7) on the
    /// calling thread: it enters `handle`'s runtime as a runner, takes a
    /// spawn kept in another runner's next-run slot with the real
    /// `watch::KeptLooks` (under loom and shuttle a kept spawn is taken at
    /// the first look), runs what it took, and leaves. Returns how many
    /// tasks it took (0 or 1).
    pub fn linger_look(handle: &crate::Handle) -> usize {
        handle.shared.watch.steal_and_run(&handle.shared, true)
    }
}
#[cfg(not(any(tempo_loom, tempo_shuttle)))]
pub use task::spawn_blocking;
pub use task::{JoinError, JoinHandle};

use std::future::Future;

/// Spawns a task onto the current runtime.
///
/// # Panics
/// Outside a runtime context: use [`Runtime::spawn`] or [`Handle::spawn`]
/// from other threads.
///
/// # Examples
/// ```
/// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
/// let rt = tempo::Runtime::new().unwrap();
/// rt.block_on(async {
///     let a = tempo::spawn(async { 1 });
///     let b = tempo::spawn(async { 2 });
///     assert_eq!(a.await.unwrap() + b.await.unwrap(), 3);
/// });
/// # }
/// ```
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    match runtime::context::try_current_shared() {
        Some(shared) => sched::Shared::spawn_arc(shared, future),
        None => panic!(
            "tempo::spawn was called outside a tempo runtime: call it from inside `Runtime::block_on` \
             or a task, or use `Runtime::spawn` / `Handle::spawn` from other threads"
        ),
    }
}
