//! Value set expansion: the codes a ValueSet's `compose` selects, from whole
//! code systems, enumerated concepts, property and hierarchy filters, and
//! other value sets, minus exclusions; then the request's text filter,
//! inactive handling and paging. <https://hl7.org/fhir/R4/valueset-operation-expand.html>

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde_json::{json, Value};

use crate::code_system::{array, CodeSystem, Designation};
use crate::outcome::TxIssue;
use crate::{split_version, Scope, TxError};

/// How deep value sets may import value sets before it counts as a cycle.
const MAX_IMPORT_DEPTH: usize = 16;

/// Code system versions a request pins: for includes that name none
/// (`system-version`), that must be used (`check-system-version`), or that
/// override what the value set says (`force-system-version`); by system URL.
#[derive(Debug, Clone, Default)]
pub struct SystemVersions {
    /// Used when an include states no version.
    pub default: HashMap<String, String>,
    /// An include stating another version is an error.
    pub check: HashMap<String, String>,
    /// Used whatever an include states.
    pub force: HashMap<String, String>,
}

impl SystemVersions {
    /// Reads `system-version`-style values (`url|version`) into `map`.
    pub fn add(map: &mut HashMap<String, String>, canonical: &str) {
        if let (url, Some(version)) = split_version(canonical) {
            map.insert(url.to_owned(), version.to_owned());
        }
    }

    /// The version (or version pattern) to read `system` at when an include
    /// states `stated`: forced, stated, or a default (`system-version`, else
    /// `check-system-version`).
    fn choose(&self, system: &str, stated: Option<&str>) -> Option<String> {
        self.force
            .get(system)
            .cloned()
            .or_else(|| stated.map(str::to_owned))
            .or_else(|| self.default.get(system).cloned())
            .or_else(|| self.check.get(system).cloned())
    }

    /// An error when `check-system-version` does not allow the version used.
    fn check(&self, cs: &CodeSystem) -> Result<(), TxError> {
        let (Some(required), Some(used)) = (self.check.get(&cs.url), cs.version.as_deref()) else {
            return Ok(());
        };
        if crate::version_matches(required, used) {
            return Ok(());
        }
        Err(TxError::unprocessable(
            "exception",
            "version-error",
            format!(
                "The version '{used}' is not allowed for system '{}': required to be '{required}' by a version-check parameter",
                cs.url
            ),
        )
        .id("VALUESET_VERSION_CHECK"))
    }
}

/// What an expansion request asks beyond the value set.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Text the codes' displays must match (`filter`).
    pub filter: Option<String>,
    /// How many codes to skip (`offset`).
    pub offset: usize,
    /// How many codes to return at most (`count`).
    pub count: Option<usize>,
    /// Whether inactive codes are left out (`activeOnly`).
    pub active_only: bool,
    /// Whether designations are returned (`includeDesignations`).
    pub include_designations: bool,
    /// The language displays should be in (`displayLanguage`).
    pub display_language: Option<String>,
    /// Concept properties to return (`property`).
    pub properties: Vec<String>,
    /// Whether the answer carries the value set's whole definition (`includeDefinition`).
    pub include_definition: bool,
    /// Which designations to return (`designation`: `urn:ietf:bcp:47|es` for a
    /// language, `system|code` for a use); all without any.
    pub designations: Vec<String>,
    /// Code system versions the request pins.
    pub versions: SystemVersions,
    /// The most codes an expansion may hold before it is refused as too costly.
    pub limit: Option<usize>,
    /// Request parameters echoed in `expansion.parameter`.
    pub echo: Vec<Value>,
}

impl Options {
    /// For membership checks: everything, no paging.
    pub fn for_membership() -> Options {
        Options::default()
    }
}

/// One code of an expansion.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Its system.
    pub system: String,
    /// The version of its system, when known.
    pub version: Option<String>,
    /// The code.
    pub code: String,
    /// Its display.
    pub display: Option<String>,
    /// Whether it is inactive.
    pub inactive: bool,
    /// Whether it may not be chosen.
    pub abstract_: bool,
    /// Its designations.
    pub designations: Vec<Designation>,
    /// Its properties (code and `value[x]` as JSON).
    pub properties: Vec<(String, Value)>,
    /// Its definition, for the `definition` property.
    pub definition: Option<String>,
}

