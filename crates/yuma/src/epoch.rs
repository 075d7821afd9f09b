//! The epoch: a recipe of numbered steps, each a small pure function.

use crate::{
    dense, fast,
    math::{self, one, zero, Row},
    workers, BondModel, Bonds, CommitReveal, LiquidAlpha, YumaError, YumaInput, YumaOutput,
};
use tao_primitives::{
    fixed::{
        fixed64_to_fixed32, per_million_to_fixed64, saturating_sum, u16_proportion_to_fixed,
        u16_to_fixed, SafeDiv, I32F32, I64F64,
    },
    AlphaRao, Uid,
};

/// Which implementation runs steps 5–16 (weights through dividends). Both give the same
/// bits (property-tested); they differ only in speed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kernel {
    /// Dense when the validator × miner block is mostly set (as on subnets whose validators
    /// weight most miners) and of bounded size, sparse otherwise. What [`epoch`] uses.
    Auto,
    /// The reference path: sparse rows of `(column, value)`, merged ([`crate::math`]).
    Sparse,
    /// One contiguous validator × miner block, worked row by row (the consensus in column
    /// strips); on two threads split in two halves whatever its size
    /// ([`epoch_with_threads`]).
    Dense,
}

/// Runs one Yuma Consensus epoch (`chain-protocol.md` §4.3, the sparse production path).
///
/// Pure and deterministic: the same input gives the same bits. A malformed input is an
/// error, never a partial result.
pub fn epoch(input: &YumaInput) -> Result<YumaOutput, YumaError> {
    epoch_with(input, Kernel::Auto)
}

/// How many threads [`epoch`] uses: one, the caller's (the output does not depend on it).
///
/// Why not the pool's two on a large epoch: measured at n = 4,096 (256 × 3,840, dense), two
/// threads took 1.6–2.0 ms where one took 2.7–3.4 ms, but in phases of this shared host
/// lasting seconds to minutes every two-thread epoch took 5–8 ms, while one thread, pinned
/// to either vCPU, stayed at 2.7–3.8 ms (minimum). The passes hand the block between the
/// threads (rows filled by one, columns read by the other); a cache-line round trip between
/// two threads, measured between runs, took up to 460 ns instead of ~80 ns at times, so the
/// host placing our vCPUs apart is the likely cause, not a proven one. Splitting each pass
/// in sixteen work-stolen parts instead of two did not help (6.1 ms against 5.9 ms in the
/// same phase). A chain node needs the time it can count on; a caller with many epochs to
/// run (a simulation) gains more by running whole epochs on its own threads, which share
/// nothing, or passes 2 to [`epoch_with_threads`].
pub const DEFAULT_THREADS: usize = 1;

/// [`epoch`] with a chosen [`Kernel`] for steps 5–16 (for tests and benchmarks: every
/// kernel returns the same output).
pub fn epoch_with(input: &YumaInput, kernel: Kernel) -> Result<YumaOutput, YumaError> {
    epoch_with_threads(input, kernel, DEFAULT_THREADS)
}

/// [`epoch_with`] on at most `threads` threads: with `threads ≥ 2` a large input (at least
/// 2¹⁶ weights, or a block of at least 2¹⁶ cells; any input under [`Kernel::Dense`]) runs in
/// the crate's pool of two kept threads, its validation split into weight and bond rows and
/// its block into two row bands and two column ranges, each pair joined by work stealing
/// (a half the other thread is not free to take runs on the thread that split it). The
/// caller waits. The output is the same for every thread count and whichever thread runs
/// which half: the parts are disjoint and their merges order-independent
/// (property-tested).
pub fn epoch_with_threads(
    input: &YumaInput,
    kernel: Kernel,
    threads: usize,
) -> Result<YumaOutput, YumaError> {
    // A large input's epoch runs in the worker pool, where its splits are joined: one hop
    // for the whole epoch (`workers`). A small one stays on this thread.
    let pooled = kernel == Kernel::Dense || input.is_large();
    workers::run(if pooled { threads } else { 1 }, || steps(input, kernel, threads))
}

