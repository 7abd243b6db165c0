//! `report`: turns every `results/*.tsv` into `RESULTS.md` and
//! `results/ratios.svg`.
//!
//! ```sh
//! cargo run --release -p tempo-benches --bin report -- [--results DIR] [--out FILE] [--lock FILE]
//! ```
//!
//! Reads every `*.tsv` directly under `--results` (default `benches/results`,
//! sorted by file name) in the format of `tempo_benches::record`, and writes
//! the Markdown report to `--out` (default `benches/RESULTS.md`) and the ratio
//! chart to `DIR/ratios.svg`. Crate versions come from `--lock` (default the
//! workspace's `Cargo.lock`). `bash benches/run.sh` runs the benchmarks and
//! then this.
//!
//! # What it owns
//! * The whole of `RESULTS.md` except the text between `<!-- analysis -->` and
//!   `<!-- /analysis -->`, which belongs to humans (explanations of wins and
//!   losses) and is carried over from the previous `RESULTS.md`.
//! * The whole of `results/ratios.svg`.
//! * Nothing else: the TSV files are only read.
//!
//! # Invariants
//! 1. **Ratio direction.** Every ratio is "tempo's advantage",
//!    [`Better::advantage`]`(tempo_median, peer_median)`: > 1 means tempo is
//!    ahead whatever the metric's direction (for a lower-is-better metric it
//!    is peer / tempo, for a higher-is-better one tempo / peer).
//! 2. **Pairing.** A peer is compared with the tempo configuration of the
//!    same shape ([`paired_tempo`]): `tokio-mt`, `smol-mt` and `twin` with
//!    `tempo-mt`; `tokio-ct` and `smol-local` with `tempo-ct` when the case
//!    has a `tempo-ct` row, otherwise with `tempo-mt` (marked †).
//! 3. **`mio` is not a peer.** It is the hand-written floor: a case with `mio`
//!    rows reports tempo-mt's `rate` as a percentage of mio's, against the
//!    project's bar of [`FLOOR_BAR_PCT`] %. It never enters the win/loss count.
//!    Runtimes the report does not know are shown but never paired.
//! 4. **Headline metric.** A case's headline metric is the first metric listed
//!    for it in TSV order (files in name order, lines in file order). Only
//!    headline ratios are counted in the bar section and drawn in the chart.
//! 5. **Medians.** Every value shown is recomputed from the `samples` column
//!    (median, min, max); the `median`/`min`/`max` columns of the TSV are only
//!    checked to be numbers.
//! 6. **All or nothing.** Every input is parsed and checked (file name and
//!    line number in each error; duplicate rows and a metric whose unit or
//!    direction differ between rows are errors) before anything is written;
//!    on any error nothing is written and the exit status is 1 (2 for usage).
//!    No `*.tsv` at all is an error.
//! 7. **The analysis section survives.** Its content is copied byte for byte
//!    from the previous `RESULTS.md`; if that file has an opening marker
//!    without a closing one, the report refuses to overwrite it. Without a
//!    previous section a placeholder ([`NO_ANALYSIS`]) is written.
//! 8. **Deterministic.** The same inputs give the same bytes (no clock, no
//!    hash-map iteration order in the output).
//! 9. **Not comparable is not a loss.** A ratio that is not finite (a zero or
//!    NaN median) is shown as `n/a` and counted neither as a win nor a loss.
//! 10. **Host phases are shown, not hidden.** The `# host-probe:` lines of a
//!     file (`tempo_benches::host`) are not machine metadata: the host
//!     section lists the run's best and median reading and names every case
//!     whose readings reached `host::SLOW` times the best. Flagged cases
//!     stay in every table and in the count; the reader is told which
//!     numbers a slow phase of the host may have moved.
//! 11. **Paired reps, beside the medians.** Every comparison also compares
//!     rep *i* of tempo with rep *i* of the peer ([`Paired`]; the runtimes
//!     are interleaved within each rep, so a pair was taken in one rep, seconds
//!     to a minute apart), but only for two rows of the same file with the
//!     same number of samples (a producer leaves out a rep that produced
//!     nothing, which would shift every later pair). The bar section counts
//!     the pairs of runtimes where every paired rep agrees ([`Verdict`]: at
//!     least [`MIN_PAIRS`] of them), those where the reps disagree, and those
//!     not judged; the loss table gives each loss's `ahead/n`. This never
//!     changes the win/loss count, which stays the ratio of medians the issue
//!     asks for. A unanimous pair is a per-pair signal (a few are expected by
//!     chance among ~90), a split one a difference the host's noise reaches.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use tempo_benches::host;
use tempo_benches::record::{fmt, Better, Row};
use tempo_benches::stats::{Paired, Verdict, MIN_PAIRS};

/// Default directory of the `*.tsv` inputs (and of the SVG output).
const DEFAULT_RESULTS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/results");
/// Default Markdown output.
const DEFAULT_OUT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/RESULTS.md");
/// Default lock file the crate versions are read from.
const DEFAULT_LOCK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.lock");
/// File name of the chart, inside the results directory.
const SVG_NAME: &str = "ratios.svg";
/// Opening marker of the human-written section.
const ANALYSIS_START: &str = "<!-- analysis -->";
/// Closing marker of the human-written section.
const ANALYSIS_END: &str = "<!-- /analysis -->";
/// Content of a fresh analysis section.
const NO_ANALYSIS: &str = "(no analysis yet)";
/// The project's bar for tempo-mt's echo rate as a percentage of mio's.
const FLOOR_BAR_PCT: f64 = 80.0;
/// The hand-written floor runtime (not a peer).
const FLOOR: &str = "mio";
/// The metric compared with the floor.
const FLOOR_METRIC: &str = "rate";
/// tempo's configurations, in column order.
const TEMPOS: [&str; 2] = ["tempo-mt", "tempo-ct"];
/// The peers, in column order.
const PEERS: [&str; 5] = ["tokio-mt", "tokio-ct", "smol-mt", "smol-local", "twin"];
/// Crates whose versions the machine section lists (besides tempo).
const CRATES: [&str; 6] = [
    "tokio",
    "async-executor",
    "async-task",
    "async-io",
    "futures-lite",
    "mio",
];
/// Metadata key of the host probe's readings (invariant 10): one line per
/// case, never shown in the machine table.
const PROBE_KEY: &str = "host-probe";
/// Metadata keys shown first in the machine table, in this order.
const META_ORDER: [&str; 7] = [
    "cpu",
    "kernel",
    "rustc",
    "workers",
    "reps",
    "quick",
    "loadavg-at-start",
];

/// The tempo configuration `peer` is compared with (invariant 2), or `None`
/// if `peer` is not a peer (tempo itself, `mio`, an unknown runtime).
/// `case_has_ct`: the case has a `tempo-ct` row.
fn paired_tempo(peer: &str, case_has_ct: bool) -> Option<&'static str> {
    match peer {
        "tokio-mt" | "smol-mt" | "twin" => Some("tempo-mt"),
        "tokio-ct" | "smol-local" => Some(if case_has_ct { "tempo-ct" } else { "tempo-mt" }),
        _ => None,
    }
}

// ---------------------------------------------------------------------------
// Input
// ---------------------------------------------------------------------------

/// One input file: its name as shown in the report and its `# key: value` lines.
struct Source {
    /// Path shown in the report (relative to the report's directory when possible).
    shown: String,
    /// The file's path as given (`t.tsv` in tests), for error messages; its
    /// last component heads the machine table's column.
    name: String,
    /// Metadata in file order.
    meta: Vec<(String, String)>,
}

