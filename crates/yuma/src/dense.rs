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
    fixed::{saturating_sum, u16_proportion_to_fixed, u16_to_fixed, SafeDiv, I32F32},
    Uid,
};

/// A block larger than this many cells takes the sparse path (bounded memory).
const MAX_CELLS: usize = 1 << 24;

/// Whether the dense block pays off: it is small enough and at least an eighth set.
pub(crate) fn worthwhile(input: &YumaInput, permit: &[bool], active_stake: &[I32F32]) -> bool {
    let shape = Shape::new(input, permit, active_stake);
    let cells = shape.rows.len().saturating_mul(shape.columns.len());
    cells <= MAX_CELLS && cells <= shape.entries.saturating_mul(8).saturating_add(64)
}

/// Which rows and columns the block holds.
struct Shape {
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

/// The prepared block: weights row-normalized, stored bonds masked, column-major.
struct Block {
    shape: Shape,
    /// Rows per column (the stride).
    height: usize,
    /// Normalized weights, 0 where absent.
    weights: Vec<I32F32>,
    /// Whether a weight cell is set (explicit zeros are set).
    present: Vec<bool>,
    /// Stored bonds of columns registered before the last epoch, 0 where absent.
    bonds: Vec<u16>,
}

impl Block {
    /// Steps 5–10 (weights) and the bond mask, as `prepared_weights` and `masked_bonds`.
    fn new(input: &YumaInput, permit: &[bool], shape: Shape) -> Self {
        let height = shape.rows.len();
        let cells = height.saturating_mul(shape.columns.len());
        let mut weights = vec![zero(); cells];
        let mut present = vec![false; cells];
        let mut bonds = vec![0u16; cells];
        let registered = |j: usize| input.block_at_registration.get(j).map_or(0, |b| b.get());
        let owner = input.owner.map(Uid::index);
        let last_tempo = last_tempo(input);
        let cell = |r: usize, j: usize| {
            let column = shape.column_of.get(j).copied().unwrap_or(usize::MAX);
            column.checked_mul(height).and_then(|c| c.checked_add(r))
        };
        for (r, &i) in shape.rows.iter().enumerate() {
            // 6. Only rows of validators that held a permit.
            if permit.get(i).copied().unwrap_or(false) {
                let updated = input.last_update.get(i).map_or(0, |b| b.get());
                let committed = match &input.commit_reveal {
                    CommitReveal::Off => None,
                    CommitReveal::On { first_commit } => first_commit.get(i).copied().flatten(),
                };
                // 7-9. No self-weight (but the owner's), nothing outdated or committed early.
                let kept = |j: usize| {
                    (j != i || owner == Some(j))
                        && updated > registered(j)
                        && committed.is_none_or(|c| c.get() >= registered(j))
                };
                let row = input.weights.get(i).map(Vec::as_slice).unwrap_or_default();
                // 10. Row-normalize (the sum of non-negative values saturates in any order).
                let total = row
                    .iter()
                    .filter(|(j, _)| kept(j.index()))
                    .fold(zero(), |acc, (_, w)| acc.saturating_add(u16_to_fixed(*w)));
                let divisor = (total > zero()).then(|| Divisor::new(total));
                for (j, w) in row {
                    if !kept(j.index()) {
                        continue;
                    }
                    let value = u16_to_fixed(*w);
                    let value = divisor.map_or(value, |d| d.divide(value));
                    if let Some(at) = cell(r, j.index()) {
                        if let (Some(w), Some(p)) = (weights.get_mut(at), present.get_mut(at)) {
                            *w = value;
                            *p = true;
                        }
                    }
                }
            }
            // Stored bonds, without the columns of neurons registered since the last epoch.
            for (j, b) in input.bonds.get(i).map(Vec::as_slice).unwrap_or_default() {
                if last_tempo > registered(j.index()) {
                    if let Some(slot) = cell(r, j.index()).and_then(|at| bonds.get_mut(at)) {
                        *slot = *b;
                    }
                }
            }
        }
        Self { shape, height, weights, present, bonds }
    }

    /// The column slices: `(UID, weights, presence, bonds)`.
    fn columns(&self) -> impl Iterator<Item = (usize, &[I32F32], &[bool], &[u16])> + '_ {
        let stride = self.height.max(1);
        self.shape
            .columns
            .iter()
            .map(|j| usize::from(*j))
            .zip(self.weights.chunks_exact(stride))
            .zip(self.present.chunks_exact(stride).zip(self.bonds.chunks_exact(stride)))
            .map(|((j, w), (p, b))| (j, w, p, b))
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
                    weight.saturating_add(ratio.saturating_mul(clipped.0.saturating_sub(weight)));
                (value, value > zero())
            }
        }
    }
}

