//! The FHIR routes: each handler parses the request into typed values, calls
//! one interaction and shapes its response. No FHIR logic lives here.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, MethodRouter};
use axum::Router;
use tillit_interactions::store::Visibility;
use tillit_interactions::store::{HistoryScope, Reader};
use tillit_interactions::subset::Subset;
use tillit_interactions::{
    capabilities, conditional::parse_query, create, delete, everything, history, parse_json, patch,
    read, search, terminology, transaction, update, validate, vread, Error,
};
use tillit_model::{Id, Instant, Issue, IssueType, ResourceKey, VersionId};

use crate::negotiate::{check_content_type, negotiate, Negotiated};
use crate::respond::{json_response, resource_response, Failure};
use crate::{pages, AppState};

type Shared = State<Arc<AppState>>;
type Result<T> = std::result::Result<T, Failure>;
/// A request body as axum hands it over: the bytes, or why it refused them.
type RawBody = std::result::Result<Bytes, BytesRejection>;

/// Every FHIR route, under `/fhir` (the base itself with and without a slash).
pub fn fhir_routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/fhir", only(get(system_search).post(bundle)))
        .route("/fhir/", only(get(system_search).post(bundle)))
        .route("/fhir/_search", only(post(system_search_post)))
        .route("/fhir/metadata", only(get(metadata)))
        .route(
            "/fhir/$reindex",
            only(get(reindex_status).post(reindex_start)),
        )
        .route("/fhir/_history", only(get(system_history)))
        .route(
            "/fhir/{type}",
            only(
                get(type_search)
                    .post(type_create)
                    .put(type_update)
                    .delete(type_delete)
                    .patch(type_patch),
            ),
        )
        .route("/fhir/{type}/_search", only(post(type_search_post)))
        .route("/fhir/{type}/_history", only(get(type_history)))
        .route(
            "/fhir/{type}/{id}",
            only(
                get(instance_read)
                    .post(type_operation)
                    .put(instance_update)
                    .delete(instance_delete)
                    .patch(instance_patch),
            ),
        )
        .route("/fhir/{type}/{id}/_history", only(get(instance_history)))
        .route(
            "/fhir/{type}/{id}/{tail}",
            only(get(compartment_or_operation).post(compartment_or_operation_post)),
        )
        .route(
            "/fhir/{type}/{id}/_history/{vid}",
            only(get(instance_vread)),
        )
}

/// A route whose other methods get 405 with an OperationOutcome.
fn only(router: MethodRouter<Arc<AppState>>) -> MethodRouter<Arc<AppState>> {
    router.fallback(|| async {
        Failure::Status(
            StatusCode::METHOD_NOT_ALLOWED,
            IssueType::NotSupported,
            "This interaction is not supported on this URL".into(),
        )
    })
}

/// Path parameters; a path axum cannot decode gets a 400 OperationOutcome.
pub struct FhirPath<T>(T);

impl<S: Send + Sync, T: serde::de::DeserializeOwned + Send> FromRequestParts<S> for FhirPath<T> {
    type Rejection = Failure;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<FhirPath<T>> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(value)| FhirPath(value))
            .map_err(|rejection| {
                Failure::Status(
                    StatusCode::BAD_REQUEST,
                    IssueType::Invalid,
                    format!("The URL path is invalid: {}", rejection.body_text()),
                )
            })
    }
}

/// The parts of every FHIR request: decoded query parameters, negotiation, headers.
pub struct FhirRequest {
    params: Vec<(String, String)>,
    negotiated: Negotiated,
    headers: HeaderMap,
}

impl<S: Send + Sync> FromRequestParts<S> for FhirRequest {
    type Rejection = Failure;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<FhirRequest> {
        let params = parse_query(parts.uri.query().unwrap_or(""));
        let negotiated = negotiate(&parts.headers, &params)?;
        Ok(FhirRequest {
            params,
            negotiated,
            headers: parts.headers.clone(),
        })
    }
}

impl FhirRequest {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn if_match(&self) -> Result<Option<VersionId>> {
        match self.header("if-match") {
            None => Ok(None),
            Some(raw) => VersionId::parse(raw).map(Some).ok_or_else(|| {
                Failure::Fhir(Error::invalid(Issue::error(
                    IssueType::Value,
                    format!("If-Match '{raw}' is not a version ETag such as W/\"3\""),
                )))
            }),
        }
    }

    /// The body as JSON, after checking its size and content type.
    fn json(&self, body: RawBody, patch: bool) -> Result<serde_json::Value> {
        let body = body.map_err(body_refused)?;
        check_content_type(&self.headers, patch)?;
        Ok(parse_json(&body)?)
    }

