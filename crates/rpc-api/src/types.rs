//! The parameter and result types of the methods (`docs/rpc.md` describes each field).
//!
//! Amounts are integers in the smallest unit (RAO for TAO, 10⁻⁹ for alpha). Per-account,
//! per-stake, per-pool and per-neuron amounts and prices of things (fees, burns, lock cost)
//! are JSON numbers; chain-wide and subnet-wide totals, which reach 2^53 during the
//! chain's life (21 million TAO is 2.1·10¹⁶ RAO), are decimal strings ([`BigAmount`],
//! [`WideAmount`]). Prices (TAO per alpha) are decimal strings of the chain's fixed-point
//! value, never floats.

use crate::wire::{Address, BigAmount, WideAmount, H256};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// `tao_health`: the node's progress.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Health {
    /// The head's number.
    pub block: u64,
    /// The last final block's number.
    pub finalized: u64,
    /// Transactions in the pool.
    pub pending: u64,
    /// Whether the node knows of blocks beyond its head it has not imported yet (a
    /// follower or validator catching up); `tao_syncState` says more. Absent from nodes
    /// older than API 1.3.0 (read as `false`).
    #[serde(default)]
    pub syncing: bool,
}

/// `tao_syncState`: how far the node is, and how far the chain it knows of is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SyncState {
    /// The head's number.
    pub head: u64,
    /// The last final block's number.
    pub finalized: u64,
    /// The highest block number the node has seen announced (by the node it follows, or
    /// by a block a validator fetched because consensus referenced it); at least `head`.
    pub highest_seen: u64,
    /// Connected peers: a validator's p2p peers, a follower's upstream (1 if its last poll
    /// answered), 0 for a single producer.
    pub peers: u64,
    /// Whether `highest_seen` is beyond `head` (blocks are still to be imported).
    pub syncing: bool,
    /// The lowest block whose body and receipts the node keeps (1 unless pruned).
    pub oldest_block: u64,
}

/// The `data` of error `-32005` ([`crate::ERROR_PRUNED`]): the block asked for was pruned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PrunedBlock {
    /// The block asked for.
    pub block: u64,
    /// The lowest block the node keeps.
    pub oldest: u64,
    /// The node's head.
    pub head: u64,
}

/// A block header.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Header {
    /// Height.
    pub number: u64,
    /// The header's hash.
    pub hash: H256,
    /// The parent header's hash.
    pub parent_hash: H256,
    /// The state root after the block.
    pub state_root: H256,
    /// The root of the block's transactions.
    pub transactions_root: H256,
    /// The producer's wall-clock time, milliseconds since the Unix epoch (informative).
    pub timestamp_ms: u64,
}

/// Which block: a number or a hash (`tao_getBlock`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum BlockId {
    /// By height.
    Number(u64),
    /// By hash.
    Hash(H256),
}

/// `tao_getBlock`: a block with a summary of each transaction.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Block {
    /// Its header.
    pub header: Header,
    /// Its transactions, in order.
    pub transactions: Vec<TransactionSummary>,
}

/// One transaction of a block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TransactionSummary {
    /// Its hash.
    pub hash: H256,
    /// Who signed it.
    pub signer: Address,
    /// Its nonce.
    pub nonce: u64,
    /// The call's name (e.g. `transfer_keep_alive`).
    pub call: String,
}

/// How a transaction ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Executed; its effects are in the state.
    Success,
    /// Executed and failed: the fee was charged, nothing else happened.
    Failed,
    /// Not executable (e.g. a failing free call): nothing happened.
    Invalid,
}

/// Why a transaction failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ReceiptError {
    /// The chain's error name (what a client acts on, e.g. `RevealTooEarly`).
    pub name: String,
    /// A sentence for people.
    pub message: String,
    /// For a refusal that only asks to wait (a rate limit, a vote lock): the first block at
    /// which the same call could succeed (since API 1.2.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_at: Option<u64>,
}

/// What a transaction did (or, from `tao_dryRun`, would do).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Receipt {
    /// The transaction's hash.
    pub tx_hash: H256,
    /// The block it is (or would be) in.
    pub block: u64,
    /// That block's hash; `null` in a dry run.
    pub block_hash: Option<H256>,
    /// Its index in the block.
    pub index: u32,
    /// Who signed it.
    pub signer: Address,
    /// The fee charged, RAO.
    pub fee: u64,
    /// How it ended.
    pub outcome: Outcome,
    /// Why it failed; `null` on success.
    pub error: Option<ReceiptError>,
    /// Its events, in order (their Rust debug form).
    pub events: Vec<String>,
    /// The same events as objects, in order (since API 1.1.0; empty from an older node).
    #[serde(default)]
    pub event_details: Vec<Event>,
}

