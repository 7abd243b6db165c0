#![cfg(not(any(feature = "loom", feature = "shuttle")))]
//! What an idle runtime keeps after a burst of tasks: measured with a
//! counting global allocator, so every test of this file takes
//! `common::serial()` (other tests of the same binary would allocate
//! concurrently).

mod common;

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{mpsc, Arc};
use std::time::Duration;

// The benches' counting allocator (live bytes, requested sizes), shared as
// a file: this package does not depend on the benches crate.
// Counting all the time (this binary never calls
// `count_only_in_scopes`), so its scope API goes unused here.
#[allow(dead_code)]
#[path = "../benches/src/alloc.rs"]
mod alloc;

#[global_allocator]
static A: alloc::Counting = alloc::Counting;

fn live() -> isize {
    alloc::live().expect("the counting allocator is installed")
}

const TASKS: usize = 300_000;

/// One task spawns `TASKS` tasks at once; each finishes at its first poll.
/// Returns the live heap bytes the runtime holds afterwards, idle, beyond
/// what it held before (after a warm-up burst of the same shape, so
/// thread-locals and lazily built parts exist in both readings).
fn leftover_after_burst(workers: usize) -> isize {
    let rt = tempo::Runtime::builder()
        .worker_threads(workers)
        .build()
        .unwrap();
    let burst = |n: usize| {
        let (tx, rx) = mpsc::channel::<()>();
        let left = Arc::new(AtomicUsize::new(n));
        rt.block_on(async move {
            tempo::spawn(async move {
                for _ in 0..n {
                    let left = left.clone();
                    let tx = tx.clone();
                    drop(tempo::spawn(async move {
                        if left.fetch_sub(1, Relaxed) == 1 {
                            tx.send(()).unwrap();
                        }
                    }));
                }
            })
            .await
            .unwrap();
        });
        if workers == 0 {
            // The caller is the only worker: run until the last one ran.
            rt.block_on(async {
                while rx.try_recv().is_err() {
                    tempo::task::yield_now().await;
                }
            });
        } else {
            rx.recv_timeout(Duration::from_secs(20)).unwrap();
        }
        // Let the workers finish their rounds and go idle.
        std::thread::sleep(Duration::from_millis(50));
    };
    burst(100);
    let before = live();
    burst(TASKS);
    let after = live();
    after - before
}

/// After 300,000 tasks passed through at once, an idle runtime gives back
/// what they grew: the registry's slot vectors (`sched/registry.rs`
/// invariant 4), the worker's rerun list, the ready queue. Before the
/// registry shrank, 12 bytes per task stayed behind (3.6 MB here). What is
/// left does not grow with the burst: the queues keep up to a few thousand
/// slots each (`sched/ready.rs` `trim`); measured 6 KB (`worker_threads(0)`),
/// 13 KB (1) and 18–460 KB (2, depending on how far each deque grew) with
/// 100,000 and with 300,000 tasks.
#[test]
fn idle_runtime_gives_back_what_a_burst_grew() {
    let _g = common::serial();
    for workers in [0, 1, 2] {
        let left = leftover_after_burst(workers);
        eprintln!("worker_threads({workers}): {left} bytes left after {TASKS} tasks");
        assert!(
            left < 1024 * 1024,
            "worker_threads({workers}): {left} bytes left after a burst of {TASKS} tasks"
        );
    }
}

const SLEEPERS: usize = 100_000;

/// `SLEEPERS` tasks all wait for one deadline at once (all in the waiting
/// heap together), then finish. Returns the live heap bytes an idle
/// runtime holds afterwards beyond what it held after a small warm-up.
fn leftover_after_sleepers(workers: usize) -> isize {
    let rt = tempo::Runtime::builder()
        .worker_threads(workers)
        .build()
        .unwrap();
    let burst = |n: usize| {
        rt.block_on(async move {
            let at = std::time::Instant::now() + Duration::from_millis(400);
            let mut hs = Vec::with_capacity(n);
            for _ in 0..n {
                hs.push(tempo::spawn(tempo::time::sleep_until(at)));
            }
            for h in hs {
                h.await.unwrap();
            }
        });
        std::thread::sleep(Duration::from_millis(50));
    };
    burst(100);
    let before = live();
    burst(SLEEPERS);
    live() - before
}

/// After 100,000 tasks waited for a deadline at once, the waiting heap
/// gives back what they grew (`sched/heap.rs` invariant 5). Before, it kept
/// its peak for the life of the runtime: 5.2 MB here (two vectors of
/// 131,072 entries and slots, 40 bytes per sleeper). Measured after the
/// fix: 154 KB (what a heap keeps below 4,096 slots, for steady loads).
#[test]
fn the_waiting_heap_gives_back_what_a_burst_of_sleepers_grew() {
    let _g = common::serial();
    for workers in [0, 1, 2] {
        let left = leftover_after_sleepers(workers);
        eprintln!("worker_threads({workers}): {left} bytes left after {SLEEPERS} sleepers");
        assert!(
            left < 1024 * 1024,
            "worker_threads({workers}): {left} bytes left after {SLEEPERS} sleeping tasks"
        );
    }
}