/// The result of expanding a value set.
#[derive(Debug, Default, Clone)]
pub struct Expansion {
    /// The codes, in order, before paging.
    pub entries: Vec<Entry>,
    /// The code systems drawn on (`url|version`), in order of first use.
    pub used_code_systems: Vec<String>,
    /// The value sets imported (`url|version`).
    pub used_value_sets: Vec<String>,
    /// Notes on what was used (`used-fragment`, `warning-draft`,
    /// `warning-deprecated`…) with the canonical concerned.
    pub notes: Vec<(&'static str, String)>,
    /// The codes held, by system, for membership questions.
    index: HashMap<String, HashSet<String>>,
    /// Grammar code systems included whole (BCP-47, MIME types): every
    /// well-formed code is in, and the expansion cannot be listed.
    pub open_systems: Vec<String>,
    /// The URIs of the concept properties of the code systems used, by code.
    pub property_uris: HashMap<String, String>,
}

impl Expansion {
    /// Whether (`system`, `code`) is in the expansion (in any version).
    pub fn contains(&self, system: &str, code: &str) -> bool {
        self.index
            .get(system)
            .is_some_and(|codes| codes.contains(code))
            || (self.open_systems.iter().any(|s| s == system)
                && crate::grammar::accepts(system, code))
    }

    /// An error when the expansion cannot be listed (it includes a grammar whole).
    pub fn listable(&self) -> Result<(), TxError> {
        match self.open_systems.first() {
            None => Ok(()),
            Some(system) => Err(TxError::unprocessable(
                "too-costly",
                "too-costly",
                format!(
                    "The value set includes every code of {system}, a grammar rather than a list, so it cannot be expanded"
                ),
            )
            .id("VALUESET_TOO_COSTLY")),
        }
    }

    fn reindex(&mut self) {
        self.index.clear();
        for entry in &self.entries {
            self.index
                .entry(entry.system.clone())
                .or_default()
                .insert(entry.code.clone());
        }
    }

    fn use_code_system(&mut self, cs: &CodeSystem) {
        let url = cs.versioned_url();
        if self.used_code_systems.contains(&url) {
            return;
        }
        if cs.content == "fragment" {
            self.note("used-fragment", &url);
        }
        for (name, applies) in status_warnings(
            cs.status.as_deref(),
            cs.experimental,
            cs.standards_status.as_deref(),
        ) {
            if applies {
                self.note(name, &url);
            }
        }
        for supplement in &cs.applied_supplements {
            self.note("used-supplement", supplement);
        }
        for (code, uri, _) in &cs.property_definitions {
            if let Some(uri) = uri {
                self.property_uris
                    .entry(code.clone())
                    .or_insert_with(|| uri.clone());
            }
        }
        self.used_code_systems.push(url);
    }