/// Where stake sits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct StakeLocation {
    /// The coldkey that owns it.
    pub coldkey: Address,
    /// The hotkey it is staked to.
    pub hotkey: Address,
    /// The subnet.
    pub netuid: u16,
}

/// An event as an object, named by `kind`; amounts in RAO (alpha in 10⁻⁹).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "kind")]
pub enum Event {
    /// TAO moved between accounts.
    Transfer {
        /// Sender.
        from: Address,
        /// Receiver.
        to: Address,
        /// Amount, RAO.
        amount: u64,
    },
    /// A subnet was created.
    NetworkAdded {
        /// Its id.
        netuid: u16,
        /// Its owner's coldkey.
        owner: Address,
        /// TAO locked, RAO.
        lock: u64,
    },
    /// A subnet was removed and its lock refunded.
    NetworkRemoved {
        /// Its id.
        netuid: u16,
        /// TAO returned to the owner, RAO.
        refund: u64,
    },
    /// A subnet's emission starts at `block`.
    EmissionStarted {
        /// The subnet.
        netuid: u16,
        /// The first emission block.
        block: u64,
    },
    /// A subnet hyperparameter changed.
    HyperparameterSet {
        /// The subnet.
        netuid: u16,
        /// The parameter (as `tao subnets hyperparameters` names it).
        name: String,
        /// Its new value as text (an integer, `true`/`false`, RAO for burns).
        value: String,
    },
    /// A chain-wide parameter changed.
    GlobalParameterSet {
        /// The parameter and its value (the chain's debug form, e.g. `SubnetLimit(128)`).
        parameter: String,
    },
    /// A neuron registered, possibly replacing another.
    NeuronRegistered {
        /// The subnet.
        netuid: u16,
        /// Its UID.
        uid: u16,
        /// Its hotkey.
        hotkey: Address,
        /// The hotkey it replaced, if the subnet was full.
        replaced: Option<Address>,
        /// TAO burned, RAO (0 for proof of work).
        cost: u64,
    },
    /// A neuron published its axon.
    AxonServed {
        /// The subnet.
        netuid: u16,
        /// The hotkey.
        hotkey: Address,
    },
    /// A validator's weights changed.
    WeightsSet {
        /// The subnet.
        netuid: u16,
        /// The validator's UID.
        uid: u16,
    },
    /// A validator committed to weights.
    WeightsCommitted {
        /// The subnet.
        netuid: u16,
        /// The validator's hotkey.
        hotkey: Address,
        /// The commit.
        commit_hash: H256,
    },
    /// An epoch ran and paid out.
    EpochCompleted {
        /// The subnet.
        netuid: u16,
        /// Alpha paid to miners, validators, root stakers and the owner.
        emission: u64,
    },
    /// Stake was added: TAO in, alpha out.
    StakeAdded {
        /// The coldkey.
        coldkey: Address,
        /// The hotkey.
        hotkey: Address,
        /// The subnet.
        netuid: u16,
        /// TAO spent (fee included), RAO.
        tao: u64,
        /// Alpha credited.
        alpha: u64,
    },
    /// Stake was removed: alpha in, TAO out.
    StakeRemoved {
        /// The coldkey.
        coldkey: Address,
        /// The hotkey.
        hotkey: Address,
        /// The subnet.
        netuid: u16,
        /// Alpha debited.
        alpha: u64,
        /// TAO received, RAO.
        tao: u64,
    },
    /// Stake moved between hotkeys, subnets or coldkeys.
    StakeMoved {
        /// Where it was.
        from: StakeLocation,
        /// Where it is.
        to: StakeLocation,
        /// Alpha credited at the destination.
        alpha: u64,
    },
    /// A hotkey's delegate take changed.
    TakeChanged {
        /// The hotkey.
        hotkey: Address,
        /// The new take (u16 proportion).
        take: u16,
    },
    /// A due epoch was deferred by the per-block cap.
    EpochDeferred {
        /// The subnet.
        netuid: u16,
    },
    /// New TAO minted this block.
    Minted {
        /// Amount, RAO.
        amount: u64,
    },
    /// The owner scheduled the subnet's epoch early.
    EpochTriggered {
        /// The subnet.
        netuid: u16,
        /// The block it will run at.
        at: u64,
    },
    /// The root key changed hands or was removed (since API 1.2.0, as are the governance
    /// events below).
    SudoChanged {
        /// The new root key; `null`: none.
        key: Option<Address>,
    },
    /// A proposal was submitted and is open for votes.
    ProposalSubmitted {
        /// The proposal.
        proposal: u32,
        /// Who proposed it.
        proposer: Address,
        /// `standard` or `critical`.
        track: String,
        /// TAO put down, RAO.
        deposit: u64,
        /// The last block votes are taken.
        voting_ends: u64,
    },
    /// A vote was cast or replaced.
    Voted {
        /// The proposal.
        proposal: u32,
        /// The voter.
        voter: Address,
        /// `yes`, `no`, `abstain` or `veto`.
        choice: String,
    },
    /// The proposer withdrew a proposal.
    ProposalCancelled {
        /// The proposal.
        proposal: u32,
    },
    /// A proposal passed.
    ProposalPassed {
        /// The proposal.
        proposal: u32,
        /// The final count.
        tally: Tally,
        /// The block its calls take effect.
        enact_at: u64,
    },
    /// A proposal did not pass.
    ProposalRejected {
        /// The proposal.
        proposal: u32,
        /// The final count.
        tally: Tally,
        /// `no_quorum`, `below_threshold` or `vetoed`.
        reason: String,
    },
    /// A deposit went back to its proposer.
    DepositReturned {
        /// The proposal.
        proposal: u32,
        /// The proposer.
        to: Address,
        /// RAO.
        amount: u64,
    },
    /// A vetoed proposal's deposit was burned.
    DepositBurned {
        /// The proposal.
        proposal: u32,
        /// RAO.
        amount: u64,
    },
    /// A passed proposal's calls all took effect (their events follow).
    ProposalEnacted {
        /// The proposal.
        proposal: u32,
    },
    /// A passed proposal's call failed, so none took effect.
    ProposalEnactmentFailed {
        /// The proposal.
        proposal: u32,
        /// The failing call's position (from 0).
        index: u32,
        /// Why it failed.
        error: ReceiptError,
    },
    /// A payment channel was opened (since 1.2.0).
    ChannelOpened {
        /// Its id.
        channel: u64,
        /// Who pays.
        payer: Address,
        /// Who may claim.
        payee: Address,
        /// TAO locked, RAO.
        deposit: u64,
        /// The block from which the payer may close it.
        expiry: u64,
    },
    /// A channel's deposit grew or its expiry moved later (since 1.2.0).
    ChannelToppedUp {
        /// The channel.
        channel: u64,
        /// RAO added.
        amount: u64,
        /// The deposit now, RAO.
        deposit: u64,
        /// The expiry now.
        expiry: u64,
    },
    /// A channel's payee was paid by voucher (since 1.2.0).
    ChannelClaimed {
        /// The channel.
        channel: u64,
        /// Who was paid.
        payee: Address,
        /// RAO paid by this claim.
        amount: u64,
        /// RAO claimed from the channel in total.
        claimed: u64,
    },
    /// A channel was closed and its unclaimed deposit refunded (since 1.2.0).
    ChannelClosed {
        /// The channel.
        channel: u64,
        /// Who was refunded.
        payer: Address,
        /// RAO returned.
        refund: u64,
        /// RAO the payee claimed over the channel's life.
        claimed: u64,
    },
    /// A validator candidate registered (since 1.4.0, as are the proof-of-stake events
    /// below).
    ValidatorRegistered {
        /// Its controller coldkey.
        controller: Address,
        /// Its consensus key (0x-hex ed25519).
        consensus_key: String,
        /// Its p2p address, `IP:PORT`.
        p2p_address: String,
        /// Its commission, parts per 10,000.
        commission: u16,
    },
    /// A candidate's address or commission changed (a commission from the next epoch).
    ValidatorInfoSet {
        /// The controller.
        controller: Address,
        /// The new address, if it changed.
        p2p_address: Option<String>,
        /// The new commission (parts per 10,000), if it changed.
        commission: Option<u16>,
    },
    /// TAO was bonded to a candidate (a self-bond or a nomination).
    Bonded {
        /// Who bonded.
        bonder: Address,
        /// The candidate's controller.
        validator: Address,
        /// RAO bonded.
        amount: u64,
    },
    /// TAO started unbonding.
    Unbonded {
        /// Whose TAO.
        bonder: Address,
        /// The candidate's controller.
        validator: Address,
        /// RAO unbonding.
        amount: u64,
        /// The block it becomes free.
        release_at: u64,
    },
    /// Unbonded TAO became free.
    UnbondingReleased {
        /// Whose TAO.
        account: Address,
        /// RAO released.
        amount: u64,
    },
    /// An epoch's validator set was elected (members ordered by consensus key).
    ValidatorSetElected {
        /// The epoch it validates.
        epoch: u64,
        /// Its members.
        members: Vec<ElectedMember>,
    },
    /// No candidate qualified: the previous set continues for `epoch`.
    ValidatorSetKept {
        /// The epoch it validates.
        epoch: u64,
    },
    /// A finality credit counted signed blocks for its signers.
    FinalityCredited {
        /// The epoch.
        epoch: u64,
        /// The height credited up to.
        height: u64,
        /// How many validators signed.
        signers: u32,
    },
    /// An epoch's fees were paid to one of its validators and its bonders.
    ValidatorRewarded {
        /// The epoch.
        epoch: u64,
        /// The controller.
        validator: Address,
        /// Blocks credited to it.
        signed: u64,
        /// RAO paid in all (commission and bonders).
        reward: u64,
        /// Of which the controller's commission, RAO.
        commission: u64,
    },
    /// An epoch's fees were burned (no validator was credited with a block).
    EpochFeesBurned {
        /// The epoch.
        epoch: u64,
        /// RAO burned.
        amount: u64,
    },
    /// A validator's bonders were slashed for equivocation (the TAO is burned).
    ValidatorSlashed {
        /// The controller.
        validator: Address,
        /// The epoch of the equivocation.
        epoch: u64,
        /// Its view.
        view: u64,
        /// RAO slashed from bonds and unbonding chunks.
        amount: u64,
    },
    /// A validator was jailed (not elected until it unjails).
    ValidatorJailed {
        /// The controller.
        validator: Address,
        /// The first block it may unjail.
        until: u64,
    },
    /// A validator left jail.
    ValidatorUnjailed {
        /// The controller.
        validator: Address,
    },
}

