#![cfg(not(any(feature = "loom", feature = "shuttle")))]
//! Error paths of `tempo::net` TCP: refused connections, unparsable
//! addresses, addresses in use, and use outside a tempo runtime (an error,
//! never a panic).

use std::future::Future;
use std::io::ErrorKind;
use std::panic::catch_unwind;
use std::time::Duration;

use tempo::net::{connect_with_backoff, Backoff, TcpListener, TcpSocket, TcpStream};
use tempo::time::timeout;
use tempo::Runtime;

mod common;
use common::within;

/// A fresh runtime running `f`, failing with `what` after `secs` seconds.
fn run<F: Future>(secs: u64, what: &str, f: F) -> F::Output {
    let rt = Runtime::builder()
        .worker_threads(1)
        .build()
        .expect("runtime");
    rt.block_on(async {
        match timeout(Duration::from_secs(secs), f).await {
            Ok(v) => v,
            Err(_) => panic!("{what}: did not finish within {secs} s (hang)"),
        }
    })
}

#[test]
fn connecting_to_a_closed_port_is_refused() {
    within(Duration::from_secs(10), || {
        run(5, "connect to a closed port", async {
            let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = l.local_addr().unwrap();
            drop(l);
            let e = TcpStream::connect(addr).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::ConnectionRefused, "{e:?}");
            let e = TcpStream::connect_timeout(addr, Duration::from_secs(2))
                .await
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::ConnectionRefused, "{e:?}");
            let e = TcpSocket::new_v4()
                .unwrap()
                .connect(addr)
                .await
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::ConnectionRefused, "{e:?}");
        });
    });
}

const BAD: [&str; 4] = ["not an address", "127.0.0.1", "host:99999", ":80"];

#[test]
fn unparsable_addresses_are_invalid_input_naming_the_address() {
    within(Duration::from_secs(10), || {
        run(5, "unparsable addresses", async {
            for bad in BAD {
                let e = TcpStream::connect(bad).await.unwrap_err();
                assert_eq!(e.kind(), ErrorKind::InvalidInput, "connect {bad:?}: {e:?}");
                assert!(e.to_string().contains(bad), "connect {bad:?}: {e}");

                let e = TcpStream::connect_timeout(bad, Duration::from_secs(1))
                    .await
                    .unwrap_err();
                assert_eq!(
                    e.kind(),
                    ErrorKind::InvalidInput,
                    "connect_timeout {bad:?}: {e:?}"
                );
                assert!(e.to_string().contains(bad), "connect_timeout {bad:?}: {e}");

                let e = TcpListener::bind(bad).await.unwrap_err();
                assert_eq!(e.kind(), ErrorKind::InvalidInput, "bind {bad:?}: {e:?}");
                assert!(e.to_string().contains(bad), "bind {bad:?}: {e}");

                // The String form behaves the same.
                let e = TcpListener::bind(bad.to_string()).await.unwrap_err();
                assert_eq!(
                    e.kind(),
                    ErrorKind::InvalidInput,
                    "bind String {bad:?}: {e:?}"
                );
                assert!(e.to_string().contains(bad), "bind String {bad:?}: {e}");
            }
            // An empty host in the tuple form, and an empty address list.
            let e = TcpStream::connect(("", 80)).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e:?}");
            let none: Vec<std::net::SocketAddr> = Vec::new();
            let e = TcpListener::bind(none).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e:?}");
        });
    });
}

#[test]
fn binding_an_address_in_use_fails_with_addr_in_use() {
    within(Duration::from_secs(10), || {
        run(5, "bind an address in use", async {
            let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = l.local_addr().unwrap();
            let e = TcpListener::bind(addr).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::AddrInUse, "{e:?}");
            let e = TcpListener::bind(addr.to_string()).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::AddrInUse, "{e:?}");
            let s = TcpSocket::new_v4().unwrap();
            let e = s.bind(addr).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::AddrInUse, "TcpSocket::bind: {e:?}");
            // A list tries each address: the free one wins.
            let free: std::net::SocketAddr = "127.0.0.1:0".parse().unwrap();
            let l2 = TcpListener::bind(vec![addr, free])
                .await
                .expect("the second address of the list is free");
            assert_ne!(l2.local_addr().unwrap(), addr);
            // With only busy addresses, the last error comes back.
            let e = TcpListener::bind(vec![addr, l2.local_addr().unwrap()])
                .await
                .unwrap_err();
            assert_eq!(e.kind(), ErrorKind::AddrInUse, "{e:?}");
            drop(l);
        });
    });
}

fn assert_needs_runtime(what: &str, r: std::io::Result<impl std::fmt::Debug>) {
    let e = r.expect_err(&format!("{what} outside a runtime must fail"));
    let msg = e.to_string();
    assert!(
        msg.contains("tempo runtime"),
        "{what}: error should mention a tempo runtime: {msg}"
    );
}

