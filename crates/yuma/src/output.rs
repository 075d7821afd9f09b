//! What an epoch produces.

use tao_primitives::{fixed::I32F32, AlphaRao, Uid};

/// One epoch's result. Per-neuron vectors are indexed by UID. Fractions are `I32F32` in
/// [0, 1] (bonds of the classic model are column-max-upscaled, so each column's largest is 1).
#[derive(Clone, Debug, PartialEq)]
pub struct YumaOutput {
    /// Whether the neuron updated its weights within the activity cutoff.
    pub active: Vec<bool>,
    /// Normalized stake (after the stake threshold).
    pub stake: Vec<I32F32>,
    /// Normalized stake of active neurons that held a validator permit.
    pub active_stake: Vec<I32F32>,
    /// Validator permits for the next epoch.
    pub validator_permit: Vec<bool>,
    /// Consensus weight per miner: the stake-weighted median at majority kappa.
    pub consensus: Vec<I32F32>,
    /// Stake-weighted sum of clipped weights per miner, before normalization.
    /// Informative: the reference chain no longer stores it.
    pub rank: Vec<I32F32>,
    /// Fraction of a miner's stake-weighted weight that survived clipping.
    /// Informative: the reference chain no longer stores it.
    pub trust: Vec<I32F32>,
    /// Share of the miners' emission per UID (sums to 1, or 0 if nobody is ranked).
    pub incentive: Vec<I32F32>,
    /// Share of the validators' emission per UID (sums to 1, or 0).
    pub dividends: Vec<I32F32>,
    /// Fraction of each validator's weight that was within consensus.
    pub validator_trust: Vec<I32F32>,
    /// Bonds to store: a row per UID holding a permit after this epoch, empty otherwise.
    pub bonds: Bonds,
    /// Alpha paid to each UID as a miner.
    pub server_emission: Vec<AlphaRao>,
    /// Alpha paid to each UID as a validator (before take and nominators).
    pub validator_emission: Vec<AlphaRao>,
    /// Combined alpha per UID, as the chain records it in `Emission`.
    pub combined_emission: Vec<AlphaRao>,
}

/// A dropped output's vectors go back to this thread's pool of kept vectors (`pool.rs`,
/// bounded), for the next epoch's: an epoch then allocates almost nothing. So that this
/// can be, a field is taken out of an output (`std::mem::take`), not moved.
impl Drop for YumaOutput {
    fn drop(&mut self) {
        use crate::pool::give;
        use core::mem::take;
        give(take(&mut self.active));
        give(take(&mut self.validator_permit));
        for fractions in [
            &mut self.stake,
            &mut self.active_stake,
            &mut self.consensus,
            &mut self.rank,
            &mut self.trust,
            &mut self.incentive,
            &mut self.dividends,
            &mut self.validator_trust,
        ] {
            give(take(fractions));
        }
        for alpha in
            [&mut self.server_emission, &mut self.validator_emission, &mut self.combined_emission]
        {
            give(take(alpha));
        }
    }
}

impl YumaOutput {
    /// The bonds as the chain stores them (u16 proportions), to feed the next epoch.
    pub fn bonds_u16(&self) -> Vec<Vec<(Uid, u16)>> {
        self.bonds.collect_rows(proportion_to_u16)
    }
}

/// An epoch's bonds: per UID, a row of `(UID, bond)` with positive bonds in ascending UID
/// order (empty for a UID without a permit after the epoch).
///
/// Rows are held either as such (the sparse kernel) or as one validator × miner block,
/// row-major, where a cell is a bond if positive (the dense kernel's bonds, Yuma3's and
/// classic's: the block it computed them in, kept as it is instead of copied out row by row,
/// 16 bytes a bond). Both read the same through [`Bonds::row`]; equality compares the rows.
#[derive(Clone, Default)]
pub struct Bonds {
    /// Per UID, its row or where it is.
    rows: Rows,
    /// The block's columns.
    columns: Vec<Uid>,
    /// The block's cells, row-major (`columns.len()` a row); a cell not positive is no bond.
    cells: Vec<I32F32>,
}

/// A dropped block goes back to the dense kernel's buffers of this thread, for its next
/// epoch (bounded there: one block of at most 2¹⁸ cells per thread; any other is freed).
impl Drop for Bonds {
    fn drop(&mut self) {
        crate::dense::recycle(core::mem::take(&mut self.cells));
    }
}

/// Whether a block cell is a bond: positive (the dense kernel's new bonds are in [0, 1];
/// the reference keeps the positive ones).
fn is_bond(cell: &I32F32) -> bool {
    cell.to_bits() > 0
}

/// Where the UIDs' rows are.
#[derive(Clone, Debug)]
enum Rows {
    /// Per UID, its row as such (empty for none).
    Listed(Vec<Vec<(Uid, I32F32)>>),
    /// Per UID, its block row ([`NO_ROW`] for none). (An index of 4 bytes per UID, where a
    /// place of 24 bytes per UID was written one by one: the n = 256 epoch's bonds left in
    /// 0.26–0.28 µs against 0.36–0.41 µs, timed alternately.)
    Block(Vec<u32>),
}

