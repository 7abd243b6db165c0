#![cfg(not(any(feature = "loom", feature = "shuttle")))]
//! Writes to a reset peer must fail with an error, never raise SIGPIPE.
//!
//! Rust's runtime ignores SIGPIPE before `main`, which would hide a write
//! that raises it; these tests restore the default disposition (terminate
//! the process) first. A SIGPIPE then kills this test binary and the run
//! fails with "signal: 13, SIGPIPE". This is its own test binary because it
//! changes process-wide signal state.

use std::future::Future;
use std::io::{self, ErrorKind, IoSlice};
use std::time::Duration;

use futures::io::AsyncWriteExt;
use tempo::net::{TcpListener, TcpStream};
use tempo::time::{sleep, timeout};
use tempo::Runtime;

mod common;
use common::within;

fn default_sigpipe() {
    // SAFETY: setting a signal's disposition to SIG_DFL is always valid.
    let old = unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    assert_ne!(old, libc::SIG_ERR, "signal(SIGPIPE, SIG_DFL) failed");
}

fn run<F: Future>(secs: u64, what: &str, f: F) -> F::Output {
    let rt = Runtime::builder()
        .worker_threads(2)
        .build()
        .expect("runtime");
    rt.block_on(async {
        match timeout(Duration::from_secs(secs), f).await {
            Ok(v) => v,
            Err(_) => panic!("{what}: did not finish within {secs} s (hang)"),
        }
    })
}

/// A client whose peer has reset the connection (linger 0, then drop).
async fn reset_client() -> TcpStream {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let c = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
    let (s, _) = l.accept().await.unwrap();
    s.set_linger(Some(Duration::ZERO)).unwrap();
    drop(s);
    c
}

/// Evaluates the write expression `$w` until it fails (bounded); yields the error.
macro_rules! write_until_error {
    ($w:expr) => {{
        let mut err = None;
        for _ in 0..1000 {
            match $w.await {
                Ok(_) => sleep(Duration::from_millis(1)).await,
                Err(e) => {
                    err = Some(e);
                    break;
                }
            }
        }
        err.expect("1000 writes to a reset peer all succeeded")
    }};
}

fn assert_reset_error(e: &io::Error) {
    assert!(
        matches!(e.kind(), ErrorKind::BrokenPipe | ErrorKind::ConnectionReset),
        "expected BrokenPipe or ConnectionReset, got {e:?}"
    );
}

/// The process is still here (a SIGPIPE would have killed it) and SIGPIPE is
/// still at its default (nothing quietly ignored it again).
fn assert_alive_with_default_sigpipe() {
    // SAFETY: query-and-restore of the disposition.
    let cur = unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    assert_eq!(cur, libc::SIG_DFL, "someone changed SIGPIPE's disposition");
    // SAFETY: getpid never fails.
    assert!(unsafe { libc::getpid() } > 0);
}

#[test]
fn write_to_a_reset_peer_returns_an_error_without_sigpipe() {
    default_sigpipe();
    within(Duration::from_secs(10), || {
        run(5, "write to a reset peer", async {
            let mut c = reset_client().await;
            // Keep writing: the first write after the RST reports
            // ECONNRESET, every later one EPIPE.
            let e = write_until_error!(c.write(&[0x55; 1024]));
            assert_reset_error(&e);
            // Again, now that the error was reported: EPIPE territory.
            let e = write_until_error!(c.write(&[0x55; 1024]));
            assert_reset_error(&e);
            let e = c.write_all(&[1; 100_000]).await.unwrap_err();
            assert_reset_error(&e);
        });
    });
    assert_alive_with_default_sigpipe();
}

#[test]
fn write_half_to_a_reset_peer_returns_an_error_without_sigpipe() {
    default_sigpipe();
    within(Duration::from_secs(10), || {
        run(5, "split write half to a reset peer", async {
            let (_r, mut w) = reset_client().await.into_split();
            let e = write_until_error!(w.write(b"hello"));
            assert_reset_error(&e);
            let e = write_until_error!(w.write(b"hello"));
            assert_reset_error(&e);
            // Dropping the half shuts down a dead socket: no signal either.
            drop(w);
        });
    });
    assert_alive_with_default_sigpipe();
}

/// Vectored writes must not go through `writev(2)`, which has no
/// `MSG_NOSIGNAL` (`sendmsg(2)` with `MSG_NOSIGNAL` is the safe call).
/// (Found by this test: the first version used std's `write_vectored` =
/// `writev`, and the second vectored write after the reset killed the binary.)
#[test]
fn vectored_write_to_a_reset_peer_returns_an_error_without_sigpipe() {
    default_sigpipe();
    within(Duration::from_secs(10), || {
        run(5, "vectored write to a reset peer", async {
            let mut c = reset_client().await;
            let a = [1u8; 512];
            let b = [2u8; 512];
            let bufs = [IoSlice::new(&a), IoSlice::new(&b)];
            let e = write_until_error!(c.write_vectored(&bufs));
            assert_reset_error(&e);
            let e = write_until_error!(c.write_vectored(&bufs));
            assert_reset_error(&e);
        });
    });
    assert_alive_with_default_sigpipe();
}
