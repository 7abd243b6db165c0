//! `tempo::sync::Mutex` (`src/sync/mutex.rs`): mutual exclusion across
//! workers, guards held across awaits, FIFO order, cancellation, the owned
//! guard. Randomised tests print their seed; `TEMPO_TEST_SEED=<n>` replays.
#![cfg(not(any(feature = "loom", feature = "shuttle")))]

mod common;

use common::{rt, CountWaker, Rng};
use std::cell::Cell;
use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tempo::sync::{Mutex, MutexGuard, OwnedMutexGuard, TryLockError};
use tempo::time::timeout;

const LIMIT: Duration = Duration::from_secs(30);

#[test]
fn types_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>(_: &T) {}
    send_sync::<Mutex<Vec<u8>>>();
    send_sync::<Mutex<Cell<u8>>>(); // T: Send is enough for the mutex
    send_sync::<MutexGuard<'static, Vec<u8>>>();
    send_sync::<OwnedMutexGuard<Vec<u8>>>();
    send_sync::<TryLockError>();
    let m = Mutex::new(1);
    send(&m.lock());
    send(&Arc::new(Mutex::new(1)).lock_owned());
}

/// 8 tasks on 3 workers increment a counter 200 times each with a yield
/// inside the critical section (a plain read-yield-write): no update lost.
#[test]
fn exclusion_across_workers() {
    common::within(LIMIT, || {
        let rt = rt(3);
        let m = Arc::new(Mutex::new(0u64));
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let m = m.clone();
                rt.spawn(async move {
                    for _ in 0..200 {
                        let mut g = m.lock().await;
                        let v = *g;
                        tempo::task::yield_now().await;
                        *g = v + 1;
                    }
                })
            })
            .collect();
        let total = rt.block_on(async move {
            for t in tasks {
                t.await.unwrap();
            }
            let total = *m.lock().await;
            total
        });
        assert_eq!(total, 1600);
    });
}

/// Lockers queue in FIFO order and `try_lock` does not overtake them.
#[test]
fn fifo_order() {
    let m = Mutex::new(Vec::new());
    let (c, w) = CountWaker::new();
    let mut cx = Context::from_waker(&w);
    let g = m.try_lock().unwrap();
    let mut lockers: Vec<_> = (0..3).map(|_| Box::pin(m.lock())).collect();
    for l in &mut lockers {
        assert!(l.as_mut().poll(&mut cx).is_pending());
    }
    drop(g);
    assert_eq!(c.count(), 1);
    assert!(
        m.try_lock().is_err(),
        "the lock was handed to the first waiter"
    );
    for (i, l) in lockers.iter_mut().enumerate() {
        let Poll::Ready(mut g) = l.as_mut().poll(&mut cx) else {
            panic!("locker {i} not next")
        };
        g.push(i);
    }
    drop(lockers);
    assert_eq!(m.into_inner(), vec![0, 1, 2]);
}

/// A lock future dropped after the lock was handed to it (woken, not yet
/// polled) hands the lock on; one aborted while waiting leaves the queue.
#[test]
fn cancelled_lock_hands_the_lock_on() {
    let m = Mutex::new(0);
    let (_c, w) = CountWaker::new();
    let mut cx = Context::from_waker(&w);
    let g = m.try_lock().unwrap();
    let mut a = Box::pin(m.lock());
    let mut b = Box::pin(m.lock());
    assert!(a.as_mut().poll(&mut cx).is_pending());
    assert!(b.as_mut().poll(&mut cx).is_pending());
    drop(g); // handed to a
    drop(a); // a never takes it: handed to b
    assert!(matches!(b.as_mut().poll(&mut cx), Poll::Ready(_)));
    assert!(m.try_lock().is_ok());

    common::within(LIMIT, || {
        let rt = rt(2);
        rt.block_on(async {
            let m = Arc::new(Mutex::new(0));
            let g = m.clone().lock_owned().await;
            let m2 = m.clone();
            let waiter = tempo::spawn(async move { *m2.lock().await += 1 });
            tempo::time::sleep(Duration::from_millis(10)).await;
            waiter.abort();
            assert!(waiter.await.unwrap_err().is_cancelled());
            drop(g);
            let g = timeout(Duration::from_secs(5), m.lock()).await.unwrap();
            assert_eq!(*g, 0);
        });
    });
}

/// Random lock holders, some cancelled by timeouts, some aborted: the
/// counter equals the number of completed critical sections, and the mutex
/// is free at the end.
#[test]
fn random_cancellations_never_wedge_the_lock() {
    common::within(LIMIT, || {
        let (mut rng, seed) = Rng::from_env();
        let rt = rt(3);
        let m = Arc::new(Mutex::new(0usize));
        let done = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..16 {
            let (m, done) = (m.clone(), done.clone());
            let plan: Vec<u64> = (0..40).map(|_| rng.below(200)).collect();
            tasks.push(rt.spawn(async move {
                for us in plan {
                    if let Ok(mut g) = timeout(Duration::from_micros(us), m.lock()).await {
                        let v = *g;
                        tempo::task::yield_now().await;
                        *g = v + 1;
                        done.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    }
                }
            }));
        }
        let abort: Vec<bool> = (0..tasks.len()).map(|_| rng.below(4) == 0).collect();
        rt.block_on(async {
            for (t, a) in tasks.into_iter().zip(abort) {
                if a {
                    t.abort();
                }
                let _ = t.await;
            }
            let g = timeout(Duration::from_secs(5), m.lock())
                .await
                .unwrap_or_else(|_| panic!("seed {seed}: the mutex stayed locked"));
            // An aborted task may have incremented without counting `done`
            // only if aborted between the write and the count: never, as
            // they are in one poll. So the two agree.
            assert_eq!(
                *g,
                done.load(std::sync::atomic::Ordering::SeqCst),
                "seed {seed}"
            );
        });
    });
}

#[test]
fn get_mut_into_inner_debug_default() {
    let mut m = Mutex::new(String::from("a"));
    m.get_mut().push('b');
    assert_eq!(format!("{m:?}"), r#"Mutex { data: "ab" }"#);
    let g = m.try_lock().unwrap();
    assert_eq!(format!("{m:?}"), "Mutex { data: <locked> }");
    assert_eq!(m.try_lock().unwrap_err().to_string(), "mutex is locked");
    assert_eq!(
        &*MutexGuard::mutex(&g)
            .try_lock()
            .map(|_| ())
            .unwrap_err()
            .to_string(),
        "mutex is locked"
    );
    drop(g);
    assert_eq!(m.into_inner(), "ab");
    let d: Mutex<u8> = Mutex::default();
    assert_eq!(d.into_inner(), 0);
}

/// Works on another executor: a guard held by one thread's `block_on`,
/// released while another waits.
#[test]
fn works_outside_tempo() {
    common::within(LIMIT, || {
        let m = Arc::new(Mutex::new(0));
        let g = m.clone().try_lock_owned().unwrap();
        let m2 = m.clone();
        let th = std::thread::spawn(move || {
            futures::executor::block_on(async { *m2.lock().await += 1 });
        });
        std::thread::sleep(Duration::from_millis(10));
        drop(g);
        th.join().unwrap();
        assert_eq!(*futures::executor::block_on(m.lock()), 1);
    });
}
