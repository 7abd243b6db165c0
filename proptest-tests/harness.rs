//! The real side: instrumented task scripts on a real `tempo` runtime with a
//! `ManualClock`, the quiescence ("settle") predicate, and the checks that
//! hold whatever the interleaving (used by both tests).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::FutureExt;
use tempo::task::{
    self, receive_signal, wait, wait_timeout, wait_until, yield_now, TaskRef, WaitOutcome,
};
use tempo::time::{sleep, sleep_until, timeout, ManualClock};
use tempo::{Handle, JoinHandle, Runtime};

use crate::model::{ms, End, Ev, Outcome, Pre, Step, StepKind};

/// Where a real task is, as its own code last reported it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Park {
    NotStarted,
    /// Inside a poll, between two steps (or just resumed).
    Active,
    /// The step future returned `Pending`; `seq` orders that moment against
    /// every logged event and every operation of the test thread.
    Parked {
        seq: u64,
        /// The latest the step's deadline can be (exact when the clock did
        /// not move while the step started).
        deadline: Option<Duration>,
    },
    Done,
}

/// Counters of one task, shared by its future, its output and the test.
pub struct TaskObs {
    pub polls: AtomicUsize,
    /// Drops of the task's future (the `Instrumented` wrapper).
    pub fut_drops: AtomicUsize,
    /// Drops of the task's output value.
    pub out_drops: AtomicUsize,
    pub park: Mutex<Park>,
}

impl TaskObs {
    fn new() -> Arc<TaskObs> {
        Arc::new(TaskObs {
            polls: AtomicUsize::new(0),
            fut_drops: AtomicUsize::new(0),
            out_drops: AtomicUsize::new(0),
            park: Mutex::new(Park::NotStarted),
        })
    }
    pub fn park(&self) -> Park {
        *self.park.lock().unwrap()
    }
    fn set_park(&self, p: Park) {
        *self.park.lock().unwrap() = p;
    }
}

/// One logged event.
#[derive(Clone, Debug)]
pub struct Rec {
    /// Position in the global order (shared with `Call::seq` and `Park::Parked::seq`).
    pub seq: u64,
    pub task: usize,
    pub ev: Ev,
    /// The seq of the step's last `Pending` before it resumed (FIFO checks).
    pub park_seq: Option<u64>,
}

/// State shared by the test thread and every task.
pub struct Env {
    pub clock: ManualClock,
    /// `clock.now()` when the case started: times are logged relative to it.
    pub base: Instant,
    seq: AtomicU64,
    log: Mutex<Vec<Rec>>,
    /// Every `wakeup`/`signal`/`abort` made, by the test thread or by a task on itself.
    calls: Mutex<Vec<Call>>,
}

impl Env {
    fn new(clock: ManualClock) -> Arc<Env> {
        Arc::new(Env {
            base: clock.now(),
            clock,
            seq: AtomicU64::new(1),
            log: Mutex::new(Vec::new()),
            calls: Mutex::new(Vec::new()),
        })
    }
    pub fn now(&self) -> Duration {
        self.clock.now() - self.base
    }
    pub fn next_seq(&self) -> u64 {
        self.seq.fetch_add(1, SeqCst)
    }
    fn push(&self, task: usize, ev: Ev, park_seq: Option<u64>) {
        let mut l = self.log.lock().unwrap();
        let seq = self.next_seq();
        l.push(Rec {
            seq,
            task,
            ev,
            park_seq,
        });
    }
    /// Records a call about to be made (its seq is taken first).
    fn call(&self, task: usize, kind: CallKind) -> u64 {
        let mut c = self.calls.lock().unwrap();
        let seq = self.next_seq();
        c.push(Call { seq, task, kind });
        seq
    }
    pub fn calls(&self) -> Vec<Call> {
        self.calls.lock().unwrap().clone()
    }
    pub fn log_len(&self) -> usize {
        self.log.lock().unwrap().len()
    }
    pub fn log_since(&self, from: usize) -> Vec<Rec> {
        self.log.lock().unwrap()[from..].to_vec()
    }
}

/// The task's output: carries a drop counter (exactly-once output drop).
pub struct Output {
    pub task: usize,
    pub steps: usize,
    _g: OutGuard,
}

struct OutGuard(Arc<TaskObs>);
impl Drop for OutGuard {
    fn drop(&mut self) {
        self.0.out_drops.fetch_add(1, SeqCst);
    }
}

