//! Calls: one variant per transaction kind, with typed arguments.

use crate::{
    ConsensusKey, ConsensusSignature, Equivocation, PrivilegedCall, ProposalId, SignedVoucher,
    VoteChoice,
};
use codec::{Decode, Encode};
use tao_primitives::{AccountId, AlphaRao, BlockNumber, ChannelId, NetUid, Rao};

/// Whether a transfer may empty the sender's account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub enum Existence {
    /// The sender keeps at least the existential deposit.
    KeepAlive,
    /// The sender may go to zero.
    AllowDeath,
}

/// IP version of an axon.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub enum IpType {
    /// IPv4 (the address is the low 32 bits).
    V4,
    /// IPv6.
    V6,
}

impl IpType {
    /// The reference chain's `ip_type` number (4 or 6).
    pub fn number(self) -> u8 {
        match self {
            IpType::V4 => 4,
            IpType::V6 => 6,
        }
    }
}

/// Where a neuron serves (`AxonInfo` without the block, which the chain sets).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub struct AxonInfo {
    /// Software version of the axon.
    pub version: u32,
    /// IP address as an integer (IPv4 in the low 32 bits).
    pub ip: u128,
    /// TCP port.
    pub port: u16,
    /// IP version.
    pub ip_type: IpType,
    /// Protocol number (reference: 0 = TCP, 4 = HTTP…); informative.
    pub protocol: u8,
}

impl AxonInfo {
    /// An HTTP axon (version 1, protocol 4) at `ip:port`.
    pub fn new(ip: std::net::IpAddr, port: u16) -> Self {
        let (ip, ip_type) = match ip {
            std::net::IpAddr::V4(v4) => (u128::from(u32::from(v4)), IpType::V4),
            std::net::IpAddr::V6(v6) => (u128::from(v6), IpType::V6),
        };
        Self { version: 1, ip, port, ip_type, protocol: 4 }
    }

    /// The address as an `IpAddr` (an IPv4 type with an IP above 32 bits reads as IPv6).
    pub fn ip_addr(&self) -> std::net::IpAddr {
        match (self.ip_type, u32::try_from(self.ip)) {
            (IpType::V4, Ok(v4)) => std::net::Ipv4Addr::from(v4).into(),
            _ => std::net::Ipv6Addr::from(self.ip).into(),
        }
    }
}

/// Who may set a subnet hyperparameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Setter {
    /// The subnet owner (rate-limited, not in the freeze window) or root.
    OwnerOrRoot,
    /// Root only.
    Root,
}

/// A subnet hyperparameter with its new value (`chain-protocol.md` §9). Names follow the
/// reference's RPC names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub enum Hyperparameter {
    /// Unused trust-sigmoid steepness (`Rho`).
    Rho(u16),
    /// Consensus majority threshold, a u16 proportion (`Kappa`).
    Kappa(u16),
    /// Blocks a new neuron is protected from replacement (`ImmunityPeriod`).
    ImmunityPeriod(u16),
    /// Minimum number of weights a validator must set (`MinAllowedWeights`).
    MinAllowedWeights(u16),
    /// Blocks between epochs (`Tempo`); owners may choose 360..=50_400.
    Tempo(u16),
    /// Activity cutoff in thousandths of a tempo (`ActivityCutoffFactorMilli`), 1_000..=50_000.
    ActivityCutoffFactor(u32),
    /// Minimum weights version key (`WeightsVersionKey`).
    WeightsVersion(u64),
    /// Blocks between two weight updates of a neuron (`WeightsSetRateLimit`).
    WeightsRateLimit(u64),
    /// Whether neurons may register (`NetworkRegistrationAllowed`).
    RegistrationAllowed(bool),
    /// Whether proof-of-work registration is accepted on this subnet.
    PowRegistrationAllowed(bool),
    /// Proof-of-work difficulty (`Difficulty`).
    Difficulty(u64),
    /// Lowest registration price (`MinBurn`), below 1 TAO.
    MinBurn(Rao),
    /// Highest registration price (`MaxBurn`), above 0.1 TAO.
    MaxBurn(Rao),
    /// Registration price half-life in blocks (`BurnHalfLife`), 1..=36_100.
    BurnHalfLife(u16),
    /// Price multiplier per registration as `U64F64` bits (`BurnIncreaseMult`), 1..=3.
    BurnIncreaseMult(u128),
    /// Bond EMA memory in millionths (`BondsMovingAverage`); owners up to 975_000.
    BondsMovingAverage(u64),
    /// How far bonds follow clipped weights, a u16 proportion (`BondsPenalty`).
    BondsPenalty(u16),
    /// Blocks between two `serve_axon` of a neuron (`ServingRateLimit`).
    ServingRateLimit(u64),
    /// Validator permits per epoch (`MaxAllowedValidators`), at most `MaxAllowedUids`.
    MaxAllowedValidators(u16),
    /// Neuron slots (`MaxAllowedUids`), from `MinAllowedUids` to 256, not below the count.
    MaxAllowedUids(u16),
    /// Lower bound for `MaxAllowedUids` (`MinAllowedUids`).
    MinAllowedUids(u16),
    /// Epochs between a weights commit and its reveal (`RevealPeriodEpochs`), 1..=100.
    CommitRevealPeriod(u64),
    /// Whether weights go through commit-reveal (`CommitRevealWeightsEnabled`).
    CommitRevealEnabled(bool),
    /// Whether the bond EMA rate is liquid (`LiquidAlphaOn`).
    LiquidAlphaEnabled(bool),
    /// Liquid alpha bounds, u16 proportions (`AlphaValues`): 1638 ≤ low ≤ high.
    AlphaValues {
        /// Lowest rate.
        low: u16,
        /// Highest rate.
        high: u16,
    },
    /// Liquid alpha sigmoid steepness (`AlphaSigmoidSteepness`); owners non-negative.
    AlphaSigmoidSteepness(i16),
    /// Yuma3 bonds (`Yuma3On`).
    Yuma3Enabled(bool),
    /// Whether miners may reset their bonds (`BondsResetOn`).
    BondsResetEnabled(bool),
    /// Whether stake may be transferred between coldkeys (`TransferToggle`).
    TransfersEnabled(bool),
    /// Whether the owner takes its cut of alpha emission (`OwnerCutEnabled`).
    OwnerCutEnabled(bool),
    /// Swap fee of the subnet's pool, a u16 proportion (`FeeRate`), at most 10_000.
    FeeRate(u16),
    /// Owner hotkeys protected from replacement (`ImmuneOwnerUidsLimit`), 1..=10.
    ImmuneOwnerUidsLimit(u16),
    /// Non-immune neurons kept before immune ones may be replaced (`MinNonImmuneUids`).
    MinNonImmuneUids(u16),
}

