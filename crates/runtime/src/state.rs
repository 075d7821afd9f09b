//! The state schema: every item the chain stores, declared once, and the state root.
//!
//! ```text
//! State
//! ├─ chain: ChainInfo                      block, issuance, global parameters, lock cost, recent hashes
//! ├─ accounts[256]: AccountId → Account    nonce and free balance (bucketed by first key byte)
//! ├─ hotkey_owners[256]: hotkey → coldkey  who owns each hotkey
//! ├─ channels: ChannelStore                payment channels (counter, by id, count per payer)
//! ├─ validators: ValidatorStore            proof of stake: epochs, fee pot, credits (one record);
//! │                                        sets, keys, reports (another); candidates[256] and
//! │                                        unbonding[256] by account
//! └─ subnets: NetUid → Subnet
//!    ├─ info: SubnetInfo                   owner, hyperparameters, price, lock, pending emission, epoch clock
//!    └─ neurons: NeuronTable               neurons by UID (weights, bonds, axon, epoch outputs),
//!                                          UID by hotkey, weight commits, used proof-of-work seals
//! ```
//! The state root is BLAKE2b-256 over the digests of these parts, each cached until the
//! part changes, so a block re-hashes only what it touched.

use crate::{
    cached::Cached,
    channels::ChannelStore,
    governance::{GovParams, Governance},
    stake::{Delegate, RootStake, StakePool},
    validators::{PosParams, ValidatorStore},
};
use codec::{Decode, Encode};
use std::collections::BTreeMap;
use substrate_fixed::types::{I96F32, U96F32};
use tao_economics::{pool::Pool, LockState};
use tao_primitives::{AccountId, AlphaRao, BlockNumber, NetUid, Rao, Uid};
use tao_types::{blake2_256, AxonInfo, Hash};

/// Number of buckets of the account maps.
const BUCKETS: usize = 256;

/// Chain-wide parameters (root may change them).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct GlobalParams {
    /// Most non-root subnets at once.
    pub subnet_limit: u16,
    /// Minimum subnet lock.
    pub network_min_lock: Rao,
    /// Blocks between two subnet registrations.
    pub network_rate_limit: u64,
    /// Lock cost decay interval.
    pub network_lock_reduction_interval: u64,
    /// Epochs per block at most.
    pub max_epochs_per_block: u16,
    /// Blocks before an epoch in which owners cannot change parameters.
    pub admin_freeze_window: u16,
    /// Tempos between two owner changes of one parameter.
    pub owner_hyperparam_rate_limit: u16,
    /// Stake needed to set weights.
    pub stake_threshold: u64,
    /// Blocks after registration before `start_call` is allowed.
    pub start_call_delay: u64,
    /// Blocks a new subnet is safe from being pruned for a newer one.
    pub network_immunity_period: u64,
    /// Whether axons may be served on loopback addresses (local chains).
    pub allow_loopback_axons: bool,
    /// Weight of root TAO in stake, a fraction of `u64::MAX` (`TaoWeight`).
    pub tao_weight: u64,
    /// Owners' cut of alpha emission, a u16 proportion (`SubnetOwnerCut`).
    pub subnet_owner_cut: u16,
    /// The least TAO a stake operation may move (`DefaultMinStake`).
    pub min_stake: Rao,
    /// Highest delegate take (`MaxDelegateTake`), also the default.
    pub max_take: u16,
    /// Lowest delegate take (`MinDelegateTake`).
    pub min_take: u16,
    /// Blocks between two take increases (`TxDelegateTakeRateLimit`).
    pub take_rate_limit: u64,
    /// Governance: deposit, periods, quorum and thresholds.
    pub gov: GovParams,
    /// Proof of stake: epoch length, set size, bonds, unbonding, slashing, jail.
    pub pos: PosParams,
}

