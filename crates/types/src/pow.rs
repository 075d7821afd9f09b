//! Proof-of-work registration: the seal and its difficulty check, shared by the runtime
//! (which verifies) and clients (which search for a nonce).

use crate::Hash;
use sha2::{Digest, Sha256};
use sha3::Keccak256;
use tao_primitives::AccountId;

/// Blocks back a proof of work may refer to.
pub const POW_BLOCK_WINDOW: u64 = 3;

/// The proof-of-work seal: `keccak256(sha256(nonce_le ‖ keccak256(block_hash ‖ hotkey)))`.
pub fn pow_seal(block_hash: &Hash, hotkey: &AccountId, nonce: u64) -> [u8; 32] {
    let mut inner = Keccak256::new();
    inner.update(block_hash.0);
    inner.update(hotkey.as_bytes());
    let h1 = inner.finalize();
    let mut sha = Sha256::new();
    sha.update(nonce.to_le_bytes());
    sha.update(h1);
    let mut outer = Keccak256::new();
    outer.update(sha.finalize());
    outer.finalize().into()
}

/// Whether `seal` (a little-endian 256-bit number) times `difficulty` fits in 256 bits.
pub fn seal_meets_difficulty(seal: &[u8; 32], difficulty: u64) -> bool {
    let mut carry: u128 = 0;
    for chunk in seal.chunks_exact(8) {
        let mut limb = [0u8; 8];
        limb.copy_from_slice(chunk);
        let product = u128::from(u64::from_le_bytes(limb))
            .saturating_mul(u128::from(difficulty))
            .saturating_add(carry);
        carry = product >> 64;
    }
    carry == 0
}
