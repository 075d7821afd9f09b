//! `tao-node`: runs a tao chain on this machine.
//!
//! `tao-node --dev` starts a single-node development chain (Alice … Ferdie funded, Alice is
//! sudo, one subnet already emitting) that produces a block every 250 ms and serves JSON-RPC
//! on 127.0.0.1:9944. Every produced block is committed to the on-disk store before it
//! becomes the head, so a node killed at any moment restarts with every block it announced.

mod validator;

use tao_node::{chain, metrics, rpc, settings};

use anyhow::{bail, Context, Result};
use clap::Parser;
use std::{
    net::SocketAddr,
    path::PathBuf,
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};
use tao_types::GenesisConfig;
use tracing::{error, info, warn};

#[derive(Parser, Debug)]
#[command(
    name = "tao-node",
    version,
    about = "Runs a tao chain node",
    after_help = "Settings: flags, then environment variables (TAO_NODE_*), then --config FILE, then defaults; see the table in the README."
)]
struct Args {
    /// Run a development chain: built-in genesis (Alice..Ferdie funded, Alice sudo, subnet 1
    /// emitting), 250 ms blocks unless --block-time-ms says otherwise [env: TAO_NODE_DEV].
    #[arg(long)]
    dev: bool,
    /// A genesis config (JSON); `--print-dev-genesis` shows the format [env: TAO_NODE_GENESIS].
    #[arg(long, value_name = "FILE", conflicts_with = "dev")]
    genesis: Option<PathBuf>,
    /// Where the chain's database lives (default: ~/.tao/node/<chain name>) [env: TAO_NODE_BASE_PATH].
    #[arg(long, value_name = "DIR")]
    base_path: Option<PathBuf>,
    /// JSON-RPC address, HTTP and WebSocket on one port (default 127.0.0.1:9944) [env: TAO_NODE_RPC_ADDR].
    #[arg(long)]
    rpc_addr: Option<SocketAddr>,
    /// Serve Prometheus metrics on this address (`GET /metrics`), e.g. 127.0.0.1:9615 [env: TAO_NODE_METRICS_ADDR].
    #[arg(long)]
    metrics_addr: Option<SocketAddr>,
    /// Milliseconds between blocks (default 12000, or 250 with --dev) [env: TAO_NODE_BLOCK_TIME_MS].
    #[arg(long)]
    block_time_ms: Option<u64>,
    /// Log format: text or json (one object per line) [env: TAO_NODE_LOG_FORMAT].
    #[arg(long, value_name = "FORMAT")]
    log_format: Option<String>,
    /// Log filter, e.g. `info` or `debug,jsonrpsee=warn` [env: RUST_LOG].
    #[arg(long, value_name = "FILTER")]
    log: Option<String>,
    /// Follow the node at this JSON-RPC URL instead of producing blocks: import its blocks,
    /// re-execute each and check its state root; serve reads (a replica) [env: TAO_NODE_FOLLOW].
    #[arg(long, value_name = "URL")]
    follow: Option<String>,
    /// This node's key on a BFT network (`--node-key` is the same flag): its p2p identity
    /// and, when elected, its consensus key. With fixed authorities it must be one of them;
    /// with proof of stake any key registered on chain (`tao validator register`) runs:
    /// a full node that votes only in epochs whose set holds it [env: TAO_NODE_VALIDATOR_KEY].
    #[arg(long, value_name = "FILE", alias = "node-key")]
    validator_key: Option<PathBuf>,
    /// Where to listen for the other validators (default 127.0.0.1:30333) [env: TAO_NODE_P2P_ADDR].
    #[arg(long, value_name = "ADDR")]
    p2p_addr: Option<SocketAddr>,
    /// Peers to dial, `KEY@IP:PORT,...` (`--bootnodes` is the same flag): the genesis
    /// authorities' addresses, or with proof of stake any nodes to start from (the others'
    /// keys and addresses are read from the chain as it syncs) [env: TAO_NODE_PEERS].
    #[arg(long, value_name = "LIST", alias = "bootnodes")]
    peers: Option<String>,
    /// JSON-RPC connections from all clients together; over it, 429 (default 500; WebSockets
    /// take at most three quarters) [env: TAO_NODE_RPC_MAX_CONNECTIONS].
    #[arg(long, value_name = "N")]
    rpc_max_connections: Option<usize>,
    /// JSON-RPC connections from one client address (an IPv6 one by its /64) (default 64)
    /// [env: TAO_NODE_RPC_MAX_CONNECTIONS_PER_IP].
    #[arg(long, value_name = "N")]
    rpc_max_connections_per_ip: Option<usize>,
    /// JSON-RPC WebSockets from one client address (default 32)
    /// [env: TAO_NODE_RPC_MAX_WEBSOCKETS_PER_IP].
    #[arg(long, value_name = "N")]
    rpc_max_websockets_per_ip: Option<usize>,
    /// Close a JSON-RPC connection that sent nothing (a WebSocket: not even a pong to the
    /// node's pings) for this long (default 60000) [env: TAO_NODE_RPC_IDLE_TIMEOUT_MS].
    #[arg(long, value_name = "MS")]
    rpc_idle_timeout_ms: Option<u64>,
    /// Calls in one JSON-RPC batch (default 100) [env: TAO_NODE_RPC_MAX_BATCH].
    #[arg(long, value_name = "N")]
    rpc_max_batch: Option<u32>,
    /// Bytes in one JSON-RPC request or WebSocket message (default 1048576, at least 135168:
    /// the largest transaction) [env: TAO_NODE_RPC_MAX_REQUEST_BYTES].
    #[arg(long, value_name = "BYTES")]
    rpc_max_request_bytes: Option<u32>,
    /// Browser pages (`Origin`) allowed to call besides loopback ones (http(s)://localhost,
    /// 127.0.0.1, [::1], any port): `all`, or origins like https://app.example,...; requests
    /// without an Origin (CLI, SDK) are always served [env: TAO_NODE_RPC_CORS].
    #[arg(long, value_name = "all|ORIGINS")]
    rpc_cors: Option<String>,
    /// Serve the explorer (a web page of the chain, subnets and metagraphs) on the JSON-RPC
    /// port under /explorer/ [env: TAO_NODE_EXPLORER].
    #[arg(long)]
    explorer: bool,
    /// Which blocks to keep: `archive` (every block) or N (the last N blocks' bodies and
    /// receipts; the state at the head is always kept) (default archive) [env: TAO_NODE_PRUNING].
    #[arg(long, value_name = "archive|N")]
    pruning: Option<String>,
    /// How a node of a BFT chain with an empty --base-path gets the chain: `full` (every
    /// block from genesis, re-executed) or `snapshot` (a certified state snapshot from its
    /// peers, then the blocks after it; docs/storage.md).
    /// (default full) [env: TAO_NODE_SYNC].
    #[arg(long, value_name = "full|snapshot")]
    sync: Option<String>,
    /// Keep a state snapshot every N blocks (the last 2, in <base-path>/snapshots.redb) and
    /// serve it to peers that sync by snapshot (BFT chains) [env: TAO_NODE_SNAPSHOT_EVERY].
    #[arg(long, value_name = "N")]
    snapshot_every: Option<u64>,
    /// Write a new validator (node) key to FILE, print its public key, and exit
    /// (`--generate-node-key` is the same flag).
    #[arg(long, value_name = "FILE", alias = "generate-node-key")]
    generate_validator_key: Option<PathBuf>,
    /// A JSON file of settings (keys as in the README's table); flags and environment
    /// variables override it.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Print the development genesis config as JSON and exit.
    #[arg(long)]
    print_dev_genesis: bool,
}

