//! The workloads of issue 5, each generic over [`Rt`](crate::rt::Rt).
//!
//! A [`Case`] builds a fresh runtime, runs its load once unmeasured (warm-up:
//! threads started, allocator caches filled), then once measured, and returns
//! one value per metric; `None` if the runtime lacks what the case needs
//! (the twin has no timers or sockets; `smol-local` cannot be reached from
//! another thread). `bin/suite.rs` repeats each case and keeps every value.

pub mod fairness;
pub mod fork;
pub mod memory;
pub mod pingpong;
pub mod serverbox;
pub mod spawn;
pub mod timers;

use crate::record::{Better, Metric};

/// One measured case of a workload.
pub struct Case {
    /// Workload id, numbered as in issue 5 (`1-spawn`).
    pub workload: &'static str,
    /// Case name within it.
    pub case: &'static str,
    /// What the values mean; the first is the headline (plotted).
    pub metrics: &'static [Metric],
    /// Runs the case on the named runtime with `workers` workers (`quick`: a
    /// smaller load for smoke tests).
    pub run: fn(rt: &str, workers: usize, quick: bool) -> Option<Vec<f64>>,
}

/// Wraps a generic `fn f<R: Rt>(workers, quick) -> Option<Vec<f64>>` as a [`Case::run`].
#[macro_export]
macro_rules! dispatch {
    ($f:ident) => {
        |rt: &str, w: usize, q: bool| -> Option<Vec<f64>> {
            $crate::for_each_rt!(rt, |R| $f::<R>(w, q)).flatten()
        }
    };
}

/// Total time in milliseconds (lower is better).
pub const TIME_MS: Metric = Metric {
    name: "time",
    unit: "ms",
    better: Better::Lower,
};

/// Every case, in issue order.
pub fn all() -> Vec<Case> {
    let mut v = Vec::new();
    v.extend(spawn::cases());
    v.extend(pingpong::cases());
    v.extend(fairness::cases());
    v.extend(timers::cases());
    v.extend(serverbox::cases());
    v.extend(memory::cases());
    v.extend(fork::cases());
    v
}

/// A oneshot-backed "everyone finished" latch that any task can count down.
pub struct Latch {
    left: std::sync::atomic::AtomicUsize,
    tx: std::sync::Mutex<Option<futures::channel::oneshot::Sender<()>>>,
}

impl Latch {
    /// A latch for `n` count-downs and the receiver that resolves at zero.
    pub fn new(
        n: usize,
    ) -> (
        std::sync::Arc<Latch>,
        futures::channel::oneshot::Receiver<()>,
    ) {
        let (tx, rx) = futures::channel::oneshot::channel();
        let l = Latch {
            left: n.into(),
            tx: std::sync::Mutex::new(Some(tx)),
        };
        (std::sync::Arc::new(l), rx)
    }

    /// Counts down once; the last one fires the receiver.
    pub fn done(&self) {
        if self.left.fetch_sub(1, std::sync::atomic::Ordering::AcqRel) == 1 {
            if let Some(tx) = self.tx.lock().unwrap().take() {
                let _ = tx.send(());
            }
        }
    }
}
