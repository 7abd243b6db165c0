//! Trace validation (compiled only under `--features loom` / `shuttle`): the
//! core emits one abstract event at each linearisation point, and a Rust port
//! of the spec's next-state relation ([`port`]) checks every event *as the
//! model runs*; a mismatch panics inside the loom/shuttle execution, which
//! then prints its replayable schedule.
//!
//! The events are the RMWs of the task state word (`task/state.rs`: one
//! event per successful CAS, emitted before the thread's next atomic
//! operation, so no other model thread can run in between: loom and shuttle
//! switch threads only at synchronisation operations), the push to the front
//! queue, spawn, and the start of shutdown.
//!
//! With `TEMPO_TRACE_DIR` set, a sample of each test's traces (the first
//! execution and every `TEMPO_TRACE_EVERY`-th, default 997; at most
//! `TEMPO_TRACE_MAX` per test, default 3; at most `TEMPO_TRACE_EVENTS`
//! events each, default 80) is also written there as TLA+ modules that
//! `tla/check_traces.sh` checks with TLC against `tla/TraceScheduler.tla`,
//! i.e. against the TLA+ text itself: the port and the spec cannot drift apart.
//!
//! In normal builds this module does not exist: the [`trace!`] call sites
//! expand to nothing (no code, no data; `scripts/trace-zero-cost.sh` shows it).
//!
//! # Invariants
//! 1. The recorder is per OS thread: loom and shuttle run all threads of one
//!    execution on the thread that runs the test, and libtest runs each test
//!    on its own thread.
//! 2. A runtime's creation starts a fresh recording; its shutdown ends it
//!    with the final checks (every accepted task complete, no push owed).

pub(crate) mod port;

use port::{Abs, Status};
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::Write as _;

/// A traced action (names as in `tla/Scheduler.tla` where they exist).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Act {
    /// `transition_to_notified`
    Wake,
    /// `transition_to_woken`
    Wakeup,
    /// `transition_to_signaled`
    Signal,
    /// `transition_to_cancelled`
    Abort,
    /// `transition_to_running`
    StartPoll,
    /// `receive_signal`
    ReceiveSignal,
    /// `take_woken`
    ConsumeWoken,
    /// `transition_to_idle`
    PollPending {
        /// The poll registered a deadline.
        has_deadline: bool,
    },
    /// `transition_to_complete` (`PollReady`, `FinishCancel` or the second
    /// half of `ShutdownSweep`)
    Complete,
    /// `transition_to_dispatched`
    Dispatch,
    /// `transition_expired`
    Expire,
    /// `transition_to_shutdown` (first half of `ShutdownSweep`)
    ShutdownClaim,
    /// Join-handle bookkeeping (not in the spec)
    Join,
}

struct Task {
    /// 1-based index in spawn order (the spec's task `t<idx>`).
    idx: usize,
    abs: Abs,
    owed_push: u32,
    accepted: bool,
    claimed: bool,
}

struct Entry {
    action: &'static str,
    task: usize,
    after: Option<Abs>,
}

struct Recorder {
    workers: usize,
    tasks: Vec<Task>,
    by_key: HashMap<usize, usize>,
    log: Vec<Entry>,
    env_events: usize,
    /// Every event, printed on a mismatch (formatted only then).
    history: Vec<Hist>,
}

#[derive(Debug)]
enum Hist {
    Spawn {
        t: usize,
        accepted: bool,
    },
    Step {
        t: usize,
        act: Act,
        before: Abs,
        after: Abs,
    },
    Push {
        t: usize,
    },
    ShutdownBegin,
}

impl std::fmt::Display for Hist {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Hist::Spawn { t, accepted } => write!(f, "t{t}: spawn (accepted: {accepted})"),
            Hist::Step {
                t,
                act,
                before,
                after,
            } => write!(f, "t{t}: {act:?}: {before:?} -> {after:?}"),
            Hist::Push { t } => write!(f, "t{t}: push to the front queue"),
            Hist::ShutdownBegin => f.write_str("ShutdownBegin"),
        }
    }
}

thread_local! {
    static REC: RefCell<Option<Recorder>> = const { RefCell::new(None) };
    /// Per test: (executions seen, traces written).
    static WRITTEN: RefCell<HashMap<String, (usize, usize)>> = RefCell::new(HashMap::new());
}

