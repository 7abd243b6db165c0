//! `std` flavour of the shim (normal builds).

pub(crate) mod atomic {
    pub(crate) use std::sync::atomic::{
        fence, AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering,
    };
}
pub(crate) use std::sync::Condvar as RawCondvar;
pub(crate) use std::sync::Mutex as RawMutex;
pub(crate) use std::sync::MutexGuard as RawMutexGuard;
pub(crate) use std::thread;
pub(crate) use std::thread_local as tls;

/// `UnsafeCell` with loom's closure-based API; zero cost in normal builds.
#[derive(Debug)]
pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

impl<T> UnsafeCell<T> {
    pub(crate) const fn new(data: T) -> Self {
        UnsafeCell(std::cell::UnsafeCell::new(data))
    }
    /// Consumes the cell and returns the contents (loom's `into_inner`).
    pub(crate) fn into_inner(self) -> T {
        self.0.into_inner()
    }
    /// Runs `f` with a shared raw pointer to the contents.
    #[inline]
    pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }
    /// Runs `f` with an exclusive raw pointer to the contents.
    #[inline]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}
