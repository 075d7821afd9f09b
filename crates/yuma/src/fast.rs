//! Exact shortcuts for the dense path's inner loops: the same bits as the reference
//! operations they replace, computed without a 128-bit division per cell.
//!
//! Each function names the reference operation it equals; the unit tests below check the
//! equality on edge cases and on hundreds of thousands of random inputs.

use crate::{
    math::{one, zero},
    pool,
};
use tao_primitives::{
    fixed::{fixed64_to_fixed32, SafeDiv, I32F32, I64F64},
    AlphaRao,
};

/// Division of many `I32F32`s by one divisor: `a.safe_div(d)` bit for bit.
///
/// For `a ≥ 0` and `d > 0` the quotient `⌊a·2³² / d⌋` is computed with a precomputed
/// reciprocal (Möller–Granlund, "Improved division by invariant integers", algorithm 4):
/// two multiplications instead of a 128-bit division. Other signs fall back to `safe_div`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Divisor {
    fixed: I32F32,
    /// `d << shift`, the divisor with its top bit set; 0 when `d ≤ 0` (fallback).
    normalized: u64,
    shift: u32,
    /// `⌊(2¹²⁸ − 1) / normalized⌋ − 2⁶⁴`.
    reciprocal: u64,
}

impl Divisor {
    /// Prepares division by `d`.
    pub(crate) fn new(d: I32F32) -> Self {
        let (normalized, shift, reciprocal) = match u64::try_from(d.to_bits()) {
            Ok(bits) if bits > 0 => {
                let shift = bits.leading_zeros();
                let normalized = bits.wrapping_shl(shift);
                let inverse = (u128::MAX)
                    .checked_div(u128::from(normalized))
                    .unwrap_or_default()
                    .wrapping_sub(1u128 << 64);
                (normalized, shift, u64::try_from(inverse).unwrap_or_default())
            }
            _ => (0, 0, 0),
        };
        Self { fixed: d, normalized, shift, reciprocal }
    }

    /// `a.safe_div(d)`.
    #[inline]
    pub(crate) fn divide(&self, a: I32F32) -> I32F32 {
        let Ok(a_bits) = u64::try_from(a.to_bits()) else { return a.safe_div(self.fixed) };
        if self.normalized == 0 {
            return a.safe_div(self.fixed);
        }
        let d = self.normalized.wrapping_shr(self.shift);
        // The quotient `a·2³²/d` fits 64 bits iff `a·2³² < d·2⁶⁴`, i.e. `a >> 32 < d`.
        // A larger one does not fit an `I32F32` either: `safe_div` gives 0.
        if a_bits.wrapping_shr(32) >= d {
            return zero();
        }
        // `a·2³²·2^shift < normalized·2⁶⁴ ≤ 2¹²⁸`: no bits lost.
        let numerator = u128::from(a_bits).wrapping_shl(32u32.wrapping_add(self.shift));
        let quotient = div_2by1(numerator, self.normalized, self.reciprocal);
        i64::try_from(quotient).map_or(zero(), I32F32::from_bits)
    }
}

impl Divisor {
    /// `a.safe_div(d)` on raw bits for `0 ≤ a ≤ d` (and `d > 0`), which callers prove (a
    /// non-negative term of the non-negative sum `d`): the quotient `⌊a·2³²/d⌋ ≤ 2³²` needs
    /// none of [`Self::divide`]'s checks. Outside that range the result is meaningless (but
    /// never a panic).
    #[inline]
    pub(crate) fn divide_unit(&self, a: i64) -> i64 {
        // `a ≤ d`, so `a·2^shift ≤ normalized < 2⁶⁴` fits a `u64` (a constant shift by 32 then
        // makes the numerator), and `a·2³²·2^shift < normalized·2⁶⁴`: `div_2by1`'s bound.
        let scaled = (a as u64).wrapping_shl(self.shift);
        let numerator = u128::from(scaled) << 32;
        div_2by1(numerator, self.normalized, self.reciprocal) as i64
    }
}

/// `math::normalize_with_sum`, bit for bit: every value divided by `total` with one
/// [`UnitDivisor`] (values in `[0, total]`) or one [`Divisor`] (`safe_div` for any signs),
/// unless `total` is zero.
pub(crate) fn normalize_with_sum(values: &mut [I32F32], total: I32F32) {
    if total == zero() {
        return;
    }
    // The usual vector: every value in `[0, total]` (and below 2³³): one product each
    // ([`UnitDivisor`]'s range, checked first).
    let bound = total.to_bits().min((1 << 33) - 1);
    let (in_range, any) = values.iter().fold((true, 0), |(ok, any), v| {
        (ok & (0..=bound).contains(&v.to_bits()), any | v.to_bits())
    });
    if in_range && divide_all(values, total, any) {
        return;
    }
    let divisor = Divisor::new(total);
    for value in values.iter_mut() {
        *value = divisor.divide(*value);
    }
}

/// `saturating_sum(values)`, bit for bit, and the OR of the values' bits. When every value
/// is in [0, 2³²) (the usual vector: the OR's top 32 bits clear), the sum is below
/// `len · 2³² < 2⁶³`, never saturated, so the plain sum (which vectorizes; the saturating
/// one does not) is the saturating one.
#[inline]
pub(crate) fn sum_and_bits(values: &[I32F32]) -> (I32F32, i64) {
    let any = values.iter().fold(0i64, |any, v| any | v.to_bits());
    let total = if (any as u64) >> 32 == 0 && values.len() < 1 << 31 {
        I32F32::from_bits(values.iter().fold(0i64, |total, v| total.wrapping_add(v.to_bits())))
    } else {
        values.iter().fold(zero(), |total, v| total.saturating_add(*v))
    };
    (total, any)
}

/// `saturating_sum(values)`, bit for bit ([`sum_and_bits`]).
#[inline]
pub(crate) fn sum(values: &[I32F32]) -> I32F32 {
    sum_and_bits(values).0
}

/// `math::normalize`, bit for bit: divided by the saturating sum.
pub(crate) fn normalize(values: &mut [I32F32]) {
    let (total, any) = sum_and_bits(values);
    // Every value non-negative (their OR's sign bit is clear) and a sum below 2³³ (so not
    // saturated): each value is at most the sum, [`UnitDivisor`]'s range, without the
    // check per value.
    if any >= 0 && total.to_bits() < 1 << 33 && divide_all(values, total, any) {
        return;
    }
    normalize_with_sum(values, total);
}

/// [`UnitDivisor::divide`] by `total` of every value, each in its range (callers prove it);
/// `any` is the OR of their bits. When every value is below one (`any < 2³²`: the usual
/// vector of stakes, ranks or dividends), in the 32-bit lane products of [`SplitDivisor`]
/// (the same bits, tested), which vectorize. `false` (nothing divided) for a total outside
/// their range (the same for both).
fn divide_all(values: &mut [I32F32], total: I32F32, any: i64) -> bool {
    if (any as u64) >> 32 == 0 {
        let Some(split) = u64::try_from(total.to_bits()).ok().and_then(SplitDivisor::new) else {
            return false;
        };
        for value in values.iter_mut() {
            *value = I32F32::from_bits(split.divide(value.to_bits()));
        }
        return true;
    }
    let Some(unit) = UnitDivisor::new(total) else { return false };
    for value in values.iter_mut() {
        *value = I32F32::from_bits(unit.divide(value.to_bits()));
    }
    true
}

/// Division of a value in [0, 1] by a sum of such values, `a.safe_div(d)` for
/// `0 ≤ a ≤ d` (raw bits `a ≤ 2³²`), with one 64×64-bit multiplication, a small one and a
/// shift of one word.
///
/// With `ℓ = ⌈log₂ d⌉`, `k = max(64, 33 + ℓ)` and `m = ⌈2^(k+32) / d⌉`: `m·d = 2^(k+32) + e`
/// with `0 ≤ e < d ≤ 2^ℓ`, so for `a < 2³³`, writing `a·2³² = q·d + r` (`0 ≤ r < d`),
/// `a·m / 2^k = q + (r + a·e/2^k) / d` where `a·e/2^k < 2³³·2^ℓ/2^k ≤ 1`: the fraction stays
/// below 1 and `⌊a·m / 2^k⌋ = q = ⌊a·2³²/d⌋`, the library's quotient (it fits: `a ≤ d`).
/// `k + 32 ≤ 127` for `d` in `1..2⁶²`, so `m < 2¹²⁸`: split as `high·2⁶⁴ + low`,
/// `⌊a·m / 2⁶⁴⌋ = ⌊a·low / 2⁶⁴⌋ + a·high` (the high word of one 64×64 product plus a
/// small product), at most `a·m / 2⁶⁴ ≤ (2^(k+32)·a/d + a) / 2⁶⁴ < 2⁶⁴`: no partial sum
/// wraps; then `q` is that shifted right by `k − 64` (0 to 31).
#[derive(Clone, Copy, Debug)]
pub(crate) struct UnitDivisor {
    low: u64,
    high: u64,
    /// `k − 64`.
    shift: u32,
}

impl UnitDivisor {
    /// For `d` in `(0, 2³⁰)` (raw bits below 2⁶²); `None` otherwise.
    pub(crate) fn new(d: I32F32) -> Option<Self> {
        let d = u64::try_from(d.to_bits()).ok().filter(|d| (1..1 << 62).contains(d))?;
        // ℓ = ⌈log₂ d⌉ (0 for d = 1).
        let l = u64::BITS.wrapping_sub(d.wrapping_sub(1).leading_zeros());
        let k = 33u32.wrapping_add(l).max(64);
        let power = 1u128.checked_shl(k.wrapping_add(32))?;
        let d128 = u128::from(d);
        let m = power.checked_add(d128.wrapping_sub(1))?.checked_div(d128)?;
        Some(Self { low: m as u64, high: (m >> 64) as u64, shift: k.wrapping_sub(64) })
    }

    /// `a.safe_div(d)` on raw bits for `0 ≤ a ≤ min(d, 2³³ − 1)`, which callers prove;
    /// outside it the result is meaningless (but never a panic).
    #[inline]
    pub(crate) fn divide(&self, a: i64) -> i64 {
        let a = a as u64;
        let high = (u128::from(a).wrapping_mul(u128::from(self.low)) >> 64) as u64;
        high.wrapping_add(a.wrapping_mul(self.high)).wrapping_shr(self.shift) as i64
    }
}

/// A row's [`SplitDivisor`]s, one per column, field by field (an array each), for values
/// in [0, 1] (raw bits `a ≤ 2³²`), each at most its column's divisor: a row of divisions
/// then vectorizes as 32-bit lane products, where [`UnitDivisor::divide`]'s high word of a
/// 64×64-bit product does not. Its division ([`split_divide`]) is [`UnitDivisor::divide`]
/// bit for bit on that range (tested).
pub(crate) struct UnitDivisors {
    m0: Vec<u64>,
    m1: Vec<u64>,
    up: Vec<u64>,
    down: Vec<u64>,
    of_one: Vec<i64>,
}

impl UnitDivisors {
    /// The divisors of columns whose sums are `sums` (a column summing to 0 or less holds
    /// only zeros, which its divisor of one leaves 0), each field filled in the same pass;
    /// `None` if a sum is outside [`UnitDivisor`]'s range. (From the sums directly: through
    /// a vector of [`UnitDivisor`]s this took another allocation and five more passes.)
    pub(crate) fn of_sums(sums: &[I32F32]) -> Option<Self> {
        let n = sums.len();
        let mut lanes = Self {
            m0: crate::pool::take(n),
            m1: crate::pool::take(n),
            up: crate::pool::take(n),
            down: crate::pool::take(n),
            of_one: crate::pool::take(n),
        };
        for s in sums {
            let d = SplitDivisor::new(if *s > zero() { s.to_bits() as u64 } else { ONE as u64 })?;
            let (m0, m1, up, down) = d.fields;
            lanes.m0.push(m0);
            lanes.m1.push(m1);
            lanes.up.push(up);
            lanes.down.push(down);
            lanes.of_one.push(d.of_one);
        }
        Some(lanes)
    }

    /// Hands its vectors back to the [`crate::pool`].
    pub(crate) fn recycle(self) {
        for field in [self.m0, self.m1, self.up, self.down] {
            crate::pool::give(field);
        }
        crate::pool::give(self.of_one);
    }

    /// The divisors `d` (raw bits, each in [`SplitDivisor`]'s range) of a row's columns, in
    /// column order, each built on its own.
    #[cfg(test)]
    pub(crate) fn new(divisors: &[u64]) -> Self {
        let split: Vec<SplitDivisor> =
            divisors.iter().map(|d| SplitDivisor::new(*d).expect("in range")).collect();
        Self {
            m0: split.iter().map(|d| d.fields.0).collect(),
            m1: split.iter().map(|d| d.fields.1).collect(),
            up: split.iter().map(|d| d.fields.2).collect(),
            down: split.iter().map(|d| d.fields.3).collect(),
            of_one: split.iter().map(|d| d.of_one).collect(),
        }
    }

    /// `Σ_j mul_unit(divide_j(row_j), factor_j)` (wrapping), for every cell and factor in
    /// [0, 1] and each cell at most its column's divisor ([`UnitDivisor`]'s range), which
    /// callers prove; outside it the result is meaningless (but never a panic). Columns past
    /// the shortest of the row, the factors and the divisors are not read.
    pub(crate) fn dot(&self, row: &[I32F32], factors: &[I32F32]) -> i64 {
        let mut sum = 0i64;
        for ((v, f), divisor) in row.iter().zip(factors).zip(self.columns()) {
            sum = sum.wrapping_add(mul_unit_halves(divisor.divide(v.to_bits()), f.to_bits()));
        }
        sum
    }

    /// [`Self::dot`] of four rows at once, on the same terms: each column's divisor and
    /// factor (seven vectors for eight columns) are read once for the four rows. Each
    /// row's sum is its own `dot`'s, bit for bit (tested): the same terms added in the
    /// same order. (Measured, alternated medians: the n = 4,096 epoch 1.77 against
    /// 1.85 ms, the n = 256 one 0.0363 against 0.0366 ms; at n = 256 the loop is bound by
    /// its products more than by those loads.)
    pub(crate) fn dot4(&self, rows: [&[I32F32]; 4], factors: &[I32F32]) -> [i64; 4] {
        let [r0, r1, r2, r3] = rows;
        let (mut s0, mut s1, mut s2, mut s3) = (0i64, 0i64, 0i64, 0i64);
        let cells = r0.iter().zip(r1).zip(r2.iter().zip(r3));
        for (((a, b), (c, d)), (f, divisor)) in cells.zip(factors.iter().zip(self.columns())) {
            let f = f.to_bits();
            let term = |v: &I32F32| mul_unit_halves(divisor.divide(v.to_bits()), f);
            s0 = s0.wrapping_add(term(a));
            s1 = s1.wrapping_add(term(b));
            s2 = s2.wrapping_add(term(c));
            s3 = s3.wrapping_add(term(d));
        }
        [s0, s1, s2, s3]
    }

    /// Each column's divisor, in column order, as its fields read together.
    #[inline]
    pub(crate) fn columns(&self) -> impl Iterator<Item = SplitDivisor> + '_ {
        let fields = self.m0.iter().zip(&self.m1).zip(self.up.iter().zip(&self.down));
        fields.zip(&self.of_one).map(|(((m0, m1), (up, down)), of_one)| SplitDivisor {
            fields: (*m0, *m1, *up, *down),
            of_one: *of_one,
        })
    }
}

