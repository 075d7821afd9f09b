//! The vector and sparse-matrix operations of the epoch, with the reference rounding.
//!
//! Every function is total: no panics, no silent length errors (callers pass shapes that
//! [`crate::YumaInput::validate`] checked). Sparse rows are `(column, value)` pairs sorted by
//! column with no repeats; every function that builds a row keeps that order.
//!
//! Where the reference densifies a row to `n` columns and then keeps the positive cells, these
//! functions merge the sorted rows instead: the same cells, the same values, in
//! `O(entries)` instead of `O(n)` per row.

use substrate_fixed::transcendental::exp;
use tao_primitives::fixed::{saturating_sum, u16_max_fixed, SafeDiv, I32F32, I64F64};

/// A sparse row: `(column, value)` sorted by column, no repeated column.
pub type Row = Vec<(u16, I32F32)>;

/// Fixed-point zero.
pub fn zero() -> I32F32 {
    I32F32::from_num(0)
}

/// Fixed-point one.
pub fn one() -> I32F32 {
    I32F32::from_num(1)
}

/// Divides every element by the vector's sum, unless the sum is zero.
pub fn normalize(values: &mut [I32F32]) {
    let total = saturating_sum(values.iter());
    normalize_with_sum(values, total);
}

/// Divides every element by `total`, unless `total` is zero.
pub fn normalize_with_sum(values: &mut [I32F32], total: I32F32) {
    if total == zero() {
        return;
    }
    for value in values.iter_mut() {
        *value = value.safe_div(total);
    }
}

/// [`normalize`] in `I64F64`.
pub fn normalize_64(values: &mut [I64F64]) {
    let total = values.iter().fold(I64F64::from_num(0), |acc, v| acc.saturating_add(*v));
    if total == I64F64::from_num(0) {
        return;
    }
    for value in values.iter_mut() {
        *value = value.safe_div(total);
    }
}

/// `true` for the `k` largest values. With fewer than `k` values all are `true`. Ties are
/// broken by a stable ascending sort, so among equal values the higher indices win.
pub fn is_topk(values: &[I32F32], k: usize) -> Vec<bool> {
    let n = values.len();
    let mut keep = vec![true; n];
    if n < k {
        return keep;
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| values.get(i).copied().unwrap_or_default());
    for &i in order.iter().take(n.saturating_sub(k)) {
        if let Some(cell) = keep.get_mut(i) {
            *cell = false;
        }
    }
    keep
}

/// [`is_topk`], and the value is non-zero (validator permits: zero stake never gets one).
pub fn is_topk_nonzero(values: &[I32F32], k: usize) -> Vec<bool> {
    is_topk(values, k).into_iter().zip(values).map(|(top, v)| top && *v != zero()).collect()
}

/// Divides each row by its sum when the sum is positive.
pub fn row_normalize(rows: &mut [Row]) {
    for row in rows.iter_mut() {
        let total = saturating_sum(row.iter().map(|(_, v)| v));
        if total > zero() {
            for (_, value) in row.iter_mut() {
                *value = value.safe_div(total);
            }
        }
    }
}

/// The sum of each row.
pub fn row_sum(rows: &[Row]) -> Vec<I32F32> {
    rows.iter().map(|row| saturating_sum(row.iter().map(|(_, v)| v))).collect()
}

/// Per-column sums (saturating) or maxima over `columns` columns.
fn column_fold(
    rows: &[Row],
    columns: usize,
    fold: impl Fn(I32F32, I32F32) -> I32F32,
) -> Vec<I32F32> {
    let mut acc = vec![zero(); columns];
    for row in rows {
        for &(j, value) in row {
            if let Some(cell) = acc.get_mut(usize::from(j)) {
                *cell = fold(*cell, value);
            }
        }
    }
    acc
}

/// Divides every entry by its column's value in `denominators`, where that is non-zero.
fn divide_columns(rows: &mut [Row], denominators: &[I32F32]) {
    for row in rows.iter_mut() {
        for (j, value) in row.iter_mut() {
            let denominator = denominators.get(usize::from(*j)).copied().unwrap_or_default();
            if denominator != zero() {
                *value = value.safe_div(denominator);
            }
        }
    }
}

