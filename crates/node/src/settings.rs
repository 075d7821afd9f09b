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
//! | explorer       | `--explorer`       | `TAO_NODE_EXPLORER=1`   | `explorer`      | off (`docs/explorer.md`) |
//! | pruning        | `--pruning`        | `TAO_NODE_PRUNING`      | `pruning`       | `archive` (or N blocks; `docs/storage.md`) |
//! | sync mode      | `--sync`           | `TAO_NODE_SYNC`         | `sync`          | `full` (or `snapshot`; `docs/storage.md`) |
//! | snapshots kept | `--snapshot-every` | `TAO_NODE_SNAPSHOT_EVERY` | `snapshot_every` | off (a snapshot every N blocks) |
//!
//! The JSON-RPC server's limits (`docs/rpc.md`, "Limits"), each a flag, a `TAO_NODE_*`
//! variable and a config key of the same name:
//!
//! | setting                        | flag                               | default |
//! |--------------------------------|------------------------------------|---------|
//! | connections, all clients       | `--rpc-max-connections`            | 500 |
//! | connections per address        | `--rpc-max-connections-per-ip`     | 64 |
//! | WebSockets per address         | `--rpc-max-websockets-per-ip`      | 32 |
//! | idle timeout                   | `--rpc-idle-timeout-ms`            | 60000 |
//! | calls per batch                | `--rpc-max-batch`                  | 100 |
//! | request size (bytes)           | `--rpc-max-request-bytes`          | 1048576 |
//! | browser origins besides loopback | `--rpc-cors all\|ORIGIN,...`     | none |

use crate::{
    rpc::server::{OriginPolicy, RpcLimits},
    store::Pruning,
};
use anyhow::{bail, Context, Result};
use serde_json::Value;
use std::{collections::BTreeMap, net::SocketAddr, path::PathBuf, str::FromStr, time::Duration};

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
    /// JSON-RPC connections from all clients together.
    pub rpc_max_connections: Option<usize>,
    /// JSON-RPC connections from one client address.
    pub rpc_max_connections_per_ip: Option<usize>,
    /// JSON-RPC WebSockets from one client address.
    pub rpc_max_websockets_per_ip: Option<usize>,
    /// Milliseconds after which a silent JSON-RPC connection is closed.
    pub rpc_idle_timeout_ms: Option<u64>,
    /// Calls in one JSON-RPC batch.
    pub rpc_max_batch: Option<u32>,
    /// Bytes in one JSON-RPC request.
    pub rpc_max_request_bytes: Option<u32>,
    /// Browser origins allowed besides loopback pages: `all` or a comma-separated list.
    pub rpc_cors: Option<String>,
    /// Serve the explorer on the JSON-RPC port (`--explorer`).
    pub explorer: bool,
    /// Which blocks to keep: `archive` or a number of blocks.
    pub pruning: Option<String>,
    /// How an empty node of a BFT chain gets the chain: `full` or `snapshot`.
    pub sync: Option<String>,
    /// Keep (and serve) a snapshot every this many blocks.
    pub snapshot_every: Option<u64>,
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
    /// The JSON-RPC server's limits.
    pub rpc_limits: RpcLimits,
    /// Which blocks the store keeps.
    pub pruning: Pruning,
    /// How an empty node of a BFT chain gets the chain.
    pub sync: crate::snapshot::SyncMode,
    /// Keep (and serve) a snapshot every this many blocks.
    pub snapshot_every: Option<std::num::NonZeroU64>,
}

const KEYS: [&str; 22] = [
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
    "rpc_max_connections",
    "rpc_max_connections_per_ip",
    "rpc_max_websockets_per_ip",
    "rpc_idle_timeout_ms",
    "rpc_max_batch",
    "rpc_max_request_bytes",
    "rpc_cors",
    "explorer",
    "pruning",
    "sync",
    "snapshot_every",
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
    // A positive number: the flag, else `TAO_NODE_<KEY>`, else the config's `key`.
    let number = |flag: Option<String>, key: &str, what: &str| -> Result<Option<u64>> {
        let var = format!("TAO_NODE_{}", key.to_ascii_uppercase());
        text(flag, &var, key)?
            .map(|v| match u64::from_str(v.trim()) {
                Ok(n) if n > 0 => Ok(n),
                _ => bail!("{key}: {v:?} is not a positive number of {what}"),
            })
            .transpose()
    };
    let block_time_ms = match number(
        flags.block_time_ms.map(|b| b.to_string()),
        "block_time_ms",
        "milliseconds",
    )? {
        Some(ms) => ms,
        None if dev => 250,
        None => 12_000,
    };
    let rpc_limits = rpc_limits(flags, &number, &text)?;
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
    let pruning = text(flags.pruning.clone(), "TAO_NODE_PRUNING", "pruning")?
        .map(|v| Pruning::from_str(v.trim()))
        .transpose()?
        .unwrap_or_default();
    let sync = text(flags.sync.clone(), "TAO_NODE_SYNC", "sync")?
        .map(|v| crate::snapshot::SyncMode::from_str(v.trim()).map_err(anyhow::Error::msg))
        .transpose()?
        .unwrap_or_default();
    let snapshot_every =
        number(flags.snapshot_every.map(|n| n.to_string()), "snapshot_every", "blocks")?
            .and_then(std::num::NonZeroU64::new);
    Ok(Settings {
        dev,
        genesis,
        base_path,
        rpc_addr,
        metrics_addr,
        block_time_ms,
        log_format,
        log,
        follow,
        validator_key,
        p2p_addr,
        peers,
        rpc_limits,
        pruning,
        sync,
        snapshot_every,
    })
}

