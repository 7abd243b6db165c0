//! [`Shared`]: the state every worker, task and handle of one runtime
//! shares, and the cross-cutting protocols on it: spawn, push + notify,
//! shutdown.
//!
//! # Invariants
//! 1. No lost wakeup: after a push that found the front queue empty, the
//!    pusher notifies: if the role is held it unparks the driver (sticky token,
//!    so a holder about to park returns at once); if the role is free it wakes
//!    an idle worker. A holder releasing the role re-checks the front queue
//!    before it parks anywhere (worker loop), and SeqCst on the push, the role
//!    flag and the sleeper count orders these checks (spec: `PushFront`,
//!    `SchedRelease`, `WorkerPark`).
//! 2. Shutdown order: set `shutdown`, close the registry (no new tasks), wake
//!    everyone; after the workers exit, claim and drop every registered task's
//!    future, then close the front queue and drain the ready queue and heap,
//!    releasing their references (spec: `ShutdownBegin`, `ShutdownSweep`, `FrontClose`).
//! 3. Local spawn: a task spawned from inside a task's poll, on a runtime
//!    whose only runner is the spawning thread ([`Shared::one_runner`]),
//!    goes to the back of that runner's rerun list (`worker.rs` invariants 5
//!    and 6), not through the front queue: no CAS on the front queue, no
//!    dispatch RMW, no wake-up, no round. Nobody else could start it before
//!    the spawner's poll returns, and it still starts after every task
//!    spawned or woken before it (the list is flushed behind the round's
//!    tasks). (spec: `SpawnLocal`.)
//! 4. Start order is dispatch order. Spawns are dispatched in spawn order:
//!    through the front queue and a round to the ready queue, popped from
//!    it in order, or kept (invariant 5) only when nothing spawned before
//!    awaits dispatch. One runner therefore starts them in spawn order
//!    (`tests/fifo.rs`). With several, a task dispatched to a worker (its
//!    share, or its slot) starts when that worker reaches it, and another
//!    worker may start tasks dispatched after it meanwhile, until the
//!    monitor takes what waits behind a run longer than a tick (`watch.rs`
//!    invariant 4), or a lingering worker a kept spawn behind a run longer
//!    than `watch::KEPT_STALE` (`watch.rs` invariant 7).
//! 5. Kept spawn: with two or more runners, a task spawned from inside a
//!    task's run (its poll, or a drop during the run) goes to the spawning
//!    worker's next-run slot
//!    (`running.rs` invariant 3) when that slot is empty, the run is not the
//!    last of its batch, and nothing spawned before it awaits dispatch: the
//!    front queue is empty, no round is between its take of the front queue
//!    and its push to the ready queue (`role.rs` invariant 6), the ready
//!    queue is empty (read in that order, [`Shared::nothing_awaits_dispatch`]),
//!    and the spawner's share and rerun list are empty. A second spawn of
//!    the same run first moves the kept one, unless a monitor stole it, to
//!    the head of the ready queue (everything queued then came after it),
//!    then takes the front queue itself: both are dispatched in spawn order
//!    (invariant 4). On the batch's last run nothing is
//!    kept, since the worker then appends its slot to its rerun list, which
//!    reaches the ready queue behind the round's tasks. Otherwise a spawn
//!    takes the front queue (and wakes an idle worker). A chain of spawns
//!    (each task spawns the next, `3-pingpong/chain-1000`) then runs on one
//!    worker with no front-queue CAS, role round, ready-queue lock or
//!    wake-up per link. A fork (`spawn` one half, compute the other, join)
//!    still runs its halves side by side: the keeping run wakes a sleeper
//!    when nobody lingers (where a worker may linger, and while such wakes
//!    help: `idle.rs` invariant 5), and a lingering worker takes a spawn kept behind
//!    a run that has lasted `watch::KEPT_STALE` (`watch.rs` invariant 7;
//!    Go's rule for `runnext`), which a chain's link, run by its spawner a
//!    microsecond later, does not do unless its spawner is preempted that
//!    long. Only where a worker may linger (no I/O source, no deadline
//!    waiting): on a runtime with sockets a fork waits as below. (Before, a fork shorter than a tick ran
//!    serially, as with tokio's LIFO slot: `9-fork/fork-50us` in
//!    `benches/RESULTS.md`.) A kept child never waits for a long spawner
//!    when no worker lingers either: the monitor steals it after about a
//!    tick (`tests/fairness.rs`: a child starts while its spawner spins).
//!    (spec: `SpawnSlot`, `SlotUnkeep`, `StealSlot` by a `Lingering` worker.)

