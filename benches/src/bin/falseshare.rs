//! What unit of memory two cores contend on, on this machine: two threads
//! each increment their own atomic counter (`lock xadd`), the two counters
//! `d` bytes apart in one 256-byte-aligned buffer, for `d` from 8 to 256.
//! While `d` is below the unit, every increment waits for the line to come
//! back from the other core; from the unit on, each core keeps its own.
//!
//! ```sh
//! cargo run --release -p tempo-benches --bin falseshare
//! ```
//!
//! Why it is here: task cells are smaller than two lines, so whether two
//! tasks run side by side contend depends on where in its cell a task's run
//! touches memory (`src/task/header.rs` invariant 7), and that reasoning
//! holds only if the unit is the 64-byte line. On Intel CPUs the adjacent-
//! line prefetcher is often said to make it a 128-byte pair (tokio aligns
//! its task cells to 128 bytes on x86_64 for that reason); this probe
//! measures instead of assuming. Output: nanoseconds per increment, best of
//! five runs of 5,000,000 increments per thread, per distance.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Instant;

#[repr(align(256))]
struct Buf([AtomicU64; 64]);

const OPS: u32 = 5_000_000;

fn main() {
    let buf: &'static Buf = Box::leak(Box::new(Buf(std::array::from_fn(|_| AtomicU64::new(0)))));
    println!("distance\tns/op (best of 5, two threads)");
    for d in [8usize, 32, 56, 64, 96, 120, 128, 192, 256] {
        let mut best = f64::MAX;
        for _ in 0..5 {
            let t = Instant::now();
            std::thread::scope(|s| {
                for k in 0..2 {
                    s.spawn(move || {
                        let a = &buf.0[k * d / 8];
                        for _ in 0..OPS {
                            a.fetch_add(1, Relaxed);
                        }
                    });
                }
            });
            best = best.min(t.elapsed().as_secs_f64());
        }
        println!("{d} B\t{:.2}", best * 1e9 / f64::from(OPS));
    }
}