/// A member of an elected validator set (`ValidatorSetElected`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ElectedMember {
    /// Its controller coldkey.
    pub controller: Address,
    /// Its consensus key (0x-hex ed25519).
    pub consensus_key: String,
    /// Its total bond when elected, RAO.
    pub bond: u64,
}

/// A proposal's votes as stake valued in TAO (RAO, decimal strings).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Tally {
    /// For.
    pub yes: BigAmount,
    /// Against.
    pub no: BigAmount,
    /// Abstaining (counts for the quorum only).
    pub abstain: BigAmount,
    /// Vetoing.
    pub veto: BigAmount,
    /// All stake that could vote.
    pub total: BigAmount,
}

/// Governance parameters (`gov_*` global parameters; proportions are u16, 65535 = 100 %).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct GovernanceParams {
    /// A proposal's deposit, RAO.
    pub deposit: u64,
    /// Blocks a proposal is open for votes.
    pub voting_period: u64,
    /// Blocks from passing to enactment.
    pub enactment_delay: u64,
    /// Share of all stake that must vote (standard track).
    pub quorum: u16,
    /// Share of yes among yes, no and veto needed, strictly more (standard track).
    pub threshold: u16,
    /// Share of vetoes among all votes that rejects and burns the deposit, strictly more.
    pub veto_threshold: u16,
    /// The critical track's quorum.
    pub critical_quorum: u16,
    /// The critical track's threshold.
    pub critical_threshold: u16,
    /// Most proposals open at once.
    pub max_open: u32,
}