/// The future handed to `spawn`: counts its polls and its drop.
struct Instrumented {
    inner: Pin<Box<dyn Future<Output = Output> + Send>>,
    obs: Arc<TaskObs>,
}

impl Future for Instrumented {
    type Output = Output;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Output> {
        self.obs.polls.fetch_add(1, SeqCst);
        self.inner.as_mut().poll(cx)
    }
}

impl Drop for Instrumented {
    fn drop(&mut self) {
        self.obs.fut_drops.fetch_add(1, SeqCst);
    }
}

/// Wraps one step's future: records `Parked` on every `Pending`.
struct Parking<'a, F: Future> {
    inner: Pin<Box<F>>,
    env: &'a Env,
    obs: &'a TaskObs,
    deadline_hi: Option<Duration>,
    last_park: Option<u64>,
    /// A timer of this length armed by the first `Pending` poll (`timeout`
    /// reads the clock only then): `deadline_hi` is fixed at that moment.
    armed_on_pending: Option<Duration>,
}

impl<F: Future> Future for Parking<'_, F> {
    type Output = (F::Output, Option<u64>);
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        match this.inner.as_mut().poll(cx) {
            Poll::Ready(v) => {
                this.obs.set_park(Park::Active);
                Poll::Ready((v, this.last_park))
            }
            Poll::Pending => {
                if let Some(r) = this.armed_on_pending.take() {
                    // The timer read the clock during this poll, no later than now.
                    this.deadline_hi = Some(this.env.now() + r);
                }
                let seq = this.env.next_seq();
                this.last_park = Some(seq);
                this.obs.set_park(Park::Parked {
                    seq,
                    deadline: this.deadline_hi,
                });
                Poll::Pending
            }
        }
    }
}

fn parking<'a, F: Future>(
    env: &'a Env,
    obs: &'a TaskObs,
    deadline_hi: Option<Duration>,
    f: F,
) -> Parking<'a, F> {
    Parking {
        inner: Box::pin(f),
        env,
        obs,
        deadline_hi,
        last_park: None,
        armed_on_pending: None,
    }
}

fn outcome(o: WaitOutcome) -> Outcome {
    match o {
        WaitOutcome::Woken => Outcome::Woken,
        WaitOutcome::Signaled => Outcome::Signaled,
        WaitOutcome::Expired => Outcome::Expired,
    }
}

/// The body of a task: runs its steps, logging how each ended.
async fn script(t: usize, steps: Vec<Step>, env: Arc<Env>, obs: Arc<TaskObs>) -> Output {
    obs.set_park(Park::Active);
    for (k, step) in steps.iter().enumerate() {
        let (env, obs) = (&*env, &*obs);
        match step.pre {
            None => {}
            Some(Pre::SelfWakeup) => {
                env.call(t, CallKind::Wakeup);
                task::current().wakeup();
            }
            Some(Pre::SelfSignal) => {
                env.call(t, CallKind::Signal);
                task::current().signal();
            }
            Some(Pre::Yield) => yield_now().await,
        }
        // `lo`: the deadline computed from the clock read before the API call;
        // `hi`: from the clock read after it (equal unless the clock moved).
        let start = env.now();
        let (o, deadline, park_seq) = match step.kind {
            StepKind::Wait => {
                let (o, p) = parking(env, obs, None, wait()).await;
                (outcome(o), None, p)
            }
            StepKind::WaitUntil(r) => {
                let d = start + ms(r);
                let (o, p) = parking(env, obs, Some(d), wait_until(env.base + d)).await;
                (outcome(o), Some(d), p)
            }
            StepKind::WaitTimeout(r) => {
                let f = wait_timeout(ms(r));
                let hi = env.now() + ms(r);
                let (o, p) = parking(env, obs, Some(hi), f).await;
                (outcome(o), Some(start + ms(r)), p)
            }
            StepKind::TimeoutWait(r) => {
                // The deadline is `now + r` at the first poll that finds
                // `wait()` pending, not at the call: the test thread may
                // advance the clock in between (`hi` is set then).
                let f = timeout(ms(r), wait());
                let mut pk = parking(env, obs, None, f);
                pk.armed_on_pending = Some(ms(r));
                let (o, p) = pk.await;
                let o = match o {
                    Ok(o) => outcome(o),
                    Err(_) => Outcome::Elapsed,
                };
                (o, Some(start + ms(r)), p)
            }
            StepKind::Sleep(r) => {
                let f = sleep(ms(r));
                let hi = env.now() + ms(r);
                let ((), p) = parking(env, obs, Some(hi), f).await;
                (Outcome::Slept, Some(start + ms(r)), p)
            }
            StepKind::SleepUntil(r) => {
                let d = start + ms(r);
                let ((), p) = parking(env, obs, Some(d), sleep_until(env.base + d)).await;
                (Outcome::Slept, Some(d), p)
            }
        };
        let now = env.now();
        let received = (step.receive && !step.kind.is_sleep()).then(receive_signal);
        env.push(
            t,
            Ev::Resumed {
                step: k,
                outcome: o,
                now,
                deadline,
                received,
            },
            park_seq,
        );
    }
    obs.set_park(Park::Done);
    env.push(t, Ev::Done, None);
    Output {
        task: t,
        steps: steps.len(),
        _g: OutGuard(obs.clone()),
    }
}

