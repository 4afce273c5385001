//! Prometheus metrics: request counts and latencies per route and status.

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// Labels of HTTP metrics.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct HttpLabels {
    /// HTTP method.
    pub method: String,
    /// Route template (`/v3/analytics_engines/{instance_id}`), never a raw path.
    pub route: String,
    /// Status code.
    pub status: u16,
}

/// The metrics registry and handles.
pub struct Metrics {
    registry: Registry,
    /// Requests served.
    pub requests: Family<HttpLabels, Counter>,
    /// Request latency (seconds).
    pub latency: Family<HttpLabels, Histogram>,
    /// Token exchanges by outcome.
    pub token_exchanges: Family<Vec<(String, String)>, Counter>,
}

fn latency_histogram() -> Histogram {
    Histogram::new([
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    ])
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("sparkplane");
        let requests = Family::<HttpLabels, Counter>::default();
        let latency = Family::<HttpLabels, Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        let token_exchanges = Family::<Vec<(String, String)>, Counter>::default();
        registry.register("http_requests", "HTTP requests served", requests.clone());
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency",
            latency.clone(),
        );
        registry.register(
            "token_exchanges",
            "API key to token exchanges",
            token_exchanges.clone(),
        );
        Self {
            registry,
            requests,
            latency,
            token_exchanges,
        }
    }
}

impl Metrics {
    /// Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}
