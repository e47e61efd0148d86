//! The FHIRPath lexer: text to tokens, with comments skipped and string escapes decoded.

use crate::error::{Error, Result};

/// One token and the character offset where it starts.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Token {
    pub(crate) kind: TokenKind,
    pub(crate) offset: usize,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum TokenKind {
    /// A name; `quoted` for `` `backtick` `` names, which are never keywords.
    Identifier {
        name: String,
        quoted: bool,
    },
    /// A string literal, escapes decoded.
    String(String),
    /// A number as written: `12`, `1.50`.
    Number(String),
    /// A date or date-time literal without the `@`: `2015-02-04T14:34`.
    DateTime(String),
    /// A time literal without the `@T`: `14:34:28.123`.
    Time(String),
    /// `%name` or `` %`vs-name` `` or `%'name'`.
    Variable(String),
    /// `$this`, `$index`, `$total`.
    Special(String),
    /// Punctuation and operators: `.`, `(`, `<=`, `!~`, …
    Symbol(&'static str),
    End,
}

const SYMBOLS: [&str; 22] = [
    "<=", ">=", "!=", "!~", ".", ",", "(", ")", "[", "]", "{", "}", "+", "-", "*", "/", "&", "|",
    "=", "~", "<", ">",
];

/// Splits `text` into tokens, ending with [`TokenKind::End`].
pub(crate) fn tokenize(text: &str) -> Result<Vec<Token>> {
    let mut lexer = Lexer {
        text,
        bytes: text.as_bytes(),
        pos: 0,
    };
    let mut tokens = Vec::new();
    loop {
        lexer.skip_trivia()?;
        let offset = lexer.pos;
        let Some(&b) = lexer.bytes.get(lexer.pos) else {
            tokens.push(Token {
                kind: TokenKind::End,
                offset,
            });
            return Ok(tokens);
        };
        let kind = match b {
            b'\'' => TokenKind::String(lexer.quoted(b'\'')?),
            b'`' => TokenKind::Identifier {
                name: lexer.quoted(b'`')?,
                quoted: true,
            },
            b'0'..=b'9' => TokenKind::Number(lexer.number()),
            b'@' => lexer.temporal()?,
            b'%' => {
                lexer.pos += 1;
                match lexer.bytes.get(lexer.pos) {
                    Some(b'`') => TokenKind::Variable(lexer.quoted(b'`')?),
                    Some(b'\'') => TokenKind::Variable(lexer.quoted(b'\'')?),
                    _ => TokenKind::Variable(
                        lexer
                            .word()
                            .ok_or_else(|| Error::syntax(offset, "expected a name after %"))?,
                    ),
                }
            }
            b'$' => {
                lexer.pos += 1;
                let word = lexer
                    .word()
                    .ok_or_else(|| Error::syntax(offset, "expected a name after $"))?;
                TokenKind::Special(word)
            }
            b if b.is_ascii_alphabetic() || b == b'_' => {
                let name = lexer.word().unwrap_or_default();
                TokenKind::Identifier {
                    name,
                    quoted: false,
                }
            }
            _ => {
                let rest = &lexer.text[lexer.pos..];
                let symbol = SYMBOLS
                    .iter()
                    .find(|s| rest.starts_with(**s))
                    .ok_or_else(|| {
                        Error::syntax(
                            offset,
                            format!(
                                "unexpected character '{}'",
                                rest.chars().next().unwrap_or(' ')
                            ),
                        )
                    })?;
                lexer.pos += symbol.len();
                TokenKind::Symbol(symbol)
            }
        };
        tokens.push(Token { kind, offset });
    }
}

struct Lexer<'t> {
    text: &'t str,
    bytes: &'t [u8],
    pos: usize,
}

