//! TAO transfers.
//!
//! Accounts are never reaped: an account keeps its nonce forever (so a transaction can
//! never be replayed), and may hold any balance, but a transfer creating a new account must
//! bring at least the existential deposit, and `KeepAlive` transfers keep the sender at or
//! above it.

use crate::State;
use tao_primitives::{AccountId, Rao};
use tao_types::{DispatchError, Event, Existence};

/// The least a new account may be funded with (as the reference chain: 500 RAO).
pub const EXISTENTIAL_DEPOSIT: Rao = Rao::new(500);

/// Moves `amount` from `from` to `dest`.
pub(crate) fn transfer(
    state: &mut State,
    from: AccountId,
    dest: AccountId,
    amount: Rao,
    existence: Existence,
) -> Result<Vec<Event>, DispatchError> {
    let sender = state.account(&from);
    let remaining = sender.free.checked_sub(amount).ok_or(DispatchError::InsufficientBalance)?;
    if existence == Existence::KeepAlive && remaining < EXISTENTIAL_DEPOSIT {
        return Err(DispatchError::KeepAlive);
    }
    if from == dest {
        return Ok(vec![Event::Transfer { from, to: dest, amount }]);
    }
    let receiver = state.account(&dest);
    if receiver.free.is_zero() && amount < EXISTENTIAL_DEPOSIT {
        return Err(DispatchError::ExistentialDeposit);
    }
    let credited = receiver.free.checked_add(amount).ok_or(DispatchError::Overflow)?;
    state.account_mut(&from).free = remaining;
    state.account_mut(&dest).free = credited;
    Ok(vec![Event::Transfer { from, to: dest, amount }])
}

/// Moves the whole free balance (less the existential deposit when keeping alive).
pub(crate) fn transfer_all(
    state: &mut State,
    from: AccountId,
    dest: AccountId,
    existence: Existence,
) -> Result<Vec<Event>, DispatchError> {
    let free = state.account(&from).free;
    let amount = match existence {
        Existence::KeepAlive => free.saturating_sub(EXISTENTIAL_DEPOSIT),
        Existence::AllowDeath => free,
    };
    transfer(state, from, dest, amount, existence)
}
