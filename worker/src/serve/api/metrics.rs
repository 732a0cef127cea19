//! Prometheus metrics (`GET /metrics`, text exposition format): requests by endpoint and status,
//! tokens, time to first token, and the engine's live figures.

use super::ApiState;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use std::sync::{Arc, Mutex};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub endpoint: &'static str,
    pub status: u16,
}

pub struct Metrics {
    registry: Mutex<Registry>,
    pub requests: Family<RequestLabels, Counter>,
    pub prompt_tokens: Counter,
    pub completion_tokens: Counter,
    pub time_to_first_token: Histogram,
    running: Gauge,
    waiting: Gauge,
    adapters_resident: Gauge,
    adapter_loads: Gauge,
    cancelled: Gauge,
    huge_page_bytes: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("attribution_worker");
        let metrics = Self {
            requests: Family::default(),
            prompt_tokens: Counter::default(),
            completion_tokens: Counter::default(),
            time_to_first_token: Histogram::new(exponential_buckets(0.01, 2.0, 12)),
            running: Gauge::default(),
            waiting: Gauge::default(),
            adapters_resident: Gauge::default(),
            adapter_loads: Gauge::default(),
            cancelled: Gauge::default(),
            huge_page_bytes: Gauge::default(),
            registry: Mutex::new(Registry::default()),
        };
        registry.register("requests", "HTTP requests served", metrics.requests.clone());
        registry.register(
            "prompt_tokens",
            "Prompt tokens read",
            metrics.prompt_tokens.clone(),
        );
        registry.register(
            "completion_tokens",
            "Tokens generated",
            metrics.completion_tokens.clone(),
        );
        registry.register(
            "time_to_first_token_seconds",
            "From arrival to the first generated token",
            metrics.time_to_first_token.clone(),
        );
        registry.register(
            "running_requests",
            "Requests in the batch",
            metrics.running.clone(),
        );
        registry.register(
            "waiting_requests",
            "Requests queued",
            metrics.waiting.clone(),
        );
        registry.register(
            "adapters_resident",
            "Adapters held by the runtime",
            metrics.adapters_resident.clone(),
        );
        registry.register(
            "adapter_loads",
            "Adapters loaded into the runtime since start",
            metrics.adapter_loads.clone(),
        );
        registry.register(
            "requests_cancelled",
            "Requests whose client hung up before the answer ended",
            metrics.cancelled.clone(),
        );
        registry.register(
            "anonymous_huge_page_bytes",
            "Process memory on transparent huge pages (AnonHugePages of /proc/self/smaps_rollup)",
            metrics.huge_page_bytes.clone(),
        );
        *metrics.registry.lock().unwrap() = registry;
        metrics
    }
}

impl Metrics {
    pub fn request(&self, endpoint: &'static str, status: u16) {
        self.requests
            .get_or_create(&RequestLabels { endpoint, status })
            .inc();
    }
}

pub async fn render(State(state): State<Arc<ApiState>>) -> impl IntoResponse {
    let stats = state.engine.stats();
    let metrics = &state.metrics;
    metrics.running.set(stats.running as i64);
    metrics.waiting.set(stats.waiting as i64);
    metrics
        .adapters_resident
        .set(stats.adapters_resident as i64);
    metrics.adapter_loads.set(stats.adapter_loads as i64);
    metrics.cancelled.set(stats.requests_cancelled as i64);
    if let Some(bytes) = crate::memory::anonymous_huge_page_bytes() {
        metrics.huge_page_bytes.set(bytes as i64);
    }
    let mut body = String::new();
    let registry = metrics.registry.lock().unwrap();
    // Writing into a String cannot fail.
    let _ = encode(&mut body, &registry);
    (
        [(
            CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        body,
    )
}