/// [`UnitDivisor::divide`] for `0 ≤ a ≤ min(d, 2³²)`, on 32-bit lane products (which
/// vectorize): two products, one of them for a carry, and three shifts.
///
/// The quotient `⌊a·2³²/d⌋` is `⌊a'·2³²/d'⌋` for `a' = a·2^t`, `d' = d·2^t` with
/// `t = max(0, 32 − ℓ)`, `ℓ = ⌈log₂ d⌉`: then `ℓ' = ⌈log₂ d'⌉ = max(ℓ, 32)`, and `a' ≤ 2³²`
/// (`a ≤ d ≤ 2^ℓ`). For `a' < 2³²` the dividend `n = a'·2³²` is below 2⁶⁴, where
/// Granlund–Montgomery (1994, theorem 4.2, `N = 64`) give `⌊n/d'⌋ = ⌊n·m / 2^(64+ℓ')⌋` for
/// `m = ⌈2^(64+ℓ')/d'⌉`, with `2⁶⁴ ≤ m < 2⁶⁵`: `m = 2⁶⁴ + m₁·2³² + m₀` (`m₀, m₁ < 2³²`).
/// Then with `x = a'·m₁ + ⌊a'·m₀ / 2³²⌋` (below `(2³² − 1)² + 2³² < 2⁶⁴`),
/// `a'·m = 2⁶⁴a' + 2³²x + r` (`r < 2³²`), and since `ℓ' ≥ 32` the fractions drop out of the
/// floors: `⌊a'·m / 2^(32+ℓ')⌋ = (a' + ⌊x / 2³²⌋) >> (ℓ' − 32)`. `a' = 2³²` (only for
/// `a = 2³²`, or `a = d = 2^ℓ`) takes the precomputed `⌊2⁶⁴/d'⌋`. (With the multiplier
/// `⌈2^(k+32)/d⌉` of [`UnitDivisor`], whose high word takes a third product, the n = 256
/// epoch's dividends took 5.0 µs against 4.67 µs.)
#[derive(Clone, Copy, Debug)]
pub(crate) struct SplitDivisor {
    /// `(m₀, m₁, t, ℓ' − 32)`.
    fields: (u64, u64, u64, u64),
    /// `⌊2⁶⁴/d'⌋`: the quotient of `a' = 2³²`.
    of_one: i64,
}

impl SplitDivisor {
    /// For `d` in `[1, 2⁶²)` ([`UnitDivisor`]'s range); `None` otherwise.
    pub(crate) fn new(d: u64) -> Option<Self> {
        if !(1..1 << 62).contains(&d) {
            return None;
        }
        // ℓ = ⌈log₂ d⌉ (0 for d = 1), t, d' and ℓ'.
        let l = u64::BITS.wrapping_sub(d.wrapping_sub(1).leading_zeros());
        let up = 32u32.saturating_sub(l);
        let d = d.checked_shl(up)?;
        let l = l.max(32);
        // `m − 2⁶⁴ = ⌈2⁶⁴·(2^ℓ' − d') / d'⌉`, below 2⁶⁴ (`d' > 2^(ℓ'−1)`).
        let excess = 1u64.checked_shl(l)?.checked_sub(d)?;
        let d128 = u128::from(d);
        let numerator = (u128::from(excess) << 64).checked_add(d128.wrapping_sub(1))?;
        let m = u64::try_from(numerator.checked_div(d128)?).ok()?;
        // `⌊2⁶⁴/d'⌋ = ⌊⌊2^(64+ℓ')/d'⌋ / 2^ℓ'⌋`, where `⌊2^(64+ℓ')/d'⌋` is `m`, less one
        // unless `d'` divides `2^(64+ℓ')` (a power of two).
        let floor = ((1u128 << 64) | u128::from(m)).wrapping_sub(u128::from(!d.is_power_of_two()));
        let of_one = i64::try_from(floor >> l).ok()?;
        let fields = (m & 0xFFFF_FFFF, m >> 32, u64::from(up), u64::from(l.wrapping_sub(32)));
        Some(Self { fields, of_one })
    }

    /// `a.safe_div(d)` on raw bits for `0 ≤ a ≤ min(d, 2³²)`, which callers prove; outside
    /// it the result is meaningless (but never a panic).
    #[inline]
    pub(crate) fn divide(self, a: i64) -> i64 {
        split_divide(a, self.fields, self.of_one)
    }
}

/// [`SplitDivisor`]'s division of one cell `a` in `[0, min(d, 2³²)]` (see there).
#[inline]
fn split_divide(a: i64, (m0, m1, up, down): (u64, u64, u64, u64), of_one: i64) -> i64 {
    // `a'`, at most 2³²; the quotient below is used only when it is below 2³². (The masks
    // say that each factor is 32 bits, `m₀` and `m₁` too: the products are then lane
    // products, which ignore the upper halves, and the masks cost nothing.)
    let scaled = (a as u64).wrapping_shl(up as u32);
    let low = scaled & 0xFFFF_FFFF;
    let (m0, m1) = (m0 & 0xFFFF_FFFF, m1 & 0xFFFF_FFFF);
    let x = low.wrapping_mul(m1).wrapping_add(low.wrapping_mul(m0) >> 32);
    let quotient = scaled.wrapping_add(x >> 32).wrapping_shr(down as u32) as i64;
    if scaled >> 32 == 0 {
        quotient
    } else {
        of_one
    }
}

/// Division of a value in [0, 1] by its column's sum or maximum, `a.safe_div(d)` for
/// `0 ≤ a ≤ d`: [`UnitDivisor`] when `d` is in its range (always, for sums of at most
/// 65,535 values in [0, 1]), [`Divisor::divide_unit`] otherwise.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ShareDivisor {
    unit: Option<UnitDivisor>,
    general: Divisor,
}

impl ShareDivisor {
    /// Prepares division by `d > 0`.
    pub(crate) fn new(d: I32F32) -> Self {
        Self { unit: UnitDivisor::new(d), general: Divisor::new(d) }
    }

    /// `a.safe_div(d)` on raw bits for `0 ≤ a ≤ d`, `a ≤ 2³²` (callers prove it).
    #[inline]
    pub(crate) fn divide(&self, a: i64) -> i64 {
        match &self.unit {
            Some(unit) => unit.divide(a),
            None => self.general.divide_unit(a),
        }
    }
}

/// Division of `w · 2³²` (`w` a `u16`) by a row's integer weight total `t` (`0 < t < 2³¹`):
/// `u16_integer(w).safe_div(u16_integer(t))` is `⌊w·2⁶⁴ / (t·2³²)⌋ = ⌊n / t⌋` with
/// `n = w·2³² < 2⁴⁸`. Granlund–Montgomery (1994, theorem 4.2): with `ℓ = ⌈log₂ t⌉` and
/// `m = ⌈2^(48+ℓ) / t⌉`, `2^(48+ℓ) ≤ m·t < 2^(48+ℓ) + t ≤ 2^(48+ℓ) + 2^ℓ`, so
/// `⌊n / t⌋ = ⌊n·m / 2^(48+ℓ)⌋ = ⌊w·m / 2^(16+ℓ)⌋` for every `n < 2⁴⁸` (`m ≤ 2⁴⁹`): two
/// small products and three shifts per cell, which vectorize.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RowDivisor {
    /// `m = high·2³² + low` (`high < 2¹⁷`), in 32-bit halves: `w·m = w·low + w·high·2³²`
    /// as two 32×32→64-bit products (which vectorize), and
    /// `⌊w·m / 2^(16+ℓ)⌋ = ⌊(⌊w·low / 2¹⁶⌋ + w·high·2¹⁶) / 2^ℓ⌋` (a multiple of 2¹⁶ added
    /// before dividing by 2¹⁶ passes through the floor; the sum is below 2⁵⁰).
    low: u32,
    high: u32,
    /// `ℓ`.
    shift: u32,
}

impl RowDivisor {
    /// For a total `t` in `1..2³¹`; `None` otherwise.
    pub(crate) fn new(t: u64) -> Option<Self> {
        if !(1..1 << 31).contains(&t) {
            return None;
        }
        // ℓ = ⌈log₂ t⌉ (0 for t = 1).
        let l = u64::BITS.wrapping_sub(t.wrapping_sub(1).leading_zeros());
        let power = 1u128.wrapping_shl(48u32.wrapping_add(l));
        let t128 = u128::from(t);
        let multiplier =
            u64::try_from(power.wrapping_add(t128.wrapping_sub(1)).checked_div(t128)?).ok()?;
        Some(Self { low: multiplier as u32, high: u32::try_from(multiplier >> 32).ok()?, shift: l })
    }

    /// `u16_integer(w).safe_div(u16_integer(t))`, as raw bits.
    #[inline]
    pub(crate) fn divide(&self, w: u16) -> i64 {
        let w = u64::from(w);
        // `w·low < 2⁴⁸`, `w·high < 2³³`: no product wraps.
        let low = w.wrapping_mul(u64::from(self.low)) >> 16;
        let high = w.wrapping_mul(u64::from(self.high)) << 16;
        low.wrapping_add(high).wrapping_shr(self.shift) as i64
    }

    /// Whether the total is above 2¹⁵ (`ℓ ≥ 16`, [`Self::divide_wide`]'s range: every row
    /// of more than one maximal weight, and most rows of many weights).
    #[inline]
    pub(crate) fn is_wide(&self) -> bool {
        self.shift >= 16
    }

    /// [`Self::divide`] for a wide divisor ([`Self::is_wide`], which callers check), with
    /// both products by a 32-bit factor (which vectorize as lane products; `divide`'s
    /// `w·high·2¹⁶` is compiled as a product by a 33-bit factor): for `ℓ ≥ 16`, adding a
    /// multiple of 2¹⁶ and dividing by 2¹⁶ nest in the floors,
    /// `⌊(⌊w·low / 2¹⁶⌋ + w·high·2¹⁶) / 2^ℓ⌋ = ⌊(⌊w·low / 2³²⌋ + w·high) / 2^(ℓ−16)⌋`.
    /// For a divisor that is not wide the result is meaningless (but never a panic).
    #[inline]
    pub(crate) fn divide_wide(&self, w: u16) -> i64 {
        let w = u64::from(w);
        let low = w.wrapping_mul(u64::from(self.low)) >> 32;
        let high = w.wrapping_mul(u64::from(self.high));
        low.wrapping_add(high).wrapping_shr(self.shift.wrapping_sub(16)) as i64
    }
}

/// `⌊u / d⌋` for a normalized `d` (top bit set) and `u < d·2⁶⁴`, with `v` the reciprocal.
#[inline]
fn div_2by1(u: u128, d: u64, v: u64) -> u64 {
    let u1 = (u >> 64) as u64;
    let u0 = u as u64;
    let q = u128::from(v).wrapping_mul(u128::from(u1)).wrapping_add(u);
    let mut q1 = ((q >> 64) as u64).wrapping_add(1);
    let q0 = q as u64;
    let r = u0.wrapping_sub(q1.wrapping_mul(d));
    // The two corrections without branches (the first is taken about half the time):
    // `if r > q0 { q1 -= 1; r += d }`, then `if r >= d { q1 += 1 }`.
    let mask = u64::from(r > q0).wrapping_neg();
    q1 = q1.wrapping_add(mask);
    let r = r.wrapping_add(d & mask);
    q1.wrapping_add(u64::from(r >= d))
}

/// `a.saturating_mul(b)` for `I32F32`, bit for bit, with one 64×64-bit multiplication.
///
/// The library multiplies `a` by `b·2³²` in 128 bits and saturates only when that product
/// overflows, i.e. when `a·b` is outside `[−2⁹⁵, 2⁹⁵)`; otherwise the result is `a·b >> 32`.
#[inline]
pub(crate) fn mul(a: I32F32, b: I32F32) -> I32F32 {
    let product = i128::from(a.to_bits()).wrapping_mul(i128::from(b.to_bits()));
    // `product ∈ [−2⁹⁵, 2⁹⁵)` iff its high 64 bits fit an `i32`.
    let high = (product >> 64) as i64;
    if i64::from(high as i32) == high {
        I32F32::from_bits((product >> 32) as i64)
    } else if (a < zero()) != (b < zero()) {
        I32F32::min_value()
    } else {
        I32F32::max_value()
    }
}

/// `a.saturating_mul(b)` for `a` and `b` in [0, 1] (raw bits in [0, 2³²]): the product is at
/// most 2⁶⁴, far from saturating, so it is one 64×64→128-bit multiplication and a shift.
/// Callers prove the range (each use says why); outside it the result is meaningless (but
/// never a panic).
#[inline]
pub(crate) fn mul_unit(a: i64, b: i64) -> i64 {
    let product = u128::from(a as u64).wrapping_mul(u128::from(b as u64));
    (product >> 32) as i64
}

/// [`mul_unit`] bit for bit in 64-bit lanes (which vectorize: one 64-bit lane product, where
/// the full product's high word takes three and more): with `b = b₁·2³² + b₀` (`b₁ ∈ {0,
/// 1}`, and `b₀ = 0` when `b₁ = 1`), `⌊a·b / 2³²⌋ = ⌊a·b₀ / 2³²⌋ + a·b₁`, where
/// `a·b₀ ≤ 2³²(2³² − 1)` fits 64 bits and `a·b₁` is `a` masked. For `a` and `b` in [0, 1]
/// (raw bits in [0, 2³²]), which callers prove; outside it the result is meaningless (but
/// never a panic). (On four 32×32-bit lane products, `a₀b₀`, `a₀b₁`, `a₁b₀` and `a₁b₁`, the
/// n = 256 epoch's dividends took 4.67 µs against 4.03 µs.)
#[inline]
pub(crate) fn mul_unit_halves(a: i64, b: i64) -> i64 {
    let (a, b) = (a as u64, b as u64);
    let low = a.wrapping_mul(b & 0xFFFF_FFFF) >> 32;
    low.wrapping_add(a & (b >> 32).wrapping_neg()) as i64
}

/// A factor in [0, 1] (raw bits in [0, 2³²]) for many products with values in [0, 1]:
/// [`mul_unit`] bit for bit, on 32-bit halves (which vectorize: one 32×32→64-bit lane
/// product each, where a full 64-bit product takes three). With `f = f₁·2³² + f₀` and
/// `x = x₁·2³² + x₀` (`f₁, x₁ ∈ {0, 1}`; `f₁ = 1` only for `f = 1`, then `f₀ = 0`, and the
/// same for `x`), `f·x = f₀x₀ + 2³²(f₀x₁ + f₁x₀) + 2⁶⁴f₁x₁`, so
/// `⌊f·x / 2³²⌋ = ⌊f₀x₀ / 2³²⌋ + f₀x₁ + f₁·x`: the last term is `x` masked by `f = 1`.
/// Callers prove both ranges; outside them the result is meaningless (but never a panic).
#[derive(Clone, Copy, Debug)]
pub(crate) struct UnitFactor {
    /// `f₀`, the low half.
    low: u32,
    /// All ones when `f = 1`, else 0.
    one: u64,
}

impl UnitFactor {
    /// The factor of raw bits `f` in [0, 2³²].
    #[inline]
    pub(crate) fn new(f: i64) -> Self {
        Self { low: f as u32, one: u64::from(f == ONE).wrapping_neg() }
    }

    /// `mul_unit(f, x)` for `x` in [0, 2³²].
    #[inline]
    pub(crate) fn times(self, x: i64) -> i64 {
        let x = x as u64;
        let low = u64::from(self.low);
        // `f₀x₀ < 2⁶⁴`; `x₁ ≤ 1`, so `f₀x₁ < 2³²`: nothing wraps.
        let product = low.wrapping_mul(u64::from(x as u32)) >> 32;
        let carry = low.wrapping_mul(x >> 32);
        product.wrapping_add(carry).wrapping_add(x & self.one) as i64
    }

    /// [`Self::times`] for a factor below one (`f₁ = 0`: no masked term), which callers
    /// prove; for `f = 1` it gives 0.
    #[inline]
    pub(crate) fn times_below_one(self, x: i64) -> i64 {
        let x = x as u64;
        let low = u64::from(self.low);
        let product = low.wrapping_mul(u64::from(x as u32)) >> 32;
        product.wrapping_add(low.wrapping_mul(x >> 32)) as i64
    }

    /// [`Self::times`] for a factor and an `x` both below one (`f₁ = x₁ = 0`: one 32×32-bit
    /// product and a shift), which callers prove; outside it the result is meaningless (but
    /// never a panic).
    #[inline]
    pub(crate) fn times_both_below_one(self, x: i64) -> i64 {
        (u64::from(self.low).wrapping_mul(u64::from(x as u32)) >> 32) as i64
    }

    /// Whether the factor is below one ([`Self::times_below_one`]'s range).
    #[inline]
    pub(crate) fn is_below_one(self) -> bool {
        self.one == 0
    }
}