/// Divides each column by its sum where the sum is non-zero (sums saturate).
pub fn col_normalize(rows: &mut [Row], columns: usize) {
    let sums = column_fold(rows, columns, |acc, v| acc.saturating_add(v));
    divide_columns(rows, &sums);
}

/// Divides each column by its maximum where the maximum is non-zero.
pub fn col_max_upscale(rows: &mut [Row], columns: usize) {
    let maxima = column_fold(rows, columns, |acc, v| if acc < v { v } else { acc });
    divide_columns(rows, &maxima);
}

/// Clips each entry to its column's threshold; an entry above a threshold that is not
/// positive is removed.
pub fn col_clip(rows: &[Row], thresholds: &[I32F32]) -> Vec<Row> {
    rows.iter()
        .map(|row| {
            row.iter()
                .filter_map(|&(j, value)| {
                    let threshold = thresholds.get(usize::from(j)).copied().unwrap_or_default();
                    if threshold < value {
                        (threshold > zero()).then_some((j, threshold))
                    } else {
                        Some((j, value))
                    }
                })
                .collect()
        })
        .collect()
}

/// `result_j = Σ_i vector_i · rows_ij` over `columns` columns (products floor, sums saturate).
pub fn matmul(rows: &[Row], vector: &[I32F32], columns: usize) -> Vec<I32F32> {
    let mut result = vec![zero(); columns];
    for (row, scale) in rows.iter().zip(vector) {
        for &(j, value) in row {
            if let Some(cell) = result.get_mut(usize::from(j)) {
                *cell = cell.saturating_add(scale.saturating_mul(value));
            }
        }
    }
    result
}

/// `result_i = Σ_j rows_ij · vector_j` (products floor, sums saturate).
pub fn matmul_transpose(rows: &[Row], vector: &[I32F32]) -> Vec<I32F32> {
    rows.iter()
        .map(|row| {
            row.iter().fold(zero(), |acc, &(j, value)| {
                let v = vector.get(usize::from(j)).copied().unwrap_or_default();
                acc.saturating_add(v.saturating_mul(value))
            })
        })
        .collect()
}

/// Scales row `i` by `vector_i` (the reference's row Hadamard product).
pub fn row_scale(rows: &[Row], vector: &[I32F32]) -> Vec<Row> {
    rows.iter()
        .zip(vector)
        .map(|(row, scale)| row.iter().map(|&(j, v)| (j, v.saturating_mul(*scale))).collect())
        .collect()
}

/// Element-wise products `rows_ij · vector_j`, dropping products that are exactly zero.
pub fn col_scale(rows: &[Row], vector: &[I32F32]) -> Vec<Row> {
    rows.iter()
        .map(|row| {
            row.iter()
                .filter_map(|&(j, value)| {
                    let scale = vector.get(usize::from(j))?;
                    let product = value.saturating_mul(*scale);
                    (product != zero()).then_some((j, product))
                })
                .collect()
        })
        .collect()
}

/// Walks two sorted rows together: `(column, value in a, value in b)` for every column in
/// either, in column order.
fn union(a: &Row, b: &Row) -> Vec<(u16, Option<I32F32>, Option<I32F32>)> {
    let mut out = Vec::with_capacity(a.len().max(b.len()));
    let (mut ia, mut ib) = (a.iter().peekable(), b.iter().peekable());
    loop {
        let next = match (ia.peek(), ib.peek()) {
            (Some(&&(ja, va)), Some(&&(jb, vb))) => match ja.cmp(&jb) {
                core::cmp::Ordering::Less => (ja, Some(va), None),
                core::cmp::Ordering::Greater => (jb, None, Some(vb)),
                core::cmp::Ordering::Equal => (ja, Some(va), Some(vb)),
            },
            (Some(&&(ja, va)), None) => (ja, Some(va), None),
            (None, Some(&&(jb, vb))) => (jb, None, Some(vb)),
            (None, None) => return out,
        };
        if next.1.is_some() {
            ia.next();
        }
        if next.2.is_some() {
            ib.next();
        }
        out.push(next);
    }
}

