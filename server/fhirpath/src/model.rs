//! The FHIR type model: types, their elements and inheritance, read from StructureDefinitions.
//!
//! Only base definitions count (`derivation` `specialization` or none): profiles such as
//! `SimpleQuantity` add no types. Backbone elements (`Patient.contact`) become anonymous types
//! named after their declared type (`BackboneElement`, `Element`); `contentReference`
//! (`Questionnaire.item.item`) points back to the anonymous type of the referenced path.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering as AtomicOrdering};
use std::sync::{Mutex, OnceLock};

use serde_json::Value as Json;

/// A fast, non-cryptographic hasher for the model's short string keys.
#[derive(Default, Clone, Copy)]
pub(crate) struct FastHasher(u64);

impl Hasher for FastHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x517c_c1b7_2722_0a95;
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.0 = (self.0.rotate_left(5) ^ u64::from_le_bytes(word)).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
    }
}

pub(crate) type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FastHasher>>;

/// Returns a `'static` copy of `name`, shared by every model, so that items can carry type
/// names without borrowing the model. Only type names from definitions are interned, so the
/// set stays as small as the set of FHIR types.
fn intern(name: &str) -> &'static str {
    static NAMES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut names = NAMES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(existing) = names.get(name) {
        return existing;
    }
    let leaked: &'static str = Box::leak(name.to_owned().into_boxed_str());
    names.insert(leaked);
    leaked
}

/// Index of a type in a [`Model`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct TypeId(u32);

impl TypeId {
    /// A type the model does not know.
    pub(crate) const UNKNOWN: TypeId = TypeId(u32::MAX);

    pub(crate) fn is_known(self) -> bool {
        self != TypeId::UNKNOWN
    }
}

/// The FHIRPath System type a FHIR primitive holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SystemType {
    Boolean,
    Integer,
    Decimal,
    String,
    Date,
    DateTime,
    Time,
}

/// What sort of type a model type is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TypeKind {
    Primitive(SystemType),
    Complex,
    Resource,
    /// A backbone element's nameless type.
    Anonymous,
}

/// One type of an element: for choice elements, one of several.
#[derive(Debug)]
pub(crate) struct Choice {
    pub(crate) ty: TypeId,
    pub(crate) type_name: &'static str,
    /// The JSON property: `value` or, for a choice, `valueQuantity`.
    pub(crate) key: Box<str>,
}

/// An element of a type.
#[derive(Debug)]
pub(crate) struct Element {
    pub(crate) choices: Box<[Choice]>,
    pub(crate) is_choice: bool,
}

/// What a JSON property or FHIRPath name means on a type.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Member {
    pub(crate) element: u32,
    /// For the typed property of a choice (`valueQuantity`), which choice it is.
    pub(crate) choice: Option<u32>,
}

#[derive(Debug)]
pub(crate) struct TypeInfo {
    pub(crate) name: &'static str,
    pub(crate) base: Option<TypeId>,
    pub(crate) kind: TypeKind,
    pub(crate) elements: Vec<Element>,
    pub(crate) members: FastMap<Box<str>, Member>,
}

/// The FHIR type model that navigation, `is`, `as`, `ofType` and `type()` consult.
///
/// Build it once from the base StructureDefinitions of a FHIR version and share it.
#[derive(Debug, Default)]
pub struct Model {
    types: Vec<TypeInfo>,
    by_name: FastMap<&'static str, TypeId>,
    /// Tells models apart in the member caches of compiled expressions; 0 disables caching.
    id: u16,
}

/// Hands out model ids; once they run out, later models simply are not cached.
static NEXT_MODEL_ID: AtomicU32 = AtomicU32::new(1);

const NO_CHOICE: u64 = 0xFFFF;

