//! The walk: one pass over a resource's JSON against a compiled profile,
//! element by element, descending into the definitions of types, type
//! profiles, extensions and nested resources, and collecting every issue.
//! <https://hl7.org/fhir/R4/validation.html>

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use serde_json::{Map, Value};
use tillit_conformance::{Path, Step};
use tillit_fhirpath::{Environment, Item};
use tillit_model::{Issue, IssueSeverity, IssueType};

use crate::compare::{equals_fixed, matches_pattern, number};
use crate::profile::{DiscriminatorKind, ElementDef, Profile, Slicing, SlicingRules, Strength};
use crate::Validator;

/// A value met in the instance: its JSON and, for a primitive, its `_name` object.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Node<'v> {
    pub value: Option<&'v Value>,
    pub extension: Option<&'v Value>,
}

/// A value of one element, with what the location and the type need.
#[derive(Clone, Copy, Debug)]
struct Found<'v, 'p> {
    node: Node<'v>,
    /// The element name as written (the stem of a choice).
    name: &'v str,
    /// The type suffix of a choice property (`Quantity` of `valueQuantity`).
    suffix: Option<&'v str>,
    /// The array index, for elements that repeat.
    index: Option<usize>,
    /// The type code of the value.
    ty: &'p str,
}

/// Where a discriminator path leads in a slice's definition: a profile and
/// one of its elements; `None` when the path leads nowhere.
type Target = Option<(Arc<Profile>, usize)>;

/// The longest string value FHIR allows: 1 MB.
/// <https://hl7.org/fhir/R4/datatypes.html#string>
const MAX_STRING_BYTES: usize = 1024 * 1024;

/// Deepest nesting of profiles followed (types within types): far beyond any
/// real resource, it stops a recursive definition from looping.
const MAX_DEPTH: usize = 200;

/// The state of one validation.
pub(crate) struct Walk<'v> {
    validator: &'v Validator,
    path: Path<'v>,
    issues: Vec<Issue>,
    /// The resources being walked, innermost last, each with the resource
    /// that contains it (or itself): `%resource` and `%rootResource` of invariants.
    resources: Vec<(&'v Value, &'v Value)>,
    /// The Bundles being walked, innermost last, for references by `fullUrl`.
    bundles: Vec<&'v Value>,
    /// Whether a value conforms to a profile, by the value's address and the
    /// profile's URL: slicing by profile asks the same question again and
    /// again, and nested walks share the answers.
    conformance: HashMap<(usize, Box<str>), Conformance>,
    /// The path and type of each element whose extensions are being walked,
    /// innermost last, for extension contexts.
    hosts: Vec<(String, String)>,
    /// Whether an invariant failed on a value, by the expression's, the
    /// value's and its resource's addresses.
    invariant_results: HashMap<(usize, usize, usize, usize), bool>,
    /// Location and text of every issue recorded, to record each once.
    reported: HashSet<(String, String)>,
    /// Whether the walk only asks if the value conforms: it stops at the first error.
    first_error_only: bool,
    /// Whether an error has been found (and, with `first_error_only`, the walk stops).
    failed: bool,
    depth: usize,
}

/// Whether a value conforms to a profile and, when its walk ran at the
/// value's own location, the issues it found there.
#[derive(Clone, Debug)]
struct Conformance {
    conforms: bool,
    issues: Option<Vec<Issue>>,
}

