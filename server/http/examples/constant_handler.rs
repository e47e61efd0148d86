//! The yardstick for read benchmarks: an axum server that answers every
//! request with the same FHIR JSON body, doing no work at all. Read throughput
//! of Tillit is reported as a fraction of this handler's, measured in the same run.
//!
//! `cargo run --release -p tillit-http --example constant_handler -- 127.0.0.1:18182 body.json`

use axum::http::header;
use axum::routing::get;
use axum::Router;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let listen = args.next().unwrap_or_else(|| "127.0.0.1:18182".into());
    let body = match args.next() {
        Some(path) => std::fs::read_to_string(path)?,
        None => r#"{"resourceType":"Patient","id":"constant"}"#.to_owned(),
    };
    let body: &'static str = Box::leak(body.into_boxed_str());
    let app = Router::new().route(
        "/fhir/{type}/{id}",
        get(move || async move {
            (
                [(header::CONTENT_TYPE, "application/fhir+json; charset=utf-8")],
                body,
            )
        }),
    );
    let listener = tokio::net::TcpListener::bind(listen).await?;
    axum::serve(listener, app).await
}
