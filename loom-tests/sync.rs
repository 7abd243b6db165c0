//! loom models of `tempo::sync` (`src/sync/`): the primitives keep their
//! state under the shim's `Mutex`, so loom explores every interleaving of
//! their lock sections, of the semaphore's permit word (acquires and
//! releases that find nobody waiting take and give permits without the
//! lock: a `Mutex` taken and released that way is ordered by that word
//! alone, which `mutex_exclusion_vs_cancel`'s `UnsafeCell` checks see), and
//! of its gate word (a queued
//! acquire's poll reads it without the lock: a `Mutex` hand-over's
//! happens-before edge runs through it, which `mutex_exclusion_vs_cancel`'s
//! `UnsafeCell` checks see). They are runtime-agnostic, so the models drive them
//! with a parking `block_on` on plain model threads (no runtime:
//! small state spaces). A lost wakeup is a loom deadlock; a lost or leaked
//! permit, message or value a failed assertion.

use super::{model_with_bound, DropCount};
use loom::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use tempo::sync::{mpsc, oneshot, Mutex, Notify, Semaphore};

/// The sync models are small (only lock sections are yield points): bound 3.
fn model(f: impl Fn() + Sync + Send + 'static) {
    model_with_bound(3, f)
}

/// Polls `f` once with a no-op waker.
fn poll_once<F: Future + Unpin>(f: &mut F) -> Poll<F::Output> {
    let mut cx = Context::from_waker(futures::task::noop_waker_ref());
    Pin::new(f).poll(&mut cx)
}

/// Polls an acquire once (dropping the permits if it completed) and then
/// drops it: a cancel, if it was still waiting.
fn poll_then_cancel<F, P, E>(mut a: F)
where
    F: Future<Output = Result<P, E>> + Unpin,
    E: std::fmt::Debug,
{
    if let Poll::Ready(r) = poll_once(&mut a) {
        drop(r.unwrap());
    }
    drop(a);
}

