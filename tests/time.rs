#![cfg(not(any(feature = "loom", feature = "shuttle")))]
//! Time: `sleep`, `sleep_until`, `Sleep::reset`, `timeout`, `timeout_at`,
//! `ManualClock`, and timers inside combinators.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use futures::future::{self, Either};
use futures::stream::{FuturesUnordered, StreamExt};
use futures::FutureExt;
use tempo::task::{self, WaitOutcome};
use tempo::time::{sleep, sleep_until, timeout, timeout_at, Elapsed, ManualClock};
use tempo::Runtime;

mod common;
use common::{manual_rt, seed, serial, within, PanickingWaker};

const LIMIT: Duration = Duration::from_secs(4);

fn rt(workers: usize) -> Runtime {
    Runtime::builder()
        .worker_threads(workers)
        .build()
        .expect("build runtime")
}

struct DropFlag(Arc<AtomicBool>);
impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.store(true, SeqCst);
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[test]
fn sleep_never_completes_before_its_deadline() {
    within(LIMIT, || {
        let _s = serial();
        let seed = seed();
        let mut rng = Rng(seed);
        for workers in [0usize, 1, 2] {
            let rt = rt(workers);
            let durs: Vec<Duration> = (0..100)
                .map(|_| Duration::from_micros(rng.next() % 3001))
                .collect();
            // Sequentially, in a task.
            let d2 = durs.clone();
            let early: Vec<(Duration, Duration)> = rt
                .block_on(rt.spawn(async move {
                    let mut early = Vec::new();
                    for d in d2 {
                        let t0 = Instant::now();
                        sleep(d).await;
                        let el = t0.elapsed();
                        if el < d {
                            early.push((d, el));
                        }
                    }
                    early
                }))
                .unwrap();
            assert!(
                early.is_empty(),
                "seed={seed} workers={workers}: early wakeups (requested, elapsed): {early:?}"
            );
            // Sequentially, directly in block_on.
            let d2 = durs.clone();
            let early = rt.block_on(async move {
                let mut early = Vec::new();
                for d in d2 {
                    let t0 = Instant::now();
                    sleep(d).await;
                    if t0.elapsed() < d {
                        early.push((d, t0.elapsed()));
                    }
                }
                early
            });
            assert!(
                early.is_empty(),
                "seed={seed} workers={workers} block_on: early: {early:?}"
            );
            // Concurrently: 100 tasks at once.
            let hs: Vec<_> = durs
                .iter()
                .map(|&d| {
                    rt.spawn(async move {
                        let t0 = Instant::now();
                        sleep(d).await;
                        (d, t0.elapsed())
                    })
                })
                .collect();
            let res = rt.block_on(async move {
                let mut v = Vec::new();
                for h in hs {
                    v.push(h.await.unwrap());
                }
                v
            });
            let early: Vec<_> = res.iter().filter(|(d, el)| el < d).collect();
            assert!(
                early.is_empty(),
                "seed={seed} workers={workers} concurrent: early: {early:?}"
            );
        }
    });
}

#[test]
fn sleep_until_never_early_and_past_deadline_is_immediate() {
    within(LIMIT, || {
        let rt = rt(1);
        rt.block_on(rt.spawn(async {
            let when = Instant::now() + Duration::from_millis(3);
            let s = sleep_until(when);
            assert_eq!(s.deadline(), Some(when));
            assert!(!s.is_elapsed());
            s.await;
            assert!(Instant::now() >= when);
            // A deadline in the past completes on the first poll.
            let past = Instant::now();
            std::thread::sleep(Duration::from_millis(1));
            let mut s = pin!(sleep_until(past));
            assert!(s.is_elapsed());
            assert!(futures::poll!(s.as_mut()).is_ready());
        }))
        .unwrap();
    });
}

fn precision(label: &str, rt: &Runtime, in_task: bool) -> (Duration, Duration) {
    let body = async {
        let mut over = Vec::with_capacity(200);
        for _ in 0..200 {
            let d = Duration::from_micros(100);
            let t0 = Instant::now();
            sleep(d).await;
            let el = t0.elapsed();
            assert!(el >= d, "early: {el:?}");
            over.push(el - d);
        }
        over
    };
    let mut over = if in_task {
        rt.block_on(rt.spawn(body)).unwrap()
    } else {
        rt.block_on(body)
    };
    over.sort();
    let (p50, p99, max) = (
        percentile(&over, 0.5),
        percentile(&over, 0.99),
        *over.last().unwrap(),
    );
    eprintln!("sleep(100us) overshoot [{label}]: median={p50:?} p99={p99:?} max={max:?}");
    (p50, p99)
}

#[test]
fn sleep_precision_is_sub_millisecond() {
    within(LIMIT, || {
        let _s = serial();
        for (label, workers, in_task) in [
            ("task, 1 worker", 1, true),
            ("block_on, 2 workers", 2, false),
            ("block_on, 0 workers", 0, false),
            ("task, 0 workers", 0, true),
        ] {
            let rt = rt(workers);
            let (p50, _) = precision(label, &rt, in_task);
            assert!(
                p50 < Duration::from_millis(1),
                "{label}: median overshoot of sleep(100us) = {p50:?} (>= 1 ms)"
            );
        }
    });
}