impl Default for GlobalParams {
    fn default() -> Self {
        Self {
            subnet_limit: 128,
            network_min_lock: Rao::new(1_000 * 1_000_000_000),
            network_rate_limit: 7_200,
            network_lock_reduction_interval: 100_800,
            max_epochs_per_block: 2,
            admin_freeze_window: 10,
            owner_hyperparam_rate_limit: 2,
            stake_threshold: 0,
            start_call_delay: 0,
            network_immunity_period: 1_296_000,
            allow_loopback_axons: false,
            tao_weight: tao_economics::coinbase::DEFAULT_TAO_WEIGHT,
            subnet_owner_cut: tao_economics::coinbase::DEFAULT_SUBNET_OWNER_CUT,
            min_stake: Rao::new(2_000_000),
            max_take: 11_796,
            min_take: 0,
            take_rate_limit: 216_000,
            gov: GovParams::default(),
            pos: PosParams::default(),
        }
    }
}

impl GlobalParams {
    /// Every parameter root (or a passed proposal) may set, with its value, in
    /// [`GlobalParameter::NAMES`] order.
    pub fn as_parameters(&self) -> Vec<tao_types::GlobalParameter> {
        use tao_types::GlobalParameter as G;
        vec![
            G::SubnetLimit(self.subnet_limit),
            G::NetworkMinLockCost(self.network_min_lock),
            G::NetworkRateLimit(self.network_rate_limit),
            G::NetworkLockReductionInterval(self.network_lock_reduction_interval),
            G::MaxEpochsPerBlock(self.max_epochs_per_block),
            G::AdminFreezeWindow(self.admin_freeze_window),
            G::OwnerHyperparamRateLimit(self.owner_hyperparam_rate_limit),
            G::StakeThreshold(self.stake_threshold),
            G::NetworkImmunityPeriod(self.network_immunity_period),
            G::StartCallDelay(self.start_call_delay),
            G::TaoWeight(self.tao_weight),
            G::SubnetOwnerCut(self.subnet_owner_cut),
            G::TxDelegateTakeRateLimit(self.take_rate_limit),
            G::GovDeposit(self.gov.deposit),
            G::GovVotingPeriod(self.gov.voting_period),
            G::GovEnactmentDelay(self.gov.enactment_delay),
            G::GovQuorum(self.gov.quorum),
            G::GovThreshold(self.gov.threshold),
            G::GovVetoThreshold(self.gov.veto_threshold),
            G::ConsensusEpochLength(self.pos.epoch_length),
            G::MaxValidators(self.pos.max_validators),
            G::MinValidatorBond(self.pos.min_validator_bond),
            G::MinNomination(self.pos.min_nomination),
            G::UnbondingPeriod(self.pos.unbonding_period),
            G::SlashFraction(self.pos.slash_fraction),
            G::JailPeriod(self.pos.jail_period),
        ]
    }
}

/// The chain's own record.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct ChainInfo {
    /// Name from the genesis config.
    pub chain_name: String,
    /// The genesis hash (what transactions sign for).
    pub genesis_hash: Hash,
    /// The root key.
    pub sudo: Option<AccountId>,
    /// The last executed block (0 = genesis).
    pub block: BlockNumber,
    /// Hashes of the last few blocks (for proof-of-work registration), newest last.
    pub recent_hashes: Vec<(BlockNumber, Hash)>,
    /// All TAO in existence.
    pub total_issuance: Rao,
    /// TAO minted by block emission so far.
    pub total_minted: Rao,
    /// TAO burned by registrations so far.
    pub total_registration_burn: Rao,
    /// TAO burned as fees so far.
    pub total_fees: Rao,
    /// TAO burned as vetoed proposals' deposits so far.
    pub total_deposit_burn: Rao,
    /// Chain-wide parameters.
    pub params: GlobalParams,
    /// The lock cost's memory of the last subnet registration.
    pub lock: LockState,
}

/// An account: its next nonce and free TAO.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Encode, Decode)]
pub struct Account {
    /// The next nonce to use.
    pub nonce: u64,
    /// Free balance.
    pub free: Rao,
}

