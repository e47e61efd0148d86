//! The evaluator: walks the compiled tree over borrowed JSON.
//!
//! Results are appended to small inline buffers, so navigating and filtering allocate only when
//! a collection grows past two items. Recursion follows the expression tree, whose depth the
//! parser bounds; `repeat()` and `descendants()` iterate with explicit work lists.

mod compare;
mod functions;
mod navigate;
mod operators;

use std::cell::{Cell, RefCell};

use serde_json::Value as Json;
use smallvec::SmallVec;

use crate::ast::{Expr, Namespace, TypeOp, TypeSpec};
use crate::env::{Environment, Variable};
use crate::error::{Error, Result};
use crate::item::{Item, Node, Value};
use crate::model::{Model, TypeKind};
use crate::temporal::DateTime;

pub(crate) use navigate::{root_item, typed};

/// A collection under construction.
pub(crate) type Buf<'a> = SmallVec<[Item<'a>; 2]>;

/// An evaluated operand: borrowed when it is a literal or `$this`.
pub(crate) enum Operand<'s, 'a> {
    Borrowed(&'s [Item<'a>]),
    Owned(Buf<'a>),
}

impl<'a> std::ops::Deref for Operand<'_, 'a> {
    type Target = [Item<'a>];

    fn deref(&self) -> &[Item<'a>] {
        match self {
            Operand::Borrowed(items) => items,
            Operand::Owned(items) => items,
        }
    }
}

/// What `$this`, `$index` and `$total` are.
#[derive(Clone, Copy)]
pub(crate) struct Scope<'s, 'a> {
    this: &'s [Item<'a>],
    index: Option<usize>,
    total: Option<&'s [Item<'a>]>,
}

impl<'s, 'a> Scope<'s, 'a> {
    /// The scope of a lambda over one item (`$total` is only set by `aggregate()`).
    fn item(this: &'s Item<'a>, index: usize) -> Self {
        Scope {
            this: std::slice::from_ref(this),
            index: Some(index),
            total: None,
        }
    }
}

/// One evaluation of one expression.
pub(crate) struct Evaluator<'x, 'a> {
    pub(crate) env: &'x Environment<'a>,
    pub(crate) model: &'a Model,
    /// `%resource`.
    resource: Option<Item<'a>>,
    /// `%context`: what the evaluation started from.
    context: Vec<Item<'a>>,
    /// `%rootResource`: the container of a contained resource, else `%resource`.
    root_resource: Option<Item<'a>>,
    root_json: Option<&'a Json>,
    /// `now()` is the same throughout one evaluation.
    now: Cell<Option<DateTime>>,
    /// Variables from `defineVariable()`, innermost last. Function arguments and operator
    /// operands are scopes: what they define is dropped when they end, while a function's
    /// input chain is not, so `a.defineVariable('v').b.where(%v …)` sees `%v`.
    defined: RefCell<Vec<(Box<str>, Buf<'a>)>>,
    defined_count: Cell<usize>,
}

/// The System type names, which `is` and `as` accept besides the model's.
const SYSTEM_TYPES: [&str; 9] = [
    "Boolean", "String", "Integer", "Decimal", "Date", "DateTime", "Time", "Quantity", "Any",
];

impl<'x, 'a> Evaluator<'x, 'a> {
    /// Evaluates `expr` against `resource`.
    pub(crate) fn run(
        expr: &Expr,
        resource: &'a Json,
        env: &'x Environment<'a>,
    ) -> Result<Vec<Item<'a>>> {
        let root = root_item(env.model, resource);
        Self::run_at(expr, root.as_slice(), resource, resource, env)
    }

