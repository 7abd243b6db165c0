//! `tempo::sync::mpsc` (`src/sync/mpsc.rs`): bounded and unbounded
//! channels across workers, FIFO per sender, back-pressure, close and drop
//! semantics, cancellation. Randomised tests print their seed;
//! `TEMPO_TEST_SEED=<n>` replays.
#![cfg(not(any(feature = "loom", feature = "shuttle")))]

mod common;

use common::{rt, CountWaker, Rng};
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tempo::sync::mpsc::{
    self, Receiver, SendError, Sender, TryRecvError, TrySendError, UnboundedSender,
};
use tempo::time::timeout;

const LIMIT: Duration = Duration::from_secs(30);

#[test]
fn types_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>(_: &T) {}
    send_sync::<Sender<Vec<u8>>>();
    send_sync::<UnboundedSender<Vec<u8>>>();
    send_sync::<Receiver<Vec<u8>>>();
    send_sync::<SendError<u8>>();
    let (tx, mut rx) = mpsc::channel::<u8>(1);
    send(&tx.send(1));
    send(&rx.recv());
    let e: Box<dyn std::error::Error + Send + Sync> = Box::new(TrySendError::Full(1u8));
    assert_eq!(e.to_string(), "channel full");
}

/// 4 producers × 500 messages through a channel of capacity 3 on three
/// workers: every message arrives once, in order per producer.
#[test]
fn bounded_many_producers_fifo_per_sender() {
    common::within(LIMIT, || {
        let rt = rt(3);
        let (tx, mut rx) = mpsc::channel::<(usize, usize)>(3);
        for p in 0..4 {
            let tx = tx.clone();
            rt.spawn(async move {
                for i in 0..500 {
                    tx.send((p, i)).await.unwrap();
                }
            });
        }
        drop(tx);
        let next = rt.block_on(async move {
            let mut next = [0usize; 4];
            while let Some((p, i)) = rx.recv().await {
                assert_eq!(i, next[p], "producer {p}: out of order or duplicated");
                next[p] += 1;
            }
            next
        });
        assert_eq!(next, [500; 4], "a message was lost");
    });
}

/// A full channel makes `send` wait and `try_send` fail with `Full`,
/// handing the value back; a receive makes room.
#[test]
fn back_pressure() {
    let (tx, mut rx) = mpsc::channel(2);
    tx.try_send(1).unwrap();
    tx.try_send(2).unwrap();
    assert_eq!(tx.capacity(), 0);
    assert_eq!(tx.try_send(3), Err(TrySendError::Full(3)));
    let (c, w) = CountWaker::new();
    let mut cx = Context::from_waker(&w);
    let mut send = Box::pin(tx.send(3));
    assert!(send.as_mut().poll(&mut cx).is_pending());
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(c.count(), 1, "the waiting sender got the slot");
    assert_eq!(
        tx.try_send(4).unwrap_err().into_inner(),
        4,
        "try_send does not overtake a waiting sender"
    );
    assert!(matches!(send.as_mut().poll(&mut cx), Poll::Ready(Ok(()))));
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(rx.try_recv(), Ok(3));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
}

/// `recv` returns `None` once every sender is gone and the queue drained;
/// a receiver waiting when the last sender drops wakes.
#[test]
fn recv_none_after_last_sender() {
    common::within(LIMIT, || {
        let rt = rt(2);
        rt.block_on(async {
            let (tx, mut rx) = mpsc::channel::<u8>(4);
            let tx2 = tx.clone();
            tx.send(7).await.unwrap();
            drop(tx);
            let waiter = tempo::spawn(async move {
                let a = rx.recv().await;
                let b = rx.recv().await; // waits for tx2's drop
                (a, b, rx.try_recv())
            });
            tempo::time::sleep(Duration::from_millis(10)).await;
            drop(tx2);
            let (a, b, c) = timeout(Duration::from_secs(5), waiter)
                .await
                .expect("receiver not woken by the last sender's drop")
                .unwrap();
            assert_eq!((a, b, c), (Some(7), None, Err(TryRecvError::Disconnected)));
        });
    });
}

/// Dropping the receiver fails sends (returning the value), wakes senders
/// waiting for room, and drops the queued messages.
#[test]
fn receiver_dropped_mid_wait() {
    common::within(LIMIT, || {
        let rt = rt(2);
        rt.block_on(async {
            let drops = Arc::new(AtomicUsize::new(0));
            struct D(Arc<AtomicUsize>);
            impl Drop for D {
                fn drop(&mut self) {
                    self.0.fetch_add(1, SeqCst);
                }
            }
            let (tx, rx) = mpsc::channel(1);
            tx.send(D(drops.clone())).await.unwrap();
            let tx2 = tx.clone();
            let d = drops.clone();
            let blocked = tempo::spawn(async move {
                match tx2.send(D(d)).await {
                    Err(SendError(v)) => {
                        drop(v);
                        true
                    }
                    Ok(()) => false,
                }
            });
            tempo::time::sleep(Duration::from_millis(10)).await;
            assert!(!tx.is_closed());
            drop(rx);
            assert!(tx.is_closed());
            let failed = timeout(Duration::from_secs(5), blocked)
                .await
                .expect("a sender waiting for room hung after the receiver dropped")
                .unwrap();
            assert!(failed, "the send failed and handed its value back");
            assert_eq!(
                drops.load(SeqCst),
                2,
                "queued message and returned one dropped"
            );
            assert!(matches!(
                tx.try_send(D(drops.clone())),
                Err(TrySendError::Closed(_))
            ));
        });
    });
}

