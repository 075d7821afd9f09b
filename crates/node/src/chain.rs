//! The node's chain: the runtime state at the head, the store, and the pool; producing a
//! block executes the ready transactions, commits the block durably, then moves the head.

use crate::{
    mempool::{Mempool, PoolLimits, SubmitError, VerifiedTransaction},
    store::{Pruning, Store},
};
use anyhow::{bail, Context, Result};
use codec::Encode;
use std::path::Path;
use tao_primitives::BlockNumber;
use tao_runtime::{
    execute_block, genesis, BlockBuilder, BlockContext, BlockError, BlockOutcome, State,
};
use tao_types::{
    transactions_root, Block, FinalityCredit, GenesisConfig, Hash, Header, InvalidTransaction,
    SignedTransaction,
};

/// Most transactions in one block.
pub const MAX_BLOCK_TRANSACTIONS: usize = 2_000;
/// Most encoded bytes of transactions in one block: with its header a block stays well
/// below the p2p message limit ([`crate::consensus::MAX_MESSAGE_SIZE`], 4 MiB) and its hex
/// form below the RPC's response limit.
pub const MAX_BLOCK_BYTES: usize = 1536 * 1024;

/// Most signatures a block's credit may carry (the runtime's largest validator set is far
/// smaller; this bounds what a peer can make a node hash before the runtime looks).
pub const MAX_CREDIT_SIGNATURES: usize = 1_024;
/// How far ahead of a node's clock a block's timestamp may be. Further, and the block is
/// refused: a far-future timestamp would stop honest leaders, who wait for
/// `now >= parent + block time`.
pub const MAX_CLOCK_DRIFT_MS: u64 = 15_000;
/// How many pool transactions a block builder looks at: twice what fits, so that invalid
/// ones (dropped as they are found) do not leave the block empty, and bounded so that a
/// pool of invalid transactions costs a builder little.
pub const MAX_BUILD_CANDIDATES: usize = 2 * MAX_BLOCK_TRANSACTIONS;

/// The chain as one node sees it.
pub struct Chain {
    /// State after the head block.
    pub state: State,
    /// The head block's header.
    pub head: Header,
    /// Durable blocks and receipts.
    pub store: Store,
    /// Pending transactions.
    pub mempool: Mempool,
    /// The genesis block's header.
    genesis: Header,
    /// How the state was recovered when the chain was opened.
    pub opened: Opened,
}

/// How [`Chain::open`] got the state at the head.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Opened {
    /// Blocks re-executed to rebuild the state (0 when the stored state was read back).
    pub replayed: u64,
    /// Why the stored state was not used, if it was not (no stored state yet: a store of an
    /// older node; or it failed its checks).
    pub fallback: Option<String>,
    /// Microseconds opening took.
    pub micros: u64,
}

/// Why a chain cannot be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The stored state is unusable and the blocks to rebuild it were pruned.
    #[error("the stored state at block {head} is unusable ({why}) and blocks before {oldest} were pruned, so it cannot be rebuilt by replay: restore this --base-path from a backup or sync a new one")]
    StateUnrecoverable {
        /// The head.
        head: u64,
        /// The lowest block kept.
        oldest: u64,
        /// What is wrong with the stored state.
        why: String,
    },
}

/// The genesis header of a genesis state.
pub fn genesis_header(state: &State) -> Header {
    Header {
        number: BlockNumber::GENESIS,
        parent_hash: Hash::default(),
        state_root: state.state_root(),
        transactions_root: transactions_root(&[], None),
        timestamp_ms: 0,
    }
}

impl Chain {
    /// Opens the archive chain in `dir` ([`Self::open_with`]).
    pub fn open(dir: &Path, config: &GenesisConfig) -> Result<Self> {
        Self::open_with(dir, config, Pruning::Archive)
    }

