#![cfg(not(any(feature = "loom", feature = "shuttle")))]
//! serverbox's task controls: `TaskRef::wakeup`/`signal`, `wait`,
//! `wait_until`, `wait_timeout`, `receive_signal`, `current`, `yield_now`.

use std::any::Any;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::*};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::stream::{FuturesUnordered, StreamExt};
use futures::FutureExt;
use tempo::task::{
    self, receive_signal, wait, wait_timeout, wait_until, yield_now, TaskRef, WaitOutcome,
};
use tempo::time::{sleep, timeout, ManualClock};
use tempo::Runtime;

mod common;
use common::{manual_rt, within};

const LIMIT: Duration = Duration::from_secs(4);
/// How long a `wait` must stay pending to count as "no pending wakeup".
const QUIET: Duration = Duration::from_millis(20);

fn rt(workers: usize) -> Runtime {
    Runtime::builder()
        .worker_threads(workers)
        .build()
        .expect("build runtime")
}

fn panic_message(p: &(dyn Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "<non-string payload>".into())
}

/// On a `worker_threads(0)` runtime, drives it until `flag` is set (the task
/// reached the point that sets it and, on this single thread, went pending).
fn drive_until(rt: &Runtime, flag: &Arc<AtomicBool>) {
    let f = flag.clone();
    rt.block_on(async move {
        let t0 = Instant::now();
        while !f.load(SeqCst) {
            assert!(
                t0.elapsed() < Duration::from_secs(3),
                "task never reached its wait"
            );
            yield_now().await;
        }
    });
}

/// Spins (with short sleeps) until `cond`.
fn spin_until(what: &str, mut cond: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !cond() {
        assert!(
            t0.elapsed() < Duration::from_secs(3),
            "timed out waiting for: {what}"
        );
        std::thread::yield_now();
    }
}

#[test]
fn wakeup_is_idempotent() {
    within(LIMIT, || {
        // Deterministic: on worker_threads(0) nothing runs between our calls.
        let rt = rt(0);
        let waiting = Arc::new(AtomicBool::new(false));
        let w = waiting.clone();
        let h = rt.spawn(async move {
            w.store(true, SeqCst);
            let first = wait().await;
            let second = timeout(QUIET, wait()).await;
            (first, second.is_err())
        });
        drive_until(&rt, &waiting);
        let t = h.task_ref();
        t.wakeup();
        t.wakeup();
        t.clone().wakeup();
        let (first, second_timed_out) = rt.block_on(h).unwrap();
        assert_eq!(first, WaitOutcome::Woken);
        assert!(
            second_timed_out,
            "several wakeups before one wait count as one"
        );
    });
}

#[test]
fn wakeups_before_first_poll_count_as_one() {
    within(LIMIT, || {
        let rt = rt(0);
        let h = rt.spawn(async move {
            let first = wait().await;
            let second = timeout(QUIET, wait()).await;
            (first, second.is_err())
        });
        h.task_ref().wakeup();
        h.task_ref().wakeup();
        assert_eq!(rt.block_on(h).unwrap(), (WaitOutcome::Woken, true));
    });
}

#[test]
fn wakeup_while_running_is_not_lost() {
    within(LIMIT, || {
        for workers in [1usize, 2] {
            let rt = rt(workers);
            let running = Arc::new(AtomicBool::new(false));
            let sent = Arc::new(AtomicBool::new(false));
            let (r, s) = (running.clone(), sent.clone());
            let h = rt.spawn(async move {
                r.store(true, SeqCst);
                // Busy for at least 5 ms, and until the wakeup was sent.
                let t0 = Instant::now();
                while t0.elapsed() < Duration::from_millis(5) || !s.load(SeqCst) {
                    assert!(t0.elapsed() < Duration::from_secs(3));
                    std::hint::spin_loop();
                }
                // The wakeup arrived during this very poll: wait is ready at once.
                let mut w = std::pin::pin!(wait());
                let first_poll = futures::poll!(w.as_mut());
                first_poll
            });
            let t = h.task_ref();
            spin_until("task running", || running.load(SeqCst));
            t.wakeup();
            sent.store(true, SeqCst);
            let r = rt.block_on(h).unwrap();
            assert_eq!(
                r,
                std::task::Poll::Ready(WaitOutcome::Woken),
                "workers={workers}"
            );
        }
    });
}

