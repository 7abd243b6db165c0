//! The sequential reference model: what `tla/Scheduler.tla` (and the docs of
//! `tempo::task` / `tempo::time`) say a caller-driven runtime on a manual
//! clock must do with the generated operations.
//!
//! Per task it keeps the spec's flags (`woken`, `signaled`, `cancelled`),
//! whether the task owes a run (`scheduled`: spawned, or woken / signaled /
//! aborted while parked), where its script is, and the deadline of the step
//! it is parked in. [`Model::settle`] runs every task that owes a run (or
//! whose deadline passed) with the exact semantics of `Wait::poll`,
//! `Sleep::poll` and `Timeout::poll`:
//!
//! - a wait returns `Signaled` if a signal is pending (not consumed),
//!   else `Woken` if a wakeup is pending (consumed), else `Expired` if the
//!   clock reached its deadline (never earlier), else it parks;
//! - `wakeup()` is idempotent and sticky until a wait consumes it, and does
//!   nothing to a signaled task (TLA+ `Wakeup`);
//! - `signal()` is sticky, does not stack, is consumed only by
//!   `receive_signal()`; a signaled task is re-run until it receives it (a
//!   task parked in a `sleep` while signaled spins: TLA+ `PollPending`);
//! - an aborted task's future is dropped before any further poll; shutdown
//!   drops every unfinished future.
//!
//! No operation can run concurrently with another here (the real runtime
//! under test has `worker_threads(0)`: nothing runs outside `block_on`), so
//! each task's trace is exactly predictable.

use std::time::Duration;

/// Milliseconds of the manual clock since the start of a case.
pub fn ms(v: u64) -> Duration {
    Duration::from_millis(v)
}

/// One step of a task's script. Deadlines are relative to the clock when the
/// step starts (the task computes them itself, or the API does).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StepKind {
    /// `task::wait()`: no deadline.
    Wait,
    /// `task::wait_until(now + ms)`.
    WaitUntil(u64),
    /// `task::wait_timeout(ms)`.
    WaitTimeout(u64),
    /// `time::timeout(ms, task::wait())` (an `Elapsed` is logged as such).
    TimeoutWait(u64),
    /// `time::sleep(ms)`: ignores wakeups and signals.
    Sleep(u64),
    /// `time::sleep_until(now + ms)`.
    SleepUntil(u64),
}

impl StepKind {
    /// The relative deadline, if the step has one.
    pub fn rel(self) -> Option<u64> {
        match self {
            StepKind::Wait => None,
            StepKind::WaitUntil(r)
            | StepKind::WaitTimeout(r)
            | StepKind::TimeoutWait(r)
            | StepKind::Sleep(r)
            | StepKind::SleepUntil(r) => Some(r),
        }
    }
    /// Whether the step is a sleep (wakeups and signals do not end it).
    pub fn is_sleep(self) -> bool {
        matches!(self, StepKind::Sleep(_) | StepKind::SleepUntil(_))
    }
}

/// What a task does to itself when a step starts, before its wait or sleep.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pre {
    /// `task::current().wakeup()` while running (TLA+ `Wakeup` on a
    /// `Running` task: sets `woken` and `notified`).
    SelfWakeup,
    /// `task::current().signal()` while running.
    SelfSignal,
    /// `task::yield_now().await`: one more poll, no flag.
    Yield,
}

/// A step: an optional action on itself, the wait or sleep, and whether the
/// task calls `receive_signal()` after it (only for the wait kinds).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step {
    pub pre: Option<Pre>,
    pub kind: StepKind,
    pub receive: bool,
}

/// Why a step ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    Woken,
    Signaled,
    Expired,
    /// `timeout(.., wait())` returned `Err(Elapsed)`.
    Elapsed,
    /// A sleep completed.
    Slept,
}

/// What a task logs (the real tasks log these; the model predicts them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ev {
    /// Step `step` ended with `outcome`; `now` is the clock at resumption,
    /// `deadline` the step's deadline, `received` what `receive_signal()`
    /// returned if the step receives.
    Resumed {
        step: usize,
        outcome: Outcome,
        now: Duration,
        deadline: Option<Duration>,
        received: Option<bool>,
    },
    /// The script finished; the task returns its output.
    Done,
}

