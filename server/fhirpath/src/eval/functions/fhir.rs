//! Type functions (`is()`, `as()`, `ofType()`, `type()`) and the FHIR additions: `extension()`,
//! `hasExtension()`, `resolve()`, `hasValue()`, `getValue()`, `conformsTo()`, `memberOf()`,
//! `htmlChecks()`.

use std::sync::atomic::AtomicU64;

use serde_json::Value as Json;

use super::Ctx;
use crate::ast::{Func, TypeSpec};
use crate::error::{Error, Result};
use crate::eval::navigate::root_item;
use crate::eval::operators::single;
use crate::eval::{Buf, Evaluator};
use crate::item::{Item, Node, Prim, Value};
use crate::model::TypeKind;

pub(super) fn call<'a>(ctx: &Ctx<'_, '_, 'a>, input: &[Item<'a>], out: &mut Buf<'a>) -> Result<()> {
    let ev = ctx.ev;
    let func = ctx.call.func;
    match func {
        Func::OfType => {
            let spec = type_arg(ctx)?;
            for item in input {
                if ev.is_type(item, spec, true)? {
                    out.push(item.clone());
                }
            }
        }
        Func::As if ev.env.as_filters && input.len() > 1 => {
            let spec = type_arg(ctx)?;
            for item in input {
                if ev.is_type(item, spec, true)? {
                    out.push(item.clone());
                }
            }
        }
        Func::Is | Func::As => {
            let spec = type_arg(ctx)?;
            if let Some(item) = single(input, func.name())? {
                let matches = ev.is_type(item, spec, func == Func::As)?;
                match func {
                    Func::Is => out.push(Item::boolean(matches)),
                    _ if matches => out.push(item.clone()),
                    _ => {}
                }
            }
        }
        Func::Type => {
            for item in input {
                let info = match item {
                    Item::Node(node) => Evaluator::node_type_info(node),
                    Item::Value(value) => Value::Type {
                        namespace: "System",
                        name: std::sync::Arc::from(value.type_name()),
                    },
                };
                out.push(Item::Value(info));
            }
        }
        Func::Extension | Func::HasExtension => {
            let Some(url) = ctx.string_arg(0)? else {
                return Ok(());
            };
            let start = out.len();
            let cache = AtomicU64::new(0);
            for item in input {
                if let Item::Node(node) = item {
                    ev.member(node, "extension", "_extension", &cache, &mut |extension| {
                        let matches = extension
                            .json()
                            .and_then(|e| e.get("url"))
                            .and_then(Json::as_str)
                            == Some(url.as_str());
                        if matches {
                            out.push(extension);
                        }
                        Ok(())
                    })?;
                }
            }
            if func == Func::HasExtension {
                let found = out.len() > start;
                out.truncate(start);
                out.push(Item::boolean(found));
            }
        }
        Func::Resolve => {
            for item in input {
                if let Some(resolved) = resolve(ev, item) {
                    out.push(resolved);
                }
            }
        }
        Func::HasValue => {
            let has = match input {
                [Item::Node(node)] => {
                    node.value.is_some_and(|v| !v.is_object() && !v.is_array())
                        && is_primitive(ev, node)
                }
                [Item::Value(value)] => !matches!(value, Value::Type { .. }),
                _ => false,
            };
            out.push(Item::boolean(has));
        }
        Func::GetValue => {
            if let [item @ Item::Node(node)] = input {
                if is_primitive(ev, node) {
                    out.extend(item.system_value(ev.model).map(Item::Value));
                }
            }
        }
        Func::ConformsTo => {
            let Some(url) = ctx.string_arg(0)? else {
                return Ok(());
            };
            for item in input {
                out.push(Item::boolean(conforms_to(ev, item, &url)?));
            }
        }
        Func::MemberOf => {
            let Some(value_set) = ctx.string_arg(0)? else {
                return Ok(());
            };
            let Some(terminology) = ev.env.terminology else {
                return Ok(());
            };
            if let Some(item) = single(input, "memberOf()")? {
                let mut answer = None;
                for (system, code) in codes(ev, item) {
                    match terminology.member_of(system, code, &value_set) {
                        Some(true) => {
                            answer = Some(true);
                            break;
                        }
                        Some(false) => answer = Some(false),
                        None => {}
                    }
                }
                out.extend(answer.map(Item::boolean));
            }
        }
        Func::HtmlChecks => {
            if let Some(item) = single(input, "htmlChecks()")? {
                out.push(Item::boolean(item.as_str().is_some_and(html_is_safe)));
            }
        }
        _ => {
            return Err(Error::semantic(format!(
                "{}() is not a FHIR function",
                func.name()
            )))
        }
    }
    Ok(())
}

