//! Unix-domain stream sockets: [`UnixListener`], [`UnixStream`] and its owned
//! halves [`UnixOwnedReadHalf`] / [`UnixOwnedWriteHalf`].
//!
//! # Invariants
//! 1. Every socket is non-blocking and registered from construction to drop
//!    (`io/source.rs`); every read and accept waits in the read direction,
//!    every write in the write direction, so one reader and one writer can
//!    wait at once.
//! 2. Writes never raise SIGPIPE: every write goes through `send(2)` with
//!    `MSG_NOSIGNAL` (`SockRef::send_with_flags` /
//!    `send_vectored_with_flags`), never through `write(2)`/`writev(2)`,
//!    which raise SIGPIPE on a closed peer. (`Write::write` on a std or mio
//!    Unix socket called `write(2)` until rust-lang/rust#140005, newer than
//!    this crate's MSRV, so tempo does not rely on std here.) A write to a
//!    closed peer returns `BrokenPipe` (or `ConnectionReset`) and the process
//!    keeps running even if SIGPIPE has its default, fatal disposition
//!    (`tests/net_unix_sigpipe.rs`).
//! 3. A connect completes only when the socket reports writable *and*
//!    `SO_ERROR` is clear. `EAGAIN` from `connect(2)` (the listener's backlog
//!    is full) is not an error: the connect is retried after a short pause
//!    (growing to 50 ms) until the listener makes room, like a blocking
//!    `connect`; bound it with [`crate::time::timeout`].
//! 4. [`UnixListener::bind`] checks for a runtime *before* creating the
//!    socket file, so a failed bind outside a runtime leaves no file behind.
//!    The file is not removed when the listener drops (as with std): remove
//!    it yourself; binding over an existing file fails with `AddrInUse`.
//!    An empty path is refused with `InvalidInput`: `bind(2)` given only the
//!    address family autobinds to a random abstract name, so the listener
//!    "succeeded" with no file behind it, at a name no client knew (std and
//!    mio pass the empty path through). Abstract names (a leading NUL byte)
//!    are not supported: mio refuses them with `InvalidInput`.
//! 5. Both owned halves share one `Arc<UnixStream>` (the socket closes when
//!    the last drops); the read half only waits in the read direction, the
//!    write half only in the write direction, and dropping the write half
//!    shuts down the write direction (the peer reads EOF).
//! 6. A vectored write hands the kernel at most `MAX_IOV` (1024) slices and
//!    wants only their bytes (`net/iov.rs`): with more it writes a prefix,
//!    as std does, where it used to fail with `EMSGSIZE`.
//! 7. A successful `shutdown(Write)` or `shutdown(Both)` through
//!    [`UnixStream::shutdown`] (also `close` and dropping the write half)
//!    reports the write direction closed and writable itself
//!    (`ScheduledIo::report_write_shutdown`): Linux's `unix_poll` raises no
//!    edge for the socket's own send shutdown, and a writer whose last write
//!    saw a full buffer waited forever instead of failing with `BrokenPipe`.
//!    Not covered (the kernel raises no event and tempo never hears of it): a
//!    shutdown through the raw fd, and the *peer's* `shutdown(Read)`, after
//!    which a writer waiting on a full buffer waits until the peer closes
//!    or reads; bound such writes with [`crate::time::timeout`].
//! 8. After `accept` returned an error, the next poll of an accept on the
//!    listener yields once (it wakes its task and returns `Pending`) before
//!    it tries `accept(2)` again: an error such as `EMFILE` leaves the
//!    listener ready, and a loop that goes straight back to `accept` held its
//!    worker forever, starving the tasks that would free descriptors (as
//!    `net/tcp/listener.rs` invariant 3).

