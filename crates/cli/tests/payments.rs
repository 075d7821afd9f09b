//! Payments on a local network of real processes over 127.0.0.1: a `tao-node --dev`, two
//! `textpred` miners selling requests (`--price`), and a consumer running `tao query`
//! (channels opened, many paid requests). One miner is SIGKILLed with its vouchers
//! unclaimed and restarted on the same voucher directory; both miners claim before expiry;
//! the consumer closes the expired channels. Every balance is checked to the RAO: each
//! channel's deposit = claimed + refunded, the consumer paid exactly the claims and its
//! fees, each miner's hotkey received exactly its claims less its claim fees, and the
//! chain's burned fees are the sum of everyone's.

use common::Tao;
use serde_json::Value;
use std::{
    path::PathBuf,
    process::{Child, Command, Output},
    time::{Duration, Instant},
};
use tao_testkit::DevNode;

mod common;

const PRICE_RAO: u64 = 100_000; // 0.0001 TAO
const GENERATE: u64 = 12; // requests per miner

struct Net {
    _node: DevNode,
    endpoint: String,
    root: PathBuf,
    miners: Vec<Option<Child>>,
}

impl Drop for Net {
    fn drop(&mut self) {
        for child in self.miners.iter_mut().flatten() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

impl Net {
    fn cli(&self) -> Tao {
        Tao { endpoint: self.endpoint.clone(), wallets: self.root.join("wallets"), env: Vec::new() }
    }

    fn tao(&self, args: &[&str]) -> Output {
        self.cli().run(args)
    }

    fn ok(&self, name: &str, args: &[&str]) -> Value {
        self.cli().ok(name, args)
    }

    fn show(&self, name: &str, key: &str) -> String {
        self.ok(name, &["wallet", "show"])[key].as_str().unwrap().to_owned()
    }

    fn account(&self, address: &str) -> (u64, u64) {
        let b = self.ok("alice", &["wallet", "balance", "--ss58", address]);
        (b["free"].as_u64().unwrap(), b["nonce"].as_u64().unwrap())
    }

    /// TAO burned as fees since genesis (`tao_issuance`), and whether `held` (channels
    /// included) adds up to the issuance.
    fn total_fees(&self) -> u64 {
        use tao_sdk::chain::{api::method, ChainClient};
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let issuance = runtime.block_on(async {
            let chain = ChainClient::new(&self.endpoint).unwrap();
            chain.request::<method::Issuance>(()).await.unwrap()
        });
        let held = &issuance.held;
        assert_eq!(
            held.free.0 + held.pools.0 + held.root_stake.0 + held.deposits.0 + held.channels.0,
            u128::from(issuance.total_issuance.0),
            "TAO not conserved"
        );
        issuance.total_fees.0
    }

    fn start_miner(&mut self, i: usize) {
        let name = format!("miner{i}");
        let log = std::fs::File::create(self.root.join(format!("{name}.log"))).unwrap();
        let child = Command::new(tao_testkit::binary("tao-textpred", "textpred"))
            .args(["--endpoint", &self.endpoint, "--wallet-path"])
            .arg(self.root.join("wallets"))
            .args(["--wallet-name", &name, "--netuid", "1", "miner", "--model", "unigram"])
            .args(["--port", "0", "--price", "0.0001", "--min-blocks-left", "20", "--vouchers"])
            .arg(self.root.join(format!("vouchers-{name}")))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        self.miners[i] = Some(child);
    }
}

/// Polls `check` every 100 ms until it gives a value, at most `limit`.
fn poll<T>(what: &str, limit: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(started.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn consumers_pay_miners_per_request_and_every_rao_is_accounted_for() {
    let root = std::env::temp_dir().join(format!("tao-cli-payments-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let node = DevNode::start("cli-payments");
    let mut net = Net { endpoint: node.url(), _node: node, root, miners: vec![None, None] };
    poll("the node", Duration::from_secs(30), || {
        net.tao(&["chain", "head"]).status.success().then_some(())
    });

    // Wallets: Alice funds a consumer and two miners (each hotkey keeps 1 TAO for claim fees).
    net.ok("alice", &["wallet", "regen-coldkey", "--uri", "//Alice", "--no-password"]);
    for name in ["consumer", "miner0", "miner1"] {
        net.ok(name, &["wallet", "create", "--no-password", "--no-backup"]);
        let coldkey = net.show(name, "coldkey");
        net.ok("alice", &["wallet", "transfer", "--dest", &coldkey, "--amount", "20", "-y"]);
    }
    for name in ["miner0", "miner1"] {
        net.ok(name, &["subnets", "register", "--netuid", "1", "-y"]);
        let hotkey = net.show(name, "hotkey");
        net.ok("alice", &["wallet", "transfer", "--dest", &hotkey, "--amount", "1", "-y"]);
    }
    let hotkeys: Vec<String> = ["miner0", "miner1"].iter().map(|n| net.show(n, "hotkey")).collect();
    let consumer = net.show("consumer", "coldkey");
    net.start_miner(0);
    net.start_miner(1);
    poll("both axons on chain", Duration::from_secs(90), || {
        let m = net.ok("alice", &["subnets", "show", "--netuid", "1"]);
        let served = hotkeys.iter().all(|h| {
            let uid = m["hotkeys"].as_array().unwrap().iter().position(|k| k == h.as_str());
            uid.is_some_and(|u| !m["axons"][u].is_null())
        });
        served.then_some(())
    });

    let before: Vec<(u64, u64)> = hotkeys.iter().map(|h| net.account(h)).collect();
    let (consumer_before, _) = net.account(&consumer);
    let fees_before = net.total_fees();

    // The consumer asks both miners: the next-character distribution and a continuation,
    // GENERATE paid requests each, through one channel per miner.
    let generate = GENERATE.to_string();
    let answer = net.ok(
        "consumer",
        &[
            "query",
            "--netuid",
            "1",
            "--top",
            "5",
            "--text",
            "the cat ",
            "--generate",
            &generate,
            "--budget",
            "0.1",
            "--max-price",
            "0.001",
            "--deposit",
            "0.01",
            "--channel-blocks",
            "150",
        ],
    );
    let miners = answer["miners"].as_array().unwrap();
    let paid_miners: Vec<&Value> =
        miners.iter().filter(|m| hotkeys.iter().any(|h| m["hotkey"] == h.as_str())).collect();
    assert_eq!(paid_miners.len(), 2, "{answer}");
    for m in &paid_miners {
        assert!(m["error"].is_null(), "{m}");
        assert_eq!(m["requests"], GENERATE, "{m}");
        assert_eq!(m["paid"], GENERATE * PRICE_RAO, "{m}");
        assert!(m["distribution"].as_object().is_some_and(|d| !d.is_empty()), "{m}");
        assert_eq!(m["generated"].as_str().unwrap().chars().count() as u64, GENERATE, "{m}");
    }
    assert_eq!(answer["spent"], 2 * GENERATE * PRICE_RAO);
    let channels = answer["channels"].as_array().unwrap().clone();
    assert_eq!(channels.len(), 2, "{answer}");
    let open_fees = answer["fees"].as_u64().unwrap();

    // Nothing is claimed yet (claims come near the expiry).
    let list = net.ok("consumer", &["pay", "channels"]);
    assert!(list["channels"].as_array().unwrap().iter().all(|c| c["claimed"] == 0), "{list}");
    // Miner 1 is killed with its vouchers unclaimed, and restarted on the same directory.
    let miner1 = net.miners[1].as_mut().unwrap();
    miner1.kill().unwrap();
    miner1.wait().unwrap();
    let written: u64 = std::fs::read_dir(net.root.join("vouchers-miner1"))
        .unwrap()
        .map(|f| f.unwrap().metadata().unwrap().len())
        .sum();
    assert!(written > 0, "the killed miner kept its voucher on disk");
    net.start_miner(1);

    // Both claim before the channels expire; then the consumer closes them.
    let ids: Vec<u64> = channels.iter().map(|c| c["id"].as_u64().unwrap()).collect();
    let listed = poll("the claims", Duration::from_secs(90), || {
        let list = net.ok("consumer", &["pay", "channels"]);
        let list = list["channels"].as_array().unwrap().clone();
        let claimed =
            list.iter().filter(|c| c["claimed"].as_u64() == Some(GENERATE * PRICE_RAO)).count();
        (claimed == 2).then_some(list)
    });
    assert_eq!(listed.len(), 2);
    let mut close_fees = 0;
    let mut refunded = 0;
    for id in &ids {
        let id = id.to_string();
        let receipt = poll("the expiry", Duration::from_secs(60), || {
            let out = net.tao(&[
                "--json",
                "--wallet-name",
                "consumer",
                "pay",
                "close",
                "--channel",
                &id,
                "-y",
            ]);
            out.status.success().then(|| serde_json::from_slice::<Value>(&out.stdout).unwrap())
        });
        close_fees += receipt["fee"].as_u64().unwrap();
        let closed = receipt["event_details"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["kind"] == "ChannelClosed")
            .unwrap()
            .clone();
        let (refund, claimed) =
            (closed["refund"].as_u64().unwrap(), closed["claimed"].as_u64().unwrap());
        // deposit = claimed + refunded, to the RAO.
        assert_eq!(claimed, GENERATE * PRICE_RAO);
        assert_eq!(refund + claimed, 10_000_000, "deposit 0.01 TAO");
        refunded += refund;
    }
    assert!(net.ok("consumer", &["pay", "channels"])["channels"].as_array().unwrap().is_empty());

    // Every balance, to the RAO.
    let claimed_total = 2 * GENERATE * PRICE_RAO;
    let (consumer_after, _) = net.account(&consumer);
    assert_eq!(consumer_before - consumer_after, claimed_total + open_fees + close_fees);
    assert_eq!(refunded, 2 * 10_000_000 - claimed_total);
    let mut claim_fees = 0;
    for (i, hotkey) in hotkeys.iter().enumerate() {
        let (free, nonce) = net.account(hotkey);
        let claims = nonce - before[i].1;
        assert!(claims >= 1, "miner {i} claimed");
        // Every claim is the same size, so the same fee.
        let fee = (before[i].0 + GENERATE * PRICE_RAO - free) / claims;
        assert_eq!(free, before[i].0 + GENERATE * PRICE_RAO - claims * fee, "miner {i}");
        claim_fees += claims * fee;
    }
    assert_eq!(net.total_fees() - fees_before, open_fees + close_fees + claim_fees);

    // `tao pay` by hand: a dry run changes nothing; open, top up; closing early is refused
    // before anything is sent (exit 4, the chain's reason named).
    let payee = &hotkeys[0];
    let (free0, nonce0) = net.account(&consumer);
    let dry =
        net.ok("consumer", &["pay", "open", "--payee", payee, "--deposit", "0.5", "--dry-run"]);
    assert_eq!(dry["dry_run"], true);
    assert_eq!(net.account(&consumer), (free0, nonce0));
    let opened = net.ok(
        "consumer",
        &["pay", "open", "--payee", payee, "--deposit", "0.5", "--blocks", "900", "-y"],
    );
    let event = opened["event_details"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "ChannelOpened")
        .unwrap()
        .clone();
    let id = event["channel"].as_u64().unwrap().to_string();
    assert!(!ids.contains(&event["channel"].as_u64().unwrap()), "channel ids are never reused");
    let topped = net.ok("consumer", &["pay", "top-up", "--channel", &id, "--amount", "0.25", "-y"]);
    let event = topped["event_details"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "ChannelToppedUp")
        .unwrap()
        .clone();
    assert_eq!(event["deposit"], 750_000_000);
    let listed = net.ok("consumer", &["pay", "channels"]);
    assert_eq!(listed["channels"][0]["deposit"], 750_000_000);
    let before_close = net.account(&consumer);
    let out =
        net.tao(&["--json", "--wallet-name", "consumer", "pay", "close", "--channel", &id, "-y"]);
    assert_eq!(out.status.code(), Some(4));
    let failure: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(failure["error"]["name"], "ChannelNotExpired", "{failure}");
    assert_eq!(net.account(&consumer), before_close, "a refused close costs nothing");

    // The budget: 0.00035 TAO buys three requests at 0.0001; the fourth is refused with a
    // typed error, nothing signed beyond it (open channels are reused, not reopened).
    let answer = net.ok(
        "consumer",
        &[
            "query",
            "--netuid",
            "1",
            "--top",
            "1",
            "--text",
            "a ",
            "--generate",
            "6",
            "--budget",
            "0.00035",
            "--deposit",
            "0.001",
        ],
    );
    let miner = &answer["miners"][0];
    assert_eq!(miner["requests"], 3, "{answer}");
    assert!(miner["error"].as_str().unwrap().contains("budget exhausted"), "{answer}");
    assert_eq!(answer["spent"], 3 * PRICE_RAO);

    // Small deposits: a channel running dry is topped up, and a reused channel whose
    // miner holds more than the chain says claimed is resynchronised from the 402.
    let answer = net.ok(
        "consumer",
        &[
            "query",
            "--netuid",
            "1",
            "--top",
            "2",
            "--text",
            "a ",
            "--generate",
            "12",
            "--budget",
            "0.01",
            "--deposit",
            "0.001",
        ],
    );
    for miner in answer["miners"].as_array().unwrap() {
        assert!(miner["error"].is_null(), "{answer}");
        assert_eq!(miner["requests"], 12, "{answer}");
    }
    assert_eq!(answer["spent"], 24 * PRICE_RAO, "{answer}");
    let channels = answer["channels"].as_array().unwrap();
    assert!(channels.iter().any(|c| c["deposit"] == 2_000_000), "a top-up: {answer}");
}
