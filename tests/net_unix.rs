#![cfg(not(any(feature = "loom", feature = "shuttle")))]
//! Unix-domain sockets: `UnixListener` echo in a temp dir, `pair`,
//! half-close, `into_split` with reader and writer tasks, `incoming`,
//! connect errors, a full backlog, and errors outside a runtime. The SIGPIPE
//! test lives in `net_unix_sigpipe.rs` (it changes process-global state).

use std::future::Future;
use std::io::ErrorKind;
use std::net::Shutdown;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::io::{AsyncReadExt, AsyncWriteExt};
use futures::StreamExt;
use tempo::net::{UnixListener, UnixStream};
use tempo::Runtime;

mod common;

/// Runs `f` on a fresh runtime; a hang fails the test after 20 s.
fn run<F: Future<Output = ()> + Send + 'static>(f: F) {
    let rt = Runtime::new().unwrap();
    rt.block_on(async move {
        tempo::time::timeout(Duration::from_secs(20), f)
            .await
            .expect("test body did not finish within 20 s: hang");
    });
}

/// A unique socket path in the temp dir, removed on drop.
struct TempPath(PathBuf);

impl TempPath {
    fn new(tag: &str) -> TempPath {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let p = std::env::temp_dir().join(format!(
            "tempo-{tag}-{}-{}.sock",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_file(&p);
        TempPath(p)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 251) as u8).collect()
}

#[test]
fn echo_over_a_listener() {
    let tmp = TempPath::new("echo");
    let path = tmp.path().to_path_buf();
    run(async move {
        let listener = UnixListener::bind(&path).unwrap();
        assert_eq!(
            listener.local_addr().unwrap().as_pathname(),
            Some(path.as_path())
        );
        let server = tempo::spawn(async move {
            for _ in 0..3 {
                let (mut s, _peer) = listener.accept().await.unwrap();
                tempo::spawn(async move {
                    let mut buf = vec![0; 4096];
                    loop {
                        match s.read(&mut buf).await.unwrap() {
                            0 => return, // EOF: the client's write half closed
                            n => s.write_all(&buf[..n]).await.unwrap(),
                        }
                    }
                });
            }
        });
        // Three clients, each sending far more than the socket buffers hold,
        // so both directions fill and wait.
        let mut clients = Vec::new();
        for c in 0..3usize {
            let p = path.clone();
            clients.push(tempo::spawn(async move {
                let s = UnixStream::connect(&p).await.unwrap();
                assert_eq!(s.peer_addr().unwrap().as_pathname(), Some(p.as_path()));
                let (mut r, mut w) = s.into_split();
                let data = pattern(512 * 1024 + c);
                let sent = data.clone();
                let writer = tempo::spawn(async move {
                    for chunk in sent.chunks(10_000) {
                        w.write_all(chunk).await.unwrap();
                    }
                    // Dropping `w` shuts down the write direction.
                });
                let mut back = Vec::new();
                r.read_to_end(&mut back).await.unwrap();
                writer.await.unwrap();
                assert_eq!(back.len(), data.len());
                assert!(back == data, "client {c}: echo differs");
            }));
        }
        for c in clients {
            c.await.unwrap();
        }
        server.await.unwrap();
    });
    assert!(tmp.path().exists(), "dropping the listener leaves the file");
}

#[test]
fn pair_round_trip() {
    run(async {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        assert!(a.local_addr().unwrap().is_unnamed());
        assert!(b.peer_addr().unwrap().is_unnamed());
        for i in 0..1000u32 {
            let m = format!("message {i}");
            a.write_all(m.as_bytes()).await.unwrap();
            let mut buf = vec![0; m.len()];
            b.read_exact(&mut buf).await.unwrap();
            assert_eq!(buf, m.as_bytes());
            b.write_all(&buf).await.unwrap();
            a.read_exact(&mut buf).await.unwrap();
            assert_eq!(buf, m.as_bytes());
        }
        // Vectored writes go through `sendmsg` with `MSG_NOSIGNAL`.
        let bufs = [
            std::io::IoSlice::new(b"vec"),
            std::io::IoSlice::new(b"tored"),
        ];
        let n = a.write_vectored(&bufs).await.unwrap();
        let mut got = vec![0; n];
        b.read_exact(&mut got).await.unwrap();
        assert_eq!(&got[..], &b"vectored"[..n]);
    });
}

#[test]
fn half_close_gives_eof_and_the_other_direction_still_works() {
    run(async {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        a.write_all(b"last words").await.unwrap();
        a.shutdown(Shutdown::Write).unwrap();
        let mut got = Vec::new();
        b.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"last words");
        let mut buf = [0; 4];
        assert_eq!(b.read(&mut buf).await.unwrap(), 0, "EOF again");
        // b -> a still works.
        b.write_all(b"reply").await.unwrap();
        let mut r = [0; 5];
        a.read_exact(&mut r).await.unwrap();
        assert_eq!(&r, b"reply");
        // `close` (AsyncWriteExt) is a write shutdown too.
        b.close().await.unwrap();
        assert_eq!(a.read(&mut buf).await.unwrap(), 0);
    });
}