fn fail(r: &Recorder, msg: String) -> ! {
    let mut h = String::new();
    for (i, l) in r.history.iter().enumerate() {
        let _ = writeln!(h, "  {i:3}: {l}");
    }
    panic!(
        "trace validation: the code left the spec (tla/Scheduler.tla): {msg}\n\
         events so far:\n{h}(the loom/shuttle schedule printed with this panic replays it)"
    );
}

/// A runtime with `workers` worker threads starts (invariant 2).
pub(crate) fn runtime_start(workers: usize) {
    REC.with(|r| {
        *r.borrow_mut() = Some(Recorder {
            workers: workers.max(1),
            tasks: Vec::new(),
            by_key: HashMap::new(),
            log: Vec::new(),
            env_events: 0,
            history: Vec::new(),
        })
    });
}

/// A task with state word at `key` was created; `accepted`: registered
/// (else rejected by a closed registry: never pushed, claimed at once).
pub(crate) fn spawn(key: usize, accepted: bool) {
    with(|r| {
        let idx = r.tasks.len() + 1;
        r.tasks.push(Task {
            idx,
            abs: Abs::spawned(),
            owed_push: u32::from(accepted),
            accepted,
            claimed: false,
        });
        r.by_key.insert(key, idx - 1);
        r.history.push(Hist::Spawn { t: idx, accepted });
        if accepted {
            r.log.push(Entry {
                action: "SpawnRegister",
                task: idx,
                after: Some(Abs::spawned()),
            });
        }
    });
}

/// One successful RMW of the word at `key`: `prev` → `next` under `act`.
pub(crate) fn step(act: Act, key: usize, prev: usize, next: usize) {
    with(|r| {
        let Some(&i) = r.by_key.get(&key) else {
            return; // a word of no traced task (e.g. created before the recording)
        };
        let before = Abs::from_word(prev);
        let after = Abs::from_word(next);
        let idx = r.tasks[i].idx;
        r.history.push(Hist::Step {
            t: idx,
            act,
            before,
            after,
        });
        let abs = r.tasks[i].abs;
        if before != abs {
            fail(
                r,
                format!("t{idx}: {act:?} started from {before:?}, but the spec's state is {abs:?} (a lost update: the RMW did not see the previous transition)"),
            );
        }
        let (want, push) = match port::step(act, abs) {
            Ok(x) => x,
            Err(e) => fail(r, format!("t{idx}: {e}")),
        };
        if after != want {
            fail(
                r,
                format!(
                    "t{idx}: {act:?} from {abs:?} must give {want:?}, the code wrote {after:?}"
                ),
            );
        }
        let t = &mut r.tasks[i];
        t.abs = want;
        if push {
            t.owed_push += 1;
        }
        if act == Act::ShutdownClaim
            && abs.status != Status::Running
            && abs.status != Status::Complete
        {
            t.claimed = true;
        }
        if !t.accepted {
            return;
        }
        // The TLA+ action this step is (None: a step the spec does not have:
        // a no-op, or the first half of ShutdownSweep).
        let env = |r: &mut Recorder, name| {
            r.env_events += 1;
            Some(name)
        };
        let name = match act {
            Act::Wake | Act::Wakeup | Act::Signal | Act::Abort
                if abs.status == Status::Complete =>
            {
                None
            }
            Act::Wake => env(r, "Wake"),
            Act::Wakeup => env(r, "Wakeup"),
            Act::Signal => env(r, "Signal"),
            Act::Abort => env(r, "Abort"),
            Act::StartPoll if abs.status == Status::Complete => None,
            Act::StartPoll => Some("StartPoll"),
            Act::ReceiveSignal if abs.signaled => Some("ReceiveSignal"),
            Act::ConsumeWoken if abs.woken => Some("ConsumeWoken"),
            Act::ReceiveSignal | Act::ConsumeWoken => None,
            Act::PollPending { .. } => Some("PollPending"),
            Act::Complete if r.tasks[i].claimed => Some("ShutdownSweep"),
            Act::Complete => Some("Complete"),
            Act::Dispatch => Some("SchedDispatch"),
            Act::Expire => Some("SchedExpire"),
            Act::ShutdownClaim | Act::Join => None,
        };
        if let Some(action) = name {
            r.log.push(Entry {
                action,
                task: idx,
                after: Some(want),
            });
        }
    });
}

