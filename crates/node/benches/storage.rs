//! The store's costs (`docs/storage.md` quotes a run):
//!
//! 1. **Restart time against chain length**: dev chains of 1k, 10k and 100k blocks (a
//!    transfer every 10th block) are built in-process with the node's own `Chain` and
//!    store, then `Chain::open` is timed (the median of 5): it reads the stored state back
//!    and checks its root, so the time should not grow with the chain (the ratio 100k/1k
//!    should be near 1). For contrast, the same store opened by replaying every block
//!    (what a node did before the state was stored, and still does as a fallback).
//! 2. **Write cost per block**: a durable commit (`fsync`) of an empty dev block, of a block
//!    of 100 transfers, and of a block of 100 transfers on a state of 100,000 accounts, with
//!    the state parts and bytes each writes; against writing the whole state once.
//! 3. **Bytes per block**: a dev chain with 20 transfers in every block, archive against
//!    `--pruning 100`.
//!
//! Run: `cargo bench -p tao-node --bench storage` (CI runs it once unoptimized with
//! `TAO_BENCH_QUICK=1`: 100 and 1,000 blocks, fewer samples, the same steps).

use redb::{Database, Durability, TableDefinition};
use std::{
    num::NonZeroU64,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};
use tao_node::{
    chain::{Chain, Opened},
    store::Pruning,
};
use tao_primitives::Rao;
use tao_types::{Call, GenesisBalance, GenesisConfig, Signature, SignedTransaction, Transaction};
use tao_wallet::Keypair;

fn quick() -> bool {
    std::env::var_os("TAO_BENCH_QUICK").is_some()
}