#[test]
fn wakeup_while_running_then_going_idle_reruns_the_task() {
    // The wakeup lands during a poll that does *not* call wait; the task must
    // be run again and its next wait must return Woken.
    within(LIMIT, || {
        let rt = rt(1);
        let running = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicBool::new(false));
        let (r, s) = (running.clone(), sent.clone());
        let (tx, rx) = futures::channel::oneshot::channel::<()>();
        let h = rt.spawn(async move {
            r.store(true, SeqCst);
            while !s.load(SeqCst) {
                std::hint::spin_loop();
            }
            // Go idle on something unrelated that never fires by itself.
            let mut rx = rx.fuse();
            let mut w = wait().fuse();
            futures::select! {
                _ = rx => None,
                o = w => Some(o),
            }
        });
        let t = h.task_ref();
        spin_until("task running", || running.load(SeqCst));
        t.wakeup();
        sent.store(true, SeqCst);
        let r = rt.block_on(async move { timeout(Duration::from_secs(2), h).await });
        drop(tx);
        assert_eq!(
            r.expect("wakeup during the run was lost").unwrap(),
            Some(WaitOutcome::Woken)
        );
    });
}

#[test]
fn wakeup_ping_pong_never_lost() {
    within(LIMIT, || {
        for workers in [0usize, 1, 2] {
            const N: u64 = 1000;
            let rt = Arc::new(rt(workers));
            let acks = Arc::new(AtomicU64::new(0));
            let a = acks.clone();
            let h = rt.spawn(async move {
                for i in 1..=N {
                    assert_eq!(wait().await, WaitOutcome::Woken);
                    a.store(i, SeqCst);
                }
            });
            let t = h.task_ref();
            let acks2 = acks.clone();
            let pinger = std::thread::spawn(move || {
                for i in 1..=N {
                    t.wakeup();
                    let t0 = Instant::now();
                    while acks2.load(SeqCst) < i {
                        if t0.elapsed() > Duration::from_secs(2) {
                            return Err(format!("wakeup #{i} lost (acked {})", acks2.load(SeqCst)));
                        }
                        std::thread::yield_now();
                    }
                }
                Ok(())
            });
            // worker_threads(0): the test thread drives the runtime.
            rt.block_on(h).unwrap();
            pinger
                .join()
                .unwrap()
                .unwrap_or_else(|e| panic!("workers={workers}: {e}"));
            assert_eq!(acks.load(SeqCst), N);
        }
    });
}

#[test]
fn signal_is_sticky_until_received_and_does_not_stack() {
    within(LIMIT, || {
        let rt = rt(0);
        let waiting = Arc::new(AtomicBool::new(false));
        let w = waiting.clone();
        let h = rt.spawn(async move {
            w.store(true, SeqCst);
            let mut seen = Vec::new();
            seen.push(wait().await);
            seen.push(wait().await);
            seen.push(wait().await);
            // A deadline in the past: Signaled still has priority.
            seen.push(wait_until(Instant::now()).await);
            let first = receive_signal();
            let second = receive_signal();
            let after = timeout(QUIET, wait()).await;
            (seen, first, second, after.is_err())
        });
        drive_until(&rt, &waiting);
        let t = h.task_ref();
        t.signal();
        t.signal(); // does not stack
        let (seen, first, second, quiet) = rt.block_on(h).unwrap();
        assert_eq!(
            seen,
            vec![WaitOutcome::Signaled; 4],
            "wait keeps reporting the signal until it is received"
        );
        assert!(first, "receive_signal takes the signal");
        assert!(!second, "two signals are one signal");
        assert!(quiet, "after receipt nothing is pending");
    });
}

#[test]
fn signal_to_self_and_receive() {
    within(LIMIT, || {
        let rt = rt(1);
        let r = rt
            .block_on(rt.spawn(async {
                let me = task::current();
                assert!(!receive_signal());
                me.signal();
                me.signal();
                let a = receive_signal();
                let b = receive_signal();
                me.signal();
                let c = wait().await;
                let d = receive_signal();
                (a, b, c, d)
            }))
            .unwrap();
        assert_eq!(r, (true, false, WaitOutcome::Signaled, true));
    });
}

