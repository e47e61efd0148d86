//! FHIR content negotiation: `_format`, `Accept`, `Content-Type`, `Prefer` and `_pretty`.
//! <https://hl7.org/fhir/R4/http.html#mime-type>

use axum::http::HeaderMap;
use axum::http::StatusCode;
use tillit_model::IssueType;

use crate::respond::Failure;

/// The FHIR JSON media type, used unless the client asked for plain JSON.
pub const FHIR_JSON: &str = "application/fhir+json; charset=utf-8";
/// Plain JSON, for clients whose `Accept` or `_format` names `application/json`.
pub const PLAIN_JSON: &str = "application/json; charset=utf-8";

/// What the client asked for in its headers and result parameters.
#[derive(Clone, Debug)]
pub struct Negotiated {
    /// `_pretty=true`.
    pub pretty: bool,
    /// `Prefer: return=…`.
    pub prefer: Return,
    /// `Prefer: handling=strict`.
    pub strict: bool,
    /// The media type of the response body.
    pub media: &'static str,
    /// Whether a person's browser asked (`text/html` first, or `_format=html`):
    /// conformance resources then get their page.
    pub html: bool,
}

impl Default for Negotiated {
    fn default() -> Negotiated {
        Negotiated {
            pretty: false,
            prefer: Return::default(),
            strict: false,
            media: FHIR_JSON,
            html: false,
        }
    }
}

/// `Prefer: return=`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Return {
    /// The resource (the default).
    #[default]
    Representation,
    /// No body.
    Minimal,
    /// An OperationOutcome.
    OperationOutcome,
}

/// Reads the negotiation headers and parameters; XML (which a later release
/// adds) and other formats are refused with 406.
pub fn negotiate(headers: &HeaderMap, params: &[(String, String)]) -> Result<Negotiated, Failure> {
    let format = params
        .iter()
        .find(|(k, _)| k == "_format")
        .map(|(_, v)| v.as_str());
    let accept = headers
        .get("accept")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("*/*");
    let wanted = format.unwrap_or(accept);
    if !accepts_json(wanted) {
        return Err(Failure::Status(
            StatusCode::NOT_ACCEPTABLE,
            IssueType::NotSupported,
            format!("This server answers in FHIR JSON only (application/fhir+json); '{wanted}' (XML comes in a later release) cannot be served"),
        ));
    }
    let prefer = headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split([',', ';']))
        .map(str::trim)
        .collect::<Vec<_>>();
    Ok(Negotiated {
        pretty: params.iter().any(|(k, v)| k == "_pretty" && v == "true"),
        prefer: if prefer.contains(&"return=minimal") {
            Return::Minimal
        } else if prefer.contains(&"return=OperationOutcome") {
            Return::OperationOutcome
        } else {
            Return::Representation
        },
        strict: prefer.contains(&"handling=strict"),
        media: if prefers_plain_json(wanted) {
            PLAIN_JSON
        } else {
            FHIR_JSON
        },
        html: prefers_html(wanted),
    })
}

/// Whether the first media type the client names is `text/html` (`html` in `_format`).
fn prefers_html(wanted: &str) -> bool {
    wanted.split(',').next().is_some_and(|first| {
        let media = first.split(';').next().unwrap_or("").trim();
        media.eq_ignore_ascii_case("text/html") || media.eq_ignore_ascii_case("html")
    })
}

/// Whether the first media type the client names is plain `application/json`.
fn prefers_plain_json(wanted: &str) -> bool {
    wanted.split(',').next().is_some_and(|first| {
        first
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .eq_ignore_ascii_case("application/json")
    })
}

fn accepts_json(wanted: &str) -> bool {
    wanted.split(',').any(|part| {
        let media = part
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        matches!(
            media.as_str(),
            "json"
                | "application/json"
                | "application/fhir+json"
                | "application/json+fhir"
                | "*/*"
                | "application/*"
                | "text/html"
                | "html"
                | "text/plain"
                | ""
        )
    })
}

/// Checks a request body's `Content-Type`: FHIR JSON or plain JSON (and
/// JSON Patch where `patch` is set); XML and others get 415.
pub fn check_content_type(headers: &HeaderMap, patch: bool) -> Result<(), Failure> {
    let Some(raw) = headers.get("content-type").and_then(|v| v.to_str().ok()) else {
        return Ok(());
    };
    let media = raw
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let ok = matches!(
        media.as_str(),
        "application/fhir+json" | "application/json" | "application/json+fhir"
    ) || (patch && media == "application/json-patch+json");
    if ok {
        Ok(())
    } else {
        Err(Failure::Status(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            IssueType::NotSupported,
            format!("The content type '{raw}' is not supported; send application/fhir+json"),
        ))
    }
}