#[test]
fn using_sockets_outside_a_runtime_is_an_error_not_a_panic() {
    within(Duration::from_secs(10), || {
        let r = catch_unwind(|| {
            use futures::executor::block_on;
            assert_needs_runtime(
                "TcpListener::bind",
                block_on(TcpListener::bind("127.0.0.1:0")),
            );
            // A host name resolves on a helper thread first; then it fails the same way.
            assert_needs_runtime(
                "TcpListener::bind(localhost)",
                block_on(TcpListener::bind("localhost:0")),
            );

            let std_l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = std_l.local_addr().unwrap();
            let std_c = std::net::TcpStream::connect(addr).unwrap();
            assert_needs_runtime("TcpStream::from_std", TcpStream::from_std(std_c));
            assert_needs_runtime(
                "TcpListener::from_std",
                TcpListener::from_std(std_l.try_clone().unwrap()),
            );
            assert_needs_runtime("TcpStream::connect", block_on(TcpStream::connect(addr)));

            let s = TcpSocket::new_v4().unwrap();
            s.bind("127.0.0.1:0".parse().unwrap()).unwrap();
            assert_needs_runtime("TcpSocket::listen", s.listen(16));
            assert_needs_runtime(
                "TcpSocket::connect",
                block_on(TcpSocket::new_v4().unwrap().connect(addr)),
            );
            // Parsing still comes first: an unparsable address is InvalidInput.
            let e = block_on(TcpListener::bind("nope")).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput);
        });
        if let Err(p) = r {
            let msg = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            panic!("using a socket outside a runtime panicked: {msg}");
        }
    });
}

/// `connect_with_backoff` with an unlimited schedule of zero delays, against
/// an address whose `connect(2)` fails at once (TCP to the broadcast address
/// is `ENETUNREACH` before any packet is sent): a `timeout` around it must
/// fire. Neither the attempt nor a zero sleep ever returned `Pending`, so the
/// retry loop held its thread forever and the timeout never ran (backoff.rs
/// invariant 3).
#[test]
fn a_zero_delay_backoff_against_an_instant_failure_still_yields() {
    within(Duration::from_secs(10), || {
        run(5, "zero-delay backoff", async {
            let e = TcpStream::connect("255.255.255.255:80").await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::NetworkUnreachable, "{e:?}");
            let b = Backoff::new(Duration::ZERO, Duration::ZERO);
            let r = timeout(
                Duration::from_millis(100),
                connect_with_backoff("255.255.255.255:80", b),
            )
            .await;
            assert!(r.is_err(), "connected to the broadcast address?");
            // A spawned task retrying the same way leaves its worker to others.
            let retry = tempo::spawn(async {
                let b = Backoff::new(Duration::ZERO, Duration::ZERO);
                connect_with_backoff("255.255.255.255:80", b).await
            });
            let other = tempo::spawn(async { 7 });
            assert_eq!(other.await.unwrap(), 7);
            retry.abort();
        });
    });
}

/// serverbox's connect with delay (`connect_with_backoff`): after a refused
/// attempt the client waits out each delay on the runtime's clock (here a
/// `ManualClock`: no attempt before the clock moves) and connects once a
/// listener appears.
#[test]
fn connect_with_backoff_waits_its_delays_and_connects_once_the_peer_listens() {
    use tempo::net::{connect_with_backoff, Backoff};
    within(Duration::from_secs(20), || {
        let clock = tempo::time::ManualClock::new();
        let rt = common::manual_rt(1, &clock);
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        let b = Backoff::new(Duration::from_secs(1), Duration::from_secs(4));
        let h = rt.spawn(connect_with_backoff(addr, b));
        // The first attempt is refused; the task now sleeps 1 s on the
        // manual clock, which does not move by itself.
        std::thread::sleep(Duration::from_millis(100));
        assert!(
            !h.is_finished(),
            "connect_with_backoff gave up or ran ahead"
        );
        // Another refused attempt after the first delay; then a listener.
        clock.advance(Duration::from_secs(1));
        std::thread::sleep(Duration::from_millis(100));
        assert!(!h.is_finished(), "the second delay (2 s) was not waited");
        let l = rt
            .block_on(TcpListener::bind(addr))
            .expect("rebind the port");
        clock.advance(Duration::from_secs(1));
        std::thread::sleep(Duration::from_millis(50));
        assert!(
            !h.is_finished(),
            "an attempt came before its 2 s delay ended"
        );
        clock.advance(Duration::from_secs(1));
        let r = rt.block_on(async {
            let (s, peer) = timeout(Duration::from_secs(5), async {
                let accepted = l.accept().await.unwrap();
                (h.await.unwrap(), accepted.1)
            })
            .await
            .expect("no connection after the listener appeared");
            (s, peer)
        });
        let (s, peer) = r;
        let s = s.expect("connect_with_backoff failed");
        assert_eq!(s.local_addr().unwrap(), peer);
    });
}