fn default_base_path(chain_name: &str) -> Result<PathBuf> {
    let home = std::env::var_os("HOME").context("HOME is not set; pass --base-path")?;
    Ok(PathBuf::from(home).join(".tao").join("node").join(chain_name))
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

fn main() -> std::process::ExitCode {
    match start() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn start() -> Result<()> {
    let args = Args::parse();
    if args.print_dev_genesis {
        println!("{}", serde_json::to_string_pretty(&tao_node::dev_genesis()?)?);
        return Ok(());
    }
    if let Some(path) = &args.generate_validator_key {
        let key = tao_node::consensus::generate_signer(path)?;
        println!("{}", tao_node::consensus::public_key_hex(&key));
        return Ok(());
    }
    let config = match &args.config {
        Some(path) => settings::read_config(path)?,
        None => Default::default(),
    };
    let flags = settings::Flags {
        dev: args.dev,
        genesis: args.genesis.clone(),
        base_path: args.base_path.clone(),
        rpc_addr: args.rpc_addr,
        metrics_addr: args.metrics_addr,
        block_time_ms: args.block_time_ms,
        log_format: args.log_format.clone(),
        log: args.log.clone(),
        follow: args.follow.clone(),
        validator_key: args.validator_key.clone(),
        p2p_addr: args.p2p_addr,
        peers: args.peers.clone(),
        rpc_max_connections: args.rpc_max_connections,
        rpc_max_connections_per_ip: args.rpc_max_connections_per_ip,
        rpc_max_websockets_per_ip: args.rpc_max_websockets_per_ip,
        rpc_idle_timeout_ms: args.rpc_idle_timeout_ms,
        rpc_max_batch: args.rpc_max_batch,
        rpc_max_request_bytes: args.rpc_max_request_bytes,
        rpc_cors: args.rpc_cors.clone(),
        explorer: args.explorer,
        pruning: args.pruning.clone(),
        sync: args.sync.clone(),
        snapshot_every: args.snapshot_every,
    };
    let settings = settings::resolve(&flags, |var| std::env::var(var).ok(), &config)?;
    let _ = RPC_LIMITS.set(settings.rpc_limits.clone());
    let filter = tracing_subscriber::EnvFilter::try_new(&settings.log)
        .with_context(|| format!("log filter {:?}", settings.log))?;
    let logs = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match settings.log_format {
        settings::LogFormat::Json => logs.json().with_ansi(false).init(),
        settings::LogFormat::Text => {
            logs.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())).init()
        }
    }
    let config = match (&settings.genesis, settings.dev) {
        (Some(path), _) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            serde_json::from_str(&text)
                .with_context(|| format!("{} is not a valid genesis config", path.display()))?
        }
        (None, true) => tao_node::dev_genesis()?,
        (None, false) => bail!("give --dev for a development chain, or --genesis FILE"),
    };
    let block_time = Duration::from_millis(settings.block_time_ms);
    let base_path = match &settings.base_path {
        Some(path) => path.clone(),
        None => default_base_path(&config.chain_name)?,
    };
    std::fs::create_dir_all(&base_path)
        .with_context(|| format!("creating {}", base_path.display()))?;
    let snapshots = tao_node::snapshot::Config {
        sync: settings.sync,
        every: settings.snapshot_every,
        dir: Some(base_path.clone()),
    };
    if (!config.authorities.is_empty() || !config.validators.is_empty())
        && settings.follow.is_none()
    {
        return validator::run(config, base_path, &settings, block_time, snapshots);
    }
    if settings.sync == tao_node::snapshot::SyncMode::Snapshot || settings.snapshot_every.is_some()
    {
        bail!("--sync snapshot and --snapshot-every are for BFT chains (genesis authorities or validators)");
    }
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?
        .block_on(run(config, base_path, &settings, block_time))
}

