//! Genesis, subnet creation and lock cost, start of emission, hyperparameters, dissolution.

use crate::chain::*;
use tao_primitives::{BlockNumber, NetUid, Rao};
use tao_runtime::{
    genesis,
    subnets::{lock_cost, OWNER_TEMPO_RATE_LIMIT},
    GenesisError,
};
use tao_types::{
    Call, DispatchError, Event, GenesisBalance, GlobalParameter, Hyperparameter, Outcome, Setter,
};

#[test]
fn genesis_sets_balances_and_rejects_bad_configs() {
    let chain = Chain::standard();
    assert_eq!(chain.state.total_issuance(), Rao::new(50_000 * TAO));
    assert_eq!(chain.free(1), Rao::new(10_000 * TAO));

    let mut other = config();
    other.chain_name = "another".into();
    assert_ne!(genesis(&other).unwrap().genesis_hash(), chain.state.genesis_hash());
    // The consensus authorities are part of the chain's identity, in any order or case.
    let mut validators = config();
    validators.authorities = vec!["0xAB".into(), "0x01".into()];
    let with = genesis(&validators).unwrap().genesis_hash();
    assert_ne!(with, chain.state.genesis_hash());
    validators.authorities = vec!["0x01".into(), "0xab".into()];
    assert_eq!(genesis(&validators).unwrap().genesis_hash(), with);
    validators.authorities = vec!["0x01".into(), "0xac".into()];
    assert_ne!(genesis(&validators).unwrap().genesis_hash(), with);

    let mut duplicate = config();
    duplicate.balances.push(GenesisBalance { account: id(1), rao: Rao::new(1) });
    assert_eq!(genesis(&duplicate).unwrap_err(), GenesisError::DuplicateBalance(id(1)));

    let mut huge = config();
    huge.balances.push(GenesisBalance { account: id(9), rao: Rao::new(21_000_000 * TAO) });
    assert_eq!(genesis(&huge).unwrap_err(), GenesisError::IssuanceTooLarge);

    let with_subnet = Chain::new(config_with_subnet(10, &[5, 6], true));
    let subnet = with_subnet.state.subnet(NET).unwrap();
    assert_eq!(subnet.neurons.get().neurons.len(), 3, "owner plus two neurons");
    assert_eq!(with_subnet.state.hotkey_owner(&id(21)), Some(id(41)));
}

#[test]
fn register_network_locks_the_doubling_lock_cost() {
    let mut chain = Chain::standard();
    assert_eq!(lock_cost(&chain.state), Rao::new(100 * TAO), "the minimum before any registration");
    let before = chain.free(2);
    let receipt = chain.ok(&key(2), Call::RegisterNetwork { hotkey: id(12) });
    assert!(
        matches!(receipt.events[..], [Event::NetworkAdded { netuid, lock, .. }] if netuid == NET && lock == Rao::new(100 * TAO))
    );
    assert_eq!(chain.free(2).get(), before.get() - 100 * TAO - receipt.fee.get());
    let subnet = chain.state.subnet(NET).unwrap();
    assert_eq!(subnet.info.get().owner_coldkey, id(2));
    assert_eq!(subnet.neurons.get().neurons[0].hotkey, id(12), "the owner hotkey is UID 0");
    // Next registration costs double, decaying back linearly.
    let doubled = lock_cost(&chain.state);
    assert!(doubled.get() > 199 * TAO && doubled.get() <= 200 * TAO, "{doubled}");
    chain.ok(&key(3), Call::RegisterNetwork { hotkey: id(13) });
    assert_eq!(chain.state.subnet(NetUid::new(2)).unwrap().info.get().owner_coldkey, id(3));
}

#[test]
fn register_network_rejections() {
    let mut chain = Chain::standard();
    chain.ok(&key(2), Call::RegisterNetwork { hotkey: id(12) });
    // The hotkey belongs to key 2 now.
    chain.fails(
        &key(3),
        Call::RegisterNetwork { hotkey: id(12) },
        DispatchError::NonAssociatedColdKey,
    );
    chain.ok(&key(1), Call::SetGlobalParameter { value: GlobalParameter::NetworkRateLimit(100) });
    chain.fails(
        &key(3),
        Call::RegisterNetwork { hotkey: id(13) },
        DispatchError::NetworkTxRateLimitExceeded,
    );
    chain.ok(&key(1), Call::SetGlobalParameter { value: GlobalParameter::NetworkRateLimit(0) });
    chain.ok(
        &key(1),
        Call::SetGlobalParameter {
            value: GlobalParameter::NetworkMinLockCost(Rao::new(50_000 * TAO)),
        },
    );
    chain.fails(
        &key(3),
        Call::RegisterNetwork { hotkey: id(13) },
        DispatchError::InsufficientBalance,
    );
}

