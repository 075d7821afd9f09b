//! `tao-node --dev` as a real process on 127.0.0.1: transactions over JSON-RPC, SIGKILL and
//! restart with every block and receipt intact, malformed requests answered, not crashed on.

use serde_json::{json, Value};
use std::{
    io::{Read, Write},
    net::{SocketAddr, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command},
    time::{Duration, Instant},
};
use tao_primitives::{hex, Rao};
use tao_types::{Call, Hash, Signature, SignedTransaction, Transaction};
use tao_wallet::Keypair;

struct Node {
    child: Child,
    addr: SocketAddr,
    metrics: Option<SocketAddr>,
    /// A validator's p2p address.
    p2p: Option<SocketAddr>,
    log: tao_testkit::LogTail,
}

impl Node {
    /// A dev node on a port of its own (port 0).
    fn start(base: &Path) -> Self {
        Self::start_with(base, &[])
    }

    /// A dev node with more arguments, on port 0 (a restarted node gets a new port: nothing
    /// is freed and bound again).
    fn start_with(base: &Path, extra: &[&str]) -> Self {
        Self::spawn(base, &[&["--dev", "--block-time-ms", "100"], extra].concat())
    }

    /// Runs `tao-node ARGS --rpc-addr 127.0.0.1:0 --base-path BASE` and waits until it
    /// answers.
    fn spawn(base: &Path, args: &[&str]) -> Self {
        let base = base.to_string_lossy();
        let (child, listening) = tao_testkit::spawn_node(
            &[args, &["--rpc-addr", "127.0.0.1:0", "--base-path", &base]].concat(),
        );
        let node = Self {
            child,
            addr: listening.rpc,
            metrics: listening.metrics,
            p2p: listening.p2p,
            log: listening.log,
        };
        let started = Instant::now();
        while node.try_rpc("tao_health", json!([])).is_none() {
            assert!(started.elapsed() < Duration::from_secs(30), "node did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        node
    }

    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// Sends raw HTTP; returns the status code and body.
    fn http(&self, body: &str) -> Option<(u16, String)> {
        let mut stream = TcpStream::connect_timeout(&self.addr, Duration::from_secs(2)).ok()?;
        stream.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
        let request = format!(
            "POST / HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.addr,
            body.len()
        );
        stream.write_all(request.as_bytes()).ok()?;
        let mut response = String::new();
        stream.read_to_string(&mut response).ok()?;
        let status = response.split_whitespace().nth(1)?.parse().ok()?;
        let body = response.split_once("\r\n\r\n")?.1.to_owned();
        Some((status, body))
    }

    fn try_rpc(&self, method: &str, params: Value) -> Option<Value> {
        let body =
            json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).to_string();
        let (_, body) = self.http(&body)?;
        serde_json::from_str(&body).ok()
    }

    fn rpc(&self, method: &str, params: Value) -> Value {
        let answer = self.try_rpc(method, params).expect("node answers");
        assert!(answer.get("error").is_none(), "{method}: {answer}");
        answer["result"].clone()
    }

    fn rpc_error(&self, method: &str, params: Value) -> Value {
        let answer = self.try_rpc(method, params).expect("node answers");
        answer.get("error").cloned().unwrap_or_else(|| panic!("{method} should fail: {answer}"))
    }

    fn wait_final(&self, tx: &str) -> Value {
        self.wait_final_among(tx, &[])
    }

    /// Waits (at most 30 s) until `tx` is final here; if it never is, the panic tells what
    /// this node and `others` (the rest of a network) saw: heads, the transaction's status
    /// at each, whether each still runs, and the end of each one's log.
    fn wait_final_among(&self, tx: &str, others: &[&Node]) -> Value {
        let started = Instant::now();
        loop {
            let status = self.rpc("tao_transactionStatus", json!([tx]));
            if status["status"] == "finalized" {
                return status["receipt"].clone();
            }
            if started.elapsed() > Duration::from_secs(30) {
                let report: Vec<String> = std::iter::once(self)
                    .chain(others.iter().copied())
                    .map(|node| node.report(tx))
                    .collect();
                panic!("{tx} never finalized\n{}", report.join("\n"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// What this node says of itself and of `tx`, and the end of its log.
    fn report(&self, tx: &str) -> String {
        let head = self.try_rpc("tao_chainHead", json!([]));
        let status = self.try_rpc("tao_transactionStatus", json!([tx]));
        format!(
            "== node {} (rpc {}): head {head:?}; {tx}: {status:?}\n{}",
            self.child.id(),
            self.addr,
            self.log.text()
        )
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn temp(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tao-node-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn signed(node: &Node, key: &Keypair, nonce: u64, call: Call) -> String {
    let genesis = node.rpc("tao_genesisHash", json!([]));
    let bytes: [u8; 32] = hex::decode(genesis.as_str().unwrap()).unwrap().try_into().unwrap();
    let transaction = Transaction { genesis_hash: Hash(bytes), signer: key.account(), nonce, call };
    let signature = Signature(key.sign(&transaction.signing_payload()).unwrap());
    hex::encode(&codec::Encode::encode(&SignedTransaction { transaction, signature }))
}

#[test]
fn transfers_survive_sigkill_and_restart() {
    let base = temp("restart");
    let alice = Keypair::from_uri("//Alice").unwrap();
    let dest = Keypair::from_uri("//Recipient").unwrap().account();
    let node = Node::start(&base);

    // Ten transfers at consecutive nonces, all submitted before any is final.
    let hashes: Vec<String> = (0..10)
        .map(|nonce| {
            let call =
                Call::TransferKeepAlive { dest, amount: Rao::from_whole(nonce + 1).unwrap() };
            let tx = signed(&node, &alice, nonce, call);
            node.rpc("tao_submitTransaction", json!([tx])).as_str().unwrap().to_owned()
        })
        .collect();
    let receipts: Vec<Value> = hashes.iter().map(|h| node.wait_final(h)).collect();
    assert!(receipts.iter().all(|r| r["outcome"] == "success"), "{receipts:?}");
    let expected = (1..=10u64).sum::<u64>() * 1_000_000_000;
    let balance = node.rpc("tao_accountInfo", json!([dest.to_ss58()]));
    assert_eq!(balance["free"], expected);
    let head = node.rpc("tao_chainHead", json!([]));
    node.kill();

    // Restart on the same store: every block and receipt is there, with the same roots.
    let node = Node::start_with(&base, &[]);
    let after = node.rpc("tao_getBlock", json!([head["number"]]));
    assert_eq!(after["header"], head, "the head block survives SIGKILL unchanged");
    assert_eq!((hashes.len(), receipts.len()), (10, 10));
    for (hash, receipt) in hashes.iter().zip(&receipts) {
        let status = node.rpc("tao_transactionStatus", json!([hash]));
        assert_eq!(&status["receipt"], receipt);
    }
    assert_eq!(node.rpc("tao_accountInfo", json!([dest.to_ss58()]))["free"], expected);
    assert_eq!(node.rpc("tao_accountInfo", json!([alice.ss58()]))["nonce"], 10);
    // And it keeps producing blocks on top.
    let started = Instant::now();
    while node.rpc("tao_chainHead", json!([]))["number"].as_u64() <= head["number"].as_u64() {
        assert!(started.elapsed() < Duration::from_secs(10), "no block after restart");
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(node);
    std::fs::remove_dir_all(&base).unwrap();
}

#[test]
fn bad_requests_and_transactions_get_errors_and_change_nothing() {
    let base = temp("bad");
    let node = Node::start(&base);
    let alice = Keypair::from_uri("//Alice").unwrap();
    let bob = Keypair::from_uri("//Bob").unwrap();
    let before = node.rpc("tao_accountInfo", json!([alice.ss58()]));

    // Not JSON at all, and an unknown method.
    let (status, body) = node.http("{not json").unwrap();
    assert!(status == 200 || status == 400, "{status}");
    assert!(body.contains("Parse error"), "{body}");
    assert_eq!(node.rpc_error("tao_nope", json!([]))["code"], -32601);
    // Bad parameters.
    assert_eq!(node.rpc_error("tao_accountInfo", json!(["not an address"]))["code"], -32602);
    assert_eq!(node.rpc_error("tao_submitTransaction", json!(["0xzz"]))["code"], -32602);
    assert_eq!(node.rpc_error("tao_submitTransaction", json!(["0x00"]))["code"], -32602);
    assert_eq!(node.rpc_error("tao_getBlock", json!([1_000_000]))["code"], -32004);
    assert_eq!(node.rpc_error("tao_metagraph", json!([999]))["code"], -32004);
    let huge = format!("0x{}", "00".repeat(70 * 1024));
    assert_eq!(node.rpc_error("tao_submitTransaction", json!([huge]))["code"], -32602);

    // A transaction signed by the wrong key, one with a stale nonce, one far in the future.
    let call = Call::TransferKeepAlive { dest: bob.account(), amount: Rao::from_whole(1).unwrap() };
    let mut forged = signed(&node, &bob, 0, call.clone());
    let alice_hex = hex::encode(alice.account().as_bytes());
    let bob_hex = hex::encode(bob.account().as_bytes());
    forged = forged.replacen(&bob_hex[2..], &alice_hex[2..], 1);
    let refused = node.rpc_error("tao_submitTransaction", json!([forged]));
    assert_eq!(refused["code"], -32010, "{refused}");
    let far = signed(&node, &alice, 1_000, call.clone());
    assert_eq!(node.rpc_error("tao_submitTransaction", json!([far]))["code"], -32010);
    // The same transaction twice: the second is a duplicate.
    let good = signed(&node, &alice, 0, call);
    node.rpc("tao_submitTransaction", json!([good.clone()]));
    assert_eq!(node.rpc_error("tao_submitTransaction", json!([good.clone()]))["code"], -32010);
    let receipt = node.wait_final(&tx_hash(&good).to_string());
    assert_eq!(receipt["outcome"], "success");
    let after = node.rpc("tao_accountInfo", json!([alice.ss58()]));
    assert_eq!(after["nonce"], 1, "only the good transaction was executed");
    assert!(after["free"].as_u64() < before["free"].as_u64());
    assert!(node.rpc("tao_health", json!([]))["block"].as_u64() > Some(0));
    drop(node);
    std::fs::remove_dir_all(&base).unwrap();
}

fn tx_hash(hex_tx: &str) -> Hash {
    let bytes = hex::decode(hex_tx).unwrap();
    SignedTransaction::decode_bounded(&bytes).unwrap().hash()
}

#[test]
fn prometheus_metrics_follow_the_chain() {
    let base = temp("metrics");
    let node = Node::start_with(&base, &["--metrics-addr", "127.0.0.1:0"]);
    let metrics = node.metrics.expect("the node says where its metrics are");
    let get = |path: &str| {
        let mut stream = TcpStream::connect(metrics).unwrap();
        write!(stream, "GET {path} HTTP/1.1\r\nHost: {metrics}\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
    };
    let value = |text: &str, name: &str| -> u64 {
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{name}: {text}"));
        line.split_whitespace().nth(1).unwrap().parse::<f64>().unwrap() as u64
    };
    // Blocks advance, and the metric follows the RPC head.
    let started = Instant::now();
    while value(&get("/metrics"), "tao_block_height") < 2 {
        assert!(started.elapsed() < Duration::from_secs(20), "no blocks");
        std::thread::sleep(Duration::from_millis(50));
    }
    let page = get("/metrics");
    assert!(page.starts_with("HTTP/1.1 200"), "{page}");
    assert!(page.contains("# TYPE tao_block_height gauge"));
    let height = value(&page, "tao_block_height");
    assert!(height >= 2, "{page}");
    assert!(value(&page, "tao_blocks_produced_total") >= 2);
    let head = node.rpc("tao_chainHead", json!([]))["number"].as_u64().unwrap();
    assert!(head >= height);
    assert_eq!(value(&page, "tao_peers"), 0);
    assert_eq!(value(&page, "tao_blocks_replayed_on_open"), 0, "a new chain replays nothing");
    assert!(value(&page, "tao_highest_seen_height") >= height, "{page}");
    assert!(get("/other").starts_with("HTTP/1.1 404"));
    drop(node);
    std::fs::remove_dir_all(&base).unwrap();
}

#[test]
fn a_store_of_another_chain_is_refused_with_a_clear_error() {
    let base = temp("other");
    let node = Node::start(&base);
    let genesis_hash = node.rpc("tao_genesisHash", json!([]));
    node.kill();
    // Same directory, another genesis: refused, and the store is left as it was.
    let genesis = base.join("other-genesis.json");
    let config = tao_types::GenesisConfig::empty("another-chain");
    std::fs::write(&genesis, serde_json::to_vec(&config).unwrap()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tao-node"))
        .arg("--genesis")
        .arg(&genesis)
        .arg("--base-path")
        .arg(&base)
        .args(["--rpc-addr", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("holds another chain") && stderr.contains("--base-path"), "{stderr}");
    // A genesis file that is not valid names the file.
    std::fs::write(&genesis, b"{\"chain_name\": 5}").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tao-node"))
        .arg("--genesis")
        .arg(&genesis)
        .arg("--base-path")
        .arg(base.join("fresh"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a valid genesis config"));
    // The dev chain still opens on it.
    let node = Node::start(&base);
    assert_eq!(node.rpc("tao_genesisHash", json!([])), genesis_hash);
    drop(node);
    std::fs::remove_dir_all(&base).unwrap();
}

#[test]
fn submit_and_wait_and_event_and_finalized_head_subscriptions() {
    use jsonrpsee::{
        core::client::{ClientT, SubscriptionClientT},
        rpc_params,
        ws_client::WsClientBuilder,
    };
    let base = temp("subscriptions");
    let node = Node::start(&base);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let ws =
        runtime.block_on(WsClientBuilder::default().build(format!("ws://{}", node.addr))).unwrap();
    let mut finalized = runtime
        .block_on(ws.subscribe::<Value, _>(
            "tao_subscribeFinalizedHeads",
            rpc_params![],
            "tao_unsubscribeFinalizedHeads",
        ))
        .unwrap();
    let mut events = runtime
        .block_on(ws.subscribe::<Value, _>(
            "tao_subscribeEvents",
            rpc_params![],
            "tao_unsubscribeEvents",
        ))
        .unwrap();
    let first = runtime.block_on(finalized.next()).unwrap().unwrap();
    let second = runtime.block_on(finalized.next()).unwrap().unwrap();
    assert_eq!(second["number"].as_u64().unwrap(), first["number"].as_u64().unwrap() + 1);
    assert_eq!(second["parent_hash"], first["hash"]);

    // One call submits and answers with the final receipt.
    let alice = Keypair::from_uri("//Alice").unwrap();
    let bob = Keypair::from_uri("//Bob").unwrap();
    let call = Call::TransferKeepAlive { dest: bob.account(), amount: tao_primitives::Rao::new(7) };
    let tx = signed(&node, &alice, 0, call);
    let receipt: Value =
        runtime.block_on(ws.request("tao_submitAndWait", rpc_params![tx.clone(), 30_000])).unwrap();
    assert_eq!(receipt["outcome"], "success", "{receipt}");
    let block = receipt["block"].as_u64().unwrap();
    // Its event arrives on the events subscription, tagged with the transaction.
    let tx_hash = receipt["tx_hash"].clone();
    loop {
        let item = runtime.block_on(events.next()).unwrap().unwrap();
        let n = item["block"].as_u64().unwrap();
        assert!(n <= block, "the block with the transfer passed without its event: {item}");
        if n == block {
            let ours: Vec<&Value> = item["events"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|e| e["tx_hash"] == tx_hash)
                .collect();
            assert!(!ours.is_empty(), "{item}");
            assert!(
                ours.iter().any(|e| e["event"].as_str().unwrap().contains("Transfer")),
                "{item}"
            );
            // As an object too, with its numbers.
            let transfer = ours.iter().find(|e| e["detail"]["kind"] == "Transfer").unwrap();
            assert_eq!(transfer["detail"]["to"], receipt["event_details"][0]["to"], "{item}");
            break;
        }
    }
    // The same transaction again: refused by the pool (already executed: stale nonce).
    let again: Result<Value, _> =
        runtime.block_on(ws.request("tao_submitAndWait", rpc_params![tx]));
    let err = again.unwrap_err().to_string();
    assert!(err.contains("-32010") || err.contains("nonce"), "{err}");
    drop(node);
    let _ = std::fs::remove_dir_all(base);
}

#[test]
fn a_follower_syncs_verifies_and_catches_up_after_sigkill() {
    let (leader_base, follower_base) = (temp("leader"), temp("follower"));
    let leader = Node::start(&leader_base);
    let upstream = format!("http://{}", leader.addr);
    let alice = Keypair::from_uri("//Alice").unwrap();
    let bob = Keypair::from_uri("//Bob").unwrap();
    let send = |nonce: u64| {
        let call = Call::TransferKeepAlive {
            dest: bob.account(),
            amount: tao_primitives::Rao::new(1_000 + nonce),
        };
        let tx = signed(&leader, &alice, nonce, call);
        let hash = leader.rpc("tao_submitTransaction", json!([tx]));
        leader.wait_final(hash.as_str().unwrap())
    };
    for nonce in 0..3 {
        send(nonce);
    }
    let caught_up = |follower: &Node| {
        let target = leader.rpc("tao_chainHead", json!([]))["number"].as_u64().unwrap();
        let started = Instant::now();
        while follower.rpc("tao_chainHead", json!([]))["number"].as_u64().unwrap() < target {
            assert!(started.elapsed() < Duration::from_secs(30), "the follower did not catch up");
            std::thread::sleep(Duration::from_millis(50));
        }
        target
    };
    let same_chain = |follower: &Node, upto: u64| {
        for n in 1..=upto {
            let ours = &follower.rpc("tao_getBlock", json!([n]))["header"];
            assert_eq!(ours, &leader.rpc("tao_getBlock", json!([n]))["header"], "block {n}");
        }
        let bob_info =
            |node: &Node| node.rpc("tao_accountInfo", json!([bob.ss58()]))["free"].clone();
        let h = follower.rpc("tao_chainHead", json!([]));
        assert!(h["number"].as_u64().unwrap() >= upto);
        assert_eq!(bob_info(follower), bob_info(&leader));
    };
    let follower = Node::start_with(&follower_base, &["--follow", &upstream]);
    let height = caught_up(&follower);
    same_chain(&follower, height);
    // It knows how far the leader is, counts it as its peer, and is not syncing once there.
    let sync = follower.rpc("tao_syncState", json!([]));
    assert_eq!((sync["peers"].as_u64(), sync["oldest_block"].as_u64()), (Some(1), Some(1)));
    let (head, seen) = (sync["head"].as_u64().unwrap(), sync["highest_seen"].as_u64().unwrap());
    assert!(seen >= height && seen >= head, "{sync}");
    assert_eq!(sync["syncing"], seen > head, "{sync}");
    // Receipts are there too, and the follower refuses submissions, naming the leader.
    let tx = signed(
        &leader,
        &alice,
        3,
        Call::TransferKeepAlive { dest: bob.account(), amount: tao_primitives::Rao::new(5) },
    );
    let err = follower.rpc_error("tao_submitTransaction", json!([tx]));
    assert!(err["message"].as_str().unwrap().contains("follows"), "{err}");

    // Killed, the leader moves on, restarted: it catches up from where it stopped.
    follower.kill();
    for nonce in 3..6 {
        send(nonce);
    }
    let follower = Node::start_with(&follower_base, &["--follow", &upstream]);
    let height = caught_up(&follower);
    same_chain(&follower, height);
    drop(follower);
    drop(leader);
    let _ = std::fs::remove_dir_all(leader_base);
    let _ = std::fs::remove_dir_all(follower_base);
}

#[test]
fn a_follower_refuses_another_chain() {
    let (leader_base, follower_base) = (temp("other-leader"), temp("other-follower"));
    let leader = Node::start(&leader_base);
    let genesis = follower_base.with_extension("json");
    let mut config: Value = serde_json::from_slice(
        &Command::new(env!("CARGO_BIN_EXE_tao-node"))
            .arg("--print-dev-genesis")
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    config["chain_name"] = json!("somewhere-else");
    std::fs::write(&genesis, config.to_string()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_tao-node"))
        .args(["--genesis", genesis.to_str().unwrap(), "--rpc-addr", "127.0.0.1:0"])
        .args(["--follow", &format!("http://{}", leader.addr), "--base-path"])
        .arg(&follower_base)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("another chain"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    drop(leader);
    let _ = std::fs::remove_dir_all(leader_base);
    let _ = std::fs::remove_dir_all(follower_base);
    let _ = std::fs::remove_file(genesis);
}

/// One validator of a 4-validator network: its key and directory. Every port is bound as
/// 0 at every start and read back from the log.
struct Member {
    key_file: PathBuf,
    public: String,
    base: PathBuf,
}

impl Member {
    /// Starts it with the peers' p2p addresses known so far (`None`: not started yet; it is
    /// given as port 0, "it dials us", and it does once it starts, knowing ours).
    fn start(&self, genesis: &Path, all: &[Member], p2p: &[Option<SocketAddr>]) -> Node {
        self.start_with(genesis, all, p2p, &[])
    }

    /// [`Self::start`] with more flags.
    fn start_with(
        &self,
        genesis: &Path,
        all: &[Member],
        p2p: &[Option<SocketAddr>],
        more: &[&str],
    ) -> Node {
        let peers: Vec<String> = all
            .iter()
            .zip(p2p)
            .filter(|(m, _)| m.public != self.public)
            .map(|(m, addr)| match addr {
                Some(addr) => format!("{}@{addr}", m.public),
                None => format!("{}@127.0.0.1:0", m.public),
            })
            .collect();
        let peers = peers.join(",");
        let mut args = vec![
            "--genesis",
            genesis.to_str().unwrap(),
            "--validator-key",
            self.key_file.to_str().unwrap(),
            "--p2p-addr",
            "127.0.0.1:0",
            "--peers",
            &peers,
            "--block-time-ms",
            "200",
            "--metrics-addr",
            "127.0.0.1:0",
        ];
        args.extend_from_slice(more);
        Node::spawn(&self.base, &args)
    }
}

fn head_number(node: &Node) -> u64 {
    node.rpc("tao_chainHead", json!([]))["number"].as_u64().unwrap()
}

/// Four validator keys in `dir` and a development genesis (`genesis.json` there) naming
/// them as the authorities of chain `chain_name`.
fn bft_network(dir: &Path, chain_name: &str) -> (Vec<Member>, PathBuf) {
    std::fs::create_dir_all(dir).unwrap();
    let node_bin = env!("CARGO_BIN_EXE_tao-node");
    let members: Vec<Member> = (0..4)
        .map(|i| {
            let key_file = dir.join(format!("validator-{i}.key"));
            let out = Command::new(node_bin)
                .arg("--generate-validator-key")
                .arg(&key_file)
                .output()
                .unwrap();
            assert!(out.status.success());
            let public = String::from_utf8(out.stdout).unwrap().trim().to_owned();
            Member { key_file, public, base: dir.join(format!("v{i}")) }
        })
        .collect();
    let out = Command::new(node_bin).arg("--print-dev-genesis").output().unwrap();
    let mut genesis: Value = serde_json::from_slice(&out.stdout).unwrap();
    genesis["authorities"] = json!(members.iter().map(|m| m.public.clone()).collect::<Vec<_>>());
    genesis["chain_name"] = json!(chain_name);
    let genesis_file = dir.join("genesis.json");
    std::fs::write(&genesis_file, genesis.to_string()).unwrap();
    (members, genesis_file)
}

/// Four validator processes keep a snapshot every 5 blocks; validator 3 is SIGKILLed, its
/// base path deleted, and restarted with `--sync snapshot`: it installs a peer's snapshot
/// (blocks below it answer "pruned"), catches up, and agrees with the others.
#[test]
fn a_validator_restarted_empty_with_sync_snapshot_starts_from_a_peers_snapshot() {
    let dir = temp("bft-snapshot");
    let (members, genesis_file) = bft_network(&dir, "tao-bft-snapshot-test");
    let keep = ["--snapshot-every", "5"];
    let mut p2p: Vec<Option<SocketAddr>> = vec![None; members.len()];
    let mut nodes: Vec<Option<Node>> = Vec::new();
    for (i, member) in members.iter().enumerate() {
        let node = member.start_with(&genesis_file, &members, &p2p, &keep);
        p2p[i] = Some(node.p2p.expect("a validator says where its p2p network listens"));
        nodes.push(Some(node));
    }
    let wait_all = |nodes: &[Option<Node>], target: u64| {
        let started = Instant::now();
        while nodes.iter().flatten().any(|n| head_number(n) < target) {
            assert!(
                started.elapsed() < Duration::from_secs(90),
                "validators did not reach {target}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    wait_all(&nodes, 12);
    nodes[3].take().unwrap().kill();
    std::fs::remove_dir_all(&members[3].base).unwrap();
    p2p[3] = None;
    let restarted = members[3].start_with(
        &genesis_file,
        &members,
        &p2p,
        &["--sync", "snapshot", keep[0], keep[1]],
    );
    nodes[3] = Some(restarted);
    let target = head_number(nodes[0].as_ref().unwrap()) + 5;
    wait_all(&nodes, target);
    let fresh = nodes[3].as_ref().unwrap();
    let oldest = fresh.rpc("tao_syncState", json!([]))["oldest_block"].as_u64().unwrap();
    assert!(oldest >= 10 && oldest % 5 == 0, "started from the snapshot at {oldest}");
    let error = fresh.rpc_error("tao_getBlock", json!([1]));
    assert_eq!(error["code"], -32005, "block 1 is below the snapshot: {error}");
    // A block every node holds: `target` was read before the restarted node synced, and the
    // snapshot it took may be newer (the others kept going meanwhile).
    let common = target.max(oldest);
    wait_all(&nodes, common);
    let blocks: Vec<Value> = nodes
        .iter()
        .map(|n| n.as_ref().unwrap().rpc("tao_getBlock", json!([common]))["header"].clone())
        .collect();
    assert!(blocks.iter().all(|b| *b == blocks[0]), "{blocks:#?}");
    let at_snapshot: Vec<Value> = nodes
        .iter()
        .map(|n| n.as_ref().unwrap().rpc("tao_getBlock", json!([oldest]))["header"].clone())
        .collect();
    assert!(at_snapshot.iter().all(|b| *b == at_snapshot[0]), "{at_snapshot:#?}");
}

#[test]
fn four_validator_processes_agree_across_a_sigkill() {
    let dir = temp("bft");
    let (members, genesis_file) = bft_network(&dir, "tao-bft-test");
    // Started one by one, each told the p2p addresses of those before it.
    let mut p2p: Vec<Option<SocketAddr>> = vec![None; members.len()];
    let mut nodes: Vec<Option<Node>> = Vec::new();
    for (i, member) in members.iter().enumerate() {
        let node = member.start(&genesis_file, &members, &p2p);
        p2p[i] = Some(node.p2p.expect("a validator says where its p2p network listens"));
        nodes.push(Some(node));
    }

    // Transfers submitted to different validators, at consecutive nonces per sender.
    let dest = Keypair::from_uri("//Recipient").unwrap().account();
    let senders = ["//Alice", "//Bob"].map(|s| Keypair::from_uri(s).unwrap());
    let mut hashes = Vec::new();
    for nonce in 0..6u64 {
        for (k, sender) in senders.iter().enumerate() {
            let live: Vec<&Node> = nodes.iter().flatten().collect();
            let node = live[(nonce as usize + k) % live.len()];
            let call = Call::TransferKeepAlive { dest, amount: Rao::from_whole(1).unwrap() };
            let tx = signed(node, sender, nonce, call);
            hashes
                .push(node.rpc("tao_submitTransaction", json!([tx])).as_str().unwrap().to_owned());
        }
        if nonce == 2 {
            // Once the first half is final (a transaction lives only in pools until then),
            // validator 3 is killed; the other three are a quorum and go on.
            let live: Vec<&Node> = nodes.iter().flatten().collect();
            for hash in &hashes {
                live[0].wait_final_among(hash, &live[1..]);
            }
            nodes[3].take().unwrap().kill();
        }
    }
    let live: Vec<&Node> = nodes.iter().flatten().collect();
    for hash in &hashes {
        let receipt = live[0].wait_final_among(hash, &live[1..]);
        assert_eq!(receipt["outcome"], "success", "{receipt}");
    }
    // The network goes on without validator 3, then it restarts and catches up.
    let live = head_number(nodes[0].as_ref().unwrap());
    // On a new p2p port: it knows the others' addresses and dials them.
    p2p[3] = None;
    let restarted = members[3].start(&genesis_file, &members, &p2p);
    assert_ne!(restarted.p2p, None);
    nodes[3] = Some(restarted);
    let target = live + 5;
    let started = Instant::now();
    while nodes.iter().any(|n| head_number(n.as_ref().unwrap()) < target) {
        assert!(started.elapsed() < Duration::from_secs(60), "validators did not reach {target}");
        std::thread::sleep(Duration::from_millis(100));
    }
    // Every validator has the same block at `target` (same hash, same state root) and
    // every finalized transaction with the same receipt.
    let blocks: Vec<Value> = nodes
        .iter()
        .map(|n| n.as_ref().unwrap().rpc("tao_getBlock", json!([target]))["header"].clone())
        .collect();
    assert!(blocks.iter().all(|b| *b == blocks[0]), "{blocks:#?}");
    for hash in &hashes {
        let receipts: Vec<Value> = nodes
            .iter()
            .map(|n| {
                n.as_ref().unwrap().rpc("tao_transactionStatus", json!([hash]))["receipt"].clone()
            })
            .collect();
        assert!(receipts.iter().all(|r| *r == receipts[0] && r["outcome"] == "success"));
    }
    for node in &nodes {
        let info = node.as_ref().unwrap().rpc("tao_accountInfo", json!([dest.to_ss58()]));
        assert_eq!(info["free"], 12 * 1_000_000_000u64, "twelve transfers of 1 TAO, each once");
    }
    // Each validator's metrics count its three peers (commonware's p2p metrics included),
    // once the restarted one has been dialed again.
    let metrics = |node: &Node| {
        let mut stream = TcpStream::connect(node.metrics.expect("--metrics-addr")).unwrap();
        write!(stream, "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
        let mut text = String::new();
        stream.read_to_string(&mut text).unwrap();
        text
    };
    for node in nodes.iter().flatten() {
        let started = Instant::now();
        loop {
            let text = metrics(node);
            if text.contains("\ntao_peers 3\n") {
                assert!(text.contains("_connected{"), "{text}");
                break;
            }
            assert!(started.elapsed() < Duration::from_secs(30), "{text}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    drop(nodes);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The fields of the node's "chain opened" log line (head, state root, blocks replayed).
fn opened(node: &Node) -> Value {
    let log = node.log.text();
    let line = log
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find(|line| line["fields"]["message"] == "chain opened")
        .unwrap_or_else(|| panic!("no \"chain opened\" line in the log:\n{log}"));
    line["fields"].clone()
}

/// The state is stored with every block: a node SIGKILLed while producing restarts from its
/// stored state (nothing replayed), at a head whose blocks and receipts are the ones it
/// served; killed again when it cannot have moved (a 10-minute block time), it answers at
/// exactly the same head, state root and receipts.
#[test]
fn a_restart_after_sigkill_reads_the_state_back_without_replaying() {
    let base = temp("stored-state");
    let alice = Keypair::from_uri("//Alice").unwrap();
    let dest = Keypair::from_uri("//Stored").unwrap().account();
    let node = Node::start(&base);
    assert_eq!(opened(&node)["replayed"], 0, "a new chain");
    let hashes: Vec<String> = (0..8)
        .map(|nonce| {
            let call = Call::TransferKeepAlive { dest, amount: Rao::new(1_000_000 + nonce) };
            let tx = signed(&node, &alice, nonce, call);
            node.rpc("tao_submitTransaction", json!([tx])).as_str().unwrap().to_owned()
        })
        .collect();
    let receipts: Vec<Value> = hashes.iter().map(|h| node.wait_final(h)).collect();
    // Some empty blocks on top, so that a replay would have work to do.
    let started = Instant::now();
    while head_number(&node) < 40 {
        assert!(started.elapsed() < Duration::from_secs(30), "no 40 blocks in 30 s");
        std::thread::sleep(Duration::from_millis(50));
    }
    let before = node.rpc("tao_chainHead", json!([]));
    node.kill(); // while it produces a block every 100 ms

    // Restarted with a block time it will not reach: the head is what the store held.
    let slow = ["--dev", "--block-time-ms", "600000"];
    let node = Node::spawn(&base, &slow);
    let fields = opened(&node);
    assert_eq!(fields["replayed"], 0, "the state was read back, not replayed: {fields}");
    let head = node.rpc("tao_chainHead", json!([]));
    let number = head["number"].as_u64().unwrap();
    assert!(number >= before["number"].as_u64().unwrap(), "{head} is behind {before}");
    assert_eq!(fields["head"].as_u64(), Some(number));
    assert_eq!(fields["state_root"], head["state_root"]);
    let old = node.rpc("tao_getBlock", json!([before["number"]]));
    assert_eq!(old["header"], before, "the head it served before the kill is unchanged");
    for (hash, receipt) in hashes.iter().zip(&receipts) {
        assert_eq!(&node.rpc("tao_transactionStatus", json!([hash]))["receipt"], receipt);
    }
    let balance = node.rpc("tao_accountInfo", json!([dest.to_ss58()]))["free"].clone();
    let sync = node.rpc("tao_syncState", json!([]));
    assert_eq!(
        sync,
        json!({"head": number, "finalized": number, "highest_seen": number, "peers": 0,
               "syncing": false, "oldest_block": 1})
    );
    assert_eq!(node.rpc("tao_health", json!([]))["syncing"], false);
    node.kill();

    // Killed where it could not have moved: exactly the same head, root and receipts.
    let node = Node::spawn(&base, &slow);
    assert_eq!(opened(&node)["replayed"], 0);
    assert_eq!(node.rpc("tao_chainHead", json!([])), head);
    for (hash, receipt) in hashes.iter().zip(&receipts) {
        assert_eq!(&node.rpc("tao_transactionStatus", json!([hash]))["receipt"], receipt);
    }
    assert_eq!(node.rpc("tao_accountInfo", json!([dest.to_ss58()]))["free"], balance);
    drop(node);
    std::fs::remove_dir_all(&base).unwrap();
}

/// `--pruning 5`: blocks older than the last five answer the typed `-32005` error (with the
/// range kept), their receipts are gone, recent ones are served, a restart keeps the window,
/// and a follower that would need a pruned block stops, saying so.
#[test]
fn a_pruned_node_refuses_old_blocks_with_a_typed_error() {
    let base = temp("pruned");
    let alice = Keypair::from_uri("//Alice").unwrap();
    let bob = Keypair::from_uri("//Bob").unwrap().account();
    let node = Node::start_with(&base, &["--pruning", "5"]);
    let tx = signed(&node, &alice, 0, Call::TransferKeepAlive { dest: bob, amount: Rao::new(7) });
    let hash = node.rpc("tao_submitTransaction", json!([tx])).as_str().unwrap().to_owned();
    let receipt = node.wait_final(&hash);
    let (block, block_hash) = (receipt["block"].as_u64().unwrap(), receipt["block_hash"].clone());
    let started = Instant::now();
    while head_number(&node) < block + 10 {
        assert!(started.elapsed() < Duration::from_secs(30), "no 10 blocks in 30 s");
        std::thread::sleep(Duration::from_millis(50));
    }
    let pruned = |node: &Node| {
        for (method, params) in [
            ("tao_getBlock", json!([block])),
            ("tao_getBlockRaw", json!([block])),
            ("tao_blockReceipts", json!([block])),
            ("tao_getBlock", json!([block_hash])),
            ("tao_blockReceipts", json!([block_hash])),
        ] {
            let e = node.rpc_error(method, params);
            assert_eq!(e["code"], -32005, "{method}: {e}");
            assert!(e["message"].as_str().unwrap().contains("pruned"), "{e}");
            assert_eq!(e["data"]["block"], block, "{e}");
            let oldest = e["data"]["oldest"].as_u64().unwrap();
            let head = e["data"]["head"].as_u64().unwrap();
            assert!(oldest > block && head >= oldest && head - oldest <= 4, "{e}");
        }
        assert_eq!(node.rpc("tao_transactionStatus", json!([hash]))["status"], "unknown");
        let sync = node.rpc("tao_syncState", json!([]));
        assert!(sync["oldest_block"].as_u64().unwrap() > block, "{sync}");
        let head = node.rpc("tao_chainHead", json!([]));
        assert_eq!(node.rpc("tao_getBlock", json!([head["number"]]))["header"], head);
        let ahead = node.rpc_error("tao_getBlock", json!([head["number"].as_u64().unwrap() + 100]));
        assert_eq!(ahead["code"], -32004, "beyond the head is not found, not pruned: {ahead}");
    };
    pruned(&node);
    node.kill();
    let node = Node::start_with(&base, &["--pruning", "5"]);
    assert_eq!(opened(&node)["replayed"], 0, "a pruned node opens from its stored state");
    pruned(&node);

    // A follower starting from genesis needs block 1, which is gone: it stops and says why.
    let follower_base = temp("pruned-follower");
    let upstream = format!("http://{}", node.addr);
    let follower_path = follower_base.to_string_lossy().into_owned();
    // Spawned directly: it may stop before a health check could reach it.
    let (mut follower, listening) = tao_testkit::spawn_node(&[
        "--dev",
        "--rpc-addr",
        "127.0.0.1:0",
        "--base-path",
        &follower_path,
        "--follow",
        &upstream,
    ]);
    let started = Instant::now();
    let status = loop {
        if let Some(status) = follower.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(30) {
            let _ = follower.kill();
            let _ = follower.wait();
            panic!("the follower kept running:\n{}", listening.log.text());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(!status.success());
    // The log is read on a thread of its own: wait (bounded) for the line to arrive.
    let started = Instant::now();
    while !listening.log.text().contains("pruned block 1") {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the follower did not say why it stopped:\n{}",
            listening.log.text()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(node);
    let _ = std::fs::remove_dir_all(base);
    let _ = std::fs::remove_dir_all(follower_base);
}