/// `close`: later and waiting sends fail; the queue still drains; then None.
#[test]
fn close_then_drain() {
    common::within(LIMIT, || {
        let rt = rt(2);
        rt.block_on(async {
            let (tx, mut rx) = mpsc::channel(1);
            tx.send(1).await.unwrap();
            let tx2 = tx.clone();
            let waiting = tempo::spawn(async move { tx2.send(2).await });
            tempo::time::sleep(Duration::from_millis(10)).await;
            rx.close();
            assert_eq!(waiting.await.unwrap().unwrap_err().0, 2);
            assert_eq!(tx.send(3).await.unwrap_err().0, 3);
            assert_eq!(rx.recv().await, Some(1));
            assert_eq!(rx.recv().await, None);
        });
    });
}

/// A sender aborted while waiting for room leaves the queue: the next
/// sender gets the slot; no slot is lost.
#[test]
fn aborted_sender_frees_its_place() {
    common::within(LIMIT, || {
        let rt = rt(2);
        rt.block_on(async {
            let (tx, mut rx) = mpsc::channel(1);
            tx.send(0).await.unwrap();
            let t = tx.clone();
            let aborted = tempo::spawn(async move { t.send(1).await });
            tempo::time::sleep(Duration::from_millis(5)).await;
            let t = tx.clone();
            let next = tempo::spawn(async move { t.send(2).await });
            tempo::time::sleep(Duration::from_millis(5)).await;
            aborted.abort();
            assert!(aborted.await.unwrap_err().is_cancelled());
            assert_eq!(rx.recv().await, Some(0));
            timeout(Duration::from_secs(5), next)
                .await
                .unwrap()
                .unwrap()
                .unwrap();
            assert_eq!(rx.recv().await, Some(2));
            assert_eq!(tx.capacity(), 1);
        });
    });
}

/// Random producers with random capacities, some sends cancelled by short
/// timeouts: what arrives is exactly what was reported sent, in order per
/// producer.
#[test]
fn random_cancelled_sends_lose_or_duplicate_nothing() {
    common::within(LIMIT, || {
        let (mut rng, seed) = Rng::from_env();
        let rt = rt(3);
        let cap = 1 + rng.below(4) as usize;
        let (tx, mut rx) = mpsc::channel::<(usize, usize)>(cap);
        let mut producers = Vec::new();
        for p in 0..4 {
            let tx = tx.clone();
            let plan: Vec<u64> = (0..200).map(|_| rng.below(100)).collect();
            producers.push(rt.spawn(async move {
                let mut sent = Vec::new();
                for (i, us) in plan.into_iter().enumerate() {
                    if let Ok(r) = timeout(Duration::from_micros(us), tx.send((p, i))).await {
                        r.unwrap();
                        sent.push(i);
                    }
                }
                sent
            }));
        }
        drop(tx);
        let slow = rng.below(2) == 0;
        let consumer = rt.spawn(async move {
            let mut got = vec![Vec::new(); 4];
            while let Some((p, i)) = rx.recv().await {
                got[p].push(i);
                if slow {
                    tempo::task::yield_now().await;
                }
            }
            got
        });
        rt.block_on(async {
            let mut sent = Vec::new();
            for p in producers {
                sent.push(p.await.unwrap());
            }
            let got = consumer.await.unwrap();
            assert_eq!(got, sent, "seed {seed} (capacity {cap})");
        });
    });
}

#[test]
fn unbounded_across_workers() {
    common::within(LIMIT, || {
        let rt = rt(3);
        let (tx, mut rx) = mpsc::unbounded_channel::<(usize, usize)>();
        for p in 0..3 {
            let tx = tx.clone();
            rt.spawn(async move {
                for i in 0..1000 {
                    tx.send((p, i)).unwrap();
                    if i % 100 == 0 {
                        tempo::task::yield_now().await;
                    }
                }
            });
        }
        drop(tx);
        let next = rt.block_on(async move {
            let mut next = [0usize; 3];
            while let Some((p, i)) = rx.recv().await {
                assert_eq!(i, next[p]);
                next[p] += 1;
            }
            next
        });
        assert_eq!(next, [1000; 3]);
    });
}

/// Works on another executor: a thread sends while `futures`' `block_on`
/// receives.
#[test]
fn works_outside_tempo() {
    common::within(LIMIT, || {
        let (tx, mut rx) = mpsc::channel(1);
        let th = std::thread::spawn(move || {
            futures::executor::block_on(async {
                for i in 0..100 {
                    tx.send(i).await.unwrap();
                }
            })
        });
        let mut n = 0;
        futures::executor::block_on(async {
            while let Some(i) = rx.recv().await {
                assert_eq!(i, n);
                n += 1;
            }
        });
        th.join().unwrap();
        assert_eq!(n, 100);
    });
}

#[test]
#[should_panic(expected = "capacity of at least 1")]
fn zero_capacity_panics() {
    let _ = mpsc::channel::<u8>(0);
}
