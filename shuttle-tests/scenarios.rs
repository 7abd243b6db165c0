//! Larger shuttle scenarios: 4–8 threads, hundreds of tasks, tasks waking
//! each other, deadlines on an injected [`ManualClock`], aborts, and shutdown
//! racing all of it.
//!
//! One execution of these is 10–100 times longer than one of the readiness
//! scenarios or the loom bodies, so each runs [`big_iterations`] under each
//! scheduler: `TEMPO_SHUTTLE_ITERS / 4` with `--release` (250 by default),
//! `TEMPO_SHUTTLE_ITERS / 20` in a debug build (50 by default), at least 1;
//! raise `TEMPO_SHUTTLE_ITERS` for a longer soak.
//!
//! | test | scenario |
//! |---|---|
//! | `ring_of_wakeups` | 4 workers + 2 outside threads; 200 tasks in a ring, each `wait()`s then wakes its successor; both outside threads wake the first; strict ring order, all complete |
//! | `deadlines_vs_signals` | 3 workers, 100 tasks in `wait_until` on a `ManualClock`; one thread advances the clock in 1 ms steps, another sends signals/wakeups to random tasks; never early, each completes once, outcomes consistent with what was sent |
//! | `spawners_and_aborts` | 4 workers + 4 spawner threads, 50 tasks each (25 victim/killer pairs): tasks yield, killers abort and await their victims, spawners abort some killers; every future dropped exactly once, every held handle resolves |
//! | `shutdown_vs_everything` | 3 workers; 16 waiting tasks; outside threads wake/signal them, abort some, spawn more, while the main thread drops the runtime; no hang, every future dropped exactly once, every handle resolves |
//!
//! Test bookkeeping (drop counters, outcome records, "a signal was sent"
//! flags) uses `std` atomics: shuttle runs every model thread on one OS
//! thread, so they are exact and add no scheduling points. Randomness (which
//! task to signal) comes from `shuttle::rand`, so a failing schedule replays.

use crate::{big_iterations, check_n};
use shuttle::rand::{thread_rng, Rng};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;
use tempo::task::{self, TaskRef, WaitOutcome};
use tempo::time::ManualClock;
use tempo::JoinHandle;

fn rt(workers: usize) -> tempo::Runtime {
    crate::rt(workers)
}

/// Per-task drop counters (bookkeeping).
struct Drops(Vec<AtomicUsize>);
impl Drops {
    fn new(n: usize) -> Arc<Drops> {
        Arc::new(Drops((0..n).map(|_| AtomicUsize::new(0)).collect()))
    }
    fn get(&self, i: usize) -> usize {
        self.0[i].load(SeqCst)
    }
    /// Asserts every counter is exactly 1.
    fn assert_each_once(&self, what: &str) {
        for (i, c) in self.0.iter().enumerate() {
            assert_eq!(
                c.load(SeqCst),
                1,
                "{what}: future {i} dropped {} times",
                c.load(SeqCst)
            );
        }
    }
}

/// Increments counter `i` of a [`Drops`] when dropped; moved into a future,
/// it counts the future's drops.
struct DropCount(Arc<Drops>, usize);
impl Drop for DropCount {
    fn drop(&mut self) {
        self.0 .0[self.1].fetch_add(1, SeqCst);
    }
}

