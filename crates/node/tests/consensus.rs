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
    consensus::{self, channels, Behaviour, Forgery, PublicKey},
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

/// The dev genesis with `keys` as its authorities (they are part of its genesis hash).
fn network_genesis(keys: &[PublicKey]) -> GenesisConfig {
    let mut genesis = tao_node::dev_genesis().unwrap();
    genesis.authorities = keys.iter().map(consensus::public_key_hex).collect();
    genesis
}

impl Net {
    async fn new(context: deterministic::Context, tag: &str) -> Self {
        let signers: Vec<_> = (0..VALIDATORS as u64).map(ed25519::PrivateKey::from_seed).collect();
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
        let genesis = network_genesis(&keys);
        let net = Self { context, oracle, signers, keys, genesis, dir: temp_dir(tag) };
        for a in 0..VALIDATORS {
            for b in 0..VALIDATORS {
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
            snapshots: Default::default(),
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
            |_, _| {},
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
                self.oracle
                    .add_link(self.keys[i].clone(), self.keys[j].clone(), link())
                    .await
                    .unwrap();
                self.oracle
                    .add_link(self.keys[j].clone(), self.keys[i].clone(), link())
                    .await
                    .unwrap();
            }
        }
    }
}

/// The nodes of running validators.
fn nodes(running: &[Running]) -> Vec<&Node> {
    running.iter().map(|r| r.node.as_ref()).collect()
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

/// Waits until every node is `more` blocks past the first one's head, then checks they
/// agree on every block up to there.
async fn go_on_and_agree(context: &deterministic::Context, nodes: &[&Node], more: u64) {
    let target = height(nodes[0]) + more;
    wait_for(context, nodes, target).await;
    assert_agree(nodes, target);
}

/// Every block up to `upto` has the same hash (and so the same state root) on every node.
fn assert_agree(nodes: &[&Node], upto: u64) -> Vec<Hash> {
    let mut hashes = Vec::new();
    for number in 1..=upto {
        let blocks: Vec<_> = nodes
            .iter()
            .map(|n| {
                n.chain
                    .lock()
                    .unwrap()
                    .store
                    .block(number)
                    .unwrap()
                    .expect("finalized block stored")
            })
            .collect();
        for block in &blocks[1..] {
            assert_eq!(block.header, blocks[0].header, "validators disagree at block {number}");
        }
        hashes.push(blocks[0].header.hash());
    }
    let roots: Vec<_> = nodes
        .iter()
        .map(|n| {
            let chain = n.chain.lock().unwrap();
            (chain.head.number.get(), chain.state.state_root())
        })
        .collect();
    for (number, root) in &roots {
        if *number == roots[0].0 {
            assert_eq!(*root, roots[0].1, "same head, different state");
        }
    }
    hashes
}

/// The gaps between consecutive finalized blocks' timestamps, in ms, up to `upto`.
fn gaps(node: &Node, upto: u64) -> Vec<u64> {
    let chain = node.chain.lock().unwrap();
    let stamps: Vec<u64> =
        (1..=upto).map(|n| chain.store.block(n).unwrap().unwrap().header.timestamp_ms).collect();
    stamps.windows(2).map(|w| w[1] - w[0]).collect()
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
        let nodes = nodes(&running);
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
        // Blocks keep the block time, and with every leader honest no view times out.
        let gaps = gaps(nodes[0], 30);
        assert!(gaps.iter().all(|&g| (250..1_000).contains(&g)), "gaps between blocks: {gaps:?}");
        for r in &running {
            r.handles.engine.abort();
            r.handles.application.abort();
        }
    });
}

fn stop(running: &Running) {
    running.handles.engine.abort();
    running.handles.application.abort();
}

