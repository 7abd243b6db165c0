//! [`PostSend`]: serverbox's `PostSend` — a cloneable, `Send + Sync` sender
//! that enqueues bytes for a stream from any thread without awaiting; one
//! writer task owned by the runtime puts them on the wire.
//!
//! # Invariants
//! 1. Order: `queue` is FIFO under the `state` lock and exactly one writer
//!    task drains it front to back, writing each batch completely before the
//!    next; so bytes posted by one thread reach the stream in posting order,
//!    and posts from different threads are never interleaved within a post.
//! 2. Bound: `queued` (bytes posted and not yet written) never exceeds
//!    `limit`; a post that would exceed it is refused with
//!    [`PostError::Full`], which hands the bytes back (no unbounded memory,
//!    no silent loss).
//! 3. No silent loss: once the writer failed, every later post is refused
//!    with [`PostError::Closed`] carrying the error; bytes queued at the
//!    failure are reported by `flush`/`close` returning that error. A writer
//!    task that ends without finishing (its future dropped: its runtime shut
//!    down or was dropped, or it panicked) finishes with an error as it is
//!    dropped (`FinishOnDrop`); until then posts were queued for nobody and
//!    `flush`/`close` waited forever. The guard is made by `new` and moved
//!    into the writer future, so a future dropped before its first poll
//!    (the runtime went away before the task ever ran) finishes too: a guard
//!    made in the future's body did not exist yet, and `post` accepted bytes
//!    that nobody would write.
//! 4. Dropping the last `PostSend` (or `close`) lets the writer drain the
//!    queue, then shut the stream's write direction down; nothing posted
//!    before is dropped.
//! 5. Fields of `State` are touched only under its lock; the writer waker
//!    and flush waiters are woken after the lock is released.
//! 6. `flush` waits for a mark, not for an empty queue: `posted` counts the
//!    bytes ever accepted and `written` those the writer put on the stream;
//!    a flush takes `posted` at its first poll and is done once `written`
//!    reaches it, and every written batch wakes the flush waiters to check.
//!    Waiting until `queued` was 0 never ended while other senders kept
//!    posting faster than the stream drained (each batch found more queued).

use crate::shim::{Arc, Mutex};
use futures_io::AsyncWrite;
use std::collections::VecDeque;
use std::error::Error;
use std::fmt;
use std::future::poll_fn;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Poll, Waker};

/// Buffers handed to one `write_vectored` call at most.
const MAX_IOV: usize = 64;

struct State {
    queue: VecDeque<Vec<u8>>,
    queued: usize,
    /// Bytes ever accepted by `post` (invariant 6).
    posted: u64,
    /// Bytes ever written by the writer task (invariant 6).
    written: u64,
    senders: usize,
    closing: bool,
    /// `Some` once the writer task ended: `Ok` after a clean close.
    finished: Option<Result<(), Arc<io::Error>>>,
    writer: Option<Waker>,
    waiters: Vec<Waker>,
}

struct Inner {
    state: Mutex<State>,
    limit: usize,
}

/// A cloneable, thread-safe, ordered and bounded sender for a stream
/// (serverbox's `PostSend`). [`post`](Self::post) never waits: it queues the
/// bytes (or refuses them with a [`PostError`] that hands them back) and a
/// writer task on the runtime writes them out in order.
///
/// # Examples
/// ```
/// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
/// use futures::io::AsyncReadExt;
/// use tempo::net::{PostSend, TcpListener, TcpStream};
///
/// let rt = tempo::Runtime::new().unwrap();
/// rt.block_on(async {
///     let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
///     let c = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
///     let (mut server, _) = l.accept().await.unwrap();
///     let (_read, write) = c.into_split();
///     let poster = PostSend::new(write, 1 << 20).unwrap();
///     // From any thread or task, without awaiting:
///     let p = poster.clone();
///     tempo::spawn(async move { p.post(b"hello ".to_vec()).unwrap() }).await.unwrap();
///     poster.post("world").unwrap();
///     poster.close().await.unwrap(); // drains, then shuts the write side down
///     let mut got = String::new();
///     server.read_to_string(&mut got).await.unwrap();
///     assert_eq!(got, "hello world");
/// });
/// # }
/// ```
pub struct PostSend {
    inner: Arc<Inner>,
}