#[test]
fn a_full_chain_prunes_its_cheapest_unprotected_subnet() {
    let mut chain = Chain::standard();
    chain.ok(&key(1), Call::SetGlobalParameter { value: GlobalParameter::SubnetLimit(2) });
    chain.ok(&key(2), Call::RegisterNetwork { hotkey: id(12) });
    chain.ok(&key(3), Call::RegisterNetwork { hotkey: id(13) });
    chain.fails(
        &key(4),
        Call::RegisterNetwork { hotkey: id(14) },
        DispatchError::SubnetLimitReached,
    );
    chain
        .ok(&key(1), Call::SetGlobalParameter { value: GlobalParameter::NetworkImmunityPeriod(0) });
    // Equal moving prices (neither has started): the earliest registered gives way.
    let receipt = chain.ok(&key(4), Call::RegisterNetwork { hotkey: id(14) });
    assert!(matches!(receipt.events[0], Event::NetworkRemoved { netuid, .. } if netuid == NET));
    assert_eq!(
        chain.state.subnet(NET).unwrap().info.get().owner_coldkey,
        id(4),
        "netuid 1 is reused"
    );
    // Now netuid 2 (older) is started and its moving price rises above netuid 1's (newer,
    // not started): the newer, cheaper one is pruned, not the older, more valuable one.
    let second = NetUid::new(2);
    chain.ok(&key(3), Call::StartCall { netuid: second });
    chain.advance(40);
    let price = |chain: &Chain, n: NetUid| chain.state.subnet(n).unwrap().info.get().moving_price;
    assert!(price(&chain, second) > price(&chain, NET), "the started subnet's price moved");
    let receipt = chain.ok(&key(5), Call::RegisterNetwork { hotkey: id(15) });
    assert!(
        matches!(receipt.events[0], Event::NetworkRemoved { netuid, .. } if netuid == NET),
        "{:?}",
        receipt.events
    );
    assert_eq!(chain.state.subnet(second).unwrap().info.get().owner_coldkey, id(3));
    assert_eq!(chain.state.subnet(NET).unwrap().info.get().owner_coldkey, id(5));
}

#[test]
fn start_call_starts_emission_once() {
    let mut chain = Chain::standard();
    chain.ok(&key(2), Call::RegisterNetwork { hotkey: id(12) });
    chain.fails(&key(3), Call::StartCall { netuid: NET }, DispatchError::NotSubnetOwner);
    chain.fails(
        &key(2),
        Call::StartCall { netuid: NetUid::new(9) },
        DispatchError::SubnetNotExists,
    );
    let minted_before = chain.state.chain().total_minted;
    chain.advance(3);
    assert_eq!(chain.state.chain().total_minted, minted_before, "no emission before start_call");
    chain.ok(&key(2), Call::StartCall { netuid: NET });
    chain.fails(
        &key(2),
        Call::StartCall { netuid: NET },
        DispatchError::FirstEmissionBlockNumberAlreadySet,
    );
    // The moving price needs ~16 blocks to show in I96F32; until then no TAO is emitted.
    chain.advance(20);
    let info = chain.state.subnet(NET).unwrap().info.get();
    assert!(info.pending.total() > 0, "alpha accrues once started");
    assert!(
        chain.state.chain().total_minted.get() > minted_before.get(),
        "TAO flows into the pool"
    );

    chain.ok(&key(1), Call::SetGlobalParameter { value: GlobalParameter::StartCallDelay(1_000) });
    chain.ok(&key(3), Call::RegisterNetwork { hotkey: id(13) });
    chain.fails(
        &key(3),
        Call::StartCall { netuid: NetUid::new(2) },
        DispatchError::NeedWaitingMoreBlocksToStarCall,
    );
}