#[test]
fn into_split_reader_and_writer_tasks() {
    run(async {
        let (a, b) = UnixStream::pair().unwrap();
        let (mut ar, mut aw) = a.into_split();
        let (mut br, mut bw) = b.into_split();
        assert!(ar.peer_addr().unwrap().is_unnamed());
        assert!(aw.local_addr().unwrap().is_unnamed());
        // b echoes on two tasks: one reads, one writes, joined by a channel.
        let (tx, mut rx) = futures::channel::mpsc::unbounded::<Vec<u8>>();
        let b_reader = tempo::spawn(async move {
            let mut buf = [0; 1024];
            loop {
                match br.read(&mut buf).await.unwrap() {
                    0 => return,
                    n => tx.unbounded_send(buf[..n].to_vec()).unwrap(),
                }
            }
        });
        let b_writer = tempo::spawn(async move {
            while let Some(chunk) = rx.next().await {
                bw.write_all(&chunk).await.unwrap();
            }
            // `bw` drops: `a` reads EOF.
        });
        let total: Vec<u8> = (0..1000u32)
            .flat_map(|i| format!("<{i}>").into_bytes())
            .collect();
        let sent = total.clone();
        let a_writer = tempo::spawn(async move {
            for chunk in sent.chunks(37) {
                aw.write_all(chunk).await.unwrap();
            }
            aw.close().await.unwrap();
        });
        let mut back = Vec::new();
        ar.read_to_end(&mut back).await.unwrap();
        assert!(back == total, "split echo differs");
        a_writer.await.unwrap();
        b_reader.await.unwrap();
        b_writer.await.unwrap();
    });
}

#[test]
fn dropping_the_write_half_sends_eof() {
    run(async {
        let (a, mut b) = UnixStream::pair().unwrap();
        let (_r, w) = a.into_split();
        drop(w);
        let mut buf = [0; 1];
        assert_eq!(b.read(&mut buf).await.unwrap(), 0);
    });
}

#[test]
fn incoming_yields_connections() {
    let tmp = TempPath::new("incoming");
    let path = tmp.path().to_path_buf();
    run(async move {
        let l = UnixListener::bind(&path).unwrap();
        for i in 0..4u8 {
            let p = path.clone();
            tempo::spawn(async move {
                let mut s = UnixStream::connect(p).await.unwrap();
                s.write_all(&[i]).await.unwrap();
            });
        }
        let streams: Vec<_> = l.incoming().take(4).collect().await;
        let mut seen = Vec::new();
        for s in streams {
            let mut s = s.unwrap();
            let mut b = [0; 1];
            s.read_exact(&mut b).await.unwrap();
            seen.push(b[0]);
        }
        seen.sort();
        assert_eq!(seen, [0, 1, 2, 3]);
    });
}

#[test]
fn connect_errors() {
    let missing = TempPath::new("missing");
    let not_a_socket = TempPath::new("plainfile");
    std::fs::write(not_a_socket.path(), b"").unwrap();
    let stale = TempPath::new("stale");
    let (m, n, s) = (
        missing.path().to_path_buf(),
        not_a_socket.path().to_path_buf(),
        stale.path().to_path_buf(),
    );
    run(async move {
        let e = UnixStream::connect(&m).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");

        let e = UnixStream::connect(&n).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ConnectionRefused, "{e}");

        // A socket file whose listener is gone.
        drop(UnixListener::bind(&s).unwrap());
        assert!(s.exists());
        let e = UnixStream::connect(&s).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ConnectionRefused, "{e}");
    });
}

#[test]
fn bind_over_an_existing_path_is_addr_in_use() {
    let tmp = TempPath::new("inuse");
    let path = tmp.path().to_path_buf();
    run(async move {
        let _l = UnixListener::bind(&path).unwrap();
        let e = UnixListener::bind(&path).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AddrInUse, "{e}");
    });
}

/// An empty path is `InvalidInput`: the kernel autobinds such a socket to
/// a random abstract name, so `bind("")` used to succeed with no file and a
/// listener no client could find (unix.rs invariant 4). Over-long paths and
/// NUL bytes are `InvalidInput` too, and connecting to an empty path fails.
#[test]
fn binding_an_empty_path_or_a_bad_path_is_invalid_input() {
    run(async move {
        let e = UnixListener::bind("").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
        assert!(e.to_string().contains("empty"), "{e}");
        let long = std::env::temp_dir().join("x".repeat(120));
        let e = UnixListener::bind(&long).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
        let e = UnixListener::bind("\0tempo-abstract").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
        let e = UnixStream::connect("").await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    });
}

#[test]
fn outside_a_runtime_is_an_error_and_creates_no_file() {
    let tmp = TempPath::new("noruntime");
    let e = UnixListener::bind(tmp.path()).unwrap_err();
    assert!(e.to_string().contains("runtime"), "{e}");
    assert!(
        !tmp.path().exists(),
        "a failed bind left the socket file behind"
    );

    let e = UnixStream::pair().unwrap_err();
    assert!(e.to_string().contains("runtime"), "{e}");
    let e = futures::executor::block_on(UnixStream::connect(tmp.path())).unwrap_err();
    assert!(e.to_string().contains("runtime"), "{e}");
}

