//! Paying an epoch's pending alpha out (`chain-protocol.md` §3.8): miners by incentive,
//! validators by dividends (their take first, the rest to all their nominators), root
//! stakers their share of dividends, and the owner its cut. What rounding leaves is
//! recycled, so alpha is conserved to the unit.

use crate::{epoch::PayoutContext, Subnet};
use substrate_fixed::types::U96F32;
use tao_economics::coinbase::{alpha_root_split, rescale_to_pot};
use tao_primitives::{fixed::SafeDiv, AlphaRao};
use tao_yuma::YumaOutput;

/// `floor(amount × take/65535)`.
fn take_of(amount: u64, take: u16) -> u64 {
    U96F32::saturating_from_num(amount)
        .saturating_mul(
            U96F32::saturating_from_num(take).safe_div(U96F32::saturating_from_num(u16::MAX)),
        )
        .saturating_to_num()
}

/// Pays out the subnet's pending alpha per the epoch's output; returns the alpha paid
/// (to stakes), having withheld the owner's own miner emission and recycled the rest.
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

    // Miners. Without any incentive the miners' pot goes to the validators.
    let incentive_total =
        output.server_emission.iter().fold(0u64, |a, e| a.saturating_add(e.get()));
    let (mut server_left, validator_pot) = if incentive_total == 0 {
        (0, pending.validator.saturating_add(pending.server))
    } else {
        (pending.server, pending.validator)
    };
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

    // Validators: split each dividend between alpha and root stakers, rescale to the pots.
    let mut alpha_parts = Vec::new();
    let mut root_parts = Vec::new();
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
    let alpha_payouts = rescale_to_pot(validator_pot, &alpha_parts);
    let root_payouts = rescale_to_pot(pending.root, &root_parts);
    for ((neuron, alpha_payout), root_payout) in neurons.iter().zip(alpha_payouts).zip(root_payouts)
    {
        let take_rate =
            context.delegates.get(&neuron.hotkey).map_or(context.default_take, |d| d.take);
        let pool = stakes.entry(neuron.hotkey).or_default();
        if alpha_payout > 0 {
            let take = take_of(alpha_payout, take_rate);
            pool.add(neuron.coldkey, take);
            pool.add_for_all(alpha_payout.saturating_sub(take), neuron.coldkey);
            paid = paid.saturating_add(alpha_payout);
        }
        if root_payout > 0 {
            let take = take_of(root_payout, take_rate);
            pool.add(neuron.coldkey, take);
            paid = paid.saturating_add(take);
            let rest = root_payout.saturating_sub(take);
            if let Some(root) = context.root_stakes.get(&neuron.hotkey) {
                for (coldkey, tao) in &root.by_coldkey {
                    let share = U96F32::saturating_from_num(rest)
                        .saturating_mul(
                            U96F32::saturating_from_num(*tao)
                                .safe_div(U96F32::saturating_from_num(root.total)),
                        )
                        .saturating_to_num::<u64>();
                    pool.add(*coldkey, share);
                    paid = paid.saturating_add(share);
                }
            }
        }
    }

    // The owner's cut.
    if pending.owner > 0 {
        stakes.entry(owner_hotkey).or_default().add(owner_coldkey, pending.owner);
        paid = paid.saturating_add(pending.owner);
    }

    // Withheld miner emission stays out of the pool for good; rounding leftovers recycle.
    info.miner_burned = U96F32::saturating_from_num(withheld)
        .safe_div(U96F32::saturating_from_num(incentive_total));
    info.alpha_burned = info.alpha_burned.saturating_add(AlphaRao::new(withheld));
    let unpaid = pending.total().saturating_sub(paid).saturating_sub(withheld);
    info.alpha_out = info.alpha_out.saturating_sub(AlphaRao::new(unpaid));
    paid
}