/// `a + ratio · (b − a)` per cell. `ratio == 0` returns `a` and `ratio == 1` returns `b`
/// unchanged (explicit zeros kept); otherwise only positive cells are kept.
pub fn interpolate(a: &[Row], b: &[Row], ratio: I32F32) -> Vec<Row> {
    if ratio == zero() {
        return a.to_vec();
    }
    if ratio == one() {
        return b.to_vec();
    }
    a.iter()
        .zip(b)
        .map(|(row_a, row_b)| {
            union(row_a, row_b)
                .into_iter()
                .filter_map(|(j, va, vb)| {
                    let (va, vb) = (va.unwrap_or_default(), vb.unwrap_or_default());
                    let value = va.saturating_add(ratio.saturating_mul(vb.saturating_sub(va)));
                    (value > zero()).then_some((j, value))
                })
                .collect()
        })
        .collect()
}

/// Bond EMA with one rate: `alpha · new + (1 − alpha) · old` over the union of cells,
/// keeping positive cells (absent new weight ⇒ the bond decays).
pub fn ema(new: &[Row], old: &[Row], alpha: I32F32) -> Vec<Row> {
    let keep = one().saturating_sub(alpha);
    new.iter()
        .zip(old)
        .map(|(row_new, row_old)| {
            union(row_new, row_old)
                .into_iter()
                .filter_map(|(j, vn, vo)| {
                    let mut value = zero();
                    if let Some(vn) = vn {
                        value = value.saturating_add(alpha.saturating_mul(vn));
                    }
                    if let Some(vo) = vo {
                        value = value.saturating_add(keep.saturating_mul(vo));
                    }
                    (value > zero()).then_some((j, value))
                })
                .collect()
        })
        .collect()
}

/// Bond EMA with a rate per cell: `min(1, (1 − a)·old + max(0, a·new))` for the cells of
/// `new` only; a bond whose column is absent from the new row is dropped, not decayed.
/// `alpha(row, column, new, old)` gives the rate (`old` is 0 where there is no bond).
pub fn ema_per_cell(
    new: &[Row],
    old: &[Row],
    alpha: impl Fn(usize, u16, I32F32, I32F32) -> I32F32,
) -> Vec<Row> {
    new.iter()
        .zip(old)
        .enumerate()
        .map(|(i, (row_new, row_old))| {
            union(row_new, row_old)
                .into_iter()
                .filter_map(|(j, vn, vo)| {
                    let vn = vn?;
                    let a = alpha(i, j, vn, vo.unwrap_or_default());
                    let decayed =
                        vo.map_or(zero(), |vo| one().saturating_sub(a).saturating_mul(vo));
                    let value = decayed.saturating_add(a.saturating_mul(vn).max(zero())).min(one());
                    (value > zero()).then_some((j, value))
                })
                .collect()
        })
        .collect()
}

/// The stake-weighted median of `score` over the indices `partition` (the reference's
/// deterministic mid-pivot quickselect, comparisons exactly as upstream).
///
/// Returns the largest score `c` such that the stake at or above `c` exceeds the majority;
/// `minority = Σ stake − κ`, and `[lo, hi]` is the stake interval of the partition.
pub fn weighted_median(
    stake: &[I32F32],
    score: &[I32F32],
    partition: &[usize],
    minority: I32F32,
    mut lo: I32F32,
    mut hi: I32F32,
) -> I32F32 {
    let at = |v: &[I32F32], i: usize| v.get(i).copied().unwrap_or_default();
    let mut current = partition.to_vec();
    for _ in 0..=partition.len() {
        match current.as_slice() {
            [] => return zero(),
            [only] => return at(score, *only),
            _ => {}
        }
        let pivot = at(score, current.get(current.len() / 2).copied().unwrap_or_default());
        let (mut lower, mut upper) = (Vec::new(), Vec::new());
        let (mut lo_stake, mut hi_stake) = (zero(), zero());
        for &i in &current {
            let s = at(score, i);
            if s < pivot {
                lo_stake = lo_stake.saturating_add(at(stake, i));
                lower.push(i);
            } else if s > pivot {
                hi_stake = hi_stake.saturating_add(at(stake, i));
                upper.push(i);
            }
        }
        if minority < lo.saturating_add(lo_stake) && !lower.is_empty() {
            hi = lo.saturating_add(lo_stake);
            current = lower;
        } else if hi.saturating_sub(hi_stake) <= minority && !upper.is_empty() {
            lo = hi.saturating_sub(hi_stake);
            current = upper;
        } else {
            return pivot;
        }
    }
    zero()
}

