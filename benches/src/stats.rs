//! Medians and percentiles.

use crate::record::Better;
use std::time::Duration;

/// The median (mean of the two middle values for an even count); NaN if empty.
pub fn median(v: &[f64]) -> f64 {
    let mut s: Vec<f64> = v.iter().copied().filter(|x| !x.is_nan()).collect();
    if s.is_empty() {
        return f64::NAN;
    }
    s.sort_by(|a, b| a.total_cmp(b));
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

/// The `q`-quantile (0..=1, nearest rank) of an ascending slice; NaN if empty.
pub fn pct(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[rank(sorted.len(), q)]
}

/// The index [`pct`] reads for quantile `q` of `len > 0` sorted values
/// (nearest rank, 0-based), for callers that sort records rather than
/// numbers and need to know *which* record sits at the quantile.
///
/// # Panics
/// If `len` is 0.
///
/// # Examples
/// ```
/// use tempo_benches::stats::rank;
/// assert_eq!(rank(100, 0.99), 98); // the 99th of 100
/// assert_eq!(rank(100, 0.5), 49);
/// assert_eq!(rank(3, 1.0), 2);
/// ```
pub fn rank(len: usize, q: f64) -> usize {
    assert!(len > 0, "rank of an empty sample");
    ((len as f64 * q).ceil() as usize).clamp(1, len) - 1
}

/// Fewest paired reps for which agreement of every pair counts as a
/// verdict ([`Paired::verdict`]). If the two runtimes were equal and the
/// order within each pair a coin toss, 5 pairs would all agree on one given
/// side with probability 1/32 (a sign test); with `--quick`'s 3 it would be
/// 1/8. Across the suite's ~90 pairs a few unanimous pairs each way are
/// expected by chance alone, so a verdict is a per-pair signal, not proof.
pub const MIN_PAIRS: usize = 5;

/// Rep *i* of tempo against rep *i* of a peer. The suite and the echo
/// benchmark interleave the runtimes within every rep (order rotated each
/// rep), so the two values of a pair were taken in the same rep, seconds to
/// about a minute apart, and a slow phase of the host moves both; the pair's
/// ratio is then a fairer sample than a ratio of medians taken further apart.
///
/// Samples are paired by position, which is the rep only when no rep is
/// missing: both producers leave out a rep that produced nothing. So two
/// samples of different lengths are not paired at all (`n` = 0), and the
/// caller pairs only rows of the same run (`report.rs` invariant 11).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Paired {
    /// Pairs in which tempo is ahead (advantage > 1).
    pub ahead: usize,
    /// Pairs in which tempo is behind (advantage < 1).
    pub behind: usize,
    /// Pairs compared: the samples' common length, or 0 when their lengths
    /// differ (exact ties and NaN pairs count in `n` but neither ahead nor
    /// behind).
    pub n: usize,
}

/// What every pair of a [`Paired`] says together.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// At least [`MIN_PAIRS`] pairs, tempo ahead in every one.
    Ahead,
    /// At least [`MIN_PAIRS`] pairs, tempo behind in every one.
    Behind,
    /// At least [`MIN_PAIRS`] pairs that disagree, or a tie among them.
    Split,
    /// Fewer than [`MIN_PAIRS`] pairs (or none: unequal lengths): not judged.
    TooFew,
}

impl Paired {
    /// Compares `tempo[i]` with `peer[i]` by [`Better::advantage`]; no
    /// pairs when the lengths differ (a rep is missing on one side).
    ///
    /// # Examples
    /// ```
    /// use tempo_benches::record::Better;
    /// use tempo_benches::stats::{Paired, Verdict};
    /// // Times (lower is better): tempo wins reps 0, 1 and 3.
    /// let p = Paired::of(Better::Lower, &[1.0, 2.0, 5.0, 1.0, 9.0], &[2.0, 3.0, 4.0, 2.0, 8.0]);
    /// assert_eq!((p.ahead, p.behind, p.n), (3, 2, 5));
    /// assert_eq!(p.verdict(), Verdict::Split);
    /// ```
    pub fn of(better: Better, tempo: &[f64], peer: &[f64]) -> Paired {
        if tempo.len() != peer.len() {
            return Paired::none();
        }
        let mut p = Paired {
            ahead: 0,
            behind: 0,
            n: tempo.len(),
        };
        for (&t, &q) in tempo.iter().zip(peer) {
            let a = better.advantage(t, q);
            if a > 1.0 {
                p.ahead += 1;
            } else if a < 1.0 {
                p.behind += 1;
            }
        }
        p
    }

    /// No pairs (rows that cannot be paired).
    pub fn none() -> Paired {
        Paired {
            ahead: 0,
            behind: 0,
            n: 0,
        }
    }

    /// [`Verdict::Ahead`] or [`Verdict::Behind`] when every one of at least
    /// [`MIN_PAIRS`] pairs agrees, [`Verdict::TooFew`] below that.
    pub fn verdict(&self) -> Verdict {
        if self.n < MIN_PAIRS {
            Verdict::TooFew
        } else if self.ahead == self.n {
            Verdict::Ahead
        } else if self.behind == self.n {
            Verdict::Behind
        } else {
            Verdict::Split
        }
    }
}

/// Sorts in place and returns `(p50, p99, max)`.
pub fn p50_p99_max(v: &mut [f64]) -> (f64, f64, f64) {
    v.sort_by(|a, b| a.total_cmp(b));
    (pct(v, 0.5), pct(v, 0.99), pct(v, 1.0))
}

/// Microseconds as f64.
pub fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

/// Milliseconds as f64.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Spins for `d` without sleeping (a CPU-bound stall).
pub fn spin(d: Duration) {
    let t = std::time::Instant::now();
    while t.elapsed() < d {
        std::hint::spin_loop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_pct() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(pct(&v, 0.5), 50.0);
        assert_eq!(pct(&v, 0.99), 99.0);
        assert_eq!(pct(&v, 1.0), 100.0);
    }

    #[test]
    fn paired_reps_give_a_verdict_only_when_all_agree() {
        let five = [1.0, 1.0, 1.0, 1.0, 1.0];
        let more = [2.0, 2.0, 2.0, 2.0, 2.0];
        // Lower is better: tempo's 1 beats the peer's 2 in every pair.
        let p = Paired::of(Better::Lower, &five, &more);
        assert_eq!(
            (p.ahead, p.behind, p.n, p.verdict()),
            (5, 0, 5, Verdict::Ahead)
        );
        // Higher is better: the same values lose every pair.
        let p = Paired::of(Better::Higher, &five, &more);
        assert_eq!((p.behind, p.verdict()), (5, Verdict::Behind));
        // One tie breaks unanimity.
        let p = Paired::of(Better::Lower, &five, &[2.0, 2.0, 1.0, 2.0, 2.0]);
        assert_eq!((p.ahead, p.behind, p.verdict()), (4, 0, Verdict::Split));
        // Fewer than MIN_PAIRS pairs are not judged.
        let p = Paired::of(Better::Lower, &five[..3], &more[..3]);
        assert_eq!((p.ahead, p.n, p.verdict()), (3, 3, Verdict::TooFew));
        // Unequal lengths (a rep missing on one side) are not paired at all.
        let p = Paired::of(Better::Lower, &five[..4], &more);
        assert_eq!((p.ahead, p.n, p.verdict()), (0, 0, Verdict::TooFew));
        // NaN compares neither way.
        let p = Paired::of(Better::Lower, &[f64::NAN; 5], &more);
        assert_eq!((p.ahead, p.behind, p.verdict()), (0, 0, Verdict::Split));
    }
}
