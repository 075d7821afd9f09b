//! Staking calls (`chain-protocol.md` §6): add and remove stake through the subnet's pool,
//! unstake everything, move/transfer/swap stake, and delegate take.
//!
//! Every call plans its swaps on copies of the pools first and writes only once all of
//! them succeeded, so a failure changes nothing but the fee.

use crate::{governance::ensure_unlocked, state::SubnetInfo, State};
use substrate_fixed::types::U64F64;
use tao_economics::pool::{max_price, min_price, price_from_rao, SwapError, SwapResult};
use tao_primitives::{AccountId, AlphaRao, NetUid, Rao};
use tao_types::{DispatchError, Event};

type Outcome = Result<Vec<Event>, DispatchError>;

fn swap_error(error: SwapError) -> DispatchError {
    match error {
        SwapError::PriceLimitExceeded => DispatchError::SlippageTooHigh,
        SwapError::ReservesTooLow
        | SwapError::SwapInputTooLarge
        | SwapError::InsufficientLiquidity => DispatchError::InsufficientLiquidity,
    }
}

/// A subnet whose token trades (started), with its pool and fee.
fn trading(state: &State, netuid: NetUid) -> Result<&SubnetInfo, DispatchError> {
    let info = state.subnet(netuid).ok_or(DispatchError::SubnetNotExists)?.info.get();
    if info.first_emission_block.is_none() {
        return Err(DispatchError::SubtokenDisabled);
    }
    Ok(info)
}

fn known_hotkey(state: &State, hotkey: &AccountId) -> Result<AccountId, DispatchError> {
    state.hotkey_owner(hotkey).ok_or(DispatchError::HotKeyAccountNotExists)
}

/// A coldkey's stake on a hotkey: alpha on a subnet, TAO on root.
fn stake_value(state: &State, netuid: NetUid, hotkey: &AccountId, coldkey: &AccountId) -> u64 {
    if netuid.is_root() {
        state.root_stake(hotkey).and_then(|r| r.by_coldkey.get(coldkey).copied()).unwrap_or(0)
    } else {
        state.stake_of(netuid, hotkey, coldkey).get()
    }
}

/// A planned buy (TAO into a subnet's pool) or root credit.
struct Buy {
    netuid: NetUid,
    result: SwapResult,
}

/// A planned sell (alpha out of a subnet's pool) or root debit.
struct Sell {
    netuid: NetUid,
    result: SwapResult,
}

fn plan_buy(
    state: &State,
    netuid: NetUid,
    tao: u64,
    limit: U64F64,
    fee: FeeLeg,
) -> Result<Buy, DispatchError> {
    if netuid.is_root() {
        return Ok(Buy { netuid, result: SwapResult { amount_in: tao, amount_out: tao, fee: 0 } });
    }
    let info = trading(state, netuid)?;
    let rate = if fee == FeeLeg::Charged { info.fee_rate } else { 0 };
    let result = info.pool.buy(tao, limit, rate).map_err(swap_error)?;
    if result.total_in() < tao {
        return Err(DispatchError::SlippageTooHigh);
    }
    if result.amount_out == 0 {
        return Err(DispatchError::AmountTooLow);
    }
    Ok(Buy { netuid, result })
}

fn plan_sell(
    state: &State,
    netuid: NetUid,
    alpha: u64,
    limit: U64F64,
    fee: FeeLeg,
) -> Result<Sell, DispatchError> {
    if netuid.is_root() {
        return Ok(Sell {
            netuid,
            result: SwapResult { amount_in: alpha, amount_out: alpha, fee: 0 },
        });
    }
    let info = trading(state, netuid)?;
    let rate = if fee == FeeLeg::Charged { info.fee_rate } else { 0 };
    let result = info.pool.sell(alpha, limit, rate).map_err(swap_error)?;
    if result.total_in() < alpha {
        return Err(DispatchError::SlippageTooHigh);
    }
    Ok(Sell { netuid, result })
}

/// Whether a swap leg pays the pool fee.
#[derive(Clone, Copy, PartialEq, Eq)]
enum FeeLeg {
    Charged,
    Waived,
}

