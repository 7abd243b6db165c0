//! The readiness word of one registered I/O source: one `AtomicUsize`
//! holding which directions the reactor last reported ready, whether the
//! source was shut down, and a tick that counts the reactor's reports.
//!
//! Every change is one named read-modify-write method returning a
//! `#[must_use]` value; other modules read the word through [`Snapshot`].
//!
//! # Layout
//! ```text
//!  63 .......... 8 |  7  |  6   5   4    3    2    1    0
//!  tick            | (0) | URG SHUT ERR  WCL  RCL  WR   RD
//! ```
//!
//! # Invariants (mirrored in `tla/Readiness.tla`)
//! 1. Only [`ReadinessWord::report`] sets the readiness bits, and every
//!    report increments `tick` (wrapping). It is called by the reactor's
//!    dispatch and, for a socket's own write shutdown that its kernel poll
//!    does not signal (Unix streams), by the socket
//!    (`ScheduledIo::report_write_shutdown`).
//! 2. An I/O operation that saw `WouldBlock` clears the direction's
//!    [`READABLE`]/[`WRITABLE`] bit only if `tick` still equals the tick it
//!    observed before the operation ([`ReadinessWord::clear`]); otherwise a
//!    report arrived in between and the bit stays set: an edge-triggered
//!    event between the `WouldBlock` and the caller's next wait is never
//!    lost (spec: `NoLostEdge`).
//! 3. [`READ_CLOSED`], [`WRITE_CLOSED`], [`SHUTDOWN`] and [`URGENT`] are
//!    sticky: `clear` never removes them (a closed direction stays ready so
//!    operations return EOF or the error instead of waiting). A sticky bit
//!    does not prove that the operation will not block (a UDP socket shut
//!    down for reading reports `READ_CLOSED` and its `recv` returns
//!    `WouldBlock`): `ScheduledIo::poll_io` waits for the next report after
//!    such a `WouldBlock` instead of retrying (scheduled_io.rs invariant 4).
//! 5. [`URGENT`] is set by the first report that carries `EPOLLPRI` (TCP
//!    urgent data) and never cleared. It makes no waiter proceed; it only
//!    tells a TCP read whether a short read may have stopped at the urgent
//!    mark with bytes left (`net::tcp::stream`, TLA+ `Urgent`).
//! 4. [`SHUTDOWN`] is set when the source is deregistered or its reactor is
//!    gone; afterwards every wait returns at once and operations fail with an
//!    error (never a hang).
//! 6. [`ERROR`] is reported only together with [`READABLE`] and
//!    [`WRITABLE`], and `clear` removes it with either direction's bit
//!    (under the same tick guard): the operation that saw `WouldBlock` after
//!    it proves the socket error taken (`SO_ERROR` is returned by the next
//!    operation, in either direction, and then reset). So `ERROR` set implies
//!    both direction bits set, and it never makes a waiter proceed that
//!    those bits would not (TLA+: not modelled, see `tla/README.md`). Until
//!    then it was sticky, and a connected UDP socket that had an ICMP error
//!    retried its `recv` forever (`tests/net_udp.rs`).

use crate::shim::atomic::{AtomicUsize, Ordering::*};

/// The source can be read (or accepted from) without blocking, maybe.
pub(crate) const READABLE: usize = 1 << 0;
/// The source can be written (or a connect finished), maybe.
pub(crate) const WRITABLE: usize = 1 << 1;
/// The peer closed its write side (EOF pending). Sticky.
pub(crate) const READ_CLOSED: usize = 1 << 2;
/// The write side is closed (peer reset or our shutdown). Sticky.
pub(crate) const WRITE_CLOSED: usize = 1 << 3;
/// The socket reported an error (the next operation returns it). Cleared
/// with either direction's bit (invariant 6).
pub(crate) const ERROR: usize = 1 << 4;
/// Deregistered or reactor gone: waits return at once. Sticky.
pub(crate) const SHUTDOWN: usize = 1 << 5;
/// Some report carried `EPOLLPRI` (TCP urgent data): a short read is no
/// proof of a drained socket any more (invariant 5). Sticky; not part of
/// either direction's mask.
pub(crate) const URGENT: usize = 1 << 6;