#[test]
fn hyperparameters_follow_permissions_bounds_and_rate_limits() {
    let mut chain = Chain::standard();
    chain.ok(&key(2), Call::RegisterNetwork { hotkey: id(12) });
    let set = |v| Call::SetHyperparameter { netuid: NET, value: v };
    // Keep away from the freeze window before the first epoch.
    chain.ok(&key(1), set(Hyperparameter::Tempo(1_000)));

    chain.ok(&key(2), set(Hyperparameter::ImmunityPeriod(77)));
    let last = chain.state.block();
    assert_eq!(chain.state.subnet(NET).unwrap().info.get().params.immunity_period, 77);
    // The refusal names when the change becomes possible: 2 tempos (of 1,000) after it.
    let next = BlockNumber::new(last.get() + 2 * 1_000);
    let refused = DispatchError::TxRateLimitExceeded { last, next };
    assert_eq!(refused.retry_at(), Some(next));
    chain.fails(&key(2), set(Hyperparameter::ImmunityPeriod(78)), refused);
    chain.fails(&key(3), set(Hyperparameter::BondsPenalty(5)), DispatchError::NotSubnetOwner);
    chain.fails(&key(2), set(Hyperparameter::Kappa(5)), DispatchError::BadOrigin);
    chain.fails(
        &key(2),
        set(Hyperparameter::BondsMovingAverage(980_000)),
        DispatchError::InvalidValue,
    );
    chain.fails(&key(2), set(Hyperparameter::Tempo(100)), DispatchError::InvalidValue);
    chain.fails(
        &key(2),
        set(Hyperparameter::ActivityCutoffFactor(999)),
        DispatchError::InvalidValue,
    );
    chain.fails(
        &key(2),
        set(Hyperparameter::AlphaValues { low: 2_000, high: 3_000 }),
        DispatchError::LiquidAlphaDisabled,
    );
    chain.fails(
        &key(2),
        set(Hyperparameter::MaxBurn(Rao::new(TAO / 20))),
        DispatchError::InvalidValue,
    );
    chain.fails(&key(2), set(Hyperparameter::BurnHalfLife(0)), DispatchError::InvalidValue);
    chain.fails(
        &key(2),
        set(Hyperparameter::AlphaSigmoidSteepness(-5)),
        DispatchError::InvalidValue,
    );
    chain.fails(
        &key(1),
        set(Hyperparameter::MaxAllowedUids(0)),
        DispatchError::MaxAllowedUidsLessThanCurrentUids,
    );
    chain.fails(&key(1), set(Hyperparameter::MaxAllowedUids(300)), DispatchError::InvalidValue);
    chain.fails(
        &key(2),
        Call::SetHyperparameter { netuid: NetUid::new(5), value: Hyperparameter::Rho(1) },
        DispatchError::SubnetNotExists,
    );

    // Root bypasses rate limits and owner bounds.
    chain.ok(&key(1), set(Hyperparameter::ImmunityPeriod(79)));
    chain.ok(&key(1), set(Hyperparameter::BondsMovingAverage(990_000)));
    chain.ok(&key(1), set(Hyperparameter::Kappa(40_000)));
    let params = &chain.state.subnet(NET).unwrap().info.get().params;
    assert_eq!(
        (params.immunity_period, params.bonds_moving_average, params.kappa),
        (79, 990_000, 40_000)
    );

    chain.ok(&key(2), set(Hyperparameter::LiquidAlphaEnabled(true)));
    chain.fails(
        &key(2),
        set(Hyperparameter::AlphaValues { low: 1_000, high: 3_000 }),
        DispatchError::InvalidValue,
    );
    chain.ok(&key(2), set(Hyperparameter::AlphaValues { low: 2_000, high: 3_000 }));
    chain.ok(&key(2), set(Hyperparameter::BurnHalfLife(10)));
    assert_ne!(
        chain.state.subnet(NET).unwrap().info.get().burn_decay_q32,
        tao_economics::decay_factor_q32(360)
    );

    chain.fails(
        &key(2),
        Call::SetGlobalParameter { value: GlobalParameter::SubnetLimit(5) },
        DispatchError::BadOrigin,
    );
}

#[test]
fn owners_are_frozen_just_before_an_epoch() {
    let mut chain = Chain::standard();
    chain.ok(&key(2), Call::RegisterNetwork { hotkey: id(12) });
    let info = chain.state.subnet(NET).unwrap().info.get().clone();
    let next_epoch = info.last_epoch_block.get() + u64::from(info.params.tempo);
    let now = chain.state.block().get();
    chain.advance(next_epoch - now - 5);
    chain.fails(
        &key(2),
        Call::SetHyperparameter { netuid: NET, value: Hyperparameter::Rho(3) },
        DispatchError::AdminActionProhibitedDuringWeightsWindow,
    );
    // Root is not frozen, except for the tempo (it moves the next epoch).
    chain.ok(&key(1), Call::SetHyperparameter { netuid: NET, value: Hyperparameter::Rho(3) });
    chain.fails(
        &key(1),
        Call::SetHyperparameter { netuid: NET, value: Hyperparameter::Tempo(500) },
        DispatchError::AdminActionProhibitedDuringWeightsWindow,
    );
}

