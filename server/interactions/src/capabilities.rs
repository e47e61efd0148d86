//! The FHIR `capabilities` interaction: a CapabilityStatement generated from
//! what this server implements, so it cannot drift from the code.
//! <https://hl7.org/fhir/R4/http.html#capabilities>

use serde_json::{json, Value};
use tillit_model::Instant;

use crate::index::Kind;
use crate::Repository;

/// The interactions every resource type supports.
pub const TYPE_INTERACTIONS: [&str; 9] = [
    "read",
    "vread",
    "update",
    "patch",
    "delete",
    "history-instance",
    "history-type",
    "create",
    "search-type",
];

/// The CapabilityStatement of this server.
pub fn capability_statement(repo: &Repository) -> Value {
    let resources: Vec<Value> = repo
        .registry
        .resource_types()
        .map(|resource_type| resource_capabilities(repo, resource_type))
        .collect();
    json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": Instant::now().to_string(),
        "publisher": "Tillit",
        "kind": "instance",
        "software": { "name": "Tillit", "version": env!("CARGO_PKG_VERSION") },
        "implementation": { "description": "Tillit FHIR R4 server", "url": repo.base_url },
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "json"],
        "patchFormat": ["application/json-patch+json"],
        // The implementation guides loaded, by their canonical URL; the core
        // specification itself is not a guide.
        "implementationGuide": repo.registry.packages().iter()
            .filter(|p| p.name != "hl7.fhir.r4.core")
            .filter_map(|p| Some(format!("{}/ImplementationGuide/{}|{}", p.canonical.as_ref()?, p.name, p.version)))
            .collect::<Vec<_>>(),
        "rest": [{
            "mode": "server",
            "resource": resources,
            "interaction": [
                { "code": "transaction" },
                { "code": "batch" },
                { "code": "history-system" }
            ],
            "searchParam": common_search_params(),
        }]
    })
}

fn resource_capabilities(repo: &Repository, resource_type: &str) -> Value {
    let index = repo.search_index();
    let mut search_params: Vec<Value> = index
        .params(resource_type)
        .filter(|p| p.kind != Kind::Special)
        .map(|p| json!({ "name": p.code, "definition": p.url, "type": kind_name(p.kind) }))
        .collect();
    search_params.extend(
        common_search_params()
            .into_iter()
            .filter(|p| p["name"] == "_id" || p["name"] == "_lastUpdated"),
    );
    let references: Vec<&str> = index
        .params(resource_type)
        .filter(|p| p.kind == Kind::Reference)
        .map(|p| p.code.as_str())
        .collect();
    let mut includes: Vec<String> = references
        .iter()
        .map(|code| format!("{resource_type}:{code}"))
        .collect();
    if !includes.is_empty() {
        includes.insert(0, "*".into());
    }
    json!({
        "type": resource_type,
        "profile": format!("http://hl7.org/fhir/StructureDefinition/{resource_type}"),
        "interaction": TYPE_INTERACTIONS.iter()
            .map(|code| json!({ "code": code })).collect::<Vec<_>>(),
        "versioning": "versioned",
        "readHistory": true,
        "updateCreate": true,
        "conditionalCreate": true,
        "conditionalRead": "full-support",
        "conditionalUpdate": true,
        "conditionalDelete": "multiple",
        "searchInclude": includes,
        "searchParam": search_params,
        "operation": operations(resource_type),
    })
}

/// The operations on `resource_type`: `$validate` everywhere, and the
/// terminology operations on their types.
fn operations(resource_type: &str) -> Vec<Value> {
    let terminology: &[(&str, &str)] = match resource_type {
        "ValueSet" => &[
            ("expand", "ValueSet-expand"),
            ("validate-code", "ValueSet-validate-code"),
        ],
        "CodeSystem" => &[
            ("lookup", "CodeSystem-lookup"),
            ("validate-code", "CodeSystem-validate-code"),
            ("subsumes", "CodeSystem-subsumes"),
        ],
        "ConceptMap" => &[("translate", "ConceptMap-translate")],
        _ => &[],
    };
    std::iter::once(&("validate", "Resource-validate"))
        .chain(terminology)
        .map(|(name, id)| {
            json!({"name": name, "definition": format!("http://hl7.org/fhir/OperationDefinition/{id}")})
        })
        .collect()
}

/// The TerminologyCapabilities of this server (`metadata?mode=terminology`):
/// the code systems it holds, with their versions, and the expansion
/// parameters it understands.
pub fn terminology_capabilities(repo: &Repository) -> Value {
    let code_systems: Vec<Value> = repo
        .validation
        .terminology
        .as_ref()
        .map(|t| t.code_systems())
        .unwrap_or_default()
        .into_iter()
        .map(|(uri, versions)| {
            let versions: Vec<Value> = versions.into_iter().map(|v| json!({"code": v})).collect();
            if versions.is_empty() {
                json!({"uri": uri})
            } else {
                json!({"uri": uri, "version": versions})
            }
        })
        .collect();
    let parameters = [
        "activeOnly",
        "check-system-version",
        "count",
        "displayLanguage",
        "excludeNested",
        "filter",
        "force-system-version",
        "includeDefinition",
        "includeDesignations",
        "offset",
        "property",
        "system-version",
        "tx-resource",
    ];
    json!({
        "resourceType": "TerminologyCapabilities",
        "url": format!("{}/metadata?mode=terminology", repo.base_url),
        "version": env!("CARGO_PKG_VERSION"),
        "name": "TillitTerminology",
        "title": "Tillit terminology service",
        "status": "active",
        "date": Instant::now().to_string(),
        "kind": "instance",
        "software": { "name": "Tillit", "version": env!("CARGO_PKG_VERSION") },
        "codeSystem": code_systems,
        "expansion": {
            "hierarchical": false,
            "paging": true,
            "parameter": parameters.iter().map(|name| json!({"name": name})).collect::<Vec<_>>(),
            "textFilter": "Matches words of displays and designations that begin with the filter's words, or codes that begin with it",
        },
        "codeSearch": "all",
        "validateCode": { "translations": false },
        "translation": { "needsMap": false },
    })
}

/// The `SearchParameter.type` name of a kind.
fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Number => "number",
        Kind::Date => "date",
        Kind::String => "string",
        Kind::Token => "token",
        Kind::Reference => "reference",
        Kind::Composite => "composite",
        Kind::Quantity => "quantity",
        Kind::Uri => "uri",
        Kind::Special => "special",
    }
}

fn common_search_params() -> Vec<Value> {
    [
        (
            "_id",
            "token",
            "http://hl7.org/fhir/SearchParameter/Resource-id",
        ),
        (
            "_lastUpdated",
            "date",
            "http://hl7.org/fhir/SearchParameter/Resource-lastUpdated",
        ),
        (
            "_tag",
            "token",
            "http://hl7.org/fhir/SearchParameter/Resource-tag",
        ),
        (
            "_profile",
            "uri",
            "http://hl7.org/fhir/SearchParameter/Resource-profile",
        ),
        (
            "_security",
            "token",
            "http://hl7.org/fhir/SearchParameter/Resource-security",
        ),
    ]
    .into_iter()
    .map(|(name, kind, url)| json!({ "name": name, "type": kind, "definition": url }))
    .collect()
}