impl<'v> Walk<'v> {
    /// A walk with no issues yet.
    pub fn new(validator: &'v Validator) -> Walk<'v> {
        Walk {
            validator,
            path: Path::default(),
            issues: Vec::new(),
            resources: Vec::new(),
            bundles: Vec::new(),
            conformance: HashMap::new(),
            reported: HashSet::new(),
            invariant_results: HashMap::new(),
            hosts: Vec::new(),
            first_error_only: false,
            failed: false,
            depth: 0,
        }
    }

    /// The issues found.
    pub fn finish(self) -> Vec<Issue> {
        self.issues
    }

    /// Checks `resource` (outermost) against `profile`.
    pub fn resource(&mut self, resource: &'v Value, profile: &Arc<Profile>) {
        let Some(resource_type) = resource.get("resourceType").and_then(Value::as_str) else {
            return;
        };
        let outermost = self.path.is_empty();
        if outermost {
            self.path.push(Step::to(resource_type));
        }
        self.in_resource(resource, false, |walk| {
            walk.element(profile, 0, Node::of(resource), resource_type);
        });
        if outermost {
            self.path.pop();
        }
    }

    /// Runs `f` with `resource` as `%resource` (and as the Bundle references
    /// resolve in); a `contained` resource keeps its container as `%rootResource`.
    fn in_resource(&mut self, resource: &'v Value, contained: bool, f: impl FnOnce(&mut Self)) {
        let bundle = resource.get("resourceType").and_then(Value::as_str) == Some("Bundle");
        let root = match self.resources.last() {
            Some(&(_, root)) if contained => root,
            _ => resource,
        };
        self.resources.push((resource, root));
        if bundle {
            self.bundles.push(resource);
        }
        f(self);
        if bundle {
            self.bundles.pop();
        }
        self.resources.pop();
    }

    /// Checks one value against element `index` of `profile`; `ty` is its type code.
    fn element(&mut self, profile: &Arc<Profile>, index: usize, node: Node<'v>, ty: &str) {
        if self.depth >= MAX_DEPTH || (self.failed && self.first_error_only) {
            return;
        }
        self.depth += 1;
        let def = profile.element(index);
        // An element with extensions hosts them: its path and type decide
        // which extensions may be there (a data type's root is not a host).
        let hosts = (index != 0 || self.validator.model.is_resource_type(&profile.type_name))
            && ty != "Extension"
            && has_extensions(node);
        if hosts {
            self.hosts.push((def.path.to_string(), ty.to_owned()));
        }
        self.check_value(profile, def, node);
        match ty {
            "Reference" => self.check_reference(def, node),
            "Attachment" => self.check_attachment(node),
            "code" | "Coding" | "CodeableConcept" => self.check_codes(def, node, ty),
            _ => {}
        }
        if index == 0 {
            self.check_resource_root(&profile.type_name, node);
        }
        let base;
        let (profile, content) = match def.content_reference {
            // A profile's element that reuses another's content without
            // listing children of its own (`parameter.part`) gets the base
            // definition's content: the profile's constraints on the other
            // element (`parameter`) are not meant for it.
            Some(target) if !profile.is_base => match self.base_content(profile, target) {
                Some(found) => {
                    base = found.0;
                    (&base, found.1)
                }
                None => (profile, target),
            },
            _ => (profile, index),
        };
        self.invariants(profile, content, def, node, ty);
        if !profile.element(content).children.is_empty() {
            // A resource inside another whose profile lists its children
            // (`Patient.contained.name`): they belong to the inner resource.
            let inner = node
                .value
                .filter(|v| index != 0 && v.get("resourceType").is_some());
            match inner {
                Some(resource) => {
                    let contained = &*def.name == "contained";
                    self.in_resource(resource, contained, |walk| {
                        walk.children(profile, content, node, ty);
                    });
                }
                None => self.children(profile, content, node, ty),
            }
        } else {
            self.follow_type(def, node, ty);
        }
        if hosts {
            self.hosts.pop();
        }
        self.depth -= 1;
    }

    /// The base definition of `profile`'s type with the index of its element
    /// at the path of `profile`'s element `index`.
    fn base_content(&self, profile: &Profile, index: usize) -> Option<(Arc<Profile>, usize)> {
        let base = self.validator.profiles.base(&profile.type_name)?;
        let position = base.position_of_path(&profile.element(index).path)?;
        Some((base, position))
    }

    /// Follows a value into the definition of its type: the type's profiles, an
    /// extension's definition by URL, a nested resource's own definitions, or
    /// the base definition of the type.
    fn follow_type(&mut self, def: &ElementDef, node: Node<'v>, ty: &str) {
        let profiles = &self.validator.profiles;
        if let Some(resource) = node.value.filter(|v| v.get("resourceType").is_some()) {
            if ty == "Resource" || self.validator.model.is_resource_type(ty) {
                self.nested_resource(def, resource);
                return;
            }
        }
        let primitive = ty.starts_with(|c: char| c.is_ascii_lowercase());
        if primitive && node.extension.is_none() {
            return;
        }
        let declared: Vec<&str> = def
            .types
            .iter()
            .filter(|t| &*t.code == ty)
            .flat_map(|t| t.profiles.iter().map(|p| &**p))
            .collect();
        if !declared.is_empty() {
            for url in declared {
                match profiles.get(url) {
                    Some(profile) => self.element(&profile, 0, node, ty),
                    None => self.report(
                        IssueSeverity::Warning,
                        IssueType::NotSupported,
                        None,
                        format!("the profile {url} is not known, so this value is not checked against it"),
                    ),
                }
            }
            return;
        }
        if ty == "Extension" {
            self.extension(def, node);
            return;
        }
        if let Some(base) = profiles.base(ty) {
            self.element(&base, 0, node, ty);
        }
    }

    /// An extension that no slice claims: checked against its definition, found by URL.
    fn extension(&mut self, def: &ElementDef, node: Node<'v>) {
        let Some(url) = node
            .value
            .and_then(|v| v.get("url"))
            .and_then(Value::as_str)
        else {
            return;
        };
        match self.validator.profiles.get(url) {
            Some(profile) if &*profile.type_name == "Extension" => {
                self.check_context(&profile, url);
                self.element(&profile, 0, node, "Extension");
            }
            Some(_) => self.report(
                IssueSeverity::Error,
                IssueType::Structure,
                None,
                format!("{url} is not an extension definition"),
            ),
            None if is_cross_version_url(url) => self.report(
                IssueSeverity::Information,
                IssueType::Informational,
                None,
                format!("the extension {url} stands for an element of another FHIR version; its content is not checked"),
            ),
            None if is_example_url(url) => self.report(
                IssueSeverity::Information,
                IssueType::Informational,
                None,
                format!("the extension {url} is an example (its host is reserved for examples), so it is not checked"),
            ),
            None if &*def.name == "modifierExtension" => self.report(
                IssueSeverity::Error,
                IssueType::Structure,
                None,
                format!("the modifier extension {url} is not known; a modifier that is not understood makes the resource unsafe to process"),
            ),
            None => {
                if let Some(base) = self.validator.profiles.base("Extension") {
                    self.element(&base, 0, node, "Extension");
                }
                self.report(
                    IssueSeverity::Warning,
                    IssueType::Structure,
                    None,
                    format!("the extension {url} is not known, so its content is not checked"),
                );
            }
        }
    }

    /// Rules of a resource as a whole that no invariant states: a resource id
    /// takes no extensions, and a Bundle's entries have absolute `fullUrl`s
    /// and it has at most one `self` link.
    fn check_resource_root(&mut self, type_name: &str, node: Node<'v>) {
        let Some(object) = node.value.and_then(Value::as_object) else {
            return;
        };
        if object.contains_key("resourceType") && object.contains_key("_id") {
            self.report(
                IssueSeverity::Error,
                IssueType::Structure,
                Some(Step::to("id")),
                "a resource id takes no extensions".into(),
            );
        }
        if type_name != "Bundle" || !object.contains_key("resourceType") {
            return;
        }
        let selves = object
            .get("link")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|l| l.get("relation").and_then(Value::as_str) == Some("self"))
            .count();
        if selves > 1 {
            self.report(
                IssueSeverity::Error,
                IssueType::Invalid,
                Some(Step::to("link")),
                format!("a Bundle has at most one 'self' link; this one has {selves}"),
            );
        }
        let relative = object
            .get("entry")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|e| e.get("fullUrl").and_then(Value::as_str))
            .find(|u| !u.contains(':'));
        if let Some(url) = relative {
            self.report(
                IssueSeverity::Error,
                IssueType::Invalid,
                Some(Step::to("entry")),
                format!("fullUrl '{url}' is not an absolute URL"),
            );
        }
    }

    /// An extension may only be used where its definition's `context` allows:
    /// on an element of a listed type (or a type derived from it) or path.
    fn check_context(&mut self, extension: &Profile, url: &str) {
        let Some((host_path, host_type)) = self.hosts.last().cloned() else {
            return;
        };
        let model = &self.validator.model;
        let allowed = extension.contexts.is_empty()
            || extension
                .contexts
                .iter()
                .any(|(kind, expression)| match &**kind {
                    "element" => {
                        let expression = &**expression;
                        expression == "Element"
                            || expression == host_type
                            // R5's interfaces, used by the extensions pack: any resource.
                            || (matches!(expression, "CanonicalResource" | "MetadataResource")
                                && model.is_resource_type(&host_type))
                            || model.is_subtype(&host_type, expression)
                            || datatype_context(expression).is_some_and(|tail| host_path.ends_with(tail))
                            || host_path.strip_prefix(expression).is_some_and(|rest| {
                                // The element itself, or (as R4's own examples use
                                // type contexts such as `ElementDefinition`) one inside it.
                                rest.is_empty() || rest.starts_with('.')
                            })
                    }
                    // FHIRPath and extension contexts are not checked.
                    _ => true,
                });
        if !allowed {
            let contexts: Vec<&str> = extension.contexts.iter().map(|(_, e)| &**e).collect();
            self.report(
                IssueSeverity::Error,
                IssueType::Structure,
                None,
                format!(
                    "the extension {url} may not be used on {host_path} (a {host_type}); its contexts are {}",
                    contexts.join(", ")
                ),
            );
        }
    }

    /// A resource inside another (`contained`, `Bundle.entry.resource`,
    /// `Parameters.parameter.resource`): checked against the profiles its
    /// element asks for, else its base definition, and against its own `meta.profile`.
    fn nested_resource(&mut self, def: &ElementDef, resource: &'v Value) {
        let Some(resource_type) = resource.get("resourceType").and_then(Value::as_str) else {
            return;
        };
        let profiles = &self.validator.profiles;
        let mut wanted: Vec<Arc<Profile>> = def
            .types
            .iter()
            .filter(|t| &*t.code == resource_type || &*t.code == "Resource")
            .flat_map(|t| t.profiles.iter())
            .filter_map(|url| profiles.get(url))
            .collect();
        wanted.extend(declared_profiles(resource).filter_map(|url| profiles.get(url)));
        if wanted.is_empty() {
            wanted.extend(profiles.base(resource_type));
        }
        let contained = &*def.name == "contained";
        self.in_resource(resource, contained, |walk| {
            for profile in &wanted {
                let key = (resource as *const Value as usize, profile.url.clone());
                let known = walk.conformance.get(&key).and_then(|c| c.issues.clone());
                match known {
                    Some(issues) => issues.into_iter().for_each(|i| walk.push(i)),
                    None => walk.element(profile, 0, Node::of(resource), resource_type),
                }
            }
        });
    }

    /// Checks the children of element `parent` in one object.
    fn children(&mut self, profile: &Arc<Profile>, parent: usize, node: Node<'v>, ty: &str) {
        let primitive = ty.starts_with(|c: char| c.is_ascii_lowercase());
        let object = if primitive {
            node.extension.and_then(Value::as_object)
        } else {
            node.value.and_then(Value::as_object)
        };
        let Some(object) = object else {
            return;
        };
        let children = &profile.element(parent).children;
        let mut keys: Vec<Vec<&'v str>> = vec![Vec::new(); children.len()];
        for key in object.keys() {
            let bare = key.strip_prefix('_').unwrap_or(key);
            if let Some(position) = profile.child_position(parent, bare) {
                keys[position].push(key);
            }
        }
        for (position, &child) in children.iter().enumerate() {
            let def = profile.element(child);
            if primitive && &*def.name == "value" {
                continue;
            }
            let found = self.gather(profile, object, &keys[position], def);
            let assigned = match &def.slicing {
                Some(slicing) if !def.slices.is_empty() => {
                    self.slice(profile, child, slicing, &found)
                }
                _ => vec![child; found.len()],
            };
            let tighter = def.min > def.base_min
                || def.max.is_some_and(|m| def.base_max.is_none_or(|b| m < b));
            if tighter || def.slice_name.is_some() {
                self.cardinality(def, found.len(), found.first());
            }
            for (item, &element) in found.iter().zip(&assigned) {
                self.path.push(item.step());
                self.element(profile, element, item.node, item.ty);
                self.path.pop();
            }
        }
    }

    /// The values of element `def` in `object`, whose properties `keys` name
    /// it, in document order.
    fn gather<'p>(
        &mut self,
        profile: &Profile,
        object: &'v Map<String, Value>,
        keys: &[&'v str],
        def: &'p ElementDef,
    ) -> Vec<Found<'v, 'p>> {
        let mut found = Vec::new();
        for &key in keys {
            let Some(value) = object.get(key) else {
                continue;
            };
            let bare = key.strip_prefix('_').unwrap_or(key);
            if bare.len() != key.len() && object.contains_key(bare) {
                continue;
            }
            let (name, suffix, ty) = if def.choice {
                let Some(suffix) = bare
                    .strip_prefix(&*def.name)
                    .filter(|s| s.starts_with(|c: char| c.is_ascii_uppercase()))
                else {
                    continue;
                };
                let name = &bare[..def.name.len()];
                match def.types.iter().find(|t| names_type(suffix, &t.code)) {
                    Some(t) => (name, Some(suffix), &*t.code),
                    None => {
                        if !profile.is_base {
                            let allowed: Vec<&str> = def.types.iter().map(|t| &*t.code).collect();
                            self.report(
                                IssueSeverity::Error,
                                IssueType::Structure,
                                Some(Step::to(bare)),
                                format!(
                                    "{} takes only the types {} in profile {}",
                                    def.path,
                                    allowed.join(", "),
                                    profile.url
                                ),
                            );
                        }
                        continue;
                    }
                }
            } else {
                if bare != &*def.name {
                    continue;
                }
                let ty = def.types.first().map_or("", |t| &*t.code);
                (bare, None, ty)
            };
            let (value, extension) = if key.starts_with('_') {
                (None, Some(value))
            } else {
                let extension = ty
                    .starts_with(|c: char| c.is_ascii_lowercase())
                    .then(|| object.get(&format!("_{key}")))
                    .flatten();
                (Some(value), extension)
            };
            let item =
                |index: Option<usize>, value: Option<&'v Value>, extension: Option<&'v Value>| {
                    Found {
                        node: Node { value, extension },
                        name,
                        suffix,
                        index,
                        ty,
                    }
                };
            match (value, extension) {
                (Some(Value::Array(values)), extensions) => {
                    for (i, v) in values.iter().enumerate() {
                        let e = extensions.and_then(|e| e.get(i)).filter(|e| !e.is_null());
                        found.push(item(Some(i), Some(v).filter(|v| !v.is_null()), e));
                    }
                }
                (None, Some(Value::Array(extensions))) => {
                    for (i, e) in extensions.iter().enumerate() {
                        found.push(item(Some(i), None, Some(e).filter(|e| !e.is_null())));
                    }
                }
                (value, extension) => {
                    let index = def.repeats().then_some(0);
                    found.push(item(index, value, extension));
                }
            }
        }
        found
    }

    /// Reports a count of values outside `def`'s cardinality.
    fn cardinality(&mut self, def: &ElementDef, count: usize, first: Option<&Found<'v, '_>>) {
        let label = match &def.slice_name {
            Some(slice) => format!("slice '{slice}' of {}", def.path),
            None => def.path.to_string(),
        };
        let max = def.max.map_or(usize::MAX, |m| m as usize);
        if count < def.min as usize {
            self.report(
                IssueSeverity::Error,
                IssueType::Required,
                None,
                format!(
                    "{label}: minimum required = {}, but only found {count}",
                    def.min
                ),
            );
        } else if count > max {
            let step = first.map(|f| Step::to(f.name));
            self.report(
                IssueSeverity::Error,
                IssueType::Structure,
                step,
                format!("{label}: maximum allowed = {max}, but found {count}"),
            );
        }
    }

    /// Assigns each value of the sliced element `sliced` to a slice (or to the
    /// element itself when none matches), checking the slicing's rules and each
    /// slice's cardinality; re-slices are assigned within their slice.
    fn slice(
        &mut self,
        profile: &Arc<Profile>,
        sliced: usize,
        slicing: &Slicing,
        found: &[Found<'v, '_>],
    ) -> Vec<usize> {
        let def = profile.element(sliced);
        let mut assigned = vec![sliced; found.len()];
        let mut position = vec![usize::MAX; found.len()];
        // What each slice's discriminators compare with, found once per slicing;
        // what each value gives at each discriminator path, evaluated once per value.
        let targets: Vec<Vec<Target>> = def
            .slices
            .iter()
            .map(|&slice| {
                slicing
                    .discriminators
                    .iter()
                    .map(|d| self.discriminator_target(profile, slice, &d.path))
                    .collect()
            })
            .collect();
        let validator = self.validator;
        let (resource, root) = self.current_resource();
        let resolver = self.bundles.last().map(|b| BundleResolver(b));
        let mut env = Environment::new(&validator.model);
        if let Some(resolver) = &resolver {
            env = env.with_resolver(resolver);
        }
        for (i, item) in found.iter().enumerate() {
            if slicing.discriminators.is_empty() {
                break;
            }
            let ty = Self::fhirpath_type(profile, sliced, item.ty);
            let focus = [validator
                .model
                .node(item.node.value, item.node.extension, ty)];
            let values: Vec<Option<Vec<Item<'_>>>> = slicing
                .discriminators
                .iter()
                .map(|d| {
                    let expression = d.expression.as_ref()?;
                    expression.evaluate_at(&focus, resource, root, &env).ok()
                })
                .collect();
            for (k, &slice) in def.slices.iter().enumerate() {
                if self.in_slice(&targets[k], slicing, item, &values, false) {
                    assigned[i] = slice;
                    position[i] = k;
                    break;
                }
            }
            // A value that fails a slice only by its profile (an IPS entry's
            // Composition that breaks Composition-uv-ips) is still walked against
            // that slice, so its own errors are reported where they are.
            let by_profile = slicing
                .discriminators
                .iter()
                .any(|d| d.kind == DiscriminatorKind::Profile);
            if position[i] == usize::MAX && by_profile {
                let closest = (0..def.slices.len())
                    .find(|&k| self.in_slice(&targets[k], slicing, item, &values, true));
                if let Some(k) = closest {
                    assigned[i] = def.slices[k];
                }
            }
        }
        for (i, item) in found.iter().enumerate() {
            if position[i] != usize::MAX {
                continue;
            }
            let misplaced = slicing.rules == SlicingRules::OpenAtEnd
                && position[i + 1..].iter().any(|&p| p != usize::MAX);
            if slicing.rules == SlicingRules::Closed || misplaced {
                let why = if misplaced {
                    "values outside the slices must come after every sliced value (openAtEnd)"
                } else {
                    "the slicing is closed"
                };
                let names: Vec<&str> = def
                    .slices
                    .iter()
                    .filter_map(|&s| profile.element(s).slice_name.as_deref())
                    .collect();
                self.report(
                    IssueSeverity::Error,
                    IssueType::Structure,
                    Some(item.step()),
                    format!(
                        "this value matches none of the slices of {} ({}), and {why}",
                        def.path,
                        names.join(", ")
                    ),
                );
            }
        }
        if slicing.ordered {
            let mut last = 0;
            for (i, &p) in position.iter().enumerate() {
                if p == usize::MAX {
                    continue;
                }
                if p < last {
                    self.report(
                        IssueSeverity::Error,
                        IssueType::Structure,
                        Some(found[i].step()),
                        format!(
                            "the slices of {} must appear in the order the profile gives",
                            def.path
                        ),
                    );
                }
                last = last.max(p);
            }
        }
        for (k, &slice) in def.slices.iter().enumerate() {
            let members: Vec<usize> = (0..found.len()).filter(|&i| position[i] == k).collect();
            let slice_def = profile.element(slice);
            self.cardinality(
                slice_def,
                members.len(),
                members.first().map(|&i| &found[i]),
            );
            if let Some(reslicing) = slice_def
                .slicing
                .as_ref()
                .filter(|_| !slice_def.slices.is_empty())
            {
                let items: Vec<Found<'v, '_>> = members.iter().map(|&i| found[i]).collect();
                let inner = self.slice(profile, slice, reslicing, &items);
                for (&i, element) in members.iter().zip(inner) {
                    assigned[i] = element;
                }
            }
        }
        assigned
    }

    /// Whether `item` belongs to the slice whose discriminators reach
    /// `targets`, given what the item gives at each discriminator path
    /// (`values`); with `ignore_profiles`, by every discriminator but profiles.
    fn in_slice<'x>(
        &mut self,
        targets: &[Target],
        slicing: &Slicing,
        item: &Found<'v, '_>,
        values: &[Option<Vec<Item<'x>>>],
        ignore_profiles: bool,
    ) -> bool
    where
        'v: 'x,
    {
        for ((discriminator, target), values) in
            slicing.discriminators.iter().zip(targets).zip(values)
        {
            let (Some((target_profile, target)), Some(values)) = (target, values) else {
                return false;
            };
            if ignore_profiles && discriminator.kind == DiscriminatorKind::Profile {
                continue;
            }
            let target_def = target_profile.element(*target);
            let matched = match discriminator.kind {
                DiscriminatorKind::Value | DiscriminatorKind::Pattern => {
                    match (&target_def.fixed, &target_def.pattern) {
                        (Some(fixed), _) => values
                            .iter()
                            .any(|v| item_json(v).is_some_and(|j| equals_fixed(&j, fixed))),
                        (None, Some(pattern)) => values
                            .iter()
                            .any(|v| item_json(v).is_some_and(|j| matches_pattern(&j, pattern))),
                        // A slice told apart by a binding alone needs the
                        // terminology service; until then it matches.
                        (None, None) => true,
                    }
                }
                DiscriminatorKind::Exists => {
                    if target_def.min > 0 {
                        !values.is_empty()
                    } else if target_def.max == Some(0) {
                        values.is_empty()
                    } else {
                        true
                    }
                }
                DiscriminatorKind::Type => values.iter().any(|v| {
                    let name = v.type_name();
                    target_def.types.iter().any(|t| &*t.code == name)
                }),
                DiscriminatorKind::Profile => {
                    let resolves = discriminator.path.ends_with("resolve()");
                    let urls: Vec<Box<str>> = target_def
                        .types
                        .iter()
                        .flat_map(|t| {
                            if resolves {
                                &t.target_profiles
                            } else {
                                &t.profiles
                            }
                        })
                        .cloned()
                        .collect();
                    // Where the value is, when the path is plain element names,
                    // so the answer's issues can stand for the walk of the value.
                    let location = (!discriminator.path.contains('(')).then(|| {
                        let mut path = self.path.clone();
                        path.push(item.step());
                        for segment in discriminator.path.split('.').filter(|s| *s != "$this") {
                            path.push(Step::to(segment));
                        }
                        path
                    });
                    !urls.is_empty()
                        && values.iter().any(|v| {
                            let Some(json) = v.json() else { return false };
                            let ty = v.type_name().to_owned();
                            urls.iter().all(|url| {
                                self.conforms(
                                    json,
                                    v.primitive_extension(),
                                    &ty,
                                    url,
                                    location.clone(),
                                )
                            })
                        })
                }
            };
            if !matched {
                return false;
            }
        }
        true
    }

    /// Whether a value conforms to the profile `url`, by a walk of its own.
    /// With the value's `location`, the walk's issues are kept: the walk of the
    /// value against the same profile then reports them instead of walking again.
    fn conforms<'a>(
        &mut self,
        value: &'a Value,
        extension: Option<&'a Value>,
        ty: &'a str,
        url: &str,
        location: Option<Path<'a>>,
    ) -> bool
    where
        'v: 'a,
    {
        let key = (value as *const Value as usize, url.into());
        if let Some(known) = self.conformance.get(&key) {
            return known.conforms;
        }
        let Some(profile) = self.validator.profiles.get(url) else {
            return false;
        };
        if !profile.may_match(value) {
            self.conformance.insert(
                key,
                Conformance {
                    conforms: false,
                    issues: None,
                },
            );
            return false;
        }
        let mut walk: Walk<'a> = Walk::new(self.validator);
        walk.resources.extend(self.resources.iter().copied());
        walk.bundles.extend(self.bundles.iter().copied());
        walk.depth = self.depth;
        walk.conformance = std::mem::take(&mut self.conformance);
        walk.invariant_results = std::mem::take(&mut self.invariant_results);
        // A walk that stops at the first error: a value that does not conform
        // keeps no issues, and is walked in full if it is ever walked against
        // this profile for its own sake.
        let keep = location.is_some();
        walk.first_error_only = true;
        match location {
            Some(path) => walk.path = path,
            None => walk.path.push(Step::to(ty)),
        }
        if value.get("resourceType").is_some() {
            walk.in_resource(value, false, |w| {
                w.element(&profile, 0, Node::of(value), ty)
            });
        } else {
            walk.element(
                &profile,
                0,
                Node {
                    value: Some(value),
                    extension,
                },
                ty,
            );
        }
        let conforms = !walk.failed;
        self.conformance = std::mem::take(&mut walk.conformance);
        self.invariant_results = std::mem::take(&mut walk.invariant_results);
        let issues = (keep && conforms).then(|| walk.finish());
        self.conformance
            .insert(key, Conformance { conforms, issues });
        conforms
    }

    /// The element a discriminator path reaches from slice `slice`: through
    /// children, into type profiles, `extension('url')`, `resolve()` and `ofType()`.
    fn discriminator_target(
        &self,
        profile: &Arc<Profile>,
        slice: usize,
        path: &str,
    ) -> Option<(Arc<Profile>, usize)> {
        let profiles = &self.validator.profiles;
        let mut current = (profile.clone(), slice);
        let segments = split_path(path);
        let last = segments.len() - 1;
        for (position, segment) in segments.into_iter().enumerate() {
            let (p, index) = &current;
            let def = p.element(*index);
            if segment == "$this" || segment.starts_with("ofType(") {
                continue;
            }
            if segment == "resolve()" {
                if position == last {
                    // The reference element itself: its target profiles are the answer.
                    continue;
                }
                let url = def.types.iter().flat_map(|t| &t.target_profiles).next()?;
                current = (profiles.get(url)?, 0);
                continue;
            }
            if let Some(url) = segment
                .strip_prefix("extension('")
                .and_then(|s| s.strip_suffix("')"))
            {
                let (p, extension) = self.child(&current, "extension")?;
                let def = p.element(extension);
                let found = def.slices.iter().copied().find(|&s| {
                    p.element(s)
                        .types
                        .iter()
                        .any(|t| t.profiles.iter().any(|u| &**u == url))
                });
                current = match found {
                    Some(s) => (p, s),
                    None => (profiles.get(url)?, 0),
                };
                continue;
            }
            current = self.child(&current, segment)?;
        }
        Some(current)
    }

    /// The child `name` of an element, looked for in the type's definition when
    /// the profile does not list the element's children.
    fn child(
        &self,
        (profile, index): &(Arc<Profile>, usize),
        name: &str,
    ) -> Option<(Arc<Profile>, usize)> {
        let content = profile.content(*index);
        let def = profile.element(content);
        let find = |p: &Profile, parent: usize| {
            p.element(parent)
                .children
                .iter()
                .copied()
                .find(|&c| &*p.element(c).name == name)
        };
        if !def.children.is_empty() {
            return find(profile, content).map(|c| (profile.clone(), c));
        }
        let ty = def.types.first()?;
        let typed = match ty.profiles.first() {
            Some(url) => self.validator.profiles.get(url)?,
            None => self.validator.profiles.base(&ty.code)?,
        };
        find(&typed, 0).map(|c| (typed, c))
    }

    /// The FHIRPath type of a value of element `index` whose type code is `ty`:
    /// backbone elements are typed by their path (`Patient.contact`).
    fn fhirpath_type<'a>(profile: &'a Profile, index: usize, ty: &'a str) -> &'a str {
        if matches!(ty, "BackboneElement" | "Element" | "") {
            let def = profile.element(profile.content(index));
            if def.path.contains('.') {
                return &def.path;
            }
        }
        ty
    }

    /// `fixed[x]`, `pattern[x]`, `minValue[x]`, `maxValue[x]` and `maxLength`.
    fn check_value(&mut self, profile: &Profile, def: &ElementDef, node: Node<'v>) {
        let value = node.value;
        if let Some(fixed) = &def.fixed {
            if !value.is_some_and(|v| equals_fixed(v, fixed)) {
                self.report(
                    IssueSeverity::Error,
                    IssueType::Value,
                    None,
                    format!(
                        "the value must be exactly {fixed} (fixed by {})",
                        profile.url
                    ),
                );
            }
        }
        if let Some(pattern) = &def.pattern {
            if !value.is_some_and(|v| matches_pattern(v, pattern)) {
                self.report(
                    IssueSeverity::Error,
                    IssueType::Value,
                    None,
                    format!(
                        "the value must contain {pattern} (pattern of {})",
                        profile.url
                    ),
                );
            }
        }
        let Some(value) = value else { return };
        if value
            .as_str()
            .is_some_and(|text| text.len() > MAX_STRING_BYTES)
        {
            self.report(
                IssueSeverity::Error,
                IssueType::TooLong,
                None,
                format!("the value is longer than the largest string FHIR allows ({MAX_STRING_BYTES} bytes)"),
            );
        }
        if let (Some(max), Some(text)) = (def.max_length, value.as_str()) {
            let length = text.chars().count();
            if length > max {
                self.report(
                    IssueSeverity::Error,
                    IssueType::TooLong,
                    None,
                    format!("the value is {length} characters long; at most {max} are allowed"),
                );
            }
        }
        for (bound, below) in [(&def.min_value, true), (&def.max_value, false)] {
            let Some(bound) = bound else { continue };
            let outside = match (number(value), number(bound), value.as_str(), bound.as_str()) {
                (Some(v), Some(b), _, _) => (below && v < b) || (!below && v > b),
                (_, _, Some(v), Some(b)) if v.len() == b.len() => {
                    (below && v < b) || (!below && v > b)
                }
                _ => false,
            };
            if outside {
                let which = if below { "at least" } else { "at most" };
                self.report(
                    IssueSeverity::Error,
                    IssueType::Value,
                    None,
                    format!("the value must be {which} {bound}"),
                );
            }
        }
    }

    /// A coded value: its codes must exist in their code system when that is
    /// known completely, and come from the bound value set as the binding's
    /// strength asks. Value sets that cannot be enumerated are not checked.
    fn check_codes(&mut self, def: &ElementDef, node: Node<'v>, ty: &str) {
        let Some(terminology) = self.validator.terminology.clone() else {
            return;
        };
        let Some(value) = node.value else { return };
        let codings: Vec<(Option<&str>, &str)> = match ty {
            "code" => value.as_str().map(|c| (None, c)).into_iter().collect(),
            "Coding" => coding(value).into_iter().collect(),
            _ => value
                .get("coding")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(coding)
                .collect(),
        };
        if ty == "Coding" {
            for &(system, code) in &codings {
                let Some(system) = system else { continue };
                if terminology.code_exists(system, code) == Some(false) {
                    self.report(
                        IssueSeverity::Error,
                        IssueType::Value,
                        Some(Step::to("code")),
                        format!("the code '{code}' does not exist in the code system {system}"),
                    );
                }
            }
        }
        let Some((strength, value_set)) = &def.binding else {
            return;
        };
        if codings.is_empty() {
            return;
        }
        let answers: Vec<Option<bool>> = codings
            .iter()
            .map(|&(system, code)| terminology.in_value_set(system, code, value_set))
            .collect();
        if answers.contains(&Some(true)) || answers.contains(&None) {
            return;
        }
        let (severity, rule) = match strength {
            Strength::Required => (IssueSeverity::Error, "required"),
            Strength::Extensible => {
                // Extensible: a code from elsewhere is allowed where none in
                // the value set fits; one from the value set's own systems is not.
                let systems = terminology.systems_of(value_set).unwrap_or_default();
                let fits = codings
                    .iter()
                    .any(|(s, _)| s.is_some_and(|s| systems.iter().any(|t| t == s)));
                if !fits {
                    return;
                }
                (IssueSeverity::Warning, "extensible")
            }
            Strength::Preferred => (IssueSeverity::Information, "preferred"),
            Strength::Example => (IssueSeverity::Information, "example"),
        };
        let shown: Vec<String> = codings
            .iter()
            .map(|(s, c)| match s {
                Some(s) => format!("{s}#{c}"),
                None => (*c).to_owned(),
            })
            .collect();
        self.report(
            severity,
            IssueType::Value,
            None,
            format!(
                "{} is not in the value set {value_set}, which the {rule} binding of {} names",
                shown.join(", "),
                def.path
            ),
        );
    }

    /// An Attachment's stated `size` must be the size of its `data`.
    fn check_attachment(&mut self, node: Node<'v>) {
        let Some(object) = node.value.and_then(Value::as_object) else {
            return;
        };
        let (Some(data), Some(size)) = (
            object.get("data").and_then(Value::as_str),
            object.get("size").and_then(Value::as_u64),
        ) else {
            return;
        };
        let data = data.trim_end();
        let padding = data.bytes().rev().take_while(|&b| b == b'=').count();
        let actual = (data.len() / 4 * 3).saturating_sub(padding);
        if actual as u64 != size {
            self.report(
                IssueSeverity::Error,
                IssueType::Value,
                Some(Step::to("size")),
                format!(
                    "the attachment's stated size is {size} bytes, but its data holds {actual}"
                ),
            );
        }
    }

    /// A reference's target must be of a type the element allows, and a
    /// reference inside a Bundle or to a contained resource must resolve.
    fn check_reference(&mut self, def: &ElementDef, node: Node<'v>) {
        let Some(reference) = node
            .value
            .and_then(|v| v.get("reference"))
            .and_then(Value::as_str)
        else {
            return;
        };
        let target_type = if let Some(id) = reference.strip_prefix('#') {
            let root = self
                .resources
                .last()
                .map_or(&Value::Null, |&(_, root)| root);
            let contained = root
                .get("contained")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .find(|c| c.get("id").and_then(Value::as_str) == Some(id));
            match contained {
                Some(c) => c.get("resourceType").and_then(Value::as_str),
                None if id.is_empty() => None,
                None => {
                    self.report(
                        IssueSeverity::Error,
                        IssueType::NotFound,
                        Some(Step::to("reference")),
                        format!("no contained resource has the id '{id}'"),
                    );
                    return;
                }
            }
        } else if reference.starts_with("urn:uuid:") || reference.starts_with("urn:oid:") {
            let Some(&bundle) = self.bundles.last() else {
                return;
            };
            let entry = bundle
                .get("entry")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .find(|e| e.get("fullUrl").and_then(Value::as_str) == Some(reference));
            match entry {
                Some(e) => e.pointer("/resource/resourceType").and_then(Value::as_str),
                None => {
                    // Entries of a document, message, transaction or batch must be
                    // resolvable within it; a collection may point elsewhere.
                    let closed = matches!(
                        bundle.get("type").and_then(Value::as_str),
                        Some("document" | "message" | "transaction" | "batch")
                    );
                    let severity = if closed {
                        IssueSeverity::Error
                    } else {
                        IssueSeverity::Warning
                    };
                    self.report(
                        severity,
                        IssueType::NotFound,
                        Some(Step::to("reference")),
                        format!("{reference} is not the fullUrl of any entry in this Bundle"),
                    );
                    return;
                }
            }
        } else {
            if let Some(&bundle) = self.bundles.last() {
                self.check_bundle_matches(bundle, reference);
            }
            reference_type(reference)
        };
        let Some(target_type) = target_type else {
            return;
        };
        let allowed: Vec<String> = def
            .types
            .iter()
            .filter(|t| &*t.code == "Reference")
            .flat_map(|t| &t.target_profiles)
            .filter_map(|url| self.profile_type(url))
            .collect();
        let fits = allowed.is_empty()
            || allowed.iter().any(|t| {
                t == target_type
                    || t == "Resource"
                    || (t == "DomainResource" && target_type != "Bundle")
            });
        if !fits && self.validator.model.is_resource_type(target_type) {
            self.report(
                IssueSeverity::Error,
                IssueType::Structure,
                Some(Step::to("reference")),
                format!(
                    "{} may refer to {}, not to a {target_type}",
                    def.path,
                    allowed.join(", ")
                ),
            );
        }
    }

    /// A relative reference inside a Bundle must not match several entries.
    fn check_bundle_matches(&mut self, bundle: &Value, reference: &str) {
        if reference.contains("://") || reference_type(reference).is_none() {
            return;
        }
        let (path, version) = match reference.split_once("/_history/") {
            Some((path, version)) => (path, Some(version)),
            None => (reference, None),
        };
        let matches = bundle
            .get("entry")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|e| {
                e.get("fullUrl")
                    .and_then(Value::as_str)
                    .is_some_and(|u| u.strip_suffix(path).is_some_and(|base| base.ends_with('/')))
            })
            // A versioned reference picks the entry of its version.
            .filter(|e| {
                version.is_none_or(|v| {
                    e.pointer("/resource/meta/versionId")
                        .and_then(Value::as_str)
                        == Some(v)
                })
            })
            .count();
        if matches > 1 {
            self.report(
                IssueSeverity::Error,
                IssueType::Multiple,
                Some(Step::to("reference")),
                format!("{reference} matches {matches} entries of this Bundle"),
            );
        }
    }

    /// The resource type a profile URL constrains.
    fn profile_type(&self, url: &str) -> Option<String> {
        if let Some(name) = url.strip_prefix("http://hl7.org/fhir/StructureDefinition/") {
            if self.validator.model.is_resource_type(name) {
                return Some(name.to_owned());
            }
        }
        self.validator
            .profiles
            .get(url)
            .map(|p| p.type_name.to_string())
    }

    /// Evaluates the invariants of `def` on one value.
    fn invariants(
        &mut self,
        profile: &Profile,
        content: usize,
        def: &ElementDef,
        node: Node<'v>,
        ty: &str,
    ) {
        if def.constraints.is_empty() {
            return;
        }
        let model = &self.validator.model;
        let ty = Self::fhirpath_type(profile, content, ty);
        let focus = [model.node(node.value, node.extension, ty)];
        let (resource, root) = self.current_resource();
        let resolver = self.bundles.last().map(|b| BundleResolver(b));
        let mut env = Environment::new(model)
            .with_validator(self.validator)
            .with_as_filtering(true);
        if let Some(resolver) = &resolver {
            env = env.with_resolver(resolver);
        }
        let terminology = self.validator.terminology.clone();
        if let Some(terminology) = &terminology {
            env = env.with_terminology(&**terminology);
        }
        let address = |v: Option<&Value>| v.map_or(0, |v| v as *const Value as usize);
        for constraint in &def.constraints {
            let severity = match (constraint.best_practice, constraint.error) {
                (true, _) => match self.validator.best_practice {
                    Some(severity) => severity,
                    None => continue,
                },
                (false, true) => IssueSeverity::Error,
                (false, false) => IssueSeverity::Warning,
            };
            // Two invariants with one expression (R4's txt-1 and txt-2 are both
            // `htmlChecks()`), or one met again on the same value in another
            // profile, are evaluated once.
            let key = (
                Arc::as_ptr(&constraint.expression) as usize,
                address(node.value),
                address(node.extension),
                resource as *const Value as usize,
            );
            let outcome = match self.invariant_results.get(&key) {
                Some(&known) => Ok(known),
                None => constraint
                    .expression
                    .evaluate_at(&focus, resource, root, &env)
                    .map(|result| match result.as_slice() {
                        [Item::Value(tillit_fhirpath::Value::Boolean(b))] => !b,
                        [item] => item_json(item).is_some_and(|j| *j == Value::Bool(false)),
                        _ => false,
                    }),
            };
            if let Ok(failed) = outcome {
                self.invariant_results.insert(key, failed);
            }
            let failed = match outcome {
                Ok(failed) => failed,
                Err(error) => {
                    tracing::debug!(key = &*constraint.key, %error, "invariant could not be evaluated");
                    self.report(
                        IssueSeverity::Warning,
                        IssueType::Invariant,
                        None,
                        format!(
                            "the invariant {} could not be evaluated: {error}",
                            constraint.key
                        ),
                    );
                    continue;
                }
            };
            if failed {
                self.report(
                    severity,
                    IssueType::Invariant,
                    None,
                    format!(
                        "constraint {} failed: {} [{}] ({})",
                        constraint.key, constraint.human, constraint.expression, profile.url
                    ),
                );
            }
        }
    }

    /// `%resource` and `%rootResource` here.
    fn current_resource(&self) -> (&'v Value, &'v Value) {
        self.resources
            .last()
            .copied()
            .unwrap_or((&Value::Null, &Value::Null))
    }

    /// Records an issue at the current location (or one step further).
    fn report(
        &mut self,
        severity: IssueSeverity,
        code: IssueType,
        step: Option<Step<'_>>,
        text: String,
    ) {
        let expression = self.path.render(step);
        self.push(Issue {
            severity,
            code,
            diagnostics: text,
            expression: Some(expression),
            position: None,
        });
    }

    /// Records an issue unless the same one is recorded already (a value walked
    /// against a profile and its base reports the base's rules twice).
    fn push(&mut self, issue: Issue) {
        self.failed |= issue.is_error();
        let key = (
            issue.expression.clone().unwrap_or_default(),
            issue.diagnostics.clone(),
        );
        if self.reported.insert(key) {
            self.issues.push(issue);
        }
    }
}

