//! Proof of stake through the chain: registration, bonds, unbonding, elections, finality
//! credits, fee rewards, equivocation slashing and jail, to the RAO; and properties over
//! random sequences (TAO conserved, the elected set is the top K by bond).

use crate::chain::*;
use ed25519_dalek::{Signer, SigningKey};
use proptest::prelude::*;
use tao_primitives::{AccountId, BlockNumber, Rao};
use tao_runtime::{
    apply_transaction, execute_block, BlockBuilder, BlockContext, BlockError, CreditError, State,
};
use tao_types::{
    consensus::{key_proof_message, quorum, vote_message, Proposal, Vote},
    Call, ConsensusKey, ConsensusSignature, DispatchError, Equivocation, Event, FinalityCredit,
    GenesisBalance, GenesisConfig, GenesisConsensus, GenesisValidator, GlobalParameter, Hash,
    InvalidTransaction, Outcome,
};

/// Blocks per consensus epoch in these tests.
const E: u64 = 10;
/// Unbonding period.
const UNBONDING: u64 = 20;
/// Jail period.
const JAIL: u64 = 15;

fn signing(n: u8) -> SigningKey {
    SigningKey::from_bytes(&[n.wrapping_add(100); 32])
}

fn ckey(n: u8) -> ConsensusKey {
    ConsensusKey(signing(n).verifying_key().to_bytes())
}

fn csign(n: u8, message: &[u8]) -> ConsensusSignature {
    ConsensusSignature(signing(n).sign(message).to_bytes())
}

/// Keys 1..=9 hold 10,000 TAO; the genesis validators `(controller, bond in TAO)` have
/// commission 10 %; E = 10, K = `k`, unbonding 20 blocks, jail 15 blocks.
fn pos_config(validators: &[(u8, u64)], k: u16) -> GenesisConfig {
    // A subnet with hotkey 20 (coldkey 40), so stake calls have a hotkey to go to.
    let mut config = config_with_subnet(360, &[1_000], false);
    for n in 6..=9 {
        config.balances.push(GenesisBalance { account: id(n), rao: Rao::new(10_000 * TAO) });
    }
    config.validators = validators
        .iter()
        .map(|(n, bond)| GenesisValidator {
            controller: id(*n),
            consensus_key: ckey(*n),
            p2p_address: format!("10.0.0.{n}:3000"),
            bond: Rao::new(bond * TAO),
            commission: 1_000,
        })
        .collect();
    config.consensus = Some(GenesisConsensus {
        epoch_length: Some(E),
        max_validators: Some(k),
        unbonding_period: Some(UNBONDING),
        jail_period: Some(JAIL),
        ..GenesisConsensus::default()
    });
    config
}

fn four() -> Chain {
    Chain::new(pos_config(&[(1, 2_000), (2, 2_000), (3, 2_000), (4, 2_000)], 4))
}

fn register(chain: &Chain, n: u8, key: u8) -> Call {
    let proof = csign(key, &key_proof_message(&chain.state.genesis_hash(), &id(n)));
    Call::RegisterValidator {
        consensus_key: ckey(key),
        p2p_address: format!("10.0.1.{n}:3000"),
        commission: 500,
        proof,
    }
}

/// A credit of block `height` (its hash `block_hash(height)`) by the controllers `signers`,
/// in the current epoch's set.
fn credit_for(state: &State, height: u64, signers: &[u8]) -> FinalityCredit {
    let epoch = state.consensus_epoch();
    let set = state.validator_set(epoch).expect("a set");
    let block = block_hash(BlockNumber::new(height));
    let proposal = Proposal { epoch, view: height, parent_view: height - 1, block };
    let message = vote_message(&state.genesis_hash(), &Vote::Finalize(proposal));
    let mut signatures: Vec<(u32, ConsensusSignature)> = signers
        .iter()
        .map(|n| {
            let (index, _) = set.find(&ckey(*n)).expect("a member");
            (index as u32, csign(*n, &message))
        })
        .collect();
    signatures.sort_by_key(|(i, _)| *i);
    FinalityCredit { epoch, view: height, parent_view: height - 1, block, signatures }
}

/// Executes the next block with `credit` on a copy: the error, and that the state is
/// untouched.
fn refused(chain: &Chain, credit: FinalityCredit) -> CreditError {
    let mut copy = chain.state.clone();
    let number = copy.block().next().unwrap();
    let context = BlockContext {
        number,
        parent_hash: block_hash(BlockNumber::new(number.get() - 1)),
        credit: Some(credit),
    };
    let error = execute_block(&mut copy, &context, &[]).unwrap_err();
    assert_eq!(copy.state_root(), chain.state.state_root(), "a refused block wrote");
    match error {
        BlockError::InvalidCredit(why) => why,
        other => panic!("{other:?}"),
    }
}

fn proposal(epoch: u64, view: u64, block: u8) -> Proposal {
    Proposal { epoch, view, parent_view: view.saturating_sub(1), block: Hash([block; 32]) }
}

fn vote_sig(state: &State, n: u8, vote: Vote) -> ConsensusSignature {
    csign(n, &vote_message(&state.genesis_hash(), &vote))
}

