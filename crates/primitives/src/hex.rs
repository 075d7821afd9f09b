//! `0x`-hex, the text form of hashes, keys and encoded transactions at every boundary.

use std::fmt::Write as _;

/// Lower-case hex with a `0x` prefix.
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().saturating_mul(2).saturating_add(2));
    out.push_str("0x");
    for b in bytes {
        // Writing to a String cannot fail.
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// Why text is not hex.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HexError {
    /// An odd number of digits.
    #[error("hex has an odd number of digits")]
    OddLength,
    /// A character that is not a hex digit.
    #[error("{0:?} is not a hex digit")]
    BadDigit(char),
}

/// Parses hex, with or without the `0x` prefix; surrounding whitespace is ignored.
pub fn decode(text: &str) -> Result<Vec<u8>, HexError> {
    let text = text.trim();
    let text = text.strip_prefix("0x").unwrap_or(text);
    if text.len() % 2 != 0 {
        return Err(HexError::OddLength);
    }
    let digit = |c: u8| {
        char::from(c)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
            .ok_or(HexError::BadDigit(char::from(c)))
    };
    text.as_bytes()
        .chunks_exact(2)
        .map(|pair| match *pair {
            [high, low] => Ok(digit(high)?.wrapping_shl(4) | digit(low)?),
            _ => Err(HexError::OddLength),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects() {
        let bytes = [0x00, 0x01, 0xab, 0xff];
        assert_eq!(encode(&bytes), "0x0001abff");
        assert_eq!(decode("0x0001abff").unwrap(), bytes);
        assert_eq!(decode(" 0001ABFF\n").unwrap(), bytes);
        assert_eq!(decode("0x").unwrap(), Vec::<u8>::new());
        assert_eq!(decode("0x123"), Err(HexError::OddLength));
        assert_eq!(decode("0xzz"), Err(HexError::BadDigit('z')));
        // Multi-byte characters are rejected, not split.
        assert!(decode("é0").is_err());
    }
}
