//! Snapshot sync: a new node of a BFT chain starts from a recent state fetched from its
//! peers instead of re-executing every block since genesis (`docs/storage.md`, "Snapshot
//! sync").
//!
//! * **What is trusted.** A snapshot is the state after block H. Its *offer* carries H's
//!   header, a finalization certificate of H (checked against the validator set of H's
//!   epoch: the genesis state names epoch 0's, and on a chain with proof of stake each
//!   later set is learned by the *epoch walk* below) and a *manifest*: every state part's key
//!   and digest in state-root order. The manifest is checked against the header's state
//!   root by recomputing the root ([`Manifest::verify`]); each part's bytes are checked
//!   against its digest in the manifest as they arrive ([`verify_parts`]). Nothing a peer
//!   sends is kept before it is checked.
//! * **Chunks.** Parts are asked for in ranges of manifest indices ([`MAX_PARTS_PER_CHUNK`]
//!   at most); the server answers with a prefix of at most [`CHUNK_BYTES`] (at least one
//!   part). A chunk with a part that does not hash to the manifest's digest (or an empty or
//!   oversized answer) is refused whole, its sender is blocked (commonware's `Blocker`) and
//!   never asked again, and the range is asked of another peer.
//! * **Installing.** With every part, the state is rebuilt ([`State::from_parts`]) and its
//!   root checked again; block H is fetched by hash and checked against the header; then the
//!   block, its certificate and the state go into the store in **one** transaction
//!   ([`crate::store::Store::install_snapshot`]) with `oldest` = H, as a pruned store
//!   keeps. A crash before that leaves the empty store it started from; the fetch starts
//!   over.
//! * **The epoch walk.** On a chain with proof of stake, epoch e's set is elected in the
//!   state after e − 1's last block. For every epoch e whose last block L it commits with
//!   its certificate, a node keeps an [`EpochProof`]: L's header, L's certificate, the
//!   manifest of the state after L, and that state's two parts that name the next epoch
//!   (its set: `ValidatorSets`; its blocks: `Consensus`). A new node checks each proof with
//!   the set it already trusts ([`verify_epoch_proof`]): the certificate under epoch e's set,
//!   the manifest against L's state root, the two parts against the manifest; and so learns
//!   epoch e + 1's set and last block. It walks from genesis to the offer's epoch, asking
//!   peers for proofs in bounded batches ([`MAX_PROOFS_PER_ANSWER`]); a proof that does not
//!   verify blocks its sender. Verified proofs are kept, so the node serves them in turn.
//! * **Serving.** With `--snapshot-every N`, the node keeps the state at each certified
//!   committed block whose number crosses a multiple of N, in `<base-path>/snapshots.redb`
//!   (the last [`KEPT_SNAPSHOTS`]), and answers offers and chunks from there, at most
//!   [`MAX_ANSWERS_PER_SECOND`] a peer.

use crate::{
    chain::{check_block_body, Chain},
    consensus::{block_hash, Digest, PublicKey, Scheme, MAX_PARTICIPANTS},
    epochs::{self, EpochPlan},
};
use codec::{Decode, Encode};
use commonware_consensus::{simplex::types::Finalization, types::Epoch, Epochable as _};
use redb::{Database, ReadableTable, TableDefinition};
use std::{
    collections::{BTreeMap, BTreeSet},
    num::NonZeroU64,
    path::{Path, PathBuf},
    time::{Duration, SystemTime},
};
use tao_runtime::{ConsensusState, State, StatePart, ValidatorSets};
use tao_types::{blake2_256, Block, Hash, Header};
use tracing::{debug, info, warn};

/// Most parts one chunk request may name.
pub const MAX_PARTS_PER_CHUNK: u32 = 256;
/// Most bytes of parts a server puts in one answer (it always sends at least one part; a
/// part is far smaller on any state the runtime bounds: the largest are account buckets).
pub const CHUNK_BYTES: usize = 1024 * 1024;
/// Most parts a manifest may list (a manifest of this many is ~2.4 MB, within a message).
pub const MAX_MANIFEST_PARTS: usize = 65_536;
/// Most bytes of state a fetch holds in memory before it gives the snapshot up.
pub const MAX_SNAPSHOT_BYTES: u64 = 1 << 30;
/// Most epoch proofs in one answer (fewer if they pass [`CHUNK_BYTES`]; at least one).
pub const MAX_PROOFS_PER_ANSWER: usize = 64;
/// Verified epochs whose set a walking node remembers (an offer of an older epoch than
/// these is not looked at: the newest snapshot is wanted).
const KEPT_PLANS: usize = 16;
/// Snapshots a serving node keeps.
pub const KEPT_SNAPSHOTS: usize = 2;
/// Answers (offers and chunks) a node sends one peer in one second; further requests in
/// that second are dropped.
pub const MAX_ANSWERS_PER_SECOND: u32 = 32;
/// Peers whose answer counts are tracked at once (the map is cleared when full).
const MAX_TRACKED_PEERS: usize = 1_024;
/// Chunks asked for at once.
const MAX_IN_FLIGHT: usize = 4;
/// How long a chunk (or block H) may take before it is asked of another peer.
const ASK_TIMEOUT: Duration = Duration::from_secs(2);
/// Unanswered requests after which a peer is asked no more for this snapshot (and asks for
/// block H after which the offers are gathered again).
const MAX_TIMEOUTS: u32 = 3;
/// How long offers are gathered after the first valid one.
const OFFER_WINDOW: Duration = Duration::from_secs(1);
/// How often peers are asked for offers while none came.
const OFFER_RETRY: Duration = Duration::from_secs(2);
/// Rounds of asking for offers before a node gives snapshot sync up and syncs every block
/// (no peer keeps a snapshot yet, or none this node can verify).
const MAX_OFFER_ROUNDS: u32 = 5;

const OFFERS: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("snapshot_offers");
const PARTS: TableDefinition<'_, (u64, u32), &[u8]> = TableDefinition::new("snapshot_parts");
const EPOCH_PROOFS: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("epoch_proofs");

/// How many answers each peer may get in one second (requests over it are dropped before
/// any work). Tracks at most [`MAX_TRACKED_PEERS`] peers: the map is cleared when full.
pub struct AnswerBudget {
    per_second: u32,
    /// Per peer: the second (since the Unix epoch) and the answers counted in it.
    counts: BTreeMap<PublicKey, (u64, u32)>,
}

impl AnswerBudget {
    /// A budget of `per_second` answers a peer.
    pub fn new(per_second: u32) -> Self {
        Self { per_second, counts: BTreeMap::new() }
    }

    /// Whether `peer` may be answered now (and counts the answer).
    pub fn allows(&mut self, peer: &PublicKey, now: SystemTime) -> bool {
        let second = now.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default().as_secs();
        if self.counts.len() >= MAX_TRACKED_PEERS && !self.counts.contains_key(peer) {
            self.counts.clear();
        }
        let (at, count) = self.counts.entry(peer.clone()).or_insert((second, 0));
        if *at != second {
            (*at, *count) = (second, 0);
        }
        if *count >= self.per_second {
            return false;
        }
        *count += 1;
        true
    }
}

/// How a node with an empty store gets the state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SyncMode {
    /// Every block from genesis (fetched by certificates and hashes, re-executed).
    #[default]
    Full,
    /// A certified snapshot from peers, then the blocks after it.
    Snapshot,
}

impl std::str::FromStr for SyncMode {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "full" => Ok(Self::Full),
            "snapshot" => Ok(Self::Snapshot),
            other => Err(format!("--sync {other:?}: expected full or snapshot")),
        }
    }
}

/// A node's snapshot settings.
#[derive(Clone, Debug, Default)]
pub struct Config {
    /// How to start with an empty store.
    pub sync: SyncMode,
    /// Keep (and serve) a snapshot every this many blocks.
    pub every: Option<NonZeroU64>,
    /// Where `snapshots.redb` lives (the base path); none: nothing is kept or served
    /// (neither snapshots nor epoch proofs).
    pub dir: Option<PathBuf>,
}

/// One part in a manifest: its key ([`StatePart::to_bytes`]) and the digest of its bytes.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Entry {
    /// The part's key.
    pub key: Vec<u8>,
    /// BLAKE2b-256 of its SCALE encoding.
    pub digest: Hash,
}

/// Every part of a state with its digest, in state-root order.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Manifest {
    /// The parts.
    pub entries: Vec<Entry>,
}

/// A snapshot as offered: the state after `header`'s block.
#[derive(Clone, Debug, Encode, Decode)]
pub struct Offer {
    /// The block's header (its state root is the snapshot's).
    pub header: Header,
    /// Its finalization certificate (commonware's encoding).
    pub certificate: Vec<u8>,
    /// The state's parts.
    pub manifest: Manifest,
}

/// How a node learns epoch e + 1's validators from epoch e's: e's last block, finalized by
/// e's set, and the parts of the state after it that name e + 1's set and blocks.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct EpochProof {
    /// Epoch e's last block's header.
    pub header: Header,
    /// Its finalization certificate (commonware's encoding), by epoch e's set.
    pub certificate: Vec<u8>,
    /// The manifest of the state after it.
    pub manifest: Manifest,
    /// That state's `Consensus` part (epoch e + 1's first and last blocks).
    pub consensus: Vec<u8>,
    /// That state's `ValidatorSets` part (epoch e + 1's set).
    pub sets: Vec<u8>,
}

