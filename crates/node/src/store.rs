//! Durable storage of finalized blocks, receipts and the state at the head (redb). Each
//! block is committed in one write transaction with its receipts, its index entries, the
//! state parts it changed and the new head number, so after a crash the store holds a
//! prefix of the chain and the state after its last block, never half a block
//! (`docs/storage.md`).
//!
//! The state is kept as the parts its root hashes ([`tao_runtime::StatePart`]): a commit
//! writes only the parts whose digest changed since the last commit (and deletes the parts
//! of removed subnets), so its cost follows what the block touched, not the state's size.
//! With [`Pruning::Keep`] a commit also deletes the bodies, receipts, own events and index
//! entries of blocks that fell out of the window (hashes stay, so a pruned block is known
//! as pruned).

use anyhow::{Context, Result};
use codec::{Decode, Encode};
use redb::{Database, Durability, ReadableTable, ReadableTableMetadata, TableDefinition};
use std::{collections::BTreeMap, num::NonZeroU64, path::Path};
use tao_primitives::AccountId;
use tao_runtime::{State, StatePart};
use tao_types::{Block, Event, Hash, Receipt};

const BLOCKS: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("blocks");
const HASHES: TableDefinition<'_, &[u8], u64> = TableDefinition::new("block_hashes");
const RECEIPTS: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("receipts");
const META: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("meta");
/// A block's own events (emission, epochs): SCALE `Vec<Event>` by block number.
const BLOCK_EVENTS: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("block_events");
/// Which transactions name an account: key `account ‖ block (BE) ‖ index (BE)`, value
/// `tx hash ‖ the call's name`, so one account's entries are one key range, in order.
const ACCOUNT_TXS: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("account_txs");
/// The state after the head block: SCALE of each part by its key ([`StatePart::to_bytes`]).
const STATE: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("state");
/// Block number → the encoded finalization certificate the validators signed for it (BFT
/// chains; not every block has one: the engine may report only a later block's). Served to
/// nodes that sync, pruned with the block.
const CERTIFICATES: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("certificates");

/// `META` key: the head block's number (u64 LE), written with every block.
const META_HEAD: &str = "head";
/// `META` key: the block the `STATE` table is the state after (u64 LE).
const META_STATE_AT: &str = "state_at";
/// `META` key: the lowest block whose body is kept (u64 LE; absent: 1, nothing pruned).
const META_OLDEST: &str = "oldest";

/// Most blocks one commit prunes: a node restarted with a smaller window catches up over
/// several blocks instead of stalling one commit.
pub const MAX_PRUNE_PER_COMMIT: u64 = 256;

/// Which blocks a node keeps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Pruning {
    /// Every block's body, receipts, own events and index entries (the default).
    #[default]
    Archive,
    /// Only the last N blocks' (N ≥ 1; the head is always kept, and the state at the head).
    Keep(NonZeroU64),
}

impl std::str::FromStr for Pruning {
    type Err = PruningParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == "archive" {
            return Ok(Self::Archive);
        }
        s.parse::<u64>()
            .ok()
            .and_then(NonZeroU64::new)
            .map(Self::Keep)
            .ok_or_else(|| PruningParseError(s.to_owned()))
    }
}

impl std::fmt::Display for Pruning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Archive => f.write_str("archive"),
            Self::Keep(n) => write!(f, "{n}"),
        }
    }
}

/// A `--pruning` value that is neither `archive` nor a block count of at least 1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("pruning {0:?}: give `archive` or a number of blocks to keep (at least 1)")]
pub struct PruningParseError(pub String);

/// Why a stored block cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlockLookupError {
    /// It was pruned: only blocks `oldest..=head` are kept.
    #[error("block {number} was pruned: this node keeps blocks {oldest}..={head} (--pruning); ask an archive node")]
    Pruned {
        /// The block asked for.
        number: u64,
        /// The lowest block kept.
        oldest: u64,
        /// The head.
        head: u64,
    },
    /// Beyond the head (or the genesis block, which is not stored).
    #[error("no block {0}")]
    NotFound(u64),
}

/// Stored state parts: `(key bytes, value bytes)`, as [`State::from_parts`] takes them.
pub type StoredParts = Vec<(Vec<u8>, Vec<u8>)>;

/// What a commit wrote (for the metrics, the tests and the benches).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CommitStats {
    /// State parts written (changed or new).
    pub parts_written: usize,
    /// Their bytes.
    pub state_bytes: usize,
    /// State parts deleted (removed subnets).
    pub parts_deleted: usize,
    /// Blocks pruned.
    pub pruned: u64,
}

fn u64_of(bytes: &[u8]) -> Result<u64> {
    Ok(u64::from_le_bytes(bytes.try_into().context("a stored number is not 8 bytes")?))
}

/// One transaction that names an account ([`Store::account_history`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountEntry {
    /// Its block.
    pub block: u64,
    /// Its index in the block.
    pub index: u32,
    /// Its hash.
    pub tx_hash: Hash,
    /// The call's name.
    pub call: String,
}

fn account_key(account: &AccountId, block: u64, index: u32) -> Vec<u8> {
    let mut key = Vec::with_capacity(44);
    key.extend_from_slice(account.as_bytes());
    key.extend_from_slice(&block.to_be_bytes());
    key.extend_from_slice(&index.to_be_bytes());
    key
}