/// A generated operation. Task operands are indices reduced modulo the
/// number of candidate tasks when applied (a no-op when there is none).
#[derive(Clone, Debug)]
pub enum Op {
    /// Spawn a task running this script (`Runtime::spawn`).
    Spawn(Vec<Step>),
    /// `TaskRef::wakeup` on any spawned task (also a finished one).
    Wakeup(usize),
    /// `TaskRef::signal` on any spawned task.
    Signal(usize),
    /// `JoinHandle::abort` on a task whose handle is still held.
    Abort(usize),
    /// `ManualClock::advance(ms)`.
    Advance(u64),
    /// Let the runtime run until it is quiescent, then compare.
    Settle,
    /// Poll a held `JoinHandle` once (`now_or_never`); consumed if ready.
    Join(usize),
    /// Drop a held `JoinHandle` (detach the task).
    Detach(usize),
}

/// How the case ends.
#[derive(Clone, Copy, Debug)]
pub enum End {
    /// `drop(runtime)`.
    Drop,
    /// `Runtime::shutdown_timeout(5 s)`.
    ShutdownTimeout,
}

/// One generated test case.
#[derive(Clone, Debug)]
pub struct Case {
    pub ops: Vec<Op>,
    /// Before shutting down, advance the clock and wake every task until all
    /// have finished (a liveness check); otherwise shut down with tasks parked.
    pub drain: bool,
    pub end: End,
    /// After shutdown, read the outputs of the handles still held (else drop them).
    pub read_outputs: bool,
}

/// Where a model task is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MState {
    /// Spawned, never polled.
    NotStarted,
    /// Pending in the step at `pc` (deadline in ms, if any).
    Parked { deadline: Option<u64> },
    /// The script returned.
    Done,
    /// Aborted: the future was dropped without completing.
    Cancelled,
}

/// The JoinHandle of a model task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HState {
    Held,
    /// `now_or_never` returned its result (which the test then dropped).
    Joined,
    Detached,
}

#[derive(Clone, Debug)]
pub struct MTask {
    pub script: Vec<Step>,
    pub pc: usize,
    /// The deadline of the step at `pc`, once that step has started.
    pub entered: Option<Option<u64>>,
    pub state: MState,
    pub woken: bool,
    pub signaled: bool,
    pub cancelled: bool,
    /// Owes a run at the next settle (TLA+: status `Scheduled`).
    pub scheduled: bool,
    pub handle: HState,
}

impl MTask {
    pub fn finished(&self) -> bool {
        matches!(self.state, MState::Done | MState::Cancelled)
    }
    /// Spinning: parked in a sleep with a signal pending, so re-run at once
    /// after every poll until the sleep's deadline.
    pub fn spinning(&self) -> bool {
        matches!(self.state, MState::Parked { .. }) && self.signaled && !self.cancelled
    }
}

/// How many times a settle polls a task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Polls {
    Exactly(usize),
    /// A spinning task: re-polled for as long as the settle lasts.
    AtLeast(usize),
}

/// What one settle must do to one task.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prediction {
    pub events: Vec<Ev>,
    pub polls: Polls,
}

#[derive(Clone, Debug, Default)]
pub struct Model {
    /// The manual clock, in ms since the case started.
    pub now: u64,
    pub tasks: Vec<MTask>,
}

impl Model {
    pub fn spawn(&mut self, script: &[Step]) -> usize {
        self.tasks.push(MTask {
            script: script.to_vec(),
            pc: 0,
            entered: None,
            state: MState::NotStarted,
            woken: false,
            signaled: false,
            cancelled: false,
            scheduled: true,
            handle: HState::Held,
        });
        self.tasks.len() - 1
    }

    /// TLA+ `Wakeup`: absorbed by a pending signal; otherwise sets `woken`
    /// and schedules the task (idempotent).
    pub fn wakeup(&mut self, t: usize) {
        let k = &mut self.tasks[t];
        if k.finished() || k.signaled {
            return;
        }
        k.woken = true;
        k.scheduled = true;
    }

    /// TLA+ `Signal`: sticky, does not stack.
    pub fn signal(&mut self, t: usize) {
        let k = &mut self.tasks[t];
        if k.finished() {
            return;
        }
        k.signaled = true;
        k.scheduled = true;
    }

    /// TLA+ `Abort`: a finished task keeps its output.
    pub fn abort(&mut self, t: usize) {
        let k = &mut self.tasks[t];
        if k.finished() {
            return;
        }
        k.cancelled = true;
        k.scheduled = true;
    }