/// Consensus: per column, the [`weighted_median`] of the column's weights over the rows
/// with positive stake (that stake renormalized), with majority `kappa`.
pub fn weighted_median_col(
    stake: &[I32F32],
    rows: &[Row],
    columns: usize,
    kappa: I32F32,
) -> Vec<I32F32> {
    let voters: Vec<usize> =
        (0..stake.len()).filter(|&i| stake.get(i).is_some_and(|s| *s > zero())).collect();
    let mut voter_stake: Vec<I32F32> =
        voters.iter().filter_map(|&i| stake.get(i).copied()).collect();
    normalize(&mut voter_stake);
    let total = saturating_sum(voter_stake.iter());
    let minority = total.saturating_sub(kappa);
    let partition: Vec<usize> = (0..voters.len()).collect();

    // scores[j][k]: voter k's weight on column j (0 where absent).
    let mut scores = vec![vec![zero(); voters.len()]; columns];
    for (k, &i) in voters.iter().enumerate() {
        for &(j, value) in rows.get(i).map(Vec::as_slice).unwrap_or_default() {
            if let Some(cell) = scores.get_mut(usize::from(j)).and_then(|col| col.get_mut(k)) {
                *cell = value;
            }
        }
    }
    scores
        .iter()
        .map(|column| weighted_median(&voter_stake, column, &partition, minority, zero(), total))
        .collect()
}

/// `e^x` with the input clamped to [−20, 20]; on overflow 0 for x ≤ 0, else the maximum.
pub fn exp_safe(x: I32F32) -> I32F32 {
    let clamped = x.clamp(I32F32::from_num(-20), I32F32::from_num(20));
    exp_i32f32(clamped).unwrap_or(if clamped <= zero() { zero() } else { I32F32::max_value() })
}

/// `substrate_fixed::transcendental::exp` for `I32F32`, bit for bit, on raw integers.
///
/// The library divides each Taylor term by `i` as a fixed-point division, i.e. a 128-bit
/// `(t << 32) / (i << 32)`, which is exactly the 64-bit `t / i`; doing that directly makes
/// liquid-alpha epochs several times faster. Same steps, same truncations, same overflow
/// points (`tests::fast_exp_is_the_library_exp` checks it against the library).
fn exp_i32f32(x: I32F32) -> Option<I32F32> {
    const ONE_BITS: i64 = 1 << 32;
    let bits = x.to_bits();
    if bits == 0 || bits == ONE_BITS {
        // exp(0) = 1 and exp(1) = e truncated to 23 bits: the library's special cases.
        return exp::<I32F32, I32F32>(x).ok();
    }
    let operand = bits.checked_abs()?;
    let mut result = operand.checked_add(ONE_BITS)?;
    let mut term = operand;
    // Terms 2..=31 with literal divisors, so each division compiles to a multiply.
    macro_rules! terms {
        ($($i:literal)*) => {$(
            let product = i128::from(term).checked_mul(i128::from(operand))? >> 32;
            term = i64::try_from(product).ok()?.checked_div($i)?;
            result = result.checked_add(term)?;
        )*};
    }
    terms!(2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31);
    if bits < 0 {
        let inverse = (1i128 << 64).checked_div(i128::from(result))?;
        result = i64::try_from(inverse).ok()?;
    }
    Some(I32F32::from_bits(result))
}

/// `1 / (1 + e^(−rho·(x − kappa)))` (the reference's `sigmoid_safe`).
pub fn sigmoid_safe(x: I32F32, rho: I32F32, kappa: I32F32) -> I32F32 {
    let exponent = rho.saturating_neg().saturating_mul(x.saturating_sub(kappa));
    one().safe_div(exp_safe(exponent).saturating_add(one()))
}

/// One half, exactly.
fn half() -> I32F32 {
    I32F32::from_bits(1 << 31)
}

