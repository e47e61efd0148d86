//! `ConceptMap/$translate`: a code mapped by the ConceptMaps held (or the
//! one named). R4's parameters, and R5's (`sourceCode`, `targetCode`,
//! `sourceSystem`, `targetSystem`) as the terminology ecosystem sends them.
//! <https://hl7.org/fhir/R4/conceptmap-operation-translate.html>

use serde_json::Value;
use tillit_terminology::translate::{self as engine, Request};
use tillit_terminology::TxError;

use super::Context;

/// Runs `$translate`.
pub(super) fn translate(context: &Context) -> Result<Value, TxError> {
    let inputs = &context.inputs;
    let coding = inputs
        .object("coding")
        .or_else(|| inputs.object("sourceCoding"));
    let field = |name: &str| coding.and_then(|c| c.get(name)).and_then(Value::as_str);
    let target_code = inputs.text("targetCode");
    let reverse = inputs.flag("reverse").unwrap_or(false) || target_code.is_some();
    let code = field("code")
        .or_else(|| inputs.text("code"))
        .or_else(|| inputs.text("sourceCode"))
        .or(target_code)
        .ok_or_else(|| TxError::invalid("$translate needs a code (or a coding)"))?;
    let system = field("system")
        .or_else(|| inputs.text("system"))
        .or_else(|| inputs.text("sourceSystem"));
    let target_system = inputs
        .text("targetsystem")
        .or_else(|| inputs.text("targetSystem"));
    // Reversed, the code is a target's and R5's `sourceSystem` names the
    // side the answer is on.
    let (system, target_system) = if target_code.is_some() {
        (target_system, system)
    } else {
        (system, target_system)
    };
    let map = context
        .instance_url()
        .or_else(|| inputs.text("url"))
        .map(str::to_owned);
    let request = Request {
        map,
        system: system.map(str::to_owned),
        code: code.to_owned(),
        target_system: target_system.map(str::to_owned),
        reverse,
    };
    engine::translate(&context.scope()?, &request)
}
