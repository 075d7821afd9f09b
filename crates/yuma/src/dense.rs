//! Steps 5–16 over one contiguous validator × miner block, row by row.
//!
//! The block holds the rows that can carry a weight or a bond (permitted validators, voters,
//! rows with stored bonds) and the columns any of them names, row-major as the input rows
//! arrive. The consensus reads it in column strips (the weighted median needs a column);
//! every other step walks contiguous rows: clip, rank sums, weights for bonds and the bond
//! EMA in one fused pass, then dividends. Yuma3's new bonds, computed in the block, are the
//! output as they are ([`Bonds::from_block`]); so are classic's, upscaled in the block
//! (listed rows only where a kept cell is not positive, or off the unit interval). Per
//! column results (rank sums, bond sums) accumulate in column vectors. An absent cell is 0
//! plus a presence flag where the reference tells "absent" from "explicit 0" (the
//! liquid-alpha EMA, the stored bond rows). Every cell gets the reference's expression in the
//! reference's types; the sums add non-negative values, so their order cannot change a
//! saturating result; divisions by a row's or a column's total use [`Divisor`],
//! [`fast::RowDivisor`] or [`fast::UnitDivisor`], `safe_div` bit for bit. Large blocks are
//! split in two (row bands, column ranges) joined across the worker pool ([`both`]), with
//! the same bits for any thread count; each thread keeps a small block's buffers for its
//! next epoch ([`Buffers`]).
//!
//! [`crate::epoch_with`] with [`crate::Kernel::Sparse`] is the reference this path is
//! property-tested against.

use crate::{
    epoch::{fixed_alpha, last_tempo, Matrix},
    fast::{self, Divisor},
    input::{Order, Validated},
    math::{self, one, zero},
    pool,
    workers::both,
    BondModel, Bonds, CommitReveal, LiquidAlpha, YumaInput,
};
use tao_primitives::{
    fixed::{u16_proportion_to_fixed, I32F32},
    Uid,
};

/// A block larger than this many cells takes the sparse path (bounded memory).
const MAX_CELLS: usize = 1 << 22;

/// The block's shape if the dense kernel pays off (`force`: whatever the density), else
/// `None`: it is small enough and at least an eighth of its cells are set.
pub(crate) fn plan(
    input: &YumaInput,
    valid: &Validated,
    permit: &[bool],
    active_stake: &[I32F32],
    force: bool,
) -> Option<Shape> {
    let shape = Shape::new(input, valid, permit, active_stake);
    let cells = shape.rows.len().saturating_mul(shape.columns.len());
    let worthwhile =
        cells <= MAX_CELLS && cells <= shape.entries.saturating_mul(8).saturating_add(64);
    if force || worthwhile {
        Some(shape)
    } else {
        shape.recycle();
        None
    }
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
    /// Per block row: whether its weights (if permitted) and its bonds are strictly
    /// ascending UIDs (in range: the input is valid). Such a row naming as many UIDs as
    /// the block has columns names exactly the columns, in order (they are the union of
    /// the rows' UIDs).
    ascending: Vec<(bool, bool)>,
}

impl Shape {
    fn new(input: &YumaInput, valid: &Validated, permit: &[bool], active_stake: &[I32F32]) -> Self {
        let n = input.stake.len();
        // (Sized for every UID: growing them took reallocations each epoch.)
        let mut rows = pool::take(n);
        let mut column_of = pool::filled(n, usize::MAX);
        let mut entries = 0usize;
        let mut ascending = pool::take(n);
        // The UIDs of the row marked last: a row naming the same ones (a validator's bonds
        // and weights, or the next validator's weights, on a dense subnet) marks nothing new.
        let mut marked: &[(Uid, u16)] = &[];
        // The UIDs `first..=last` marked by consecutive rows: a consecutive row within them
        // (known from its ends) marks nothing new either.
        let mut marked_range: Option<(usize, usize)> = None;
        for (i, (weights, bonds)) in input.weights.iter().zip(&input.bonds).enumerate() {
            let permitted = permit.get(i).copied().unwrap_or(false);
            let voter = active_stake.get(i).is_some_and(|s| *s > zero());
            let weights: &[(Uid, u16)] = if permitted { weights } else { &[] };
            if !permitted && !voter && bonds.is_empty() {
                continue;
            }
            rows.push(i);
            entries = entries.saturating_add(weights.len()).saturating_add(bonds.len());
            let order = |rows: &[Order]| rows.get(i).copied().unwrap_or_default();
            let orders = (order(&valid.sorted_weights), order(&valid.sorted_bonds));
            // (Two calls: a chained iterator costs twice the instructions per entry.)
            for (row, order) in [(weights, orders.0), (bonds.as_slice(), orders.1)] {
                if let (Order::Consecutive, Some((first, _)), Some((last, _))) =
                    (order, row.first(), row.last())
                {
                    let (first, last) = (first.index(), last.index());
                    if !marked_range.is_some_and(|(a, b)| a <= first && last <= b) {
                        if let Some(cells) = column_of.get_mut(first..=last) {
                            cells.fill(0);
                        }
                        // Overlapping or adjacent ranges are marked as one.
                        marked_range = Some(match marked_range {
                            Some((a, b))
                                if first <= b.saturating_add(1) && a <= last.saturating_add(1) =>
                            {
                                (a.min(first), b.max(last))
                            }
                            _ => (first, last),
                        });
                    }
                } else if !same_uids(row, marked) {
                    mark(row, &mut column_of);
                    marked = row;
                }
            }
            ascending.push((orders.0.is_sorted(), orders.1.is_sorted()));
        }
        let mut columns = pool::take(n);
        for (j, cell) in column_of.iter_mut().enumerate() {
            if *cell == 0 {
                *cell = columns.len();
                columns.push(u16::try_from(j).unwrap_or(u16::MAX));
            }
        }
        Self { rows, columns, column_of, entries, ascending }
    }

    /// Hands its vectors back to the [`pool`].
    fn recycle(self) {
        pool::give(self.rows);
        pool::give(self.columns);
        pool::give(self.column_of);
        pool::give(self.ascending);
    }

    /// Whether the block is worked on two threads (when allowed): at least
    /// [`PARALLEL_CELLS`] cells.
    pub(crate) fn is_large(&self) -> bool {
        self.rows.len().saturating_mul(self.columns.len()) >= PARALLEL_CELLS
    }

    /// Whether a block row's `entries` (its weights or bonds, whichever `ascending` is
    /// for) name exactly the block's columns, in order.
    fn is_full_row<T>(&self, entries: &[(Uid, T)], ascending: bool) -> bool {
        ascending && entries.len() == self.columns.len()
    }
}

/// Whether two rows name the same UIDs in the same order (compared without an exit per
/// entry, which vectorizes).
fn same_uids(a: &[(Uid, u16)], b: &[(Uid, u16)]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).fold(0u16, |any, ((x, _), (y, _))| any | (x.get() ^ y.get())) == 0
}

/// Marks the columns `entries` name (`column_of` 0).
fn mark<T>(entries: &[(Uid, T)], column_of: &mut [usize]) {
    for (j, _) in entries {
        if let Some(cell) = column_of.get_mut(j.index()) {
            *cell = 0;
        }
    }
}

/// A block with at least this many cells is worked on two threads (when allowed); below
/// it the hand-over costs more than it saves.
const PARALLEL_CELLS: usize = 1 << 16;

/// `a += b` element-wise, saturating (column sums of non-negative values: any order). An
/// empty part's sums are empty: the other's are the total.
fn merge(mut a: Vec<I32F32>, b: &[I32F32]) -> Vec<I32F32> {
    if a.is_empty() {
        return b.to_vec();
    }
    for (x, y) in a.iter_mut().zip(b) {
        *x = x.saturating_add(*y);
    }
    a
}

/// Splits a row-major buffer of `width` columns after `rows` rows.
fn split_rows<T>(cells: &mut [T], rows: usize, width: usize) -> (&mut [T], &mut [T]) {
    cells.split_at_mut(rows.saturating_mul(width).min(cells.len()))
}

/// [`split_rows`] of a shared buffer.
fn split_rows_ref<T>(cells: &[T], rows: usize, width: usize) -> (&[T], &[T]) {
    cells.split_at(rows.saturating_mul(width).min(cells.len()))
}

/// The prepared block, row-major as the input rows arrive: step 10's row-normalized kept
/// weights (steps 5-9) with their presence, and the stored bonds (masked). Every step after
/// the consensus walks it row by row over contiguous slices; the consensus reads it in
/// column strips.
struct Block {
    shape: Shape,
    /// Row-normalized kept weights, 0 where absent; later the weights for bonds, then the
    /// new bonds.
    weights: Vec<I32F32>,
    /// Whether the weight cell is set (explicit zeros are set); later whether the weight for
    /// bonds is, then (classic) whether the new bond is kept.
    present: Vec<bool>,
    /// Stored bonds of columns registered before the last epoch, 0 where absent.
    bonds: Vec<u16>,
    /// Per row: what [`fill_row`] learned of it on the way.
    hints: Vec<RowHint>,
}

/// What [`fill_row`] learns of a row without a pass of its own: each flag is set only when
/// proven (unset: not known, and the pass that needs it checks the row).
#[derive(Clone, Copy, Default)]
struct RowHint {
    /// Every weight of the row is below one ([`below_one`]).
    weights_below_one: bool,
    /// No stored bond of the row is 65535.
    bonds_below_max: bool,
}

impl Block {
    /// Steps 5–10 (weights kept, row-normalized) and the bond mask, as `prepared_weights`
    /// and `masked_bonds`; rows `..mid` and `mid..` on two threads when `threads ≥ 2`.
    fn new(input: &YumaInput, permit: &[bool], shape: Shape, mid: usize, threads: usize) -> Self {
        let width = shape.columns.len();
        let cells = shape.rows.len().saturating_mul(width);
        let Buffers { weights, present, bonds } = Buffers::take();
        // Sized to the block. `fill_row` writes every cell (a row it does not fill entry by
        // entry it zeroes first): the contents of a reused buffer never show through. A
        // buffer too small is replaced by zeroed memory from the allocator (a large one is
        // fresh pages, zero already), not written with zeros here first.
        let mut weights = sized(weights, cells, zero(), || {
            // (Zeroed `i64`s as `I32F32`s, the same bits: collected in place.)
            vec![0i64; cells].into_iter().map(I32F32::from_bits).collect()
        });
        let mut present = sized(present, cells, false, || vec![false; cells]);
        let mut bonds = sized(bonds, cells, 0, || vec![0u16; cells]);
        let registered: Vec<u64> = pool::collect(
            input.block_at_registration.len(),
            input.block_at_registration.iter().map(|b| b.get()),
        );
        let column_registered: Vec<u64> = pool::collect(
            width,
            shape
                .columns
                .iter()
                .map(|&j| registered.get(usize::from(j)).copied().unwrap_or_default()),
        );
        let newest = column_registered.iter().copied().max().unwrap_or_default();
        let registration =
            Registered { by_uid: &registered, by_column: &column_registered, newest };
        let (rows_a, rows_b) = shape.rows.split_at(mid.min(shape.rows.len()));
        let (ascending_a, ascending_b) = shape.ascending.split_at(mid.min(shape.rows.len()));
        let (weights_a, weights_b) = split_rows(&mut weights, mid, width);
        let (present_a, present_b) = split_rows(&mut present, mid, width);
        let (bonds_a, bonds_b) = split_rows(&mut bonds, mid, width);
        let mut hints = vec![RowHint::default(); shape.rows.len()];
        let (hints_a, hints_b) = split_rows(&mut hints, mid, 1);
        both(
            threads,
            ((rows_a, ascending_a), weights_a, present_a, (bonds_a, hints_a)),
            ((rows_b, ascending_b), weights_b, present_b, (bonds_b, hints_b)),
            |((rows, ascending), weights, present, (bonds, hints))| {
                let stride = width.max(1);
                let row_chunks = weights
                    .chunks_exact_mut(stride)
                    .zip(present.chunks_exact_mut(stride))
                    .zip(bonds.chunks_exact_mut(stride).zip(hints.iter_mut()));
                let rows = rows.iter().zip(ascending);
                for ((&i, &ascending), ((weight_row, present_row), (bond_row, hint))) in
                    rows.zip(row_chunks)
                {
                    *hint = fill_row(
                        input,
                        permit,
                        &shape,
                        &registration,
                        (i, ascending),
                        weight_row,
                        present_row,
                        bond_row,
                    );
                }
            },
        );
        pool::give(registered);
        pool::give(column_registered);
        Self { shape, weights, present, bonds, hints }
    }
}

