//! What crosses process boundaries: calls, signed transactions, receipts, events, blocks
//! and the genesis config.
//!
//! Everything here has one canonical SCALE encoding; hashes are BLAKE2b-256 of it.
//! Decoding from the network is bounded ([`SignedTransaction::decode_bounded`]): a size
//! limit, no trailing bytes, and a typed error instead of a panic.
//!
//! Invariants:
//! * A transaction signature covers the genesis hash, the signer's nonce and the call,
//!   under the namespace [`TX_NAMESPACE`], so it cannot be replayed on another chain, twice,
//!   or as another kind of message.
//! * `decode(encode(x)) == x` for every type here.

#![cfg_attr(
    not(test),
    deny(
        clippy::indexing_slicing,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::float_arithmetic
    )
)]

mod block;
mod call;
pub mod consensus;
mod crypto;
mod genesis;
mod governance;
mod receipt;
mod transaction;
mod voucher;

pub mod pow;

pub use block::{transactions_root, Block, Header};
pub use call::{
    weights_commit_hash, AxonInfo, Call, Existence, GlobalParameter, Hyperparameter, IpType, Setter,
};
pub use consensus::{
    ConsensusKey, ConsensusSecret, ConsensusSignature, Equivocation, FinalityCredit,
};
pub use crypto::{blake2_256, Hash, Keypair, Signature};
pub use genesis::{
    GenesisBalance, GenesisConfig, GenesisConsensus, GenesisGovernance, GenesisNeuron,
    GenesisSubnet, GenesisValidator,
};
pub use governance::{
    PrivilegedCall, ProposalId, Rejection, Tally, Track, VoteChoice, MAX_DESCRIPTION_BYTES,
    MAX_PROPOSAL_CALLS, MAX_TITLE_BYTES,
};
pub use receipt::{DispatchError, Event, InvalidTransaction, Outcome, Receipt};
pub use transaction::{
    DecodeError, SignedTransaction, Transaction, MAX_TRANSACTION_BYTES, TX_NAMESPACE,
};
pub use voucher::{SignedVoucher, Voucher, VOUCHER_NAMESPACE};
