//! Subnets: creation with a lock, start of emission, hyperparameters, dissolution
//! (`chain-protocol.md` §8, §9).

use crate::{
    governance,
    neurons::append_neuron,
    state::{GlobalParams, Hyperparams, NeuronTable, PendingAlpha, StakeTable, State, SubnetInfo},
    validators, Cached, Subnet,
};
use substrate_fixed::types::{I96F32, U64F64, U96F32};
use tao_economics::pool::{Pool, DEFAULT_FEE_RATE, MAX_FEE_RATE};
use tao_economics::{
    block_emission, decay_factor_q32, lock_reduction_interval, network_lock_cost, LockState,
};
use tao_primitives::{fixed::SafeDiv, AlphaRao};
use tao_primitives::{AccountId, BlockNumber, NetUid, Rao};
use tao_types::{DispatchError, Event, GlobalParameter, Hyperparameter, Setter};

/// One TAO in RAO.
const TAO: u64 = 1_000_000_000;
/// Most subnets a chain can address (netuids 1..4096).
pub const MAX_SUBNETS: u16 = 4_095;

type Outcome = Result<Vec<Event>, DispatchError>;

/// The median spot price of the existing subnets (1 if none has a price).
fn median_price(state: &State) -> U64F64 {
    let mut prices: Vec<U64F64> = state
        .subnets
        .values()
        .map(|s| s.info.get().pool.price())
        .filter(|p| *p > U64F64::from_num(0))
        .collect();
    prices.sort();
    let mid = prices.len() / 2;
    match (prices.get(mid.wrapping_sub(1)), prices.get(mid)) {
        (_, None) => U64F64::from_num(1),
        (Some(low), Some(high)) if prices.len() % 2 == 0 => {
            low.saturating_add(*high).safe_div(U64F64::from_num(2))
        }
        (_, Some(middle)) => *middle,
    }
}

/// Adds a subnet with the new-subnet defaults; the owner hotkey becomes UID 0. The pool
/// starts with `pool_tao` and the alpha that buys at the median subnet price.
pub(crate) fn new_subnet(
    state: &mut State,
    netuid: NetUid,
    coldkey: AccountId,
    hotkey: AccountId,
    locked: Rao,
    pool_tao: Rao,
) {
    let now = state.block();
    let pool_alpha = U64F64::saturating_from_num(pool_tao.get())
        .safe_div(median_price(state))
        .saturating_to_num::<u64>();
    let params = Hyperparams::new_subnet();
    let stagger = u64::from(netuid.get()).checked_rem(u64::from(params.tempo)).unwrap_or(0);
    let info = SubnetInfo {
        owner_coldkey: coldkey,
        owner_hotkey: hotkey,
        registered_at: now,
        burn: Rao::new(TAO),
        burn_decay_q32: decay_factor_q32(params.burn_half_life),
        first_emission_block: None,
        locked,
        pool: Pool::new(pool_tao.get(), pool_alpha),
        fee_rate: DEFAULT_FEE_RATE,
        alpha_out: AlphaRao::ZERO,
        protocol_alpha: AlphaRao::ZERO,
        alpha_burned: AlphaRao::ZERO,
        pending: PendingAlpha::default(),
        moving_price: I96F32::from_num(0),
        miner_burned: U96F32::from_num(0),
        last_epoch_block: BlockNumber::new(now.get().saturating_sub(stagger)),
        pending_epoch_at: BlockNumber::GENESIS,
        blocks_since_last_step: 0,
        epoch_index: 0,
        last_step_block: BlockNumber::GENESIS,
        param_last_set: Default::default(),
        pow_registrations: Default::default(),
        params,
    };
    let mut subnet = Subnet {
        info: Cached::new(info),
        neurons: Cached::new(NeuronTable::default()),
        stakes: Cached::new(StakeTable::default()),
    };
    append_neuron(&mut subnet, hotkey, coldkey, now);
    state.set_hotkey_owner(hotkey, coldkey);
    state.subnets.insert(netuid, subnet);
}

/// The current subnet lock cost.
pub fn lock_cost(state: &State) -> Rao {
    let chain = state.chain();
    let interval = lock_reduction_interval(
        chain.params.network_lock_reduction_interval,
        block_emission(chain.total_issuance),
    );
    network_lock_cost(chain.lock, chain.params.network_min_lock, interval, state.block())
}

