//! `tempo::sync::Notify` (`src/sync/notify.rs`): the permit, FIFO
//! `notify_one`, `notify_waiters`, cancellation handing a notification on,
//! abort, and a ping-pong across workers.
#![cfg(not(any(feature = "loom", feature = "shuttle")))]

mod common;

use common::CountWaker;
use std::future::Future;
use std::sync::Arc;
use std::task::Context;
use std::time::Duration;
use tempo::sync::{Notified, Notify};
use tempo::time::timeout;

const LIMIT: Duration = Duration::from_secs(30);

#[test]
fn types_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Notify>();
    send_sync::<Notified<'static>>();
}

/// `notify_one` with nobody waiting stores one permit, not more.
#[test]
fn one_permit_stored() {
    let n = Notify::new();
    n.notify_one();
    n.notify_one();
    let (_c, w) = CountWaker::new();
    let mut cx = Context::from_waker(&w);
    assert!(Box::pin(n.notified()).as_mut().poll(&mut cx).is_ready());
    assert!(Box::pin(n.notified()).as_mut().poll(&mut cx).is_pending());
}

/// `notify_one` picks waiters in registration order; a picked future that
/// is dropped unpolled hands the notification to the next one.
#[test]
fn fifo_and_cancel_hands_on() {
    let n = Notify::new();
    let (ca, wa) = CountWaker::new();
    let (cb, wb) = CountWaker::new();
    let (cc, wc) = CountWaker::new();
    let mut a = Box::pin(n.notified());
    let mut b = Box::pin(n.notified());
    let mut c = Box::pin(n.notified());
    assert!(a.as_mut().poll(&mut Context::from_waker(&wa)).is_pending());
    assert!(b.as_mut().poll(&mut Context::from_waker(&wb)).is_pending());
    assert!(c.as_mut().poll(&mut Context::from_waker(&wc)).is_pending());
    n.notify_one();
    assert_eq!((ca.count(), cb.count(), cc.count()), (1, 0, 0));
    drop(a); // picked, never polled: b gets it
    assert_eq!(cb.count(), 1);
    assert!(b.as_mut().poll(&mut Context::from_waker(&wb)).is_ready());
    assert!(c.as_mut().poll(&mut Context::from_waker(&wc)).is_pending());
    drop(c); // not picked: hands nothing on, leaves no permit
    assert!(format!("{n:?}").contains("permit: false"));
}

/// `notify_waiters` wakes the futures registered (created) before it, not
/// later ones, and stores no permit; such a future dropped hands nothing on.
#[test]
fn notify_waiters_wakes_registered_only() {
    let n = Notify::new();
    let (c1, w1) = CountWaker::new();
    let (c3, w3) = CountWaker::new();
    let mut first = Box::pin(n.notified());
    assert!(first
        .as_mut()
        .poll(&mut Context::from_waker(&w1))
        .is_pending());
    let created_not_polled = n.notified();
    n.notify_waiters();
    assert_eq!(c1.count(), 1);
    let mut later = Box::pin(n.notified());
    assert!(later
        .as_mut()
        .poll(&mut Context::from_waker(&w3))
        .is_pending());
    drop(created_not_polled); // notified by notify_waiters: nothing on
    assert_eq!(c3.count(), 0);
    assert!(first
        .as_mut()
        .poll(&mut Context::from_waker(&w1))
        .is_ready());
    assert!(later
        .as_mut()
        .poll(&mut Context::from_waker(&w3))
        .is_pending());
}

/// A task waiting in `notified()` is aborted: the waiter behind it gets
/// the next `notify_one`.
#[test]
fn aborted_waiter_leaves_the_queue() {
    common::within(LIMIT, || {
        let rt = tempo::Runtime::builder().worker_threads(2).build().unwrap();
        rt.block_on(async {
            let n = Arc::new(Notify::new());
            let n1 = n.clone();
            let aborted = tempo::spawn(async move { n1.notified().await });
            tempo::time::sleep(Duration::from_millis(5)).await;
            let n2 = n.clone();
            let next = tempo::spawn(async move { n2.notified().await });
            tempo::time::sleep(Duration::from_millis(5)).await;
            aborted.abort();
            assert!(aborted.await.unwrap_err().is_cancelled());
            n.notify_one();
            timeout(Duration::from_secs(5), next)
                .await
                .expect("the notification was lost")
                .unwrap();
        });
    });
}

/// Two tasks on two workers take turns 1,000 times through two `Notify`s:
/// no notification lost (the permit covers a notify before the wait).
#[test]
fn ping_pong_across_workers() {
    common::within(LIMIT, || {
        let rt = tempo::Runtime::builder().worker_threads(2).build().unwrap();
        let (ping, pong) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
        let (p, q) = (ping.clone(), pong.clone());
        let other = rt.spawn(async move {
            for _ in 0..1000 {
                p.notified().await;
                q.notify_one();
            }
        });
        rt.block_on(async move {
            for _ in 0..1000 {
                ping.notify_one();
                pong.notified().await;
            }
            other.await.unwrap();
        });
    });
}
