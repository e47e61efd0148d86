//! `toX()` and `convertsToX()`: conversions between System types, as the specification's
//! conversion table allows.

use std::sync::Arc;

use rust_decimal::Decimal;

use super::Ctx;
use crate::ast::Func;
use crate::error::{Error, Result};
use crate::eval::operators::single;
use crate::eval::Buf;
use crate::item::{Item, Prim, Value};
use crate::number;
use crate::quantity::Quantity;
use crate::temporal::{DateTime, Time};

fn is_integer_text(s: &str) -> bool {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

fn is_decimal_text(s: &str) -> bool {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    match body.split_once('.') {
        Some((int, frac)) => {
            is_integer_text(int) && !frac.is_empty() && frac.bytes().all(|b| b.is_ascii_digit())
        }
        None => is_integer_text(body),
    }
}

fn to_boolean(p: &Prim<'_>) -> Option<bool> {
    match p {
        Prim::Boolean(b) => Some(*b),
        Prim::Integer(1) => Some(true),
        Prim::Integer(0) => Some(false),
        Prim::Decimal(d) if *d == Decimal::ONE => Some(true),
        Prim::Decimal(d) if d.is_zero() => Some(false),
        Prim::String(s) => match s.to_ascii_lowercase().as_str() {
            "true" | "t" | "yes" | "y" | "1" | "1.0" => Some(true),
            "false" | "f" | "no" | "n" | "0" | "0.0" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

fn to_integer(p: &Prim<'_>) -> Option<i64> {
    match p {
        Prim::Integer(i) => Some(*i),
        Prim::Boolean(b) => Some(i64::from(*b)),
        Prim::String(s) if is_integer_text(s) => s.parse().ok(),
        _ => None,
    }
}

fn to_decimal(p: &Prim<'_>) -> Option<Decimal> {
    match p {
        Prim::Integer(i) => Some(Decimal::from(*i)),
        Prim::Decimal(d) => Some(*d),
        Prim::Boolean(b) => Some(if *b { Decimal::ONE } else { Decimal::ZERO }),
        Prim::String(s) if is_decimal_text(s) => number::parse_decimal(s),
        _ => None,
    }
}

fn to_string(p: &Prim<'_>) -> String {
    match p {
        Prim::Boolean(b) => b.to_string(),
        Prim::Integer(i) => i.to_string(),
        Prim::Decimal(d) => d.to_string(),
        Prim::String(s) => (*s).to_owned(),
        Prim::Date(d) | Prim::DateTime(d) => d.to_string(),
        Prim::Time(t) => t.to_string(),
        Prim::Quantity(q) => q.to_string(),
    }
}

fn to_date(p: &Prim<'_>) -> Option<DateTime> {
    match p {
        Prim::Date(d) | Prim::DateTime(d) => Some(d.to_date()),
        Prim::String(s) => {
            DateTime::parse_date(s).or_else(|| DateTime::parse_datetime(s).map(DateTime::to_date))
        }
        _ => None,
    }
}

fn to_datetime(p: &Prim<'_>) -> Option<DateTime> {
    match p {
        Prim::Date(d) | Prim::DateTime(d) => Some(*d),
        Prim::String(s) => DateTime::parse_datetime(s),
        _ => None,
    }
}

fn to_time(p: &Prim<'_>) -> Option<Time> {
    match p {
        Prim::Time(t) => Some(*t),
        Prim::String(s) => Time::parse(s.strip_prefix('T').unwrap_or(s)),
        _ => None,
    }
}

fn to_quantity(p: &Prim<'_>) -> Option<Quantity> {
    match p {
        Prim::Integer(i) => Some(Quantity::new(Decimal::from(*i), "1")),
        Prim::Decimal(d) => Some(Quantity::new(*d, "1")),
        Prim::Boolean(b) => Some(Quantity::new(
            if *b { Decimal::ONE } else { Decimal::ZERO },
            "1",
        )),
        Prim::Quantity(q) => Some(q.clone().into_owned()),
        Prim::String(s) => Quantity::parse(s),
        _ => None,
    }
}

/// A quantity in `unit`, when the units are comparable.
fn in_unit(quantity: Quantity, unit: Option<&str>) -> Option<Quantity> {
    match unit {
        None => Some(quantity),
        Some(unit) if quantity.unit() == unit => Some(quantity),
        Some(unit) => quantity.convert_to(unit),
    }
}

pub(super) fn call<'a>(ctx: &Ctx<'_, '_, 'a>, input: &[Item<'a>], out: &mut Buf<'a>) -> Result<()> {
    let func = ctx.call.func;
    let Some(item) = single(input, func.name())? else {
        return Ok(());
    };
    let Some(prim) = item.prim(ctx.ev.model) else {
        if func.name().starts_with("convertsTo") {
            out.push(Item::boolean(false));
        }
        return Ok(());
    };
    let value: Option<Value> = match func {
        Func::ToBoolean | Func::ConvertsToBoolean => to_boolean(&prim).map(Value::Boolean),
        Func::ToInteger | Func::ConvertsToInteger => to_integer(&prim).map(Value::Integer),
        Func::ToDecimal | Func::ConvertsToDecimal => to_decimal(&prim).map(Value::Decimal),
        Func::ToStringFn | Func::ConvertsToString => {
            Some(Value::String(Arc::from(to_string(&prim))))
        }
        Func::ToDate | Func::ConvertsToDate => to_date(&prim).map(Value::Date),
        Func::ToDateTime | Func::ConvertsToDateTime => to_datetime(&prim).map(Value::DateTime),
        Func::ToTime | Func::ConvertsToTime => to_time(&prim).map(Value::Time),
        Func::ToQuantity | Func::ConvertsToQuantity => {
            let unit = ctx.string_arg(0)?;
            to_quantity(&prim)
                .and_then(|q| in_unit(q, unit.as_deref()))
                .map(Value::Quantity)
        }
        _ => {
            return Err(Error::semantic(format!(
                "{}() is not a conversion",
                func.name()
            )))
        }
    };
    if func.name().starts_with("convertsTo") {
        out.push(Item::boolean(value.is_some()));
    } else {
        out.extend(value.map(Item::Value));
    }
    Ok(())
}
