//! Deterministic multi-validator tests of BFT consensus: four validators (the real chain,
//! store, mempool and consensus application, commonware's simplex engine) on commonware's
//! simulated network, driven by the deterministic runtime, so every run of a seed is the
//! same run. They check agreement (same blocks, same state roots), liveness, and safety
//! beside crashed, partitioned and Byzantine validators.

use commonware_cryptography::{ed25519, Signer as _};
use commonware_p2p::simulated::{self, Link, Oracle};
use commonware_runtime::{deterministic, Clock, Quota, Runner as _, Supervisor as _};
use std::{
    num::{NonZeroU32, NonZeroUsize},
    path::PathBuf,
    sync::Arc,
    time::Duration,
};
use tao_node::{
    chain::Chain,
    consensus::{self, channels, Behaviour, PublicKey},
    rpc::Node,
};
use tao_types::{Call, GenesisConfig, Hash, Signature, SignedTransaction, Transaction};
use tao_wallet::Keypair;

const VALIDATORS: usize = 4;
const BLOCK_TIME: Duration = Duration::from_millis(250);

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tao-consensus-{tag}-{}", std::process::id()));
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

/// One validator's running parts and its view of the chain.
struct Running {
    node: Arc<Node>,
    handles: consensus::Validator,
}

/// The simulated network and everything needed to (re)start a validator on it.
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
        let signers: Vec<_> =
            (0..VALIDATORS as u64).map(ed25519::PrivateKey::from_seed).collect();
        let keys: Vec<_> = signers.iter().map(|s| s.public_key()).collect();
        let (network, oracle) = simulated::Network::new_with_peers(
            context.child("network"),
            simulated::Config {
                max_size: consensus::MAX_MESSAGE_SIZE,
                max_peers_per_set: NonZeroUsize::new(VALIDATORS).unwrap(),
                disconnect_on_block: true,
                tracked_peer_sets: NonZeroUsize::new(1).unwrap(),
            },
            keys.clone(),
        )
        .await;
        network.start();
        let mut genesis = tao_node::dev_genesis().unwrap();
        genesis.authorities = keys.iter().map(|k| k.to_string()).collect();
        let net =
            Self { context, oracle, signers, keys, genesis, dir: temp_dir(tag) };
        for a in 0..VALIDATORS {
            for b in 0..VALIDATORS {
                if a != b {
                    net.oracle.add_link(net.keys[a].clone(), net.keys[b].clone(), link()).await.unwrap();
                }
            }
        }
        net
    }

    /// Starts (or restarts, on the same directory and journal) validator `i`.
    async fn start(&self, i: usize, behaviour: Behaviour) -> Running {
        let chain = Chain::open(&self.dir.join(format!("v{i}")), &self.genesis).unwrap();
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
            authorities: self.keys.clone(),
            block_time: BLOCK_TIME,
            partition: format!("validator-{i}"),
            behaviour,
        };
        let handles = consensus::start(
            self.context.child("validator").with_attribute("index", i),
            node.clone(),
            config,
            control,
            gossip_rx,
            votes,
            certificates,
            resolver,
            blocks,
        )
        .unwrap();
        Running { node, handles }
    }

    async fn start_all(&self, behaviours: [Behaviour; VALIDATORS]) -> Vec<Running> {
        let mut running = Vec::new();
        for (i, behaviour) in behaviours.into_iter().enumerate() {
            running.push(self.start(i, behaviour).await);
        }
        running
    }

    /// Cuts validator `i` off from all others (both directions).
    async fn isolate(&self, i: usize) {
        for j in 0..VALIDATORS {
            if i != j {
                self.oracle.remove_link(self.keys[i].clone(), self.keys[j].clone()).await.unwrap();
                self.oracle.remove_link(self.keys[j].clone(), self.keys[i].clone()).await.unwrap();
            }
        }
    }

    /// Links validator `i` to all others again.
    async fn heal(&self, i: usize) {
        for j in 0..VALIDATORS {
            if i != j {
                self.oracle.add_link(self.keys[i].clone(), self.keys[j].clone(), link()).await.unwrap();
                self.oracle.add_link(self.keys[j].clone(), self.keys[i].clone(), link()).await.unwrap();
            }
        }
    }
}