impl<'v> Node<'v> {
    /// A value with no `_name` object.
    fn of(value: &'v Value) -> Node<'v> {
        Node {
            value: Some(value),
            extension: None,
        }
    }
}

impl<'v> Found<'v, '_> {
    /// The location step to this value.
    fn step(&self) -> Step<'v> {
        Step {
            name: self.name,
            of_type: self.suffix,
            index: self.index,
        }
    }
}

/// Resolves references to the entries of the Bundle being walked, for
/// `resolve()` in invariants and discriminators.
struct BundleResolver<'v>(&'v Value);

impl tillit_fhirpath::Resolver for BundleResolver<'_> {
    fn resolve(&self, reference: &str) -> Option<&Value> {
        let entries = self.0.get("entry")?.as_array()?;
        if let Some(id) = reference.strip_prefix('#') {
            // Evaluated from the Bundle, a local reference can only mean a
            // resource contained in an entry: the one entry that has it.
            let mut found = entries
                .iter()
                .filter_map(|e| e.pointer("/resource/contained")?.as_array())
                .flatten()
                .filter(|c| c.get("id").and_then(Value::as_str) == Some(id));
            let first = found.next()?;
            return found.next().is_none().then_some(first);
        }
        fn full_url(entry: &Value) -> Option<&str> {
            entry.get("fullUrl").and_then(Value::as_str)
        }
        let found = entries
            .iter()
            .find(|e| full_url(e) == Some(reference))
            .or_else(|| {
                entries.iter().find(|e| {
                    full_url(e).is_some_and(|u| {
                        u.strip_suffix(reference)
                            .is_some_and(|base| base.ends_with('/'))
                    })
                })
            })?;
        found.get("resource")
    }
}