#[test]
fn signaled_task_keeps_being_run_until_it_receives() {
    // "Until then the task keeps being run (its deadline ignored)": a signaled
    // task that sleeps without receiving is polled again and again, and its
    // sleep still never completes early.
    within(LIMIT, || {
        let rt = rt(1);
        let polls = Arc::new(AtomicUsize::new(0));
        let p = polls.clone();
        let h = rt.spawn(async move {
            task::current().signal();
            let d = Duration::from_millis(20);
            let t0 = Instant::now();
            let mut s = std::pin::pin!(sleep(d));
            futures::future::poll_fn(|cx| {
                p.fetch_add(1, SeqCst);
                s.as_mut().poll(cx)
            })
            .await;
            let el = t0.elapsed();
            assert!(receive_signal(), "signal still pending after the sleep");
            el
        });
        let el = rt.block_on(h).unwrap();
        assert!(
            el >= Duration::from_millis(20),
            "sleep completed early: {el:?}"
        );
        assert!(
            polls.load(SeqCst) > 2,
            "signaled task was not re-run (polls={})",
            polls.load(SeqCst)
        );
    });
}

#[test]
fn signal_publishes_prior_writes() {
    within(LIMIT, || {
        for workers in [1usize, 2] {
            const N: u64 = 1000;
            let rt = rt(workers);
            let data = Arc::new(AtomicU64::new(0));
            let ack = Arc::new(AtomicU64::new(0));
            let (d, a) = (data.clone(), ack.clone());
            let h = rt.spawn(async move {
                let mut bad = Vec::new();
                for i in 1..=N {
                    loop {
                        match wait().await {
                            WaitOutcome::Signaled => {
                                if receive_signal() {
                                    break;
                                }
                            }
                            other => panic!("unexpected {other:?}"),
                        }
                    }
                    // Relaxed: visibility must come from signal/receive_signal alone.
                    let v = d.load(Relaxed);
                    if v != i {
                        bad.push((i, v));
                    }
                    a.store(i, Relaxed);
                }
                bad
            });
            let t = h.task_ref();
            for i in 1..=N {
                data.store(i, Relaxed);
                t.signal();
                spin_until(&format!("ack of signal #{i}"), || ack.load(Relaxed) >= i);
            }
            let bad = rt.block_on(h).unwrap();
            assert!(
                bad.is_empty(),
                "workers={workers}: stale reads after receive_signal (iter, value): {bad:?}"
            );
        }
    });
}

#[test]
fn wakeup_has_no_effect_on_a_signaled_task() {
    within(LIMIT, || {
        // From outside, while the task waits.
        let rt = rt(0);
        let waiting = Arc::new(AtomicBool::new(false));
        let w = waiting.clone();
        let h = rt.spawn(async move {
            w.store(true, SeqCst);
            let a = wait().await;
            let b = wait().await;
            let got = receive_signal();
            let c = timeout(QUIET, wait()).await;
            (a, b, got, c.is_err())
        });
        drive_until(&rt, &waiting);
        let t = h.task_ref();
        t.signal();
        t.wakeup(); // ignored: the task is signaled
        assert_eq!(
            rt.block_on(h).unwrap(),
            (WaitOutcome::Signaled, WaitOutcome::Signaled, true, true)
        );

        // From the task itself, while running.
        let rt = rt_1();
        let r = rt
            .block_on(rt.spawn(async {
                let me = task::current();
                me.signal();
                me.wakeup();
                let a = wait().await;
                let got = receive_signal();
                let b = timeout(QUIET, wait()).await;
                (a, got, b.is_err())
            }))
            .unwrap();
        assert_eq!(
            r,
            (WaitOutcome::Signaled, true, true),
            "a wakeup after a signal must leave nothing behind"
        );
    });
}

fn rt_1() -> Runtime {
    rt(1)
}

#[test]
fn wakeup_before_signal_survives_the_signal() {
    // Priority: Signaled, then Woken. A wakeup that came *before* the signal
    // is still pending after the signal is received.
    within(LIMIT, || {
        let rt = rt(0);
        let waiting = Arc::new(AtomicBool::new(false));
        let w = waiting.clone();
        let h = rt.spawn(async move {
            w.store(true, SeqCst);
            let a = wait().await;
            let got = receive_signal();
            let b = timeout(QUIET, wait()).await;
            (a, got, b.ok())
        });
        drive_until(&rt, &waiting);
        let t = h.task_ref();
        t.wakeup();
        t.signal();
        assert_eq!(
            rt.block_on(h).unwrap(),
            (WaitOutcome::Signaled, true, Some(WaitOutcome::Woken))
        );
    });
}