    /// Opens the chain in `dir`: a new store starts from `config` (and stores the genesis
    /// state); an existing one must have the same genesis. The state at the head is read
    /// back from the store and checked against the head header's state root; if there is
    /// none (a store of an older node) or it fails (corrupt, or another root), the stored
    /// blocks are replayed from genesis instead (each must reproduce its state root) and the
    /// rebuilt state is stored, with a warning saying why; if blocks were pruned, replay is
    /// impossible and opening fails with [`OpenError::StateUnrecoverable`].
    pub fn open_with(dir: &Path, config: &GenesisConfig, pruning: Pruning) -> Result<Self> {
        let started = std::time::Instant::now();
        let mut store = Store::open_with(dir, pruning)?;
        let config_bytes = serde_json::to_vec(config)?;
        match store.meta("genesis")? {
            Some(stored) if stored != config_bytes => {
                bail!(
                    "{} holds another chain (its genesis differs); use another --base-path",
                    dir.display()
                )
            }
            Some(_) => {}
            None => store.set_meta("genesis", &config_bytes)?,
        }
        let genesis_state = genesis(config).context("genesis config")?;
        let genesis = genesis_header(&genesis_state);
        let head_number = store.head_number();
        let head = match head_number {
            0 => genesis.clone(),
            n => {
                store
                    .block(n)?
                    .with_context(|| format!("the head block {n} is missing from the store"))?
                    .header
            }
        };
        let (state, replayed, fallback) = match read_state(&store, &head) {
            Ok(state) => {
                store.adopt_state(&state);
                (state, 0, None)
            }
            Err(why) if head_number == 0 => {
                // A new store (or one that never got past genesis): store the genesis state.
                store.write_state(&genesis_state, 0)?;
                let fallback = (why != NO_STATE).then_some(why);
                (genesis_state, 0, fallback)
            }
            Err(why) => {
                if store.oldest_kept() > 1 {
                    return Err(OpenError::StateUnrecoverable {
                        head: head_number,
                        oldest: store.oldest_kept(),
                        why,
                    }
                    .into());
                }
                tracing::warn!(
                    head = head_number,
                    reason = %why,
                    "the stored state cannot be used; replaying every block from genesis"
                );
                let state = replay(&store, genesis_state, head_number)?;
                store.write_state(&state, head_number)?;
                (state, head_number, Some(why))
            }
        };
        let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        Ok(Self {
            state,
            head,
            store,
            mempool: Mempool::new(PoolLimits::default()),
            genesis,
            opened: Opened { replayed, fallback, micros },
        })
    }

    /// The genesis block's header (its hash is the chain's identity in consensus).
    pub fn genesis_header(&self) -> &Header {
        &self.genesis
    }

    /// Imports the next block produced elsewhere (a follower's sync): it must extend the
    /// head and verify against this machine's clock (see [`check_block`]). Committed
    /// durably before the head moves.
    pub fn import(&mut self, block: &Block) -> Result<BlockOutcome> {
        let (next, outcome) = check_block(&self.head, &self.state, block, wall_clock_ms())?;
        self.commit(block, next, &outcome)?;
        Ok(outcome)
    }

    /// Makes an executed block the head: stored durably (block and receipts) first, then the
    /// state and head move and the pool drops what the block used and what expired.
    pub fn commit(&mut self, block: &Block, state: State, outcome: &BlockOutcome) -> Result<()> {
        self.commit_certified(block, state, outcome, None)
    }

    /// [`Self::commit`], keeping the block's finalization `certificate` in the same store
    /// transaction (one write, one sync, per block).
    pub fn commit_certified(
        &mut self,
        block: &Block,
        state: State,
        outcome: &BlockOutcome,
        certificate: Option<&[u8]>,
    ) -> Result<()> {
        self.store.commit_block(block, &outcome.receipts, &outcome.events, &state, certificate)?;
        self.state = state;
        self.head = block.header.clone();
        self.mempool.prune(&self.state);
        Ok(())
    }

    /// Admits a transaction to the pool, checking its signature first (callers that can
    /// should verify before they take the chain's lock and use [`Self::submit_verified`]).
    pub fn submit(&mut self, tx: SignedTransaction) -> Result<Hash, SubmitError> {
        self.submit_verified(VerifiedTransaction::verify(tx)?)
    }

    /// Admits a transaction whose signature was verified.
    pub fn submit_verified(&mut self, tx: VerifiedTransaction) -> Result<Hash, SubmitError> {
        self.mempool.submit(&self.state, tx)
    }

