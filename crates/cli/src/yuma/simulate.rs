//! Runs a scenario through `tao_yuma::epoch`, keeping state between epochs as a subnet would.

use super::scenario::Scenario;
use tao_primitives::{
    fixed::{I32F32, I64F64},
    AlphaRao, BlockNumber, Rao, Uid,
};
use tao_yuma::{epoch, math, reset_bonds_to, CommitReveal, YumaError, YumaInput};

/// Alpha emitted per simulated epoch (1 alpha), split between miners and validators.
pub const EPOCH_EMISSION: AlphaRao = AlphaRao::new(1_000_000_000);

/// One epoch's results, miners and validators separated.
#[derive(Debug, Clone, PartialEq)]
pub struct EpochResult {
    /// Block the epoch ran at.
    pub block: u64,
    /// Validator stake in this epoch.
    pub stake: Vec<Rao>,
    /// Consensus weight per miner.
    pub consensus: Vec<f64>,
    /// Incentive per miner.
    pub incentive: Vec<f64>,
    /// Dividends per validator.
    pub dividends: Vec<f64>,
    /// Validator trust per validator.
    pub validator_trust: Vec<f64>,
    /// Bonds, validators × miners, as fractions of one.
    pub bonds: Vec<Vec<f64>>,
    /// Alpha earned per miner.
    pub miner_emission: Vec<AlphaRao>,
    /// Alpha earned per validator.
    pub validator_emission: Vec<AlphaRao>,
}

/// Exact conversion of a fixed-point fraction for display and JSON.
fn to_f64(x: I32F32) -> f64 {
    x.to_num::<f64>()
}

/// How a validator's raw scores reach the chain: scaled so the largest is 65535 and rounded
/// (as the SDK does), then max-upscaled by `set_weights`. All-zero scores set no weights.
pub fn quantize(scores: &[f64]) -> Option<Vec<u16>> {
    let max = scores.iter().copied().fold(0.0f64, f64::max);
    if max <= 0.0 {
        return None;
    }
    let raw: Vec<u16> = scores.iter().map(|s| ((s / max) * 65535.0).round() as u16).collect();
    Some(math::vec_u16_max_upscale_to_u16(&raw))
}

