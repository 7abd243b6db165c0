//! [`ScheduledIo`]: the meeting point of one registered I/O source and the
//! tasks waiting on it, per direction (usually one reader and one writer;
//! shared sockets such as a listener accepted from by several tasks have more).
//!
//! The reactor only *reports* readiness here and wakes wakers; it never
//! performs I/O and never touches the scheduler (DESIGN.md layer 5: "the only
//! effect a driver has on the core is waking tasks").
//!
//! # Invariants (spec: `tla/Readiness.tla`)
//! 1. `waiters` holds, per [`Direction`], the wakers of every task that
//!    waited since the last report in that direction (a task's waker once:
//!    `will_wake` deduplicates); it is written by the waiting tasks
//!    (`poll_ready`) and emptied by the reactor (`report`) and by `shutdown`,
//!    all under the `waiters` lock. A report wakes *every* waiter of the
//!    direction: with one slot, a second waiter would evict the first, and the
//!    first would sleep through the next edge (found by the shuttle scenario
//!    `two_readers_one_source`). The spec models one waiter per direction;
//!    waking all of them is that model applied to each.
//! 2. No lost wakeup: a waiter stores its waker under the lock and then
//!    re-reads the word; the reactor updates the word *before* taking the
//!    lock. Either the reactor's lock section comes after the store (and
//!    takes the waker) or the waiter's re-read comes after the update (and
//!    sees the bit) (spec: `NoLostWakeup`).
//! 3. Wakers are woken outside the lock (a wake may push a task and take
//!    scheduler locks; none of those ever takes a `waiters` lock).
//! 4. One poll of an I/O future retries its operation after `WouldBlock`
//!    only if a report (or `shutdown`) came after the snapshot the operation
//!    acted on; otherwise it registers its waker and returns `Pending`, even
//!    if the word still makes the direction ready. A sticky bit
//!    (`READ_CLOSED`, `WRITE_CLOSED`; readiness invariant 3) is no proof that
//!    the operation will not block, and retrying on it spun forever inside
//!    one poll (a UDP socket shut down for reading). The task runs again
//!    after the next report, which wakes it: a sticky bit makes every report
//!    ready for its direction (spec: `ParkAfterClear`, `PollReturns`).
//! 5. Every operation first takes a unit of its poll's cooperative budget
//!    (`task/budget.rs`); with the budget spent it wakes its task and returns
//!    `Pending` having read and registered nothing, so a source that is
//!    always ready cannot keep a task from yielding. An operation that
//!    returns `Pending` for its source gives its unit back: only completed
//!    operations count, so a task that polls many idle sources in one poll
//!    (a `select` over 130 sockets) neither spends its budget on them nor
//!    spins (it did: a poll refused at the 129th source, re-polled with a
//!    fresh budget, refused there again, forever). This is not a step of
//!    `tla/Readiness.tla` (the word and the waiters are untouched); for
//!    `Scheduler.tla` it is the task's own wake while it runs (`Wake` from
//!    `RUNNING`, then the re-post of `PollPending`).

use super::readiness::{Cleared, Direction, ReadinessWord, Snapshot};
use super::readiness::{ERROR, READABLE, READ_CLOSED, SHUTDOWN, URGENT, WRITABLE, WRITE_CLOSED};
use crate::shim::Mutex;
use crate::task::waker::wake_contained;
use std::io;
use std::task::{Context, Poll, Waker};

/// The wakers of one direction: the first inline (the common case: one
/// task per direction), the rest in a vector.
#[derive(Default)]
struct Slot {
    first: Option<Waker>,
    more: Vec<Waker>,
}

impl Slot {
    /// Adds `w` unless a waker of the same task is already there.
    fn add(&mut self, w: &Waker) {
        match &self.first {
            None => self.first = Some(w.clone()),
            Some(f) if f.will_wake(w) => {}
            Some(_) => {
                if !self.more.iter().any(|m| m.will_wake(w)) {
                    self.more.push(w.clone());
                }
            }
        }
    }

    /// Takes every waker (to wake outside the lock, invariant 3).
    fn take(&mut self) -> Woken {
        Woken {
            first: self.first.take(),
            more: if self.more.is_empty() {
                Vec::new()
            } else {
                std::mem::take(&mut self.more)
            },
        }
    }
}

