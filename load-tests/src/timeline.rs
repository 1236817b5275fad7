//! One sample of a run's timeline: the runner takes it, the result keeps it, the chart draws
//! it and [`crate::steady`] judges it. A leaf, so none of those import each other for it.

use serde::Serialize;

/// One point of the timeline chart.
#[derive(Debug, Clone, Serialize)]
pub struct TimelinePoint {
    /// Seconds since the ramp started.
    pub t_s: f64,
    /// Sites (and chair) with media up.
    pub sites_connected: usize,
    /// SFU datagrams sent per second.
    pub tx_pps: Option<f64>,
    /// SFU datagrams received per second.
    pub rx_pps: Option<f64>,
    /// SFU process CPU, percent of one core.
    pub sfu_cpu_pct: Option<f64>,
    /// Load generator CPU, percent of one core.
    pub generator_cpu_pct: Option<f64>,
    /// SFU resident memory, MiB.
    pub sfu_rss_mib: Option<f64>,
    /// SFU open file descriptors.
    pub sfu_fds: Option<u64>,
}
