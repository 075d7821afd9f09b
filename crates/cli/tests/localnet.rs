//! The whole network on one machine, through `tao localnet`: a chain, the text-prediction
//! subnet with three miners of clearly different quality and two validators, all real
//! processes on 127.0.0.1.
//!
//! Checked: miners are paid in the order of their models' held-out loss measured here,
//! independently of the network (Spearman 1.0); validators earn dividends; the owner
//! earns the owner cut; the issuance follows the emission schedule to the RAO; a killed
//! miner's incentive falls; a node killed with SIGKILL restarts with every block intact.

use serde_json::{json, Value};
use std::{
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
    sync::Mutex,
    time::{Duration, Instant},
};
use tao_primitives::Rao;
use tao_sdk::chain::{api::method, ChainClient};
use tao_textpred::{corpus::Corpus, model, protocol::CONTEXT_CHARS};
use tao_wallet::Wallet;

const MINERS: [&str; 3] = ["unigram", "trigram", "6-gram"];

/// Builds `tao-node` and `textpred` beside `tao` when a narrower build skipped them.
fn siblings() {
    tao_testkit::binary("tao-node", "tao-node");
    tao_testkit::binary("tao-textpred", "textpred");
}

fn tao(dir: &Path, args: &[&str]) -> Output {
    tao_with(dir, args, &[])
}

