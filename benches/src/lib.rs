//! tempo's benchmark suite: every workload written once, generic over
//! [`rt::Rt`], and run on tempo and each peer in the same process run.
//!
//! * [`rt`]: the runtimes under test;
//! * [`workloads`]: the workloads of issue 5 (spawn, yield, ping-pong,
//!   fairness, timers, serverbox's loads, memory); TCP echo is `bin/echo.rs`;
//! * [`record`]: the result format (`results/*.tsv`) every binary writes and
//!   `bin/report.rs` turns into `RESULTS.md` and `results/ratios.svg`;
//! * [`alloc`]: the counting global allocator used by the memory workload;
//! * [`host`]: the host probe taken between cases, which flags the cases
//!   run in a slow phase of the host.
//!
//! `bash benches/run.sh` reruns everything and rewrites `RESULTS.md`.

pub mod alloc;
pub mod host;
pub mod record;
pub mod rt;
pub mod stats;
pub mod workloads;
