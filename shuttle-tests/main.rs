//! shuttle tests of tempo, run by `cargo test --features shuttle`.
//!
//! loom (`loom-tests/`) explores *every* interleaving of small models (at
//! most 3 threads, bounded preemptions). These scenarios are larger (2
//! workers, 4 tasks, a reactor thread, a closer thread) and shuttle samples
//! their schedules instead: `shuttle::check_random` (uniformly random
//! scheduling decisions) and `shuttle::check_pct` (PCT, depth 3: probabilistic
//! guarantees for bugs that need few ordering constraints), each for
//! `TEMPO_SHUTTLE_ITERS` iterations (default 1000).
//!
//! A lost wakeup shows up as shuttle's deadlock report (every thread
//! blocked), a hang as its step limit, a wrong result as a failed assertion.
//!
//! # Replaying a failure
//! shuttle prints the failing schedule (`failing schedule:` and a quoted hex
//! string, wrapped over several lines). Replay it (deterministically, with a
//! debugger or extra prints) by setting `TEMPO_SHUTTLE_REPLAY` to that string
//! (line breaks and spaces are ignored) and running only that test:
//!
//! ```text
//! TEMPO_SHUTTLE_REPLAY='910297038f95...' cargo test --features shuttle --test shuttle -- readiness_many_readers --exact
//! ```
//!
//! which calls `shuttle::replay(scenario, schedule)` instead of sampling. The
//! replay must run the same code (same scenario, same sources) as the failing
//! run; `TEMPO_SHUTTLE_ITERS` does not matter for it.
//!
//! | test | scenario |
//! |---|---|
//! | `readiness_many_readers` | 4 reader tasks on 4 `MockIo`s, 2 workers; a reactor thread delivers 2 edges to each; every reader gets its 2 bytes |
//! | `close_vs_pending_reads` | 4 readers on 4 `MockIo`s, 2 workers; a reactor thread delivers 1 edge to each while a closer thread closes them all; every read ends (bytes or the error), none hangs |
//! | `two_readers_one_source` | two tasks reading the *same* `MockIo` at once (found the one-slot lost wakeup, see its docs) |

#![cfg(feature = "shuttle")]

use std::sync::Arc;
use tempo::__model::MockIo;

/// Readers (= sources) per scenario.
const N: usize = 4;

fn iterations() -> usize {
    std::env::var("TEMPO_SHUTTLE_ITERS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000)
}

/// Runs `f` under `check_random` and `check_pct`, or replays the schedule in
/// `TEMPO_SHUTTLE_REPLAY` (see the module docs). Prints the time taken.
fn check(name: &str, f: impl Fn() + Send + Sync + 'static) {
    if let Ok(schedule) = std::env::var("TEMPO_SHUTTLE_REPLAY") {
        // shuttle prints the schedule wrapped over several lines.
        let schedule: String = schedule.split_whitespace().collect();
        shuttle::replay(f, &schedule);
        return;
    }
    let f = Arc::new(f);
    let n = iterations();
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
