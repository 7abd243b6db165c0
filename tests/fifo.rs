#![cfg(not(any(feature = "loom", feature = "shuttle")))]
//! FIFO guarantees: spawn order is start order; equal deadlines fire in the
//! order they were registered; different deadlines fire in deadline order.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tempo::time::{sleep_until, ManualClock};
use tempo::Runtime;

mod common;
use common::{manual_rt, seed, within};

const LIMIT: Duration = Duration::from_secs(4);

/// First index where `got` differs from `0..n`, for a readable failure.
fn check_order(what: &str, got: &[usize], want: &[usize]) {
    if got != want {
        let i = got
            .iter()
            .zip(want)
            .position(|(a, b)| a != b)
            .unwrap_or(got.len().min(want.len()));
        let lo = i.saturating_sub(3);
        panic!(
            "{what}: order differs at position {i} (len got={} want={}): got[{lo}..] = {:?}, want[{lo}..] = {:?}",
            got.len(),
            want.len(),
            &got[lo..(lo + 8).min(got.len())],
            &want[lo..(lo + 8).min(want.len())]
        );
    }
}

#[test]
fn spawn_order_is_start_order_inside_block_on_worker_threads_0() {
    within(LIMIT, || {
        let rt = Runtime::builder().worker_threads(0).build().unwrap();
        let order = Arc::new(Mutex::new(Vec::with_capacity(1000)));
        let o = order.clone();
        rt.block_on(async move {
            let hs: Vec<_> = (0..1000usize)
                .map(|i| {
                    let o = o.clone();
                    tempo::spawn(async move { o.lock().unwrap().push(i) })
                })
                .collect();
            for h in hs {
                h.await.unwrap();
            }
        });
        let got = order.lock().unwrap().clone();
        check_order(
            "worker_threads(0), spawned inside block_on",
            &got,
            &(0..1000).collect::<Vec<_>>(),
        );
    });
}

#[test]
fn spawn_order_is_start_order_from_outside_worker_threads_1() {
    within(LIMIT, || {
        let rt = Runtime::builder().worker_threads(1).build().unwrap();
        let order = Arc::new(Mutex::new(Vec::with_capacity(1000)));
        // The worker runs while we spawn: batches taken mid-stream must keep the order.
        let hs: Vec<_> = (0..1000usize)
            .map(|i| {
                let o = order.clone();
                rt.spawn(async move { o.lock().unwrap().push(i) })
            })
            .collect();
        rt.block_on(async move {
            for h in hs {
                h.await.unwrap();
            }
        });
        let got = order.lock().unwrap().clone();
        check_order(
            "worker_threads(1), spawned from outside",
            &got,
            &(0..1000).collect::<Vec<_>>(),
        );
    });
}

#[test]
fn spawn_order_is_start_order_from_a_task_worker_threads_1() {
    within(LIMIT, || {
        let rt = Runtime::builder().worker_threads(1).build().unwrap();
        let order = Arc::new(Mutex::new(Vec::new()));
        let o = order.clone();
        rt.block_on(rt.spawn(async move {
            let hs: Vec<_> = (0..1000usize)
                .map(|i| {
                    let o = o.clone();
                    tempo::spawn(async move { o.lock().unwrap().push(i) })
                })
                .collect();
            for h in hs {
                h.await.unwrap();
            }
        }))
        .unwrap();
        let got = order.lock().unwrap().clone();
        check_order(
            "worker_threads(1), spawned from a task",
            &got,
            &(0..1000).collect::<Vec<_>>(),
        );
    });
}

