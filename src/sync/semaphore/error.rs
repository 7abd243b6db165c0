//! The semaphore's errors: [`AcquireError`] (an acquire on a closed
//! semaphore) and [`TryAcquireError`].
//!
//! # What it owns
//! Nothing shared: plain values handed to the caller.
//!
//! # Invariants
//! 1. Only the semaphore builds an [`AcquireError`] (its field is private
//!    to `semaphore`), and only for a closed semaphore (its invariant 4).
//!
//! # Who touches what
//! `Semaphore`'s acquire futures and `try_acquire` build them; callers own
//! them.

use std::fmt;

/// The error of [`Semaphore::acquire`](super::Semaphore::acquire): the semaphore
/// was closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcquireError(pub(super) ());

impl fmt::Display for AcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("semaphore closed")
    }
}

impl std::error::Error for AcquireError {}

/// The error of [`Semaphore::try_acquire`](super::Semaphore::try_acquire).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryAcquireError {
    /// The semaphore was closed.
    Closed,
    /// Not enough permits are free now, or an acquire waits before.
    NoPermits,
}

impl fmt::Display for TryAcquireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryAcquireError::Closed => f.write_str("semaphore closed"),
            TryAcquireError::NoPermits => f.write_str("no permits available"),
        }
    }
}

impl std::error::Error for TryAcquireError {}
