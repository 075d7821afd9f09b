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
    let mut server_left =
        pending.server.saturating_add(pending.validator).saturating_add(pending.root);
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

#[cfg(test)]
mod tests {
    //! The payout's order and rounding against the reference's `distribute_emission`, on
    //! hand-built epoch outputs; every expected value is worked out in the comments.

    use super::*;
    use crate::{
        stake::{Delegate, RootStake},
        state::PendingAlpha,
    };
    use std::collections::BTreeMap;
    use tao_primitives::{AccountId, BlockNumber, NetUid};
    use tao_types::{GenesisConfig, GenesisNeuron, GenesisSubnet};

    fn a(n: u8) -> AccountId {
        AccountId::new([n; 32])
    }

    /// A subnet: UID 0 the owner hotkey 11 (coldkey 10), UIDs 1 and 2 hotkeys 20 and 21
    /// (coldkeys 40 and 41); no stake.
    fn subnet() -> Subnet {
        let config = GenesisConfig {
            chain_name: "payout".into(),
            sudo: None,
            balances: Vec::new(),
            authorities: Vec::new(),
            subnets: vec![GenesisSubnet {
                owner_coldkey: a(10),
                owner_hotkey: a(11),
                tempo: Some(10),
                start_emission: true,
                commit_reveal: Some(false),
                neurons: [(20, 40), (21, 41)]
                    .map(|(h, c)| GenesisNeuron {
                        hotkey: a(h),
                        coldkey: a(c),
                        stake: AlphaRao::ZERO,
                    })
                    .to_vec(),
                pool_tao: None,
            }],
            network_min_lock: None,
            network_rate_limit: None,
            subnet_limit: None,
            allow_loopback_axons: false,
            governance: None,
            validators: Vec::new(),
            consensus: None,
        };
        let mut state = crate::genesis(&config).expect("genesis");
        state.subnets.remove(&NetUid::new(1)).expect("subnet 1")
    }

    fn output(server: [u64; 3], validator: [u64; 3]) -> YumaOutput {
        YumaOutput {
            active: vec![true; 3],
            stake: Vec::new(),
            active_stake: Vec::new(),
            validator_permit: Vec::new(),
            consensus: Vec::new(),
            rank: Vec::new(),
            trust: Vec::new(),
            incentive: Vec::new(),
            dividends: Vec::new(),
            validator_trust: Vec::new(),
            bonds: tao_yuma::Bonds::default(),
            server_emission: server.map(AlphaRao::new).to_vec(),
            validator_emission: validator.map(AlphaRao::new).to_vec(),
            combined_emission: Vec::new(),
        }
    }

    fn delegates(takes: &[(u8, u16)]) -> BTreeMap<AccountId, Delegate> {
        takes
            .iter()
            .map(|(h, take)| (a(*h), Delegate { take: *take, last_change: BlockNumber::GENESIS }))
            .collect()
    }

    fn root(entries: &[(u8, u8, u64)]) -> BTreeMap<AccountId, RootStake> {
        let mut map: BTreeMap<AccountId, RootStake> = BTreeMap::new();
        for (hotkey, coldkey, tao) in entries {
            let r = map.entry(a(*hotkey)).or_default();
            r.total += tao;
            r.by_coldkey.insert(a(*coldkey), *tao);
        }
        map
    }