/// The spawner is woken between its spawns by the completion of a task it
/// joins: that wake keeps it in the worker's next-run slot, so its second
/// run comes before the tasks it spawned in its first run have started.
/// Spawns still start in spawn order: on one runner a spawn never takes
/// the slot (it goes to the rerun list, `shared.rs` invariant 3).
#[test]
fn spawn_order_is_start_order_across_runs_of_the_spawner_worker_threads_1() {
    within(LIMIT, || {
        let rt = Runtime::builder().worker_threads(1).build().unwrap();
        let order = Arc::new(Mutex::new(Vec::new()));
        let o = order.clone();
        rt.block_on(rt.spawn(async move {
            let mut hs = Vec::new();
            for round in 0..10usize {
                let first = {
                    let o = o.clone();
                    tempo::spawn(async move { o.lock().unwrap().push(round * 2) })
                };
                let o2 = o.clone();
                hs.push(tempo::spawn(async move {
                    o2.lock().unwrap().push(round * 2 + 1)
                }));
                // Woken by `first`'s completion: the next round's spawns
                // happen while `round * 2 + 1` may not have started yet.
                first.await.unwrap();
            }
            for h in hs {
                h.await.unwrap();
            }
        }))
        .unwrap();
        let got = order.lock().unwrap().clone();
        check_order(
            "worker_threads(1), spawner re-run from the next-run slot between spawns",
            &got,
            &(0..20).collect::<Vec<_>>(),
        );
    });
}

/// Holds one worker of a two-worker runtime with a task that spins until
/// dropped, so that the other worker runs everything else in order.
struct HeldWorker {
    stop: Arc<AtomicUsize>,
    spinner: Option<tempo::JoinHandle<()>>,
}

impl HeldWorker {
    fn hold(rt: &Runtime) -> HeldWorker {
        let stop = Arc::new(AtomicUsize::new(0));
        let spinning = Arc::new(AtomicUsize::new(0));
        let spinner = {
            let (stop, spinning) = (stop.clone(), spinning.clone());
            rt.spawn(async move {
                spinning.store(1, SeqCst);
                while stop.load(SeqCst) == 0 {
                    std::hint::spin_loop();
                }
            })
        };
        wait_for(&spinning, 1, "the spinner to hold a worker");
        HeldWorker {
            stop,
            spinner: Some(spinner),
        }
    }

    fn release(mut self, rt: &Runtime) {
        self.stop.store(1, SeqCst);
        rt.block_on(self.spinner.take().unwrap()).unwrap();
    }
}

impl Drop for HeldWorker {
    fn drop(&mut self) {
        self.stop.store(1, SeqCst);
    }
}

/// The body of the spawn-order tests on two workers: `x` spawns `a`, `b`
/// and `c`; `a` spawns `d` while `b` and `c` wait. Returns the start order.
async fn x_spawns_a_b_c_and_a_spawns_d() -> Vec<&'static str> {
    let order = Arc::new(Mutex::new(Vec::new()));
    let record = |name: &'static str| {
        let o = order.clone();
        async move { o.lock().unwrap().push(name) }
    };
    let (oa, rd) = (order.clone(), record("d"));
    let a = tempo::spawn(async move {
        oa.lock().unwrap().push("a");
        // In a tuple: the handle is awaited by `x`, not by `a`.
        (tempo::spawn(rd),)
    });
    let b = tempo::spawn(record("b"));
    let c = tempo::spawn(record("c"));
    let (d,) = a.await.unwrap();
    b.await.unwrap();
    c.await.unwrap();
    d.await.unwrap();
    let got = order.lock().unwrap().clone();
    got
}

/// On two workers, with one held by a spinner, tasks spawned one after
/// another start in spawn order on the other, also when a spawned task
/// spawns: `a` is kept in `x`'s slot (nothing waits), `b` moves it to the
/// front queue and follows it (`shared.rs` invariant 5), `a` runs and
/// spawns `d` while `b` and `c` wait, so `d` goes behind them. A version
/// that only looked at the slot started `a d b c`.
#[test]
fn a_spawn_from_a_spawned_task_starts_after_earlier_spawns_two_workers() {
    within(LIMIT, || {
        let rt = Runtime::builder().worker_threads(2).build().unwrap();
        let held = HeldWorker::hold(&rt);
        let got = rt
            .block_on(rt.spawn(x_spawns_a_b_c_and_a_spawns_d()))
            .unwrap();
        held.release(&rt);
        assert_eq!(got, ["a", "b", "c", "d"], "start order on the free worker");
    });
}

