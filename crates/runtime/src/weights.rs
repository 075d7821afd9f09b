//! Weights: direct `set_weights`, and hash commit-reveal (`chain-protocol.md` §10).

use crate::{
    epoch::current_epoch_with_lookahead,
    state::{State, WeightCommit},
};
use tao_primitives::{AccountId, NetUid, Uid};
use tao_types::{weights_commit_hash, DispatchError, Event};
use tao_yuma::math::vec_u16_max_upscale_to_u16;

type Outcome = Result<Vec<Event>, DispatchError>;

/// Most unrevealed commits a hotkey may hold on a subnet.
pub const MAX_UNREVEALED_COMMITS: usize = 10;

/// Whether the per-neuron weights rate limit applies (not to reveals, whose commit paid it).
#[derive(Clone, Copy, PartialEq, Eq)]
enum RateLimit {
    Check,
    Skip,
}

/// Validates weights as `set_weights` would (§10.1 steps 2-14) and returns the row to store.
fn checked_weights(
    state: &State,
    hotkey: &AccountId,
    netuid: NetUid,
    uids: &[u16],
    values: &[u16],
    version_key: u64,
    rate_limit: RateLimit,
) -> Result<(Uid, Vec<(Uid, u16)>), DispatchError> {
    let subnet = state.subnet(netuid).ok_or(DispatchError::SubnetNotExists)?;
    let info = subnet.info.get();
    let table = subnet.neurons.get();
    let n = table.neurons.len();
    if uids.len() != values.len() {
        return Err(DispatchError::WeightVecNotEqualSize);
    }
    if uids.len() > n {
        return Err(DispatchError::UidsLengthExceedUidsInSubNet);
    }
    let uid = *table.uids.get(hotkey).ok_or(DispatchError::HotKeyNotRegisteredInSubNet)?;
    let neuron =
        table.neurons.get(uid.index()).ok_or(DispatchError::HotKeyNotRegisteredInSubNet)?;
    let is_owner = *hotkey == info.owner_hotkey;
    let weight = tao_economics::coinbase::tao_weight(state.chain().params.tao_weight);
    let stake = crate::epoch::stake_weight(subnet, state.root_stakes(), hotkey, weight);
    if !is_owner && stake.saturating_to_num::<u64>() < state.chain().params.stake_threshold {
        return Err(DispatchError::NotEnoughStakeToSetWeights);
    }
    if info.params.weights_version != 0 && version_key < info.params.weights_version {
        return Err(DispatchError::IncorrectWeightVersionKey);
    }
    if rate_limit == RateLimit::Check {
        let last = neuron.last_update.get();
        if last != 0 && state.block().get().saturating_sub(last) < info.params.weights_rate_limit {
            return Err(DispatchError::SettingWeightsTooFast);
        }
    }
    let self_weight = uids.len() == 1 && uids.first() == Some(&uid.get());
    if !self_weight && !is_owner && !neuron.epoch.validator_permit {
        return Err(DispatchError::NeuronNoValidatorPermit);
    }
    let mut seen = std::collections::BTreeSet::new();
    if !uids.iter().all(|u| seen.insert(*u)) {
        return Err(DispatchError::DuplicateUids);
    }
    if uids.iter().any(|u| usize::from(*u) >= n) {
        return Err(DispatchError::UidVecContainInvalidOne);
    }
    let min_len = usize::from(info.params.min_allowed_weights).min(n);
    if !self_weight && uids.len() < min_len {
        return Err(DispatchError::WeightVecLengthIsLow);
    }
    let upscaled = vec_u16_max_upscale_to_u16(values);
    let mut row: Vec<(Uid, u16)> =
        uids.iter().zip(upscaled).map(|(u, w)| (Uid::new(*u), w)).collect();
    row.sort_by_key(|(u, _)| *u);
    Ok((uid, row))
}

/// Stores a validated row.
fn store_weights(state: &mut State, netuid: NetUid, uid: Uid, row: Vec<(Uid, u16)>, touch: bool) {
    let now = state.block();
    if let Some(neuron) =
        state.subnet_mut(netuid).and_then(|s| s.neurons.make_mut().neurons.get_mut(uid.index()))
    {
        neuron.weights = row;
        if touch {
            neuron.last_update = now;
        }
    }
}

fn check_subnet(state: &State, netuid: NetUid) -> Result<bool, DispatchError> {
    if netuid.is_root() {
        return Err(DispatchError::CanNotSetRootNetworkWeights);
    }
    let subnet = state.subnet(netuid).ok_or(DispatchError::SubnetNotExists)?;
    Ok(subnet.info.get().params.commit_reveal_enabled)
}

