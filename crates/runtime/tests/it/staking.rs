//! Staking through the pools, limits, moves, take, root stake, and the multi-epoch payout
//! scenario of the economics issue.

use crate::chain::*;
use std::collections::BTreeMap;
use substrate_fixed::types::U96F32;
use tao_economics::pool::DEFAULT_FEE_RATE;
use tao_primitives::{AccountId, AlphaRao, BlockNumber, NetUid, Rao};
use tao_runtime::{epoch::should_run_epoch, State};
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

/// A hotkey's stake pool as the reference keeps it (§6.1): a stake buys shares at the
/// pool's rate (one share per alpha in an empty pool), dividends raise every share's value,
/// a coldkey's stake is `floor(total × shares / shares_total)`.
#[derive(Clone, Debug, Default)]
struct ModelPool {
    total: u128,
    shares_total: u128,
    shares: BTreeMap<AccountId, u128>,
}

impl ModelPool {
    fn add(&mut self, coldkey: AccountId, alpha: u64) {
        let alpha = u128::from(alpha);
        if alpha == 0 {
            return;
        }
        let new = if self.shares_total == 0 || self.total == 0 {
            *self = ModelPool::default();
            alpha
        } else {
            alpha.checked_mul(self.shares_total).unwrap() / self.total
        };
        *self.shares.entry(coldkey).or_default() += new;
        self.shares_total += new;
        self.total += alpha;
    }

    fn add_for_all(&mut self, alpha: u64, fallback: AccountId) {
        if self.shares_total == 0 {
            self.add(fallback, alpha);
        } else {
            self.total += u128::from(alpha);
        }
    }

    fn values(&self) -> BTreeMap<AccountId, u64> {
        self.shares
            .iter()
            .map(|(c, s)| (*c, u64::try_from(self.total * s / self.shares_total).unwrap()))
            .collect()
    }
}

/// Stakes on a subnet: hotkey → (total, coldkey → value).
type Stakes = BTreeMap<AccountId, (u64, BTreeMap<AccountId, u64>)>;

/// Every stake on NET; empty pools left out.
fn stakes_on_net(state: &State) -> Stakes {
    state
        .subnet(NET)
        .unwrap()
        .stakes
        .get()
        .iter()
        .filter(|(_, pool)| pool.shares_total > 0)
        .map(|(h, pool)| (*h, (pool.total, pool.coldkeys().map(|c| (*c, pool.value(c))).collect())))
        .collect()
}