/// Unparks the model thread that polled.
struct Unpark(loom::thread::Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

/// Runs `f` to completion on this model thread, parking between polls
/// (loom's own `block_on` needs its `futures` feature and `pin-utils`). A
/// lost wake leaves the thread parked for good: a loom deadlock.
fn block_on<F: Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let waker = Waker::from(Arc::new(Unpark(loom::thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        loom::thread::park();
    }
}

/// A permit released on one thread, an acquire polled once and then
/// cancelled (dropped) on another, and the main thread waiting in
/// `acquire`: the main thread always gets the permit (a grant made to the
/// cancelled waiter is handed on, and its wake is not lost), and the
/// permit is back at the end.
#[test]
fn semaphore_release_vs_cancel() {
    model(|| release_vs_cancel(false));
}

/// The hand-over without the lock (`src/sync/semaphore/gate.rs`): a
/// waiter queued first is re-polled on one thread (the poll may find its
/// ticket served by one `Acquire` load, or miss the grant and go on under
/// the lock) and then dropped, while another thread releases the permit
/// that serves it; the main thread waits behind it. A grant the poll
/// collected is given back by the permit's drop, one it missed is handed
/// on by the cancel: the main thread always gets the permit, and the
/// permit is back at the end.
#[test]
fn semaphore_lockfree_grant_vs_cancel() {
    model(|| release_vs_cancel(true));
}

/// The two models above: one thread drops the only permit while another
/// polls an acquire once and drops it (`queued_first`: that acquire was
/// queued before the threads start, ahead of the main thread's), and the
/// main thread waits in `acquire`.
fn release_vs_cancel(queued_first: bool) {
    let sem = Arc::new(Semaphore::new(1));
    let p = sem.clone().try_acquire_owned(1).unwrap();
    let mut a = sem.clone().acquire_owned(1);
    if queued_first {
        assert!(poll_once(&mut a).is_pending(), "queued first");
    }
    let t1 = loom::thread::spawn(move || drop(p));
    let t2 = loom::thread::spawn(move || poll_then_cancel(a));
    let got = block_on(sem.acquire(1)).unwrap();
    drop(got);
    t1.join().unwrap();
    t2.join().unwrap();
    assert_eq!(sem.available_permits(), 1, "a permit was lost or leaked");
}

/// The permit word (`src/sync/semaphore/permits.rs`): two permits given
/// back on two threads by lock-free releases while the main thread's
/// acquire of both finds them short (without the lock, then under it) and
/// queues, setting `WAITERS` with a partial grant of what is free. Each
/// release either lands in the count before the queueing compare-and-swap
/// (which takes it) or sees `WAITERS` and grants under the lock
/// (`permits.rs` invariant 3): the main thread always gets both (a lost
/// wake is a loom deadlock), and both are back at the end.
#[test]
fn semaphore_lockfree_release_vs_queue() {
    model(|| {
        let sem = Arc::new(Semaphore::new(2));
        let p1 = sem.clone().try_acquire_owned(1).unwrap();
        let p2 = sem.clone().try_acquire_owned(1).unwrap();
        let t1 = loom::thread::spawn(move || drop(p1));
        let t2 = loom::thread::spawn(move || drop(p2));
        let got = block_on(sem.acquire(2)).unwrap();
        assert_eq!(got.num_permits(), 2);
        drop(got);
        t1.join().unwrap();
        t2.join().unwrap();
        assert_eq!(sem.available_permits(), 2, "a permit was lost or leaked");
    });
}

/// Partial grants: the semaphore has 1 of the 2 permits a cancelled head
/// waiter and the main thread each need; the second arrives from another
/// thread. Whatever the head was granted reaches the main thread.
#[test]
fn semaphore_partial_grant_vs_cancel() {
    model(|| {
        let sem = Arc::new(Semaphore::new(1));
        let s = sem.clone();
        let t1 = loom::thread::spawn(move || s.add_permits(1));
        let s = sem.clone();
        let t2 = loom::thread::spawn(move || poll_then_cancel(s.acquire(2)));
        let got = block_on(sem.acquire(2)).unwrap();
        assert_eq!(got.num_permits(), 2);
        drop(got);
        t1.join().unwrap();
        t2.join().unwrap();
        assert_eq!(sem.available_permits(), 2);
    });
}

/// `close` racing a waiting acquire and a release: the waiter finishes
/// (granted or failed, never hung), and every permit is accounted for.
#[test]
fn semaphore_close_vs_acquire() {
    model(|| {
        let sem = Arc::new(Semaphore::new(0));
        let s = sem.clone();
        let t1 = loom::thread::spawn(move || s.close());
        let s = sem.clone();
        let t2 = loom::thread::spawn(move || s.add_permits(1));
        if let Ok(p) = block_on(sem.acquire(1)) {
            drop(p);
        }
        t1.join().unwrap();
        t2.join().unwrap();
        assert_eq!(sem.available_permits(), 1);
        assert!(sem.try_acquire(1).is_err(), "closed");
    });
}

/// Two threads lock a `Mutex` and increment through the guard while a
/// third's `lock` future is polled once and dropped: no update is lost, the
/// cancelled lock hands the lock on, and loom's `UnsafeCell` tracking sees
/// a happens-before edge between the guards' accesses.
#[test]
fn mutex_exclusion_vs_cancel() {
    model(|| {
        let m = Arc::new(Mutex::new(0u32));
        let m1 = m.clone();
        let t1 = loom::thread::spawn(move || *block_on(m1.lock()) += 1);
        let m2 = m.clone();
        let t2 = loom::thread::spawn(move || {
            let mut l = Box::pin(m2.lock());
            if let Poll::Ready(mut g) = poll_once(&mut l) {
                *g += 10;
            }
        });
        *block_on(m.lock()) += 1;
        t1.join().unwrap();
        t2.join().unwrap();
        let v = *m.try_lock().expect("the mutex is free at the end");
        assert!(v == 2 || v == 12, "{v}");
    });
}

/// A `Mutex` handed over to a waiter that polls without being woken (a
/// spurious or racing poll; here a spin with a no-op waker): the poll
/// collects the grant through the semaphore's gate word alone
/// (`src/sync/semaphore/gate.rs`), so that word's Release/Acquire pair is
/// all that orders the previous holder's write before the new holder's
/// read (a woken waiter is ordered by park/unpark as well, which hid a
/// Relaxed gate from `mutex_exclusion_vs_cancel`). loom's `UnsafeCell`
/// tracking checks the edge.
#[test]
fn mutex_handover_to_an_unwoken_poll() {
    model(|| {
        let m = Arc::new(Mutex::new(0u32));
        let mut g = m.try_lock().unwrap();
        let m2 = m.clone();
        let t = loom::thread::spawn(move || {
            let mut l = Box::pin(m2.lock());
            loop {
                if let Poll::Ready(g) = poll_once(&mut l) {
                    break *g;
                }
                loom::thread::yield_now();
            }
        });
        *g = 7;
        drop(g);
        assert_eq!(t.join().unwrap(), 7);
    });
}

/// A bounded channel of capacity 1: a sender sends 2 values (the second
/// waits for room) while the receiver takes one, closes and drains. Every
/// value the sender saw accepted is received once, in order; every refused
/// one came back.
#[test]
fn mpsc_send_vs_recv_vs_close() {
    model(|| {
        let (tx, mut rx) = mpsc::channel::<u32>(1);
        let t = loom::thread::spawn(move || {
            let mut accepted = Vec::new();
            for v in 1..=2 {
                match block_on(tx.send(v)) {
                    Ok(()) => accepted.push(v),
                    Err(e) => assert_eq!(e.0, v),
                }
            }
            accepted
        });
        let mut got = Vec::new();
        got.extend(block_on(rx.recv()));
        rx.close();
        while let Some(v) = block_on(rx.recv()) {
            got.push(v);
        }
        let accepted = t.join().unwrap();
        assert_eq!(got, accepted);
    });
}

/// The last sender dropped while the receiver waits: `recv` wakes with
/// `None` after the queued value.
#[test]
fn mpsc_last_sender_drop_vs_recv() {
    model(|| {
        let (tx, mut rx) = mpsc::channel::<u32>(1);
        let tx2 = tx.clone();
        let t1 = loom::thread::spawn(move || {
            tx.try_send(1).unwrap();
        });
        let t2 = loom::thread::spawn(move || drop(tx2));
        assert_eq!(block_on(rx.recv()), Some(1));
        assert_eq!(block_on(rx.recv()), None);
        t1.join().unwrap();
        t2.join().unwrap();
    });
}

/// `send` racing the receiver's drop: the value is dropped exactly once
/// (by the receiver's drop, or handed back to the sender).
#[test]
fn oneshot_send_vs_drop_receiver() {
    model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = oneshot::channel();
        let d = DropCount(drops.clone());
        let t = loom::thread::spawn(move || {
            let _ = tx.send(d);
        });
        drop(rx);
        t.join().unwrap();
        assert_eq!(drops.load(SeqCst), 1);
    });
}

