//! BFT consensus: the tao chain as the application of commonware's `simplex` engine.
//!
//! The engine orders digests; this module gives them meaning. A digest is the hash of a
//! block header. The leader of a view builds a block on the view's parent (executing the
//! pool's ready transactions on the parent's post-state; the header carries the state root)
//! and broadcasts it on the block channel. Every other validator votes for it only after it
//! has the block, its transactions match the transactions root, and re-executing them on
//! the parent's post-state gives the header's state root (`verify`). When the engine
//! reports a finalization, the finalized block and any of its ancestors not yet committed
//! are committed to the store in height order, and only then announced.
//!
//! Blocks that are notarized but not finalized live in memory with their post-states. A
//! validator missing a block (it was down, or the broadcast was lost) asks its peers for it
//! by hash and walks back parent by parent until it reaches its own head; blocks are only
//! accepted by hash, and the chain of hashes ends at a finalized digest, so a peer cannot
//! feed it a block that was not finalized.
//!
//! Everything here is generic over the commonware runtime (a deterministic simulation in
//! tests, tokio in the binary) and over the p2p channels (a simulated network in tests,
//! the authenticated `lookup` network on real sockets).

use crate::{
    chain::{build_block, check_block, check_block_body, MAX_BUILD_CANDIDATES},
    epochs::{self, EpochPlan, Peers},
    mempool::VerifiedTransaction,
    rpc::Node,
};
use codec::{Decode, Encode};
use commonware_actor::Feedback;
use commonware_consensus::{
    simplex::{
        self,
        elector::RoundRobin,
        types::{Activity, Attributable as _, Context, Finalization},
        Plan,
    },
    types::{Epoch, ViewDelta},
    Automaton, CertifiableAutomaton, Epochable as _, Relay, Reporter, Viewable as _,
};
use commonware_cryptography::{ed25519, sha256, Signer as _};
use commonware_p2p::{
    utils::mux::{MuxHandle, Muxer},
    Blocker, Receiver, Recipients, Sender,
};
use commonware_runtime::{buffer::paged::CacheRef, Clock, Handle, Metrics, Spawner, Storage};
use rand_core::CryptoRng;
use std::{
    collections::{BTreeMap, BTreeSet},
    num::{NonZeroU16, NonZeroUsize},
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};
use tao_runtime::{BlockOutcome, State};
use tao_types::{
    Block, ConsensusKey, ConsensusSignature, Equivocation, FinalityCredit, Hash, Header,
    SignedTransaction,
};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, error, info, warn};

/// What the engine agrees on: a block header's hash.
pub type Digest = sha256::Digest;
/// A validator's consensus identity (ed25519; accounts keep their sr25519 keys).
pub type PublicKey = ed25519::PublicKey;
/// The signing scheme: each vote is an ed25519 signature; a certificate is a quorum of them.
pub type Scheme = simplex::scheme::ed25519::Scheme;

/// The p2p channels a validator runs on, in this order on every transport.
pub mod channels {
    /// Votes.
    pub const VOTES: u64 = 0;
    /// Certificates (notarizations, nullifications, finalizations).
    pub const CERTIFICATES: u64 = 1;
    /// The engine's requests for certificates it missed.
    pub const RESOLVER: u64 = 2;
    /// Blocks, requests for blocks by hash, and gossiped transactions.
    pub const BLOCKS: u64 = 3;
}

/// Largest message on any channel: a block at the block limits
/// ([`crate::chain::MAX_BLOCK_BYTES`]) fits with room to spare.
pub const MAX_MESSAGE_SIZE: u32 = 4 * 1024 * 1024;

/// How many unfinalized blocks a validator keeps (bounds the `invalid` and `wanted` sets
/// too).
const MAX_PENDING_BLOCKS: usize = 4_096;

/// How many blocks nobody asked for a validator keeps from one peer: an honest leader
/// sends one per view it leads, and only a few views are ever open at once.
const MAX_UNSOLICITED_PER_PEER: usize = 16;

/// How far above the finalized head an unsolicited block may be.
const MAX_UNSOLICITED_AHEAD: u64 = 256;

/// How long before asking the network again for a block nobody sent.
const WANT_RETRY: Duration = Duration::from_millis(500);

/// How long without a committed block before a node asks its peers for a finalization
/// certificate above its head (it was down, it is not in the epoch's set, or the network
/// moved to an epoch whose engine it has not started), and how often it asks again.
const SYNC_AFTER: Duration = Duration::from_secs(2);

/// [`SYNC_AFTER`] for a node whose head is still genesis (it just started empty, or the
/// chain has not begun): it asks this often, so a new node does not wait 2 s, and asks
/// again soon if its first ask went out before its peers were connected.
const SYNC_FRESH: Duration = Duration::from_millis(500);

/// How soon a node that is catching up by certificates asks for the next one, once the
/// blocks behind the last are committed (it does not wait for its head to stall).
const SYNC_NEXT: Duration = Duration::from_millis(100);

/// The store's metadata key of the current epoch's floor (epoch LE u64, block hash).
const META_FLOOR: &str = "consensus_floor";

/// The largest validator set a certificate may name (bounds its decoding).
pub(crate) const MAX_PARTICIPANTS: usize = 1_024;

/// The engine's digest of a block header hash.
pub fn digest(hash: &Hash) -> Digest {
    sha256::Digest(hash.0)
}

/// The block header hash a digest names.
pub fn block_hash(digest: &Digest) -> Hash {
    Hash(digest.0)
}

/// The domain all consensus signatures of one chain are made in: a vote on one chain is
/// worthless on another. `genesis` is the chain's genesis hash (the one its transactions
/// sign, `State::genesis_hash`), so the runtime can rebuild every signed vote
/// (`tao_types::consensus::vote_message`) to check credits and equivocation evidence.
pub fn namespace(genesis: &Hash) -> Vec<u8> {
    let mut namespace = b"tao-consensus/".to_vec();
    namespace.extend_from_slice(&genesis.0);
    namespace
}

/// A validator key or peer that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Not 0x-hex of an ed25519 public key.
    #[error("{0:?} is not a validator public key (0x and 64 hex digits)")]
    PublicKey(String),
    /// Not `KEY@IP:PORT`.
    #[error("{0:?} is not a peer (KEY@IP:PORT, the key as in the genesis authorities)")]
    Peer(String),
    /// The key file does not hold a key.
    #[error("{0}: not a validator key file (0x and 64 hex digits)")]
    KeyFile(String),
    /// Reading or writing the key file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

/// A validator public key as written in genesis and on the command line: 0x-hex.
pub fn public_key_hex(key: &PublicKey) -> String {
    tao_primitives::hex::encode(&commonware_codec::Encode::encode(key))
}

/// Parses [`public_key_hex`]'s form.
pub fn parse_public_key(text: &str) -> Result<PublicKey, KeyError> {
    let bytes = tao_primitives::hex::decode(text.trim())
        .map_err(|_| KeyError::PublicKey(text.to_owned()))?;
    <PublicKey as commonware_codec::DecodeExt<()>>::decode(commonware_runtime::IoBuf::from(bytes))
        .map_err(|_| KeyError::PublicKey(text.to_owned()))
}

/// The proof a chain asks of a validator candidate that it holds its consensus key: the
/// key's ed25519 signature of [`tao_types::consensus::key_proof_message`] (the chain's
/// genesis hash and the registering controller), as `RegisterValidator` carries it.
pub fn key_proof(
    signer: &ed25519::PrivateKey,
    genesis: &Hash,
    controller: &tao_primitives::AccountId,
) -> ConsensusSignature {
    let secret = commonware_codec::Encode::encode(signer);
    let mut seed = [0u8; 32];
    seed.copy_from_slice(&secret[..32.min(secret.len())]);
    tao_types::ConsensusSecret::from_seed(&seed).key_proof(genesis, controller)
}

/// Parses `KEY@IP:PORT`.
pub fn parse_peer(text: &str) -> Result<(PublicKey, std::net::SocketAddr), KeyError> {
    let (key, addr) = text.split_once('@').ok_or_else(|| KeyError::Peer(text.to_owned()))?;
    let key = parse_public_key(key).map_err(|_| KeyError::Peer(text.to_owned()))?;
    let addr = addr.trim().parse().map_err(|_| KeyError::Peer(text.to_owned()))?;
    Ok((key, addr))
}

/// Reads a validator key file (0x-hex of the 32-byte ed25519 secret).
pub fn read_signer(path: &std::path::Path) -> Result<ed25519::PrivateKey, KeyError> {
    let io = |source| KeyError::Io { path: path.display().to_string(), source };
    let text = std::fs::read_to_string(path).map_err(io)?;
    let bad = || KeyError::KeyFile(path.display().to_string());
    let bytes = tao_primitives::hex::decode(text.trim()).map_err(|_| bad())?;
    <ed25519::PrivateKey as commonware_codec::DecodeExt<()>>::decode(
        commonware_runtime::IoBuf::from(bytes),
    )
    .map_err(|_| bad())
}

/// Writes a new random validator key to `path` (owner-only, never over an existing file)
/// and returns its public key.
pub fn generate_signer(path: &std::path::Path) -> Result<PublicKey, KeyError> {
    use std::io::Write as _;
    let io = |source| KeyError::Io { path: path.display().to_string(), source };
    let mut secret = [0u8; 32];
    getrandom::getrandom(&mut secret).map_err(|e| io(std::io::Error::other(e.to_string())))?;
    let signer = <ed25519::PrivateKey as commonware_codec::DecodeExt<()>>::decode(
        commonware_runtime::IoBuf::from(secret.to_vec()),
    )
    .map_err(|_| KeyError::KeyFile(path.display().to_string()))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(io)?;
    file.write_all(format!("{}\n", tao_primitives::hex::encode(&secret)).as_bytes()).map_err(io)?;
    Ok(signer.public_key())
}

