//! Property tests over random subnets: sums, ranges, relabelling, determinism, conservation,
//! and typed errors for malformed inputs.

use proptest::prelude::*;
use substrate_fixed::types::{I32F32, I64F64};
use tao_primitives::{AlphaRao, BlockNumber, Uid};
use tao_yuma::{epoch, BondModel, CommitReveal, LiquidAlpha, Params, YumaError, YumaInput};

fn params() -> impl Strategy<Value = Params> {
    let liquid = prop_oneof![
        Just(LiquidAlpha::Off),
        (any::<u16>(), any::<u16>(), any::<i16>()).prop_map(|(a, b, steepness)| {
            LiquidAlpha::On { alpha_low: a.min(b), alpha_high: a.max(b), steepness }
        }),
    ];
    let model = prop_oneof![Just(BondModel::Classic), Just(BondModel::Yuma3)];
    // Permits: often fewer than the UIDs (the top-k by stake decides who validates), down
    // to none; sometimes more than enough.
    let permits = prop_oneof![3 => 0u16..12, 1 => Just(64u16)];
    (any::<u16>(), any::<u16>(), 0u64..=1_000_000, model, liquid, permits).prop_map(
        |(kappa, bonds_penalty, bonds_moving_average, bond_model, liquid_alpha, permits)| Params {
            kappa,
            bonds_penalty,
            bonds_moving_average,
            max_allowed_validators: permits,
            bond_model,
            liquid_alpha,
        },
    )
}

fn sparse_rows(n: usize, rows: usize) -> impl Strategy<Value = Vec<Vec<(Uid, u16)>>> {
    proptest::collection::vec(
        proptest::collection::btree_map(0..n as u16, any::<u16>(), 0..=n),
        rows,
    )
    .prop_map(|rows| {
        rows.into_iter().map(|r| r.into_iter().map(|(j, w)| (Uid::new(j), w)).collect()).collect()
    })
}

/// The subnet owner's UID: none, or any UID (permitted or not, staked or not).
fn owner(n: usize) -> impl Strategy<Value = Option<Uid>> {
    prop_oneof![Just(None), (0..n as u16).prop_map(|uid| Some(Uid::new(uid)))]
}

/// The stake threshold: off, or somewhere in the range of the drawn stakes (so it drops
/// some stakes and keeps others).
fn stake_threshold() -> impl Strategy<Value = u64> {
    prop_oneof![Just(0u64), 1u64..100, 1u64..1_000_000_000_000]
}

/// Commit-reveal: off, or on with each UID's earliest commit (none, or a block around the
/// registrations, so the mask drops some weights and keeps others).
fn commit_reveal(n: usize) -> impl Strategy<Value = CommitReveal> {
    prop_oneof![
        Just(CommitReveal::Off),
        proptest::collection::vec(proptest::option::of(0u64..45), n).prop_map(|first| {
            CommitReveal::On {
                first_commit: first.into_iter().map(|b| b.map(BlockNumber::new)).collect(),
            }
        }),
    ]
}

/// Random subnets of 2..12 neurons in every corner the epoch has: an owner, a stake
/// threshold, commit-reveal masks, and fewer validator permits than UIDs.
fn subnet() -> impl Strategy<Value = YumaInput> {
    (2usize..12).prop_flat_map(|n| {
        (
            proptest::collection::vec(prop_oneof![Just(0u64), 0u64..1_000_000_000_000], n),
            proptest::collection::vec(any::<bool>(), n),
            proptest::collection::vec(0u64..40, n),
            proptest::collection::vec(0u64..40, n),
            sparse_rows(n, n),
            sparse_rows(n, n),
            params(),
            (20u64..60, 1u16..30, 0u64..60, 1u64..50),
            any::<u64>(),
            (owner(n), stake_threshold(), commit_reveal(n)),
        )
            .prop_map(
                |(
                    stake,
                    permit,
                    last_update,
                    registered,
                    weights,
                    bonds,
                    params,
                    blocks,
                    emission,
                    (owner, stake_threshold, commit_reveal),
                )| {
                    let (block, tempo, last_epoch, cutoff) = blocks;
                    YumaInput {
                        block: BlockNumber::new(block),
                        tempo,
                        last_epoch_block: BlockNumber::new(last_epoch.min(block)),
                        activity_cutoff: cutoff,
                        stake: stake.into_iter().map(I64F64::from_num).collect(),
                        stake_threshold,
                        owner,
                        validator_permit: permit,
                        last_update: last_update.into_iter().map(BlockNumber::new).collect(),
                        block_at_registration: registered
                            .into_iter()
                            .map(BlockNumber::new)
                            .collect(),
                        weights,
                        bonds,
                        commit_reveal,
                        params,
                        emission: AlphaRao::new(emission % 1_000_000_000_000_000),
                    }
                },
            )
    })
}

