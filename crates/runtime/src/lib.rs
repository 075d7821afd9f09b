//! The state-transition function of the tao chain: the state schema and `execute_block`.
//!
//! Sans-IO: `execute_block(state, context, transactions)` is the whole interface the node
//! calls; it reads no clock, does no I/O, uses no floats and iterates no hash maps. Every
//! node that executes the same block on the same state reaches the same state root.
//!
//! ```text
//! execute_block
//! ├─ begin       block number, parent hash, the block's finality credit (proof of stake:
//! │              verified, its signers credited with blocks)
//! ├─ block step  unbonding released, registration price decay, emission (halving, 21M
//! │              cap) into emitting subnets, due subnet epochs run Yuma Consensus (at most
//! │              MaxEpochsPerBlock), moving prices
//! ├─ txs         validate (chain, nonce, fee, signature) → fee (burned, or into the
//! │              consensus epoch's pot on a proof-of-stake chain) + nonce → dispatch
//! │              balances · subnets · neurons · weights · staking · governance ·
//! │              channels · validators (register, bond, unbond, unjail, evidence)
//! └─ end         governance; at the last block of a consensus epoch: its fees paid to its
//!                validators by signed blocks, the next validator set elected (`validators`)
//! ```
//!
//! Invariants:
//! * A failed call changes nothing but its fee and the signer's nonce; an invalid
//!   transaction (wrong chain, bad nonce, unpaid fee, bad signature) changes nothing.
//! * TAO is conserved: `total_issuance = Σ free balances + Σ subnet pools' TAO + Σ root
//!   stake + Σ proposal deposits + Σ channel deposits not yet claimed + Σ validator bonds +
//!   Σ unbonding + the epoch's fee pot` after every block ([`State::tao_holdings`]);
//!   minting raises it, registration burns, slashes and burned fees lower it.
//! * A neuron table is always well-formed for the epoch: one UID per hotkey, weights and
//!   bonds name existing UIDs, sorted, without repeats.

#![cfg_attr(
    not(test),
    deny(
        clippy::arithmetic_side_effects,
        clippy::indexing_slicing,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::float_arithmetic
    )
)]

mod balances;
mod block;
mod cached;
pub mod channels;
mod coinbase;
mod dispatch;
pub mod epoch;
mod genesis;
pub mod governance;
pub mod neurons;
mod parts;
mod payout;
pub mod stake;
mod staking;
mod state;
pub mod subnets;
pub mod validators;
mod weights;

pub use balances::EXISTENTIAL_DEPOSIT;
pub use block::{
    apply_transaction, check_free_call, execute_block, fee, validate_transaction,
    validate_unsigned, BlockBuilder, BlockContext, BlockError, BlockOutcome, BASE_FEE,
    FEE_PER_BYTE,
};
pub use cached::Cached;
pub use coinbase::emission_shares;
pub use genesis::{genesis, GenesisError};
pub use parts::PartsError;
pub use state::{
    Account, ChainInfo, GlobalParams, Hyperparams, Neuron, NeuronEpochOutput, NeuronTable,
    PendingAlpha, StakeTable, State, StatePart, Subnet, SubnetInfo, TaoHoldings, WeightCommit,
};
pub use validators::{
    Candidate, CandidateView, ConsensusState, CreditError, PosParams, SetMember, UnbondChunk,
    ValidatorSet, ValidatorSets,
};
pub use weights::MAX_UNREVEALED_COMMITS;
