#![cfg(not(any(feature = "loom", feature = "shuttle")))]
//! Integration tests of the runtime API: `Runtime::new`, `Builder`,
//! `block_on`, `Handle`, `run`/`stop`/`restart`, and the misuse panics.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use tempo::task::yield_now;
use tempo::time::sleep;
use tempo::{Handle, Runtime};

mod common;
use common::within;

fn rt(workers: usize) -> Runtime {
    Runtime::builder()
        .worker_threads(workers)
        .build()
        .expect("build runtime")
}

fn panic_message(p: &(dyn Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        s.to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "<non-string panic payload>".to_string()
    }
}

const LIMIT: Duration = Duration::from_secs(4);

#[test]
fn runtime_new_uses_available_parallelism() {
    within(LIMIT, || {
        let rt = Runtime::new().unwrap();
        let n = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        assert_eq!(rt.handle().worker_threads(), n);
        assert_eq!(rt.block_on(async { 40 + 2 }), 42);
        let dbg = format!("{rt:?} {:?}", rt.handle());
        assert!(dbg.contains("worker_threads"), "{dbg}");
    });
}

#[test]
fn builder_worker_threads_0_1_2_block_on_returns_values() {
    within(LIMIT, || {
        for workers in [0usize, 1, 2] {
            let rt = rt(workers);
            assert_eq!(rt.handle().worker_threads(), workers);
            // A plain value.
            assert_eq!(rt.block_on(async { "plain" }), "plain");
            // Values computed by spawned tasks.
            let sum = rt.block_on(async {
                let hs: Vec<_> = (0..100u64)
                    .map(|i| tempo::spawn(async move { i * 2 }))
                    .collect();
                let mut s = 0;
                for h in hs {
                    s += h.await.unwrap();
                }
                s
            });
            assert_eq!(sum, 2 * (0..100u64).sum::<u64>(), "workers={workers}");
            // A non-Copy value, and block_on called again on the same runtime.
            let v = rt.block_on(async { vec![1, 2, 3] });
            assert_eq!(v, vec![1, 2, 3]);
            // Runtime::spawn from outside, awaited with block_on.
            let h = rt.spawn(async { String::from("from outside") });
            assert_eq!(rt.block_on(h).unwrap(), "from outside");
        }
    });
}

#[test]
fn builder_thread_name_names_the_workers() {
    within(LIMIT, || {
        let rt = Runtime::builder()
            .worker_threads(2)
            .thread_name("tempo-it-name")
            .build()
            .unwrap();
        let name = rt
            .block_on(rt.spawn(async { std::thread::current().name().map(str::to_owned) }))
            .unwrap();
        let name = name.expect("worker thread has a name");
        assert!(
            name.starts_with("tempo-it-name-"),
            "worker thread name {name:?}"
        );
    });
}

#[test]
fn block_on_accepts_non_send_future() {
    within(LIMIT, || {
        for workers in [0usize, 2] {
            let rt = rt(workers);
            let rc = Rc::new(std::cell::Cell::new(5));
            let rc2 = rc.clone();
            // `Rc` is neither Send nor Sync, and is held across an await.
            let out = rt.block_on(async move {
                let local = rc2.clone();
                sleep(Duration::from_millis(1)).await;
                local.set(local.get() + 1);
                yield_now().await;
                local.get() * 7
            });
            assert_eq!(out, 42);
            assert_eq!(rc.get(), 6);
        }
    });
}

#[test]
fn block_on_can_borrow_from_the_stack() {
    within(LIMIT, || {
        let rt = rt(1);
        let mut data = vec![1, 2, 3];
        let r = &mut data;
        rt.block_on(async {
            sleep(Duration::from_millis(1)).await;
            r.push(4);
        });
        assert_eq!(data, vec![1, 2, 3, 4]);
    });
}

#[test]
fn handle_current_inside_block_on_and_tasks() {
    within(LIMIT, || {
        assert!(
            Handle::try_current().is_none(),
            "no context on a plain test thread"
        );
        for workers in [0usize, 2] {
            let rt = rt(workers);
            let (in_block_on, in_task) = rt.block_on(async {
                let h = Handle::current();
                let from_task = tempo::spawn(async {
                    let h = Handle::current();
                    // Spawning through the current handle from inside a task works.
                    let inner = h.spawn(async { 5 }).await.unwrap();
                    (h.worker_threads(), inner)
                })
                .await
                .unwrap();
                (h.worker_threads(), from_task)
            });
            assert_eq!(in_block_on, workers);
            assert_eq!(in_task, (workers, 5));
            assert!(
                Handle::try_current().is_none(),
                "context restored after block_on"
            );
        }
    });
}