/// The system and code of a Coding, when it has a code.
fn coding(value: &Value) -> Option<(Option<&str>, &str)> {
    Some((
        value.get("system").and_then(Value::as_str),
        value.get("code")?.as_str()?,
    ))
}

/// Whether a value carries extensions (on itself, or on a primitive's `_name`).
fn has_extensions(node: Node<'_>) -> bool {
    [node.value, node.extension].into_iter().flatten().any(|v| {
        v.as_object()
            .is_some_and(|o| o.contains_key("extension") || o.contains_key("modifierExtension"))
    })
}

/// The URLs in a resource's `meta.profile`.
pub(crate) fn declared_profiles(resource: &Value) -> impl Iterator<Item = &str> {
    resource
        .pointer("/meta/profile")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
}

/// For a context inside a data type (`Address.line`), the part a host path
/// ends with wherever the type is used (`.line`).
fn datatype_context(expression: &str) -> Option<&str> {
    let (head, _) = expression.split_once('.')?;
    let datatype = head.starts_with(|c: char| c.is_ascii_uppercase())
        && !matches!(head, "Resource" | "DomainResource")
        && DATATYPES_WITH_ELEMENTS.contains(&head);
    datatype.then(|| &expression[head.len()..])
}

/// The complex data types of R4 (those whose elements can be extension contexts).
const DATATYPES_WITH_ELEMENTS: [&str; 27] = [
    "Address",
    "Age",
    "Annotation",
    "Attachment",
    "CodeableConcept",
    "Coding",
    "ContactDetail",
    "ContactPoint",
    "Contributor",
    "Count",
    "DataRequirement",
    "Distance",
    "Dosage",
    "Duration",
    "Expression",
    "HumanName",
    "Identifier",
    "Meta",
    "Money",
    "ParameterDefinition",
    "Period",
    "Quantity",
    "Range",
    "Ratio",
    "Reference",
    "RelatedArtifact",
    "Timing",
];