/// Snapshot messages on the block channel (`consensus::Wire::Snapshot`).
#[derive(Debug, Encode, Decode)]
pub enum Message {
    /// "Send me your newest snapshot's offer."
    WantOffer,
    /// The answer.
    Offer(Box<Offer>),
    /// "Send me parts `first..first + count` of the snapshot at block `number`."
    WantParts {
        /// The snapshot's block.
        number: u64,
        /// The first part (manifest index).
        first: u32,
        /// How many (at most [`MAX_PARTS_PER_CHUNK`]).
        count: u32,
    },
    /// The answer: parts `first..first + parts.len()`.
    Parts {
        /// The snapshot's block.
        number: u64,
        /// The first part's manifest index.
        first: u32,
        /// Their bytes.
        parts: Vec<Vec<u8>>,
    },
    /// "Send me the proofs of epochs `from`, `from + 1`, … ([`EpochProof`])."
    WantEpochs {
        /// The first epoch (its last block's proof names `from + 1`'s set).
        from: u64,
    },
    /// The answer: consecutive proofs from epoch `from` (none: the peer has none).
    Epochs {
        /// The first proof's epoch.
        from: u64,
        /// The proofs.
        proofs: Vec<EpochProof>,
    },
}

/// Why a snapshot (or a piece of one) is refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotError {
    /// More parts than [`MAX_MANIFEST_PARTS`].
    #[error("the manifest lists {0} parts, more than {MAX_MANIFEST_PARTS}")]
    Oversize(usize),
    /// A key that names no part.
    #[error("the manifest names an unknown part key {0:02x?}")]
    UnknownKey(Vec<u8>),
    /// Keys not in state-root order (or listed twice).
    #[error("the manifest lists part {0:?} out of state-root order")]
    OutOfOrder(StatePart),
    /// The digests do not hash to the header's state root.
    #[error("the manifest's root {got} is not the header's state root {want}")]
    RootMismatch {
        /// Recomputed.
        got: Hash,
        /// The header's.
        want: Hash,
    },
    /// A part whose bytes do not hash to its digest.
    #[error("part {index} does not match its digest in the manifest")]
    Tampered {
        /// Its manifest index.
        index: u32,
    },
    /// An answer with no parts, more than asked, or beyond the manifest.
    #[error("an answer of {got} parts from {first} to a request of {asked}")]
    BadRange {
        /// First index answered.
        first: u32,
        /// Parts answered.
        got: usize,
        /// Parts asked.
        asked: u32,
    },
    /// The parts do not make a state.
    #[error("the parts do not make a state: {0}")]
    Parts(String),
    /// The certificate's epoch has a set this node does not know from genesis.
    #[error("block {0} is in an epoch whose validator set this node cannot verify from genesis")]
    UnknownEpoch(u64),
    /// The certificate does not decode, is of another epoch or block, or does not verify.
    #[error("the finalization certificate of block {0} does not verify")]
    Certificate(u64),
    /// An epoch proof of another block than the epoch's last, or whose parts do not make
    /// the next epoch.
    #[error("the proof of epoch {epoch} is not a proof of its last block: {why}")]
    EpochProof {
        /// The epoch it claims to prove.
        epoch: u64,
        /// What is wrong.
        why: &'static str,
    },
}

/// Where a part sits in state-root order ([`State::part_digests`]): the fixed parts in
/// their enum order, then per subnet (netuid order) its record, neurons and stakes.
fn order(part: StatePart) -> (u8, u16, u8) {
    match part {
        StatePart::Chain => (0, 0, 0),
        StatePart::Accounts(b) => (1, 0, b),
        StatePart::HotkeyOwners(b) => (2, 0, b),
        StatePart::RootStakes => (3, 0, 0),
        StatePart::Delegates => (4, 0, 0),
        StatePart::Governance => (5, 0, 0),
        StatePart::ChannelMeta => (6, 0, 0),
        StatePart::ChannelsById(b) => (7, 0, b),
        StatePart::ChannelsPerPayer(b) => (8, 0, b),
        StatePart::Consensus => (9, 0, 0),
        StatePart::ValidatorSets => (10, 0, 0),
        StatePart::Candidates(b) => (11, 0, b),
        StatePart::Unbonding(b) => (12, 0, b),
        StatePart::SubnetInfo(n) => (13, n.get(), 0),
        StatePart::SubnetNeurons(n) => (13, n.get(), 1),
        StatePart::SubnetStakes(n) => (13, n.get(), 2),
    }
}

impl Manifest {
    /// The manifest of `state`.
    pub fn of(state: &State) -> Self {
        let entries = state
            .part_digests()
            .into_iter()
            .map(|(key, digest)| Entry { key: key.to_bytes(), digest })
            .collect();
        Self { entries }
    }

    /// Checks the manifest against a header: bounded, every key known and in state-root
    /// order, and the digests hash (as [`State::state_root`] hashes them) to its state
    /// root. Completeness (every fixed part, each subnet's three) is checked when the parts
    /// are put together ([`assemble`]).
    pub fn verify(&self, header: &Header) -> Result<(), SnapshotError> {
        if self.entries.len() > MAX_MANIFEST_PARTS {
            return Err(SnapshotError::Oversize(self.entries.len()));
        }
        let mut bytes = Vec::with_capacity(self.entries.len().saturating_mul(34));
        let mut last = None;
        for entry in &self.entries {
            let part = StatePart::from_bytes(&entry.key)
                .ok_or_else(|| SnapshotError::UnknownKey(entry.key.clone()))?;
            if last.is_some_and(|last| order(part) <= last) {
                return Err(SnapshotError::OutOfOrder(part));
            }
            last = Some(order(part));
            if let StatePart::SubnetInfo(netuid) = part {
                bytes.extend_from_slice(&netuid.get().to_le_bytes());
            }
            bytes.extend_from_slice(&entry.digest.0);
        }
        let got = blake2_256(&bytes);
        if got != header.state_root {
            return Err(SnapshotError::RootMismatch { got, want: header.state_root });
        }
        Ok(())
    }
}

/// Checks an answer of parts `first..` to a request of `asked` parts from `asked_first`:
/// at least one part, no more than asked, and each hashing to its manifest digest.
pub fn verify_parts(
    manifest: &Manifest,
    asked_first: u32,
    asked: u32,
    first: u32,
    parts: &[Vec<u8>],
) -> Result<(), SnapshotError> {
    let bad = || SnapshotError::BadRange { first, got: parts.len(), asked };
    let end = usize::try_from(first).ok().and_then(|f| f.checked_add(parts.len()));
    if first != asked_first
        || parts.is_empty()
        || parts.len() > usize::try_from(asked).unwrap_or(0)
        || end.is_none_or(|end| end > manifest.entries.len())
    {
        return Err(bad());
    }
    for ((index, part), entry) in
        (first..).zip(parts).zip(manifest.entries.iter().skip(first as usize))
    {
        if blake2_256(part) != entry.digest {
            return Err(SnapshotError::Tampered { index });
        }
    }
    Ok(())
}

/// The state made of a verified manifest's parts, checked against the header once more.
pub fn assemble(
    manifest: &Manifest,
    parts: Vec<Vec<u8>>,
    header: &Header,
) -> Result<State, SnapshotError> {
    let pairs = manifest.entries.iter().map(|e| e.key.clone()).zip(parts);
    let state = State::from_parts(pairs).map_err(|e| SnapshotError::Parts(e.to_string()))?;
    let got = state.state_root();
    if got != header.state_root {
        return Err(SnapshotError::RootMismatch { got, want: header.state_root });
    }
    Ok(state)
}

/// Checks that `certificate` finalizes `header` under a quorum of `plan`'s set (the epoch
/// the caller trusts for this block: from genesis, or learned by the epoch walk); a block
/// beyond the plan's last is [`SnapshotError::UnknownEpoch`].
pub fn verify_certificate(
    rng: &mut impl rand_core::CryptoRng,
    namespace: &[u8],
    plan: &EpochPlan,
    header: &Header,
    certificate: &[u8],
) -> Result<(), SnapshotError> {
    let number = header.number.get();
    if plan.last.is_some_and(|last| number > last) {
        return Err(SnapshotError::UnknownEpoch(number));
    }
    let participants = commonware_utils::ordered::Set::try_from(plan.participants.clone())
        .map_err(|_| SnapshotError::UnknownEpoch(number))?;
    let verifier = Scheme::verifier(namespace, participants);
    let finalization = <Finalization<Scheme, Digest> as commonware_codec::Decode>::decode_cfg(
        certificate.to_vec(),
        &MAX_PARTICIPANTS,
    )
    .map_err(|_| SnapshotError::Certificate(number))?;
    if finalization.epoch() != Epoch::new(plan.epoch)
        || block_hash(&finalization.proposal.payload) != header.hash()
        || !finalization.verify(rng, &verifier, &commonware_parallel::Sequential)
    {
        return Err(SnapshotError::Certificate(number));
    }
    Ok(())
}

/// The epoch a node trusts from its genesis state: the fixed authorities' one endless
/// epoch, or on a chain with proof of stake epoch 0 (its set is in genesis).
pub fn genesis_plan(genesis: &State, authorities: &[PublicKey]) -> Option<EpochPlan> {
    epochs::plan(genesis, authorities, 1)
}

