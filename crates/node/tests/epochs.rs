//! Deterministic simulations of proof of stake: the real chain, runtime, store, pool and
//! consensus application with commonware's simplex engines, one per epoch, on commonware's
//! simulated network and deterministic runtime (every run of a seed is the same run).
//!
//! Four genesis validators bond 10,000 TAO each; epochs are 20 blocks. The runtime elects
//! each epoch's set at the end of the one before; the nodes read it from their finalized
//! state and start that epoch's engine (or follow by certificates when not elected).

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
    epochs,
    rpc::Node,
    snapshot::{self, SyncMode},
};
use tao_primitives::{AccountId, Rao};
use tao_types::{
    Call, GenesisBalance, GenesisConfig, GenesisConsensus, GenesisValidator, Hash, Signature,
    SignedTransaction, Transaction,
};
use tao_wallet::Keypair;

/// Genesis validators; one more node (index 4) is a candidate-to-be.
const GENESIS_VALIDATORS: usize = 4;
const NODES: usize = 5;
/// Keys on the simulated network: the five nodes, and two more (indices 5 and 6) for the
/// late joiner's simulation.
const KEYS: usize = 7;
const EPOCH: u64 = 20;
const BLOCK_TIME: Duration = Duration::from_millis(250);

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tao-epochs-{tag}-{}", std::process::id()));
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

/// Node `i`'s controller coldkey (it registers and bonds the node's consensus key).
fn controller(i: usize) -> Keypair {
    Keypair::from_uri(&format!("//Validator{i}")).unwrap()
}

fn tao(n: u64) -> Rao {
    Rao::from_whole(n).unwrap()
}

/// A chain whose first four validators bond 10,000 TAO each, with 20-block epochs, a
/// 1,000 TAO minimum bond and a 40-block unbonding period; every controller holds 100,000
/// TAO besides.
fn pos_genesis(keys: &[PublicKey]) -> GenesisConfig {
    let mut genesis = tao_node::dev_genesis().unwrap();
    genesis.chain_name = "tao-pos-simulation".into();
    genesis.authorities.clear();
    for i in 0..KEYS {
        genesis
            .balances
            .push(GenesisBalance { account: controller(i).account(), rao: tao(100_000) });
    }
    genesis.validators = (0..GENESIS_VALIDATORS)
        .map(|i| GenesisValidator {
            controller: controller(i).account(),
            consensus_key: epochs::consensus_key(&keys[i]),
            p2p_address: format!("127.0.0.1:{}", 30_000 + i),
            bond: tao(10_000),
            commission: 1_000,
        })
        .collect();
    genesis.consensus = Some(GenesisConsensus {
        epoch_length: Some(EPOCH),
        min_validator_bond: Some(tao(1_000).get()),
        unbonding_period: Some(2 * EPOCH),
        ..GenesisConsensus::default()
    });
    genesis
}

/// One node's running parts and its view of the chain.
struct Running {
    node: Arc<Node>,
    handles: consensus::Validator,
}

fn stop(running: &Running) {
    running.handles.engine.abort();
    running.handles.application.abort();
}

/// The simulated network of seven nodes (all admitted: p2p admission is not what these
/// simulations check) and everything needed to (re)start one.
struct Net {
    context: deterministic::Context,
    oracle: Oracle<PublicKey, deterministic::Context>,
    signers: Vec<ed25519::PrivateKey>,
    keys: Vec<PublicKey>,
    genesis: GenesisConfig,
    genesis_hash: Hash,
    dir: PathBuf,
}

