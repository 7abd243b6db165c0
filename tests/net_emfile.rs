#![cfg(not(any(feature = "loom", feature = "shuttle")))]
//! `accept` when the process is out of file descriptors: it must fail with
//! `EMFILE` (not hang, not panic), and once descriptors free up the listener
//! must hand out the connections still queued in the kernel without waiting
//! for a new readiness edge (listener.rs invariant 1).
//!
//! A server loop that goes straight back to `accept` after such an error
//! must not starve the other tasks of its worker (listener.rs invariant 3).
//!
//! Its own test binary: it lowers the process-wide `RLIMIT_NOFILE` (its
//! tests take `common::serial`).

use std::fs::File;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::Duration;

use futures::io::AsyncReadExt;
use tempo::net::{TcpListener, UnixListener};
use tempo::time::timeout;
use tempo::Runtime;

mod common;
use common::within;

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("read /proc/self/fd")
        .count()
}

fn get_nofile() -> libc::rlimit {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `r` is a valid rlimit to fill.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) }, 0);
    r
}

fn set_nofile(r: &libc::rlimit) {
    // SAFETY: `r` is a valid rlimit; we only lower the soft limit or restore it.
    let rc = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, r) };
    assert_eq!(rc, 0, "setrlimit: {}", io::Error::last_os_error());
}

/// Restores the original limit even if the test fails.
struct RestoreLimit(libc::rlimit);

impl Drop for RestoreLimit {
    fn drop(&mut self) {
        set_nofile(&self.0);
    }
}

const CLIENTS: usize = 4;

#[test]
fn accept_reports_emfile_then_recovers_the_queued_connections() {
    let _serial = common::serial();
    within(Duration::from_secs(20), || {
        let rt = Runtime::builder().worker_threads(1).build().unwrap();
        rt.block_on(async {
            match timeout(Duration::from_secs(15), body()).await {
                Ok(()) => {}
                Err(_) => panic!("EMFILE test did not finish within 15 s (hang)"),
            }
        });
    });
}

#[allow(clippy::unnecessary_cast)] // rlim_t is not u64 everywhere
async fn body() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();

    // The client sockets exist before the limit drops; connecting them needs
    // no new descriptor.
    let clients: Vec<socket2::Socket> = (0..CLIENTS)
        .map(|_| socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap())
        .collect();

    let original = get_nofile();
    let restore = RestoreLimit(original);
    let low = open_fds() as u64 + 16;
    assert!(low < original.rlim_cur as u64, "limit already below {low}");
    set_nofile(&libc::rlimit {
        rlim_cur: low as libc::rlim_t,
        rlim_max: original.rlim_max,
    });

    // Use up every descriptor the new limit leaves.
    let mut hog: Vec<File> = Vec::new();
    let exhausted = loop {
        match File::open("/dev/null") {
            Ok(f) => hog.push(f),
            Err(e) => break e,
        }
        assert!(hog.len() < 10_000, "the lowered limit is not enforced");
    };
    assert_eq!(
        exhausted.raw_os_error(),
        Some(libc::EMFILE),
        "{exhausted:?}"
    );
    eprintln!(
        "holding {} extra descriptors at RLIMIT_NOFILE {low}",
        hog.len()
    );

    // The kernel completes the handshakes even though we cannot accept.
    let (tx, rx) = futures::channel::oneshot::channel();
    std::thread::spawn(move || {
        let mut local = Vec::new();
        for c in &clients {
            c.connect(&addr.into()).expect("client connect");
            local.push(c.local_addr().unwrap().as_socket().unwrap());
        }
        let _ = tx.send((clients, local));
    });
    let (clients, client_addrs): (Vec<socket2::Socket>, Vec<SocketAddr>) =
        rx.await.expect("connect thread");

    // Out of descriptors: an error, promptly, and again on a retry.
    for attempt in 0..3 {
        let r = timeout(Duration::from_secs(3), listener.accept())
            .await
            .unwrap_or_else(|_| panic!("accept #{attempt} hung while out of descriptors"));
        match r {
            Err(e) => assert_eq!(
                e.raw_os_error(),
                Some(libc::EMFILE),
                "accept #{attempt}: expected EMFILE, got {e:?}"
            ),
            Ok((_, a)) => panic!("accept #{attempt} succeeded ({a}) with no descriptor free"),
        }
    }

    // Free the descriptors: the queued connections come out, with no new
    // connection attempt to produce a fresh readiness edge.
    drop(hog);
    let mut accepted = Vec::new();
    for i in 0..CLIENTS {
        let (s, peer) = timeout(Duration::from_secs(3), listener.accept())
            .await
            .unwrap_or_else(|_| {
                panic!("accept #{i} after freeing descriptors hung: readiness lost after EMFILE")
            })
            .unwrap_or_else(|e| panic!("accept #{i} after freeing descriptors: {e}"));
        accepted.push((s, peer));
    }
    let mut peers: Vec<SocketAddr> = accepted.iter().map(|(_, p)| *p).collect();
    let mut want = client_addrs.clone();
    peers.sort();
    want.sort();
    assert_eq!(peers, want, "accepted exactly the queued clients");

    // The accepted streams work.
    for (i, c) in clients.iter().enumerate() {
        (&*c).write_all(&[i as u8; 3]).unwrap();
    }
    for (s, peer) in &mut accepted {
        let i = client_addrs.iter().position(|a| a == peer).unwrap();
        let mut buf = [0u8; 3];
        timeout(Duration::from_secs(3), s.read_exact(&mut buf))
            .await
            .expect("read hung")
            .unwrap();
        assert_eq!(buf, [i as u8; 3]);
    }
    drop(accepted);
    for c in &clients {
        let mut b = [0u8; 1];
        assert_eq!((&*c).read(&mut b).unwrap(), 0, "client sees the close");
    }

    // And the listener keeps working for new connections.
    drop(restore);
    let late = std::net::TcpStream::connect(addr).unwrap();
    let (_s, peer) = timeout(Duration::from_secs(3), listener.accept())
        .await
        .expect("accept of a new connection hung")
        .unwrap();
    assert_eq!(peer, late.local_addr().unwrap());
}

