//! The Rust port of `tla/Scheduler.tla`'s next-state relation for the
//! actions the code traces: given the abstract state of a task (the spec's
//! `status`, `notified`, `cancelled`, `woken`, `signaled`, and how many
//! pushes to the front queue it is owed), the successor each action must
//! produce.
//!
//! The checker keeps this abstract state *independently* of the code: a
//! transition is accepted only if the code's word before the RMW equals the
//! abstract state (no lost update) and the word after it equals the spec's
//! successor (the code did what the action says). A push is accepted only if
//! a push is owed (a task is in at most one queue: `AtMostOnePlace`).
//!
//! Steps that move a notification without touching the task's word have
//! no successor here: `WorkerTakeSlot`, `SlotFlush` (`trace::slot_take`)
//! and the monitor's `StealSlot` (`sched/watch.rs`; `trace::steal_slot`)
//! settle the push the wake into the slot owed (at most once per wake);
//! `WorkerTakeShare`, `StealShare` and `StealFill` move tasks popped from
//! the ready queue, whose pushes were settled when they were pushed: the
//! first is not traced, the monitor's two are logged for TLC only.

use super::Act;
use std::fmt;

/// The spec's statuses, spelled as in `Scheduler.tla`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Status {
    Idle,
    Scheduled,
    Running,
    Waiting,
    WaitingPosted,
    Complete,
}

impl Status {
    /// The code's status field (`task/state.rs`) as the spec's status.
    pub(crate) fn from_code(s: usize) -> Status {
        use crate::task::state as st;
        match s {
            st::IDLE => Status::Idle,
            st::SCHEDULED => Status::Scheduled,
            st::RUNNING => Status::Running,
            st::WAITING => Status::Waiting,
            st::WAITING_POSTED => Status::WaitingPosted,
            st::COMPLETE => Status::Complete,
            other => panic!("trace: status {other} is not a spec status"),
        }
    }
    /// The spec's name.
    pub(crate) fn tla(self) -> &'static str {
        match self {
            Status::Idle => "Idle",
            Status::Scheduled => "Scheduled",
            Status::Running => "Running",
            Status::Waiting => "Waiting",
            Status::WaitingPosted => "WaitingPosted",
            Status::Complete => "Complete",
        }
    }
}

/// The spec's per-task variables (the ghost `wakeOwed` is not needed here).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Abs {
    pub(crate) status: Status,
    pub(crate) notified: bool,
    pub(crate) cancelled: bool,
    pub(crate) woken: bool,
    pub(crate) signaled: bool,
}

impl fmt::Debug for Abs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.status.tla())?;
        for (b, n) in [
            (self.notified, "notified"),
            (self.cancelled, "cancelled"),
            (self.woken, "woken"),
            (self.signaled, "signaled"),
        ] {
            if b {
                write!(f, "+{n}")?;
            }
        }
        Ok(())
    }
}

impl Abs {
    /// The abstract state of a code word.
    pub(crate) fn from_word(w: usize) -> Abs {
        use crate::task::state as st;
        let s = crate::task::state::Snapshot::from_raw(w);
        Abs {
            status: Status::from_code(s.status()),
            notified: s.has(st::NOTIFIED),
            cancelled: s.has(st::CANCELLED),
            woken: s.has(st::WOKEN),
            signaled: s.has(st::SIGNALED),
        }
    }

    /// A task right after `SpawnRegister`.
    pub(crate) fn spawned() -> Abs {
        Abs {
            status: Status::Scheduled,
            notified: false,
            cancelled: false,
            woken: false,
            signaled: false,
        }
    }
}

/// `WakeEffect`: returns whether a push is now owed.
fn wake_effect(a: &mut Abs) -> bool {
    match a.status {
        Status::Idle | Status::Waiting => {
            a.status = Status::Scheduled;
            true
        }
        Status::WaitingPosted => {
            a.status = Status::Scheduled;
            false
        }
        Status::Running => {
            a.notified = true;
            false
        }
        Status::Scheduled | Status::Complete => false,
    }
}

/// The successor of `a` under `act` and whether the action owes a push, or
/// why the action is not enabled.
pub(crate) fn step(act: Act, a: Abs) -> Result<(Abs, bool), String> {
    let mut n = a;
    let mut push = false;
    let need = |ok: bool, what: &str| -> Result<(), String> {
        if ok {
            Ok(())
        } else {
            Err(format!("{act:?} is not enabled in {a:?}: needs {what}"))
        }
    };
    match act {
        // Events on a complete task are no-ops in the code (the spec's
        // environment never sends them: EnvOK).
        Act::Wake | Act::Wakeup | Act::Signal | Act::Abort if a.status == Status::Complete => {}
        Act::Wake => push = wake_effect(&mut n),
        Act::Wakeup => {
            if !a.signaled {
                n.woken = true;
                push = wake_effect(&mut n);
            }
        }
        Act::Signal => {
            n.signaled = true;
            push = wake_effect(&mut n);
        }
        Act::Abort => {
            n.cancelled = true;
            push = wake_effect(&mut n);
        }
        Act::StartPoll => {
            if a.status == Status::Complete {
                // Start::Skip (swept by shutdown): no change. (The other
                // `Skip`, of a task the sweep claimed, `RUNNING | CANCELLED`,
                // meets only a straggler left by `shutdown_timeout`, which no
                // model has: in a checked run it is a double run, rejected.)
            } else {
                need(a.status == Status::Scheduled, "Scheduled")?;
                n.status = Status::Running;
                n.notified = false;
            }
        }
        Act::ReceiveSignal => n.signaled = false,
        Act::ConsumeWoken => n.woken = false,
        Act::PollPending { has_deadline } => {
            need(a.status == Status::Running, "Running")?;
            n.notified = false;
            if a.cancelled {
                // stays Running: FinishCancel follows
            } else if a.notified || a.signaled {
                n.status = Status::Scheduled;
                push = true;
            } else if has_deadline {
                n.status = Status::WaitingPosted;
                push = true;
            } else {
                n.status = Status::Idle;
            }
        }
        Act::Complete => {
            need(a.status == Status::Running, "Running")?;
            n.status = Status::Complete;
            n.notified = false;
        }
        Act::Dispatch => match a.status {
            Status::WaitingPosted => n.status = Status::Waiting,
            Status::Scheduled | Status::Complete => {}
            _ => need(false, "WaitingPosted, Scheduled or Complete")?,
        },
        Act::Expire => {
            if a.status == Status::Waiting {
                n.status = Status::Scheduled;
            }
        }
        Act::ShutdownClaim => match a.status {
            Status::Complete => {}
            Status::Running => n.cancelled = true,
            _ => {
                n.status = Status::Running;
                n.cancelled = true;
            }
        },
        // Join-handle bookkeeping: not in the spec; must not change it.
        Act::Join => {}
    }
    Ok((n, push))
}