/// Checks `proof` with the trusted `plan` of epoch e and returns epoch e + 1's: the proof's
/// block is e's last, finalized by e's set; its manifest hashes to the block's state root;
/// its two parts hash to their manifest digests; and the state after the block has elected
/// e + 1's set and begun e + 1 right after it.
pub fn verify_epoch_proof(
    rng: &mut impl rand_core::CryptoRng,
    namespace: &[u8],
    plan: &EpochPlan,
    proof: &EpochProof,
) -> Result<EpochPlan, SnapshotError> {
    let epoch = plan.epoch;
    let refuse = |why| SnapshotError::EpochProof { epoch, why };
    let number = proof.header.number.get();
    if plan.last != Some(number) {
        return Err(refuse("its block is not the epoch's last"));
    }
    // Hashing first, the certificate's signatures last (the dearest check).
    proof.manifest.verify(&proof.header)?;
    let digest_of = |part: StatePart| {
        let key = part.to_bytes();
        proof.manifest.entries.iter().find(|e| e.key == key).map(|e| e.digest)
    };
    if digest_of(StatePart::Consensus) != Some(blake2_256(&proof.consensus))
        || digest_of(StatePart::ValidatorSets) != Some(blake2_256(&proof.sets))
    {
        return Err(refuse("its parts are not the state's"));
    }
    let meta = ConsensusState::decode(&mut proof.consensus.as_slice())
        .map_err(|_| refuse("its Consensus part does not decode"))?;
    let sets = ValidatorSets::decode(&mut proof.sets.as_slice())
        .map_err(|_| refuse("its ValidatorSets part does not decode"))?;
    let next = epoch.checked_add(1).ok_or_else(|| refuse("the last epoch"))?;
    if !meta.enabled || meta.epoch != next || meta.epoch_start.get() != number.saturating_add(1) {
        return Err(refuse("the state after it does not begin the next epoch"));
    }
    let set = sets.sets.get(&next).ok_or_else(|| refuse("the next epoch's set is missing"))?;
    let mut participants: Vec<PublicKey> =
        set.members.iter().filter_map(|m| epochs::public_key(&m.consensus_key)).collect();
    participants.sort();
    participants.dedup();
    if participants.is_empty() {
        return Err(refuse("the next epoch's set is empty"));
    }
    verify_certificate(rng, namespace, plan, &proof.header, &proof.certificate)?;
    Ok(EpochPlan { epoch: next, last: Some(meta.last_block(next).get()), participants })
}

/// The epoch proof of `chain`'s head, if the head is the last block of an epoch (the state
/// after it has begun the next one) and `certificate` finalizes it.
fn epoch_proof(chain: &Chain, certificate: &[u8]) -> Option<(u64, EpochProof)> {
    let meta = chain.state.consensus();
    let number = chain.head.number.get();
    if !meta.enabled || meta.epoch_start.get() != number.checked_add(1)? {
        return None;
    }
    let epoch = meta.epoch.checked_sub(1)?;
    let proof = EpochProof {
        header: chain.head.clone(),
        certificate: certificate.to_vec(),
        manifest: Manifest::of(&chain.state),
        consensus: chain.state.encode_part(StatePart::Consensus)?,
        sets: chain.state.encode_part(StatePart::ValidatorSets)?,
    };
    Some((epoch, proof))
}

/// How far a walking node trusts the epochs: the plans it verified, newest last (the
/// newest [`KEPT_PLANS`], each with its first block), and the pending request for more.
struct Walk {
    /// (first block, plan), oldest first.
    plans: std::collections::VecDeque<(u64, EpochPlan)>,
    /// The peer asked for proofs from the newest plan's epoch, and when.
    asked: Option<(PublicKey, SystemTime)>,
    /// Peers that had no (more) proofs since the walk last moved.
    exhausted: BTreeSet<PublicKey>,
}

impl Walk {
    fn new(genesis: EpochPlan) -> Self {
        let plans = std::iter::once((1, genesis)).collect();
        Self { plans, asked: None, exhausted: BTreeSet::new() }
    }

    fn newest(&self) -> Option<&EpochPlan> {
        self.plans.back().map(|(_, plan)| plan)
    }

    /// The trusted plan of block `number`'s epoch: `Ok(None)` if it is beyond the newest
    /// (the walk must go on), `Err` if older than the plans kept.
    fn plan_of(&self, number: u64) -> Result<Option<&EpochPlan>, ()> {
        if self.newest().is_some_and(|p| p.last.is_some_and(|last| number > last)) {
            return Ok(None);
        }
        self.plans
            .iter()
            .find(|(first, plan)| *first <= number && plan.last.is_none_or(|last| number <= last))
            .map(|(_, plan)| Some(plan))
            .ok_or(())
    }

    fn push(&mut self, plan: EpochPlan) {
        let first = self.newest().and_then(|p| p.last).unwrap_or(0).saturating_add(1);
        self.plans.push_back((first, plan));
        while self.plans.len() > KEPT_PLANS {
            self.plans.pop_front();
        }
        self.exhausted.clear();
    }
}

/// What a node does about snapshots: serving those it keeps, fetching one when it starts
/// empty with [`SyncMode::Snapshot`].
pub struct Snapshots {
    every: Option<NonZeroU64>,
    tamper: bool,
    db: Option<Database>,
    /// Kept snapshots: block number → the manifest's length.
    kept: BTreeMap<u64, u32>,
    /// Answers sent per peer in the current second (second, count).
    answered: AnswerBudget,
    fetch: Option<Fetch>,
    /// The epochs a fetch trusts (proof of stake), kept across rounds of offers.
    walk: Option<Walk>,
}

/// A snapshot fetch under way.
enum Fetch {
    /// Offers asked for; the newest that verified, and who offered it.
    Offers(Box<Gather>),
    /// Parts being fetched.
    Parts(Box<Parts>),
    /// Every part is here and the state verified; block H is being fetched.
    Block { offer: Box<Offer>, state: Box<State>, asked: SystemTime, tries: u32 },
}

/// Offers gathered in one round: only the newest verified one is kept (one manifest in
/// memory however many peers answer), with the peers that offered exactly it.
#[derive(Default)]
struct Gather {
    /// When peers were last asked.
    asked: Option<SystemTime>,
    /// When the first valid offer of this round came.
    first: Option<SystemTime>,
    /// Rounds asked so far.
    rounds: u32,
    best: Option<Offer>,
    peers: Vec<PublicKey>,
    /// Peers that answered this round (one offer each is looked at).
    heard: BTreeSet<PublicKey>,
    /// The newest offer beyond the epochs walked so far (its manifest checked, its
    /// certificate not yet), and who offered exactly it (the first's certificate is the
    /// one checked): the walk goes on until it reaches its epoch or no peer has more proofs.
    pending: Option<(Offer, Vec<PublicKey>)>,
    /// Peers caught lying this round: never asked for parts.
    blocked: BTreeSet<PublicKey>,
}

struct Parts {
    offer: Offer,
    /// Peers that offered exactly this snapshot and were not caught lying.
    peers: Vec<PublicKey>,
    have: Vec<Option<Vec<u8>>>,
    bytes: u64,
    /// Chunks asked: window index → (peer, first asked, count asked, when).
    in_flight: BTreeMap<u32, (PublicKey, u32, u32, SystemTime)>,
    /// Next peer to ask (round robin).
    next: usize,
    /// Ticks in which a request of a peer expired since its last good answer: at
    /// [`MAX_TIMEOUTS`] it is asked no more (a peer that offers and withholds cannot stall
    /// the fetch).
    timeouts: BTreeMap<PublicKey, u32>,
}

/// What the consensus application must do after a snapshot message.
pub enum Outcome {
    /// Nothing.
    None,
    /// Send `Message` to one peer.
    Send(PublicKey, Message),
    /// Send `Message` to every peer.
    Broadcast(Message),
    /// Block this peer (it sent a tampered chunk or a bad offer).
    Block(PublicKey),
    /// Ask every peer for the block with this hash (`Wire::Want`).
    WantBlock(Hash),
}

impl Snapshots {
    /// Opens the kept snapshots (if serving) and starts a fetch if `config` asks for one
    /// and the store holds nothing but genesis. `tamper` (simulations of a bad server,
    /// `Behaviour::Serves(Serving::TamperedChunks)`): every chunk served with its first
    /// part's last byte flipped.
    pub fn open(config: &Config, tamper: bool, chain: &Chain) -> anyhow::Result<Self> {
        let db = config.dir.as_deref().map(open_db).transpose()?;
        let mut kept = BTreeMap::new();
        if let Some(db) = &db {
            let txn = db.begin_read()?;
            let table = txn.open_table(OFFERS)?;
            for item in table.iter()? {
                let (number, bytes) = item?;
                if let Ok(offer) = Offer::decode(&mut bytes.value()) {
                    let len = u32::try_from(offer.manifest.entries.len()).unwrap_or(u32::MAX);
                    kept.insert(number.value(), len);
                }
            }
        }
        let fetch = (config.sync == SyncMode::Snapshot && chain.head.number.get() == 0)
            .then(|| Fetch::Offers(Box::default()));
        if fetch.is_some() {
            info!("starting by snapshot sync: asking peers for their snapshots");
        }
        Ok(Self {
            every: config.every,
            tamper,
            db,
            kept,
            answered: AnswerBudget::new(MAX_ANSWERS_PER_SECOND),
            fetch,
            walk: None,
        })
    }

    /// Whether a fetch is under way (the application then neither commits nor syncs by
    /// certificates).
    pub fn fetching(&self) -> bool {
        self.fetch.is_some()
    }

    /// The numbers of the kept snapshots.
    pub fn kept(&self) -> Vec<u64> {
        self.kept.keys().copied().collect()
    }

