//! The math-primitive vectors of `chain.json` (upstream `tests/math.rs`).

use crate::{fx, fx_vec, paired, vector};
use serde_json::Value;
use substrate_fixed::types::I32F32;
use tao_yuma::math::{self, Row};

/// A dense row-major matrix as sparse rows; `keep_zeros` stores explicit zero entries.
fn sparse(values: &[I32F32], columns: usize, keep_zeros: bool) -> Vec<Row> {
    values
        .chunks(columns)
        .map(|row| {
            row.iter()
                .enumerate()
                .filter(|(_, v)| keep_zeros || **v != I32F32::from_num(0))
                .map(|(j, v)| (j as u16, *v))
                .collect()
        })
        .collect()
}

fn dense(rows: &[Row], columns: usize) -> Vec<I32F32> {
    let mut out = vec![I32F32::from_num(0); rows.len() * columns];
    for (i, row) in rows.iter().enumerate() {
        for (j, v) in row {
            out[i * columns + usize::from(*j)] = *v;
        }
    }
    out
}

/// `|actual - expected| <= tolerance`, compared in `I32F32` as the upstream tests do.
fn assert_close(actual: &[I32F32], expected: &[I32F32], tolerance: f64, what: &str) {
    let tolerance = I32F32::from_num(tolerance);
    for (k, (a, e)) in paired(actual, expected, what).enumerate() {
        assert!((*a - *e).abs() <= tolerance, "{what}[{k}]: {a} vs expected {e} (±{tolerance})");
    }
}

fn f64s(value: &Value) -> Vec<I32F32> {
    fx_vec(value)
}

#[test]
fn weighted_median_cases_are_exact() {
    for case in 1..=12 {
        let v = vector(&format!("weighted_median_case_{case}"));
        let stake = fx_vec(&v["inputs"]["stake"]);
        let score = fx_vec(&v["inputs"]["score"]);
        let one = I32F32::from_num(1);
        let minority = one - fx(&v["inputs"]["majority"]);
        let total = stake.iter().fold(I32F32::from_num(0), |a, s| a + *s);
        let idx: Vec<usize> = (0..stake.len()).collect();
        let median =
            math::weighted_median(&stake, &score, &idx, minority, I32F32::from_num(0), total);
        assert_eq!(median, fx(&v["expected"]["median"]), "weighted_median_case_{case}");
    }
}

#[test]
fn column_weighted_median_is_exact() {
    let v = vector("weighted_median_col_dense_and_sparse");
    let cases = v["inputs"]["cases"].as_array().unwrap();
    let expected = v["expected"]["consensus"].as_array().unwrap();
    for (case, want) in paired(cases, expected, "weighted_median_col_dense_and_sparse") {
        let stake = fx_vec(&case["stake"]);
        let rows: Vec<I32F32> =
            case["weights_rows"].as_array().unwrap().iter().flat_map(fx_vec).collect();
        let columns = case["weights_rows"][0].as_array().unwrap().len();
        let weights = sparse(&rows, columns, false);
        let consensus = math::weighted_median_col(&stake, &weights, columns, fx(&case["majority"]));
        assert_eq!(consensus, fx_vec(want), "case {case}");
    }
}

#[test]
fn max_upscale_to_u16_is_exact() {
    let v = vector("vec_max_upscale_to_u16");
    let expected = v["expected"]["outputs"].as_array().unwrap();
    for (case, want) in paired(v["inputs"]["cases"].as_array().unwrap(), expected, "upscale") {
        let input: Vec<I32F32> = case
            .as_array()
            .unwrap()
            .iter()
            .map(|x| match x {
                Value::String(s) if s == "I32F32::MAX" => I32F32::max_value(),
                Value::String(s) => I32F32::from_num(s.parse::<i64>().unwrap()),
                other => fx(other),
            })
            .collect();
        let want: Vec<u16> =
            want.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as u16).collect();
        assert_eq!(math::vec_max_upscale_to_u16(&input), want, "input {case}");
    }

    let v = vector("vec_u16_max_upscale_to_u16 (set_weights normalization)");
    let expected = v["expected"]["outputs"].as_array().unwrap();
    for (case, want) in paired(v["inputs"]["cases"].as_array().unwrap(), expected, "u16 upscale") {
        let input: Vec<u16> =
            case.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as u16).collect();
        let want: Vec<u16> =
            want.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as u16).collect();
        assert_eq!(math::vec_u16_max_upscale_to_u16(&input), want, "input {case}");
    }
}

