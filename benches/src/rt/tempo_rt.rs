//! tempo, multi-thread (`tempo-mt`) and caller-driven (`tempo-ct`).

use super::Rt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// A tempo join handle that unwraps the task's result.
pub struct Join<T>(tempo::JoinHandle<T>);

impl<T> Future for Join<T> {
    type Output = T;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        Pin::new(&mut self.get_mut().0)
            .poll(cx)
            .map(|r| r.expect("tempo task failed"))
    }
}

macro_rules! tempo_rt {
    ($ty:ident, $name:literal, $workers:expr, $parallel:literal) => {
        #[doc = concat!("`", $name, "`")]
        pub struct $ty(tempo::Runtime);

        impl Rt for $ty {
            const NAME: &'static str = $name;
            const PARALLEL: bool = $parallel;
            type Join<T: Send + 'static> = Join<T>;

            fn build(workers: usize) -> Self {
                let w: fn(usize) -> usize = $workers;
                $ty(tempo::Runtime::builder()
                    .worker_threads(w(workers))
                    .build()
                    .expect("tempo runtime"))
            }
            fn block_on<F: Future>(&self, f: F) -> F::Output {
                self.0.block_on(f)
            }
            fn spawn<F>(f: F) -> Join<F::Output>
            where
                F: Future + Send + 'static,
                F::Output: Send + 'static,
            {
                Join(tempo::spawn(f))
            }
            fn spawn_remote<F>(&self, f: F) -> Join<F::Output>
            where
                F: Future + Send + 'static,
                F::Output: Send + 'static,
            {
                Join(self.0.spawn(f))
            }
            fn yield_now() -> impl Future<Output = ()> + Send {
                tempo::task::yield_now()
            }
            fn sleep(d: Duration) -> impl Future<Output = ()> + Send {
                tempo::time::sleep(d)
            }
            fn timeout_ready(d: Duration) -> impl Future<Output = bool> + Send {
                async move {
                    tempo::time::timeout(d, std::future::ready(()))
                        .await
                        .is_ok()
                }
            }
            fn timeout_yield(d: Duration) -> impl Future<Output = bool> + Send {
                async move {
                    tempo::time::timeout(d, tempo::task::yield_now())
                        .await
                        .is_ok()
                }
            }
            fn serve_idle(
                l: std::net::TcpListener,
                started: std::sync::Arc<crate::workloads::Latch>,
            ) -> impl Future<Output = ()> + Send {
                async move {
                    use futures::AsyncReadExt;
                    let l = tempo::net::TcpListener::from_std(l).expect("from_std");
                    loop {
                        let (mut s, _) = l.accept().await.expect("accept");
                        let started = started.clone();
                        drop(tempo::spawn(async move {
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

tempo_rt!(TempoMt, "tempo-mt", |w| w, true);
tempo_rt!(TempoCt, "tempo-ct", |_| 0, false);