/// A proposal (`tao_governance`, `tao_proposal`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Proposal {
    /// Its number.
    pub id: u32,
    /// Who proposed it.
    pub proposer: Address,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// `standard` or `critical`.
    pub track: String,
    /// Its calls, described for people, in order.
    pub calls: Vec<String>,
    /// TAO held as its deposit now, RAO (0 once returned or burned).
    pub deposit: u64,
    /// The block it was submitted.
    pub submitted: u64,
    /// The last block votes are taken.
    pub voting_ends: u64,
    /// `voting`, `passed`, `rejected`, `cancelled`, `enacted` or `failed`.
    pub status: String,
    /// Why it was rejected (`no_quorum`, `below_threshold`, `vetoed`), or why its enactment
    /// failed.
    pub reason: Option<String>,
    /// When passed: the block its calls take (or took) effect.
    pub enact_at: Option<u64>,
    /// The count: live while voting (the stake as it stands now), final after.
    pub tally: Tally,
    /// Whether the live or final count clears its track's bar.
    pub passing: bool,
    /// How many accounts voted.
    pub voters: u32,
}

/// `tao_governance`: the parameters and every open and recently finished proposal.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Governance {
    /// The head's number.
    pub block: u64,
    /// The root key, if the chain still has one.
    pub sudo: Option<Address>,
    /// The parameters.
    pub params: GovernanceParams,
    /// Proposals, newest first.
    pub proposals: Vec<Proposal>,
}