/// The epoch's steps, on this thread (splits joined in the pool when run there).
fn steps(input: &YumaInput, kernel: Kernel, threads: usize) -> Result<YumaOutput, YumaError> {
    let valid = input.validated(threads)?;
    let n = valid.n;
    let params = &input.params;

    // 1. Activity: a neuron that has not updated its weights within the cutoff is inactive.
    let active = activity(input);

    // 2. Stake, thresholded (the owner is exempt), normalized in I64F64, narrowed to I32F32.
    let stake = normalized_stake(input);

    // 3. Permits: last epoch's decide who counts now; this epoch's are the top stakes.
    let owner = input.owner.map(Uid::index);
    let mut permit = crate::pool::collect(n, input.validator_permit.iter().copied());
    let mut new_permit = fast::is_topk_nonzero(&stake, usize::from(params.max_allowed_validators));
    if let Some(owner) = owner {
        for permits in [&mut permit, &mut new_permit] {
            if let Some(cell) = permits.get_mut(owner) {
                *cell = true;
            }
        }
    }

    // 4. Active stake: stake of active neurons that held a permit, renormalized.
    let active_stake = stake.iter().zip(active.iter().zip(&permit));
    let mut active_stake: Vec<I32F32> = crate::pool::collect(
        n,
        active_stake.map(
            |(s, (is_active, has_permit))| if *is_active && *has_permit { *s } else { zero() },
        ),
    );
    fast::normalize(&mut active_stake);

    // 5-16. Weights, consensus, clipping, rank, incentive, bonds and dividends: on sparse
    // rows (below) or on a dense validator × miner block (`dense.rs`), the same bits.
    let dense = match kernel {
        Kernel::Auto => dense::plan(input, &valid, &permit, &active_stake, false),
        Kernel::Sparse => None,
        Kernel::Dense => dense::plan(input, &valid, &permit, &active_stake, true),
    };
    let matrix = match dense {
        Some(shape) => {
            // Split in two when large (any block under `Kernel::Dense`, so that tests reach
            // every split). A large block of a smaller input hops into the pool here; in it
            // already, it runs on.
            let split = kernel == Kernel::Dense || shape.is_large();
            let threads = if split { threads } else { 1 };
            workers::run(threads, || {
                dense::matrix(input, shape, &permit, &active_stake, n, threads)
            })
        }
        None => sparse_matrix(input, &permit, &active_stake, n),
    };

    // 17. Emission split.
    let split =
        emission_split(&matrix.incentive, &matrix.dividends, &stake, &active_stake, input.emission);

    // 18. Bond rows are kept only for neurons holding a permit after this epoch.
    let mut bonds = matrix.bonds;
    for (i, keep) in new_permit.iter().enumerate() {
        if !*keep {
            bonds.clear(i);
        }
    }
    crate::pool::give(permit);
    crate::pool::give(valid.sorted_weights);
    crate::pool::give(valid.sorted_bonds);

    Ok(YumaOutput {
        active,
        stake,
        active_stake,
        validator_permit: new_permit,
        consensus: matrix.consensus,
        rank: matrix.rank,
        trust: matrix.trust,
        incentive: matrix.incentive,
        dividends: matrix.dividends,
        validator_trust: matrix.validator_trust,
        bonds,
        server_emission: split.server,
        validator_emission: split.validator,
        combined_emission: split.combined,
    })
}

/// What steps 5–16 produce, per UID.
pub(crate) struct Matrix {
    pub(crate) consensus: Vec<I32F32>,
    pub(crate) rank: Vec<I32F32>,
    pub(crate) trust: Vec<I32F32>,
    pub(crate) incentive: Vec<I32F32>,
    pub(crate) validator_trust: Vec<I32F32>,
    pub(crate) dividends: Vec<I32F32>,
    /// Bond rows before step 18 (every row, permit or not).
    pub(crate) bonds: Bonds,
}

