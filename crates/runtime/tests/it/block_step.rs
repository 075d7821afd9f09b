//! The reference's block step (`chain-protocol.md` §1): it runs before the block's
//! transactions, and it mints alpha out in full.

use crate::chain::*;
use tao_primitives::{BlockNumber, Rao};
use tao_runtime::{apply_transaction, execute_block, BlockContext, PendingAlpha};
use tao_types::{Call, Event};

/// A block with transactions is the block without them followed by the transactions: the
/// block step (decay, coinbase, epochs, moving prices) runs first, as the reference's
/// `on_initialize` does. Checked on the second epoch's block (validators hold permits from
/// the first), with a stake bought in it on a validator the epoch pays: the stake holds
/// exactly the alpha it bought, none of that epoch's dividends.
#[test]
fn the_block_step_runs_before_the_transactions() {
    let mut config = config_with_subnet(5, &[1_000 * TAO, 500 * TAO], false);
    config.subnets[0].pool_tao = Some(1_000 * TAO);
    let mut chain = Chain::new(config);
    chain.advance(9);
    let tx = chain.tx(
        &key(3),
        Call::AddStake {
            hotkey: id(20),
            netuid: NET,
            amount: Rao::new(10 * TAO),
            limit_price: None,
        },
    );
    let number = chain.state.block().next().unwrap();
    let context = BlockContext {
        number,
        parent_hash: block_hash(BlockNumber::new(number.get() - 1)),
        credit: None,
    };
    let mut stepped = chain.state.clone();
    let empty = execute_block(&mut stepped, &context, &[]).unwrap();
    let pool = stepped.subnet(NET).unwrap().stakes.get().get(&id(20)).unwrap().clone();
    let receipt = apply_transaction(&mut stepped, &tx, 0);

    let outcome = chain.block(vec![tx]);
    assert!(
        outcome.events.iter().any(|e| matches!(e, Event::EpochCompleted { .. })),
        "{:?} at {}",
        outcome.events,
        chain.state.block()
    );
    assert_eq!(outcome.events, empty.events);
    assert_eq!(outcome.receipts, vec![receipt]);
    assert_eq!(chain.state.state_root(), stepped.state_root());
    let paid = outcome.events.iter().find_map(|e| match e {
        Event::EpochCompleted { emission, .. } => Some(emission.get()),
        _ => None,
    });
    assert!(paid.unwrap() > 0, "the epoch paid out");
    let bought = match outcome.receipts[0].events[..] {
        [Event::StakeAdded { alpha, .. }] => alpha.get(),
        ref other => panic!("{other:?}"),
    };
    // Its value is what it bought at the pool's share rate after the epoch's dividends:
    // shares floor(bought × S / T), worth floor((T + bought) × shares / (S + shares)).
    assert!(!pool.shares.contains_key(&id(3)) && pool.total > 0);
    let (t, s) = (u128::from(pool.total), pool.shares_total);
    let shares = u128::from(bought) * s / t;
    let expected = (t + u128::from(bought)) * shares / (s + shares);
    let held = chain.state.stake_of(NET, &id(20), &id(3)).get();
    assert_eq!(u128::from(held), expected, "bought {bought}");
    assert!(held <= bought && bought - held <= 1, "held {held}, bought {bought}");
}

/// Alpha out is minted in full (`SubnetAlphaOutEmission` = the subnet's alpha emission,
/// 1 alpha a block at its start) and split floor by floor: owner cut
/// floor(10^9 × ⌊11,796·2^32/65,535⌋/2^32) = 179,995,422, miners and validators 410,002,288
/// each (half of the rest, no root stake so no root part); the 2 RAO the floors leave stay
/// minted, held by nobody.
#[test]
fn alpha_out_is_minted_in_full() {
    let mut chain = Chain::new(config_with_subnet(100, &[0], false));
    let before = chain.state.subnet(NET).unwrap().info.get().clone();
    chain.block(Vec::new());
    let after = chain.state.subnet(NET).unwrap().info.get().clone();
    assert_eq!(after.alpha_out.get() - before.alpha_out.get(), 1_000_000_000);
    assert_eq!(
        after.pending,
        PendingAlpha { server: 410_002_288, validator: 410_002_288, root: 0, owner: 179_995_422 }
    );
    assert_eq!(after.alpha_burned.get() - before.alpha_burned.get(), 2);
}
