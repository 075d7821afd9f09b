//! Steps 5–16 over one contiguous validator × miner block, column by column.
//!
//! The block holds the rows that can carry a weight or a bond (permitted validators, voters,
//! rows with stored bonds) and the columns any of them names, column-major, so each column's
//! work (weighted median, clipping, bond EMA, column normalization) reads one contiguous
//! slice and reuses the same scratch buffers. An absent cell is 0 plus a presence flag
//! where the reference tells "absent" from "explicit 0" (the liquid-alpha EMA, the stored
//! bond rows). Every cell gets the reference's expression in the reference's types; the sums
//! add non-negative values, so their order cannot change a saturating result; divisions by a
//! row's or a column's total use [`Divisor`], `safe_div` bit for bit.
//!
//! [`crate::epoch_with`] with [`crate::Kernel::Sparse`] is the reference this path is
//! property-tested against.

use crate::{
    epoch::{fixed_alpha, last_tempo, Matrix},
    fast::{self, Divisor},
    math::{self, one, zero},
    BondModel, CommitReveal, LiquidAlpha, YumaInput,
};
use tao_primitives::{
    fixed::{saturating_sum, u16_proportion_to_fixed, SafeDiv, I32F32},
    Uid,
};

/// A block larger than this many cells takes the sparse path (bounded memory).
const MAX_CELLS: usize = 1 << 22;

/// The block's shape if the dense kernel pays off (`force`: whatever the density), else
/// `None`: it is small enough and at least an eighth of its cells are set.
pub(crate) fn plan(
    input: &YumaInput,
    permit: &[bool],
    active_stake: &[I32F32],
    force: bool,
) -> Option<Shape> {
    let shape = Shape::new(input, permit, active_stake);
    let cells = shape.rows.len().saturating_mul(shape.columns.len());
    let worthwhile =
        cells <= MAX_CELLS && cells <= shape.entries.saturating_mul(8).saturating_add(64);
    (force || worthwhile).then_some(shape)
}

/// Which rows and columns the block holds.
pub(crate) struct Shape {
    /// Block row → UID, ascending.
    rows: Vec<usize>,
    /// Block column → UID, ascending.
    columns: Vec<u16>,
    /// UID → block column (`usize::MAX` if not in the block).
    column_of: Vec<usize>,
    /// Weight and bond entries in the block's rows.
    entries: usize,
}

impl Shape {
    fn new(input: &YumaInput, permit: &[bool], active_stake: &[I32F32]) -> Self {
        let n = input.stake.len();
        let mut rows = Vec::new();
        let mut column_of = vec![usize::MAX; n];
        let mut entries = 0usize;
        for (i, (weights, bonds)) in input.weights.iter().zip(&input.bonds).enumerate() {
            let permitted = permit.get(i).copied().unwrap_or(false);
            let voter = active_stake.get(i).is_some_and(|s| *s > zero());
            let weights: &[(Uid, u16)] = if permitted { weights } else { &[] };
            if !permitted && !voter && bonds.is_empty() {
                continue;
            }
            rows.push(i);
            entries = entries.saturating_add(weights.len()).saturating_add(bonds.len());
            for j in weights.iter().map(|(j, _)| j).chain(bonds.iter().map(|(j, _)| j)) {
                if let Some(cell) = column_of.get_mut(j.index()) {
                    *cell = 0;
                }
            }
        }
        let mut columns = Vec::new();
        for (j, cell) in column_of.iter_mut().enumerate() {
            if *cell == 0 {
                *cell = columns.len();
                columns.push(u16::try_from(j).unwrap_or(u16::MAX));
            }
        }
        Self { rows, columns, column_of, entries }
    }
}

/// A weight cell of [`Block::raw`] that is set (explicit zeros are set).
const SET: u32 = 1 << 16;

/// The prepared block, row-major as the input rows arrive: the kept weights (steps 5-9) and
/// the stored bonds (masked). Columns are read with a stride: a column's cache lines serve
/// the next columns too.
struct Block {
    shape: Shape,
    /// Columns per row (the stride).
    width: usize,
    /// Kept raw weights: `value | SET`, 0 where absent.
    raw: Vec<u32>,
    /// Step 10's row normalization: the row's sum, where it is positive.
    row_sum: Vec<Option<Divisor>>,
    /// Stored bonds of columns registered before the last epoch, 0 where absent.
    bonds: Vec<u16>,
}