#[test]
fn max_limited_check_is_exact() {
    let v = vector("check_vec_max_limited");
    let expected = v["expected"]["result"].as_array().unwrap();
    for (case, want) in paired(v["inputs"]["cases"].as_array().unwrap(), expected, "max limited") {
        let values: Vec<u16> =
            case["vec"].as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as u16).collect();
        let limit = case["max_limit"].as_u64().unwrap() as u16;
        assert_eq!(math::check_vec_max_limited(&values, limit), want.as_bool().unwrap(), "{case}");
    }
}

#[test]
fn topk_is_exact_and_nonzero_variant_drops_zeros() {
    let v = vector("is_topk");
    let expected = v["expected"]["result"].as_array().unwrap();
    for (case, want) in paired(v["inputs"]["cases"].as_array().unwrap(), expected, "is_topk") {
        let values = fx_vec(&case["vector"]);
        let k = case["k"].as_u64().unwrap() as usize;
        let want: Vec<bool> =
            want.as_array().unwrap().iter().map(|b| b.as_bool().unwrap()).collect();
        assert_eq!(math::is_topk(&values, k), want, "{case}");
        // (One case is the empty vector: an empty answer is right there.)
        assert_eq!(want.len(), values.len(), "{case}");
        let nonzero: Vec<bool> =
            want.iter().zip(&values).map(|(t, v)| *t && *v != I32F32::from_num(0)).collect();
        assert_eq!(math::is_topk_nonzero(&values, k), nonzero, "{case}");
    }
}

