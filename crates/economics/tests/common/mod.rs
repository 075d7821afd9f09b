//! What the vector tests share: reading `chain.json`, and pairing inputs with expectations.

// Each test file uses what it needs.
#![allow(dead_code)]

/// The vector `name` of `../shared/spec/vectors/chain.json`.
pub fn vector(name: &str) -> serde_json::Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/spec/vectors/chain.json");
    let all: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("shared/ beside the repo"))
            .unwrap();
    all["vectors"].as_array().unwrap().iter().find(|v| v["name"] == name).unwrap().clone()
}

/// A JSON array of u64s.
pub fn u64s(v: &serde_json::Value) -> Vec<u64> {
    v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap()).collect()
}

/// Inputs paired with their expectations, after checking there are as many of each and
/// at least one (a `zip` alone would check nothing of a vector that lost its cases).
pub fn paired<A, B>(
    inputs: impl IntoIterator<Item = A, IntoIter = impl ExactSizeIterator<Item = A>>,
    expected: impl IntoIterator<Item = B, IntoIter = impl ExactSizeIterator<Item = B>>,
) -> impl ExactSizeIterator<Item = (A, B)> {
    let (inputs, expected) = (inputs.into_iter(), expected.into_iter());
    assert_eq!(inputs.len(), expected.len(), "as many expectations as inputs");
    assert!(inputs.len() > 0, "a vector with no cases checks nothing");
    inputs.zip(expected)
}