#[test]
fn wait_until_reports_expired_woken_or_signaled() {
    within(LIMIT, || {
        let clock = ManualClock::new();
        let rt = manual_rt(0, &clock);
        let far = clock.now() + Duration::from_secs(3600);

        // Expired: nothing arrives before the deadline.
        let c = clock.clone();
        let r = rt.block_on(rt.spawn(async move {
            let mut w = std::pin::pin!(wait_until(c.now() + Duration::from_secs(5)));
            assert!(futures::poll!(w.as_mut()).is_pending());
            c.advance(Duration::from_secs(5));
            w.await
        }));
        assert_eq!(r.unwrap(), WaitOutcome::Expired);

        // Woken before the deadline.
        let flag = Arc::new(AtomicBool::new(false));
        let f = flag.clone();
        let h = rt.spawn(async move {
            f.store(true, SeqCst);
            wait_until(far).await
        });
        drive_until(&rt, &flag);
        h.task_ref().wakeup();
        assert_eq!(rt.block_on(h).unwrap(), WaitOutcome::Woken);

        // Signaled before the deadline.
        let flag = Arc::new(AtomicBool::new(false));
        let f = flag.clone();
        let h = rt.spawn(async move {
            f.store(true, SeqCst);
            let o = wait_until(far).await;
            (o, receive_signal())
        });
        drive_until(&rt, &flag);
        h.task_ref().signal();
        assert_eq!(rt.block_on(h).unwrap(), (WaitOutcome::Signaled, true));

        // Woken *and* deadline passed: Woken has priority over Expired.
        let flag = Arc::new(AtomicBool::new(false));
        let f = flag.clone();
        let c = clock.clone();
        let h = rt.spawn(async move {
            let d = c.now() + Duration::from_secs(1);
            f.store(true, SeqCst);
            wait_until(d).await
        });
        drive_until(&rt, &flag);
        h.task_ref().wakeup();
        clock.advance(Duration::from_secs(2));
        assert_eq!(rt.block_on(h).unwrap(), WaitOutcome::Woken);

        // wait_timeout(Duration::MAX) waits forever (no overflow) until woken.
        let flag = Arc::new(AtomicBool::new(false));
        let f = flag.clone();
        let h = rt.spawn(async move {
            f.store(true, SeqCst);
            wait_timeout(Duration::MAX).await
        });
        drive_until(&rt, &flag);
        clock.advance(Duration::from_secs(10 * 365 * 24 * 3600));
        rt.block_on(async { yield_now().await });
        assert!(!h.is_finished(), "wait_timeout(MAX) expired");
        h.task_ref().wakeup();
        assert_eq!(rt.block_on(h).unwrap(), WaitOutcome::Woken);
    });
}

#[test]
fn wait_until_real_clock_expires_not_early() {
    within(LIMIT, || {
        let rt = rt(1);
        let r = rt
            .block_on(rt.spawn(async {
                let d = Instant::now() + Duration::from_millis(5);
                let o = wait_until(d).await;
                (o, Instant::now() >= d)
            }))
            .unwrap();
        assert_eq!(r, (WaitOutcome::Expired, true));
    });
}

#[test]
fn task_ref_after_task_finished_and_after_runtime_dropped_is_harmless() {
    within(LIMIT, || {
        for workers in [0usize, 1, 2] {
            let rt = rt(workers);
            let h = rt.spawn(async { 1 });
            let done_ref = h.task_ref();
            let id = done_ref.id();
            assert_eq!(rt.block_on(h).unwrap(), 1);
            assert!(done_ref.is_finished());
            done_ref.wakeup();
            done_ref.signal();
            assert_eq!(done_ref.id(), id);
            assert!(format!("{done_ref:?}").contains(&id.to_string()));

            // A task still waiting when the runtime goes away.
            let pending = rt.spawn(async { wait().await });
            let live_ref = pending.task_ref();
            let live_clone = live_ref.clone();
            if workers == 0 {
                rt.block_on(async { yield_now().await });
            }
            let t0 = Instant::now();
            drop(rt);
            assert!(t0.elapsed() < Duration::from_secs(2));
            assert!(live_ref.is_finished(), "shutdown completes every task");
            assert!(pending.is_finished());
            live_ref.wakeup();
            live_ref.signal();
            done_ref.wakeup();
            done_ref.signal();
            drop(live_ref);
            live_clone.signal();
            drop(live_clone);
            let err = futures::executor::block_on(pending).unwrap_err();
            assert!(err.is_cancelled(), "{err:?}");
        }
    });
}

#[test]
fn task_ref_outlives_everything_else() {
    within(LIMIT, || {
        let rt = rt(1);
        let h = rt.spawn(async { wait().await });
        let t = h.task_ref();
        drop(h); // detached
        t.wakeup();
        spin_until("detached task finished", || t.is_finished());
        drop(rt);
        t.signal();
        t.wakeup();
        assert!(t.is_finished());
    });
}

