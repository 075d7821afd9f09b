//! Snapshot sync against full sync (`docs/storage.md`, "Snapshot sync"): a dev chain of
//! N blocks (a transfer every 10th block) is built in-process with the node's own `Chain`
//! and store; then a new store gets to its head
//!
//! * **by full sync**: every block checked and re-executed on its parent's state
//!   (`check_block`) and committed durably, one after another: what a node syncing by
//!   certificates does once the blocks are here;
//! * **by snapshot sync**: the server's snapshot (manifest and parts, as `committed` keeps
//!   it), then the fetcher's work: the manifest checked against the header's state root,
//!   every chunk's parts checked against the manifest, the state rebuilt and its root
//!   checked, and the block and state installed in one durable transaction.
//!
//! Both leave out the network (the simulation in `tests/snapshot.rs` covers the protocol);
//! the bytes each would move are printed. Run: `cargo bench -p tao-node --bench snapshot`
//! (CI: once, unoptimized, `TAO_BENCH_QUICK=1`: 1,000 blocks; `TAO_BENCH_BLOCKS=N`: one
//! chain of N blocks).

use redb::Durability;
use std::{path::PathBuf, time::Instant};
use tao_node::{
    chain::{check_block, Chain},
    snapshot::{assemble, verify_parts, Manifest, MAX_PARTS_PER_CHUNK},
};
use tao_primitives::Rao;
use tao_types::{Call, Signature, SignedTransaction, Transaction};
use tao_wallet::Keypair;

fn quick() -> bool {
    std::env::var_os("TAO_BENCH_QUICK").is_some()
}

fn temp(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tao-bench-snapshot-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Produces `blocks` blocks, a transfer from Alice in every 10th.
fn grow(chain: &mut Chain, blocks: u64) {
    let alice = Keypair::from_uri("//Alice").unwrap();
    let dest = Keypair::from_uri("//Sink").unwrap().account();
    for n in 0..blocks {
        if n % 10 == 0 {
            let nonce = chain.state.account(&alice.account()).nonce;
            let transaction = Transaction {
                genesis_hash: chain.state.genesis_hash(),
                signer: alice.account(),
                nonce,
                call: Call::Transfer { dest, amount: Rao::new(1_000_000) },
            };
            let signature = Signature(alice.sign(&transaction.signing_payload()).unwrap());
            chain.submit(SignedTransaction { transaction, signature }).unwrap();
        }
        let durability =
            if n % 1_000 == 999 { Durability::Immediate } else { Durability::Eventual };
        chain.store.set_durability(durability);
        let timestamp = chain.head.timestamp_ms + 12_000;
        chain.produce(timestamp).unwrap();
    }
    chain.store.set_durability(Durability::Immediate);
}

fn main() {
    let config = tao_node::dev_genesis().unwrap();
    // `TAO_BENCH_BLOCKS=N` runs one size (e.g. an unoptimized run of a longer chain).
    let chosen: Option<u64> =
        std::env::var("TAO_BENCH_BLOCKS").ok().and_then(|n| n.trim().parse().ok());
    let sizes: Vec<u64> = match chosen {
        Some(n) => vec![n],
        None if quick() => vec![1_000],
        None => vec![10_000, 100_000],
    };
    println!("| blocks | full sync | snapshot sync | full / snapshot | bytes (full) | bytes (snapshot) |");
    println!("|---:|---:|---:|---:|---:|---:|");
    for blocks in sizes {
        let source_dir = temp(&format!("source-{blocks}"));
        let mut source = Chain::open(&source_dir, &config).unwrap();
        grow(&mut source, blocks);
        let head = source.store.block(blocks).unwrap().unwrap();

        // Full sync: every block checked, re-executed and committed durably.
        let full_dir = temp(&format!("full-{blocks}"));
        let mut full = Chain::open(&full_dir, &config).unwrap();
        let mut full_bytes = 0usize;
        let started = Instant::now();
        for number in 1..=blocks {
            let block = source.store.block(number).unwrap().unwrap();
            full_bytes += codec::Encode::encoded_size(&block);
            let (state, outcome) =
                check_block(&full.head, &full.state, &block, block.header.timestamp_ms).unwrap();
            full.commit(&block, state, &outcome).unwrap();
        }
        let full_time = started.elapsed();
        assert_eq!(full.state.state_root(), head.header.state_root);

        // Snapshot sync: the server's parts, the fetcher's checks and one install.
        let snap_dir = temp(&format!("snap-{blocks}"));
        let mut snap = Chain::open(&snap_dir, &config).unwrap();
        let started = Instant::now();
        let manifest = Manifest::of(&source.state);
        let parts: Vec<Vec<u8>> = source
            .state
            .part_digests()
            .into_iter()
            .map(|(key, _)| source.state.encode_part(key).unwrap())
            .collect();
        let snapshot_bytes = parts.iter().map(Vec::len).sum::<usize>()
            + codec::Encode::encoded_size(&manifest)
            + codec::Encode::encoded_size(&head);
        manifest.verify(&head.header).unwrap();
        for first in (0..parts.len()).step_by(MAX_PARTS_PER_CHUNK as usize) {
            let end = (first + MAX_PARTS_PER_CHUNK as usize).min(parts.len());
            let count = (end - first) as u32;
            verify_parts(&manifest, first as u32, count, first as u32, &parts[first..end]).unwrap();
        }
        let state = assemble(&manifest, parts, &head.header).unwrap();
        snap.store.install_snapshot(&head, &state, b"certificate").unwrap();
        snap.state = state;
        snap.head = head.header.clone();
        let snap_time = started.elapsed();
        assert_eq!(snap.state.state_root(), head.header.state_root);

        println!(
            "| {blocks} | {:.0} ms | {:.1} ms | {:.0} | {full_bytes} | {snapshot_bytes} |",
            full_time.as_secs_f64() * 1e3,
            snap_time.as_secs_f64() * 1e3,
            full_time.as_secs_f64() / snap_time.as_secs_f64(),
        );
        for dir in [source_dir, full_dir, snap_dir] {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
