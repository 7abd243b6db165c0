//! TCP echo benchmark: tempo vs tokio and async-executor (vs a hand-written
//! mio loop), measured in one process run with one fixed load generator.
//!
//! ```sh
//! cargo run --release -p tempo-benches --bin echo -- [--quick] [--reps N]
//! ```
//!
//! # What is measured
//! * The **server** runs on the runtime under test: an accept loop that spawns
//!   one task per connection; each task `read`s into a 4 KiB buffer and
//!   `write_all`s what it read back, until EOF. The servers are:
//!   `tempo-mt` (tempo, `worker_threads = --workers`), `tempo-ct` (tempo,
//!   `worker_threads(0)`, driven by `block_on` on a dedicated thread),
//!   `tokio-mt` (tokio multi-thread, same worker count), `tokio-ct` (tokio
//!   current-thread on a dedicated thread), `smol-mt` (the smol stack: an `async_executor::Executor`
//!   run by `--workers` std threads, each `futures_lite::future::block_on(ex.run(..))`,
//!   with `async_io::Async` sockets, so async-io's own reactor thread polls
//!   epoll), `mio` (a single-threaded, edge-triggered epoll loop written by
//!   hand: the floor for the syscall cost of an echo).
//! * The **client** is the same for every server and is none of the runtimes
//!   under test: `--client-threads` (default 1) plain std threads, each running
//!   its own mio (epoll, edge-triggered) loop over its share of the
//!   connections. Every connection is a closed loop: send a request of
//!   `size` bytes, wait for the whole echo (checked byte for byte), record the
//!   round-trip time with `Instant`, send the next one.
//! * Per run: connect all connections, warm up (`min(rt, 20)` round trips per
//!   connection, unmeasured), then all client threads start at a barrier;
//!   throughput = measured round trips / (last connection done − start).
//!   Latency percentiles come from all samples of the run (sorted `Vec`).
//!   CPU: `getrusage` of the process over the measured window, minus the
//!   client threads' own `RUSAGE_THREAD` time = the server's CPU (plus an
//!   idle main thread).
//! * Each (config, server) is measured `--reps` times (servers interleaved,
//!   their order rotated each rep); the table shows the median of each metric.
//! * Output: the Markdown table is printed and written to `results/echo.md`;
//!   the same runs go to `results/echo.tsv` (next to the `.md`, in the format
//!   of `tempo_benches::record`: workload `7-echo`, case `{conns}x{size}`,
//!   metrics `rate`, `p50`, `p99`, `p999`, `cpu`, every rep's value) for
//!   `bin/report`. `--no-write` writes neither.
//!
//! Linux only (epoll, `/proc`, `RUSAGE_THREAD`).

use std::fmt::Write as _;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener as StdListener};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};
use tempo_benches::record::{machine_meta, Better, Row};

/// Per-connection read buffer of every server.
const SERVER_BUF: usize = 4096;
/// Listen backlog of the shared listening socket (all servers).
const BACKLOG: i32 = 1024;
/// Warm-up round trips per connection (unmeasured), capped by the config's count.
const WARMUP_RTS: u32 = 20;
/// A client loop that sees no event for this long reports the server as stalled.
const STALL: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ServerKind {
    TempoMt,
    TempoCt,
    TokioMt,
    TokioCt,
    SmolMt,
    Mio,
}

impl ServerKind {
    const ALL: [ServerKind; 6] = [
        ServerKind::TempoMt,
        ServerKind::TempoCt,
        ServerKind::TokioMt,
        ServerKind::TokioCt,
        ServerKind::SmolMt,
        ServerKind::Mio,
    ];

    fn name(self) -> &'static str {
        match self {
            ServerKind::TempoMt => "tempo-mt",
            ServerKind::TempoCt => "tempo-ct",
            ServerKind::TokioMt => "tokio-mt",
            ServerKind::TokioCt => "tokio-ct",
            ServerKind::SmolMt => "smol-mt",
            ServerKind::Mio => "mio",
        }
    }

    fn parse(s: &str) -> Option<ServerKind> {
        ServerKind::ALL.into_iter().find(|k| k.name() == s)
    }
}

#[derive(Clone, Copy, Debug)]
struct Config {
    conns: usize,
    rts: u32,
    size: usize,
}

impl Config {
    fn label(&self) -> String {
        let size = if self.size & 1023 == 0 {
            format!("{} KiB", self.size / 1024)
        } else {
            format!("{} B", self.size)
        };
        format!("{} conn × {} rt × {}", self.conns, self.rts, size)
    }
}

struct Opts {
    quick: bool,
    reps: usize,
    workers: usize,
    client_threads: usize,
    round_trips: Option<u32>,
    servers: Vec<ServerKind>,
    configs: Option<Vec<usize>>,
    out: Option<PathBuf>,
}

const USAGE: &str = "\
usage: echo [--quick] [--reps N] [--workers N] [--client-threads N] [--round-trips N]
            [--servers tempo-mt,tempo-ct,tokio-mt,tokio-ct,smol-mt,mio] [--configs 1,2,3,4]
            [--out PATH | --no-write]

  --quick            1000-connection configs: 100 round trips per connection instead of 1000
  --reps N           measurements per (config, server); the median is reported (default 3)
  --workers N        worker threads of tempo-mt, tokio-mt and smol-mt (default: available cores)
  --client-threads N threads of the load generator (default 1)
  --round-trips N    round trips per connection for every config (overrides --quick)
  --servers LIST     which servers to run (default: all five)
  --configs LIST     which configs to run, 1-based (default: all four)
  --out PATH         where to write the Markdown report (default: benches/results/echo.md);
                     the TSV rows go next to it, with the extension .tsv
  --no-write         print only (write neither file)";

