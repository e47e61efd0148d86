//! Tillit's terminology service: the CodeSystems, ValueSets and ConceptMaps
//! of the loaded packages (and those written over the API) held in memory,
//! every version of each, with the operations clients and validation ask of them:
//! - expansion of a value set ([`expand`]): whole code systems, enumerated
//!   concepts, filters (`=`, `is-a`, `descendent-of`, `is-not-a`, `regex`,
//!   `in`, `not-in`, `generalizes`, `exists`, `child-of`), imports and
//!   exclusions, with text filter, paging, inactive handling and designations;
//! - `$validate-code` against a value set or a code system ([`validate`]);
//! - `$lookup` of a code ([`lookup`]) and `$subsumes` of two ([`subsumes`]);
//! - `$translate` with ConceptMaps ([`translate`]);
//! - membership questions for the validator and FHIRPath `memberOf()`.
//!
//! Composed value sets are cached; writing a definition clears the caches.
//! <https://hl7.org/fhir/R4/terminology-module.html>

mod code_system;
pub mod expand;
pub mod grammar;
pub mod loinc;
pub mod lookup;
mod outcome;
pub mod rf2;
pub mod subsumes;
pub mod translate;
pub mod validate;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use serde_json::Value;
use tillit_model::{Deferred, Loader};

pub use code_system::{
    first_language, language_matches, CodeSystem, CodeSystemHeader, Concept, Designation,
};
pub use outcome::TxError;

/// Every version of the CodeSystems and ValueSets held, by canonical URL.
#[derive(Debug, Default)]
struct Store {
    code_systems: HashMap<String, Vec<Arc<CodeSystem>>>,
    value_sets: HashMap<String, Vec<Arc<Value>>>,
    concept_maps: HashMap<String, Vec<Arc<Value>>>,
    /// Whether this holds one request's definitions, which are all kept:
    /// requests sometimes send two ConceptMaps under one URL and version.
    request: bool,
}

impl Store {
    fn insert(&mut self, resource: &Value) -> bool {
        let Some(url) = resource.get("url").and_then(Value::as_str) else {
            return false;
        };
        let version = resource.get("version").and_then(Value::as_str);
        match resource.get("resourceType").and_then(Value::as_str) {
            Some("CodeSystem") => {
                let Some(system) = CodeSystem::from_resource(resource) else {
                    return false;
                };
                let versions = self.code_systems.entry(url.to_owned()).or_default();
                versions.retain(|v| v.version.as_deref() != version);
                versions.push(Arc::new(system));
            }
            Some("ConceptMap") => {
                let mut map = resource.clone();
                if let Some(object) = map.as_object_mut() {
                    object.remove("text");
                }
                let versions = self.concept_maps.entry(url.to_owned()).or_default();
                if !self.request {
                    versions.retain(|v| v.get("version").and_then(Value::as_str) != version);
                }
                versions.push(Arc::new(map));
            }
            Some("ValueSet") => {
                let mut value_set = resource.clone();
                if let Some(object) = value_set.as_object_mut() {
                    object.remove("text");
                }
                let versions = self.value_sets.entry(url.to_owned()).or_default();
                versions.retain(|v| v.get("version").and_then(Value::as_str) != version);
                versions.push(Arc::new(value_set));
            }
            _ => return false,
        }
        true
    }
}

/// CodeSystems and ValueSets by canonical URL and version.
#[derive(Debug, Default)]
pub struct Terminology {
    store: RwLock<Store>,
    /// Members of value sets asked about so far, by canonical URL; `None`
    /// when a value set cannot be expanded.
    members: RwLock<HashMap<String, Option<Arc<expand::Expansion>>>>,
    /// Composed value sets of the server's own definitions, by `url|version`.
    expansions: RwLock<HashMap<String, Arc<expand::Expansion>>>,
    /// The packages' CodeSystems and ValueSets, read on first use.
    deferred: Deferred,
}