/// `mul_unit(f, u16_proportion(b))` for a factor `f` in (0, 1) (raw bits in (0, 2³²)) and
/// any u16 `b`, straight from `b` in 32-bit lane products (which vectorize). For
/// `b < 65535` the proportion is `65537·b` (below 2³²), so the product is `⌊K·b / 2³²⌋`
/// with `K = 65537·f = high·2³² + low`: `⌊low·b / 2³²⌋ + high·b`. For `b = 65535` the
/// proportion is one and the product `f`, while that expression gives
/// `⌊f·(2³² − 1) / 2³²⌋ = f − 1` (`0 < f < 2³²`): `(b + 1) >> 16`, 1 only there, adds it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ProportionFactor {
    low: u32,
    high: u32,
}

impl ProportionFactor {
    /// For raw bits `f` in (0, 2³²); `None` otherwise.
    pub(crate) fn new(f: i64) -> Option<Self> {
        let f = u64::try_from(f).ok().filter(|f| (1..1 << 32).contains(f))?;
        let k = f.checked_mul(65_537)?;
        Some(Self { low: k as u32, high: u32::try_from(k >> 32).ok()? })
    }

    /// `mul_unit(f, u16_proportion(b))`, as raw bits.
    #[inline]
    pub(crate) fn times(self, b: u16) -> i64 {
        let b = u64::from(b);
        let low = u64::from(self.low).wrapping_mul(b) >> 32;
        let high = u64::from(self.high).wrapping_mul(b);
        low.wrapping_add(high).wrapping_add(b.wrapping_add(1) >> 16) as i64
    }

    /// [`Self::times`] for `b < 65535` (the `(b + 1) >> 16` term is then 0), which callers
    /// check; for `b = 65535` it is one less.
    #[inline]
    pub(crate) fn times_below_max(self, b: u16) -> i64 {
        let b = u64::from(b);
        let low = u64::from(self.low).wrapping_mul(b) >> 32;
        low.wrapping_add(u64::from(self.high).wrapping_mul(b)) as i64
    }
}

/// Step 2's normalization: each stake divided by their saturating sum in `I64F64`
/// (`math::normalize_64`), narrowed to `I32F32` (`fixed64_to_fixed32`), bit for bit.
///
/// With every stake non-negative and a positive total `d` (each `a ≤ d`), the `I64F64`
/// quotient `⌊a·2⁶⁴/d⌋` narrowed (floor) is `⌊a·2³²/d⌋ ≤ 2³²` ([`quotient_32`], a few
/// products instead of the library's 192-bit long division). Other inputs (a negative
/// stake) take the library's path.
pub(crate) fn normalized_stake(stake: &[I64F64]) -> Vec<I32F32> {
    // One pass: whether every stake is non-negative, and their sum in `u128` with a sticky
    // carry. With no stake negative, the saturating sum is that sum capped at `I64F64`'s
    // largest (once there, adding non-negative terms stays there); with one negative, the
    // sum is not used.
    let (mut any, mut sum, mut carried) = (0i128, 0u128, false);
    for s in stake {
        any |= s.to_bits();
        let (next, carry) = sum.overflowing_add(s.to_bits() as u128);
        (sum, carried) = (next, carried | carry);
    }
    let d = if carried { u128::MAX } else { sum }.min(i128::MAX as u128);
    if any >= 0 && d > 0 {
        let wide = WideDivisor::new(d);
        let normalized = stake.iter().map(|a| {
            let a = u128::try_from(a.to_bits()).unwrap_or_default();
            // (No division for a zero stake, most UIDs': a miner's.)
            let q = match &wide {
                _ if a == 0 => 0,
                Some(wide) => wide.quotient(a),
                None => quotient_32(a, d),
            };
            I32F32::from_bits(i64::try_from(q).unwrap_or(i64::MAX))
        });
        pool::collect(stake.len(), normalized)
    } else {
        let mut stake = stake.to_vec();
        crate::math::normalize_64(&mut stake);
        stake.into_iter().map(fixed64_to_fixed32).collect()
    }
}

/// [`quotient_32`] of many numerators by one divisor `d` in `(0, 2¹²⁶)`, with one
/// division in all (the reciprocal of `d`'s normalized high word) where `quotient_32` takes
/// a 128-bit division each (when `d ≥ 2⁶⁴`, as a subnet's total stake in `I64F64`).
///
/// With `D = d·2^s` (top bit set), `A = a·2^s ≤ D` and their high words `D₁ ≥ 2⁶³` and `A₁`,
/// the estimate `q̂ = ⌊A₁·2³² / D₁⌋` ([`div_2by1`]) is within one of `q = ⌊a·2³² / d⌋`:
/// `a·2³²/d < (A₁ + 1)·2³²/D₁ ≤ A₁·2³²/D₁ + 2⁻³¹` and
/// `a·2³²/d ≥ A₁·2³²/(D₁ + 1) ≥ A₁·2³²/D₁ − 2⁻³¹` (`A₁ ≤ D₁`). So `q̂ − 1 ≤ q` and the
/// remainder `a·2³² − (q̂ − 1)·d` is in `[0, 3d)`, below 2¹²⁸: computed modulo 2¹²⁸ (a
/// numerator `a·2³²` of up to 158 bits wraps, the difference does not), it adds 1 for each
/// `d` it reaches.
pub(crate) struct WideDivisor {
    d: u128,
    shift: u32,
    /// `D₁`.
    high: u64,
    /// `⌊(2¹²⁸ − 1) / D₁⌋ − 2⁶⁴`.
    reciprocal: u64,
}

impl WideDivisor {
    /// For `d` in `(0, 2¹²⁶)`; `None` otherwise.
    pub(crate) fn new(d: u128) -> Option<Self> {
        if d == 0 || d >= 1 << 126 {
            return None;
        }
        let shift = d.leading_zeros();
        let high = (d.wrapping_shl(shift) >> 64) as u64;
        let reciprocal = u128::MAX.checked_div(u128::from(high))?.wrapping_sub(1 << 64) as u64;
        Some(Self { d, shift, high, reciprocal })
    }

    /// `quotient_32(a, d)` for `0 ≤ a ≤ d`, which callers prove; outside it the result is
    /// meaningless (but never a panic).
    #[inline]
    pub(crate) fn quotient(&self, a: u128) -> u128 {
        // `a ≤ d`: no bits shifted out; `A₁·2³² < 2⁹⁶ ≤ D₁·2⁶⁴`, `div_2by1`'s bound.
        let top = (a.wrapping_shl(self.shift) >> 64) as u64;
        let estimate = div_2by1(u128::from(top) << 32, self.high, self.reciprocal);
        // `q̂ − 1` (all ones for `q̂ = 0`, where `q ≤ 1`: the remainder `a·2³² + d` is the
        // same modulo 2¹²⁸, and the sum wraps back).
        let low = u128::from(estimate).wrapping_sub(1);
        let remainder = a.wrapping_shl(32).wrapping_sub(low.wrapping_mul(self.d));
        let twice = self.d.wrapping_shl(1);
        low.wrapping_add(u128::from(remainder >= self.d))
            .wrapping_add(u128::from(remainder >= twice))
    }
}

/// `⌊a·2³² / d⌋` for `0 ≤ a ≤ d` and `0 < d < 2¹²⁷`, exactly (at most 2³²).
///
/// `d` is normalized to `D = d·2^s` with its top bit set, `A = a·2^s·2³²` (three words;
/// `a·2^s ≤ D < 2¹²⁸`). The estimate `q̂ = ⌊(A >> 64) / D₁⌋` by `D`'s high word `D₁ ≥ 2⁶³` is
/// at least the quotient and at most 2 above it (Knuth, TAOCP 4.3.1, theorem B); it is
/// lowered while `q̂·D > A` (at most twice).
pub(crate) fn quotient_32(a: u128, d: u128) -> u128 {
    if d < 1 << 96 {
        // `a·2³² < 2¹²⁸`: one division.
        return (a << 32).checked_div(d).unwrap_or_default();
    }
    let s = d.leading_zeros();
    let big_d = d << s;
    let scaled = a << s; // ≤ D
                         // A = scaled · 2³² as (A >> 64, A mod 2⁶⁴): `scaled >> 32` and its low 32 bits shifted up.
    let top = scaled >> 32;
    let bottom = (scaled as u64) << 32;
    let d1 = (big_d >> 64) as u64;
    let d0 = big_d as u64;
    let mut q = top.checked_div(u128::from(d1)).unwrap_or_default();
    // q̂·D = q̂·D₁·2⁶⁴ + q̂·D₀ compared with A = top·2⁶⁴ + bottom, as (high, low) pairs.
    let above = |q: u128| {
        let low = q.wrapping_mul(u128::from(d0));
        let high = q.wrapping_mul(u128::from(d1)).wrapping_add(low >> 64);
        (high, low as u64) > (top, bottom)
    };
    for _ in 0..3 {
        if above(q) {
            q = q.wrapping_sub(1);
        }
    }
    q
}

/// A share of an amount in whole rao, as the emission split computes it:
/// `I96F32(s).saturating_mul(I96F32(amount)).saturating_to_num::<u64>()`, bit for bit. The
/// `I96F32` product of `s`'s raw bits by `amount` is exact (`|s·2³²·amount| < 2¹²⁷`, no
/// saturation), so the result is `⌊s_bits·amount / 2³²⌋` capped at `u64::MAX`, and 0 for a
/// share that is not positive. A share below one (raw bits below 2³², every share but a
/// whole one) takes 32-bit halves, which vectorize: with `amount = a₁·2³² + a₀`,
/// `⌊s·amount / 2³²⌋ = s·a₁ + ⌊s·a₀ / 2³²⌋`, below `2⁶⁴` (`s·amount < 2⁹⁶`).
#[inline]
pub(crate) fn share_of(s: I32F32, amount: u64) -> u64 {
    let bits = s.to_bits();
    if (bits as u64) >> 32 == 0 {
        let (s, a1, a0) = (bits as u64, amount >> 32, amount & 0xFFFF_FFFF);
        return s.wrapping_mul(a1).wrapping_add(s.wrapping_mul(a0) >> 32);
    }
    match u64::try_from(bits) {
        Ok(bits) => {
            let whole = u128::from(bits).wrapping_mul(u128::from(amount)) >> 32;
            u64::try_from(whole).unwrap_or(u64::MAX)
        }
        Err(_) => 0,
    }
}

/// The emission split's three payouts per UID in whole rao, `(I, D, I + D)` each over
/// `T = Σ(I + D)` and times `amount` ([`share_of`]), a pass for the checks and one per
/// payout, when every incentive and dividend is in [0, 1] (raw bits in `[0, 2³²]`), their
/// sums below 2 (below 2³³ raw) and `T` positive; `None` otherwise (the caller then takes
/// the general path: normalized vectors, then shares).
///
/// The general path's values, bit for bit: no sum `I + D` saturates, nor does `T` (its
/// plain sum: at most 2³⁰ terms), so `T` is what both `normalize_with_sum` and `normalize`
/// divide by; each of `I`, `D` and `I + D` is in `[0, T]` and below 2³³, where both divide
/// with [`UnitDivisor`] (`safe_div`, exact; `T < 2⁶²` is in its range, else `None`). The
/// quotients of `I` and `D` (at most 2³²) take the 32-bit lane products
/// ([`SplitDivisor`]); so do those of `I + D` unless one of them is above one. Measured at
/// n = 256: 0.41 µs against 1.34 µs for the general path's nine passes.
pub(crate) fn emission_shares(
    incentive: &[I32F32],
    dividends: &[I32F32],
    amount: u64,
) -> Option<[Vec<AlphaRao>; 3]> {
    // (At most 2³⁰ UIDs, each sum at most 2³³: the total is below 2⁶³.)
    if incentive.len() != dividends.len() || incentive.len() > 1 << 30 {
        return None;
    }
    // One pass, without exits (it vectorizes): the range (the OR of `ONE − x` and `x` is
    // negative iff some `x` is out of `[0, ONE]`), the largest sum, the total.
    let (mut outside, mut largest, mut total) = (0i64, 0i64, 0i64);
    for (i, d) in incentive.iter().zip(dividends) {
        let (i, d) = (i.to_bits(), d.to_bits());
        outside |= i | d | ONE.wrapping_sub(i) | ONE.wrapping_sub(d);
        let sum = i.wrapping_add(d);
        largest = largest.max(sum);
        total = total.wrapping_add(sum);
    }
    if outside < 0 || largest >= 1 << 33 || total <= 0 {
        return None;
    }
    // (The 64×64-bit [`UnitDivisor`] only for a sum above one, which takes it.)
    let split = SplitDivisor::new(total as u64)?;
    let unit =
        if largest <= ONE { None } else { Some(UnitDivisor::new(I32F32::from_bits(total))?) };
    // Each payout its own pass, collected at its length, without branches: they
    // vectorize. A share `s` in `[0, 2³²]` (every quotient here) takes [`share_of`]'s
    // halves, `s·a₁ + ⌊s·a₀ / 2³²⌋` (each product below 2⁶⁴, the sum at most `amount`),
    // one included (`2³²·a₁ + a₀`, its product path's result).
    let (a1, a0) = (amount >> 32, amount & 0xFFFF_FFFF);
    // (The closures take copies: through references the compiler reloaded the fields at
    // every item, and did not vectorize.)
    let pay = move |share: i64| {
        let s = share as u64;
        s.wrapping_mul(a1).wrapping_add(s.wrapping_mul(a0) >> 32)
    };
    let n = incentive.len();
    let paid = |rao: u64| AlphaRao::new(rao);
    let server =
        pool::collect(n, incentive.iter().map(move |i| paid(pay(split.divide(i.to_bits())))));
    let validator =
        pool::collect(n, dividends.iter().map(move |d| paid(pay(split.divide(d.to_bits())))));
    let sums = incentive.iter().zip(dividends).map(|(i, d)| i.to_bits().wrapping_add(d.to_bits()));
    let combined = match unit {
        None => pool::collect(n, sums.map(move |sum| paid(pay(split.divide(sum))))),
        Some(unit) => pool::collect(n, sums.map(move |sum| paid(pay(unit.divide(sum))))),
    };
    Some([server, validator, combined])
}

/// `r.safe_div(u)`: for `0 ≤ r < 1` (raw bits below 2³²) and `r ≤ u` (a clipped rank over
/// its raw rank, the usual trust) the quotient `⌊r·2³²/u⌋ ≤ 2³²` is one 64-bit division
/// (the library divides in 128 bits); anything else takes `safe_div`.
#[inline]
pub(crate) fn ratio(r: I32F32, u: I32F32) -> I32F32 {
    let (a, d) = (r.to_bits(), u.to_bits());
    if (0..ONE).contains(&a) && a <= d {
        // `a < 2³²`: `a·2³²` fits a `u64`; `d ≥ a ≥ 0`, and `d > 0` unless `a = 0`.
        let quotient = ((a as u64) << 32).checked_div(d as u64).unwrap_or_default();
        return I32F32::from_bits(quotient as i64);
    }
    r.safe_div(u)
}

/// `math::is_topk_nonzero`, the same bits: the reference sorts the indices by value
/// (stably: equal values keep index order) and drops the first `n − k`. That order is the
/// order of the keys `(value, index)`, all distinct, so the kept ones are those at or above
/// the key at sorted position `n − k`: one selection (linear) instead of a sort.
pub(crate) fn is_topk_nonzero(values: &[I32F32], k: usize) -> Vec<bool> {
    let n = values.len();
    // Every non-zero value is kept, without a selection, when there are fewer values than
    // `k`, or when none is negative and at most `k` are non-zero (fewer stakers than
    // permits: every positive value sorts above every zero, so the top `k` hold them all).
    let negative = values.iter().any(|v| v.is_negative());
    if n < k || (!negative && values.iter().filter(|v| **v != zero()).count() <= k) {
        return pool::collect(n, values.iter().map(|v| *v != zero()));
    }
    // (`n ≥ k` from here.)
    let cut = n.saturating_sub(k);
    // `I32F32`'s order is its bits' (`key` flips the sign bit into an unsigned order); the
    // index below it breaks ties. (An index fits 64 bits.)
    let mut keys: Vec<u128> = values
        .iter()
        .enumerate()
        .map(|(i, v)| (u128::from(key(v.to_bits())) << 64) | i as u128)
        .collect();
    // The smallest kept key; none when `k` is 0 (`cut = n`).
    let threshold = if cut < n {
        let (_, nth, _) = keys.select_nth_unstable(cut);
        Some(*nth)
    } else {
        None
    };
    let kept = values.iter().enumerate().map(|(i, v)| {
        let kept = threshold.is_some_and(|t| (u128::from(key(v.to_bits())) << 64) | i as u128 >= t);
        kept && *v != zero()
    });
    pool::collect(n, kept)
}

