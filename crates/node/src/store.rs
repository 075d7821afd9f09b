//! Durable storage of finalized blocks and receipts (redb). Each block is committed in one
//! write transaction, so after a crash the store holds a prefix of the chain, never half a
//! block; the state is rebuilt by replaying it.

use anyhow::{Context, Result};
use codec::{Decode, Encode};
use redb::{Database, ReadableTableMetadata, TableDefinition};
use std::path::Path;
use tao_types::{Block, Hash, Receipt};

const BLOCKS: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("blocks");
const HASHES: TableDefinition<'_, &[u8], u64> = TableDefinition::new("block_hashes");
const RECEIPTS: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("receipts");
const META: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("meta");

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

    /// Commits a block and its receipts in one durable transaction.
    pub fn commit_block(&self, block: &Block, receipts: &[Receipt]) -> Result<()> {
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
        txn.commit()?;
        Ok(())
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
