//! Python's `str()` of a JSON value, as the Python SDK hashes synapse fields: `True`,
//! `None`, `[1, 2]`, `{'a': 1}`, floats in shortest repr (`1e-05`, `3.0`), strings inside
//! containers quoted as `repr` quotes them. Works on JSON text, so integers of any size are
//! kept exactly.

/// Why a text is not JSON this module accepts.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReprError {
    /// Malformed JSON at this byte offset.
    #[error("malformed JSON at byte {0}")]
    Malformed(usize),
    /// Nested deeper than [`MAX_DEPTH`].
    #[error("JSON nested deeper than {MAX_DEPTH}")]
    TooDeep,
}

/// Deepest nesting accepted.
pub const MAX_DEPTH: usize = 128;

/// `str(value)` for the JSON `text` of a value (a top-level string is used as-is).
pub fn python_str(text: &str) -> Result<String, ReprError> {
    let mut parser = Parser { text: text.as_bytes(), pos: 0 };
    parser.skip_ws();
    let mut out = String::new();
    if parser.peek() == Some(b'"') {
        out = parser.string()?;
    } else {
        parser.value(&mut out, 0)?;
    }
    parser.skip_ws();
    if parser.pos != parser.text.len() {
        return Err(ReprError::Malformed(parser.pos));
    }
    Ok(out)
}

struct Parser<'a> {
    text: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.get(self.pos).copied()
    }

    fn bump(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.pos = self.pos.saturating_add(1);
        Some(b)
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos = self.pos.saturating_add(1);
        }
    }

    fn expect(&mut self, byte: u8) -> Result<(), ReprError> {
        if self.bump() == Some(byte) {
            Ok(())
        } else {
            Err(ReprError::Malformed(self.pos))
        }
    }

    fn literal(&mut self, word: &str, out: &mut String, repr: &str) -> Result<(), ReprError> {
        let end = self.pos.saturating_add(word.len());
        if self.text.get(self.pos..end) == Some(word.as_bytes()) {
            self.pos = end;
            out.push_str(repr);
            Ok(())
        } else {
            Err(ReprError::Malformed(self.pos))
        }
    }

    fn value(&mut self, out: &mut String, depth: usize) -> Result<(), ReprError> {
        if depth > MAX_DEPTH {
            return Err(ReprError::TooDeep);
        }
        self.skip_ws();
        match self.peek() {
            Some(b'n') => self.literal("null", out, "None"),
            Some(b't') => self.literal("true", out, "True"),
            Some(b'f') => self.literal("false", out, "False"),
            Some(b'"') => {
                let s = self.string()?;
                out.push_str(&repr_str(&s));
                Ok(())
            }
            Some(b'[') => {
                self.pos = self.pos.saturating_add(1);
                out.push('[');
                self.skip_ws();
                if self.peek() == Some(b']') {
                    self.pos = self.pos.saturating_add(1);
                } else {
                    loop {
                        self.value(out, depth.saturating_add(1))?;
                        self.skip_ws();
                        match self.bump() {
                            Some(b',') => out.push_str(", "),
                            Some(b']') => break,
                            _ => return Err(ReprError::Malformed(self.pos)),
                        }
                    }
                }
                out.push(']');
                Ok(())
            }
            Some(b'{') => {
                self.pos = self.pos.saturating_add(1);
                out.push('{');
                self.skip_ws();
                if self.peek() == Some(b'}') {
                    self.pos = self.pos.saturating_add(1);
                } else {
                    loop {
                        self.skip_ws();
                        let key = self.string()?;
                        out.push_str(&repr_str(&key));
                        self.skip_ws();
                        self.expect(b':')?;
                        out.push_str(": ");
                        self.value(out, depth.saturating_add(1))?;
                        self.skip_ws();
                        match self.bump() {
                            Some(b',') => out.push_str(", "),
                            Some(b'}') => break,
                            _ => return Err(ReprError::Malformed(self.pos)),
                        }
                    }
                }
                out.push('}');
                Ok(())
            }
            Some(b'-' | b'0'..=b'9') => self.number(out),
            _ => Err(ReprError::Malformed(self.pos)),
        }
    }

    fn number(&mut self, out: &mut String) -> Result<(), ReprError> {
        let start = self.pos;
        let mut float = false;
        while let Some(b) = self.peek() {
            match b {
                b'0'..=b'9' | b'-' | b'+' => {}
                b'.' | b'e' | b'E' => float = true,
                _ => break,
            }
            self.pos = self.pos.saturating_add(1);
        }
        let text = std::str::from_utf8(self.text.get(start..self.pos).unwrap_or_default())
            .map_err(|_| ReprError::Malformed(start))?;
        if float {
            let value: f64 = text.parse().map_err(|_| ReprError::Malformed(start))?;
            out.push_str(&repr_float(value));
        } else {
            // Python ints are exact: keep the digits (normalizing "-0").
            let digits = text.strip_prefix('-').unwrap_or(text);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ReprError::Malformed(start));
            }
            if text.starts_with('-') && digits.bytes().any(|b| b != b'0') {
                out.push('-');
            }
            out.push_str(digits);
        }
        Ok(())
    }

    /// A JSON string literal, decoded.
    fn string(&mut self) -> Result<String, ReprError> {
        self.expect(b'"')?;
        let mut bytes = Vec::new();
        loop {
            let at = self.pos;
            match self.bump().ok_or(ReprError::Malformed(at))? {
                b'"' => break,
                b'\\' => {
                    let c = match self.bump().ok_or(ReprError::Malformed(at))? {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => self.unicode_escape()?,
                        _ => return Err(ReprError::Malformed(at)),
                    };
                    let mut buf = [0u8; 4];
                    bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
                b => bytes.push(b),
            }
        }
        String::from_utf8(bytes).map_err(|_| ReprError::Malformed(self.pos))
    }

    fn hex4(&mut self) -> Result<u32, ReprError> {
        let end = self.pos.saturating_add(4);
        let digits = self.text.get(self.pos..end).ok_or(ReprError::Malformed(self.pos))?;
        let text = std::str::from_utf8(digits).map_err(|_| ReprError::Malformed(self.pos))?;
        let value = u32::from_str_radix(text, 16).map_err(|_| ReprError::Malformed(self.pos))?;
        self.pos = end;
        Ok(value)
    }

    fn unicode_escape(&mut self) -> Result<char, ReprError> {
        let at = self.pos;
        let high = self.hex4()?;
        let code = if (0xD800..0xDC00).contains(&high) {
            // A surrogate pair.
            if self.bump() != Some(b'\\') || self.bump() != Some(b'u') {
                return Err(ReprError::Malformed(at));
            }
            let low = self.hex4()?;
            if !(0xDC00..0xE000).contains(&low) {
                return Err(ReprError::Malformed(at));
            }
            0x10000u32
                .saturating_add((high.saturating_sub(0xD800) << 10) | low.saturating_sub(0xDC00))
        } else {
            high
        };
        char::from_u32(code).ok_or(ReprError::Malformed(at))
    }
}