/// The System type of a root primitive; other primitives inherit theirs.
fn root_system_type(name: &str) -> Option<SystemType> {
    Some(match name {
        "boolean" => SystemType::Boolean,
        "integer" | "integer64" => SystemType::Integer,
        "decimal" => SystemType::Decimal,
        "date" => SystemType::Date,
        "dateTime" | "instant" => SystemType::DateTime,
        "time" => SystemType::Time,
        "string" | "uri" | "base64Binary" | "xhtml" => SystemType::String,
        _ => return None,
    })
}

fn last_segment(url: &str) -> &str {
    url.rsplit('/').next().unwrap_or(url)
}

fn upper_first(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The type code of one `ElementDefinition.type`, with FHIRPath System types mapped back to
/// the FHIR primitive the definition names in its `structuredefinition-fhir-type` extension.
fn type_code<'j>(element: &'j Json, ty: &'j Json) -> Option<&'j str> {
    let code = ty.get("code")?.as_str()?;
    let Some(system) = code.strip_prefix("http://hl7.org/fhirpath/System.") else {
        return Some(code);
    };
    // R4 declares Resource.id as a string; it is an id.
    let base_path = element
        .get("base")
        .and_then(|b| b.get("path"))
        .and_then(Json::as_str);
    if base_path == Some("Resource.id") {
        return Some("id");
    }
    let fhir_type = ty
        .get("extension")
        .and_then(Json::as_array)
        .and_then(|extensions| {
            extensions.iter().find_map(|ext| {
                (ext.get("url")?.as_str()?
                    == "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type")
                    .then(|| {
                        ext.get("valueUrl")
                            .or_else(|| ext.get("valueUri"))?
                            .as_str()
                    })
                    .flatten()
            })
        });
    Some(fhir_type.unwrap_or(match system {
        "Boolean" => "boolean",
        "Integer" => "integer",
        "Decimal" => "decimal",
        "Date" => "date",
        "DateTime" => "dateTime",
        "Time" => "time",
        _ => "string",
    }))
}

impl Model {
    /// Builds the model from base StructureDefinitions (R4 core resources, complex and
    /// primitive types, with snapshots). Profiles, logical models and other resources in the
    /// input are skipped, so a whole package can be passed.
    pub fn from_definitions<'a>(definitions: impl IntoIterator<Item = &'a Json>) -> Model {
        let id = u16::try_from(NEXT_MODEL_ID.fetch_add(1, AtomicOrdering::Relaxed)).unwrap_or(0);
        let mut model = Model {
            id,
            ..Model::default()
        };
        let mut accepted = Vec::new();
        for sd in definitions {
            if sd.get("resourceType").and_then(Json::as_str) != Some("StructureDefinition") {
                continue;
            }
            let kind = match sd.get("kind").and_then(Json::as_str) {
                Some("primitive-type") => TypeKind::Primitive(SystemType::String),
                Some("complex-type") => TypeKind::Complex,
                Some("resource") => TypeKind::Resource,
                _ => continue,
            };
            if sd.get("derivation").and_then(Json::as_str) == Some("constraint") {
                continue;
            }
            let Some(name) = sd.get("type").and_then(Json::as_str) else {
                continue;
            };
            if model.by_name.contains_key(name) {
                continue;
            }
            model.add_type(name, kind);
            accepted.push(sd);
        }
        for sd in &accepted {
            let name = sd.get("type").and_then(Json::as_str).unwrap_or_default();
            let base = sd
                .get("baseDefinition")
                .and_then(Json::as_str)
                .map(last_segment);
            let id = model.by_name[name];
            let base_id = base.and_then(|b| model.by_name.get(b).copied());
            model.types[id.0 as usize].base = base_id;
        }
        for i in 0..model.types.len() {
            if let TypeKind::Primitive(_) = model.types[i].kind {
                let system = model.primitive_system_type(TypeId(i as u32));
                model.types[i].kind = TypeKind::Primitive(system);
            }
        }
        for sd in accepted {
            model.add_elements(sd);
        }
        model
    }

    fn add_type(&mut self, name: &str, kind: TypeKind) -> TypeId {
        let id = TypeId(self.types.len() as u32);
        let name = intern(name);
        self.types.push(TypeInfo {
            name,
            base: None,
            kind,
            elements: Vec::new(),
            members: FastMap::default(),
        });
        if kind != TypeKind::Anonymous {
            self.by_name.insert(name, id);
        }
        id
    }

    fn primitive_system_type(&self, mut id: TypeId) -> SystemType {
        for _ in 0..16 {
            let info = &self.types[id.0 as usize];
            if let Some(system) = root_system_type(info.name) {
                return system;
            }
            match info.base {
                Some(base) => id = base,
                None => break,
            }
        }
        SystemType::String
    }

    /// Reads the snapshot of one definition into element tables.
    fn add_elements(&mut self, sd: &Json) {
        let Some(type_name) = sd.get("type").and_then(Json::as_str) else {
            return;
        };
        let Some(&root) = self.by_name.get(type_name) else {
            return;
        };
        let is_primitive = matches!(self.types[root.0 as usize].kind, TypeKind::Primitive(_));
        let elements = sd
            .get("snapshot")
            .or_else(|| sd.get("differential"))
            .and_then(|s| s.get("element"))
            .and_then(Json::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        let paths: HashSet<&str> = elements
            .iter()
            .filter_map(|e| {
                e.get("path")?
                    .as_str()?
                    .rsplit_once('.')
                    .map(|(parent, _)| parent)
            })
            .collect();
        let mut owners: HashMap<String, TypeId> = HashMap::new();
        owners.insert(type_name.to_owned(), root);
        // Anonymous types first, so content references can point forwards.
        for element in elements {
            let Some(path) = element.get("path").and_then(Json::as_str) else {
                continue;
            };
            if !paths.contains(path)
                || path == type_name
                || element.get("contentReference").is_some()
            {
                continue;
            }
            let declared = element
                .get("type")
                .and_then(Json::as_array)
                .and_then(|types| types.first())
                .and_then(|t| t.get("code"))
                .and_then(Json::as_str)
                .unwrap_or("BackboneElement");
            let id = self.add_type(declared, TypeKind::Anonymous);
            self.types[id.0 as usize].base = self.by_name.get(declared).copied();
            owners.insert(path.to_owned(), id);
        }
        for element in elements {
            let Some(path) = element.get("path").and_then(Json::as_str) else {
                continue;
            };
            let Some((parent, name)) = path.rsplit_once('.') else {
                continue;
            };
            let Some(&owner) = owners.get(parent) else {
                continue;
            };
            if is_primitive && name == "value"
                || element.get("max").and_then(Json::as_str) == Some("0")
            {
                continue;
            }
            let (base_name, is_choice) = match name.strip_suffix("[x]") {
                Some(base) => (base, true),
                None => (name, false),
            };
            let mut targets: Vec<(TypeId, &'static str, &str)> = Vec::new();
            if let Some(reference) = element.get("contentReference").and_then(Json::as_str) {
                let target = reference.rsplit_once('#').map_or(reference, |(_, t)| t);
                if let Some(&id) = owners.get(target) {
                    targets.push((id, self.types[id.0 as usize].name, ""));
                }
            } else if let Some(&id) = owners.get(path) {
                targets.push((id, self.types[id.0 as usize].name, ""));
            } else {
                for ty in element
                    .get("type")
                    .and_then(Json::as_array)
                    .map(Vec::as_slice)
                    .unwrap_or_default()
                {
                    let Some(code) = type_code(element, ty) else {
                        continue;
                    };
                    let id = self.by_name.get(code).copied().unwrap_or(TypeId::UNKNOWN);
                    let interned = if id.is_known() {
                        self.types[id.0 as usize].name
                    } else {
                        intern(code)
                    };
                    targets.push((id, interned, code));
                }
            }
            let choices: Box<[Choice]> = targets
                .into_iter()
                .map(|(ty, type_name, code)| {
                    let key = if is_choice {
                        format!("{base_name}{}", upper_first(code))
                    } else {
                        base_name.to_owned()
                    };
                    Choice {
                        ty,
                        type_name,
                        key: key.into(),
                    }
                })
                .collect();
            let info = &mut self.types[owner.0 as usize];
            let index = info.elements.len() as u32;
            info.members.insert(
                base_name.into(),
                Member {
                    element: index,
                    choice: None,
                },
            );
            if is_choice {
                for (i, choice) in choices.iter().enumerate() {
                    info.members.insert(
                        choice.key.clone(),
                        Member {
                            element: index,
                            choice: Some(i as u32),
                        },
                    );
                }
            }
            info.elements.push(Element { choices, is_choice });
        }
    }

    pub(crate) fn info(&self, id: TypeId) -> Option<&TypeInfo> {
        self.types.get(id.0 as usize)
    }

    /// The type named `name` (a FHIR type code or resource name).
    pub(crate) fn type_id(&self, name: &str) -> TypeId {
        self.by_name.get(name).copied().unwrap_or(TypeId::UNKNOWN)
    }

    /// The interned name of a known type, so items can carry it.
    pub(crate) fn type_name(&self, id: TypeId) -> Option<&'static str> {
        self.info(id).map(|info| info.name)
    }

    pub(crate) fn kind(&self, id: TypeId) -> Option<TypeKind> {
        self.info(id).map(|info| info.kind)
    }

    /// The element `name` of type `id` and, for a typed choice property, which choice.
    pub(crate) fn member(&self, id: TypeId, name: &str) -> Option<(&Element, Option<&Choice>)> {
        let info = self.info(id)?;
        let member = info.members.get(name)?;
        let element = info.elements.get(member.element as usize)?;
        let choice = member.choice.and_then(|c| element.choices.get(c as usize));
        Some((element, choice))
    }

    /// [`Model::member`] remembering its last answer in `cache`, which belongs to one name
    /// (a path step): the model id, type id, element and choice packed into 64 bits.
    pub(crate) fn member_cached(
        &self,
        id: TypeId,
        name: &str,
        cache: &AtomicU64,
    ) -> Option<(&Element, Option<&Choice>)> {
        let packed = cache.load(AtomicOrdering::Relaxed);
        if self.id != 0
            && packed >> 48 == u64::from(self.id)
            && (packed >> 32) & 0xFFFF == u64::from(id.0)
        {
            let element = self
                .info(id)?
                .elements
                .get(((packed >> 16) & 0xFFFF) as usize)?;
            let choice = match packed & 0xFFFF {
                NO_CHOICE => None,
                c => Some(element.choices.get(c as usize)?),
            };
            return Some((element, choice));
        }
        let info = self.info(id)?;
        let member = *info.members.get(name)?;
        let element = info.elements.get(member.element as usize)?;
        let choice = member.choice.and_then(|c| element.choices.get(c as usize));
        let choice_bits = member.choice.map_or(NO_CHOICE, u64::from);
        if self.id != 0 && id.0 < 0xFFFF && member.element < 0xFFFF && choice_bits <= NO_CHOICE {
            let packed = u64::from(self.id) << 48
                | u64::from(id.0) << 32
                | u64::from(member.element) << 16
                | choice_bits;
            cache.store(packed, AtomicOrdering::Relaxed);
        }
        Some((element, choice))
    }

    /// Whether `id` is `ancestor` or derives from it.
    pub(crate) fn derives_from(&self, id: TypeId, ancestor: &str) -> bool {
        let mut current = Some(id);
        for _ in 0..32 {
            match current.and_then(|c| self.info(c)) {
                Some(info) if info.name == ancestor => return true,
                Some(info) => current = info.base,
                None => return false,
            }
        }
        false
    }

    /// Whether the model knows a type of this name.
    pub fn has_type(&self, name: &str) -> bool {
        self.by_name.contains_key(name)
    }

    /// Whether `name` is a resource type (including the abstract `Resource` and `DomainResource`).
    pub fn is_resource_type(&self, name: &str) -> bool {
        self.kind(self.type_id(name)) == Some(TypeKind::Resource)
    }

    /// Whether type `name` is `ancestor` or derives from it (`Age` is a `Quantity`, `Patient` a
    /// `DomainResource`, `code` a `string`).
    pub fn is_subtype(&self, name: &str, ancestor: &str) -> bool {
        let id = self.type_id(name);
        id.is_known() && self.derives_from(id, ancestor)
    }

    /// A node of the input for [`crate::Expression::evaluate_at`]: `value` (or, for a
    /// primitive with only extensions, none) and the `_name` object of a primitive, typed by
    /// `ty`, a type name or a path into backbone elements (`Patient.contact`). Resources are
    /// typed by their `resourceType`; an unknown `ty` gives a node that can still be navigated.
    pub fn node<'a>(
        &self,
        value: Option<&'a Json>,
        extension: Option<&'a Json>,
        ty: &str,
    ) -> crate::Item<'a> {
        let mut steps = ty.split('.');
        let mut id = self.type_id(steps.next().unwrap_or_default());
        for step in steps {
            id = self
                .member(id, step)
                .and_then(|(element, _)| element.choices.first())
                .map_or(TypeId::UNKNOWN, |choice| choice.ty);
        }
        crate::Item::Node(crate::eval::typed(
            self,
            value,
            extension,
            id,
            self.type_name(id),
        ))
    }

    /// The FHIR type of element `name` of type `parent_type`, e.g. `("Observation",
    /// "valueQuantity")` gives `Quantity` and `("Patient", "birthDate")` gives `date`.
    /// `parent_type` may be a path into backbone elements (`Patient.contact`). A choice element
    /// named without its type (`value`) has no single type and gives `None`.
    pub fn element_type(&self, parent_type: &str, name: &str) -> Option<&'static str> {
        let mut steps = parent_type.split('.');
        let mut id = self.type_id(steps.next()?);
        for step in steps {
            let (element, _) = self.member(id, step)?;
            id = element.choices.first()?.ty;
        }
        let (element, choice) = self.member(id, name)?;
        match (choice, element.is_choice) {
            (Some(choice), _) => Some(choice.type_name),
            (None, false) => element.choices.first().map(|c| c.type_name),
            (None, true) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tiny_model() -> Model {
        let element = json!({"resourceType": "StructureDefinition", "type": "Element", "kind": "complex-type",
            "snapshot": {"element": [{"path": "Element"}, {"path": "Element.id", "type": [{"code": "string"}]}]}});
        let string = json!({"resourceType": "StructureDefinition", "type": "string", "kind": "primitive-type",
            "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Element",
            "snapshot": {"element": [{"path": "string"}, {"path": "string.value"}]}});
        let quantity = json!({"resourceType": "StructureDefinition", "type": "Quantity", "kind": "complex-type",
            "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Element",
            "snapshot": {"element": [{"path": "Quantity"}, {"path": "Quantity.unit", "type": [{"code": "string"}]}]}});
        let observation = json!({"resourceType": "StructureDefinition", "type": "Observation", "kind": "resource",
            "snapshot": {"element": [{"path": "Observation"},
                {"path": "Observation.value[x]", "type": [{"code": "Quantity"}, {"code": "string"}]},
                {"path": "Observation.component", "type": [{"code": "BackboneElement"}], "max": "*"},
                {"path": "Observation.component.value[x]", "type": [{"code": "Quantity"}]}]}});
        Model::from_definitions([&element, &string, &quantity, &observation])
    }

    #[test]
    fn choice_properties_resolve_to_their_type() {
        let model = tiny_model();
        assert_eq!(
            model.element_type("Observation", "valueQuantity"),
            Some("Quantity")
        );
        assert_eq!(
            model.element_type("Observation", "valueString"),
            Some("string")
        );
        assert_eq!(model.element_type("Observation", "value"), None);
        assert_eq!(
            model.element_type("Observation.component", "valueQuantity"),
            Some("Quantity")
        );
        assert!(model.is_subtype("Quantity", "Element"));
    }
}