/// A subnet's hyperparameters (`chain-protocol.md` §9), storage units.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
#[allow(missing_docs)] // each field is the `Hyperparameter` variant of the same name
pub struct Hyperparams {
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
    pub min_burn: Rao,
    pub max_burn: Rao,
    pub burn_half_life: u16,
    pub burn_increase_mult: u128,
    pub bonds_moving_average: u64,
    pub bonds_penalty: u16,
    pub serving_rate_limit: u64,
    pub max_allowed_validators: u16,
    pub max_allowed_uids: u16,
    pub min_allowed_uids: u16,
    pub commit_reveal_period: u64,
    pub commit_reveal_enabled: bool,
    pub liquid_alpha_enabled: bool,
    pub alpha_low: u16,
    pub alpha_high: u16,
    pub alpha_sigmoid_steepness: i16,
    pub yuma3: bool,
    pub bonds_reset_enabled: bool,
    pub transfers_enabled: bool,
    pub owner_cut_enabled: bool,
    pub immune_owner_uids_limit: u16,
    pub min_non_immune_uids: u16,
}

impl Hyperparams {
    /// What `init_new_network` writes for a new subnet (runtime defaults elsewhere).
    pub fn new_subnet() -> Self {
        Self {
            rho: 10,
            kappa: 32_767,
            immunity_period: 5_000,
            min_allowed_weights: 1,
            tempo: 360,
            activity_cutoff_factor: 13_889,
            weights_version: 0,
            weights_rate_limit: 100,
            registration_allowed: true,
            pow_registration_allowed: false,
            difficulty: 10_000_000,
            min_burn: Rao::new(500_000),
            max_burn: Rao::new(100 * 1_000_000_000),
            burn_half_life: 360,
            burn_increase_mult: tao_economics::DEFAULT_BURN_INCREASE_MULT.to_bits(),
            bonds_moving_average: 900_000,
            bonds_penalty: u16::MAX,
            serving_rate_limit: 50,
            max_allowed_validators: 64,
            max_allowed_uids: 256,
            min_allowed_uids: 64,
            commit_reveal_period: 1,
            commit_reveal_enabled: true,
            liquid_alpha_enabled: false,
            alpha_low: 45_875,
            alpha_high: 58_982,
            alpha_sigmoid_steepness: 1_000,
            yuma3: true,
            bonds_reset_enabled: false,
            transfers_enabled: true,
            owner_cut_enabled: true,
            immune_owner_uids_limit: 1,
            min_non_immune_uids: 10,
        }
    }

    /// Activity cutoff in blocks: `max(1, factor × tempo / 1000)`.
    pub fn activity_cutoff(&self) -> u64 {
        (u64::from(self.activity_cutoff_factor).saturating_mul(u64::from(self.tempo)) / 1000).max(1)
    }
}

/// A subnet's small, often-written record.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct SubnetInfo {
    /// Owner coldkey.
    pub owner_coldkey: AccountId,
    /// Owner hotkey.
    pub owner_hotkey: AccountId,
    /// Block of creation.
    pub registered_at: BlockNumber,
    /// Hyperparameters.
    pub params: Hyperparams,
    /// Current registration price.
    pub burn: Rao,
    /// Per-block price decay factor (Q32) for the current half-life.
    pub burn_decay_q32: u64,
    /// First block of emission (`start_call`), if started.
    pub first_emission_block: Option<BlockNumber>,
    /// TAO locked by the owner at creation (it seeded the pool).
    pub locked: Rao,
    /// The TAO/alpha pool.
    pub pool: Pool,
    /// The pool's swap fee, a u16 proportion.
    pub fee_rate: u16,
    /// Alpha outside the pool: stakes, protocol alpha, pending emission, burned alpha.
    pub alpha_out: AlphaRao,
    /// Alpha bought by the protocol with excess TAO (`SubnetProtocolAlpha`).
    pub protocol_alpha: AlphaRao,
    /// Alpha counted in `alpha_out` that nobody holds: owner-hotkey miner emission
    /// (burned, which leaves `SubnetAlphaOut` unchanged in the reference) and alpha minted
    /// but paid to no one (the floors of the coinbase split and of an epoch's payout, a
    /// root pot no validator with root stake could take, the miners' pot beyond their
    /// incentive). The reference keeps all of it in `SubnetAlphaOut`; so
    /// `alpha_out = Σ stakes + protocol_alpha + pending + alpha_burned`.
    pub alpha_burned: AlphaRao,
    /// Alpha emitted and waiting for the next epoch.
    pub pending: PendingAlpha,
    /// The moving (EMA) price, capped spot price averaged (`SubnetMovingPrice`).
    pub moving_price: I96F32,
    /// Fraction of the last epoch's miner emission withheld (`MinerBurned`).
    pub miner_burned: U96F32,
    /// Block of the last epoch.
    pub last_epoch_block: BlockNumber,
    /// An epoch deferred or triggered to this block (0 = none).
    pub pending_epoch_at: BlockNumber,
    /// Blocks since the last epoch ran.
    pub blocks_since_last_step: u64,
    /// Epochs run so far.
    pub epoch_index: u64,
    /// Block the last epoch ran at, 0 if none (bond masking reference).
    pub last_step_block: BlockNumber,
    /// Last block the owner set each parameter (by `Hyperparameter::key`).
    pub param_last_set: BTreeMap<u8, BlockNumber>,
    /// Proof-of-work registrations counted against their caps.
    pub pow_registrations: PowRegistrations,
}