/// Holds every descriptor the lowered limit leaves until dropped; restores
/// the limit on drop.
struct Exhausted {
    _hog: Vec<File>,
    _restore: RestoreLimit,
}

#[allow(clippy::unnecessary_cast)] // rlim_t is not u64 everywhere
fn exhaust_descriptors() -> Exhausted {
    let original = get_nofile();
    let restore = RestoreLimit(original);
    let low = open_fds() as u64 + 8;
    assert!(low < original.rlim_cur as u64, "limit already below {low}");
    set_nofile(&libc::rlimit {
        rlim_cur: low as libc::rlim_t,
        rlim_max: original.rlim_max,
    });
    let mut hog = Vec::new();
    loop {
        match File::open("/dev/null") {
            Ok(f) => hog.push(f),
            Err(e) => {
                assert_eq!(e.raw_os_error(), Some(libc::EMFILE), "{e:?}");
                break;
            }
        }
        assert!(hog.len() < 10_000, "the lowered limit is not enforced");
    }
    Exhausted {
        _hog: hog,
        _restore: restore,
    }
}

/// The usual server loop — log an accept error, accept again — on a
/// one-worker runtime, while another task of that worker holds the
/// descriptors and frees them 50 ms later. `EMFILE` keeps the listener
/// ready (listener.rs invariant 1), so the loop's accept never returned
/// `Pending`: it held the worker, the other task never ran, and the queued
/// connection was never accepted (a hang). The accept after an error now
/// yields once (listener.rs invariant 3, unix.rs invariant 8).
#[test]
fn an_accept_loop_that_retries_at_once_after_emfile_lets_other_tasks_run() {
    let _serial = common::serial();
    within(Duration::from_secs(30), || {
        let rt = Runtime::builder().worker_threads(1).build().unwrap();
        rt.block_on(async {
            // TCP.
            let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let client = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
            let ex = exhaust_descriptors();
            let server = tempo::spawn(async move {
                let mut errors = 0u64;
                loop {
                    match l.accept().await {
                        Ok((_s, peer)) => return (peer, errors),
                        Err(_) => errors += 1, // a real server logs it
                    }
                }
            });
            let freer = tempo::spawn(async move {
                tempo::time::sleep(Duration::from_millis(50)).await;
                drop(ex);
            });
            let (peer, errors) = timeout(Duration::from_secs(10), server)
                .await
                .expect("TCP accept loop starved the task that frees descriptors (hang)")
                .unwrap();
            freer.await.unwrap();
            assert_eq!(peer, client.local_addr().unwrap());
            assert!(errors > 0, "the accept never saw EMFILE");

            // Unix.
            let path =
                std::env::temp_dir().join(format!("tempo-emfile-loop-{}.sock", std::process::id()));
            let _ = std::fs::remove_file(&path);
            let l = UnixListener::bind(&path).unwrap();
            let _client = std::os::unix::net::UnixStream::connect(&path).unwrap();
            let ex = exhaust_descriptors();
            let server = tempo::spawn(async move {
                let mut errors = 0u64;
                loop {
                    match l.accept().await {
                        Ok(_) => return errors,
                        Err(_) => errors += 1,
                    }
                }
            });
            let freer = tempo::spawn(async move {
                tempo::time::sleep(Duration::from_millis(50)).await;
                drop(ex);
            });
            let errors = timeout(Duration::from_secs(10), server)
                .await
                .expect("Unix accept loop starved the task that frees descriptors (hang)")
                .unwrap();
            freer.await.unwrap();
            std::fs::remove_file(&path).unwrap();
            assert!(errors > 0, "the accept never saw EMFILE");
        });
    });
}
