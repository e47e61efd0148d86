//! Function calls: the dispatcher, argument helpers, and the functions grouped by topic.

mod collections;
mod conversions;
mod datetime;
mod fhir;
mod math;
mod strings;

use super::{Buf, Evaluator, Operand, Scope};
use crate::ast::{Call, Expr, Func};
use crate::error::{Error, Result};
use crate::item::{Item, Prim};

/// A call being evaluated: the evaluator, the call and the caller's scope.
pub(crate) struct Ctx<'c, 'x, 'a> {
    pub(crate) ev: &'c Evaluator<'x, 'a>,
    pub(crate) call: &'c Call,
    pub(crate) scope: Scope<'c, 'a>,
}

impl<'c, 'a> Ctx<'c, '_, 'a> {
    /// Argument `i` evaluated once, in the caller's scope.
    pub(crate) fn arg(&self, i: usize) -> Result<Operand<'c, 'a>> {
        match self.call.args.get(i) {
            Some(expr) => self.ev.operand(expr, self.scope),
            None => Ok(Operand::Borrowed(&[])),
        }
    }

    /// Argument `i` evaluated with `$this` set to one input item.
    pub(crate) fn lambda(&self, expr: &Expr, item: &Item<'a>, index: usize) -> Result<Buf<'a>> {
        self.ev.collect(expr, Scope::item(item, index))
    }

    /// Argument `i` as an optional single string.
    pub(crate) fn string_arg(&self, i: usize) -> Result<Option<String>> {
        let items = self.arg(i)?;
        match super::operators::single(&items, self.call.func.name())? {
            None => Ok(None),
            Some(item) => match item.prim(self.ev.model) {
                Some(Prim::String(s)) => Ok(Some(s.to_owned())),
                _ => Err(Error::execution(format!(
                    "{}() needs a string argument",
                    self.call.func.name()
                ))),
            },
        }
    }

    /// Argument `i` as an optional single integer.
    pub(crate) fn integer_arg(&self, i: usize) -> Result<Option<i64>> {
        let items = self.arg(i)?;
        self.ev.integer_arg(
            &items,
            &format!("the argument of {}()", self.call.func.name()),
        )
    }
}

/// Evaluates a function call.
pub(crate) fn call<'a>(
    ev: &Evaluator<'_, 'a>,
    call: &Call,
    scope: Scope<'_, 'a>,
    out: &mut Buf<'a>,
) -> Result<()> {
    let owned;
    let input: &[Item<'a>] = match &call.target {
        Some(target) => {
            owned = ev.collect_chain(target, scope)?;
            &owned
        }
        None => scope.this,
    };
    if ev.strict()
        && matches!(
            call.func,
            Func::First | Func::Last | Func::Tail | Func::Skip | Func::Take | Func::Single
        )
    {
        if let Some(Expr::Call(inner)) = &call.target {
            if matches!(inner.func, Func::Children | Func::Descendants) {
                return Err(Error::semantic(format!(
                    "{}() needs an ordered collection",
                    call.func.name()
                )));
            }
        }
    }
    let ctx = Ctx { ev, call, scope };
    match call.func {
        Func::Empty
        | Func::Exists
        | Func::All
        | Func::AllTrue
        | Func::AnyTrue
        | Func::AllFalse
        | Func::AnyFalse
        | Func::SubsetOf
        | Func::SupersetOf
        | Func::Count
        | Func::Distinct
        | Func::IsDistinct
        | Func::Where
        | Func::Select
        | Func::Repeat
        | Func::RepeatAll
        | Func::Single
        | Func::First
        | Func::Last
        | Func::Tail
        | Func::Skip
        | Func::Take
        | Func::Intersect
        | Func::Exclude
        | Func::Union
        | Func::Combine
        | Func::Iif
        | Func::Not
        | Func::Aggregate
        | Func::Sort
        | Func::Trace
        | Func::Children
        | Func::Descendants
        | Func::Sum
        | Func::Min
        | Func::Max
        | Func::Avg
        | Func::DefineVariable => collections::call(&ctx, input, out),
        Func::ToBoolean
        | Func::ConvertsToBoolean
        | Func::ToInteger
        | Func::ConvertsToInteger
        | Func::ToDecimal
        | Func::ConvertsToDecimal
        | Func::ToStringFn
        | Func::ConvertsToString
        | Func::ToDate
        | Func::ConvertsToDate
        | Func::ToDateTime
        | Func::ConvertsToDateTime
        | Func::ToTime
        | Func::ConvertsToTime
        | Func::ToQuantity
        | Func::ConvertsToQuantity => conversions::call(&ctx, input, out),
        Func::IndexOf
        | Func::LastIndexOf
        | Func::Substring
        | Func::StartsWith
        | Func::EndsWith
        | Func::Contains
        | Func::Upper
        | Func::Lower
        | Func::Replace
        | Func::Matches
        | Func::MatchesFull
        | Func::ReplaceMatches
        | Func::Length
        | Func::ToChars
        | Func::Trim
        | Func::Split
        | Func::Join
        | Func::Encode
        | Func::Decode
        | Func::Escape
        | Func::Unescape => strings::call(&ctx, input, out),
        Func::Abs
        | Func::Ceiling
        | Func::Exp
        | Func::Floor
        | Func::Ln
        | Func::Log
        | Func::Power
        | Func::Round
        | Func::Sqrt
        | Func::Truncate => math::call(&ctx, input, out),
        Func::Now
        | Func::TimeOfDay
        | Func::Today
        | Func::LowBoundary
        | Func::HighBoundary
        | Func::Precision
        | Func::Comparable
        | Func::YearOf
        | Func::MonthOf
        | Func::DayOf
        | Func::HourOf
        | Func::MinuteOf
        | Func::SecondOf
        | Func::MillisecondOf
        | Func::TimezoneOffsetOf
        | Func::DateOf
        | Func::TimeOf => datetime::call(&ctx, input, out),
        Func::OfType
        | Func::Is
        | Func::As
        | Func::Type
        | Func::Extension
        | Func::HasExtension
        | Func::Resolve
        | Func::HasValue
        | Func::GetValue
        | Func::ConformsTo
        | Func::MemberOf
        | Func::HtmlChecks => fhir::call(&ctx, input, out),
    }
}