/// A test-thread operation on a task, for the justification checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallKind {
    Wakeup,
    Signal,
    Abort,
}

#[derive(Clone, Copy, Debug)]
pub struct Call {
    /// Taken before the call is made.
    pub seq: u64,
    pub task: usize,
    pub kind: CallKind,
}

pub struct RTask {
    pub obs: Arc<TaskObs>,
    pub tref: TaskRef,
    pub jh: Option<JoinHandle<Output>>,
    pub len: usize,
    pub aborted: bool,
}

/// The runtime under test and everything the test thread holds.
pub struct Real {
    pub rt: Option<Runtime>,
    pub handle: Handle,
    pub env: Arc<Env>,
    pub tasks: Vec<RTask>,
    pub trace: Vec<String>,
}

/// Joining one handle.
#[derive(Debug, PartialEq, Eq)]
pub enum Joined {
    Pending,
    Ok { task: usize, steps: usize },
    Cancelled,
    Panicked(String),
}

impl Real {
    pub fn new(workers: usize) -> Real {
        let clock = ManualClock::new();
        let rt = Runtime::builder()
            .worker_threads(workers)
            .manual_clock(&clock)
            .build()
            .expect("build runtime");
        Real {
            handle: rt.handle(),
            rt: Some(rt),
            env: Env::new(clock),
            tasks: Vec::new(),
            trace: Vec::new(),
        }
    }

    fn instrumented(&self, t: usize, steps: &[Step], obs: &Arc<TaskObs>) -> Instrumented {
        Instrumented {
            inner: Box::pin(script(t, steps.to_vec(), self.env.clone(), obs.clone())),
            obs: obs.clone(),
        }
    }

    pub fn spawn(&mut self, steps: &[Step]) -> usize {
        let t = self.tasks.len();
        let obs = TaskObs::new();
        let fut = self.instrumented(t, steps, &obs);
        let jh = self.rt.as_ref().expect("runtime").spawn(fut);
        self.tasks.push(RTask {
            obs,
            tref: jh.task_ref(),
            jh: Some(jh),
            len: steps.len(),
            aborted: false,
        });
        self.trace.push(format!("spawn t{t}: {steps:?}"));
        t
    }

    /// Resolves a generated operand to any spawned task.
    pub fn pick_any(&self, i: usize) -> Option<usize> {
        (!self.tasks.is_empty()).then(|| i % self.tasks.len())
    }
    /// Resolves a generated operand to a task whose handle is held.
    pub fn pick_held(&self, i: usize) -> Option<usize> {
        let held: Vec<usize> = (0..self.tasks.len())
            .filter(|&t| self.tasks[t].jh.is_some())
            .collect();
        (!held.is_empty()).then(|| held[i % held.len()])
    }

    fn call(&mut self, t: usize, kind: CallKind) {
        let seq = self.env.call(t, kind);
        self.trace.push(format!("{kind:?} t{t} (seq {seq})"));
    }

    pub fn wakeup(&mut self, t: usize) {
        self.call(t, CallKind::Wakeup);
        self.tasks[t].tref.wakeup();
    }
    pub fn signal(&mut self, t: usize) {
        self.call(t, CallKind::Signal);
        self.tasks[t].tref.signal();
    }
    pub fn abort(&mut self, t: usize) {
        self.call(t, CallKind::Abort);
        self.tasks[t].aborted = true;
        self.tasks[t].jh.as_ref().expect("held").abort();
    }
    pub fn advance(&mut self, d: u64) {
        self.env.clock.advance(ms(d));
        self.trace
            .push(format!("advance {d} ms -> {:?}", self.env.now()));
    }

