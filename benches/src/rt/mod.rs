//! The runtimes under test behind one trait, so every workload is written
//! once and runs, unchanged, on each of them.
//!
//! | name | what it is |
//! |---|---|
//! | `tempo-mt` | tempo, `worker_threads(w)` |
//! | `tempo-ct` | tempo, `worker_threads(0)`: the caller of `block_on` is the only worker |
//! | `tokio-mt` | tokio multi-thread, `worker_threads(w)` |
//! | `tokio-ct` | tokio current-thread |
//! | `smol-mt` | `async_executor::Executor` run by `w` threads (timers and sockets: `async-io`) |
//! | `smol-local` | `async_executor::LocalExecutor` on the calling thread |
//! | `twin` | [`twin`]: a `Mutex<VecDeque>` + `Condvar` scheduler on `w` threads (serverbox's benchmark twin) |
//!
//! In every multi-thread runtime `block_on` polls its future on the calling
//! thread and the `w` workers run the spawned tasks (tokio's shape); workloads
//! that measure the scheduler do their work in spawned tasks.

pub mod smol_rt;
pub mod tempo_rt;
pub mod tokio_rt;
pub mod twin;

use std::future::Future;
use std::time::Duration;

/// A runtime under test.
pub trait Rt: Sync + Sized + 'static {
    /// The name in tables (`tempo-mt`, `tokio-ct`, ...).
    const NAME: &'static str;
    /// Whether it has timers (`sleep`, `timeout`).
    const TIMERS: bool = true;
    /// Whether it has TCP sockets (memory per idle connection).
    const NET: bool = true;
    /// Whether tasks can be spawned from a thread outside the runtime.
    const REMOTE: bool = true;
    /// Whether its tasks can run on several threads at once (`false`: one
    /// thread runs them all, whatever `workers` says).
    const PARALLEL: bool = true;

    /// A join handle: resolves to the task's output (panics propagate as panics).
    type Join<T: Send + 'static>: Future<Output = T> + Send + 'static;

    /// Builds it with `workers` worker threads (ignored by current-thread ones).
    fn build(workers: usize) -> Self;
    /// Runs `f` to completion on the calling thread while the runtime runs.
    fn block_on<F: Future>(&self, f: F) -> F::Output;
    /// Runs `f` as a spawned task (on a worker) and blocks until it is done.
    fn run_task<F>(&self, f: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.block_on(async move { Self::spawn(f).await })
    }
    /// Spawns from inside the runtime (a task, or the future of `block_on`).
    fn spawn<F>(f: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;
    /// Spawns from any thread (only called when [`Rt::REMOTE`]).
    fn spawn_remote<F>(&self, f: F) -> Self::Join<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static;
    /// Lets a task run on without its handle (dropping an `async-task`
    /// handle cancels the task; dropping a tokio or tempo one detaches it).
    fn detach<T: Send + 'static>(j: Self::Join<T>) {
        drop(j);
    }
    /// The runtime's own `yield_now`.
    fn yield_now() -> impl Future<Output = ()> + Send + 'static;
    /// The runtime's own `sleep` (only called when [`Rt::TIMERS`]).
    fn sleep(d: Duration) -> impl Future<Output = ()> + Send + 'static;
    /// The runtime's own `timeout` around an already-ready future: `true` if
    /// the inner future won (only called when [`Rt::TIMERS`]).
    fn timeout_ready(d: Duration) -> impl Future<Output = bool> + Send + 'static;
    /// The runtime's own `timeout` around its `yield_now`: the timer is
    /// armed (the inner future is pending once) and then cancelled.
    fn timeout_yield(d: Duration) -> impl Future<Output = bool> + Send + 'static;
    /// An accept loop on `l` that spawns one task per connection; each task
    /// calls `started.done()` and then reads until EOF (only called when
    /// [`Rt::NET`]; the memory workload's idle connections).
    fn serve_idle(
        l: std::net::TcpListener,
        started: std::sync::Arc<crate::workloads::Latch>,
    ) -> impl Future<Output = ()> + Send + 'static;
}

/// Calls `$body` with the runtime type `R` for each name in `$names` that is known.
#[macro_export]
macro_rules! for_each_rt {
    ($name:expr, |$R:ident| $body:expr) => {{
        use $crate::rt::*;
        match $name {
            "tempo-mt" => {
                type $R = tempo_rt::TempoMt;
                Some($body)
            }
            "tempo-ct" => {
                type $R = tempo_rt::TempoCt;
                Some($body)
            }
            "tokio-mt" => {
                type $R = tokio_rt::TokioMt;
                Some($body)
            }
            "tokio-ct" => {
                type $R = tokio_rt::TokioCt;
                Some($body)
            }
            "smol-mt" => {
                type $R = smol_rt::SmolMt;
                Some($body)
            }
            "smol-local" => {
                type $R = smol_rt::SmolLocal;
                Some($body)
            }
            "twin" => {
                type $R = twin::Twin;
                Some($body)
            }
            _ => None,
        }
    }};
}

/// Every runtime name, tempo first.
pub const ALL: [&str; 7] = [
    "tempo-mt",
    "tempo-ct",
    "tokio-mt",
    "tokio-ct",
    "smol-mt",
    "smol-local",
    "twin",
];