/// `send` (or the sender's drop) racing the waiting receiver, and
/// `Sender::closed` racing the receiver's drop: nobody hangs.
#[test]
fn oneshot_send_or_drop_vs_recv() {
    model(|| {
        let (tx, rx) = oneshot::channel::<u32>();
        let (tx2, rx2) = oneshot::channel::<u32>();
        let t = loom::thread::spawn(move || {
            tx.send(7).unwrap();
            drop(tx2);
        });
        assert_eq!(block_on(rx), Ok(7));
        assert!(block_on(rx2).is_err());
        t.join().unwrap();

        let (mut tx, rx) = oneshot::channel::<u32>();
        let t = loom::thread::spawn(move || drop(rx));
        block_on(tx.closed());
        assert!(tx.is_closed());
        t.join().unwrap();
    });
}

/// `notify_one` from another thread racing a `notified()` future that is
/// registered and dropped unpolled on a third: the main thread's waiter, behind
/// it, always completes (the notification is handed on, or it was the
/// permit and the main thread took it).
#[test]
fn notify_one_vs_cancel() {
    model(|| {
        let n = Arc::new(Notify::new());
        let n1 = n.clone();
        let t1 = loom::thread::spawn(move || n1.notify_one());
        let n2 = n.clone();
        // Registers (or takes the permit) and drops: never consumes.
        let t2 = loom::thread::spawn(move || drop(n2.notified()));
        block_on(n.notified());
        t1.join().unwrap();
        t2.join().unwrap();
    });
}
