//! Governance through the `tao` binary against a real `tao-node` on 127.0.0.1 whose chain
//! has no root key: Bob proposes a smaller subnet limit, Alice votes with her root stake,
//! the vote passes and the parameter changes at enactment; Bob's deposit comes back to the
//! RAO; Alice's stake is locked while the vote is open.

use common::Tao;
use serde_json::Value;
use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
    time::{Duration, Instant},
};
use tao_testkit::DevNode;

mod common;

struct Net {
    _node: DevNode,
    cli: Tao,
    base: PathBuf,
}

impl Net {
    /// A node on the dev chain's genesis with no root key and a 30-block vote.
    fn start(tag: &str) -> Self {
        let base = std::env::temp_dir().join(format!("tao-cli-gov-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(&base).unwrap();
        let out = Command::new(tao_testkit::binary("tao-node", "tao-node"))
            .arg("--print-dev-genesis")
            .output()
            .unwrap();
        let mut genesis: Value = serde_json::from_slice(&out.stdout).unwrap();
        genesis["chain_name"] = "tao-gov-test".into();
        genesis["sudo"] = Value::Null;
        genesis["governance"] = serde_json::json!({
            "deposit": 10 * TAO, "voting_period": 30, "enactment_delay": 5
        });
        let path = base.join("genesis.json");
        std::fs::write(&path, genesis.to_string()).unwrap();
        let node = DevNode::start_with(&format!("gov-{tag}"), &["--genesis", path_str(&path)]);
        let cli = Tao { endpoint: node.url(), wallets: base.join("wallets"), env: Vec::new() };
        Self { _node: node, cli, base }
    }

    fn tao(&self, name: &str, args: &[&str]) -> Output {
        self.cli.run(&[&["--wallet-name", name], args].concat())
    }

    fn ok(&self, name: &str, args: &[&str]) -> Value {
        self.cli.ok(name, args)
    }

    fn free(&self, name: &str) -> u64 {
        self.ok(name, &["wallet", "balance"])["free"].as_u64().unwrap()
    }

    fn param(&self, wanted: &str) -> String {
        let params = self.ok("alice", &["gov", "params"]);
        let entry = params.as_array().unwrap().iter().find(|p| p["name"] == wanted).cloned();
        entry.expect("listed")["value"].as_str().unwrap().to_owned()
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.base);
    }
}

const TAO: u64 = 1_000_000_000;

fn path_str(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn a_chain_without_a_root_key_changes_its_subnet_limit_by_vote() {
    let net = Net::start("limit");
    for (name, uri) in [("alice", "//Alice"), ("bob", "//Bob")] {
        net.ok(name, &["wallet", "regen-coldkey", "--uri", uri, "--no-password"]);
    }
    let stash = tao_wallet::Keypair::from_uri("//Alice//stash").unwrap().ss58();
    let limit_before = net.param("subnet_limit");
    assert_ne!(limit_before, "5");
    let governance = net.ok("alice", &["gov", "list"]);
    assert!(governance["sudo"].is_null(), "no root key: {governance}");

    // Alice stakes 1,000 TAO on root: her vote's weight.
    net.ok("alice", &["root", "stake", "--amount", "1000", "--hotkey-ss58", &stash]);

    // Bob proposes; the deposit is held.
    let bob_before = net.free("bob");
    let proposed = net.ok(
        "bob",
        &["gov", "propose", "--title", "Fewer subnets", "--set-global", "subnet_limit=5"],
    );
    assert_eq!(proposed["outcome"], "success", "{proposed}");
    let propose_fee = proposed["fee"].as_u64().unwrap();
    assert_eq!(net.free("bob"), bob_before - propose_fee - 10 * TAO);
    let id = proposed["event_details"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["kind"] == "ProposalSubmitted")
        .expect("submitted")["proposal"]
        .as_u64()
        .unwrap()
        .to_string();

    // Alice votes yes; her stake is locked while the vote is open.
    let voted = net.ok("alice", &["gov", "vote", &id, "yes"]);
    assert_eq!(voted["outcome"], "success");
    let shown = net.ok("alice", &["gov", "show", &id]);
    assert_eq!(shown["proposal"]["status"], "voting");
    assert_eq!(shown["proposal"]["passing"], true, "{shown}");
    assert_eq!(shown["votes"][0]["choice"], "yes");
    let unstake = net.tao("alice", &["root", "unstake", "--amount", "1", "--hotkey-ss58", &stash]);
    let refusal = String::from_utf8_lossy(&unstake.stderr);
    assert!(!unstake.status.success() && refusal.contains("locked by an open vote"), "{refusal}");

    // It passes at the end of the vote and takes effect at enactment.
    let started = Instant::now();
    loop {
        let shown = net.ok("alice", &["gov", "show", &id]);
        if shown["proposal"]["status"] == "enacted" {
            let tally = &shown["proposal"]["tally"];
            assert!(tally["yes"].as_str().unwrap().parse::<u64>().unwrap() >= 999 * TAO);
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "not enacted: {shown}");
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(net.param("subnet_limit"), "5");
    // The deposit came back, to the RAO.
    assert_eq!(net.free("bob"), bob_before - propose_fee);
    // And the stake moves again.
    net.ok("alice", &["root", "unstake", "--amount", "1", "--hotkey-ss58", &stash]);

    // The text output says what happened, with the numbers.
    let text = net.tao("alice", &["gov", "show", &id]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("enacted at block") && text.contains("set subnet_limit to 5"), "{text}");
}
