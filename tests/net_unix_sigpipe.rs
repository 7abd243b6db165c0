#![cfg(not(any(feature = "loom", feature = "shuttle")))]
//! Invariant 2 of `net/unix.rs`: writes on Unix sockets never raise SIGPIPE.
//!
//! The Rust runtime ignores SIGPIPE before `main`, which would hide a
//! `write(2)` on a closed socket. This file (its own test binary, since the
//! disposition is process-global) restores the default, fatal disposition
//! first: if any write raised SIGPIPE, the whole test process would die and
//! the test would fail.

use std::future::Future;
use std::io::ErrorKind;
use std::time::Duration;

use futures::io::{AsyncReadExt, AsyncWriteExt};
use tempo::net::{UnixListener, UnixStream};
use tempo::Runtime;

fn run<F: Future<Output = ()> + Send + 'static>(f: F) {
    let rt = Runtime::new().unwrap();
    rt.block_on(async move {
        tempo::time::timeout(Duration::from_secs(20), f)
            .await
            .expect("test body did not finish within 20 s: hang");
    });
}

fn default_sigpipe() {
    // SAFETY: installs the default disposition for SIGPIPE; no handler runs
    // Rust code. Done before any socket exists in this process.
    let prev = unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    assert_ne!(prev, libc::SIG_ERR);
}

fn is_closed_peer(e: &std::io::Error) -> bool {
    matches!(e.kind(), ErrorKind::BrokenPipe | ErrorKind::ConnectionReset)
}

#[test]
fn writes_to_a_closed_peer_fail_without_sigpipe() {
    default_sigpipe();
    run(async {
        // `pair`, plain and vectored writes, repeated.
        let (mut a, b) = UnixStream::pair().unwrap();
        drop(b);
        for _ in 0..3 {
            let e = a.write_all(b"into the void").await.unwrap_err();
            assert!(is_closed_peer(&e), "{e:?}");
            let bufs = [std::io::IoSlice::new(b"a"), std::io::IoSlice::new(b"b")];
            let e = a.write_vectored(&bufs).await.unwrap_err();
            assert!(is_closed_peer(&e), "{e:?}");
        }

        // A write half from `into_split`.
        let (a, b) = UnixStream::pair().unwrap();
        let (_r, mut w) = a.into_split();
        drop(b);
        let e = w.write_all(b"x").await.unwrap_err();
        assert!(is_closed_peer(&e), "{e:?}");

        // After our own write shutdown.
        let (mut a, _b) = UnixStream::pair().unwrap();
        a.shutdown(std::net::Shutdown::Write).unwrap();
        let e = a.write_all(b"x").await.unwrap_err();
        assert!(is_closed_peer(&e), "{e:?}");

        // A connection through a listener whose accepted side is dropped
        // while the client is writing a lot.
        let path = std::env::temp_dir().join(format!("tempo-sigpipe-{}.sock", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let l = UnixListener::bind(&path).unwrap();
        let p = path.clone();
        let client = tempo::spawn(async move {
            let mut c = UnixStream::connect(&p).await.unwrap();
            let chunk = vec![7u8; 64 * 1024];
            loop {
                if let Err(e) = c.write_all(&chunk).await {
                    return e;
                }
            }
        });
        let (mut s, _) = l.accept().await.unwrap();
        let mut buf = vec![0; 1024];
        s.read_exact(&mut buf).await.unwrap();
        drop(s);
        let e = client.await.unwrap();
        assert!(is_closed_peer(&e), "{e:?}");
        std::fs::remove_file(&path).unwrap();
    });
    // Still alive.
}
