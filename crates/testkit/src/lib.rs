//! Test support for the workspace's integration tests (a dev-dependency only): where its
//! binaries are, and a `tao-node --dev` process on 127.0.0.1 that is stopped and cleaned
//! up when dropped.
//!
//! Invariants: every node gets its own free port and directory (named after the test and
//! the process id), so tests run in parallel; nothing outlives the value that started it.

use std::{
    net::{SocketAddr, TcpListener, TcpStream},
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
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

/// A `tao-node --dev` process (100 ms blocks) serving JSON-RPC on a free local port.
pub struct DevNode {
    /// Its JSON-RPC address.
    pub addr: SocketAddr,
    /// Its data directory (removed on drop).
    pub base: PathBuf,
    child: Child,
}

impl DevNode {
    /// Starts one for test `tag` and waits until its RPC port accepts connections.
    pub fn start(tag: &str) -> Self {
        let base = std::env::temp_dir().join(format!("tao-test-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let addr = free_addr();
        let child = Command::new(binary("tao-node", "tao-node"))
            .args(["--dev", "--block-time-ms", "100", "--rpc-addr", &addr.to_string()])
            .arg("--base-path")
            .arg(&base)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("tao-node starts");
        let node = Self { addr, base, child };
        let started = Instant::now();
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            assert!(started.elapsed() < Duration::from_secs(30), "tao-node did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        node
    }

    /// Its JSON-RPC URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for DevNode {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.base);
    }
}
