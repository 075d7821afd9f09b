//! Staking through the pools, limits, moves, take, root stake, and the multi-epoch payout
//! scenario of the economics issue.

use crate::chain::*;
use tao_economics::pool::DEFAULT_FEE_RATE;
use tao_primitives::{AlphaRao, NetUid, Rao};
use tao_types::{
    Call, DispatchError, Event, GenesisBalance, GlobalParameter, Hyperparameter, Outcome,
};

/// A started subnet (owner cold 10 / hot 11) with a 1000-TAO pool; validator hotkeys 20, 21
/// (coldkeys 40, 41), no stake yet.
fn chain() -> Chain {
    let mut config = config_with_subnet(1_000, &[0, 0], false);
    config.subnets[0].pool_tao = Some(1_000 * TAO);
    for n in [40u8, 41, 42] {
        config.balances.push(GenesisBalance { account: id(n), rao: Rao::new(10_000 * TAO) });
    }
    Chain::new(config)
}

fn add(hotkey: u8, amount: u64, limit: Option<u64>) -> Call {
    Call::AddStake {
        hotkey: id(hotkey),
        netuid: NET,
        amount: Rao::new(amount),
        limit_price: limit.map(Rao::new),
    }
}

fn remove(hotkey: u8, amount: u64, limit: Option<u64>) -> Call {
    Call::RemoveStake {
        hotkey: id(hotkey),
        netuid: NET,
        amount: AlphaRao::new(amount),
        limit_price: limit.map(Rao::new),
    }
}

fn stake(chain: &Chain, hotkey: u8, coldkey: u8) -> u64 {
    chain.state.stake_of(NET, &id(hotkey), &id(coldkey)).get()
}

fn price(chain: &Chain) -> f64 {
    chain.state.subnet(NET).unwrap().info.get().pool.price().to_num::<f64>()
}

#[test]
fn add_and_remove_stake_through_the_pool() {
    let mut chain = chain();
    let p0 = price(&chain);
    let before = chain.free(3);
    let receipt = chain.ok(&key(3), add(20, 10 * TAO, None));
    let alpha = match receipt.events[..] {
        [Event::StakeAdded { alpha, tao, .. }] => {
            assert_eq!(tao, Rao::new(10 * TAO));
            alpha.get()
        }
        ref other => panic!("{other:?}"),
    };
    assert_eq!(stake(&chain, 20, 3), alpha);
    assert!(alpha < 10 * TAO && alpha > 9 * TAO, "slippage and fee at price ~1: {alpha}");
    assert!(price(&chain) > p0, "buying raises the price");
    assert_eq!(chain.free(3).get(), before.get() - 10 * TAO - receipt.fee.get());

    let receipt = chain.ok(&key(3), remove(20, alpha / 2, None));
    assert!(
        matches!(receipt.events[..], [Event::StakeRemoved { alpha: a, .. }] if a.get() == alpha / 2)
    );
    assert_eq!(stake(&chain, 20, 3), alpha - alpha / 2);
    // Asking for more than the stake removes all of it, to the last unit.
    chain.ok(&key(3), remove(20, u64::MAX, None));
    assert_eq!(stake(&chain, 20, 3), 0);
    assert!(chain.state.subnet(NET).unwrap().stakes.get().get(&id(20)).is_none(), "no dust left");
    // Round trip costs fees and slippage, never creates TAO.
    assert!(chain.free(3) < before);
}

#[test]
fn staking_rejections() {
    let mut chain = chain();
    chain.fails(&key(3), add(99, 10 * TAO, None), DispatchError::HotKeyAccountNotExists);
    chain.fails(&key(3), add(20, 1_000_000, None), DispatchError::AmountTooLow);
    // The minimum stake itself is not enough: the swap fee comes on top of it.
    let min = chain.state.chain().params.min_stake.get();
    chain.fails(&key(3), add(20, min, None), DispatchError::AmountTooLow);
    chain.ok(&key(4), add(20, min + min / 100, None));
    chain.fails(&key(3), add(20, 20_000 * TAO, None), DispatchError::NotEnoughBalanceToStake);
    chain.fails(
        &key(3),
        Call::AddStake {
            hotkey: id(20),
            netuid: NetUid::new(7),
            amount: Rao::new(TAO),
            limit_price: None,
        },
        DispatchError::SubnetNotExists,
    );
    chain.fails(&key(3), remove(20, TAO, None), DispatchError::NotEnoughStakeToWithdraw);
    // A subnet that has not started does not trade.
    chain.ok(&key(2), Call::RegisterNetwork { hotkey: id(12) });
    chain.fails(
        &key(3),
        Call::AddStake {
            hotkey: id(12),
            netuid: NetUid::new(2),
            amount: Rao::new(TAO),
            limit_price: None,
        },
        DispatchError::SubtokenDisabled,
    );
}

