//! The coinbase, moving-price and dividend vectors of `chain.json`.

mod common;

use common::{paired, vector};

use substrate_fixed::types::{I96F32, U64F64, U96F32};
use tao_economics::coinbase::{
    alpha_root_split, default_moving_alpha, rescale_to_pot, root_proportion, split_alpha_out,
    subnet_shares, subnet_terms, tao_weight, update_moving_price, DEFAULT_TAO_WEIGHT,
};

fn close(a: u64, b: u64, tolerance: u64) -> bool {
    a.abs_diff(b) <= tolerance
}

#[test]
fn defaults_are_the_reference_bits() {
    assert_eq!(default_moving_alpha(), I96F32::from_num(0.000003f64));
    let w = tao_weight(DEFAULT_TAO_WEIGHT).to_num::<f64>();
    assert!((w - 0.05267697).abs() < 1e-7, "{w}");
}

#[test]
fn pending_split_with_root_and_owner_cut() {
    let v = vector("pending_emission_split_with_root");
    let i = &v["inputs"];
    let split = split_alpha_out(
        U96F32::from_num(i["alpha_out_per_block"].as_u64().unwrap()),
        i["subnet_owner_cut_u16"].as_u64().unwrap() as u16,
        U96F32::from_num(i["root_proportion"].as_f64().unwrap()),
    );
    let e = &v["expected"];
    assert!(close(split.server, e["pending_server"].as_u64().unwrap(), 1));
    assert!(close(split.validator, e["pending_validator"].as_u64().unwrap(), 1));
    assert!(close(split.root, e["pending_root_alpha_divs"].as_u64().unwrap(), 1));

    let v = vector("owner_cut_extremes");
    let out = U96F32::from_num(v["inputs"]["alpha_out_per_block"].as_u64().unwrap());
    let expected = v["expected"]["pending_owner_cut"].as_array().unwrap();
    for (case, want) in paired(v["inputs"]["cases"].as_array().unwrap(), expected) {
        let split = split_alpha_out(
            out,
            case["subnet_owner_cut_u16"].as_u64().unwrap() as u16,
            U96F32::from_num(0),
        );
        assert_eq!(split.owner_cut, want.as_u64().unwrap());
    }
}

#[test]
fn tao_emission_splits_by_moving_price() {
    let v = vector("tao_emission_split_by_moving_price");
    let subnets = v["inputs"]["subnets"].as_array().unwrap();
    let prices: Vec<U64F64> =
        subnets.iter().map(|s| U64F64::from_num(s["moving_price"].as_f64().unwrap())).collect();
    let shares = subnet_shares(&prices, &[]);
    let emission = v["inputs"]["block_emission"].as_u64().unwrap();
    let expected = v["expected"]["subnet_tao_after"].as_array().unwrap();
    for ((subnet, share), want) in paired(paired(subnets, &shares), expected) {
        let tao_emission =
            U96F32::saturating_from_num(U64F64::from_num(emission).saturating_mul(*share));
        let price = U96F32::from_num(subnet["tao_reserve"].as_u64().unwrap())
            / U96F32::from_num(subnet["alpha_reserve"].as_u64().unwrap());
        // Root stake dwarfs alpha issuance: the cap does not bind.
        let terms = subnet_terms(tao_emission, 1_000_000_000, price, U96F32::from_num(1));
        let after = subnet["tao_reserve"].as_u64().unwrap() + terms.tao_in.to_num::<u64>();
        assert!(close(after, want.as_u64().unwrap(), 10), "{after} vs {want}");
    }
}