impl Hyperparameter {
    /// Who may set it.
    pub fn setter(&self) -> Setter {
        match self {
            Hyperparameter::Kappa(_)
            | Hyperparameter::WeightsRateLimit(_)
            | Hyperparameter::RegistrationAllowed(_)
            // The reference refuses this setter to everyone (PoW registration is legacy);
            // root may still open it here, and it is capped per block and interval.
            | Hyperparameter::PowRegistrationAllowed(_)
            | Hyperparameter::Difficulty(_)
            | Hyperparameter::MaxAllowedValidators(_)
            | Hyperparameter::MinAllowedUids(_)
            | Hyperparameter::MinNonImmuneUids(_)
            | Hyperparameter::FeeRate(_) => Setter::Root,
            _ => Setter::OwnerOrRoot,
        }
    }

    /// A stable index per parameter (for per-parameter rate limits).
    pub fn key(&self) -> u8 {
        self.encode().first().copied().unwrap_or(0)
    }

    /// Every parameter's name, as [`Hyperparameter::name`] gives it.
    pub const NAMES: [&'static str; 33] = [
        "rho",
        "kappa",
        "immunity_period",
        "min_allowed_weights",
        "tempo",
        "activity_cutoff_factor",
        "weights_version",
        "weights_rate_limit",
        "registration_allowed",
        "pow_registration_allowed",
        "difficulty",
        "min_burn",
        "max_burn",
        "burn_half_life",
        "burn_increase_mult",
        "bonds_moving_avg",
        "bonds_penalty",
        "serving_rate_limit",
        "max_validators",
        "max_allowed_uids",
        "min_allowed_uids",
        "commit_reveal_period",
        "commit_reveal_weights_enabled",
        "liquid_alpha_enabled",
        "alpha_values",
        "alpha_sigmoid_steepness",
        "yuma_version",
        "bonds_reset_enabled",
        "transfers_enabled",
        "owner_cut_enabled",
        "fee_rate",
        "immune_owner_uids_limit",
        "min_non_immune_uids",
    ];

    /// Parses `name` (as [`Hyperparameter::name`] gives it) and a value in text: integers,
    /// `true`/`false`, TAO amounts for burns (`"0.5"`), `low,high` for `alpha_values`, and
    /// `2` or `3` for `yuma_version`.
    pub fn parse(name: &str, value: &str) -> Result<Self, String> {
        fn flag(name: &str, value: &str) -> Result<bool, String> {
            match value.trim() {
                "true" | "on" | "1" => Ok(true),
                "false" | "off" | "0" => Ok(false),
                _ => Err(format!("{name} takes true or false, not {value:?}")),
            }
        }
        Ok(match name {
            "rho" => Self::Rho(num(name, value)?),
            "kappa" => Self::Kappa(num(name, value)?),
            "immunity_period" => Self::ImmunityPeriod(num(name, value)?),
            "min_allowed_weights" => Self::MinAllowedWeights(num(name, value)?),
            "tempo" => Self::Tempo(num(name, value)?),
            "activity_cutoff_factor" => Self::ActivityCutoffFactor(num(name, value)?),
            "weights_version" => Self::WeightsVersion(num(name, value)?),
            "weights_rate_limit" => Self::WeightsRateLimit(num(name, value)?),
            "registration_allowed" => Self::RegistrationAllowed(flag(name, value)?),
            "pow_registration_allowed" => Self::PowRegistrationAllowed(flag(name, value)?),
            "difficulty" => Self::Difficulty(num(name, value)?),
            "min_burn" => Self::MinBurn(tao(name, value)?),
            "max_burn" => Self::MaxBurn(tao(name, value)?),
            "burn_half_life" => Self::BurnHalfLife(num(name, value)?),
            "burn_increase_mult" => Self::BurnIncreaseMult(num(name, value)?),
            "bonds_moving_avg" => Self::BondsMovingAverage(num(name, value)?),
            "bonds_penalty" => Self::BondsPenalty(num(name, value)?),
            "serving_rate_limit" => Self::ServingRateLimit(num(name, value)?),
            "max_validators" => Self::MaxAllowedValidators(num(name, value)?),
            "max_allowed_uids" => Self::MaxAllowedUids(num(name, value)?),
            "min_allowed_uids" => Self::MinAllowedUids(num(name, value)?),
            "commit_reveal_period" => Self::CommitRevealPeriod(num(name, value)?),
            "commit_reveal_weights_enabled" => Self::CommitRevealEnabled(flag(name, value)?),
            "liquid_alpha_enabled" => Self::LiquidAlphaEnabled(flag(name, value)?),
            "alpha_values" => {
                let (low, high) = value
                    .split_once(',')
                    .ok_or_else(|| format!("alpha_values takes low,high, not {value:?}"))?;
                Self::AlphaValues { low: num(name, low)?, high: num(name, high)? }
            }
            "alpha_sigmoid_steepness" => Self::AlphaSigmoidSteepness(num(name, value)?),
            "yuma_version" => match value.trim() {
                "3" => Self::Yuma3Enabled(true),
                "2" => Self::Yuma3Enabled(false),
                _ => return Err(format!("yuma_version takes 2 or 3, not {value:?}")),
            },
            "bonds_reset_enabled" => Self::BondsResetEnabled(flag(name, value)?),
            "transfers_enabled" => Self::TransfersEnabled(flag(name, value)?),
            "owner_cut_enabled" => Self::OwnerCutEnabled(flag(name, value)?),
            "fee_rate" => Self::FeeRate(num(name, value)?),
            "immune_owner_uids_limit" => Self::ImmuneOwnerUidsLimit(num(name, value)?),
            "min_non_immune_uids" => Self::MinNonImmuneUids(num(name, value)?),
            _ => {
                return Err(format!(
                    "unknown hyperparameter {name:?}; known: {}",
                    Self::NAMES.join(", ")
                ))
            }
        })
    }

