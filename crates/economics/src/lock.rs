//! The cost of registering a subnet: it doubles on use and decays linearly back to the
//! minimum (`chain-protocol.md` §8.1).

use tao_primitives::{BlockNumber, Rao};

/// What the lock cost remembers of the last subnet registration.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, codec::Encode, codec::Decode)]
pub struct LockState {
    /// The amount locked by the last registration (`NetworkLastLockCost`).
    pub last_lock: Rao,
    /// Its block (`NetworkLastLockBlock`), 0 if none yet.
    pub last_lock_block: BlockNumber,
}

/// The decay interval, shortened with each TAO halving:
/// `floor(reduction_interval × block_emission / 10^9)`.
pub fn lock_reduction_interval(reduction_interval: u64, block_emission: Rao) -> u64 {
    let scaled = u128::from(reduction_interval).saturating_mul(u128::from(block_emission.get()))
        / 1_000_000_000;
    u64::try_from(scaled).unwrap_or(u64::MAX)
}

/// `max(min_lock, last × mult − floor(last / interval) × (now − last_block))`, where `mult`
/// is 2 after a first registration and 1 before.
pub fn network_lock_cost(state: LockState, min_lock: Rao, interval: u64, now: BlockNumber) -> Rao {
    let mult = if state.last_lock_block.get() == 0 { 1 } else { 2 };
    let last = state.last_lock.get();
    let per_block = last.checked_div(interval).unwrap_or(0);
    let decayed = per_block.saturating_mul(now.saturating_since(state.last_lock_block));
    let cost = last.saturating_mul(mult).saturating_sub(decayed);
    Rao::new(cost.max(min_lock.get()))
}
