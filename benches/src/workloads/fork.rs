//! Workload 9 (beyond issue 5's list): fork-join, the price of keeping a
//! spawn on its spawner's worker.
//!
//! * `fork-50us`: 200 rounds; in each, a task spawns a child that computes
//!   for 50 µs, computes for 50 µs itself, then joins the child. Total time
//!   (ms). Computing is a spin on the clock, so a round takes 50 µs when the
//!   two halves run at once on two threads and 100 µs when they run one after
//!   the other: about 10 ms against 20 ms in all.
//!
//! Why it is here: since the eighteenth session, a task of a runtime with two
//! or more workers that spawns one child and computes on keeps the child in
//! its own next-run slot (tempo's `sched/shared.rs` invariant 5), where it
//! starts when the spawner's run ends or when a monitor steals it after a
//! 1 ms tick: a fork shorter than a tick runs serially, as tokio's LIFO slot
//! makes it do. `chain-1000` is what the keeping buys; this case is what it
//! costs, so that both show in the table. Only runtimes that run tasks on
//! several threads take part (`Rt::PARALLEL`): on one thread every fork is
//! serial and the case would compare clocks.

use super::{Case, TIME_MS};
use crate::rt::Rt;
use crate::stats::ms;
use std::time::{Duration, Instant};

/// The cases of this module.
pub fn cases() -> Vec<Case> {
    vec![Case {
        workload: "9-fork",
        case: "fork-50us",
        metrics: &[TIME_MS],
        run: crate::dispatch!(fork_50us),
    }]
}

/// Computes (spins on the clock) for `d`.
fn compute(d: Duration) {
    let t = Instant::now();
    while t.elapsed() < d {
        std::hint::spin_loop();
    }
}

fn fork_50us<R: Rt>(w: usize, quick: bool) -> Option<Vec<f64>> {
    if !R::PARALLEL || w < 2 {
        return None;
    }
    let rounds = if quick { 20 } else { 200 };
    let half = Duration::from_micros(50);
    let rt = R::build(w);
    let once = || {
        rt.run_task(async move {
            let t = Instant::now();
            for _ in 0..rounds {
                let child = R::spawn(async move { compute(half) });
                compute(half);
                child.await;
            }
            t.elapsed()
        })
    };
    once();
    Some(vec![ms(once())])
}