    /// Called after a block is committed with its certificate: keeps its epoch proof if it
    /// is an epoch's last block, and the state if the block crosses a multiple of `every`
    /// since the last kept snapshot.
    pub fn committed(&mut self, chain: &Chain, certificate: Option<&[u8]>) {
        let (Some(db), Some(certificate)) = (&self.db, certificate) else { return };
        if let Some((epoch, proof)) = epoch_proof(chain, certificate) {
            match keep_proofs(db, &[(epoch, proof)]) {
                Ok(()) => debug!(epoch, "epoch proof kept"),
                Err(e) => warn!(epoch, "cannot keep an epoch proof: {e:#}"),
            }
        }
        let Some(every) = self.every else { return };
        let number = chain.head.number.get();
        let last = self.kept.keys().next_back().copied().unwrap_or(0);
        if number / every.get() <= last / every.get() {
            return;
        }
        let offer = Offer {
            header: chain.head.clone(),
            certificate: certificate.to_vec(),
            manifest: Manifest::of(&chain.state),
        };
        let len = u32::try_from(offer.manifest.entries.len()).unwrap_or(u32::MAX);
        let stale: Vec<u64> = self.kept.keys().rev().skip(KEPT_SNAPSHOTS - 1).copied().collect();
        let write = || -> anyhow::Result<()> {
            let txn = db.begin_write()?;
            {
                let mut parts = txn.open_table(PARTS)?;
                for old in &stale {
                    parts.retain_in((*old, 0)..=(*old, u32::MAX), |_, _| false)?;
                }
                for (index, (key, _)) in (0u32..).zip(chain.state.part_digests()) {
                    let bytes = chain.state.encode_part(key).unwrap_or_default();
                    parts.insert((number, index), bytes.as_slice())?;
                }
                let mut offers = txn.open_table(OFFERS)?;
                for old in &stale {
                    offers.remove(*old)?;
                }
                offers.insert(number, offer.encode().as_slice())?;
            }
            txn.commit()?;
            Ok(())
        };
        match write() {
            Ok(()) => {
                for old in stale {
                    self.kept.remove(&old);
                }
                self.kept.insert(number, len);
                debug!(number, parts = len, "snapshot kept");
            }
            Err(e) => warn!(number, "cannot keep a snapshot: {e:#}"),
        }
    }

    /// A request a peer sent: answered from the kept snapshots, within the peer's budget.
    fn serve(&mut self, peer: &PublicKey, message: Message, now: SystemTime) -> Outcome {
        if self.db.is_none()
            || matches!(message, Message::Offer(_) | Message::Parts { .. } | Message::Epochs { .. })
        {
            return Outcome::None;
        }
        // Counted before any work: requests over the budget cost a map lookup.
        if !self.answered.allows(peer, now) {
            debug!(%peer, "snapshot request over the peer's budget: dropped");
            return Outcome::None;
        }
        let Some(db) = &self.db else { return Outcome::None };
        let answer = match message {
            Message::WantOffer => {
                let Some(number) = self.kept.keys().next_back().copied() else {
                    return Outcome::None;
                };
                let read = || -> anyhow::Result<Option<Offer>> {
                    let txn = db.begin_read()?;
                    let table = txn.open_table(OFFERS)?;
                    let Some(bytes) = table.get(number)? else { return Ok(None) };
                    Ok(Some(Offer::decode(&mut bytes.value())?))
                };
                match read() {
                    Ok(Some(offer)) => Message::Offer(Box::new(offer)),
                    _ => return Outcome::None,
                }
            }
            Message::WantParts { number, first, count } => {
                let Some(len) = self.kept.get(&number).copied() else { return Outcome::None };
                let end = first.saturating_add(count.min(MAX_PARTS_PER_CHUNK)).min(len);
                if first >= end {
                    return Outcome::None;
                }
                let read = || -> anyhow::Result<Vec<Vec<u8>>> {
                    let txn = db.begin_read()?;
                    let table = txn.open_table(PARTS)?;
                    let mut parts: Vec<Vec<u8>> = Vec::new();
                    let mut bytes = 0usize;
                    for item in table.range((number, first)..(number, end))? {
                        let (_, value) = item?;
                        let value = value.value();
                        if !parts.is_empty() && bytes.saturating_add(value.len()) > CHUNK_BYTES {
                            break;
                        }
                        bytes = bytes.saturating_add(value.len());
                        parts.push(value.to_vec());
                    }
                    Ok(parts)
                };
                let Ok(mut parts) = read() else { return Outcome::None };
                if self.tamper {
                    if let Some(byte) = parts.first_mut().and_then(|p| p.last_mut()) {
                        *byte ^= 1;
                    }
                }
                Message::Parts { number, first, parts }
            }
            Message::WantEpochs { from } => {
                let Ok(mut proofs) = read_proofs(db, from) else { return Outcome::None };
                if self.tamper {
                    if let Some(byte) = proofs.first_mut().and_then(|p| p.sets.last_mut()) {
                        *byte ^= 1;
                    }
                }
                Message::Epochs { from, proofs }
            }
            Message::Offer(_) | Message::Parts { .. } | Message::Epochs { .. } => {
                return Outcome::None
            }
        };
        Outcome::Send(peer.clone(), answer)
    }

    /// A snapshot request or chunk from `peer` (offers: [`Self::receive_offer`]; epoch
    /// proofs: [`Self::receive_epochs`]).
    pub fn receive(&mut self, peer: &PublicKey, message: Message, now: SystemTime) -> Outcome {
        match message {
            Message::WantOffer | Message::WantParts { .. } | Message::WantEpochs { .. } => {
                self.serve(peer, message, now)
            }
            Message::Parts { number, first, parts } => self.parts(peer, number, first, parts),
            Message::Offer(_) | Message::Epochs { .. } => Outcome::None,
        }
    }

    /// Whether offers are being gathered (only then is an offer looked at).
    pub fn wants_offers(&self) -> bool {
        matches!(self.fetch, Some(Fetch::Offers(_)))
    }

    /// An offer from `peer`: kept if it is the newest so far and verifies (its manifest
    /// against its state root, its certificate under the set of its epoch: from `genesis`,
    /// or learned by the epoch walk, which an offer beyond the epochs walked so far starts
    /// or moves on).
    #[allow(clippy::too_many_arguments)]
    pub fn receive_offer(
        &mut self,
        peer: &PublicKey,
        offer: Offer,
        now: SystemTime,
        rng: &mut impl rand_core::CryptoRng,
        namespace: &[u8],
        genesis: &State,
        authorities: &[PublicKey],
    ) -> Vec<Outcome> {
        let Some(Fetch::Offers(gather)) = &mut self.fetch else {
            return Vec::new();
        };
        if gather.heard.contains(peer) || gather.heard.len() >= MAX_TRACKED_PEERS {
            return Vec::new();
        }
        gather.heard.insert(peer.clone());
        if self.walk.is_none() {
            self.walk = genesis_plan(genesis, authorities).map(Walk::new);
        }
        let Some(walk) = &mut self.walk else { return Vec::new() };
        let number = offer.header.number.get();
        if let Some(best) = &gather.best {
            // An older snapshot is not looked at; the one already verified is
            // only compared.
            if number < best.header.number.get() {
                return Vec::new();
            }
            if offer.header == best.header && offer.manifest == best.manifest {
                gather.peers.push(peer.clone());
                return Vec::new();
            }
        }
        let plan = match walk.plan_of(number) {
            Ok(Some(plan)) => plan.clone(),
            Ok(None) => {
                // Beyond the epochs walked: its manifest now, its certificate once the
                // walk reaches its epoch.
                if let Err(e) = offer.manifest.verify(&offer.header) {
                    warn!(%peer, number, "a snapshot offer refused: {e}");
                    return vec![Outcome::Block(peer.clone())];
                }
                match &mut gather.pending {
                    Some((pending, offerers))
                        if pending.header == offer.header && pending.manifest == offer.manifest =>
                    {
                        offerers.push(peer.clone());
                    }
                    Some((pending, _)) if number <= pending.header.number.get() => {}
                    _ => {
                        debug!(%peer, number, "a snapshot offer beyond the epochs walked so far");
                        gather.pending = Some((offer, vec![peer.clone()]));
                    }
                }
                return ask_epochs(walk, &gather.heard, Some(peer), now).into_iter().collect();
            }
            Err(()) => {
                debug!(%peer, number, "a snapshot offer older than the epochs walked");
                return Vec::new();
            }
        };
        let checked = offer.manifest.verify(&offer.header).and_then(|()| {
            verify_certificate(rng, namespace, &plan, &offer.header, &offer.certificate)
        });
        if let Err(e) = checked {
            warn!(%peer, number, "a snapshot offer refused: {e}");
            return vec![Outcome::Block(peer.clone())];
        }
        adopt(gather, offer, peer, now);
        Vec::new()
    }

