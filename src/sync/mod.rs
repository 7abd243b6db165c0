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
