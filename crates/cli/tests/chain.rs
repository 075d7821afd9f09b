//! The `tao` chain commands against a real `tao-node --dev` process on 127.0.0.1: a user
//! funds wallets, creates a subnet, registers, stakes, sets weights, serves an axon and reads
//! the metagraph, all through the binary, checking the chain after each step; bad input gets
//! a clear error and changes nothing.

use common::Tao;
use serde_json::{json, Value};
use std::{
    path::PathBuf,
    process::{Command, Output, Stdio},
    time::{Duration, Instant},
};
use tao_testkit::DevNode;

mod common;

struct Net {
    /// Stopped (and its directory removed) when the network is dropped.
    _node: DevNode,
    cli: Tao,
    base: PathBuf,
}

impl Net {
    fn start(tag: &str) -> Self {
        let root = std::env::temp_dir().join(format!("tao-cli-chain-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let node = DevNode::start(&format!("cli-{tag}"));
        let cli = Tao {
            endpoint: node.url(),
            wallets: root.join("wallets"),
            env: vec![("TAO_PW", "correct horse battery"), ("TAO_WRONG_PW", "nope")],
        };
        let net = Self { cli, _node: node, base: root };
        let started = Instant::now();
        while !net.tao(&["chain", "head"]).status.success() {
            assert!(started.elapsed() < Duration::from_secs(30), "node did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        net
    }

    fn tao(&self, args: &[&str]) -> Output {
        self.cli.run(args)
    }

    /// Runs `tao --json <args>` for wallet `name`, which must succeed; returns its JSON.
    fn ok(&self, name: &str, args: &[&str]) -> Value {
        self.cli.ok(name, args)
    }

    /// Runs a command that must fail with `code`; returns its stderr.
    fn fails(&self, name: &str, args: &[&str], code: i32) -> String {
        self.cli.fails(name, args, code)
    }

    fn address(&self, name: &str) -> String {
        self.ok(name, &["wallet", "show"])["coldkey"].as_str().unwrap().to_owned()
    }

    fn hotkey(&self, name: &str) -> String {
        self.ok(name, &["wallet", "show"])["hotkey"].as_str().unwrap().to_owned()
    }

    fn free(&self, name: &str) -> u64 {
        self.ok(name, &["wallet", "balance"])["free"].as_u64().unwrap()
    }

    fn nonce(&self, name: &str) -> u64 {
        self.ok(name, &["wallet", "balance"])["nonce"].as_u64().unwrap()
    }

    fn metagraph(&self, netuid: u16) -> Value {
        self.ok("alice", &["subnets", "show", "--netuid", &netuid.to_string()])
    }

    fn uid_of(&self, netuid: u16, hotkey: &str) -> usize {
        let m = self.metagraph(netuid);
        m["hotkeys"].as_array().unwrap().iter().position(|h| h == hotkey).expect("registered")
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.base);
    }
}

const TAO: u64 = 1_000_000_000;

/// Root lifts the weights rate limit of the dev subnet (so tests need not wait).
const LIFT_WEIGHTS_RATE_LIMIT: [&str; 8] = [
    "subnets",
    "set-hyperparameter",
    "--netuid",
    "1",
    "--param",
    "weights_rate_limit",
    "--value",
    "0",
];

fn wallets(net: &Net, names: &[&str]) {
    net.ok("alice", &["wallet", "regen-coldkey", "--uri", "//Alice", "--no-password"]);
    net.ok("alice", &["wallet", "new-hotkey", "--no-password"]);
    for name in names {
        net.ok(name, &["wallet", "create", "--no-password"]);
    }
}

fn fund(net: &Net, name: &str, tao: &str) {
    let dest = net.address(name);
    let receipt = net.ok("alice", &["wallet", "transfer", "--dest", &dest, "--amount", tao]);
    assert_eq!(receipt["outcome"], "success");
}

#[test]
fn a_subnet_at_work_through_the_cli() {
    let net = Net::start("work");
    wallets(&net, &["miner", "validator"]);
    fund(&net, "miner", "10");
    fund(&net, "validator", "1000");
    assert_eq!(net.free("miner"), 10 * TAO);
    assert_eq!(net.free("validator"), 1000 * TAO);

    // Root (Alice) lifts the weights rate limit on the dev subnet, so the test need not wait.
    net.ok("alice", &LIFT_WEIGHTS_RATE_LIMIT);
    let m = net.metagraph(1);
    assert_eq!(m["hyperparameters"]["weights_rate_limit"], 0);

    // A price guard below the price refuses, and nothing is paid.
    let before = net.free("miner");
    let err =
        net.fails("miner", &["subnets", "register", "--netuid", "1", "--max-burn", "0.000001"], 2);
    assert!(err.contains("above --max-burn"), "{err}");
    assert_eq!(net.free("miner"), before);

    let burn =
        net.ok("miner", &["subnets", "burn-cost", "--netuid", "1"])["burn_cost"].as_u64().unwrap();
    net.ok("miner", &["subnets", "register", "--netuid", "1", "--max-burn", "5"]);
    net.ok("validator", &["subnets", "register", "--netuid", "1"]);
    let miner_hot = net.hotkey("miner");
    let validator_hot = net.hotkey("validator");
    let miner_uid = net.uid_of(1, &miner_hot);
    let validator_uid = net.uid_of(1, &validator_hot);
    // The burn decays a little each block between the quote and the registration.
    let paid = before - net.free("miner");
    assert!(
        paid >= burn * 9 / 10 && paid <= burn + TAO / 1000,
        "the miner paid the burn: {paid} vs {burn}"
    );

    // The validator stakes to its own hotkey and gets alpha.
    net.ok("validator", &["stake", "add", "--netuid", "1", "--amount", "500"]);
    let stakes = net.ok("validator", &["stake", "list"])["stakes"].clone();
    let alpha = stakes
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["netuid"] == 1 && s["hotkey"] == validator_hot.as_str())
        .map(|s| {
            let decimal: tao_primitives::AlphaRao =
                s["alpha_decimal"].as_str().unwrap().parse().unwrap();
            assert_eq!(decimal.get(), s["alpha"].as_u64().unwrap());
            decimal.get()
        })
        .expect("a stake on subnet 1");
    assert!(alpha > 0);
    assert_eq!(net.metagraph(1)["alpha_stake"][validator_uid], alpha);

    // The miner publishes its axon; the validator weights the miner.
    net.ok("miner", &["axon", "serve", "--netuid", "1", "--ip", "127.0.0.1", "--port", "8091"]);
    let m = net.metagraph(1);
    assert_eq!(m["axons"][miner_uid]["ip"], "127.0.0.1");
    assert_eq!(m["axons"][miner_uid]["port"], 8091);
    // Validator permits are handed out at the next epoch.
    let started = Instant::now();
    while net.metagraph(1)["validator_permit"][validator_uid] != true {
        assert!(started.elapsed() < Duration::from_secs(20), "no validator permit");
        std::thread::sleep(Duration::from_millis(100));
    }
    net.ok(
        "validator",
        &["weights", "set", "--netuid", "1", "--uids", &miner_uid.to_string(), "--weights", "1"],
    );
    let row = net.metagraph(1)["weights"][validator_uid].clone();
    assert_eq!(row, serde_json::json!([[miner_uid, 65535]]));

    // Within a few epochs (tempo 10 blocks of 100 ms) Yuma pays the miner.
    let started = Instant::now();
    loop {
        let m = net.metagraph(1);
        if m["incentive"][miner_uid].as_u64().unwrap_or(0) > 0 {
            assert_eq!(
                m["incentive"][miner_uid], 65535,
                "the only weighted miner gets all incentive"
            );
            assert!(m["dividends"][validator_uid].as_u64().unwrap() > 0);
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(40), "no incentive: {m}");
        std::thread::sleep(Duration::from_millis(200));
    }

    // Give one alpha to the miner's coldkey, and move one to the miner's hotkey.
    let miner_cold = net.address("miner");
    net.ok(
        "validator",
        &["stake", "transfer", "--origin-netuid", "1", "--amount", "1", "--dest", &miner_cold],
    );
    let given = net.ok("miner", &["stake", "list"])["stakes"].clone();
    // (The miner's coldkey also holds its own incentive, staked to its own hotkey.)
    let on_validator = given
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["hotkey"] == validator_hot.as_str())
        .unwrap_or_else(|| panic!("given: {given}"));
    assert!(on_validator["alpha"].as_u64().unwrap().abs_diff(TAO) <= 2, "{given}");
    net.ok(
        "validator",
        &["stake", "move", "--origin-netuid", "1", "--amount", "1", "--dest", &miner_hot],
    );
    let moved = net.ok("validator", &["stake", "list"])["stakes"].clone();
    let on_miner = moved
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["hotkey"] == miner_hot.as_str())
        .expect("moved");
    assert!(on_miner["alpha"].as_u64().unwrap().abs_diff(TAO) <= 2, "{moved}");
    // A swap to the same subnet is refused before anything is sent.
    net.fails("validator", &["stake", "swap", "--origin-netuid", "1", "--amount", "1"], 2);

