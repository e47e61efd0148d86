//! Transaction Bundles: one PUT per resource, at most [`MAX_ENTRIES`] entries each.
//! <https://hl7.org/fhir/R4/http.html#transaction>

use std::mem;

use serde_json::{json, Value};

use crate::rng::mix;

/// The most entries one Bundle holds.
pub(crate) const MAX_ENTRIES: usize = 500;

const FNV_OFFSET: u64 = 0xCBF2_9CE4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01B3;

/// A transaction Bundle that PUTs every resource at its own id.
pub(crate) fn transaction(resources: Vec<Value>) -> Value {
    let entries: Vec<Value> = resources.into_iter().map(entry).collect();
    json!({"resourceType": "Bundle", "type": "transaction", "entry": entries})
}

/// Transaction Bundles holding `groups` in order; a group (a patient and their records)
/// is never split, and a Bundle is closed when the next group would not fit.
pub(crate) fn pack(groups: impl IntoIterator<Item = Vec<Value>>) -> Vec<Value> {
    let mut bundles = Vec::new();
    let mut current: Vec<Value> = Vec::new();
    for group in groups {
        if !current.is_empty() && current.len() + group.len() > MAX_ENTRIES {
            bundles.push(transaction(mem::take(&mut current)));
        }
        current.extend(group);
    }
    if !current.is_empty() {
        bundles.push(transaction(current));
    }
    bundles
}

fn entry(resource: Value) -> Value {
    let kind = resource["resourceType"]
        .as_str()
        .expect("demo resources have a resourceType");
    let id = resource["id"].as_str().expect("demo resources have an id");
    let url = format!("{kind}/{id}");
    json!({"fullUrl": uuid_urn(&url), "resource": resource, "request": {"method": "PUT", "url": url}})
}

/// A fixed `urn:uuid:` for `url`: a UUID version 8 (custom) whose bits are a hash of the url,
/// so the same resource always gets the same fullUrl.
fn uuid_urn(url: &str) -> String {
    let high = mix(fnv1a(url, FNV_OFFSET));
    let low = mix(fnv1a(url, !FNV_OFFSET));
    format!(
        "urn:uuid:{:08x}-{:04x}-8{:03x}-{:04x}-{:012x}",
        high >> 32,
        (high >> 16) & 0xFFFF,
        high & 0x0FFF,
        ((low >> 48) & 0x3FFF) | 0x8000,
        low & 0xFFFF_FFFF_FFFF,
    )
}

fn fnv1a(text: &str, offset: u64) -> u64 {
    text.bytes().fold(offset, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(FNV_PRIME)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_urns_are_fixed_and_shaped_like_version_8_uuids() {
        let urn = uuid_urn("Patient/demo-patient-001");
        assert_eq!(urn, uuid_urn("Patient/demo-patient-001"));
        assert_ne!(urn, uuid_urn("Patient/demo-patient-002"));
        let uuid = urn.strip_prefix("urn:uuid:").expect("urn:uuid prefix");
        let groups: Vec<usize> = uuid.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12]);
        assert_eq!(&uuid[14..15], "8");
        assert!(matches!(&uuid[19..20], "8" | "9" | "a" | "b"));
    }

    #[test]
    fn a_group_that_does_not_fit_starts_a_new_bundle() {
        let group = |size: usize| vec![json!({"resourceType": "Basic", "id": "x"}); size];
        let bundles = pack([group(300), group(200), group(1)]);
        let sizes: Vec<usize> = bundles
            .iter()
            .map(|b| b["entry"].as_array().map_or(0, Vec::len))
            .collect();
        assert_eq!(sizes, [500, 1]);
    }
}
