//! Items, the members of a FHIRPath collection: borrowed nodes of the input and computed
//! System values.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use rust_decimal::Decimal;
use serde_json::Value as Json;

use crate::model::{Model, SystemType, TypeId, TypeKind};
use crate::number;
use crate::quantity::Quantity;
use crate::temporal::{DateTime, Time};

/// The result of an evaluation: items in order.
pub type Collection<'a> = Vec<Item<'a>>;

/// One member of a collection.
#[derive(Clone, Debug)]
pub enum Item<'a> {
    /// A node of the input (or of a resolved or variable resource), borrowed, never copied.
    Node(Node<'a>),
    /// A value computed by the expression, of a FHIRPath System type.
    Value(Value),
}

/// A node of a JSON resource with its FHIR type.
///
/// A primitive's `id` and extensions live in the `_name` sibling property: both halves are kept.
/// Either half may be missing: `{"_birthDate": {...}}` gives a node with extensions and no value.
#[derive(Clone, Copy, Debug)]
pub struct Node<'a> {
    pub(crate) value: Option<&'a Json>,
    pub(crate) extension: Option<&'a Json>,
    pub(crate) type_name: &'a str,
    pub(crate) ty: TypeId,
}

/// A value of a FHIRPath System type, computed rather than found in the input.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `System.Boolean`
    Boolean(bool),
    /// `System.Integer`
    Integer(i64),
    /// `System.Decimal`, with the precision it was written or computed with.
    Decimal(Decimal),
    /// `System.String`
    String(Arc<str>),
    /// `System.Date`
    Date(DateTime),
    /// `System.DateTime`
    DateTime(DateTime),
    /// `System.Time`
    Time(Time),
    /// `System.Quantity`
    Quantity(Quantity),
    /// What `type()` returns: a namespace (`System` or `FHIR`) and a type name.
    Type {
        /// `System` or `FHIR`.
        namespace: &'static str,
        /// The type's name within the namespace.
        name: Arc<str>,
    },
}

impl Value {
    /// The System type name: `Boolean`, `Integer`, `Decimal`, `String`, `Date`, `DateTime`,
    /// `Time`, `Quantity`, or `TypeInfo` for reflection results.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Boolean(_) => "Boolean",
            Value::Integer(_) => "Integer",
            Value::Decimal(_) => "Decimal",
            Value::String(_) => "String",
            Value::Date(_) => "Date",
            Value::DateTime(_) => "DateTime",
            Value::Time(_) => "Time",
            Value::Quantity(_) => "Quantity",
            Value::Type { .. } => "TypeInfo",
        }
    }

    /// A JSON rendering: numbers keep their precision, dates and times are FHIR strings and
    /// quantities are FHIR `Quantity` objects.
    pub fn to_json(&self) -> Json {
        match self {
            Value::Boolean(b) => Json::Bool(*b),
            Value::Integer(i) => Json::from(*i),
            Value::Decimal(d) => d
                .to_string()
                .parse::<serde_json::Number>()
                .map_or(Json::Null, Json::Number),
            Value::String(s) => Json::String(s.to_string()),
            Value::Date(d) | Value::DateTime(d) => Json::String(d.to_string()),
            Value::Time(t) => Json::String(t.to_string()),
            Value::Quantity(q) => {
                let mut object = serde_json::Map::new();
                object.insert("value".into(), Value::Decimal(q.value).to_json());
                if q.calendar {
                    object.insert("unit".into(), Json::String(q.unit.to_string()));
                } else {
                    object.insert("unit".into(), Json::String(q.unit.to_string()));
                    object.insert(
                        "system".into(),
                        Json::String("http://unitsofmeasure.org".into()),
                    );
                    object.insert("code".into(), Json::String(q.unit.to_string()));
                }
                Json::Object(object)
            }
            Value::Type { namespace, name } => {
                serde_json::json!({ "namespace": namespace, "name": &**name })
            }
        }
    }
}