fn temp(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tao-bench-storage-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn sign(chain: &Chain, key: &Keypair, nonce: u64, call: Call) -> SignedTransaction {
    let transaction = Transaction {
        genesis_hash: chain.state.genesis_hash(),
        signer: key.account(),
        nonce,
        call,
    };
    let signature = Signature(key.sign(&transaction.signing_payload()).unwrap());
    SignedTransaction { transaction, signature }
}

/// Produces `blocks` blocks on `chain`, `per_block` transfers from `key` in every
/// `every`-th block; the last commit is durable.
fn grow(chain: &mut Chain, key: &Keypair, blocks: u64, every: u64, per_block: u64) {
    let dest = Keypair::from_uri("//Sink").unwrap().account();
    for n in 0..blocks {
        if n % every == 0 {
            for _ in 0..per_block {
                let nonce = chain
                    .mempool
                    .next_nonce(&key.account(), chain.state.account(&key.account()).nonce);
                let tx =
                    sign(chain, key, nonce, Call::Transfer { dest, amount: Rao::new(1_000_000) });
                chain.submit(tx).unwrap();
            }
        }
        // Fast commits (no fsync), with a durable one every 1,000 blocks: redb frees the
        // pages of earlier commits only at a durable commit, and its commits slow down as
        // the pending frees pile up.
        let durability =
            if n % 1_000 == 999 { Durability::Immediate } else { Durability::Eventual };
        chain.store.set_durability(durability);
        let timestamp = chain.head.timestamp_ms + 12_000;
        chain.produce(timestamp).unwrap();
    }
    chain.store.set_durability(Durability::Immediate);
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort_unstable();
    samples[samples.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Removes the record of the stored state, so the next open replays every block.
fn forget_state(dir: &Path) {
    let db = Database::create(dir.join("chain.redb")).unwrap();
    let txn = db.begin_write().unwrap();
    let meta: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("meta");
    txn.open_table(meta).unwrap().remove("state_at").unwrap();
    txn.commit().unwrap();
}

fn restart_time(config: &GenesisConfig, alice: &Keypair) {
    let sizes: &[u64] = if quick() { &[100, 1_000] } else { &[1_000, 10_000, 100_000] };
    let samples = if quick() { 1 } else { 5 };
    println!("1. restart time (Chain::open) against chain length, median of {samples}");
    println!(
        "   {:>8} {:>10} {:>12} {:>14} {:>12}",
        "blocks", "build s", "open ms", "replay ms", "file MiB"
    );
    let mut opens = Vec::new();
    for &blocks in sizes {
        let dir = temp(&format!("restart-{blocks}"));
        let mut chain = Chain::open(&dir, config).unwrap();
        let built = Instant::now();
        grow(&mut chain, alice, blocks, 10, 1);
        let build = built.elapsed();
        let (head, root) = (chain.head.clone(), chain.state.state_root());
        drop(chain);
        let open = median(
            (0..samples)
                .map(|_| {
                    let started = Instant::now();
                    let chain = Chain::open(&dir, config).unwrap();
                    let took = started.elapsed();
                    assert_eq!(
                        chain.opened,
                        Opened { micros: chain.opened.micros, ..Default::default() }
                    );
                    assert_eq!((&chain.head, chain.state.state_root()), (&head, root));
                    took
                })
                .collect(),
        );
        forget_state(&dir);
        let started = Instant::now();
        let chain = Chain::open(&dir, config).unwrap();
        let replay = started.elapsed();
        assert_eq!(chain.opened.replayed, blocks);
        assert_eq!(chain.state.state_root(), root);
        drop(chain);
        let file = std::fs::metadata(dir.join("chain.redb")).unwrap().len();
        println!(
            "   {blocks:>8} {:>10.1} {:>12.2} {:>14.1} {:>12.1}",
            build.as_secs_f64(),
            ms(open),
            ms(replay),
            file as f64 / 1_048_576.0
        );
        opens.push(open);
        let _ = std::fs::remove_dir_all(dir);
    }
    let (first, last) = (opens[0], opens[opens.len() - 1]);
    println!(
        "   open time ratio {}/{} blocks: {:.2}",
        sizes[sizes.len() - 1],
        sizes[0],
        last.as_secs_f64() / first.as_secs_f64()
    );
}

/// The median durable commit of blocks built by `fill` (called before each), with the
/// parts and bytes the last one wrote.
fn commit_cost(
    label: &str,
    config: &GenesisConfig,
    alice: &Keypair,
    transfers: u64,
    samples: usize,
) {
    let dir = temp("commit");
    let mut chain = Chain::open(&dir, config).unwrap();
    let dest = Keypair::from_uri("//Sink").unwrap().account();
    let mut times = Vec::new();
    let mut stats = None;
    for _ in 0..samples {
        let mut txs = Vec::new();
        let nonce = chain.state.account(&alice.account()).nonce;
        for i in 0..transfers {
            txs.push(sign(
                &chain,
                alice,
                nonce + i,
                Call::Transfer { dest, amount: Rao::new(1_000_000) },
            ));
        }
        let timestamp = chain.head.timestamp_ms + 12_000;
        let built =
            tao_node::chain::build_block(&chain.head, &chain.state, &txs, timestamp, None).unwrap();
        assert_eq!(built.block.transactions.len() as u64, transfers);
        let root = built.state.state_root(); // as the producer has, before it commits
        assert_eq!(root, built.block.header.state_root);
        let started = Instant::now();
        let written = chain
            .store
            .commit_block(
                &built.block,
                &built.outcome.receipts,
                &built.outcome.events,
                &built.state,
                None,
            )
            .unwrap();
        times.push(started.elapsed());
        stats = Some(written);
        chain.head = built.block.header.clone();
        chain.state = built.state;
    }
    let stats = stats.unwrap();
    println!(
        "   {label:<40} {:>9.3} {:>7} {:>11}",
        ms(median(times)),
        stats.parts_written,
        stats.state_bytes
    );
    // The alternative: the whole state, every block.
    let parts = chain.state.part_digests();
    let started = Instant::now();
    let bytes: usize =
        parts.iter().map(|(key, _)| chain.state.encode_part(*key).unwrap().len()).sum();
    let encode = started.elapsed();
    let started = Instant::now();
    let head = chain.head.number.get();
    let state = chain.state.clone();
    chain.store.write_state(&state, head).unwrap();
    let write = started.elapsed();
    println!(
        "   {:<40} {:>9.3} {:>7} {:>11}   (encoding alone {:.3} ms)",
        "  vs the whole state, written once",
        ms(write),
        parts.len(),
        bytes,
        ms(encode)
    );
    drop(chain);
    // Opening reads the whole state back and hashes it: its cost follows the state's size.
    let started = Instant::now();
    let chain = Chain::open(&dir, config).unwrap();
    let open = started.elapsed();
    assert_eq!(chain.opened.replayed, 0);
    // What opening spends outside the stored state: the genesis config compared with the
    // stored one (as JSON), and the genesis state built for its header.
    let started = Instant::now();
    let json = serde_json::to_vec(config).unwrap();
    let to_json = started.elapsed();
    let started = Instant::now();
    let genesis = tao_runtime::genesis(config).unwrap();
    let _ = genesis.state_root();
    let genesis_time = started.elapsed();
    println!(
        "   {:<40} {:>9.3}   (genesis config as JSON {:.3} ms, {} B; genesis state {:.3} ms)",
        "  and opening this store",
        ms(open),
        ms(to_json),
        json.len(),
        ms(genesis_time)
    );
    drop(chain);
    let _ = std::fs::remove_dir_all(dir);
}

fn write_cost(config: &GenesisConfig, alice: &Keypair) {
    let samples = if quick() { 3 } else { 21 };
    let big_accounts = if quick() { 5_000 } else { 100_000 };
    println!("2. durable commit of one block (median of {samples}): block, receipts, index, changed state parts");
    println!("   {:<40} {:>9} {:>7} {:>11}", "block", "ms", "parts", "state bytes");
    commit_cost("empty dev block", config, alice, 0, samples);
    commit_cost("100 transfers", config, alice, 100, samples);
    let mut big = config.clone();
    for i in 0..big_accounts {
        let mut bytes = [0u8; 32];
        bytes[..8].copy_from_slice(&(i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15).to_le_bytes());
        big.balances.push(GenesisBalance {
            account: tao_primitives::AccountId::new(bytes),
            rao: Rao::new(1_000_000_000),
        });
    }
    commit_cost(&format!("100 transfers, {big_accounts} accounts"), &big, alice, 100, samples);
}

fn bytes_per_block(config: &GenesisConfig, alice: &Keypair) {
    let blocks = if quick() { 150 } else { 2_000 };
    let keep = 100;
    println!("3. bytes per block: {blocks} dev blocks of 20 transfers each");
    println!(
        "   {:<16} {:>12} {:>12} {:>14} {:>14}",
        "mode", "stored B", "file B", "stored B/block", "blocks kept"
    );
    for pruning in [Pruning::Archive, Pruning::Keep(NonZeroU64::new(keep).unwrap())] {
        let dir = temp("bytes");
        let mut chain = Chain::open_with(&dir, config, pruning).unwrap();
        grow(&mut chain, alice, blocks, 1, 20);
        let sizes = chain.store.sizes().unwrap();
        let total = sizes.iter().find(|(name, _)| *name == "total").unwrap().1;
        let kept = chain.store.block_count().unwrap();
        drop(chain);
        let file = std::fs::metadata(dir.join("chain.redb")).unwrap().len();
        println!(
            "   {:<16} {total:>12} {file:>12} {:>14} {kept:>14}",
            pruning.to_string(),
            total / blocks
        );
        println!("     by table: {sizes:?}");
        let _ = std::fs::remove_dir_all(dir);
    }
}

fn main() {
    let alice = Keypair::from_uri("//Alice").unwrap();
    let config = tao_node::dev_genesis().unwrap();
    restart_time(&config, &alice);
    write_cost(&config, &alice);
    bytes_per_block(&config, &alice);
}
