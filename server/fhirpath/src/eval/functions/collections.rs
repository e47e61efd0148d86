//! Existence, filtering, subsetting, combining, aggregation, sorting and the tree and utility
//! functions that work on whole collections.

use std::cmp::Ordering;

use rust_decimal::Decimal;

use super::Ctx;
use crate::ast::{Expr, Func};
use crate::error::{Error, Result};
use crate::eval::compare::Distinct;
use crate::eval::operators::{single, truth};
use crate::eval::{Buf, Scope};
use crate::item::{Item, Prim, Value};

/// `repeat()` gives up after this many items, so a projection that always yields something new
/// (`repeat($this + 1)`) ends with an error instead of running out of memory.
const MAX_REPEAT_ITEMS: usize = 50_000;

/// Dispatches; every arm is a call, so the frame on the recursion path of nested lambdas
/// (`where(… where(…))`) stays small.
pub(super) fn call<'a>(ctx: &Ctx<'_, '_, 'a>, input: &[Item<'a>], out: &mut Buf<'a>) -> Result<()> {
    match ctx.call.func {
        Func::Empty => out.push(Item::boolean(input.is_empty())),
        Func::Exists => exists(ctx, input, out)?,
        Func::All => all(ctx, input, out)?,
        Func::AllTrue | Func::AnyTrue | Func::AllFalse | Func::AnyFalse => {
            boolean_aggregate(ctx, input, out)?
        }
        Func::SubsetOf | Func::SupersetOf => subset(ctx, input, out)?,
        Func::Count => out.push(Item::integer(input.len() as i64)),
        Func::Distinct => distinct(ctx, input, out),
        Func::IsDistinct => is_distinct(ctx, input, out),
        Func::Where => filter(ctx, input, out)?,
        Func::Select => select(ctx, input, out)?,
        Func::Repeat => repeat(ctx, input, true, out)?,
        Func::RepeatAll => repeat(ctx, input, false, out)?,
        Func::Single => out.extend(single(input, "single()")?.cloned()),
        Func::First => out.extend(input.first().cloned()),
        Func::Last => out.extend(input.last().cloned()),
        Func::Tail => out.extend(input.iter().skip(1).cloned()),
        Func::Skip | Func::Take => skip_or_take(ctx, input, out)?,
        Func::Intersect | Func::Exclude => intersect_or_exclude(ctx, input, out)?,
        Func::Union | Func::Combine => union_or_combine(ctx, input, out)?,
        Func::Iif => iif(ctx, input, out)?,
        Func::Not => not(ctx, input, out)?,
        Func::Aggregate => aggregate(ctx, input, out)?,
        Func::Sort => sort(ctx, input, out)?,
        Func::Trace => trace(ctx, input, out)?,
        Func::Children => children(ctx, input, out)?,
        Func::Descendants => ctx.ev.descendants(input, out)?,
        Func::Sum | Func::Min | Func::Max | Func::Avg => statistics(ctx, input, out)?,
        Func::DefineVariable => define_variable(ctx, input, out)?,
        other => {
            return Err(Error::semantic(format!(
                "{}() is not a collection function",
                other.name()
            )))
        }
    }
    Ok(())
}

/// Whether the criteria hold for some (`any`) or every item.
fn test_items<'a>(
    ctx: &Ctx<'_, '_, 'a>,
    criteria: &Expr,
    input: &[Item<'a>],
    any: bool,
) -> Result<bool> {
    for (i, item) in input.iter().enumerate() {
        let holds = truth(ctx.ev, &ctx.lambda(criteria, item, i)?, false)? == Some(true);
        if holds == any {
            return Ok(any);
        }
    }
    Ok(!any)
}

fn exists<'a>(ctx: &Ctx<'_, '_, 'a>, input: &[Item<'a>], out: &mut Buf<'a>) -> Result<()> {
    let found = match ctx.call.args.first() {
        None => !input.is_empty(),
        Some(criteria) => test_items(ctx, criteria, input, true)?,
    };
    out.push(Item::boolean(found));
    Ok(())
}

fn all<'a>(ctx: &Ctx<'_, '_, 'a>, input: &[Item<'a>], out: &mut Buf<'a>) -> Result<()> {
    let all = test_items(ctx, first_arg(ctx)?, input, false)?;
    out.push(Item::boolean(all));
    Ok(())
}