    /// Produces, executes and durably commits the next block; returns it with its outcome.
    pub fn produce(&mut self, timestamp_ms: u64) -> Result<(Block, BlockOutcome)> {
        let candidates = self.mempool.ready(&self.state, MAX_BUILD_CANDIDATES);
        // Never before the parent (a clock stepped back must not make an invalid block).
        let timestamp_ms = timestamp_ms.max(self.head.timestamp_ms);
        let built = build_block(&self.head, &self.state, &candidates, timestamp_ms, None)?;
        self.mempool.drop_refused(&built.refused);
        self.commit(&built.block, built.state, &built.outcome)?;
        Ok((built.block, built.outcome))
    }
}

/// Logs the "chain opened" line: head, state root, pruning, and how many blocks were
/// replayed to rebuild the state (`replayed=0`: it was read back from the store).
pub fn log_opened(chain: &Chain, config: &GenesisConfig, path: &Path) {
    tracing::info!(
        chain = %config.chain_name,
        genesis = %chain.state.genesis_hash(),
        head = chain.head.number.get(),
        state_root = %chain.head.state_root,
        replayed = chain.opened.replayed,
        open_ms = chain.opened.micros / 1000,
        pruning = %chain.store.pruning(),
        oldest_kept = chain.store.oldest_kept(),
        path = %path.display(),
        "chain opened"
    );
}

/// [`read_state`]'s reason when no state was ever stored.
const NO_STATE: &str = "no stored state (a store written before the state was kept)";

/// The stored state, if it is the state after `head` and its root is `head`'s; otherwise
/// why not.
fn read_state(store: &Store, head: &Header) -> Result<State, String> {
    let (at, parts) = store.load_state().map_err(|e| format!("{e:#}"))?.ok_or(NO_STATE)?;
    let number = head.number.get();
    if at != number {
        return Err(format!("it is the state after block {at}, not after the head {number}"));
    }
    let state = State::from_parts(parts).map_err(|e| e.to_string())?;
    let root = state.state_root();
    if root != head.state_root {
        return Err(format!("its root {root} is not the head's state root {}", head.state_root));
    }
    Ok(state)
}

/// Replays blocks `1..=head` on the genesis `state`, checking each state root (and indexing
/// any block an older store did not index).
fn replay(store: &Store, mut state: State, head: u64) -> Result<State> {
    for number in 1..=head {
        let block = store
            .block(number)?
            .with_context(|| format!("block {number} missing from the store"))?;
        let context = BlockContext {
            number: block.header.number,
            parent_hash: block.header.parent_hash,
            credit: block.credit.clone(),
        };
        let outcome = execute_block(&mut state, &context, &block.transactions)
            .with_context(|| format!("replaying block {number}"))?;
        if outcome.state_root != block.header.state_root {
            bail!(
                "block {number} does not reproduce its state root: the store or the binary differs"
            );
        }
        store.index_if_missing(&block, &outcome.receipts, &outcome.events)?;
    }
    Ok(state)
}

/// Milliseconds since the Unix epoch by this machine's clock (0 if it is set before 1970).
pub fn wall_clock_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// A block built from pool transactions.
pub struct BuiltBlock {
    /// The block.
    pub block: Block,
    /// The state after it.
    pub state: State,
    /// What executing it produced.
    pub outcome: BlockOutcome,
    /// Candidates left out because they were invalid where they stood, and why (the pool
    /// drops them: [`Mempool::drop_refused`]).
    pub refused: Vec<(Hash, InvalidTransaction)>,
}

/// Builds the block after `parent` (whose post-state is `state`) from `candidates`, in
/// order: each is applied and kept only if valid, until [`MAX_BLOCK_TRANSACTIONS`] or
/// [`MAX_BLOCK_BYTES`] is reached; it carries `credit` (a proof-of-stake chain's signers'
/// credit, which the runtime checks). Nothing is stored.
pub fn build_block(
    parent: &Header,
    state: &State,
    candidates: &[SignedTransaction],
    timestamp_ms: u64,
    credit: Option<FinalityCredit>,
) -> Result<BuiltBlock> {
    let number = parent.number.next().context("block number overflow")?;
    let parent_hash = parent.hash();
    let mut next = state.clone();
    let context = BlockContext { number, parent_hash, credit: credit.clone() };
    let mut builder = BlockBuilder::begin(&mut next, &context)?;
    let mut included = Vec::new();
    let mut refused = Vec::new();
    let mut bytes = 0usize;
    for tx in candidates {
        if included.len() >= MAX_BLOCK_TRANSACTIONS {
            break;
        }
        let size = tx.encoded_size();
        if bytes.saturating_add(size) > MAX_BLOCK_BYTES {
            continue;
        }
        match builder.push(tx) {
            Ok(()) => {
                bytes = bytes.saturating_add(size);
                included.push(tx.clone());
            }
            Err(why) => refused.push((tx.hash(), why)),
        }
    }
    let outcome = builder.finish();
    let header = Header {
        number,
        parent_hash,
        state_root: outcome.state_root,
        transactions_root: transactions_root(&included, credit.as_ref()),
        timestamp_ms,
    };
    Ok(BuiltBlock {
        block: Block { header, transactions: included, credit },
        state: next,
        outcome,
        refused,
    })
}

