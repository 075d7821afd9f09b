//! Deterministic simulation of snapshot sync: four validators of a fixed-authority chain
//! keep a snapshot every 10 blocks and serve it; one of them tampers with every chunk it
//! serves. A fifth node (no authority) starts empty with `SyncMode::Snapshot`: it verifies
//! an offer (certificate and manifest), fetches the chunks from the four, refuses the
//! tampered chunk and blocks its sender, fetches that range from another validator,
//! installs the state and block H, and then follows the chain by certificates.

use commonware_cryptography::{ed25519, Signer as _};
use commonware_p2p::simulated::{self, Link, Oracle};
use commonware_runtime::{deterministic, Clock, Quota, Runner as _, Supervisor as _};
use std::{
    num::{NonZeroU32, NonZeroU64, NonZeroUsize},
    path::PathBuf,
    sync::Arc,
    time::Duration,
};
use tao_node::{
    chain::Chain,
    consensus::{self, channels, Behaviour, PublicKey},
    rpc::Node,
    snapshot::{self, SyncMode},
};
use tao_types::GenesisConfig;

const VALIDATORS: usize = 4;
/// The four validators and the fresh node.
const NODES: usize = 5;
const EVERY: u64 = 10;
const BLOCK_TIME: Duration = Duration::from_millis(250);

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tao-snapshot-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn link() -> Link {
    Link {
        latency: Duration::from_millis(20),
        jitter: Duration::from_millis(5),
        success_rate: commonware_utils::probability!(1.0),
    }
}

struct Running {
    node: Arc<Node>,
    handles: consensus::Validator,
}

struct Net {
    context: deterministic::Context,
    oracle: Oracle<PublicKey, deterministic::Context>,
    signers: Vec<ed25519::PrivateKey>,
    keys: Vec<PublicKey>,
    genesis: GenesisConfig,
    dir: PathBuf,
}

impl Net {
    async fn new(context: deterministic::Context, tag: &str) -> Self {
        let signers: Vec<_> = (0..NODES as u64).map(ed25519::PrivateKey::from_seed).collect();
        let keys: Vec<_> = signers.iter().map(|s| s.public_key()).collect();
        let (network, oracle) = simulated::Network::new_with_peers(
            context.child("network"),
            simulated::Config {
                max_size: consensus::MAX_MESSAGE_SIZE,
                max_peers_per_set: NonZeroUsize::new(NODES).unwrap(),
                disconnect_on_block: true,
                tracked_peer_sets: NonZeroUsize::new(1).unwrap(),
            },
            keys.clone(),
        )
        .await;
        network.start();
        let mut genesis = tao_node::dev_genesis().unwrap();
        genesis.authorities = keys[..VALIDATORS].iter().map(consensus::public_key_hex).collect();
        let net = Self { context, oracle, signers, keys, genesis, dir: temp_dir(tag) };
        for a in 0..NODES {
            for b in 0..NODES {
                if a != b {
                    net.oracle
                        .add_link(net.keys[a].clone(), net.keys[b].clone(), link())
                        .await
                        .unwrap();
                }
            }
        }
        net
    }

    /// Starts node `i` (an authority for `i < VALIDATORS`), keeping a snapshot every
    /// [`EVERY`] blocks.
    async fn start(&self, i: usize, sync: SyncMode, behaviour: Behaviour) -> Running {
        self.start_keeping(i, sync, behaviour, NonZeroU64::new(EVERY)).await
    }

    /// Starts node `i`, keeping a snapshot every `every` blocks (none: no snapshots).
    async fn start_keeping(
        &self,
        i: usize,
        sync: SyncMode,
        behaviour: Behaviour,
        every: Option<NonZeroU64>,
    ) -> Running {
        let dir = self.dir.join(format!("n{i}"));
        let chain = Chain::open(&dir, &self.genesis).unwrap();
        let (gossip_tx, gossip_rx) = tokio::sync::mpsc::unbounded_channel();
        let node = Arc::new(Node::new(chain, None, Some(gossip_tx)));
        let control = self.oracle.control(self.keys[i].clone());
        let quota = Quota::per_second(NonZeroU32::new(10_000).unwrap());
        let votes = control.register(channels::VOTES, quota).await.unwrap();
        let certificates = control.register(channels::CERTIFICATES, quota).await.unwrap();
        let resolver = control.register(channels::RESOLVER, quota).await.unwrap();
        let blocks = control.register(channels::BLOCKS, quota).await.unwrap();
        let config = consensus::Config {
            signer: self.signers[i].clone(),
            authorities: self.keys[..VALIDATORS].to_vec(),
            block_time: BLOCK_TIME,
            partition: format!("node-{i}"),
            behaviour,
            snapshots: snapshot::Config { sync, every, dir: Some(dir) },
        };
        let handles = consensus::start(
            self.context.child("node").with_attribute("index", i),
            node.clone(),
            config,
            control,
            gossip_rx,
            votes,
            certificates,
            resolver,
            blocks,
            |_, _| {},
        )
        .unwrap();
        Running { node, handles }
    }
}

