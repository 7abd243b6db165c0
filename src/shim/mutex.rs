//! Poison-free `Mutex` and `Condvar` wrappers over the selected flavour.
//! See invariant 3 of the shim: tempo never runs user code under its locks.

use super::{RawCondvar, RawMutex, RawMutexGuard};
use std::time::Duration;

/// A mutex whose `lock` cannot fail (poisoning is ignored, see the shim's
/// invariant 3).
#[derive(Debug)]
pub(crate) struct Mutex<T>(RawMutex<T>);

/// Guard returned by [`Mutex::lock`].
pub(crate) type MutexGuard<'a, T> = RawMutexGuard<'a, T>;

impl<T> Mutex<T> {
    pub(crate) fn new(value: T) -> Self {
        Mutex(RawMutex::new(value))
    }
    pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A condition variable paired with [`Mutex`].
#[derive(Debug, Default)]
pub(crate) struct Condvar(RawCondvar);

impl Condvar {
    pub(crate) fn new() -> Self {
        Condvar(RawCondvar::new())
    }
    pub(crate) fn wait<'a, T>(&self, g: MutexGuard<'a, T>) -> MutexGuard<'a, T> {
        self.0.wait(g).unwrap_or_else(|e| e.into_inner())
    }
    /// Waits at most `dur` (loom never times out: its model has no time;
    /// tempo's loom models drive deadlines with a manual clock instead).
    pub(crate) fn wait_timeout<'a, T>(
        &self,
        g: MutexGuard<'a, T>,
        dur: Duration,
    ) -> MutexGuard<'a, T> {
        match self.0.wait_timeout(g, dur) {
            Ok((g, _)) => g,
            Err(e) => e.into_inner().0,
        }
    }
    pub(crate) fn notify_one(&self) {
        self.0.notify_one()
    }
    pub(crate) fn notify_all(&self) {
        self.0.notify_all()
    }
}
