//! The FHIR `capabilities` interaction: a CapabilityStatement generated from
//! what this server implements, so it cannot drift from the code.
//! <https://hl7.org/fhir/R4/http.html#capabilities>

use serde_json::{json, Value};
use tillit_model::Instant;

use crate::{params, Repository};

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
    let defined = repo.registry.search_parameters(resource_type);
    let search_params: Vec<Value> = params::supported_params(repo, resource_type)
        .into_iter()
        .filter(|code| !code.starts_with('_'))
        .filter_map(|code| {
            let sp = defined.iter().find(|sp| sp.code == code)?;
            Some(json!({ "name": code, "definition": sp.url, "type": sp.kind }))
        })
        .chain(common_search_params())
        .collect();
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
        "searchParam": search_params,
    })
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
