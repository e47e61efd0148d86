//! Date and time functions: `now()`, `today()`, `timeOfDay()`, the component functions
//! (`yearOf()` …), and the precision functions shared with decimals and quantities
//! (`lowBoundary()`, `highBoundary()`, `precision()`, `comparable()`).

use super::Ctx;
use crate::ast::Func;
use crate::error::{Error, Result};
use crate::eval::operators::single;
use crate::eval::Buf;
use crate::item::{Item, Prim, Value};
use crate::number;
use crate::temporal::{Precision, Time};

pub(super) fn call<'a>(ctx: &Ctx<'_, '_, 'a>, input: &[Item<'a>], out: &mut Buf<'a>) -> Result<()> {
    let func = ctx.call.func;
    match func {
        Func::Now => {
            out.push(Item::Value(Value::DateTime(ctx.ev.now())));
            return Ok(());
        }
        Func::Today => {
            out.push(Item::Value(Value::Date(ctx.ev.now().to_date())));
            return Ok(());
        }
        Func::TimeOfDay => {
            out.extend(ctx.ev.now().time().map(|t| Item::Value(Value::Time(t))));
            return Ok(());
        }
        _ => {}
    }
    let Some(item) = single(input, func.name())? else {
        return Ok(());
    };
    let Some(prim) = item.prim(ctx.ev.model) else {
        return Err(Error::execution(format!(
            "{}() does not apply to {}",
            func.name(),
            item.type_name()
        )));
    };
    let value = match func {
        Func::LowBoundary | Func::HighBoundary => {
            let digits = ctx.integer_arg(0)?;
            let high = func == Func::HighBoundary;
            match prim {
                Prim::Integer(i) => number::boundary(i.into(), digits, high).map(Value::Decimal),
                Prim::Decimal(d) => number::boundary(d, digits, high).map(Value::Decimal),
                Prim::Quantity(q) => number::boundary(q.value, digits, high)
                    .map(|v| Value::Quantity(q.with_value(v))),
                Prim::Date(d) => d.boundary(digits, high, true).map(Value::Date),
                Prim::DateTime(d) => d.boundary(digits, high, false).map(|b| {
                    if b.precision() <= Precision::Day {
                        Value::Date(b)
                    } else {
                        Value::DateTime(b)
                    }
                }),
                Prim::Time(t) => t.boundary(digits, high).map(Value::Time),
                _ => None,
            }
        }
        Func::Precision => match prim {
            Prim::Integer(_) => Some(Value::Integer(0)),
            Prim::Decimal(d) => Some(Value::Integer(number::precision(d))),
            Prim::Date(d) | Prim::DateTime(d) => Some(Value::Integer(d.precision_digits())),
            Prim::Time(t) => Some(Value::Integer(t.precision_digits())),
            Prim::String(s) => Some(Value::Integer(s.chars().count() as i64)),
            _ => None,
        },
        Func::Comparable => {
            let other = ctx.arg(0)?;
            let Some(other) = single(&other, "comparable()")? else {
                return Ok(());
            };
            match (prim, other.prim(ctx.ev.model)) {
                (Prim::Quantity(a), Some(Prim::Quantity(b))) => {
                    Some(Value::Boolean(a.comparable(&b)))
                }
                _ => return Err(Error::execution("comparable() needs quantities")),
            }
        }
        _ => component(func, &prim),
    };
    out.extend(value.map(Item::Value));
    Ok(())
}

/// `yearOf()` and friends: a component present at the value's precision.
fn component(func: Func, prim: &Prim<'_>) -> Option<Value> {
    let (date, time): (Option<_>, Option<Time>) = match prim {
        Prim::Date(d) | Prim::DateTime(d) => (Some(*d), d.time()),
        Prim::Time(t) => (None, Some(*t)),
        _ => return None,
    };
    let at_least = |precision: Precision| date.filter(|d| d.precision() >= precision);
    let integer = |v: i64| Some(Value::Integer(v));
    match func {
        Func::YearOf => date.and_then(|d| integer(i64::from(d.year))),
        Func::MonthOf => at_least(Precision::Month).and_then(|d| integer(i64::from(d.month))),
        Func::DayOf => at_least(Precision::Day).and_then(|d| integer(i64::from(d.day))),
        Func::HourOf => time.and_then(|t| integer(i64::from(t.hour))),
        Func::MinuteOf => time
            .filter(|t| t.precision() >= Precision::Minute)
            .and_then(|t| integer(i64::from(t.minute))),
        Func::SecondOf => time
            .filter(|t| t.precision() >= Precision::Second)
            .and_then(|t| integer(i64::from(t.second))),
        Func::MillisecondOf => time
            .filter(|t| t.precision() >= Precision::Millisecond)
            .and_then(|t| integer(i64::from(t.millis))),
        Func::TimezoneOffsetOf => date.and_then(|d| d.offset).map(|o| {
            Value::Decimal(
                rust_decimal::Decimal::new(i64::from(o), 0) / rust_decimal::Decimal::from(60),
            )
        }),
        Func::DateOf => date.map(|d| Value::Date(d.to_date())),
        Func::TimeOf => time.map(Value::Time),
        _ => None,
    }
}