/// `register_network`: lock the lock cost and create a subnet owned by `coldkey`.
pub(crate) fn register_network(
    state: &mut State,
    coldkey: AccountId,
    hotkey: AccountId,
) -> Outcome {
    let now = state.block();
    let chain = state.chain();
    let last = chain.lock.last_lock_block;
    if last.get() != 0 && now.saturating_since(last) < chain.params.network_rate_limit {
        return Err(DispatchError::NetworkTxRateLimitExceeded);
    }
    if state.hotkey_owner(&hotkey).is_some_and(|owner| owner != coldkey) {
        return Err(DispatchError::NonAssociatedColdKey);
    }
    let cost = lock_cost(state);
    let free = state.account(&coldkey).free;
    let remaining = free.checked_sub(cost).ok_or(DispatchError::InsufficientBalance)?;
    // A slot: the lowest unused netuid, or one freed by pruning the cheapest unprotected subnet.
    let limit = usize::from(state.chain().params.subnet_limit);
    let prune = if state.subnets.len() >= limit { Some(subnet_to_prune(state)?) } else { None };
    let netuid = match prune {
        Some(netuid) => netuid,
        None => lowest_free_netuid(state).ok_or(DispatchError::SubnetLimitReached)?,
    };

    let mut events = Vec::new();
    if let Some(pruned) = prune {
        events.push(remove_subnet(state, pruned));
    }
    state.account_mut(&coldkey).free = remaining;
    new_subnet(state, netuid, coldkey, hotkey, cost, cost);
    state.chain_mut().lock = LockState { last_lock: cost, last_lock_block: now };
    events.push(Event::NetworkAdded { netuid, owner: coldkey, lock: cost });
    Ok(events)
}

fn lowest_free_netuid(state: &State) -> Option<NetUid> {
    (1..=MAX_SUBNETS).map(NetUid::new).find(|n| !state.subnets.contains_key(n))
}

/// The subnet to prune for a new one (§8.2): among those past the network immunity period,
/// the lowest moving price; ties go to the earliest registered (then the lowest netuid).
/// So the market, not age, decides which subnet gives way.
fn subnet_to_prune(state: &State) -> Result<NetUid, DispatchError> {
    let now = state.block();
    let immunity = state.chain().params.network_immunity_period;
    state
        .subnets
        .iter()
        .filter(|(_, s)| now.saturating_since(s.info.get().registered_at) >= immunity)
        .min_by_key(|(netuid, s)| {
            let info = s.info.get();
            (info.moving_price, info.registered_at, **netuid)
        })
        .map(|(netuid, _)| *netuid)
        .ok_or(DispatchError::SubnetLimitReached)
}

/// Removes a subnet: the pool's TAO goes to its alpha holders pro rata to the value of
/// their alpha (the protocol's alpha, in the pool and bought, is a holder too: its share is
/// recycled). As in the reference's `destroy_alpha_in_out_stakes`, each (hotkey, coldkey)
/// stake and the protocol get `floor(pot × alpha / Σ alpha)`, and the RAO those floors
/// leave go one each to the portions with the largest remainders (ties: hotkey, then
/// coldkey order, the protocol last; the reference breaks ties in its storage order).
fn remove_subnet(state: &mut State, netuid: NetUid) -> Event {
    let Some(subnet) = state.subnets.remove(&netuid) else {
        return Event::NetworkRemoved { netuid, refund: Rao::ZERO };
    };
    let info = subnet.info.get();
    // (coldkey, alpha value); `None` is the protocol.
    let mut holders: Vec<(Option<AccountId>, u128)> = Vec::new();
    for pool in subnet.stakes.get().values() {
        for coldkey in pool.coldkeys() {
            let value = pool.value(coldkey);
            if value > 0 {
                holders.push((Some(*coldkey), u128::from(value)));
            }
        }
    }
    let protocol = info.pool.alpha.saturating_add(info.protocol_alpha.get());
    if protocol > 0 {
        holders.push((None, u128::from(protocol)));
    }
    let total_alpha = holders.iter().fold(0u128, |acc, (_, v)| acc.saturating_add(*v));
    let pot = u128::from(info.pool.tao);
    // (portion, remainder, position) per holder, then the leftover by largest remainder.
    let mut portions: Vec<(u128, u128, usize)> = holders
        .iter()
        .enumerate()
        .map(|(position, (_, alpha))| {
            let product = pot.saturating_mul(*alpha);
            (
                product.checked_div(total_alpha).unwrap_or(0),
                product.checked_rem(total_alpha).unwrap_or(0),
                position,
            )
        })
        .collect();
    let distributed = portions.iter().fold(0u128, |acc, (p, _, _)| acc.saturating_add(*p));
    let leftover = if total_alpha > 0 { pot.saturating_sub(distributed) } else { 0 };
    portions.sort_by(|a, b| b.1.cmp(&a.1).then(a.2.cmp(&b.2)));
    let give = usize::try_from(leftover).unwrap_or(usize::MAX);
    for portion in portions.iter_mut().take(give) {
        portion.0 = portion.0.saturating_add(1);
    }
    let mut paid: u64 = 0;
    for (portion, _, position) in portions {
        let Some((Some(coldkey), _)) = holders.get(position) else { continue };
        let share = u64::try_from(portion).unwrap_or(u64::MAX);
        let account = state.account_mut(coldkey);
        account.free = account.free.saturating_add(Rao::new(share));
        paid = paid.saturating_add(share);
    }
    let chain = state.chain_mut();
    chain.total_issuance =
        chain.total_issuance.saturating_sub(Rao::new(info.pool.tao.saturating_sub(paid)));
    Event::NetworkRemoved { netuid, refund: Rao::new(paid) }
}