/// A task kept in its spawner's slot is dispatched before anything pushed
/// after it, at every position of the spawner's batch: after a chain of
/// `k` spawns (each link spawns the next), for every `k` up to past a
/// batch, `x` spawns `a` (kept: nothing waits), has another thread spawn
/// `e` (to the front queue), waits until it has, and spawns `f`; the start
/// order must be `a e f`. On the batch's last run nothing is kept
/// (`shared.rs` invariant 5): a kept task would go from the slot to the
/// rerun list there, behind the round's tasks, `e` among them (seen: `e a
/// f`); and `f` moves the kept `a` to the head of the ready queue, not to
/// the back of the front queue, behind `e` (seen: `e a f` too, found by
/// review).
#[test]
fn a_kept_spawn_starts_before_later_spawns_at_every_position_of_a_batch_two_workers() {
    type Order = Arc<Mutex<Vec<&'static str>>>;
    type Ask = std::sync::mpsc::Sender<(Order, Arc<AtomicUsize>)>;
    type Chain = std::pin::Pin<Box<dyn Future<Output = Vec<&'static str>> + Send>>;
    fn chain(k: usize, ask: Ask) -> Chain {
        Box::pin(async move {
            if k > 0 {
                return tempo::spawn(chain(k - 1, ask)).await.unwrap();
            }
            let order: Order = Arc::default();
            let oa = order.clone();
            let a = tempo::spawn(async move { oa.lock().unwrap().push("a") });
            // Another thread spawns `e`, then raises `spawned`.
            let spawned = Arc::new(AtomicUsize::new(0));
            ask.send((order.clone(), spawned.clone())).unwrap();
            while spawned.load(SeqCst) == 0 {
                std::hint::spin_loop();
            }
            // A second spawn of the run moves `a` out of the slot, ahead of
            // `e` (`shared.rs` invariant 5), then queues `f` behind `e`.
            let of = order.clone();
            let f = tempo::spawn(async move { of.lock().unwrap().push("f") });
            a.await.unwrap();
            f.await.unwrap();
            while order.lock().unwrap().len() < 3 {
                tempo::task::yield_now().await;
            }
            let got = order.lock().unwrap().clone();
            got
        })
    }
    within(LIMIT, || {
        let rt = Runtime::builder().worker_threads(2).build().unwrap();
        let held = HeldWorker::hold(&rt);
        let (ask, asked) = std::sync::mpsc::channel::<(Order, Arc<AtomicUsize>)>();
        let handle = rt.handle();
        let spawner = std::thread::spawn(move || {
            for (order, spawned) in asked {
                drop(handle.spawn(async move { order.lock().unwrap().push("e") }));
                spawned.store(1, SeqCst);
            }
        });
        for k in 0..=40 {
            let got = rt.block_on(rt.spawn(chain(k, ask.clone()))).unwrap();
            assert_eq!(got, ["a", "e", "f"], "start order after {k} links");
        }
        drop(ask);
        spawner.join().unwrap();
        held.release(&rt);
    });
}

/// A burst of spawns from one run, while the other worker is idle, starts
/// in spawn order: the first is kept in the spawner's slot, and the second
/// moves it to the front queue ahead of itself (`shared.rs` invariant 5),
/// so the idle worker, woken for them, starts `a` first. When the second
/// only took the front queue, `b` started at once on the idle worker and
/// `a` waited for the spawner's 5 ms poll (or the monitor, a tick or two).
#[test]
fn a_burst_of_spawns_starts_in_order_while_its_spawner_computes_two_workers() {
    within(LIMIT, || {
        let rt = Runtime::builder().worker_threads(2).build().unwrap();
        for round in 0..5 {
            let order = Arc::new(Mutex::new(Vec::new()));
            let o = order.clone();
            rt.block_on(rt.spawn(async move {
                let record = |name: &'static str| {
                    let o = o.clone();
                    async move { o.lock().unwrap().push(name) }
                };
                let a = tempo::spawn(record("a"));
                let b = tempo::spawn(record("b"));
                let t = Instant::now();
                while t.elapsed() < Duration::from_millis(5) {
                    std::hint::spin_loop();
                }
                a.await.unwrap();
                b.await.unwrap();
            }))
            .unwrap();
            let got = order.lock().unwrap().clone();
            assert_eq!(got, ["a", "b"], "start order, round {round}");
        }
    });
}

