//! Unit tests of the watch's claim protocol (`super`'s invariants 3 and 4).

use super::super::driver::{Driver, ParkDriver};
use super::super::worker::{run_loop, NoHooks};
use super::*;
use crate::shim::thread;
use crate::time::clock::Clock;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// A driver whose park fails (an epoll fd gone bad, a tempo bug: what
/// can unwind between `Watch::sleeping` and `Watch::woke`).
struct ParkPanics;
impl Driver for ParkPanics {
    fn park(&self, _: Option<Duration>) {
        panic!("the driver's park fails (test)");
    }
    fn unpark(&self) {}
}

/// An unwind out of the driver's park leaves `awake` at zero (invariant
/// 3). Before, the guard's drop uncounted the runner a second time
/// (`sleeping` had already): `awake` wrapped to `usize::MAX`, and a
/// sleeper then believed a runner awake forever (`monitor_wanted`), so
/// the monitor ticked 1,000 times a second on an idle runtime.
#[test]
fn an_unwind_out_of_the_park_uncounts_the_runner_once() {
    let shared = Shared::new(1, Arc::new(ParkPanics), Clock::Real);
    // One worker: nothing to run, so it holds the role and parks in
    // the driver, which panics.
    let r = catch_unwind(AssertUnwindSafe(|| run_loop(&shared, &mut NoHooks)));
    assert!(r.is_err(), "the park panicked");
    assert_eq!(shared.watch.awake.load(SeqCst), 0);
    assert!(!shared.watch.monitor_wanted());
}

/// A monitor that starts a run as the only awake runner, while another
/// runner sleeps untimed (it went to sleep while the monitor held the
/// claim), leaves a way to a monitor: the first work held behind the run
/// wakes a sleeper (invariant 4; found by review: nobody held the claim and
/// nobody was woken).
#[test]
fn a_monitor_starting_a_run_alone_leaves_a_monitor() {
    let shared = Shared::new(2, Arc::new(ParkDriver::new()), Clock::Real);
    let _runners = [(); 2].map(|_| shared.enter_runner());
    let mut s = shared.watch.enter(&shared);
    let mut m = shared.watch.enter(&shared);
    // M sleeps while S runs: M claims, ticks, wakes (S still awake).
    assert_eq!(shared.watch.sleeping(&mut m), Sleep::Tick);
    shared.watch.woke(&shared, &mut m);
    // S runs out of work and sleeps while M holds the claim: untimed, and
    // its park's re-check sees no monitor wanted: it blocks.
    assert_eq!(shared.watch.sleeping(&mut s), Sleep::Untimed);
    assert!(!shared.watch.monitor_wanted());
    // M pops a task and starts a (long) run; a task is kept behind it.
    let owe_run = shared.watch.run_starts(&shared, &mut m);
    let owe_held = shared.watch.held(&shared, &m.lane);
    assert!(
        owe_run == Owe::WakeASleeper || owe_held == Owe::WakeASleeper,
        "nobody holds the claim, S sleeps untimed, and nobody is woken: \
         run_starts {owe_run:?}, held {owe_held:?}, monitor_wanted {}",
        shared.watch.monitor_wanted()
    );
    shared.watch.woke(&shared, &mut s);
}

/// A monitor that leaves the loop (a `block_on` whose future completed
/// while it held the claim) hands the claim over: a runner is awake (in
/// a long poll, a task kept in its slot) and another sleeps untimed,
/// so that sleeper is woken to take the claim (invariant 4). Before,
/// the leaving monitor only released it, and nobody ticked until the
/// next sleep or wake: the kept task waited for the whole poll again.
///
/// A unit test, not a `tests/fairness.rs` one: in `run_loop` the
/// leaving runner's `Held` guard drops first and notifies a sleeper
/// (`worker.rs` invariant 9), which goes round and claims unless it is
/// back asleep before the guard's drop a few instructions later; only
/// a preemption in between shows the loss through the public API.
#[test]
fn a_monitor_leaving_the_loop_hands_the_claim_over() {
    let shared = Shared::new(2, Arc::new(ParkDriver::new()), Clock::Real);
    let _runners = [(); 3].map(|_| shared.enter_runner());
    // The sleeper sleeps while nobody else is awake: untimed, no claim.
    let mut sleeper = shared.watch.enter(&shared);
    assert_eq!(shared.watch.sleeping(&mut sleeper), Sleep::Untimed);
    // A runner is awake (in its long poll).
    let _busy = shared.watch.enter(&shared);
    // The monitor sleeps while it is: it takes the claim.
    let mut monitor = shared.watch.enter(&shared);
    assert_eq!(shared.watch.sleeping(&mut monitor), Sleep::Tick);
    thread::scope(|s| {
        // The sleeper parks as in `run_loop` (untimed: it goes round
        // only for a wanted monitor, which the claim rules out now).
        let parked = s.spawn(|| shared.idle.park(|| shared.watch.monitor_wanted(), None));
        while shared.idle.sleepers() == 0 {
            thread::yield_now();
        }
        shared.watch.woke(&shared, &mut monitor);
        drop(monitor);
        let t0 = std::time::Instant::now();
        while !parked.is_finished() && t0.elapsed() < Duration::from_secs(2) {
            thread::yield_now();
        }
        let woken = parked.is_finished();
        shared.idle.notify_all();
        assert!(woken, "nobody was woken to take the claim over");
    });
}
