#![cfg(not(any(feature = "loom", feature = "shuttle")))]
//! What an idle runtime keeps after a burst of tasks: measured with a
//! counting global allocator, so this file holds one test (other tests of
//! the same binary would allocate concurrently).

use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::{mpsc, Arc};
use std::time::Duration;

// The benches' counting allocator (live bytes, requested sizes), shared as
// a file: this package does not depend on the benches crate.
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
    for workers in [0, 1, 2] {
        let left = leftover_after_burst(workers);
        eprintln!("worker_threads({workers}): {left} bytes left after {TASKS} tasks");
        assert!(
            left < 1024 * 1024,
            "worker_threads({workers}): {left} bytes left after a burst of {TASKS} tasks"
        );
    }
}
