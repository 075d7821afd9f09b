//! Full sync over the p2p network, in blocks per second, against re-executing the same
//! blocks in-process (issue 14).
//!
//! A proof-of-stake chain with one genesis validator (a `tao-node` process on 127.0.0.1,
//! 10 ms blocks, 360-block epochs) grows to N finalized blocks. Early on, a full node's key
//! is registered on chain as a candidate with no bond (`RegisterValidator` with the key's
//! proof, submitted over RPC from a funded controller, as `tao localnet up --full-nodes`
//! does), so the validator admits it as a p2p peer; it is never elected. Once the chain
//! holds N blocks the validator is restarted on its store with a block time of an hour: the
//! chain stands still at its head H ≥ N and the validator only serves. Then, in one run:
//!
//! 1. **p2p full sync**: an empty `tao-node --node-key … --bootnodes <validator>` (the key
//!    registered above, its p2p address the one registered) starts; the clock runs from
//!    its spawn until its head (`tao_syncState`, polled every 10 ms) reaches H. It fetches
//!    finalization certificates and the blocks behind them from the validator, verifies,
//!    re-executes and commits each one durably. Its block H must be the validator's.
//! 2. **in-process re-execution** (the peer): the same H blocks, read from the validator
//!    over RPC beforehand (not timed), each checked and re-executed on its parent's state
//!    with the node's `check_block` and committed durably with `Chain::commit` into a new
//!    store, one after another: the work a syncing node cannot avoid, without the network,
//!    certificates or the process's start-up. The last state root must be block H's.
//!
//! Printed: H, both times and rates, their ratio, when the full node's RPC answered and its
//! head at each poll that saw it move, the SCALE bytes of the H blocks and the bytes the full
//! node's p2p connections received and sent (commonware's `inbound_bandwidth` and
//! `outbound_bandwidth` on its `/metrics`, when present).
//!
//! Run: `cargo bench -p tao-node --bench sync` (N = 3,000, about 1.5 minutes: the chain
//! grows at ~35 blocks/s, each block committed durably; `TAO_BENCH_BLOCKS=N` for another N).
//! CI runs it once unoptimized with `TAO_BENCH_QUICK=1` (N = 60).

mod common;

use jsonrpsee::{
    core::client::ClientT,
    http_client::{HttpClient, HttpClientBuilder},
    rpc_params,
};
use serde_json::Value;
use std::{
    net::{SocketAddr, TcpListener},
    path::Path,
    process::Command,
    time::{Duration, Instant},
};
use tao_node::chain::{check_block, Chain};
use tao_primitives::Rao;
use tao_types::{
    consensus::ConsensusSecret, Block, Call, ConsensusKey, GenesisBalance, GenesisConfig,
    GenesisConsensus, GenesisValidator, Hash, Signature, SignedTransaction, Transaction,
};
use tao_wallet::Keypair;

/// Blocks every 10 ms while the chain grows.
const BUILD_BLOCK_MS: u64 = 10;
/// An hour: once restarted with it, the validator builds no block while the bench runs.
const STILL_BLOCK_MS: u64 = 3_600_000;
const EPOCH: u64 = 360;

/// A JSON-RPC client of one node, blocking.
struct Rpc {
    runtime: tokio::runtime::Runtime,
    client: HttpClient,
}