/// `buffer` as `cells` cells (those past its length `fill`) if its capacity holds them, else
/// `fresh()`.
fn sized<T: Clone>(
    mut buffer: Vec<T>,
    cells: usize,
    fill: T,
    fresh: impl FnOnce() -> Vec<T>,
) -> Vec<T> {
    if buffer.capacity() < cells {
        return fresh();
    }
    buffer.resize(cells, fill);
    buffer
}

/// The block's cell buffers, kept by each thread for its next epoch when at most
/// [`KEPT_CELLS`] cells: a subnet's epoch then reuses memory the allocator already mapped.
/// (Freeing them handed a small block's memory back to the system at every epoch, the top
/// of the heap trimmed, and the next one took the page faults again: a quarter of an
/// n = 256 epoch.) Yuma3's new bonds leave in the output's [`Bonds`], which hands its
/// block back here when dropped ([`recycle`]): a caller that drops an epoch's output before
/// running the next (the runtime, the simulator tool, the benchmarks) neither copies nor
/// allocates the block. Only capacity is reused: [`fill_row`] writes every cell of the
/// block, so no result depends on a previous epoch.
#[derive(Default)]
struct Buffers {
    weights: Vec<I32F32>,
    present: Vec<bool>,
    bonds: Vec<u16>,
}

/// Blocks of at most this many cells keep their buffers (at most ~3 MiB per thread). A
/// larger block is freed as before: measured at n = 4,096, keeping it made the allocator
/// (glibc, whose thresholds adapt to the large blocks freed) return the caller's freed
/// output to the system at every epoch instead, and the page faults came back elsewhere.
/// (Measured again with 2²⁰: 8.6% fewer instructions at n = 4,096, no memset of the block,
/// but 200 epochs took 3.3–3.7 s on two threads against 1.8–2.3 s.)
const KEPT_CELLS: usize = 1 << 18;

thread_local! {
    static BUFFERS: core::cell::Cell<Option<Buffers>> = const { core::cell::Cell::new(None) };
}

impl Buffers {
    /// This thread's kept buffers, or new ones.
    fn take() -> Self {
        BUFFERS.try_with(core::cell::Cell::take).ok().flatten().unwrap_or_default()
    }

    /// Keeps `self` for this thread's next block, if small enough.
    fn keep(self) {
        if self.weights.capacity().max(self.present.capacity()) <= KEPT_CELLS {
            // (Fails only while the thread exits: the buffers are then dropped.)
            let _ = BUFFERS.try_with(|cell| cell.set(Some(self)));
        }
    }
}

/// Takes back the cells of a dropped output's bond block ([`Bonds`]) as this thread's next
/// block's weights, when at most [`KEPT_CELLS`] and larger than what the thread keeps
/// (one block per thread at most: the rest is freed).
pub(crate) fn recycle(cells: Vec<I32F32>) {
    if cells.capacity() == 0 || cells.capacity() > KEPT_CELLS {
        return;
    }
    // (Fails only while the thread exits: the cells are then freed.)
    let _ = BUFFERS.try_with(|slot| {
        let mut kept = slot.take().unwrap_or_default();
        if kept.weights.capacity() < cells.capacity() {
            kept.weights = cells;
        }
        slot.set(Some(kept));
    });
}

/// Registration blocks, per UID and per block column.
struct Registered<'a> {
    by_uid: &'a [u64],
    by_column: &'a [u64],
    /// The latest registration of a block column (0 without columns).
    newest: u64,
}

/// Step 10: row-normalizes integer-valued kept weights whose u16 total is `sum`: the saturating
/// sum of the `I32F32` weights `w · 2³²` (non-negative) is `sum · 2³²` below 2⁶³ and the
/// maximum from there; divided where it is positive (absent cells stay 0).
fn normalize_row(weight_row: &mut [I32F32], sum: u64) {
    if let Some(divisor) = fast::RowDivisor::new(sum) {
        // The usual case, `0 < sum < 2³¹`: two lane products per cell.
        let integer = |cell: &I32F32| (cell.to_bits() >> 32) as u16;
        if divisor.is_wide() {
            for cell in weight_row.iter_mut() {
                *cell = I32F32::from_bits(divisor.divide_wide(integer(cell)));
            }
        } else {
            for cell in weight_row.iter_mut() {
                *cell = I32F32::from_bits(divisor.divide(integer(cell)));
            }
        }
    } else if sum > 0 {
        // A saturated sum; each cell is a non-negative term of it: `divide_unit`.
        let divisor = Divisor::new(I32F32::max_value());
        for cell in weight_row.iter_mut() {
            *cell = I32F32::from_bits(divisor.divide_unit(cell.to_bits()));
        }
    }
}

/// Each u16 weight of `entries` divided by the row's total (`divisor`) into `weight_row`.
/// (A function of its own: inside [`fill_row`] the compiler leaves this loop scalar; here
/// its products vectorize as 32×32-bit lane products.)
#[inline(never)]
fn divide_row(entries: &[(Uid, u16)], weight_row: &mut [I32F32], divisor: fast::RowDivisor) {
    let cells = entries.iter().zip(weight_row.iter_mut());
    if divisor.is_wide() {
        // The usual row (a total above 2¹⁵).
        for ((_, w), cell) in cells {
            *cell = I32F32::from_bits(divisor.divide_wide(*w));
        }
    } else {
        for ((_, w), cell) in cells {
            *cell = I32F32::from_bits(divisor.divide(*w));
        }
    }
}

/// One row of [`Block::new`]: UID `i`'s kept, row-normalized weights and masked bonds.
/// A full, sorted row is written in one pass over the block's columns (no lookups); any
/// other is scattered through `column_of`; the same cells either way.
#[allow(clippy::too_many_arguments)]
fn fill_row(
    input: &YumaInput,
    permit: &[bool],
    shape: &Shape,
    registered: &Registered<'_>,
    (i, (weights_ascending, bonds_ascending)): (usize, (bool, bool)),
    weight_row: &mut [I32F32],
    present_row: &mut [bool],
    bond_row: &mut [u16],
) -> RowHint {
    let registered_by_uid = registered.by_uid;
    let mut hint = RowHint::default();
    // 6. Only rows of validators that held a permit.
    if permit.get(i).copied().unwrap_or(false) {
        let owner_row = input.owner.map(Uid::index) == Some(i);
        let updated = input.last_update.get(i).map_or(0, |b| b.get());
        // 8-9. Kept iff `registered < updated` and `registered ≤ commit` (if any), i.e.
        // `registered < bound` (with a commit at `u64::MAX`, `registered = u64::MAX` fails
        // the first test anyway).
        let bound = match &input.commit_reveal {
            CommitReveal::Off => updated,
            CommitReveal::On { first_commit } => match first_commit.get(i).copied().flatten() {
                Some(c) => updated.min(c.get().saturating_add(1)),
                None => updated,
            },
        };
        // Σ of the kept u16 weights: at most 65,535 entries of at most 65,535, below 2³².
        let entries = input.weights.get(i).map(Vec::as_slice).unwrap_or_default();
        // 7. No self-weight, except the subnet owner's (whose self column is then out of
        // reach).
        let self_column = if owner_row { usize::MAX } else { i };
        let kept = |j: &Uid, r: &u64| (j.index() != self_column) & (*r < bound);
        let mut sum = 0u64;
        let full = shape.is_full_row(entries, weights_ascending);
        // The row names every column, so the self column, if in the block, is `i`'s.
        let own = shape.column_of.get(self_column).copied().unwrap_or(usize::MAX);
        let all_kept = full && registered.newest < bound;
        // Every cell in order, none registered too late: all kept but the self column. The
        // usual row: its total first (a sum that vectorizes), then each cell written
        // normalized (step 10 in the same pass).
        let (total, largest) = if all_kept {
            let own_weight = entries.get(own).map_or(0, |(_, w)| u64::from(*w));
            // In `u32` lanes (four to a vector): at most 65,535 weights of at most 65,535,
            // below 2³², so the sum does not wrap. With the largest weight (the own one too).
            let (all, largest) = entries.iter().fold((0u32, 0u16), |(sum, largest), (_, w)| {
                (sum.wrapping_add(u32::from(*w)), largest.max(*w))
            });
            (u64::from(all).wrapping_sub(own_weight), u64::from(largest))
        } else {
            (0, 0)
        };
        if let (true, Some(divisor)) = (all_kept, fast::RowDivisor::new(total)) {
            divide_row(entries, weight_row, divisor);
            // A cell is one only if its weight is the total (`⌊w·2³²/t⌋ < 2³²` for `w < t`).
            hint.weights_below_one = largest < total;
            present_row.fill(true);
            if let (Some(cell), Some(set)) = (weight_row.get_mut(own), present_row.get_mut(own)) {
                *cell = zero();
                *set = false;
            }
            // (Normalized: the sum stays 0, which `normalize_row` leaves alone.)
        } else if all_kept {
            let cells = weight_row.iter_mut().zip(present_row.iter_mut());
            for ((_, w), (cell, set)) in entries.iter().zip(cells) {
                *cell = fast::u16_integer(*w);
                *set = true;
                sum = sum.wrapping_add(u64::from(*w));
            }
            if let (Some(cell), Some(set)) = (weight_row.get_mut(own), present_row.get_mut(own)) {
                sum = sum.wrapping_sub(u64::from((cell.to_bits() >> 32) as u16));
                *cell = zero();
                *set = false;
            }
        } else if full {
            // Every cell in order, no lookups.
            let cells = weight_row.iter_mut().zip(present_row.iter_mut());
            for (((j, w), r), (cell, set)) in entries.iter().zip(registered.by_column).zip(cells) {
                let keep = kept(j, r);
                let w = if keep { *w } else { 0 };
                *cell = fast::u16_integer(w);
                *set = keep;
                sum = sum.wrapping_add(u64::from(w));
            }
        } else {
            weight_row.fill(zero());
            present_row.fill(false);
            for (j, w) in entries {
                let (Some(&r), Some(&k)) =
                    (registered_by_uid.get(j.index()), shape.column_of.get(j.index()))
                else {
                    continue;
                };
                if let (true, Some(cell), Some(set)) =
                    (kept(j, &r), weight_row.get_mut(k), present_row.get_mut(k))
                {
                    *cell = fast::u16_integer(*w);
                    *set = true;
                    sum = sum.wrapping_add(u64::from(*w));
                }
            }
        }
        normalize_row(weight_row, sum);
    } else {
        weight_row.fill(zero());
        present_row.fill(false);
        hint.weights_below_one = true;
    }
    // Stored bonds, without the columns of neurons registered since the last epoch.
    let last_tempo = last_tempo(input);
    let entries = input.bonds.get(i).map(Vec::as_slice).unwrap_or_default();
    if shape.is_full_row(entries, bonds_ascending) {
        let mut any_max = false;
        if registered.newest < last_tempo {
            // None registered since: a copy.
            for ((_, b), cell) in entries.iter().zip(bond_row.iter_mut()) {
                *cell = *b;
                any_max |= *b == u16::MAX;
            }
        } else {
            let cells = entries.iter().zip(registered.by_column).zip(bond_row.iter_mut());
            for (((_, b), r), cell) in cells {
                *cell = if last_tempo > *r { *b } else { 0 };
                any_max |= *cell == u16::MAX;
            }
        }
        hint.bonds_below_max = !any_max;
        return hint;
    }
    bond_row.fill(0);
    for (j, b) in entries {
        let j = j.index();
        if let (Some(&r), Some(&k)) = (registered_by_uid.get(j), shape.column_of.get(j)) {
            if last_tempo > r {
                if let Some(cell) = bond_row.get_mut(k) {
                    *cell = *b;
                }
            }
        }
    }
    hint
}

