//! The dense kernel against the reference sparse kernel: the same output, bit for bit, on
//! random subnets in every corner the epoch has (dense and sparse weights, explicit zeros,
//! liquid alpha, both bond models, commit-reveal masks, an owner, permits, stake thresholds,
//! fresh registrations, inactive validators).

use proptest::prelude::*;
use substrate_fixed::types::I64F64;
use tao_primitives::{AlphaRao, BlockNumber, Uid};
use tao_yuma::{
    epoch, epoch_with, epoch_with_threads, BondModel, CommitReveal, Kernel, LiquidAlpha, Params,
    YumaInput,
};

use crate::bench::Rng;

/// A random subnet of `n` UIDs from `seed`.
pub fn random_subnet(seed: u64, n: usize) -> YumaInput {
    let mut rng = Rng(seed | 1);
    let block = 100 + rng.below(200);
    // How full the weight rows are: some subnets sparse, most dense.
    let density = [5u64, 30, 80, 100, 100][rng.below(5) as usize];
    let validators = 1 + rng.below(n as u64) as usize;
    let is_validator: Vec<bool> = (0..n).map(|i| i < validators || rng.chance(10)).collect();
    let stake = (0..n)
        .map(|i| {
            let base = if is_validator[i] { 1_000 + rng.below(1_000_000_000) } else { 0 };
            let value = match rng.below(10) {
                0 => 0,
                1 => rng.below(50),
                _ => base,
            };
            let value = I64F64::from_num(value) + I64F64::from_bits(i128::from(rng.below(1 << 20)));
            // Now and then a negative stake: normalized stake and active stake then leave
            // [0, 1], and the dense kernel must take its general (saturating) paths.
            if rng.chance(2) {
                -value
            } else {
                value
            }
        })
        .collect();
    let row = |rng: &mut Rng, percent: u64| -> Vec<(Uid, u16)> {
        let mut row: Vec<(Uid, u16)> = Vec::new();
        for j in 0..n {
            if rng.chance(percent) {
                row.push((Uid::new(j as u16), rng.u16()));
            }
        }
        // Rows need not be sorted.
        if rng.chance(30) {
            row.reverse();
        }
        row
    };
    let weights = (0..n)
        .map(
            |i| if is_validator[i] || rng.chance(10) { row(&mut rng, density) } else { Vec::new() },
        )
        .collect();
    let bonds = (0..n)
        .map(
            |i| if is_validator[i] && rng.chance(80) { row(&mut rng, density) } else { Vec::new() },
        )
        .collect();
    let liquid_alpha = if rng.chance(50) {
        let (a, b) = (rng.u16(), rng.u16());
        let steepness = match rng.below(3) {
            0 => 1_000,
            1 => rng.next() as i16,
            _ => -(rng.below(2_000) as i16),
        };
        LiquidAlpha::On { alpha_low: a.min(b), alpha_high: a.max(b), steepness }
    } else {
        LiquidAlpha::Off
    };
    let commit_reveal = if rng.chance(30) {
        CommitReveal::On {
            first_commit: (0..n)
                .map(|_| rng.chance(60).then(|| BlockNumber::new(rng.below(block + 10))))
                .collect(),
        }
    } else {
        CommitReveal::Off
    };
    YumaInput {
        block: BlockNumber::new(block),
        tempo: 1 + rng.below(100) as u16,
        last_epoch_block: BlockNumber::new(if rng.chance(30) { 0 } else { rng.below(block) }),
        activity_cutoff: rng.below(300),
        stake,
        stake_threshold: if rng.chance(30) { rng.below(1_000_000) } else { 0 },
        owner: (n > 0 && rng.chance(40)).then(|| Uid::new(rng.below(n as u64) as u16)),
        validator_permit: (0..n).map(|i| is_validator[i] && rng.chance(90)).collect(),
        last_update: (0..n)
            .map(|_| {
                BlockNumber::new(if rng.chance(85) {
                    block - rng.below(10)
                } else {
                    rng.below(block)
                })
            })
            .collect(),
        block_at_registration: (0..n)
            .map(|_| {
                BlockNumber::new(if rng.chance(85) { rng.below(20) } else { rng.below(block + 5) })
            })
            .collect(),
        weights,
        bonds,
        commit_reveal,
        params: Params {
            kappa: match rng.below(4) {
                0 => 32_767,
                _ => rng.u16(),
            },
            bonds_penalty: rng.u16(),
            bonds_moving_average: match rng.below(4) {
                0 => 900_000,
                1 => 1_000_000,
                2 => 0,
                _ => rng.below(1_000_001),
            },
            max_allowed_validators: rng.below(n as u64 + 3) as u16,
            bond_model: if rng.chance(50) { BondModel::Yuma3 } else { BondModel::Classic },
            liquid_alpha,
        },
        emission: AlphaRao::new(rng.next() >> rng.below(64)),
    }
}

