//! [`Reactor`]: the epoll backend of the [`Driver`] contract, through mio.
//!
//! It owns one `mio::Poll`, a `mio::Waker` for `unpark`, and a slab of the
//! [`ScheduledIo`]s of every registered source. Its only effect on the core
//! is waking tasks (through [`ScheduledIo::report`]) and returning from
//! `park`; it performs no I/O of its own (DESIGN.md layer 5).
//!
//! # Invariants
//! 1. `poll` (the `mio::Poll` and its event buffer) is used only by the
//!    sched-role holder (`park`, `poll_events`); its mutex is therefore never
//!    contended and exists to make that claim checkable.
//! 2. Every source is registered once, edge-triggered, for both directions;
//!    interest is never re-registered, so there is no window between a
//!    `WouldBlock` and a re-arm in which an edge can fall (the tick of
//!    `readiness.rs` invariant 2 closes the remaining window).
//! 3. A token names a slab slot *and* its generation, so an event for a
//!    source deregistered since the `epoll_wait` reaches nobody (a stale
//!    event for a reused slot is dropped, never reported to the new source).
//! 4. `state` follows the `ParkDriver` protocol (`EMPTY`/`PARKED`/`NOTIFIED`):
//!    `unpark` writes the eventfd only when a thread is (about to be) blocked
//!    in `epoll_wait`; a token left while nobody is parked makes the next
//!    `park` poll without blocking.
//! 5. After [`Reactor::shutdown`] every registered and every later
//!    registration is shut down: operations fail instead of waiting on a
//!    reactor that no one polls.
//! 6. Timeouts are exact to the microsecond: `epoll_wait` counts in whole
//!    milliseconds (mio rounds up), so a short timeout with a sub-millisecond
//!    part arms a `timerfd` registered in the same epoll instead. A timerfd
//!    left armed by an earlier `park` can only cause a spurious return, which
//!    contract 1 of the driver allows.
//! 7. What a burst of sources grew is given back: when fewer than a quarter
//!    of more than [`SHRINK_ABOVE`] slots are in use, a release truncates
//!    the free slots at the end (when they are at least half) and reorders
//!    the free list so the lowest slots are reused first (so that the tail
//!    drains). A slot pushed anew takes the generation `fresh_gen`, at
//!    least that of every slot truncated at its index, so a stale token
//!    never names a later source (invariant 3). A scan that cannot truncate
//!    is not retried before the live sources halve or a slot is pushed.
//!    (Before, 10,000 connections opened at once left 24 bytes each in the
//!    slab for the reactor's life: `tests/memory.rs`
//!    `the_reactor_gives_back_what_a_burst_of_connections_grew`.)

use super::scheduled_io::{EventBits, ScheduledIo};
use crate::sched::driver::Driver;
use crate::shim::atomic::{AtomicUsize, Ordering::*};
use crate::shim::{Arc, Mutex};
use mio::{Events, Interest, Poll, Token};
use std::io;
use std::time::Duration;

const WAKER_TOKEN: Token = Token(usize::MAX);
const TIMER_TOKEN: Token = Token(usize::MAX - 1);
/// Timeouts at least this long go to `epoll_wait` (ms rounding is < 2 % of them).
const COARSE: Duration = Duration::from_millis(50);
const EMPTY: usize = 0;
const PARKED: usize = 1;
const NOTIFIED: usize = 2;
/// Bits of a token that hold the slot index; the rest hold its generation.
const INDEX_BITS: u32 = 24;
const INDEX_MASK: usize = (1 << INDEX_BITS) - 1;

struct PollState {
    poll: Poll,
    events: Events,
    /// Reused buffer of (source, bits) between the slab lookup and the wakes.
    batch: Vec<(Arc<ScheduledIo>, usize)>,
}

struct Slot {
    generation: usize,
    io: Option<Arc<ScheduledIo>>,
}

/// The slab keeps up to this many slots whatever their use (invariant 7).
const SHRINK_ABOVE: usize = 4096;