/// Applies a planned buy: the pool takes the TAO (the fee is burned) and `coldkey` is
/// credited the alpha on `hotkey` (TAO 1:1 on root).
fn apply_buy(state: &mut State, buy: &Buy, hotkey: AccountId, coldkey: AccountId) {
    let r = buy.result;
    if buy.netuid.is_root() {
        let root = state.root_stakes.make_mut().entry(hotkey).or_default();
        root.total = root.total.saturating_add(r.amount_out);
        let mine = root.by_coldkey.entry(coldkey).or_insert(0);
        *mine = mine.saturating_add(r.amount_out);
        return;
    }
    if let Some(subnet) = state.subnet_mut(buy.netuid) {
        let info = subnet.info.make_mut();
        info.pool.tao = info.pool.tao.saturating_add(r.amount_in);
        info.pool.alpha = info.pool.alpha.saturating_sub(r.amount_out);
        info.alpha_out = info.alpha_out.saturating_add(AlphaRao::new(r.amount_out));
        subnet.stakes.make_mut().entry(hotkey).or_default().add(coldkey, r.amount_out);
    }
    burn_tao(state, r.fee);
}

/// Applies a planned sell: `coldkey`'s stake on `hotkey` is debited, the pool pays the TAO
/// out (the alpha fee is destroyed). Returns the TAO paid.
fn apply_sell(state: &mut State, sell: &Sell, hotkey: AccountId, coldkey: AccountId) -> u64 {
    let r = sell.result;
    let debit = r.total_in();
    if sell.netuid.is_root() {
        let roots = state.root_stakes.make_mut();
        if let Some(root) = roots.get_mut(&hotkey) {
            root.total = root.total.saturating_sub(debit);
            if let Some(mine) = root.by_coldkey.get_mut(&coldkey) {
                *mine = mine.saturating_sub(debit);
                if *mine == 0 {
                    root.by_coldkey.remove(&coldkey);
                }
            }
            if root.by_coldkey.is_empty() {
                roots.remove(&hotkey);
            }
        }
        return r.amount_out;
    }
    if let Some(subnet) = state.subnet_mut(sell.netuid) {
        let stakes = subnet.stakes.make_mut();
        let mut dust = 0;
        if let Some(pool) = stakes.get_mut(&hotkey) {
            dust = pool.remove(&coldkey, debit).dust;
            if pool.shares_total == 0 {
                stakes.remove(&hotkey);
            }
        }
        let info = subnet.info.make_mut();
        info.pool.alpha = info.pool.alpha.saturating_add(r.amount_in);
        info.pool.tao = info.pool.tao.saturating_sub(r.amount_out);
        info.alpha_out = info.alpha_out.saturating_sub(AlphaRao::new(debit.saturating_add(dust)));
    }
    r.amount_out
}

fn burn_tao(state: &mut State, amount: u64) {
    if amount > 0 {
        let chain = state.chain_mut();
        chain.total_issuance = chain.total_issuance.saturating_sub(Rao::new(amount));
        chain.total_fees = chain.total_fees.saturating_add(Rao::new(amount));
    }
}

/// `add_stake`: buy alpha on `netuid` with `amount` TAO for (`hotkey`, signer).
pub(crate) fn add_stake(
    state: &mut State,
    coldkey: AccountId,
    hotkey: AccountId,
    netuid: NetUid,
    amount: Rao,
    limit: Option<Rao>,
) -> Outcome {
    known_hotkey(state, &hotkey)?;
    if amount < state.chain().params.min_stake {
        return Err(DispatchError::AmountTooLow);
    }
    let remaining = state
        .account(&coldkey)
        .free
        .checked_sub(amount)
        .ok_or(DispatchError::NotEnoughBalanceToStake)?;
    let buy = plan_buy(
        state,
        netuid,
        amount.get(),
        limit.map_or_else(max_price, |l| price_from_rao(l.get())),
        FeeLeg::Charged,
    )?;
    // The reference's `validate_add_stake`: the amount covers the minimum stake and the
    // swap fee on top of it.
    if amount.get() < state.chain().params.min_stake.get().saturating_add(buy.result.fee) {
        return Err(DispatchError::AmountTooLow);
    }
    state.account_mut(&coldkey).free = remaining;
    apply_buy(state, &buy, hotkey, coldkey);
    Ok(vec![Event::StakeAdded {
        coldkey,
        hotkey,
        netuid,
        tao: amount,
        alpha: AlphaRao::new(buy.result.amount_out),
    }])
}

/// `remove_stake`: sell up to `amount` of the signer's alpha on `hotkey` for TAO.
pub(crate) fn remove_stake(
    state: &mut State,
    coldkey: AccountId,
    hotkey: AccountId,
    netuid: NetUid,
    amount: AlphaRao,
    limit: Option<Rao>,
) -> Outcome {
    ensure_unlocked(state, &coldkey)?;
    let available = stake_value(state, netuid, &hotkey, &coldkey);
    let alpha = amount.get().min(available);
    if alpha == 0 {
        return Err(DispatchError::NotEnoughStakeToWithdraw);
    }
    let sell = plan_sell(
        state,
        netuid,
        alpha,
        limit.map_or_else(min_price, |l| price_from_rao(l.get())),
        FeeLeg::Charged,
    )?;
    if alpha < available && sell.result.amount_out < state.chain().params.min_stake.get() {
        return Err(DispatchError::AmountTooLow);
    }
    let tao = apply_sell(state, &sell, hotkey, coldkey);
    let account = state.account_mut(&coldkey);
    account.free = account.free.saturating_add(Rao::new(tao));
    Ok(vec![Event::StakeRemoved {
        coldkey,
        hotkey,
        netuid,
        alpha: AlphaRao::new(alpha),
        tao: Rao::new(tao),
    }])
}

