//! Counters behind `/metrics` (Prometheus text format), one registry per server.
use std::sync::Arc;

use prometheus_client::{
    encoding::text::encode,
    metrics::{counter::Counter, family::Family, gauge::Gauge},
    registry::Registry,
};

/// Labels of a per-user throughput gauge: `user_id`, `direction`.
pub type BandwidthLabels = Vec<(String, String)>;

/// Labels of a byte counter: `protocol` (`chunked`, `rest`, `webdav`).
pub type ProtocolLabels = Vec<(String, String)>;

/// The protocols file bytes travel by, as the `protocol` label says them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// Resumable chunked uploads (`/api/sync/upload/…`).
    Chunked,
    /// REST downloads (`/api/sync/files/content`).
    Rest,
    /// WebDAV `PUT` and `GET`.
    Webdav,
    /// tus uploads (`/api/tus/…`).
    Tus,
}

impl Protocol {
    fn label(self) -> ProtocolLabels {
        let name = match self {
            Protocol::Chunked => "chunked",
            Protocol::Rest => "rest",
            Protocol::Webdav => "webdav",
            Protocol::Tus => "tus",
        };
        vec![("protocol".to_owned(), name.to_owned())]
    }
}

/// The server's counters; cloning shares them.
#[derive(Clone, Debug)]
pub struct Metrics {
    registry: Arc<Registry>,
    /// Chunked uploads started.
    pub uploads_started: Counter,
    /// Chunked uploads assembled and committed.
    pub uploads_completed: Counter,
    /// Chunked uploads that failed at assembly.
    pub uploads_failed: Counter,
    /// Verified chunk bytes stored.
    pub bytes_received: Counter,
    /// Bytes per second per user and direction, from the throughput monitor.
    pub bandwidth: Family<BandwidthLabels, Gauge>,
    /// File bytes received, per protocol.
    received: Family<ProtocolLabels, Counter>,
    /// File bytes sent, per protocol.
    sent: Family<ProtocolLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("ferry");
        let metrics = Self {
            registry: Arc::new(Registry::default()),
            uploads_started: Counter::default(),
            uploads_completed: Counter::default(),
            uploads_failed: Counter::default(),
            bytes_received: Counter::default(),
            bandwidth: Family::default(),
            received: Family::default(),
            sent: Family::default(),
        };
        registry.register(
            "uploads_started",
            "Chunked uploads started",
            metrics.uploads_started.clone(),
        );
        registry.register(
            "uploads_completed",
            "Chunked uploads committed",
            metrics.uploads_completed.clone(),
        );
        registry.register(
            "uploads_failed",
            "Chunked uploads that failed",
            metrics.uploads_failed.clone(),
        );
        registry.register(
            "upload_bytes_received",
            "Verified chunk bytes stored",
            metrics.bytes_received.clone(),
        );
        registry.register(
            "bandwidth_bytes_per_second",
            "Throughput per user and direction over the last second",
            metrics.bandwidth.clone(),
        );
        registry.register(
            "received_bytes",
            "File bytes received, by protocol",
            metrics.received.clone(),
        );
        registry.register(
            "sent_bytes",
            "File bytes sent, by protocol",
            metrics.sent.clone(),
        );
        Self {
            registry: Arc::new(registry),
            ..metrics
        }
    }
}

impl Metrics {
    /// Count `bytes` of file content received over `protocol`.
    pub fn received(&self, protocol: Protocol, bytes: u64) {
        self.received.get_or_create(&protocol.label()).inc_by(bytes);
    }

    /// Count `bytes` of file content sent over `protocol`.
    pub fn sent(&self, protocol: Protocol, bytes: u64) {
        self.sent.get_or_create(&protocol.label()).inc_by(bytes);
    }

    /// The registry in Prometheus text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_with_totals() {
        let metrics = Metrics::default();
        metrics.uploads_started.inc();
        metrics.bytes_received.inc_by(42);
        let text = metrics.render();
        assert!(text.contains("ferry_uploads_started_total 1"), "{text}");
        assert!(
            text.contains("ferry_upload_bytes_received_total 42"),
            "{text}"
        );
    }
}
