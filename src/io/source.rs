//! [`IoSource`]: a mio source registered with the current runtime's reactor.
//! Every socket type of `tempo::net` is a thin wrapper around one.
//!
//! # Invariants
//! 1. `io` is `Some` from construction until drop (or `into_inner`); the
//!    source stays registered exactly that long.
//! 2. Dropping deregisters the source from epoll *before* closing its file
//!    descriptor (closing first could leave a stale registration if the fd
//!    was duplicated) and frees the reactor slot; a waiter on another handle
//!    (a split half) is woken with a shutdown error.
//! 3. At most one task waits per direction at a time (one reader, one
//!    writer); a second concurrent waiter in the same direction replaces the
//!    first one's waker (documented on the public types).

use super::reactor::{Reactor, Registration};
use super::readiness::Direction;
use crate::shim::Arc;
use std::fmt;
use std::io;
use std::task::{Context, Poll};

/// A registered mio source (see the module docs).
pub(crate) struct IoSource<T: mio::event::Source> {
    io: Option<T>,
    reg: Registration,
}

/// The reactor of the runtime this thread runs in.
///
/// # Errors
/// Outside a runtime, an error naming `what` and the fix.
pub(crate) fn current_reactor(what: &str) -> io::Result<Arc<Reactor>> {
    match crate::runtime::context::try_current() {
        Some(h) => Ok(h
            .shared
            .reactor
            .clone()
            .expect("tempo bug: runtime without a reactor")),
        None => Err(io::Error::other(format!(
            "{what} needs a tempo runtime: call it from inside `Runtime::block_on` or a task"
        ))),
    }
}

impl<T: mio::event::Source> IoSource<T> {
    /// Registers `io` with the current runtime's reactor.
    ///
    /// # Errors
    /// Outside a runtime, or if registration fails.
    pub(crate) fn new(mut io: T, what: &str) -> io::Result<IoSource<T>> {
        let reactor = current_reactor(what)?;
        let reg = reactor.register(&mut io)?;
        Ok(IoSource { io: Some(io), reg })
    }

    /// The mio source.
    pub(crate) fn get_ref(&self) -> &T {
        self.io.as_ref().expect("invariant 1")
    }

    /// Runs `op` when direction `d` is ready, retrying after `WouldBlock`.
    pub(crate) fn poll_io<R>(
        &self,
        d: Direction,
        cx: &mut Context<'_>,
        mut op: impl FnMut(&T) -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        let io = self.get_ref();
        self.reg.io().poll_io(d, cx, || op(io))
    }

    /// Runs a byte-stream `op` asked for `want` bytes (see
    /// `ScheduledIo::poll_stream_io`: a short transfer clears readiness).
    pub(crate) fn poll_stream_io(
        &self,
        d: Direction,
        cx: &mut Context<'_>,
        want: usize,
        mut op: impl FnMut(&T) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        let io = self.get_ref();
        self.reg.io().poll_stream_io(d, cx, want, || op(io))
    }

    /// Runs a TCP read `op` asked for `want` bytes (see
    /// `ScheduledIo::poll_tcp_read`: a short read clears readiness unless
    /// urgent data was reported).
    pub(crate) fn poll_tcp_read(
        &self,
        cx: &mut Context<'_>,
        want: usize,
        mut op: impl FnMut(&T) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        let io = self.get_ref();
        self.reg.io().poll_tcp_read(cx, want, || op(io))
    }

    /// This process shut down the source's write side: reports it as the
    /// reactor would (`ScheduledIo::report_write_shutdown`), for socket
    /// types whose kernel poll raises no edge for it.
    pub(crate) fn report_write_shutdown(&self) {
        self.reg.io().report_write_shutdown();
    }

    /// Deregisters and returns the source (invariant 2 without the close).
    pub(crate) fn into_inner(mut self) -> io::Result<T> {
        let mut io = self.io.take().expect("invariant 1");
        self.reg.deregister(&mut io)?;
        Ok(io)
    }
}

impl<T: mio::event::Source> Drop for IoSource<T> {
    fn drop(&mut self) {
        if let Some(mut io) = self.io.take() {
            // Invariant 2: deregister, then close (dropping `io`). A failed
            // deregistration (the fd is gone anyway) leaves nothing to undo.
            let _ = self.reg.deregister(&mut io);
            drop(io);
        }
    }
}

impl<T: mio::event::Source + fmt::Debug> fmt::Debug for IoSource<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.io {
            Some(io) => io.fmt(f),
            None => f.write_str("IoSource(closed)"),
        }
    }
}