#[test]
fn sleep_duration_max_does_not_overflow() {
    within(LIMIT, || {
        for workers in [0usize, 2] {
            let rt = rt(workers);
            rt.block_on(async {
                let s = sleep(Duration::MAX);
                assert_eq!(s.deadline(), None, "Duration::MAX means never");
                assert!(!s.is_elapsed());
                let t0 = Instant::now();
                match future::select(Box::pin(s), Box::pin(sleep(Duration::from_millis(10)))).await
                {
                    Either::Left(_) => panic!("sleep(Duration::MAX) completed"),
                    Either::Right(_) => {}
                }
                assert!(t0.elapsed() >= Duration::from_millis(10));
            });
            // Same inside a task.
            rt.block_on(rt.spawn(async {
                let r = future::select(
                    Box::pin(sleep(Duration::MAX)),
                    Box::pin(sleep(Duration::from_millis(5))),
                )
                .await;
                assert!(matches!(r, Either::Right(_)));
                // Large but finite durations do not overflow either.
                let r = future::select(
                    Box::pin(sleep(Duration::from_secs(u64::MAX / 4))),
                    Box::pin(sleep(Duration::from_millis(1))),
                )
                .await;
                assert!(matches!(r, Either::Right(_)));
            }))
            .unwrap();
        }
    });
}

#[test]
fn timeout_duration_max_works_without_overflow() {
    within(LIMIT, || {
        let rt = rt(1);
        rt.block_on(async {
            assert_eq!(timeout(Duration::MAX, async { 5 }).await, Ok(5));
            assert_eq!(timeout(Duration::MAX, future::ready("r")).await, Ok("r"));
            // A pending future under an infinite timeout: drop it after 10 ms.
            let dropped = Arc::new(AtomicBool::new(false));
            let g = DropFlag(dropped.clone());
            let inner = async move {
                let _g = g;
                std::future::pending::<()>().await
            };
            let t0 = Instant::now();
            let r = future::select(
                Box::pin(timeout(Duration::MAX, inner)),
                Box::pin(sleep(Duration::from_millis(10))),
            )
            .await;
            assert!(matches!(r, Either::Right(_)), "the infinite timeout fired");
            drop(r);
            assert!(
                dropped.load(SeqCst),
                "the inner future is dropped with the Timeout"
            );
            assert!(t0.elapsed() >= Duration::from_millis(10));
        });
        // Inside a task as well.
        let r = rt
            .block_on(rt.spawn(async { timeout(Duration::MAX, tempo::task::yield_now()).await }))
            .unwrap();
        assert_eq!(r, Ok(()));
    });
}

#[test]
fn timeout_returns_ok_when_ready_even_if_deadline_passed() {
    within(LIMIT, || {
        for workers in [0usize, 1] {
            let rt = rt(workers);
            let past = Instant::now();
            std::thread::sleep(Duration::from_millis(2));
            let body = async move {
                // Ready inner future wins over a deadline already in the past.
                assert_eq!(timeout_at(past, async { 1 }).await, Ok(1));
                assert_eq!(timeout(Duration::ZERO, async { 2 }).await, Ok(2));
                // Pending inner future with a past deadline: Err at once.
                let t0 = Instant::now();
                assert!(timeout_at(past, std::future::pending::<()>())
                    .await
                    .is_err());
                assert!(t0.elapsed() < Duration::from_secs(1));
                // Ready after a while, before the deadline.
                let r = timeout(Duration::from_secs(5), async {
                    sleep(Duration::from_millis(2)).await;
                    3
                })
                .await;
                assert_eq!(r, Ok(3));
                // Not ready before the deadline: Err, and not early.
                let t0 = Instant::now();
                let r = timeout(Duration::from_millis(5), sleep(Duration::from_secs(60))).await;
                assert!(r.is_err());
                assert!(
                    t0.elapsed() >= Duration::from_millis(5),
                    "timeout fired early: {:?}",
                    t0.elapsed()
                );
            };
            rt.block_on(rt.spawn(body)).unwrap();
        }
    });
}

/// An `Elapsed` value obtained the public way.
async fn elapsed() -> Elapsed {
    timeout(Duration::ZERO, std::future::pending::<()>())
        .await
        .unwrap_err()
}

#[test]
fn elapsed_display_and_io_error() {
    within(LIMIT, || {
        let rt = rt(0);
        let e = rt.block_on(elapsed());
        assert_eq!(e.to_string(), "deadline has elapsed");
        let io: std::io::Error = e.into();
        assert_eq!(io.kind(), std::io::ErrorKind::TimedOut);
        // The block returns the (unawaited) timeout on purpose: its Debug form.
        #[allow(clippy::async_yields_async)]
        let t = rt.block_on(async { timeout(Duration::from_secs(1), async {}) });
        let dbg = format!("{t:?}");
        assert!(dbg.contains("Timeout"), "{dbg}");
    });
}

