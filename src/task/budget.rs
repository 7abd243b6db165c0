//! The cooperative budget: how many I/O operations one poll of a task may
//! complete before its I/O futures make it yield.
//!
//! A task whose socket always has data (a fast peer, a flood of datagrams)
//! never sees `WouldBlock`, so its I/O futures return `Ready` on every poll
//! and the task never returns `Pending`: its worker runs nothing else, and a
//! runtime with one worker starves every other task, timer and round (DESIGN:
//! "every ready task runs within a bounded delay"). The budget bounds that:
//! each poll of a task (or of a `block_on` future) starts with [`BUDGET`]
//! units; every I/O operation takes one before it runs
//! (`ScheduledIo::poll_io_until`); an operation that finds the budget spent
//! wakes its task and returns `Pending` instead, so the task is re-posted
//! behind the tasks already ready (`worker.rs` invariant 5) and continues at
//! its next run, with a fresh budget. This subsumes the special yields of
//! `accept` after an error and of `connect_with_backoff` in the common case;
//! they stay, as they yield sooner (one failed attempt).
//!
//! Only I/O of `tempo::net`, `tempo::sync` (`mpsc` receives and new
//! semaphore acquires: `Mutex::lock`, a bounded `send`) and
//! [`consume_budget`] take from the budget; timers, joins and task
//! controls do not (a task that loops on `sleep(Duration::ZERO)` still never
//! yields: `yield_now` is the tool for that). The budget is per thread and
//! per poll, never shared: it costs a thread-local read and write per I/O
//! operation and nothing on the scheduler's paths.
//!
//! # Invariants
//! 1. `LEFT` is [`UNLIMITED`] on a thread that is not polling a task or a
//!    `block_on` future of a tempo runtime (code outside tempo, another
//!    executor's tasks, a blocking-pool job): the budget never makes
//!    their I/O yield.
//! 2. [`enter`] sets `LEFT` to [`BUDGET`] at the start of each poll and its
//!    guard restores the previous value at the end (a nested poll, such as a
//!    `block_on` of another runtime inside a task, has a budget of its own
//!    and leaves the outer one as it was).
//! 3. [`take`] is the only decrement, and [`refund`] (after a `take` that
//!    returned `true`, by an operation that then completed nothing) the
//!    only increment but for [`enter`]: so only operations that complete
//!    count, and a poll of many idle sources spends nothing; a spent budget makes it return `false`
//!    and leaves `LEFT` at 0 until the poll ends, but for one case: a poll
//!    refused [`REFUSALS`] times without returning to the scheduler is an
//!    executor nested in the task (`futures::executor::block_on` inside a
//!    task re-polls at once after every refusal's self-wake): the budget is
//!    then refilled, so that misuse blocks its worker like any blocking call
//!    instead of spinning forever. A task's own poll is refused once per
//!    I/O future it polls after the budget is spent (each one wakes the task
//!    and returns `Pending`), far below the bound. Only this thread reads or
//!    writes its `LEFT` and `REFUSED`.

use crate::shim::tls;
use std::cell::Cell;
use std::task::{Context, Poll};

/// I/O operations one poll may complete before it yields (tokio's figure:
/// enough that a busy socket's task yields once per few hundred
/// microseconds, not per operation).
pub(crate) const BUDGET: u32 = 128;

/// `LEFT` outside a poll (invariant 1).
pub(crate) const UNLIMITED: u32 = u32::MAX;

/// Refusals in one poll after which the budget is refilled (invariant 3).
pub(crate) const REFUSALS: u32 = 1024;

/// This thread's budget (invariants 1–3).
struct Budget {
    /// `LEFT`: the units left to the running poll.
    left: Cell<u32>,
    /// `REFUSED`: the refusals since the budget was last filled.
    refused: Cell<u32>,
}

tls! {
    static BUDGET_TLS: Budget = const {
        Budget {
            left: Cell::new(UNLIMITED),
            refused: Cell::new(0),
        }
    };
}

/// Restores the budget of the enclosing poll (invariant 2).
pub(crate) struct BudgetGuard(u32, u32);

/// Starts a poll with a fresh budget (invariant 2).
pub(crate) fn enter() -> BudgetGuard {
    BUDGET_TLS
        .try_with(|b| BudgetGuard(b.left.replace(BUDGET), b.refused.replace(0)))
        // Built only when the thread-local is gone (its drop writes nothing then).
        .unwrap_or_else(|_| BudgetGuard(UNLIMITED, 0))
}

impl Drop for BudgetGuard {
    fn drop(&mut self) {
        let _ = BUDGET_TLS.try_with(|b| {
            b.left.set(self.0);
            b.refused.set(self.1);
        });
    }
}