    /// A form-encoded body (`POST [type]/_search`), after checking size and content type.
    fn form(&self, body: RawBody) -> Result<Bytes> {
        let body = body.map_err(body_refused)?;
        let media = self
            .header("content-type")
            .unwrap_or("application/x-www-form-urlencoded");
        if !media.starts_with("application/x-www-form-urlencoded") {
            return Err(Failure::Status(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                IssueType::NotSupported,
                format!("POST _search takes application/x-www-form-urlencoded, not '{media}'"),
            ));
        }
        Ok(body)
    }

    fn query(&self) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (k, v) in self
            .params
            .iter()
            .filter(|(k, _)| k != "_format" && k != "_pretty")
        {
            query.append_pair(k, v);
        }
        query.finish()
    }
}

/// A body axum refused (too large, unreadable) as an OperationOutcome.
fn body_refused(rejection: BytesRejection) -> Failure {
    let status = rejection.status();
    let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
        IssueType::TooLong
    } else {
        IssueType::Invalid
    };
    Failure::Status(
        status,
        code,
        format!("The request body was refused: {}", rejection.body_text()),
    )
}

fn key(resource_type: String, id: &str) -> Result<ResourceKey> {
    let id = Id::parse(id).map_err(|e| {
        Failure::Fhir(Error::invalid(Issue::error(
            IssueType::Value,
            e.to_string(),
        )))
    })?;
    Ok(ResourceKey::new(resource_type, id))
}

fn bundle_response(body: String, req: &FhirRequest) -> Response {
    json_response(StatusCode::OK, body, &req.negotiated)
}

async fn metadata(State(app): Shared, req: FhirRequest) -> Response {
    let terminology = req
        .params
        .iter()
        .any(|(name, value)| name == "mode" && value == "terminology");
    let statement = if terminology {
        capabilities::terminology_capabilities(&app.repo)
    } else {
        capabilities::capability_statement(&app.repo)
    };
    json_response(StatusCode::OK, statement.to_string(), &req.negotiated)
}

async fn bundle(State(app): Shared, req: FhirRequest, body: RawBody) -> Result<Response> {
    let bundle = req.json(body, false)?;
    if bundle.get("resourceType").and_then(|t| t.as_str()) != Some("Bundle") {
        return Err(Failure::Fhir(Error::invalid(Issue::error(
            IssueType::Invalid,
            "Only a batch or transaction Bundle can be posted to the base URL",
        ))));
    }
    let minimal = req.negotiated.prefer == crate::negotiate::Return::Minimal;
    Ok(bundle_response(
        transaction::process(&app.repo, bundle, minimal).await?,
        &req,
    ))
}

async fn system_history(State(app): Shared, req: FhirRequest) -> Result<Response> {
    let url = format!("{}/_history", app.repo.base_url);
    Ok(bundle_response(
        history::history(&app.repo, HistoryScope::System, &req.params, &url).await?,
        &req,
    ))
}

/// Runs a search over `scope` and answers with the searchset Bundle.
async fn run_search(
    app: &AppState,
    scope: search::Scope<'_>,
    params: &[(String, String)],
    url: &str,
    req: &FhirRequest,
) -> Result<Response> {
    let request = search::Request {
        scope,
        params,
        self_url: url,
        strict: req.negotiated.strict,
        visibility: &Visibility::default(),
    };
    let body = search::search(&app.repo, Reader::Committed(&app.repo.store), &request).await?;
    Ok(bundle_response(body, req))
}

/// The URL query parameters plus those of a `_search` form body.
fn with_form(req: &FhirRequest, body: RawBody) -> Result<Vec<(String, String)>> {
    let form = parse_query(&String::from_utf8_lossy(&req.form(body)?));
    Ok(req.params.iter().cloned().chain(form).collect())
}

async fn system_search(State(app): Shared, req: FhirRequest) -> Result<Response> {
    let url = app.repo.base_url.clone();
    run_search(&app, search::Scope::System, &req.params, &url, &req).await
}

async fn system_search_post(
    State(app): Shared,
    req: FhirRequest,
    body: RawBody,
) -> Result<Response> {
    let params = with_form(&req, body)?;
    let url = app.repo.base_url.clone();
    run_search(&app, search::Scope::System, &params, &url, &req).await
}

async fn type_search(
    State(app): Shared,
    FhirPath(t): FhirPath<String>,
    req: FhirRequest,
) -> Result<Response> {
    let url = format!("{}/{t}", app.repo.base_url);
    run_search(&app, search::Scope::Type(&t), &req.params, &url, &req).await
}

