//! The benchmark suite (workloads 1–6 and 8 of issue 5; TCP echo, workload
//! 7, is `bin/echo.rs`): every case on tempo and every peer, in one process
//! run, repeated, runtimes interleaved with their order rotated each
//! repetition.
//!
//! ```sh
//! cargo run --release -p tempo-benches --bin suite -- [--quick] [--reps N] [--only PAT] [--rts a,b]
//! ```
//!
//! Writes `results/suite.tsv` (see `tempo_benches::record`); `bin/report`
//! turns it into `RESULTS.md`. `bash benches/run.sh` does both (and echo).
//!
//! Before the first case and after every case it takes the host probe
//! (`tempo_benches::host`), records each case's two readings in the TSV and,
//! at the end, names on stderr the cases run in a slow phase of the host.

use std::io::Write as _;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};
use tempo_benches::host;
use tempo_benches::record::{machine_meta, Row};
use tempo_benches::rt::ALL;
use tempo_benches::workloads;

#[global_allocator]
static ALLOC: tempo_benches::alloc::Counting = tempo_benches::alloc::Counting;

/// A case running longer than this is reported as hung and the process exits.
const HANG: Duration = Duration::from_secs(120);

struct Opts {
    quick: bool,
    reps: usize,
    workers: usize,
    only: Vec<String>,
    rts: Vec<String>,
    out: Option<String>,
}

fn usage() -> ! {
    eprintln!(
        "usage: suite [--quick] [--reps N] [--workers N] [--only PAT[,PAT..]] [--rts NAME[,NAME..]] [--out FILE | --no-write]\n\
         runtimes: {}\n\
         PAT matches `workload/case` by substring (e.g. `1-spawn`, `timeout`)",
        ALL.join(",")
    );
    std::process::exit(2)
}

fn parse() -> Opts {
    let mut o = Opts {
        quick: false,
        reps: 5,
        workers: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2),
        only: Vec::new(),
        rts: ALL.iter().map(|s| s.to_string()).collect(),
        out: Some(concat!(env!("CARGO_MANIFEST_DIR"), "/results/suite.tsv").to_string()),
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = || args.next().unwrap_or_else(|| usage());
        match a.as_str() {
            "--quick" => o.quick = true,
            "--reps" => o.reps = val().parse().unwrap_or_else(|_| usage()),
            "--workers" => o.workers = val().parse().unwrap_or_else(|_| usage()),
            "--only" => o.only = val().split(',').map(String::from).collect(),
            "--rts" => {
                o.rts = val().split(',').map(String::from).collect();
                for r in &o.rts {
                    if !ALL.contains(&r.as_str()) {
                        eprintln!("unknown runtime {r:?}");
                        usage();
                    }
                }
            }
            "--out" => o.out = Some(val()),
            "--no-write" => o.out = None,
            "-h" | "--help" => usage(),
            _ => {
                eprintln!("unknown argument {a:?}");
                usage()
            }
        }
    }
    if o.reps == 0 || o.workers == 0 {
        eprintln!("--reps and --workers must be at least 1");
        usage();
    }
    o
}

