//! TCP: [`TcpListener`], [`TcpStream`] and its owned halves, [`TcpSocket`].

pub(crate) mod listener;
pub(crate) mod socket;
pub(crate) mod split;
pub(crate) mod stream;