use super::driver::Driver;
use super::front::{FrontQueue, Pushed};
use super::idle::Idle;
use super::ready::ReadyQueue;
use super::registry::Registry;
use super::role::SchedRole;
use super::watch::Watch;
use crate::shim::atomic::{fence, AtomicBool, AtomicUsize, Ordering::*};
use crate::shim::Mutex;
use crate::shim::{Arc, IdSource};
use crate::task::harness;
use crate::task::header::{Notified, RawTask};
use crate::task::join::JoinHandle;
use crate::task::state::Shutdown;
use crate::time::clock::{Clock, Epoch};
use std::future::Future;
use std::task::Waker;

/// Where a task spawned now goes (invariants 3 and 5), decided before its
/// registry insert (which traces it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use = "the spawner owes the task this place"]
pub(crate) enum SpawnTo {
    /// The front queue, then the sched role (TLA+: `SpawnRegister`, then
    /// `PushFront`).
    Front,
    /// The back of the spawning worker's rerun list: the runtime's only
    /// runner (invariant 3; TLA+: `SpawnLocal`).
    Rerun,
    /// The spawning worker's empty next-run slot (invariant 5; TLA+:
    /// `SpawnSlot`).
    Slot,
}

pub(crate) struct Shared {
    pub(crate) front: FrontQueue,
    pub(crate) ready: ReadyQueue,
    pub(crate) role: SchedRole,
    pub(crate) idle: Idle,
    /// The runners' lanes and the monitor claim (`watch.rs`).
    pub(crate) watch: Watch,
    pub(crate) driver: Arc<dyn Driver>,
    /// The same object as `driver` when it is the mio reactor (always, in
    /// normal builds); `tempo::net` registers sources with it.
    #[cfg(not(any(tempo_loom, tempo_shuttle)))]
    pub(crate) reactor: Option<Arc<crate::io::reactor::Reactor>>,
    /// The blocking pool behind `spawn_blocking` (`runtime/blocking.rs`).
    #[cfg(not(any(tempo_loom, tempo_shuttle)))]
    pub(crate) blocking: crate::runtime::blocking::Pool,
    pub(crate) registry: Registry,
    pub(crate) clock: Clock,
    /// Origin of the deadline ticks in task headers and the waiting heap.
    pub(crate) epoch: Epoch,
    shutdown: AtomicBool,
    ids: IdSource,
    /// Worker threads (0: the caller of `block_on`/`run` is the only worker).
    pub(crate) workers: usize,
    /// Threads inside `worker::run_loop` now (worker threads and
    /// caller-driven `block_on`s); see [`Shared::one_runner`].
    runners: AtomicUsize,
    /// `Handle::stop` was called (sticky until `Runtime::restart`).
    pub(crate) stopped: AtomicBool,
    /// Wakers of `run()` calls waiting for `stop`.
    pub(crate) stop_wakers: Mutex<Vec<Waker>>,
    /// `block_on` frames to wake when a manual clock advances.
    pub(crate) clock_waiters: Mutex<Vec<Waker>>,
}

/// A thread inside `worker::run_loop` (see [`Shared::enter_runner`]).
pub(crate) struct RunnerGuard<'a>(&'a Shared);

impl Drop for RunnerGuard<'_> {
    fn drop(&mut self) {
        self.0.runners.fetch_sub(1, Relaxed);
    }
}

impl Shared {
    /// A scheduler on the mio reactor (normal builds).
    ///
    /// # Errors
    /// If the epoll instance cannot be created.
    #[cfg(not(any(tempo_loom, tempo_shuttle)))]
    pub(crate) fn with_reactor(
        workers: usize,
        clock: Clock,
        blocking: crate::runtime::blocking::Config,
    ) -> std::io::Result<Shared> {
        let reactor = Arc::new(crate::io::reactor::Reactor::new()?);
        let mut s = Shared::new(workers, reactor.clone(), clock);
        s.reactor = Some(reactor);
        s.blocking = crate::runtime::blocking::Pool::new(blocking);
        Ok(s)
    }

    /// A scheduler on `driver` (`ParkDriver` under loom and shuttle).
    pub(crate) fn new(workers: usize, driver: Arc<dyn Driver>, clock: Clock) -> Shared {
        trace!(runtime_start(workers));
        Shared {
            #[cfg(not(any(tempo_loom, tempo_shuttle)))]
            reactor: None,
            #[cfg(not(any(tempo_loom, tempo_shuttle)))]
            blocking: crate::runtime::blocking::Pool::new(Default::default()),
            front: FrontQueue::new(),
            ready: ReadyQueue::new(),
            role: SchedRole::new(),
            idle: Idle::new(),
            watch: Watch::new(),
            driver,
            registry: Registry::new(4 * workers.max(1)),
            epoch: clock.epoch(),
            clock,
            shutdown: AtomicBool::new(false),
            ids: IdSource::new(),
            workers,
            runners: AtomicUsize::new(0),
            stopped: AtomicBool::new(false),
            stop_wakers: Mutex::new(Vec::new()),
            clock_waiters: Mutex::new(Vec::new()),
        }
    }