/// How often the drawn subnets reach each corner: every property runs over owners,
/// thresholds that drop stake, commit-reveal masks and binding permit limits.
#[test]
fn the_generator_reaches_every_corner() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let (mut owned, mut thresholded, mut masked, mut binding) = (0, 0, 0, 0);
    let cases = 400;
    for _ in 0..cases {
        let input = subnet().new_tree(&mut runner).unwrap().current();
        owned += usize::from(input.owner.is_some());
        let dropped = input.stake.iter().any(|s| {
            *s > I64F64::from_num(0) && s.saturating_to_num::<u64>() < input.stake_threshold
        });
        thresholded += usize::from(dropped);
        masked += usize::from(matches!(&input.commit_reveal, CommitReveal::On { first_commit }
            if first_commit.iter().any(Option::is_some)));
        let staked = input.stake.iter().filter(|s| **s > I64F64::from_num(0)).count();
        binding += usize::from(usize::from(input.params.max_allowed_validators) < staked);
    }
    for (what, count) in [
        ("owner", owned),
        ("threshold", thresholded),
        ("commit-reveal", masked),
        ("permits", binding),
    ] {
        assert!(count >= cases / 10, "{what}: {count} of {cases}");
    }
}

fn total(values: &[I32F32]) -> I32F32 {
    values.iter().fold(I32F32::from_num(0), |a, v| a + *v)
}

/// A vector of shares sums to 1 up to one truncation per element, or is all zero.
fn sums_to_one_or_zero(values: &[I32F32]) -> bool {
    let sum = total(values);
    let slack = I32F32::from_bits(values.len() as i64 + 1);
    sum == I32F32::from_num(0) || (sum - I32F32::from_num(1)).abs() <= slack
}

