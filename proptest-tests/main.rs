#![cfg(not(any(feature = "loom", feature = "shuttle")))]
//! Property tests: generated sequences of operations drive the **real**
//! runtime (on a `ManualClock`), and what the tasks observe is checked
//! against a sequential reference model of `tla/Scheduler.tla`
//! (`model.rs`).
//!
//! Each generated task runs a small script of steps (`wait`, `wait_until`,
//! `wait_timeout`, `timeout(.., wait())`, `sleep`, `sleep_until`, optionally
//! preceded by a `wakeup()`/`signal()` of itself or a `yield_now()`, and
//! followed by `receive_signal()`) and logs how each step ended, the clock at
//! resumption and what `receive_signal()` returned; its future and its output
//! carry drop counters. The operations are: spawn, `wakeup`, `signal`,
//! `abort`, advance the clock, settle (run until quiescent), poll or drop a
//! `JoinHandle`, and finally shut down (drop or `shutdown_timeout`), after an
//! optional drain (wake everything and advance time until all tasks finish).
//!
//! - `caller_driven_runtime_matches_the_model` (`worker_threads(0)`):
//!   nothing runs outside `block_on`, so the run is deterministic and every
//!   settle is compared exactly with the model: each task's events (outcome,
//!   clock, deadline, `receive_signal` result), its number of polls (a
//!   wakeup burst = one run), which tasks are finished, `live_tasks`, the
//!   drop counters (future dropped exactly once: at completion, abort or
//!   shutdown; output exactly once), the `JoinHandle` results, and that the
//!   tasks released by deadlines run in deadline order, FIFO among equal
//!   deadlines.
//! - `threaded_runtime_keeps_the_order_insensitive_properties`
//!   (`worker_threads(2)`): operations race with the workers, so only what
//!   holds for every interleaving is checked: never early, steps end once and
//!   in order, no invented `Woken`/`Signaled`/received signal (counts against
//!   the calls made before), no lost wakeup/signal/deadline/abort (settle
//!   must reach quiescence within a real-time bound), exactly-once completion
//!   and drops, and that every task finishes when drained.
//!
//! - `semaphore_matches_the_model` (`semaphore.rs`): `tempo::sync::Semaphore`
//!   driven by hand-polled futures against a sequential FIFO model (poll
//!   outcomes, available permits, who was woken, conservation).
//!
//! `PROPTEST_CASES` sets the number of cases (default 256). A failing case
//! is shrunk and printed, and its seed is saved to
//! `proptest-tests/regressions/` (commit it: it is replayed first from then on).

mod harness;
mod model;
mod semaphore;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;
use std::time::Duration;

use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{FileFailurePersistence, TestCaseError};

use harness::{check_order_insensitive, Joined, Real};
use model::{Case, End, Ev, HState, MState, Model, Op, Polls, Pre, Step, StepKind};

fn config(regressions: &'static str) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(regressions))),
        max_shrink_time: 120_000,
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------- strategies

fn rel() -> impl Strategy<Value = u64> {
    // Multiples of 5 ms half of the time, so deadlines often coincide.
    prop_oneof![(0u64..=4).prop_map(|x| x * 5), 0u64..=20]
}

/// A script step; `timers`: only the kinds with a deadline.
fn step(timers: bool) -> BoxedStrategy<Step> {
    let kind = if timers {
        prop_oneof![
            2 => rel().prop_map(StepKind::WaitUntil),
            2 => rel().prop_map(StepKind::WaitTimeout),
            1 => rel().prop_map(StepKind::TimeoutWait),
            1 => rel().prop_map(StepKind::Sleep),
            1 => rel().prop_map(StepKind::SleepUntil),
        ]
        .boxed()
    } else {
        prop_oneof![
            3 => Just(StepKind::Wait),
            2 => rel().prop_map(StepKind::WaitUntil),
            2 => rel().prop_map(StepKind::WaitTimeout),
            1 => rel().prop_map(StepKind::TimeoutWait),
            1 => rel().prop_map(StepKind::Sleep),
            1 => rel().prop_map(StepKind::SleepUntil),
        ]
        .boxed()
    };
    let pre = prop_oneof![
        6 => Just(None),
        1 => Just(Some(Pre::SelfWakeup)),
        1 => Just(Some(Pre::SelfSignal)),
        1 => Just(Some(Pre::Yield)),
    ];
    (pre, kind, any::<bool>())
        .prop_map(|(pre, kind, receive)| Step { pre, kind, receive })
        .boxed()
}

/// Operations with a mix of wakeups, signals and aborts.
fn control_op() -> BoxedStrategy<Op> {
    prop_oneof![
        3 => vec(step(false), 0..5).prop_map(Op::Spawn),
        4 => (0usize..8).prop_map(Op::Wakeup),
        3 => (0usize..8).prop_map(Op::Signal),
        1 => (0usize..8).prop_map(Op::Abort),
        3 => prop_oneof![Just(0u64), 1u64..=25].prop_map(Op::Advance),
        4 => Just(Op::Settle),
        1 => (0usize..8).prop_map(Op::Join),
        1 => (0usize..8).prop_map(Op::Detach),
    ]
    .boxed()
}

/// Operations dominated by timers: many tasks parked on deadlines that the
/// clock then passes together (deadline order, FIFO among equal deadlines).
fn timer_op() -> BoxedStrategy<Op> {
    prop_oneof![
        4 => vec(step(true), 1..5).prop_map(Op::Spawn),
        1 => (0usize..8).prop_map(Op::Wakeup),
        1 => (0usize..8).prop_map(Op::Signal),
        1 => (0usize..8).prop_map(Op::Abort),
        4 => prop_oneof![(0u64..=4).prop_map(|x| x * 5), 1u64..=25].prop_map(Op::Advance),
        4 => Just(Op::Settle),
        1 => (0usize..8).prop_map(Op::Join),
        1 => (0usize..8).prop_map(Op::Detach),
    ]
    .boxed()
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop_oneof![vec(control_op(), 1..48), vec(timer_op(), 1..48)],
        any::<bool>(),
        prop_oneof![Just(End::Drop), Just(End::ShutdownTimeout)],
        any::<bool>(),
    )
        .prop_map(|(ops, drain, end, read_outputs)| Case {
            ops,
            drain,
            end,
            read_outputs,
        })
}

