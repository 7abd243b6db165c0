//! The runtime API (DESIGN.md layer 7): [`Runtime`], [`Builder`], [`Handle`],
//! `block_on`, `run`/`stop`, shutdown.
//!
//! # Invariants
//! 1. Worker threads run `sched::worker::run_loop` with this runtime as their
//!    context until shutdown begins.
//! 2. Shutdown (drop or `shutdown_timeout`) runs once: it stops the workers,
//!    waits for them (bounded by the timeout), then drops every unfinished
//!    future exactly once and releases every queue's references.
//! 3. Shutdown never waits for the thread that runs it. Run on one of the
//!    runtime's own worker threads (the last owner of the `Runtime` dropped
//!    inside one of its tasks), it waits for the other workers only; the
//!    calling worker is left as a straggler is by `shutdown_timeout`: its
//!    task's future is dropped when the poll in progress returns, and it
//!    takes no other task (`worker.rs` invariant 10). It used to wait for
//!    every worker, the calling one included: forever. Run by user code
//!    that the sched-role holder called (a waker fired by the reactor's
//!    dispatch), it leaves the waiting heap to the holder's release of the
//!    role (`role.rs` invariant 5) instead of waiting for the role.
//! 4. A worker thread's exit is counted (for the shutdown's wait) by a drop
//!    guard, on return and on unwind alike: a worker thread that died of a
//!    panic that escaped its loop (a user waker's, before `task/waker.rs`
//!    invariant 3 contained those) was never counted, and `Runtime`'s drop
//!    waited for it forever.
//! 5. The shutdown sweep drops the unfinished futures inside this runtime's
//!    context (restored after it), as a worker drops an aborted task's:
//!    a future's `Drop` that spawns (the spawn resolves to a cancellation
//!    at once), reads `Handle::current` or creates a timer sees its own
//!    runtime. It used to run in the caller's context: none (`tempo::spawn`
//!    panicked, and the panic became the task's result), or, when the
//!    `Runtime` was dropped inside another runtime's task or `block_on`,
//!    that other runtime (the spawn went there). A `Runtime` dropped at
//!    thread exit by a thread-local destructor, after the thread's context
//!    was destroyed, sweeps without a context (entering one there panicked,
//!    and a panic in a thread-local destructor aborts the process:
//!    `tests/shutdown_edges.rs`).
//! 6. Shutdown never waits for blocking work (`blocking.rs` invariant 5):
//!    right after shutdown begins, the blocking pool's queued jobs are taken
//!    (dropped inside this runtime's context, before the sweep cancels their
//!    tasks); running pool threads are not waited for.

pub(crate) mod block_on;
#[cfg(not(any(tempo_loom, tempo_shuttle)))]
pub(crate) mod blocking;
pub(crate) mod context;
mod handle;

pub use handle::Handle;

#[cfg(any(tempo_loom, tempo_shuttle))]
use crate::sched::driver::ParkDriver;
use crate::sched::worker::{run_loop, NoHooks};
use crate::sched::Shared;
use crate::shim::Arc;
use crate::shim::{thread, Condvar, Mutex};
use crate::time::clock::Clock;
use crate::time::ManualClock;
use std::fmt;
use std::future::Future;
use std::io;
use std::time::{Duration, Instant};

/// Configures and builds a [`Runtime`].
///
/// # Examples
/// ```
/// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
/// let rt = tempo::Runtime::builder().worker_threads(2).thread_name("my-worker").build().unwrap();
/// assert_eq!(rt.handle().worker_threads(), 2);
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct Builder {
    workers: Option<usize>,
    name: String,
    clock: Option<ManualClock>,
    max_blocking: usize,
    #[cfg_attr(any(tempo_loom, tempo_shuttle), allow(dead_code))]
    blocking_keep_alive: Duration,
}

impl Builder {
    /// A builder with default settings (one worker per available core).
    pub fn new() -> Builder {
        Builder {
            workers: None,
            name: "tempo-worker".into(),
            clock: None,
            max_blocking: 512,
            blocking_keep_alive: Duration::from_secs(10),
        }
    }

    /// Number of worker threads. `0` means none: the thread calling
    /// [`Runtime::block_on`] or [`Runtime::run`] is the only worker
    /// (cnetmod's single-threaded `io_context::run()` model).
    ///
    /// Such a runtime's reactor is polled only while some thread is inside
    /// its `block_on` or `run`: a socket created in it and awaited from
    /// another runtime while it is not being driven gets no readiness, and
    /// the operation waits until this runtime is driven again (or forever).
    /// Use its sockets inside it, or give it worker threads.
    pub fn worker_threads(&mut self, n: usize) -> &mut Builder {
        self.workers = Some(n);
        self
    }

