//! [`UdpSocket`]: a UDP socket registered with the reactor.
//!
//! # Invariants
//! 1. The socket is non-blocking and registered from construction to drop
//!    (`io/source.rs`); every receive (`recv`, `recv_from`, `peek_from`)
//!    waits in the read direction and every send (`send`, `send_to`) in the
//!    write direction, so one task can receive while another sends on the
//!    same `&UdpSocket` (share it with an `Arc`).
//! 2. A datagram is sent whole or not at all: a successful send returns the
//!    full length; a datagram too large for UDP (over 65,507 bytes of
//!    payload on IPv4) fails with `EMSGSIZE` instead of being cut.
//! 3. A receive takes exactly one datagram. If it is longer than the buffer,
//!    the buffer is filled, the rest of that datagram is discarded by the
//!    kernel, and the call returns `buf.len()` (there is no error and no
//!    indication of the truncation).
//! 4. `send_to` resolves its target (off-worker for a host name,
//!    `net/addr.rs`) and sends one datagram, to the first resolved address
//!    of the socket's own family (IPv4 or IPv6), or to the first address if
//!    none matches (so `"localhost:port"` works from an IPv4 socket even where
//!    the resolver lists `::1` first); `connect` tries each resolved address
//!    until one is accepted.

use crate::io::readiness::Direction;
use crate::io::source::IoSource;
use crate::net::addr::{each_addr, resolve, ToSocketAddrs};
use socket2::SockRef;
use std::fmt;
use std::future::poll_fn;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::task::{Context, Poll};

/// A UDP socket. Every method takes `&self`: one task can wait in
/// [`recv_from`](Self::recv_from) while another sends (share the socket with
/// an `Arc`). Dropping it closes the socket.
///
/// At most one task should receive and one task should send at a time: a
/// second concurrent receiver replaces the first one's wakeup.
///
/// # Examples
/// ```
/// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
/// use tempo::net::UdpSocket;
///
/// let rt = tempo::Runtime::new().unwrap();
/// rt.block_on(async {
///     let a = UdpSocket::bind("127.0.0.1:0").await?;
///     let b = UdpSocket::bind("127.0.0.1:0").await?;
///     a.send_to(b"ping", b.local_addr()?).await?;
///     let mut buf = [0; 16];
///     let (n, from) = b.recv_from(&mut buf).await?;
///     assert_eq!(&buf[..n], b"ping");
///     assert_eq!(from, a.local_addr()?);
///     std::io::Result::Ok(())
/// })
/// .unwrap();
/// # }
/// ```
pub struct UdpSocket {
    io: IoSource<mio::net::UdpSocket>,
}

impl UdpSocket {
    fn from_mio(s: mio::net::UdpSocket) -> io::Result<UdpSocket> {
        Ok(UdpSocket {
            io: IoSource::new(s, "UdpSocket")?,
        })
    }

    /// Binds to `addr`, trying each resolved address in turn. Port 0 picks a
    /// free port; read it with [`local_addr`](Self::local_addr).
    ///
    /// # Errors
    /// `AddrInUse`, `PermissionDenied`, `InvalidInput` for an unparsable
    /// address (naming it), or an error outside a tempo runtime.
    pub async fn bind<A: ToSocketAddrs>(addr: A) -> io::Result<UdpSocket> {
        each_addr(&addr, |a| async move {
            UdpSocket::from_mio(mio::net::UdpSocket::bind(a)?)
        })
        .await
    }

    /// Registers a bound `std` socket with the current runtime (it is
    /// switched to non-blocking mode).
    ///
    /// # Errors
    /// Outside a tempo runtime, or if registration fails.
    pub fn from_std(s: std::net::UdpSocket) -> io::Result<UdpSocket> {
        s.set_nonblocking(true)?;
        UdpSocket::from_mio(mio::net::UdpSocket::from_std(s))
    }

    /// The local address.
    ///
    /// # Errors
    /// The OS error.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The address given to [`connect`](Self::connect).
    ///
    /// # Errors
    /// `NotConnected` if the socket is not connected.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// Sets the default destination of [`send`](Self::send) and the only
    /// source [`recv`](Self::recv) accepts, trying each resolved address
    /// until one is accepted (invariant 4). No packet is sent.
    ///
    /// # Errors
    /// `InvalidInput` for an unparsable address (naming it); the resolver's
    /// error; the error of the last address tried (e.g. an IPv6 address on
    /// an IPv4 socket).
    ///
    /// # Examples
    /// ```
    /// # #[cfg(not(any(feature = "loom", feature = "shuttle")))] {
    /// use tempo::net::UdpSocket;
    /// let rt = tempo::Runtime::new().unwrap();
    /// rt.block_on(async {
    ///     let a = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    ///     let b = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    ///     a.connect(b.local_addr().unwrap()).await.unwrap();
    ///     b.connect(a.local_addr().unwrap()).await.unwrap();
    ///     a.send(b"hi").await.unwrap();
    ///     let mut buf = [0; 2];
    ///     assert_eq!(b.recv(&mut buf).await.unwrap(), 2);
    ///     assert_eq!(&buf, b"hi");
    /// });
    /// # }
    /// ```
    pub async fn connect<A: ToSocketAddrs>(&self, addr: A) -> io::Result<()> {
        each_addr(&addr, |a| async move { self.io.get_ref().connect(a) }).await
    }

