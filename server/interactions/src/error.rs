//! The interactions' error: what went wrong, in FHIR terms.

use tillit_model::{Issue, IssueType};

/// Why an interaction failed. The HTTP layer alone maps these to status codes.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is malformed (bad JSON, wrong parameters): 400.
    #[error("invalid request")]
    Invalid(Vec<Issue>),
    /// The content breaks the rules of its type: 422.
    #[error("unprocessable resource")]
    Unprocessable(Vec<Issue>),
    /// No such resource type: 404.
    #[error("unknown resource type {0}")]
    UnknownType(String),
    /// No such resource or version: 404.
    #[error("{0} not found")]
    NotFound(String),
    /// The resource was deleted: 410.
    #[error("{0} has been deleted")]
    Gone(String),
    /// `If-Match` named another version: 412.
    #[error("{0}")]
    PreconditionFailed(String),
    /// A conditional interaction matched more than one resource: 412.
    #[error("{0}")]
    MultipleMatches(String),
    /// A concurrent write won: 409.
    #[error("{0}")]
    Conflict(String),
    /// The interaction is not supported here: 405.
    #[error("{0}")]
    NotSupported(String),
    /// One entry of a transaction failed; the whole transaction was rolled back.
    #[error("transaction entry {index} failed")]
    Entry {
        /// The entry's index in the request Bundle.
        index: usize,
        /// What the entry was (`POST Patient`).
        request: String,
        /// Why it failed.
        source: Box<Error>,
    },
    /// The database failed: 500, details logged and never sent.
    #[error(transparent)]
    Store(tillit_store::Error),
    /// A terminology operation could not answer; its OperationOutcome says why.
    #[error("{0}")]
    Terminology(tillit_terminology::TxError),
    /// The full-text index failed (I/O, a damaged index).
    #[error("full-text index: {0}")]
    TextIndex(String),
}

impl From<tillit_store::Error> for Error {
    fn from(err: tillit_store::Error) -> Error {
        match err {
            tillit_store::Error::Conflict(what) => Error::Conflict(format!(
                "{what} was changed by another request at the same time"
            )),
            other => Error::Store(other),
        }
    }
}

impl Error {
    /// A 400 with one issue.
    pub fn invalid(issue: Issue) -> Error {
        Error::Invalid(vec![issue])
    }
}

impl Error {
    /// The HTTP status FHIR's RESTful API gives this error. Batch and
    /// transaction responses need it per entry, so it lives here, next to the
    /// FHIR semantics, and the HTTP layer uses the same mapping.
    pub fn status(&self) -> u16 {
        match self {
            Error::Invalid(_) => 400,
            Error::Unprocessable(_) => 422,
            Error::UnknownType(_) | Error::NotFound(_) => 404,
            Error::Gone(_) => 410,
            Error::PreconditionFailed(_) | Error::MultipleMatches(_) => 412,
            Error::Conflict(_) => 409,
            Error::NotSupported(_) => 405,
            Error::Entry { source, .. } => source.status(),
            Error::Terminology(err) => err.status,
            Error::Store(_) | Error::TextIndex(_) => 500,
        }
    }

    /// The issues to report. Database details are logged by the caller, never sent.
    pub fn issues(&self) -> Vec<Issue> {
        let one = |code, text: String| vec![Issue::error(code, text)];
        match self {
            Error::Invalid(issues) | Error::Unprocessable(issues) => issues.clone(),
            Error::UnknownType(t) => one(
                IssueType::NotSupported,
                format!("'{t}' is not a resource type this server knows"),
            ),
            Error::NotFound(what) => one(IssueType::NotFound, format!("{what} was not found")),
            Error::Gone(what) => one(IssueType::Deleted, format!("{what} has been deleted")),
            Error::PreconditionFailed(text) => one(IssueType::Conflict, text.clone()),
            Error::MultipleMatches(text) => one(IssueType::Multiple, text.clone()),
            Error::Conflict(text) => one(IssueType::Conflict, text.clone()),
            Error::NotSupported(text) => one(IssueType::NotSupported, text.clone()),
            Error::Entry {
                index,
                request,
                source,
            } => source
                .issues()
                .into_iter()
                .map(|mut issue| {
                    issue.diagnostics = format!(
                        "Bundle entry {index} ({request}) failed: {}",
                        issue.diagnostics
                    );
                    issue.expression = Some(match issue.expression.take() {
                        Some(inner) => {
                            format!("Bundle.entry[{index}].resource.{}", strip_type(&inner))
                        }
                        None => format!("Bundle.entry[{index}]"),
                    });
                    issue
                })
                .collect(),
            Error::Terminology(err) => one(IssueType::Processing, err.to_string()),
            Error::Store(_) | Error::TextIndex(_) => one(
                IssueType::Exception,
                "The server could not complete the request; the failure has been logged".into(),
            ),
        }
    }
}

/// `Patient.name[0]` → `name[0]`, to append to a Bundle entry's path.
fn strip_type(expression: &str) -> &str {
    match expression.split_once('.') {
        Some((head, rest)) if head.chars().next().is_some_and(char::is_uppercase) => rest,
        _ => expression,
    }
}