/// Bits that `clear` may remove (invariants 3 and 6).
const CLEARABLE: usize = READABLE | WRITABLE | ERROR;
/// Bits that make a reader's wait return.
const READ_MASK: usize = READABLE | READ_CLOSED | ERROR | SHUTDOWN;
/// Bits that make a writer's wait return.
const WRITE_MASK: usize = WRITABLE | WRITE_CLOSED | ERROR | SHUTDOWN;
/// All readiness bits.
const BITS_MASK: usize = (1 << TICK_SHIFT) - 1;
/// Shift of the tick.
const TICK_SHIFT: usize = 8;

/// A direction of interest: one reader and one writer may wait at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    /// Reads, accepts, `recv`.
    Read,
    /// Writes, connects, `send`.
    Write,
}

impl Direction {
    fn mask(self) -> usize {
        match self {
            Direction::Read => READ_MASK,
            Direction::Write => WRITE_MASK,
        }
    }
    /// The bits a `WouldBlock` in this direction disproves (invariant 6:
    /// `ERROR` with either direction).
    fn clearable(self) -> usize {
        match self {
            Direction::Read => READABLE | ERROR,
            Direction::Write => WRITABLE | ERROR,
        }
    }
}

/// A value of the readiness word, read once.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Snapshot(usize);

impl Snapshot {
    /// A snapshot with nothing set (the `readiness_no_recheck` seeded bug).
    #[cfg(tempo_mutant = "readiness_no_recheck")]
    pub(crate) fn none() -> Snapshot {
        Snapshot(0)
    }

    /// Whether a waiter in direction `d` may proceed.
    pub(crate) fn is_ready(self, d: Direction) -> bool {
        self.0 & d.mask() != 0
    }
    /// Whether `bit` (one of the consts above) is set.
    pub(crate) fn has(self, bit: usize) -> bool {
        self.0 & bit != 0
    }
    /// The report counter at the time of the read.
    pub(crate) fn tick(self) -> usize {
        self.0 >> TICK_SHIFT
    }
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names = [
            (READABLE, "READABLE"),
            (WRITABLE, "WRITABLE"),
            (READ_CLOSED, "READ_CLOSED"),
            (WRITE_CLOSED, "WRITE_CLOSED"),
            (ERROR, "ERROR"),
            (SHUTDOWN, "SHUTDOWN"),
            (URGENT, "URGENT"),
        ];
        let set: Vec<&str> = names
            .iter()
            .filter(|(b, _)| self.has(*b))
            .map(|(_, n)| *n)
            .collect();
        write!(f, "Readiness({} tick={})", set.join("|"), self.tick())
    }
}

/// What [`ReadinessWord::clear`] did.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Cleared {
    /// The direction's bit is cleared: the caller waits (registers its waker
    /// and re-checks).
    Cleared,
    /// A report arrived since the caller's snapshot: the caller retries the
    /// operation at once (invariant 2).
    Stale,
}

/// The readiness word (see the module docs).
pub(crate) struct ReadinessWord(AtomicUsize);

impl ReadinessWord {
    /// A fresh source: nothing reported yet, tick 0.
    pub(crate) fn new() -> Self {
        ReadinessWord(AtomicUsize::new(0))
    }

    /// Reads the word.
    pub(crate) fn load(&self) -> Snapshot {
        // Acquire; pairs with the Release half of `report` / `shutdown`, so an
        // operation retried after seeing the bit sees what the reactor saw.
        Snapshot(self.0.load(Acquire))
    }

    /// The reactor reports `bits` (invariant 1). Returns the new value.
    ///
    /// TLA+: `Report`
    pub(crate) fn report(&self, bits: usize) -> Snapshot {
        debug_assert_eq!(bits & !BITS_MASK, 0, "report of non-readiness bits");
        debug_assert!(
            bits & ERROR == 0 || bits & (READABLE | WRITABLE) == READABLE | WRITABLE,
            "invariant 6: ERROR is reported with both directions"
        );
        let mut cur = self.0.load(Relaxed);
        loop {
            let tick = ((cur >> TICK_SHIFT).wrapping_add(1)) << TICK_SHIFT;
            let next = tick | (cur & BITS_MASK) | bits;
            // AcqRel: Release publishes the report to the waiter's `load`;
            // Acquire orders it after the previous report.
            match self.0.compare_exchange_weak(cur, next, AcqRel, Relaxed) {
                Ok(_) => return Snapshot(next),
                Err(actual) => cur = actual,
            }
        }
    }