impl Block {
    /// Steps 5–9 (weights kept) and the bond mask, as `prepared_weights` and `masked_bonds`.
    fn new(input: &YumaInput, permit: &[bool], shape: Shape) -> Self {
        let width = shape.columns.len();
        let cells = shape.rows.len().saturating_mul(width);
        let mut raw = vec![0u32; cells];
        let mut bonds = vec![0u16; cells];
        let mut row_sum = vec![None; shape.rows.len()];
        let registered = |j: usize| input.block_at_registration.get(j).map_or(0, |b| b.get());
        let owner = input.owner.map(Uid::index);
        let last_tempo = last_tempo(input);
        let row_chunks =
            raw.chunks_exact_mut(width.max(1)).zip(bonds.chunks_exact_mut(width.max(1)));
        for ((&i, (raw_row, bond_row)), sum) in shape.rows.iter().zip(row_chunks).zip(&mut row_sum)
        {
            let column = |j: usize| shape.column_of.get(j).copied().unwrap_or(usize::MAX);
            // 6. Only rows of validators that held a permit.
            if permit.get(i).copied().unwrap_or(false) {
                let updated = input.last_update.get(i).map_or(0, |b| b.get());
                let committed = match &input.commit_reveal {
                    CommitReveal::Off => None,
                    CommitReveal::On { first_commit } => first_commit.get(i).copied().flatten(),
                };
                let mut total = zero();
                for (j, w) in input.weights.get(i).map(Vec::as_slice).unwrap_or_default() {
                    let j = j.index();
                    // 7. No self-weight, except the subnet owner's.
                    // 8. A weight set before the target (re)registered is outdated.
                    // 9. A commit made before the target registered cannot pay it.
                    let kept = (j != i || owner == Some(j))
                        && updated > registered(j)
                        && committed.is_none_or(|c| c.get() >= registered(j));
                    if let (true, Some(cell)) = (kept, raw_row.get_mut(column(j))) {
                        *cell = u32::from(*w) | SET;
                        // 10. (The sum of non-negative values saturates in any order.)
                        total = total.saturating_add(fast::u16_integer(*w));
                    }
                }
                *sum = (total > zero()).then(|| Divisor::new(total));
            }
            // Stored bonds, without the columns of neurons registered since the last epoch.
            for (j, b) in input.bonds.get(i).map(Vec::as_slice).unwrap_or_default() {
                if last_tempo > registered(j.index()) {
                    if let Some(cell) = bond_row.get_mut(column(j.index())) {
                        *cell = *b;
                    }
                }
            }
        }
        Self { shape, width, raw, row_sum, bonds }
    }

    /// Step 10 for column `k`: the row-normalized weights and whether each is set.
    fn weight_column(&self, k: usize, weights: &mut Vec<I32F32>, present: &mut Vec<bool>) {
        let column = self.raw.iter().skip(k).step_by(self.width.max(1));
        for (cell, sum) in column.zip(&self.row_sum) {
            let value = fast::u16_integer(*cell as u16);
            weights.push(sum.as_ref().map_or(value, |d| d.divide(value)));
            present.push(*cell & SET != 0);
        }
    }

    /// The stored bonds of column `k`, one per row.
    fn bond_column(&self, k: usize) -> impl Iterator<Item = &u16> + '_ {
        self.bonds.iter().skip(k).step_by(self.width.max(1))
    }
}

/// Step 12's clip of one cell: `(value, present)`; an entry above a consensus that is not
/// positive is removed.
#[inline]
fn clip(weight: I32F32, present: bool, consensus: I32F32) -> (I32F32, bool) {
    if present && consensus < weight {
        if consensus > zero() {
            (consensus, true)
        } else {
            (zero(), false)
        }
    } else {
        (weight, present)
    }
}

/// Step 15's weights for bonds, per cell (`math::interpolate`).
#[derive(Clone, Copy)]
enum Penalty {
    /// Penalty 0: the raw weights, explicit zeros kept.
    Raw,
    /// Penalty 1: the clipped weights, explicit zeros kept.
    Clipped,
    /// In between: `w + β(w̄ − w)`, positive cells only.
    Mix(I32F32),
}