/// The liquid-alpha bond rate of one epoch: a sigmoid, centred at 0.5, of how far a weight is
/// above consensus (when buying, `weight ≥ bond`) or below the bond (when selling), mapped
/// into `[low, high]`. The slope `steepness / −100` is computed once per epoch.
#[derive(Clone, Copy, Debug)]
pub struct AlphaCurve {
    low: I32F32,
    high: I32F32,
    slope: I32F32,
}

impl AlphaCurve {
    /// The curve between `low` and `high` with the given steepness (reference default 1000).
    pub fn new(low: I32F32, high: I32F32, steepness: I32F32) -> Self {
        Self { low, high, slope: steepness.safe_div(I32F32::from_num(-100)) }
    }

    /// The rate for one bond (the reference's `alpha_sigmoid`).
    pub fn alpha(&self, consensus: I32F32, weight: I32F32, bond: I32F32) -> I32F32 {
        let unit = |v: I32F32| v.clamp(zero(), one());
        let diff = if weight >= bond {
            unit(weight.saturating_sub(consensus))
        } else {
            unit(bond.saturating_sub(weight))
        };
        let exponent = self.slope.saturating_mul(diff.saturating_sub(half()));
        let sigmoid = one().safe_div(one().saturating_add(exp_safe(exponent)));
        let alpha =
            self.low.saturating_add(sigmoid.saturating_mul(self.high.saturating_sub(self.low)));
        alpha.min(self.high).max(self.low)
    }

    /// [`Self::alpha`] for a row of cells (`consensus`, `weights`, stored u16 `bonds`, one
    /// each per column) into `rates`, through the exact shortcuts of the dense path
    /// (`fast::exp_safe_slice`, `fast::reciprocal`, `fast::mul`): the same bits, without a
    /// 128-bit division, and the exponentials' series computed several at a time. A cell
    /// that buys at or below consensus (or sells at its bond) has `diff = 0`: its exponent is
    /// the epoch's `slope · (0 − ½)`, whose exponential is computed once; only the other
    /// exponents, gathered in `scratch` (as long as `rates`), run the series.
    pub(crate) fn alpha_row(
        &self,
        consensus: &[I32F32],
        weights: &[I32F32],
        bonds: &[u16],
        rates: &mut [I32F32],
        scratch: &mut [I32F32],
    ) {
        let unit = |v: I32F32| v.clamp(zero(), one());
        let common = crate::fast::mul(self.slope, zero().saturating_sub(half()));
        let cells = consensus.iter().zip(weights).zip(bonds);
        let mut others = 0usize;
        for (((c, w), b), rate) in cells.zip(rates.iter_mut()) {
            let bond = crate::fast::u16_proportion(*b);
            // Buying (`w ≥ bond`) or selling is a coin flip: both sides, then a mask select.
            let buying = unit(w.saturating_sub(*c)).to_bits();
            let selling = unit(bond.saturating_sub(*w)).to_bits();
            let mask = i64::from(*w >= bond).wrapping_neg();
            let diff = I32F32::from_bits((buying & mask) | (selling & !mask));
            *rate = crate::fast::mul(self.slope, diff.saturating_sub(half()));
            // Every exponent to the next free slot, kept unless it is the common one.
            if let Some(slot) = scratch.get_mut(others) {
                *slot = *rate;
            }
            others = others.wrapping_add(usize::from(*rate != common));
        }
        crate::fast::exp_safe_slice(scratch.get_mut(..others).unwrap_or_default());
        let common_exp = crate::fast::exp_safe(common);
        let span = self.high.saturating_sub(self.low);
        // Rates from u16 proportions (always, in an epoch): [`unit_rate`], no saturation, no
        // clamp; otherwise the reference's saturating expression and clamp.
        let unit = self.is_unit().then(|| (self.low.to_bits(), span.to_bits()));
        let mut next = 0usize;
        for rate in rates.iter_mut() {
            let is_common = *rate == common;
            let other = scratch.get(next).copied().unwrap_or_default();
            next = next.wrapping_add(usize::from(!is_common));
            let exp = if is_common { common_exp } else { other };
            *rate = match unit {
                Some((low, span)) => unit_rate(low, span, exp),
                None => {
                    let sigmoid = crate::fast::reciprocal(one().saturating_add(exp));
                    let alpha = self.low.saturating_add(crate::fast::mul(sigmoid, span));
                    alpha.min(self.high).max(self.low)
                }
            };
        }
    }
}