fn parse_opts() -> Result<Opts, String> {
    let cores = thread::available_parallelism().map_or(1, |n| n.get());
    let mut o = Opts {
        quick: false,
        reps: 3,
        workers: cores,
        client_threads: 1,
        round_trips: None,
        servers: ServerKind::ALL.to_vec(),
        configs: None,
        out: Some(PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/results/echo.md"
        ))),
    };
    let mut args = std::env::args().skip(1);
    fn num<T: std::str::FromStr>(flag: &str, v: Option<String>) -> Result<T, String> {
        v.as_deref()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("{flag} needs a number"))
    }
    while let Some(a) = args.next() {
        match a.as_str() {
            "--quick" => o.quick = true,
            "--reps" => o.reps = num::<usize>(&a, args.next())?.max(1),
            "--workers" => o.workers = num::<usize>(&a, args.next())?.max(1),
            "--client-threads" => o.client_threads = num::<usize>(&a, args.next())?.max(1),
            "--round-trips" => o.round_trips = Some(num::<u32>(&a, args.next())?.max(1)),
            "--servers" => {
                let v = args.next().ok_or("--servers needs a list")?;
                o.servers = v
                    .split(',')
                    .map(|s| ServerKind::parse(s.trim()).ok_or(format!("unknown server {s:?}")))
                    .collect::<Result<_, _>>()?;
            }
            "--configs" => {
                let v = args.next().ok_or("--configs needs a list")?;
                o.configs = Some(
                    v.split(',')
                        .map(|s| match s.trim().parse::<usize>() {
                            Ok(i @ 1..=4) => Ok(i - 1),
                            _ => Err(format!("configs are 1..=4, got {s:?}")),
                        })
                        .collect::<Result<_, _>>()?,
                );
            }
            "--out" => o.out = Some(PathBuf::from(args.next().ok_or("--out needs a path")?)),
            "--no-write" => o.out = None,
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(o)
}

fn configs(o: &Opts) -> Vec<Config> {
    // `--quick` scales only the 1000-connection configs (1000 -> 100 round trips
    // per connection), so every config does 64k-100k round trips per run.
    let many = o.round_trips.unwrap_or(if o.quick { 100 } else { 1000 });
    let few = o.round_trips.unwrap_or(1000);
    let all = [
        Config {
            conns: 64,
            rts: few,
            size: 64,
        },
        Config {
            conns: 64,
            rts: few,
            size: 1024,
        },
        Config {
            conns: 1000,
            rts: many,
            size: 64,
        },
        Config {
            conns: 1000,
            rts: many,
            size: 1024,
        },
    ];
    match &o.configs {
        None => all.to_vec(),
        Some(ix) => ix.iter().map(|&i| all[i]).collect(),
    }
}

// ---------------------------------------------------------------------------
// Servers
// ---------------------------------------------------------------------------

/// The listening socket every server is handed (same options for all).
fn listener() -> io::Result<StdListener> {
    use socket2::{Domain, Socket, Type};
    let s = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    s.set_reuse_address(true)?;
    let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
    s.bind(&addr.into())?;
    s.listen(BACKLOG)?;
    s.set_nonblocking(true)?;
    Ok(s.into())
}

/// A running server: its address and how to stop it.
struct Server {
    addr: SocketAddr,
    stop: Box<dyn FnOnce()>,
}

fn start_server(kind: ServerKind, workers: usize) -> io::Result<Server> {
    let l = listener()?;
    let addr = l.local_addr()?;
    let stop: Box<dyn FnOnce()> = match kind {
        ServerKind::TempoMt => {
            let rt = tempo::Runtime::builder()
                .worker_threads(workers)
                .thread_name("tempo-srv")
                .build()?;
            rt.spawn(tempo_serve(l));
            Box::new(move || rt.shutdown_timeout(Duration::from_secs(5)))
        }
        ServerKind::TempoCt => {
            // The same shape as `tokio-ct`: one dedicated thread whose
            // `block_on` is the runtime's only worker (`worker_threads(0)`),
            // running the accept loop as the `block_on` future.
            let (tx, rx) = futures::channel::oneshot::channel::<()>();
            let th = thread::Builder::new()
                .name("tempo-ct-srv".into())
                .spawn(move || {
                    let rt = tempo::Runtime::builder()
                        .worker_threads(0)
                        .build()
                        .expect("tempo worker_threads(0) runtime");
                    rt.block_on(async move {
                        let serve = std::pin::pin!(tempo_serve(l));
                        let _ = futures::future::select(serve, rx).await;
                    });
                    // Dropping `rt` drops the connection tasks.
                })?;
            Box::new(move || {
                let _ = tx.send(());
                let _ = th.join();
            })
        }
        ServerKind::TokioMt => {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(workers)
                .thread_name("tokio-srv")
                .enable_all()
                .build()?;
            rt.spawn(tokio_serve(l));
            Box::new(move || rt.shutdown_timeout(Duration::from_secs(5)))
        }
        ServerKind::TokioCt => {
            let (tx, rx) = tokio::sync::oneshot::channel::<()>();
            let th = thread::Builder::new()
                .name("tokio-ct-srv".into())
                .spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .expect("tokio current-thread runtime");
                    rt.block_on(async move {
                        tokio::select! {
                            _ = tokio_serve(l) => {}
                            _ = rx => {}
                        }
                    });
                    // Dropping `rt` drops the connection tasks.
                })?;
            Box::new(move || {
                let _ = tx.send(());
                let _ = th.join();
            })
        }
        ServerKind::SmolMt => {
            let ex = Arc::new(async_executor::Executor::<'static>::new());
            let l = async_io::Async::new(l)?;
            // The accept loop holds only a `Weak`: the executor (and with it
            // the accept task, its listener and every connection task) is
            // dropped by `stop` once the worker threads are joined.
            ex.spawn(smol_serve(l, Arc::downgrade(&ex))).detach();
            // Dropping `tx` resolves every worker's `rx`, ending its `run`.
            let (tx, rx) = futures::channel::oneshot::channel::<()>();
            let rx = futures::future::FutureExt::shared(rx);
            let mut threads = Vec::with_capacity(workers);
            for i in 0..workers {
                let ex = ex.clone();
                let rx = rx.clone();
                let th = thread::Builder::new()
                    .name(format!("smol-srv-{i}"))
                    .spawn(move || {
                        let _ = futures_lite::future::block_on(ex.run(rx));
                    });
                match th {
                    Ok(th) => threads.push(th),
                    Err(e) => {
                        drop(tx);
                        for th in threads {
                            let _ = th.join();
                        }
                        return Err(e);
                    }
                }
            }
            Box::new(move || {
                drop(tx);
                for th in threads {
                    if th.join().is_err() {
                        eprintln!("smol server thread panicked");
                    }
                }
                // The last strong reference: dropping the executor drops the
                // accept task (closing the listener) and the connection tasks.
                drop(ex);
            })
        }
        ServerKind::Mio => {
            let poll = mio::Poll::new()?;
            let waker = Arc::new(mio::Waker::new(poll.registry(), MIO_WAKE)?);
            let stopped = Arc::new(AtomicBool::new(false));
            let s2 = stopped.clone();
            let th = thread::Builder::new()
                .name("mio-srv".into())
                .spawn(move || mio_serve(poll, l, &s2))?;
            Box::new(move || {
                stopped.store(true, Ordering::SeqCst);
                let _ = waker.wake();
                match th.join() {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => eprintln!("mio server: {e}"),
                    Err(_) => eprintln!("mio server panicked"),
                }
            })
        }
    };
    Ok(Server { addr, stop })
}

