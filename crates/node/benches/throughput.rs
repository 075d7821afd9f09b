//! End-to-end throughput and latency of a `tao-node` process, against its own runtime.
//!
//! 1. Finalized transfers per second: 200 funded accounts each send 25 transfers (5,000 in
//!    all) over JSON-RPC (batches of 100, the RPC server's limit) to a node producing a
//!    block every 100 ms; the clock runs from the first submission to the last receipt. The peer, measured in the same
//!    run, is `tao_runtime::execute_block` of the same 5,000 transactions in-process (the
//!    ceiling: no RPC, no pool, no disk). The ratio says what the node's plumbing costs.
//! 2. Submission to finality of one transfer on an idle node, 30 samples submitted at spread
//!    phases of the block interval (p50, p90), reported against the block time (the wait
//!    for the next block is the floor: ideally p50 ≈ half a block).
//!
//! 3. Both again on a BFT network of 4 validator processes on 127.0.0.1 (simplex
//!    consensus, authenticated p2p; transactions submitted to each validator in turn and
//!    gossiped), reported against the single node measured in the same run.
//!
//! Run: `cargo bench -p tao-node --bench throughput` (CI runs it once unoptimized with
//! `TAO_BENCH_QUICK=1`: fewer transactions, the same steps).

mod common;

use codec::Encode;
use common::start_network;
use jsonrpsee::{
    core::{client::ClientT, params::BatchRequestBuilder},
    http_client::{HttpClient, HttpClientBuilder},
    rpc_params,
};
use serde_json::Value;
use std::time::{Duration, Instant};
use tao_primitives::{BlockNumber, Rao};
use tao_runtime::{execute_block, genesis, BlockContext};
use tao_types::{
    Call, GenesisBalance, GenesisConfig, Hash, Signature, SignedTransaction, Transaction,
};
use tao_wallet::Keypair;

/// Funded accounts (200; 10 in the quick mode).
fn accounts() -> usize {
    common::scaled(200, 10)
}

/// Transfers per account (25; 5 in the quick mode).
fn per_account() -> u64 {
    common::scaled(25, 5)
}
const BLOCK_MS: u64 = 100;

fn config(keys: &[Keypair]) -> GenesisConfig {
    GenesisConfig {
        balances: keys
            .iter()
            .map(|k| GenesisBalance { account: k.account(), rao: Rao::new(10_000_000_000_000) })
            .collect(),
        ..GenesisConfig::empty("bench")
    }
}

fn transfers(keys: &[Keypair], genesis_hash: Hash) -> Vec<SignedTransaction> {
    let dest = Keypair::from_uri("//Sink").unwrap().account();
    let mut txs = Vec::new();
    for nonce in 0..per_account() {
        for key in keys {
            let call = Call::TransferKeepAlive { dest, amount: Rao::new(1_000_000_000) };
            let transaction = Transaction { genesis_hash, signer: key.account(), nonce, call };
            let signature = Signature(key.sign(&transaction.signing_payload()).unwrap());
            txs.push(SignedTransaction { transaction, signature });
        }
    }
    txs
}

/// Figures of one network: finalized transfers per second, and submission to finality.
struct Figures {
    tps: f64,
    p50_ms: f64,
    p90_ms: f64,
}