async fn run(
    config: GenesisConfig,
    base_path: PathBuf,
    settings: &settings::Settings,
    block_time: Duration,
) -> Result<()> {
    let (rpc_addr, metrics_addr) = (settings.rpc_addr, settings.metrics_addr);
    let chain = chain::Chain::open_with(&base_path, &config, settings.pruning)?;
    chain::log_opened(&chain, &config, &base_path);
    let node = Arc::new(rpc::Node::new(chain, settings.follow.clone(), None));
    let handle = serve(&node, rpc_addr, metrics_addr).await?;

    let producer = match &settings.follow {
        Some(upstream) => {
            info!(%upstream, "following: importing and re-executing its blocks");
            tokio::spawn(follow_blocks(node.clone(), upstream.clone(), block_time))
        }
        None => tokio::spawn(produce_blocks(node.clone(), block_time)),
    };
    let work = async {
        match producer.await {
            Ok(result) => result,
            Err(e) => Err(anyhow::anyhow!("block production stopped: {e}")),
        }
    };
    until_shutdown(work, handle).await
}

/// Runs `work` until it ends or SIGINT/SIGTERM arrives, then stops the RPC server.
pub(crate) async fn until_shutdown(
    work: impl std::future::Future<Output = Result<()>>,
    rpc: jsonrpsee::server::ServerHandle,
) -> Result<()> {
    let outcome = tokio::select! {
        result = work => result,
        () = shutdown_signal() => {
            info!("shutting down");
            Ok(())
        }
    };
    let _ = rpc.stop();
    rpc.stopped().await;
    outcome
}

