//! `timeline`: where the lateness of `5-timers/sleep-100k` comes from.
//!
//! ```sh
//! cargo run --release -p tempo-benches --bin timeline -- [RUNTIME[,RUNTIME..]] [REPS]
//! ```
//!
//! Runs the suite's `sleep-100k` case (100,000 tasks, each sleeping a
//! duration of the suite's seeded 1–100 ms sequence, spawned from a task,
//! after a warm-up round of 10,000 on the same runtime) on each runtime
//! given (`tempo-ct`, `tempo-mt`, `tokio-ct`, `tokio-mt`, `smol-local`;
//! default `tempo-ct,tokio-ct`), `REPS` times each (default 3), and records
//! for every task its first poll, its deadline and its wake. It prints, in
//! ms from the start of the measured round:
//!
//! * `first-poll`: when the first task was first polled (the end of the
//!   spawning, on one thread);
//! * `polled`: when the last task was first polled (the end of the
//!   first-poll backlog) and `expired-meanwhile`, how many deadlines had
//!   passed by then;
//! * `caught-up`: when the last of those woke, and the mean time per such
//!   task after the backlog;
//! * the lateness p50 and p99 (as the suite computes them) and, for the p99
//!   task, when it woke: a p99 task that wakes at the end of the backlog
//!   waited behind it, one that wakes near 100 ms waited for the expiry
//!   processing to catch up with the deadlines.
//!
//! `benches/RESULTS.md` (twelfth session) has what it showed. It prints to
//! stdout only and writes no results file.

use std::time::{Duration, Instant};
use tempo_benches::rt::smol_rt::SmolLocal;
use tempo_benches::rt::tempo_rt::{TempoCt, TempoMt};
use tempo_benches::rt::tokio_rt::{TokioCt, TokioMt};
use tempo_benches::rt::Rt;
use tempo_benches::stats::rank;
use tempo_benches::workloads::timers::durations;

// The suite's allocator, so that allocation costs are the suite's.
#[global_allocator]
static ALLOC: tempo_benches::alloc::Counting = tempo_benches::alloc::Counting;

/// One task's first poll, deadline and wake.
type Marks = (Instant, Instant, Instant);

fn round<R: Rt>(rt: &R, n: usize) -> Vec<Marks> {
    let ds = durations(n);
    rt.run_task(async move {
        let hs: Vec<_> = ds
            .into_iter()
            .map(|d| {
                R::spawn(async move {
                    let polled = Instant::now();
                    let deadline = polled + d;
                    R::sleep(d).await;
                    (polled, deadline, Instant::now())
                })
            })
            .collect();
        let mut v = Vec::with_capacity(hs.len());
        for h in hs {
            v.push(h.await);
        }
        v
    })
}

fn one<R: Rt>() -> String {
    let rt = R::build(
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2),
    );
    round(&rt, 10_000);
    let t0 = Instant::now();
    let v = round(&rt, 100_000);
    let ms = |t: Instant| (t - t0).as_secs_f64() * 1e3;
    let first = v.iter().map(|m| m.0).min().expect("tasks ran");
    let polled = v.iter().map(|m| m.0).max().expect("tasks ran");
    let meanwhile: Vec<&Marks> = v.iter().filter(|m| m.1 <= polled).collect();
    let caught_up = meanwhile.iter().map(|m| m.2).max().unwrap_or(polled);
    let per = if meanwhile.is_empty() {
        0.0
    } else {
        (caught_up - polled).as_secs_f64() * 1e6 / meanwhile.len() as f64
    };
    let mut late: Vec<(Duration, usize)> = v
        .iter()
        .enumerate()
        .map(|(i, m)| (m.2.saturating_duration_since(m.1), i))
        .collect();
    late.sort();
    // The suite's nearest rank (`stats::pct`), kept with the task's index.
    let at = |q: f64| late[rank(late.len(), q)];
    let (p50, p99) = (at(0.50), at(0.99));
    format!(
        "first-poll {:.2}  polled {:.2}  expired-meanwhile {}  caught-up {:.2} ({per:.2} µs each)  \
         late-p50 {:.3}  late-p99 {:.3} (woke at {:.2})",
        ms(first),
        ms(polled),
        meanwhile.len(),
        ms(caught_up),
        p50.0.as_secs_f64() * 1e3,
        p99.0.as_secs_f64() * 1e3,
        ms(v[p99.1].2),
    )
}

fn main() {
    // Count nothing: this binary reads no byte counts (`alloc` module docs).
    tempo_benches::alloc::count_only_in_scopes();
    let mut args = std::env::args().skip(1);
    let rts = args.next().unwrap_or_else(|| "tempo-ct,tokio-ct".into());
    let reps: usize = match args.next().map(|s| s.parse()) {
        None => 3,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => {
            eprintln!("usage: timeline [RUNTIME[,RUNTIME..]] [REPS >= 1]");
            std::process::exit(2)
        }
    };
    for name in rts.split(',') {
        for _ in 0..reps {
            let line = match name {
                "tempo-ct" => one::<TempoCt>(),
                "tempo-mt" => one::<TempoMt>(),
                "tokio-ct" => one::<TokioCt>(),
                "tokio-mt" => one::<TokioMt>(),
                "smol-local" => one::<SmolLocal>(),
                other => {
                    eprintln!(
                        "timeline: unknown runtime {other:?} \
                         (tempo-ct, tempo-mt, tokio-ct, tokio-mt, smol-local)"
                    );
                    std::process::exit(2)
                }
            };
            println!("{name}\t{line}");
        }
    }
}