#[test]
fn a_crashed_validator_restarts_and_catches_up() {
    deterministic::Runner::timed(Duration::from_secs(600)).start(|context| async move {
        let net = Net::new(context.child("net"), "crash").await;
        let mut running = net.start_all([Behaviour::Honest; VALIDATORS]).await;
        let all = nodes(&running);
        wait_for(&context, &all, 10).await;
        // Validator 3 crashes: its tasks stop, its store and journal stay.
        let crashed = running.pop().unwrap();
        stop(&crashed);
        let stopped_at = height(&crashed.node);
        drop(crashed);
        // The other three (a quorum of 4) go on without it.
        let three = nodes(&running);
        wait_for(&context, &three, stopped_at + 15).await;
        // It restarts on the same store and journal and catches up from its peers.
        running.push(net.start(3, Behaviour::Honest).await);
        assert_eq!(height(&running[3].node), stopped_at, "the store kept every finalized block");
        let replayed = running[3].node.chain.lock().unwrap().opened.replayed;
        assert_eq!(replayed, 0, "the stored state is read back, not replayed");
        let all = nodes(&running);
        go_on_and_agree(&context, &all, 10).await;
        // It saw its peers' blocks beyond where it stopped (`tao_syncState.highest_seen`).
        let seen = running[3].node.sync.highest_seen();
        assert!(seen > stopped_at + 15, "{seen} (stopped at {stopped_at})");
        running.iter().for_each(stop);
    });
}

#[test]
fn a_partitioned_validator_rejoins_after_the_partition_heals() {
    deterministic::Runner::timed(Duration::from_secs(600)).start(|context| async move {
        let net = Net::new(context.child("net"), "partition").await;
        let running = net.start_all([Behaviour::Honest; VALIDATORS]).await;
        let all = nodes(&running);
        wait_for(&context, &all, 5).await;
        net.isolate(2).await;
        let cut_at = height(all[2]);
        let others = [all[0], all[1], all[3]];
        wait_for(&context, &others, cut_at + 20).await;
        assert!(height(all[2]) <= cut_at + 1, "an isolated validator finalizes nothing new");
        net.heal(2).await;
        go_on_and_agree(&context, &all, 10).await;
        running.iter().for_each(stop);
    });
}

#[test]
fn honest_validators_stay_safe_and_live_beside_one_proposing_wrong_state_roots() {
    deterministic::Runner::timed(Duration::from_secs(600)).start(|context| async move {
        let net = Net::new(context.child("net"), "wrong-root").await;
        let running = net
            .start_all([
                Behaviour::WrongStateRoot,
                Behaviour::Honest,
                Behaviour::Honest,
                Behaviour::Honest,
            ])
            .await;
        let honest = nodes(&running[1..]);
        wait_for(&context, &honest, 25).await;
        assert_agree(&honest, 25);
        // The faulty leader's views were refused and timed out (the leader timeout is the
        // block time plus one second), yet the chain went on.
        let gaps = gaps(honest[0], 25);
        assert!(gaps.iter().any(|&g| g >= 1_000), "no view was skipped: {gaps:?}");
        // Every finalized block re-executes to its header's root (checked on commit), and the
        // faulty validator's own node never commits a block with a wrong root either.
        let faulty = height(&running[0].node);
        if faulty > 0 {
            assert_agree(&[honest[0], running[0].node.as_ref()], faulty.min(25));
        }
        running.iter().for_each(stop);
    });
}