/// Whether an extension URL is one of FHIR's cross-version extensions
/// (`http://hl7.org/fhir/5.0/StructureDefinition/extension-DeviceRequest.doNotPerform`),
/// which stand for elements of another version and are defined by rule, not by a package.
fn is_cross_version_url(url: &str) -> bool {
    url.strip_prefix("http://hl7.org/fhir/")
        .and_then(|rest| rest.split_once("/StructureDefinition/extension-"))
        .is_some_and(|(version, _)| {
            version.contains('.') && version.chars().all(|c| c.is_ascii_digit() || c == '.')
        })
}

/// Whether a URL's host is one reserved for examples (RFC 2606), whose
/// definitions are never published.
fn is_example_url(url: &str) -> bool {
    let host = url
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split(['/', ':']).next())
        .unwrap_or_default();
    ["example.org", "example.com", "example.net"]
        .iter()
        .any(|reserved| host == *reserved || host.ends_with(&format!(".{reserved}")))
}

/// Whether a choice property's suffix (`Quantity`, `String`) names type `code`.
fn names_type(suffix: &str, code: &str) -> bool {
    let mut s = suffix.chars();
    let mut c = code.chars();
    match (s.next(), c.next()) {
        (Some(a), Some(b)) => a.eq_ignore_ascii_case(&b) && s.as_str() == c.as_str(),
        _ => false,
    }
}

