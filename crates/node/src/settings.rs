//! The node's settings: command-line flags, then environment variables, then a config file
//! (`--config FILE`, JSON), then defaults — the first that gives a value wins.
//!
//! | setting        | flag               | environment             | config key      | default |
//! |----------------|--------------------|-------------------------|-----------------|---------|
//! | dev chain      | `--dev`            | `TAO_NODE_DEV=1`        | `dev`           | off |
//! | genesis file   | `--genesis`        | `TAO_NODE_GENESIS`      | `genesis`       | — |
//! | data directory | `--base-path`      | `TAO_NODE_BASE_PATH`    | `base_path`     | `~/.tao/node/<chain>` |
//! | JSON-RPC       | `--rpc-addr`       | `TAO_NODE_RPC_ADDR`     | `rpc_addr`      | `127.0.0.1:9944` |
//! | metrics        | `--metrics-addr`   | `TAO_NODE_METRICS_ADDR` | `metrics_addr`  | off |
//! | block time     | `--block-time-ms`  | `TAO_NODE_BLOCK_TIME_MS`| `block_time_ms` | 12000 (250 with dev) |
//! | log format     | `--log-format`     | `TAO_NODE_LOG_FORMAT`   | `log_format`    | `text` (or `json`) |
//! | log filter     | `--log`            | `RUST_LOG`              | `log`           | `info` |
//! | follow a node  | `--follow URL`     | `TAO_NODE_FOLLOW`       | `follow`        | off (produce blocks) |

use anyhow::{bail, Context, Result};
use serde_json::Value;
use std::{collections::BTreeMap, net::SocketAddr, path::PathBuf};

/// What the flags gave (everything optional: unset flags fall through).
#[derive(Debug, Default, Clone)]
pub struct Flags {
    /// A development chain (`--dev`).
    pub dev: bool,
    /// A genesis config file.
    pub genesis: Option<PathBuf>,
    /// Where the database lives.
    pub base_path: Option<PathBuf>,
    /// The JSON-RPC address.
    pub rpc_addr: Option<SocketAddr>,
    /// The Prometheus address, if any.
    pub metrics_addr: Option<SocketAddr>,
    /// Milliseconds between blocks.
    pub block_time_ms: Option<u64>,
    /// How logs are written.
    pub log_format: Option<String>,
    /// The log filter.
    pub log: Option<String>,
    /// The node a replica follows.
    pub follow: Option<String>,
    /// This validator's consensus key file.
    pub validator_key: Option<PathBuf>,
    /// Where the validator listens for its peers.
    pub p2p_addr: Option<SocketAddr>,
    /// The other validators: `KEY@IP:PORT`, comma-separated.
    pub peers: Option<String>,
}

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// The resolved settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// A development chain (`--dev`).
    pub dev: bool,
    /// A genesis config file.
    pub genesis: Option<PathBuf>,
    /// Where the database lives.
    pub base_path: Option<PathBuf>,
    /// The JSON-RPC address.
    pub rpc_addr: SocketAddr,
    /// The Prometheus address, if any.
    pub metrics_addr: Option<SocketAddr>,
    /// Milliseconds between blocks.
    pub block_time_ms: u64,
    /// How logs are written.
    pub log_format: LogFormat,
    /// The log filter.
    pub log: String,
    /// The node a replica follows.
    pub follow: Option<String>,
    /// This validator's consensus key file (BFT networks).
    pub validator_key: Option<PathBuf>,
    /// Where the validator listens for its peers (default 127.0.0.1:30333).
    pub p2p_addr: SocketAddr,
    /// The other validators: `KEY@IP:PORT`.
    pub peers: Vec<String>,
}

const KEYS: [&str; 11] = [
    "dev",
    "genesis",
    "base_path",
    "rpc_addr",
    "metrics_addr",
    "block_time_ms",
    "log_format",
    "log",
    "validator_key",
    "p2p_addr",
    "peers",
];

/// Reads a config file: a JSON object with the keys above (unknown keys are refused).
pub fn read_config(path: &std::path::Path) -> Result<BTreeMap<String, Value>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the config file {}", path.display()))?;
    let value: Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not valid JSON", path.display()))?;
    let Value::Object(map) = value else { bail!("{} must hold a JSON object", path.display()) };
    for key in map.keys() {
        if !KEYS.contains(&key.as_str()) {
            bail!("{}: unknown setting {key:?} (known: {})", path.display(), KEYS.join(", "));
        }
    }
    Ok(map.into_iter().collect())
}