fn height(node: &Node) -> u64 {
    node.chain.lock().unwrap().head.number.get()
}

async fn wait_for(context: &deterministic::Context, nodes: &[&Node], target: u64) {
    for _ in 0..2_000 {
        if nodes.iter().all(|n| height(n) >= target) {
            return;
        }
        context.sleep(Duration::from_millis(50)).await;
    }
    let heights: Vec<u64> = nodes.iter().map(|n| height(n)).collect();
    panic!("not all nodes reached block {target} within 100 s: heights {heights:?}");
}

#[test]
fn a_fresh_node_snapshot_syncs_refusing_a_tampered_chunk_and_follows_the_chain() {
    deterministic::Runner::timed(Duration::from_secs(600)).start(|context| async move {
        let net = Net::new(context.child("net"), "tampered").await;
        // The validator whose key sorts first among the four is asked for the first chunk
        // (offerers are asked in key order); it tampers with every chunk it serves.
        let liar = (0..VALIDATORS).min_by_key(|i| net.keys[*i].clone()).unwrap();
        let mut running = Vec::new();
        for i in 0..VALIDATORS {
            let behaviour = match i == liar {
                true => Behaviour::Serves(consensus::Serving::TamperedChunks),
                false => Behaviour::Honest,
            };
            running.push(net.start(i, SyncMode::Full, behaviour).await);
        }
        let validators: Vec<&Node> = running.iter().map(|r| r.node.as_ref()).collect();
        wait_for(&context, &validators, 3 * EVERY + 5).await;

        let fresh = net.start(VALIDATORS, SyncMode::Snapshot, Behaviour::Honest).await;
        assert_eq!(height(&fresh.node), 0);
        let target = height(validators[0]) + 15;
        let mut all = validators.clone();
        all.push(fresh.node.as_ref());
        wait_for(&context, &all, target).await;

        // It started from a snapshot at a multiple of EVERY, not from genesis: nothing
        // below the snapshot's block is stored, and no block was replayed.
        let (oldest, head) = {
            let chain = fresh.node.chain.lock().unwrap();
            (chain.store.oldest_kept(), chain.head.number.get())
        };
        assert!(oldest >= 3 * EVERY && oldest % EVERY == 0, "snapshot at {oldest}");
        assert!(head >= target);
        {
            let chain = fresh.node.chain.lock().unwrap();
            assert!(chain.store.block(1).unwrap().is_none(), "block 1 was not fetched");
            assert!(chain.store.block(oldest - 1).unwrap().is_none());
        }
        // Every block from the snapshot's on is the validators' block (header: state root
        // included), and the state it holds is the one its head commits to.
        {
            let reference = validators[0].chain.lock().unwrap();
            let chain = fresh.node.chain.lock().unwrap();
            for number in oldest..=target {
                let mine = chain.store.block(number).unwrap().expect("kept from the snapshot on");
                let theirs = reference.store.block(number).unwrap().unwrap();
                assert_eq!(mine.header, theirs.header, "block {number}");
            }
            // Its state is the one its head's header (the validators' header) commits to.
            assert_eq!(chain.state.state_root(), chain.head.state_root);
            if let Some(theirs) = reference.store.block(chain.head.number.get()).unwrap() {
                assert_eq!(theirs.header, chain.head);
            }
        }

        // The tampered chunk was refused and its sender blocked by the fresh node (and
        // only that validator); the state it has nonetheless is the certified one, so
        // the range was fetched elsewhere.
        let blocked = net.oracle.blocked().await.unwrap();
        let by_fresh: Vec<&PublicKey> = blocked
            .iter()
            .filter(|(from, _)| *from == net.keys[VALIDATORS])
            .map(|(_, to)| to)
            .collect();
        assert_eq!(by_fresh, vec![&net.keys[liar]], "the fresh node blocks the liar only");

        for r in running.iter().chain(std::iter::once(&fresh)) {
            r.handles.engine.abort();
            r.handles.application.abort();
        }
    });
}

fn stop(running: &Running) {
    running.handles.engine.abort();
    running.handles.application.abort();
}

/// Blocks `from..=upto` are the same on both nodes.
fn assert_same_blocks(a: &Node, b: &Node, from: u64, upto: u64) {
    let (a, b) = (a.chain.lock().unwrap(), b.chain.lock().unwrap());
    for number in from..=upto {
        let mine = a.store.block(number).unwrap().expect("block kept");
        let theirs = b.store.block(number).unwrap().expect("block kept");
        assert_eq!(mine.header, theirs.header, "block {number}");
    }
}

