#![cfg(not(any(feature = "loom", feature = "shuttle")))]
//! UDP: `tempo::net::UdpSocket` round trips, connect, `send_to` with a
//! "host:port" string, a receiver and a sender on one socket from two tasks,
//! bad addresses, truncation, options, and errors outside a runtime.

use std::future::Future;
use std::io::ErrorKind;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures::channel::oneshot;
use tempo::net::UdpSocket;
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

async fn bind_local() -> UdpSocket {
    UdpSocket::bind("127.0.0.1:0").await.unwrap()
}

/// A socket connected to a port nobody listens on, after its send: loopback
/// answers with ICMP port unreachable, which the next receive reports.
async fn refused() -> UdpSocket {
    let closed = bind_local().await;
    let closed_addr = closed.local_addr().unwrap();
    drop(closed);
    let a = bind_local().await;
    a.connect(closed_addr).await.unwrap();
    a.send(b"anyone?").await.unwrap();
    a
}

fn msg(i: u32) -> Vec<u8> {
    let mut v = format!("datagram {i} ").into_bytes();
    v.extend(std::iter::repeat_n(
        b'a' + (i % 26) as u8,
        (i % 200) as usize,
    ));
    v
}

#[test]
fn thousand_datagrams_ping_pong() {
    run(async {
        let a = bind_local().await;
        let b = bind_local().await;
        let a_addr = a.local_addr().unwrap();
        let b_addr = b.local_addr().unwrap();
        let echo = tempo::spawn(async move {
            let mut buf = vec![0; 1024];
            for i in 0..1000u32 {
                let (n, from) = b.recv_from(&mut buf).await.unwrap();
                assert_eq!(from, a_addr);
                assert_eq!(&buf[..n], &msg(i)[..], "datagram {i} arrived intact");
                buf[..n].reverse();
                assert_eq!(b.send_to(&buf[..n], from).await.unwrap(), n);
            }
        });
        let mut buf = vec![0; 1024];
        for i in 0..1000u32 {
            let m = msg(i);
            assert_eq!(a.send_to(&m, b_addr).await.unwrap(), m.len());
            let (n, from) = a.recv_from(&mut buf).await.unwrap();
            assert_eq!(from, b_addr);
            let mut want = m.clone();
            want.reverse();
            assert_eq!(&buf[..n], &want[..], "reply {i} arrived intact");
        }
        echo.await.unwrap();
    });
}

#[test]
fn connect_then_send_and_recv() {
    run(async {
        let a = bind_local().await;
        let b = bind_local().await;
        let stranger = bind_local().await;
        assert_eq!(a.peer_addr().unwrap_err().kind(), ErrorKind::NotConnected);
        a.connect(b.local_addr().unwrap()).await.unwrap();
        b.connect(a.local_addr().unwrap().to_string())
            .await
            .unwrap();
        assert_eq!(a.peer_addr().unwrap(), b.local_addr().unwrap());
        assert_eq!(b.peer_addr().unwrap(), a.local_addr().unwrap());

        // A connected socket only accepts datagrams from its peer.
        stranger
            .send_to(b"noise", b.local_addr().unwrap())
            .await
            .unwrap();
        assert_eq!(a.send(b"hello").await.unwrap(), 5);
        let mut buf = [0; 16];
        let n = b.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"hello");

        assert_eq!(b.send(b"back").await.unwrap(), 4);
        let n = a.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"back");
    });
}

#[test]
fn send_without_connect_fails() {
    run(async {
        let a = bind_local().await;
        assert!(a.send(b"nowhere").await.is_err());
    });
}

#[test]
fn connected_send_to_a_closed_port_reports_refused() {
    run(async {
        let a = refused().await;
        let mut buf = [0; 8];
        let e = a.recv(&mut buf).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ConnectionRefused, "{e}");
    });
}

/// After the ICMP error has been returned, a receive with nothing queued
/// waits (here: until its timeout), and a datagram that arrives later wakes
/// it. The error's readiness bit used to be sticky: every later `recv`
/// retried its `WouldBlock` forever inside one poll, so the timeout around
/// it never fired and the thread spun at 100 % CPU.
#[test]
fn a_receive_after_an_icmp_error_waits_for_the_next_datagram() {
    common::within(Duration::from_secs(10), || {
        let rt = Runtime::builder().worker_threads(1).build().unwrap();
        rt.block_on(async {
            let a = refused().await;
            let mut buf = [0; 8];
            let e = a.recv(&mut buf).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::ConnectionRefused, "{e}");
            // Nothing is queued and nothing will be: the receive must wait.
            let r = tempo::time::timeout(Duration::from_millis(200), a.recv(&mut buf)).await;
            assert!(r.is_err(), "expected the timeout, got {r:?}");
            // A pending receive is woken by the next datagram.
            let b = bind_local().await;
            a.connect(b.local_addr().unwrap()).await.unwrap();
            let a_addr = a.local_addr().unwrap();
            let (got, sent) = futures::join!(a.recv(&mut buf), b.send_to(b"late", a_addr));
            assert_eq!(sent.unwrap(), 4);
            assert_eq!(&buf[..got.unwrap()], b"late");
        });
    });
}