use crate::io::readiness::Direction;
use crate::io::source::{current_reactor, IoSource};
use crate::shim::atomic::{AtomicBool, Ordering::Relaxed};
use crate::shim::Arc;
use futures_core::Stream;
use futures_io::{AsyncRead, AsyncWrite};
use socket2::SockRef;
use std::fmt;
use std::future::poll_fn;
use std::io::{self, IoSlice, Read};
use std::net::Shutdown;
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// A Unix-domain socket listening for connections on a path.
///
/// # Examples
/// ```
/// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
/// use futures::io::{AsyncReadExt, AsyncWriteExt};
/// use tempo::net::{UnixListener, UnixStream};
///
/// let path = std::env::temp_dir().join(format!("tempo-doc-listener-{}.sock", std::process::id()));
/// let _ = std::fs::remove_file(&path);
/// let rt = tempo::Runtime::new().unwrap();
/// rt.block_on(async {
///     let listener = UnixListener::bind(&path)?;
///     let p = path.clone();
///     let client = tempo::spawn(async move {
///         let mut c = UnixStream::connect(&p).await?;
///         c.write_all(b"hello").await
///     });
///     let (mut s, _addr) = listener.accept().await?;
///     let mut buf = [0; 5];
///     s.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"hello");
///     client.await.unwrap()
/// })
/// .unwrap();
/// std::fs::remove_file(&path).unwrap();
/// # }
/// ```
pub struct UnixListener {
    io: IoSource<mio::net::UnixListener>,
    /// The last accept failed: the next poll yields first (invariant 8).
    /// A hint between the polls of the accepting tasks: `Relaxed`.
    yield_next: AtomicBool,
}

impl UnixListener {
    /// Creates the socket file at `path` and listens on it. No name
    /// resolution is involved, so this is not `async`; it must still be
    /// called inside a tempo runtime.
    ///
    /// # Errors
    /// `AddrInUse` if `path` exists (invariant 4), `NotFound` if its
    /// directory does not, `PermissionDenied`, `InvalidInput` for an empty
    /// path, a path with a NUL byte (abstract names are not supported) or a
    /// path too long for a socket address (107 bytes on Linux); outside a
    /// tempo runtime, an error naming `UnixListener` (and no file is
    /// created).
    pub fn bind<P: AsRef<Path>>(path: P) -> io::Result<UnixListener> {
        current_reactor("UnixListener")?; // invariant 4
        let path = path.as_ref();
        if path.as_os_str().is_empty() {
            // Invariant 4: not an autobound abstract name.
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "UnixListener::bind: the path is empty (the kernel would bind a random \
                 abstract name with no file behind it); give a file path",
            ));
        }
        UnixListener::from_mio(mio::net::UnixListener::bind(path)?)
    }

    fn from_mio(l: mio::net::UnixListener) -> io::Result<UnixListener> {
        Ok(UnixListener {
            io: IoSource::new(l, "UnixListener")?,
            yield_next: AtomicBool::new(false),
        })
    }

    /// Registers a bound, listening `std` listener with the current runtime
    /// (it is switched to non-blocking mode).
    ///
    /// # Errors
    /// Outside a tempo runtime, or if registration fails.
    pub fn from_std(l: std::os::unix::net::UnixListener) -> io::Result<UnixListener> {
        l.set_nonblocking(true)?;
        UnixListener::from_mio(mio::net::UnixListener::from_std(l))
    }

    /// Waits for a connection. Returns the stream and the peer's address
    /// (a [`std::os::unix::net::SocketAddr`]; usually unnamed, since clients
    /// rarely bind: [`SocketAddr::as_pathname`] is then `None`).
    ///
    /// An error does not end the listener: accepting again is the usual
    /// answer (after a pause, for `EMFILE`/`ENFILE`). The accept after an
    /// error first lets the other ready tasks of its worker run (invariant
    /// 8), so a loop that goes straight back to `accept` cannot starve the
    /// tasks that would free descriptors.
    ///
    /// # Errors
    /// The error of `accept(2)`, e.g. `EMFILE` when the process is out of
    /// file descriptors; the listener keeps working afterwards (its
    /// readiness is cleared only on `WouldBlock`).
    pub async fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Polls for a connection (the building block of [`accept`](Self::accept)
    /// and [`incoming`](Self::incoming)).
    ///
    /// # Errors
    /// As [`accept`](Self::accept).
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(UnixStream, SocketAddr)>> {
        // Invariant 8: the load keeps the common path free of a write.
        if self.yield_next.load(Relaxed) && self.yield_next.swap(false, Relaxed) {
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        let r = match self.io.poll_io(Direction::Read, cx, |l| l.accept()) {
            Poll::Ready(Ok((s, a))) => UnixStream::from_mio(s).map(|s| (s, a)),
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
    /// let path = std::env::temp_dir().join(format!("tempo-doc-incoming-{}.sock", std::process::id()));
    /// let _ = std::fs::remove_file(&path);
    /// let rt = tempo::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let l = tempo::net::UnixListener::bind(&path).unwrap();
    ///     for _ in 0..2 {
    ///         let p = path.clone();
    ///         tempo::spawn(async move { tempo::net::UnixStream::connect(p).await.unwrap() });
    ///     }
    ///     let two: Vec<_> = l.incoming().take(2).collect().await;
    ///     assert!(two.iter().all(|s| s.is_ok()));
    /// });
    /// std::fs::remove_file(&path).unwrap();
    /// # }
    /// ```
    pub fn incoming(&self) -> UnixIncoming<'_> {
        UnixIncoming { listener: self }
    }

    /// The bound address ([`SocketAddr::as_pathname`] gives the path).
    ///
    /// # Errors
    /// The OS error.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// Takes the pending `SO_ERROR`, if any.
    ///
    /// # Errors
    /// The OS error of the query itself.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
    }
}

impl fmt::Debug for UnixListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.io.fmt(f)
    }
}

