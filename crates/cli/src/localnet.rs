//! `tao localnet`: a whole network on this machine, in one directory.
//!
//! `up` starts a chain (`tao-node`, 250 ms blocks; with `--validators N`, N BFT validators
//! on 127.0.0.1 with keys in `validators/`), creates and funds wallets, creates and
//! starts a subnet, registers and stakes validators, registers miners, and runs the
//! text-prediction subnet (`textpred`: one miner per model, validators scoring them), then
//! prints a table every epoch. Every step checks the chain first, so `up` on a directory
//! that ran before resumes it (the chain restarts from its store) and only starts the
//! processes that are not running. `down` stops them all (SIGTERM, then SIGKILL after
//! 10 s); `status` reports, as a table or `--json`.
//!
//! The directory: `localnet.json` (processes, wallets, the subnet), `genesis.json`,
//! `node/` (the chain's store; `node1/`… for more validators), `wallets/`, `logs/`, `reports/` (each validator's scores).

use crate::exit::Failure;
use clap::{Args, Subcommand};
use serde_json::{json, Value};
use std::{
    collections::BTreeMap,
    net::SocketAddr,
    os::unix::process::CommandExt,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};
use tao_primitives::{NetUid, Rao};
use tao_sdk::chain::{
    api::{self, method},
    ChainClient, ChainError,
};
use tao_types::{Call, GlobalParameter, Hyperparameter};
use tao_wallet::{Keypair, Overwrite, Wallet};

const TAO: u64 = 1_000_000_000;

/// `tao localnet …`
#[derive(Debug, Subcommand)]
pub enum LocalnetCommand {
    /// Start (or resume) the local network and show it at work; Ctrl-C stops it.
    Up(UpArgs),
    /// Stop every process of the local network (its state stays; `--clean` removes it).
    Down(DownArgs),
    /// Where the local network stands: processes, miners, validators.
    Status(DirArg),
}

/// The local network's directory.
#[derive(Debug, Args)]
pub struct DirArg {
    /// Where everything lives (default ~/.tao/localnet).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// `tao localnet up`
#[derive(Debug, Args)]
pub struct UpArgs {
    #[command(flatten)]
    dir: DirArg,
    /// Chain validators: 1 runs a single block producer; 2 or more a BFT network (simplex
    /// consensus; 4 tolerate one faulty validator) with proof of stake: validator i bonds
    /// 10,000 TAO at genesis from its controller wallet `chain-validator-<i>`, serves
    /// JSON-RPC on --rpc-port + i and talks to its peers on --p2p-port + i.
    #[arg(long, default_value_t = 1)]
    validators: usize,
    /// The miners' models, one miner each (unigram, bigram, trigram, N-gram, mlp).
    #[arg(long, value_delimiter = ',', default_value = "unigram,trigram,mlp,6-gram")]
    miners: Vec<String>,
    /// Subnet validators (each with its own wallet and stake).
    #[arg(long, default_value_t = 2)]
    subnet_validators: usize,
    /// Blocks per epoch.
    #[arg(long, default_value_t = 20)]
    tempo: u16,
    /// Milliseconds between blocks.
    #[arg(long, default_value_t = 250)]
    block_time_ms: u64,
    /// The node's JSON-RPC port on 127.0.0.1 (0: each node gets a free port, shown by
    /// `tao localnet status`).
    #[arg(long, default_value_t = 9944)]
    rpc_port: u16,
    /// First p2p port of a BFT network's validators on 127.0.0.1 (0: each gets a free port;
    /// the validators start one after another, each told where the earlier ones listen).
    #[arg(long, default_value_t = 30333)]
    p2p_port: u16,
    /// Weights go directly on chain instead of by commit-reveal.
    #[arg(long)]
    no_commit_reveal: bool,
    /// Return once everything runs (stop it later with `tao localnet down`).
    #[arg(long)]
    detach: bool,
    /// Stop after this many epochs (0: run until Ctrl-C).
    #[arg(long, default_value_t = 0)]
    epochs: u64,
    /// Blocks per consensus epoch of a network of 2 or more chain validators (proof of
    /// stake: each epoch's validators are elected by bonded TAO at the end of the one before).
    #[arg(long, default_value_t = 40)]
    epoch_length: u64,
    /// Full nodes beside 2 or more chain validators (0 to 8): each syncs the chain from its
    /// peers over p2p, verifying every certificate and re-executing every block, and serves
    /// JSON-RPC on its own port (after the validators'). Its node key is registered on
    /// chain (by wallet `full-node-<i>`, funded by //Alice), which is how the validators
    /// admit it as a peer.
    #[arg(long, default_value_t = 0)]
    full_nodes: usize,
}

/// `tao localnet down`
#[derive(Debug, Args)]
pub struct DownArgs {
    #[command(flatten)]
    dir: DirArg,
    /// Also delete the directory (the chain, wallets and logs).
    #[arg(long)]
    clean: bool,
}

impl DirArg {
    fn path(&self) -> Result<PathBuf, Failure> {
        if let Some(dir) = &self.dir {
            return Ok(dir.clone());
        }
        let home = std::env::var_os("HOME")
            .ok_or_else(|| Failure::user("HOME is not set").hint("give --dir DIR"))?;
        Ok(PathBuf::from(home).join(".tao").join("localnet"))
    }
}

/// Runs a `tao localnet` command.
pub fn run(command: LocalnetCommand, json_output: bool) -> Result<(), Failure> {
    match command {
        LocalnetCommand::Up(args) => up(&args, json_output),
        LocalnetCommand::Down(args) => {
            let dir = args.dir.path()?;
            let stopped = down(&dir)?;
            if args.clean {
                std::fs::remove_dir_all(&dir)
                    .map_err(|e| Failure::user(format!("cannot remove {}: {e}", dir.display())))?;
            }
            if json_output {
                println!("{}", json!({"stopped": stopped, "removed": args.clean}));
            } else {
                println!(
                    "stopped {} process(es){}",
                    stopped.len(),
                    if args.clean { "; directory removed" } else { "" }
                );
            }
            Ok(())
        }
        LocalnetCommand::Status(dir) => {
            let dir = dir.path()?;
            let state = State::load(&dir)?.ok_or_else(|| {
                Failure::user(format!("no local network in {}", dir.display()))
                    .hint("start one: tao localnet up")
            })?;
            let status = runtime()?.block_on(status(&dir, &state));
            if json_output {
                println!("{status}");
            } else {
                print_table(&status);
            }
            Ok(())
        }
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure::user(format!("cannot start the async runtime: {e}")))
}

/// What `localnet.json` holds.
#[derive(Debug, Clone, Default)]
struct State {
    endpoint: String,
    netuid: Option<u16>,
    /// Process name → pid.
    pids: BTreeMap<String, u32>,
    /// Miner wallet name → model.
    miners: BTreeMap<String, String>,
    validators: Vec<String>,
    /// Each chain validator's JSON-RPC endpoint (the first is `endpoint`).
    nodes: Vec<String>,
    /// Each BFT validator's p2p address as it last started (`IP:PORT`).
    p2p: Vec<String>,
    /// Each full node's JSON-RPC endpoint and p2p address (`full1`, `full2`, …).
    full: Vec<String>,
    full_p2p: Vec<String>,
}

impl State {
    fn path(dir: &Path) -> PathBuf {
        dir.join("localnet.json")
    }

