//! Tillit's terminology core: the CodeSystems and ValueSets of the loaded
//! packages (and those written over the API) held in memory, with the two
//! questions validation asks at run time:
//! - does code `c` exist in code system `s`? (known for complete code systems);
//! - is (`s`, `c`) in value set `v`? (known for value sets built from whole
//!   code systems, enumerated concepts, hierarchy filters (`is-a`,
//!   `descendent-of`, `is-not-a` on `concept`), other value sets and exclusions).
//!
//! A value set with other filters (`regex`, properties…) or over a code system that is
//! not held completely gives no answer (`None`), never a guess: callers then
//! skip the check. Expansions are computed once per value set and cached;
//! writing a CodeSystem or ValueSet clears the cache.
//! <https://hl7.org/fhir/R4/terminology-module.html>

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, RwLock};

use serde_json::Value;
use tillit_model::{Deferred, Loader};

/// The codes of one code system.
#[derive(Debug)]
struct CodeSystem {
    /// Whether every code is listed (`content` = `complete`).
    complete: bool,
    /// Whether codes compare case-sensitively (the default).
    case_sensitive: bool,
    /// Every code, nested concepts included (lowercased when not case-sensitive).
    codes: HashSet<String>,
    /// The codes nested directly under each code (its `is-a` children).
    children: HashMap<String, Vec<String>>,
}

/// The members of a value set: codes by system.
#[derive(Debug, Default)]
struct Expansion {
    codes: HashMap<String, HashSet<String>>,
}

/// CodeSystems and ValueSets by canonical URL.
#[derive(Debug, Default)]
pub struct Terminology {
    code_systems: RwLock<HashMap<String, Arc<CodeSystem>>>,
    /// Each ValueSet's `compose` (all that membership needs).
    value_sets: RwLock<HashMap<String, Arc<Value>>>,
    /// Expansions computed so far; `None` when a value set cannot be enumerated.
    expansions: RwLock<HashMap<String, Option<Arc<Expansion>>>>,
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
            self.insert(resource);
        });
    }

    /// Adds or replaces a CodeSystem or ValueSet; returns whether it was one.
    pub fn add(&self, resource: &Value) -> bool {
        self.loaded();
        self.insert(resource)
    }

    fn insert(&self, resource: &Value) -> bool {
        let Some(url) = resource.get("url").and_then(Value::as_str) else {
            return false;
        };
        match resource.get("resourceType").and_then(Value::as_str) {
            Some("CodeSystem") => {
                let case_sensitive =
                    resource.get("caseSensitive").and_then(Value::as_bool) != Some(false);
                let mut codes = HashSet::new();
                let mut children = HashMap::new();
                let concepts = resource.get("concept");
                collect_codes(concepts, case_sensitive, None, &mut codes, &mut children);
                let system = CodeSystem {
                    complete: resource.get("content").and_then(Value::as_str) == Some("complete"),
                    case_sensitive,
                    codes,
                    children,
                };
                write(&self.code_systems).insert(url.to_owned(), Arc::new(system));
            }
            Some("ValueSet") => {
                let compose = resource.get("compose").cloned().unwrap_or(Value::Null);
                write(&self.value_sets).insert(url.to_owned(), Arc::new(compose));
            }
            _ => return false,
        }
        write(&self.expansions).clear();
        true
    }

    /// Whether a CodeSystem or ValueSet with this canonical URL is held.
    pub fn contains(&self, url: &str) -> bool {
        self.loaded();
        read(&self.code_systems).contains_key(url) || read(&self.value_sets).contains_key(url)
    }

    /// Whether `code` exists in code system `system`; `None` when the system is
    /// not held completely.
    pub fn code_exists(&self, system: &str, code: &str) -> Option<bool> {
        self.loaded();
        let systems = read(&self.code_systems);
        let cs = systems.get(strip_version(system))?;
        if !cs.complete {
            return None;
        }
        Some(cs.contains(code))
    }

    /// Whether (`system`, `code`) is in value set `value_set` (a canonical URL,
    /// optionally `|version`); without a system, whether the code is in it from
    /// any system (the `code` data type). `None` when the value set is unknown
    /// or cannot be enumerated.
    pub fn in_value_set(&self, system: Option<&str>, code: &str, value_set: &str) -> Option<bool> {
        self.loaded();
        let expansion = self.expansion(strip_version(value_set), 0)?;
        let found = match system {
            Some(system) => expansion
                .codes
                .get(strip_version(system))
                .is_some_and(|codes| codes.contains(code)),
            None => expansion.codes.values().any(|codes| codes.contains(code)),
        };
        Some(found)
    }

    /// The code systems value set `value_set` draws on, when it can be enumerated.
    pub fn systems_of(&self, value_set: &str) -> Option<Vec<String>> {
        self.loaded();
        let expansion = self.expansion(strip_version(value_set), 0)?;
        Some(expansion.codes.keys().cloned().collect())
    }

    fn expansion(&self, url: &str, depth: usize) -> Option<Arc<Expansion>> {
        if let Some(known) = read(&self.expansions).get(url) {
            return known.clone();
        }
        let expansion = if depth > 10 {
            None
        } else {
            let value_set = read(&self.value_sets).get(url).cloned();
            value_set
                .and_then(|vs| self.expand(&vs, depth))
                .map(Arc::new)
        };
        write(&self.expansions).insert(url.to_owned(), expansion.clone());
        expansion
    }

    /// Enumerates a value set's compose; `None` if any part cannot be.
    fn expand(&self, compose: &Value, depth: usize) -> Option<Expansion> {
        let mut out = Expansion::default();
        for include in compose.get("include")?.as_array()? {
            let part = self.part(include, depth)?;
            for (system, codes) in part.codes {
                out.codes.entry(system).or_default().extend(codes);
            }
        }
        for exclude in compose
            .get("exclude")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let part = self.part(exclude, depth)?;
            for (system, codes) in part.codes {
                if let Some(kept) = out.codes.get_mut(&system) {
                    kept.retain(|c| !codes.contains(c));
                }
            }
        }
        Some(out)
    }

    /// The codes one `include` (or `exclude`) names.
    fn part(&self, include: &Value, depth: usize) -> Option<Expansion> {
        let mut codes = Expansion::default();
        let filters = include
            .get("filter")
            .and_then(Value::as_array)
            .filter(|f| !f.is_empty());
        if let Some(filters) = filters {
            let system = strip_version(include.get("system")?.as_str()?).to_owned();
            let systems = read(&self.code_systems);
            let cs = systems
                .get(&system)
                .filter(|cs| cs.complete && cs.case_sensitive)?;
            let mut set = cs.codes.clone();
            for filter in filters {
                set = set.intersection(&cs.filter(filter)?).cloned().collect();
            }
            codes.codes.insert(system, set);
            return Some(codes);
        }
        if let Some(system) = include.get("system").and_then(Value::as_str) {
            let system = strip_version(system).to_owned();
            let listed: Vec<String> = include
                .get("concept")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|c| c.get("code")?.as_str().map(str::to_owned))
                .collect();
            let set: HashSet<String> = if listed.is_empty() {
                let systems = read(&self.code_systems);
                let cs = systems
                    .get(&system)
                    .filter(|cs| cs.complete && cs.case_sensitive)?;
                cs.codes.clone()
            } else {
                listed.into_iter().collect()
            };
            codes.codes.insert(system, set);
        }
        // Imported value sets: the include is their intersection (with the system's part).
        for imported in include
            .get("valueSet")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let other = self.expansion(strip_version(imported.as_str()?), depth + 1)?;
            if include.get("system").is_some() {
                for (system, set) in codes.codes.iter_mut() {
                    let theirs = other.codes.get(system);
                    set.retain(|c| theirs.is_some_and(|t| t.contains(c)));
                }
            } else if codes.codes.is_empty() {
                codes.codes = other.codes.clone();
            } else {
                codes.codes.retain(|system, set| {
                    let theirs = other.codes.get(system);
                    set.retain(|c| theirs.is_some_and(|t| t.contains(c)));
                    !set.is_empty()
                });
            }
        }
        Some(codes)
    }
}