/// Wakers taken out of a [`Slot`].
struct Woken {
    first: Option<Waker>,
    more: Vec<Waker>,
}

impl Woken {
    fn none() -> Woken {
        Woken {
            first: None,
            more: Vec::new(),
        }
    }

    /// Wakes every waker; a panicking one neither unwinds through the
    /// reactor's caller (a worker, `finish_shutdown`) nor keeps the others
    /// asleep (`task/waker.rs` invariant 3).
    fn wake(self) {
        if let Some(w) = self.first {
            wake_contained(w);
        }
        for w in self.more {
            wake_contained(w);
        }
    }
}

#[derive(Default)]
struct Waiters {
    reader: Slot,
    writer: Slot,
}

impl Waiters {
    fn slot(&mut self, d: Direction) -> &mut Slot {
        match d {
            Direction::Read => &mut self.reader,
            Direction::Write => &mut self.writer,
        }
    }
}

/// Readiness and waiters of one source (see the module docs).
pub(crate) struct ScheduledIo {
    word: ReadinessWord,
    waiters: Mutex<Waiters>,
}

impl Default for ScheduledIo {
    fn default() -> Self {
        Self::new()
    }
}

impl ScheduledIo {
    pub(crate) fn new() -> Self {
        ScheduledIo {
            word: ReadinessWord::new(),
            waiters: Mutex::new(Waiters::default()),
        }
    }

    /// Waits until direction `d` is reported ready (or closed, errored, shut
    /// down); returns the snapshot to pass to [`clear`](Self::clear) after a
    /// `WouldBlock`.
    ///
    /// TLA+: `CheckReady` (fast path), `Register` (slow path: storing the
    /// waker and re-reading the word are one lock section, one step)
    pub(crate) fn poll_ready(&self, d: Direction, cx: &mut Context<'_>) -> Poll<Snapshot> {
        let s = self.word.load();
        if s.is_ready(d) {
            return Poll::Ready(s);
        }
        let mut w = self.waiters.lock();
        w.slot(d).add(cx.waker());
        // Invariant 2: re-read after the waker is visible to the reactor.
        let s = self.word.load();
        // Seeded bug (VERIFICATION.md; TLA+ twin `NoRecheck`): no re-check.
        #[cfg(tempo_mutant = "readiness_no_recheck")]
        let s = {
            let _ = s;
            Snapshot::none()
        };
        drop(w);
        if s.is_ready(d) {
            Poll::Ready(s)
        } else {
            Poll::Pending
        }
    }

    /// After an operation in direction `d` returned `WouldBlock` having seen
    /// `seen`: clears the direction unless a report arrived since.
    ///
    /// TLA+: `ClearReadiness`
    pub(crate) fn clear(&self, d: Direction, seen: Snapshot) -> Cleared {
        self.word.clear(d, seen)
    }

    /// After a `WouldBlock` in direction `d` whose clear succeeded: stores
    /// the waker and re-reads the word (invariant 2). `Ready` if a report
    /// arrived since `seen` or the source was shut down (retry at once);
    /// `Pending` otherwise, even if a sticky bit keeps `d` ready
    /// (invariant 4).
    ///
    /// TLA+: `ParkAfterClear` (one lock section, one step)
    fn poll_park_after_clear(
        &self,
        d: Direction,
        cx: &mut Context<'_>,
        seen: Snapshot,
    ) -> Poll<()> {
        let mut w = self.waiters.lock();
        w.slot(d).add(cx.waker());
        // Invariant 2: re-read after the waker is visible to the reactor. A
        // report moves the tick before the reactor takes the lock; `shutdown`
        // sets SHUTDOWN before it takes the lock. Either is seen here, or its
        // lock section comes after the store and takes the waker.
        let s = self.word.load();
        drop(w);
        if s.tick() != seen.tick() || s.has(SHUTDOWN) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }

    /// The reactor reports an event; wakes the waiters it concerns.
    ///
    /// TLA+: `Report`, then `Dispatch` (the lock section), then
    /// `DispatchWake` (the wakes after it)
    pub(crate) fn report(&self, bits: usize) {
        let s = self.word.report(bits);
        let (r, w) = {
            let mut g = self.waiters.lock();
            let r = if s.is_ready(Direction::Read) {
                g.reader.take()
            } else {
                Woken::none()
            };
            let w = if s.is_ready(Direction::Write) {
                g.writer.take()
            } else {
                Woken::none()
            };
            (r, w)
        };
        // Invariant 3: outside the lock.
        r.wake();
        w.wake();
    }