/// Step 12's clip of one cell: `(value, present)`; an entry above a consensus that is not
/// positive is removed. Without branches (whether a weight is above its column's consensus
/// is a coin flip the branch predictor loses): `(consensus, true)` if above and the consensus
/// is positive, `(0, false)` if above and it is not, `(weight, present)` otherwise.
#[inline]
fn clip(weight: I32F32, present: bool, consensus: I32F32) -> (I32F32, bool) {
    let (w, c) = (weight.to_bits(), consensus.to_bits());
    let above = present & (c < w);
    // All ones when `above`, else zero: a select the compiler cannot turn into a branch.
    let mask = i64::from(above).wrapping_neg();
    let value = (c.max(0) & mask) | (w & !mask);
    (I32F32::from_bits(value), present & !(above & (c <= 0)))
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

/// Step 11 over columns `first..first + consensus.len()` of the block: per column, the
/// weighted median of the voters' weights (`voters`: block rows with positive active stake,
/// `stake`: theirs renormalized). The columns go a tile of up to [`TILE`] strips of
/// [`fast::STRIP`] at a time: each voter's cells of the tile are read in one contiguous
/// piece and written to the tile's strips (and, narrowed to 32 bits, to one row of sixteen
/// lanes per voter), then [`fast::radix_strip`] selects each strip's columns together, the
/// first round found for both strips at once in the 32-bit lanes when every score of the
/// tile and the stakes' total are below one ([`fast::narrow_first`]).
#[allow(clippy::too_many_arguments)]
fn consensus_columns(
    weights: &[I32F32],
    width: usize,
    first: usize,
    consensus: &mut [I32F32],
    voters: &[usize],
    stake: &[I32F32],
    minority: I32F32,
    total: I32F32,
) {
    const STRIP: usize = fast::STRIP;
    if consensus.is_empty() {
        // An empty part (on one thread, the second): no scratch to allocate.
        return;
    }
    let height = voters.len();
    // The scratch this thread used last (its buffers' contents, whatever they are, are
    // written before they are read), else new: not allocated and zeroed again at every
    // epoch.
    let mut scratch: ConsensusScratch =
        KEPT_CONSENSUS.try_with(core::cell::Cell::take).ok().flatten().unwrap_or_default();
    let ConsensusScratch { buckets, offsets, stakes, items, spare, tile, bits, narrow, stakes32 } =
        &mut scratch;
    let buckets = buckets.get_or_insert_with(|| Box::new(fast::Buckets::new()));
    offsets.clear();
    offsets.extend(voters.iter().map(|&r| r.saturating_mul(width).saturating_add(first)));
    stakes.clear();
    stakes.extend(stake.iter().map(|s| s.to_bits()));
    let stakes = stakes.as_slice();
    let offsets = offsets.as_slice();
    for buffer in [&mut *items, &mut *spare] {
        buffer.resize(height, (0, 0));
    }
    // The tile's strips, each one row of `STRIP` scores per voter (column `c` of a strip is
    // lane `c` of each row): as many as the columns need, up to `TILE`, within
    // `TILE_BYTES`.
    let strip_bytes = height.saturating_mul(core::mem::size_of::<[i64; STRIP]>()).max(1);
    let fit = TILE_BYTES.checked_div(strip_bytes).unwrap_or(1);
    let strips = consensus.len().div_ceil(STRIP).min(TILE).min(fit).max(1);
    tile.resize(strips.saturating_mul(height), [0; STRIP]);
    bits.resize(strips, ([0; STRIP], [0; STRIP]));
    let (minority, total) = (minority.to_bits(), total.to_bits());
    // The voters' stakes and each full tile's scores in 32 bits too, when the stakes' total
    // is below one (each stake then is, and every sum of them): the first round then runs
    // on both strips of a tile at once ([`fast::bisect_narrow`]).
    let narrow_stakes = (total >= 0 && total >> 32 == 0 && strips == TILE).then(|| {
        stakes32.clear();
        stakes32.extend(stakes.iter().map(|s| *s as u32));
        stakes32.as_slice()
    });
    let rows = if narrow_stakes.is_some() { height } else { 0 };
    narrow.resize(rows, [0; fast::NARROW]);
    let tile_columns = strips.wrapping_mul(STRIP);
    for (t, out) in consensus.chunks_mut(tile_columns).enumerate() {
        let base = t.wrapping_mul(tile_columns);
        // A tile that can take the narrow path (its scores known only once copied) is copied
        // narrow only; the `i64` strips are copied after all if a score is one or more.
        let narrow_path = narrow_stakes.is_some()
            && out.len() == fast::NARROW
            && minority >= 0
            && minority < total
            && height > fast::FEW;
        copy_tile(weights, base, offsets, (out.len(), !narrow_path), (tile, narrow), bits);
        if narrow_path {
            let any: [u64; fast::NARROW] = core::array::from_fn(|k| column_bits(bits, k).0);
            let differ: [u64; fast::NARROW] = core::array::from_fn(|k| column_bits(bits, k).1);
            let first = fast::narrow_first(narrow, narrow_stakes, (&any, &differ), minority);
            if let Some(first) = first {
                // Every score of the tile below one: both strips' columns selected on the
                // narrow rows, sixteen lanes at once.
                let mut medians = [0i64; fast::NARROW];
                let scratch = ((items.as_mut_slice(), spare.as_mut_slice()), &mut **buckets);
                let round = (minority, first);
                fast::radix_pair(narrow, stakes, &differ, scratch, round, &mut medians);
                for (c, median) in out.iter_mut().zip(medians) {
                    *c = I32F32::from_bits(median);
                }
                continue;
            }
            // A score of one or more: the tile's `i64` strips after all.
            copy_tile(weights, base, offsets, (out.len(), true), (tile, narrow), bits);
        }
        let tile_strips = tile.chunks_exact(height.max(1));
        for (h, (out, strip)) in out.chunks_mut(STRIP).zip(tile_strips).enumerate() {
            if minority < 0 || minority >= total {
                for (lane, c) in out.iter_mut().enumerate() {
                    for (item, (row, s)) in items.iter_mut().zip(strip.iter().zip(stakes)) {
                        *item = (row.get(lane).copied().unwrap_or_default(), *s);
                    }
                    let median = fast::weighted_median(items, spare, minority, total);
                    *c = I32F32::from_bits(median);
                }
                continue;
            }
            // The bits at which each column's scores differ (their keys differ at the
            // same): from the OR and the AND of the scores, gathered with the copy.
            let differ: [u64; STRIP] = core::array::from_fn(|l| {
                column_bits(bits, h.wrapping_mul(STRIP).wrapping_add(l)).1
            });
            let mut medians = [0i64; STRIP];
            let lanes = medians.get_mut(..out.len()).unwrap_or_default();
            let scratch = (items.as_mut_slice(), spare.as_mut_slice());
            fast::radix_strip(strip, stakes, &differ, scratch, buckets, minority, lanes);
            for (c, median) in out.iter_mut().zip(medians) {
                *c = I32F32::from_bits(median);
            }
        }
    }
    // Kept only if small (fails only while the thread exits: the scratch is then dropped).
    if scratch.bytes() <= KEPT_SCRATCH_BYTES {
        let _ = KEPT_CONSENSUS.try_with(|cell| cell.set(Some(scratch)));
    }
}

/// At most this many strips are copied out of the block in one pass over the voters' rows
/// (16 columns: a row's piece is two cache lines read in order, where a strip at a time
/// read one line per row and pass, a miss each on a block larger than the cache: measured
/// at n = 4,096, the copy took 14% of the epoch). Two, not more: at n = 256 a tile of two
/// strips (8 KiB) stays in the L1 cache with the radix scratch while its columns are
/// selected; eight strips (32 KiB, the whole L1) took 5% longer per epoch there, four 2%,
/// and n = 4,096 was no faster with eight (the fastest of a dozen 1,000-epoch runs of each
/// build, run alternately). A full tile is also the pair of strips
/// [`fast::bisect_narrow`] takes ([`fast::NARROW`] columns).
const TILE: usize = 2;
const _: () = assert!(fast::STRIP * TILE == fast::NARROW, "a full tile is a narrow pair");

/// ... and the tile's strips take at most this many bytes (they stay in the L2 cache).
const TILE_BYTES: usize = 1 << 20;

/// The OR and the AND of a strip's columns' scores, as `u64`s.
type Bits = ([u64; fast::STRIP], [u64; fast::STRIP]);

/// Column `k` of a tile (from its strips' [`Bits`]): the OR of its scores, and the bits at
/// which they differ.
fn column_bits(bits: &[Bits], k: usize) -> (u64, u64) {
    bits.get(k / fast::STRIP).map_or((0, 0), |(any, all)| {
        let (any, all) = (any.get(k % fast::STRIP), all.get(k % fast::STRIP));
        let any = any.copied().unwrap_or(0);
        (any, any ^ all.copied().unwrap_or(0))
    })
}

/// [`consensus_columns`]' scratch, kept by each thread for its next epoch: the radix
/// buckets, the voters' row offsets and stakes (also in 32 bits), the selection's items,
/// and the tile with its bits (also in 32 bits). (Allocated and zeroed at every epoch
/// instead, the n = 256 epoch's consensus took 11.1–11.3 µs against 10.0–10.7 µs, timed
/// alternately.)
#[derive(Default)]
struct ConsensusScratch {
    buckets: Option<Box<fast::Buckets>>,
    offsets: Vec<usize>,
    stakes: Vec<i64>,
    items: Vec<fast::Item>,
    spare: Vec<fast::Item>,
    tile: Vec<[i64; fast::STRIP]>,
    bits: Vec<Bits>,
    narrow: Vec<[u32; fast::NARROW]>,
    stakes32: Vec<u32>,
}

impl ConsensusScratch {
    /// The bytes it holds (its vectors' capacities, and the buckets with their masks).
    fn bytes(&self) -> usize {
        fn of<T>(v: &Vec<T>) -> usize {
            v.capacity().saturating_mul(core::mem::size_of::<T>())
        }
        [
            of(&self.offsets),
            of(&self.stakes),
            of(&self.items),
            of(&self.spare),
            of(&self.tile),
            of(&self.bits),
            of(&self.narrow),
            of(&self.stakes32),
            self.buckets.as_ref().map_or(0, |b| b.bytes()),
        ]
        .iter()
        .fold(0usize, |sum, b| sum.saturating_add(*b))
    }
}

/// A thread keeps its consensus scratch for the next epoch only up to this many bytes
/// (n = 4,096 with 256 voters uses ~60 KiB); the scratch of a block with more voters (a
/// larger tile and more items, up to a few MiB) is freed after its epoch.
const KEPT_SCRATCH_BYTES: usize = 1 << 20;

thread_local! {
    static KEPT_CONSENSUS: core::cell::Cell<Option<ConsensusScratch>> =
        const { core::cell::Cell::new(None) };
}

/// Copies the block's columns `base + first..base + first + columns` (at most
/// `bits.len()` strips of [`fast::STRIP`]) of the voters' rows (at `offsets`: row start plus
/// `first`) into `tile`, strip after strip, a row per voter in each (`tile[k·height + r]`:
/// strip `k`, voter `r`; the lanes past `columns` are left as they are and never read), and
/// each strip's OR and AND per column into `bits`; a full tile into `tile` only when `wide`,
/// else into `narrow` only (32 bits, a row of sixteen lanes per voter: a tile whose scores
/// may all be below one is first copied narrow only, [`fast::radix_pair`]; a wide copy's
/// callers do not read `narrow`). (Not inlined: in the consensus loop the compiler kept the
/// OR and AND in memory.)
#[inline(never)]
fn copy_tile(
    weights: &[I32F32],
    base: usize,
    offsets: &[usize],
    (columns, wide): (usize, bool),
    (tile, narrow): (&mut [[i64; fast::STRIP]], &mut [[u32; fast::NARROW]]),
    bits: &mut [Bits],
) {
    const STRIP: usize = fast::STRIP;
    const COLUMNS: usize = STRIP * TILE;
    let height = offsets.len();
    if columns == COLUMNS && bits.len() == TILE {
        // A full tile (the usual one): fixed-length loops, the OR and AND in registers.
        let (mut any, mut all) = ([0u64; COLUMNS], [u64::MAX; COLUMNS]);
        let fold =
            |cells: &[I32F32; COLUMNS], any: &mut [u64; COLUMNS], all: &mut [u64; COLUMNS]| {
                for ((w, a), l) in cells.iter().zip(any).zip(all) {
                    *a |= w.to_bits() as u64;
                    *l &= w.to_bits() as u64;
                }
            };
        let cells_at = |offset: &usize| {
            weights.get(offset.wrapping_add(base)..).and_then(|row| row.first_chunk::<COLUMNS>())
        };
        if wide {
            for (r, offset) in offsets.iter().enumerate() {
                let Some(cells) = cells_at(offset) else { continue };
                fold(cells, &mut any, &mut all);
                for (k, cells) in cells.chunks_exact(STRIP).enumerate() {
                    let slot = tile.get_mut(k.wrapping_mul(height).wrapping_add(r));
                    if let (Some(slot), Some(cells)) = (slot, cells.first_chunk::<STRIP>()) {
                        *slot = cells.map(I32F32::to_bits);
                    }
                }
            }
        } else {
            // Narrow only: a loop of its own, without the wide copy's per-row tests.
            for (offset, slot) in offsets.iter().zip(narrow.iter_mut()) {
                let Some(cells) = cells_at(offset) else { continue };
                fold(cells, &mut any, &mut all);
                // (Truncated: read only when every score of the tile is below one.)
                *slot = core::array::from_fn(|c| cells.get(c).map_or(0, |w| w.to_bits() as u32));
            }
        }
        let strips = any.chunks_exact(STRIP).zip(all.chunks_exact(STRIP));
        for ((any, all), (to_any, to_all)) in strips.zip(bits.iter_mut()) {
            to_any.copy_from_slice(any);
            to_all.copy_from_slice(all);
        }
        return;
    }
    for (any, all) in bits.iter_mut() {
        (*any, *all) = ([0; STRIP], [u64::MAX; STRIP]);
    }
    for (r, offset) in offsets.iter().enumerate() {
        let start = offset.wrapping_add(base);
        let cells = weights.get(start..start.wrapping_add(columns)).unwrap_or_default();
        for (k, (cells, (any, all))) in cells.chunks(STRIP).zip(bits.iter_mut()).enumerate() {
            let Some(slot) = tile.get_mut(k.wrapping_mul(height).wrapping_add(r)) else {
                continue;
            };
            let lanes = any.iter_mut().zip(all.iter_mut());
            for ((s, w), (a, l)) in slot.iter_mut().zip(cells).zip(lanes) {
                *s = w.to_bits();
                *a |= *s as u64;
                *l &= *s as u64;
            }
        }
    }
}

/// Column sums a row band of the clip-and-bond pass produces.
#[derive(Default)]
struct Sums {
    /// Σ stake · clipped weight (rank).
    clipped_rank: Vec<I32F32>,
    /// Σ stake · weight (the trust's denominator).
    raw_rank: Vec<I32F32>,
    /// Yuma3: Σ new bond. Classic: Σ stake-scaled weight for bonds.
    first: Vec<I32F32>,
    /// Classic: Σ old bond.
    second: Vec<I32F32>,
}

impl Sums {
    fn zeros(width: usize) -> Self {
        Self {
            clipped_rank: pool::filled(width, zero()),
            raw_rank: pool::filled(width, zero()),
            first: pool::filled(width, zero()),
            second: pool::filled(width, zero()),
        }
    }

    /// Hands its vectors back to the [`pool`].
    fn recycle(self) {
        for sums in [self.clipped_rank, self.raw_rank, self.first, self.second] {
            pool::give(sums);
        }
    }

    fn merge(self, other: &Self) -> Self {
        Self {
            clipped_rank: merge(self.clipped_rank, &other.clipped_rank),
            raw_rank: merge(self.raw_rank, &other.raw_rank),
            first: merge(self.first, &other.first),
            second: merge(self.second, &other.second),
        }
    }
}

/// What the clip-and-bond pass reads, the same for every row.
struct Columns<'a> {
    consensus: &'a [I32F32],
    penalty: Penalty,
    model: BondModel,
    curve: Option<math::AlphaCurve>,
    alpha: I32F32,
}

