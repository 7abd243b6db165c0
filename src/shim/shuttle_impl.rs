//! shuttle flavour of the shim (`--features shuttle`, test-only).
//! shuttle has no `UnsafeCell`; it is single-OS-thread, so the std cell with
//! loom's API is sound there.

pub(crate) mod atomic {
    pub(crate) use shuttle::sync::atomic::{
        fence, AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering,
    };
}
pub(crate) use shuttle::sync::Condvar as RawCondvar;
pub(crate) use shuttle::sync::Mutex as RawMutex;
pub(crate) use shuttle::sync::MutexGuard as RawMutexGuard;
pub(crate) use shuttle::thread;
pub(crate) use shuttle::thread_local as tls;

/// `UnsafeCell` with loom's closure-based API.
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
    #[inline]
    pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }
    #[inline]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}