/// Runs `f` on its own thread; a hang becomes a failure (not a stuck CI job).
fn within(
    limit: Duration,
    f: impl FnOnce() -> Result<(), String> + Send + 'static,
) -> Result<(), String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let r = catch_unwind(AssertUnwindSafe(f));
        let _ = tx.send(r);
    });
    match rx.recv_timeout(limit) {
        Ok(Ok(r)) => r,
        Ok(Err(p)) => Err(format!(
            "panicked: {}",
            p.downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_default()
        )),
        Err(_) => Err(format!("the case did not finish within {limit:?}: hang")),
    }
}

// ------------------------------------------------------ caller-driven (exact)

/// The drain: the clock jumps far ahead and every task is woken, until the
/// model says every task has finished (a script has at most 4 steps).
const DRAIN_ROUNDS: usize = 6;
const FAR: u64 = 3_600_000;

fn run_caller_driven(case: Case) -> Result<(), String> {
    let mut real = Real::new(0);
    let mut model = Model::default();
    for (n, op) in case.ops.iter().enumerate() {
        apply_exact(&mut real, &mut model, op)
            .and_then(|()| compare_state(&real, &model))
            .map_err(|e| format!("after operation #{n} {op:?}: {e}\n{}", real.dump()))?;
    }
    if case.drain {
        for _ in 0..DRAIN_ROUNDS {
            let mut ops = vec![Op::Advance(FAR)];
            ops.extend((0..real.tasks.len()).map(Op::Wakeup));
            ops.push(Op::Settle);
            for op in &ops {
                apply_exact(&mut real, &mut model, op)
                    .and_then(|()| compare_state(&real, &model))
                    .map_err(|e| format!("drain, {op:?}: {e}\n{}", real.dump()))?;
            }
        }
        if let Some(t) = model.tasks.iter().position(|t| !t.finished()) {
            return Err(format!("model bug: t{t} unfinished after the drain"));
        }
    }
    check_order_insensitive(&real).map_err(|e| format!("{e}\n{}", real.dump()))?;
    // Shutdown drops the unfinished futures; it polls nothing.
    let (log, polls) = (real.env.log_len(), real.polls());
    real.shutdown(case.end);
    if real.env.log_len() != log || real.polls() != polls {
        return Err(format!(
            "a task was polled during shutdown\n{}",
            real.dump()
        ));
    }
    real.check_after_shutdown(case.read_outputs)
        .map_err(|e| format!("{e}\n{}", real.dump()))
}