    /// The values the runtime accepts for parameter `name`, in words: from the owner, and
    /// from root (`None` for an unknown name). The runtime's checks are the authority; a
    /// test there holds each stated bound against them.
    pub fn bounds(name: &str) -> Option<(&'static str, &'static str)> {
        const ANY: &str = "any";
        const ROOT_ONLY: &str = "-";
        Some(match name {
            "rho"
            | "immunity_period"
            | "min_allowed_weights"
            | "weights_version"
            | "bonds_penalty"
            | "serving_rate_limit"
            | "commit_reveal_weights_enabled"
            | "liquid_alpha_enabled"
            | "yuma_version"
            | "bonds_reset_enabled"
            | "transfers_enabled"
            | "owner_cut_enabled" => (ANY, ANY),
            "kappa"
            | "weights_rate_limit"
            | "registration_allowed"
            | "pow_registration_allowed"
            | "min_non_immune_uids" => (ROOT_ONLY, ANY),
            "tempo" => ("360..=50400, once per 360 blocks", "any (0: no automatic epoch)"),
            "activity_cutoff_factor" => ("1000..=50000", "1000..=50000"),
            "difficulty" => (ROOT_ONLY, ">= 1"),
            "min_burn" => ("< 1 TAO and < max_burn", "< 1 TAO and < max_burn"),
            "max_burn" => ("> 0.1 TAO and > min_burn", "> 0.1 TAO and > min_burn"),
            "burn_half_life" => ("1..=36100", "1..=36100"),
            "burn_increase_mult" => ("1..=3 (x 2^64)", "1..=3 (x 2^64)"),
            "bonds_moving_avg" => ("<= 975000", "<= 1000000"),
            "max_validators" => (ROOT_ONLY, "<= max_allowed_uids"),
            "max_allowed_uids" => (
                "1..=256, >= min_allowed_uids and the neurons now",
                "1..=256, >= min_allowed_uids and the neurons now",
            ),
            "min_allowed_uids" => (ROOT_ONLY, "<= max_allowed_uids"),
            "commit_reveal_period" => ("1..=100", "1..=100"),
            "alpha_values" => (
                "low <= high, both >= 1638; liquid alpha on",
                "low <= high, both >= 1638; liquid alpha on",
            ),
            "alpha_sigmoid_steepness" => (">= 0", ANY),
            "fee_rate" => (ROOT_ONLY, "<= 10000"),
            "immune_owner_uids_limit" => ("1..=10", "1..=10"),
            _ => return None,
        })
    }

    /// The reference's RPC name.
    pub fn name(&self) -> &'static str {
        match self {
            Hyperparameter::Rho(_) => "rho",
            Hyperparameter::Kappa(_) => "kappa",
            Hyperparameter::ImmunityPeriod(_) => "immunity_period",
            Hyperparameter::MinAllowedWeights(_) => "min_allowed_weights",
            Hyperparameter::Tempo(_) => "tempo",
            Hyperparameter::ActivityCutoffFactor(_) => "activity_cutoff_factor",
            Hyperparameter::WeightsVersion(_) => "weights_version",
            Hyperparameter::WeightsRateLimit(_) => "weights_rate_limit",
            Hyperparameter::RegistrationAllowed(_) => "registration_allowed",
            Hyperparameter::PowRegistrationAllowed(_) => "pow_registration_allowed",
            Hyperparameter::Difficulty(_) => "difficulty",
            Hyperparameter::MinBurn(_) => "min_burn",
            Hyperparameter::MaxBurn(_) => "max_burn",
            Hyperparameter::BurnHalfLife(_) => "burn_half_life",
            Hyperparameter::BurnIncreaseMult(_) => "burn_increase_mult",
            Hyperparameter::BondsMovingAverage(_) => "bonds_moving_avg",
            Hyperparameter::BondsPenalty(_) => "bonds_penalty",
            Hyperparameter::ServingRateLimit(_) => "serving_rate_limit",
            Hyperparameter::MaxAllowedValidators(_) => "max_validators",
            Hyperparameter::MaxAllowedUids(_) => "max_allowed_uids",
            Hyperparameter::MinAllowedUids(_) => "min_allowed_uids",
            Hyperparameter::CommitRevealPeriod(_) => "commit_reveal_period",
            Hyperparameter::CommitRevealEnabled(_) => "commit_reveal_weights_enabled",
            Hyperparameter::LiquidAlphaEnabled(_) => "liquid_alpha_enabled",
            Hyperparameter::AlphaValues { .. } => "alpha_values",
            Hyperparameter::AlphaSigmoidSteepness(_) => "alpha_sigmoid_steepness",
            Hyperparameter::Yuma3Enabled(_) => "yuma_version",
            Hyperparameter::BondsResetEnabled(_) => "bonds_reset_enabled",
            Hyperparameter::TransfersEnabled(_) => "transfers_enabled",
            Hyperparameter::OwnerCutEnabled(_) => "owner_cut_enabled",
            Hyperparameter::FeeRate(_) => "fee_rate",
            Hyperparameter::ImmuneOwnerUidsLimit(_) => "immune_owner_uids_limit",
            Hyperparameter::MinNonImmuneUids(_) => "min_non_immune_uids",
        }
    }
}