impl fmt::Display for Value {
    /// Renders as `toString()` does: `1.50`, `2014-01-05`, `4 'mg'`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Boolean(b) => write!(f, "{b}"),
            Value::Integer(i) => write!(f, "{i}"),
            Value::Decimal(d) => write!(f, "{d}"),
            Value::String(s) => f.write_str(s),
            Value::Date(d) | Value::DateTime(d) => write!(f, "{d}"),
            Value::Time(t) => write!(f, "{t}"),
            Value::Quantity(q) => write!(f, "{q}"),
            Value::Type { namespace, name } => write!(f, "{namespace}.{name}"),
        }
    }
}

/// A borrowed view of an item's System value, for operators and functions.
#[derive(Clone, Debug)]
pub(crate) enum Prim<'x> {
    Boolean(bool),
    Integer(i64),
    Decimal(Decimal),
    String(&'x str),
    Date(DateTime),
    DateTime(DateTime),
    Time(Time),
    Quantity(Cow<'x, Quantity>),
}

impl<'a> Item<'a> {
    pub(crate) fn boolean(b: bool) -> Item<'a> {
        Item::Value(Value::Boolean(b))
    }

    pub(crate) fn integer(i: i64) -> Item<'a> {
        Item::Value(Value::Integer(i))
    }

    pub(crate) fn string(s: &str) -> Item<'a> {
        Item::Value(Value::String(Arc::from(s)))
    }

    /// The type of the item: the FHIR type code of a node (`CodeableConcept`, `dateTime`,
    /// `Patient`, `BackboneElement` for backbone elements), the System type name of a computed
    /// value (`Boolean`, `String`, `Integer`, `Decimal`, `Date`, `DateTime`, `Time`, `Quantity`).
    pub fn type_name(&self) -> &str {
        match self {
            Item::Node(node) => node.type_name,
            Item::Value(value) => value.type_name(),
        }
    }

    /// The borrowed JSON of a node; `None` for computed values, for primitives that exist only
    /// as `_name`, and for resources `resolve()` only knows the type of.
    pub fn json(&self) -> Option<&'a Json> {
        match self {
            Item::Node(node) => node.value,
            Item::Value(_) => None,
        }
    }

    /// The `_name` companion of a primitive node (its `id` and `extension`), if any.
    pub fn primitive_extension(&self) -> Option<&'a Json> {
        match self {
            Item::Node(node) => node.extension,
            Item::Value(_) => None,
        }
    }

    /// A JSON rendering of any item: a node's JSON (cloned; `null` when it has none), or the
    /// rendering of a computed value (a quantity becomes `{"value", "unit", "system", "code"}`).
    pub fn to_json(&self) -> Json {
        match self {
            Item::Node(node) => node.value.cloned().unwrap_or(Json::Null),
            Item::Value(value) => value.to_json(),
        }
    }

    /// The text of a string-like primitive: a node whose JSON is a string (`string`, `code`,
    /// `uri`, `date`, …) or a computed `String`.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Item::Node(node) => node.value.and_then(Json::as_str),
            Item::Value(Value::String(s)) => Some(s),
            Item::Value(_) => None,
        }
    }

    /// The System value of a primitive node (a FHIR `date` becomes [`Value::Date`], a
    /// `Quantity` element a [`Value::Quantity`]) or the computed value itself.
    pub fn system_value(&self, model: &Model) -> Option<Value> {
        Some(match self.prim(model)? {
            Prim::Boolean(b) => Value::Boolean(b),
            Prim::Integer(i) => Value::Integer(i),
            Prim::Decimal(d) => Value::Decimal(d),
            Prim::String(s) => Value::String(Arc::from(s)),
            Prim::Date(d) => Value::Date(d),
            Prim::DateTime(d) => Value::DateTime(d),
            Prim::Time(t) => Value::Time(t),
            Prim::Quantity(q) => Value::Quantity(q.into_owned()),
        })
    }

    /// The System value this item stands for, if it is a primitive or a quantity.
    pub(crate) fn prim(&self, model: &Model) -> Option<Prim<'_>> {
        match self {
            Item::Value(value) => Some(match value {
                Value::Boolean(b) => Prim::Boolean(*b),
                Value::Integer(i) => Prim::Integer(*i),
                Value::Decimal(d) => Prim::Decimal(*d),
                Value::String(s) => Prim::String(s),
                Value::Date(d) => Prim::Date(*d),
                Value::DateTime(d) => Prim::DateTime(*d),
                Value::Time(t) => Prim::Time(*t),
                Value::Quantity(q) => Prim::Quantity(Cow::Borrowed(q)),
                Value::Type { .. } => return None,
            }),
            Item::Node(node) => node.prim(model),
        }
    }
}

