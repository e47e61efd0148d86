//! Observability for every request: a request id, a tracing span with method,
//! path, status and duration, and Prometheus counters and latency histograms
//! labelled by interaction, resource type and status.

use std::time::Instant;

use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;
use metrics::Label;
use tracing::Instrument;

/// Wraps one request in its span and records its metrics.
pub async fn observe(
    State(app): State<Arc<crate::AppState>>,
    request: Request,
    next: Next,
) -> Response {
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
        tracing::info!(
            status,
            duration_ms = elapsed.as_secs_f64() * 1000.0,
            "request finished"
        );
    });
    // Static label values where possible: this runs on every request.
    let labels = [
        Label::from_static_parts("interaction", interaction(&method, &route)),
        Label::new("type", resource_type),
        match response.status().canonical_reason() {
            Some(_) => Label::new("status", status_text(status)),
            None => Label::new("status", status.to_string()),
        },
    ];
    metrics::histogram!("tillit_http_request_duration_seconds", labels[..2].to_vec())
        .record(elapsed.as_secs_f64());
    metrics::counter!("tillit_http_requests_total", labels.to_vec()).increment(1);
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

/// The status code as a static string for the statuses the server sends.
fn status_text(status: u16) -> metrics::SharedString {
    let text: &'static str = match status {
        200 => "200",
        201 => "201",
        204 => "204",
        304 => "304",
        400 => "400",
        404 => "404",
        405 => "405",
        406 => "406",
        409 => "409",
        410 => "410",
        412 => "412",
        413 => "413",
        415 => "415",
        422 => "422",
        500 => "500",
        other => return metrics::SharedString::from(other.to_string()),
    };
    metrics::SharedString::const_str(text)
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
