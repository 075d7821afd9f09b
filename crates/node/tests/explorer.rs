//! The explorer in a real browser: a `tao-node --dev --explorer` with a subnet at work (a
//! miner and a validator registered, stake, an axon, weights, an epoch's incentive and
//! dividends, a failed and a successful transfer), then headless Chromium, driven by
//! `tests/explorer/drive.mjs` (playwright-core), loads every page, checks the numbers shown
//! against the RPC's at the same block, follows links, watches new blocks arrive without a
//! reload, fails on any console error or request to anywhere but the node, saves
//! screenshots under `target/explorer-screenshots/`, and measures page weight and time to
//! first render against a minimal page that fetches the same data.
//!
//! Needs `/usr/bin/chromium` and the driver's `node_modules` (`scripts/test` installs both:
//! apt's chromium when missing, `npm ci` in `tests/explorer/`).

use serde_json::{json, Value};
use std::{
    io::{Read, Write},
    net::{SocketAddr, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command},
    time::{Duration, Instant},
};
use tao_primitives::{hex, BlockNumber, ChannelId, NetUid, Rao};
use tao_types::{
    AxonInfo, Call, GlobalParameter, Hash, Hyperparameter, PrivilegedCall, ProposalId, Signature,
    SignedTransaction, SignedVoucher, Transaction, VoteChoice, Voucher,
};
use tao_wallet::Keypair;

const TAO: u64 = 1_000_000_000;
const CHROMIUM: &str = "/usr/bin/chromium";

struct Node {
    child: Child,
    rpc: SocketAddr,
    explorer: String,
    base: PathBuf,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.base);
    }
}

