//! Neurons: registration by burn or proof of work, replacement of the weakest when full,
//! and axon serving (`chain-protocol.md` §7, §11).

use crate::{
    state::{Neuron, NeuronEpochOutput, State, SubnetInfo},
    Subnet,
};
use substrate_fixed::types::U64F64;
use tao_economics::{bump_burn, BurnBounds};
use tao_primitives::{AccountId, BlockNumber, NetUid, Rao, Uid};
use tao_types::{AxonInfo, DispatchError, Event, IpType};

type Outcome = Result<Vec<Event>, DispatchError>;

pub use tao_types::pow::{pow_seal, seal_meets_difficulty, POW_BLOCK_WINDOW};

/// Most proof-of-work registrations per subnet in one block (`MaxRegistrationsPerBlock`).
pub const MAX_POW_REGISTRATIONS_PER_BLOCK: u16 = 1;
/// The interval proof-of-work registrations are counted over (`AdjustmentInterval`).
pub const POW_INTERVAL_BLOCKS: u64 = 100;
/// Most proof-of-work registrations per subnet in one interval
/// (3 × `TargetRegistrationsPerInterval`).
pub const MAX_POW_REGISTRATIONS_PER_INTERVAL: u16 = 6;

/// Appends a neuron with a new UID.
pub(crate) fn append_neuron(
    subnet: &mut Subnet,
    hotkey: AccountId,
    coldkey: AccountId,
    now: BlockNumber,
) -> Uid {
    let table = subnet.neurons.make_mut();
    let uid = Uid::new(u16::try_from(table.neurons.len()).unwrap_or(u16::MAX));
    table.neurons.push(fresh_neuron(hotkey, coldkey, now));
    table.uids.insert(hotkey, uid);
    uid
}

fn fresh_neuron(hotkey: AccountId, coldkey: AccountId, now: BlockNumber) -> Neuron {
    Neuron {
        hotkey,
        coldkey,
        block_at_registration: now,
        last_update: now,
        axon: None,
        weights: Vec::new(),
        bonds: Vec::new(),
        epoch: NeuronEpochOutput::default(),
    }
}

/// Where a new neuron goes: a new UID, or the UID of the neuron it replaces.
enum Slot {
    Append,
    Replace(Uid),
}

/// The checks every registration shares; returns where the neuron goes.
fn check_registration(
    state: &State,
    netuid: NetUid,
    hotkey: &AccountId,
    coldkey: &AccountId,
) -> Result<Slot, DispatchError> {
    if netuid.is_root() {
        return Err(DispatchError::RegistrationNotPermittedOnRootSubnet);
    }
    let subnet = state.subnet(netuid).ok_or(DispatchError::SubnetNotExists)?;
    let info = subnet.info.get();
    if !info.params.registration_allowed {
        return Err(DispatchError::SubNetRegistrationDisabled);
    }
    if subnet.neurons.get().uids.contains_key(hotkey) {
        return Err(DispatchError::HotKeyAlreadyRegisteredInSubNet);
    }
    if state.hotkey_owner(hotkey).is_some_and(|owner| owner != *coldkey) {
        return Err(DispatchError::NonAssociatedColdKey);
    }
    slot(subnet, state.block())
}

fn slot(subnet: &Subnet, now: BlockNumber) -> Result<Slot, DispatchError> {
    let info = subnet.info.get();
    let n = subnet.neurons.get().neurons.len();
    if info.params.max_allowed_uids == 0 {
        return Err(DispatchError::NoNeuronIdAvailable);
    }
    if n < usize::from(info.params.max_allowed_uids) {
        return Ok(Slot::Append);
    }
    neuron_to_prune(subnet, now).map(Slot::Replace).ok_or(DispatchError::NoNeuronIdAvailable)
}

/// The neuron a full subnet replaces (§7.3): never the owner's protected hotkeys; the
/// lowest emission, then the earliest registration, then the lowest UID; a non-immune
/// neuron while more than `MinNonImmuneUids` of them remain, else an immune one.
pub fn neuron_to_prune(subnet: &Subnet, now: BlockNumber) -> Option<Uid> {
    let info = subnet.info.get();
    let neurons = &subnet.neurons.get().neurons;
    let protected = owner_protected(info, neurons);
    let immune = |n: &Neuron| {
        now.saturating_since(n.block_at_registration) < u64::from(info.params.immunity_period)
    };
    let candidates = || {
        neurons
            .iter()
            .enumerate()
            .filter(|(uid, _)| !protected.contains(uid))
            .map(|(uid, n)| ((n.epoch.emission, n.block_at_registration, uid), immune(n)))
    };
    let non_immune = candidates().filter(|(_, is_immune)| !is_immune).count();
    let best = |want_immune: bool| {
        candidates().filter(|(_, i)| *i == want_immune).map(|(key, _)| key).min()
    };
    // Non-immune neurons go first, but only while more than `MinNonImmuneUids` of them
    // remain; below that floor the best immune neuron goes instead (or none).
    let choice = if non_immune > usize::from(info.params.min_non_immune_uids) {
        best(false)
    } else {
        best(true)
    }?;
    u16::try_from(choice.2).ok().map(Uid::new)
}