fn in_unit_interval(values: &[I32F32]) -> bool {
    values.iter().all(|v| *v >= I32F32::from_num(0) && *v <= I32F32::from_num(1))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn shares_sum_to_one_or_zero_and_stay_in_range(input in subnet()) {
        let out = epoch(&input).unwrap();
        prop_assert!(sums_to_one_or_zero(&out.incentive), "incentive {:?}", out.incentive);
        prop_assert!(sums_to_one_or_zero(&out.dividends), "dividends {:?}", out.dividends);
        prop_assert!(sums_to_one_or_zero(&out.stake));
        for v in [&out.incentive, &out.dividends, &out.consensus, &out.validator_trust, &out.stake, &out.active_stake, &out.trust] {
            prop_assert!(in_unit_interval(v), "{:?}", v);
        }
        let bonds = out.bonds.to_rows();
        for row in &bonds {
            prop_assert!(row.iter().all(|(_, b)| *b > I32F32::from_num(0) && *b <= I32F32::from_num(1)));
        }
        prop_assert_eq!(out.bonds.len(), out.validator_permit.len());
        prop_assert!(!out.bonds.is_empty());
        for (row, permit) in bonds.iter().zip(&out.validator_permit) {
            prop_assert!(*permit || row.is_empty());
        }
    }

    #[test]
    fn emission_paid_never_exceeds_the_emission(input in subnet()) {
        let out = epoch(&input).unwrap();
        let paid: u128 = out.server_emission.iter().chain(&out.validator_emission).map(|e| u128::from(e.get())).sum();
        let emission = u128::from(input.emission.get());
        let n = input.stake.len() as u128;
        prop_assert!(paid <= emission, "paid {paid} of {emission}");
        // Each share truncates by less than one unit and shares sum to 1 up to n ulps.
        let any_share = total(&out.incentive) + total(&out.dividends) > I32F32::from_num(0)
            || total(&out.stake) > I32F32::from_num(0);
        if any_share {
            let slack = 2 * n + (emission * (n + 2)) / (1u128 << 31) + 1;
            prop_assert!(paid + slack >= emission, "paid {paid} of {emission}, slack {slack}");
        }
    }

    #[test]
    fn same_input_same_bits(input in subnet()) {
        prop_assert_eq!(epoch(&input).unwrap(), epoch(&input.clone()).unwrap());
    }

    /// Giving every neuron a new UID permutes every output the same way.
    #[test]
    fn relabelling_uids_permutes_outputs(input in subnet(), seed in any::<u64>()) {
        let n = input.stake.len();
        // A permutation from the seed (Fisher-Yates with a small LCG).
        let mut perm: Vec<usize> = (0..n).collect();
        let mut state = seed | 1;
        for i in (1..n).rev() {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            perm.swap(i, (state >> 33) as usize % (i + 1));
        }
        let relabel_rows = |rows: &Vec<Vec<(Uid, u16)>>| -> Vec<Vec<(Uid, u16)>> {
            let mut out = vec![Vec::new(); n];
            for (i, row) in rows.iter().enumerate() {
                out[perm[i]] = row.iter().map(|(j, w)| (Uid::new(perm[j.index()] as u16), *w)).collect();
            }
            out
        };
        fn permute<T: Clone + Default>(v: &[T], perm: &[usize]) -> Vec<T> {
            let mut out = vec![T::default(); v.len()];
            for (i, x) in v.iter().enumerate() {
                out[perm[i]] = x.clone();
            }
            out
        }
        let mut moved = input.clone();
        moved.stake = permute(&input.stake, &perm);
        moved.validator_permit = permute(&input.validator_permit, &perm);
        moved.last_update = permute(&input.last_update, &perm);
        moved.block_at_registration = permute(&input.block_at_registration, &perm);
        moved.weights = relabel_rows(&input.weights);
        moved.bonds = relabel_rows(&input.bonds);
        moved.owner = input.owner.map(|o| Uid::new(perm[o.index()] as u16));
        if let CommitReveal::On { first_commit } = &input.commit_reveal {
            moved.commit_reveal = CommitReveal::On { first_commit: permute(first_commit, &perm) };
        }

        let a = epoch(&input).unwrap();
        // Permits go to the top stakes; between equal stakes the reference's stable sort
        // prefers the higher UID, which a relabelling may reverse. Equal non-zero
        // normalized stakes are rare in these draws; such a case says nothing here.
        let mut nonzero: Vec<I32F32> = a.stake.iter().copied().filter(|s| *s > I32F32::from_num(0)).collect();
        nonzero.sort();
        let binding = usize::from(input.params.max_allowed_validators) < nonzero.len();
        prop_assume!(!binding || nonzero.windows(2).all(|w| w[0] != w[1]));
        let b = epoch(&moved).unwrap();
        prop_assert_eq!(&permute(&a.incentive, &perm), &b.incentive);
        prop_assert_eq!(&permute(&a.dividends, &perm), &b.dividends);
        prop_assert_eq!(&permute(&a.consensus, &perm), &b.consensus);
        prop_assert_eq!(&permute(&a.validator_trust, &perm), &b.validator_trust);
        prop_assert_eq!(&permute(&a.validator_permit, &perm), &b.validator_permit);
        prop_assert_eq!(&permute(&a.server_emission, &perm), &b.server_emission);
        prop_assert_eq!(&permute(&a.validator_emission, &perm), &b.validator_emission);
        let mut a_bonds: Vec<Vec<(Uid, I32F32)>> = vec![Vec::new(); n];
        for (i, row) in a.bonds.rows().enumerate() {
            let mut row: Vec<(Uid, I32F32)> = row.map(|(j, v)| (Uid::new(perm[j.index()] as u16), v)).collect();
            row.sort_by_key(|(j, _)| *j);
            a_bonds[perm[i]] = row;
        }
        prop_assert_eq!(a_bonds, b.bonds.to_rows());
    }
}