#[test]
fn timeout_drops_inner_future_before_returning_elapsed() {
    within(LIMIT, || {
        for workers in [0usize, 1] {
            let rt = rt(workers);
            let body = async {
                let dropped = Arc::new(AtomicBool::new(false));
                let g = DropFlag(dropped.clone());
                let inner = async move {
                    let _g = g;
                    sleep(Duration::from_secs(3600)).await;
                };
                let mut t = pin!(timeout(Duration::from_millis(3), inner));
                // Poll the Timeout manually so it is still alive when Err is observed.
                let r = future::poll_fn(|cx| match t.as_mut().poll(cx) {
                    Poll::Ready(r) => Poll::Ready((r, dropped.load(SeqCst))),
                    Poll::Pending => {
                        assert!(!dropped.load(SeqCst), "inner dropped while still pending");
                        Poll::Pending
                    }
                })
                .await;
                assert!(r.0.is_err(), "expected Elapsed");
                assert!(r.1, "the inner future must be dropped when Elapsed is returned, before the Timeout itself");
            };
            rt.block_on(rt.spawn(body)).unwrap();
            // And directly in block_on.
            let dropped = Arc::new(AtomicBool::new(false));
            let g = DropFlag(dropped.clone());
            let r = rt.block_on(async move {
                timeout(Duration::from_millis(2), async move {
                    let _g = g;
                    std::future::pending::<()>().await
                })
                .await
            });
            assert!(r.is_err());
            assert!(dropped.load(SeqCst));
        }
    });
}

#[test]
fn timers_in_futures_unordered_fire_in_deadline_order() {
    within(LIMIT, || {
        let _s = serial();
        for workers in [0usize, 2] {
            let rt = rt(workers);
            // Distinct durations, pushed in a scrambled order, 3 ms apart.
            let ms: Vec<u64> = vec![21, 3, 15, 9, 27, 0, 12, 6, 24, 18];
            let check = |out: Vec<(u64, bool)>, where_: &str| {
                assert_eq!(out.len(), ms.len(), "{where_}: every timer fired");
                assert!(
                    out.iter().all(|&(_, ok)| ok),
                    "{where_}: a timer fired early: {out:?}"
                );
                let got: Vec<u64> = out.iter().map(|&(m, _)| m).collect();
                let mut want = ms.clone();
                want.sort();
                assert_eq!(
                    got, want,
                    "{where_}: completion order is not deadline order"
                );
            };
            check(
                rt.block_on(rt.spawn(fu_sleeps(ms.clone()))).unwrap(),
                &format!("task, workers={workers}"),
            );
            check(
                rt.block_on(fu_sleeps(ms.clone())),
                &format!("block_on, workers={workers}"),
            );
        }
    });
}

/// Pushes one sleep per entry of `ms` into a FuturesUnordered and collects
/// `(ms, not_early)` in completion order.
async fn fu_sleeps(ms: Vec<u64>) -> Vec<(u64, bool)> {
    let mut fu = FuturesUnordered::new();
    for m in ms {
        let d = Duration::from_millis(m);
        let t0 = Instant::now();
        fu.push(async move {
            sleep(d).await;
            (m, t0.elapsed() >= d)
        });
    }
    let mut out = Vec::new();
    while let Some(x) = fu.next().await {
        out.push(x);
    }
    out
}

#[test]
fn many_timers_in_one_task_all_fire_and_none_early() {
    within(LIMIT, || {
        let seed = seed();
        let mut rng = Rng(seed);
        let rt = rt(1);
        let durs: Vec<Duration> = (0..200)
            .map(|_| Duration::from_micros(rng.next() % 20_000))
            .collect();
        let res = rt
            .block_on(rt.spawn(async move {
                future::join_all(durs.into_iter().map(|d| async move {
                    let t0 = Instant::now();
                    sleep(d).await;
                    (d, t0.elapsed())
                }))
                .await
            }))
            .unwrap();
        assert_eq!(res.len(), 200);
        let early: Vec<_> = res.iter().filter(|(d, e)| e < d).collect();
        assert!(early.is_empty(), "seed={seed}: early {early:?}");
    });
}