/// A parameter's integer value in text.
fn num<T: core::str::FromStr>(name: &str, value: &str) -> Result<T, String> {
    value.trim().parse().map_err(|_| format!("{name} takes an integer in range, not {value:?}"))
}

/// A parameter's TAO amount in text (`"1000"`, `"0.5"`).
fn tao(name: &str, value: &str) -> Result<Rao, String> {
    value.trim().parse().map_err(|e| format!("{name} takes a TAO amount: {e}"))
}

/// A chain-wide parameter only root may set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub enum GlobalParameter {
    /// Most non-root subnets at once (`SubnetLimit`, default 128).
    SubnetLimit(u16),
    /// Minimum subnet lock (`NetworkMinLockCost`, default 1000 TAO).
    NetworkMinLockCost(Rao),
    /// Blocks between two subnet registrations (`NetworkRateLimit`).
    NetworkRateLimit(u64),
    /// Lock cost decay interval in blocks (`NetworkLockReductionInterval`).
    NetworkLockReductionInterval(u64),
    /// Epochs that may run in one block (`MaxEpochsPerBlock`).
    MaxEpochsPerBlock(u16),
    /// Blocks before an epoch in which owners cannot change parameters (`AdminFreezeWindow`).
    AdminFreezeWindow(u16),
    /// Tempos between two changes of one parameter by an owner (`OwnerHyperparamRateLimit`).
    OwnerHyperparamRateLimit(u16),
    /// Stake needed to set weights (`StakeThreshold`).
    StakeThreshold(u64),
    /// Blocks a new subnet cannot be pruned for a newer one (`NetworkImmunityPeriod`).
    NetworkImmunityPeriod(u64),
    /// Blocks after creation before the owner may start emission (`StartCallDelay`).
    StartCallDelay(u64),
    /// Weight of root TAO in stake (`TaoWeight`, a fraction of `u64::MAX`).
    TaoWeight(u64),
    /// Owners' cut of alpha emission (`SubnetOwnerCut`, a u16 proportion).
    SubnetOwnerCut(u16),
    /// Blocks after a delegate's take changed before it may be raised
    /// (`TxDelegateTakeRateLimit`, default 216,000).
    TxDelegateTakeRateLimit(u64),
    /// TAO a proposer puts down with a proposal (refunded unless vetoed).
    GovDeposit(Rao),
    /// Blocks a proposal is open for votes.
    GovVotingPeriod(u64),
    /// Blocks between a proposal passing and its calls taking effect.
    GovEnactmentDelay(u64),
    /// Share of all stake that must vote (u16 proportion).
    GovQuorum(u16),
    /// Share of yes among yes, no and veto a proposal needs (u16 proportion, strictly more).
    GovThreshold(u16),
    /// Share of vetoes among all votes that rejects a proposal and burns its deposit (u16
    /// proportion, strictly more).
    GovVetoThreshold(u16),
    /// Blocks per consensus epoch (E, default 360, at least 10); a change takes effect
    /// from the next epoch boundary.
    ConsensusEpochLength(u64),
    /// Most chain validators per epoch (K, default 32, 1..=128).
    MaxValidators(u16),
    /// Least total bond a candidate needs to be elected (default 1,000 TAO).
    MinValidatorBond(Rao),
    /// Least TAO one `bond` call may bond (default 1 TAO).
    MinNomination(Rao),
    /// Blocks unbonded TAO waits before it is free again (default 2,520).
    UnbondingPeriod(u64),
    /// Share of the bonds a proven equivocation slashes, parts per million (default
    /// 50,000 = 5 %).
    SlashFraction(u32),
    /// Blocks a slashed validator stays jailed before it may unjail (default 720).
    JailPeriod(u64),
}

impl GlobalParameter {
    /// Every parameter's name, as [`GlobalParameter::name`] gives it.
    pub const NAMES: [&'static str; 26] = [
        "subnet_limit",
        "network_min_lock_cost",
        "network_rate_limit",
        "network_lock_reduction_interval",
        "max_epochs_per_block",
        "admin_freeze_window",
        "owner_hyperparam_rate_limit",
        "stake_threshold",
        "network_immunity_period",
        "start_call_delay",
        "tao_weight",
        "subnet_owner_cut",
        "tx_delegate_take_rate_limit",
        "gov_deposit",
        "gov_voting_period",
        "gov_enactment_delay",
        "gov_quorum",
        "gov_threshold",
        "gov_veto_threshold",
        "consensus_epoch_length",
        "max_validators",
        "min_validator_bond",
        "min_nomination",
        "unbonding_period",
        "slash_fraction",
        "jail_period",
    ];

