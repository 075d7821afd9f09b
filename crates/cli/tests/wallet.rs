//! `tao wallet` as a user runs it, and interop with the real Python `bittensor-wallet`
//! (`$BT10_PY`, installed by `shared/interop/setup.sh`; `scripts/test` sets it).

use serde_json::Value;
use std::{
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
};

fn tao(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tao"))
        .args(["--wallet-path", dir.to_str().unwrap()])
        .args(args)
        .env("TAO_TEST_PASSWORD", "correct horse battery")
        .env("TAO_WRONG_PASSWORD", "nope")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn json(out: &Output) -> Value {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn temp(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tao-wallet-cli-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn create_list_show_and_refuse_to_overwrite() {
    let dir = temp("basic");
    let created =
        tao(&dir, &["--json", "wallet", "--wallet-name", "alice", "create", "--no-password"]);
    let notice = String::from_utf8_lossy(&created.stderr).into_owned();
    let created = json(&created);
    let cold = created["coldkey"].as_str().unwrap().to_owned();
    assert!(cold.starts_with('5'));
    // The phrase is shown once, at creation (the key's only backup), and restores the key.
    let phrase = created["coldkey_mnemonic"].as_str().expect("the phrase is shown").to_owned();
    assert_eq!(phrase.split(' ').count(), 12);
    assert!(created["hotkey_mnemonic"].is_string(), "{created}");
    assert!(notice.contains("shown only this once"), "{notice}");
    let restored = json(&tao(
        &dir,
        &[
            "--json",
            "wallet",
            "--wallet-name",
            "copy",
            "regen-coldkey",
            "--mnemonic",
            &phrase,
            "--no-password",
        ],
    ));
    assert_eq!(restored["coldkey"], cold.as_str());
    // Not showing it must be asked for, and is warned about.
    let unbacked = tao(
        &dir,
        &["--json", "wallet", "--wallet-name", "tmp", "create", "--no-password", "--no-backup"],
    );
    let warning = String::from_utf8_lossy(&unbacked.stderr).into_owned();
    assert!(json(&unbacked).get("coldkey_mnemonic").is_none());
    assert!(warning.contains("no backup"), "{warning}");

    // An existing wallet is refused before anything is written.
    let again = tao(&dir, &["wallet", "--wallet-name", "alice", "create", "--no-password"]);
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("--overwrite"));
    // A missing hotkey points to `new-hotkey`, which leaves the coldkey alone, never to
    // `create` (whose way out would be replacing the coldkey).
    let missing = tao(
        &dir,
        &[
            "--wallet-name",
            "alice",
            "--hotkey",
            "miner2",
            "axon",
            "serve",
            "--netuid",
            "1",
            "--ip",
            "127.0.0.1",
            "--port",
            "1",
        ],
    );
    let missing = String::from_utf8_lossy(&missing.stderr).into_owned();
    assert!(
        missing.contains("tao wallet new-hotkey --wallet-name alice --hotkey miner2"),
        "{missing}"
    );
    let second = tao(
        &dir,
        &["wallet", "--wallet-name", "alice", "--hotkey", "miner2", "create", "--no-password"],
    );
    assert_eq!(second.status.code(), Some(2));
    let second = String::from_utf8_lossy(&second.stderr).into_owned();
    assert!(
        second.contains("already has a coldkey") && second.contains("tao wallet new-hotkey"),
        "{second}"
    );
    assert!(!dir.join("alice/hotkeys/miner2").exists());
    json(&tao(
        &dir,
        &["--json", "wallet", "--wallet-name", "alice", "--hotkey", "miner2", "new-hotkey"],
    ));

    let listed = json(&tao(&dir, &["--json", "wallet", "list"]));
    let alice =
        listed["wallets"].as_array().unwrap().iter().find(|w| w["name"] == "alice").unwrap();
    assert_eq!(alice["coldkey"], cold.as_str(), "the coldkey never changed");
    assert_eq!(alice["hotkeys"].as_array().unwrap().len(), 2);

    let shown =
        json(&tao(&dir, &["--json", "wallet", "--wallet-name", "alice", "show", "--unlock"]));
    assert_eq!(shown["unlocked"], true);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn regen_restores_the_same_addresses_and_passwords_are_checked() {
    let dir = temp("regen");
    let phrase = "bottom drive obey lake curtain smoke basket hold race lonely fit walk";
    let out = json(&tao(
        &dir,
        &[
            "--json",
            "wallet",
            "--wallet-name",
            "dev",
            "regen-coldkey",
            "--mnemonic",
            phrase,
            "--password-env",
            "TAO_TEST_PASSWORD",
        ],
    ));
    assert_eq!(out["coldkey"], "5DfhGyQdFobKM8NsWvEeAKk5EQQgYe9AydgJ7rMB6E1EqRzV");
    let ok = json(&tao(
        &dir,
        &[
            "--json",
            "wallet",
            "--wallet-name",
            "dev",
            "show",
            "--unlock",
            "--password-env",
            "TAO_TEST_PASSWORD",
        ],
    ));
    assert_eq!(ok["unlocked"], true);
    let wrong = tao(
        &dir,
        &[
            "wallet",
            "--wallet-name",
            "dev",
            "show",
            "--unlock",
            "--password-env",
            "TAO_WRONG_PASSWORD",
        ],
    );
    assert_eq!(wrong.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("wrong password"));
    // No terminal and no password source: an error, never a hang.
    let no_tty = tao(&dir, &["wallet", "--wallet-name", "dev", "show", "--unlock"]);
    assert_eq!(no_tty.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&no_tty.stderr).contains("--password-env"));
    let bad = tao(
        &dir,
        &[
            "wallet",
            "--wallet-name",
            "x",
            "regen-coldkey",
            "--mnemonic",
            "not a phrase",
            "--no-password",
        ],
    );
    assert_eq!(bad.status.code(), Some(2));
    // A misspelled last word is named by its place, counted from 1.
    let typo = phrase.replace(" walk", " wakl");
    let bad = tao(
        &dir,
        &["wallet", "--wallet-name", "x", "regen-coldkey", "--mnemonic", &typo, "--no-password"],
    );
    assert_eq!(bad.status.code(), Some(2));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains(r#"word 12 of 12 in the recovery phrase, "wakl""#), "{err}");
    let pubonly = json(&tao(
        &dir,
        &[
            "--json",
            "wallet",
            "--wallet-name",
            "watch",
            "regen-coldkeypub",
            "--ss58",
            "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY",
        ],
    ));
    assert_eq!(pubonly["coldkey"], "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY");
    let typo = tao(
        &dir,
        &[
            "wallet",
            "--wallet-name",
            "w2",
            "regen-coldkeypub",
            "--ss58",
            "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQZ",
        ],
    );
    assert_eq!(typo.status.code(), Some(2));
    std::fs::remove_dir_all(&dir).unwrap();
}

fn python() -> String {
    std::env::var("BT10_PY").expect("BT10_PY must point at the bittensor 10 venv's python: run `eval \"$(bash ../shared/interop/setup.sh)\"` (scripts/test does)")
}

fn py_wallet(args: &[&str]) -> Value {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/py_wallet.py");
    let out = Command::new(python()).arg(script).args(args).env("READ_ONLY", "1").output().unwrap();
    assert!(out.status.success(), "python: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(
        out.stdout.split(|b| *b == b'\n').rev().find(|l| l.starts_with(b"{")).unwrap(),
    )
    .unwrap()
}

/// Wallets made by Python open in `tao` with the same addresses, and the reverse, for
/// plain and password-encrypted coldkeys.
#[test]
fn interop_with_the_python_wallet() {
    let dir = temp("interop");
    let path = dir.to_str().unwrap();
    for (name, password) in [("py_plain", None), ("py_secret", Some("interop pw 1"))] {
        let mut args = vec!["create", "--path", path, "--name", name];
        if let Some(pw) = password {
            args.extend(["--password", pw]);
        }
        let py = py_wallet(&args);
        std::env::set_var("TAO_INTEROP_PW", password.unwrap_or(""));
        let mut show = vec!["--json", "wallet", "--wallet-name", name, "show", "--unlock"];
        if password.is_some() {
            show.extend(["--password-env", "TAO_INTEROP_PW"]);
        }
        let ours = Command::new(env!("CARGO_BIN_EXE_tao"))
            .args(["--wallet-path", path])
            .args(&show)
            .env("TAO_INTEROP_PW", password.unwrap_or(""))
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let ours = json(&ours);
        assert_eq!(ours["coldkey"], py["coldkey"], "{name}");
        assert_eq!(ours["hotkey"], py["hotkey"], "{name}");
        assert_eq!(py["encrypted"], password.is_some());
    }
    for (name, password) in [("rs_plain", None), ("rs_secret", Some("interop pw 2"))] {
        let mut args = vec!["--json", "wallet", "--wallet-name", name, "create"];
        match password {
            Some(_) => args.extend(["--password-env", "TAO_INTEROP_PW"]),
            None => args.push("--no-password"),
        }
        let out = Command::new(env!("CARGO_BIN_EXE_tao"))
            .args(["--wallet-path", path])
            .args(&args)
            .env("TAO_INTEROP_PW", password.unwrap_or(""))
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let ours = json(&out);
        let mut open = vec!["open", "--path", path, "--name", name];
        if let Some(pw) = password {
            open.extend(["--password", pw]);
        }
        let py = py_wallet(&open);
        assert_eq!(py["coldkey"], ours["coldkey"], "{name}");
        assert_eq!(py["coldkeypub"], ours["coldkey"], "{name}");
        assert_eq!(py["hotkey"], ours["hotkey"], "{name}");
        assert_eq!(py["encrypted"], password.is_some());
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
