//! String functions. Positions and lengths count characters, not bytes.

use std::borrow::Cow;
use std::sync::Arc;

use serde_json::Value as Json;

use super::Ctx;
use crate::ast::Func;
use crate::error::{Error, Result};
use crate::eval::operators::single;
use crate::eval::Buf;
use crate::item::{Item, Prim, Value};
use crate::parser::compile_regex;

fn string_item<'a>(s: impl Into<Arc<str>>) -> Item<'a> {
    Item::Value(Value::String(s.into()))
}

/// The text of a string input; dates and other primitives written as JSON strings count too.
fn text<'b>(ctx: &Ctx<'_, '_, '_>, item: &'b Item<'_>) -> Result<&'b str> {
    if let Some(Prim::String(s)) = item.prim(ctx.ev.model) {
        return Ok(s);
    }
    match item {
        Item::Node(node) => match node.value {
            Some(Json::String(s)) => Ok(s),
            _ => Err(Error::semantic(format!(
                "{}() needs a string, found {}",
                ctx.call.func.name(),
                item.type_name()
            ))),
        },
        Item::Value(_) => Err(Error::semantic(format!(
            "{}() needs a string, found {}",
            ctx.call.func.name(),
            item.type_name()
        ))),
    }
}

pub(super) fn call<'a>(ctx: &Ctx<'_, '_, 'a>, input: &[Item<'a>], out: &mut Buf<'a>) -> Result<()> {
    let func = ctx.call.func;
    if func == Func::Join {
        return join(ctx, input, out);
    }
    let Some(item) = single(input, func.name())? else {
        return Ok(());
    };
    let s = text(ctx, item)?;
    match func {
        Func::IndexOf | Func::LastIndexOf => {
            let Some(needle) = ctx.string_arg(0)? else {
                return Ok(());
            };
            let found = if func == Func::IndexOf {
                s.find(&needle)
            } else {
                s.rfind(&needle)
            };
            let index = found.map_or(-1, |byte| s[..byte].chars().count() as i64);
            out.push(Item::integer(index));
        }
        Func::Substring => {
            let Some(start) = ctx.integer_arg(0)? else {
                return Ok(());
            };
            let length = ctx.integer_arg(1)?;
            let count = s.chars().count() as i64;
            if start < 0 || start >= count {
                return Ok(());
            }
            let take = length.map_or(count, |l| l.max(0));
            let result: String = s
                .chars()
                .skip(start as usize)
                .take(usize::try_from(take).unwrap_or(0))
                .collect();
            out.push(string_item(result));
        }
        Func::StartsWith | Func::EndsWith | Func::Contains => {
            let Some(other) = ctx.string_arg(0)? else {
                return Ok(());
            };
            let result = match func {
                Func::StartsWith => s.starts_with(&other),
                Func::EndsWith => s.ends_with(&other),
                _ => s.contains(&other),
            };
            out.push(Item::boolean(result));
        }
        Func::Upper => out.push(string_item(s.to_uppercase())),
        Func::Lower => out.push(string_item(s.to_lowercase())),
        Func::Replace => {
            let (Some(pattern), Some(substitution)) = (ctx.string_arg(0)?, ctx.string_arg(1)?)
            else {
                return Ok(());
            };
            out.push(string_item(s.replace(&pattern, &substitution)));
        }
        Func::Matches | Func::MatchesFull | Func::ReplaceMatches => {
            let Some(pattern) = ctx.string_arg(0)? else {
                return Ok(());
            };
            let compiled;
            let regex = match &ctx.call.regex {
                Some(regex) => regex,
                None => {
                    compiled = compile_regex(&pattern, func == Func::MatchesFull)?;
                    &compiled
                }
            };
            if func == Func::ReplaceMatches {
                let Some(substitution) = ctx.string_arg(1)? else {
                    return Ok(());
                };
                let result = if pattern.is_empty() {
                    Cow::Borrowed(s)
                } else {
                    regex.replace_all(s, substitution.as_str())
                };
                out.push(string_item(&*result));
            } else {
                out.push(Item::boolean(regex.is_match(s)));
            }
        }
        Func::Length => out.push(Item::integer(s.chars().count() as i64)),
        Func::ToChars => out.extend(s.chars().map(|c| string_item(c.to_string()))),
        Func::Trim => out.push(string_item(s.trim())),
        Func::Split => {
            let Some(separator) = ctx.string_arg(0)? else {
                return Ok(());
            };
            if separator.is_empty() {
                out.extend(s.chars().map(|c| string_item(c.to_string())));
            } else {
                out.extend(s.split(separator.as_str()).map(string_item));
            }
        }
        Func::Encode | Func::Decode | Func::Escape | Func::Unescape => {
            let Some(format) = ctx.string_arg(0)? else {
                return Ok(());
            };
            let result = match func {
                Func::Encode => encode(s, &format),
                Func::Decode => decode(s, &format),
                Func::Escape => escape(s, &format),
                _ => unescape(s, &format),
            };
            out.extend(result.map(string_item));
        }
        _ => {
            return Err(Error::semantic(format!(
                "{}() is not a string function",
                func.name()
            )))
        }
    }
    Ok(())
}