/// Tempo changes (owner or root) restart the epoch clock; an owner may change the tempo
/// once per 360 blocks, whatever the tempo; tempo 0 (no epochs) freezes no one.
#[test]
fn tempo_changes_restart_the_epoch_clock_and_tempo_zero_freezes_no_one() {
    let mut chain = Chain::standard();
    chain.ok(&key(2), Call::RegisterNetwork { hotkey: id(12) });
    let tempo =
        |value| Call::SetHyperparameter { netuid: NET, value: Hyperparameter::Tempo(value) };
    let last_epoch = |chain: &Chain| chain.state.subnet(NET).unwrap().info.get().last_epoch_block;
    chain.ok(&key(1), tempo(1_000));
    assert_eq!(last_epoch(&chain), chain.state.block(), "root's change restarts the clock");
    chain.ok(&key(2), tempo(2_000));
    let changed = chain.state.block();
    assert_eq!(last_epoch(&chain), changed, "the owner's change restarts the clock");
    chain.advance(100);
    // 2 × tempo would be 4,000 blocks; the tempo's own limit is 360.
    while chain.state.block().get() + 1 - changed.get() < OWNER_TEMPO_RATE_LIMIT {
        let next = BlockNumber::new(changed.get() + OWNER_TEMPO_RATE_LIMIT);
        chain.fails(
            &key(2),
            tempo(3_000),
            DispatchError::TxRateLimitExceeded { last: changed, next },
        );
        chain.advance(60);
    }
    while chain.state.block().get() + 1 - changed.get() < OWNER_TEMPO_RATE_LIMIT {
        chain.advance(1);
    }
    chain.ok(&key(2), tempo(3_000));
    // Tempo 0: no epoch comes, and the owner is never frozen.
    chain.ok(&key(1), tempo(0));
    chain.advance(5);
    chain.ok(&key(2), Call::SetHyperparameter { netuid: NET, value: Hyperparameter::Rho(7) });
}

/// Dissolution pays the pool's TAO to the alpha holders pro rata, the protocol's alpha (the
/// pool's reserve and what it bought) counting as a holder whose part is burned: each gets
/// floor(pot × alpha / Σ alpha), and the RAO the floors leave go one each to the largest
/// remainders. Worked out here on the state the transaction sees (after its block's step).
#[test]
fn dissolve_pays_the_pool_to_alpha_holders() {
    let mut chain = Chain::standard();
    chain.ok(&key(2), Call::RegisterNetwork { hotkey: id(12) });
    chain.ok(&key(2), Call::StartCall { netuid: NET });
    chain.advance(2);
    chain.ok(
        &key(3),
        Call::AddStake {
            hotkey: id(12),
            netuid: NET,
            amount: Rao::new(50 * TAO),
            limit_price: None,
        },
    );
    chain.fails(&key(2), Call::DissolveNetwork { netuid: NET }, DispatchError::BadOrigin);

    // The state the dissolution sees, and what it must pay.
    let number = chain.state.block().next().unwrap();
    let context = tao_runtime::BlockContext {
        number,
        parent_hash: block_hash(BlockNumber::new(number.get() - 1)),
        credit: None,
    };
    let mut stepped = chain.state.clone();
    let seen = tao_runtime::BlockBuilder::begin(&mut stepped, &context).unwrap().state().clone();
    let subnet = seen.subnet(NET).unwrap();
    let info = subnet.info.get();
    let mut holders: Vec<(Option<tao_primitives::AccountId>, u128)> = Vec::new();
    for pool in subnet.stakes.get().values() {
        for coldkey in pool.coldkeys() {
            holders.push((Some(*coldkey), u128::from(pool.value(coldkey))));
        }
    }
    holders.push((None, u128::from(info.pool.alpha + info.protocol_alpha.get())));
    let total: u128 = holders.iter().map(|(_, a)| a).sum();
    let pot = u128::from(info.pool.tao);
    let mut portions: Vec<(u128, u128)> =
        holders.iter().map(|(_, a)| (pot * a / total, pot * a % total)).collect();
    let leftover = pot - portions.iter().map(|(p, _)| p).sum::<u128>();
    assert!(leftover < holders.len() as u128);
    let mut by_remainder: Vec<usize> = (0..portions.len()).collect();
    by_remainder.sort_by(|a, b| portions[*b].1.cmp(&portions[*a].1).then(a.cmp(b)));
    for k in by_remainder.into_iter().take(leftover as usize) {
        portions[k].0 += 1;
    }
    let staker = holders.iter().position(|(c, _)| *c == Some(id(3))).unwrap();
    let expected_staker = u64::try_from(portions[staker].0).unwrap();
    let expected_refund: u128 =
        holders.iter().zip(&portions).filter(|((c, _), _)| c.is_some()).map(|(_, (p, _))| p).sum();
    assert!(expected_staker > 0 && holders.len() >= 2, "{holders:?}");

    let staker_before = chain.free(3);
    let issuance_before = seen.total_issuance();
    let receipt = chain.ok(&key(1), Call::DissolveNetwork { netuid: NET });
    let refund = match receipt.events[0] {
        Event::NetworkRemoved { refund, .. } => refund,
        ref other => panic!("{other:?}"),
    };
    assert_eq!(u128::from(refund.get()), expected_refund);
    assert_eq!(chain.free(3).get() - staker_before.get(), expected_staker);
    // The protocol's part leaves circulation (and the root key's fee).
    assert_eq!(
        u128::from(issuance_before.get() - chain.state.total_issuance().get()),
        pot - expected_refund + u128::from(receipt.fee.get())
    );
    assert!(chain.state.subnet(NET).is_none());
    let receipt = chain.run(&key(1), Call::DissolveNetwork { netuid: NET });
    assert_eq!(receipt.outcome, Outcome::Failed(DispatchError::SubnetNotExists));
}