    /// The socket's own write side was shut down (`shutdown(2)` with
    /// `SHUT_WR` succeeded): reports [`WRITE_CLOSED`] | [`WRITABLE`] as the
    /// reactor would for a hang-up, and wakes the writers; their next write
    /// fails with `EPIPE`. For socket types whose kernel poll raises no edge
    /// for it (Linux `unix_poll`; TCP's `tcp_poll` does). A report like any
    /// other (readiness invariant 1: it moves the tick).
    ///
    /// TLA+: `HangUp("w")` followed at once by `Report`, `Dispatch`,
    /// `DispatchWake`
    #[cfg_attr(any(tempo_loom, tempo_shuttle), allow(dead_code))]
    pub(crate) fn report_write_shutdown(&self) {
        self.report(WRITE_CLOSED | WRITABLE);
    }

    /// Marks the source shut down and wakes both waiters; their operations
    /// then fail (readiness invariant 4).
    ///
    /// TLA+: `Close` (the `fetch_or`), then `CloseDispatch` (the lock
    /// section), then `CloseWake` (the wakes after it)
    pub(crate) fn shutdown(&self) {
        if self.word.shutdown() {
            return;
        }
        let (r, w) = {
            let mut g = self.waiters.lock();
            (g.reader.take(), g.writer.take())
        };
        r.wake();
        w.wake();
    }

    /// Runs a non-blocking operation in direction `d`, waiting for readiness
    /// and retrying after `WouldBlock` (the only loop an I/O type needs).
    ///
    /// # Errors
    /// The operation's own errors; after [`shutdown`](Self::shutdown), an
    /// error of kind `Other` saying the reactor is gone.
    ///
    /// TLA+: one iteration is `CheckReady`/`Register`, then `TryOp` (the
    /// `SHUTDOWN` test and `op`), then on `WouldBlock` `ClearReadiness` and,
    /// if it cleared, `ParkAfterClear`
    pub(crate) fn poll_io<R>(
        &self,
        d: Direction,
        cx: &mut Context<'_>,
        op: impl FnMut() -> io::Result<R>,
    ) -> Poll<io::Result<R>> {
        self.poll_io_until(d, cx, op, |_, _| false)
    }