#[test]
fn handle_and_public_types_are_send_sync() {
    fn clone_send_sync<T: Clone + Send + Sync + 'static>() {}
    fn send_sync<T: Send + Sync + 'static>() {}
    clone_send_sync::<tempo::Handle>();
    clone_send_sync::<tempo::task::TaskRef>();
    clone_send_sync::<tempo::time::ManualClock>();
    send_sync::<tempo::Runtime>();
    send_sync::<tempo::JoinHandle<u32>>();
    send_sync::<tempo::JoinError>();
    send_sync::<tempo::time::Elapsed>();
    // Checked at compile time; at run time, a handle really crosses threads.
    let rt = rt(1);
    let h = rt.handle();
    let out = std::thread::spawn(move || h.clone().worker_threads())
        .join()
        .unwrap();
    assert_eq!(out, 1);
}

#[test]
fn spawn_from_other_os_threads_via_handle() {
    within(LIMIT, || {
        for workers in [0usize, 1, 2] {
            let rt = rt(workers);
            let threads: Vec<_> = (0..4u64)
                .map(|t| {
                    let h = rt.handle();
                    std::thread::spawn(move || {
                        (0..50u64)
                            .map(|i| h.spawn(async move { t * 1000 + i }))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            let handles: Vec<_> = threads
                .into_iter()
                .flat_map(|t| t.join().unwrap())
                .collect();
            assert_eq!(handles.len(), 200);
            let sum = rt.block_on(async {
                let mut s = 0;
                for h in handles {
                    s += h.await.unwrap();
                }
                s
            });
            let want: u64 = (0..4u64)
                .flat_map(|t| (0..50u64).map(move |i| t * 1000 + i))
                .sum();
            assert_eq!(sum, want, "workers={workers}");
        }
    });
}

#[test]
fn spawned_tasks_run_without_block_on_when_there_are_workers() {
    within(LIMIT, || {
        let rt = rt(2);
        let (tx, rx) = mpsc::channel();
        let h = rt.handle();
        std::thread::spawn(move || {
            h.spawn(async move {
                sleep(Duration::from_millis(2)).await;
                tx.send(7).unwrap();
            })
        })
        .join()
        .unwrap();
        assert_eq!(
            rx.recv_timeout(Duration::from_secs(2)),
            Ok(7),
            "workers run tasks on their own"
        );
    });
}

#[test]
fn run_stop_from_task_worker_threads_0() {
    within(LIMIT, || {
        let rt = rt(0);
        let h = rt.handle();
        let ran = Arc::new(AtomicBool::new(false));
        let ran2 = ran.clone();
        let t0 = Instant::now();
        rt.spawn(async move {
            sleep(Duration::from_millis(10)).await;
            ran2.store(true, SeqCst);
            h.stop();
        });
        assert!(!rt.handle().is_stopped());
        rt.run();
        assert!(
            ran.load(SeqCst),
            "run() drove the task (the caller is the only worker)"
        );
        assert!(rt.handle().is_stopped());
        assert!(
            t0.elapsed() >= Duration::from_millis(10),
            "run() returned before stop() was called"
        );
    });
}

#[test]
fn run_stop_from_task_two_workers() {
    within(LIMIT, || {
        let rt = rt(2);
        let h = rt.handle();
        let t0 = Instant::now();
        rt.spawn(async move {
            sleep(Duration::from_millis(10)).await;
            h.stop();
        });
        rt.run();
        assert!(rt.handle().is_stopped());
        assert!(
            t0.elapsed() >= Duration::from_millis(10),
            "run() returned early: {:?}",
            t0.elapsed()
        );
    });
}

#[test]
fn run_stop_from_another_thread() {
    within(LIMIT, || {
        for workers in [0usize, 2] {
            let rt = rt(workers);
            let h = rt.handle();
            let t0 = Instant::now();
            let th = std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(20));
                h.stop();
            });
            rt.run();
            let el = t0.elapsed();
            assert!(
                el >= Duration::from_millis(20),
                "workers={workers}: run returned after {el:?}"
            );
            assert!(
                el < Duration::from_secs(2),
                "workers={workers}: run took {el:?}"
            );
            th.join().unwrap();
        }
    });
}

#[test]
fn stop_before_run_returns_immediately_and_restart_blocks_again() {
    within(LIMIT, || {
        for workers in [0usize, 2] {
            let rt = rt(workers);
            rt.handle().stop();
            let t0 = Instant::now();
            rt.run();
            assert!(
                t0.elapsed() < Duration::from_secs(1),
                "run after stop must return at once"
            );
            rt.run(); // still stopped: returns again
            assert!(rt.handle().is_stopped());

            rt.restart();
            assert!(!rt.handle().is_stopped(), "restart clears stop");
            let h = rt.handle();
            let t0 = Instant::now();
            let th = std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(20));
                h.stop();
            });
            rt.run();
            assert!(
                t0.elapsed() >= Duration::from_millis(20),
                "workers={workers}: run after restart did not block"
            );
            th.join().unwrap();

            // The runtime is still fully usable after a stop.
            assert_eq!(rt.block_on(rt.spawn(async { 3 })).unwrap(), 3);
        }
    });
}

