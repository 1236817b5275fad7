//! Prometheus metrics of the signaling service, named `diemcau_signaling_*`.

use prometheus::{IntCounterVec, IntGauge, Opts, Registry};

/// The signaling series.
#[derive(Clone, Debug)]
pub struct Metrics {
    /// Open WebSocket sessions (joined or not).
    pub sessions: IntGauge,
    /// Sites joined to a meeting now.
    pub sites_connected: IntGauge,
    /// Meetings not ended.
    pub meetings: IntGauge,
    /// Messages refused, by error code.
    pub errors: IntCounterVec,
}

impl Metrics {
    /// Creates and registers the series.
    pub fn register(registry: &Registry) -> Result<Self, prometheus::Error> {
        let m = Metrics {
            sessions: IntGauge::new("diemcau_signaling_sessions", "Open signaling WebSocket sessions")?,
            sites_connected: IntGauge::new("diemcau_signaling_sites_connected", "Sites joined to a meeting now")?,
            meetings: IntGauge::new("diemcau_signaling_meetings", "Meetings held and not ended")?,
            errors: IntCounterVec::new(
                Opts::new("diemcau_signaling_errors_total", "Client messages refused, by error code"),
                &["code"],
            )?,
        };
        registry.register(Box::new(m.sessions.clone()))?;
        registry.register(Box::new(m.sites_connected.clone()))?;
        registry.register(Box::new(m.meetings.clone()))?;
        registry.register(Box::new(m.errors.clone()))?;
        Ok(m)
    }
}