    /// After `WouldBlock`: clears the direction's bit (and `ERROR`,
    /// invariant 6) if no report arrived since `seen` (invariant 2).
    ///
    /// TLA+: `ClearReadiness`
    pub(crate) fn clear(&self, d: Direction, seen: Snapshot) -> Cleared {
        debug_assert_eq!(d.clearable() & !CLEARABLE, 0);
        let mut cur = self.0.load(Relaxed);
        loop {
            // Seeded bug (VERIFICATION.md; TLA+ twin `ClearWithoutTick`): the
            // tick is ignored, so a report that arrived during the operation is erased.
            #[cfg(not(tempo_mutant = "readiness_clear_without_tick"))]
            if Snapshot(cur).tick() != seen.tick() {
                return Cleared::Stale;
            }
            let next = cur & !d.clearable();
            if next == cur {
                return Cleared::Cleared;
            }
            // Relaxed suffices for clearing: the waiter re-reads the word with
            // Acquire after registering its waker (scheduled_io.rs invariant 2).
            match self.0.compare_exchange_weak(cur, next, Relaxed, Relaxed) {
                Ok(_) => return Cleared::Cleared,
                Err(actual) => cur = actual,
            }
        }
    }

    /// Marks the source shut down (invariant 4). Returns whether it already was.
    ///
    /// TLA+: `Close`
    #[must_use]
    pub(crate) fn shutdown(&self) -> bool {
        // AcqRel: Release pairs with the waiter's Acquire `load`.
        self.0.fetch_or(SHUTDOWN, AcqRel) & SHUTDOWN != 0
    }
}

#[cfg(all(test, not(any(tempo_loom, tempo_shuttle))))]
mod tests {
    use super::*;

    #[test]
    fn report_sets_bits_and_ticks() {
        let w = ReadinessWord::new();
        assert!(!w.load().is_ready(Direction::Read));
        let s = w.report(READABLE);
        assert!(s.is_ready(Direction::Read));
        assert!(!s.is_ready(Direction::Write));
        assert_eq!(s.tick(), 1);
        assert_eq!(w.report(WRITABLE).tick(), 2);
    }

    #[test]
    fn clear_is_guarded_by_the_tick() {
        let w = ReadinessWord::new();
        let seen = w.report(READABLE | WRITABLE);
        // A report between the snapshot and the clear keeps the bit.
        let _ = w.report(READABLE);
        assert_eq!(w.clear(Direction::Read, seen), Cleared::Stale);
        assert!(w.load().is_ready(Direction::Read));
        let seen = w.load();
        assert_eq!(w.clear(Direction::Read, seen), Cleared::Cleared);
        assert!(!w.load().is_ready(Direction::Read));
        assert!(
            w.load().is_ready(Direction::Write),
            "the other direction is untouched"
        );
    }

    #[test]
    fn error_is_cleared_with_either_direction() {
        let w = ReadinessWord::new();
        let seen = w.report(ERROR | READABLE | WRITABLE);
        assert_eq!(w.clear(Direction::Read, seen), Cleared::Cleared);
        let s = w.load();
        assert!(!s.is_ready(Direction::Read), "ERROR went with READABLE");
        assert!(!s.has(ERROR));
        assert!(
            s.is_ready(Direction::Write),
            "WRITABLE stays for the writer"
        );
        // A report after the snapshot keeps ERROR (the tick guard).
        let seen = w.load();
        let _ = w.report(ERROR | READABLE | WRITABLE);
        assert_eq!(w.clear(Direction::Write, seen), Cleared::Stale);
        assert!(w.load().has(ERROR));
    }

    #[test]
    fn closed_and_shutdown_are_sticky() {
        let w = ReadinessWord::new();
        let seen = w.report(READ_CLOSED | READABLE);
        assert_eq!(w.clear(Direction::Read, seen), Cleared::Cleared);
        assert!(w.load().is_ready(Direction::Read), "READ_CLOSED stays");
        assert!(!w.shutdown());
        assert!(w.shutdown());
        let s = w.load();
        assert!(s.is_ready(Direction::Read) && s.is_ready(Direction::Write));
        assert_eq!(format!("{s:?}"), "Readiness(READ_CLOSED|SHUTDOWN tick=1)");
    }

    #[test]
    fn tick_wraps() {
        let w = ReadinessWord(AtomicUsize::new(usize::MAX & !BITS_MASK));
        assert_eq!(w.report(READABLE).tick(), 0);
    }
}
