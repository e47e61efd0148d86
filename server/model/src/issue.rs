//! Problems found while handling a request, and the OperationOutcome that reports them.
//! <https://hl7.org/fhir/R4/operationoutcome.html>

use serde_json::{json, Map, Value};

/// `OperationOutcome.issue.severity`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IssueSeverity {
    /// The request cannot be completed.
    Fatal,
    /// The content or request is wrong.
    Error,
    /// Worth a look, not an error.
    Warning,
    /// For information only.
    Information,
}

impl IssueSeverity {
    /// The FHIR code.
    pub fn code(self) -> &'static str {
        match self {
            IssueSeverity::Fatal => "fatal",
            IssueSeverity::Error => "error",
            IssueSeverity::Warning => "warning",
            IssueSeverity::Information => "information",
        }
    }
}

/// `OperationOutcome.issue.code`: the subset of the IssueType value set Tillit reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IssueType {
    /// Content invalid against the specification or a profile.
    Invalid,
    /// A structural problem: unknown element, wrong JSON type.
    Structure,
    /// A required element is missing.
    Required,
    /// A value does not match its type's rules.
    Value,
    /// An invariant failed.
    Invariant,
    /// The resource or a referenced resource was not found.
    NotFound,
    /// The resource has been deleted.
    Deleted,
    /// The content is too long.
    TooLong,
    /// A version conflict.
    Conflict,
    /// More than one match where one was required.
    Multiple,
    /// The operation is not supported.
    NotSupported,
    /// A duplicate where none is allowed.
    Duplicate,
    /// Processing failed for an internal reason.
    Exception,
    /// The request is not allowed for this caller.
    Forbidden,
    /// Information: the operation succeeded.
    Informational,
    /// Processing (a rule of the operation) failed.
    Processing,
}

impl IssueType {
    /// The FHIR code.
    pub fn code(self) -> &'static str {
        match self {
            IssueType::Invalid => "invalid",
            IssueType::Structure => "structure",
            IssueType::Required => "required",
            IssueType::Value => "value",
            IssueType::Invariant => "invariant",
            IssueType::NotFound => "not-found",
            IssueType::Deleted => "deleted",
            IssueType::TooLong => "too-long",
            IssueType::Conflict => "conflict",
            IssueType::Multiple => "multiple-matches",
            IssueType::NotSupported => "not-supported",
            IssueType::Duplicate => "duplicate",
            IssueType::Exception => "exception",
            IssueType::Forbidden => "forbidden",
            IssueType::Informational => "informational",
            IssueType::Processing => "processing",
        }
    }
}

/// One problem: what, how bad, and where (a FHIRPath expression and, for JSON
/// input, the line and column).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issue {
    /// How bad it is.
    pub severity: IssueSeverity,
    /// What kind of problem it is.
    pub code: IssueType,
    /// Human-readable text.
    pub diagnostics: String,
    /// Where: a FHIRPath expression such as `Patient.name[0].given[1]`.
    pub expression: Option<String>,
    /// Line and column in the JSON input, counted from 1.
    pub position: Option<(usize, usize)>,
}

impl Issue {
    /// An error of kind `code`.
    pub fn error(code: IssueType, diagnostics: impl Into<String>) -> Issue {
        Issue {
            severity: IssueSeverity::Error,
            code,
            diagnostics: diagnostics.into(),
            expression: None,
            position: None,
        }
    }

    /// A note of kind `code` with severity information.
    pub fn information(code: IssueType, diagnostics: impl Into<String>) -> Issue {
        Issue {
            severity: IssueSeverity::Information,
            ..Issue::error(code, diagnostics)
        }
    }

    /// The same issue, located at `expression`.
    pub fn at(mut self, expression: impl Into<String>) -> Issue {
        self.expression = Some(expression.into());
        self
    }

    /// The same issue, located at a line and column of the input.
    pub fn at_position(mut self, line: usize, column: usize) -> Issue {
        self.position = Some((line, column));
        self
    }

    /// Whether this issue makes the content unacceptable.
    pub fn is_error(&self) -> bool {
        matches!(self.severity, IssueSeverity::Error | IssueSeverity::Fatal)
    }

    /// The issue as an `OperationOutcome.issue` element.
    pub fn to_json(&self) -> Value {
        let mut issue = Map::new();
        issue.insert("severity".into(), json!(self.severity.code()));
        issue.insert("code".into(), json!(self.code.code()));
        issue.insert("diagnostics".into(), json!(self.diagnostics));
        if let Some(expression) = &self.expression {
            issue.insert("expression".into(), json!([expression]));
        }
        if let Some((line, column)) = self.position {
            issue.insert(
                "extension".into(),
                json!([
                    {"url": "http://hl7.org/fhir/StructureDefinition/operationoutcome-issue-line", "valueInteger": line},
                    {"url": "http://hl7.org/fhir/StructureDefinition/operationoutcome-issue-col", "valueInteger": column}
                ]),
            );
        }
        Value::Object(issue)
    }
}

/// An OperationOutcome resource holding `issues`.
pub fn operation_outcome(issues: &[Issue]) -> Value {
    json!({
        "resourceType": "OperationOutcome",
        "issue": issues.iter().map(Issue::to_json).collect::<Vec<_>>()
    })
}
