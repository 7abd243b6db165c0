#![cfg(not(any(feature = "loom", feature = "shuttle")))]
//! Shutdowns started from odd places: by a waker the reactor's dispatch
//! fires on the sched-role holder (one runtime, or two dropped together),
//! and from a thread-local destructor at thread exit. The tests of this
//! binary take `common::serial()`: one of them counts the process's file
//! descriptors.

use std::cell::RefCell;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::task::{Context, Waker};
use std::time::{Duration, Instant};

use futures::io::{AsyncReadExt, AsyncWriteExt};
use tempo::Runtime;

mod common;
use common::{serial, within};

fn rt(workers: usize) -> Runtime {
    Runtime::builder().worker_threads(workers).build().unwrap()
}

fn fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// Drops whatever it owns when woken (runtimes: tuple fields in order).
struct DropsWhenWoken<T: Send> {
    owned: Mutex<Option<T>>,
    done: Mutex<std::sync::mpsc::Sender<()>>,
}
impl<T: Send> std::task::Wake for DropsWhenWoken<T> {
    fn wake(self: Arc<Self>) {
        drop(self.owned.lock().unwrap().take());
        let _ = self.done.lock().unwrap().send(());
    }
}

/// Builds a connected pair on `sock_rt`, hands `sock_rt` to `owned` (which
/// wraps it in what the waker will own), polls a read of the pair with a
/// waker owning that, writes to the peer, and waits until the waker ran:
/// the reactor's dispatch on `sock_rt`'s role holder fires it, and the
/// waker drops what it owns there.
fn drop_inside_dispatch<T: Send + 'static>(sock_rt: Runtime, owned: impl FnOnce(Runtime) -> T) {
    let (mut a, mut b) = sock_rt.block_on(async {
        let l = tempo::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let c = tempo::net::TcpStream::connect(l.local_addr().unwrap())
            .await
            .unwrap();
        (c, l.accept().await.unwrap().0)
    });
    let (tx, rx) = std::sync::mpsc::channel();
    let w = Arc::new(DropsWhenWoken {
        owned: Mutex::new(Some(owned(sock_rt))),
        done: Mutex::new(tx),
    });
    let waker = Waker::from(w.clone());
    let mut buf = [0u8; 1];
    let mut read = a.read(&mut buf);
    assert!(std::pin::Pin::new(&mut read)
        .poll(&mut Context::from_waker(&waker))
        .is_pending());
    futures::executor::block_on(b.write_all(b"x")).unwrap();
    rx.recv_timeout(Duration::from_secs(3))
        .expect("a runtime's drop inside the reactor's dispatch did not return (hang)");
    assert!(w.owned.lock().unwrap().is_none());
}

/// The last `Runtime` dropped inside the reactor's dispatch leaves the heap
/// to the role holder's release (`role.rs` invariant 5), and the release
/// drains it: the heap's references to a sleeping task are given back, so
/// the task, the runtime and its descriptors (epoll, eventfd, timerfd) are
/// freed. Without the drain at release they leaked.
#[test]
fn a_runtime_dropped_inside_the_dispatch_frees_its_heap_and_descriptors() {
    let _g = serial();
    within(Duration::from_secs(10), || {
        let before = fds();
        let r = rt(1);
        drop(r.spawn(tempo::time::sleep(Duration::from_secs(3600))));
        // The sleeper reaches the waiting heap.
        std::thread::sleep(Duration::from_millis(50));
        drop_inside_dispatch(r, |r| r);
        // The worker thread exits after its release; give it a moment.
        let t = Instant::now();
        while fds() > before && t.elapsed() < Duration::from_secs(3) {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(fds(), before, "the runtime's descriptors leaked");
    });
}

/// Two runtimes dropped together by a waker that the dispatch of the
/// second one fires on its role holder: the first one's shutdown takes and
/// releases its own role on that thread, which must leave the thread's
/// record of the role it holds as it was (`role.rs` invariant 5). It was
/// cleared, and the second one's shutdown spun for its own thread's role.
#[test]
fn two_runtimes_dropped_by_a_waker_inside_the_dispatch_do_not_hang() {
    let _g = serial();
    within(Duration::from_secs(10), || {
        let other = rt(1);
        // Tuple fields drop in order: `other` first, then the socket's.
        drop_inside_dispatch(rt(1), move |sock_rt| (other, sock_rt));
    });
}

thread_local! {
    static KEPT: RefCell<Option<Runtime>> = const { RefCell::new(None) };
}

/// A runtime kept in a thread-local (a runtime per thread) is dropped at
/// thread exit, possibly after the runtime's own thread-local context was
/// destroyed: its shutdown sweeps without a context. It entered the context
/// with `with`, which panics there, and a panic in a thread-local
/// destructor aborts the process.
#[test]
fn a_runtime_dropped_at_thread_exit_after_the_context_shuts_down() {
    let _g = serial();
    within(Duration::from_secs(10), || {
        let t = std::thread::spawn(|| {
            KEPT.with(|r| *r.borrow_mut() = Some(rt(1)));
            // `block_on` registers the context's destructor after KEPT's, so
            // the context is destroyed first at thread exit.
            KEPT.with(|r| r.borrow().as_ref().unwrap().block_on(async {}));
            drop(KEPT.with(|r| {
                r.borrow()
                    .as_ref()
                    .unwrap()
                    .spawn(std::future::pending::<()>())
            }));
        });
        t.join().unwrap();
    });
}

/// A waker whose `drop` panics (user code), stored in a `JoinHandle`, is
/// dropped by the handle's drop after the handle gave its task reference
/// back: the panic reaches the caller, and the task, the runtime and its
/// descriptors are still freed. The handle dropped the waker first, and
/// its panic skipped the release: the task leaked, and with it the runtime.
#[test]
fn a_join_waker_whose_drop_panics_does_not_leak_the_task() {
    use std::task::{RawWaker, RawWakerVTable};
    fn clone(p: *const ()) -> RawWaker {
        RawWaker::new(p, &VTABLE)
    }
    fn noop(_: *const ()) {}
    fn drop_panics(_: *const ()) {
        panic!("this waker's drop panics");
    }
    static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, noop, noop, drop_panics);
    let _g = serial();
    within(Duration::from_secs(10), || {
        let before = fds();
        let r = rt(1);
        let mut h = r.spawn(std::future::pending::<()>());
        // SAFETY: the vtable's functions ignore the data pointer.
        let waker = std::mem::ManuallyDrop::new(unsafe {
            Waker::from_raw(RawWaker::new(std::ptr::null(), &VTABLE))
        });
        assert!(std::pin::Pin::new(&mut h)
            .poll(&mut Context::from_waker(&waker))
            .is_pending());
        let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || drop(h)));
        assert!(dropped.is_err(), "the stored waker's drop panics");
        drop(r);
        let t = Instant::now();
        while fds() > before && t.elapsed() < Duration::from_secs(3) {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(fds(), before, "the task (and its runtime) leaked");
    });
}