/// `dissolve_network` (root).
pub(crate) fn dissolve_network(state: &mut State, origin: Origin, netuid: NetUid) -> Outcome {
    if !origin.is_root(state) {
        return Err(DispatchError::BadOrigin);
    }
    if !state.subnets.contains_key(&netuid) {
        return Err(DispatchError::SubnetNotExists);
    }
    Ok(vec![remove_subnet(state, netuid)])
}

/// `start_call`: the owner starts emission from the next block.
pub(crate) fn start_call(state: &mut State, signer: AccountId, netuid: NetUid) -> Outcome {
    let now = state.block();
    let delay = state.chain().params.start_call_delay;
    let subnet = state.subnet_mut(netuid).ok_or(DispatchError::SubnetNotExists)?;
    let info = subnet.info.get();
    if info.owner_coldkey != signer {
        return Err(DispatchError::NotSubnetOwner);
    }
    if info.first_emission_block.is_some() {
        return Err(DispatchError::FirstEmissionBlockNumberAlreadySet);
    }
    if now.saturating_since(info.registered_at) < delay {
        return Err(DispatchError::NeedWaitingMoreBlocksToStarCall);
    }
    let first = now.next().ok_or(DispatchError::Overflow)?;
    subnet.info.make_mut().first_emission_block = Some(first);
    Ok(vec![Event::EmissionStarted { netuid, block: first }])
}

/// Whether `account` is the root key.
pub(crate) fn is_root(state: &State, account: &AccountId) -> bool {
    state.chain().sudo.as_ref() == Some(account)
}

/// Who a privileged call acts for: a signed account (root if it holds the root key), or
/// root itself (a passed proposal).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Origin {
    /// A transaction's signer.
    Signed(AccountId),
    /// Governance: a passed proposal's enactment.
    Root,
}

impl Origin {
    /// Whether it may make root calls on `state`.
    pub(crate) fn is_root(&self, state: &State) -> bool {
        match self {
            Origin::Signed(account) => is_root(state, account),
            Origin::Root => true,
        }
    }
}

/// `set_sudo` (root): hands the root key on, or removes it.
pub(crate) fn set_sudo(state: &mut State, origin: Origin, key: Option<AccountId>) -> Outcome {
    if !origin.is_root(state) {
        return Err(DispatchError::BadOrigin);
    }
    state.chain_mut().sudo = key;
    Ok(vec![Event::SudoChanged { key }])
}

/// Whether owners are locked out of parameter changes: an epoch is pending, or the next
/// one is fewer than `AdminFreezeWindow` blocks away.
fn in_freeze_window(info: &SubnetInfo, now: BlockNumber, window: u16) -> bool {
    if info.pending_epoch_at > now {
        return true;
    }
    // Tempo 0: no automatic epoch is coming, so nothing to freeze for.
    if info.params.tempo == 0 {
        return false;
    }
    let next = info.last_epoch_block.get().saturating_add(u64::from(info.params.tempo));
    next.saturating_sub(now.get()) < u64::from(window)
}