/// `set_weights`: the signing hotkey's weights, when commit-reveal is off.
pub(crate) fn set_weights(
    state: &mut State,
    hotkey: AccountId,
    netuid: NetUid,
    uids: &[u16],
    values: &[u16],
    version_key: u64,
) -> Outcome {
    if check_subnet(state, netuid)? {
        return Err(DispatchError::CommitRevealEnabled);
    }
    let (uid, row) =
        checked_weights(state, &hotkey, netuid, uids, values, version_key, RateLimit::Check)?;
    store_weights(state, netuid, uid, row, true);
    Ok(vec![Event::WeightsSet { netuid, uid }])
}

/// Commits that have not expired at `current` epoch, oldest first.
fn live(commits: &[WeightCommit], current: u64, period: u64) -> Vec<WeightCommit> {
    commits.iter().filter(|c| current <= c.epoch.saturating_add(period)).copied().collect()
}

/// `commit_weights`: the signing hotkey commits to weights by hash.
pub(crate) fn commit_weights(
    state: &mut State,
    hotkey: AccountId,
    netuid: NetUid,
    commit_hash: [u8; 32],
) -> Outcome {
    if !check_subnet(state, netuid)? {
        return Err(DispatchError::CommitRevealDisabled);
    }
    let now = state.block();
    let subnet = state.subnet(netuid).ok_or(DispatchError::SubnetNotExists)?;
    let info = subnet.info.get();
    let table = subnet.neurons.get();
    let uid = *table.uids.get(&hotkey).ok_or(DispatchError::HotKeyNotRegisteredInSubNet)?;
    let last = table.neurons.get(uid.index()).map_or(0, |n| n.last_update.get());
    if last != 0 && now.get().saturating_sub(last) < info.params.weights_rate_limit {
        return Err(DispatchError::SettingWeightsTooFast);
    }
    let epoch = current_epoch_with_lookahead(info, now);
    let mut queue = live(
        table.commits.get(&hotkey).map_or(&[], Vec::as_slice),
        epoch,
        info.params.commit_reveal_period,
    );
    if queue.len() >= MAX_UNREVEALED_COMMITS {
        return Err(DispatchError::TooManyUnrevealedCommits);
    }
    queue.push(WeightCommit { hash: commit_hash, epoch, block: now });

    let Some(subnet) = state.subnet_mut(netuid) else { return Err(DispatchError::SubnetNotExists) };
    let table = subnet.neurons.make_mut();
    table.commits.insert(hotkey, queue);
    if let Some(neuron) = table.neurons.get_mut(uid.index()) {
        neuron.last_update = now;
    }
    Ok(vec![Event::WeightsCommitted { netuid, hotkey, commit_hash }])
}

/// `reveal_weights`: apply weights committed earlier, in the commit's reveal epoch.
pub(crate) fn reveal_weights(
    state: &mut State,
    hotkey: AccountId,
    netuid: NetUid,
    uids: &[u16],
    values: &[u16],
    salt: &[u16],
    version_key: u64,
) -> Outcome {
    if !check_subnet(state, netuid)? {
        return Err(DispatchError::CommitRevealDisabled);
    }
    let now = state.block();
    let subnet = state.subnet(netuid).ok_or(DispatchError::SubnetNotExists)?;
    let info = subnet.info.get();
    let commits = subnet.neurons.get().commits.get(&hotkey).cloned().unwrap_or_default();
    if commits.is_empty() {
        return Err(DispatchError::NoWeightsCommitFound);
    }
    let hash = weights_commit_hash(&hotkey, netuid, uids, values, salt, version_key);
    let current = current_epoch_with_lookahead(info, now);
    let period = info.params.commit_reveal_period;
    let queue = live(&commits, current, period);
    let Some(position) = queue.iter().position(|c| c.hash == hash) else {
        return Err(if commits.iter().any(|c| c.hash == hash) || queue.is_empty() {
            DispatchError::ExpiredWeightCommit
        } else {
            DispatchError::InvalidRevealCommitHashNotMatch
        });
    };
    let commit = queue.get(position).copied().ok_or(DispatchError::NoWeightsCommitFound)?;
    if current != commit.epoch.saturating_add(period) {
        return Err(DispatchError::RevealTooEarly);
    }
    let (uid, row) =
        checked_weights(state, &hotkey, netuid, uids, values, version_key, RateLimit::Skip)?;

    let remaining: Vec<WeightCommit> = queue.into_iter().skip(position.saturating_add(1)).collect();
    if let Some(subnet) = state.subnet_mut(netuid) {
        let table = subnet.neurons.make_mut();
        if remaining.is_empty() {
            table.commits.remove(&hotkey);
        } else {
            table.commits.insert(hotkey, remaining);
        }
    }
    store_weights(state, netuid, uid, row, false);
    Ok(vec![Event::WeightsSet { netuid, uid }])
}
