//! What an epoch reads: the subnet's neurons, weights, bonds and hyperparameters.

use crate::{workers::both, YumaError};
use tao_primitives::{fixed::I64F64, AlphaRao, BlockNumber, Uid};

/// A sparse matrix row: `(column UID, value)` pairs. Rows need not be sorted on input, but a
/// UID may appear only once per row.
pub type SparseRow<T> = Vec<(Uid, T)>;

/// Which bond model a subnet uses (`Yuma3On`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BondModel {
    /// The original model: bonds are column-normalized stake-weighted weights, stored
    /// column-max-upscaled (`Yuma3On = false`, the runtime default).
    Classic,
    /// Yuma3: bonds are absolute proportions in [0, 1] that buy into miners over time;
    /// dividends follow bond share × incentive × stake (every newly created subnet).
    Yuma3,
}

/// The bond EMA rate (`LiquidAlphaOn`, `AlphaValues`, `AlphaSigmoidSteepness`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LiquidAlpha {
    /// One fixed rate, `1 - bonds_moving_average / 10^6`.
    Off,
    /// A per-bond rate between `alpha_low/65535` and `alpha_high/65535` from a sigmoid of how
    /// far the validator's weight is above consensus (buying) or below its bond (selling).
    /// Only the Yuma3 model uses it.
    On {
        /// Lowest rate, a u16 proportion.
        alpha_low: u16,
        /// Highest rate, a u16 proportion.
        alpha_high: u16,
        /// Sigmoid steepness (reference default 1000).
        steepness: i16,
    },
}

/// The commit-reveal column mask (`CommitRevealWeightsEnabled`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CommitReveal {
    /// Weights are set directly; no mask.
    Off,
    /// Weights are committed before they are revealed: a weight committed before a miner
    /// (re)registered cannot pay that miner. One entry per neuron: the block of its earliest
    /// unexpired commit, or `None`.
    On {
        /// Earliest unexpired commit block per UID.
        first_commit: Vec<Option<BlockNumber>>,
    },
}

/// The subnet hyperparameters the epoch uses, in the chain's storage units.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Params {
    /// Majority threshold as a u16 proportion (`Kappa`, default 32767 ≈ 0.5).
    pub kappa: u16,
    /// How far bonds follow clipped rather than raw weights, u16 proportion (default 65535).
    pub bonds_penalty: u16,
    /// Bond EMA memory in millionths (default 900_000 ⇒ rate 0.1). At most 1_000_000.
    pub bonds_moving_average: u64,
    /// How many validator permits the top stakes get (`MaxAllowedValidators`).
    pub max_allowed_validators: u16,
    /// Bond model.
    pub bond_model: BondModel,
    /// Bond EMA rate.
    pub liquid_alpha: LiquidAlpha,
}

impl Default for Params {
    /// The reference defaults for a newly created subnet.
    fn default() -> Self {
        Self {
            kappa: 32_767,
            bonds_penalty: u16::MAX,
            bonds_moving_average: 900_000,
            max_allowed_validators: 64,
            bond_model: BondModel::Yuma3,
            liquid_alpha: LiquidAlpha::Off,
        }
    }
}

/// One epoch's input for one subnet. Per-neuron vectors are indexed by UID and all have
/// `n = stake.len()` entries.
#[derive(Clone, Debug, PartialEq)]
pub struct YumaInput {
    /// The block the epoch runs in.
    pub block: BlockNumber,
    /// The subnet's tempo (used for the recently-registered bond mask on the first epoch).
    pub tempo: u16,
    /// The block the previous epoch ran in (`LastMechansimStepBlock`), 0 if none.
    pub last_epoch_block: BlockNumber,
    /// A neuron whose last weight update is more than this many blocks old is inactive.
    pub activity_cutoff: u64,
    /// Stake weight per UID (alpha plus TAO × tao weight), any unit.
    pub stake: Vec<I64F64>,
    /// Stake below this (in whole units of `stake`) is ignored, except the owner's.
    pub stake_threshold: u64,
    /// The UID of the subnet owner's hotkey, if registered.
    pub owner: Option<Uid>,
    /// Validator permits from the previous epoch.
    pub validator_permit: Vec<bool>,
    /// Block of each UID's last weight update.
    pub last_update: Vec<BlockNumber>,
    /// Block each UID's current hotkey registered.
    pub block_at_registration: Vec<BlockNumber>,
    /// Weights as stored: row `i` is validator `i`'s u16 weights (row-max-upscaled).
    pub weights: Vec<SparseRow<u16>>,
    /// Bonds as stored by the previous epoch (u16).
    pub bonds: Vec<SparseRow<u16>>,
    /// The commit-reveal mask.
    pub commit_reveal: CommitReveal,
    /// Hyperparameters.
    pub params: Params,
    /// Alpha to split between miners and validators this epoch.
    pub emission: AlphaRao,
}

