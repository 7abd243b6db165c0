//! The result format shared by every benchmark binary and the report.
//!
//! One tab-separated line per (workload, case, metric, runtime):
//!
//! ```text
//! workload  case  metric  unit  better  runtime  median  min  max  samples
//! ```
//!
//! `better` is `lower` or `higher`; `samples` is the comma-separated value of
//! every repetition. Lines starting with `#` are `# key: value` metadata
//! (command, machine, versions). `bin/report.rs` reads every
//! `results/*.tsv` and writes `RESULTS.md` and `results/ratios.svg`.

use crate::stats::median;
use std::fmt::Write as _;

/// Which direction of a metric is good.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Better {
    /// Times, latencies, bytes.
    Lower,
    /// Throughputs.
    Higher,
}

impl Better {
    /// `lower` / `higher`.
    pub fn as_str(self) -> &'static str {
        match self {
            Better::Lower => "lower",
            Better::Higher => "higher",
        }
    }
    /// Parses [`Better::as_str`].
    pub fn parse(s: &str) -> Option<Better> {
        match s {
            "lower" => Some(Better::Lower),
            "higher" => Some(Better::Higher),
            _ => None,
        }
    }
    /// How far `a` is ahead of `b` (> 1: `a` is better).
    pub fn advantage(self, a: f64, b: f64) -> f64 {
        match self {
            Better::Lower => b / a,
            Better::Higher => a / b,
        }
    }
}

/// What one metric is.
#[derive(Clone, Copy, Debug)]
pub struct Metric {
    /// Short name (`time`, `p99`, `rate`).
    pub name: &'static str,
    /// Unit (`ms`, `µs`, `Mtask/s`, `B`).
    pub unit: &'static str,
    /// Its good direction.
    pub better: Better,
}

/// One line of results.
#[derive(Clone, Debug)]
pub struct Row {
    /// Workload id (`1-spawn`).
    pub workload: String,
    /// Case within it (`inside`).
    pub case: String,
    /// Metric name.
    pub metric: String,
    /// Unit.
    pub unit: String,
    /// Good direction.
    pub better: Better,
    /// Runtime name.
    pub rt: String,
    /// One value per repetition.
    pub samples: Vec<f64>,
}

impl Row {
    /// The median of the samples.
    pub fn median(&self) -> f64 {
        median(&self.samples)
    }

    /// The TSV line (no newline).
    pub fn to_line(&self) -> String {
        let min = self.samples.iter().copied().fold(f64::INFINITY, f64::min);
        let max = self
            .samples
            .iter()
            .copied()
            .fold(f64::NEG_INFINITY, f64::max);
        let mut s = String::new();
        let _ = write!(
            s,
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t",
            self.workload,
            self.case,
            self.metric,
            self.unit,
            self.better.as_str(),
            self.rt,
            fmt(self.median()),
            fmt(min),
            fmt(max)
        );
        let v: Vec<String> = self.samples.iter().map(|x| fmt(*x)).collect();
        s.push_str(&v.join(","));
        s
    }

    /// Parses [`Row::to_line`].
    pub fn parse(line: &str) -> Result<Row, String> {
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() != 10 {
            return Err(format!("expected 10 tab-separated fields: {line:?}"));
        }
        let better = Better::parse(f[4]).ok_or_else(|| format!("bad `better` {:?}", f[4]))?;
        let samples = f[9]
            .split(',')
            .filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<f64>()
                    .map_err(|e| format!("bad sample {s:?}: {e}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Row {
            workload: f[0].into(),
            case: f[1].into(),
            metric: f[2].into(),
            unit: f[3].into(),
            better,
            rt: f[5].into(),
            samples,
        })
    }
}

/// A number with 4 significant digits, no exponent for usual magnitudes.
pub fn fmt(x: f64) -> String {
    if !x.is_finite() {
        return "nan".into();
    }
    let a = x.abs();
    if a >= 1000.0 || a == 0.0 {
        format!("{x:.0}")
    } else if a >= 100.0 {
        format!("{x:.1}")
    } else if a >= 10.0 {
        format!("{x:.2}")
    } else if a >= 1.0 {
        format!("{x:.3}")
    } else {
        format!("{x:.4}")
    }
}

/// `# key: value` metadata lines describing this machine and run.
pub fn machine_meta(command: &str) -> Vec<String> {
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    let cpu = read("/proc/cpuinfo")
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    let kernel = read("/proc/sys/kernel/osrelease").trim().to_string();
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let load = read("/proc/loadavg");
    let rustc = std::process::Command::new("rustc")
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    vec![
        format!("# command: {command}"),
        format!("# cpu: {cpu} ({cores} cores available)"),
        format!("# kernel: Linux {kernel}"),
        format!("# rustc: {rustc}"),
        format!(
            "# loadavg-at-start: {}",
            load.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_round_trips() {
        let r = Row {
            workload: "1-spawn".into(),
            case: "inside".into(),
            metric: "time".into(),
            unit: "ms".into(),
            better: Better::Lower,
            rt: "tempo-mt".into(),
            samples: vec![1.5, 2.25, 1.0],
        };
        let back = Row::parse(&r.to_line()).unwrap();
        assert_eq!(back.samples, r.samples);
        assert_eq!(back.median(), 1.5);
        assert_eq!(Better::Lower.advantage(1.0, 2.0), 2.0);
        assert_eq!(Better::Higher.advantage(1.0, 2.0), 0.5);
    }
}