    /// Its name in text (snake case of the variant).
    pub fn name(&self) -> &'static str {
        use GlobalParameter as G;
        match self {
            G::SubnetLimit(_) => "subnet_limit",
            G::NetworkMinLockCost(_) => "network_min_lock_cost",
            G::NetworkRateLimit(_) => "network_rate_limit",
            G::NetworkLockReductionInterval(_) => "network_lock_reduction_interval",
            G::MaxEpochsPerBlock(_) => "max_epochs_per_block",
            G::AdminFreezeWindow(_) => "admin_freeze_window",
            G::OwnerHyperparamRateLimit(_) => "owner_hyperparam_rate_limit",
            G::StakeThreshold(_) => "stake_threshold",
            G::NetworkImmunityPeriod(_) => "network_immunity_period",
            G::StartCallDelay(_) => "start_call_delay",
            G::TaoWeight(_) => "tao_weight",
            G::SubnetOwnerCut(_) => "subnet_owner_cut",
            G::TxDelegateTakeRateLimit(_) => "tx_delegate_take_rate_limit",
            G::GovDeposit(_) => "gov_deposit",
            G::GovVotingPeriod(_) => "gov_voting_period",
            G::GovEnactmentDelay(_) => "gov_enactment_delay",
            G::GovQuorum(_) => "gov_quorum",
            G::GovThreshold(_) => "gov_threshold",
            G::GovVetoThreshold(_) => "gov_veto_threshold",
            G::ConsensusEpochLength(_) => "consensus_epoch_length",
            G::MaxValidators(_) => "max_validators",
            G::MinValidatorBond(_) => "min_validator_bond",
            G::MinNomination(_) => "min_nomination",
            G::UnbondingPeriod(_) => "unbonding_period",
            G::SlashFraction(_) => "slash_fraction",
            G::JailPeriod(_) => "jail_period",
        }
    }

    /// Its value in text, as [`GlobalParameter::parse`] reads it back (TAO amounts as
    /// decimal TAO).
    pub fn value_text(&self) -> String {
        use GlobalParameter as G;
        match self {
            G::NetworkMinLockCost(v)
            | G::GovDeposit(v)
            | G::MinValidatorBond(v)
            | G::MinNomination(v) => v.to_string(),
            G::SlashFraction(v) => v.to_string(),
            G::SubnetLimit(v)
            | G::MaxEpochsPerBlock(v)
            | G::AdminFreezeWindow(v)
            | G::OwnerHyperparamRateLimit(v)
            | G::SubnetOwnerCut(v)
            | G::GovQuorum(v)
            | G::GovThreshold(v)
            | G::GovVetoThreshold(v)
            | G::MaxValidators(v) => v.to_string(),
            G::NetworkRateLimit(v)
            | G::NetworkLockReductionInterval(v)
            | G::StakeThreshold(v)
            | G::NetworkImmunityPeriod(v)
            | G::StartCallDelay(v)
            | G::TaoWeight(v)
            | G::TxDelegateTakeRateLimit(v)
            | G::GovVotingPeriod(v)
            | G::GovEnactmentDelay(v)
            | G::ConsensusEpochLength(v)
            | G::UnbondingPeriod(v)
            | G::JailPeriod(v) => v.to_string(),
        }
    }

    /// Whether it is one of governance's own parameters (changing them is critical).
    pub fn is_governance(&self) -> bool {
        self.name().starts_with("gov_")
    }

    /// Parses `name` (as [`GlobalParameter::name`] gives it) and a value in text: integers,
    /// TAO amounts (`"1000"`, `"0.5"`) for lock costs and deposits.
    pub fn parse(name: &str, value: &str) -> Result<Self, String> {
        use GlobalParameter as G;
        Ok(match name {
            "subnet_limit" => G::SubnetLimit(num(name, value)?),
            "network_min_lock_cost" => G::NetworkMinLockCost(tao(name, value)?),
            "network_rate_limit" => G::NetworkRateLimit(num(name, value)?),
            "network_lock_reduction_interval" => G::NetworkLockReductionInterval(num(name, value)?),
            "max_epochs_per_block" => G::MaxEpochsPerBlock(num(name, value)?),
            "admin_freeze_window" => G::AdminFreezeWindow(num(name, value)?),
            "owner_hyperparam_rate_limit" => G::OwnerHyperparamRateLimit(num(name, value)?),
            "stake_threshold" => G::StakeThreshold(num(name, value)?),
            "network_immunity_period" => G::NetworkImmunityPeriod(num(name, value)?),
            "start_call_delay" => G::StartCallDelay(num(name, value)?),
            "tao_weight" => G::TaoWeight(num(name, value)?),
            "subnet_owner_cut" => G::SubnetOwnerCut(num(name, value)?),
            "tx_delegate_take_rate_limit" => G::TxDelegateTakeRateLimit(num(name, value)?),
            "gov_deposit" => G::GovDeposit(tao(name, value)?),
            "gov_voting_period" => G::GovVotingPeriod(num(name, value)?),
            "gov_enactment_delay" => G::GovEnactmentDelay(num(name, value)?),
            "gov_quorum" => G::GovQuorum(num(name, value)?),
            "gov_threshold" => G::GovThreshold(num(name, value)?),
            "gov_veto_threshold" => G::GovVetoThreshold(num(name, value)?),
            "consensus_epoch_length" => G::ConsensusEpochLength(num(name, value)?),
            "max_validators" => G::MaxValidators(num(name, value)?),
            "min_validator_bond" => G::MinValidatorBond(tao(name, value)?),
            "min_nomination" => G::MinNomination(tao(name, value)?),
            "unbonding_period" => G::UnbondingPeriod(num(name, value)?),
            "slash_fraction" => G::SlashFraction(num(name, value)?),
            "jail_period" => G::JailPeriod(num(name, value)?),
            _ => {
                return Err(format!(
                    "no chain parameter {name:?}; one of: {}",
                    Self::NAMES.join(", ")
                ))
            }
        })
    }
}