impl Penalty {
    #[inline]
    fn apply(self, weight: I32F32, present: bool, clipped: (I32F32, bool)) -> (I32F32, bool) {
        match self {
            Self::Raw => (weight, present),
            Self::Clipped => clipped,
            Self::Mix(ratio) => {
                let value =
                    weight.saturating_add(fast::mul(ratio, clipped.0.saturating_sub(weight)));
                (value, value > zero())
            }
        }
    }
}

/// Steps 5–16 on the dense block.
pub(crate) fn matrix(
    input: &YumaInput,
    shape: Shape,
    permit: &[bool],
    active_stake: &[I32F32],
    n: usize,
) -> Matrix {
    let params = &input.params;
    let block = Block::new(input, permit, shape);
    let rows = &block.shape.rows;
    let height = rows.len();
    let stride = height.max(1);
    // Active stake per block row.
    let row_stake: Vec<I32F32> =
        rows.iter().map(|&i| active_stake.get(i).copied().unwrap_or_default()).collect();

    // 11. Consensus: the voters (positive active stake) and their renormalized stake.
    let voters: Vec<usize> =
        (0..height).filter(|&r| row_stake.get(r).is_some_and(|s| *s > zero())).collect();
    let mut voter_stake: Vec<I32F32> =
        voters.iter().filter_map(|&r| row_stake.get(r).copied()).collect();
    math::normalize(&mut voter_stake);
    let total = saturating_sum(voter_stake.iter());
    let minority = total.saturating_sub(u16_proportion_to_fixed(params.kappa));

    // 10-14, per column: normalized weights (kept column-major for step 16), consensus,
    // clipped weights, validator trust, rank, trust.
    let cells = height.saturating_mul(block.width);
    let mut weights: Vec<I32F32> = Vec::with_capacity(cells);
    let mut present: Vec<bool> = Vec::with_capacity(cells);
    let mut consensus = vec![zero(); n];
    let mut rank = vec![zero(); n];
    let mut trust = vec![zero(); n];
    let mut row_trust = vec![zero(); height];
    let mut items: Vec<(I32F32, I32F32)> = Vec::with_capacity(voters.len());
    let mut spare: Vec<(I32F32, I32F32)> = Vec::with_capacity(voters.len());
    for (k, &j) in block.shape.columns.iter().enumerate() {
        let start = weights.len();
        block.weight_column(k, &mut weights, &mut present);
        let column = weights.get(start..).unwrap_or_default();
        let set = present.get(start..).unwrap_or_default();
        items.clear();
        items.extend(
            voters
                .iter()
                .zip(&voter_stake)
                .map(|(&r, s)| (column.get(r).copied().unwrap_or_default(), *s)),
        );
        let c = fast::weighted_median(&mut items, &mut spare, minority, total);
        let (mut clipped_rank, mut raw_rank) = (zero(), zero());
        for (((w, p), s), vt) in column.iter().zip(set).zip(&row_stake).zip(&mut row_trust) {
            let (clipped, _) = clip(*w, *p, c);
            *vt = vt.saturating_add(clipped);
            clipped_rank = clipped_rank.saturating_add(fast::mul(*s, clipped));
            raw_rank = raw_rank.saturating_add(fast::mul(*s, *w));
        }
        let j = usize::from(j);
        if let (Some(cc), Some(rr), Some(tt)) =
            (consensus.get_mut(j), rank.get_mut(j), trust.get_mut(j))
        {
            *cc = c;
            *rr = clipped_rank;
            *tt = clipped_rank.safe_div(raw_rank);
        }
    }
    let mut validator_trust = vec![zero(); n];
    for (&i, vt) in rows.iter().zip(&row_trust) {
        if let Some(cell) = validator_trust.get_mut(i) {
            *cell = *vt;
        }
    }
    let mut incentive = rank.clone();
    math::normalize(&mut incentive);

    // 15. Weights for bonds.
    let penalty = match params.bonds_penalty {
        0 => Penalty::Raw,
        u16::MAX => Penalty::Clipped,
        raw => Penalty::Mix(u16_proportion_to_fixed(raw)),
    };

    // 16. Bonds and dividends, per column; bond rows grow in column order.
    let mut bonds: Vec<Vec<(Uid, I32F32)>> = vec![Vec::new(); n];
    for &i in rows {
        if let Some(row) = bonds.get_mut(i) {
            row.reserve_exact(block.width);
        }
    }
    let mut row_dividends = vec![zero(); height];
    let mut scratch = Scratch::new(height);
    let alpha = fixed_alpha(params.bonds_moving_average);
    let curve = match params.liquid_alpha {
        LiquidAlpha::On { alpha_low, alpha_high, steepness }
            if consensus.iter().any(|c| *c != zero()) =>
        {
            Some(math::AlphaCurve::new(
                u16_proportion_to_fixed(alpha_low),
                u16_proportion_to_fixed(alpha_high),
                I32F32::from_num(steepness),
            ))
        }
        _ => None,
    };
    let columns = block
        .shape
        .columns
        .iter()
        .enumerate()
        .zip(weights.chunks_exact(stride).zip(present.chunks_exact(stride)));
    for ((k, &j), (column, set)) in columns {
        let j = usize::from(j);
        let c = consensus.get(j).copied().unwrap_or_default();
        let inc = incentive.get(j).copied().unwrap_or_default();
        scratch.bond.clear();
        scratch.bond.extend(block.bond_column(k));
        match params.bond_model {
            BondModel::Yuma3 => {
                yuma3_column(column, set, c, penalty, curve, alpha, &mut scratch);
                for (d, share) in row_dividends.iter_mut().zip(&scratch.share) {
                    *d = d.saturating_add(fast::mul(*share, inc));
                }
            }
            BondModel::Classic => {
                classic_column(column, set, c, &row_stake, penalty, alpha, &mut scratch, |r, v| {
                    if let Some(d) = row_dividends.get_mut(r) {
                        *d = d.saturating_add(fast::mul(inc, v));
                    }
                });
            }
        }
        emit(j, rows, &scratch, &mut bonds);
    }
    if params.bond_model == BondModel::Yuma3 {
        for (d, s) in row_dividends.iter_mut().zip(&row_stake) {
            *d = d.checked_mul(*s).unwrap_or_default();
        }
    }
    let mut dividends = vec![zero(); n];
    for (&i, d) in rows.iter().zip(&row_dividends) {
        if let Some(cell) = dividends.get_mut(i) {
            *cell = *d;
        }
    }
    math::normalize(&mut dividends);

    Matrix { consensus, rank, trust, incentive, validator_trust, dividends, bonds }
}