fn valid_input() -> YumaInput {
    YumaInput {
        block: BlockNumber::new(10),
        tempo: 10,
        last_epoch_block: BlockNumber::new(0),
        activity_cutoff: 100,
        stake: vec![I64F64::from_num(1), I64F64::from_num(0)],
        stake_threshold: 0,
        owner: None,
        validator_permit: vec![true, false],
        last_update: vec![BlockNumber::new(5); 2],
        block_at_registration: vec![BlockNumber::new(1); 2],
        weights: vec![vec![(Uid::new(1), u16::MAX)], vec![]],
        bonds: vec![vec![], vec![]],
        commit_reveal: CommitReveal::Off,
        params: Params::default(),
        emission: AlphaRao::new(1_000),
    }
}

#[test]
fn malformed_inputs_are_typed_errors() {
    assert!(epoch(&valid_input()).is_ok());

    let mut input = valid_input();
    input.last_update.pop();
    assert_eq!(
        epoch(&input),
        Err(YumaError::LengthMismatch { field: "last_update", expected: 2, actual: 1 })
    );

    let mut input = valid_input();
    input.weights[0].push((Uid::new(7), 1));
    assert_eq!(
        epoch(&input),
        Err(YumaError::UidOutOfRange { field: "weights", row: 0, uid: 7, n: 2 })
    );

    let mut input = valid_input();
    input.bonds[1] = vec![(Uid::new(0), 1), (Uid::new(0), 2)];
    assert_eq!(epoch(&input), Err(YumaError::DuplicateUid { field: "bonds", row: 1, uid: 0 }));

    let mut input = valid_input();
    input.owner = Some(Uid::new(2));
    assert_eq!(epoch(&input), Err(YumaError::OwnerOutOfRange { uid: 2, n: 2 }));

    let mut input = valid_input();
    input.params.bonds_moving_average = 1_000_001;
    assert!(matches!(
        epoch(&input),
        Err(YumaError::InvalidParam { name: "bonds_moving_average", .. })
    ));

    let mut input = valid_input();
    input.params.liquid_alpha = LiquidAlpha::On { alpha_low: 2, alpha_high: 1, steepness: 1000 };
    assert!(matches!(epoch(&input), Err(YumaError::InvalidParam { name: "alpha_low", .. })));

    let mut input = valid_input();
    input.commit_reveal = CommitReveal::On { first_commit: vec![None] };
    assert!(matches!(
        epoch(&input),
        Err(YumaError::LengthMismatch { field: "commit_reveal.first_commit", .. })
    ));

    let mut input = valid_input();
    input.stake = vec![I64F64::from_num(1); 65_536];
    assert_eq!(epoch(&input), Err(YumaError::TooManyNeurons(65_536)));
}

