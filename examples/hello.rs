//! The smallest tour of tempo: spawn, sleep, timeout, wakeup/signal, stop.
//!
//! Run with `cargo run --example hello`.

use std::time::{Duration, Instant};
use tempo::task::{self, WaitOutcome};
use tempo::time::{sleep, timeout};

fn main() -> std::io::Result<()> {
    let rt = tempo::Runtime::new()?;
    println!(
        "tempo runtime with {} worker threads",
        rt.handle().worker_threads()
    );

    rt.block_on(async {
        // 1. spawn and join
        let sum: u64 = {
            let hs: Vec<_> = (0..10u64)
                .map(|i| tempo::spawn(async move { i * i }))
                .collect();
            let mut s = 0;
            for h in hs {
                s += h.await.unwrap();
            }
            s
        };
        println!("sum of squares 0..10 = {sum}");

        // 2. sleep precision
        let t0 = Instant::now();
        sleep(Duration::from_micros(100)).await;
        println!("sleep(100us) took {:?}", t0.elapsed());

        // 3. timeout
        let r = timeout(Duration::from_millis(5), sleep(Duration::from_secs(10))).await;
        println!("timeout(5ms, sleep 10s) = {r:?}");

        // 4. serverbox wakeup / signal / deadline
        let waiter = tempo::spawn(async {
            let a = task::wait_until(Instant::now() + Duration::from_millis(2)).await;
            let b = task::wait().await;
            let got = task::receive_signal();
            (a, b, got)
        });
        sleep(Duration::from_millis(10)).await;
        waiter.task_ref().signal();
        let (a, b, got) = waiter.await.unwrap();
        assert_eq!(
            (a, b, got),
            (WaitOutcome::Expired, WaitOutcome::Signaled, true)
        );
        println!("wait_until -> {a:?}, wait -> {b:?}, receive_signal -> {got}");

        // 5. a panicking task does not take the runtime down
        let err = tempo::spawn(async { panic!("task panicked on purpose") })
            .await
            .unwrap_err();
        println!("panic captured: {err}");
    });
    Ok(())
}
