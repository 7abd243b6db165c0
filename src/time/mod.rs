//! Time: [`sleep()`], [`sleep_until`], [`timeout()`], [`timeout_at`] and the
//! [`ManualClock`] for tests.
//!
//! Deadlines are a property of the task (DESIGN.md, layer 4): timers created
//! by futures inside a task live in that task's own timer list; when the task
//! returns `Pending`, the scheduler files the task once in its waiting heap
//! at its earliest deadline. Equal deadlines run FIFO; sleeps never complete
//! early; there is no tick, so precision is that of the OS's timed wait.

pub(crate) mod clock;
mod sleep;
mod timeout;
pub(crate) mod timer;

pub use clock::ManualClock;
pub use sleep::{sleep, sleep_until, Sleep};
pub use std::time::Instant;
pub use timeout::{timeout, timeout_at, Elapsed, Timeout};
