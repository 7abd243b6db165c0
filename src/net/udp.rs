//! UDP (written next).