impl Default for Rows {
    fn default() -> Self {
        Self::Listed(Vec::new())
    }
}

/// A UID without a block row.
const NO_ROW: u32 = u32::MAX;

impl Bonds {
    /// Bonds from one row per UID (each ascending by UID, positive bonds).
    pub fn from_rows(rows: Vec<Vec<(Uid, I32F32)>>) -> Self {
        Self { rows: Rows::Listed(rows), columns: Vec::new(), cells: Vec::new() }
    }

    /// Bonds of `n` UIDs from one listed row per block row: `block_rows[r]` is the UID of
    /// `rows[r]`; a UID in no block row (or out of range) has none.
    pub(crate) fn from_block_rows(
        n: usize,
        block_rows: &[usize],
        rows: Vec<Vec<(Uid, I32F32)>>,
    ) -> Self {
        let mut listed = vec![Vec::new(); n];
        for (&i, row) in block_rows.iter().zip(rows) {
            if let Some(slot) = listed.get_mut(i) {
                *slot = row;
            }
        }
        Self::from_rows(listed)
    }

    /// Bonds of `n` UIDs from a block: `block_rows[r]` is the UID of block row `r`, `columns`
    /// the block's columns (ascending), `cells` its cells row-major; a UID in no block row
    /// (or out of range) has none.
    pub(crate) fn from_block(
        n: usize,
        block_rows: &[usize],
        columns: Vec<Uid>,
        cells: Vec<I32F32>,
    ) -> Self {
        let mut of = vec![NO_ROW; n];
        for (r, &i) in block_rows.iter().enumerate() {
            if let (Some(slot), Ok(r)) = (of.get_mut(i), u32::try_from(r)) {
                *slot = r;
            }
        }
        Self { rows: Rows::Block(of), columns, cells }
    }

    /// How many rows (UIDs).
    pub fn len(&self) -> usize {
        match &self.rows {
            Rows::Listed(rows) => rows.len(),
            Rows::Block(of) => of.len(),
        }
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// UID `i`'s bonds, ascending by UID (none for a UID out of range).
    pub fn row(&self, i: usize) -> BondRow<'_> {
        match &self.rows {
            Rows::Listed(rows) => {
                BondRow(Cells::Listed(rows.get(i).map(Vec::as_slice).unwrap_or_default().iter()))
            }
            Rows::Block(of) => match of.get(i).filter(|r| **r != NO_ROW) {
                Some(r) => BondRow(Cells::Block(self.block_row(*r).iter().zip(&self.columns))),
                None => BondRow(Cells::Listed([].iter())),
            },
        }
    }

    /// Block row `r`'s cells.
    fn block_row(&self, r: u32) -> &[I32F32] {
        let width = self.columns.len();
        let start = (r as usize).saturating_mul(width);
        self.cells.get(start..start.saturating_add(width)).unwrap_or_default()
    }

    /// Every row with each bond mapped by `f`, collected: a block row in one pass over its
    /// cells (every cell written, then the non-positive ones dropped if the row has any),
    /// not through the filtering [`BondRow`].
    fn collect_rows<T>(&self, f: impl Fn(I32F32) -> T) -> Vec<Vec<(Uid, T)>> {
        match &self.rows {
            Rows::Listed(rows) => {
                rows.iter().map(|row| row.iter().map(|(j, v)| (*j, f(*v))).collect()).collect()
            }
            Rows::Block(of) => of
                .iter()
                .map(|&r| {
                    if r == NO_ROW {
                        return Vec::new();
                    }
                    let cells = self.block_row(r);
                    let mut row: Vec<(Uid, T)> =
                        cells.iter().zip(&self.columns).map(|(v, j)| (*j, f(*v))).collect();
                    if !cells.iter().all(is_bond) {
                        let mut positive = cells.iter().map(is_bond);
                        row.retain(|_| positive.next().unwrap_or(false));
                    }
                    row
                })
                .collect(),
        }
    }

    /// Every UID's row, in UID order.
    pub fn rows(&self) -> impl Iterator<Item = BondRow<'_>> + '_ {
        (0..self.len()).map(|i| self.row(i))
    }

    /// Every UID's row, collected.
    pub fn to_rows(&self) -> Vec<Vec<(Uid, I32F32)>> {
        self.collect_rows(|v| v)
    }

    /// Drops UID `i`'s row (it holds no permit after the epoch).
    pub fn clear(&mut self, i: usize) {
        match &mut self.rows {
            Rows::Listed(rows) => {
                if let Some(row) = rows.get_mut(i) {
                    *row = Vec::new();
                }
            }
            Rows::Block(of) => {
                if let Some(r) = of.get_mut(i) {
                    *r = NO_ROW;
                }
            }
        }
    }
}

impl PartialEq for Bonds {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.rows().zip(other.rows()).all(|(a, b)| a.eq(b))
    }
}

impl core::fmt::Debug for Bonds {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.rows().map(Iterator::collect::<Vec<_>>)).finish()
    }
}