fn boolean_aggregate<'a>(
    ctx: &Ctx<'_, '_, 'a>,
    input: &[Item<'a>],
    out: &mut Buf<'a>,
) -> Result<()> {
    let func = ctx.call.func;
    let mut values = Vec::with_capacity(input.len());
    for item in input {
        match item.prim(ctx.ev.model) {
            Some(Prim::Boolean(b)) => values.push(b),
            _ => {
                return Err(Error::execution(format!(
                    "{}() needs Booleans",
                    func.name()
                )))
            }
        }
    }
    let result = match func {
        Func::AllTrue => values.iter().all(|b| *b),
        Func::AnyTrue => values.iter().any(|b| *b),
        Func::AllFalse => values.iter().all(|b| !*b),
        _ => values.iter().any(|b| !*b),
    };
    out.push(Item::boolean(result));
    Ok(())
}

fn subset<'a>(ctx: &Ctx<'_, '_, 'a>, input: &[Item<'a>], out: &mut Buf<'a>) -> Result<()> {
    let ev = ctx.ev;
    let other = ctx.arg(0)?;
    let (small, large): (&[Item<'a>], &[Item<'a>]) = if ctx.call.func == Func::SubsetOf {
        (input, &other)
    } else {
        (&other, input)
    };
    let large = ev.lookup(large);
    out.push(Item::boolean(
        small.iter().all(|item| ev.lookup_contains(&large, item)),
    ));
    Ok(())
}

fn distinct<'a>(ctx: &Ctx<'_, '_, 'a>, input: &[Item<'a>], out: &mut Buf<'a>) {
    let mut seen = Distinct::new(out);
    for item in input {
        ctx.ev.push_distinct(&mut seen, out, item.clone());
    }
}

fn is_distinct<'a>(ctx: &Ctx<'_, '_, 'a>, input: &[Item<'a>], out: &mut Buf<'a>) {
    let mut scratch = Buf::new();
    let mut seen = Distinct::new(&scratch);
    let distinct = input
        .iter()
        .all(|item| ctx.ev.push_distinct(&mut seen, &mut scratch, item.clone()));
    out.push(Item::boolean(distinct));
}

fn filter<'a>(ctx: &Ctx<'_, '_, 'a>, input: &[Item<'a>], out: &mut Buf<'a>) -> Result<()> {
    let criteria = first_arg(ctx)?;
    for (i, item) in input.iter().enumerate() {
        if truth(ctx.ev, &ctx.lambda(criteria, item, i)?, false)? == Some(true) {
            out.push(item.clone());
        }
    }
    Ok(())
}

fn select<'a>(ctx: &Ctx<'_, '_, 'a>, input: &[Item<'a>], out: &mut Buf<'a>) -> Result<()> {
    let projection = first_arg(ctx)?;
    for (i, item) in input.iter().enumerate() {
        ctx.ev
            .scoped(|| ctx.ev.eval(projection, Scope::item(item, i), out))?;
    }
    Ok(())
}

fn skip_or_take<'a>(ctx: &Ctx<'_, '_, 'a>, input: &[Item<'a>], out: &mut Buf<'a>) -> Result<()> {
    let n = usize::try_from(ctx.integer_arg(0)?.unwrap_or(0)).unwrap_or(0);
    if ctx.call.func == Func::Skip {
        out.extend(input.iter().skip(n).cloned());
    } else {
        out.extend(input.iter().take(n).cloned());
    }
    Ok(())
}

fn intersect_or_exclude<'a>(
    ctx: &Ctx<'_, '_, 'a>,
    input: &[Item<'a>],
    out: &mut Buf<'a>,
) -> Result<()> {
    let ev = ctx.ev;
    let other = ctx.arg(0)?;
    let other = ev.lookup(&other);
    if ctx.call.func == Func::Exclude {
        out.extend(
            input
                .iter()
                .filter(|item| !ev.lookup_contains(&other, item))
                .cloned(),
        );
        return Ok(());
    }
    let mut seen = Distinct::new(out);
    for item in input {
        if ev.lookup_contains(&other, item) {
            ev.push_distinct(&mut seen, out, item.clone());
        }
    }
    Ok(())
}

fn union_or_combine<'a>(
    ctx: &Ctx<'_, '_, 'a>,
    input: &[Item<'a>],
    out: &mut Buf<'a>,
) -> Result<()> {
    let other = ctx.arg(0)?;
    if ctx.call.func == Func::Combine {
        out.extend(input.iter().chain(other.iter()).cloned());
        return Ok(());
    }
    let mut seen = Distinct::new(out);
    for item in input.iter().chain(other.iter()).cloned() {
        ctx.ev.push_distinct(&mut seen, out, item);
    }
    Ok(())
}