impl Net {
    async fn new(context: deterministic::Context, tag: &str) -> Self {
        let signers: Vec<_> = (0..KEYS as u64).map(ed25519::PrivateKey::from_seed).collect();
        let keys: Vec<_> = signers.iter().map(|s| s.public_key()).collect();
        let (network, oracle) = simulated::Network::new_with_peers(
            context.child("network"),
            simulated::Config {
                max_size: consensus::MAX_MESSAGE_SIZE,
                max_peers_per_set: NonZeroUsize::new(KEYS).unwrap(),
                disconnect_on_block: true,
                tracked_peer_sets: NonZeroUsize::new(1).unwrap(),
            },
            keys.clone(),
        )
        .await;
        network.start();
        let genesis = pos_genesis(&keys);
        let genesis_hash = tao_runtime::genesis(&genesis).unwrap().genesis_hash();
        let net =
            Self { context, oracle, signers, keys, genesis, genesis_hash, dir: temp_dir(tag) };
        for a in 0..KEYS {
            for b in 0..KEYS {
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

    /// Starts (or restarts, on the same directory and journals) node `i`.
    async fn start(&self, i: usize) -> Running {
        self.start_as(i, Behaviour::Honest).await
    }

    /// Starts node `i` behaving as `behaviour`.
    async fn start_as(&self, i: usize, behaviour: Behaviour) -> Running {
        self.start_with(i, behaviour, SyncMode::Full, None).await
    }

    /// Starts node `i` behaving as `behaviour`, starting empty by `sync`, keeping (and
    /// serving) a snapshot every `every` blocks.
    async fn start_with(
        &self,
        i: usize,
        behaviour: Behaviour,
        sync: SyncMode,
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
            authorities: Vec::new(),
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

    /// A transaction by node `i`'s controller, at its nonce on `node`'s state plus `ahead`
    /// (transactions of its still in the pool).
    fn signed(&self, node: &Node, i: usize, ahead: u64, call: Call) -> SignedTransaction {
        let keypair = controller(i);
        let nonce = node.chain.lock().unwrap().state.account(&keypair.account()).nonce + ahead;
        let transaction =
            Transaction { genesis_hash: self.genesis_hash, signer: keypair.account(), nonce, call };
        let signature = keypair.sign(&transaction.signing_payload()).unwrap();
        SignedTransaction { transaction, signature: Signature(signature) }
    }

    /// Submits `tx` to `via` and gossips it to the others.
    fn submit(via: &Node, tx: SignedTransaction) {
        via.chain.lock().unwrap().submit(tx.clone()).unwrap();
        via.gossip.as_ref().unwrap().send(tx).unwrap();
    }

    /// Node `i`'s registration as a candidate: its consensus key, proven.
    fn register(&self, node: &Node, i: usize) -> SignedTransaction {
        let proof =
            consensus::key_proof(&self.signers[i], &self.genesis_hash, &controller(i).account());
        let call = Call::RegisterValidator {
            consensus_key: epochs::consensus_key(&self.keys[i]),
            p2p_address: format!("127.0.0.1:{}", 30_000 + i),
            commission: 500,
            proof,
        };
        self.signed(node, i, 0, call)
    }
}

fn height(node: &Node) -> u64 {
    node.chain.lock().unwrap().head.number.get()
}

/// Waits (in simulated time) until every node has finalized `target`.
async fn wait_for(context: &deterministic::Context, nodes: &[Arc<Node>], target: u64) {
    for _ in 0..4_000 {
        if nodes.iter().all(|n| height(n) >= target) {
            return;
        }
        context.sleep(Duration::from_millis(50)).await;
    }
    let heights: Vec<u64> = nodes.iter().map(|n| height(n)).collect();
    panic!("not every node reached block {target} within 200 s: heights {heights:?}");
}

/// Every block up to `upto` is the same on every node (so are the state roots).
fn assert_agree(nodes: &[Arc<Node>], upto: u64) -> Vec<Hash> {
    (1..=upto)
        .map(|number| {
            let headers: Vec<_> = nodes
                .iter()
                .map(|n| n.chain.lock().unwrap().store.block(number).unwrap().unwrap().header)
                .collect();
            assert!(headers.iter().all(|h| *h == headers[0]), "nodes disagree at block {number}");
            headers[0].hash()
        })
        .collect()
}

/// The consensus keys of epoch `epoch`'s set, as node `node`'s state has it.
fn set_of(node: &Node, epoch: u64) -> Vec<PublicKey> {
    let chain = node.chain.lock().unwrap();
    let set = chain.state.validator_set(epoch).expect("the epoch's set is elected");
    set.members.iter().map(|m| epochs::public_key(&m.consensus_key).unwrap()).collect()
}

fn bonded_total(node: &Node, who: &AccountId) -> Rao {
    let chain = node.chain.lock().unwrap();
    chain.state.candidate(who).map(|c| c.candidate.total).unwrap_or(Rao::ZERO)
}

/// The last block of epoch `e`.
fn last_of(e: u64) -> u64 {
    (e + 1) * EPOCH
}

#[test]
fn a_fifth_candidate_bonds_is_elected_and_votes_and_validators_are_credited() {
    deterministic::Runner::timed(Duration::from_secs(1_200)).start(|context| async move {
        let net = Net::new(context.child("net"), "fifth").await;
        let mut running = Vec::new();
        for i in 0..NODES {
            running.push(net.start(i).await);
        }
        let all: Vec<Arc<Node>> = running.iter().map(|r| r.node.clone()).collect();
        // The fifth node is in no set: it follows the chain by certificates.
        wait_for(&context, &all, 5).await;
        assert_eq!(set_of(&all[0], 0).len(), GENESIS_VALIDATORS);
        // Its controller registers its key and bonds 20,000 TAO (the most of anyone).
        Net::submit(&all[0], net.register(&all[0], 4));
        wait_for(&context, &all[..1], 8).await;
        let bond = Call::Bond { validator: controller(4).account(), amount: tao(20_000) };
        Net::submit(&all[0], net.signed(&all[0], 4, 1, bond));
        // Elected at the end of the epoch in which it bonded.
        let bonded_by = last_of(0) - 2;
        wait_for(&context, &all[..1], bonded_by).await;
        assert_eq!(bonded_total(&all[0], &controller(4).account()), tao(20_000));
        wait_for(&context, &all, last_of(1) + 5).await;
        let set = set_of(&all[0], 1);
        assert_eq!(set.len(), NODES, "the fifth candidate joins epoch 1");
        assert!(set.contains(&net.keys[4]));
        assert_agree(&all, last_of(1) + 5);
        // With five validators a quorum is four: with one of the original four stopped,
        // the chain goes on only if the fifth votes.
        stop(&running[0]);
        let four: Vec<Arc<Node>> = all[1..].to_vec();
        let at = height(&four[0]);
        wait_for(&context, &four, at + 10).await;
        assert_agree(&four, at + 10);
        // Fees went to the epochs' validators by the blocks they signed: credits were
        // verified on chain (commonware's signatures under the runtime's vote message).
        // Epoch 0's fees (the registration's and the bond's) were paid to its validators at
        // its end, which needs credits; the current epoch's blocks are being credited too.
        let chain = four[0].chain.lock().unwrap();
        let consensus = chain.state.consensus();
        assert!(consensus.total_rewards > Rao::ZERO, "no rewards: {consensus:?}");
        assert!(consensus.credited_blocks > 0, "nothing credited this epoch: {consensus:?}");
        drop(chain);
        running.iter().for_each(stop);
    });
}

#[test]
fn a_validator_that_unbonds_leaves_at_the_next_boundary_and_the_rest_go_on() {
    deterministic::Runner::timed(Duration::from_secs(1_200)).start(|context| async move {
        let net = Net::new(context.child("net"), "unbond").await;
        let mut running = Vec::new();
        for i in 0..GENESIS_VALIDATORS {
            running.push(net.start(i).await);
        }
        let all: Vec<Arc<Node>> = running.iter().map(|r| r.node.clone()).collect();
        wait_for(&context, &all, 3).await;
        let leaving = controller(3).account();
        let unbond = Call::Unbond { validator: leaving, amount: tao(10_000) };
        Net::submit(&all[0], net.signed(&all[0], 3, 0, unbond));
        wait_for(&context, &all, last_of(0) + 3).await;
        let set = set_of(&all[0], 1);
        assert_eq!(set.len(), 3, "epoch 1 has the three that stayed bonded");
        assert!(!set.contains(&net.keys[3]));
        // Its TAO is unbonding, not free, until the period ends.
        assert_eq!(bonded_total(&all[0], &leaving), Rao::ZERO);
        // Without it the three are the whole set: the chain goes on with it stopped.
        stop(&running[3]);
        let three: Vec<Arc<Node>> = all[..3].to_vec();
        wait_for(&context, &three, last_of(1) + 5).await;
        assert_agree(&three, last_of(1) + 5);
        running.iter().for_each(stop);
    });
}

#[test]
fn a_validator_down_across_two_boundaries_catches_up_and_votes_again() {
    deterministic::Runner::timed(Duration::from_secs(1_200)).start(|context| async move {
        let net = Net::new(context.child("net"), "across").await;
        let mut running = Vec::new();
        for i in 0..GENESIS_VALIDATORS {
            running.push(net.start(i).await);
        }
        let all: Vec<Arc<Node>> = running.iter().map(|r| r.node.clone()).collect();
        wait_for(&context, &all, 5).await;
        drop(all);
        // Validator 2 crashes in epoch 0; the others go on into epoch 2.
        let crashed = running.remove(2);
        stop(&crashed);
        let stopped_at = height(&crashed.node);
        drop(crashed);
        let three: Vec<Arc<Node>> = running.iter().map(|r| r.node.clone()).collect();
        wait_for(&context, &three, last_of(1) + 5).await;
        drop(three);
        // It restarts on its store and journal, syncs both epochs by certificates...
        running.insert(2, net.start(2).await);
        assert_eq!(height(&running[2].node), stopped_at);
        let all: Vec<Arc<Node>> = running.iter().map(|r| r.node.clone()).collect();
        let target = height(&all[0]) + 10;
        wait_for(&context, &all, target).await;
        assert_agree(&all, target);
        // ...and votes again: with another validator stopped, 3 of 4 are a quorum only
        // with it.
        stop(&running[0]);
        let three: Vec<Arc<Node>> = all[1..].to_vec();
        let at = height(&three[0]);
        wait_for(&context, &three, at + 10).await;
        assert_agree(&three, at + 10);
        running.iter().for_each(stop);
    });
}

/// Four genesis validators over two epoch boundaries on a seeded runtime: the hashes.
fn seeded_run(seed: u64, tag: &'static str) -> Vec<Hash> {
    deterministic::Runner::seeded(seed).start(|context| async move {
        let net = Net::new(context.child("net"), tag).await;
        let mut running = Vec::new();
        for i in 0..GENESIS_VALIDATORS {
            running.push(net.start(i).await);
        }
        let all: Vec<Arc<Node>> = running.iter().map(|r| r.node.clone()).collect();
        wait_for(&context, &all, last_of(1) + 2).await;
        let hashes = assert_agree(&all, last_of(1) + 2);
        running.iter().for_each(stop);
        hashes
    })
}

#[test]
fn the_same_seed_replays_the_same_chain_across_epochs() {
    let first = seeded_run(7, "seed-a");
    let again = seeded_run(7, "seed-b");
    assert_eq!(first, again, "the same seed, the same blocks");
}

#[test]
fn an_equivocating_validator_is_slashed_by_the_evidence_and_jailed_out_of_the_next_set() {
    use commonware_consensus::{
        simplex::types::{Activity, ConflictingNotarize, Notarize, Proposal},
        types::{Epoch, Round, View},
    };
    deterministic::Runner::timed(Duration::from_secs(1_200)).start(|context| async move {
        let net = Net::new(context.child("net"), "slash").await;
        let mut running = Vec::new();
        for i in 0..GENESIS_VALIDATORS {
            running.push(net.start(i).await);
        }
        let all: Vec<Arc<Node>> = running.iter().map(|r| r.node.clone()).collect();
        wait_for(&context, &all, 3).await;
        // Validator 3's key signs two different proposals for one view of epoch 0: the
        // fault commonware reports, turned into the chain's evidence as a node does.
        let mut participants = set_of(&all[0], 0);
        participants.sort();
        let scheme = consensus::Scheme::signer(
            &consensus::namespace(&net.genesis_hash),
            commonware_utils::ordered::Set::try_from(participants).unwrap(),
            net.signers[3].clone(),
        )
        .unwrap();
        let round = Round::new(Epoch::new(0), View::new(1_000));
        let vote = |byte: u8| {
            let payload = commonware_cryptography::sha256::Digest([byte; 32]);
            Notarize::sign(&scheme, Proposal::new(round, View::new(999), payload)).unwrap()
        };
        let fault = Activity::ConflictingNotarize(ConflictingNotarize::new(vote(1), vote(2)));
        let key_of = |epoch: u64, index: u32| {
            let chain = all[0].chain.lock().unwrap();
            let set = chain.state.validator_set(epoch)?;
            set.members.get(index as usize).map(|m| m.consensus_key)
        };
        let evidence = consensus::evidence_of(&fault, key_of).expect("evidence of validator 3");
        assert_eq!(evidence.signer(), epochs::consensus_key(&net.keys[3]));
        // Validators 0 and 1 see the fault, as their engines would report it. Each node
        // reports it by itself: a free `ReportEquivocation` from the account its consensus
        // key derives, which holds no TAO. The first included slashes; the other is then
        // refused (one slash per offence).
        for seen_by in [0, 1] {
            let mut mailbox = running[seen_by].handles.mailbox.clone();
            let _ = commonware_consensus::Reporter::report(&mut mailbox, fault.clone());
        }
        let reporters: Vec<AccountId> =
            [0, 1].iter().map(|&i| consensus::reporter(&net.signers[i]).account()).collect();
        let offender = controller(3).account();
        let jailed = |node: &Node| {
            let chain = node.chain.lock().unwrap();
            chain.state.candidate(&offender).and_then(|c| c.candidate.jailed_until)
        };
        for _ in 0..400 {
            if all.iter().all(|n| jailed(n).is_some()) {
                break;
            }
            context.sleep(Duration::from_millis(50)).await;
        }
        assert!(all.iter().all(|n| jailed(n).is_some()), "validator 3 was not jailed");
        // 5 % of its 10,000 TAO bond is slashed, once.
        assert_eq!(bonded_total(&all[0], &offender), tao(9_500));
        // By a report of one of the two nodes, paid by nobody.
        {
            let chain = all[2].chain.lock().unwrap();
            let used: Vec<u64> = reporters.iter().map(|r| chain.state.account(r).nonce).collect();
            assert_eq!(used.iter().sum::<u64>(), 1, "one report included: {used:?}");
            assert!(reporters.iter().all(|r| chain.state.account(r).free.is_zero()));
        }
        // Out of the next set; the three others go on without it.
        wait_for(&context, &all, last_of(0) + 2).await;
        let set = set_of(&all[0], 1);
        assert_eq!(set.len(), 3, "the jailed validator is not elected");
        assert!(!set.contains(&net.keys[3]));
        stop(&running[3]);
        let three: Vec<Arc<Node>> = all[..3].to_vec();
        wait_for(&context, &three, last_of(1) + 3).await;
        assert_agree(&three, last_of(1) + 3);
        running.iter().for_each(stop);
    });
}

/// Waits (in simulated time, up to 2,000 s) until every node has finalized `target`.
async fn until(context: &deterministic::Context, target: u64, nodes: &[Arc<Node>]) {
    for _ in 0..40_000 {
        if nodes.iter().all(|n| height(n) >= target) {
            return;
        }
        context.sleep(Duration::from_millis(50)).await;
    }
    let heights: Vec<u64> = nodes.iter().map(|n| height(n)).collect();
    panic!("not every node reached block {target}: heights {heights:?}");
}

/// Blocks the validators finalize before a full node joins.
const JOIN_AFTER: u64 = 1_000;

#[test]
fn a_full_node_joining_after_1000_blocks_syncs_past_a_corrupt_and_a_forging_peer() {
    use consensus::Serving;
    deterministic::Runner::timed(Duration::from_secs(3_600)).start(|context| async move {
        let net = Net::new(context.child("net"), "join").await;
        // Four honest validators, and two full nodes following the chain that answer other
        // nodes' requests badly: node 4 with corrupt blocks, node 5 with forged
        // certificates.
        let mut running = Vec::new();
        for i in 0..GENESIS_VALIDATORS {
            running.push(net.start(i).await);
        }
        running.push(net.start_as(4, Behaviour::Serves(Serving::CorruptBlocks)).await);
        running.push(net.start_as(5, Behaviour::Serves(Serving::ForgedCertificates)).await);
        let validators: Vec<Arc<Node>> =
            running[..GENESIS_VALIDATORS].iter().map(|r| r.node.clone()).collect();
        until(&context, JOIN_AFTER, &validators).await;
        // Node 6 starts from nothing: it asks every peer for certificates and blocks, epoch
        // by epoch (50 epochs), and must not be led astray.
        let joining = net.start(6).await;
        let target = height(&validators[0]) + 5;
        let mut synced = validators.clone();
        synced.push(joining.node.clone());
        until(&context, target, &synced).await;
        let hashes = assert_agree(&synced, target);
        assert_eq!(hashes.len() as u64, target);
        let roots: Vec<Hash> = synced
            .iter()
            .map(|n| {
                n.chain.lock().unwrap().store.block(target).unwrap().unwrap().header.state_root
            })
            .collect();
        assert!(roots.iter().all(|r| *r == roots[0]), "state roots differ at block {target}");
        // It blocked both bad servers: what they sent, no honest node sends.
        let blocked = joining.node.metrics.peers_blocked.load(std::sync::atomic::Ordering::Relaxed);
        assert_eq!(blocked, 2, "the joining node blocked {blocked} peers");
        // Whatever the bad servers committed is the chain too (they only serve badly).
        for bad in &running[4..] {
            let upto = height(&bad.node).min(target);
            assert_agree(&[validators[0].clone(), bad.node.clone()], upto);
        }
        stop(&joining);
        running.iter().for_each(stop);
    });
}

/// Snapshot sync on a proof-of-stake chain, past epoch 0: a new node knows only epoch 0's
/// set from genesis; the snapshot it is offered is in epoch 3. It walks the epochs (each
/// epoch's last block, certified by that epoch's set, names the next set in its state),
/// refusing the proofs and chunks of a validator that tampers with what it serves, verifies
/// the offer with epoch 3's set, installs it and follows the chain.
#[test]
fn a_new_node_snapshot_syncs_a_proof_of_stake_chain_past_epoch_0_walking_the_epochs() {
    const EVERY: u64 = 10;
    deterministic::Runner::timed(Duration::from_secs(900)).start(|context| async move {
        let net = Net::new(context.child("net"), "pos-snapshot").await;
        // The validator whose key sorts first is asked first (peers are asked in key
        // order); it tampers with every chunk and epoch proof it serves.
        let liar = (0..GENESIS_VALIDATORS).min_by_key(|i| net.keys[*i].clone()).unwrap();
        let every = NonZeroU64::new(EVERY);
        let mut running = Vec::new();
        for i in 0..GENESIS_VALIDATORS {
            let behaviour = match i == liar {
                true => Behaviour::Serves(consensus::Serving::TamperedChunks),
                false => Behaviour::Honest,
            };
            running.push(net.start_with(i, behaviour, SyncMode::Full, every).await);
        }
        let validators: Vec<Arc<Node>> = running.iter().map(|r| r.node.clone()).collect();
        wait_for(&net.context, &validators, 3 * EPOCH + 15).await;

        let fresh = net.start_with(6, Behaviour::Honest, SyncMode::Snapshot, None).await;
        let target = height(&validators[0]) + 15;
        let mut all = validators.clone();
        all.push(fresh.node.clone());
        wait_for(&net.context, &all, target).await;

        // It started from a snapshot in epoch 3, not from genesis nor epoch 0.
        {
            let chain = fresh.node.chain.lock().unwrap();
            let oldest = chain.store.oldest_kept();
            assert!(oldest > 3 * EPOCH && oldest % EVERY == 0, "snapshot at {oldest}");
            assert!(chain.store.block(1).unwrap().is_none(), "block 1 was not fetched");
            assert_eq!(epochs::epoch_of(&chain.state, oldest), 3);
            let reference = validators[0].chain.lock().unwrap();
            for number in oldest..=target {
                let mine = chain.store.block(number).unwrap().expect("kept from the snapshot on");
                let theirs = reference.store.block(number).unwrap().unwrap();
                assert_eq!(mine.header, theirs.header, "block {number}");
            }
            assert_eq!(chain.state.state_root(), chain.head.state_root);
        }

        // The liar, and only the liar, was blocked by the new node.
        let blocked = net.oracle.blocked().await.unwrap();
        let by_fresh: Vec<&PublicKey> =
            blocked.iter().filter(|(from, _)| *from == net.keys[6]).map(|(_, to)| to).collect();
        assert_eq!(by_fresh, vec![&net.keys[liar]], "the new node blocks the liar only");
        stop(&fresh);
        running.iter().for_each(stop);
    });
}
