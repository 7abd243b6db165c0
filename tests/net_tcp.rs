#![cfg(not(any(feature = "loom", feature = "shuttle")))]
//! Integration tests of `tempo::net` TCP on the loopback interface: many
//! concurrent connections, bulk transfer in both directions, half-close,
//! resets, concurrent reader and writer, connect timeouts, deregistration
//! and fd hygiene, `incoming`/`from_std`/addresses/options, sockets that
//! outlive their runtime, and the caller-driven (`worker_threads(0)`) runtime.
//!
//! Every test body runs under `tempo::time::timeout` *and* on a watchdog
//! thread, so a hang becomes a failure with a message instead of a stuck suite.

use std::future::Future;
use std::io::{self, ErrorKind};
use std::net::{Shutdown, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use futures::io::{AsyncReadExt, AsyncWriteExt};
use futures::StreamExt;
use tempo::net::{TcpListener, TcpSocket, TcpStream};
use tempo::time::{sleep, timeout};
use tempo::{JoinHandle, Runtime};

mod common;
use common::within;

// ---------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------

/// Tests that count the process's open descriptors take this for writing;
/// every other test takes it for reading (the harness runs tests on parallel
/// threads of one process, and their sockets would skew the count).
static FD_COUNT_LOCK: RwLock<()> = RwLock::new(());

fn shared_lock() -> std::sync::RwLockReadGuard<'static, ()> {
    FD_COUNT_LOCK.read().unwrap_or_else(|e| e.into_inner())
}

fn exclusive_lock() -> std::sync::RwLockWriteGuard<'static, ()> {
    FD_COUNT_LOCK.write().unwrap_or_else(|e| e.into_inner())
}

fn rt(workers: usize) -> Runtime {
    Runtime::builder()
        .worker_threads(workers)
        .build()
        .expect("build runtime")
}

/// `rt.block_on(f)`, failing with `what` if `f` takes longer than `secs`.
fn block_on_timeout<F: Future>(rt: &Runtime, secs: u64, what: &str, f: F) -> F::Output {
    rt.block_on(async {
        match timeout(Duration::from_secs(secs), f).await {
            Ok(v) => v,
            Err(_) => panic!("{what}: did not finish within {secs} s (hang)"),
        }
    })
}

/// Awaits `fut`, failing with `what` after `ms` milliseconds.
async fn within_ms<F: Future>(ms: u64, what: &str, fut: F) -> F::Output {
    match timeout(Duration::from_millis(ms), fut).await {
        Ok(v) => v,
        Err(_) => panic!("{what}: did not finish within {ms} ms (hang)"),
    }
}

/// A connected pair on the loopback interface: (client, server side).
async fn pair() -> (TcpStream, TcpStream) {
    let l = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = l.local_addr().unwrap();
    let c = TcpStream::connect(addr).await.expect("connect");
    let (s, peer) = l.accept().await.expect("accept");
    assert_eq!(peer, c.local_addr().unwrap());
    (c, s)
}