    /// Sends `buf` as one datagram to `target` (the first resolved address
    /// of the socket's family, invariant 4), waiting while the send buffer
    /// is full. Returns the number of bytes sent, which is `buf.len()`
    /// (invariant 2).
    ///
    /// # Errors
    /// `InvalidInput` for an unparsable address (naming it); the resolver's
    /// error; the OS error (e.g. `EMSGSIZE` for an oversized datagram,
    /// `PermissionDenied` for a broadcast address without
    /// [`set_broadcast`](Self::set_broadcast)).
    pub async fn send_to<A: ToSocketAddrs>(&self, buf: &[u8], target: A) -> io::Result<usize> {
        let addrs = resolve(&target).await?;
        let v4 = self.local_addr().map(|a| a.is_ipv4()).ok();
        let to = *addrs
            .iter()
            .find(|a| Some(a.is_ipv4()) == v4)
            .unwrap_or(&addrs[0]);
        poll_fn(|cx| self.poll_send_to(cx, buf, to)).await
    }

    /// Polls sending `buf` to `target` (the building block of
    /// [`send_to`](Self::send_to)).
    ///
    /// # Errors
    /// As [`send_to`](Self::send_to).
    pub fn poll_send_to(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
        target: SocketAddr,
    ) -> Poll<io::Result<usize>> {
        self.io
            .poll_io(Direction::Write, cx, |s| s.send_to(buf, target))
    }

