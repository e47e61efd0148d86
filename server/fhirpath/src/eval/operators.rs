//! Binary and unary operators: three-valued logic, equality, comparison, membership, union,
//! arithmetic on numbers, quantities, dates and times, and string concatenation.

use std::cmp::Ordering;
use std::sync::Arc;

use rust_decimal::Decimal;

use super::compare::Distinct;
use super::{Buf, Evaluator, Scope};
use crate::ast::{BinaryOp, Expr};
use crate::error::{Error, Result};
use crate::item::{Item, Prim, Value};
use crate::number;
use crate::quantity::Quantity;

/// A collection as a Boolean: empty is unknown; a single Boolean is itself; a single other
/// item is `true` unless `exact`; more than one item is an error.
pub(crate) fn truth<'a>(
    ev: &Evaluator<'_, 'a>,
    items: &[Item<'a>],
    exact: bool,
) -> Result<Option<bool>> {
    match items {
        [] => Ok(None),
        [item] => match item.prim(ev.model) {
            Some(Prim::Boolean(b)) => Ok(Some(b)),
            _ if exact => Err(Error::execution(format!(
                "expected a Boolean, found {}",
                item.type_name()
            ))),
            _ => Ok(Some(true)),
        },
        _ => Err(Error::execution(
            "expected a single Boolean, found a collection",
        )),
    }
}

/// The single item of an operand, or `None` when it is empty.
pub(crate) fn single<'b, 'a>(items: &'b [Item<'a>], what: &str) -> Result<Option<&'b Item<'a>>> {
    match items {
        [] => Ok(None),
        [item] => Ok(Some(item)),
        _ => Err(Error::execution(format!(
            "{what} needs a single item, found {}",
            items.len()
        ))),
    }
}

fn push_bool<'a>(out: &mut Buf<'a>, value: Option<bool>) {
    if let Some(b) = value {
        out.push(Item::boolean(b));
    }
}

/// Evaluates `left op right`.
pub(crate) fn binary<'a>(
    ev: &Evaluator<'_, 'a>,
    op: BinaryOp,
    left: &Expr,
    right: &Expr,
    scope: Scope<'_, 'a>,
    out: &mut Buf<'a>,
) -> Result<()> {
    if matches!(op, BinaryOp::Xor | BinaryOp::Implies) {
        return logic(ev, op, left, right, scope, out);
    }
    let a = ev.operand(left, scope)?;
    let b = ev.operand(right, scope)?;
    match op {
        BinaryOp::Equal => push_bool(out, ev.collections_equal(&a, &b)),
        BinaryOp::NotEqual => push_bool(out, ev.collections_equal(&a, &b).map(|e| !e)),
        BinaryOp::Equivalent => out.push(Item::boolean(ev.collections_equivalent(&a, &b))),
        BinaryOp::NotEquivalent => out.push(Item::boolean(!ev.collections_equivalent(&a, &b))),
        BinaryOp::Less | BinaryOp::LessOrEqual | BinaryOp::Greater | BinaryOp::GreaterOrEqual => {
            push_bool(out, compare(ev, op, &a, &b)?);
        }
        BinaryOp::In => push_bool(out, membership(ev, &a, &b)?),
        BinaryOp::Contains => push_bool(out, membership(ev, &b, &a)?),
        BinaryOp::Concatenate => out.push(concatenate(ev, &a, &b)?),
        _ => {
            let (Some(x), Some(y)) = (single(&a, "arithmetic")?, single(&b, "arithmetic")?) else {
                return Ok(());
            };
            out.extend(arithmetic(ev, op, x, y)?.map(Item::Value));
        }
    }
    Ok(())
}