/// Steps 5–16 on the dense block.
pub(crate) fn matrix(
    input: &YumaInput,
    permit: &[bool],
    active_stake: &[I32F32],
    n: usize,
) -> Matrix {
    let params = &input.params;
    let block = Block::new(input, permit, Shape::new(input, permit, active_stake));
    let height = block.height;
    let rows = &block.shape.rows;
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

    // 11-14, per column: consensus, clipped weights, validator trust, rank, trust.
    let mut consensus = vec![zero(); n];
    let mut rank = vec![zero(); n];
    let mut trust = vec![zero(); n];
    let mut row_trust = vec![zero(); height];
    let mut items: Vec<(I32F32, I32F32)> = Vec::with_capacity(voters.len());
    for (j, weights, present, _) in block.columns() {
        items.clear();
        items.extend(
            voters
                .iter()
                .zip(&voter_stake)
                .map(|(&r, s)| (weights.get(r).copied().unwrap_or_default(), *s)),
        );
        let c = fast::weighted_median(&mut items, minority, total);
        let (mut clipped_rank, mut raw_rank) = (zero(), zero());
        for (((w, p), s), vt) in weights.iter().zip(present).zip(&row_stake).zip(&mut row_trust) {
            let (clipped, _) = clip(*w, *p, c);
            *vt = vt.saturating_add(clipped);
            clipped_rank = clipped_rank.saturating_add(s.saturating_mul(clipped));
            raw_rank = raw_rank.saturating_add(s.saturating_mul(*w));
        }
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
            row.reserve_exact(block.shape.columns.len());
        }
    }
    let mut row_dividends = vec![zero(); height];
    let mut scratch = Scratch::new(height);
    let alpha = fixed_alpha(params.bonds_moving_average);
    match params.bond_model {
        BondModel::Yuma3 => {
            let has_consensus = consensus.iter().any(|c| *c != zero());
            let curve = match params.liquid_alpha {
                LiquidAlpha::On { alpha_low, alpha_high, steepness } if has_consensus => {
                    Some(math::AlphaCurve::new(
                        u16_proportion_to_fixed(alpha_low),
                        u16_proportion_to_fixed(alpha_high),
                        I32F32::from_num(steepness),
                    ))
                }
                _ => None,
            };
            for column in block.columns() {
                let c = consensus.get(column.0).copied().unwrap_or_default();
                let inc = incentive.get(column.0).copied().unwrap_or_default();
                yuma3_column(column, c, penalty, curve, alpha, &mut scratch);
                emit(column.0, rows, &scratch, &mut bonds);
                for (d, share) in row_dividends.iter_mut().zip(&scratch.share) {
                    *d = d.saturating_add(share.saturating_mul(inc));
                }
            }
            for (d, s) in row_dividends.iter_mut().zip(&row_stake) {
                *d = d.checked_mul(*s).unwrap_or_default();
            }
        }
        BondModel::Classic => {
            for column in block.columns() {
                let c = consensus.get(column.0).copied().unwrap_or_default();
                let inc = incentive.get(column.0).copied().unwrap_or_default();
                classic_column(column, c, &row_stake, penalty, alpha, &mut scratch, |r, v| {
                    if let Some(d) = row_dividends.get_mut(r) {
                        *d = d.saturating_add(inc.saturating_mul(v));
                    }
                });
                emit(column.0, rows, &scratch, &mut bonds);
            }
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
}

impl Scratch {
    fn new(height: usize) -> Self {
        Self {
            value: vec![zero(); height],
            keep: vec![false; height],
            share: vec![zero(); height],
            delta: vec![zero(); height],
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
    (_, weights, present, bonds): (usize, &[I32F32], &[bool], &[u16]),
    consensus: I32F32,
    penalty: Penalty,
    curve: Option<math::AlphaCurve>,
    alpha: I32F32,
    scratch: &mut Scratch,
) {
    let keep_rate = one().saturating_sub(alpha);
    let mut sum = zero();
    let cells = weights.iter().zip(present).zip(bonds);
    for (((w, p), b), (value, keep)) in
        cells.zip(scratch.value.iter_mut().zip(scratch.keep.iter_mut()))
    {
        let (wb, wb_present) = penalty.apply(*w, *p, clip(*w, *p, consensus));
        let bond = fast::u16_proportion(*b);
        let v = match &curve {
            // `math::ema_per_cell`: only cells with a weight for bonds; absent ones drop.
            Some(curve) if wb_present => {
                let a = curve.alpha_fast(consensus, wb, bond);
                let decayed = one().saturating_sub(a).saturating_mul(bond);
                decayed.saturating_add(a.saturating_mul(wb).max(zero())).min(one())
            }
            Some(_) => zero(),
            // `math::ema`: over the union; an absent cell adds `rate · 0 = 0`.
            None => zero()
                .saturating_add(alpha.saturating_mul(wb))
                .saturating_add(keep_rate.saturating_mul(bond)),
        };
        *keep = v > zero();
        *value = if *keep { v } else { zero() };
        sum = sum.saturating_add(*value);
    }
    scratch.share.copy_from_slice(&scratch.value);
    normalize_column(&mut scratch.share, sum);
}

/// §4.6 for one column: classic bonds. Calls `dividend(row, normalized EMA)` per row.
fn classic_column(
    (_, weights, present, bonds): (usize, &[I32F32], &[bool], &[u16]),
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
    for (b, old) in bonds.iter().zip(scratch.share.iter_mut()) {
        *old = u16_to_fixed(*b);
        bond_sum = bond_sum.saturating_add(*old);
    }
    normalize_column(&mut scratch.share, bond_sum);
    // Delta: weights for bonds scaled by the row's active stake, column-normalized.
    let mut delta_sum = zero();
    for (((w, p), s), delta) in
        weights.iter().zip(present).zip(row_stake).zip(scratch.delta.iter_mut())
    {
        let (wb, _) = penalty.apply(*w, *p, clip(*w, *p, consensus));
        *delta = wb.saturating_mul(*s);
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
            .saturating_add(alpha.saturating_mul(*delta))
            .saturating_add(keep_rate.saturating_mul(*old));
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