/// How a validator behaves. Only tests choose anything but `Honest`: the faulty behaviours
/// show that honest validators stay safe and live beside them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Behaviour {
    /// Follows the protocol.
    Honest,
    /// Proposes blocks whose header claims a state root execution does not give.
    WrongStateRoot,
    /// Proposes blocks that carry what no honest builder includes, with headers whose roots
    /// match it, so that only the block rules can refuse them.
    Forges(Forgery),
    /// Votes and builds honestly, but answers other nodes' requests (blocks by hash,
    /// certificates) with bad copies.
    Serves(Serving),
}

/// What a bad server ([`Behaviour::Serves`]) answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Serving {
    /// A block asked for by hash, with a transaction added that its header does not commit
    /// to.
    CorruptBlocks,
    /// A finalization certificate with one signature altered (no longer a quorum of valid
    /// signatures).
    ForgedCertificates,
    /// Snapshot chunks with one byte of their first part flipped (and epoch proofs with
    /// one byte of their sets part flipped).
    TamperedChunks,
    /// Answers of several blocks (`Wire::Blocks`) with the second and third swapped: each
    /// block is genuine, but they are not a chain of parents.
    BrokenChains,
}

/// What a forging leader ([`Behaviour::Forges`]) puts in its blocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Forgery {
    /// A transaction an earlier block already executed (its receipt would be overwritten).
    ReplayedTransaction,
    /// A transaction whose signature is garbage.
    BadSignature,
    /// A transaction from a key that cannot pay its fee.
    UnpaidTransaction,
    /// A timestamp a century ahead (it would stop honest leaders, who wait for the parent's
    /// timestamp plus the block time).
    FarFutureTimestamp,
    /// Broadcasts its (valid) block with other transactions than the header's; answers
    /// requests for it by hash with the right copy.
    BodyNotTheHeaders,
}

/// What the engine (through [`Mailbox`]) asks of the application.
enum Message {
    Propose {
        context: Context<Digest, PublicKey>,
        response: oneshot::Sender<Digest>,
    },
    Verify {
        context: Context<Digest, PublicKey>,
        payload: Digest,
        response: oneshot::Sender<bool>,
    },
    Broadcast {
        payload: Digest,
    },
    /// The engine finalized `payload`; `certificate` is the finalization, encoded.
    Finalized {
        payload: Digest,
        certificate: Vec<u8>,
    },
    /// A validator (index `signer` in epoch `epoch`'s set) signed conflicting votes.
    Fault {
        epoch: u64,
        signer: u32,
        parts: EvidenceParts,
    },
}

/// The chain's evidence of a fault commonware reports (`None` for any other activity, or
/// if `key_of(epoch, signer index)` does not know the signer).
pub fn evidence_of(
    activity: &Activity<Scheme, Digest>,
    key_of: impl Fn(u64, u32) -> Option<ConsensusKey>,
) -> Option<Equivocation> {
    let (kind, epoch, signer, bytes) = match activity {
        Activity::ConflictingNotarize(f) => (
            FaultKind::ConflictingNotarize,
            f.epoch(),
            f.signer(),
            commonware_codec::Encode::encode(f).to_vec(),
        ),
        Activity::ConflictingFinalize(f) => (
            FaultKind::ConflictingFinalize,
            f.epoch(),
            f.signer(),
            commonware_codec::Encode::encode(f).to_vec(),
        ),
        Activity::NullifyFinalize(f) => (
            FaultKind::NullifyFinalize,
            f.epoch(),
            f.signer(),
            commonware_codec::Encode::encode(f).to_vec(),
        ),
        _ => return None,
    };
    let key = key_of(epoch.get(), signer.get())?;
    Some(evidence_parts(kind, &bytes)?.evidence(key))
}

/// Which fault commonware reported.
#[derive(Clone, Copy, Debug)]
enum FaultKind {
    ConflictingNotarize,
    ConflictingFinalize,
    NullifyFinalize,
}

/// A chain proposal with one signature on it.
type SignedProposal = (tao_types::consensus::Proposal, ConsensusSignature);

/// A fault's votes as the chain's evidence reads them, without the signer's key (the
/// application knows the epoch's set).
#[derive(Debug)]
enum EvidenceParts {
    Conflicting { finalize: bool, first: SignedProposal, second: SignedProposal },
    NullifyFinalize { finalize: SignedProposal, nullify: ConsensusSignature },
}

impl EvidenceParts {
    /// The chain's evidence, signed by `signer`.
    fn evidence(self, signer: ConsensusKey) -> Equivocation {
        match self {
            Self::Conflicting { finalize: false, first, second } => {
                Equivocation::ConflictingNotarize {
                    signer,
                    first: first.0,
                    first_signature: first.1,
                    second: second.0,
                    second_signature: second.1,
                }
            }
            Self::Conflicting { finalize: true, first, second } => {
                Equivocation::ConflictingFinalize {
                    signer,
                    first: first.0,
                    first_signature: first.1,
                    second: second.0,
                    second_signature: second.1,
                }
            }
            Self::NullifyFinalize { finalize, nullify } => Equivocation::NullifyFinalize {
                signer,
                finalize: finalize.0,
                finalize_signature: finalize.1,
                nullify_signature: nullify,
            },
        }
    }
}

/// The chain's proposal and a vote's signature from commonware's.
fn vote_parts(
    proposal: &commonware_consensus::simplex::types::Proposal<Digest>,
    signature: &impl commonware_codec::Encode,
) -> Option<SignedProposal> {
    let bytes = commonware_codec::Encode::encode(signature);
    let proposal = tao_types::consensus::Proposal {
        epoch: proposal.round.epoch().get(),
        view: proposal.round.view().get(),
        parent_view: proposal.parent.get(),
        block: block_hash(&proposal.payload),
    };
    Some((proposal, ConsensusSignature(bytes.as_ref().try_into().ok()?)))
}

/// Reads the two votes of an encoded fault (commonware encodes a fault as its two votes).
fn evidence_parts(kind: FaultKind, bytes: &[u8]) -> Option<EvidenceParts> {
    use commonware_codec::{Copying, Read};
    use commonware_consensus::simplex::types::{Finalize, Notarize, Nullify};
    let mut input = Copying(bytes);
    match kind {
        FaultKind::ConflictingNotarize | FaultKind::ConflictingFinalize => {
            let finalize = matches!(kind, FaultKind::ConflictingFinalize);
            let (first, second) = if finalize {
                let a = <Finalize<Scheme, Digest> as Read>::read_cfg(&mut input, &()).ok()?;
                let b = <Finalize<Scheme, Digest> as Read>::read_cfg(&mut input, &()).ok()?;
                (
                    vote_parts(&a.proposal, &a.attestation.signature)?,
                    vote_parts(&b.proposal, &b.attestation.signature)?,
                )
            } else {
                let a = <Notarize<Scheme, Digest> as Read>::read_cfg(&mut input, &()).ok()?;
                let b = <Notarize<Scheme, Digest> as Read>::read_cfg(&mut input, &()).ok()?;
                (
                    vote_parts(&a.proposal, &a.attestation.signature)?,
                    vote_parts(&b.proposal, &b.attestation.signature)?,
                )
            };
            Some(EvidenceParts::Conflicting { finalize, first, second })
        }
        FaultKind::NullifyFinalize => {
            let nullify = <Nullify<Scheme> as Read>::read_cfg(&mut input, &()).ok()?;
            let finalize = <Finalize<Scheme, Digest> as Read>::read_cfg(&mut input, &()).ok()?;
            let signature = commonware_codec::Encode::encode(&nullify.attestation.signature);
            Some(EvidenceParts::NullifyFinalize {
                finalize: vote_parts(&finalize.proposal, &finalize.attestation.signature)?,
                nullify: ConsensusSignature(signature.as_ref().try_into().ok()?),
            })
        }
    }
}

/// The engine's handle on the application: automaton, relay and reporter in one.
#[derive(Clone)]
pub struct Mailbox {
    sender: mpsc::UnboundedSender<Message>,
}

impl Mailbox {
    /// Hands a fault the engine saw to the application, as the evidence the chain takes.
    fn fault(
        &self,
        kind: FaultKind,
        epoch: Epoch,
        signer: u32,
        fault: &impl commonware_codec::Encode,
    ) -> Feedback {
        let bytes = commonware_codec::Encode::encode(fault).to_vec();
        match evidence_parts(kind, &bytes) {
            Some(parts) => self.send(Message::Fault { epoch: epoch.get(), signer, parts }),
            None => Feedback::Ok,
        }
    }

    fn send(&self, message: Message) -> Feedback {
        match self.sender.send(message) {
            Ok(()) => Feedback::Ok,
            Err(_) => Feedback::Closed,
        }
    }
}

impl Automaton for Mailbox {
    type Context = Context<Digest, PublicKey>;
    type Digest = Digest;

    async fn propose(&mut self, context: Self::Context) -> oneshot::Receiver<Digest> {
        let (response, receiver) = oneshot::channel();
        self.send(Message::Propose { context, response });
        receiver
    }

    async fn verify(&mut self, context: Self::Context, payload: Digest) -> oneshot::Receiver<bool> {
        let (response, receiver) = oneshot::channel();
        self.send(Message::Verify { context, payload, response });
        receiver
    }
}

impl CertifiableAutomaton for Mailbox {}

impl Relay for Mailbox {
    type Digest = Digest;
    type PublicKey = PublicKey;
    type Plan = Plan<PublicKey>;

    fn broadcast(&mut self, payload: Digest, plan: Plan<PublicKey>) -> Feedback {
        match plan {
            Plan::Propose { .. } | Plan::Prepare { .. } | Plan::Forward { .. } => {
                self.send(Message::Broadcast { payload })
            }
        }
    }
}