/// A liquid-alpha rate `low + sigmoid · span` from the exponential `e` of its exponent, on
/// raw bits, for `0 ≤ low ≤ high ≤ 1` ([`AlphaCurve::is_unit`]; `span = high − low`): `e ≥ 0`
/// (an exponential, or 0 or the maximum on overflow), so `1 + e ≥ 1` and the sigmoid
/// `1 / (1 + e)` is in [0, 1]; so is `span`: their product is `mul_unit`'s, at most `span`,
/// and `low + product` stays in `[low, high]`: the reference's saturations and clamp change
/// nothing.
#[inline]
fn unit_rate(low: i64, span: i64, exp: I32F32) -> I32F32 {
    let sigmoid = crate::fast::reciprocal(one().saturating_add(exp));
    I32F32::from_bits(low.wrapping_add(crate::fast::mul_unit(sigmoid.to_bits(), span)))
}

impl AlphaCurve {
    /// [`Self::alpha_row`] for cells on the unit interval (consensus, weights for bonds and
    /// bonds in [0, 1], as in the dense kernel's unit band) and `0 ≤ low ≤ high ≤ 1` (rates
    /// from u16 proportions), the same bits with the ranges proven instead of checked:
    /// * `w − c` and `bond − w` are in [−1, 1]: no saturation, and clamping to [0, 1] is
    ///   `max(0)`; `diff − ½` is in [−½, ½];
    /// * the exponent `slope · (diff − ½)` is at most `327.68 · ½` in magnitude (the slope
    ///   is an `i16` over −100): no saturation, so it is `⌊slope·d / 2³²⌋` on raw bits,
    ///   computed as `s₁·d + ⌊s₀·d / 2³²⌋` with `slope = s₁·2³² + s₀` (`0 ≤ s₀ < 2³²`, so
    ///   `|s₀·d| < 2⁶³`);
    /// * every cell with the epoch's common exponent shares one rate (computed once, with
    ///   its reciprocal), the others' rates are computed in the gathered slice, then each
    ///   cell takes its own in order.
    pub(crate) fn alpha_row_unit(
        &self,
        consensus: &[I32F32],
        weights: &[I32F32],
        bonds: &[u16],
        rates: &mut [I32F32],
        scratch: &mut [I32F32],
    ) {
        const HALF: i64 = 1 << 31;
        let slope = self.slope.to_bits();
        let (slope_high, slope_low) = (slope >> 32, slope & i64::from(u32::MAX));
        let exponent =
            |d: i64| slope_high.wrapping_mul(d).wrapping_add(slope_low.wrapping_mul(d) >> 32);
        let common = exponent(HALF.wrapping_neg());
        let cells = consensus.iter().zip(weights).zip(bonds);
        for (((c, w), b), rate) in cells.zip(rates.iter_mut()) {
            let (c, w) = (c.to_bits(), w.to_bits());
            let bond = crate::fast::u16_proportion_bits(*b);
            // Buying (`w ≥ bond`) or selling is a coin flip: both sides, then a mask select.
            let buying = w.wrapping_sub(c).max(0);
            let selling = bond.wrapping_sub(w).max(0);
            let mask = i64::from(w >= bond).wrapping_neg();
            let diff = (buying & mask) | (selling & !mask);
            *rate = I32F32::from_bits(exponent(diff.wrapping_sub(HALF)));
        }
        // The exponents other than the common one, gathered (each to the next free slot,
        // kept unless common).
        let mut others = 0usize;
        for rate in rates.iter() {
            if let Some(slot) = scratch.get_mut(others) {
                *slot = *rate;
            }
            others = others.wrapping_add(usize::from(rate.to_bits() != common));
        }
        let others = scratch.get_mut(..others).unwrap_or_default();
        crate::fast::exp_safe_slice(others);
        let (low, span) = (self.low.to_bits(), self.high.saturating_sub(self.low).to_bits());
        let rate_of = |exp: I32F32| unit_rate(low, span, exp);
        for value in others.iter_mut() {
            *value = rate_of(*value);
        }
        let common_rate = rate_of(crate::fast::exp_safe(I32F32::from_bits(common)));
        let mut next = 0usize;
        for rate in rates.iter_mut() {
            let is_common = rate.to_bits() == common;
            let other = others.get(next).copied().unwrap_or_default();
            next = next.wrapping_add(usize::from(!is_common));
            *rate = if is_common { common_rate } else { other };
        }
    }

