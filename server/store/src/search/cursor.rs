//! Keyset cursors: the sort values and row id of the row a page starts after
//! (or ends before), written as an opaque, URL-safe token.

use sea_orm::Value;

/// One sort value of the row a cursor points at.
#[derive(Clone, Debug, PartialEq)]
pub enum SortValue {
    /// A whole number (dates in milliseconds, `_lastUpdated`).
    Int(i64),
    /// A decimal number.
    Real(f64),
    /// Text.
    Text(String),
}

impl SortValue {
    pub(crate) fn to_value(&self) -> Value {
        match self {
            SortValue::Int(n) => Value::from(*n),
            SortValue::Real(x) => Value::from(*x),
            SortValue::Text(s) => Value::from(s.clone()),
        }
    }
}

/// Where a page starts: after the row `rid` with sort values `key` (going
/// forward) or before it (going back, for `previous` links).
#[derive(Clone, Debug, PartialEq)]
pub struct Cursor {
    /// Forward (`next`) or backward (`previous`).
    pub forward: bool,
    /// The sort values of the row.
    pub key: Vec<SortValue>,
    /// The row's id, the final tie-breaker.
    pub rid: i64,
}

impl Cursor {
    /// The token for a link: `n` or `p`, the rid, then each sort value
    /// (`i` integer, `r` float bits, `s` hex UTF-8), joined by `.`.
    pub fn encode(&self) -> String {
        let mut out = format!("{}{}", if self.forward { 'n' } else { 'p' }, self.rid);
        for value in &self.key {
            out.push('.');
            match value {
                SortValue::Int(n) => out.push_str(&format!("i{n}")),
                SortValue::Real(x) => out.push_str(&format!("r{:x}", x.to_bits())),
                SortValue::Text(s) => {
                    out.push('s');
                    for byte in s.bytes() {
                        out.push_str(&format!("{byte:02x}"));
                    }
                }
            }
        }
        out
    }

    /// Reads a token written by [`Cursor::encode`]; `None` if it is not one.
    pub fn decode(token: &str) -> Option<Cursor> {
        let mut parts = token.split('.');
        let head = parts.next()?;
        let forward = match head.get(..1)? {
            "n" => true,
            "p" => false,
            _ => return None,
        };
        let rid = head[1..].parse().ok()?;
        let key = parts
            .map(|part| {
                let (kind, body) = (part.get(..1)?, &part[1..]);
                match kind {
                    "i" => body.parse().ok().map(SortValue::Int),
                    "r" => u64::from_str_radix(body, 16)
                        .ok()
                        .map(|bits| SortValue::Real(f64::from_bits(bits))),
                    "s" => {
                        if body.len() % 2 != 0 {
                            return None;
                        }
                        let bytes: Option<Vec<u8>> = (0..body.len())
                            .step_by(2)
                            .map(|i| u8::from_str_radix(body.get(i..i + 2)?, 16).ok())
                            .collect();
                        String::from_utf8(bytes?).ok().map(SortValue::Text)
                    }
                    _ => None,
                }
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Cursor { forward, key, rid })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_survive_their_token() {
        let cursor = Cursor {
            forward: false,
            key: vec![
                SortValue::Int(-5),
                SortValue::Real(1.25),
                SortValue::Text("Ærlig.|x".into()),
            ],
            rid: 42,
        };
        let token = cursor.encode();
        assert!(token
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-'));
        assert_eq!(Cursor::decode(&token), Some(cursor));
        for bad in ["", "x1", "n", "n1.q", "n1.s1", "n1.sff"] {
            assert_eq!(Cursor::decode(bad), None, "{bad}");
        }
    }
}
