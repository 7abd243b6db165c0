//! Helpers shared by the integration tests (`mod common;` in each file that
//! uses them). Not every test binary uses every helper.
#![allow(dead_code)]

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{mpsc, Mutex, MutexGuard};
use std::time::Duration;

/// Runs `f` on its own thread and fails the test if it has not finished
/// within `limit`: a hang becomes a failure with a message, not a stuck CI.
/// A panic in `f` is re-raised here, with its payload.
pub fn within<T: Send + 'static>(limit: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let r = catch_unwind(AssertUnwindSafe(f));
        let _ = tx.send(r);
    });
    match rx.recv_timeout(limit) {
        Ok(Ok(v)) => v,
        Ok(Err(p)) => std::panic::resume_unwind(p),
        Err(_) => panic!("test body did not finish within {limit:?}: hang"),
    }
}

/// Serialises the tests of one binary that take the guard: timing-sensitive
/// tests, and tests that saturate the cores, run one at a time on a small
/// machine. A test that panicked while holding it does not poison the rest.
pub fn serial() -> MutexGuard<'static, ()> {
    static M: Mutex<()> = Mutex::new(());
    M.lock().unwrap_or_else(|e| e.into_inner())
}

/// A runtime with `workers` worker threads (0: caller-driven) that reads
/// time from `clock`.
pub fn manual_rt(workers: usize, clock: &tempo::time::ManualClock) -> tempo::Runtime {
    tempo::Runtime::builder()
        .worker_threads(workers)
        .manual_clock(clock)
        .build()
        .unwrap()
}

/// A waker whose `wake` panics: user code the runtime must contain.
pub struct PanickingWaker;
impl std::task::Wake for PanickingWaker {
    fn wake(self: std::sync::Arc<Self>) {
        panic!("this waker panics");
    }
}

/// The soft and hard `RLIMIT_NOFILE`.
#[allow(clippy::unnecessary_cast)] // rlim_t is not u64 everywhere
pub fn nofile_limit() -> (u64, u64) {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `r` is a valid rlimit to fill.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) }, 0);
    (r.rlim_cur as u64, r.rlim_max as u64)
}

/// Raises the soft `RLIMIT_NOFILE` to at least `want` if the hard limit
/// allows; returns the soft limit in force afterwards.
pub fn raise_nofile(want: u64) -> u64 {
    let (soft, hard) = nofile_limit();
    if soft >= want {
        return soft;
    }
    let new = want.min(hard);
    let r = libc::rlimit {
        rlim_cur: new as libc::rlim_t,
        rlim_max: hard as libc::rlim_t,
    };
    // SAFETY: `r` is a valid rlimit; raising the soft limit up to the hard
    // limit needs no privilege.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &r) } != 0 {
        eprintln!(
            "setrlimit(RLIMIT_NOFILE, {new}) failed: {}",
            std::io::Error::last_os_error()
        );
        return soft;
    }
    new
}

/// A small deterministic PRNG (xorshift64*) for randomised tests: every
/// such test prints its seed on failure, and `TEMPO_TEST_SEED=<n>` replays it.
pub struct Rng(u64);

impl Rng {
    /// A generator from [`seed`]; returns it with its seed (print the seed
    /// in assertion messages).
    pub fn from_env() -> (Rng, u64) {
        let seed = seed();
        (Rng::new(seed), seed)
    }

    /// A generator from `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }

    /// The next value in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) % n
    }
}

/// A waker that counts its wakes (for polling futures by hand).
pub struct CountWaker(pub std::sync::atomic::AtomicUsize);

impl CountWaker {
    /// A counter and a waker that bumps it.
    pub fn new() -> (std::sync::Arc<CountWaker>, std::task::Waker) {
        let c = std::sync::Arc::new(CountWaker(std::sync::atomic::AtomicUsize::new(0)));
        (c.clone(), std::task::Waker::from(c))
    }

    /// Wakes so far.
    pub fn count(&self) -> usize {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl std::task::Wake for CountWaker {
    fn wake(self: std::sync::Arc<Self>) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// A runtime with `workers` worker threads (0: the caller of `block_on`
/// drives it).
pub fn rt(workers: usize) -> tempo::Runtime {
    tempo::Runtime::builder()
        .worker_threads(workers)
        .build()
        .unwrap()
}

/// The seed of a randomised test: `TEMPO_TEST_SEED` if set, else from the
/// clock. Printed to the test's captured output, so a failing test (or a
/// hang caught by [`within`]) shows it; thread timing is not replayed.
pub fn seed() -> u64 {
    let s = std::env::var("TEMPO_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    eprintln!("TEMPO_TEST_SEED={s}");
    s
}