    /// Epoch proofs from `peer`, the answer to the walk's request: each verified with the
    /// set the one before taught, kept, and the walk moved on; a proof that does not verify
    /// blocks its sender. Once the walk reaches the pending offer's epoch, its certificate
    /// is checked; until then the next proofs are asked for.
    pub fn receive_epochs(
        &mut self,
        peer: &PublicKey,
        from: u64,
        proofs: Vec<EpochProof>,
        now: SystemTime,
        rng: &mut impl rand_core::CryptoRng,
        namespace: &[u8],
    ) -> Vec<Outcome> {
        let (Some(Fetch::Offers(gather)), Some(walk)) = (&mut self.fetch, &mut self.walk) else {
            return Vec::new();
        };
        // Only the peer asked, for the epoch asked: verifying costs signature checks.
        let asked = walk.asked.as_ref().is_some_and(|(p, _)| p == peer);
        let Some(mut plan) = walk.newest().cloned() else { return Vec::new() };
        if !asked || from != plan.epoch {
            return Vec::new();
        }
        walk.asked = None;
        let mut out = Vec::new();
        let proofs = if proofs.len() > MAX_PROOFS_PER_ANSWER {
            warn!(%peer, proofs = proofs.len(), "an answer of more epoch proofs than asked");
            walk.exhausted.insert(peer.clone());
            gather.blocked.insert(peer.clone());
            gather.peers.retain(|p| p != peer);
            out.push(Outcome::Block(peer.clone()));
            Vec::new()
        } else {
            if proofs.is_empty() {
                walk.exhausted.insert(peer.clone());
            }
            proofs
        };
        let mut verified = Vec::new();
        for proof in proofs {
            let epoch = plan.epoch;
            match verify_epoch_proof(rng, namespace, &plan, &proof) {
                Ok(next) => {
                    walk.push(next.clone());
                    plan = next;
                    verified.push((epoch, proof));
                }
                Err(e) => {
                    warn!(%peer, epoch, "an epoch proof refused: {e}");
                    walk.exhausted.insert(peer.clone());
                    gather.blocked.insert(peer.clone());
                    gather.peers.retain(|p| p != peer);
                    out.push(Outcome::Block(peer.clone()));
                    break;
                }
            }
        }
        if let (Some(db), Some((first, _))) = (&self.db, verified.first()) {
            debug!(%peer, from = first, epochs = verified.len(), "epoch proofs verified");
            if let Err(e) = keep_proofs(db, &verified) {
                warn!("cannot keep epoch proofs: {e:#}");
            }
        }
        let Some((offer, offerers)) = gather.pending.take() else { return out };
        let (Some(offerer), number) = (offerers.first().cloned(), offer.header.number.get()) else {
            return out;
        };
        match walk.plan_of(number) {
            Ok(Some(plan)) => {
                match verify_certificate(rng, namespace, plan, &offer.header, &offer.certificate) {
                    Ok(()) => {
                        let header = offer.header.clone();
                        adopt(gather, offer, &offerer, now);
                        // The others offered exactly this header and manifest.
                        if gather.best.as_ref().is_some_and(|best| best.header == header) {
                            let others = offerers.into_iter().skip(1);
                            let fresh: Vec<_> =
                                others.filter(|p| !gather.blocked.contains(p)).collect();
                            gather.peers.extend(fresh);
                        }
                    }
                    Err(e) => {
                        warn!(peer = %offerer, number, "a snapshot offer refused: {e}");
                        gather.blocked.insert(offerer.clone());
                        out.push(Outcome::Block(offerer));
                    }
                }
            }
            Ok(None) => match ask_epochs(walk, &gather.heard, Some(peer), now) {
                Some(ask) => {
                    gather.pending = Some((offer, offerers));
                    out.push(ask);
                }
                None => debug!(number, "no peer proves the epoch of the offered snapshot"),
            },
            Err(()) => {}
        }
        out
    }

    fn parts(&mut self, peer: &PublicKey, number: u64, first: u32, parts: Vec<Vec<u8>>) -> Outcome {
        let Some(Fetch::Parts(fetch)) = &mut self.fetch else { return Outcome::None };
        if fetch.offer.header.number.get() != number {
            return Outcome::None;
        }
        let Some((window, (_, asked_first, asked, _))) =
            fetch.in_flight.iter().find(|(_, (p, f, _, _))| p == peer && *f == first)
        else {
            return Outcome::None;
        };
        let (window, asked_first, asked) = (*window, *asked_first, *asked);
        fetch.in_flight.remove(&window);
        if let Err(e) = verify_parts(&fetch.offer.manifest, asked_first, asked, first, &parts) {
            warn!(%peer, number, first, "a snapshot chunk refused, asked elsewhere: {e}");
            fetch.peers.retain(|p| p != peer);
            fetch.in_flight.retain(|_, (p, _, _, _)| p != peer);
            return Outcome::Block(peer.clone());
        }
        fetch.timeouts.remove(peer);
        for (index, part) in (first as usize..).zip(parts) {
            fetch.bytes = fetch.bytes.saturating_add(part.len() as u64);
            if let Some(slot) = fetch.have.get_mut(index) {
                *slot = Some(part);
            }
        }
        if fetch.bytes > MAX_SNAPSHOT_BYTES {
            warn!(number, "the snapshot is larger than this node holds; starting over");
            self.restart();
        }
        Outcome::None
    }

    fn restart(&mut self) {
        self.fetch = Some(Fetch::Offers(Box::default()));
    }

    /// Moves a fetch on: asks for offers, chooses one, asks for chunks (re-asking timed-out
    /// ones of another peer), assembles the state, asks for block H. Returns the messages
    /// to send.
    pub fn tick(&mut self, now: SystemTime) -> Vec<Outcome> {
        let since = |t: SystemTime| now.duration_since(t).unwrap_or_default();
        let mut out = Vec::new();
        let Some(fetch) = self.fetch.take() else { return out };
        self.fetch = Some(match fetch {
            Fetch::Offers(mut gather) => {
                // A walk request nobody answered: asked of another peer (none left: the
                // pending offer cannot be checked, and is dropped).
                if let Some(walk) = &mut self.walk {
                    if let Some((peer, _)) = walk.asked.take_if(|(_, at)| since(*at) >= ASK_TIMEOUT)
                    {
                        walk.exhausted.insert(peer);
                        match ask_epochs(walk, &gather.heard, None, now) {
                            Some(ask) => out.push(ask),
                            None => gather.pending = None,
                        }
                    }
                }
                if gather.first.is_some_and(|f| since(f) >= OFFER_WINDOW) {
                    choose(*gather)
                } else if gather.first.is_none()
                    && gather.pending.is_none()
                    && gather.asked.is_none_or(|asked| since(asked) >= OFFER_RETRY)
                {
                    if gather.rounds >= MAX_OFFER_ROUNDS {
                        warn!(
                            rounds = gather.rounds,
                            "no peer offers a snapshot this node can verify: syncing every block instead"
                        );
                        return out;
                    }
                    gather.rounds += 1;
                    gather.asked = Some(now);
                    gather.heard.clear();
                    out.push(Outcome::Broadcast(Message::WantOffer));
                    Fetch::Offers(gather)
                } else {
                    Fetch::Offers(gather)
                }
            }
            Fetch::Parts(mut parts) => {
                let number = parts.offer.header.number.get();
                // Peers with a request that expired in this tick (each counted once).
                let expired: BTreeSet<PublicKey> = parts
                    .in_flight
                    .values()
                    .filter(|(_, _, _, at)| since(*at) >= ASK_TIMEOUT)
                    .map(|(peer, _, _, _)| peer.clone())
                    .collect();
                parts.in_flight.retain(|_, (_, _, _, at)| since(*at) < ASK_TIMEOUT);
                for peer in expired {
                    let count = parts.timeouts.entry(peer.clone()).or_insert(0);
                    *count += 1;
                    if *count >= MAX_TIMEOUTS {
                        debug!(%peer, "a snapshot server that does not answer: asked no more");
                        parts.peers.retain(|p| *p != peer);
                    }
                }
                if parts.peers.is_empty() {
                    warn!(number, "no honest peer left for this snapshot; asking for offers again");
                    Fetch::Offers(Box::default())
                } else if parts.have.iter().all(Option::is_some) {
                    let have = std::mem::take(&mut parts.have);
                    let all = have.into_iter().map(Option::unwrap_or_default).collect();
                    match assemble(&parts.offer.manifest, all, &parts.offer.header) {
                        Ok(state) => {
                            info!(
                                number,
                                parts = parts.offer.manifest.entries.len(),
                                bytes = parts.bytes,
                                "snapshot state fetched and verified; fetching its block"
                            );
                            let hash = parts.offer.header.hash();
                            out.push(Outcome::WantBlock(hash));
                            Fetch::Block {
                                offer: Box::new(parts.offer),
                                state: Box::new(state),
                                asked: now,
                                tries: 1,
                            }
                        }
                        Err(e) => {
                            warn!(number, "the fetched snapshot does not make its state: {e}");
                            Fetch::Offers(Box::default())
                        }
                    }
                } else {
                    ask_chunks(&mut parts, now, &mut out);
                    Fetch::Parts(parts)
                }
            }
            Fetch::Block { offer, state, asked, tries } => {
                if since(asked) < ASK_TIMEOUT {
                    Fetch::Block { offer, state, asked, tries }
                } else if tries >= MAX_TIMEOUTS {
                    warn!(
                        number = offer.header.number.get(),
                        "no peer sends the snapshot's block; asking for offers again"
                    );
                    Fetch::Offers(Box::default())
                } else {
                    out.push(Outcome::WantBlock(offer.header.hash()));
                    Fetch::Block { offer, state, asked: now, tries: tries + 1 }
                }
            }
        });
        out.retain(|o| !matches!(o, Outcome::None));
        out
    }

    /// The block of the snapshot being fetched, once one is chosen (its certificate
    /// verified): what `tao_syncState` reports as the highest block seen meanwhile.
    pub fn target(&self) -> Option<u64> {
        match &self.fetch {
            Some(Fetch::Parts(parts)) => Some(parts.offer.header.number.get()),
            Some(Fetch::Block { offer, .. }) => Some(offer.header.number.get()),
            _ => None,
        }
    }

    /// The hash of the block the fetch waits for, if it does.
    pub fn wanted_block(&self) -> Option<Hash> {
        match &self.fetch {
            Some(Fetch::Block { offer, .. }) => Some(offer.header.hash()),
            _ => None,
        }
    }

