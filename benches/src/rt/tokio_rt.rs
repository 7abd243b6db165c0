//! tokio, multi-thread (`tokio-mt`) and current-thread (`tokio-ct`).

use super::Rt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// A tokio join handle that unwraps the task's result.
pub struct Join<T>(tokio::task::JoinHandle<T>);

impl<T> Future for Join<T> {
    type Output = T;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        Pin::new(&mut self.get_mut().0)
            .poll(cx)
            .map(|r| r.expect("tokio task failed"))
    }
}

macro_rules! tokio_rt {
    ($ty:ident, $name:literal, $parallel:literal, $build:expr) => {
        #[doc = concat!("`", $name, "`")]
        pub struct $ty(tokio::runtime::Runtime);

        impl Rt for $ty {
            const NAME: &'static str = $name;
            const PARALLEL: bool = $parallel;
            type Join<T: Send + 'static> = Join<T>;

            fn build(workers: usize) -> Self {
                let b: fn(usize) -> tokio::runtime::Runtime = $build;
                $ty(b(workers))
            }
            fn block_on<F: Future>(&self, f: F) -> F::Output {
                self.0.block_on(f)
            }
            fn spawn<F>(f: F) -> Join<F::Output>
            where
                F: Future + Send + 'static,
                F::Output: Send + 'static,
            {
                Join(tokio::spawn(f))
            }
            fn spawn_remote<F>(&self, f: F) -> Join<F::Output>
            where
                F: Future + Send + 'static,
                F::Output: Send + 'static,
            {
                Join(self.0.spawn(f))
            }
            fn yield_now() -> impl Future<Output = ()> + Send {
                tokio::task::yield_now()
            }
            fn sleep(d: Duration) -> impl Future<Output = ()> + Send {
                tokio::time::sleep(d)
            }
            fn timeout_ready(d: Duration) -> impl Future<Output = bool> + Send {
                async move {
                    tokio::time::timeout(d, std::future::ready(()))
                        .await
                        .is_ok()
                }
            }
            fn timeout_yield(d: Duration) -> impl Future<Output = bool> + Send {
                async move {
                    tokio::time::timeout(d, tokio::task::yield_now())
                        .await
                        .is_ok()
                }
            }
            fn serve_idle(
                l: std::net::TcpListener,
                started: std::sync::Arc<crate::workloads::Latch>,
            ) -> impl Future<Output = ()> + Send {
                async move {
                    use tokio::io::AsyncReadExt;
                    l.set_nonblocking(true).expect("nonblocking");
                    let l = tokio::net::TcpListener::from_std(l).expect("from_std");
                    loop {
                        let (mut s, _) = l.accept().await.expect("accept");
                        let started = started.clone();
                        drop(tokio::spawn(async move {
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
            }
        }
    };
}

tokio_rt!(TokioMt, "tokio-mt", true, |w| {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(w)
        .enable_all()
        .build()
        .expect("tokio runtime")
});
tokio_rt!(TokioCt, "tokio-ct", false, |_| {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
});
