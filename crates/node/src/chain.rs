//! The node's chain: the runtime state at the head, the store, and the pool; producing a
//! block executes the ready transactions, commits the block durably, then moves the head.

use crate::{
    mempool::{Mempool, SubmitError},
    store::Store,
};
use anyhow::{bail, Context, Result};
use std::path::Path;
use tao_primitives::BlockNumber;
use tao_runtime::{execute_block, genesis, BlockContext, BlockOutcome, State};
use tao_types::{transactions_root, Block, GenesisConfig, Hash, Header, SignedTransaction};

/// Most transactions in one block.
pub const MAX_BLOCK_TRANSACTIONS: usize = 2_000;

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
}

/// The genesis header of a genesis state.
pub fn genesis_header(state: &State) -> Header {
    Header {
        number: BlockNumber::GENESIS,
        parent_hash: Hash::default(),
        state_root: state.state_root(),
        transactions_root: transactions_root(&[]),
        timestamp_ms: 0,
    }
}

impl Chain {
    /// Opens the chain in `dir`: a new store starts from `config`; an existing one must have
    /// the same genesis, and its blocks are replayed (each must reproduce its state root).
    pub fn open(dir: &Path, config: &GenesisConfig) -> Result<Self> {
        let store = Store::open(dir)?;
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
        let mut state = genesis(config).context("genesis config")?;
        let genesis = genesis_header(&state);
        let mut head = genesis.clone();
        let blocks = store.block_count()?;
        for number in 1..=blocks {
            let block = store
                .block(number)?
                .with_context(|| format!("block {number} missing from the store"))?;
            let context =
                BlockContext { number: block.header.number, parent_hash: block.header.parent_hash };
            let outcome = execute_block(&mut state, &context, &block.transactions)
                .with_context(|| format!("replaying block {number}"))?;
            if outcome.state_root != block.header.state_root {
                bail!("block {number} does not reproduce its state root: the store or the binary differs");
            }
            head = block.header;
        }
        Ok(Self { state, head, store, mempool: Mempool::new(20_000), genesis })
    }

    /// The genesis block's header (its hash is the chain's identity in consensus).
    pub fn genesis_header(&self) -> &Header {
        &self.genesis
    }

    /// Imports the next block produced elsewhere (a follower's sync, a finalized block): it
    /// must extend the head and verify (see [`check_block`]). Committed durably before the
    /// head moves.
    pub fn import(&mut self, block: &Block) -> Result<BlockOutcome> {
        let (next, outcome) = check_block(&self.head, &self.state, block)?;
        self.commit(block, next, &outcome)?;
        Ok(outcome)
    }

    /// Makes an executed block the head: stored durably (block and receipts) first, then the
    /// state and head move and the pool drops what the block used.
    pub fn commit(&mut self, block: &Block, state: State, outcome: &BlockOutcome) -> Result<()> {
        self.store.commit_block(block, &outcome.receipts)?;
        self.state = state;
        self.head = block.header.clone();
        self.mempool.prune(&self.state);
        Ok(())
    }

    /// Admits a transaction to the pool.
    pub fn submit(&mut self, tx: SignedTransaction) -> Result<Hash, SubmitError> {
        self.mempool.submit(&self.state, tx)
    }

    /// Produces, executes and durably commits the next block; returns it with its outcome.
    pub fn produce(&mut self, timestamp_ms: u64) -> Result<(Block, BlockOutcome)> {
        let transactions = self.mempool.ready(&self.state, MAX_BLOCK_TRANSACTIONS);
        // Never before the parent (a clock stepped back must not make an invalid block).
        let timestamp_ms = timestamp_ms.max(self.head.timestamp_ms);
        let (block, next, outcome) =
            build_block(&self.head, &self.state, transactions, timestamp_ms)?;
        self.commit(&block, next, &outcome)?;
        Ok((block, outcome))
    }
}

/// Builds the block after `parent` (whose post-state is `state`) from `transactions`:
/// executes them, keeps only those that executed (not skipped as invalid), and returns the
/// block with its post-state and outcome. Nothing is stored.
pub fn build_block(
    parent: &Header,
    state: &State,
    transactions: Vec<SignedTransaction>,
    timestamp_ms: u64,
) -> Result<(Block, State, BlockOutcome)> {
    let number = parent.number.next().context("block number overflow")?;
    let parent_hash = parent.hash();
    let mut next = state.clone();
    let outcome = execute_block(&mut next, &BlockContext { number, parent_hash }, &transactions)?;
    let included: Vec<SignedTransaction> = transactions
        .into_iter()
        .zip(&outcome.receipts)
        .filter(|(_, r)| !matches!(r.outcome, tao_types::Outcome::Invalid(_)))
        .map(|(tx, _)| tx)
        .collect();
    let (next, outcome) = if included.len() == outcome.receipts.len() {
        (next, outcome)
    } else {
        let mut again = state.clone();
        let outcome = execute_block(&mut again, &BlockContext { number, parent_hash }, &included)?;
        (again, outcome)
    };
    let header = Header {
        number,
        parent_hash,
        state_root: outcome.state_root,
        transactions_root: transactions_root(&included),
        timestamp_ms,
    };
    Ok((Block { header, transactions: included }, next, outcome))
}

/// Checks that `block` extends `parent` (whose post-state is `state`): number and parent
/// hash, transactions root, no timestamp before the parent's, and that executing its
/// transactions reproduces its state root. Returns the post-state and outcome.
pub fn check_block(parent: &Header, state: &State, block: &Block) -> Result<(State, BlockOutcome)> {
    let expected = parent.number.next().context("block number overflow")?;
    if block.header.number != expected {
        bail!("block {} does not follow block {}", block.header.number.get(), parent.number.get());
    }
    if block.header.parent_hash != parent.hash() {
        bail!("block {} does not build on our head (a different chain?)", expected.get());
    }
    if block.header.timestamp_ms < parent.timestamp_ms {
        bail!("block {}: its timestamp is before its parent's", expected.get());
    }
    if block.header.transactions_root != transactions_root(&block.transactions) {
        bail!("block {}: its transactions do not match its transactions root", expected.get());
    }
    let mut next = state.clone();
    let context = BlockContext { number: expected, parent_hash: block.header.parent_hash };
    let outcome = execute_block(&mut next, &context, &block.transactions)?;
    if outcome.state_root != block.header.state_root {
        bail!(
            "block {}: executing it gives state root {}, not the header's {}",
            expected.get(),
            outcome.state_root,
            block.header.state_root
        );
    }
    Ok((next, outcome))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(tag: &str) -> (Chain, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("tao-chain-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        (Chain::open(&dir, &crate::dev_genesis().unwrap()).unwrap(), dir)
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
        let (block, state, _) = build_block(&chain.head, &chain.state, Vec::new(), 10).unwrap();
        let checked = check_block(&chain.head, &chain.state, &block).unwrap().0;
        assert_eq!(checked.state_root(), state.state_root());
        let refused = |edit: &dyn Fn(&mut Block), why: &str| {
            let mut bad = block.clone();
            edit(&mut bad);
            let e = check_block(&chain.head, &chain.state, &bad).unwrap_err().to_string();
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
        let (early, _, _) = build_block(&chain.head, &chain.state, Vec::new(), 50).unwrap();
        let e = check_block(&chain.head, &chain.state, &early).unwrap_err().to_string();
        assert!(e.contains("before its parent"), "{e}");
        drop(chain);
        let _ = std::fs::remove_dir_all(dir);
    }
}
