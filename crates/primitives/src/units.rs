//! Token amounts: [`Rao`] (TAO) and [`AlphaRao`] (a subnet's alpha), both in units of 10^-9.
//!
//! Amounts are exact integers. Text is parsed and printed in whole tokens with up to nine
//! decimals, without ever going through a float.

use core::{fmt, str::FromStr};

/// Smallest units per whole token (TAO or alpha): 10^9.
pub const RAO_PER_TAO: u64 = 1_000_000_000;

const DECIMALS: usize = 9;

/// Why a decimal token amount could not be parsed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParseAmountError {
    /// The text is empty.
    #[error("empty amount")]
    Empty,
    /// A character other than digits and one decimal point.
    #[error("invalid amount {0:?}: expected digits with at most one '.', e.g. 1.25")]
    Invalid(String),
    /// More than nine decimals: the amount is finer than one RAO.
    #[error("amount {0:?} has more than 9 decimals (1 RAO = 0.000000001)")]
    TooPrecise(String),
    /// The amount does not fit in 64 bits of RAO.
    #[error("amount {0:?} is too large")]
    Overflow(String),
}

macro_rules! amount_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, codec::Encode, codec::Decode,
)]
        #[repr(transparent)]
        pub struct $name(u64);

        impl $name {
            /// Zero.
            pub const ZERO: $name = $name(0);
            /// The largest representable amount.
            pub const MAX: $name = $name(u64::MAX);

            /// An amount of `raw` smallest units.
            pub const fn new(raw: u64) -> Self {
                Self(raw)
            }

            /// The amount in smallest units.
            pub const fn get(self) -> u64 {
                self.0
            }

            /// `whole` tokens, or `None` if that overflows.
            pub const fn from_whole(whole: u64) -> Option<Self> {
                match whole.checked_mul(RAO_PER_TAO) {
                    Some(raw) => Some(Self(raw)),
                    None => None,
                }
            }

            /// Whether the amount is zero.
            pub const fn is_zero(self) -> bool {
                self.0 == 0
            }

            /// `self + other`, or `None` on overflow.
            pub const fn checked_add(self, other: Self) -> Option<Self> {
                match self.0.checked_add(other.0) {
                    Some(raw) => Some(Self(raw)),
                    None => None,
                }
            }

            /// `self - other`, or `None` if `other > self`.
            pub const fn checked_sub(self, other: Self) -> Option<Self> {
                match self.0.checked_sub(other.0) {
                    Some(raw) => Some(Self(raw)),
                    None => None,
                }
            }

            /// `self + other`, clamped at the maximum.
            pub const fn saturating_add(self, other: Self) -> Self {
                Self(self.0.saturating_add(other.0))
            }

            /// `self - other`, clamped at zero.
            pub const fn saturating_sub(self, other: Self) -> Self {
                Self(self.0.saturating_sub(other.0))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt_decimal(self.0, f)
            }
        }

        impl FromStr for $name {
            type Err = ParseAmountError;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                parse_decimal(text).map(Self)
            }
        }
    };
}

amount_type!(
    /// An amount of TAO in RAO (1 TAO = 10^9 RAO).
    ///
    /// ```
    /// use tao_primitives::Rao;
    /// let amount: Rao = "1.25".parse()?;
    /// assert_eq!(amount, Rao::new(1_250_000_000));
    /// assert_eq!(amount.to_string(), "1.25");
    /// assert!("0.0000000001".parse::<Rao>().is_err()); // finer than one RAO
    /// # Ok::<(), tao_primitives::ParseAmountError>(())
    /// ```
    Rao
);
amount_type!(
    /// An amount of a subnet's alpha token in its smallest unit (1 alpha = 10^9).
    AlphaRao
);

/// Prints `raw` smallest units as a decimal number of tokens, trailing zeros trimmed.
fn fmt_decimal(raw: u64, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let whole = raw / RAO_PER_TAO;
    let frac = raw % RAO_PER_TAO;
    if frac == 0 {
        return write!(f, "{whole}");
    }
    let digits = format!("{frac:09}");
    write!(f, "{whole}.{}", digits.trim_end_matches('0'))
}

