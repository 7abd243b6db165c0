//! shuttle tests of tempo, run by `cargo test --features shuttle`
//! (`--release` recommended: 15–20 times faster, so the big scenarios run
//! 5 times more iterations there, see [`big_iterations`]).
//!
//! loom (`loom-tests/`) explores *every* interleaving of small models (at
//! most 3 threads, bounded preemptions). shuttle instead samples the
//! schedules of larger programs: `shuttle::check_random` (uniformly random
//! scheduling decisions, any number of preemptions) and `shuttle::check_pct`
//! (PCT, depth 3: probabilistic guarantees for bugs that need few ordering
//! constraints), each for `TEMPO_SHUTTLE_ITERS` iterations (default 1000;
//! the big scenarios run a quarter of it, a twentieth in debug builds: see
//! [`big_iterations`]). Every test prints its iterations and time per
//! scheduler (visible with `-- --nocapture`).
//!
//! Every execution also runs the trace oracle (`src/trace`): each state-word
//! transition is checked against the spec's next-state relation as it
//! happens; a mismatch panics with "trace validation: ..." inside the
//! execution, which then prints its schedule like any other failure.
//!
//! A lost wakeup shows up as shuttle's deadlock report (every thread
//! blocked), a hang as its step limit, a wrong result as a failed assertion.
//!
//! # Replaying a failure
//! shuttle prints the failing schedule (`failing schedule:` and a quoted hex
//! string, wrapped over several lines), whichever scheduler found it. Replay
//! it (deterministically, with a debugger or extra prints) by setting
//! `TEMPO_SHUTTLE_REPLAY` to that string (line breaks and spaces are
//! ignored) and running only the test that failed, by its full name:
//!
//! ```text
//! TEMPO_SHUTTLE_REPLAY='910297038f95...' cargo test --release --features shuttle --test shuttle -- scenarios::ring_of_wakeups --exact
//! ```
//!
//! which calls `shuttle::replay(scenario, schedule)` instead of sampling
//! (once). The replay must run the same code (same scenario, same sources,
//! same profile) as the failing run; `TEMPO_SHUTTLE_ITERS` does not matter
//! for it. `replay::replay_reproduces_a_failure` proves the mechanism on a
//! deliberate race (it finds a failing schedule, replays it, and sees the
//! same failure and the same interleaving).
//!
//! # Tests
//! | test | scenario |
//! |---|---|
//! | `readiness_many_readers` | 4 reader tasks on 4 `MockIo`s, 2 workers; a reactor thread delivers 2 edges to each; every reader gets its 2 bytes |
//! | `close_vs_pending_reads` | 4 readers on 4 `MockIo`s, 2 workers; a reactor thread delivers 1 edge to each while a closer thread closes them all; every read ends (bytes or the error), none hangs |
//! | `two_readers_one_source` | two tasks reading the *same* `MockIo` at once (found the one-slot lost wakeup, see its docs) |
//! | `loom_bodies::*` (`loom_bodies.rs`) | the 10 loom models of `loom-tests/main.rs`, unchanged but for the checker's types |
//! | `scenarios::*` (`scenarios.rs`) | 4–8 threads, hundreds of tasks: a ring of 200 wakeups, 100 deadlines on a `ManualClock` vs. signals, 4 spawners with aborts, shutdown racing wakeups/signals/aborts/spawns |
//! | `replay::replay_reproduces_a_failure` (`replay.rs`) | a failing schedule, captured and replayed |

#![cfg(feature = "shuttle")]

use std::sync::Arc;
use tempo::__model::MockIo;

mod loom_bodies;
mod replay;
mod scenarios;

/// Readers (= sources) per scenario.
const N: usize = 4;