/// A Byzantine leader proposes each kind of invalid block (roots recomputed so that only
/// the block rules can refuse it): none is finalized, and the honest three go on.
#[test]
fn no_forged_block_is_finalized_and_the_honest_validators_go_on() {
    for forgery in [
        Forgery::ReplayedTransaction,
        Forgery::BadSignature,
        Forgery::UnpaidTransaction,
        Forgery::FarFutureTimestamp,
        Forgery::BodyNotTheHeaders,
    ] {
        deterministic::Runner::timed(Duration::from_secs(600)).start(|context| async move {
            let tag = format!("forged-{forgery:?}");
            let net = Net::new(context.child("net"), &tag).await;
            let behaviours = [
                Behaviour::Forges(forgery),
                Behaviour::Honest,
                Behaviour::Honest,
                Behaviour::Honest,
            ];
            let running = net.start_all(behaviours).await;
            // One transfer in every pool: once final, the forger replays it.
            let paid = transfer(&net.genesis, 0, 1_000_000_000);
            for r in &running {
                r.node.chain.lock().unwrap().submit(paid.clone()).unwrap();
            }
            let honest = nodes(&running[1..]);
            wait_for(&context, &honest, 20).await;
            assert_agree(&honest, 20);
            let chain = honest[0].chain.lock().unwrap();
            let mut seen = std::collections::BTreeSet::new();
            let mut last = 0;
            for number in 1..=20 {
                let block = chain.store.block(number).unwrap().unwrap();
                assert!(
                    block.header.timestamp_ms < 1_000_000_000,
                    "{forgery:?}: block {number} from the future"
                );
                assert!(block.header.timestamp_ms >= last);
                last = block.header.timestamp_ms;
                for tx in &block.transactions {
                    assert!(seen.insert(tx.hash()), "{forgery:?}: a transaction executed twice");
                    assert!(tx.verify_signature(), "{forgery:?}: a bad signature was finalized");
                    let receipt = chain.store.receipt(&tx.hash()).unwrap().unwrap();
                    assert_eq!(receipt.block, number, "{forgery:?}: a receipt was overwritten");
                }
            }
            assert!(seen.contains(&paid.hash()), "{forgery:?}: the honest transfer was not final");
            drop(chain);
            if forgery != Forgery::BodyNotTheHeaders {
                // The forger's views were refused and timed out, yet the chain went on.
                let gaps = gaps(honest[0], 20);
                assert!(gaps.iter().any(|&g| g >= 1_000), "{forgery:?}: no view skipped: {gaps:?}");
            }
            running.iter().for_each(stop);
        });
    }
}

#[test]
fn honest_validators_stay_safe_and_live_beside_an_equivocating_leader() {
    use commonware_consensus::{
        simplex::{elector::RoundRobin, mocks},
        types::Epoch,
    };
    deterministic::Runner::timed(Duration::from_secs(600)).start(|context| async move {
        let net = Net::new(context.child("net"), "equivocator").await;
        // Validator 0 is replaced by commonware's equivocator: whenever it leads, it signs
        // two different proposals and sends one to a victim, the other to the rest.
        let participants = commonware_utils::ordered::Set::try_from(net.keys.clone()).unwrap();
        let scheme = consensus::Scheme::signer(
            &consensus::namespace(&tao_runtime::genesis(&net.genesis).unwrap().genesis_hash()),
            participants,
            net.signers[0].clone(),
        )
        .unwrap();
        let control = net.oracle.control(net.keys[0].clone());
        let quota = Quota::per_second(NonZeroU32::new(10_000).unwrap());
        // Each epoch's engine talks on its own subchannel (the epoch) of every channel.
        let subchannel = |name: &'static str, (sender, receiver)| {
            let (muxer, handle) =
                commonware_p2p::utils::mux::Muxer::new(context.child(name), sender, receiver);
            muxer.start();
            handle
        };
        let mut votes =
            subchannel("votes", control.register(channels::VOTES, quota).await.unwrap());
        let votes = votes.register(0).await.unwrap();
        let mut certificates = subchannel(
            "certificates",
            control.register(channels::CERTIFICATES, quota).await.unwrap(),
        );
        let certificates = certificates.register(0).await.unwrap();
        let equivocator = mocks::equivocator::Equivocator::new(
            context.child("equivocator"),
            mocks::equivocator::Config::<_, _, commonware_cryptography::sha256::Sha256> {
                scheme,
                elector: RoundRobin::<commonware_cryptography::sha256::Sha256>::default(),
                epoch: Epoch::new(0),
                relay: Arc::new(mocks::relay::Relay::new()),
            },
        )
        .start(votes, certificates);
        let mut honest = Vec::new();
        for i in 1..VALIDATORS {
            honest.push(net.start(i, Behaviour::Honest).await);
        }
        let nodes = nodes(&honest);
        wait_for(&context, &nodes, 25).await;
        assert_agree(&nodes, 25);
        equivocator.abort();
        honest.iter().for_each(stop);
    });
}

