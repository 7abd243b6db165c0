//! Networking (DESIGN.md layer 6): TCP, UDP and Unix-domain sockets on the
//! reactor, with the names users know from tokio and async-net.
//!
//! Every socket is non-blocking and registered with the reactor of the
//! runtime it was created in; a task waiting on it is woken by readiness and
//! by nothing else, and is scheduled like any other task (serverbox's IOCore:
//! sockets share the one fair scheduler). Reads and writes go through the
//! [`futures-io`](https://docs.rs/futures-io) traits, so
//! `futures::io::{AsyncReadExt, AsyncWriteExt}` and the ecosystem's codecs work.
//!
//! 1. [`TcpListener::bind`], [`TcpListener::accept`], [`TcpStream::connect`]
//!    (and [`connect_timeout`](TcpStream::connect_timeout),
//!    [`connect_with_backoff`] for reconnects);
//! 2. [`TcpStream::into_split`] for a reader task and a writer task;
//! 3. [`PostSend`]: serverbox's thread-safe, ordered, bounded sender;
//! 4. [`UdpSocket`]; [`UnixStream`], [`UnixListener`];
//! 5. [`TcpSocket`] for options that must be set before bind/connect.
//! 6. [`UdpSocket::send_to`] and [`UdpSocket::recv_from`] on `&self`, from two tasks.
//! 7. [`UnixStream::into_split`] for Unix sockets, whose writes never raise SIGPIPE.
//!
//! Dropping a socket deregisters and closes it. An operation on a socket
//! whose runtime shut down fails with an error; it never hangs.
//!
//! **Cooperative budget.** One poll of a task may complete 128 socket
//! operations; the next one wakes the task and returns `Pending`, so the task
//! runs again after the tasks already ready. A task whose peer keeps its
//! socket always ready (a flood, a fast local writer) therefore never keeps
//! its worker from the others; the loop `while let Ok(n) = s.read(&mut buf).await`
//! needs no `yield_now`. Outside a tempo task (another executor, plain
//! threads) nothing is counted.
//!
//! A socket's readiness comes from the reactor of the runtime it was created
//! in, whichever runtime awaits it. A runtime without worker threads
//! ([`worker_threads(0)`](crate::runtime::Builder::worker_threads)) polls its
//! reactor only while a thread is inside its `block_on` or `run`: its sockets
//! awaited from another runtime meanwhile get no readiness and wait.
//!
//! # Examples
//! An echo server and a client:
//! ```
//! # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
//! use futures::io::{AsyncReadExt, AsyncWriteExt};
//! use tempo::net::{TcpListener, TcpStream};
//!
//! let rt = tempo::Runtime::new().unwrap();
//! rt.block_on(async {
//!     let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
//!     let addr = listener.local_addr().unwrap();
//!     tempo::spawn(async move {
//!         loop {
//!             let (mut s, _) = listener.accept().await.unwrap();
//!             tempo::spawn(async move {
//!                 let mut buf = vec![0; 1024];
//!                 loop {
//!                     match s.read(&mut buf).await {
//!                         Ok(0) | Err(_) => return, // EOF or reset
//!                         Ok(n) => {
//!                             if s.write_all(&buf[..n]).await.is_err() {
//!                                 return;
//!                             }
//!                         }
//!                     }
//!                 }
//!             });
//!         }
//!     });
//!     let mut c = TcpStream::connect(addr).await.unwrap();
//!     c.write_all(b"ping").await.unwrap();
//!     let mut buf = [0; 4];
//!     c.read_exact(&mut buf).await.unwrap();
//!     assert_eq!(&buf, b"ping");
//! });
//! # }
//! ```

mod addr;
mod backoff;
mod iov;
mod post;
mod tcp;
mod udp;
mod unix;

pub use addr::ToSocketAddrs;
pub use backoff::{connect_with_backoff, Backoff};
pub use post::{PostError, PostSend};
pub use tcp::listener::{Incoming, TcpListener};
pub use tcp::socket::TcpSocket;
pub use tcp::split::{OwnedReadHalf, OwnedWriteHalf, ReuniteError};
pub use tcp::stream::TcpStream;
pub use udp::UdpSocket;
pub use unix::{UnixIncoming, UnixListener, UnixOwnedReadHalf, UnixOwnedWriteHalf, UnixStream};