/// Whether `v` is in [0, 1] (the range [`mul_unit`] needs).
#[inline]
pub(crate) fn is_unit(v: I32F32) -> bool {
    (0..=ONE).contains(&v.to_bits())
}

/// One, as raw `I32F32` bits.
pub(crate) const ONE: i64 = 1 << 32;

/// `one().safe_div(d)`: `⌊2⁶⁴ / d⌋` with one 64-bit division, 0 when it does not fit.
#[inline]
pub(crate) fn reciprocal(d: I32F32) -> I32F32 {
    match u64::try_from(d.to_bits()) {
        Ok(bits) if bits > 0 => {
            // ⌊2⁶⁴/d⌋ = ⌊(2⁶⁴ − 1)/d⌋, plus one when d divides 2⁶⁴.
            let quotient = u64::MAX.checked_div(bits).unwrap_or_default();
            let exact = u64::MAX.checked_rem(bits) == Some(bits.wrapping_sub(1));
            let quotient = quotient.wrapping_add(u64::from(exact));
            i64::try_from(quotient).map_or(zero(), I32F32::from_bits)
        }
        _ => one().safe_div(d),
    }
}

/// `u16_to_fixed(w)` (`w` as an integer-valued `I32F32`), inlined.
#[inline]
pub(crate) fn u16_integer(w: u16) -> I32F32 {
    I32F32::from_bits(i64::from(w) << 32)
}

/// The saturating sum of `u16_integer`s whose integer sum is `t`: non-negative terms, so
/// `t` itself below 2³¹, the maximum from there.
#[inline]
pub(crate) fn u16_sum(t: u64) -> I32F32 {
    if t < 1 << 31 {
        I32F32::from_bits((t << 32) as i64)
    } else {
        I32F32::max_value()
    }
}

/// `u16_proportion_to_fixed(b)` (`b / 65535`, truncated): since `2³² = 65535·65537 + 1`,
/// `⌊b·2³² / 65535⌋ = 65537·b + ⌊b / 65535⌋`.
#[inline]
pub(crate) fn u16_proportion(b: u16) -> I32F32 {
    let b = u64::from(b);
    let bits = b.wrapping_mul(65_537).wrapping_add(u64::from(b == 65_535));
    I32F32::from_bits(i64::try_from(bits).unwrap_or_default())
}

/// [`u16_proportion`] as raw bits, without a comparison: `⌊b / 65535⌋` is `(b + 1) >> 16`
/// for a `u16`.
#[inline]
pub(crate) fn u16_proportion_bits(b: u16) -> i64 {
    let b = i64::from(b);
    b.wrapping_mul(65_537).wrapping_add(b.wrapping_add(1) >> 16)
}

/// A weighted-median item: `(score, stake)` as raw `I32F32` bits (`I32F32`'s order and
/// saturating arithmetic are `i64`'s on the bits).
pub(crate) type Item = (i64, i64);

/// `math::weighted_median` over all of `items`: the smallest score whose cumulative stake
/// (scores at or below it) exceeds `minority`, the largest score if none does, 0 if there
/// are no items. `total` is the sum of the stakes. `spare` is scratch of the same length.
///
/// The reference's quickselect returns exactly this value whatever pivots it picks (its
/// `[lo, hi]` are the cumulative stakes below and through the current partition, exact in
/// fixed point). This one keeps the reference's pivot rule and tests but partitions without
/// branching on the comparisons, ping-ponging between `items` and `spare` (both scrambled
/// on return). The stakes must be non-negative and their sum must not saturate (normalized
/// stake).
pub(crate) fn weighted_median(
    items: &mut [Item],
    spare: &mut [Item],
    minority: i64,
    total: i64,
) -> i64 {
    quickselect(items, spare, minority, 0, total)
}

/// At most this many items are sorted and walked by [`radix_rounds`].
pub(crate) const FEW: usize = 16;

/// The order-preserving unsigned key of an `i64` score (its sign bit flipped).
#[inline]
fn key(score: i64) -> u64 {
    (score as u64) ^ (1 << 63)
}

/// [`weighted_median`] by radix selection, from the items alone: both of the dense
/// kernel's entries, [`radix_strip`] (a strip's columns at once, from the scores and stakes
/// apart, and the bits at which each column's scores differ) and [`radix_rounds`] (from the
/// items and their keys' OR and AND), must give it. A `minority` outside `[0, total)` goes
/// to the plain [`weighted_median`].
#[cfg(test)]
pub(crate) fn weighted_median_radix(
    items: &mut [Item],
    spare: &mut [Item],
    minority: i64,
    total: i64,
) -> i64 {
    if minority < 0 || minority >= total {
        return weighted_median(items, spare, minority, total);
    }
    let (mut any, mut all) = (0u64, u64::MAX);
    for &(score, _) in items.iter() {
        any |= key(score);
        all &= key(score);
    }
    // (A strip whose lane 3 holds the scores; the others all equal (0, 1, 4, 7), the
    // scores reversed (2), halved (5), or with every fourth one the largest (6).)
    let len = items.len();
    let rows: Vec<[i64; STRIP]> = items
        .iter()
        .enumerate()
        .map(|(r, item)| {
            let reversed = items.get(len - 1 - r).map_or(0, |item| item.0);
            let largest = if r % 4 == 0 { i64::MAX } else { item.0 };
            [-1, 0, reversed, item.0, 5, item.0 >> 1, largest, 0]
        })
        .collect();
    let stakes: Vec<i64> = items.iter().map(|item| item.1).collect();
    let mut buckets = Buckets::new();
    // (Each scrambles the items: the column's copy goes first.)
    let by_rounds = radix_rounds(items, spare, &mut buckets, minority, 0, (any, all));
    let differ: [u64; STRIP] = core::array::from_fn(|lane| {
        let keys = rows.iter().map(|row| key(row[lane]));
        keys.clone().fold(0, |any, k| any | k) ^ keys.fold(u64::MAX, |all, k| all & k)
    });
    // Each lane's column alone, to the rounds whole (lane 3's: the items').
    let by_column: Vec<i64> = (0..STRIP)
        .map(|lane| {
            let scratch = (&mut *items, &mut *spare);
            lane_rounds((&rows, lane), &stakes, differ[lane], scratch, &mut buckets, minority)
        })
        .collect();
    assert_eq!(by_column[3], by_rounds);
    // The whole strip at once, and its first lanes only (a strip past the last column).
    for lanes in [STRIP, 5] {
        let mut by_strip = [0i64; STRIP];
        let scratch = (&mut *items, &mut *spare);
        radix_strip(
            &rows,
            &stakes,
            &differ,
            scratch,
            &mut buckets,
            minority,
            &mut by_strip[..lanes],
        );
        assert_eq!(by_strip[..lanes], by_column[..lanes]);
    }
    // Scores and stakes that fit 32 bits: the first round on a pair of strips (the scores,
    // reversed, shifted, constant, zero) equals each strip's own, and so do the medians.
    let total = stakes.iter().fold(0i64, |sum, s| sum.wrapping_add(*s));
    let narrow = stakes.iter().all(|s| *s >= 0) && (0..1 << 32).contains(&total);
    if narrow && rows.iter().all(|row| (0..1 << 32).contains(&row[3])) && len > FEW {
        let pair: Vec<[u32; NARROW]> = rows
            .iter()
            .zip(rows.iter().rev())
            .map(|(row, reversed)| {
                let s = row[3] as u32;
                let r = reversed[3] as u32;
                [s, r, s >> 1, s >> 9, 7, 0, s | 1, r >> 2, r, s, 0, 5, s >> 30, r & 0xFF, s, r]
            })
            .collect();
        let halves: [Vec<[i64; STRIP]>; 2] = [0, STRIP].map(|from| {
            pair.iter().map(|row| core::array::from_fn(|l| i64::from(row[from + l]))).collect()
        });
        let fold = |lane: usize| {
            let keys = pair.iter().map(|row| u64::from(row[lane]));
            (keys.clone().fold(0, |any, k| any | k), keys.fold(u64::MAX, |all, k| all & k))
        };
        let any: [u64; NARROW] = core::array::from_fn(|lane| fold(lane).0);
        let differ: [u64; NARROW] = core::array::from_fn(|lane| fold(lane).0 ^ fold(lane).1);
        let stakes32: Vec<u32> = stakes.iter().map(|s| *s as u32).collect();
        let first = narrow_first(&pair, Some(&stakes32), (&any, &differ), minority);
        let first = first.expect("narrow");
        // Both strips selected on the narrow rows at once: each lane's own median.
        let mut by_pair = [0i64; NARROW];
        let scratch = ((&mut *items, &mut *spare), &mut buckets);
        radix_pair(&pair, &stakes, &differ, scratch, (minority, first), &mut by_pair);
        for (lane, median) in by_pair.iter().enumerate() {
            let scratch = (&mut *items, &mut *spare);
            let alone = (pair.as_slice(), lane);
            let expected =
                lane_rounds(alone, &stakes, differ[lane], scratch, &mut buckets, minority);
            assert_eq!(*median, expected, "pair lane {lane}");
        }
        let (_, mask, _) = radix_round(len, u64::MAX);
        for ((half, first), from) in halves.iter().zip(halves_of(&first)).zip([0, STRIP]) {
            let differ: [u64; STRIP] = core::array::from_fn(|l| differ[from + l]);
            let shift = differ.map(|d| radix_round(len, d).0);
            let wide = bisect(half, &stakes, &shift, mask.count_ones(), minority);
            assert_eq!(first, wide);
            let mut by_strip = [0i64; STRIP];
            let scratch = (&mut *items, &mut *spare);
            let round = (minority, first);
            select_lanes(half, &stakes, &differ, scratch, &mut buckets, round, &mut by_strip);
            for (lane, median) in by_strip.iter().enumerate() {
                let scratch = (&mut *items, &mut *spare);
                let alone = (half.as_slice(), lane);
                let expected =
                    lane_rounds(alone, &stakes, differ[lane], scratch, &mut buckets, minority);
                assert_eq!(*median, expected, "lane {}", from + lane);
            }
        }
    }
    by_rounds
}

/// How many columns the dense kernel's consensus copies out of the block at a time.
pub(crate) const STRIP: usize = 8;

/// A score in a strip's lane: an `i64` (raw `I32F32` bits) or, on the narrow lanes, a
/// `u32` (a score below one).
pub(crate) trait Score: Copy {
    /// The score as raw `I32F32` bits.
    fn bits(self) -> i64;
    /// `key(score) >> shift & mask`: its radix bucket. For a `u32` score, `shift` plus the
    /// mask's bits are at most 32 (the scores differ below bit 32), where the key's top bit
    /// is shifted out of the mask: the bucket of `score >> shift` alone.
    fn bucket(self, shift: u32, mask: u64) -> u64;
}

impl Score for i64 {
    #[inline(always)]
    fn bits(self) -> i64 {
        self
    }
    #[inline(always)]
    fn bucket(self, shift: u32, mask: u64) -> u64 {
        key(self).wrapping_shr(shift) & mask
    }
}

impl Score for u32 {
    #[inline(always)]
    fn bits(self) -> i64 {
        i64::from(self)
    }
    #[inline(always)]
    fn bucket(self, shift: u32, mask: u64) -> u64 {
        u64::from(self.wrapping_shr(shift)) & mask
    }
}

/// One lane of a strip ([`radix_strip`]'s `rows`), all its items to [`radix_rounds`] (for a
/// lane whose scores are all equal or a strip of few voters; `differ` as there).
fn lane_rounds<T: Score, const L: usize>(
    (rows, lane): (&[[T; L]], usize),
    stakes: &[i64],
    differ: u64,
    (items, spare): (&mut [Item], &mut [Item]),
    scratch: &mut Buckets,
    minority: i64,
) -> i64 {
    let mut len = 0usize;
    for (item, (row, stake)) in items.iter_mut().zip(rows.iter().zip(stakes)) {
        *item = (row.get(lane).map_or(0, |s| s.bits()), *stake);
        len = len.wrapping_add(1);
    }
    let items = items.get_mut(..len).unwrap_or_default();
    radix_rounds(items, spare, scratch, minority, 0, (differ, 0))
}

/// [`weighted_median`] of each column of a strip of the dense block, by [`radix_rounds`]
/// whose first round runs on the strip's eight lanes at once: `rows` the strip (a row per
/// voter, column `l` of the strip in lane `l`), `stakes` the voters' stakes in the same
/// order (the same for every column), `differ` each lane's bits at which its scores are not
/// all equal (the OR of their bits XOR the AND: the same bits as their keys'), for a
/// `minority` in `[0, total)`; each lane's median into `out` (lanes past `out` are computed
/// on whatever they hold and dropped). `items` and `spare` hold at least as many items as
/// there are voters. (A pair of strips whose scores are all below one takes
/// [`radix_pair`] instead.)
///
/// The first round finds each lane's bucket (the one [`radix_rounds`] would choose) by
/// bisection: a few passes over the strip, each comparing a row's eight scores with the
/// lanes' bounds and adding its stake where below, the eight lanes at once (two vector
/// operations a row). Then the chosen buckets' items are marked, a bit per row in one mask
/// per lane and 64 rows (the eight lanes of a row compared at once), and each lane's items
/// read back from its masks: selected without sorting when at most [`SLOTS`] among at most
/// 64 rows ([`few_median`]), sorted and walked when at most [`FEW`], else handed to the next
/// rounds. A lane whose scores are all equal, or a strip of at most [`FEW`] voters,
/// goes to the rounds whole. Measured at n = 256 (the fastest of alternating
/// 1,000-epoch runs): a first round per column that summed each item's stake into its
/// bucket and linked it there (seven memory operations an item, which bound the loop)
/// took 0.0460 ms an epoch; per-lane bucket sums for the eight lanes of a row (three
/// memory operations an item), 0.0407; the bisection, 0.0397; with `few_median`, 0.0384;
/// with the first round on a tile's two strips at once in 32-bit lanes when the scores
/// and stakes fit ([`bisect_narrow`]), 0.0360; the rest too on those lanes
/// ([`radix_pair`]), see there.
pub(crate) fn radix_strip(
    rows: &[[i64; STRIP]],
    stakes: &[i64],
    differ: &[u64; STRIP],
    (items, spare): (&mut [Item], &mut [Item]),
    scratch: &mut Buckets,
    minority: i64,
    out: &mut [i64],
) {
    let len = rows.len().min(stakes.len());
    let (rows, stakes) =
        (rows.get(..len).unwrap_or_default(), stakes.get(..len).unwrap_or_default());
    if len <= FEW {
        for (lane, (o, differ)) in out.iter_mut().zip(differ).enumerate() {
            let scratch_items = (&mut *items, &mut *spare);
            *o = lane_rounds((rows, lane), stakes, *differ, scratch_items, scratch, minority);
        }
        return;
    }
    // Each lane's layout: the same bucket bits (they follow `len`), its own shift.
    let (_, mask, _) = radix_round(len, u64::MAX);
    let bits = mask.count_ones();
    let shift: [u32; STRIP] = differ.map(|d| radix_round(len, d).0);
    // 1-2. Each lane's bucket by bisection of its keys' window ([`bisect_lanes`]): `lo`,
    // the bucket's lowest key, and `below`, the stake of the keys under it.
    let found = bisect(rows, stakes, &shift, bits, minority);
    select_lanes(rows, stakes, differ, (items, spare), scratch, (minority, found), out);
}

/// [`radix_strip`] on a pair of strips in 32-bit lanes (every score below one): the first
/// round given (`first`, [`bisect_narrow`]'s for both strips), the rest as there, sixteen
/// lanes to a vector in the marking, each lane's few items read from the 32-bit rows. More
/// than [`FEW`] voters (as [`narrow_first`] takes). The dense kernel then copies such a
/// tile only in 32 bits (the `i64` strips only when a score turns out to be one or more).
/// (Measured at n = 256, timed alternately: the consensus took 8.3–8.7 µs against
/// 9.7–10.1 µs with each strip marked and selected on its `i64` copy.)
pub(crate) fn radix_pair(
    rows: &[[u32; NARROW]],
    stakes: &[i64],
    differ: &[u64; NARROW],
    scratch: ((&mut [Item], &mut [Item]), &mut Buckets),
    (minority, first): (i64, Bisected<NARROW>),
    out: &mut [i64; NARROW],
) {
    let (items, buckets) = scratch;
    select_lanes(rows, stakes, differ, items, buckets, (minority, first), out);
}