#[test]
fn alpha_injection_follows_price() {
    for name in ["alpha_injection_equal_prices", "alpha_injection_prices_1_and_2"] {
        let v = vector(name);
        let subnets = v["inputs"]["subnets"].as_array().unwrap();
        let prices: Vec<U64F64> = subnets
            .iter()
            .map(|s| {
                U64F64::from_num(s.get("moving_price").and_then(|p| p.as_f64()).unwrap_or(1.0))
            })
            .collect();
        let shares = subnet_shares(&prices, &[]);
        let emission = v["inputs"]["block_emission"].as_u64().unwrap();
        let expected = v["expected"]["alpha_in_after"].as_array().unwrap();
        for ((subnet, share), want) in paired(paired(subnets, &shares), expected) {
            let tao_emission =
                U96F32::saturating_from_num(U64F64::from_num(emission).saturating_mul(*share));
            let price = U96F32::from_num(subnet["tao"].as_u64().unwrap())
                / U96F32::from_num(subnet["alpha_in"].as_u64().unwrap());
            let terms = subnet_terms(tao_emission, 1_000_000_000, price, U96F32::from_num(1));
            let after = subnet["alpha_in"].as_u64().unwrap() + terms.alpha_in.to_num::<u64>();
            assert_eq!(after, want.as_u64().unwrap(), "{name}");
        }
    }
}

#[test]
fn moving_price_ema() {
    let v = vector("moving_price_ema");
    let cases = v["inputs"]["cases"].as_array().unwrap();
    let expected = v["expected"]["moving_price"].as_array().unwrap();
    for (case, want) in paired(cases, expected) {
        let mut price = I96F32::from_num(case["initial_moving"].as_f64().unwrap());
        let b = case["current_block"].as_u64().unwrap()
            - (case["first_emission_block"].as_u64().unwrap() - 1);
        for _ in 0..case["updates"].as_u64().unwrap() {
            price = update_moving_price(
                price,
                U64F64::from_num(case["spot_price"].as_f64().unwrap()),
                I96F32::from_num(case["moving_alpha"].as_f64().unwrap()),
                b,
                case["halving"].as_u64().unwrap(),
            );
        }
        let got = price.to_num::<f64>();
        match want {
            serde_json::Value::String(s) => assert!(s == "< 0.001" && got < 0.001, "{got}"),
            w => assert!((got - w.as_f64().unwrap()).abs() <= 0.001, "{got} vs {w}"),
        }
    }
}

#[test]
fn dividend_split_conserves_the_pots() {
    let v = vector("dividend_distribution_conserves_pots");
    let i = &v["inputs"];
    let w = U96F32::from_num(i["tao_weight"].as_f64().unwrap());
    let (mut alpha_parts, mut root_parts) = (Vec::new(), Vec::new());
    for h in ["h0", "h1"] {
        let stake = &i["stake_map"][h];
        let (a, r) = alpha_root_split(
            U96F32::from_num(i["dividends"][h].as_u64().unwrap()),
            stake[0].as_u64().unwrap(),
            stake[1].as_u64().unwrap(),
            w,
        );
        alpha_parts.push(a);
        root_parts.push(r);
    }
    let alpha: u64 =
        rescale_to_pot(i["pending_validator_alpha"].as_u64().unwrap(), &alpha_parts).iter().sum();
    let root: u64 =
        rescale_to_pot(i["pending_root_alpha"].as_u64().unwrap(), &root_parts).iter().sum();
    assert!(close(alpha, v["expected"]["sum_alpha_dividends"].as_u64().unwrap(), 1000));
    assert!(close(root, v["expected"]["sum_root_alpha_dividends"].as_u64().unwrap(), 1000));
}

#[test]
fn root_proportion_formula() {
    let v = vector("root_proportion_formula");
    let i = &v["inputs"];
    let prop = root_proportion(
        i["root_subnet_tao"].as_u64().unwrap(),
        tao_weight(i["tao_weight_u64"].as_u64().unwrap()),
        i["alpha_issuance"].as_u64().unwrap(),
    );
    assert!(
        (prop.to_num::<f64>() - v["expected"]["root_proportion"].as_f64().unwrap()).abs() < 1e-6
    );
    assert_eq!(root_proportion(0, tao_weight(1), 0), U96F32::from_num(0));
}
