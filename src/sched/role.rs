//! The sched role: a try-lock that any worker may take (no dedicated
//! thread), and the state only its holder touches: the waiting heap and the
//! batch being dispatched. One round moves the front queue into the ready
//! queue or the heap, and expired heap entries into the ready queue's
//! expired lane (`ready.rs` invariant 3), except for one woken task that it
//! hands to the holder to run next (invariant 4).
//!
//! # Invariants
//! 1. At most one thread holds the role (`held` CAS false→true, SeqCst).
//! 2. `core` is accessed only by the holder ([`RoleGuard`] is the proof).
//! 3. `timed` mirrors the heap length (SeqCst), so an idle worker can see,
//!    without the role, that deadlines need a timekeeper (`idle.rs` inv. 2).
//! 4. *The pass.* The first task of a round's front-queue batch that is
//!    `SCHEDULED` and has run before (`Dispatch::ToReady { started: true }`:
//!    a wake from another thread, from the I/O driver, or from a worker
//!    whose next-run slot was taken) does not go to the back of the ready
//!    queue: the round returns it ([`Round::pass`]) and the holder runs it
//!    next, from the head of its share (`worker.rs` invariants 4 and 8). At
//!    most one task passes per round, so a ready task is passed by at most
//!    one task per round (bounded delay: DESIGN promises FIFO *start*
//!    order and a bounded delay for every ready task, not FIFO among
//!    wakes); a spawned task (`started: false`) never passes, so start
//!    order stays FIFO (`tests/fifo.rs`), and expired deadlines keep their
//!    `(deadline, seq)` order in their own lane of the ready queue
//!    (`ready.rs` invariant 3). Before, a task woken
//!    from outside while every worker ran a long task waited for the first
//!    run to end (the round) *and then* behind the tasks readied before it:
//!    the `4-fairness` probe's p99 on two workers was one CPU hog longer
//!    than the detection (numbers: `benches/RESULTS.md`). TLA+:
//!    `SchedDispatch`'s pass branch (into the holder's `slot[w]`).
//! 5. *A shutdown on the holder's own thread.* The holder runs user code
//!    while it holds the role (wakers fired by the reactor's dispatch, the
//!    drop of a task's output when a round drops the last reference), and
//!    that code may drop the last `Runtime`. That shutdown cannot take the
//!    role (its own thread holds it, and the core may be borrowed up the
//!    stack), so it asks for the heap to be drained when the role is
//!    released ([`SchedRole::drain_at_release`]): the guard's drop does it.
//!    A thread knows which role it holds from the thread-local `HOLDING`,
//!    set by `try_acquire` and restored to its previous value by the
//!    guard's drop (a role of another runtime taken and released meanwhile,
//!    by the same user code, leaves it as it was). Only the innermost role
//!    a thread holds is known: a shutdown of an outer runtime run from
//!    inside an inner runtime's dispatch nested in the outer's still waits
//!    for the outer role (not seen in practice; documented). The shutdown
//!    used to spin for the role forever. `orphaned` is set by the holder and
//!    read and cleared by the holder's own release; every other holder's
//!    release reads it unset, ordered by the role handshake (Relaxed).
//! 6. *A round in flight.* `in_round` is set by the holder before a round
//!    takes the front queue and cleared after it pushed to the ready queue;
//!    only the holder writes it. Between the two, the tasks the round took
//!    are in neither queue, so a spawner that finds the front queue empty,
//!    `in_round` clear and the ready queue empty, in that order, knows that
//!    no task pushed to the front queue before its first look is still on
//!    its way to the ready queue (`shared.rs` invariant 5: a spawn kept in
//!    the spawner's next-run slot must not start before them). Not
//!    modelled in TLA+ (FIFO start order is a property of the code).

use super::heap::WaitingHeap;
use super::Shared;
use crate::shim::atomic::{fence, AtomicBool, AtomicUsize, Ordering::*};
use crate::shim::tls;
use crate::shim::UnsafeCell;
use crate::task::header::Notified;
use crate::task::state::Dispatch;
use crate::time::clock::Epoch;
use std::cell::Cell;
use std::collections::VecDeque;
use std::time::Instant;

tls! {
    /// The role this thread holds, null if none (invariant 5).
    static HOLDING: Cell<*const SchedRole> = const { Cell::new(std::ptr::null()) };
}

#[derive(Default)]
pub(crate) struct SchedCore {
    pub(crate) heap: WaitingHeap,
    batch: VecDeque<Notified>,
    out: VecDeque<Notified>,
    expired: VecDeque<Notified>,
}

