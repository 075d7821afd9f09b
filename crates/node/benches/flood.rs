//! The load test of the node's admission rules: honest clients' submission-to-finality
//! latency on a BFT network of 4 `tao-node` validator processes (127.0.0.1, simplex,
//! authenticated p2p), without and then with an attacker flooding every validator.
//!
//! * Honest: 8 funded accounts, each sending 20 transfers one after another, each waiting
//!   until it is final (`tao_submitAndWait`), to the validators in turn.
//! * Attacker (the attacks the admission rules close): in JSON-RPC batches, as fast as the
//!   validators answer, round-robin over them: ~64 KB free calls (weights) from fresh
//!   keys at nonces 0..16, transfers at nonce 1 from fresh keys that cannot pay, and
//!   transfers with garbage signatures from a funded key.
//! * The peer: the same network and clients without the flood, measured first in the same
//!   run. Reported side by side: p50 and p99, and the ratio flood / quiet.
//!
//! Run: `cargo bench -p tao-node --bench flood` (CI runs it once unoptimized with
//! `TAO_BENCH_QUICK=1`).

mod common;

use codec::Encode;
use common::start_network;
use jsonrpsee::{
    core::{client::ClientT, params::BatchRequestBuilder},
    http_client::{HttpClient, HttpClientBuilder},
    rpc_params,
};
use serde_json::Value;
use std::{
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};
use tao_primitives::{NetUid, Rao};
use tao_types::{
    Call, GenesisBalance, GenesisConfig, Hash, Signature, SignedTransaction, Transaction,
};
use tao_wallet::Keypair;

const VALIDATORS: usize = 4;
/// Honest clients (8; 2 in the quick mode CI uses, `TAO_BENCH_QUICK`).
fn honest() -> usize {
    common::scaled(8, 2)
}

/// Transfers per honest client and round (20; 3 in the quick mode).
fn per_client() -> u64 {
    common::scaled(20, 3)
}
const BLOCK_MS: u64 = 200;

fn signed(key: &Keypair, genesis_hash: Hash, nonce: u64, call: Call) -> SignedTransaction {
    let transaction = Transaction { genesis_hash, signer: key.account(), nonce, call };
    let signature = Signature(key.sign(&transaction.signing_payload()).unwrap());
    SignedTransaction { transaction, signature }
}

fn hex(tx: &SignedTransaction) -> String {
    tao_primitives::hex::encode(&tx.encode())
}

/// The honest client `i`'s key (funded in genesis).
fn honest_key(i: usize) -> Keypair {
    Keypair::from_uri(&format!("//honest/{i}")).unwrap()
}

/// Sorted submission-to-finality latencies of every honest transfer, in ms.
async fn honest_round(clients: &[HttpClient], genesis_hash: Hash, first_nonce: u64) -> Vec<f64> {
    let dest = Keypair::from_uri("//Sink").unwrap().account();
    let tasks: Vec<_> = (0..honest())
        .map(|i| {
            let key = honest_key(i);
            let client = clients[i % clients.len()].clone();
            tokio::spawn(async move {
                let mut samples = Vec::new();
                for k in 0..per_client() {
                    let call = Call::TransferKeepAlive { dest, amount: Rao::new(1_000) };
                    let tx = signed(&key, genesis_hash, first_nonce + k, call);
                    let t = Instant::now();
                    let receipt: Value = client
                        .request("tao_submitAndWait", rpc_params![hex(&tx), 60_000u64])
                        .await
                        .expect("an honest transfer is admitted and final");
                    assert_eq!(receipt["outcome"], "success");
                    samples.push(t.elapsed().as_secs_f64() * 1e3);
                }
                samples
            })
        })
        .collect();
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    all.sort_by(f64::total_cmp);
    all
}

fn percentile(sorted: &[f64], p: usize) -> f64 {
    sorted[(sorted.len() * p / 100).min(sorted.len() - 1)]
}

/// What the attacker sent and how it was answered.
#[derive(Default)]
struct Flood {
    sent: AtomicU64,
    refused: AtomicU64,
    bytes: AtomicU64,
}