fn compare<'a>(
    ev: &Evaluator<'_, 'a>,
    op: BinaryOp,
    a: &[Item<'a>],
    b: &[Item<'a>],
) -> Result<Option<bool>> {
    let (Some(x), Some(y)) = (single(a, "a comparison")?, single(b, "a comparison")?) else {
        return Ok(None);
    };
    Ok(ev.items_order(x, y)?.map(|ordering| match op {
        BinaryOp::Less => ordering == Ordering::Less,
        BinaryOp::LessOrEqual => ordering != Ordering::Greater,
        BinaryOp::Greater => ordering == Ordering::Greater,
        _ => ordering != Ordering::Less,
    }))
}

/// `element in collection`.
fn membership<'a>(
    ev: &Evaluator<'_, 'a>,
    element: &[Item<'a>],
    collection: &[Item<'a>],
) -> Result<Option<bool>> {
    Ok(single(element, "membership")?.map(|item| ev.contains_item(collection, item)))
}

/// `a & b`: string concatenation where empty counts as `''`.
fn concatenate<'a>(ev: &Evaluator<'_, 'a>, a: &[Item<'a>], b: &[Item<'a>]) -> Result<Item<'a>> {
    let text = |items: &[Item<'a>]| -> Result<String> {
        match single(items, "'&'")? {
            None => Ok(String::new()),
            Some(item) => match item.prim(ev.model) {
                Some(Prim::String(s)) => Ok(s.to_owned()),
                _ => Err(Error::execution("'&' needs strings")),
            },
        }
    };
    let joined = text(a)? + &text(b)?;
    Ok(Item::Value(Value::String(Arc::from(joined))))
}

/// `a | b | …`: the operands' items without duplicates.
pub(crate) fn union<'a>(
    ev: &Evaluator<'_, 'a>,
    operands: &[Expr],
    scope: Scope<'_, 'a>,
    out: &mut Buf<'a>,
) -> Result<()> {
    // Only this union's own results are deduplicated: `out` may hold earlier items.
    let mut seen = Distinct::new(out);
    for operand in operands {
        for item in ev.operand(operand, scope)?.iter() {
            ev.push_distinct(&mut seen, out, item.clone());
        }
    }
    Ok(())
}

/// `a and b and …`: false as soon as one operand is false, unknown if one is, else true.
/// `a or b or …` mirrors it. Operands are evaluated left to right only as far as needed.
pub(crate) fn and_or<'a>(
    ev: &Evaluator<'_, 'a>,
    is_and: bool,
    operands: &[Expr],
    scope: Scope<'_, 'a>,
    out: &mut Buf<'a>,
) -> Result<()> {
    let mut unknown = false;
    for operand in operands {
        match truth(ev, &ev.operand(operand, scope)?, false)? {
            Some(b) if b != is_and => {
                out.push(Item::boolean(b));
                return Ok(());
            }
            Some(_) => {}
            None => unknown = true,
        }
    }
    if !unknown {
        out.push(Item::boolean(is_and));
    }
    Ok(())
}

/// `xor` and `implies`; `implies` skips its right side when the left is false.
fn logic<'a>(
    ev: &Evaluator<'_, 'a>,
    op: BinaryOp,
    left: &Expr,
    right: &Expr,
    scope: Scope<'_, 'a>,
    out: &mut Buf<'a>,
) -> Result<()> {
    let l = truth(ev, &ev.operand(left, scope)?, false)?;
    if op == BinaryOp::Implies && l == Some(false) {
        out.push(Item::boolean(true));
        return Ok(());
    }
    let r = truth(ev, &ev.operand(right, scope)?, false)?;
    let result = match (op, l, r) {
        (BinaryOp::Xor, Some(x), Some(y)) => Some(x != y),
        (BinaryOp::Xor, _, _) => None,
        (_, _, Some(true)) => Some(true),
        (_, Some(true), r) => r,
        _ => None,
    };
    push_bool(out, result);
    Ok(())
}

fn overflow() -> Error {
    Error::execution("arithmetic overflow")
}

fn decimal(p: &Prim<'_>) -> Option<Decimal> {
    match p {
        Prim::Integer(i) => Some(Decimal::from(*i)),
        Prim::Decimal(d) => Some(*d),
        _ => None,
    }
}

