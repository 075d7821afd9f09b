//! Transfers and transaction validity.

use crate::chain::*;
use tao_primitives::Rao;
use tao_runtime::{fee, validate_transaction, EXISTENTIAL_DEPOSIT};
use tao_types::{Call, DispatchError, Existence, InvalidTransaction, Outcome, Transaction};

#[test]
fn transfer_moves_tao_and_burns_the_fee() {
    let mut chain = Chain::standard();
    let issuance = chain.state.total_issuance();
    let receipt = chain.ok(&key(1), Call::Transfer { dest: id(9), amount: Rao::new(3 * TAO) });
    assert!(receipt.fee.get() > 100_000, "a paying call costs the base fee plus bytes");
    assert_eq!(chain.free(9), Rao::new(3 * TAO));
    assert_eq!(chain.free(1).get(), 10_000 * TAO - 3 * TAO - receipt.fee.get());
    assert_eq!(chain.state.total_issuance(), issuance.checked_sub(receipt.fee).unwrap());
    assert_eq!(chain.state.account(&id(1)).nonce, 1);
}

#[test]
fn transfer_rejections_change_only_fee_and_nonce() {
    let mut chain = Chain::standard();
    chain.fails(
        &key(2),
        Call::Transfer { dest: id(9), amount: Rao::new(20_000 * TAO) },
        DispatchError::InsufficientBalance,
    );
    chain.fails(
        &key(2),
        Call::Transfer { dest: id(9), amount: Rao::new(499) },
        DispatchError::ExistentialDeposit,
    );
    let free = chain.free(2);
    let probe = chain.tx(&key(2), Call::TransferKeepAlive { dest: id(3), amount: free });
    let leaves_100 = free.checked_sub(fee(&probe)).unwrap().checked_sub(Rao::new(100)).unwrap();
    chain.fails(
        &key(2),
        Call::TransferKeepAlive { dest: id(3), amount: leaves_100 },
        DispatchError::KeepAlive,
    );
    // Allow-death may empty the account (less the fee it already paid).
    let free = chain.free(2);
    let probe = chain.tx(&key(2), Call::Transfer { dest: id(3), amount: free });
    let amount = free.checked_sub(fee(&probe)).unwrap();
    chain.ok(&key(2), Call::Transfer { dest: id(3), amount });
    assert_eq!(chain.free(2), Rao::ZERO);
    // The emptied account keeps its nonce: old transactions stay unreplayable.
    assert_eq!(chain.state.account(&id(2)).nonce, 4);
}

#[test]
fn transfer_all_respects_existence() {
    let mut chain = Chain::standard();
    chain.ok(&key(3), Call::TransferAll { dest: id(9), existence: Existence::KeepAlive });
    assert_eq!(chain.free(3), EXISTENTIAL_DEPOSIT);
    chain.ok(&key(4), Call::TransferAll { dest: id(9), existence: Existence::AllowDeath });
    assert_eq!(chain.free(4), Rao::ZERO);
    // A second transfer-all from an account that cannot pay the fee is not executed.
    let receipt =
        chain.run(&key(4), Call::TransferAll { dest: id(9), existence: Existence::AllowDeath });
    assert!(matches!(receipt.outcome, Outcome::Invalid(InvalidTransaction::CannotPayFee { .. })));
}

#[test]
fn invalid_transactions_change_nothing() {
    let mut chain = Chain::standard();
    let call = Call::Transfer { dest: id(9), amount: Rao::new(TAO) };
    let alice = key(1);
    let good = chain.tx(&alice, call.clone());

    let wrong_chain = Transaction {
        genesis_hash: hash(9),
        signer: alice.account(),
        nonce: 0,
        call: call.clone(),
    }
    .sign(&alice);
    assert_eq!(
        validate_transaction(&chain.state, &wrong_chain),
        Err(InvalidTransaction::WrongChain)
    );

    let future = chain.tx_with_nonce(&alice, 5, call.clone());
    assert_eq!(
        validate_transaction(&chain.state, &future),
        Err(InvalidTransaction::FutureNonce { expected: 0, got: 5 })
    );

    let mut forged = good.clone();
    forged.transaction.call = Call::Transfer { dest: id(9), amount: Rao::new(2 * TAO) };
    assert_eq!(validate_transaction(&chain.state, &forged), Err(InvalidTransaction::BadSignature));

    let broke = chain.tx(&key(77), call.clone());
    assert!(matches!(
        validate_transaction(&chain.state, &broke),
        Err(InvalidTransaction::CannotPayFee { .. })
    ));

    let before = chain.free(1);
    let outcome = chain.block(vec![wrong_chain, future, forged, broke]);
    assert!(outcome
        .receipts
        .iter()
        .all(|r| matches!(r.outcome, Outcome::Invalid(_)) && r.fee == Rao::ZERO));
    assert_eq!(chain.free(1), before);
    assert_eq!(chain.state.account(&id(1)).nonce, 0);

    // The good one goes through once; its replay is stale.
    chain.block(vec![good.clone()]);
    assert_eq!(chain.free(9), Rao::new(TAO));
    let replay = chain.block(vec![good]);
    assert_eq!(
        replay.receipts[0].outcome,
        Outcome::Invalid(InvalidTransaction::StaleNonce { expected: 1, got: 0 })
    );
    assert_eq!(chain.free(9), Rao::new(TAO));
}

#[test]
fn several_transactions_of_one_signer_in_one_block() {
    let mut chain = Chain::standard();
    let alice = key(1);
    let txs: Vec<_> = (0..5)
        .map(|nonce| {
            chain.tx_with_nonce(
                &alice,
                nonce,
                Call::Transfer { dest: id(9), amount: Rao::new(TAO) },
            )
        })
        .collect();
    let outcome = chain.block(txs);
    assert!(outcome.receipts.iter().all(|r| r.outcome == Outcome::Success));
    assert_eq!(chain.free(9), Rao::new(5 * TAO));
    assert_eq!(chain.state.account(&id(1)).nonce, 5);
}