impl Terminology {
    /// The terminology of `resources` (CodeSystems and ValueSets; others are ignored).
    pub fn new<'a>(resources: impl IntoIterator<Item = &'a Value>) -> Terminology {
        let terminology = Terminology {
            deferred: Deferred::nothing(),
            ..Terminology::default()
        };
        for resource in resources {
            terminology.add(resource);
        }
        terminology
    }

    /// A terminology whose CodeSystems and ValueSets `loader` reads the first
    /// time one is asked for (the server starts without them).
    pub fn deferred(loader: Loader) -> Terminology {
        Terminology {
            deferred: Deferred::new(loader),
            ..Terminology::default()
        }
    }

    fn loaded(&self) {
        self.deferred.ensure(|resource| {
            write(&self.store).insert(resource);
        });
    }

    /// Adds or replaces (by URL and version) a CodeSystem or ValueSet; returns
    /// whether it was one.
    pub fn add(&self, resource: &Value) -> bool {
        self.loaded();
        let added = write(&self.store).insert(resource);
        if added {
            write(&self.members).clear();
            write(&self.expansions).clear();
        }
        added
    }

    /// Adds a code system an importer built (SNOMED CT from RF2), beside any
    /// other version of it.
    pub fn add_code_system(&self, system: CodeSystem) {
        self.loaded();
        let mut store = write(&self.store);
        let versions = store.code_systems.entry(system.url.clone()).or_default();
        versions.retain(|v| v.version != system.version);
        versions.push(Arc::new(system));
        drop(store);
        write(&self.members).clear();
        write(&self.expansions).clear();
    }

    /// Whether a CodeSystem or ValueSet with this canonical URL is held.
    pub fn contains(&self, url: &str) -> bool {
        self.loaded();
        let store = read(&self.store);
        store.code_systems.contains_key(url) || store.value_sets.contains_key(url)
    }

    /// Every code system held, by canonical URL, with its versions.
    pub fn code_systems(&self) -> Vec<(String, Vec<String>)> {
        self.loaded();
        let store = read(&self.store);
        let mut systems: Vec<(String, Vec<String>)> = store
            .code_systems
            .iter()
            .map(|(url, versions)| {
                let mut versions: Vec<String> = versions
                    .iter()
                    .filter_map(|cs| cs.version.clone())
                    .collect();
                versions.sort_by(|a, b| compare_versions(a, b));
                (url.clone(), versions)
            })
            .collect();
        systems.sort();
        systems
    }

    /// A view of this terminology with `extra` CodeSystems and ValueSets
    /// (such as `tx-resource` parameters) seen first.
    pub fn scope<'a>(&'a self, extra: &[Value]) -> Scope<'a> {
        self.loaded();
        let mut overlay = Store {
            request: true,
            ..Store::default()
        };
        for resource in extra {
            overlay.insert(resource);
        }
        Scope {
            base: self,
            overlay,
            supplements: Vec::new(),
        }
    }

    /// Whether `code` exists in code system `system`; `None` when the system is
    /// not held completely.
    pub fn code_exists(&self, system: &str, code: &str) -> Option<bool> {
        let scope = self.scope(&[]);
        let (url, version) = split_version(system);
        let cs = scope.code_system(url, version)?;
        if !cs.complete() {
            return None;
        }
        Some(cs.index(code).is_some())
    }

    /// Whether (`system`, `code`) is in value set `value_set` (a canonical URL,
    /// optionally `|version`); without a system, whether the code is in it from
    /// any system (the `code` data type). `None` when the value set is unknown
    /// or cannot be expanded.
    pub fn in_value_set(&self, system: Option<&str>, code: &str, value_set: &str) -> Option<bool> {
        let members = self.members(value_set)?;
        let found = match system {
            Some(system) => {
                let system = split_version(system).0;
                // Codes of a case-insensitive system are compared as it writes them.
                members.contains(system, code)
                    || self
                        .scope(&[])
                        .code_system(system, None)
                        .and_then(|cs| cs.concept(code).map(|c| c.code.clone()))
                        .is_some_and(|c| members.contains(system, &c))
            }
            None => {
                members.entries.iter().any(|e| e.code == code)
                    || members
                        .open_systems
                        .iter()
                        .any(|s| grammar::accepts(s, code))
            }
        };
        Some(found)
    }

    /// Every (system, code) of value set `value_set` (`url` or `url|version`),
    /// when it can be expanded.
    pub fn codes_of(&self, value_set: &str) -> Option<Vec<(String, String)>> {
        let members = self.members(value_set)?;
        Some(
            members
                .entries
                .iter()
                .map(|e| (e.system.clone(), e.code.clone()))
                .collect(),
        )
    }

    /// `code` of `system` with every code below it (`below`) or above it in
    /// the code system's hierarchy; `None` when the system or code is not held.
    pub fn hierarchy(&self, system: &str, code: &str, below: bool) -> Option<Vec<String>> {
        let (url, version) = split_version(system);
        let cs = self.scope(&[]).code_system(url, version)?;
        let index = cs.index(code)?;
        let related = if below {
            cs.descendants(index)
        } else {
            cs.ancestors(index)
        };
        Some(
            std::iter::once(index)
                .chain(related)
                .map(|i| cs.concepts[i].code.clone())
                .collect(),
        )
    }

    /// The code systems value set `value_set` draws on, when it can be expanded.
    pub fn systems_of(&self, value_set: &str) -> Option<Vec<String>> {
        let members = self.members(value_set)?;
        let mut systems: Vec<String> = members.entries.iter().map(|e| e.system.clone()).collect();
        systems.sort_unstable();
        systems.dedup();
        Some(systems)
    }

    fn members(&self, value_set: &str) -> Option<Arc<expand::Expansion>> {
        self.loaded();
        if let Some(known) = read(&self.members).get(value_set) {
            return known.clone();
        }
        let scope = self.scope(&[]);
        let (url, version) = split_version(value_set);
        let members = scope
            .value_set(url, version)
            .and_then(|vs| expand::expand(&scope, &vs, &expand::Options::for_membership()).ok());
        write(&self.members).insert(value_set.to_owned(), members.clone());
        members
    }
}

