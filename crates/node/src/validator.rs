//! A validator of a BFT network: the chain, JSON-RPC, commonware's authenticated `lookup`
//! p2p network on real sockets, and the consensus engine, on commonware's tokio runtime.

use crate::{serve, settings::Settings, until_shutdown};
use anyhow::{bail, Context as _, Result};
use commonware_cryptography::{ChaCha20Poly1305, Signer as _};
use commonware_p2p::{authenticated::lookup, Address, AddressableManager as _};
use commonware_runtime::{Clock, Quota, Runner as _, Supervisor as _};
use commonware_stream::{
    cups::{self, Cups},
    sake::{self, Sake},
};
use std::{
    collections::{BTreeMap, BTreeSet},
    net::SocketAddr,
    num::{NonZeroU32, NonZeroUsize},
    path::PathBuf,
    sync::Arc,
    time::Duration,
};
use tao_node::{
    chain::Chain,
    consensus::{self, channels, Behaviour},
    rpc,
};
use tao_types::GenesisConfig;
use tracing::{error, info};

/// Most peers of a node of a chain with proof of stake: the validators of the kept sets
/// first, then candidates by bond (`epochs::peers`' order). commonware sizes each channel's
/// inbox as peers × the per-peer burst, so this and [`POS_PEER_RATE`] bound its memory.
const MAX_PEERS: usize = 128;

/// Messages a second one peer may send on one channel: a fixed set of authorities gets
/// 10,000 (transaction gossip at full load); a chain with proof of stake, whose peers are
/// up to [`MAX_PEERS`], 1,000.
const AUTHORITY_PEER_RATE: u32 = 10_000;
const POS_PEER_RATE: u32 = 1_000;