    fn context<'a>(
        root_stakes: &'a BTreeMap<AccountId, RootStake>,
        delegates: &'a BTreeMap<AccountId, Delegate>,
    ) -> PayoutContext<'a> {
        PayoutContext {
            root_stakes,
            delegates,
            default_take: 11_796,
            tao_weight: U96F32::from_num(1) / 2,
            stake_threshold: 0,
        }
    }

    fn value(subnet: &Subnet, hotkey: u8, coldkey: u8) -> u64 {
        subnet.stakes.get().get(&a(hotkey)).map_or(0, |p| p.value(&a(coldkey)))
    }

    fn total(subnet: &Subnet, hotkey: u8) -> u64 {
        subnet.stakes.get().get(&a(hotkey)).map_or(0, |p| p.total)
    }

    /// Validators 11 (the owner hotkey) and 20 each hold 1,000 alpha and 2,000 root TAO
    /// (tao weight 1/2, so a root proportion of 1/2), takes 0; 20 also mines 100 and 21
    /// mines 300; the owner's cut is 1,000. The split reads the stakes before any payout
    /// (alpha parts 100 and 100, root parts 100 and 100 ⇒ alpha dividends 150/150 of 300,
    /// root dividends 50/50 of 100); seeing 20's miner alpha or 11's owner cut first would
    /// have tilted both. The owner cut is staked before the dividends, so it shares them.
    #[test]
    fn the_split_reads_stakes_before_any_payout_and_the_owner_cut_comes_first() {
        let mut subnet = subnet();
        {
            let stakes = subnet.stakes.make_mut();
            let owner_pool = stakes.entry(a(11)).or_default();
            owner_pool.add(a(10), 600);
            owner_pool.add(a(5), 400);
            stakes.entry(a(20)).or_default().add(a(40), 1_000);
            let info = subnet.info.make_mut();
            info.alpha_out = AlphaRao::new(2_000);
            info.pending = PendingAlpha { server: 400, validator: 300, root: 100, owner: 1_000 };
        }
        let roots = root(&[(11, 6, 2_000), (20, 7, 2_000)]);
        let takes = delegates(&[(11, 0), (20, 0)]);
        let paid = distribute(
            &mut subnet,
            &output([0, 100, 300], [200, 200, 0]),
            &context(&roots, &takes),
        );
        assert_eq!(paid, 1_800, "everything pending is paid");
        // Pool 11: 1,000 + owner cut 1,000 (shares 1,600 owner / 400 nominator) + alpha
        // dividend 150 to all (2,150) + root dividend 50 to root staker 6 (46 shares).
        assert_eq!(total(&subnet, 11), 2_200);
        assert_eq!(value(&subnet, 11, 10), 1_720, "2,200 × 1,600/2,046");
        assert_eq!(value(&subnet, 11, 5), 430, "2,200 × 400/2,046 (460 if the cut came last)");
        assert_eq!(value(&subnet, 11, 6), 49, "2,200 × 46/2,046");
        // Pool 20: 1,000 + incentive 100 + alpha dividend 150 + root dividend 50.
        assert_eq!(total(&subnet, 20), 1_300);
        assert_eq!(value(&subnet, 20, 40), 1_250);
        assert_eq!(value(&subnet, 20, 7), 50);
        assert_eq!(value(&subnet, 21, 41), 300);
        let info = subnet.info.get();
        assert_eq!((info.alpha_out.get(), info.alpha_burned.get()), (2_000, 0));
    }

    /// Two validators of equal stake share a pot of 11: 5.5 each. The take (13,107/65,535,
    /// 0.2 less a hair in U96F32) is taken on 5.5, not on floor(5.5) = 5: take
    /// floor(1.0999…) = 1 to the validator's owner, floor(4.4000…) = 4 to all its
    /// nominators; on the floored value the take would be floor(0.9999…) = 0. The two
    /// half-RAO left over stay minted and held by nobody.
    #[test]
    fn the_take_is_computed_on_the_unfloored_dividend() {
        let mut subnet = subnet();
        for hotkey in [20, 21] {
            subnet.stakes.make_mut().entry(a(hotkey)).or_default().add(a(5), 1_000);
        }
        subnet.info.make_mut().alpha_out = AlphaRao::new(2_000 + 11);
        subnet.info.make_mut().pending = PendingAlpha { validator: 11, ..Default::default() };
        let roots = root(&[]);
        let takes = delegates(&[(20, 13_107), (21, 13_107)]);
        // No incentive: the miners' (empty) pot goes to the validators too.
        let paid = distribute(&mut subnet, &output([0; 3], [0, 50, 50]), &context(&roots, &takes));
        assert_eq!(paid, 10);
        for (hotkey, owner) in [(20, 40), (21, 41)] {
            assert_eq!(total(&subnet, hotkey), 1_005);
            assert_eq!(value(&subnet, hotkey, owner), 1, "the take");
            assert_eq!(value(&subnet, hotkey, 5), 1_003, "floor(1,005 × 1,000/1,001)");
        }
        let info = subnet.info.get();
        assert_eq!((info.alpha_out.get(), info.alpha_burned.get()), (2_011, 1));
    }

    /// A root pot of 100 with no root-staked validator, and a miners' pot of 500 of which
    /// the epoch gives the miner 300 (root not selling shrinks the epoch's emission): the
    /// 100 and the 200 are paid to no one and stay in `alpha_out` (the reference), counted
    /// in `alpha_burned`.
    #[test]
    fn alpha_nobody_is_paid_stays_minted() {
        let mut subnet = subnet();
        subnet.stakes.make_mut().entry(a(20)).or_default().add(a(40), 1_000);
        subnet.info.make_mut().alpha_out = AlphaRao::new(1_000 + 800);
        subnet.info.make_mut().pending =
            PendingAlpha { server: 500, validator: 200, root: 100, owner: 0 };
        let roots = root(&[]);
        let takes = delegates(&[(20, 0)]);
        let paid =
            distribute(&mut subnet, &output([0, 0, 300], [0, 400, 0]), &context(&roots, &takes));
        assert_eq!(paid, 500);
        assert_eq!(total(&subnet, 20), 1_200);
        assert_eq!(value(&subnet, 21, 41), 300);
        let info = subnet.info.get();
        assert_eq!(info.alpha_out.get(), 1_800, "nothing is taken back off alpha out");
        assert_eq!(info.alpha_burned.get(), 300);
        assert_eq!(info.pending, PendingAlpha::default());
    }

    /// The reference vector `drain_two_validators_equal_stake` (`chain.json`, upstream
    /// `test_drain_base_with_subnet_with_two_stakers_registered`), through the epoch Yuma
    /// runs on the subnet and the payout: two validators of equal alpha stake, no weights,
    /// take 0, pending server and validator alpha. No incentive, so the miners' pot joins
    /// the validators' and both are split by stake: each stake ends at the vector's value,
    /// to the RAO (the vector allows 10; half of 10⁹ is exact in every step here).
    #[test]
    fn vector_drain_two_validators_equal_stake() {
        let dir = std::env::var("TAO_SPEC_VECTORS").unwrap_or_else(|_| {
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/spec/vectors").to_owned()
        });
        let path = format!("{dir}/chain.json");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("reading {path} (shared/ must sit beside the repo): {e}"));
        let all: serde_json::Value = serde_json::from_str(&text).expect("chain.json is JSON");
        let vector = all["vectors"]
            .as_array()
            .expect("vectors")
            .iter()
            .find(|v| v["name"] == "drain_two_validators_equal_stake")
            .expect("the vector");
        let number = |v: &serde_json::Value| v.as_u64().expect("a number");
        let inputs = &vector["inputs"];
        assert_eq!(number(&inputs["validators"]), 2);
        assert_eq!(inputs["weights"], "none");
        let stake = number(&inputs["alpha_stake_each"]);
        let take = u16::try_from(number(&inputs["take"])).expect("a u16 take");
        let pending = PendingAlpha {
            server: number(&inputs["pending_server"]),
            validator: number(&inputs["pending_validator"]),
            root: number(&inputs["pending_root"]),
            owner: 0,
        };
        let expected = number(&vector["expected"]["stake_after_each"]);

        // UIDs 1 and 2 (hotkeys 20, 21) are the validators; UID 0 is the owner hotkey,
        // without stake.
        let mut subnet = subnet();
        for (hotkey, coldkey) in [(20, 40), (21, 41)] {
            subnet.stakes.make_mut().entry(a(hotkey)).or_default().add(a(coldkey), stake);
        }
        let now = BlockNumber::new(10);
        for neuron in &mut subnet.neurons.make_mut().neurons[1..] {
            neuron.epoch.validator_permit = true;
            neuron.last_update = now;
        }
        let info = subnet.info.make_mut();
        info.alpha_out = AlphaRao::new(2 * stake + pending.total());
        info.pending = pending;
        let roots = root(&[]);
        let takes = delegates(&[(20, take), (21, take)]);
        let event =
            crate::epoch::run_epoch(NetUid::new(1), &mut subnet, now, &context(&roots, &takes));
        assert_eq!(
            event,
            tao_types::Event::EpochCompleted {
                netuid: NetUid::new(1),
                emission: AlphaRao::new(pending.total())
            },
            "all of it paid"
        );
        for (hotkey, coldkey) in [(20, 40), (21, 41)] {
            assert_eq!(total(&subnet, hotkey), expected);
            assert_eq!(value(&subnet, hotkey, coldkey), expected);
        }
        assert_eq!(total(&subnet, 11), 0);
        assert_eq!(subnet.info.get().alpha_burned.get(), 0);
    }

    /// With incentive but no dividends the epoch gives the miners the whole emission; the
    /// reference stakes incentive as the epoch gives it, not capped at the miners' pot.
    #[test]
    fn miners_are_paid_what_the_epoch_gives_them() {
        let mut subnet = subnet();
        subnet.info.make_mut().alpha_out = AlphaRao::new(800);
        subnet.info.make_mut().pending =
            PendingAlpha { server: 400, validator: 400, root: 0, owner: 0 };
        let roots = root(&[]);
        let takes = delegates(&[]);
        let paid = distribute(&mut subnet, &output([0, 0, 800], [0; 3]), &context(&roots, &takes));
        assert_eq!(paid, 800);
        assert_eq!(value(&subnet, 21, 41), 800);
        assert_eq!(subnet.info.get().alpha_burned.get(), 0);
    }
}