#[test]
fn timers_in_select_fire() {
    within(LIMIT, || {
        for workers in [0usize, 2] {
            let rt = rt(workers);
            let body = async {
                // futures::select! with a sleep and a never-ready branch.
                let t0 = Instant::now();
                let mut never = std::future::pending::<()>().fuse();
                let mut s = pin!(sleep(Duration::from_millis(4)).fuse());
                let which = futures::select! {
                    _ = never => "never",
                    _ = s => "sleep",
                };
                assert_eq!(which, "sleep");
                assert!(t0.elapsed() >= Duration::from_millis(4));

                // select! between two sleeps: the shorter wins.
                let mut a = pin!(sleep(Duration::from_millis(30)).fuse());
                let mut b = pin!(sleep(Duration::from_millis(2)).fuse());
                let which = futures::select! { _ = a => "a", _ = b => "b" };
                assert_eq!(which, "b");
                // The loser is still usable and completes later.
                a.await;

                // future::select.
                match future::select(
                    Box::pin(sleep(Duration::from_secs(3600))),
                    Box::pin(sleep(Duration::from_millis(1))),
                )
                .await
                {
                    Either::Left(_) => panic!("1 h sleep won"),
                    Either::Right(((), long)) => drop(long),
                }
                // select over a oneshot fired by another task.
                let (tx, rx) = futures::channel::oneshot::channel::<u8>();
                let _h = tempo::spawn(async move {
                    sleep(Duration::from_millis(2)).await;
                    let _ = tx.send(7);
                });
                match future::select(rx, Box::pin(sleep(Duration::from_secs(10)))).await {
                    Either::Left((v, _)) => assert_eq!(v, Ok(7)),
                    Either::Right(_) => panic!("10 s sleep won"),
                }
            };
            rt.block_on(rt.spawn(body)).unwrap();
        }
    });
}

#[test]
fn sleeps_directly_in_block_on() {
    within(LIMIT, || {
        let _s = serial();
        for workers in [0usize, 2] {
            let rt = rt(workers);
            for ms in [0u64, 1, 5, 20] {
                let d = Duration::from_millis(ms);
                let t0 = Instant::now();
                rt.block_on(async move { sleep(d).await });
                let el = t0.elapsed();
                assert!(
                    el >= d,
                    "workers={workers}: block_on(sleep({d:?})) returned after {el:?}"
                );
                assert!(
                    el < d + Duration::from_secs(1),
                    "workers={workers}: block_on(sleep({d:?})) took {el:?}"
                );
            }
        }
    });
}

#[test]
fn block_on_sleep_is_not_delayed_by_a_long_task_sleep_and_vice_versa() {
    within(LIMIT, || {
        let _s = serial();
        for workers in [0usize, 1] {
            let rt = rt(workers);
            // A task sleeping an hour must not stretch block_on's 5 ms sleep.
            let _long = rt.spawn(async { sleep(Duration::from_secs(3600)).await });
            let t0 = Instant::now();
            rt.block_on(async { sleep(Duration::from_millis(5)).await });
            let el = t0.elapsed();
            assert!(
                el >= Duration::from_millis(5) && el < Duration::from_secs(1),
                "workers={workers}: {el:?}"
            );
            // block_on's own 1 h sleep must not stop a task's 5 ms sleep from firing.
            let t0 = Instant::now();
            let short = rt.spawn(async { sleep(Duration::from_millis(5)).await });
            let r = rt.block_on(async move {
                matches!(
                    future::select(Box::pin(sleep(Duration::from_secs(3600))), short).await,
                    Either::Right(_)
                )
            });
            assert!(r, "task finished first");
            let el = t0.elapsed();
            assert!(
                el >= Duration::from_millis(5) && el < Duration::from_secs(1),
                "workers={workers}: {el:?}"
            );
        }
    });
}

#[test]
fn manual_clock_hour_sleep_completes_after_advance_without_waiting() {
    within(LIMIT, || {
        for workers in [0usize, 1, 2] {
            let clock = ManualClock::new();
            let rt = manual_rt(workers, &clock);
            let real0 = Instant::now();
            let start = clock.now();
            let started = Arc::new(AtomicBool::new(false));
            let st = started.clone();
            let h = rt.spawn(async move {
                let s = sleep(Duration::from_secs(3600)); // deadline: start + 1 h
                st.store(true, SeqCst);
                s.await
            });
            // Make sure the task created its sleep before the clock moves.
            let st = started.clone();
            rt.block_on(async move {
                while !st.load(SeqCst) {
                    tempo::task::yield_now().await;
                }
            });
            std::thread::sleep(Duration::from_millis(5));
            assert!(!h.is_finished(), "no time passed on the manual clock");
            let c = clock.clone();
            rt.block_on(async move {
                // The block_on future sleeps an hour too.
                let own = sleep(Duration::from_secs(3600));
                c.advance(Duration::from_secs(1800));
                let mut own = pin!(own);
                assert!(
                    futures::poll!(own.as_mut()).is_pending(),
                    "half an hour is not an hour"
                );
                c.advance(Duration::from_secs(1800));
                own.await;
                h.await.unwrap();
            });
            assert_eq!(clock.now() - start, Duration::from_secs(3600));
            let real = real0.elapsed();
            assert!(
                real < Duration::from_secs(2),
                "workers={workers}: an hour of manual time took {real:?} of real time"
            );
        }
    });
}