/// UIDs of the owner's protected hotkeys: the owner hotkey, then the owner coldkey's other
/// hotkeys by registration, up to `ImmuneOwnerUidsLimit`.
fn owner_protected(info: &SubnetInfo, neurons: &[Neuron]) -> Vec<usize> {
    let mut owned: Vec<(bool, BlockNumber, usize)> = neurons
        .iter()
        .enumerate()
        .filter(|(_, n)| n.hotkey == info.owner_hotkey || n.coldkey == info.owner_coldkey)
        .map(|(uid, n)| (n.hotkey != info.owner_hotkey, n.block_at_registration, uid))
        .collect();
    owned.sort();
    owned
        .into_iter()
        .take(usize::from(info.params.immune_owner_uids_limit))
        .map(|(_, _, uid)| uid)
        .collect()
}

/// Puts the hotkey in its slot, clearing what the replaced neuron left.
fn place(
    state: &mut State,
    netuid: NetUid,
    slot: Slot,
    hotkey: AccountId,
    coldkey: AccountId,
) -> (Uid, Option<AccountId>) {
    let now = state.block();
    state.set_hotkey_owner(hotkey, coldkey);
    let Some(subnet) = state.subnet_mut(netuid) else { return (Uid::new(0), None) };
    match slot {
        Slot::Append => (append_neuron(subnet, hotkey, coldkey, now), None),
        Slot::Replace(uid) => {
            let table = subnet.neurons.make_mut();
            let Some(old) = table.neurons.get_mut(uid.index()) else { return (uid, None) };
            let replaced = old.hotkey;
            *old = fresh_neuron(hotkey, coldkey, now);
            table.uids.remove(&replaced);
            table.uids.insert(hotkey, uid);
            table.commits.remove(&replaced);
            // Weights pointing to the replaced neuron are kept at zero.
            for neuron in &mut table.neurons {
                for (target, weight) in &mut neuron.weights {
                    if *target == uid {
                        *weight = 0;
                    }
                }
            }
            (uid, Some(replaced))
        }
    }
}

/// `burned_register`: burn the current price to register `hotkey` on `netuid`.
pub(crate) fn burned_register(
    state: &mut State,
    coldkey: AccountId,
    netuid: NetUid,
    hotkey: AccountId,
    limit_price: Option<Rao>,
) -> Outcome {
    let slot = check_registration(state, netuid, &hotkey, &coldkey)?;
    let info = state.subnet(netuid).ok_or(DispatchError::SubnetNotExists)?.info.get();
    let cost = info.burn;
    if limit_price.is_some_and(|limit| cost > limit) {
        return Err(DispatchError::RegistrationPriceLimitExceeded);
    }
    let remaining =
        state.account(&coldkey).free.checked_sub(cost).ok_or(DispatchError::InsufficientBalance)?;

    // The burn buys alpha from the pool, which is destroyed: the TAO stays in the pool and
    // raises the price. If the pool cannot take it, the TAO is recycled instead.
    let bought = info.pool.buy(cost.get(), tao_economics::pool::max_price(), info.fee_rate).ok();

    state.account_mut(&coldkey).free = remaining;
    let recycled = match bought {
        Some(swap) => {
            if let Some(subnet) = state.subnet_mut(netuid) {
                let info = subnet.info.make_mut();
                info.pool.tao = info.pool.tao.saturating_add(swap.amount_in);
                info.pool.alpha = info.pool.alpha.saturating_sub(swap.amount_out);
            }
            swap.fee
        }
        None => cost.get(),
    };
    let chain = state.chain_mut();
    chain.total_issuance = chain.total_issuance.saturating_sub(Rao::new(recycled));
    chain.total_registration_burn = chain.total_registration_burn.saturating_add(cost);
    let (uid, replaced) = place(state, netuid, slot, hotkey, coldkey);
    if let Some(subnet) = state.subnet_mut(netuid) {
        let info = subnet.info.make_mut();
        let bounds = BurnBounds { min: info.params.min_burn, max: info.params.max_burn };
        info.burn = bump_burn(info.burn, U64F64::from_bits(info.params.burn_increase_mult), bounds);
    }
    Ok(vec![Event::NeuronRegistered { netuid, uid, hotkey, replaced, cost }])
}