/// One vote.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Vote {
    /// The voter.
    pub voter: Address,
    /// `yes`, `no`, `abstain` or `veto`.
    pub choice: String,
}

/// `tao_proposal`: one proposal with its votes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ProposalDetail {
    /// The proposal.
    pub proposal: Proposal,
    /// Its votes in voter order (the first 1,000; `voters` counts them all).
    pub votes: Vec<Vote>,
}

impl Receipt {
    /// Whether the transaction succeeded.
    pub fn succeeded(&self) -> bool {
        self.outcome == Outcome::Success
    }
}

/// `tao_transactionStatus`: where a transaction is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "status", rename_all = "lowercase")]
// A wire type read once per answer: the size of the other (empty) variants does not matter,
// and boxing the receipt would change the type's Rust shape for every client.
#[allow(clippy::large_enum_variant)]
pub enum TransactionStatus {
    /// In a final block, with its receipt.
    Finalized {
        /// Its receipt.
        receipt: Receipt,
    },
    /// In the pool.
    Pending,
    /// Neither (never seen, dropped, or not yet arrived).
    Unknown,
}

/// `tao_accountInfo`: an account's balance and nonces.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AccountInfo {
    /// The account.
    pub address: Address,
    /// Its free balance, RAO.
    pub free: u64,
    /// The state's nonce (transactions executed).
    pub nonce: u64,
    /// The nonce a new transaction should carry (after the consecutive pending ones).
    pub next_nonce: u64,
}

/// One non-zero stake of a coldkey (`tao_stakesOf`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct StakeEntry {
    /// The subnet (0: the root network).
    pub netuid: u16,
    /// The hotkey staked to.
    pub hotkey: Address,
    /// The stake: alpha units on a subnet, RAO on the root network.
    pub alpha: u64,
}

/// One subnet (`tao_subnets`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SubnetSummary {
    /// Its id.
    pub netuid: u16,
    /// The owner's coldkey.
    pub owner_coldkey: Address,
    /// The owner's hotkey.
    pub owner_hotkey: Address,
    /// Blocks between epochs.
    pub tempo: u16,
    /// Registered neurons.
    pub neurons: u64,
    /// Neuron slots.
    pub max_uids: u16,
    /// The registration price, RAO.
    pub burn: u64,
    /// TAO in the pool, RAO.
    pub pool_tao: u64,
    /// Alpha in the pool.
    pub pool_alpha: u64,
    /// The spot price, TAO per alpha (decimal string).
    pub price: String,
    /// The moving (EMA) price, TAO per alpha (decimal string).
    pub moving_price: String,
    /// Whether the owner started emission (`start_call`).
    pub emission_started: bool,
    /// The first block of emission; `null` until started.
    pub first_emission_block: Option<u64>,
    /// The block of the last epoch (since API 1.2.0; `null` from an older node).
    #[serde(default)]
    pub last_epoch_block: Option<u64>,
    /// The block the next epoch is due at the earliest; `null` when tempo 0 freezes the
    /// subnet (since 1.2.0).
    #[serde(default)]
    pub next_epoch_block: Option<u64>,
    /// Its share of each block's TAO emission, a decimal fraction string ("0.25"); `null`
    /// when it does not emit (since 1.2.0).
    #[serde(default)]
    pub emission_share: Option<String>,
}

/// A subnet's pool (`tao_metagraph`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Pool {
    /// TAO in the pool, RAO.
    pub tao: u64,
    /// Alpha in the pool.
    pub alpha_in: u64,
    /// Alpha outside the pool (the subnet's outstanding alpha; a decimal string).
    pub alpha_out: BigAmount,
    /// The spot price, TAO per alpha (decimal string).
    pub price: String,
    /// The moving (EMA) price, TAO per alpha (decimal string).
    pub moving_price: String,
}

/// Where a neuron's axon serves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Axon {
    /// The block it was published in.
    pub block: u64,
    /// The axon's software version.
    pub version: u32,
    /// Its IP address.
    pub ip: IpAddr,
    /// Its TCP port.
    pub port: u16,
    /// 4 or 6.
    pub ip_type: u8,
    /// Protocol number (informative).
    pub protocol: u8,
}

