//! A counting global allocator: the live heap bytes of the process, for the
//! memory workload. A binary opts in with
//! `#[global_allocator] static A: tempo_benches::alloc::Counting = Counting;`.
//!
//! It counts all the time until the binary calls [`count_only_in_scopes`]
//! (the suite and `timeline` do, first thing; `tests/memory.rs` does not),
//! and from then on only inside a [`counting`] scope. Outside one, an
//! allocation costs two reads of flags that nobody writes (cache lines
//! every core keeps shared), so the other workloads of the same binary run
//! at the system allocator's speed. Before, every allocation and free of every
//! thread added to one atomic counter and stored to the `INSTALLED` flag:
//! two writes to a line all threads shared, on every `Box` of every
//! runtime (`perf` of `3-pingpong/16-pairs` on two workers: 13% of the
//! samples in `Counting::alloc`/`dealloc`), which slowed the
//! allocation-heavy cases of the multi-threaded runtimes and added noise.
//!
//! Inside a scope every allocation and free counts, whoever makes it and
//! whenever the block was allocated, so a difference of two [`live`]
//! readings taken in one scope is exactly the bytes allocated minus the
//! bytes freed between them, as when the counter ran all the time.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicIsize, AtomicUsize, Ordering::Relaxed};

static LIVE: AtomicIsize = AtomicIsize::new(0);
static INSTALLED: AtomicBool = AtomicBool::new(false);
/// Whether every allocation counts (until [`count_only_in_scopes`]).
static ALWAYS: AtomicBool = AtomicBool::new(true);
/// Open [`counting`] scopes.
static SCOPES: AtomicUsize = AtomicUsize::new(0);

/// Whether allocations count now.
#[inline]
fn on() -> bool {
    ALWAYS.load(Relaxed) || SCOPES.load(Relaxed) != 0
}

/// From now on, count only inside [`counting`] scopes (call it before
/// starting any thread: a scope's readings are then exact).
pub fn count_only_in_scopes() {
    ALWAYS.store(false, Relaxed);
}

/// Adds `delta` to the live bytes if counting is on. Relaxed: the counter
/// orders nothing; a reading is taken by the thread that opened the scope,
/// after the work it measures has been joined (a happens-before edge of the
/// runtime's own), so it sees every change made inside the scope.
#[inline]
fn count(delta: isize) {
    if on() {
        LIVE.fetch_add(delta, Relaxed);
    }
}

/// The system allocator, counting live bytes (requested sizes) inside a
/// [`counting`] scope.
pub struct Counting;

// SAFETY: every method forwards to `System` with the caller's arguments
// unchanged; the counter is a side effect only.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        if !INSTALLED.load(Relaxed) {
            INSTALLED.store(true, Relaxed);
        }
        count(l.size() as isize);
        // SAFETY: forwarded contract.
        unsafe { System.alloc(l) }
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        count(l.size() as isize);
        // SAFETY: forwarded contract.
        unsafe { System.alloc_zeroed(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        count(-(l.size() as isize));
        // SAFETY: forwarded contract.
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        count(new as isize - l.size() as isize);
        // SAFETY: forwarded contract.
        unsafe { System.realloc(p, l, new) }
    }
}

/// Runs `f` with counting on (scopes nest; `f`'s panic closes its scope).
pub fn counting<T>(f: impl FnOnce() -> T) -> T {
    struct Scope;
    impl Drop for Scope {
        fn drop(&mut self) {
            SCOPES.fetch_sub(1, Relaxed);
        }
    }
    SCOPES.fetch_add(1, Relaxed);
    let _scope = Scope;
    f()
}

/// Live heap bytes counted so far, or `None` if [`Counting`] is not the
/// global allocator or counting is off (after [`count_only_in_scopes`],
/// outside a scope: a reading would be stale).
pub fn live() -> Option<isize> {
    (INSTALLED.load(Relaxed) && on()).then(|| LIVE.load(Relaxed))
}
