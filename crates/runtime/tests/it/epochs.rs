//! Emission every block, epochs every tempo, and what they store.

use crate::chain::*;
use tao_economics::block_emission;
use tao_primitives::{BlockNumber, NetUid, Rao};
use tao_types::{Call, DispatchError, Event, GenesisBalance, GlobalParameter, Hyperparameter};

fn epoch_blocks(chain: &mut Chain, blocks: u64, netuid: NetUid) -> Vec<u64> {
    let mut at = Vec::new();
    for _ in 0..blocks {
        let outcome = chain.block(Vec::new());
        if outcome
            .events
            .iter()
            .any(|e| matches!(e, Event::EpochCompleted { netuid: n, .. } if *n == netuid))
        {
            at.push(chain.state.block().get());
        }
    }
    at
}

#[test]
fn epochs_run_every_tempo_blocks() {
    let mut chain = Chain::new(config_with_subnet(7, &[10, 0], false));
    assert_eq!(epoch_blocks(&mut chain, 30, NET), vec![7, 14, 21, 28]);
}

/// The owner's `trigger_epoch`: the epoch runs `AdminFreezeWindow` (10) blocks later instead
/// of at the tempo; refused to others, twice, with commit-reveal on, or in the freeze window.
#[test]
fn the_owner_can_trigger_an_early_epoch() {
    let mut chain = Chain::new(config_with_subnet(100, &[10, 0], false));
    let owner = key(10);
    let trigger = Call::TriggerEpoch { netuid: NET };
    assert_eq!(epoch_blocks(&mut chain, 5, NET), Vec::<u64>::new());
    chain.fails(&key(3), trigger.clone(), DispatchError::NotSubnetOwner);
    let receipt = chain.ok(&owner, trigger.clone());
    let at = chain.state.block().get() + 10;
    assert_eq!(
        receipt.events,
        vec![Event::EpochTriggered { netuid: NET, at: BlockNumber::new(at) }]
    );
    chain.fails(&owner, trigger.clone(), DispatchError::EpochAlreadyPending);
    let ran = epoch_blocks(&mut chain, 20, NET);
    assert_eq!(ran.first(), Some(&at), "{ran:?}");
    // The next automatic epoch counts a tempo from the triggered one.
    assert_eq!(epoch_blocks(&mut chain, 100, NET), vec![at + 100]);
    // Inside the freeze window before the automatic epoch: refused.
    while chain.state.block().get() + 1 < at + 200 - 9 {
        chain.advance(1);
    }
    chain.fails(&owner, trigger.clone(), DispatchError::AdminActionProhibitedDuringWeightsWindow);
    // With commit-reveal on, an early epoch would reveal nothing: refused.
    let cr =
        Call::SetHyperparameter { netuid: NET, value: Hyperparameter::CommitRevealEnabled(true) };
    chain.ok(&key(1), cr);
    chain.fails(&owner, trigger, DispatchError::CommitRevealEnabled);
}

/// Every block mints at most the block emission (what the pools take), and alpha accrues
/// to the started subnet: 1 alpha per block, split into owner cut 179,995,422 and miners'
/// and validators' 410,002,288 each (no root stake, so no root part; derived in
/// `block_step.rs`), 999,999,998 RAO in all (the floors leave 2).
#[test]
fn emission_flows_into_pools_and_pending_alpha() {
    let mut chain = Chain::new(config_with_subnet(100, &[10], false));
    for _ in 0..5 {
        let issuance = chain.state.total_issuance();
        let before = chain.state.subnet(NET).unwrap().info.get().clone();
        chain.block(Vec::new());
        let after = chain.state.subnet(NET).unwrap().info.get().clone();
        let minted = chain.state.total_issuance().get() - issuance.get();
        assert!(minted <= block_emission(issuance).get());
        assert_eq!(after.pool.tao - before.pool.tao, minted, "minted TAO is in the pool");
        let accrued = after.pending.total() - before.pending.total();
        assert_eq!(accrued, 179_995_422 + 2 * 410_002_288);
        assert_eq!(chain.state.total_root_stake(), 0);
    }
    // One subnet takes the whole block emission once its moving price shows (in I96F32 that
    // takes ~16 blocks after start_call; until then no TAO is minted).
    chain.advance(20);
    let issuance = chain.state.total_issuance();
    chain.block(Vec::new());
    assert_eq!(chain.state.total_issuance().get() - issuance.get(), TAO);
}