/// Per-column buffers, reused across columns.
struct Scratch {
    /// The bond to store per row (after the EMA, and for the classic model normalized and
    /// upscaled).
    value: Vec<I32F32>,
    /// Whether the row stores a bond in this column.
    keep: Vec<bool>,
    /// Yuma3: the bond share (column-normalized EMA); classic: the normalized old bonds.
    share: Vec<I32F32>,
    /// Classic: the stake-weighted weights for bonds.
    delta: Vec<I32F32>,
    /// The column's stored bonds.
    bond: Vec<u16>,
}

impl Scratch {
    fn new(height: usize) -> Self {
        Self {
            value: vec![zero(); height],
            keep: vec![false; height],
            share: vec![zero(); height],
            delta: vec![zero(); height],
            bond: Vec::with_capacity(height),
        }
    }
}

/// Appends the column's kept bonds to their rows.
fn emit(j: usize, rows: &[usize], scratch: &Scratch, bonds: &mut [Vec<(Uid, I32F32)>]) {
    let uid = Uid::new(u16::try_from(j).unwrap_or(u16::MAX));
    for ((&i, value), keep) in rows.iter().zip(&scratch.value).zip(&scratch.keep) {
        if *keep {
            if let Some(row) = bonds.get_mut(i) {
                row.push((uid, *value));
            }
        }
    }
}

/// Divides `values` by their sum where it is non-zero (`math::col_normalize` of a column).
fn normalize_column(values: &mut [I32F32], sum: I32F32) {
    if sum != zero() {
        let divisor = Divisor::new(sum);
        for v in values.iter_mut() {
            *v = divisor.divide(*v);
        }
    }
}