impl Source {
    /// The value of metadata `key`, if present.
    fn get(&self, key: &str) -> Option<&str> {
        self.meta
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// One parsed result line and where it came from.
struct Rec {
    /// The line.
    row: Row,
    /// Index into [`Data::sources`].
    src: usize,
    /// 1-based line number.
    line: usize,
}

/// A metric of a case (name, unit, direction), as listed in the TSV.
#[derive(Clone, Debug, PartialEq)]
struct MetricInfo {
    /// Metric name (`time`).
    name: String,
    /// Unit (`ms`).
    unit: String,
    /// Good direction.
    better: Better,
}

/// One (workload, case) and its metrics in TSV order (the first is the headline).
struct Case {
    /// Workload id (`1-spawn`).
    workload: String,
    /// Case name (`inside`).
    case: String,
    /// Metrics in first-appearance order.
    metrics: Vec<MetricInfo>,
}

impl Case {
    /// `workload/case`.
    fn id(&self) -> String {
        format!("{}/{}", self.workload, self.case)
    }
}

/// Everything read from the TSV files, checked.
struct Data {
    /// Input files in name order.
    sources: Vec<Source>,
    /// Every result line.
    recs: Vec<Rec>,
    /// Cases, workloads in natural order ([`workload_key`]), cases in TSV order.
    cases: Vec<Case>,
    /// Runtimes present, in column order ([`runtime_order`]).
    rts: Vec<String>,
    /// (workload, case, metric, runtime) → index into `recs`.
    index: HashMap<(String, String, String, String), usize>,
}

impl Data {
    /// The row of `rt` for `metric` of `case`.
    fn find(&self, case: &Case, metric: &str, rt: &str) -> Option<&Rec> {
        let k = (
            case.workload.clone(),
            case.case.clone(),
            metric.to_string(),
            rt.to_string(),
        );
        self.index.get(&k).map(|&i| &self.recs[i])
    }

    /// Whether `case` has any row of `rt`.
    fn has(&self, case: &Case, rt: &str) -> bool {
        case.metrics
            .iter()
            .any(|m| self.find(case, &m.name, rt).is_some())
    }
}

/// Sort key of a workload id: its leading number (`7-echo` → 7), then the id.
fn workload_key(w: &str) -> (u64, String) {
    let digits: String = w.chars().take_while(|c| c.is_ascii_digit()).collect();
    (digits.parse().unwrap_or(u64::MAX), w.to_string())
}

/// Column order: tempo, the peers, `mio`, then unknown runtimes in TSV order.
fn runtime_order(present: &[String]) -> Vec<String> {
    let known: Vec<&str> = TEMPOS
        .iter()
        .chain(PEERS.iter())
        .chain([FLOOR].iter())
        .copied()
        .collect();
    let mut v: Vec<String> = known
        .iter()
        .filter(|k| present.iter().any(|p| p == *k))
        .map(|s| s.to_string())
        .collect();
    for p in present {
        if !known.contains(&p.as_str()) && !v.contains(p) {
            v.push(p.clone());
        }
    }
    v
}

/// Parses and checks every input (`(shown path, file name, text)`, in name
/// order). Errors name the file and line (invariant 6).
fn parse_all(files: &[(String, String, String)]) -> Result<Data, String> {
    if files.is_empty() {
        return Err("no *.tsv results to report on".into());
    }
    let mut sources = Vec::new();
    let mut recs: Vec<Rec> = Vec::new();
    for (src, (shown, name, text)) in files.iter().enumerate() {
        let mut meta = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let n = i + 1;
            let line = raw.strip_suffix('\r').unwrap_or(raw);
            if line.trim().is_empty() {
                continue;
            }
            if let Some(rest) = line.strip_prefix('#') {
                // `# key: value`; a `#` line without a colon is a comment.
                if let Some((k, v)) = rest.split_once(':') {
                    meta.push((k.trim().to_string(), v.trim().to_string()));
                }
                continue;
            }
            let row = Row::parse(line).map_err(|e| format!("{name}:{n}: {e}"))?;
            check_row(line, &row).map_err(|e| format!("{name}:{n}: {e}"))?;
            recs.push(Rec { row, src, line: n });
        }
        sources.push(Source {
            shown: shown.clone(),
            name: name.clone(),
            meta,
        });
    }
    if recs.is_empty() {
        return Err(format!(
            "no result lines in {}",
            files
                .iter()
                .map(|f| f.1.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }

    let at = |r: &Rec| format!("{}:{}", sources[r.src].name, r.line);
    let mut index = HashMap::new();
    let mut cases: Vec<Case> = Vec::new();
    let mut present: Vec<String> = Vec::new();
    for (i, r) in recs.iter().enumerate() {
        let k = (
            r.row.workload.clone(),
            r.row.case.clone(),
            r.row.metric.clone(),
            r.row.rt.clone(),
        );
        if let Some(&j) = index.get(&k) {
            return Err(format!(
                "{}: duplicate row for {}/{} {} on {} (first at {})",
                at(r),
                k.0,
                k.1,
                k.2,
                k.3,
                at(&recs[j])
            ));
        }
        index.insert(k, i);
        if !present.contains(&r.row.rt) {
            present.push(r.row.rt.clone());
        }
        let m = MetricInfo {
            name: r.row.metric.clone(),
            unit: r.row.unit.clone(),
            better: r.row.better,
        };
        let ci = match cases
            .iter()
            .position(|c| c.workload == r.row.workload && c.case == r.row.case)
        {
            Some(ci) => ci,
            None => {
                cases.push(Case {
                    workload: r.row.workload.clone(),
                    case: r.row.case.clone(),
                    metrics: Vec::new(),
                });
                cases.len() - 1
            }
        };
        match cases[ci].metrics.iter().find(|x| x.name == m.name) {
            Some(old) if *old != m => {
                return Err(format!(
                    "{}: {}/{} {} is `{} {}` here but `{} {}` on an earlier line",
                    at(r),
                    r.row.workload,
                    r.row.case,
                    m.name,
                    m.unit,
                    m.better.as_str(),
                    old.unit,
                    old.better.as_str()
                ))
            }
            Some(_) => {}
            None => cases[ci].metrics.push(m),
        }
    }
    // Stable: cases of one workload keep their TSV order.
    cases.sort_by_key(|c| workload_key(&c.workload));
    Ok(Data {
        sources,
        recs,
        cases,
        rts: runtime_order(&present),
        index,
    })
}

/// Checks what [`Row::parse`] leaves unchecked: non-empty names and samples,
/// and numeric `median`/`min`/`max` columns.
fn check_row(line: &str, row: &Row) -> Result<(), String> {
    let f: Vec<&str> = line.split('\t').collect();
    for (i, what) in [(0, "workload"), (1, "case"), (2, "metric"), (5, "runtime")] {
        if f[i].trim().is_empty() {
            return Err(format!("empty {what} field"));
        }
    }
    for (i, what) in [(6, "median"), (7, "min"), (8, "max")] {
        if f[i].parse::<f64>().is_err() {
            return Err(format!("bad {what} {:?}: not a number", f[i]));
        }
    }
    if row.samples.is_empty() {
        return Err("no samples (last field is empty)".into());
    }
    Ok(())
}

/// `(name, version)` of every `[[package]]` of a `Cargo.lock`.
fn lock_versions(lock: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut name: Option<String> = None;
    for line in lock.lines() {
        let line = line.trim();
        if line == "[[package]]" {
            name = None;
        } else if let Some(v) = line.strip_prefix("name = ") {
            name = Some(v.trim_matches('"').to_string());
        } else if let Some(v) = line.strip_prefix("version = ") {
            if let Some(n) = name.take() {
                out.push((n, v.trim_matches('"').to_string()));
            }
        }
    }
    out
}

/// The previous analysis section's content (between the markers, verbatim),
/// `None` if `previous` has none; an error if it is opened but not closed
/// (invariant 7).
fn previous_analysis(previous: &str) -> Result<Option<String>, String> {
    let Some(s) = previous.find(ANALYSIS_START) else {
        return Ok(None);
    };
    let body = &previous[s + ANALYSIS_START.len()..];
    match body.find(ANALYSIS_END) {
        Some(e) => Ok(Some(body[..e].to_string())),
        None => Err(format!(
            "the previous report has `{ANALYSIS_START}` but no `{ANALYSIS_END}` after it; \
             fix it by hand (refusing to overwrite the analysis)"
        )),
    }
}

// ---------------------------------------------------------------------------
// Comparisons
// ---------------------------------------------------------------------------

/// One tempo-vs-peer comparison on one metric of one case.
struct Comparison<'a> {
    /// The case.
    case: &'a Case,
    /// The metric compared.
    metric: &'a MetricInfo,
    /// The peer runtime.
    peer: String,
    /// The tempo configuration it is compared with.
    tempo: &'static str,
    /// `tokio-ct`/`smol-local` compared with tempo-mt (no tempo-ct row).
    fallback: bool,
    /// tempo's median.
    tempo_median: f64,
    /// The peer's median.
    peer_median: f64,
    /// [`Better::advantage`]`(tempo_median, peer_median)` (invariant 1).
    ratio: f64,
    /// Rep by rep (invariant 11).
    paired: Paired,
}

/// The comparison of `peer` on `metric` of `case`, if `peer` is a peer and
/// both rows exist.
fn compare<'a>(
    data: &Data,
    case: &'a Case,
    metric: &'a MetricInfo,
    peer: &str,
) -> Option<Comparison<'a>> {
    let has_ct = data.has(case, "tempo-ct");
    let tempo = paired_tempo(peer, has_ct)?;
    let t_rec = data.find(case, &metric.name, tempo)?;
    let p_rec = data.find(case, &metric.name, peer)?;
    let (t_row, p_row) = (&t_rec.row, &p_rec.row);
    let (t, p) = (t_row.median(), p_row.median());
    Some(Comparison {
        case,
        metric,
        peer: peer.to_string(),
        tempo,
        fallback: matches!(peer, "tokio-ct" | "smol-local") && !has_ct,
        tempo_median: t,
        peer_median: p,
        ratio: metric.better.advantage(t, p),
        // Invariant 11: only rows of one run are paired.
        paired: if t_rec.src == p_rec.src {
            Paired::of(metric.better, &t_row.samples, &p_row.samples)
        } else {
            Paired::none()
        },
    })
}

/// Every headline comparison, cases in report order, peers in column order.
fn headline_comparisons(data: &Data) -> Vec<Comparison<'_>> {
    let mut v = Vec::new();
    for case in &data.cases {
        for peer in &data.rts {
            if let Some(c) = compare(data, case, &case.metrics[0], peer) {
                v.push(c);
            }
        }
    }
    v
}