/// Polls `inner`; after its first `Pending` (the deadline is registered),
/// counts itself in `registered`.
struct CountRegistered<F> {
    inner: Pin<Box<F>>,
    registered: Arc<AtomicUsize>,
    counted: bool,
}

impl<F: Future> Future for CountRegistered<F> {
    type Output = F::Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let r = self.inner.as_mut().poll(cx);
        if r.is_pending() && !self.counted {
            self.counted = true;
            self.registered.fetch_add(1, SeqCst);
        }
        r
    }
}

fn wait_for(counter: &AtomicUsize, n: usize, what: &str) {
    let t0 = Instant::now();
    while counter.load(SeqCst) < n {
        assert!(
            t0.elapsed() < Duration::from_secs(3),
            "{what}: only {} of {n} registered",
            counter.load(SeqCst)
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    // Let the last task return Pending and be filed.
    std::thread::sleep(Duration::from_millis(10));
}

#[test]
fn equal_deadlines_fire_fifo_with_manual_clock() {
    within(LIMIT, || {
        const N: usize = 500;
        let clock = ManualClock::new();
        let rt = manual_rt(1, &clock);
        let when = clock.now() + Duration::from_secs(10);
        let order = Arc::new(Mutex::new(Vec::with_capacity(N)));
        let registered = Arc::new(AtomicUsize::new(0));
        let hs: Vec<_> = (0..N)
            .map(|i| {
                let o = order.clone();
                let reg = registered.clone();
                rt.spawn(async move {
                    CountRegistered {
                        inner: Box::pin(sleep_until(when)),
                        registered: reg,
                        counted: false,
                    }
                    .await;
                    o.lock().unwrap().push(i);
                })
            })
            .collect();
        wait_for(&registered, N, "equal deadlines");
        assert!(
            order.lock().unwrap().is_empty(),
            "nothing fires before the clock moves"
        );
        clock.advance(Duration::from_secs(9));
        std::thread::sleep(Duration::from_millis(10));
        assert!(
            order.lock().unwrap().is_empty(),
            "nothing fires before the deadline (9 s of 10 s)"
        );
        clock.advance(Duration::from_secs(1)); // exactly at the deadline
        rt.block_on(async move {
            for h in hs {
                h.await.unwrap();
            }
        });
        let got = order.lock().unwrap().clone();
        check_order("equal deadlines", &got, &(0..N).collect::<Vec<_>>());
    });
}

#[test]
fn equal_deadlines_fire_fifo_when_filed_from_inside_block_on_worker_threads_0() {
    within(LIMIT, || {
        const N: usize = 300;
        let clock = ManualClock::new();
        let rt = manual_rt(0, &clock);
        let when = clock.now() + Duration::from_millis(5);
        let order = Arc::new(Mutex::new(Vec::with_capacity(N)));
        let registered = Arc::new(AtomicUsize::new(0));
        let hs: Vec<_> = (0..N)
            .map(|i| {
                let o = order.clone();
                let reg = registered.clone();
                rt.spawn(async move {
                    CountRegistered {
                        inner: Box::pin(sleep_until(when)),
                        registered: reg,
                        counted: false,
                    }
                    .await;
                    o.lock().unwrap().push(i);
                })
            })
            .collect();
        // Drive the runtime until every task is filed in the waiting heap.
        let reg = registered.clone();
        rt.block_on(async move {
            while reg.load(SeqCst) < N {
                tempo::task::yield_now().await;
            }
            for _ in 0..10 {
                tempo::task::yield_now().await;
            }
        });
        assert!(order.lock().unwrap().is_empty());
        let c = clock.clone();
        rt.block_on(async move {
            c.advance(Duration::from_millis(5));
            for h in hs {
                h.await.unwrap();
            }
        });
        let got = order.lock().unwrap().clone();
        check_order(
            "equal deadlines, worker_threads(0)",
            &got,
            &(0..N).collect::<Vec<_>>(),
        );
    });
}

#[test]
fn different_deadlines_fire_in_deadline_order() {
    within(LIMIT, || {
        const N: usize = 200;
        let seed = seed();
        let mut rng = Rng(seed);
        let clock = ManualClock::new();
        let rt = manual_rt(1, &clock);
        let base = clock.now();
        // A random permutation of distinct offsets (in ms), spawned in that order.
        let mut offsets: Vec<u64> = (1..=N as u64).collect();
        for i in (1..offsets.len()).rev() {
            offsets.swap(i, (rng.next() % (i as u64 + 1)) as usize);
        }
        let fired = Arc::new(Mutex::new(Vec::with_capacity(N)));
        let registered = Arc::new(AtomicUsize::new(0));
        let hs: Vec<_> = offsets
            .iter()
            .map(|&ms| {
                let f = fired.clone();
                let reg = registered.clone();
                let when = base + Duration::from_millis(ms);
                rt.spawn(async move {
                    CountRegistered {
                        inner: Box::pin(sleep_until(when)),
                        registered: reg,
                        counted: false,
                    }
                    .await;
                    f.lock().unwrap().push(ms as usize);
                })
            })
            .collect();
        wait_for(&registered, N, "different deadlines");
        // Advance half-way: exactly the first half fires, in order.
        clock.advance(Duration::from_millis(N as u64 / 2));
        let t0 = Instant::now();
        while fired.lock().unwrap().len() < N / 2 {
            assert!(
                t0.elapsed() < Duration::from_secs(3),
                "seed={seed}: half-way deadlines did not fire"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_millis(10));
        let half = fired.lock().unwrap().clone();
        check_order(
            &format!("seed={seed}: first half"),
            &half,
            &(1..=N / 2).collect::<Vec<_>>(),
        );
        // Then everything else at once.
        clock.advance(Duration::from_secs(1));
        rt.block_on(async move {
            for h in hs {
                h.await.unwrap();
            }
        });
        let got = fired.lock().unwrap().clone();
        check_order(
            &format!("seed={seed}: all"),
            &got,
            &(1..=N).collect::<Vec<_>>(),
        );
    });
}

#[test]
fn different_real_deadlines_fire_in_deadline_order() {
    within(LIMIT, || {
        let rt = Runtime::builder().worker_threads(1).build().unwrap();
        let base = Instant::now() + Duration::from_millis(20);
        // Spawned in reverse deadline order, 2 ms apart.
        let fired = Arc::new(Mutex::new(Vec::new()));
        let hs: Vec<_> = (0..10usize)
            .rev()
            .map(|i| {
                let f = fired.clone();
                let when = base + Duration::from_millis(2 * i as u64);
                rt.spawn(async move {
                    sleep_until(when).await;
                    let late = Instant::now() >= when;
                    f.lock().unwrap().push((i, late));
                })
            })
            .collect();
        rt.block_on(async move {
            for h in hs {
                h.await.unwrap();
            }
        });
        let got = fired.lock().unwrap().clone();
        assert!(
            got.iter().all(|&(_, ok)| ok),
            "a sleep fired early: {got:?}"
        );
        let order: Vec<usize> = got.iter().map(|&(i, _)| i).collect();
        check_order("real deadlines", &order, &(0..10).collect::<Vec<_>>());
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
