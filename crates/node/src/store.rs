//! Durable storage of finalized blocks and receipts (redb). Each block is committed in one
//! write transaction, so after a crash the store holds a prefix of the chain, never half a
//! block; the state is rebuilt by replaying it.

use anyhow::{Context, Result};
use codec::{Decode, Encode};
use redb::{Database, ReadableTableMetadata, TableDefinition};
use std::path::Path;
use tao_primitives::AccountId;
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
        let named = receipt.events.iter().flat_map(event_accounts);
        let mut accounts: Vec<AccountId> = std::iter::once(receipt.signer).chain(named).collect();
        accounts.sort_unstable();
        accounts.dedup();
        for account in accounts {
            index.insert(
                account_key(&account, number, receipt.index).as_slice(),
                value.as_slice(),
            )?;
        }
    }
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
}

impl Store {
    /// Opens (or creates) the store in `dir`.
    pub fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let path = dir.join("chain.redb");
        let db = Database::create(&path).with_context(|| format!("opening {}", path.display()))?;
        let txn = db.begin_write()?;
        txn.open_table(BLOCKS)?;
        txn.open_table(HASHES)?;
        txn.open_table(RECEIPTS)?;
        txn.open_table(META)?;
        txn.open_table(BLOCK_EVENTS)?;
        txn.open_table(ACCOUNT_TXS)?;
        txn.commit()?;
        Ok(Self { db })
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

    /// Commits a block, its receipts, its own events and its account index in one durable
    /// transaction.
    pub fn commit_block(
        &self,
        block: &Block,
        receipts: &[Receipt],
        own_events: &[Event],
    ) -> Result<()> {
        let number = block.header.number.get();
        let hash = block.header.hash();
        let txn = self.db.begin_write()?;
        {
            txn.open_table(BLOCKS)?.insert(number, block.encode().as_slice())?;
            txn.open_table(HASHES)?.insert(hash.0.as_slice(), number)?;
            let mut table = txn.open_table(RECEIPTS)?;
            for receipt in receipts {
                let stored =
                    StoredReceipt { block: number, block_hash: hash, receipt: receipt.clone() };
                table.insert(receipt.tx_hash.0.as_slice(), stored.encode().as_slice())?;
            }
        }
        write_index(&txn, block, receipts, own_events)?;
        txn.commit()?;
        Ok(())
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