/// `trigger_epoch` (§3.6): the owner schedules the subnet's epoch `AdminFreezeWindow` blocks
/// from now; only with commit-reveal off, none already pending, and at least that many
/// blocks before the automatic epoch (outside the freeze window).
pub(crate) fn trigger_epoch(state: &mut State, signer: AccountId, netuid: NetUid) -> Outcome {
    let now = state.block();
    let window = state.chain().params.admin_freeze_window;
    let subnet = state.subnet_mut(netuid).ok_or(DispatchError::SubnetNotExists)?;
    let info = subnet.info.get();
    if info.owner_coldkey != signer {
        return Err(DispatchError::NotSubnetOwner);
    }
    if info.params.commit_reveal_enabled {
        return Err(DispatchError::CommitRevealEnabled);
    }
    if info.pending_epoch_at > now {
        return Err(DispatchError::EpochAlreadyPending);
    }
    if in_freeze_window(info, now, window) {
        return Err(DispatchError::AdminActionProhibitedDuringWeightsWindow);
    }
    let at = BlockNumber::new(now.get().saturating_add(u64::from(window)));
    subnet.info.make_mut().pending_epoch_at = at;
    Ok(vec![Event::EpochTriggered { netuid, at }])
}

/// Blocks between two tempo changes by an owner (the reference's `set_tempo` limit).
pub const OWNER_TEMPO_RATE_LIMIT: u64 = 360;

/// `set_hyperparameter`: owner (rate-limited, outside the freeze window) or root.
pub(crate) fn set_hyperparameter(
    state: &mut State,
    origin: Origin,
    netuid: NetUid,
    value: Hyperparameter,
) -> Outcome {
    let now = state.block();
    let root = origin.is_root(state);
    let globals = state.chain().params.clone();
    let subnet = state.subnet_mut(netuid).ok_or(DispatchError::SubnetNotExists)?;
    let info = subnet.info.get();
    let as_owner = !root;
    let is_tempo = matches!(value, Hyperparameter::Tempo(_));
    if as_owner {
        if value.setter() == Setter::Root {
            return Err(DispatchError::BadOrigin);
        }
        if origin != Origin::Signed(info.owner_coldkey) {
            return Err(DispatchError::NotSubnetOwner);
        }
    }
    // A tempo change moves the next epoch, so root respects the freeze window for it too.
    if (as_owner || is_tempo) && in_freeze_window(info, now, globals.admin_freeze_window) {
        return Err(DispatchError::AdminActionProhibitedDuringWeightsWindow);
    }
    if as_owner {
        let limit = match value {
            Hyperparameter::Tempo(_) => OWNER_TEMPO_RATE_LIMIT,
            Hyperparameter::WeightsVersion(_) => 5u64.saturating_mul(u64::from(info.params.tempo)),
            _ => u64::from(globals.owner_hyperparam_rate_limit)
                .saturating_mul(u64::from(info.params.tempo)),
        };
        if let Some(last) = info.param_last_set.get(&value.key()) {
            if now.saturating_since(*last) < limit {
                let next = BlockNumber::new(last.get().saturating_add(limit));
                return Err(DispatchError::TxRateLimitExceeded { last: *last, next });
            }
        }
    }
    let n = subnet.neurons.get().neurons.len();
    let mut params = info.params.clone();
    apply_hyperparameter(&mut params, value, as_owner, n)?;
    if let Hyperparameter::FeeRate(rate) = value {
        check(rate <= MAX_FEE_RATE)?;
    }

    let info = subnet.info.make_mut();
    if params.burn_half_life != info.params.burn_half_life {
        info.burn_decay_q32 = decay_factor_q32(params.burn_half_life);
    }
    // A new tempo counts from now (owner or root), as the reference's `set_tempo`.
    if params.tempo != info.params.tempo {
        info.last_epoch_block = now;
    }
    info.params = params;
    if let Hyperparameter::FeeRate(rate) = value {
        info.fee_rate = rate;
    }
    if as_owner {
        info.param_last_set.insert(value.key(), now);
    }
    Ok(vec![Event::HyperparameterSet { netuid, value }])
}

