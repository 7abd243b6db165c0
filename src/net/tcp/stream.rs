//! [`TcpStream`]: a connected TCP socket registered with the reactor.
//!
//! # Invariants
//! 1. The socket is non-blocking and registered from construction to drop
//!    (`io/source.rs`); every read waits in the read direction, every write
//!    in the write direction, so one reader and one writer can wait at once.
//! 2. Writes never raise SIGPIPE: every write, plain or vectored, is a
//!    `send`/`sendmsg` with `MSG_NOSIGNAL` (std's vectored write is a
//!    `writev`, which would raise it), so a write to a reset peer returns
//!    `BrokenPipe`/`ConnectionReset` even in a process that restored the
//!    default SIGPIPE action (`tests/net_sigpipe.rs`).
//! 3. A connect completes only when the socket reports writable *and*
//!    `SO_ERROR` is clear *and* the socket has a peer; a refused connect
//!    returns the `SO_ERROR` (e.g. `ConnectionRefused`).
//! 4. A vectored write hands the kernel at most `MAX_IOV` (1024) slices and
//!    wants only their bytes (`net/iov.rs`): with more it writes a prefix,
//!    as std does, where it used to fail with `EMSGSIZE`.
//! 5. `set_linger` hands the kernel whole seconds, rounded up
//!    (`tcp/socket.rs` invariant 1): a sub-second linger was truncated to 0,
//!    a reset instead of the graceful close that was asked for.
//!
//! # Inherent to Linux
//! A *nonzero* `SO_LINGER` makes `close(2)` wait, non-blocking socket or
//! not, until the unsent data is acknowledged or the linger time runs out:
//! dropping such a stream (or its last half) blocks the dropping thread, a
//! worker, for up to that long, and every task of that worker waits with
//! it. tempo cannot close asynchronously; hence the warning on
//! [`TcpStream::set_linger`]. `Some(Duration::ZERO)` (reset at once) and
//! `None` (the default: the kernel finishes the close in the background)
//! never block.

use super::split::{OwnedReadHalf, OwnedWriteHalf};
use crate::io::readiness::Direction;
use crate::io::source::IoSource;
use crate::net::addr::{each_addr, ToSocketAddrs};
use futures_io::{AsyncRead, AsyncWrite};
use socket2::SockRef;
use std::fmt;
use std::future::poll_fn;
use std::io::{self, IoSlice, Read};
use std::net::{Shutdown, SocketAddr};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// A TCP connection. Read and write it with
/// [`futures::io::AsyncReadExt`](https://docs.rs/futures/latest/futures/io/trait.AsyncReadExt.html)
/// and `AsyncWriteExt` (it implements [`AsyncRead`] and [`AsyncWrite`]), or
/// split it into halves owned by different tasks with
/// [`into_split`](Self::into_split). Dropping it closes the socket.
///
/// At most one task should read and one task should write at a time: a
/// second concurrent reader replaces the first one's wakeup.
///
/// # Examples
/// ```
/// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
/// use futures::io::{AsyncReadExt, AsyncWriteExt};
/// use tempo::net::{TcpListener, TcpStream};
///
/// let rt = tempo::Runtime::new().unwrap();
/// rt.block_on(async {
///     let listener = TcpListener::bind("127.0.0.1:0").await?;
///     let addr = listener.local_addr()?;
///     let server = tempo::spawn(async move {
///         let (mut s, _) = listener.accept().await?;
///         let mut buf = [0; 5];
///         s.read_exact(&mut buf).await?;
///         s.write_all(&buf).await?; // echo
///         std::io::Result::Ok(())
///     });
///     let mut c = TcpStream::connect(addr).await?;
///     c.write_all(b"hello").await?;
///     let mut back = [0; 5];
///     c.read_exact(&mut back).await?;
///     assert_eq!(&back, b"hello");
///     server.await.unwrap()
/// })
/// .unwrap();
/// # }
/// ```
pub struct TcpStream {
    pub(super) io: IoSource<mio::net::TcpStream>,
}

impl TcpStream {
    pub(crate) fn from_mio(s: mio::net::TcpStream) -> io::Result<TcpStream> {
        Ok(TcpStream {
            io: IoSource::new(s, "TcpStream")?,
        })
    }

    /// Connects to `addr`, trying each resolved address in turn.
    ///
    /// # Errors
    /// `ConnectionRefused` when nothing listens; `InvalidInput` for an
    /// unparsable address (naming it); the error of the last address tried;
    /// an error outside a tempo runtime.
    pub async fn connect<A: ToSocketAddrs>(addr: A) -> io::Result<TcpStream> {
        each_addr(&addr, |a| async move {
            let s = TcpStream::from_mio(mio::net::TcpStream::connect(a)?)?;
            s.wait_connected().await?;
            Ok(s)
        })
        .await
    }

