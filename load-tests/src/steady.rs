//! Whether the server's memory and open files stay flat over a long run (the soak verdict).
//!
//! The samples after warm-up are cut into thirds; the server is flat when the highest reading
//! of the last third is no more than [`RSS_SLACK`] (and [`RSS_SLACK_MIB`]) above the highest of
//! the first, and its open files no more than [`FD_SLACK`] above. Highs, not means: with churn
//! the readings swing with the sites that are connected at the moment, and every third sees
//! the same swings. The least-squares slope per hour is reported next to it.

use serde::Serialize;

use crate::timeline::TimelinePoint;

/// RSS may grow this share from the first third's high to the last third's.
pub const RSS_SLACK: f64 = 0.05;
/// ... plus this many MiB (allocator noise on small processes).
pub const RSS_SLACK_MIB: f64 = 2.0;
/// Open files may grow by this many.
pub const FD_SLACK: f64 = 4.0;

/// One quantity over the samples after warm-up.
#[derive(Debug, Clone, Serialize)]
pub struct Trend {
    /// Highest reading in the first third.
    pub first_high: f64,
    /// Highest reading in the last third.
    pub last_high: f64,
    /// Least-squares slope, units per hour.
    pub per_hour: f64,
}

/// The verdict over the samples after warm-up.
#[derive(Debug, Clone, Serialize)]
pub struct Steadiness {
    /// Samples assessed.
    pub samples: usize,
    /// Seconds they span.
    pub span_s: f64,
    /// Server RSS, MiB.
    pub rss_mib: Trend,
    /// Server open file descriptors.
    pub fds: Option<Trend>,
    /// Both within their slack.
    pub flat: bool,
}

fn trend(points: &[(f64, f64)]) -> Trend {
    let third = (points.len() / 3).max(1);
    let high = |s: &[(f64, f64)]| s.iter().map(|p| p.1).fold(f64::MIN, f64::max);
    let n = points.len() as f64;
    let (mt, mv) = (
        points.iter().map(|p| p.0).sum::<f64>() / n,
        points.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let var: f64 = points.iter().map(|p| (p.0 - mt).powi(2)).sum();
    let cov: f64 = points.iter().map(|p| (p.0 - mt) * (p.1 - mv)).sum();
    Trend {
        first_high: high(&points[..third]),
        last_high: high(&points[points.len() - third..]),
        per_hour: if var > 0.0 { cov / var * 3600.0 } else { 0.0 },
    }
}

/// Assesses the timeline's points from `from_s` (seconds since the ramp started) on; `None`
/// with fewer than 6 samples or no RSS readings.
pub fn assess(points: &[TimelinePoint], from_s: f64) -> Option<Steadiness> {
    let after: Vec<&TimelinePoint> = points.iter().filter(|p| p.t_s >= from_s).collect();
    let rss: Vec<(f64, f64)> = after
        .iter()
        .filter_map(|p| Some((p.t_s, p.sfu_rss_mib?)))
        .collect();
    if rss.len() < 6 {
        return None;
    }
    let fds: Vec<(f64, f64)> = after
        .iter()
        .filter_map(|p| Some((p.t_s, p.sfu_fds? as f64)))
        .collect();
    let rss_mib = trend(&rss);
    let fds = (fds.len() >= 6).then(|| trend(&fds));
    let flat = rss_mib.last_high <= rss_mib.first_high * (1.0 + RSS_SLACK) + RSS_SLACK_MIB
        && fds
            .as_ref()
            .is_none_or(|f| f.last_high <= f.first_high + FD_SLACK);
    Some(Steadiness {
        samples: rss.len(),
        span_s: rss[rss.len() - 1].0 - rss[0].0,
        rss_mib,
        fds,
        flat,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn points(rss: impl Fn(f64) -> f64, fds: impl Fn(f64) -> u64) -> Vec<TimelinePoint> {
        (0..60)
            .map(|i| {
                let t = f64::from(i) * 10.0;
                TimelinePoint {
                    t_s: t,
                    sites_connected: 50,
                    tx_pps: None,
                    rx_pps: None,
                    sfu_cpu_pct: None,
                    generator_cpu_pct: None,
                    sfu_rss_mib: Some(rss(t)),
                    sfu_fds: Some(fds(t)),
                }
            })
            .collect()
    }

    #[test]
    fn swings_around_a_level_are_flat() {
        let p = points(
            |t| {
                100.0
                    + if (t as u64 / 10).is_multiple_of(5) {
                        3.0
                    } else {
                        0.0
                    }
            },
            |t| 60 + (t as u64 / 10) % 3,
        );
        let s = assess(&p, 0.0).unwrap();
        assert!(s.flat, "{s:?}");
        assert_eq!(s.samples, 60);
    }

    #[test]
    fn steady_growth_is_not_flat() {
        let leak = assess(&points(|t| 100.0 + t / 20.0, |_| 60), 0.0).unwrap();
        assert!(!leak.flat);
        assert!(
            (leak.rss_mib.per_hour - 180.0).abs() < 1.0,
            "{:?}",
            leak.rss_mib
        );
        let fd_leak = assess(&points(|_| 100.0, |t| 60 + t as u64 / 50), 0.0).unwrap();
        assert!(!fd_leak.flat);
    }

    #[test]
    fn warm_up_is_left_out() {
        let p = points(|t| if t < 300.0 { 20.0 + t / 3.0 } else { 120.0 }, |_| 60);
        assert!(!assess(&p, 0.0).unwrap().flat);
        assert!(assess(&p, 300.0).unwrap().flat);
    }
}
