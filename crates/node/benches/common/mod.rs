//! What the node benches share: `tao-node` processes on 127.0.0.1 (one block producer, or a
//! BFT network of validators) on a genesis of the bench's, killed when dropped.

use std::process::{Child, Command};
use tao_types::GenesisConfig;

/// Whether to run in the quick mode CI uses (`TAO_BENCH_QUICK` set): the same steps on
/// fewer transactions, so the bench cannot rot; its figures mean little.
pub fn quick() -> bool {
    std::env::var_os("TAO_BENCH_QUICK").is_some()
}

/// `full`, or `small` in the quick mode.
pub fn scaled<T>(full: T, small: T) -> T {
    if quick() {
        small
    } else {
        full
    }
}

/// A node process, killed on drop.
pub struct Guard(Child);
impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `tao-node ARGS --base-path DIR/NAME --block-time-ms MS --rpc-addr 127.0.0.1:0`
/// (every port bound as 0 and read back from its log); the process and where it listens.
/// The same `name` again reopens the same store (a restart).
pub fn spawn_node(
    dir: &std::path::Path,
    name: &str,
    args: &[String],
    block_ms: u64,
) -> (Guard, tao_testkit::Listening) {
    let base = dir.join(name).display().to_string();
    let block = block_ms.to_string();
    let mut all: Vec<&str> = args.iter().map(String::as_str).collect();
    all.extend(["--base-path", &base, "--block-time-ms", &block, "--rpc-addr", "127.0.0.1:0"]);
    let (child, listening) = tao_testkit::spawn_node(&all);
    (Guard(child), listening)
}

/// Consensus keys for `n` validators in `dir` (`v<i>.key`); their public keys (0x-hex).
pub fn validator_keys(dir: &std::path::Path, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let out = Command::new(env!("CARGO_BIN_EXE_tao-node"))
                .arg("--generate-validator-key")
                .arg(dir.join(format!("v{i}.key")))
                .output()
                .unwrap();
            String::from_utf8(out.stdout).unwrap().trim().to_owned()
        })
        .collect()
}

/// Starts `validators` nodes with blocks every `block_ms` (1 without proof-of-stake
/// validators in `config`: a single block producer) on `config`; their RPC addresses and the
/// genesis they run (with its authorities, unless `config` names proof-of-stake validators,
/// whose keys must be `dir/v<i>.key`: then even one is a BFT validator, named `v0`).
/// Validators start one after another, each told the p2p addresses of those before it.
pub fn start_network(
    dir: &std::path::Path,
    config: &GenesisConfig,
    validators: usize,
    block_ms: u64,
) -> (Vec<Guard>, Vec<std::net::SocketAddr>, GenesisConfig) {
    let mut config = config.clone();
    if validators == 1 && config.validators.is_empty() {
        let genesis_file = dir.join("genesis.json");
        std::fs::write(&genesis_file, serde_json::to_vec(&config).unwrap()).unwrap();
        let args = vec!["--genesis".into(), genesis_file.display().to_string()];
        let (guard, listening) = spawn_node(dir, "single", &args, block_ms);
        return (vec![guard], vec![listening.rpc], config);
    }
    let publics = if config.validators.is_empty() {
        let publics = validator_keys(dir, validators);
        config.authorities = publics.clone();
        publics
    } else {
        config.validators.iter().map(|v| tao_primitives::hex::encode(&v.consensus_key.0)).collect()
    };
    let genesis_file = dir.join("genesis-bft.json");
    std::fs::write(&genesis_file, serde_json::to_vec(&config).unwrap()).unwrap();
    let mut p2p: Vec<Option<std::net::SocketAddr>> = vec![None; validators];
    let mut guards = Vec::new();
    let mut rpcs = Vec::new();
    for i in 0..validators {
        let peers: Vec<String> = (0..validators)
            .filter(|&j| j != i)
            .map(|j| match p2p[j] {
                Some(addr) => format!("{}@{addr}", publics[j]),
                None => format!("{}@127.0.0.1:0", publics[j]),
            })
            .collect();
        let mut args = vec![
            "--genesis".into(),
            genesis_file.display().to_string(),
            "--validator-key".into(),
            dir.join(format!("v{i}.key")).display().to_string(),
            "--p2p-addr".into(),
            "127.0.0.1:0".into(),
        ];
        if !peers.is_empty() {
            args.extend(["--peers".into(), peers.join(",")]);
        }
        let (guard, listening) = spawn_node(dir, &format!("v{i}"), &args, block_ms);
        p2p[i] = listening.p2p;
        guards.push(guard);
        rpcs.push(listening.rpc);
    }
    wait_for_blocks(&rpcs, 2);
    (guards, rpcs, config)
}

/// Waits (at most 60 s) until every node has finalized block `n`: the validators have
/// met and agree, so what a bench measures next is not their start-up.
fn wait_for_blocks(rpcs: &[std::net::SocketAddr], n: u64) {
    use jsonrpsee::{core::client::ClientT, http_client::HttpClientBuilder, rpc_params};
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let started = std::time::Instant::now();
    for rpc in rpcs {
        let client = HttpClientBuilder::default().build(format!("http://{rpc}")).unwrap();
        loop {
            let head: Result<serde_json::Value, _> =
                runtime.block_on(client.request("tao_chainHead", rpc_params![]));
            if head.ok().and_then(|h| h["number"].as_u64()).is_some_and(|h| h >= n) {
                break;
            }
            assert!(started.elapsed().as_secs() < 60, "the validators made no block {n} in 60 s");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
}
