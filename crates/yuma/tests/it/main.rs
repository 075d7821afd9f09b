//! Integration tests of `tao-yuma`: the reference vectors, a chain-like harness that replays
//! the reference's epoch tests, and property tests. One binary for fast builds.

#![allow(missing_docs)] // test helpers, not an API

pub mod bench;
mod harness;
mod kernels;
pub mod oracle;
mod properties;
mod simulator;
mod vectors_epoch;
mod vectors_math;

use std::sync::OnceLock;

/// The benchmark suite once, small and unoptimized, so it cannot rot: every case runs and
/// the fast kernel equals the reference on each benchmark input (`bench::run` asserts it).
#[test]
fn bench_smoke() {
    let lines = bench::run(bench::Mode::Smoke);
    assert_eq!(lines.len(), 3, "three cases at n = 256");
    for line in &lines {
        assert!(line.ours > 0.0 && line.oracle > 0.0 && line.sparse > 0.0, "{line:?}");
        assert_eq!(line.n, 256);
        assert_eq!(line.validators, 64);
    }
}

/// The reference vectors (`shared/spec/vectors/chain.json`), by name.
pub fn vector(name: &str) -> &'static serde_json::Value {
    static VECTORS: OnceLock<serde_json::Value> = OnceLock::new();
    let all = VECTORS.get_or_init(|| {
        let dir = std::env::var("TAO_SPEC_VECTORS").unwrap_or_else(|_| {
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/spec/vectors").to_owned()
        });
        let path = format!("{dir}/chain.json");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("reading {path} (shared/ must sit beside the repo): {e}"));
        serde_json::from_str(&text).expect("chain.json is JSON")
    });
    all["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["name"] == name)
        .unwrap_or_else(|| panic!("no vector named {name}"))
}

/// Expected and actual values side by side, after checking there are as many of each and
/// at least one (a `zip` alone would check nothing of a vector that lost its cases, and only
/// a prefix of a result that grew).
pub fn paired<'a, A, B>(
    expected: &'a [A],
    actual: &'a [B],
    what: &str,
) -> std::iter::Zip<std::slice::Iter<'a, A>, std::slice::Iter<'a, B>> {
    assert_eq!(expected.len(), actual.len(), "{what}: as many values as expected");
    assert!(!expected.is_empty(), "{what}: nothing to compare");
    expected.iter().zip(actual)
}

/// A JSON number as the reference tests write it: an `f32` literal through `I32F32::from_num`.
pub fn fx(value: &serde_json::Value) -> substrate_fixed::types::I32F32 {
    substrate_fixed::types::I32F32::from_num(value.as_f64().unwrap() as f32)
}

/// A JSON array of numbers as `I32F32`s.
pub fn fx_vec(value: &serde_json::Value) -> Vec<substrate_fixed::types::I32F32> {
    value.as_array().unwrap().iter().map(fx).collect()
}

/// `I32F32` to `f64`, for tolerance checks.
pub fn to_f64(x: substrate_fixed::types::I32F32) -> f64 {
    x.to_num::<f64>()
}