#[test]
fn limit_prices_refuse_to_overpay_and_change_nothing() {
    let mut chain = chain();
    let p = price(&chain);
    // A limit just above the price: 100 TAO would move it past the limit.
    let limit = (p * 1.01 * 1e9) as u64;
    chain.fails(&key(3), add(20, 100 * TAO, Some(limit)), DispatchError::SlippageTooHigh);
    // A limit below the current price cannot be met at all.
    chain.fails(
        &key(3),
        add(20, TAO, Some((p * 0.5 * 1e9) as u64)),
        DispatchError::SlippageTooHigh,
    );
    // A generous limit passes.
    chain.ok(&key(3), add(20, 100 * TAO, Some((p * 2.0 * 1e9) as u64)));
    let held = stake(&chain, 20, 3);
    let p = price(&chain);
    chain.fails(
        &key(3),
        remove(20, held, Some((p * 0.99 * 1e9) as u64)),
        DispatchError::SlippageTooHigh,
    );
    chain.fails(
        &key(3),
        remove(20, held / 10, Some((p * 2.0 * 1e9) as u64)),
        DispatchError::SlippageTooHigh,
    );
    chain.ok(&key(3), remove(20, held / 10, Some((p * 0.5 * 1e9) as u64)));
}

#[test]
fn unstake_all_empties_every_subnet_and_root() {
    let mut chain = chain();
    chain.ok(&key(3), add(20, 10 * TAO, None));
    chain.ok(
        &key(3),
        Call::AddStake {
            hotkey: id(20),
            netuid: NetUid::ROOT,
            amount: Rao::new(5 * TAO),
            limit_price: None,
        },
    );
    assert_eq!(chain.state.root_stake(&id(20)).unwrap().total, 5 * TAO);
    let receipt = chain.ok(&key(3), Call::UnstakeAll { hotkey: id(20) });
    assert_eq!(receipt.events.len(), 2);
    assert_eq!(stake(&chain, 20, 3), 0);
    assert!(chain.state.root_stake(&id(20)).is_none());
    // Nothing left: the reference's `do_unstake_all` succeeds and does nothing.
    let free = chain.free(3);
    let receipt = chain.ok(&key(3), Call::UnstakeAll { hotkey: id(20) });
    assert!(receipt.events.is_empty());
    assert_eq!(chain.free(3), free.checked_sub(receipt.fee).unwrap());
    // A hotkey nobody owns: refused.
    chain.fails(
        &key(3),
        Call::UnstakeAll { hotkey: id(99) },
        DispatchError::HotKeyAccountNotExists,
    );
}

