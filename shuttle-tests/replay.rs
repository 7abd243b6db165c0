//! Proof that a failing schedule printed by these tests replays.
//!
//! `replay_reproduces_a_failure` runs a closure with a deliberate race (two
//! threads doing a non-atomic read-modify-write, a `load` then a `store`, on
//! a shuttle `AtomicUsize`, and asserting the final count is 2) under
//! `shuttle::check_random`, catches the panic, takes the failing schedule
//! out of the panic payload (shuttle 0.8 puts its replay message, with the
//! schedule between `failing schedule:\n"\n` and `\n"`, into a `String`
//! payload: `runtime/execution.rs`, `runtime/failure.rs`), and replays it
//! with `shuttle::replay`, which must fail again with the same assertion.
//! It then replays the same schedule on the same threads asserting the
//! opposite (count == 1), which passes: the replay reproduces the racy
//! interleaving itself, not just "some failure".
//!
//! The test prints shuttle's usual failure report (and the panic messages)
//! to stderr on purpose: that is the report a user would replay from.
//!
//! For a real failure, see "Replaying a failure" in `main.rs`: the same
//! schedule string goes into `TEMPO_SHUTTLE_REPLAY`, and [`check`](crate::check)
//! calls `shuttle::replay` with it.

use shuttle::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

/// Two threads increment a counter with a lost-update race.
fn racy_increment() {
    let n = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..2)
        .map(|_| {
            let n = n.clone();
            shuttle::thread::spawn(move || {
                let v = n.load(SeqCst);
                n.store(v + 1, SeqCst);
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(n.load(SeqCst), 2, "lost update");
}

/// The panic payload's text.
fn message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else {
        String::from("<non-string panic payload>")
    }
}

/// The schedule in shuttle's failure message (line breaks removed).
fn schedule_of(msg: &str) -> Option<String> {
    let start = msg.find("failing schedule:")? + "failing schedule:".len();
    let rest = &msg[start..];
    let open = rest.find('"')? + 1;
    let close = open + rest[open..].find('"')?;
    Some(rest[open..close].split_whitespace().collect())
}

#[test]
fn replay_reproduces_a_failure() {
    // 1. Find a failure.
    let t0 = std::time::Instant::now();
    let found = catch_unwind(|| shuttle::check_random(racy_increment, 1000));
    let payload = found.expect_err("check_random found no lost update in 1000 random schedules");
    let msg = message(&*payload);
    assert!(msg.contains("lost update"), "unexpected failure: {msg}");
    let schedule = schedule_of(&msg).unwrap_or_else(|| panic!("no schedule in: {msg}"));
    assert!(!schedule.is_empty());

    // 2. Its schedule fails again, with the same assertion, every time.
    for _ in 0..2 {
        let replayed = catch_unwind(|| shuttle::replay(racy_increment, &schedule));
        let again = message(&*replayed.expect_err("the replayed schedule passed"));
        assert!(
            again.contains("lost update"),
            "replay failed differently: {again}"
        );
    }

    // 3. The replay reproduces the interleaving itself, not just "a failure":
    //    the same threads and scheduling points with the opposite assertion
    //    (the update *was* lost: count 1) pass on that schedule.
    let ok = Arc::new(AtomicBool::new(false));
    let ok2 = ok.clone();
    let passed = catch_unwind(AssertUnwindSafe(|| {
        shuttle::replay(
            move || {
                // Same threads and scheduling points as `racy_increment`, but
                // no assertion: the schedule is valid for it and it passes.
                let n = Arc::new(AtomicUsize::new(0));
                let threads: Vec<_> = (0..2)
                    .map(|_| {
                        let n = n.clone();
                        shuttle::thread::spawn(move || {
                            let v = n.load(SeqCst);
                            n.store(v + 1, SeqCst);
                        })
                    })
                    .collect();
                for t in threads {
                    t.join().unwrap();
                }
                assert_eq!(n.load(SeqCst), 1, "the replay took another interleaving");
                ok2.store(true, std::sync::atomic::Ordering::SeqCst);
            },
            &schedule,
        )
    }));
    assert!(
        passed.is_ok() && ok.load(std::sync::atomic::Ordering::SeqCst),
        "replaying the failing schedule did not reproduce its interleaving (count 1)"
    );
    eprintln!(
        "shuttle replay_reproduces_a_failure: found and replayed schedule {schedule} in {:.1?}",
        t0.elapsed()
    );
}
