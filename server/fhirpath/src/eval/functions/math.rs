//! Math functions. Exact where decimals allow (`abs`, `ceiling`, `floor`, `round`,
//! `truncate`, integer `power`); `exp`, `ln`, `log`, `sqrt` and fractional powers go through
//! `f64` and return empty when the result is not a real number.

use rust_decimal::{Decimal, RoundingStrategy};

use super::Ctx;
use crate::ast::Func;
use crate::error::{Error, Result};
use crate::eval::operators::single;
use crate::eval::Buf;
use crate::item::{Item, Prim, Value};
use crate::number;

fn to_integer(d: Decimal) -> Value {
    d.to_string()
        .parse::<i64>()
        .map_or(Value::Decimal(d), Value::Integer)
}

fn float(d: Decimal, f: impl FnOnce(f64) -> f64) -> Option<Value> {
    number::to_f64(d)
        .map(f)
        .and_then(number::from_f64)
        .map(Value::Decimal)
}

pub(super) fn call<'a>(ctx: &Ctx<'_, '_, 'a>, input: &[Item<'a>], out: &mut Buf<'a>) -> Result<()> {
    let func = ctx.call.func;
    let Some(item) = single(input, func.name())? else {
        return Ok(());
    };
    let prim = item.prim(ctx.ev.model);
    if let (Func::Abs, Some(Prim::Quantity(q))) = (func, &prim) {
        out.push(Item::Value(Value::Quantity(q.with_value(q.value.abs()))));
        return Ok(());
    }
    let (value, integer) = match prim {
        Some(Prim::Integer(i)) => (Decimal::from(i), Some(i)),
        Some(Prim::Decimal(d)) => (d, None),
        _ => {
            return Err(Error::execution(format!(
                "{}() needs a number, found {}",
                func.name(),
                item.type_name()
            )))
        }
    };
    let result = match func {
        Func::Abs => Some(match integer {
            Some(i) => Value::Integer(
                i.checked_abs()
                    .ok_or_else(|| Error::execution("arithmetic overflow"))?,
            ),
            None => Value::Decimal(value.abs()),
        }),
        Func::Ceiling => Some(to_integer(value.ceil())),
        Func::Floor => Some(to_integer(value.floor())),
        Func::Truncate => Some(to_integer(value.trunc())),
        Func::Round => {
            let digits = ctx.integer_arg(0)?.unwrap_or(0);
            let digits = u32::try_from(digits)
                .map_err(|_| Error::execution("round() needs a non-negative precision"))?;
            Some(Value::Decimal(value.round_dp_with_strategy(
                digits.min(number::MAX_SCALE),
                RoundingStrategy::MidpointAwayFromZero,
            )))
        }
        Func::Exp => float(value, f64::exp),
        Func::Ln => float(value, f64::ln),
        Func::Sqrt => float(value, f64::sqrt),
        Func::Log => {
            let base = ctx.arg(0)?;
            let Some(base) = single(&base, "log()")? else {
                return Ok(());
            };
            let base = match base.prim(ctx.ev.model) {
                Some(Prim::Integer(i)) => i as f64,
                Some(Prim::Decimal(d)) => number::to_f64(d).unwrap_or(f64::NAN),
                _ => return Err(Error::execution("log() needs a numeric base")),
            };
            float(value, |x| {
                if base == 10.0 {
                    x.log10()
                } else if base == 2.0 {
                    x.log2()
                } else {
                    x.ln() / base.ln()
                }
            })
        }
        Func::Power => {
            let exponent = ctx.arg(0)?;
            let Some(exponent) = single(&exponent, "power()")? else {
                return Ok(());
            };
            match (integer, exponent.prim(ctx.ev.model)) {
                (Some(base), Some(Prim::Integer(e))) if e >= 0 => {
                    let e =
                        u32::try_from(e).map_err(|_| Error::execution("arithmetic overflow"))?;
                    Some(Value::Integer(
                        base.checked_pow(e)
                            .ok_or_else(|| Error::execution("arithmetic overflow"))?,
                    ))
                }
                (_, Some(Prim::Integer(e))) if (0..=64).contains(&e) => {
                    let mut result = Decimal::ONE;
                    for _ in 0..e {
                        result = result
                            .checked_mul(value)
                            .ok_or_else(|| Error::execution("arithmetic overflow"))?;
                    }
                    Some(Value::Decimal(result))
                }
                (_, Some(Prim::Integer(e))) => float(value, |x| x.powf(e as f64)),
                (_, Some(Prim::Decimal(e))) => {
                    let e = number::to_f64(e).unwrap_or(f64::NAN);
                    float(value, |x| x.powf(e))
                }
                _ => return Err(Error::execution("power() needs a numeric exponent")),
            }
        }
        _ => {
            return Err(Error::semantic(format!(
                "{}() is not a math function",
                func.name()
            )))
        }
    };
    out.extend(result.map(Item::Value));
    Ok(())
}
