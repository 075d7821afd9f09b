//! The per-block coinbase (`chain-protocol.md` §3): mint the block emission, split it
//! across emitting subnets by moving price, inject TAO and alpha into their pools (capped by
//! the root proportion; the excess TAO buys alpha for the protocol), emit alpha out and
//! split it into pending amounts for the next epoch; after the epochs,
//! [`update_moving_prices`].

use crate::State;
use substrate_fixed::types::{U64F64, U96F32};
use tao_economics::{
    block_emission,
    coinbase::{
        default_moving_alpha, root_proportion, split_alpha_out, subnet_shares, subnet_terms,
        tao_weight, update_moving_price, EMA_PRICE_HALVING_BLOCKS,
    },
    pool::max_price,
    TOTAL_SUPPLY,
};
use tao_primitives::{AlphaRao, NetUid, Rao};
use tao_types::Event;

/// Whether a subnet receives emission this block.
fn emitting(state: &State, netuid: NetUid) -> bool {
    state.subnet(netuid).is_some_and(|s| {
        let info = s.info.get();
        info.params.registration_allowed
            && info.first_emission_block.is_some_and(|first| first <= state.block())
    })
}

/// The subnets that receive emission this block, in order.
fn emitting_subnets(state: &State) -> Vec<NetUid> {
    state.subnets.keys().copied().filter(|n| emitting(state, *n)).collect()
}

/// The moving prices and last epoch's burned miner fractions of `netuids`, the inputs of
/// their shares.
fn share_inputs(state: &State, netuids: &[NetUid]) -> (Vec<U64F64>, Vec<U96F32>) {
    let moving: Vec<U64F64> = netuids
        .iter()
        .filter_map(|n| state.subnet(*n))
        .map(|s| {
            U64F64::saturating_from_num(
                s.info.get().moving_price.max(substrate_fixed::types::I96F32::from_num(0)),
            )
        })
        .collect();
    let burned: Vec<U96F32> = netuids
        .iter()
        .filter_map(|n| state.subnet(*n))
        .map(|s| s.info.get().miner_burned)
        .collect();
    (moving, burned)
}

/// Each emitting subnet's share of a block's TAO emission, as the coinbase would split it
/// in `state` (for clients: the explorer's emission share).
pub fn emission_shares(state: &State) -> Vec<(NetUid, U64F64)> {
    let netuids = emitting_subnets(state);
    let (moving, burned) = share_inputs(state, &netuids);
    netuids.into_iter().zip(subnet_shares(&moving, &burned)).collect()
}

