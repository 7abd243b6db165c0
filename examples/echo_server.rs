//! An echo server: every byte a client sends comes back.
//!
//! Run: `cargo run --release --example echo_server -- 127.0.0.1:7000`
//! (default address `127.0.0.1:7000`), then load it with
//! `cargo run --release --example echo_client -- 127.0.0.1:7000`.

// The example needs the reactor (`tempo::net`), which the model-checking
// builds (`--features loom` / `shuttle`) leave out; there it compiles to a
// `main` that says so.
#[cfg(not(any(feature = "loom", feature = "shuttle")))]
mod app {
    use futures::io::{AsyncReadExt, AsyncWriteExt};
    use tempo::net::{TcpListener, TcpStream};

    /// Echoes until EOF or an error; returns the bytes echoed.
    async fn echo(mut s: TcpStream) -> std::io::Result<u64> {
        s.set_nodelay(true)?;
        let mut buf = vec![0u8; 16 * 1024];
        let mut total = 0;
        loop {
            let n = s.read(&mut buf).await?;
            if n == 0 {
                return Ok(total); // the client closed its side
            }
            s.write_all(&buf[..n]).await?;
            total += n as u64;
        }
    }

    pub fn main() -> std::io::Result<()> {
        let addr = std::env::args()
            .nth(1)
            .unwrap_or_else(|| "127.0.0.1:7000".into());
        let rt = tempo::Runtime::new()?;
        rt.block_on(async {
            let listener = TcpListener::bind(addr.as_str()).await?;
            println!("echo server listening on {}", listener.local_addr()?);
            loop {
                match listener.accept().await {
                    Ok((s, peer)) => {
                        tempo::spawn(async move {
                            if let Err(e) = echo(s).await {
                                eprintln!("{peer}: {e}");
                            }
                        });
                    }
                    // E.g. EMFILE: report it and keep serving.
                    Err(e) => eprintln!("accept: {e}"),
                }
            }
        })
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
