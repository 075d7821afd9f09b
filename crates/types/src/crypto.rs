//! Hashes and sr25519 signatures (the scheme of Bittensor wallets).

use codec::{Decode, Encode};
use core::fmt;
use tao_primitives::AccountId;

/// The sr25519 signing context, as Substrate and Bittensor wallets use it.
const SIGNING_CONTEXT: &[u8] = b"substrate";

/// A 32-byte BLAKE2b-256 digest.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode)]
pub struct Hash(pub [u8; 32]);

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("0x")?;
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({self})")
    }
}

/// BLAKE2b with a 256-bit output.
pub fn blake2_256(data: &[u8]) -> Hash {
    use blake2::{digest::consts::U32, Blake2b, Digest};
    let mut hasher = Blake2b::<U32>::new();
    hasher.update(data);
    Hash(hasher.finalize().into())
}

/// A 64-byte sr25519 signature.
#[derive(Clone, Copy, PartialEq, Eq, Encode, Decode)]
pub struct Signature(pub [u8; 64]);

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Signature(0x")?;
        self.0.iter().take(8).try_for_each(|b| write!(f, "{b:02x}"))?;
        f.write_str("…)")
    }
}

impl Signature {
    /// Whether this is `signer`'s signature of `message`.
    pub fn verify(&self, signer: &AccountId, message: &[u8]) -> bool {
        let Ok(public) = schnorrkel::PublicKey::from_bytes(signer.as_bytes()) else { return false };
        let Ok(signature) = schnorrkel::Signature::from_bytes(&self.0) else { return false };
        public.verify_simple(SIGNING_CONTEXT, message, &signature).is_ok()
    }
}

/// An sr25519 key pair.
pub struct Keypair(schnorrkel::Keypair);

impl Keypair {
    /// The key pair of a 32-byte mini secret key (a wallet's seed), expanded as Bittensor
    /// wallets expand it (`ExpansionMode::Ed25519`).
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        let mini = match schnorrkel::MiniSecretKey::from_bytes(seed) {
            Ok(mini) => mini,
            Err(_) => unreachable!("any 32 bytes are a mini secret key"),
        };
        Self(mini.expand_to_keypair(schnorrkel::ExpansionMode::Ed25519))
    }

    /// The account id (public key).
    pub fn account(&self) -> AccountId {
        AccountId::new(self.0.public.to_bytes())
    }

    /// Signs `message`.
    pub fn sign(&self, message: &[u8]) -> Signature {
        Signature(self.0.sign_simple(SIGNING_CONTEXT, message).to_bytes())
    }
}

impl fmt::Debug for Keypair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Keypair({})", self.account())
    }
}