#[test]
fn manual_clock_advance_from_another_thread_wakes_block_on() {
    within(LIMIT, || {
        for workers in [0usize, 2] {
            let clock = ManualClock::new();
            let rt = manual_rt(workers, &clock);
            let c = clock.clone();
            let th = std::thread::spawn(move || {
                for _ in 0..60 {
                    std::thread::sleep(Duration::from_millis(1));
                    c.advance(Duration::from_secs(60));
                }
            });
            let start = clock.now();
            rt.block_on(async { sleep(Duration::from_secs(3600)).await });
            assert!(
                clock.now() - start >= Duration::from_secs(3600),
                "woke before the manual hour passed"
            );
            th.join().unwrap();
        }
    });
}

#[test]
fn manual_clock_timeout_and_real_time_independence() {
    within(LIMIT, || {
        let clock = ManualClock::new();
        let rt = manual_rt(1, &clock);
        let c = clock.clone();
        let r = rt
            .block_on(rt.spawn(async move {
                // Real time passing does not fire a manual-clock deadline.
                let r = future::select(
                    Box::pin(timeout(
                        Duration::from_millis(1),
                        std::future::pending::<()>(),
                    )),
                    Box::pin(async {
                        std::thread::sleep(Duration::from_millis(5)); // real time, blocking
                        tempo::task::yield_now().await;
                        tempo::task::yield_now().await;
                    }),
                )
                .await;
                assert!(
                    matches!(r, Either::Right(_)),
                    "manual-clock timeout fired on real time"
                );
                // Advancing does.
                let t = timeout(Duration::from_secs(10), std::future::pending::<()>());
                let mut t = pin!(t);
                assert!(futures::poll!(t.as_mut()).is_pending());
                c.advance(Duration::from_secs(10));
                t.await
            }))
            .unwrap();
        assert!(r.is_err());
    });
}

#[test]
fn sleep_reset_moves_the_deadline() {
    within(LIMIT, || {
        for workers in [0usize, 1] {
            let rt = rt(workers);
            let body = async {
                // Earlier: an hour-long sleep, already registered, reset to 3 ms.
                let mut s = Box::pin(sleep(Duration::from_secs(3600)));
                assert!(futures::poll!(s.as_mut()).is_pending());
                let when = Instant::now() + Duration::from_millis(3);
                s.as_mut().reset(when);
                assert_eq!(s.deadline(), Some(when));
                let t0 = Instant::now();
                s.as_mut().await;
                assert!(Instant::now() >= when);
                assert!(
                    t0.elapsed() < Duration::from_secs(1),
                    "reset to an earlier deadline was ignored"
                );

                // Reuse after completion: reset to a later deadline, await again.
                let when2 = Instant::now() + Duration::from_millis(4);
                s.as_mut().reset(when2);
                assert!(!s.is_elapsed());
                s.as_mut().await;
                assert!(
                    Instant::now() >= when2,
                    "completed before the reset deadline"
                );

                // Later: a short sleep, registered, pushed back: must not fire at the old deadline.
                let mut s = Box::pin(sleep(Duration::from_millis(2)));
                assert!(futures::poll!(s.as_mut()).is_pending());
                let later = Instant::now() + Duration::from_millis(15);
                s.as_mut().reset(later);
                s.as_mut().await;
                assert!(
                    Instant::now() >= later,
                    "fired at the old, earlier deadline"
                );
            };
            rt.block_on(rt.spawn(body)).unwrap();
        }
    });
}

#[test]
fn sleep_moved_between_tasks_still_fires() {
    within(LIMIT, || {
        let rt = rt(2);
        let (tx, rx) =
            futures::channel::oneshot::channel::<std::pin::Pin<Box<tempo::time::Sleep>>>();
        let (keep_tx, keep_rx) = futures::channel::oneshot::channel::<()>();
        let when = Instant::now() + Duration::from_millis(10);
        // Task A registers the sleep in its own timer list, then hands it over
        // and stays alive (its stale entry must fire harmlessly).
        let a = rt.spawn(async move {
            let mut s = Box::pin(sleep_until(when));
            assert!(futures::poll!(s.as_mut()).is_pending());
            tx.send(s).ok().unwrap();
            let _ = keep_rx.await;
        });
        let b = rt.spawn(async move {
            let s = rx.await.unwrap();
            s.await;
            Instant::now() >= when
        });
        assert!(rt.block_on(b).unwrap(), "moved sleep fired early");
        keep_tx.send(()).unwrap();
        rt.block_on(a).unwrap();

        // From block_on into a task.
        let (tx, rx) =
            futures::channel::oneshot::channel::<std::pin::Pin<Box<tempo::time::Sleep>>>();
        let when = Instant::now() + Duration::from_millis(5);
        let b = rt.spawn(async move {
            rx.await.unwrap().await;
            Instant::now() >= when
        });
        rt.block_on(async move {
            let mut s = Box::pin(sleep_until(when));
            assert!(futures::poll!(s.as_mut()).is_pending());
            tx.send(s).ok().unwrap();
        });
        assert!(rt.block_on(b).unwrap());
    });
}