/// Resolves `flags`, then `env` (a lookup of environment variables), then `config`.
pub fn resolve(
    flags: &Flags,
    env: impl Fn(&str) -> Option<String>,
    config: &BTreeMap<String, Value>,
) -> Result<Settings> {
    let text = |flag: Option<String>, var: &str, key: &str| -> Result<Option<String>> {
        if flag.is_some() {
            return Ok(flag);
        }
        if let Some(v) = env(var).filter(|v| !v.is_empty()) {
            return Ok(Some(v));
        }
        match config.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(Value::Bool(b)) => Ok(Some(b.to_string())),
            Some(other) => bail!("config {key}: {other} is not a string or number"),
        }
    };
    let parse = |what: &str, v: Option<String>| -> Result<Option<SocketAddr>> {
        v.map(|s| {
            s.parse()
                .with_context(|| format!("{what}: {s:?} is not an address like 127.0.0.1:9944"))
        })
        .transpose()
    };
    let dev = flags.dev
        || match text(None, "TAO_NODE_DEV", "dev")?.as_deref() {
            None | Some("0" | "false") => false,
            Some("1" | "true") => true,
            Some(other) => bail!("dev: {other:?} is not true/false"),
        };
    let genesis = text(
        flags.genesis.as_ref().map(|p| p.display().to_string()),
        "TAO_NODE_GENESIS",
        "genesis",
    )?
    .map(PathBuf::from);
    let base_path = text(
        flags.base_path.as_ref().map(|p| p.display().to_string()),
        "TAO_NODE_BASE_PATH",
        "base_path",
    )?
    .map(PathBuf::from);
    let rpc_addr = parse(
        "rpc_addr",
        text(flags.rpc_addr.map(|a| a.to_string()), "TAO_NODE_RPC_ADDR", "rpc_addr")?,
    )?
    .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 9944)));
    let metrics_addr = parse(
        "metrics_addr",
        text(flags.metrics_addr.map(|a| a.to_string()), "TAO_NODE_METRICS_ADDR", "metrics_addr")?,
    )?;
    let block_time_ms = match text(
        flags.block_time_ms.map(|b| b.to_string()),
        "TAO_NODE_BLOCK_TIME_MS",
        "block_time_ms",
    )? {
        Some(v) => v
            .parse()
            .with_context(|| format!("block_time_ms: {v:?} is not a number of milliseconds"))?,
        None if dev => 250,
        None => 12_000,
    };
    let log_format =
        match text(flags.log_format.clone(), "TAO_NODE_LOG_FORMAT", "log_format")?.as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => bail!("log_format: {other:?} is not text or json"),
        };
    let log =
        text(flags.log.clone(), "RUST_LOG", "log")?.unwrap_or_else(|| "info,jsonrpsee=warn".into());
    let follow = text(flags.follow.clone(), "TAO_NODE_FOLLOW", "follow")?;
    if let Some(url) = &follow {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            bail!("follow: {url:?} is not an http(s) URL of a node's JSON-RPC");
        }
    }
    let validator_key = text(
        flags.validator_key.as_ref().map(|p| p.display().to_string()),
        "TAO_NODE_VALIDATOR_KEY",
        "validator_key",
    )?
    .map(PathBuf::from);
    let p2p_addr = parse(
        "p2p_addr",
        text(flags.p2p_addr.map(|a| a.to_string()), "TAO_NODE_P2P_ADDR", "p2p_addr")?,
    )?
    .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 30333)));
    let peers = text(flags.peers.clone(), "TAO_NODE_PEERS", "peers")?
        .map(|list| {
            list.split(',').map(str::trim).filter(|p| !p.is_empty()).map(String::from).collect()
        })
        .unwrap_or_default();
    if dev && genesis.is_some() {
        bail!("give either a dev chain or a genesis file, not both");
    }
    Ok(Settings {
        dev,
        genesis,
        base_path,
        rpc_addr,
        metrics_addr,
        block_time_ms: block_time_ms.max(1),
        log_format,
        log,
        follow,
        validator_key,
        p2p_addr,
        peers,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn config(v: Value) -> BTreeMap<String, Value> {
        v.as_object().unwrap().clone().into_iter().collect()
    }

    #[test]
    fn flags_beat_the_environment_which_beats_the_file() {
        let file = config(
            json!({"rpc_addr": "127.0.0.1:1111", "block_time_ms": 500, "log_format": "json", "dev": true}),
        );
        let env = |var: &str| (var == "TAO_NODE_RPC_ADDR").then(|| "127.0.0.1:2222".to_owned());
        let s = resolve(&Flags::default(), env, &file).unwrap();
        assert_eq!(s.rpc_addr.port(), 2222, "environment over file");
        assert_eq!(
            (s.block_time_ms, s.log_format, s.dev),
            (500, LogFormat::Json, true),
            "file over defaults"
        );
        let flags = Flags { rpc_addr: Some("127.0.0.1:3333".parse().unwrap()), ..Flags::default() };
        assert_eq!(resolve(&flags, env, &file).unwrap().rpc_addr.port(), 3333, "flag over all");
        let plain = resolve(&Flags::default(), |_| None, &BTreeMap::new()).unwrap();
        assert_eq!((plain.rpc_addr.port(), plain.block_time_ms, plain.dev), (9944, 12_000, false));
    }

    #[test]
    fn bad_values_are_named() {
        let bad =
            |v: Value| resolve(&Flags::default(), |_| None, &config(v)).unwrap_err().to_string();
        assert!(bad(json!({"rpc_addr": "nowhere"})).contains("rpc_addr"));
        assert!(bad(json!({"block_time_ms": "soon"})).contains("block_time_ms"));
        assert!(bad(json!({"log_format": "xml"})).contains("log_format"));
        assert!(bad(json!({"dev": true, "genesis": "g.json"})).contains("not both"));
        let dir = std::env::temp_dir().join(format!("tao-node-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("node.json");
        std::fs::write(&path, r#"{"rpc_adr": "127.0.0.1:1"}"#).unwrap();
        assert!(read_config(&path)
            .unwrap_err()
            .to_string()
            .contains("unknown setting \"rpc_adr\""));
        let _ = std::fs::remove_dir_all(dir);
    }
}