/// `stop` makes *every* `run` return (cnetmod: `stop()` ends the event
/// loop; `Handle::stop`: "asks every `Runtime::run` call to return"), and
/// is thread-safe (DESIGN: cnetmod's `stop()` was not): three threads in
/// `run` at once, four threads calling `stop` at once.
#[test]
fn stop_from_many_threads_returns_every_concurrent_run() {
    within(LIMIT, || {
        for workers in [0usize, 2] {
            let rt = Arc::new(rt(workers));
            let (tx, rx) = mpsc::channel();
            let runners: Vec<_> = (0..3)
                .map(|_| {
                    let (rt, tx) = (rt.clone(), tx.clone());
                    std::thread::spawn(move || {
                        rt.run();
                        tx.send(()).unwrap();
                    })
                })
                .collect();
            // A task keeps running meanwhile (driven by the callers on
            // worker_threads(0)).
            let ticks = Arc::new(AtomicUsize::new(0));
            let t = ticks.clone();
            let ticker = rt.spawn(async move {
                loop {
                    t.fetch_add(1, SeqCst);
                    sleep(Duration::from_millis(1)).await;
                }
            });
            std::thread::sleep(Duration::from_millis(30));
            assert!(
                rx.try_recv().is_err(),
                "workers={workers}: run returned before stop"
            );
            let h = rt.handle();
            let stoppers: Vec<_> = (0..4)
                .map(|_| {
                    let h = h.clone();
                    std::thread::spawn(move || h.stop())
                })
                .collect();
            for s in stoppers {
                s.join().unwrap();
            }
            for i in 0..3 {
                rx.recv_timeout(Duration::from_secs(2)).unwrap_or_else(|_| {
                    panic!("workers={workers}: run #{i} of 3 did not return after stop")
                });
            }
            for r in runners {
                r.join().unwrap();
            }
            assert!(rt.handle().is_stopped());
            assert!(
                ticks.load(SeqCst) > 0,
                "workers={workers}: the task never ran"
            );
            ticker.abort();
        }
    });
}

#[test]
fn stop_does_not_cancel_tasks_on_a_multi_worker_runtime() {
    within(LIMIT, || {
        let rt = rt(2);
        let h = rt.handle();
        let (tx, rx) = mpsc::channel();
        rt.spawn(async move {
            sleep(Duration::from_millis(20)).await;
            tx.send(()).unwrap();
        });
        h.stop();
        rt.run();
        assert_eq!(
            rx.recv_timeout(Duration::from_secs(2)),
            Ok(()),
            "workers keep running tasks after stop"
        );
    });
}