/// Counters summed over every execution of a test, printed after it: they
/// show that the races under test were actually exercised.
struct Tally(Vec<(&'static str, AtomicUsize)>);
impl Tally {
    fn new(names: &[&'static str]) -> Arc<Tally> {
        Arc::new(Tally(
            names.iter().map(|n| (*n, AtomicUsize::new(0))).collect(),
        ))
    }
    fn add(&self, k: usize, n: usize) {
        self.0[k].1.fetch_add(n, SeqCst);
    }
    fn print(&self, name: &str) {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|(n, c)| format!("{n} {}", c.load(SeqCst)))
            .collect();
        eprintln!("shuttle {name}: over all executions: {}", parts.join(", "));
    }
}

/// Polls a handle once with a no-op waker (after shutdown: it must be ready).
fn poll_once<T>(h: &mut JoinHandle<T>) -> Poll<Result<T, tempo::JoinError>> {
    let mut cx = Context::from_waker(futures::task::noop_waker_ref());
    Pin::new(h).poll(&mut cx)
}

/// (a) 4 workers + 2 outside threads (+ the main thread joining), 200 tasks
/// in a ring: task `i` waits (`task::wait()`), takes the next position of a
/// shared counter, then wakes task `i + 1` through its `TaskRef`; the last
/// wakes task 0 again (already complete: a harmless wakeup of a finished
/// task). Both outside threads wake task 0 (two racing, idempotent wakeups).
///
/// Checks: every task completes with `Woken`, in strict ring order (task `i`
/// saw position `i`: `wait()` never returns without a wakeup, and no wakeup
/// is lost, or shuttle reports a deadlock).
#[test]
fn ring_of_wakeups() {
    const N: usize = 200;
    check_n("scenarios::ring_of_wakeups", big_iterations(), || {
        let rt = rt(4);
        let pos = Arc::new(AtomicUsize::new(0));
        let first: Arc<OnceLock<TaskRef>> = Arc::new(OnceLock::new());
        // Spawned last to first, so each task owns its successor's TaskRef;
        // the workers already run the later tasks (to their `wait`) meanwhile.
        let mut next: Option<TaskRef> = None;
        let mut handles = Vec::with_capacity(N);
        for _ in 0..N {
            let succ = next.take();
            let first = first.clone();
            let pos = pos.clone();
            let h = rt.spawn(async move {
                let o = task::wait().await;
                let p = pos.fetch_add(1, SeqCst);
                match succ {
                    Some(s) => s.wakeup(),
                    None => first.get().expect("task 0 registered").wakeup(),
                }
                (o, p)
            });
            next = Some(h.task_ref());
            handles.push(h);
        }
        handles.reverse();
        let t0 = next.unwrap();
        first.set(t0.clone()).unwrap();
        let t1 = t0.clone();
        let a = shuttle::thread::spawn(move || t0.wakeup());
        let b = shuttle::thread::spawn(move || t1.wakeup());
        let got = rt.block_on(async move {
            let mut got = Vec::with_capacity(N);
            for h in handles {
                got.push(h.await.unwrap());
            }
            got
        });
        for (i, (o, p)) in got.into_iter().enumerate() {
            assert_eq!(o, WaitOutcome::Woken, "task {i}");
            assert_eq!(p, i, "task {i} ran out of ring order");
        }
        a.join().unwrap();
        b.join().unwrap();
    });
}

/// (b) 3 workers, 100 tasks each in `wait_until(deadline)`, deadlines
/// `base + (i % 11) ms` on a `ManualClock` (so some are already due at
/// spawn); an outside thread advances the clock by 1 ms ten times, another
/// sends 20 signals or wakeups to random tasks (recording each in a flag
/// *before* sending it).
///
/// Checks, per task: it completed exactly once; `Expired` only when the
/// clock (read right after the wait returned) is at or past its deadline
/// (never early); `Signaled` only if a signal was sent to it, and then
/// `receive_signal()` takes it; `Woken` only if a wakeup was sent to it; a
/// task sent nothing expired. In total: the outcomes add up to 100, and no
/// more tasks were `Signaled` / `Woken` than were sent one. All complete
/// because the clock ends past every deadline (a lost expiry is a deadlock).
#[test]
fn deadlines_vs_signals() {
    const N: usize = 100;
    const STEPS: u64 = 10;
    const SENDS: usize = 20;
    let tally = Tally::new(&["Expired", "Signaled", "Woken"]);
    let tally2 = tally.clone();
    check_n(
        "scenarios::deadlines_vs_signals",
        big_iterations(),
        move || {
            let tally = &tally2;
            let clock = ManualClock::new();
            let rt = tempo::Runtime::builder()
                .worker_threads(3)
                .manual_clock(&clock)
                .build()
                .unwrap();
            let base = clock.now();
            let flags = |n| Arc::new((0..n).map(|_| AtomicBool::new(false)).collect::<Vec<_>>());
            let (signaled, woken) = (flags(N), flags(N));
            let runs = Arc::new((0..N).map(|_| AtomicUsize::new(0)).collect::<Vec<_>>());
            let mut handles = Vec::with_capacity(N);
            let mut refs = Vec::with_capacity(N);
            for i in 0..N {
                let deadline = base + Duration::from_millis(i as u64 % (STEPS + 1));
                let (clock, runs) = (clock.clone(), runs.clone());
                let h = rt.spawn(async move {
                    let o = task::wait_until(deadline).await;
                    let now = clock.now();
                    let received = o == WaitOutcome::Signaled && task::receive_signal();
                    runs[i].fetch_add(1, SeqCst);
                    (o, now >= deadline, received)
                });
                refs.push(h.task_ref());
                handles.push(h);
            }
            let c2 = clock.clone();
            let advancer = shuttle::thread::spawn(move || {
                for _ in 0..STEPS {
                    c2.advance(Duration::from_millis(1));
                }
            });
            let (s2, w2) = (signaled.clone(), woken.clone());
            let sender = shuttle::thread::spawn(move || {
                let mut rng = thread_rng();
                for _ in 0..SENDS {
                    let i = rng.gen_range(0..N);
                    if rng.gen_bool(0.5) {
                        s2[i].store(true, SeqCst);
                        refs[i].signal();
                    } else {
                        w2[i].store(true, SeqCst);
                        refs[i].wakeup();
                    }
                }
            });
            let got = rt.block_on(async move {
                let mut got = Vec::with_capacity(N);
                for h in handles {
                    got.push(h.await.unwrap());
                }
                got
            });
            advancer.join().unwrap();
            sender.join().unwrap();
            let mut count = [0usize; 3];
            for (i, (o, reached, received)) in got.into_iter().enumerate() {
                assert_eq!(runs[i].load(SeqCst), 1, "task {i} completed more than once");
                let (s, w) = (signaled[i].load(SeqCst), woken[i].load(SeqCst));
                match o {
                    WaitOutcome::Expired => {
                        count[0] += 1;
                        assert!(reached, "task {i} expired before its deadline");
                    }
                    WaitOutcome::Signaled => {
                        count[1] += 1;
                        assert!(s, "task {i} Signaled but no signal was sent");
                        assert!(received, "task {i} Signaled but receive_signal() was false");
                    }
                    WaitOutcome::Woken => {
                        count[2] += 1;
                        assert!(w, "task {i} Woken but no wakeup was sent");
                    }
                }
                if !s && !w {
                    assert_eq!(o, WaitOutcome::Expired, "task {i} was sent nothing");
                }
            }
            let sent = |f: &Vec<AtomicBool>| f.iter().filter(|b| b.load(SeqCst)).count();
            assert_eq!(count.iter().sum::<usize>(), N);
            assert!(count[1] <= sent(&signaled), "{count:?}");
            assert!(count[2] <= sent(&woken), "{count:?}");
            assert!(clock.now() >= base + Duration::from_millis(STEPS));
            for (k, c) in count.iter().enumerate() {
                tally.add(k, *c);
            }
        },
    );
    tally.print("scenarios::deadlines_vs_signals");
}

/// (c) 8 threads besides the main one: 4 workers + 4 spawner threads, each
/// spawning 50 tasks through a `Handle`: 25 pairs of a *victim* (yields
/// 1–4 times, returns its number) and a *killer* that owns the victim's
/// `JoinHandle`, yields 0–2 times, aborts the victim (every other pair),
/// and awaits it. Every fifth killer is itself aborted by its spawner after
/// the next pair is spawned (its victim is then detached and runs on).
///
/// Checks: every handle the main thread holds resolves (`Ok`, or cancelled:
/// never a panic); a victim the killer did not abort returns `Ok`; a
/// resolved task's future was already dropped (exactly once); after the
/// runtime is dropped, every one of the 200 futures was dropped exactly once.
#[test]
fn spawners_and_aborts() {
    const SPAWNERS: usize = 4;
    const PAIRS: usize = 25; // 50 tasks per spawner
    let tally = Tally::new(&["victims cancelled", "killers cancelled"]);
    let tally2 = tally.clone();
    check_n(
        "scenarios::spawners_and_aborts",
        big_iterations(),
        move || {
            let tally = tally2.clone();
            let rt = rt(4);
            let drops = Drops::new(SPAWNERS * PAIRS * 2);
            let spawners: Vec<_> = (0..SPAWNERS)
                .map(|s| {
                    let (handle, drops) = (rt.handle(), drops.clone());
                    shuttle::thread::spawn(move || {
                        let mut killers: Vec<(usize, JoinHandle<_>)> = Vec::with_capacity(PAIRS);
                        for j in 0..PAIRS {
                            let (v, k) = ((s * PAIRS + j) * 2, (s * PAIRS + j) * 2 + 1);
                            let dv = DropCount(drops.clone(), v);
                            let victim = handle.spawn(async move {
                                let _d = dv;
                                for _ in 0..=j % 4 {
                                    task::yield_now().await;
                                }
                                j
                            });
                            let dk = DropCount(drops.clone(), k);
                            let d2 = drops.clone();
                            let killer = handle.spawn(async move {
                                let _d = dk;
                                for _ in 0..j % 3 {
                                    task::yield_now().await;
                                }
                                let abort = j % 2 == 0;
                                if abort {
                                    victim.abort();
                                }
                                let r = victim.await;
                                // The victim's future is gone once its handle resolved.
                                assert_eq!(
                                    d2.get(v),
                                    1,
                                    "victim {v} resolved before its future dropped"
                                );
                                match r {
                                    Ok(x) => {
                                        assert_eq!(x, j);
                                        false
                                    }
                                    Err(e) => {
                                        assert!(abort && e.is_cancelled(), "victim {v}: {e:?}");
                                        true
                                    }
                                }
                            });
                            if let Some((_, prev)) = killers.last() {
                                if j % 5 == 0 {
                                    prev.abort();
                                }
                            }
                            killers.push((k, killer));
                        }
                        killers
                    })
                })
                .collect();
            let killers: Vec<(usize, JoinHandle<bool>)> = spawners
                .into_iter()
                .flat_map(|t| t.join().unwrap())
                .collect();
            let d2 = drops.clone();
            rt.block_on(async move {
                for (k, h) in killers {
                    match h.await {
                        Ok(victim_cancelled) => tally.add(0, usize::from(victim_cancelled)),
                        Err(e) => {
                            assert!(e.is_cancelled(), "killer {k}: {e:?}");
                            tally.add(1, 1);
                        }
                    }
                    assert_eq!(
                        d2.get(k),
                        1,
                        "killer {k} resolved before its future dropped"
                    );
                }
            });
            drop(rt);
            drops.assert_each_once("spawners_and_aborts");
        },
    );
    tally.print("scenarios::spawners_and_aborts");
}

/// (d) Shutdown racing everything. 3 workers; 16 tasks that loop on
/// `wait()` (taking signals), every fourth returning after its second run.
/// Outside threads meanwhile: one wakes every task twice over, one signals
/// every other task and aborts four of them, one spawns 4 more tasks
/// through a `Handle` (before or after shutdown began); the main thread
/// waits until a random number (0–12) of task runs happened, then drops the
/// runtime.
///
/// Checks: no hang (a hang is shuttle's deadlock or step-limit report);
/// after the drop and the joins, every one of the 20 futures was dropped
/// exactly once, and every handle is ready, with `Ok` or a cancellation
/// (never a panic).
#[test]
fn shutdown_vs_everything() {
    const N: usize = 16;
    const LATE: usize = 4;
    let tally = Tally::new(&["handles Ok", "handles cancelled", "late spawns Ok"]);
    let tally2 = tally.clone();
    check_n(
        "scenarios::shutdown_vs_everything",
        big_iterations(),
        move || {
            let tally = &tally2;
            let rt = rt(3);
            let drops = Drops::new(N + LATE);
            let runs = Arc::new(AtomicUsize::new(0));
            let handles: Arc<Vec<JoinHandle<usize>>> = Arc::new(
                (0..N)
                    .map(|i| {
                        let d = DropCount(drops.clone(), i);
                        let total = runs.clone();
                        rt.spawn(async move {
                            let _d = d;
                            let mut runs = 0;
                            loop {
                                if task::wait().await == WaitOutcome::Signaled {
                                    assert!(task::receive_signal());
                                }
                                runs += 1;
                                total.fetch_add(1, SeqCst);
                                if i % 4 == 0 && runs == 2 {
                                    return runs;
                                }
                            }
                        })
                    })
                    .collect(),
            );
            let refs: Vec<TaskRef> = handles.iter().map(|h| h.task_ref()).collect();
            let waker_refs = refs.clone();
            let waker = shuttle::thread::spawn(move || {
                for _ in 0..2 {
                    for t in &waker_refs {
                        t.wakeup();
                    }
                }
            });
            // `abort` takes `&self`: the signaller shares the handles.
            let hs = handles.clone();
            let signaller = shuttle::thread::spawn(move || {
                for (i, t) in refs.iter().enumerate() {
                    if i % 2 == 0 {
                        t.signal();
                    }
                    if i % 4 == 1 {
                        hs[i].abort();
                    }
                }
            });
            let (handle, d2) = (rt.handle(), drops.clone());
            let spawner = shuttle::thread::spawn(move || {
                (0..LATE)
                    .map(|k| {
                        let d = DropCount(d2.clone(), N + k);
                        handle.spawn(async move {
                            let _d = d;
                            task::yield_now().await;
                            k
                        })
                    })
                    .collect::<Vec<_>>()
            });
            // Let a random amount of work happen first (0..=12 task runs: each of
            // the 12 tasks not aborted runs at least once, so this ends).
            let target = thread_rng().gen_range(0..=12);
            while runs.load(SeqCst) < target {
                shuttle::thread::yield_now();
            }
            drop(rt);
            waker.join().unwrap();
            signaller.join().unwrap();
            let late = spawner.join().unwrap();
            drops.assert_each_once("shutdown_vs_everything");
            let mut handles = Arc::try_unwrap(handles).expect("the signaller is done");
            handles.extend(late);
            for (i, h) in handles.iter_mut().enumerate() {
                match poll_once(h) {
                    Poll::Ready(Ok(_)) => tally.add(if i < N { 0 } else { 2 }, 1),
                    Poll::Ready(Err(e)) => {
                        assert!(e.is_cancelled(), "handle {i}: {e:?}");
                        tally.add(1, 1);
                    }
                    Poll::Pending => panic!("handle {i} still pending after shutdown"),
                }
            }
        },
    );
    tally.print("scenarios::shutdown_vs_everything");
}
