//! Owned halves of a [`TcpStream`], for a reader task and a writer task.
//!
//! # Invariants
//! 1. Both halves share one `Arc<TcpStream>`; the socket closes when the
//!    last half drops.
//! 2. The read half only waits in the read direction and the write half only
//!    in the write direction (`io/source.rs` invariant 3 holds by type).
//! 3. Dropping the write half shuts down the write direction (the peer reads
//!    EOF), unless it was reunited.

use super::stream::TcpStream;
use crate::shim::Arc;
use futures_io::{AsyncRead, AsyncWrite};
use std::error::Error;
use std::fmt;
use std::io::{self, IoSlice};
use std::net::{Shutdown, SocketAddr};
use std::pin::Pin;
use std::task::{Context, Poll};

/// The read half of a [`TcpStream`] (from [`TcpStream::into_split`]).
///
/// # Examples
/// ```
/// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
/// use futures::io::{AsyncReadExt, AsyncWriteExt};
/// let rt = tempo::Runtime::new().unwrap();
/// rt.block_on(async {
///     let l = tempo::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
///     let c = tempo::net::TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
///     let (mut s, _) = l.accept().await.unwrap();
///     let (mut r, w) = c.into_split();
///     s.write_all(b"hi").await.unwrap();
///     let mut buf = [0; 2];
///     r.read_exact(&mut buf).await.unwrap();
///     let whole = r.reunite(w).unwrap(); // the halves back as one stream
///     assert_eq!(whole.peer_addr().unwrap(), l.local_addr().unwrap());
/// });
/// # }
/// ```
#[derive(Debug)]
pub struct OwnedReadHalf {
    inner: Arc<TcpStream>,
}

/// The write half of a [`TcpStream`] (from [`TcpStream::into_split`]).
/// Dropping it shuts down the write direction: the peer reads EOF.
///
/// # Examples
/// ```
/// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
/// use futures::io::{AsyncReadExt, AsyncWriteExt};
/// let rt = tempo::Runtime::new().unwrap();
/// rt.block_on(async {
///     let l = tempo::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
///     let c = tempo::net::TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
///     let (mut s, _) = l.accept().await.unwrap();
///     let (_r, mut w) = c.into_split();
///     tempo::spawn(async move {
///         w.write_all(b"bye").await.unwrap();
///         // `w` drops here: the peer reads EOF after "bye".
///     });
///     let mut got = Vec::new();
///     s.read_to_end(&mut got).await.unwrap();
///     assert_eq!(got, b"bye");
/// });
/// # }
/// ```
#[derive(Debug)]
pub struct OwnedWriteHalf {
    inner: Arc<TcpStream>,
    shutdown_on_drop: bool,
}

pub(super) fn split(s: TcpStream) -> (OwnedReadHalf, OwnedWriteHalf) {
    let inner = Arc::new(s);
    (
        OwnedReadHalf {
            inner: inner.clone(),
        },
        OwnedWriteHalf {
            inner,
            shutdown_on_drop: true,
        },
    )
}

/// [`OwnedReadHalf::reunite`] was given halves of two different streams;
/// it hands both back.
///
/// # Examples
/// ```
/// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
/// let rt = tempo::Runtime::new().unwrap();
/// rt.block_on(async {
///     let l = tempo::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
///     let a = tempo::net::TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
///     let b = tempo::net::TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
///     let (ar, _aw) = a.into_split();
///     let (_br, bw) = b.into_split();
///     let tempo::net::ReuniteError(_ar, _bw) = ar.reunite(bw).unwrap_err();
/// });
/// # }
/// ```
#[derive(Debug)]
pub struct ReuniteError(pub OwnedReadHalf, pub OwnedWriteHalf);

impl fmt::Display for ReuniteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("tried to reunite halves of two different TCP streams")
    }
}

impl Error for ReuniteError {}

impl OwnedReadHalf {
    /// Puts the halves back together.
    ///
    /// # Errors
    /// [`ReuniteError`] (returning both halves) if they come from different streams.
    pub fn reunite(self, mut w: OwnedWriteHalf) -> Result<TcpStream, ReuniteError> {
        if !Arc::ptr_eq(&self.inner, &w.inner) {
            return Err(ReuniteError(self, w));
        }
        w.shutdown_on_drop = false;
        let inner = w.inner.clone();
        drop(w);
        drop(self);
        Ok(Arc::try_unwrap(inner).expect("invariant 1: both halves are gone"))
    }

    /// The peer's address.
    ///
    /// # Errors
    /// As [`TcpStream::peer_addr`].
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.peer_addr()
    }

    /// The local address.
    ///
    /// # Errors
    /// As [`TcpStream::local_addr`].
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

impl OwnedWriteHalf {
    /// The peer's address.
    ///
    /// # Errors
    /// As [`TcpStream::peer_addr`].
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.peer_addr()
    }

    /// The local address.
    ///
    /// # Errors
    /// As [`TcpStream::local_addr`].
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

impl Drop for OwnedWriteHalf {
    fn drop(&mut self) {
        if self.shutdown_on_drop {
            // Invariant 3; the peer may already be gone, which is fine.
            let _ = self.inner.shutdown(Shutdown::Write);
        }
    }
}

impl AsyncRead for OwnedReadHalf {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.inner.poll_read_priv(cx, buf)
    }
}

impl AsyncWrite for OwnedWriteHalf {
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