#[test]
fn emission_halves_at_ten_and_a_half_million() {
    let mut config = config_with_subnet(100, &[10], false);
    let pool = tao_primitives::Rao::new(1_000 * TAO);
    config.subnets[0].pool_tao = Some(pool.get());
    let total: u64 = config.balances.iter().map(|b| b.rao.get()).sum::<u64>() + pool.get();
    config.balances.push(GenesisBalance {
        account: id(99),
        rao: Rao::new(10_500_000 * TAO - total - TAO / 2),
    });
    let mut chain = Chain::new(config);
    assert_eq!(block_emission(chain.state.total_issuance()), Rao::new(TAO));
    chain.advance(25);
    let issuance = chain.state.total_issuance();
    assert!(issuance.get() >= 10_500_000 * TAO);
    assert_eq!(block_emission(issuance), Rao::new(TAO / 2), "{issuance}");
    let before = chain.state.total_issuance();
    chain.block(Vec::new());
    assert_eq!(chain.state.total_issuance().get() - before.get(), TAO / 2);
}

/// Two subnets; the second's price is pushed down by a big unstake. Over the next blocks
/// each receives TAO in proportion to its moving price, to the RAO: from the spec (§3.2,
/// §3.3), with the moving prices p₁, p₂ the block starts with and no miner emission
/// burned, share_i = (p_i/(p₁+p₂)) / Σ_j (p_j/(p₁+p₂)) in U64F64, TAO emission_i =
/// U96F32(10⁹ × share_i); without root stake the injection cap is 0, so all of it buys
/// alpha for the protocol and the pool takes floor(emission_i).
#[test]
fn emission_splits_by_moving_price() {
    use substrate_fixed::types::{U64F64, U96F32};
    let mut config = config_with_subnet(1_000, &[10], false);
    let mut second = config.subnets[0].clone();
    second.owner_hotkey = id(12);
    second.neurons = vec![tao_types::GenesisNeuron {
        hotkey: id(25),
        coldkey: id(45),
        stake: tao_primitives::AlphaRao::new(100 * TAO),
    }];
    config.subnets.push(second);
    config.balances.push(GenesisBalance { account: id(45), rao: Rao::new(TAO) });
    let mut chain = Chain::new(config);
    chain.ok(
        &key(45),
        Call::RemoveStake {
            hotkey: id(25),
            netuid: NetUid::new(2),
            amount: tao_primitives::AlphaRao::new(100 * TAO),
            limit_price: None,
        },
    );
    chain.advance(400);
    let info =
        |chain: &Chain, n: u16| chain.state.subnet(NetUid::new(n)).unwrap().info.get().clone();
    let moving = |chain: &Chain, n: u16| info(chain, n).moving_price.to_num::<f64>();
    let (pa, pb) = (moving(&chain, 1), moving(&chain, 2));
    assert!(pb < pa * 0.9, "the second subnet's price fell: {pa} vs {pb}");
    assert_eq!(chain.state.total_root_stake(), 0, "no root stake: the injection cap is 0");
    let mut received = [0u64; 2];
    for _ in 0..10 {
        let before = [info(&chain, 1), info(&chain, 2)];
        let issuance = chain.state.total_issuance();
        assert!(issuance.get() < 10_500_000 * TAO, "block emission is 1 TAO");
        for b in &before {
            assert_eq!(b.miner_burned.to_bits(), 0);
        }
        let p = before.clone().map(|b| U64F64::from_num(b.moving_price));
        let price_share = p.map(|x| x / (p[0] + p[1]));
        let expected = price_share.map(|s| {
            let share = s / (price_share[0] + price_share[1]);
            U96F32::from_num(U64F64::from_num(TAO) * share).to_num::<u64>()
        });
        chain.block(Vec::new());
        for (k, n) in [1u16, 2].into_iter().enumerate() {
            let got = info(&chain, n).pool.tao - before[k].pool.tao;
            assert_eq!(got, expected[k], "subnet {n}: pool TAO");
            received[k] += got;
        }
        let minted = chain.state.total_issuance().get() - issuance.get();
        assert_eq!(minted, expected[0] + expected[1], "minted");
    }
    assert!(received[1] < received[0], "the cheaper subnet receives less: {received:?}");
}