struct Slab {
    slots: Vec<Slot>,
    free: Vec<usize>,
    shut: bool,
    /// The generation a slot pushed anew starts at (invariant 7).
    fresh_gen: usize,
    /// A trim is tried only while fewer sources than this are live
    /// (invariant 7).
    retry_below: usize,
}

impl Default for Slab {
    fn default() -> Self {
        Slab {
            slots: Vec::new(),
            free: Vec::new(),
            shut: false,
            fresh_gen: 0,
            retry_below: usize::MAX,
        }
    }
}

impl Slab {
    /// Gives back what a burst grew (invariant 7); O(slots) when it scans.
    fn trim(&mut self) {
        let len = self.slots.len();
        let live = len - self.free.len();
        if len <= SHRINK_ABOVE || live >= len / 4 || live >= self.retry_below {
            return;
        }
        let keep = self
            .slots
            .iter()
            .rposition(|s| s.io.is_some())
            .map_or(0, |i| i + 1);
        if keep <= len / 2 {
            for s in &self.slots[keep..] {
                // Every stale token of this slot has an older generation.
                self.fresh_gen = self.fresh_gen.max(s.generation);
            }
            self.slots.truncate(keep);
            self.slots.shrink_to(2 * keep);
            self.retry_below = usize::MAX;
        } else {
            self.retry_below = live / 2;
        }
        // Popped from the end: lowest first.
        self.free.clear();
        self.free.extend(
            (0..self.slots.len())
                .rev()
                .filter(|&i| self.slots[i].io.is_none()),
        );
        self.free.shrink_to(2 * self.free.len());
    }
}

/// The mio/epoll driver (see the module docs).
pub(crate) struct Reactor {
    poll: Mutex<PollState>,
    timer: TimerFd,
    registry: mio::Registry,
    waker: mio::Waker,
    state: AtomicUsize,
    sources: Mutex<Slab>,
    /// Registered sources; `poll_events` skips the syscall when zero.
    count: AtomicUsize,
}

/// Every source is registered for both directions and, where epoll has it,
/// for `EPOLLPRI` (TCP urgent data; readiness invariant 5): a TCP read relies
/// on it to tell a short read at the urgent mark from a drained socket.
#[cfg(any(target_os = "linux", target_os = "android"))]
const INTEREST: Interest = Interest::READABLE
    .add(Interest::WRITABLE)
    .add(Interest::PRIORITY);
#[cfg(not(any(target_os = "linux", target_os = "android")))]
const INTEREST: Interest = Interest::READABLE.add(Interest::WRITABLE);

impl Reactor {
    /// Creates the epoll instance and its eventfd waker.
    ///
    /// # Errors
    /// If the OS refuses (e.g. out of file descriptors).
    pub(crate) fn new() -> io::Result<Reactor> {
        let poll = Poll::new()?;
        let registry = poll.registry().try_clone()?;
        let waker = mio::Waker::new(poll.registry(), WAKER_TOKEN)?;
        let timer = TimerFd::new()?;
        poll.registry().register(
            &mut mio::unix::SourceFd(&timer.fd),
            TIMER_TOKEN,
            Interest::READABLE,
        )?;
        Ok(Reactor {
            timer,
            poll: Mutex::new(PollState {
                poll,
                events: Events::with_capacity(1024),
                batch: Vec::new(),
            }),
            registry,
            waker,
            state: AtomicUsize::new(EMPTY),
            sources: Mutex::new(Slab::default()),
            count: AtomicUsize::new(0),
        })
    }

