//! The FHIRPath parser: tokens to the compiled tree of [`crate::ast`], by precedence climbing.
//!
//! Precedence, loosest first: `implies`; `or` `xor`; `and`; `in` `contains`; `=` `~` `!=` `!~`;
//! `<` `<=` `>` `>=`; `|`; `is` `as`; `+` `-` `&`; `*` `/` `div` `mod`; unary `+` `-`;
//! invocation `.` and indexer `[]`.

use std::str::FromStr;
use std::sync::Arc;

use regex::Regex;
use rust_decimal::Decimal;

use crate::ast::{BinaryOp, Call, Expr, Func, Namespace, Step, TypeOp, TypeSpec};
use crate::error::{Error, Result};
use crate::item::{Item, Value};
use crate::lexer::{tokenize, Token, TokenKind};
use crate::quantity::{calendar_keyword, Quantity};
use crate::temporal::{DateTime, Time};

/// Nesting deeper than this is refused, which bounds the evaluator's recursion too: the
/// deepest expressions evaluate within 512 KiB of stack even in debug builds. R4's invariants
/// nest at most 5 parentheses; steps, calls and non-associative operators count as nesting,
/// while `|`, `and` and `or` chains of any length do not.
const MAX_DEPTH: usize = 64;

/// Parses and compiles an expression.
pub(crate) fn parse(text: &str) -> Result<Expr> {
    let tokens = tokenize(text)?;
    let mut parser = Parser {
        tokens,
        pos: 0,
        depth: 0,
    };
    let expr = parser.expression(0)?;
    let token = parser.peek();
    if token.kind != TokenKind::End {
        return Err(Error::syntax(
            token.offset,
            "unexpected text after the expression",
        ));
    }
    Ok(expr)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
}

/// The binary operator a token stands for in operator position, with its precedence.
fn binary_operator(kind: &TokenKind) -> Option<(BinaryOp, u8)> {
    let word = match kind {
        TokenKind::Symbol(s) => *s,
        TokenKind::Identifier {
            name,
            quoted: false,
        } => name.as_str(),
        _ => return None,
    };
    Some(match word {
        "implies" => (BinaryOp::Implies, 1),
        "or" => (BinaryOp::Or, 2),
        "xor" => (BinaryOp::Xor, 2),
        "and" => (BinaryOp::And, 3),
        "in" => (BinaryOp::In, 4),
        "contains" => (BinaryOp::Contains, 4),
        "=" => (BinaryOp::Equal, 5),
        "~" => (BinaryOp::Equivalent, 5),
        "!=" => (BinaryOp::NotEqual, 5),
        "!~" => (BinaryOp::NotEquivalent, 5),
        "<" => (BinaryOp::Less, 6),
        "<=" => (BinaryOp::LessOrEqual, 6),
        ">" => (BinaryOp::Greater, 6),
        ">=" => (BinaryOp::GreaterOrEqual, 6),
        "|" => (BinaryOp::Union, 7),
        "+" => (BinaryOp::Add, 9),
        "-" => (BinaryOp::Subtract, 9),
        "&" => (BinaryOp::Concatenate, 9),
        "*" => (BinaryOp::Multiply, 10),
        "/" => (BinaryOp::Divide, 10),
        "div" => (BinaryOp::Div, 10),
        "mod" => (BinaryOp::Mod, 10),
        _ => return None,
    })
}

/// Precedence of `is` and `as`.
const TYPE_PRECEDENCE: u8 = 8;

impl Parser {
    fn peek(&self) -> &Token {
        // `tokenize` always ends with `End`, and `advance` never moves past it.
        &self.tokens[self.pos.min(self.tokens.len() - 1)]
    }

    fn advance(&mut self) -> Token {
        let token = self.peek().clone();
        if self.pos < self.tokens.len() - 1 {
            self.pos += 1;
        }
        token
    }

    fn is_symbol(&self, symbol: &str) -> bool {
        matches!(self.peek().kind, TokenKind::Symbol(s) if s == symbol)
    }

    fn expect(&mut self, symbol: &str) -> Result<()> {
        if self.is_symbol(symbol) {
            self.advance();
            Ok(())
        } else {
            Err(Error::syntax(
                self.peek().offset,
                format!("expected '{symbol}'"),
            ))
        }
    }