#[test]
fn tasks_pending_after_run_returns_continue_on_a_later_block_on() {
    within(LIMIT, || {
        let rt = rt(0);
        let (tx, rx) = futures::channel::oneshot::channel::<u32>();
        let waiter = rt.spawn(async move { rx.await.unwrap() * 2 });
        let slept = Arc::new(AtomicBool::new(false));
        let slept2 = slept.clone();
        let sleeper = rt.spawn(async move {
            sleep(Duration::from_millis(30)).await;
            slept2.store(true, SeqCst);
            11
        });
        let h = rt.handle();
        rt.spawn(async move { h.stop() });
        rt.run();
        assert!(!waiter.is_finished(), "waiter is still pending");
        assert!(!sleeper.is_finished(), "sleeper is still pending");

        // Wake the waiter while nothing drives the runtime: it must not be lost.
        tx.send(21).unwrap();
        std::thread::sleep(Duration::from_millis(40));
        assert!(
            !waiter.is_finished(),
            "worker_threads(0): nothing runs outside block_on/run"
        );
        assert!(!slept.load(SeqCst));

        let (a, b) = rt.block_on(async { (waiter.await.unwrap(), sleeper.await.unwrap()) });
        assert_eq!((a, b), (42, 11));
        assert!(slept.load(SeqCst));
    });
}

#[test]
fn spawn_outside_runtime_panics_with_helpful_message() {
    let p = catch_unwind(|| {
        drop(tempo::spawn(async {}));
    })
    .expect_err("tempo::spawn outside a runtime must panic");
    let msg = panic_message(&*p);
    assert!(msg.contains("outside a tempo runtime"), "message: {msg}");
    assert!(
        msg.contains("Handle::spawn") || msg.contains("Runtime::spawn"),
        "message should name the fix: {msg}"
    );
}

#[test]
fn handle_current_outside_runtime_panics_with_helpful_message() {
    let p =
        catch_unwind(Handle::current).expect_err("Handle::current outside a runtime must panic");
    let msg = panic_message(&*p);
    assert!(msg.contains("outside a tempo runtime"), "message: {msg}");
}

#[test]
fn sleep_outside_runtime_panics_with_helpful_message() {
    // Creating *or* polling a sleep outside a runtime panics (whichever the
    // implementation chooses), with a message that names the problem.
    let p = catch_unwind(|| futures::executor::block_on(sleep(Duration::from_millis(1))))
        .expect_err("sleep outside a runtime must panic");
    let msg = panic_message(&*p);
    assert!(msg.contains("outside a tempo runtime"), "message: {msg}");
    assert!(
        msg.contains("sleep") || msg.contains("timer"),
        "message should name the culprit: {msg}"
    );

    // A timeout whose future is ready at once needs no timer: it works anywhere.
    assert_eq!(
        futures::executor::block_on(tempo::time::timeout(Duration::from_millis(1), async { 5 })),
        Ok(5)
    );
    // One that has to wait needs the runtime's timers, and says so.
    let p = catch_unwind(|| {
        futures::executor::block_on(tempo::time::timeout(
            Duration::from_millis(1),
            std::future::pending::<()>(),
        ))
    })
    .expect_err("a pending timeout outside a runtime must panic");
    assert!(
        panic_message(&*p).contains("outside a tempo runtime"),
        "{}",
        panic_message(&*p)
    );
}

#[test]
fn sleep_created_inside_but_polled_outside_panics_with_helpful_message() {
    within(LIMIT, || {
        let rt = rt(1);
        // The block returns the (unawaited) sleep on purpose: it is created
        // inside the runtime and polled outside it below.
        #[allow(clippy::async_yields_async)]
        let s = rt.block_on(async { sleep(Duration::from_secs(3600)) });
        let p = catch_unwind(AssertUnwindSafe(move || futures::executor::block_on(s)))
            .expect_err("polling a tempo timer outside the runtime must panic");
        let msg = panic_message(&*p);
        assert!(msg.contains("outside a tempo runtime"), "message: {msg}");
    });
}

#[test]
fn nested_block_on_inside_block_on_panics_and_runtime_survives() {
    within(LIMIT, || {
        for workers in [0usize, 2] {
            let rt = rt(workers);
            let p = catch_unwind(AssertUnwindSafe(|| {
                rt.block_on(async { rt.block_on(async { 1 }) })
            }))
            .expect_err("nested block_on must panic");
            let msg = panic_message(&*p);
            assert!(
                msg.contains("block_on"),
                "workers={workers}: message: {msg}"
            );
            assert!(
                Handle::try_current().is_none(),
                "context restored after the panic"
            );
            // The runtime still works after the misuse.
            let v = rt.block_on(async {
                sleep(Duration::from_millis(1)).await;
                tempo::spawn(async { 9 }).await.unwrap()
            });
            assert_eq!(v, 9, "workers={workers}");
        }
    });
}