/// The JSON-RPC limits from the settings, for [`serve`] (set once in `start`; `serve` is
/// shared with the validator, which gets the settings the same way).
static RPC_LIMITS: std::sync::OnceLock<rpc::server::RpcLimits> = std::sync::OnceLock::new();

/// Serves JSON-RPC within the settings' limits (and metrics, if asked) for `node`.
pub(crate) async fn serve(
    node: &Arc<rpc::Node>,
    rpc_addr: SocketAddr,
    metrics_addr: Option<SocketAddr>,
) -> Result<jsonrpsee::server::ServerHandle> {
    // Metrics first: once the RPC answers (what scripts and tests wait for), both serve.
    if let Some(addr) = metrics_addr {
        let local = metrics::serve(addr, node.clone())
            .await
            .with_context(|| format!("cannot serve metrics on {addr}"))?;
        info!(%local, "Prometheus metrics on /metrics");
    }
    let listener = tokio::net::TcpListener::bind(rpc_addr)
        .await
        .with_context(|| format!("cannot listen on {rpc_addr} (is another node running?)"))?;
    let local = listener.local_addr()?;
    let limits = RPC_LIMITS.get().cloned().unwrap_or_default();
    // Before the RPC's line (what scripts and tests wait for), like the metrics' line.
    if limits.explorer {
        let url = format!("http://{local}{}", tao_node::explorer::PREFIX);
        let bytes = tao_node::explorer::total_bytes();
        info!(%local, %url, bytes, "explorer on the JSON-RPC port");
    }
    info!(
        %local,
        max_connections = limits.max_connections,
        per_ip = limits.max_connections_per_ip,
        websockets_per_ip = limits.max_websockets_per_ip,
        idle_timeout_ms = u64::try_from(limits.idle_timeout.as_millis()).unwrap_or(u64::MAX),
        max_batch = limits.max_batch,
        max_request_bytes = limits.max_request_bytes,
        "JSON-RPC listening (HTTP and WebSocket)"
    );
    let handle = rpc::server::start(listener, rpc::module(node.clone())?.into(), limits);
    Ok(handle)
}

async fn produce_blocks(node: Arc<rpc::Node>, block_time: Duration) -> Result<()> {
    let mut ticks = tokio::time::interval(block_time);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        let started = std::time::Instant::now();
        let produced = locked(&node)?.produce(now_ms());
        let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        match produced {
            Ok((block, outcome)) => node.announce(&block, &outcome, micros),
            Err(e) => {
                error!("cannot produce block: {e:#}");
                return Err(e);
            }
        }
    }
}

/// The chain, locked.
fn locked(node: &rpc::Node) -> Result<std::sync::MutexGuard<'_, chain::Chain>> {
    node.chain.lock().map_err(|_| anyhow::anyhow!("chain lock poisoned"))
}

/// Why a follower's sync step stopped early.
enum SyncError {
    /// Following cannot go on: another chain, or a block that does not verify.
    Fatal(anyhow::Error),
    /// Worth retrying: the upstream is unreachable or answered oddly.
    Retry(anyhow::Error),
}

impl<E: Into<anyhow::Error>> From<E> for SyncError {
    fn from(e: E) -> Self {
        Self::Retry(e.into())
    }
}

