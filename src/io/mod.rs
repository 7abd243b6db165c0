//! The reactor (DESIGN.md layer 5): readiness of I/O sources, and the mio
//! (epoll) backend of the scheduler's [`Driver`](crate::sched::driver::Driver)
//! contract.
//!
//! - [`readiness`]: the atomic readiness word of one source (its own file,
//!   like the task state word);
//! - [`scheduled_io`]: readiness plus the one reader and one writer waiting
//!   on a source; the no-lost-wakeup protocol between them and the reactor
//!   (`tla/Readiness.tla`);
//! - `reactor`: the mio backend (`park` = `epoll_wait` with the nearest
//!   deadline as timeout; `unpark` = an eventfd write; a non-blocking poll on
//!   every scheduling round);
//! - `source`: a registered mio source, which every `tempo::net` type wraps.
//!
//! Under `--features loom`/`shuttle` only the first two are compiled: the
//! models drive [`scheduled_io::ScheduledIo`] with a mock reactor (a thread
//! that reports readiness), and the runtime runs on `ParkDriver`.

pub(crate) mod readiness;
pub(crate) mod scheduled_io;

#[cfg(not(any(tempo_loom, tempo_shuttle)))]
pub(crate) mod reactor;
#[cfg(not(any(tempo_loom, tempo_shuttle)))]
pub(crate) mod source;

#[cfg(any(tempo_loom, tempo_shuttle))]
pub mod mock;