/// [`radix_strip`]'s steps 3–4 on `L` lanes of scores `T`, from each lane's bucket `lo` (its
/// lowest key) and the stake `below` it. More than [`FEW`] voters.
#[inline(always)]
fn select_lanes<T: Score, const L: usize>(
    rows: &[[T; L]],
    stakes: &[i64],
    differ: &[u64; L],
    (items, spare): (&mut [Item], &mut [Item]),
    scratch: &mut Buckets,
    (minority, (lo, below)): (i64, Bisected<L>),
    out: &mut [i64],
) {
    let len = rows.len().min(stakes.len());
    let (rows, stakes) =
        (rows.get(..len).unwrap_or_default(), stakes.get(..len).unwrap_or_default());
    let (_, mask, _) = radix_round(len, u64::MAX);
    let shift: [u32; L] = differ.map(|d| radix_round(len, d).0);
    let chosen: [u64; L] = core::array::from_fn(|lane| {
        let (lo, shift) =
            (lo.get(lane).copied().unwrap_or(0), shift.get(lane).copied().unwrap_or(0));
        lo.wrapping_shr(shift) & mask
    });
    // 3. The chosen buckets' items, marked per lane in one bit per row, 64 rows a mask
    // (the masks of chunk `c`: `masks[c·L..][..L]`).
    let chunks = len.div_ceil(64);
    scratch.masks.clear();
    scratch.masks.resize(chunks.saturating_mul(L), 0);
    for (chunk, masks) in rows.chunks(64).zip(scratch.masks.chunks_exact_mut(L)) {
        let mut marks = [0u64; L];
        // The row's bit, rotated (not an induction: the compiler then keeps the lanes of a
        // row in one vector instead of gathering a lane from many rows).
        let mut bit = 1u64;
        for row in chunk {
            for (((score, shift), chosen), m) in
                row.iter().zip(&shift).zip(&chosen).zip(marks.iter_mut())
            {
                // (Shifts below 64: `radix_round`'s.)
                let hit = score.bucket(*shift, mask) == *chosen;
                *m |= bit & u64::from(hit).wrapping_neg();
            }
            bit = bit.rotate_left(1);
        }
        masks.copy_from_slice(&marks);
    }
    // 4. Per lane: up to `SLOTS` items selected at once, else read back, then sorted and
    // walked if few, else the next rounds.
    for (lane, o) in out.iter_mut().enumerate() {
        let (Some(&differ), Some(&lo)) = (differ.get(lane), below.get(lane)) else {
            break;
        };
        if differ == 0 {
            let scratch_items = (&mut *items, &mut *spare);
            *o = lane_rounds((rows, lane), stakes, differ, scratch_items, scratch, minority);
            continue;
        }
        if let Some(median) = scratch
            .masks
            .get(lane)
            .filter(|_| chunks == 1)
            .and_then(|mask| few_median((rows, lane), stakes, *mask, lo, minority))
        {
            *o = median;
            continue;
        }
        let mut kept = 0usize;
        let mut through = lo;
        let (mut any, mut all) = (0u64, u64::MAX);
        for (c, masks) in scratch.masks.chunks_exact(L).enumerate() {
            let mut bits = masks.get(lane).copied().unwrap_or(0);
            while bits != 0 {
                let r = c.wrapping_mul(64).wrapping_add(bits.trailing_zeros() as usize);
                bits &= bits.wrapping_sub(1);
                let (Some(row), Some(stake), Some(slot)) =
                    (rows.get(r), stakes.get(r), items.get_mut(kept))
                else {
                    continue;
                };
                let value = row.get(lane).map_or(0, |s| s.bits());
                *slot = (value, *stake);
                any |= key(value);
                all &= key(value);
                through = through.wrapping_add(*stake);
                kept = kept.wrapping_add(1);
            }
        }
        if through <= minority {
            // The stake never passes the minority (unreachable under the invariant): the
            // whole lane to the rounds, which hand it to the reference's quickselect.
            let scratch_items = (&mut *items, &mut *spare);
            *o = lane_rounds((rows, lane), stakes, differ, scratch_items, scratch, minority);
            continue;
        }
        let items = items.get_mut(..kept).unwrap_or_default();
        *o = if kept <= FEW {
            sorted_median(items, minority, lo)
        } else {
            radix_rounds(items, spare, scratch, minority, lo, (any, all))
        };
    }
}

/// Each of `L` lanes' bucket and the stake under it, `(lo, below)`: what [`radix_strip`]'s
/// first round finds (on a strip's eight lanes, or on a pair of strips' sixteen,
/// [`bisect_narrow`]).
pub(crate) type Bisected<const L: usize = STRIP> = ([u64; L], [i64; L]);

/// A pair of strips' [`Bisected`] as each strip's (the halves of its lanes).
#[cfg(test)]
fn halves_of((lo, below): &Bisected<NARROW>) -> [Bisected; 2] {
    [0, STRIP].map(|from| {
        (core::array::from_fn(|l| lo[from + l]), core::array::from_fn(|l| below[from + l]))
    })
}

/// [`radix_strip`]'s first round: each lane's bucket by bisection (see there), on the
/// strip's `i64` scores.
fn bisect(
    rows: &[[i64; STRIP]],
    stakes: &[i64],
    shift: &[u32; STRIP],
    bits: u32,
    minority: i64,
) -> Bisected {
    // The window's lowest key as a score (a key and its score differ by 2⁶³: the same
    // steps added to either, modulo 2⁶⁴).
    let lo: [i64; STRIP] = core::array::from_fn(|lane| {
        let first = rows.first().and_then(|row| row.get(lane)).map_or(0, |s| key(*s));
        let window = shift.get(lane).map_or(64, |s| s.wrapping_add(bits));
        ((first & u64::MAX.checked_shl(window).unwrap_or(0)) ^ 1 << 63) as i64
    });
    let (lo, below) = bisect_lanes(rows, stakes, (shift, bits), minority, lo);
    (lo.map(key), below)
}

/// A lane of [`bisect_lanes`]: a score and a stake, `i64` or (both below 2³²) `u32`, whose
/// order is the scores' and whose sums of stakes do not wrap.
trait Lane: Copy + PartialOrd {
    const ZERO: Self;
    /// `self + other`, wrapping.
    fn plus(self, other: Self) -> Self;
    /// `2^shift`, wrapping (the steps of a window).
    fn power(shift: u32) -> Self;
    /// `self` if `keep`, else 0, without a branch.
    fn kept(self, keep: bool) -> Self;
}

/// [`Lane`] for an integer type: its wrapping operations.
macro_rules! lane {
    ($t:ty) => {
        impl Lane for $t {
            const ZERO: Self = 0;
            #[inline(always)]
            fn plus(self, other: Self) -> Self {
                self.wrapping_add(other)
            }
            #[inline(always)]
            fn power(shift: u32) -> Self {
                (1 as $t).wrapping_shl(shift)
            }
            #[inline(always)]
            fn kept(self, keep: bool) -> Self {
                self & <$t>::from(keep).wrapping_neg()
            }
        }
    };
}
lane!(i64);
lane!(u32);

/// The bisection of [`radix_strip`]'s first round on `N` lanes from each lane's window's
/// lowest score `lo`: `bits` halvings (a lane's `probe`-th step is `2^(shift + probe)`; the
/// middle stays in the window), each one pass over the rows that adds, per lane, the stake
/// of the scores below the middle (the `N` lanes of a row compared and added at once), and
/// keeps the upper half when that does not pass the minority. Returns each lane's bucket's
/// lowest score and the stake below it.
#[inline(always)]
fn bisect_lanes<T: Lane, const N: usize>(
    rows: &[[T; N]],
    stakes: &[T],
    (shift, bits): (&[u32; N], u32),
    minority: T,
    mut lo: [T; N],
) -> ([T; N], [T; N]) {
    let mut below = [T::ZERO; N];
    for probe in (0..bits).rev() {
        let middle: [T; N] = core::array::from_fn(|lane| {
            let step = shift.get(lane).map_or(0, |s| s.wrapping_add(probe));
            lo.get(lane).map_or(T::ZERO, |lo| lo.plus(T::power(step)))
        });
        let mut under = [T::ZERO; N];
        // (A bit rotated at every row and read after the loop, which the compiler cannot
        // compute for a vector of rows: it then keeps the lanes of a row in one vector
        // instead of gathering a lane from many rows.)
        let mut bit = 1u64;
        for (row, stake) in rows.iter().zip(stakes) {
            for ((sum, score), bound) in under.iter_mut().zip(row).zip(&middle) {
                // Non-negative stakes whose total does not wrap.
                *sum = sum.plus(stake.kept(*score < *bound));
            }
            bit = bit.rotate_left(1);
        }
        core::hint::black_box(bit);
        let lanes = lo.iter_mut().zip(below.iter_mut()).zip(middle.iter().zip(&under));
        for ((lo, below), (middle, under)) in lanes {
            if *under <= minority {
                (*lo, *below) = (*middle, *under);
            }
        }
    }
    (lo, below)
}

/// [`bisect_narrow`] for a pair of strips, if they qualify: more than [`FEW`] voters, every
/// score below one (`any`: the OR of each column's scores), and `stakes` given (their total
/// below one); `None` otherwise.
pub(crate) fn narrow_first(
    rows: &[[u32; NARROW]],
    stakes: Option<&[u32]>,
    (any, differ): (&[u64; NARROW], &[u64; NARROW]),
    minority: i64,
) -> Option<Bisected<NARROW>> {
    let stakes = stakes?;
    let len = rows.len().min(stakes.len());
    let narrow = any.iter().all(|any| any >> 32 == 0);
    let minority = u32::try_from(minority).ok()?;
    if len <= FEW || !narrow {
        return None;
    }
    let (_, mask, _) = radix_round(len, u64::MAX);
    let shift: [u32; NARROW] = differ.map(|d| radix_round(len, d).0);
    let (rows, stakes) = (rows.get(..len)?, stakes.get(..len)?);
    Some(bisect_narrow(rows, stakes, &shift, mask.count_ones(), minority))
}

/// The lanes of [`bisect_narrow`]: two strips.
pub(crate) const NARROW: usize = 2 * STRIP;

/// [`bisect`] on two strips at once (`rows`: a row per voter, lane `l` column `l` of the
/// pair), for scores and stakes that fit 32 bits: every score below one (raw bits below
/// 2³², where the keys order as the `u32`s do) and the stakes' total below one (so every
/// sum of stakes fits too, and so does the minority, below the total). Sixteen lanes to a
/// vector: half the operations of two `i64` strips. Returns the sixteen lanes' `(lo,
/// below)`, each strip's as [`bisect`] gives them (the same: tested).
pub(crate) fn bisect_narrow(
    rows: &[[u32; NARROW]],
    stakes: &[u32],
    shift: &[u32; NARROW],
    bits: u32,
    minority: u32,
) -> Bisected<NARROW> {
    // (The window ends at bit 32 at most: `shift + bits` is the top differing bit or
    // `bits`.)
    let lo: [u32; NARROW] = core::array::from_fn(|lane| {
        let first = rows.first().and_then(|row| row.get(lane)).copied().unwrap_or(0);
        let window = shift.get(lane).map_or(32, |s| s.wrapping_add(bits));
        first & u32::MAX.checked_shl(window).unwrap_or(0)
    });
    let (lo, below) = bisect_lanes(rows, stakes, (shift, bits), minority, lo);
    // As keys (a non-negative score's key is the score with the top bit set) and `i64`s.
    (lo.map(|lo| u64::from(lo) | 1 << 63), below.map(i64::from))
}

/// [`radix_strip`]'s lanes whose chosen bucket holds at most this many items are selected
/// by [`few_median`]. (With one to two items per bucket, [`radix_round`]: the n = 256
/// consensus took 9.5–9.7 µs with three, 10.0–10.1 µs with four, no less with two, timed
/// alternately.)
const SLOTS: usize = 3;

/// [`sorted_median`] of a lane's chosen items (`mask`: bit `r` for row `r` of a strip of at
/// most 64 `rows`; `lo`: the stake under them) when there are one to [`SLOTS`] of them and
/// their stake passes the minority; `None` otherwise. Without a branch on the data: the
/// items go into [`SLOTS`] places (an empty one scores the largest `i64` and holds no stake,
/// so it is never the smallest passing score before a real one), each place's cumulative
/// stake at the end of its run of equal scores is the stake of every item scoring at most
/// its score, and the answer is the smallest score whose `lo +` that passes the minority.
/// (Sorting and walking two or three items took more time in mispredicted branches (how
/// many items, their order, where the stake crosses) than these nine comparisons.)
#[inline]
fn few_median<T: Score, const L: usize>(
    (rows, lane): (&[[T; L]], usize),
    stakes: &[i64],
    mask: u64,
    lo: i64,
    minority: i64,
) -> Option<i64> {
    if mask == 0 || mask.count_ones() as usize > SLOTS {
        return None;
    }
    let last = rows.len().min(stakes.len()).checked_sub(1)?;
    let mut scores = [i64::MAX; SLOTS];
    let mut weights = [0i64; SLOTS];
    let mut rest = mask;
    for (score, weight) in scores.iter_mut().zip(weights.iter_mut()) {
        // (No bit left: row 64, an empty place; the read is clamped, its value dropped.)
        let row = rest.trailing_zeros() as usize;
        rest &= rest.wrapping_sub(1);
        let real = row <= last;
        let at = row.min(last);
        let value = rows.get(at).and_then(|r| r.get(lane)).map_or(0, |s| s.bits());
        let stake = stakes.get(at).copied().unwrap_or_default();
        *score = if real { value } else { i64::MAX };
        *weight = stake & i64::from(real).wrapping_neg();
    }
    let mut best = i64::MAX;
    let mut through = lo;
    for (candidate, weight) in scores.iter().zip(&weights) {
        // Non-negative stakes within the lane's total: no overflow.
        through = through.wrapping_add(*weight);
        let mut cumulative = lo;
        for (score, weight) in scores.iter().zip(&weights) {
            cumulative =
                cumulative.wrapping_add(*weight & i64::from(*score <= *candidate).wrapping_neg());
        }
        let passes = cumulative > minority;
        best = if passes { best.min(*candidate) } else { best };
    }
    (through > minority).then_some(best)
}

/// One round's bucket layout for `len` active items whose keys differ at `differ`: the
/// shift and mask of the bucket bits and the number of buckets. One to two items per
/// bucket: `2^b ≥ len / 2`, with `b` in [4, 8]; the bucket bits end at the highest
/// differing bit `t`. (Measured at n = 256, 64 voters, timed alternately: the consensus
/// took 9.8–9.9 µs with 64 buckets, 10.3–10.4 µs with 32 (two to four items each: fewer
/// chosen buckets held few enough items for [`few_median`], more were sorted), 10.0–10.5 µs
/// with 128 (one more bisection pass); n = 4,096 on one thread was no slower.)
#[inline]
fn radix_round(len: usize, differ: u64) -> (u32, u64, usize) {
    let bits =
        (usize::BITS.wrapping_sub(len.leading_zeros())).saturating_sub(1).clamp(4, MAX_BUCKET_BITS);
    let top = u64::BITS.wrapping_sub(differ.leading_zeros()); // bits up to `t`, inclusive
    let shift = top.saturating_sub(bits);
    // (`mask < 2^MAX_BUCKET_BITS`: the indexing needs no bounds check.)
    let mask = (1u64 << bits).wrapping_sub(1) & (BUCKETS as u64).wrapping_sub(1);
    (shift, mask, 1usize << bits)
}

