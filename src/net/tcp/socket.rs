//! [`TcpSocket`]: a TCP socket configured *before* it binds or connects
//! (options such as `SO_REUSEPORT` must be set first).
//!
//! # Invariants
//! 1. A linger time reaches the kernel as whole seconds, rounded *up* and
//!    saturated at `i32::MAX` (`linger_secs`), here and in
//!    [`TcpStream::set_linger`]: `SO_LINGER` counts seconds in a C `int`,
//!    and socket2 truncates (`as_secs() as c_int`), so a sub-second linger
//!    such as 500 ms became 0, which turns the graceful close that was asked
//!    for into a reset discarding unsent data (and 2^32 s wrapped to 0 too).

use super::listener::TcpListener;
use super::stream::TcpStream;
use socket2::{Domain, Protocol, Socket, Type};
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

/// A TCP socket not yet bound or connected, for options that must come
/// first: reuse address and port, buffer sizes, nodelay, keepalive, linger.
///
/// # Examples
/// ```
/// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
/// let rt = tempo::Runtime::new().unwrap();
/// rt.block_on(async {
///     let addr = "127.0.0.1:0".parse().unwrap();
///     let s = tempo::net::TcpSocket::new_v4().unwrap();
///     s.set_reuseaddr(true).unwrap();
///     s.set_reuseport(true).unwrap();
///     s.set_recv_buffer_size(1 << 20).unwrap();
///     s.bind(addr).unwrap();
///     let listener = s.listen(128).unwrap();
///     let c = tempo::net::TcpSocket::new_v4().unwrap();
///     c.set_nodelay(true).unwrap();
///     let stream = c.connect(listener.local_addr().unwrap()).await.unwrap();
///     assert!(stream.nodelay().unwrap());
/// });
/// # }
/// ```
pub struct TcpSocket {
    s: Socket,
}

impl TcpSocket {
    fn new(d: Domain) -> io::Result<TcpSocket> {
        let s = Socket::new(d, Type::STREAM.nonblocking().cloexec(), Some(Protocol::TCP))?;
        Ok(TcpSocket { s })
    }

    /// A new IPv4 socket.
    ///
    /// # Errors
    /// The OS error (e.g. out of descriptors).
    pub fn new_v4() -> io::Result<TcpSocket> {
        TcpSocket::new(Domain::IPV4)
    }

    /// A new IPv6 socket.
    ///
    /// # Errors
    /// The OS error.
    pub fn new_v6() -> io::Result<TcpSocket> {
        TcpSocket::new(Domain::IPV6)
    }

    /// Sets `SO_REUSEADDR`.
    ///
    /// # Errors
    /// The OS error.
    pub fn set_reuseaddr(&self, on: bool) -> io::Result<()> {
        self.s.set_reuse_address(on)
    }

    /// Sets `SO_REUSEPORT` (several listeners share a port; the kernel spreads connections).
    ///
    /// # Errors
    /// The OS error.
    pub fn set_reuseport(&self, on: bool) -> io::Result<()> {
        self.s.set_reuse_port(on)
    }

    /// Sets `SO_SNDBUF`.
    ///
    /// # Errors
    /// The OS error.
    pub fn set_send_buffer_size(&self, bytes: usize) -> io::Result<()> {
        self.s.set_send_buffer_size(bytes)
    }

    /// Sets `SO_RCVBUF`.
    ///
    /// # Errors
    /// The OS error.
    pub fn set_recv_buffer_size(&self, bytes: usize) -> io::Result<()> {
        self.s.set_recv_buffer_size(bytes)
    }

    /// Sets `TCP_NODELAY`.
    ///
    /// # Errors
    /// The OS error.
    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        self.s.set_tcp_nodelay(on)
    }

    /// Sets `SO_KEEPALIVE`.
    ///
    /// # Errors
    /// The OS error.
    pub fn set_keepalive(&self, on: bool) -> io::Result<()> {
        self.s.set_keepalive(on)
    }

    /// Sets `SO_LINGER`, as [`TcpStream::set_linger`] does (whole seconds,
    /// rounded up; invariant 1). A nonzero linger makes dropping the stream
    /// block its thread while unsent data drains (see
    /// [`TcpStream::set_linger`]).
    ///
    /// # Errors
    /// The OS error.
    pub fn set_linger(&self, linger: Option<Duration>) -> io::Result<()> {
        self.s.set_linger(linger_secs(linger))
    }

    /// Binds to `addr`.
    ///
    /// # Errors
    /// `AddrInUse` and the like.
    pub fn bind(&self, addr: SocketAddr) -> io::Result<()> {
        self.s.bind(&addr.into())
    }

    /// Starts listening and registers the listener with the current runtime.
    ///
    /// # Errors
    /// The OS error, or outside a tempo runtime.
    pub fn listen(self, backlog: u32) -> io::Result<TcpListener> {
        self.s.listen(backlog.min(i32::MAX as u32) as i32)?;
        TcpListener::from_mio(mio::net::TcpListener::from_std(self.s.into()))
    }

    /// Connects (non-blocking) and waits for the connection.
    ///
    /// # Errors
    /// `ConnectionRefused` and the like, or outside a tempo runtime.
    pub async fn connect(self, addr: SocketAddr) -> io::Result<TcpStream> {
        match self.s.connect(&addr.into()) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
            Err(e) => return Err(e),
        }
        let s = TcpStream::from_mio(mio::net::TcpStream::from_std(self.s.into()))?;
        s.wait_connected().await?;
        Ok(s)
    }
}

/// A linger time as the kernel can hold it (invariant 1): zero stays zero
/// (close sends a reset), anything else is rounded up to whole seconds and
/// saturated at `i32::MAX` seconds, so that socket2's conversion to a C `int`
/// is exact.
pub(crate) fn linger_secs(linger: Option<Duration>) -> Option<Duration> {
    linger.map(|d| {
        let up = d.as_secs() + u64::from(d.subsec_nanos() > 0);
        Duration::from_secs(up.min(i32::MAX as u64))
    })
}

impl fmt::Debug for TcpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.s.fmt(f)
    }
}
