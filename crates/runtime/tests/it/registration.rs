//! Neuron registration by burn and by proof of work, replacement when full, and serving.

use crate::chain::*;
use tao_primitives::{BlockNumber, NetUid, Rao, Uid};
use tao_runtime::neurons::{pow_seal, seal_meets_difficulty};
use tao_types::{
    AxonInfo, Call, DispatchError, Event, Hyperparameter, InvalidTransaction, IpType, Outcome,
};

fn subnet_chain() -> Chain {
    let mut chain = Chain::standard();
    chain.ok(&key(2), Call::RegisterNetwork { hotkey: id(12) });
    chain
}

fn register(hotkey: u8) -> Call {
    Call::BurnedRegister { netuid: NET, hotkey: id(hotkey), limit_price: None }
}

fn burn(chain: &Chain) -> Rao {
    chain.state.subnet(NET).unwrap().info.get().burn
}

#[test]
fn burned_registration_burns_the_price_and_bumps_it() {
    let mut chain = subnet_chain();
    let price = burn(&chain);
    let issuance = chain.state.total_issuance();
    let before = chain.free(3);
    let receipt = chain.ok(&key(3), register(30));
    // The price decays one block at the start of the block that registers.
    let cost = match receipt.events[..] {
        [Event::NeuronRegistered { uid, cost, replaced: None, .. }] if uid == Uid::new(1) => cost,
        ref other => panic!("{other:?}"),
    };
    assert!(cost <= price && cost.get() >= price.get() * 99 / 100, "{price} → {cost}");
    let price = cost;
    assert_eq!(chain.free(3).get(), before.get() - price.get() - receipt.fee.get());
    // The price entered the pool (buying alpha that was destroyed); only the swap fee and
    // the transaction fee left circulation.
    let minted = chain.state.chain().total_minted.get();
    let swap_fee = tao_economics::pool::fee_of(price.get(), tao_economics::pool::DEFAULT_FEE_RATE);
    assert_eq!(
        chain.state.total_issuance().get(),
        issuance.get() + minted - swap_fee - receipt.fee.get()
    );
    assert_eq!(chain.state.hotkey_owner(&id(30)), Some(id(3)));
    // ×1.26 on registration (then one block of decay at the next block's start).
    let bumped = burn(&chain).get();
    assert!(
        bumped > price.get() * 125 / 100 && bumped <= price.get() * 126 / 100,
        "{price} → {bumped}"
    );
    let neuron = &chain.state.subnet(NET).unwrap().neurons.get().neurons[1];
    assert_eq!(neuron.block_at_registration, chain.state.block());
}

#[test]
fn burned_registration_rejections() {
    let mut chain = subnet_chain();
    chain.ok(&key(3), register(30));
    chain.fails(&key(3), register(30), DispatchError::HotKeyAlreadyRegisteredInSubNet);
    chain.fails(&key(4), register(30), DispatchError::HotKeyAlreadyRegisteredInSubNet);
    chain.fails(
        &key(4),
        Call::BurnedRegister { netuid: NetUid::ROOT, hotkey: id(31), limit_price: None },
        DispatchError::RegistrationNotPermittedOnRootSubnet,
    );
    chain.fails(
        &key(4),
        Call::BurnedRegister { netuid: NetUid::new(7), hotkey: id(31), limit_price: None },
        DispatchError::SubnetNotExists,
    );
    chain.fails(
        &key(4),
        Call::BurnedRegister { netuid: NET, hotkey: id(31), limit_price: Some(Rao::new(1)) },
        DispatchError::RegistrationPriceLimitExceeded,
    );
    chain.ok(&key(1), Call::Transfer { dest: id(78), amount: Rao::new(TAO / 100) });
    chain.fails(&key(78), register(31), DispatchError::InsufficientBalance);
    // Key 3 owns hotkey 30's key pair; key 4 cannot register a hotkey key 3 owns elsewhere.
    chain.ok(&key(2), Call::RegisterNetwork { hotkey: id(32) });
    chain.fails(
        &key(4),
        Call::BurnedRegister { netuid: NetUid::new(2), hotkey: id(30), limit_price: None },
        DispatchError::NonAssociatedColdKey,
    );
    chain.ok(
        &key(1),
        Call::SetHyperparameter { netuid: NET, value: Hyperparameter::RegistrationAllowed(false) },
    );
    chain.fails(&key(4), register(31), DispatchError::SubNetRegistrationDisabled);
}

fn shrink(chain: &mut Chain, max_uids: u16) {
    let set = |v| Call::SetHyperparameter { netuid: NET, value: v };
    chain.ok(&key(1), set(Hyperparameter::MinAllowedUids(1)));
    chain.ok(&key(1), set(Hyperparameter::MaxAllowedUids(max_uids)));
    chain.ok(&key(1), set(Hyperparameter::MinNonImmuneUids(0)));
}