/// Python's `repr(float)`: the shortest digits that round-trip, in fixed notation when the
/// decimal exponent is in `-4..16` (with `.0` if integral), else scientific (`1e-05`).
pub fn repr_float(value: f64) -> String {
    if value.is_nan() {
        return "nan".into();
    }
    if value.is_infinite() {
        return if value > 0.0 { "inf".into() } else { "-inf".into() };
    }
    // Rust's `{:e}` gives the shortest round-trip digits: "1.2345e-7", "5e0", "-0e0".
    let sci = format!("{value:e}");
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    if (-4..16).contains(&exponent) {
        let point = exponent.saturating_add(1);
        let body = if point <= 0 {
            let zeros = usize::try_from(point.unsigned_abs()).unwrap_or(0);
            format!("0.{}{digits}", "0".repeat(zeros))
        } else {
            let point = usize::try_from(point).unwrap_or(0);
            if digits.len() <= point {
                format!("{digits}{}.0", "0".repeat(point.saturating_sub(digits.len())))
            } else {
                let (whole, frac) = digits.split_at(point);
                format!("{whole}.{frac}")
            }
        };
        format!("{sign}{body}")
    } else {
        let (first, rest) = digits.split_at(1.min(digits.len()));
        let mantissa = if rest.is_empty() { first.to_owned() } else { format!("{first}.{rest}") };
        let exp_sign = if exponent < 0 { '-' } else { '+' };
        format!("{sign}{mantissa}e{exp_sign}{:02}", exponent.unsigned_abs())
    }
}

/// Whether Python's `str.isprintable` is false for `c` (control, format, and separator
/// characters other than the ASCII space), so that `repr` escapes it.
fn non_printable(c: char) -> bool {
    matches!(u32::from(c),
        0x00..=0x1F | 0x7F..=0xA0 | 0xAD | 0x034F | 0x061C | 0x1680 | 0x180E
        | 0x2000..=0x200F | 0x2028..=0x202F | 0x205F..=0x206F | 0x3000 | 0xD800..=0xF8FF
        | 0xFEFF | 0xFFF9..=0xFFFB | 0xE0001 | 0xE0020..=0xE007F | 0xF0000..)
}

/// Python's `repr(str)`.
pub fn repr_str(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') { '"' } else { '\'' };
    let mut out = String::with_capacity(s.len().saturating_add(2));
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if non_printable(c) => {
                let code = u32::from(c);
                if code <= 0xFF {
                    out.push_str(&format!("\\x{code:02x}"));
                } else if code <= 0xFFFF {
                    out.push_str(&format!("\\u{code:04x}"));
                } else {
                    out.push_str(&format!("\\U{code:08x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_as_python_prints_them() {
        for (value, text) in [
            (1.5, "1.5"),
            (0.1, "0.1"),
            (1e-5, "1e-05"),
            (1e16, "1e+16"),
            (3.0, "3.0"),
            (0.0001, "0.0001"),
            (123456789012345.0, "123456789012345.0"),
            (1.5e300, "1.5e+300"),
            (-0.0, "-0.0"),
            (-2.5e-7, "-2.5e-07"),
            (1e22, "1e+22"),
            (9999999999999998.0, "9999999999999998.0"),
        ] {
            assert_eq!(repr_float(value), text, "{value}");
        }
    }

    #[test]
    fn strings_are_quoted_as_repr_quotes_them() {
        assert_eq!(repr_str("a"), "'a'");
        assert_eq!(repr_str("b'c"), "\"b'c\"");
        assert_eq!(repr_str("b'c\""), "'b\\'c\"'");
        assert_eq!(repr_str("tab\there\\"), "'tab\\there\\\\'");
        assert_eq!(repr_str("\u{1}é✓"), "'\\x01é✓'");
        assert_eq!(
            python_str(r#"{"a": [1, "x"], "b": null, "c": -0}"#).unwrap(),
            "{'a': [1, 'x'], 'b': None, 'c': 0}"
        );
    }

    #[test]
    fn malformed_json_is_an_error_not_a_panic() {
        for bad in
            ["", "[", "[1,", "{\"a\" 1}", "\"\\u12\"", "tru", "1 2", "\"\\ud800\"", "-", "[1]]"]
        {
            assert!(python_str(bad).is_err(), "{bad:?}");
        }
        let deep = "[".repeat(1000) + &"]".repeat(1000);
        assert_eq!(python_str(&deep), Err(ReprError::TooDeep));
    }
}