/// Valid evidence of kind `kind` (0 notarize, 1 finalize, 2 nullify/finalize) by `n`.
fn evidence(state: &State, n: u8, epoch: u64, view: u64, kind: u8) -> Equivocation {
    let (a, b) = (proposal(epoch, view, 1), proposal(epoch, view, 2));
    match kind {
        0 => Equivocation::ConflictingNotarize {
            signer: ckey(n),
            first: a,
            first_signature: vote_sig(state, n, Vote::Notarize(a)),
            second: b,
            second_signature: vote_sig(state, n, Vote::Notarize(b)),
        },
        1 => Equivocation::ConflictingFinalize {
            signer: ckey(n),
            first: a,
            first_signature: vote_sig(state, n, Vote::Finalize(a)),
            second: b,
            second_signature: vote_sig(state, n, Vote::Finalize(b)),
        },
        _ => Equivocation::NullifyFinalize {
            signer: ckey(n),
            finalize: a,
            finalize_signature: vote_sig(state, n, Vote::Finalize(a)),
            nullify_signature: vote_sig(state, n, Vote::Nullify { epoch, view }),
        },
    }
}

fn members(state: &State, epoch: u64) -> Vec<AccountId> {
    state.validator_set(epoch).unwrap().members.iter().map(|m| m.controller).collect()
}

/// The top `k` candidates by bond (≥ `min`, not jailed; ties: smaller key), by key.
fn model_top_k(state: &State, k: usize, min: Rao) -> Vec<AccountId> {
    let mut eligible: Vec<_> = state
        .candidates()
        .filter(|c| c.jailed_until.is_none() && c.total >= min && !c.total.is_zero())
        .map(|c| (std::cmp::Reverse(c.total), c.consensus_key, c.controller))
        .collect();
    eligible.sort();
    eligible.truncate(k);
    eligible.sort_by_key(|(_, key, _)| *key);
    eligible.into_iter().map(|(_, _, c)| c).collect()
}

#[test]
fn genesis_names_the_first_set_with_bonds_minted_bonded() {
    let chain = four();
    let set = chain.state.validator_set(0).unwrap();
    assert_eq!(set.epoch, 0);
    let mut keys: Vec<ConsensusKey> = (1..=4).map(ckey).collect();
    keys.sort();
    assert_eq!(set.members.iter().map(|m| m.consensus_key).collect::<Vec<_>>(), keys);
    assert!(set.members.iter().all(|m| m.bond == Rao::new(2_000 * TAO)));
    let pool = chain.state.subnet(NET).unwrap().info.get().pool.tao;
    assert_eq!(
        chain.state.total_issuance(),
        Rao::new((9 * 10_000 + 1_000 + 4 * 2_000) * TAO + pool)
    );
    assert_eq!(chain.free(1), Rao::new(10_000 * TAO), "genesis bonds are minted, not taken");
    assert_eq!(chain.state.consensus_epoch(), 0);
    assert_eq!(chain.state.epoch_last_block(0), BlockNumber::new(E));
    assert_eq!(chain.state.consensus_epoch_of(BlockNumber::new(E + 1)), 1);
    assert_eq!(chain.state.validator_set(1), None);

    // A chain of fixed authorities elects nobody and refuses validator calls.
    let mut fixed = Chain::standard();
    assert_eq!(fixed.state.validator_set(0), None);
    fixed.fails(
        &key(2),
        Call::Bond { validator: id(1), amount: Rao::new(TAO) },
        DispatchError::ValidatorsDisabled,
    );
    let mut both = pos_config(&[(1, 2_000)], 4);
    both.authorities.push("00".repeat(32));
    assert_eq!(
        tao_runtime::genesis(&both).unwrap_err(),
        tao_runtime::GenesisError::AuthoritiesAndValidators
    );
    let mut bad_key = pos_config(&[(1, 2_000)], 4);
    // y = 2 is on no point of the curve.
    let mut not_a_point = [0; 32];
    not_a_point[0] = 2;
    bad_key.validators[0].consensus_key = ConsensusKey(not_a_point);
    assert_eq!(
        tao_runtime::genesis(&bad_key).unwrap_err(),
        tao_runtime::GenesisError::InvalidValidator(id(1))
    );
    let mut dup = pos_config(&[(1, 2_000), (1, 2_000)], 4);
    dup.validators[1].consensus_key = ckey(9);
    assert!(matches!(
        tao_runtime::genesis(&dup).unwrap_err(),
        tao_runtime::GenesisError::DuplicateValidator(_)
    ));
}

#[test]
fn registration_needs_a_proof_and_a_fresh_key() {
    let mut chain = four();
    let good = register(&chain, 6, 6);
    let receipt = chain.ok(&key(6), good.clone());
    assert!(matches!(receipt.events[0], Event::ValidatorRegistered { commission: 500, .. }));
    let candidate = chain.state.candidate(&id(6)).unwrap();
    assert_eq!(candidate.candidate.consensus_key, ckey(6));
    assert_eq!(candidate.candidate.total, Rao::ZERO);
    chain.fails(&key(6), register(&chain, 6, 7), DispatchError::ValidatorAlreadyRegistered);
    // Another controller cannot take a used key, even with a valid proof for itself.
    chain.fails(&key(7), register(&chain, 7, 6), DispatchError::ConsensusKeyInUse);
    chain.fails(&key(7), register(&chain, 7, 1), DispatchError::ConsensusKeyInUse);
    // A proof for another controller, chain, or by another key.
    let mut stolen = register(&chain, 8, 7);
    if let Call::RegisterValidator { consensus_key, .. } = &mut stolen {
        *consensus_key = ckey(7);
    }
    chain.fails(&key(7), stolen, DispatchError::InvalidKeyProof);
    let wrong_key = Call::RegisterValidator {
        consensus_key: ckey(7),
        p2p_address: "10.0.0.7:1".into(),
        commission: 0,
        proof: csign(8, &key_proof_message(&chain.state.genesis_hash(), &id(7))),
    };
    chain.fails(&key(7), wrong_key, DispatchError::InvalidKeyProof);
    let other_chain = Call::RegisterValidator {
        consensus_key: ckey(7),
        p2p_address: "10.0.0.7:1".into(),
        commission: 0,
        proof: csign(7, &key_proof_message(&Hash([3; 32]), &id(7))),
    };
    chain.fails(&key(7), other_chain, DispatchError::InvalidKeyProof);
    let mut bad_address = register(&chain, 7, 7);
    if let Call::RegisterValidator { p2p_address, .. } = &mut bad_address {
        *p2p_address = "validator.example:3000".into();
    }
    chain.fails(&key(7), bad_address, DispatchError::InvalidP2pAddress);
    let mut greedy = register(&chain, 7, 7);
    if let Call::RegisterValidator { commission, .. } = &mut greedy {
        *commission = 10_001;
    }
    chain.fails(&key(7), greedy, DispatchError::CommissionTooHigh);
    chain.ok(&key(7), register(&chain, 7, 7));
}