    /// Polls the handle once with a no-op waker; consumes it if ready (the
    /// output is dropped at once).
    pub fn join(&mut self, t: usize) -> Joined {
        let jh = self.tasks[t].jh.as_mut().expect("held");
        let r = match jh.now_or_never() {
            None => Joined::Pending,
            Some(Ok(out)) => Joined::Ok {
                task: out.task,
                steps: out.steps,
            },
            Some(Err(e)) if e.is_cancelled() => Joined::Cancelled,
            Some(Err(e)) => Joined::Panicked(e.to_string()),
        };
        if r != Joined::Pending {
            self.tasks[t].jh = None;
        }
        self.trace.push(format!("join t{t} -> {r:?}"));
        r
    }

    pub fn detach(&mut self, t: usize) {
        self.tasks[t].jh = None;
        self.trace.push(format!("detach t{t}"));
    }

    pub fn polls(&self) -> Vec<usize> {
        self.tasks
            .iter()
            .map(|t| t.obs.polls.load(SeqCst))
            .collect()
    }

    /// `Ok` when nothing is owed to any task: every task is finished, or
    /// parked with no wakeup / signal made after it parked and no deadline
    /// reached; aborted tasks are finished; `live_tasks` agrees.
    /// This is also the liveness check: a settle that never gets here has
    /// lost a wakeup, a signal, a deadline or an abort.
    pub fn quiescent(&self) -> Result<(), String> {
        let now = self.env.now();
        let calls = self.env.calls();
        let mut unfinished = 0;
        for (t, k) in self.tasks.iter().enumerate() {
            let finished = k.tref.is_finished();
            if !finished {
                unfinished += 1;
            }
            if k.aborted && !finished {
                return Err(format!("t{t} was aborted but is not finished"));
            }
            match k.obs.park() {
                Park::NotStarted if !finished => {
                    return Err(format!("t{t} was spawned but never polled"))
                }
                Park::NotStarted => {}
                Park::Active if !finished => return Err(format!("t{t} is running")),
                Park::Active => {}
                Park::Done if !finished => {
                    return Err(format!("t{t} returned but is not finished yet"))
                }
                Park::Done => {}
                Park::Parked { .. } if finished => {}
                Park::Parked { seq, deadline } => {
                    if let Some(c) = calls
                        .iter()
                        .find(|c| c.task == t && c.seq > seq && c.kind != CallKind::Abort)
                    {
                        return Err(format!(
                            "t{t} parked at seq {seq} and was not run after {:?} (seq {})",
                            c.kind, c.seq
                        ));
                    }
                    if let Some(d) = deadline.filter(|d| *d <= now) {
                        return Err(format!(
                            "t{t} parked with deadline {d:?} and was not run at {now:?}"
                        ));
                    }
                }
            }
        }
        let live = self.handle.live_tasks();
        if live != unfinished {
            return Err(format!(
                "live_tasks() = {live}, but {unfinished} tasks are unfinished"
            ));
        }
        Ok(())
    }

    /// Caller-driven runtime: drives it (`block_on` of a `yield_now` loop:
    /// each yield is one worker-loop iteration, i.e. up to 32 tasks run and
    /// one sched round) until `quiescent()` holds and the log has not changed
    /// for `STABLE` iterations. Returns the number of iterations.
    pub fn settle_caller_driven(&self) -> Result<usize, String> {
        const STABLE: usize = 6;
        const MAX: usize = 20_000;
        let rt = self.rt.as_ref().expect("runtime");
        rt.block_on(async {
            let mut stable = 0;
            let mut last = usize::MAX;
            for it in 0..MAX {
                let len = self.env.log_len();
                if self.quiescent().is_ok() && len == last {
                    stable += 1;
                    if stable >= STABLE {
                        return Ok(it);
                    }
                } else {
                    stable = 0;
                }
                last = len;
                yield_now().await;
            }
            Err(format!(
                "the runtime did not settle within {MAX} worker-loop iterations: {}",
                self.quiescent()
                    .err()
                    .unwrap_or_else(|| "the log kept growing".into())
            ))
        })
    }

