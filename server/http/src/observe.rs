//! Observability for every request: a request id, a tracing span with method,
//! path, status and duration, and Prometheus counters and latency histograms
//! labelled by interaction, resource type and status.

use std::time::Instant;

use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

/// Wraps one request in its span and records its metrics.
pub async fn observe(State(app): State<Arc<crate::AppState>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128)
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_default();
    let resource_type = path
        .strip_prefix("/fhir/")
        .and_then(|rest| rest.split('/').next())
        // Only known types become label values: a URL must not mint metric series.
        .filter(|t| app.repo.registry.is_resource_type(t))
        .unwrap_or("")
        .to_owned();
    let span = tracing::info_span!("request", id = %request_id, %method, %path);
    let mut response = next.run(request).instrument(span.clone()).await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    span.in_scope(|| {
        tracing::info!(status, duration_ms = elapsed.as_secs_f64() * 1000.0, "request finished");
    });
    let interaction = interaction(&method, &route);
    let labels = [
        ("interaction", interaction.to_owned()),
        ("type", resource_type),
        ("status", status.to_string()),
    ];
    metrics::counter!("tillit_http_requests_total", &labels).increment(1);
    metrics::histogram!("tillit_http_request_duration_seconds", &labels[..2])
        .record(elapsed.as_secs_f64());
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

/// The FHIR interaction a route and method stand for.
fn interaction(method: &Method, route: &str) -> &'static str {
    let tail = route.strip_prefix("/fhir").unwrap_or(route);
    match (method.as_str(), tail) {
        (_, "/metadata") => "capabilities",
        ("POST", "" | "/") => "batch-transaction",
        (_, "/_history") => "history-system",
        ("GET", "/{type}") | ("POST", "/{type}/_search") => "search-type",
        ("POST", "/{type}") => "create",
        ("PUT", "/{type}") => "conditional-update",
        ("DELETE", "/{type}") => "conditional-delete",
        ("PATCH", "/{type}") => "conditional-patch",
        (_, "/{type}/_history") => "history-type",
        ("GET", "/{type}/{id}") => "read",
        ("PUT", "/{type}/{id}") => "update",
        ("PATCH", "/{type}/{id}") => "patch",
        ("DELETE", "/{type}/{id}") => "delete",
        (_, "/{type}/{id}/_history") => "history-instance",
        (_, "/{type}/{id}/_history/{vid}") => "vread",
        (_, "/metrics") | (_, "/healthz") | (_, "/readyz") => "operations",
        _ => "other",
    }
}