fn type_arg<'c>(ctx: &Ctx<'c, '_, '_>) -> Result<&'c TypeSpec> {
    ctx.call
        .type_arg
        .as_ref()
        .ok_or_else(|| Error::semantic(format!("{}() needs a type name", ctx.call.func.name())))
}

fn is_primitive(ev: &Evaluator<'_, '_>, node: &Node<'_>) -> bool {
    match ev.model.kind(node.ty) {
        Some(kind) => matches!(kind, TypeKind::Primitive(_)),
        None => node.value.is_some_and(|v| !v.is_object() && !v.is_array()),
    }
}

/// What a `Reference` (or a canonical/uri string) points to: the resolver's answer, a
/// contained resource for `#id`, a bundle entry, or else a node that only knows its type.
fn resolve<'a>(ev: &Evaluator<'_, 'a>, item: &Item<'a>) -> Option<Item<'a>> {
    let (reference, borrowed): (&str, Option<&'a str>) = match item {
        Item::Node(node) => {
            let reference: &'a str = match node.value? {
                Json::Object(object) => object.get("reference")?.as_str()?,
                Json::String(s) => s,
                _ => return None,
            };
            (reference, Some(reference))
        }
        Item::Value(Value::String(s)) => (s, None),
        Item::Value(_) => return None,
    };
    if let Some(resolver) = ev.env.resolver {
        if let Some(found) = resolver.resolve(reference) {
            return root_item(ev.model, found);
        }
    }
    let root = ev.root_json?;
    if let Some(id) = reference.strip_prefix('#') {
        if id.is_empty() {
            return root_item(ev.model, root);
        }
        let contained = root.get("contained")?.as_array()?;
        let found = contained
            .iter()
            .find(|r| r.get("id").and_then(Json::as_str) == Some(id))?;
        return root_item(ev.model, found);
    }
    if let Some(found) = bundle_entry(root, reference) {
        return root_item(ev.model, found);
    }
    // Indexing without a resolver still needs the type: `Type/id`, also at the end of a URL.
    let path = match reference.split_once("/_history/") {
        Some((path, _)) => path,
        None => reference,
    };
    let mut segments = path.rsplit('/');
    let id = segments.next()?;
    let resource_type = segments.next()?;
    if id.is_empty() || !resource_type.starts_with(|c: char| c.is_ascii_uppercase()) {
        return None;
    }
    let ty = ev.model.type_id(resource_type);
    let known = ev.model.kind(ty) == Some(TypeKind::Resource);
    if !known && ev.model.has_type("Resource") {
        return None;
    }
    // Without definitions the name can only be borrowed from the reference in the input.
    let offset = resource_type.as_ptr() as usize - reference.as_ptr() as usize;
    let type_name = match ev.model.type_name(ty) {
        Some(name) => name,
        None => borrowed?.get(offset..offset + resource_type.len())?,
    };
    Some(Item::Node(Node {
        value: None,
        extension: None,
        type_name,
        ty,
    }))
}

/// The resource of the bundle entry whose `fullUrl` (or `Type/id`) is `reference`.
fn bundle_entry<'a>(root: &'a Json, reference: &str) -> Option<&'a Json> {
    if root.get("resourceType").and_then(Json::as_str) != Some("Bundle") {
        return None;
    }
    let entries = root.get("entry")?.as_array()?;
    entries.iter().find_map(|entry| {
        let resource = entry.get("resource")?;
        let full_url = entry.get("fullUrl").and_then(Json::as_str);
        let matches = full_url == Some(reference)
            || full_url.is_some_and(|url| {
                url.ends_with(reference) && url[..url.len() - reference.len()].ends_with('/')
            })
            || resource.get("id").and_then(Json::as_str).is_some_and(|id| {
                let resource_type = resource
                    .get("resourceType")
                    .and_then(Json::as_str)
                    .unwrap_or_default();
                reference.len() == resource_type.len() + 1 + id.len()
                    && reference.starts_with(resource_type)
                    && reference.ends_with(id)
                    && reference.as_bytes().get(resource_type.len()) == Some(&b'/')
            });
        matches.then_some(resource)
    })
}

/// `conformsTo()`: the validator's answer, or for the base definitions of the model, whether
/// the item is of that type.
fn conforms_to(ev: &Evaluator<'_, '_>, item: &Item<'_>, url: &str) -> Result<bool> {
    if let (Some(validator), Some(json)) = (ev.env.validator, item.json()) {
        if let Some(answer) = validator.conforms_to(json, url) {
            return Ok(answer);
        }
    }
    let unknown = || Error::execution(format!("unknown profile '{url}'"));
    let name = url
        .strip_prefix("http://hl7.org/fhir/StructureDefinition/")
        .ok_or_else(unknown)?;
    if !ev.model.has_type(name) {
        return Err(unknown());
    }
    Ok(match item {
        Item::Node(node) => node.type_name == name || ev.model.derives_from(node.ty, name),
        Item::Value(_) => false,
    })
}