    /// Block H arrived: if it is the offer's block, the snapshot is installed in the store
    /// (one transaction) and the chain moves to it. Returns its number when it did.
    pub fn install(&mut self, chain: &mut Chain, block: &Block) -> anyhow::Result<Option<u64>> {
        let Some(Fetch::Block { offer, .. }) = &self.fetch else { return Ok(None) };
        if block.header != offer.header || check_block_body(block).is_err() {
            return Ok(None);
        }
        let Some(Fetch::Block { offer, state, .. }) = self.fetch.take() else { return Ok(None) };
        let number = block.header.number.get();
        chain.store.install_snapshot(block, &state, &offer.certificate)?;
        chain.state = *state;
        chain.head = block.header.clone();
        chain.mempool.prune(&chain.state);
        info!(number, state_root = %block.header.state_root, "snapshot installed: following the chain from here");
        Ok(Some(number))
    }
}

/// A verified offer: the round's best if it is the newest (a second verified offer of the
/// same block only adds its peer).
fn adopt(gather: &mut Gather, offer: Offer, peer: &PublicKey, now: SystemTime) {
    if gather.blocked.contains(peer) {
        return;
    }
    let number = offer.header.number.get();
    debug!(%peer, number, "a snapshot offer");
    gather.first.get_or_insert(now);
    match &gather.best {
        Some(best) if best.header.number.get() > number => {}
        Some(best) if best.header == offer.header => {
            // The same block, another (also verified) manifest: impossible for digests
            // that hash to one root in one order; only exactly the best's offerers serve.
            if best.manifest == offer.manifest {
                gather.peers.push(peer.clone());
            }
        }
        _ => {
            gather.best = Some(offer);
            gather.peers = vec![peer.clone()];
        }
    }
}

/// Asks one peer for the epoch proofs from the walk's newest epoch on, unless a request is
/// out: `prefer` if it has not run out of proofs, else another peer heard this round.
fn ask_epochs(
    walk: &mut Walk,
    heard: &BTreeSet<PublicKey>,
    prefer: Option<&PublicKey>,
    now: SystemTime,
) -> Option<Outcome> {
    if walk.asked.is_some() {
        return None;
    }
    let from = walk.newest()?.epoch;
    let fresh = |p: &&PublicKey| !walk.exhausted.contains(*p);
    let peer = prefer.filter(fresh).or_else(|| heard.iter().find(fresh))?.clone();
    walk.asked = Some((peer.clone(), now));
    Some(Outcome::Send(peer, Message::WantEpochs { from }))
}

/// Keeps verified (or own) epoch proofs by epoch.
fn keep_proofs(db: &Database, proofs: &[(u64, EpochProof)]) -> anyhow::Result<()> {
    let txn = db.begin_write()?;
    {
        let mut table = txn.open_table(EPOCH_PROOFS)?;
        for (epoch, proof) in proofs {
            table.insert(*epoch, proof.encode().as_slice())?;
        }
    }
    txn.commit()?;
    Ok(())
}

/// The kept proofs of epochs `from`, `from + 1`, … as long as they are consecutive: at most
/// [`MAX_PROOFS_PER_ANSWER`], and no more than [`CHUNK_BYTES`] after the first.
fn read_proofs(db: &Database, from: u64) -> anyhow::Result<Vec<EpochProof>> {
    let txn = db.begin_read()?;
    let table = txn.open_table(EPOCH_PROOFS)?;
    let mut proofs = Vec::new();
    let mut bytes = 0usize;
    for (expected, item) in (from..).zip(table.range(from..)?) {
        let (epoch, value) = item?;
        let value = value.value();
        if epoch.value() != expected
            || proofs.len() >= MAX_PROOFS_PER_ANSWER
            || (!proofs.is_empty() && bytes.saturating_add(value.len()) > CHUNK_BYTES)
        {
            break;
        }
        bytes = bytes.saturating_add(value.len());
        proofs.push(EpochProof::decode(&mut &value[..])?);
    }
    Ok(proofs)
}

/// Chooses the newest offered snapshot; its offerers (those that offered exactly it) are
/// asked for its parts.
fn choose(gather: Gather) -> Fetch {
    let Gather { best: Some(offer), mut peers, .. } = gather else {
        return Fetch::Offers(Box::default());
    };
    peers.sort();
    peers.dedup();
    let (number, hash) = (offer.header.number.get(), offer.header.hash());
    info!(number, %hash, peers = peers.len(), parts = offer.manifest.entries.len(), "fetching a snapshot");
    let have = vec![None; offer.manifest.entries.len()];
    Fetch::Parts(Box::new(Parts {
        offer,
        peers,
        have,
        bytes: 0,
        in_flight: BTreeMap::new(),
        next: 0,
        timeouts: BTreeMap::new(),
    }))
}

/// Asks for the missing parts, window by window ([`MAX_PARTS_PER_CHUNK`] parts a window), at
/// most [`MAX_IN_FLIGHT`] at once, each of the next peer in turn.
fn ask_chunks(parts: &mut Parts, now: SystemTime, out: &mut Vec<Outcome>) {
    let number = parts.offer.header.number.get();
    let len = u32::try_from(parts.have.len()).unwrap_or(u32::MAX);
    let windows = len.div_ceil(MAX_PARTS_PER_CHUNK);
    for window in 0..windows {
        if parts.in_flight.len() >= MAX_IN_FLIGHT {
            return;
        }
        if parts.in_flight.contains_key(&window) {
            continue;
        }
        let start = window * MAX_PARTS_PER_CHUNK;
        let end = start.saturating_add(MAX_PARTS_PER_CHUNK).min(len);
        let Some(first) = (start..end).find(|i| parts.have[*i as usize].is_none()) else {
            continue;
        };
        let peer = parts.peers[parts.next % parts.peers.len()].clone();
        parts.next = parts.next.wrapping_add(1);
        let count = end - first;
        parts.in_flight.insert(window, (peer.clone(), first, count, now));
        out.push(Outcome::Send(peer, Message::WantParts { number, first, count }));
    }
}