/// The terminology as one request sees it: the server's CodeSystems and
/// ValueSets with the request's own (`tx-resource`) in front.
pub struct Scope<'a> {
    base: &'a Terminology,
    overlay: Store,
    /// Supplements the request asks for (`useSupplement`, a value set's
    /// supplement extension), applied to the code systems they supplement.
    supplements: Vec<Arc<CodeSystem>>,
}

impl Scope<'_> {
    /// The codes `value_set`'s compose selects. Cached for the server's own
    /// definitions when the request pins no versions or languages.
    pub fn composed(
        &self,
        value_set: &Value,
        options: &expand::Options,
    ) -> Result<Arc<expand::Expansion>, TxError> {
        let versions = &options.versions;
        let cacheable = self.supplements.is_empty()
            && self.overlay.code_systems.is_empty()
            && self.overlay.value_sets.is_empty()
            && versions.default.is_empty()
            && versions.check.is_empty()
            && versions.force.is_empty()
            && options.display_language.is_none();
        if !cacheable {
            return expand::compose_value_set(self, value_set, options).map(Arc::new);
        }
        // Designations are composed only when the request shows or searches them.
        let designations = options.include_designations || options.filter.is_some();
        let key = format!(
            "{}{}",
            expand::canonical_of(value_set),
            if designations { "#designations" } else { "" }
        );
        if let Some(known) = read(&self.base.expansions).get(&key) {
            return Ok(known.clone());
        }
        let composed = Arc::new(expand::compose_value_set(self, value_set, options)?);
        write(&self.base.expansions).insert(key, composed.clone());
        Ok(composed)
    }

    /// Code system `url` at `version` (a version, or a `x`-wildcard pattern
    /// such as `1.x`), or its latest version without one.
    pub fn code_system(&self, url: &str, version: Option<&str>) -> Option<Arc<CodeSystem>> {
        let pick = |versions: &Vec<Arc<CodeSystem>>| {
            pick_version(versions, version, |cs| cs.version.as_deref()).cloned()
        };
        let cs = self
            .overlay
            .code_systems
            .get(url)
            .and_then(pick)
            .or_else(|| read(&self.base.store).code_systems.get(url).and_then(pick))?;
        let supplements: Vec<&Arc<CodeSystem>> = self
            .supplements
            .iter()
            .filter(|s| s.supplements.as_deref().map(|t| split_version(t).0) == Some(url))
            .collect();
        if supplements.is_empty() {
            return Some(cs);
        }
        let mut merged = (*cs).clone();
        for supplement in supplements {
            merged = merged.supplemented(supplement);
        }
        Some(Arc::new(merged))
    }

    /// The same scope applying the supplements `urls` name (`url` or
    /// `url|version`); an error naming the first that is not held.
    pub fn with_supplements(mut self, urls: &[String]) -> Result<Self, TxError> {
        for canonical in urls {
            let (url, version) = split_version(canonical);
            let pick = |versions: &Vec<Arc<CodeSystem>>| {
                pick_version(versions, version, |cs| cs.version.as_deref()).cloned()
            };
            let found = self
                .overlay
                .code_systems
                .get(url)
                .and_then(pick)
                .or_else(|| read(&self.base.store).code_systems.get(url).and_then(pick))
                .filter(|cs| cs.supplements.is_some());
            let Some(supplement) = found else {
                return Err(TxError::not_found(format!(
                    "Required supplement not found: {canonical}"
                ))
                .id("VALUESET_SUPPLEMENT_MISSING"));
            };
            if !self.supplements.iter().any(|s| Arc::ptr_eq(s, &supplement)) {
                self.supplements.push(supplement);
            }
        }
        Ok(self)
    }

    /// Every version held of code system `url`.
    pub fn code_system_versions(&self, url: &str) -> Vec<String> {
        let mut versions: Vec<String> = self
            .overlay
            .code_systems
            .get(url)
            .into_iter()
            .chain(read(&self.base.store).code_systems.get(url))
            .flatten()
            .filter_map(|cs| cs.version.clone())
            .collect();
        versions.sort_by(|a, b| compare_versions(a, b));
        versions.dedup();
        versions
    }

    /// Value set `url` at `version`, or its latest version without one.
    pub fn value_set(&self, url: &str, version: Option<&str>) -> Option<Arc<Value>> {
        let pick = |versions: &Vec<Arc<Value>>| {
            pick_version(versions, version, |vs| {
                vs.get("version").and_then(Value::as_str)
            })
            .cloned()
        };
        self.overlay
            .value_sets
            .get(url)
            .and_then(pick)
            .or_else(|| read(&self.base.store).value_sets.get(url).and_then(pick))
            .or_else(|| implicit_value_set(url).map(Arc::new))
    }

    /// The ConceptMaps to translate with: the latest version of `url` (or of
    /// every map held without one).
    pub fn concept_maps(&self, url: Option<&str>) -> Vec<Arc<Value>> {
        let latest = |versions: &Vec<Arc<Value>>| {
            pick_version(versions, None, |m| m.get("version").and_then(Value::as_str)).cloned()
        };
        let base = read(&self.base.store);
        match url.map(split_version) {
            Some((url, version)) => {
                let pick = |versions: &Vec<Arc<Value>>| {
                    pick_version(versions, version, |m| {
                        m.get("version").and_then(Value::as_str)
                    })
                    .cloned()
                };
                self.overlay
                    .concept_maps
                    .get(url)
                    .and_then(pick)
                    .or_else(|| base.concept_maps.get(url).and_then(pick))
                    .into_iter()
                    .collect()
            }
            None => {
                // A request's maps all count, even two under one URL and version.
                let mut maps: Vec<Arc<Value>> = self
                    .overlay
                    .concept_maps
                    .values()
                    .flatten()
                    .cloned()
                    .collect();
                maps.extend(
                    base.concept_maps
                        .iter()
                        .filter(|(url, _)| !self.overlay.concept_maps.contains_key(*url))
                        .filter_map(|(_, versions)| latest(versions)),
                );
                maps
            }
        }
    }

    /// The supplements held for code system `url`.
    pub fn supplements_of(&self, url: &str) -> Vec<Arc<CodeSystem>> {
        let base = read(&self.base.store);
        self.overlay
            .code_systems
            .values()
            .chain(base.code_systems.values())
            .flatten()
            .filter(|cs| {
                cs.supplements
                    .as_deref()
                    .is_some_and(|s| split_version(s).0 == url)
            })
            .cloned()
            .collect()
    }
}