/// The JSON of an evaluated item, for comparisons with fixed values and
/// patterns: borrowed for nodes, rendered for computed values.
fn item_json<'a>(item: &Item<'a>) -> Option<std::borrow::Cow<'a, Value>> {
    match item {
        Item::Node(_) => item.json().map(std::borrow::Cow::Borrowed),
        Item::Value(value) => Some(std::borrow::Cow::Owned(value.to_json())),
    }
}

/// The resource type a literal reference names (`Patient/1`,
/// `http://x/fhir/Patient/1/_history/2`).
fn reference_type(reference: &str) -> Option<&str> {
    let path = reference.split(['?', '#']).next()?;
    let mut segments: Vec<&str> = path.split('/').collect();
    if segments.len() >= 4 && segments[segments.len() - 2] == "_history" {
        segments.truncate(segments.len() - 2);
    }
    let n = segments.len();
    (n >= 2)
        .then(|| segments[n - 2])
        .filter(|t| t.starts_with(|c: char| c.is_ascii_uppercase()))
}

/// Splits a discriminator path at the dots outside parentheses and quotes.
fn split_path(path: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut quoted, mut start) = (0, false, 0);
    for (i, c) in path.char_indices() {
        match c {
            '\'' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth -= 1,
            '.' if !quoted && depth == 0 => {
                out.push(&path[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&path[start..]);
    out
}

#[cfg(test)]
mod tests {
    use super::{names_type, reference_type, split_path};

    #[test]
    fn paths_split_outside_parentheses() {
        assert_eq!(
            split_path("extension('http://a.b/c').value.ofType(Coding)"),
            ["extension('http://a.b/c')", "value", "ofType(Coding)"]
        );
    }

    #[test]
    fn references_name_their_type() {
        assert_eq!(reference_type("Patient/1"), Some("Patient"));
        assert_eq!(
            reference_type("http://x/fhir/Observation/2/_history/3"),
            Some("Observation")
        );
        assert_eq!(reference_type("urn:uuid:1"), None);
        assert!(names_type("String", "string"));
        assert!(names_type("Quantity", "Quantity"));
        assert!(!names_type("Quantity", "Range"));
    }
}