/// `unstake_all`: everything the signer has on `hotkey`, root and every subnet in netuid
/// order. As in the reference's `do_unstake_all`, a subnet whose sale would fail (its token
/// not trading, its pool unable to pay) is skipped and the others are sold; with nothing to
/// sell the call succeeds and does nothing. The hotkey must exist. A coldkey whose stake a
/// governance vote locks (this chain's own lock, over all its stake) is refused whole.
pub(crate) fn unstake_all(state: &mut State, coldkey: AccountId, hotkey: AccountId) -> Outcome {
    known_hotkey(state, &hotkey)?;
    ensure_unlocked(state, &coldkey)?;
    let netuids: Vec<NetUid> =
        std::iter::once(NetUid::ROOT).chain(state.subnets().map(|(n, _)| *n)).collect();
    let mut events = Vec::new();
    for netuid in netuids {
        let alpha = stake_value(state, netuid, &hotkey, &coldkey);
        if alpha == 0 {
            continue;
        }
        let Ok(sell) = plan_sell(state, netuid, alpha, min_price(), FeeLeg::Charged) else {
            continue;
        };
        let tao = apply_sell(state, &sell, hotkey, coldkey);
        let account = state.account_mut(&coldkey);
        account.free = account.free.saturating_add(Rao::new(tao));
        events.push(Event::StakeRemoved {
            coldkey,
            hotkey,
            netuid,
            alpha: AlphaRao::new(sell.result.total_in()),
            tao: Rao::new(tao),
        });
    }
    Ok(events)
}

/// Where stake goes in a move, transfer or swap.
#[derive(Clone, Copy)]
pub(crate) struct Place {
    /// Subnet (root: TAO).
    pub netuid: NetUid,
    /// Hotkey.
    pub hotkey: AccountId,
    /// Coldkey.
    pub coldkey: AccountId,
}

/// Moves up to `amount` of stake from one place to another: within a subnet by shares,
/// across subnets by selling on the origin (fee) and buying on the destination (no
/// second fee, unless the origin is root). `min_ratio`: the least destination alpha per
/// origin alpha, ×10^9.
pub(crate) fn relocate(
    state: &mut State,
    from: Place,
    to: Place,
    amount: AlphaRao,
    min_ratio: Option<Rao>,
) -> Outcome {
    ensure_unlocked(state, &from.coldkey)?;
    known_hotkey(state, &to.hotkey)?;
    let available = stake_value(state, from.netuid, &from.hotkey, &from.coldkey);
    let alpha = amount.get().min(available);
    if alpha == 0 {
        return Err(DispatchError::NotEnoughStakeToWithdraw);
    }
    let min_stake = state.chain().params.min_stake.get();
    let (sell_fee, buy_fee) = if from.netuid.is_root() {
        (FeeLeg::Waived, FeeLeg::Charged)
    } else {
        (FeeLeg::Charged, FeeLeg::Waived)
    };
    let (sell, buy) = if from.netuid == to.netuid {
        // Same subnet: shares move, no swap; the value must still be worth the minimum.
        let price = if from.netuid.is_root() {
            U64F64::from_num(1)
        } else {
            trading(state, from.netuid)?.pool.price()
        };
        let worth =
            U64F64::saturating_from_num(alpha).saturating_mul(price).saturating_to_num::<u64>();
        if worth < min_stake {
            return Err(DispatchError::AmountTooLow);
        }
        let plain = SwapResult { amount_in: alpha, amount_out: alpha, fee: 0 };
        (Sell { netuid: from.netuid, result: plain }, Buy { netuid: to.netuid, result: plain })
    } else {
        let sell = plan_sell(state, from.netuid, alpha, min_price(), sell_fee)?;
        let tao = sell.result.amount_out;
        // Across subnets the proceeds must exceed the minimum stake (the reference's `>`).
        if tao <= min_stake {
            return Err(DispatchError::AmountTooLow);
        }
        // Different subnets: the two pools are independent.
        let buy = plan_buy(state, to.netuid, tao, max_price(), buy_fee)?;
        (sell, buy)
    };
    if let Some(ratio) = min_ratio {
        let got = u128::from(buy.result.amount_out).saturating_mul(1_000_000_000);
        if got < u128::from(alpha).saturating_mul(u128::from(ratio.get())) {
            return Err(DispatchError::SlippageTooHigh);
        }
    }
    if from.netuid == to.netuid {
        let paid = debit_shares(state, from, alpha);
        credit_shares(state, to, paid);
        return Ok(vec![Event::StakeMoved {
            from: (from.coldkey, from.hotkey, from.netuid),
            to: (to.coldkey, to.hotkey, to.netuid),
            alpha: AlphaRao::new(paid),
        }]);
    }
    apply_sell(state, &sell, from.hotkey, from.coldkey);
    apply_buy(state, &buy, to.hotkey, to.coldkey);
    Ok(vec![Event::StakeMoved {
        from: (from.coldkey, from.hotkey, from.netuid),
        to: (to.coldkey, to.hotkey, to.netuid),
        alpha: AlphaRao::new(buy.result.amount_out),
    }])
}