/// `tao --json ARGS --dir DIR` with environment variables `env` set (the nodes it starts
/// inherit them).
fn tao_with(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tao"))
        .envs(env.iter().copied())
        .arg("--json")
        .args(args)
        .arg("--dir")
        .arg(dir)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn ok(dir: &Path, args: &[&str]) -> Value {
    let out = tao(dir, args);
    assert!(
        out.status.success(),
        "tao {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Every (block, total minted) the test saw, in order.
/// Per network directory: the tests of this file run their own networks side by side.
static MINTED: Mutex<Vec<(PathBuf, u64, u64)>> = Mutex::new(Vec::new());

fn status(dir: &Path) -> Value {
    let s = ok(dir, &["localnet", "status"]);
    let issuance = &s["chain"]["issuance"];
    if let (Some(block), Some(minted)) =
        (issuance["block"].as_u64(), issuance["total_minted"].as_u64())
    {
        MINTED.lock().unwrap().push((dir.to_path_buf(), block, minted));
    }
    s
}

/// Polls the status until `done` holds (panics with the last status after `timeout`).
fn wait(dir: &Path, what: &str, timeout: Duration, done: impl Fn(&Value) -> bool) -> Value {
    let started = Instant::now();
    loop {
        let s = status(dir);
        if done(&s) {
            return s;
        }
        assert!(started.elapsed() < timeout, "timed out waiting for {what}; status:\n{s:#}");
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn epoch(s: &Value) -> u64 {
    s["chain"]["last_epoch_block"].as_u64().unwrap_or(0)
}

/// Waits for `n` more epochs.
fn epochs(dir: &Path, n: u64) -> Value {
    let tempo = status(dir)["chain"]["tempo"].as_u64().unwrap();
    let from = epoch(&status(dir));
    wait(dir, "epochs", Duration::from_secs(40 * n), |s| epoch(s) >= from + n * tempo)
}

fn miner<'a>(s: &'a Value, model: &str) -> &'a Value {
    s["miners"].as_array().unwrap().iter().find(|m| m["model"] == json!(model)).unwrap()
}

fn incentive(s: &Value, model: &str) -> u64 {
    miner(s, model)["incentive"].as_u64().unwrap_or(0)
}

/// Spearman's rank correlation (no ties expected).
fn spearman(a: &[f64], b: &[f64]) -> f64 {
    let ranks = |x: &[f64]| -> Vec<f64> {
        let mut order: Vec<usize> = (0..x.len()).collect();
        order.sort_by(|i, j| x[*i].total_cmp(&x[*j]));
        let mut r = vec![0.0; x.len()];
        for (rank, i) in order.into_iter().enumerate() {
            r[i] = rank as f64;
        }
        r
    };
    assert_eq!(a.len(), b.len(), "one value of each per miner");
    assert!(a.len() >= 2, "a rank correlation needs two values");
    let (ra, rb) = (ranks(a), ranks(b));
    let n = a.len() as f64;
    let d2: f64 = ra.iter().zip(&rb).map(|(x, y)| (x - y).powi(2)).sum();
    1.0 - 6.0 * d2 / (n * (n * n - 1.0))
}

struct Network(PathBuf);
impl Drop for Network {
    fn drop(&mut self) {
        let _ = tao(&self.0, &["localnet", "down", "--clean"]);
    }
}

#[test]
fn a_local_network_pays_miners_by_the_quality_of_their_models() {
    siblings();
    let dir = std::env::temp_dir().join(format!("tao-localnet-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let network = Network(dir.clone());
    let up = ["localnet", "up", "--detach", "--miners", &MINERS.join(","), "--rpc-port", "0"];
    let s = ok(&dir, &up);
    // The node bound a port of its own; the status names it.
    let endpoint = s["endpoint"].as_str().unwrap().to_owned();
    assert!(endpoint.starts_with("http://127.0.0.1:") && !endpoint.ends_with(":0"), "{s:#}");
    let processes = s["processes"].as_array().unwrap();
    assert_eq!(processes.len(), 1 + MINERS.len() + 2, "{s:#}");
    assert!(processes.iter().all(|p| p["alive"] == json!(true)), "{s:#}");

    // The miners' quality, measured here without the network.
    let corpus = Corpus::standard();
    let alphabet = model::Alphabet::of(&corpus.train);
    let loss: Vec<f64> = MINERS
        .iter()
        .map(|name| {
            let m = model::build(name, &corpus.train, &alphabet).unwrap();
            model::heldout_bits(m.as_ref(), &corpus.heldout, &alphabet, CONTEXT_CHARS, 5_000)
        })
        .collect();

    // Every miner paid and every validator earning, then a few epochs to settle.
    wait(&dir, "incentives and dividends", Duration::from_secs(240), |s| {
        MINERS.iter().all(|m| incentive(s, m) > 0)
            && s["validators"].as_array().unwrap().iter().all(|v| v["dividends"].as_u64() > Some(0))
    });
    let owner = Wallet::new(dir.join("wallets"), "owner", "default");
    let (owner_cold, owner_hot) =
        (owner.coldkeypub().unwrap().ss58(), owner.hotkey_pair(None).unwrap().ss58());
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let chain = ChainClient::new(&endpoint).unwrap();
    let rpc = |method: &str, args: Vec<Value>| runtime.block_on(chain.call(method, args)).unwrap();
    let owner_stake = |netuid: &Value| {
        rpc("tao_stake", vec![netuid.clone(), json!(owner_hot), json!(owner_cold)])
            .as_u64()
            .unwrap()
    };
    let netuid = s["netuid"].clone();
    let owner_before = owner_stake(&netuid);
    for _ in 0..2 {
        let s = epochs(&dir, 2);
        let incentives: Vec<f64> = MINERS.iter().map(|m| incentive(&s, m) as f64).collect();
        let quality: Vec<f64> = loss.iter().map(|l| -l).collect();
        assert_eq!(
            spearman(&incentives, &quality),
            1.0,
            "incentive {incentives:?} vs loss {loss:?}\n{s:#}"
        );
        // The validators measured the same order.
        let measured: Vec<f64> =
            MINERS.iter().map(|m| -miner(&s, m)["bits_per_char"].as_f64().unwrap()).collect();
        assert_eq!(spearman(&measured, &quality), 1.0, "{measured:?} vs {loss:?}");
        for v in s["validators"].as_array().unwrap() {
            assert!(v["dividends"].as_u64().unwrap() > 0, "{v}");
            assert!(v["validator_trust"].as_u64().unwrap() > 0, "{v}");
        }
    }
    assert!(owner_stake(&netuid) > owner_before, "the owner cut reaches the owner's hotkey");

    // Issuance: every RAO accounted for, and (checked at the end, over the whole run)
    // every block minted exactly the schedule's emission.
    // Typed: the totals are decimal strings on the wire (docs/rpc.md).
    let issuance = runtime.block_on(chain.request::<method::Issuance>(())).unwrap();
    let total = issuance.total_issuance.0;
    let genesis: Value =
        serde_json::from_slice(&std::fs::read(dir.join("genesis.json")).unwrap()).unwrap();
    let genesis_total: u64 =
        genesis["balances"].as_array().unwrap().iter().map(|b| b["rao"].as_u64().unwrap()).sum();
    let per_block = tao_economics::block_emission(Rao::new(genesis_total));
    assert_eq!(per_block, tao_economics::block_emission(Rao::new(total)), "no halving crossed");
    let held = issuance.held.free.0 + issuance.held.pools.0 + issuance.held.root_stake.0;
    assert_eq!(held, u128::from(total), "{issuance:?}");
    let burned = issuance.total_fees.0;
    assert!(total <= genesis_total + issuance.total_minted.0 - burned);

    // A miner killed mid-run: its incentive falls in the following epochs.
    let s = status(&dir);
    let best = MINERS[2];
    let before = incentive(&s, best);
    let pid = s["processes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == miner(&s, best)["name"])
        .unwrap()["pid"]
        .as_u64()
        .unwrap();
    assert!(Command::new("kill").args(["-KILL", &pid.to_string()]).status().unwrap().success());
    let s = epochs(&dir, 4);
    assert_eq!(miner(&s, best)["alive"], json!(false));
    assert!(incentive(&s, best) < before / 2, "{before} → {}\n{s:#}", incentive(&s, best));

    // The node killed with SIGKILL: restarted by `up`, every block it had is still there.
    let head = rpc("tao_chainHead", Vec::new());
    let height = head["number"].as_u64().unwrap();
    let hashes: Vec<Value> = (1..=height)
        .map(|n| rpc("tao_getBlock", vec![json!(n)])["header"]["hash"].clone())
        .collect();
    let node = s["processes"].as_array().unwrap().iter().find(|p| p["name"] == "node").unwrap()
        ["pid"]
        .as_u64()
        .unwrap();
    assert!(Command::new("kill").args(["-KILL", &node.to_string()]).status().unwrap().success());
    wait(&dir, "the node to be gone", Duration::from_secs(10), |s| {
        s["processes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "node" && p["alive"] == false)
    });
    let s = ok(&dir, &up);
    assert!(s["processes"].as_array().unwrap().iter().all(|p| p["alive"] == json!(true)), "{s:#}");
    // The node came back on a port of its own (the status says which).
    let chain = ChainClient::new(s["endpoint"].as_str().unwrap()).unwrap();
    let rpc = |method: &str, args: Vec<Value>| runtime.block_on(chain.call(method, args)).unwrap();
    assert!(height > 0 && hashes.len() as u64 == height, "{height} blocks, {}", hashes.len());
    for (n, hash) in (1..=height).zip(&hashes) {
        assert_eq!(&rpc("tao_getBlock", vec![json!(n)])["header"]["hash"], hash, "block {n}");
    }
    wait(&dir, "new blocks", Duration::from_secs(30), |s| {
        s["chain"]["block"].as_u64() > Some(height)
    });

    // The emission schedule, to the RAO: from the first block that minted (emission starts
    // once the subnet's moving price leaves zero), every block minted exactly the block
    // emission, through the node's crash and restart.
    let subnets = rpc("tao_subnets", Vec::new());
    let ours = subnets.as_array().unwrap().iter().find(|n| n["netuid"] == netuid).unwrap();
    let first = ours["first_emission_block"].as_u64().unwrap();
    let minted: Vec<(u64, u64)> = MINTED
        .lock()
        .unwrap()
        .iter()
        .filter(|(d, _, m)| d == &dir && *m > 0)
        .map(|(_, b, m)| (*b, *m))
        .collect();
    assert!(minted.len() >= 20, "{minted:?}");
    let (b0, m0) = minted[0];
    assert_eq!(m0 % per_block.get(), 0);
    assert!(m0 <= (b0 - first + 1) * per_block.get());
    for pair in minted.windows(2) {
        let ((b0, m0), (b1, m1)) = (pair[0], pair[1]);
        assert!(m1 >= m0 && b1 >= b0, "minting went back at blocks {b0}..{b1}: {minted:?}");
        assert_eq!(m1 - m0, (b1 - b0) * per_block.get(), "blocks {b0}..{b1}");
    }

    // Down: every process stops, the directory goes.
    let down = ok(&dir, &["localnet", "down", "--clean"]);
    assert_eq!(down["stopped"].as_array().unwrap().len(), 1 + MINERS.len() + 2, "{down}");
    assert!(!dir.exists());
    drop(network);
}

#[test]
fn a_bft_local_network_of_four_validators_runs_the_subnet_through_a_validator_crash() {
    siblings();
    let dir = std::env::temp_dir().join(format!("tao-localnet-bft-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let network = Network(dir.clone());
    let up = [
        "localnet",
        "up",
        "--detach",
        "--validators",
        "4",
        "--miners",
        "unigram,6-gram",
        // Every node binds port 0; `up` reads the ports back from their logs.
        "--rpc-port",
        "0",
        "--p2p-port",
        "0",
    ];
    let s = ok(&dir, &up);
    let processes = s["processes"].as_array().unwrap();
    assert_eq!(processes.len(), 4 + 2 + 2, "{s:#}");
    assert!(processes.iter().all(|p| p["alive"] == json!(true)), "{s:#}");
    // The subnet works on the BFT chain: the better model earns more.
    wait(&dir, "incentives", Duration::from_secs(240), |s| {
        incentive(s, "6-gram") > incentive(s, "unigram") && incentive(s, "unigram") > 0
    });

    // A validator other than the endpoint's is SIGKILLed: the other three go on.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    // Each validator's endpoint, as the status gives it (a restarted one gets a new port).
    let endpoints = |s: &Value| -> Vec<String> {
        let nodes = s["chain_validators"].as_array().expect("chain_validators");
        nodes.iter().map(|n| n["endpoint"].as_str().unwrap().to_owned()).collect()
    };
    let mut urls = endpoints(&s);
    assert_eq!(urls.len(), 4, "{s:#}");
    assert!(urls.iter().all(|u| !u.ends_with(":0")), "{urls:?}");
    let client = |urls: &[String], i: usize| ChainClient::new(&urls[i]).unwrap();
    let head = |urls: &[String], i: usize| {
        runtime.block_on(client(urls, i).call("tao_chainHead", Vec::new())).unwrap()["number"]
            .as_u64()
            .unwrap()
    };
    let pid = s["processes"].as_array().unwrap().iter().find(|p| p["name"] == "node2").unwrap()
        ["pid"]
        .as_u64()
        .unwrap();
    assert!(Command::new("kill").args(["-KILL", &pid.to_string()]).status().unwrap().success());
    let killed_at = head(&urls, 0);
    wait(&dir, "blocks without validator 2", Duration::from_secs(30), |s| {
        s["chain"]["block"].as_u64() > Some(killed_at + 10)
    });
    // `up` restarts it; it catches up and holds the same blocks as the others.
    let s = ok(&dir, &up);
    assert!(s["processes"].as_array().unwrap().iter().all(|p| p["alive"] == json!(true)), "{s:#}");
    urls = endpoints(&s);
    let target = head(&urls, 0) + 5;
    let started = Instant::now();
    while (0..4).any(|i| head(&urls, i) < target) {
        assert!(started.elapsed() < Duration::from_secs(60), "validator 2 did not catch up");
        std::thread::sleep(Duration::from_millis(200));
    }
    let block = |i: usize| {
        runtime.block_on(client(&urls, i).call("tao_getBlock", vec![json!(target)])).unwrap()
            ["header"]
            .clone()
    };
    assert!((1..4).all(|i| block(i) == block(0)), "validators disagree at block {target}");
    // The status names every chain validator with its head.
    let s = status(&dir);
    let nodes = s["chain_validators"].as_array().unwrap();
    assert_eq!(nodes.len(), 4, "{s:#}");
    assert!(nodes.iter().all(|n| n["head"].as_u64() >= Some(target)), "{s:#}");

    let down = ok(&dir, &["localnet", "down", "--clean"]);
    assert_eq!(down["stopped"].as_array().unwrap().len(), 8, "{down}");
    drop(network);
}

/// A node process started by the test, killed when dropped.
struct Process(std::process::Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Proof of stake on real processes: a local network of four validators, then a fifth
/// `tao-node` (not in genesis) whose controller registers its key and bonds through
/// `tao validator`; it is elected at the next epoch boundary and votes: with one of the
/// first four SIGKILLed, four of five (the quorum) go on only with it. Full nodes follow
/// over p2p (one SIGKILLed mid-sync completes after a restart); the nodes keep a snapshot
/// every 10 blocks (`TAO_NODE_SNAPSHOT_EVERY`), and a third full node started empty with
/// `TAO_NODE_SYNC=snapshot` starts from one in a later epoch (walking the epochs' sets).
#[test]
fn a_fifth_node_bonded_with_tao_validator_joins_at_the_boundary_and_keeps_the_chain_live() {
    siblings();
    let dir = std::env::temp_dir().join(format!("tao-localnet-pos-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let network = Network(dir.clone());
    let up = [
        "localnet",
        "up",
        "--detach",
        "--validators",
        "4",
        "--miners",
        "unigram",
        "--subnet-validators",
        "1",
        "--rpc-port",
        "0",
        "--p2p-port",
        "0",
        "--epoch-length",
        "20",
        "--full-nodes",
        "2",
    ];
    let first = tao_with(&dir, &up, &[("TAO_NODE_SNAPSHOT_EVERY", "10")]);
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let s: Value = serde_json::from_slice(&first.stdout).unwrap();
    let validators = s["chain_validators"].as_array().unwrap().clone();
    assert_eq!(validators.len(), 4, "{s:#}");
    assert_eq!(s["full_nodes"].as_array().map(Vec::len), Some(2), "{s:#}");
    let endpoint = |i: usize| validators[i]["endpoint"].as_str().unwrap().to_owned();

    // The fifth node: a key of its own, the four as its peers, every port its own.
    let key = dir.join("validators").join("fifth.key");
    let out = Command::new(tao_testkit::binary("tao-node", "tao-node"))
        .arg("--generate-validator-key")
        .arg(&key)
        .output()
        .unwrap();
    assert!(out.status.success());
    let public = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let peers: Vec<String> = (0..4)
        .map(|i| {
            let pub_file = dir.join("validators").join(format!("{i}.pub"));
            let key = std::fs::read_to_string(pub_file).unwrap().trim().to_owned();
            format!("{key}@{}", validators[i]["p2p"].as_str().unwrap())
        })
        .collect();
    let genesis = dir.join("genesis.json").display().to_string();
    let base = dir.join("fifth").display().to_string();
    let key_arg = key.display().to_string();
    let (child, fifth) = tao_testkit::spawn_node(&[
        "--genesis",
        &genesis,
        "--validator-key",
        &key_arg,
        "--p2p-addr",
        "127.0.0.1:0",
        "--peers",
        &peers.join(","),
        "--rpc-addr",
        "127.0.0.1:0",
        "--base-path",
        &base,
        "--block-time-ms",
        "250",
    ]);
    let fifth_node = Process(child);
    let fifth_p2p = fifth.p2p.expect("the fifth node says where its p2p network listens");

    // Its controller (Alice, funded in the development genesis) registers it and bonds.
    let wallets = dir.join("wallets");
    let cli = |args: &[&str]| -> Value {
        let out = Command::new(env!("CARGO_BIN_EXE_tao"))
            .args(["--json", "--endpoint", &endpoint(0), "--wallet-path"])
            .arg(&wallets)
            .args(["--wallet-name", "fifth"])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let (stdout, stderr) =
            (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "tao {args:?}: {stdout}{stderr}");
        serde_json::from_slice(&out.stdout).unwrap()
    };
    cli(&["wallet", "regen-coldkey", "--uri", "//Alice", "--no-password"]);
    let registered = cli(&[
        "validator",
        "register",
        "--consensus-key",
        &key_arg,
        "--p2p-address",
        &fifth_p2p.to_string(),
    ]);
    assert_eq!(registered["consensus_key"], public.as_str(), "{registered}");
    cli(&["validator", "bond", "20000"]);

    // Elected at the next boundary: the current set names its key.
    let started = Instant::now();
    loop {
        let list = cli(&["validator", "list"]);
        let members = list["current_set"]["members"].as_array().cloned().unwrap_or_default();
        if members.iter().any(|m| m["consensus_key"] == public.as_str()) {
            assert_eq!(members.len(), 5, "{list}");
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(120), "not elected: {list}");
        std::thread::sleep(Duration::from_millis(500));
    }

    // Validator 1 is SIGKILLed: four of five remain, a quorum only with the fifth.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let head = |url: &str| {
        let client = ChainClient::new(url).unwrap();
        runtime.block_on(client.call("tao_chainHead", Vec::new())).unwrap()["number"]
            .as_u64()
            .unwrap()
    };
    let pid = s["processes"].as_array().unwrap().iter().find(|p| p["name"] == "node1").unwrap()
        ["pid"]
        .as_u64()
        .unwrap();
    assert!(Command::new("kill").args(["-KILL", &pid.to_string()]).status().unwrap().success());
    let fifth_url = format!("http://{}", fifth.rpc);
    let from = head(&endpoint(0));
    let started = Instant::now();
    while head(&endpoint(0)) < from + 10 || head(&fifth_url) < from + 10 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the chain stopped at {} without validator 1 (the fifth at {}); its log:\n{}",
            head(&endpoint(0)),
            head(&fifth_url),
            fifth.log.text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let block = |url: &str| {
        let client = ChainClient::new(url).unwrap();
        runtime.block_on(client.call("tao_getBlock", vec![json!(from + 10)])).unwrap()["header"]
            .clone()
    };
    assert_eq!(block(&endpoint(0)), block(&fifth_url), "the fifth node agrees");

    // The full nodes (node keys registered on chain by `localnet up`) follow over p2p.
    let full = |s: &Value, i: usize, key: &str| s["full_nodes"][i][key].clone();
    let full_url = |s: &Value, i: usize| full(s, i, "endpoint").as_str().unwrap().to_owned();
    let s = status(&dir);
    let target = head(&endpoint(0));
    for i in 0..2 {
        let url = full_url(&s, i);
        let started = Instant::now();
        while head(&url) < target {
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "full node {i} stuck at {}",
                head(&url)
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        assert_eq!(block(&url), block(&endpoint(0)), "full node {i} agrees");
    }

    // A transfer submitted to a full node's RPC is gossiped to the validators and finalized.
    let bob = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty";
    let before = cli(&["wallet", "balance", "--ss58", bob]);
    let out = Command::new(env!("CARGO_BIN_EXE_tao"))
        .args(["--json", "--endpoint", &full_url(&s, 1), "--wallet-path"])
        .arg(&wallets)
        .args(["--wallet-name", "fifth", "wallet", "transfer", "--dest", bob, "--amount", "3"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let receipt: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(receipt["outcome"], "success", "{receipt}");
    let after = cli(&["wallet", "balance", "--ss58", bob]);
    assert_eq!(
        after["free"].as_u64().unwrap(),
        before["free"].as_u64().unwrap() + 3_000_000_000,
        "validator 0 sees the transfer: {before} → {after}"
    );

    // Full node 1 is SIGKILLed while it syncs, restarted by `localnet up`, and completes.
    let pid_of = |s: &Value, name: &str| {
        s["processes"].as_array().unwrap().iter().find(|p| p["name"] == name).unwrap()["pid"]
            .as_u64()
            .unwrap()
    };
    let kill = |pid: u64| {
        assert!(Command::new("kill").args(["-KILL", &pid.to_string()]).status().unwrap().success());
    };
    let try_head = |url: &str| {
        let client = ChainClient::new(url).ok()?;
        runtime.block_on(client.call("tao_chainHead", Vec::new())).ok()?["number"].as_u64()
    };
    let saved = || -> Value {
        serde_json::from_str(&std::fs::read_to_string(dir.join("localnet.json")).unwrap())
            .unwrap_or(Value::Null)
    };
    let mut caught = false;
    for _attempt in 0..3 {
        let before = head(&full_url(&status(&dir), 0));
        let killed = pid_of(&status(&dir), "full1");
        kill(killed);
        // Let it fall 100 blocks (5 epochs) behind, then restart it with `localnet up`,
        // watching it from the moment `up` records the new process.
        let behind = head(&endpoint(0)) + 100;
        while head(&endpoint(0)) < behind {
            std::thread::sleep(Duration::from_millis(250));
        }
        let mut restart = Command::new(env!("CARGO_BIN_EXE_tao"))
            .arg("--json")
            .args(up)
            .arg("--dir")
            .arg(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(60) {
            let state = saved();
            let (pid, url) = (state["pids"]["full1"].as_u64(), state["full"][0].as_str());
            if let (Some(pid), Some(url)) = (pid, url) {
                if pid != killed {
                    if let (Some(now), tip) = (try_head(url), head(&endpoint(0))) {
                        if now > before && now + 5 < tip {
                            // Mid-sync: blocks fetched since the restart, most not yet.
                            kill(pid);
                            caught = true;
                            break;
                        }
                        if now + 5 >= tip {
                            break;
                        }
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(restart.wait().unwrap().success(), "tao localnet up (restarting full1) failed");
        if caught {
            break;
        }
    }
    assert!(caught, "full node 1 was never caught mid-sync in three attempts");
    let s = ok(&dir, &up);
    let url = full_url(&s, 0);
    let target = head(&endpoint(0));
    let started = Instant::now();
    while head(&url) < target {
        assert!(started.elapsed() < Duration::from_secs(90), "full node 1 stuck at {}", head(&url));
        std::thread::sleep(Duration::from_millis(200));
    }
    let at = |url: &str, n: u64| {
        let client = ChainClient::new(url).unwrap();
        runtime.block_on(client.call("tao_getBlock", vec![json!(n)])).unwrap()["header"].clone()
    };
    assert_eq!(at(&url, target), at(&endpoint(0), target), "the restarted full node agrees");
    let s = status(&dir);
    assert!(full(&s, 0, "head").as_u64().unwrap() >= target, "{s:#}");

    // A third full node, started empty by snapshot: it walks the epochs' certified sets
    // from genesis, installs a snapshot of a later epoch (nothing stored below it), and
    // follows the chain with the validators' blocks.
    let mut three = up.to_vec();
    *three.last_mut().unwrap() = "3";
    let third = tao_with(&dir, &three, &[("TAO_NODE_SYNC", "snapshot")]);
    assert!(third.status.success(), "{}", String::from_utf8_lossy(&third.stderr));
    let s: Value = serde_json::from_slice(&third.stdout).unwrap();
    let url = full_url(&s, 2);
    let target = head(&endpoint(0)) + 2;
    let started = Instant::now();
    while try_head(&url).is_none_or(|h| h < target) {
        assert!(started.elapsed() < Duration::from_secs(60), "full node 3 stuck");
        std::thread::sleep(Duration::from_millis(200));
    }
    let client = ChainClient::new(&url).unwrap();
    let sync = runtime.block_on(client.call("tao_syncState", Vec::new())).unwrap();
    let oldest = sync["oldest_block"].as_u64().unwrap();
    assert!(oldest > 20 && oldest % 10 == 0, "full node 3 started at block {oldest}: {sync}");
    // (The snapshot may be newer than `target`: the validators kept one meanwhile.)
    let target = target.max(oldest);
    while try_head(&url).is_none_or(|h| h < target) || head(&endpoint(0)) < target {
        assert!(started.elapsed() < Duration::from_secs(60), "full node 3 stuck");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(at(&url, target), at(&endpoint(0), target), "full node 3 agrees");
    assert_eq!(at(&url, oldest), at(&endpoint(0), oldest), "its snapshot's block is theirs");
    drop(fifth_node);
    let _ = ok(&dir, &["localnet", "down", "--clean"]);
    drop(network);
}

#[test]
fn full_nodes_are_refused_beyond_eight_and_without_a_bft_network() {
    let dir =
        std::env::temp_dir().join(format!("tao-localnet-full-refused-{}", std::process::id()));
    for (args, says) in [
        (vec!["--validators", "4", "--full-nodes", "9"], "--full-nodes: give 0 to 8 full nodes"),
        (vec!["--full-nodes", "1"], "--full-nodes needs a BFT network"),
    ] {
        let mut all = vec!["localnet", "up", "--detach"];
        all.extend(args);
        let out = tao(&dir, &all);
        assert_eq!(out.status.code(), Some(2), "{all:?}");
        let error: Value = serde_json::from_slice(&out.stdout).unwrap();
        let message = error["error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{all:?}: {message}");
        assert!(!dir.join("localnet.json").exists(), "nothing was started");
    }
}
