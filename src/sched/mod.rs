//! The scheduler (DESIGN.md layer 3): the serverbox shape.
//!
//! - [`front`]: lock-free multi-producer front queue where every post and
//!   wakeup lands;
//! - [`role`]: the sched role, a try-lock any worker takes; its holder owns the
//!   waiting [`heap`] and moves tasks to the [`ready`] queue;
//! - [`idle`] and [`driver`]: parking without lost wakeups;
//! - [`registry`]: every live task, for shutdown;
//! - [`running`]: which runtime this thread runs a task of (wakes from a run skip an `Arc` clone);
//! - [`watch`]: the runners' next-run slots and the monitor that steals
//!   from a slot left behind a long poll;
//! - [`worker`]: the loop every worker (and a caller-driven `block_on`) runs;
//! - [`shared`]: the protocols that cut across them.
//!
//! `tla/Scheduler.tla` specifies all of it; `tla/README.md` maps each TLA+
//! action to the function implementing it.

pub(crate) mod driver;
pub(crate) mod front;
pub(crate) mod heap;
pub(crate) mod idle;
pub(crate) mod ready;
pub(crate) mod registry;
pub(crate) mod role;
pub(crate) mod running;
pub(crate) mod shared;
pub(crate) mod watch;
pub(crate) mod worker;

pub(crate) use shared::Shared;