/// Why [`PostSend::post`] refused bytes; it hands them back.
///
/// # Examples
/// ```
/// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
/// use tempo::net::{PostError, PostSend};
/// let rt = tempo::Runtime::new().unwrap();
/// rt.block_on(async {
///     // A sink that accepts everything; a 4-byte bound.
///     let p = PostSend::new(futures::io::sink(), 4).unwrap();
///     match p.post(&b"too long"[..]) {
///         Err(PostError::Full { data, queued, limit }) => {
///             assert_eq!((data.as_slice(), queued, limit), (&b"too long"[..], 0, 4));
///         }
///         r => panic!("{r:?}"),
///     }
///     p.close().await.unwrap();
///     let e = p.post(&b"late"[..]).unwrap_err();
///     assert!(matches!(e, PostError::Closed { cause: None, .. }));
///     assert_eq!(e.into_data(), b"late");
/// });
/// # }
/// ```
#[derive(Debug)]
pub enum PostError {
    /// Posting would exceed the bound (the peer is not reading fast enough).
    Full {
        /// The refused bytes.
        data: Vec<u8>,
        /// Bytes already queued.
        queued: usize,
        /// The bound given to [`PostSend::new`].
        limit: usize,
    },
    /// The sender was closed, or the stream failed (`cause`).
    Closed {
        /// The refused bytes.
        data: Vec<u8>,
        /// The write error that stopped the writer, if any.
        cause: Option<Arc<io::Error>>,
    },
}

impl PostError {
    /// The refused bytes.
    pub fn into_data(self) -> Vec<u8> {
        match self {
            PostError::Full { data, .. } | PostError::Closed { data, .. } => data,
        }
    }
}

impl fmt::Display for PostError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PostError::Full { data, queued, limit } => write!(
                f,
                "post of {} bytes refused: {queued} bytes already queued, limit {limit} (the peer is not reading)",
                data.len()
            ),
            PostError::Closed { data, cause: None } => {
                write!(f, "post of {} bytes refused: the sender is closed", data.len())
            }
            PostError::Closed {
                data,
                cause: Some(e),
            } => write!(f, "post of {} bytes refused: the stream failed: {e}", data.len()),
        }
    }
}

impl Error for PostError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            PostError::Closed { cause: Some(e), .. } => Some(&**e),
            _ => None,
        }
    }
}

fn arc_err(e: &Arc<io::Error>) -> io::Error {
    io::Error::new(e.kind(), Arc::clone(e))
}