/// Echoes until EOF or an error.
async fn echo(mut s: TcpStream) {
    let mut buf = vec![0u8; 4096];
    loop {
        match s.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if s.write_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// Accepts forever, one echo task per connection.
fn spawn_echo_server(l: TcpListener) -> JoinHandle<()> {
    tempo::spawn(async move {
        loop {
            match l.accept().await {
                Ok((s, _)) => {
                    tempo::spawn(echo(s));
                }
                Err(e) => panic!("echo server: accept failed: {e}"),
            }
        }
    })
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("read /proc/self/fd")
        .count()
}

/// splitmix64: the pattern of the bulk-transfer test.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Fills `out` with the bytes at stream offsets `off..off + out.len()` of the
/// deterministic pseudo-random stream keyed by `key` (positional, so a
/// reader can regenerate any range whatever the read boundaries were).
fn fill_pattern(key: u64, off: u64, out: &mut [u8]) {
    let mut i = 0;
    while i < out.len() {
        let pos = off + i as u64;
        let word = mix(key ^ (pos / 8).wrapping_mul(0xD6E8_FEB8_6659_FD93)).to_le_bytes();
        let skip = (pos % 8) as usize;
        let take = (8 - skip).min(out.len() - i);
        out[i..i + take].copy_from_slice(&word[skip..skip + take]);
        i += take;
    }
}

/// A running, order-sensitive checksum of a byte stream (FNV-1a over its
/// little-endian 64-bit words), independent of how the stream was chunked.
struct Checksum {
    h: u64,
    tail: [u8; 8],
    tail_len: usize,
    bytes: u64,
}

impl Checksum {
    fn new() -> Checksum {
        Checksum {
            h: 0xCBF2_9CE4_8422_2325,
            tail: [0; 8],
            tail_len: 0,
            bytes: 0,
        }
    }

    fn word(&mut self, w: [u8; 8]) {
        self.h = (self.h ^ u64::from_le_bytes(w)).wrapping_mul(0x0000_0100_0000_01B3);
    }

    fn update(&mut self, mut data: &[u8]) {
        self.bytes += data.len() as u64;
        if self.tail_len > 0 {
            let take = (8 - self.tail_len).min(data.len());
            self.tail[self.tail_len..self.tail_len + take].copy_from_slice(&data[..take]);
            self.tail_len += take;
            data = &data[take..];
            if self.tail_len < 8 {
                return;
            }
            self.word(self.tail);
            self.tail_len = 0;
        }
        let mut words = data.chunks_exact(8);
        for w in &mut words {
            self.word(w.try_into().unwrap());
        }
        let rest = words.remainder();
        self.tail[..rest.len()].copy_from_slice(rest);
        self.tail_len = rest.len();
    }

    /// The checksum of everything so far (the byte count and a partial last word included).
    fn finish(&self) -> (u64, u64) {
        let mut last = [0u8; 8];
        last[..self.tail_len].copy_from_slice(&self.tail[..self.tail_len]);
        let h = (self.h ^ u64::from_le_bytes(last)).wrapping_mul(0x0000_0100_0000_01B3);
        (h, self.bytes)
    }
}

// ---------------------------------------------------------------------------
// Many connections, bulk data
// ---------------------------------------------------------------------------

#[test]
fn thousand_concurrent_connections_echo_distinct_messages() {
    let _g = shared_lock();
    within(Duration::from_secs(60), || {
        let mut n: usize = 1000;
        // Two descriptors per connection (client and accepted side) plus the
        // runtime's and the harness's, plus other tests running beside us.
        let want = 2 * n as u64 + 200;
        let have = common::raise_nofile(want);
        if have < want {
            n = (have.saturating_sub(200) / 2) as usize;
            eprintln!(
                "RLIMIT_NOFILE is {have} (hard limit too low for {want}): \
                 scaling down to {n} concurrent connections"
            );
            assert!(n >= 10, "too few descriptors to test anything");
        }
        let rt = rt(2);
        let t0 = Instant::now();
        block_on_timeout(&rt, 30, "1,000 concurrent echo connections", async move {
            let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = l.local_addr().unwrap();
            let server = spawn_echo_server(l);
            let clients: Vec<_> = (0..n)
                .map(|i| {
                    tempo::spawn(async move {
                        let mut msg = [0u8; 64];
                        let head = format!("client {i:06} ");
                        msg[..head.len()].copy_from_slice(head.as_bytes());
                        fill_pattern(i as u64, 0, &mut msg[head.len()..]);
                        let mut c = TcpStream::connect(addr)
                            .await
                            .unwrap_or_else(|e| panic!("client {i}: connect: {e}"));
                        c.write_all(&msg)
                            .await
                            .unwrap_or_else(|e| panic!("client {i}: write: {e}"));
                        let mut back = [0u8; 64];
                        c.read_exact(&mut back)
                            .await
                            .unwrap_or_else(|e| panic!("client {i}: read: {e}"));
                        assert_eq!(back, msg, "client {i} got someone else's echo");
                    })
                })
                .collect();
            for (i, h) in clients.into_iter().enumerate() {
                h.await
                    .unwrap_or_else(|e| panic!("client {i} failed: {e:?}"));
            }
            server.abort();
        });
        eprintln!("{n} echo connections in {:?}", t0.elapsed());
    });
}

/// Writes 64 MiB of the pattern keyed by `key`, in chunks of varying size;
/// closes the write direction at the end. Returns the checksum of what it wrote.
async fn write_pattern(mut w: tempo::net::OwnedWriteHalf, key: u64, total: u64) -> (u64, u64) {
    let mut buf = vec![0u8; 128 * 1024];
    let mut off = 0u64;
    let mut h = Checksum::new();
    let mut step = key | 1;
    while off < total {
        // Chunk sizes vary from 1 byte to 128 KiB so writes end anywhere.
        step = mix(step);
        let len = ((step % buf.len() as u64) + 1).min(total - off) as usize;
        fill_pattern(key, off, &mut buf[..len]);
        w.write_all(&buf[..len])
            .await
            .unwrap_or_else(|e| panic!("writer {key:#x}: write at offset {off}: {e}"));
        h.update(&buf[..len]);
        off += len as u64;
    }
    w.close().await.expect("shutdown(Write)");
    h.finish()
}

/// Reads to EOF, checking every byte against the pattern keyed by `key`.
/// Returns the checksum of what it read.
async fn read_pattern(mut r: tempo::net::OwnedReadHalf, key: u64, total: u64) -> (u64, u64) {
    let mut buf = vec![0u8; 64 * 1024];
    let mut expect = vec![0u8; 64 * 1024];
    let mut off = 0u64;
    let mut h = Checksum::new();
    loop {
        let n = r
            .read(&mut buf)
            .await
            .unwrap_or_else(|e| panic!("reader {key:#x}: read at offset {off}: {e}"));
        if n == 0 {
            break;
        }
        fill_pattern(key, off, &mut expect[..n]);
        if buf[..n] != expect[..n] {
            let i = (0..n).find(|&i| buf[i] != expect[i]).unwrap();
            panic!(
                "reader {key:#x}: byte {} is {:#04x}, expected {:#04x}",
                off + i as u64,
                buf[i],
                expect[i]
            );
        }
        h.update(&buf[..n]);
        off += n as u64;
        assert!(off <= total, "reader {key:#x}: more than {total} bytes");
    }
    assert_eq!(
        off, total,
        "reader {key:#x}: EOF after {off} of {total} bytes"
    );
    h.finish()
}

#[test]
fn sixty_four_mib_each_way_concurrently_over_one_connection() {
    let _g = shared_lock();
    const TOTAL: u64 = 64 << 20;
    const UP: u64 = 0x5550_5550_5550_5550; // client -> server
    const DOWN: u64 = 0xD0D0_D0D0_D0D0_D0D0; // server -> client
    within(Duration::from_secs(120), || {
        let rt = rt(2);
        let t0 = Instant::now();
        block_on_timeout(&rt, 90, "64 MiB each way", async {
            let (c, s) = pair().await;
            let (cr, cw) = c.into_split();
            let (sr, sw) = s.into_split();
            let up_w = tempo::spawn(write_pattern(cw, UP, TOTAL));
            let up_r = tempo::spawn(read_pattern(sr, UP, TOTAL));
            let down_w = tempo::spawn(write_pattern(sw, DOWN, TOTAL));
            let down_r = tempo::spawn(read_pattern(cr, DOWN, TOTAL));
            let (uw, ur) = (up_w.await.unwrap(), up_r.await.unwrap());
            let (dw, dr) = (down_w.await.unwrap(), down_r.await.unwrap());
            assert_eq!(uw, ur, "client->server checksum");
            assert_eq!(dw, dr, "server->client checksum");
            assert_ne!(uw, dw, "the two directions carry different patterns");
        });
        eprintln!("2 x 64 MiB in {:?}", t0.elapsed());
    });
}

// ---------------------------------------------------------------------------
// Closing: half-close, reset, EOF while waiting
// ---------------------------------------------------------------------------

#[test]
fn half_close_lets_the_peer_read_eof_and_still_reply() {
    let _g = shared_lock();
    within(Duration::from_secs(10), || {
        let rt = rt(2);
        block_on_timeout(&rt, 5, "half-close", async {
            let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = l.local_addr().unwrap();
            let server = tempo::spawn(async move {
                let (mut s, _) = l.accept().await.unwrap();
                let mut req = Vec::new();
                // read_to_end returns once a read returns 0: the client's FIN.
                s.read_to_end(&mut req).await.expect("server read to EOF");
                assert_eq!(req, b"request, then FIN");
                let mut extra = [0u8; 8];
                assert_eq!(s.read(&mut extra).await.unwrap(), 0, "EOF is sticky");
                // Our write direction is still open.
                s.write_all(b"reply after your FIN")
                    .await
                    .expect("server reply");
                // Dropping closes: the client reads EOF after the reply.
            });
            let mut c = TcpStream::connect(addr).await.unwrap();
            c.write_all(b"request, then FIN").await.unwrap();
            c.shutdown(Shutdown::Write).expect("shutdown(Write)");
            let mut reply = [0u8; 20];
            c.read_exact(&mut reply)
                .await
                .expect("client reads the reply");
            assert_eq!(&reply, b"reply after your FIN");
            server.await.unwrap();
            let mut buf = [0u8; 8];
            assert_eq!(c.read(&mut buf).await.unwrap(), 0, "client reads EOF");
            // Writing after our own shutdown(Write) fails.
            let e = c.write(b"x").await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::BrokenPipe, "{e}");
        });
    });
}

#[test]
fn half_close_via_async_write_close() {
    let _g = shared_lock();
    within(Duration::from_secs(10), || {
        let rt = rt(1);
        block_on_timeout(&rt, 5, "close()", async {
            let (mut c, mut s) = pair().await;
            c.write_all(b"abc").await.unwrap();
            c.close().await.expect("AsyncWriteExt::close");
            let mut got = Vec::new();
            s.read_to_end(&mut got).await.unwrap();
            assert_eq!(got, b"abc");
            s.write_all(b"xyz").await.unwrap();
            drop(s);
            let mut back = Vec::new();
            c.read_to_end(&mut back).await.unwrap();
            assert_eq!(back, b"xyz");
        });
    });
}

/// Linux: the first read after an RST returns `ECONNRESET` (the socket error
/// is reported once); the socket is then closed, so a write returns `EPIPE`
/// (`BrokenPipe`) and a further read returns 0.
#[test]
fn peer_reset_fails_a_pending_read_with_connection_reset() {
    let _g = shared_lock();
    within(Duration::from_secs(10), || {
        let rt = rt(2);
        block_on_timeout(&rt, 5, "reset during a pending read", async {
            let (c, s) = pair().await;
            let reader = tempo::spawn(async move {
                let mut c = c;
                let mut buf = [0u8; 16];
                let r = c.read(&mut buf).await;
                (c, r)
            });
            sleep(Duration::from_millis(50)).await;
            assert!(
                !reader.is_finished(),
                "nothing was sent: the read must wait"
            );
            s.set_linger(Some(Duration::ZERO)).unwrap();
            drop(s); // RST
            let (mut c, r) = within_ms(2000, "pending read after RST", reader)
                .await
                .unwrap();
            match r {
                Err(e) => assert_eq!(e.kind(), ErrorKind::ConnectionReset, "{e}"),
                Ok(n) => panic!("read after RST returned Ok({n}), expected ConnectionReset"),
            }
            let e = c.write(b"after reset").await.unwrap_err();
            assert!(
                matches!(e.kind(), ErrorKind::BrokenPipe | ErrorKind::ConnectionReset),
                "write after RST: {e:?}"
            );
            // The error was reported; the closed socket now reads EOF.
            let mut buf = [0u8; 4];
            assert_eq!(c.read(&mut buf).await.unwrap(), 0);
        });
    });
}

#[test]
fn peer_reset_fails_the_next_read_and_write() {
    let _g = shared_lock();
    within(Duration::from_secs(10), || {
        let rt = rt(2);
        block_on_timeout(&rt, 5, "reset before the read", async {
            let (mut c, s) = pair().await;
            s.set_linger(Some(Duration::ZERO)).unwrap();
            drop(s);
            sleep(Duration::from_millis(20)).await; // let the RST arrive
            let mut buf = [0u8; 16];
            let e = c.read(&mut buf).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::ConnectionReset, "{e}");
            let e = c.write(b"x").await.unwrap_err();
            assert!(
                matches!(e.kind(), ErrorKind::BrokenPipe | ErrorKind::ConnectionReset),
                "write after RST: {e:?}"
            );
        });
        // Write first this time: the pending socket error goes to the write.
        block_on_timeout(&rt, 5, "reset before the write", async {
            let (mut c, s) = pair().await;
            s.set_linger(Some(Duration::ZERO)).unwrap();
            drop(s);
            sleep(Duration::from_millis(20)).await;
            let e = c.write(b"x").await.unwrap_err();
            assert!(
                matches!(e.kind(), ErrorKind::BrokenPipe | ErrorKind::ConnectionReset),
                "write after RST: {e:?}"
            );
            let mut buf = [0u8; 16];
            match c.read(&mut buf).await {
                Err(e) => assert_eq!(e.kind(), ErrorKind::ConnectionReset, "{e}"),
                // The write consumed the error report; the socket is closed.
                Ok(n) => assert_eq!(n, 0),
            }
        });
    });
}

