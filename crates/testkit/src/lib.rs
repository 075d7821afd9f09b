//! Test support for the workspace's integration tests (a dev-dependency only): where its
//! binaries are, and a `tao-node --dev` process on 127.0.0.1 that is stopped and cleaned
//! up when dropped.
//!
//! Invariants: every dev node binds its own port (port 0, read back from its log) and
//! directory (named after the test and the process id), so tests run in parallel; nothing
//! outlives the value that started it.

use std::{
    io::{BufRead, BufReader},
    net::SocketAddr,
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

/// A `tao-node --dev` process (100 ms blocks) serving JSON-RPC on a port of its own.
pub struct DevNode {
    /// Its JSON-RPC address.
    pub addr: SocketAddr,
    /// Its Prometheus metrics address, when started with `--metrics-addr`.
    pub metrics: Option<SocketAddr>,
    /// Its data directory (removed on drop).
    pub base: PathBuf,
    child: Child,
}

/// The message `tao-node` logs (as JSON, with the bound address in `fields.local`) once its
/// JSON-RPC server listens; the node logs it after every other server it was asked for.
const RPC_LISTENING: &str = "JSON-RPC listening (HTTP and WebSocket)";
/// The message it logs once its metrics server listens (before the RPC one).
const METRICS_LISTENING: &str = "Prometheus metrics on /metrics";
/// The message it logs, with the page's address in `fields.url`, when it serves the
/// explorer (`--explorer`; before the RPC's message).
const EXPLORER_SERVED: &str = "explorer on the JSON-RPC port";
/// The message a validator logs, with the bound address in `fields.local`, once its p2p
/// network listens (before the RPC's message).
const P2P_LISTENING: &str = "p2p listening";

/// Where a started `tao-node` serves.
#[derive(Debug, Clone)]
pub struct Listening {
    /// JSON-RPC (HTTP and WebSocket).
    pub rpc: SocketAddr,
    /// Prometheus metrics, if asked for.
    pub metrics: Option<SocketAddr>,
    /// The explorer's URL (`http://ADDR/explorer/`), if asked for (`--explorer`).
    pub explorer: Option<String>,
    /// Where a validator's p2p network listens (a validator only).
    pub p2p: Option<SocketAddr>,
    /// The last lines of its log, kept while it runs (for a failing test's message).
    pub log: LogTail,
}

/// The last [`LogTail::LINES`] lines a process logged, shared with the thread reading them.
#[derive(Debug, Clone, Default)]
pub struct LogTail(std::sync::Arc<std::sync::Mutex<std::collections::VecDeque<String>>>);

impl LogTail {
    /// How many lines are kept.
    pub const LINES: usize = 200;

    fn push(&self, line: String) {
        if let Ok(mut tail) = self.0.lock() {
            if tail.len() == Self::LINES {
                tail.pop_front();
            }
            tail.push_back(line);
        }
    }

    /// The kept lines, oldest first, one per line.
    pub fn text(&self) -> String {
        self.0.lock().map(|t| t.iter().cloned().collect::<Vec<_>>().join("\n")).unwrap_or_default()
    }
}

/// Runs `tao-node ARGS --log-format json --log info` (ARGS should bind port 0, e.g.
/// `--rpc-addr 127.0.0.1:0`) and waits, at most 30 s, until it logs where its JSON-RPC
/// listens. The log is read to its end on a thread of its own (a full pipe would stop the
/// node). Panics, killing the node, if it never says. With `TAO_TEST_LOGS=DIR` in the
/// environment every node's whole log is also written to `DIR/tao-node-<pid>.log` (to read
/// after a failed test).
pub fn spawn_node(args: &[&str]) -> (Child, Listening) {
    let mut child = Command::new(binary("tao-node", "tao-node"))
        .args(args)
        .args(["--log-format", "json", "--log", "info"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tao-node starts");
    let stderr = child.stderr.take().expect("piped stderr");
    let (found, announced) = std::sync::mpsc::channel();
    // The last lines of the log, for the panic message if the node never says where it
    // listens (e.g. it refused its arguments and exited), and for the test's.
    let tail = LogTail::default();
    let kept = tail.clone();
    let mut copy = std::env::var_os("TAO_TEST_LOGS").and_then(|dir| {
        let path = PathBuf::from(dir).join(format!("tao-node-{}.log", child.id()));
        std::fs::File::create(path).ok()
    });
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(file) = copy.as_mut() {
                use std::io::Write as _;
                let _ = writeln!(file, "{line}");
            }
            if let Some(announcement) = announcement(&line) {
                let _ = found.send(announcement);
            }
            kept.push(line);
        }
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let (mut metrics, mut explorer, mut p2p) = (None, None, None);
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match announced.recv_timeout(left) {
            Ok(Announcement::Rpc(rpc)) => {
                return (child, Listening { rpc, metrics, explorer, p2p, log: tail })
            }
            Ok(Announcement::Metrics(addr)) => metrics = Some(addr),
            Ok(Announcement::P2p(addr)) => p2p = Some(addr),
            Ok(Announcement::Explorer(url)) => explorer = Some(url),
            Err(why) => {
                let _ = child.kill();
                let _ = child.wait();
                let what = match why {
                    std::sync::mpsc::RecvTimeoutError::Timeout => "did not say within 30 s",
                    std::sync::mpsc::RecvTimeoutError::Disconnected => "exited before it said",
                };
                panic!("tao-node {what} where it listens; its log ended:\n{}", tail.text());
            }
        }
    }
}

impl DevNode {
    /// Starts one for test `tag` on port 0 (the node binds a free port itself; nothing is
    /// freed and bound again).
    pub fn start(tag: &str) -> Self {
        Self::start_with(tag, &[])
    }

    /// [`DevNode::start`] with more arguments for `tao-node` (e.g.
    /// `["--metrics-addr", "127.0.0.1:0"]`; with `["--genesis", FILE]` the node runs that
    /// chain instead of the dev chain).
    pub fn start_with(tag: &str, extra: &[&str]) -> Self {
        let base = std::env::temp_dir().join(format!("tao-test-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let base_arg = base.to_string_lossy().into_owned();
        // A chain of the test's own (`--genesis FILE` in `extra`) instead of the dev chain.
        let chain: &[&str] = if extra.contains(&"--genesis") { &[] } else { &["--dev"] };
        let args = [
            chain,
            &["--block-time-ms", "100", "--rpc-addr", "127.0.0.1:0"],
            &["--base-path", &base_arg],
            extra,
        ]
        .concat();
        let (child, listening) = spawn_node(&args);
        Self { addr: listening.rpc, metrics: listening.metrics, base, child }
    }

    /// Its JSON-RPC URL.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// What a log line of the node announces.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Announcement {
    /// The JSON-RPC server listens here.
    Rpc(SocketAddr),
    /// The metrics server listens here.
    Metrics(SocketAddr),
    /// The explorer's page is at this URL.
    Explorer(String),
    /// The p2p network listens here.
    P2p(SocketAddr),
}

/// What a JSON log line announces, if it is such a line.
fn announcement(line: &str) -> Option<Announcement> {
    let value: serde_json::Value = serde_json::from_str(line).ok()?;
    let fields = &value["fields"];
    let local = || fields["local"].as_str()?.parse().ok();
    match fields["message"].as_str()? {
        RPC_LISTENING => Some(Announcement::Rpc(local()?)),
        METRICS_LISTENING => Some(Announcement::Metrics(local()?)),
        P2P_LISTENING => Some(Announcement::P2p(local()?)),
        EXPLORER_SERVED => Some(Announcement::Explorer(fields["url"].as_str()?.to_owned())),
        _ => None,
    }
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
    fn the_addresses_are_read_from_the_nodes_json_log() {
        let line = r#"{"timestamp":"t","level":"INFO","fields":{"message":"JSON-RPC listening (HTTP and WebSocket)","local":"127.0.0.1:40123"},"target":"tao_node"}"#;
        let addr = "127.0.0.1:40123".parse().unwrap();
        assert_eq!(announcement(line), Some(Announcement::Rpc(addr)));
        let metrics = line.replace(RPC_LISTENING, METRICS_LISTENING);
        assert_eq!(announcement(&metrics), Some(Announcement::Metrics(addr)));
        let explorer = r#"{"fields":{"message":"explorer on the JSON-RPC port","local":"127.0.0.1:40123","url":"http://127.0.0.1:40123/explorer/"}}"#;
        assert_eq!(
            announcement(explorer),
            Some(Announcement::Explorer("http://127.0.0.1:40123/explorer/".into()))
        );
        let p2p = line.replace(RPC_LISTENING, P2P_LISTENING);
        assert_eq!(announcement(&p2p), Some(Announcement::P2p(addr)));
        let other = line.replace(RPC_LISTENING, "chain opened");
        assert_eq!(announcement(&other), None);
        assert_eq!(announcement("not json"), None);
    }
}