/// tempo-mt's [`FLOOR_METRIC`] as a percentage of mio's in `case` (invariant
/// 3), with the medians; `None` without both rows.
fn floor_pct(data: &Data, case: &Case) -> Option<(f64, f64, f64)> {
    let m = case.metrics.iter().find(|m| m.name == FLOOR_METRIC)?;
    let t = data.find(case, &m.name, "tempo-mt")?.row.median();
    let f = data.find(case, &m.name, FLOOR)?.row.median();
    Some((100.0 * m.better.advantage(t, f), t, f))
}

// ---------------------------------------------------------------------------
// Formatting
// ---------------------------------------------------------------------------

/// A ratio: 0 decimals from 100, 1 from 10, else 2, more when rounding would
/// print `1.00` for a value that is not exactly 1.
fn fmt_ratio(r: f64) -> String {
    if !r.is_finite() {
        return "n/a".into();
    }
    if r >= 100.0 {
        return format!("{r:.0}");
    }
    if r >= 10.0 {
        return format!("{r:.1}");
    }
    for d in 2..6 {
        let s = format!("{r:.d$}");
        if r == 1.0 || s.trim_end_matches('0').trim_end_matches('.') != "1" {
            return s;
        }
    }
    format!("{r:.6}")
}

/// A ratio with its mark: `2.10× ✓` when ≥ 1, `**0.80×** ✗` when < 1, `n/a`.
fn mark(r: f64) -> String {
    if !r.is_finite() {
        "n/a".into()
    } else if r >= 1.0 {
        format!("{}× ✓", fmt_ratio(r))
    } else {
        format!("**{}×** ✗", fmt_ratio(r))
    }
}

/// `85% ✓` / `**70%** ✗` against [`FLOOR_BAR_PCT`].
fn mark_pct(p: f64) -> String {
    if !p.is_finite() {
        "n/a".into()
    } else if p >= FLOOR_BAR_PCT {
        format!("{p:.0}% ✓")
    } else {
        format!("**{p:.0}%** ✗")
    }
}

/// Escapes a table cell (`|` and newlines would break the table).
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// Escapes XML special characters.
fn xml(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            _ => o.push(c),
        }
    }
    o
}

/// `median (min–max)` of a row, with `n=K` when it has fewer or more samples
/// than its file's `# reps:`.
fn spread(data: &Data, rec: &Rec) -> String {
    let s = &rec.row.samples;
    let min = s.iter().copied().fold(f64::INFINITY, f64::min);
    let max = s.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut o = format!("{} ({}–{})", fmt(rec.row.median()), fmt(min), fmt(max));
    let reps = data.sources[rec.src]
        .get("reps")
        .and_then(|r| r.parse::<usize>().ok());
    if reps != Some(s.len()) {
        let _ = write!(o, " n={}", s.len());
    }
    o
}

// ---------------------------------------------------------------------------
// Markdown
// ---------------------------------------------------------------------------

/// Everything the report needs besides the TSVs.
struct Context<'a> {
    /// `Cargo.lock` text, if readable.
    lock: Option<&'a str>,
    /// The previous `RESULTS.md`, if any.
    previous: Option<&'a str>,
    /// Link to the SVG from the report's directory.
    svg_link: &'a str,
}

/// The whole `RESULTS.md`.
fn markdown(data: &Data, cx: &Context) -> Result<String, String> {
    let analysis = match cx.previous {
        Some(p) => previous_analysis(p)?,
        None => None,
    };
    let comps = headline_comparisons(data);
    let mut o = String::new();
    let w = &mut o;
    let _ = writeln!(w, "# tempo benchmark results\n");
    let _ = writeln!(
        w,
        "Generated by `benches/src/bin/report.rs` from {}. Edit only the analysis section: \
         the rest is rewritten by every run of `bash benches/run.sh`.\n",
        data.sources
            .iter()
            .map(|s| format!("`{}`", s.shown))
            .collect::<Vec<_>>()
            .join(", ")
    );

    // How to reproduce.
    let _ = writeln!(w, "## How to reproduce\n");
    let _ = writeln!(w, "```sh");
    let _ = writeln!(
        w,
        "bash benches/run.sh          # build, suite --reps 5, echo --reps 5, then this report"
    );
    let _ = writeln!(
        w,
        "bash benches/run.sh --quick  # smaller loads: suite and echo with --quick --reps 3"
    );
    let _ = writeln!(w, "```\n");
    let _ = writeln!(
        w,
        "The numbers below came from these commands (the `# command:` line of each file):\n"
    );
    for s in &data.sources {
        let cmd = s.get("command").unwrap_or("(no `# command:` line)");
        let _ = writeln!(w, "* `{}`: `{}`", s.shown, cmd);
    }
    let _ = writeln!(
        w,
        "\nThis file alone is regenerated from the TSVs by \
         `cargo run --release -p tempo-benches --bin report`.\n"
    );

    // Machine.
    machine_section(w, data, cx.lock);

    // Host phases (invariant 10).
    host_section(w, data)?;

    // Headline table.
    headline_section(w, data);

    // The bar.
    bar_section(w, data, &comps);

    // Analysis (human-written, preserved).
    let _ = writeln!(w, "## Analysis\n");
    let _ = write!(w, "{ANALYSIS_START}");
    match &analysis {
        Some(text) => w.push_str(text),
        None => {
            let _ = write!(w, "\n{NO_ANALYSIS}\n");
        }
    }
    let _ = writeln!(w, "{ANALYSIS_END}\n");

    // Details.
    detail_section(w, data);

    // Chart.
    let _ = writeln!(w, "## Chart\n");
    let _ = writeln!(
        w,
        "tempo's advantage on each case's headline metric, per peer (log2 scale; right of 1× = tempo ahead).\n"
    );
    let _ = writeln!(w, "![ratios]({})", cx.svg_link);
    Ok(o)
}

