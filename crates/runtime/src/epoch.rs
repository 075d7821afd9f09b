//! Epoch scheduling and running Yuma Consensus on a subnet's state (`chain-protocol.md`
//! §3.6, §4).

use crate::{state::SubnetInfo, State, Subnet};
use substrate_fixed::types::I64F64;
use tao_primitives::{AlphaRao, BlockNumber, NetUid};
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
/// an epoch runs at the end of this block.
pub fn current_epoch_with_lookahead(info: &SubnetInfo, b: BlockNumber) -> u64 {
    info.epoch_index.saturating_add(u64::from(should_run_epoch(info, b)))
}

/// Runs the epochs due this block, in netuid order, at most `MaxEpochsPerBlock`; a due
/// subnet beyond the cap is deferred to the next block.
pub(crate) fn run_due_epochs(state: &mut State, events: &mut Vec<Event>) {
    let now = state.block();
    let params = state.chain().params.clone();
    let mut ran: u16 = 0;
    for (netuid, subnet) in state.subnets.iter_mut() {
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
        events.push(run_epoch(*netuid, subnet, now, params.stake_threshold));
        let info = subnet.info.make_mut();
        info.blocks_since_last_step = 0;
        info.last_epoch_block = now;
        info.pending_epoch_at = BlockNumber::GENESIS;
        info.epoch_index = info.epoch_index.saturating_add(1);
        info.last_step_block = now;
    }
}

/// The epoch's input, read from the subnet.
pub fn epoch_input(subnet: &Subnet, now: BlockNumber, stake_threshold: u64) -> YumaInput {
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
    YumaInput {
        block: now,
        tempo: p.tempo,
        last_epoch_block: info.last_step_block,
        activity_cutoff: p.activity_cutoff(),
        stake: table.neurons.iter().map(|n| I64F64::from_num(n.stake.get())).collect(),
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
        emission: AlphaRao::new(info.pending_emission.get()),
    }
}

/// Runs Yuma on the subnet and stores its outputs for the metagraph. The pending emission
/// is left for the payout (the economics).
fn run_epoch(netuid: NetUid, subnet: &mut Subnet, now: BlockNumber, stake_threshold: u64) -> Event {
    let input = epoch_input(subnet, now, stake_threshold);
    let emission = subnet.info.get().pending_emission;
    // The state keeps every invariant `validate` checks (lengths, UIDs < n, no repeats),
    // so the epoch cannot reject it; if it ever did, the outputs stay as they were.
    let Ok(output) = tao_yuma::epoch(&input) else {
        return Event::EpochCompleted { netuid, emission };
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
    Event::EpochCompleted { netuid, emission }
}
