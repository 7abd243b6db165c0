//! `sync`: tempo's own synchronisation primitives (`tempo::sync`) against
//! tokio's (`tokio::sync`) and the runtime-agnostic `futures` ones
//! (`futures::channel`, `futures::lock`), each on tempo's and on tokio's
//! multi-thread runtime, in one run.
//!
//! The primitives are runtime-agnostic (plain wakers), so every set runs on
//! both runtimes: the table separates what the primitive costs from what the
//! scheduler costs. Cases (each a fresh runtime, one unmeasured warm-up run,
//! then `--reps` measured runs, the sets and runtimes interleaved and their
//! order rotated every rep; the median time is reported, with each cell's
//! ratio to tempo's set on the same runtime):
//!
//! * `mpsc-4x25k`: 4 producer tasks send 25,000 `u64` each through one
//!   bounded channel of capacity 64 to one consumer task (senders wait for
//!   room: the semaphore path of `tempo::sync::mpsc`).
//! * `oneshot-pingpong`: 10,000 round trips between two tasks: A sends B a
//!   fresh oneshot sender over an unbounded mpsc channel, B answers on it.
//! * `mutex-8x10k`: 8 tasks each lock a shared counter 10,000 times, holding
//!   it across a `yield_now` every 100th time (so that others queue).
//!
//! ```text
//! cargo run --release -p tempo-benches --bin sync -- [--reps N] [--workers N] [--out PATH | --no-write]
//! ```

use std::fmt::Write as _;
use std::future::Future;
use std::sync::Arc;
use std::time::Instant;
use tempo_benches::stats::median;

const PRODUCERS: u64 = 4;
const PER_PRODUCER: u64 = 25_000;
const ROUNDS: usize = 10_000;
const LOCKERS: usize = 8;
const LOCKS: usize = 10_000;

/// The runtimes (each primitive set runs on both).
#[derive(Clone, Copy)]
enum Runtime {
    Tempo,
    Tokio,
}

impl Runtime {
    fn name(self) -> &'static str {
        match self {
            Runtime::Tempo => "tempo-mt",
            Runtime::Tokio => "tokio-mt",
        }
    }
}

/// A runtime built for one measurement.
enum Built {
    Tempo(tempo::Runtime),
    Tokio(tokio::runtime::Runtime),
}

impl Built {
    fn new(rt: Runtime, workers: usize) -> Built {
        match rt {
            Runtime::Tempo => Built::Tempo(
                tempo::Runtime::builder()
                    .worker_threads(workers)
                    .build()
                    .expect("tempo runtime"),
            ),
            Runtime::Tokio => Built::Tokio(
                tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(workers)
                    .enable_all()
                    .build()
                    .expect("tokio runtime"),
            ),
        }
    }

    /// Runs `make()` as a spawned task and returns how long it took (ms).
    fn time<F, Fut>(&self, make: F) -> f64
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let fut = make();
        let t0 = Instant::now();
        match self {
            Built::Tempo(rt) => rt.block_on(rt.spawn(fut)).expect("task"),
            Built::Tokio(rt) => rt.block_on(rt.spawn(fut)).expect("task"),
        }
        t0.elapsed().as_secs_f64() * 1e3
    }
}

/// The runtime's own `yield_now`.
async fn yield_here() {
    if tokio::runtime::Handle::try_current().is_ok() {
        tokio::task::yield_now().await
    } else {
        tempo::task::yield_now().await
    }
}

/// One primitive set: the three cases written against it.
#[derive(Clone, Copy)]
enum Set {
    Tempo,
    Tokio,
    Futures,
}

impl Set {
    fn name(self) -> &'static str {
        match self {
            Set::Tempo => "tempo::sync",
            Set::Tokio => "tokio::sync",
            Set::Futures => "futures",
        }
    }
}