/// Steps 5–16 on sparse rows: the reference path.
fn sparse_matrix(input: &YumaInput, permit: &[bool], active_stake: &[I32F32], n: usize) -> Matrix {
    let params = &input.params;

    // 5-10. Weights: permitted rows, no self-weight (but the owner's), nothing outdated or
    // committed before the target registered; row-normalized.
    let weights = prepared_weights(input, permit);

    // 11. Consensus: the stake-weighted median of each column at majority kappa.
    let kappa = u16_proportion_to_fixed(params.kappa);
    let consensus = math::weighted_median_col(active_stake, &weights, n, kappa);

    // 12-13. Clip weights to consensus; validator trust is what survives of each row.
    let clipped = math::col_clip(&weights, &consensus);
    let validator_trust = math::row_sum(&clipped);

    // 14. Rank, trust (informative), incentive.
    let rank = math::matmul(&clipped, active_stake, n);
    let unclipped_rank = math::matmul(&weights, active_stake, n);
    let trust = rank.iter().zip(&unclipped_rank).map(|(r, u)| r.safe_div(*u)).collect();
    let mut incentive = rank.clone();
    math::normalize(&mut incentive);

    // 15. Weights for bonds: from raw (penalty 0) to clipped (penalty 1).
    let penalty = u16_proportion_to_fixed(params.bonds_penalty);
    let weights_for_bonds = math::interpolate(&weights, &clipped, penalty);

    // 16. Bonds and dividends.
    let bonds = masked_bonds(input, n);
    let (dividends, bonds) = match params.bond_model {
        BondModel::Yuma3 => {
            yuma3_bonds(input, &weights_for_bonds, bonds, &consensus, &incentive, active_stake, n)
        }
        BondModel::Classic => {
            classic_bonds(input, &weights_for_bonds, bonds, &incentive, active_stake, n)
        }
    };
    let bonds = Bonds::from_rows(
        bonds
            .into_iter()
            .map(|row| row.into_iter().map(|(j, v)| (Uid::new(j), v)).collect())
            .collect(),
    );

    Matrix { consensus, rank, trust, incentive, validator_trust, dividends, bonds }
}

/// Step 1: `active_i = last_update_i + cutoff ≥ block`.
fn activity(input: &YumaInput) -> Vec<bool> {
    let updates = input.last_update.iter();
    let active = updates
        .map(|updated| updated.get().saturating_add(input.activity_cutoff) >= input.block.get());
    crate::pool::collect(input.last_update.len(), active)
}

/// Step 2: stake below the threshold (except the owner's) is ignored; normalized in I64F64
/// (`fast::normalized_stake`: `math::normalize_64` narrowed to I32F32, bit for bit).
fn normalized_stake(input: &YumaInput) -> Vec<I32F32> {
    if input.stake_threshold == 0 {
        // No stake is below 0 (`saturating_to_num::<u64>` is at least 0): the stakes as
        // they are, not copied.
        return fast::normalized_stake(&input.stake);
    }
    let owner = input.owner.map(Uid::index);
    let stake: Vec<I64F64> = input
        .stake
        .iter()
        .enumerate()
        .map(|(uid, s)| {
            let below = s.saturating_to_num::<u64>() < input.stake_threshold;
            if below && owner != Some(uid) {
                I64F64::from_num(0)
            } else {
                *s
            }
        })
        .collect();
    fast::normalized_stake(&stake)
}

/// Steps 5-10: the weight matrix the consensus sees.
fn prepared_weights(input: &YumaInput, permit: &[bool]) -> Vec<Row> {
    let registered =
        |j: u16| input.block_at_registration.get(usize::from(j)).map_or(0, |b| b.get());
    let first_commit = |i: usize| match &input.commit_reveal {
        CommitReveal::Off => None,
        CommitReveal::On { first_commit } => first_commit.get(i).copied().flatten(),
    };
    let owner = input.owner.map(Uid::get);
    let mut rows: Vec<Row> = input
        .weights
        .iter()
        .enumerate()
        .map(|(i, row)| {
            // 6. Only rows of validators that held a permit.
            if !permit.get(i).copied().unwrap_or(false) {
                return Vec::new();
            }
            let updated = input.last_update.get(i).map_or(0, |b| b.get());
            let committed = first_commit(i);
            let mut row: Row = row
                .iter()
                .map(|(uid, w)| (uid.get(), *w))
                // 7. No self-weight, except the subnet owner's.
                .filter(|(j, _)| usize::from(*j) != i || owner == Some(*j))
                // 8. A weight set before the target (re)registered is outdated.
                .filter(|(j, _)| updated > registered(*j))
                // 9. A commit made before the target registered cannot pay it.
                .filter(|(j, _)| committed.is_none_or(|c| c.get() >= registered(*j)))
                .map(|(j, w)| (j, u16_to_fixed(w)))
                .collect();
            row.sort_by_key(|(j, _)| *j);
            row
        })
        .collect();
    // 10. Row-normalize.
    math::row_normalize(&mut rows);
    rows
}

/// Stored bonds without the columns of neurons registered since the last epoch. Yuma3 reads
/// them as proportions of 65535, the classic model as raw integers.
fn masked_bonds(input: &YumaInput, n: usize) -> Vec<Row> {
    let last_tempo = last_tempo(input);
    let to_fixed = match input.params.bond_model {
        BondModel::Yuma3 => u16_proportion_to_fixed,
        BondModel::Classic => u16_to_fixed,
    };
    input
        .bonds
        .iter()
        .take(n)
        .map(|row| {
            let mut row: Row = row
                .iter()
                .filter(|(j, _)| {
                    let registered =
                        input.block_at_registration.get(j.index()).map_or(0, |b| b.get());
                    last_tempo > registered
                })
                .map(|(j, b)| (j.get(), to_fixed(*b)))
                .collect();
            row.sort_by_key(|(j, _)| *j);
            row
        })
        .collect()
}

