//! The profile repository: every StructureDefinition known, by canonical URL
//! (with and without `|version`), kept as compact JSON text and compiled on
//! first use. Definitions from packages are added at start-up; those created
//! over the API are added (or replaced) when they are written.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use serde_json::Value;

use tillit_model::{Deferred, Loader};

use crate::profile::{ExpressionCache, Profile};
use crate::snapshot::{self, Definitions};

/// StructureDefinitions by canonical URL, compiled on demand.
#[derive(Debug, Default)]
pub struct Profiles {
    /// The compact JSON text of each definition, by `url` and `url|version`.
    texts: RwLock<HashMap<Box<str>, Arc<str>>>,
    /// The URL of each base type's definition, by type name.
    base: RwLock<HashMap<Box<str>, Box<str>>>,
    /// Definitions compiled so far, by the URL they were asked for.
    compiled: RwLock<HashMap<Box<str>, Option<Arc<Profile>>>>,
    /// Compiled invariants and discriminator paths, shared by every profile.
    expressions: Mutex<ExpressionCache>,
    /// The packages' definitions, read on first use.
    deferred: Deferred,
}

impl Profiles {
    /// A repository holding `definitions` (StructureDefinitions; other
    /// resources are ignored). A later definition of the same URL wins.
    pub fn new<'a>(definitions: impl IntoIterator<Item = &'a Value>) -> Profiles {
        let profiles = Profiles {
            deferred: Deferred::nothing(),
            ..Profiles::default()
        };
        for definition in definitions {
            profiles.add(definition);
        }
        profiles
    }

    /// A repository whose definitions `loader` reads the first time one is
    /// asked for (the server starts without them).
    pub fn deferred(loader: Loader) -> Profiles {
        Profiles {
            deferred: Deferred::new(loader),
            ..Profiles::default()
        }
    }

    /// Reads the deferred definitions if they have not been read.
    fn loaded(&self) {
        self.deferred.ensure(|definition| {
            self.insert(definition);
        });
    }

    /// Adds or replaces `definition` if it is a StructureDefinition with a URL;
    /// returns whether it was one.
    pub fn add(&self, definition: &Value) -> bool {
        self.loaded();
        self.insert(definition)
    }

    fn insert(&self, definition: &Value) -> bool {
        if definition.get("resourceType").and_then(Value::as_str) != Some("StructureDefinition") {
            return false;
        }
        let Some(url) = definition.get("url").and_then(Value::as_str) else {
            return false;
        };
        let text: Arc<str> = match definition.as_object() {
            Some(object) => serde_json::to_string(&WithoutNarrative(object))
                .unwrap_or_else(|_| definition.to_string())
                .into(),
            None => return false,
        };
        let mut keys: Vec<Box<str>> = vec![url.into()];
        if let Some(version) = definition.get("version").and_then(Value::as_str) {
            keys.push(format!("{url}|{version}").into());
        }
        let is_base = matches!(
            definition.get("derivation").and_then(Value::as_str),
            Some("specialization") | None
        ) && url.starts_with("http://hl7.org/fhir/StructureDefinition/")
            && definition.get("kind").and_then(Value::as_str) != Some("logical");
        if is_base {
            if let Some(ty) = definition.get("type").and_then(Value::as_str) {
                write(&self.base).insert(ty.into(), url.into());
            }
        }
        let mut compiled = write(&self.compiled);
        let mut texts = write(&self.texts);
        for key in keys {
            compiled.remove(&key);
            texts.insert(key, text.clone());
        }
        true
    }

    /// A copy that can take definitions of its own without changing this one
    /// (a validation run with extra definitions); compiled profiles are shared.
    pub fn layer(&self) -> Profiles {
        self.loaded();
        let expressions = self
            .expressions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        Profiles {
            texts: RwLock::new(read(&self.texts).clone()),
            base: RwLock::new(read(&self.base).clone()),
            compiled: RwLock::new(read(&self.compiled).clone()),
            expressions: Mutex::new(expressions),
            deferred: Deferred::nothing(),
        }
    }

    /// Whether a definition with this canonical URL (optionally `|version`) is known.
    pub fn contains(&self, url: &str) -> bool {
        self.loaded();
        read(&self.texts).contains_key(url)
    }

    /// The compiled definition with canonical URL `url` (optionally `|version`).
    pub fn get(&self, url: &str) -> Option<Arc<Profile>> {
        self.loaded();
        if let Some(found) = read(&self.compiled).get(url) {
            return found.clone();
        }
        let profile = self.definition(url).and_then(|definition| {
            let mut expressions = self
                .expressions
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            Profile::compile(&definition, &mut expressions).map(Arc::new)
        });
        write(&self.compiled).insert(url.into(), profile.clone());
        profile
    }

    /// The definition with canonical URL `url`, with a snapshot generated
    /// from its differential when it came without one.
    pub fn definition(&self, url: &str) -> Option<Value> {
        self.loaded();
        let text = read(&self.texts).get(url).cloned()?;
        let mut definition: Value = serde_json::from_str(&text).ok()?;
        if definition.get("snapshot").is_none() {
            match snapshot::generate(&definition, self) {
                Some((elements, problems)) => {
                    for problem in problems {
                        tracing::warn!(
                            url,
                            problem.message,
                            "a mistake in this profile's differential"
                        );
                    }
                    definition["snapshot"] = serde_json::json!({ "element": elements })
                }
                None => tracing::warn!(
                    url,
                    "no snapshot could be generated for this profile: its base is unknown"
                ),
            }
        }
        Some(definition)
    }

    /// The compiled base definition of type `name` (`Patient`, `Quantity`, `string`).
    pub fn base(&self, name: &str) -> Option<Arc<Profile>> {
        self.loaded();
        let url = read(&self.base).get(name).cloned()?;
        self.get(&url)
    }

    /// The canonical URL of every definition held.
    pub fn urls(&self) -> Vec<Box<str>> {
        self.loaded();
        read(&self.texts)
            .keys()
            .filter(|k| !k.contains('|'))
            .cloned()
            .collect()
    }
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A StructureDefinition without what validation never reads (its narrative,
/// and its differential when it has a snapshot), serialised without copying the rest.
struct WithoutNarrative<'a>(&'a serde_json::Map<String, Value>);

impl serde::Serialize for WithoutNarrative<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(None)?;
        let has_snapshot = self.0.contains_key("snapshot");
        for (key, value) in self.0 {
            if key != "text" && (key != "differential" || !has_snapshot) {
                map.serialize_entry(key, value)?;
            }
        }
        map.end()
    }
}

impl Definitions for Profiles {
    fn snapshot_of(&self, url: &str) -> Option<Vec<Value>> {
        thread_local! {
            /// How deep snapshot generation has gone through bases: a base that
            /// is its own ancestor must not recurse for ever.
            static DEPTH: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
        }
        let depth = DEPTH.with(|d| d.get());
        if depth > 20 {
            return None;
        }
        DEPTH.with(|d| d.set(depth + 1));
        let elements =
            self.definition(url)
                .and_then(|mut d| match d.pointer_mut("/snapshot/element") {
                    Some(Value::Array(elements)) => Some(std::mem::take(elements)),
                    _ => None,
                });
        DEPTH.with(|d| d.set(depth));
        elements
    }
}