/// `defineVariable(name [, value])`: the value is evaluated on the whole input; the input
/// passes through.
fn define_variable<'a>(ctx: &Ctx<'_, '_, 'a>, input: &[Item<'a>], out: &mut Buf<'a>) -> Result<()> {
    let name = match ctx.call.args.first() {
        Some(Expr::Literal(Item::Value(Value::String(name)))) => name.clone(),
        _ => {
            return Err(Error::semantic(
                "defineVariable() needs a string literal name",
            ))
        }
    };
    let value = match ctx.call.args.get(1) {
        Some(expr) => ctx.ev.collect(
            expr,
            Scope {
                this: input,
                index: None,
                total: None,
            },
        )?,
        None => input.iter().cloned().collect(),
    };
    ctx.ev.define(&name, value)?;
    out.extend(input.iter().cloned());
    Ok(())
}

fn not<'a>(ctx: &Ctx<'_, '_, 'a>, input: &[Item<'a>], out: &mut Buf<'a>) -> Result<()> {
    if let Some(b) = truth(ctx.ev, input, false)? {
        out.push(Item::boolean(!b));
    }
    Ok(())
}

fn trace<'a>(ctx: &Ctx<'_, '_, 'a>, input: &[Item<'a>], out: &mut Buf<'a>) -> Result<()> {
    let name = ctx.string_arg(0)?.unwrap_or_default();
    if let Some(trace) = ctx.ev.env.trace {
        match ctx.call.args.get(1) {
            Some(projection) => {
                let mut projected = Buf::new();
                for (i, item) in input.iter().enumerate() {
                    ctx.ev
                        .collect(projection, Scope::item(item, i))
                        .map(|items| projected.extend(items))?;
                }
                trace(&name, &projected);
            }
            None => trace(&name, input),
        }
    }
    out.extend(input.iter().cloned());
    Ok(())
}

fn children<'a>(ctx: &Ctx<'_, '_, 'a>, input: &[Item<'a>], out: &mut Buf<'a>) -> Result<()> {
    for item in input {
        if let Item::Node(node) = item {
            ctx.ev.children(node, &mut |child| {
                out.push(child);
                Ok(())
            })?;
        }
    }
    Ok(())
}

fn first_arg<'c>(ctx: &Ctx<'c, '_, '_>) -> Result<&'c Expr> {
    ctx.call
        .args
        .first()
        .ok_or_else(|| Error::semantic(format!("{}() needs an argument", ctx.call.func.name())))
}

fn repeat<'a>(
    ctx: &Ctx<'_, '_, 'a>,
    input: &[Item<'a>],
    unique: bool,
    out: &mut Buf<'a>,
) -> Result<()> {
    let projection = first_arg(ctx)?;
    let start = out.len();
    let mut seen = Distinct::new(out);
    let mut queue: Vec<Item<'a>> = input.to_vec();
    let mut next = 0;
    while next < queue.len() {
        let item = queue[next].clone();
        next += 1;
        for child in ctx.lambda(projection, &item, next - 1)? {
            if out.len() - start >= MAX_REPEAT_ITEMS {
                return Err(Error::execution("repeat() produced too many items"));
            }
            let added = if unique {
                ctx.ev.push_distinct(&mut seen, out, child.clone())
            } else {
                out.push(child.clone());
                true
            };
            if added {
                queue.push(child);
            }
        }
    }
    Ok(())
}

fn iif<'a>(ctx: &Ctx<'_, '_, 'a>, input: &[Item<'a>], out: &mut Buf<'a>) -> Result<()> {
    let scope = match ctx.call.target {
        Some(_) => {
            if input.len() > 1 {
                return Err(Error::execution("iif() needs at most one input item"));
            }
            Scope {
                this: input,
                index: None,
                total: None,
            }
        }
        None => ctx.scope,
    };
    let args = &ctx.call.args;
    let criterion = ctx.ev.collect(&args[0], scope)?;
    let chosen = match criterion.as_slice() {
        [] => false,
        [item] => match item.prim(ctx.ev.model) {
            Some(Prim::Boolean(b)) => b,
            _ => return Err(Error::semantic("the criterion of iif() must be a Boolean")),
        },
        _ => {
            return Err(Error::semantic(
                "the criterion of iif() must be a single Boolean",
            ))
        }
    };
    let branch = if chosen { args.get(1) } else { args.get(2) };
    if let Some(branch) = branch {
        ctx.ev.scoped(|| ctx.ev.eval(branch, scope, out))?;
    }
    Ok(())
}