/// A setting by (flag value, config key or environment variable, what it counts).
type Lookup<'a, T> = dyn Fn(Option<String>, &str, &str) -> Result<Option<T>> + 'a;

/// The JSON-RPC limits from `number` and `text` (as in [`resolve`]), else the defaults.
fn rpc_limits(
    flags: &Flags,
    number: &Lookup<'_, u64>,
    text: &Lookup<'_, String>,
) -> Result<RpcLimits> {
    let defaults = RpcLimits::default();
    let shown = |n: Option<usize>| n.map(|n| n.to_string());
    let narrow = |key: &str, n: u64| -> Result<u32> {
        u32::try_from(n).with_context(|| format!("{key}: {n} is too large"))
    };
    let as_usize = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
    let max_connections =
        number(shown(flags.rpc_max_connections), "rpc_max_connections", "connections")?
            .map_or(defaults.max_connections, as_usize);
    let max_connections_per_ip = number(
        shown(flags.rpc_max_connections_per_ip),
        "rpc_max_connections_per_ip",
        "connections",
    )?
    .map_or(defaults.max_connections_per_ip, as_usize);
    let max_websockets_per_ip =
        number(shown(flags.rpc_max_websockets_per_ip), "rpc_max_websockets_per_ip", "WebSockets")?
            .map_or(defaults.max_websockets_per_ip, as_usize);
    let idle_timeout = number(
        flags.rpc_idle_timeout_ms.map(|n| n.to_string()),
        "rpc_idle_timeout_ms",
        "milliseconds",
    )?
    .map_or(defaults.idle_timeout, Duration::from_millis);
    if idle_timeout < Duration::from_millis(100) {
        bail!("rpc_idle_timeout_ms: {} is below 100", idle_timeout.as_millis());
    }
    let max_batch = number(flags.rpc_max_batch.map(|n| n.to_string()), "rpc_max_batch", "calls")?
        .map_or(Ok(defaults.max_batch), |n| narrow("rpc_max_batch", n))?;
    let max_request_bytes = number(
        flags.rpc_max_request_bytes.map(|n| n.to_string()),
        "rpc_max_request_bytes",
        "bytes",
    )?
    .map_or(Ok(defaults.max_request_bytes), |n| narrow("rpc_max_request_bytes", n))?;
    if max_request_bytes < RpcLimits::MIN_REQUEST_BYTES {
        bail!(
            "rpc_max_request_bytes: {max_request_bytes} is below {}, the size of a request \
             carrying the largest transaction",
            RpcLimits::MIN_REQUEST_BYTES
        );
    }
    let origins = match text(flags.rpc_cors.clone(), "TAO_NODE_RPC_CORS", "rpc_cors")? {
        Some(list) => OriginPolicy::parse(&list).context("rpc_cors")?,
        None => defaults.origins,
    };
    let explorer = flags.explorer
        || match text(None, "TAO_NODE_EXPLORER", "explorer")?.as_deref() {
            None | Some("0" | "false") => false,
            Some("1" | "true") => true,
            Some(other) => bail!("explorer: {other:?} is not true/false"),
        };
    Ok(RpcLimits {
        max_connections,
        max_connections_per_ip,
        max_websockets_per_ip,
        idle_timeout,
        max_batch,
        max_request_bytes,
        origins,
        explorer,
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
        assert_eq!(plain.pruning, Pruning::Archive);
        let kept = |n| Pruning::Keep(std::num::NonZeroU64::new(n).unwrap());
        assert_eq!(resolve(&Flags::default(), |_| None, &file).unwrap().pruning, Pruning::Archive);
        let pruned = config(json!({"pruning": 100}));
        assert_eq!(resolve(&Flags::default(), |_| None, &pruned).unwrap().pruning, kept(100));
        let env = |var: &str| (var == "TAO_NODE_PRUNING").then(|| "50".to_owned());
        assert_eq!(resolve(&Flags::default(), env, &pruned).unwrap().pruning, kept(50));
        let flags = Flags { pruning: Some("archive".into()), ..Flags::default() };
        assert_eq!(resolve(&flags, env, &pruned).unwrap().pruning, Pruning::Archive);
    }

    #[test]
    fn rpc_limits_come_from_flags_environment_and_file() {
        let plain = resolve(&Flags::default(), |_| None, &BTreeMap::new()).unwrap();
        assert_eq!(plain.rpc_limits, RpcLimits::default());
        let file = config(json!({"rpc_max_batch": 7, "rpc_cors": "https://app.example"}));
        let env = |var: &str| (var == "TAO_NODE_RPC_IDLE_TIMEOUT_MS").then(|| "1500".to_owned());
        let flags = Flags { rpc_max_websockets_per_ip: Some(3), ..Flags::default() };
        let limits = resolve(&flags, env, &file).unwrap().rpc_limits;
        assert_eq!(limits.max_batch, 7);
        assert_eq!(limits.idle_timeout, Duration::from_millis(1500));
        assert_eq!(limits.max_websockets_per_ip, 3);
        assert!(limits.origins.allows("https://app.example"));
        assert!(!limits.origins.allows("https://other.example"));
        let bad =
            |v: Value| resolve(&Flags::default(), |_| None, &config(v)).unwrap_err().to_string();
        assert!(bad(json!({"rpc_max_connections": 0})).contains("rpc_max_connections"));
        assert!(bad(json!({"rpc_max_batch": -1})).contains("rpc_max_batch"));
        assert!(bad(json!({"rpc_idle_timeout_ms": 5})).contains("rpc_idle_timeout_ms"));
        assert!(bad(json!({"rpc_max_request_bytes": 1000})).contains("largest transaction"));
        assert!(bad(json!({"rpc_cors": "evil.example"})).contains("rpc_cors"));
        assert!(!plain.rpc_limits.explorer, "the explorer is off unless asked for");
        let on = |flags: &Flags, env: &dyn Fn(&str) -> Option<String>, file: Value| {
            resolve(flags, env, &config(file)).unwrap().rpc_limits.explorer
        };
        assert!(on(&Flags { explorer: true, ..Flags::default() }, &|_| None, json!({})));
        assert!(on(
            &Flags::default(),
            &|v| (v == "TAO_NODE_EXPLORER").then(|| "1".into()),
            json!({})
        ));
        assert!(on(&Flags::default(), &|_| None, json!({"explorer": true})));
        assert!(bad(json!({"explorer": "maybe"})).contains("explorer"));
    }

    #[test]
    fn sync_mode_and_snapshots_come_from_flags_environment_and_file() {
        use crate::snapshot::SyncMode;
        let plain = resolve(&Flags::default(), |_| None, &BTreeMap::new()).unwrap();
        assert_eq!((plain.sync, plain.snapshot_every), (SyncMode::Full, None));
        let file = config(json!({"sync": "snapshot", "snapshot_every": 100}));
        let s = resolve(&Flags::default(), |_| None, &file).unwrap();
        assert_eq!((s.sync, s.snapshot_every.map(|n| n.get())), (SyncMode::Snapshot, Some(100)));
        let env = |var: &str| match var {
            "TAO_NODE_SYNC" => Some("full".to_owned()),
            "TAO_NODE_SNAPSHOT_EVERY" => Some("50".to_owned()),
            _ => None,
        };
        let s = resolve(&Flags::default(), env, &file).unwrap();
        assert_eq!((s.sync, s.snapshot_every.map(|n| n.get())), (SyncMode::Full, Some(50)));
        let flags =
            Flags { sync: Some("snapshot".into()), snapshot_every: Some(7), ..Flags::default() };
        let s = resolve(&flags, env, &file).unwrap();
        assert_eq!((s.sync, s.snapshot_every.map(|n| n.get())), (SyncMode::Snapshot, Some(7)));
        let bad =
            |v: Value| resolve(&Flags::default(), |_| None, &config(v)).unwrap_err().to_string();
        assert!(bad(json!({"sync": "warp"})).contains("full or snapshot"));
        assert!(bad(json!({"snapshot_every": 0})).contains("snapshot_every"));
    }

    #[test]
    fn bad_values_are_named() {
        let bad =
            |v: Value| resolve(&Flags::default(), |_| None, &config(v)).unwrap_err().to_string();
        assert!(bad(json!({"rpc_addr": "nowhere"})).contains("rpc_addr"));
        assert!(bad(json!({"block_time_ms": "soon"})).contains("block_time_ms"));
        assert!(bad(json!({"log_format": "xml"})).contains("log_format"));
        assert!(bad(json!({"dev": true, "genesis": "g.json"})).contains("not both"));
        assert!(bad(json!({"pruning": 0})).contains("pruning"));
        assert!(bad(json!({"pruning": "some"})).contains("archive"));
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