/// Runs this node as one of the genesis authorities, or as a node of a chain with proof of
/// stake, until SIGINT/SIGTERM.
pub fn run(
    config: GenesisConfig,
    base_path: PathBuf,
    settings: &Settings,
    block_time: Duration,
    snapshots: tao_node::snapshot::Config,
) -> Result<()> {
    let key_path = settings.validator_key.as_ref().context(
        "this genesis names validators (authorities): give --validator-key FILE \
         (or --follow URL to replicate a validator)",
    )?;
    let signer = consensus::read_signer(key_path)?;
    let me = signer.public_key();
    let authorities = config
        .authorities
        .iter()
        .map(|a| consensus::parse_public_key(a))
        .collect::<Result<Vec<_>, _>>()
        .context("genesis authorities")?;
    // Fixed authorities: this node is one of them and knows every other's address. Proof
    // of stake: any key may run (it follows the chain until elected); the validators' and
    // candidates' addresses are on chain, --peers adds or overrides some.
    let elects = !config.validators.is_empty();
    if !elects && !authorities.contains(&me) {
        bail!(
            "the key in {} ({}) is not one of the genesis authorities",
            key_path.display(),
            consensus::public_key_hex(&me)
        );
    }
    let mut addresses = BTreeMap::new();
    for peer in &settings.peers {
        let (key, addr) = consensus::parse_peer(peer)?;
        if !elects && !authorities.contains(&key) {
            bail!("peer {peer}: its key is not one of the genesis authorities");
        }
        addresses.insert(key, addr);
    }
    addresses.insert(me.clone(), settings.p2p_addr);
    let missing: Vec<String> = authorities
        .iter()
        .filter(|a| !addresses.contains_key(*a))
        .map(consensus::public_key_hex)
        .collect();
    if !missing.is_empty() {
        bail!("no address for validators {}: give --peers KEY@IP:PORT,...", missing.join(", "));
    }
    let chain = Chain::open_with(&base_path, &config, settings.pruning)?;
    let genesis = chain.genesis_header().hash();
    crate::chain::log_opened(&chain, &config, &base_path);
    if elects {
        info!(key = %consensus::public_key_hex(&me), "a node of this proof-of-stake chain (it validates the epochs that elect its key)");
    } else {
        info!(
            validators = authorities.len(),
            key = %consensus::public_key_hex(&me),
            "a BFT validator of this chain"
        );
    }
    let runtime = commonware_runtime::tokio::Config::new()
        .with_worker_threads(2)
        .with_storage_directory(base_path.join("consensus"));
    let (rpc_addr, metrics_addr, p2p_addr) =
        (settings.rpc_addr, settings.metrics_addr, settings.p2p_addr);
    commonware_runtime::tokio::Runner::new(runtime).start(|context| async move {
        let (gossip, gossip_rx) = tokio::sync::mpsc::unbounded_channel();
        let node = Arc::new(rpc::Node::new(chain, None, Some(gossip)));
        let namespace = consensus::namespace(&genesis);
        let handshake = Cups::<_, ChaCha20Poly1305>::new(
            Sake {
                signer: signer.clone(),
                synchrony_bound: Duration::from_secs(5),
                max_handshake_age: Duration::from_secs(10),
                version: sake::Version::V1,
            },
            cups::Version::V1,
        );
        let p2p = lookup::Config::local(
            handshake,
            &namespace,
            p2p_addr,
            NonZeroUsize::new(if elects { MAX_PEERS } else { authorities.len() })
                .context("no authorities")?,
            consensus::MAX_MESSAGE_SIZE,
            NonZeroUsize::new(1_024).context("mailbox")?,
        );
        let (mut network, oracle) = lookup::Network::new(context.child("p2p"), p2p);
        // Each epoch's peers, as the node enters it: an address the chain does not give
        // comes from --peers (the validators of a chain without elections).
        let mut tracker = oracle.clone();
        let on_peers = move |epoch: u64, peers: tao_node::epochs::Peers| {
            // With proof of stake, --peers come first (how a new node reaches the network)
            // and override the chain's address of a key; then the chain's, in its order
            // (validators, then candidates by bond), up to MAX_PEERS.
            let mut seen = BTreeSet::new();
            let given = addresses.iter().filter(|_| elects).map(|(k, a)| (k.clone(), Some(*a)));
            let peers: Vec<(consensus::PublicKey, Address)> = given
                .chain(peers)
                .filter_map(|(key, addr)| {
                    let addr = addr.or_else(|| addresses.get(&key).copied())?;
                    seen.insert(key.clone()).then(|| (key, Address::from(addr)))
                })
                .take(if elects { MAX_PEERS } else { usize::MAX })
                .collect();
            match commonware_utils::ordered::Map::try_from(peers) {
                Ok(peers) => {
                    let _ = tracker.track(epoch, peers);
                }
                Err(_) => error!(epoch, "the epoch's peers list a key twice"),
            }
        };
        let rate = if elects { POS_PEER_RATE } else { AUTHORITY_PEER_RATE };
        let quota = Quota::per_second(NonZeroU32::new(rate).context("quota")?);
        let votes = network.register(channels::VOTES, quota);
        let certificates = network.register(channels::CERTIFICATES, quota);
        let resolver = network.register(channels::RESOLVER, quota);
        let blocks = network.register(channels::BLOCKS, quota);
        let before: BTreeSet<u64> =
            tao_node::sockets::listening().into_iter().map(|(inode, _)| inode).collect();
        network.start();
        let local = p2p_listening(&context, p2p_addr, &before).await?;
        info!(%local, "p2p listening");
        // JSON-RPC last: its "listening" line says the node is up, every other port known.
        let handle = serve(&node, rpc_addr, metrics_addr).await?;
        let telemetry = context.child("telemetry");
        node.metrics.engine.set(move || commonware_runtime::Metrics::encode(&telemetry));
        let validator = consensus::start(
            context.child("consensus"),
            node.clone(),
            consensus::Config {
                signer,
                authorities,
                block_time,
                partition: "simplex".into(),
                behaviour: Behaviour::Honest,
                snapshots,
            },
            oracle,
            gossip_rx,
            votes,
            certificates,
            resolver,
            blocks,
            on_peers,
        )?;
        let work = async {
            let _ = validator.application.await;
            error!("the consensus application stopped");
            Err(anyhow::anyhow!("the consensus application stopped (see the log)"))
        };
        until_shutdown(work, handle).await
    })
}

/// Where the p2p network listens: `configured`, or, for port 0, the port the kernel gave its
/// listener (the one listening socket of this process that `before` does not hold), waited
/// for at most 10 s.
async fn p2p_listening(
    context: &impl Clock,
    configured: SocketAddr,
    before: &BTreeSet<u64>,
) -> Result<SocketAddr> {
    if configured.port() != 0 {
        return Ok(configured);
    }
    for _ in 0..1_000 {
        let new: Vec<SocketAddr> = tao_node::sockets::listening()
            .into_iter()
            .filter(|(inode, addr)| !before.contains(inode) && addr.ip() == configured.ip())
            .map(|(_, addr)| addr)
            .collect();
        if let [one] = new.as_slice() {
            return Ok(*one);
        }
        context.sleep(Duration::from_millis(10)).await;
    }
    bail!(
        "--p2p-addr {configured}: the p2p listener's port could not be read from /proc \
         (port 0 needs Linux); give a port"
    )
}
