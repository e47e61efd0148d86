//! Tillit's HTTP edge: axum routes for the FHIR RESTful API, content
//! negotiation, body limits, request ids, tracing spans, Prometheus metrics,
//! health checks and the single mapping of errors to OperationOutcomes.

mod negotiate;
mod observe;
mod operations_surface;
mod pages;
mod respond;
mod routes;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::Router;
use metrics_exporter_prometheus::PrometheusHandle;
use tillit_interactions::Repository;
use tower_http::catch_panic::CatchPanicLayer;

/// Settings of the HTTP edge.
#[derive(Clone, Debug)]
pub struct HttpOptions {
    /// The largest request body accepted, in bytes; larger ones get 413.
    pub body_limit: usize,
}

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub(crate) repo: Repository,
    pub(crate) metrics: Option<PrometheusHandle>,
    /// The background `$reindex`, if one was asked for.
    pub(crate) reindex: tillit_interactions::reindex::Job,
}

/// The whole application: FHIR API under `/fhir`, plus `/metrics`, `/healthz`
/// and `/readyz`. `metrics` is the installed Prometheus recorder, if any.
pub fn app(repo: Repository, options: &HttpOptions, metrics: Option<PrometheusHandle>) -> Router {
    let state = Arc::new(AppState {
        repo,
        metrics,
        reindex: tillit_interactions::reindex::Job::default(),
    });
    Router::new()
        .merge(routes::fhir_routes())
        .merge(operations_surface::routes())
        .fallback(respond::unknown_route)
        .with_state(state.clone())
        .layer(DefaultBodyLimit::max(options.body_limit))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            observe::observe,
        ))
        .layer(CatchPanicLayer::custom(respond::panic_response))
}

/// Installs the global Prometheus recorder and returns its handle for `/metrics`.
pub fn install_metrics() -> Option<PrometheusHandle> {
    metrics_exporter_prometheus::PrometheusBuilder::new()
        .set_buckets(&[
            0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
        ])
        .ok()?
        .install_recorder()
        .ok()
}

/// Serves `router` on `listener` until `shutdown` completes, then waits for
/// in-flight requests to finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await
}