fn check(ok: bool) -> Result<(), DispatchError> {
    if ok {
        Ok(())
    } else {
        Err(DispatchError::InvalidValue)
    }
}

/// Validates a value against its bounds and writes it into `params`.
fn apply_hyperparameter(
    params: &mut Hyperparams,
    value: Hyperparameter,
    as_owner: bool,
    n: usize,
) -> Result<(), DispatchError> {
    use Hyperparameter as H;
    match value {
        H::Rho(v) => params.rho = v,
        H::Kappa(v) => params.kappa = v,
        H::ImmunityPeriod(v) => params.immunity_period = v,
        H::MinAllowedWeights(v) => params.min_allowed_weights = v,
        H::Tempo(v) => {
            check(!as_owner || (360..=50_400).contains(&v))?;
            params.tempo = v;
        }
        H::ActivityCutoffFactor(v) => {
            check((1_000..=50_000).contains(&v))?;
            params.activity_cutoff_factor = v;
        }
        H::WeightsVersion(v) => params.weights_version = v,
        H::WeightsRateLimit(v) => params.weights_rate_limit = v,
        H::RegistrationAllowed(v) => params.registration_allowed = v,
        H::PowRegistrationAllowed(v) => params.pow_registration_allowed = v,
        H::Difficulty(v) => {
            check(v >= 1)?;
            params.difficulty = v;
        }
        H::MinBurn(v) => {
            check(v.get() < TAO && v < params.max_burn)?;
            params.min_burn = v;
        }
        H::MaxBurn(v) => {
            check(v.get() > TAO / 10 && v > params.min_burn)?;
            params.max_burn = v;
        }
        H::BurnHalfLife(v) => {
            check((1..=36_100).contains(&v))?;
            params.burn_half_life = v;
        }
        H::BurnIncreaseMult(bits) => {
            check((1u128 << 64..=3u128 << 64).contains(&bits))?;
            params.burn_increase_mult = bits;
        }
        H::BondsMovingAverage(v) => {
            check(v <= if as_owner { 975_000 } else { 1_000_000 })?;
            params.bonds_moving_average = v;
        }
        H::BondsPenalty(v) => params.bonds_penalty = v,
        H::ServingRateLimit(v) => params.serving_rate_limit = v,
        H::MaxAllowedValidators(v) => {
            check(v <= params.max_allowed_uids)?;
            params.max_allowed_validators = v;
        }
        H::MaxAllowedUids(v) => {
            if usize::from(v) < n {
                return Err(DispatchError::MaxAllowedUidsLessThanCurrentUids);
            }
            check(v >= params.min_allowed_uids && (1..=256).contains(&v))?;
            params.max_allowed_uids = v;
            params.max_allowed_validators = params.max_allowed_validators.min(v);
        }
        H::MinAllowedUids(v) => {
            check(v <= params.max_allowed_uids)?;
            params.min_allowed_uids = v;
        }
        H::CommitRevealPeriod(v) => {
            check((1..=100).contains(&v))?;
            params.commit_reveal_period = v;
        }
        H::CommitRevealEnabled(v) => params.commit_reveal_enabled = v,
        H::LiquidAlphaEnabled(v) => params.liquid_alpha_enabled = v,
        H::AlphaValues { low, high } => {
            if !params.liquid_alpha_enabled {
                return Err(DispatchError::LiquidAlphaDisabled);
            }
            let floor = u16::MAX / 40;
            check(high >= floor && low >= floor && low <= high)?;
            params.alpha_low = low;
            params.alpha_high = high;
        }
        H::AlphaSigmoidSteepness(v) => {
            check(!as_owner || v >= 0)?;
            params.alpha_sigmoid_steepness = v;
        }
        H::Yuma3Enabled(v) => params.yuma3 = v,
        H::BondsResetEnabled(v) => params.bonds_reset_enabled = v,
        H::TransfersEnabled(v) => params.transfers_enabled = v,
        H::OwnerCutEnabled(v) => params.owner_cut_enabled = v,
        H::FeeRate(_) => {}
        H::ImmuneOwnerUidsLimit(v) => {
            check((1..=10).contains(&v))?;
            params.immune_owner_uids_limit = v;
        }
        H::MinNonImmuneUids(v) => params.min_non_immune_uids = v,
    }
    Ok(())
}