#[test]
fn bonds_lock_funds_and_unbonding_releases_after_exactly_the_period() {
    let mut chain = four();
    let before = chain.free(6);
    let receipt = chain.ok(&key(6), Call::Bond { validator: id(1), amount: Rao::new(100 * TAO) });
    assert_eq!(
        chain.free(6),
        before.saturating_sub(Rao::new(100 * TAO)).saturating_sub(receipt.fee)
    );
    assert_eq!(chain.state.bonded(&id(6), &id(1)), Rao::new(100 * TAO));
    let candidate = chain.state.candidate(&id(1)).unwrap().candidate;
    assert_eq!(candidate.total, Rao::new(2_100 * TAO));
    assert_eq!(candidate.nominators(), 1);
    chain.fails(
        &key(6),
        Call::Bond { validator: id(1), amount: Rao::new(TAO - 1) },
        DispatchError::BondTooLow,
    );
    chain.fails(
        &key(6),
        Call::Bond { validator: id(9), amount: Rao::new(TAO) },
        DispatchError::NotValidator,
    );
    chain.fails(
        &key(6),
        Call::Bond { validator: id(1), amount: Rao::new(20_000 * TAO) },
        DispatchError::InsufficientBalance,
    );
    // Self-bond adds to the controller's own bond.
    chain.ok(&key(1), Call::Bond { validator: id(1), amount: Rao::new(5 * TAO) });
    assert_eq!(chain.state.candidate(&id(1)).unwrap().candidate.self_bond(), Rao::new(2_005 * TAO));

    // Locked: the bonded TAO is not in the free balance, so it cannot be sent or staked.
    let free = chain.free(6);
    chain.fails(
        &key(6),
        Call::Transfer { dest: id(7), amount: free },
        DispatchError::InsufficientBalance,
    );
    let free = chain.free(6);
    chain.fails(
        &key(6),
        Call::AddStake {
            hotkey: id(20),
            netuid: tao_primitives::NetUid::ROOT,
            amount: free.saturating_add(Rao::new(1)),
            limit_price: None,
        },
        DispatchError::NotEnoughBalanceToStake,
    );

    chain.fails(
        &key(6),
        Call::Unbond { validator: id(1), amount: Rao::new(101 * TAO) },
        DispatchError::NotEnoughBonded,
    );
    chain.fails(
        &key(7),
        Call::Unbond { validator: id(1), amount: Rao::new(1) },
        DispatchError::NotEnoughBonded,
    );
    let receipt = chain.ok(&key(6), Call::Unbond { validator: id(1), amount: Rao::new(40 * TAO) });
    let unbonded_at = chain.state.block().get();
    let release_at = BlockNumber::new(unbonded_at + UNBONDING);
    assert_eq!(
        receipt.events,
        vec![Event::Unbonded {
            bonder: id(6),
            validator: id(1),
            amount: Rao::new(40 * TAO),
            release_at
        }]
    );
    assert_eq!(chain.state.bonded(&id(6), &id(1)), Rao::new(60 * TAO));
    let free = chain.free(6);
    chain.advance(UNBONDING - 1);
    assert_eq!(chain.state.block().get(), unbonded_at + UNBONDING - 1);
    assert_eq!(chain.free(6), free, "released a block early");
    assert_eq!(chain.state.unbonding(&id(6)).len(), 1);
    let outcome = chain.block(Vec::new());
    assert_eq!(chain.free(6), free.saturating_add(Rao::new(40 * TAO)));
    assert!(outcome
        .events
        .contains(&Event::UnbondingReleased { account: id(6), amount: Rao::new(40 * TAO) }));
    assert!(chain.state.unbonding(&id(6)).is_empty());

    // At most 32 chunks per account.
    let nonce = chain.state.account(&id(6)).nonce;
    let unbonds: Vec<_> = (0..32)
        .map(|k| {
            let call = Call::Unbond { validator: id(1), amount: Rao::new(1) };
            chain.tx_with_nonce(&key(6), nonce + k, call)
        })
        .collect();
    let outcome = chain.block(unbonds);
    assert!(outcome.receipts.iter().all(|r| r.outcome == Outcome::Success));
    chain.fails(
        &key(6),
        Call::Unbond { validator: id(1), amount: Rao::new(1) },
        DispatchError::TooManyUnbondingChunks,
    );
}