    /// Runtime with worker threads: waits (bounded, real time) until
    /// `quiescent()` holds and the log is unchanged over a few checks.
    pub fn settle_threaded(&self, limit: Duration) -> Result<(), String> {
        let t0 = Instant::now();
        let mut stable = 0;
        let mut last = usize::MAX;
        loop {
            let len = self.env.log_len();
            if self.quiescent().is_ok() && len == last {
                stable += 1;
                if stable >= 5 {
                    return Ok(());
                }
            } else {
                stable = 0;
            }
            last = len;
            if t0.elapsed() > limit {
                return Err(format!(
                    "the runtime did not settle within {limit:?}: {}",
                    self.quiescent()
                        .err()
                        .unwrap_or_else(|| "the log kept growing".into())
                ));
            }
            std::thread::sleep(Duration::from_micros(200));
        }
    }

    /// Shuts the runtime down as `end` says.
    pub fn shutdown(&mut self, end: End) {
        let rt = self.rt.take().expect("runtime");
        match end {
            End::Drop => drop(rt),
            End::ShutdownTimeout => rt.shutdown_timeout(Duration::from_secs(5)),
        }
        self.trace.push(format!("shutdown ({end:?})"));
    }

    /// After shutdown: every future dropped exactly once; every held handle
    /// resolves at once (`Ok` for the tasks that returned, cancelled for the
    /// others) or is dropped; every output dropped exactly once; `TaskRef`s
    /// and spawns after shutdown are harmless; no task ran during shutdown.
    pub fn check_after_shutdown(&mut self, read_outputs: bool) -> Result<(), String> {
        let log_len = self.env.log_len();
        for (t, done) in self.done_tasks().into_iter().enumerate() {
            let drops = self.tasks[t].obs.fut_drops.load(SeqCst);
            if drops != 1 {
                return Err(format!(
                    "after shutdown t{t}'s future was dropped {drops} times (want exactly 1)"
                ));
            }
            if !self.tasks[t].tref.is_finished() {
                return Err(format!("after shutdown t{t} is not finished"));
            }
            if self.tasks[t].jh.is_some() {
                if read_outputs {
                    let want = if done {
                        Joined::Ok {
                            task: t,
                            steps: self.tasks[t].len,
                        }
                    } else {
                        Joined::Cancelled
                    };
                    let got = self.join(t);
                    if got != want {
                        return Err(format!(
                            "after shutdown joining t{t} gave {got:?}, want {want:?}"
                        ));
                    }
                } else {
                    self.detach(t);
                }
            }
            let outs = self.tasks[t].obs.out_drops.load(SeqCst);
            if outs != done as usize {
                return Err(format!(
                    "after shutdown t{t}'s output was dropped {outs} times (want {})",
                    done as usize
                ));
            }
            // Harmless after shutdown.
            self.tasks[t].tref.wakeup();
            self.tasks[t].tref.signal();
        }
        if self.handle.live_tasks() != 0 {
            return Err(format!(
                "live_tasks() = {} after shutdown",
                self.handle.live_tasks()
            ));
        }
        // A spawn after shutdown: the future is dropped at once, the handle is cancelled.
        let obs = TaskObs::new();
        let fut = self.instrumented(usize::MAX, &[], &obs);
        let mut jh = self.handle.spawn(fut);
        if obs.fut_drops.load(SeqCst) != 1 || obs.polls.load(SeqCst) != 0 {
            return Err("a spawn after shutdown was not dropped at once, unpolled".into());
        }
        match (&mut jh).now_or_never() {
            Some(Err(e)) if e.is_cancelled() => {}
            other => {
                return Err(format!(
                    "a spawn after shutdown resolved to {:?}",
                    other.map(|r| r.map(|o| o.task))
                ))
            }
        }
        if self.env.log_len() != log_len {
            return Err("a task ran during or after shutdown".into());
        }
        Ok(())
    }

    /// Which tasks logged `Done`.
    pub fn done_tasks(&self) -> Vec<bool> {
        let mut done = vec![false; self.tasks.len()];
        for r in self.env.log_since(0) {
            if r.ev == Ev::Done {
                done[r.task] = true;
            }
        }
        done
    }