/// A socket shut down for reading reports a sticky read-closed bit while its
/// `recv` still returns `WouldBlock`: the receive must wait, not retry.
/// It used to spin inside one poll forever (the timeout never fired).
#[test]
fn a_receive_on_a_socket_shut_down_for_reading_waits() {
    common::within(Duration::from_secs(10), || {
        let rt = Runtime::builder().worker_threads(1).build().unwrap();
        rt.block_on(async {
            let a = bind_local().await;
            let b = bind_local().await;
            a.connect(b.local_addr().unwrap()).await.unwrap();
            socket2::SockRef::from(&a)
                .shutdown(std::net::Shutdown::Read)
                .unwrap();
            let mut buf = [0; 8];
            let r = tempo::time::timeout(Duration::from_millis(200), a.recv(&mut buf)).await;
            assert!(r.is_err(), "expected the timeout, got {r:?}");
        });
    });
}

#[test]
fn send_to_host_port_strings() {
    run(async {
        let a = bind_local().await;
        let b = bind_local().await;
        let port = b.local_addr().unwrap().port();
        let mut buf = [0; 16];

        a.send_to(b"by ip", format!("127.0.0.1:{port}"))
            .await
            .unwrap();
        let (n, _) = b.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"by ip");

        a.send_to(b"by str", &*format!("127.0.0.1:{port}"))
            .await
            .unwrap();
        let (n, _) = b.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"by str");

        // A host name: resolved off-worker; an IPv4 socket picks the IPv4
        // answer even if the resolver lists `::1` first.
        a.send_to(b"by name", format!("localhost:{port}"))
            .await
            .unwrap();
        let (n, from) = b.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"by name");
        assert_eq!(from, a.local_addr().unwrap());

        a.send_to(b"by tuple", ("127.0.0.1", port)).await.unwrap();
        let (n, _) = b.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"by tuple");
    });
}

#[test]
fn recv_on_one_task_while_another_sends() {
    const N: u32 = 200;
    run(async {
        let s = Arc::new(bind_local().await);
        let peer = bind_local().await;
        let s_addr = s.local_addr().unwrap();
        let peer_addr = peer.local_addr().unwrap();

        // The peer echoes every datagram.
        let echo = tempo::spawn(async move {
            let mut buf = [0; 64];
            for _ in 0..N {
                let (n, from) = peer.recv_from(&mut buf).await.unwrap();
                assert_eq!(from, s_addr);
                peer.send_to(&buf[..n], from).await.unwrap();
            }
        });
        // The receiver waits on `s` before anything is sent.
        let rs = s.clone();
        let receiver = tempo::spawn(async move {
            let mut got = vec![false; N as usize];
            let mut buf = [0; 64];
            for _ in 0..N {
                let (n, from) = rs.recv_from(&mut buf).await.unwrap();
                assert_eq!(from, peer_addr);
                let i: usize = std::str::from_utf8(&buf[..n]).unwrap().parse().unwrap();
                assert!(!got[i], "datagram {i} twice");
                got[i] = true;
            }
            got
        });
        tempo::time::sleep(Duration::from_millis(50)).await;
        let ss = s.clone();
        let sender = tempo::spawn(async move {
            for i in 0..N {
                ss.send_to(i.to_string().as_bytes(), peer_addr)
                    .await
                    .unwrap();
                if i % 16 == 0 {
                    // Stay well inside the loopback receive buffers.
                    tempo::time::sleep(Duration::from_millis(1)).await;
                }
            }
        });
        sender.await.unwrap();
        let got = receiver.await.unwrap();
        assert!(got.iter().all(|&g| g));
        echo.await.unwrap();
    });
}

#[test]
fn unparsable_addresses_are_invalid_input_naming_them() {
    run(async {
        let e = UdpSocket::bind("not an address").await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(e.to_string().contains("not an address"), "{e}");

        let a = bind_local().await;
        let e = a.send_to(b"x", "nowhere:port").await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(e.to_string().contains("nowhere:port"), "{e}");

        let e = a.connect("also bad").await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(e.to_string().contains("also bad"), "{e}");
    });
}

#[test]
fn bind_in_use_is_addr_in_use() {
    run(async {
        let a = bind_local().await;
        let e = UdpSocket::bind(a.local_addr().unwrap()).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::AddrInUse);
    });
}

