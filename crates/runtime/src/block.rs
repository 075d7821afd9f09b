//! `execute_block`: the recipe every node runs for every block.

use crate::{
    coinbase::run_coinbase, dispatch::dispatch, epoch::run_due_epochs, neurons::POW_BLOCK_WINDOW,
    State,
};
use codec::Encode;
use tao_economics::{decay_burn, BurnBounds};
use tao_primitives::{BlockNumber, Rao};
use tao_types::{Event, Hash, InvalidTransaction, Outcome, Receipt, SignedTransaction};

/// Flat part of the fee of a paying transaction (0.0001 TAO).
pub const BASE_FEE: Rao = Rao::new(100_000);
/// Fee per encoded byte of a paying transaction.
pub const FEE_PER_BYTE: u64 = 100;

/// What the block producer tells the runtime about the block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockContext {
    /// The block's number: the state's block plus one.
    pub number: BlockNumber,
    /// The hash of the parent block (proof-of-work registrations refer to it).
    pub parent_hash: Hash,
}

/// What executing a block produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockOutcome {
    /// One receipt per transaction, in order.
    pub receipts: Vec<Receipt>,
    /// Events of the block itself (emission, epochs).
    pub events: Vec<Event>,
    /// The state root after the block.
    pub state_root: Hash,
}

/// A block that cannot be executed on this state at all.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BlockError {
    /// The block does not follow the state's last block.
    #[error("block {got} does not follow the state's block {state}")]
    WrongNumber {
        /// The state's last block.
        state: BlockNumber,
        /// The block's number.
        got: BlockNumber,
    },
}

/// The fee of a transaction: 0 for free calls, else [`BASE_FEE`] plus [`FEE_PER_BYTE`]
/// per encoded byte. Fees are burned.
pub fn fee(tx: &SignedTransaction) -> Rao {
    if tx.transaction.call.is_free() {
        return Rao::ZERO;
    }
    let bytes = u64::try_from(tx.encoded_size()).unwrap_or(u64::MAX);
    BASE_FEE.saturating_add(Rao::new(bytes.saturating_mul(FEE_PER_BYTE)))
}

/// Whether a transaction can be executed on `state` now: chain, signature, nonce and fee.
/// Read-only; the mempool uses it to admit transactions. Returns the fee.
pub fn validate_transaction(
    state: &State,
    tx: &SignedTransaction,
) -> Result<Rao, InvalidTransaction> {
    let t = &tx.transaction;
    if t.genesis_hash != state.genesis_hash() {
        return Err(InvalidTransaction::WrongChain);
    }
    let account = state.account(&t.signer);
    if t.nonce < account.nonce {
        return Err(InvalidTransaction::StaleNonce { expected: account.nonce, got: t.nonce });
    }
    if t.nonce > account.nonce {
        return Err(InvalidTransaction::FutureNonce { expected: account.nonce, got: t.nonce });
    }
    let fee = fee(tx);
    if account.free < fee {
        return Err(InvalidTransaction::CannotPayFee { fee, balance: account.free });
    }
    if !tx.verify_signature() {
        return Err(InvalidTransaction::BadSignature);
    }
    Ok(fee)
}

/// Executes a block on `state`:
/// 1. begin: advance the block number, remember the parent hash, decay registration prices;
/// 2. transactions, each valid one paying its fee and using its nonce, its call applied
///    only if it succeeds as a whole;
/// 3. the coinbase: block emission into the emitting subnets' pools and pending alpha;
/// 4. the epochs that are due, each paying its pending alpha out;
/// 5. the state root.
///
/// Deterministic: the same state, context and transactions give the same state and root.
pub fn execute_block(
    state: &mut State,
    context: &BlockContext,
    transactions: &[SignedTransaction],
) -> Result<BlockOutcome, BlockError> {
    let expected = state.block().next();
    if expected != Some(context.number) {
        return Err(BlockError::WrongNumber { state: state.block(), got: context.number });
    }
    begin_block(state, context);
    let receipts = transactions
        .iter()
        .enumerate()
        .map(|(index, tx)| apply_transaction(state, tx, u32::try_from(index).unwrap_or(u32::MAX)))
        .collect();
    let mut events = Vec::new();
    run_coinbase(state, &mut events);
    run_due_epochs(state, &mut events);
    Ok(BlockOutcome { receipts, events, state_root: state.state_root() })
}

fn begin_block(state: &mut State, context: &BlockContext) {
    let chain = state.chain_mut();
    chain.block = context.number;
    let parent = BlockNumber::new(context.number.get().saturating_sub(1));
    chain.recent_hashes.push((parent, context.parent_hash));
    let keep = usize::try_from(POW_BLOCK_WINDOW).unwrap_or(3);
    let excess = chain.recent_hashes.len().saturating_sub(keep);
    chain.recent_hashes.drain(..excess);
    if context.number.get() <= 1 {
        return;
    }
    for subnet in state.subnets.values_mut() {
        let info = subnet.info.get();
        let bounds = BurnBounds { min: info.params.min_burn, max: info.params.max_burn };
        let decayed = decay_burn(info.burn, info.burn_decay_q32, bounds);
        if decayed != info.burn {
            subnet.info.make_mut().burn = decayed;
        }
    }
}

/// Applies one transaction to the state as part of the current block and returns its
/// receipt: an invalid transaction changes nothing; a valid one pays its fee and uses its
/// nonce, and its call takes effect only if it succeeds. `execute_block` calls it for each
/// transaction; on a copy of the state it is a dry run.
pub fn apply_transaction(state: &mut State, tx: &SignedTransaction, index: u32) -> Receipt {
    let signer = tx.transaction.signer;
    let mut receipt = Receipt {
        tx_hash: tx.hash(),
        block: state.block(),
        index,
        signer,
        fee: Rao::ZERO,
        outcome: Outcome::Success,
        events: Vec::new(),
    };
    let fee = match validate_transaction(state, tx) {
        Ok(fee) => fee,
        Err(invalid) => {
            receipt.outcome = Outcome::Invalid(invalid);
            return receipt;
        }
    };
    let account = state.account_mut(&signer);
    account.free = account.free.saturating_sub(fee);
    account.nonce = account.nonce.saturating_add(1);
    let chain = state.chain_mut();
    chain.total_issuance = chain.total_issuance.saturating_sub(fee);
    chain.total_fees = chain.total_fees.saturating_add(fee);
    receipt.fee = fee;
    match dispatch(state, signer, &tx.transaction.call) {
        Ok(events) => receipt.events = events,
        Err(error) => receipt.outcome = Outcome::Failed(error),
    }
    receipt
}