impl std::os::fd::AsRawFd for UnixListener {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

impl std::os::fd::AsFd for UnixListener {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

/// The stream of [`UnixListener::incoming`].
#[derive(Debug)]
pub struct UnixIncoming<'a> {
    listener: &'a UnixListener,
}

impl Stream for UnixIncoming<'_> {
    type Item = io::Result<UnixStream>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.listener
            .poll_accept(cx)
            .map(|r| Some(r.map(|(s, _)| s)))
    }
}

/// A connected Unix-domain stream socket. Read and write it with
/// [`futures::io::AsyncReadExt`](https://docs.rs/futures/latest/futures/io/trait.AsyncReadExt.html)
/// and `AsyncWriteExt` (it implements [`AsyncRead`] and [`AsyncWrite`]), or
/// split it into halves owned by different tasks with
/// [`into_split`](Self::into_split). Writes never raise SIGPIPE (invariant
/// 2). Dropping it closes the socket.
///
/// At most one task should read and one task should write at a time: a
/// second concurrent reader replaces the first one's wakeup.
///
/// # Examples
/// ```
/// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
/// use futures::io::{AsyncReadExt, AsyncWriteExt};
/// let rt = tempo::Runtime::new().unwrap();
/// rt.block_on(async {
///     let (mut a, mut b) = tempo::net::UnixStream::pair()?;
///     a.write_all(b"ping").await?;
///     let mut buf = [0; 4];
///     b.read_exact(&mut buf).await?;
///     assert_eq!(&buf, b"ping");
///     std::io::Result::Ok(())
/// })
/// .unwrap();
/// # }
/// ```
pub struct UnixStream {
    io: IoSource<mio::net::UnixStream>,
}

impl UnixStream {
    fn from_mio(s: mio::net::UnixStream) -> io::Result<UnixStream> {
        Ok(UnixStream {
            io: IoSource::new(s, "UnixStream")?,
        })
    }

