//! Building responses: resources with their version headers, Bundles, and
//! the one place where errors become a status and an OperationOutcome.

use std::any::Any;

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use tillit_interactions::{Error, Stored};
use tillit_model::{operation_outcome, Issue, IssueType, ResourceKey};

use crate::negotiate::{Negotiated, Return};

/// Why a request failed at the edge or below it.
#[derive(Debug)]
pub enum Failure {
    /// An interaction failed.
    Fhir(Error),
    /// The edge refused the request (format, content type, route).
    Status(StatusCode, IssueType, String),
}

impl From<Error> for Failure {
    fn from(err: Error) -> Failure {
        Failure::Fhir(err)
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let (status, issues) = match self {
            Failure::Fhir(Error::Terminology(err)) => {
                // Terminology clients key on the issue's tx-issue-type coding.
                let status = StatusCode::from_u16(err.status).unwrap_or(StatusCode::BAD_REQUEST);
                return json_response(status, err.to_outcome().to_string(), &Negotiated::default());
            }
            Failure::Fhir(err) => {
                if let Error::Store(source) = &err {
                    tracing::error!(%source, "store failure"); // logged here, never sent
                }
                let status =
                    StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                (status, err.issues())
            }
            Failure::Status(status, code, text) => (status, vec![Issue::error(code, text)]),
        };
        json_response(
            status,
            operation_outcome(&issues).to_string(),
            &Negotiated::default(),
        )
    }
}

/// A JSON body with the negotiated media type, pretty-printed on request.
pub fn json_response(status: StatusCode, body: String, negotiated: &Negotiated) -> Response {
    let body = if negotiated.pretty {
        serde_json::from_str::<serde_json::Value>(&body)
            .and_then(|v| serde_json::to_string_pretty(&v))
            .unwrap_or(body)
    } else {
        body
    };
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(negotiated.media),
    );
    response
}

/// A response carrying one resource version with `ETag`, `Last-Modified`
/// and, for writes, `Location`, shaped by `Prefer: return=`.
pub fn resource_response(
    status: StatusCode,
    base_url: &str,
    key: &ResourceKey,
    stored: &Stored,
    body: Option<String>,
    negotiated: &Negotiated,
    location: bool,
) -> Response {
    let body = match negotiated.prefer {
        Return::Representation => body.or_else(|| stored.content.clone()),
        Return::Minimal if location => None,
        Return::Minimal => body.or_else(|| stored.content.clone()),
        Return::OperationOutcome => Some(
            operation_outcome(&[Issue::information(
                IssueType::Informational,
                format!("{key} is at version {}", stored.version),
            )])
            .to_string(),
        ),
    };
    let mut response = match body {
        Some(body) => json_response(status, body, negotiated),
        None => {
            let mut r = Response::new(Body::empty());
            *r.status_mut() = status;
            r
        }
    };
    let headers = response.headers_mut();
    let mut set = |name, value: String| {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(name, value);
        }
    };
    set(header::ETAG, stored.version.etag());
    set(header::LAST_MODIFIED, stored.last_updated.http_date());
    if location {
        let url = format!("{base_url}/{key}/_history/{}", stored.version);
        set(header::LOCATION, url.clone());
        set(header::CONTENT_LOCATION, url);
    }
    response
}

/// 404 for paths outside the API.
pub async fn unknown_route() -> Failure {
    Failure::Status(
        StatusCode::NOT_FOUND,
        IssueType::NotFound,
        "No such endpoint; the FHIR API is under /fhir".into(),
    )
}

/// The last resort: a panic becomes a 500 OperationOutcome, never a dropped connection.
pub fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let text = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("unknown panic");
    tracing::error!(panic = text, "request handler panicked");
    metrics::counter!("tillit_panics_total").increment(1);
    Failure::Status(
        StatusCode::INTERNAL_SERVER_ERROR,
        IssueType::Exception,
        "The server failed while handling the request; the failure has been logged".into(),
    )
    .into_response()
}