#[test]
fn the_boundary_elects_the_top_k_above_the_minimum_with_ties_to_the_smaller_key() {
    let mut chain = Chain::new(pos_config(&[(1, 3_000), (2, 2_000), (3, 1_000)], 3));
    chain.ok(&key(4), register(&chain, 4, 4));
    chain.ok(&key(4), Call::Bond { validator: id(4), amount: Rao::new(2_000 * TAO) });
    chain.ok(&key(5), register(&chain, 5, 5));
    chain.ok(&key(5), Call::Bond { validator: id(5), amount: Rao::new(999 * TAO) });
    // Root lowers K to 2: the cut falls inside the tie between 2 and 4.
    chain.ok(&key(1), Call::SetGlobalParameter { value: GlobalParameter::MaxValidators(2) });
    chain.fails(
        &key(1),
        Call::SetGlobalParameter { value: GlobalParameter::MaxValidators(129) },
        DispatchError::InvalidValue,
    );
    chain.fails(
        &key(1),
        Call::SetGlobalParameter { value: GlobalParameter::ConsensusEpochLength(9) },
        DispatchError::InvalidValue,
    );
    while chain.state.block().get() < E - 1 {
        chain.block(Vec::new());
    }
    assert_eq!(chain.state.validator_set(1), None);
    let outcome = chain.block(Vec::new());
    assert_eq!(chain.state.block().get(), E);
    let tie_winner = if ckey(2) < ckey(4) { id(2) } else { id(4) };
    let mut expected =
        vec![(ckey(1), id(1)), (if tie_winner == id(2) { ckey(2) } else { ckey(4) }, tie_winner)];
    expected.sort();
    let expected: Vec<AccountId> = expected.into_iter().map(|(_, c)| c).collect();
    assert_eq!(members(&chain.state, 1), expected);
    assert_eq!(members(&chain.state, 1), model_top_k(&chain.state, 2, Rao::new(1_000 * TAO)));
    assert!(outcome.events.iter().any(
        |e| matches!(e, Event::ValidatorSetElected { epoch: 1, members } if members.len() == 2)
    ));
    assert_eq!(chain.state.consensus_epoch(), 1);
    assert_eq!(chain.state.consensus().epoch_start, BlockNumber::new(E + 1));

    // An epoch-length change takes effect from the next boundary.
    chain
        .ok(&key(1), Call::SetGlobalParameter { value: GlobalParameter::ConsensusEpochLength(20) });
    assert_eq!(chain.state.epoch_last_block(1), BlockNumber::new(2 * E));
    while chain.state.block().get() < 2 * E {
        chain.block(Vec::new());
    }
    assert_eq!(chain.state.consensus_epoch(), 2);
    assert_eq!(chain.state.epoch_last_block(2), BlockNumber::new(2 * E + 20));
    assert_eq!(chain.state.consensus_epoch_of(BlockNumber::new(5)), 0);
    assert_eq!(chain.state.consensus_epoch_of(BlockNumber::new(E + 5)), 1);

    // Everyone unbonds below the minimum: the previous set continues.
    for n in [1u8, 2, 3, 4] {
        let bond = chain.state.bonded(&id(n), &id(n));
        chain.ok(&key(n), Call::Unbond { validator: id(n), amount: bond });
    }
    let previous = members(&chain.state, 2);
    while chain.state.block().get() < 2 * E + 20 {
        chain.block(Vec::new());
    }
    assert_eq!(members(&chain.state, 3), previous);
    assert!(chain.last.as_ref().unwrap().events.contains(&Event::ValidatorSetKept { epoch: 3 }));
}

