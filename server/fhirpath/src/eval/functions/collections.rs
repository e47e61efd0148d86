//! Existence, filtering, subsetting, combining, aggregation, sorting and the tree and utility
//! functions that work on whole collections.

use std::cmp::Ordering;

use rust_decimal::Decimal;

use super::Ctx;
use crate::ast::{Expr, Func};
use crate::error::{Error, Result};
use crate::eval::operators::{single, truth};
use crate::eval::{Buf, Scope};
use crate::item::{Item, Prim, Value};

/// `repeat()` gives up after this many items, so a projection that always yields something new
/// (`repeat($this + 1)`) ends with an error instead of running out of memory.
const MAX_REPEAT_ITEMS: usize = 100_000;

pub(super) fn call<'a>(ctx: &Ctx<'_, '_, 'a>, input: &[Item<'a>], out: &mut Buf<'a>) -> Result<()> {
    let ev = ctx.ev;
    let func = ctx.call.func;
    match func {
        Func::Empty => out.push(Item::boolean(input.is_empty())),
        Func::Exists => {
            let found = match ctx.call.args.first() {
                None => !input.is_empty(),
                Some(criteria) => {
                    let mut found = false;
                    for (i, item) in input.iter().enumerate() {
                        if truth(ev, &ctx.lambda(criteria, item, i)?, false)? == Some(true) {
                            found = true;
                            break;
                        }
                    }
                    found
                }
            };
            out.push(Item::boolean(found));
        }
        Func::All => {
            let criteria = first_arg(ctx)?;
            let mut all = true;
            for (i, item) in input.iter().enumerate() {
                if truth(ev, &ctx.lambda(criteria, item, i)?, false)? != Some(true) {
                    all = false;
                    break;
                }
            }
            out.push(Item::boolean(all));
        }
        Func::AllTrue | Func::AnyTrue | Func::AllFalse | Func::AnyFalse => {
            let mut values = Vec::with_capacity(input.len());
            for item in input {
                match item.prim(ev.model) {
                    Some(Prim::Boolean(b)) => values.push(b),
                    _ => return Err(Error::execution(format!("{}() needs Booleans", func.name()))),
                }
            }
            let result = match func {
                Func::AllTrue => values.iter().all(|b| *b),
                Func::AnyTrue => values.iter().any(|b| *b),
                Func::AllFalse => values.iter().all(|b| !*b),
                _ => values.iter().any(|b| !*b),
            };
            out.push(Item::boolean(result));
        }
        Func::SubsetOf | Func::SupersetOf => {
            let other = ctx.arg(0)?;
            let (small, large): (&[Item<'a>], &[Item<'a>]) = if func == Func::SubsetOf { (input, &other) } else { (&other, input) };
            out.push(Item::boolean(small.iter().all(|item| ev.contains_item(large, item))));
        }
        Func::Count => out.push(Item::integer(input.len() as i64)),
        Func::Distinct => {
            let start = out.len();
            for item in input {
                if !ev.contains_item(&out[start..], item) {
                    out.push(item.clone());
                }
            }
        }
        Func::IsDistinct => {
            let distinct = input.iter().enumerate().all(|(i, item)| !ev.contains_item(&input[..i], item));
            out.push(Item::boolean(distinct));
        }
        Func::Where => {
            let criteria = first_arg(ctx)?;
            for (i, item) in input.iter().enumerate() {
                if truth(ev, &ctx.lambda(criteria, item, i)?, false)? == Some(true) {
                    out.push(item.clone());
                }
            }
        }
        Func::Select => {
            let projection = first_arg(ctx)?;
            for (i, item) in input.iter().enumerate() {
                ev.eval(projection, Scope::item(item, i), out)?;
            }
        }
        Func::Repeat | Func::RepeatAll => repeat(ctx, input, func == Func::Repeat, out)?,
        Func::Single => {
            if let Some(item) = single(input, "single()")? {
                out.push(item.clone());
            }
        }
        Func::First => out.extend(input.first().cloned()),
        Func::Last => out.extend(input.last().cloned()),
        Func::Tail => out.extend(input.iter().skip(1).cloned()),
        Func::Skip => {
            let n = ctx.integer_arg(0)?.unwrap_or(0);
            out.extend(input.iter().skip(usize::try_from(n).unwrap_or(0)).cloned());
        }
        Func::Take => {
            let n = ctx.integer_arg(0)?.unwrap_or(0);
            out.extend(input.iter().take(usize::try_from(n).unwrap_or(0)).cloned());
        }
        Func::Intersect => {
            let other = ctx.arg(0)?;
            let start = out.len();
            for item in input {
                if ev.contains_item(&other, item) && !ev.contains_item(&out[start..], item) {
                    out.push(item.clone());
                }
            }
        }
        Func::Exclude => {
            let other = ctx.arg(0)?;
            out.extend(input.iter().filter(|item| !ev.contains_item(&other, item)).cloned());
        }
        Func::Union => {
            let other = ctx.arg(0)?;
            let start = out.len();
            for item in input.iter().chain(other.iter()) {
                if !ev.contains_item(&out[start..], item) {
                    out.push(item.clone());
                }
            }
        }
        Func::Combine => {
            let other = ctx.arg(0)?;
            out.extend(input.iter().cloned());
            out.extend(other);
        }
        Func::Iif => iif(ctx, input, out)?,
        Func::Not => {
            if let Some(b) = truth(ev, input, false)? {
                out.push(Item::boolean(!b));
            }
        }
        Func::Aggregate => aggregate(ctx, input, out)?,
        Func::Sort => sort(ctx, input, out)?,
        Func::Trace => {
            let name = ctx.string_arg(0)?.unwrap_or_default();
            if let Some(trace) = ctx.ev.env.trace {
                match ctx.call.args.get(1) {
                    Some(projection) => {
                        let mut projected = Buf::new();
                        for (i, item) in input.iter().enumerate() {
                            ev.eval(projection, Scope::item(item, i), &mut projected)?;
                        }
                        trace(&name, &projected);
                    }
                    None => trace(&name, input),
                }
            }
            out.extend(input.iter().cloned());
        }
        Func::Children => {
            for item in input {
                if let Item::Node(node) = item {
                    ev.children(node, &mut |child| {
                        out.push(child);
                        Ok(())
                    })?;
                }
            }
        }
        Func::Descendants => ev.descendants(input, out)?,
        Func::Sum | Func::Min | Func::Max | Func::Avg => statistics(ctx, input, out)?,
        _ => return Err(Error::semantic(format!("{}() is not a collection function", func.name()))),
    }
    Ok(())
}