    /// Connects to the listener at `path` (invariant 3: a full backlog is
    /// waited out, not reported).
    ///
    /// # Errors
    /// `NotFound` if nothing exists at `path`, `ConnectionRefused` if the
    /// file exists but nobody listens on it, `PermissionDenied`; an error
    /// outside a tempo runtime.
    pub async fn connect<P: AsRef<Path>>(path: P) -> io::Result<UnixStream> {
        current_reactor("UnixStream")?;
        let path = path.as_ref();
        let mut pause = Duration::from_micros(500);
        loop {
            match mio::net::UnixStream::connect(path) {
                Ok(s) => {
                    let s = UnixStream::from_mio(s)?;
                    s.wait_connected().await?;
                    return Ok(s);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    // Invariant 3: the backlog is full; nothing wakes us when
                    // it drains, so poll it with a growing pause.
                    crate::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_millis(50));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Invariant 3.
    async fn wait_connected(&self) -> io::Result<()> {
        poll_fn(|cx| {
            self.io
                .poll_io(Direction::Write, cx, |s| match s.take_error()? {
                    Some(e) => Err(e),
                    None => Ok(()),
                })
        })
        .await
    }

    /// A connected pair of anonymous sockets (`socketpair(2)`), both
    /// registered with the current runtime.
    ///
    /// # Errors
    /// Outside a tempo runtime; `EMFILE` when out of file descriptors.
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        current_reactor("UnixStream::pair")?;
        let (a, b) = mio::net::UnixStream::pair()?;
        Ok((UnixStream::from_mio(a)?, UnixStream::from_mio(b)?))
    }

    /// Registers a connected `std` stream with the current runtime (it is
    /// switched to non-blocking mode).
    ///
    /// # Errors
    /// Outside a tempo runtime, or if registration fails.
    pub fn from_std(s: std::os::unix::net::UnixStream) -> io::Result<UnixStream> {
        s.set_nonblocking(true)?;
        UnixStream::from_mio(mio::net::UnixStream::from_std(s))
    }

    /// The local address (usually unnamed: [`SocketAddr::as_pathname`] is
    /// `None` for a connecting socket or one half of a [`pair`](Self::pair)).
    ///
    /// # Errors
    /// The OS error.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The peer's address (the listener's path for a connected client).
    ///
    /// # Errors
    /// `NotConnected` if the socket is not connected.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// Shuts down the read, write or both halves (the peer then reads EOF
    /// after a write shutdown). Pending reads see EOF, pending writes fail
    /// with `BrokenPipe` (invariant 7), and so does every later write.
    ///
    /// The kernel tells no one when the *peer* shuts down its read side: a
    /// write waiting on a full buffer then waits until the peer reads or
    /// closes (invariant 7).
    ///
    /// # Errors
    /// `NotConnected` if the socket is not connected.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.io.get_ref().shutdown(how)?;
        if matches!(how, Shutdown::Write | Shutdown::Both) {
            // Invariant 7: `unix_poll` raises no edge for our own send
            // shutdown; report it so that a waiting writer gets its EPIPE.
            self.io.report_write_shutdown();
        }
        Ok(())
    }

    /// Takes the pending `SO_ERROR`, if any.
    ///
    /// # Errors
    /// The OS error of the query itself.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
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

    /// Splits the stream into a read half and a write half that different
    /// tasks (on any threads) can own (invariant 5).
    ///
    /// # Examples
    /// ```
    /// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
    /// use futures::io::{AsyncReadExt, AsyncWriteExt};
    /// let rt = tempo::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let (a, mut b) = tempo::net::UnixStream::pair().unwrap();
    ///     let (mut r, mut w) = a.into_split();
    ///     let writer = tempo::spawn(async move { w.write_all(b"ping").await });
    ///     let mut buf = [0; 4];
    ///     b.read_exact(&mut buf).await.unwrap();
    ///     writer.await.unwrap().unwrap(); // `w` dropped: `b` reads EOF next
    ///     assert_eq!(&buf, b"ping");
    ///     b.write_all(b"pong").await.unwrap();
    ///     r.read_exact(&mut buf).await.unwrap();
    ///     assert_eq!(&buf, b"pong");
    ///     assert_eq!(b.read(&mut buf).await.unwrap(), 0);
    /// });
    /// # }
    /// ```
    pub fn into_split(self) -> (UnixOwnedReadHalf, UnixOwnedWriteHalf) {
        let inner = Arc::new(self);
        (
            UnixOwnedReadHalf {
                inner: inner.clone(),
            },
            UnixOwnedWriteHalf { inner },
        )
    }

    fn poll_read_priv(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        // Not `poll_stream_io`: a short read does not always mean the socket
        // is drained (TCP stops at the urgent mark, Unix streams at a message
        // carrying descriptors; tokio-rs/tokio#7051), and clearing readiness
        // then would wait for an edge that never comes.
        self.io.poll_io(Direction::Read, cx, |mut s| s.read(buf))
    }

    /// Invariant 2: `send(2)` with `MSG_NOSIGNAL`, never `write(2)`.
    fn poll_write_priv(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.io
            .poll_stream_io(Direction::Write, cx, buf.len(), |s| {
                SockRef::from(s).send_with_flags(buf, libc::MSG_NOSIGNAL)
            })
    }

    /// Invariant 2: `sendmsg(2)` with `MSG_NOSIGNAL`, never `writev(2)`.
    fn poll_write_vectored_priv(
        &self,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        // At most `MAX_IOV` slices, and only their bytes are wanted
        // (`net/iov.rs`): more fail with EMSGSIZE.
        let (bufs, want) = crate::net::iov::capped(bufs);
        self.io.poll_stream_io(Direction::Write, cx, want, |s| {
            SockRef::from(s).send_vectored_with_flags(bufs, libc::MSG_NOSIGNAL)
        })
    }
}

impl AsyncRead for UnixStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_read_priv(cx, buf)
    }
}