/// The owner keeps its self-weight and permit and is exempt from the stake threshold;
/// anyone else's self-weight is dropped.
#[test]
fn owner_special_cases() {
    let mut input = valid_input();
    input.stake = vec![I64F64::from_num(10), I64F64::from_num(1)];
    input.validator_permit = vec![true, false];
    input.weights = vec![vec![(Uid::new(0), u16::MAX)], vec![]];
    input.stake_threshold = 5;
    let plain = epoch(&input).unwrap();
    assert_eq!(plain.incentive, vec![I32F32::from_num(0); 2], "self-weight is dropped");
    assert_eq!(plain.stake[1], I32F32::from_num(0), "below threshold");

    input.owner = Some(Uid::new(1));
    input.weights[1] = vec![(Uid::new(1), u16::MAX)];
    input.last_update[1] = BlockNumber::new(5);
    let owned = epoch(&input).unwrap();
    assert!(owned.stake[1] > I32F32::from_num(0), "the owner is exempt from the threshold");
    assert!(owned.validator_permit[1], "the owner always holds a permit");

    // The owner's self-weight survives the diagonal mask: with most of the stake it sets
    // consensus on its own UID, and uid 0's self-weight still does not.
    input.stake = vec![I64F64::from_num(10), I64F64::from_num(30)];
    input.validator_permit = vec![true, true];
    let owned = epoch(&input).unwrap();
    assert_eq!(owned.consensus, vec![I32F32::from_num(0), I32F32::from_num(1)]);
    assert_eq!(owned.incentive, vec![I32F32::from_num(0), I32F32::from_num(1)]);
}

/// With commit-reveal on, a commit made before a miner registered cannot pay it.
#[test]
fn commit_reveal_masks_weights_committed_before_registration() {
    let mut input = valid_input();
    input.block_at_registration = vec![BlockNumber::new(1), BlockNumber::new(4)];
    let direct = epoch(&input).unwrap();
    assert_eq!(direct.incentive[1], I32F32::from_num(1));

    input.commit_reveal = CommitReveal::On { first_commit: vec![Some(BlockNumber::new(3)), None] };
    let masked = epoch(&input).unwrap();
    assert_eq!(masked.incentive[1], I32F32::from_num(0));

    input.commit_reveal = CommitReveal::On { first_commit: vec![Some(BlockNumber::new(4)), None] };
    assert_eq!(epoch(&input).unwrap().incentive[1], I32F32::from_num(1));
}

fn assert_near(
    fixed: &[I32F32],
    float: &[f64],
    tolerance: f64,
    what: &str,
) -> Result<(), TestCaseError> {
    prop_assert_eq!(fixed.len(), float.len(), "{}: lengths", what);
    prop_assert!(!fixed.is_empty(), "{}: nothing to compare", what);
    for (k, (a, b)) in fixed.iter().zip(float).enumerate() {
        let a = a.to_num::<f64>();
        prop_assert!((a - b).abs() <= tolerance, "{what}[{k}]: fixed {a} vs float {b}");
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// The fixed-point sparse epoch agrees with a dense floating-point epoch written
    /// independently from the equations.
    #[test]
    fn agrees_with_the_float_oracle(input in subnet()) {
        let out = epoch(&input).unwrap();
        let oracle = crate::oracle::epoch(&input);
        let tolerance = 1e-6;
        // Bonds (and the dividends made from them) pass through more fixed-point steps —
        // column normalizations with small sums, then the EMA — so their I32F32 rounding can
        // reach ~2e-6 (a saved regression case hits 1.75e-6).
        let bond_tolerance = 1e-5;
        assert_near(&out.consensus, &oracle.consensus, tolerance, "consensus")?;
        assert_near(&out.validator_trust, &oracle.validator_trust, tolerance, "validator_trust")?;
        assert_near(&out.incentive, &oracle.incentive, tolerance, "incentive")?;
        assert_near(&out.dividends, &oracle.dividends, bond_tolerance, "dividends")?;
        for (i, row) in out.bonds.rows().enumerate() {
            let mut dense = vec![I32F32::from_num(0); input.stake.len()];
            for (j, b) in row {
                dense[j.index()] = b;
            }
            let expected: Vec<f64> = (0..input.stake.len()).map(|j| oracle.bond(i, j)).collect();
            assert_near(&dense, &expected, bond_tolerance, &format!("bonds row {i}"))?;
        }
    }
}