    /// Registers `source` for both directions, edge-triggered (invariant 2).
    ///
    /// # Errors
    /// The registration error of the OS; after shutdown, an error saying so.
    pub(crate) fn register(
        self: &Arc<Self>,
        source: &mut impl mio::event::Source,
    ) -> io::Result<Registration> {
        let io = Arc::new(ScheduledIo::new());
        let token = {
            let mut slab = self.sources.lock();
            if slab.shut {
                return Err(super::scheduled_io::gone());
            }
            let index = match slab.free.pop() {
                Some(i) => i,
                None => {
                    if slab.slots.len() > INDEX_MASK {
                        return Err(io::Error::other(
                            "tempo: more than 16M registered I/O sources",
                        ));
                    }
                    let generation = slab.fresh_gen;
                    slab.slots.push(Slot {
                        generation,
                        io: None,
                    });
                    slab.retry_below = usize::MAX;
                    slab.slots.len() - 1
                }
            };
            let slot = &mut slab.slots[index];
            slot.io = Some(io.clone());
            (slot.generation << INDEX_BITS) | index
        };
        self.count.fetch_add(1, Relaxed);
        let reg = Registration {
            reactor: self.clone(),
            io,
            token,
        };
        // On failure `reg` drops and frees the slot.
        self.registry.register(source, Token(token), INTEREST)?;
        Ok(reg)
    }

    fn release(&self, token: usize) {
        let mut slab = self.sources.lock();
        let index = token & INDEX_MASK;
        let slot = &mut slab.slots[index];
        debug_assert_eq!(slot.generation, token >> INDEX_BITS);
        slot.io = None;
        // Wrap within the bits a token has for it (invariant 3).
        slot.generation = (slot.generation + 1) & (usize::MAX >> INDEX_BITS);
        slab.free.push(index);
        slab.trim();
        drop(slab);
        self.count.fetch_sub(1, Relaxed);
    }

    /// Waits for events at most `timeout` and reports them (invariant 1:
    /// sched-role holder only).
    fn poll_and_dispatch(&self, timeout: Option<Duration>, after_wait: impl FnOnce()) {
        let mut g = self.poll.lock();
        let st = &mut *g;
        let r = st.poll.poll(&mut st.events, timeout);
        after_wait();
        if let Err(e) = r {
            // EINTR: a signal; the caller loops anyway. Anything else means
            // the epoll fd itself is broken, which no caller can fix.
            assert_eq!(
                e.kind(),
                io::ErrorKind::Interrupted,
                "tempo: epoll_wait failed: {e}"
            );
            return;
        }
        {
            let slab = self.sources.lock();
            for ev in st.events.iter() {
                let token = ev.token();
                if token == WAKER_TOKEN || token == TIMER_TOKEN {
                    continue;
                }
                let index = token.0 & INDEX_MASK;
                let Some(slot) = slab.slots.get(index) else {
                    continue;
                };
                if slot.generation != token.0 >> INDEX_BITS {
                    continue; // invariant 3
                }
                if let Some(io) = &slot.io {
                    let bits = EventBits {
                        readable: ev.is_readable(),
                        writable: ev.is_writable(),
                        read_closed: ev.is_read_closed(),
                        write_closed: ev.is_write_closed(),
                        error: ev.is_error(),
                        priority: ev.is_priority(),
                    };
                    st.batch.push((io.clone(), bits.bits()));
                }
            }
        }
        for (io, bits) in st.batch.drain(..) {
            io.report(bits);
        }
    }

    /// Shuts down every registration, present and future (invariant 5).
    pub(crate) fn shutdown(&self) {
        let ios: Vec<Arc<ScheduledIo>> = {
            let mut slab = self.sources.lock();
            slab.shut = true;
            slab.slots.iter().filter_map(|s| s.io.clone()).collect()
        };
        for io in ios {
            io.shutdown();
        }
    }

    /// Number of registered sources (for tests and `Handle` diagnostics).
    pub(crate) fn sources(&self) -> usize {
        self.count.load(Relaxed)
    }
}