#[test]
fn pending_read_sees_eof_when_the_peer_closes() {
    let _g = shared_lock();
    within(Duration::from_secs(10), || {
        let rt = rt(2);
        block_on_timeout(&rt, 5, "EOF while waiting", async {
            let (c, s) = pair().await;
            let reader = tempo::spawn(async move {
                let mut c = c;
                let mut buf = [0u8; 16];
                c.read(&mut buf).await
            });
            sleep(Duration::from_millis(50)).await;
            assert!(!reader.is_finished(), "the read must wait for the peer");
            drop(s); // FIN
            let n = within_ms(2000, "pending read after FIN", reader)
                .await
                .unwrap()
                .expect("read after FIN");
            assert_eq!(n, 0, "a closed peer reads as EOF");
        });
    });
}

#[test]
fn a_waiting_reader_and_a_blocked_writer_on_one_stream_both_complete() {
    let _g = shared_lock();
    const TOTAL: usize = 4 << 20;
    within(Duration::from_secs(20), || {
        let rt = rt(2);
        block_on_timeout(&rt, 15, "reader + writer on one stream", async {
            // Small buffers (set before listen/connect so they apply from the
            // handshake on) make the writer block long before TOTAL.
            let ls = TcpSocket::new_v4().unwrap();
            ls.set_recv_buffer_size(8 * 1024).unwrap();
            ls.bind("127.0.0.1:0".parse().unwrap()).unwrap();
            let l = ls.listen(16).unwrap();
            let cs = TcpSocket::new_v4().unwrap();
            cs.set_send_buffer_size(8 * 1024).unwrap();
            let c = cs.connect(l.local_addr().unwrap()).await.unwrap();
            let (mut s, _) = l.accept().await.unwrap();

            let (mut cr, mut cw) = c.into_split();
            let read_done = Arc::new(AtomicBool::new(false));
            let write_done = Arc::new(AtomicBool::new(false));
            let rd = read_done.clone();
            let reader = tempo::spawn(async move {
                let mut buf = [0u8; 5];
                cr.read_exact(&mut buf).await.expect("reader");
                rd.store(true, SeqCst);
                buf
            });
            let wd = write_done.clone();
            let writer = tempo::spawn(async move {
                let mut data = vec![0u8; TOTAL];
                fill_pattern(7, 0, &mut data);
                cw.write_all(&data).await.expect("writer");
                wd.store(true, SeqCst);
                cw // keep the write direction open until we are done
            });
            sleep(Duration::from_millis(200)).await;
            assert!(!read_done.load(SeqCst), "reader finished with nothing sent");
            assert!(
                !write_done.load(SeqCst),
                "writer finished {TOTAL} bytes with nobody reading: buffers too big?"
            );
            // Both are waiting now, one per direction. Drain, then send.
            let mut got = vec![0u8; TOTAL];
            s.read_exact(&mut got).await.expect("drain");
            let mut want = vec![0u8; TOTAL];
            fill_pattern(7, 0, &mut want);
            assert!(got == want, "drained data differs from what was written");
            let _cw = within_ms(3000, "writer after drain", writer).await.unwrap();
            assert!(!read_done.load(SeqCst), "reader finished before the reply");
            s.write_all(b"reply").await.unwrap();
            let buf = within_ms(3000, "reader after reply", reader).await.unwrap();
            assert_eq!(&buf, b"reply");
        });
    });
}

