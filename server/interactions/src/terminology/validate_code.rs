//! `$validate-code` on ValueSet and CodeSystem: is this code, Coding or
//! CodeableConcept valid here. <https://hl7.org/fhir/R4/valueset-operation-validate-code.html>

use serde_json::Value;
use tillit_terminology::validate::{self as engine, Coding, Form, Request};
use tillit_terminology::TxError;

use super::{Context, Inputs};

/// `ValueSet/$validate-code`.
pub(super) fn value_set(context: &Context) -> Result<Value, TxError> {
    let scope = context.scope()?;
    let value_set = context.value_set(&scope)?;
    let inputs = super::with_value_set_parameters(&context.inputs, &value_set);
    let request = request(&inputs, None)?;
    engine::validate_code(&scope, Some(&value_set), &request)
}

/// `CodeSystem/$validate-code`: against the code system `url` (or the
/// instance, or an inline `codeSystem`) alone.
pub(super) fn code_system(context: &Context) -> Result<Value, TxError> {
    let system = context
        .instance
        .as_ref()
        .or_else(|| context.inputs.resources("codeSystem").next())
        .and_then(|cs| cs.get("url"))
        .and_then(Value::as_str)
        .or_else(|| context.inputs.text("url"))
        .map(str::to_owned);
    let request = request(&context.inputs, system)?;
    engine::validate_code(&context.scope()?, None, &request)
}

/// The request's code in whichever form it came, with its options.
fn request(inputs: &Inputs, code_system: Option<String>) -> Result<Request, TxError> {
    let (form, codings, codeable_concept) = if let Some(cc) = inputs.object("codeableConcept") {
        let codings = cc
            .get("coding")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(Coding::from_json)
            .collect();
        (Form::CodeableConcept, codings, Some(cc.clone()))
    } else if let Some(coding) = inputs.object("coding") {
        (Form::Coding, vec![Coding::from_json(coding)], None)
    } else if let Some(code) = inputs.text("code") {
        let system = code_system.or_else(|| inputs.text("system").map(str::to_owned));
        let (system, version) = match system.as_deref().map(tillit_terminology::split_version) {
            Some((url, version)) => (Some(url.to_owned()), version.map(str::to_owned)),
            None => (None, None),
        };
        let coding = Coding {
            system,
            version: version
                .or_else(|| inputs.text("systemVersion").map(str::to_owned))
                .or_else(|| inputs.text("version").map(str::to_owned)),
            code: Some(code.to_owned()),
            display: inputs.text("display").map(str::to_owned),
        };
        (Form::Code, vec![coding], None)
    } else {
        return Err(TxError::invalid(
            "$validate-code needs a code, a coding or a codeableConcept",
        ));
    };
    Ok(Request {
        form,
        codings,
        codeable_concept,
        infer_system: inputs.flag("inferSystem").unwrap_or(false),
        active_only: inputs.flag("activeOnly").unwrap_or(false),
        abstract_allowed: inputs.flag("abstract").unwrap_or(true),
        lenient_display: inputs.flag("lenient-display-validation").unwrap_or(false),
        versions: inputs.system_versions(),
        display_language: inputs.text("displayLanguage").map(str::to_owned),
    })
}