/// A subnet's hyperparameters (in `tao_metagraph`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[allow(missing_docs)] // Each is described by `tao subnets hyperparameters`.
pub struct Hyperparameters {
    pub rho: u16,
    pub kappa: u16,
    pub immunity_period: u16,
    pub min_allowed_weights: u16,
    pub tempo: u16,
    pub activity_cutoff_factor: u32,
    pub weights_version: u64,
    pub weights_rate_limit: u64,
    pub registration_allowed: bool,
    pub pow_registration_allowed: bool,
    pub difficulty: u64,
    /// RAO.
    pub min_burn: u64,
    /// RAO.
    pub max_burn: u64,
    /// The current registration price, RAO.
    pub burn: u64,
    pub burn_half_life: u16,
    pub bonds_moving_avg: u64,
    pub bonds_penalty: u16,
    pub serving_rate_limit: u64,
    pub max_validators: u16,
    pub max_allowed_uids: u16,
    pub commit_reveal_period: u64,
    pub commit_reveal_weights_enabled: bool,
    pub liquid_alpha_enabled: bool,
    pub alpha_low: u16,
    pub alpha_high: u16,
    pub alpha_sigmoid_steepness: i16,
    /// 2 or 3.
    pub yuma_version: u8,
    pub transfers_enabled: bool,
    pub owner_cut_enabled: bool,
    /// The pool's swap fee, a u16 proportion.
    pub fee_rate: u16,
}

/// `tao_metagraph`: a subnet in one document, per-UID arrays indexed by UID.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Metagraph {
    /// The subnet.
    pub netuid: u16,
    /// The block this is the state after.
    pub block: u64,
    /// Neurons (the length of every per-UID array).
    pub n: u64,
    /// The owner's hotkey.
    pub owner_hotkey: Address,
    /// The owner's coldkey.
    pub owner_coldkey: Address,
    /// Blocks between epochs.
    pub tempo: u16,
    /// The block of the last epoch.
    pub last_epoch_block: u64,
    /// The pool.
    pub pool: Pool,
    /// Hotkeys.
    pub hotkeys: Vec<Address>,
    /// Coldkeys.
    pub coldkeys: Vec<Address>,
    /// Alpha staked to each hotkey on this subnet.
    pub alpha_stake: Vec<u64>,
    /// TAO (RAO) staked to each hotkey on the root network.
    pub root_stake: Vec<u64>,
    /// Active in the last epoch.
    pub active: Vec<bool>,
    /// Holds a validator permit.
    pub validator_permit: Vec<bool>,
    /// Consensus, a u16 proportion of 65535.
    pub consensus: Vec<u16>,
    /// Incentive, a u16 proportion.
    pub incentive: Vec<u16>,
    /// Dividends, a u16 proportion.
    pub dividends: Vec<u16>,
    /// Validator trust, a u16 proportion.
    pub validator_trust: Vec<u16>,
    /// Emission of the last epoch, alpha units.
    pub emission: Vec<u64>,
    /// The block of the last weights.
    pub last_update: Vec<u64>,
    /// The block of registration.
    pub block_at_registration: Vec<u64>,
    /// Axons; `null` where none was published.
    pub axons: Vec<Option<Axon>>,
    /// Weights as `[uid, weight]` rows.
    pub weights: Vec<Vec<(u16, u16)>>,
    /// Bonds as `[uid, bond]` rows.
    pub bonds: Vec<Vec<(u16, u16)>>,
    /// The hyperparameters.
    pub hyperparameters: Hyperparameters,
}

impl Metagraph {
    /// Whether every per-UID column has `n` entries (a client indexes them by UID).
    pub fn columns_agree(&self) -> bool {
        let lengths = [
            self.hotkeys.len(),
            self.coldkeys.len(),
            self.alpha_stake.len(),
            self.root_stake.len(),
            self.active.len(),
            self.validator_permit.len(),
            self.consensus.len(),
            self.incentive.len(),
            self.dividends.len(),
            self.validator_trust.len(),
            self.emission.len(),
            self.last_update.len(),
            self.block_at_registration.len(),
            self.axons.len(),
            self.weights.len(),
            self.bonds.len(),
        ];
        lengths.iter().all(|&len| len as u64 == self.n)
    }
}

/// Where TAO is held (`tao_issuance`); the three add up to the total issuance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Held {
    /// Free balances.
    pub free: WideAmount,
    /// Subnet pools.
    pub pools: WideAmount,
    /// Root stake.
    pub root_stake: WideAmount,
    /// Deposits of open proposals (since API 1.2.0).
    #[serde(default)]
    pub deposits: WideAmount,
    /// Locked in payment channels and not yet claimed (since 1.2.0; `0` from an older node).
    #[serde(default)]
    pub channels: WideAmount,
}