    // Unstake everything back.
    let free = net.free("validator");
    net.ok("validator", &["stake", "remove", "--netuid", "1", "--all"]);
    assert!(net.free("validator") > free);
}

#[test]
fn create_a_subnet_and_configure_it() {
    let net = Net::start("create");
    wallets(&net, &["owner"]);
    let lock = net.ok("owner", &["subnets", "lock-cost"])["lock_cost"].as_u64().unwrap();
    // Without funds the creation is refused before anything is sent.
    let err = net.fails("owner", &["subnets", "create"], 4);
    assert!(err.contains("nothing was submitted"), "{err}");
    assert_eq!(net.nonce("owner"), 0);

    fund(&net, "owner", "1000");
    let receipt = net.ok("owner", &["subnets", "create"]);
    assert_eq!(receipt["outcome"], "success");
    let list = net.ok("owner", &["subnets", "list"]);
    let owner = net.address("owner");
    let created = list
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["owner_coldkey"] == owner.as_str())
        .expect("listed");
    let netuid = created["netuid"].as_u64().unwrap().to_string();
    assert_eq!(created["pool_tao"], lock);
    assert!(net.free("owner") <= 1000 * TAO - lock);

    net.ok("owner", &["subnets", "start", "--netuid", &netuid]);
    assert_eq!(net.ok("owner", &["subnets", "list"])[1]["emission_started"], true);
    let set = ["subnets", "set-hyperparameter", "--netuid", &netuid];
    net.ok(
        "owner",
        &[&set[..], &["--param", "commit_reveal_weights_enabled", "--value", "false"]].concat(),
    );
    assert_eq!(
        net.metagraph(netuid.parse().unwrap())["hyperparameters"]["commit_reveal_weights_enabled"],
        false
    );
    // Root-only parameters and out-of-range values are refused with the reason, unsent.
    let nonce = net.nonce("owner");
    let err = net.fails("owner", &[&set[..], &["--param", "kappa", "--value", "100"]].concat(), 4);
    assert!(err.contains("only root"), "{err}");
    let err = net.fails("owner", &[&set[..], &["--param", "tempo", "--value", "10"]].concat(), 4);
    assert!(err.contains("range") && err.contains("by the owner to: 360..=50400"), "{err}");
    let err = net.fails("owner", &[&set[..], &["--param", "nope", "--value", "1"]].concat(), 2);
    assert!(err.contains("unknown hyperparameter"), "{err}");
    // Changed too recently: the refusal names the last change and when the next may be
    // made (two tempos of 360 blocks later), with the time from now.
    let again =
        [&set[..], &["--param", "commit_reveal_weights_enabled", "--value", "true"]].concat();
    let err = net.fails("owner", &again, 4);
    let last = number_after(&err, "at block #") as u64;
    let next = number_after(&err, "again from block #") as u64;
    assert_eq!(next, last + 720, "{err}");
    assert!(
        err.contains(&format!("possible from block #{next}")) && err.contains(" from now"),
        "{err}"
    );
    assert_eq!(net.nonce("owner"), nonce);

    // A tempo change in the blocks just before an epoch is refused, even to root, with the
    // epoch's block and the time to it (the dev subnet's tempo of 10 is always that close).
    // (One block in eleven is the epoch's own, outside the window: a dry run there passes
    // and the transaction lands frozen in the next block, fee charged. That race is
    // retried, a bounded number of times; the refusal before sending is what is checked.)
    let tempo =
        ["subnets", "set-hyperparameter", "--netuid", "1", "--param", "tempo", "--value", "20"];
    for attempt in 1..=5 {
        let alice_nonce = net.nonce("alice");
        let err = net.fails("alice", &tempo, 4);
        if err.contains("failed in block") && attempt < 5 {
            assert!(err.contains("frozen"), "{err}");
            continue;
        }
        assert!(err.contains("frozen") && err.contains("the next epoch runs at block #"), "{err}");
        assert_eq!(net.nonce("alice"), alice_nonce, "nothing was sent");
        break;
    }
}