/// `set_global_parameter` (root).
pub(crate) fn set_global_parameter(
    state: &mut State,
    origin: Origin,
    value: GlobalParameter,
) -> Outcome {
    if !origin.is_root(state) {
        return Err(DispatchError::BadOrigin);
    }
    let mut params = state.chain().params.clone();
    apply_global_parameter(&mut params, value)?;
    state.chain_mut().params = params;
    Ok(vec![Event::GlobalParameterSet(value)])
}

/// Writes `value` into `params` if it is in its range (genesis uses it too).
pub(crate) fn apply_global_parameter(
    params: &mut GlobalParams,
    value: GlobalParameter,
) -> Result<(), DispatchError> {
    let period = |v: u64| check((1..=governance::MAX_PERIOD_BLOCKS).contains(&v));
    match value {
        GlobalParameter::SubnetLimit(v) => {
            check((1..=MAX_SUBNETS).contains(&v))?;
            params.subnet_limit = v;
        }
        GlobalParameter::NetworkMinLockCost(v) => params.network_min_lock = v,
        GlobalParameter::NetworkRateLimit(v) => params.network_rate_limit = v,
        GlobalParameter::NetworkLockReductionInterval(v) => {
            check(v >= 1)?;
            params.network_lock_reduction_interval = v;
        }
        GlobalParameter::MaxEpochsPerBlock(v) => {
            check(v >= 1)?;
            params.max_epochs_per_block = v;
        }
        GlobalParameter::AdminFreezeWindow(v) => params.admin_freeze_window = v,
        GlobalParameter::OwnerHyperparamRateLimit(v) => params.owner_hyperparam_rate_limit = v,
        GlobalParameter::StakeThreshold(v) => params.stake_threshold = v,
        GlobalParameter::NetworkImmunityPeriod(v) => params.network_immunity_period = v,
        GlobalParameter::StartCallDelay(v) => params.start_call_delay = v,
        GlobalParameter::TaoWeight(v) => params.tao_weight = v,
        GlobalParameter::SubnetOwnerCut(v) => params.subnet_owner_cut = v,
        GlobalParameter::TxDelegateTakeRateLimit(v) => params.take_rate_limit = v,
        GlobalParameter::GovDeposit(v) => params.gov.deposit = v,
        GlobalParameter::GovVotingPeriod(v) => {
            period(v)?;
            params.gov.voting_period = v;
        }
        GlobalParameter::GovEnactmentDelay(v) => {
            // 0 is allowed: enacted in the block the vote ends.
            check(v <= governance::MAX_PERIOD_BLOCKS)?;
            params.gov.enactment_delay = v;
        }
        // A quorum of 0 would let one voter decide; thresholds of 0 or 100 % would make
        // every proposal pass or none.
        GlobalParameter::GovQuorum(v) => {
            check(v >= 1)?;
            params.gov.quorum = v;
        }
        GlobalParameter::GovThreshold(v) => {
            check((1..u16::MAX).contains(&v))?;
            params.gov.threshold = v;
        }
        GlobalParameter::GovVetoThreshold(v) => {
            check((1..u16::MAX).contains(&v))?;
            params.gov.veto_threshold = v;
        }
        GlobalParameter::ConsensusEpochLength(v) => {
            check((validators::MIN_EPOCH_LENGTH..=validators::MAX_PERIOD).contains(&v))?;
            params.pos.epoch_length = v;
        }
        GlobalParameter::MaxValidators(v) => {
            check((1..=validators::MAX_SET_SIZE).contains(&v))?;
            params.pos.max_validators = v;
        }
        GlobalParameter::MinValidatorBond(v) => {
            check(!v.is_zero())?;
            params.pos.min_validator_bond = v;
        }
        GlobalParameter::MinNomination(v) => {
            check(!v.is_zero())?;
            params.pos.min_nomination = v;
        }
        GlobalParameter::UnbondingPeriod(v) => {
            check((1..=validators::MAX_PERIOD).contains(&v))?;
            params.pos.unbonding_period = v;
        }
        GlobalParameter::SlashFraction(v) => {
            check(v <= validators::SLASH_DENOMINATOR)?;
            params.pos.slash_fraction = v;
        }
        GlobalParameter::JailPeriod(v) => {
            check(v <= validators::MAX_PERIOD)?;
            params.pos.jail_period = v;
        }
    }
    Ok(())
}
