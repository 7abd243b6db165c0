//! Workload 8: memory. Live heap bytes (the counting global allocator of
//! [`crate::alloc`]) per idle task and per idle TCP connection.
//!
//! * `idle-task`: 100,000 spawned tasks, each parked forever on a pending
//!   future after its first poll; (live bytes after − before) / 100,000. The
//!   handles are kept in a `Vec` allocated before the first reading.
//! * `idle-conn`: 5,000 loopback connections accepted by the runtime, one
//!   task per connection parked in `read` with a 64 B stack buffer; the
//!   client ends are plain blocking std sockets (no heap). Kernel socket
//!   buffers are not heap and are the same for every runtime, so they are
//!   not counted.
//!
//! Both run inside a [`crate::alloc::counting`] scope: the allocator counts
//! nothing outside one (the other workloads pay no shared counter).

use super::{Case, Latch};
use crate::record::{Better, Metric};
use crate::rt::Rt;
use std::time::Duration;

const BYTES: &[Metric] = &[Metric {
    name: "bytes",
    unit: "B",
    better: Better::Lower,
}];

/// The cases of this module.
pub fn cases() -> Vec<Case> {
    vec![
        Case {
            workload: "8-memory",
            case: "idle-task",
            metrics: BYTES,
            run: |rt, w, q| crate::alloc::counting(|| (crate::dispatch!(idle_tasks))(rt, w, q)),
        },
        Case {
            workload: "8-memory",
            case: "idle-conn",
            metrics: BYTES,
            run: |rt, w, q| crate::alloc::counting(|| (crate::dispatch!(idle_conns))(rt, w, q)),
        },
    ]
}

fn live() -> Option<f64> {
    crate::alloc::live().map(|b| b as f64)
}

fn idle_tasks<R: Rt>(w: usize, quick: bool) -> Option<Vec<f64>> {
    let n = if quick { 10_000 } else { 100_000 };
    let rt = R::build(w);
    let (latch, rx) = Latch::new(n);
    let mut hs = Vec::with_capacity(n);
    let before = live()?;
    let after = rt.block_on(async {
        for _ in 0..n {
            let l = latch.clone();
            hs.push(R::spawn(async move {
                l.done();
                std::future::pending::<()>().await
            }));
        }
        rx.await.expect("every task ran");
        live()
    })?;
    let per = (after - before) / n as f64;
    drop(hs);
    drop(rt);
    Some(vec![per])
}

fn idle_conns<R: Rt>(w: usize, quick: bool) -> Option<Vec<f64>> {
    if !R::NET {
        return None;
    }
    let n = if quick { 500 } else { 5_000 };
    let rt = R::build(w);
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).ok()?;
    sock.bind(&std::net::SocketAddr::from(([127, 0, 0, 1], 0)).into())
        .ok()?;
    sock.listen(1024).ok()?;
    let l: std::net::TcpListener = sock.into();
    let addr = l.local_addr().ok()?;
    let (latch, rx) = Latch::new(n);
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let mut clients = Vec::with_capacity(n);
    let before = live()?;
    let after = std::thread::scope(|s| {
        s.spawn(move || {
            for _ in 0..n {
                clients.push(std::net::TcpStream::connect(addr).expect("connect"));
            }
            let _ = done_rx.recv();
            drop(clients);
        });
        rt.block_on(async {
            let server = R::spawn(R::serve_idle(l, latch));
            rx.await.expect("every connection accepted");
            // Let the last tasks reach `read` and park.
            R::sleep(Duration::from_millis(50)).await;
            let after = live();
            let _ = done_tx.send(());
            drop(server);
            after
        })
    })?;
    drop(rt);
    Some(vec![(after - before) / n as f64])
}