    /// Name of the worker threads (`-N` is appended). A name with a NUL
    /// byte makes [`build`](Builder::build) fail (`InvalidInput`).
    pub fn thread_name(&mut self, name: impl Into<String>) -> &mut Builder {
        self.name = name.into();
        self
    }

    /// Cap on the threads of the blocking pool that runs
    /// [`spawn_blocking`](crate::spawn_blocking) closures (default 512).
    /// Closures beyond it wait in FIFO order for a pool thread to finish.
    /// `0` makes [`build`](Builder::build) fail (`InvalidInput`).
    ///
    /// # Examples
    /// ```
    /// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
    /// let rt = tempo::Runtime::builder().max_blocking_threads(2).build().unwrap();
    /// let hs: Vec<_> = (0..4u32).map(|i| rt.spawn_blocking(move || i * 10)).collect();
    /// let sum: u32 = hs.into_iter().map(|h| rt.block_on(h).unwrap()).sum();
    /// assert_eq!(sum, 60);
    /// let err = tempo::Runtime::builder().max_blocking_threads(0).build().unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    /// # }
    /// ```
    pub fn max_blocking_threads(&mut self, n: usize) -> &mut Builder {
        self.max_blocking = n;
        self
    }

    /// How long an idle blocking-pool thread waits for work before it exits
    /// (default 10 s). For tests; not part of the stable API.
    #[doc(hidden)]
    pub fn blocking_keep_alive(&mut self, d: Duration) -> &mut Builder {
        self.blocking_keep_alive = d;
        self
    }

    /// Reads time from `clock` instead of the real clock (for tests: deadlines
    /// fire when the clock is [advanced](ManualClock::advance)).
    pub fn manual_clock(&mut self, clock: &ManualClock) -> &mut Builder {
        self.clock = Some(clock.clone());
        self
    }

    /// Builds the runtime: its reactor (an epoll instance) and its worker threads.
    ///
    /// # Errors
    /// If the epoll instance cannot be created or a worker thread cannot be
    /// spawned (the error of the OS); `InvalidInput` if the
    /// [thread name](Builder::thread_name) contains a NUL byte (std's thread
    /// builder panics on one) or if
    /// [`max_blocking_threads`](Builder::max_blocking_threads) is 0.
    ///
    /// # Examples
    /// ```
    /// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
    /// let err = tempo::Runtime::builder().thread_name("a\0b").build().unwrap_err();
    /// assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    /// # }
    /// ```
    pub fn build(&mut self) -> io::Result<Runtime> {
        if self.name.contains('\0') {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "tempo: the worker thread name {:?} contains a NUL byte",
                    self.name
                ),
            ));
        }
        if self.max_blocking == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "tempo: max_blocking_threads must be at least 1",
            ));
        }
        let workers = match self.workers {
            Some(n) => n,
            None => crate::shim::available_parallelism(),
        };
        let clock = match &self.clock {
            Some(c) => Clock::Manual(c.clone()),
            None => Clock::Real,
        };
        #[cfg(not(any(tempo_loom, tempo_shuttle)))]
        let shared = Arc::new(Shared::with_reactor(
            workers,
            clock,
            blocking::Config {
                max_threads: self.max_blocking,
                keep_alive: self.blocking_keep_alive,
                name: self.name.clone(),
            },
        )?);
        #[cfg(any(tempo_loom, tempo_shuttle))]
        let shared = Arc::new(Shared::new(workers, Arc::new(ParkDriver::new()), clock));
        if let Some(c) = &self.clock {
            c.attach(&shared);
        }
        let handle = Handle { shared };
        let exits = Arc::new(Exits {
            n: Mutex::new(0),
            cv: Condvar::new(),
        });
        let mut rt = Runtime {
            handle,
            threads: Vec::new(),
            exits,
            shut: false,
        };
        for i in 0..workers {
            let h = rt.handle.clone();
            let exits = rt.exits.clone();
            let spawned = thread::Builder::new()
                .name(format!("{}-{i}", self.name))
                .spawn(move || {
                    // Invariant 4: counted however the thread ends.
                    let _exit = ExitGuard(exits);
                    let _ctx = context::enter(h.clone());
                    run_loop(&h.shared, &mut NoHooks);
                    drop(_ctx);
                    drop(h);
                });
            match spawned {
                Ok(j) => rt.threads.push(j),
                Err(e) => return Err(e), // `rt` drops: shuts down the threads already started
            }
        }
        Ok(rt)
    }
}