/// The block after the last epoch (or a tempo ago on the first): bonds to neurons
/// registered since are dropped.
pub(crate) fn last_tempo(input: &YumaInput) -> u64 {
    if input.last_epoch_block.get() == 0 {
        input.block.get().saturating_sub(u64::from(input.tempo))
    } else {
        input.last_epoch_block.get().saturating_add(1)
    }
}

/// The fixed bond EMA rate `1 − bonds_moving_average / 10^6`.
pub(crate) fn fixed_alpha(bonds_moving_average: u64) -> I32F32 {
    one().saturating_sub(fixed64_to_fixed32(per_million_to_fixed64(bonds_moving_average)))
}

/// §4.5: Yuma3 bonds (absolute, EMA toward the weights) and dividends (bond share ×
/// incentive, weighted by active stake). Returns the dividends and the bonds to store.
fn yuma3_bonds(
    input: &YumaInput,
    weights_for_bonds: &[Row],
    bonds: Vec<Row>,
    consensus: &[I32F32],
    incentive: &[I32F32],
    active_stake: &[I32F32],
    n: usize,
) -> (Vec<I32F32>, Vec<Row>) {
    let params = &input.params;
    let has_consensus = consensus.iter().any(|c| *c != zero());
    let ema_bonds = match params.liquid_alpha {
        LiquidAlpha::On { alpha_low, alpha_high, steepness } if has_consensus => {
            let curve = math::AlphaCurve::new(
                u16_proportion_to_fixed(alpha_low),
                u16_proportion_to_fixed(alpha_high),
                I32F32::from_num(steepness),
            );
            math::ema_per_cell(weights_for_bonds, &bonds, |_, j, weight, bond| {
                let c = consensus.get(usize::from(j)).copied().unwrap_or_default();
                curve.alpha(c, weight, bond)
            })
        }
        _ => math::ema(weights_for_bonds, &bonds, fixed_alpha(params.bonds_moving_average)),
    };
    let mut share = ema_bonds.clone();
    math::col_normalize(&mut share, n);
    let bonded_incentive = math::row_sum(&math::col_scale(&share, incentive));
    let mut dividends: Vec<I32F32> = bonded_incentive
        .iter()
        .zip(active_stake)
        .map(|(b, s)| b.checked_mul(*s).unwrap_or_default())
        .collect();
    math::normalize(&mut dividends);
    (dividends, ema_bonds)
}

/// §4.6: classic bonds (column-normalized stake-weighted weights, EMA) and dividends
/// (bonds × incentive). Returns the dividends and the column-max-upscaled bonds to store.
fn classic_bonds(
    input: &YumaInput,
    weights_for_bonds: &[Row],
    mut bonds: Vec<Row>,
    incentive: &[I32F32],
    active_stake: &[I32F32],
    n: usize,
) -> (Vec<I32F32>, Vec<Row>) {
    math::col_normalize(&mut bonds, n);
    let mut delta = math::row_scale(weights_for_bonds, active_stake);
    math::col_normalize(&mut delta, n);
    let mut ema_bonds = math::ema(&delta, &bonds, fixed_alpha(input.params.bonds_moving_average));
    math::col_normalize(&mut ema_bonds, n);
    let mut dividends = math::matmul_transpose(&ema_bonds, incentive);
    math::normalize(&mut dividends);
    math::col_max_upscale(&mut ema_bonds, n);
    (dividends, ema_bonds)
}

/// The epoch's emission in alpha per UID.
struct EmissionSplit {
    server: Vec<AlphaRao>,
    validator: Vec<AlphaRao>,
    combined: Vec<AlphaRao>,
}

/// §4.6.3: miners get incentive, validators dividends, both over `Σ(I + D)`; if nobody
/// earned anything, validators are paid by active stake (or by stake if none is active).
fn emission_split(
    incentive: &[I32F32],
    dividends: &[I32F32],
    stake: &[I32F32],
    active_stake: &[I32F32],
    emission: AlphaRao,
) -> EmissionSplit {
    // The usual epoch (incentive and dividends in [0, 1], someone earned): the three
    // payouts in one pass (`fast::emission_shares`, the same bits as below).
    if let Some([server, validator, combined]) =
        fast::emission_shares(incentive, dividends, emission.get())
    {
        return EmissionSplit { server, validator, combined };
    }
    emission_split_general(incentive, dividends, stake, active_stake, emission)
}