/// The subnet limit works at 1024: register that many subnets and run blocks over them.
#[test]
fn a_thousand_and_twenty_four_subnets() {
    let mut config = config();
    config.balances = vec![GenesisBalance { account: id(1), rao: Rao::new(10_000_000 * TAO) }];
    config.network_min_lock = Some(TAO);
    let mut chain = Chain::new(config);
    chain.ok(&key(1), Call::SetGlobalParameter { value: GlobalParameter::SubnetLimit(1024) });
    chain.ok(
        &key(1),
        Call::SetGlobalParameter { value: GlobalParameter::NetworkLockReductionInterval(1) },
    );
    // One per block: within a block the lock cost doubles with every registration.
    for n in 0..1024u32 {
        let mut seed = [0xAAu8; 32];
        seed[..4].copy_from_slice(&n.to_le_bytes());
        let hotkey = tao_types::Keypair::from_seed(&seed).account();
        let receipt = chain.run(&key(1), Call::RegisterNetwork { hotkey });
        assert_eq!(receipt.outcome, Outcome::Success, "subnet {n}");
    }
    assert_eq!(chain.state.subnets().count(), 1024);
    assert_eq!(chain.state.subnets().last().map(|(n, _)| n.get()), Some(1024));
    chain.advance(3);
}

/// A genesis config as a node operator writes it, in JSON.
#[test]
fn genesis_from_json() {
    let alice = id(1).to_ss58();
    let bob = id(2).to_ss58();
    let text = format!(
        r#"{{"chain_name": "tao-local", "sudo": "{alice}",
            "balances": [{{"account": "{alice}", "rao": 1000000000000}}, {{"account": "{bob}", "rao": 5}}],
            "authorities": ["00"],
            "subnets": [{{"owner_coldkey": "{alice}", "owner_hotkey": "{bob}", "tempo": 10, "start_emission": true,
                          "neurons": [{{"hotkey": "{}", "coldkey": "{alice}", "stake": 100}}]}}],
            "subnet_limit": 1024, "allow_loopback_axons": true}}"#,
        id(3).to_ss58()
    );
    let config: tao_types::GenesisConfig = serde_json::from_str(&text).unwrap();
    let state = genesis(&config).unwrap();
    // Balances plus the genesis subnet's pool (the default minimum lock, 1000 TAO).
    assert_eq!(state.total_issuance(), Rao::new(2_000_000_000_005));
    assert_eq!(state.chain().params.subnet_limit, 1024);
    assert!(state.chain().params.allow_loopback_axons);
    let subnet = state.subnet(NET).unwrap();
    assert_eq!(subnet.info.get().params.tempo, 10);
    assert_eq!(state.stake_of(NET, &id(3), &id(1)), tao_primitives::AlphaRao::new(100));
    assert_eq!(state.hotkey_owner(&id(2)), Some(id(1)));
}

