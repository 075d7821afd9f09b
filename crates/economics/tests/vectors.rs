//! The emission, registration-price and lock-cost vectors of `chain.json`, and properties.

mod common;

use common::{paired, u64s, vector};

use proptest::prelude::*;
use substrate_fixed::types::U64F64;
use tao_economics::{
    block_emission, bump_burn, decay_burn, decay_factor_q32, lock_reduction_interval,
    network_lock_cost, BurnBounds, LockState, DEFAULT_BURN_INCREASE_MULT, TOTAL_SUPPLY,
};
use tao_primitives::{BlockNumber, Rao};

#[test]
fn block_emission_vectors_are_exact() {
    for (name, input, output) in [
        ("block_emission_asserted", "issuance", "emission"),
        ("block_emission_halving_table", "issuance_rao", "emission_rao"),
    ] {
        let v = vector(name);
        for (issuance, want) in paired(&u64s(&v["inputs"][input]), u64s(&v["expected"][output])) {
            assert_eq!(
                block_emission(Rao::new(*issuance)),
                Rao::new(want),
                "{name}: issuance {issuance}"
            );
        }
    }
}

#[test]
fn decay_factor_vectors_are_exact() {
    let v = vector("decay_factor_q32_table");
    for (half_life, want) in
        paired(&u64s(&v["inputs"]["half_life"]), u64s(&v["expected"]["factor_q32"]))
    {
        assert_eq!(decay_factor_q32(*half_life as u16), want, "half-life {half_life}");
    }
    let unbounded = BurnBounds { min: Rao::ZERO, max: Rao::MAX };
    let factor = decay_factor_q32(360);
    let mut burn = Rao::new(1_000_000_000);
    for _ in 0..360 {
        burn = decay_burn(burn, factor, unbounded);
    }
    assert_eq!(burn.get(), v["expected"]["one_e9_after_360_blocks_with_hl_360"].as_u64().unwrap());
}

/// `burn_decay_and_bump`: each case's events in order, bounds applied.
#[test]
fn burn_decay_and_bump_vectors_are_exact() {
    let v = vector("burn_decay_and_bump");
    let cases = v["inputs"]["cases"].as_array().unwrap();
    let expected = v["expected"]["burn_after_each_event"].as_array().unwrap();
    for (case, want) in paired(cases, expected) {
        let max = match &case["max"] {
            serde_json::Value::String(s) if s == "u64::MAX" => u64::MAX,
            other => other.as_u64().unwrap(),
        };
        let bounds =
            BurnBounds { min: Rao::new(case["min"].as_u64().unwrap()), max: Rao::new(max) };
        let mult = U64F64::from_num(case["mult"].as_u64().unwrap());
        let factor = case.get("half_life").map(|h| decay_factor_q32(h.as_u64().unwrap() as u16));
        let mut burn = Rao::new(case["burn"].as_u64().unwrap());
        let mut got = Vec::new();
        for event in case["events"].as_array().unwrap() {
            let event = event.as_str().unwrap();
            let blocks = match event {
                "next block" | "next block (decay)" => 1,
                "2 blocks" => 2,
                _ => 0,
            };
            for _ in 0..blocks {
                burn = decay_burn(burn, factor.unwrap(), bounds);
            }
            if event.starts_with("register") || event == "bump only" {
                burn = bump_burn(burn, mult, bounds);
            }
            got.push(burn.get());
        }
        assert_eq!(got, u64s(want), "case {case}");
    }
}

#[test]
fn default_multiplier_is_1_26() {
    assert_eq!(DEFAULT_BURN_INCREASE_MULT, U64F64::from_num(1.26f64));
    let bounds = BurnBounds { min: Rao::ZERO, max: Rao::MAX };
    assert_eq!(
        bump_burn(Rao::new(1_000_000_000), DEFAULT_BURN_INCREASE_MULT, bounds),
        Rao::new(1_260_000_000)
    );
}

#[test]
fn lock_cost_vector_is_exact() {
    let v = vector("network_lock_cost_linear_decay");
    let inputs = &v["inputs"];
    let interval = lock_reduction_interval(
        inputs["reduction_interval"].as_u64().unwrap(),
        Rao::new(inputs["block_emission"].as_u64().unwrap()),
    );
    let state = LockState {
        last_lock: Rao::new(inputs["last_lock"].as_u64().unwrap()),
        last_lock_block: BlockNumber::new(1_000),
    };
    let min = Rao::new(inputs["min_lock"].as_u64().unwrap());
    for (since, want) in
        paired(&u64s(&inputs["blocks_since_last"]), u64s(&v["expected"]["lock_cost"]))
    {
        let cost = network_lock_cost(state, min, interval, BlockNumber::new(1_000 + since));
        assert_eq!(cost, Rao::new(want), "{since} blocks after");
    }
    // Before any registration the multiplier is 1.
    let fresh = LockState::default();
    assert_eq!(network_lock_cost(fresh, min, interval, BlockNumber::new(5)), min);
}

proptest! {
    #[test]
    fn emission_never_exceeds_one_tao_nor_the_cap(issuance in 0u64..=22_000_000_000_000_000) {
        let e = block_emission(Rao::new(issuance));
        prop_assert!(e.get() <= 1_000_000_000);
        prop_assert!(issuance.saturating_add(e.get()) <= TOTAL_SUPPLY.get() || e.is_zero());
    }

    #[test]
    fn emission_is_monotone_in_issuance(a in 0u64..21_000_000_000_000_000, b in 0u64..21_000_000_000_000_000) {
        let (lo, hi) = (a.min(b), a.max(b));
        prop_assert!(block_emission(Rao::new(lo)) >= block_emission(Rao::new(hi)));
    }

    #[test]
    fn burn_stays_within_bounds(burn in any::<u64>(), min in 0u64..1_000_000_000, span in 0u64..1_000_000_000_000, half_life in 0u16..40_000, mult_bits in any::<u64>()) {
        let bounds = BurnBounds { min: Rao::new(min), max: Rao::new(min + span) };
        let decayed = decay_burn(Rao::new(burn), decay_factor_q32(half_life), bounds);
        prop_assert!(decayed >= bounds.min && decayed <= bounds.max);
        let bumped = bump_burn(Rao::new(burn), U64F64::from_bits(u128::from(mult_bits) << 32), bounds);
        prop_assert!(bumped >= bounds.min && bumped <= bounds.max);
    }
}
