//! Paying an epoch's pending alpha out (`chain-protocol.md` §3.8), in the reference's order:
//! the alpha/root split of every dividend is computed from the stakes as they are before
//! anything is paid; then the owner's cut is staked, then the miners' incentive, then the
//! validators' alpha dividends (their take first, the rest to all their nominators), then
//! the root dividends. Takes are computed on the unfloored dividends, as the reference
//! does. Alpha nobody is paid (rounding, a root pot no validator with root stake can take,
//! the miners' pot beyond their incentive) stays minted in `alpha_out`, as in the
//! reference, and is counted in `alpha_burned` (held by nobody).

use crate::{epoch::PayoutContext, Subnet};
use substrate_fixed::types::U96F32;
use tao_economics::coinbase::{alpha_root_split, share_of_pot};
use tao_primitives::{fixed::SafeDiv, AlphaRao};
use tao_yuma::YumaOutput;

/// `take/65535` as a fraction (the reference's `get_hotkey_take_float`).
fn take_fraction(take: u16) -> U96F32 {
    U96F32::saturating_from_num(take).safe_div(U96F32::saturating_from_num(u16::MAX))
}

/// Pays out the subnet's pending alpha per the epoch's output; returns the alpha paid
/// (to stakes). Owner-hotkey miner emission is withheld (burned) and what nobody is paid
/// stays minted; both are added to `alpha_burned`.
pub(crate) fn distribute(
    subnet: &mut Subnet,
    output: &YumaOutput,
    context: &PayoutContext<'_>,
) -> u64 {
    let info = subnet.info.make_mut();
    let pending = std::mem::take(&mut info.pending);
    let (owner_hotkey, owner_coldkey) = (info.owner_hotkey, info.owner_coldkey);
    let neurons = &subnet.neurons.get().neurons;
    let stakes = subnet.stakes.make_mut();
    let mut paid: u64 = 0;
    let mut withheld: u64 = 0;

    // Without any incentive the miners' pot goes to the validators.
    let incentive_total =
        output.server_emission.iter().fold(0u64, |a, e| a.saturating_add(e.get()));
    let validator_pot = if incentive_total == 0 {
        pending.validator.saturating_add(pending.server)
    } else {
        pending.validator
    };

    // 1. The alpha/root split of each dividend, from the stakes before any payout (the
    // reference's stake map), rescaled to the pots, unfloored.
    let mut alpha_parts = Vec::with_capacity(neurons.len());
    let mut root_parts = Vec::with_capacity(neurons.len());
    for (neuron, emission) in neurons.iter().zip(&output.validator_emission) {
        let alpha_stake = stakes.get(&neuron.hotkey).map_or(0, |p| p.total);
        let root_stake = context.root_stakes.get(&neuron.hotkey).map_or(0, |r| r.total);
        let (a, r) = alpha_root_split(
            U96F32::saturating_from_num(emission.get()),
            alpha_stake,
            root_stake,
            context.tao_weight,
        );
        alpha_parts.push(a);
        root_parts.push(r);
    }
    let alpha_dividends = share_of_pot(validator_pot, &alpha_parts);
    let root_dividends = share_of_pot(pending.root, &root_parts);

    // 2. The owner's cut, first: it shares the owner hotkey's dividends below.
    if pending.owner > 0 {
        stakes.entry(owner_hotkey).or_default().add(owner_coldkey, pending.owner);
        paid = paid.saturating_add(pending.owner);
    }

    // 3. Miners, as the epoch gave them (never more than the epoch's emission).
    let mut server_left = pending.server.saturating_add(pending.validator).saturating_add(pending.root);
    for (neuron, emission) in neurons.iter().zip(&output.server_emission) {
        let x = emission.get().min(server_left);
        server_left = server_left.saturating_sub(x);
        if x == 0 {
            continue;
        }
        if neuron.hotkey == owner_hotkey || neuron.coldkey == owner_coldkey {
            withheld = withheld.saturating_add(x);
        } else {
            stakes.entry(neuron.hotkey).or_default().add(neuron.coldkey, x);
            paid = paid.saturating_add(x);
        }
    }

    // 4. Alpha dividends: the take on the unfloored dividend to the validator's owner, the
    // rest to every nominator pro rata.
    for (neuron, dividend) in neurons.iter().zip(&alpha_dividends) {
        let rate = take_fraction(
            context.delegates.get(&neuron.hotkey).map_or(context.default_take, |d| d.take),
        );
        let take = rate.saturating_mul(*dividend);
        let take_rao = take.saturating_to_num::<u64>();
        let rest_rao = dividend.saturating_sub(take).saturating_to_num::<u64>();
        if take_rao == 0 && rest_rao == 0 {
            continue;
        }
        let pool = stakes.entry(neuron.hotkey).or_default();
        pool.add(neuron.coldkey, take_rao);
        pool.add_for_all(rest_rao, neuron.coldkey);
        paid = paid.saturating_add(take_rao).saturating_add(rest_rao);
    }

    // 5. Root dividends: the take to the validator's owner, the rest to its root stakers
    // pro rata to their root stake.
    for (neuron, dividend) in neurons.iter().zip(&root_dividends) {
        let rate = take_fraction(
            context.delegates.get(&neuron.hotkey).map_or(context.default_take, |d| d.take),
        );
        let take = rate.saturating_mul(*dividend);
        let take_rao = take.saturating_to_num::<u64>();
        let rest = dividend.saturating_sub(take);
        let pool = stakes.entry(neuron.hotkey).or_default();
        if take_rao > 0 {
            pool.add(neuron.coldkey, take_rao);
            paid = paid.saturating_add(take_rao);
        }
        if let Some(root) = context.root_stakes.get(&neuron.hotkey) {
            for (coldkey, tao) in &root.by_coldkey {
                let share = rest
                    .saturating_mul(
                        U96F32::saturating_from_num(*tao)
                            .safe_div(U96F32::saturating_from_num(root.total)),
                    )
                    .saturating_to_num::<u64>();
                pool.add(*coldkey, share);
                paid = paid.saturating_add(share);
            }
        }
        if pool.shares_total == 0 {
            stakes.remove(&neuron.hotkey);
        }
    }

    // Withheld miner emission and what nobody was paid stay in `alpha_out`, held by nobody.
    info.miner_burned = U96F32::saturating_from_num(withheld)
        .safe_div(U96F32::saturating_from_num(incentive_total));
    let unpaid = pending.total().saturating_sub(paid);
    info.alpha_burned = info.alpha_burned.saturating_add(AlphaRao::new(unpaid));
    paid
}
