//! Unix-domain sockets (written next).
