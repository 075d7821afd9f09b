//! `execute_block`: the recipe every node runs for every block.

use crate::{
    coinbase::{run_coinbase, update_moving_prices},
    dispatch::dispatch,
    epoch::run_due_epochs,
    neurons::POW_BLOCK_WINDOW,
    validators::{self, CreditError},
    State,
};
use codec::Encode;
use tao_economics::{decay_burn, BurnBounds};
use tao_primitives::{BlockNumber, Rao};
use tao_types::{
    Event, FinalityCredit, Hash, InvalidTransaction, Outcome, Receipt, SignedTransaction,
    MAX_TRANSACTION_BYTES,
};

/// Flat part of the fee of a paying transaction (0.0001 TAO).
pub const BASE_FEE: Rao = Rao::new(100_000);
/// Fee per encoded byte of a paying transaction.
pub const FEE_PER_BYTE: u64 = 100;

/// What the block producer tells the runtime about the block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockContext {
    /// The block's number: the state's block plus one.
    pub number: BlockNumber,
    /// The hash of the parent block (proof-of-work registrations refer to it; on a
    /// proof-of-stake chain it tells the runtime the parent's hash for finality credits).
    pub parent_hash: Hash,
    /// A finalization certificate of an earlier block of this consensus epoch, crediting
    /// its signers (proof of stake; `None` on other chains and when there is none). An
    /// invalid one makes the block invalid ([`BlockError::InvalidCredit`]).
    pub credit: Option<FinalityCredit>,
}

/// What executing a block produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockOutcome {
    /// One receipt per transaction, in order.
    pub receipts: Vec<Receipt>,
    /// Events of the block itself: its block step's (emission, epochs) before its
    /// transactions, then governance's after them.
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
    /// The block's finality credit does not verify.
    #[error("invalid finality credit: {0}")]
    InvalidCredit(#[from] CreditError),
}

/// The fee of a transaction: 0 for free calls, else [`BASE_FEE`] plus [`FEE_PER_BYTE`]
/// per encoded byte. Fees are burned, except on a proof-of-stake chain, where they go to
/// the consensus epoch's validators (`validators`).
pub fn fee(tx: &SignedTransaction) -> Rao {
    if tx.transaction.call.is_free() {
        return Rao::ZERO;
    }
    let bytes = u64::try_from(tx.encoded_size()).unwrap_or(u64::MAX);
    BASE_FEE.saturating_add(Rao::new(bytes.saturating_mul(FEE_PER_BYTE)))
}

/// Whether a transaction can be executed on `state` now: size, chain, nonce, fee and
/// signature. Read-only; the mempool uses it to admit transactions. Returns the fee. A free
/// call must in addition succeed when applied (checked by [`apply_transaction`]).
pub fn validate_transaction(
    state: &State,
    tx: &SignedTransaction,
) -> Result<Rao, InvalidTransaction> {
    let fee = validate_unsigned(state, tx)?;
    if !tx.verify_signature() {
        return Err(InvalidTransaction::BadSignature);
    }
    Ok(fee)
}

/// [`validate_transaction`] without the signature check, for a transaction whose signature
/// was already verified (the mempool checks signatures before it takes the chain's lock).
pub fn validate_unsigned(state: &State, tx: &SignedTransaction) -> Result<Rao, InvalidTransaction> {
    let bytes = tx.encoded_size();
    if bytes > MAX_TRANSACTION_BYTES {
        return Err(InvalidTransaction::TooLarge {
            bytes: u32::try_from(bytes).unwrap_or(u32::MAX),
            max: u32::try_from(MAX_TRANSACTION_BYTES).unwrap_or(u32::MAX),
        });
    }
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
    Ok(fee)
}

/// Whether a free call would succeed on `state` now (on a copy; `state` is untouched). The
/// mempool admits a free call at the signer's next nonce only if it would; at the block
/// it is checked again by [`apply_transaction`].
pub fn check_free_call(state: &State, tx: &SignedTransaction) -> Result<(), InvalidTransaction> {
    if !tx.transaction.call.is_free() {
        return Ok(());
    }
    let mut scratch = state.clone();
    dispatch(&mut scratch, tx.transaction.signer, &tx.transaction.call)
        .map(drop)
        .map_err(InvalidTransaction::FreeCallFails)
}

/// Executes a block on `state`, in the reference's order (its `on_initialize` runs
/// `block_step` before the block's extrinsics):
/// 1. begin: advance the block number, remember the parent hash;
/// 2. the block step: decay registration prices; the coinbase (block emission into the
///    emitting subnets' pools and pending alpha); the epochs that are due, each paying its
///    pending alpha out; the moving prices;
/// 3. transactions, each valid one paying its fee and using its nonce, its call applied
///    only if it succeeds as a whole (an invalid one gets an `Invalid` receipt and changes
///    nothing; nodes refuse blocks that carry one, see [`BlockOutcome::first_invalid`]);
///    they see the state the block step left (prices after injection, stakes after the
///    epoch's payout);
/// 4. end: governance (proposals whose vote ends in this block are counted, after the
///    block's votes, and enacted; this chain's own, the reference has no counterpart);
/// 5. the state root.
///
/// Deterministic: the same state, context and transactions give the same state and root.
pub fn execute_block(
    state: &mut State,
    context: &BlockContext,
    transactions: &[SignedTransaction],
) -> Result<BlockOutcome, BlockError> {
    let mut builder = BlockBuilder::begin(state, context)?;
    let receipts = transactions
        .iter()
        .enumerate()
        .map(|(index, tx)| {
            apply_transaction(builder.state, tx, u32::try_from(index).unwrap_or(u32::MAX))
        })
        .collect();
    builder.receipts = receipts;
    Ok(builder.finish())
}

