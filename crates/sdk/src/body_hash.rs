//! A synapse's `computed_body_hash`: SHA3-256 over the concatenated SHA3-256 hex digests of
//! `str(value)` of each required hash field, in the class's declared order.

use crate::python::{python_str, ReprError};
use sha3::{Digest, Sha3_256};

/// SHA3-256 of UTF-8 text, lowercase hex without `0x`.
pub fn sha3_hex(text: &str) -> String {
    let digest = Sha3_256::digest(text.as_bytes());
    let hex = tao_primitives::hex::encode(&digest);
    hex.trim_start_matches("0x").to_owned()
}

/// The body hash of a synapse whose required hash fields have these values (JSON text of
/// each, in `required_hash_fields` order). With no fields it is `sha3_256("")`.
pub fn body_hash<'a>(values: impl IntoIterator<Item = &'a str>) -> Result<String, ReprError> {
    let mut joined = String::new();
    for value in values {
        joined.push_str(&sha3_hex(&python_str(value)?));
    }
    Ok(sha3_hex(&joined))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_fields_is_the_hash_of_nothing() {
        assert_eq!(
            body_hash([]).unwrap(),
            "a7ffc6f8bf1ed76651c14756a061d662f580ff4de43b49fa82d80a4b80f8434a"
        );
    }
}