/// The machine section: metadata of every file side by side, crate versions.
fn machine_section(w: &mut String, data: &Data, lock: Option<&str>) {
    let _ = writeln!(w, "## Machine\n");
    let mut keys: Vec<String> = META_ORDER
        .iter()
        .filter(|k| data.sources.iter().any(|s| s.get(k).is_some()))
        .map(|k| k.to_string())
        .collect();
    for s in &data.sources {
        for (k, _) in &s.meta {
            if k != "command" && k != PROBE_KEY && !keys.contains(k) {
                keys.push(k.clone());
            }
        }
    }
    let _ = write!(w, "| |");
    for s in &data.sources {
        let _ = write!(w, " {} |", cell(&file_name(&s.name)));
    }
    let _ = write!(w, "\n|---|");
    for _ in &data.sources {
        let _ = write!(w, "---|");
    }
    w.push('\n');
    for k in &keys {
        let _ = write!(w, "| {} |", cell(k));
        for s in &data.sources {
            let _ = write!(w, " {} |", cell(s.get(k).unwrap_or("—")));
        }
        w.push('\n');
    }
    w.push('\n');
    match lock {
        Some(lock) => {
            let all = lock_versions(lock);
            let list: Vec<String> = std::iter::once("tempo")
                .chain(CRATES.iter().copied())
                .map(|c| {
                    let vs: Vec<&str> = all
                        .iter()
                        .filter(|(n, _)| n == c)
                        .map(|(_, v)| v.as_str())
                        .collect();
                    if vs.is_empty() {
                        format!("{c} (not in Cargo.lock)")
                    } else {
                        format!("{c} {}", vs.join(" and "))
                    }
                })
                .collect();
            let _ = writeln!(
                w,
                "Crate versions (`Cargo.lock` when this report was generated): {}.\n",
                list.join(", ")
            );
        }
        None => {
            let _ = writeln!(w, "Crate versions: `Cargo.lock` could not be read.\n");
        }
    }
}

