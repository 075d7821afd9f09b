//! The per-block mint (`chain-protocol.md` §2) and its split across emitting subnets.
//!
//! Until the dynamic-TAO economics land, each emitting subnet accrues an equal share of
//! the block emission as pending emission (the remainder of the division to the lowest
//! netuid, so nothing is lost); paying it out is the economics' work.

use crate::State;
use tao_economics::{block_emission, TOTAL_SUPPLY};
use tao_primitives::{NetUid, Rao};
use tao_types::Event;

/// Mints this block's emission into the emitting subnets' pending emission.
pub(crate) fn mint_block_emission(state: &mut State, events: &mut Vec<Event>) {
    let now = state.block();
    let emitting: Vec<NetUid> = state
        .subnets
        .iter()
        .filter(|(_, s)| {
            let info = s.info.get();
            info.params.registration_allowed
                && info.first_emission_block.is_some_and(|first| first <= now)
        })
        .map(|(netuid, _)| *netuid)
        .collect();
    let issuance = state.total_issuance();
    let amount =
        block_emission(issuance).get().min(TOTAL_SUPPLY.get().saturating_sub(issuance.get()));
    let count = u64::try_from(emitting.len()).unwrap_or(u64::MAX);
    if amount == 0 || count == 0 {
        return;
    }
    let share = amount.checked_div(count).unwrap_or(0);
    let remainder = amount.checked_rem(count).unwrap_or(0);
    for (k, netuid) in emitting.iter().enumerate() {
        let extra = if k == 0 { remainder } else { 0 };
        if let Some(subnet) = state.subnet_mut(*netuid) {
            let info = subnet.info.make_mut();
            info.pending_emission =
                info.pending_emission.saturating_add(Rao::new(share.saturating_add(extra)));
        }
    }
    let chain = state.chain_mut();
    chain.total_issuance = chain.total_issuance.saturating_add(Rao::new(amount));
    chain.total_minted = chain.total_minted.saturating_add(Rao::new(amount));
    events.push(Event::Minted { amount: Rao::new(amount) });
}