#[test]
fn fees_pay_the_epochs_validators_by_signed_blocks_with_commission_to_the_rao() {
    let mut chain = four();
    chain.ok(&key(6), Call::Bond { validator: id(1), amount: Rao::new(1_000 * TAO) });
    // Fees go to the pot, not burned.
    let issuance = chain.state.total_issuance();
    let receipt = chain.ok(&key(7), Call::Transfer { dest: id(8), amount: Rao::new(TAO) });
    assert_eq!(chain.state.total_issuance(), issuance);
    assert!(chain.state.consensus().pot >= receipt.fee);
    assert_eq!(chain.state.block().get(), 2);
    // Block 3 credits blocks 1-2 to all four; block 6 credits 3-5 to 1, 2, 3; block 9
    // credits 6-8 to 1, 2, 4.
    let plan: [(u64, &[u8]); 3] = [(2, &[1, 2, 3, 4]), (5, &[1, 2, 3]), (8, &[1, 2, 4])];
    for (height, signers) in plan {
        while chain.state.block().get() < height {
            chain.ok(&key(9), Call::Transfer { dest: id(8), amount: Rao::new(TAO) });
        }
        chain.credit = Some(credit_for(&chain.state, height, signers));
        let outcome = chain
            .block(vec![chain.tx(&key(9), Call::Transfer { dest: id(8), amount: Rao::new(TAO) })]);
        assert!(outcome.events.contains(&Event::FinalityCredited {
            epoch: 0,
            height: BlockNumber::new(height),
            signers: signers.len() as u32
        }));
    }
    let signed: Vec<u64> = (1..=4).map(|n| chain.state.candidate(&id(n)).unwrap().signed).collect();
    assert_eq!(signed, vec![8, 8, 5, 5]);
    let view = chain.state.candidate(&id(3)).unwrap();
    assert_eq!((view.signed, view.missed, view.in_current_set), (5, 3, true));
    while chain.state.block().get() < E - 1 {
        chain.ok(&key(9), Call::Transfer { dest: id(8), amount: Rao::new(TAO) });
    }
    let pot = chain.state.consensus().pot.get();
    let before: Vec<Rao> = (1..=9).map(|n| chain.free(n)).collect();
    let outcome = chain.block(Vec::new());
    // Expected by hand: pot × signed / 26 floored, the leftover to the largest remainders.
    let total: u64 = signed.iter().sum();
    let mut shares: Vec<u64> =
        signed.iter().map(|s| (pot as u128 * *s as u128 / total as u128) as u64).collect();
    let mut rems: Vec<(u128, usize)> = signed
        .iter()
        .enumerate()
        .map(|(i, s)| ((pot as u128 * *s as u128) % total as u128, i))
        .collect();
    rems.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let left = pot - shares.iter().sum::<u64>();
    // Members are paid in set (key) order; ties of remainders go to the earlier member.
    let mut order: Vec<usize> = (0..4).collect();
    order.sort_by_key(|i| ckey(*i as u8 + 1));
    rems.sort_by(|a, b| {
        b.0.cmp(&a.0)
            .then(order.iter().position(|i| *i == a.1).cmp(&order.iter().position(|i| *i == b.1)))
    });
    for (_, i) in rems.iter().take(left as usize) {
        shares[*i] += 1;
    }
    assert_eq!(shares.iter().sum::<u64>(), pot);
    let gained = |n: u8| chain.free(n).get() - before[n as usize - 1].get();
    // Validator 1: 10 % commission, the rest 2,000 : 1,000 between itself and nominator 6.
    let commission = shares[0] / 10;
    let rest = shares[0] - commission;
    let nominator = (rest as u128 * 1_000 / 3_000) as u64;
    assert_eq!(gained(6), nominator);
    assert_eq!(gained(1), shares[0] - nominator);
    for n in 2..=4u8 {
        assert_eq!(gained(n), shares[n as usize - 1], "validator {n}");
    }
    assert!(outcome.events.contains(&Event::ValidatorRewarded {
        epoch: 0,
        validator: id(1),
        signed: 8,
        reward: Rao::new(shares[0]),
        commission: Rao::new(commission),
    }));
    assert_eq!(chain.state.consensus().pot, Rao::ZERO);
    assert_eq!(chain.state.consensus().total_rewards, Rao::new(pot));
    assert!(chain.state.candidate(&id(1)).unwrap().signed == 0);
}

#[test]
fn an_epoch_nobody_was_credited_in_burns_its_fees() {
    let mut chain = four();
    let receipt = chain.ok(&key(7), Call::Transfer { dest: id(8), amount: Rao::new(TAO) });
    let issuance = chain.state.total_issuance();
    chain.advance(E - 1);
    assert_eq!(chain.state.total_issuance(), issuance.saturating_sub(receipt.fee));
    assert!(chain
        .last
        .as_ref()
        .unwrap()
        .events
        .contains(&Event::EpochFeesBurned { epoch: 0, amount: receipt.fee }));
}

#[test]
fn bad_credits_make_the_block_invalid() {
    let mut chain = four();
    chain.advance(3);
    let good = credit_for(&chain.state, 3, &[1, 2, 3]);
    let mut bad_signature = good.clone();
    bad_signature.signatures[1].1 .0[5] ^= 1;
    assert_eq!(
        refused(&chain, bad_signature),
        CreditError::BadSignature { index: good.signatures[1].0 }
    );
    let short = credit_for(&chain.state, 3, &[1, 2]);
    assert_eq!(
        refused(&chain, short),
        CreditError::NoQuorum { signers: 2, quorum: quorum(4) as u32 }
    );
    let mut wrong_epoch = good.clone();
    wrong_epoch.epoch = 1;
    assert_eq!(refused(&chain, wrong_epoch), CreditError::WrongEpoch { expected: 0, got: 1 });
    let mut unknown = good.clone();
    unknown.block = Hash([9; 32]);
    assert_eq!(refused(&chain, unknown), CreditError::UnknownBlock);
    let mut repeated = good.clone();
    repeated.signatures.push(repeated.signatures[2]);
    assert!(matches!(refused(&chain, repeated), CreditError::BadSignerIndex { .. }));
    let mut outside = good.clone();
    outside.signatures.push((4, outside.signatures[0].1));
    assert_eq!(refused(&chain, outside), CreditError::BadSignerIndex { index: 4 });
    // Signed as notarize, not finalize.
    let mut notarized = good.clone();
    let message = vote_message(
        &chain.state.genesis_hash(),
        &Vote::Notarize(Proposal { epoch: 0, view: 3, parent_view: 2, block: good.block }),
    );
    let (index, _) = chain.state.validator_set(0).unwrap().find(&ckey(1)).unwrap();
    let slot = notarized.signatures.iter_mut().find(|(i, _)| *i as usize == index).unwrap();
    slot.1 = csign(1, &message);
    assert!(matches!(refused(&chain, notarized), CreditError::BadSignature { .. }));

    chain.credit = Some(good.clone());
    chain.block(Vec::new());
    // Replayed, or an older block: already credited.
    assert_eq!(refused(&chain, good), CreditError::AlreadyCredited { last: BlockNumber::new(3) });
    let older = credit_for(&chain.state, 2, &[1, 2, 3]);
    assert_eq!(refused(&chain, older), CreditError::AlreadyCredited { last: BlockNumber::new(3) });
    // A block of the previous epoch cannot be credited in the next one.
    while chain.state.block().get() < E + 1 {
        chain.block(Vec::new());
    }
    let mut old = credit_for(&chain.state, E, &[1, 2, 3]);
    old.epoch = 1;
    assert_eq!(refused(&chain, old), CreditError::UnknownBlock);
    // On a chain of fixed authorities, any credit is refused.
    let fixed = Chain::standard();
    let credit = FinalityCredit {
        epoch: 0,
        view: 0,
        parent_view: 0,
        block: Hash([0; 32]),
        signatures: vec![],
    };
    assert_eq!(refused(&fixed, credit), CreditError::NoValidatorSet);
}

