//! How values that JSON has no type for cross the wire: accounts as SS58, hashes as `0x`-hex,
//! and amounts that can exceed 2^53 as decimal strings.

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::{de::Error as _, Deserialize, Deserializer, Serialize, Serializer};
use std::{borrow::Cow, fmt, str::FromStr};
use tao_primitives::AccountId;
use tao_types::Hash;

/// A value carried as a JSON string (parsed with [`FromStr`], written with [`Display`]).
///
/// [`Display`]: fmt::Display
macro_rules! string_newtype {
    ($(#[$meta:meta])* $name:ident($inner:ty), $schema_name:literal, $description:literal) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(pub $inner);

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = Cow::<'de, str>::deserialize(deserializer)?;
                text.parse().map_err(D::Error::custom)
            }
        }

        impl JsonSchema for $name {
            fn schema_name() -> Cow<'static, str> {
                $schema_name.into()
            }

            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                json_schema!({"type": "string", "description": $description})
            }
        }

        impl From<$inner> for $name {
            fn from(inner: $inner) -> Self {
                Self(inner)
            }
        }
    };
}

string_newtype!(
    /// An account, SS58 on the wire (prefix 42).
    Address(AccountId),
    "Address",
    "An account: SS58 (prefix 42)."
);
string_newtype!(
    /// A 32-byte hash (block, transaction, state root), `0x`-hex on the wire.
    H256(Hash),
    "H256",
    "A 32-byte hash, 0x-hex (66 characters)."
);
string_newtype!(
    /// A u64 amount (RAO or alpha units) that can exceed 2^53, a decimal string on the wire
    /// (JavaScript's numbers are exact only below 2^53).
    #[derive(Default)]
    BigAmount(u64),
    "BigAmount",
    "A u64 amount in the smallest unit, as a decimal string (it can exceed 2^53)."
);
string_newtype!(
    /// A u128 amount (RAO), a decimal string on the wire.
    #[derive(Default)]
    WideAmount(u128),
    "WideAmount",
    "A u128 amount in the smallest unit, as a decimal string."
);

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.to_ss58())
    }
}

impl FromStr for Address {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        AccountId::from_ss58(text).map(Self).map_err(|e| format!("{text:?}: {e}"))
    }
}

impl fmt::Display for H256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for H256 {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        let bytes = tao_primitives::hex::decode(text).map_err(|e| format!("{text:?}: {e}"))?;
        let array: [u8; 32] = bytes.try_into().map_err(|_| "a hash is 32 bytes".to_owned())?;
        Ok(Self(Hash(array)))
    }
}

/// Decimal amounts: the integer's own decimal form, nothing else accepted (no sign, no
/// fraction, no exponent).
macro_rules! decimal_amount {
    ($name:ident, $inner:ty) => {
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(text: &str) -> Result<Self, String> {
                if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(format!("{text:?} is not a decimal amount"));
                }
                text.parse().map(Self).map_err(|e| format!("{text:?}: {e}"))
            }
        }
    };
}

decimal_amount!(BigAmount, u64);
decimal_amount!(WideAmount, u128);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::ALICE;

    #[test]
    fn strings_round_trip_and_reject_garbage() {
        let address = Address(AccountId::from_ss58(ALICE).unwrap());
        let json = serde_json::to_string(&address).unwrap();
        assert_eq!(json, format!("\"{ALICE}\""));
        assert_eq!(serde_json::from_str::<Address>(&json).unwrap(), address);
        assert!(serde_json::from_str::<Address>("\"5Nope\"").is_err());
        assert!(serde_json::from_str::<Address>("42").is_err());

        let hash = H256(Hash([0xab; 32]));
        let json = serde_json::to_string(&hash).unwrap();
        assert_eq!(json, format!("\"0x{}\"", "ab".repeat(32)));
        assert_eq!(serde_json::from_str::<H256>(&json).unwrap(), hash);
        assert!(serde_json::from_str::<H256>("\"0xabcd\"").is_err());

        let big = BigAmount(u64::MAX);
        assert_eq!(serde_json::to_string(&big).unwrap(), "\"18446744073709551615\"");
        assert_eq!(serde_json::from_str::<BigAmount>("\"18446744073709551615\"").unwrap(), big);
        let wide = WideAmount(u128::MAX);
        assert_eq!(
            serde_json::from_str::<WideAmount>(&serde_json::to_string(&wide).unwrap()).unwrap(),
            wide
        );
        for bad in
            ["\"\"", "\"-1\"", "\"1.5\"", "\"1e3\"", "\"+1\"", "7", "\"18446744073709551616\""]
        {
            assert!(serde_json::from_str::<BigAmount>(bad).is_err(), "{bad}");
        }
    }
}
