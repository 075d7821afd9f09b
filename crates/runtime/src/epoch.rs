//! Epoch scheduling and running Yuma Consensus on a subnet's state (`chain-protocol.md`
//! §3.6, §4).

use crate::{
    stake::{Delegate, RootStake},
    state::SubnetInfo,
    State, Subnet,
};
use std::collections::BTreeMap;
use substrate_fixed::types::{I64F64, U96F32};
use tao_economics::coinbase::tao_weight;
use tao_primitives::{AccountId, AlphaRao, BlockNumber, NetUid};
use tao_types::Event;
use tao_yuma::{to_u16, BondModel, CommitReveal, LiquidAlpha, Params, YumaInput};

/// A subnet whose epoch has not run for this many blocks runs one regardless.
pub const MAX_TEMPO: u64 = 50_400;

/// Whether a subnet's epoch is due at block `b`: a pending (deferred or triggered) epoch
/// has come, the subnet has gone too long without one, or `tempo` blocks have passed.
pub fn should_run_epoch(info: &SubnetInfo, b: BlockNumber) -> bool {
    let tempo = u64::from(info.params.tempo);
    if tempo == 0 {
        return false;
    }
    if info.pending_epoch_at.get() > 0 && b >= info.pending_epoch_at {
        return true;
    }
    if info.blocks_since_last_step > MAX_TEMPO {
        return true;
    }
    b.saturating_since(info.last_epoch_block) >= tempo
}

/// The epoch a commit or reveal at block `b` belongs to: the epoch counter, plus one when
/// an epoch is due at `b` and has not run (the reference's lookahead; transactions run
/// after the block step, so an epoch of this block has already been counted).
pub fn current_epoch_with_lookahead(info: &SubnetInfo, b: BlockNumber) -> u64 {
    info.epoch_index.saturating_add(u64::from(should_run_epoch(info, b)))
}

/// What the payout needs from the rest of the state.
pub(crate) struct PayoutContext<'a> {
    /// Root stake by hotkey.
    pub root_stakes: &'a BTreeMap<AccountId, RootStake>,
    /// Delegate takes by hotkey.
    pub delegates: &'a BTreeMap<AccountId, Delegate>,
    /// The default (maximum) take.
    pub default_take: u16,
    /// `TaoWeight` as a fraction.
    pub tao_weight: U96F32,
    /// `StakeThreshold`.
    pub stake_threshold: u64,
}

/// Runs the epochs due this block, in netuid order, at most `MaxEpochsPerBlock`; a due
/// subnet beyond the cap is deferred to the next block. Each epoch pays out its pending
/// alpha.
pub(crate) fn run_due_epochs(state: &mut State, events: &mut Vec<Event>) {
    let now = state.block();
    let State { chain, subnets, root_stakes, delegates, .. } = state;
    let params = &chain.get().params;
    let context = PayoutContext {
        root_stakes: root_stakes.get(),
        delegates: delegates.get(),
        default_take: params.max_take,
        tao_weight: tao_weight(params.tao_weight),
        stake_threshold: params.stake_threshold,
    };
    let mut ran: u16 = 0;
    for (netuid, subnet) in subnets.iter_mut() {
        let info = subnet.info.make_mut();
        info.blocks_since_last_step = info.blocks_since_last_step.saturating_add(1);
        if !should_run_epoch(info, now) {
            continue;
        }
        if ran >= params.max_epochs_per_block {
            info.pending_epoch_at = now.next().unwrap_or(now);
            events.push(Event::EpochDeferred { netuid: *netuid });
            continue;
        }
        ran = ran.saturating_add(1);
        events.push(run_epoch(*netuid, subnet, now, &context));
        let info = subnet.info.make_mut();
        info.blocks_since_last_step = 0;
        info.last_epoch_block = now;
        info.pending_epoch_at = BlockNumber::GENESIS;
        info.epoch_index = info.epoch_index.saturating_add(1);
        info.last_step_block = now;
    }
}

/// A hotkey's stake weight on a subnet: its alpha plus its root TAO × `TaoWeight`.
pub fn stake_weight(
    subnet: &Subnet,
    root_stakes: &BTreeMap<AccountId, RootStake>,
    hotkey: &AccountId,
    weight: U96F32,
) -> I64F64 {
    let alpha = subnet.stakes.get().get(hotkey).map_or(0, |p| p.total);
    let root = root_stakes.get(hotkey).map_or(0, |r| r.total);
    let root_part = U96F32::saturating_from_num(root).saturating_mul(weight);
    I64F64::saturating_from_num(alpha).saturating_add(I64F64::saturating_from_num(root_part))
}