impl Node {
    /// A dev node (its own directory, named by `tag`) with half-second blocks (slow enough that a page and the RPC are often
    /// read at the same block) serving the explorer.
    fn start(tag: &str) -> Self {
        let base = std::env::temp_dir().join(format!("tao-explorer-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let base_arg = base.to_string_lossy().into_owned();
        let args = [
            "--dev",
            "--block-time-ms",
            "500",
            "--rpc-addr",
            "127.0.0.1:0",
            "--base-path",
            &base_arg,
            "--explorer",
        ];
        let (child, listening) = tao_testkit::spawn_node(&args);
        let explorer = listening.explorer.clone().expect("the node logs the explorer's URL");
        Self { child, rpc: listening.rpc, explorer, base }
    }

    fn http(&self, method: &str, path: &str, body: &str) -> (u16, String, String) {
        let mut stream = TcpStream::connect_timeout(&self.rpc, Duration::from_secs(2)).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.rpc,
            body.len()
        );
        stream.write_all(request.as_bytes()).unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let status = response.split_whitespace().nth(1).unwrap().parse().unwrap();
        let (head, body) = response.split_once("\r\n\r\n").unwrap();
        (status, head.to_owned(), body.to_owned())
    }

    fn rpc(&self, method: &str, params: Value) -> Value {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let (_, _, text) = self.http("POST", "/", &body.to_string());
        let answer: Value = serde_json::from_str(&text).unwrap();
        assert!(answer.get("error").is_none(), "{method}: {answer}");
        answer["result"].clone()
    }

    /// `call` signed by `key` at `nonce`, as the hex `tao_submitTransaction` takes.
    fn sign(&self, key: &Keypair, nonce: u64, call: Call) -> String {
        let genesis = self.rpc("tao_genesisHash", json!([]));
        let bytes: [u8; 32] = hex::decode(genesis.as_str().unwrap()).unwrap().try_into().unwrap();
        let transaction =
            Transaction { genesis_hash: Hash(bytes), signer: key.account(), nonce, call };
        let signature = Signature(key.sign(&transaction.signing_payload()).unwrap());
        hex::encode(&codec::Encode::encode(&SignedTransaction { transaction, signature }))
    }

    fn next_nonce(&self, key: &Keypair) -> u64 {
        self.rpc("tao_accountInfo", json!([key.ss58()]))["next_nonce"].as_u64().unwrap()
    }

    /// Signs `call` by `key` at its next nonce, submits it and waits for its receipt.
    fn submit(&self, key: &Keypair, call: Call) -> Value {
        let tx = self.sign(key, self.next_nonce(key), call);
        self.rpc("tao_submitAndWait", json!([tx, 30_000]))
    }

    fn metagraph(&self) -> Value {
        self.rpc("tao_metagraph", json!([1]))
    }

    /// Polls the metagraph (at most `seconds`) until `ready` holds.
    fn wait_metagraph(&self, what: &str, seconds: u64, ready: impl Fn(&Value) -> bool) -> Value {
        let started = Instant::now();
        loop {
            let m = self.metagraph();
            if ready(&m) {
                return m;
            }
            assert!(started.elapsed() < Duration::from_secs(seconds), "{what}: {m}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn key(uri: &str) -> Keypair {
    Keypair::from_uri(uri).unwrap()
}

/// A subnet at work on the dev chain's subnet 1; what the browser test should find.
fn subnet_at_work(node: &Node) -> Value {
    let (alice, bob, eve) = (key("//Alice"), key("//Bob"), key("//Eve"));
    let (miner, validator) = (key("//Bob//miner"), key("//Eve//validator"));
    let charlie = key("//Charlie").account();
    let ok = |receipt: Value| {
        assert_eq!(receipt["outcome"], "success", "{receipt}");
        receipt
    };
    let netuid = NetUid::new(1);
    // Root lifts the weights rate limit, so the validator's weights need not wait.
    let lift = Hyperparameter::WeightsRateLimit(0);
    ok(node.submit(&alice, Call::SetHyperparameter { netuid, value: lift }));
    for (coldkey, hotkey) in [(&bob, &miner), (&eve, &validator)] {
        let register = Call::BurnedRegister { netuid, hotkey: hotkey.account(), limit_price: None };
        ok(node.submit(coldkey, register));
    }
    let stake = Rao::from_whole(500).unwrap();
    let add =
        Call::AddStake { hotkey: validator.account(), netuid, amount: stake, limit_price: None };
    ok(node.submit(&eve, add));
    let axon = AxonInfo::new([127, 0, 0, 1].into(), 8091);
    ok(node.submit(&miner, Call::ServeAxon { netuid, axon }));
    let m = node.metagraph();
    let uid_of = |m: &Value, hotkey: &Keypair| {
        let hotkeys = m["hotkeys"].as_array().unwrap();
        hotkeys.iter().position(|h| h == &json!(hotkey.ss58())).expect("registered")
    };
    let (miner_uid, validator_uid) = (uid_of(&m, &miner), uid_of(&m, &validator));
    // Permits come with the next epoch (tempo 10 blocks of 500 ms).
    node.wait_metagraph("no validator permit", 30, |m| {
        m["validator_permit"][validator_uid] == json!(true)
    });
    let version_key = m["hyperparameters"]["weights_version"].as_u64().unwrap();
    let weights = Call::SetWeights {
        netuid,
        uids: vec![u16::try_from(miner_uid).unwrap()],
        values: vec![u16::MAX],
        version_key,
    };
    ok(node.submit(&validator, weights));
    // An epoch or two later, Yuma pays the miner incentive and the validator dividends,
    // and the validator holds a bond on the miner.
    node.wait_metagraph("no incentive", 40, |m| {
        m["incentive"][miner_uid].as_u64().unwrap_or(0) > 0
            && m["dividends"][validator_uid].as_u64().unwrap_or(0) > 0
            && m["bonds"][validator_uid].as_array().is_some_and(|row| !row.is_empty())
    });
    // A transfer Bob cannot afford fails in its block (it paid its fee), and one he can
    // afford succeeds.
    let too_much = Call::Transfer { dest: charlie, amount: Rao::new(2_000_000 * TAO) };
    let failed = node.submit(&bob, too_much);
    assert_eq!(failed["outcome"], "failed", "{failed}");
    let fine = Call::TransferKeepAlive { dest: charlie, amount: Rao::from_whole(5).unwrap() };
    let paid = ok(node.submit(&bob, fine));
    json!({
        "netuid": 1,
        "miner_uid": miner_uid,
        "validator_uid": validator_uid,
        "miner_hotkey": miner.ss58(),
        "validator_hotkey": validator.ss58(),
        "validator_coldkey": eve.ss58(),
        "bob": bob.ss58(),
        "charlie": charlie.to_ss58(),
        "failed_tx": failed["tx_hash"],
        "failed_block": failed["block"],
        "failed_error": failed["error"]["name"],
        "paid_tx": paid["tx_hash"],
        "paid_block": paid["block"],
    })
}

/// Governance at work on the dev chain (100-block votes, a 10 TAO deposit, 10 blocks to
/// enactment): Alice stakes on root (to her stash hotkey, subnet 1's owner), proposes a
/// lower subnet limit and votes yes. Three more transactions are signed here for the
/// browser test to send while it watches the live event feed: Eve (stake on subnet 1)
/// votes no, Bob proposes a critical change and cancels it.
fn governance_at_work(node: &Node) -> Value {
    let (alice, bob, eve) = (key("//Alice"), key("//Bob"), key("//Eve"));
    let stash = key("//Alice//stash");
    let ok = |receipt: Value| {
        assert_eq!(receipt["outcome"], "success", "{receipt}");
        receipt
    };
    let stake = Rao::from_whole(2_000).unwrap();
    let add = Call::AddStake {
        hotkey: stash.account(),
        netuid: NetUid::ROOT,
        amount: stake,
        limit_price: None,
    };
    ok(node.submit(&alice, add));
    let propose = Call::Propose {
        calls: vec![PrivilegedCall::SetGlobalParameter(GlobalParameter::SubnetLimit(64))],
        title: "Fewer subnets".into(),
        description: "Sixty-four subnets at most.\nSet by the explorer's browser test.".into(),
    };
    let proposed = ok(node.submit(&alice, propose));
    let submitted = proposed["event_details"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "ProposalSubmitted")
        .cloned()
        .expect("submitted");
    let id = u32::try_from(submitted["proposal"].as_u64().unwrap()).unwrap();
    let vote = Call::Vote { proposal: ProposalId(id), choice: VoteChoice::Yes };
    ok(node.submit(&alice, vote));
    // Signed now, sent by the browser test (nonces: nothing else of Eve's or Bob's is sent).
    let eve_votes = Call::Vote { proposal: ProposalId(id), choice: VoteChoice::No };
    let eve_vote = node.sign(&eve, node.next_nonce(&eve), eve_votes);
    let bob_nonce = node.next_nonce(&bob);
    let critical = Call::Propose {
        calls: vec![PrivilegedCall::SetGlobalParameter(GlobalParameter::GovVotingPeriod(200))],
        title: "Longer votes".into(),
        description: String::new(),
    };
    let bob_propose = node.sign(&bob, bob_nonce, critical);
    let cancel = Call::CancelProposal { proposal: ProposalId(id + 1) };
    let bob_cancel = node.sign(&bob, bob_nonce + 1, cancel);
    json!({
        "proposal": id,
        "proposer": alice.ss58(),
        "eve": eve.ss58(),
        "voting_ends": submitted["voting_ends"],
        "signed": {"eve_vote": eve_vote, "bob_propose": bob_propose, "bob_cancel": bob_cancel},
    })
}

/// A payment channel from Alice to Charlie (50 TAO, expiring far ahead), of which Charlie
/// claims 7 TAO with Alice's voucher.
fn channel_at_work(node: &Node) -> Value {
    let (alice, charlie) = (key("//Alice"), key("//Charlie"));
    let ok = |receipt: Value| {
        assert_eq!(receipt["outcome"], "success", "{receipt}");
        receipt
    };
    let head = node.rpc("tao_chainHead", json!([]))["number"].as_u64().unwrap();
    let open = Call::OpenChannel {
        payee: charlie.account(),
        deposit: Rao::from_whole(50).unwrap(),
        expiry: BlockNumber::new(head + 100_000),
    };
    let opened = ok(node.submit(&alice, open));
    let event =
        opened["event_details"].as_array().unwrap().iter().find(|e| e["kind"] == "ChannelOpened");
    let id = event.expect("opened")["channel"].as_u64().unwrap();
    let genesis = node.rpc("tao_genesisHash", json!([]));
    let bytes: [u8; 32] = hex::decode(genesis.as_str().unwrap()).unwrap().try_into().unwrap();
    let voucher = Voucher {
        genesis_hash: Hash(bytes),
        channel: ChannelId::new(id),
        amount: Rao::from_whole(7).unwrap(),
    };
    let signature = Signature(alice.sign(&voucher.signing_payload()).unwrap());
    ok(node.submit(&charlie, Call::ClaimChannel { voucher: SignedVoucher { voucher, signature } }));
    json!({"id": id, "payer": alice.ss58(), "payee": charlie.ss58()})
}

fn driver_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("explorer")
}

#[test]
fn the_explorer_serves_only_its_files_with_a_policy() {
    let node = Node::start("serves");
    assert!(node.explorer.ends_with("/explorer/"), "{}", node.explorer);
    let (status, head, body) = node.http("GET", "/explorer/", "");
    assert_eq!(status, 200);
    assert!(body.contains("<script type=\"module\" src=\"app.js\">"), "{body}");
    let head = head.to_ascii_lowercase();
    assert!(head.contains("content-type: text/html; charset=utf-8"), "{head}");
    assert!(head.contains("content-security-policy: default-src 'none'; script-src 'self'"));
    assert!(head.contains("x-content-type-options: nosniff"));
    let (status, head, _) = node.http("GET", "/explorer/app.js", "");
    assert_eq!(status, 200);
    assert!(head.to_ascii_lowercase().contains("content-type: text/javascript"), "{head}");
    for hostile in ["/explorer/../Cargo.toml", "/explorer/%2e%2e/src/main.rs", "/explorer/x"] {
        assert_eq!(node.http("GET", hostile, "").0, 404, "{hostile}");
    }
    assert_eq!(node.http("POST", "/explorer/", "{}").0, 405);
    assert_eq!(node.http("GET", "/", "").0, 308, "a browser at the node's address is sent on");
    // A page of the node's own origin may call the RPC when reached by its IP address; one
    // reached by a host name (DNS rebinding: evil.example resolving to the node) may not.
    let call = r#"{"jsonrpc":"2.0","id":1,"method":"tao_health","params":[]}"#;
    let from = |origin: &str, host: &str| {
        let mut stream = TcpStream::connect(node.rpc).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let request = format!(
            "POST / HTTP/1.1\r\nHost: {host}\r\nOrigin: {origin}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{call}",
            call.len()
        );
        stream.write_all(request.as_bytes()).unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response.split_whitespace().nth(1).unwrap().parse::<u16>().unwrap()
    };
    let port = node.rpc.port();
    assert_eq!(from(&format!("http://127.0.0.1:{port}"), &format!("127.0.0.1:{port}")), 200);
    let rebound = format!("http://evil.example:{port}");
    assert_eq!(from(&rebound, &format!("evil.example:{port}")), 403);
    // The RPC still answers on the same port.
    assert_eq!(node.rpc("tao_apiVersion", json!([])), tao_rpc_api::API_VERSION);
}

#[test]
fn the_explorer_shows_the_chain_live_in_headless_chromium() {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: `apt-get install -y chromium` (scripts/test does it)"
    );
    let driver = driver_dir();
    assert!(
        driver.join("node_modules").join("playwright-core").exists(),
        "run `npm ci` in {} (scripts/test does it)",
        driver.display()
    );
    let node = Node::start("browser");
    let mut facts = subnet_at_work(&node);
    facts["governance"] = governance_at_work(&node);
    facts["channel"] = channel_at_work(&node);
    let target = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target");
    let screenshots = target.join("explorer-screenshots");
    std::fs::create_dir_all(&screenshots).unwrap();
    let status = Command::new("node")
        .arg(driver.join("drive.mjs"))
        .env("EXPLORER_URL", &node.explorer)
        .env("RPC_URL", format!("http://{}/", node.rpc))
        .env("EXPLORER_FACTS", facts.to_string())
        .env("SCREENSHOTS", &screenshots)
        .env("CHROMIUM", CHROMIUM)
        .status()
        .expect("node (Node.js) runs");
    assert!(status.success(), "the browser test failed (its output is above)");
}