async fn type_search_post(
    State(app): Shared,
    FhirPath(t): FhirPath<String>,
    req: FhirRequest,
    body: RawBody,
) -> Result<Response> {
    let params = with_form(&req, body)?;
    let url = format!("{}/{t}", app.repo.base_url);
    run_search(&app, search::Scope::Type(&t), &params, &url, &req).await
}

/// `GET [base]/Patient/123/Observation` (compartment search) or
/// `GET [base]/Patient/123/$everything`.
async fn compartment_or_operation(
    State(app): Shared,
    FhirPath((t, id, tail)): FhirPath<(String, String, String)>,
    req: FhirRequest,
) -> Result<Response> {
    compartment_or_operation_with(&app, &t, &id, &tail, &req.params, &req).await
}

/// `POST [base]/Patient/$validate`: the one type-level operation, on the
/// route of `[type]/[id]`.
async fn type_operation(
    State(app): Shared,
    FhirPath((t, operation)): FhirPath<(String, String)>,
    req: FhirRequest,
    body: RawBody,
) -> Result<Response> {
    if terminology::is_terminology_operation(&t, &operation) {
        return run_terminology(&app, &t, None, &operation, &req, Some(body)).await;
    }
    if operation != "$validate" {
        return Err(Failure::Status(
            StatusCode::METHOD_NOT_ALLOWED,
            IssueType::NotSupported,
            format!("POST {t}/{operation} is not an interaction or operation of this server"),
        ));
    }
    run_validate(&app, &t, None, &req, Some(body)).await
}

/// An operation's POST body, if any, with its media type checked when it
/// has content.
fn operation_body(req: &FhirRequest, body: Option<RawBody>) -> Result<Option<Bytes>> {
    let Some(body) = body else {
        return Ok(None);
    };
    let bytes = body.map_err(body_refused)?;
    if !bytes.iter().all(u8::is_ascii_whitespace) {
        check_content_type(&req.headers, false)?;
    }
    Ok(Some(bytes))
}

/// `$validate` on a type or an instance: 200 with the OperationOutcome.
async fn run_validate(
    app: &AppState,
    t: &str,
    id: Option<&str>,
    req: &FhirRequest,
    body: Option<RawBody>,
) -> Result<Response> {
    let body = operation_body(req, body)?;
    let request = validate::Request {
        resource_type: t,
        id,
        body: body.as_deref(),
        params: &req.params,
    };
    let outcome = validate::validate(&app.repo, &request).await?;
    Ok(json_response(
        StatusCode::OK,
        outcome.to_string(),
        &req.negotiated,
    ))
}