/// A follower: imports the blocks of `upstream` in order, re-executing each and checking
/// its state root, and announces them as its own heads. Unreachable upstreams are retried;
/// a block that does not verify stops the node (it will not follow a chain it cannot check).
async fn follow_blocks(node: Arc<rpc::Node>, upstream: String, poll: Duration) -> Result<()> {
    let client = jsonrpsee::http_client::HttpClientBuilder::default()
        .request_timeout(Duration::from_secs(10))
        .build(&upstream)
        .with_context(|| format!("--follow {upstream}"))?;
    let mut checked_genesis = false;
    let mut backoff = Duration::from_millis(200);
    loop {
        match sync_step(&node, &client, &upstream, &mut checked_genesis).await {
            Ok(0) => tokio::time::sleep(poll.min(Duration::from_millis(250))).await,
            Ok(n) => {
                tracing::debug!(imported = n, "synced");
                backoff = Duration::from_millis(200);
            }
            Err(SyncError::Fatal(e)) => {
                error!("{e:#}");
                return Err(e);
            }
            Err(SyncError::Retry(e)) => {
                node.sync.set_upstream(false);
                warn!("following {upstream}: {e:#}; retrying in {backoff:?}");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// Checks the upstream's genesis once, then imports up to 500 of its blocks beyond our head;
/// returns how many.
async fn sync_step(
    node: &rpc::Node,
    client: &jsonrpsee::http_client::HttpClient,
    upstream: &str,
    checked_genesis: &mut bool,
) -> Result<usize, SyncError> {
    use tao_rpc_api::method::{ChainHead, GenesisHash, GetBlockRaw};
    if !*checked_genesis {
        let theirs = typed::<GenesisHash>(client, ()).await?.0;
        let ours = locked(node)?.state.genesis_hash();
        if theirs != ours {
            return Err(SyncError::Fatal(anyhow::anyhow!(
                "{upstream} runs another chain (genesis {theirs}, ours {ours}): give the same --dev/--genesis"
            )));
        }
        *checked_genesis = true;
    }
    let theirs = typed::<ChainHead>(client, ()).await?.number;
    node.sync.saw(theirs);
    node.sync.set_upstream(true);
    let mut imported = 0;
    loop {
        let next = locked(node)?.head.number.get() + 1;
        if next > theirs || imported >= 500 {
            return Ok(imported);
        }
        let raw = match typed_call::<GetBlockRaw>(client, (next,)).await {
            Ok(raw) => raw,
            Err(jsonrpsee::core::ClientError::Call(e)) if e.code() == tao_rpc_api::ERROR_PRUNED => {
                return Err(SyncError::Fatal(anyhow::anyhow!(
                    "{upstream} pruned block {next} ({}): follow an archive node, or one whose \
                     --pruning window reaches this node's head",
                    e.message()
                )))
            }
            Err(e) => return Err(e.into()),
        };
        let bytes =
            tao_primitives::hex::decode(&raw).map_err(|e| anyhow::anyhow!("block {next}: {e}"))?;
        if bytes.len() > 64 * 1024 * 1024 {
            return Err(anyhow::anyhow!("block {next} is implausibly large").into());
        }
        let block = <tao_types::Block as codec::Decode>::decode(&mut &bytes[..])
            .map_err(|e| anyhow::anyhow!("block {next} does not decode: {e}"))?;
        let started = std::time::Instant::now();
        let outcome = locked(node)?.import(&block).map_err(SyncError::Fatal)?;
        let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
        node.announce(&block, &outcome, micros);
        imported += 1;
    }
}

/// Calls the upstream's method `M` through the API's declaration (typed parameters and
/// answer: a renamed or missing field is an error, never a default).
async fn typed<M: tao_rpc_api::Method>(
    client: &jsonrpsee::http_client::HttpClient,
    params: M::Params,
) -> Result<M::Output, SyncError> {
    Ok(typed_call::<M>(client, params).await?)
}

/// [`typed`], with the client's own error (to tell the upstream's error codes apart).
async fn typed_call<M: tao_rpc_api::Method>(
    client: &jsonrpsee::http_client::HttpClient,
    params: M::Params,
) -> Result<M::Output, jsonrpsee::core::ClientError> {
    use jsonrpsee::core::{client::ClientT, params::ArrayParams};
    let mut array = ArrayParams::new();
    let custom = |e: serde_json::Error| jsonrpsee::core::ClientError::Custom(e.to_string());
    for arg in tao_rpc_api::to_positional::<M>(&params)
        .map_err(|e| jsonrpsee::core::ClientError::Custom(e.to_string()))?
    {
        array.insert(arg).map_err(custom)?;
    }
    client.request(M::NAME, array).await
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(e) => {
                warn!("cannot watch SIGTERM: {e}");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