/// Task ids are unique across runtimes, and a sleep registered by a task of
/// one runtime and moved to a task of another still waits for its deadline.
/// (Timer entries are keyed by the owner's id, so two runtimes handing out
/// the same ids made such a sleep read the other task's slab: it completed
/// at once, early.)
#[test]
fn sleep_moved_between_runtimes_never_fires_early() {
    within(LIMIT, || {
        // Two runtimes built alike, spawning in the same order.
        let (ra, rb) = (rt(1), rt(1));
        let when = Instant::now() + Duration::from_millis(300);
        let a = ra.spawn(async move {
            let mut s = Box::pin(sleep_until(when));
            assert!(futures::poll!(s.as_mut()).is_pending());
            Some(s) // (wrapped: an async block yielding a future trips clippy)
        });
        let (tx, rx) =
            futures::channel::oneshot::channel::<std::pin::Pin<Box<tempo::time::Sleep>>>();
        let b = rb.spawn(async move {
            let s = rx.await.unwrap();
            s.await;
            Instant::now() >= when
        });
        assert_ne!(a.id(), b.id(), "task ids collide across runtimes");
        let s = ra.block_on(a).unwrap().unwrap();
        tx.send(s).ok().unwrap();
        assert!(
            rb.block_on(b).unwrap(),
            "sleep moved across runtimes fired early"
        );
    });
}

#[test]
fn wait_until_reports_expired_with_manual_clock() {
    within(LIMIT, || {
        let clock = ManualClock::new();
        let rt = manual_rt(1, &clock);
        let deadline = clock.now() + Duration::from_secs(3600);
        let h = rt.spawn(async move { task::wait_until(deadline).await });
        std::thread::sleep(Duration::from_millis(10));
        assert!(!h.is_finished());
        clock.advance(Duration::from_secs(3599));
        std::thread::sleep(Duration::from_millis(10));
        assert!(!h.is_finished(), "wait_until fired a second early");
        clock.advance(Duration::from_secs(1));
        assert_eq!(rt.block_on(h).unwrap(), WaitOutcome::Expired);

        // wait_timeout too. Its deadline is read from the clock when the task
        // first polls it, which on a loaded machine may come after an
        // advance made from here: advance until it fires (a lost deadline
        // would still hang, caught by `within`).
        let h = rt.spawn(async { task::wait_timeout(Duration::from_secs(60)).await });
        std::thread::sleep(Duration::from_millis(5));
        let mut advances = 0;
        while !h.is_finished() && advances < 100 {
            clock.advance(Duration::from_secs(60));
            advances += 1;
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(rt.block_on(h).unwrap(), WaitOutcome::Expired);
    });
}

/// A deadline 584+ years out is "never" even when a manual clock saturates
/// (`advance(Duration::MAX)`): the task is not re-run in a loop. Regression:
/// deadline and reading both saturated to the same tick, so the sched role
/// fired the task every round while its own timer (on real instants) was not
/// due, a busy loop.
#[test]
fn a_never_deadline_does_not_spin_when_a_manual_clock_saturates() {
    within(LIMIT, || {
        let clock = ManualClock::new();
        let rt = manual_rt(1, &clock);
        let polls = Arc::new(AtomicUsize::new(0));
        let p = polls.clone();
        let far = Duration::from_secs(600 * 365 * 24 * 3600);
        let mut s = Box::pin(sleep(far));
        let h = rt.spawn(future::poll_fn(move |cx| {
            p.fetch_add(1, SeqCst);
            s.as_mut().poll(cx)
        }));
        let t0 = Instant::now();
        while polls.load(SeqCst) == 0 {
            assert!(t0.elapsed() < Duration::from_secs(2), "never polled");
            std::thread::sleep(Duration::from_millis(1));
        }
        clock.advance(Duration::MAX);
        std::thread::sleep(Duration::from_millis(50));
        let n = polls.load(SeqCst);
        assert!(
            n <= 2,
            "the task was polled {n} times after the clock saturated"
        );
        assert!(!h.is_finished(), "a sleep of 600 years completed");
        h.abort();
    });
}

#[test]
fn manual_clock_basics() {
    let c = ManualClock::new();
    let t0 = c.now();
    std::thread::sleep(Duration::from_millis(2));
    assert_eq!(c.now(), t0, "a manual clock does not move by itself");
    c.advance(Duration::from_millis(5));
    assert_eq!(c.now() - t0, Duration::from_millis(5));
    let c2 = c.clone();
    c2.advance(Duration::from_secs(1));
    assert_eq!(
        c.now() - t0,
        Duration::from_millis(1005),
        "clones share the time"
    );
    c.advance(Duration::MAX); // saturates, no panic
    assert!(c.now() > t0);
    assert!(format!("{c:?}").contains("ManualClock"));
}

/// The documented usage `rt.block_on(tempo::time::sleep(d))` (doc examples of
/// `sleep`, `sleep_until`, `JoinHandle::is_finished`, `ManualClock`,
/// `Runtime::shutdown_timeout`): the sleep is *created* outside the runtime.
#[test]
fn sleep_created_outside_the_runtime_as_in_the_docs() {
    within(LIMIT, || {
        let rt = rt(1);
        let t0 = Instant::now();
        rt.block_on(sleep(Duration::from_millis(2)));
        assert!(t0.elapsed() >= Duration::from_millis(2));
        let h = rt.spawn(sleep(Duration::from_millis(1)));
        rt.block_on(h).unwrap();
    });
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545F4914F6CDD1D)
    }
}

