//! Workload 9 (beyond issue 5's list): fork-join beside the keeping of a
//! spawn on its spawner's worker.
//!
//! * `fork-50us`: 200 rounds; in each, a task spawns a child that computes
//!   for 50 µs, computes for 50 µs itself, then joins the child. Total time
//!   (ms). Computing is a spin on the clock, so a round takes 50 µs when the
//!   two halves run at once on two threads and 100 µs when they run one after
//!   the other: about 10 ms against 20 ms in all.
//!
//! Why it is here: a task of a runtime with two or more workers that
//! spawns one child keeps the child in its own next-run slot (tempo's
//! `sched/shared.rs` invariant 5), which makes a chain of spawns
//! (`chain-1000`) run on one worker without a wake-up per link. With that
//! alone (the eighteenth session) a fork whose spawner computes on ran its
//! halves serially, as tokio's LIFO slot makes it do; since the nineteenth
//! session a lingering worker takes a child kept behind a run that lasts
//! 5 µs (`sched/watch.rs` invariant 7). `chain-1000` shows what keeping
//! buys; this case shows whether forks still run side by side. Only
//! runtimes that run tasks on several threads take part (`Rt::PARALLEL`):
//! on one thread every fork is serial and the case would compare clocks.

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
