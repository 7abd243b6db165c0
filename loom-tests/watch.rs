//! loom models of the watch (`sched/watch.rs`): a monitor's tick
//! (`tempo::__model::monitor_tick`: the real `Watch::steal_stale`, then the
//! monitor runs what it stole), or a lingering runner's look
//! (`tempo::__model::linger_look`: the real `KeptLooks::steal` (`watch.rs`)), racing the
//! owner of a runner's next-run slot and share. loom has no clock, so nobody ticks by himself, and the run
//! counter is not kept: every lane reads as stuck in one run, so the
//! monitor robs the owner at whatever point of its loop it gets there
//! (the real counter is a hint read before the swap and the CAS, so the
//! code's steals too may land between two runs). The traces go to TLC:
//! `StealSlot`, `StealShare` and `StealFill` are visible steps of the
//! TLA+ log.

use super::{model, model_with_bound, rt};
use loom::sync::atomic::{AtomicUsize, Ordering::*};
use std::sync::Arc;
use tempo::task;

/// The caller of a `worker_threads(0)` runtime is its only runner: it pops
/// `a` and `b` (`b` in its share), `a` waits, `b` wakes `a` into the
/// runner's next-run slot and completes, and the runner takes the slot at
/// the end of `b`'s run and runs `a` again. A monitor ticks meanwhile: it
/// steals the slot or the share, and runs what it got. Every task runs once
/// per notification: exactly one of the owner's swap (or CAS, for the
/// share) and the monitor's gets each task. With the owner's take of the
/// slot as a load and a store (`tests/mutants/slot_take_load_store.patch`)
/// the monitor and the owner both run `a`: the trace oracle rejects the
/// second take, and the second run trips `transition_to_running`'s
/// double-run assertion.
#[test]
fn slot_owner_vs_stealer() {
    model(|| {
        woken_in_the_slot_vs(tempo::__model::monitor_tick);
    });
}

/// The body of the woken-task models: `b`'s run wakes `a`, which may wait
/// in that run's next-run slot, while `thief` (a monitor's tick or a
/// lingering runner's look) runs on another thread; `a` completes once.
/// Returns what `thief` took.
fn woken_in_the_slot_vs(thief: fn(&tempo::Handle) -> usize) -> usize {
    let rt = rt(0);
    let runs = Arc::new(AtomicUsize::new(0));
    let r = runs.clone();
    let a = rt.spawn(async move {
        task::wait().await;
        r.fetch_add(1, SeqCst);
    });
    let ta = a.task_ref();
    let b = rt.spawn(async move { ta.wakeup() });
    let h = rt.handle();
    let th = loom::thread::spawn(move || thief(&h));
    rt.block_on(async move {
        b.await.unwrap();
        a.await.unwrap();
    });
    let took = th.join().unwrap();
    assert_eq!(runs.load(SeqCst), 1, "a completed once");
    took
}

/// The owner pops three tasks (`x` runs, `y` and `z` wait in its share)
/// while a monitor ticks: its CAS on the ring's `head` races the owner's
/// CAS per task, before, between or after the owner's pops. Each task runs
/// exactly once (a counter per task; the trace oracle rejects a second
/// `StartPoll` of a completed task), whoever runs it, and what the monitor
/// reports stolen is what it ran.
#[test]
fn share_owner_vs_stealer() {
    model(|| {
        let rt = rt(0);
        let runs: Arc<[AtomicUsize; 3]> = Arc::new(std::array::from_fn(|_| AtomicUsize::new(0)));
        let hs: Vec<_> = (0..3)
            .map(|i| {
                let r = runs.clone();
                rt.spawn(async move {
                    r[i].fetch_add(1, SeqCst);
                })
            })
            .collect();
        let h = rt.handle();
        let th = loom::thread::spawn(move || tempo::__model::monitor_tick(&h));
        rt.block_on(async move {
            for h in hs {
                h.await.unwrap();
            }
        });
        let stolen = th.join().unwrap();
        assert!(stolen <= 2, "only the share and the slot can be stolen");
        for (i, r) in runs.iter().enumerate() {
            assert_eq!(r.load(SeqCst), 1, "task {i} ran once");
        }
    });
}

