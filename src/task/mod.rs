//! Tasks: the state word, the task cell, wakers, `JoinHandle`, and
//! serverbox's task controls (`TaskRef::wakeup`/`signal`, `wait`,
//! `receive_signal`).
//!
//! The public items are re-exported here; see [`TaskRef`] and [`wait`] for
//! the serverbox semantics.

pub(crate) mod budget;
pub(crate) mod control;
pub(crate) mod harness;
pub(crate) mod header;
pub(crate) mod join;
pub(crate) mod join_waker;
pub(crate) mod local;
pub(crate) mod state;
pub(crate) mod unwind;
pub(crate) mod waker;

pub use budget::consume_budget;
pub use control::{
    current, receive_signal, try_current, wait, wait_timeout, wait_until, yield_now, TaskRef, Wait,
    WaitOutcome, YieldNow,
};
pub use join::{JoinError, JoinHandle};

#[cfg(not(any(tempo_loom, tempo_shuttle)))]
pub use crate::runtime::blocking::spawn_blocking;