/// The value sets SNOMED CT defines by URL: `http://snomed.info/sct?fhir_vs`
/// (every concept) and `…?fhir_vs=isa/{id}` (a concept and its descendants).
/// <https://hl7.org/fhir/R4/snomedct.html#implicit>
fn implicit_value_set(url: &str) -> Option<Value> {
    let query = url.strip_prefix(&format!("{}?fhir_vs", rf2::SNOMED))?;
    let include = match query {
        "" => serde_json::json!({"system": rf2::SNOMED}),
        _ => {
            let concept = query.strip_prefix("=isa/")?;
            serde_json::json!({"system": rf2::SNOMED, "filter": [
                {"property": "concept", "op": "is-a", "value": concept}]})
        }
    };
    Some(serde_json::json!({
        "resourceType": "ValueSet",
        "url": url,
        "status": "active",
        "compose": {"include": [include]},
    }))
}

/// The version among `versions` that `wanted` names (exactly, or by an `x`
/// wildcard such as `1.x`), or the latest without a wish.
fn pick_version<'v, T>(
    versions: &'v [T],
    wanted: Option<&str>,
    version_of: impl Fn(&T) -> Option<&str>,
) -> Option<&'v T> {
    match wanted {
        Some(wanted) => versions
            .iter()
            .filter(|v| version_of(v).is_some_and(|have| version_matches(wanted, have)))
            .max_by(|a, b| {
                compare_versions(version_of(a).unwrap_or(""), version_of(b).unwrap_or(""))
            }),
        None => versions.iter().max_by(|a, b| {
            compare_versions(version_of(a).unwrap_or(""), version_of(b).unwrap_or(""))
        }),
    }
}

