//! A tiny HTTP/1.1 "hello" server with keep-alive, loadable with curl, wrk or ab.
//!
//! Run: `cargo run --release --example http_hello -- 127.0.0.1:8080`
//! then `curl -v http://127.0.0.1:8080/` or `wrk -c 64 -d 10 http://127.0.0.1:8080/`.
//!
//! `cargo run --example http_hello -- --self-test` serves on an ephemeral
//! port, sends 200 keep-alive requests over 4 connections with its own
//! client, checks every response, and exits (CI runs this).

// The example needs the reactor (`tempo::net`), which the model-checking
// builds (`--features loom` / `shuttle`) leave out; there it compiles to a
// `main` that says so.
#[cfg(not(any(feature = "loom", feature = "shuttle")))]
mod app {
    use futures::io::{AsyncReadExt, AsyncWriteExt};
    use std::io;
    use tempo::net::{TcpListener, TcpStream};

    const BODY: &str = "Hello, world!\n";

    /// Finds the end of the request head (`\r\n\r\n`), if it is complete.
    fn head_end(buf: &[u8]) -> Option<usize> {
        buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
    }

    /// Serves requests on one connection until the client closes it or asks to.
    async fn serve(mut s: TcpStream) -> io::Result<()> {
        s.set_nodelay(true)?;
        let mut buf = Vec::with_capacity(4096);
        let mut chunk = [0u8; 4096];
        loop {
            // Read until a full request head is buffered (no request bodies here).
            let end = loop {
                if let Some(e) = head_end(&buf) {
                    break e;
                }
                if buf.len() > 64 * 1024 {
                    s.write_all(b"HTTP/1.1 431 Request Header Fields Too Large\r\nconnection: close\r\ncontent-length: 0\r\n\r\n")
                        .await?;
                    return Ok(());
                }
                let n = s.read(&mut chunk).await?;
                if n == 0 {
                    return Ok(()); // client closed
                }
                buf.extend_from_slice(&chunk[..n]);
            };
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let close = head.contains("connection: close")
                || head.starts_with("get / http/1.0") && !head.contains("keep-alive");
            let ok = head.starts_with("get ") || head.starts_with("head ");
            let resp = if ok {
                format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: {}\r\n{}\r\n{}",
                    BODY.len(),
                    if close { "connection: close\r\n" } else { "" },
                    if head.starts_with("head ") { "" } else { BODY }
                )
            } else {
                "HTTP/1.1 405 Method Not Allowed\r\nallow: GET, HEAD\r\ncontent-length: 0\r\n\r\n"
                    .to_string()
            };
            s.write_all(resp.as_bytes()).await?;
            buf.drain(..end);
            if close {
                return Ok(());
            }
        }
    }

    async fn accept_loop(listener: TcpListener) {
        loop {
            match listener.accept().await {
                Ok((s, _)) => {
                    tempo::spawn(async move {
                        let _ = serve(s).await;
                    });
                }
                Err(e) => eprintln!("accept: {e}"), // e.g. EMFILE; keep serving
            }
        }
    }

    /// The `--self-test` client: `requests` keep-alive GETs on one connection.
    async fn client(addr: std::net::SocketAddr, requests: usize) -> io::Result<()> {
        let mut s = TcpStream::connect(addr).await?;
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        for _ in 0..requests {
            s.write_all(b"GET / HTTP/1.1\r\nhost: localhost\r\n\r\n")
                .await?;
            let end = loop {
                if let Some(e) = head_end(&buf) {
                    let need = e + BODY.len();
                    if buf.len() >= need {
                        break e;
                    }
                }
                let n = s.read(&mut chunk).await?;
                if n == 0 {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "server closed early",
                    ));
                }
                buf.extend_from_slice(&chunk[..n]);
            };
            let head = String::from_utf8_lossy(&buf[..end]).to_string();
            assert!(
                head.starts_with("HTTP/1.1 200 OK\r\n"),
                "bad response head: {head}"
            );
            assert_eq!(&buf[end..end + BODY.len()], BODY.as_bytes());
            buf.drain(..end + BODY.len());
        }
        Ok(())
    }

    pub fn main() -> io::Result<()> {
        let arg = std::env::args()
            .nth(1)
            .unwrap_or_else(|| "127.0.0.1:8080".into());
        let rt = tempo::Runtime::new()?;
        if arg == "--self-test" {
            return rt.block_on(async {
                let listener = TcpListener::bind("127.0.0.1:0").await?;
                let addr = listener.local_addr()?;
                let server = tempo::spawn(accept_loop(listener));
                let clients: Vec<_> = (0..4).map(|_| tempo::spawn(client(addr, 50))).collect();
                for c in clients {
                    c.await.expect("client panicked")?;
                }
                server.abort();
                println!("http_hello self-test: 200 keep-alive requests over 4 connections answered correctly");
                Ok(())
            });
        }
        rt.block_on(async {
            let listener = TcpListener::bind(arg.as_str()).await?;
            println!("http_hello listening on http://{}/", listener.local_addr()?);
            accept_loop(listener).await;
            Ok(())
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