/// [`fixed_rate_band`]'s part of a [`Band`] (no presence).
type FixedRateBand<'a> =
    (&'a mut [I32F32], (&'a [u16], &'a [RowHint]), &'a [I32F32], &'a mut [I32F32]);

/// A row band of the clip-and-bond pass: weights, presence, stored bonds with the rows'
/// hints, each row's active stake and validator trust.
type Band<'a> =
    (&'a mut [I32F32], &'a mut [bool], (&'a [u16], &'a [RowHint]), &'a [I32F32], &'a mut [I32F32]);

/// [`clip_and_bond`] for a band whose active stakes are all in [0, 1], on raw bits, with the
/// bounds proven instead of checked:
/// * every weight is in [0, 1] (a kept cell is at most its row's sum, absent cells are 0),
///   every consensus too (a voter's weight, or 0), so is a clipped weight (at most the
///   weight) and a weight for bonds (between the clipped and the raw weight: `w + β(w̄ − w)`
///   with `β ∈ [0, 1]` floors to no less than `w̄`), a stored bond (`b / 65535`) and the
///   EMA rates (`α`, `1 − α` with `bonds_moving_average ≤ 10⁶` validated; liquid rates in
///   `[low, high] ⊂ [0, 1]`), so is the row's stake: every product is `mul_unit`'s;
/// * each sum adds at most 65,535 terms in [0, 1] (2⁴⁸ at most): plain adds cannot overflow,
///   so they equal the saturating ones; a new bond is at most `α + (1 − α) = 1` (classic:
///   the old bonds' sum adds integers up to 65,535 and keeps saturating).
fn unit_band(
    columns: &Columns<'_>,
    (weights, present, (bonds, hints), stake, trust): Band<'_>,
    sums: &mut Sums,
    (rates, scratch): (&mut [I32F32], &mut [I32F32]),
) {
    if columns.model == BondModel::Yuma3 && columns.curve.is_none() {
        let band = (weights, (bonds, hints), stake, trust);
        match columns.penalty {
            Penalty::Raw => fixed_rate_band(columns, band, sums, |w, _| w),
            Penalty::Clipped => fixed_rate_band(columns, band, sums, |_, clipped| clipped),
            Penalty::Mix(ratio) => fixed_rate_band(columns, band, sums, |w, clipped| {
                let (w, clipped) = (I32F32::from_bits(w), I32F32::from_bits(clipped));
                w.saturating_add(fast::mul(ratio, clipped.saturating_sub(w))).to_bits()
            }),
        }
        return;
    }
    let band = (weights, present, (bonds, hints), stake, trust);
    // The weights for bonds of a cell's `(value, present)`, raw and clipped (`Mix`: the
    // reference's saturating expression).
    let mix = |w: (i64, bool), c: (i64, bool)| {
        let clipped = (I32F32::from_bits(c.0), c.1);
        let (value, present) = columns.penalty.apply(I32F32::from_bits(w.0), w.1, clipped);
        (value.to_bits(), present)
    };
    if let (BondModel::Yuma3, Some(curve)) = (columns.model, &columns.curve) {
        let scratch = (rates, scratch);
        match columns.penalty {
            Penalty::Raw => liquid_band(columns, curve, band, sums, scratch, |w, _| w),
            Penalty::Clipped => liquid_band(columns, curve, band, sums, scratch, |_, c| c),
            Penalty::Mix(_) => liquid_band(columns, curve, band, sums, scratch, mix),
        }
        return;
    }
    match columns.penalty {
        Penalty::Raw => classic_band(columns, band, sums, |w, _| w),
        Penalty::Clipped => classic_band(columns, band, sums, |_, c| c),
        Penalty::Mix(_) => classic_band(columns, band, sums, mix),
    }
}

/// Whether every weight of a row in [0, 1] is below one (the usual row: a weight is one
/// only when it is its row's only positive one): their OR is below one iff each is. Then so
/// is each clipped weight (`min(w, c)`) and weight for bonds (in `[w̄, w]`, see
/// [`unit_band`]), and their products by a factor below one are
/// [`fast::UnitFactor::times_both_below_one`]'s.
fn below_one(weight_row: &[I32F32]) -> bool {
    weight_row.iter().fold(0u64, |any, w| any | w.to_bits() as u64) < fast::ONE as u64
}

/// [`unit_band`] for the classic model, one loop per penalty (`weights_for_bonds` as in
/// [`liquid_band`]): per row, the clip, validator trust and rank sums, then each weight
/// for bonds scaled by the row's stake, with the column sums of those and of the old bonds
/// (integers up to 65535: that sum keeps saturating).
fn classic_band(
    columns: &Columns<'_>,
    (weights, present, (bonds, _), stake, trust): Band<'_>,
    sums: &mut Sums,
    weights_for_bonds: impl Fn((i64, bool), (i64, bool)) -> (i64, bool),
) {
    let stride = columns.consensus.len().max(1);
    // The old bonds' column sums as integers: at most 65,535 rows of at most 65,535, below
    // 2³², added to the saturating sums at the end.
    let mut bond_sums = vec![0u64; columns.consensus.len()];
    let rows = weights
        .chunks_exact_mut(stride)
        .zip(present.chunks_exact(stride))
        .zip(bonds.chunks_exact(stride));
    for (((weight_row, present_row), bond_row), (s, vt)) in
        rows.zip(stake.iter().zip(trust.iter_mut()))
    {
        let s = fast::UnitFactor::new(s.to_bits());
        let row = (weight_row, present_row, columns.consensus);
        *vt = if s.is_below_one() && below_one(row.0) {
            classic_row(row, s, sums, &weights_for_bonds, |f, x| f.times_both_below_one(x))
        } else if s.is_below_one() {
            classic_row(row, s, sums, &weights_for_bonds, |f, x| f.times_below_one(x))
        } else {
            classic_row(row, s, sums, &weights_for_bonds, |f, x| f.times(x))
        };
        for (b, bs) in bond_row.iter().zip(bond_sums.iter_mut()) {
            *bs = bs.wrapping_add(u64::from(*b));
        }
    }
    for (sum, integer) in sums.second.iter_mut().zip(bond_sums) {
        *sum = sum.saturating_add(fast::u16_sum(integer));
    }
}

/// One row of [`classic_band`] (`times`: the row stake's products); returns its validator
/// trust.
#[inline(always)]
fn classic_row(
    (weight_row, present_row, consensus): (&mut [I32F32], &[bool], &[I32F32]),
    s: fast::UnitFactor,
    sums: &mut Sums,
    weights_for_bonds: impl Fn((i64, bool), (i64, bool)) -> (i64, bool),
    times: impl Fn(fast::UnitFactor, i64) -> i64,
) -> I32F32 {
    let mut row_trust = 0i64;
    let column_sums = sums.clipped_rank.iter_mut().zip(sums.raw_rank.iter_mut());
    let cells = weight_row.iter_mut().zip(present_row);
    for ((w, p), (c, ((cr, rr), sum))) in
        cells.zip(consensus.iter().zip(column_sums.zip(sums.first.iter_mut())))
    {
        let (clipped, clipped_present) = clip(*w, *p, *c);
        let (raw, clipped) = (w.to_bits(), clipped.to_bits());
        row_trust = row_trust.wrapping_add(clipped);
        *cr = I32F32::from_bits(cr.to_bits().wrapping_add(times(s, clipped)));
        *rr = I32F32::from_bits(rr.to_bits().wrapping_add(times(s, raw)));
        let (wb, _) = weights_for_bonds((raw, *p), (clipped, clipped_present));
        let delta = times(s, wb);
        *w = I32F32::from_bits(delta);
        *sum = I32F32::from_bits(sum.to_bits().wrapping_add(delta));
    }
    I32F32::from_bits(row_trust)
}

/// [`unit_band`] for Yuma3 with liquid alpha, one loop per penalty (`weights_for_bonds` of
/// the raw and the clipped cell, each `(value, present)`): per row, the clip, validator trust
/// and rank sums (the row's stake a [`fast::UnitFactor`]), the weights for bonds with their
/// presence; the row's rates ([`math::AlphaCurve::alpha_row`]); then `math::ema_per_cell`:
/// only cells with a weight for bonds, absent ones drop.
fn liquid_band(
    columns: &Columns<'_>,
    curve: &math::AlphaCurve,
    (weights, present, (bonds, _), stake, trust): Band<'_>,
    sums: &mut Sums,
    (rates, scratch): (&mut [I32F32], &mut [I32F32]),
    weights_for_bonds: impl Fn((i64, bool), (i64, bool)) -> (i64, bool),
) {
    let stride = columns.consensus.len().max(1);
    let rows = weights
        .chunks_exact_mut(stride)
        .zip(present.chunks_exact_mut(stride))
        .zip(bonds.chunks_exact(stride));
    for (((weight_row, present_row), bond_row), (s, vt)) in
        rows.zip(stake.iter().zip(trust.iter_mut()))
    {
        let s = fast::UnitFactor::new(s.to_bits());
        let row = (&mut *weight_row, &mut *present_row, columns.consensus);
        // A row stake below one (the usual row): products without the masked term.
        let row_trust = if s.is_below_one() && below_one(row.0) {
            liquid_clip_row(row, s, sums, &weights_for_bonds, |f, x| f.times_both_below_one(x))
        } else if s.is_below_one() {
            liquid_clip_row(row, s, sums, &weights_for_bonds, |f, x| f.times_below_one(x))
        } else {
            liquid_clip_row(row, s, sums, &weights_for_bonds, |f, x| f.times(x))
        };
        *vt = row_trust;
        // (The row's cells, the consensus and the bonds are in [0, 1]; the rates' range is
        // the curve's.)
        if curve.is_unit() {
            curve.alpha_row_unit(columns.consensus, weight_row, bond_row, rates, scratch);
        } else {
            curve.alpha_row(columns.consensus, weight_row, bond_row, rates, scratch);
        }
        let row = weight_row.iter_mut().zip(present_row.iter()).zip(bond_row).zip(rates.iter());
        for ((((w, p), b), a), sum) in row.zip(sums.first.iter_mut()) {
            let (a, bond) = (a.to_bits(), fast::u16_proportion_bits(*b));
            // The rate, the weight for bonds and the bond are in [0, 1]: two `mul_unit`
            // products whose sum is at most `(1 − a)·bond + a·w ≤ 1` (each floors), so the
            // reference's `min(1)` is the identity; the sum is non-negative, so a present
            // cell keeps it (0 stays 0) and an absent one drops.
            let decayed = fast::mul_unit_halves(fast::ONE.wrapping_sub(a), bond);
            let v = decayed.wrapping_add(fast::mul_unit_halves(a, w.to_bits()));
            let v = v & i64::from(*p).wrapping_neg();
            *w = I32F32::from_bits(v);
            *sum = I32F32::from_bits(sum.to_bits().wrapping_add(v));
        }
    }
}

/// [`clip`] on the unit interval, on raw bits: a consensus is a voter's weight or 0, in
/// [0, 1], and an absent cell is 0, so the clipped value is `min(w, c)` (the sign of
/// `w − c`, no overflow), and a present cell is removed iff it is above a zero consensus.
/// (For `x` in [0, 2³²], `x − 1` is negative iff `x` is 0: its sign bit tells; no 64-bit
/// comparison, which the vectorized loop would emulate.)
#[inline(always)]
fn unit_clip(w: i64, present: bool, c: i64) -> (i64, bool) {
    let excess = w.wrapping_sub(c);
    let clipped = c.wrapping_add(excess & (excess >> 63));
    let zero_consensus = (c.wrapping_sub(1) as u64) >> 63;
    let zero_weight = (w.wrapping_sub(1) as u64) >> 63;
    let removed = (zero_consensus & !zero_weight & 1) as u8;
    (clipped, (u8::from(present) & !removed) != 0)
}

/// The clip half of one [`liquid_band`] row (`times`: the row stake's products): clipped
/// weights, rank sums and the weights for bonds with their presence; returns the row's
/// validator trust.
#[inline(always)]
fn liquid_clip_row(
    (weight_row, present_row, consensus): (&mut [I32F32], &mut [bool], &[I32F32]),
    s: fast::UnitFactor,
    sums: &mut Sums,
    weights_for_bonds: impl Fn((i64, bool), (i64, bool)) -> (i64, bool),
    times: impl Fn(fast::UnitFactor, i64) -> i64,
) -> I32F32 {
    let mut row_trust = 0i64;
    let column_sums = sums.clipped_rank.iter_mut().zip(sums.raw_rank.iter_mut());
    let cells = weight_row.iter_mut().zip(present_row.iter_mut());
    for ((w, p), (c, (cr, rr))) in cells.zip(consensus.iter().zip(column_sums)) {
        let raw = w.to_bits();
        let (clipped, clipped_present) = unit_clip(raw, *p, c.to_bits());
        row_trust = row_trust.wrapping_add(clipped);
        *cr = I32F32::from_bits(cr.to_bits().wrapping_add(times(s, clipped)));
        *rr = I32F32::from_bits(rr.to_bits().wrapping_add(times(s, raw)));
        let (wb, wb_present) = weights_for_bonds((raw, *p), (clipped, clipped_present));
        (*w, *p) = (I32F32::from_bits(wb), wb_present);
    }
    I32F32::from_bits(row_trust)
}

/// [`unit_band`] for Yuma3 at a fixed rate (the usual subnet), one loop per penalty
/// (`weights_for_bonds(w, w̄)`): the same cells as the general loop without its per-cell
/// choices. A consensus is a voter's weight or 0, in [0, 1], so the clip `(w̄, present)` of
/// a cell is `min(w, c)` whether it is present or not (an absent cell is 0, never above),
/// and the fused EMA (over the union) needs no presence.
fn fixed_rate_band(
    columns: &Columns<'_>,
    (weights, (bonds, hints), stake, trust): FixedRateBand<'_>,
    sums: &mut Sums,
    weights_for_bonds: impl Fn(i64, i64) -> i64,
) {
    let stride = columns.consensus.len().max(1);
    let alpha = columns.alpha.to_bits();
    let (alpha, keep_rate) =
        (fast::UnitFactor::new(alpha), fast::UnitFactor::new(fast::ONE.wrapping_sub(alpha)));
    // The decayed old bond `(1 − α) · b / 65535` straight from the u16, for `1 − α` in
    // (0, 1).
    let decay = fast::ProportionFactor::new(fast::ONE.wrapping_sub(columns.alpha.to_bits()));
    let rows = weights.chunks_exact_mut(stride).zip(bonds.chunks_exact(stride)).zip(hints);
    for (((weight_row, bond_row), hint), (s, vt)) in rows.zip(stake.iter().zip(trust.iter_mut())) {
        let s = fast::UnitFactor::new(s.to_bits());
        let factors = (s, alpha);
        // Every weight below one too (the usual row): every product has both factors below
        // one.
        let below_one = hint.weights_below_one || below_one(weight_row);
        // No old bond at 65535 (the usual row; a u16 compare per cell, eight to a vector):
        // its decay needs no term for the proportion one.
        let below_max =
            hint.bonds_below_max || bond_row.iter().fold(true, |below, b| below & (*b != u16::MAX));
        let row = (weight_row, bond_row, columns.consensus);
        // Every factor below one (the usual row): products without the masked term.
        let unit_row = s.is_below_one() && alpha.is_below_one() && below_one;
        *vt = match decay {
            Some(decay) if unit_row && below_max => fixed_rate_row(
                row,
                factors,
                sums,
                &weights_for_bonds,
                (|f, x| f.times_both_below_one(x), |b| decay.times_below_max(b)),
            ),
            Some(decay) if unit_row => fixed_rate_row(
                row,
                factors,
                sums,
                &weights_for_bonds,
                (|f, x| f.times_both_below_one(x), |b| decay.times(b)),
            ),
            Some(decay) if s.is_below_one() && alpha.is_below_one() => fixed_rate_row(
                row,
                factors,
                sums,
                &weights_for_bonds,
                (|f, x| f.times_below_one(x), |b| decay.times(b)),
            ),
            _ => fixed_rate_row(
                row,
                factors,
                sums,
                &weights_for_bonds,
                (|f, x| f.times(x), |b| keep_rate.times(fast::u16_proportion_bits(b))),
            ),
        };
    }
}

/// One row of [`fixed_rate_band`] (`times`: the factors' products, `decayed`: an old u16
/// bond's `(1 − α) · b / 65535`); returns its validator trust.
#[inline(always)]
fn fixed_rate_row(
    (weight_row, bond_row, consensus): (&mut [I32F32], &[u16], &[I32F32]),
    (s, alpha): (fast::UnitFactor, fast::UnitFactor),
    sums: &mut Sums,
    weights_for_bonds: impl Fn(i64, i64) -> i64,
    (times, decayed): (impl Fn(fast::UnitFactor, i64) -> i64, impl Fn(u16) -> i64),
) -> I32F32 {
    let mut row_trust = 0i64;
    let column_sums = sums.clipped_rank.iter_mut().zip(sums.raw_rank.iter_mut());
    let cells = weight_row.iter_mut().zip(bond_row);
    for ((w, b), (c, ((cr, rr), sum))) in
        cells.zip(consensus.iter().zip(column_sums.zip(sums.first.iter_mut())))
    {
        let raw = w.to_bits();
        // `min(w, c)` by the sign of `w − c` (both in [0, 2³²]: no overflow).
        let excess = raw.wrapping_sub(c.to_bits());
        let clipped = c.to_bits().wrapping_add(excess & (excess >> 63));
        row_trust = row_trust.wrapping_add(clipped);
        *cr = I32F32::from_bits(cr.to_bits().wrapping_add(times(s, clipped)));
        *rr = I32F32::from_bits(rr.to_bits().wrapping_add(times(s, raw)));
        let wb = weights_for_bonds(raw, clipped);
        // Two non-negative products: `max(0)` (the reference's) is the identity here.
        let v = times(alpha, wb).wrapping_add(decayed(*b));
        *w = I32F32::from_bits(v);
        *sum = I32F32::from_bits(sum.to_bits().wrapping_add(v));
    }
    I32F32::from_bits(row_trust)
}

/// Steps 12–15 and the first half of 16 for one row band, in one pass over each row:
/// clipped weights, validator trust, rank sums; the weights for bonds; then Yuma3's new
/// bonds (the EMA, replacing the weights in the row) or classic's stake-scaled weights for
/// bonds. Returns the band's column sums.
fn clip_and_bond(
    columns: &Columns<'_>,
    (weights, present, (bonds, hints), stake, trust): Band<'_>,
) -> Sums {
    let width = columns.consensus.len();
    let stride = width.max(1);
    if stake.is_empty() {
        // An empty band (on one thread, the second): no sums (`merge` takes the other's).
        return Sums::default();
    }
    let mut sums = Sums::zeros(width);
    let mut rates = vec![zero(); if columns.curve.is_some() { width } else { 0 }];
    let mut scratch = rates.clone();
    let keep_rate = one().saturating_sub(columns.alpha);
    if stake.iter().all(|s| fast::is_unit(*s)) {
        unit_band(
            columns,
            (weights, present, (bonds, hints), stake, trust),
            &mut sums,
            (&mut rates, &mut scratch),
        );
        return sums;
    }
    let rows = weights
        .chunks_exact_mut(stride)
        .zip(present.chunks_exact_mut(stride))
        .zip(bonds.chunks_exact(stride));
    for (((weight_row, present_row), bond_row), (s, vt)) in
        rows.zip(stake.iter().zip(trust.iter_mut()))
    {
        let s = *s;
        let mut row_trust = zero();
        let ranks = sums.clipped_rank.iter_mut().zip(sums.raw_rank.iter_mut());
        for ((w, p), (c, (cr, rr))) in weight_row
            .iter_mut()
            .zip(present_row.iter_mut())
            .zip(columns.consensus.iter().zip(ranks))
        {
            let clipped = clip(*w, *p, *c);
            row_trust = row_trust.saturating_add(clipped.0);
            *cr = cr.saturating_add(fast::mul(s, clipped.0));
            *rr = rr.saturating_add(fast::mul(s, *w));
            (*w, *p) = columns.penalty.apply(*w, *p, clipped);
        }
        *vt = row_trust;
        match (columns.model, &columns.curve) {
            // Yuma3, `math::ema_per_cell`: only cells with a weight for bonds; absent ones drop.
            (BondModel::Yuma3, Some(curve)) => {
                curve.alpha_row(columns.consensus, weight_row, bond_row, &mut rates, &mut scratch);
                let row = weight_row.iter_mut().zip(present_row.iter()).zip(bond_row).zip(&rates);
                for ((((w, p), b), a), sum) in row.zip(sums.first.iter_mut()) {
                    let bond = fast::u16_proportion(*b);
                    let decayed = fast::mul(one().saturating_sub(*a), bond);
                    let v = decayed.saturating_add(fast::mul(*a, *w).max(zero())).min(one());
                    *w = if *p && v > zero() { v } else { zero() };
                    *sum = sum.saturating_add(*w);
                }
            }
            // Yuma3, `math::ema`: over the union; an absent cell adds `rate · 0 = 0`.
            (BondModel::Yuma3, None) => {
                for ((w, b), sum) in weight_row.iter_mut().zip(bond_row).zip(sums.first.iter_mut())
                {
                    let v = zero()
                        .saturating_add(fast::mul(columns.alpha, *w))
                        .saturating_add(fast::mul(keep_rate, fast::u16_proportion(*b)));
                    *w = v.max(zero());
                    *sum = sum.saturating_add(*w);
                }
            }
            // Classic: the weights for bonds scaled by the row's active stake; the old bonds'
            // column sums.
            (BondModel::Classic, _) => {
                let column_sums = sums.first.iter_mut().zip(sums.second.iter_mut());
                for ((w, b), (ds, bs)) in weight_row.iter_mut().zip(bond_row).zip(column_sums) {
                    *w = fast::mul(*w, s);
                    *ds = ds.saturating_add(*w);
                    *bs = bs.saturating_add(fast::u16_integer(*b));
                }
            }
        }
    }
    sums
}

/// Steps 5–16 on the dense block, split in two parts per pass when `threads ≥ 2` (the
/// same bits for any count; the caller passes 2 for a block of at least [`PARALLEL_CELLS`]
/// cells, [`Shape::is_large`], or under `Kernel::Dense` whatever its size).
pub(crate) fn matrix(
    input: &YumaInput,
    shape: Shape,
    permit: &[bool],
    active_stake: &[I32F32],
    n: usize,
    threads: usize,
) -> Matrix {
    let params = &input.params;
    let width = shape.columns.len();
    let height = shape.rows.len();
    // Active stake per block row.
    let row_stake: Vec<I32F32> = pool::collect(
        height,
        shape.rows.iter().map(|&i| active_stake.get(i).copied().unwrap_or_default()),
    );
    // Row bands `..mid` and `mid..` (the second empty on one thread). With every active
    // stake in [0, 1] (normalized stake, unless the input's stakes are negative), every
    // column sum adds non-negative terms: any grouping of the rows gives the same saturating
    // sum. Otherwise the rows stay in one band, summed in row order as the reference does.
    let unit_stake = row_stake.iter().all(|s| fast::is_unit(*s));
    let mid = if threads >= 2 && unit_stake { height / 2 } else { height };
    let mut block = Block::new(input, permit, shape, mid, threads);
    let uids: Vec<Uid> = pool::collect(width, block.shape.columns.iter().map(|&j| Uid::new(j)));

    // 11. Consensus: the voters (positive active stake) and their renormalized stake.
    let voters: Vec<usize> = pool::collect(
        height,
        (0..height).filter(|&r| row_stake.get(r).is_some_and(|s| *s > zero())),
    );
    // (A `map`, not a `filter_map`: collected at its length, not grown by doubling.)
    let mut voter_stake: Vec<I32F32> = pool::collect(
        voters.len(),
        voters.iter().map(|&r| row_stake.get(r).copied().unwrap_or_default()),
    );
    fast::normalize(&mut voter_stake);
    let total = fast::sum(&voter_stake);
    let minority = total.saturating_sub(u16_proportion_to_fixed(params.kappa));
    let mut column_consensus = pool::filled(width, zero());
    {
        // Columns `..half` and `half..`.
        let half = if threads >= 2 { width / 2 } else { width };
        let (left, right) = column_consensus.split_at_mut(half);
        let weights = &block.weights;
        both(threads, (0, left), (half, right), |(first, out)| {
            consensus_columns(weights, width, first, out, &voters, &voter_stake, minority, total)
        });
    }

    // 12-16a, row by row.
    let penalty = match params.bonds_penalty {
        0 => Penalty::Raw,
        u16::MAX => Penalty::Clipped,
        raw => Penalty::Mix(u16_proportion_to_fixed(raw)),
    };
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
    let columns = Columns {
        consensus: &column_consensus,
        penalty,
        model: params.bond_model,
        curve,
        alpha: fixed_alpha(params.bonds_moving_average),
    };
    let mut row_trust = pool::filled(height, zero());
    let sums = {
        let (weights_a, weights_b) = split_rows(&mut block.weights, mid, width);
        let (present_a, present_b) = split_rows(&mut block.present, mid, width);
        let (bonds_a, bonds_b) = split_rows_ref(&block.bonds, mid, width);
        let (hints_a, hints_b) = split_rows_ref(&block.hints, mid, 1);
        let (stake_a, stake_b) = split_rows_ref(&row_stake, mid, 1);
        let (trust_a, trust_b) = split_rows(&mut row_trust, mid, 1);
        let (a, b) = both(
            threads,
            (weights_a, present_a, (bonds_a, hints_a), stake_a, trust_a),
            (weights_b, present_b, (bonds_b, hints_b), stake_b, trust_b),
            |band| clip_and_bond(&columns, band),
        );
        // (No rows at all: both parts empty, every sum 0.)
        if height == 0 {
            Sums::zeros(width)
        } else {
            a.merge(&b)
        }
    };

    // Per UID: consensus, rank, trust, validator trust; incentive.
    let mut consensus = pool::filled(n, zero());
    let mut rank = pool::filled(n, zero());
    let mut trust = pool::filled(n, zero());
    for (k, &j) in block.shape.columns.iter().enumerate() {
        let j = usize::from(j);
        if let (Some(cc), Some(rr), Some(tt), Some(c), Some(r), Some(u)) = (
            consensus.get_mut(j),
            rank.get_mut(j),
            trust.get_mut(j),
            column_consensus.get(k),
            sums.clipped_rank.get(k),
            sums.raw_rank.get(k),
        ) {
            *cc = *c;
            *rr = *r;
            *tt = fast::ratio(*r, *u);
        }
    }
    let mut validator_trust = pool::filled(n, zero());
    for (&i, vt) in block.shape.rows.iter().zip(&row_trust) {
        if let Some(cell) = validator_trust.get_mut(i) {
            *cell = *vt;
        }
    }
    let mut incentive = pool::collect(n, rank.iter().copied());
    fast::normalize(&mut incentive);
    let column_incentive: Vec<I32F32> = pool::collect(
        width,
        block
            .shape
            .columns
            .iter()
            .map(|&j| incentive.get(usize::from(j)).copied().unwrap_or_default()),
    );

    // 16b. Dividends and the bonds to store: Yuma3's new bonds are the block's cells, and so
    // are classic's upscaled ones when every kept cell is positive (handed over as they are,
    // [`Bonds::from_block`]); else classic's are listed rows.
    let mut row_dividends = pool::filled(height, zero());
    let out = Out { incentive: &column_incentive, uids: &uids, width, mid, threads };
    let stored = match params.bond_model {
        BondModel::Yuma3 => {
            yuma3_dividends(&block, &sums.first, &out, &mut row_dividends);
            for (d, s) in row_dividends.iter_mut().zip(&row_stake) {
                *d = d.checked_mul(*s).unwrap_or_default();
            }
            Stored::InBlock
        }
        BondModel::Classic => classic_dividends(
            unit_stake && column_incentive.iter().all(|i| fast::is_unit(*i)),
            &mut block,
            (&sums.first, &sums.second),
            columns.alpha,
            &out,
            &mut row_dividends,
        ),
    };
    let mut dividends = pool::filled(n, zero());
    for (&i, d) in block.shape.rows.iter().zip(&row_dividends) {
        if let Some(cell) = dividends.get_mut(i) {
            *cell = *d;
        }
    }
    fast::normalize(&mut dividends);
    let Block { shape, weights, present, bonds: stored_bonds, .. } = block;
    let (bonds, weights) = match stored {
        Stored::Rows(bond_rows) => {
            pool::give(uids);
            (Bonds::from_block_rows(n, &shape.rows, bond_rows), weights)
        }
        // The block itself: the output hands it back when dropped ([`recycle`]).
        Stored::InBlock => (Bonds::from_block(n, &shape.rows, uids, weights), Vec::new()),
    };
    Buffers { weights, present, bonds: stored_bonds }.keep();
    shape.recycle();
    sums.recycle();
    for vector in
        [row_stake, voter_stake, column_consensus, row_trust, column_incentive, row_dividends]
    {
        pool::give(vector);
    }
    pool::give(voters);

    Matrix { consensus, rank, trust, incentive, validator_trust, dividends, bonds }
}

/// Where the bonds to store are once the dividends are computed.
enum Stored {
    /// In the block's cells, a bond where positive (every cell to store is).
    InBlock,
    /// Listed, one row per block row.
    Rows(Vec<BondRow>),
}

/// What the dividend passes share: per column incentive and UID, the block's width, the
/// row bands and the thread count.
struct Out<'a> {
    incentive: &'a [I32F32],
    uids: &'a [Uid],
    width: usize,
    mid: usize,
    threads: usize,
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

/// §4.5's dividends, row by row: Σ_j (new bond / column sum) · incentive_j per row (before
/// the row's stake); the bonds to store are the new bonds' positive cells.
fn yuma3_dividends(
    block: &Block,
    bond_sums: &[I32F32],
    out: &Out<'_>,
    row_dividends: &mut [I32F32],
) {
    // Each column's new bonds sum to at most 65,535 terms in [0, 1]: below 2⁶² raw.
    let unit_divisors: Option<fast::UnitDivisors> =
        if out.incentive.iter().all(|i| fast::is_unit(*i)) {
            fast::UnitDivisors::of_sums(bond_sums)
        } else {
            None
        };
    let stride = out.width.max(1);
    let (weights_a, weights_b) = split_rows_ref(&block.weights, out.mid, out.width);
    let (dividends_a, dividends_b) = split_rows(row_dividends, out.mid, 1);
    both(
        out.threads,
        (weights_a, dividends_a),
        (weights_b, dividends_b),
        |(weights, dividends)| {
            if let Some(unit_divisors) = &unit_divisors {
                // Every incentive in [0, 1] (normalized rank, unless the input's stakes are
                // negative), on raw bits: each new bond is in [0, 1] and a non-negative term of
                // its column's sum ([`fast::UnitDivisor`]'s range; a column summing to 0 holds
                // only zeros, which any divisor leaves 0), so each share is in [0, 1] and a
                // row's dividend adds at most `width` terms in [0, 1]: plain adds cannot
                // overflow ([`fast::UnitDivisors::dot`]).
                // Four rows at a time ([`fast::UnitDivisors::dot4`]), the rest one by one.
                let quads = weights.chunks_exact(stride.saturating_mul(4));
                let rest = quads.remainder();
                let mut quad_dividends = dividends.chunks_exact_mut(4);
                for (quad, d) in quads.zip(&mut quad_dividends) {
                    let mut rows = quad.chunks_exact(stride);
                    let mut row = || rows.next().unwrap_or_default();
                    let sums = unit_divisors.dot4([row(), row(), row(), row()], out.incentive);
                    for (d, sum) in d.iter_mut().zip(sums) {
                        *d = I32F32::from_bits(sum);
                    }
                }
                let rows = rest.chunks_exact(stride).zip(quad_dividends.into_remainder());
                for (weight_row, d) in rows {
                    *d = I32F32::from_bits(unit_divisors.dot(weight_row, out.incentive));
                }
                return;
            }
            // (Only here: a `Divisor` per column costs a 128-bit division.)
            let divisors = column_divisors(bond_sums);
            for (weight_row, d) in weights.chunks_exact(stride).zip(dividends.iter_mut()) {
                let mut dividend = zero();
                let columns = divisors.iter().zip(out.incentive);
                for (v, (divisor, inc)) in weight_row.iter().zip(columns) {
                    dividend = dividend.saturating_add(fast::mul(normalized(*v, divisor), *inc));
                }
                *d = dividend;
            }
        },
    );
    if let Some(unit_divisors) = unit_divisors {
        unit_divisors.recycle();
    }
}

/// §4.6, row by row, from the stake-scaled weights for bonds in the block and the column
/// sums `(delta, old bonds)`: the EMA of the column-normalized delta and old bonds, kept
/// where positive, column-normalized; dividends from it; the bonds to store upscaled to
/// each column's maximum.
#[allow(clippy::too_many_arguments)]
fn classic_dividends(
    unit: bool,
    block: &mut Block,
    (delta_sum, bond_sum): (&[I32F32], &[I32F32]),
    alpha: I32F32,
    out: &Out<'_>,
    row_dividends: &mut [I32F32],
) -> Stored {
    if unit {
        return unit_classic_dividends(block, (delta_sum, bond_sum), alpha, out, row_dividends);
    }
    let (width, mid, threads) = (out.width, out.mid, out.threads);
    let stride = width.max(1);
    let keep_rate = one().saturating_sub(alpha);
    let delta_divisors = column_divisors(delta_sum);
    let bond_divisors = column_divisors(bond_sum);
    // The EMA (`present` now marks the kept cells) and its column sums.
    let ema_sum = {
        let (weights_a, weights_b) = split_rows(&mut block.weights, mid, width);
        let (present_a, present_b) = split_rows(&mut block.present, mid, width);
        let (bonds_a, bonds_b) = split_rows_ref(&block.bonds, mid, width);
        let (a, b) = both(
            threads,
            (weights_a, present_a, bonds_a),
            (weights_b, present_b, bonds_b),
            |(weights, present, bonds)| {
                let mut sums = vec![zero(); width];
                let rows = weights
                    .chunks_exact_mut(stride)
                    .zip(present.chunks_exact_mut(stride))
                    .zip(bonds.chunks_exact(stride));
                for ((delta_row, keep_row), bond_row) in rows {
                    let columns = delta_divisors.iter().zip(&bond_divisors).zip(sums.iter_mut());
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
                sums
            },
        );
        merge(a, &b)
    };
    // Column-normalized; the dividends read it; the column maxima for the upscale (absent
    // cells are 0: they add nothing and never raise a maximum).
    let ema_divisors = column_divisors(&ema_sum);
    let max = {
        let (weights_a, weights_b) = split_rows(&mut block.weights, mid, width);
        let (dividends_a, dividends_b) = split_rows(row_dividends, mid, 1);
        let (a, b) = both(
            threads,
            (weights_a, dividends_a),
            (weights_b, dividends_b),
            |(weights, dividends)| {
                let mut max = vec![zero(); width];
                for (row, d) in weights.chunks_exact_mut(stride).zip(dividends.iter_mut()) {
                    let mut dividend = zero();
                    let columns = ema_divisors.iter().zip(out.incentive.iter().zip(max.iter_mut()));
                    for (v, (divisor, (inc, m))) in row.iter_mut().zip(columns) {
                        *v = normalized(*v, divisor);
                        dividend = dividend.saturating_add(fast::mul(*inc, *v));
                        *m = (*m).max(*v);
                    }
                    *d = dividend;
                }
                max
            },
        );
        // Column maxima of non-negative values: any order.
        a.iter().zip(&b).map(|(x, y)| (*x).max(*y)).collect::<Vec<_>>()
    };
    // The stored bonds: every kept cell, upscaled to its column's maximum.
    let max_divisors = column_divisors(&max);
    let mut bond_rows: Vec<BondRow> = vec![Vec::new(); block.shape.rows.len()];
    let (weights_a, weights_b) = split_rows_ref(&block.weights, mid, width);
    let (present_a, present_b) = split_rows_ref(&block.present, mid, width);
    let (rows_a, rows_b) = split_rows(&mut bond_rows, mid, 1);
    both(
        threads,
        (weights_a, present_a, rows_a),
        (weights_b, present_b, rows_b),
        |(weights, present, rows)| {
            let cells = weights.chunks_exact(stride).zip(present.chunks_exact(stride));
            for ((row, keep_row), out_row) in cells.zip(rows.iter_mut()) {
                let mut kept = Vec::with_capacity(width);
                let columns = max_divisors.iter().zip(out.uids);
                for ((v, keep), (divisor, uid)) in row.iter().zip(keep_row).zip(columns) {
                    if *keep {
                        kept.push((*uid, normalized(*v, divisor)));
                    }
                }
                *out_row = kept;
            }
        },
    );
    Stored::Rows(bond_rows)
}

/// The classic EMA's old bond `b` (a u16 integer) divided by its column's sum.
trait OldBond: Sync {
    fn normalized(&self, b: u16) -> i64;
}

impl OldBond for Divisor {
    /// `divide_unit` (`b` is a term of the sum).
    #[inline]
    fn normalized(&self, b: u16) -> i64 {
        self.divide_unit(fast::u16_integer(b).to_bits())
    }
}

impl OldBond for fast::RowDivisor {
    /// `u16_integer(b).safe_div(u16_integer(t))` for the integer column sum `t`.
    #[inline]
    fn normalized(&self, b: u16) -> i64 {
        self.divide(b)
    }
}

/// A [`fast::RowDivisor`] for a column sum of u16 integers (`t · 2³²`, `t` below 2³¹; a
/// zero sum holds only zeros, which dividing by 1 leaves 0); `None` for a saturated sum.
fn integer_sum_divisor(sum: I32F32) -> Option<fast::RowDivisor> {
    let bits = u64::try_from(sum.to_bits()).ok()?;
    if bits & u64::from(u32::MAX) != 0 {
        return None;
    }
    fast::RowDivisor::new((bits >> 32).max(1))
}

/// One band of [`unit_classic_dividends`]' EMA: each cell's new bond
/// `α · delta / Σ delta + (1 − α) · b / Σ b` (kept where positive) and its column sums.
fn classic_ema_band<D: OldBond, S: ShareColumns + ?Sized>(
    (weights, present, bonds): (&mut [I32F32], &mut [bool], &[u16]),
    stride: usize,
    (alpha, keep_rate): (fast::UnitFactor, fast::UnitFactor),
    delta_divisors: &S,
    bond_divisors: &[D],
) -> Vec<I32F32> {
    let mut sums = vec![zero(); bond_divisors.len()];
    let rows = weights
        .chunks_exact_mut(stride)
        .zip(present.chunks_exact_mut(stride))
        .zip(bonds.chunks_exact(stride));
    for ((delta_row, keep_row), bond_row) in rows {
        let columns = delta_divisors.columns().zip(bond_divisors).zip(sums.iter_mut());
        for (((delta, keep), b), ((dd, bd), sum)) in
            delta_row.iter_mut().zip(keep_row.iter_mut()).zip(bond_row).zip(columns)
        {
            let old = bd.normalized(*b);
            let v = alpha.times(dd.share(delta.to_bits())).wrapping_add(keep_rate.times(old));
            *keep = v > 0;
            *delta = I32F32::from_bits(v);
            *sum = I32F32::from_bits(sum.to_bits().wrapping_add(v));
        }
    }
    sums
}

/// Divisors for `divide_unit` by each column's sum or maximum (a column whose sum is 0 holds
/// only zeros, which any divisor leaves 0).
fn unit_divisors(sums: &[I32F32]) -> Vec<Divisor> {
    sums.iter().map(|s| Divisor::new(if *s > zero() { *s } else { one() })).collect()
}

/// [`unit_divisors`] for numerators in [0, 1] ([`fast::ShareDivisor`]).
fn share_divisors(sums: &[I32F32]) -> Vec<fast::ShareDivisor> {
    sums.iter().map(|s| fast::ShareDivisor::new(if *s > zero() { *s } else { one() })).collect()
}

/// [`classic_dividends`] when every active stake and every incentive is in [0, 1], on raw
/// bits with the bounds proven: the stake-scaled weights for bonds are non-negative (so is
/// their column sum), each normalized value is a non-negative term of its column's sum or
/// at most its column's maximum (`divide_unit`; [`fast::ShareDivisor`] for the values in
/// [0, 1]), the EMA of two values in [0, 1] is in
/// [0, 1] (`mul_unit`), a column's EMA sum is at most `α + (1 − α) = 1` per unit of the
/// normalized columns' sums, and a row's dividend adds at most Σ incentive ≤ 1: plain adds
/// cannot overflow. The bonds to store are upscaled in the block: a kept cell is positive
/// (the EMA's), its share of a column sum at most 1 is at least itself, and so is its share
/// of a column maximum at most 1, so every one stays a bond ([`Stored::InBlock`]; checked
/// cell by cell all the same, and listed rows if one is not).
fn unit_classic_dividends(
    block: &mut Block,
    (delta_sum, bond_sum): (&[I32F32], &[I32F32]),
    alpha: I32F32,
    out: &Out<'_>,
    row_dividends: &mut [I32F32],
) -> Stored {
    let (width, mid, threads) = (out.width, out.mid, out.threads);
    let stride = width.max(1);
    let alpha = alpha.to_bits();
    let keep_rate = fast::ONE.wrapping_sub(alpha);
    let rates = (fast::UnitFactor::new(alpha), fast::UnitFactor::new(keep_rate));
    let delta_divisors = shares(delta_sum);
    // The old bonds' column sums are sums of u16 integers: below 2³¹ (the usual case), a
    // `RowDivisor` each; else `divide_unit`.
    let integer_divisors: Option<Vec<fast::RowDivisor>> =
        bond_sum.iter().map(|s| integer_sum_divisor(*s)).collect();
    // The EMA (`present` now marks the kept cells) and its column sums.
    let ema_sum = {
        let (weights_a, weights_b) = split_rows(&mut block.weights, mid, width);
        let (present_a, present_b) = split_rows(&mut block.present, mid, width);
        let (bonds_a, bonds_b) = split_rows_ref(&block.bonds, mid, width);
        let (a, b) = both(
            threads,
            (weights_a, present_a, bonds_a),
            (weights_b, present_b, bonds_b),
            |band| match (&integer_divisors, &delta_divisors) {
                (Some(old), Shares::Unit(delta)) => {
                    classic_ema_band(band, stride, rates, delta, old)
                }
                (Some(old), Shares::Mixed(delta)) => {
                    classic_ema_band(band, stride, rates, delta.as_slice(), old)
                }
                (None, Shares::Unit(delta)) => {
                    classic_ema_band(band, stride, rates, delta, &unit_divisors(bond_sum))
                }
                (None, Shares::Mixed(delta)) => classic_ema_band(
                    band,
                    stride,
                    rates,
                    delta.as_slice(),
                    &unit_divisors(bond_sum),
                ),
            },
        );
        merge(a, &b)
    };
    // Column-normalized; the dividends read it; the column maxima for the upscale.
    let ema_divisors = shares(&ema_sum);
    let max = {
        let (weights_a, weights_b) = split_rows(&mut block.weights, mid, width);
        let (dividends_a, dividends_b) = split_rows(row_dividends, mid, 1);
        let (a, b) = both(threads, (weights_a, dividends_a), (weights_b, dividends_b), |band| {
            match &ema_divisors {
                Shares::Unit(divisors) => classic_dividend_band(band, stride, divisors, out),
                Shares::Mixed(divisors) => {
                    classic_dividend_band(band, stride, divisors.as_slice(), out)
                }
            }
        });
        // Column maxima of non-negative values: any order.
        a.iter().zip(&b).map(|(x, y)| (*x).max(*y)).collect::<Vec<_>>()
    };
    // The stored bonds: every kept cell upscaled to its column's maximum, in place.
    let max_divisors = shares(&max);
    let (weights_a, weights_b) = split_rows(&mut block.weights, mid, width);
    let (present_a, present_b) = split_rows_ref(&block.present, mid, width);
    let (a, b) =
        both(threads, (weights_a, present_a), (weights_b, present_b), |band| match &max_divisors {
            Shares::Unit(divisors) => classic_store_band(band, stride, divisors),
            Shares::Mixed(divisors) => classic_store_band(band, stride, divisors.as_slice()),
        });
    if a & b {
        return Stored::InBlock;
    }
    // (A kept cell that is not positive: every kept cell listed.)
    let cells = block.weights.chunks_exact(stride).zip(block.present.chunks_exact(stride));
    let rows = cells.map(|(row, keep_row)| {
        let kept = row.iter().zip(keep_row).zip(out.uids).filter(|((_, keep), _)| **keep);
        kept.map(|((v, _), uid)| (*uid, *v)).collect()
    });
    Stored::Rows(rows.take(block.shape.rows.len()).collect())
}

/// Per-column divisions of values in [0, 1] by their column's sum or maximum (`Share`):
/// [`fast::UnitDivisors`] when every column's is in [`fast::UnitDivisor`]'s range (the usual
/// case: one construction each, no choice per cell, lane products that vectorize), else
/// [`fast::ShareDivisor`]s.
enum Shares {
    Unit(fast::UnitDivisors),
    Mixed(Vec<fast::ShareDivisor>),
}

/// [`Shares`] for `sums` (a column whose sum is 0 holds only zeros, which any divisor
/// leaves 0).
fn shares(sums: &[I32F32]) -> Shares {
    match fast::UnitDivisors::of_sums(sums) {
        Some(unit) => Shares::Unit(unit),
        None => Shares::Mixed(share_divisors(sums)),
    }
}

/// `a.safe_div(d)` for `0 ≤ a ≤ d`, `a ≤ 2³²` (callers prove it), by a column's divisor.
trait Share {
    fn share(&self, a: i64) -> i64;
}

impl Share for fast::SplitDivisor {
    #[inline]
    fn share(&self, a: i64) -> i64 {
        self.divide(a)
    }
}

impl Share for fast::ShareDivisor {
    #[inline]
    fn share(&self, a: i64) -> i64 {
        self.divide(a)
    }
}

/// A row's [`Share`] divisors, column by column.
trait ShareColumns: Sync {
    fn columns(&self) -> impl Iterator<Item = impl Share> + '_;
}

impl ShareColumns for fast::UnitDivisors {
    #[inline]
    fn columns(&self) -> impl Iterator<Item = impl Share> + '_ {
        fast::UnitDivisors::columns(self)
    }
}

impl ShareColumns for [fast::ShareDivisor] {
    #[inline]
    fn columns(&self) -> impl Iterator<Item = impl Share> + '_ {
        self.iter().copied()
    }
}