/// `tao_issuance`: where all TAO stands at the head (RAO, decimal strings).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Issuance {
    /// The head's number.
    pub block: u64,
    /// RAO in existence.
    pub total_issuance: BigAmount,
    /// Minted by block emission since genesis.
    pub total_minted: BigAmount,
    /// Burned as fees.
    pub total_fees: BigAmount,
    /// Paid for registrations.
    pub total_registration_burn: BigAmount,
    /// Where it is held.
    pub held: Held,
    /// RAO the next block mints (since API 1.2.0; `null` from an older node).
    #[serde(default)]
    pub block_emission: Option<u64>,
    /// The total issuance at which the block emission halves next, a decimal string of RAO
    /// (10.5 M TAO, then 15.75 M, …); `null` past the last halving (since 1.2.0).
    #[serde(default)]
    pub next_halving_issuance: Option<BigAmount>,
}

/// Alpha staked to a hotkey on one subnet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SubnetAlpha {
    /// The subnet.
    pub netuid: u16,
    /// Alpha units.
    pub alpha: u64,
}

/// A hotkey with stake on it (`tao_delegates`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Delegate {
    /// The hotkey.
    pub hotkey: Address,
    /// Its owner's coldkey, if registered anywhere.
    pub owner: Option<Address>,
    /// Its take, a u16 proportion of dividends.
    pub take: u16,
    /// Root stake on it, RAO.
    pub root_stake: u64,
    /// Alpha staked to it, by subnet.
    pub alpha_stake: Vec<SubnetAlpha>,
    /// Coldkeys with stake on it.
    pub nominators: u64,
}

/// One event of a block (`tao_events`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct EventRecord {
    /// The transaction that emitted it; absent for the block's own events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tx_hash: Option<H256>,
    /// The event (its Rust debug form).
    pub event: String,
    /// The same event as an object (since API 1.2.0; absent from an older node).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<Event>,
}

/// `tao_events`: a block's events, its own (emission, epochs) first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct BlockEvents {
    /// The block's number.
    pub block: u64,
    /// Its hash.
    pub hash: H256,
    /// Its events, in order.
    pub events: Vec<EventRecord>,
}

/// One chain-wide parameter (`tao_globalParameters`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct GlobalParameter {
    /// Its name, as `tao gov propose --set-global NAME=VALUE` takes it.
    pub name: String,
    /// Its value as text (TAO amounts in TAO, e.g. `"1000"`).
    pub value: String,
}

/// `tao_blockReceipts`: what a block did: its own events and each transaction's receipt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct BlockReceipts {
    /// The block's number.
    pub block: u64,
    /// Its hash.
    pub hash: H256,
    /// The block's own events (emission, epochs), in order.
    pub events: Vec<Event>,
    /// Each transaction's receipt, in block order.
    pub receipts: Vec<Receipt>,
}

/// One transaction that names an account (`tao_accountHistory`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct HistoryEntry {
    /// The call's name (e.g. `transfer_keep_alive`).
    pub call: String,
    /// Its receipt (block, index, signer, fee, outcome, events).
    pub receipt: Receipt,
}

/// `tao_accountHistory`: one page of an account's transactions, newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AccountHistory {
    /// The account.
    pub address: Address,
    /// Transactions it signed or an event of which names it, newest first.
    pub entries: Vec<HistoryEntry>,
    /// Where the next (older) page starts; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// `tao_validators`: how the chain makes blocks.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ChainValidators {
    /// `single` (one producer, e.g. `--dev`), `bft` (the authorities below agree on each
    /// block) or `follower` (this node replicates another).
    pub mode: String,
    /// The consensus authorities' public keys (hex ed25519), from the genesis.
    pub authorities: Vec<String>,
    /// The node a follower replicates; `null` otherwise.
    pub follows: Option<String>,
    /// On a proof-of-stake chain (genesis `validators`): epochs, parameters, the current
    /// and next sets and every candidate; `null` on a chain with fixed authorities (and
    /// absent from nodes older than API 1.4.0).
    #[serde(default)]
    pub proof_of_stake: Option<ProofOfStake>,
}

/// Proof-of-stake parameters (global parameters a proposal may change).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct StakingParams {
    /// Most validators per epoch.
    pub max_validators: u16,
    /// Least total bond a candidate needs to be elected, RAO.
    pub min_validator_bond: u64,
    /// Least RAO one bond adds.
    pub min_nomination: u64,
    /// Blocks unbonded TAO waits before it is free.
    pub unbonding_period: u64,
    /// Share of the bonds an equivocation slashes, parts per million.
    pub slash_fraction: u32,
    /// Blocks a slashed validator stays jailed.
    pub jail_period: u64,
}

