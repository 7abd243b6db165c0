//! [`Handle`]: a cloneable, thread-safe reference to a runtime.

use crate::sched::Shared;
use crate::shim::atomic::Ordering;
use crate::shim::Arc;
use crate::task::JoinHandle;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

/// A cloneable, `Send + Sync` reference to a [`Runtime`](crate::Runtime):
/// spawn onto it and stop it from any thread or task.
///
/// # Examples
/// ```
/// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
/// let rt = tempo::Runtime::builder().worker_threads(2).build().unwrap();
/// fn send_sync<T: Send + Sync + Clone>(t: &T) -> T { t.clone() }
/// let handle = send_sync(&rt.handle()); // may be moved to any thread
/// let h = handle.spawn(async { 1 + 1 });
/// assert_eq!(rt.block_on(h).unwrap(), 2);
/// # }
/// ```
#[derive(Clone)]
pub struct Handle {
    pub(crate) shared: Arc<Shared>,
}

impl Handle {
    /// The handle of the runtime this thread is running for.
    ///
    /// # Panics
    /// Outside a runtime context (a worker thread, a task, or `block_on`).
    ///
    /// # Examples
    /// ```
    /// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
    /// let rt = tempo::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let h = tempo::Handle::current();
    ///     assert_eq!(h.spawn(async { 3 }).await.unwrap(), 3);
    /// });
    /// # }
    /// ```
    pub fn current() -> Handle {
        match Self::try_current() {
            Some(h) => h,
            None => panic!(
                "tempo::Handle::current() was called outside a tempo runtime: call it from inside \
                 `Runtime::block_on` or a task, or pass a `Handle` (from `Runtime::handle()`) to this thread"
            ),
        }
    }

    /// Like [`current`](Self::current), but `None` outside a runtime.
    pub fn try_current() -> Option<Handle> {
        super::context::try_current()
    }

    /// Spawns a task. It starts in FIFO order with the other tasks posted to
    /// this runtime. A task spawned by a task that keeps running starts on
    /// another runner thread if the runtime has one (an idle worker is
    /// woken); on a runtime with one runner (`worker_threads(1)`, or
    /// `worker_threads(0)` driven by one `block_on`) it starts once the
    /// spawner's poll returns. After shutdown began, the future is dropped at
    /// once and the handle resolves to a cancellation
    /// [`JoinError`](crate::task::JoinError).
    ///
    /// # Examples
    /// ```
    /// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
    /// let rt = tempo::Runtime::new().unwrap();
    /// let h = rt.handle().spawn(async { "hi" });
    /// assert_eq!(rt.block_on(h).unwrap(), "hi");
    /// # }
    /// ```
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.shared.spawn(future)
    }

    /// Asks every [`Runtime::run`](crate::Runtime::run) call to return (also
    /// one that starts later, until [`Runtime::restart`](crate::Runtime::restart)).
    /// Thread-safe; callable from tasks. It cancels nothing: pending tasks stay
    /// pending; on a runtime with worker threads they keep running, on one
    /// without (`worker_threads(0)`) they wait for the next `run`/`block_on`.
    /// Tasks are dropped only when the runtime shuts down.
    ///
    /// # Examples
    /// ```
    /// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
    /// let rt = tempo::Runtime::builder().worker_threads(0).build().unwrap();
    /// rt.spawn(async { tempo::Handle::current().stop() });
    /// rt.run(); // returns once the task called stop()
    /// # }
    /// ```
    pub fn stop(&self) {
        self.shared.stopped.store(true, Ordering::SeqCst);
        let wakers = std::mem::take(&mut *self.shared.stop_wakers.lock());
        for w in wakers {
            w.wake();
        }
    }

    /// Whether [`stop`](Self::stop) was called (and not undone by `restart`).
    pub fn is_stopped(&self) -> bool {
        self.shared.stopped.load(Ordering::SeqCst)
    }

    /// Number of worker threads (0: the caller of `block_on`/`run` drives it).
    pub fn worker_threads(&self) -> usize {
        self.shared.workers
    }

    /// Number of spawned tasks that have not completed yet (metrics).
    pub fn live_tasks(&self) -> usize {
        self.shared.registry.len()
    }

    /// Number of I/O sources (sockets) registered with this runtime's
    /// reactor: a dropped socket is deregistered at once, so this returns to
    /// its old value when every socket is gone.
    ///
    /// # Examples
    /// ```
    /// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
    /// let rt = tempo::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let h = tempo::Handle::current();
    ///     let l = tempo::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     assert_eq!(h.io_sources(), 1);
    ///     drop(l);
    ///     assert_eq!(h.io_sources(), 0);
    /// });
    /// # }
    /// ```
    #[cfg(not(any(tempo_loom, tempo_shuttle)))]
    pub fn io_sources(&self) -> usize {
        self.shared.reactor.as_ref().map_or(0, |r| r.sources())
    }

    /// A future that resolves once `stop` was called.
    pub(crate) fn stopped(&self) -> Stopped {
        Stopped {
            handle: self.clone(),
            registered: None,
        }
    }
}