    fn note(&mut self, name: &'static str, canonical: &str) {
        let note = (name, canonical.to_owned());
        if !self.notes.contains(&note) {
            self.notes.push(note);
        }
    }
}

/// The status warnings a definition earns: draft, experimental, deprecated
/// or withdrawn (by its status, or its standards-status extension).
pub fn status_warnings(
    status: Option<&str>,
    experimental: bool,
    standards_status: Option<&str>,
) -> [(&'static str, bool); 4] {
    [
        ("warning-draft", status == Some("draft")),
        (
            "warning-experimental",
            experimental && status != Some("draft"),
        ),
        ("warning-deprecated", standards_status == Some("deprecated")),
        (
            "warning-withdrawn",
            standards_status == Some("withdrawn") || status == Some("retired"),
        ),
    ]
}

/// Expands `value_set` in `scope`: its compose (cached by the scope when it
/// can be), then the request's filters.
pub fn expand(
    scope: &Scope,
    value_set: &Value,
    options: &Options,
) -> Result<Arc<Expansion>, TxError> {
    let composed = scope.composed(value_set, options)?;
    let filter = options.filter.as_deref().filter(|f| !f.is_empty());
    let expansion = if options.active_only || filter.is_some() {
        let mut narrowed = (*composed).clone();
        if options.active_only {
            narrowed.entries.retain(|e| !e.inactive);
        }
        if let Some(filter) = filter {
            narrowed.entries.retain(|e| text_matches(e, filter));
        }
        narrowed.reindex();
        Arc::new(narrowed)
    } else {
        composed
    };
    if let Some(limit) = options.limit {
        if expansion.entries.len() > limit && options.count.is_none() {
            return Err(TxError::unprocessable(
                "too-costly",
                "too-costly",
                format!(
                    "The value set {} expansion has too many codes to display ({} > {limit})",
                    canonical_of(value_set),
                    expansion.entries.len()
                ),
            )
            .id("VALUESET_TOO_COSTLY"));
        }
    }
    Ok(expansion)
}

/// The codes `value_set`'s compose selects, indexed; what [`Scope::composed`] caches.
pub(crate) fn compose_value_set(
    scope: &Scope,
    value_set: &Value,
    options: &Options,
) -> Result<Expansion, TxError> {
    let mut expansion = compose(scope, value_set, options, &mut Vec::new())?;
    expansion.reindex();
    Ok(expansion)
}

/// The `url|version` of a canonical resource.
pub fn canonical_of(resource: &Value) -> String {
    let url = resource
        .get("url")
        .and_then(Value::as_str)
        .unwrap_or_default();
    match resource.get("version").and_then(Value::as_str) {
        Some(version) => format!("{url}|{version}"),
        None => url.to_owned(),
    }
}

/// The codes a value set's compose selects, before request filters.
fn compose(
    scope: &Scope,
    value_set: &Value,
    options: &Options,
    stack: &mut Vec<String>,
) -> Result<Expansion, TxError> {
    let canonical = canonical_of(value_set);
    if stack.contains(&canonical) || stack.len() > MAX_IMPORT_DEPTH {
        return Err(TxError::unprocessable(
            "processing",
            "vs-invalid",
            format!(
                "The value set {canonical} imports itself (through {})",
                stack.join(", ")
            ),
        )
        .id("VALUESET_CIRCULAR_REFERENCE"));
    }
    // Supplements the value set asks for must be there.
    for supplement in array(value_set, "extension")
        .filter(|e| {
            e.get("url").and_then(Value::as_str)
                == Some("http://hl7.org/fhir/StructureDefinition/valueset-supplement")
        })
        .filter_map(|e| e.get("valueCanonical").and_then(Value::as_str))
    {
        let (url, version) = split_version(supplement);
        if scope.code_system(url, version).is_none() {
            return Err(TxError::unprocessable(
                "business-rule",
                "not-found",
                format!("The value set {canonical} needs the code system supplement {supplement}, which could not be found"),
            )
        .id("VALUESET_SUPPLEMENT_MISSING"));
        }
    }
    let Some(compose) = value_set.get("compose") else {
        // A value set that is only an expansion already.
        return Ok(stored_expansion(value_set));
    };
    let mut out = Expansion::default();
    let standards = array(value_set, "extension")
        .find(|e| {
            e.get("url").and_then(Value::as_str)
                == Some(
                    "http://hl7.org/fhir/StructureDefinition/structuredefinition-standards-status",
                )
        })
        .and_then(|e| e.get("valueCode"))
        .and_then(Value::as_str);
    let experimental = value_set.get("experimental") == Some(&Value::Bool(true));
    let status = value_set.get("status").and_then(Value::as_str);
    // A value set's own draft or experimental status is no news to its user.
    for (name, applies) in status_warnings(status, experimental, standards) {
        if applies && matches!(name, "warning-deprecated" | "warning-withdrawn") {
            out.note(name, &canonical);
        }
    }
    stack.push(canonical);
    // Two versions of one system may both be included: a code is one
    // entry per version.
    let mut seen: HashSet<(String, Option<String>, String)> = HashSet::new();
    for (n, include) in array(compose, "include").enumerate() {
        let part = part(scope, value_set, include, options, stack, &mut out)
            .map_err(|e| e.under(&format!("ValueSet.compose.include[{n}]")))?;
        for entry in part {
            if seen.insert((
                entry.system.clone(),
                entry.version.clone(),
                entry.code.clone(),
            )) {
                out.entries.push(entry);
            }
        }
    }
    let mut excluded: HashSet<(String, String)> = HashSet::new();
    for exclude in array(compose, "exclude") {
        let mut ignored = Expansion::default();
        for entry in part(scope, value_set, exclude, options, stack, &mut ignored)? {
            excluded.insert((entry.system, entry.code));
        }
    }
    if !excluded.is_empty() {
        out.entries
            .retain(|e| !excluded.contains(&(e.system.clone(), e.code.clone())));
    }
    if compose.get("inactive") == Some(&Value::Bool(false)) {
        out.entries.retain(|e| !e.inactive);
    }
    stack.pop();
    Ok(out)
}

/// The codes of a value set that carries an expansion and no compose.
fn stored_expansion(value_set: &Value) -> Expansion {
    fn walk(items: &Value, out: &mut Vec<Entry>) {
        for item in array(items, "contains") {
            if let (Some(system), Some(code)) = (
                item.get("system").and_then(Value::as_str),
                item.get("code").and_then(Value::as_str),
            ) {
                out.push(Entry {
                    system: system.to_owned(),
                    version: item
                        .get("version")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                    code: code.to_owned(),
                    display: item
                        .get("display")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                    inactive: item.get("inactive") == Some(&Value::Bool(true)),
                    abstract_: item.get("abstract") == Some(&Value::Bool(true)),
                    designations: Vec::new(),
                    properties: Vec::new(),
                    definition: None,
                });
            }
            walk(item, out);
        }
    }
    let mut entries = Vec::new();
    if let Some(expansion) = value_set.get("expansion") {
        walk(expansion, &mut entries);
    }
    Expansion {
        entries,
        ..Expansion::default()
    }
}

/// The codes one `include` (or `exclude`) selects.
fn part(
    scope: &Scope,
    owner: &Value,
    include: &Value,
    options: &Options,
    stack: &mut Vec<String>,
    out: &mut Expansion,
) -> Result<Vec<Entry>, TxError> {
    let mut entries: Option<Vec<Entry>> = None;
    if let Some(system) = include.get("system").and_then(Value::as_str) {
        entries = Some(system_part(scope, system, include, options, out)?);
    }
    for imported in array(include, "valueSet").filter_map(Value::as_str) {
        let (url, version) = split_version(imported);
        // `#id`: a value set contained in the one being expanded.
        let contained = url.strip_prefix('#').and_then(|id| {
            array(owner, "contained")
                .find(|r| r.get("id").and_then(Value::as_str) == Some(id))
                .map(|r| Arc::new(r.clone()))
        });
        let Some(other) = contained.or_else(|| scope.value_set(url, version)) else {
            return Err(TxError::not_found(format!(
                "A definition for the value Set '{imported}' could not be found"
            ))
            .id("Unable_to_resolve_value_Set_"));
        };
        // A contained value set is part of this one, not another used.
        let used = canonical_of(&other);
        if !url.starts_with('#') && !out.used_value_sets.contains(&used) {
            out.used_value_sets.push(used);
        }
        let theirs = compose(scope, &other, options, stack)?;
        for cs in theirs.used_code_systems {
            if !out.used_code_systems.contains(&cs) {
                out.used_code_systems.push(cs);
            }
        }
        for vs in theirs.used_value_sets {
            if !out.used_value_sets.contains(&vs) {
                out.used_value_sets.push(vs);
            }
        }
        for (name, canonical) in theirs.notes {
            out.note(name, &canonical);
        }
        for system in theirs.open_systems {
            if !out.open_systems.contains(&system) {
                out.open_systems.push(system);
            }
        }
        entries = Some(match entries {
            None => theirs.entries,
            Some(mine) => {
                let keys: HashSet<(&str, &str)> = theirs
                    .entries
                    .iter()
                    .map(|e| (e.system.as_str(), e.code.as_str()))
                    .collect();
                mine.into_iter()
                    .filter(|e| keys.contains(&(e.system.as_str(), e.code.as_str())))
                    .collect()
            }
        });
    }
    Ok(entries.unwrap_or_default())
}

/// The codes an include takes from code system `system`.
fn system_part(
    scope: &Scope,
    system: &str,
    include: &Value,
    options: &Options,
    out: &mut Expansion,
) -> Result<Vec<Entry>, TxError> {
    let stated = include.get("version").and_then(Value::as_str);
    let version = options.versions.choose(system, stated);
    let concepts: Vec<&Value> = array(include, "concept").collect();
    let filters: Vec<&Value> = array(include, "filter").collect();
    if crate::grammar::is_grammar(system) && concepts.is_empty() {
        if !out.open_systems.iter().any(|s| s == system) {
            out.open_systems.push(system.to_owned());
        }
        return Ok(Vec::new());
    }
    let Some(cs) = scope.code_system(system, version.as_deref()) else {
        if !concepts.is_empty() && filters.is_empty() && version.is_none() {
            // Codes of a system we do not hold, listed by the value set itself.
            return Ok(concepts
                .iter()
                .filter_map(|c| {
                    Some(Entry {
                        system: system.to_owned(),
                        version: None,
                        code: c.get("code")?.as_str()?.to_owned(),
                        display: c.get("display").and_then(Value::as_str).map(str::to_owned),
                        inactive: false,
                        abstract_: false,
                        designations: Vec::new(),
                        properties: Vec::new(),
                        definition: None,
                    })
                })
                .collect());
        }
        let known = scope.code_system_versions(system);
        let text = match &version {
            Some(version) if !known.is_empty() => format!(
                "A definition for CodeSystem '{system}' version '{version}' could not be found, so the value set cannot be expanded. Valid versions: {}",
                known.join(" or ")
            ),
            Some(version) => format!(
                "A definition for CodeSystem '{system}' version '{version}' could not be found, so the value set cannot be expanded"
            ),
            None => format!(
                "A definition for CodeSystem '{system}' could not be found, so the value set cannot be expanded"
            ),
        };
        return Err(TxError::not_found(text).about_code_system(system));
    };
    if cs.content == "not-present" || cs.content == "supplement" {
        return Err(TxError::unprocessable(
            "not-supported",
            "not-supported",
            format!(
                "The code system {} has no content here, so the value set cannot be expanded",
                cs.versioned_url()
            ),
        ));
    }
    options.versions.check(&cs)?;
    out.use_code_system(&cs);
    let language = options
        .display_language
        .as_deref()
        .and_then(crate::first_language);
    let entry = |index: usize, display: Option<&str>| {
        let concept = &cs.concepts[index];
        let display = display
            .map(str::to_owned)
            .or_else(|| cs.display_in(index, language));
        // A display taken from a designation leaves the designations; the
        // code system's own display joins them, in its language.
        let mut designations = Vec::new();
        // Designations are copied only for answers that show or search them.
        let wanted = options.include_designations || options.filter.is_some();
        if let (true, Some(own), Some(shown)) = (wanted, &concept.display, &display) {
            if own != shown {
                designations.push(Designation {
                    language: cs.language.clone(),
                    use_: Some(json!({
                        "system": "http://terminology.hl7.org/CodeSystem/hl7TermMaintInfra",
                        "code": "preferredForLanguage",
                        "display": "Preferred For Language"
                    })),
                    value: own.clone(),
                });
            }
        }
        designations.extend(
            concept
                .designations
                .iter()
                .filter(|_| wanted)
                .filter(|d| {
                    Some(&d.value) != display.as_ref()
                        || !d
                            .language
                            .as_deref()
                            .zip(language)
                            .is_some_and(|(have, wanted)| have.eq_ignore_ascii_case(wanted))
                })
                .cloned(),
        );
        Entry {
            system: cs.url.clone(),
            version: cs.version.clone(),
            code: concept.code.clone(),
            display,
            inactive: concept.inactive,
            abstract_: concept.abstract_,
            designations,
            properties: concept.properties.clone(),
            definition: concept.definition.clone(),
        }
    };
    if !concepts.is_empty() {
        let mut selected = Vec::new();
        for concept in concepts {
            let Some(code) = concept.get("code").and_then(Value::as_str) else {
                continue;
            };
            // Codes the system does not have are left out.
            if let Some(index) = cs.index(code) {
                let display = concept.get("display").and_then(Value::as_str);
                selected.push(entry(index, display));
            }
        }
        return Ok(selected);
    }
    // The first filter's codes, narrowed by the others (all codes without filters).
    let mut selected: Option<Vec<usize>> = None;
    for (n, filter) in filters.into_iter().enumerate() {
        let matching = apply_filter(&cs, filter).map_err(|e| e.under(&format!("filter[{n}]")))?;
        selected = Some(match selected {
            None => {
                let mut first: Vec<usize> = matching.into_iter().collect();
                first.sort_unstable();
                first
            }
            Some(mut so_far) => {
                so_far.retain(|i| matching.contains(i));
                so_far
            }
        });
    }
    let selected = selected.unwrap_or_else(|| (0..cs.concepts.len()).collect());
    Ok(selected.into_iter().map(|i| entry(i, None)).collect())
}

/// The concepts of `cs` a `compose.include.filter` selects.
fn apply_filter(cs: &CodeSystem, filter: &Value) -> Result<HashSet<usize>, TxError> {
    let text = |key: &str| filter.get(key).and_then(Value::as_str).unwrap_or_default();
    let (property, op, value) = (text("property"), text("op"), text("value"));
    if filter.get("value").is_none() {
        let issue = TxIssue::error(
            "invalid",
            "vs-invalid",
            format!(
                "The system {} filter with property = {property}, op = {op} has no value",
                cs.url
            ),
        )
        .id("UNABLE_TO_HANDLE_SYSTEM_FILTER_WITH_NO_VALUE")
        .at("");
        return Err(TxError::with_issue(400, issue));
    }
    let all = || 0..cs.concepts.len();
    let unknown_code = || {
        TxError::invalid(format!(
            "The filter {property} {op} {value} names a code that {} does not have",
            cs.versioned_url()
        ))
    };
    let hierarchy = matches!(property, "concept" | "code");
    let selected: HashSet<usize> = match op {
        "is-a" | "descendent-of" | "is-not-a" | "generalizes" | "child-of" if hierarchy => {
            let index = cs.index(value).ok_or_else(unknown_code)?;
            match op {
                "is-a" => std::iter::once(index)
                    .chain(cs.descendants(index))
                    .collect(),
                "descendent-of" => cs.descendants(index).into_iter().collect(),
                "is-not-a" => {
                    let below: HashSet<usize> = std::iter::once(index)
                        .chain(cs.descendants(index))
                        .collect();
                    all().filter(|i| !below.contains(i)).collect()
                }
                "generalizes" => std::iter::once(index).chain(cs.ancestors(index)).collect(),
                _ => cs.concepts[index].children.iter().copied().collect(),
            }
        }
        "=" if hierarchy => cs.index(value).into_iter().collect(),
        "in" | "not-in" if hierarchy => {
            let listed: HashSet<usize> = value
                .split(',')
                .filter_map(|c| cs.index(c.trim()))
                .collect();
            if op == "in" {
                listed
            } else {
                all().filter(|i| !listed.contains(i)).collect()
            }
        }
        "regex" if hierarchy => {
            let pattern = compile_regex(value)?;
            all()
                .filter(|&i| pattern.is_match(&cs.concepts[i].code))
                .collect()
        }
        "=" | "regex" if property == "display" => {
            let pattern = (op == "regex").then(|| compile_regex(value)).transpose()?;
            all()
                .filter(|&i| {
                    let display = cs.concepts[i].display.as_deref().unwrap_or_default();
                    match &pattern {
                        Some(p) => p.is_match(display),
                        None => display == value,
                    }
                })
                .collect()
        }
        "=" | "in" | "not-in" | "regex" | "exists" => {
            let known = cs
                .property_definitions
                .iter()
                .any(|(c, _, _)| c == property)
                || matches!(
                    property,
                    "inactive" | "notSelectable" | "status" | "parent" | "child"
                );
            if !known {
                return Err(TxError::invalid(format!(
                    "The property {property} is not defined by {}, so the filter {property} {op} {value} cannot be used",
                    cs.versioned_url()
                )));
            }
            let pattern = (op == "regex").then(|| compile_regex(value)).transpose()?;
            let listed: Vec<&str> = value.split(',').map(str::trim).collect();
            all()
                .filter(|&i| {
                    let values = property_values(cs, i, property);
                    match op {
                        "exists" => values.is_empty() != (value == "true"),
                        "=" => values.iter().any(|v| v == value),
                        "in" => values.iter().any(|v| listed.contains(&v.as_str())),
                        "not-in" => !values.iter().any(|v| listed.contains(&v.as_str())),
                        _ => values
                            .iter()
                            .any(|v| pattern.as_ref().is_some_and(|p| p.is_match(v))),
                    }
                })
                .collect()
        }
        _ => {
            return Err(TxError::invalid(format!(
                "The filter {property} {op} {value} is not understood for {}",
                cs.versioned_url()
            )))
        }
    };
    Ok(selected)
}

/// The values of property `property` of concept `index`, as text.
fn property_values(cs: &CodeSystem, index: usize, property: &str) -> Vec<String> {
    let concept = &cs.concepts[index];
    match property {
        "parent" => {
            return concept
                .parents
                .iter()
                .map(|&p| cs.concepts[p].code.clone())
                .collect()
        }
        "child" => {
            return concept
                .children
                .iter()
                .map(|&c| cs.concepts[c].code.clone())
                .collect()
        }
        "inactive" if concept.property("inactive").is_none() => {
            return vec![concept.inactive.to_string()]
        }
        _ => {}
    }
    concept
        .properties
        .iter()
        .filter(|(c, _)| c == property)
        .filter_map(|(_, v)| {
            let value = v.as_object()?.values().next()?;
            Some(match value {
                Value::String(s) => s.clone(),
                Value::Object(coding) => coding.get("code")?.as_str()?.to_owned(),
                other => other.to_string(),
            })
        })
        .collect()
}

/// A regular expression that must match a whole value.
fn compile_regex(pattern: &str) -> Result<regex::Regex, TxError> {
    regex::Regex::new(&format!("^(?:{pattern})$")).map_err(|e| {
        TxError::invalid(format!(
            "The regular expression {pattern} is not valid: {e}"
        ))
    })
}

/// Whether an entry matches the `filter` text: each of its words begins a word
/// of the display (or a designation), or the code, case-insensitively.
fn text_matches(entry: &Entry, filter: &str) -> bool {
    let filter = filter.to_lowercase();
    let words: Vec<&str> = filter.split_whitespace().collect();
    let matches_text = |text: &str| {
        let text = text.to_lowercase();
        let theirs: Vec<&str> = text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect();
        words
            .iter()
            .all(|w| theirs.iter().any(|t| t.starts_with(w)))
    };
    entry.code.to_lowercase().starts_with(&filter)
        || entry.display.as_deref().is_some_and(matches_text)
        || entry.designations.iter().any(|d| matches_text(&d.value))
}

/// The ValueSet resource an `$expand` answers: the value set's definition
/// with its expansion (one page of it); `with_offset` says whether the
/// request named an offset, which the expansion then states.
pub fn to_value_set(
    value_set: &Value,
    expansion: &Expansion,
    options: &Options,
    with_offset: bool,
) -> Value {
    // The value set's identity; its whole definition only when asked for
    // (`includeDefinition`).
    let mut out = if options.include_definition {
        let mut all = value_set.clone();
        if let Some(object) = all.as_object_mut() {
            object.remove("text");
            object.remove("expansion");
        }
        all
    } else {
        let mut identity = json!({"resourceType": "ValueSet"});
        for key in [
            "id",
            "language",
            "url",
            "version",
            "name",
            "title",
            "status",
            "experimental",
        ] {
            if let Some(value) = value_set.get(key) {
                identity[key] = value.clone();
            }
        }
        identity
    };
    let total = expansion.entries.len();
    let page = expansion
        .entries
        .iter()
        .skip(options.offset)
        .take(options.count.unwrap_or(usize::MAX));
    // Versions are named where the expansion holds more than one of a system.
    let mut versions: HashMap<&str, HashSet<Option<&str>>> = HashMap::new();
    for entry in &expansion.entries {
        versions
            .entry(entry.system.as_str())
            .or_default()
            .insert(entry.version.as_deref());
    }
    let contains: Vec<Value> = page
        .map(|e| {
            let several = versions.get(e.system.as_str()).is_some_and(|v| v.len() > 1);
            entry_json(e, options, several)
        })
        .collect();
    let mut parameters = options.echo.clone();
    for cs in &expansion.used_code_systems {
        parameters.push(json!({"name": "used-codesystem", "valueUri": cs}));
    }
    for vs in &expansion.used_value_sets {
        parameters.push(json!({"name": "used-valueset", "valueUri": vs}));
    }
    for (name, canonical) in &expansion.notes {
        parameters.push(json!({"name": name, "valueUri": canonical}));
    }
    let mut result = json!({
        "identifier": format!("urn:uuid:{}", uuid::Uuid::new_v4()),
        "timestamp": now(),
        "total": total,
    });
    if with_offset {
        result["offset"] = json!(options.offset);
    }
    if !parameters.is_empty() {
        result["parameter"] = Value::Array(parameters);
    }
    // The properties shown, declared with their URIs.
    let mut declared: Vec<String> = Vec::new();
    for entry in &expansion.entries {
        for (code, _) in shown_properties(entry, options) {
            if !declared.contains(&code) {
                declared.push(code);
            }
        }
    }
    let declarations: Vec<Value> = declared
        .iter()
        .map(|code| {
            let uri = expansion
                .property_uris
                .get(code.as_str())
                .map(String::as_str)
                .or(match code.as_str() {
                    "status" => Some(STATUS_URI),
                    "definition" => Some(DEFINITION_URI),
                    _ => None,
                });
            let mut parts = vec![json!({"url": "code", "valueCode": code})];
            if let Some(uri) = uri {
                parts.push(json!({"url": "uri", "valueUri": uri}));
            }
            json!({"url": EXPANSION_PROPERTY, "extension": parts})
        })
        .collect();
    if !declarations.is_empty() {
        result["extension"] = Value::Array(declarations);
    }
    if !contains.is_empty() {
        result["contains"] = Value::Array(contains);
    }
    out["expansion"] = result;
    out
}

fn entry_json(entry: &Entry, options: &Options, with_version: bool) -> Value {
    let mut item = json!({"system": entry.system, "code": entry.code});
    if let Some(version) = entry.version.as_ref().filter(|_| with_version) {
        item["version"] = json!(version);
    }
    if let Some(display) = &entry.display {
        item["display"] = json!(display);
    }
    if entry.abstract_ {
        item["abstract"] = json!(true);
    }
    if entry.inactive {
        item["inactive"] = json!(true);
    }
    let wanted = |d: &&Designation| {
        options.designations.is_empty()
            || options
                .designations
                .iter()
                .any(|w| match w.split_once('|') {
                    Some(("urn:ietf:bcp:47", language)) => d.language.as_deref() == Some(language),
                    Some((system, code)) => d.use_.as_ref().is_some_and(|u| {
                        u.get("system").and_then(Value::as_str) == Some(system)
                            && u.get("code").and_then(Value::as_str) == Some(code)
                    }),
                    None => false,
                })
    };
    let designations: Vec<&Designation> = entry.designations.iter().filter(wanted).collect();
    if options.include_designations && !designations.is_empty() {
        item["designation"] = designations
            .iter()
            .map(|d| {
                let mut designation = json!({"value": d.value});
                if let Some(language) = &d.language {
                    designation["language"] = json!(language);
                }
                if let Some(use_) = &d.use_ {
                    designation["use"] = use_.clone();
                }
                designation
            })
            .collect();
    }
    let properties: Vec<Value> = shown_properties(entry, options)
        .into_iter()
        .map(|(code, value)| {
            // R4 has no `contains.property`: R5's element as its cross-version extension.
            let (key, value) = value
                .as_object()
                .and_then(|v| v.iter().next())
                .map_or(("valueString", Value::Null), |(k, v)| {
                    (k.as_str(), v.clone())
                });
            json!({
                "url": CONTAINS_PROPERTY,
                "extension": [{"url": "code", "valueCode": code}, {"url": "value", key: value}],
            })
        })
        .collect();
    if !properties.is_empty() {
        item["extension"] = Value::Array(properties);
    }
    item
}

/// R5's `ValueSet.expansion.contains.property`, as an R4 extension.
const CONTAINS_PROPERTY: &str =
    "http://hl7.org/fhir/5.0/StructureDefinition/extension-ValueSet.expansion.contains.property";
/// R5's `ValueSet.expansion.property`, as an R4 extension.
const EXPANSION_PROPERTY: &str =
    "http://hl7.org/fhir/5.0/StructureDefinition/extension-ValueSet.expansion.property";
/// The URI of the standard `status` concept property.
const STATUS_URI: &str = "http://hl7.org/fhir/concept-properties#status";
/// The URI of the standard `definition` concept property.
const DEFINITION_URI: &str = "http://hl7.org/fhir/concept-properties#definition";

/// The properties an expansion shows of `entry`: those asked for
/// (`property`), `definition` among them.
fn shown_properties(entry: &Entry, options: &Options) -> Vec<(String, Value)> {
    let mut shown: Vec<(String, Value)> = entry
        .properties
        .iter()
        .filter(|(code, _)| options.properties.iter().any(|p| p == code))
        .cloned()
        .collect();
    if let (true, Some(definition)) = (
        options.properties.iter().any(|p| p == "definition"),
        &entry.definition,
    ) {
        shown.push(("definition".into(), json!({"valueString": definition})));
    }
    shown
}

/// The current time as a FHIR instant.
fn now() -> String {
    time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}