impl Driver for Reactor {
    /// TLA+: `DriverBlock` (returning: `DriverTimeout`, or the unpark of
    /// `NotifySched`); each ready source's waiters get `Wake` (Scheduler.tla)
    /// after `Report` + `Dispatch` (Readiness.tla)
    fn park(&self, timeout: Option<Duration>) {
        let mut timeout = timeout;
        // Acquire; pairs with the Release half of the swap in `unpark`.
        if self
            .state
            .compare_exchange(NOTIFIED, EMPTY, Acquire, Relaxed)
            .is_ok()
        {
            timeout = Some(Duration::ZERO);
        } else if timeout != Some(Duration::ZERO) {
            match self.state.compare_exchange(EMPTY, PARKED, Acquire, Acquire) {
                Ok(_) => {}
                Err(NOTIFIED) => {
                    self.state.swap(EMPTY, Acquire);
                    timeout = Some(Duration::ZERO);
                }
                Err(s) => panic!("tempo bug: two threads parked in one reactor (state {s})"),
            }
        }
        // Invariant 6.
        let epoll_timeout = match timeout {
            Some(d) if !d.is_zero() && d < COARSE && d.subsec_nanos() % 1_000_000 != 0 => {
                match self.timer.arm(d) {
                    Ok(()) => None,
                    Err(_) => timeout,
                }
            }
            t => t,
        };
        let blocked = timeout != Some(Duration::ZERO);
        self.poll_and_dispatch(epoll_timeout, || {
            // Leave PARKED before dispatching, so the wakes of our own
            // dispatch leave a token instead of writing the eventfd; consume
            // a token that arrived while we were blocked (its eventfd write is
            // what woke us). Acquire; pairs with `unpark`.
            if blocked {
                self.state.swap(EMPTY, Acquire);
            }
        });
    }

    fn unpark(&self) {
        // AcqRel: Release publishes the caller's push to the parked thread;
        // pairs with the Acquire in `park`.
        if self.state.swap(NOTIFIED, AcqRel) == PARKED {
            // The eventfd write is sticky until epoll_wait reports it, so a
            // parker that has not entered epoll_wait yet still returns.
            if let Err(e) = self.waker.wake() {
                panic!("tempo: cannot wake the reactor: {e}");
            }
        }
    }

    /// TLA+: `Wake` of each waiter of a ready source (Scheduler.tla), after
    /// `Report` + `Dispatch` (Readiness.tla): the non-blocking poll of every round
    fn has_sources(&self) -> bool {
        self.count.load(Relaxed) > 0
    }

    fn poll_events(&self) {
        if self.count.load(Relaxed) > 0 {
            self.poll_and_dispatch(Some(Duration::ZERO), || {});
        }
    }
}

/// A source's registration: its [`ScheduledIo`] and its slot in the reactor.
/// Dropping it frees the slot; the owner deregisters the source first
/// ([`IoSource`](super::source::IoSource) does).
pub(crate) struct Registration {
    reactor: Arc<Reactor>,
    io: Arc<ScheduledIo>,
    token: usize,
}

impl Registration {
    pub(crate) fn io(&self) -> &ScheduledIo {
        &self.io
    }

    /// Removes `source` from epoll and wakes both waiters with a shutdown.
    pub(crate) fn deregister(&self, source: &mut impl mio::event::Source) -> io::Result<()> {
        self.io.shutdown();
        self.reactor.registry.deregister(source)
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.reactor.release(self.token);
    }
}

/// A non-blocking monotonic `timerfd` (invariant 6).
struct TimerFd {
    fd: std::os::fd::RawFd,
}

impl TimerFd {
    fn new() -> io::Result<TimerFd> {
        // SAFETY: plain syscall; the flags are valid.
        let fd = unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(TimerFd { fd })
    }

    /// Fires once, `d` from now (re-arming resets the expiration count).
    fn arm(&self, d: Duration) -> io::Result<()> {
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: libc::timespec {
                tv_sec: d.as_secs() as libc::time_t,
                tv_nsec: d.subsec_nanos() as libc::c_long,
            },
        };
        // SAFETY: `fd` is our open timerfd (owned until drop); `spec` is a valid
        // itimerspec and the old-value pointer may be null.
        let r = unsafe { libc::timerfd_settime(self.fd, 0, &spec, std::ptr::null_mut()) };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

impl Drop for TimerFd {
    fn drop(&mut self) {
        // SAFETY: we own `fd` and close it once.
        unsafe { libc::close(self.fd) };
    }
}
