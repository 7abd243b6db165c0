//! [`ToSocketAddrs`]: what `bind`, `connect` and `send_to` accept, and how a
//! host name is resolved without blocking a worker.
//!
//! # Invariants
//! 1. An address that parses (`"127.0.0.1:80"`, a `SocketAddr`, `(ip, port)`)
//!    never leaves the calling task: no thread, no allocation beyond the list.
//! 2. A host name (`"localhost:80"`) is resolved by the system resolver on a
//!    short-lived helper thread; the task waits for the answer without
//!    blocking its worker.
//! 3. A string that is neither yields `InvalidInput` naming the string.

use crate::shim::{thread, Arc, Mutex};
use std::future::{poll_fn, Future};
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::task::{Poll, Waker};

mod sealed {
    pub trait Sealed {}
}

/// An address (or a list of them) that tempo's sockets can bind or connect
/// to: a [`SocketAddr`], `(IpAddr, u16)`, `(&str, u16)`, `"host:port"`, or a
/// slice of `SocketAddr`. Host names resolve on a helper thread, never on a
/// worker. Sealed: implemented for these types only.
///
/// # Examples
/// ```
/// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
/// let rt = tempo::Runtime::new().unwrap();
/// rt.block_on(async {
///     // All of these bind an ephemeral port on the loopback interface.
///     let a = tempo::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
///     let b = tempo::net::TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
///     let c = tempo::net::TcpListener::bind("localhost:0").await.unwrap();
///     let addr: std::net::SocketAddr = "127.0.0.1:0".parse().unwrap();
///     let d = tempo::net::TcpListener::bind(addr).await.unwrap();
///     let bad = tempo::net::TcpListener::bind("no port here").await.unwrap_err();
///     assert_eq!(bad.kind(), std::io::ErrorKind::InvalidInput);
///     assert!(bad.to_string().contains("no port here"));
/// #   drop((a, b, c, d));
/// });
/// # }
/// ```
pub trait ToSocketAddrs: sealed::Sealed {
    /// The parsed list, or the string a resolver must look up.
    #[doc(hidden)]
    fn to_addrs(&self) -> Addrs;
}

/// What [`ToSocketAddrs::to_addrs`] produced (not part of the API).
#[doc(hidden)]
#[derive(Debug)]
pub enum Addrs {
    /// Already parsed (invariant 1).
    Ready(Vec<SocketAddr>),
    /// A host name to resolve (invariant 2).
    Lookup(String),
    /// Unusable input (invariant 3).
    Invalid(String),
}

macro_rules! ready_impl {
    ($($t:ty => |$v:ident| $e:expr;)*) => {$(
        impl sealed::Sealed for $t {}
        impl ToSocketAddrs for $t {
            fn to_addrs(&self) -> Addrs {
                let $v = self;
                Addrs::Ready($e)
            }
        }
    )*};
}

ready_impl! {
    SocketAddr => |a| vec![*a];
    SocketAddrV4 => |a| vec![SocketAddr::V4(*a)];
    SocketAddrV6 => |a| vec![SocketAddr::V6(*a)];
    (IpAddr, u16) => |a| vec![SocketAddr::new(a.0, a.1)];
    (Ipv4Addr, u16) => |a| vec![SocketAddr::new(IpAddr::V4(a.0), a.1)];
    (Ipv6Addr, u16) => |a| vec![SocketAddr::new(IpAddr::V6(a.0), a.1)];
    [SocketAddr] => |a| a.to_vec();
    Vec<SocketAddr> => |a| a.clone();
}

impl<const N: usize> sealed::Sealed for [SocketAddr; N] {}
impl<const N: usize> ToSocketAddrs for [SocketAddr; N] {
    fn to_addrs(&self) -> Addrs {
        Addrs::Ready(self.to_vec())
    }
}

impl sealed::Sealed for str {}
impl ToSocketAddrs for str {
    fn to_addrs(&self) -> Addrs {
        if let Ok(a) = self.parse::<SocketAddr>() {
            return Addrs::Ready(vec![a]);
        }
        match self.rsplit_once(':') {
            Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => {
                Addrs::Lookup(self.to_string())
            }
            _ => Addrs::Invalid(format!(
                "invalid socket address {self:?}: expected \"host:port\" or \"ip:port\""
            )),
        }
    }
}

impl sealed::Sealed for String {}
impl ToSocketAddrs for String {
    fn to_addrs(&self) -> Addrs {
        self.as_str().to_addrs()
    }
}