/// A task that once held 100,000 timers at once (a `FuturesUnordered` of
/// sleeps) and lives on gives back what they grew in its task-local timer
/// slab (`task/local.rs` invariant 6), whether they expired or were
/// cancelled. Before, the task kept its peak, 5.2 MB here, for its life
/// (and every later run of it scanned the 100,000 slots). Measured after
/// the fix: 0 bytes.
#[test]
fn a_task_gives_back_what_a_burst_of_its_timers_grew() {
    use futures::stream::{FuturesUnordered, StreamExt};
    use tempo::time::sleep;
    let _g = common::serial();
    for workers in [0, 1] {
        let rt = tempo::Runtime::builder()
            .worker_threads(workers)
            .build()
            .unwrap();
        let (expired, cancelled) = rt
            .block_on(rt.spawn(async {
                // Warm-up: the slab and the thread-locals exist in both readings.
                sleep(Duration::from_micros(1)).await;
                let before = live();
                let mut fu: FuturesUnordered<_> = (0..100_000u64)
                    .map(|i| sleep(Duration::from_micros(100 + i % 1000)))
                    .collect();
                while fu.next().await.is_some() {}
                drop(fu);
                let expired = live() - before;
                let mut fu: FuturesUnordered<_> = (0..100_000)
                    .map(|_| sleep(Duration::from_secs(3600)))
                    .collect();
                // Registers them all, then cancels them.
                assert!(futures::poll!(fu.next()).is_pending());
                drop(fu);
                // A later sleep takes the low slots again.
                sleep(Duration::from_micros(1)).await;
                (expired, live() - before)
            }))
            .unwrap();
        eprintln!("worker_threads({workers}): {expired} / {cancelled} bytes left in the task");
        assert!(
            expired < 64 * 1024 && cancelled < 64 * 1024,
            "worker_threads({workers}): a live task kept {expired} bytes after 100,000 \
             expired timers, {cancelled} after 100,000 cancelled ones"
        );
    }
}

/// A living task whose `wait_timeout`s expire one after another inside
/// `FuturesUnordered` (each child has its own waker) and that is never
/// woken keeps no more than one wait's waker (`task/local.rs` invariant
/// 5). Before, every expired wait left its waker, and with it the child's
/// allocation, in the task's list until a wakeup or signal: 4 MB after
/// 19,000 waits here, without bound. Measured after the fix: 0 bytes.
#[test]
fn expired_waits_do_not_pile_up_in_a_living_task() {
    use futures::stream::{FuturesUnordered, StreamExt};
    let _g = common::serial();
    let rt = tempo::Runtime::builder().worker_threads(1).build().unwrap();
    let grew = rt
        .block_on(rt.spawn(async {
            let mut before = 0;
            for i in 0..20_000u32 {
                if i == 1_000 {
                    before = live();
                }
                let mut fu = FuturesUnordered::new();
                fu.push(tempo::task::wait_timeout(Duration::from_micros(10)));
                assert_eq!(fu.next().await, Some(tempo::task::WaitOutcome::Expired));
            }
            live() - before
        }))
        .unwrap();
    eprintln!("19,000 expired waits grew the task by {grew} bytes");
    assert!(
        grew < 64 * 1024,
        "19,000 expired waits grew a living task by {grew} bytes"
    );
}

/// 10,000 sockets registered with the reactor at once, then closed: the
/// reactor's slab gives back what they grew (`io/reactor.rs` invariant 7).
/// Before, it kept 24 bytes per socket of the burst (409 KB left here: a
/// slot vector and a free list of 16,384 each) for the runtime's life.
/// Measured after the fix: 8 KB.
#[test]
fn the_reactor_gives_back_what_a_burst_of_connections_grew() {
    let _g = common::serial();
    // 10,000 sockets at once: raise the soft descriptor limit (a default
    // of 1,024 would fail the binds), or skip where the hard limit is too
    // low for a burst beyond the slab's 4,096-slot floor.
    let have = common::raise_nofile(10_200);
    if have < 10_200 {
        eprintln!("skipped: RLIMIT_NOFILE is {have}, below the 10,200 this test needs");
        return;
    }
    let rt = tempo::Runtime::builder().worker_threads(1).build().unwrap();
    let burst = |n: usize| {
        rt.block_on(async move {
            let mut socks = Vec::with_capacity(n);
            for _ in 0..n {
                socks.push(tempo::net::UdpSocket::bind("127.0.0.1:0").await.unwrap());
            }
            drop(socks);
        });
        std::thread::sleep(Duration::from_millis(50));
    };
    burst(10);
    let before = live();
    burst(10_000);
    let left = live() - before;
    eprintln!("{left} bytes left after 10,000 sockets");
    assert!(
        left < 64 * 1024,
        "{left} bytes left after 10,000 sockets came and went"
    );
}
