//! `PostSend`: ordered posts from many threads, the bound, close, failure,
//! and the drop of the last sender.
#![cfg(not(any(feature = "loom", feature = "shuttle")))]

use futures::io::AsyncReadExt;
use std::io;
use std::time::Duration;
use tempo::net::{PostError, PostSend, TcpListener, TcpStream};

mod common;

const LIMIT: Duration = Duration::from_secs(30);

fn rt() -> tempo::Runtime {
    tempo::Runtime::builder().worker_threads(2).build().unwrap()
}

fn within<F: std::future::Future>(rt: &tempo::Runtime, f: F) -> F::Output {
    rt.block_on(async { tempo::time::timeout(LIMIT, f).await.expect("test hung") })
}

/// A connected pair: (client, server side).
async fn pair() -> (TcpStream, TcpStream) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let c = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
    let (s, _) = l.accept().await.unwrap();
    (c, s)
}

#[test]
fn posts_from_four_threads_arrive_in_posting_order() {
    const THREADS: u32 = 4;
    const PER: u32 = 5_000;
    let rt = rt();
    within(&rt, async {
        let (c, mut s) = pair().await;
        let (_r, w) = c.into_split();
        let poster = PostSend::new(w, 64 << 20).unwrap();
        let threads: Vec<_> = (0..THREADS)
            .map(|t| {
                let p = poster.clone();
                std::thread::spawn(move || {
                    for seq in 0..PER {
                        // A record: thread id, sequence number, a variable-length tail.
                        let mut rec = vec![t as u8];
                        rec.extend_from_slice(&seq.to_le_bytes());
                        let tail = (seq % 7) as u8;
                        rec.push(tail);
                        rec.extend(std::iter::repeat_n(t as u8, tail as usize));
                        p.post(rec).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        poster.close().await.unwrap();
        let mut all = Vec::new();
        s.read_to_end(&mut all).await.unwrap();
        let mut next = [0u32; THREADS as usize];
        let mut i = 0;
        while i < all.len() {
            let t = all[i] as usize;
            let seq = u32::from_le_bytes(all[i + 1..i + 5].try_into().unwrap());
            let tail = all[i + 5] as usize;
            assert_eq!(
                seq, next[t],
                "thread {t}: record {seq} arrived out of order"
            );
            assert!(
                all[i + 6..i + 6 + tail].iter().all(|&b| b as usize == t),
                "a record was interleaved"
            );
            next[t] += 1;
            i += 6 + tail;
        }
        assert_eq!(
            next, [PER; THREADS as usize],
            "every post arrived exactly once"
        );
    });
}

#[test]
fn the_bound_refuses_posts_and_hands_the_bytes_back() {
    let rt = rt();
    within(&rt, async {
        let (c, mut s) = pair().await;
        c.set_send_buffer_size(4096).unwrap();
        s.set_recv_buffer_size(4096).unwrap();
        let (_r, w) = c.into_split();
        let poster = PostSend::new(w, 64 * 1024).unwrap();
        // The peer does not read: posts pile up until the bound refuses one.
        let chunk = vec![7u8; 4096];
        let mut accepted = 0usize;
        let err = loop {
            match poster.post(chunk.clone()) {
                Ok(()) => accepted += chunk.len(),
                Err(e) => break e,
            }
            if accepted > 64 << 20 {
                panic!("the bound was never enforced");
            }
            tempo::task::yield_now().await;
        };
        match &err {
            PostError::Full {
                queued,
                limit,
                data,
            } => {
                assert_eq!(*limit, 64 * 1024);
                assert!(queued + data.len() > *limit);
                assert_eq!(data.len(), 4096);
            }
            e => panic!("expected Full, got {e}"),
        }
        assert!(err.to_string().contains("limit"));
        assert_eq!(err.into_data(), chunk, "the refused bytes come back");
        assert!(poster.queued() <= poster.limit());
        // Once the peer reads, everything accepted arrives.
        let reader = tempo::spawn(async move {
            let mut n = 0usize;
            let mut buf = vec![0; 65536];
            loop {
                match s.read(&mut buf).await.unwrap() {
                    0 => return n,
                    k => n += k,
                }
            }
        });
        poster.close().await.unwrap();
        assert_eq!(reader.await.unwrap(), accepted);
    });
}

#[test]
fn a_zero_limit_and_use_outside_a_runtime_are_errors() {
    let rt = rt();
    within(&rt, async {
        let (c, _s) = pair().await;
        let e = PostSend::new(c, 0).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    });
    let e = PostSend::new(futures::io::sink(), 10).unwrap_err();
    assert!(e.to_string().contains("tempo runtime"), "{e}");
}

#[test]
fn flush_waits_until_written_and_close_refuses_later_posts() {
    let rt = rt();
    within(&rt, async {
        let (c, mut s) = pair().await;
        let poster = PostSend::new(c, 1 << 20).unwrap();
        let other = poster.clone();
        poster.post(&b"abc"[..]).unwrap();
        other.post(String::from("def")).unwrap();
        poster.flush().await.unwrap();
        assert_eq!(poster.queued(), 0);
        let mut buf = [0; 6];
        s.read_exact(&mut buf).await.unwrap();
        assert_eq!(&buf, b"abcdef");
        poster.close().await.unwrap();
        match other.post(&b"late"[..]) {
            Err(PostError::Closed { data, cause: None }) => assert_eq!(data, b"late"),
            r => panic!("expected Closed, got {r:?}"),
        }
        assert_eq!(
            s.read(&mut buf).await.unwrap(),
            0,
            "close shut the write side down"
        );
    });
}

#[test]
fn dropping_the_last_sender_drains_then_shuts_down() {
    let rt = rt();
    within(&rt, async {
        let (c, mut s) = pair().await;
        let poster = PostSend::new(c, 1 << 20).unwrap();
        let p2 = poster.clone();
        poster.post(vec![1u8; 100_000]).unwrap();
        drop(poster);
        p2.post(vec![2u8; 100_000]).unwrap();
        drop(p2); // nothing posted is lost
        let mut all = Vec::new();
        s.read_to_end(&mut all).await.unwrap();
        assert_eq!(all.len(), 200_000);
        assert!(all[..100_000].iter().all(|&b| b == 1) && all[100_000..].iter().all(|&b| b == 2));
    });
}

#[test]
fn a_reset_peer_fails_the_sender_with_the_cause() {
    let rt = rt();
    within(&rt, async {
        let (c, s) = pair().await;
        s.set_linger(Some(Duration::ZERO)).unwrap();
        drop(s); // RST
        let poster = PostSend::new(c, 1 << 30).unwrap();
        // Keep posting until the writer hits the reset and the sender reports it.
        let cause = loop {
            match poster.post(vec![0u8; 64 * 1024]) {
                Ok(()) => tempo::time::sleep(Duration::from_millis(1)).await,
                Err(PostError::Closed { cause: Some(e), .. }) => break e,
                Err(e) => panic!("unexpected {e}"),
            }
        };
        assert!(
            matches!(
                cause.kind(),
                io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset
            ),
            "{cause}"
        );
        let e = poster.flush().await.unwrap_err();
        assert_eq!(e.kind(), cause.kind());
        assert_eq!(poster.close().await.unwrap_err().kind(), cause.kind());
    });
}

/// A sender whose writer task's runtime was dropped refuses later posts
/// (handing the bytes back) and its `flush` and `close` fail: nobody will
/// write. The writer future used to be dropped without a word: `post` kept
/// queueing bytes for nobody and `flush`/`close` waited forever.
#[test]
fn a_sender_outliving_its_runtime_refuses_posts_and_fails_flush_and_close() {
    common::within(Duration::from_secs(20), || {
        let std_l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = std_l.local_addr().unwrap();
        let a = rt();
        let poster = a.block_on(async move {
            let c = TcpStream::connect(addr).await.unwrap();
            let poster = PostSend::new(c, 1 << 20).unwrap();
            poster.post(&b"first"[..]).unwrap();
            poster.flush().await.unwrap();
            poster
        });
        let (_peer, _) = std_l.accept().unwrap();
        drop(a); // drops the writer task
        assert_writer_gone(&poster, b"second");
    });
}

/// A sender whose writer task was dropped refuses `data` (handing it
/// back with the cause), and its `flush` and `close` fail.
fn assert_writer_gone(poster: &PostSend, data: &[u8]) {
    match poster.post(data) {
        Err(PostError::Closed {
            data: back,
            cause: Some(_),
        }) => assert_eq!(back, data),
        r => panic!("expected Closed with a cause, got {r:?}"),
    }
    let b = rt();
    within(&b, async {
        let e = poster.flush().await.unwrap_err();
        assert!(e.to_string().contains("writer task was dropped"), "{e}");
        assert!(poster.close().await.is_err());
    });
}

/// The writer task dropped before its first poll (a caller-driven runtime
/// whose `block_on` made the sender and returned, then was dropped): the
/// sender refuses posts and `flush`/`close` fail. The guard that reports a
/// dropped writer was made in the writer's body, which never ran: `post`
/// accepted bytes nobody would write and `flush`/`close` waited forever.
#[test]
fn a_writer_task_dropped_before_its_first_poll_fails_posts_flush_and_close() {
    common::within(Duration::from_secs(20), || {
        let a = tempo::Runtime::builder().worker_threads(0).build().unwrap();
        // The writer task is spawned but never run: nothing drives `a` after this.
        let poster = a.block_on(async { PostSend::new(futures::io::sink(), 1 << 10).unwrap() });
        drop(a); // drops the never-polled writer task
        assert_writer_gone(&poster, b"lost?");
    });
}

/// A stream that takes 5 ms per write (a slow peer).
struct SlowSink(Option<std::pin::Pin<Box<tempo::time::Sleep>>>);

impl futures::io::AsyncWrite for SlowSink {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<io::Result<usize>> {
        use std::future::Future;
        let s = self
            .0
            .get_or_insert_with(|| Box::pin(tempo::time::sleep(Duration::from_millis(5))));
        match s.as_mut().poll(cx) {
            std::task::Poll::Ready(()) => {
                self.0 = None;
                std::task::Poll::Ready(Ok(buf.len()))
            }
            std::task::Poll::Pending => std::task::Poll::Pending,
        }
    }
    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
    fn poll_close(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

/// `flush` while another thread keeps posting (every millisecond, to a
/// stream that takes 5 ms per write) returns once the bytes posted before
/// it are written. It waited for an empty queue, which each written batch
/// found refilled: it never returned while the other sender was active
/// (post.rs invariant 6).
#[test]
fn flush_returns_while_other_senders_keep_posting() {
    use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
    let rt = rt();
    within(&rt, async {
        let poster = PostSend::new(SlowSink(None), 1 << 20).unwrap();
        let other = poster.clone();
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let st = stop.clone();
        let producer = std::thread::spawn(move || {
            while !st.load(Relaxed) {
                other.post(&b"more"[..]).unwrap();
                std::thread::sleep(Duration::from_millis(1));
            }
        });
        tempo::time::sleep(Duration::from_millis(20)).await;
        poster.post(&b"mine"[..]).unwrap();
        let r = tempo::time::timeout(Duration::from_secs(5), poster.flush()).await;
        stop.store(true, Relaxed);
        producer.join().unwrap();
        r.expect("flush never returned while another sender kept posting")
            .unwrap();
        poster.close().await.unwrap();
    });
}

/// An empty post is refused like any other once the sender is closed or
/// its writer failed (`post`'s `# Errors`); it used to return `Ok(())`
/// before looking at the state, telling the caller the sender still took
/// data.
#[test]
fn an_empty_post_is_refused_after_close_and_after_a_failure() {
    let rt = rt();
    within(&rt, async {
        let poster = PostSend::new(futures::io::sink(), 16).unwrap();
        poster.post(Vec::new()).unwrap(); // open: accepted, queues nothing
        assert_eq!(poster.queued(), 0);
        poster.close().await.unwrap();
        match poster.post(Vec::new()) {
            Err(PostError::Closed { data, cause: None }) => assert!(data.is_empty()),
            r => panic!("expected Closed after close, got {r:?}"),
        }

        // A writer that fails at once.
        struct Broken;
        impl futures::io::AsyncWrite for Broken {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
                _: &[u8],
            ) -> std::task::Poll<io::Result<usize>> {
                std::task::Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()))
            }
            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
            ) -> std::task::Poll<io::Result<()>> {
                std::task::Poll::Ready(Ok(()))
            }
            fn poll_close(
                self: std::pin::Pin<&mut Self>,
                _: &mut std::task::Context<'_>,
            ) -> std::task::Poll<io::Result<()>> {
                std::task::Poll::Ready(Ok(()))
            }
        }
        let poster = PostSend::new(Broken, 16).unwrap();
        poster.post(&b"x"[..]).unwrap();
        assert!(poster.flush().await.is_err());
        match poster.post(Vec::new()) {
            Err(PostError::Closed { cause: Some(_), .. }) => {}
            r => panic!("expected Closed with the cause after a failure, got {r:?}"),
        }
    });
}