/// `Hyperparameter::bounds` (what `tao subnets hyperparameters` shows) holds against the
/// runtime's checks: who may set each parameter, and each stated range's edges.
#[test]
fn the_stated_bounds_of_hyperparameters_hold() {
    let mut chain = Chain::standard();
    chain.ok(&key(2), Call::RegisterNetwork { hotkey: id(12) });
    let set = |v| Call::SetHyperparameter { netuid: NET, value: v };
    chain.ok(&key(1), set(Hyperparameter::Tempo(1_000)));
    for name in Hyperparameter::NAMES {
        let (owner, root) = Hyperparameter::bounds(name).expect("every parameter has bounds");
        assert!(!root.is_empty() && root != "-", "{name}: root may set every parameter");
        let value = ["1", "true", "2000,3000", "3"]
            .iter()
            .find_map(|sample| Hyperparameter::parse(name, sample).ok())
            .unwrap_or_else(|| panic!("{name} parses"));
        assert_eq!(owner == "-", value.setter() == Setter::Root, "{name}: owner bounds {owner}");
    }
    let parse = |name: &str, value: &str| set(Hyperparameter::parse(name, value).unwrap());
    // Owner: one past the edge is refused, the edge accepted (each parameter once, so no
    // rate limit; the tempo last, as it moves the epoch clock).
    for (name, bad, good) in [
        ("activity_cutoff_factor", "999", "1000"),
        ("burn_half_life", "36101", "36100"),
        ("commit_reveal_period", "101", "100"),
        ("immune_owner_uids_limit", "11", "10"),
        ("bonds_moving_avg", "975001", "975000"),
        ("alpha_sigmoid_steepness", "-1", "0"),
        ("tempo", "50401", "360"),
    ] {
        chain.fails(&key(2), parse(name, bad), DispatchError::InvalidValue);
        chain.ok(&key(2), parse(name, good));
    }
    // Root.
    for (name, bad, good) in [
        ("bonds_moving_avg", "1000001", "1000000"),
        ("fee_rate", "10001", "10000"),
        ("difficulty", "0", "1"),
        ("alpha_sigmoid_steepness", "-5", "-5"),
    ] {
        if bad != good {
            chain.fails(&key(1), parse(name, bad), DispatchError::InvalidValue);
        }
        chain.ok(&key(1), parse(name, good));
    }
}

/// Dissolution hands the RAO the floors leave to the largest remainders, as the
/// reference's `destroy_alpha_in_out_stakes` does. A 1,000-TAO pot over stakes of 3, 5 and
/// 7 alpha and the protocol's 1,000 pool alpha (1,015 in all): floors 2,955,665,024,
/// 4,926,108,374, 6,896,551,724 and 985,221,674,876 (remainders 640e9, 390e9, 140e9,
/// 860e9 of 1,015e9); 2 RAO are left, one to the protocol (recycled) and one to the first
/// staker.
#[test]
fn dissolve_hands_leftover_rao_to_the_largest_remainders() {
    let mut config = config_with_subnet(100, &[3 * TAO, 5 * TAO, 7 * TAO], false);
    config.subnets[0].start_emission = false;
    config.subnets[0].pool_tao = Some(1_000 * TAO);
    let mut chain = Chain::new(config);
    let pool = chain.state.subnet(NET).unwrap().info.get().pool;
    assert_eq!((pool.tao, pool.alpha), (1_000 * TAO, 1_000 * TAO), "the protocol holds 1,000");
    let issuance = chain.state.total_issuance().get();
    let receipt = chain.ok(&key(1), Call::DissolveNetwork { netuid: NET });
    let paid = [2_955_665_025, 4_926_108_374, 6_896_551_724];
    assert_eq!(
        receipt.events,
        vec![Event::NetworkRemoved { netuid: NET, refund: Rao::new(paid.iter().sum()) }]
    );
    for (coldkey, want) in [40u8, 41, 42].into_iter().zip(paid) {
        assert_eq!(chain.free(coldkey).get(), want, "coldkey {coldkey}");
    }
    // The protocol's 985,221,674,877 is recycled, and so is the fee.
    assert_eq!(chain.state.total_issuance().get(), issuance - 985_221_674_877 - receipt.fee.get());
}