/// Runs the coinbase for the current block.
pub(crate) fn run_coinbase(state: &mut State, events: &mut Vec<Event>) {
    let netuids = emitting_subnets(state);
    if netuids.is_empty() {
        return;
    }
    let issuance = state.total_issuance();
    let emission =
        block_emission(issuance).get().min(TOTAL_SUPPLY.get().saturating_sub(issuance.get()));
    let params = state.chain().params.clone();
    let weight = tao_weight(params.tao_weight);
    let root_tao = state.total_root_stake();

    // 1. Shares by moving price (damped by last epoch's burned miner emission).
    let (moving, burned) = share_inputs(state, &netuids);
    let shares = subnet_shares(&moving, &burned);
    let root_sell =
        moving.iter().fold(U64F64::from_num(0), |a, p| a.saturating_add(*p)) > U64F64::from_num(1);

    let mut minted: u64 = 0;
    for (netuid, share) in netuids.iter().zip(&shares) {
        let tao_emission = U96F32::saturating_from_num(
            U64F64::saturating_from_num(emission).saturating_mul(*share),
        );
        let Some(subnet) = state.subnet_mut(*netuid) else { continue };
        let info = subnet.info.make_mut();
        let alpha_issuance = info.pool.alpha.saturating_add(info.alpha_out.get());
        let alpha_emission = block_emission(Rao::new(alpha_issuance)).get();
        let price = U96F32::saturating_from_num(info.pool.price());
        let terms = subnet_terms(
            tao_emission,
            alpha_emission,
            price,
            root_proportion(root_tao, weight, alpha_issuance),
        );
        let (mut tao_in, mut alpha_in) =
            (terms.tao_in.saturating_to_num::<u64>(), terms.alpha_in.saturating_to_num::<u64>());
        let excess = terms.excess_tao.saturating_to_num::<u64>();

        // 2. Injection: re-weight for the future reserves (refused if out of bounds), then the
        // chain buy with the excess against the current reserves, then the reserves.
        if !info.pool.reweight_for_liquidity(tao_in, alpha_in) {
            tao_in = 0;
            alpha_in = 0;
        }
        if excess > 0 {
            if let Ok(bought) = info.pool.buy(excess, max_price(), 0) {
                info.pool.tao = info.pool.tao.saturating_add(bought.amount_in);
                info.pool.alpha = info.pool.alpha.saturating_sub(bought.amount_out);
                info.alpha_out = info.alpha_out.saturating_add(AlphaRao::new(bought.amount_out));
                info.protocol_alpha =
                    info.protocol_alpha.saturating_add(AlphaRao::new(bought.amount_out));
                minted = minted.saturating_add(bought.amount_in);
            }
        }
        info.pool.alpha = info.pool.alpha.saturating_add(alpha_in);
        info.pool.tao = info.pool.tao.saturating_add(tao_in);
        minted = minted.saturating_add(tao_in);

        // 3. Alpha out: minted in full outside the pool and split into pending amounts.
        // Root's part, when root does not sell, is recycled (taken off `alpha_out`); what
        // the floors of the split leave stays minted, held by nobody (the reference).
        let minted_out = terms.alpha_out.saturating_to_num::<u64>();
        let issuance_now =
            info.pool.alpha.saturating_add(info.alpha_out.get()).saturating_add(minted_out);
        let cut = if info.params.owner_cut_enabled { params.subnet_owner_cut } else { 0 };
        let split =
            split_alpha_out(terms.alpha_out, cut, root_proportion(root_tao, weight, issuance_now));
        let root = if root_sell { split.root } else { 0 };
        let recycled = split.root.saturating_sub(root);
        let parts = split
            .owner_cut
            .saturating_add(split.server)
            .saturating_add(split.validator)
            .saturating_add(split.root);
        info.alpha_out =
            info.alpha_out.saturating_add(AlphaRao::new(minted_out.saturating_sub(recycled)));
        info.alpha_burned =
            info.alpha_burned.saturating_add(AlphaRao::new(minted_out.saturating_sub(parts)));
        info.pending.owner = info.pending.owner.saturating_add(split.owner_cut);
        info.pending.server = info.pending.server.saturating_add(split.server);
        info.pending.validator = info.pending.validator.saturating_add(split.validator);
        info.pending.root = info.pending.root.saturating_add(root);
    }
    let chain = state.chain_mut();
    chain.total_issuance = chain.total_issuance.saturating_add(Rao::new(minted));
    chain.total_minted = chain.total_minted.saturating_add(Rao::new(minted));
    if minted > 0 {
        events.push(Event::Minted { amount: Rao::new(minted) });
    }
}

/// Updates the moving prices of the subnets that emit this block (`block_step` step 5,
/// after the coinbase and its epochs).
pub(crate) fn update_moving_prices(state: &mut State) {
    let now = state.block();
    for netuid in emitting_subnets(state) {
        let Some(subnet) = state.subnet_mut(netuid) else { continue };
        let info = subnet.info.make_mut();
        let start = info.first_emission_block.map_or(0, |b| b.get().saturating_sub(1));
        info.moving_price = update_moving_price(
            info.moving_price,
            info.pool.price(),
            default_moving_alpha(),
            now.get().saturating_sub(start),
            EMA_PRICE_HALVING_BLOCKS,
        );
    }
}