    /// Waits for a datagram and copies it into `buf`. Returns its length and
    /// its sender. A datagram longer than `buf` is truncated to `buf.len()`
    /// and the rest is lost (invariant 3).
    ///
    /// # Errors
    /// The OS error; on a connected socket, e.g. `ConnectionRefused` after a
    /// datagram sent to a closed port was answered by ICMP.
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        poll_fn(|cx| self.poll_recv_from(cx, buf)).await
    }

    /// Polls receiving a datagram (the building block of
    /// [`recv_from`](Self::recv_from)).
    ///
    /// # Errors
    /// As [`recv_from`](Self::recv_from).
    pub fn poll_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<(usize, SocketAddr)>> {
        self.io.poll_io(Direction::Read, cx, |s| s.recv_from(buf))
    }

    /// Like [`recv_from`](Self::recv_from) but leaves the datagram queued,
    /// so the next receive returns it again.
    ///
    /// # Errors
    /// As [`recv_from`](Self::recv_from).
    pub async fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        poll_fn(|cx| self.io.poll_io(Direction::Read, cx, |s| s.peek_from(buf))).await
    }

    /// Sends `buf` as one datagram to the address given to
    /// [`connect`](Self::connect).
    ///
    /// # Errors
    /// An error (`EDESTADDRREQ`) if the socket is not connected; as
    /// [`send_to`](Self::send_to) otherwise.
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_send(cx, buf)).await
    }

    /// Polls sending `buf` to the connected peer (the building block of
    /// [`send`](Self::send)).
    ///
    /// # Errors
    /// As [`send`](Self::send).
    pub fn poll_send(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.io.poll_io(Direction::Write, cx, |s| s.send(buf))
    }

    /// Waits for a datagram from the connected peer (datagrams from other
    /// addresses are dropped by the kernel). Truncates as
    /// [`recv_from`](Self::recv_from) does.
    ///
    /// # Errors
    /// As [`recv_from`](Self::recv_from).
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| self.poll_recv(cx, buf)).await
    }

    /// Polls receiving a datagram from the connected peer (the building
    /// block of [`recv`](Self::recv)).
    ///
    /// # Errors
    /// As [`recv`](Self::recv).
    pub fn poll_recv(&self, cx: &mut Context<'_>, buf: &mut [u8]) -> Poll<io::Result<usize>> {
        self.io.poll_io(Direction::Read, cx, |s| s.recv(buf))
    }

    /// Sets `SO_BROADCAST` (required to send to a broadcast address).
    ///
    /// # Errors
    /// The OS error.
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        self.io.get_ref().set_broadcast(on)
    }

    /// Whether `SO_BROADCAST` is set.
    ///
    /// # Errors
    /// The OS error.
    pub fn broadcast(&self) -> io::Result<bool> {
        self.io.get_ref().broadcast()
    }

    /// Sets the IP time-to-live of outgoing unicast datagrams.
    ///
    /// # Errors
    /// The OS error.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_ttl(ttl)
    }

    /// The IP time-to-live.
    ///
    /// # Errors
    /// The OS error.
    pub fn ttl(&self) -> io::Result<u32> {
        self.io.get_ref().ttl()
    }

    /// Sets `IP_MULTICAST_LOOP`: whether multicast datagrams this socket
    /// sends are looped back to local receivers.
    ///
    /// # Errors
    /// The OS error (e.g. on an IPv6 socket).
    pub fn set_multicast_loop_v4(&self, on: bool) -> io::Result<()> {
        self.io.get_ref().set_multicast_loop_v4(on)
    }

    /// Whether `IP_MULTICAST_LOOP` is set.
    ///
    /// # Errors
    /// The OS error.
    pub fn multicast_loop_v4(&self) -> io::Result<bool> {
        self.io.get_ref().multicast_loop_v4()
    }

    /// Sets `IP_MULTICAST_TTL` for outgoing multicast datagrams (1 keeps
    /// them on the local network).
    ///
    /// # Errors
    /// The OS error.
    pub fn set_multicast_ttl_v4(&self, ttl: u32) -> io::Result<()> {
        self.io.get_ref().set_multicast_ttl_v4(ttl)
    }

    /// The `IP_MULTICAST_TTL`.
    ///
    /// # Errors
    /// The OS error.
    pub fn multicast_ttl_v4(&self) -> io::Result<u32> {
        self.io.get_ref().multicast_ttl_v4()
    }

    /// Joins the IPv4 multicast group `group` on the interface with address
    /// `interface` (`Ipv4Addr::UNSPECIFIED` lets the OS choose).
    ///
    /// # Errors
    /// The OS error (e.g. `group` is not a multicast address, or there is no
    /// multicast route).
    pub fn join_multicast_v4(&self, group: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()> {
        self.io.get_ref().join_multicast_v4(&group, &interface)
    }

    /// Leaves a group joined with [`join_multicast_v4`](Self::join_multicast_v4).
    ///
    /// # Errors
    /// The OS error (e.g. the group was not joined).
    pub fn leave_multicast_v4(&self, group: Ipv4Addr, interface: Ipv4Addr) -> io::Result<()> {
        self.io.get_ref().leave_multicast_v4(&group, &interface)
    }

    /// Joins the IPv6 multicast group `group` on the interface with index
    /// `interface` (0 lets the OS choose).
    ///
    /// # Errors
    /// The OS error.
    pub fn join_multicast_v6(&self, group: Ipv6Addr, interface: u32) -> io::Result<()> {
        self.io.get_ref().join_multicast_v6(&group, interface)
    }

    /// Leaves a group joined with [`join_multicast_v6`](Self::join_multicast_v6).
    ///
    /// # Errors
    /// The OS error.
    pub fn leave_multicast_v6(&self, group: Ipv6Addr, interface: u32) -> io::Result<()> {
        self.io.get_ref().leave_multicast_v6(&group, interface)
    }

    /// Sets `SO_SNDBUF` (the kernel may double or clamp it).
    ///
    /// # Errors
    /// The OS error.
    pub fn set_send_buffer_size(&self, bytes: usize) -> io::Result<()> {
        SockRef::from(self.io.get_ref()).set_send_buffer_size(bytes)
    }

    /// `SO_SNDBUF`.
    ///
    /// # Errors
    /// The OS error.
    pub fn send_buffer_size(&self) -> io::Result<usize> {
        SockRef::from(self.io.get_ref()).send_buffer_size()
    }

    /// Sets `SO_RCVBUF` (the kernel may double or clamp it). Datagrams that
    /// arrive while the receive buffer is full are dropped.
    ///
    /// # Errors
    /// The OS error.
    pub fn set_recv_buffer_size(&self, bytes: usize) -> io::Result<()> {
        SockRef::from(self.io.get_ref()).set_recv_buffer_size(bytes)
    }

    /// `SO_RCVBUF`.
    ///
    /// # Errors
    /// The OS error.
    pub fn recv_buffer_size(&self) -> io::Result<usize> {
        SockRef::from(self.io.get_ref()).recv_buffer_size()
    }

    /// Takes the pending `SO_ERROR`, if any (e.g. `ConnectionRefused` from
    /// an ICMP port-unreachable answer).
    ///
    /// # Errors
    /// The OS error of the query itself.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.io.get_ref().take_error()
    }
}

impl fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.io.fmt(f)
    }
}

#[cfg(unix)]
impl std::os::fd::AsRawFd for UdpSocket {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.io.get_ref().as_raw_fd()
    }
}

#[cfg(unix)]
impl std::os::fd::AsFd for UdpSocket {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.io.get_ref().as_fd()
    }
}