/// The first of the `used` buckets where the cumulative stake passes `target` (the minority
/// less the stake below the active items), with the stake of the buckets before it; `None`
/// (and the total stake, second) if none does.
#[inline]
fn crossing(scratch: &Buckets, used: usize, target: i64) -> Result<(usize, i64), i64> {
    let mut below = 0i64;
    for (b, sum) in scratch.sums.get(..used).unwrap_or_default().iter().enumerate() {
        let through = below.wrapping_add(*sum);
        if through > target {
            return Ok((b, below));
        }
        below = through;
    }
    Err(below)
}

/// [`radix_rounds`]' scratch: stake and item count per bucket (any contents between calls).
pub(crate) struct Buckets {
    sums: [i64; BUCKETS],
    counts: [u32; BUCKETS],
    /// [`radix_strip`]: per 64 rows, each lane's chosen items (bit `r`: row `r`), the
    /// lanes of each 64 rows together.
    masks: Vec<u64>,
}

impl Buckets {
    pub(crate) fn new() -> Self {
        Self { sums: [0; BUCKETS], counts: [0; BUCKETS], masks: Vec::new() }
    }

    /// The bytes it holds: its arrays, and its masks' capacity (which grows with the
    /// voters).
    pub(crate) fn bytes(&self) -> usize {
        let masks = self.masks.capacity().saturating_mul(core::mem::size_of::<u64>());
        core::mem::size_of::<Self>().saturating_add(masks)
    }
}

/// [`weighted_median`], the same value, by radix selection: a few passes over the column
/// whatever its scores, from the OR and the AND of the items' keys, for a
/// `minority` in `[0, total)`; `lo` is the stake of the column's items below `items` (0 for
/// a whole column; [`radix_strip`] hands over after its first round).
///
/// The answer `v*` is the smallest score whose cumulative stake (scores at or below it)
/// exceeds `minority`. Invariant: the active items hold `v*`, `lo` is the stake of every
/// item below them, and `lo ≤ minority < lo + Σ active stake`. A round takes the highest
/// bit `t` at which the active scores differ (from the OR and the AND of their keys: above
/// `t` every key has the same bits), sums the stake per bucket of the `b` key bits just
/// below and at `t` (a bucket's scores all lie below the next bucket's), and finds the first
/// bucket where `lo +` the cumulative stake exceeds `minority`: every score of an earlier
/// bucket has cumulative stake at most `minority`, the largest of this bucket more, so `v*`
/// is in it. Its items become the active ones (`lo` grows by the earlier buckets' stake) and
/// share every key bit from the bucket's lowest up: the next round works on lower bits, so
/// the rounds end (at most 64 / `b` of them), when all active scores are equal (`v*` is that
/// score) or at most [`FEW`] remain (sorted and walked). When the chosen bucket holds at
/// most [`FEW`] items (the usual case: a few items per bucket), they are picked out with
/// a branch the predictor gets right (it is rarely taken), sorted and walked. The stakes
/// must be non-negative and sum to `total` without saturating (normalized stake), so no
/// bucket sum overflows; `spare` is scratch at least as long as `items` (both scrambled
/// on return), `scratch` any [`Buckets`].
pub(crate) fn radix_rounds(
    items: &mut [Item],
    spare: &mut [Item],
    scratch: &mut Buckets,
    minority: i64,
    mut lo: i64,
    (mut any, mut all): (u64, u64),
) -> i64 {
    let (mut current, mut next) = (items, spare);
    let mut len = current.len();
    loop {
        if len <= FEW {
            return sorted_median(current.get_mut(..len).unwrap_or_default(), minority, lo);
        }
        let active = current.get(..len).unwrap_or_default();
        let differ = any ^ all;
        if differ == 0 {
            // Every active score is the same: it is `v*`.
            return active.first().map_or(0, |item| item.0);
        }
        let (shift, mask, used) = radix_round(len, differ);
        scratch.sums.get_mut(..used).unwrap_or_default().fill(0);
        scratch.counts.get_mut(..used).unwrap_or_default().fill(0);
        for &(score, stake) in active {
            let bucket = ((key(score) >> shift) & mask) as usize;
            if let (Some(sum), Some(count)) =
                (scratch.sums.get_mut(bucket), scratch.counts.get_mut(bucket))
            {
                // Non-negative stakes summing to `total`: no overflow. At most 65,535 items.
                *sum = sum.wrapping_add(stake);
                *count = count.wrapping_add(1);
            }
        }
        // The first bucket where the cumulative stake passes the minority.
        let (chosen, below) = match crossing(scratch, used, minority.wrapping_sub(lo)) {
            Ok(found) => found,
            Err(below) => {
                // Unreachable under the invariant; the reference's quickselect decides then.
                let hi = lo.saturating_add(below);
                let out = next.get_mut(..len).unwrap_or_default();
                let items = current.get_mut(..len).unwrap_or_default();
                return quickselect(items, out, minority, lo, hi);
            }
        };
        lo = lo.wrapping_add(below);
        let in_chosen = |score: i64| (key(score) >> shift) & mask == chosen as u64;
        let count = scratch.counts.get(chosen).map_or(usize::MAX, |c| *c as usize);
        if count <= FEW {
            let mut few = [(0i64, 0i64); FEW];
            let mut k = 0usize;
            for &(score, stake) in active {
                if in_chosen(score) {
                    if let Some(slot) = few.get_mut(k) {
                        *slot = (score, stake);
                    }
                    k = k.wrapping_add(1);
                }
            }
            return sorted_median(few.get_mut(..k).unwrap_or_default(), minority, lo);
        }
        // Keep the chosen bucket's items (without branching on the coin flips), with the
        // OR and AND of their keys for the next round.
        let mut kept = 0usize;
        (any, all) = (0, u64::MAX);
        for &(score, stake) in active {
            let k = key(score);
            if let Some(slot) = next.get_mut(kept) {
                *slot = (score, stake);
            }
            let keep = in_chosen(score);
            let select = u64::from(keep).wrapping_neg();
            any |= k & select;
            all &= k | !select;
            kept = kept.wrapping_add(usize::from(keep));
        }
        core::mem::swap(&mut current, &mut next);
        len = kept;
    }
}

/// The widest radix [`radix_rounds`] uses, and its bucket count.
const MAX_BUCKET_BITS: u32 = 8;
const BUCKETS: usize = 1 << MAX_BUCKET_BITS;

/// The answer among a few `items` with `lo ≤ minority < lo + Σ stake` (`lo`: the cumulative
/// stake below them): sorted by score, the first score at the end of its run of equal
/// scores where `lo +` the cumulative stake exceeds `minority` — the smallest score whose
/// cumulative stake exceeds the minority, the value the reference's quickselect returns. (The
/// sums stay within the items' stake interval: no overflow.) The last score if none does
/// (unreachable under the invariant; `quickselect` also ends on the largest score there), 0
/// if empty.
fn sorted_median(items: &mut [Item], minority: i64, lo: i64) -> i64 {
    items.sort_unstable_by_key(|item| item.0);
    let mut cumulative = lo;
    let mut runs = items.iter().peekable();
    while let Some(&(score, stake)) = runs.next() {
        cumulative = cumulative.wrapping_add(stake);
        let run_ends = runs.peek().is_none_or(|next| next.0 != score);
        if run_ends && cumulative > minority {
            return score;
        }
    }
    items.last().map_or(0, |item| item.0)
}

/// The reference's quickselect on all of `items`, with `[lo, hi]` the cumulative stake below
/// and through them; `spare` is scratch of the same length.
fn quickselect(
    items: &mut [Item],
    spare: &mut [Item],
    minority: i64,
    mut lo: i64,
    mut hi: i64,
) -> i64 {
    // The current partition is `current[start..end]`; each round splits it into `next`
    // (below the pivot from the front, above it from the back) without branching on the
    // comparisons, then the two buffers swap.
    let (mut current, mut next) = (items, spare);
    let (mut start, mut end) = (0usize, current.len());
    loop {
        let part = current.get(start..end).unwrap_or_default();
        let len = part.len();
        match part {
            [] => return 0,
            [(only, _)] => return *only,
            _ => {}
        }
        let pivot = part.get(len / 2).map_or(0, |item| item.0);
        let (mut below, mut above) = (0usize, 0usize);
        let (mut lo_stake, mut hi_stake) = (0i64, 0i64);
        let out = next.get_mut(start..end).unwrap_or_default();
        for &(score, stake) in part {
            let is_below = score < pivot;
            let is_above = score > pivot;
            if let Some(slot) = out.get_mut(below) {
                *slot = (score, stake);
            }
            if let Some(slot) = out.get_mut(len.wrapping_sub(1).wrapping_sub(above)) {
                *slot = (score, stake);
            }
            below = below.wrapping_add(usize::from(is_below));
            above = above.wrapping_add(usize::from(is_above));
            lo_stake = lo_stake.saturating_add(stake & i64::from(is_below).wrapping_neg());
            hi_stake = hi_stake.saturating_add(stake & i64::from(is_above).wrapping_neg());
        }
        core::mem::swap(&mut current, &mut next);
        if minority < lo.saturating_add(lo_stake) && below > 0 {
            hi = lo.saturating_add(lo_stake);
            end = start.wrapping_add(below);
        } else if hi.saturating_sub(hi_stake) <= minority && above > 0 {
            lo = hi.saturating_sub(hi_stake);
            start = end.wrapping_sub(above);
        } else {
            return pivot;
        }
    }
}

/// `math::exp_safe` (the library's `exp` on the input clamped to [−20, 20]), bit for bit.
///
/// On the clamped range nothing can overflow (each Taylor term stays below 2⁵⁸ and the sum
/// below `e²⁰·2³²`), so the checks go: 64×64-bit products, divisions by literals (which
/// compile to multiplications), and the series stops at the first zero term (every later
/// term is zero too). The inverse for a negative input is one 64-bit division.
pub(crate) fn exp_safe(x: I32F32) -> I32F32 {
    const ONE_BITS: i64 = 1 << 32;
    let clamped = x.clamp(I32F32::from_num(-20), I32F32::from_num(20));
    let bits = clamped.to_bits();
    if bits == 0 || bits == ONE_BITS {
        // The library's special cases exp(0) and exp(1).
        return crate::math::exp_safe(clamped);
    }
    let operand = bits.unsigned_abs();
    let mut result = operand.wrapping_add(1 << 32);
    let mut term = operand;
    'series: {
        macro_rules! terms {
            ($($i:literal)*) => {$(
                let product = u128::from(term).wrapping_mul(u128::from(operand)) >> 32;
                term = (product as u64).wrapping_div($i);
                if term == 0 {
                    break 'series;
                }
                result = result.wrapping_add(term);
            )*};
        }
        terms!(2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31);
    }
    let result = I32F32::from_bits(i64::try_from(result).unwrap_or(i64::MAX));
    if bits < 0 {
        reciprocal(result)
    } else {
        result
    }
}

/// How many exponentials [`exp_safe_slice`] interleaves.
const LANES: usize = 4;

/// [`exp_safe`] of every value, in place, bit for bit.
///
/// Each series is a chain of dependent multiplications; four independent chains at once
/// keep the multiplier busy. A lane whose term reached zero keeps adding zero terms (a zero
/// term stays zero), which does not change its sum, until every lane's term is zero.
pub(crate) fn exp_safe_slice(values: &mut [I32F32]) {
    let mut chunks = values.chunks_exact_mut(LANES);
    for chunk in &mut chunks {
        let mut lanes = [zero(); LANES];
        lanes.copy_from_slice(chunk);
        chunk.copy_from_slice(&exp_safe_lanes(lanes));
    }
    for value in chunks.into_remainder() {
        *value = exp_safe(*value);
    }
}