/// A block being built: [`BlockBuilder::begin`] runs steps 1-2 of [`execute_block`],
/// [`BlockBuilder::push`] applies one transaction and keeps it only if it is valid, and
/// [`BlockBuilder::finish`] runs steps 4-5. The transactions pushed successfully, in order,
/// are the block's: `execute_block` on them gives the same state and outcome.
pub struct BlockBuilder<'a> {
    state: &'a mut State,
    receipts: Vec<Receipt>,
    events: Vec<Event>,
}

impl<'a> BlockBuilder<'a> {
    /// Begins the block `context` on `state` (whose last block must be its parent) and runs
    /// its block step.
    pub fn begin(state: &'a mut State, context: &BlockContext) -> Result<Self, BlockError> {
        let expected = state.block().next();
        if expected != Some(context.number) {
            return Err(BlockError::WrongNumber { state: state.block(), got: context.number });
        }
        // Verified before anything is written: a refused block leaves the state as it was.
        let credit = match &context.credit {
            Some(credit) => {
                Some(validators::check_credit(state, context.number, context.parent_hash, credit)?)
            }
            None => None,
        };
        begin_block(state, context);
        let mut events = Vec::new();
        validators::begin_block(state, context.parent_hash, credit, &mut events);
        block_step(state, &mut events);
        Ok(Self { state, receipts: Vec::new(), events })
    }

    /// Applies `tx` if it is valid here (its receipt is kept, success or failure); an
    /// invalid one changes nothing and is not part of the block.
    pub fn push(&mut self, tx: &SignedTransaction) -> Result<(), InvalidTransaction> {
        let index = u32::try_from(self.receipts.len()).unwrap_or(u32::MAX);
        let receipt = apply_transaction(self.state, tx, index);
        if let Outcome::Invalid(invalid) = receipt.outcome {
            return Err(invalid);
        }
        self.receipts.push(receipt);
        Ok(())
    }

    /// The state as the block has left it so far: after its block step and the
    /// transactions pushed (what the next transaction would see).
    pub fn state(&self) -> &State {
        self.state
    }

    /// How many transactions the block holds so far.
    pub fn len(&self) -> usize {
        self.receipts.len()
    }

    /// Whether the block holds no transaction yet.
    pub fn is_empty(&self) -> bool {
        self.receipts.is_empty()
    }

    /// Ends the block: governance, the consensus epoch's end if this is its last block,
    /// state root.
    pub fn finish(self) -> BlockOutcome {
        let mut events = self.events;
        crate::governance::on_block(self.state, &mut events);
        validators::end_block(self.state, &mut events);
        BlockOutcome { receipts: self.receipts, events, state_root: self.state.state_root() }
    }
}

impl BlockOutcome {
    /// The first transaction the block carries that was not valid where it stands (its
    /// index and why). A block with one is refused by every node: only valid transactions
    /// may take block space.
    pub fn first_invalid(&self) -> Option<(u32, &InvalidTransaction)> {
        self.receipts.iter().find_map(|receipt| match &receipt.outcome {
            Outcome::Invalid(invalid) => Some((receipt.index, invalid)),
            _ => None,
        })
    }
}

fn begin_block(state: &mut State, context: &BlockContext) {
    let chain = state.chain_mut();
    chain.block = context.number;
    let parent = BlockNumber::new(context.number.get().saturating_sub(1));
    chain.recent_hashes.push((parent, context.parent_hash));
    let keep = usize::try_from(POW_BLOCK_WINDOW).unwrap_or(3);
    let excess = chain.recent_hashes.len().saturating_sub(keep);
    chain.recent_hashes.drain(..excess);
}

/// The reference's `block_step`, before the block's transactions: registration price
/// decay (skipped at block 1), the coinbase, the due epochs, the moving prices; before
/// them, this chain's own: unbonding chunks due now are released.
fn block_step(state: &mut State, events: &mut Vec<Event>) {
    validators::release_unbonding(state, events);
    decay_burns(state);
    run_coinbase(state, events);
    run_due_epochs(state, events);
    update_moving_prices(state);
}

fn decay_burns(state: &mut State) {
    if state.block().get() <= 1 {
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
    if tx.transaction.call.is_free() {
        // Free calls pay nothing, so they count only when they succeed: a failing one is
        // invalid (handlers write nothing before they have validated everything).
        match dispatch(state, signer, &tx.transaction.call) {
            Ok(events) => receipt.events = events,
            Err(error) => {
                receipt.outcome = Outcome::Invalid(InvalidTransaction::FreeCallFails(error));
                return receipt;
            }
        }
        let account = state.account_mut(&signer);
        account.nonce = account.nonce.saturating_add(1);
        return receipt;
    }
    let account = state.account_mut(&signer);
    account.free = account.free.saturating_sub(fee);
    account.nonce = account.nonce.saturating_add(1);
    if !validators::collect_fee(state, fee) {
        let chain = state.chain_mut();
        chain.total_issuance = chain.total_issuance.saturating_sub(fee);
        chain.total_fees = chain.total_fees.saturating_add(fee);
    }
    receipt.fee = fee;
    match dispatch(state, signer, &tx.transaction.call) {
        Ok(events) => receipt.events = events,
        Err(error) => receipt.outcome = Outcome::Failed(error),
    }
    receipt
}
