//! Navigation over FHIR JSON: members with choice types and `_name` primitive companions,
//! `children()` and `descendants()`, typed by the model.

use std::sync::atomic::AtomicU64;

use serde_json::{Map, Value as Json};

use super::{Buf, Evaluator};
use crate::error::{Error, Result};
use crate::item::{Item, Node};
use crate::model::{Choice, Element, Model, TypeId, TypeKind};

/// FHIR primitive type names, for typing choice properties when the model lacks the parent.
const PRIMITIVES: [&str; 20] = [
    "base64Binary",
    "boolean",
    "canonical",
    "code",
    "date",
    "dateTime",
    "decimal",
    "id",
    "instant",
    "integer",
    "markdown",
    "oid",
    "positiveInt",
    "string",
    "time",
    "unsignedInt",
    "uri",
    "url",
    "uuid",
    "xhtml",
];

/// The context item for a resource: a node typed by its `resourceType`. JSON `null` stands for
/// "no context" and gives no item.
pub(crate) fn root_item<'a>(model: &Model, value: &'a Json) -> Option<Item<'a>> {
    if value.is_null() {
        return None;
    }
    Some(Item::Node(typed(
        model,
        Some(value),
        None,
        TypeId::UNKNOWN,
        None,
    )))
}

/// A node of declared type `ty`; resources (and values of unknown type) that carry a
/// `resourceType` are typed by it, so `Bundle.entry.resource` and `contained` know their types.
pub(crate) fn typed<'a>(
    model: &Model,
    value: Option<&'a Json>,
    extension: Option<&'a Json>,
    ty: TypeId,
    type_name: Option<&'static str>,
) -> Node<'a> {
    let may_be_resource = !ty.is_known() || model.kind(ty) == Some(TypeKind::Resource);
    if may_be_resource {
        let object = value.and_then(Json::as_object);
        if let Some(resource_type) = object
            .and_then(|o| lookup_pair(o, "resourceType", None).0)
            .and_then(Json::as_str)
        {
            let id = model.type_id(resource_type);
            let type_name = model.type_name(id).unwrap_or(resource_type);
            return Node {
                value,
                extension,
                type_name,
                ty: id,
            };
        }
    }
    let type_name = match type_name {
        Some(name) => name,
        None => match value {
            Some(Json::Bool(_)) => "boolean",
            Some(Json::String(_)) => "string",
            Some(Json::Number(n)) if n.as_str().contains(['.', 'e', 'E']) => "decimal",
            Some(Json::Number(_)) => "integer",
            _ => "Element",
        },
    };
    Node {
        value,
        extension,
        type_name,
        ty,
    }
}

/// Looks up `key` and, when asked, `ext_key` in one pass. FHIR objects are small: comparing
/// keys in order beats hashing both names with the map's SipHash.
fn lookup_pair<'j>(
    object: &'j Map<String, Json>,
    key: &str,
    ext_key: Option<&str>,
) -> (Option<&'j Json>, Option<&'j Json>) {
    if object.len() > 24 {
        return (object.get(key), ext_key.and_then(|k| object.get(k)));
    }
    let (mut value, mut extension) = (None, None);
    for (k, v) in object {
        if k == key {
            value = Some(v);
            if ext_key.is_none() {
                break;
            }
        } else if ext_key == Some(k.as_str()) {
            extension = Some(v);
        }
    }
    (value, extension)
}

/// The type a choice property's suffix names (`Quantity` in `valueQuantity`), without a model.
fn suffix_type(model: &Model, suffix: &str) -> (TypeId, Option<&'static str>) {
    let id = model.type_id(suffix);
    if id.is_known() {
        return (id, model.type_name(id));
    }
    let primitive = PRIMITIVES.iter().find(|p| {
        let mut chars = p.chars();
        chars
            .next()
            .is_some_and(|c| suffix.starts_with(c.to_ascii_uppercase()))
            && suffix.get(1..) == Some(chars.as_str())
    });
    match primitive {
        Some(name) => {
            let id = model.type_id(name);
            (id, Some(model.type_name(id).unwrap_or(name)))
        }
        None => (TypeId::UNKNOWN, None),
    }
}

