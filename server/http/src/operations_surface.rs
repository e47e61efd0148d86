//! The operator's endpoints: `/metrics` (Prometheus), `/healthz` (the process
//! is up) and `/readyz` (the database answers and the packages are loaded).

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::AppState;

/// The operator routes.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(ready))
}

async fn metrics(State(app): State<Arc<AppState>>) -> Response {
    let (size, idle) = app.repo.store.pool_stats();
    metrics::gauge!("tillit_db_pool_connections").set(f64::from(size));
    metrics::gauge!("tillit_db_pool_idle_connections").set(idle as f64);
    match &app.metrics {
        Some(handle) => (
            [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
            handle.render(),
        )
            .into_response(),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            "metrics recorder not installed",
        )
            .into_response(),
    }
}

async fn ready(State(app): State<Arc<AppState>>) -> Response {
    let database = app.repo.store.ping().await;
    let packages = !app.repo.registry.packages().is_empty();
    let status = if database && packages {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = serde_json::json!({ "database": database, "packages": packages }).to_string();
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}