    /// Whether [`Self::alpha_row_unit`]'s rate range holds: `0 ≤ low ≤ high ≤ 1`.
    pub(crate) fn is_unit(&self) -> bool {
        zero() <= self.low && self.low <= self.high && self.high <= one()
    }
}

/// Scales a non-negative vector so its maximum becomes 65535, rounding to nearest (ties
/// away from zero); an all-zero vector stays zero. How `set_weights` stores a row.
pub fn vec_max_upscale_to_u16(values: &[I32F32]) -> Vec<u16> {
    let u16_max = u16_max_fixed();
    let Some(&max) = values.iter().max() else { return Vec::new() };
    let to_u16 = |v: I32F32| v.saturating_to_num::<u16>();
    if max == zero() {
        return values.iter().map(|v| to_u16(v.saturating_mul(u16_max))).collect();
    }
    if max > I32F32::from_num(32_768) {
        let factor = u16_max.safe_div(max);
        return values
            .iter()
            .map(|v| to_u16(v.saturating_mul(factor).saturating_round()))
            .collect();
    }
    values
        .iter()
        .map(|v| to_u16(v.saturating_mul(u16_max).safe_div(max).saturating_round()))
        .collect()
}

/// [`vec_max_upscale_to_u16`] of a `u16` vector.
pub fn vec_u16_max_upscale_to_u16(values: &[u16]) -> Vec<u16> {
    let fixed: Vec<I32F32> = values.iter().map(|v| I32F32::from_num(*v)).collect();
    vec_max_upscale_to_u16(&fixed)
}