#[test]
fn each_kind_of_evidence_slashes_bonds_and_unbonding_and_jails() {
    let mut chain = four();
    chain.ok(&key(6), Call::Bond { validator: id(2), amount: Rao::new(1_000 * TAO) });
    chain.ok(&key(6), Call::Unbond { validator: id(2), amount: Rao::new(200 * TAO) });
    let issuance = chain.state.total_issuance();
    let receipt = chain
        .ok(&key(5), Call::ReportEquivocation { evidence: evidence(&chain.state, 2, 0, 5, 0) });
    let now = chain.state.block();
    // 5 % of 2,000 + 800 + 200 TAO.
    assert_eq!(
        receipt.events,
        vec![
            Event::ValidatorSlashed {
                validator: id(2),
                epoch: 0,
                view: 5,
                amount: Rao::new(150 * TAO)
            },
            Event::ValidatorJailed { validator: id(2), until: BlockNumber::new(now.get() + JAIL) },
        ]
    );
    assert_eq!(chain.state.total_issuance(), issuance.saturating_sub(Rao::new(150 * TAO)));
    assert_eq!(chain.state.bonded(&id(2), &id(2)), Rao::new(1_900 * TAO));
    assert_eq!(chain.state.bonded(&id(6), &id(2)), Rao::new(760 * TAO));
    assert_eq!(chain.state.unbonding(&id(6))[0].amount, Rao::new(190 * TAO));
    assert_eq!(chain.state.bonded(&id(1), &id(1)), Rao::new(2_000 * TAO), "others untouched");

    // Duplicates, non-conflicts, bad signatures, unknown signers and epochs are refused.
    chain.fails(
        &key(5),
        Call::ReportEquivocation { evidence: evidence(&chain.state, 2, 0, 5, 0) },
        DispatchError::EquivocationAlreadyReported,
    );
    let a = proposal(0, 6, 1);
    let same = Equivocation::ConflictingFinalize {
        signer: ckey(3),
        first: a,
        first_signature: vote_sig(&chain.state, 3, Vote::Finalize(a)),
        second: a,
        second_signature: vote_sig(&chain.state, 3, Vote::Finalize(a)),
    };
    chain.fails(
        &key(5),
        Call::ReportEquivocation { evidence: same },
        DispatchError::EvidenceNotConflicting,
    );
    let mut forged = evidence(&chain.state, 3, 0, 6, 1);
    if let Equivocation::ConflictingFinalize { second_signature, .. } = &mut forged {
        *second_signature = vote_sig(&chain.state, 4, Vote::Finalize(proposal(0, 6, 2)));
    }
    chain.fails(
        &key(5),
        Call::ReportEquivocation { evidence: forged },
        DispatchError::InvalidEvidenceSignature,
    );
    let b = proposal(0, 7, 2);
    let rounds = Equivocation::ConflictingNotarize {
        signer: ckey(3),
        first: a,
        first_signature: vote_sig(&chain.state, 3, Vote::Notarize(a)),
        second: b,
        second_signature: vote_sig(&chain.state, 3, Vote::Notarize(b)),
    };
    chain.fails(
        &key(5),
        Call::ReportEquivocation { evidence: rounds },
        DispatchError::EvidenceDifferentRounds,
    );
    chain.fails(
        &key(5),
        Call::ReportEquivocation { evidence: evidence(&chain.state, 9, 0, 6, 0) },
        DispatchError::EvidenceNotValidator,
    );
    chain.fails(
        &key(5),
        Call::ReportEquivocation { evidence: evidence(&chain.state, 3, 4, 6, 0) },
        DispatchError::EvidenceUnknownEpoch,
    );

    // The two other kinds, on validator 3 in other views: 5 % each time, compounded.
    let r = chain
        .ok(&key(5), Call::ReportEquivocation { evidence: evidence(&chain.state, 3, 0, 6, 1) });
    assert!(r.events.contains(&Event::ValidatorSlashed {
        validator: id(3),
        epoch: 0,
        view: 6,
        amount: Rao::new(100 * TAO)
    }));
    let r = chain
        .ok(&key(5), Call::ReportEquivocation { evidence: evidence(&chain.state, 3, 0, 7, 2) });
    assert!(r.events.contains(&Event::ValidatorSlashed {
        validator: id(3),
        epoch: 0,
        view: 7,
        amount: Rao::new(95 * TAO)
    }));
    assert_eq!(chain.state.bonded(&id(3), &id(3)), Rao::new(1_805 * TAO));

    // Jailed validators are left out of the next set; unjail only after the jail period.
    while chain.state.block().get() < E {
        chain.block(Vec::new());
    }
    assert_eq!(members(&chain.state, 1), model_top_k(&chain.state, 4, Rao::new(1_000 * TAO)));
    assert!(!members(&chain.state, 1).contains(&id(2)));
    assert!(!members(&chain.state, 1).contains(&id(3)));
    let until = chain.state.candidate(&id(2)).unwrap().candidate.jailed_until.unwrap();
    chain.fails(&key(2), Call::Unjail, DispatchError::StillJailed { until });
    chain.fails(&key(1), Call::Unjail, DispatchError::NotJailed);
    while chain.state.block() < BlockNumber::new(until.get() - 1) {
        chain.block(Vec::new());
    }
    let r = chain.ok(&key(2), Call::Unjail);
    assert_eq!(r.events, vec![Event::ValidatorUnjailed { validator: id(2) }]);

    // Evidence about epoch 0 is refused once its set is no longer kept.
    while chain.state.consensus_epoch() < 8 {
        chain.block(Vec::new());
    }
    chain.ok(&key(5), Call::ReportEquivocation { evidence: evidence(&chain.state, 1, 1, 3, 0) });
    chain.fails(
        &key(5),
        Call::ReportEquivocation { evidence: evidence(&chain.state, 4, 0, 3, 0) },
        DispatchError::EvidenceTooOld,
    );
}