// ---------------------------------------------------------------------------
// Connect timeouts
// ---------------------------------------------------------------------------

#[test]
fn connect_timeout_to_a_non_routable_address_returns_within_a_second() {
    let _g = shared_lock();
    within(Duration::from_secs(10), || {
        let rt = rt(1);
        block_on_timeout(&rt, 5, "connect_timeout to 10.255.255.1", async {
            let t0 = Instant::now();
            let r = TcpStream::connect_timeout("10.255.255.1:81", Duration::from_millis(200)).await;
            let took = t0.elapsed();
            match &r {
                Err(e) if e.kind() == ErrorKind::TimedOut => {
                    assert!(
                        took >= Duration::from_millis(190),
                        "TimedOut too early: {took:?}"
                    );
                    assert!(e.to_string().contains("200ms"), "{e}");
                }
                // No route at all: the kernel fails the connect at once.
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::NetworkUnreachable | ErrorKind::HostUnreachable
                    ) => {}
                Err(e) => panic!("unexpected error from a non-routable connect: {e:?}"),
                // Some sandboxes route every outbound connection to a
                // transparent proxy that completes the handshake itself.
                Ok(s) => eprintln!(
                    "note: 10.255.255.1:81 accepted a connection here ({:?}): \
                     outbound TCP is proxied; the full-backlog test covers TimedOut",
                    s.peer_addr()
                ),
            }
            assert!(took < Duration::from_secs(1), "took {took:?}: {r:?}");
        });
    });
}