#[test]
fn current_outside_a_task() {
    within(LIMIT, || {
        // On a plain thread.
        assert!(task::try_current().is_none());
        let p = catch_unwind(task::current).expect_err("current() outside a runtime");
        assert!(
            panic_message(&*p).contains("inside a task"),
            "{}",
            panic_message(&*p)
        );
        let p = catch_unwind(receive_signal).expect_err("receive_signal() outside a task");
        assert!(
            panic_message(&*p).contains("receive_signal"),
            "{}",
            panic_message(&*p)
        );

        for workers in [0usize, 2] {
            let rt = rt(workers);
            rt.block_on(async {
                assert!(
                    task::try_current().is_none(),
                    "a block_on future is not a task"
                );
                let p = catch_unwind(task::current).expect_err("current() in block_on");
                let msg = panic_message(&*p);
                assert!(
                    msg.contains("block_on") && msg.contains("spawn"),
                    "message: {msg}"
                );
                let p = catch_unwind(receive_signal).expect_err("receive_signal() in block_on");
                assert!(panic_message(&*p).contains("task"));
                // wait() in block_on panics when polled.
                let mut w = std::pin::pin!(wait());
                let p = catch_unwind(AssertUnwindSafe(|| {
                    let waker = futures::task::noop_waker();
                    let mut cx = std::task::Context::from_waker(&waker);
                    let _ = w.as_mut().poll(&mut cx);
                }))
                .expect_err("wait() polled in block_on");
                assert!(
                    panic_message(&*p).contains("wait"),
                    "{}",
                    panic_message(&*p)
                );
            });
            // Inside a task: current() names this task.
            let h = rt.spawn(async { (task::current().id(), task::try_current().map(|t| t.id())) });
            let id = h.id();
            assert_eq!(rt.block_on(h).unwrap(), (id, Some(id)));
        }
    });
}

#[test]
fn wait_inside_futures_unordered_sees_wakeups() {
    within(LIMIT, || {
        for workers in [0usize, 1, 2] {
            let rt = rt(workers);
            let waiting = Arc::new(AtomicBool::new(false));
            let got_first = Arc::new(AtomicBool::new(false));
            let w = waiting.clone();
            let g = got_first.clone();
            let h = rt.spawn(async move {
                let mut fu = FuturesUnordered::new();
                fu.push(async { wait().await }.boxed());
                fu.push(
                    async {
                        sleep(Duration::from_secs(3600)).await;
                        WaitOutcome::Expired
                    }
                    .boxed(),
                );
                // Poll once so the wait registers with the FuturesUnordered's waker.
                assert!(futures::poll!(fu.next()).is_pending());
                w.store(true, SeqCst);
                let first = fu.next().await;
                g.store(true, SeqCst);
                // And again: a second wakeup reaches a fresh wait in the set.
                fu.push(async { wait().await }.boxed());
                let second = fu.next().await;
                (first, second)
            });
            let t = h.task_ref();
            if workers == 0 {
                drive_until(&rt, &waiting);
            } else {
                spin_until("task waiting", || waiting.load(SeqCst));
                std::thread::sleep(Duration::from_millis(2));
            }
            t.wakeup();
            let t2 = t.clone();
            // The second wakeup only after the first was consumed (else they coalesce).
            let th = std::thread::spawn(move || {
                let t0 = Instant::now();
                while !got_first.load(SeqCst) && t0.elapsed() < Duration::from_secs(2) {
                    std::thread::sleep(Duration::from_millis(1));
                }
                std::thread::sleep(Duration::from_millis(2));
                t2.wakeup();
            });
            let r = rt.block_on(async move { timeout(Duration::from_secs(2), h).await });
            th.join().unwrap();
            let r = r.unwrap_or_else(|_| {
                panic!("workers={workers}: wakeup not seen by wait inside FuturesUnordered")
            });
            assert_eq!(
                r.unwrap(),
                (Some(WaitOutcome::Woken), Some(WaitOutcome::Woken)),
                "workers={workers}"
            );
        }
    });
}

#[test]
fn wait_inside_select_sees_signal() {
    within(LIMIT, || {
        let rt = rt(2);
        let (tx, rx) = futures::channel::oneshot::channel::<()>();
        let h = rt.spawn(async move {
            let mut rx = rx.fuse();
            let mut w = wait().fuse();
            let o = futures::select! {
                _ = rx => None,
                o = w => Some(o),
            };
            (o, receive_signal())
        });
        std::thread::sleep(Duration::from_millis(5));
        h.task_ref().signal();
        assert_eq!(rt.block_on(h).unwrap(), (Some(WaitOutcome::Signaled), true));
        drop(tx);
    });
}