#[test]
fn commission_changes_apply_from_the_next_epoch_once_per_epoch() {
    let mut chain = four();
    chain.ok(
        &key(1),
        Call::SetValidatorInfo { p2p_address: Some("10.9.9.9:1".into()), commission: Some(2_500) },
    );
    let candidate = chain.state.candidate(&id(1)).unwrap().candidate;
    assert_eq!((candidate.commission, candidate.next_commission), (1_000, Some(2_500)));
    assert_eq!(candidate.p2p_address, "10.9.9.9:1");
    chain.fails(
        &key(1),
        Call::SetValidatorInfo { p2p_address: None, commission: Some(3_000) },
        DispatchError::CommissionRateLimited,
    );
    chain.fails(
        &key(7),
        Call::SetValidatorInfo { p2p_address: None, commission: Some(3_000) },
        DispatchError::NotValidator,
    );
    chain.advance(E);
    assert_eq!(chain.state.candidate(&id(1)).unwrap().candidate.commission, 2_500);
    chain.ok(&key(1), Call::SetValidatorInfo { p2p_address: None, commission: Some(3_000) });
}

/// One step of the random sequences.
#[derive(Clone, Debug)]
enum Op {
    Bond { signer: u8, validator: u8, amount: u64 },
    Unbond { signer: u8, validator: u8, amount: u64 },
    Register { signer: u8 },
    Report { member: usize, view: u64, kind: u8 },
    Unjail { signer: u8 },
    Commission { signer: u8, commission: u16 },
    Transfer { signer: u8 },
    Credit { signers: Vec<bool> },
    Empty,
}

fn op() -> impl Strategy<Value = Op> {
    let amount = || prop_oneof![0u64..5 * TAO, 0u64..2_000 * TAO, any::<u64>()];
    prop_oneof![
        4 => (1u8..10, 1u8..10, amount()).prop_map(|(signer, validator, amount)| Op::Bond { signer, validator, amount }),
        3 => (1u8..10, 1u8..10, amount()).prop_map(|(signer, validator, amount)| Op::Unbond { signer, validator, amount }),
        1 => (5u8..10).prop_map(|signer| Op::Register { signer }),
        1 => (0usize..8, 0u64..4, 0u8..3).prop_map(|(member, view, kind)| Op::Report { member, view, kind }),
        1 => (1u8..10).prop_map(|signer| Op::Unjail { signer }),
        1 => (1u8..10, 0u16..12_000).prop_map(|(signer, commission)| Op::Commission { signer, commission }),
        2 => (1u8..10).prop_map(|signer| Op::Transfer { signer }),
        3 => proptest::collection::vec(any::<bool>(), 8).prop_map(|signers| Op::Credit { signers }),
        2 => Just(Op::Empty),
    ]
}

/// The transaction `op` makes (signer and call), or none; a credit is put on the chain
/// for its next block.
fn call_of(chain: &mut Chain, op: &Op) -> Option<(u8, Call)> {
    match op {
        Op::Bond { signer, validator, amount } => {
            Some((*signer, Call::Bond { validator: id(*validator), amount: Rao::new(*amount) }))
        }
        Op::Unbond { signer, validator, amount } => {
            Some((*signer, Call::Unbond { validator: id(*validator), amount: Rao::new(*amount) }))
        }
        Op::Register { signer } => Some((*signer, register(chain, *signer, *signer))),
        Op::Report { member, view, kind } => {
            let epoch = chain.state.consensus_epoch();
            let set = chain.state.validator_set(epoch).unwrap();
            let member = &set.members[member % set.members.len()];
            let n = (1..10u8).find(|n| ckey(*n) == member.consensus_key).unwrap();
            Some((
                9,
                Call::ReportEquivocation {
                    evidence: evidence(&chain.state, n, epoch, *view, *kind),
                },
            ))
        }
        Op::Unjail { signer } => Some((*signer, Call::Unjail)),
        Op::Commission { signer, commission } => Some((
            *signer,
            Call::SetValidatorInfo { p2p_address: None, commission: Some(*commission) },
        )),
        Op::Transfer { signer } => {
            Some((*signer, Call::Transfer { dest: id(8), amount: Rao::new(TAO) }))
        }
        Op::Credit { signers } => {
            let parent = chain.state.block().get();
            let consensus = chain.state.consensus();
            if parent >= consensus.epoch_start.get() && parent > consensus.last_credited.get() {
                let set = chain.state.validator_set(chain.state.consensus_epoch()).unwrap();
                let mut chosen: Vec<u8> = set
                    .members
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| signers[*i])
                    .map(|(_, m)| (1..10u8).find(|n| ckey(*n) == m.consensus_key).unwrap())
                    .collect();
                // Top up to the quorum with the first members not chosen.
                for m in &set.members {
                    if chosen.len() >= quorum(set.members.len()) {
                        break;
                    }
                    let n = (1..10u8).find(|n| ckey(*n) == m.consensus_key).unwrap();
                    if !chosen.contains(&n) {
                        chosen.push(n);
                    }
                }
                chain.credit = Some(credit_for(&chain.state, parent, &chosen));
            }
            None
        }
        Op::Empty => None,
    }
}