/// Takes one unit for an I/O operation: `false` when the poll's budget is
/// spent (invariant 3).
pub(crate) fn take() -> bool {
    BUDGET_TLS
        .try_with(|b| match b.left.get() {
            0 => {
                let r = b.refused.get() + 1;
                if r >= REFUSALS {
                    // A nested executor (invariant 3): refill, and count
                    // this operation against the new budget.
                    b.refused.set(0);
                    b.left.set(BUDGET - 1);
                    true
                } else {
                    b.refused.set(r);
                    false
                }
            }
            UNLIMITED => true,
            n => {
                b.left.set(n - 1);
                true
            }
        })
        .unwrap_or(true)
}

/// Gives back the unit of an operation that returned `Pending` for its
/// source (invariant 3); never above [`BUDGET`], nothing outside a poll.
pub(crate) fn refund() {
    let _ = BUDGET_TLS.try_with(|b| {
        let l = b.left.get();
        if l < BUDGET {
            b.left.set(l + 1);
        }
    });
}

/// Takes one unit, or wakes the task of `cx` and returns `Pending` when the
/// budget is spent: the caller returns `Pending` at once, having registered
/// nothing (the task runs again after the tasks already ready).
pub(crate) fn poll_take(cx: &Context<'_>) -> Poll<()> {
    if take() {
        Poll::Ready(())
    } else {
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Takes one unit of the running task's cooperative budget, yielding first
/// if it is spent: the budget tempo's own sockets use, offered to a loop over
/// a source that is always ready and that tempo does not know (another
/// crate's channel, a queue filled by other threads, a CPU-bound step per
/// item).
///
/// Each poll of a task may complete 128 budgeted operations (tempo's socket
/// operations and calls of this function together); the next one wakes the
/// task and returns `Pending`, so the task runs again after the tasks already
/// ready, with a fresh budget. Unlike [`yield_now`](crate::task::yield_now),
/// which always yields, it costs a thread-local read and write while budget
/// is left. Outside a tempo task or `block_on` future it never yields.
///
/// # Examples
/// A task that drains an always-full queue still lets other tasks run on a
/// runtime with one worker:
/// ```
/// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
/// let rt = tempo::Runtime::builder().worker_threads(1).build().unwrap();
/// rt.block_on(async {
///     let (other_ran, mut seen) = tempo::sync::oneshot::channel::<()>();
///     let drain = tempo::spawn(async move {
///         let mut items = 0u64;
///         // Without `consume_budget` this loop would keep the only worker.
///         while seen.try_recv().is_err() {
///             items += 1; // take an item from a queue that is never empty
///             tempo::task::consume_budget().await;
///         }
///         items
///     });
///     tempo::spawn(async move { other_ran.send(()).unwrap() });
///     assert!(drain.await.unwrap() > 0);
/// });
/// # }
/// ```
pub async fn consume_budget() {
    std::future::poll_fn(|cx| poll_take(cx)).await
}

#[cfg(all(test, not(any(tempo_loom, tempo_shuttle))))]
mod tests {
    use super::*;

    /// Outside a poll nothing is counted; inside one, `BUDGET` operations
    /// pass and the next is refused until the poll ends; a nested poll has
    /// its own budget and restores the outer one.
    #[test]
    fn budget_per_poll_nested_and_unlimited_outside() {
        for _ in 0..1000 {
            assert!(take());
        }
        {
            let _outer = enter();
            for _ in 0..BUDGET - 1 {
                assert!(take());
            }
            {
                let _inner = enter();
                for _ in 0..BUDGET {
                    assert!(take());
                }
                assert!(!take());
                assert!(!take());
            }
            assert!(take(), "the outer poll's last unit is still there");
            assert!(!take());
        }
        assert!(take());
        assert_eq!(BUDGET_TLS.with(|b| b.left.get()), UNLIMITED);
    }

    /// A refund gives back the unit of an operation that completed
    /// nothing, never above `BUDGET`, and changes nothing outside a poll.
    #[test]
    fn refund_gives_a_unit_back() {
        refund();
        assert_eq!(BUDGET_TLS.with(|b| b.left.get()), UNLIMITED);
        let _g = enter();
        refund();
        assert_eq!(BUDGET_TLS.with(|b| b.left.get()), BUDGET);
        for _ in 0..BUDGET {
            assert!(take());
            refund();
        }
        assert_eq!(BUDGET_TLS.with(|b| b.left.get()), BUDGET);
    }

    /// A poll refused `REFUSALS` times gets a fresh budget (a nested
    /// executor re-polling at once must not spin forever), and is refused
    /// again once that is spent.
    #[test]
    fn refill_after_refusals() {
        let _g = enter();
        for _ in 0..BUDGET {
            assert!(take());
        }
        for _ in 0..REFUSALS - 1 {
            assert!(!take());
        }
        assert!(take(), "the refusal that reaches the bound refills");
        for _ in 0..BUDGET - 1 {
            assert!(take());
        }
        assert!(!take());
    }
}