/// Whether version `have` is what `wanted` asks for: equal, or matching a
/// pattern whose `x` (or `*`) parts match anything (`1.x` matches `1.2.0`).
pub fn version_matches(wanted: &str, have: &str) -> bool {
    if wanted == have {
        return true;
    }
    let wanted: Vec<&str> = wanted.split('.').collect();
    if !wanted.iter().any(|p| matches!(*p, "x" | "X" | "*")) {
        return false;
    }
    let have: Vec<&str> = have.split('.').collect();
    wanted.len() <= have.len()
        && wanted
            .iter()
            .zip(&have)
            .all(|(w, h)| matches!(*w, "x" | "X" | "*") || w == h)
}

/// Orders versions numerically part by part where both parts are numbers
/// (`1.10.0` after `1.9.0`), as text otherwise.
pub fn compare_versions(a: &str, b: &str) -> std::cmp::Ordering {
    let mut left = a.split(['.', '-']);
    let mut right = b.split(['.', '-']);
    loop {
        match (left.next(), right.next()) {
            (None, None) => return std::cmp::Ordering::Equal,
            (None, Some(_)) => return std::cmp::Ordering::Less,
            (Some(_), None) => return std::cmp::Ordering::Greater,
            (Some(x), Some(y)) => {
                let order = match (x.parse::<u64>(), y.parse::<u64>()) {
                    (Ok(x), Ok(y)) => x.cmp(&y),
                    _ => x.cmp(y),
                };
                if order != std::cmp::Ordering::Equal {
                    return order;
                }
            }
        }
    }
}