/// `TEMPO_SHUTTLE_ITERS` (default 1000): iterations per scheduler.
fn iterations() -> usize {
    std::env::var("TEMPO_SHUTTLE_ITERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000)
}

/// Iterations per scheduler for the big scenarios (`scenarios.rs`), whose
/// executions are 10–100 times longer: a quarter of [`iterations`] in an
/// optimised build (250 by default), a twentieth in a debug build (50 by
/// default: debug code runs these 15–20 times slower), at least 1, so that
/// the whole suite stays under 3 minutes on 2 cores either way (measured:
/// about 12 s of test time with `--release`).
fn big_iterations() -> usize {
    let div = if cfg!(debug_assertions) { 20 } else { 4 };
    (iterations() / div).max(1)
}

/// [`check_n`] with [`iterations`].
fn check(name: &str, f: impl Fn() + Send + Sync + 'static) {
    check_n(name, iterations(), f)
}

/// Runs `f` under `check_random` and `check_pct` (depth 3), `n` iterations
/// each, or replays the schedule in `TEMPO_SHUTTLE_REPLAY` (see the module
/// docs). Prints the iterations and time taken per scheduler.
fn check_n(name: &str, n: usize, f: impl Fn() + Send + Sync + 'static) {
    // After the body (its threads joined): the trace oracle's final checks.
    let f = move || {
        f();
        tempo::__model::end_execution();
    };
    if let Ok(schedule) = std::env::var("TEMPO_SHUTTLE_REPLAY") {
        // shuttle prints the schedule wrapped over several lines.
        let schedule: String = schedule.split_whitespace().collect();
        eprintln!("shuttle {name}: replaying TEMPO_SHUTTLE_REPLAY");
        shuttle::replay(f, &schedule);
        return;
    }
    let f = Arc::new(f);
    let t0 = std::time::Instant::now();
    let g = f.clone();
    shuttle::check_random(move || g(), n);
    let t1 = std::time::Instant::now();
    shuttle::check_pct(move || f(), n, 3);
    eprintln!(
        "shuttle {name}: {n} random iterations in {:.1?}, {n} PCT (depth 3) in {:.1?}",
        t1 - t0,
        t1.elapsed()
    );
}

fn rt(workers: usize) -> tempo::Runtime {
    tempo::Runtime::builder()
        .worker_threads(workers)
        .build()
        .unwrap()
}

fn sources() -> Vec<Arc<MockIo>> {
    (0..N).map(|_| Arc::new(MockIo::new())).collect()
}

#[test]
fn readiness_many_readers() {
    check("readiness_many_readers", || {
        let rt = rt(2);
        let ios = sources();
        let handles: Vec<_> = ios
            .iter()
            .map(|io| {
                let io = io.clone();
                rt.spawn(async move {
                    let mut got = 0;
                    while got < 2 {
                        got += io.read().await.unwrap();
                    }
                    got
                })
            })
            .collect();
        let reactor = shuttle::thread::spawn(move || {
            for _ in 0..2 {
                for io in &ios {
                    io.deliver(1);
                }
            }
        });
        for h in handles {
            assert_eq!(rt.block_on(h).unwrap(), 2);
        }
        reactor.join().unwrap();
    });
}

#[test]
fn close_vs_pending_reads() {
    check("close_vs_pending_reads", || {
        let rt = rt(2);
        let ios = sources();
        let handles: Vec<_> = ios
            .iter()
            .map(|io| {
                let io = io.clone();
                rt.spawn(async move {
                    // Read until the close's error: never hangs.
                    let mut got = 0;
                    loop {
                        match io.read().await {
                            Ok(n) => got += n,
                            Err(_) => return got,
                        }
                    }
                })
            })
            .collect();
        let (r_ios, c_ios) = (ios.clone(), ios);
        let reactor = shuttle::thread::spawn(move || {
            for io in &r_ios {
                io.deliver(1);
            }
        });
        let closer = shuttle::thread::spawn(move || {
            for io in &c_ios {
                io.close();
            }
        });
        for h in handles {
            assert!(rt.block_on(h).unwrap() <= 1);
        }
        reactor.join().unwrap();
        closer.join().unwrap();
    });
}

/// Two tasks reading the **same** source at once (the pattern of an
/// `Arc`-shared `TcpListener` accepted from by several tasks, or a shared
/// `UdpSocket`). Found a real lost wakeup when `ScheduledIo` had one waker
/// slot per direction:
///
/// 1. task A: `read` → `WouldBlock` → registers (slot = A), `Pending`;
/// 2. task B: the same → registers (slot = B; A's waker is dropped);
/// 3. `deliver(1)` → wakes B; B reads the byte and completes;
/// 4. `deliver(1)` → the slot is empty: nobody is woken, and A stays parked
///    for good with a byte in the socket.
///
/// Fixed by keeping every waiter of a direction and waking them all
/// (`src/io/scheduled_io.rs` invariant 1). Each task reads one byte
/// (`read_one`), so each edge serves exactly one reader.
#[test]
fn two_readers_one_source() {
    check("two_readers_one_source", || {
        let rt = rt(2);
        let io = Arc::new(MockIo::new());
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let io = io.clone();
                rt.spawn(async move { io.read_one().await.unwrap() })
            })
            .collect();
        let reactor = shuttle::thread::spawn(move || {
            io.deliver(1);
            io.deliver(1);
        });
        let mut total = 0;
        for h in handles {
            total += rt.block_on(h).unwrap();
        }
        assert_eq!(total, 2);
        reactor.join().unwrap();
    });
}