/// A deterministic local timeout: Linux drops a SYN for a listener whose
/// accept queue is full, so the client keeps retransmitting (first after
/// 1 s) and the connect cannot complete within 200 ms.
#[test]
fn connect_timeout_fires_when_the_listener_drops_syns() {
    let _g = shared_lock();
    within(Duration::from_secs(10), || {
        // backlog 0: the accept queue holds one connection.
        let sock =
            socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
        sock.bind(&"127.0.0.1:0".parse::<SocketAddr>().unwrap().into())
            .unwrap();
        sock.listen(0).unwrap();
        let addr = sock.local_addr().unwrap().as_socket().unwrap();
        let rt = rt(1);
        block_on_timeout(&rt, 5, "connect_timeout against a full backlog", async {
            // Fill the queue; never accept.
            let mut held = Vec::new();
            let mut timed_out = None;
            for _ in 0..4 {
                let t0 = Instant::now();
                match TcpStream::connect_timeout(addr, Duration::from_millis(200)).await {
                    Ok(s) => held.push(s),
                    Err(e) => {
                        timed_out = Some((e, t0.elapsed()));
                        break;
                    }
                }
            }
            let (e, took) = timed_out.expect("every connect to a full backlog succeeded");
            assert_eq!(e.kind(), ErrorKind::TimedOut, "{e:?}");
            assert!(
                took >= Duration::from_millis(190) && took < Duration::from_millis(1000),
                "TimedOut after {took:?}, expected ~200 ms"
            );
            assert!(
                !held.is_empty(),
                "the first connect should have been queued"
            );
        });
        drop(sock);
    });
}

#[test]
fn connect_timeout_succeeds_when_the_peer_is_there() {
    let _g = shared_lock();
    within(Duration::from_secs(10), || {
        let rt = rt(1);
        block_on_timeout(&rt, 5, "successful connect_timeout", async {
            let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = l.local_addr().unwrap();
            let t0 = Instant::now();
            let c = TcpStream::connect_timeout(addr, Duration::from_secs(2))
                .await
                .expect("connect_timeout to a listener");
            assert!(t0.elapsed() < Duration::from_secs(1));
            assert_eq!(c.peer_addr().unwrap(), addr);
            let (s, peer) = l.accept().await.unwrap();
            assert_eq!(peer, c.local_addr().unwrap());
            drop(s);
        });
    });
}

// ---------------------------------------------------------------------------
// Drop: ports and descriptors
// ---------------------------------------------------------------------------

#[test]
fn dropping_a_listener_frees_its_port() {
    let _g = shared_lock();
    within(Duration::from_secs(10), || {
        let rt = rt(1);
        block_on_timeout(&rt, 5, "rebind after drop", async {
            let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = l.local_addr().unwrap();
            // Use it once, so the port also has a closed connection on it.
            let (c, s) = {
                let c = TcpStream::connect(addr).await.unwrap();
                let (s, _) = l.accept().await.unwrap();
                (c, s)
            };
            drop(s);
            drop(c);
            let e = TcpListener::bind(addr).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::AddrInUse, "still bound: {e}");
            drop(l);
            let l2 = TcpListener::bind(addr)
                .await
                .expect("bind the same address after the listener dropped");
            assert_eq!(l2.local_addr().unwrap(), addr);
            // And it works.
            let _c = TcpStream::connect(addr).await.unwrap();
            l2.accept().await.unwrap();
        });
    });
}

#[test]
fn ten_thousand_sequential_connections_leak_no_descriptors() {
    let _g = exclusive_lock();
    within(Duration::from_secs(60), || {
        let rt = rt(1);
        let n = 10_000;
        let t0 = Instant::now();
        block_on_timeout(&rt, 45, "10,000 sequential connections", async move {
            let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = l.local_addr().unwrap();
            // Warm up (the first connection may allocate lazily).
            {
                let _c = TcpStream::connect(addr).await.unwrap();
                let _s = l.accept().await.unwrap();
            }
            let before = open_fds();
            for i in 0..n {
                let c = TcpStream::connect(addr)
                    .await
                    .unwrap_or_else(|e| panic!("connect #{i}: {e}"));
                let (s, peer) = l
                    .accept()
                    .await
                    .unwrap_or_else(|e| panic!("accept #{i}: {e}"));
                assert_eq!(peer, c.local_addr().unwrap());
                // RST on close: no TIME_WAIT, so repeated runs cannot run the
                // ephemeral ports dry.
                c.set_linger(Some(Duration::ZERO)).unwrap();
                if i % 2 == 0 {
                    drop(s);
                    drop(c);
                } else {
                    drop(c);
                    drop(s);
                }
            }
            let after = open_fds();
            assert_eq!(
                before, after,
                "open descriptors before and after {n} connect/accept/drop cycles"
            );
        });
        eprintln!("{n} sequential connections in {:?}", t0.elapsed());
    });
}

// ---------------------------------------------------------------------------
// incoming, from_std, addresses, options
// ---------------------------------------------------------------------------

#[test]
fn incoming_yields_each_connection() {
    let _g = shared_lock();
    within(Duration::from_secs(10), || {
        let rt = rt(2);
        block_on_timeout(&rt, 5, "incoming", async {
            let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = l.local_addr().unwrap();
            let clients: Vec<_> = (0..5u8)
                .map(|i| {
                    tempo::spawn(async move {
                        let mut c = TcpStream::connect(addr).await.unwrap();
                        c.write_all(&[i]).await.unwrap();
                        c
                    })
                })
                .collect();
            let mut seen = Vec::new();
            let mut inc = l.incoming();
            for _ in 0..5 {
                let mut s = inc.next().await.expect("incoming never ends").unwrap();
                let mut b = [0u8; 1];
                s.read_exact(&mut b).await.unwrap();
                seen.push(b[0]);
            }
            seen.sort_unstable();
            assert_eq!(seen, [0, 1, 2, 3, 4]);
            for c in clients {
                c.await.unwrap();
            }
        });
    });
}