    /// The loop of [`poll_io`](Self::poll_io); `exhausted(&r, seen)` says
    /// that a successful result, with the snapshot it acted on, also proves
    /// the direction not ready any more (the readiness is then cleared as
    /// after a `WouldBlock`, under the same tick guard).
    fn poll_io_until<R>(
        &self,
        d: Direction,
        cx: &mut Context<'_>,
        mut op: impl FnMut() -> io::Result<R>,
        exhausted: impl Fn(&R, Snapshot) -> bool,
    ) -> Poll<io::Result<R>> {
        // Invariant 5: a source that is always ready (a flooding peer) must
        // not keep the task from yielding. Before `CheckReady`: nothing is
        // registered, the task re-posts itself.
        if crate::task::budget::poll_take(cx).is_pending() {
            return Poll::Pending;
        }
        loop {
            let seen = match self.poll_ready(d, cx) {
                Poll::Ready(s) => s,
                Poll::Pending => {
                    // Invariant 5: an operation that completes nothing
                    // gives its unit back.
                    crate::task::budget::refund();
                    return Poll::Pending;
                }
            };
            if seen.has(SHUTDOWN) {
                return Poll::Ready(Err(gone()));
            }
            match op() {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => match self.clear(d, seen) {
                    // A report arrived during the operation: retry now.
                    Cleared::Stale => {}
                    // Invariant 4: wait for the next report, not for the
                    // word (a sticky bit may keep it ready).
                    Cleared::Cleared => {
                        if self.poll_park_after_clear(d, cx, seen).is_pending() {
                            crate::task::budget::refund();
                            return Poll::Pending;
                        }
                    }
                },
                Ok(r) => {
                    if exhausted(&r, seen) {
                        let _ = self.clear(d, seen);
                    }
                    return Poll::Ready(Ok(r));
                }
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }

    /// [`poll_io`](Self::poll_io) for a byte-stream *write* asked to send
    /// `want` bytes: a short write (`0 < n < want`) means the socket's send
    /// buffer was full at that moment, so the direction is cleared right away,
    /// with the same tick guard as after a `WouldBlock`. That saves the syscall that would only return
    /// `WouldBlock` (tokio does the same). Reads do not use it: a short read
    /// does not always mean drained (TCP urgent mark, Unix `SCM_RIGHTS`
    /// boundaries; `tla/Readiness.tla`'s `readiness_short_not_drained` shows
    /// the hang that assumption would cause); TCP reads use
    /// [`poll_tcp_read`](Self::poll_tcp_read), which knows the mark. It is safe for the reason the tick
    /// guard is: bytes arriving after the operation raise a new edge, and a
    /// report in between makes the clear stale (spec: the short transfer is
    /// `TryOp` followed by a `TryOp` that would block, then `ClearReadiness`,
    /// with no step of the reactor between them).
    #[cfg_attr(any(tempo_loom, tempo_shuttle), allow(dead_code))]
    pub(crate) fn poll_stream_io(
        &self,
        d: Direction,
        cx: &mut Context<'_>,
        want: usize,
        op: impl FnMut() -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        self.poll_io_until(d, cx, op, |&n, _| n > 0 && n < want)
    }

    /// [`poll_io`](Self::poll_io) for a TCP stream *read* asked for `want`
    /// bytes: a short read clears readiness like a short write does, unless
    /// the snapshot it acted on has [`URGENT`]. On Linux a non-blocking TCP
    /// `recv` returns short only when the receive queue was empty or at the
    /// urgent mark; urgent data raises an edge whose report carries
    /// `EPOLLPRI`, so either that report came before the snapshot (`URGENT`
    /// set: no clear, the next read goes past the mark) or after it (the
    /// tick moved: the clear is refused). Saves the `recv` that would only
    /// return `WouldBlock` (one syscall per echo round trip). Elsewhere (no
    /// `EPOLLPRI` registration) it is [`poll_io`](Self::poll_io).
    ///
    /// TLA+: `Readiness.tla` with `Urgent` (`ArriveUrgent`, the `seenUrg`
    /// guard in `TryOp`; mutant `ShortIgnoresUrgent` is caught)
    #[cfg_attr(any(tempo_loom, tempo_shuttle), allow(dead_code))]
    pub(crate) fn poll_tcp_read(
        &self,
        cx: &mut Context<'_>,
        want: usize,
        op: impl FnMut() -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        let epollpri = cfg!(any(target_os = "linux", target_os = "android"));
        self.poll_io_until(Direction::Read, cx, op, |&n, seen| {
            epollpri && n > 0 && n < want && !seen.has(URGENT)
        })
    }
}

/// The error of an operation on a source whose reactor shut down.
pub(crate) fn gone() -> io::Error {
    io::Error::other(
        "tempo: the runtime owning this I/O source shut down (the source is deregistered)",
    )
}

/// Readiness bits of a platform event (translated by the reactor).
#[cfg_attr(any(tempo_loom, tempo_shuttle), allow(dead_code))]
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct EventBits {
    pub(crate) readable: bool,
    pub(crate) writable: bool,
    pub(crate) read_closed: bool,
    pub(crate) write_closed: bool,
    pub(crate) error: bool,
    /// `EPOLLPRI`: TCP urgent data arrived (readiness invariant 5).
    pub(crate) priority: bool,
}

#[cfg_attr(any(tempo_loom, tempo_shuttle), allow(dead_code))]
impl EventBits {
    /// The readiness bits to report.
    pub(crate) fn bits(self) -> usize {
        let mut b = 0;
        if self.readable {
            b |= READABLE;
        }
        if self.writable {
            b |= WRITABLE;
        }
        if self.read_closed {
            b |= READ_CLOSED | READABLE;
        }
        if self.write_closed {
            b |= WRITE_CLOSED | WRITABLE;
        }
        if self.error {
            b |= ERROR | READABLE | WRITABLE;
        }
        if self.priority {
            b |= URGENT;
        }
        b
    }
}