/// Why a block was refused.
#[derive(Debug, thiserror::Error)]
pub enum BlockRejection {
    /// Its number is not the parent's plus one.
    #[error("block {got} does not follow block {parent}")]
    NotNext {
        /// The parent's number.
        parent: u64,
        /// The block's number.
        got: u64,
    },
    /// Its parent hash is not the parent's.
    #[error("block {0} does not build on our head (a different chain?)")]
    WrongParent(u64),
    /// Its timestamp is before its parent's.
    #[error("block {0}: its timestamp is before its parent's")]
    BeforeParent(u64),
    /// Its timestamp is too far ahead of this node's clock.
    #[error("block {number}: its timestamp is {ahead_ms} ms ahead of this node's clock (at most {MAX_CLOCK_DRIFT_MS} allowed)")]
    FromTheFuture {
        /// The block's number.
        number: u64,
        /// How far ahead.
        ahead_ms: u64,
    },
    /// More transactions or bytes than a block may hold.
    #[error("block {number}: {count} transactions of {bytes} bytes exceed the block limits ({MAX_BLOCK_TRANSACTIONS} transactions, {MAX_BLOCK_BYTES} bytes)")]
    TooLarge {
        /// The block's number.
        number: u64,
        /// Its transactions.
        count: usize,
        /// Their encoded bytes.
        bytes: usize,
    },
    /// Its body is not the one its header commits to (a peer's bad copy; the header's hash
    /// says nothing about the block behind it).
    #[error("block {0}: its transactions do not match its transactions root")]
    BodyMismatch(u64),
    /// It carries a transaction that is not valid where it stands (bad signature, used
    /// nonce, unpaid fee, failing free call...).
    #[error("block {number}: transaction {index} is invalid: {why}")]
    InvalidTransaction {
        /// The block's number.
        number: u64,
        /// The transaction's index.
        index: u32,
        /// Why.
        why: InvalidTransaction,
    },
    /// Executing it does not give its header's state root.
    #[error("block {number}: executing it gives state root {got}, not the header's {header}")]
    WrongStateRoot {
        /// The block's number.
        number: u64,
        /// The state root execution gives.
        got: Hash,
        /// The header's.
        header: Hash,
    },
    /// The runtime cannot execute it here.
    #[error(transparent)]
    Execution(#[from] BlockError),
}

/// Checks what can be checked of a block without its parent's state: size limits and that
/// its body matches its header's transactions root. Cheap; run on every block a peer sends
/// before it is kept.
pub fn check_block_body(block: &Block) -> Result<(), BlockRejection> {
    let number = block.header.number.get();
    let count = block.transactions.len();
    let bytes: usize = block.transactions.iter().map(Encode::encoded_size).sum();
    let signatures = block.credit.as_ref().map_or(0, |c| c.signatures.len());
    if count > MAX_BLOCK_TRANSACTIONS
        || bytes > MAX_BLOCK_BYTES
        || signatures > MAX_CREDIT_SIGNATURES
    {
        return Err(BlockRejection::TooLarge { number, count, bytes });
    }
    if block.header.transactions_root
        != transactions_root(&block.transactions, block.credit.as_ref())
    {
        return Err(BlockRejection::BodyMismatch(number));
    }
    Ok(())
}

/// Checks that `block` extends `parent` (whose post-state is `state`): number and parent
/// hash, a timestamp not before the parent's nor more than [`MAX_CLOCK_DRIFT_MS`] after
/// `now_ms`, [`check_block_body`], every transaction valid where it stands, and that
/// executing it reproduces its state root. Returns the post-state and outcome.
pub fn check_block(
    parent: &Header,
    state: &State,
    block: &Block,
    now_ms: u64,
) -> Result<(State, BlockOutcome), BlockRejection> {
    let number = block.header.number.get();
    let expected = parent
        .number
        .next()
        .ok_or(BlockRejection::NotNext { parent: parent.number.get(), got: number })?;
    if block.header.number != expected {
        return Err(BlockRejection::NotNext { parent: parent.number.get(), got: number });
    }
    if block.header.parent_hash != parent.hash() {
        return Err(BlockRejection::WrongParent(number));
    }
    if block.header.timestamp_ms < parent.timestamp_ms {
        return Err(BlockRejection::BeforeParent(number));
    }
    let ahead_ms = block.header.timestamp_ms.saturating_sub(now_ms);
    if ahead_ms > MAX_CLOCK_DRIFT_MS {
        return Err(BlockRejection::FromTheFuture { number, ahead_ms });
    }
    check_block_body(block)?;
    let mut next = state.clone();
    let context = BlockContext {
        number: expected,
        parent_hash: block.header.parent_hash,
        credit: block.credit.clone(),
    };
    let outcome = execute_block(&mut next, &context, &block.transactions)?;
    if let Some((index, why)) = outcome.first_invalid() {
        return Err(BlockRejection::InvalidTransaction { number, index, why: why.clone() });
    }
    if outcome.state_root != block.header.state_root {
        return Err(BlockRejection::WrongStateRoot {
            number,
            got: outcome.state_root,
            header: block.header.state_root,
        });
    }
    Ok((next, outcome))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use tao_primitives::{AccountId, Rao};
    use tao_types::{Call, Signature, Transaction};

    pub(crate) fn chain(tag: &str) -> (Chain, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("tao-chain-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        (Chain::open(&dir, &crate::dev_genesis().unwrap()).unwrap(), dir)
    }

    /// `call` signed by the dev account `uri` (`//Alice`...) with `nonce`.
    pub(crate) fn signed(chain: &Chain, uri: &str, nonce: u64, call: Call) -> SignedTransaction {
        signed_by(chain, &tao_wallet::Keypair::from_uri(uri).unwrap(), nonce, call)
    }

    /// `call` signed by `key` with `nonce` (deriving a key from a URI is slow: tests that
    /// sign many transactions derive it once).
    pub(crate) fn signed_by(
        chain: &Chain,
        key: &tao_wallet::Keypair,
        nonce: u64,
        call: Call,
    ) -> SignedTransaction {
        let transaction = Transaction {
            genesis_hash: chain.state.genesis_hash(),
            signer: key.account(),
            nonce,
            call,
        };
        let signature = key.sign(&transaction.signing_payload()).unwrap();
        SignedTransaction { transaction, signature: Signature(signature) }
    }

    pub(crate) fn transfer(to: AccountId, rao: u64) -> Call {
        Call::Transfer { dest: to, amount: Rao::new(rao) }
    }

    fn bob() -> AccountId {
        tao_wallet::Keypair::from_uri("//Bob").unwrap().account()
    }

    /// The explorer's index: a transfer is in the history of its signer and its receiver
    /// (newest first, paged), a block's own events are kept; and a store written before the
    /// index existed gets it when the chain replays.
    #[test]
    fn account_history_and_block_events_are_indexed_and_rebuilt_on_replay() {
        let (mut chain, dir) = chain("history");
        let alice = tao_wallet::Keypair::from_uri("//Alice").unwrap();
        let mut own_events = Vec::new();
        for nonce in 0..3 {
            chain.submit(signed_by(&chain, &alice, nonce, transfer(bob(), 1_000))).unwrap();
            own_events.push(chain.produce(1_000 + nonce).unwrap().1.events);
        }
        let check = |chain: &Chain| {
            let (page, more) = chain.store.account_history(&bob(), None, 2).unwrap();
            assert!(more, "a third entry remains");
            assert_eq!(page.iter().map(|e| e.block).collect::<Vec<_>>(), vec![3, 2]);
            assert!(page.iter().all(|e| e.call == "transfer"));
            let (rest, more) =
                chain.store.account_history(&bob(), Some((2, page[1].index)), 2).unwrap();
            assert_eq!((rest.len(), rest[0].block, more), (1, 1, false));
            let (of_alice, _) = chain.store.account_history(&alice.account(), None, 10).unwrap();
            assert_eq!(of_alice.len(), 3, "the signer's history too");
            assert_eq!(own_events.len(), 3);
            for (number, events) in (1..).zip(&own_events) {
                assert_eq!(chain.store.block_events(number).unwrap().as_ref(), Some(events));
            }
            assert_eq!(chain.store.block_events(4).unwrap(), None);
        };
        check(&chain);
        drop(chain);
        // As a store of an older node: without the index tables.
        {
            let db = redb::Database::create(dir.join("chain.redb")).unwrap();
            let txn = db.begin_write().unwrap();
            let events: redb::TableDefinition<'_, u64, &[u8]> =
                redb::TableDefinition::new("block_events");
            let index: redb::TableDefinition<'_, &[u8], &[u8]> =
                redb::TableDefinition::new("account_txs");
            assert!(txn.delete_table(events).unwrap() && txn.delete_table(index).unwrap());
            // Nor the state or the head's number (so the blocks are replayed).
            let state: redb::TableDefinition<'_, &[u8], &[u8]> =
                redb::TableDefinition::new("state");
            assert!(txn.delete_table(state).unwrap());
            let meta: redb::TableDefinition<'_, &str, &[u8]> = redb::TableDefinition::new("meta");
            let mut meta = txn.open_table(meta).unwrap();
            assert!(meta.remove("state_at").unwrap().is_some());
            assert!(meta.remove("head").unwrap().is_some());
            drop(meta);
            txn.commit().unwrap();
        }
        let chain = Chain::open(&dir, &crate::dev_genesis().unwrap()).unwrap();
        assert_eq!(chain.opened.replayed, 3, "an older store is replayed");
        check(&chain);
        drop(chain);
        let chain = Chain::open(&dir, &crate::dev_genesis().unwrap()).unwrap();
        assert_eq!(chain.opened.replayed, 0, "and its state is stored once rebuilt");
        check(&chain);
        drop(chain);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_clock_stepping_back_never_makes_a_block_older_than_its_parent() {
        let (mut chain, dir) = chain("clock");
        let (first, _) = chain.produce(5_000).unwrap();
        let (second, _) = chain.produce(4_000).unwrap();
        assert_eq!(second.header.timestamp_ms, first.header.timestamp_ms);
        drop(chain);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn check_block_refuses_what_does_not_verify_and_accepts_what_does() {
        let (chain, dir) = self::chain("check");
        let built = build_block(&chain.head, &chain.state, &[], 10, None).unwrap();
        let checked = check_block(&chain.head, &chain.state, &built.block, 10).unwrap().0;
        assert_eq!(checked.state_root(), built.state.state_root());
        let refused = |edit: &dyn Fn(&mut Block), why: &str| {
            let mut bad = built.block.clone();
            edit(&mut bad);
            let e = check_block(&chain.head, &chain.state, &bad, 10).unwrap_err().to_string();
            assert!(e.contains(why), "{e}");
        };
        refused(&|b| b.header.state_root.0[0] ^= 1, "state root");
        refused(&|b| b.header.transactions_root.0[0] ^= 1, "transactions root");
        refused(&|b| b.header.parent_hash.0[0] ^= 1, "does not build on");
        refused(&|b| b.header.number = BlockNumber::new(2), "does not follow");
        drop(chain);
        let _ = std::fs::remove_dir_all(&dir);
        let (mut chain, dir) = self::chain("check-time");
        chain.produce(100).unwrap();
        let early = build_block(&chain.head, &chain.state, &[], 50, None).unwrap().block;
        let e = check_block(&chain.head, &chain.state, &early, 100).unwrap_err().to_string();
        assert!(e.contains("before its parent"), "{e}");
        drop(chain);
        let _ = std::fs::remove_dir_all(dir);
    }

    /// A Byzantine leader's blocks: each is built honestly (right roots), then carries
    /// something no honest builder would include. Every one is refused.
    #[test]
    fn check_block_refuses_a_byzantine_leaders_blocks() {
        let (mut chain, dir) = self::chain("byzantine");
        let paid = signed(&chain, "//Alice", 0, transfer(bob(), 1_000_000_000));
        assert!(chain.submit(paid.clone()).is_ok());
        let (first, _) = chain.produce(1_000).unwrap();
        assert_eq!(first.transactions, vec![paid.clone()]);

        // Execute `transactions` on the head as the runtime would, roots and all, so that
        // only the rule under test can refuse the block.
        let forge = |transactions: Vec<SignedTransaction>, timestamp_ms: u64| {
            let number = chain.head.number.next().unwrap();
            let parent_hash = chain.head.hash();
            let mut state = chain.state.clone();
            let outcome = execute_block(
                &mut state,
                &BlockContext { number, parent_hash, credit: None },
                &transactions,
            )
            .unwrap();
            let header = Header {
                number,
                parent_hash,
                state_root: outcome.state_root,
                transactions_root: transactions_root(&transactions, None),
                timestamp_ms,
            };
            Block { header, transactions, credit: None }
        };
        let now = 2_000;
        let check = |block: &Block| check_block(&chain.head, &chain.state, block, now);

        // The already-executed transfer again: its receipt would overwrite the original's.
        let replay = check(&forge(vec![paid.clone()], now)).unwrap_err();
        assert!(
            matches!(
                &replay,
                BlockRejection::InvalidTransaction {
                    why: InvalidTransaction::StaleNonce { .. },
                    ..
                }
            ),
            "{replay}"
        );
        // A garbage signature.
        let mut garbage = signed(&chain, "//Alice", 1, transfer(bob(), 5));
        garbage.signature.0[3] ^= 0x55;
        let bad_sig = check(&forge(vec![garbage], now)).unwrap_err();
        assert!(
            matches!(
                &bad_sig,
                BlockRejection::InvalidTransaction { why: InvalidTransaction::BadSignature, .. }
            ),
            "{bad_sig}"
        );
        // An unfunded key's transfer (no fee paid).
        let fresh = signed(&chain, "//Mallory", 0, transfer(bob(), 5));
        let unpaid = check(&forge(vec![fresh], now)).unwrap_err();
        assert!(
            matches!(
                &unpaid,
                BlockRejection::InvalidTransaction {
                    why: InvalidTransaction::CannotPayFee { .. },
                    ..
                }
            ),
            "{unpaid}"
        );
        // A free call that fails (a fresh key setting weights): free only when it succeeds.
        let weights = Call::SetWeights {
            netuid: tao_primitives::NetUid::new(1),
            uids: vec![0],
            values: vec![1],
            version_key: 0,
        };
        let free = signed(&chain, "//Mallory", 0, weights);
        let failing = check(&forge(vec![free], now)).unwrap_err();
        assert!(
            matches!(
                &failing,
                BlockRejection::InvalidTransaction {
                    why: InvalidTransaction::FreeCallFails(_),
                    ..
                }
            ),
            "{failing}"
        );
        // A timestamp in the year 2100.
        let future = check(&forge(Vec::new(), 4_102_444_800_000)).unwrap_err();
        assert!(matches!(future, BlockRejection::FromTheFuture { .. }), "{future}");
        // Within the drift it passes.
        assert!(check(&forge(Vec::new(), now + MAX_CLOCK_DRIFT_MS)).is_ok());
        // A body other than the header's.
        let mut swapped = forge(Vec::new(), now);
        swapped.transactions.push(signed(&chain, "//Alice", 1, transfer(bob(), 5)));
        let mismatch = check(&swapped).unwrap_err();
        assert!(matches!(mismatch, BlockRejection::BodyMismatch(_)), "{mismatch}");
        drop(chain);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn blocks_over_the_byte_limit_are_refused_and_never_built() {
        let (chain, dir) = self::chain("bytes");
        let alice = tao_wallet::Keypair::from_uri("//Alice").unwrap();
        let bob = bob();
        // Weights for 8,000 uids: a large transaction (~32 KB), enough of them to pass the
        // byte limit.
        let big = |nonce: u64| {
            let n = 8_000u16;
            signed_by(
                &chain,
                &alice,
                nonce,
                Call::SetWeights {
                    netuid: tao_primitives::NetUid::new(1),
                    uids: (0..n).collect(),
                    values: vec![1; usize::from(n)],
                    version_key: 0,
                },
            )
        };
        let tx = big(0);
        let size = tx.encoded_size();
        assert!(size > 30_000, "{size}");
        let count = MAX_BLOCK_BYTES / size + 2;
        let transactions: Vec<_> = (0..count as u64).map(big).collect();
        let number = chain.head.number.next().unwrap();
        let header = Header {
            number,
            parent_hash: chain.head.hash(),
            state_root: chain.state.state_root(),
            transactions_root: transactions_root(&transactions, None),
            timestamp_ms: 0,
        };
        let block = Block { header, transactions, credit: None };
        let e = check_block_body(&block).unwrap_err();
        assert!(matches!(e, BlockRejection::TooLarge { .. }), "{e}");
        // A builder stops at the count limit.
        let many: Vec<_> = (0..(MAX_BLOCK_TRANSACTIONS as u64 + 5))
            .map(|n| signed_by(&chain, &alice, n, transfer(bob, 1_000_000_000)))
            .collect();
        let built = build_block(&chain.head, &chain.state, &many, 0, None).unwrap();
        assert_eq!(built.block.transactions.len(), MAX_BLOCK_TRANSACTIONS);
        assert!(check_block_body(&built.block).is_ok());
        drop(chain);
        let _ = std::fs::remove_dir_all(dir);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 64, ..Default::default() })]

        /// The `block_channel` fuzz target's property, in CI: a block decoded from arbitrary
        /// bytes, or a valid block with bytes flipped, is refused or accepted by the body
        /// check and the full check, never a panic; one accepted carries only valid
        /// transactions.
        #[test]
        fn arbitrary_and_mutated_blocks_never_panic_the_checks(
            garbage in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400),
            flips in proptest::collection::vec(
                (proptest::prelude::any::<proptest::sample::Index>(), 1u8..=255),
                1..4,
            ),
        ) {
            use codec::Decode;
            let (chain, dir) = self::chain("block-fuzz");
            let tx = signed(&chain, "//Alice", 0, transfer(bob(), 1_000_000_000));
            let valid = build_block(&chain.head, &chain.state, &[tx], 1, None).unwrap().block;
            let mut bytes = valid.encode();
            for (index, value) in flips {
                let i = index.index(bytes.len());
                bytes[i] ^= value;
            }
            for candidate in [garbage, bytes] {
                let Ok(block) = Block::decode(&mut &candidate[..]) else { continue };
                if check_block_body(&block).is_err() {
                    continue;
                }
                if let Ok((_, outcome)) = check_block(&chain.head, &chain.state, &block, u64::MAX) {
                    proptest::prop_assert!(outcome.first_invalid().is_none());
                }
            }
            drop(chain);
            let _ = std::fs::remove_dir_all(dir);
        }
    }

    #[test]
    fn a_builder_skips_and_reports_invalid_candidates_and_the_pool_drops_them() {
        let (mut chain, dir) = self::chain("refused");
        let good = signed(&chain, "//Alice", 0, transfer(bob(), 1_000_000_000));
        let mut bad = signed(&chain, "//Bob", 0, transfer(bob(), 5));
        bad.signature.0[0] ^= 1;
        let stale_later = signed(&chain, "//Charlie", 0, transfer(bob(), 5));
        let built = build_block(
            &chain.head,
            &chain.state,
            &[bad.clone(), good.clone(), stale_later.clone(), stale_later.clone()],
            0,
            None,
        )
        .unwrap();
        assert_eq!(built.block.transactions, vec![good.clone(), stale_later.clone()]);
        let refused: Vec<Hash> = built.refused.iter().map(|(h, _)| *h).collect();
        assert_eq!(refused, vec![bad.hash(), stale_later.hash()]);
        assert!(check_block(&chain.head, &chain.state, &built.block, 0).is_ok());
        chain.submit(good).unwrap();
        let (block, _) = chain.produce(0).unwrap();
        assert_eq!(block.transactions.len(), 1);
        assert!(chain.mempool.is_empty());
        drop(chain);
        let _ = std::fs::remove_dir_all(dir);
    }
}