/// What a transaction asks the chain to do.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum Call {
    /// Send TAO (the sender may go to zero; a new account needs the existential deposit).
    Transfer {
        /// Receiver.
        dest: AccountId,
        /// Amount.
        amount: Rao,
    },
    /// Send TAO, keeping the sender at or above the existential deposit.
    TransferKeepAlive {
        /// Receiver.
        dest: AccountId,
        /// Amount.
        amount: Rao,
    },
    /// Send the whole free balance (less the fee, and less the existential deposit when
    /// keeping alive).
    TransferAll {
        /// Receiver.
        dest: AccountId,
        /// Whether to keep the existential deposit.
        existence: Existence,
    },
    /// Create a subnet owned by the signing coldkey, locking the current lock cost; the
    /// hotkey becomes UID 0.
    RegisterNetwork {
        /// The owner's hotkey.
        hotkey: AccountId,
    },
    /// Start a subnet's emission (owner, once).
    StartCall {
        /// The subnet.
        netuid: NetUid,
    },
    /// Set a subnet hyperparameter (owner or root, per parameter).
    SetHyperparameter {
        /// The subnet.
        netuid: NetUid,
        /// Parameter and value.
        value: Hyperparameter,
    },
    /// Set a chain-wide parameter (root).
    SetGlobalParameter {
        /// Parameter and value.
        value: GlobalParameter,
    },
    /// Remove a subnet, refunding its lock to the owner (root).
    DissolveNetwork {
        /// The subnet.
        netuid: NetUid,
    },
    /// Register a hotkey on a subnet by burning the current price, optionally capped.
    BurnedRegister {
        /// The subnet.
        netuid: NetUid,
        /// The hotkey to register (owned by the signing coldkey).
        hotkey: AccountId,
        /// Fail instead of paying more than this.
        limit_price: Option<Rao>,
    },
    /// Register the signing hotkey by proof of work, where the subnet allows it.
    PowRegister {
        /// The subnet.
        netuid: NetUid,
        /// The coldkey that owns the hotkey.
        coldkey: AccountId,
        /// The block whose hash the work is on (one of the last 3 blocks).
        block_number: BlockNumber,
        /// The nonce found.
        nonce: u64,
        /// The seal computed from it.
        work: [u8; 32],
    },
    /// Publish where the signing hotkey serves.
    ServeAxon {
        /// The subnet.
        netuid: NetUid,
        /// Address and version.
        axon: AxonInfo,
    },
    /// Set the signing hotkey's weights (commit-reveal off).
    SetWeights {
        /// The subnet.
        netuid: NetUid,
        /// Target UIDs.
        uids: Vec<u16>,
        /// Weights, any scale (max-upscaled to u16).
        values: Vec<u16>,
        /// The validator software's weights version.
        version_key: u64,
    },
    /// Commit to weights by their hash (commit-reveal on).
    CommitWeights {
        /// The subnet.
        netuid: NetUid,
        /// BLAKE2b-256 of the SCALE tuple (hotkey, netuid, uids, values, salt, version_key).
        commit_hash: [u8; 32],
    },
    /// Stake TAO to a hotkey on a subnet: buys alpha from the subnet's pool (on the root
    /// network, netuid 0, TAO is staked 1:1). Fails instead of buying above `limit_price`
    /// (RAO of TAO per alpha).
    AddStake {
        /// The validator hotkey.
        hotkey: AccountId,
        /// The subnet.
        netuid: NetUid,
        /// TAO to stake (the swap fee included).
        amount: Rao,
        /// Highest acceptable price, RAO per alpha.
        limit_price: Option<Rao>,
    },
    /// Unstake alpha from a hotkey on a subnet: sells it to the pool for TAO. Fails instead
    /// of selling below `limit_price`.
    RemoveStake {
        /// The hotkey.
        hotkey: AccountId,
        /// The subnet.
        netuid: NetUid,
        /// Alpha to unstake (capped at the stake; on root, TAO).
        amount: AlphaRao,
        /// Lowest acceptable price, RAO per alpha.
        limit_price: Option<Rao>,
    },
    /// Unstake everything the signer has on `hotkey`, on every subnet and root, to the last RAO.
    UnstakeAll {
        /// The hotkey.
        hotkey: AccountId,
    },
    /// Move stake between hotkeys and/or subnets, keeping the coldkey.
    MoveStake {
        /// From this hotkey.
        origin_hotkey: AccountId,
        /// To this hotkey.
        destination_hotkey: AccountId,
        /// From this subnet.
        origin_netuid: NetUid,
        /// To this subnet.
        destination_netuid: NetUid,
        /// Alpha of the origin subnet to move.
        amount: AlphaRao,
    },
    /// Give stake to another coldkey (same hotkey), optionally into another subnet.
    TransferStake {
        /// The receiving coldkey.
        destination_coldkey: AccountId,
        /// The hotkey.
        hotkey: AccountId,
        /// From this subnet.
        origin_netuid: NetUid,
        /// To this subnet.
        destination_netuid: NetUid,
        /// Alpha of the origin subnet to transfer.
        amount: AlphaRao,
    },
    /// Swap stake of one hotkey from one subnet to another, with an optional price limit
    /// (origin price over destination price, in RAO).
    SwapStake {
        /// The hotkey.
        hotkey: AccountId,
        /// From this subnet.
        origin_netuid: NetUid,
        /// To this subnet.
        destination_netuid: NetUid,
        /// Alpha of the origin subnet to swap.
        amount: AlphaRao,
        /// Lowest acceptable origin/destination price ratio, ×10^9.
        limit_price: Option<Rao>,
    },
    /// Raise the signer's hotkey's delegate take (rate-limited).
    IncreaseTake {
        /// The hotkey (owned by the signer).
        hotkey: AccountId,
        /// New take, a u16 proportion.
        take: u16,
    },
    /// Lower the signer's hotkey's delegate take.
    DecreaseTake {
        /// The hotkey (owned by the signer).
        hotkey: AccountId,
        /// New take, a u16 proportion.
        take: u16,
    },
    /// Reveal weights committed earlier.
    RevealWeights {
        /// The subnet.
        netuid: NetUid,
        /// Target UIDs.
        uids: Vec<u16>,
        /// Weights.
        values: Vec<u16>,
        /// The salt used in the commit.
        salt: Vec<u16>,
        /// The weights version.
        version_key: u64,
    },
    /// Run the subnet's epoch early, `AdminFreezeWindow` blocks from now (the owner; only
    /// without commit-reveal, none pending, and outside the freeze window).
    TriggerEpoch {
        /// The subnet.
        netuid: NetUid,
    },
    /// Hand the root key to another account or remove it (root).
    SetSudo {
        /// The new root key (`None`: no root key; governance only).
        key: Option<AccountId>,
    },
    /// Propose privileged calls to TAO holders, putting down the governance deposit.
    Propose {
        /// The calls, enacted together or not at all (1 to 8).
        calls: Vec<PrivilegedCall>,
        /// A title (at most 128 bytes).
        title: String,
        /// What and why (at most 4,096 bytes).
        description: String,
    },
    /// Vote on an open proposal with the signer's stake (again: the vote is replaced).
    Vote {
        /// The proposal.
        proposal: ProposalId,
        /// The vote.
        choice: VoteChoice,
    },
    /// Withdraw one's own proposal while it is open for votes (the deposit comes back).
    CancelProposal {
        /// The proposal.
        proposal: ProposalId,
    },
    /// Open a payment channel from the signer to `payee`, locking `deposit` until `expiry`
    /// (payments: `crate::voucher`; the id comes back in the `ChannelOpened` event).
    OpenChannel {
        /// Who may claim (a miner's hotkey or coldkey).
        payee: AccountId,
        /// TAO locked in the channel.
        deposit: Rao,
        /// The block from which the payer may close and take back what is unclaimed.
        expiry: BlockNumber,
    },
    /// Add to an open channel's deposit and optionally push its expiry later (the payer).
    TopUpChannel {
        /// The channel.
        channel: ChannelId,
        /// TAO added (may be 0 when only the expiry moves).
        amount: Rao,
        /// A later expiry, if any.
        expiry: Option<BlockNumber>,
    },
    /// Pay a channel's payee what the payer's latest voucher gives beyond what was already
    /// claimed. Anyone may submit it (and pay its fee): the TAO always goes to the payee.
    ClaimChannel {
        /// The payer's voucher (channel and cumulative amount) and signature.
        voucher: SignedVoucher,
    },
    /// Close a channel at or after its expiry, refunding the unclaimed deposit (the payer).
    CloseChannel {
        /// The channel.
        channel: ChannelId,
    },
    /// Register the signing coldkey (the controller) as a chain-validator candidate with an
    /// ed25519 consensus key (one candidate per controller; a key is never reused).
    RegisterValidator {
        /// The consensus key.
        consensus_key: ConsensusKey,
        /// Where the validator's node listens for consensus peers, `IP:PORT` (≤ 64 bytes).
        p2p_address: String,
        /// Share of the validator's rewards kept by the controller, parts per 10,000.
        commission: u16,
        /// The consensus key's signature of
        /// [`crate::consensus::key_proof_message`]`(genesis, controller)`.
        proof: ConsensusSignature,
    },
    /// Change the signer's candidate's address (at once) or commission (from the next
    /// epoch, once per epoch).
    SetValidatorInfo {
        /// A new `IP:PORT`.
        p2p_address: Option<String>,
        /// A new commission, parts per 10,000.
        commission: Option<u16>,
    },
    /// Bond free TAO to a candidate: its own controller's self-bond, anyone else's
    /// nomination. Bonded TAO is locked until unbonded and released.
    Bond {
        /// The candidate's controller.
        validator: AccountId,
        /// TAO to bond (at least the minimum nomination).
        amount: Rao,
    },
    /// Start unbonding TAO bonded to a candidate: it is released to the free balance
    /// `unbonding_period` blocks later (and may be slashed until then).
    Unbond {
        /// The candidate's controller.
        validator: AccountId,
        /// TAO to unbond.
        amount: Rao,
    },
    /// Leave jail after the jail period (the controller).
    Unjail,
    /// Prove a validator equivocated: slashes its bonders and jails it (anyone; free, so a
    /// validator's node reports what it sees from an account holding no TAO: only a report
    /// that slashes is admitted, and each offence slashes once).
    ReportEquivocation {
        /// The two conflicting signed votes.
        evidence: Equivocation,
    },
}