impl CodeSystem {
    /// The codes a hierarchy filter selects (`concept` with `is-a`,
    /// `descendent-of` or `is-not-a`); `None` for other filters.
    fn filter(&self, filter: &Value) -> Option<HashSet<String>> {
        if filter.get("property")?.as_str()? != "concept" {
            return None;
        }
        let value = filter.get("value")?.as_str()?;
        let mut below = HashSet::new();
        let mut stack: Vec<&str> = self
            .children
            .get(value)
            .into_iter()
            .flatten()
            .map(String::as_str)
            .collect();
        while let Some(code) = stack.pop() {
            if below.insert(code.to_owned()) {
                stack.extend(
                    self.children
                        .get(code)
                        .into_iter()
                        .flatten()
                        .map(String::as_str),
                );
            }
        }
        match filter.get("op")?.as_str()? {
            "descendent-of" => Some(below),
            "is-a" => {
                below.insert(value.to_owned());
                Some(below)
            }
            "is-not-a" => {
                below.insert(value.to_owned());
                Some(self.codes.difference(&below).cloned().collect())
            }
            _ => None,
        }
    }

    fn contains(&self, code: &str) -> bool {
        if self.case_sensitive {
            self.codes.contains(code)
        } else {
            self.codes.contains(&code.to_lowercase())
        }
    }
}

impl tillit_fhirpath::Terminology for Terminology {
    fn member_of(&self, system: Option<&str>, code: &str, value_set: &str) -> Option<bool> {
        self.in_value_set(system, code, value_set)
    }
}

/// Every code in `concepts`, nested ones included, and the children of each.
fn collect_codes(
    concepts: Option<&Value>,
    case_sensitive: bool,
    parent: Option<&str>,
    out: &mut HashSet<String>,
    children: &mut HashMap<String, Vec<String>>,
) {
    for concept in concepts.and_then(Value::as_array).into_iter().flatten() {
        let Some(code) = concept.get("code").and_then(Value::as_str) else {
            continue;
        };
        let code = if case_sensitive {
            code.to_owned()
        } else {
            code.to_lowercase()
        };
        if let Some(parent) = parent {
            children
                .entry(parent.to_owned())
                .or_default()
                .push(code.clone());
        }
        collect_codes(
            concept.get("concept"),
            case_sensitive,
            Some(&code),
            out,
            children,
        );
        out.insert(code);
    }
}

/// A canonical URL without its `|version`.
fn strip_version(url: &str) -> &str {
    url.split('|').next().unwrap_or(url)
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
    use super::Terminology;
    use serde_json::json;

    #[test]
    fn enumerable_value_sets_answer_and_filtered_ones_do_not() {
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
        let t = Terminology::new([&cs, &whole, &listed, &filtered, &regex]);
        assert_eq!(
            t.in_value_set(Some("http://x/cs"), "a1", "http://x/vs|1.0"),
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
            t.in_value_set(Some("http://x/cs"), "a", "http://x/regex"),
            None,
            "not yet"
        );
        assert_eq!(t.code_exists("http://x/cs", "banana"), Some(false));
        assert_eq!(t.code_exists("http://unknown", "a"), None);
    }
}