    /// [`connect`](Self::connect), giving up after `timeout`.
    ///
    /// # Errors
    /// `TimedOut` when the connection is not established in time; otherwise
    /// as [`connect`](Self::connect).
    ///
    /// # Examples
    /// ```
    /// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
    /// use std::time::Duration;
    /// let rt = tempo::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let l = tempo::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let s = tempo::net::TcpStream::connect_timeout(l.local_addr().unwrap(), Duration::from_secs(5))
    ///         .await
    ///         .unwrap();
    ///     assert_eq!(s.peer_addr().unwrap(), l.local_addr().unwrap());
    /// });
    /// # }
    /// ```
    pub async fn connect_timeout<A: ToSocketAddrs>(
        addr: A,
        timeout: Duration,
    ) -> io::Result<TcpStream> {
        match crate::time::timeout(timeout, TcpStream::connect(addr)).await {
            Ok(r) => r,
            Err(_) => Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("connect timed out after {timeout:?}"),
            )),
        }
    }

    /// Invariant 3.
    pub(crate) async fn wait_connected(&self) -> io::Result<()> {
        poll_fn(|cx| {
            self.io.poll_io(Direction::Write, cx, |s| {
                if let Some(e) = s.take_error()? {
                    return Err(e);
                }
                match s.peer_addr() {
                    Ok(_) => Ok(()),
                    Err(e) if e.kind() == io::ErrorKind::NotConnected => {
                        Err(io::ErrorKind::WouldBlock.into())
                    }
                    Err(e) => Err(e),
                }
            })
        })
        .await
    }

    /// Registers a connected `std` stream with the current runtime (it is
    /// switched to non-blocking mode).
    ///
    /// # Errors
    /// Outside a tempo runtime, or if registration fails.
    pub fn from_std(s: std::net::TcpStream) -> io::Result<TcpStream> {
        s.set_nonblocking(true)?;
        TcpStream::from_mio(mio::net::TcpStream::from_std(s))
    }

    /// Deregisters the stream and returns it as a `std` stream (still in
    /// non-blocking mode).
    ///
    /// # Errors
    /// If deregistration fails.
    pub fn into_std(self) -> io::Result<std::net::TcpStream> {
        Ok(self.io.into_inner()?.into())
    }

    /// The local address.
    ///
    /// # Errors
    /// The OS error (e.g. the socket was reset).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The peer's address.
    ///
    /// # Errors
    /// `NotConnected` after a reset.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// Shuts down the read, write or both halves (the peer then reads EOF
    /// after a write shutdown). Pending reads see EOF, pending writes fail.
    ///
    /// # Errors
    /// `NotConnected` if the peer already went away.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.get_ref().shutdown(how)
    }

    /// Sets `TCP_NODELAY` (disable Nagle's algorithm).
    ///
    /// # Errors
    /// The OS error.
    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        self.io.get_ref().set_nodelay(on)
    }

    /// Whether `TCP_NODELAY` is set.
    ///
    /// # Errors
    /// The OS error.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.io.get_ref().nodelay()
    }

    /// Sets the IP time-to-live.
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

    /// Sets `SO_LINGER` (`Some(Duration::ZERO)` makes close send a reset).
    /// The kernel counts whole seconds: a nonzero time is rounded up (500 ms
    /// lingers up to 1 s, never 0) and saturates at `i32::MAX` seconds
    /// (invariant 5); [`linger`](Self::linger) reads back the rounded value.
    ///
    /// **A nonzero linger blocks the drop**: Linux's `close(2)` then waits
    /// until unsent data is acknowledged or the time runs out, ignoring
    /// non-blocking mode, so dropping the stream (or its last half) holds the
    /// worker thread, and its other tasks, that long (module docs, "Inherent
    /// to Linux"). For a graceful close without that, leave the linger off
    /// and call [`shutdown`](Self::shutdown)`(Write)` (or `close`), then read
    /// until EOF before dropping.
    ///
    /// # Errors
    /// The OS error.
    pub fn set_linger(&self, linger: Option<Duration>) -> io::Result<()> {
        SockRef::from(self.io.get_ref()).set_linger(super::socket::linger_secs(linger))
    }

    /// The `SO_LINGER` setting.
    ///
    /// # Errors
    /// The OS error.
    pub fn linger(&self) -> io::Result<Option<Duration>> {
        SockRef::from(self.io.get_ref()).linger()
    }

    /// Turns `SO_KEEPALIVE` on (with the given idle time before the first
    /// probe) or off. The kernel counts the idle time in whole seconds, 1 to
    /// 32,767 on Linux; a fraction of a second is dropped, so an idle time
    /// under 1 s, or over the maximum, is refused.
    ///
    /// # Errors
    /// The OS error: `InvalidInput` for an idle time outside 1 s ..= 32,767 s.
    pub fn set_keepalive(&self, idle: Option<Duration>) -> io::Result<()> {
        let s = SockRef::from(self.io.get_ref());
        match idle {
            None => s.set_keepalive(false),
            Some(t) => s.set_tcp_keepalive(&socket2::TcpKeepalive::new().with_time(t)),
        }
    }

    /// Whether `SO_KEEPALIVE` is on.
    ///
    /// # Errors
    /// The OS error.
    pub fn keepalive(&self) -> io::Result<bool> {
        SockRef::from(self.io.get_ref()).keepalive()
    }

    /// Sets `SO_SNDBUF` (the kernel may double or clamp it).
    ///
    /// # Errors
    /// The OS error.
    pub fn set_send_buffer_size(&self, bytes: usize) -> io::Result<()> {
        SockRef::from(self.io.get_ref()).set_send_buffer_size(bytes)
    }

    /// `SO_SNDBUF`.
    ///
    /// # Errors
    /// The OS error.
    pub fn send_buffer_size(&self) -> io::Result<usize> {
        SockRef::from(self.io.get_ref()).send_buffer_size()
    }

    /// Sets `SO_RCVBUF` (the kernel may double or clamp it).
    ///
    /// # Errors
    /// The OS error.
    pub fn set_recv_buffer_size(&self, bytes: usize) -> io::Result<()> {
        SockRef::from(self.io.get_ref()).set_recv_buffer_size(bytes)
    }

    /// `SO_RCVBUF`.
    ///
    /// # Errors
    /// The OS error.
    pub fn recv_buffer_size(&self) -> io::Result<usize> {
        SockRef::from(self.io.get_ref()).recv_buffer_size()
    }

    /// Takes the pending `SO_ERROR`, if any.
    ///
    /// # Errors
    /// The OS error of the query itself.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
    }

    /// Reads data without removing it from the socket's queue.
    ///
    /// # Errors
    /// As a read.
    pub async fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| self.io.poll_io(Direction::Read, cx, |s| s.peek(buf))).await
    }

    /// Splits the stream into a read half and a write half that different
    /// tasks (on any threads) can own; [`OwnedReadHalf::reunite`] puts them
    /// back together.
    ///
    /// # Examples
    /// ```
    /// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
    /// use futures::io::{AsyncReadExt, AsyncWriteExt};
    /// let rt = tempo::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let l = tempo::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    ///     let c = tempo::net::TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
    ///     let (s, _) = l.accept().await.unwrap();
    ///     let (mut r, mut w) = s.into_split();
    ///     let writer = tempo::spawn(async move { w.write_all(b"ping").await });
    ///     let (mut cr, _cw) = c.into_split();
    ///     let mut buf = [0; 4];
    ///     cr.read_exact(&mut buf).await.unwrap();
    ///     writer.await.unwrap().unwrap();
    ///     assert_eq!(&buf, b"ping");
    /// #   drop(r.read(&mut buf));
    /// });
    /// # }
    /// ```
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        super::split::split(self)
    }

    pub(crate) fn poll_read_priv(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        // Not `poll_stream_io`: a short TCP read may stop at the urgent mark
        // with bytes left, and clearing readiness then would wait for an edge
        // that never comes (tokio-rs/tokio#7051). `poll_tcp_read` clears
        // after a short read only if no urgent data was ever reported
        // (readiness invariant 5, TLA+ `Urgent`).
        let want = buf.len();
        self.io.poll_tcp_read(cx, want, |mut s| s.read(buf))
    }

    pub(crate) fn poll_write_priv(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.io
            .poll_stream_io(Direction::Write, cx, buf.len(), |s| {
                SockRef::from(s).send_with_flags(buf, libc::MSG_NOSIGNAL)
            })
    }

    pub(crate) fn poll_write_vectored_priv(
        &self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        // At most `MAX_IOV` slices, and only their bytes are wanted
        // (`net/iov.rs`): more fail with EMSGSIZE.
        let (bufs, want) = crate::net::iov::capped(bufs);
        self.io.poll_stream_io(Direction::Write, cx, want, |s| {
            // Invariant 2: not `write_vectored` (writev).
            SockRef::from(s).send_vectored_with_flags(bufs, libc::MSG_NOSIGNAL)
        })
    }
}

impl AsyncRead for TcpStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_read_priv(cx, buf)
    }
}

impl AsyncWrite for TcpStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_priv(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_vectored_priv(cx, bufs)
    }

    /// Nothing to do: tempo does not buffer writes.
    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// Shuts down the write half (the peer reads EOF).
    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.shutdown(Shutdown::Write))
    }
}

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.io.fmt(f)
    }
}

#[cfg(unix)]
impl std::os::fd::AsRawFd for TcpStream {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

#[cfg(unix)]
impl std::os::fd::AsFd for TcpStream {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}