impl Reporter for Mailbox {
    type Activity = Activity<Scheme, Digest>;

    fn report(&mut self, activity: Self::Activity) -> Feedback {
        match activity {
            Activity::Finalization(finalization) => self.send(Message::Finalized {
                payload: finalization.proposal.payload,
                certificate: commonware_codec::Encode::encode(&finalization).to_vec(),
            }),
            // Evidence of a faulty validator (the index is its place in the sorted
            // authorities): safety holds while at most f of 3f + 1 do this.
            Activity::ConflictingNotarize(fault) => {
                warn!(validator = %fault.signer(), view = %fault.view(), "a validator signed two proposals in one view");
                self.fault(
                    FaultKind::ConflictingNotarize,
                    fault.epoch(),
                    fault.signer().get(),
                    &fault,
                )
            }
            Activity::ConflictingFinalize(fault) => {
                warn!(validator = %fault.signer(), view = %fault.view(), "a validator finalized two proposals in one view");
                self.fault(
                    FaultKind::ConflictingFinalize,
                    fault.epoch(),
                    fault.signer().get(),
                    &fault,
                )
            }
            Activity::NullifyFinalize(fault) => {
                warn!(validator = %fault.signer(), view = %fault.view(), "a validator both nullified and finalized one view");
                self.fault(FaultKind::NullifyFinalize, fault.epoch(), fault.signer().get(), &fault)
            }
            _ => Feedback::Ok,
        }
    }
}

/// Messages on the block channel (SCALE-encoded).
#[derive(Encode, Decode, Debug)]
pub enum Wire {
    /// A block (a proposal, or an answer to `Want`).
    Block(Block),
    /// "Send me the block with this header hash."
    Want(Hash),
    /// A transaction one validator admitted to its pool, for the others' pools (boxed: the
    /// largest variant by far; the encoding is the transaction's).
    Transaction(Box<SignedTransaction>),
    /// "Send me a finalization certificate of a block from this height on, in its epoch."
    WantFinalized {
        /// The first block wanted (the asker's head + 1).
        from: u64,
    },
    /// A finalization certificate of block `number` (commonware's encoding), the answer to
    /// `WantFinalized`; the blocks behind it are then asked for by hash.
    Certificate {
        /// The block it finalizes.
        number: u64,
        /// The encoded certificate.
        bytes: Vec<u8>,
    },
    /// Snapshot sync: offers, chunk requests and chunks ([`crate::snapshot`]).
    Snapshot(crate::snapshot::Message),
    /// "Send me the block with this header hash and its ancestors above block `above`"
    /// (the asker's finalized head): a node catching up fetches [`MAX_CHAIN_BLOCKS`] a
    /// round trip instead of one.
    WantChain {
        /// The newest block wanted.
        hash: Hash,
        /// The asker's head: no block at or below it is sent.
        above: u64,
    },
    /// The answer to `WantChain`: the block asked for, then its parent, and so on (at most
    /// [`MAX_CHAIN_BLOCKS`], and no more than [`CHAIN_BYTES`] after the first).
    Blocks(Vec<Block>),
}

/// Most blocks in one `Wire::Blocks` answer.
pub const MAX_CHAIN_BLOCKS: usize = 64;
/// Most bytes of blocks in one `Wire::Blocks` answer after its first block.
pub const CHAIN_BYTES: usize = 2 * 1024 * 1024;
/// `Wire::WantChain` requests one peer gets answered in a second (each may cost
/// [`MAX_CHAIN_BLOCKS`] store reads and [`CHAIN_BYTES`] sent); the rest are dropped unread.
pub const MAX_CHAIN_ANSWERS_PER_SECOND: u32 = 16;

/// A validator's settings.
pub struct Config {
    /// This node's consensus key (it votes in the epochs whose set holds it).
    pub signer: ed25519::PrivateKey,
    /// The validators of a chain without elections (genesis `authorities`); a chain with
    /// proof of stake names each epoch's set in its state ([`epochs`]).
    pub authorities: Vec<PublicKey>,
    /// Least time between a block and the next.
    pub block_time: Duration,
    /// Where the engines keep their journals: storage partition `{partition}-{epoch}`.
    pub partition: String,
    /// Honest, unless a test says otherwise.
    pub behaviour: Behaviour,
    /// Snapshots: kept and served, and whether an empty node starts from one.
    pub snapshots: crate::snapshot::Config,
}

/// The account a node signs its `ReportEquivocation` transactions with: an sr25519 key
/// derived from its consensus key (no other secret to keep). Reports are free calls, so it
/// needs no TAO; it can only report, since it holds nothing.
pub fn reporter(signer: &ed25519::PrivateKey) -> tao_types::Keypair {
    let secret = commonware_codec::Encode::encode(signer);
    let mut bytes = b"tao/equivocation-reporter/".to_vec();
    bytes.extend_from_slice(secret.as_ref());
    tao_types::Keypair::from_seed(&tao_types::blake2_256(&bytes).0)
}

/// The equivocations a node saw, newest last (at most [`MAX_KEPT_FAULTS`]).
pub type Faults = Arc<std::sync::Mutex<std::collections::VecDeque<Equivocation>>>;

/// How many equivocations a node keeps.
pub const MAX_KEPT_FAULTS: usize = 64;

/// The running parts of a validator.
pub struct Validator {
    /// The engines: one simplex engine per epoch this node is a validator in.
    pub engine: Handle<()>,
    /// The application (block building, verification, commitment).
    pub application: Handle<()>,
    /// The equivocations it saw, as the chain's evidence.
    pub faults: Faults,
    /// The handle the engines report to (votes, certificates, faults): what commonware
    /// reports, [`Reporter::report`] here does the same.
    pub mailbox: Mailbox,
}

/// Starts a node of a BFT chain: the application actor (it builds, verifies, commits and
/// syncs blocks) and, for every epoch whose set holds this node's key, a simplex engine on
/// the epoch's own subchannels of the vote, certificate and resolver channels (a node in no
/// set follows the chain by finalization certificates). Transactions admitted over RPC
/// arrive on `gossip` and are forwarded to the peers. `on_peers` is given the node's peers
/// (for the p2p network's peer set) at start and whenever they change, with the head's
/// number (a peer set id that only grows).
#[allow(clippy::too_many_arguments)]
pub fn start<E, B, S1, S2, S3>(
    context: E,
    node: Arc<Node>,
    config: Config,
    blocker: B,
    gossip: mpsc::UnboundedReceiver<SignedTransaction>,
    votes: (S1, impl Receiver<PublicKey = PublicKey>),
    certificates: (S2, impl Receiver<PublicKey = PublicKey>),
    resolver: (S3, impl Receiver<PublicKey = PublicKey>),
    blocks: (impl Sender<PublicKey = PublicKey>, impl Receiver<PublicKey = PublicKey>),
    on_peers: impl FnMut(u64, Peers) + Send + 'static,
) -> anyhow::Result<Validator>
where
    E: Clock + CryptoRng + Spawner + Storage + Metrics,
    B: Blocker<PublicKey = PublicKey> + Clone + Send + 'static,
    S1: Sender<PublicKey = PublicKey>,
    S2: Sender<PublicKey = PublicKey>,
    S3: Sender<PublicKey = PublicKey>,
{
    let genesis = {
        let chain = node.chain.lock().map_err(|_| anyhow::anyhow!("chain lock poisoned"))?;
        chain.state.genesis_hash()
    };
    let mut authorities = config.authorities.clone();
    authorities.sort();
    if authorities.windows(2).any(|w| w[0] == w[1]) {
        anyhow::bail!("the authorities list a key twice");
    }
    let (sender, receiver) = mpsc::unbounded_channel();
    let mailbox = Mailbox { sender };
    let (starts, start_rx) = mpsc::unbounded_channel();
    fn mux<E: Spawner, S: Sender, R: Receiver<PublicKey = S::PublicKey>>(
        context: E,
        (sender, receiver): (S, R),
    ) -> MuxHandle<S> {
        let (muxer, handle) = Muxer::new(context, sender, receiver);
        muxer.start();
        handle
    }
    let (signer, partition, engines_mailbox) =
        (config.signer.clone(), config.partition.clone(), mailbox.clone());
    let mut peer_blocker = blocker.clone();
    let block_peer = move |peer: PublicKey| {
        let _ = peer_blocker.block(peer);
    };
    let namespace_bytes = namespace(&genesis);
    // The muxers and every engine descend from the orchestrator's task: stopping it stops
    // them all.
    let engine = context.child("orchestrator").spawn(move |context| {
        let engines = Engines {
            votes: mux(context.child("votes"), votes),
            certificates: mux(context.child("certificates"), certificates),
            resolver: mux(context.child("resolver"), resolver),
            context,
            signer,
            namespace: namespace_bytes,
            block_time: config.block_time,
            partition,
            blocker,
            mailbox: engines_mailbox,
        };
        engines.run(start_rx)
    });
    let block_time = config.block_time;
    let behaviour = config.behaviour;
    let me = config.signer.public_key();
    let faults = Faults::default();
    let (kept, reporter) = (faults.clone(), reporter(&config.signer));
    let snapshots = {
        let chain = node.chain.lock().map_err(|_| anyhow::anyhow!("chain lock poisoned"))?;
        let tamper = config.behaviour == Behaviour::Serves(Serving::TamperedChunks);
        crate::snapshot::Snapshots::open(&config.snapshots, tamper, &chain)?
    };
    let application = context.child("application").spawn(move |context| {
        let now = context.current();
        Application {
            snapshots,
            context,
            node,
            behaviour,
            block_time,
            mailbox: receiver,
            gossip,
            blocks: BTreeMap::new(),
            executed: BTreeMap::new(),
            invalid: BTreeSet::new(),
            wanted: BTreeMap::new(),
            sync_peer: None,
            chain_answers: crate::snapshot::AnswerBudget::new(MAX_CHAIN_ANSWERS_PER_SECOND),
            unsolicited: BTreeMap::new(),
            proposes: Vec::new(),
            verifies: Vec::new(),
            finalized: Vec::new(),
            certificates: BTreeMap::new(),
            authorities,
            namespace: namespace(&genesis),
            starts,
            on_peers: Box::new(on_peers),
            entered: None,
            tracked: None,
            last_commit: now,
            last_sync_ask: now,
            catching_up: false,
            faults: kept,
            reporter,
            block_peer: Box::new(block_peer),
        }
        .run(blocks)
    });
    info!(%me, "consensus started");
    Ok(Validator { engine, application, faults, mailbox })
}