/// A member of an epoch's validator set.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SetMember {
    /// Its controller coldkey.
    pub controller: Address,
    /// Its consensus key (0x-hex ed25519).
    pub consensus_key: String,
    /// Its p2p address when elected.
    pub p2p_address: String,
    /// Its total bond when elected, RAO.
    pub bond: u64,
}

/// An epoch's validator set, in consensus-key order (the consensus participants' order).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ValidatorSet {
    /// The epoch it validates.
    pub epoch: u64,
    /// Its members.
    pub members: Vec<SetMember>,
}

/// A validator candidate (`tao_validators`, `tao_validator`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ValidatorCandidate {
    /// Its controller coldkey (who registered it).
    pub controller: Address,
    /// Its consensus key (0x-hex ed25519).
    pub consensus_key: String,
    /// Where its node listens, `IP:PORT`.
    pub p2p_address: String,
    /// Commission in effect, parts per 10,000.
    pub commission: u16,
    /// Commission from the next epoch, if changed.
    pub next_commission: Option<u16>,
    /// The controller's own bond, RAO.
    pub self_bond: u64,
    /// All bonds (self and nominations), RAO.
    pub total_bond: u64,
    /// Bonders other than the controller.
    pub nominators: u32,
    /// Jailed until this block (then it may unjail); `null` if not jailed.
    pub jailed_until: Option<u64>,
    /// Blocks credited to it in the current epoch.
    pub signed: u64,
    /// Blocks credited in the current epoch it did not sign (0 outside the set).
    pub missed: u64,
    /// Whether it validates the current epoch.
    pub in_current_set: bool,
    /// The block it registered.
    pub registered_at: u64,
}

/// The proof-of-stake part of `tao_validators`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ProofOfStake {
    /// The consensus epoch of the next block.
    pub epoch: u64,
    /// Blocks per epoch.
    pub epoch_length: u64,
    /// The first block of that epoch.
    pub epoch_first_block: u64,
    /// Its last block (the next set is elected at its end).
    pub epoch_last_block: u64,
    /// The parameters.
    pub params: StakingParams,
    /// The epoch's validator set.
    pub current_set: Option<ValidatorSet>,
    /// The next epoch's, once elected (at the end of the current one).
    pub next_set: Option<ValidatorSet>,
    /// Every candidate, in controller order (at most 1,024).
    pub candidates: Vec<ValidatorCandidate>,
    /// Blocks credited in the current epoch.
    pub credited_blocks: u64,
    /// Fees of the current epoch, paid to its validators at its end, RAO.
    pub fee_pot: BigAmount,
    /// RAO paid as validator rewards so far.
    pub total_rewards: BigAmount,
    /// RAO slashed (burned) so far.
    pub total_slashed: BigAmount,
}

/// One bond on a candidate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Bond {
    /// Who bonded.
    pub account: Address,
    /// RAO.
    pub amount: u64,
}

/// `tao_validator`: one candidate with its bonds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ValidatorDetail {
    /// The candidate.
    pub candidate: ValidatorCandidate,
    /// Its bonds, the controller's included, in account order (at most 257).
    pub bonds: Vec<Bond>,
}

/// TAO on its way out of a bond (`tao_unbonding`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct UnbondingChunk {
    /// The candidate it was bonded to.
    pub validator: Address,
    /// RAO (lowered if the validator is slashed before release).
    pub amount: u64,
    /// The block it becomes free.
    pub release_at: u64,
}

/// Where a payment channel stands (`tao_channel`, `tao_channels`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ChannelState {
    /// Before its expiry: the payee claims, the payer cannot close.
    Open,
    /// At or after its expiry: the payer may close it (the payee may still claim until then).
    Expired,
}

/// A payment channel (closed channels are removed from the chain and never listed).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Channel {
    /// Its id.
    pub id: u64,
    /// Who locked the deposit and signs vouchers.
    pub payer: Address,
    /// Who is paid.
    pub payee: Address,
    /// TAO locked in total (top-ups included), RAO.
    pub deposit: u64,
    /// TAO paid to the payee so far, RAO.
    pub claimed: u64,
    /// `deposit − claimed`, RAO.
    pub remaining: u64,
    /// The block from which the payer may close it.
    pub expiry: u64,
    /// The block it was opened in.
    pub opened_at: u64,
    /// Open or expired, at the head.
    pub state: ChannelState,
}

/// The most channels `tao_channels` lists (the lowest ids first).
pub const MAX_CHANNELS_LISTED: usize = 1_024;
