//! loom models of the watch (`sched/watch.rs`): a stealer (the monitor's
//! steal, driven directly: loom has no clock, so nobody ticks) racing the
//! owner of a runner's next-run slot and share.

use super::{model, rt};
use loom::sync::atomic::{AtomicUsize, Ordering::*};
use std::sync::Arc;
use tempo::task;

/// The caller of a `worker_threads(0)` runtime is its only runner: it pops
/// `a` and `b` (`b` in its share), `a` waits, `b` wakes `a` into the
/// runner's next-run slot and completes, and the runner takes the slot at
/// the end of `b`'s run and runs `a` again. Another thread steals the slot
/// and the share meanwhile (`tempo::__model::steal_all`). Every task runs
/// once per notification: exactly one of the owner's swap (or CAS, for the
/// share) and the stealer's gets each task. With the owner's take of the
/// slot as a load and a store
/// (`tests/mutants/slot_take_load_store.patch`) the stealer and the owner
/// both run `a`: the trace oracle rejects the second take, and the second
/// run trips `transition_to_running`'s double-run assertion.
#[test]
fn slot_owner_vs_stealer() {
    model(|| {
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
        let th = loom::thread::spawn(move || tempo::__model::steal_all(&h));
        rt.block_on(async move {
            b.await.unwrap();
            a.await.unwrap();
        });
        th.join().unwrap();
        assert_eq!(runs.load(SeqCst), 1, "a completed once");
    });
}
