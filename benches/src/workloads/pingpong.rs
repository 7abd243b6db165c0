//! Workload 3: ping-pong and chained spawn.
//!
//! * `pingpong-1`, `pingpong-16`: 1 or 16 pairs of tasks, 1,000 round trips
//!   each. A round trip: A sends B a fresh `oneshot::Sender` over an mpsc
//!   channel (wakes B), B answers through it (wakes A). Both wakes cross tasks.
//! * `chain-1000`: each task spawns the next, depth 1,000; the last one
//!   fires a oneshot.

use super::{Case, TIME_MS};
use crate::rt::Rt;
use crate::stats::ms;
use futures::channel::{mpsc, oneshot};
use futures::StreamExt;
use std::time::Instant;

/// The cases of this module.
pub fn cases() -> Vec<Case> {
    vec![
        Case {
            workload: "3-pingpong",
            case: "1-pair",
            metrics: &[TIME_MS],
            run: crate::dispatch!(pairs1),
        },
        Case {
            workload: "3-pingpong",
            case: "16-pairs",
            metrics: &[TIME_MS],
            run: crate::dispatch!(pairs16),
        },
        Case {
            workload: "3-pingpong",
            case: "chain-1000",
            metrics: &[TIME_MS],
            run: crate::dispatch!(chain),
        },
    ]
}

/// One pair: A drives `rounds` round trips with B; returns when both ended.
pub async fn pair<R: Rt>(rounds: usize) {
    let (to_b, mut from_a) = mpsc::unbounded::<oneshot::Sender<()>>();
    let b = R::spawn(async move {
        while let Some(tx) = from_a.next().await {
            let _ = tx.send(());
        }
    });
    let a = R::spawn(async move {
        for _ in 0..rounds {
            let (tx, rx) = oneshot::channel();
            to_b.unbounded_send(tx).expect("B alive");
            rx.await.expect("B answered");
        }
    });
    a.await;
    b.await;
}

fn pairs<R: Rt>(w: usize, quick: bool, n: usize) -> Option<Vec<f64>> {
    let rounds = if quick { 100 } else { 1000 };
    let rt = R::build(w);
    let once = || {
        rt.run_task(async move {
            let t = Instant::now();
            let hs: Vec<_> = (0..n).map(|_| R::spawn(pair::<R>(rounds))).collect();
            for h in hs {
                h.await;
            }
            t.elapsed()
        })
    };
    once();
    Some(vec![ms(once())])
}

fn pairs1<R: Rt>(w: usize, quick: bool) -> Option<Vec<f64>> {
    pairs::<R>(w, quick, 1)
}

fn pairs16<R: Rt>(w: usize, quick: bool) -> Option<Vec<f64>> {
    pairs::<R>(w, quick, 16)
}

fn link<R: Rt>(left: usize, tx: oneshot::Sender<()>) {
    if left == 0 {
        let _ = tx.send(());
    } else {
        R::detach(R::spawn(async move { link::<R>(left - 1, tx) }));
    }
}

fn chain<R: Rt>(w: usize, quick: bool) -> Option<Vec<f64>> {
    let depth = if quick { 100 } else { 1000 };
    let rt = R::build(w);
    let once = || {
        rt.run_task(async move {
            let t = Instant::now();
            let (tx, rx) = oneshot::channel();
            link::<R>(depth, tx);
            rx.await.expect("chain ended");
            t.elapsed()
        })
    };
    once();
    Some(vec![ms(once())])
}