#[test]
fn from_std_listener_and_stream_work() {
    let _g = shared_lock();
    within(Duration::from_secs(10), || {
        let rt = rt(1);
        block_on_timeout(&rt, 5, "from_std", async {
            let std_l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let addr = std_l.local_addr().unwrap();
            let l = TcpListener::from_std(std_l).expect("TcpListener::from_std");
            assert_eq!(l.local_addr().unwrap(), addr);
            // A blocking std connect completes in the kernel; adopt it.
            let std_c = std::net::TcpStream::connect(addr).unwrap();
            let mut c = TcpStream::from_std(std_c).expect("TcpStream::from_std");
            let (mut s, peer) = l.accept().await.unwrap();
            assert_eq!(peer, c.local_addr().unwrap());
            c.write_all(b"from std").await.unwrap();
            let mut buf = [0u8; 8];
            s.read_exact(&mut buf).await.unwrap();
            assert_eq!(&buf, b"from std");
            // from_std switched it to non-blocking: an empty read waits
            // (a blocking fd would block the worker and trip the timeout).
            let r = timeout(Duration::from_millis(50), c.read(&mut buf)).await;
            assert!(r.is_err(), "read with no data must wait: {r:?}");
            s.write_all(b"back").await.unwrap();
            c.read_exact(&mut buf[..4]).await.unwrap();
            assert_eq!(&buf[..4], b"back");
        });
    });
}

#[test]
fn local_and_peer_addresses_agree_between_the_ends() {
    let _g = shared_lock();
    within(Duration::from_secs(10), || {
        let rt = rt(1);
        block_on_timeout(&rt, 5, "addresses", async {
            for host in ["127.0.0.1:0", "[::1]:0"] {
                let l = match TcpListener::bind(host).await {
                    Ok(l) => l,
                    // No IPv6 loopback in this environment.
                    Err(e) if host.starts_with('[') => {
                        eprintln!("skipping {host}: {e}");
                        continue;
                    }
                    Err(e) => panic!("bind {host}: {e}"),
                };
                let addr = l.local_addr().unwrap();
                assert_ne!(addr.port(), 0, "port 0 picks a port");
                let c = TcpStream::connect(addr).await.unwrap();
                let (s, accepted_peer) = l.accept().await.unwrap();
                assert_eq!(c.peer_addr().unwrap(), addr);
                assert_eq!(s.local_addr().unwrap(), addr);
                assert_eq!(s.peer_addr().unwrap(), c.local_addr().unwrap());
                assert_eq!(accepted_peer, c.local_addr().unwrap());
                let (cr, cw) = c.into_split();
                assert_eq!(cr.peer_addr().unwrap(), addr);
                assert_eq!(cw.local_addr().unwrap(), accepted_peer);
                let c = cr.reunite(cw).expect("reunite");
                assert_eq!(c.peer_addr().unwrap(), addr);
            }
        });
    });
}

#[test]
fn socket_options_round_trip() {
    let _g = shared_lock();
    within(Duration::from_secs(10), || {
        let rt = rt(1);
        block_on_timeout(&rt, 5, "options", async {
            let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
            l.set_ttl(42).unwrap();
            assert_eq!(l.ttl().unwrap(), 42);
            let (c, _s) = {
                let c = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
                let (s, _) = l.accept().await.unwrap();
                (c, s)
            };

            c.set_nodelay(true).unwrap();
            assert!(c.nodelay().unwrap());
            c.set_nodelay(false).unwrap();
            assert!(!c.nodelay().unwrap());

            c.set_ttl(100).unwrap();
            assert_eq!(c.ttl().unwrap(), 100);

            assert_eq!(c.linger().unwrap(), None);
            c.set_linger(Some(Duration::from_secs(5))).unwrap();
            assert_eq!(c.linger().unwrap(), Some(Duration::from_secs(5)));
            c.set_linger(Some(Duration::ZERO)).unwrap();
            assert_eq!(c.linger().unwrap(), Some(Duration::ZERO));
            c.set_linger(None).unwrap();
            assert_eq!(c.linger().unwrap(), None);

            c.set_keepalive(Some(Duration::from_secs(60))).unwrap();
            assert!(c.keepalive().unwrap());
            c.set_keepalive(None).unwrap();
            assert!(!c.keepalive().unwrap());

            assert!(c.send_buffer_size().unwrap() > 0);
            assert!(c.recv_buffer_size().unwrap() > 0);
            c.set_send_buffer_size(64 * 1024).unwrap();
            c.set_recv_buffer_size(64 * 1024).unwrap();
            // Linux doubles the value (bookkeeping overhead), within limits.
            let (snd, rcv) = (c.send_buffer_size().unwrap(), c.recv_buffer_size().unwrap());
            assert!(snd >= 64 * 1024, "SO_SNDBUF {snd}");
            assert!(rcv >= 64 * 1024, "SO_RCVBUF {rcv}");

            assert!(c.take_error().unwrap().is_none());

            // TcpSocket: options set before connect are in force after.
            let sock = TcpSocket::new_v4().unwrap();
            sock.set_nodelay(true).unwrap();
            sock.set_keepalive(true).unwrap();
            sock.set_linger(Some(Duration::from_secs(3))).unwrap();
            let c2 = sock.connect(l.local_addr().unwrap()).await.unwrap();
            assert!(c2.nodelay().unwrap());
            assert!(c2.keepalive().unwrap());
            assert_eq!(c2.linger().unwrap(), Some(Duration::from_secs(3)));
        });
    });
}