    fn load(dir: &Path) -> Result<Option<Self>, Failure> {
        let path = Self::path(dir);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Failure::user(format!("cannot read {}: {e}", path.display()))),
        };
        let v: Value = serde_json::from_str(&text)
            .map_err(|e| Failure::user(format!("{} is damaged: {e}", path.display())))?;
        let map = |key: &str| -> BTreeMap<String, Value> {
            v.get(key)
                .and_then(Value::as_object)
                .map(|m| m.clone().into_iter().collect())
                .unwrap_or_default()
        };
        Ok(Some(Self {
            endpoint: v["endpoint"].as_str().unwrap_or_default().to_owned(),
            netuid: v["netuid"].as_u64().and_then(|n| u16::try_from(n).ok()),
            pids: map("pids")
                .into_iter()
                .filter_map(|(k, p)| Some((k, u32::try_from(p.as_u64()?).ok()?)))
                .collect(),
            miners: map("miners")
                .into_iter()
                .filter_map(|(k, m)| Some((k, m.as_str()?.to_owned())))
                .collect(),
            validators: strings(&v["validators"]),
            nodes: strings(&v["nodes"]),
            p2p: strings(&v["p2p"]),
            full: strings(&v["full"]),
            full_p2p: strings(&v["full_p2p"]),
        }))
    }

    fn save(&self, dir: &Path) -> Result<(), Failure> {
        let v = json!({
            "endpoint": self.endpoint, "netuid": self.netuid, "pids": self.pids,
            "miners": self.miners, "validators": self.validators, "nodes": self.nodes,
            "p2p": self.p2p, "full": self.full, "full_p2p": self.full_p2p,
        });
        let path = Self::path(dir);
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, serde_json::to_vec_pretty(&v).unwrap_or_default())
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|e| Failure::user(format!("cannot write {}: {e}", path.display())))
    }
}

/// The strings of a JSON array (none if it is not one).
fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

/// Whether `pid` is a live (not zombie) process running `program`.
fn alive(pid: u32, program: &str) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let state = stat.rsplit_once(") ").and_then(|(_, rest)| rest.chars().next());
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let argv0 = cmdline.split(|b| *b == 0).next().unwrap_or_default();
    let name = Path::new(std::str::from_utf8(argv0).unwrap_or_default()).file_name();
    matches!(state, Some(s) if s != 'Z' && s != 'X') && name.is_some_and(|n| n == program)
}