pub(crate) struct SchedRole {
    held: AtomicBool,
    /// The heap is drained at the release (invariant 5).
    orphaned: AtomicBool,
    timed: AtomicUsize,
    /// Set by the holder from before its take of the front queue until
    /// after its push to the ready queue (invariant 6).
    in_round: AtomicBool,
    core: UnsafeCell<SchedCore>,
}

// SAFETY: `core` is only reached through a `RoleGuard`, of which at most one
// exists at a time (invariants 1 and 2); the tasks inside are Send.
unsafe impl Sync for SchedRole {}
// SAFETY: as above.
unsafe impl Send for SchedRole {}

/// Proof of holding the role; releases it on drop.
pub(crate) struct RoleGuard<'a> {
    role: &'a SchedRole,
    /// `HOLDING` before this acquisition, restored at release (invariant 5).
    prev: *const SchedRole,
}

/// What a round found.
pub(crate) struct Round {
    /// The earliest deadline still in the heap.
    pub(crate) next_deadline: Option<Instant>,
    /// The woken task that passes the ready queue (invariant 4): the holder
    /// runs it next, after releasing the role.
    pub(crate) pass: Option<Notified>,
}

impl SchedRole {
    pub(crate) fn new() -> Self {
        SchedRole {
            held: AtomicBool::new(false),
            orphaned: AtomicBool::new(false),
            timed: AtomicUsize::new(0),
            in_round: AtomicBool::new(false),
            core: UnsafeCell::new(SchedCore::default()),
        }
    }

    /// Takes the role if free.
    ///
    /// TLA+: `SchedAcquire`
    pub(crate) fn try_acquire(&self) -> Option<RoleGuard<'_>> {
        if self.held.load(Relaxed) {
            return None;
        }
        // SeqCst (≥ Acquire): pairs with the Release of the previous holder's
        // `release`, and takes part in the park handshake (`idle.rs` inv. 2).
        self.held
            .compare_exchange(false, true, SeqCst, Relaxed)
            .ok()
            .map(|_| {
                // SeqCst fence: the holder's half of the handshake with a pusher
                // (`Shared::notify_sched`): either the pusher sees the role held
                // and unparks the driver, or this holder sees the push.
                fence(SeqCst);
                let prev = HOLDING
                    .try_with(|h| h.replace(self))
                    .unwrap_or(std::ptr::null());
                RoleGuard { role: self, prev }
            })
    }

    /// Whether the calling thread holds this role (invariant 5).
    pub(crate) fn held_here(&self) -> bool {
        HOLDING
            .try_with(|h| std::ptr::eq(h.get(), self))
            .unwrap_or(false)
    }

    /// Asks the guard held by the calling thread to drain the heap when it
    /// releases the role (invariant 5).
    ///
    /// # Panics
    /// If the calling thread does not hold the role (a tempo bug).
    pub(crate) fn drain_at_release(&self) {
        assert!(
            self.held_here(),
            "tempo bug: drain_at_release without the role"
        );
        self.orphaned.store(true, Relaxed);
    }

    /// Whether some thread holds the role (SeqCst read for the handshakes).
    pub(crate) fn is_held(&self) -> bool {
        self.held.load(SeqCst)
    }

    /// Whether a round may hold tasks taken from the front queue and not
    /// yet pushed to the ready queue (invariant 6).
    pub(crate) fn in_round(&self) -> bool {
        // Acquire: pairs with the Release store that ends the round, so a
        // `false` read here is followed by a look at the ready queue that
        // sees the round's push.
        self.in_round.load(Acquire)
    }

    /// Number of tasks waiting for a deadline (SeqCst, invariant 3).
    pub(crate) fn timed(&self) -> usize {
        self.timed.load(SeqCst)
    }
}