#[test]
fn sigmoid_is_bit_exact() {
    let half = I32F32::from_num(0.5);
    let v = vector("sigmoid_safe_rho30_kappa0.5");
    let bits: Vec<i64> = v["expected"]["raw_i32f32_bits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b.as_i64().unwrap())
        .collect();
    for (x, want) in paired(v["inputs"]["input"].as_array().unwrap(), &bits, "sigmoid rho 30") {
        let x = I32F32::from_num(x.as_f64().unwrap());
        assert_eq!(math::sigmoid_safe(x, I32F32::from_num(30), half).to_bits(), *want, "x = {x}");
    }
    // Extreme inputs saturate instead of overflowing.
    let rho = I32F32::from_num(30);
    assert_eq!(math::sigmoid_safe(I32F32::min_value(), rho, half), I32F32::from_num(0.0000000019));
    assert_eq!(math::sigmoid_safe(I32F32::max_value(), rho, half), I32F32::from_num(0.9999999981));

    let v = vector("sigmoid_safe_rho40_kappa0.5");
    let bits: Vec<i64> = v["expected"]["raw_i32f32_bits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b.as_i64().unwrap())
        .collect();
    for (x, want) in paired(&fx_vec(&v["inputs"]["input"]), &bits, "sigmoid rho 40") {
        assert_eq!(math::sigmoid_safe(*x, I32F32::from_num(40), half).to_bits(), *want, "x = {x}");
    }
}

/// The dense EMA vectors: every cell present (explicit zeros), one rate everywhere.
#[test]
fn dense_alpha_ema_matches() {
    for name in
        ["mat_ema_alpha_dense_alpha0.1", "mat_ema_alpha_dense_alpha0", "mat_ema_alpha_dense_alpha1"]
    {
        let v = vector(name);
        let alpha = fx(&v["inputs"]["alpha"]);
        let old = sparse(&fx_vec(&v["inputs"]["old_bonds"]), 3, true);
        let new = sparse(&fx_vec(&v["inputs"]["new_weights"]), 3, true);
        let result = math::ema_per_cell(&new, &old, |_, _, _, _| alpha);
        assert_close(&dense(&result, 3), &f64s(&v["expected"]["result"]), 1e-4, name);
    }

    let v = vector("mat_ema_alpha_dense_small");
    let expected = v["expected"]["results"].as_array().unwrap();
    let cases = v["inputs"]["cases"].as_array().unwrap();
    for (k, (case, want)) in paired(cases, expected, "mat_ema_alpha_dense_small").enumerate() {
        let matrix = |key: &str| -> (Vec<I32F32>, usize) {
            let rows = case[key].as_array().unwrap();
            (rows.iter().flat_map(fx_vec).collect(), rows[0].as_array().unwrap().len())
        };
        let (new, columns) = matrix("new");
        let (old, _) = matrix("old");
        let (alpha, _) = matrix("alpha");
        let result = math::ema_per_cell(
            &sparse(&new, columns, true),
            &sparse(&old, columns, true),
            |i, j, _, _| alpha[i * columns + usize::from(j)],
        );
        let want: Vec<I32F32> = want.as_array().unwrap().iter().flat_map(f64s).collect();
        let tolerance = if k == 1 { 1e-6 } else { 0.0 };
        assert_close(&dense(&result, columns), &want, tolerance, "mat_ema_alpha_dense_small");
    }
}

/// The sparse EMA vectors: absent cells are not stored, and a bond whose column has no new
/// weight is dropped.
#[test]
fn sparse_alpha_ema_matches_and_drops_absent_columns() {
    let v = vector("mat_ema_alpha_sparse_cases");
    let alpha = fx(&v["inputs"]["alpha"]);
    let cases = v["inputs"]["cases"].as_array().unwrap();
    let expected = v["expected"]["results"].as_array().unwrap();
    for (k, (case, want)) in paired(cases, expected, "mat_ema_alpha_sparse_cases").enumerate() {
        let old = sparse(&fx_vec(&case["old"]), 3, false);
        let new = sparse(&fx_vec(&case["new"]), 3, false);
        let result = math::ema_per_cell(&new, &old, |_, _, _, _| alpha);
        let tolerance = if k + 1 == cases.len() { 1e-1 } else { 1e-4 };
        assert_close(&dense(&result, 3), &f64s(want), tolerance, "mat_ema_alpha_sparse_cases");
    }
    // The last case, exactly: the old bond at (0, 0) is dropped, not decayed.
    let last = cases.last().unwrap();
    let result = math::ema_per_cell(
        &sparse(&fx_vec(&last["new"]), 3, false),
        &sparse(&fx_vec(&last["old"]), 3, false),
        |_, _, _, _| alpha,
    );
    assert!(result[0].is_empty(), "row 0 keeps {:?}", result[0]);

    let v = vector("mat_ema_alpha_sparse_varying_alpha");
    let rows = |key: &str| -> Vec<Row> {
        v["inputs"][key]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| {
                row.as_array()
                    .unwrap()
                    .iter()
                    .map(|cell| {
                        (
                            cell[0].as_u64().unwrap() as u16,
                            I32F32::from_num(cell[1].as_f64().unwrap()),
                        )
                    })
                    .collect()
            })
            .collect()
    };
    let alpha: Vec<Vec<I32F32>> = v["inputs"]["alpha"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.as_array().unwrap().iter().map(|a| I32F32::from_num(a.as_f64().unwrap())).collect()
        })
        .collect();
    let result =
        math::ema_per_cell(&rows("weights"), &rows("bonds"), |i, j, _, _| alpha[i][usize::from(j)]);
    let want: Vec<I32F32> = v["expected"]["result"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|row| {
            row.as_array()
                .unwrap()
                .iter()
                .map(|cell| I32F32::from_num(cell[1].as_f64().unwrap()))
                .collect::<Vec<_>>()
        })
        .collect();
    let got: Vec<I32F32> = result.iter().flatten().map(|(_, x)| *x).collect();
    assert_close(&got, &want, 1e-6, "mat_ema_alpha_sparse_varying_alpha");
}

/// Liquid alpha with `low == high` is the fixed rate (0.1 here).
#[test]
fn liquid_alpha_with_equal_bounds_is_the_fixed_rate() {
    let v = vector("liquid_alpha_low_eq_high_matches_fixed_alpha");
    let weights = sparse(&fx_vec(&v["inputs"]["weights_4x3"]), 3, true);
    let bonds = sparse(&fx_vec(&v["inputs"]["bonds_4x3"]), 3, true);
    let consensus = fx_vec(&v["inputs"]["consensus"]);
    let bound =
        I32F32::from_num(v["inputs"]["alpha_low_u16"].as_u64().unwrap()) / I32F32::from_num(65535);
    let liquid = math::ema_per_cell(&weights, &bonds, |_, j, w, b| {
        math::AlphaCurve::new(bound, bound, I32F32::from_num(1000)).alpha(
            consensus[usize::from(j)],
            w,
            b,
        )
    });
    let fixed = math::ema(&weights, &bonds, I32F32::from_num(0.1));
    assert_close(&dense(&liquid, 3), &dense(&fixed, 3), 1e-3, "liquid vs fixed alpha");
    assert!(dense(&liquid, 3).iter().any(|x| *x > I32F32::from_num(0)));
}