#[test]
fn nested_block_on_inside_a_task_is_a_panic_of_that_task() {
    within(LIMIT, || {
        for workers in [0usize, 1, 2] {
            let rt = Arc::new(rt(workers));
            let rt2 = rt.clone();
            let err = rt
                .block_on(rt.spawn(async move {
                    rt2.block_on(async { 1 });
                }))
                .expect_err("nested block_on in a task must fail the task");
            assert!(err.is_panic(), "workers={workers}: {err:?}");
            let msg = panic_message(&*err.into_panic());
            assert!(
                msg.contains("block_on"),
                "workers={workers}: message: {msg}"
            );
            // Also `run()` (which is block_on on a stop future).
            let rt3 = rt.clone();
            let err = rt.block_on(rt.spawn(async move { rt3.run() })).unwrap_err();
            assert!(err.is_panic());
            // The worker survived: more tasks run fine.
            assert_eq!(rt.block_on(rt.spawn(async { 5 })).unwrap(), 5);
            assert_eq!(
                Arc::strong_count(&rt),
                1,
                "the task's clone of the runtime was dropped"
            );
        }
    });
}

#[test]
fn block_on_with_sleeps_and_spawns_mixed_many_times() {
    // block_on is re-entered many times in a row; the runtime keeps no stale state.
    within(LIMIT, || {
        for workers in [0usize, 1, 2] {
            let rt = rt(workers);
            let counter = Arc::new(AtomicUsize::new(0));
            for i in 0..50u64 {
                let c = counter.clone();
                let v = rt.block_on(async move {
                    let h = tempo::spawn(async move {
                        if i % 3 == 0 {
                            sleep(Duration::from_micros(200)).await;
                        }
                        c.fetch_add(1, SeqCst);
                        i
                    });
                    if i % 2 == 0 {
                        yield_now().await;
                    }
                    h.await.unwrap()
                });
                assert_eq!(v, i);
            }
            assert_eq!(counter.load(SeqCst), 50);
        }
    });
}

#[test]
fn concurrent_block_on_from_two_threads_on_a_multi_worker_runtime() {
    within(LIMIT, || {
        let rt = Arc::new(rt(2));
        let ths: Vec<_> = (0..2u64)
            .map(|t| {
                let rt = rt.clone();
                std::thread::spawn(move || {
                    rt.block_on(async move {
                        sleep(Duration::from_millis(5)).await;
                        tempo::spawn(async move { t + 1 }).await.unwrap()
                    })
                })
            })
            .collect();
        let s: u64 = ths.into_iter().map(|t| t.join().unwrap()).sum();
        assert_eq!(s, 3);
    });
}

/// Two threads inside `block_on` of the same `worker_threads(0)` runtime: one
/// of them holds the sched role and parks in the driver; the other must still
/// see its own sleep's deadline (its timer list is private to its frame).
#[test]
fn concurrent_block_on_from_two_threads_on_a_caller_driven_runtime() {
    within(LIMIT, || {
        let rt = Arc::new(rt(0));
        let (tx, rx) = futures::channel::oneshot::channel::<u32>();
        let rt_a = rt.clone();
        // A: waits for B's message, with no deadline of its own.
        let a = std::thread::spawn(move || rt_a.block_on(async move { rx.await.unwrap() }));
        std::thread::sleep(Duration::from_millis(20)); // let A take the role and park
        let rt_b = rt.clone();
        let b = std::thread::spawn(move || {
            rt_b.block_on(async move {
                sleep(Duration::from_millis(10)).await;
                tx.send(99).unwrap();
            })
        });
        let (done_tx, done_rx) = mpsc::channel();
        std::thread::spawn(move || {
            b.join().unwrap();
            let v = a.join().unwrap();
            let _ = done_tx.send(v);
        });
        let v = done_rx
            .recv_timeout(Duration::from_secs(3))
            .expect("two concurrent block_on calls on a worker_threads(0) runtime hung");
        assert_eq!(v, 99);
    });
}

