//! The `tempo::sync::Semaphore` against a sequential model: generated
//! operation sequences (acquire, poll, cancel, release, forget, add, try,
//! close) drive the real semaphore through hand-polled futures, one thread,
//! and after each operation the model predicts every poll's outcome, the
//! available permits, and which waiting futures were woken.
//!
//! The model has no partial grants: its `free` counts the permits granted
//! in part to the head waiter as free (FIFO: the head takes them all, so
//! the real `available_permits` is 0 while an open semaphore has waiters).
//! A waiter is granted when `free` covers its whole request, in queue
//! order. On close the head's partial grant (all of `free`) freezes with it
//! and comes back when that waiter is polled or dropped.

use std::collections::{BTreeSet, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use proptest::collection::vec;
use proptest::prelude::*;
use tempo::sync::{AcquireOwned, OwnedSemaphorePermit, Semaphore, TryAcquireError};

/// One generated operation; indices pick among the live futures/permits
/// (modulo their count).
#[derive(Debug, Clone)]
pub enum SemOp {
    Acquire(usize),
    Poll(usize),
    Cancel(usize),
    Release(usize),
    Forget(usize),
    Add(usize),
    Try(usize),
    Close,
}

pub fn sem_op() -> BoxedStrategy<SemOp> {
    prop_oneof![
        4 => (0usize..=4).prop_map(SemOp::Acquire),
        3 => any::<usize>().prop_map(SemOp::Poll),
        2 => any::<usize>().prop_map(SemOp::Cancel),
        3 => any::<usize>().prop_map(SemOp::Release),
        1 => any::<usize>().prop_map(SemOp::Forget),
        2 => (0usize..=3).prop_map(SemOp::Add),
        2 => (0usize..=3).prop_map(SemOp::Try),
        1 => Just(SemOp::Close),
    ]
    .boxed()
}

pub fn sem_case() -> impl Strategy<Value = (usize, Vec<SemOp>)> {
    (0usize..=4, vec(sem_op(), 1..60))
}

struct Count(AtomicUsize);
impl Wake for Count {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, SeqCst);
    }
}

/// A real pending acquire: its future, its ticket in the model, and the
/// counter of the waker of its latest poll.
struct Pending {
    id: u64,
    n: usize,
    fut: Pin<Box<AcquireOwned>>,
    woken: Arc<Count>,
}

impl Pending {
    fn poll(&mut self) -> Poll<Result<OwnedSemaphorePermit, ()>> {
        self.woken = Arc::new(Count(AtomicUsize::new(0)));
        let w = Waker::from(self.woken.clone());
        self.fut
            .as_mut()
            .poll(&mut Context::from_waker(&w))
            .map(|r| r.map_err(|_| ()))
    }
}

#[derive(Default)]
struct Model {
    free: usize,
    closed: bool,
    queue: VecDeque<(u64, usize)>,
    granted: BTreeSet<u64>,
    /// The head's partial grant frozen by close: (ticket, permits).
    frozen: Option<(u64, usize)>,
    next: u64,
}

impl Model {
    fn grant(&mut self) {
        if self.closed {
            return;
        }
        while let Some(&(id, n)) = self.queue.front() {
            if self.free < n {
                break;
            }
            self.free -= n;
            self.granted.insert(id);
            self.queue.pop_front();
        }
    }

    fn available(&self) -> usize {
        if !self.closed && !self.queue.is_empty() {
            0
        } else {
            self.free
        }
    }

    /// A waiter leaves (its future completed after close, or was dropped):
    /// what it held comes back. Returns whether it was granted in full.
    fn leave(&mut self, id: u64, n: usize) -> bool {
        let was_granted = self.granted.remove(&id);
        if was_granted {
            self.free += n;
        }
        self.queue.retain(|&(q, _)| q != id);
        if let Some((f, amount)) = self.frozen {
            if f == id {
                self.free += amount;
                self.frozen = None;
            }
        }
        was_granted
    }
}