/// A terminology operation (`$expand`, `$validate-code`, `$lookup`) on a
/// type or an instance: 200 with its answer, 4xx with an OperationOutcome
/// when it cannot answer.
async fn run_terminology(
    app: &AppState,
    t: &str,
    id: Option<&str>,
    operation: &str,
    req: &FhirRequest,
    body: Option<RawBody>,
) -> Result<Response> {
    let body = operation_body(req, body)?;
    let request = terminology::Request {
        resource_type: t,
        id,
        operation,
        body: body.as_deref(),
        params: &req.params,
        accept_language: req
            .headers
            .get(axum::http::header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    };
    let answer = terminology::run(&app.repo, &request).await?;
    Ok(json_response(
        StatusCode::OK,
        answer.to_string(),
        &req.negotiated,
    ))
}

async fn compartment_or_operation_post(
    State(app): Shared,
    FhirPath((t, id, tail)): FhirPath<(String, String, String)>,
    req: FhirRequest,
    body: RawBody,
) -> Result<Response> {
    if tail == "$validate" {
        return run_validate(&app, &t, Some(&id), &req, Some(body)).await;
    }
    if terminology::is_terminology_operation(&t, &tail) {
        return run_terminology(&app, &t, Some(&id), &tail, &req, Some(body)).await;
    }
    let params = if tail == "$everything" {
        req.params.clone()
    } else {
        with_form(&req, body)?
    };
    compartment_or_operation_with(&app, &t, &id, &tail, &params, &req).await
}

async fn compartment_or_operation_with(
    app: &AppState,
    t: &str,
    id: &str,
    tail: &str,
    params: &[(String, String)],
    req: &FhirRequest,
) -> Result<Response> {
    let url = format!("{}/{t}/{id}/{tail}", app.repo.base_url);
    match tail {
        "$everything" => {
            let key = key(t.to_owned(), id)?;
            let request = everything::Request {
                key: &key,
                params,
                self_url: &url,
                visibility: &Visibility::default(),
            };
            let body = everything::everything(&app.repo, &request).await?;
            Ok(bundle_response(body, req))
        }
        "$validate" => run_validate(app, t, Some(id), req, None).await,
        op if terminology::is_terminology_operation(t, op) => {
            run_terminology(app, t, Some(id), op, req, None).await
        }
        op if op.starts_with('$') => Err(Failure::Status(
            StatusCode::NOT_FOUND,
            IssueType::NotSupported,
            format!("The operation '{op}' is not supported on {t}"),
        )),
        _ => {
            let scope = search::Scope::Compartment {
                compartment: t,
                id,
                resource_type: (tail != "*").then_some(tail),
            };
            run_search(app, scope, params, &url, req).await
        }
    }
}

/// `POST [base]/$reindex`: starts rebuilding the search index in the
/// background; `GET` reports its progress.
async fn reindex_start(State(app): Shared, req: FhirRequest) -> Result<Response> {
    let started = app.reindex.start(app.repo.clone());
    let status = if started {
        StatusCode::ACCEPTED
    } else {
        StatusCode::CONFLICT
    };
    Ok(json_response(
        status,
        app.reindex.report().to_string(),
        &req.negotiated,
    ))
}

async fn reindex_status(State(app): Shared, req: FhirRequest) -> Response {
    json_response(
        StatusCode::OK,
        app.reindex.report().to_string(),
        &req.negotiated,
    )
}

async fn type_create(
    State(app): Shared,
    FhirPath(t): FhirPath<String>,
    req: FhirRequest,
    body: RawBody,
) -> Result<Response> {
    let resource = req.json(body, false)?;
    let if_none_exist = req
        .header("if-none-exist")
        .map(|q| q.trim_start_matches(&format!("{t}?")).to_owned());
    let written = create::create(&app.repo, &t, resource, if_none_exist.as_deref()).await?;
    Ok(written_response(&app, &written, &req))
}

async fn type_update(
    State(app): Shared,
    FhirPath(t): FhirPath<String>,
    req: FhirRequest,
    body: RawBody,
) -> Result<Response> {
    let resource = req.json(body, false)?;
    let written =
        update::conditional_update(&app.repo, &t, &req.query(), resource, req.if_match()?).await?;
    Ok(written_response(&app, &written, &req))
}

async fn type_delete(
    State(app): Shared,
    FhirPath(t): FhirPath<String>,
    req: FhirRequest,
) -> Result<Response> {
    let count = delete::conditional_delete(&app.repo, &t, &req.query()).await?;
    Ok(deleted_response(
        &format!("Deleted {count} {t} resource(s)"),
        &req,
    ))
}

async fn type_patch(
    State(app): Shared,
    FhirPath(t): FhirPath<String>,
    req: FhirRequest,
    body: RawBody,
) -> Result<Response> {
    let operations = req.json(body, true)?;
    let written =
        patch::conditional_patch(&app.repo, &t, &req.query(), operations, req.if_match()?).await?;
    Ok(written_response(&app, &written, &req))
}

async fn type_history(
    State(app): Shared,
    FhirPath(t): FhirPath<String>,
    req: FhirRequest,
) -> Result<Response> {
    let url = format!("{}/{t}/_history", app.repo.base_url);
    Ok(bundle_response(
        history::history(&app.repo, HistoryScope::Type(t), &req.params, &url).await?,
        &req,
    ))
}

async fn instance_read(
    State(app): Shared,
    FhirPath((t, id)): FhirPath<(String, String)>,
    req: FhirRequest,
) -> Result<Response> {
    if terminology::is_terminology_operation(&t, &id) {
        return run_terminology(&app, &t, None, &id, &req, None).await;
    }
    let (key, mut stored) =
        read::read_or_canonical(&app.repo, Reader::Committed(&app.repo.store), &key(t, &id)?)
            .await?;
    if not_modified(&req, &stored) {
        return Ok(StatusCode::NOT_MODIFIED.into_response());
    }
    if req.negotiated.html && pages::has_page(&key.resource_type) {
        let resource: serde_json::Value = stored
            .content
            .as_deref()
            .and_then(|c| serde_json::from_str(c).ok())
            .unwrap_or_default();
        // A value set's page shows the start of its expansion.
        let expansion = if key.resource_type == "ValueSet" {
            Some(terminology::expansion_preview(&app.repo, &resource, pages::EXPANSION_ROWS).await)
        } else {
            None
        };
        let mut response = pages::render(&resource, expansion.as_ref()).into_response();
        response.headers_mut().insert(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("text/html; charset=utf-8"),
        );
        return Ok(response);
    }
    let body = response_body(&app, &req, &mut stored)?;
    Ok(resource_response(
        StatusCode::OK,
        &app.repo.base_url,
        &key,
        &stored,
        body,
        &req.negotiated,
        false,
    ))
}

async fn instance_vread(
    State(app): Shared,
    FhirPath((t, id, vid)): FhirPath<(String, String, String)>,
    req: FhirRequest,
) -> Result<Response> {
    let key = key(t, &id)?;
    let version = VersionId::parse(&vid).ok_or_else(|| {
        Failure::Fhir(Error::invalid(Issue::error(
            IssueType::Value,
            format!("'{vid}' is not a version id"),
        )))
    })?;
    let mut stored =
        vread::vread(&app.repo, Reader::Committed(&app.repo.store), &key, version).await?;
    let body = response_body(&app, &req, &mut stored)?;
    Ok(resource_response(
        StatusCode::OK,
        &app.repo.base_url,
        &key,
        &stored,
        body,
        &req.negotiated,
        false,
    ))
}

async fn instance_update(
    State(app): Shared,
    FhirPath((t, id)): FhirPath<(String, String)>,
    req: FhirRequest,
    body: RawBody,
) -> Result<Response> {
    let key = key(t, &id)?;
    let resource = req.json(body, false)?;
    let written = update::update(&app.repo, &key, resource, req.if_match()?).await?;
    Ok(written_response(&app, &written, &req))
}

async fn instance_patch(
    State(app): Shared,
    FhirPath((t, id)): FhirPath<(String, String)>,
    req: FhirRequest,
    body: RawBody,
) -> Result<Response> {
    let key = key(t, &id)?;
    let operations = req.json(body, true)?;
    let written = patch::patch(&app.repo, &key, operations, req.if_match()?).await?;
    Ok(written_response(&app, &written, &req))
}

async fn instance_delete(
    State(app): Shared,
    FhirPath((t, id)): FhirPath<(String, String)>,
    req: FhirRequest,
) -> Result<Response> {
    let key = key(t, &id)?;
    let version = delete::delete(&app.repo, &key, req.if_match()?).await?;
    let mut response = deleted_response(&format!("Deleted {key}"), &req);
    if let Some(version) = version {
        if let Ok(etag) = version.etag().parse() {
            response
                .headers_mut()
                .insert(axum::http::header::ETAG, etag);
        }
    }
    Ok(response)
}

async fn instance_history(
    State(app): Shared,
    FhirPath((t, id)): FhirPath<(String, String)>,
    req: FhirRequest,
) -> Result<Response> {
    let key = key(t, &id)?;
    let url = format!("{}/{key}/_history", app.repo.base_url);
    Ok(bundle_response(
        history::history(&app.repo, HistoryScope::Instance(key), &req.params, &url).await?,
        &req,
    ))
}

fn written_response(
    app: &AppState,
    written: &tillit_interactions::Written,
    req: &FhirRequest,
) -> Response {
    let status = if written.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    resource_response(
        status,
        &app.repo.base_url,
        &written.key,
        &written.stored,
        None,
        &req.negotiated,
        true,
    )
}

fn deleted_response(text: &str, req: &FhirRequest) -> Response {
    match req.negotiated.prefer {
        crate::negotiate::Return::OperationOutcome => {
            let outcome = tillit_model::operation_outcome(&[Issue::information(
                IssueType::Informational,
                text,
            )]);
            json_response(StatusCode::OK, outcome.to_string(), &req.negotiated)
        }
        _ => StatusCode::NO_CONTENT.into_response(),
    }
}

/// The body of a read: the stored JSON moved out of `stored` (not copied), or
/// the part `_summary`/`_elements` asked for.
fn response_body(
    app: &AppState,
    req: &FhirRequest,
    stored: &mut tillit_interactions::Stored,
) -> Result<Option<String>> {
    let subset = Subset::from_params(&req.params)?;
    Ok(match (subset, stored.content.take()) {
        (Some(subset), Some(content)) => Some(subset.apply(&app.repo, &content)),
        (_, content) => content,
    })
}

/// `If-None-Match` naming the current version, or `If-Modified-Since` not
/// before the last update: the client's copy is current.
fn not_modified(req: &FhirRequest, stored: &tillit_interactions::Stored) -> bool {
    if let Some(tag) = req.header("if-none-match") {
        return tag
            .split(',')
            .any(|t| t.trim() == "*" || VersionId::parse(t) == Some(stored.version));
    }
    if let Some(since) = req
        .header("if-modified-since")
        .and_then(Instant::parse_http_date)
    {
        return stored.last_updated.millis() / 1000 <= since.millis() / 1000;
    }
    false
}
