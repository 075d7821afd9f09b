//! Which validators run consensus for which blocks, as the node reads it from the state.
//!
//! A chain whose genesis names fixed `authorities` has one epoch, 0, for ever, with those
//! validators. A chain with proof of stake (genesis `validators`) has consensus epochs of
//! the runtime's length; each epoch's set is elected by the runtime at the end of the
//! previous epoch's last block, so the state after that block (the finalized head when the
//! epoch begins) names it. Everything here is a function of the state: every node derives
//! the same epochs and sets from the same finalized chain.

use crate::consensus::PublicKey;
use std::net::SocketAddr;
use tao_primitives::BlockNumber;
use tao_runtime::State;
use tao_types::ConsensusKey;

/// The blocks and validators of one consensus epoch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EpochPlan {
    /// The epoch (the engine's `Epoch`, bound into every vote).
    pub epoch: u64,
    /// Its last block (`None`: a chain without elections, whose one epoch never ends).
    pub last: Option<u64>,
    /// Its validators, sorted (commonware's participant order).
    pub participants: Vec<PublicKey>,
}

/// Who the node talks to: the validators and candidates the chain knows (with the p2p
/// address each registered), or, for fixed authorities, the authorities (addresses from the
/// node's settings).
pub type Peers = Vec<(PublicKey, Option<SocketAddr>)>;

/// The consensus engine's key for a chain's consensus key (`None`: not a curve point; the
/// runtime refuses such keys, so only a damaged state has one).
pub fn public_key(key: &ConsensusKey) -> Option<PublicKey> {
    <PublicKey as commonware_codec::DecodeExt<()>>::decode(commonware_runtime::IoBuf::from(
        key.0.to_vec(),
    ))
    .ok()
}

/// The chain's consensus key for an engine's key.
pub fn consensus_key(key: &PublicKey) -> ConsensusKey {
    let bytes = commonware_codec::Encode::encode(key);
    let mut out = [0u8; 32];
    if bytes.len() == 32 {
        out.copy_from_slice(&bytes);
    }
    ConsensusKey(out)
}

/// Whether the chain in `state` elects its validators.
pub fn elects(state: &State) -> bool {
    state.consensus().enabled
}

/// The epoch of block `number` on the chain whose state is `state` (any state that has
/// executed the blocks before `number`'s epoch began).
pub fn epoch_of(state: &State, number: u64) -> u64 {
    if elects(state) {
        state.consensus_epoch_of(BlockNumber::new(number))
    } else {
        0
    }
}

/// The first block of `epoch` (1 for epoch 0: genesis is block 0).
pub fn first_block(state: &State, epoch: u64) -> u64 {
    match epoch.checked_sub(1) {
        Some(before) if elects(state) => state.epoch_last_block(before).get().saturating_add(1),
        _ => 1,
    }
}

/// The last block of the epoch that block `number` belongs to (`None`: a chain without
/// elections, whose one epoch never ends). Known for every epoch the state has begun, old
/// ones included (their sets may be forgotten: the state keeps the last few).
pub fn last_block_of(state: &State, number: u64) -> Option<u64> {
    elects(state).then(|| state.epoch_last_block(epoch_of(state, number)).get())
}

/// The epoch that block `number` belongs to, its last block and its validators: `None` if
/// `state` does not know that epoch's set (it is elected at the end of the epoch before).
pub fn plan(state: &State, authorities: &[PublicKey], number: u64) -> Option<EpochPlan> {
    if !elects(state) {
        let mut participants = authorities.to_vec();
        participants.sort();
        participants.dedup();
        return Some(EpochPlan { epoch: 0, last: None, participants });
    }
    let epoch = epoch_of(state, number);
    let set = state.validator_set(epoch)?;
    let mut participants: Vec<PublicKey> =
        set.members.iter().filter_map(|m| public_key(&m.consensus_key)).collect();
    participants.sort();
    participants.dedup();
    Some(EpochPlan { epoch, last: Some(state.epoch_last_block(epoch).get()), participants })
}

/// The node's peers on a chain in `state`, for the p2p network's peer set, most wanted
/// first: the members of the kept validator sets (newest epoch first), then every other
/// registered candidate by total bond (largest first), each once with the address it
/// registered (its current one for a candidate); or the fixed authorities. Bounded by the
/// runtime's limits (1,024 candidates, 8 kept sets); the p2p network takes a prefix.
pub fn peers(state: &State, authorities: &[PublicKey]) -> Peers {
    if !elects(state) {
        return authorities.iter().map(|key| (key.clone(), None)).collect();
    }
    let mut candidates: Vec<_> = state.candidates().collect();
    candidates.sort_by(|a, b| b.total.cmp(&a.total).then(a.consensus_key.cmp(&b.consensus_key)));
    let address = |key: &ConsensusKey, elected: &str| {
        let current = candidates.iter().find(|c| c.consensus_key == *key);
        current.map_or(elected, |c| c.p2p_address.as_str()).parse().ok()
    };
    let members = state.validator_sets().sets.values().rev().flat_map(|set| set.members.iter());
    let mut seen = std::collections::BTreeSet::new();
    let mut peers = Vec::new();
    for (key, elected) in members
        .map(|m| (&m.consensus_key, m.p2p_address.as_str()))
        .chain(candidates.iter().map(|c| (&c.consensus_key, c.p2p_address.as_str())))
    {
        if let Some(public) = public_key(key) {
            if seen.insert(*key) {
                peers.push((public, address(key, elected)));
            }
        }
    }
    peers
}

#[cfg(test)]
mod tests {
    use super::*;
    use commonware_cryptography::{ed25519, Signer as _};

    #[test]
    fn keys_convert_both_ways() {
        let key = ed25519::PrivateKey::from_seed(7).public_key();
        let ours = consensus_key(&key);
        assert_eq!(public_key(&ours), Some(key));
    }

    #[test]
    fn a_key_proof_made_with_the_engines_key_verifies_under_the_chains_key() {
        let signer = ed25519::PrivateKey::from_seed(9);
        let (genesis, controller) =
            (tao_types::Hash([3; 32]), tao_primitives::AccountId::new([4; 32]));
        let proof = crate::consensus::key_proof(&signer, &genesis, &controller);
        let key = consensus_key(&signer.public_key());
        let message = tao_types::consensus::key_proof_message(&genesis, &controller);
        assert!(key.verify(&message, &proof));
        let other = tao_types::consensus::key_proof_message(
            &genesis,
            &tao_primitives::AccountId::new([5; 32]),
        );
        assert!(!key.verify(&other, &proof), "bound to the controller");
    }

    #[test]
    fn a_chain_with_authorities_has_one_endless_epoch() {
        let state = tao_runtime::genesis(&crate::dev_genesis().unwrap()).unwrap();
        let keys: Vec<PublicKey> =
            (0..3).map(|i| ed25519::PrivateKey::from_seed(i).public_key()).collect();
        let plan = plan(&state, &keys, 1_000_000).unwrap();
        assert_eq!((plan.epoch, plan.last, plan.participants.len()), (0, None, 3));
        assert_eq!(first_block(&state, 0), 1);
        assert_eq!(peers(&state, &keys).len(), 3);
    }
}