/// "Start the engine of `plan.epoch`, from the block `floor` (the last of the epoch before,
/// or genesis)."
struct EngineStart {
    plan: EpochPlan,
    floor: Digest,
}

/// The orchestrator of the engines: one per epoch whose set holds this node's key, each on
/// that epoch's subchannels. The engine of the epoch before the newest is kept (it serves
/// its certificates to validators that are still finishing it); older ones are stopped.
struct Engines<E, B, S1: Sender, S2: Sender, S3: Sender> {
    context: E,
    signer: ed25519::PrivateKey,
    namespace: Vec<u8>,
    block_time: Duration,
    partition: String,
    blocker: B,
    mailbox: Mailbox,
    votes: MuxHandle<S1>,
    certificates: MuxHandle<S2>,
    resolver: MuxHandle<S3>,
}

impl<E, B, S1, S2, S3> Engines<E, B, S1, S2, S3>
where
    E: Clock + CryptoRng + Spawner + Storage + Metrics,
    B: Blocker<PublicKey = PublicKey> + Clone + Send + 'static,
    S1: Sender<PublicKey = PublicKey>,
    S2: Sender<PublicKey = PublicKey>,
    S3: Sender<PublicKey = PublicKey>,
{
    async fn run(mut self, mut starts: mpsc::UnboundedReceiver<EngineStart>) {
        let mut running: BTreeMap<u64, Handle<()>> = BTreeMap::new();
        while let Some(EngineStart { plan, floor }) = starts.recv().await {
            let epoch = plan.epoch;
            if running.keys().next_back().is_some_and(|newest| *newest >= epoch) {
                continue;
            }
            let stale: Vec<u64> =
                running.range(..epoch.saturating_sub(1)).map(|(e, _)| *e).collect();
            for old in stale {
                if let Some(handle) = running.remove(&old) {
                    info!(epoch = old, "engine of a past epoch stopped");
                    handle.abort();
                }
            }
            let me = self.signer.public_key();
            let Ok(participants) = commonware_utils::ordered::Set::try_from(plan.participants)
            else {
                error!(epoch, "the epoch's set lists a key twice");
                continue;
            };
            let size = participants.len();
            let Some(scheme) = Scheme::signer(&self.namespace, participants, self.signer.clone())
            else {
                info!(epoch, validators = size, "not in this epoch's validator set: following it");
                continue;
            };
            match self.start_engine(epoch, scheme, floor).await {
                Ok(handle) => {
                    info!(epoch, validators = size, %me, "validating this epoch");
                    running.insert(epoch, handle);
                }
                Err(e) => error!(epoch, "cannot start the epoch's engine: {e:#}"),
            }
        }
    }

    async fn start_engine(
        &mut self,
        epoch: u64,
        scheme: Scheme,
        floor: Digest,
    ) -> anyhow::Result<Handle<()>> {
        let votes = self.votes.register(epoch).await?;
        let certificates = self.certificates.register(epoch).await?;
        let resolver = self.resolver.register(epoch).await?;
        let leader_timeout = self.block_time + Duration::from_secs(1);
        let engine_config = simplex::Config {
            scheme,
            elector: RoundRobin::<sha256::Sha256>::default(),
            blocker: self.blocker.clone(),
            automaton: self.mailbox.clone(),
            relay: self.mailbox.clone(),
            reporter: self.mailbox.clone(),
            strategy: commonware_parallel::Sequential,
            partition: format!("{}-{epoch}", self.partition),
            mailbox_size: NonZeroUsize::new(1024).expect("non-zero"),
            epoch: Epoch::new(epoch),
            floor: simplex::Floor::Genesis(floor),
            leader_timeout,
            certification_timeout: leader_timeout + Duration::from_secs(1),
            timeout_retry: Duration::from_secs(5),
            view_retention: ViewDelta::new(256),
            skip: simplex::SkipPolicy::Disabled,
            fetch_timeout: commonware_utils::NZDuration!(Duration::from_secs(1)),
            fetch_retry_delay: Duration::from_millis(100),
            replay_buffer: NonZeroUsize::new(1 << 20).expect("non-zero"),
            write_buffer: NonZeroUsize::new(1 << 20).expect("non-zero"),
            page_cache: CacheRef::new(
                NonZeroU16::new(1024).expect("non-zero"),
                NonZeroUsize::new(16).expect("non-zero"),
            ),
            forward: simplex::ForwardPolicy::Disabled,
            track_historical_votes: false,
        };
        let context = self.context.child("engine").with_attribute("epoch", epoch);
        let engine = simplex::Engine::new(context, engine_config);
        Ok(engine.start(votes, certificates, resolver))
    }
}

/// A proposal waiting for its parent (or for the block time to pass).
struct PendingPropose {
    context: Context<Digest, PublicKey>,
    response: oneshot::Sender<Digest>,
}

/// A verification waiting for the block or its ancestors.
struct PendingVerify {
    context: Context<Digest, PublicKey>,
    payload: Digest,
    response: oneshot::Sender<bool>,
}

/// Whether a block could be executed on its parent.
enum Execution {
    /// It (and its unfinalized ancestors) executed and match their headers.
    Done,
    /// It, or an ancestor, does not verify or does not extend the finalized chain.
    Invalid,
    /// A block on the way to the finalized head is not here yet (it has been asked for).
    Missing,
    /// It is already committed (a finalized block, e.g. replayed by the engine after a
    /// restart).
    Finalized,
}

/// The application actor: owns the unfinalized blocks and their post-states.
struct Application<E> {
    context: E,
    node: Arc<Node>,
    behaviour: Behaviour,
    block_time: Duration,
    mailbox: mpsc::UnboundedReceiver<Message>,
    gossip: mpsc::UnboundedReceiver<SignedTransaction>,
    /// Unfinalized blocks, ours and peers', by header hash.
    blocks: BTreeMap<Hash, Block>,
    /// Unfinalized blocks executed on their parents: post-state and outcome.
    executed: BTreeMap<Hash, (State, BlockOutcome)>,
    /// Blocks that do not verify (or build on one that does not).
    invalid: BTreeSet<Hash>,
    /// Blocks asked for, and when.
    wanted: BTreeMap<Hash, SystemTime>,
    /// The peer whose finalization certificate this node is catching up to: the blocks
    /// behind it are asked of it first (of every peer if it does not answer in time).
    sync_peer: Option<PublicKey>,
    /// `WantChain` answers per peer in the current second.
    chain_answers: crate::snapshot::AnswerBudget,
    /// Who sent each kept block that nobody asked for (the count per peer is bounded).
    unsolicited: BTreeMap<Hash, PublicKey>,
    proposes: Vec<PendingPropose>,
    verifies: Vec<PendingVerify>,
    /// Finalized digests not yet committed (their blocks are still on the way).
    finalized: Vec<Hash>,
    /// The encoded finalization certificates of `finalized` blocks, stored as they commit.
    certificates: BTreeMap<Hash, Vec<u8>>,
    /// The validators of a chain without elections, sorted.
    authorities: Vec<PublicKey>,
    /// The chain's consensus signing domain.
    namespace: Vec<u8>,
    /// Asks the orchestrator to start an epoch's engine.
    starts: mpsc::UnboundedSender<EngineStart>,
    /// Told the node's peers whenever they change (with the head's number, which only grows).
    on_peers: Box<dyn FnMut(u64, Peers) + Send>,
    /// The peers last told.
    tracked: Option<Peers>,
    /// The newest epoch entered (its engine asked for).
    entered: Option<u64>,
    /// When the head last moved, and when the peers were last asked for a certificate.
    last_commit: SystemTime,
    last_sync_ask: SystemTime,
    /// A peer's certificate was accepted since the last ask: the chain may go on beyond it,
    /// so the next ask is not left to a stall.
    catching_up: bool,
    /// Equivocations seen, shared with [`Validator::faults`].
    faults: Faults,
    /// Signs equivocation reports ([`reporter`]).
    reporter: tao_types::Keypair,
    /// Snapshots kept and served, and a snapshot fetch under way.
    snapshots: crate::snapshot::Snapshots,
    /// Blocks a peer on the p2p network (disconnects it, refuses it from then on): one that
    /// sent what no honest node sends, e.g. a tampered snapshot chunk.
    block_peer: Box<dyn FnMut(PublicKey) + Send>,
}

