//! Prometheus metrics, served at `/metrics` on the admin listener.

use crate::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::collections::HashMap;
use std::sync::{LazyLock, OnceLock, PoisonError, RwLock};

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

const LATENCY_BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// The process-wide recorder, installed on first use. (A process may run
/// several servers, as tests do; they share one registry.)
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let builder = || {
            PrometheusBuilder::new()
                .set_buckets_for_metric(
                    metrics_exporter_prometheus::Matcher::Suffix("_seconds".into()),
                    &LATENCY_BUCKETS,
                )
                .expect("static buckets are valid")
        };
        builder().install_recorder().unwrap_or_else(|e| {
            tracing::warn!(error = %e, "another metrics recorder is installed; /metrics will be empty");
            builder().build_recorder().handle()
        })
    })
}

pub async fn metrics_get(State(app): State<AppState>) -> impl IntoResponse {
    let h = handle();
    let pool = app.server.pool_stats();
    metrics::gauge!("oneauth_db_pool_connections").set(f64::from(pool.size));
    metrics::gauge!("oneauth_db_pool_idle_connections").set(f64::from(pool.idle));
    h.run_upkeep();
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        h.render(),
    )
}

/// The request metrics of one route, method and status.
struct RequestMetrics {
    method: String,
    status: u16,
    duration: metrics::Histogram,
    count: metrics::Counter,
}

/// Handles by route, registered on first use: a request then costs a map
/// lookup instead of building, hashing and looking up its label set in the
/// registry (allocations on every request).
static REQUEST_METRICS: LazyLock<RwLock<HashMap<String, Vec<RequestMetrics>>>> =
    LazyLock::new(RwLock::default);

/// Counts a request and its latency, by route template (never the raw
/// path, which may carry ids).
pub fn record_request(route: &str, method: &str, status: u16, seconds: f64) {
    let find = |all: &HashMap<String, Vec<RequestMetrics>>| -> Option<(metrics::Histogram, metrics::Counter)> {
        all.get(route)?
            .iter()
            .find(|m| m.status == status && m.method == method)
            .map(|m| (m.duration.clone(), m.count.clone()))
    };
    let known = find(
        &REQUEST_METRICS
            .read()
            .unwrap_or_else(PoisonError::into_inner),
    );
    let (duration, count) = known.unwrap_or_else(|| {
        let mut all = REQUEST_METRICS
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        find(&all).unwrap_or_else(|| {
            let labels = [("route", route.to_owned()), ("method", method.to_owned())];
            let duration = metrics::histogram!("oneauth_http_request_duration_seconds", &labels);
            let mut with_status = labels.to_vec();
            with_status.push(("status", status.to_string()));
            let count = metrics::counter!("oneauth_http_requests_total", &with_status);
            all.entry(route.to_owned())
                .or_default()
                .push(RequestMetrics {
                    method: method.to_owned(),
                    status,
                    duration: duration.clone(),
                    count: count.clone(),
                });
            (duration, count)
        })
    });
    duration.record(seconds);
    count.increment(1);
}

#[cfg(test)]
mod tests {
    #[test]
    fn recorded_metrics_render() {
        let h = super::handle();
        metrics::counter!("oneauth_test_total").increment(1);
        super::record_request("/r", "GET", 200, 0.01);
        super::record_request("/r", "GET", 200, 0.01);
        super::record_request("/r", "GET", 404, 0.01);
        let text = h.render();
        assert!(text.contains("oneauth_test_total 1"), "{text}");
        assert!(text.contains("oneauth_http_request_duration_seconds_bucket{route=\"/r\",method=\"GET\",le=\"0.025\"} 3"), "{text}");
        assert!(
            text.contains(
                "oneauth_http_requests_total{route=\"/r\",method=\"GET\",status=\"200\"} 2"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "oneauth_http_requests_total{route=\"/r\",method=\"GET\",status=\"404\"} 1"
            ),
            "{text}"
        );
    }
}