    fn enter(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Error::syntax(
                self.peek().offset,
                "expression nested too deeply",
            ));
        }
        Ok(())
    }

    fn expression(&mut self, min_precedence: u8) -> Result<Expr> {
        self.enter()?;
        // Each operator nests the tree one level deeper on the left: count it as depth too.
        let mut grown = 0;
        let mut left = self.unary()?;
        loop {
            let kind = &self.peek().kind;
            if let TokenKind::Identifier {
                name,
                quoted: false,
            } = kind
            {
                if (name == "is" || name == "as") && TYPE_PRECEDENCE >= min_precedence {
                    let op = if name == "is" { TypeOp::Is } else { TypeOp::As };
                    self.enter()?;
                    grown += 1;
                    self.advance();
                    let ty = self.type_specifier()?;
                    left = Expr::TypeOp {
                        op,
                        operand: Box::new(left),
                        ty,
                    };
                    continue;
                }
            }
            let Some((op, precedence)) = binary_operator(kind) else {
                break;
            };
            if precedence < min_precedence {
                break;
            }
            if matches!(op, BinaryOp::Union | BinaryOp::And | BinaryOp::Or) {
                self.advance();
                let right = self.expression(precedence + 1)?;
                left = flatten(op, left, right);
                continue;
            }
            self.enter()?;
            grown += 1;
            self.advance();
            let right = self.expression(precedence + 1)?;
            left = Expr::Binary {
                op,
                left: Box::new(left),
                right: Box::new(right),
            };
        }
        self.depth -= 1 + grown;
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr> {
        if self.is_symbol("-") || self.is_symbol("+") {
            self.enter()?;
            let negative = self.is_symbol("-");
            self.advance();
            let operand = self.unary()?;
            self.depth -= 1;
            return Ok(if negative {
                Expr::Negate(Box::new(operand))
            } else {
                operand
            });
        }
        self.postfix()
    }

    fn postfix(&mut self) -> Result<Expr> {
        let mut expr = self.term()?;
        // Steps and calls nest like operators do (the evaluator recurses along them).
        let mut grown = 0;
        loop {
            if self.is_symbol(".") || self.is_symbol("[") {
                self.enter()?;
                grown += 1;
            }
            if self.is_symbol(".") {
                self.advance();
                expr = self.invocation(expr)?;
            } else if self.is_symbol("[") {
                self.advance();
                let index = self.expression(0)?;
                self.expect("]")?;
                expr = Expr::Indexer {
                    target: Box::new(expr),
                    index: Box::new(index),
                };
            } else {
                self.depth -= grown;
                return Ok(expr);
            }
        }
    }

    /// The name (and call) after a `.`.
    fn invocation(&mut self, expr: Expr) -> Result<Expr> {
        let token = self.advance();
        let TokenKind::Identifier { name, .. } = token.kind else {
            return Err(Error::syntax(token.offset, "expected a name after '.'"));
        };
        if self.is_symbol("(") {
            return self.call(Some(expr), &name, token.offset);
        }
        Ok(match expr {
            Expr::Path { start, steps } => {
                let mut steps = steps.into_vec();
                steps.push(Step::new(&name));
                Expr::Path {
                    start,
                    steps: steps.into(),
                }
            }
            other => Expr::Path {
                start: Some(Box::new(other)),
                steps: Box::new([Step::new(&name)]),
            },
        })
    }

    /// A term; parentheses recurse here and everything else is read by `simple_term`, so the
    /// frames on the recursion path stay small.
    fn term(&mut self) -> Result<Expr> {
        if self.is_symbol("(") {
            self.advance();
            let inner = self.expression(0)?;
            self.expect(")")?;
            return Ok(inner);
        }
        let token = self.advance();
        self.simple_term(token)
    }

    fn simple_term(&mut self, token: Token) -> Result<Expr> {
        let offset = token.offset;
        Ok(match token.kind {
            TokenKind::Symbol("{") => {
                self.expect("}")?;
                Expr::Empty
            }
            TokenKind::String(s) => literal(Value::String(Arc::from(s))),
            TokenKind::Number(text) => self.number(&text, offset)?,
            TokenKind::DateTime(text) => {
                let value = DateTime::parse_datetime(&text)
                    .ok_or_else(|| Error::syntax(offset, format!("invalid date '@{text}'")))?;
                if value.is_date_only() && !text.contains('T') {
                    literal(Value::Date(value))
                } else {
                    literal(Value::DateTime(value))
                }
            }
            TokenKind::Time(text) => {
                let value = Time::parse(&text)
                    .ok_or_else(|| Error::syntax(offset, format!("invalid time '@T{text}'")))?;
                literal(Value::Time(value))
            }
            TokenKind::Variable(name) => variable(&name),
            TokenKind::Special(name) => match name.as_str() {
                "this" => Expr::This,
                "index" => Expr::Index,
                "total" => Expr::Total,
                _ => return Err(Error::syntax(offset, format!("unknown ${name}"))),
            },
            TokenKind::Identifier { name, quoted } => {
                if self.is_symbol("(") {
                    self.call(None, &name, offset)?
                } else if !quoted && name == "true" {
                    literal(Value::Boolean(true))
                } else if !quoted && name == "false" {
                    literal(Value::Boolean(false))
                } else {
                    Expr::Path {
                        start: None,
                        steps: Box::new([Step::new(&name)]),
                    }
                }
            }
            TokenKind::Symbol(s) => return Err(Error::syntax(offset, format!("unexpected '{s}'"))),
            TokenKind::End => return Err(Error::syntax(offset, "unexpected end of expression")),
        })
    }

    /// A number, and the unit that makes it a quantity literal if one follows.
    fn number(&mut self, text: &str, offset: usize) -> Result<Expr> {
        let unit = match &self.peek().kind {
            TokenKind::String(unit) => Some((unit.clone(), false)),
            TokenKind::Identifier {
                name,
                quoted: false,
            } if calendar_keyword(name).is_some() => Some((name.clone(), true)),
            _ => None,
        };
        let invalid = || Error::syntax(offset, format!("invalid number '{text}'"));
        if let Some((unit, calendar)) = unit {
            self.advance();
            let value = Decimal::from_str(text).map_err(|_| invalid())?;
            let quantity = Quantity {
                value,
                unit: Arc::from(unit),
                calendar,
            };
            return Ok(literal(Value::Quantity(quantity)));
        }
        if text.contains('.') {
            Ok(literal(Value::Decimal(
                Decimal::from_str(text).map_err(|_| invalid())?,
            )))
        } else {
            match text.parse::<i64>() {
                Ok(i) => Ok(literal(Value::Integer(i))),
                Err(_) => Ok(literal(Value::Decimal(
                    Decimal::from_str(text).map_err(|_| invalid())?,
                ))),
            }
        }
    }

    /// A qualified type name after `is` or `as`.
    fn type_specifier(&mut self) -> Result<TypeSpec> {
        let token = self.advance();
        let TokenKind::Identifier { name: first, .. } = token.kind else {
            return Err(Error::syntax(token.offset, "expected a type name"));
        };
        if self.is_symbol(".") {
            if let Some(Token {
                kind: TokenKind::Identifier { name: second, .. },
                ..
            }) = self.tokens.get(self.pos + 1).cloned()
            {
                if let Some(namespace) = namespace(&first) {
                    self.advance();
                    self.advance();
                    return Ok(TypeSpec {
                        namespace: Some(namespace),
                        name: second.into(),
                    });
                }
            }
        }
        Ok(TypeSpec {
            namespace: None,
            name: first.into(),
        })
    }

    fn call(&mut self, target: Option<Expr>, name: &str, offset: usize) -> Result<Expr> {
        self.expect("(")?;
        let mut args = Vec::new();
        if !self.is_symbol(")") {
            loop {
                args.push(self.expression(0)?);
                if self.is_symbol(",") {
                    self.advance();
                } else {
                    break;
                }
            }
        }
        self.expect(")")?;
        let (func, min, max) = Func::lookup(name).ok_or_else(|| {
            Error::semantic(format!("unknown function '{name}' at offset {offset}"))
        })?;
        if args.len() < min || args.len() > max {
            return Err(Error::semantic(format!(
                "function '{name}' takes {min} to {max} arguments, not {}",
                args.len()
            )));
        }
        let type_arg = match func {
            Func::Is | Func::As | Func::OfType => Some(type_argument(&args[0])?),
            _ => None,
        };
        if matches!(func, Func::Iif) {
            if let Expr::Literal(Item::Value(value)) = &args[0] {
                if !matches!(value, Value::Boolean(_)) {
                    return Err(Error::semantic("the criterion of iif() must be a boolean"));
                }
            }
        }
        let regex = match (func, args.first()) {
            (
                Func::Matches | Func::MatchesFull | Func::ReplaceMatches,
                Some(Expr::Literal(Item::Value(Value::String(pattern)))),
            ) => Some(compile_regex(pattern, func == Func::MatchesFull)?),
            _ => None,
        };
        Ok(Expr::Call(Box::new(Call {
            target,
            func,
            args,
            type_arg,
            regex,
        })))
    }
}