/// A task spawned from a run while a second runner (the monitor) is in the
/// runtime may be kept in the spawner's next-run slot (`shared.rs`
/// invariant 5: nothing spawned before it waits to start) and then race
/// the monitor's steal of that slot; with the monitor not yet in, the
/// runtime's only runner appends it to its rerun list (invariant 3). The
/// child runs exactly once, whoever takes it; the traces (`SpawnSlot`,
/// `SpawnLocal`, `StealSlot`) go to TLC.
///
/// Preemption bound 3: at 2 the monitor never stole a kept child (68
/// executions, none with `StealSlot` after `SpawnSlot`); at 3, 90 of 309
/// do.
#[test]
fn spawn_kept_in_the_slot_vs_stealer() {
    model_with_bound(3, || kept_spawn_vs(tempo::__model::monitor_tick));
}

/// The body of the kept-spawn models: a run spawns a child (kept in its
/// spawner's slot when it may be) while `thief` (a monitor's tick or a
/// lingering runner's look) runs on another thread; the child runs once.
fn kept_spawn_vs(thief: fn(&tempo::Handle) -> usize) {
    let rt = rt(0);
    let runs = Arc::new(AtomicUsize::new(0));
    let r = runs.clone();
    // In a tuple: the child's handle is awaited by `block_on`, not `b`.
    let b = rt.spawn(async move {
        (tempo::spawn(async move {
            r.fetch_add(1, SeqCst);
        }),)
    });
    let h = rt.handle();
    let th = loom::thread::spawn(move || thief(&h));
    rt.block_on(async move {
        let (c,) = b.await.unwrap();
        c.await.unwrap();
    });
    th.join().unwrap();
    assert_eq!(runs.load(SeqCst), 1, "the child ran once");
}

/// A run spawns a child while a lingering runner looks at the lanes: the
/// child may be kept in the spawner's slot (`shared.rs` invariant 5), where
/// the lingerer may take it (`watch.rs` invariant 7: `Lane::kept_in` marks
/// it as a kept spawn) racing the spawner's take at its run's end; exactly
/// one of the two swaps gets it, and it runs once (the trace oracle accepts
/// the lingerer's `StealSlot` and `StealFill` as the spec's `Lingering`
/// steps; which slot task it takes is policy, checked by the next model).
#[test]
fn spawn_kept_in_the_slot_vs_lingerer() {
    model_with_bound(3, || kept_spawn_vs(tempo::__model::linger_look));
}

/// A task woken by a run waits in that run's slot (`running.rs` invariant
/// 3) while a lingering runner looks: the lingerer takes kept *spawns*
/// only (`watch.rs` invariant 7), so the woken task stays; it runs once.
#[test]
fn woken_task_in_the_slot_is_not_taken_by_a_lingerer() {
    model(|| {
        let took = woken_in_the_slot_vs(tempo::__model::linger_look);
        assert_eq!(took, 0, "a lingerer took a woken task");
    });
}

/// A run spawns twice while the monitor is in the runtime: the first child
/// may be kept in the spawner's slot, and the second then moves it to the
/// head of the ready queue (`shared.rs` invariant 5, TLA+ `SlotUnkeep`),
/// racing the monitor's steal of the slot: exactly one of the owner's swap
/// and the monitor's gets it. Each child runs exactly once.
#[test]
fn second_spawn_unkeeps_the_first_vs_stealer() {
    model_with_bound(3, || {
        let rt = rt(0);
        let runs: Arc<[AtomicUsize; 2]> = Arc::new(std::array::from_fn(|_| AtomicUsize::new(0)));
        let r = runs.clone();
        // In a tuple: the handles are awaited by `block_on`, not `b`.
        let b = rt.spawn(async move {
            let hs: Vec<_> = (0..2)
                .map(|i| {
                    let r = r.clone();
                    tempo::spawn(async move {
                        r[i].fetch_add(1, SeqCst);
                    })
                })
                .collect();
            (hs,)
        });
        let h = rt.handle();
        let th = loom::thread::spawn(move || tempo::__model::monitor_tick(&h));
        rt.block_on(async move {
            let (hs,) = b.await.unwrap();
            for h in hs {
                h.await.unwrap();
            }
        });
        th.join().unwrap();
        for (i, r) in runs.iter().enumerate() {
            assert_eq!(r.load(SeqCst), 1, "child {i} ran once");
        }
    });
}