fn replaced_by(chain: &mut Chain, hotkey: u8) -> (Uid, tao_primitives::AccountId) {
    let receipt = chain.ok(&key(3), register(hotkey));
    match receipt.events[..] {
        [Event::NeuronRegistered { uid, replaced: Some(old), .. }] => (uid, old),
        ref other => panic!("{other:?}"),
    }
}

#[test]
fn a_full_subnet_replaces_its_weakest_neuron_sparing_the_immune() {
    let mut chain = subnet_chain();
    shrink(&mut chain, 3);
    chain.ok(
        &key(1),
        Call::SetHyperparameter { netuid: NET, value: Hyperparameter::ImmunityPeriod(5) },
    );
    chain.ok(&key(3), register(30));
    chain.ok(&key(3), register(31));
    chain.advance(5);
    // Both non-immune, equal (zero) emission: the earliest registered goes.
    assert_eq!(replaced_by(&mut chain, 33), (Uid::new(1), id(30)));
    // 33 is immune now: the older but non-immune 31 goes instead.
    assert_eq!(replaced_by(&mut chain, 34), (Uid::new(2), id(31)));
    // No non-immune neuron left: the best immune one (earliest) goes.
    assert_eq!(replaced_by(&mut chain, 35), (Uid::new(1), id(33)));
    let table = chain.state.subnet(NET).unwrap().neurons.get();
    assert_eq!(table.neurons[1].hotkey, id(35));
    assert!(!table.uids.contains_key(&id(33)));
    assert_eq!(table.uids.get(&id(35)), Some(&Uid::new(1)));
    assert_eq!(table.neurons[0].hotkey, id(12), "the owner stays");
    // With a floor of non-immune neurons above what is left, only immune ones may go.
    chain.ok(
        &key(1),
        Call::SetHyperparameter { netuid: NET, value: Hyperparameter::MinNonImmuneUids(5) },
    );
    chain.advance(5);
    chain.fails(&key(3), register(36), DispatchError::NoNeuronIdAvailable);
}

#[test]
fn the_owner_hotkey_is_never_replaced() {
    let mut chain = subnet_chain();
    shrink(&mut chain, 1);
    chain.fails(&key(3), register(30), DispatchError::NoNeuronIdAvailable);
}

/// Finds a nonce whose seal meets `difficulty` for `hotkey` on the block `number`.
fn solve(number: BlockNumber, hotkey: u8, difficulty: u64) -> (u64, [u8; 32]) {
    let hash = block_hash(number);
    (0u64..)
        .map(|nonce| (nonce, pow_seal(&hash, &id(hotkey), nonce)))
        .find(|(_, s)| seal_meets_difficulty(s, difficulty))
        .unwrap()
}

#[test]
fn proof_of_work_registration_where_the_subnet_allows_it() {
    let mut chain = subnet_chain();
    chain.advance(2);
    let pow = |number: BlockNumber, nonce: u64, work: [u8; 32]| Call::PowRegister {
        netuid: NET,
        coldkey: id(3),
        block_number: number,
        nonce,
        work,
    };
    let recent = BlockNumber::new(chain.state.block().get());
    let (nonce, work) = solve(recent, 50, 1_000);
    chain.fails(&key(50), pow(recent, nonce, work), DispatchError::PowRegistrationDisabled);
    // A free way around the registration price: the owner may not open it, only root.
    let open = Call::SetHyperparameter {
        netuid: NET,
        value: Hyperparameter::PowRegistrationAllowed(true),
    };
    chain.fails(&key(2), open.clone(), DispatchError::BadOrigin);
    chain.ok(&key(1), open);
    chain.ok(
        &key(1),
        Call::SetHyperparameter { netuid: NET, value: Hyperparameter::Difficulty(1_000) },
    );

    let recent = BlockNumber::new(chain.state.block().get());
    let (nonce, work) = solve(recent, 50, 1_000);
    let mut wrong = work;
    wrong[0] ^= 1;
    chain.fails(&key(50), pow(recent, nonce, wrong), DispatchError::InvalidSeal);
    let recent = BlockNumber::new(chain.state.block().get());
    let (nonce, work) = solve(recent, 50, 1_000);
    let receipt = chain.ok(&key(50), pow(recent, nonce, work));
    assert_eq!(receipt.fee, Rao::ZERO, "the work is the price");
    assert!(
        matches!(receipt.events[..], [Event::NeuronRegistered { cost, .. }] if cost == Rao::ZERO)
    );
    assert_eq!(chain.state.hotkey_owner(&id(50)), Some(id(3)));

    // A seal that misses the difficulty, and one for a block too old.
    chain.ok(
        &key(1),
        Call::SetHyperparameter { netuid: NET, value: Hyperparameter::Difficulty(u64::MAX) },
    );
    let recent = BlockNumber::new(chain.state.block().get());
    let (nonce, work) = solve(recent, 51, 1);
    if !seal_meets_difficulty(&work, u64::MAX) {
        chain.fails(&key(51), pow(recent, nonce, work), DispatchError::InvalidDifficulty);
    }
    let old = BlockNumber::new(1);
    chain.fails(&key(51), pow(old, 0, [0; 32]), DispatchError::InvalidWorkBlock);
}

