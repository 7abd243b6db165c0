//! Workload 5: timers.
//!
//! * `sleep-100k`: 100,000 tasks each sleep a duration drawn uniformly from
//!   1–100 ms (the same seeded sequence for every runtime); total time until
//!   the last woke, and lateness (wake − deadline) p50/p99/max;
//! * `sleep-100us`: 500 sequential `sleep(100 µs)` in one task; mean and p99
//!   overshoot beyond the 100 µs;
//! * `timeout-1w`, `timeout-2w`: 1,000,000 `timeout(1 s, ready)` created,
//!   awaited (the inner future wins at once) and dropped, in one task, on a
//!   runtime with 1 and with 2 workers; million per second;
//! * `timeout-armed`: 100,000 `timeout(1 s, yield_now())` in one task: the
//!   inner future is pending once, so the timer is armed, then cancelled
//!   when the task is polled again (includes the reschedule of the yield);
//!   million per second.

use super::Case;
use crate::record::{Better, Metric};
use crate::rt::Rt;
use crate::stats::{ms, p50_p99_max, us};
use std::time::{Duration, Instant};

/// Lateness p99 first (the headline): the total time is ~100 ms for every
/// runtime (the longest sleep), so its ratio is noise.
const MANY: &[Metric] = &[
    Metric {
        name: "late-p99",
        unit: "µs",
        better: Better::Lower,
    },
    Metric {
        name: "late-p50",
        unit: "µs",
        better: Better::Lower,
    },
    Metric {
        name: "late-max",
        unit: "µs",
        better: Better::Lower,
    },
    Metric {
        name: "time",
        unit: "ms",
        better: Better::Lower,
    },
];
const SHORT: &[Metric] = &[
    Metric {
        name: "over-mean",
        unit: "µs",
        better: Better::Lower,
    },
    Metric {
        name: "over-p99",
        unit: "µs",
        better: Better::Lower,
    },
];
const RATE: &[Metric] = &[Metric {
    name: "rate",
    unit: "M/s",
    better: Better::Higher,
}];

/// The cases of this module.
pub fn cases() -> Vec<Case> {
    vec![
        Case {
            workload: "5-timers",
            case: "sleep-100k",
            metrics: MANY,
            run: crate::dispatch!(many),
        },
        Case {
            workload: "5-timers",
            case: "sleep-100us",
            metrics: SHORT,
            run: crate::dispatch!(short),
        },
        Case {
            workload: "5-timers",
            case: "timeout-1w",
            metrics: RATE,
            run: crate::dispatch!(timeouts1),
        },
        Case {
            workload: "5-timers",
            case: "timeout-2w",
            metrics: RATE,
            run: crate::dispatch!(timeouts2),
        },
        Case {
            workload: "5-timers",
            case: "timeout-armed",
            metrics: RATE,
            run: crate::dispatch!(timeouts_armed),
        },
    ]
}

/// Deterministic durations in 1..=100 ms (xorshift, fixed seed): the
/// `sleep-100k` sequence, also used by `bin/timeline.rs`.
pub fn durations(n: usize) -> Vec<Duration> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            Duration::from_micros(1_000 + x % 99_001)
        })
        .collect()
}

fn many<R: Rt>(w: usize, quick: bool) -> Option<Vec<f64>> {
    if !R::TIMERS {
        return None;
    }
    let n = if quick { 10_000 } else { 100_000 };
    let rt = R::build(w);
    let once = |n: usize| {
        let ds = durations(n);
        rt.run_task(async move {
            let t = Instant::now();
            let hs: Vec<_> = ds
                .into_iter()
                .map(|d| {
                    R::spawn(async move {
                        let deadline = Instant::now() + d;
                        R::sleep(d).await;
                        us(Instant::now().saturating_duration_since(deadline))
                    })
                })
                .collect();
            let mut late = Vec::with_capacity(hs.len());
            for h in hs {
                late.push(h.await);
            }
            (t.elapsed(), late)
        })
    };
    once(n / 10);
    let (d, mut late) = once(n);
    let (p50, p99, max) = p50_p99_max(&mut late);
    Some(vec![p99, p50, max, ms(d)])
}

fn short<R: Rt>(w: usize, quick: bool) -> Option<Vec<f64>> {
    if !R::TIMERS {
        return None;
    }
    let n = if quick { 50 } else { 500 };
    let rt = R::build(w);
    let once = |n: usize| {
        rt.run_task(async move {
            let mut over = Vec::with_capacity(n);
            for _ in 0..n {
                let t = Instant::now();
                R::sleep(Duration::from_micros(100)).await;
                over.push(us(t.elapsed()) - 100.0);
            }
            over
        })
    };
    once(n / 10);
    let mut over = once(n);
    let mean = over.iter().sum::<f64>() / over.len() as f64;
    let (_, p99, _) = p50_p99_max(&mut over);
    Some(vec![mean, p99])
}

/// Millions of `op()` per second over `n` sequential awaits in one task on
/// `w` workers; every `op` must report that the inner future won. `op` is a
/// generic (monomorphised, inlinable) closure, not a function pointer, so
/// the loop compiles as if written out per case.
fn timeout_rate<R: Rt, F, Op>(w: usize, n: usize, op: Op) -> Option<Vec<f64>>
where
    F: std::future::Future<Output = bool> + Send + 'static,
    Op: Fn() -> F + Copy + Send + 'static,
{
    if !R::TIMERS {
        return None;
    }
    let rt = R::build(w);
    let once = |n: usize| {
        rt.run_task(async move {
            let t = Instant::now();
            let mut won = 0usize;
            for _ in 0..n {
                won += op().await as usize;
            }
            assert_eq!(won, n, "an inner future lost to its 1 s timeout");
            t.elapsed()
        })
    };
    once(n / 10);
    let d = once(n);
    Some(vec![n as f64 / d.as_secs_f64() / 1e6])
}

fn timeouts<R: Rt>(w: usize, quick: bool) -> Option<Vec<f64>> {
    let n = if quick { 100_000 } else { 1_000_000 };
    timeout_rate::<R, _, _>(w, n, || R::timeout_ready(Duration::from_secs(1)))
}

fn timeouts1<R: Rt>(_w: usize, quick: bool) -> Option<Vec<f64>> {
    timeouts::<R>(1, quick)
}

fn timeouts2<R: Rt>(_w: usize, quick: bool) -> Option<Vec<f64>> {
    timeouts::<R>(2, quick)
}

fn timeouts_armed<R: Rt>(w: usize, quick: bool) -> Option<Vec<f64>> {
    let n = if quick { 10_000 } else { 100_000 };
    timeout_rate::<R, _, _>(w, n, || R::timeout_yield(Duration::from_secs(1)))
}