/// One band of [`unit_classic_dividends`]' second pass: each new bond divided by its
/// column's sum (in place), each row's dividend `Σ incentive · bond`, and the band's column
/// maxima.
fn classic_dividend_band<S: ShareColumns + ?Sized>(
    (weights, dividends): (&mut [I32F32], &mut [I32F32]),
    stride: usize,
    divisors: &S,
    out: &Out<'_>,
) -> Vec<I32F32> {
    let mut max = vec![zero(); out.width];
    for (row, d) in weights.chunks_exact_mut(stride).zip(dividends.iter_mut()) {
        let mut dividend = 0i64;
        let columns = divisors.columns().zip(out.incentive.iter().zip(max.iter_mut()));
        for (v, (divisor, (inc, m))) in row.iter_mut().zip(columns) {
            let normalized = divisor.share(v.to_bits());
            *v = I32F32::from_bits(normalized);
            dividend = dividend.wrapping_add(fast::mul_unit_halves(inc.to_bits(), normalized));
            *m = (*m).max(*v);
        }
        *d = I32F32::from_bits(dividend);
    }
    max
}

/// A bond row to store.
type BondRow = Vec<(Uid, I32F32)>;

/// One band of [`unit_classic_dividends`]' last pass: every cell upscaled to its column's
/// maximum, in place (a cell not kept is 0 and stays 0). Whether every kept cell is
/// positive (a bond in the block).
fn classic_store_band<S: ShareColumns + ?Sized>(
    (weights, present): (&mut [I32F32], &[bool]),
    stride: usize,
    divisors: &S,
) -> bool {
    let mut positive = true;
    for (row, keep_row) in weights.chunks_exact_mut(stride).zip(present.chunks_exact(stride)) {
        for ((v, keep), divisor) in row.iter_mut().zip(keep_row).zip(divisors.columns()) {
            let upscaled = divisor.share(v.to_bits());
            positive &= !*keep | (upscaled > 0);
            *v = I32F32::from_bits(upscaled);
        }
    }
    positive
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A dropped output's block comes back to its thread only up to [`KEPT_CELLS`] cells,
    /// one block per thread (the larger kept), and an empty one is ignored.
    #[test]
    fn recycled_blocks_are_bounded() {
        std::thread::scope(|scope| {
            scope.spawn(|| {
                let kept = || Buffers::take().weights.capacity();
                recycle(Vec::with_capacity(KEPT_CELLS + 1));
                assert_eq!(kept(), 0, "a block past the bound is freed");
                recycle(Vec::new());
                assert_eq!(kept(), 0, "nothing to keep");
                recycle(Vec::with_capacity(KEPT_CELLS));
                recycle(Vec::with_capacity(16));
                assert_eq!(kept(), KEPT_CELLS, "the larger block stays, one per thread");
            });
        });
    }

    /// A thread keeps its consensus scratch only up to [`KEPT_SCRATCH_BYTES`]: after a block
    /// of 20,000 voters (a tile and items of a few MiB) it holds none; after a small one, one.
    #[test]
    fn kept_consensus_scratch_is_bounded() {
        let consensus_of = |voters: usize| {
            let width = 16;
            let weights: Vec<I32F32> =
                (0..voters * width).map(|k| I32F32::from_bits((k % 977) as i64)).collect();
            let stake = vec![I32F32::from_bits(((1u64 << 32) / voters as u64) as i64); voters];
            let rows: Vec<usize> = (0..voters).collect();
            let mut out = vec![zero(); width];
            let minority = I32F32::from_bits(1 << 31);
            let total = fast::sum(&stake);
            consensus_columns(&weights, width, 0, &mut out, &rows, &stake, minority, total);
            KEPT_CONSENSUS.with(core::cell::Cell::take).map(|kept| kept.bytes())
        };
        std::thread::scope(|scope| {
            scope.spawn(|| {
                assert_eq!(consensus_of(20_000), None, "past the bound: freed");
                let small = consensus_of(64).expect("a small scratch is kept");
                assert!(small <= KEPT_SCRATCH_BYTES, "{small}");
            });
        });
    }

    /// The unit-interval clip against `clip`: weights and consensus in [0, 1] (the edges,
    /// zeros, equal values, random), present or absent (an absent cell is 0).
    #[test]
    fn unit_clip_is_clip_on_the_unit_interval() {
        let one = fast::ONE;
        let mut values: Vec<i64> = vec![0, 1, 2, one / 2, one - 1, one];
        let mut state = 0xC11F_0000_2222_3333u64;
        for _ in 0..300 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            values.push((state % (one as u64 + 1)) as i64);
        }
        for &c in &values {
            for &w in &values {
                for present in [true, false] {
                    let w = if present { w } else { 0 };
                    let (value, kept) = clip(I32F32::from_bits(w), present, I32F32::from_bits(c));
                    assert_eq!(unit_clip(w, present, c), (value.to_bits(), kept), "{w} {c}");
                }
            }
        }
    }

    /// Classic's bonds stay in the block only when every kept cell is positive once
    /// upscaled: a kept cell that is 0 is reported (the rows are then listed), a cell not
    /// kept (0) is not; both upscaled by their column's maximum, in place.
    #[test]
    fn classic_store_band_reports_a_kept_cell_that_is_not_positive() {
        let half = I32F32::from_bits(fast::ONE / 2);
        let divisors = share_divisors(&[half, one()]);
        let unit = fast::UnitDivisors::new(&[fast::ONE as u64 / 2, fast::ONE as u64]);
        for kept_zero in [false, true] {
            let keep = [true, kept_zero];
            let mut cells = vec![I32F32::from_bits(fast::ONE / 4), zero()];
            let mut split = cells.clone();
            let positive = classic_store_band((&mut cells, &keep), 2, divisors.as_slice());
            assert_eq!(positive, !kept_zero);
            assert_eq!(cells, vec![half, zero()]);
            assert_eq!(classic_store_band((&mut split, &keep), 2, &unit), positive);
            assert_eq!(split, cells);
        }
    }
}