/// Removes stake without a swap (same-subnet moves); returns what was removed.
fn debit_shares(state: &mut State, from: Place, alpha: u64) -> u64 {
    if from.netuid.is_root() {
        let sell = Sell {
            netuid: from.netuid,
            result: SwapResult { amount_in: alpha, amount_out: alpha, fee: 0 },
        };
        return apply_sell(state, &sell, from.hotkey, from.coldkey);
    }
    let Some(subnet) = state.subnet_mut(from.netuid) else { return 0 };
    let stakes = subnet.stakes.make_mut();
    let Some(pool) = stakes.get_mut(&from.hotkey) else { return 0 };
    let removal = pool.remove(&from.coldkey, alpha);
    if pool.shares_total == 0 {
        stakes.remove(&from.hotkey);
    }
    let info = subnet.info.make_mut();
    info.alpha_out = info.alpha_out.saturating_sub(AlphaRao::new(removal.dust));
    removal.paid
}

/// Adds stake without a swap.
fn credit_shares(state: &mut State, to: Place, alpha: u64) {
    let buy =
        Buy { netuid: to.netuid, result: SwapResult { amount_in: 0, amount_out: alpha, fee: 0 } };
    if to.netuid.is_root() {
        apply_buy(state, &buy, to.hotkey, to.coldkey);
    } else if let Some(subnet) = state.subnet_mut(to.netuid) {
        subnet.stakes.make_mut().entry(to.hotkey).or_default().add(to.coldkey, alpha);
    }
}

/// `transfer_stake`: needs transfers enabled on both subnets.
pub(crate) fn transfer_stake(
    state: &mut State,
    from: Place,
    to: Place,
    amount: AlphaRao,
) -> Outcome {
    ensure_unlocked(state, &from.coldkey)?;
    for netuid in [from.netuid, to.netuid] {
        if let Some(subnet) = state.subnet(netuid) {
            if !subnet.info.get().params.transfers_enabled {
                return Err(DispatchError::TransferDisallowed);
            }
        }
    }
    relocate(state, from, to, amount, None)
}

/// `increase_take` / `decrease_take` by the hotkey's owner.
pub(crate) fn set_take(
    state: &mut State,
    coldkey: AccountId,
    hotkey: AccountId,
    take: u16,
    raise: bool,
) -> Outcome {
    if known_hotkey(state, &hotkey)? != coldkey {
        return Err(DispatchError::NonAssociatedColdKey);
    }
    let params = state.chain().params.clone();
    let current = state.take(&hotkey);
    let now = state.block();
    if raise {
        if take > params.max_take || take <= current {
            return Err(DispatchError::DelegateTakeTooHigh);
        }
        // The reference's `exceeds_tx_rate_limit`: within `limit` blocks (inclusive) of the
        // last change, up or down, a raise waits (so a cut cannot be undone next block).
        let last = state.delegates.get().get(&hotkey).map(|d| d.last_change);
        if let Some(last) = last {
            let limit = params.take_rate_limit;
            if limit != 0 && last.get() != 0 && now.saturating_since(last) <= limit {
                return Err(DispatchError::DelegateTxRateLimitExceeded);
            }
        }
    } else if take < params.min_take || take >= current {
        return Err(DispatchError::DelegateTakeTooLow);
    }
    let delegates = state.delegates.make_mut();
    let entry = delegates.entry(hotkey).or_insert(crate::stake::Delegate {
        take: current,
        last_change: tao_primitives::BlockNumber::GENESIS,
    });
    entry.take = take;
    entry.last_change = now;
    Ok(vec![Event::TakeChanged { hotkey, take }])
}