impl Call {
    /// Whether the call is free: calls hotkeys make as part of mining and validating
    /// (they hold no TAO), proof-of-work registration (the work is the price) and
    /// equivocation reports (validators' nodes make them; a report is admitted only if it
    /// slashes, which it does once). A free call is admitted and included only if it
    /// succeeds, so a failing one costs its sender nothing and does not enter a block.
    pub fn is_free(&self) -> bool {
        matches!(
            self,
            Call::SetWeights { .. }
                | Call::CommitWeights { .. }
                | Call::RevealWeights { .. }
                | Call::ServeAxon { .. }
                | Call::PowRegister { .. }
                | Call::ReportEquivocation { .. }
        )
    }

    /// A short name for logs and receipts.
    pub fn name(&self) -> &'static str {
        match self {
            Call::Transfer { .. } => "transfer",
            Call::TransferKeepAlive { .. } => "transfer_keep_alive",
            Call::TransferAll { .. } => "transfer_all",
            Call::RegisterNetwork { .. } => "register_network",
            Call::StartCall { .. } => "start_call",
            Call::SetHyperparameter { .. } => "set_hyperparameter",
            Call::SetGlobalParameter { .. } => "set_global_parameter",
            Call::DissolveNetwork { .. } => "dissolve_network",
            Call::BurnedRegister { .. } => "burned_register",
            Call::PowRegister { .. } => "register",
            Call::ServeAxon { .. } => "serve_axon",
            Call::SetWeights { .. } => "set_weights",
            Call::CommitWeights { .. } => "commit_weights",
            Call::RevealWeights { .. } => "reveal_weights",
            Call::AddStake { .. } => "add_stake",
            Call::RemoveStake { .. } => "remove_stake",
            Call::UnstakeAll { .. } => "unstake_all",
            Call::MoveStake { .. } => "move_stake",
            Call::TransferStake { .. } => "transfer_stake",
            Call::SwapStake { .. } => "swap_stake",
            Call::IncreaseTake { .. } => "increase_take",
            Call::DecreaseTake { .. } => "decrease_take",
            Call::TriggerEpoch { .. } => "trigger_epoch",
            Call::SetSudo { .. } => "set_sudo",
            Call::Propose { .. } => "propose",
            Call::Vote { .. } => "vote",
            Call::CancelProposal { .. } => "cancel_proposal",
            Call::OpenChannel { .. } => "open_channel",
            Call::TopUpChannel { .. } => "top_up_channel",
            Call::ClaimChannel { .. } => "claim_channel",
            Call::CloseChannel { .. } => "close_channel",
            Call::RegisterValidator { .. } => "register_validator",
            Call::SetValidatorInfo { .. } => "set_validator_info",
            Call::Bond { .. } => "bond",
            Call::Unbond { .. } => "unbond",
            Call::Unjail => "unjail",
            Call::ReportEquivocation { .. } => "report_equivocation",
        }
    }
}