async fn tempo_serve(l: StdListener) {
    let l = tempo::net::TcpListener::from_std(l).expect("tempo listener");
    loop {
        match l.accept().await {
            Ok((s, _)) => {
                let _ = s.set_nodelay(true);
                tempo::spawn(async move {
                    let _ = tempo_conn(s).await;
                });
            }
            Err(e) => {
                eprintln!("tempo accept: {e}");
                tempo::time::sleep(Duration::from_millis(1)).await;
            }
        }
    }
}

async fn tempo_conn(mut s: tempo::net::TcpStream) -> io::Result<()> {
    use futures::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = vec![0u8; SERVER_BUF];
    loop {
        let n = s.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        s.write_all(&buf[..n]).await?;
    }
}

async fn tokio_serve(l: StdListener) {
    let l = tokio::net::TcpListener::from_std(l).expect("tokio listener");
    loop {
        match l.accept().await {
            Ok((s, _)) => {
                let _ = s.set_nodelay(true);
                tokio::spawn(async move {
                    let _ = tokio_conn(s).await;
                });
            }
            Err(e) => {
                eprintln!("tokio accept: {e}");
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
    }
}

async fn tokio_conn(mut s: tokio::net::TcpStream) -> io::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = vec![0u8; SERVER_BUF];
    loop {
        let n = s.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        s.write_all(&buf[..n]).await?;
    }
}

async fn smol_serve(
    l: async_io::Async<StdListener>,
    ex: std::sync::Weak<async_executor::Executor<'static>>,
) {
    loop {
        match l.accept().await {
            Ok((s, _)) => {
                let _ = s.get_ref().set_nodelay(true);
                let Some(ex) = ex.upgrade() else { return };
                ex.spawn(async move {
                    let _ = smol_conn(s).await;
                })
                .detach();
            }
            Err(e) => {
                eprintln!("smol accept: {e}");
                async_io::Timer::after(Duration::from_millis(1)).await;
            }
        }
    }
}

async fn smol_conn(mut s: async_io::Async<std::net::TcpStream>) -> io::Result<()> {
    use futures::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = vec![0u8; SERVER_BUF];
    loop {
        let n = s.read(&mut buf).await?;
        if n == 0 {
            return Ok(());
        }
        s.write_all(&buf[..n]).await?;
    }
}

const MIO_LISTENER: mio::Token = mio::Token(usize::MAX - 1);
const MIO_WAKE: mio::Token = mio::Token(usize::MAX - 2);

struct MioConn {
    s: mio::net::TcpStream,
    /// Echo bytes not yet written (the socket's send buffer was full).
    out: Vec<u8>,
    off: usize,
}

/// The floor: one thread, one epoll set, edge-triggered, no tasks, no wakers.
/// A short read (fewer bytes than the buffer) means the socket is drained, so
/// it waits for the next edge instead of reading again into `EAGAIN` (the
/// same shortcut tokio takes on epoll).
fn mio_serve(mut poll: mio::Poll, l: StdListener, stopped: &AtomicBool) -> io::Result<()> {
    use mio::{Interest, Token};
    let mut l = mio::net::TcpListener::from_std(l);
    poll.registry()
        .register(&mut l, MIO_LISTENER, Interest::READABLE)?;
    let mut conns: Vec<Option<MioConn>> = Vec::new();
    let mut free: Vec<usize> = Vec::new();
    let mut buf = vec![0u8; SERVER_BUF];
    let mut events = mio::Events::with_capacity(1024);
    loop {
        match poll.poll(&mut events, None) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
        for ev in events.iter() {
            match ev.token() {
                MIO_WAKE => {
                    if stopped.load(Ordering::SeqCst) {
                        return Ok(());
                    }
                }
                MIO_LISTENER => loop {
                    match l.accept() {
                        Ok((mut s, _)) => {
                            let _ = s.set_nodelay(true);
                            let i = free.pop().unwrap_or_else(|| {
                                conns.push(None);
                                conns.len() - 1
                            });
                            poll.registry().register(
                                &mut s,
                                Token(i),
                                Interest::READABLE | Interest::WRITABLE,
                            )?;
                            conns[i] = Some(MioConn {
                                s,
                                out: Vec::new(),
                                off: 0,
                            });
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Err(e) => {
                            eprintln!("mio accept: {e}");
                            break;
                        }
                    }
                },
                Token(i) => {
                    let Some(c) = conns.get_mut(i).and_then(|c| c.as_mut()) else {
                        continue;
                    };
                    if !mio_drive(c, &mut buf) {
                        let mut c = conns[i].take().unwrap();
                        let _ = poll.registry().deregister(&mut c.s);
                        free.push(i);
                    }
                }
            }
        }
    }
}

/// Echoes what is readable; `false` when the connection is finished.
fn mio_drive(c: &mut MioConn, buf: &mut [u8]) -> bool {
    loop {
        while c.off < c.out.len() {
            match c.s.write(&c.out[c.off..]) {
                Ok(0) => return false,
                Ok(n) => c.off += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return false,
            }
        }
        c.out.clear();
        c.off = 0;
        let n = match c.s.read(buf) {
            Ok(0) => return false,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return false,
        };
        match c.s.write(&buf[..n]) {
            Ok(0) => return false,
            Ok(m) => c.out.extend_from_slice(&buf[m..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => c.out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => c.out.extend_from_slice(&buf[..n]),
            Err(_) => return false,
        }
        if n < buf.len() && c.out.is_empty() {
            return true; // drained (short read) and all echoed: wait for the next edge
        }
    }
}

// ---------------------------------------------------------------------------
// Client (the same for every server)
// ---------------------------------------------------------------------------

struct ClientConn {
    s: mio::net::TcpStream,
    /// Bytes of the current request written.
    sent: usize,
    /// Bytes of the current echo received.
    recvd: usize,
    /// When the current request's first byte was handed to the kernel.
    start: Instant,
    /// Round trips left in this phase.
    left: u32,
}

enum Drive {
    Pending,
    Done,
}

/// Advances one connection's closed loop as far as the socket allows.
/// Edge-triggered: it returns only after `EAGAIN`, a short read (the receive
/// queue is drained; the next byte raises a new edge), or a completed write
/// (the echo of it can only arrive later, with its own edge).
fn client_drive(
    c: &mut ClientConn,
    req: &[u8],
    scratch: &mut [u8],
    samples: &mut Option<&mut Vec<u64>>,
) -> io::Result<Drive> {
    let size = req.len();
    loop {
        if c.sent < size {
            match c.s.write(&req[c.sent..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    c.sent += n;
                    if c.sent == size {
                        return Ok(Drive::Pending);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Drive::Pending),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
            continue;
        }
        let want = size - c.recvd;
        match c.s.read(&mut scratch[..want]) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "server closed the connection",
                ))
            }
            Ok(n) => {
                if scratch[..n] != req[c.recvd..c.recvd + n] {
                    return Err(io::Error::new(io::ErrorKind::InvalidData, "echo differs"));
                }
                c.recvd += n;
                if c.recvd < size {
                    return Ok(Drive::Pending); // short read: drained
                }
                let now = Instant::now();
                if let Some(v) = samples.as_deref_mut() {
                    v.push((now - c.start).as_nanos() as u64);
                }
                c.left -= 1;
                if c.left == 0 {
                    return Ok(Drive::Done);
                }
                c.start = now;
                c.sent = 0;
                c.recvd = 0;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Drive::Pending),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// One phase: every connection does `rts` round trips.
fn client_phase(
    poll: &mut mio::Poll,
    events: &mut mio::Events,
    conns: &mut [ClientConn],
    req: &[u8],
    rts: u32,
    mut samples: Option<&mut Vec<u64>>,
) -> io::Result<()> {
    let mut scratch = vec![0u8; req.len()];
    let mut active = 0;
    let now = Instant::now();
    for c in conns.iter_mut() {
        c.left = rts;
        c.sent = 0;
        c.recvd = 0;
        c.start = now;
        active += 1;
        if let Drive::Done = client_drive(c, req, &mut scratch, &mut samples)? {
            active -= 1;
        }
    }
    while active > 0 {
        match poll.poll(events, Some(STALL)) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
        if events.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("stalled: no event for {STALL:?} with {active} connections waiting"),
            ));
        }
        for ev in events.iter() {
            let c = &mut conns[ev.token().0];
            if c.left == 0 {
                continue;
            }
            if let Drive::Done = client_drive(c, req, &mut scratch, &mut samples)? {
                active -= 1;
            }
        }
    }
    Ok(())
}

struct ClientOut {
    samples: Vec<u64>,
    end: Instant,
    cpu: Duration,
}

fn client_thread(
    addr: SocketAddr,
    n: usize,
    cfg: Config,
    start_line: &Barrier,
) -> io::Result<ClientOut> {
    let mut poll = mio::Poll::new()?;
    let mut events = mio::Events::with_capacity(1024);
    let mut conns = Vec::with_capacity(n);
    let mut failure = None;
    for i in 0..n {
        let r = (|| {
            let s = std::net::TcpStream::connect(addr)?;
            s.set_nodelay(true)?;
            s.set_nonblocking(true)?;
            let mut s = mio::net::TcpStream::from_std(s);
            poll.registry().register(
                &mut s,
                mio::Token(i),
                mio::Interest::READABLE | mio::Interest::WRITABLE,
            )?;
            io::Result::Ok(s)
        })();
        match r {
            Ok(s) => conns.push(ClientConn {
                s,
                sent: 0,
                recvd: 0,
                start: Instant::now(),
                left: 0,
            }),
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    let req: Vec<u8> = (0..cfg.size).map(|i| (i * 7 + 1) as u8).collect();
    let warm = match failure {
        Some(e) => Err(e),
        None => client_phase(
            &mut poll,
            &mut events,
            &mut conns,
            &req,
            cfg.rts.min(WARMUP_RTS),
            None,
        ),
    };
    // Always reach the barrier, so a failure cannot hang the other threads.
    start_line.wait();
    warm?;
    let cpu0 = thread_cpu();
    let mut samples = Vec::with_capacity(n * cfg.rts as usize);
    client_phase(
        &mut poll,
        &mut events,
        &mut conns,
        &req,
        cfg.rts,
        Some(&mut samples),
    )?;
    let end = Instant::now();
    let cpu = thread_cpu() - cpu0;
    Ok(ClientOut { samples, end, cpu })
}

// ---------------------------------------------------------------------------
// Measurement
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug)]
struct Sample {
    rt_per_s: f64,
    p50_us: f64,
    p99_us: f64,
    p999_us: f64,
    /// Server (process minus client threads) CPU per round trip, µs.
    server_cpu_us: f64,
    /// Client CPU per round trip, µs.
    client_cpu_us: f64,
}

fn cpu_of(ru: &libc::rusage) -> Duration {
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

fn rusage(who: libc::c_int) -> Duration {
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `ru` is a valid, writable `rusage`.
    let rc = unsafe { libc::getrusage(who, &mut ru) };
    assert_eq!(rc, 0, "getrusage");
    cpu_of(&ru)
}

fn thread_cpu() -> Duration {
    rusage(libc::RUSAGE_THREAD)
}

fn process_cpu() -> Duration {
    rusage(libc::RUSAGE_SELF)
}

fn pct(sorted: &[u64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1] as f64 / 1000.0
}

fn measure(kind: ServerKind, cfg: Config, o: &Opts) -> Result<Sample, String> {
    let server = start_server(kind, o.workers).map_err(|e| format!("start: {e}"))?;
    let k = o.client_threads.min(cfg.conns).max(1);
    let start_line = Arc::new(Barrier::new(k + 1));
    let mut handles = Vec::new();
    for t in 0..k {
        let n = cfg.conns / k + usize::from(t < cfg.conns % k);
        let b = start_line.clone();
        let addr = server.addr;
        handles.push(
            thread::Builder::new()
                .name(format!("echo-client-{t}"))
                .spawn(move || client_thread(addr, n, cfg, &b))
                .map_err(|e| format!("client thread: {e}"))?,
        );
    }
    start_line.wait();
    let start = Instant::now();
    let cpu0 = process_cpu();
    let mut samples = Vec::with_capacity(cfg.conns * cfg.rts as usize);
    let mut end = start;
    let mut client_cpu = Duration::ZERO;
    let mut err = None;
    for h in handles {
        match h.join() {
            Ok(Ok(out)) => {
                samples.extend_from_slice(&out.samples);
                end = end.max(out.end);
                client_cpu += out.cpu;
            }
            Ok(Err(e)) => err = Some(e.to_string()),
            Err(_) => err = Some("client thread panicked".into()),
        }
    }
    let total_cpu = process_cpu() - cpu0;
    // The client's sockets are closed (their threads ended): stop the server.
    (server.stop)();
    if let Some(e) = err {
        return Err(e);
    }
    let n = samples.len();
    let expected = cfg.conns * cfg.rts as usize;
    if n != expected {
        return Err(format!("{n} samples, expected {expected}"));
    }
    samples.sort_unstable();
    let secs = (end - start).as_secs_f64();
    Ok(Sample {
        rt_per_s: n as f64 / secs,
        p50_us: pct(&samples, 0.50),
        p99_us: pct(&samples, 0.99),
        p999_us: pct(&samples, 0.999),
        server_cpu_us: total_cpu.saturating_sub(client_cpu).as_secs_f64() * 1e6 / n as f64,
        client_cpu_us: client_cpu.as_secs_f64() * 1e6 / n as f64,
    })
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

// ---------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------

fn read_to_string(p: &str) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

fn cpu_model() -> String {
    read_to_string("/proc/cpuinfo")
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or("unknown".into(), |(_, m)| m.trim().to_string())
}

/// CPU time the whole machine spent busy (all cores; `/proc/stat`, without
/// idle and iowait), to tell how much other processes disturbed a run.
fn machine_busy() -> Option<Duration> {
    let stat = read_to_string("/proc/stat");
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let f: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is inside user)
    let busy = f.first()? + f.get(1)? + f.get(2)? + f.get(5)? + f.get(6)?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    (hz > 0).then(|| Duration::from_secs_f64(busy as f64 / hz as f64))
}

fn loadavg() -> String {
    read_to_string("/proc/loadavg")
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

fn command_output(cmd: &str, args: &[&str]) -> Option<String> {
    let out = std::process::Command::new(cmd).args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// Versions of `names` from the workspace's Cargo.lock.
fn lock_versions(names: &[&str]) -> Vec<(String, String)> {
    let lock = read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.lock"));
    let mut found = Vec::new();
    for block in lock.split("[[package]]") {
        let field = |k: &str| {
            block.lines().find_map(|l| {
                l.strip_prefix(k)
                    .and_then(|r| r.trim().strip_prefix('='))
                    .map(|v| v.trim().trim_matches('"').to_string())
            })
        };
        if let (Some(n), Some(v)) = (field("name "), field("version ")) {
            if names.contains(&n.as_str()) {
                found.push((n, v));
            }
        }
    }
    found.sort();
    found
}

fn header(o: &Opts, argv: &str) -> String {
    let mut h = String::new();
    let nproc = thread::available_parallelism().map_or(0, |n| n.get());
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let git = command_output("git", &["-C", root, "rev-parse", "--short", "HEAD"])
        .unwrap_or_else(|| "unknown".into());
    let dirty = command_output("git", &["-C", root, "status", "--porcelain", "--", "src"])
        .is_some_and(|s| !s.is_empty());
    let versions = lock_versions(&[
        "tempo",
        "tokio",
        "async-executor",
        "async-io",
        "mio",
        "futures",
    ])
    .into_iter()
    .map(|(n, v)| format!("{n} {v}"))
    .collect::<Vec<_>>()
    .join(", ");
    let _ = writeln!(h, "# TCP echo: tempo vs tokio and async-executor\n");
    let _ = writeln!(
        h,
        "Command: `cargo run --release -p tempo-benches --bin echo --{argv}`\n"
    );
    let _ = writeln!(
        h,
        "* machine: nproc = {nproc}, kernel {}, CPU {}",
        read_to_string("/proc/sys/kernel/osrelease").trim(),
        cpu_model()
    );
    let _ = writeln!(
        h,
        "* crates (Cargo.lock): {versions}; tempo at git {git}{}",
        if dirty {
            " + uncommitted changes in src/"
        } else {
            ""
        }
    );
    let _ = writeln!(
        h,
        "* rustc: {}",
        command_output("rustc", &["--version"]).unwrap_or_else(|| "unknown".into())
    );
    let _ = writeln!(
        h,
        "* servers: tempo-mt / tokio-mt / smol-mt with {} worker threads (smol-mt: async-executor \
         `Executor` on std threads, async-io sockets polled by async-io's reactor thread); \
         tempo-ct (`worker_threads(0)` under `block_on`), tokio-ct and mio on one thread each",
        o.workers
    );
    let _ = writeln!(
        h,
        "* client: {} thread(s), each a hand-written edge-triggered mio loop, closed loop per \
         connection (send, wait for the whole echo, repeat), identical for every server; \
         {} warm-up round trips per connection are not measured",
        o.client_threads, WARMUP_RTS
    );
    let _ = writeln!(
        h,
        "* **caveat: the client and the server share the same {nproc} core(s).** The \
         multi-threaded servers ({} workers) compete with the client thread for CPU, so these \
         numbers measure CPU efficiency under contention as much as scalability; nothing is \
         pinned or tuned. Other processes on the machine were not controlled (load average at \
         start: {}).",
        o.workers,
        loadavg()
    );
    let _ = writeln!(
        h,
        "* each cell: median of {} runs (servers interleaved, order rotated each run); \
         throughput in round trips/s and MB/s (echoed payload, one direction, 10^6 B); \
         latency percentiles in µs over all round trips of a run; CPU µs/rt = process CPU \
         time over the measured window minus the client threads' own, per round trip",
        o.reps
    );
    h
}

/// Every run of every server, per config.
type Results = Vec<(Config, Vec<(ServerKind, Vec<Result<Sample, String>>)>)>;

/// The workload id of the echo rows in the TSV (workload 7 of the suite).
const TSV_WORKLOAD: &str = "7-echo";

/// The TSV case of a config: `64x64B`, `1000x1KiB`.
fn tsv_case(cfg: &Config) -> String {
    let size = if cfg.size >= 1024 && cfg.size & 1023 == 0 {
        format!("{}KiB", cfg.size / 1024)
    } else {
        format!("{}B", cfg.size)
    };
    format!("{}x{}", cfg.conns, size)
}

/// One [`Row`] per (config, server, metric), in that order; the samples are
/// the values of the successful reps (a server whose reps all failed has no
/// rows).
fn tsv_rows(results: &Results) -> Vec<Row> {
    /// Name, unit, good direction, and the value of one rep.
    type Metric = (&'static str, &'static str, Better, fn(&Sample) -> f64);
    const METRICS: [Metric; 5] = [
        ("rate", "rt/s", Better::Higher, |s| s.rt_per_s),
        ("p50", "µs", Better::Lower, |s| s.p50_us),
        ("p99", "µs", Better::Lower, |s| s.p99_us),
        ("p999", "µs", Better::Lower, |s| s.p999_us),
        ("cpu", "µs", Better::Lower, |s| s.server_cpu_us),
    ];
    let mut rows = Vec::new();
    for (cfg, per_server) in results {
        for (k, runs) in per_server {
            let ok: Vec<&Sample> = runs.iter().filter_map(|r| r.as_ref().ok()).collect();
            if ok.is_empty() {
                continue;
            }
            for (metric, unit, better, f) in METRICS {
                rows.push(Row {
                    workload: TSV_WORKLOAD.into(),
                    case: tsv_case(cfg),
                    metric: metric.into(),
                    unit: unit.into(),
                    better,
                    rt: k.name().into(),
                    samples: ok.iter().map(|s| f(s)).collect(),
                });
            }
        }
    }
    rows
}

/// The whole TSV file: `# key: value` metadata, then one line per row.
fn tsv(o: &Opts, argv: &str, results: &Results) -> String {
    let mut text = machine_meta(&format!(
        "cargo run --release -p tempo-benches --bin echo --{argv}"
    ))
    .join("\n");
    let _ = write!(
        text,
        "\n# workers: {}\n# reps: {}\n# quick: {}\n# client-threads: {}\n",
        o.workers, o.reps, o.quick, o.client_threads
    );
    for r in tsv_rows(results) {
        text.push_str(&r.to_line());
        text.push('\n');
    }
    text
}

fn table(results: &Results) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "| config | server | throughput (rt/s) | ratio vs tokio (same shape) | MB/s | p50 (µs) | p99 (µs) | p999 (µs) | server CPU (µs/rt) | client CPU (µs/rt) | rt/s min–max |"
    );
    let _ = writeln!(t, "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
    for (cfg, per_server) in results {
        let med = |k: ServerKind, f: fn(&Sample) -> f64| -> Option<f64> {
            let (_, runs) = per_server.iter().find(|(s, _)| *s == k)?;
            let ok: Vec<f64> = runs.iter().filter_map(|r| r.as_ref().ok()).map(f).collect();
            (!ok.is_empty()).then(|| median(ok))
        };
        // tempo-ct (one thread) against tokio-ct, every other server against
        // tokio-mt.
        let base_mt = med(ServerKind::TokioMt, |s| s.rt_per_s);
        let base_ct = med(ServerKind::TokioCt, |s| s.rt_per_s);
        for (k, runs) in per_server {
            let base = if *k == ServerKind::TempoCt {
                base_ct
            } else {
                base_mt
            };
            let errs: Vec<&String> = runs.iter().filter_map(|r| r.as_ref().err()).collect();
            let ok: Vec<&Sample> = runs.iter().filter_map(|r| r.as_ref().ok()).collect();
            if ok.is_empty() {
                let _ = writeln!(
                    t,
                    "| {} | {} | failed: {} | | | | | | | | |",
                    cfg.label(),
                    k.name(),
                    errs.first().map_or("?", |e| e.as_str())
                );
                continue;
            }
            let m = |f: fn(&Sample) -> f64| med(*k, f).unwrap();
            let tput = m(|s| s.rt_per_s);
            let ratio = base.map_or("–".into(), |b| format!("{:.2}", tput / b));
            let lo = ok.iter().map(|s| s.rt_per_s).fold(f64::INFINITY, f64::min);
            let hi = ok.iter().map(|s| s.rt_per_s).fold(0.0, f64::max);
            let failed = if errs.is_empty() {
                String::new()
            } else {
                format!(
                    " ({} of {} runs failed: {})",
                    errs.len(),
                    runs.len(),
                    errs[0]
                )
            };
            let _ = writeln!(
                t,
                "| {} | {} | {:.0} | {} | {:.2} | {:.0} | {:.0} | {:.0} | {:.2} | {:.2} | {:.0}–{:.0}{} |",
                cfg.label(),
                k.name(),
                tput,
                ratio,
                tput * cfg.size as f64 / 1e6,
                m(|s| s.p50_us),
                m(|s| s.p99_us),
                m(|s| s.p999_us),
                m(|s| s.server_cpu_us),
                m(|s| s.client_cpu_us),
                lo,
                hi,
                failed
            );
        }
    }
    t
}

fn main() {
    let o = match parse_opts() {
        Ok(o) => o,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("echo: {e}");
            }
            eprintln!("{USAGE}");
            std::process::exit(2);
        }
    };
    let argv: String = std::env::args().skip(1).map(|a| format!(" {a}")).collect();
    let head = header(&o, &argv);
    println!("{head}");
    let began = Instant::now();
    let busy0 = machine_busy();
    let self0 = process_cpu();
    let mut results: Results = Vec::new();
    for cfg in configs(&o) {
        let mut per: Vec<(ServerKind, Vec<Result<Sample, String>>)> =
            o.servers.iter().map(|&k| (k, Vec::new())).collect();
        for rep in 0..o.reps {
            let mut order: Vec<usize> = (0..per.len()).collect();
            order.rotate_left(rep % per.len().max(1));
            for i in order {
                let k = per[i].0;
                let t0 = Instant::now();
                let r = measure(k, cfg, &o);
                match &r {
                    Ok(s) => eprintln!(
                        "  {} | {} | rep {}: {:.0} rt/s, p50 {:.0} µs, p99 {:.0} µs, p999 {:.0} µs, server CPU {:.2} µs/rt ({:.1}s)",
                        cfg.label(), k.name(), rep + 1, s.rt_per_s, s.p50_us, s.p99_us, s.p999_us, s.server_cpu_us,
                        t0.elapsed().as_secs_f64()
                    ),
                    Err(e) => eprintln!("  {} | {} | rep {}: FAILED: {e}", cfg.label(), k.name(), rep + 1),
                }
                per[i].1.push(r);
            }
        }
        results.push((cfg, per));
    }
    let tab = table(&results);
    let wall = began.elapsed();
    let others = match (busy0, machine_busy()) {
        (Some(b0), Some(b1)) => {
            let other = (b1.saturating_sub(b0)).saturating_sub(process_cpu() - self0);
            format!(
                "; other processes kept {:.2} cores busy on average during the run",
                other.as_secs_f64() / wall.as_secs_f64()
            )
        }
        _ => String::new(),
    };
    let foot = format!(
        "\nTotal wall time {:.0} s; load average at end: {}{others}.\n",
        wall.as_secs_f64(),
        loadavg()
    );
    println!("{tab}{foot}");
    if let Some(path) = &o.out {
        let doc = format!("{head}\n{tab}{foot}");
        let mut tsv_path = path.with_extension("tsv");
        if tsv_path == *path {
            tsv_path = PathBuf::from(format!("{}.tsv", path.display()));
        }
        let files = [(path.clone(), doc), (tsv_path, tsv(&o, &argv, &results))];
        for (path, text) in files {
            let write = path
                .parent()
                .map_or(Ok(()), std::fs::create_dir_all)
                .and_then(|()| std::fs::write(&path, text));
            match write {
                Ok(()) => eprintln!("wrote {}", path.display()),
                Err(e) => eprintln!("could not write {}: {e}", path.display()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Held by a test that spawns child processes (`tsv` runs `git` and
    /// `rustc`) and by one that checks a closed listener refuses. A child
    /// forked while a listener is open holds a copy of its descriptor until
    /// its `exec` closes the close-on-exec ones, so a connect right after the
    /// server closed its copy can still complete (this made
    /// `servers_echo_and_stop` fail 3 runs in 30 while the two ran in
    /// parallel, 0 in 60 with `--test-threads=1`; a plain std listener shows
    /// the same with a concurrent `Command`).
    static SPAWNS: std::sync::Mutex<()> = std::sync::Mutex::new(());

    fn sample(x: f64) -> Sample {
        Sample {
            rt_per_s: 100_000.0 + x,
            p50_us: 10.0 + x,
            p99_us: 200.5 + x,
            p999_us: 1234.0 + x,
            server_cpu_us: 3.25 + x,
            client_cpu_us: 2.0,
        }
    }

    fn opts() -> Opts {
        Opts {
            quick: true,
            reps: 3,
            workers: 2,
            client_threads: 1,
            round_trips: None,
            servers: ServerKind::ALL.to_vec(),
            configs: None,
            out: None,
        }
    }

    #[test]
    fn tsv_rows_round_trip() {
        let _spawns = SPAWNS.lock().unwrap_or_else(|e| e.into_inner());
        let o = opts();
        let cfgs = configs(&o);
        assert_eq!(
            cfgs.iter().map(tsv_case).collect::<Vec<_>>(),
            ["64x64B", "64x1KiB", "1000x64B", "1000x1KiB"]
        );
        let results: Results = vec![
            (
                cfgs[0],
                vec![
                    (
                        ServerKind::TempoMt,
                        vec![Ok(sample(0.0)), Ok(sample(1.0)), Ok(sample(2.0))],
                    ),
                    // A failed rep is left out of the samples.
                    (
                        ServerKind::SmolMt,
                        vec![Ok(sample(5.0)), Err("stalled".into()), Ok(sample(7.0))],
                    ),
                    // A server whose reps all failed has no rows.
                    (ServerKind::Mio, vec![Err("x".into()); 3]),
                ],
            ),
            (
                cfgs[3],
                vec![(ServerKind::TokioMt, vec![Ok(sample(0.5)); 3])],
            ),
        ];
        let text = tsv(&o, " --quick", &results);
        let meta: Vec<&str> = text.lines().filter(|l| l.starts_with('#')).collect();
        for key in ["# command:", "# workers: 2", "# reps: 3", "# quick: true"] {
            assert!(meta.iter().any(|l| l.starts_with(key)), "{key} in {meta:?}");
        }
        // The metadata comes first.
        assert!(text
            .lines()
            .skip_while(|l| l.starts_with('#'))
            .all(|l| !l.starts_with('#')));
        let parsed: Vec<Row> = text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| Row::parse(l).unwrap())
            .collect();
        let want = tsv_rows(&results);
        assert_eq!(parsed.len(), 3 * 5);
        assert_eq!(parsed.len(), want.len());
        let key = |r: &Row| {
            format!(
                "{} {} {} {} {} {}",
                r.workload,
                r.case,
                r.rt,
                r.metric,
                r.unit,
                r.better.as_str()
            )
        };
        let keys: Vec<String> = parsed.iter().map(key).collect();
        assert_eq!(keys, want.iter().map(key).collect::<Vec<_>>());
        assert_eq!(
            keys[..5],
            [
                "7-echo 64x64B tempo-mt rate rt/s higher",
                "7-echo 64x64B tempo-mt p50 µs lower",
                "7-echo 64x64B tempo-mt p99 µs lower",
                "7-echo 64x64B tempo-mt p999 µs lower",
                "7-echo 64x64B tempo-mt cpu µs lower",
            ]
        );
        assert_eq!(keys[5], "7-echo 64x64B smol-mt rate rt/s higher");
        assert_eq!(keys[10], "7-echo 1000x1KiB tokio-mt rate rt/s higher");
        for (p, w) in parsed.iter().zip(&want) {
            assert_eq!(p.samples.len(), w.samples.len(), "{}", key(w));
            for (a, b) in p.samples.iter().zip(&w.samples) {
                assert!((a - b).abs() <= 1e-3 * b.abs(), "{}: {a} vs {b}", key(w));
            }
        }
        assert_eq!(want[0].samples, [100_000.0, 100_001.0, 100_002.0]);
        assert_eq!(want[5].samples, [100_005.0, 100_007.0]);
        assert_eq!(want[9].samples, [8.25, 10.25]);
        assert_eq!(parsed[1].median(), 11.0);
    }

    /// Every server echoes, and stopping it closes its listener (a new
    /// connection is refused) and returns.
    #[test]
    fn servers_echo_and_stop() {
        let _spawns = SPAWNS.lock().unwrap_or_else(|e| e.into_inner());
        for kind in ServerKind::ALL {
            let server = start_server(kind, 2).unwrap();
            let mut c = std::net::TcpStream::connect(server.addr).unwrap();
            c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            let req: Vec<u8> = (0..3000u32).map(|i| i as u8).collect();
            c.write_all(&req).unwrap();
            let mut back = vec![0u8; req.len()];
            c.read_exact(&mut back).unwrap();
            assert_eq!(back, req, "{}", kind.name());
            drop(c);
            let addr = server.addr;
            (server.stop)();
            // Strict: the listener is closed when `stop` returns (tempo's
            // `shutdown_timeout` drops every future before it returns).
            let e = std::net::TcpStream::connect(addr).err();
            assert_eq!(
                e.map(|e| e.kind()),
                Some(io::ErrorKind::ConnectionRefused),
                "{}: listener still open after stop",
                kind.name()
            );
        }
    }
}
