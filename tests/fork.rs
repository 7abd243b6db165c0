#![cfg(not(any(feature = "loom", feature = "shuttle")))]
//! Fork-join on two workers: a child spawned by a task that goes on
//! computing runs beside its parent (`sched/watch.rs` invariant 7: a
//! lingering worker takes a spawn kept behind a run that lasts
//! `KEPT_STALE`), not after it. Before, the child waited in its spawner's
//! next-run slot until the parent's run ended or a monitor stole it after a
//! 1 ms tick, so a fork shorter than a tick ran its halves one after the
//! other (`benches`: `9-fork/fork-50us`).
//!
//! Timing-based, so each check retries (`ATTEMPTS`) and asks for half the
//! rounds only: a preempted worker may miss some.

use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tempo::Runtime;

mod common;
use common::{serial, within};

const HALF: Duration = Duration::from_micros(300);
const ROUNDS: usize = 20;
const ATTEMPTS: usize = 10;

fn compute(d: Duration) {
    let t = Instant::now();
    while t.elapsed() < d {
        std::hint::spin_loop();
    }
}

/// Runs `ROUNDS` forks (spawn a child computing `HALF`, compute `HALF`,
/// join) and returns in how many the child started before the parent's
/// half ended.
fn overlapped_rounds(rt: &Runtime) -> usize {
    rt.block_on(rt.spawn(async {
        let mut overlapped = 0;
        for _ in 0..ROUNDS {
            let parent_done = Arc::new(AtomicBool::new(false));
            let beside = Arc::new(AtomicBool::new(false));
            let (pd, b) = (parent_done.clone(), beside.clone());
            let child = tempo::spawn(async move {
                b.store(!pd.load(SeqCst), SeqCst);
                compute(HALF);
            });
            compute(HALF);
            parent_done.store(true, SeqCst);
            child.await.expect("child");
            if beside.load(SeqCst) {
                overlapped += 1;
            }
        }
        overlapped
    }))
    .expect("parent")
}

#[test]
fn a_forked_child_runs_beside_its_computing_parent_two_workers() {
    forks_overlap(2, 0);
}

/// Runs a chain of `links` spawns (each task spawns the next and ends) to
/// its end.
fn chain(rt: &Runtime, links: usize) {
    fn link(left: usize, tx: std::sync::mpsc::Sender<()>) {
        if left == 0 {
            tx.send(()).unwrap();
        } else {
            drop(tempo::spawn(async move { link(left - 1, tx) }));
        }
    }
    let (tx, rx) = std::sync::mpsc::channel();
    drop(rt.spawn(async move { link(links, tx) }));
    rx.recv_timeout(Duration::from_secs(10))
        .expect("the chain ended");
}

/// Checks that at least half the rounds of `overlapped_rounds` overlap on
/// a runtime of `workers` workers, retrying `ATTEMPTS` times; before each
/// attempt, on the same runtime, a chain of `chain_links` spawns (0: none).
/// A long chain's kept spawns, run by their spawners before anyone could
/// take them, turn the spawners' wake-ups for kept spawns off (`idle.rs`
/// invariant 5: they would only keep a second core spinning), and a
/// monitor's tick must turn them back on for the forks, whichever worker
/// sleeps where (with three workers, one may hold the role asleep in the
/// driver while the monitor sleeps as an idle worker).
fn forks_overlap(workers: usize, chain_links: usize) {
    let _s = serial();
    within(Duration::from_secs(60), move || {
        let rt = Runtime::builder().worker_threads(workers).build().unwrap();
        let mut seen = Vec::new();
        for attempt in 1..=ATTEMPTS {
            if chain_links > 0 {
                chain(&rt, chain_links);
            }
            let n = overlapped_rounds(&rt);
            eprintln!(
                "{workers} workers, after a chain of {chain_links}: forks whose child started \
                 beside its parent (attempt {attempt}): {n} of {ROUNDS}"
            );
            seen.push(n);
            if n >= ROUNDS / 2 {
                return;
            }
        }
        panic!(
            "forked children waited for their computing parents ({workers} workers, after a \
             chain of {chain_links}): children started beside their parent in {seen:?} of \
             {ROUNDS} rounds, {ATTEMPTS} attempts"
        );
    });
}

#[test]
fn forks_run_beside_their_parent_after_a_chain_two_workers() {
    forks_overlap(2, 200_000);
}

#[test]
fn forks_run_beside_their_parent_after_a_chain_three_workers() {
    forks_overlap(3, 200_000);
}

/// At most this many of a chain's 1,000 links may move. A link's run takes
/// well under `KEPT_STALE` (5 µs) in an optimised build, so none should; an
/// unoptimised one (plain `cargo test`) runs a link in a few µs, and a
/// lingering worker then takes some links, as its rule says (a run that
/// lasts 5 µs is treated as a fork's parent).
const MOVES_MAX: usize = if cfg!(debug_assertions) { 250 } else { 10 };

/// The other side of the same rule: a chain of spawns (each task spawns the
/// next and ends) keeps each child on its spawner's worker, which runs it
/// right after (no wake-up, no migration per link), even while another
/// worker lingers.
#[test]
fn a_chain_of_spawns_stays_on_one_worker_two_workers() {
    let _s = serial();
    within(Duration::from_secs(30), || {
        let rt = Runtime::builder().worker_threads(2).build().unwrap();
        let mut seen = Vec::new();
        for attempt in 1..=ATTEMPTS {
            let moves = rt
                .block_on(rt.spawn(async {
                    let (tx, rx) = std::sync::mpsc::channel();
                    fn link(
                        left: usize,
                        prev: std::thread::ThreadId,
                        moves: usize,
                        tx: std::sync::mpsc::Sender<usize>,
                    ) {
                        let here = std::thread::current().id();
                        let moves = moves + usize::from(here != prev);
                        if left == 0 {
                            tx.send(moves).unwrap();
                        } else {
                            drop(tempo::spawn(async move { link(left - 1, here, moves, tx) }));
                        }
                    }
                    let here = std::thread::current().id();
                    drop(tempo::spawn(async move { link(1000, here, 0, tx) }));
                    rx
                }))
                .expect("chain")
                .recv_timeout(Duration::from_secs(10))
                .expect("the chain ended");
            eprintln!("links of a chain of 1,000 that moved to another worker (attempt {attempt}): {moves}");
            seen.push(moves);
            if moves <= MOVES_MAX {
                return;
            }
        }
        panic!("a chain of spawns migrated between workers: {seen:?} moves of 1,000 links");
    });
}
