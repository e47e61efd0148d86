//! `tillit fhirpath`: evaluates a FHIRPath expression against a resource file
//! and prints the result collection as JSON, each item with its type, like the
//! fhirpath.js command line. Needs no database.

use std::path::Path;

use serde_json::{json, Value};
use tillit_fhirpath::{Environment, Expression};

use crate::config::Config;
use crate::startup::{self, StartupError};

/// Evaluates `expression` on the resource in `resource_file` (`-` for stdin)
/// and prints `[{"type": …, "value": …}, …]`.
pub fn run(config: &Config, expression: &str, resource_file: &Path) -> Result<(), StartupError> {
    let text = if resource_file == Path::new("-") {
        std::io::read_to_string(std::io::stdin())
    } else {
        std::fs::read_to_string(resource_file)
    }
    .map_err(|e| StartupError::Other(format!("cannot read {}: {e}", resource_file.display())))?;
    let resource: Value =
        serde_json::from_str(text.trim_start_matches('\u{feff}')).map_err(|e| {
            StartupError::Other(format!("{} is not JSON: {e}", resource_file.display()))
        })?;
    let compiled = Expression::parse(expression).map_err(|e| StartupError::Other(e.to_string()))?;
    let model = startup::fhirpath_model(config)?;
    let env = Environment::new(&model);
    let items = compiled
        .evaluate(&resource, &env)
        .map_err(|e| StartupError::Other(e.to_string()))?;
    let out: Vec<Value> = items
        .iter()
        .map(|item| json!({ "type": item.type_name(), "value": item.to_json() }))
        .collect();
    let printed = serde_json::to_string_pretty(&out)
        .map_err(|e| StartupError::Other(format!("cannot print the result: {e}")))?;
    println!("{printed}");
    Ok(())
}