#[test]
fn yield_now_lets_every_other_ready_task_run() {
    within(LIMIT, || {
        let rt = rt(0);
        let log = Arc::new(Mutex::new(Vec::new()));
        let hs: Vec<_> = (0..3)
            .map(|id| {
                let log = log.clone();
                rt.spawn(async move {
                    for round in 0..4 {
                        log.lock().unwrap().push((round, id));
                        yield_now().await;
                    }
                })
            })
            .collect();
        rt.block_on(async move {
            for h in hs {
                h.await.unwrap();
            }
        });
        let got = log.lock().unwrap().clone();
        let want: Vec<(i32, i32)> = (0..4).flat_map(|r| (0..3).map(move |id| (r, id))).collect();
        assert_eq!(
            got, want,
            "yield_now: every other ready task runs before the yielder runs again"
        );
    });
}

#[test]
fn many_tasks_signaled_from_many_threads() {
    within(LIMIT, || {
        let rt = rt(2);
        let hs: Vec<_> = (0..50)
            .map(|_| {
                rt.spawn(async {
                    loop {
                        if wait().await == WaitOutcome::Signaled && receive_signal() {
                            return true;
                        }
                    }
                })
            })
            .collect();
        let refs: Vec<TaskRef> = hs.iter().map(|h| h.task_ref()).collect();
        let refs = Arc::new(refs);
        let ths: Vec<_> = (0..4)
            .map(|k| {
                let refs = refs.clone();
                std::thread::spawn(move || {
                    for (i, r) in refs.iter().enumerate() {
                        if i % 4 == k {
                            r.wakeup();
                            r.signal();
                        } else {
                            r.wakeup();
                        }
                    }
                })
            })
            .collect();
        for t in ths {
            t.join().unwrap();
        }
        let all = rt.block_on(async move {
            let mut n = 0;
            for h in hs {
                if timeout(Duration::from_secs(2), h)
                    .await
                    .expect("a signal was lost")
                    .unwrap()
                {
                    n += 1;
                }
            }
            n
        });
        assert_eq!(all, 50);
    });
}

/// Several `wait`s pending at once in one task (children of a
/// `FuturesUnordered`) each see a wake-up, and all see a signal
/// (`task/local.rs` invariant 5). The task-local slot kept one waker and the
/// second `wait` replaced the first one's: a second `wakeup` never reached
/// the other `wait` (a hang), and a signal re-ran the task forever (one core
/// busy) without reaching the first.
#[test]
fn concurrent_waits_each_see_wakeups_and_signals() {
    within(Duration::from_secs(20), || {
        for workers in [0usize, 1, 2] {
            for signal in [false, true] {
                let rt = Runtime::builder().worker_threads(workers).build().unwrap();
                let stage = Arc::new(AtomicUsize::new(0));
                let st = stage.clone();
                let h = rt.spawn(async move {
                    let mut fu = FuturesUnordered::new();
                    fu.push(async { wait().await }.boxed());
                    fu.push(async { wait().await }.boxed());
                    assert!(futures::poll!(fu.next()).is_pending());
                    st.store(1, SeqCst);
                    let a = fu.next().await;
                    st.store(2, SeqCst);
                    let b = fu.next().await;
                    (a, b, receive_signal())
                });
                let t = h.task_ref();
                let poke = std::thread::spawn(move || {
                    let until = |n: usize| {
                        while stage.load(SeqCst) < n {
                            std::thread::sleep(Duration::from_millis(1));
                        }
                    };
                    until(1);
                    if signal {
                        t.signal();
                    } else {
                        t.wakeup();
                        // After the first `wait` consumed the first wake-up.
                        until(2);
                        t.wakeup();
                    }
                });
                let r = rt.block_on(async move { timeout(Duration::from_secs(2), h).await });
                let r = r.unwrap_or_else(|_| {
                    panic!("workers={workers} signal={signal}: a wait was never woken")
                });
                poke.join().unwrap();
                let want = if signal {
                    (
                        Some(WaitOutcome::Signaled),
                        Some(WaitOutcome::Signaled),
                        true,
                    )
                } else {
                    (Some(WaitOutcome::Woken), Some(WaitOutcome::Woken), false)
                };
                assert_eq!(r.unwrap(), want, "workers={workers} signal={signal}");
            }
        }
    });
}