/// The epoch's input, read from the subnet.
pub fn epoch_input(
    subnet: &Subnet,
    root_stakes: &BTreeMap<AccountId, RootStake>,
    weight: U96F32,
    now: BlockNumber,
    stake_threshold: u64,
) -> YumaInput {
    let info = subnet.info.get();
    let table = subnet.neurons.get();
    let p = &info.params;
    let commit_reveal = if p.commit_reveal_enabled {
        let current = current_epoch_with_lookahead(info, now);
        let first_commit = table
            .neurons
            .iter()
            .map(|n| {
                table.commits.get(&n.hotkey).and_then(|queue| {
                    queue
                        .iter()
                        .find(|c| current <= c.epoch.saturating_add(p.commit_reveal_period))
                        .map(|c| c.block)
                })
            })
            .collect();
        CommitReveal::On { first_commit }
    } else {
        CommitReveal::Off
    };
    let pending = &info.pending;
    YumaInput {
        block: now,
        tempo: p.tempo,
        last_epoch_block: info.last_step_block,
        activity_cutoff: p.activity_cutoff(),
        stake: table
            .neurons
            .iter()
            .map(|n| stake_weight(subnet, root_stakes, &n.hotkey, weight))
            .collect(),
        stake_threshold,
        owner: table.uids.get(&info.owner_hotkey).copied(),
        validator_permit: table.neurons.iter().map(|n| n.epoch.validator_permit).collect(),
        last_update: table.neurons.iter().map(|n| n.last_update).collect(),
        block_at_registration: table.neurons.iter().map(|n| n.block_at_registration).collect(),
        weights: table.neurons.iter().map(|n| n.weights.clone()).collect(),
        bonds: table.neurons.iter().map(|n| n.bonds.clone()).collect(),
        commit_reveal,
        params: Params {
            kappa: p.kappa,
            bonds_penalty: p.bonds_penalty,
            bonds_moving_average: p.bonds_moving_average,
            max_allowed_validators: p.max_allowed_validators,
            bond_model: if p.yuma3 { BondModel::Yuma3 } else { BondModel::Classic },
            liquid_alpha: if p.liquid_alpha_enabled {
                LiquidAlpha::On {
                    alpha_low: p.alpha_low,
                    alpha_high: p.alpha_high,
                    steepness: p.alpha_sigmoid_steepness,
                }
            } else {
                LiquidAlpha::Off
            },
        },
        emission: AlphaRao::new(
            pending.server.saturating_add(pending.validator).saturating_add(pending.root),
        ),
    }
}

/// Runs Yuma on the subnet, stores its outputs for the metagraph, and pays the pending
/// alpha out.
pub(crate) fn run_epoch(
    netuid: NetUid,
    subnet: &mut Subnet,
    now: BlockNumber,
    context: &PayoutContext<'_>,
) -> Event {
    let input =
        epoch_input(subnet, context.root_stakes, context.tao_weight, now, context.stake_threshold);
    // The state keeps every invariant `validate` checks (lengths, UIDs < n, no repeats),
    // so the epoch cannot reject it; if it ever did, nothing is paid and pending stays.
    let Ok(output) = tao_yuma::epoch(&input) else {
        return Event::EpochCompleted { netuid, emission: AlphaRao::ZERO };
    };
    let consensus = to_u16(&output.consensus);
    let incentive = to_u16(&output.incentive);
    let dividends = to_u16(&output.dividends);
    let validator_trust = to_u16(&output.validator_trust);
    let stake_weight = to_u16(&output.stake);
    let bonds = output.bonds_u16();
    let table = subnet.neurons.make_mut();
    for (uid, neuron) in table.neurons.iter_mut().enumerate() {
        let get = |v: &[u16]| v.get(uid).copied().unwrap_or_default();
        neuron.epoch.active = output.active.get(uid).copied().unwrap_or_default();
        neuron.epoch.validator_permit =
            output.validator_permit.get(uid).copied().unwrap_or_default();
        neuron.epoch.consensus = get(&consensus);
        neuron.epoch.incentive = get(&incentive);
        neuron.epoch.dividends = get(&dividends);
        neuron.epoch.validator_trust = get(&validator_trust);
        neuron.epoch.stake_weight = get(&stake_weight);
        neuron.epoch.emission = output.combined_emission.get(uid).map_or(0, |e| e.get());
        neuron.bonds = bonds.get(uid).cloned().unwrap_or_default();
    }
    let paid = crate::payout::distribute(subnet, &output, context);
    Event::EpochCompleted { netuid, emission: AlphaRao::new(paid) }
}