/// The accounts an event names.
fn event_accounts(event: &Event) -> Vec<AccountId> {
    match event {
        Event::Transfer { from, to, .. } => vec![*from, *to],
        Event::NetworkAdded { owner, .. } => vec![*owner],
        Event::NeuronRegistered { hotkey, replaced, .. } => {
            std::iter::once(*hotkey).chain(*replaced).collect()
        }
        Event::AxonServed { hotkey, .. }
        | Event::WeightsCommitted { hotkey, .. }
        | Event::TakeChanged { hotkey, .. } => vec![*hotkey],
        Event::StakeAdded { coldkey, hotkey, .. } | Event::StakeRemoved { coldkey, hotkey, .. } => {
            vec![*coldkey, *hotkey]
        }
        Event::StakeMoved { from, to, .. } => vec![from.0, from.1, to.0, to.1],
        Event::SudoChanged { key } => key.iter().copied().collect(),
        Event::ProposalSubmitted { proposer, .. } => vec![*proposer],
        Event::Voted { voter, .. } => vec![*voter],
        Event::DepositReturned { to, .. } => vec![*to],
        Event::ChannelOpened { payer, payee, .. } => vec![*payer, *payee],
        Event::ChannelClaimed { payee, .. } => vec![*payee],
        Event::ChannelClosed { payer, .. } => vec![*payer],
        Event::ChannelToppedUp { .. } => Vec::new(),
        Event::ValidatorRegistered { controller, .. }
        | Event::ValidatorInfoSet { controller, .. } => vec![*controller],
        Event::Bonded { bonder, validator, .. } | Event::Unbonded { bonder, validator, .. } => {
            vec![*bonder, *validator]
        }
        Event::UnbondingReleased { account, .. } => vec![*account],
        Event::ValidatorRewarded { validator, .. }
        | Event::ValidatorSlashed { validator, .. }
        | Event::ValidatorJailed { validator, .. }
        | Event::ValidatorUnjailed { validator } => vec![*validator],
        Event::ValidatorSetElected { .. }
        | Event::ValidatorSetKept { .. }
        | Event::FinalityCredited { .. }
        | Event::EpochFeesBurned { .. } => Vec::new(),
        Event::ProposalCancelled { .. }
        | Event::ProposalPassed { .. }
        | Event::ProposalRejected { .. }
        | Event::DepositBurned { .. }
        | Event::ProposalEnacted { .. }
        | Event::ProposalEnactmentFailed { .. } => Vec::new(),
        Event::NetworkRemoved { .. }
        | Event::EmissionStarted { .. }
        | Event::HyperparameterSet { .. }
        | Event::GlobalParameterSet(_)
        | Event::WeightsSet { .. }
        | Event::EpochCompleted { .. }
        | Event::EpochDeferred { .. }
        | Event::Minted { .. }
        | Event::EpochTriggered { .. } => Vec::new(),
    }
}

/// The accounts a transaction's index entries name: its signer and those its events name.
fn receipt_accounts(receipt: &Receipt) -> Vec<AccountId> {
    let named = receipt.events.iter().flat_map(event_accounts);
    let mut accounts: Vec<AccountId> = std::iter::once(receipt.signer).chain(named).collect();
    accounts.sort_unstable();
    accounts.dedup();
    accounts
}

/// Writes a block's own events and its account index into `txn`.
fn write_index(
    txn: &redb::WriteTransaction,
    block: &Block,
    receipts: &[Receipt],
    own_events: &[Event],
) -> Result<()> {
    let number = block.header.number.get();
    txn.open_table(BLOCK_EVENTS)?.insert(number, own_events.encode().as_slice())?;
    let mut index = txn.open_table(ACCOUNT_TXS)?;
    for (tx, receipt) in block.transactions.iter().zip(receipts) {
        let mut value = receipt.tx_hash.0.to_vec();
        value.extend_from_slice(tx.transaction.call.name().as_bytes());
        for account in receipt_accounts(receipt) {
            index.insert(
                account_key(&account, number, receipt.index).as_slice(),
                value.as_slice(),
            )?;
        }
    }
    Ok(())
}

/// Deletes block `number`'s body, receipts, own events and account index entries in `txn`
/// (its hash stays: the block is known, and known to be pruned).
fn prune_block(txn: &redb::WriteTransaction, number: u64) -> Result<()> {
    let Some(block) = txn.open_table(BLOCKS)?.remove(number)?.map(|b| b.value().to_vec()) else {
        return Ok(());
    };
    let block = Block::decode(&mut block.as_slice()).context("corrupt block in the store")?;
    let mut receipts = txn.open_table(RECEIPTS)?;
    let mut index = txn.open_table(ACCOUNT_TXS)?;
    for tx in &block.transactions {
        let Some(stored) = receipts.remove(tx.hash().0.as_slice())?.map(|v| v.value().to_vec())
        else {
            continue;
        };
        let stored = StoredReceipt::decode(&mut stored.as_slice()).context("corrupt receipt")?;
        for account in receipt_accounts(&stored.receipt) {
            index.remove(account_key(&account, number, stored.receipt.index).as_slice())?;
        }
    }
    txn.open_table(BLOCK_EVENTS)?.remove(number)?;
    txn.open_table(CERTIFICATES)?.remove(number)?;
    Ok(())
}