/// Proof-of-work registrations of a subnet in the current block and interval (the legacy
/// caps of `chain-protocol.md` §7.4: `MaxRegistrationsPerBlock`, 3 × `TargetRegistrationsPerInterval`).
/// Counts for a past block or interval are stale and read as zero, so nothing is reset
/// per block.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Encode, Decode)]
pub struct PowRegistrations {
    /// The block `in_block` counts.
    pub block: BlockNumber,
    /// Registrations in `block`.
    pub in_block: u16,
    /// The interval (block / `POW_INTERVAL_BLOCKS`) `in_interval` counts.
    pub interval: u64,
    /// Registrations in `interval`.
    pub in_interval: u16,
}

/// Alpha accrued since the last epoch, by destination.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Encode, Decode)]
pub struct PendingAlpha {
    /// For miners.
    pub server: u64,
    /// For validators and their nominators.
    pub validator: u64,
    /// For validators' root stakers.
    pub root: u64,
    /// For the owner.
    pub owner: u64,
}

impl PendingAlpha {
    /// All of it.
    pub fn total(&self) -> u64 {
        self.server
            .saturating_add(self.validator)
            .saturating_add(self.root)
            .saturating_add(self.owner)
    }
}

/// A weights commit waiting for its reveal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub struct WeightCommit {
    /// The committed hash.
    pub hash: [u8; 32],
    /// The epoch index it was committed in (with lookahead).
    pub epoch: u64,
    /// The block it was committed at.
    pub block: BlockNumber,
}

/// One neuron of a subnet.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Neuron {
    /// Its hotkey.
    pub hotkey: AccountId,
    /// The coldkey owning the hotkey.
    pub coldkey: AccountId,
    /// Block its hotkey registered.
    pub block_at_registration: BlockNumber,
    /// Block of its last weight update (registration block initially).
    pub last_update: BlockNumber,
    /// Where it serves, and the block it said so.
    pub axon: Option<(BlockNumber, AxonInfo)>,
    /// Its weights (validators), sorted by UID, zeros kept.
    pub weights: Vec<(Uid, u16)>,
    /// Its bonds after the last epoch.
    pub bonds: Vec<(Uid, u16)>,
    /// Outputs of the last epoch.
    pub epoch: NeuronEpochOutput,
}

/// What the last epoch decided for a neuron (u16 proportions as the chain stores them).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Encode, Decode)]
pub struct NeuronEpochOutput {
    /// Updated its weights recently.
    pub active: bool,
    /// Holds a validator permit.
    pub validator_permit: bool,
    /// Consensus weight.
    pub consensus: u16,
    /// Incentive.
    pub incentive: u16,
    /// Dividends.
    pub dividends: u16,
    /// Validator trust.
    pub validator_trust: u16,
    /// Normalized stake.
    pub stake_weight: u16,
    /// Combined emission of the epoch (pruning uses it).
    pub emission: u64,
}

/// A subnet's neurons and everything indexed by them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Encode, Decode)]
pub struct NeuronTable {
    /// Neurons by UID.
    pub neurons: Vec<Neuron>,
    /// UID by hotkey.
    pub uids: BTreeMap<AccountId, Uid>,
    /// Unrevealed weight commits by hotkey, oldest first.
    pub commits: BTreeMap<AccountId, Vec<WeightCommit>>,
    /// Proof-of-work seals used, by the block they were for (only recent blocks kept).
    pub used_work: BTreeMap<BlockNumber, Vec<[u8; 32]>>,
}