impl Rpc {
    fn new(addr: SocketAddr) -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let client = {
            let _guard = runtime.enter();
            HttpClientBuilder::default()
                .request_timeout(Duration::from_secs(30))
                .build(format!("http://{addr}"))
                .unwrap()
        };
        Self { runtime, client }
    }

    fn call(&self, method: &str, params: jsonrpsee::core::params::ArrayParams) -> Value {
        self.runtime
            .block_on(self.client.request(method, params))
            .unwrap_or_else(|e| panic!("{method}: {e}"))
    }

    fn head(&self) -> u64 {
        self.call("tao_chainHead", rpc_params![])["number"].as_u64().unwrap()
    }

    fn block_hash(&self, number: u64) -> String {
        self.call("tao_getBlock", rpc_params![number])["header"]["hash"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    fn raw_block(&self, number: u64) -> Block {
        let hex = self.call("tao_getBlockRaw", rpc_params![number]);
        let bytes = tao_primitives::hex::decode(hex.as_str().unwrap()).unwrap();
        <Block as codec::Decode>::decode(&mut &bytes[..]).unwrap()
    }
}

/// Polls `done` every 10 ms until it holds; panics with `what` (and `log`) after `limit`.
fn wait_until(
    limit: Duration,
    what: &str,
    log: impl Fn() -> String,
    mut done: impl FnMut() -> bool,
) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < limit, "{what} within {limit:?}; log:\n{}", log());
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A node key in `path` (`tao-node --generate-node-key`, as docs/consensus.md has a full node
/// make its key); its secret.
fn node_key(path: &Path) -> ConsensusSecret {
    let out = Command::new(env!("CARGO_BIN_EXE_tao-node"))
        .arg("--generate-node-key")
        .arg(path)
        .output()
        .unwrap();
    assert!(out.status.success(), "--generate-node-key: {}", String::from_utf8_lossy(&out.stderr));
    ConsensusSecret::parse(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The sum of the counters named `…<suffix>_total` in a Prometheus text (commonware's
/// `inbound_bandwidth`, `outbound_bandwidth`: bytes a node's p2p connections received, sent),
/// if it reports any.
fn counter(metrics: &str, suffix: &str) -> Option<u64> {
    let name = format!("{suffix}_total");
    let counters: Vec<u64> = metrics
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (key, value) = line.rsplit_once(' ')?;
            let key = key.split('{').next()?;
            key.ends_with(&name)
                .then(|| value.trim().parse::<f64>().ok())
                .flatten()
                .map(|v| v as u64)
        })
        .collect();
    (!counters.is_empty()).then(|| counters.iter().sum())
}

/// `GET /metrics` of a node (plain HTTP/1.0 over a socket: nothing else needed).
fn scrape(addr: SocketAddr) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    stream.write_all(b"GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    text
}

fn main() {
    let blocks: u64 = std::env::var("TAO_BENCH_BLOCKS")
        .ok()
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| common::scaled(3_000, 60));
    let dir = std::env::temp_dir().join(format!("tao-bench-sync-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();

    // The chain: one validator bonding 10,000 TAO; the full node's controller funded for
    // its registration's fee.
    let keys = common::validator_keys(&dir, 1);
    let full_key = node_key(&dir.join("full.key"));
    let full_controller = Keypair::from_uri("//BenchFullNode").unwrap();
    let tao = |n: u64| Rao::from_whole(n).unwrap();
    let validator_controller = Keypair::from_uri("//BenchValidator0").unwrap().account();
    let mut config = GenesisConfig::empty("bench-sync");
    config.balances = vec![
        GenesisBalance { account: validator_controller, rao: tao(1_000) },
        GenesisBalance { account: full_controller.account(), rao: tao(100) },
    ];
    let consensus_key: [u8; 32] =
        tao_primitives::hex::decode(&keys[0]).unwrap().try_into().unwrap();
    config.validators = vec![GenesisValidator {
        controller: validator_controller,
        consensus_key: ConsensusKey(consensus_key),
        // Never dialed: the full node is told the validator's address with --bootnodes.
        p2p_address: "127.0.0.1:9".into(),
        bond: tao(10_000),
        commission: 1_000,
    }];
    config.consensus =
        Some(GenesisConsensus { epoch_length: Some(EPOCH), ..GenesisConsensus::default() });
    let (mut nodes, rpcs, config) = common::start_network(&dir, &config, 1, BUILD_BLOCK_MS);
    let genesis_file = dir.join("genesis-sync.json");
    std::fs::write(&genesis_file, serde_json::to_vec(&config).unwrap()).unwrap();
    let validator = Rpc::new(rpcs[0]);

    // The full node's p2p port: held by this listener until the node starts, so the address
    // registered on chain is the one it will listen on.
    let full_port = TcpListener::bind("127.0.0.1:0").unwrap();
    let full_p2p = full_port.local_addr().unwrap();
    let genesis_hex = validator.call("tao_genesisHash", rpc_params![]);
    let genesis_hash = Hash(
        tao_primitives::hex::decode(genesis_hex.as_str().unwrap()).unwrap().try_into().unwrap(),
    );
    let transaction = Transaction {
        genesis_hash,
        signer: full_controller.account(),
        nonce: 0,
        call: Call::RegisterValidator {
            consensus_key: full_key.public(),
            p2p_address: full_p2p.to_string(),
            commission: 0,
            proof: full_key.key_proof(&genesis_hash, &full_controller.account()),
        },
    };
    let signature = Signature(full_controller.sign(&transaction.signing_payload()).unwrap());
    let hex = tao_primitives::hex::encode(&codec::Encode::encode(&SignedTransaction {
        transaction,
        signature,
    }));
    let receipt = validator.call("tao_submitAndWait", rpc_params![hex, 60_000u64]);
    assert_eq!(receipt["outcome"], "success", "the full node's registration: {receipt}");

    // N blocks, then the validator restarted on its store with a chain that stands still.
    wait_until(
        Duration::from_secs(600),
        &format!("the chain reaches block {blocks}"),
        String::new,
        || validator.head() >= blocks,
    );
    drop(validator);
    nodes.clear();
    let validator_args: Vec<String> = vec![
        "--genesis".into(),
        genesis_file.display().to_string(),
        "--validator-key".into(),
        dir.join("v0.key").display().to_string(),
        "--p2p-addr".into(),
        "127.0.0.1:0".into(),
    ];
    let (guard, listening) = common::spawn_node(&dir, "v0", &validator_args, STILL_BLOCK_MS);
    nodes.push(guard);
    let validator = Rpc::new(listening.rpc);
    let height = validator.head();
    assert!(height >= blocks, "the restarted validator holds {height} blocks, not {blocks}");
    let validator_p2p = listening.p2p.expect("a validator logs its p2p address");

    // The blocks, for the in-process peer, and their bytes (read before the clock starts).
    let chain_blocks: Vec<Block> = (1..=height).map(|n| validator.raw_block(n)).collect();
    let block_bytes: usize = chain_blocks.iter().map(codec::Encode::encoded_size).sum();

    // 1. p2p full sync.
    let full_args: Vec<String> = vec![
        "--genesis".into(),
        genesis_file.display().to_string(),
        "--node-key".into(),
        dir.join("full.key").display().to_string(),
        "--p2p-addr".into(),
        full_p2p.to_string(),
        "--bootnodes".into(),
        format!("{}@{validator_p2p}", keys[0]),
        "--metrics-addr".into(),
        "127.0.0.1:0".into(),
    ];
    drop(full_port);
    let started = Instant::now();
    let (full_guard, full) = common::spawn_node(&dir, "full", &full_args, STILL_BLOCK_MS);
    let full_rpc = Rpc::new(full.rpc);
    let limit = Duration::from_secs(common::scaled(900, 300));
    // When its RPC answered, and each head it had then on (it commits the blocks behind a
    // certificate together, so the head jumps).
    let rpc_up = started.elapsed();
    let mut progress: Vec<(Duration, u64)> = Vec::new();
    wait_until(
        limit,
        &format!("the full node syncs {height} blocks"),
        || full.log.text(),
        || {
            let head = full_rpc.call("tao_syncState", rpc_params![])["head"].as_u64().unwrap();
            if progress.last().is_none_or(|&(_, last)| last != head) {
                progress.push((started.elapsed(), head));
            }
            head >= height
        },
    );
    let p2p_time = started.elapsed();
    assert_eq!(
        full_rpc.block_hash(height),
        validator.block_hash(height),
        "the full node's block {height} is the validator's"
    );
    let metrics = full.metrics.map(scrape).unwrap_or_default();
    let received = counter(&metrics, "inbound_bandwidth");
    let sent = counter(&metrics, "outbound_bandwidth");
    drop(full_guard);
    drop(nodes);

    // 2. In-process: the same blocks checked, re-executed and committed durably.
    let store = dir.join("in-process");
    let mut chain = Chain::open(&store, &config).unwrap();
    assert_eq!(chain.state.genesis_hash(), genesis_hash, "the bench opened the node's chain");
    let started = Instant::now();
    for block in &chain_blocks {
        let (state, outcome) =
            check_block(&chain.head, &chain.state, block, block.header.timestamp_ms).unwrap();
        chain.commit(block, state, &outcome).unwrap();
    }
    let local_time = started.elapsed();
    let last = &chain_blocks.last().unwrap().header;
    assert_eq!(chain.state.state_root(), last.state_root, "block {height}'s state root");
    drop(chain);
    let _ = std::fs::remove_dir_all(&dir);

    let rate = |d: Duration| height as f64 / d.as_secs_f64();
    println!(
        "full sync of a proof-of-stake chain (1 validator process, {EPOCH}-block epochs), 127.0.0.1{}",
        if common::quick() { " (quick mode: figures of no weight)" } else { "" }
    );
    println!("| blocks | p2p full sync | blocks/s | in-process re-execution | blocks/s | p2p / in-process time |");
    println!("|---:|---:|---:|---:|---:|---:|");
    println!(
        "| {height} | {:.2} s | {:.0} | {:.2} s | {:.0} | {:.1} |",
        p2p_time.as_secs_f64(),
        rate(p2p_time),
        local_time.as_secs_f64(),
        rate(local_time),
        p2p_time.as_secs_f64() / local_time.as_secs_f64(),
    );
    let trace: Vec<String> = progress
        .iter()
        .take(24)
        .map(|(t, head)| format!("{:.2} s: {head}", t.as_secs_f64()))
        .collect();
    println!(
        "p2p: the full node's RPC answered {:.2} s after its spawn; its head then: {}",
        rpc_up.as_secs_f64(),
        trace.join(", ")
    );
    // Without the fixed costs (start-up, connection, the first certificate and its blocks).
    if let Some(&(at, first)) = progress.iter().find(|(_, head)| *head > 0) {
        if first < height {
            println!(
                "p2p: from its first commit (block {first}) on: {:.0} blocks/s",
                (height - first) as f64 / (p2p_time - at).as_secs_f64()
            );
        }
    }
    match (received, sent) {
        (Some(received), Some(sent)) => println!(
            "bytes: the blocks (SCALE) {block_bytes}; the full node's p2p connections received \
             {received} ({:.2}x the blocks) and sent {sent}",
            received as f64 / block_bytes.max(1) as f64
        ),
        _ => println!("bytes: the blocks (SCALE) {block_bytes}; p2p bytes not on /metrics"),
    }
}