    /// The last lines of the trace and of the log, for failure messages.
    pub fn dump(&self) -> String {
        let mut s = String::from("--- operations (last 60) ---\n");
        let n = self.trace.len();
        for l in &self.trace[n.saturating_sub(60)..] {
            s.push_str(l);
            s.push('\n');
        }
        s.push_str("--- task log (last 60) ---\n");
        let log = self.env.log_since(0);
        for r in &log[log.len().saturating_sub(60)..] {
            s.push_str(&format!(
                "seq {} t{} {:?} (parked at {:?})\n",
                r.seq, r.task, r.ev, r.park_seq
            ));
        }
        s
    }
}

/// Checks that hold for any interleaving, over the whole log:
/// - never early: a step that ended by its deadline (`Expired`, `Elapsed`,
///   `Slept`) saw the clock at or past that deadline;
/// - per task, steps end in order, once each, `Done` last and once;
/// - idempotence / no invention: at every point, the `Woken` outcomes of a
///   task are at most its `wakeup()` calls made before, the `true`s of
///   `receive_signal()` at most its `signal()` calls made before, and a
///   `Signaled` outcome or a `true` receive needs a signal not yet received.
pub fn check_order_insensitive(real: &Real) -> Result<(), String> {
    // Counters first, the log last: a task that finishes meanwhile (threaded
    // runtime) can then only make the log say more, never less.
    let snap: Vec<(bool, usize, usize)> = real
        .tasks
        .iter()
        .map(|k| {
            let finished = k.tref.is_finished();
            let drops = k.obs.fut_drops.load(SeqCst);
            (finished, drops, k.obs.out_drops.load(SeqCst))
        })
        .collect();
    let log = real.env.log_since(0);
    let calls = real.env.calls();
    let n = real.tasks.len();
    let mut next_step = vec![0usize; n];
    let mut done = vec![false; n];
    let mut woken = vec![0usize; n];
    let mut received = vec![0usize; n];
    for r in &log {
        let t = r.task;
        if done[t] {
            return Err(format!("t{t} logged {:?} after Done", r.ev));
        }
        let count = |kind: CallKind| {
            calls
                .iter()
                .filter(|c| c.task == t && c.kind == kind && c.seq < r.seq)
                .count()
        };
        match &r.ev {
            Ev::Done => {
                if next_step[t] != real.tasks[t].len {
                    return Err(format!(
                        "t{t} finished after {} of {} steps",
                        next_step[t], real.tasks[t].len
                    ));
                }
                done[t] = true;
            }
            Ev::Resumed {
                step,
                outcome,
                now,
                deadline,
                received: recv,
            } => {
                if *step != next_step[t] {
                    return Err(format!(
                        "t{t} ended step {step}, expected step {}",
                        next_step[t]
                    ));
                }
                next_step[t] += 1;
                if matches!(
                    outcome,
                    Outcome::Expired | Outcome::Elapsed | Outcome::Slept
                ) {
                    match deadline {
                        Some(d) if now >= d => {}
                        _ => {
                            return Err(format!(
                            "t{t} step {step}: {outcome:?} EARLY at {now:?}, deadline {deadline:?}"
                        ))
                        }
                    }
                }
                if *outcome == Outcome::Woken {
                    woken[t] += 1;
                    let calls = count(CallKind::Wakeup);
                    if woken[t] > calls {
                        return Err(format!(
                            "t{t} step {step}: Woken #{} but only {calls} wakeup() calls before it",
                            woken[t]
                        ));
                    }
                }
                let signals = count(CallKind::Signal);
                if *outcome == Outcome::Signaled && signals < received[t] + 1 {
                    return Err(format!(
                        "t{t} step {step}: Signaled with {signals} signal() calls before it, {} already received",
                        received[t]
                    ));
                }
                if *recv == Some(true) {
                    if signals < received[t] + 1 {
                        return Err(format!(
                            "t{t} step {step}: receive_signal() returned true with {signals} signal() calls, {} already received",
                            received[t]
                        ));
                    }
                    received[t] += 1;
                }
            }
        }
    }
    for (t, &(finished, drops, outs)) in snap.iter().enumerate() {
        if drops > 1 || outs > 1 {
            return Err(format!(
                "t{t}: future dropped {drops} times, output dropped {outs} times"
            ));
        }
        if finished && drops != 1 {
            return Err(format!("t{t} is finished but its future was not dropped"));
        }
        if outs == 1 && !done[t] {
            return Err(format!("t{t}'s output was dropped but it never returned"));
        }
    }
    Ok(())
}