/// Stake pools of a subnet by hotkey.
pub type StakeTable = BTreeMap<AccountId, StakePool>;

/// A subnet.
#[derive(Clone, Debug)]
pub struct Subnet {
    /// Its record.
    pub info: Cached<SubnetInfo>,
    /// Its neurons.
    pub neurons: Cached<NeuronTable>,
    /// Alpha staked on it, by hotkey.
    pub stakes: Cached<StakeTable>,
}

/// The whole chain state.
#[derive(Clone, Debug)]
pub struct State {
    pub(crate) chain: Cached<ChainInfo>,
    pub(crate) accounts: Vec<Cached<BTreeMap<AccountId, Account>>>,
    pub(crate) hotkey_owners: Vec<Cached<BTreeMap<AccountId, AccountId>>>,
    pub(crate) subnets: BTreeMap<NetUid, Subnet>,
    pub(crate) root_stakes: Cached<BTreeMap<AccountId, RootStake>>,
    pub(crate) delegates: Cached<BTreeMap<AccountId, Delegate>>,
    pub(crate) governance: Cached<Governance>,
    pub(crate) channels: ChannelStore,
    pub(crate) validators: ValidatorStore,
}

/// Where all TAO is ([`State::tao_holdings`]); the parts sum to the total issuance after
/// every block (the conservation invariant).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TaoHoldings {
    /// Σ free balances.
    pub free: u128,
    /// Σ subnet pools' TAO.
    pub pools: u128,
    /// Σ root stake.
    pub root_stake: u128,
    /// Σ deposits of open proposals.
    pub deposits: u128,
    /// Σ TAO locked in payment channels.
    pub channels: u128,
    /// Σ TAO bonded to validator candidates.
    pub bonded: u128,
    /// Σ TAO unbonding (not yet released).
    pub unbonding: u128,
    /// The current consensus epoch's fees, not yet paid to its validators.
    pub fee_pot: u128,
}

impl TaoHoldings {
    /// All of it.
    pub fn total(&self) -> u128 {
        self.free
            .saturating_add(self.pools)
            .saturating_add(self.root_stake)
            .saturating_add(self.deposits)
            .saturating_add(self.channels)
            .saturating_add(self.bonded)
            .saturating_add(self.unbonding)
            .saturating_add(self.fee_pot)
    }
}

fn bucket(id: &AccountId) -> usize {
    usize::from(id.as_bytes()[0])
}

/// A part of the state as the state root hashes it ([`State::part_digests`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StatePart {
    /// The chain record ([`ChainInfo`]).
    Chain,
    /// The accounts whose key starts with this byte.
    Accounts(u8),
    /// The hotkey owners whose hotkey starts with this byte.
    HotkeyOwners(u8),
    /// All root stake.
    RootStakes,
    /// Delegate settings (takes).
    Delegates,
    /// Proposals, votes and vote locks.
    Governance,
    /// The channel counter and count.
    ChannelMeta,
    /// The open channels whose id's low byte is this.
    ChannelsById(u8),
    /// The per-payer channel counts of payers whose key starts with this byte.
    ChannelsPerPayer(u8),
    /// The proof-of-stake record that changes every block: epochs, fee pot, credits.
    Consensus,
    /// The kept validator sets, registered consensus keys and slashed equivocations.
    ValidatorSets,
    /// The validator candidates whose controller starts with this byte.
    Candidates(u8),
    /// The unbonding chunks of accounts starting with this byte.
    Unbonding(u8),
    /// A subnet's record.
    SubnetInfo(NetUid),
    /// A subnet's neurons.
    SubnetNeurons(NetUid),
    /// A subnet's stakes.
    SubnetStakes(NetUid),
}

impl StatePart {
    /// The part that holds `account`'s balance and nonce.
    pub fn account(account: &AccountId) -> Self {
        Self::Accounts(account.as_bytes()[0])
    }
}

