//! `CodeSystem/$lookup`: what a code system says about one code.
//! <https://hl7.org/fhir/R4/codesystem-operation-lookup.html>

use serde_json::Value;
use tillit_terminology::{lookup as engine, split_version, TxError};

use super::Context;

/// Runs `$lookup` (by `system` and `code`, or `coding`).
pub(super) fn lookup(context: &Context) -> Result<Value, TxError> {
    let inputs = &context.inputs;
    let coding = inputs.object("coding");
    let field = |name: &str| coding.and_then(|c| c.get(name)).and_then(Value::as_str);
    let system = field("system")
        .or_else(|| inputs.text("system"))
        .or_else(|| context.instance_url())
        .ok_or_else(|| TxError::invalid("$lookup needs a system (or a coding)"))?;
    let code = field("code")
        .or_else(|| inputs.text("code"))
        .ok_or_else(|| TxError::invalid("$lookup needs a code (or a coding)"))?;
    let (system, pinned) = split_version(system);
    let version = pinned.or(field("version")).or(inputs.text("version"));
    let properties: Vec<String> = inputs.texts("property").map(str::to_owned).collect();
    engine::lookup(&context.scope()?, system, version, code, &properties)
}