fn apply_exact(real: &mut Real, model: &mut Model, op: &Op) -> Result<(), String> {
    match *op {
        Op::Spawn(ref script) => {
            let t = real.spawn(script);
            let m = model.spawn(script);
            assert_eq!(t, m);
        }
        Op::Wakeup(i) => {
            if let Some(t) = real.pick_any(i) {
                real.wakeup(t);
                model.wakeup(t);
            }
        }
        Op::Signal(i) => {
            if let Some(t) = real.pick_any(i) {
                real.signal(t);
                model.signal(t);
            }
        }
        Op::Abort(i) => {
            if let Some(t) = real.pick_held(i) {
                real.abort(t);
                model.abort(t);
            }
        }
        Op::Advance(d) => {
            real.advance(d);
            model.advance(d);
        }
        Op::Settle => settle_exact(real, model)?,
        Op::Join(i) => {
            if let Some(t) = real.pick_held(i) {
                let got = real.join(t);
                let m = &mut model.tasks[t];
                let want = match m.state {
                    MState::Done => Joined::Ok {
                        task: t,
                        steps: m.script.len(),
                    },
                    MState::Cancelled => Joined::Cancelled,
                    _ => Joined::Pending,
                };
                if got != want {
                    return Err(format!(
                        "joining t{t} gave {got:?}, the model says {want:?}"
                    ));
                }
                if want != Joined::Pending {
                    m.handle = HState::Joined;
                }
            }
        }
        Op::Detach(i) => {
            if let Some(t) = real.pick_held(i) {
                real.detach(t);
                model.tasks[t].handle = HState::Detached;
            }
        }
    }
    Ok(())
}

fn settle_exact(real: &mut Real, model: &mut Model) -> Result<(), String> {
    let expiry = model.expiry_driven();
    let predicted = model.settle();
    let polls_before = real.polls();
    let log_before = real.env.log_len();
    let iterations = real.settle_caller_driven()?;
    real.trace
        .push(format!("settle ({iterations} worker-loop iterations)"));
    let recs = real.env.log_since(log_before);
    let polls_after = real.polls();
    for (t, p) in predicted.iter().enumerate() {
        let got: Vec<Ev> = recs
            .iter()
            .filter(|r| r.task == t)
            .map(|r| r.ev.clone())
            .collect();
        if got != p.events {
            return Err(format!(
                "t{t} (script {:?}): the settle logged\n  {got:?}\nthe model predicts\n  {:?}",
                model.tasks[t].script, p.events
            ));
        }
        let polls = polls_after[t] - polls_before[t];
        let ok = match p.polls {
            Polls::Exactly(n) => polls == n,
            Polls::AtLeast(n) => polls >= n,
        };
        if !ok {
            return Err(format!(
                "t{t} was polled {polls} times in the settle, the model says {:?}",
                p.polls
            ));
        }
    }
    // The tasks released only by their deadlines leave the waiting heap in
    // deadline order, FIFO (by when they parked) among equal deadlines.
    let mut order = Vec::new();
    for r in &recs {
        if let Some(&(t, d)) = expiry.iter().find(|(t, _)| *t == r.task) {
            if !order.iter().any(|&(u, _, _)| u == t) {
                let park = r
                    .park_seq
                    .ok_or_else(|| format!("t{t} resumed by its deadline without having parked"))?;
                order.push((t, d, park));
            }
        }
    }
    if order.len() != expiry.len() {
        return Err(format!(
            "deadline-driven tasks {expiry:?} did not all resume: {order:?}"
        ));
    }
    if order
        .windows(2)
        .any(|w| (w[0].1, w[0].2) > (w[1].1, w[1].2))
    {
        return Err(format!(
            "deadline-driven tasks resumed out of (deadline, park order): \
             [(task, deadline ms, park seq)] = {order:?}"
        ));
    }
    Ok(())
}

/// Drop counters, finished flags, held handles and `live_tasks` agree with the model.
fn compare_state(real: &Real, model: &Model) -> Result<(), String> {
    for (t, m) in model.tasks.iter().enumerate() {
        let k = &real.tasks[t];
        let finished = m.finished();
        let drops = k.obs.fut_drops.load(std::sync::atomic::Ordering::SeqCst);
        let outs = k.obs.out_drops.load(std::sync::atomic::Ordering::SeqCst);
        let want_outs = (m.state == MState::Done && m.handle != HState::Held) as usize;
        if drops != finished as usize {
            return Err(format!(
                "t{t} ({:?}): its future was dropped {drops} times, the model says {}",
                m.state, finished as usize
            ));
        }
        if outs != want_outs {
            return Err(format!(
                "t{t} ({:?}, handle {:?}): its output was dropped {outs} times, the model says {want_outs}",
                m.state, m.handle
            ));
        }
        if k.tref.is_finished() != finished {
            return Err(format!(
                "t{t}: TaskRef::is_finished() = {}, the model says {:?}",
                k.tref.is_finished(),
                m.state
            ));
        }
        if let Some(jh) = &k.jh {
            if jh.is_finished() != finished {
                return Err(format!(
                    "t{t}: JoinHandle::is_finished() = {}, the model says {:?}",
                    jh.is_finished(),
                    m.state
                ));
            }
        }
    }
    let live = real.handle.live_tasks();
    if live != model.live() {
        return Err(format!(
            "live_tasks() = {live}, the model says {}",
            model.live()
        ));
    }
    Ok(())
}

