//! One version of a code system, indexed for lookup, hierarchy and filters:
//! its concepts with displays, designations and properties, parents and
//! children (nesting and `parent`/`child` properties), and the status flags
//! expansions and validation report (inactive, not selectable, deprecated).
//! <https://hl7.org/fhir/R4/codesystem.html>

use std::collections::HashMap;

use serde_json::Value;

/// A designation of a concept: another name, in a language or for a use.
#[derive(Debug, Clone)]
pub struct Designation {
    /// Its language (`de`, `en-GB`), if stated.
    pub language: Option<String>,
    /// What it is for (a Coding), if stated.
    pub use_: Option<Value>,
    /// The text.
    pub value: String,
}

/// One concept of a code system.
#[derive(Debug, Clone)]
pub struct Concept {
    /// The code, as the code system writes it.
    pub code: String,
    /// Its display, if it has one.
    pub display: Option<String>,
    /// Its definition, if it has one.
    pub definition: Option<String>,
    /// Its designations.
    pub designations: Vec<Designation>,
    /// Its properties other than the hierarchy: code and value (`valueCode` …) as JSON.
    pub properties: Vec<(String, Value)>,
    /// The indexes of its parents.
    pub parents: Vec<usize>,
    /// The indexes of its children.
    pub children: Vec<usize>,
    /// Whether it is inactive (`inactive` true, or a `status` of retired or inactive).
    pub inactive: bool,
    /// Whether it may not be chosen (`notSelectable` true).
    pub abstract_: bool,
    /// Its `status` property (`active`, `retired`, `deprecated`…), if stated.
    pub status: Option<String>,
}

impl Concept {
    /// Whether it is deprecated (`status` deprecated, or the deprecated extension).
    pub fn deprecated(&self) -> bool {
        self.status.as_deref() == Some("deprecated")
    }

    /// The value of property `code`, if it has one.
    pub fn property(&self, code: &str) -> Option<&Value> {
        self.properties
            .iter()
            .find(|(c, _)| c == code)
            .map(|(_, v)| v)
    }
}

/// What identifies a code system built by an importer.
#[derive(Debug, Clone)]
pub struct CodeSystemHeader {
    /// Its canonical URL.
    pub url: String,
    /// Its version.
    pub version: Option<String>,
    /// Its name.
    pub name: String,
    /// The language of its displays.
    pub language: Option<String>,
}

/// One version of a code system.
#[derive(Debug, Clone)]
pub struct CodeSystem {
    /// Its canonical URL.
    pub url: String,
    /// Its version, if it states one.
    pub version: Option<String>,
    /// Its name.
    pub name: Option<String>,
    /// Its title.
    pub title: Option<String>,
    /// Its publication status (`draft`, `active`, `retired`).
    pub status: Option<String>,
    /// Whether it is experimental.
    pub experimental: bool,
    /// `complete`, `fragment`, `example`, `not-present` or `supplement`.
    pub content: String,
    /// The code system a supplement adds to.
    pub supplements: Option<String>,
    /// Whether codes compare case-sensitively.
    pub case_sensitive: bool,
    /// The language of its displays, if stated.
    pub language: Option<String>,
    /// Its property definitions: code, URI and type.
    pub property_definitions: Vec<(String, Option<String>, Option<String>)>,
    /// Every concept, nested ones included, in document order.
    pub concepts: Vec<Concept>,
    /// Concept index by code (lowercased when not case-sensitive).
    by_code: HashMap<String, usize>,
    /// The standards-status extension's value (`deprecated`, `withdrawn`…), if any.
    pub standards_status: Option<String>,
    /// The supplements applied (`url|version`), for `used-supplement`.
    pub applied_supplements: Vec<String>,
}

impl CodeSystem {
    /// Reads a CodeSystem resource.
    pub fn from_resource(resource: &Value) -> Option<CodeSystem> {
        let text = |key: &str| resource.get(key).and_then(Value::as_str).map(str::to_owned);
        let case_sensitive = resource.get("caseSensitive").and_then(Value::as_bool) != Some(false);
        let mut system = CodeSystem {
            url: text("url")?,
            version: text("version"),
            name: text("name"),
            title: text("title"),
            status: text("status"),
            experimental: resource.get("experimental").and_then(Value::as_bool) == Some(true),
            content: text("content").unwrap_or_else(|| "complete".into()),
            supplements: text("supplements"),
            case_sensitive,
            language: text("language"),
            property_definitions: array(resource, "property")
                .filter_map(|p| {
                    Some((
                        p.get("code")?.as_str()?.to_owned(),
                        p.get("uri").and_then(Value::as_str).map(str::to_owned),
                        p.get("type").and_then(Value::as_str).map(str::to_owned),
                    ))
                })
                .collect(),
            concepts: Vec::new(),
            by_code: HashMap::new(),
            standards_status: standards_status(resource),
            applied_supplements: Vec::new(),
        };
        // Properties named by their standard URI, whatever their code here.
        let by_uri = |name: &str| -> Vec<String> {
            let uri = format!("http://hl7.org/fhir/concept-properties#{name}");
            system
                .property_definitions
                .iter()
                .filter(|(_, u, _)| u.as_deref() == Some(uri.as_str()))
                .map(|(code, _, _)| code.clone())
                .collect()
        };
        let aliases = Aliases {
            not_selectable: by_uri("notSelectable"),
            status: by_uri("status"),
            inactive: by_uri("inactive"),
        };
        system.read_concepts(resource.get("concept"), None, &aliases);
        system.link_property_hierarchy();
        Some(system)
    }

