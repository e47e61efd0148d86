//! `CodeSystem/$subsumes`: how two codes of one code system relate in its
//! hierarchy. <https://hl7.org/fhir/R4/codesystem-operation-subsumes.html>

use serde_json::{json, Value};

use crate::{Scope, TxError};

/// Whether `code_a` and `code_b` of `system` are equivalent, one subsumes the
/// other, or neither.
pub fn subsumes(
    scope: &Scope,
    system: &str,
    version: Option<&str>,
    code_a: &str,
    code_b: &str,
) -> Result<Value, TxError> {
    let Some(cs) = scope.code_system(system, version) else {
        return Err(TxError::not_found(format!(
            "A definition for CodeSystem '{system}' could not be found, so the codes cannot be compared"
        )));
    };
    let index = |code: &str| {
        cs.index(code).ok_or_else(|| {
            TxError::invalid(format!(
                "Unknown code '{code}' in the CodeSystem '{}'",
                cs.versioned_url()
            ))
        })
    };
    let (a, b) = (index(code_a)?, index(code_b)?);
    let outcome = if a == b {
        "equivalent"
    } else if cs.subsumes(a, b) {
        "subsumes"
    } else if cs.subsumes(b, a) {
        "subsumed-by"
    } else {
        "not-subsumed"
    };
    Ok(
        json!({"resourceType": "Parameters", "parameter": [{"name": "outcome", "valueCode": outcome}]}),
    )
}