/// `+ - * / div mod` on single items; `Ok(None)` for an empty result (division by zero).
fn arithmetic<'a>(
    ev: &Evaluator<'_, 'a>,
    op: BinaryOp,
    x: &Item<'a>,
    y: &Item<'a>,
) -> Result<Option<Value>> {
    let mismatch = || {
        Error::execution(format!(
            "cannot apply {op:?} to {} and {}",
            x.type_name(),
            y.type_name()
        ))
    };
    let (Some(a), Some(b)) = (x.prim(ev.model), y.prim(ev.model)) else {
        return Err(mismatch());
    };
    Ok(match (&a, &b) {
        (Prim::Integer(i), Prim::Integer(j)) => {
            let (i, j) = (*i, *j);
            match op {
                BinaryOp::Add => Some(Value::Integer(i.checked_add(j).ok_or_else(overflow)?)),
                BinaryOp::Subtract => Some(Value::Integer(i.checked_sub(j).ok_or_else(overflow)?)),
                BinaryOp::Multiply => Some(Value::Integer(i.checked_mul(j).ok_or_else(overflow)?)),
                BinaryOp::Divide => Decimal::from(i)
                    .checked_div(Decimal::from(j))
                    .map(Value::Decimal),
                BinaryOp::Div => i.checked_div(j).map(Value::Integer),
                BinaryOp::Mod => i.checked_rem(j).map(Value::Integer),
                _ => return Err(mismatch()),
            }
        }
        (Prim::String(s), Prim::String(t)) if op == BinaryOp::Add => {
            Some(Value::String(Arc::from(format!("{s}{t}"))))
        }
        (Prim::Quantity(q), Prim::Quantity(r)) => match op {
            BinaryOp::Add | BinaryOp::Subtract => {
                q.add(r, op == BinaryOp::Subtract).map(Value::Quantity)
            }
            BinaryOp::Multiply | BinaryOp::Divide => {
                if op == BinaryOp::Divide && r.value.is_zero() {
                    None
                } else {
                    Some(Value::Quantity(
                        q.multiply(r, op == BinaryOp::Divide).ok_or_else(overflow)?,
                    ))
                }
            }
            _ => return Err(mismatch()),
        },
        (Prim::Quantity(q), n @ (Prim::Integer(_) | Prim::Decimal(_))) => {
            let n = decimal(n).ok_or_else(mismatch)?;
            match op {
                BinaryOp::Multiply => Some(Value::Quantity(
                    q.with_value(q.value.checked_mul(n).ok_or_else(overflow)?),
                )),
                BinaryOp::Divide => q
                    .value
                    .checked_div(n)
                    .map(|v| Value::Quantity(q.with_value(v))),
                _ => return Err(mismatch()),
            }
        }
        (n @ (Prim::Integer(_) | Prim::Decimal(_)), Prim::Quantity(q)) => {
            let n = decimal(n).ok_or_else(mismatch)?;
            match op {
                BinaryOp::Multiply => Some(Value::Quantity(
                    q.with_value(n.checked_mul(q.value).ok_or_else(overflow)?),
                )),
                BinaryOp::Divide => {
                    let one = Quantity::new(n, "1");
                    if q.value.is_zero() {
                        None
                    } else {
                        Some(Value::Quantity(one.multiply(q, true).ok_or_else(overflow)?))
                    }
                }
                _ => return Err(mismatch()),
            }
        }
        (Prim::Date(d), Prim::Quantity(q)) | (Prim::DateTime(d), Prim::Quantity(q)) => {
            let amount = temporal_amount(q, op)?;
            let unit = q
                .calendar_unit()
                .ok_or_else(|| Error::execution(format!("cannot add '{}' to a date", q.unit)))?;
            let moved = d.add(amount, unit)?;
            Some(if matches!(a, Prim::Date(_)) {
                Value::Date(moved)
            } else {
                Value::DateTime(moved)
            })
        }
        (Prim::Time(t), Prim::Quantity(q)) => {
            let amount = temporal_amount(q, op)?;
            let unit = q
                .calendar_unit()
                .ok_or_else(|| Error::execution(format!("cannot add '{}' to a time", q.unit)))?;
            Some(Value::Time(t.add(amount, unit)?))
        }
        _ => {
            let (Some(i), Some(j)) = (decimal(&a), decimal(&b)) else {
                return Err(mismatch());
            };
            match op {
                BinaryOp::Add => Some(Value::Decimal(i.checked_add(j).ok_or_else(overflow)?)),
                BinaryOp::Subtract => Some(Value::Decimal(i.checked_sub(j).ok_or_else(overflow)?)),
                BinaryOp::Multiply => Some(Value::Decimal(i.checked_mul(j).ok_or_else(overflow)?)),
                BinaryOp::Divide => i.checked_div(j).map(Value::Decimal),
                BinaryOp::Div => i.checked_div(j).map(|q| {
                    let q = q.trunc();
                    q.to_string()
                        .parse::<i64>()
                        .map_or(Value::Decimal(q), Value::Integer)
                }),
                BinaryOp::Mod => i.checked_rem(j).map(Value::Decimal),
                _ => return Err(mismatch()),
            }
        }
    })
}

/// The whole number of units a date moves by; fractions are dropped, as the suite expects.
fn temporal_amount(q: &Quantity, op: BinaryOp) -> Result<i64> {
    let amount = q
        .value
        .trunc()
        .to_string()
        .parse::<i64>()
        .map_err(|_| Error::execution("date arithmetic out of range"))?;
    match op {
        BinaryOp::Add => Ok(amount),
        BinaryOp::Subtract => amount.checked_neg().ok_or_else(overflow),
        _ => Err(Error::execution(
            "dates can only be added to or subtracted from",
        )),
    }
}

/// Unary minus.
pub(crate) fn negate<'a>(
    ev: &Evaluator<'_, 'a>,
    items: &[Item<'a>],
    out: &mut Buf<'a>,
) -> Result<()> {
    let Some(item) = single(items, "unary minus")? else {
        return Ok(());
    };
    let value = match item.prim(ev.model) {
        Some(Prim::Integer(i)) => Value::Integer(i.checked_neg().ok_or_else(overflow)?),
        Some(Prim::Decimal(d)) => Value::Decimal(number::negate(d)),
        Some(Prim::Quantity(q)) => Value::Quantity(q.with_value(number::negate(q.value))),
        _ => {
            return Err(Error::execution(format!(
                "cannot negate {}",
                item.type_name()
            )))
        }
    };
    out.push(Item::Value(value));
    Ok(())
}