/// One UID's bonds, `(UID, bond)` ascending by UID ([`Bonds::row`]).
#[derive(Clone, Debug)]
pub struct BondRow<'a>(Cells<'a>);

/// Where a [`BondRow`] reads from.
#[derive(Clone, Debug)]
enum Cells<'a> {
    /// A row held as such.
    Listed(core::slice::Iter<'a, (Uid, I32F32)>),
    /// A block row: its cells with their columns, the positive ones.
    Block(core::iter::Zip<core::slice::Iter<'a, I32F32>, core::slice::Iter<'a, Uid>>),
}

impl Iterator for BondRow<'_> {
    type Item = (Uid, I32F32);

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.0 {
            Cells::Listed(row) => row.next().copied(),
            Cells::Block(cells) => cells.find(|(v, _)| is_bond(v)).map(|(v, j)| (*j, *v)),
        }
    }
}

/// A vector of fractions as u16 proportions (`floor(x · 65535)`), as the chain stores
/// consensus, incentive, dividends and validator trust.
pub fn to_u16(values: &[I32F32]) -> Vec<u16> {
    values.iter().map(|v| proportion_to_u16(*v)).collect()
}

/// `fixed_proportion_to_u16(x)` (`x · 65535` saturating, floored, clamped to the u16
/// range), bit for bit, on the raw bits clamped to [0, 1]: 0 when `x ≤ 0`, 65535 when
/// `x ≥ 1`, else `⌊x_bits · 65535 / 2³²⌋` (below 2⁴⁸ before the shift: nothing saturates).
/// Without branches (a bond row converts in a loop that vectorizes).
#[inline]
fn proportion_to_u16(x: I32F32) -> u16 {
    const ONE: i64 = 1 << 32;
    let bits = x.to_bits().clamp(0, ONE);
    (bits.wrapping_mul(65_535) >> 32) as u16
}

#[cfg(test)]
mod tests {
    use super::*;
    use tao_primitives::fixed::fixed_proportion_to_u16;

    fn fixed(bits: i64) -> I32F32 {
        I32F32::from_bits(bits)
    }

    /// A block reads as its positive cells per row, UIDs in no block row read empty, and it
    /// equals the same rows listed, but not rows that differ in a UID, a bond, a row's
    /// length or the number of rows.
    #[test]
    fn block_bonds_read_and_compare_as_their_rows() {
        let columns = vec![Uid::new(1), Uid::new(4), Uid::new(6)];
        // Block rows for UIDs 4 and 0 (in that order), UID 9 out of range.
        let cells = vec![fixed(5), fixed(0), fixed(7), fixed(-3), fixed(1 << 32), fixed(2)];
        let block = Bonds::from_block(5, &[4, 0, 9], columns, cells);
        let rows = vec![
            vec![(Uid::new(4), fixed(1 << 32)), (Uid::new(6), fixed(2))],
            vec![],
            vec![],
            vec![],
            vec![(Uid::new(1), fixed(5)), (Uid::new(6), fixed(7))],
        ];
        assert_eq!(block.to_rows(), rows);
        assert_eq!(block.rows().map(Iterator::collect::<Vec<_>>).collect::<Vec<_>>(), rows);
        assert_eq!(block.len(), 5);
        assert_eq!(block.row(7).count(), 0);
        let listed = Bonds::from_rows(rows.clone());
        assert_eq!(block, listed);
        assert_eq!(format!("{block:?}"), format!("{rows:?}"));
        let mut changed = rows.clone();
        changed[4][1].1 = fixed(8);
        assert_ne!(block, Bonds::from_rows(changed));
        let mut changed = rows.clone();
        changed[0][0].0 = Uid::new(3);
        assert_ne!(block, Bonds::from_rows(changed));
        let mut changed = rows.clone();
        changed[0].pop();
        assert_ne!(block, Bonds::from_rows(changed));
        let mut changed = rows.clone();
        changed.push(vec![]);
        assert_ne!(block, Bonds::from_rows(changed));
        // A cleared row reads empty.
        let mut cleared = block.clone();
        cleared.clear(4);
        assert_eq!(cleared.row(4).count(), 0);
        assert_eq!(cleared.row(0).count(), 2);
        assert_ne!(cleared, block);
    }

    /// Against the library's conversion: every u16 proportion's neighbourhood, the edges,
    /// and values far outside [0, 1].
    #[test]
    fn proportion_to_u16_is_the_library_conversion() {
        let mut inputs: Vec<i64> =
            vec![0, 1, -1, 1 << 32, (1 << 32) - 1, (1 << 32) + 1, i64::MAX, i64::MIN, 1 << 62];
        for b in 0..=u16::MAX {
            let bits = tao_primitives::fixed::u16_proportion_to_fixed(b).to_bits();
            inputs.extend([bits - 1, bits, bits + 1, -bits]);
        }
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..200_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            inputs.push((state >> (state % 64)) as i64);
        }
        for bits in inputs {
            let x = I32F32::from_bits(bits);
            assert_eq!(proportion_to_u16(x), fixed_proportion_to_u16(x), "bits {bits}");
        }
    }
}
