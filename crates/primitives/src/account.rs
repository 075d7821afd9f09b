//! Account ids (32-byte sr25519/ed25519 public keys) and their SS58 text form.
//!
//! SS58 with a one-byte prefix: `base58(prefix || key || checksum)` where `checksum` is the
//! first two bytes of `blake2b-512("SS58PRE" || prefix || key)`. Bittensor uses prefix 42.

use blake2::{Blake2b512, Digest};
use core::{fmt, str::FromStr};

/// The SS58 address prefix of Bittensor (and generic Substrate) accounts.
pub const SS58_PREFIX: u8 = 42;

const KEY_LEN: usize = 32;
const CHECKSUM_LEN: usize = 2;
const ADDRESS_LEN: usize = 1 + KEY_LEN + CHECKSUM_LEN;

/// Why a text address is not a valid SS58 account id.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Ss58Error {
    /// Not base58 text.
    #[error("not a base58 string: {0}")]
    Base58(String),
    /// Decoded to the wrong number of bytes (only 32-byte keys with a 1-byte prefix).
    #[error("wrong length: {0} bytes decoded, expected 35 (a 32-byte key with prefix 42)")]
    Length(usize),
    /// The network prefix is not 42.
    #[error("address is for network prefix {0}, expected 42 (Bittensor)")]
    Prefix(u8),
    /// The checksum does not match: a typo in the address.
    #[error("checksum mismatch: the address has a typo")]
    Checksum,
}

/// A 32-byte account id (public key).
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, codec::Encode, codec::Decode,
)]
pub struct AccountId([u8; KEY_LEN]);

impl AccountId {
    /// Wraps 32 public-key bytes.
    pub const fn new(bytes: [u8; KEY_LEN]) -> Self {
        Self(bytes)
    }

    /// The 32 public-key bytes.
    pub const fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// The SS58 address with prefix 42.
    pub fn to_ss58(&self) -> String {
        let mut raw = Vec::with_capacity(ADDRESS_LEN);
        raw.push(SS58_PREFIX);
        raw.extend_from_slice(&self.0);
        let sum = checksum(&raw);
        raw.extend_from_slice(&sum);
        bs58::encode(raw).into_string()
    }

    /// Parses an SS58 address with prefix 42, checking its checksum.
    pub fn from_ss58(text: &str) -> Result<Self, Ss58Error> {
        let raw =
            bs58::decode(text.trim()).into_vec().map_err(|e| Ss58Error::Base58(e.to_string()))?;
        let (&prefix, rest) = raw.split_first().ok_or(Ss58Error::Length(0))?;
        if raw.len() != ADDRESS_LEN {
            return Err(Ss58Error::Length(raw.len()));
        }
        if prefix != SS58_PREFIX {
            return Err(Ss58Error::Prefix(prefix));
        }
        let (key, sum) = rest.split_at(KEY_LEN);
        let body = raw.get(..1 + KEY_LEN).ok_or(Ss58Error::Length(raw.len()))?;
        if checksum(body) != sum {
            return Err(Ss58Error::Checksum);
        }
        let mut bytes = [0u8; KEY_LEN];
        bytes.copy_from_slice(key);
        Ok(Self(bytes))
    }
}

fn checksum(body: &[u8]) -> [u8; CHECKSUM_LEN] {
    let mut hasher = Blake2b512::new();
    hasher.update(b"SS58PRE");
    hasher.update(body);
    let digest: [u8; 64] = hasher.finalize().into();
    let [first, second, ..] = digest;
    [first, second]
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_ss58())
    }
}

impl fmt::Debug for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccountId({})", self.to_ss58())
    }
}

impl FromStr for AccountId {
    type Err = Ss58Error;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::from_ss58(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hex32(text: &str) -> [u8; 32] {
        let text = text.trim_start_matches("0x");
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).unwrap();
        }
        out
    }

    /// Every public key / address pair in the SDK's wallet vectors.
    #[test]
    fn matches_wallet_vectors() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/spec/vectors/wallet_vectors.json"
        );
        let text = std::fs::read_to_string(path).expect("shared/spec/vectors beside the repo");
        let vectors: serde_json::Value = serde_json::from_str(&text).unwrap();
        let mut checked = 0;
        for key in vectors["keys"].as_object().unwrap().values() {
            for scheme in ["sr25519", "ed25519"] {
                let Some(entry) = key.get(scheme) else { continue };
                let public = AccountId::new(hex32(entry["public_key"].as_str().unwrap()));
                let address = entry["ss58_address"].as_str().unwrap();
                assert_eq!(public.to_ss58(), address);
                assert_eq!(AccountId::from_ss58(address), Ok(public));
                checked += 1;
            }
        }
        assert!(checked >= 4, "only {checked} vectors found");
    }

    #[test]
    fn rejects_typos_wrong_prefix_and_garbage() {
        let alice = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";
        let parsed: AccountId = alice.parse().unwrap();
        assert_eq!(parsed.to_string(), alice);
        let typo = alice.replace("utQY", "utQZ");
        assert_eq!(AccountId::from_ss58(&typo), Err(Ss58Error::Checksum));
        assert!(matches!(AccountId::from_ss58("0OIl"), Err(Ss58Error::Base58(_))));
        assert!(matches!(AccountId::from_ss58("5Grw"), Err(Ss58Error::Length(_))));
        assert_eq!(AccountId::from_ss58(""), Err(Ss58Error::Length(0)));
        // Polkadot (prefix 0) address of the same key.
        let polkadot = "15oF4uVJwmo4TdGW7VfQxNLavjCXviqxT9S1MgbjMNHr6Sp5";
        assert_eq!(AccountId::from_ss58(polkadot), Err(Ss58Error::Prefix(0)));
    }

    proptest! {
        #[test]
        fn ss58_round_trips(bytes in any::<[u8; 32]>()) {
            let id = AccountId::new(bytes);
            prop_assert_eq!(AccountId::from_ss58(&id.to_ss58()), Ok(id));
        }

        #[test]
        fn arbitrary_text_never_panics(text in ".{0,60}") {
            let _ = AccountId::from_ss58(&text);
        }
    }
}