/// Wakes that land while a task runs (any number, from several threads, by
/// `Waker::wake` or by `TaskRef::wakeup`) make it run exactly once more, not
/// once per wake (DESIGN: "wakeup: idempotent; guarantees at least one more
/// run"). The task counts its polls; after the run the wakes landed in, the
/// count must reach 2 and stay there.
#[test]
fn many_wakes_while_running_cause_exactly_one_more_run() {
    within(Duration::from_secs(10), || {
        for workers in [0usize, 1, 2] {
            for by_task_ref in [false, true] {
                let rt = rt(workers);
                let polls = Arc::new(AtomicUsize::new(0));
                let running = Arc::new(AtomicBool::new(false));
                let sent = Arc::new(AtomicBool::new(false));
                let done = Arc::new(AtomicBool::new(false));
                let waker_slot: Arc<Mutex<Option<std::task::Waker>>> = Arc::new(Mutex::new(None));
                let (p, r, s, d, ws) = (
                    polls.clone(),
                    running.clone(),
                    sent.clone(),
                    done.clone(),
                    waker_slot.clone(),
                );
                let h = rt.spawn(futures::future::poll_fn(move |cx| {
                    let n = p.fetch_add(1, SeqCst) + 1;
                    *ws.lock().unwrap() = Some(cx.waker().clone());
                    if n == 1 {
                        r.store(true, SeqCst);
                        let t0 = Instant::now();
                        while !s.load(SeqCst) {
                            assert!(t0.elapsed() < Duration::from_secs(3), "wakes never sent");
                            std::thread::yield_now();
                        }
                    }
                    if d.load(SeqCst) {
                        std::task::Poll::Ready(n)
                    } else {
                        std::task::Poll::Pending
                    }
                }));
                let t = h.task_ref();
                let label = format!("workers={workers} by_task_ref={by_task_ref}");
                // worker_threads(0): a second thread drives the runtime.
                let rt = Arc::new(rt);
                let driver = (workers == 0).then(|| {
                    let (rt, done) = (rt.clone(), done.clone());
                    std::thread::spawn(move || {
                        rt.block_on(async move {
                            while !done.load(SeqCst) {
                                sleep(Duration::from_millis(1)).await;
                            }
                        })
                    })
                });
                spin_until("first poll running", || running.load(SeqCst));
                let wakers: Vec<_> = (0..4)
                    .map(|_| {
                        let t = t.clone();
                        let w = waker_slot.lock().unwrap().clone().unwrap();
                        std::thread::spawn(move || {
                            for _ in 0..100 {
                                if by_task_ref {
                                    t.wakeup();
                                } else {
                                    w.wake_by_ref();
                                }
                            }
                        })
                    })
                    .collect();
                for w in wakers {
                    w.join().unwrap();
                }
                sent.store(true, SeqCst);
                spin_until("the run after the wakes", || polls.load(SeqCst) >= 2);
                // Anything more would come at once; give it ample time.
                std::thread::sleep(Duration::from_millis(50));
                assert_eq!(
                    polls.load(SeqCst),
                    2,
                    "{label}: 400 wakes during one run caused more than one more run"
                );
                done.store(true, SeqCst);
                let w = waker_slot.lock().unwrap().clone().unwrap();
                w.wake();
                let n = rt.block_on(async move { timeout(Duration::from_secs(2), h).await });
                let n =
                    n.unwrap_or_else(|_| panic!("{label}: the wake after the quiet run was lost"));
                assert_eq!(n.unwrap(), 3, "{label}");
                if let Some(d) = driver {
                    d.join().unwrap();
                }
            }
        }
    });
}

