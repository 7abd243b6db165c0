//! loom models of the readiness / interest protocol of one I/O source
//! (`ScheduledIo`, spec `tla/Readiness.tla`), driven through
//! [`MockIo`](tempo::__model::MockIo): a byte counter for the socket, and a
//! model thread for the reactor (`deliver`: `Arrive`, `Report`, `Dispatch`,
//! `DispatchWake`) or for the closer (`close`: `Close`, `CloseDispatch`,
//! `CloseWake`).
//!
//! A lost edge or a lost wakeup leaves the reader parked for good: loom
//! reports a deadlock (every thread blocked) and prints the interleaving.

use super::{model, rt};
use std::sync::Arc;
use tempo::__model::MockIo;

/// One reader task pending on `read`, one edge delivered from another
/// thread: the read returns the byte.
#[test]
fn readiness_vs_interest() {
    model(|| {
        let rt = rt(1);
        let io = Arc::new(MockIo::new());
        let reader = io.clone();
        let h = rt.spawn(async move { reader.read().await });
        let th = loom::thread::spawn(move || io.deliver(1));
        assert_eq!(rt.block_on(h).unwrap().unwrap(), 1);
        th.join().unwrap();
    });
}

/// Two edges, the second possibly between the reader's `WouldBlock` and its
/// `clear` (the tick guard) or between its fast-path check and its
/// registration (the re-check): the reader, reading in a loop, gets both
/// bytes.
///
/// The caller is the only worker (`worker_threads(0)`): 2 threads, so bound
/// 2 stays cheap (about 2,400 executions). With `worker_threads(1)` the same
/// model takes about 190,000 executions (20–35 s) at bound 2, and at bound 1
/// it no longer finds a `clear` that ignores the tick; this one does.
#[test]
fn readiness_vs_interest_twice() {
    model(|| {
        let rt = rt(0);
        let io = Arc::new(MockIo::new());
        let reader = io.clone();
        let h = rt.spawn(async move {
            let mut got = 0;
            while got < 2 {
                got += reader.read().await.unwrap();
            }
            got
        });
        let th = loom::thread::spawn(move || {
            io.deliver(1);
            io.deliver(1);
        });
        assert_eq!(rt.block_on(h).unwrap(), 2);
        th.join().unwrap();
    });
}

/// A reader pending on `read` (nothing is ever delivered) and a `close` from
/// another thread: the read fails, whatever the order; it never hangs.
#[test]
fn close_vs_pending_read() {
    model(|| {
        let rt = rt(1);
        let io = Arc::new(MockIo::new());
        let reader = io.clone();
        let h = rt.spawn(async move { reader.read().await });
        let th = loom::thread::spawn(move || io.close());
        let r = rt.block_on(h).unwrap();
        assert!(r.is_err(), "read after close returned {r:?}");
        th.join().unwrap();
    });
}

/// An edge and a close from two threads, the caller as the only worker
/// (`worker_threads(0)`, so the model stays at 3 threads): the read returns
/// the byte or the error, never hangs.
#[test]
fn close_vs_deliver() {
    model(|| {
        let rt = rt(0);
        let io = Arc::new(MockIo::new());
        let reader = io.clone();
        let h = rt.spawn(async move { reader.read().await });
        let (io1, io2) = (io.clone(), io);
        let t1 = loom::thread::spawn(move || io1.deliver(1));
        let t2 = loom::thread::spawn(move || io2.close());
        if let Ok(n) = rt.block_on(h).unwrap() {
            assert_eq!(n, 1);
        }
        t1.join().unwrap();
        t2.join().unwrap();
    });
}
