//! The main job: an echo server and 100 clients in one process, on one
//! tempo runtime. Each client sends 1,000 messages of 64 bytes and checks
//! every echo; the program prints the throughput and round-trip percentiles.
//!
//! Run: `cargo run --release --example echo`
//! (For a server that runs until killed, see `echo_server.rs`.)

// The example needs the reactor (`tempo::net`), which the model-checking
// builds (`--features loom` / `shuttle`) leave out; there it compiles to a
// `main` that says so.
#[cfg(not(any(feature = "loom", feature = "shuttle")))]
mod app {
    use futures::io::{AsyncReadExt, AsyncWriteExt};
    use std::time::{Duration, Instant};
    use tempo::net::{TcpListener, TcpStream};

    const CLIENTS: usize = 100;
    const MESSAGES: usize = 1000;
    const SIZE: usize = 64;

    async fn serve(listener: TcpListener) {
        loop {
            let Ok((mut s, _)) = listener.accept().await else {
                continue;
            };
            tempo::spawn(async move {
                let _ = s.set_nodelay(true);
                let mut buf = [0u8; 4096];
                while let Ok(n) = s.read(&mut buf).await {
                    if n == 0 || s.write_all(&buf[..n]).await.is_err() {
                        return;
                    }
                }
            });
        }
    }

    async fn client(addr: std::net::SocketAddr, id: usize) -> std::io::Result<Vec<Duration>> {
        let mut s = TcpStream::connect(addr).await?;
        s.set_nodelay(true)?;
        let mut rtts = Vec::with_capacity(MESSAGES);
        let mut back = [0u8; SIZE];
        for i in 0..MESSAGES {
            let msg = [(id + i) as u8; SIZE];
            let t = Instant::now();
            s.write_all(&msg).await?;
            s.read_exact(&mut back).await?;
            rtts.push(t.elapsed());
            assert_eq!(back, msg, "client {id}: echo {i} differs");
        }
        Ok(rtts)
    }

    pub fn main() -> std::io::Result<()> {
        let rt = tempo::Runtime::new()?;
        let workers = rt.handle().worker_threads();
        let (mut rtts, secs) = rt.block_on(async {
            let listener = TcpListener::bind("127.0.0.1:0").await?;
            let addr = listener.local_addr()?;
            println!("echo server on {addr} ({workers} worker threads); {CLIENTS} clients x {MESSAGES} x {SIZE} B");
            let server = tempo::spawn(serve(listener));
            let t0 = Instant::now();
            let clients: Vec<_> = (0..CLIENTS).map(|id| tempo::spawn(client(addr, id))).collect();
            let mut all = Vec::with_capacity(CLIENTS * MESSAGES);
            for c in clients {
                all.extend(c.await.expect("client panicked")?);
            }
            let secs = t0.elapsed().as_secs_f64();
            server.abort();
            std::io::Result::Ok((all, secs))
        })?;
        rtts.sort();
        let pct = |p: f64| rtts[((rtts.len() - 1) as f64 * p) as usize];
        println!(
            "{} round trips in {secs:.2} s: {:.0} round trips/s; p50 {:?}, p99 {:?}, max {:?}; every echo checked",
            rtts.len(),
            rtts.len() as f64 / secs,
            pct(0.5),
            pct(0.99),
            rtts[rtts.len() - 1]
        );
        Ok(())
    }
}

#[cfg(not(any(feature = "loom", feature = "shuttle")))]
fn main() -> std::io::Result<()> {
    app::main()
}

#[cfg(any(feature = "loom", feature = "shuttle"))]
fn main() {
    eprintln!("this example needs tempo::net, which --features loom/shuttle builds leave out");
}
