//! Epoch transitions of a proof-of-stake network against its ordinary block interval.
//!
//! Four `tao-node` validator processes on 127.0.0.1 bond 10,000 TAO each at genesis, with
//! 20-block consensus epochs and a block every 250 ms. At each epoch boundary every node
//! commits the epoch's last block, reads the next set from its state, tracks the new peers
//! and starts the next epoch's simplex engine, whose first leader builds on the boundary
//! block. The transition is the gap between the boundary block's timestamp and the next
//! block's (both the leaders' clocks at building); the peer, measured in the same run, is
//! the median gap between ordinary consecutive blocks of the same chain.
//!
//! Run: `cargo bench -p tao-node --bench epochs` (CI runs it once unoptimized with
//! `TAO_BENCH_QUICK=1`: one boundary instead of four).

mod common;

use jsonrpsee::{core::client::ClientT, http_client::HttpClientBuilder, rpc_params};
use serde_json::Value;
use std::time::{Duration, Instant};
use tao_primitives::Rao;
use tao_types::{ConsensusKey, GenesisBalance, GenesisConfig, GenesisConsensus, GenesisValidator};
use tao_wallet::Keypair;

const VALIDATORS: usize = 4;
const EPOCH: u64 = 20;
const BLOCK_MS: u64 = 250;

fn main() {
    let boundaries = common::scaled(4, 1);
    let dir = std::env::temp_dir().join(format!("tao-bench-epochs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let keys = common::validator_keys(&dir, VALIDATORS);
    let tao = |n: u64| Rao::from_whole(n).unwrap();
    let mut config = GenesisConfig::empty("bench-epochs");
    let mut validators = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        let controller = Keypair::from_uri(&format!("//BenchValidator{i}")).unwrap().account();
        config.balances.push(GenesisBalance { account: controller, rao: tao(1_000) });
        let bytes: [u8; 32] = tao_primitives::hex::decode(key).unwrap().try_into().unwrap();
        validators.push(GenesisValidator {
            controller,
            consensus_key: ConsensusKey(bytes),
            p2p_address: format!("127.0.0.1:{}", 9),
            bond: tao(10_000),
            commission: 1_000,
        });
    }
    config.validators = validators;
    config.consensus =
        Some(GenesisConsensus { epoch_length: Some(EPOCH), ..GenesisConsensus::default() });
    let (nodes, rpcs, _) = common::start_network(&dir, &config, VALIDATORS, BLOCK_MS);
    let target = boundaries * EPOCH + 2;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let client = HttpClientBuilder::default().build(format!("http://{}", rpcs[0])).unwrap();
    let call = |method: &str, params| -> Value {
        runtime.block_on(client.request(method, params)).unwrap()
    };
    let started = Instant::now();
    while call("tao_chainHead", rpc_params![])["number"].as_u64().unwrap() < target {
        assert!(started.elapsed() < Duration::from_secs(300), "no block {target} in 300 s");
        std::thread::sleep(Duration::from_millis(100));
    }
    let stamps: Vec<u64> = (1..=target)
        .map(|n| call("tao_getBlock", rpc_params![n])["header"]["timestamp_ms"].as_u64().unwrap())
        .collect();
    drop(nodes);
    let _ = std::fs::remove_dir_all(&dir);
    // Block n (1-based) is stamps[n - 1]; the first block of epoch e is e·E + 1.
    let gap = |n: u64| stamps[n as usize - 1].saturating_sub(stamps[n as usize - 2]);
    let firsts: Vec<u64> = (1..=boundaries).map(|e| e * EPOCH + 1).collect();
    let mut ordinary: Vec<u64> = (2..=target).filter(|n| !firsts.contains(n)).map(gap).collect();
    ordinary.sort_unstable();
    let median = ordinary[ordinary.len() / 2];
    let transitions: Vec<u64> = firsts.iter().map(|&n| gap(n)).collect();
    let mean = transitions.iter().sum::<u64>() as f64 / transitions.len() as f64;
    println!(
        "epoch transitions, 4 validator processes, {EPOCH}-block epochs, {BLOCK_MS} ms blocks{}",
        if common::quick() { " (quick mode: figures of no weight)" } else { "" }
    );
    println!("  ordinary block interval (median of {}): {median} ms", ordinary.len());
    println!("  boundary -> first block of the next epoch: {transitions:?} ms (mean {mean:.0})");
    println!("  ratio transition / ordinary interval: {:.2}", mean / median.max(1) as f64);
}
