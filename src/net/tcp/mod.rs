//! TCP: [`TcpListener`](listener::TcpListener), [`TcpStream`](stream::TcpStream)
//! and its owned halves, [`TcpSocket`](socket::TcpSocket).

pub(crate) mod listener;
pub(crate) mod socket;
pub(crate) mod split;
pub(crate) mod stream;