/// Runs four validators with `transactions` for 15 blocks on a seeded runtime; the block
/// hashes.
fn seeded_run(seed: u64, tag: &'static str, transactions: Vec<SignedTransaction>) -> Vec<Hash> {
    deterministic::Runner::seeded(seed).start(|context| async move {
        let net = Net::new(context.child("net"), tag).await;
        let running = net.start_all([Behaviour::Honest; VALIDATORS]).await;
        for tx in transactions {
            running[2].node.chain.lock().unwrap().submit(tx.clone()).unwrap();
            running[2].node.gossip.as_ref().unwrap().send(tx).unwrap();
        }
        let nodes = nodes(&running);
        wait_for(&context, &nodes, 15).await;
        let hashes = assert_agree(&nodes, 15);
        running.iter().for_each(stop);
        hashes
    })
}

#[test]
fn the_same_seed_replays_the_same_chain() {
    // Signed once: sr25519 signatures are randomized, the simulation is not.
    let keys: Vec<_> =
        (0..VALIDATORS as u64).map(|i| ed25519::PrivateKey::from_seed(i).public_key()).collect();
    let genesis = network_genesis(&keys);
    let transactions: Vec<_> = (0..3).map(|nonce| transfer(&genesis, nonce, 7)).collect();
    let first = seeded_run(7, "seed-a", transactions.clone());
    let second = seeded_run(7, "seed-b", transactions.clone());
    assert_eq!(first, second, "a seeded simulation is deterministic");
    let other = seeded_run(8, "seed-c", transactions);
    assert_ne!(first, other, "another seed schedules differently (other timestamps)");
}

#[test]
fn a_validator_with_an_empty_store_syncs_the_whole_chain_from_its_peers() {
    deterministic::Runner::timed(Duration::from_secs(600)).start(|context| async move {
        let net = Net::new(context.child("net"), "fresh").await;
        let mut running = Vec::new();
        for i in 0..3 {
            running.push(net.start(i, Behaviour::Honest).await);
        }
        let three = nodes(&running);
        wait_for(&context, &three, 60).await;
        // The fourth joins late, from nothing: no blocks, no journal.
        running.push(net.start(3, Behaviour::Honest).await);
        assert_eq!(height(&running[3].node), 0);
        let all = nodes(&running);
        go_on_and_agree(&context, &all, 10).await;
        running.iter().for_each(stop);
    });
}

/// The blocks behind a certificate come many to an answer; an answer whose blocks are not a
/// chain of parents (here: a peer that swaps two) blocks its sender, and the node gets the
/// blocks from the others. The late validator is first linked to the liar alone, so the
/// liar is the one it asks.
#[test]
fn a_peer_answering_with_blocks_that_are_not_a_chain_is_blocked_and_the_rest_serve() {
    deterministic::Runner::timed(Duration::from_secs(600)).start(|context| async move {
        let net = Net::new(context.child("net"), "broken-chain").await;
        let liar = 0;
        let mut running = Vec::new();
        for i in 0..3 {
            let behaviour = match i == liar {
                true => Behaviour::Serves(consensus::Serving::BrokenChains),
                false => Behaviour::Honest,
            };
            running.push(net.start(i, behaviour).await);
        }
        wait_for(&context, &nodes(&running), 60).await;
        // The fourth starts from nothing, reaching only the liar.
        net.isolate(3).await;
        for (a, b) in [(3, liar), (liar, 3)] {
            net.oracle.add_link(net.keys[a].clone(), net.keys[b].clone(), link()).await.unwrap();
        }
        running.push(net.start(3, Behaviour::Honest).await);
        let mut blocked = false;
        for _ in 0..600 {
            let list = net.oracle.blocked().await.unwrap();
            if list.iter().any(|(from, to)| *from == net.keys[3] && *to == net.keys[liar]) {
                blocked = true;
                break;
            }
            context.sleep(Duration::from_millis(50)).await;
        }
        assert!(blocked, "the late validator did not block the liar within 30 s");
        assert_eq!(height(&running[3].node), 0, "nothing was taken from the broken answer");
        for other in [1, 2] {
            for (a, b) in [(3, other), (other, 3)] {
                net.oracle
                    .add_link(net.keys[a].clone(), net.keys[b].clone(), link())
                    .await
                    .unwrap();
            }
        }
        go_on_and_agree(&context, &nodes(&running), 10).await;
        running.iter().for_each(stop);
    });
}