impl RoleGuard<'_> {
    /// Invariant 3 after the shutdown drained the heap.
    pub(crate) fn clear_timed(&mut self) {
        debug_assert_eq!(self.core().heap.len(), 0);
        self.role.timed.store(0, SeqCst);
    }

    pub(crate) fn core(&mut self) -> &mut SchedCore {
        // SAFETY: invariant 2: the guard proves exclusive access.
        self.role.core.with_mut(|p| unsafe { &mut *p })
    }

    /// One scheduling round.
    ///
    /// TLA+: `SchedTakeFront`, then `SchedDispatch` per task (the first
    /// woken one to the holder: invariant 4), then `SchedExpire`
    /// per expired entry (all sched-role-private steps between them).
    pub(crate) fn round(&mut self, shared: &Shared) -> Round {
        // Invariant 6. Relaxed: published by `take_all`'s SeqCst CAS, the
        // write a spawner's SeqCst look at an empty front queue reads from
        // (`Shared::nothing_awaits_dispatch`); with nothing to take there is
        // no CAS, and nothing in flight either.
        let role = self.role;
        role.in_round.store(true, Relaxed);
        let core = self.core();
        shared.front.take_all(&mut core.batch);
        let mut pass = None;
        while let Some(n) = core.batch.pop_front() {
            match n.raw().state().transition_to_dispatched() {
                Dispatch::ToHeap => {
                    let d = n.raw().header().deadline.with_mut(|d| {
                        // SAFETY: header invariant 3: written by the poster
                        // before the push; the role owns it now. Reset, so a
                        // later post that wrote none is caught below.
                        unsafe { std::mem::replace(&mut *d, Epoch::UNSET) }
                    });
                    assert!(
                        d != Epoch::UNSET,
                        "tempo bug: WAITING_POSTED without a deadline"
                    );
                    core.heap.insert(d, n);
                }
                Dispatch::ToReady { started } => {
                    drop(core.heap.remove(&n));
                    // Invariant 4: one woken task passes; spawns never do.
                    if started && pass.is_none() {
                        pass = Some(n);
                    } else {
                        core.out.push_back(n);
                    }
                }
                Dispatch::Drop => {
                    // Complete, or claimed by the shutdown sweep (a
                    // straggler's round only, `worker.rs` invariant 10).
                    if cfg!(any(debug_assertions, tempo_loom, tempo_shuttle)) {
                        assert!(
                            n.raw().state().load().is_complete() || shared.is_shutdown(),
                            "tempo bug: a notification of a running task in the front queue"
                        );
                    }
                    drop(core.heap.remove(&n))
                }
            }
        }
        if core.heap.len() > 0 {
            let now = shared.epoch.now_ticks(shared.clock.now());
            while let Some(n) = core.heap.pop_expired(now) {
                if n.raw().state().transition_expired() {
                    core.expired.push_back(n);
                }
            }
        }
        shared.ready.push_round(&mut core.out, &mut core.expired);
        // Release: pairs with the Acquire in `in_round`: the push above is
        // visible to whoever reads the round as over (invariant 6). An
        // unwind out of the round (only a tempo bug: a dropped task's
        // output is contained) leaves the flag set, the safe state: tasks
        // may be left outside both queues; the next round clears it.
        role.in_round.store(false, Release);
        drop(super::ready::trim(&mut core.batch));
        drop(super::ready::trim(&mut core.out));
        drop(super::ready::trim(&mut core.expired));
        // `None` for `Epoch::NEVER`: that deadline is never reached.
        let next_deadline = core
            .heap
            .next_deadline()
            .and_then(|t| shared.epoch.instant(t));
        let len = core.heap.len();
        self.role.timed.store(len, SeqCst);
        Round {
            next_deadline,
            pass,
        }
    }
}

impl Drop for RoleGuard<'_> {
    /// TLA+: `SchedRelease`
    fn drop(&mut self) {
        // Invariant 5: a shutdown ran on this thread while it held the role.
        if self.role.orphaned.load(Relaxed) {
            self.role.orphaned.store(false, Relaxed);
            drop(self.core().heap.drain());
            self.clear_timed();
        }
        let _ = HOLDING.try_with(|h| h.set(self.prev));
        // SeqCst (≥ Release): publishes the core to the next holder; pairs
        // with `try_acquire`; orders before the caller's re-check of the front queue.
        self.role.held.store(false, SeqCst);
        // SeqCst fence: orders the release before the releaser's next look at
        // the front queue; pairs with the fence in `Shared::notify_sched`.
        fence(SeqCst);
    }
}

/// loom model of the role handshake alone (run by `cargo test --features
/// loom`, with the models of `loom-tests/`).
#[cfg(all(test, tempo_loom))]
mod loom_model {
    use super::SchedRole;
    use crate::shim::{thread, Arc};

    /// Two threads each take the role if free and write its core. The core
    /// is ordered from one holder to the next by the role's release store,
    /// the next holder's acquiring CAS and the SeqCst fences after both, and
    /// nothing else. loom reports a causality violation on the core's cell
    /// when the release store is Relaxed *and* its trailing fence is gone;
    /// with the fence, loom (whose SeqCst fences are stronger than C11's)
    /// cannot see the Relaxed store alone (the seeded bug
    /// `tests/mutants/role_release_relaxed.patch`; VERIFICATION.md).
    #[test]
    fn release_publishes_the_core_to_the_next_holder() {
        loom::model(|| {
            let role = Arc::new(SchedRole::new());
            let r2 = role.clone();
            let t = thread::spawn(move || {
                if let Some(mut g) = r2.try_acquire() {
                    g.core().out.clear();
                }
            });
            if let Some(mut g) = role.try_acquire() {
                g.core().out.clear();
            }
            t.join().unwrap();
            // The last holder has released: the role is free again.
            let mut g = role.try_acquire().expect("the role was left held");
            g.core().out.clear();
        });
    }
}