/// `join()` works on the whole collection, unlike the other string functions.
fn join<'a>(ctx: &Ctx<'_, '_, 'a>, input: &[Item<'a>], out: &mut Buf<'a>) -> Result<()> {
    let separator = ctx.string_arg(0)?.unwrap_or_default();
    let mut joined = String::new();
    for (i, item) in input.iter().enumerate() {
        if i > 0 {
            joined.push_str(&separator);
        }
        joined.push_str(text(ctx, item)?);
    }
    out.push(string_item(joined));
    Ok(())
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64_encode(bytes: &[u8], url: bool) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                let c = BASE64[(n >> (18 - 6 * i) & 63) as usize];
                out.push(match (url, c) {
                    (true, b'+') => '-',
                    (true, b'/') => '_',
                    _ => c as char,
                });
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut bits = 0u32;
    let mut count = 0;
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    for c in text.bytes().filter(|b| !b.is_ascii_whitespace()) {
        if c == b'=' {
            break;
        }
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        bits = (bits << 6) | u32::from(value);
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    Some(out)
}

fn encode(s: &str, format: &str) -> Option<String> {
    match format {
        "base64" => Some(base64_encode(s.as_bytes(), false)),
        "urlbase64" => Some(base64_encode(s.as_bytes(), true)),
        "hex" => Some(s.bytes().map(|b| format!("{b:02x}")).collect()),
        _ => None,
    }
}

fn decode(s: &str, format: &str) -> Option<String> {
    let bytes = match format {
        "base64" | "urlbase64" => base64_decode(s)?,
        "hex" => {
            if s.len() % 2 == 1 {
                return None;
            }
            (0..s.len())
                .step_by(2)
                .map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
                .collect::<Option<_>>()?
        }
        _ => return None,
    };
    String::from_utf8(bytes).ok()
}

fn escape(s: &str, format: &str) -> Option<String> {
    let mut out = String::with_capacity(s.len());
    match format {
        "html" => {
            for c in s.chars() {
                match c {
                    '&' => out.push_str("&amp;"),
                    '<' => out.push_str("&lt;"),
                    '>' => out.push_str("&gt;"),
                    '"' => out.push_str("&quot;"),
                    '\'' => out.push_str("&#39;"),
                    _ => out.push(c),
                }
            }
        }
        "json" => {
            for c in s.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '\n' => out.push_str("\\n"),
                    '\r' => out.push_str("\\r"),
                    '\t' => out.push_str("\\t"),
                    c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                    _ => out.push(c),
                }
            }
        }
        _ => return None,
    }
    Some(out)
}

fn unescape(s: &str, format: &str) -> Option<String> {
    match format {
        "html" => {
            let mut out = String::with_capacity(s.len());
            let mut rest = s;
            while let Some(start) = rest.find('&') {
                out.push_str(&rest[..start]);
                rest = &rest[start..];
                let Some(end) = rest.find(';') else { break };
                let entity = &rest[1..end];
                let decoded = match entity {
                    "amp" => Some('&'),
                    "lt" => Some('<'),
                    "gt" => Some('>'),
                    "quot" => Some('"'),
                    "apos" => Some('\''),
                    _ => entity.strip_prefix('#').and_then(|n| {
                        let code = match n.strip_prefix(['x', 'X']) {
                            Some(hex) => u32::from_str_radix(hex, 16).ok(),
                            None => n.parse().ok(),
                        };
                        code.and_then(char::from_u32)
                    }),
                };
                match decoded {
                    Some(c) => {
                        out.push(c);
                        rest = &rest[end + 1..];
                    }
                    None => {
                        out.push('&');
                        rest = &rest[1..];
                    }
                }
            }
            out.push_str(rest);
            Some(out)
        }
        "json" => {
            let mut out = String::with_capacity(s.len());
            let mut chars = s.chars();
            while let Some(c) = chars.next() {
                if c != '\\' {
                    out.push(c);
                    continue;
                }
                match chars.next()? {
                    'n' => out.push('\n'),
                    'r' => out.push('\r'),
                    't' => out.push('\t'),
                    'b' => out.push('\u{0008}'),
                    'f' => out.push('\u{000C}'),
                    'u' => {
                        let hex: String = chars.by_ref().take(4).collect();
                        out.push(char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?);
                    }
                    other => out.push(other),
                }
            }
            Some(out)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips() {
        assert_eq!(base64_encode(b"subjects?_d", false), "c3ViamVjdHM/X2Q=");
        assert_eq!(base64_encode(b"subjects?_d", true), "c3ViamVjdHM_X2Q=");
        assert_eq!(base64_decode("dGVzdA==").as_deref(), Some(&b"test"[..]));
    }

    #[test]
    fn html_escapes_round_trip() {
        let escaped = escape("\"1<2\"", "html").expect("escape");
        assert_eq!(escaped, "&quot;1&lt;2&quot;");
        assert_eq!(unescape(&escaped, "html").as_deref(), Some("\"1<2\""));
    }
}
