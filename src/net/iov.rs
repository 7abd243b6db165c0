//! The slices of one vectored write: at most [`MAX_IOV`] of them reach the
//! kernel, and the byte count that `poll_stream_io` takes as the wanted
//! length is theirs.
//!
//! # Invariants
//! 1. A vectored write hands `sendmsg(2)` at most [`MAX_IOV`] slices: Linux
//!    refuses more with `EMSGSIZE` (`UIO_MAXIOV`). The slices after the cap
//!    are left for the caller's next write, which sees a short write as with
//!    any partial transfer (std's `write_vectored` caps the same way).
//! 2. The wanted length of the write (`ScheduledIo::poll_stream_io`'s
//!    `want`) is the sum over the slices handed to the kernel only: a write
//!    that took all of them is not short, so it does not clear the write
//!    direction's readiness (with the sum over all slices, such a write
//!    looked short, the send buffer was taken for full, and the next write
//!    waited for an edge that never came).

use std::io::IoSlice;

/// The most slices one `sendmsg` takes (`UIO_MAXIOV`; `IOV_MAX` elsewhere).
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) const MAX_IOV: usize = libc::UIO_MAXIOV as usize;
/// The most slices one `sendmsg` takes (`IOV_MAX` of the BSDs and macOS).
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) const MAX_IOV: usize = 1024;

/// The slices of `bufs` that one write hands to the kernel (invariant 1),
/// and how many bytes they hold (invariant 2).
pub(crate) fn capped<'a, 'b>(bufs: &'a [IoSlice<'b>]) -> (&'a [IoSlice<'b>], usize) {
    let bufs = &bufs[..bufs.len().min(MAX_IOV)];
    (bufs, bufs.iter().map(|b| b.len()).sum())
}

#[cfg(all(test, not(any(tempo_loom, tempo_shuttle))))]
mod tests {
    use super::*;

    #[test]
    fn caps_the_slices_and_counts_only_those() {
        let data = [[7u8; 4]; MAX_IOV + 10];
        let slices: Vec<IoSlice<'_>> = data.iter().map(|d| IoSlice::new(d)).collect();
        let (first, want) = capped(&slices);
        assert_eq!((first.len(), want), (MAX_IOV, 4 * MAX_IOV));
        let (few, want) = capped(&slices[..3]);
        assert_eq!((few.len(), want), (3, 12));
    }
}
