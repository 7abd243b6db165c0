//! loom flavour of the shim (`--features loom`, test-only).

pub(crate) mod atomic {
    pub(crate) use loom::sync::atomic::{
        fence, AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering,
    };
}
pub(crate) use loom::cell::UnsafeCell;
pub(crate) use loom::sync::Condvar as RawCondvar;
pub(crate) use loom::sync::Mutex as RawMutex;
pub(crate) use loom::sync::MutexGuard as RawMutexGuard;
pub(crate) use loom::thread;
pub(crate) use loom::thread_local as tls;