/// A task is never polled by two threads at once (DESIGN: "a task is never
/// in two queues and never runs on two threads"), however its wakes race
/// with its runs: tasks of two workers (and of a caller-driven runtime with
/// two `block_on` callers) are woken from four threads, by waker and by
/// `TaskRef::wakeup`/`signal`, while they run; each poll checks that no
/// other poll of the same task is in progress.
#[test]
fn a_task_is_never_polled_on_two_threads_at_once() {
    within(Duration::from_secs(20), || {
        for workers in [0usize, 2] {
            const TASKS: usize = 16;
            const POLLS: usize = 300;
            let rt = Arc::new(rt(workers));
            let overlaps = Arc::new(AtomicUsize::new(0));
            let stop = Arc::new(AtomicBool::new(false));
            let wakers: Arc<Mutex<Vec<Option<std::task::Waker>>>> =
                Arc::new(Mutex::new(vec![None; TASKS]));
            let mut hs = Vec::new();
            for i in 0..TASKS {
                let (ov, ws) = (overlaps.clone(), wakers.clone());
                let in_poll = Arc::new(AtomicBool::new(false));
                let mut polls = 0usize;
                hs.push(rt.spawn(futures::future::poll_fn(move |cx| {
                    if in_poll.swap(true, SeqCst) {
                        ov.fetch_add(1, SeqCst);
                    }
                    polls += 1;
                    ws.lock().unwrap()[i] = Some(cx.waker().clone());
                    // Stay in the poll a little, so that wakes land during it.
                    for _ in 0..200 {
                        std::hint::spin_loop();
                    }
                    in_poll.store(false, SeqCst);
                    if polls >= POLLS {
                        std::task::Poll::Ready(())
                    } else {
                        std::task::Poll::Pending
                    }
                })));
            }
            let refs: Arc<Vec<TaskRef>> = Arc::new(hs.iter().map(|h| h.task_ref()).collect());
            let pokers: Vec<_> = (0..4u64)
                .map(|k| {
                    let (ws, refs, stop) = (wakers.clone(), refs.clone(), stop.clone());
                    std::thread::spawn(move || {
                        let mut x: u64 = 0x9E37_79B9_7F4A_7C15 ^ k;
                        while !stop.load(SeqCst) {
                            x ^= x << 13;
                            x ^= x >> 7;
                            x ^= x << 17;
                            let i = (x % TASKS as u64) as usize;
                            match (x >> 32) % 3 {
                                0 => refs[i].wakeup(),
                                1 => refs[i].signal(),
                                _ => {
                                    let w = ws.lock().unwrap()[i].clone();
                                    if let Some(w) = w {
                                        w.wake();
                                    }
                                }
                            }
                        }
                    })
                })
                .collect();
            // worker_threads(0): two callers drive the runtime.
            let second = (workers == 0).then(|| {
                let (rt, stop) = (rt.clone(), stop.clone());
                std::thread::spawn(move || {
                    rt.block_on(async move {
                        while !stop.load(SeqCst) {
                            yield_now().await;
                        }
                    })
                })
            });
            rt.block_on(async move {
                for h in hs {
                    timeout(Duration::from_secs(10), h)
                        .await
                        .expect("a task stopped being run")
                        .unwrap();
                }
            });
            stop.store(true, SeqCst);
            for p in pokers {
                p.join().unwrap();
            }
            if let Some(s) = second {
                s.join().unwrap();
            }
            assert_eq!(
                overlaps.load(SeqCst),
                0,
                "workers={workers}: a task was polled on two threads at once"
            );
        }
    });
}

/// A task waiting with a deadline (in the sched role's heap, `WAITING`) is
/// woken by another task on the same worker: the wake goes through the front
/// queue, where the role's dispatch removes the heap entry, never to the
/// worker's next-run slot (`running.rs`: only `IDLE → SCHEDULED` wakes may
/// go there). Through the slot the stale entry stayed in the heap: the
/// task's next deadline was inserted beside it ("task in the heap twice" in
/// checked builds) and the stale one fired early.
#[test]
fn a_waiting_task_woken_by_a_task_keeps_its_next_deadline() {
    within(LIMIT, || {
        let clock = ManualClock::new();
        let rt = manual_rt(0, &clock);
        let t0 = clock.now();
        let flag = Arc::new(AtomicBool::new(false));
        let (f, c) = (flag.clone(), clock.clone());
        let a = rt.spawn(async move {
            f.store(true, SeqCst);
            let first = wait_until(t0 + Duration::from_secs(10)).await;
            let second = wait_until(t0 + Duration::from_secs(20)).await;
            (first, second, c.now() - t0)
        });
        drive_until(&rt, &flag);
        let ta = a.task_ref();
        // Runs on this caller-driven worker, after the round that put `a`
        // in the heap.
        rt.block_on(rt.spawn(async move { ta.wakeup() })).unwrap();
        clock.advance(Duration::from_secs(10));
        rt.block_on(async { yield_now().await });
        assert!(!a.is_finished(), "the second wait expired at 10 s");
        clock.advance(Duration::from_secs(10));
        assert_eq!(
            rt.block_on(a).unwrap(),
            (
                WaitOutcome::Woken,
                WaitOutcome::Expired,
                Duration::from_secs(20)
            )
        );
    });
}
