//! The `tao` binary as the process tests run it: against one node, on one wallets
//! directory, with no terminal (so it never asks), and its `--json` answers read back.

#![allow(dead_code)] // each test binary uses the part it needs

use serde_json::Value;
use std::{
    path::PathBuf,
    process::{Command, Output, Stdio},
};

/// `tao --endpoint ENDPOINT --wallet-path WALLETS …`.
pub struct Tao {
    /// The node's URL.
    pub endpoint: String,
    /// The wallets directory.
    pub wallets: PathBuf,
    /// Environment variables every run gets (e.g. a password for `--password-env`).
    pub env: Vec<(&'static str, &'static str)>,
}

impl Tao {
    /// Runs `tao ARGS`; stdin is closed.
    pub fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_tao"))
            .args(["--endpoint", &self.endpoint, "--wallet-path"])
            .arg(&self.wallets)
            .args(args)
            .envs(self.env.iter().copied())
            .stdin(Stdio::null())
            .output()
            .expect("tao runs")
    }

    /// Runs `tao --json --wallet-name NAME ARGS`, which must succeed; its one JSON document.
    pub fn ok(&self, name: &str, args: &[&str]) -> Value {
        let out = self.run(&[&["--json", "--wallet-name", name], args].concat());
        assert!(
            out.status.success(),
            "tao {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "tao {args:?} printed no single JSON document ({e}):\n{}",
                String::from_utf8_lossy(&out.stdout)
            )
        })
    }

    /// Runs `tao --wallet-name NAME ARGS`, which must fail with exit `code`; its stderr.
    pub fn fails(&self, name: &str, args: &[&str], code: i32) -> String {
        let out = self.run(&[&["--wallet-name", name], args].concat());
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(code), "tao {args:?}: {stderr}");
        stderr
    }
}