/// A sub-second linger is rounded up to whole seconds (stream.rs invariant
/// 5, socket.rs invariant 1). It was truncated to 0 on its way to the
/// kernel, so `set_linger(Some(500 ms))` — a graceful close waiting at most
/// half a second — closed with a reset: the peer's `read_to_end` failed
/// with `ConnectionReset` instead of reading every byte and EOF. Huge
/// values saturate instead of wrapping (2^32 s used to become 0 as well).
#[test]
fn a_sub_second_linger_closes_gracefully_not_with_a_reset() {
    let _g = shared_lock();
    within(Duration::from_secs(10), || {
        let rt = rt(1);
        block_on_timeout(&rt, 5, "sub-second linger", async {
            let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let mut c = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
            let (mut s, _) = l.accept().await.unwrap();
            s.set_linger(Some(Duration::from_millis(500))).unwrap();
            let back = s.linger().unwrap();
            s.write_all(&[7u8; 1000]).await.unwrap();
            drop(s);
            let mut got = Vec::new();
            c.read_to_end(&mut got)
                .await
                .expect("a 500 ms linger closed with a reset");
            assert_eq!(got, [7u8; 1000]);
            assert_eq!(back, Some(Duration::from_secs(1)));

            c.set_linger(Some(Duration::from_secs(1 << 32))).unwrap();
            assert_eq!(
                c.linger().unwrap(),
                Some(Duration::from_secs(i32::MAX as u64))
            );
            let t = TcpSocket::new_v4().unwrap();
            t.set_linger(Some(Duration::from_nanos(1))).unwrap();
            let t = t.connect(l.local_addr().unwrap()).await.unwrap();
            assert_eq!(t.linger().unwrap(), Some(Duration::from_secs(1)));
        });
    });
}

// ---------------------------------------------------------------------------
// Sockets that outlive their runtime; the caller-driven runtime
// ---------------------------------------------------------------------------

fn is_gone(e: &io::Error) -> bool {
    e.to_string().contains("shut down")
}

#[test]
fn sockets_fail_instead_of_hanging_after_their_runtime_drops() {
    let _g = shared_lock();
    within(Duration::from_secs(15), || {
        let rt_a = rt(1);
        let (listener, client, server) = block_on_timeout(&rt_a, 5, "setup in runtime A", async {
            let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let c = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
            let (s, _) = l.accept().await.unwrap();
            (l, c, s)
        });
        let listener = Arc::new(listener);

        // Runtime B waits on A's sockets: a read with nothing to read and an
        // accept with nobody connecting.
        let rt_b = rt(1);
        let pending_read = rt_b.spawn(async move {
            let mut c = client;
            let mut buf = [0u8; 8];
            let r = c.read(&mut buf).await;
            (c, r)
        });
        let l2 = listener.clone();
        let pending_accept = rt_b.spawn(async move { l2.accept().await.map(|(_, a)| a) });
        std::thread::sleep(Duration::from_millis(100));
        assert!(!pending_read.is_finished() && !pending_accept.is_finished());

        let t0 = Instant::now();
        drop(rt_a);
        assert!(
            t0.elapsed() < Duration::from_secs(2),
            "dropping A took {:?}",
            t0.elapsed()
        );

        block_on_timeout(&rt_b, 5, "operations after runtime A dropped", async move {
            let (mut client, r) = within_ms(2000, "read pending across A's drop", pending_read)
                .await
                .unwrap();
            let e = r.expect_err("a read pending when A dropped must fail");
            assert!(is_gone(&e), "pending read: {e}");
            let e = within_ms(2000, "accept pending across A's drop", pending_accept)
                .await
                .unwrap()
                .expect_err("an accept pending when A dropped must fail");
            assert!(is_gone(&e), "pending accept: {e}");

            // Started afterwards.
            let e = within_ms(2000, "accept after A dropped", listener.accept())
                .await
                .expect_err("accept on a socket of a dropped runtime");
            assert!(is_gone(&e), "accept: {e}");
            let mut server = server;
            let e = within_ms(2000, "write after A dropped", server.write(b"x"))
                .await
                .expect_err("write on a socket of a dropped runtime");
            assert!(is_gone(&e), "write: {e}");
            let mut buf = [0u8; 4];
            let e = within_ms(2000, "read after A dropped", client.read(&mut buf))
                .await
                .expect_err("read on a socket of a dropped runtime");
            assert!(is_gone(&e), "read: {e}");
            // Plain queries still work; new sockets belong to B and work.
            assert!(listener.local_addr().is_ok());
            let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let _c = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
            l.accept().await.unwrap();
        });
    });
}

#[test]
fn caller_driven_runtime_echo_round_trip() {
    let _g = shared_lock();
    within(Duration::from_secs(10), || {
        let rt = rt(0);
        block_on_timeout(&rt, 5, "echo on worker_threads(0)", async {
            let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = l.local_addr().unwrap();
            let server = spawn_echo_server(l);
            let mut c = TcpStream::connect(addr).await.unwrap();
            for round in 0..10u32 {
                let msg = format!("round {round}: {}", "x".repeat(round as usize * 100));
                c.write_all(msg.as_bytes()).await.unwrap();
                let mut back = vec![0u8; msg.len()];
                c.read_exact(&mut back).await.unwrap();
                assert_eq!(back, msg.as_bytes());
            }
            server.abort();
        });
    });
}

// ---------------------------------------------------------------------------
// TCP urgent data
// ---------------------------------------------------------------------------

