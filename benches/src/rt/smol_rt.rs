//! async-executor (the smol stack): `smol-mt`, an `Executor` run by `w`
//! threads, and `smol-local`, a `LocalExecutor` on the calling thread.
//! Timers come from `async-io` (its `Timer`), as in smol itself.

use super::Rt;
use async_executor::{Executor, LocalExecutor, Task};
use futures::future::{FutureExt, Shared};
use std::cell::RefCell;
use std::future::Future;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

thread_local! {
    /// The `smol-mt` executor of this thread (its workers, and `block_on`'s caller).
    static CURRENT: RefCell<Option<Arc<Executor<'static>>>> = const { RefCell::new(None) };
    /// The `smol-local` executor of this thread.
    static LOCAL: LocalExecutor<'static> = const { LocalExecutor::new() };
}

fn with_current<T>(ex: &Arc<Executor<'static>>, f: impl FnOnce() -> T) -> T {
    let prev = CURRENT.with(|c| c.borrow_mut().replace(ex.clone()));
    let out = f();
    CURRENT.with(|c| *c.borrow_mut() = prev);
    out
}

async fn smol_sleep(d: Duration) {
    async_io::Timer::after(d).await;
}

async fn smol_serve_idle<R: Rt>(l: std::net::TcpListener, started: Arc<crate::workloads::Latch>) {
    use futures::AsyncReadExt;
    let l = async_io::Async::new(l).expect("Async::new");
    loop {
        let (mut s, _) = l.accept().await.expect("accept");
        let started = started.clone();
        R::detach(R::spawn(async move {
            started.done();
            let mut buf = [0u8; 64];
            while let Ok(n) = s.read(&mut buf).await {
                if n == 0 {
                    break;
                }
            }
        }));
    }
}

fn smol_timeout_yield(d: Duration) -> impl Future<Output = bool> + Send {
    let timer = async_io::Timer::after(d);
    futures_lite::future::or(
        async {
            futures_lite::future::yield_now().await;
            true
        },
        async move {
            timer.await;
            false
        },
    )
}

fn smol_timeout_ready(d: Duration) -> impl Future<Output = bool> + Send {
    // `or` polls the first future first, like tokio's and tempo's `timeout`.
    // The timer is created eagerly (it reads the clock, as tokio's and
    // tempo's `timeout` do at creation); `or` polls the first future first.
    let timer = async_io::Timer::after(d);
    futures_lite::future::or(
        async {
            std::future::ready(()).await;
            true
        },
        async move {
            timer.await;
            false
        },
    )
}

/// `smol-mt`
pub struct SmolMt {
    ex: Arc<Executor<'static>>,
    stop: Option<futures::channel::oneshot::Sender<()>>,
    threads: Vec<JoinHandle<()>>,
}

impl Rt for SmolMt {
    const NAME: &'static str = "smol-mt";
    type Join<T: Send + 'static> = Task<T>;

    fn build(workers: usize) -> Self {
        let ex = Arc::new(Executor::new());
        let (tx, rx) = futures::channel::oneshot::channel::<()>();
        let rx: Shared<_> = rx.shared();
        let threads = (0..workers)
            .map(|i| {
                let ex = ex.clone();
                let rx = rx.clone();
                std::thread::Builder::new()
                    .name(format!("smol-{i}"))
                    .spawn(move || {
                        with_current(&ex.clone(), || {
                            let _ = futures_lite::future::block_on(ex.run(rx));
                        })
                    })
                    .expect("smol worker thread")
            })
            .collect();
        SmolMt {
            ex,
            stop: Some(tx),
            threads,
        }
    }
    fn block_on<F: Future>(&self, f: F) -> F::Output {
        with_current(&self.ex, || futures_lite::future::block_on(f))
    }
    fn spawn<F>(f: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        CURRENT.with(|c| {
            c.borrow()
                .as_ref()
                .expect("smol-mt spawn outside the runtime")
                .spawn(f)
        })
    }
    fn spawn_remote<F>(&self, f: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.ex.spawn(f)
    }
    fn detach<T: Send + 'static>(j: Task<T>) {
        j.detach();
    }
    fn yield_now() -> impl Future<Output = ()> + Send {
        futures_lite::future::yield_now()
    }
    fn sleep(d: Duration) -> impl Future<Output = ()> + Send {
        smol_sleep(d)
    }
    fn timeout_ready(d: Duration) -> impl Future<Output = bool> + Send {
        smol_timeout_ready(d)
    }
    fn timeout_yield(d: Duration) -> impl Future<Output = bool> + Send {
        smol_timeout_yield(d)
    }
    fn serve_idle(
        l: std::net::TcpListener,
        started: Arc<crate::workloads::Latch>,
    ) -> impl Future<Output = ()> + Send {
        smol_serve_idle::<Self>(l, started)
    }
}

impl Drop for SmolMt {
    fn drop(&mut self) {
        drop(self.stop.take());
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// `smol-local`
pub struct SmolLocal;

impl Drop for SmolLocal {
    /// Runs what is left on this thread's executor (the futures of cancelled
    /// tasks are dropped by the executor, not by the cancelling handle), so
    /// the next user of the thread-local executor starts clean.
    fn drop(&mut self) {
        LOCAL.with(|ex| while ex.try_tick() {});
    }
}

impl Rt for SmolLocal {
    const NAME: &'static str = "smol-local";
    const REMOTE: bool = false;
    const PARALLEL: bool = false;
    type Join<T: Send + 'static> = Task<T>;

    fn build(_workers: usize) -> Self {
        SmolLocal
    }
    fn block_on<F: Future>(&self, f: F) -> F::Output {
        LOCAL.with(|ex| futures_lite::future::block_on(ex.run(f)))
    }
    fn spawn<F>(f: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        LOCAL.with(|ex| ex.spawn(f))
    }
    fn spawn_remote<F>(&self, _f: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        unreachable!("smol-local has no remote spawn (REMOTE = false)")
    }
    fn detach<T: Send + 'static>(j: Task<T>) {
        j.detach();
    }
    fn yield_now() -> impl Future<Output = ()> + Send {
        futures_lite::future::yield_now()
    }
    fn sleep(d: Duration) -> impl Future<Output = ()> + Send {
        smol_sleep(d)
    }
    fn timeout_ready(d: Duration) -> impl Future<Output = bool> + Send {
        smol_timeout_ready(d)
    }
    fn timeout_yield(d: Duration) -> impl Future<Output = bool> + Send {
        smol_timeout_yield(d)
    }
    fn serve_idle(
        l: std::net::TcpListener,
        started: Arc<crate::workloads::Latch>,
    ) -> impl Future<Output = ()> + Send {
        smol_serve_idle::<Self>(l, started)
    }
}
