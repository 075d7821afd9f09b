//! The one place a call fans out to its handler.
//!
//! Every handler validates everything before its first write, so a failed call changes
//! nothing (the fee and nonce were taken before dispatch).

use crate::{balances, neurons, subnets, weights, State};
use tao_primitives::AccountId;
use tao_types::{Call, DispatchError, Event, Existence};

/// Applies `call` signed by `signer`.
pub(crate) fn dispatch(
    state: &mut State,
    signer: AccountId,
    call: &Call,
) -> Result<Vec<Event>, DispatchError> {
    match call {
        Call::Transfer { dest, amount } => {
            balances::transfer(state, signer, *dest, *amount, Existence::AllowDeath)
        }
        Call::TransferKeepAlive { dest, amount } => {
            balances::transfer(state, signer, *dest, *amount, Existence::KeepAlive)
        }
        Call::TransferAll { dest, existence } => {
            balances::transfer_all(state, signer, *dest, *existence)
        }
        Call::RegisterNetwork { hotkey } => subnets::register_network(state, signer, *hotkey),
        Call::StartCall { netuid } => subnets::start_call(state, signer, *netuid),
        Call::SetHyperparameter { netuid, value } => {
            subnets::set_hyperparameter(state, signer, *netuid, *value)
        }
        Call::SetGlobalParameter { value } => subnets::set_global_parameter(state, signer, *value),
        Call::DissolveNetwork { netuid } => subnets::dissolve_network(state, signer, *netuid),
        Call::BurnedRegister { netuid, hotkey, limit_price } => {
            neurons::burned_register(state, signer, *netuid, *hotkey, *limit_price)
        }
        Call::PowRegister { netuid, coldkey, block_number, nonce, work } => {
            neurons::pow_register(state, signer, *netuid, *coldkey, *block_number, *nonce, *work)
        }
        Call::ServeAxon { netuid, axon } => neurons::serve_axon(state, signer, *netuid, *axon),
        Call::SetWeights { netuid, uids, values, version_key } => {
            weights::set_weights(state, signer, *netuid, uids, values, *version_key)
        }
        Call::CommitWeights { netuid, commit_hash } => {
            weights::commit_weights(state, signer, *netuid, *commit_hash)
        }
        Call::RevealWeights { netuid, uids, values, salt, version_key } => {
            weights::reveal_weights(state, signer, *netuid, uids, values, salt, *version_key)
        }
    }
}
