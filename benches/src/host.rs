//! The host probe: a fixed measurement that involves no runtime, taken
//! between the suite's cases, so that a slow phase of the host can be told
//! from a change of the code.
//!
//! This VM has phases, minutes long and with no steal time reported, in
//! which every two-thread runtime runs two to three times slower
//! (`benches/RESULTS.md`, analysis: `2-yield` on two workers read 3.1 ms for
//! tempo-mt, 18 for smol-mt and 32 for the twin in calm minutes, 7, 45 and
//! 80–115 in slow ones). The runtimes of a case are interleaved rep by rep,
//! so a phase moves all of a case's columns together; a phase that starts or
//! ends in the middle of a case's reps is what moves its ratios. The probe
//! is what the slow phases hurt most: a wake-up handed from one thread to
//! another through a `Mutex` + `Condvar` (a futex wake, an inter-processor
//! interrupt, a context switch), the twin's own mechanism.
//!
//! [`probe`] returns the median over [`RUNS`] runs of the mean round trip,
//! in µs, of [`ROUNDS`] ping-pongs between two helper threads pinned to two
//! CPUs.
//! The suite takes it before its first case and after every case, writes
//! each case's two readings into its TSV (`# host-probe:` lines, see
//! [`probe_line`]), and names the cases whose readings exceed [`SLOW`] times
//! the run's best; `bin/report.rs` lists them in `RESULTS.md`.
//!
//! # Examples
//! ```
//! let us = tempo_benches::host::probe();
//! assert!(us > 0.0 && us.is_finite());
//! ```

use crate::stats::median;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

/// Ping-pongs per run.
pub const ROUNDS: usize = 200;
/// Runs per probe (the median is reported).
pub const RUNS: usize = 3;
/// A case is flagged when a reading around it is at least this many times
/// the run's best reading.
pub const SLOW: f64 = 1.5;

/// Two CPUs this process may run on (the first two of its affinity mask),
/// or `None` (one CPU, another OS, a refused call).
fn two_cpus() -> Option<[usize; 2]> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: `set` is a plain bit mask, zeroed, then filled by the
        // kernel and read through the libc helpers.
        let set = unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
                return None;
            }
            set
        };
        let mut cpus = (0..libc::CPU_SETSIZE as usize)
            // SAFETY: `cpu` is below CPU_SETSIZE, the mask's size.
            .filter(|&cpu| unsafe { libc::CPU_ISSET(cpu, &set) });
        Some([cpus.next()?, cpus.next()?])
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

/// Pins the calling thread to `cpu` (best effort: a refusal leaves it free).
fn pin(cpu: usize) {
    #[cfg(target_os = "linux")]
    // SAFETY: as in `two_cpus`; the call changes only this thread's mask.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = cpu;
}

/// The mean round trip, in µs, of `rounds` hand-offs between two helper
/// threads through a `Mutex<u64>` + `Condvar`, the helpers pinned to two
/// different CPUs where possible (unpinned, the OS may put both on one CPU,
/// where a hand-off is a cheap local switch that no slow phase shows). The
/// caller's own thread, and so the benchmarks' threads, keep their affinity.
fn ping_pong(rounds: usize) -> f64 {
    let shared = Arc::new((Mutex::new(0u64), Condvar::new()));
    let cpus = two_cpus();
    let n = rounds as u64;
    let side = |first: bool| {
        let shared = shared.clone();
        std::thread::spawn(move || {
            if let Some(cpus) = cpus {
                pin(cpus[usize::from(!first)]);
            }
            let (m, c) = &*shared;
            let mut g = m.lock().unwrap();
            let start = Instant::now();
            for i in 0..n {
                // `first` moves the counter from even to odd, the other back.
                if first {
                    *g = 2 * i + 1;
                    c.notify_one();
                    while *g != 2 * i + 2 {
                        g = c.wait(g).unwrap();
                    }
                } else {
                    while *g != 2 * i + 1 {
                        g = c.wait(g).unwrap();
                    }
                    *g += 1;
                    c.notify_one();
                }
            }
            start.elapsed()
        })
    };
    let b = side(false);
    let a = side(true);
    let took = a.join().expect("host probe thread panicked");
    b.join().expect("host probe thread panicked");
    took.as_secs_f64() * 1e6 / rounds as f64
}

/// One probe: the median of [`RUNS`] runs of [`ROUNDS`] round trips, in µs
/// per round trip (a few ms in all on a calm host).
pub fn probe() -> f64 {
    let v: Vec<f64> = (0..RUNS).map(|_| ping_pong(ROUNDS)).collect();
    median(&v)
}

/// The TSV metadata line for case `id` (`workload/case`) with the readings
/// taken before and after it: `# host-probe: id before after` (µs).
pub fn probe_line(id: &str, before: f64, after: f64) -> String {
    format!("# host-probe: {id} {before:.2} {after:.2}")
}

/// Parses the value of a `host-probe` metadata line (`id before after`).
pub fn parse_probe(value: &str) -> Option<(String, f64, f64)> {
    let mut it = value.split_whitespace();
    let id = it.next()?.to_string();
    let before = it.next()?.parse().ok()?;
    let after = it.next()?.parse().ok()?;
    if it.next().is_some() {
        return None;
    }
    Some((id, before, after))
}

/// The run's best reading and the cases (in the given order) whose readings
/// before or after reached [`SLOW`] times it. `None` without readings.
pub fn slow_cases(probes: &[(String, f64, f64)]) -> Option<(f64, Vec<String>)> {
    let best = probes
        .iter()
        .flat_map(|(_, a, b)| [*a, *b])
        .filter(|x| x.is_finite() && *x > 0.0)
        .fold(f64::INFINITY, f64::min);
    if !best.is_finite() {
        return None;
    }
    let slow = probes
        .iter()
        .filter(|(_, a, b)| a.max(*b) >= SLOW * best)
        .map(|(id, _, _)| id.clone())
        .collect();
    Some((best, slow))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip_and_slow_cases_are_named() {
        let line = probe_line("2-yield/200x1000", 10.0, 31.5);
        let value = line.strip_prefix("# host-probe:").unwrap();
        assert_eq!(
            parse_probe(value),
            Some(("2-yield/200x1000".to_string(), 10.0, 31.5))
        );
        assert_eq!(parse_probe("a 1"), None);
        assert_eq!(parse_probe("a 1 2 3"), None);
        assert_eq!(parse_probe("a x 2"), None);
        let probes = vec![
            ("a".to_string(), 10.0, 12.0),
            ("b".to_string(), 12.0, 14.9),
            ("c".to_string(), 14.9, 15.0),
            ("d".to_string(), 15.0, 9.0),
        ];
        // Best 9.0: flagged at >= 13.5.
        assert_eq!(
            slow_cases(&probes),
            Some((9.0, vec!["b".into(), "c".into(), "d".into()]))
        );
        assert_eq!(slow_cases(&[]), None);
    }

    #[test]
    fn probe_reads_a_positive_round_trip() {
        let us = probe();
        assert!(us > 0.0 && us.is_finite(), "{us}");
    }
}