/// CPU time (clock ticks, user + system) of this process's threads whose
/// name starts with `prefix` (Linux: `/proc/self/task/*/stat`).
#[cfg(target_os = "linux")]
fn threads_cpu_ticks(prefix: &str) -> (usize, u64) {
    let mut threads = 0;
    let mut ticks = 0;
    for e in std::fs::read_dir("/proc/self/task").unwrap() {
        let dir = e.unwrap().path();
        let Ok(comm) = std::fs::read_to_string(dir.join("comm")) else {
            continue; // the thread exited meanwhile
        };
        if !comm.trim_end().starts_with(prefix) {
            continue;
        }
        let stat = std::fs::read_to_string(dir.join("stat")).unwrap();
        // Fields after the `(comm)`: state is field 3, utime 14, stime 15.
        let rest = &stat[stat.rfind(')').unwrap() + 1..];
        let f: Vec<&str> = rest.split_whitespace().collect();
        ticks += f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap();
        threads += 1;
    }
    (threads, ticks)
}

/// A worker that runs out of work lingers (polls for work without sleeping)
/// for at most `LINGER` (50 µs) once per idle period, then parks: an idle
/// runtime burns no CPU after a burst of work. A linger that never ended, or
/// restarted on every turn of the loop, would cost both workers a whole
/// core each over the idle window below.
#[cfg(target_os = "linux")]
#[test]
fn idle_workers_stop_polling_after_a_burst() {
    within(LIMIT, || {
        let rt = Runtime::builder()
            .worker_threads(2)
            .thread_name("tempo-it-idle")
            .build()
            .unwrap();
        // Bursts that leave both workers idle many times: chains of spawns
        // (each task spawns the next), the case the linger is for.
        fn link(left: usize, done: mpsc::Sender<()>) {
            if left == 0 {
                done.send(()).unwrap();
            } else {
                drop(tempo::spawn(async move { link(left - 1, done) }));
            }
        }
        for _ in 0..20 {
            let (tx, rx) = mpsc::channel();
            rt.spawn(async move { link(200, tx) });
            rx.recv().unwrap();
            std::thread::sleep(Duration::from_millis(1));
        }
        std::thread::sleep(Duration::from_millis(20));
        let (n, before) = threads_cpu_ticks("tempo-it-idle");
        assert_eq!(n, 2, "both worker threads found");
        let window = Duration::from_millis(400);
        std::thread::sleep(window);
        let (_, after) = threads_cpu_ticks("tempo-it-idle");
        // SAFETY: sysconf has no preconditions.
        let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as u64;
        let busy_ms = (after - before) * 1000 / hz;
        // Polling forever would read about 2 × 400 ms; allow for the tick
        // granularity and a loaded machine.
        assert!(
            busy_ms <= 60,
            "idle workers used {busy_ms} ms of CPU in {window:?}"
        );
    });
}

/// A `block_on` future that panics on a caller-driven runtime loses no task.
/// A task wakes two idle tasks: the first goes to its worker's next-run
/// slot, the second through the front queue, which makes it the next
/// round's pass (kept by the worker to run first); then it wakes the
/// `block_on` future, which panics when polled between two batches. The
/// worker loop used to unwind with the pass in its hands: the second task
/// stayed `SCHEDULED` in no queue and never ran again (its wakeup was lost).
#[test]
fn a_panicking_block_on_future_gives_back_the_tasks_its_loop_held() {
    use std::task::{Poll, Waker};
    use tempo::task::{wait, WaitOutcome};
    within(LIMIT, || {
        let rt = rt(0);
        let a = rt.spawn(async { wait().await });
        let w = rt.spawn(async { wait().await });
        // Let A and W run once and go idle in wait().
        rt.block_on(yield_now());
        let (aref, wref) = (a.task_ref(), w.task_ref());
        let main_waker: Arc<std::sync::Mutex<Option<Waker>>> = Default::default();
        let mw = main_waker.clone();
        let x = rt.spawn(async move {
            aref.wakeup(); // the next-run slot
            wref.wakeup(); // the slot is taken: the front queue, the round's pass
            mw.lock().unwrap().take().unwrap().wake();
        });
        let p = catch_unwind(AssertUnwindSafe(|| {
            let mut polls = 0;
            rt.block_on(futures::future::poll_fn(move |cx| {
                polls += 1;
                if polls == 1 {
                    *main_waker.lock().unwrap() = Some(cx.waker().clone());
                    return Poll::<()>::Pending;
                }
                panic!("the block_on future panics");
            }))
        }))
        .expect_err("the block_on future panicked");
        assert_eq!(panic_message(&*p), "the block_on future panics");
        rt.block_on(x).unwrap();
        assert_eq!(rt.block_on(a).unwrap(), WaitOutcome::Woken);
        // W's only notification was the pass: lost, it never runs (the
        // timeout only turns that hang into a failure).
        let r = rt.block_on(tempo::time::timeout(Duration::from_secs(1), w));
        assert_eq!(
            r.expect("a woken task never ran again: its notification was lost")
                .unwrap(),
            WaitOutcome::Woken
        );
    });
}