/// Appends to an n-ary `|`, `and` or `or` node, or starts one.
fn flatten(op: BinaryOp, left: Expr, right: Expr) -> Expr {
    match (op, left) {
        (BinaryOp::Union, Expr::Union(mut operands)) => {
            operands.push(right);
            Expr::Union(operands)
        }
        (BinaryOp::And, Expr::And(mut operands)) => {
            operands.push(right);
            Expr::And(operands)
        }
        (BinaryOp::Or, Expr::Or(mut operands)) => {
            operands.push(right);
            Expr::Or(operands)
        }
        (BinaryOp::Union, left) => Expr::Union(vec![left, right]),
        (BinaryOp::And, left) => Expr::And(vec![left, right]),
        (_, left) => Expr::Or(vec![left, right]),
    }
}

fn literal(value: Value) -> Expr {
    Expr::Literal(Item::Value(value))
}

fn namespace(name: &str) -> Option<Namespace> {
    match name {
        "System" => Some(Namespace::System),
        "FHIR" => Some(Namespace::Fhir),
        _ => None,
    }
}

/// Reads the type argument of `is()`, `as()`, `ofType()`, which parses as a path.
fn type_argument(arg: &Expr) -> Result<TypeSpec> {
    if let Expr::Path { start: None, steps } = arg {
        match &steps[..] {
            [only] => {
                return Ok(TypeSpec {
                    namespace: None,
                    name: only.name.clone(),
                })
            }
            [first, second] => {
                if let Some(namespace) = namespace(&first.name) {
                    return Ok(TypeSpec {
                        namespace: Some(namespace),
                        name: second.name.clone(),
                    });
                }
            }
            _ => {}
        }
    }
    Err(Error::semantic("expected a type name as argument"))
}