/// `timeout`'s duration counts from the first poll that finds the inner
/// future pending (the timer is armed lazily; `timeout_at` keeps its instant).
#[test]
fn timeout_counts_from_first_pending_poll() {
    within(Duration::from_secs(20), || {
        let clock = ManualClock::new();
        let rt = manual_rt(0, &clock);
        let c = clock.clone();
        rt.block_on(async move {
            let t0 = c.now();
            let lazy = timeout(Duration::from_secs(10), std::future::pending::<()>());
            let fixed = timeout_at(t0 + Duration::from_secs(10), std::future::pending::<()>());
            c.advance(Duration::from_secs(20)); // before either is polled
            let mut lazy = pin!(lazy);
            let mut fixed = pin!(fixed);
            // `timeout_at`'s instant has passed; `timeout` only starts now.
            assert!(matches!(
                futures::poll!(fixed.as_mut()),
                Poll::Ready(Err(_))
            ));
            assert_eq!(futures::poll!(lazy.as_mut()), Poll::Pending);
            c.advance(Duration::from_secs(9));
            assert_eq!(futures::poll!(lazy.as_mut()), Poll::Pending);
            c.advance(Duration::from_secs(1));
            assert!(matches!(futures::poll!(lazy.as_mut()), Poll::Ready(Err(_))));
        });
    })
}

/// A `sleep` answers its first poll from the reading taken when it was
/// created (`time/sleep.rs` invariant 3): a deadline that passed between
/// creation and first poll is registered and still fires (late by one
/// scheduler step, never early), on the block_on frame and in tasks, with
/// 0, 1 and 2 workers; a completed sleep polled again is ready at once; a
/// zero sleep is ready at its first poll.
#[test]
fn sleep_whose_deadline_passes_before_its_first_poll_still_fires() {
    within(LIMIT, || {
        for workers in [0usize, 1, 2] {
            let rt = rt(workers);
            let check = || async {
                let t0 = Instant::now();
                let s = sleep(Duration::from_millis(1));
                // Pass the deadline without yielding: the first poll comes late.
                std::thread::sleep(Duration::from_millis(3));
                let mut s = pin!(s);
                s.as_mut().await;
                assert!(t0.elapsed() >= Duration::from_millis(1));
                assert!(s.is_elapsed());
                // Completed: polled again, ready without a wake.
                assert_eq!(futures::poll!(s.as_mut()), Poll::Ready(()));
                assert_eq!(futures::poll!(sleep(Duration::ZERO)), Poll::Ready(()));
            };
            rt.block_on(check());
            let hs: Vec<_> = (0..4).map(|_| rt.spawn(check())).collect();
            rt.block_on(async move {
                for h in hs {
                    h.await.unwrap();
                }
            });
        }
    });
}

/// `Sleep::reset` before the first poll keeps "the clock is the polling
/// runtime's": a sleep created outside any runtime, reset, then awaited on
/// a `ManualClock` runtime waits for `advance`. (It used to keep the real
/// clock it was created with, and completed at its first poll once real
/// time had passed the deadline.)
#[test]
fn reset_before_the_first_poll_keeps_the_runtime_clock() {
    within(LIMIT, || {
        let clock = ManualClock::new();
        let rt = manual_rt(1, &clock);
        let deadline = clock.now() + Duration::from_millis(10);
        let mut s = Box::pin(sleep_until(deadline)); // outside any runtime
        s.as_mut().reset(deadline);
        std::thread::sleep(Duration::from_millis(20)); // real time passes it
        let h = rt.spawn(s);
        std::thread::sleep(Duration::from_millis(30));
        assert!(
            !h.is_finished(),
            "completed before the manual clock reached it"
        );
        clock.advance(Duration::from_millis(10));
        rt.block_on(h).unwrap();
    });
}

