//! Test support for the workspace's integration tests (a dev-dependency only): where its
//! binaries are, and a `tao-node --dev` process on 127.0.0.1 that is stopped and cleaned
//! up when dropped.
//!
//! Invariants: every dev node binds its own port (port 0, read back from its log) and
//! directory (named after the test and the process id), so tests run in parallel; nothing
//! outlives the value that started it.

use std::{
    io::{BufRead, BufReader},
    net::{SocketAddr, TcpListener},
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::Duration,
};

/// The workspace binary `bin` of `package`, beside the running test's executable; built
/// first when a narrower build (e.g. `cargo test -p …`) skipped it.
pub fn binary(package: &str, bin: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test's own path");
    // target/<profile>/deps/<test> → target/<profile>/<bin>
    let dir = exe.parent().and_then(|deps| deps.parent()).expect("a target directory");
    let path = dir.join(format!("{bin}{}", std::env::consts::EXE_SUFFIX));
    if !path.exists() {
        let status = Command::new(env!("CARGO"))
            .args(["build", "-p", package, "--bin", bin])
            .status()
            .expect("cargo runs");
        assert!(status.success(), "building {bin}");
    }
    path
}

/// A free port on 127.0.0.1.
pub fn free_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port")
}

/// The first of `n` consecutive free ports on 127.0.0.1 (free when checked).
pub fn free_ports(n: u16) -> u16 {
    loop {
        let base = free_addr().port();
        let Some(last) = base.checked_add(n - 1) else { continue };
        if (base..=last).all(|p| TcpListener::bind(("127.0.0.1", p)).is_ok()) {
            return base;
        }
    }
}

/// A `tao-node --dev` process (100 ms blocks) serving JSON-RPC on a port of its own.
pub struct DevNode {
    /// Its JSON-RPC address.
    pub addr: SocketAddr,
    /// Its data directory (removed on drop).
    pub base: PathBuf,
    child: Child,
}

/// The message `tao-node` logs (as JSON, with the bound address in `fields.local`) once its
/// JSON-RPC server listens.
const RPC_LISTENING: &str = "JSON-RPC listening (HTTP and WebSocket)";

impl DevNode {
    /// Starts one for test `tag` on port 0 (the node binds a free port itself; nothing is
    /// freed and bound again) and waits, at most 30 s, until it logs the address it serves.
    pub fn start(tag: &str) -> Self {
        let base = std::env::temp_dir().join(format!("tao-test-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let mut child = Command::new(binary("tao-node", "tao-node"))
            .args(["--dev", "--block-time-ms", "100", "--rpc-addr", "127.0.0.1:0"])
            .args(["--log-format", "json", "--log", "info"])
            .arg("--base-path")
            .arg(&base)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("tao-node starts");
        let stderr = child.stderr.take().expect("piped stderr");
        let (found, address) = std::sync::mpsc::channel();
        // Reads the log to its end (a full pipe would stop the node), sending the address.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(addr) = listening_address(&line) {
                    let _ = found.send(addr);
                }
            }
        });
        let addr = match address.recv_timeout(Duration::from_secs(30)) {
            Ok(addr) => addr,
            Err(_) => {
                let _ = child.kill();
                panic!("tao-node did not say where it listens within 30 s");
            }
        };
        Self { addr, base, child }
    }

    /// Its JSON-RPC URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// The address in a JSON log line announcing the RPC server, if it is one.
fn listening_address(line: &str) -> Option<SocketAddr> {
    let value: serde_json::Value = serde_json::from_str(line).ok()?;
    if value["fields"]["message"].as_str()? != RPC_LISTENING {
        return None;
    }
    value["fields"]["local"].as_str()?.parse().ok()
}

impl Drop for DevNode {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.base);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rpc_address_is_read_from_the_nodes_json_log() {
        let line = r#"{"timestamp":"t","level":"INFO","fields":{"message":"JSON-RPC listening (HTTP and WebSocket)","local":"127.0.0.1:40123"},"target":"tao_node"}"#;
        assert_eq!(listening_address(line), Some("127.0.0.1:40123".parse().unwrap()));
        let other = line.replace("JSON-RPC listening", "Prometheus metrics");
        assert_eq!(listening_address(&other), None);
        assert_eq!(listening_address("not json"), None);
    }
}