fn height(node: &Node) -> u64 {
    node.chain.lock().unwrap().head.number.get()
}

/// Waits (in simulated time) until every node in `nodes` has finalized `target`.
async fn wait_for(context: &deterministic::Context, nodes: &[&Node], target: u64) {
    for _ in 0..2_000 {
        if nodes.iter().all(|n| height(n) >= target) {
            return;
        }
        context.sleep(Duration::from_millis(50)).await;
    }
    let heights: Vec<u64> = nodes.iter().map(|n| height(n)).collect();
    panic!("not all validators reached block {target} within 100 s: heights {heights:?}");
}

/// Every block up to `upto` has the same hash (and so the same state root) on every node.
fn assert_agree(nodes: &[&Node], upto: u64) -> Vec<Hash> {
    let mut hashes = Vec::new();
    for number in 1..=upto {
        let blocks: Vec<_> = nodes
            .iter()
            .map(|n| n.chain.lock().unwrap().store.block(number).unwrap().expect("finalized block stored"))
            .collect();
        for block in &blocks[1..] {
            assert_eq!(block.header, blocks[0].header, "validators disagree at block {number}");
        }
        hashes.push(blocks[0].header.hash());
    }
    let roots: Vec<_> = nodes.iter().map(|n| {
        let chain = n.chain.lock().unwrap();
        (chain.head.number.get(), chain.state.state_root())
    }).collect();
    for (number, root) in &roots {
        if *number == roots[0].0 {
            assert_eq!(*root, roots[0].1, "same head, different state");
        }
    }
    hashes
}

/// A signed transfer of `amount` RAO from Alice to Bob with Alice's nonce `nonce`.
fn transfer(genesis: &GenesisConfig, nonce: u64, amount: u64) -> SignedTransaction {
    let alice = Keypair::from_uri("//Alice").unwrap();
    let bob = Keypair::from_uri("//Bob").unwrap().account();
    let genesis_hash = tao_runtime::genesis(genesis).unwrap().genesis_hash();
    let call = Call::Transfer { dest: bob, amount: tao_primitives::Rao::new(amount) };
    let transaction = Transaction { genesis_hash, signer: alice.account(), nonce, call };
    let signature = alice.sign(&transaction.signing_payload()).unwrap();
    SignedTransaction { transaction, signature: Signature(signature) }
}

fn balance(node: &Node, who: &str) -> u64 {
    let account = Keypair::from_uri(who).unwrap().account();
    node.chain.lock().unwrap().state.account(&account).free.get()
}

#[test]
fn four_validators_finalize_the_same_blocks_and_state() {
    deterministic::Runner::timed(Duration::from_secs(600)).start(|context| async move {
        let net = Net::new(context.child("net"), "all-online").await;
        let running = net.start_all([Behaviour::Honest; VALIDATORS]).await;
        let nodes: Vec<&Node> = running.iter().map(|r| r.node.as_ref()).collect();
        // Transfers submitted to one validator reach the others (gossip) and are finalized.
        let bob_before = balance(nodes[0], "//Bob");
        for nonce in 0..5 {
            let tx = transfer(&net.genesis, nonce, 1_000);
            running[1].node.chain.lock().unwrap().submit(tx.clone()).unwrap();
            running[1].node.gossip.as_ref().unwrap().send(tx).unwrap();
        }
        wait_for(&context, &nodes, 30).await;
        let hashes = assert_agree(&nodes, 30);
        assert_eq!(hashes.len(), 30);
        for node in &nodes {
            assert_eq!(balance(node, "//Bob"), bob_before + 5_000, "every transfer finalized once");
        }
        // Proposals rotate: blocks come from more than one leader (timestamps differ, and
        // no validator stalls the chain).
        let first = nodes[0].chain.lock().unwrap().store.block(1).unwrap().unwrap();
        let last = nodes[0].chain.lock().unwrap().store.block(30).unwrap().unwrap();
        let span = last.header.timestamp_ms - first.header.timestamp_ms;
        assert!(span >= 29 * 250, "blocks keep the block time: {span} ms for 29 blocks");
        for r in &running {
            r.handles.engine.abort();
            r.handles.application.abort();
        }
    });
}
