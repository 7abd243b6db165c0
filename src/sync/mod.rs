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