    /// Evaluates `expr` with `focus` as its input, inside `resource` (`%resource`)
    /// contained in `root` (`%rootResource`).
    pub(crate) fn run_at(
        expr: &Expr,
        focus: &[Item<'a>],
        resource: &'a Json,
        root: &'a Json,
        env: &'x Environment<'a>,
    ) -> Result<Vec<Item<'a>>> {
        let model = env.model;
        let evaluator = Evaluator {
            env,
            model,
            resource: root_item(model, resource),
            context: focus.to_vec(),
            root_resource: root_item(model, root),
            root_json: Some(root),
            now: Cell::new(None),
            defined: RefCell::new(Vec::new()),
            defined_count: Cell::new(0),
        };
        let this: &[Item<'a>] = focus;
        let scope = Scope {
            this,
            index: None,
            total: None,
        };
        let mut out = Buf::new();
        evaluator.eval(expr, scope, &mut out)?;
        Ok(out.into_vec())
    }

    pub(crate) fn strict(&self) -> bool {
        self.env.strict
    }

    pub(crate) fn now(&self) -> DateTime {
        match self.now.get() {
            Some(now) => now,
            None => {
                let now = DateTime::now();
                self.now.set(Some(now));
                now
            }
        }
    }

    /// Evaluates `expr` in `scope`, appending to `out`.
    pub(crate) fn eval(&self, expr: &Expr, scope: Scope<'_, 'a>, out: &mut Buf<'a>) -> Result<()> {
        match expr {
            Expr::Empty => Ok(()),
            Expr::Literal(item) => {
                out.push(item.clone());
                Ok(())
            }
            Expr::This => {
                out.extend(scope.this.iter().cloned());
                Ok(())
            }
            Expr::Index => {
                if let Some(index) = scope.index {
                    out.push(Item::integer(index as i64));
                }
                Ok(())
            }
            Expr::Total => {
                out.extend(scope.total.unwrap_or_default().iter().cloned());
                Ok(())
            }
            Expr::Variable(name) => self.variable(name, out),
            Expr::Path { start, steps } => self.path(start.as_deref(), steps, scope, out),
            Expr::Indexer { target, index } => self.indexer(target, index, scope, out),
            Expr::Call(call) => functions::call(self, call, scope, out),
            Expr::Negate(operand) => {
                let items = self.operand(operand, scope)?;
                operators::negate(self, &items, out)
            }
            Expr::Binary { op, left, right } => {
                operators::binary(self, *op, left, right, scope, out)
            }
            Expr::Union(operands) => operators::union(self, operands, scope, out),
            Expr::And(operands) => operators::and_or(self, true, operands, scope, out),
            Expr::Or(operands) => operators::and_or(self, false, operands, scope, out),
            Expr::TypeOp { op, operand, ty } => self.type_op(*op, operand, ty, scope, out),
        }
    }

    fn indexer(
        &self,
        target: &Expr,
        index: &Expr,
        scope: Scope<'_, 'a>,
        out: &mut Buf<'a>,
    ) -> Result<()> {
        let items = self.operand(target, scope)?;
        let index = self.operand(index, scope)?;
        let Some(i) = self.integer_arg(&index, "an index")? else {
            return Ok(());
        };
        if let Some(item) = usize::try_from(i).ok().and_then(|i| items.get(i)) {
            out.push(item.clone());
        }
        Ok(())
    }

    fn type_op(
        &self,
        op: TypeOp,
        operand: &Expr,
        ty: &TypeSpec,
        scope: Scope<'_, 'a>,
        out: &mut Buf<'a>,
    ) -> Result<()> {
        let items = self.operand(operand, scope)?;
        match op {
            TypeOp::Is => {
                if items.len() > 1 {
                    return Err(Error::execution("'is' needs a single item"));
                }
                if let Some(item) = items.first() {
                    out.push(Item::boolean(self.is_type(item, ty, false)?));
                }
            }
            // Lenient on purpose: over several items `as` keeps those of the type,
            // which R4 search parameters such as `(X.useContext.value as Quantity)` need.
            TypeOp::As => {
                for item in items.iter() {
                    if self.is_type(item, ty, true)? {
                        out.push(item.clone());
                    }
                }
            }
        }
        Ok(())
    }

    /// Evaluates an operand, lending literals and `$this` instead of copying them.
    pub(crate) fn operand<'s>(
        &self,
        expr: &'s Expr,
        scope: Scope<'s, 'a>,
    ) -> Result<Operand<'s, 'a>> {
        Ok(match expr {
            Expr::Literal(item) => Operand::Borrowed(std::slice::from_ref(item)),
            Expr::This => Operand::Borrowed(scope.this),
            _ => Operand::Owned(self.collect(expr, scope)?),
        })
    }