/// A read that stops short at the TCP urgent mark leaves bytes in the
/// socket; a reader that took the short read as "drained" and cleared the
/// readiness would wait for an edge that never comes. tempo clears after a
/// short TCP read only if no `EPOLLPRI` was ever reported for the socket
/// (`ScheduledIo::poll_tcp_read`, TLA+ `Readiness.tla` with `Urgent`). The
/// peer sends bytes, one urgent byte (`MSG_OOB`) and more bytes, in the
/// interleavings with the reader that the pauses produce, and keeps the
/// connection open (a FIN's sticky READ_CLOSED would hide a lost
/// readiness); the reader must get all the normal bytes (the urgent one is
/// out of band) within the deadline. With the `URGENT` guard removed this
/// test hangs in the reps where everything arrived before the first read.
#[test]
fn urgent_data_never_hangs_a_reader() {
    let _g = shared_lock();
    let rt = rt(2);
    block_on_timeout(&rt, 20, "urgent data", async {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        for rep in 0..60u64 {
            let client = std::thread::spawn(move || {
                use std::io::Write;
                let mut c = std::net::TcpStream::connect(addr).unwrap();
                c.set_nodelay(true).unwrap();
                // Vary where the reader is when each part arrives.
                let pause = Duration::from_micros(rep % 4 * 300);
                c.write_all(b"abc").unwrap();
                std::thread::sleep(pause);
                socket2::SockRef::from(&c).send_out_of_band(b"!").unwrap();
                std::thread::sleep(pause);
                c.write_all(b"def").unwrap();
                // No FIN before the reader is done: a sticky READ_CLOSED
                // would hide a lost readiness.
                let mut ack = [0u8; 1];
                std::io::Read::read_exact(&mut c, &mut ack).unwrap();
            });
            let (mut s, _) = l.accept().await.unwrap();
            if rep % 2 == 1 {
                // Let everything arrive before the first read: the read
                // that stops at the mark then acts on a reported EPOLLPRI.
                sleep(Duration::from_millis(20)).await;
            }
            let mut got = Vec::new();
            let mut buf = [0u8; 64];
            while got.len() < 6 {
                let n = within_ms(5_000, "read past the urgent mark", s.read(&mut buf))
                    .await
                    .unwrap();
                assert!(n > 0, "rep {rep}: EOF after {got:?}");
                got.extend_from_slice(&buf[..n]);
            }
            assert_eq!(got, b"abcdef", "rep {rep}");
            s.write_all(b"k").await.unwrap();
            client.join().unwrap();
        }
    });
}

/// A vectored write of 2000 slices writes the first 1024 (`UIO_MAXIOV`),
/// like std, and the next write goes on at once. It used to hand all 2000
/// to `sendmsg`, which failed with `EMSGSIZE`.
#[test]
fn a_vectored_write_of_more_than_1024_slices_writes_a_prefix() {
    let _g = shared_lock();
    within(Duration::from_secs(10), || {
        let rt = rt(1);
        block_on_timeout(&rt, 5, "vectored write", async {
            let (mut c, mut s) = pair().await;
            let data: Vec<[u8; 4]> = (0..2000u32).map(|i| i.to_le_bytes()).collect();
            let slices: Vec<std::io::IoSlice<'_>> =
                data.iter().map(|d| std::io::IoSlice::new(d)).collect();
            // 8000 bytes fit a fresh socket's send buffer: each write takes
            // all the slices it is given.
            let n = c.write_vectored(&slices).await.unwrap();
            assert_eq!(n, 4 * 1024, "the first 1024 slices");
            // The capped write was not short: readiness stays, no wait.
            let m = c.write_vectored(&slices[1024..]).await.unwrap();
            assert_eq!(m, 4 * (2000 - 1024));
            let mut back = vec![0u8; n + m];
            s.read_exact(&mut back).await.unwrap();
            for (i, ch) in back.chunks(4).enumerate() {
                assert_eq!(ch, &(i as u32).to_le_bytes());
            }
        });
    });
}

/// Socket I/O is not starved by tasks that are always ready (serverbox:
/// "there is no IO starvation for any of the sockets"; DESIGN: the sched
/// role polls the driver without blocking on every round): four tasks that
/// `yield_now` forever keep every runner busy, so the role never blocks in
/// the driver, and 100 echo round trips over loopback still complete.
#[test]
fn socket_io_is_not_starved_by_tasks_that_never_stop_yielding() {
    let _g = shared_lock();
    within(Duration::from_secs(30), || {
        for workers in [0usize, 1, 2] {
            let rt = rt(workers);
            let stop = Arc::new(AtomicBool::new(false));
            let spinners: Vec<_> = (0..4)
                .map(|_| {
                    let stop = stop.clone();
                    rt.spawn(async move {
                        while !stop.load(SeqCst) {
                            tempo::task::yield_now().await;
                        }
                    })
                })
                .collect();
            block_on_timeout(&rt, 20, "echo behind spinners", async {
                let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
                let addr = l.local_addr().unwrap();
                let server = spawn_echo_server(l);
                let mut c = TcpStream::connect(addr).await.unwrap();
                for i in 0..100u32 {
                    let msg = i.to_le_bytes();
                    let mut back = [0u8; 4];
                    within_ms(
                        2000,
                        &format!("workers={workers}: round trip #{i}"),
                        async {
                            c.write_all(&msg).await.unwrap();
                            c.read_exact(&mut back).await.unwrap();
                        },
                    )
                    .await;
                    assert_eq!(back, msg);
                }
                server.abort();
            });
            stop.store(true, SeqCst);
            rt.block_on(async {
                for s in spinners {
                    s.await.unwrap();
                }
            });
        }
    });
}
