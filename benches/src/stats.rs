//! Medians and percentiles.

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
}