impl AsyncWrite for UnixStream {
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

impl fmt::Debug for UnixStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.io.fmt(f)
    }
}

impl std::os::fd::AsRawFd for UnixStream {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

impl std::os::fd::AsFd for UnixStream {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}

/// The read half of a [`UnixStream`] (from [`UnixStream::into_split`]).
#[derive(Debug)]
pub struct UnixOwnedReadHalf {
    inner: Arc<UnixStream>,
}

/// The write half of a [`UnixStream`] (from [`UnixStream::into_split`]).
/// Dropping it shuts down the write direction: the peer reads EOF.
#[derive(Debug)]
pub struct UnixOwnedWriteHalf {
    inner: Arc<UnixStream>,
}

impl UnixOwnedReadHalf {
    /// The peer's address.
    ///
    /// # Errors
    /// As [`UnixStream::peer_addr`].
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.peer_addr()
    }

    /// The local address.
    ///
    /// # Errors
    /// As [`UnixStream::local_addr`].
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

impl UnixOwnedWriteHalf {
    /// The peer's address.
    ///
    /// # Errors
    /// As [`UnixStream::peer_addr`].
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.peer_addr()
    }

    /// The local address.
    ///
    /// # Errors
    /// As [`UnixStream::local_addr`].
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

impl Drop for UnixOwnedWriteHalf {
    fn drop(&mut self) {
        // Invariant 5; the peer may already be gone, which is fine.
        let _ = self.inner.shutdown(Shutdown::Write);
    }
}

impl AsyncRead for UnixOwnedReadHalf {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.inner.poll_read_priv(cx, buf)
    }
}

impl AsyncWrite for UnixOwnedWriteHalf {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.inner.poll_write_priv(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.inner.poll_write_vectored_priv(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    /// Shuts down the write direction (the peer reads EOF).
    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.inner.shutdown(Shutdown::Write))
    }
}