// ---------------------------------------------- threaded (order-insensitive)

const SETTLE_LIMIT: Duration = Duration::from_secs(10);

fn run_threaded(case: Case) -> Result<(), String> {
    let mut real = Real::new(2);
    for (n, op) in case.ops.iter().enumerate() {
        apply_threaded(&mut real, op)
            .map_err(|e| format!("after operation #{n} {op:?}: {e}\n{}", real.dump()))?;
    }
    if case.drain {
        for _ in 0..DRAIN_ROUNDS {
            if real.tasks.iter().all(|k| k.tref.is_finished()) {
                break;
            }
            real.advance(FAR);
            for t in 0..real.tasks.len() {
                real.wakeup(t);
            }
            real.settle_threaded(SETTLE_LIMIT)
                .map_err(|e| format!("drain: {e}\n{}", real.dump()))?;
        }
        if let Some(t) = real.tasks.iter().position(|k| !k.tref.is_finished()) {
            return Err(format!(
                "t{t} did not finish although every task was woken and the clock advanced \
                 {DRAIN_ROUNDS} times\n{}",
                real.dump()
            ));
        }
    }
    check_order_insensitive(&real).map_err(|e| format!("{e}\n{}", real.dump()))?;
    // Without a drain this shuts down while tasks may be running.
    real.shutdown(case.end);
    real.check_after_shutdown(case.read_outputs)
        .and_then(|()| check_order_insensitive(&real))
        .map_err(|e| format!("{e}\n{}", real.dump()))
}

fn apply_threaded(real: &mut Real, op: &Op) -> Result<(), String> {
    match *op {
        Op::Spawn(ref script) => {
            real.spawn(script);
        }
        Op::Wakeup(i) => {
            if let Some(t) = real.pick_any(i) {
                real.wakeup(t);
            }
        }
        Op::Signal(i) => {
            if let Some(t) = real.pick_any(i) {
                real.signal(t);
            }
        }
        Op::Abort(i) => {
            if let Some(t) = real.pick_held(i) {
                real.abort(t);
            }
        }
        Op::Advance(d) => real.advance(d),
        Op::Settle => {
            real.settle_threaded(SETTLE_LIMIT)?;
            check_order_insensitive(real)?;
        }
        Op::Join(i) => {
            if let Some(t) = real.pick_held(i) {
                let got = real.join(t);
                let done = real.done_tasks()[t];
                match got {
                    Joined::Pending => {}
                    Joined::Ok { task, steps } => {
                        if (task, steps) != (t, real.tasks[t].len) || !done {
                            return Err(format!(
                                "joining t{t} gave Ok(t{task}, {steps} steps); it logged Done: {done}"
                            ));
                        }
                    }
                    Joined::Cancelled => {
                        if !real.tasks[t].aborted || done {
                            return Err(format!(
                                "joining t{t} gave Cancelled; aborted: {}, returned: {done}",
                                real.tasks[t].aborted
                            ));
                        }
                    }
                    Joined::Panicked(m) => return Err(format!("t{t} panicked: {m}")),
                }
            }
        }
        Op::Detach(i) => {
            if let Some(t) = real.pick_held(i) {
                real.detach(t);
            }
        }
    }
    Ok(())
}

// -------------------------------------------------------------------- tests

proptest! {
    #![proptest_config(config("proptest-tests/regressions/caller_driven.txt"))]
    #[test]
    fn caller_driven_runtime_matches_the_model(case in case()) {
        within(Duration::from_secs(30), move || run_caller_driven(case))
            .map_err(TestCaseError::fail)?;
    }
}

proptest! {
    #![proptest_config(config("proptest-tests/regressions/threaded.txt"))]
    #[test]
    fn threaded_runtime_keeps_the_order_insensitive_properties(case in case()) {
        within(Duration::from_secs(60), move || run_threaded(case))
            .map_err(TestCaseError::fail)?;
    }
}

proptest! {
    #![proptest_config(config("proptest-tests/regressions/semaphore.txt"))]
    #[test]
    fn semaphore_matches_the_model((initial, ops) in semaphore::sem_case()) {
        within(Duration::from_secs(30), move || semaphore::run_semaphore(initial, ops))
            .map_err(TestCaseError::fail)?;
    }
}