fn run_ops(ops: &[Op]) -> Result<(), TestCaseError> {
    let mut chain = Chain::new(pos_config(&[(1, 2_000), (2, 1_500), (3, 1_200), (4, 1_000)], 4));
    // K = 3 from the first boundary, so elections leave candidates out.
    chain.ok(&key(1), Call::SetGlobalParameter { value: GlobalParameter::MaxValidators(3) });
    let mut elections = 0;
    for op in ops {
        let mut txs = Vec::new();
        let call = call_of(&mut chain, op);
        if let Some((signer, call)) = call {
            txs.push(chain.tx(&key(signer), call));
        }
        // The harness checks conservation after every block.
        let outcome = chain.block(txs);
        // Only a report that does not slash (a free call that fails) is invalid: it is
        // left out of the block, changing nothing.
        if let Some((_, invalid)) = outcome.first_invalid() {
            prop_assert!(matches!(op, Op::Report { .. }), "{:?}: {:?}", op, invalid);
            prop_assert!(matches!(invalid, InvalidTransaction::FreeCallFails(_)), "{:?}", invalid);
        }
        for event in &outcome.events {
            if let Event::ValidatorSetElected { epoch, .. } = event {
                let params = &chain.state.chain().params.pos;
                let model = model_top_k(
                    &chain.state,
                    usize::from(params.max_validators),
                    params.min_validator_bond,
                );
                prop_assert_eq!(members(&chain.state, *epoch), model);
                elections += 1;
            }
            if let Event::ValidatorSetKept { epoch } = event {
                prop_assert!(chain.state.validator_set(*epoch).is_some());
                elections += 1;
            }
        }
    }
    // One set (elected or kept) per boundary passed.
    prop_assert_eq!(elections as u64, (ops.len() as u64 + 1) / E);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    /// Random bond/unbond/nominate/register/slash/unjail/reward/credit sequences over
    /// several epochs: TAO conserved to the RAO after every block (the harness), and every
    /// elected set is the top K by bond.
    #[test]
    fn random_validator_sequences_conserve_tao_and_elect_the_top_k(
        ops in proptest::collection::vec(op(), 10..60)
    ) {
        run_ops(&ops)?;
    }
}

#[test]
fn failed_validator_calls_change_only_the_fee() {
    // `fails` checks every part against the same block without the call (on this chain the
    // fee goes to the pot).
    let mut chain = four();
    chain.fails(
        &key(6),
        Call::Unbond { validator: id(1), amount: Rao::new(1) },
        DispatchError::NotEnoughBonded,
    );
    chain.fails(&key(6), Call::Unjail, DispatchError::NotValidator);
    let report = Call::ReportEquivocation { evidence: evidence(&chain.state, 1, 0, 1, 0) };
    assert_eq!(chain.run(&key(6), report.clone()).outcome, Outcome::Success);
    chain.fails(&key(6), report, DispatchError::EquivocationAlreadyReported);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// Failure atomicity for the validator calls: each transaction applied to the state its
    /// block has reached (after the block step and the credit); a failed one changed its
    /// signer's fee and nonce and the fee pot only, part by part.
    #[test]
    fn failed_validator_calls_change_only_the_fee_and_the_pot(
        ops in proptest::collection::vec(op(), 10..40)
    ) {
        let mut chain = Chain::new(pos_config(&[(1, 2_000), (2, 1_500), (3, 1_200), (4, 1_000)], 4));
        let mut failed = 0;
        for op in &ops {
            let call = call_of(&mut chain, op);
            let number = chain.state.block().next().unwrap();
            let context = BlockContext {
                number,
                parent_hash: block_hash(BlockNumber::new(number.get() - 1)),
                credit: chain.credit.take(),
            };
            let mut state = chain.state.clone();
            let mut builder = BlockBuilder::begin(&mut state, &context).unwrap();
            if let Some((signer, call)) = call {
                let before = builder.state().clone();
                let tx = chain.tx(&key(signer), call.clone());
                let mut after = before.clone();
                let receipt = apply_transaction(&mut after, &tx, 0);
                let pushed = builder.push(&tx);
                prop_assert_eq!(builder.state().state_root(), after.state_root());
                if call.is_free() {
                    // A report (free) that fails is invalid: left out, nothing changed.
                    if let Err(invalid) = pushed {
                        prop_assert!(matches!(invalid, InvalidTransaction::FreeCallFails(_)));
                        prop_assert_eq!(after.state_root(), before.state_root());
                    }
                } else {
                    prop_assert!(pushed.is_ok());
                }
                if let Outcome::Failed(error) = receipt.outcome {
                    let changed = only_fee_and_nonce_changed(&before, &after, &id(signer), receipt.fee, 1);
                    prop_assert!(changed.is_ok(), "{:?} ({:?}): {:?}", call, error, changed);
                    failed += 1;
                }
            }
            builder.finish();
            chain.state = state;
            chain.check_conservation();
        }
        prop_assert!(failed < ops.len() + 1);
    }
}