/// The host section (invariant 10): per file with `# host-probe:` lines,
/// the best and median reading and the cases flagged as run in a slow phase.
/// A malformed line is an error naming its file (invariant 6).
fn host_section(w: &mut String, data: &Data) -> Result<(), String> {
    let mut any = false;
    for s in &data.sources {
        let mut probes = Vec::new();
        for (k, v) in &s.meta {
            if k == PROBE_KEY {
                probes.push(host::parse_probe(v).ok_or_else(|| {
                    format!(
                        "{}: bad `# {PROBE_KEY}:` line {v:?} (want `workload/case before after`)",
                        s.name
                    )
                })?);
            }
        }
        let Some((best, slow)) = host::slow_cases(&probes) else {
            continue;
        };
        if !any {
            let _ = writeln!(
                w,
                "## Host phases
"
            );
            let _ = writeln!(
                w,
                "The host probe (`benches/src/host.rs`: µs per round trip of a `Mutex` + `Condvar` \
                 hand-off between two threads pinned to two CPUs, median of {} runs of {}) is \
                 taken before the first case and after each case. This VM has slow phases, \
                 minutes long and without steal time, in which two-thread runtimes run 2–3× \
                 slower; the runtimes of a case are interleaved rep by rep, so a phase moves all \
                 of a case's columns together, and a phase that begins or ends among a case's \
                 reps moves its ratios. Flagged cases stay in every table and in the count.\n",
                host::RUNS,
                host::ROUNDS
            );
            any = true;
        }
        let all: Vec<f64> = probes.iter().flat_map(|p| [p.1, p.2]).collect();
        let med = tempo_benches::stats::median(&all);
        let verdict = if slow.is_empty() {
            "no case flagged".to_string()
        } else {
            format!(
                "**{} of {} cases flagged** (a reading before or after them ≥ {}× the best): {}",
                slow.len(),
                probes.len(),
                host::SLOW,
                slow.iter()
                    .map(|c| format!("`{c}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        let _ = writeln!(
            w,
            "* `{}`: best {} µs, median {} µs over {} readings; {verdict}.",
            s.shown,
            fmt(best),
            fmt(med),
            all.len()
        );
    }
    if any {
        w.push('\n');
    }
    Ok(())
}

/// The headline table: one row per case, its first metric, every runtime.
fn headline_section(w: &mut String, data: &Data) {
    let _ = writeln!(w, "## Headline\n");
    let _ = writeln!(
        w,
        "One row per case, on its headline metric (the first one it lists). Each peer cell is \
         `median (ratio)`, the ratio being tempo's advantage: \
         `Better::advantage(tempo median, peer median)`, > 1 when tempo is ahead (peer / tempo for a \
         lower-is-better metric, tempo / peer for a higher-is-better one); ✓ when ≥ 1, **bold** and ✗ when < 1.\n"
    );
    let _ = writeln!(
        w,
        "Pairing: each peer is compared with the tempo configuration of the same shape. `tokio-mt`, \
         `smol-mt` and `twin` against `tempo-mt`; `tokio-ct` and `smol-local` against `tempo-ct` when \
         the case has a `tempo-ct` row, otherwise against `tempo-mt` (marked †). `mio` is not a peer but \
         the hand-written floor for syscall cost: its cell shows tempo-mt's `{FLOOR_METRIC}` as a \
         percentage of mio's (the project's bar: ≥ {FLOOR_BAR_PCT:.0}%). — means no row.\n"
    );
    let _ = write!(w, "| case | metric |");
    for rt in &data.rts {
        let _ = write!(w, " {} |", cell(rt));
    }
    let _ = write!(w, "\n|---|---|");
    for _ in &data.rts {
        let _ = write!(w, "--:|");
    }
    w.push('\n');
    for case in &data.cases {
        let m = &case.metrics[0];
        let _ = write!(
            w,
            "| {} | {} ({}, {}) |",
            cell(&case.id()),
            cell(&m.name),
            cell(&m.unit),
            m.better.as_str()
        );
        for rt in &data.rts {
            let Some(rec) = data.find(case, &m.name, rt) else {
                w.push_str(" — |");
                continue;
            };
            let med = fmt(rec.row.median());
            let text = if let Some(c) = compare(data, case, m, rt) {
                format!(
                    "{med} ({}{})",
                    mark(c.ratio),
                    if c.fallback { " †" } else { "" }
                )
            } else if rt == FLOOR && m.name == FLOOR_METRIC {
                match floor_pct(data, case) {
                    Some((p, _, _)) => format!("{med} (tempo-mt {})", mark_pct(p)),
                    None => med,
                }
            } else {
                med
            };
            let _ = write!(w, " {} |", cell(&text));
        }
        w.push('\n');
    }
    w.push('\n');
}

/// The bar section: the win count, every loss, the floor check.
fn bar_section(w: &mut String, data: &Data, comps: &[Comparison]) {
    let _ = writeln!(w, "## The bar\n");
    let finite: Vec<&Comparison> = comps.iter().filter(|c| c.ratio.is_finite()).collect();
    let wins = finite.iter().filter(|c| c.ratio > 1.0).count();
    let ties = finite.iter().filter(|c| c.ratio == 1.0).count();
    let losses: Vec<&&Comparison> = finite.iter().filter(|c| c.ratio < 1.0).collect();
    let _ = writeln!(
        w,
        "tempo is ahead (headline ratio > 1) in **{wins} of {}** (case, peer) pairs; {} losses{}{}.\n",
        finite.len(),
        losses.len(),
        if ties > 0 { format!(", {ties} exact ties") } else { String::new() },
        match comps.len() - finite.len() {
            0 => String::new(),
            n => format!(", {n} not comparable (zero or NaN median)"),
        }
    );
    let mut by_peer = Vec::new();
    for peer in PEERS {
        let of: Vec<&&Comparison> = finite.iter().filter(|c| c.peer == peer).collect();
        if !of.is_empty() {
            by_peer.push(format!(
                "{peer} {}/{}",
                of.iter().filter(|c| c.ratio > 1.0).count(),
                of.len()
            ));
        }
    }
    if !by_peer.is_empty() {
        let _ = writeln!(w, "Ahead by peer: {}.\n", by_peer.join(", "));
    }
    let verdicts = |v: Verdict| finite.iter().filter(|c| c.paired.verdict() == v).count();
    let _ = writeln!(
        w,
        "Rep by rep (rep *i* of tempo against rep *i* of the peer: the runtimes are interleaved \
         within each rep, so a pair was taken seconds to a minute apart), pairs with tempo ahead \
         in every paired rep: **{}**; behind in every paired rep: **{}**; split (reps each way, \
         or a tie): {}{}. A unanimous pair is a per-pair signal (with {MIN_PAIRS} reps, 1 in 32 \
         per side for equal runtimes, so a few are expected by chance); a split one is a \
         difference this run's noise reaches, whichever side its median ratio falls.\n",
        verdicts(Verdict::Ahead),
        verdicts(Verdict::Behind),
        verdicts(Verdict::Split),
        match verdicts(Verdict::TooFew) {
            0 => String::new(),
            n => format!("; not judged (fewer than {MIN_PAIRS} paired reps): {n}"),
        },
    );
    if losses.is_empty() {
        let _ = writeln!(w, "No losses.\n");
    } else {
        let _ = writeln!(w, "Every loss (ratio < 1), in table order:\n");
        let _ = writeln!(
            w,
            "| case | metric | peer | tempo | tempo median | peer median | ratio | reps ahead |"
        );
        let _ = writeln!(w, "|---|---|---|---|--:|--:|--:|--:|");
        for c in &losses {
            let _ = writeln!(
                w,
                "| {} | {} ({}) | {} | {}{} | {} | {} | {} | {}/{} |",
                cell(&c.case.id()),
                cell(&c.metric.name),
                cell(&c.metric.unit),
                cell(&c.peer),
                c.tempo,
                if c.fallback { " †" } else { "" },
                fmt(c.tempo_median),
                fmt(c.peer_median),
                mark(c.ratio),
                c.paired.ahead,
                c.paired.n
            );
        }
        w.push('\n');
    }
    let floors: Vec<(&Case, (f64, f64, f64))> = data
        .cases
        .iter()
        .filter_map(|c| floor_pct(data, c).map(|p| (c, p)))
        .collect();
    let _ = writeln!(
        w,
        "Floor: tempo-mt's `{FLOOR_METRIC}` as a percentage of `{FLOOR}`'s, the hand-written \
         single-threaded epoll loop (bar: ≥ {FLOOR_BAR_PCT:.0}%):\n"
    );
    if floors.is_empty() {
        let _ = writeln!(
            w,
            "* no case has both a tempo-mt and a mio `{FLOOR_METRIC}` row in these results.\n"
        );
    } else {
        let met = floors
            .iter()
            .filter(|(_, (p, _, _))| *p >= FLOOR_BAR_PCT)
            .count();
        for (case, (p, t, f)) in &floors {
            let _ = writeln!(
                w,
                "* {}: {} ({} vs {})",
                case.id(),
                mark_pct(*p),
                fmt(*t),
                fmt(*f)
            );
        }
        let _ = writeln!(
            w,
            "\nAt or above the bar in {met} of {} cases.\n",
            floors.len()
        );
    }
}

/// Per-workload tables: every metric, every runtime, median (min–max).
fn detail_section(w: &mut String, data: &Data) {
    let _ = writeln!(w, "## Details\n");
    let _ = writeln!(
        w,
        "Every metric of every case: median (min–max) over the repetitions (`n=K` where a runtime has \
         a different number of samples than its file's `reps`), and for peers tempo's advantage as above.\n"
    );
    let mut i = 0;
    while i < data.cases.len() {
        let wl = &data.cases[i].workload;
        let group: Vec<&Case> = data.cases[i..]
            .iter()
            .take_while(|c| &c.workload == wl)
            .collect();
        i += group.len();
        let rts: Vec<&String> = data
            .rts
            .iter()
            .filter(|rt| group.iter().any(|c| data.has(c, rt)))
            .collect();
        let _ = writeln!(w, "### {wl}\n");
        let _ = write!(w, "| case | metric |");
        for rt in &rts {
            let _ = write!(w, " {} |", cell(rt));
        }
        let _ = write!(w, "\n|---|---|");
        for _ in &rts {
            let _ = write!(w, "--:|");
        }
        w.push('\n');
        for case in &group {
            for m in &case.metrics {
                let _ = write!(
                    w,
                    "| {} | {} ({}, {}) |",
                    cell(&case.case),
                    cell(&m.name),
                    cell(&m.unit),
                    m.better.as_str()
                );
                for rt in &rts {
                    let Some(rec) = data.find(case, &m.name, rt) else {
                        w.push_str(" — |");
                        continue;
                    };
                    let mut text = spread(data, rec);
                    if let Some(c) = compare(data, case, m, rt) {
                        let _ = write!(
                            text,
                            " · {}{}",
                            mark(c.ratio),
                            if c.fallback { " †" } else { "" }
                        );
                    }
                    let _ = write!(w, " {} |", cell(&text));
                }
                w.push('\n');
            }
        }
        w.push('\n');
    }
}

// ---------------------------------------------------------------------------
// SVG
// ---------------------------------------------------------------------------

/// Width of the chart in pixels.
const SVG_W: f64 = 900.0;
/// Right end of the label column.
const SVG_LABEL_X: f64 = 330.0;
/// Left and right ends of the plotting area.
const SVG_PLOT: (f64, f64) = (340.0, 820.0);
/// Height of one bar's row.
const SVG_ROW: f64 = 20.0;
/// Space above the first row (title and axis labels).
const SVG_TOP: f64 = 56.0;
/// Space below the last row (legend).
const SVG_BOTTOM: f64 = 48.0;
/// Longest label drawn in full (characters); longer ones end in `…`.
const SVG_LABEL_MAX: usize = 46;
/// Largest |log2 ratio| the axis spans (32×); longer bars are clipped and end
/// in an arrowhead (the value is still printed).
const SVG_MAX_LOG2: i32 = 5;

/// The chart: one horizontal bar per finite headline ratio, log2 scale
/// centred on 1×, green when ≥ 1, red when < 1.
fn svg(comps: &[Comparison]) -> String {
    let bars: Vec<&Comparison> = comps
        .iter()
        .filter(|c| c.ratio.is_finite() && c.ratio > 0.0)
        .collect();
    let rows = bars.len().max(1) as f64;
    let h = SVG_TOP + rows * SVG_ROW + SVG_BOTTOM;
    let span = bars
        .iter()
        .map(|c| c.ratio.log2().abs())
        .fold(0.0f64, f64::max)
        .ceil()
        .clamp(1.0, SVG_MAX_LOG2 as f64);
    let k = span as i32;
    let (x0, x1) = SVG_PLOT;
    let cx = (x0 + x1) / 2.0;
    let unit = (x1 - x0) / 2.0 / span;
    let mut o = String::new();
    let w = &mut o;
    let _ = writeln!(
        w,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{SVG_W}" height="{h}" viewBox="0 0 {SVG_W} {h}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">"#
    );
    let _ = writeln!(
        w,
        r#"<rect x="0" y="0" width="{SVG_W}" height="{h}" fill="white"/>"#
    );
    let _ = writeln!(
        w,
        r#"<text x="{}" y="18" text-anchor="middle" font-size="14" font-weight="bold">{}</text>"#,
        SVG_W / 2.0,
        xml("tempo's advantage on each headline metric (log2 scale; > 1× = tempo ahead)")
    );
    let y_axis = SVG_TOP - 8.0;
    let y_end = SVG_TOP + rows * SVG_ROW;
    // Row backgrounds: alternate per workload.
    let mut shade = false;
    let mut last: Option<&str> = None;
    for (i, c) in bars.iter().enumerate() {
        if last != Some(c.case.workload.as_str()) {
            shade = !shade;
            last = Some(c.case.workload.as_str());
        }
        if shade {
            let _ = writeln!(
                w,
                r##"<rect x="0" y="{}" width="{SVG_W}" height="{SVG_ROW}" fill="#f2f2f2"/>"##,
                SVG_TOP + i as f64 * SVG_ROW
            );
        }
    }
    // Grid and axis labels at every power of two.
    for i in -k..=k {
        let x = cx + i as f64 * unit;
        let label = match i {
            0 => "1×".to_string(),
            i if i > 0 => format!("{}×", 1u64 << i),
            i => format!("1/{}×", 1u64 << -i),
        };
        let (stroke, width) = if i == 0 {
            ("#000000", 1.5)
        } else {
            ("#cccccc", 1.0)
        };
        let _ = writeln!(
            w,
            r#"<line x1="{x:.1}" y1="{y_axis}" x2="{x:.1}" y2="{y_end}" stroke="{stroke}" stroke-width="{width}"/>"#
        );
        let _ = writeln!(
            w,
            r##"<text x="{x:.1}" y="{}" text-anchor="middle" fill="#555555">{}</text>"##,
            y_axis - 4.0,
            xml(&label)
        );
    }
    if bars.is_empty() {
        let _ = writeln!(
            w,
            r#"<text x="{cx}" y="{}" text-anchor="middle">no comparable headline ratios</text>"#,
            SVG_TOP + 14.0
        );
    }
    for (i, c) in bars.iter().enumerate() {
        let y = SVG_TOP + i as f64 * SVG_ROW;
        let raw = c.ratio.log2();
        let clipped = raw.abs() > span;
        // A clipped bar stops 8 px short of the axis end; an arrowhead fills the rest.
        let len = if clipped {
            span * unit - 8.0
        } else {
            raw.abs() * unit
        };
        let (bx, bw) = if raw >= 0.0 {
            (cx, len)
        } else {
            (cx - len, len)
        };
        let color = if c.ratio >= 1.0 { "#2e7d32" } else { "#c62828" };
        let mut label = format!(
            "{} vs {}{}",
            c.case.id(),
            c.peer,
            if c.fallback { " †" } else { "" }
        );
        if label.chars().count() > SVG_LABEL_MAX {
            label = label.chars().take(SVG_LABEL_MAX - 1).collect::<String>() + "…";
        }
        let tip = format!(
            "{} {} ({}, {}): tempo ({}{}) {} vs {} {} = {}×",
            c.case.id(),
            c.metric.name,
            c.metric.unit,
            c.metric.better.as_str(),
            c.tempo,
            if c.fallback { ", no tempo-ct row" } else { "" },
            fmt(c.tempo_median),
            c.peer,
            fmt(c.peer_median),
            fmt_ratio(c.ratio)
        );
        let _ = writeln!(w, "<g><title>{}</title>", xml(&tip));
        if clipped {
            let (base, tip) = if raw >= 0.0 {
                (cx + len, cx + len + 8.0)
            } else {
                (cx - len, cx - len - 8.0)
            };
            let _ = writeln!(
                w,
                r#"<polygon points="{base:.1},{:.1} {tip:.1},{:.1} {base:.1},{:.1}" fill="{color}"/>"#,
                y + 2.0,
                y + 10.0,
                y + 18.0
            );
        }
        let _ = writeln!(
            w,
            r#"<text x="{SVG_LABEL_X}" y="{:.1}" text-anchor="end">{}</text>"#,
            y + 14.0,
            xml(&label)
        );
        let _ = writeln!(
            w,
            r#"<rect x="{bx:.1}" y="{:.1}" width="{:.1}" height="12" fill="{color}"/>"#,
            y + 4.0,
            bw.max(1.0)
        );
        let _ = writeln!(
            w,
            r#"<text x="{}" y="{:.1}" text-anchor="end" fill="{color}" font-weight="bold">{}</text></g>"#,
            SVG_W - 8.0,
            y + 14.0,
            xml(&format!("{}×", fmt_ratio(c.ratio)))
        );
    }
    let legend = [
        format!(
            "green: tempo ahead (≥ 1×), red: behind; an arrow: beyond {}×. Hover a bar for the medians.",
            1u64 << k
        ),
        "tokio-mt, smol-mt, twin vs tempo-mt; tokio-ct, smol-local vs tempo-ct († vs tempo-mt: the case has no tempo-ct)"
            .to_string(),
    ];
    for (i, text) in legend.iter().enumerate() {
        let _ = writeln!(
            w,
            r##"<text x="{}" y="{}" text-anchor="middle" fill="#555555">{}</text>"##,
            SVG_W / 2.0,
            y_end + 20.0 + 16.0 * i as f64,
            xml(text)
        );
    }
    w.push_str("</svg>\n");
    o
}

// ---------------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------------

/// Command-line options.
struct Opts {
    /// Directory of the `*.tsv` inputs and the SVG.
    results: PathBuf,
    /// The Markdown output.
    out: PathBuf,
    /// The `Cargo.lock` to read versions from.
    lock: PathBuf,
}

/// Usage text.
const USAGE: &str = "usage: report [--results DIR] [--out FILE] [--lock FILE]
  --results DIR  where the *.tsv inputs are; ratios.svg is written there too (default: benches/results)
  --out FILE     the Markdown report (default: benches/RESULTS.md)
  --lock FILE    Cargo.lock to read crate versions from (default: the workspace's)";

/// Parses the command line; `Err` is the message to print before the usage.
fn parse_opts(args: impl Iterator<Item = String>) -> Result<Opts, String> {
    let mut o = Opts {
        results: DEFAULT_RESULTS.into(),
        out: DEFAULT_OUT.into(),
        lock: DEFAULT_LOCK.into(),
    };
    let mut args = args;
    while let Some(a) = args.next() {
        let mut val = || args.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--results" => o.results = val()?.into(),
            "--out" => o.out = val()?.into(),
            "--lock" => o.lock = val()?.into(),
            "-h" | "--help" => return Err(String::new()),
            _ => return Err(format!("unknown argument {a:?}")),
        }
    }
    Ok(o)
}

/// `to` relative to directory `from` when it lies under it, else `to` as given.
fn shown_path(from: &Path, to: &Path) -> String {
    if let (Ok(f), Ok(t)) = (from.canonicalize(), to.canonicalize()) {
        if let Ok(rel) = t.strip_prefix(&f) {
            return rel.display().to_string();
        }
    }
    to.display().to_string()
}

/// The last component of `path` (`/x/results/suite.tsv` → `suite.tsv`).
fn file_name(path: &str) -> String {
    Path::new(path)
        .file_name()
        .map_or_else(|| path.to_string(), |n| n.to_string_lossy().into_owned())
}

/// Writes `text` to `path` through a temporary file and a rename.
fn write_file(path: &Path, text: &str) -> Result<(), String> {
    let tmp = PathBuf::from(format!("{}.tmp", path.display()));
    std::fs::write(&tmp, text).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path)
        .map_err(|e| format!("cannot rename {} to {}: {e}", tmp.display(), path.display()))
}

/// Reads, checks, renders and writes; the message of an error is printed by [`main`].
fn run(o: &Opts) -> Result<(), String> {
    let entries = std::fs::read_dir(&o.results)
        .map_err(|e| format!("cannot read {}: {e}", o.results.display()))?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "tsv") && p.is_file())
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Err(format!(
            "no *.tsv in {}: run `bash benches/run.sh` (or the suite/echo binaries) first",
            o.results.display()
        ));
    }
    let out_dir = match o.out.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut files = Vec::new();
    for p in &paths {
        let text =
            std::fs::read_to_string(p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
        let name = p.display().to_string();
        files.push((shown_path(&out_dir, p), name, text));
    }
    let data = parse_all(&files)?;
    let lock = std::fs::read_to_string(&o.lock).ok();
    let previous = match std::fs::read_to_string(&o.out) {
        Ok(t) => Some(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(format!("cannot read the previous {}: {e}", o.out.display())),
    };
    let svg_path = o.results.join(SVG_NAME);
    // The SVG may not exist yet: link to it through its directory.
    let svg_link = match shown_path(&out_dir, &o.results) {
        dir if dir.is_empty() => SVG_NAME.to_string(),
        dir => format!("{}/{SVG_NAME}", dir.trim_end_matches('/')),
    };
    let md = markdown(
        &data,
        &Context {
            lock: lock.as_deref(),
            previous: previous.as_deref(),
            svg_link: &svg_link,
        },
    )?;
    let chart = svg(&headline_comparisons(&data));
    write_file(&svg_path, &chart)?;
    write_file(&o.out, &md)?;
    let comps = headline_comparisons(&data);
    let finite = comps.iter().filter(|c| c.ratio.is_finite()).count();
    let wins = comps.iter().filter(|c| c.ratio > 1.0).count();
    eprintln!(
        "report: {} rows from {} file(s); tempo ahead in {wins} of {finite} headline pairs; wrote {} and {}",
        data.recs.len(),
        data.sources.len(),
        o.out.display(),
        svg_path.display()
    );
    Ok(())
}

fn main() -> ExitCode {
    let o = match parse_opts(std::env::args().skip(1)) {
        Ok(o) => o,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("report: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&o) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("report: {e}");
            ExitCode::from(1)
        }
    }
}

/// Unit tests: pairing, ratio direction, headline, analysis preservation, input errors, SVG.
#[cfg(test)]
mod tests {
    use super::*;

    /// A TSV line with the given samples.
    fn line(w: &str, c: &str, m: &str, better: &str, rt: &str, samples: &[f64]) -> String {
        let r = Row {
            workload: w.into(),
            case: c.into(),
            metric: m.into(),
            unit: "u".into(),
            better: Better::parse(better).unwrap(),
            rt: rt.into(),
            samples: samples.to_vec(),
        };
        r.to_line()
    }

    /// The report of `d` with no lock file and no previous `RESULTS.md`.
    fn fresh_markdown(d: &Data) -> String {
        markdown(
            d,
            &Context {
                lock: None,
                previous: None,
                svg_link: "results/ratios.svg",
            },
        )
        .unwrap()
    }

    /// Parses one file named `t.tsv`.
    fn data(text: &str) -> Result<Data, String> {
        parse_all(&[("results/t.tsv".into(), "t.tsv".into(), text.into())])
    }

    /// Invariant 2, the rule itself.
    #[test]
    fn pairing_rule() {
        for p in ["tokio-mt", "smol-mt", "twin"] {
            assert_eq!(paired_tempo(p, true), Some("tempo-mt"), "{p}");
            assert_eq!(paired_tempo(p, false), Some("tempo-mt"), "{p}");
        }
        for p in ["tokio-ct", "smol-local"] {
            assert_eq!(paired_tempo(p, true), Some("tempo-ct"), "{p}");
            assert_eq!(paired_tempo(p, false), Some("tempo-mt"), "{p}");
        }
        for p in ["mio", "tempo-mt", "tempo-ct", "glommio"] {
            assert_eq!(paired_tempo(p, true), None, "{p}");
        }
    }

    /// Invariants 2 and 3 on parsed data: tempo-ct when the case has it, else tempo-mt (†); mio only as the floor.
    #[test]
    fn pairing_uses_the_cases_tempo_ct_row() {
        let text = [
            line("1-a", "x", "time", "lower", "tempo-mt", &[1.0]),
            line("1-a", "x", "time", "lower", "tempo-ct", &[4.0]),
            line("1-a", "x", "time", "lower", "tokio-ct", &[2.0]),
            line("7-echo", "y", "rate", "higher", "tempo-mt", &[10.0]),
            line("7-echo", "y", "rate", "higher", "tokio-ct", &[5.0]),
            line("7-echo", "y", "rate", "higher", "mio", &[12.0]),
        ]
        .join("\n");
        let d = data(&text).unwrap();
        let cs = headline_comparisons(&d);
        assert_eq!(cs.len(), 2, "mio is not a peer");
        assert_eq!((cs[0].tempo, cs[0].fallback), ("tempo-ct", false));
        assert_eq!(cs[0].ratio, 0.5, "lower: peer / tempo-ct = 2 / 4");
        assert_eq!((cs[1].tempo, cs[1].fallback), ("tempo-mt", true));
        assert_eq!(cs[1].ratio, 2.0, "higher: tempo-mt / peer = 10 / 5");
        let (p, _, _) = floor_pct(&d, &d.cases[1]).unwrap();
        assert!((p - 100.0 * 10.0 / 12.0).abs() < 1e-9);
    }

    /// Invariant 1: > 1 means tempo ahead for both directions; marks and formatting.
    #[test]
    fn ratio_direction() {
        // tempo faster on a lower-is-better metric, higher rate on a higher one: both > 1.
        let text = [
            line("1-a", "t", "time", "lower", "tempo-mt", &[1.0, 2.0, 3.0]),
            line("1-a", "t", "time", "lower", "tokio-mt", &[6.0, 5.0, 4.0]),
            line("1-a", "r", "rate", "higher", "tempo-mt", &[9.0]),
            line("1-a", "r", "rate", "higher", "tokio-mt", &[3.0]),
            line("1-a", "s", "rate", "higher", "tempo-mt", &[1.0]),
            line("1-a", "s", "rate", "higher", "tokio-mt", &[4.0]),
        ]
        .join("\n");
        let d = data(&text).unwrap();
        let r: Vec<f64> = headline_comparisons(&d).iter().map(|c| c.ratio).collect();
        assert_eq!(r, vec![2.5, 3.0, 0.25]);
        assert_eq!(mark(2.5), "2.50× ✓");
        assert_eq!(mark(0.25), "**0.25×** ✗");
        assert_eq!(mark(1.0), "1.00× ✓");
        assert_eq!(fmt_ratio(0.999), "0.999", "never print 1.00 for a loss");
        assert_eq!(
            (fmt_ratio(81.5), fmt_ratio(106.4), fmt_ratio(1.0004)),
            ("81.5".into(), "106".into(), "1.0004".into())
        );
        assert_eq!(mark(f64::INFINITY), "n/a");
    }

    /// Invariant 4 and the bar section: first metric is the headline, every headline loss is listed.
    #[test]
    fn headline_is_first_metric_and_losses_are_listed() {
        let text = [
            line("4-f", "p", "p99", "lower", "tempo-mt", &[10.0]),
            line("4-f", "p", "rate", "higher", "tempo-mt", &[1.0]),
            line("4-f", "p", "p99", "lower", "tokio-mt", &[20.0]),
            line("4-f", "p", "rate", "higher", "tokio-mt", &[100.0]),
            line("2-y", "q", "time", "lower", "tempo-mt", &[3.0]),
            line("2-y", "q", "time", "lower", "smol-mt", &[1.5]),
        ]
        .join("\n");
        let d = data(&text).unwrap();
        assert_eq!(d.cases[0].id(), "2-y/q", "workloads in numeric order");
        assert_eq!(d.cases[1].metrics[0].name, "p99");
        let md = fresh_markdown(&d);
        assert!(md.contains("**1 of 2**"), "{md}");
        assert!(
            md.contains(
                "| 2-y/q | time (u) | smol-mt | tempo-mt | 3.000 | 1.500 | **0.50×** ✗ | 0/1 |"
            ),
            "{md}"
        );
        assert!(
            md.contains("· **0.01×** ✗"),
            "the detail table shows non-headline losses too"
        );
        assert!(md.contains("![ratios](results/ratios.svg)"));
    }

    /// Invariant 11: paired reps are counted beside the medians, and a
    /// median loss whose reps disagree is still a loss.
    #[test]
    fn paired_reps_are_counted_beside_the_medians() {
        // Every row of this test: case `2-y/a`, metric `time` (lower is better).
        let row = |rt: &str, samples: &[f64]| line("2-y", "a", "time", "lower", rt, samples);
        let text = [
            // tempo ahead in every rep.
            row("tempo-mt", &[1.0, 1.0, 1.0, 1.0, 1.0]),
            row("tokio-mt", &[2.0, 2.0, 2.0, 2.0, 2.0]),
            // tempo behind in every rep.
            row("smol-mt", &[0.5, 0.5, 0.5, 0.5, 0.5]),
            // Median loss (1.0 vs 0.9), but tempo ahead in two of five reps.
            row("twin", &[0.9, 1.2, 0.8, 1.5, 0.9]),
        ]
        .join("\n");
        let d = data(&text).unwrap();
        let md = fresh_markdown(&d);
        assert!(
            md.contains("**1 of 3**"),
            "the count stays on medians: {md}"
        );
        assert!(
            md.contains(
                "in every paired rep: **1**; behind in every paired rep: **1**; split (reps each \
                 way, or a tie): 1. "
            ),
            "{md}"
        );
        assert!(md.contains("| **0.90×** ✗ | 2/5 |"), "{md}");
        assert!(md.contains("| **0.50×** ✗ | 0/5 |"), "{md}");

        // Rows of two runs (two files) are not paired, nor are samples of
        // different lengths (a rep left out on one side).
        let five = [1.0, 1.0, 1.0, 1.0, 1.0];
        let d = parse_all(&[
            (
                "results/a.tsv".into(),
                "a.tsv".into(),
                [
                    row("tempo-mt", &five),
                    row("tokio-mt", &[0.5, 0.5, 0.5, 0.5]),
                ]
                .join("\n"),
            ),
            (
                "results/b.tsv".into(),
                "b.tsv".into(),
                row("twin", &[0.5; 5]),
            ),
        ])
        .unwrap();
        let md = fresh_markdown(&d);
        assert!(md.contains("**0 of 2**"), "{md}");
        assert!(
            md.contains("not judged (fewer than 5 paired reps): 2"),
            "{md}"
        );
        assert!(md.contains("| **0.50×** ✗ | 0/0 |"), "{md}");
    }

    /// Invariant 10: probe lines stay out of the machine table; the host
    /// section names the flagged cases; a malformed line is an error.
    #[test]
    fn host_probe_flags_slow_cases() {
        let rows = [
            line("1-a", "x", "time", "lower", "tempo-mt", &[1.0]),
            line("2-b", "y", "time", "lower", "tempo-mt", &[1.0]),
        ]
        .join("\n");
        let cx = Context {
            lock: None,
            previous: None,
            svg_link: "r.svg",
        };
        let probes = "# host-probe: 1-a/x 10.00 11.00\n# host-probe: 2-b/y 11.00 16.00\n";
        let md = markdown(&data(&format!("{probes}{rows}")).unwrap(), &cx).unwrap();
        assert!(md.contains("## Host phases"), "{md}");
        assert!(
            md.contains("best 10.00 µs, median 11.00 µs over 4 readings; **1 of 2 cases flagged**"),
            "{md}"
        );
        assert!(md.contains("`2-b/y`") && !md.contains("`1-a/x`"), "{md}");
        assert!(!md.contains("| host-probe |"), "{md}");
        let calm = "# host-probe: 1-a/x 10.00 11.00\n";
        let md = markdown(&data(&format!("{calm}{rows}")).unwrap(), &cx).unwrap();
        assert!(md.contains("no case flagged"), "{md}");
        let none = markdown(&data(&rows).unwrap(), &cx).unwrap();
        assert!(!none.contains("## Host phases"), "{none}");
        let bad = "# host-probe: 1-a/x ten 11\n";
        let e = markdown(&data(&format!("{bad}{rows}")).unwrap(), &cx).unwrap_err();
        assert!(e.contains("bad `# host-probe:` line"), "{e}");
    }

    /// Invariant 7: the analysis section is carried over byte for byte, created when absent, and an unclosed one is refused.
    #[test]
    fn analysis_is_preserved_verbatim() {
        let text = [
            line("1-a", "x", "time", "lower", "tempo-mt", &[1.0]),
            line("1-a", "x", "time", "lower", "twin", &[2.0]),
        ]
        .join("\n");
        let d = data(&text).unwrap();
        let cx = |prev| Context {
            lock: None,
            previous: prev,
            svg_link: "r.svg",
        };
        let fresh = markdown(&d, &cx(None)).unwrap();
        assert!(fresh.contains(&format!("{ANALYSIS_START}\n{NO_ANALYSIS}\n{ANALYSIS_END}")));
        let human = "\n## Why\n\n* `twin` loses: it has *no* timers | pipes & <tags>\n\n";
        let prev = fresh.replace(&format!("\n{NO_ANALYSIS}\n"), human);
        let again = markdown(&d, &cx(Some(&prev))).unwrap();
        assert!(
            again.contains(&format!("{ANALYSIS_START}{human}{ANALYSIS_END}")),
            "{again}"
        );
        assert_eq!(
            markdown(&d, &cx(Some(&again))).unwrap(),
            again,
            "stable over reruns"
        );
        // A previous file without markers: a fresh section.
        assert_eq!(markdown(&d, &cx(Some("# old report\n"))).unwrap(), fresh);
        // An unclosed section: refuse rather than lose text.
        let broken = format!("x {ANALYSIS_START} important");
        assert!(markdown(&d, &cx(Some(&broken)))
            .unwrap_err()
            .contains("no `<!-- /analysis -->`"));
    }

    /// Invariant 6: malformed input is an error naming the file and line.
    #[test]
    fn errors_name_file_and_line() {
        let good = line("1-a", "x", "time", "lower", "tempo-mt", &[1.0]);
        let e = data(&format!("# command: x\n{good}\n1-a\tx\ttime\n"))
            .err()
            .unwrap();
        assert!(e.starts_with("t.tsv:3: expected 10"), "{e}");
        let e = data(&format!("{good}\n{}", good.replace("lower", "lowest")))
            .err()
            .unwrap();
        assert!(e.starts_with("t.tsv:2: bad `better`"), "{e}");
        let e = data(&format!("{good}\n\n{good}")).err().unwrap();
        assert!(
            e.starts_with("t.tsv:3: duplicate row") && e.contains("first at t.tsv:1"),
            "{e}"
        );
        let other = line("1-a", "x", "time", "higher", "tokio-mt", &[1.0]);
        let e = data(&format!("{good}\n{other}")).err().unwrap();
        assert!(e.starts_with("t.tsv:2:") && e.contains("lower"), "{e}");
        let e = data(&good.replace("\t1.000\t1.000\t1.000\t1.000", "\t1.000\t1.000\t1.000\t"))
            .err()
            .unwrap();
        assert!(e.contains("t.tsv:1: no samples"), "{e}");
        let e = data(&good.replace("\t1.000\t1.000\t1.000\t", "\tx\t1.000\t1.000\t"))
            .err()
            .unwrap();
        assert!(e.contains("t.tsv:1: bad median"), "{e}");
        assert!(data("# only: metadata\n")
            .err()
            .unwrap()
            .contains("no result lines"));
        assert!(parse_all(&[]).is_err());
    }

    /// The chart escapes XML and colours wins and losses.
    #[test]
    fn svg_is_escaped_and_colored() {
        let text = [
            line("1-a", "x<&>", "time", "lower", "tempo-mt", &[1.0]),
            line("1-a", "x<&>", "time", "lower", "tokio-mt", &[2.0]),
            line("1-a", "x<&>", "time", "lower", "smol-mt", &[0.5]),
        ]
        .join("\n");
        let d = data(&text).unwrap();
        let s = svg(&headline_comparisons(&d));
        assert!(s.contains("1-a/x&lt;&amp;&gt; vs tokio-mt"), "{s}");
        assert!(!s.contains("x<&>"));
        assert!(s.contains("tempo&apos;s advantage"));
        assert!(s.contains(r##"fill="#2e7d32""##) && s.contains(r##"fill="#c62828""##));
        assert!(s.starts_with("<svg") && s.ends_with("</svg>\n"));
        let empty = svg(&[]);
        assert!(empty.contains("no comparable headline ratios"));
    }

    /// Every version of a crate that appears twice in `Cargo.lock` is listed.
    #[test]
    fn lock_versions_lists_every_package() {
        let lock = "[[package]]\nname = \"mio\"\nversion = \"0.8.11\"\n\n[[package]]\nname = \"mio\"\nversion = \"1.2.4\"\nsource = \"x\"\n";
        assert_eq!(
            lock_versions(lock),
            vec![
                ("mio".to_string(), "0.8.11".to_string()),
                ("mio".to_string(), "1.2.4".to_string())
            ]
        );
    }
}