impl Default for Builder {
    fn default() -> Self {
        Builder::new()
    }
}

struct Exits {
    n: Mutex<usize>,
    cv: Condvar,
}

/// Counts a worker thread's exit when it drops: on return and on unwind
/// (invariant 4).
struct ExitGuard(Arc<Exits>);

impl Drop for ExitGuard {
    fn drop(&mut self) {
        *self.0.n.lock() += 1;
        self.0.cv.notify_all();
    }
}

/// A tempo runtime: worker threads, the scheduler and its clock.
///
/// Dropping it (or [`shutdown_timeout`](Runtime::shutdown_timeout)) stops the
/// workers and drops every unfinished task's future exactly once, including
/// tasks parked forever and tasks sleeping for an hour; it never waits for
/// them to finish. Wakeups, signals and spawns after shutdown are harmless
/// (spawns resolve to a cancellation error). A dropped task's handle
/// resolves to [`JoinError::is_cancelled`](crate::JoinError::is_cancelled),
/// or to [`is_panic`](crate::JoinError::is_panic) if its future's `Drop`
/// panicked; the panic goes no further. The futures are dropped inside this
/// runtime's context: a `Drop` that calls [`spawn`](crate::spawn) or
/// [`Handle::current`] reaches this runtime (the spawn resolves to a
/// cancellation at once), also when the `Runtime` is dropped inside another
/// runtime.
///
/// It may be dropped inside one of its own tasks (the task held the last
/// `Arc<Runtime>`): the drop waits for the other worker threads only, never
/// for the one it runs on. That worker finishes the poll in progress, then
/// drops the calling task's future (the task is cancelled, like every other
/// unfinished task) and exits; it takes no other task.
///
/// # Examples
/// ```
/// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
/// use std::time::Duration;
/// let rt = tempo::Runtime::new().unwrap();
/// let out = rt.block_on(async {
///     let h = tempo::spawn(async {
///         tempo::time::sleep(Duration::from_millis(1)).await;
///         21
///     });
///     h.await.unwrap() * 2
/// });
/// assert_eq!(out, 42);
/// # }
/// ```
pub struct Runtime {
    handle: Handle,
    threads: Vec<thread::JoinHandle<()>>,
    exits: Arc<Exits>,
    shut: bool,
}

impl Runtime {
    /// A runtime with one worker thread per available core.
    ///
    /// # Errors
    /// If a worker thread cannot be spawned.
    pub fn new() -> io::Result<Runtime> {
        Builder::new().build()
    }

    /// A [`Builder`] to configure a runtime.
    pub fn builder() -> Builder {
        Builder::new()
    }