#[test]
fn at_most_max_epochs_per_block_the_rest_deferred() {
    let mut config = config_with_subnet(5, &[10], false);
    for hot in [12, 13] {
        let mut other = config.subnets[0].clone();
        other.owner_hotkey = id(hot);
        other.neurons.clear();
        config.subnets.push(other);
    }
    let mut chain = Chain::new(config);
    chain.ok(&key(1), Call::SetGlobalParameter { value: GlobalParameter::MaxEpochsPerBlock(2) });
    chain.advance(3);
    let outcome = chain.block(Vec::new());
    assert_eq!(chain.state.block().get(), 5);
    let completed =
        outcome.events.iter().filter(|e| matches!(e, Event::EpochCompleted { .. })).count();
    assert_eq!(completed, 2);
    assert!(outcome.events.contains(&Event::EpochDeferred { netuid: NetUid::new(3) }));
    let outcome = chain.block(Vec::new());
    assert!(outcome
        .events
        .iter()
        .any(|e| matches!(e, Event::EpochCompleted { netuid, .. } if *netuid == NetUid::new(3))));
}

/// Validators (stakes 1000 and 500) score two miners 3:1; the epoch pays the better miner
/// more incentive, gives both validators dividends by stake, and stores bonds and permits:
/// every stored output is Yuma's on the state the epoch saw (the block before, plus the
/// block's own pending alpha, 410,002,288 RAO each for miners and validators, derived in
/// `block_step.rs`), to the unit.
#[test]
fn an_epoch_stores_what_yuma_decided() {
    let mut chain = Chain::new(config_with_subnet(10, &[1_000, 500, 0, 0], false));
    chain.advance(10); // first epoch hands out permits
    for validator in [20, 21] {
        chain.ok(
            &key(validator),
            Call::SetWeights { netuid: NET, uids: vec![3, 4], values: vec![3, 1], version_key: 0 },
        );
    }
    let due = |chain: &Chain| {
        let next = chain.state.block().next().unwrap();
        tao_runtime::epoch::should_run_epoch(chain.state.subnet(NET).unwrap().info.get(), next)
    };
    while !due(&chain) {
        chain.advance(1);
    }
    let pre = chain.state.clone();
    let now = pre.block().next().unwrap();
    let weight = substrate_fixed::types::U96F32::from_num(pre.chain().params.tao_weight)
        / substrate_fixed::types::U96F32::from_num(u64::MAX);
    assert_eq!(pre.total_root_stake(), 0);
    let mut input = tao_runtime::epoch::epoch_input(
        pre.subnet(NET).unwrap(),
        pre.root_stakes(),
        weight,
        now,
        pre.chain().params.stake_threshold,
    );
    input.emission = tao_primitives::AlphaRao::new(input.emission.get() + 2 * 410_002_288);
    let out = tao_yuma::epoch(&input).unwrap();
    chain.advance(1);
    let neurons = &chain.state.subnet(NET).unwrap().neurons.get().neurons;
    assert_eq!(neurons.len(), out.incentive.len());
    assert_eq!(neurons.len(), 5);
    let u16s = tao_yuma::to_u16;
    let (consensus, incentive, dividends) =
        (u16s(&out.consensus), u16s(&out.incentive), u16s(&out.dividends));
    let (trust, stake, bonds) = (u16s(&out.validator_trust), u16s(&out.stake), out.bonds_u16());
    for (uid, neuron) in neurons.iter().enumerate() {
        let e = &neuron.epoch;
        assert_eq!(e.active, out.active[uid], "uid {uid}");
        assert_eq!(e.validator_permit, out.validator_permit[uid], "uid {uid}");
        assert_eq!(
            (e.consensus, e.incentive, e.dividends, e.validator_trust, e.stake_weight),
            (consensus[uid], incentive[uid], dividends[uid], trust[uid], stake[uid]),
            "uid {uid}"
        );
        assert_eq!(e.emission, out.combined_emission[uid].get(), "uid {uid}");
        assert_eq!(neuron.bonds, bonds[uid], "uid {uid}");
    }
    // And what that means here.
    let (miner_a, miner_b) = (&neurons[3].epoch, &neurons[4].epoch);
    assert!(miner_a.incentive > 3 * miner_b.incentive / 2, "{miner_a:?} vs {miner_b:?}");
    assert!(miner_b.incentive > 0);
    assert!(u32::from(miner_a.incentive) + u32::from(miner_b.incentive) >= 65_530);
    let (v1, v2) = (&neurons[1].epoch, &neurons[2].epoch);
    assert!(v1.dividends > v2.dividends && v2.dividends > 0, "{v1:?} {v2:?}");
    assert!(v1.validator_permit && v1.active && v1.validator_trust > 60_000);
    assert!(!neurons[1].bonds.is_empty(), "validators hold bonds");
    assert!(neurons[3].bonds.is_empty(), "miners hold none");
    assert!(neurons[3].epoch.emission > 0, "emission recorded for pruning");
}