impl State {
    /// An empty state with the given chain record.
    pub(crate) fn empty(chain: ChainInfo) -> Self {
        Self {
            chain: Cached::new(chain),
            accounts: vec![Cached::default(); BUCKETS],
            hotkey_owners: vec![Cached::default(); BUCKETS],
            subnets: BTreeMap::new(),
            root_stakes: Cached::default(),
            delegates: Cached::default(),
            governance: Cached::default(),
            channels: ChannelStore::default(),
            validators: ValidatorStore::default(),
        }
    }

    /// The chain record.
    pub fn chain(&self) -> &ChainInfo {
        self.chain.get()
    }

    /// The last executed block.
    pub fn block(&self) -> BlockNumber {
        self.chain.get().block
    }

    /// The genesis hash transactions must sign for.
    pub fn genesis_hash(&self) -> Hash {
        self.chain.get().genesis_hash
    }

    /// All TAO in existence.
    pub fn total_issuance(&self) -> Rao {
        self.chain.get().total_issuance
    }

    /// An account (zero if it never held anything).
    pub fn account(&self, id: &AccountId) -> Account {
        self.accounts.get(bucket(id)).and_then(|b| b.get().get(id).copied()).unwrap_or_default()
    }

    /// Every account with a balance or a nonce, in key order.
    pub fn accounts(&self) -> impl Iterator<Item = (&AccountId, &Account)> {
        self.accounts.iter().flat_map(|b| b.get().iter())
    }

    /// Every hotkey with its owning coldkey, in key order.
    pub fn hotkey_owners(&self) -> impl Iterator<Item = (&AccountId, &AccountId)> {
        self.hotkey_owners.iter().flat_map(|b| b.get().iter())
    }

    /// Every hotkey that chose its delegate settings.
    pub fn delegates(&self) -> &BTreeMap<AccountId, Delegate> {
        self.delegates.get()
    }

    /// The coldkey owning a hotkey.
    pub fn hotkey_owner(&self, hotkey: &AccountId) -> Option<AccountId> {
        self.hotkey_owners.get(bucket(hotkey)).and_then(|b| b.get().get(hotkey).copied())
    }

    /// A subnet.
    pub fn subnet(&self, netuid: NetUid) -> Option<&Subnet> {
        self.subnets.get(&netuid)
    }

    /// All subnets in netuid order.
    pub fn subnets(&self) -> impl Iterator<Item = (&NetUid, &Subnet)> {
        self.subnets.iter()
    }

    /// The state root: BLAKE2b-256 over the digests of [`State::part_digests`], in order,
    /// each subnet's preceded by its netuid (two bytes, little-endian).
    pub fn state_root(&self) -> Hash {
        let parts = self.part_digests();
        let mut bytes: Vec<u8> = Vec::with_capacity(parts.len().saturating_mul(34));
        for (part, digest) in parts {
            if let StatePart::SubnetInfo(netuid) = part {
                bytes.extend_from_slice(&netuid.get().to_le_bytes());
            }
            bytes.extend_from_slice(&digest.0);
        }
        blake2_256(&bytes)
    }

    /// Every part of the state with its digest, in state-root order: the chain record,
    /// every account bucket, every owner bucket, root stakes, delegates, governance, the
    /// channel store's parts, the proof-of-stake record, candidate and unbonding buckets, and each subnet's info, neurons and stakes. Two states with
    /// equal digests of a part hold the same value there; the state root covers exactly
    /// these parts.
    pub fn part_digests(&self) -> Vec<(StatePart, Hash)> {
        let mut parts = Vec::new();
        parts.push((StatePart::Chain, self.chain.digest()));
        for (k, bucket) in (0..=u8::MAX).zip(&self.accounts) {
            parts.push((StatePart::Accounts(k), bucket.digest()));
        }
        for (k, bucket) in (0..=u8::MAX).zip(&self.hotkey_owners) {
            parts.push((StatePart::HotkeyOwners(k), bucket.digest()));
        }
        parts.push((StatePart::RootStakes, self.root_stakes.digest()));
        parts.push((StatePart::Delegates, self.delegates.digest()));
        parts.push((StatePart::Governance, self.governance.digest()));
        self.channels.part_digests(&mut parts);
        self.validators.part_digests(&mut parts);
        for (netuid, subnet) in &self.subnets {
            parts.push((StatePart::SubnetInfo(*netuid), subnet.info.digest()));
            parts.push((StatePart::SubnetNeurons(*netuid), subnet.neurons.digest()));
            parts.push((StatePart::SubnetStakes(*netuid), subnet.stakes.digest()));
        }
        parts
    }