/// `unstake_all` sells what it can and skips a subnet whose sale fails, as the reference
/// does: here subnet 2, whose token does not trade yet (the reference's `SubtokenEnabled`
/// check), and subnet 3, whose 0.0005-TAO pool is below the 0.001-TAO minimum reserve a
/// sale needs. Hotkey 20 (coldkey 40) holds stake on all three and on root.
#[test]
fn unstake_all_skips_a_subnet_whose_sale_fails() {
    let mut config = config_with_subnet(1_000, &[5 * TAO], false);
    config.subnets[0].pool_tao = Some(1_000 * TAO);
    for (start, pool_tao) in [(false, 1_000 * TAO), (true, 500_000)] {
        let mut other = config.subnets[0].clone();
        other.owner_hotkey = id(12);
        other.start_emission = start;
        other.pool_tao = Some(pool_tao);
        other.neurons[0].stake = AlphaRao::new(100_000);
        config.subnets.push(other);
    }
    config.balances.push(GenesisBalance { account: id(40), rao: Rao::new(10 * TAO) });
    let mut chain = Chain::new(config);
    let (net2, net3) = (NetUid::new(2), NetUid::new(3));
    // No emission reaches the small pool (registration off), so it stays below the minimum.
    chain.ok(
        &key(1),
        Call::SetHyperparameter { netuid: net3, value: Hyperparameter::RegistrationAllowed(false) },
    );
    chain.ok(
        &key(40),
        Call::AddStake {
            hotkey: id(20),
            netuid: NetUid::ROOT,
            amount: Rao::new(TAO),
            limit_price: None,
        },
    );
    assert!(chain.state.subnet(net3).unwrap().info.get().pool.tao < 1_000_000);
    let receipt = chain.ok(&key(40), Call::UnstakeAll { hotkey: id(20) });
    let sold: Vec<NetUid> = receipt
        .events
        .iter()
        .map(|e| match e {
            Event::StakeRemoved { netuid, .. } => *netuid,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(sold, vec![NetUid::ROOT, NET]);
    assert_eq!(stake(&chain, 20, 40), 0);
    assert!(chain.state.root_stake(&id(20)).is_none());
    for netuid in [net2, net3] {
        assert_eq!(chain.state.stake_of(netuid, &id(20), &id(40)).get(), 100_000, "{netuid}");
    }
}

#[test]
fn move_transfer_and_swap_stake() {
    let mut chain = chain();
    chain.ok(&key(3), add(20, 10 * TAO, None));
    let held = stake(&chain, 20, 3);
    // Same subnet, another hotkey: shares move, no swap, no fee.
    chain.ok(
        &key(3),
        Call::MoveStake {
            origin_hotkey: id(20),
            destination_hotkey: id(21),
            origin_netuid: NET,
            destination_netuid: NET,
            amount: AlphaRao::new(held / 2),
        },
    );
    assert_eq!(stake(&chain, 21, 3), held / 2);
    assert_eq!(stake(&chain, 20, 3), held - held / 2);
    // To another coldkey.
    chain.ok(
        &key(3),
        Call::TransferStake {
            destination_coldkey: id(4),
            hotkey: id(21),
            origin_netuid: NET,
            destination_netuid: NET,
            amount: AlphaRao::new(held / 4),
        },
    );
    assert_eq!(stake(&chain, 21, 4), held / 4);
    chain.ok(
        &key(1),
        Call::SetHyperparameter { netuid: NET, value: Hyperparameter::TransfersEnabled(false) },
    );
    chain.fails(
        &key(3),
        Call::TransferStake {
            destination_coldkey: id(4),
            hotkey: id(21),
            origin_netuid: NET,
            destination_netuid: NET,
            amount: AlphaRao::new(1),
        },
        DispatchError::TransferDisallowed,
    );
    // Across subnets: to root (sell, TAO staked 1:1).
    chain.ok(
        &key(3),
        Call::SwapStake {
            hotkey: id(20),
            origin_netuid: NET,
            destination_netuid: NetUid::ROOT,
            amount: AlphaRao::new(u64::MAX),
            limit_price: None,
        },
    );
    assert_eq!(stake(&chain, 20, 3), 0);
    assert!(chain.state.root_stake(&id(20)).unwrap().total > 4 * TAO);
    // A swap limit the market cannot meet refuses.
    chain.fails(
        &key(3),
        Call::SwapStake {
            hotkey: id(20),
            origin_netuid: NetUid::ROOT,
            destination_netuid: NET,
            amount: AlphaRao::new(TAO),
            limit_price: Some(Rao::new(2_000_000_000)),
        },
        DispatchError::SlippageTooHigh,
    );
}

#[test]
fn delegate_take_is_bounded_and_rate_limited() {
    let mut chain = chain();
    assert_eq!(chain.state.take(&id(20)), 11_796, "the maximum by default");
    chain.fails(
        &key(3),
        Call::DecreaseTake { hotkey: id(20), take: 100 },
        DispatchError::NonAssociatedColdKey,
    );
    chain.fails(
        &key(40),
        Call::IncreaseTake { hotkey: id(20), take: 12_000 },
        DispatchError::DelegateTakeTooHigh,
    );
    chain.ok(&key(40), Call::DecreaseTake { hotkey: id(20), take: 1_000 });
    assert_eq!(chain.state.take(&id(20)), 1_000);
    chain.fails(
        &key(40),
        Call::DecreaseTake { hotkey: id(20), take: 1_000 },
        DispatchError::DelegateTakeTooLow,
    );
    // A cut starts the rate limit too: it cannot be undone in the next block.
    chain.fails(
        &key(40),
        Call::IncreaseTake { hotkey: id(20), take: 2_000 },
        DispatchError::DelegateTxRateLimitExceeded,
    );
    let limit = 3;
    chain.ok(
        &key(1),
        Call::SetGlobalParameter { value: GlobalParameter::TxDelegateTakeRateLimit(limit) },
    );
    chain.ok(&key(40), Call::DecreaseTake { hotkey: id(20), take: 900 });
    let cut_at = chain.state.block().get();
    // Refused while `now - last <= limit` (inclusive, as the reference counts).
    while chain.state.block().get() + 1 - cut_at <= limit {
        chain.fails(
            &key(40),
            Call::IncreaseTake { hotkey: id(20), take: 2_000 },
            DispatchError::DelegateTxRateLimitExceeded,
        );
    }
    chain.ok(&key(40), Call::IncreaseTake { hotkey: id(20), take: 2_000 });
    chain.fails(
        &key(40),
        Call::IncreaseTake { hotkey: id(20), take: 3_000 },
        DispatchError::DelegateTxRateLimitExceeded,
    );
}

/// The economics scenario: three miners scored 0.6/0.3/0.1 by two validators with stakes
/// 3:1 (the first with a nominator) earn alpha in that order; dividends follow stake; the
/// nominator gets its share after the validator's take; the owner gets 18 % of emission.
#[test]
fn a_multi_epoch_payout_scenario() {
    let mut config = config_with_subnet(20, &[0, 0, 0, 0, 0], false);
    config.subnets[0].pool_tao = Some(1_000 * TAO);
    for n in [40u8, 41] {
        config.balances.push(GenesisBalance { account: id(n), rao: Rao::new(10_000 * TAO) });
    }
    let mut chain = Chain::new(config);
    // Validator 20: 300 TAO by its owner and 100 by nominator 5; validator 21: 100 TAO.
    chain.ok(&key(40), add(20, 300 * TAO, None));
    chain.ok(&key(5), add(20, 100 * TAO, None));
    chain.ok(&key(41), add(21, 100 * TAO, None));
    chain.advance(20); // an epoch hands out permits
    for validator in [20u8, 21] {
        chain.ok(
            &key(validator),
            Call::SetWeights {
                netuid: NET,
                uids: vec![3, 4, 5],
                values: vec![6, 3, 1],
                version_key: 0,
            },
        );
    }
    let miners = |chain: &Chain| [22u8, 23, 24].map(|h| stake(chain, h, h + 20));
    let owner_before = stake(&chain, 11, 10);
    let nominator_before = stake(&chain, 20, 5);
    let (v20_before, v21_before) = (
        chain.state.hotkey_alpha(NET, &id(20)).get(),
        chain.state.hotkey_alpha(NET, &id(21)).get(),
    );
    let mut paid: u64 = 0;
    for _ in 0..60 {
        let outcome = chain.block(Vec::new());
        for event in &outcome.events {
            if let Event::EpochCompleted { emission, .. } = event {
                paid += emission.get();
            }
        }
    }
    assert!(paid > 0, "epochs paid out");
    let earned = miners(&chain);
    assert!(earned[0] > earned[1] && earned[1] > earned[2] && earned[2] > 0, "{earned:?}");
    let ratio = earned[0] as f64 / earned[1] as f64;
    assert!((ratio - 2.0).abs() < 0.1, "0.6/0.3 → 2:1, got {ratio}");

    let d20 = chain.state.hotkey_alpha(NET, &id(20)).get() - v20_before;
    let d21 = chain.state.hotkey_alpha(NET, &id(21)).get() - v21_before;
    let dividend_ratio = d20 as f64 / d21 as f64;
    let stake_ratio = v20_before as f64 / v21_before as f64;
    assert!(
        (dividend_ratio / stake_ratio - 1.0).abs() < 0.05,
        "dividends {dividend_ratio} vs stake {stake_ratio}"
    );

    // The nominator gets its share of validator 20's pool of the dividends after take.
    let nominator_gain = (stake(&chain, 20, 5) - nominator_before) as f64;
    let take = 11_796.0 / 65_535.0;
    let share = nominator_before as f64 / v20_before as f64;
    let expected = d20 as f64 * (1.0 - take) * share;
    assert!(
        (nominator_gain / expected - 1.0).abs() < 0.05,
        "nominator {nominator_gain} vs {expected}"
    );

    // The owner's cut: 18 % of the alpha emitted over the same epochs.
    let owner_gain = (stake(&chain, 11, 10) - owner_before) as f64;
    assert!((owner_gain / paid as f64 - 0.18).abs() < 0.01, "owner {owner_gain} of {paid}");
    let _ = DEFAULT_FEE_RATE;
    let info = chain.state.subnet(NET).unwrap().info.get().clone();
    assert_eq!(info.miner_burned.to_bits(), 0, "no owner-hotkey miners here");
    // What stays minted unheld is only rounding: the floors of each block's split (4
    // parts) and of each payout, a few RAO a block (the reference keeps it in alpha out).
    let blocks = chain.state.block().get();
    assert!(
        info.alpha_burned.get() < 5 * blocks,
        "unheld alpha {} over {blocks} blocks",
        info.alpha_burned.get()
    );
    let receipt = chain.run(&key(40), remove(20, 1, None));
    assert!(matches!(receipt.outcome, Outcome::Success | Outcome::Failed(_)));
}
