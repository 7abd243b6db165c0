//! Workload 4: fairness under CPU hogs.
//!
//! 4 hogs (100 µs busy, then `yield_now`, forever) and 2 tasks ping-ponging
//! share the runtime with a probe task. A thread outside the runtime sends
//! the probe a timestamp every 1 ms for 1 s; the probe records the delay
//! from the send (its wake) to its poll. Reported: p50, p99 and max of that
//! delay, and the ping-pong round trips completed meanwhile.

use super::Case;
use crate::record::{Better, Metric};
use crate::rt::Rt;
use crate::stats::{p50_p99_max, spin, us};
use futures::channel::{mpsc, oneshot};
use futures::StreamExt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

const METRICS: &[Metric] = &[
    Metric {
        name: "p99",
        unit: "µs",
        better: Better::Lower,
    },
    Metric {
        name: "p50",
        unit: "µs",
        better: Better::Lower,
    },
    Metric {
        name: "max",
        unit: "µs",
        better: Better::Lower,
    },
    Metric {
        name: "pingpong",
        unit: "rt/s",
        better: Better::Higher,
    },
];

/// The cases of this module.
pub fn cases() -> Vec<Case> {
    vec![Case {
        workload: "4-fairness",
        case: "probe-1ms",
        metrics: METRICS,
        run: crate::dispatch!(probe),
    }]
}

fn run_once<R: Rt>(rt: &R, probes: usize) -> Vec<f64> {
    let stop = Arc::new(AtomicBool::new(false));
    let rounds = Arc::new(AtomicU64::new(0));
    let (tx, mut rx) = mpsc::unbounded::<Instant>();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<()>();
    let t0 = Instant::now();
    let delays = std::thread::scope(|s| {
        s.spawn(move || {
            // Start when the probe runs; then one stamp per millisecond.
            let _ = ready_rx.recv();
            for _ in 0..probes {
                std::thread::sleep(Duration::from_millis(1));
                if tx.unbounded_send(Instant::now()).is_err() {
                    return;
                }
            }
        });
        rt.run_task({
            let stop = stop.clone();
            let rounds = rounds.clone();
            async move {
                let hogs: Vec<_> = (0..4)
                    .map(|_| {
                        let stop = stop.clone();
                        R::spawn(async move {
                            while !stop.load(Relaxed) {
                                spin(Duration::from_micros(100));
                                R::yield_now().await;
                            }
                        })
                    })
                    .collect();
                let (to_b, mut from_a) = mpsc::unbounded::<oneshot::Sender<()>>();
                let b = R::spawn(async move {
                    while let Some(tx) = from_a.next().await {
                        let _ = tx.send(());
                    }
                });
                let a = R::spawn({
                    let stop = stop.clone();
                    async move {
                        while !stop.load(Relaxed) {
                            let (tx, rx) = oneshot::channel();
                            to_b.unbounded_send(tx).expect("B alive");
                            rx.await.expect("B answered");
                            rounds.fetch_add(1, Relaxed);
                        }
                    }
                });
                let probe = R::spawn(async move {
                    let mut d = Vec::with_capacity(probes);
                    let _ = ready_tx.send(());
                    while let Some(sent) = rx.next().await {
                        d.push(us(sent.elapsed()));
                    }
                    d
                });
                let d = probe.await;
                stop.store(true, Relaxed);
                for h in hogs {
                    h.await;
                }
                a.await;
                b.await;
                d
            }
        })
    });
    let mut delays = delays;
    let (p50, p99, max) = p50_p99_max(&mut delays);
    let secs = t0.elapsed().as_secs_f64();
    vec![p99, p50, max, rounds.load(Relaxed) as f64 / secs]
}

fn probe<R: Rt>(w: usize, quick: bool) -> Option<Vec<f64>> {
    let probes = if quick { 100 } else { 1000 };
    let rt = R::build(w);
    run_once(&rt, probes / 10);
    Some(run_once(&rt, probes))
}
