//! Fixed-point numbers with the reference chain's rounding.
//!
//! The types are `substrate-fixed`'s, the crate the reference chain uses, so the raw bits
//! match. The semantics that matter for bit-exact results (see `chain-protocol.md` §0.2):
//!
//! | operation | result on raw integers |
//! |---|---|
//! | `a.saturating_mul(b)` | `(a·b) >> frac`, floor toward −∞, clamped |
//! | [`SafeDiv::safe_div`] | `(a << frac) / b` truncated toward zero; 0 when `b == 0` or on overflow |
//! | `saturating_from_num(int)` | exact |
//! | `saturating_to_num::<uint>()` | drops the fraction (floor), clamped |
//! | narrowing `I64F64` → `I32F32` | drops low fraction bits (floor) |
//!
//! Never use the `+ - * /` operators on these types in consensus code: they panic on
//! overflow in debug builds and wrap in release builds. Use the `saturating_*`/`checked_*`
//! methods and [`SafeDiv`].

pub use substrate_fixed::types::{I32F32, I64F64, I96F32, U64F64, U96F32};

/// Division that returns zero instead of panicking (the reference chain's `safe_div`).
pub trait SafeDiv: Sized {
    /// `self / rhs`, or zero if `rhs` is zero or the quotient does not fit.
    fn safe_div(self, rhs: Self) -> Self;
}

macro_rules! impl_safe_div {
    ($($ty:ty),*) => {$(
        impl SafeDiv for $ty {
            fn safe_div(self, rhs: Self) -> Self {
                self.checked_div(rhs).unwrap_or_default()
            }
        }
    )*};
}
impl_safe_div!(I32F32, I64F64, I96F32, U64F64, U96F32);

/// `u16::MAX` as an `I32F32` (the denominator of every u16 proportion).
pub fn u16_max_fixed() -> I32F32 {
    I32F32::saturating_from_num(u16::MAX)
}

/// A raw `u16` as an integer-valued `I32F32` (65535 → 65535.0).
pub fn u16_to_fixed(raw: u16) -> I32F32 {
    I32F32::saturating_from_num(raw)
}

/// A u16 proportion as a fraction of one: `raw / 65535`, truncated (65535 → 1.0).
pub fn u16_proportion_to_fixed(raw: u16) -> I32F32 {
    u16_to_fixed(raw).safe_div(u16_max_fixed())
}

/// A fraction of one as a u16 proportion: `floor(x · 65535)`, clamped to `[0, 65535]`.
pub fn fixed_proportion_to_u16(x: I32F32) -> u16 {
    x.saturating_mul(u16_max_fixed()).saturating_to_num::<u16>()
}

/// Narrows an `I64F64` to `I32F32` by dropping the low fraction bits (floor), clamped.
pub fn fixed64_to_fixed32(x: I64F64) -> I32F32 {
    I32F32::saturating_from_num(x)
}

/// Widens an `I32F32` to `I64F64` (exact).
pub fn fixed32_to_fixed64(x: I32F32) -> I64F64 {
    I64F64::saturating_from_num(x)
}

/// A per-million parameter (e.g. `BondsMovingAverage`) as a fraction: `raw / 10^6` in
/// `I64F64` (the precision the reference computes it in).
pub fn per_million_to_fixed64(raw: u64) -> I64F64 {
    I64F64::saturating_from_num(raw).safe_div(I64F64::saturating_from_num(1_000_000u32))
}

/// Sum of `I32F32` values, clamped at the type's bounds instead of overflowing.
pub fn saturating_sum<'a>(values: impl IntoIterator<Item = &'a I32F32>) -> I32F32 {
    values.into_iter().fold(I32F32::from_num(0), |acc, v| acc.saturating_add(*v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn proportion_endpoints() {
        assert_eq!(u16_proportion_to_fixed(0), I32F32::from_num(0));
        assert_eq!(u16_proportion_to_fixed(u16::MAX), I32F32::from_num(1));
        assert_eq!(fixed_proportion_to_u16(I32F32::from_num(1)), u16::MAX);
        assert_eq!(fixed_proportion_to_u16(I32F32::from_num(2)), u16::MAX);
        assert_eq!(fixed_proportion_to_u16(I32F32::from_num(-1)), 0);
    }

    #[test]
    fn kappa_default_is_just_below_one_half() {
        // 32767 / 65535 truncated: the reference's default kappa.
        let kappa = u16_proportion_to_fixed(32_767);
        assert!(kappa < I32F32::from_num(0.5));
        assert_eq!(kappa.to_bits(), (32_767i64 << 32) / 65_535);
    }

    #[test]
    fn safe_div_by_zero_and_overflow_is_zero() {
        let one = I32F32::from_num(1);
        assert_eq!(one.safe_div(I32F32::from_num(0)), I32F32::from_num(0));
        assert_eq!(I32F32::max_value().safe_div(I32F32::from_bits(1)), I32F32::from_num(0));
        assert_eq!(one.safe_div(I32F32::from_num(4)), I32F32::from_num(0.25));
    }

    #[test]
    fn multiply_floors_toward_negative_infinity() {
        let tiny = I32F32::from_bits(1);
        let half = I32F32::from_num(0.5);
        assert_eq!(tiny.saturating_mul(half), I32F32::from_num(0));
        assert_eq!((-tiny).saturating_mul(half), -tiny);
    }

    #[test]
    fn narrowing_floors() {
        let x = I64F64::from_bits((1i128 << 64) / 3);
        assert_eq!(fixed64_to_fixed32(x).to_bits(), (1i64 << 32) / 3);
        assert_eq!(fixed32_to_fixed64(I32F32::from_num(0.25)), I64F64::from_num(0.25));
        assert_eq!(per_million_to_fixed64(900_000), I64F64::from_num(9) / I64F64::from_num(10));
    }

    proptest! {
        #[test]
        fn u16_proportion_round_trip_loses_at_most_one(raw in any::<u16>()) {
            // Both directions truncate, as on the reference chain: a stored value can
            // come back one lower (e.g. 1 -> 0.99999.../65535 -> 0), never higher.
            let back = fixed_proportion_to_u16(u16_proportion_to_fixed(raw));
            prop_assert!(back == raw || back.checked_add(1) == Some(raw));
        }
    }
}
