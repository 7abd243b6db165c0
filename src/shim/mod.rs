//! The sync shim: the only module that names atomics, `Mutex`, `Condvar`,
//! `thread`, `UnsafeCell` and thread-locals.
//!
//! It re-exports `std`, [loom](https://docs.rs/loom) or
//! [shuttle](https://docs.rs/shuttle) depending on the crate-local cfgs
//! `tempo_loom` / `tempo_shuttle`, which `build.rs` derives from the
//! test-only cargo features `loom` / `shuttle`.
//!
//! # Invariants
//! 1. Every other module reaches synchronisation primitives through this
//!    module only, so a `--features loom` build explores *all* of them.
//! 2. [`UnsafeCell`] always offers loom's `with`/`with_mut` API, so loom can
//!    check that no two threads access a cell concurrently.
//! 3. [`Mutex::lock`] never reports poisoning: tempo never panics while
//!    holding one of its own locks (user code runs outside them), so a
//!    poisoned lock can only come from an abort-in-progress and the data is
//!    still consistent.

#[cfg(not(any(tempo_loom, tempo_shuttle)))]
mod std_impl;
#[cfg(not(any(tempo_loom, tempo_shuttle)))]
pub(crate) use std_impl::*;

#[cfg(tempo_loom)]
mod loom_impl;
#[cfg(tempo_loom)]
pub(crate) use loom_impl::*;

#[cfg(tempo_shuttle)]
mod shuttle_impl;
#[cfg(tempo_shuttle)]
pub(crate) use shuttle_impl::*;

mod mutex;
pub(crate) use mutex::{Condvar, Mutex};

/// `Arc` is std's in every flavour: `Waker::from(Arc<impl Wake>)` and
/// `Weak` (for the manual clock's runtime list) need std's type, and loom's
/// `Arc` adds nothing the models check (reference counts of tasks live in the
/// task state word, which loom does see).
pub(crate) use std::sync::{Arc, Weak};

/// The source of task and `block_on` frame ids: every id it hands out is
/// fresh, so an id names one task (or frame) for the life of the process.
///
/// `task/local.rs` invariant 2 relies on this: a timer entry is keyed by its
/// owner's id, and a `Sleep` moved to a task of *another runtime* must not
/// find that task's entries under its old key. (Until the fourteenth session
/// each runtime counted from 1, and such a sleep completed at once:
/// `tests/time.rs::sleep_moved_between_runtimes_never_fires_early`.)
///
/// Normal builds share one process-wide counter, from which each thread
/// takes a block of [`ID_BLOCK`] ids at a time (a thread-local range): one
/// `fetch_add` on the shared line per `ID_BLOCK` spawns of a thread instead
/// of one per spawn, so workers spawning at once do not pass that line
/// between their cores. Ids are unique, never 0, never reused; they are not
/// in spawn order across threads (nothing promises that). Under loom and shuttle each runtime keeps
/// its own counter, a model atomic: a process-wide one would carry over from
/// one iteration of a model to the next, and the ids pick registry shards, so
/// two iterations of one schedule would not do the same steps.
pub(crate) struct IdSource {
    #[cfg(any(tempo_loom, tempo_shuttle))]
    next: atomic::AtomicU64,
}

#[cfg(not(any(tempo_loom, tempo_shuttle)))]
static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// Ids a thread takes from [`NEXT_ID`] at once.
#[cfg(not(any(tempo_loom, tempo_shuttle)))]
const ID_BLOCK: u64 = 1024;

#[cfg(not(any(tempo_loom, tempo_shuttle)))]
std::thread_local! {
    /// This thread's unused ids: `next..end` (empty at first).
    static ID_RANGE: std::cell::Cell<(u64, u64)> = const { std::cell::Cell::new((0, 0)) };
}

impl IdSource {
    /// A source (normal builds: a view of the process-wide counter).
    pub(crate) fn new() -> IdSource {
        IdSource {
            #[cfg(any(tempo_loom, tempo_shuttle))]
            next: atomic::AtomicU64::new(1),
        }
    }

    /// A fresh id (never 0).
    pub(crate) fn next(&self) -> u64 {
        #[cfg(not(any(tempo_loom, tempo_shuttle)))]
        let id = ID_RANGE
            .try_with(|r| {
                let (mut next, mut end) = r.get();
                if next == end {
                    // Relaxed: the id orders nothing; uniqueness comes from the RMW.
                    next = NEXT_ID.fetch_add(ID_BLOCK, std::sync::atomic::Ordering::Relaxed);
                    end = next + ID_BLOCK;
                }
                r.set((next + 1, end));
                next
            })
            // A spawn from a thread-local destructor: one id from the counter.
            .unwrap_or_else(|_| NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
        // Relaxed: as above.
        #[cfg(any(tempo_loom, tempo_shuttle))]
        let id = self.next.fetch_add(1, atomic::Ordering::Relaxed);
        id
    }
}

/// Number of CPUs available to the process (1 if unknown): the default
/// worker count. Not a synchronisation primitive, but it names `thread`.
pub(crate) fn available_parallelism() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// The name of the OS thread running this code (libtest names it after the
/// test), whatever the flavour: loom and shuttle run every model thread on
/// that one OS thread. Not a synchronisation primitive; trace validation
/// names its trace files with it.
#[cfg(any(tempo_loom, tempo_shuttle))]
pub(crate) fn os_thread_name() -> Option<String> {
    std::thread::current().name().map(str::to_owned)
}