/// [`emission_split`] step by step, for any input.
fn emission_split_general(
    incentive: &[I32F32],
    dividends: &[I32F32],
    stake: &[I32F32],
    active_stake: &[I32F32],
    emission: AlphaRao,
) -> EmissionSplit {
    let combined: Vec<I32F32> =
        incentive.iter().zip(dividends).map(|(i, d)| i.saturating_add(*d)).collect();
    let total = fast::sum(&combined);
    let mut server = incentive.to_vec();
    let mut validator = dividends.to_vec();
    let mut combined_share = combined;
    fast::normalize_with_sum(&mut server, total);
    fast::normalize_with_sum(&mut validator, total);
    fast::normalize(&mut combined_share);
    if total == zero() {
        let fallback =
            if saturating_sum(active_stake.iter()) == zero() { stake } else { active_stake };
        validator = fallback.to_vec();
        combined_share = fallback.to_vec();
    }
    // Each share times the emission in `I96F32`, to whole rao (`fast::share_of`, exact).
    let to_alpha = |shares: &[I32F32]| -> Vec<AlphaRao> {
        shares.iter().map(|s| AlphaRao::new(fast::share_of(*s, emission.get()))).collect()
    };
    EmissionSplit {
        server: to_alpha(&server),
        validator: to_alpha(&validator),
        combined: to_alpha(&combined_share),
    }
}

/// Deletes every bond pointing to `uid` (a new miner took the UID, or it asked for a reset
/// as in `do_reset_bonds`).
pub fn reset_bonds_to(bonds: &mut [Vec<(Uid, u16)>], uid: Uid) {
    for row in bonds.iter_mut() {
        row.retain(|(j, _)| *j != uid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The one-pass split (`fast::emission_shares`) pays what the step-by-step one does,
    /// on vectors inside its range (normalized, with zeros, ones, sums above one) and
    /// outside it (negative, above one, all zero: the general path then).
    #[test]
    fn emission_split_in_one_pass_is_the_general_split() {
        let mut rng = crate::fast::tests::Rng(0x0E41_5510);
        let mut next = move || rng.next();
        let one = 1i64 << 32;
        let mut fast_paths = 0;
        for round in 0..3_000 {
            let n = (next() % 40) as usize;
            let value = |next: &mut dyn FnMut() -> u64| -> I32F32 {
                let bits = match next() % 10 {
                    0 => 0,
                    1 => one,
                    2 => one - 1,
                    3 => 1,
                    4 if round % 7 == 0 => one + (next() % 1_000) as i64,
                    5 if round % 11 == 0 => -((next() % one as u64) as i64),
                    _ => (next() % (one as u64 + 1)) as i64,
                };
                I32F32::from_bits(bits)
            };
            let mut incentive: Vec<I32F32> = (0..n).map(|_| value(&mut next)).collect();
            let mut dividends: Vec<I32F32> = (0..n).map(|_| value(&mut next)).collect();
            if round % 3 == 0 {
                // As the epoch hands them over: each normalized.
                fast::normalize(&mut incentive);
                fast::normalize(&mut dividends);
            }
            if round % 13 == 0 {
                dividends.iter_mut().for_each(|d| *d = zero());
            }
            let stake: Vec<I32F32> = (0..n).map(|_| value(&mut next)).collect();
            let active: Vec<I32F32> = (0..n).map(|_| value(&mut next)).collect();
            let amounts = [0, 1, 1_000_000_000, u64::MAX, next()];
            let emission = AlphaRao::new(amounts[round % amounts.len()]);
            let fast = emission_split(&incentive, &dividends, &stake, &active, emission);
            let general = emission_split_general(&incentive, &dividends, &stake, &active, emission);
            assert_eq!(fast.server, general.server, "{incentive:?} {dividends:?}");
            assert_eq!(fast.validator, general.validator, "{incentive:?} {dividends:?}");
            assert_eq!(fast.combined, general.combined, "{incentive:?} {dividends:?}");
            fast_paths += usize::from(
                fast::emission_shares(&incentive, &dividends, emission.get()).is_some(),
            );
        }
        // Both paths were taken, each often.
        assert!((500..2_500).contains(&fast_paths), "{fast_paths}");
    }
}
