//! Helpers shared by the integration tests (`mod common;` in each file that
//! uses them). Not every test binary uses every helper.
#![allow(dead_code)]

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{mpsc, Mutex, MutexGuard};
use std::time::Duration;

/// Runs `f` on its own thread and fails the test if it has not finished
/// within `limit`: a hang becomes a failure with a message, not a stuck CI.
/// A panic in `f` is re-raised here, with its payload.
pub fn within<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let r = catch_unwind(AssertUnwindSafe(f));
        let _ = tx.send(r);
    });
    match rx.recv_timeout(limit) {
        Ok(Ok(v)) => v,
        Ok(Err(p)) => std::panic::resume_unwind(p),
        Err(_) => panic!("test body did not finish within {limit:?}: hang"),
    }
}

/// Serialises the tests of one binary that take the guard: timing-sensitive
/// tests, and tests that saturate the cores, run one at a time on a small
/// machine. A test that panicked while holding it does not poison the rest.
pub fn serial() -> MutexGuard<'static, ()> {
    static M: Mutex<()> = Mutex::new(());
    M.lock().unwrap_or_else(|e| e.into_inner())
}

/// A runtime with `workers` worker threads (0: caller-driven) that reads
/// time from `clock`.
pub fn manual_rt(workers: usize, clock: &tempo::time::ManualClock) -> tempo::Runtime {
    tempo::Runtime::builder()
        .worker_threads(workers)
        .manual_clock(clock)
        .build()
        .unwrap()
}

/// A waker whose `wake` panics: user code the runtime must contain.
pub struct PanickingWaker;
impl std::task::Wake for PanickingWaker {
    fn wake(self: std::sync::Arc<Self>) {
        panic!("this waker panics");
    }
}