impl tillit_fhirpath::Terminology for Terminology {
    fn member_of(&self, system: Option<&str>, code: &str, value_set: &str) -> Option<bool> {
        self.in_value_set(system, code, value_set)
    }
}

/// A canonical URL and its `|version`, if it has one.
pub fn split_version(url: &str) -> (&str, Option<&str>) {
    match url.split_once('|') {
        Some((url, version)) => (url, Some(version).filter(|v| !v.is_empty())),
        None => (url, None),
    }
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::{compare_versions, version_matches, Terminology};
    use serde_json::json;

    #[test]
    fn value_sets_answer_membership_and_unknown_ones_do_not() {
        let cs = json!({"resourceType": "CodeSystem", "url": "http://x/cs", "content": "complete",
            "concept": [{"code": "a", "concept": [{"code": "a1"}]}, {"code": "b"}]});
        let whole = json!({"resourceType": "ValueSet", "url": "http://x/vs",
            "compose": {"include": [{"system": "http://x/cs"}], "exclude": [{"system": "http://x/cs", "concept": [{"code": "b"}]}]}});
        let listed = json!({"resourceType": "ValueSet", "url": "http://x/listed",
            "compose": {"include": [{"system": "http://y", "concept": [{"code": "z"}]}]}});
        let filtered = json!({"resourceType": "ValueSet", "url": "http://x/filtered",
            "compose": {"include": [{"system": "http://x/cs", "filter": [{"property": "concept", "op": "is-a", "value": "a"}]}]}});
        let regex = json!({"resourceType": "ValueSet", "url": "http://x/regex",
            "compose": {"include": [{"system": "http://x/cs", "filter": [{"property": "code", "op": "regex", "value": "a.*"}]}]}});
        let unknown = json!({"resourceType": "ValueSet", "url": "http://x/unknown",
            "compose": {"include": [{"system": "http://nowhere"}]}});
        let t = Terminology::new([&cs, &whole, &listed, &filtered, &regex, &unknown]);
        assert_eq!(
            t.in_value_set(Some("http://x/cs"), "a1", "http://x/vs"),
            Some(true)
        );
        assert_eq!(
            t.in_value_set(Some("http://x/cs"), "b", "http://x/vs"),
            Some(false),
            "excluded"
        );
        assert_eq!(t.in_value_set(None, "z", "http://x/listed"), Some(true));
        assert_eq!(
            t.in_value_set(Some("http://x/cs"), "a1", "http://x/filtered"),
            Some(true)
        );
        assert_eq!(
            t.in_value_set(Some("http://x/cs"), "b", "http://x/filtered"),
            Some(false)
        );
        assert_eq!(
            t.in_value_set(Some("http://x/cs"), "a1", "http://x/regex"),
            Some(true)
        );
        assert_eq!(
            t.in_value_set(Some("http://x/cs"), "b", "http://x/regex"),
            Some(false)
        );
        assert_eq!(
            t.in_value_set(Some("http://nowhere"), "a", "http://x/unknown"),
            None
        );
        assert_eq!(t.code_exists("http://x/cs", "banana"), Some(false));
        assert_eq!(t.code_exists("http://unknown", "a"), None);
    }

    #[test]
    fn versions_order_by_number_and_match_wildcards() {
        assert!(compare_versions("1.10.0", "1.9.0").is_gt());
        assert!(compare_versions("1.0", "1.0.0").is_lt());
        assert!(version_matches("1.x", "1.2.0"));
        assert!(!version_matches("1.x", "2.0.0"));
        assert!(!version_matches("1.0", "1.0.0"));
    }
}