/// One epoch's payout on NET worked out from `chain-protocol.md` §3.8, written here apart
/// from the runtime: from the state the epoch starts from (its pending pots S, V, R, O,
/// stakes, root stakes and takes) and Yuma's output on it. Returns every stake on NET after
/// the payout and the alpha paid.
///
/// V_eff = V + S without incentive, else V. Per validator h with dividend d_h (its validator
/// emission), alpha stake A_h and root stake T_h: root_prop = T_h·w / (A_h + T_h·w), root
/// part d_h·root_prop, alpha part the rest; each pot is shared as pot × (part / Σ parts)
/// (the reference's `prop_alpha`), unfloored (U96F32). Then, in order: the owner cut to the
/// owner hotkey; each miner's server emission (withheld from the owner's hotkeys); alpha
/// dividends (take = take_h/65535 × payout to the validator's owner, floored; the floored
/// rest to all its stakers); root dividends (take to the owner; the rest to h's root
/// stakers, each floor(rest × T_hc / T_h), credited at once as alpha stake: this chain's
/// documented simplification of root claims).
fn expected_payout(pre: &State, output: &tao_yuma::YumaOutput) -> (Stakes, u64) {
    let subnet = pre.subnet(NET).unwrap();
    let info = subnet.info.get();
    let neurons = &subnet.neurons.get().neurons;
    assert_eq!(neurons.len(), output.server_emission.len());
    assert_eq!(neurons.len(), output.validator_emission.len());
    assert!(!neurons.is_empty());
    let zero = U96F32::from_num(0);
    let w = U96F32::from_num(pre.chain().params.tao_weight) / U96F32::from_num(u64::MAX);
    let pending = info.pending;
    let incentive: u64 = output.server_emission.iter().map(|x| x.get()).sum();
    let v_eff = if incentive == 0 { pending.validator + pending.server } else { pending.validator };

    let mut pools: BTreeMap<AccountId, ModelPool> = subnet
        .stakes
        .get()
        .iter()
        .map(|(h, p)| {
            let pool = ModelPool {
                total: u128::from(p.total),
                shares_total: p.shares_total,
                shares: p.shares.clone(),
            };
            (*h, pool)
        })
        .collect();
    let (mut alpha_parts, mut root_parts) = (Vec::new(), Vec::new());
    for (neuron, d) in neurons.iter().zip(&output.validator_emission) {
        let d = U96F32::from_num(d.get());
        let alpha_stake = U96F32::from_num(pools.get(&neuron.hotkey).map_or(0, |p| p.total));
        let root = U96F32::from_num(pre.root_stake(&neuron.hotkey).map_or(0, |r| r.total)) * w;
        let prop = if alpha_stake + root == zero { zero } else { root / (alpha_stake + root) };
        root_parts.push(d * prop);
        alpha_parts.push(d - d * prop);
    }
    let share = |pot: u64, parts: &[U96F32]| -> Vec<U96F32> {
        let sum = parts.iter().fold(zero, |a, p| a + *p);
        parts
            .iter()
            .map(|p| if sum == zero { zero } else { U96F32::from_num(pot) * (*p / sum) })
            .collect()
    };
    let alpha_payout = share(v_eff, &alpha_parts);
    let root_payout = share(pending.root, &root_parts);
    let mut paid = 0u64;
    let pay = |pools: &mut BTreeMap<AccountId, ModelPool>, h: AccountId, c: AccountId, x| {
        pools.entry(h).or_default().add(c, x);
        x
    };
    paid += pay(&mut pools, info.owner_hotkey, info.owner_coldkey, pending.owner);
    for (neuron, x) in neurons.iter().zip(&output.server_emission) {
        if neuron.hotkey != info.owner_hotkey && neuron.coldkey != info.owner_coldkey {
            paid += pay(&mut pools, neuron.hotkey, neuron.coldkey, x.get());
        }
    }
    let rate = |h: &AccountId| U96F32::from_num(pre.take(h)) / U96F32::from_num(65_535);
    for (neuron, d) in neurons.iter().zip(&alpha_payout) {
        let take = rate(&neuron.hotkey) * *d;
        paid += pay(&mut pools, neuron.hotkey, neuron.coldkey, take.to_num::<u64>());
        let rest = (*d - take).to_num::<u64>();
        pools.entry(neuron.hotkey).or_default().add_for_all(rest, neuron.coldkey);
        paid += rest;
    }
    for (neuron, d) in neurons.iter().zip(&root_payout) {
        let take = rate(&neuron.hotkey) * *d;
        paid += pay(&mut pools, neuron.hotkey, neuron.coldkey, take.to_num::<u64>());
        if let Some(root) = pre.root_stake(&neuron.hotkey) {
            for (coldkey, tao) in &root.by_coldkey {
                let part = U96F32::from_num(*tao) / U96F32::from_num(root.total);
                paid +=
                    pay(&mut pools, neuron.hotkey, *coldkey, ((*d - take) * part).to_num::<u64>());
            }
        }
    }
    let stakes = pools
        .into_iter()
        .filter(|(_, p)| p.shares_total > 0)
        .map(|(h, p)| (h, (u64::try_from(p.total).unwrap(), p.values())))
        .collect();
    (stakes, paid)
}