/// Whether the largest share of the normalized vector is at most `max_limit / 65535`.
pub fn check_vec_max_limited(values: &[u16], max_limit: u16) -> bool {
    let limit = I32F32::from_num(max_limit).safe_div(u16_max_fixed());
    let mut fixed: Vec<I32F32> = values.iter().map(|v| I32F32::from_num(*v)).collect();
    normalize(&mut fixed);
    fixed.iter().max().is_none_or(|max| *max <= limit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tao_primitives::fixed::u16_proportion_to_fixed;

    fn f(x: f64) -> I32F32 {
        I32F32::from_num(x)
    }

    /// The fast exp is the library's exp: every special case, both signs, the overflow
    /// boundary, and a sweep of the whole clamped range at a fine step.
    #[test]
    fn fast_exp_is_the_library_exp() {
        let library = |x: I32F32| exp::<I32F32, I32F32>(x).ok();
        let mut inputs: Vec<i64> =
            vec![0, 1, -1, 1 << 32, -(1 << 32), i64::MAX, i64::MIN, i64::MIN + 1];
        // Around the overflow point (e^x > 2^31 near x = 21.49).
        inputs.extend((0..20_000).map(|k| (21i64 << 32) + k * 1_000_003));
        // Everything exp_safe can pass, in steps of ~2^-20, both signs.
        let step = 4_099;
        inputs.extend((-(20i64 << 20)..(20i64 << 20)).step_by(step).map(|k| k << 12 | (k & 0xfff)));
        // And 200k pseudo-random raw values in [-21, 21].
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        inputs.extend((0..200_000).map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % (42u64 << 32)) as i64 - (21i64 << 32)
        }));
        for bits in inputs {
            let x = I32F32::from_bits(bits);
            assert_eq!(exp_i32f32(x), library(x), "x = {x} (bits {bits})");
        }
    }

    /// The unit row against the per-cell rate (`alpha`, the library's expressions) on random
    /// cells in [0, 1] with many at or below consensus (the common exponent), bonds at the
    /// edges, and every steepness sign; rates from u16 proportions.
    #[test]
    fn alpha_row_unit_is_alpha_per_cell() {
        let mut rng = crate::fast::tests::Rng(0x1234_5678_9ABC_DEF1);
        let mut next = move || rng.next();
        for case in 0..400 {
            let len = (next() % 70) as usize;
            let (a, b) = ((next() % 65_536) as u16, (next() % 65_536) as u16);
            let (a, b) = if case % 7 == 0 { (0, u16::MAX) } else { (a.min(b), a.max(b)) };
            let steepness = match case % 4 {
                0 => 1_000,
                1 => next() as i16,
                2 => i16::MIN,
                _ => i16::MAX,
            };
            let curve = AlphaCurve::new(
                u16_proportion_to_fixed(a),
                u16_proportion_to_fixed(b),
                I32F32::from_num(steepness),
            );
            assert!(curve.is_unit());
            let unit = |n: u64| I32F32::from_bits((n % ((1 << 32) + 1)) as i64);
            let consensus: Vec<I32F32> =
                (0..len).map(|_| if next() % 5 == 0 { zero() } else { unit(next()) }).collect();
            let weights: Vec<I32F32> = consensus
                .iter()
                .map(|c| match next() % 4 {
                    0 => *c,
                    1 => I32F32::from_bits(c.to_bits() / 2),
                    2 => zero(),
                    _ => unit(next()),
                })
                .collect();
            let bonds: Vec<u16> = (0..len)
                .map(|_| match next() % 4 {
                    0 => 0,
                    1 => u16::MAX,
                    _ => next() as u16,
                })
                .collect();
            let mut rates = vec![zero(); len];
            let mut scratch = vec![zero(); len];
            curve.alpha_row_unit(&consensus, &weights, &bonds, &mut rates, &mut scratch);
            // And the general row (its unit-rate sigmoid path).
            let mut general = vec![zero(); len];
            curve.alpha_row(&consensus, &weights, &bonds, &mut general, &mut scratch);
            for j in 0..len {
                let expected =
                    curve.alpha(consensus[j], weights[j], u16_proportion_to_fixed(bonds[j]));
                assert_eq!(rates[j], expected, "case {case} cell {j}");
                assert_eq!(general[j], expected, "case {case} cell {j}, general row");
            }
        }
    }

    #[test]
    fn union_merges_sorted_rows() {
        let a = vec![(1, f(1.0)), (3, f(3.0))];
        let b = vec![(0, f(0.5)), (3, f(0.25)), (4, f(4.0))];
        let cols: Vec<u16> = union(&a, &b).iter().map(|c| c.0).collect();
        assert_eq!(cols, vec![0, 1, 3, 4]);
        assert_eq!(union(&a, &b)[2], (3, Some(f(3.0)), Some(f(0.25))));
    }

    #[test]
    fn normalize_leaves_zero_vectors_alone() {
        let mut v = vec![zero(), zero()];
        normalize(&mut v);
        assert_eq!(v, vec![zero(), zero()]);
        let mut v = vec![f(1.0), f(3.0)];
        normalize(&mut v);
        assert_eq!(v, vec![f(0.25), f(0.75)]);
    }

    #[test]
    fn clip_removes_entries_above_a_zero_consensus() {
        let rows = vec![vec![(0, f(0.5)), (1, f(0.5))]];
        let clipped = col_clip(&rows, &[f(0.25), zero()]);
        assert_eq!(clipped, vec![vec![(0, f(0.25))]]);
    }

    #[test]
    fn interpolate_endpoints_return_inputs_unchanged() {
        let a = vec![vec![(0, zero()), (1, f(1.0))]];
        let b = vec![vec![(1, f(0.5))]];
        assert_eq!(interpolate(&a, &b, zero()), a);
        assert_eq!(interpolate(&a, &b, one()), b);
        assert_eq!(interpolate(&a, &b, f(0.5)), vec![vec![(1, f(0.75))]]);
    }

    #[test]
    fn ema_decays_absent_cells_but_per_cell_ema_drops_them() {
        let new = vec![vec![(1, f(1.0))]];
        let old = vec![vec![(0, f(0.5))]];
        let alpha = f(0.5);
        assert_eq!(ema(&new, &old, alpha), vec![vec![(0, f(0.25)), (1, f(0.5))]]);
        assert_eq!(ema_per_cell(&new, &old, |_, _, _, _| alpha), vec![vec![(1, f(0.5))]]);
    }
}
