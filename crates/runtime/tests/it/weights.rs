//! `set_weights` with every rule of §10.1, and hash commit-reveal.

use crate::chain::*;
use tao_primitives::{NetUid, Uid};
use tao_types::{
    weights_commit_hash, Call, DispatchError, GlobalParameter, Hyperparameter, InvalidTransaction,
    Outcome,
};

fn set(uids: &[u16], values: &[u16]) -> Call {
    Call::SetWeights { netuid: NET, uids: uids.to_vec(), values: values.to_vec(), version_key: 0 }
}

/// Owner (hot 11, uid 0), validators hot 20 (uid 1, stake 1000) and 21 (uid 2, 500),
/// miners hot 22 and 23 (uids 3, 4). Tempo 10, no commit-reveal.
fn chain() -> Chain {
    Chain::new(config_with_subnet(10, &[1_000, 500, 0, 0], false))
}

fn weights_of(chain: &Chain, uid: usize) -> Vec<(Uid, u16)> {
    chain.state.subnet(NET).unwrap().neurons.get().neurons[uid].weights.clone()
}

#[test]
fn set_weights_stores_sorted_max_upscaled_rows() {
    let mut chain = chain();
    let receipt = chain.ok(&key(11), set(&[4, 3], &[2, 1]));
    assert_eq!(receipt.fee.get(), 0, "weights are free");
    assert_eq!(weights_of(&chain, 0), vec![(Uid::new(3), 32_768), (Uid::new(4), 65_535)]);
    assert_eq!(
        chain.state.subnet(NET).unwrap().neurons.get().neurons[0].last_update,
        chain.state.block()
    );
}

#[test]
fn set_weights_rejections() {
    let mut chain = chain();
    let owner = key(11);
    chain.fails(
        &owner,
        Call::SetWeights { netuid: NetUid::ROOT, uids: vec![], values: vec![], version_key: 0 },
        DispatchError::CanNotSetRootNetworkWeights,
    );
    chain.fails(
        &owner,
        Call::SetWeights { netuid: NetUid::new(9), uids: vec![], values: vec![], version_key: 0 },
        DispatchError::SubnetNotExists,
    );
    chain.fails(&owner, set(&[3, 4], &[1]), DispatchError::WeightVecNotEqualSize);
    chain.fails(
        &owner,
        set(&[0, 1, 2, 3, 4, 5], &[1; 6]),
        DispatchError::UidsLengthExceedUidsInSubNet,
    );
    chain.fails(&key(30), set(&[3], &[1]), DispatchError::HotKeyNotRegisteredInSubNet);
    chain.fails(&owner, set(&[3, 3], &[1, 1]), DispatchError::DuplicateUids);
    chain.fails(&owner, set(&[3, 9], &[1, 1]), DispatchError::UidVecContainInvalidOne);
    // Uid 3 holds no permit (no epoch yet): weights on others are refused, on itself allowed.
    chain.fails(&key(22), set(&[4], &[1]), DispatchError::NeuronNoValidatorPermit);
    chain.ok(&key(22), set(&[3], &[1]));
    chain.ok(
        &key(1),
        Call::SetHyperparameter { netuid: NET, value: Hyperparameter::MinAllowedWeights(2) },
    );
    chain.fails(&owner, set(&[3], &[1]), DispatchError::WeightVecLengthIsLow);
    chain.ok(
        &key(1),
        Call::SetHyperparameter { netuid: NET, value: Hyperparameter::WeightsVersion(5) },
    );
    chain.fails(
        &owner,
        Call::SetWeights { netuid: NET, uids: vec![3, 4], values: vec![1, 1], version_key: 4 },
        DispatchError::IncorrectWeightVersionKey,
    );
    chain.ok(
        &owner,
        Call::SetWeights { netuid: NET, uids: vec![3, 4], values: vec![1, 1], version_key: 5 },
    );
    chain.fails(
        &owner,
        Call::SetWeights { netuid: NET, uids: vec![3, 4], values: vec![1, 2], version_key: 5 },
        DispatchError::SettingWeightsTooFast,
    );
    chain.ok(
        &key(1),
        Call::SetGlobalParameter { value: GlobalParameter::StakeThreshold(u64::MAX / 2) },
    );
    chain.fails(&key(21), set(&[2], &[1]), DispatchError::NotEnoughStakeToSetWeights);
    chain.ok(
        &key(1),
        Call::SetHyperparameter { netuid: NET, value: Hyperparameter::CommitRevealEnabled(true) },
    );
    chain.fails(&owner, set(&[3, 4], &[1, 1]), DispatchError::CommitRevealEnabled);
}