    pub fn advance(&mut self, d: u64) {
        self.now += d;
    }

    /// Spawned tasks that have not finished (`Handle::live_tasks`).
    pub fn live(&self) -> usize {
        self.tasks.iter().filter(|t| !t.finished()).count()
    }

    /// Tasks that a settle runs only because their deadline passed (they owe
    /// no run otherwise), with that deadline: the scheduler's waiting heap
    /// must release them in deadline order, FIFO among equal deadlines.
    pub fn expiry_driven(&self) -> Vec<(usize, u64)> {
        self.tasks
            .iter()
            .enumerate()
            .filter_map(|(i, t)| match t.state {
                MState::Parked { deadline: Some(d) }
                    if d <= self.now && !t.scheduled && !t.cancelled =>
                {
                    Some((i, d))
                }
                _ => None,
            })
            .collect()
    }

    /// Runs the runtime to quiescence: the prediction for every task.
    pub fn settle(&mut self) -> Vec<Prediction> {
        (0..self.tasks.len()).map(|t| self.run(t)).collect()
    }

    fn run(&mut self, t: usize) -> Prediction {
        let now = self.now;
        let k = &mut self.tasks[t];
        let nothing = Prediction {
            events: Vec::new(),
            polls: Polls::Exactly(0),
        };
        if k.finished() {
            return nothing;
        }
        if k.cancelled {
            // transition_to_running sees CANCELLED: dropped, never polled again.
            k.state = MState::Cancelled;
            k.scheduled = false;
            return nothing;
        }
        let due = match k.state {
            MState::Parked { deadline: Some(d) } => d <= now,
            _ => false,
        };
        if !k.scheduled && !due {
            return nothing;
        }
        k.scheduled = false;
        let mut events = Vec::new();
        let mut polls = 1;
        // Woken or signaled while running (TLA+ `notified`): cleared when a
        // poll starts; a poll that pends with it set is followed by another.
        let mut notified = false;
        // Run the script until a step pends (with nothing owed) or it finishes.
        while k.pc < k.script.len() {
            let step = k.script[k.pc];
            if k.entered.is_none() {
                match step.pre {
                    None => {}
                    // Absorbed by a pending signal (no change at all).
                    Some(Pre::SelfWakeup) if k.signaled => {}
                    Some(Pre::SelfWakeup) => {
                        k.woken = true;
                        notified = true;
                    }
                    Some(Pre::SelfSignal) => {
                        k.signaled = true;
                        notified = true;
                    }
                    // The poll returns Pending, the task is re-run at once and
                    // continues here (nothing else can happen to it meanwhile).
                    Some(Pre::Yield) => {
                        polls += 1;
                        notified = false;
                    }
                }
            }
            let deadline = *k
                .entered
                .get_or_insert_with(|| step.kind.rel().map(|r| now + r));
            let expired = deadline.is_some_and(|d| d <= now);
            let outcome = if step.kind.is_sleep() {
                expired.then_some(Outcome::Slept)
            } else if k.signaled {
                Some(Outcome::Signaled)
            } else if k.woken {
                k.woken = false;
                Some(Outcome::Woken)
            } else if expired {
                Some(match step.kind {
                    StepKind::TimeoutWait(_) => Outcome::Elapsed,
                    _ => Outcome::Expired,
                })
            } else {
                None
            };
            let Some(outcome) = outcome else {
                k.state = MState::Parked { deadline };
                if notified && !k.signaled {
                    // PollPending with `notified`: re-posted, polled again.
                    notified = false;
                    polls += 1;
                    continue;
                }
                break;
            };
            let received = (step.receive && !step.kind.is_sleep()).then(|| {
                let r = k.signaled;
                k.signaled = false;
                r
            });
            events.push(Ev::Resumed {
                step: k.pc,
                outcome,
                now: ms(now),
                deadline: deadline.map(ms),
                received,
            });
            k.pc += 1;
            k.entered = None;
        }
        if k.pc == k.script.len() {
            k.state = MState::Done;
            events.push(Ev::Done);
            return Prediction {
                events,
                polls: Polls::Exactly(polls),
            };
        }
        if k.spinning() {
            // PollPending with `signaled`: re-posted after every poll.
            k.scheduled = true;
            return Prediction {
                events,
                polls: Polls::AtLeast(polls + 1),
            };
        }
        Prediction {
            events,
            polls: Polls::Exactly(polls),
        }
    }
}
