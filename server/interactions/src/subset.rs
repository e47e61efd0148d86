//! `_summary` and `_elements`: returning part of a resource, marked SUBSETTED.
//! <https://hl7.org/fhir/R4/search.html#summary>

use serde_json::{json, Map, Value};
use tillit_model::{Issue, IssueType};

use crate::{Error, Repository};

/// Which part of a resource the client asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Subset {
    /// `_summary=true`: the elements marked `isSummary` in the base definition.
    Summary,
    /// `_summary=text`: text, id, meta and the mandatory top-level elements.
    Text,
    /// `_summary=data`: everything but the narrative.
    Data,
    /// `_elements=a,b`: the named top-level elements.
    Elements(Vec<String>),
}

impl Subset {
    /// Reads `_summary` and `_elements` from query parameters; `None` for the whole resource.
    pub fn from_params(params: &[(String, String)]) -> Result<Option<Subset>, Error> {
        for (name, value) in params {
            match (name.as_str(), value.as_str()) {
                ("_summary", "true") => return Ok(Some(Subset::Summary)),
                ("_summary", "text") => return Ok(Some(Subset::Text)),
                ("_summary", "data") => return Ok(Some(Subset::Data)),
                ("_summary", "false") => return Ok(None),
                ("_summary", "count") => {}
                ("_summary", other) => {
                    return Err(Error::invalid(Issue::error(
                        IssueType::Value,
                        format!("_summary must be true, text, data, count or false, not '{other}'"),
                    )))
                }
                ("_elements", list) => {
                    return Ok(Some(Subset::Elements(
                        list.split(',')
                            .map(|e| e.trim().to_owned())
                            .filter(|e| !e.is_empty())
                            .collect(),
                    )))
                }
                _ => {}
            }
        }
        Ok(None)
    }

    /// The part of stored `content` this subset keeps, as JSON text.
    pub fn apply(&self, repo: &Repository, content: &str) -> String {
        let Ok(Value::Object(resource)) = serde_json::from_str::<Value>(content) else {
            return content.to_owned();
        };
        let resource_type = resource
            .get("resourceType")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let registry = &repo.registry;
        let element_flag = |name: &str, flag: &str| match flag {
            "summary" => registry.is_summary_element(&resource_type, name),
            _ => registry.is_mandatory_element(&resource_type, name),
        };
        let always = |name: &str| matches!(name, "resourceType" | "id" | "meta");
        let kept: Map<String, Value> = resource
            .into_iter()
            .filter(|(name, _)| {
                let bare = name.trim_start_matches('_');
                always(bare)
                    || match self {
                        Subset::Summary => element_flag(bare, "summary"),
                        Subset::Text => bare == "text" || element_flag(bare, "mandatory"),
                        Subset::Data => bare != "text",
                        Subset::Elements(names) => {
                            names.iter().any(|n| n == bare) || element_flag(bare, "mandatory")
                        }
                    }
            })
            .collect();
        mark_subsetted(Value::Object(kept)).to_string()
    }
}

/// Adds the SUBSETTED tag to `meta.tag`.
fn mark_subsetted(mut resource: Value) -> Value {
    let tag = json!({
        "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
        "code": "SUBSETTED",
        "display": "subsetted"
    });
    if let Some(object) = resource.as_object_mut() {
        let meta = object.entry("meta").or_insert_with(|| json!({}));
        if let Some(meta) = meta.as_object_mut() {
            let tags = meta.entry("tag").or_insert_with(|| json!([]));
            if let Some(tags) = tags.as_array_mut() {
                tags.push(tag);
            }
        }
    }
    resource
}