/// Parses a decimal number of tokens ("12", "0.5", ".25", "3.") into smallest units.
fn parse_decimal(text: &str) -> Result<u64, ParseAmountError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(ParseAmountError::Empty);
    }
    let (whole, frac) = match text.split_once('.') {
        Some((whole, frac)) => (whole, frac),
        None => (text, ""),
    };
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && frac.is_empty()) || !all_digits(whole) || !all_digits(frac) {
        return Err(ParseAmountError::Invalid(text.to_owned()));
    }
    if frac.len() > DECIMALS {
        return Err(ParseAmountError::TooPrecise(text.to_owned()));
    }
    let overflow = || ParseAmountError::Overflow(text.to_owned());
    let whole: u64 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| overflow())? };
    let mut frac_raw: u64 = 0;
    for position in 0..DECIMALS {
        let digit = frac.as_bytes().get(position).map_or(0, |b| u64::from(b.saturating_sub(b'0')));
        frac_raw = frac_raw.saturating_mul(10).saturating_add(digit);
    }
    whole.checked_mul(RAO_PER_TAO).and_then(|w| w.checked_add(frac_raw)).ok_or_else(overflow)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_decimal_amounts_exactly() {
        assert_eq!("1".parse::<Rao>(), Ok(Rao::new(1_000_000_000)));
        assert_eq!("0.5".parse::<Rao>(), Ok(Rao::new(500_000_000)));
        assert_eq!(".25".parse::<Rao>(), Ok(Rao::new(250_000_000)));
        assert_eq!("3.".parse::<Rao>(), Ok(Rao::new(3_000_000_000)));
        assert_eq!("0.000000001".parse::<Rao>(), Ok(Rao::new(1)));
        assert_eq!(" 21000000 ".parse::<Rao>(), Ok(Rao::new(21_000_000 * RAO_PER_TAO)));
    }

    #[test]
    fn rejects_bad_amounts_with_a_reason() {
        assert_eq!("".parse::<Rao>(), Err(ParseAmountError::Empty));
        assert!(matches!("1.2.3".parse::<Rao>(), Err(ParseAmountError::Invalid(_))));
        assert!(matches!("-1".parse::<Rao>(), Err(ParseAmountError::Invalid(_))));
        assert!(matches!(".".parse::<Rao>(), Err(ParseAmountError::Invalid(_))));
        assert!(matches!("1e9".parse::<Rao>(), Err(ParseAmountError::Invalid(_))));
        assert!(matches!("0.0000000001".parse::<Rao>(), Err(ParseAmountError::TooPrecise(_))));
        assert!(matches!("18446744074".parse::<Rao>(), Err(ParseAmountError::Overflow(_))));
    }

    #[test]
    fn prints_trimmed_decimals() {
        assert_eq!(Rao::new(1_500_000_000).to_string(), "1.5");
        assert_eq!(Rao::new(2_000_000_000).to_string(), "2");
        assert_eq!(AlphaRao::new(1).to_string(), "0.000000001");
        assert_eq!(Rao::ZERO.to_string(), "0");
    }

    #[test]
    fn arithmetic_is_checked() {
        assert_eq!(Rao::MAX.checked_add(Rao::new(1)), None);
        assert_eq!(Rao::ZERO.checked_sub(Rao::new(1)), None);
        assert_eq!(Rao::MAX.saturating_add(Rao::new(1)), Rao::MAX);
        assert_eq!(Rao::ZERO.saturating_sub(Rao::new(1)), Rao::ZERO);
        assert_eq!(Rao::from_whole(2), Some(Rao::new(2 * RAO_PER_TAO)));
        assert_eq!(Rao::from_whole(u64::MAX), None);
    }

    proptest! {
        #[test]
        fn display_then_parse_is_identity(raw in any::<u64>()) {
            let amount = Rao::new(raw);
            prop_assert_eq!(amount.to_string().parse::<Rao>(), Ok(amount));
        }
    }
}
