//! The epoch vectors of `chain.json`, replayed through the harness the way the upstream
//! tests drive the pallet.

use crate::{harness::Subnet, to_f64, vector};
use serde_json::Value;
use substrate_fixed::types::I32F32;
use tao_primitives::Uid;
use tao_yuma::{to_u16, BondModel, LiquidAlpha, Params};

fn u16s(value: &Value) -> Vec<u16> {
    value.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as u16).collect()
}

fn f64s(value: &Value) -> Vec<f64> {
    value.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

/// `test_bonds`: original Yuma, 4 validators and 4 servers over 7 steps; bonds exact in u16.
#[test]
fn classic_bond_evolution_is_exact() {
    let v = vector("original_yuma_bonds_evolution (test_bonds)");
    let expected = &v["expected"];
    let params = Params {
        kappa: 32_767,
        bonds_penalty: u16::MAX,
        bonds_moving_average: 900_000,
        max_allowed_validators: 8,
        bond_model: BondModel::Classic,
        liquid_alpha: LiquidAlpha::Off,
    };
    let stakes: Vec<u64> = v["inputs"]["alpha_stake"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap())
        .collect();
    let mut net = Subnet::register_all(&stakes, 1, 1, params);
    let column = |net: &Subnet, j: u16| -> Vec<u16> { (0..4).map(|i| net.bond(i, j)).collect() };

    net.epoch(); // sets the permits
    net.next_block();
    let values = [u16::MAX / 4, u16::MAX / 2, (u16::MAX / 4) * 3, u16::MAX];
    for uid in 0..4 {
        net.set_weights(uid, &[4, 5, 6, 7], &values);
    }
    let output = net.epoch();
    assert_eq!(column(&net, 4), u16s(&expected["step1_bonds_col4"]));
    // Informative in upstream, but exact here too: the combined emission of step 1.
    let combined: Vec<u64> = output.combined_emission.iter().map(|e| e.get()).collect();
    assert_eq!(
        combined,
        vec![49999998, 99999999, 150000000, 200000001, 49998779, 100000610, 149996337, 200004272]
    );

    for (step, self_uid) in [(2, 0usize), (3, 1), (4, 2)] {
        net.set_weights(self_uid, &[self_uid as u16], &[u16::MAX]);
        net.next_block();
        net.epoch();
        let (key, col) = if step == 4 {
            ("step4_bonds_col7", 7)
        } else {
            (["", "", "step2_bonds_col4", "step3_bonds_col4"][step], 4)
        };
        assert_eq!(column(&net, col), u16s(&expected[key]), "step {step}");
    }
    net.set_weights(2, &[7], &[u16::MAX]);
    for step in 5..=7 {
        net.next_block();
        net.epoch();
        assert_eq!(
            column(&net, 7),
            u16s(&expected[format!("step{step}_bonds_col7")]),
            "step {step}"
        );
    }
}

fn yuma3_params(inputs: &Value) -> Params {
    let liquid_alpha = if inputs["liquid_alpha"].as_bool().unwrap() {
        LiquidAlpha::On {
            alpha_low: inputs["alpha_low_u16"].as_u64().unwrap() as u16,
            alpha_high: inputs["alpha_high_u16"].as_u64().unwrap() as u16,
            steepness: inputs["alpha_sigmoid_steepness"].as_i64().unwrap() as i16,
        }
    } else {
        LiquidAlpha::Off
    };
    Params {
        kappa: inputs["kappa"].as_u64().unwrap() as u16,
        bonds_penalty: inputs["bonds_penalty"].as_u64().unwrap() as u16,
        bonds_moving_average: inputs["bonds_moving_average"].as_u64().unwrap(),
        max_allowed_validators: inputs["max_allowed_validators"].as_u64().unwrap() as u16,
        bond_model: BondModel::Yuma3,
        liquid_alpha,
    }
}

/// The weight rows of epoch `e` in a schedule keyed by `"e"` or `"a..b"`; `None` when the
/// weights are unchanged.
fn scheduled_weights(schedule: &Value, epoch: usize) -> Option<Vec<Vec<u16>>> {
    for (key, rows) in schedule.as_object().unwrap() {
        let (lo, hi) = match key.split_once("..") {
            Some((a, b)) => (a.parse::<usize>().unwrap(), b.parse::<usize>().unwrap()),
            None => (key.parse().unwrap(), key.parse().unwrap()),
        };
        if (lo..=hi).contains(&epoch) {
            return rows.as_array().map(|rows| rows.iter().map(u16s).collect());
        }
    }
    None
}

/// Replays a Yuma3 scenario; returns the dividends of every epoch as fractions.
fn replay_yuma3(
    name: &str,
    epochs: usize,
    reset_at: Option<(usize, u16)>,
) -> (Vec<Vec<f64>>, Vec<Vec<Vec<f64>>>) {
    let v = vector(name);
    let inputs = &v["inputs"];
    let stakes: Vec<u64> =
        inputs["stakes"].as_array().unwrap().iter().map(|x| x.as_u64().unwrap()).collect();
    let validators = inputs["n_validators"].as_u64().unwrap() as usize;
    let servers: Vec<u16> = (validators as u16..stakes.len() as u16).collect();
    let mut net = Subnet::register_all(&stakes, 1, 1, yuma3_params(inputs));
    assert_eq!(net.activity_cutoff, inputs["activity_cutoff_blocks"].as_u64().unwrap());
    net.next_block();
    net.epoch(); // sets the permits
    let mut dividends = Vec::new();
    let mut bonds = Vec::new();
    for e in 0..epochs {
        if let Some(rows) = scheduled_weights(&inputs["weights_schedule"], e) {
            for (uid, row) in rows.iter().enumerate() {
                net.set_weights(uid, &servers, row);
            }
        }
        if reset_at.is_some_and(|(at, _)| at == e) {
            tao_yuma::reset_bonds_to(&mut net.bonds, Uid::new(reset_at.unwrap().1));
        }
        net.next_block();
        let output = net.epoch();
        dividends.push(to_u16(&output.dividends).iter().map(|d| f64::from(*d) / 65535.0).collect());
        bonds.push(
            (0..validators)
                .map(|i| servers.iter().map(|j| f64::from(net.bond(i, *j)) / 65535.0).collect())
                .collect(),
        );
    }
    (dividends, bonds)
}

fn assert_within(actual: &[f64], expected: &[f64], tolerance: f64, what: &str) {
    assert_eq!(actual.len(), expected.len(), "{what}: length");
    assert!(!expected.is_empty(), "{what}: nothing to compare");
    for (a, e) in actual.iter().zip(expected) {
        assert!((a - e).abs() <= tolerance, "{what}: {actual:?} vs expected {expected:?}");
    }
}

/// All Yuma3 scenarios: dividends within 1e-3 (as upstream asserts) and the informative bond
/// tables within 1e-3 as well.
#[test]
fn yuma3_scenarios_match() {
    for name in [
        "yuma3_kappa_moves_first",
        "yuma3_kappa_moves_second",
        "yuma3_kappa_moves_last",
        "yuma3_one_epoch_switch",
        "yuma3_liquid_alpha_disabled",
        "yuma3_stable_miner",
    ] {
        let v = vector(name);
        let want = v["expected"]["dividends_per_epoch"].as_array().unwrap();
        let (dividends, bonds) = replay_yuma3(name, want.len(), None);
        for (e, expected) in want.iter().enumerate() {
            assert_within(
                &dividends[e],
                &f64s(expected),
                1e-3,
                &format!("{name} epoch {e} dividends"),
            );
        }
        if let Some(want_bonds) = v["expected"]["bonds_per_epoch_informative"].as_array() {
            for (e, rows) in want_bonds.iter().enumerate() {
                for (i, row) in rows.as_array().unwrap().iter().enumerate() {
                    assert_within(
                        &bonds[e][i],
                        &f64s(row),
                        1e-3,
                        &format!("{name} epoch {e} bonds row {i}"),
                    );
                }
            }
        }
    }
}

/// `test_yuma_3_bonds_reset`: the reset of miner 3's bonds at epoch 20.
#[test]
fn yuma3_bonds_reset_matches() {
    let name = "yuma3_bonds_reset";
    let v = vector(name);
    let (dividends, bonds) = replay_yuma3(name, 41, Some((20, 3)));
    for (epoch, expected) in v["expected"]["dividends"].as_object().unwrap() {
        let e: usize = epoch.parse().unwrap();
        assert_within(&dividends[e], &f64s(expected), 1e-3, &format!("{name} epoch {e} dividends"));
    }
    for (epoch, rows) in v["expected"]["bonds_informative"].as_object().unwrap() {
        let e: usize = epoch.parse().unwrap();
        for (i, row) in rows.as_array().unwrap().iter().enumerate() {
            assert_within(
                &bonds[e][i],
                &f64s(row),
                1e-3,
                &format!("{name} epoch {e} bonds row {i}"),
            );
        }
    }
}

fn logs_params(max_allowed_validators: u16) -> Params {
    Params {
        kappa: 32_767,
        bonds_penalty: u16::MAX,
        bonds_moving_average: 900_000,
        max_allowed_validators,
        bond_model: BondModel::Classic,
        liquid_alpha: LiquidAlpha::Off,
    }
}

/// A subnet as `epoch_logs.rs` sets it up: registered at block 0, permits given, weights set
/// at block 1, the epoch at `block`.
fn logs_subnet(stakes: &[u64], permits: &[bool], block: u64, max_validators: u16) -> Subnet {
    let mut net = Subnet::register_all(stakes, 0, 10, logs_params(max_validators));
    net.permit = permits.to_vec();
    net.last_update = vec![1; stakes.len()];
    net.block = block;
    net
}

fn fractions(values: &[I32F32]) -> Vec<f64> {
    values.iter().map(|x| to_f64(*x)).collect()
}

#[test]
fn logs_simple_pays_validators_by_stake() {
    let v = vector("epoch_logs_test_simple");
    let mut net = logs_subnet(&[1_000_000_000; 2], &[true, true], 1, 64);
    let out = net.epoch();
    let exp = &v["expected"];
    assert_eq!(fractions(&out.stake), f64s(&exp["normalized_stake"]));
    assert_eq!(fractions(&out.active_stake), f64s(&exp["active_stake"]));
    assert_eq!(out.validator_permit, vec![true, true]);
    assert_eq!(fractions(&out.consensus), f64s(&exp["consensus"]));
    let combined: Vec<u64> = out.combined_emission.iter().map(|e| e.get()).collect();
    assert_eq!(combined, vec![500_000_000, 500_000_000]);
    let validator: Vec<u64> = out.validator_emission.iter().map(|e| e.get()).collect();
    assert_eq!(validator, vec![500_000_000, 500_000_000]);
}

#[test]
fn logs_two_servers_and_split_weights() {
    let stakes = [1_000_000_000, 1_000_000_000, 1_000_000_000, 0, 0];
    let permits = [true, true, true, false, false];

    let v = vector("epoch_logs_two_distinct_servers");
    let mut net = logs_subnet(&stakes, &permits, 1, 64);
    net.set_weights(0, &[3, 4], &[65535, 0]);
    net.set_weights(1, &[3, 4], &[0, 65535]);
    net.set_weights(2, &[3, 4], &[65535, 0]);
    let out = net.epoch();
    let exp = &v["expected"];
    assert_within(&fractions(&out.consensus), &f64s(&exp["consensus"]), 1e-9, "consensus");
    assert_within(&fractions(&out.validator_trust), &f64s(&exp["validator_trust"]), 1e-9, "vtrust");
    assert_within(&fractions(&out.dividends), &f64s(&exp["dividends"]), 1e-9, "dividends");
    let combined: Vec<f64> = out.combined_emission.iter().map(|e| e.get() as f64 / 1e9).collect();
    assert_within(&combined, &f64s(&exp["normalized_combined_emission"]), 1e-8, "combined");

    let v = vector("epoch_logs_validator_splits_weight");
    let mut net = logs_subnet(&stakes, &permits, 1, 64);
    net.set_weights(0, &[3, 4], &[65535, 0]);
    net.set_weights(1, &[3, 4], &[0, 65535]);
    net.set_weights(2, &[3, 4], &[65535, 65535]);
    let out = net.epoch();
    let exp = &v["expected"];
    assert_within(&fractions(&out.dividends), &f64s(&exp["dividends"]), 1e-9, "dividends");
    let combined: Vec<f64> = out.combined_emission.iter().map(|e| e.get() as f64 / 1e9).collect();
    assert_within(&combined, &f64s(&exp["normalized_combined_emission"]), 1e-8, "combined");
}

#[test]
fn logs_topk_permits() {
    let v = vector("epoch_logs_topk_permits");
    let mut net = logs_subnet(&[2_000_000_000, 1_000_000_000], &[true, true], 1, 1);
    let out = net.epoch();
    assert_eq!(out.validator_permit, vec![true, false]);
    assert!(format!("{:?}", out.stake[0])
        .starts_with(&v["expected"]["normalized_stake_prefix"].as_str().unwrap()[1..]));
}

#[test]
fn logs_activity_masks() {
    let v = vector("epoch_logs_activity_masks");
    let cases = v["inputs"]["cases"].as_array().unwrap();
    let results = v["expected"]["results"].as_array().unwrap();
    assert!(!cases.is_empty() && cases.len() == results.len(), "one result per case");
    for (case, exp) in cases.iter().zip(results) {
        let permits: Vec<bool> =
            case["permits"].as_array().unwrap().iter().map(|b| b.as_bool().unwrap()).collect();
        let mut net =
            logs_subnet(&[1_000_000_000; 2], &permits, case["current_block"].as_u64().unwrap(), 64);
        net.last_update =
            case["last_update"].as_array().unwrap().iter().map(|b| b.as_u64().unwrap()).collect();
        let out = net.epoch();
        if let Some(inactive) = exp.get("inactive") {
            let want: Vec<bool> =
                inactive.as_array().unwrap().iter().map(|b| b.as_bool().unwrap()).collect();
            let got: Vec<bool> = out.active.iter().map(|a| !a).collect();
            assert_eq!(got, want, "{case}");
        }
        assert_eq!(fractions(&out.active_stake), f64s(&exp["active_stake"]), "{case}");
        if let Some(combined) = exp.get("normalized_combined_emission") {
            let got: Vec<f64> =
                out.combined_emission.iter().map(|e| e.get() as f64 / 1e9).collect();
            assert_eq!(got, f64s(combined), "{case}");
        }
    }
}