fn main() {
    let keys: Vec<Keypair> =
        (0..accounts()).map(|i| Keypair::from_uri(&format!("//bench/{i}")).unwrap()).collect();
    let config = config(&keys);
    let dir = std::env::temp_dir().join(format!("tao-node-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let single = measure(&runtime, &dir, &config, &keys, 1);
    let bft = measure(&runtime, &dir, &config, &keys, 4);
    println!(
        "4 BFT validators vs 1 node: throughput ratio {:.2}, finality ratio p50 {:.2}, p90 {:.2}",
        bft.tps / single.tps,
        bft.p50_ms / single.p50_ms,
        bft.p90_ms / single.p90_ms
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn measure(
    runtime: &tokio::runtime::Runtime,
    dir: &std::path::Path,
    config: &GenesisConfig,
    keys: &[Keypair],
    validators: usize,
) -> Figures {
    let label =
        if validators == 1 { "1 node".to_owned() } else { format!("{validators} BFT validators") };
    // The network's genesis names its validators (they are part of its hash).
    let (_nodes, addrs, config) = start_network(dir, config, validators, BLOCK_MS);
    let config = &config;
    let clients: Vec<HttpClient> = addrs
        .iter()
        .map(|addr| {
            let _guard = runtime.enter();
            HttpClientBuilder::default()
                .max_request_size(64 * 1024 * 1024)
                .max_response_size(64 * 1024 * 1024)
                .build(format!("http://{addr}"))
                .unwrap()
        })
        .collect();
    let client = &clients[0];
    let call = |method: &str| -> Option<Value> {
        runtime.block_on(client.request(method, rpc_params![])).ok()
    };
    let started = Instant::now();
    while call("tao_health").is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "node did not start (logs in {})",
            dir.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let genesis_hex = call("tao_genesisHash").unwrap();
    let bytes = tao_primitives::hex::decode(genesis_hex.as_str().unwrap()).unwrap();
    let genesis_hash = Hash(bytes.try_into().unwrap());
    let txs = transfers(keys, genesis_hash);
    let hexes: Vec<String> =
        txs.iter().map(|tx| tao_primitives::hex::encode(&tx.encode())).collect();

    // Peer: the runtime alone, in-process, one block of all of them.
    let mut state = genesis(config).unwrap();
    assert_eq!(state.genesis_hash(), genesis_hash, "the bench built the node's genesis");
    let t = Instant::now();
    let outcome = execute_block(
        &mut state,
        &BlockContext { number: BlockNumber::new(1), parent_hash: genesis_hash, credit: None },
        &txs,
    )
    .unwrap();
    let runtime_secs = t.elapsed().as_secs_f64();
    assert!(outcome.receipts.iter().all(|r| matches!(r.outcome, tao_types::Outcome::Success)));

    // The network: submit in batches (to each validator in turn), then wait for the last
    // receipt of every account.
    let t = Instant::now();
    for (i, chunk) in hexes.chunks(100).enumerate() {
        let mut batch = BatchRequestBuilder::new();
        for hex in chunk {
            batch.insert("tao_submitTransaction", rpc_params![hex]).unwrap();
        }
        let target = &clients[i % clients.len()];
        let responses = runtime.block_on(target.batch_request::<Value>(batch)).unwrap();
        assert_eq!(responses.num_failed_calls(), 0, "every transaction admitted");
    }
    let submit_secs = t.elapsed().as_secs_f64();
    let last: Vec<String> =
        txs.iter().rev().take(accounts()).map(|tx| tx.hash().to_string()).collect();
    for hash in &last {
        loop {
            let status: Value = runtime
                .block_on(client.request("tao_transactionStatus", rpc_params![hash]))
                .unwrap();
            if status["status"] == "finalized" {
                assert_eq!(status["receipt"]["outcome"], "success");
                break;
            }
            assert!(t.elapsed() < Duration::from_secs(300), "not finalized");
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    let node_secs = t.elapsed().as_secs_f64();
    let n = txs.len() as f64;
    println!(
        "{label}: finalized transfers {:.0} tx/s ({} in {:.2} s; submission alone {:.2} s) vs runtime alone {:.0} tx/s; ratio {:.2}",
        n / node_secs,
        txs.len(),
        node_secs,
        submit_secs,
        n / runtime_secs,
        runtime_secs / node_secs
    );

    // Latency: one transfer at a time on an idle network.
    let mut samples = Vec::new();
    let extra = Keypair::from_uri("//bench/0").unwrap();
    for i in 0..common::scaled(30u64, 3) {
        let nonce = per_account() + i;
        let call = Call::TransferKeepAlive { dest: keys[1].account(), amount: Rao::new(1) };
        let transaction = Transaction { genesis_hash, signer: extra.account(), nonce, call };
        let signature = Signature(extra.sign(&transaction.signing_payload()).unwrap());
        let tx = SignedTransaction { transaction, signature };
        let hex = tao_primitives::hex::encode(&tx.encode());
        let hash = tx.hash().to_string();
        // Submit at a spread of phases within the block interval, not just after a block.
        std::thread::sleep(Duration::from_millis((i * 37) % BLOCK_MS));
        let t = Instant::now();
        let _: Value =
            runtime.block_on(client.request("tao_submitTransaction", rpc_params![hex])).unwrap();
        loop {
            let status: Value = runtime
                .block_on(client.request("tao_transactionStatus", rpc_params![&hash]))
                .unwrap();
            if status["status"] == "finalized" {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        samples.push(t.elapsed());
    }
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let (p50_ms, p90_ms) = (ms(samples[samples.len() / 2]), ms(samples[samples.len() * 9 / 10]));
    println!(
        "{label}: submission to finality p50 {p50_ms:.1} ms, p90 {p90_ms:.1} ms with {BLOCK_MS} ms blocks (p50 / block time {:.2}; ideal ≈ 0.5)",
        p50_ms / BLOCK_MS as f64
    );
    Figures { tps: n / node_secs, p50_ms, p90_ms }
}