/// [`exp_safe`] of [`LANES`] values, the series interleaved.
fn exp_safe_lanes(x: [I32F32; LANES]) -> [I32F32; LANES] {
    const ONE_BITS: i64 = 1 << 32;
    let clamped = x.map(|v| v.clamp(I32F32::from_num(-20), I32F32::from_num(20)));
    let operand = clamped.map(|v| v.to_bits().unsigned_abs());
    // As in `exp_safe`: on the clamped range no term nor sum overflows (terms < 2⁵⁸).
    let mut result = operand.map(|o| o.wrapping_add(1 << 32));
    let mut term = operand;
    'series: {
        macro_rules! terms {
            ($($i:literal)*) => {$(
                let mut any = 0u64;
                for ((t, o), r) in term.iter_mut().zip(&operand).zip(result.iter_mut()) {
                    let product = u128::from(*t).wrapping_mul(u128::from(*o)) >> 32;
                    *t = (product as u64).wrapping_div($i);
                    *r = r.wrapping_add(*t);
                    any |= *t;
                }
                if any == 0 {
                    break 'series;
                }
            )*};
        }
        terms!(2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31);
    }
    let mut out = [zero(); LANES];
    for ((o, c), r) in out.iter_mut().zip(&clamped).zip(&result) {
        let bits = c.to_bits();
        *o = if bits == 0 || bits == ONE_BITS {
            // The library's special cases exp(0) and exp(1).
            crate::math::exp_safe(*c)
        } else {
            let value = I32F32::from_bits(i64::try_from(*r).unwrap_or(i64::MAX));
            if bits < 0 {
                reciprocal(value)
            } else {
                value
            }
        };
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::math;
    use tao_primitives::fixed::{saturating_sum, u16_proportion_to_fixed};

    /// A xorshift generator for the crate's unit tests.
    pub(crate) struct Rng(pub(crate) u64);
    impl Rng {
        pub(crate) fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    fn bits(b: i64) -> I32F32 {
        I32F32::from_bits(b)
    }

    #[test]
    fn divisor_is_safe_div() {
        let mut rng = Rng(0x1234_5678_9ABC_DEF1);
        let mut values: Vec<i64> = vec![
            0,
            1,
            2,
            3,
            -1,
            -2,
            i64::MAX,
            i64::MIN,
            i64::MIN + 1,
            1 << 32,
            (1 << 32) - 1,
            (1 << 32) + 1,
            1 << 31,
            1 << 62,
            i64::MAX - (1 << 32),
            65_535 << 32,
        ];
        for _ in 0..300 {
            let r = rng.next();
            let shift = rng.next() % 64;
            values.push((r >> shift) as i64);
            values.push(-((r >> shift) as i64 >> 1));
        }
        for &d in &values {
            let divisor = Divisor::new(bits(d));
            for &a in &values {
                assert_eq!(divisor.divide(bits(a)), bits(a).safe_div(bits(d)), "{a} / {d}");
            }
            for _ in 0..200 {
                let a = (rng.next() >> (rng.next() % 64)) as i64;
                assert_eq!(divisor.divide(bits(a)), bits(a).safe_div(bits(d)), "{a} / {d}");
                // Near the divisor and its multiples, where corrections kick in.
                let near = d
                    .wrapping_mul((rng.next() % 5) as i64)
                    .wrapping_add((rng.next() % 7) as i64 - 3);
                assert_eq!(
                    divisor.divide(bits(near)),
                    bits(near).safe_div(bits(d)),
                    "{near} / {d}"
                );
            }
        }
    }

    #[test]
    fn divide_unit_is_safe_div_below_the_divisor() {
        let mut rng = Rng(0x0BAD_CAFE_1234_5678);
        for _ in 0..3_000 {
            let d = (rng.next() >> (rng.next() % 64)).max(1) as i64 & i64::MAX;
            let d = d.max(1);
            let divisor = Divisor::new(bits(d));
            let mut numerators = vec![0, 1, d, d - 1, d / 2, d / 3];
            numerators.extend((0..50).map(|_| (rng.next() % (d as u64 + 1)) as i64));
            for a in numerators {
                assert_eq!(bits(divisor.divide_unit(a)), bits(a).safe_div(bits(d)), "{a} / {d}");
            }
        }
    }

    /// The normalizations against the library's, on vectors of mixed signs and magnitudes
    /// (saturating sums, zero sums, negative totals).
    #[test]
    fn normalize_is_the_reference() {
        let check = |values: &[I32F32], total: I32F32, label: &str| {
            assert_eq!(sum(values), saturating_sum(values.iter()), "{label}");
            let (mut ours, mut reference) = (values.to_vec(), values.to_vec());
            normalize(&mut ours);
            math::normalize(&mut reference);
            assert_eq!(ours, reference, "{label}");
            let (mut ours, mut reference) = (values.to_vec(), values.to_vec());
            normalize_with_sum(&mut ours, total);
            math::normalize_with_sum(&mut reference, total);
            assert_eq!(ours, reference, "{label} with sum {total:?}");
        };
        let mut rng = Rng(0x4E0E_3A11_2B5C_0017);
        for case in 0..20_000 {
            let len = (rng.next() % 20) as usize;
            let shift = rng.next() % 64;
            let values: Vec<I32F32> = (0..len)
                .map(|_| {
                    let v = (rng.next() >> shift) as i64;
                    bits(match rng.next() % 6 {
                        0 => -v,
                        1 => 0,
                        _ => v,
                    })
                })
                .collect();
            let total = bits(rng.next() as i64 >> (rng.next() % 64));
            check(&values, total, &format!("case {case}"));
            // Longer vectors below one (the lane path), with a sum at least theirs.
            let values: Vec<I32F32> = (0..rng.next() % 300)
                .map(|_| bits((rng.next() >> (32 + rng.next() % 32)) as i64))
                .collect();
            let total =
                saturating_sum(values.iter()).saturating_add(bits((rng.next() >> 20) as i64));
            check(&values, total, &format!("case {case} below one"));
        }
    }

    #[test]
    fn unit_divisor_is_safe_div_below_the_divisor() {
        let mut rng = Rng(0x0DD5_EED5_1234_9876);
        let mut divisors: Vec<i64> = vec![1, 2, 3, ONE - 1, ONE, ONE + 1, (1 << 62) - 1];
        for b in 1..62 {
            divisors.extend([(1i64 << b) - 1, 1 << b, (1 << b) + 1]);
        }
        divisors.extend(
            (0..3_000).map(|_| ((rng.next() >> (rng.next() % 64)) as i64 & ((1 << 62) - 1)).max(1)),
        );
        for d in divisors {
            let divisor = UnitDivisor::new(bits(d)).expect("in range");
            let top = d.min((1 << 33) - 1);
            let mut numerators = vec![0, 1, top, top - 1, top / 2, top / 3, ONE.min(top)];
            numerators.extend((0..60).map(|_| (rng.next() % (top as u64 + 1)) as i64));
            for a in numerators {
                assert_eq!(bits(divisor.divide(a)), bits(a).safe_div(bits(d)), "{a} / {d}");
            }
        }
        assert!(UnitDivisor::new(bits(0)).is_none() && UnitDivisor::new(bits(-1)).is_none());
        // Beyond its range, the share divisor falls back to `divide_unit`.
        for d in [1i64 << 62, i64::MAX, (1 << 62) + 12_345] {
            for a in [0, 1, ONE / 3, ONE] {
                let share = ShareDivisor::new(bits(d)).divide(a);
                assert_eq!(bits(share), bits(a).safe_div(bits(d)), "{a} / {d}");
            }
        }
        let share = ShareDivisor::new(bits(3 * ONE));
        assert_eq!(bits(share.divide(ONE)), bits(ONE).safe_div(bits(3 * ONE)));
        assert!(UnitDivisor::new(bits(1 << 62)).is_none());
    }

    #[test]
    fn unit_divisors_are_unit_divisor_on_the_unit_interval() {
        let mut rng = Rng(0x5EED_00FD_11DE_5000);
        let mut sums: Vec<i64> = vec![1, 2, 3, ONE - 1, ONE, ONE + 1, 64 * ONE, (1 << 62) - 1];
        for b in 1..62 {
            sums.extend([(1i64 << b) - 1, 1 << b, (1 << b) + 1]);
        }
        sums.extend(
            (0..2_000).map(|_| ((rng.next() >> (rng.next() % 64)) as i64 & ((1 << 62) - 1)).max(1)),
        );
        let divisors: Vec<UnitDivisor> =
            sums.iter().map(|d| UnitDivisor::new(bits(*d)).expect("in range")).collect();
        let lanes = UnitDivisors::new(&sums.iter().map(|d| *d as u64).collect::<Vec<_>>());
        // From the sums directly: the same fields; a sum of 0 or less as a divisor of one.
        let fixed_sums: Vec<I32F32> = sums.iter().map(|d| bits(*d)).collect();
        let of_sums = UnitDivisors::of_sums(&fixed_sums).expect("in range");
        let fields = |l: &UnitDivisors| {
            (l.m0.clone(), l.m1.clone(), l.up.clone(), l.down.clone(), l.of_one.clone())
        };
        assert_eq!(fields(&of_sums), fields(&lanes));
        let ones = UnitDivisors::new(&[ONE as u64]);
        for empty in [0, -5] {
            let of_empty = UnitDivisors::of_sums(&[bits(empty)]).expect("a divisor of one");
            assert_eq!(fields(&of_empty), fields(&ones));
        }
        assert!(UnitDivisors::of_sums(&[bits(1 << 62)]).is_none());
        // A row of cells each at most its column's sum and one.
        let mut row = || -> Vec<i64> {
            sums.iter()
                .map(|d| {
                    let top = (*d).min(ONE);
                    match rng.next() % 5 {
                        0 => 0,
                        1 => top,
                        2 => top - 1,
                        _ => (rng.next() % (top as u64 + 1)) as i64,
                    }
                })
                .collect()
        };
        let rows: Vec<Vec<i64>> = (0..40 * 4).map(|_| row()).collect();
        let as_fixed = |values: &[i64]| values.iter().map(|v| bits(*v)).collect::<Vec<_>>();
        for quad in rows.chunks_exact(4) {
            // Factors in [0, 1].
            let factors: Vec<i64> = sums
                .iter()
                .map(|_| {
                    if rng.next() % 10 == 0 {
                        ONE
                    } else {
                        (rng.next() % (ONE as u64 + 1)) as i64
                    }
                })
                .collect();
            let fixed_factors = as_fixed(&factors);
            let fixed: Vec<Vec<I32F32>> = quad.iter().map(|row| as_fixed(row)).collect();
            let four = lanes.dot4([&fixed[0], &fixed[1], &fixed[2], &fixed[3]], &fixed_factors);
            for ((row, fixed), four) in quad.iter().zip(&fixed).zip(four) {
                let mut expected = 0i64;
                for (j, ((a, f), d)) in row.iter().zip(&factors).zip(&divisors).enumerate() {
                    let share = d.divide(*a);
                    let column = (lanes.m0[j], lanes.m1[j], lanes.up[j], lanes.down[j]);
                    assert_eq!(
                        split_divide(*a, column, lanes.of_one[j]),
                        share,
                        "{a} / {}",
                        sums[j]
                    );
                    expected = expected.wrapping_add(mul_unit(share, *f));
                }
                assert_eq!(lanes.dot(fixed, &fixed_factors), expected);
                // Four rows at once: each its own row's sum.
                assert_eq!(four, expected);
            }
        }
    }

    /// Every u16 weight against `safe_div`, for totals at every bit length and their edges.
    /// Against `safe_div`: edges and random values of every sign and size, and pairs in the
    /// fast path's range.
    #[test]
    fn ratio_is_safe_div() {
        let mut rng = Rng(0x0A71_0000_5AFE_D1F0);
        let mut values: Vec<i64> =
            vec![0, 1, 2, ONE - 1, ONE, ONE + 1, -1, -ONE, i64::MAX, i64::MIN, 1 << 40];
        for _ in 0..300 {
            let r = rng.next() >> (rng.next() % 64);
            values.push(r as i64);
            values.push(-(r as i64));
            values.push((rng.next() % (ONE as u64 + 2)) as i64);
        }
        for &a in &values {
            for &d in &values {
                assert_eq!(ratio(bits(a), bits(d)), bits(a).safe_div(bits(d)), "{a} / {d}");
            }
        }
    }

    /// Against the reference's stable sort: random values with many ties (a few distinct
    /// values, negatives, zeros), every `k` from 0 past `n`.
    #[test]
    fn is_topk_nonzero_is_the_reference() {
        let mut rng = Rng(0x7095_0000_ABCD_0001);
        for case in 0..300 {
            let n = (rng.next() % 40) as usize;
            let distinct = 1 + rng.next() % if case % 3 == 0 { 3 } else { 1_000 };
            let values: Vec<I32F32> = (0..n)
                .map(|_| bits((rng.next() % distinct) as i64 - (distinct / 3) as i64))
                .collect();
            for k in 0..=n + 2 {
                assert_eq!(
                    is_topk_nonzero(&values, k),
                    crate::math::is_topk_nonzero(&values, k),
                    "{values:?} {k}"
                );
            }
        }
        // Few stakers (no negative value, mostly zeros): the shortcut without a selection
        // when at most `k` are non-zero, the selection above that.
        for case in 0..300 {
            let n = (rng.next() % 40) as usize;
            let values: Vec<I32F32> = (0..n)
                .map(|_| bits(if rng.next() % 4 == 0 { (rng.next() % 5) as i64 } else { 0 }))
                .collect();
            for k in 0..=n + 2 {
                let ours = is_topk_nonzero(&values, k);
                assert_eq!(
                    ours,
                    crate::math::is_topk_nonzero(&values, k),
                    "{case}: {values:?} {k}"
                );
            }
        }
        let edges = [bits(i64::MIN), bits(i64::MAX), bits(-1), bits(0), bits(1), bits(i64::MIN)];
        for k in 0..=7 {
            assert_eq!(is_topk_nonzero(&edges, k), crate::math::is_topk_nonzero(&edges, k));
        }
    }

    #[test]
    fn row_divisor_is_safe_div() {
        let mut totals: Vec<u64> =
            vec![1, 2, 3, 7, 32_767, 32_768, 32_769, 65_535, 65_536, 65_537, (1 << 31) - 1];
        for bits in 1..31 {
            totals.extend([(1u64 << bits) - 1, 1 << bits, (1 << bits) + 1]);
        }
        let mut rng = Rng(0x5EED_0F0D_1D01_2345);
        totals.extend((0..40).map(|_| 1 + rng.next() % ((1 << 31) - 1)));
        for t in totals {
            let divisor = RowDivisor::new(t).expect("in range");
            let total =
                tao_primitives::fixed::u16_to_fixed(0).saturating_add(bits((t as i64) << 32));
            assert_eq!(divisor.is_wide(), t > 1 << 15, "{t}");
            for w in 0..=u16::MAX {
                let expected = u16_integer(w).safe_div(total);
                assert_eq!(bits(divisor.divide(w)), expected, "{w} / {t}");
                if divisor.is_wide() {
                    assert_eq!(bits(divisor.divide_wide(w)), expected, "{w} / {t}");
                }
            }
        }
        assert!(RowDivisor::new(0).is_none() && RowDivisor::new(1 << 31).is_none());
    }

    #[test]
    fn mul_is_saturating_mul() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut values: Vec<i64> = vec![
            0,
            1,
            -1,
            i64::MAX,
            i64::MIN,
            i64::MIN + 1,
            1 << 32,
            -(1 << 32),
            1 << 47,
            (1 << 47) + 1,
            -(1 << 47),
            1 << 48,
            i64::MAX - 7,
        ];
        for _ in 0..400 {
            let r = rng.next() >> (rng.next() % 64);
            values.push(r as i64);
            values.push(-(r as i64));
        }
        for &a in &values {
            for &b in &values {
                assert_eq!(mul(bits(a), bits(b)), bits(a).saturating_mul(bits(b)), "{a} * {b}");
            }
        }
    }

    #[test]
    fn mul_unit_is_saturating_mul_on_the_unit_interval() {
        let mut rng = Rng(0x0123_4567_89AB_CDEF);
        let mut values: Vec<i64> = vec![0, 1, 2, ONE - 1, ONE, ONE / 2, 65_537];
        values.extend((0..2_000).map(|_| (rng.next() % (ONE as u64 + 1)) as i64));
        for &a in &values {
            assert!(is_unit(bits(a)));
            for &b in &values {
                assert_eq!(bits(mul_unit(a, b)), bits(a).saturating_mul(bits(b)), "{a} * {b}");
            }
        }
        assert!(!is_unit(bits(-1)) && !is_unit(bits(ONE + 1)));
        for &a in &values {
            for &b in &values {
                assert_eq!(mul_unit_halves(a, b), mul_unit(a, b), "{a} * {b}");
            }
        }
        for &f in &values {
            let factor = UnitFactor::new(f);
            for &x in &values {
                assert_eq!(factor.times(x), mul_unit(f, x), "{f} * {x}");
                if f < ONE {
                    assert!(factor.is_below_one());
                    assert_eq!(factor.times_below_one(x), mul_unit(f, x), "{f} * {x}");
                    if x < ONE {
                        assert_eq!(factor.times_both_below_one(x), mul_unit(f, x), "{f} * {x}");
                    }
                }
            }
            assert_eq!(factor.is_below_one(), f < ONE);
        }
    }

    /// Against `mul_unit` of the library's u16 proportion: every u16, for factors at the
    /// edges of (0, 1) and random ones; none outside it.
    #[test]
    fn proportion_factor_is_mul_unit_of_the_proportion() {
        let mut rng = Rng(0x9E0_F00D_1234_5678);
        let mut factors: Vec<i64> =
            vec![1, 2, 3, 65_535, 65_536, 65_537, ONE / 2, ONE - 1, ONE - 2];
        factors.extend((0..40).map(|_| 1 + (rng.next() % (ONE as u64 - 1)) as i64));
        for f in factors {
            let factor = ProportionFactor::new(f).expect("in range");
            for b in 0..=u16::MAX {
                let proportion = tao_primitives::fixed::u16_proportion_to_fixed(b).to_bits();
                assert_eq!(factor.times(b), mul_unit(f, proportion), "{f} * {b}");
                if b < u16::MAX {
                    assert_eq!(factor.times_below_max(b), factor.times(b), "{f} * {b}");
                }
            }
        }
        for f in [0, ONE, ONE + 1, -1, i64::MAX] {
            assert!(ProportionFactor::new(f).is_none(), "{f}");
        }
    }

    /// Against the saturating sum of the `u16_integer`s, up to and past saturation.
    #[test]
    fn u16_sum_is_the_saturating_sum() {
        let mut rng = Rng(0x5A7_0000_1616);
        for case in 0..60 {
            let len = rng.next() % 2_000 + if case % 4 == 0 { 32_700 } else { 0 };
            let (mut total, mut fixed) = (0u64, zero());
            for _ in 0..len {
                let b = if rng.next() % 3 == 0 { (rng.next() % 65_536) as u16 } else { u16::MAX };
                total += u64::from(b);
                fixed = fixed.saturating_add(u16_integer(b));
                assert_eq!(u16_sum(total), fixed, "case {case}: {total}");
            }
        }
        assert_eq!(u16_sum(0), zero());
        assert_eq!(u16_sum((1 << 31) - 1), I32F32::from_bits(((1i64 << 31) - 1) << 32));
        assert_eq!(u16_sum(1 << 31), I32F32::max_value());
    }

    /// Against the library's `normalize_64` and narrowing: stakes from tiny to near the
    /// `I64F64` maximum (sums above and below 2⁹⁶ raw, saturating sums), zeros, negatives.
    #[test]
    fn normalized_stake_is_the_reference() {
        let mut rng = Rng(0x57A4_E0F0_1234_ABCD);
        for case in 0..6_000 {
            let len = (rng.next() % 70) as usize;
            let scale = rng.next() % 127;
            let stake: Vec<I64F64> = (0..len)
                .map(|_| {
                    let high = u128::from(rng.next()) << 64 | u128::from(rng.next());
                    let v = (high >> (1 + scale)) as i128;
                    I64F64::from_bits(match rng.next() % 10 {
                        0 => 0,
                        1 if case % 7 == 0 => -v,
                        2 => v >> (rng.next() % 100),
                        3 => i128::MAX - (rng.next() % 5) as i128,
                        _ => v,
                    })
                })
                .collect();
            let mut reference = stake.clone();
            math::normalize_64(&mut reference);
            let reference: Vec<I32F32> = reference.into_iter().map(fixed64_to_fixed32).collect();
            assert_eq!(normalized_stake(&stake), reference, "case {case}: {stake:?}");
        }
        // One reciprocal for many numerators: random divisors of every length, numerators
        // at and near the divisor's multiples of 2⁻³² and at random.
        for _ in 0..100_000 {
            let length = 1 + rng.next() % 126;
            let wide = u128::from(rng.next()) << 64 | u128::from(rng.next());
            let d = (wide >> (128 - length)).max(1);
            let Some(divisor) = WideDivisor::new(d) else { panic!("{d} in range") };
            let random = (u128::from(rng.next()) << 64 | u128::from(rng.next())) % (d + 1);
            let near = (d >> 32).saturating_mul(u128::from(rng.next() % (1 << 32)));
            for a in [random, near.min(d), near.saturating_sub(1).min(d), d, d - 1] {
                assert_eq!(divisor.quotient(a), quotient_32(a, d), "{a} / {d}");
            }
        }
        // The estimate one below (`A₁·2³²` one short of a multiple of `D₁`, `A₀` all ones)
        // and one above (`A₁·2³²` a multiple of `D₁`, `A₀ = 0`, `D₀ > 0`), shifted by 2.
        for _ in 0..20_000 {
            let d1 = rng.next() | 1 << 63 | 1;
            // `k = D₁⁻¹ mod 2³²` (Newton's iteration for an odd number), so that
            // `k·D₁ − 1` is a multiple of 2³².
            let low = d1 as u32;
            let k = (0..5).fold(low, |x, _| x.wrapping_mul(2u32.wrapping_sub(low.wrapping_mul(x))));
            let a1 = (u128::from(k) * u128::from(d1) - 1) >> 32;
            let (a, d) = ((a1 << 64 | u128::from(u64::MAX - 3)) >> 2, u128::from(d1) << 62);
            assert_eq!(WideDivisor::new(d).map(|w| w.quotient(a)), Some(quotient_32(a, d)));
            let m = rng.next() >> 33 | 1 << 31;
            let k = 1 + rng.next() % (1 << 32);
            let d0 = (rng.next() | 1) << 2;
            let (a, d) =
                ((u128::from(k * m) << 64) >> 2, (u128::from(m) << 96 | u128::from(d0)) >> 2);
            assert_eq!(WideDivisor::new(d).map(|w| w.quotient(a)), Some(quotient_32(a, d)));
        }
        assert!(WideDivisor::new(0).is_none() && WideDivisor::new(1 << 126).is_none());
        // The quotient at its edges: a = d, a = 0, a = d − 1, divisors at every bit length.
        for bits in 1..127u32 {
            for d in [(1u128 << bits) - 1, 1 << bits, (1 << bits) + 1, (1 << (bits - 1)) + 3] {
                if d == 0 || d >= 1 << 127 {
                    continue;
                }
                for a in [0, 1, d / 2, d / 3, d - 1, d] {
                    let expected =
                        I64F64::from_bits(a as i128).safe_div(I64F64::from_bits(d as i128));
                    let expected = fixed64_to_fixed32(expected).to_bits() as u128;
                    assert_eq!(quotient_32(a, d), expected, "{a} / {d}");
                    if let Some(wide) = WideDivisor::new(d) {
                        assert_eq!(wide.quotient(a), expected, "{a} / {d}, one reciprocal");
                    }
                }
            }
        }
    }

    #[test]
    fn share_of_is_the_fixed_point_product() {
        use tao_primitives::fixed::I96F32;
        let reference = |s: I32F32, amount: u64| {
            let amount = I96F32::saturating_from_num(amount);
            I96F32::saturating_from_num(s).saturating_mul(amount).saturating_to_num::<u64>()
        };
        let mut rng = Rng(0x5A4E_0F01_2345_6789);
        let mut shares: Vec<i64> =
            vec![0, 1, -1, ONE, ONE - 1, ONE + 1, i64::MAX, i64::MIN, -ONE, ONE / 2, 3];
        shares.extend((0..400).map(|_| (rng.next() >> (rng.next() % 64)) as i64));
        shares.extend((0..100).map(|_| -((rng.next() >> (rng.next() % 64)) as i64 >> 1)));
        let mut amounts: Vec<u64> = vec![0, 1, 2, 1_000_000_000, u64::MAX, u64::MAX - 1, 1 << 32];
        amounts.extend((0..400).map(|_| rng.next() >> (rng.next() % 64)));
        for &s in &shares {
            for &amount in &amounts {
                assert_eq!(
                    share_of(bits(s), amount),
                    reference(bits(s), amount),
                    "{s} of {amount}"
                );
            }
        }
    }

    #[test]
    fn reciprocal_is_one_over() {
        let mut rng = Rng(0xDEAD_BEEF_0BAD_F00D);
        let mut values: Vec<i64> =
            vec![0, 1, 2, 3, 4, -1, i64::MIN, i64::MAX, 1 << 32, 1 << 33, (1 << 32) + 1, 1 << 62];
        values.extend((0..100_000).map(|_| (rng.next() >> (rng.next() % 64)) as i64));
        for d in values {
            assert_eq!(reciprocal(bits(d)), one().safe_div(bits(d)), "1 / {d}");
        }
    }

    #[test]
    fn exp_is_the_reference_exp() {
        let mut inputs: Vec<i64> = vec![0, 1, -1, 1 << 32, -(1 << 32), i64::MAX, i64::MIN];
        inputs.extend((-(21i64 << 20)..(21i64 << 20)).step_by(997).map(|k| k << 12 | (k & 0xfff)));
        let mut rng = Rng(0x2545_F491_4F6C_DD1D);
        inputs.extend((0..300_000).map(|_| (rng.next() % (44u64 << 32)) as i64 - (22i64 << 32)));
        for b in inputs {
            assert_eq!(exp_safe(bits(b)), math::exp_safe(bits(b)), "bits {b}");
        }
    }

    /// The interleaved exponentials are the reference's, lane by lane, whatever their
    /// neighbours (lengths not a multiple of the lane count, special cases among others).
    #[test]
    fn exp_slice_is_the_reference_exp() {
        let mut rng = Rng(0x51AB_0C0D_E5E5_1234);
        let special: [i64; 7] = [0, 1, -1, 1 << 32, -(1 << 32), i64::MAX, i64::MIN];
        for round in 0..40_000 {
            let len = (rng.next() % 11) as usize;
            let input: Vec<I32F32> = (0..len)
                .map(|_| match rng.next() % 8 {
                    0 => bits(special[(rng.next() % 7) as usize]),
                    1 => bits((rng.next() >> (rng.next() % 64)) as i64),
                    _ => bits((rng.next() % (44u64 << 32)) as i64 - (22i64 << 32)),
                })
                .collect();
            let mut output = input.clone();
            exp_safe_slice(&mut output);
            assert_eq!(input.len(), output.len());
            for (x, y) in input.iter().zip(&output) {
                assert_eq!(*y, math::exp_safe(*x), "round {round}: x bits {}", x.to_bits());
            }
        }
    }

    #[test]
    fn u16_proportion_is_the_library_conversion() {
        for b in 0..=u16::MAX {
            assert_eq!(u16_integer(b), tao_primitives::fixed::u16_to_fixed(b), "{b}");
            assert_eq!(u16_proportion(b), u16_proportion_to_fixed(b), "{b}");
            assert_eq!(bits(u16_proportion_bits(b)), u16_proportion_to_fixed(b), "{b}");
        }
    }

    /// The radix-selected median against the reference quickselect, short and long columns:
    /// ties, zero stakes, skewed stakes, every kappa; scores clustered, spread over the
    /// unit interval, one far above the rest, negative, or at the `i64` extremes.
    /// The first round on 32-bit lanes is the `i64` one on each of its two strips: small
    /// stakes and clustered scores, so that the stake under a bound often equals the
    /// minority exactly, and random ones.
    #[test]
    fn bisect_narrow_is_bisect() {
        let mut rng = Rng(0xB15E_C700_0000_3232);
        for case in 0..3_000 {
            let len = FEW + 1 + (rng.next() % 120) as usize;
            let small = case % 2 == 0;
            let stakes: Vec<u32> =
                (0..len)
                    .map(|_| {
                        if small {
                            (rng.next() % 4) as u32
                        } else {
                            (rng.next() % (1 << 24)) as u32
                        }
                    })
                    .collect();
            let total: u64 = stakes.iter().map(|s| u64::from(*s)).sum();
            if total == 0 {
                continue;
            }
            let minority = (rng.next() % total) as i64;
            let spread = 1 + rng.next() % 32;
            let pair: Vec<[u32; NARROW]> = (0..len)
                .map(|_| {
                    core::array::from_fn(|lane| match lane % 4 {
                        0 => (rng.next() % (spread * 3)) as u32,
                        1 => (rng.next() >> (32 + rng.next() % 32)) as u32,
                        2 => 77,
                        _ => (rng.next() as u32) >> (rng.next() % 32),
                    })
                })
                .collect();
            let fold = |lane: usize| {
                let keys = pair.iter().map(|row| u64::from(row[lane]));
                (keys.clone().fold(0, |any, k| any | k), keys.fold(u64::MAX, |all, k| all & k))
            };
            let any: [u64; NARROW] = core::array::from_fn(|lane| fold(lane).0);
            let differ: [u64; NARROW] = core::array::from_fn(|lane| fold(lane).0 ^ fold(lane).1);
            let found = narrow_first(&pair, Some(&stakes), (&any, &differ), minority);
            let [first_a, first_b] = halves_of(&found.expect("narrow"));
            let wide_stakes: Vec<i64> = stakes.iter().map(|s| i64::from(*s)).collect();
            let (_, mask, _) = radix_round(len, u64::MAX);
            for (first, from) in [(first_a, 0), (first_b, STRIP)] {
                let half: Vec<[i64; STRIP]> = pair
                    .iter()
                    .map(|row| core::array::from_fn(|l| i64::from(row[from + l])))
                    .collect();
                let shift: [u32; STRIP] =
                    core::array::from_fn(|l| radix_round(len, differ[from + l]).0);
                let wide = bisect(&half, &wide_stakes, &shift, mask.count_ones(), minority);
                assert_eq!(first, wide, "case {case}, lanes from {from}");
            }
        }
        // Declined: a score of one or more, a minority past 32 bits, no stakes, few voters.
        let pair = vec![[1u32 << 31; NARROW]; FEW + 1];
        let stakes = vec![1u32; FEW + 1];
        let mut any = [1u64 << 31; NARROW];
        let differ = [0u64; NARROW];
        assert!(narrow_first(&pair, Some(&stakes), (&any, &differ), 3).is_some());
        assert!(narrow_first(&pair, None, (&any, &differ), 3).is_none());
        assert!(narrow_first(&pair, Some(&stakes), (&any, &differ), 1 << 32).is_none());
        assert!(narrow_first(&pair[..FEW], Some(&stakes), (&any, &differ), 3).is_none());
        any[5] = 1 << 32;
        assert!(narrow_first(&pair, Some(&stakes), (&any, &differ), 3).is_none());
    }

    /// `few_median` is `sorted_median` for one to `SLOTS` items of a strip's lane (ties, zero
    /// stakes, the extreme scores, every row of 64, the stake below them above the minority
    /// too), and declines none, more items, or a stake that does not pass the minority.
    #[test]
    fn few_median_is_sorted_median() {
        let mut rng = Rng(0xF3_0000_5107_5000);
        for case in 0..20_000 {
            let len = 1 + (rng.next() % 64) as usize;
            let lane = (rng.next() % STRIP as u64) as usize;
            let distinct = 1 + rng.next() % 6;
            let rows: Vec<[i64; STRIP]> = (0..len)
                .map(|_| {
                    core::array::from_fn(|_| match rng.next() % 9 {
                        0 => i64::MAX,
                        1 => i64::MIN,
                        _ => (rng.next() % distinct) as i64 * 1_000,
                    })
                })
                .collect();
            let stakes: Vec<i64> = (0..len)
                .map(|_| if rng.next() % 5 == 0 { 0 } else { (rng.next() % 1_000) as i64 })
                .collect();
            let mut mask = 0u64;
            for _ in 0..rng.next() % 7 {
                mask |= 1 << (rng.next() % len as u64);
            }
            let chosen: Vec<Item> = (0..len)
                .filter(|r| mask >> r & 1 == 1)
                .map(|r| (rows[r][lane], stakes[r]))
                .collect();
            let stake: i64 = chosen.iter().map(|item| item.1).sum();
            let lo = (rng.next() % 500) as i64;
            let minority = match rng.next() % 3 {
                0 => lo + stake,
                _ => lo + (rng.next() % (stake as u64 + 1)) as i64 - 1,
            };
            let expected = sorted_median(&mut chosen.clone(), minority, lo);
            let few = few_median((&rows, lane), &stakes, mask, lo, minority);
            if chosen.is_empty() || chosen.len() > SLOTS || lo + stake <= minority {
                assert_eq!(few, None, "case {case}");
            } else {
                assert_eq!(few, Some(expected), "case {case}: {chosen:?} {lo} {minority}");
            }
        }
    }

    #[test]
    fn radix_weighted_median_is_the_reference() {
        let mut rng = Rng(0x7777_1234_5678_9999);
        let mut spare = Vec::new();
        for case in 0..6_000 {
            let len = match rng.next() % 3 {
                0 => (rng.next() % 40) as usize,
                _ => 40 + (rng.next() % 400) as usize,
            };
            let distinct = 1 + rng.next() % 1_000;
            let skew = rng.next() % 4;
            let shape = rng.next() % 6;
            let mut stake: Vec<I32F32> = (0..len)
                .map(|_| match rng.next() % 8 {
                    0 => zero(),
                    1 if skew > 0 => bits((rng.next() % (1 << 40)) as i64),
                    _ => bits((rng.next() % 1000) as i64),
                })
                .collect();
            math::normalize(&mut stake);
            let score: Vec<I32F32> = (0..len)
                .map(|_| {
                    let small = ((rng.next() % distinct) as i64) << (rng.next() % 23);
                    bits(match shape {
                        0 | 1 => small,
                        2 => (rng.next() % (ONE as u64 + 1)) as i64,
                        3 if rng.next() % 50 == 0 => ONE,
                        3 => 7 + (rng.next() % 3) as i64,
                        4 => small - (1 << 30),
                        _ => match rng.next() % 4 {
                            0 => i64::MIN,
                            1 => i64::MAX,
                            _ => rng.next() as i64,
                        },
                    })
                })
                .collect();
            let total = tao_primitives::fixed::saturating_sum(stake.iter());
            let kappa = match rng.next() % 3 {
                0 => u16_proportion_to_fixed(32_767),
                _ => u16_proportion_to_fixed((rng.next() % 65_536) as u16),
            };
            let minority = total.saturating_sub(kappa);
            let partition: Vec<usize> = (0..len).collect();
            let expected =
                math::weighted_median(&stake, &score, &partition, minority, zero(), total);
            let mut items: Vec<Item> =
                score.iter().zip(&stake).map(|(a, b)| (a.to_bits(), b.to_bits())).collect();
            spare.resize(items.len(), (0, 0));
            let median =
                weighted_median_radix(&mut items, &mut spare, minority.to_bits(), total.to_bits());
            assert_eq!(bits(median), expected, "case {case}");
        }
    }

    /// Against the reference quickselect: many ties, zero stakes, every kappa.
    #[test]
    fn weighted_median_is_the_reference() {
        let mut rng = Rng(0x0F0F_1234_AAAA_5555);
        for case in 0..20_000 {
            let len = (rng.next() % 12) as usize;
            let distinct = 1 + rng.next() % 6;
            let mut stake: Vec<I32F32> = (0..len)
                .map(
                    |_| if rng.next() % 5 == 0 { zero() } else { bits((rng.next() % 1000) as i64) },
                )
                .collect();
            math::normalize(&mut stake);
            let score: Vec<I32F32> = (0..len)
                .map(|_| bits(((rng.next() % distinct) as i64) << (rng.next() % 33)))
                .collect();
            let total = tao_primitives::fixed::saturating_sum(stake.iter());
            let kappa = u16_proportion_to_fixed((rng.next() % 65_536) as u16);
            let minority = total.saturating_sub(kappa);
            let partition: Vec<usize> = (0..len).collect();
            let expected =
                math::weighted_median(&stake, &score, &partition, minority, zero(), total);
            let mut items: Vec<Item> =
                score.iter().zip(&stake).map(|(a, b)| (a.to_bits(), b.to_bits())).collect();
            let mut spare = vec![(0, 0); items.len()];
            let median =
                weighted_median(&mut items, &mut spare, minority.to_bits(), total.to_bits());
            assert_eq!(bits(median), expected, "case {case}");
        }
    }
}
