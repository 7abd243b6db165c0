//! The trivial scheduler: one `Mutex<VecDeque>` of runnable tasks and a
//! `Condvar`, run by `w` threads (serverbox's benchmark twin). Tasks are
//! `async-task` cells; a wake pushes the task and notifies one thread. It
//! has no timers and no sockets.

use super::Rt;
use async_task::{Runnable, Task};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

#[derive(Default)]
struct State {
    q: VecDeque<Runnable>,
    stop: bool,
}

#[derive(Default)]
struct Queue {
    m: Mutex<State>,
    cv: Condvar,
}

impl Queue {
    fn push(&self, r: Runnable) {
        self.m.lock().unwrap().q.push_back(r);
        self.cv.notify_one();
    }

    fn work(&self) {
        loop {
            let r = {
                let mut g = self.m.lock().unwrap();
                loop {
                    if g.stop {
                        return;
                    }
                    if let Some(r) = g.q.pop_front() {
                        break r;
                    }
                    g = self.cv.wait(g).unwrap();
                }
            };
            r.run();
        }
    }

    fn spawn<F>(self: &Arc<Self>, f: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let q = self.clone();
        let (r, t) = async_task::spawn(f, move |r| q.push(r));
        r.schedule();
        t
    }
}

thread_local! {
    static CURRENT: RefCell<Option<Arc<Queue>>> = const { RefCell::new(None) };
}

/// `twin`
pub struct Twin {
    q: Arc<Queue>,
    threads: Vec<JoinHandle<()>>,
}

impl Rt for Twin {
    const NAME: &'static str = "twin";
    const TIMERS: bool = false;
    const NET: bool = false;
    type Join<T: Send + 'static> = Task<T>;

    fn build(workers: usize) -> Self {
        let q = Arc::new(Queue::default());
        let threads = (0..workers.max(1))
            .map(|i| {
                let q = q.clone();
                std::thread::Builder::new()
                    .name(format!("twin-{i}"))
                    .spawn(move || {
                        CURRENT.with(|c| *c.borrow_mut() = Some(q.clone()));
                        q.work();
                        CURRENT.with(|c| *c.borrow_mut() = None);
                    })
                    .expect("twin worker thread")
            })
            .collect();
        Twin { q, threads }
    }
    fn block_on<F: Future>(&self, f: F) -> F::Output {
        let prev = CURRENT.with(|c| c.borrow_mut().replace(self.q.clone()));
        let out = futures_lite::future::block_on(f);
        CURRENT.with(|c| *c.borrow_mut() = prev);
        out
    }
    fn spawn<F>(f: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        CURRENT.with(|c| {
            c.borrow()
                .as_ref()
                .expect("twin spawn outside the runtime")
                .spawn(f)
        })
    }
    fn spawn_remote<F>(&self, f: F) -> Task<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.q.spawn(f)
    }
    fn detach<T: Send + 'static>(j: Task<T>) {
        j.detach();
    }
    fn yield_now() -> impl Future<Output = ()> + Send {
        futures_lite::future::yield_now()
    }
    async fn sleep(_d: Duration) {
        unreachable!("twin has no timers (TIMERS = false)")
    }
    async fn timeout_ready(_d: Duration) -> bool {
        unreachable!("twin has no timers (TIMERS = false)")
    }
    async fn timeout_yield(_d: Duration) -> bool {
        unreachable!("twin has no timers (TIMERS = false)")
    }
    async fn serve_idle(_l: std::net::TcpListener, _started: Arc<crate::workloads::Latch>) {
        unreachable!("twin has no sockets (NET = false)")
    }
}

impl Drop for Twin {
    fn drop(&mut self) {
        let left = {
            let mut g = self.q.m.lock().unwrap();
            g.stop = true;
            std::mem::take(&mut g.q)
        };
        self.q.cv.notify_all();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        drop(left); // cancels tasks still queued (breaks Arc cycles)
    }
}