/// `mpsc-4x25k` on one set (the three crates' channel APIs differ in names
/// only, so each arm is the same code).
async fn mpsc_case(set: Set) {
    let expected: u64 = (0..PRODUCERS * PER_PRODUCER).sum();
    let got = match set {
        Set::Tempo => {
            let (tx, mut rx) = tempo::sync::mpsc::channel::<u64>(64);
            for p in 0..PRODUCERS {
                let tx = tx.clone();
                spawn_detached(async move {
                    for i in 0..PER_PRODUCER {
                        tx.send(p * PER_PRODUCER + i).await.expect("open");
                    }
                });
            }
            drop(tx);
            let mut sum = 0;
            while let Some(v) = rx.recv().await {
                sum += v;
            }
            sum
        }
        Set::Tokio => {
            let (tx, mut rx) = tokio::sync::mpsc::channel::<u64>(64);
            for p in 0..PRODUCERS {
                let tx = tx.clone();
                spawn_detached(async move {
                    for i in 0..PER_PRODUCER {
                        tx.send(p * PER_PRODUCER + i).await.expect("open");
                    }
                });
            }
            drop(tx);
            let mut sum = 0;
            while let Some(v) = rx.recv().await {
                sum += v;
            }
            sum
        }
        Set::Futures => {
            use futures::{SinkExt, StreamExt};
            // `futures` adds one slot per sender to the capacity.
            let (tx, mut rx) = futures::channel::mpsc::channel::<u64>(64);
            for p in 0..PRODUCERS {
                let mut tx = tx.clone();
                spawn_detached(async move {
                    for i in 0..PER_PRODUCER {
                        tx.send(p * PER_PRODUCER + i).await.expect("open");
                    }
                });
            }
            drop(tx);
            let mut sum = 0;
            while let Some(v) = rx.next().await {
                sum += v;
            }
            sum
        }
    };
    assert_eq!(got, expected, "{}: messages lost or duplicated", set.name());
}

/// Spawns on the caller's runtime without waiting for the task.
fn spawn_detached<F>(f: F)
where
    F: Future<Output = ()> + Send + 'static,
{
    if tokio::runtime::Handle::try_current().is_ok() {
        drop(tokio::spawn(f));
    } else {
        drop(tempo::spawn(f));
    }
}

async fn pingpong_case(set: Set) {
    match set {
        Set::Tempo => {
            use tempo::sync::{mpsc, oneshot};
            let (to_b, mut from_a) = mpsc::unbounded_channel::<oneshot::Sender<()>>();
            spawn_detached(async move {
                while let Some(tx) = from_a.recv().await {
                    let _ = tx.send(());
                }
            });
            for _ in 0..ROUNDS {
                let (tx, rx) = oneshot::channel();
                to_b.send(tx).expect("B alive");
                rx.await.expect("B answered");
            }
        }
        Set::Tokio => {
            use tokio::sync::{mpsc, oneshot};
            let (to_b, mut from_a) = mpsc::unbounded_channel::<oneshot::Sender<()>>();
            spawn_detached(async move {
                while let Some(tx) = from_a.recv().await {
                    let _ = tx.send(());
                }
            });
            for _ in 0..ROUNDS {
                let (tx, rx) = oneshot::channel();
                to_b.send(tx).expect("B alive");
                rx.await.expect("B answered");
            }
        }
        Set::Futures => {
            use futures::channel::{mpsc, oneshot};
            use futures::StreamExt;
            let (to_b, mut from_a) = mpsc::unbounded::<oneshot::Sender<()>>();
            spawn_detached(async move {
                while let Some(tx) = from_a.next().await {
                    let _ = tx.send(());
                }
            });
            for _ in 0..ROUNDS {
                let (tx, rx) = oneshot::channel();
                to_b.unbounded_send(tx).expect("B alive");
                rx.await.expect("B answered");
            }
        }
    }
}

async fn mutex_case(set: Set) {
    let mut tasks = Vec::with_capacity(LOCKERS);
    macro_rules! lockers {
        ($m:expr) => {{
            let m = Arc::new($m);
            for _ in 0..LOCKERS {
                let m = m.clone();
                tasks.push(spawn_here_boxed(async move {
                    for i in 0..LOCKS {
                        let mut g = m.lock().await;
                        *g += 1;
                        if i % 100 == 0 {
                            yield_here().await;
                        }
                        drop(g);
                    }
                }));
            }
            for t in tasks {
                t.await;
            }
            let total = *m.lock().await;
            assert_eq!(total, LOCKERS * LOCKS, "{}: lost increments", set.name());
        }};
    }
    match set {
        Set::Tempo => lockers!(tempo::sync::Mutex::new(0usize)),
        Set::Tokio => lockers!(tokio::sync::Mutex::new(0usize)),
        Set::Futures => lockers!(futures::lock::Mutex::new(0usize)),
    }
}