/// The same promise with the wake from another thread, at a random point of
/// the loop (50 tries): a wake that reaches the round just before the
/// `block_on` future panics was lost with the pass. Racy (it finds the
/// window in some of the tries); the test above is the deterministic one.
#[test]
fn a_panicking_block_on_future_loses_no_wake_from_another_thread() {
    use std::task::Poll;
    use tempo::task::{wait, WaitOutcome};
    within(Duration::from_secs(20), || {
        let mut lost = 0;
        for _ in 0..50 {
            let rt = rt(0);
            let w = rt.spawn(async { wait().await });
            let wref = w.task_ref();
            // Let W run once and go idle in wait().
            rt.block_on(yield_now());
            rt.block_on(yield_now());
            let flag = Arc::new(AtomicBool::new(false));
            let f2 = flag.clone();
            let waker_thread = std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(2));
                wref.wakeup();
                f2.store(true, SeqCst);
            });
            let r = catch_unwind(AssertUnwindSafe(|| {
                let mut armed = false;
                rt.block_on(futures::future::poll_fn(move |cx| {
                    if armed {
                        panic!("the block_on future panics");
                    }
                    if flag.load(SeqCst) {
                        armed = true;
                    }
                    cx.waker().wake_by_ref();
                    Poll::<()>::Pending
                }))
            }));
            assert!(r.is_err());
            waker_thread.join().unwrap();
            match rt.block_on(tempo::time::timeout(Duration::from_secs(1), w)) {
                Ok(r) => assert_eq!(r.unwrap(), WaitOutcome::Woken),
                Err(_) => lost += 1,
            }
        }
        assert_eq!(
            lost, 0,
            "tasks lost after a panicking block_on future (of 50 tries)"
        );
    });
}

/// A task that a `block_on` gives back as it ends reaches another `block_on`
/// caller of the same `worker_threads(0)` runtime that sleeps in the driver
/// (`worker.rs` invariant 9: the give-back wakes the role holder). It used to
/// notify idle workers only: the woken task sat in the ready queue while the
/// other caller slept, until something unrelated unparked the driver. The
/// ending `block_on`'s last poll is made slow so that the other caller is
/// parked in the driver by then.
#[test]
fn a_task_given_back_by_an_ending_block_on_reaches_a_caller_in_the_driver() {
    within(Duration::from_secs(30), || {
        for _ in 0..5 {
            let rt = Arc::new(Runtime::builder().worker_threads(0).build().unwrap());
            let (x_tx, x_rx) = futures::channel::oneshot::channel::<u32>();
            let x_started = Arc::new(AtomicBool::new(false));
            let xs = x_started.clone();
            let x = rt.spawn(async move {
                xs.store(true, SeqCst);
                tempo::task::wait().await;
                let _ = x_tx.send(7);
            });
            let xref = x.task_ref();
            let ending = Arc::new(AtomicBool::new(false));
            let (e, rt_a) = (ending.clone(), rt.clone());
            let a = std::thread::spawn(move || {
                let mut woke = false;
                rt_a.block_on(std::future::poll_fn(move |cx| {
                    if !woke {
                        // Wake X from the block_on future: this caller's
                        // next round takes it, into its own share.
                        if x_started.load(SeqCst) {
                            xref.wakeup();
                            woke = true;
                        }
                        cx.waker().wake_by_ref();
                        return std::task::Poll::Pending;
                    }
                    e.store(true, SeqCst);
                    let t = Instant::now();
                    while t.elapsed() < Duration::from_millis(100) {
                        std::hint::spin_loop();
                    }
                    std::task::Poll::Ready(())
                }))
            });
            while !ending.load(SeqCst) {
                std::thread::yield_now();
            }
            let rt_b = rt.clone();
            let (done_tx, done_rx) = mpsc::channel();
            let b = std::thread::spawn(move || {
                let v = rt_b.block_on(async move { x_rx.await.unwrap() });
                let _ = done_tx.send(v);
            });
            a.join().unwrap();
            let got = done_rx.recv_timeout(Duration::from_secs(2));
            if got.is_err() {
                drop(rt.spawn(async {})); // unparks the driver, so the test ends
            }
            b.join().unwrap();
            assert_eq!(got, Ok(7), "the given-back task sat in the ready queue");
            drop(x);
        }
    });
}