fn main() {
    // Count only in the memory cases (`alloc` module docs).
    tempo_benches::alloc::count_only_in_scopes();
    let o = parse();
    let argv: Vec<String> = std::env::args().collect();
    let started = Instant::now();
    // Watchdog: a hung case is a bug; say which and exit rather than hang.
    static CASE_START: AtomicU64 = AtomicU64::new(u64::MAX);
    static CASE_NAME: std::sync::Mutex<String> = std::sync::Mutex::new(String::new());
    std::thread::spawn(move || loop {
        std::thread::sleep(Duration::from_secs(1));
        let s = CASE_START.load(Relaxed);
        if s != u64::MAX && started.elapsed().as_secs() > s + HANG.as_secs() {
            eprintln!(
                "suite: {} ran longer than {:?}: hung; aborting",
                CASE_NAME.lock().unwrap(),
                HANG
            );
            std::process::exit(3);
        }
    });

    let cases: Vec<_> = workloads::all()
        .into_iter()
        .filter(|c| {
            let id = format!("{}/{}", c.workload, c.case);
            o.only.is_empty() || o.only.iter().any(|p| id.contains(p.as_str()))
        })
        .collect();
    let mut rows: Vec<Row> = Vec::new();
    // (case id, host probe before, after): see `tempo_benches::host`.
    let mut probes: Vec<(String, f64, f64)> = Vec::new();
    let mut before = host::probe();
    for c in &cases {
        let mut per_rt: Vec<(String, Vec<Vec<f64>>)> =
            o.rts.iter().map(|r| (r.clone(), Vec::new())).collect();
        for rep in 0..o.reps {
            let k = per_rt.len();
            for i in 0..k {
                let idx = (i + rep) % k;
                let name = per_rt[idx].0.clone();
                *CASE_NAME.lock().unwrap() = format!("{}/{} on {name}", c.workload, c.case);
                CASE_START.store(started.elapsed().as_secs(), Relaxed);
                let t = Instant::now();
                let v = (c.run)(&name, o.workers, o.quick);
                CASE_START.store(u64::MAX, Relaxed);
                if let Some(v) = v {
                    assert_eq!(
                        v.len(),
                        c.metrics.len(),
                        "{}/{}: one value per metric",
                        c.workload,
                        c.case
                    );
                    eprintln!(
                        "{}/{} rep {} {:<10} {} = {:.3} {}  ({:.2}s)",
                        c.workload,
                        c.case,
                        rep + 1,
                        name,
                        c.metrics[0].name,
                        v[0],
                        c.metrics[0].unit,
                        t.elapsed().as_secs_f64()
                    );
                    per_rt[idx].1.push(v);
                }
            }
        }
        let after = host::probe();
        probes.push((format!("{}/{}", c.workload, c.case), before, after));
        before = after;
        for (name, reps) in per_rt {
            if reps.is_empty() {
                continue;
            }
            for (m, metric) in c.metrics.iter().enumerate() {
                rows.push(Row {
                    workload: c.workload.into(),
                    case: c.case.into(),
                    metric: metric.name.into(),
                    unit: metric.unit.into(),
                    better: metric.better,
                    rt: name.clone(),
                    samples: reps.iter().map(|v| v[m]).collect(),
                });
            }
        }
    }
    let mut text = machine_meta(&format!(
        "cargo run --release -p tempo-benches --bin suite -- {}",
        argv[1..].join(" ")
    ))
    .join("\n");
    text.push_str(&format!(
        "\n# workers: {}\n# reps: {}\n# quick: {}\n",
        o.workers, o.reps, o.quick
    ));
    for (id, a, b) in &probes {
        text.push_str(&host::probe_line(id, *a, *b));
        text.push('\n');
    }
    for r in &rows {
        text.push_str(&r.to_line());
        text.push('\n');
    }
    print!("{text}");
    if let Some((best, slow)) = host::slow_cases(&probes) {
        if slow.is_empty() {
            eprintln!("suite: host probe steady (best {best:.1} µs per round trip)");
        } else {
            eprintln!(
                "suite: WARNING: the host probe read {}x its best ({best:.1} µs) or more around \
                 {} of {} cases, a slow phase of the host: {} (rerun them on a calm host, \
                 e.g. `--only {}`)",
                host::SLOW,
                slow.len(),
                probes.len(),
                slow.join(", "),
                slow.join(",")
            );
        }
    }
    if let Some(path) = &o.out {
        if let Some(dir) = std::path::Path::new(path).parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let mut f =
            std::fs::File::create(path).unwrap_or_else(|e| panic!("cannot write {path}: {e}"));
        f.write_all(text.as_bytes()).expect("write results");
        eprintln!(
            "suite: wrote {path} in {:.0}s",
            started.elapsed().as_secs_f64()
        );
    }
}