    /// Root stake (TAO) on a hotkey.
    pub fn root_stake(&self, hotkey: &AccountId) -> Option<&RootStake> {
        self.root_stakes.get().get(hotkey)
    }

    /// All root stake, by hotkey.
    pub fn root_stakes(&self) -> &BTreeMap<AccountId, RootStake> {
        self.root_stakes.get()
    }

    /// A hotkey's delegate take (the maximum until it chooses one).
    pub fn take(&self, hotkey: &AccountId) -> u16 {
        self.delegates.get().get(hotkey).map_or(self.chain().params.max_take, |d| d.take)
    }

    /// A coldkey's alpha on a hotkey on a subnet.
    pub fn stake_of(&self, netuid: NetUid, hotkey: &AccountId, coldkey: &AccountId) -> AlphaRao {
        let value = self
            .subnets
            .get(&netuid)
            .and_then(|s| s.stakes.get().get(hotkey))
            .map_or(0, |pool| pool.value(coldkey));
        AlphaRao::new(value)
    }

    /// A hotkey's total alpha on a subnet.
    pub fn hotkey_alpha(&self, netuid: NetUid, hotkey: &AccountId) -> AlphaRao {
        AlphaRao::new(
            self.subnets
                .get(&netuid)
                .and_then(|s| s.stakes.get().get(hotkey))
                .map_or(0, |p| p.total),
        )
    }

    /// All TAO on root.
    pub fn total_root_stake(&self) -> u64 {
        self.root_stakes.get().values().fold(0u64, |acc, r| acc.saturating_add(r.total))
    }

    /// Where all TAO is: free balances, subnet pools, root stake, proposal deposits,
    /// payment channels, validator bonds, unbonding chunks and the epoch's fee pot.
    /// The parts sum to [`State::total_issuance`] after every block.
    pub fn tao_holdings(&self) -> TaoHoldings {
        TaoHoldings {
            free: self.accounts().map(|(_, a)| u128::from(a.free.get())).sum(),
            pools: self.subnets().map(|(_, s)| u128::from(s.info.get().pool.tao)).sum(),
            root_stake: u128::from(self.total_root_stake()),
            deposits: self.governance.get().deposits_held(),
            channels: self.channels.locked(),
            bonded: self.validators.bonded(),
            unbonding: self.validators.unbonding_total(),
            fee_pot: u128::from(self.validators.meta().pot.get()),
        }
    }

    /// Governance: proposals, votes and vote locks.
    pub fn governance(&self) -> &Governance {
        self.governance.get()
    }

    /// Open payment channels.
    pub fn channels(&self) -> &ChannelStore {
        &self.channels
    }

    // ---- writes (crate only) ----

    pub(crate) fn chain_mut(&mut self) -> &mut ChainInfo {
        self.chain.make_mut()
    }

    pub(crate) fn account_mut(&mut self, id: &AccountId) -> &mut Account {
        match self.accounts.get_mut(bucket(id)) {
            Some(bucket) => bucket.make_mut().entry(*id).or_default(),
            // `bucket` is a byte and there are 256 buckets.
            None => unreachable!("256 account buckets exist"),
        }
    }

    pub(crate) fn set_hotkey_owner(&mut self, hotkey: AccountId, coldkey: AccountId) {
        if let Some(bucket) = self.hotkey_owners.get_mut(bucket(&hotkey)) {
            bucket.make_mut().insert(hotkey, coldkey);
        }
    }

    pub(crate) fn governance_mut(&mut self) -> &mut Governance {
        self.governance.make_mut()
    }

    pub(crate) fn subnet_mut(&mut self, netuid: NetUid) -> Option<&mut Subnet> {
        self.subnets.get_mut(&netuid)
    }
}
