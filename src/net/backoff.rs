//! Reconnecting: serverbox's connect-with-delay, as an exponential
//! [`Backoff`] and [`connect_with_backoff`].
//!
//! # Invariants
//! 1. Delays are `initial`, `initial·factor`, … capped at `max` (a `max`
//!    below `initial` is raised to `initial`: no delay is shorter than the
//!    first one asked for); products saturate instead of overflowing; the
//!    sequence ends after `max_attempts` attempts when that is set.
//! 2. `connect_with_backoff` sleeps on the runtime's clock between attempts
//!    (so a manual clock drives it in tests) and returns the last error
//!    when attempts run out.
//! 3. Between two attempts `connect_with_backoff` always yields to the
//!    scheduler (`yield_now` after the sleep). A connect can fail without
//!    waiting (`ENETUNREACH`, `EADDRNOTAVAIL`: `connect(2)` refuses at once)
//!    and a zero or already-elapsed delay is ready at once, so with an
//!    unlimited schedule of short delays the loop never returned `Pending`:
//!    it held its worker forever, and a `timeout` around it never fired.
//!
//! # The reconnect pattern
//! A client that must stay connected loops: connect with backoff, serve the
//! connection until it fails, start over.
//! ```
//! # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
//! use std::time::Duration;
//! use tempo::net::{connect_with_backoff, Backoff};
//!
//! async fn keep_connected(addr: std::net::SocketAddr) {
//!     loop {
//!         let backoff = Backoff::new(Duration::from_millis(10), Duration::from_secs(5));
//!         let stream = match connect_with_backoff(addr, backoff).await {
//!             Ok(s) => s,
//!             Err(e) => unreachable!("no attempt limit: {e}"),
//!         };
//!         // ... serve `stream` until it fails, then loop to reconnect ...
//! #       drop(stream);
//! #       return;
//!     }
//! }
//! let rt = tempo::Runtime::new().unwrap();
//! rt.block_on(async {
//!     let l = tempo::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
//!     keep_connected(l.local_addr().unwrap()).await;
//! });
//! # }
//! ```

use super::addr::ToSocketAddrs;
use super::tcp::stream::TcpStream;
use std::io;
use std::time::Duration;

/// An exponential backoff schedule: an iterator of delays between attempts.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// let ms = Duration::from_millis;
/// let b = tempo::net::Backoff::new(ms(10), ms(50)).max_attempts(5);
/// // 5 attempts: 4 delays between them.
/// assert_eq!(b.collect::<Vec<_>>(), [ms(10), ms(20), ms(40), ms(50)]);
/// ```
#[derive(Debug, Clone)]
pub struct Backoff {
    next: Duration,
    max: Duration,
    factor: u32,
    attempts_left: Option<u32>,
}

impl Backoff {
    /// Delays starting at `initial`, doubling, capped at `max`, unlimited
    /// attempts. A `max` below `initial` is raised to `initial` (invariant 1):
    /// every delay is then `initial`.
    ///
    /// # Examples
    /// ```
    /// use std::time::Duration;
    /// let s = Duration::from_secs;
    /// let b = tempo::net::Backoff::new(s(10), s(1)).max_attempts(3);
    /// assert_eq!(b.collect::<Vec<_>>(), [s(10), s(10)]);
    /// ```
    pub fn new(initial: Duration, max: Duration) -> Backoff {
        Backoff {
            next: initial,
            max: max.max(initial),
            factor: 2,
            attempts_left: None,
        }
    }

    /// Multiplies the delay by `factor` after each attempt (default 2; 1 is a fixed delay).
    ///
    /// # Panics
    /// If `factor` is 0.
    pub fn factor(mut self, factor: u32) -> Backoff {
        assert!(factor >= 1, "Backoff factor must be at least 1");
        self.factor = factor;
        self
    }

    /// Gives up after `n` attempts in total (`n - 1` delays).
    ///
    /// # Panics
    /// If `n` is 0 (at least one attempt is always made).
    pub fn max_attempts(mut self, n: u32) -> Backoff {
        assert!(n >= 1, "Backoff needs at least one attempt");
        self.attempts_left = Some(n - 1);
        self
    }
}

impl Iterator for Backoff {
    type Item = Duration;

    /// The delay before the next attempt; `None` when attempts run out.
    fn next(&mut self) -> Option<Duration> {
        if let Some(n) = &mut self.attempts_left {
            if *n == 0 {
                return None;
            }
            *n -= 1;
        }
        let d = self.next;
        self.next = self.next.saturating_mul(self.factor).min(self.max);
        Some(d)
    }
}

/// Connects to `addr`, retrying after each failure with the delays of
/// `backoff` (invariant 2).
///
/// # Errors
/// The last connect error once `backoff` runs out; an unparsable address
/// fails at once with `InvalidInput` (retrying cannot fix it).
///
/// # Examples
/// ```
/// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
/// use std::time::Duration;
/// use tempo::net::{connect_with_backoff, Backoff};
/// let rt = tempo::Runtime::new().unwrap();
/// rt.block_on(async {
///     // Nothing listens on this port: three attempts, then the error.
///     let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
///     let b = Backoff::new(Duration::from_millis(1), Duration::from_millis(4)).max_attempts(3);
///     let e = connect_with_backoff(("127.0.0.1", port), b).await.unwrap_err();
///     assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused);
/// });
/// # }
/// ```
pub async fn connect_with_backoff<A: ToSocketAddrs>(
    addr: A,
    mut backoff: Backoff,
) -> io::Result<TcpStream> {
    loop {
        match TcpStream::connect(&addr).await {
            Ok(s) => return Ok(s),
            Err(e) if e.kind() == io::ErrorKind::InvalidInput => return Err(e),
            Err(e) => match backoff.next() {
                Some(d) => {
                    crate::time::sleep(d).await;
                    // Invariant 3: even when neither the attempt nor the
                    // sleep waited.
                    crate::task::yield_now().await;
                }
                None => return Err(e),
            },
        }
    }
}