fn aggregate<'a>(ctx: &Ctx<'_, '_, 'a>, input: &[Item<'a>], out: &mut Buf<'a>) -> Result<()> {
    let expr = first_arg(ctx)?;
    let mut total: Buf<'a> = ctx.arg(1)?.iter().cloned().collect();
    for (i, item) in input.iter().enumerate() {
        let scope = Scope {
            this: std::slice::from_ref(item),
            index: Some(i),
            total: Some(&total),
        };
        total = ctx.ev.collect(expr, scope)?;
    }
    out.extend(total);
    Ok(())
}

/// Orders single-item sort keys; empty keys sort after all others (so first when descending),
/// incomparable ones stay in place.
fn key_order<'a>(ctx: &Ctx<'_, '_, 'a>, a: &[Item<'a>], b: &[Item<'a>]) -> Ordering {
    match (a.first(), b.first()) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Greater,
        (Some(_), None) => Ordering::Less,
        (Some(x), Some(y)) => ctx
            .ev
            .items_order(x, y)
            .ok()
            .flatten()
            .unwrap_or(Ordering::Equal),
    }
}

fn sort<'a>(ctx: &Ctx<'_, '_, 'a>, input: &[Item<'a>], out: &mut Buf<'a>) -> Result<()> {
    // A key written `-key` sorts descending.
    let keys: Vec<(&Expr, bool)> = ctx
        .call
        .args
        .iter()
        .map(|arg| match arg {
            Expr::Negate(inner) => (&**inner, true),
            other => (other, false),
        })
        .collect();
    let mut rows: Vec<(Vec<Buf<'a>>, Item<'a>)> = Vec::with_capacity(input.len());
    for (i, item) in input.iter().enumerate() {
        let mut values = Vec::with_capacity(keys.len().max(1));
        if keys.is_empty() {
            values.push(std::iter::once(item.clone()).collect());
        }
        for (key, _) in &keys {
            values.push(ctx.lambda(key, item, i)?);
        }
        rows.push((values, item.clone()));
    }
    rows.sort_by(|(a, _), (b, _)| {
        for (k, (x, y)) in a.iter().zip(b).enumerate() {
            let descending = keys.get(k).is_some_and(|(_, d)| *d);
            let ordering = key_order(ctx, x, y);
            let ordering = if descending {
                ordering.reverse()
            } else {
                ordering
            };
            if ordering != Ordering::Equal {
                return ordering;
            }
        }
        Ordering::Equal
    });
    out.extend(rows.into_iter().map(|(_, item)| item));
    Ok(())
}

/// `sum()`, `min()`, `max()`, `avg()` over numbers (and, for `min`/`max`, other ordered types).
fn statistics<'a>(ctx: &Ctx<'_, '_, 'a>, input: &[Item<'a>], out: &mut Buf<'a>) -> Result<()> {
    let func = ctx.call.func;
    if input.is_empty() {
        return Ok(());
    }
    if matches!(func, Func::Min | Func::Max) {
        let mut best = &input[0];
        for item in &input[1..] {
            let ordering = ctx.ev.items_order(item, best)?;
            let better = match func {
                Func::Min => ordering == Some(Ordering::Less),
                _ => ordering == Some(Ordering::Greater),
            };
            if better {
                best = item;
            }
        }
        out.push(best.clone());
        return Ok(());
    }
    let mut integer_sum: Option<i64> = Some(0);
    let mut sum = Decimal::ZERO;
    for item in input {
        match item.prim(ctx.ev.model) {
            Some(Prim::Integer(i)) => {
                integer_sum = integer_sum.and_then(|s| s.checked_add(i));
                sum = sum
                    .checked_add(Decimal::from(i))
                    .ok_or_else(|| Error::execution("sum overflow"))?;
            }
            Some(Prim::Decimal(d)) => {
                integer_sum = None;
                sum = sum
                    .checked_add(d)
                    .ok_or_else(|| Error::execution("sum overflow"))?;
            }
            _ => return Err(Error::execution(format!("{}() needs numbers", func.name()))),
        }
    }
    let value = match (func, integer_sum) {
        (Func::Sum, Some(i)) => Value::Integer(i),
        (Func::Sum, None) => Value::Decimal(sum),
        _ => match sum.checked_div(Decimal::from(input.len() as i64)) {
            Some(avg) => Value::Decimal(avg),
            None => return Ok(()),
        },
    };
    out.push(Item::Value(value));
    Ok(())
}