/// Where a transaction landed.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct StoredReceipt {
    /// Block number.
    pub block: u64,
    /// Block hash.
    pub block_hash: Hash,
    /// The receipt.
    pub receipt: Receipt,
}

/// The on-disk store.
pub struct Store {
    db: Database,
    pruning: Pruning,
    /// The digest of every state part in the `STATE` table (what a commit diffs against).
    stored: BTreeMap<StatePart, Hash>,
    /// The head's number (0: genesis, nothing stored).
    head: u64,
    /// The lowest block whose body is kept.
    oldest: u64,
    durability: Durability,
    /// Tests: fail a commit after every write, before the transaction commits (a crash).
    #[cfg(test)]
    pub(crate) fail_before_commit: bool,
}

/// Opens (or creates) the database at `path`. A process that held it and was just killed
/// may not have released its lock yet (the kernel closes a dying process's files after it
/// stops looking alive): a locked database is tried again for up to 5 s before the error.
fn open_database(path: &Path) -> Result<Database, redb::DatabaseError> {
    let started = std::time::Instant::now();
    loop {
        match Database::create(path) {
            Err(redb::DatabaseError::DatabaseAlreadyOpen)
                if started.elapsed() < std::time::Duration::from_secs(5) =>
            {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            other => return other,
        }
    }
}

impl Store {
    /// Opens (or creates) an archive store in `dir`.
    pub fn open(dir: &Path) -> Result<Self> {
        Self::open_with(dir, Pruning::Archive)
    }

    /// Opens (or creates) the store in `dir`, keeping the blocks `pruning` says.
    pub fn open_with(dir: &Path, pruning: Pruning) -> Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let path = dir.join("chain.redb");
        let db = open_database(&path).with_context(|| format!("opening {}", path.display()))?;
        let txn = db.begin_write()?;
        txn.open_table(BLOCKS)?;
        txn.open_table(HASHES)?;
        txn.open_table(RECEIPTS)?;
        txn.open_table(META)?;
        txn.open_table(BLOCK_EVENTS)?;
        txn.open_table(ACCOUNT_TXS)?;
        txn.open_table(STATE)?;
        txn.open_table(CERTIFICATES)?;
        txn.commit()?;
        let mut store = Self {
            db,
            pruning,
            stored: BTreeMap::new(),
            head: 0,
            oldest: 1,
            durability: Durability::Immediate,
            #[cfg(test)]
            fail_before_commit: false,
        };
        store.head = match store.meta(META_HEAD)? {
            Some(bytes) => u64_of(&bytes)?,
            // A store written before the head was recorded: blocks 1..=count, none pruned.
            None => store.block_count()?,
        };
        store.oldest = store.meta(META_OLDEST)?.map(|b| u64_of(&b)).transpose()?.unwrap_or(1);
        Ok(store)
    }

    /// How commits reach the disk: [`Durability::Immediate`] (the default, and what the
    /// node uses: durable when the commit returns). The storage bench builds long chains
    /// with `Eventual` commits (no `fsync`) and an `Immediate` one every 1,000 blocks and at
    /// the end; a store left after an `Eventual` commit may lose it in a crash.
    pub fn set_durability(&mut self, durability: Durability) {
        self.durability = durability;
    }

    /// Which blocks this store keeps.
    pub fn pruning(&self) -> Pruning {
        self.pruning
    }

    /// The head's number (0 before the first block).
    pub fn head_number(&self) -> u64 {
        self.head
    }

    /// The lowest block whose body and receipts are kept (1 unless pruned).
    pub fn oldest_kept(&self) -> u64 {
        self.oldest
    }

    /// A metadata value.
    pub fn meta(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(META)?;
        Ok(table.get(key)?.map(|v| v.value().to_vec()))
    }

    /// Sets a metadata value (durably).
    pub fn set_meta(&self, key: &str, value: &[u8]) -> Result<()> {
        let txn = self.db.begin_write()?;
        txn.open_table(META)?.insert(key, value)?;
        txn.commit()?;
        Ok(())
    }

    /// Keeps the finalization certificate of committed block `number` (bytes as the
    /// consensus encodes them; their meaning is the caller's). Nodes store it with the
    /// block ([`Self::commit_block`]); this is for tests.
    #[cfg(test)]
    pub fn put_certificate(&self, number: u64, certificate: &[u8]) -> Result<()> {
        let mut txn = self.db.begin_write()?;
        txn.set_durability(self.durability);
        txn.open_table(CERTIFICATES)?.insert(number, certificate)?;
        txn.commit()?;
        Ok(())
    }

    /// The last kept certificate of a block in `from..=upto`: its block number and bytes.
    pub fn last_certificate_in(&self, from: u64, upto: u64) -> Result<Option<(u64, Vec<u8>)>> {
        if from > upto {
            return Ok(None);
        }
        let txn = self.db.begin_read()?;
        let table = txn.open_table(CERTIFICATES)?;
        let last = table.range(from..=upto)?.next_back().transpose()?;
        Ok(last.map(|(number, bytes)| (number.value(), bytes.value().to_vec())))
    }

    /// The stored state: the block it is the state after, and its parts (`None` if no
    /// state was ever stored: a store of an older node). The caller builds it
    /// ([`State::from_parts`]) and checks its root against that block's header, then calls
    /// [`Self::adopt_state`].
    pub fn load_state(&self) -> Result<Option<(u64, StoredParts)>> {
        let Some(at) = self.meta(META_STATE_AT)? else { return Ok(None) };
        let at = u64_of(&at)?;
        let txn = self.db.begin_read()?;
        let table = txn.open_table(STATE)?;
        let mut parts = Vec::new();
        for item in table.iter()? {
            let (key, value) = item?;
            parts.push((key.value().to_vec(), value.value().to_vec()));
        }
        Ok(Some((at, parts)))
    }

    /// Takes `state` (read back and verified) as what the `STATE` table holds, so the next
    /// commit writes only what changes.
    pub fn adopt_state(&mut self, state: &State) {
        self.stored = state.part_digests().into_iter().collect();
    }

    /// Replaces the stored state with all of `state`, the state after block `at` (the
    /// genesis state, or one rebuilt by replay), durably.
    pub fn write_state(&mut self, state: &State, at: u64) -> Result<()> {
        let mut txn = self.db.begin_write()?;
        txn.set_durability(self.durability);
        {
            let mut table = txn.open_table(STATE)?;
            table.retain(|_, _| false)?;
            for (key, _) in state.part_digests() {
                if let Some(bytes) = state.encode_part(key) {
                    table.insert(key.to_bytes().as_slice(), bytes.as_slice())?;
                }
            }
            txn.open_table(META)?.insert(META_STATE_AT, at.to_le_bytes().as_slice())?;
        }
        txn.commit()?;
        self.adopt_state(state);
        Ok(())
    }

    /// Installs a snapshot in an empty store (nothing committed past genesis): block H,
    /// its finalization certificate and the whole state after it, with head, `state_at`
    /// and `oldest` = H, in one durable transaction (a crash leaves the empty store). The
    /// caller verified the state against the block's state root and the block against a
    /// certificate (`crate::snapshot`). Block H's receipts and events are not known (it was
    /// not executed here) and are not stored.
    pub fn install_snapshot(
        &mut self,
        block: &Block,
        state: &State,
        certificate: &[u8],
    ) -> Result<()> {
        anyhow::ensure!(self.head == 0, "a snapshot goes only into an empty store");
        let number = block.header.number.get();
        let mut txn = self.db.begin_write()?;
        txn.set_durability(self.durability);
        {
            txn.open_table(BLOCKS)?.insert(number, block.encode().as_slice())?;
            txn.open_table(HASHES)?.insert(block.header.hash().0.as_slice(), number)?;
            txn.open_table(CERTIFICATES)?.insert(number, certificate)?;
            let mut table = txn.open_table(STATE)?;
            table.retain(|_, _| false)?;
            for (key, _) in state.part_digests() {
                let bytes = state.encode_part(key).context("a listed part encodes")?;
                table.insert(key.to_bytes().as_slice(), bytes.as_slice())?;
            }
            let mut meta = txn.open_table(META)?;
            meta.insert(META_STATE_AT, number.to_le_bytes().as_slice())?;
            meta.insert(META_HEAD, number.to_le_bytes().as_slice())?;
            meta.insert(META_OLDEST, number.to_le_bytes().as_slice())?;
        }
        txn.commit()?;
        self.adopt_state(state);
        self.head = number;
        self.oldest = number;
        Ok(())
    }

    /// Commits a block, its receipts, its own events, its account index, the state after it
    /// (the parts that changed) and the new head number in one durable transaction; with
    /// [`Pruning::Keep`], the blocks that fall out of the window are deleted in the same
    /// transaction (at most [`MAX_PRUNE_PER_COMMIT`]).
    pub fn commit_block(
        &mut self,
        block: &Block,
        receipts: &[Receipt],
        own_events: &[Event],
        state: &State,
        certificate: Option<&[u8]>,
    ) -> Result<CommitStats> {
        let number = block.header.number.get();
        let hash = block.header.hash();
        let mut stats = CommitStats::default();
        let mut txn = self.db.begin_write()?;
        txn.set_durability(self.durability);
        {
            txn.open_table(BLOCKS)?.insert(number, block.encode().as_slice())?;
            txn.open_table(HASHES)?.insert(hash.0.as_slice(), number)?;
            if let Some(certificate) = certificate {
                txn.open_table(CERTIFICATES)?.insert(number, certificate)?;
            }
            let mut table = txn.open_table(RECEIPTS)?;
            for receipt in receipts {
                let stored =
                    StoredReceipt { block: number, block_hash: hash, receipt: receipt.clone() };
                table.insert(receipt.tx_hash.0.as_slice(), stored.encode().as_slice())?;
            }
        }
        write_index(&txn, block, receipts, own_events)?;
        let digests: BTreeMap<StatePart, Hash> = state.part_digests().into_iter().collect();
        {
            let mut table = txn.open_table(STATE)?;
            for (key, digest) in &digests {
                if self.stored.get(key) == Some(digest) {
                    continue;
                }
                let bytes = state.encode_part(*key).context("a listed part encodes")?;
                table.insert(key.to_bytes().as_slice(), bytes.as_slice())?;
                stats.parts_written += 1;
                stats.state_bytes += bytes.len();
            }
            for key in self.stored.keys().filter(|key| !digests.contains_key(key)) {
                table.remove(key.to_bytes().as_slice())?;
                stats.parts_deleted += 1;
            }
            let mut meta = txn.open_table(META)?;
            meta.insert(META_STATE_AT, number.to_le_bytes().as_slice())?;
            meta.insert(META_HEAD, number.to_le_bytes().as_slice())?;
        }
        let mut oldest = self.oldest;
        if let Pruning::Keep(keep) = self.pruning {
            // Blocks `number - keep + 1 ..= number` stay.
            let first_kept = number.saturating_sub(keep.get()).saturating_add(1).max(1);
            let until = first_kept.min(oldest.saturating_add(MAX_PRUNE_PER_COMMIT));
            while oldest < until {
                prune_block(&txn, oldest)?;
                oldest += 1;
                stats.pruned += 1;
            }
            if stats.pruned > 0 {
                txn.open_table(META)?.insert(META_OLDEST, oldest.to_le_bytes().as_slice())?;
            }
        }
        #[cfg(test)]
        if self.fail_before_commit {
            // Dropping an uncommitted transaction aborts it: what a crash here leaves.
            anyhow::bail!("injected failure before the commit of block {number}");
        }
        txn.commit()?;
        self.stored = digests;
        self.head = number;
        self.oldest = oldest;
        Ok(stats)
    }

    /// Indexes a stored block (own events, accounts) if a store written before the index
    /// existed lacks it; called as the chain replays its blocks.
    pub fn index_if_missing(
        &self,
        block: &Block,
        receipts: &[Receipt],
        own_events: &[Event],
    ) -> Result<()> {
        if self.block_events(block.header.number.get())?.is_some() {
            return Ok(());
        }
        let txn = self.db.begin_write()?;
        write_index(&txn, block, receipts, own_events)?;
        txn.commit()?;
        Ok(())
    }

    /// A block's own events (emission, epochs), if the block is stored.
    pub fn block_events(&self, number: u64) -> Result<Option<Vec<Event>>> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(BLOCK_EVENTS)?;
        match table.get(number)? {
            Some(bytes) => {
                Ok(Some(Vec::<Event>::decode(&mut bytes.value()).context("corrupt block events")?))
            }
            None => Ok(None),
        }
    }

    /// Up to `limit` transactions that name `account`, newest first, strictly before
    /// `before` (block, index) if given; and whether older ones remain.
    pub fn account_history(
        &self,
        account: &AccountId,
        before: Option<(u64, u32)>,
        limit: usize,
    ) -> Result<(Vec<AccountEntry>, bool)> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(ACCOUNT_TXS)?;
        let start = account_key(account, 0, 0);
        let end = match before {
            Some((block, index)) => account_key(account, block, index),
            None => account_key(account, u64::MAX, u32::MAX),
        };
        let range = if before.is_some() {
            table.range::<&[u8]>(start.as_slice()..end.as_slice())?
        } else {
            table.range::<&[u8]>(start.as_slice()..=end.as_slice())?
        };
        let mut entries = Vec::new();
        for item in range.rev() {
            if entries.len() == limit {
                return Ok((entries, true));
            }
            let (key, value) = item?;
            let (key, value) = (key.value(), value.value());
            let (Some(block), Some(index), Some(hash)) =
                (key.get(32..40), key.get(40..44), value.get(..32))
            else {
                anyhow::bail!("corrupt account index entry");
            };
            entries.push(AccountEntry {
                block: u64::from_be_bytes(block.try_into()?),
                index: u32::from_be_bytes(index.try_into()?),
                tx_hash: Hash(hash.try_into()?),
                call: String::from_utf8_lossy(value.get(32..).unwrap_or_default()).into_owned(),
            });
        }
        Ok((entries, false))
    }

    /// A block by number.
    pub fn block(&self, number: u64) -> Result<Option<Block>> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(BLOCKS)?;
        match table.get(number)? {
            Some(bytes) => {
                Ok(Some(Block::decode(&mut bytes.value()).context("corrupt block in the store")?))
            }
            None => Ok(None),
        }
    }

    /// A block by number, or why there is none: pruned (typed, with the window kept) or
    /// not found.
    pub fn block_or_why(&self, number: u64) -> Result<Result<Block, BlockLookupError>> {
        if number >= 1 && number < self.oldest {
            return Ok(Err(BlockLookupError::Pruned {
                number,
                oldest: self.oldest,
                head: self.head,
            }));
        }
        Ok(self.block(number)?.ok_or(BlockLookupError::NotFound(number)))
    }

    /// Bytes stored in each table, and the file's size (`docs/storage.md`'s figures).
    pub fn sizes(&self) -> Result<Vec<(&'static str, u64)>> {
        let txn = self.db.begin_read()?;
        let mut sizes = vec![
            ("blocks", txn.open_table(BLOCKS)?.stats()?.stored_bytes()),
            ("block_hashes", txn.open_table(HASHES)?.stats()?.stored_bytes()),
            ("receipts", txn.open_table(RECEIPTS)?.stats()?.stored_bytes()),
            ("block_events", txn.open_table(BLOCK_EVENTS)?.stats()?.stored_bytes()),
            ("account_txs", txn.open_table(ACCOUNT_TXS)?.stats()?.stored_bytes()),
            ("state", txn.open_table(STATE)?.stats()?.stored_bytes()),
        ];
        let total = sizes.iter().map(|(_, b)| b).sum();
        sizes.push(("total", total));
        Ok(sizes)
    }

    /// A block number by hash.
    pub fn number_of(&self, hash: &Hash) -> Result<Option<u64>> {
        let txn = self.db.begin_read()?;
        Ok(txn.open_table(HASHES)?.get(hash.0.as_slice())?.map(|v| v.value()))
    }

    /// A receipt by transaction hash.
    pub fn receipt(&self, tx: &Hash) -> Result<Option<StoredReceipt>> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(RECEIPTS)?;
        match table.get(tx.0.as_slice())? {
            Some(bytes) => {
                Ok(Some(StoredReceipt::decode(&mut bytes.value()).context("corrupt receipt")?))
            }
            None => Ok(None),
        }
    }

    /// Number of stored blocks (the genesis block is not stored).
    pub fn block_count(&self) -> Result<u64> {
        let txn = self.db.begin_read()?;
        Ok(txn.open_table(BLOCKS)?.len()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::{
        tests::{signed_by, transfer},
        Chain, OpenError,
    };
    use tao_wallet::Keypair;

    fn dir(tag: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("tao-store-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn open(dir: &Path, pruning: Pruning) -> Chain {
        Chain::open_with(dir, &crate::dev_genesis().unwrap(), pruning).unwrap()
    }

    fn keep(n: u64) -> Pruning {
        Pruning::Keep(NonZeroU64::new(n).unwrap())
    }

    #[test]
    fn certificates_are_found_by_range_and_pruned_with_their_blocks() {
        let base = dir("certificates");
        let mut chain = open(&base, keep(3));
        grow(&mut chain, 2);
        chain.store.put_certificate(1, b"one").unwrap();
        chain.store.put_certificate(2, b"two").unwrap();
        let last = |chain: &Chain, from, upto| chain.store.last_certificate_in(from, upto).unwrap();
        assert_eq!(last(&chain, 1, 1), Some((1, b"one".to_vec())));
        assert_eq!(last(&chain, 1, 5), Some((2, b"two".to_vec())));
        assert_eq!(last(&chain, 3, 5), None);
        assert_eq!(last(&chain, 3, 1), None, "an empty range");
        grow(&mut chain, 4);
        chain.store.put_certificate(5, b"five").unwrap();
        // Blocks 1..=3 are pruned (3 kept of 6), and their certificates with them.
        assert_eq!(last(&chain, 1, 4), None);
        assert_eq!(last(&chain, 1, 6), Some((5, b"five".to_vec())));
        drop(chain);
        let chain = open(&base, keep(3));
        assert_eq!(last(&chain, 0, u64::MAX), Some((5, b"five".to_vec())));
        let _ = std::fs::remove_dir_all(&base);
    }

    /// Produces `blocks` blocks with one transfer from Alice to Bob in each; the transfers'
    /// hashes.
    fn grow(chain: &mut Chain, blocks: u64) -> Vec<Hash> {
        let alice = Keypair::from_uri("//Alice").unwrap();
        let bob = Keypair::from_uri("//Bob").unwrap().account();
        let mut hashes = Vec::new();
        for _ in 0..blocks {
            let nonce = chain.state.account(&alice.account()).nonce;
            let tx = signed_by(chain, &alice, nonce, transfer(bob, 1_000_000_000));
            hashes.push(chain.submit(tx).unwrap());
            let timestamp = chain.head.timestamp_ms + 100;
            let (block, _) = chain.produce(timestamp).unwrap();
            assert_eq!(block.transactions.len(), 1);
        }
        hashes
    }

    /// Writes `value` as state part `key` of the (closed) store in `dir`.
    fn overwrite_part(dir: &Path, key: StatePart, value: &[u8]) {
        let db = Database::create(dir.join("chain.redb")).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(STATE).unwrap().insert(key.to_bytes().as_slice(), value).unwrap();
        txn.commit().unwrap();
    }

    fn alice_bucket() -> StatePart {
        StatePart::Accounts(Keypair::from_uri("//Alice").unwrap().account().as_bytes()[0])
    }

    #[test]
    fn a_reopened_chain_reads_its_state_back_without_replaying() {
        let dir = dir("reopen");
        let mut chain = open(&dir, Pruning::Archive);
        assert_eq!(chain.opened.replayed, 0);
        let hashes = grow(&mut chain, 6);
        let (head, root) = (chain.head.clone(), chain.state.state_root());
        let receipts: Vec<_> = hashes.iter().map(|h| chain.store.receipt(h).unwrap()).collect();
        drop(chain);
        let chain = open(&dir, Pruning::Archive);
        assert_eq!(
            chain.opened,
            crate::chain::Opened { micros: chain.opened.micros, ..Default::default() }
        );
        assert_eq!(chain.head, head);
        assert_eq!(chain.state.state_root(), root);
        assert_eq!(root, head.state_root);
        let again: Vec<_> = hashes.iter().map(|h| chain.store.receipt(h).unwrap()).collect();
        assert_eq!(again, receipts);
        assert!(again.iter().all(Option::is_some));
        drop(chain);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_commit_writes_only_the_parts_a_block_changed() {
        let dir = dir("parts");
        let mut chain = open(&dir, Pruning::Archive);
        let all = chain.state.part_digests().len();
        let alice = Keypair::from_uri("//Alice").unwrap();
        let bob = Keypair::from_uri("//Bob").unwrap().account();
        let tx = signed_by(&chain, &alice, 0, transfer(bob, 1_000_000_000));
        let built = crate::chain::build_block(&chain.head, &chain.state, &[tx], 100, None).unwrap();
        let stats = chain
            .store
            .commit_block(
                &built.block,
                &built.outcome.receipts,
                &built.outcome.events,
                &built.state,
                None,
            )
            .unwrap();
        // The chain record, the subnet's emission, Alice's and Bob's buckets: a handful of
        // the ~1,000 parts.
        assert!(stats.parts_written >= 3 && stats.parts_written <= 12, "{stats:?} of {all}");
        assert!(all > 1_000, "{all}");
        assert_eq!((stats.parts_deleted, stats.pruned), (0, 0));
        drop(chain);
        let _ = std::fs::remove_dir_all(dir);
    }

    /// A crash between the writes of a block (after every table was written, before the
    /// transaction committed) leaves the previous head, its state and its receipts.
    #[test]
    fn a_crash_before_the_commit_leaves_the_previous_consistent_head() {
        let dir = dir("crash");
        let mut chain = open(&dir, Pruning::Archive);
        grow(&mut chain, 3);
        let (head, root) = (chain.head.clone(), chain.state.state_root());
        chain.store.fail_before_commit = true;
        let alice = Keypair::from_uri("//Alice").unwrap();
        let bob = Keypair::from_uri("//Bob").unwrap().account();
        let lost = chain.submit(signed_by(&chain, &alice, 3, transfer(bob, 5_000_000))).unwrap();
        let e = chain.produce(head.timestamp_ms + 100).unwrap_err();
        assert!(e.to_string().contains("injected failure"), "{e}");
        assert_eq!(chain.head, head, "the head does not move when the commit fails");
        drop(chain);
        let mut chain = open(&dir, Pruning::Archive);
        assert_eq!(chain.opened.replayed, 0);
        assert_eq!(chain.head, head);
        assert_eq!(chain.state.state_root(), root);
        assert_eq!(chain.store.head_number(), 3);
        assert_eq!(chain.store.block(4).unwrap(), None);
        assert_eq!(chain.store.receipt(&lost).unwrap(), None);
        // And the chain goes on from there.
        grow(&mut chain, 1);
        assert_eq!(chain.head.number.get(), 4);
        drop(chain);
        let chain = open(&dir, Pruning::Archive);
        assert_eq!((chain.head.number.get(), chain.opened.replayed), (4, 0));
        drop(chain);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_corrupt_or_wrong_stored_state_is_replayed_from_genesis_with_the_reason() {
        let dir = dir("corrupt");
        let mut chain = open(&dir, Pruning::Archive);
        grow(&mut chain, 4);
        let root = chain.state.state_root();
        drop(chain);
        // Bytes that do not decode.
        overwrite_part(&dir, StatePart::Chain, &[0xff; 3]);
        let chain = open(&dir, Pruning::Archive);
        assert_eq!(chain.opened.replayed, 4);
        let why = chain.opened.fallback.clone().unwrap();
        assert!(why.contains("does not decode"), "{why}");
        assert_eq!(chain.state.state_root(), root);
        drop(chain);
        // Repaired: the next open reads it back.
        let chain = open(&dir, Pruning::Archive);
        assert_eq!((chain.opened.replayed, chain.opened.fallback.clone()), (0, None));
        drop(chain);
        // Bytes that decode, but to another state (Alice's bucket emptied).
        overwrite_part(&dir, alice_bucket(), &BTreeMap::<AccountId, ()>::new().encode());
        let chain = open(&dir, Pruning::Archive);
        assert_eq!(chain.opened.replayed, 4);
        let why = chain.opened.fallback.clone().unwrap();
        assert!(why.contains("is not the head's state root"), "{why}");
        assert_eq!(chain.state.state_root(), root);
        drop(chain);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_pruned_store_keeps_exactly_the_last_n_blocks() {
        let dir = dir("pruned");
        let mut chain = open(&dir, keep(3));
        let hashes = grow(&mut chain, 10);
        let check = |chain: &Chain| {
            assert_eq!(chain.store.oldest_kept(), 8);
            assert_eq!(chain.store.block_count().unwrap(), 3, "exactly N bodies");
            for number in 1..=7 {
                assert_eq!(
                    chain.store.block_or_why(number).unwrap(),
                    Err(BlockLookupError::Pruned { number, oldest: 8, head: 10 })
                );
                assert_eq!(chain.store.block_events(number).unwrap(), None);
            }
            for number in 8..=10 {
                let block = chain.store.block_or_why(number).unwrap().unwrap();
                assert_eq!(block.header.number.get(), number);
                assert!(chain.store.block_events(number).unwrap().is_some());
            }
            assert_eq!(chain.store.block_or_why(11).unwrap(), Err(BlockLookupError::NotFound(11)));
            for (number, hash) in (1..).zip(&hashes) {
                let receipt = chain.store.receipt(hash).unwrap();
                assert_eq!(receipt.is_some(), number >= 8, "receipt of block {number}");
            }
            let bob = Keypair::from_uri("//Bob").unwrap().account();
            let (history, more) = chain.store.account_history(&bob, None, 100).unwrap();
            assert_eq!(history.iter().map(|e| e.block).collect::<Vec<_>>(), vec![10, 9, 8]);
            assert!(!more);
        };
        check(&chain);
        let first = chain.head.clone();
        drop(chain);
        let chain = open(&dir, keep(3));
        assert_eq!(chain.opened.replayed, 0, "a pruned store opens from its stored state");
        check(&chain);
        // Hashes of pruned blocks stay known.
        assert!(chain.store.number_of(&first.hash()).unwrap().is_some());
        drop(chain);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_store_reopened_with_a_smaller_window_prunes_at_its_next_commit() {
        let dir = dir("window");
        let mut chain = open(&dir, Pruning::Archive);
        grow(&mut chain, 5);
        drop(chain);
        let mut chain = open(&dir, keep(1));
        assert_eq!(chain.store.oldest_kept(), 1, "nothing is pruned before a commit");
        grow(&mut chain, 1);
        assert_eq!((chain.store.oldest_kept(), chain.store.block_count().unwrap()), (6, 1));
        drop(chain);
        let _ = std::fs::remove_dir_all(dir);
    }

    /// A store switched from archive to a window of 1 with more than
    /// [`MAX_PRUNE_PER_COMMIT`] blocks to drop drops at most that many per commit.
    #[test]
    fn pruning_catches_up_at_most_max_prune_per_commit_blocks_a_commit() {
        let dir = dir("catch-up");
        let mut chain = open(&dir, Pruning::Archive);
        chain.store.set_durability(Durability::Eventual);
        let extra = 40;
        for _ in 0..MAX_PRUNE_PER_COMMIT + extra {
            let timestamp = chain.head.timestamp_ms + 100;
            chain.produce(timestamp).unwrap();
        }
        chain.store.set_durability(Durability::Immediate);
        drop(chain);
        let mut chain = open(&dir, keep(1));
        let before = chain.store.block_count().unwrap();
        assert_eq!(before, MAX_PRUNE_PER_COMMIT + extra);
        let block = chain.produce(chain.head.timestamp_ms + 100).unwrap().0;
        assert_eq!(block.header.number.get(), before + 1);
        assert_eq!(chain.store.oldest_kept(), 1 + MAX_PRUNE_PER_COMMIT);
        assert_eq!(chain.store.block_count().unwrap(), extra + 1);
        chain.produce(chain.head.timestamp_ms + 100).unwrap();
        assert_eq!(chain.store.oldest_kept(), before + 2, "caught up: only the head is kept");
        assert_eq!(chain.store.block_count().unwrap(), 1);
        drop(chain);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_pruned_store_whose_state_is_unusable_refuses_to_open_with_a_typed_error() {
        let dir = dir("unrecoverable");
        let mut chain = open(&dir, keep(2));
        grow(&mut chain, 4);
        drop(chain);
        overwrite_part(&dir, StatePart::Chain, &[1, 2, 3]);
        let e = Chain::open_with(&dir, &crate::dev_genesis().unwrap(), keep(2)).err().unwrap();
        match e.downcast_ref::<OpenError>() {
            Some(OpenError::StateUnrecoverable { head: 4, oldest: 3, why }) => {
                assert!(why.contains("does not decode"), "{why}");
            }
            other => panic!("{other:?}: {e:#}"),
        }
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn pruning_values_parse_or_are_refused() {
        assert_eq!("archive".parse(), Ok(Pruning::Archive));
        assert_eq!("256".parse(), Ok(keep(256)));
        for bad in ["0", "-1", "", "all", "1e3"] {
            assert_eq!(bad.parse::<Pruning>(), Err(PruningParseError(bad.into())), "{bad}");
        }
        assert_eq!(keep(7).to_string(), "7");
        assert_eq!(Pruning::Archive.to_string(), "archive");
    }

    /// A snapshot installed in an empty store is read back after a reopen (no replay) as
    /// a pruned store from its block on; the chain goes on from it; a store that is not
    /// empty refuses one.
    #[test]
    fn an_installed_snapshot_is_the_store_s_state_and_oldest_block() {
        let (source_dir, fresh_dir) = (dir("snap-source"), dir("snap-fresh"));
        let mut source = open(&source_dir, Pruning::Archive);
        let now = crate::chain::wall_clock_ms();
        for i in 0..5 {
            source.produce(now + i).unwrap();
        }
        let block5 = source.store.block(5).unwrap().unwrap();
        {
            let mut fresh = open(&fresh_dir, Pruning::Archive);
            fresh.store.install_snapshot(&block5, &source.state, b"certificate").unwrap();
            assert!(fresh.store.install_snapshot(&block5, &source.state, b"c").is_err());
        }
        let mut fresh = open(&fresh_dir, Pruning::Archive);
        assert_eq!(fresh.opened.replayed, 0);
        assert_eq!(fresh.opened.fallback, None);
        assert_eq!(fresh.head, block5.header);
        assert_eq!(fresh.state.state_root(), source.state.state_root());
        assert_eq!(fresh.store.oldest_kept(), 5);
        assert!(matches!(
            fresh.store.block_or_why(4).unwrap(),
            Err(BlockLookupError::Pruned { number: 4, oldest: 5, head: 5 })
        ));
        assert_eq!(
            fresh.store.last_certificate_in(1, 5).unwrap(),
            Some((5, b"certificate".to_vec()))
        );
        let (block6, _) = source.produce(now + 5).unwrap();
        fresh.import(&block6).unwrap();
        assert_eq!(fresh.state.state_root(), source.state.state_root());
        // A store with blocks refuses a snapshot.
        assert!(source.store.install_snapshot(&block5, &fresh.state, b"c").is_err());
    }
}