/// Compiles a FHIRPath regular expression: `.` matches newlines; `full` anchors both ends.
pub(crate) fn compile_regex(pattern: &str, full: bool) -> Result<Regex> {
    let source = if full {
        format!("(?s)\\A(?:{pattern})\\z")
    } else {
        format!("(?s){pattern}")
    };
    Regex::new(&source)
        .map_err(|e| Error::semantic(format!("invalid regular expression '{pattern}': {e}")))
}

/// `%name`: the predefined constants become literals; everything else is looked up when
/// evaluating.
fn variable(name: &str) -> Expr {
    let constant = |s: &str| literal(Value::String(Arc::from(s)));
    match name {
        "ucum" => constant("http://unitsofmeasure.org"),
        "sct" => constant("http://snomed.info/sct"),
        "loinc" => constant("http://loinc.org"),
        _ => {
            if let Some(rest) = name.strip_prefix("vs-") {
                constant(&format!("http://hl7.org/fhir/ValueSet/{rest}"))
            } else if let Some(rest) = name.strip_prefix("ext-") {
                constant(&format!("http://hl7.org/fhir/StructureDefinition/{rest}"))
            } else {
                Expr::Variable(name.into())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_binds_is_tighter_than_comparison() {
        let expr = parse("1 > 2 is Boolean").expect("parse");
        assert!(matches!(
            expr,
            Expr::Binary {
                op: BinaryOp::Greater,
                ..
            }
        ));
        let expr = parse("-1.convertsToInteger()").expect("parse");
        assert!(matches!(expr, Expr::Negate(_)));
    }

    #[test]
    fn paths_are_fused() {
        let Expr::Path { start: None, steps } = parse("Patient.name.given").expect("parse") else {
            panic!("expected a path");
        };
        assert_eq!(steps.len(), 3);
    }

    #[test]
    fn errors_are_reported() {
        assert!(parse("2 + 2 /").is_err());
        assert!(parse("name.nope()").is_err());
        assert!(parse("((((").is_err());
        let deep = "(".repeat(1000) + &")".repeat(1000);
        assert!(parse(&deep).is_err());
    }
}
