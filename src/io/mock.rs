//! A mock I/O source for the loom and shuttle models (compiled only under
//! `--features loom`/`shuttle`): the real [`ScheduledIo`] protocol, with a
//! byte counter standing in for the socket and the model's own thread
//! standing in for the reactor.
//!
//! # Invariants
//! 1. `available` is the number of bytes "in the socket": `deliver` adds to it
//!    *before* reporting readiness (as the kernel does before epoll reports),
//!    `try_read` takes all of it or fails with `WouldBlock`.
//! 2. Everything else is `ScheduledIo`'s: the models check its no-lost-wakeup
//!    and no-hang-on-close invariants through the public `read` future.

use super::readiness::Direction;
use super::readiness::READABLE;
use super::scheduled_io::ScheduledIo;
use crate::shim::atomic::{AtomicUsize, Ordering::*};
use std::future::poll_fn;
use std::io;

/// A mock socket driven by a mock reactor (see the module docs).
#[derive(Default)]
pub struct MockIo {
    io: ScheduledIo,
    available: AtomicUsize,
}

impl MockIo {
    /// A source with nothing to read and nothing reported.
    pub fn new() -> MockIo {
        MockIo::default()
    }

    /// The mock kernel receives `n` bytes and the mock reactor reports an
    /// edge (call from the model's "reactor" thread).
    ///
    /// TLA+ (`tla/Readiness.tla`): `Arrive`, then `Report`, `Dispatch`,
    /// `DispatchWake`
    pub fn deliver(&self, n: usize) {
        // Release; pairs with the Acquire swap in `try_read` (invariant 1).
        self.available.fetch_add(n, Release);
        self.io.report(READABLE);
    }

    /// The source is closed or its reactor shut down (call from any thread):
    /// a pending `read` must fail, not hang.
    ///
    /// TLA+: `Close`, `CloseDispatch`, `CloseWake`
    pub fn close(&self) {
        self.io.shutdown();
    }

    /// TLA+: the operation of `TryOp`
    fn try_read(&self) -> io::Result<usize> {
        // Acquire; pairs with the Release in `deliver`.
        match self.available.swap(0, Acquire) {
            0 => Err(io::ErrorKind::WouldBlock.into()),
            n => Ok(n),
        }
    }

    fn try_read_one(&self) -> io::Result<usize> {
        // Acquire; pairs with the Release in `deliver`.
        match self
            .available
            .fetch_update(Relaxed, Acquire, |n| n.checked_sub(1))
        {
            Ok(_) => Ok(1),
            Err(_) => Err(io::ErrorKind::WouldBlock.into()),
        }
    }

    /// Reads one byte if there is one (a partial read: readiness stays set
    /// while bytes remain), waiting like [`read`](Self::read) otherwise.
    ///
    /// # Errors
    /// After [`close`](Self::close): the "runtime shut down" error.
    pub async fn read_one(&self) -> io::Result<usize> {
        poll_fn(|cx| self.io.poll_io(Direction::Read, cx, || self.try_read_one())).await
    }

    /// Reads whatever is available, waiting for readiness like a socket
    /// (`ScheduledIo::poll_io`: check, try, clear on `WouldBlock`, register, re-check).
    ///
    /// # Errors
    /// After [`close`](Self::close): the "runtime shut down" error.
    pub async fn read(&self) -> io::Result<usize> {
        poll_fn(|cx| self.io.poll_io(Direction::Read, cx, || self.try_read())).await
    }
}