impl YumaInput {
    /// Checks shapes, UIDs and parameters; returns the number of neurons.
    pub fn validate(&self) -> Result<usize, YumaError> {
        self.validated(1).map(|valid| valid.n)
    }

    /// [`Self::validate`], also telling which rows are sorted (what the epoch's dense kernel
    /// reuses instead of checking again), on at most `threads` threads.
    pub(crate) fn validated(&self, threads: usize) -> Result<Validated, YumaError> {
        let n = self.stake.len();
        if n > usize::from(u16::MAX) {
            return Err(YumaError::TooManyNeurons(n));
        }
        check_len("validator_permit", n, self.validator_permit.len())?;
        check_len("last_update", n, self.last_update.len())?;
        check_len("block_at_registration", n, self.block_at_registration.len())?;
        check_len("weights", n, self.weights.len())?;
        check_len("bonds", n, self.bonds.len())?;
        if let CommitReveal::On { first_commit } = &self.commit_reveal {
            check_len("commit_reveal.first_commit", n, first_commit.len())?;
        }
        let (sorted_weights, sorted_bonds) = self.check_weights_and_bonds(n, threads);
        let (sorted_weights, sorted_bonds) = (sorted_weights?, sorted_bonds?);
        if let Some(owner) = self.owner {
            if owner.index() >= n {
                return Err(YumaError::OwnerOutOfRange { uid: owner.get(), n });
            }
        }
        self.params.validate()?;
        Ok(Validated { n, sorted_weights, sorted_bonds })
    }
}

impl YumaInput {
    /// [`check_rows`] of the weights and of the bonds: the bonds on the pool's other
    /// thread when `threads ≥ 2` and running in the pool (a large input's epoch,
    /// [`Self::is_large`]; the results are the same).
    #[allow(clippy::type_complexity)]
    fn check_weights_and_bonds(
        &self,
        n: usize,
        threads: usize,
    ) -> (Result<Vec<Order>, YumaError>, Result<Vec<Order>, YumaError>) {
        both(threads, ("weights", &self.weights), ("bonds", &self.bonds), |(what, rows)| {
            check_rows(what, n, rows)
        })
    }

    /// Whether the epoch runs in the worker pool: at least [`PARALLEL_ENTRIES`] weights.
    pub(crate) fn is_large(&self) -> bool {
        let entries = self.weights.iter().fold(0usize, |sum, row| sum.saturating_add(row.len()));
        entries >= PARALLEL_ENTRIES
    }
}

/// Inputs with at least this many weights run in the worker pool, their bonds checked on
/// its other thread.
const PARALLEL_ENTRIES: usize = 1 << 16;

/// A valid input's size and which of its rows are sorted.
pub(crate) struct Validated {
    /// The number of UIDs.
    pub(crate) n: usize,
    /// Per UID: the order of its weight row's UIDs.
    pub(crate) sorted_weights: Vec<Order>,
    /// Per UID: the order of its bond row's UIDs.
    pub(crate) sorted_bonds: Vec<Order>,
}

/// The order of a row's UIDs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Order {
    /// Not strictly ascending.
    #[default]
    Other,
    /// Strictly ascending.
    Ascending,
    /// Strictly ascending by one at each step: exactly the UIDs from its first to its last
    /// (an empty row too).
    Consecutive,
}

impl Order {
    /// Whether the UIDs strictly ascend.
    pub(crate) fn is_sorted(self) -> bool {
        self != Self::Other
    }
}

impl Params {
    /// Checks the parameters' domains.
    pub fn validate(&self) -> Result<(), YumaError> {
        if self.bonds_moving_average > 1_000_000 {
            return Err(YumaError::InvalidParam {
                name: "bonds_moving_average",
                value: self.bonds_moving_average.to_string(),
                reason: "millionths of one: at most 1000000",
            });
        }
        if let LiquidAlpha::On { alpha_low, alpha_high, .. } = self.liquid_alpha {
            if alpha_low > alpha_high {
                return Err(YumaError::InvalidParam {
                    name: "alpha_low",
                    value: alpha_low.to_string(),
                    reason: "must not exceed alpha_high",
                });
            }
        }
        Ok(())
    }
}

fn check_len(field: &'static str, expected: usize, actual: usize) -> Result<(), YumaError> {
    if expected == actual {
        Ok(())
    } else {
        Err(YumaError::LengthMismatch { field, expected, actual })
    }
}

