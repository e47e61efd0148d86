//! Line and column of an issue in the JSON text it was found in: the
//! location expression (`Patient.name[0].given[1]`, `Observation.value.ofType(Quantity)`)
//! is followed through the text, which is scanned but never parsed into values.

/// The line and column (from 1) where the value at `expression` starts in
/// `text`, the JSON of the resource the expression's first step names.
pub fn locate(text: &str, expression: &str) -> Option<(usize, usize)> {
    let mut steps = Vec::new();
    for part in split(expression).into_iter().skip(1) {
        let (head, index) = match part.strip_suffix(']').and_then(|p| p.rsplit_once('[')) {
            Some((head, index)) => (head, Some(index.parse::<usize>().ok()?)),
            None => (part, None),
        };
        if let Some(ty) = head
            .strip_prefix("ofType(")
            .and_then(|t| t.strip_suffix(')'))
        {
            let (name, _) = steps.pop()?;
            steps.push((format!("{name}{ty}"), index));
        } else {
            steps.push((head.to_owned(), index));
        }
    }
    let mut scanner = Scanner {
        bytes: text.as_bytes(),
        at: 0,
    };
    scanner.space();
    for (key, index) in &steps {
        scanner.find_key(key)?;
        if let Some(index) = index {
            scanner.space();
            if scanner.peek()? == b'[' {
                scanner.at += 1;
                for _ in 0..*index {
                    scanner.space();
                    scanner.skip_value()?;
                    scanner.space();
                    if scanner.peek()? != b',' {
                        return None;
                    }
                    scanner.at += 1;
                }
                scanner.space();
            }
        }
    }
    Some(scanner.line_column())
}

/// Splits an expression at the dots outside parentheses.
fn split(expression: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0usize, 0);
    for (i, c) in expression.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            '.' if depth == 0 => {
                out.push(&expression[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&expression[start..]);
    out
}

struct Scanner<'t> {
    bytes: &'t [u8],
    at: usize,
}

impl<'t> Scanner<'t> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\n' | b'\r' | b'\t')) {
            self.at += 1;
        }
    }

    /// Inside the object starting here, moves to the value of `key`.
    fn find_key(&mut self, key: &str) -> Option<()> {
        self.space();
        if self.peek()? != b'{' {
            return None;
        }
        self.at += 1;
        loop {
            self.space();
            if self.peek()? == b'}' {
                return None;
            }
            let name = self.string()?;
            self.space();
            if self.peek()? != b':' {
                return None;
            }
            self.at += 1;
            self.space();
            if name == key.as_bytes() {
                return Some(());
            }
            self.skip_value()?;
            self.space();
            if self.peek()? == b',' {
                self.at += 1;
            }
        }
    }

    /// Reads a string (without unescaping) and returns its raw bytes.
    fn string(&mut self) -> Option<&'t [u8]> {
        if self.peek()? != b'"' {
            return None;
        }
        let start = self.at + 1;
        self.at += 1;
        loop {
            match self.peek()? {
                b'\\' => self.at += 2,
                b'"' => {
                    self.at += 1;
                    return self.bytes.get(start..self.at - 1);
                }
                _ => self.at += 1,
            }
        }
    }

    fn skip_value(&mut self) -> Option<()> {
        match self.peek()? {
            b'"' => self.string().map(|_| ()),
            open @ (b'{' | b'[') => {
                let close = if open == b'{' { b'}' } else { b']' };
                let mut depth = 0usize;
                loop {
                    match self.peek()? {
                        b'"' => {
                            self.string()?;
                            continue;
                        }
                        b if b == open => depth += 1,
                        b if b == close => {
                            depth -= 1;
                            if depth == 0 {
                                self.at += 1;
                                return Some(());
                            }
                        }
                        _ => {}
                    }
                    self.at += 1;
                }
            }
            _ => {
                while !matches!(self.peek()?, b',' | b'}' | b']') {
                    self.at += 1;
                }
                Some(())
            }
        }
    }

    fn line_column(&self) -> (usize, usize) {
        let before = &self.bytes[..self.at.min(self.bytes.len())];
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let line_start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p + 1);
        let column = String::from_utf8_lossy(&before[line_start..])
            .chars()
            .count()
            + 1;
        (line, column)
    }
}

#[cfg(test)]
mod tests {
    use super::locate;

    #[test]
    fn expressions_lead_to_their_line_and_column() {
        let text = "{\n  \"resourceType\": \"Patient\",\n  \"name\": [\n    {\"given\": [\"a\", \"b\"]},\n    {\"family\": \"x\"}\n  ],\n  \"valueQuantity\": {\"value\": 1}\n}";
        assert_eq!(locate(text, "Patient.name[1].family"), Some((5, 16)));
        assert_eq!(locate(text, "Patient.name[0].given[1]"), Some((4, 21)));
        assert_eq!(
            locate(text, "Patient.value.ofType(Quantity)"),
            Some((7, 20))
        );
        assert_eq!(locate(text, "Patient.nothing"), None);
    }
}
