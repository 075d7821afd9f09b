//! A validator of a BFT network: the chain, JSON-RPC, commonware's authenticated `lookup`
//! p2p network on real sockets, and the consensus engine, on commonware's tokio runtime.

use crate::{serve, settings::Settings, until_shutdown};
use anyhow::{bail, Context as _, Result};
use commonware_cryptography::{ChaCha20Poly1305, Signer as _};
use commonware_p2p::{authenticated::lookup, Address, AddressableManager as _};
use commonware_runtime::{Quota, Runner as _, Supervisor as _};
use commonware_stream::{
    cups::{self, Cups},
    sake::{self, Sake},
};
use std::{
    collections::BTreeMap,
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

/// Runs this node as one of the genesis authorities until SIGINT/SIGTERM.
pub fn run(
    config: GenesisConfig,
    base_path: PathBuf,
    settings: &Settings,
    block_time: Duration,
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
    if !authorities.contains(&me) {
        bail!(
            "the key in {} ({}) is not one of the genesis authorities",
            key_path.display(),
            consensus::public_key_hex(&me)
        );
    }
    let mut addresses = BTreeMap::new();
    for peer in &settings.peers {
        let (key, addr) = consensus::parse_peer(peer)?;
        if !authorities.contains(&key) {
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
    info!(
        validators = authorities.len(),
        key = %consensus::public_key_hex(&me),
        "a BFT validator of this chain"
    );
    let runtime = commonware_runtime::tokio::Config::new()
        .with_worker_threads(2)
        .with_storage_directory(base_path.join("consensus"));
    let (rpc_addr, metrics_addr, p2p_addr) =
        (settings.rpc_addr, settings.metrics_addr, settings.p2p_addr);
    commonware_runtime::tokio::Runner::new(runtime).start(|context| async move {
        let (gossip, gossip_rx) = tokio::sync::mpsc::unbounded_channel();
        let node = Arc::new(rpc::Node::new(chain, None, Some(gossip)));
        let handle = serve(&node, rpc_addr, metrics_addr).await?;
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
            NonZeroUsize::new(authorities.len()).context("no authorities")?,
            consensus::MAX_MESSAGE_SIZE,
            NonZeroUsize::new(1_024).context("mailbox")?,
        );
        let (mut network, mut oracle) = lookup::Network::new(context.child("p2p"), p2p);
        let peers: Vec<(consensus::PublicKey, Address)> =
            addresses.into_iter().map(|(key, addr)| (key, Address::from(addr))).collect();
        let peers = commonware_utils::ordered::Map::try_from(peers)
            .map_err(|_| anyhow::anyhow!("a validator is listed twice"))?;
        let _ = oracle.track(0, peers);
        let quota = Quota::per_second(NonZeroU32::new(10_000).context("quota")?);
        let votes = network.register(channels::VOTES, quota);
        let certificates = network.register(channels::CERTIFICATES, quota);
        let resolver = network.register(channels::RESOLVER, quota);
        let blocks = network.register(channels::BLOCKS, quota);
        network.start();
        info!(%p2p_addr, "p2p listening");
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
            },
            oracle,
            gossip_rx,
            votes,
            certificates,
            resolver,
            blocks,
        )?;
        let work = async {
            let _ = validator.application.await;
            error!("the consensus application stopped");
            Err(anyhow::anyhow!("the consensus application stopped (see the log)"))
        };
        until_shutdown(work, handle).await
    })
}
