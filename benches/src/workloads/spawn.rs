//! Workloads 1 (spawn many) and 2 (yield many).
//!
//! * `inside`: a task spawns 10,000 no-op tasks and joins them all;
//! * `outside-idle`: a thread outside the runtime spawns 10,000 no-op tasks
//!   into an idle runtime; done when the last one ran;
//! * `outside-busy`: the same while 2×workers tasks loop on `yield_now` plus
//!   a 10 µs stall;
//! * `yield`: 200 tasks × 1,000 `yield_now`, joined.

use super::{Case, Latch, TIME_MS};
use crate::rt::Rt;
use crate::stats::{ms, spin};
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SPAWNS: usize = 10_000;

/// The cases of this module.
pub fn cases() -> Vec<Case> {
    vec![
        Case {
            workload: "1-spawn",
            case: "inside",
            metrics: &[TIME_MS],
            run: crate::dispatch!(inside),
        },
        Case {
            workload: "1-spawn",
            case: "outside-idle",
            metrics: &[TIME_MS],
            run: crate::dispatch!(outside_idle),
        },
        Case {
            workload: "1-spawn",
            case: "outside-busy",
            metrics: &[TIME_MS],
            run: crate::dispatch!(outside_busy),
        },
        Case {
            workload: "2-yield",
            case: "200x1000",
            metrics: &[TIME_MS],
            run: crate::dispatch!(yield_many),
        },
    ]
}

fn inside<R: Rt>(w: usize, quick: bool) -> Option<Vec<f64>> {
    let n = if quick { SPAWNS / 10 } else { SPAWNS };
    let rt = R::build(w);
    let once = || {
        rt.run_task(async move {
            let t = Instant::now();
            let hs: Vec<_> = (0..n).map(|_| R::spawn(async {})).collect();
            for h in hs {
                h.await;
            }
            t.elapsed()
        })
    };
    once();
    Some(vec![ms(once())])
}

fn remote_burst<R: Rt>(rt: &R, n: usize, loopers: usize) -> Duration {
    let stop = Arc::new(AtomicBool::new(false));
    let loops: Vec<_> = (0..loopers)
        .map(|_| {
            let stop = stop.clone();
            rt.spawn_remote(async move {
                while !stop.load(Relaxed) {
                    spin(Duration::from_micros(10));
                    R::yield_now().await;
                }
            })
        })
        .collect();
    let (latch, rx) = Latch::new(n);
    let d = std::thread::scope(|s| {
        let t = Instant::now();
        s.spawn(|| {
            for _ in 0..n {
                let l = latch.clone();
                R::detach(rt.spawn_remote(async move { l.done() }));
            }
        });
        rt.block_on(async {
            let _ = rx.await;
            let d = t.elapsed();
            stop.store(true, Relaxed);
            for l in loops {
                l.await;
            }
            d
        })
    });
    d
}

fn outside_idle<R: Rt>(w: usize, quick: bool) -> Option<Vec<f64>> {
    if !R::REMOTE {
        return None;
    }
    let n = if quick { SPAWNS / 10 } else { SPAWNS };
    let rt = R::build(w);
    remote_burst(&rt, n, 0);
    Some(vec![ms(remote_burst(&rt, n, 0))])
}

fn outside_busy<R: Rt>(w: usize, quick: bool) -> Option<Vec<f64>> {
    if !R::REMOTE {
        return None;
    }
    let n = if quick { SPAWNS / 10 } else { SPAWNS };
    let rt = R::build(w);
    remote_burst(&rt, n, 2 * w);
    Some(vec![ms(remote_burst(&rt, n, 2 * w))])
}

fn yield_many<R: Rt>(w: usize, quick: bool) -> Option<Vec<f64>> {
    let (tasks, yields) = if quick { (20, 100) } else { (200, 1000) };
    let rt = R::build(w);
    let once = || {
        rt.run_task(async move {
            let t = Instant::now();
            let hs: Vec<_> = (0..tasks)
                .map(|_| {
                    R::spawn(async move {
                        for _ in 0..yields {
                            R::yield_now().await;
                        }
                    })
                })
                .collect();
            for h in hs {
                h.await;
            }
            t.elapsed()
        })
    };
    once();
    Some(vec![ms(once())])
}
