//! An echo load generator: `connections` clients, each sending `messages`
//! messages of `size` bytes and waiting for each echo (closed loop).
//!
//! Run: `cargo run --release --example echo_client -- ADDR [connections] [messages] [size]`
//! (defaults: `127.0.0.1:7000 64 1000 64`) against `examples/echo_server.rs`.

// The example needs the reactor (`tempo::net`), which the model-checking
// builds (`--features loom` / `shuttle`) leave out; there it compiles to a
// `main` that says so.
#[cfg(not(any(feature = "loom", feature = "shuttle")))]
mod app {
    use futures::io::{AsyncReadExt, AsyncWriteExt};
    use std::time::{Duration, Instant};
    use tempo::net::TcpStream;

    async fn client(addr: String, messages: usize, size: usize) -> std::io::Result<Vec<Duration>> {
        let mut s = TcpStream::connect(addr.as_str()).await?;
        s.set_nodelay(true)?;
        let msg = vec![0x5au8; size];
        let mut back = vec![0u8; size];
        let mut rtts = Vec::with_capacity(messages);
        for _ in 0..messages {
            let t = Instant::now();
            s.write_all(&msg).await?;
            s.read_exact(&mut back).await?;
            rtts.push(t.elapsed());
            assert_eq!(back, msg, "the echo differs from what was sent");
        }
        Ok(rtts)
    }

    fn arg(i: usize, default: usize) -> usize {
        std::env::args()
            .nth(i)
            .map_or(default, |a| a.parse().expect("a number"))
    }

    pub fn main() -> std::io::Result<()> {
        let addr = std::env::args()
            .nth(1)
            .unwrap_or_else(|| "127.0.0.1:7000".into());
        let (conns, messages, size) = (arg(2, 64), arg(3, 1000), arg(4, 64));
        let rt = tempo::Runtime::new()?;
        let t0 = Instant::now();
        let mut all = rt.block_on(async {
            let hs: Vec<_> = (0..conns)
                .map(|_| tempo::spawn(client(addr.clone(), messages, size)))
                .collect();
            let mut all = Vec::new();
            for h in hs {
                all.extend(h.await.expect("client task panicked")?);
            }
            std::io::Result::Ok(all)
        })?;
        let secs = t0.elapsed().as_secs_f64();
        all.sort();
        let pct = |p: f64| all[((all.len() - 1) as f64 * p) as usize];
        println!(
            "{conns} connections x {messages} messages x {size} B: {:.0} round trips/s, {:.1} MB/s each way, p50 {:?}, p99 {:?}",
            all.len() as f64 / secs,
            (all.len() * size) as f64 / secs / 1e6,
            pct(0.50),
            pct(0.99)
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