    /// A fresh id for a task or a `block_on` frame, unique within the
    /// process ([`IdSource`]).
    pub(crate) fn next_id(&self) -> u64 {
        self.ids.next()
    }

    /// Whether this runtime has one runner: a single worker thread, or no
    /// worker threads and one `block_on`/`run` driving it (invariant 3).
    /// A `block_on` that enters after a local spawn does not help with that
    /// task: it reaches the ready queue when the spawner's poll has returned
    /// and the spawning runner ends its batch (at most `BATCH` runs later),
    /// like any task in a rerun list (`tests/fairness.rs`: with two callers
    /// inside `block_on`, a child starts while its spawner spins).
    pub(crate) fn one_runner(&self) -> bool {
        // Relaxed: a policy choice, not a synchronisation: every outcome is
        // correct (worker.rs invariant 6).
        self.workers <= 1 && self.runners.load(Relaxed) == 1
    }

    /// Threads inside `worker::run_loop` now (a hint: Relaxed, for
    /// `watch.rs`'s choice whether a sleeper exists to wake).
    pub(crate) fn runners(&self) -> usize {
        self.runners.load(Relaxed)
    }

    /// Counts a thread entering `worker::run_loop` until the guard drops.
    pub(crate) fn enter_runner(&self) -> RunnerGuard<'_> {
        self.runners.fetch_add(1, Relaxed);
        RunnerGuard(self)
    }

    pub(crate) fn is_shutdown(&self) -> bool {
        // SeqCst: read in the park handshake (see `begin_shutdown`).
        self.shutdown.load(SeqCst)
    }

    /// [`is_shutdown`](Self::is_shutdown) for the worker loop's check before
    /// each task (`worker.rs` invariant 10), which is best effort: a task
    /// the sweep claims after the read is left to it by the next RMW
    /// (`Start::Skip`). Relaxed: it orders nothing.
    pub(crate) fn is_shutdown_hint(&self) -> bool {
        self.shutdown.load(Relaxed)
    }

    /// Spawns a task. After shutdown began, the future is dropped at once and
    /// the handle resolves to a cancellation error.
    ///
    /// TLA+: `SpawnRegister`, then `PushFront`; or `SpawnLocal` (invariant
    /// 3); or `SpawnSlot` (invariant 5)
    pub(crate) fn spawn<F>(self: &Arc<Self>, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        Shared::spawn_arc(self.clone(), future)
    }

    /// [`spawn`](Self::spawn), moving the caller's reference to the runtime
    /// into the task: `tempo::spawn` clones the context's `Arc` once for
    /// the task, where cloning the context's `Handle` and then the task's
    /// `Arc` cost three RMWs on the runtime's reference count, shared by
    /// every worker (the clone, the task's clone, the drop).
    ///
    /// TLA+: as [`spawn`](Self::spawn)
    pub(crate) fn spawn_arc<F>(this: Arc<Self>, future: F) -> JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let id = this.next_id();
        let t = RawTask::from_ptr(harness::allocate(future, id, this));
        // The task's own reference to the runtime: live as long as the task's
        // allocation, which the reference the returned handle owns keeps
        // alive whatever a worker does with the task meanwhile.
        let this = &t.header().shared;
        // Invariants 3 and 5: decided before the insert, which traces it.
        let to = super::running::spawn_place(this);
        if this.registry.insert(t, to) {
            match to {
                SpawnTo::Rerun => super::running::push_spawned(Notified(t)),
                SpawnTo::Slot => super::running::keep_spawned(this, Notified(t)),
                SpawnTo::Front => this.push_front(Notified(t)),
            }
        } else {
            // Rejected: we own the run permission (SCHEDULED, in no queue).
            let _ = t.state().transition_to_shutdown();
            super::worker::cancel_and_complete(this, t);
            t.drop_ref(); // the registry's reference (never registered)
            t.drop_ref(); // the notification's
        }
        JoinHandle::new(t)
    }

    /// Pushes a notified task and keeps invariant 1.
    ///
    /// TLA+: `PushFront` (+ `NotifySched`)
    pub(crate) fn push_front(&self, n: Notified) {
        trace!(push(n.raw().state() as *const _ as usize));
        let pushed = self.front.push(n);
        trace!(push_done());
        match pushed {
            Pushed::WasEmpty => self.notify_sched(),
            Pushed::Behind => {}
            Pushed::Closed(n) => drop(n),
        }
    }

    /// [`push_front`](Self::push_front) for a woken task (it has run before:
    /// it may pass the ready queue, `role.rs` invariant 4), leaving the hint
    /// that a worker with a share reads after each run (`front.rs` invariant
    /// 4, `worker.rs` invariant 8).
    ///
    /// TLA+: `PushFront` (the hint is not modelled)
    pub(crate) fn push_woken(&self, n: Notified) {
        self.push_front(n);
        self.front.mark_woken();
    }

    /// Whether every task pushed to the front queue before this call has
    /// been dispatched (popped from the ready queue by some worker), so
    /// that a spawn kept in a slot now cannot start before an earlier one
    /// (invariant 5). Three loads, in this order: the front queue's head
    /// (SeqCst), the round flag (Acquire) and the ready queue's length
    /// (SeqCst); a task taken by a round after the first load was pushed
    /// after it (`role.rs` invariant 6 for the ones taken before).
    pub(crate) fn nothing_awaits_dispatch(&self) -> bool {
        self.front.is_empty() && !self.role.in_round() && self.ready.len() == 0
    }

    /// Whether an idle worker of this runtime may linger now (`worker.rs`
    /// invariant 7): two or more workers, no I/O source registered and no
    /// deadline waiting in the heap. A hint (two loads), for a spawner
    /// deciding whether a wake-up could help its kept spawn (`watch.rs`
    /// invariant 7).
    pub(crate) fn may_linger(&self) -> bool {
        self.workers >= 2 && !self.driver.has_sources() && self.role.timed() == 0
    }

    /// Makes sure someone will take the front queue (invariant 1).
    ///
    /// TLA+: `NotifySched`
    pub(crate) fn notify_sched(&self) {
        // SeqCst fence: the pusher's half of the Dekker handshake (invariant 1);
        // pairs with the fences in `Idle::park` and `RoleGuard::drop`. (loom
        // models SeqCst accesses as AcqRel but models SeqCst fences exactly.)
        fence(SeqCst);
        if self.role.is_held() {
            self.driver.unpark();
        } else {
            // If nobody sleeps, every worker is busy and reaches the sched
            // role after its bounded batch (the re-check in the worker loop).
            self.idle.notify_one_fenced();
        }
    }

    /// Wakes whoever times deadlines (manual clock advanced, stop requested).
    pub(crate) fn unpark_sched(&self) {
        self.driver.unpark();
        self.idle.notify_one();
        let frames: Vec<Waker> = self.clock_waiters.lock().clone();
        for w in frames {
            w.wake();
        }
    }

    /// First half of shutdown (invariant 2).
    ///
    /// TLA+: `ShutdownBegin`
    pub(crate) fn begin_shutdown(&self) {
        self.shutdown.store(true, SeqCst);
        self.registry.close();
        // Traced here, not at the flag: the spec's one `ShutdownBegin` step
        // also closes the registry, and a spawn may still be accepted between
        // the flag and the close (trace validation found the first placement
        // out of order).
        trace!(shutdown_begin());
        self.idle.notify_all();
        self.driver.unpark();
    }

    /// Second half of shutdown, after the workers exited (invariant 2).
    /// Returns the number of futures it dropped.
    ///
    /// TLA+: `ShutdownSweep` per task, then `FrontClose`
    pub(crate) fn finish_shutdown(&self) -> usize {
        let mut dropped = 0;
        for t in self.registry.drain() {
            match t.state().transition_to_shutdown() {
                // Seeded bug (VERIFICATION.md): parked tasks are forgotten;
                // their futures are never dropped.
                #[cfg(tempo_mutant = "shutdown_forgets_parked")]
                Shutdown::Claimed => {}
                #[cfg(not(tempo_mutant = "shutdown_forgets_parked"))]
                Shutdown::Claimed => {
                    super::worker::cancel_and_complete(self, t);
                    dropped += 1;
                }
                // A straggler worker (shutdown_timeout expired) finishes it:
                // it sees CANCELLED when its poll returns.
                Shutdown::Busy | Shutdown::Done => {}
            }
            t.drop_ref(); // the registry's reference
        }
        drop(self.front.close());
        drop(self.ready.drain());
        // The heap belongs to the role; stragglers never keep it for more
        // than a round. A shutdown run by user code that the holder called
        // (a waker in the reactor's dispatch) leaves the drain to the
        // holder's release (`role.rs` invariant 5): waiting for the role
        // here waited for this very thread.
        if self.role.held_here() {
            self.role.drain_at_release();
        } else {
            let mut role = loop {
                if let Some(g) = self.role.try_acquire() {
                    break g;
                }
                crate::shim::thread::yield_now();
            };
            drop(role.core().heap.drain());
            role.clear_timed();
            drop(role);
        }
        // Sockets outlive the runtime only as errors, never as hangs.
        #[cfg(not(any(tempo_loom, tempo_shuttle)))]
        if let Some(r) = &self.reactor {
            r.shutdown();
        }
        trace!(runtime_end());
        dropped
    }
}