/// §4.5 for one column: the Yuma3 bond EMA (liquid or fixed rate), kept where positive, and
/// its column-normalized share.
fn yuma3_column(
    weights: &[I32F32],
    present: &[bool],
    consensus: I32F32,
    penalty: Penalty,
    curve: Option<math::AlphaCurve>,
    alpha: I32F32,
    scratch: &mut Scratch,
) {
    let keep_rate = one().saturating_sub(alpha);
    let mut sum = zero();
    let cells = weights.iter().zip(present).zip(&scratch.bond);
    for (((w, p), b), (value, keep)) in
        cells.zip(scratch.value.iter_mut().zip(scratch.keep.iter_mut()))
    {
        let (wb, wb_present) = penalty.apply(*w, *p, clip(*w, *p, consensus));
        let bond = fast::u16_proportion(*b);
        let v = match &curve {
            // `math::ema_per_cell`: only cells with a weight for bonds; absent ones drop.
            Some(curve) if wb_present => {
                let a = curve.alpha_fast(consensus, wb, bond);
                let decayed = fast::mul(one().saturating_sub(a), bond);
                decayed.saturating_add(fast::mul(a, wb).max(zero())).min(one())
            }
            Some(_) => zero(),
            // `math::ema`: over the union; an absent cell adds `rate · 0 = 0`.
            None => zero()
                .saturating_add(fast::mul(alpha, wb))
                .saturating_add(fast::mul(keep_rate, bond)),
        };
        *keep = v > zero();
        *value = if *keep { v } else { zero() };
        sum = sum.saturating_add(*value);
    }
    scratch.share.copy_from_slice(&scratch.value);
    normalize_column(&mut scratch.share, sum);
}

/// §4.6 for one column: classic bonds. Calls `dividend(row, normalized EMA)` per row.
#[allow(clippy::too_many_arguments)]
fn classic_column(
    weights: &[I32F32],
    present: &[bool],
    consensus: I32F32,
    row_stake: &[I32F32],
    penalty: Penalty,
    alpha: I32F32,
    scratch: &mut Scratch,
    mut dividend: impl FnMut(usize, I32F32),
) {
    let keep_rate = one().saturating_sub(alpha);
    // Old bonds (raw integers), column-normalized.
    let mut bond_sum = zero();
    for (b, old) in scratch.bond.iter().zip(scratch.share.iter_mut()) {
        *old = fast::u16_integer(*b);
        bond_sum = bond_sum.saturating_add(*old);
    }
    normalize_column(&mut scratch.share, bond_sum);
    // Delta: weights for bonds scaled by the row's active stake, column-normalized.
    let mut delta_sum = zero();
    for (((w, p), s), delta) in
        weights.iter().zip(present).zip(row_stake).zip(scratch.delta.iter_mut())
    {
        let (wb, _) = penalty.apply(*w, *p, clip(*w, *p, consensus));
        *delta = fast::mul(wb, *s);
        delta_sum = delta_sum.saturating_add(*delta);
    }
    normalize_column(&mut scratch.delta, delta_sum);
    // EMA over the union, kept where positive, column-normalized.
    let mut ema_sum = zero();
    for (((delta, old), value), keep) in scratch
        .delta
        .iter()
        .zip(&scratch.share)
        .zip(scratch.value.iter_mut())
        .zip(scratch.keep.iter_mut())
    {
        let v = zero()
            .saturating_add(fast::mul(alpha, *delta))
            .saturating_add(fast::mul(keep_rate, *old));
        *keep = v > zero();
        *value = if *keep { v } else { zero() };
        ema_sum = ema_sum.saturating_add(*value);
    }
    normalize_column(&mut scratch.value, ema_sum);
    // Dividends read the normalized EMA; the stored bonds are upscaled to the column's max.
    let mut max = zero();
    for (r, (value, keep)) in scratch.value.iter().zip(&scratch.keep).enumerate() {
        if *keep {
            dividend(r, *value);
            if max < *value {
                max = *value;
            }
        }
    }
    if max != zero() {
        let divisor = Divisor::new(max);
        for value in scratch.value.iter_mut() {
            *value = divisor.divide(*value);
        }
    }
}