/// Runs every epoch of the scenario.
///
/// All neurons register at block 1; one warm-up epoch at block 2 hands out the first
/// validator permits (as a live subnet's previous epoch would). Then each epoch the
/// validators set their weights, one block passes, and the epoch runs. Bonds, permits and
/// weights carry over; `reset_bonds` deletes the bonds to a miner before its epoch.
pub fn run(scenario: &Scenario) -> Result<Vec<EpochResult>, YumaError> {
    let (v, m) = (scenario.validators, scenario.miners);
    let n = v + m;
    let miner_uid = |j: usize| Uid::new((v + j) as u16);
    let mut input = YumaInput {
        block: BlockNumber::new(2),
        tempo: 1,
        last_epoch_block: BlockNumber::new(0),
        activity_cutoff: 5_000,
        stake: vec![I64F64::from_num(0); n],
        stake_threshold: 0,
        owner: None,
        validator_permit: vec![false; n],
        last_update: vec![BlockNumber::new(1); n],
        block_at_registration: vec![BlockNumber::new(1); n],
        weights: vec![Vec::new(); n],
        bonds: vec![Vec::new(); n],
        commit_reveal: CommitReveal::Off,
        params: scenario.params,
        emission: EPOCH_EMISSION,
    };
    let set_stake = |input: &mut YumaInput, stake: &[Rao]| {
        for (slot, s) in input.stake.iter_mut().zip(stake) {
            *slot = I64F64::from_num(s.get());
        }
    };
    if let Some(first) = scenario.epochs.first() {
        set_stake(&mut input, &first.stake);
    }
    let mut warm_up = epoch(&input)?;
    input.validator_permit = std::mem::take(&mut warm_up.validator_permit);
    input.last_epoch_block = input.block;

    let mut results = Vec::with_capacity(scenario.epochs.len());
    for spec in &scenario.epochs {
        set_stake(&mut input, &spec.stake);
        for (i, scores) in spec.weights.iter().enumerate() {
            input.weights[i] = match quantize(scores) {
                Some(row) => row.into_iter().enumerate().map(|(j, w)| (miner_uid(j), w)).collect(),
                None => Vec::new(),
            };
            input.last_update[i] = input.block;
        }
        for &j in &spec.reset_bonds {
            reset_bonds_to(&mut input.bonds, miner_uid(j));
        }
        input.block = BlockNumber::new(input.block.get() + 1);
        let out = epoch(&input)?;
        input.bonds = out.bonds_u16();
        input.validator_permit = out.validator_permit.clone();
        input.last_epoch_block = input.block;

        let bonds = (0..v)
            .map(|i| {
                (0..m)
                    .map(|j| {
                        out.bonds
                            .row(i)
                            .find(|(uid, _)| *uid == miner_uid(j))
                            .map_or(0.0, |(_, b)| to_f64(b))
                    })
                    .collect()
            })
            .collect();
        results.push(EpochResult {
            block: input.block.get(),
            stake: spec.stake.clone(),
            consensus: out.consensus[v..].iter().copied().map(to_f64).collect(),
            incentive: out.incentive[v..].iter().copied().map(to_f64).collect(),
            dividends: out.dividends[..v].iter().copied().map(to_f64).collect(),
            validator_trust: out.validator_trust[..v].iter().copied().map(to_f64).collect(),
            bonds,
            miner_emission: out.server_emission[v..].to_vec(),
            validator_emission: out.validator_emission[..v].to_vec(),
        });
    }
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yuma::scenario::parse;

    #[test]
    fn quantize_scales_to_the_max_and_skips_all_zero_rows() {
        assert_eq!(quantize(&[1.0, 0.5, 0.0]), Some(vec![65535, 32768, 0]));
        assert_eq!(quantize(&[0.2, 0.1]), Some(vec![65535, 32768]));
        assert_eq!(quantize(&[0.0, 0.0]), None);
    }

    /// The documented example: all validators agree on miner 0, who gets all incentive;
    /// dividends follow stake; bonds build up epoch after epoch.
    #[test]
    fn consensus_scenario_pays_the_agreed_miner() {
        let s = parse(
            r#"{"validators": 3, "miners": 2,
                "epochs": [{"stake": [0.8, 0.1, 0.1], "weights": [[1, 0], [1, 0], [1, 0]]}, {}, {}]}"#,
        )
        .unwrap();
        let results = run(&s).unwrap();
        assert_eq!(results.len(), 3);
        for r in &results {
            assert_eq!(r.incentive, vec![1.0, 0.0]);
            assert!((r.dividends[0] - 0.8).abs() < 1e-6 && (r.dividends[1] - 0.1).abs() < 1e-6);
            assert!(r.validator_trust.iter().all(|t| (t - 1.0).abs() < 1e-6));
            let paid: u64 =
                r.miner_emission.iter().chain(&r.validator_emission).map(|e| e.get()).sum();
            assert!(paid <= EPOCH_EMISSION.get() && paid + 10 >= EPOCH_EMISSION.get());
        }
        assert!(results[0].bonds[0][0] > 0.0);
        assert!(results[2].bonds[0][0] > results[0].bonds[0][0], "bonds grow while weights hold");
    }

    /// A miner whose bonds are reset loses its validators' bonds at once.
    #[test]
    fn reset_bonds_clears_the_column() {
        let s = parse(
            r#"{"validators": 2, "miners": 2,
                "epochs": [{"stake": [1, 1], "weights": [[1, 1], [1, 1]]}, {}, {"reset_bonds": [1]}]}"#,
        )
        .unwrap();
        let results = run(&s).unwrap();
        let (first, before, after) =
            (results[0].bonds[0][1], results[1].bonds[0][1], results[2].bonds[0][1]);
        assert!(after < before, "bond to miner 1: {before} then {after}");
        assert_eq!(after, first, "the bond restarts from zero");
        assert!(results[2].bonds[0][0] > results[1].bonds[0][0]);
    }
}