#[test]
fn with_no_snapshot_offered_a_snapshot_node_syncs_every_block_instead() {
    deterministic::Runner::timed(Duration::from_secs(600)).start(|context| async move {
        let net = Net::new(context.child("net"), "none-offered").await;
        let mut running = Vec::new();
        for i in 0..VALIDATORS {
            running.push(net.start_keeping(i, SyncMode::Full, Behaviour::Honest, None).await);
        }
        let validators: Vec<&Node> = running.iter().map(|r| r.node.as_ref()).collect();
        wait_for(&context, &validators, 20).await;
        let fresh = net.start(VALIDATORS, SyncMode::Snapshot, Behaviour::Honest).await;
        // Five rounds of asking (2 s apart) find no offer; the node then fetches and
        // re-executes every block from genesis.
        let target = height(validators[0]) + 60;
        let mut all = validators.clone();
        all.push(fresh.node.as_ref());
        wait_for(&context, &all, target).await;
        assert_eq!(fresh.node.chain.lock().unwrap().store.oldest_kept(), 1);
        assert_same_blocks(&fresh.node, validators[0], 1, target);
        running.iter().chain(std::iter::once(&fresh)).for_each(stop);
    });
}

#[test]
fn a_node_stopped_mid_snapshot_restarts_on_an_empty_store_and_completes_the_sync() {
    deterministic::Runner::timed(Duration::from_secs(600)).start(|context| async move {
        let net = Net::new(context.child("net"), "stopped").await;
        let mut running = Vec::new();
        for i in 0..VALIDATORS {
            running.push(net.start(i, SyncMode::Full, Behaviour::Honest).await);
        }
        let validators: Vec<&Node> = running.iter().map(|r| r.node.as_ref()).collect();
        wait_for(&context, &validators, 2 * EVERY + 3).await;
        let fresh = net.start(VALIDATORS, SyncMode::Snapshot, Behaviour::Honest).await;
        // Offers are gathered for 1 s, then chunks asked for: stopped in the middle (its
        // tasks dropped, as a kill leaves them), the store still holds genesis only.
        context.sleep(Duration::from_millis(1_100)).await;
        let during = fresh.node.sync_state().unwrap();
        assert!(during.syncing && during.head == 0, "{during:?}");
        assert!(during.highest_seen >= 2 * EVERY, "the chosen snapshot's block: {during:?}");
        stop(&fresh);
        assert_eq!(height(&fresh.node), 0);
        // The aborted tasks let go of the node (and so of its store files).
        for _ in 0..100 {
            if Arc::strong_count(&fresh.node) == 1 {
                break;
            }
            context.sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(Arc::strong_count(&fresh.node), 1, "the stopped node is released");
        drop(fresh);
        let fresh = net.start(VALIDATORS, SyncMode::Snapshot, Behaviour::Honest).await;
        assert_eq!(height(&fresh.node), 0, "reopened: nothing but genesis");
        let target = height(validators[0]) + 10;
        let mut all = validators.clone();
        all.push(fresh.node.as_ref());
        wait_for(&context, &all, target).await;
        let oldest = fresh.node.chain.lock().unwrap().store.oldest_kept();
        assert!(oldest >= 2 * EVERY && oldest % EVERY == 0, "snapshot at {oldest}");
        assert_same_blocks(&fresh.node, validators[0], oldest, target);
        running.iter().chain(std::iter::once(&fresh)).for_each(stop);
    });
}

#[test]
fn an_authority_starting_empty_by_snapshot_catches_up_and_votes_again() {
    deterministic::Runner::timed(Duration::from_secs(600)).start(|context| async move {
        let net = Net::new(context.child("net"), "authority").await;
        let mut running = Vec::new();
        for i in 0..VALIDATORS - 1 {
            running.push(net.start(i, SyncMode::Full, Behaviour::Honest).await);
        }
        let three: Vec<&Node> = running.iter().map(|r| r.node.as_ref()).collect();
        wait_for(&context, &three, 2 * EVERY + 5).await;
        // The fourth authority starts from nothing (no store, no journal), by snapshot.
        let fourth = net.start(VALIDATORS - 1, SyncMode::Snapshot, Behaviour::Honest).await;
        let target = height(three[0]) + 10;
        let mut all = three.clone();
        all.push(fourth.node.as_ref());
        wait_for(&context, &all, target).await;
        let oldest = fourth.node.chain.lock().unwrap().store.oldest_kept();
        assert!(oldest >= 2 * EVERY && oldest % EVERY == 0, "snapshot at {oldest}");
        assert_same_blocks(&fourth.node, three[0], oldest, target);
        // It votes again: with another authority stopped, 3 of 4 need it.
        stop(&running[0]);
        let rest = [three[1], three[2], fourth.node.as_ref()];
        let target = height(three[1]) + 10;
        wait_for(&context, &rest, target).await;
        assert_same_blocks(&fourth.node, three[1], oldest, target);
        running.iter().chain(std::iter::once(&fourth)).for_each(stop);
    });
}
