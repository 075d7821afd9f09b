//! Emission every block, epochs every tempo, and what they store.

use crate::chain::*;
use tao_economics::block_emission;
use tao_primitives::{NetUid, Rao};
use tao_types::{Call, Event, GenesisBalance, GenesisSubnet, GlobalParameter};

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

#[test]
fn emission_is_minted_every_block_into_emitting_subnets() {
    let mut chain = Chain::new(config_with_subnet(100, &[10], false));
    for _ in 0..5 {
        let issuance = chain.state.total_issuance();
        let pending = chain.state.subnet(NET).unwrap().info.get().pending_emission;
        let outcome = chain.block(Vec::new());
        let expected = block_emission(issuance);
        assert_eq!(expected, Rao::new(TAO));
        assert!(outcome.events.contains(&Event::Minted { amount: expected }));
        assert_eq!(chain.state.total_issuance().get(), issuance.get() + expected.get());
        assert_eq!(
            chain.state.subnet(NET).unwrap().info.get().pending_emission.get(),
            pending.get() + expected.get()
        );
    }
}

#[test]
fn emission_halves_at_ten_and_a_half_million() {
    let mut config = config_with_subnet(100, &[10], false);
    // Just below the first halving.
    let total: u64 = config.balances.iter().map(|b| b.rao.get()).sum();
    config.balances.push(GenesisBalance {
        account: id(99),
        rao: Rao::new(10_500_000 * TAO - total - TAO / 2),
    });
    let mut chain = Chain::new(config);
    let outcome = chain.block(Vec::new());
    assert!(outcome.events.contains(&Event::Minted { amount: Rao::new(TAO) }));
    let outcome = chain.block(Vec::new());
    assert!(
        outcome.events.contains(&Event::Minted { amount: Rao::new(TAO / 2) }),
        "{:?}",
        outcome.events
    );
}

#[test]
fn emission_splits_evenly_with_the_remainder_to_the_first() {
    let mut config = config_with_subnet(100, &[10], false);
    let second = GenesisSubnet { owner_hotkey: id(12), ..config.subnets[0].clone() };
    let mut third = second.clone();
    third.owner_hotkey = id(13);
    third.neurons.clear();
    let mut second = second;
    second.neurons.clear();
    config.subnets.push(second);
    config.subnets.push(third);
    let mut chain = Chain::new(config);
    chain.block(Vec::new());
    let pending: Vec<u64> =
        chain.state.subnets().map(|(_, s)| s.info.get().pending_emission.get()).collect();
    assert_eq!(pending, vec![333_333_334, 333_333_333, 333_333_333]);
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
/// more incentive, gives both validators dividends by stake, and stores bonds and permits.
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
    chain.advance(10);
    let neurons = &chain.state.subnet(NET).unwrap().neurons.get().neurons;
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
