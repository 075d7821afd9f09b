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

/// The prepared block, row-major as the input rows arrive: step 10's row-normalized kept
/// weights (steps 5-9) with their presence, and the stored bonds (masked). Every step after
/// the consensus walks it row by row over contiguous slices; the consensus reads it in
/// narrow column strips (one cache line of each row at a time).
struct Block {
    shape: Shape,
    /// Columns per row (the stride).
    width: usize,
    /// Row-normalized kept weights, 0 where absent.
    weights: Vec<I32F32>,
    /// Whether the weight cell is set (explicit zeros are set).
    present: Vec<bool>,
    /// Stored bonds of columns registered before the last epoch, 0 where absent.
    bonds: Vec<u16>,
}

impl Block {
    /// Steps 5–10 (weights kept, row-normalized) and the bond mask, as `prepared_weights`
    /// and `masked_bonds`.
    fn new(input: &YumaInput, permit: &[bool], shape: Shape) -> Self {
        let width = shape.columns.len();
        let cells = shape.rows.len().saturating_mul(width);
        let mut weights = vec![zero(); cells];
        let mut present = vec![false; cells];
        let mut bonds = vec![0u16; cells];
        let registered = |j: usize| input.block_at_registration.get(j).map_or(0, |b| b.get());
        let owner = input.owner.map(Uid::index);
        let last_tempo = last_tempo(input);
        let stride = width.max(1);
        let row_chunks = weights
            .chunks_exact_mut(stride)
            .zip(present.chunks_exact_mut(stride))
            .zip(bonds.chunks_exact_mut(stride));
        for (&i, ((weight_row, present_row), bond_row)) in shape.rows.iter().zip(row_chunks) {
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
                    let k = column(j);
                    if let (true, Some(cell), Some(set)) =
                        (kept, weight_row.get_mut(k), present_row.get_mut(k))
                    {
                        *cell = fast::u16_integer(*w);
                        *set = true;
                        // 10. (The sum of non-negative values saturates in any order.)
                        total = total.saturating_add(*cell);
                    }
                }
                // 10. Row-normalize where the sum is positive (absent cells stay 0).
                if total > zero() {
                    let divisor = Divisor::new(total);
                    for cell in weight_row.iter_mut() {
                        *cell = divisor.divide(*cell);
                    }
                }
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
        Self { shape, width, weights, present, bonds }
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

/// Column strips this wide feed the weighted medians: eight 64-byte lines of each row, read
/// in order (the prefetcher follows), the strip's columns staying in the L2 cache.
const STRIP: usize = 64;

/// Step 11 over the block: per column, the [`fast::weighted_median`] of the voters' weights
/// (`voters`: block rows with positive active stake, `stake`: theirs renormalized).
fn consensus_columns(
    block: &Block,
    voters: &[usize],
    stake: &[I32F32],
    minority: I32F32,
    total: I32F32,
) -> Vec<I32F32> {
    let width = block.width;
    let mut consensus = vec![zero(); width];
    let mut strip: Vec<Vec<(I32F32, I32F32)>> =
        (0..STRIP).map(|_| Vec::with_capacity(voters.len())).collect();
    let mut spare: Vec<(I32F32, I32F32)> = Vec::with_capacity(voters.len());
    for (start, out) in (0..width).step_by(STRIP).zip(consensus.chunks_mut(STRIP)) {
        for column in strip.iter_mut() {
            column.clear();
        }
        for (&r, &s) in voters.iter().zip(stake) {
            let from = r.saturating_mul(width).saturating_add(start);
            let cells = block.weights.get(from..).unwrap_or_default();
            for (column, w) in strip.iter_mut().zip(cells.iter().take(out.len())) {
                column.push((*w, s));
            }
        }
        for (c, items) in out.iter_mut().zip(strip.iter_mut()) {
            *c = fast::weighted_median(items, &mut spare, minority, total);
        }
    }
    consensus
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
    let mut block = Block::new(input, permit, shape);
    let width = block.width;
    let stride = width.max(1);
    let rows = &block.shape.rows;
    let height = rows.len();
    // Active stake per block row.
    let row_stake: Vec<I32F32> =
        rows.iter().map(|&i| active_stake.get(i).copied().unwrap_or_default()).collect();
    let uids: Vec<Uid> = block.shape.columns.iter().map(|&j| Uid::new(j)).collect();

    // 11. Consensus: the voters (positive active stake) and their renormalized stake.
    let voters: Vec<usize> =
        (0..height).filter(|&r| row_stake.get(r).is_some_and(|s| *s > zero())).collect();
    let mut voter_stake: Vec<I32F32> =
        voters.iter().filter_map(|&r| row_stake.get(r).copied()).collect();
    math::normalize(&mut voter_stake);
    let total = saturating_sum(voter_stake.iter());
    let minority = total.saturating_sub(u16_proportion_to_fixed(params.kappa));
    let column_consensus = consensus_columns(&block, &voters, &voter_stake, minority, total);

    // 12-15, row by row: clipped weights, validator trust, rank sums; then the weights for
    // bonds replace the weights in the block (classic: scaled by the row's stake).
    let penalty = match params.bonds_penalty {
        0 => Penalty::Raw,
        u16::MAX => Penalty::Clipped,
        raw => Penalty::Mix(u16_proportion_to_fixed(raw)),
    };
    let classic = params.bond_model == BondModel::Classic;
    let mut clipped_rank = vec![zero(); width];
    let mut raw_rank = vec![zero(); width];
    // Classic: column sums of the stake-scaled weights for bonds and of the old bonds.
    let mut delta_sum = vec![zero(); width];
    let mut bond_sum = vec![zero(); width];
    let mut row_trust = vec![zero(); height];
    let cells = block
        .weights
        .chunks_exact_mut(stride)
        .zip(block.present.chunks_exact_mut(stride))
        .zip(block.bonds.chunks_exact(stride));
    for (((weight_row, present_row), bond_row), (s, vt)) in
        cells.zip(row_stake.iter().zip(row_trust.iter_mut()))
    {
        let s = *s;
        let mut trust = zero();
        let columns = column_consensus.iter().zip(clipped_rank.iter_mut().zip(&mut raw_rank));
        for ((w, p), (c, (cr, rr))) in
            weight_row.iter_mut().zip(present_row.iter_mut()).zip(columns)
        {
            let clipped = clip(*w, *p, *c);
            trust = trust.saturating_add(clipped.0);
            *cr = cr.saturating_add(fast::mul(s, clipped.0));
            *rr = rr.saturating_add(fast::mul(s, *w));
            (*w, *p) = penalty.apply(*w, *p, clipped);
        }
        *vt = trust;
        if classic {
            for ((w, b), (ds, bs)) in
                weight_row.iter_mut().zip(bond_row).zip(delta_sum.iter_mut().zip(&mut bond_sum))
            {
                *w = fast::mul(*w, s);
                *ds = ds.saturating_add(*w);
                *bs = bs.saturating_add(fast::u16_integer(*b));
            }
        }
    }

    // Per UID: consensus, rank, trust, validator trust; incentive.
    let mut consensus = vec![zero(); n];
    let mut rank = vec![zero(); n];
    let mut trust = vec![zero(); n];
    for (k, &j) in block.shape.columns.iter().enumerate() {
        let j = usize::from(j);
        if let (Some(cc), Some(rr), Some(tt), Some(c), Some(r), Some(u)) = (
            consensus.get_mut(j),
            rank.get_mut(j),
            trust.get_mut(j),
            column_consensus.get(k),
            clipped_rank.get(k),
            raw_rank.get(k),
        ) {
            *cc = *c;
            *rr = *r;
            *tt = r.safe_div(*u);
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
    let column_incentive: Vec<I32F32> = block
        .shape
        .columns
        .iter()
        .map(|&j| incentive.get(usize::from(j)).copied().unwrap_or_default())
        .collect();

    // 16. Bonds and dividends, row by row.
    let alpha = fixed_alpha(params.bonds_moving_average);
    let mut row_dividends = vec![zero(); height];
    let mut bond_rows: Vec<Vec<(Uid, I32F32)>> = Vec::with_capacity(height);
    match params.bond_model {
        BondModel::Yuma3 => {
            let curve = match params.liquid_alpha {
                LiquidAlpha::On { alpha_low, alpha_high, steepness }
                    if column_consensus.iter().any(|c| *c != zero()) =>
                {
                    Some(math::AlphaCurve::new(
                        u16_proportion_to_fixed(alpha_low),
                        u16_proportion_to_fixed(alpha_high),
                        I32F32::from_num(steepness),
                    ))
                }
                _ => None,
            };
            yuma3_bonds(
                &mut block,
                &column_consensus,
                &column_incentive,
                curve,
                alpha,
                &uids,
                &mut row_dividends,
                &mut bond_rows,
            );
            for (d, s) in row_dividends.iter_mut().zip(&row_stake) {
                *d = d.checked_mul(*s).unwrap_or_default();
            }
        }
        BondModel::Classic => classic_bonds(
            &mut block,
            &delta_sum,
            &bond_sum,
            &column_incentive,
            alpha,
            &uids,
            &mut row_dividends,
            &mut bond_rows,
        ),
    }
    let mut bonds: Vec<Vec<(Uid, I32F32)>> = vec![Vec::new(); n];
    for (&i, row) in block.shape.rows.iter().zip(bond_rows) {
        if let Some(cell) = bonds.get_mut(i) {
            *cell = row;
        }
    }
    let mut dividends = vec![zero(); n];
    for (&i, d) in block.shape.rows.iter().zip(&row_dividends) {
        if let Some(cell) = dividends.get_mut(i) {
            *cell = *d;
        }
    }
    math::normalize(&mut dividends);

    Matrix { consensus, rank, trust, incentive, validator_trust, dividends, bonds }
}

/// A divisor per column where the column's sum is non-zero (`math::col_normalize`).
fn column_divisors(sums: &[I32F32]) -> Vec<Option<Divisor>> {
    sums.iter().map(|s| (*s != zero()).then(|| Divisor::new(*s))).collect()
}

/// `math::col_normalize` of one cell.
#[inline]
fn normalized(value: I32F32, divisor: &Option<Divisor>) -> I32F32 {
    divisor.as_ref().map_or(value, |d| d.divide(value))
}

/// §4.5, row by row: the Yuma3 bond EMA (liquid or fixed rate) of the weights for bonds in
/// the block, kept where positive; dividends per row from the column-normalized EMA.
#[allow(clippy::too_many_arguments)]
fn yuma3_bonds(
    block: &mut Block,
    consensus: &[I32F32],
    incentive: &[I32F32],
    curve: Option<math::AlphaCurve>,
    alpha: I32F32,
    uids: &[Uid],
    row_dividends: &mut [I32F32],
    bond_rows: &mut Vec<Vec<(Uid, I32F32)>>,
) {
    let stride = block.width.max(1);
    let keep_rate = one().saturating_sub(alpha);
    let mut sums = vec![zero(); block.width];
    let mut rates = vec![zero(); block.width];
    let cells = block
        .weights
        .chunks_exact_mut(stride)
        .zip(block.present.chunks_exact(stride))
        .zip(block.bonds.chunks_exact(stride));
    for ((weight_row, present_row), bond_row) in cells {
        match &curve {
            // `math::ema_per_cell`: only cells with a weight for bonds; absent ones drop.
            Some(curve) => {
                curve.alpha_row(consensus, weight_row, bond_row, &mut rates);
                let row = weight_row.iter_mut().zip(present_row).zip(bond_row).zip(&rates);
                for ((((w, p), b), a), sum) in row.zip(&mut sums) {
                    let bond = fast::u16_proportion(*b);
                    let decayed = fast::mul(one().saturating_sub(*a), bond);
                    let v = decayed.saturating_add(fast::mul(*a, *w).max(zero())).min(one());
                    *w = if *p && v > zero() { v } else { zero() };
                    *sum = sum.saturating_add(*w);
                }
            }
            // `math::ema`: over the union; an absent cell adds `rate · 0 = 0`.
            None => {
                for ((w, b), sum) in weight_row.iter_mut().zip(bond_row).zip(&mut sums) {
                    let v = zero()
                        .saturating_add(fast::mul(alpha, *w))
                        .saturating_add(fast::mul(keep_rate, fast::u16_proportion(*b)));
                    *w = v.max(zero());
                    *sum = sum.saturating_add(*w);
                }
            }
        }
    }
    // The share is the EMA column-normalized; a row's dividend is Σ share · incentive. The
    // bonds to store are the EMA's positive cells.
    let divisors = column_divisors(&sums);
    for (weight_row, d) in block.weights.chunks_exact(stride).zip(row_dividends.iter_mut()) {
        let mut dividend = zero();
        let mut row = Vec::with_capacity(block.width);
        for ((v, divisor), (inc, uid)) in
            weight_row.iter().zip(&divisors).zip(incentive.iter().zip(uids))
        {
            dividend = dividend.saturating_add(fast::mul(normalized(*v, divisor), *inc));
            if *v > zero() {
                row.push((*uid, *v));
            }
        }
        *d = dividend;
        bond_rows.push(row);
    }
}

/// §4.6, row by row: classic bonds from the stake-scaled weights for bonds in the block
/// (`delta_sum`: their column sums; `bond_sum`: the old bonds' column sums).
#[allow(clippy::too_many_arguments)]
fn classic_bonds(
    block: &mut Block,
    delta_sum: &[I32F32],
    bond_sum: &[I32F32],
    incentive: &[I32F32],
    alpha: I32F32,
    uids: &[Uid],
    row_dividends: &mut [I32F32],
    bond_rows: &mut Vec<Vec<(Uid, I32F32)>>,
) {
    let stride = block.width.max(1);
    let keep_rate = one().saturating_sub(alpha);
    let delta_divisors = column_divisors(delta_sum);
    let bond_divisors = column_divisors(bond_sum);
    // EMA over the union of the normalized delta and old bonds, kept where positive
    // (`present` now marks the kept cells).
    let mut ema_sum = vec![zero(); block.width];
    let cells = block
        .weights
        .chunks_exact_mut(stride)
        .zip(block.present.chunks_exact_mut(stride))
        .zip(block.bonds.chunks_exact(stride));
    for ((delta_row, keep_row), bond_row) in cells {
        let columns = delta_divisors.iter().zip(&bond_divisors).zip(&mut ema_sum);
        for (((delta, keep), b), ((dd, bd), sum)) in
            delta_row.iter_mut().zip(keep_row.iter_mut()).zip(bond_row).zip(columns)
        {
            let old = normalized(fast::u16_integer(*b), bd);
            let v = zero()
                .saturating_add(fast::mul(alpha, normalized(*delta, dd)))
                .saturating_add(fast::mul(keep_rate, old));
            *keep = v > zero();
            *delta = if *keep { v } else { zero() };
            *sum = sum.saturating_add(*delta);
        }
    }
    // Column-normalized; dividends read it; the column maxima for the upscale.
    let ema_divisors = column_divisors(&ema_sum);
    let mut max = vec![zero(); block.width];
    for (row, d) in block.weights.chunks_exact_mut(stride).zip(row_dividends.iter_mut()) {
        let mut dividend = zero();
        for ((v, divisor), (inc, m)) in
            row.iter_mut().zip(&ema_divisors).zip(incentive.iter().zip(&mut max))
        {
            *v = normalized(*v, divisor);
            // Absent cells are 0: they add nothing and never raise the maximum.
            dividend = dividend.saturating_add(fast::mul(*inc, *v));
            *m = (*m).max(*v);
        }
        *d = dividend;
    }
    // The stored bonds: upscaled to the column's maximum, every kept cell.
    let max_divisors = column_divisors(&max);
    for (row, keep_row) in
        block.weights.chunks_exact(stride).zip(block.present.chunks_exact(stride))
    {
        let mut out = Vec::with_capacity(block.width);
        for ((v, keep), (divisor, uid)) in
            row.iter().zip(keep_row).zip(max_divisors.iter().zip(uids))
        {
            if *keep {
                out.push((*uid, normalized(*v, divisor)));
            }
        }
        bond_rows.push(out);
    }
}