#[test]
fn bad_input_is_refused_and_changes_nothing() {
    let net = Net::start("bad");
    wallets(&net, &["poor"]);
    net.ok("locked", &["wallet", "create", "--password-env", "TAO_PW"]);
    fund(&net, "locked", "10");
    let alice_before = net.free("alice");
    let alice_nonce = net.nonce("alice");

    // Malformed address, missing wallet, zero amount: user errors (exit 2).
    let err = net.fails("alice", &["wallet", "transfer", "--dest", "5Nope", "--amount", "1"], 2);
    assert!(err.contains("not a valid address"), "{err}");
    let err = net.fails(
        "ghost",
        &["wallet", "transfer", "--dest", &net.address("poor"), "--amount", "1"],
        2,
    );
    assert!(err.contains("tao wallet create"), "{err}");
    net.fails("alice", &["wallet", "transfer", "--dest", &net.address("poor"), "--amount", "0"], 2);
    net.fails(
        "alice",
        &["wallet", "transfer", "--dest", &net.address("poor"), "--amount", "1.0000000001"],
        2,
    );

    // Wrong password: refused before anything is signed.
    let poor = net.address("poor");
    let err = net.fails(
        "locked",
        &["wallet", "transfer", "--dest", &poor, "--amount", "1", "--password-env", "TAO_WRONG_PW"],
        2,
    );
    assert!(err.to_lowercase().contains("password"), "{err}");
    assert_eq!(net.free("locked"), 10 * TAO);
    // The right password works.
    net.ok(
        "locked",
        &["wallet", "transfer", "--dest", &poor, "--amount", "1", "--password-env", "TAO_PW"],
    );
    assert_eq!(net.free("poor"), TAO);

    // Insufficient balance: the chain would refuse, so nothing is sent (exit 4).
    let err = net.fails(
        "poor",
        &["wallet", "transfer", "--dest", &net.address("alice"), "--amount", "5"],
        4,
    );
    assert!(err.contains("nothing was submitted"), "{err}");
    assert_eq!(net.free("poor"), TAO);
    assert_eq!(net.nonce("poor"), 0);

    // A dry run shows the fee and sends nothing.
    let dry =
        net.ok("alice", &["wallet", "transfer", "--dest", &poor, "--amount", "1", "--dry-run"]);
    assert_eq!(dry["dry_run"], true);
    assert!(dry["receipt"]["fee"].as_u64().unwrap() > 0);
    // Amounts come as exact integers in RAO and as decimal TAO strings.
    let fee_tao: tao_primitives::Rao = dry["fee_tao"].as_str().unwrap().parse().unwrap();
    assert_eq!(fee_tao.get(), dry["receipt"]["fee"].as_u64().unwrap());
    let balance = net.ok("poor", &["wallet", "balance"]);
    assert_eq!(balance["free_tao"], "1", "{balance}");
    let lock = net.ok("poor", &["subnets", "lock-cost"]);
    let lock_tao: tao_primitives::Rao = lock["lock_cost_tao"].as_str().unwrap().parse().unwrap();
    assert_eq!(lock_tao.get(), lock["lock_cost"].as_u64().unwrap());
    assert_eq!(net.nonce("alice"), alice_nonce);
    assert_eq!(net.free("alice"), alice_before);

    // Back-to-back sends without waiting take consecutive nonces and all land.
    let poor_before = net.free("poor");
    for _ in 0..3 {
        let pending =
            net.ok("alice", &["wallet", "transfer", "--dest", &poor, "--amount", "1", "--no-wait"]);
        assert_eq!(pending["status"], "pending");
    }
    let started = Instant::now();
    while net.free("poor") != poor_before + 3 * TAO {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the queued transfers did not all land"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(net.nonce("alice"), alice_nonce + 3);

    // No node at the endpoint: a network error (exit 3) with a hint.
    let out = Command::new(env!("CARGO_BIN_EXE_tao"))
        .args(["--endpoint", "http://127.0.0.1:9", "chain", "head"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("tao-node --dev"));
}

#[test]
fn commit_reveal_pow_delegates_root_overview_and_config() {
    let net = Net::start("more");
    wallets(&net, &["val", "m1", "m2"]);
    fund(&net, "val", "2000");
    let set = ["subnets", "set-hyperparameter", "--netuid", "1"];
    for (param, value) in [
        ("pow_registration_allowed", "true"),
        ("difficulty", "1000"),
        ("weights_rate_limit", "0"),
        ("commit_reveal_weights_enabled", "true"),
    ] {
        net.ok("alice", &[&set[..], &["--param", param, "--value", value]].concat());
    }

    // Proof of work: the hotkey registers without paying (its coldkey holds nothing).
    // The search runs on the threads asked for (default: every core).
    for (miner, threads) in [("m1", "1"), ("m2", "3")] {
        let receipt =
            net.ok(miner, &["subnets", "register", "--netuid", "1", "--pow", "--threads", threads]);
        assert_eq!(receipt["outcome"], "success", "{receipt}");
        assert!(receipt["hashes"].as_u64().unwrap() > 0);
        assert_eq!(receipt["threads"].to_string(), threads);
        assert_eq!(receipt["difficulty"], 1000);
        assert_eq!(net.free(miner), 0);
    }
    let (m1, m2) = (net.uid_of(1, &net.hotkey("m1")), net.uid_of(1, &net.hotkey("m2")));
    net.ok("val", &["subnets", "register", "--netuid", "1"]);
    net.ok("val", &["stake", "add", "--netuid", "1", "--amount", "1000"]);
    let val = net.uid_of(1, &net.hotkey("val"));
    let started = Instant::now();
    while net.metagraph(1)["validator_permit"][val] != true {
        assert!(started.elapsed() < Duration::from_secs(30), "no validator permit");
        std::thread::sleep(Duration::from_millis(100));
    }

    // Commit-reveal by hand: the reveal data waits in the wallet until revealed.
    let weights = |uids: &str, values: &str| {
        ["--netuid", "1", "--uids", uids, "--weights", values].map(str::to_owned).to_vec()
    };
    let args = weights(&m1.to_string(), "1");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    net.ok("val", &[&["weights", "commit"][..], &args].concat());
    let pending = net.cli.wallets.join("val/commits").join(format!("{}-1.json", net.hotkey("val")));
    assert!(pending.exists());
    net.ok("val", &["weights", "reveal", "--netuid", "1", "--wait"]);
    assert!(!pending.exists(), "revealed commits are forgotten");
    assert_eq!(net.metagraph(1)["weights"][val], json!([[m1, 65535]]));
    let err = net.fails("val", &["weights", "reveal", "--netuid", "1"], 2);
    assert!(err.contains("no committed weights"), "{err}");

    // `set` chooses commit-reveal by itself here.
    let args = weights(&format!("{m1},{m2}"), "1,3");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let receipt = net.ok("val", &[&["weights", "set"][..], &args].concat());
    assert!(receipt["events"][0].as_str().unwrap().contains("WeightsSet"), "{receipt}");
    assert_eq!(net.metagraph(1)["weights"][val], json!([[m1, 21845], [m2, 65535]]));

    // Delegates: the take, lowered freely; root stake in and out.
    let hotkey = net.hotkey("val");
    let find = |list: &Value| {
        list.as_array().unwrap().iter().find(|d| d["hotkey"] == hotkey.as_str()).cloned()
    };
    let before = find(&net.ok("val", &["delegate", "list"])).expect("listed");
    assert!(before["nominators"].as_u64().unwrap() >= 1);
    net.ok("val", &["delegate", "set-take", "--take", "0.1"]);
    assert_eq!(find(&net.ok("val", &["delegate", "list"])).unwrap()["take"], 6554);
    let err = net.fails("val", &["delegate", "set-take", "--take", "0.1"], 2);
    assert!(err.contains("already"), "{err}");
    net.ok("val", &["root", "stake", "--amount", "10"]);
    let roots = net.ok("val", &["root", "list"]);
    assert_eq!(roots["root_stakes"], json!([{"hotkey": hotkey, "tao": 10 * TAO}]));
    net.ok("val", &["root", "unstake", "--all"]);
    assert_eq!(net.ok("val", &["root", "list"])["root_stakes"], json!([]));

    // The overview finds the wallet's neuron.
    let overview = net.ok("val", &["wallet", "overview"]);
    let neuron = &overview["neurons"][0];
    assert_eq!((neuron["netuid"].as_u64(), neuron["uid"].as_u64()), (Some(1), Some(val as u64)));
    assert!(neuron["stake"].as_u64().unwrap() > 0);

    // The endpoint from a config file, below flags and the environment.
    let config = net.base.join("config.json");
    std::fs::write(&config, format!(r#"{{"endpoint": "{}"}}"#, net.cli.endpoint)).unwrap();
    let head = |envs: &[(&str, &str)]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_tao"));
        command
            .args(["--json", "chain", "head"])
            .env("TAO_CONFIG", &config)
            .env_remove("TAO_ENDPOINT");
        for (k, v) in envs {
            command.env(k, v);
        }
        command.stdin(Stdio::null()).output().unwrap()
    };
    assert!(head(&[]).status.success(), "the config file's endpoint is used");
    assert_eq!(head(&[("TAO_ENDPOINT", "http://127.0.0.1:9")]).status.code(), Some(3));
    std::fs::write(&config, "{not json").unwrap();
    let out = head(&[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not valid JSON"));
}

/// Waits (bounded) until `hotkey` holds a validator permit on subnet 1; returns its UID.
fn wait_permit(net: &Net, name: &str) -> usize {
    let uid = net.uid_of(1, &net.hotkey(name));
    let started = Instant::now();
    while net.metagraph(1)["validator_permit"][uid] != true {
        assert!(started.elapsed() < Duration::from_secs(30), "no validator permit");
        std::thread::sleep(Duration::from_millis(100));
    }
    uid
}

#[test]
fn weights_that_could_never_be_revealed_are_not_committed_and_a_reveal_takes_every_commit() {
    let net = Net::start("reveal");
    wallets(&net, &["val", "miner"]);
    fund(&net, "val", "2000");
    fund(&net, "miner", "10");
    let set = ["subnets", "set-hyperparameter", "--netuid", "1"];
    for (param, value) in [("weights_rate_limit", "0"), ("commit_reveal_weights_enabled", "true")] {
        net.ok("alice", &[&set[..], &["--param", param, "--value", value]].concat());
    }
    net.ok("miner", &["subnets", "register", "--netuid", "1"]);
    net.ok("val", &["subnets", "register", "--netuid", "1"]);
    net.ok("val", &["stake", "add", "--netuid", "1", "--amount", "1000"]);
    let miner = net.uid_of(1, &net.hotkey("miner"));
    let val = wait_permit(&net, "val");
    let n = net.metagraph(1)["n"].as_u64().unwrap();
    let pending = net.cli.wallets.join("val/commits").join(format!("{}-1.json", net.hotkey("val")));

    // A UID that is not a neuron: refused with the numbers, nothing committed (by `commit`
    // or by `set`, which commits by itself here), not even in a dry run.
    let bad = format!("{miner},99");
    for command in ["commit", "set"] {
        for dry in [&[][..], &["--dry-run"][..]] {
            let args =
                [&["weights", command, "--netuid", "1", "--uids", &bad][..], &["--weights", "1,1"]]
                    .concat();
            let err = net.fails("val", &[&args[..], dry].concat(), 2);
            assert!(err.contains("UID 99 is not a neuron of subnet 1"), "{err}");
            assert!(err.contains(&format!("which has {n}")), "{err}");
        }
    }
    let err = net.fails(
        "val",
        &["weights", "commit", "--netuid", "1", "--uids", "0,0", "--weights", "1,1"],
        2,
    );
    assert!(err.contains("UID 0 is given twice"), "{err}");
    // A hotkey without a validator permit may only weight itself: with two permits on the
    // subnet, the miner (no stake) has none once the next epoch hands them out.
    let permits = ["--param", "max_validators", "--value", "2"];
    net.ok("alice", &[&set[..], &permits].concat());
    let started = Instant::now();
    while net.metagraph(1)["validator_permit"][miner] != false {
        assert!(started.elapsed() < Duration::from_secs(30), "the miner kept its permit");
        std::thread::sleep(Duration::from_millis(100));
    }
    let err = net.fails(
        "miner",
        &["weights", "commit", "--netuid", "1", "--uids", &val.to_string(), "--weights", "1"],
        2,
    );
    assert!(
        err.contains(&format!("UID {miner}")) && err.contains("has no validator permit"),
        "{err}"
    );
    let miner_pending =
        net.cli.wallets.join("miner/commits").join(format!("{}-1.json", net.hotkey("miner")));
    assert!(!pending.exists() && !miner_pending.exists(), "nothing was committed");
    assert_eq!(net.metagraph(1)["validator_permit"][val], true);

    // Two good commits, then one `reveal` reveals both (oldest first; the last one stands),
    // and a commit the chain does not hold (kept by an older CLI, say) is dropped by name.
    for (uids, values) in [(miner.to_string(), "1"), (format!("{miner},{val}"), "1,3")] {
        net.ok(
            "val",
            &["weights", "commit", "--netuid", "1", "--uids", &uids, "--weights", values],
        );
    }
    let mut kept: Vec<Value> = serde_json::from_slice(&std::fs::read(&pending).unwrap()).unwrap();
    assert_eq!(kept.len(), 2);
    let mut stale = kept[0].clone();
    stale["salt"][0] = json!(stale["salt"][0].as_u64().unwrap() ^ 1);
    stale["block"] = json!(1);
    kept.insert(0, stale);
    std::fs::write(&pending, Value::Array(kept).to_string()).unwrap();
    let out = net.tao(&[
        "--json",
        "--wallet-name",
        "val",
        "weights",
        "reveal",
        "--netuid",
        "1",
        "--wait",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("the commit in block #1 can no longer be revealed"), "{stderr}");
    let receipt: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(receipt["revealed"], 2, "{receipt}");
    assert_eq!(receipt["waiting"], json!([]), "{receipt}");
    assert!(!pending.exists(), "every commit was handled");
    let (low, high) = if miner < val { (miner, val) } else { (val, miner) };
    let row = net.metagraph(1)["weights"][val].clone();
    let expected = if miner < val {
        json!([[low, 21845], [high, 65535]])
    } else {
        json!([[low, 65535], [high, 21845]])
    };
    assert_eq!(row, expected);

    // Too early, the refusal says when the window opens; revealed with --wait, the reveal
    // lands in that window.
    net.ok(
        "val",
        &["weights", "commit", "--netuid", "1", "--uids", &miner.to_string(), "--weights", "1"],
    );
    let err = net.fails("val", &["weights", "reveal", "--netuid", "1"], 4);
    assert!(err.contains("has not opened yet: it opens at block #"), "{err}");
    assert!(err.contains(" blocks (~") || err.contains(" block (~"), "{err}");
    let (open, close) = (number_after(&err, "opens at block #"), number_after(&err, "closes at #"));
    let receipt = net.ok("val", &["weights", "reveal", "--netuid", "1", "--wait"]);
    let block = receipt["block"].as_u64().unwrap() as f64;
    assert!(open <= block && block < close, "revealed in block {block}, window [{open}, {close})");
}

#[test]
fn dry_runs_that_would_fail_and_overlarge_unstakes_are_refused_with_the_numbers() {
    let net = Net::start("refuse");
    wallets(&net, &["staker", "poor"]);
    fund(&net, "staker", "100");

    // A dry run that would fail exits 4, as the same transaction sent for real.
    let alice = net.address("alice");
    for dry in [&["--dry-run"][..], &[][..]] {
        let args = [&["wallet", "transfer", "--dest", &alice, "--amount", "5"][..], dry].concat();
        let err = net.fails("poor", &args, 4);
        assert!(err.contains("would fail"), "{err}");
    }
    assert_eq!(net.nonce("poor"), 0);
    // Under --json the failure is also one JSON document, with the chain's error name.
    let out = net.tao(&[
        "--json",
        "--wallet-name",
        "poor",
        "wallet",
        "transfer",
        "--dest",
        &alice,
        "--amount",
        "5",
    ]);
    assert_eq!(out.status.code(), Some(4));
    let error: Value = serde_json::from_slice(&out.stdout).unwrap();
    let error = &error["error"];
    assert_eq!((error["code"].as_str(), error["exit_code"].as_u64()), (Some("chain"), Some(4)));
    assert_eq!(error["name"], "CannotPayFee", "{error}");
    assert!(error["message"].as_str().unwrap().contains("free balance of"), "{error}");
    let out = net.tao(&["--json", "localnet", "status", "--dir"]);
    assert_eq!(out.status.code(), Some(2), "no --dir value is clap's usage error");
    let nothing = net.base.join("no-localnet");
    let out = Command::new(env!("CARGO_BIN_EXE_tao"))
        .args(["--json", "localnet", "status", "--dir"])
        .arg(&nothing)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let error: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(error["error"]["code"], "bad_input", "{error}");
    assert!(error["error"]["hint"].as_str().unwrap().contains("tao localnet up"), "{error}");

    // Unstaking more than is held is refused (the chain would take everything instead).
    net.ok("staker", &["subnets", "register", "--netuid", "1"]);
    net.ok("staker", &["stake", "add", "--netuid", "1", "--amount", "10"]);
    let hotkey = net.hotkey("staker");
    let held = || {
        let stakes = net.ok("staker", &["stake", "list"])["stakes"].clone();
        stakes.as_array().unwrap().iter().find(|s| s["hotkey"] == hotkey.as_str()).unwrap()["alpha"]
            .as_u64()
            .unwrap()
    };
    let before = held();
    for dry in [&["--dry-run"][..], &[][..]] {
        let args = [&["stake", "remove", "--netuid", "1", "--amount", "100000"][..], dry].concat();
        let err = net.fails("staker", &args, 2);
        assert!(err.contains("--amount 100000") && err.contains("more than the"), "{err}");
        // The amount held is named (it grows with the hotkey's emission meanwhile).
        let named = err.split("more than the ").nth(1).and_then(|r| r.split(' ').next());
        let named: f64 = named.and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("{err}"));
        assert!(named * 1e9 >= before as f64 - 1.0, "{err} (held {before})");
    }
    let err = net.fails(
        "staker",
        &["stake", "move", "--origin-netuid", "1", "--amount", "100000", "--dest", &hotkey],
        2,
    );
    assert!(err.contains("more than the"), "{err}");
    // A price guard the chain would not apply is refused, not ignored.
    let err = net.fails(
        "staker",
        &[
            "stake",
            "move",
            "--origin-netuid",
            "1",
            "--amount",
            "1",
            "--dest",
            &hotkey,
            "--limit-price",
            "1",
        ],
        2,
    );
    assert!(err.contains("takes no --limit-price"), "{err}");
    assert!(held() >= before, "nothing was unstaked");
    // Within what is held it goes through (`--limit-price` names the price guard in every
    // stake command).
    let receipt = net.ok(
        "staker",
        &["stake", "remove", "--netuid", "1", "--amount", "1", "--limit-price", "0.000001"],
    );
    assert_eq!(receipt["outcome"], "success");
}

#[test]
fn endpoints_in_every_form_and_config_typos_refused_by_name() {
    let net = Net::start("endpoint");
    let port = net.cli.endpoint.rsplit(':').next().unwrap().to_owned();
    let run = |args: &[&str], envs: &[(&str, &str)]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_tao"));
        command.args(args).env_remove("TAO_ENDPOINT").env("TAO_CONFIG", net.base.join("none.json"));
        for (k, v) in envs {
            command.env(k, v);
        }
        command.stdin(Stdio::null()).output().unwrap()
    };
    // `ws://`, a bare `host:port`, and the same through TAO_ENDPOINT all reach the node.
    for endpoint in [format!("ws://127.0.0.1:{port}"), format!("127.0.0.1:{port}")] {
        let out = run(&["--json", "--endpoint", &endpoint, "chain", "head"], &[]);
        assert!(out.status.success(), "{endpoint}: {}", String::from_utf8_lossy(&out.stderr));
        let head: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(head["number"].is_u64(), "{head}");
        let out = run(&["chain", "head"], &[("TAO_ENDPOINT", &endpoint)]);
        assert!(out.status.success(), "{endpoint}: {}", String::from_utf8_lossy(&out.stderr));
    }
    let out = run(&["--endpoint", "ftp://127.0.0.1:1", "chain", "head"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown scheme \"ftp\""));

    // A config file with a misspelled key is refused by name, never ignored.
    std::fs::create_dir_all(&net.base).unwrap();
    let config = net.base.join("config.json");
    std::fs::write(&config, format!(r#"{{"endpont": "127.0.0.1:{port}"}}"#)).unwrap();
    let config = config.to_str().unwrap();
    let out = run(&["chain", "head"], &[("TAO_CONFIG", config)]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(r#"unknown key "endpont" (the keys are endpoint, network)"#), "{err}");
    std::fs::write(net.base.join("config.json"), format!(r#"{{"endpoint": "127.0.0.1:{port}"}}"#))
        .unwrap();
    assert!(run(&["chain", "head"], &[("TAO_CONFIG", config)]).status.success());

    // textpred takes the endpoint and the wallet from the environment too, and gives up on an
    // unreachable node within its timeout, naming the URL.
    net.ok("tp", &["wallet", "create", "--no-password", "--no-backup"]);
    let started = Instant::now();
    let out = Command::new(tao_testkit::binary("tao-textpred", "textpred"))
        .args(["--connect-timeout", "1", "miner", "--model", "unigram"])
        .env("TAO_ENDPOINT", "ws://127.0.0.1:9")
        .env("BT_WALLET_PATH", &net.cli.wallets)
        .env("BT_WALLET_NAME", "tp")
        .env("BT_WALLET_HOTKEY", "default")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("cannot reach the node at http://127.0.0.1:9 within 1 s"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(30), "bounded");
}

/// Human output with what varies run to run masked: the endpoint as `URL`, the named
/// wallets' addresses as `<name>` (coldkeys) and `<name-hot>` (hotkeys), hashes as `0xH`,
/// and every other number as `N`.
fn mask(net: &Net, text: &str, names: &[&str]) -> String {
    let mut text = text.replace(&net.cli.endpoint, "URL");
    for name in names {
        text = text.replace(&net.address(name), &format!("<{name}>"));
        text = text.replace(&net.hotkey(name), &format!("<{name}-hot>"));
    }
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '0' && chars.peek() == Some(&'x') {
            chars.next();
            while chars.peek().is_some_and(char::is_ascii_hexdigit) {
                chars.next();
            }
            out.push_str("0xH");
        } else if c.is_ascii_digit() || (c == '-' && chars.peek().is_some_and(char::is_ascii_digit))
        {
            while chars.peek().is_some_and(|d| d.is_ascii_digit() || *d == '.') {
                chars.next();
            }
            out.push('N');
        } else {
            out.push(c);
        }
    }
    out
}

/// Runs a human (not `--json`) command that must succeed; returns its stdout.
fn human(net: &Net, name: &str, args: &[&str]) -> String {
    let out = net.tao(&[&["--wallet-name", name], args].concat());
    assert!(out.status.success(), "tao {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The number after `before` in `text`, up to the next space.
fn number_after(text: &str, before: &str) -> f64 {
    let rest = text.split(before).nth(1).unwrap_or_else(|| panic!("no {before:?} in {text}"));
    let number = rest.split([' ', ')', '%', ',', ';', ':', '\n']).next().unwrap();
    number.parse().unwrap_or_else(|_| panic!("{number:?} in {text}"))
}

#[test]
fn receipts_show_what_happened_with_the_numbers() {
    let net = Net::start("receipts");
    wallets(&net, &["user"]);
    let names = ["alice", "user"];
    let user = net.address("user");

    // A transfer: previewed, then done, with amount and receiver.
    let preview = human(
        &net,
        "alice",
        &["wallet", "transfer", "--dest", &user, "--amount", "100", "--dry-run"],
    );
    assert_eq!(
        mask(&net, &preview, &names),
        "transfer: would succeed; fee N TAO (dry run, nothing submitted)\n  would have: sent N TAO from <alice> to <user>\n"
    );
    let sent = human(&net, "alice", &["wallet", "transfer", "--dest", &user, "--amount", "100"]);
    assert_eq!(
        mask(&net, &sent, &names),
        "transfer: finalized in block #N on URL (fee N TAO), tx 0xH\n  sent N TAO from <alice> to <user>\n"
    );
    assert!(sent.contains("  sent 100 TAO from"), "{sent}");
    assert_eq!(net.free("user"), 100 * TAO);

    // A refusal for lack of funds says what was asked against what there is.
    let err = net.fails(
        "user",
        &["wallet", "transfer", "--dest", &net.address("alice"), "--amount", "5000"],
        4,
    );
    assert!(err.contains("asked: Transfer 5000 TAO from"), "{err}");
    assert!(err.contains(&format!("free balance of {user}: 100 TAO; fee ")), "{err}");
    assert!(err.contains("(InsufficientBalance)"), "{err}");

    // A registration: the UID and the burn, which with the fee is what left the balance.
    let registered = human(&net, "user", &["subnets", "register", "--netuid", "1"]);
    assert_eq!(
        mask(&net, &registered, &names),
        "subnets register: finalized in block #N on URL (fee N TAO), tx 0xH\n  registered <user-hot> as UID N on subnet N for N TAO\n"
    );
    let uid = net.uid_of(1, &net.hotkey("user"));
    assert!(registered.contains(&format!("as UID {uid} on subnet 1")), "{registered}");
    let (burn, fee) = (number_after(&registered, " for "), number_after(&registered, "(fee "));
    let paid = (100 * TAO - net.free("user")) as f64 / 1e9;
    assert!((burn + fee - paid).abs() < 1e-9, "{burn} + {fee} != {paid}");

    // A stake: TAO in, α out, the average and the spot price, the slippage.
    let staked = human(&net, "user", &["stake", "add", "--netuid", "1", "--amount", "10"]);
    assert_eq!(
        mask(&net, &staked, &names),
        "stake add: finalized in block #N on URL (fee N TAO), tx 0xH\n  staked N TAO (fee included) to <user-hot> on subnet N: N α received, N TAO per α on average\n  spot price before: N TAO per α; slippage N%\n"
    );
    let (tao, alpha) = (number_after(&staked, "staked "), number_after(&staked, "subnet 1: "));
    let average = number_after(&staked, "α received, ");
    assert!(tao >= 10.0 && alpha > 0.0, "{staked}");
    assert!((tao / alpha - average).abs() < 1e-8, "{staked}");
    let spot = number_after(&staked, "spot price before: ");
    let slippage = number_after(&staked, "slippage ");
    assert!((slippage - (average / spot - 1.0) * 100.0).abs() < 0.01, "{staked}");

    // A parameter: the old and the new value.
    let set = human(&net, "alice", &LIFT_WEIGHTS_RATE_LIMIT);
    assert_eq!(
        mask(&net, &set, &names),
        "subnets set-hyperparameter: finalized in block #N on URL (fee N TAO), tx 0xH\n  subnet N: weights_rate_limit is now N\n  weights_rate_limit: N → N\n"
    );
    assert!(set.contains("weights_rate_limit is now 0\n"), "{set}");
    assert!(set.ends_with(" → 0\n"), "{set}");
    // Proportions are given and shown as fractions too.
    let kappa = ["subnets", "set-hyperparameter", "--netuid", "1", "--param", "kappa"];
    let set = human(&net, "alice", &[&kappa[..], &["--value", "0.25"]].concat());
    assert!(set.contains(" → 16384 (0.2500)\n"), "{set}");
    assert_eq!(net.metagraph(1)["hyperparameters"]["kappa"], 16384);
    let err = net.fails("alice", &[&kappa[..], &["--value", "1.5"]].concat(), 2);
    assert!(err.contains("kappa as a fraction is a number from 0 to 1"), "{err}");
    let table = human(&net, "alice", &["subnets", "hyperparameters", "--netuid", "1"]);
    let row = table.lines().find(|l| l.starts_with("kappa ")).unwrap();
    assert!(row.contains("16384 (0.2500)") && row.contains("root"), "{row}");
    // Each parameter shows what the owner and root may set.
    let row = table.lines().find(|l| l.starts_with("tempo ")).unwrap();
    assert!(row.contains("360..=50400, once per 360 blocks"), "{row}");
    let rows = net.ok("alice", &["subnets", "hyperparameters", "--netuid", "1"]);
    let bonds = rows.as_array().unwrap().iter().find(|r| r["name"] == "bonds_moving_avg").unwrap();
    assert_eq!(
        (bonds["owner_bounds"].as_str(), bonds["root_bounds"].as_str()),
        (Some("<= 975000"), Some("<= 1000000"))
    );

    // Weights (a neuron may always weight itself).
    let weights = human(
        &net,
        "user",
        &["weights", "set", "--netuid", "1", "--uids", &uid.to_string(), "--weights", "1"],
    );
    assert_eq!(
        mask(&net, &weights, &names),
        "weights set: finalized in block #N on URL (fee N TAO), tx 0xH\n  weights of UID N set on subnet N\n"
    );
    assert!(weights.contains(&format!("weights of UID {uid} set on subnet 1")), "{weights}");

    // Too soon again: the refusal gives the limit, the next block and the time left (and a
    // UID that is not a neuron is named before that, as it could never be accepted).
    let limit = ["--param", "weights_rate_limit", "--value", "1000"];
    net.ok("alice", &[&["subnets", "set-hyperparameter", "--netuid", "1"][..], &limit].concat());
    let err = net.fails(
        "user",
        &["weights", "set", "--netuid", "1", "--uids", &uid.to_string(), "--weights", "1"],
        4,
    );
    let last = number_after(&err, "last set weights in block #");
    assert!(err.contains("allows one update every 1000 blocks"), "{err}");
    assert_eq!(number_after(&err, "so the next from block #"), last + 1000.0, "{err}");
    assert!(err.contains(" blocks (~"), "{err}");
    let bad = format!("{uid},99");
    let err = net.fails(
        "user",
        &["weights", "set", "--netuid", "1", "--uids", &bad, "--weights", "1,1"],
        2,
    );
    assert!(err.contains("UID 99 is not a neuron of subnet 1"), "{err}");
    // With --wait the rate limit is waited out instead.
    let limit = ["--param", "weights_rate_limit", "--value", "20"];
    net.ok("alice", &[&["subnets", "set-hyperparameter", "--netuid", "1"][..], &limit].concat());
    let own = uid.to_string();
    let args = ["weights", "set", "--netuid", "1", "--uids", &own, "--weights", "1", "--wait"];
    let receipt = net.ok("user", &args);
    assert_eq!(receipt["outcome"], "success");
    assert!(receipt["block"].as_f64().unwrap() >= last + 20.0, "{receipt} (last {last})");
}