impl PostSend {
    /// Spawns the writer task for `writer` on the current runtime and returns
    /// the first sender. At most `limit` bytes may wait in the queue.
    ///
    /// # Errors
    /// Outside a tempo runtime; `InvalidInput` if `limit` is 0.
    pub fn new<W>(writer: W, limit: usize) -> io::Result<PostSend>
    where
        W: AsyncWrite + Send + Unpin + 'static,
    {
        if limit == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "PostSend limit must be at least 1 byte",
            ));
        }
        let Some(handle) = crate::Handle::try_current() else {
            return Err(io::Error::other(
                "PostSend::new needs a tempo runtime: call it from inside `Runtime::block_on` or a task",
            ));
        };
        let inner = Arc::new(Inner {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                queued: 0,
                posted: 0,
                written: 0,
                senders: 1,
                closing: false,
                finished: None,
                writer: None,
                waiters: Vec::new(),
            }),
            limit,
        });
        // Invariant 3: the guard exists before the task is spawned.
        drop(handle.spawn(write_loop(FinishOnDrop(inner.clone()), writer)));
        Ok(PostSend { inner })
    }

    /// Queues `data` to be written after everything posted before it
    /// (invariant 1). Never waits. Empty `data` queues nothing (but is
    /// still refused once the sender is closed or failed).
    ///
    /// # Errors
    /// [`PostError::Full`] when the bound would be exceeded;
    /// [`PostError::Closed`] after [`close`](Self::close) or a write error,
    /// for empty `data` too. Both hand the bytes back.
    pub fn post(&self, data: impl Into<Vec<u8>>) -> Result<(), PostError> {
        let data = data.into();
        let mut g = self.inner.state.lock();
        if let Some(r) = &g.finished {
            let cause = r.as_ref().err().cloned();
            return Err(PostError::Closed { data, cause });
        }
        if g.closing {
            return Err(PostError::Closed { data, cause: None });
        }
        if data.is_empty() {
            return Ok(());
        }
        if g.queued + data.len() > self.inner.limit {
            let queued = g.queued;
            return Err(PostError::Full {
                data,
                queued,
                limit: self.inner.limit,
            });
        }
        g.queued += data.len();
        g.posted += data.len() as u64;
        g.queue.push_back(data);
        let w = g.writer.take();
        drop(g);
        if let Some(w) = w {
            w.wake();
        }
        Ok(())
    }

    /// Bytes posted and not yet written.
    pub fn queued(&self) -> usize {
        self.inner.state.lock().queued
    }

    /// The bound given to [`new`](Self::new).
    pub fn limit(&self) -> usize {
        self.inner.limit
    }

    /// Waits until every byte posted so far (by any clone, before the
    /// flush is first polled) was written to the stream; bytes posted later
    /// do not hold it up (invariant 6).
    ///
    /// # Errors
    /// The write error that stopped the writer (bytes still queued then are lost
    /// with the connection, and this is how the caller learns it).
    pub async fn flush(&self) -> io::Result<()> {
        let mut mark = None;
        poll_fn(|cx| {
            let mut g = self.inner.state.lock();
            if let Some(Err(e)) = &g.finished {
                return Poll::Ready(Err(arc_err(e)));
            }
            let mark = *mark.get_or_insert(g.posted);
            if g.written >= mark {
                return Poll::Ready(Ok(()));
            }
            if !g.waiters.iter().any(|w| w.will_wake(cx.waker())) {
                g.waiters.push(cx.waker().clone());
            }
            Poll::Pending
        })
        .await
    }

    /// Stops accepting posts, waits until the queue is written, then shuts
    /// the stream's write direction down (invariant 4). Other clones see
    /// [`PostError::Closed`].
    ///
    /// # Errors
    /// As [`flush`](Self::flush), or the shutdown error.
    pub async fn close(&self) -> io::Result<()> {
        let w = {
            let mut g = self.inner.state.lock();
            g.closing = true;
            g.writer.take()
        };
        if let Some(w) = w {
            w.wake();
        }
        poll_fn(|cx| {
            let mut g = self.inner.state.lock();
            match &g.finished {
                Some(Ok(())) => Poll::Ready(Ok(())),
                Some(Err(e)) => Poll::Ready(Err(arc_err(e))),
                None => {
                    g.waiters.push(cx.waker().clone());
                    Poll::Pending
                }
            }
        })
        .await
    }
}

impl Clone for PostSend {
    fn clone(&self) -> Self {
        self.inner.state.lock().senders += 1;
        PostSend {
            inner: self.inner.clone(),
        }
    }
}

impl Drop for PostSend {
    fn drop(&mut self) {
        let w = {
            let mut g = self.inner.state.lock();
            g.senders -= 1;
            if g.senders > 0 {
                return;
            }
            g.closing = true; // invariant 4
            g.writer.take()
        };
        if let Some(w) = w {
            w.wake();
        }
    }
}

impl fmt::Debug for PostSend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostSend")
            .field("queued", &self.queued())
            .field("limit", &self.inner.limit)
            .finish()
    }
}

