//! Chain validators through the `tao` binary against a real `tao-node` of a proof-of-stake
//! chain with one genesis validator (Alice, whose node validates and finalizes alone): Bob
//! registers a second candidate with a new key file and bonds to it, Charlie nominates it,
//! the list and the candidate show the bonds, an unbond says when its TAO is released, and
//! a bad key file, a bond below the minimum and a second registration are refused in words.
//! `max_validators` is 1 and Alice's bond the largest, so Bob (whose node does not run) is
//! never elected and the chain keeps finalizing.

use common::Tao;
use serde_json::Value;
use std::{
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};
use tao_testkit::DevNode;

mod common;

const TAO: u64 = 1_000_000_000;
const UNBONDING: u64 = 20;

struct Net {
    _node: DevNode,
    cli: Tao,
    base: PathBuf,
}

impl Drop for Net {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.base);
    }
}

fn path_str(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// A new validator key file at `path`; its public key (0x-hex).
fn generate_key(path: &Path) -> String {
    let out = Command::new(tao_testkit::binary("tao-node", "tao-node"))
        .arg("--generate-validator-key")
        .arg(path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn ss58(uri: &str) -> String {
    tao_wallet::Keypair::from_uri(uri).unwrap().ss58()
}

impl Net {
    fn start(tag: &str) -> (Self, String) {
        let base =
            std::env::temp_dir().join(format!("tao-cli-validators-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(&base).unwrap();
        let key_file = base.join("alice.key");
        let alice_key = generate_key(&key_file);
        let out = Command::new(tao_testkit::binary("tao-node", "tao-node"))
            .arg("--print-dev-genesis")
            .output()
            .unwrap();
        let mut genesis: Value = serde_json::from_slice(&out.stdout).unwrap();
        genesis["chain_name"] = format!("tao-validators-cli-{tag}").into();
        genesis["authorities"] = serde_json::json!([]);
        genesis["validators"] = serde_json::json!([{
            "controller": ss58("//Alice"),
            "consensus_key": alice_key,
            "p2p_address": "127.0.0.1:30000",
            "bond": "2000",
            "commission": 500,
        }]);
        genesis["consensus"] = serde_json::json!({
            "epoch_length": 10,
            "max_validators": 1,
            "min_validator_bond": 1_000 * TAO,
            "min_nomination": TAO,
            "unbonding_period": UNBONDING,
        });
        let path = base.join("genesis.json");
        std::fs::write(&path, genesis.to_string()).unwrap();
        let node = DevNode::start_with(
            &format!("validators-{tag}"),
            &[
                "--genesis",
                path_str(&path),
                "--validator-key",
                path_str(&key_file),
                "--p2p-addr",
                "127.0.0.1:0",
            ],
        );
        let cli = Tao { endpoint: node.url(), wallets: base.join("wallets"), env: Vec::new() };
        (Self { _node: node, cli, base }, alice_key)
    }

    fn ok(&self, name: &str, args: &[&str]) -> Value {
        self.cli.ok(name, args)
    }

    /// A candidate of `tao validator list --json`.
    fn candidate(list: &Value, controller: &str) -> Value {
        let candidates = list["candidates"].as_array().unwrap();
        candidates.iter().find(|c| c["controller"] == controller).cloned().expect("listed")
    }
}

fn event<'a>(receipt: &'a Value, kind: &str) -> &'a Value {
    receipt["event_details"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in {receipt}"))
}

#[test]
fn a_candidate_registers_bonds_is_nominated_and_unbonds() {
    let (net, alice_key) = Net::start("flow");
    for (name, uri) in [("alice", "//Alice"), ("bob", "//Bob"), ("charlie", "//Charlie")] {
        net.ok(name, &["wallet", "regen-coldkey", "--uri", uri, "--no-password"]);
    }
    let (alice, bob, charlie) = (ss58("//Alice"), ss58("//Bob"), ss58("//Charlie"));

    // The genesis set: Alice alone, 2,000 TAO, 5 % commission.
    let list = net.ok("alice", &["validator", "list"]);
    assert_eq!(list["epoch_length"], 10, "{list}");
    assert_eq!(list["params"]["max_validators"], 1);
    assert_eq!(list["params"]["unbonding_period"], UNBONDING);
    let members = list["current_set"]["members"].as_array().unwrap();
    assert_eq!(members.len(), 1, "{list}");
    assert_eq!(members[0]["controller"], alice.as_str());
    assert_eq!(members[0]["consensus_key"], alice_key.as_str());
    let a = Net::candidate(&list, &alice);
    assert_eq!(a["total_bond"], 2_000 * TAO);
    assert_eq!(a["commission"], 500);
    assert_eq!(a["in_current_set"], true);

    // A file that is not a key is refused before anything is signed, in words.
    let bad = net.base.join("bad.key");
    std::fs::write(&bad, "not a key\n").unwrap();
    let refusal =
        net.cli.fails("bob", &["validator", "register", "--consensus-key", path_str(&bad)], 2);
    assert!(refusal.contains("is not a validator key file"), "{refusal}");
    assert!(refusal.contains("--generate-validator-key"), "{refusal}");
    assert!(!refusal.contains("not a key"), "the file's text is not repeated: {refusal}");
    let missing = net.base.join("missing.key");
    let refusal =
        net.cli.fails("bob", &["validator", "register", "--consensus-key", path_str(&missing)], 2);
    assert!(refusal.contains("cannot read the key file"), "{refusal}");

    // Bob registers with a new key; the proof is signed with it for this chain.
    let bob_key_file = net.base.join("bob.key");
    let bob_key = generate_key(&bob_key_file);
    let registered = net.ok(
        "bob",
        &[
            "validator",
            "register",
            "--consensus-key",
            path_str(&bob_key_file),
            "--p2p-address",
            "127.0.0.1:30001",
            "--commission",
            "10",
        ],
    );
    assert_eq!(registered["outcome"], "success", "{registered}");
    assert_eq!(registered["consensus_key"], bob_key.as_str());
    let event_ = event(&registered, "ValidatorRegistered");
    assert_eq!(event_["controller"], bob.as_str());
    assert_eq!(event_["consensus_key"], bob_key.as_str());
    assert_eq!(event_["commission"], 1_000);

    // A second registration is the chain's refusal, named and in words.
    let again = net.cli.fails(
        "bob",
        &["validator", "register", "--consensus-key", path_str(&bob_key_file)],
        4,
    );
    assert!(again.contains("already controls a validator candidate"), "{again}");
    assert!(again.contains("ValidatorAlreadyRegistered"), "{again}");

    // A bond below the minimum is refused with the minimum.
    let low = net.cli.fails("bob", &["validator", "bond", "0.5"], 2);
    assert!(low.contains("below the minimum bond of 1 TAO"), "{low}");

    // Bob bonds 1,500 TAO to himself; Charlie nominates him with 300.
    let bob_free = net.ok("bob", &["wallet", "balance"])["free"].as_u64().unwrap();
    let bonded = net.ok("bob", &["validator", "bond", "1500"]);
    assert_eq!(event(&bonded, "Bonded")["amount"], 1_500 * TAO);
    let fee = bonded["fee"].as_u64().unwrap();
    let bob_after = net.ok("bob", &["wallet", "balance"])["free"].as_u64().unwrap();
    assert_eq!(bob_after, bob_free - fee - 1_500 * TAO, "bonded TAO leaves the free balance");
    let nominated = net.ok("charlie", &["validator", "nominate", &bob, "300"]);
    let e = event(&nominated, "Bonded");
    assert_eq!(
        (e["bonder"].as_str(), e["amount"].as_u64()),
        (Some(charlie.as_str()), Some(300 * TAO))
    );

    // The list and the candidate show the bonds.
    let list = net.ok("alice", &["validator", "list"]);
    let b = Net::candidate(&list, &bob);
    assert_eq!(b["total_bond"], 1_800 * TAO, "{b}");
    assert_eq!(b["self_bond"], 1_500 * TAO);
    assert_eq!(b["nominators"], 1);
    assert_eq!(b["commission"], 1_000);
    assert_eq!(b["consensus_key"], bob_key.as_str());
    assert_eq!(b["p2p_address"], "127.0.0.1:30001");
    assert_eq!(b["in_current_set"], false);
    assert_eq!(b["jailed_until"], Value::Null);
    let shown = net.ok("alice", &["validator", "show", &bob]);
    let bonds = shown["bonds"].as_array().unwrap();
    assert_eq!(bonds.len(), 2, "{shown}");
    let of = |who: &str| bonds.iter().find(|x| x["account"] == who).unwrap()["amount"].clone();
    assert_eq!(of(&charlie), 300 * TAO);
    assert_eq!(of(&bob), 1_500 * TAO);
    // The table names the candidate with its bond in TAO.
    let table = net.cli.run(&["--wallet-name", "alice", "validator", "list"]);
    let table = String::from_utf8_lossy(&table.stdout).into_owned();
    assert!(table.contains("current set (epoch"), "{table}");
    assert!(table.contains(&bob) && table.contains("1800") && table.contains("10.00 %"), "{table}");

    // Charlie unbonds 100 TAO: released UNBONDING blocks after its block.
    let unbonded = net.ok("charlie", &["validator", "unbond", &bob, "100"]);
    let block = unbonded["block"].as_u64().unwrap();
    assert_eq!(unbonded["release_at"], block + UNBONDING, "{unbonded}");
    assert_eq!(event(&unbonded, "Unbonded")["release_at"], block + UNBONDING);
    let chunks = net.ok("charlie", &["validator", "unbonding"]);
    assert_eq!(chunks[0]["amount"], 100 * TAO, "{chunks}");
    assert_eq!(chunks[0]["validator"], bob.as_str());
    // In words: the block and about how long.
    let out = net.cli.run(&["--wallet-name", "charlie", "validator", "unbond", &bob, "50", "-y"]);
    let words = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{words}{}", String::from_utf8_lossy(&out.stderr));
    assert!(words.contains("50 TAO is released at block #"), "{words}");
    assert!(words.contains("from now"), "{words}");
    // More than is bonded is refused with the bond.
    let too_much = net.cli.fails("charlie", &["validator", "unbond", &bob, "1000"], 2);
    assert!(too_much.contains("150 TAO bonded"), "{too_much}");
    let list = net.ok("alice", &["validator", "list"]);
    assert_eq!(Net::candidate(&list, &bob)["total_bond"], 1_650 * TAO);

    // Alice's node keeps finalizing: the chain reaches a later epoch, Alice still the set.
    let epoch = list["epoch"].as_u64().unwrap();
    let started = Instant::now();
    loop {
        let now = net.ok("alice", &["validator", "list"]);
        if now["epoch"].as_u64().unwrap() > epoch {
            let members = now["current_set"]["members"].as_array().unwrap();
            assert_eq!(members.len(), 1, "{now}");
            assert_eq!(members[0]["controller"], alice.as_str());
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "no new epoch: {now}");
        std::thread::sleep(Duration::from_millis(200));
    }
}