/// Floods `clients` until `stop`; one task per validator.
fn flood(
    clients: &[HttpClient],
    genesis_hash: Hash,
    stop: Arc<AtomicBool>,
    stats: Arc<Flood>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let funded = honest_key(0);
    let sink = Keypair::from_uri("//Sink").unwrap().account();
    let big = Call::SetWeights {
        netuid: NetUid::new(1),
        uids: (0..15_900).collect(),
        values: vec![1; 15_900],
        version_key: 0,
    };
    // Signed once up front, so the attacker floods at full speed.
    let mut batches: Vec<Vec<String>> = Vec::new();
    let per_batch = common::scaled(100, 20);
    for b in 0..common::scaled(12u64, 2) {
        let fresh = Keypair::from_uri(&format!("//flood/{b}")).unwrap();
        batches.push((0..16).map(|n| hex(&signed(&fresh, genesis_hash, n, big.clone()))).collect());
        let unpaid: Vec<String> = (0..per_batch)
            .map(|i| {
                let key = Keypair::from_uri(&format!("//flood/{b}/{i}")).unwrap();
                let call = Call::Transfer { dest: sink, amount: Rao::new(1) };
                hex(&signed(&key, genesis_hash, 1, call))
            })
            .collect();
        batches.push(unpaid);
        let garbage: Vec<String> = (0..per_batch)
            .map(|i| {
                let call = Call::Transfer { dest: sink, amount: Rao::new(1) };
                let mut tx = signed(&funded, genesis_hash, 1_000 + b * 100 + i, call);
                tx.signature.0[0] ^= 0xff;
                hex(&tx)
            })
            .collect();
        batches.push(garbage);
    }
    let batches = Arc::new(batches);
    clients
        .iter()
        .cloned()
        .enumerate()
        .map(|(v, client)| {
            let (stop, stats, batches) = (stop.clone(), stats.clone(), batches.clone());
            tokio::spawn(async move {
                let mut round = v;
                while !stop.load(Ordering::Relaxed) {
                    let batch_txs = &batches[round % batches.len()];
                    round += 1;
                    let mut batch = BatchRequestBuilder::new();
                    for tx in batch_txs {
                        batch.insert("tao_submitTransaction", rpc_params![tx]).unwrap();
                        stats.bytes.fetch_add(tx.len() as u64 / 2, Ordering::Relaxed);
                    }
                    stats.sent.fetch_add(batch_txs.len() as u64, Ordering::Relaxed);
                    match client.batch_request::<Value>(batch).await {
                        Ok(responses) => {
                            stats
                                .refused
                                .fetch_add(responses.num_failed_calls() as u64, Ordering::Relaxed);
                        }
                        // Refused whole (a limit of the server's): all of it refused.
                        Err(_) => {
                            stats.refused.fetch_add(batch_txs.len() as u64, Ordering::Relaxed);
                        }
                    }
                }
            })
        })
        .collect()
}

fn main() {
    let keys: Vec<Keypair> = (0..honest()).map(honest_key).collect();
    let mut config = tao_node::dev_genesis().unwrap();
    config.chain_name = "flood-bench".into();
    config.balances.extend(
        keys.iter()
            .map(|k| GenesisBalance { account: k.account(), rao: Rao::new(1_000_000_000_000_000) }),
    );
    let config: GenesisConfig = config;
    let dir = std::env::temp_dir().join(format!("tao-node-flood-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (_nodes, addrs, _) = start_network(&dir, &config, VALIDATORS, BLOCK_MS);
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let logs = dir.clone();
    runtime.block_on(async move {
        let dir = logs;
        let client = |addr: &std::net::SocketAddr| {
            HttpClientBuilder::default()
                .max_request_size(16 * 1024 * 1024)
                .request_timeout(Duration::from_secs(120))
                .build(format!("http://{addr}"))
                .unwrap()
        };
        let clients: Vec<HttpClient> = addrs.iter().map(client).collect();
        let started = Instant::now();
        let genesis_hash = loop {
            if let Ok(text) = clients[0].request::<String, _>("tao_genesisHash", rpc_params![]).await {
                let bytes = tao_primitives::hex::decode(&text).unwrap();
                break Hash(bytes.try_into().unwrap());
            }
            assert!(started.elapsed() < Duration::from_secs(60), "network did not start: {}", dir.display());
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        // Wait for the first finalized block (the validators found each other).
        loop {
            let health: Value = clients[0].request("tao_health", rpc_params![]).await.unwrap();
            if health["block"].as_u64().unwrap_or(0) > 0 {
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(60), "no block: {}", dir.display());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }

        let quiet = honest_round(&clients, genesis_hash, 0).await;
        let stop = Arc::new(AtomicBool::new(false));
        let stats = Arc::new(Flood::default());
        let flooders = flood(&clients, genesis_hash, stop.clone(), stats.clone());
        let t = Instant::now();
        let flooded = honest_round(&clients, genesis_hash, per_client()).await;
        let secs = t.elapsed().as_secs_f64();
        stop.store(true, Ordering::Relaxed);
        for f in flooders {
            let _ = f.await;
        }
        // On a client of its own: the server may have closed a connection the flood's
        // client still pools (its limits refuse and drop oversized requests), and the next
        // request on it fails with `IncompleteMessage` (seen in CI).
        let health: Value = client(&addrs[0]).request("tao_health", rpc_params![]).await.unwrap();
        println!(
            "honest submission to finality, {VALIDATORS} BFT validators, {BLOCK_MS} ms blocks, {} transfers per round:",
            quiet.len()
        );
        println!(
            "  quiet (peer: same network, no attacker): p50 {:.0} ms, p99 {:.0} ms",
            percentile(&quiet, 50),
            percentile(&quiet, 99)
        );
        println!(
            "  under flood:                             p50 {:.0} ms, p99 {:.0} ms  (ratio p50 {:.2}, p99 {:.2})",
            percentile(&flooded, 50),
            percentile(&flooded, 99),
            percentile(&flooded, 50) / percentile(&quiet, 50),
            percentile(&flooded, 99) / percentile(&quiet, 99)
        );
        let (sent, refused) = (stats.sent.load(Ordering::Relaxed), stats.refused.load(Ordering::Relaxed));
        println!(
            "  attacker: {sent} transactions ({:.0} MB) in {secs:.1} s ({:.0}/s), {refused} refused, {} admitted; pending after: {}",
            stats.bytes.load(Ordering::Relaxed) as f64 / 1e6,
            sent as f64 / secs,
            sent - refused,
            health["pending"]
        );
    });
    let _ = std::fs::remove_dir_all(&dir);
}