/// The task at `key` is pushed to the front queue (`AtMostOnePlace`: a push
/// must be owed).
pub(crate) fn push(key: usize) {
    with(|r| {
        let Some(&i) = r.by_key.get(&key) else { return };
        let idx = r.tasks[i].idx;
        r.history.push(Hist::Push { t: idx });
        if r.tasks[i].owed_push == 0 {
            fail(
                r,
                format!("t{idx} pushed to the front queue with no push owed (it would be in two places: AtMostOnePlace)"),
            );
        }
        r.tasks[i].owed_push -= 1;
        if r.tasks[i].accepted {
            r.log.push(Entry {
                action: "PushFront",
                task: idx,
                after: None,
            });
        }
    });
}

/// `Shared::begin_shutdown`.
pub(crate) fn shutdown_begin() {
    with(|r| {
        r.history.push(Hist::ShutdownBegin);
        r.log.push(Entry {
            action: "ShutdownBegin",
            task: 0,
            after: None,
        });
    });
}

/// The runtime finished shutting down: final checks, then maybe write the
/// trace for TLC (invariant 2).
pub(crate) fn runtime_end() {
    let Some(r) = REC.with(|r| r.borrow_mut().take()) else {
        return;
    };
    for t in &r.tasks {
        if t.abs.status != Status::Complete {
            fail(
                &r,
                format!("t{}: not complete after shutdown ({:?})", t.idx, t.abs),
            );
        }
    }
    write_tla(&r);
}

fn with(f: impl FnOnce(&mut Recorder)) {
    REC.with(|r| {
        if let Some(rec) = r.borrow_mut().as_mut() {
            f(rec);
        }
    });
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Writes the trace as a TLA+ module extending `TraceScheduler` (module docs).
fn write_tla(r: &Recorder) {
    let Some(dir) = std::env::var_os("TEMPO_TRACE_DIR") else {
        return;
    };
    if r.log.is_empty() || r.log.len() > env_usize("TEMPO_TRACE_EVENTS", 80) {
        return;
    }
    let test = std::thread::current()
        .name()
        .unwrap_or("model")
        .replace(|c: char| !c.is_ascii_alphanumeric(), "_");
    // Sample: the first execution of each test and every `TEMPO_TRACE_EVERY`-th
    // (default 997) after it, at most `TEMPO_TRACE_MAX` (default 3) per test.
    let (seen, written) = WRITTEN.with(|w| {
        let mut w = w.borrow_mut();
        let e = w.entry(test.clone()).or_insert((0, 0));
        e.0 += 1;
        (e.0, e.1)
    });
    let every = env_usize("TEMPO_TRACE_EVERY", 997).max(1);
    if written >= env_usize("TEMPO_TRACE_MAX", 3) || (seen != 1 && seen % every != 0) {
        return;
    }
    let n = written + 1;
    WRITTEN.with(|w| w.borrow_mut().get_mut(&test).expect("entry above").1 = n);
    let module = format!("trace_{test}_{n}");
    let mut s = format!(
        "---- MODULE {module} ----\n\\* Generated by tempo's trace recorder (src/trace/mod.rs); checked by tla/check_traces.sh.\nEXTENDS TraceScheduler\n\n"
    );
    let _ = writeln!(
        s,
        "TraceTasks == 1..{}",
        r.tasks.iter().filter(|t| t.accepted).count().max(1)
    );
    let ws: Vec<String> = (1..=r.workers).map(|w| format!("\"w{w}\"")).collect();
    let _ = writeln!(s, "TraceWorkers == {{{}}}", ws.join(", "));
    let _ = writeln!(s, "TraceBudget == {}", r.env_events);
    s.push_str("TraceLog == <<\n");
    for (k, e) in r.log.iter().enumerate() {
        let sep = if k + 1 == r.log.len() { "" } else { "," };
        let a = e.after.unwrap_or(Abs::spawned());
        let _ = writeln!(
            s,
            "  [a |-> \"{}\", t |-> {}, chk |-> {}, st |-> \"{}\", nt |-> {}, ca |-> {}, wo |-> {}, si |-> {}]{sep}",
            e.action,
            e.task,
            if e.after.is_some() { "TRUE" } else { "FALSE" },
            a.status.tla(),
            tla_bool(a.notified),
            tla_bool(a.cancelled),
            tla_bool(a.woken),
            tla_bool(a.signaled),
        );
    }
    s.push_str(">>\n====\n");
    let dir = std::path::PathBuf::from(dir);
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(dir.join(format!("{module}.tla")), s);
}

fn tla_bool(b: bool) -> &'static str {
    if b {
        "TRUE"
    } else {
        "FALSE"
    }
}