/// Where root opens proof-of-work registration, it is capped: one per block and six per
/// 100-block interval per subnet.
#[test]
fn proof_of_work_registrations_are_capped_per_block_and_interval() {
    let mut chain = subnet_chain();
    for value in [Hyperparameter::PowRegistrationAllowed(true), Hyperparameter::Difficulty(1_000)] {
        chain.ok(&key(1), Call::SetHyperparameter { netuid: NET, value });
    }
    // Start at the first block of an interval, so that all of this falls in one.
    while (chain.state.block().get() + 1) % 100 != 0 {
        chain.advance(1);
    }
    let pow = |chain: &Chain, hotkey: u8| {
        let recent = chain.state.block();
        let (nonce, work) = solve(recent, hotkey, 1_000);
        let call =
            Call::PowRegister { netuid: NET, coldkey: id(3), block_number: recent, nonce, work };
        chain.tx(&key(hotkey), call)
    };
    // Two in one block: the second is refused (and, a failing free call, not included).
    let both = vec![pow(&chain, 60), pow(&chain, 61)];
    let outcome = chain.block(both);
    assert_eq!(outcome.receipts[0].outcome, Outcome::Success);
    assert_eq!(
        outcome.receipts[1].outcome,
        Outcome::Invalid(InvalidTransaction::FreeCallFails(
            DispatchError::TooManyRegistrationsThisBlock
        ))
    );
    // Five more in later blocks of the interval, then the interval is used up.
    for hotkey in 62..67 {
        let tx = pow(&chain, hotkey);
        assert_eq!(chain.block(vec![tx]).receipts[0].outcome, Outcome::Success, "{hotkey}");
    }
    let tx = pow(&chain, 67);
    assert_eq!(
        chain.block(vec![tx]).receipts[0].outcome,
        Outcome::Invalid(InvalidTransaction::FreeCallFails(
            DispatchError::TooManyRegistrationsThisInterval
        ))
    );
    // The next interval opens again.
    while (chain.state.block().get() + 1) % 100 != 0 {
        chain.advance(1);
    }
    let tx = pow(&chain, 67);
    assert_eq!(chain.block(vec![tx]).receipts[0].outcome, Outcome::Success);
}

#[test]
fn seal_difficulty_is_a_256_bit_overflow_check() {
    let mut max = [0xFFu8; 32];
    assert!(seal_meets_difficulty(&max, 1));
    assert!(!seal_meets_difficulty(&max, 2));
    max[31] = 0x7F;
    assert!(seal_meets_difficulty(&max, 2));
    assert!(seal_meets_difficulty(&[0u8; 32], u64::MAX));
}

fn axon(ip: u128, port: u16) -> AxonInfo {
    AxonInfo { version: 1, ip, port, ip_type: IpType::V4, protocol: 4 }
}

#[test]
fn serve_axon_validates_address_and_rate() {
    let mut chain = subnet_chain();
    chain.ok(&key(3), register(30));
    let public = 0x0A00_0001; // 10.0.0.1
    chain.fails(
        &key(31),
        Call::ServeAxon { netuid: NET, axon: axon(public, 8091) },
        DispatchError::HotKeyNotRegisteredInSubNet,
    );
    chain.fails(
        &key(30),
        Call::ServeAxon { netuid: NET, axon: axon(public, 0) },
        DispatchError::InvalidPort,
    );
    chain.fails(
        &key(30),
        Call::ServeAxon { netuid: NET, axon: axon(0x7F00_0001, 8091) },
        DispatchError::InvalidIpAddress,
    );
    chain.fails(
        &key(30),
        Call::ServeAxon { netuid: NET, axon: axon(u128::from(u32::MAX), 8091) },
        DispatchError::InvalidIpAddress,
    );
    let receipt = chain.ok(&key(30), Call::ServeAxon { netuid: NET, axon: axon(public, 8091) });
    assert_eq!(receipt.fee, Rao::ZERO);
    let neuron = &chain.state.subnet(NET).unwrap().neurons.get().neurons[1];
    assert_eq!(neuron.axon.map(|(_, a)| a.port), Some(8091));
    chain.fails(
        &key(30),
        Call::ServeAxon { netuid: NET, axon: axon(public, 8092) },
        DispatchError::ServingRateLimitExceeded,
    );
    chain.ok(
        &key(2),
        Call::SetHyperparameter { netuid: NET, value: Hyperparameter::ServingRateLimit(0) },
    );
    chain.ok(&key(30), Call::ServeAxon { netuid: NET, axon: axon(public, 8092) });
}

#[test]
fn loopback_axons_only_on_chains_that_allow_them() {
    let mut config = config();
    config.allow_loopback_axons = true;
    let mut chain = Chain::new(config);
    chain.ok(&key(2), Call::RegisterNetwork { hotkey: id(12) });
    chain.ok(&key(12), Call::ServeAxon { netuid: NET, axon: axon(0x7F00_0001, 8091) });
}
