//! What the node benches share: `tao-node` processes on 127.0.0.1 (one block producer, or a
//! BFT network of validators) on a genesis of the bench's, killed when dropped.

use std::{
    net::TcpListener,
    process::{Child, Command, Stdio},
};
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

/// A free port on 127.0.0.1.
pub fn free_port() -> std::net::SocketAddr {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap()
}

fn spawn_node(dir: &std::path::Path, name: &str, args: &[String], block_ms: u64) -> Guard {
    Guard(
        Command::new(env!("CARGO_BIN_EXE_tao-node"))
            .args(args)
            .arg("--base-path")
            .arg(dir.join(name))
            .args(["--block-time-ms", &block_ms.to_string()])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join(format!("{name}.log"))).unwrap())
            .spawn()
            .unwrap(),
    )
}

/// Starts `validators` nodes with blocks every `block_ms` (1: a single block producer) on
/// `config`; their RPC addresses and the genesis they run (with its authorities).
pub fn start_network(
    dir: &std::path::Path,
    config: &GenesisConfig,
    validators: usize,
    block_ms: u64,
) -> (Vec<Guard>, Vec<std::net::SocketAddr>, GenesisConfig) {
    let mut config = config.clone();
    let rpcs: Vec<_> = (0..validators).map(|_| free_port()).collect();
    if validators == 1 {
        let genesis_file = dir.join("genesis.json");
        std::fs::write(&genesis_file, serde_json::to_vec(&config).unwrap()).unwrap();
        let args = vec![
            "--genesis".into(),
            genesis_file.display().to_string(),
            "--rpc-addr".into(),
            rpcs[0].to_string(),
        ];
        return (vec![spawn_node(dir, "single", &args, block_ms)], rpcs, config);
    }
    let p2ps: Vec<_> = (0..validators).map(|_| free_port()).collect();
    let mut publics = Vec::new();
    for i in 0..validators {
        let out = Command::new(env!("CARGO_BIN_EXE_tao-node"))
            .arg("--generate-validator-key")
            .arg(dir.join(format!("v{i}.key")))
            .output()
            .unwrap();
        publics.push(String::from_utf8(out.stdout).unwrap().trim().to_owned());
    }
    config.authorities = publics.clone();
    let genesis_file = dir.join("genesis-bft.json");
    std::fs::write(&genesis_file, serde_json::to_vec(&config).unwrap()).unwrap();
    let guards = (0..validators)
        .map(|i| {
            let peers: Vec<String> = (0..validators)
                .filter(|&j| j != i)
                .map(|j| format!("{}@{}", publics[j], p2ps[j]))
                .collect();
            let args = vec![
                "--genesis".into(),
                genesis_file.display().to_string(),
                "--rpc-addr".into(),
                rpcs[i].to_string(),
                "--validator-key".into(),
                dir.join(format!("v{i}.key")).display().to_string(),
                "--p2p-addr".into(),
                p2ps[i].to_string(),
                "--peers".into(),
                peers.join(","),
            ];
            spawn_node(dir, &format!("v{i}"), &args, block_ms)
        })
        .collect();
    (guards, rpcs, config)
}