impl<E: Clock + Spawner + CryptoRng> Application<E> {
    async fn run(
        mut self,
        (mut sender, mut receiver): (
            impl Sender<PublicKey = PublicKey>,
            impl Receiver<PublicKey = PublicKey>,
        ),
    ) {
        let mut gossip_open = true;
        self.track_peers();
        self.enter_epoch();
        loop {
            let tick = self.context.sleep(Duration::from_millis(25));
            // `biased`: a fixed polling order, so a simulation replays exactly.
            tokio::select! {
                biased;
                message = self.mailbox.recv() => {
                    let Some(message) = message else { return };
                    self.handle(message, &mut sender);
                }
                received = receiver.recv() => {
                    let Ok((peer, bytes)) = received else {
                        warn!("block channel closed");
                        return;
                    };
                    self.receive(peer, bytes.as_ref(), &mut sender);
                }
                transaction = self.gossip.recv(), if gossip_open => match transaction {
                    Some(transaction) => {
                        let _ = sender.send(
                            Recipients::All,
                            Wire::Transaction(Box::new(transaction)).encode(),
                            false,
                        );
                    }
                    None => gossip_open = false,
                },
                () = tick => {}
            }
            if self.snapshots.fetching() {
                let outcomes = self.snapshots.tick(self.context.current());
                self.snapshot_outcomes(outcomes, &mut sender);
                if let Some(number) = self.snapshots.target() {
                    // `tao_syncState`: syncing, up to the snapshot's (certified) block.
                    self.node.sync.saw(number);
                }
                // An engine's finalizations meanwhile are of blocks the snapshot will hold
                // or the certificate sync will fetch after it: not kept without bound.
                if self.finalized.len() > MAX_PENDING_BLOCKS {
                    self.finalized.clear();
                    self.certificates.clear();
                }
                continue;
            }
            if let Err(e) = self.progress(&mut sender) {
                error!("cannot commit a finalized block: {e:#}");
                return;
            }
            self.sync(&mut sender);
        }
    }

    /// The epoch of the next block, with its set, if the finalized state knows it.
    fn next_plan(&self) -> Option<EpochPlan> {
        let chain = self.node.chain.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        epochs::plan(&chain.state, &self.authorities, chain.head.number.get().saturating_add(1))
    }

    /// Enters the epoch of the next block if it is new: its peers go to the p2p network,
    /// its engine starts (if this node is in its set) from the last block of the epoch
    /// before.
    fn enter_epoch(&mut self) {
        let Some(plan) = self.next_plan() else { return };
        if self.entered.is_some_and(|entered| entered >= plan.epoch) {
            return;
        }
        let floor = {
            let chain = self.node.chain.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            // The floor: the block before the epoch's first (genesis, the head when the
            // epoch begins now, else a block in the store, else, pruned, the floor kept when
            // the node entered the epoch before).
            let before = epochs::first_block(&chain.state, plan.epoch).saturating_sub(1);
            let head = chain.head.number.get();
            let kept = |chain: &crate::chain::Chain| {
                let bytes = chain.store.meta(META_FLOOR).ok().flatten()?;
                let (epoch, hash) = bytes.split_at_checked(8)?;
                if u64::from_le_bytes(epoch.try_into().ok()?) != plan.epoch {
                    return None;
                }
                Some(Hash(hash.try_into().ok()?))
            };
            let floor = if before == 0 {
                Some(chain.genesis_header().hash())
            } else if before == head {
                let floor = chain.head.hash();
                let record = [plan.epoch.to_le_bytes().as_slice(), floor.0.as_slice()].concat();
                if let Err(e) = chain.store.set_meta(META_FLOOR, &record) {
                    warn!("cannot record the epoch's first parent: {e:#}");
                }
                Some(floor)
            } else {
                chain
                    .store
                    .block(before)
                    .ok()
                    .flatten()
                    .map(|b| b.header.hash())
                    .or_else(|| kept(&chain))
            };
            floor
        };
        let Some(floor) = floor else {
            error!(epoch = plan.epoch, "the block before the epoch is not in the store");
            return;
        };
        self.entered = Some(plan.epoch);
        info!(epoch = plan.epoch, validators = plan.participants.len(), last = ?plan.last, "entering epoch");
        let _ = self.starts.send(EngineStart { plan, floor: digest(&floor) });
    }

    /// Tells the p2p network the node's peers if they changed (candidates registered or
    /// left, a new epoch's validators).
    fn track_peers(&mut self) {
        let (head, peers) = {
            let chain = self.node.chain.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            (chain.head.number.get(), epochs::peers(&chain.state, &self.authorities))
        };
        if self.tracked.as_ref() != Some(&peers) {
            (self.on_peers)(head, peers.clone());
            self.tracked = Some(peers);
        }
    }

    /// A node whose head has not moved for [`SYNC_AFTER`] ([`SYNC_FRESH`] at genesis) asks
    /// its peers for a finalization certificate above it (at most once per that time); a
    /// node catching up asks again as soon as the blocks behind the last certificate are
    /// committed.
    fn sync(&mut self, sender: &mut impl Sender<PublicKey = PublicKey>) {
        let now = self.context.current();
        let since = |t: SystemTime| now.duration_since(t).unwrap_or_default();
        let wait = match self.head_header().number.get() {
            0 => SYNC_FRESH,
            _ => SYNC_AFTER,
        };
        let stalled = since(self.last_commit) >= wait && since(self.last_sync_ask) >= wait;
        let next =
            self.catching_up && self.finalized.is_empty() && since(self.last_sync_ask) >= SYNC_NEXT;
        if !(stalled || next) {
            return;
        }
        self.catching_up = false;
        self.last_sync_ask = now;
        let from = self.head_header().number.get().saturating_add(1);
        debug!(from, "asking peers for a finalization certificate");
        let _ = sender.send(Recipients::All, Wire::WantFinalized { from }.encode(), false);
    }

    /// A certificate a peer sent: if it finalizes a block of the epoch of the next block
    /// (whose set the finalized state knows) above the head, under a quorum of that set's
    /// signatures, its block is finalized here too, and fetched by hash with its ancestors.
    fn accept_certificate(&mut self, peer: &PublicKey, number: u64, bytes: &[u8]) {
        let head = self.head_header().number.get();
        if number <= head || self.finalized.len() >= MAX_PENDING_BLOCKS {
            return;
        }
        let Some(plan) = self.next_plan() else { return };
        if plan.last.is_some_and(|last| number > last) {
            debug!(%peer, number, "a certificate beyond the epoch this node is in");
            return;
        }
        let Ok(participants) = commonware_utils::ordered::Set::try_from(plan.participants) else {
            return;
        };
        let verifier = Scheme::verifier(&self.namespace, participants);
        let finalization =
            match <Finalization<Scheme, Digest> as commonware_codec::Decode>::decode_cfg(
                bytes.to_vec(),
                &MAX_PARTICIPANTS,
            ) {
                Ok(finalization) => finalization,
                Err(e) => {
                    warn!(%peer, "an undecodable finalization certificate: {e}");
                    self.punish(peer, "an undecodable finalization certificate");
                    return;
                }
            };
        // An honest peer answers with a certificate of the asker's next block's epoch
        // (both read the epochs from the same finalized chain); one of another epoch, or
        // without a quorum of valid signatures of that epoch's set, is forged.
        if finalization.epoch() != Epoch::new(plan.epoch)
            || !finalization.verify(&mut self.context, &verifier, &commonware_parallel::Sequential)
        {
            warn!(%peer, number, epoch = plan.epoch, "a finalization certificate that does not verify");
            self.punish(peer, "a finalization certificate that does not verify");
            return;
        }
        let hash = block_hash(&finalization.proposal.payload);
        if self.certificates.contains_key(&hash) || self.is_finalized(&hash) {
            return;
        }
        debug!(%peer, number, %hash, "a peer's finalization certificate");
        self.catching_up = true;
        self.sync_peer = Some(peer.clone());
        self.node.sync.saw(number);
        self.certificates.insert(hash, bytes.to_vec());
        self.finalized.push(hash);
    }

