//! [`TcpListener`]: a listening TCP socket registered with the reactor.
//!
//! # Invariants
//! 1. `accept` clears the listener's readiness only on `WouldBlock`; an error
//!    such as `EMFILE` leaves it set, so once descriptors free up the next
//!    `accept` takes the connections still queued without waiting for a new
//!    edge (the listener keeps working).
//! 2. Accepted sockets are non-blocking and registered before they are returned.
//! 3. After `accept` returned an error, the next poll of an accept on the
//!    listener yields once (it wakes its task and returns `Pending`) before
//!    it tries `accept(2)` again. With invariant 1 an error such as `EMFILE`
//!    keeps the listener ready, so a server loop that logs the error and
//!    accepts again never returned `Pending`: it held its worker forever and
//!    the tasks that would free descriptors never ran (a hang). Yielding lets
//!    every other ready task of the worker run between two attempts.

use super::stream::TcpStream;
use crate::io::readiness::Direction;
use crate::io::source::IoSource;
use crate::net::addr::{each_addr, ToSocketAddrs};
use crate::shim::atomic::{AtomicBool, Ordering::Relaxed};
use futures_core::Stream;
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A TCP socket listening for connections.
///
/// # Examples
/// ```
/// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
/// use tempo::net::{TcpListener, TcpStream};
/// let rt = tempo::Runtime::new().unwrap();
/// rt.block_on(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
///     let addr = listener.local_addr().unwrap();
///     let client = tempo::spawn(async move { TcpStream::connect(addr).await.map(drop) });
///     let (_stream, peer) = listener.accept().await.unwrap();
///     assert_eq!(peer.ip(), addr.ip());
///     client.await.unwrap().unwrap();
/// });
/// # }
/// ```
pub struct TcpListener {
    io: IoSource<mio::net::TcpListener>,
    /// The last accept failed: the next poll yields first (invariant 3).
    /// A hint between the polls of the accepting tasks: `Relaxed`.
    yield_next: AtomicBool,
}

impl TcpListener {
    /// Binds to `addr` (`SO_REUSEADDR` on, backlog 1024), trying each resolved
    /// address in turn. Port 0 picks a free port; read it with
    /// [`local_addr`](Self::local_addr).
    ///
    /// # Errors
    /// `AddrInUse`, `PermissionDenied`, `InvalidInput` for an unparsable
    /// address (naming it), or an error outside a tempo runtime.
    pub async fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<TcpListener> {
        each_addr(&addr, |a| async move {
            TcpListener::from_mio(mio::net::TcpListener::bind(a)?)
        })
        .await
    }

    pub(crate) fn from_mio(l: mio::net::TcpListener) -> io::Result<TcpListener> {
        Ok(TcpListener {
            io: IoSource::new(l, "TcpListener")?,
            yield_next: AtomicBool::new(false),
        })
    }

    /// Registers a bound, listening `std` listener with the current runtime
    /// (it is switched to non-blocking mode).
    ///
    /// # Errors
    /// Outside a tempo runtime, or if registration fails.
    pub fn from_std(l: std::net::TcpListener) -> io::Result<TcpListener> {
        l.set_nonblocking(true)?;
        TcpListener::from_mio(mio::net::TcpListener::from_std(l))
    }

    /// Waits for a connection.
    ///
    /// An error does not end the listener: accepting again is the usual
    /// answer (after a pause, for `EMFILE`/`ENFILE`, so as not to spin while
    /// the process is out of descriptors). The accept after an error first
    /// lets the other ready tasks of its worker run (invariant 3), so a loop
    /// that goes straight back to `accept` cannot starve the tasks that
    /// would free descriptors.
    ///
    /// # Errors
    /// The error of `accept(2)`, e.g. `EMFILE` when the process is out of
    /// file descriptors; the listener keeps working afterwards (invariant 1).
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Polls for a connection (the building block of [`accept`](Self::accept)
    /// and [`incoming`](Self::incoming)).
    ///
    /// # Errors
    /// As [`accept`](Self::accept).
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        // Invariant 3: the load keeps the common path free of a write.
        if self.yield_next.load(Relaxed) && self.yield_next.swap(false, Relaxed) {
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        let r = match self.io.poll_io(Direction::Read, cx, |l| l.accept()) {
            Poll::Ready(Ok((s, a))) => TcpStream::from_mio(s).map(|s| (s, a)),
            Poll::Ready(Err(e)) => Err(e),
            Poll::Pending => return Poll::Pending,
        };
        if r.is_err() {
            self.yield_next.store(true, Relaxed);
        }
        Poll::Ready(r)
    }

    /// A stream of accepted connections (it never ends; an `accept` error is
    /// an item, and the stream goes on after it, yielding first as
    /// [`accept`](Self::accept) does).
    ///
    /// # Examples
    /// ```
    /// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
    /// use futures::StreamExt;
    /// let rt = tempo::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let l = tempo::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let addr = l.local_addr().unwrap();
    ///     for _ in 0..2 {
    ///         tempo::spawn(async move { tempo::net::TcpStream::connect(addr).await.unwrap() });
    ///     }
    ///     let two: Vec<_> = l.incoming().take(2).collect().await;
    ///     assert!(two.iter().all(|s| s.is_ok()));
    /// });
    /// # }
    /// ```
    pub fn incoming(&self) -> Incoming<'_> {
        Incoming { listener: self }
    }

    /// The bound address.
    ///
    /// # Errors
    /// The OS error.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// Sets the IP time-to-live of accepted sockets.
    ///
    /// # Errors
    /// The OS error.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_ttl(ttl)
    }

    /// The IP time-to-live.
    ///
    /// # Errors
    /// The OS error.
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.get_ref().ttl()
    }
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.io.fmt(f)
    }
}

#[cfg(unix)]
impl std::os::fd::AsRawFd for TcpListener {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

/// The stream of [`TcpListener::incoming`] (see its example): accepted
/// connections, forever; an `accept` error is an item and the stream goes on.
#[derive(Debug)]
pub struct Incoming<'a> {
    listener: &'a TcpListener,
}

impl Stream for Incoming<'_> {
    type Item = io::Result<TcpStream>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.listener
            .poll_accept(cx)
            .map(|r| Some(r.map(|(s, _)| s)))
    }
}