    fn read_concepts(
        &mut self,
        concepts: Option<&Value>,
        parent: Option<usize>,
        aliases: &Aliases,
    ) {
        for concept in concepts.and_then(Value::as_array).into_iter().flatten() {
            let Some(code) = concept.get("code").and_then(Value::as_str) else {
                continue;
            };
            let properties: Vec<(String, Value)> = array(concept, "property")
                .filter_map(|p| {
                    let code = p.get("code")?.as_str()?.to_owned();
                    let value = p
                        .as_object()?
                        .iter()
                        .find(|(k, _)| k.starts_with("value"))
                        .map(|(k, v)| serde_json::json!({ k: v }))?;
                    Some((code, value))
                })
                .collect();
            let flag = |name: &str, alias: &[String]| {
                properties.iter().any(|(c, v)| {
                    (c == name || alias.contains(c))
                        && v.get("valueBoolean") == Some(&Value::Bool(true))
                })
            };
            let status = properties
                .iter()
                .find(|(c, _)| c == "status" || aliases.status.contains(c))
                .and_then(|(_, v)| v.get("valueCode").or_else(|| v.get("valueString")))
                .and_then(Value::as_str)
                .map(str::to_owned)
                .or_else(|| standards_status(concept));
            let inactive = flag("inactive", &aliases.inactive)
                || matches!(status.as_deref(), Some("retired" | "inactive"));
            let index = self.concepts.len();
            self.concepts.push(Concept {
                code: code.to_owned(),
                display: concept
                    .get("display")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                definition: concept
                    .get("definition")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                designations: array(concept, "designation")
                    .filter_map(|d| {
                        Some(Designation {
                            language: d.get("language").and_then(Value::as_str).map(str::to_owned),
                            use_: d.get("use").cloned(),
                            value: d.get("value")?.as_str()?.to_owned(),
                        })
                    })
                    .collect(),
                abstract_: flag("notSelectable", &aliases.not_selectable),
                inactive,
                status,
                properties,
                parents: parent.into_iter().collect(),
                children: Vec::new(),
            });
            if let Some(parent) = parent {
                self.concepts[parent].children.push(index);
            }
            self.by_code.insert(self.key(code), index);
            self.read_concepts(concept.get("concept"), Some(index), aliases);
        }
    }

    /// A code system of `concepts` (their `parents` and `children` left
    /// empty) with the hierarchy `links` (parent index, child index) states;
    /// for importers of releases that are not FHIR resources.
    pub fn from_concepts(
        header: CodeSystemHeader,
        concepts: Vec<Concept>,
        links: &[(usize, usize)],
    ) -> CodeSystem {
        let mut system = CodeSystem {
            url: header.url,
            version: header.version,
            name: Some(header.name),
            title: None,
            status: Some("active".into()),
            experimental: false,
            content: "complete".into(),
            supplements: None,
            case_sensitive: true,
            language: header.language,
            property_definitions: Vec::new(),
            by_code: HashMap::with_capacity(concepts.len()),
            concepts,
            standards_status: None,
            applied_supplements: Vec::new(),
        };
        for (index, concept) in system.concepts.iter().enumerate() {
            system.by_code.insert(concept.code.clone(), index);
        }
        for &(parent, child) in links {
            system.concepts[parent].children.push(child);
            system.concepts[child].parents.push(parent);
        }
        system
    }

    /// Adds the hierarchy that `parent` and `child` properties state.
    fn link_property_hierarchy(&mut self) {
        let mut links = Vec::new();
        for (index, concept) in self.concepts.iter().enumerate() {
            for (code, value) in &concept.properties {
                let Some(other) = value
                    .get("valueCode")
                    .and_then(Value::as_str)
                    .and_then(|c| self.index(c))
                else {
                    continue;
                };
                match code.as_str() {
                    "parent" => links.push((other, index)),
                    "child" => links.push((index, other)),
                    _ => {}
                }
            }
        }
        for (parent, child) in links {
            if !self.concepts[parent].children.contains(&child) {
                self.concepts[parent].children.push(child);
                self.concepts[child].parents.push(parent);
            }
        }
    }

    fn key(&self, code: &str) -> String {
        if self.case_sensitive {
            code.to_owned()
        } else {
            code.to_lowercase()
        }
    }

    /// The index of `code`'s concept.
    pub fn index(&self, code: &str) -> Option<usize> {
        self.by_code.get(&self.key(code)).copied()
    }

    /// The concept with `code`.
    pub fn concept(&self, code: &str) -> Option<&Concept> {
        self.index(code).map(|i| &self.concepts[i])
    }