/// Runs one case; `Err` describes the first divergence.
pub fn run_semaphore(initial: usize, ops: Vec<SemOp>) -> Result<(), String> {
    let sem = Arc::new(Semaphore::new(initial));
    let mut m = Model {
        free: initial,
        ..Model::default()
    };
    let mut pending: Vec<Pending> = Vec::new();
    let mut held: Vec<OwnedSemaphorePermit> = Vec::new();
    let (mut added, mut forgotten) = (0, 0);
    for (step, op) in ops.iter().enumerate() {
        let at = |what: String| format!("step {step} ({op:?}): {what}");
        match *op {
            SemOp::Acquire(n) => {
                let id = m.next;
                m.next += 1;
                let mut p = Pending {
                    id,
                    n,
                    fut: Box::pin(sem.clone().acquire_owned(n)),
                    woken: Arc::new(Count(AtomicUsize::new(0))),
                };
                let expect = if m.closed {
                    Some(false)
                } else if n == 0 || (m.queue.is_empty() && m.free >= n) {
                    m.free -= n;
                    Some(true)
                } else {
                    m.queue.push_back((id, n));
                    None
                };
                match (p.poll(), expect) {
                    (Poll::Ready(Ok(permit)), Some(true)) => held.push(permit),
                    (Poll::Ready(Err(())), Some(false)) => {}
                    (Poll::Pending, None) => pending.push(p),
                    (got, want) => {
                        return Err(at(format!("first poll {:?}, model {want:?}", show(&got))))
                    }
                }
            }
            SemOp::Poll(i) if !pending.is_empty() => {
                let i = i % pending.len();
                let (id, n) = (pending[i].id, pending[i].n);
                let expect = if m.closed {
                    m.leave(id, n);
                    Some(false)
                } else if m.granted.remove(&id) {
                    Some(true)
                } else {
                    None
                };
                let got = pending[i].poll();
                match (got, expect) {
                    (Poll::Ready(Ok(permit)), Some(true)) => {
                        held.push(permit);
                        pending.remove(i);
                    }
                    (Poll::Ready(Err(())), Some(false)) => {
                        pending.remove(i);
                    }
                    (Poll::Pending, None) => {}
                    (got, want) => {
                        return Err(at(format!("poll {:?}, model {want:?}", show(&got))))
                    }
                }
            }
            SemOp::Cancel(i) if !pending.is_empty() => {
                let p = pending.remove(i % pending.len());
                m.leave(p.id, p.n);
                m.grant();
                drop(p);
            }
            SemOp::Release(i) if !held.is_empty() => {
                let p = held.remove(i % held.len());
                m.free += p.num_permits();
                m.grant();
                drop(p);
            }
            SemOp::Forget(i) if !held.is_empty() => {
                let p = held.remove(i % held.len());
                forgotten += p.num_permits();
                p.forget();
            }
            SemOp::Add(k) => {
                m.free += k;
                m.grant();
                added += k;
                sem.add_permits(k);
            }
            SemOp::Try(n) => {
                let expect = if m.closed {
                    Err(TryAcquireError::Closed)
                } else if n == 0 || (m.queue.is_empty() && m.free >= n) {
                    m.free -= n;
                    Ok(())
                } else {
                    Err(TryAcquireError::NoPermits)
                };
                match sem.clone().try_acquire_owned(n) {
                    Ok(p) if expect.is_ok() => held.push(p),
                    Err(e) if expect == Err(e) => {}
                    got => {
                        return Err(at(format!(
                            "try_acquire {:?}, model {expect:?}",
                            got.map(|p| p.num_permits())
                        )))
                    }
                }
            }
            SemOp::Close => {
                if !m.closed {
                    m.closed = true;
                    if let Some(&(id, _)) = m.queue.front() {
                        m.frozen = Some((id, m.free));
                        m.free = 0;
                    }
                }
                sem.close();
            }
            // An index into an empty list: nothing to do.
            _ => {}
        }
        if sem.available_permits() != m.available() {
            return Err(at(format!(
                "available_permits {} but the model says {}",
                sem.available_permits(),
                m.available()
            )));
        }
        for p in &pending {
            let should = m.closed || m.granted.contains(&p.id);
            let woken = p.woken.0.load(SeqCst) > 0;
            if should != woken {
                return Err(at(format!(
                    "ticket {} (n = {}) woken: {woken}, model: {should}",
                    p.id, p.n
                )));
            }
        }
    }
    // Conservation: cancel every pending acquire, release every permit:
    // everything not forgotten comes back.
    drop(pending);
    drop(held);
    let total = initial + added - forgotten;
    if sem.available_permits() != total {
        return Err(format!(
            "at the end {} permits, expected {total} (initial {initial} + added {added} - forgotten {forgotten})",
            sem.available_permits()
        ));
    }
    Ok(())
}

fn show(p: &Poll<Result<OwnedSemaphorePermit, ()>>) -> &'static str {
    match p {
        Poll::Ready(Ok(_)) => "Ready(Ok)",
        Poll::Ready(Err(())) => "Ready(Err)",
        Poll::Pending => "Pending",
    }
}