    /// Runs `future` to completion on the calling thread and returns its
    /// output. The future need not be `Send`; inside it, [`spawn`](crate::spawn),
    /// [`sleep`](crate::time::sleep) and [`Handle::current`] work. With
    /// `worker_threads(0)` the calling thread also runs the spawned tasks.
    ///
    /// # Panics
    /// When called from inside a runtime (a task, a worker thread, or another
    /// `block_on`): use `.await` there instead.
    ///
    /// # Examples
    /// ```
    /// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
    /// let rt = tempo::Runtime::builder().worker_threads(0).build().unwrap();
    /// assert_eq!(rt.block_on(async { tempo::spawn(async { 7 }).await.unwrap() }), 7);
    /// # }
    /// ```
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        block_on::block_on(&self.handle, future)
    }

    /// Spawns a task onto the runtime; see [`Handle::spawn`].
    pub fn spawn<F>(&self, future: F) -> crate::task::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle.spawn(future)
    }

    /// Runs `f` on the runtime's blocking pool; see
    /// [`spawn_blocking`](crate::spawn_blocking). Callable from any thread.
    ///
    /// # Examples
    /// ```
    /// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
    /// let rt = tempo::Runtime::new().unwrap();
    /// let h = rt.spawn_blocking(|| std::fs::metadata("/").is_ok());
    /// assert!(rt.block_on(h).unwrap());
    /// # }
    /// ```
    #[cfg(not(any(tempo_loom, tempo_shuttle)))]
    pub fn spawn_blocking<F, T>(&self, f: F) -> crate::task::JoinHandle<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        self.handle.spawn_blocking(f)
    }

    /// A [`Handle`] to this runtime.
    pub fn handle(&self) -> Handle {
        self.handle.clone()
    }

    /// Drives the runtime on the calling thread until [`Handle::stop`] is
    /// called from any thread or task (cnetmod's `io_context::run()`/`stop()`).
    /// Returns at once if the runtime is already stopped (see [`restart`](Self::restart)).
    /// With worker threads the caller just waits; with `worker_threads(0)` it
    /// runs the tasks. Tasks still pending when it returns stay pending.
    ///
    /// # Panics
    /// When called from inside a runtime.
    ///
    /// # Examples
    /// ```
    /// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
    /// let rt = tempo::Runtime::builder().worker_threads(0).build().unwrap();
    /// let h = rt.handle();
    /// rt.spawn(async move {
    ///     tempo::time::sleep(std::time::Duration::from_millis(1)).await;
    ///     h.stop();
    /// });
    /// rt.run();
    /// assert!(rt.handle().is_stopped());
    /// # }
    /// ```
    pub fn run(&self) {
        let stopped = self.handle.stopped();
        self.block_on(stopped)
    }

    /// Clears a previous [`Handle::stop`] so [`run`](Self::run) blocks again.
    pub fn restart(&self) {
        self.handle
            .shared
            .stopped
            .store(false, crate::shim::atomic::Ordering::SeqCst);
    }

    /// Shuts down, waiting at most `timeout` for worker threads to finish the
    /// poll they are in. Every unfinished task's future is dropped (a task
    /// still being polled by a worker past the timeout is dropped by that
    /// worker when its poll returns). Called inside one of the runtime's own
    /// tasks, it does not wait for the worker it runs on (see [`Runtime`]).
    ///
    /// # Examples
    /// ```
    /// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
    /// let rt = tempo::Runtime::new().unwrap();
    /// rt.spawn(tempo::time::sleep(std::time::Duration::from_secs(3600)));
    /// rt.shutdown_timeout(std::time::Duration::from_secs(1)); // returns at once
    /// # }
    /// ```
    pub fn shutdown_timeout(mut self, timeout: Duration) {
        self.shutdown(Some(timeout));
    }

    /// Whether the calling thread is one of this runtime's worker threads
    /// (its context is this runtime and it has worker threads: a caller of
    /// `block_on` borrows the `Runtime`, so it cannot be shutting it down).
    fn on_own_worker(&self) -> bool {
        !self.threads.is_empty()
            && context::try_current().is_some_and(|h| Arc::ptr_eq(&h.shared, &self.handle.shared))
    }

    fn shutdown(&mut self, timeout: Option<Duration>) {
        if self.shut {
            return;
        }
        self.shut = true;
        // Invariant 3: never wait for the calling thread.
        let own = self.on_own_worker();
        let shared = &self.handle.shared;
        shared.begin_shutdown();
        // Invariant 6: the blocking pool's queued jobs never start.
        #[cfg(not(any(tempo_loom, tempo_shuttle)))]
        let queued = shared.blocking.shutdown();
        let want = self.threads.len() - usize::from(own);
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        let mut n = self.exits.n.lock();
        while *n < want {
            match deadline {
                None => n = self.exits.cv.wait(n),
                Some(d) => {
                    let now = Instant::now();
                    if now >= d {
                        break;
                    }
                    n = self.exits.cv.wait_timeout(n, d - now);
                }
            }
        }
        let all_exited = *n >= want;
        drop(n);
        if all_exited && !own {
            for t in self.threads.drain(..) {
                let _ = t.join();
            }
        } else {
            // Detach stragglers (and the calling worker, which a join would
            // wait for forever).
            self.threads.clear();
        }
        // Invariant 5: the swept futures are dropped inside this runtime's
        // context, as an aborted task's future is on its worker; without one
        // when the thread's context is already destroyed (a `Runtime` in a
        // thread-local dropped at thread exit: `enter` would panic there,
        // which aborts the process).
        let _ctx = context::try_enter(self.handle.clone());
        #[cfg(not(any(tempo_loom, tempo_shuttle)))]
        blocking::drop_jobs(queued);
        shared.finish_shutdown();
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.shutdown(None);
    }
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("worker_threads", &self.handle.shared.workers)
            .finish()
    }
}