    fn now_ms(&self) -> u64 {
        self.context
            .current()
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0)
    }

    /// The finalized head: header and post-state.
    fn head(&self) -> (Header, State) {
        let chain = self.node.chain.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        (chain.head.clone(), chain.state.clone())
    }

    fn head_header(&self) -> Header {
        let chain = self.node.chain.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        chain.head.clone()
    }

    fn handle(&mut self, message: Message, sender: &mut impl Sender<PublicKey = PublicKey>) {
        match message {
            Message::Propose { context, response } => {
                self.proposes.push(PendingPropose { context, response })
            }
            Message::Verify { context, payload, response } => {
                self.verifies.push(PendingVerify { context, payload, response })
            }
            Message::Broadcast { payload } => {
                if let Some(block) = self.blocks.get(&block_hash(&payload)) {
                    let mut block = block.clone();
                    if self.behaviour == Behaviour::Forges(Forgery::BodyNotTheHeaders) {
                        block.transactions.push(self.garbage_transaction(&self.head().1));
                    }
                    let _ = sender.send(Recipients::All, Wire::Block(block).encode(), true);
                }
            }
            Message::Finalized { payload, certificate } => {
                let hash = block_hash(&payload);
                if !self.certificates.contains_key(&hash)
                    && self.certificates.len() < MAX_PENDING_BLOCKS
                {
                    self.certificates.insert(hash, certificate);
                }
                self.finalized.push(hash);
            }
            Message::Fault { epoch, signer, parts } => self.report(epoch, signer, parts),
        }
    }

    /// Evidence of a fault: kept (bounded, [`Validator::faults`]) and submitted as a
    /// `ReportEquivocation` transaction (a free call, signed by this node's [`reporter`]
    /// account) to the pool and the peers. The pool admits it only if it would slash: a
    /// fault already reported (by any node) is dropped there.
    fn report(&mut self, epoch: u64, signer: u32, parts: EvidenceParts) {
        let account = self.reporter.account();
        let (key, genesis_hash, nonce) = {
            let chain = self.node.chain.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            let index = usize::try_from(signer).unwrap_or(usize::MAX);
            // The epoch's set (proof of stake), else the fixed authorities (sorted, as the
            // engine's participants are).
            let key = match chain.state.validator_set(epoch) {
                Some(set) => set.members.get(index).map(|m| m.consensus_key),
                None => self.authorities.get(index).map(epochs::consensus_key),
            };
            let nonce = chain.mempool.next_nonce(&account, chain.state.account(&account).nonce);
            (key, chain.state.genesis_hash(), nonce)
        };
        let Some(key) = key else { return };
        let evidence = parts.evidence(key);
        if let Ok(mut faults) = self.faults.lock() {
            if faults.len() == MAX_KEPT_FAULTS {
                faults.pop_front();
            }
            faults.push_back(evidence.clone());
        }
        let call = tao_types::Call::ReportEquivocation { evidence };
        let transaction = tao_types::Transaction { genesis_hash, signer: account, nonce, call };
        let transaction = transaction.sign(&self.reporter);
        let admitted = {
            let mut chain = self.node.chain.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            chain.submit(transaction.clone())
        };
        match admitted {
            Ok(hash) => {
                info!(epoch, signer, %hash, "reported an equivocation");
                if let Some(gossip) = &self.node.gossip {
                    let _ = gossip.send(transaction);
                }
            }
            Err(e) => debug!(epoch, signer, "equivocation report not admitted: {e}"),
        }
    }

    /// A block a peer sent (a proposal, or an answer): kept if its body is its header's, it
    /// is above the head, and it was asked for (by hash, or `chained` to one asked for in
    /// the same answer) or is within the bounds for unsolicited blocks. Returns `false` if
    /// the peer was blocked for it.
    fn accept_block(&mut self, peer: &PublicKey, block: Block, chained: bool) -> bool {
        let hash = block.header.hash();
        // The header's hash says nothing about the body behind it: a copy whose
        // transactions are not the header's (or that breaks the block limits) is
        // the sender's fault, never the hash's.
        if let Err(e) = check_block_body(&block) {
            warn!(%peer, %hash, "a peer sent a bad copy of a block: {e}");
            self.punish(peer, "a block whose body is not its header's");
            return false;
        }
        if self.blocks.contains_key(&hash) {
            return true;
        }
        let head = self.head_header().number.get();
        let number = block.header.number.get();
        if number <= head {
            return true;
        }
        // Blocks asked for (the way back to a finalized digest, however long) are
        // always kept; unsolicited ones only within bounds, per peer.
        let solicited = self.wanted.remove(&hash).is_some() || chained;
        if !solicited {
            let from_peer = self.unsolicited.values().filter(|p| *p == peer).count();
            if number > head.saturating_add(MAX_UNSOLICITED_AHEAD)
                || from_peer >= MAX_UNSOLICITED_PER_PEER
                || self.blocks.len() >= MAX_PENDING_BLOCKS
            {
                debug!(%peer, %hash, number, "unsolicited block dropped (over the bounds)");
                return true;
            }
            self.unsolicited.insert(hash, peer.clone());
        }
        // A block beyond the head that the validators finalized or built on (its
        // hash came from consensus, and binds its number): `tao_syncState`'s highest
        // seen. Unsolicited blocks do not count: a faulty peer could make up numbers.
        if solicited {
            self.node.sync.saw(number);
        }
        self.blocks.insert(hash, block);
        true
    }

    /// Blocks `peer` for sending what no honest node sends: an undecodable message, a
    /// block body that is not its header's, a finalization certificate that does not
    /// decode or verify. Honest nodes never do (a late or stale answer is ignored, not
    /// punished), so the node goes on with its other peers.
    fn punish(&mut self, peer: &PublicKey, why: &str) {
        warn!(%peer, why, "blocking a peer");
        self.node.metrics.peers_blocked.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        (self.block_peer)(peer.clone());
        if self.sync_peer.as_ref() == Some(peer) {
            self.sync_peer = None;
        }
    }

    fn receive(
        &mut self,
        peer: PublicKey,
        bytes: &[u8],
        sender: &mut impl Sender<PublicKey = PublicKey>,
    ) {
        let Ok(wire) = Wire::decode(&mut &bytes[..]) else {
            self.punish(&peer, "an undecodable message on the block channel");
            return;
        };
        match wire {
            Wire::Block(block) if self.snapshots.wanted_block() == Some(block.header.hash()) => {
                self.install_snapshot(&block);
            }
            Wire::Snapshot(crate::snapshot::Message::Offer(offer)) => {
                if !self.snapshots.wants_offers() {
                    return;
                }
                let now = self.context.current();
                // Gathering offers: the head is genesis, whose state names the sets.
                let outcomes = {
                    let chain =
                        self.node.chain.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                    self.snapshots.receive_offer(
                        &peer,
                        *offer,
                        now,
                        &mut self.context,
                        &self.namespace,
                        &chain.state,
                        &self.authorities,
                    )
                };
                self.snapshot_outcomes(outcomes, sender);
            }
            Wire::Snapshot(crate::snapshot::Message::Epochs { from, proofs }) => {
                let now = self.context.current();
                let outcomes = self.snapshots.receive_epochs(
                    &peer,
                    from,
                    proofs,
                    now,
                    &mut self.context,
                    &self.namespace,
                );
                self.snapshot_outcomes(outcomes, sender);
            }
            Wire::Snapshot(message) => {
                let outcome = self.snapshots.receive(&peer, message, self.context.current());
                self.snapshot_outcomes(vec![outcome], sender);
            }
            Wire::Block(block) => {
                self.accept_block(&peer, block, false);
            }
            Wire::Want(hash) => {
                // The block alone: no ancestor is above a head of `u64::MAX`.
                let block = self.chain_above(&hash, u64::MAX).into_iter().next();
                if let Some(mut block) = block {
                    if self.behaviour == Behaviour::Serves(Serving::CorruptBlocks) {
                        block.transactions.push(self.garbage_transaction(&self.head().1));
                    }
                    let _ = sender.send(Recipients::One(peer), Wire::Block(block).encode(), false);
                }
            }
            Wire::WantFinalized { from } => {
                let found = {
                    let chain =
                        self.node.chain.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                    // The asker verifies the certificate with the set of `from`'s epoch:
                    // answer within that epoch, even one whose set this state no longer
                    // keeps (a node syncing from genesis asks for every epoch).
                    let upto = epochs::last_block_of(&chain.state, from)
                        .unwrap_or(u64::MAX)
                        .min(chain.head.number.get());
                    chain.store.last_certificate_in(from, upto).ok().flatten()
                };
                if let Some((number, mut bytes)) = found {
                    if self.behaviour == Behaviour::Serves(Serving::ForgedCertificates) {
                        // The last byte is in the last signature.
                        if let Some(last) = bytes.last_mut() {
                            *last ^= 1;
                        }
                    }
                    let answer = Wire::Certificate { number, bytes };
                    let _ = sender.send(Recipients::One(peer), answer.encode(), false);
                }
            }
            Wire::Certificate { number, bytes } => self.accept_certificate(&peer, number, &bytes),
            Wire::WantChain { hash, above } => {
                if !self.chain_answers.allows(&peer, self.context.current()) {
                    debug!(%peer, "a request of blocks over the peer's budget: dropped");
                    return;
                }
                let mut blocks = self.chain_above(&hash, above);
                if self.behaviour == Behaviour::Serves(Serving::BrokenChains) && blocks.len() >= 3 {
                    blocks.swap(1, 2);
                }
                if let Some(block) = blocks.first_mut() {
                    if self.behaviour == Behaviour::Serves(Serving::CorruptBlocks) {
                        block.transactions.push(self.garbage_transaction(&self.head().1));
                    }
                    let _ =
                        sender.send(Recipients::One(peer), Wire::Blocks(blocks).encode(), false);
                }
            }
            Wire::Blocks(blocks) => {
                // Only an answer to a request: its first block was asked for by hash, and each
                // next one is the parent of the one before (an honest server never breaks the
                // chain nor sends more than asked).
                let Some(first) = blocks.first() else {
                    self.punish(&peer, "an empty answer of blocks");
                    return;
                };
                if !self.wanted.contains_key(&first.header.hash()) {
                    return;
                }
                let linked =
                    blocks.windows(2).all(|w| w[0].header.parent_hash == w[1].header.hash());
                if blocks.len() > MAX_CHAIN_BLOCKS || !linked {
                    self.punish(&peer, "an answer of blocks that is not a chain");
                    return;
                }
                for block in blocks {
                    if !self.accept_block(&peer, block, true) {
                        return;
                    }
                }
            }
            Wire::Transaction(transaction) => {
                let transaction = *transaction;
                // The signature is checked before the chain's lock is taken.
                let Ok(verified) = VerifiedTransaction::verify(transaction) else {
                    debug!(%peer, "a peer gossiped a transaction with a bad signature");
                    return;
                };
                let mut chain =
                    self.node.chain.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                let _ = chain.submit_verified(verified);
            }
        }
    }

    /// Sends what the snapshot fetch or server asked for; blocks the peers it caught lying.
    fn snapshot_outcomes(
        &mut self,
        outcomes: Vec<crate::snapshot::Outcome>,
        sender: &mut impl Sender<PublicKey = PublicKey>,
    ) {
        use crate::snapshot::Outcome;
        for outcome in outcomes {
            match outcome {
                Outcome::None => {}
                Outcome::Send(peer, message) => {
                    let bytes = Wire::Snapshot(message).encode();
                    let _ = sender.send(Recipients::One(peer), bytes, false);
                }
                Outcome::Broadcast(message) => {
                    let _ = sender.send(Recipients::All, Wire::Snapshot(message).encode(), false);
                }
                Outcome::Block(peer) => self.punish(&peer, "a tampered snapshot offer or chunk"),
                Outcome::WantBlock(hash) => {
                    let _ = sender.send(Recipients::All, Wire::Want(hash).encode(), false);
                }
            }
        }
    }

    /// Installs the fetched snapshot with its block; the node then follows the chain from
    /// there by certificates.
    fn install_snapshot(&mut self, block: &Block) {
        let installed = {
            let mut chain = self.node.chain.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            self.snapshots.install(&mut chain, block)
        };
        match installed {
            Ok(Some(number)) => {
                self.node.sync.saw(number);
                self.blocks.clear();
                self.executed.clear();
                self.finalized.clear();
                self.certificates.clear();
                self.wanted.clear();
                self.unsolicited.clear();
                self.last_commit = self.context.current();
                self.track_peers();
                self.enter_epoch();
            }
            Ok(None) => {}
            Err(e) => error!("cannot install the snapshot: {e:#}"),
        }
    }

    /// Asks the peers for a block, unless it was asked for moments ago.
    fn want(&mut self, hash: Hash, sender: &mut impl Sender<PublicKey = PublicKey>) {
        let now = self.context.current();
        let due = match self.wanted.get(&hash) {
            Some(asked) => now.duration_since(*asked).map(|d| d >= WANT_RETRY).unwrap_or(true),
            None => true,
        };
        if due {
            // While catching up, the first ask goes to the peer whose certificate is being
            // followed (it holds the blocks behind it); a retry, and any other ask, to all.
            let first = !self.wanted.contains_key(&hash);
            let recipients = match &self.sync_peer {
                Some(peer) if first && !self.finalized.is_empty() => Recipients::One(peer.clone()),
                _ => Recipients::All,
            };
            let above = self.head_header().number.get();
            debug!(%hash, above, "asking peers for a block and its ancestors");
            self.wanted.insert(hash, now);
            let _ = sender.send(recipients, Wire::WantChain { hash, above }.encode(), false);
        }
    }

    /// The block `hash` and its ancestors above block `above`, newest first, as
    /// `Wire::Blocks` carries them: a block held in memory (not final yet) alone, or
    /// committed blocks from the store (as many as it keeps, within the answer's bounds).
    fn chain_above(&self, hash: &Hash, above: u64) -> Vec<Block> {
        if let Some(block) = self.blocks.get(hash) {
            return vec![block.clone()];
        }
        let chain = self.node.chain.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let Ok(Some(number)) = chain.store.number_of(hash) else { return Vec::new() };
        let lowest = above.saturating_add(1).min(number);
        let mut blocks = Vec::new();
        let mut bytes = 0usize;
        for n in (lowest..=number).rev() {
            let Ok(Some(block)) = chain.store.block(n) else { break };
            let size = block.encoded_size();
            if blocks.len() >= MAX_CHAIN_BLOCKS
                || (!blocks.is_empty() && bytes.saturating_add(size) > CHAIN_BYTES)
            {
                break;
            }
            bytes = bytes.saturating_add(size);
            blocks.push(block);
        }
        blocks
    }

    /// Whether block `number` belongs to `epoch` (an engine of one epoch neither builds nor
    /// accepts blocks of another).
    fn in_epoch(&self, epoch: Epoch, number: u64) -> bool {
        let chain = self.node.chain.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        Epoch::new(epochs::epoch_of(&chain.state, number)) == epoch
    }

    /// Whether `hash` is a committed (finalized) block.
    fn is_finalized(&self, hash: &Hash) -> bool {
        let chain = self.node.chain.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        chain.head.hash() == *hash || matches!(chain.store.number_of(hash), Ok(Some(_)))
    }

    /// Executes `hash` and its unexecuted ancestors back to the finalized head.
    fn execute(
        &mut self,
        hash: Hash,
        sender: &mut impl Sender<PublicKey = PublicKey>,
    ) -> Execution {
        let head = self.head_header();
        let head_hash = head.hash();
        let mut path = Vec::new();
        let mut cursor = hash;
        while cursor != head_hash && !self.executed.contains_key(&cursor) {
            if self.invalid.contains(&cursor) {
                self.invalid.extend(path);
                return Execution::Invalid;
            }
            let Some(block) = self.blocks.get(&cursor) else {
                if self.is_finalized(&cursor) {
                    if path.is_empty() {
                        return Execution::Finalized;
                    }
                    // Builds on a finalized block below the head: a fork, never final.
                    self.invalid.extend(path);
                    return Execution::Invalid;
                }
                self.want(cursor, sender);
                return Execution::Missing;
            };
            if block.header.number <= head.number {
                // A fork below the finalized head: never part of the chain.
                path.push(cursor);
                self.invalid.extend(path);
                return Execution::Invalid;
            }
            path.push(cursor);
            cursor = block.header.parent_hash;
        }
        // Only the first block of the path can build on the head: its state is cloned once.
        let mut head_state = None;
        let now = self.now_ms();
        for hash in path.into_iter().rev() {
            let block = &self.blocks[&hash];
            let parent_hash = block.header.parent_hash;
            let checked = if parent_hash == head_hash {
                let state = head_state.get_or_insert_with(|| self.head().1);
                check_block(&head, state, block, now)
            } else {
                let parent = &self.blocks[&parent_hash].header;
                let (state, _) = &self.executed[&parent_hash];
                check_block(parent, state, block, now)
            };
            match checked {
                Ok(executed) => {
                    self.executed.insert(hash, executed);
                }
                Err(e) => {
                    warn!(number = block.header.number.get(), %hash, "block does not verify: {e:#}");
                    self.invalid.insert(hash);
                    return Execution::Invalid;
                }
            }
        }
        Execution::Done
    }

    /// Answers what can be answered, commits what is finalized.
    fn progress(&mut self, sender: &mut impl Sender<PublicKey = PublicKey>) -> anyhow::Result<()> {
        self.commit_finalized(sender)?;
        let verifies = std::mem::take(&mut self.verifies);
        for pending in verifies {
            if pending.response.is_closed() {
                continue;
            }
            let hash = block_hash(&pending.payload);
            let parent = block_hash(&pending.context.parent.1);
            let verdict = match self.blocks.get(&hash) {
                None if self.invalid.contains(&hash) => Some(false),
                // Replayed after a restart: the block is already final.
                None if self.is_finalized(&hash) => Some(true),
                None => {
                    self.want(hash, sender);
                    None
                }
                Some(block) if block.header.parent_hash != parent => Some(false),
                Some(block)
                    if !self.in_epoch(pending.context.round.epoch(), block.header.number.get()) =>
                {
                    Some(false)
                }
                Some(_) => match self.execute(hash, sender) {
                    Execution::Done | Execution::Finalized => Some(true),
                    Execution::Invalid => Some(false),
                    Execution::Missing => None,
                },
            };
            match verdict {
                Some(verdict) => {
                    debug!(%hash, verdict, "verified");
                    let _ = pending.response.send(verdict);
                }
                None => self.verifies.push(pending),
            }
        }
        let proposes = std::mem::take(&mut self.proposes);
        for pending in proposes {
            if pending.response.is_closed() {
                continue;
            }
            match self.try_propose(&pending.context, sender) {
                Some(digest) => {
                    let _ = pending.response.send(digest);
                }
                None => self.proposes.push(pending),
            }
        }
        Ok(())
    }

    /// Builds the block for `context` once its parent is executed and the block time has
    /// passed since the parent's timestamp.
    fn try_propose(
        &mut self,
        context: &Context<Digest, PublicKey>,
        sender: &mut impl Sender<PublicKey = PublicKey>,
    ) -> Option<Digest> {
        let parent_hash = block_hash(&context.parent.1);
        let head = self.head_header();
        let on_head = parent_hash == head.hash();
        let parent = if on_head {
            head
        } else {
            match self.execute(parent_hash, sender) {
                Execution::Done => self.blocks[&parent_hash].header.clone(),
                Execution::Invalid | Execution::Missing | Execution::Finalized => return None,
            }
        };
        // The last block of an epoch is the last its engine builds: the next epoch's engine
        // goes on from it.
        if !self.in_epoch(context.round.epoch(), parent.number.get().saturating_add(1)) {
            return None;
        }
        let now = self.now_ms();
        let due = parent
            .timestamp_ms
            .saturating_add(u64::try_from(self.block_time.as_millis()).unwrap_or(u64::MAX));
        if now < due {
            return None;
        }
        let state = if on_head { self.head().1 } else { self.executed[&parent_hash].0.clone() };
        let candidates = {
            let chain = self.node.chain.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            chain.mempool.ready(&state, MAX_BUILD_CANDIDATES)
        };
        let credit = self.credit_for(&state, parent.number.get(), context.round.epoch());
        // A credit the runtime refuses (a certificate this node mis-stored) costs only the
        // credit: the block is built without it.
        let built = build_block(&parent, &state, &candidates, now, credit.clone()).or_else(|e| {
            if credit.is_none() {
                return Err(e);
            }
            warn!("building without the signers' credit: {e:#}");
            build_block(&parent, &state, &candidates, now, None)
        });
        let built = match built {
            Ok(built) => built,
            Err(e) => {
                error!("cannot build a block: {e:#}");
                return None;
            }
        };
        if !built.refused.is_empty() {
            let mut chain = self.node.chain.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            chain.mempool.drop_refused(&built.refused);
        }
        let (mut block, next, outcome) = (built.block, built.state, built.outcome);
        match self.behaviour {
            Behaviour::Honest
            | Behaviour::Serves(_)
            | Behaviour::Forges(Forgery::BodyNotTheHeaders) => {}
            Behaviour::WrongStateRoot => block.header.state_root.0[0] ^= 1,
            Behaviour::Forges(forgery) => block = self.forge(forgery, &state, block, now),
        }
        let hash = block.header.hash();
        debug!(number = block.header.number.get(), %hash, transactions = block.transactions.len(), "proposing");
        if matches!(
            self.behaviour,
            Behaviour::Honest
                | Behaviour::Serves(_)
                | Behaviour::Forges(Forgery::BodyNotTheHeaders)
        ) {
            self.executed.insert(hash, (next, outcome));
        }
        self.blocks.insert(hash, block);
        Some(digest(&hash))
    }

    /// The signers' credit the block after `parent` can carry on a chain with proof of
    /// stake: the newest kept finalization certificate of a block of `epoch` above the last
    /// credited one, as the runtime reads it (one finalize signature per signer, by index).
    fn credit_for(&self, state: &State, parent: u64, epoch: Epoch) -> Option<FinalityCredit> {
        if !epochs::elects(state) {
            return None;
        }
        let first = epochs::first_block(state, epoch.get());
        let from =
            state.consensus().last_credited.get().max(first.saturating_sub(1)).saturating_add(1);
        let (_, bytes) = {
            let chain = self.node.chain.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            chain.store.last_certificate_in(from, parent).ok().flatten()?
        };
        let finalization = <Finalization<Scheme, Digest> as commonware_codec::Decode>::decode_cfg(
            bytes,
            &MAX_PARTICIPANTS,
        )
        .ok()?;
        if finalization.epoch() != epoch {
            return None;
        }
        let signers = finalization.certificate.signers.iter();
        let signatures = finalization.certificate.signatures.iter();
        let signatures = signers
            .zip(signatures)
            .map(|(index, signature)| {
                let bytes = commonware_codec::Encode::encode(signature);
                Some((index.get(), ConsensusSignature(bytes.as_ref().try_into().ok()?)))
            })
            .collect::<Option<Vec<_>>>()?;
        Some(FinalityCredit {
            epoch: epoch.get(),
            view: finalization.proposal.round.view().get(),
            parent_view: finalization.proposal.parent.get(),
            block: block_hash(&finalization.proposal.payload),
            signatures,
        })
    }

    /// A signed-looking transfer with an all-zero signature (a forging leader's).
    fn garbage_transaction(&self, state: &State) -> SignedTransaction {
        let signer = state.accounts().next().map(|(id, _)| *id).unwrap_or_default();
        let transaction = tao_types::Transaction {
            genesis_hash: state.genesis_hash(),
            signer,
            nonce: state.account(&signer).nonce,
            call: tao_types::Call::Transfer { dest: signer, amount: tao_primitives::Rao::new(1) },
        };
        SignedTransaction { transaction, signature: tao_types::Signature([0; 64]) }
    }

    /// A forging leader's block: `honest` with `forgery` applied, its roots recomputed.
    fn forge(&self, forgery: Forgery, state: &State, honest: Block, now: u64) -> Block {
        let Block { mut header, mut transactions, credit } = honest;
        match forgery {
            Forgery::ReplayedTransaction => {
                let chain = self.node.chain.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                let head = chain.head.number.get();
                let old = (head.saturating_sub(64)..=head)
                    .rev()
                    .filter_map(|n| chain.store.block(n).ok().flatten())
                    .find_map(|block| block.transactions.into_iter().next());
                transactions.extend(old);
            }
            Forgery::BadSignature => transactions.insert(0, self.garbage_transaction(state)),
            Forgery::UnpaidTransaction => {
                let broke = tao_types::Keypair::from_seed(&[0x66; 32]);
                let transaction = tao_types::Transaction {
                    genesis_hash: state.genesis_hash(),
                    signer: broke.account(),
                    nonce: state.account(&broke.account()).nonce,
                    call: tao_types::Call::Transfer {
                        dest: broke.account(),
                        amount: tao_primitives::Rao::new(1),
                    },
                };
                transactions.insert(0, transaction.sign(&broke));
            }
            Forgery::FarFutureTimestamp => {
                header.timestamp_ms = now.saturating_add(100 * 365 * 24 * 3_600 * 1_000)
            }
            Forgery::BodyNotTheHeaders => {}
        }
        let mut next = state.clone();
        let context = tao_runtime::BlockContext {
            number: header.number,
            parent_hash: header.parent_hash,
            credit: credit.clone(),
        };
        if let Ok(outcome) = tao_runtime::execute_block(&mut next, &context, &transactions) {
            header.state_root = outcome.state_root;
        }
        header.transactions_root = tao_types::transactions_root(&transactions, credit.as_ref());
        Block { header, transactions, credit }
    }

    /// Commits every finalized block whose ancestry is here, in height order.
    fn commit_finalized(
        &mut self,
        sender: &mut impl Sender<PublicKey = PublicKey>,
    ) -> anyhow::Result<()> {
        let targets = std::mem::take(&mut self.finalized);
        for target in targets {
            let known = {
                let chain = self.node.chain.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                chain.head.hash() == target || chain.store.number_of(&target)?.is_some()
            };
            if known {
                continue;
            }
            match self.execute(target, sender) {
                Execution::Finalized => continue,
                Execution::Missing => {
                    self.finalized.push(target);
                    continue;
                }
                Execution::Invalid => anyhow::bail!(
                    "block {target} was finalized by the validators but does not verify here: \
                     this node's store or binary differs from theirs"
                ),
                Execution::Done => {}
            }
            let head_hash = self.head_header().hash();
            let mut path = Vec::new();
            let mut cursor = target;
            while cursor != head_hash {
                path.push(cursor);
                cursor = self.blocks[&cursor].header.parent_hash;
            }
            // A node catching up commits many blocks behind one certificate: only the last
            // commit waits for the disk (`fsync`); the ones before it are made durable with
            // it. A crash in between loses a suffix of them, never consistency (each commit
            // is one transaction), and they are fetched again.
            let count = path.len();
            for (index, hash) in path.into_iter().rev().enumerate() {
                let block = self.blocks.remove(&hash).expect("executed blocks are kept");
                let (state, outcome) = self.executed.remove(&hash).expect("executed");
                let started = std::time::Instant::now();
                {
                    let mut chain = self
                        .node
                        .chain
                        .lock()
                        .map_err(|_| anyhow::anyhow!("chain lock poisoned"))?;
                    let certificate = self.certificates.remove(&hash);
                    let durability = match index + 1 == count {
                        true => redb::Durability::Immediate,
                        false => redb::Durability::Eventual,
                    };
                    chain.store.set_durability(durability);
                    let committed =
                        chain.commit_certified(&block, state, &outcome, certificate.as_deref());
                    chain.store.set_durability(redb::Durability::Immediate);
                    committed?;
                    self.snapshots.committed(&chain, certificate.as_deref());
                }
                self.last_commit = self.context.current();
                let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
                self.node.announce(&block, &outcome, micros);
            }
            let head = self.head_header().number;
            self.track_peers();
            self.enter_epoch();
            self.blocks.retain(|_, block| block.header.number > head);
            let blocks = &self.blocks;
            self.executed.retain(|hash, _| blocks.contains_key(hash));
            self.unsolicited.retain(|hash, _| blocks.contains_key(hash));
            let finalized = &self.finalized;
            self.certificates
                .retain(|hash, _| blocks.contains_key(hash) || finalized.contains(hash));
            if self.invalid.len() > MAX_PENDING_BLOCKS {
                self.invalid.clear();
            }
            // Requests nobody answered (hashes a faulty peer made up) do not pile up.
            if self.wanted.len() > MAX_PENDING_BLOCKS {
                self.wanted.clear();
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use commonware_consensus::{
        simplex::types::{
            ConflictingFinalize, ConflictingNotarize, Finalize, Notarize, Nullify, NullifyFinalize,
            Proposal,
        },
        types::{Round, View},
    };

    /// Real commonware faults by one signer of a 4-validator set, converted as the node
    /// converts them: the chain's check accepts each (its vote message is the bytes
    /// commonware signs), names the signer, and refuses it on another chain.
    #[test]
    fn commonware_faults_become_evidence_the_chain_accepts() {
        let signers: Vec<ed25519::PrivateKey> =
            (0..4).map(ed25519::PrivateKey::from_seed).collect();
        let mut keys: Vec<PublicKey> = signers.iter().map(|s| s.public_key()).collect();
        keys.sort();
        let genesis = Hash([7; 32]);
        let offender = keys.iter().position(|k| *k == signers[2].public_key()).unwrap();
        let participants = commonware_utils::ordered::Set::try_from(keys.clone()).unwrap();
        let scheme =
            Scheme::signer(&namespace(&genesis), participants, signers[2].clone()).unwrap();
        let round = Round::new(Epoch::new(3), View::new(41));
        let proposal = |byte: u8| Proposal::new(round, View::new(40), sha256::Digest([byte; 32]));
        let notarize = |byte| Notarize::<Scheme, Digest>::sign(&scheme, proposal(byte)).unwrap();
        let finalize = |byte| Finalize::<Scheme, Digest>::sign(&scheme, proposal(byte)).unwrap();
        let nullify = Nullify::<Scheme>::sign::<Digest>(&scheme, round).unwrap();
        let faults = [
            (
                FaultKind::ConflictingNotarize,
                commonware_codec::Encode::encode(&ConflictingNotarize::new(
                    notarize(1),
                    notarize(2),
                ))
                .to_vec(),
            ),
            (
                FaultKind::ConflictingFinalize,
                commonware_codec::Encode::encode(&ConflictingFinalize::new(
                    finalize(1),
                    finalize(2),
                ))
                .to_vec(),
            ),
            (
                FaultKind::NullifyFinalize,
                commonware_codec::Encode::encode(&NullifyFinalize::new(nullify, finalize(1)))
                    .to_vec(),
            ),
        ];
        let signer = epochs::consensus_key(&keys[offender]);
        for (kind, bytes) in faults {
            let evidence = evidence_parts(kind, &bytes).expect("a fault decodes").evidence(signer);
            assert_eq!(evidence.check(&genesis), Ok(()), "{kind:?}: {evidence:?}");
            assert_eq!(evidence.signer(), signer);
            assert_eq!(evidence.round(), (3, 41));
            assert!(evidence.check(&Hash([8; 32])).is_err(), "{kind:?}: valid on another chain");
            assert!(evidence_parts(kind, &bytes[..bytes.len() - 1]).is_none(), "truncated");
        }
    }
}