impl fmt::Debug for Handle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Handle")
            .field("worker_threads", &self.shared.workers)
            .finish()
    }
}

/// Resolves when the runtime is stopped.
///
/// `Shared::stop_wakers` holds at most one waker of it: a poll with a waker
/// that will wake the registered one registers nothing new (a `run()` loop
/// polls it on every wake-up of its frame: the list used to grow by one
/// waker per poll), another waker replaces it, and dropping it removes it.
pub(crate) struct Stopped {
    handle: Handle,
    /// The waker this future left in `stop_wakers`, if any.
    registered: Option<Waker>,
}

impl Stopped {
    fn deregister(&mut self, wakers: &mut Vec<Waker>) {
        if let Some(old) = self.registered.take() {
            wakers.retain(|w| !w.will_wake(&old));
        }
    }
}

impl Drop for Stopped {
    fn drop(&mut self) {
        if self.registered.is_some() {
            let shared = self.handle.shared.clone();
            self.deregister(&mut shared.stop_wakers.lock());
        }
    }
}

impl Future for Stopped {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.handle.is_stopped() {
            return Poll::Ready(());
        }
        {
            let shared = self.handle.shared.clone();
            let mut wakers = shared.stop_wakers.lock();
            if !self
                .registered
                .as_ref()
                .is_some_and(|r| r.will_wake(cx.waker()) && wakers.iter().any(|w| w.will_wake(r)))
            {
                self.deregister(&mut wakers);
                wakers.push(cx.waker().clone());
                self.registered = Some(cx.waker().clone());
            }
        }
        // Re-check after registering (stop sets the flag before taking the wakers).
        if self.handle.is_stopped() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

#[cfg(all(test, not(any(tempo_loom, tempo_shuttle))))]
mod tests {
    use std::future::Future;
    use std::task::{Context, Waker};

    /// Polling the `run()` future again and again leaves one waker in
    /// `stop_wakers` (it used to push one per poll), and dropping it leaves
    /// none.
    #[test]
    fn stopped_registers_one_waker_however_often_it_is_polled() {
        let rt = crate::Runtime::builder().worker_threads(0).build().unwrap();
        let handle = rt.handle();
        let mut s = Box::pin(handle.stopped());
        let w = Waker::from(crate::shim::Arc::new(Noop));
        for _ in 0..100 {
            assert!(s.as_mut().poll(&mut Context::from_waker(&w)).is_pending());
        }
        assert_eq!(handle.shared.stop_wakers.lock().len(), 1);
        // Another waker replaces it.
        let other = Waker::from(crate::shim::Arc::new(Noop));
        assert!(s
            .as_mut()
            .poll(&mut Context::from_waker(&other))
            .is_pending());
        assert_eq!(handle.shared.stop_wakers.lock().len(), 1);
        drop(s);
        assert_eq!(handle.shared.stop_wakers.lock().len(), 0);
    }

    struct Noop;
    impl std::task::Wake for Noop {
        fn wake(self: crate::shim::Arc<Self>) {}
    }
}