fn assert_kernels_agree(input: &YumaInput) {
    let sparse = epoch_with(input, Kernel::Sparse).expect("valid input");
    let dense = epoch_with_threads(input, Kernel::Dense, 1).expect("valid input");
    assert_eq!(dense, sparse);
    // Two threads: the block split in row bands and column ranges, whatever its size.
    let split = epoch_with_threads(input, Kernel::Dense, 2).expect("valid input");
    assert_eq!(split, sparse, "two threads");
    assert_eq!(epoch(input).expect("valid input"), sparse);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(600))]

    /// Small subnets: every corner, many cases.
    #[test]
    fn dense_kernel_equals_the_reference(seed in any::<u64>(), n in 0usize..24) {
        assert_kernels_agree(&random_subnet(seed, n));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Subnets of chain size: long columns for the median, many bonds per row.
    #[test]
    fn dense_kernel_equals_the_reference_at_size(seed in any::<u64>(), n in 64usize..300) {
        assert_kernels_agree(&random_subnet(seed, n));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Full, sorted weight and bond rows (the dense kernel fills those in column order,
    /// without lookups) beside empty ones, with every mask, the owner and the permits.
    #[test]
    fn full_sorted_rows_equal_the_reference(seed in any::<u64>(), n in 1usize..40) {
        let mut input = random_subnet(seed, n);
        let mut rng = Rng(seed ^ 0xF011_F011);
        for row in input.weights.iter_mut().chain(input.bonds.iter_mut()) {
            if !row.is_empty() || rng.chance(30) {
                *row = (0..n).map(|j| (Uid::new(j as u16), rng.u16())).collect();
            }
        }
        assert_kernels_agree(&input);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Consecutive weight and bond rows (UIDs `a..=b`, which the block's shape marks as a
    /// range and skips when within the ranges marked before): nested, overlapping,
    /// adjacent and disjoint ranges, empty rows, and rows with a gap, in any order.
    #[test]
    fn consecutive_rows_equal_the_reference(seed in any::<u64>(), n in 1usize..40) {
        let mut input = random_subnet(seed, n);
        let mut rng = Rng(seed ^ 0xC0_5EC0);
        for row in input.weights.iter_mut().chain(input.bonds.iter_mut()) {
            if row.is_empty() && !rng.chance(30) {
                continue;
            }
            let a = rng.below(n as u64) as usize;
            let b = a + rng.below((n - a) as u64) as usize;
            let gap = if rng.chance(20) { Some(a + rng.below((b - a + 1) as u64) as usize) } else { None };
            *row = (a..=b)
                .filter(|j| Some(*j) != gap)
                .map(|j| (Uid::new(j as u16), rng.u16()))
                .collect();
        }
        assert_kernels_agree(&input);
    }
}

/// The consensus on a tile of sixteen columns whose scores are all below one runs on the
/// 32-bit copy alone (`fast::radix_pair`); a tile with a score of one (a validator whose
/// whole weight is on one miner) is copied again in `i64` and takes the per-strip path.
/// Both against the reference, with every tile full (48 miners) and with a last, partial
/// tile (45), for both bond models.
#[test]
fn narrow_and_wide_tiles_equal_the_reference() {
    for (miners, model, one_hot) in [
        (48usize, BondModel::Yuma3, false),
        (48, BondModel::Yuma3, true),
        (45, BondModel::Classic, true),
        (45, BondModel::Yuma3, false),
    ] {
        let case = match model {
            BondModel::Yuma3 => crate::bench::Case::Yuma3,
            BondModel::Classic => crate::bench::Case::Classic,
        };
        let validators = 20;
        let mut input = crate::bench::subnet(validators + miners, validators, case, 3);
        if one_hot {
            // Validator 4's whole weight on miner 7 (the first tile), zero elsewhere.
            for (uid, w) in input.weights[4].iter_mut() {
                *w = if uid.index() == validators + 7 { 1_000 } else { 0 };
            }
        }
        assert_kernels_agree(&input);
    }
}

/// Multi-epoch: bonds from the dense kernel feed the next epoch, with liquid alpha on and
/// a dense subnet, for both bond models.
#[test]
fn kernels_agree_over_epochs() {
    for (seed, model) in [(7u64, BondModel::Yuma3), (11, BondModel::Classic)] {
        let mut input = random_subnet(seed, 48);
        input.params.bond_model = model;
        input.params.liquid_alpha =
            LiquidAlpha::On { alpha_low: 45_875, alpha_high: 58_982, steepness: 1_000 };
        for step in 0..6u64 {
            let sparse = epoch_with(&input, Kernel::Sparse).expect("valid");
            let dense = epoch_with(&input, Kernel::Dense).expect("valid");
            assert_eq!(dense, sparse, "epoch {step}");
            let one_thread = epoch_with_threads(&input, Kernel::Dense, 1).expect("valid");
            assert_eq!(one_thread, sparse, "epoch {step}, one thread");
            input.bonds = dense.bonds_u16();
            input.validator_permit = dense.validator_permit.clone();
            input.last_epoch_block = input.block;
            input.block = BlockNumber::new(input.block.get() + 10);
            for u in input.last_update.iter_mut() {
                *u = BlockNumber::new(input.block.get() - 1);
            }
        }
    }
}

/// Each thread keeps its last block's buffers for the next epoch, and a dropped output hands
/// its bond block back to them: an epoch's output must not depend on what the thread ran
/// before (large blocks, small ones, full ones, in turn; outputs dropped, held, cloned),
/// against the same inputs on fresh threads.
#[test]
fn reused_buffers_leave_no_trace() {
    let mut inputs: Vec<YumaInput> = [(3u64, 200usize), (5, 30), (8, 120), (13, 7)]
        .iter()
        .map(|&(seed, n)| random_subnet(seed, n))
        .collect();
    inputs.push(crate::bench::subnet(256, 64, crate::bench::Case::Yuma3, 1));
    let fresh: Vec<_> = inputs
        .iter()
        .map(|input| {
            std::thread::scope(|scope| {
                scope.spawn(|| epoch_with_threads(input, Kernel::Dense, 1)).join()
            })
            .expect("thread")
            .expect("valid")
        })
        .collect();
    for round in 0..3 {
        for (k, (input, expected)) in inputs.iter().zip(&fresh).enumerate() {
            let again = epoch_with_threads(input, Kernel::Dense, 1).expect("valid");
            assert_eq!(&again, expected, "round {round}, input {k}");
        }
        inputs.reverse();
        let mut order: Vec<_> = fresh.iter().collect();
        order.reverse();
        for (input, expected) in inputs.iter().zip(order) {
            assert_eq!(&epoch(input).expect("valid"), expected);
        }
        inputs.reverse();
    }
    // An output held while its clone is dropped (the clone's block goes back) and the next
    // epochs run: neither the held output nor theirs changes.
    let held = epoch_with_threads(&inputs[4], Kernel::Dense, 1).expect("valid");
    drop(held.clone());
    for (k, (input, expected)) in inputs.iter().zip(&fresh).enumerate() {
        assert_eq!(&epoch_with_threads(input, Kernel::Dense, 1).expect("valid"), expected, "{k}");
    }
    assert_eq!(held, fresh[4], "the held output");
}
