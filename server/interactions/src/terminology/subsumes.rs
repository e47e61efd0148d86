//! `CodeSystem/$subsumes`: how two codes relate in their code system's
//! hierarchy. <https://hl7.org/fhir/R4/codesystem-operation-subsumes.html>

use serde_json::Value;
use tillit_terminology::{split_version, subsumes as engine, TxError};

use super::Context;

/// Runs `$subsumes` (by `system` with `codeA` and `codeB`, or `codingA` and `codingB`).
pub(super) fn subsumes(context: &Context) -> Result<Value, TxError> {
    let inputs = &context.inputs;
    let coding = |name: &str, field: &str| {
        inputs
            .object(name)
            .and_then(|c| c.get(field))
            .and_then(Value::as_str)
    };
    let system = coding("codingA", "system")
        .or_else(|| inputs.text("system"))
        .or_else(|| context.instance_url())
        .ok_or_else(|| TxError::invalid("$subsumes needs a system (or codingA and codingB)"))?;
    let code_a = coding("codingA", "code").or_else(|| inputs.text("codeA"));
    let code_b = coding("codingB", "code").or_else(|| inputs.text("codeB"));
    let (Some(code_a), Some(code_b)) = (code_a, code_b) else {
        return Err(TxError::invalid(
            "$subsumes needs codeA and codeB (or codingA and codingB)",
        ));
    };
    let (system, pinned) = split_version(system);
    let version = pinned.or(inputs.text("version"));
    engine::subsumes(&context.scope()?, system, version, code_a, code_b)
}