    /// Evaluates into a fresh buffer, as a variable scope (a function argument or an operand).
    pub(crate) fn collect(&self, expr: &Expr, scope: Scope<'_, 'a>) -> Result<Buf<'a>> {
        self.scoped(|| self.collect_chain(expr, scope))
    }

    /// Evaluates into a fresh buffer, keeping the variables it defines: for the input of a
    /// function or path, whose variables the rest of the chain sees.
    pub(crate) fn collect_chain(&self, expr: &Expr, scope: Scope<'_, 'a>) -> Result<Buf<'a>> {
        let mut out = Buf::new();
        self.eval(expr, scope, &mut out)?;
        Ok(out)
    }

    /// Runs `f` as a variable scope: variables it defines are dropped afterwards.
    pub(crate) fn scoped<R>(&self, f: impl FnOnce() -> Result<R>) -> Result<R> {
        let mark = self.defined_count.get();
        let result = f();
        if self.defined_count.get() > mark {
            self.defined.borrow_mut().truncate(mark);
            self.defined_count.set(mark);
        }
        result
    }

    /// `defineVariable(name)`: binds `name` to `value` for the rest of the scope.
    pub(crate) fn define(&self, name: &str, value: Buf<'a>) -> Result<()> {
        let reserved = matches!(
            name,
            "resource" | "rootResource" | "context" | "ucum" | "sct" | "loinc"
        );
        let taken = reserved
            || self.env.variable(name).is_some()
            || self.defined.borrow().iter().any(|(n, _)| &**n == name);
        if taken {
            return Err(Error::semantic(format!(
                "variable %{name} is already defined"
            )));
        }
        self.defined.borrow_mut().push((name.into(), value));
        self.defined_count.set(self.defined_count.get() + 1);
        Ok(())
    }

    fn variable(&self, name: &str, out: &mut Buf<'a>) -> Result<()> {
        match name {
            "resource" => {
                out.extend(self.resource.iter().cloned());
                Ok(())
            }
            "context" => {
                out.extend(self.context.iter().cloned());
                Ok(())
            }
            "rootResource" => {
                out.extend(self.root_resource.iter().cloned());
                Ok(())
            }
            _ if self.defined_count.get() > 0
                && self.defined.borrow().iter().any(|(n, _)| &**n == name) =>
            {
                let defined = self.defined.borrow();
                if let Some((_, items)) = defined.iter().rev().find(|(n, _)| &**n == name) {
                    out.extend(items.iter().cloned());
                }
                Ok(())
            }
            _ => match self.env.variable(name) {
                Some(Variable::Items(items)) => {
                    out.extend(items.iter().cloned());
                    Ok(())
                }
                Some(Variable::Unsupported) => Err(Error::execution(format!(
                    "variable %{name} is a JSON object given by value; pass it as a node variable"
                ))),
                None => Err(Error::semantic(format!("unknown variable %{name}"))),
            },
        }
    }

    /// A path: the start (or `$this`), then member steps. A path without start may begin with
    /// the type of the context (`Patient.name`).
    fn path(
        &self,
        start: Option<&Expr>,
        steps: &[crate::ast::Step],
        scope: Scope<'_, 'a>,
        out: &mut Buf<'a>,
    ) -> Result<()> {
        if self.strict() {
            self.check_cast_member(start, steps)?;
        }
        let started;
        let (input, steps): (&[Item<'a>], &[crate::ast::Step]) = match start {
            Some(start) => {
                started = self.collect_chain(start, scope)?;
                (&started, steps)
            }
            None => {
                let Some((first, rest)) = steps.split_first() else {
                    return Ok(());
                };
                if !first.name.starts_with(|c: char| c.is_ascii_uppercase()) {
                    (scope.this, steps)
                } else if scope
                    .this
                    .iter()
                    .all(|item| self.has_type_named(item, &first.name))
                    && !scope.this.is_empty()
                {
                    (scope.this, rest)
                } else if let Some(matched) = self.type_prefix(scope.this, &first.name)? {
                    started = matched;
                    (&started, rest)
                } else {
                    (scope.this, steps)
                }
            }
        };
        for item in input {
            self.walk(item, steps, out)?;
        }
        Ok(())
    }

    /// Strict mode checks without data that a member after `as T` or `ofType(T)` is an
    /// element of `T`: `(Observation.value as Period).unit` is an error even when the value is
    /// a Quantity.
    fn check_cast_member(&self, start: Option<&Expr>, steps: &[crate::ast::Step]) -> Result<()> {
        let spec = match start {
            Some(Expr::TypeOp {
                op: TypeOp::As, ty, ..
            }) => ty,
            Some(Expr::Call(call))
                if matches!(call.func, crate::ast::Func::As | crate::ast::Func::OfType) =>
            {
                match &call.type_arg {
                    Some(ty) => ty,
                    None => return Ok(()),
                }
            }
            _ => return Ok(()),
        };
        let ty = self.model.type_id(&spec.name);
        if let Some(step) = steps.first() {
            if ty.is_known()
                && spec.namespace != Some(Namespace::System)
                && self.model.member(ty, &step.name).is_none()
            {
                return Err(Error::semantic(format!(
                    "'{}' is not an element of {}",
                    step.name, spec.name
                )));
            }
        }
        Ok(())
    }

    /// When `name` is a type name: the items of the context of that type. `None` when it is not
    /// a type name, so the path navigates a member of that name instead.
    fn type_prefix(&self, this: &[Item<'a>], name: &str) -> Result<Option<Buf<'a>>> {
        let matched: Buf<'a> = this
            .iter()
            .filter(|item| self.has_type_named(item, name))
            .cloned()
            .collect();
        if !matched.is_empty() {
            return Ok(Some(matched));
        }
        if self.model.has_type(name) {
            if self.strict() {
                return Err(Error::semantic(format!("the context is not a {name}")));
            }
            return Ok(Some(Buf::new()));
        }
        Ok(None)
    }

    /// Whether a node's type is `name` or derives from it.
    fn has_type_named(&self, item: &Item<'a>, name: &str) -> bool {
        match item {
            Item::Node(node) => {
                node.type_name == name
                    || (node.ty.is_known() && self.model.derives_from(node.ty, name))
            }
            Item::Value(_) => false,
        }
    }

    /// Navigates the remaining steps from one item.
    fn walk(&self, item: &Item<'a>, steps: &[crate::ast::Step], out: &mut Buf<'a>) -> Result<()> {
        let Some((step, rest)) = steps.split_first() else {
            out.push(item.clone());
            return Ok(());
        };
        match item {
            Item::Node(node) => self.member(
                node,
                &step.name,
                &step.ext_name,
                &step.cache,
                &mut |child| self.walk(&child, rest, out),
            ),
            // Computed type information and quantities have properties too.
            Item::Value(value @ (Value::Type { .. } | Value::Quantity(_))) => {
                let field = match (value, &*step.name) {
                    (Value::Type { namespace, .. }, "namespace") => Some(Item::string(namespace)),
                    (Value::Type { name, .. }, "name") => {
                        Some(Item::Value(Value::String(name.clone())))
                    }
                    (Value::Quantity(q), "value") => Some(Item::Value(Value::Decimal(q.value))),
                    (Value::Quantity(q), "unit") => {
                        Some(Item::Value(Value::String(q.unit.clone())))
                    }
                    _ => None,
                };
                match field {
                    Some(field) => self.walk(&field, rest, out),
                    None => Ok(()),
                }
            }
            Item::Value(_) if self.strict() => Err(Error::semantic(format!(
                "a computed value has no element '{}'",
                step.name
            ))),
            Item::Value(_) => Ok(()),
        }
    }

    /// An optional integer argument that must be a single item.
    pub(crate) fn integer_arg(&self, items: &[Item<'a>], what: &str) -> Result<Option<i64>> {
        match items {
            [] => Ok(None),
            [item] => match item.prim(self.model) {
                Some(crate::item::Prim::Integer(i)) => Ok(Some(i)),
                _ => Err(Error::execution(format!("{what} must be an integer"))),
            },
            _ => Err(Error::execution(format!("{what} must be a single integer"))),
        }
    }

    /// Whether `item` is of the type `spec` names. `cast` selects the rules of `as` and
    /// `ofType`, which do not let a FHIR primitive pass as its base type (`code` is not `as`
    /// a `string`), matching the reference implementations.
    pub(crate) fn is_type(&self, item: &Item<'a>, spec: &TypeSpec, cast: bool) -> Result<bool> {
        let name = &*spec.name;
        let system_name = SYSTEM_TYPES.contains(&name);
        let known = system_name || self.model.has_type(name);
        if !known && (self.model.has_type("Resource") || spec.namespace == Some(Namespace::Fhir)) {
            return Err(Error::execution(format!("unknown type '{name}'")));
        }
        Ok(match item {
            Item::Value(value) => {
                spec.namespace != Some(Namespace::Fhir)
                    && (value.type_name() == name || name == "Any")
                    && system_name
            }
            Item::Node(node) => {
                if spec.namespace == Some(Namespace::System) {
                    return Ok(false);
                }
                if node.type_name == name {
                    return Ok(true);
                }
                if !node.ty.is_known() {
                    return Ok(false);
                }
                let target = self.model.type_id(name);
                if cast && matches!(self.model.kind(target), Some(TypeKind::Primitive(_))) {
                    return Ok(false);
                }
                self.model.derives_from(node.ty, name)
            }
        })
    }

    /// A node's FHIR type as `type()` reports it.
    pub(crate) fn node_type_info(node: &Node<'a>) -> Value {
        Value::Type {
            namespace: "FHIR",
            name: std::sync::Arc::from(node.type_name),
        }
    }
}