/// Checks every row (UIDs in range, none repeated); returns each row's [`Order`].
fn check_rows<T>(
    field: &'static str,
    n: usize,
    rows: &[SparseRow<T>],
) -> Result<Vec<Order>, YumaError> {
    let mut seen = Vec::new();
    let mut sorted = crate::pool::filled(rows.len(), Order::Other);
    for ((row, entries), sorted) in rows.iter().enumerate().zip(sorted.iter_mut()) {
        // The usual row, sorted by UID, repeats none; it is in range if its last UID is.
        let order = order(entries);
        if order.is_sorted() && entries.last().is_none_or(|(uid, _)| uid.index() < n) {
            *sorted = order;
            continue;
        }
        if seen.is_empty() {
            seen = vec![usize::MAX; n];
        }
        for (uid, _) in entries {
            let slot = seen.get_mut(uid.index()).ok_or(YumaError::UidOutOfRange {
                field,
                row,
                uid: uid.get(),
                n,
            })?;
            if *slot == row {
                return Err(YumaError::DuplicateUid { field, row, uid: uid.get() });
            }
            *slot = row;
        }
    }
    Ok(sorted)
}

/// Whether the row's UIDs strictly increase, and whether by one at each step (one
/// comparison per entry, no lookups): in chunks whose steps are folded without an exit per
/// entry (which vectorizes), each chunk's first UID also compared with the previous chunk's
/// last.
fn order<T>(entries: &[(Uid, T)]) -> Order {
    // A row whose ends are `len − 1` apart (the usual dense row) is consecutive iff each
    // UID is the first plus its position: one comparison per entry against a counter,
    // without pairs (which vectorizes better). In `u32`, where `first + k` cannot wrap.
    if let (Some((first, _)), Some((end, _))) = (entries.first(), entries.last()) {
        let span = usize::from(end.get()).checked_sub(first.index());
        if span == Some(entries.len().wrapping_sub(1)) {
            // Sixteen lanes at a time (one vector of them, no epilogue loops for the usual
            // row's length), each lane's expected UID its offset in the chunk plus the
            // chunk's first; then the few left one by one. At most 65,535 entries past a
            // `u16`: no sum wraps.
            const CHUNK: usize = 16;
            let offsets: [u32; CHUNK] = core::array::from_fn(|k| k as u32);
            let mut lanes = [0u32; CHUNK];
            let mut base = u32::from(first.get());
            let mut chunks = entries.chunks_exact(CHUNK);
            for chunk in &mut chunks {
                for ((lane, (uid, _)), offset) in lanes.iter_mut().zip(chunk).zip(&offsets) {
                    *lane |= u32::from(uid.get()) ^ base.wrapping_add(*offset);
                }
                base = base.wrapping_add(CHUNK as u32);
            }
            let mut differs = lanes.iter().fold(0u32, |any, lane| any | lane);
            for ((uid, _), offset) in chunks.remainder().iter().zip(&offsets) {
                differs |= u32::from(uid.get()) ^ base.wrapping_add(*offset);
            }
            if differs == 0 {
                return Order::Consecutive;
            }
        }
    }
    let mut last: Option<Uid> = None;
    let mut consecutive = true;
    for chunk in entries.chunks(256) {
        let (Some(first), Some(end)) = (chunk.first(), chunk.last()) else { continue };
        let pairs = chunk.iter().zip(chunk.get(1..).unwrap_or_default());
        // `b − a − 1` is negative iff `b ≤ a`, zero iff `b = a + 1`: the OR of them has its
        // sign bit set iff a pair does not ascend, and is zero iff every pair steps by one.
        let steps = pairs.fold(0i32, |any, ((a, _), (b, _))| {
            any | i32::from(b.get()).wrapping_sub(i32::from(a.get())).wrapping_sub(1)
        });
        if steps < 0 || last.is_some_and(|previous| previous >= first.0) {
            return Order::Other;
        }
        let joined = last.is_none_or(|previous| {
            u32::from(previous.get()).wrapping_add(1) == u32::from(first.0.get())
        });
        consecutive &= steps == 0 && joined;
        last = Some(end.0);
    }
    if consecutive {
        Order::Consecutive
    } else {
        Order::Ascending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A large input checks its bonds on the pool's other thread (as the epoch runs it, in
    /// the pool): the same errors as on one, the weights' first when both are malformed.
    #[test]
    fn large_inputs_report_the_same_errors_on_two_threads() {
        let n = 300; // 90,000 weights: above `PARALLEL_ENTRIES`
        let row: Vec<(Uid, u16)> = (0..n).map(|j| (Uid::new(j as u16), 1)).collect();
        let input = YumaInput {
            block: BlockNumber::new(10),
            tempo: 360,
            last_epoch_block: BlockNumber::new(0),
            activity_cutoff: 5_000,
            stake: vec![I64F64::from_num(1); n],
            stake_threshold: 0,
            owner: None,
            validator_permit: vec![true; n],
            last_update: vec![BlockNumber::new(9); n],
            block_at_registration: vec![BlockNumber::new(1); n],
            weights: vec![row.clone(); n],
            bonds: vec![row; n],
            commit_reveal: CommitReveal::Off,
            params: Params::default(),
            emission: AlphaRao::new(1),
        };
        assert!(n * n >= PARALLEL_ENTRIES);
        let pooled = |input: &YumaInput| crate::workers::run(2, || input.validated(2));
        let valid = pooled(&input).expect("valid");
        let orders = valid.sorted_weights.iter().chain(&valid.sorted_bonds);
        assert!(orders.into_iter().all(|order| *order == Order::Consecutive));
        let mut bad_bonds = input.clone();
        bad_bonds.bonds[7].push((Uid::new(3), 1));
        let mut bad_both = bad_bonds.clone();
        bad_both.weights[9].push((Uid::new(n as u16), 1));
        for bad in [&bad_bonds, &bad_both] {
            let one = bad.validated(1).err().expect("malformed");
            let two = pooled(bad).err().expect("malformed");
            assert_eq!(one, two);
        }
        let both = pooled(&bad_both).err().expect("malformed");
        assert!(matches!(both, YumaError::UidOutOfRange { field: "weights", .. }), "{both:?}");
        let bonds = pooled(&bad_bonds).err().expect("malformed");
        assert!(matches!(bonds, YumaError::DuplicateUid { field: "bonds", .. }), "{bonds:?}");
    }

    /// Against the definition, on rows around the chunk boundaries (16 and 256 entries):
    /// ascending by two or by one, with one pair out of order, repeated or (by one) a gap
    /// anywhere.
    #[test]
    fn order_is_strictly_increasing_and_consecutive() {
        let naive = |row: &[(Uid, u16)]| {
            if !row.windows(2).all(|pair| pair[0].0 < pair[1].0) {
                Order::Other
            } else if row.windows(2).all(|pair| pair[0].0.get() + 1 == pair[1].0.get()) {
                Order::Consecutive
            } else {
                Order::Ascending
            }
        };
        assert_eq!(order::<u16>(&[]), Order::Consecutive);
        // Ends `len − 1` apart but not consecutive (permuted, repeated), and rows up to the
        // last UID.
        let uids = |row: &[u16]| row.iter().map(|&j| (Uid::new(j), 1u16)).collect::<Vec<_>>();
        for row in [
            &[3u16, 5, 4, 6][..],
            &[3, 4, 4, 6],
            &[3, 3, 5, 6],
            &[65_533, 65_534, 65_535],
            &[65_535],
            &[65_534, 65_533, 65_535],
            &[65_535, 0, 1, 2],
            &[0, 65_535],
        ] {
            assert_eq!(order(&uids(row)), naive(&uids(row)), "{row:?}");
        }
        for len in [0usize, 1, 2, 3, 15, 16, 17, 33, 255, 256, 257, 511, 512, 513, 1_000] {
            for step in [1u16, 2] {
                let row: Vec<(Uid, u16)> =
                    (0..len).map(|j| (Uid::new(3 + step * j as u16), 7)).collect();
                let expected =
                    if step == 1 || len < 2 { Order::Consecutive } else { Order::Ascending };
                assert_eq!(order(&row), expected, "len {len} step {step}");
                assert_eq!(naive(&row), expected);
                for at in 0..len.saturating_sub(1) {
                    for (a, b) in [(1, 0), (0, 0), (0, 2)] {
                        let mut broken = row.clone();
                        broken[at].0 = Uid::new(step * at as u16 + a + 3);
                        broken[at + 1].0 = Uid::new(step * at as u16 + b + 3);
                        assert_eq!(order(&broken), naive(&broken), "len {len} at {at}");
                    }
                    let mut gap = row.clone();
                    for entry in &mut gap[at + 1..] {
                        entry.0 = Uid::new(entry.0.get() + 1);
                    }
                    assert_eq!(order(&gap), naive(&gap), "len {len} gap at {at}");
                    assert_eq!(order(&gap), Order::Ascending);
                }
            }
        }
    }
}
