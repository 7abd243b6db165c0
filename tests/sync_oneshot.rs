//! `tempo::sync::oneshot` (`src/sync/oneshot.rs`): send/receive across
//! workers, a sender or receiver dropped mid-wait, close, `Sender::closed`,
//! cancellation by abort.
#![cfg(not(any(feature = "loom", feature = "shuttle")))]

mod common;
use common::rt;

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::time::Duration;
use tempo::sync::oneshot::{self, Receiver, RecvError, Sender, TryRecvError};
use tempo::time::timeout;

const LIMIT: Duration = Duration::from_secs(30);

#[test]
fn types_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>(_: &T) {}
    send_sync::<Sender<Vec<u8>>>();
    send_sync::<Receiver<Vec<u8>>>();
    send_sync::<RecvError>();
    let (mut tx, _rx) = oneshot::channel::<u8>();
    send(&tx.closed());
    let e: Box<dyn std::error::Error + Send + Sync> = Box::new(TryRecvError::Empty);
    assert_eq!(e.to_string(), "oneshot empty");
}

/// 200 channels, each value sent from a task on one worker to a receiver
/// on another: each arrives once.
#[test]
fn send_across_workers() {
    common::within(LIMIT, || {
        let rt = rt(3);
        let sum = rt.block_on(async {
            let mut rxs = Vec::new();
            for i in 0..200u64 {
                let (tx, rx) = oneshot::channel();
                tempo::spawn(async move {
                    tempo::task::yield_now().await;
                    tx.send(i).unwrap();
                });
                rxs.push(tempo::spawn(rx));
            }
            let mut sum = 0;
            for r in rxs {
                sum += r.await.unwrap().unwrap();
            }
            sum
        });
        assert_eq!(sum, 199 * 200 / 2);
    });
}

/// The sender dropped while the receiver waits: the receiver wakes with
/// `RecvError`.
#[test]
fn sender_dropped_mid_wait() {
    common::within(LIMIT, || {
        let rt = rt(2);
        rt.block_on(async {
            let (tx, rx) = oneshot::channel::<u8>();
            let waiter = tempo::spawn(rx);
            tempo::time::sleep(Duration::from_millis(10)).await;
            drop(tx);
            let r = timeout(Duration::from_secs(5), waiter)
                .await
                .expect("receiver not woken by the sender's drop")
                .unwrap();
            let e = r.unwrap_err();
            assert_eq!(e.to_string(), "oneshot sender dropped without sending");
        });
    });
}

/// The receiver dropped (or its task aborted) while the sender waits in
/// `closed()`: the sender wakes, and `send` hands the value back.
#[test]
fn receiver_dropped_mid_wait() {
    common::within(LIMIT, || {
        let rt = rt(2);
        rt.block_on(async {
            let (mut tx, rx) = oneshot::channel::<String>();
            let holder = tempo::spawn(rx);
            let watcher = tempo::spawn(async move {
                tx.closed().await;
                tx.send("late".into())
            });
            tempo::time::sleep(Duration::from_millis(10)).await;
            holder.abort();
            assert!(holder.await.unwrap_err().is_cancelled());
            let r = timeout(Duration::from_secs(5), watcher)
                .await
                .expect("Sender::closed not woken by the receiver's drop")
                .unwrap();
            assert_eq!(r.unwrap_err(), "late");
        });
    });
}

/// A value sent but never received is dropped with the receiver, once.
#[test]
fn unreceived_value_dropped_once() {
    struct D(Arc<AtomicUsize>);
    impl Drop for D {
        fn drop(&mut self) {
            self.0.fetch_add(1, SeqCst);
        }
    }
    let drops = Arc::new(AtomicUsize::new(0));
    let (tx, rx) = oneshot::channel();
    assert!(tx.send(D(drops.clone())).is_ok());
    assert_eq!(drops.load(SeqCst), 0);
    drop(rx);
    assert_eq!(drops.load(SeqCst), 1);
}

#[test]
fn close_and_try_recv() {
    let (tx, mut rx) = oneshot::channel();
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    tx.send(1).unwrap();
    rx.close();
    assert_eq!(rx.try_recv(), Ok(1), "sent before close: still received");
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));

    let (tx, mut rx) = oneshot::channel();
    rx.close();
    assert!(tx.is_closed());
    assert_eq!(tx.send(2), Err(2));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));

    // Closed with the sender alive and nothing sent: the receiver resolves
    // (it never waits for a value that cannot come).
    let (tx, mut rx) = oneshot::channel::<u8>();
    rx.close();
    assert!(common::within(LIMIT, move || futures::executor::block_on(rx)).is_err());
    drop(tx);
}

/// A receiver dropped by a timeout before the send: `send` fails.
#[test]
fn timed_out_receiver() {
    common::within(LIMIT, || {
        let rt = rt(2);
        rt.block_on(async {
            let (tx, rx) = oneshot::channel::<u8>();
            assert!(timeout(Duration::from_millis(5), rx).await.is_err());
            assert!(tx.is_closed());
            assert_eq!(tx.send(1), Err(1));
        });
    });
}

/// Works on another executor.
#[test]
fn works_outside_tempo() {
    common::within(LIMIT, || {
        let (tx, rx) = oneshot::channel();
        let th = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(5));
            tx.send(9).unwrap();
        });
        assert_eq!(futures::executor::block_on(rx), Ok(9));
        th.join().unwrap();
    });
}