/// The hash a weights commit commits to: BLAKE2b-256 of the SCALE encoding of
/// `(hotkey, netuid, uids, values, salt, version_key)`.
pub fn weights_commit_hash(
    hotkey: &AccountId,
    netuid: NetUid,
    uids: &[u16],
    values: &[u16],
    salt: &[u16],
    version_key: u64,
) -> [u8; 32] {
    let encoded = (hotkey, netuid, uids, values, salt, version_key).encode();
    crate::blake2_256(&encoded).0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axon_addresses_round_trip() {
        for ip in ["127.0.0.1", "203.0.113.7", "::1", "2001:db8::8"] {
            let ip: std::net::IpAddr = ip.parse().unwrap();
            let axon = AxonInfo::new(ip, 8091);
            assert_eq!((axon.ip_addr(), axon.port, axon.version, axon.protocol), (ip, 8091, 1, 4));
            assert_eq!(axon.ip_type, if ip.is_ipv4() { IpType::V4 } else { IpType::V6 });
        }
        assert_eq!(AxonInfo::new("10.0.0.2".parse().unwrap(), 1).ip, 0x0a00_0002);
    }

    #[test]
    fn every_name_parses_back_to_itself() {
        let sample = |name: &str| match name {
            "alpha_values" => "1638,60000",
            "yuma_version" => "3",
            "min_burn" | "max_burn" => "0.5",
            n if n.ends_with("enabled") || n.ends_with("allowed") => "true",
            _ => "7",
        };
        for name in Hyperparameter::NAMES {
            let parsed =
                Hyperparameter::parse(name, sample(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(parsed.name(), name);
        }
        assert_eq!(
            Hyperparameter::parse("min_burn", "0.5"),
            Ok(Hyperparameter::MinBurn(Rao::new(500_000_000)))
        );
        assert_eq!(
            Hyperparameter::parse("yuma_version", "2"),
            Ok(Hyperparameter::Yuma3Enabled(false))
        );
        assert!(Hyperparameter::parse("tempo", "70000").is_err());
        assert!(Hyperparameter::parse("tempo", "-1").is_err());
        assert!(Hyperparameter::parse("transfers_enabled", "maybe").is_err());
        assert!(Hyperparameter::parse("nope", "1").unwrap_err().contains("known: rho"));
    }
}
