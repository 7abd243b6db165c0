//! Workload 6: serverbox's scheduler loads. N tasks each re-post themselves
//! E times (`yield_now`), doing a fixed amount of work per execution: `nano`
//! = 20 atomic increments, `micro` = 100. Reported: executions per second
//! (million). serverbox compares its scheduler with a `Mutex<VecDeque>` +
//! `Condvar` twin on exactly this load; here every runtime runs it.

use super::Case;
use crate::record::{Better, Metric};
use crate::rt::Rt;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Instant;

const RATE: &[Metric] = &[Metric {
    name: "rate",
    unit: "Mexec/s",
    better: Better::Higher,
}];
const TASKS: usize = 1_000;
const REPOSTS: usize = 100;

/// The cases of this module.
pub fn cases() -> Vec<Case> {
    vec![
        Case {
            workload: "6-serverbox",
            case: "nano",
            metrics: RATE,
            run: crate::dispatch!(nano),
        },
        Case {
            workload: "6-serverbox",
            case: "micro",
            metrics: RATE,
            run: crate::dispatch!(micro),
        },
    ]
}

fn load<R: Rt>(w: usize, quick: bool, ops: u64) -> Option<Vec<f64>> {
    let reposts = if quick { REPOSTS / 10 } else { REPOSTS };
    let rt = R::build(w);
    let once = || {
        rt.run_task(async move {
            let t = Instant::now();
            let hs: Vec<_> = (0..TASKS)
                .map(|_| {
                    R::spawn(async move {
                        let a = AtomicU64::new(0);
                        for i in 0..reposts {
                            for _ in 0..ops {
                                black_box(&a).fetch_add(1, Relaxed);
                            }
                            if i + 1 < reposts {
                                R::yield_now().await;
                            }
                        }
                        assert_eq!(a.load(Relaxed), ops * reposts as u64);
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
    let d = once();
    Some(vec![(TASKS * reposts) as f64 / d.as_secs_f64() / 1e6])
}

fn nano<R: Rt>(w: usize, quick: bool) -> Option<Vec<f64>> {
    load::<R>(w, quick, 20)
}

fn micro<R: Rt>(w: usize, quick: bool) -> Option<Vec<f64>> {
    load::<R>(w, quick, 100)
}
