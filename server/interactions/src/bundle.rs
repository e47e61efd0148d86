//! Bundles the server builds (searchset, history, batch and transaction
//! responses). Stored resources are embedded as raw JSON, never re-parsed.

use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::Value;
use tillit_model::Instant;

/// A Bundle under construction.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Bundle {
    resource_type: &'static str,
    id: String,
    meta: Value,
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    total: Option<i64>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    link: Vec<Link>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    entry: Vec<Entry>,
}

#[derive(Debug, Serialize)]
struct Link {
    relation: &'static str,
    url: String,
}

/// One `Bundle.entry`.
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    /// `fullUrl`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub full_url: Option<String>,
    /// The resource, as stored JSON.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<Box<RawValue>>,
    /// `search` (mode and score).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search: Option<Value>,
    /// `request` (history entries).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request: Option<Value>,
    /// `response` (batch, transaction and history entries).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub response: Option<Value>,
}

impl Bundle {
    /// An empty Bundle of type `kind` (`searchset`, `history`, `batch-response`…).
    pub fn new(kind: &'static str) -> Bundle {
        Bundle {
            resource_type: "Bundle",
            id: uuid::Uuid::new_v4().to_string(),
            meta: serde_json::json!({ "lastUpdated": Instant::now().to_string() }),
            kind,
            total: None,
            link: Vec::new(),
            entry: Vec::new(),
        }
    }

    /// Sets `Bundle.total`.
    pub fn total(&mut self, total: Option<i64>) {
        self.total = total;
    }

    /// Adds a link (`self`, `next`, `previous`).
    pub fn link(&mut self, relation: &'static str, url: String) {
        self.link.push(Link { relation, url });
    }

    /// Adds an entry.
    pub fn push(&mut self, entry: Entry) {
        self.entry.push(entry);
    }

    /// The Bundle as JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a Bundle of valid JSON parts always serialises")
    }
}

/// Stored resource text as an embeddable raw JSON value.
pub fn raw(content: &str) -> Option<Box<RawValue>> {
    RawValue::from_string(content.to_owned()).ok()
}
