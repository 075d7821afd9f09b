//! The swap vectors of `chain.json` (the Balancer pool at its default configuration).

mod common;

use common::{paired, vector};

use substrate_fixed::types::U64F64;
use tao_economics::pool::{
    max_price, min_price, pow_ratio_scaled, Perquintill, Pool, SwapError, ACCURACY,
    DEFAULT_FEE_RATE,
};

fn fraction(text: &str) -> Perquintill {
    let (p, q) = text.split_once('/').unwrap();
    Perquintill::from_rational(p.parse().unwrap(), q.parse().unwrap())
}

#[test]
fn exp_scaled_matches() {
    let v = vector("balancer_exp_scaled");
    let expected = v["expected"]["result"].as_array().unwrap();
    for (case, want) in paired(v["inputs"]["cases"].as_array().unwrap(), expected) {
        let pool = Pool {
            tao: 0,
            alpha: 0,
            quote_weight: fraction(case["quote_weight"].as_str().unwrap()),
        };
        let got = pool.exp_scaled(
            case["reserve"].as_u64().unwrap(),
            i128::from(case["d_reserve"].as_u64().unwrap()),
            case["base_quote"].as_bool().unwrap(),
        );
        let want = want.as_f64().unwrap();
        assert!((got.to_num::<f64>() - want).abs() <= 1e-9, "{case}: {got} vs {want}");
    }
}

#[test]
fn perquintill_power_is_exact() {
    let v = vector("perquintill_power_exact");
    let i = &v["inputs"];
    let n = |k: &str| u128::from(i[k].as_u64().unwrap());
    let got = pow_ratio_scaled(
        n("base_num"),
        n("base_den"),
        n("exp_num"),
        n("exp_den"),
        i["precision"].as_u64().unwrap() as u32,
        n("scale"),
    );
    assert_eq!(got, Some(u128::from(v["expected"]["result"].as_u64().unwrap())));
}

#[test]
fn mul_round_is_half_up() {
    let v = vector("mul_perquintill_round");
    let expected = v["expected"]["result"].as_array().unwrap();
    for (case, want) in paired(v["inputs"]["cases"].as_array().unwrap(), expected) {
        let p = fraction(case["p"].as_str().unwrap());
        assert_eq!(
            p.mul_round(u128::from(case["v"].as_u64().unwrap())),
            u128::from(want.as_u64().unwrap()),
            "{case}"
        );
    }
}

#[test]
fn limit_price_deltas_are_exact() {
    let v = vector("limit_price_deltas");
    let expected = v["expected"]["result"].as_array().unwrap();
    for (case, want) in paired(v["inputs"]["cases"].as_array().unwrap(), expected) {
        let weight =
            Perquintill::from_parts((case["w_quote"].as_f64().unwrap() * ACCURACY as f64) as u64);
        let price = |k: &str| U64F64::from_num(case[k].as_f64().unwrap());
        let reserve = |k: &str| case[k].as_u64().unwrap();
        let got = match case["fn"].as_str().unwrap() {
            "calculate_quote_delta_in" => Pool { tao: 0, alpha: 0, quote_weight: weight }
                .quote_delta_in(
                    price("current_price"),
                    price("target_price"),
                    reserve("tao_reserve"),
                ),
            "calculate_base_delta_in" => Pool { tao: 0, alpha: 0, quote_weight: weight }
                .base_delta_in(
                    price("current_price"),
                    price("target_price"),
                    reserve("alpha_reserve"),
                ),
            "get_base_needed_for_quote" => Pool {
                tao: reserve("tao_reserve"),
                alpha: reserve("alpha_reserve"),
                quote_weight: weight,
            }
            .base_needed_for_quote(reserve("tao_delta")),
            other => panic!("unknown fn {other}"),
        };
        assert_eq!(got, want.as_u64().unwrap(), "{case}");
    }
}

#[test]
fn initialization_sets_the_price() {
    let v = vector("swap_initialization_price");
    let (tao, alpha) = (
        v["inputs"]["tao_reserve"].as_u64().unwrap(),
        v["inputs"]["alpha_reserve"].as_u64().unwrap(),
    );
    let plain = Pool::new(tao, alpha);
    assert_eq!(plain.quote_weight, Perquintill::HALF);
    assert!((plain.price().to_num::<f64>() - 0.25).abs() <= 1e-9);
    let priced = Pool::with_price(tao, alpha, U64F64::from_num(0.2)).unwrap();
    assert!((priced.price().to_num::<f64>() - 0.2).abs() <= 1e-9, "{}", priced.price());
}

#[test]
fn equal_weight_swaps_are_exact() {
    let v = vector("swap_basic_equal_weights");
    let pool = Pool::new(
        v["inputs"]["tao_reserve"].as_u64().unwrap(),
        v["inputs"]["alpha_reserve"].as_u64().unwrap(),
    );
    assert_eq!(v["inputs"]["fee_rate_u16"].as_u64().unwrap(), u64::from(DEFAULT_FEE_RATE));
    let expected = &v["expected"];
    for (k, case) in v["inputs"]["cases"].as_array().unwrap().iter().enumerate() {
        let amount = case["amount"].as_u64().unwrap();
        let result = if case["order"].as_str().unwrap().starts_with("buy") {
            pool.buy(amount, max_price(), DEFAULT_FEE_RATE)
        } else {
            pool.sell(amount, min_price(), DEFAULT_FEE_RATE)
        }
        .unwrap();
        assert_eq!(result.fee, expected["fee"][k].as_u64().unwrap(), "fee of {case}");
        assert_eq!(
            result.amount_in,
            expected["delta_in_to_reserve"][k].as_u64().unwrap(),
            "input of {case}"
        );
        assert_eq!(
            result.amount_out,
            expected["amount_out"][k].as_u64().unwrap(),
            "output of {case}"
        );
    }
}

#[test]
fn swaps_refuse_limits_and_empty_pools() {
    let pool = Pool::new(1_000_000_000, 4_000_000_000);
    assert_eq!(pool.buy(1_000, U64F64::from_num(0.1), 33), Err(SwapError::PriceLimitExceeded));
    assert_eq!(pool.sell(1_000, U64F64::from_num(0.5), 33), Err(SwapError::PriceLimitExceeded));
    assert_eq!(
        Pool::new(1_000_000_000, 10).buy(1_000, max_price(), 33),
        Err(SwapError::ReservesTooLow)
    );
    assert_eq!(pool.buy(2_000_000_000_000_000, max_price(), 0), Err(SwapError::SwapInputTooLarge));
    // A limit inside the swap's path stops it at the limit price.
    let partial = pool.buy(1_000_000_000, U64F64::from_num(0.3), 33).unwrap();
    assert!(partial.amount_in < 1_000_000_000 && partial.amount_in > 0);
    let after =
        Pool { tao: pool.tao + partial.amount_in, alpha: pool.alpha - partial.amount_out, ..pool };
    assert!((after.price().to_num::<f64>() - 0.3).abs() < 1e-6, "{}", after.price());
}

#[test]
fn injection_at_the_price_keeps_weights_equal() {
    let mut pool = Pool::new(1_000_000_000, 4_000_000_000);
    let price = pool.price();
    assert!(pool.reweight_for_liquidity(100_000_000, 400_000_000));
    assert_eq!(pool.quote_weight, Perquintill::HALF);
    let mut lopsided = pool;
    assert!(
        !lopsided.reweight_for_liquidity(1_000_000_000_000, 0),
        "weights would leave [0.01, 0.99]"
    );
    assert_eq!(lopsided, pool);
    let _ = price;
}