/// Spawns on the caller's runtime at once; the returned future awaits the task.
fn spawn_here_boxed<F>(f: F) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send>>
where
    F: Future<Output = ()> + Send + 'static,
{
    if tokio::runtime::Handle::try_current().is_ok() {
        let h = tokio::spawn(f);
        Box::pin(async move { h.await.expect("task") })
    } else {
        let h = tempo::spawn(f);
        Box::pin(async move { h.await.expect("task") })
    }
}

const CASES: [&str; 3] = ["mpsc-4x25k", "oneshot-pingpong", "mutex-8x10k"];
const SETS: [Set; 3] = [Set::Tempo, Set::Tokio, Set::Futures];
const RUNTIMES: [Runtime; 2] = [Runtime::Tempo, Runtime::Tokio];

fn run_case(case: &str, set: Set, rt: &Built) -> f64 {
    match case {
        "mpsc-4x25k" => rt.time(|| mpsc_case(set)),
        "oneshot-pingpong" => rt.time(|| pingpong_case(set)),
        "mutex-8x10k" => rt.time(|| mutex_case(set)),
        _ => unreachable!("unknown case {case}"),
    }
}

fn main() {
    let mut reps = 5usize;
    let mut workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut out = Some(String::from("benches/results/sync.md"));
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--reps" => reps = args.next().and_then(|v| v.parse().ok()).expect("--reps N"),
            "--workers" => {
                workers = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .expect("--workers N")
            }
            "--out" => out = Some(args.next().expect("--out PATH")),
            "--no-write" => out = None,
            _ => {
                eprintln!(
                    "usage: sync [--reps N] [--workers N] [--out PATH | --no-write]\n\
                     cases: {CASES:?}; sets: tempo::sync, tokio::sync, futures; \
                     runtimes: tempo-mt, tokio-mt"
                );
                std::process::exit(2);
            }
        }
    }
    // times[case][set][runtime] = one value per rep.
    let mut times = vec![vec![vec![Vec::new(); RUNTIMES.len()]; SETS.len()]; CASES.len()];
    let combos: Vec<(usize, usize)> = (0..SETS.len())
        .flat_map(|s| (0..RUNTIMES.len()).map(move |r| (s, r)))
        .collect();
    let t_all = Instant::now();
    for rep in 0..reps {
        for (c, case) in CASES.iter().enumerate() {
            // Rotate the order of the six combinations each rep.
            for k in 0..combos.len() {
                let (s, r) = combos[(k + rep) % combos.len()];
                let rt = Built::new(RUNTIMES[r], workers);
                run_case(case, SETS[s], &rt); // warm-up
                let ms = run_case(case, SETS[s], &rt);
                eprintln!(
                    "rep {rep} {case} {} on {}: {ms:.2} ms",
                    SETS[s].name(),
                    RUNTIMES[r].name()
                );
                times[c][s][r].push(ms);
            }
        }
    }
    let mut md = String::new();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let _ = writeln!(
        md,
        "# tempo::sync against tokio::sync and futures\n\n\
         `cargo run --release -p tempo-benches --bin sync -- --reps {reps} --workers {workers}` \
         ({workers} workers; median of {reps} reps, ms, lower is better; in brackets: the \
         ratio to `tempo::sync` on the same runtime, > 1 = slower than tempo::sync; load \
         average at the end: {}; total {:.0} s).\n",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
        t_all.elapsed().as_secs_f64()
    );
    let _ = writeln!(
        md,
        "| case | runtime | tempo::sync | tokio::sync | futures |\n|---|---|--:|--:|--:|"
    );
    for (c, case) in CASES.iter().enumerate() {
        for (r, rt) in RUNTIMES.iter().enumerate() {
            let base = median(&times[c][0][r]);
            let cells: Vec<String> = (0..SETS.len())
                .map(|s| {
                    let m = median(&times[c][s][r]);
                    if s == 0 {
                        format!("{m:.2}")
                    } else {
                        format!("{m:.2} ({:.2}×)", m / base)
                    }
                })
                .collect();
            let _ = writeln!(md, "| {case} | {} | {} |", rt.name(), cells.join(" | "));
        }
    }
    print!("{md}");
    if let Some(path) = out {
        std::fs::write(&path, &md).unwrap_or_else(|e| panic!("writing {path}: {e}"));
        eprintln!("wrote {path}");
    }
}
