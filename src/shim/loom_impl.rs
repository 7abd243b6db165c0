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

/// `thread_local!` with std's `const { … }` initialiser form, which loom's
/// macro does not parse: the initialiser is passed on as a plain expression
/// (loom builds each thread's value lazily either way).
macro_rules! tls_loom {
    ($(#[$attr:meta])* $vis:vis static $name:ident: $t:ty = const { $init:expr };) => {
        loom::thread_local!($(#[$attr])* $vis static $name: $t = $init);
    };
}
pub(crate) use tls_loom as tls;
