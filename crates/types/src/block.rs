//! Blocks: a header committing to the parent, the transactions and the state after them.

use crate::{blake2_256, FinalityCredit, Hash, SignedTransaction};
use codec::{Decode, Encode};
use tao_primitives::BlockNumber;

/// A block header.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Header {
    /// Height.
    pub number: BlockNumber,
    /// Hash of the parent header.
    pub parent_hash: Hash,
    /// State root after executing the block.
    pub state_root: Hash,
    /// [`transactions_root`] of the body.
    pub transactions_root: Hash,
    /// Producer's wall-clock time, milliseconds since the Unix epoch (informative only: the
    /// runtime never reads it).
    pub timestamp_ms: u64,
}

impl Header {
    /// The block hash: BLAKE2b-256 of the encoded header.
    pub fn hash(&self) -> Hash {
        blake2_256(&self.encode())
    }
}

/// A block: header, transactions and, on a chain with proof of stake, the finalization
/// certificate of an earlier block of its epoch that credits the validators who signed it.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Block {
    /// The header.
    pub header: Header,
    /// The transactions, in execution order.
    pub transactions: Vec<SignedTransaction>,
    /// The signers' credit it carries (the runtime verifies it; `None` on most chains).
    pub credit: Option<FinalityCredit>,
}

/// The root of a block's body: BLAKE2b-256 over the concatenated transaction hashes, then,
/// if the block carries a credit, the BLAKE2b-256 of its encoding.
pub fn transactions_root(
    transactions: &[SignedTransaction],
    credit: Option<&FinalityCredit>,
) -> Hash {
    let mut bytes = Vec::with_capacity(32 * (transactions.len() + 1));
    for tx in transactions {
        bytes.extend_from_slice(&tx.hash().0);
    }
    if let Some(credit) = credit {
        bytes.extend_from_slice(&blake2_256(&credit.encode()).0);
    }
    blake2_256(&bytes)
}