/// A `block_on` caller of a `worker_threads(0)` runtime that holds the sched
/// role, asleep in the driver, and is unparked both by its own future (which
/// is then done) and by a wake that pushed a task to the front queue, hands
/// the front queue to the other caller, asleep as an idle worker, when it
/// ends (`worker.rs` invariant 9). It used to end without a round and
/// without a notification: the woken task sat in the front queue while the
/// other caller slept until its own deadline (here 2 s; without one, for
/// ever): a lost wakeup.
#[test]
fn a_block_on_ending_right_after_its_driver_unpark_hands_the_front_queue_over() {
    within(Duration::from_secs(60), || {
        let mut lost = Vec::new();
        for i in 0..100 {
            let rt = Arc::new(Runtime::builder().worker_threads(0).build().unwrap());
            let polls = Arc::new(AtomicUsize::new(0));
            let waker: Arc<std::sync::Mutex<Option<std::task::Waker>>> = Default::default();
            let (p, w) = (polls.clone(), waker.clone());
            let t = rt.spawn(std::future::poll_fn(move |cx| {
                *w.lock().unwrap() = Some(cx.waker().clone());
                if p.fetch_add(1, SeqCst) == 0 {
                    std::task::Poll::Pending
                } else {
                    std::task::Poll::Ready(())
                }
            }));
            // Caller A runs the task's first poll, then holds the role and
            // blocks in the driver (no deadline anywhere).
            let (a_tx, a_rx) = futures::channel::oneshot::channel::<()>();
            let rt_a = rt.clone();
            let a = std::thread::spawn(move || rt_a.block_on(async move { a_rx.await.unwrap() }));
            while polls.load(SeqCst) == 0 {
                std::thread::yield_now();
            }
            std::thread::sleep(Duration::from_millis(5));
            // Caller B (this thread) finds the role held and sleeps as an idle
            // worker; meanwhile A's future is completed and the task woken,
            // back to back, so that A wakes up with both done.
            let w = waker.lock().unwrap().clone().unwrap();
            let poker = std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(5));
                if i % 2 == 0 {
                    a_tx.send(()).unwrap();
                    w.wake();
                } else {
                    w.wake();
                    a_tx.send(()).unwrap();
                }
            });
            let r = rt.block_on(tempo::time::timeout(Duration::from_secs(1), t));
            poker.join().unwrap();
            a.join().unwrap();
            match r {
                Ok(r) => r.unwrap(),
                Err(_) => lost.push(i),
            }
        }
        assert!(
            lost.is_empty(),
            "woken tasks left in the front queue, tries {lost:?} of 100"
        );
    });
}

/// A thread name with a NUL byte is an error of `build`, for any worker
/// count (std's thread builder used to panic inside `build`).
#[test]
fn a_thread_name_with_a_nul_byte_is_an_error_of_build() {
    for workers in [0usize, 1, 2] {
        let err = Runtime::builder()
            .worker_threads(workers)
            .thread_name("bad\0name")
            .build()
            .expect_err("a NUL in the thread name");
        assert_eq!(
            err.kind(),
            std::io::ErrorKind::InvalidInput,
            "workers={workers}"
        );
        assert!(err.to_string().contains("NUL"), "{err}");
    }
}