fn open_db(dir: &Path) -> anyhow::Result<Database> {
    std::fs::create_dir_all(dir)?;
    let db = Database::create(dir.join("snapshots.redb"))?;
    let txn = db.begin_write()?;
    txn.open_table(OFFERS)?;
    txn.open_table(PARTS)?;
    txn.open_table(EPOCH_PROOFS)?;
    txn.commit()?;
    Ok(db)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tao_primitives::BlockNumber;

    fn state() -> State {
        tao_runtime::genesis(&crate::dev_genesis().unwrap()).unwrap()
    }

    fn header(state: &State) -> Header {
        Header {
            number: BlockNumber::new(10),
            parent_hash: Hash::default(),
            state_root: state.state_root(),
            transactions_root: Hash::default(),
            timestamp_ms: 0,
        }
    }

    fn parts(state: &State) -> Vec<Vec<u8>> {
        state.part_digests().into_iter().map(|(k, _)| state.encode_part(k).unwrap()).collect()
    }

    #[test]
    fn a_state_goes_through_its_manifest_and_chunks_and_back() {
        let state = state();
        let header = header(&state);
        let manifest = Manifest::of(&state);
        manifest.verify(&header).unwrap();
        let all = parts(&state);
        for first in (0..all.len()).step_by(MAX_PARTS_PER_CHUNK as usize) {
            let end = (first + MAX_PARTS_PER_CHUNK as usize).min(all.len());
            let count = (end - first) as u32;
            verify_parts(&manifest, first as u32, count, first as u32, &all[first..end]).unwrap();
        }
        let back = assemble(&manifest, all, &header).unwrap();
        assert_eq!(back.state_root(), state.state_root());
        assert_eq!(back.part_digests(), state.part_digests());
    }

    #[test]
    fn a_tampered_part_is_refused_with_its_index() {
        let state = state();
        let manifest = Manifest::of(&state);
        let mut all = parts(&state);
        all[3].push(0);
        assert_eq!(
            verify_parts(&manifest, 0, 10, 0, &all[..10]),
            Err(SnapshotError::Tampered { index: 3 })
        );
        // A part moved to another place: it does not hash to that place's digest.
        let mut all = parts(&state);
        all[0] = all[1].clone();
        all[0].push(1);
        assert!(matches!(
            verify_parts(&manifest, 0, 2, 0, &all[..2]),
            Err(SnapshotError::Tampered { index: 0 })
        ));
    }

    #[test]
    fn answers_of_the_wrong_range_or_size_are_refused() {
        let state = state();
        let manifest = Manifest::of(&state);
        let all = parts(&state);
        let n = all.len() as u32;
        // Empty, more than asked, another first part, beyond the manifest.
        for (asked_first, asked, first, range) in [
            (0, 4, 0, 0..0),
            (0, 4, 0, 0..5),
            (0, 4, 1, 1..5),
            (n - 2, 4, n - 2, (n as usize - 2)..(n as usize)),
        ] {
            let mut answer = all[range].to_vec();
            if asked_first == n - 2 {
                answer.push(vec![0]);
            }
            assert!(
                matches!(
                    verify_parts(&manifest, asked_first, asked, first, &answer),
                    Err(SnapshotError::BadRange { .. })
                ),
                "{asked_first} {asked} {first}"
            );
        }
    }

    #[test]
    fn a_manifest_out_of_order_or_with_another_root_or_unknown_key_is_refused() {
        let state = state();
        let header = header(&state);
        let manifest = Manifest::of(&state);

        let mut swapped = manifest.clone();
        swapped.entries.swap(1, 2);
        assert_eq!(swapped.verify(&header), Err(SnapshotError::OutOfOrder(StatePart::Accounts(0))));

        let mut twice = manifest.clone();
        let dup = twice.entries[1].clone();
        twice.entries.insert(1, dup);
        assert!(matches!(twice.verify(&header), Err(SnapshotError::OutOfOrder(_))));

        let mut wrong = manifest.clone();
        wrong.entries[5].digest = Hash([9; 32]);
        assert!(matches!(wrong.verify(&header), Err(SnapshotError::RootMismatch { .. })));

        let mut unknown = manifest.clone();
        unknown.entries[0].key = vec![0x42];
        assert_eq!(unknown.verify(&header), Err(SnapshotError::UnknownKey(vec![0x42])));

        let too_many =
            Manifest { entries: vec![manifest.entries[0].clone(); MAX_MANIFEST_PARTS + 1] };
        assert_eq!(too_many.verify(&header), Err(SnapshotError::Oversize(MAX_MANIFEST_PARTS + 1)));
    }

    #[test]
    fn a_manifest_missing_a_part_is_refused() {
        let state = state();
        let header = header(&state);
        let mut manifest = Manifest::of(&state);
        let mut all = parts(&state);
        // Dropping a part changes the root the digests hash to.
        manifest.entries.remove(7);
        assert!(matches!(manifest.verify(&header), Err(SnapshotError::RootMismatch { .. })));
        // Even a manifest whose root matched could not make a state without the part.
        all.remove(7);
        assert!(matches!(assemble(&manifest, all, &header), Err(SnapshotError::Parts(_))));
    }

    /// A fetch of `state`'s snapshot from `peers` (the offer already chosen).
    fn fetching(state: &State, peers: &[PublicKey]) -> Snapshots {
        let offer =
            Offer { header: header(state), certificate: Vec::new(), manifest: Manifest::of(state) };
        let gather = Gather { best: Some(offer), peers: peers.to_vec(), ..Gather::default() };
        Snapshots {
            every: None,
            tamper: false,
            db: None,
            kept: BTreeMap::new(),
            answered: AnswerBudget::new(MAX_ANSWERS_PER_SECOND),
            fetch: Some(choose(gather)),
            walk: None,
        }
    }

    fn key(seed: u64) -> PublicKey {
        use commonware_cryptography::Signer as _;
        commonware_cryptography::ed25519::PrivateKey::from_seed(seed).public_key()
    }

    fn asks(out: &[Outcome]) -> Vec<(PublicKey, u32)> {
        out.iter()
            .filter_map(|o| match o {
                Outcome::Send(peer, Message::WantParts { first, .. }) => {
                    Some((peer.clone(), *first))
                }
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_tampered_chunk_blocks_its_sender_and_is_asked_of_another_peer() {
        let state = state();
        let all = parts(&state);
        let (a, b) = (key(1), key(2));
        let mut peers = vec![a.clone(), b.clone()];
        peers.sort();
        let mut snapshots = fetching(&state, &peers);
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(100);
        let first = asks(&snapshots.tick(t0));
        assert_eq!(first.len(), MAX_IN_FLIGHT);
        let (liar, start) = first[0].clone();
        let mut bad = all[start as usize..start as usize + 3].to_vec();
        bad[1] = vec![0xff];
        let outcome = snapshots.parts(&liar, 10, start, bad);
        assert!(matches!(outcome, Outcome::Block(ref p) if *p == liar));
        // Its other windows are dropped too; the next asks go to the other peer only.
        let again = asks(&snapshots.tick(t0 + Duration::from_millis(25)));
        assert!(again.iter().any(|(_, f)| *f == start), "the window is asked again");
        assert!(again.iter().all(|(p, _)| *p != liar), "never of the liar");
        // A late answer from the liar is not even looked at.
        let late = snapshots.parts(&liar, 10, start, all[start as usize..][..1].to_vec());
        assert!(matches!(late, Outcome::None));
        // Honest answers fill the state; then block 10 is asked for.
        let honest = peers.iter().find(|p| **p != liar).unwrap().clone();
        let mut now = t0 + Duration::from_millis(50);
        let mut rounds = 0;
        while snapshots.wanted_block().is_none() {
            let out = snapshots.tick(now);
            for (peer, first) in asks(&out) {
                assert_eq!(peer, honest);
                let end = (first + MAX_PARTS_PER_CHUNK).min(all.len() as u32) as usize;
                let answer = all[first as usize..end].to_vec();
                assert!(matches!(snapshots.parts(&peer, 10, first, answer), Outcome::None));
            }
            now += Duration::from_millis(25);
            rounds += 1;
            assert!(rounds < 100, "the fetch completes");
        }
        assert_eq!(snapshots.target(), Some(10));
    }

    #[test]
    fn peers_that_never_answer_are_dropped_and_offers_asked_again() {
        let state = state();
        let mut snapshots = fetching(&state, &[key(1)]);
        let mut now = SystemTime::UNIX_EPOCH + Duration::from_secs(100);
        for _ in 0..MAX_TIMEOUTS {
            assert!(!asks(&snapshots.tick(now)).is_empty());
            now += ASK_TIMEOUT;
        }
        let out = snapshots.tick(now);
        assert!(asks(&out).is_empty());
        assert!(matches!(snapshots.fetch, Some(Fetch::Offers(_))), "back to gathering offers");
        // The offers are asked for again, and after rounds with none the fetch is given up
        // (the node syncs every block).
        let mut asked = 0;
        for _ in 0..=MAX_OFFER_ROUNDS {
            let out = snapshots.tick(now);
            asked +=
                out.iter().filter(|o| matches!(o, Outcome::Broadcast(Message::WantOffer))).count();
            now += OFFER_RETRY;
        }
        assert_eq!(asked, MAX_OFFER_ROUNDS as usize);
        assert!(!snapshots.fetching());
    }

    /// A finalization of block `hash` in `epoch`, signed by `signers` of the set `keys`.
    fn certify(
        namespace: &[u8],
        signers: &[commonware_cryptography::ed25519::PrivateKey],
        keys: &[PublicKey],
        epoch: u64,
        hash: Hash,
    ) -> Vec<u8> {
        use commonware_consensus::{
            simplex::types::{Finalize, Proposal},
            types::{Round, View},
        };
        let participants = commonware_utils::ordered::Set::try_from(keys.to_vec()).unwrap();
        let round = Round::new(Epoch::new(epoch), View::new(5));
        let proposal = Proposal::new(round, View::new(4), crate::consensus::digest(&hash));
        let votes: Vec<Finalize<Scheme, Digest>> = signers
            .iter()
            .map(|signer| {
                let scheme =
                    Scheme::signer(namespace, participants.clone(), signer.clone()).unwrap();
                Finalize::sign(&scheme, proposal.clone()).unwrap()
            })
            .collect();
        let scheme = Scheme::verifier(namespace, participants);
        let votes = commonware_utils::iter::NonEmpty::try_new(votes.iter()).unwrap();
        let finalization =
            Finalization::from_finalizes(&scheme, votes, &commonware_parallel::Sequential).unwrap();
        commonware_codec::Encode::encode(&finalization).to_vec()
    }

    #[test]
    fn certificates_verify_only_for_their_block_epoch_and_the_genesis_set() {
        use commonware_cryptography::{ed25519, Signer as _};
        use commonware_runtime::Runner as _;
        let signers: Vec<ed25519::PrivateKey> =
            (0..8).map(ed25519::PrivateKey::from_seed).collect();
        let mut keys: Vec<PublicKey> = signers[..4].iter().map(|s| s.public_key()).collect();
        keys.sort();
        let mut others: Vec<PublicKey> = signers[4..].iter().map(|s| s.public_key()).collect();
        others.sort();
        let mut config = crate::dev_genesis().unwrap();
        config.authorities = keys.iter().map(crate::consensus::public_key_hex).collect();
        let genesis = tao_runtime::genesis(&config).unwrap();
        let namespace = crate::consensus::namespace(&genesis.genesis_hash());
        let header = header(&genesis);
        let hash = header.hash();
        commonware_runtime::deterministic::Runner::default().start(|mut rng| async move {
            let plan = genesis_plan(&genesis, &keys).unwrap();
            let mut check = |certificate: &[u8]| {
                verify_certificate(&mut rng, &namespace, &plan, &header, certificate)
            };
            let refused = Err(SnapshotError::Certificate(10));
            // A quorum (3 of 4) of the genesis set, for this block in epoch 0.
            assert_eq!(check(&certify(&namespace, &signers[..3], &keys, 0, hash)), Ok(()));
            // Another block, another epoch, another set, another chain, garbage.
            let another = Hash([1; 32]);
            assert_eq!(check(&certify(&namespace, &signers[..3], &keys, 0, another)), refused);
            assert_eq!(check(&certify(&namespace, &signers[..3], &keys, 1, hash)), refused);
            assert_eq!(check(&certify(&namespace, &signers[4..7], &others, 0, hash)), refused);
            let elsewhere = crate::consensus::namespace(&Hash([9; 32]));
            assert_eq!(check(&certify(&elsewhere, &signers[..3], &keys, 0, hash)), refused);
            assert_eq!(check(&[0xff; 40]), refused);
            let mut cut = certify(&namespace, &signers[..3], &keys, 0, hash);
            cut.pop();
            assert_eq!(check(&cut), refused);
        });
    }

    /// A proof-of-stake dev genesis whose validators are `signers`, with 20-block epochs.
    fn pos_genesis(
        signers: &[commonware_cryptography::ed25519::PrivateKey],
    ) -> tao_types::GenesisConfig {
        use commonware_cryptography::Signer as _;
        let mut config = crate::dev_genesis().unwrap();
        config.authorities.clear();
        for (i, signer) in signers.iter().enumerate() {
            let controller = tao_primitives::AccountId::new([i as u8 + 1; 32]);
            let tao = |n: u64| tao_primitives::Rao::new(n * 1_000_000_000);
            config
                .balances
                .push(tao_types::GenesisBalance { account: controller, rao: tao(100_000) });
            config.validators.push(tao_types::GenesisValidator {
                controller,
                consensus_key: epochs::consensus_key(&signer.public_key()),
                p2p_address: format!("127.0.0.1:{}", 30_000 + i),
                bond: tao(10_000),
                commission: 1_000,
            });
        }
        config.consensus = Some(tao_types::GenesisConsensus {
            epoch_length: Some(20),
            ..tao_types::GenesisConsensus::default()
        });
        config
    }

    /// On a proof-of-stake chain a new node knows epoch 0's set from genesis: a snapshot in
    /// epoch 0 is checked against it, one of a later epoch is `UnknownEpoch` (not a lie).
    #[test]
    fn on_proof_of_stake_only_epoch_0_certificates_can_be_checked_from_genesis() {
        use commonware_cryptography::{ed25519, Signer as _};
        use commonware_runtime::Runner as _;
        let signers: Vec<ed25519::PrivateKey> =
            (0..4).map(ed25519::PrivateKey::from_seed).collect();
        let mut keys: Vec<PublicKey> = signers.iter().map(|s| s.public_key()).collect();
        keys.sort();
        let genesis = tao_runtime::genesis(&pos_genesis(&signers)).unwrap();
        assert!(epochs::elects(&genesis));
        let namespace = crate::consensus::namespace(&genesis.genesis_hash());
        let mut in_epoch_0 = header(&genesis);
        in_epoch_0.number = BlockNumber::new(20);
        let mut in_epoch_1 = header(&genesis);
        in_epoch_1.number = BlockNumber::new(21);
        commonware_runtime::deterministic::Runner::default().start(|mut rng| async move {
            let ok = certify(&namespace, &signers[..3], &keys, 0, in_epoch_0.hash());
            let plan = genesis_plan(&genesis, &[]).unwrap();
            let check = |rng: &mut _, header: &Header, certificate: &[u8]| {
                verify_certificate(rng, &namespace, &plan, header, certificate)
            };
            assert_eq!(check(&mut rng, &in_epoch_0, &ok), Ok(()));
            let later = certify(&namespace, &signers[..3], &keys, 1, in_epoch_1.hash());
            assert_eq!(check(&mut rng, &in_epoch_1, &later), Err(SnapshotError::UnknownEpoch(21)));
        });
    }

    /// The epoch walk's step: epoch 0's last block, certified by epoch 0's set, with the two
    /// parts of the state after it, teaches epoch 1's set and last block; every forgery of
    /// a piece is refused.
    #[test]
    fn an_epoch_proof_teaches_the_next_set_and_every_forged_piece_is_refused() {
        use commonware_cryptography::{ed25519, Signer as _};
        use commonware_runtime::Runner as _;
        let signers: Vec<ed25519::PrivateKey> =
            (0..4).map(ed25519::PrivateKey::from_seed).collect();
        let mut keys: Vec<PublicKey> = signers.iter().map(|s| s.public_key()).collect();
        keys.sort();
        let dir = std::env::temp_dir().join(format!("tao-epoch-proof-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut chain = Chain::open(&dir, &pos_genesis(&signers)).unwrap();
        let namespace = crate::consensus::namespace(&chain.state.genesis_hash());
        let plan = genesis_plan(&chain.state, &[]).unwrap();
        assert_eq!((plan.epoch, plan.last), (0, Some(20)));
        for _ in 0..19 {
            let timestamp = chain.head.timestamp_ms + 12_000;
            chain.produce(timestamp).unwrap();
            assert!(epoch_proof(&chain, &[1]).is_none(), "not an epoch's last block");
        }
        let timestamp = chain.head.timestamp_ms + 12_000;
        chain.produce(timestamp).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        commonware_runtime::deterministic::Runner::default().start(|mut rng| async move {
            let certificate = certify(&namespace, &signers[..3], &keys, 0, chain.head.hash());
            let (epoch, proof) = epoch_proof(&chain, &certificate).unwrap();
            assert_eq!((epoch, proof.header.number.get()), (0, 20));
            let next = verify_epoch_proof(&mut rng, &namespace, &plan, &proof).unwrap();
            assert_eq!((next.epoch, next.last, &next.participants), (1, Some(40), &keys));
            let refused = |rng: &mut _, proof: &EpochProof| {
                verify_epoch_proof(rng, &namespace, &plan, proof).unwrap_err()
            };
            // The next set's part, or the epochs' part, not the state's.
            let mut forged = proof.clone();
            *forged.sets.last_mut().unwrap() ^= 1;
            assert!(matches!(refused(&mut rng, &forged), SnapshotError::EpochProof { .. }));
            let mut forged = proof.clone();
            forged.consensus.push(0);
            assert!(matches!(refused(&mut rng, &forged), SnapshotError::EpochProof { .. }));
            // A manifest made up to fit forged parts no longer hashes to the state root.
            let mut forged = proof.clone();
            forged.sets.push(0);
            let key = StatePart::ValidatorSets.to_bytes();
            let entry = forged.manifest.entries.iter_mut().find(|e| e.key == key).unwrap();
            entry.digest = blake2_256(&forged.sets);
            assert!(matches!(refused(&mut rng, &forged), SnapshotError::RootMismatch { .. }));
            // A certificate of another set, of another epoch; a block not the last.
            let strangers: Vec<ed25519::PrivateKey> =
                (10..14).map(ed25519::PrivateKey::from_seed).collect();
            let mut their_keys: Vec<PublicKey> = strangers.iter().map(|s| s.public_key()).collect();
            their_keys.sort();
            let mut forged = proof.clone();
            forged.certificate =
                certify(&namespace, &strangers[..3], &their_keys, 0, chain.head.hash());
            assert_eq!(refused(&mut rng, &forged), SnapshotError::Certificate(20));
            let mut forged = proof.clone();
            forged.certificate = certify(&namespace, &signers[..3], &keys, 1, chain.head.hash());
            assert_eq!(refused(&mut rng, &forged), SnapshotError::Certificate(20));
            let early = EpochPlan { last: Some(19), ..plan.clone() };
            assert!(matches!(
                verify_epoch_proof(&mut rng, &namespace, &early, &proof),
                Err(SnapshotError::EpochProof { epoch: 0, .. })
            ));
        });
    }

    /// An answer of more epoch proofs than any honest server sends blocks its sender
    /// unread; an answer from a peer that was not asked, or for another epoch, is ignored.
    #[test]
    fn an_answer_of_too_many_epoch_proofs_blocks_its_sender_unread() {
        use commonware_runtime::Runner as _;
        let state = state();
        let (asked, stranger) = (key(1), key(2));
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(100);
        let plan = EpochPlan { epoch: 0, last: Some(20), participants: vec![key(3)] };
        let mut walk = Walk::new(plan);
        walk.asked = Some((asked.clone(), t0));
        let gather = Gather { heard: [asked.clone()].into(), ..Gather::default() };
        let mut snapshots = fetching(&state, &[]);
        snapshots.fetch = Some(Fetch::Offers(Box::new(gather)));
        snapshots.walk = Some(walk);
        let junk = EpochProof {
            header: header(&state),
            certificate: Vec::new(),
            manifest: Manifest { entries: Vec::new() },
            consensus: Vec::new(),
            sets: Vec::new(),
        };
        commonware_runtime::deterministic::Runner::default().start(|mut rng| async move {
            let many = vec![junk; MAX_PROOFS_PER_ANSWER + 1];
            let ns = b"tao";
            let out = snapshots.receive_epochs(&stranger, 0, many.clone(), t0, &mut rng, ns);
            assert!(out.is_empty(), "not asked: ignored");
            let out = snapshots.receive_epochs(&asked, 1, many.clone(), t0, &mut rng, ns);
            assert!(out.is_empty(), "another epoch: ignored");
            let out = snapshots.receive_epochs(&asked, 0, many, t0, &mut rng, ns);
            assert!(matches!(out.as_slice(), [Outcome::Block(p)] if *p == asked), "blocked");
            let walk = snapshots.walk.as_ref().unwrap();
            assert_eq!(walk.newest().map(|p| p.epoch), Some(0), "nothing was learned");
        });
    }

    #[test]
    fn an_answer_budget_refuses_a_peer_past_its_rate_until_the_next_second() {
        let mut budget = AnswerBudget::new(3);
        let (a, b) = (key(1), key(2));
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(100);
        assert!((0..3).all(|_| budget.allows(&a, t0)));
        assert!(!budget.allows(&a, t0 + Duration::from_millis(900)), "the fourth in a second");
        assert!(budget.allows(&b, t0), "another peer has its own budget");
        assert!(budget.allows(&a, t0 + Duration::from_secs(1)), "a new second");
        // The map stays bounded: past MAX_TRACKED_PEERS it starts over.
        for seed in 10..10 + MAX_TRACKED_PEERS as u64 {
            budget.allows(&key(seed), t0);
        }
        assert!(budget.counts.len() <= MAX_TRACKED_PEERS);
    }

    #[test]
    fn sync_modes_parse() {
        assert_eq!("full".parse::<SyncMode>(), Ok(SyncMode::Full));
        assert_eq!("snapshot".parse::<SyncMode>(), Ok(SyncMode::Snapshot));
        assert!("fast".parse::<SyncMode>().is_err());
    }
}