/// The economics scenario: three miners scored 0.6/0.3/0.1 by two validators with stakes
/// 3:1 (the first with a nominator, the second with root stake too) earn alpha in that
/// order, and every stake on the subnet after each of three epochs is the payout of
/// `expected_payout` to the RAO: miners, the owner cut, validators' takes, nominators and
/// root stakers. To read the pots the epoch pays, the subnet's emission pauses in each
/// epoch block (registration disallowed in the block before, allowed again after), so
/// nothing accrues between the state read and the epoch. No root pot arises: root sells
/// its alpha only when the moving prices sum above 1, which takes far longer than a test;
/// root stake still takes its part of each dividend off the alpha pot.
#[test]
fn a_multi_epoch_payout_scenario() {
    let mut config = config_with_subnet(20, &[0, 0, 0, 0, 0], false);
    config.subnets[0].pool_tao = Some(1_000 * TAO);
    for n in [40u8, 41] {
        config.balances.push(GenesisBalance { account: id(n), rao: Rao::new(10_000 * TAO) });
    }
    let mut chain = Chain::new(config);
    // Validator 20: 300 TAO by its owner and 100 by nominator 5; validator 21: 100 TAO, and
    // 100 TAO on root by coldkey 3.
    chain.ok(&key(40), add(20, 300 * TAO, None));
    chain.ok(&key(5), add(20, 100 * TAO, None));
    chain.ok(&key(41), add(21, 100 * TAO, None));
    chain.ok(
        &key(3),
        Call::AddStake {
            hotkey: id(21),
            netuid: NetUid::ROOT,
            amount: Rao::new(100 * TAO),
            limit_price: None,
        },
    );
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
    let registration = |allowed| Call::SetHyperparameter {
        netuid: NET,
        value: Hyperparameter::RegistrationAllowed(allowed),
    };
    let mut paid: u64 = 0;
    let mut epochs = 0;
    while epochs < 3 {
        let next = chain.state.block().get() + 1;
        let info = chain.state.subnet(NET).unwrap().info.get().clone();
        if should_run_epoch(&info, BlockNumber::new(next))
            || !should_run_epoch(&info, BlockNumber::new(next + 1))
        {
            assert!(next < 200, "three epochs come within 200 blocks");
            chain.block(Vec::new());
            continue;
        }
        // The block before the epoch's: the subnet stops emitting for the next block.
        chain.ok(&key(1), registration(false));
        let pre = chain.state.clone();
        let epoch_block = BlockNumber::new(pre.block().get() + 1);
        let input = tao_runtime::epoch::epoch_input(
            pre.subnet(NET).unwrap(),
            pre.root_stakes(),
            U96F32::from_num(pre.chain().params.tao_weight) / U96F32::from_num(u64::MAX),
            epoch_block,
            pre.chain().params.stake_threshold,
        );
        let output = tao_yuma::epoch(&input).unwrap();
        let (expected, expected_paid) = expected_payout(&pre, &output);
        // The epoch's block (its transaction, after the epoch, restarts the emission).
        chain.ok(&key(1), registration(true));
        let events = &chain.last.as_ref().unwrap().events;
        let emission = events.iter().find_map(|e| match e {
            Event::EpochCompleted { netuid, emission } if *netuid == NET => Some(emission.get()),
            _ => None,
        });
        assert_eq!(emission, Some(expected_paid), "epoch at {epoch_block}");
        assert_eq!(
            stakes_on_net(&chain.state),
            expected,
            "stakes after the epoch at {epoch_block}"
        );
        let info = pre.subnet(NET).unwrap().info.get();
        assert!(info.pending.owner > 0 && info.pending.server > 0 && info.pending.validator > 0);
        assert_eq!(info.pending.root, 0, "root does not sell below a moving price sum of 1");
        // What the payout leaves stays minted, held by nobody: the floors, and the miners'
        // pot beyond their incentive (root stake shrinks the validators' pot below the
        // miners', and the epoch splits its emission evenly).
        let after = chain.state.subnet(NET).unwrap().info.get();
        assert_eq!(after.alpha_out, info.alpha_out, "nothing is minted or taken back");
        assert_eq!(
            after.alpha_burned.get() - info.alpha_burned.get(),
            info.pending.total() - expected_paid
        );
        assert_eq!(after.pending, tao_runtime::PendingAlpha::default());
        paid += expected_paid;
        epochs += 1;
    }
    // Every party was paid: each miner, both validators' owners, the nominator, the owner.
    let earned = [22u8, 23, 24].map(|h| stake(&chain, h, h + 20));
    assert!(earned[0] > earned[1] && earned[1] > earned[2] && earned[2] > 0, "{earned:?}");
    // Consensus follows the weights 6:3 (Yuma's clipping and rounding move it a little).
    let ratio = earned[0] as f64 / earned[1] as f64;
    assert!((ratio - 2.0).abs() < 0.1, "0.6/0.3 → 2:1, got {ratio}");
    assert!(stake(&chain, 20, 5) > 100 * TAO / 2, "the nominator holds its stake and more");
    assert!(stake(&chain, 11, 10) > 0, "the owner's cut");
    assert!(paid > 0);
    let _ = DEFAULT_FEE_RATE;
    let info = chain.state.subnet(NET).unwrap().info.get().clone();
    assert_eq!(info.miner_burned.to_bits(), 0, "no owner-hotkey miners here");
    let receipt = chain.run(&key(40), remove(20, 1, None));
    assert!(matches!(receipt.outcome, Outcome::Success | Outcome::Failed(_)));
}