fn first_arg<'c>(ctx: &Ctx<'c, '_, '_>) -> Result<&'c Expr> {
    ctx.call.args.first().ok_or_else(|| Error::semantic(format!("{}() needs an argument", ctx.call.func.name())))
}

fn repeat<'a>(ctx: &Ctx<'_, '_, 'a>, input: &[Item<'a>], unique: bool, out: &mut Buf<'a>) -> Result<()> {
    let projection = first_arg(ctx)?;
    let start = out.len();
    let mut queue: Vec<Item<'a>> = input.to_vec();
    let mut next = 0;
    while next < queue.len() {
        let item = queue[next].clone();
        next += 1;
        for child in ctx.lambda(projection, &item, next - 1)? {
            if unique && ctx.ev.contains_item(&out[start..], &child) {
                continue;
            }
            if out.len() - start >= MAX_REPEAT_ITEMS {
                return Err(Error::execution("repeat() produced too many items"));
            }
            out.push(child.clone());
            queue.push(child);
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
            Scope { this: input, index: None, total: None }
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
        _ => return Err(Error::semantic("the criterion of iif() must be a single Boolean")),
    };
    let branch = if chosen { args.get(1) } else { args.get(2) };
    if let Some(branch) = branch {
        ctx.ev.eval(branch, scope, out)?;
    }
    Ok(())
}

fn aggregate<'a>(ctx: &Ctx<'_, '_, 'a>, input: &[Item<'a>], out: &mut Buf<'a>) -> Result<()> {
    let expr = first_arg(ctx)?;
    let mut total = ctx.arg(1)?;
    for (i, item) in input.iter().enumerate() {
        let scope = Scope { this: std::slice::from_ref(item), index: Some(i), total: Some(&total) };
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
        (Some(x), Some(y)) => ctx.ev.items_order(x, y).ok().flatten().unwrap_or(Ordering::Equal),
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
            let ordering = if descending { ordering.reverse() } else { ordering };
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
                sum = sum.checked_add(Decimal::from(i)).ok_or_else(|| Error::execution("sum overflow"))?;
            }
            Some(Prim::Decimal(d)) => {
                integer_sum = None;
                sum = sum.checked_add(d).ok_or_else(|| Error::execution("sum overflow"))?;
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