impl sealed::Sealed for (&str, u16) {}
impl ToSocketAddrs for (&str, u16) {
    fn to_addrs(&self) -> Addrs {
        match self.0.parse::<IpAddr>() {
            Ok(ip) => Addrs::Ready(vec![SocketAddr::new(ip, self.1)]),
            Err(_) if self.0.is_empty() => Addrs::Invalid(format!(
                "invalid socket address {:?}: empty host name",
                self
            )),
            Err(_) => Addrs::Lookup(format!("{}:{}", self.0, self.1)),
        }
    }
}

impl sealed::Sealed for (String, u16) {}
impl ToSocketAddrs for (String, u16) {
    fn to_addrs(&self) -> Addrs {
        (self.0.as_str(), self.1).to_addrs()
    }
}

impl<T: ToSocketAddrs + ?Sized> sealed::Sealed for &T {}
impl<T: ToSocketAddrs + ?Sized> ToSocketAddrs for &T {
    fn to_addrs(&self) -> Addrs {
        (**self).to_addrs()
    }
}

/// Resolves `addr` to a non-empty list (invariants 1–3).
///
/// # Errors
/// `InvalidInput` naming the input; the resolver's error for an unknown host.
pub(crate) async fn resolve<A: ToSocketAddrs + ?Sized>(addr: &A) -> io::Result<Vec<SocketAddr>> {
    let list = match addr.to_addrs() {
        Addrs::Ready(v) => v,
        Addrs::Invalid(msg) => return Err(io::Error::new(io::ErrorKind::InvalidInput, msg)),
        Addrs::Lookup(host) => {
            let h = host.clone();
            let r = run_on_thread(move || {
                std::net::ToSocketAddrs::to_socket_addrs(h.as_str()).map(|i| i.collect::<Vec<_>>())
            })
            .await?;
            r.map_err(|e| io::Error::new(e.kind(), format!("cannot resolve {host:?}: {e}")))?
        }
    };
    if list.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the address list is empty: nothing to bind or connect to",
        ));
    }
    Ok(list)
}

/// Tries `f` on each address in turn; returns the first success or the last error.
pub(crate) async fn each_addr<A, T, F, Fut>(addr: &A, mut f: F) -> io::Result<T>
where
    A: ToSocketAddrs + ?Sized,
    F: FnMut(SocketAddr) -> Fut,
    Fut: Future<Output = io::Result<T>>,
{
    let mut last = None;
    for a in resolve(addr).await? {
        match f(a).await {
            Ok(t) => return Ok(t),
            Err(e) => last = Some(e),
        }
    }
    Err(last.expect("resolve returns a non-empty list"))
}

struct Slot<T> {
    value: Option<T>,
    waker: Option<Waker>,
}

/// Runs a blocking `f` on a helper thread and waits for it without blocking
/// the worker (invariant 2).
///
/// # Errors
/// If the thread cannot be spawned.
pub(crate) async fn run_on_thread<T, F>(f: F) -> io::Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let slot = Arc::new(Mutex::new(Slot {
        value: None,
        waker: None,
    }));
    let s2 = slot.clone();
    thread::Builder::new()
        .name("tempo-resolver".into())
        .spawn(move || {
            let v = f();
            let w = {
                let mut g = s2.lock();
                g.value = Some(v);
                g.waker.take()
            };
            if let Some(w) = w {
                w.wake();
            }
        })?;
    Ok(poll_fn(|cx| {
        let mut g = slot.lock();
        match g.value.take() {
            Some(v) => Poll::Ready(v),
            None => {
                g.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    })
    .await)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(a: &dyn ToSocketAddrs) -> &'static str {
        match a.to_addrs() {
            Addrs::Ready(_) => "ready",
            Addrs::Lookup(_) => "lookup",
            Addrs::Invalid(_) => "invalid",
        }
    }

    #[test]
    fn classification() {
        assert_eq!(kind(&"127.0.0.1:80"), "ready");
        assert_eq!(kind(&"[::1]:80"), "ready");
        assert_eq!(kind(&"localhost:80"), "lookup");
        assert_eq!(kind(&("localhost", 80)), "lookup");
        assert_eq!(kind(&("10.0.0.1", 80)), "ready");
        assert_eq!(kind(&"localhost"), "invalid");
        assert_eq!(kind(&"host:notaport"), "invalid");
        assert_eq!(kind(&":80"), "invalid");
        assert_eq!(kind(&("", 80)), "invalid");
    }
}