/// A timer is compared with the clock it was created with, so polling it on
/// a runtime with another clock is a misuse that panics with a message
/// naming it (`time/timer.rs` invariant 4). It used to complete early: a
/// one-hour sleep of the real clock moved into a manual-clock runtime
/// completed at the first `advance`, and a 20 ms sleep of a manual clock
/// moved into a real-clock runtime completed after 20 ms of real time
/// although its clock never moved.
#[test]
fn a_timer_polled_on_a_runtime_with_another_clock_panics() {
    within(LIMIT, || {
        let clock = ManualClock::new();
        for real_to_manual in [true, false] {
            let (ra, rb) = if real_to_manual {
                (rt(1), manual_rt(1, &clock))
            } else {
                (manual_rt(1, &clock), rt(1))
            };
            let a = ra.spawn(async {
                let mut s = Box::pin(sleep(Duration::from_secs(3600)));
                assert!(futures::poll!(s.as_mut()).is_pending());
                Some(s) // (wrapped: an async block yielding a future trips clippy)
            });
            let s = ra.block_on(a).unwrap().unwrap();
            let err = rb.block_on(rb.spawn(s)).unwrap_err();
            let msg = err.to_string();
            assert!(
                err.is_panic() && msg.contains("polled on a runtime with another"),
                "real_to_manual={real_to_manual}: {msg}"
            );
            // The same clock (a clone of the manual clock) is not a misuse.
            if !real_to_manual {
                let rc = manual_rt(1, &clock.clone());
                let a = ra.spawn(async {
                    let mut s = Box::pin(sleep(Duration::from_millis(5)));
                    assert!(futures::poll!(s.as_mut()).is_pending());
                    Some(s)
                });
                let s = ra.block_on(a).unwrap().unwrap();
                let h = rc.spawn(s);
                clock.advance(Duration::from_millis(5));
                rc.block_on(h).unwrap();
            }
        }
        // `wait_until` created in a manual-clock task, moved to a real one.
        let (ra, rb) = (manual_rt(1, &clock), rt(1));
        let when = clock.now() + Duration::from_secs(3600);
        let a = ra.spawn(async move {
            let mut w = Box::pin(task::wait_until(when));
            assert!(futures::poll!(w.as_mut()).is_pending());
            Some(w)
        });
        let w = ra.block_on(a).unwrap().unwrap();
        let err = rb.block_on(rb.spawn(w)).unwrap_err();
        assert!(err.to_string().contains("another"), "{err}");
    });
}

/// A task-local timer whose waker panics (a `Sleep` polled by a task with a
/// foreign waker) fires on the worker, which wakes that waker before it runs
/// the task again. The worker used to die of the panic, the runtime ran no
/// task any more, and `Runtime`'s drop waited for the dead worker forever.
#[test]
fn a_panicking_timer_waker_does_not_kill_the_worker() {
    within(LIMIT, || {
        let rt = rt(1);
        let h = rt.spawn(async {
            let mut s = Box::pin(sleep(Duration::from_millis(1)));
            {
                let waker = std::task::Waker::from(Arc::new(PanickingWaker));
                let mut cx = std::task::Context::from_waker(&waker);
                assert!(s.as_mut().poll(&mut cx).is_pending());
            }
            // Run again after the panicking timer expired.
            sleep(Duration::from_millis(20)).await;
            drop(s);
            3
        });
        assert_eq!(rt.block_on(h).unwrap(), 3);
        assert_eq!(rt.block_on(rt.spawn(async { 4 })).unwrap(), 4);
        drop(rt); // returned before the `within` limit: no hang
    });
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

/// Timers are task-local (DESIGN, "time"; cnetmod's weakness: "a kernel
/// object per timer"): 10,000 pending sleeps on 10,000 tasks, and 1,000
/// pending timeouts in one task, open no file descriptor (no timerfd per
/// timer). Other tests of this binary may open a few descriptors meanwhile
/// (their runtimes), hence the slack; one per timer would be thousands.
#[test]
fn pending_timers_open_no_kernel_objects() {
    within(Duration::from_secs(20), || {
        for workers in [0usize, 2] {
            let rt = rt(workers);
            // The runtime's own descriptors exist once it ran something.
            rt.block_on(sleep(Duration::from_micros(10)));
            let before = open_fds();
            let started = Arc::new(AtomicUsize::new(0));
            let hs: Vec<_> = (0..10_000)
                .map(|_| {
                    let s = started.clone();
                    rt.spawn(async move {
                        s.fetch_add(1, SeqCst);
                        sleep(Duration::from_secs(3600)).await;
                    })
                })
                .collect();
            let (tx, rx) = std::sync::mpsc::channel();
            let many = rt.spawn(async move {
                let mut fu: FuturesUnordered<_> = (0..1000u64)
                    .map(|i| timeout(Duration::from_secs(3600 + i), future::pending::<()>()))
                    .collect();
                assert!(futures::poll!(fu.next()).is_pending());
                tx.send(()).unwrap();
                fu.next().await;
            });
            rt.block_on(async {
                let t0 = Instant::now();
                while started.load(SeqCst) < 10_000 {
                    assert!(
                        t0.elapsed() < Duration::from_secs(10),
                        "tasks did not start"
                    );
                    sleep(Duration::from_millis(1)).await;
                }
                // Every task is parked on its sleep once its first poll ended.
                sleep(Duration::from_millis(20)).await;
            });
            rx.recv_timeout(Duration::from_secs(10)).unwrap();
            let during = open_fds();
            assert!(
                during < before + 100,
                "workers={workers}: {} descriptors opened for 11,000 pending timers",
                during.saturating_sub(before)
            );
            for h in &hs {
                h.abort();
            }
            many.abort();
        }
    });
}