/// Ends the writer with `r` and wakes every waiter (invariants 3 and 5).
fn finish(inner: &Inner, r: Result<(), Arc<io::Error>>) {
    let waiters = {
        let mut g = inner.state.lock();
        finish_locked(&mut g, r)
    };
    for w in waiters {
        w.wake();
    }
}

/// [`finish`] under the lock; returns the waiters to wake after it.
fn finish_locked(g: &mut State, r: Result<(), Arc<io::Error>>) -> Vec<Waker> {
    if r.is_err() {
        g.queue.clear();
        g.queued = 0;
    }
    g.finished = Some(r);
    std::mem::take(&mut g.waiters)
}

/// Held by the writer task for its whole life, from before its first poll:
/// if its future is dropped before it finished the state (the runtime shut
/// down or was dropped, before or after the task first ran, or the task
/// panicked), finishes it with an error (invariant 3).
struct FinishOnDrop(Arc<Inner>);

impl Drop for FinishOnDrop {
    fn drop(&mut self) {
        let waiters = {
            let mut g = self.0.state.lock();
            if g.finished.is_some() {
                return;
            }
            let e = io::Error::other(format!(
                "tempo: the PostSend writer task was dropped before it finished (its runtime \
                 shut down or was dropped, or it panicked); {} posted bytes were not written",
                g.queued
            ));
            finish_locked(&mut g, Err(Arc::new(e)))
        };
        for w in waiters {
            w.wake();
        }
    }
}

/// The writer task (invariant 1): takes the whole queue, writes it, repeats.
async fn write_loop<W: AsyncWrite + Unpin>(guard: FinishOnDrop, mut w: W) {
    // `guard` is an argument, so it lives in the future from its creation
    // (invariant 3); it drops, finishing the state if nothing did, whenever
    // the future drops.
    let inner = guard.0.clone();
    let mut batch: VecDeque<Vec<u8>> = VecDeque::new();
    loop {
        let more = poll_fn(|cx| {
            let mut g = inner.state.lock();
            if !g.queue.is_empty() {
                std::mem::swap(&mut g.queue, &mut batch);
                return Poll::Ready(true);
            }
            if g.closing {
                return Poll::Ready(false);
            }
            g.writer = Some(cx.waker().clone());
            Poll::Pending
        })
        .await;
        if !more {
            let r = poll_fn(|cx| Pin::new(&mut w).poll_close(cx)).await;
            // A peer that already went away is not an error of the sender.
            let r = match r {
                Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
                r => r,
            };
            finish(&inner, r.map_err(Arc::new));
            return;
        }
        let bytes: usize = batch.iter().map(Vec::len).sum();
        if let Err(e) = write_batch(&mut w, &mut batch).await {
            finish(&inner, Err(Arc::new(e)));
            return;
        }
        let waiters = {
            let mut g = inner.state.lock();
            g.queued -= bytes;
            g.written += bytes as u64;
            // Invariant 6: each flush waiter checks its own mark.
            std::mem::take(&mut g.waiters)
        };
        for w in waiters {
            w.wake();
        }
    }
}

/// Writes every buffer of `batch` in order, with vectored writes.
async fn write_batch<W: AsyncWrite + Unpin>(
    w: &mut W,
    batch: &mut VecDeque<Vec<u8>>,
) -> io::Result<()> {
    let mut off = 0; // bytes of the front buffer already written
    while !batch.is_empty() {
        let n = poll_fn(|cx| {
            // On the stack: no allocation per write.
            let mut iov = [IoSlice::new(&[]); MAX_IOV];
            let mut n = 0;
            for (i, b) in batch.iter().take(MAX_IOV).enumerate() {
                iov[i] = IoSlice::new(if i == 0 { &b[off..] } else { b });
                n = i + 1;
            }
            Pin::new(&mut *w).poll_write_vectored(cx, &iov[..n])
        })
        .await?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        let mut n = n;
        while n > 0 {
            let left = batch[0].len() - off;
            if n >= left {
                n -= left;
                off = 0;
                batch.pop_front();
            } else {
                off += n;
                n = 0;
            }
        }
    }
    Ok(())
}