#[test]
fn validators_with_permits_set_weights_after_an_epoch() {
    let mut chain = chain();
    chain.fails(&key(20), set(&[3, 4], &[1, 1]), DispatchError::NeuronNoValidatorPermit);
    chain.advance(10);
    let neurons = &chain.state.subnet(NET).unwrap().neurons.get().neurons;
    assert!(neurons[1].epoch.validator_permit && neurons[2].epoch.validator_permit);
    assert!(!neurons[3].epoch.validator_permit, "no stake, no permit");
    chain.ok(&key(20), set(&[3, 4], &[1, 1]));
}

fn cr_chain() -> Chain {
    let mut chain = Chain::new(config_with_subnet(10, &[1_000, 500, 0, 0], true));
    chain.ok(
        &key(1),
        Call::SetHyperparameter { netuid: NET, value: Hyperparameter::WeightsRateLimit(0) },
    );
    chain
}

fn commit(uids: &[u16], values: &[u16], salt: &[u16]) -> Call {
    Call::CommitWeights {
        netuid: NET,
        commit_hash: weights_commit_hash(&id(11), NET, uids, values, salt, 0),
    }
}

fn reveal(uids: &[u16], values: &[u16], salt: &[u16]) -> Call {
    Call::RevealWeights {
        netuid: NET,
        uids: uids.to_vec(),
        values: values.to_vec(),
        salt: salt.to_vec(),
        version_key: 0,
    }
}

fn epoch_index(chain: &Chain) -> u64 {
    chain.state.subnet(NET).unwrap().info.get().epoch_index
}

/// Advances until the epoch counter moves (an epoch ran).
fn next_epoch(chain: &mut Chain) {
    let start = epoch_index(chain);
    while epoch_index(chain) == start {
        chain.advance(1);
    }
}

#[test]
fn commit_then_reveal_in_the_next_epoch() {
    let mut chain = cr_chain();
    let owner = key(11);
    chain.fails(&owner, reveal(&[3], &[1], &[7]), DispatchError::NoWeightsCommitFound);
    let receipt = chain.ok(&owner, commit(&[3, 4], &[1, 3], &[7, 7]));
    assert_eq!(receipt.fee.get(), 0);
    let committed_at = chain.state.block();
    chain.fails(&owner, reveal(&[3, 4], &[1, 3], &[7, 7]), DispatchError::RevealTooEarly);
    next_epoch(&mut chain);
    chain.fails(
        &owner,
        reveal(&[3, 4], &[1, 3], &[8, 8]),
        DispatchError::InvalidRevealCommitHashNotMatch,
    );
    chain.ok(&owner, reveal(&[3, 4], &[1, 3], &[7, 7]));
    assert_eq!(weights_of(&chain, 0), vec![(Uid::new(3), 21_845), (Uid::new(4), 65_535)]);
    // A reveal does not count as activity; the commit did.
    assert_eq!(chain.state.subnet(NET).unwrap().neurons.get().neurons[0].last_update, committed_at);
    chain.fails(&owner, reveal(&[3, 4], &[1, 3], &[7, 7]), DispatchError::NoWeightsCommitFound);
}

#[test]
fn a_commit_not_revealed_in_time_expires() {
    let mut chain = cr_chain();
    let owner = key(11);
    chain.ok(&owner, commit(&[3], &[1], &[1]));
    next_epoch(&mut chain);
    next_epoch(&mut chain);
    chain.fails(&owner, reveal(&[3], &[1], &[1]), DispatchError::ExpiredWeightCommit);
}

#[test]
fn at_most_ten_unrevealed_commits() {
    let mut chain = cr_chain();
    let owner = key(11);
    let txs: Vec<_> = (0..11u16)
        .map(|k| chain.tx_with_nonce(&owner, u64::from(k), commit(&[3], &[1], &[k])))
        .collect();
    let outcome = chain.block(txs);
    assert!(outcome.receipts[..10].iter().all(|r| r.outcome == Outcome::Success));
    assert_eq!(
        outcome.receipts[10].outcome,
        Outcome::Invalid(InvalidTransaction::FreeCallFails(
            DispatchError::TooManyUnrevealedCommits
        ))
    );
}

#[test]
fn commit_and_reveal_need_commit_reveal_on() {
    let mut chain = chain();
    chain.fails(&key(11), commit(&[3], &[1], &[1]), DispatchError::CommitRevealDisabled);
    chain.fails(&key(11), reveal(&[3], &[1], &[1]), DispatchError::CommitRevealDisabled);
}