/// Waits (at most 10 s) until process `pid` has exited: a process killed moments ago stops
/// looking like its program (its memory is gone) before it has closed its files, and a node
/// started on the same store before then finds the database still locked.
fn wait_exited(pid: u32) {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(10) {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        let state = stat.rsplit_once(") ").and_then(|(_, rest)| rest.chars().next());
        if !matches!(state, Some(s) if s != 'Z' && s != 'X') {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The process name of chain validator `i` (the first is "node", whose RPC is the endpoint).
fn node_name(i: usize) -> String {
    if i == 0 {
        "node".into()
    } else {
        format!("node{i}")
    }
}

/// The process name of full node `i` (from 1).
fn full_name(i: usize) -> String {
    format!("full{i}")
}

/// Whether a process of the network is a chain node (a validator or a full node).
fn is_chain_node(name: &str) -> bool {
    name.starts_with("node") || name.starts_with("full")
}

fn program_of(name: &str) -> &'static str {
    if is_chain_node(name) {
        "tao-node"
    } else {
        "textpred"
    }
}

fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill")
        .args([sig, &pid.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Stops every process of the network in `dir` (subnet first, the node last); returns
/// the names of those that were running.
fn down(dir: &Path) -> Result<Vec<String>, Failure> {
    let Some(mut state) = State::load(dir)? else {
        return Err(Failure::user(format!("no local network in {}", dir.display())));
    };
    // The subnet's processes first, the chain's last.
    let mut order: Vec<(String, u32)> = state.pids.iter().map(|(n, p)| (n.clone(), *p)).collect();
    order.sort_by_key(|(name, _)| is_chain_node(name));
    let mut stopped = Vec::new();
    for (name, pid) in order {
        if stop(pid, program_of(&name)) {
            stopped.push(name.clone());
        }
        state.pids.remove(&name);
    }
    state.save(dir)?;
    Ok(stopped)
}

/// Stops `pid` if it runs `program`: SIGTERM, then SIGKILL after 10 s. Whether it ran.
fn stop(pid: u32, program: &str) -> bool {
    if !alive(pid, program) {
        return false;
    }
    signal(pid, "-TERM");
    let deadline = Instant::now() + Duration::from_secs(10);
    while alive(pid, program) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    if alive(pid, program) {
        signal(pid, "-KILL");
    }
    true
}

/// Creates (once) the consensus keys of `n` chain validators in `<dir>/validators`; their
/// public keys, in order.
fn validator_keys(dir: &Path, node_bin: &Path, n: usize) -> Result<Vec<String>, Failure> {
    node_keys(&dir.join("validators"), node_bin, 0..n)
}

/// Creates (once) node keys `<keys>/<i>.key` for each `i`; their public keys, in order.
fn node_keys(
    keys: &Path,
    node_bin: &Path,
    indices: impl Iterator<Item = usize>,
) -> Result<Vec<String>, Failure> {
    std::fs::create_dir_all(keys)
        .map_err(|e| Failure::user(format!("cannot create {}: {e}", keys.display())))?;
    indices
        .map(|i| {
            let public = keys.join(format!("{i}.pub"));
            if let Ok(text) = std::fs::read_to_string(&public) {
                return Ok(text.trim().to_owned());
            }
            let out = Command::new(node_bin)
                .arg("--generate-validator-key")
                .arg(keys.join(format!("{i}.key")))
                .output()
                .map_err(|e| Failure::user(format!("cannot run {}: {e}", node_bin.display())))?;
            if !out.status.success() {
                return Err(Failure::user(format!(
                    "tao-node --generate-validator-key: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                )));
            }
            let key = String::from_utf8_lossy(&out.stdout).trim().to_owned();
            std::fs::write(&public, &key)
                .map_err(|e| Failure::user(format!("cannot write {}: {e}", public.display())))?;
            Ok(key)
        })
        .collect()
}

/// The consensus keys of the genesis in `path`: its validators' (proof of stake) or its
/// fixed authorities' (empty: a single block producer).
fn genesis_authorities(path: &Path) -> Result<Vec<String>, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::user(format!("cannot read {}: {e}", path.display())))?;
    let config: Value = serde_json::from_str(&text)
        .map_err(|e| Failure::user(format!("{} is damaged: {e}", path.display())))?;
    let validators: Vec<String> = config["validators"]
        .as_array()
        .map(|v| v.iter().filter_map(|v| v["consensus_key"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    if validators.is_empty() {
        Ok(strings(&config["authorities"]))
    } else {
        Ok(validators)
    }
}

/// The TAO each chain validator of a local network bonds at genesis, and holds besides.
const GENESIS_BOND_TAO: u64 = 10_000;
const CONTROLLER_TAO: u64 = 1_000;

/// A local network's chain validators with proof of stake: each bonds
/// [`GENESIS_BOND_TAO`] from its controller wallet `chain-validator-<i>` (created in
/// `<dir>/wallets`, funded with [`CONTROLLER_TAO`] for fees) under its consensus key.
fn stake_validators(
    dir: &Path,
    config: &mut Value,
    keys: &[String],
    p2p_port: u16,
    epoch_length: u64,
) -> Result<(), Failure> {
    let mut validators = Vec::new();
    for (i, key) in keys.iter().enumerate() {
        let (controller, _) = wallet(dir, &format!("chain-validator-{i}"))?;
        // The address on chain is a hint for nodes that join later; the local network's
        // validators are told each other's real addresses (with --p2p-port 0 they are only
        // known once they listen: the chain keeps the discard port until changed).
        let port = match p2p_port {
            0 => 9,
            base => usize::from(base) + i,
        };
        validators.push(json!({
            "controller": controller.ss58(),
            "consensus_key": key,
            "p2p_address": format!("127.0.0.1:{port}"),
            "bond": GENESIS_BOND_TAO.to_string(),
            "commission": 1_000,
        }));
        if let Some(balances) = config["balances"].as_array_mut() {
            let rao = Rao::from_whole(CONTROLLER_TAO).map(|r| r.get()).unwrap_or(0);
            balances.push(json!({"account": controller.ss58(), "rao": rao}));
        }
    }
    config["validators"] = json!(validators);
    config["consensus"] = json!({
        "epoch_length": epoch_length,
        "min_validator_bond": Rao::from_whole(1_000).map(|r| r.get()).unwrap_or(0),
    });
    Ok(())
}

/// `tao-node` and `textpred`, installed beside `tao`.
fn sibling(program: &str) -> Result<PathBuf, Failure> {
    let exe =
        std::env::current_exe().map_err(|e| Failure::user(format!("cannot find myself: {e}")))?;
    let path = exe.with_file_name(program);
    if path.exists() {
        Ok(path)
    } else {
        Err(Failure::user(format!("{program} is not installed beside {}", exe.display())).hint(
            "build everything: cargo build --release --bin tao --bin tao-node --bin textpred",
        ))
    }
}

fn spawn(dir: &Path, name: &str, program: &Path, args: &[String]) -> Result<u32, Failure> {
    let logs = dir.join("logs");
    std::fs::create_dir_all(&logs)
        .map_err(|e| Failure::user(format!("cannot create {}: {e}", logs.display())))?;
    let log = logs.join(format!("{name}.log"));
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .map_err(|e| Failure::user(format!("cannot open {}: {e}", log.display())))?;
    let err = file.try_clone().map_err(|e| Failure::user(e.to_string()))?;
    let child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(file)
        .stderr(err)
        // Its own process group: Ctrl-C reaches `tao`, which stops the network in order.
        .process_group(0)
        .spawn()
        .map_err(|e| Failure::user(format!("cannot start {}: {e}", program.display())))?;
    // Until its exec completes, the child still looks like `tao` in /proc: wait for that.
    let (pid, started) = (child.id(), Instant::now());
    let name = program.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    while !alive(pid, name) && started.elapsed() < Duration::from_secs(2) {
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(pid)
}

/// The line `tao-node` logs once its JSON-RPC server listens (its last start-up line).
const RPC_LISTENING: &str = "JSON-RPC listening (HTTP and WebSocket)";
/// The line a validator logs once its p2p network listens (before the RPC's).
const P2P_LISTENING: &str = "p2p listening";

/// The address in the `local=IP:PORT` field of the first line saying `message` that the
/// process `pid` wrote to `log` after its first `from` bytes; waited for at most 60 s (or
/// until the process exits).
fn logged_address(log: &Path, from: u64, pid: u32, message: &str) -> Result<SocketAddr, Failure> {
    let started = Instant::now();
    loop {
        let text = std::fs::read(log).unwrap_or_default();
        let text = String::from_utf8_lossy(
            text.get(usize::try_from(from).unwrap_or(0)..).unwrap_or_default(),
        );
        if let Some(addr) = text.lines().find_map(|line| address_in(line, message)) {
            return Ok(addr);
        }
        if !alive(pid, "tao-node") || started.elapsed() > Duration::from_secs(60) {
            let tail: Vec<&str> = text.lines().rev().take(5).collect();
            return Err(Failure::network(format!(
                "tao-node did not say where it listens ({message:?}); the end of {}:\n{}",
                log.display(),
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            )));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The `local=` address of a text log line that says `message`.
fn address_in(line: &str, message: &str) -> Option<SocketAddr> {
    let (_, fields) = line.split_once(message)?;
    fields.split_whitespace().find_map(|field| field.strip_prefix("local=")?.parse().ok())
}

fn node_error(e: ChainError) -> Failure {
    match e {
        ChainError::Rejected { .. } | ChainError::Transaction(_) | ChainError::Timeout(_) => {
            Failure::chain(e.to_string())
        }
        _ => Failure::network(e.to_string()),
    }
}

/// A wallet of the network: created on first use, unencrypted (a local test network).
fn wallet(dir: &Path, name: &str) -> Result<(Keypair, Keypair), Failure> {
    let w = Wallet::new(dir.join("wallets"), name, "default");
    let fail = |e: tao_wallet::WalletError| Failure::user(format!("wallet {name}: {e}"));
    if !w.coldkey_path().exists() {
        w.create_coldkey(12, None, Overwrite::Deny).map_err(fail)?;
    }
    if !w.hotkey_path().exists() {
        w.create_hotkey(12, Overwrite::Deny).map_err(fail)?;
    }
    Ok((w.coldkey(None).map_err(fail)?, w.hotkey_pair(None).map_err(fail)?))
}

struct Setup<'a> {
    chain: &'a ChainClient,
    json: bool,
}

impl Setup<'_> {
    fn say(&self, line: &str) {
        if !self.json {
            eprintln!("{line}");
        }
    }

    async fn send(&self, key: &Keypair, call: Call) -> Result<(), Failure> {
        self.chain.submit(key, call, Duration::from_secs(60)).await.map_err(node_error)?;
        Ok(())
    }

    async fn free(&self, account: &Keypair) -> Result<u64, Failure> {
        Ok(self.chain.account_info(&account.account()).await.map_err(node_error)?.free)
    }

    /// Tops `key` up to `tao` TAO from `alice`.
    async fn fund(
        &self,
        alice: &Keypair,
        who: &str,
        key: &Keypair,
        tao: u64,
    ) -> Result<(), Failure> {
        let (free, wanted) = (self.free(key).await?, tao * TAO);
        if free < wanted {
            let amount = Rao::new(wanted - free);
            self.say(&format!("  funding {who} with {amount} TAO"));
            self.send(alice, Call::TransferKeepAlive { dest: key.account(), amount }).await?;
        }
        Ok(())
    }
}

async fn wait_for_node(chain: &ChainClient, pid: u32, log: &Path) -> Result<(), Failure> {
    let started = Instant::now();
    loop {
        if chain.request::<method::ChainHead>(()).await.is_ok() {
            return Ok(());
        }
        if !alive(pid, "tao-node") || started.elapsed() > Duration::from_secs(60) {
            let tail = std::fs::read_to_string(log).unwrap_or_default();
            let tail: Vec<&str> = tail.lines().rev().take(5).collect();
            return Err(Failure::network(format!(
                "the node did not start; the end of {}:\n{}",
                log.display(),
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            )));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn up(args: &UpArgs, json_output: bool) -> Result<(), Failure> {
    if !(1..=16).contains(&args.validators) {
        return Err(Failure::user("--validators: give 1 to 16 chain validators")
            .hint("subnet validators are --subnet-validators"));
    }
    if args.full_nodes > 8 {
        return Err(Failure::user("--full-nodes: give 0 to 8 full nodes"));
    }
    if args.full_nodes > 0 && args.validators < 2 {
        return Err(Failure::user("--full-nodes needs a BFT network: --validators 2 or more")
            .hint("a single block producer has no p2p network to sync from"));
    }
    let nodes = args.validators + args.full_nodes;
    let last_port = |base: u16| usize::from(base) + nodes - 1 <= usize::from(u16::MAX);
    if !last_port(args.rpc_port) || !last_port(args.p2p_port) {
        return Err(Failure::user("--rpc-port/--p2p-port: the validators' ports run past 65535"));
    }
    if args.miners.is_empty() || args.subnet_validators == 0 {
        return Err(Failure::user("a subnet needs at least one miner and one validator"));
    }
    if args.tempo < 2 {
        return Err(Failure::user("--tempo must be at least 2 blocks"));
    }
    let dir = args.dir.path()?;
    std::fs::create_dir_all(dir.join("reports"))
        .map_err(|e| Failure::user(format!("cannot create {}: {e}", dir.display())))?;
    let (node_bin, textpred_bin) = (sibling("tao-node")?, sibling("textpred")?);
    let mut state = State::load(&dir)?.unwrap_or_default();
    // A port given: validator i's is that plus i. Port 0: each node's own, read from its log.
    let port = |base: u16, i: usize| match base {
        0 => 0,
        base => usize::from(base) + i,
    };
    state.nodes.resize(args.validators, String::new());
    state.p2p.resize(args.validators, String::new());
    if args.rpc_port != 0 {
        state.nodes = (0..args.validators)
            .map(|i| format!("http://127.0.0.1:{}", port(args.rpc_port, i)))
            .collect();
    }
    if args.p2p_port != 0 {
        state.p2p =
            (0..args.validators).map(|i| format!("127.0.0.1:{}", port(args.p2p_port, i))).collect();
    }
    let say = |line: &str| {
        if !json_output {
            eprintln!("{line}");
        }
    };
    say(&format!("local network in {} (logs in {}/logs)", dir.display(), dir.display()));

    // The chain: the development genesis without its demo subnet (ours is created below).
    let genesis = dir.join("genesis.json");
    if !genesis.exists() {
        let out = Command::new(&node_bin)
            .arg("--print-dev-genesis")
            .output()
            .map_err(|e| Failure::user(format!("cannot run {}: {e}", node_bin.display())))?;
        let mut config: Value = serde_json::from_slice(&out.stdout)
            .map_err(|e| Failure::user(format!("tao-node --print-dev-genesis: {e}")))?;
        config["chain_name"] = json!("tao-localnet");
        config["subnets"] = json!([]);
        if args.validators > 1 {
            let keys = validator_keys(&dir, &node_bin, args.validators)?;
            stake_validators(&dir, &mut config, &keys, args.p2p_port, args.epoch_length)?;
        }
        std::fs::write(&genesis, serde_json::to_vec_pretty(&config).unwrap_or_default())
            .map_err(|e| Failure::user(format!("cannot write {}: {e}", genesis.display())))?;
    }
    let rt = runtime()?;
    let authorities = genesis_authorities(&genesis)?;
    if authorities.len().max(1) != args.validators {
        return Err(Failure::user(format!(
            "{} holds a network of {} chain validator(s), not {}",
            dir.display(),
            authorities.len().max(1),
            args.validators
        ))
        .hint(
            "give the same --validators, or another --dir (or `tao localnet down --clean` first)",
        ));
    }
    for i in 0..args.validators {
        let name = node_name(i);
        match state.pids.get(&name) {
            Some(p) if alive(*p, "tao-node") => continue,
            Some(p) => wait_exited(*p),
            None => {}
        }
        let rpc = format!("127.0.0.1:{}", port(args.rpc_port, i));
        let mut node_args: Vec<String> = vec![
            "--explorer".into(),
            "--genesis".into(),
            genesis.display().to_string(),
            "--base-path".into(),
            dir.join(&name).display().to_string(),
            "--rpc-addr".into(),
            rpc,
            "--block-time-ms".into(),
            args.block_time_ms.to_string(),
        ];
        let bft = authorities.len() > 1;
        if bft {
            // A peer not started yet is given as port 0 ("it dials us"): it is told where
            // this one listens when it starts.
            let peers: Vec<String> = (0..authorities.len())
                .filter(|&j| j != i)
                .map(|j| match state.p2p[j].as_str() {
                    "" => format!("{}@127.0.0.1:0", authorities[j]),
                    addr => format!("{}@{addr}", authorities[j]),
                })
                .collect();
            node_args.extend([
                "--validator-key".into(),
                dir.join("validators").join(format!("{i}.key")).display().to_string(),
                "--p2p-addr".into(),
                format!("127.0.0.1:{}", port(args.p2p_port, i)),
                "--peers".into(),
                peers.join(","),
            ]);
        }
        let log = dir.join("logs").join(format!("{name}.log"));
        let from = std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0);
        let pid = spawn(&dir, &name, &node_bin, &node_args)?;
        state.pids.insert(name.clone(), pid);
        if bft && args.p2p_port == 0 {
            state.p2p[i] = logged_address(&log, from, pid, P2P_LISTENING)?.to_string();
        }
        if args.rpc_port == 0 {
            let rpc = logged_address(&log, from, pid, RPC_LISTENING)?;
            state.nodes[i] = format!("http://{rpc}");
        }
        let rpc = state.nodes[i].trim_start_matches("http://");
        say(&format!("started tao-node ({name}) on http://{rpc}, explorer http://{rpc}/explorer/"));
        state.save(&dir)?;
    }
    // A node restarted on a new port (--rpc-port 0): the subnet's processes, which talk to
    // the old one, are restarted below with the new endpoint.
    if !state.endpoint.is_empty() && state.endpoint != state.nodes[0] {
        say(&format!(
            "the chain's endpoint moved ({} → {}): restarting the subnet's processes",
            state.endpoint, state.nodes[0]
        ));
        for (name, pid) in &state.pids {
            if !is_chain_node(name) {
                stop(*pid, program_of(name));
            }
        }
    }
    state.endpoint = state.nodes[0].clone();
    state.save(&dir)?;
    let chain = ChainClient::new(&state.endpoint).map_err(node_error)?;
    let node_pid = state.pids.get("node").copied().unwrap_or(0);
    rt.block_on(wait_for_node(&chain, node_pid, &dir.join("logs").join("node.log")))?;

    let setup = Setup { chain: &chain, json: json_output };
    if args.full_nodes > 0 {
        let started = FullNodes { dir: &dir, args, node_bin: &node_bin, genesis: &genesis };
        rt.block_on(started.start(&setup, &mut state))?;
    }
    let netuid = rt.block_on(prepare(&setup, &dir, args, &mut state)).map_err(|e| {
        e.hint(format!(
            "the chain keeps running (log: {}/logs/node.log); `tao localnet up` resumes, `tao localnet down` stops it",
            dir.display()
        ))
    })?;
    state.netuid = Some(netuid);
    state.save(&dir)?;

    // The subnet's processes.
    let common = |name: &str| -> Vec<String> {
        vec![
            "--endpoint".into(),
            state.endpoint.clone(),
            "--wallet-path".into(),
            dir.join("wallets").display().to_string(),
            "--wallet-name".into(),
            name.into(),
            "--netuid".into(),
            netuid.to_string(),
        ]
    };
    let mut started = Vec::new();
    for (name, model) in &state.miners {
        if state.pids.get(name).is_some_and(|p| alive(*p, "textpred")) {
            continue;
        }
        let mut a = common(name);
        // Miners answer only staked callers (the validators), at most 600 a minute each.
        a.extend(["miner", "--model", model, "--port", "0"].map(String::from));
        a.extend(["--min-stake", "1", "--rate-limit", "600"].map(String::from));
        let pid = spawn(&dir, name, &textpred_bin, &a)?;
        started.push(json!({"name": name, "pid": pid}));
        state.pids.insert(name.clone(), pid);
    }
    for name in &state.validators {
        if state.pids.get(name).is_some_and(|p| alive(*p, "textpred")) {
            continue;
        }
        let mut a = common(name);
        let report = dir.join("reports").join(format!("{name}.json"));
        a.extend(
            ["validator", "--round-secs", "1", "--weights-every", "3", "--report"]
                .map(String::from),
        );
        a.push(report.display().to_string());
        let pid = spawn(&dir, name, &textpred_bin, &a)?;
        started.push(json!({"name": name, "pid": pid}));
        state.pids.insert(name.clone(), pid);
    }
    state.save(&dir)?;
    say(&format!(
        "running: {} miner(s) ({}), {} validator(s) on subnet {netuid}; started now: {}",
        state.miners.len(),
        state.miners.values().cloned().collect::<Vec<_>>().join(", "),
        state.validators.len(),
        started.len()
    ));
    if args.detach {
        let status = rt.block_on(status(&dir, &state));
        if json_output {
            println!("{status}");
        } else {
            say("detached; follow it with `tao localnet status`, stop it with `tao localnet down`");
        }
        return Ok(());
    }
    say("the table refreshes every epoch; Ctrl-C stops the network");
    let outcome = rt.block_on(watch(&dir, &state, args.epochs, json_output));
    let stopped = down(&dir)?;
    say(&format!(
        "stopped {} process(es); the chain and wallets stay in {}",
        stopped.len(),
        dir.display()
    ));
    outcome
}

/// The subnet owned by `owner`, if any: (netuid, emission started).
async fn owned_subnet(
    chain: &ChainClient,
    owner: &Keypair,
) -> Result<Option<(u16, bool)>, Failure> {
    let subnets = chain.request::<method::Subnets>(()).await.map_err(node_error)?;
    Ok(subnets
        .into_iter()
        .find(|n| n.owner_coldkey.0 == owner.account())
        .map(|n| (n.netuid, n.emission_started)))
}

/// What starting the full nodes needs.
struct FullNodes<'a> {
    dir: &'a Path,
    args: &'a UpArgs,
    node_bin: &'a Path,
    genesis: &'a Path,
}

impl FullNodes<'_> {
    /// Starts the full nodes not running (keys in `<dir>/full-nodes/`, stores in
    /// `<dir>/full<i>/`), each dialing the validators, and registers each node key on chain
    /// with the p2p address it listens on (or updates it), so the validators admit it.
    async fn start(&self, s: &Setup<'_>, state: &mut State) -> Result<(), Failure> {
        let (dir, args) = (self.dir, self.args);
        let keys = dir.join("full-nodes");
        let publics = node_keys(&keys, self.node_bin, 1..=args.full_nodes)?;
        let authorities = genesis_authorities(self.genesis)?;
        let bootnodes: Vec<String> = authorities
            .iter()
            .zip(&state.p2p)
            .filter(|(_, addr)| !addr.is_empty())
            .map(|(key, addr)| format!("{key}@{addr}"))
            .collect();
        state.full.resize(args.full_nodes, String::new());
        state.full_p2p.resize(args.full_nodes, String::new());
        let alice = Keypair::from_uri("//Alice").map_err(|e| Failure::user(e.to_string()))?;
        let genesis_hash = s.chain.request::<method::GenesisHash>(()).await.map_err(node_error)?;
        for i in 1..=args.full_nodes {
            let name = full_name(i);
            let port = |base: u16| match base {
                0 => 0,
                base => usize::from(base) + args.validators + i - 1,
            };
            if !state.pids.get(&name).is_some_and(|p| alive(*p, "tao-node")) {
                if let Some(old) = state.pids.get(&name) {
                    wait_exited(*old);
                }
                let key_file = keys.join(format!("{i}.key"));
                let node_args: Vec<String> = vec![
                    "--genesis".into(),
                    self.genesis.display().to_string(),
                    "--base-path".into(),
                    dir.join(&name).display().to_string(),
                    "--rpc-addr".into(),
                    format!("127.0.0.1:{}", port(args.rpc_port)),
                    "--block-time-ms".into(),
                    args.block_time_ms.to_string(),
                    "--node-key".into(),
                    key_file.display().to_string(),
                    "--p2p-addr".into(),
                    format!("127.0.0.1:{}", port(args.p2p_port)),
                    "--bootnodes".into(),
                    bootnodes.join(","),
                ];
                let log = dir.join("logs").join(format!("{name}.log"));
                let from = std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0);
                let pid = spawn(dir, &name, self.node_bin, &node_args)?;
                state.pids.insert(name.clone(), pid);
                state.full_p2p[i - 1] = logged_address(&log, from, pid, P2P_LISTENING)?.to_string();
                let rpc = logged_address(&log, from, pid, RPC_LISTENING)?;
                state.full[i - 1] = format!("http://{rpc}");
                state.save(dir)?;
                s.say(&format!("started tao-node ({name}, a full node) on {}", state.full[i - 1]));
            }
            // Its key on chain, with the address it listens on now.
            let wallet_name = format!("full-node-{i}");
            let (controller, _) = wallet(dir, &wallet_name)?;
            s.fund(&alice, &wallet_name, &controller, 1).await?;
            let validators = s.chain.request::<method::Validators>(()).await.map_err(node_error)?;
            let registered = validators
                .proof_of_stake
                .as_ref()
                .and_then(|pos| {
                    pos.candidates.iter().find(|c| c.controller.0 == controller.account())
                })
                .map(|c| c.p2p_address.clone());
            let address = state.full_p2p[i - 1].clone();
            match registered {
                Some(known) if known == address => {}
                Some(_) => {
                    s.say(&format!("  {name}: its p2p address is now {address}"));
                    let call =
                        Call::SetValidatorInfo { p2p_address: Some(address), commission: None };
                    s.send(&controller, call).await?;
                }
                None => {
                    let key_file = keys.join(format!("{i}.key"));
                    let text = std::fs::read_to_string(&key_file).map_err(|e| {
                        Failure::user(format!("cannot read {}: {e}", key_file.display()))
                    })?;
                    let secret =
                        tao_types::consensus::ConsensusSecret::parse(&text).map_err(|e| {
                            Failure::user(format!("{} is not a node key: {e}", key_file.display()))
                        })?;
                    s.say(&format!(
                        "  {name}: registering its node key {} (p2p {address}) from wallet {wallet_name}",
                        publics[i - 1]
                    ));
                    let call = Call::RegisterValidator {
                        consensus_key: secret.public(),
                        p2p_address: address,
                        commission: 0,
                        proof: secret.key_proof(&genesis_hash.0, &controller.account()),
                    };
                    s.send(&controller, call).await?;
                }
            }
        }
        Ok(())
    }
}

/// Funds, creates and configures the subnet, registers and stakes; returns the netuid.
/// Each step is skipped when the chain shows it done, so a resumed network spends nothing.
async fn prepare(
    s: &Setup<'_>,
    dir: &Path,
    args: &UpArgs,
    state: &mut State,
) -> Result<u16, Failure> {
    let alice = Keypair::from_uri("//Alice").map_err(|e| Failure::user(e.to_string()))?;
    let (owner_cold, owner_hot) = wallet(dir, "owner")?;
    state.validators = (1..=args.subnet_validators).map(|i| format!("validator{i}")).collect();
    if state.miners.len() != args.miners.len() {
        state.miners = args
            .miners
            .iter()
            .enumerate()
            .map(|(i, m)| (format!("miner{}", i + 1), m.clone()))
            .collect();
    }
    let mut validators = Vec::new();
    for (i, name) in state.validators.iter().enumerate() {
        validators.push((name.clone(), wallet(dir, name)?, 10_000 / (i as u64 + 1)));
    }
    let mut miners = Vec::new();
    for name in state.miners.keys() {
        miners.push((name.clone(), wallet(dir, name)?));
    }

    // The subnet: the owner's, or a new one with a deep pool (a 10,000 TAO lock).
    let (netuid, started) = match owned_subnet(s.chain, &owner_cold).await? {
        Some(found) => found,
        None => {
            s.say(
                "creating the subnet (lock 10,000 TAO, paid by wallet `owner`, funded by //Alice)",
            );
            s.fund(&alice, "owner", &owner_cold, 10_100).await?;
            let lock = GlobalParameter::NetworkMinLockCost(Rao::new(10_000 * TAO));
            s.send(&alice, Call::SetGlobalParameter { value: lock }).await?;
            s.send(&owner_cold, Call::RegisterNetwork { hotkey: owner_hot.account() }).await?;
            owned_subnet(s.chain, &owner_cold)
                .await?
                .ok_or_else(|| Failure::chain("the subnet was registered but is not listed"))?
        }
    };
    let net = NetUid::new(netuid);
    s.say(&format!(
        "subnet {netuid}: tempo {} blocks, commit-reveal {}",
        args.tempo,
        if args.no_commit_reveal { "off" } else { "on" }
    ));
    let current = s.chain.hyperparameters(netuid).await.map_err(node_error)?;
    let max_validators = args.subnet_validators as u16;
    let params = [
        (current.tempo == args.tempo, Hyperparameter::Tempo(args.tempo)),
        (current.weights_rate_limit == 2, Hyperparameter::WeightsRateLimit(2)),
        (
            current.commit_reveal_weights_enabled != args.no_commit_reveal,
            Hyperparameter::CommitRevealEnabled(!args.no_commit_reveal),
        ),
        (
            current.max_validators == max_validators,
            Hyperparameter::MaxAllowedValidators(max_validators),
        ),
    ];
    for (set, value) in params {
        if !set {
            // As root (//Alice): a tempo this short is below what an owner may set.
            s.send(&alice, Call::SetHyperparameter { netuid: net, value }).await?;
        }
    }
    if !started {
        s.say("starting emission");
        s.send(&owner_cold, Call::StartCall { netuid: net }).await?;
    }
    let metagraph = s.chain.neurons(netuid).await.map_err(node_error)?;
    let registered = |hotkey: &Keypair| metagraph.iter().any(|n| n.hotkey == hotkey.ss58());
    for (name, (cold, hot)) in
        miners.iter().map(|(n, k)| (n, k)).chain(validators.iter().map(|(n, k, _)| (n, k)))
    {
        if !registered(hot) {
            s.say(&format!("  registering {name}"));
            let burn = s.chain.hyperparameters(netuid).await.map_err(node_error)?.burn;
            s.fund(&alice, name, cold, burn.div_ceil(TAO) + 1).await?;
            s.send(
                cold,
                Call::BurnedRegister { netuid: net, hotkey: hot.account(), limit_price: None },
            )
            .await?;
        }
    }
    for (name, (cold, hot), tao) in &validators {
        let (hotkey, coldkey) = (api::Address(hot.account()), api::Address(cold.account()));
        let staked = s
            .chain
            .request::<method::Stake>((netuid, hotkey, coldkey))
            .await
            .map_err(node_error)?;
        if staked == 0 {
            s.say(&format!("  {name} stakes {tao} TAO"));
            s.fund(&alice, name, cold, tao + 1).await?;
            let amount = Rao::new(tao * TAO);
            s.send(
                cold,
                Call::AddStake { hotkey: hot.account(), netuid: net, amount, limit_price: None },
            )
            .await?;
        }
    }
    Ok(netuid)
}

/// The network's state as JSON: the chain, every process, miners and validators.
async fn status(dir: &Path, state: &State) -> Value {
    let processes: Vec<Value> = state
        .pids
        .iter()
        .map(
            |(name, pid)| json!({"name": name, "pid": pid, "alive": alive(*pid, program_of(name))}),
        )
        .collect();
    let mut out = json!({"dir": dir.display().to_string(), "endpoint": state.endpoint, "netuid": state.netuid, "processes": processes});
    let (Ok(chain), Some(netuid)) = (ChainClient::new(&state.endpoint), state.netuid) else {
        return out;
    };
    if state.nodes.len() > 1 {
        let mut heads = Vec::new();
        for (i, url) in state.nodes.iter().enumerate() {
            let head = match ChainClient::new(url) {
                Ok(node) => node.request::<method::ChainHead>(()).await.ok(),
                Err(_) => None,
            };
            heads.push(json!({"name": node_name(i), "endpoint": url,
                              "p2p": state.p2p.get(i), "head": head.map(|h| h.number)}));
        }
        out["chain_validators"] = Value::Array(heads);
    }
    if !state.full.is_empty() {
        let mut heads = Vec::new();
        for (i, url) in state.full.iter().enumerate() {
            let name = full_name(i + 1);
            let (head, sync) = match ChainClient::new(url) {
                Ok(node) => (
                    node.request::<method::ChainHead>(()).await.ok(),
                    node.request::<method::SyncState>(()).await.ok(),
                ),
                Err(_) => (None, None),
            };
            heads.push(json!({"name": name, "endpoint": url, "p2p": state.full_p2p.get(i),
                              "alive": state.pids.get(&name).is_some_and(|p| alive(*p, "tao-node")),
                              "head": head.map(|h| h.number),
                              "syncing": sync.map(|s| s.syncing)}));
        }
        out["full_nodes"] = Value::Array(heads);
    }
    let head = chain.request::<method::ChainHead>(()).await;
    let Ok(m) = chain.metagraph(netuid).await else {
        out["chain"] = json!({"reachable": head.is_ok()});
        return out;
    };
    out["chain"] = json!({"reachable": true, "block": m.block, "tempo": m.tempo, "last_epoch_block": m.last_epoch_block,
                          "pool": m.pool, "owner_hotkey": m.owner_hotkey});
    if let Ok(i) = chain.request::<method::Issuance>(()).await {
        // This document's own shape (the totals as numbers), as before the API's strings.
        out["chain"]["issuance"] = json!({"block": i.block, "total_issuance": i.total_issuance.0,
            "total_minted": i.total_minted.0, "total_fees": i.total_fees.0,
            "total_registration_burn": i.total_registration_burn.0, "held": i.held});
    }
    let hotkeys: Vec<String> = m.hotkeys.iter().map(ToString::to_string).collect();
    let uid_of = |hotkey: &str| hotkeys.iter().position(|h| h == hotkey);
    // The value of a per-UID column at a neuron's UID (`null` for an unregistered one).
    fn at<T: Copy>(column: &[T], uid: Option<usize>) -> Option<T> {
        column.get(uid?).copied()
    }
    // Each validator's report: the loss it measured per miner.
    let mut losses: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    let mut reports = BTreeMap::new();
    for name in &state.validators {
        let path = dir.join("reports").join(format!("{name}.json"));
        let Ok(report) = std::fs::read(&path)
            .map(|b| serde_json::from_slice::<Value>(&b).unwrap_or(Value::Null))
        else {
            continue;
        };
        for miner in report["miners"].as_array().into_iter().flatten() {
            if let (Some(h), Some(b)) = (miner["hotkey"].as_str(), miner["bits_per_char"].as_f64())
            {
                losses.entry(h.to_owned()).or_default().push(b);
            }
        }
        reports.insert(name.clone(), report);
    }
    let hotkey_of = |name: &str| {
        Wallet::new(dir.join("wallets"), name, "default").hotkey_pair(None).map(|k| k.ss58()).ok()
    };
    let miners: Vec<Value> = state
        .miners
        .iter()
        .map(|(name, model)| {
            let hotkey = hotkey_of(name).unwrap_or_default();
            let uid = uid_of(&hotkey);
            let loss = losses
                .get(&hotkey)
                .filter(|l| !l.is_empty())
                .map(|l| l.iter().sum::<f64>() / l.len() as f64);
            json!({"name": name, "model": model, "hotkey": hotkey, "uid": uid,
                   "alive": state.pids.get(name).is_some_and(|p| alive(*p, "textpred")),
                   "bits_per_char": loss,
                   "incentive": at(&m.incentive, uid), "emission": at(&m.emission, uid),
                   "earned_alpha": at(&m.alpha_stake, uid)})
        })
        .collect();
    let validators: Vec<Value> = state
        .validators
        .iter()
        .map(|name| {
            let hotkey = hotkey_of(name).unwrap_or_default();
            let uid = uid_of(&hotkey);
            let report = reports.get(name);
            json!({"name": name, "hotkey": hotkey, "uid": uid,
                   "alive": state.pids.get(name).is_some_and(|p| alive(*p, "textpred")),
                   "stake": at(&m.alpha_stake, uid), "validator_permit": at(&m.validator_permit, uid),
                   "validator_trust": at(&m.validator_trust, uid), "dividends": at(&m.dividends, uid),
                   "emission": at(&m.emission, uid),
                   "rounds": report.map(|r| r["round"].clone()), "weights": report.map(|r| r["weights"].clone())})
        })
        .collect();
    out["miners"] = Value::Array(miners);
    out["validators"] = Value::Array(validators);
    out
}

fn fraction(v: &Value) -> String {
    v.as_f64().map_or("-".into(), |x| format!("{:.3}", x / f64::from(u16::MAX)))
}

fn alpha(v: &Value) -> String {
    v.as_f64().map_or("-".into(), |x| format!("{:.3}", x / 1e9))
}

fn print_table(s: &Value) {
    let c = &s["chain"];
    let endpoint = s["endpoint"].as_str().unwrap_or("");
    println!(
        "subnet {} · block {} · last epoch at block {} · tempo {} · {endpoint} · explorer {endpoint}/explorer/",
        s["netuid"], c["block"], c["last_epoch_block"], c["tempo"],
    );
    if let Some(nodes) = s["chain_validators"].as_array() {
        let heads: Vec<String> = nodes
            .iter()
            .map(|n| {
                let head = n["head"].as_u64().map_or("down".to_owned(), |h| format!("#{h}"));
                format!("{} {head}", n["name"].as_str().unwrap_or("?"))
            })
            .collect();
        println!("chain validators (BFT): {}", heads.join(" · "));
    }
    if let Some(nodes) = s["full_nodes"].as_array() {
        let heads: Vec<String> = nodes
            .iter()
            .map(|n| {
                let head = n["head"].as_u64().map_or("down".to_owned(), |h| format!("#{h}"));
                let syncing = if n["syncing"].as_bool() == Some(true) { " (syncing)" } else { "" };
                format!(
                    "{} {head}{syncing} {}",
                    n["name"].as_str().unwrap_or("?"),
                    n["endpoint"].as_str().unwrap_or("")
                )
            })
            .collect();
        println!("full nodes: {}", heads.join(" · "));
    }
    println!(
        "{:<9} {:>3} {:<8} {:>10} {:>9} {:>13} {:>12}  process",
        "MINER", "uid", "model", "bits/char", "incentive", "emission α/ep", "earned α"
    );
    for m in s["miners"].as_array().into_iter().flatten() {
        println!(
            "{:<9} {:>3} {:<8} {:>10} {:>9} {:>13} {:>12}  {}",
            m["name"].as_str().unwrap_or(""),
            m["uid"].as_u64().map_or("-".into(), |u| u.to_string()),
            m["model"].as_str().unwrap_or(""),
            m["bits_per_char"].as_f64().map_or("-".into(), |b| format!("{b:.3}")),
            fraction(&m["incentive"]),
            alpha(&m["emission"]),
            alpha(&m["earned_alpha"]),
            if m["alive"] == json!(true) { "running" } else { "stopped" }
        );
    }
    println!(
        "{:<10} {:>3} {:>14} {:>7} {:>9} {:>13} {:>7}  last weights",
        "VALIDATOR", "uid", "stake α", "vtrust", "dividends", "emission α/ep", "rounds"
    );
    for v in s["validators"].as_array().into_iter().flatten() {
        let w = &v["weights"];
        let weights = match w["action"].as_str() {
            Some("error") => format!("error: {}", w["error"].as_str().unwrap_or("")),
            Some(action) => format!("{action} in #{}", w["block"]),
            None => "-".into(),
        };
        println!(
            "{:<10} {:>3} {:>14} {:>7} {:>9} {:>13} {:>7}  {}",
            v["name"].as_str().unwrap_or(""),
            v["uid"].as_u64().map_or("-".into(), |u| u.to_string()),
            alpha(&v["stake"]),
            fraction(&v["validator_trust"]),
            fraction(&v["dividends"]),
            alpha(&v["emission"]),
            v["rounds"].as_u64().map_or("-".into(), |r| r.to_string()),
            weights
        );
    }
}

/// Prints the network after every epoch until Ctrl-C/SIGTERM (or `epochs` epochs).
async fn watch(dir: &Path, state: &State, epochs: u64, json_output: bool) -> Result<(), Failure> {
    let stop = tao_sdk::neuron::stopped();
    tokio::pin!(stop);
    let mut last = None;
    let mut seen = 0;
    loop {
        let s = status(dir, state).await;
        let epoch = s["chain"]["last_epoch_block"].as_u64();
        if epoch.is_some() && epoch != last {
            if last.is_some() {
                seen += 1;
                if json_output {
                    println!("{s}");
                } else {
                    println!();
                    print_table(&s);
                }
                if epochs != 0 && seen >= epochs {
                    return Ok(());
                }
            }
            last = epoch;
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(250)) => {}
            _ = &mut stop => return Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_read_from_the_nodes_text_log() {
        let line = "2026-12-02T10:00:00.000000Z  INFO tao_node: JSON-RPC listening (HTTP and WebSocket) local=127.0.0.1:40123 max_connections=1024";
        assert_eq!(address_in(line, RPC_LISTENING), Some("127.0.0.1:40123".parse().unwrap()));
        assert_eq!(address_in(line, P2P_LISTENING), None);
        let p2p =
            "2026-12-02T10:00:00Z  INFO tao_node::validator: p2p listening local=127.0.0.1:39001";
        assert_eq!(address_in(p2p, P2P_LISTENING), Some("127.0.0.1:39001".parse().unwrap()));
        assert_eq!(address_in("INFO p2p listening local=nonsense", P2P_LISTENING), None);
    }
}
