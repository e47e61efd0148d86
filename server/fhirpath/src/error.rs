//! Errors of parsing and evaluating FHIRPath, with the kind the HL7 test suite distinguishes.

use std::fmt;

/// Which stage rejected an expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The text is not FHIRPath (unbalanced parentheses, bad literal, unknown token).
    Syntax,
    /// The expression is well formed but meaningless: an unknown function, a wrong number of
    /// arguments, a type name that names no type, a choice element used by its typed name.
    Semantic,
    /// Evaluation failed on this input, e.g. a collection where a single item is required.
    Execution,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ErrorKind::Syntax => "syntax",
            ErrorKind::Semantic => "semantic",
            ErrorKind::Execution => "execution",
        })
    }
}

/// A FHIRPath error: its kind, a message and, for syntax errors, the character offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    offset: Option<usize>,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.offset {
            Some(offset) => write!(
                f,
                "FHIRPath {} error at offset {}: {}",
                self.kind, offset, self.message
            ),
            None => write!(f, "FHIRPath {} error: {}", self.kind, self.message),
        }
    }
}

impl std::error::Error for Error {}

impl Error {
    /// Which stage rejected the expression.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message without kind or offset.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The character offset in the expression text, for syntax errors.
    pub fn offset(&self) -> Option<usize> {
        self.offset
    }

    pub(crate) fn syntax(offset: usize, message: impl Into<String>) -> Self {
        Error {
            kind: ErrorKind::Syntax,
            message: message.into(),
            offset: Some(offset),
        }
    }

    pub(crate) fn semantic(message: impl Into<String>) -> Self {
        Error {
            kind: ErrorKind::Semantic,
            message: message.into(),
            offset: None,
        }
    }

    pub(crate) fn execution(message: impl Into<String>) -> Self {
        Error {
            kind: ErrorKind::Execution,
            message: message.into(),
            offset: None,
        }
    }
}

/// Results inside the crate.
pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;