/// Invariant 3 of `net/unix.rs`: with the backlog full, `connect(2)` says
/// `EAGAIN`; `UnixStream::connect` waits instead of failing.
#[test]
fn connect_waits_out_a_full_backlog() {
    use socket2::{Domain, SockAddr, Socket, Type};
    let tmp = TempPath::new("backlog");
    let path = tmp.path().to_path_buf();
    run(async move {
        let sock = Socket::new(Domain::UNIX, Type::STREAM, None).unwrap();
        sock.bind(&SockAddr::unix(&path).unwrap()).unwrap();
        sock.listen(0).unwrap();
        let l = UnixListener::from_std(sock.into()).unwrap();
        let mut clients = Vec::new();
        for i in 0..4u8 {
            let p = path.clone();
            clients.push(tempo::spawn(async move {
                let mut s = UnixStream::connect(p).await?;
                s.write_all(&[i]).await?;
                std::io::Result::Ok(s)
            }));
        }
        // Let every client try (at most one or two fit in the backlog).
        tempo::time::sleep(Duration::from_millis(100)).await;
        let mut seen = Vec::new();
        for _ in 0..4 {
            let (mut s, _) = l.accept().await.unwrap();
            let mut b = [0; 1];
            s.read_exact(&mut b).await.unwrap();
            seen.push(b[0]);
        }
        for c in clients {
            c.await
                .unwrap()
                .expect("connect with a full backlog must wait, not fail");
        }
        seen.sort();
        assert_eq!(seen, [0, 1, 2, 3]);
    });
}

#[test]
fn from_std_stream_and_fd_traits() {
    run(async {
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        let mut a = UnixStream::from_std(a).unwrap();
        let mut b = UnixStream::from_std(b).unwrap();
        a.write_all(b"std").await.unwrap();
        let mut buf = [0; 3];
        b.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"std");
        use std::os::fd::{AsFd, AsRawFd};
        assert_eq!(a.as_fd().as_raw_fd(), a.as_raw_fd());
        assert!(format!("{a:?}").contains("UnixStream"), "{a:?}");
        assert!(a.take_error().unwrap().is_none());
        a.set_send_buffer_size(64 * 1024).unwrap();
        assert!(a.send_buffer_size().unwrap() >= 64 * 1024);
        a.set_recv_buffer_size(64 * 1024).unwrap();
        assert!(a.recv_buffer_size().unwrap() >= 64 * 1024);
    });
}

/// A vectored write of 2000 slices writes the first 1024 (`UIO_MAXIOV`),
/// like std, and the next write goes on at once. It used to hand all 2000
/// to `sendmsg`, which failed with `EMSGSIZE`.
#[test]
fn a_vectored_write_of_more_than_1024_slices_writes_a_prefix() {
    common::within(Duration::from_secs(30), || {
        run(async {
            let (mut a, mut b) = UnixStream::pair().unwrap();
            let data: Vec<[u8; 4]> = (0..2000u32).map(|i| i.to_le_bytes()).collect();
            let slices: Vec<std::io::IoSlice<'_>> =
                data.iter().map(|d| std::io::IoSlice::new(d)).collect();
            // 8000 bytes fit a fresh pair's send buffer: each write takes
            // all the slices it is given.
            let n = a.write_vectored(&slices).await.unwrap();
            assert_eq!(n, 4 * 1024, "the first 1024 slices");
            // The capped write was not short: readiness stays, no wait.
            let m = a.write_vectored(&slices[1024..]).await.unwrap();
            assert_eq!(m, 4 * (2000 - 1024));
            let mut back = vec![0u8; n + m];
            b.read_exact(&mut back).await.unwrap();
            for (i, ch) in back.chunks(4).enumerate() {
                assert_eq!(ch, &(i as u32).to_le_bytes());
            }
        });
    });
}

/// A write after `shutdown(Write)` fails with `BrokenPipe` at once, also
/// when the last write before it found the send buffer full (readiness
/// cleared). Linux raises no edge for a Unix socket's own send shutdown, so
/// that write used to wait forever for a writable report.
#[test]
fn a_write_after_shutdown_write_on_a_full_buffer_fails_with_broken_pipe() {
    common::within(Duration::from_secs(30), || {
        run(async {
            let (mut a, _b) = UnixStream::pair().unwrap();
            // Fill the send buffer through the fd until the kernel refuses.
            let chunk = vec![1u8; 1 << 16];
            loop {
                match socket2::SockRef::from(&a).send(&chunk) {
                    Ok(_) => {}
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) => panic!("fill: {e}"),
                }
            }
            // A tempo write now sees WouldBlock and clears WRITABLE.
            assert!(futures::poll!(a.write(b"x")).is_pending());
            a.shutdown(Shutdown::Write).unwrap();
            let r = tempo::time::timeout(Duration::from_secs(5), a.write(b"x")).await;
            match r {
                Ok(Err(e)) if e.kind() == ErrorKind::BrokenPipe => {}
                other => panic!("write after shutdown(Write): {other:?}, expected BrokenPipe"),
            }
        });
    });
}