impl Lexer<'_> {
    fn peek_at(&self, ahead: usize) -> Option<u8> {
        self.bytes.get(self.pos + ahead).copied()
    }

    fn skip_trivia(&mut self) -> Result<()> {
        loop {
            match (self.peek_at(0), self.peek_at(1)) {
                (Some(b), _) if b.is_ascii_whitespace() => self.pos += 1,
                (Some(b'/'), Some(b'/')) => {
                    while let Some(b) = self.peek_at(0) {
                        if b == b'\n' {
                            break;
                        }
                        self.pos += 1;
                    }
                }
                (Some(b'/'), Some(b'*')) => {
                    let start = self.pos;
                    let end = self.text[self.pos + 2..]
                        .find("*/")
                        .ok_or_else(|| Error::syntax(start, "unterminated comment"))?;
                    self.pos += end + 4;
                }
                _ => return Ok(()),
            }
        }
    }

    fn word(&mut self) -> Option<String> {
        let start = self.pos;
        while self
            .peek_at(0)
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
        {
            self.pos += 1;
        }
        (self.pos > start).then(|| self.text[start..self.pos].to_owned())
    }

    fn number(&mut self) -> String {
        let start = self.pos;
        while self.peek_at(0).is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
        if self.peek_at(0) == Some(b'.') && self.peek_at(1).is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
            while self.peek_at(0).is_some_and(|b| b.is_ascii_digit()) {
                self.pos += 1;
            }
        }
        self.text[start..self.pos].to_owned()
    }

    /// A quoted string or name; the escapes of the FHIRPath grammar are decoded.
    fn quoted(&mut self, quote: u8) -> Result<String> {
        let start = self.pos;
        self.pos += 1;
        let mut out = String::new();
        loop {
            let rest = &self.text[self.pos..];
            let Some(c) = rest.chars().next() else {
                return Err(Error::syntax(start, "unterminated string"));
            };
            self.pos += c.len_utf8();
            match c {
                _ if c as u32 == u32::from(quote) => return Ok(out),
                '\\' => {
                    let Some(escaped) = self.text[self.pos..].chars().next() else {
                        return Err(Error::syntax(start, "unterminated string"));
                    };
                    self.pos += escaped.len_utf8();
                    match escaped {
                        '\'' | '"' | '`' | '\\' | '/' => out.push(escaped),
                        'f' => out.push('\u{000C}'),
                        'n' => out.push('\n'),
                        'r' => out.push('\r'),
                        't' => out.push('\t'),
                        'u' => {
                            let hex = self
                                .text
                                .get(self.pos..self.pos + 4)
                                .ok_or_else(|| Error::syntax(start, "bad \\u escape"))?;
                            let code = u32::from_str_radix(hex, 16)
                                .map_err(|_| Error::syntax(start, "bad \\u escape"))?;
                            out.push(
                                char::from_u32(code)
                                    .ok_or_else(|| Error::syntax(start, "bad \\u escape"))?,
                            );
                            self.pos += 4;
                        }
                        other => {
                            return Err(Error::syntax(
                                self.pos,
                                format!("unknown escape \\{other}"),
                            ))
                        }
                    }
                }
                _ => out.push(c),
            }
        }
    }

    fn digits(&mut self) {
        while self.peek_at(0).is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
        }
    }

    /// The time part `hh(:mm(:ss(.fff)?)?)?` and, where allowed, a zone.
    fn time_part(&mut self) {
        self.digits();
        while self.peek_at(0) == Some(b':') && self.peek_at(1).is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
            self.digits();
        }
        if self.peek_at(0) == Some(b'.') && self.peek_at(1).is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
            self.digits();
        }
        match self.peek_at(0) {
            Some(b'Z') => self.pos += 1,
            Some(b'+' | b'-')
                if self.bytes.get(self.pos + 1..self.pos + 6).is_some_and(|z| {
                    z[0].is_ascii_digit()
                        && z[1].is_ascii_digit()
                        && z[2] == b':'
                        && z[3].is_ascii_digit()
                        && z[4].is_ascii_digit()
                }) =>
            {
                self.pos += 6;
            }
            _ => {}
        }
    }

    fn temporal(&mut self) -> Result<TokenKind> {
        let start = self.pos;
        self.pos += 1;
        if self.peek_at(0) == Some(b'T') {
            self.pos += 1;
            let body = self.pos;
            self.time_part();
            return Ok(TokenKind::Time(self.text[body..self.pos].to_owned()));
        }
        let body = self.pos;
        self.digits();
        while self.peek_at(0) == Some(b'-') && self.peek_at(1).is_some_and(|b| b.is_ascii_digit()) {
            self.pos += 1;
            self.digits();
        }
        if self.pos == body {
            return Err(Error::syntax(start, "expected a date or time after @"));
        }
        if self.peek_at(0) == Some(b'T') {
            self.pos += 1;
            if self.peek_at(0).is_some_and(|b| b.is_ascii_digit()) {
                self.time_part();
            }
        }
        Ok(TokenKind::DateTime(self.text[body..self.pos].to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<TokenKind> {
        tokenize(text)
            .expect(text)
            .into_iter()
            .map(|t| t.kind)
            .collect()
    }

    #[test]
    fn dates_stop_before_invocations() {
        assert_eq!(
            kinds("@2015-02-04T14:34:28.123.is(DateTime)")[..2],
            [
                TokenKind::DateTime("2015-02-04T14:34:28.123".into()),
                TokenKind::Symbol(".")
            ]
        );
        assert_eq!(kinds("@2015T.x")[0], TokenKind::DateTime("2015T".into()));
        assert_eq!(kinds("@T14:34")[0], TokenKind::Time("14:34".into()));
    }

    #[test]
    fn comments_are_skipped_and_unterminated_ones_fail() {
        assert_eq!(kinds("2 /* x */ + // y\n 2").len(), 4);
        assert!(tokenize("2 /* x").is_err());
    }

    #[test]
    fn escapes_are_decoded() {
        assert_eq!(
            kinds(r"'a\'b\u0065\n'")[0],
            TokenKind::String("a'be\n".into())
        );
    }
}