/// Invariant 3 of `net/udp.rs`: a datagram longer than the buffer fills the
/// buffer, the call returns `buf.len()` with no error, the rest of that
/// datagram is lost, and the next receive gets the next datagram.
#[test]
fn oversized_datagram_is_truncated_and_the_rest_discarded() {
    run(async {
        let a = bind_local().await;
        let b = bind_local().await;
        let to = b.local_addr().unwrap();
        let big: Vec<u8> = (0..100u8).collect();
        a.send_to(&big, to).await.unwrap();
        a.send_to(b"next", to).await.unwrap();
        let mut small = [0; 10];
        let (n, _) = b.recv_from(&mut small).await.unwrap();
        assert_eq!(n, 10);
        assert_eq!(&small[..], &big[..10]);
        let mut buf = [0; 100];
        let (n, _) = b.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"next", "the tail of the big datagram is gone");
    });
}

#[test]
fn too_large_datagram_fails_whole() {
    run(async {
        let a = bind_local().await;
        let b = bind_local().await;
        let huge = vec![0u8; 70_000];
        assert!(a.send_to(&huge, b.local_addr().unwrap()).await.is_err());
    });
}

#[test]
fn peek_from_leaves_the_datagram_queued() {
    run(async {
        let a = bind_local().await;
        let b = bind_local().await;
        a.send_to(b"peekaboo", b.local_addr().unwrap())
            .await
            .unwrap();
        let mut buf = [0; 16];
        let (n, from) = b.peek_from(&mut buf).await.unwrap();
        assert_eq!(
            (&buf[..n], from),
            (&b"peekaboo"[..], a.local_addr().unwrap())
        );
        let mut buf2 = [0; 16];
        let (n2, from2) = b.recv_from(&mut buf2).await.unwrap();
        assert_eq!((&buf2[..n2], from2), (&b"peekaboo"[..], from));
    });
}

#[test]
fn two_sockets_on_two_tasks() {
    run(async {
        let (tx_a, rx_a) = oneshot::channel::<SocketAddr>();
        let (tx_b, rx_b) = oneshot::channel::<SocketAddr>();
        let ta = tempo::spawn(async move {
            let s = bind_local().await;
            tx_a.send(s.local_addr().unwrap()).unwrap();
            let peer = rx_b.await.unwrap();
            let mut buf = [0; 32];
            for i in 0..100u32 {
                s.send_to(format!("a{i}").as_bytes(), peer).await.unwrap();
                let (n, from) = s.recv_from(&mut buf).await.unwrap();
                assert_eq!(from, peer);
                assert_eq!(&buf[..n], format!("b{i}").as_bytes());
            }
        });
        let tb = tempo::spawn(async move {
            let s = bind_local().await;
            tx_b.send(s.local_addr().unwrap()).unwrap();
            let peer = rx_a.await.unwrap();
            let mut buf = [0; 32];
            for i in 0..100u32 {
                let (n, from) = s.recv_from(&mut buf).await.unwrap();
                assert_eq!(from, peer);
                assert_eq!(&buf[..n], format!("a{i}").as_bytes());
                s.send_to(format!("b{i}").as_bytes(), peer).await.unwrap();
            }
        });
        ta.await.unwrap();
        tb.await.unwrap();
    });
}

#[test]
fn options_round_trip() {
    run(async {
        let s = bind_local().await;
        s.set_broadcast(true).unwrap();
        assert!(s.broadcast().unwrap());
        s.set_broadcast(false).unwrap();
        assert!(!s.broadcast().unwrap());
        s.set_ttl(17).unwrap();
        assert_eq!(s.ttl().unwrap(), 17);
        s.set_multicast_loop_v4(false).unwrap();
        assert!(!s.multicast_loop_v4().unwrap());
        s.set_multicast_ttl_v4(3).unwrap();
        assert_eq!(s.multicast_ttl_v4().unwrap(), 3);
        s.set_send_buffer_size(64 * 1024).unwrap();
        assert!(s.send_buffer_size().unwrap() >= 64 * 1024);
        s.set_recv_buffer_size(64 * 1024).unwrap();
        assert!(s.recv_buffer_size().unwrap() >= 64 * 1024);
        assert!(s.take_error().unwrap().is_none());
        assert!(format!("{s:?}").contains("UdpSocket"), "{s:?}");
        use std::os::fd::AsRawFd;
        assert!(s.as_raw_fd() >= 0);
    });
}

#[test]
fn from_std_socket_works() {
    run(async {
        let std_sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let s = UdpSocket::from_std(std_sock).unwrap();
        let b = bind_local().await;
        s.send_to(b"std", b.local_addr().unwrap()).await.unwrap();
        let mut buf = [0; 8];
        let (n, from) = b.recv_from(&mut buf).await.unwrap();
        assert_eq!((&buf[..n], from), (&b"std"[..], s.local_addr().unwrap()));
    });
}

#[test]
fn bind_outside_a_runtime_is_an_error() {
    let e = futures::executor::block_on(UdpSocket::bind("127.0.0.1:0")).unwrap_err();
    assert!(e.to_string().contains("runtime"), "{e}");
}
