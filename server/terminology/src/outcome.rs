//! Issues as terminology operations report them: an OperationOutcome issue
//! with its FHIR issue type, the finer `tx-issue-type` code terminology
//! clients (and the terminology ecosystem tests) key on, the human text and
//! the element concerned.

use serde_json::{json, Value};

/// The code system of the finer issue types terminology servers share.
const TX_ISSUE_TYPE: &str = "http://hl7.org/fhir/tools/CodeSystem/tx-issue-type";

/// One problem found by a terminology operation.
#[derive(Debug, Clone, PartialEq)]
pub struct TxIssue {
    /// `error`, `warning` or `information`.
    pub severity: &'static str,
    /// The FHIR issue type (`code-invalid`, `not-found`, `invalid`, `business-rule`…).
    pub code: &'static str,
    /// The `tx-issue-type` code (`not-in-vs`, `invalid-code`, `invalid-display`…).
    pub tx_code: &'static str,
    /// What is wrong, for people.
    pub text: String,
    /// The element concerned (`Coding.code`, `code`), if any.
    pub expression: Option<String>,
    /// The message's identifier as terminology servers share it
    /// (`Unknown_Code_in_Version`), sent as the `operationoutcome-message-id` extension.
    pub message_id: Option<&'static str>,
}

impl TxIssue {
    /// An error.
    pub fn error(code: &'static str, tx_code: &'static str, text: impl Into<String>) -> TxIssue {
        TxIssue {
            severity: "error",
            code,
            tx_code,
            text: text.into(),
            expression: None,
            message_id: None,
        }
    }

    /// A warning.
    pub fn warning(code: &'static str, tx_code: &'static str, text: impl Into<String>) -> TxIssue {
        TxIssue {
            severity: "warning",
            ..TxIssue::error(code, tx_code, text)
        }
    }

    /// Information.
    pub fn information(
        code: &'static str,
        tx_code: &'static str,
        text: impl Into<String>,
    ) -> TxIssue {
        TxIssue {
            severity: "information",
            ..TxIssue::error(code, tx_code, text)
        }
    }

    /// The same issue about element `expression`.
    pub fn at(mut self, expression: impl Into<String>) -> TxIssue {
        self.expression = Some(expression.into());
        self
    }

    /// The same issue with its shared message identifier.
    pub fn id(mut self, message_id: &'static str) -> TxIssue {
        self.message_id = Some(message_id);
        self
    }

    /// As an OperationOutcome issue.
    pub fn to_json(&self) -> Value {
        let mut issue = json!({
            "severity": self.severity,
            "code": self.code,
            "details": {
                "coding": [{"system": TX_ISSUE_TYPE, "code": self.tx_code}],
                "text": self.text,
            },
        });
        if let Some(id) = self.message_id {
            issue["extension"] = json!([{
                "url": "http://hl7.org/fhir/StructureDefinition/operationoutcome-message-id",
                "valueString": id,
            }]);
        }
        if let Some(expression) = &self.expression {
            issue["location"] = json!([expression]);
            issue["expression"] = json!([expression]);
        }
        issue
    }
}

/// Why a terminology operation could not answer at all (rather than answering
/// "not valid"): the HTTP layer turns it into a 4xx with an OperationOutcome.
#[derive(Debug, Clone, PartialEq)]
pub struct TxError {
    /// The HTTP status it deserves: 400, 404 or 422.
    pub status: u16,
    /// The issue (boxed: errors travel through many `Result`s).
    pub issue: Box<TxIssue>,
    /// The code system whose absence caused it, if that was the cause.
    pub missing_code_system: Option<String>,
}

impl TxError {
    /// Something named (a value set, a code system) is not known: 404.
    pub fn not_found(text: impl Into<String>) -> TxError {
        TxError {
            status: 404,
            issue: Box::new(TxIssue::error("not-found", "not-found", text)),
            missing_code_system: None,
        }
    }

    /// The request or a definition is wrong: 400.
    pub fn invalid(text: impl Into<String>) -> TxError {
        TxError {
            status: 400,
            issue: Box::new(TxIssue::error("invalid", "invalid-data", text)),
            missing_code_system: None,
        }
    }

    /// The request is valid but cannot be processed (too costly, circular): 422.
    pub fn unprocessable(
        code: &'static str,
        tx_code: &'static str,
        text: impl Into<String>,
    ) -> TxError {
        TxError {
            status: 422,
            issue: Box::new(TxIssue::error(code, tx_code, text)),
            missing_code_system: None,
        }
    }

    /// The same error, caused by code system `system` being unknown.
    pub fn about_code_system(mut self, system: &str) -> TxError {
        self.missing_code_system = Some(system.to_owned());
        self
    }

    /// An error with this issue and HTTP status.
    pub fn with_issue(status: u16, issue: TxIssue) -> TxError {
        TxError {
            status,
            issue: Box::new(issue),
            missing_code_system: None,
        }
    }

    /// The same error located under `prefix` (`ValueSet.compose.include[0]`),
    /// when it names an element at all.
    pub fn under(mut self, prefix: &str) -> TxError {
        if let Some(inner) = self.issue.expression.take() {
            self.issue.expression = Some(if inner.is_empty() {
                prefix.to_owned()
            } else {
                format!("{prefix}.{inner}")
            });
        }
        self
    }

    /// The same error with its shared message identifier.
    pub fn id(mut self, message_id: &'static str) -> TxError {
        self.issue.message_id = Some(message_id);
        self
    }

    /// As an OperationOutcome.
    pub fn to_outcome(&self) -> Value {
        json!({"resourceType": "OperationOutcome", "issue": [self.issue.to_json()]})
    }
}

impl std::fmt::Display for TxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.issue.text)
    }
}