/// The System type of a FHIR primitive known only by name (when the model lacks it).
fn primitive_system_type(type_name: &str) -> Option<SystemType> {
    Some(match type_name {
        "boolean" => SystemType::Boolean,
        "integer" | "positiveInt" | "unsignedInt" | "integer64" => SystemType::Integer,
        "decimal" => SystemType::Decimal,
        "date" => SystemType::Date,
        "dateTime" | "instant" => SystemType::DateTime,
        "time" => SystemType::Time,
        _ => return None,
    })
}

impl<'a> Node<'a> {
    /// The FHIR type code of the node.
    pub fn type_name(&self) -> &'a str {
        self.type_name
    }

    /// The System type a primitive node holds, from the model or, for unknown types, the JSON.
    pub(crate) fn system_type(&self, model: &Model) -> Option<SystemType> {
        match model.kind(self.ty) {
            Some(TypeKind::Primitive(system)) => Some(system),
            Some(_) => None,
            None => match (primitive_system_type(self.type_name), self.value?) {
                (Some(system), _) => Some(system),
                (None, Json::Bool(_)) => Some(SystemType::Boolean),
                (None, Json::String(_)) => Some(SystemType::String),
                (None, Json::Number(n)) if n.as_str().contains(['.', 'e', 'E']) => {
                    Some(SystemType::Decimal)
                }
                (None, Json::Number(_)) => Some(SystemType::Integer),
                _ => None,
            },
        }
    }

    pub(crate) fn prim(&self, model: &Model) -> Option<Prim<'a>> {
        let value = self.value?;
        let Some(system) = self.system_type(model) else {
            return self.quantity(model).map(|q| Prim::Quantity(Cow::Owned(q)));
        };
        Some(match (system, value) {
            (SystemType::Boolean, Json::Bool(b)) => Prim::Boolean(*b),
            (SystemType::Integer, Json::Number(n)) => Prim::Integer(n.as_str().parse().ok()?),
            (SystemType::Decimal, Json::Number(n)) => {
                Prim::Decimal(number::parse_decimal(n.as_str())?)
            }
            (SystemType::String, Json::String(s)) => Prim::String(s),
            (SystemType::Date, Json::String(s)) => Prim::Date(DateTime::parse_date(s)?),
            (SystemType::DateTime, Json::String(s)) => Prim::DateTime(DateTime::parse_datetime(s)?),
            (SystemType::Time, Json::String(s)) => Prim::Time(Time::parse(s)?),
            _ => return None,
        })
    }

    /// A FHIR `Quantity` (or `Age`, `Duration`, …) element as a System quantity: the UCUM code
    /// when the system is UCUM, else the human unit.
    pub(crate) fn quantity(&self, model: &Model) -> Option<Quantity> {
        let object = self.value?.as_object()?;
        let quantity_like = if self.ty.is_known() {
            model.derives_from(self.ty, "Quantity")
        } else {
            object.contains_key("value")
                && (object.contains_key("unit") || object.contains_key("code"))
        };
        if !quantity_like {
            return None;
        }
        let value = number::parse_decimal(object.get("value")?.as_number()?.as_str())?;
        let code = object.get("code").and_then(Json::as_str);
        let unit = object.get("unit").and_then(Json::as_str);
        let system = object.get("system").and_then(Json::as_str);
        let unit = match (code, system) {
            (Some(code), Some("http://unitsofmeasure.org") | None) => code,
            _ => unit.or(code).unwrap_or("1"),
        };
        Some(Quantity::new(value, unit))
    }
}