impl<'x, 'a> Evaluator<'x, 'a> {
    /// Calls `f` with each child called `name`; `ext_name` is `_name`; `cache` remembers the
    /// model lookup for this name.
    pub(crate) fn member(
        &self,
        node: &Node<'a>,
        name: &str,
        ext_name: &str,
        cache: &AtomicU64,
        f: &mut dyn FnMut(Item<'a>) -> Result<()>,
    ) -> Result<()> {
        let object = match (node.value, node.extension) {
            (Some(Json::Object(object)), _) => object,
            (_, Some(Json::Object(object))) => object,
            _ => return Ok(()),
        };
        match self.model.member_cached(node.ty, name, cache) {
            Some((_, Some(_))) => Err(Error::semantic(format!(
                "'{}' is a choice type property; use the element name instead",
                name
            ))),
            Some((element, None)) if element.is_choice => {
                self.choice(object, node.ty, name, element, f)
            }
            Some((element, None)) => match element.choices.first() {
                Some(choice) => {
                    self.property(object, name, ext_name, choice.ty, Some(choice.type_name), f)
                }
                None => self.property(object, name, ext_name, TypeId::UNKNOWN, None, f),
            },
            None => {
                if self.strict() && node.ty.is_known() {
                    return Err(Error::semantic(format!(
                        "'{}' is not an element of {}",
                        name, node.type_name
                    )));
                }
                match lookup_pair(object, name, Some(ext_name)) {
                    (None, None) => self.untyped_choice(object, name, f),
                    (value, extension) => self.emit(value, extension, TypeId::UNKNOWN, None, f),
                }
            }
        }
    }

    /// Emits the value(s) of property `key` with their `_key` companions.
    fn property(
        &self,
        object: &'a Map<String, Json>,
        key: &str,
        ext_key: &str,
        ty: TypeId,
        type_name: Option<&'static str>,
        f: &mut dyn FnMut(Item<'a>) -> Result<()>,
    ) -> Result<()> {
        let primitive = self.may_be_primitive(ty);
        let (value, extension) = lookup_pair(object, key, primitive.then_some(ext_key));
        self.emit(value, extension, ty, type_name, f)
    }

    /// Whether a type's values may have a `_name` companion.
    fn may_be_primitive(&self, ty: TypeId) -> bool {
        !ty.is_known() || matches!(self.model.kind(ty), Some(TypeKind::Primitive(_)))
    }

    /// Emits a property's value(s), pairing array entries with their companions by position.
    fn emit(
        &self,
        value: Option<&'a Json>,
        extension: Option<&'a Json>,
        ty: TypeId,
        type_name: Option<&'static str>,
        f: &mut dyn FnMut(Item<'a>) -> Result<()>,
    ) -> Result<()> {
        let mut emit_one = |value: Option<&'a Json>, extension: Option<&'a Json>| {
            let value = value.filter(|v| !v.is_null());
            let extension = extension.filter(|e| !e.is_null());
            if value.is_none() && extension.is_none() {
                return Ok(());
            }
            f(Item::Node(typed(
                self.model, value, extension, ty, type_name,
            )))
        };
        match (value, extension) {
            (Some(Json::Array(values)), extension) => {
                let extensions = extension
                    .and_then(Json::as_array)
                    .map(Vec::as_slice)
                    .unwrap_or_default();
                for i in 0..values.len().max(extensions.len()) {
                    emit_one(values.get(i), extensions.get(i))?;
                }
                Ok(())
            }
            (None, Some(Json::Array(extensions))) => {
                for extension in extensions {
                    emit_one(None, Some(extension))?;
                }
                Ok(())
            }
            (value, extension) => emit_one(value, extension),
        }
    }

    /// A choice element named without its type: finds whichever typed property is present, and
    /// its companion, in one pass over the object.
    fn choice(
        &self,
        object: &'a Map<String, Json>,
        ty: TypeId,
        name: &str,
        element: &Element,
        f: &mut dyn FnMut(Item<'a>) -> Result<()>,
    ) -> Result<()> {
        let mut found: Option<&Choice> = None;
        let (mut value, mut extension) = (None, None);
        for (key, v) in object {
            let (bare, is_extension) = match key.strip_prefix('_') {
                Some(bare) => (bare, true),
                None => (key.as_str(), false),
            };
            if bare.len() <= name.len() || !bare.starts_with(name) {
                continue;
            }
            match found {
                Some(choice) if &*choice.key != bare => continue,
                Some(_) => {}
                None => {
                    let Some((owner, Some(choice))) = self.model.member(ty, bare) else {
                        continue;
                    };
                    if !std::ptr::eq(owner, element) {
                        continue;
                    }
                    found = Some(choice);
                }
            }
            if is_extension {
                extension = Some(v);
            } else {
                value = Some(v);
            }
        }
        match found {
            Some(choice) => {
                let extension = extension.filter(|_| self.may_be_primitive(choice.ty));
                self.emit(value, extension, choice.ty, Some(choice.type_name), f)
            }
            None => Ok(()),
        }
    }

    /// Without a model entry: `value` finds `valueQuantity` by its capitalised suffix.
    fn untyped_choice(
        &self,
        object: &'a Map<String, Json>,
        name: &str,
        f: &mut dyn FnMut(Item<'a>) -> Result<()>,
    ) -> Result<()> {
        for key in object.keys() {
            let Some(suffix) = key.strip_prefix(name) else {
                continue;
            };
            if !suffix.starts_with(|c: char| c.is_ascii_uppercase()) {
                continue;
            }
            let (ty, type_name) = suffix_type(self.model, suffix);
            let ext_key = format!("_{key}");
            return self.property(object, key, &ext_key, ty, type_name, f);
        }
        Ok(())
    }

    /// Calls `f` with every child of a node, in property order.
    pub(crate) fn children(
        &self,
        node: &Node<'a>,
        f: &mut dyn FnMut(Item<'a>) -> Result<()>,
    ) -> Result<()> {
        let object = match (node.value, node.extension) {
            (Some(Json::Object(object)), _) => object,
            (_, Some(Json::Object(object))) => object,
            _ => return Ok(()),
        };
        for (key, _) in object {
            if key == "resourceType" {
                continue;
            }
            if let Some(bare) = key.strip_prefix('_') {
                // A `_name` companion is visited with its value, or alone if there is none.
                if object.contains_key(bare) {
                    continue;
                }
                let ext_key = key.as_str();
                self.keyed_child(node, object, bare, ext_key, f)?;
                continue;
            }
            let ext_key = format!("_{key}");
            self.keyed_child(node, object, key, &ext_key, f)?;
        }
        Ok(())
    }

    fn keyed_child(
        &self,
        node: &Node<'a>,
        object: &'a Map<String, Json>,
        key: &str,
        ext_key: &str,
        f: &mut dyn FnMut(Item<'a>) -> Result<()>,
    ) -> Result<()> {
        match self.model.member(node.ty, key) {
            Some((_, Some(choice))) => {
                self.property(object, key, ext_key, choice.ty, Some(choice.type_name), f)
            }
            Some((element, None)) if !element.is_choice => match element.choices.first() {
                Some(choice) => {
                    self.property(object, key, ext_key, choice.ty, Some(choice.type_name), f)
                }
                None => self.property(object, key, ext_key, TypeId::UNKNOWN, None, f),
            },
            _ => self.property(object, key, ext_key, TypeId::UNKNOWN, None, f),
        }
    }

    /// Appends all descendants of `items` (children, their children, …), breadth by level.
    pub(crate) fn descendants(&self, items: &[Item<'a>], out: &mut Buf<'a>) -> Result<()> {
        let mut level: Vec<Item<'a>> = items.to_vec();
        while !level.is_empty() {
            let mut next = Vec::new();
            for item in &level {
                if let Item::Node(node) = item {
                    self.children(node, &mut |child| {
                        next.push(child);
                        Ok(())
                    })?;
                }
            }
            out.extend(next.iter().cloned());
            level = next;
        }
        Ok(())
    }
}