/// The (system, code) pairs of a code, Coding or CodeableConcept.
fn codes<'i>(ev: &Evaluator<'_, '_>, item: &'i Item<'_>) -> Vec<(Option<&'i str>, &'i str)> {
    let coding = |c: &'i Json| {
        Some((
            c.get("system").and_then(Json::as_str),
            c.get("code")?.as_str()?,
        ))
    };
    match item {
        Item::Node(Node {
            value: Some(Json::Object(object)),
            ..
        }) => match object.get("coding").and_then(Json::as_array) {
            Some(codings) => codings.iter().filter_map(coding).collect(),
            None => object
                .get("code")
                .and_then(Json::as_str)
                .map(|code| (object.get("system").and_then(Json::as_str), code))
                .into_iter()
                .collect(),
        },
        other => match other.prim(ev.model) {
            Some(Prim::String(_)) => other
                .as_str()
                .map(|code| (None, code))
                .into_iter()
                .collect(),
            _ => Vec::new(),
        },
    }
}

/// The narrative rules FHIR's `htmlChecks()` stands for, approximately: a `div`, no scripts,
/// no event handlers, no `javascript:` links. One pass, no copy: every narrative of every
/// resource validated goes through here.
fn html_is_safe(html: &str) -> bool {
    const FORBIDDEN_TAGS: [&[u8]; 6] =
        [b"script", b"iframe", b"object", b"embed", b"form", b"input"];
    let bytes = html.trim_start().as_bytes();
    if !starts_with_ignore_case(bytes, b"<div") {
        return false;
    }
    let mut in_tag = false;
    for (i, &b) in bytes.iter().enumerate() {
        let rest = &bytes[i + 1..];
        match b {
            b'<' => {
                in_tag = true;
                if FORBIDDEN_TAGS
                    .iter()
                    .any(|tag| starts_with_ignore_case(rest, tag))
                {
                    return false;
                }
            }
            b'>' => in_tag = false,
            b'j' | b'J' if starts_with_ignore_case(&bytes[i..], b"javascript:") => return false,
            // XHTML knows only XML's five entities and character references.
            b'&' if !is_xml_entity(rest) => return false,
            // Event handler attributes: ` on…=` inside a tag.
            b' ' | b'\t' | b'\n' | b'\r' if in_tag && starts_with_ignore_case(rest, b"on") => {
                let name = rest.iter().take_while(|c| c.is_ascii_alphabetic()).count();
                let after = rest[name..].iter().find(|c| !c.is_ascii_whitespace());
                if name > 2 && after == Some(&b'=') {
                    return false;
                }
            }
            _ => {}
        }
    }
    true
}

/// Whether `rest` (after an `&`) is an entity XHTML knows: `lt;`, `gt;`, `amp;`,
/// `quot;`, `apos;` or a character reference such as `#160;` or `#xA0;`.
fn is_xml_entity(rest: &[u8]) -> bool {
    let Some(end) = rest.iter().take(12).position(|&b| b == b';') else {
        return false;
    };
    match &rest[..end] {
        b"lt" | b"gt" | b"amp" | b"quot" | b"apos" => true,
        [b'#', b'x' | b'X', hex @ ..] => !hex.is_empty() && hex.iter().all(u8::is_ascii_hexdigit),
        [b'#', digits @ ..] => !digits.is_empty() && digits.iter().all(u8::is_ascii_digit),
        _ => false,
    }
}

fn starts_with_ignore_case(bytes: &[u8], prefix: &[u8]) -> bool {
    bytes.len() >= prefix.len() && bytes[..prefix.len()].eq_ignore_ascii_case(prefix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrative_with_handlers_fails_html_checks() {
        assert!(html_is_safe(
            "<div xmlns=\"http://www.w3.org/1999/xhtml\"><p>ok</p></div>"
        ));
        assert!(!html_is_safe("<div><p onclick=\"x()\">no</p></div>"));
        assert!(!html_is_safe("<div><script>x</script></div>"));
        assert!(html_is_safe("<div>a &amp; b &#160; &#xA0; &lt;</div>"));
        assert!(!html_is_safe("<div>&reg;</div>"), "not an XML entity");
    }

    #[test]
    fn bundle_entries_resolve_by_full_url_and_relative_reference() {
        let bundle = serde_json::json!({"resourceType": "Bundle", "entry": [
            {"fullUrl": "http://x/fhir/Patient/1", "resource": {"resourceType": "Patient", "id": "1"}}]});
        assert!(bundle_entry(&bundle, "Patient/1").is_some());
        assert!(bundle_entry(&bundle, "http://x/fhir/Patient/1").is_some());
        assert!(bundle_entry(&bundle, "Patient/2").is_none());
    }
}