/// `register`: the signing hotkey registers by proof of work on a subnet that allows it.
pub(crate) fn pow_register(
    state: &mut State,
    hotkey: AccountId,
    netuid: NetUid,
    coldkey: AccountId,
    block_number: BlockNumber,
    nonce: u64,
    work: [u8; 32],
) -> Outcome {
    let slot = check_registration(state, netuid, &hotkey, &coldkey)?;
    let subnet = state.subnet(netuid).ok_or(DispatchError::SubnetNotExists)?;
    let params = &subnet.info.get().params;
    if !params.pow_registration_allowed {
        return Err(DispatchError::PowRegistrationDisabled);
    }
    let now = state.block();
    let age = now.get().checked_sub(block_number.get()).ok_or(DispatchError::InvalidWorkBlock)?;
    if age == 0 || age > POW_BLOCK_WINDOW {
        return Err(DispatchError::InvalidWorkBlock);
    }
    let block_hash = state
        .chain()
        .recent_hashes
        .iter()
        .find(|(number, _)| *number == block_number)
        .map(|(_, hash)| *hash)
        .ok_or(DispatchError::InvalidWorkBlock)?;
    if pow_seal(&block_hash, &hotkey, nonce) != work {
        return Err(DispatchError::InvalidSeal);
    }
    if !seal_meets_difficulty(&work, params.difficulty) {
        return Err(DispatchError::InvalidDifficulty);
    }
    let used = subnet
        .neurons
        .get()
        .used_work
        .get(&block_number)
        .is_some_and(|seals| seals.contains(&work));
    if used {
        return Err(DispatchError::WorkRepeated);
    }
    // Free registrations are capped: per block and per interval.
    let mut counts = subnet.info.get().pow_registrations;
    let interval = now.get() / POW_INTERVAL_BLOCKS;
    if counts.block != now {
        counts.block = now;
        counts.in_block = 0;
    }
    if counts.interval != interval {
        counts.interval = interval;
        counts.in_interval = 0;
    }
    if counts.in_block >= MAX_POW_REGISTRATIONS_PER_BLOCK {
        return Err(DispatchError::TooManyRegistrationsThisBlock);
    }
    if counts.in_interval >= MAX_POW_REGISTRATIONS_PER_INTERVAL {
        return Err(DispatchError::TooManyRegistrationsThisInterval);
    }
    counts.in_block = counts.in_block.saturating_add(1);
    counts.in_interval = counts.in_interval.saturating_add(1);

    let (uid, replaced) = place(state, netuid, slot, hotkey, coldkey);
    if let Some(subnet) = state.subnet_mut(netuid) {
        subnet.info.make_mut().pow_registrations = counts;
        let table = subnet.neurons.make_mut();
        let oldest = BlockNumber::new(now.get().saturating_sub(POW_BLOCK_WINDOW));
        table.used_work.retain(|block, _| *block >= oldest);
        table.used_work.entry(block_number).or_default().push(work);
    }
    Ok(vec![Event::NeuronRegistered { netuid, uid, hotkey, replaced, cost: Rao::ZERO }])
}

/// Whether an axon address is acceptable (§11).
fn valid_ip(axon: &AxonInfo, allow_loopback: bool) -> bool {
    match axon.ip_type {
        IpType::V4 => axon.ip < u128::from(u32::MAX) && (allow_loopback || axon.ip != 0x7f00_0001),
        IpType::V6 => axon.ip != u128::MAX && (allow_loopback || axon.ip != 1),
    }
}

/// `serve_axon`: the signing hotkey publishes where it serves.
pub(crate) fn serve_axon(
    state: &mut State,
    hotkey: AccountId,
    netuid: NetUid,
    axon: AxonInfo,
) -> Outcome {
    let now = state.block();
    let allow_loopback = state.chain().params.allow_loopback_axons;
    let subnet = state.subnet_mut(netuid).ok_or(DispatchError::SubnetNotExists)?;
    let uid = *subnet
        .neurons
        .get()
        .uids
        .get(&hotkey)
        .ok_or(DispatchError::HotKeyNotRegisteredInSubNet)?;
    if !valid_ip(&axon, allow_loopback) {
        return Err(DispatchError::InvalidIpAddress);
    }
    if axon.port == 0 {
        return Err(DispatchError::InvalidPort);
    }
    let limit = subnet.info.get().params.serving_rate_limit;
    let previous =
        subnet.neurons.get().neurons.get(uid.index()).and_then(|n| n.axon).map(|(block, _)| block);
    if let Some(previous) = previous {
        if limit != 0 && previous.get() != 0 && now.saturating_since(previous) < limit {
            return Err(DispatchError::ServingRateLimitExceeded);
        }
    }
    if let Some(neuron) = subnet.neurons.make_mut().neurons.get_mut(uid.index()) {
        neuron.axon = Some((now, axon));
    }
    Ok(vec![Event::AxonServed { netuid, hotkey }])
}