    /// Every display of concept `index` with its language: its display (in
    /// the code system's language) and its designations.
    pub fn displays(&self, index: usize) -> Vec<(&str, Option<&str>)> {
        let concept = &self.concepts[index];
        concept
            .display
            .iter()
            .map(|d| (d.as_str(), self.language.as_deref()))
            .chain(
                concept
                    .designations
                    .iter()
                    .map(|d| (d.value.as_str(), d.language.as_deref())),
            )
            .collect()
    }

    /// The display of concept `index` for `language` (a designation in that
    /// language, else its display).
    pub fn display_in(&self, index: usize, language: Option<&str>) -> Option<String> {
        let concept = &self.concepts[index];
        if let Some(language) = language {
            if let Some((text, _)) = self
                .displays(index)
                .into_iter()
                .find(|(_, l)| l.is_some_and(|l| language_matches(language, l)))
            {
                return Some(text.to_owned());
            }
        }
        concept.display.clone()
    }

    /// This code system with `supplement`'s designations and properties added
    /// to the concepts they name.
    pub fn supplemented(&self, supplement: &CodeSystem) -> CodeSystem {
        let mut merged = self.clone();
        for extra in &supplement.concepts {
            if let Some(index) = merged.index(&extra.code) {
                let concept = &mut merged.concepts[index];
                concept
                    .designations
                    .extend(extra.designations.iter().cloned());
                // A supplement's display is another designation, in its language.
                if let Some(display) = &extra.display {
                    concept.designations.push(Designation {
                        language: supplement.language.clone(),
                        use_: None,
                        value: display.clone(),
                    });
                }
                concept.properties.extend(extra.properties.iter().cloned());
            }
        }
        for definition in &supplement.property_definitions {
            if !merged
                .property_definitions
                .iter()
                .any(|(c, _, _)| *c == definition.0)
            {
                merged.property_definitions.push(definition.clone());
            }
        }
        merged.applied_supplements.push(supplement.versioned_url());
        merged
    }

    /// Whether every code is listed (`content` complete).
    pub fn complete(&self) -> bool {
        self.content == "complete"
    }

    /// `url|version`, or the URL alone without a version.
    pub fn versioned_url(&self) -> String {
        match &self.version {
            Some(version) => format!("{}|{version}", self.url),
            None => self.url.clone(),
        }
    }

    /// The indexes of every concept below `index` (not itself).
    pub fn descendants(&self, index: usize) -> Vec<usize> {
        let mut seen = vec![false; self.concepts.len()];
        let mut out = Vec::new();
        let mut stack = self.concepts[index].children.clone();
        while let Some(next) = stack.pop() {
            if !std::mem::replace(&mut seen[next], true) {
                out.push(next);
                stack.extend(&self.concepts[next].children);
            }
        }
        out.sort_unstable();
        out
    }

    /// The indexes of every concept above `index` (not itself).
    pub fn ancestors(&self, index: usize) -> Vec<usize> {
        let mut seen = vec![false; self.concepts.len()];
        let mut out = Vec::new();
        let mut stack = self.concepts[index].parents.clone();
        while let Some(next) = stack.pop() {
            if !std::mem::replace(&mut seen[next], true) {
                out.push(next);
                stack.extend(&self.concepts[next].parents);
            }
        }
        out
    }

    /// Whether `a` subsumes `b` (is `b` or one of its ancestors).
    pub fn subsumes(&self, a: usize, b: usize) -> bool {
        a == b || self.ancestors(b).contains(&a)
    }

    /// The concepts with no parent, in document order.
    pub fn roots(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.concepts.len()).filter(|&i| self.concepts[i].parents.is_empty())
    }
}

/// The codes by which a code system names the standard concept properties
/// (`http://hl7.org/fhir/concept-properties#notSelectable` may be `not-selectable`).
struct Aliases {
    not_selectable: Vec<String>,
    status: Vec<String>,
    inactive: Vec<String>,
}

/// The items of array property `key` of `value`.
pub(crate) fn array<'a>(value: &'a Value, key: &str) -> impl Iterator<Item = &'a Value> {
    value
        .get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// The value of the structuredefinition-standards-status extension, if any.
fn standards_status(value: &Value) -> Option<String> {
    array(value, "extension")
        .find(|e| {
            e.get("url").and_then(Value::as_str)
                == Some(
                    "http://hl7.org/fhir/StructureDefinition/structuredefinition-standards-status",
                )
        })
        .and_then(|e| e.get("valueCode"))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// Whether a text in language `have` serves a request for `wanted` (`de`
/// serves `de` and `de-CH`; `de-CH` is served by `de-CH` and `de`).
pub fn language_matches(wanted: &str, have: &str) -> bool {
    let (wanted, have) = (wanted.to_lowercase(), have.to_lowercase());
    wanted == have
        || have.starts_with(&format!("{wanted}-"))
        || wanted.starts_with(&format!("{have}-"))
}

/// The first language of an `Accept-Language`-style list (`de, *; q=0` → `de`).
pub fn first_language(list: &str) -> Option<&str> {
    list.split(',')
        .map(|part| part.split(';').next().unwrap_or_default().trim())
        .find(|tag| !tag.is_empty() && *tag != "*")
}
