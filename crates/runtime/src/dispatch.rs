//! The one place a call fans out to its handler.
//!
//! Every handler validates everything before its first write, so a failed call changes
//! nothing (the fee and nonce were taken before dispatch).

use crate::{
    balances, channels, governance, neurons,
    staking::{self, Place},
    subnets::{self, Origin},
    validators, weights, State,
};
use tao_primitives::AccountId;
use tao_types::{Call, DispatchError, Event, Existence, PrivilegedCall};

/// Applies a privileged call as root (a passed proposal's enactment).
pub(crate) fn dispatch_privileged(
    state: &mut State,
    call: &PrivilegedCall,
) -> Result<Vec<Event>, DispatchError> {
    privileged(state, Origin::Root, call)
}

/// Applies a privileged call for `origin` (refused unless it is root).
fn privileged(
    state: &mut State,
    origin: Origin,
    call: &PrivilegedCall,
) -> Result<Vec<Event>, DispatchError> {
    match call {
        PrivilegedCall::SetGlobalParameter(value) => {
            subnets::set_global_parameter(state, origin, *value)
        }
        PrivilegedCall::SetHyperparameter { netuid, value } => {
            subnets::set_hyperparameter(state, origin, *netuid, *value)
        }
        PrivilegedCall::DissolveNetwork { netuid } => {
            subnets::dissolve_network(state, origin, *netuid)
        }
        PrivilegedCall::SetSudo { key } => subnets::set_sudo(state, origin, *key),
    }
}

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
        Call::TriggerEpoch { netuid } => subnets::trigger_epoch(state, signer, *netuid),
        Call::SetHyperparameter { netuid, value } => privileged(
            state,
            Origin::Signed(signer),
            &PrivilegedCall::SetHyperparameter { netuid: *netuid, value: *value },
        ),
        Call::SetGlobalParameter { value } => {
            privileged(state, Origin::Signed(signer), &PrivilegedCall::SetGlobalParameter(*value))
        }
        Call::DissolveNetwork { netuid } => privileged(
            state,
            Origin::Signed(signer),
            &PrivilegedCall::DissolveNetwork { netuid: *netuid },
        ),
        Call::SetSudo { key } => {
            privileged(state, Origin::Signed(signer), &PrivilegedCall::SetSudo { key: *key })
        }
        Call::Propose { calls, title, description } => {
            governance::propose(state, signer, calls, title, description)
        }
        Call::Vote { proposal, choice } => governance::vote(state, signer, *proposal, *choice),
        Call::CancelProposal { proposal } => governance::cancel(state, signer, *proposal),
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
        Call::AddStake { hotkey, netuid, amount, limit_price } => {
            staking::add_stake(state, signer, *hotkey, *netuid, *amount, *limit_price)
        }
        Call::RemoveStake { hotkey, netuid, amount, limit_price } => {
            staking::remove_stake(state, signer, *hotkey, *netuid, *amount, *limit_price)
        }
        Call::UnstakeAll { hotkey } => staking::unstake_all(state, signer, *hotkey),
        Call::MoveStake {
            origin_hotkey,
            destination_hotkey,
            origin_netuid,
            destination_netuid,
            amount,
        } => {
            let from = Place { netuid: *origin_netuid, hotkey: *origin_hotkey, coldkey: signer };
            let to =
                Place { netuid: *destination_netuid, hotkey: *destination_hotkey, coldkey: signer };
            staking::relocate(state, from, to, *amount, None)
        }
        Call::TransferStake {
            destination_coldkey,
            hotkey,
            origin_netuid,
            destination_netuid,
            amount,
        } => {
            let from = Place { netuid: *origin_netuid, hotkey: *hotkey, coldkey: signer };
            let to = Place {
                netuid: *destination_netuid,
                hotkey: *hotkey,
                coldkey: *destination_coldkey,
            };
            staking::transfer_stake(state, from, to, *amount)
        }
        Call::SwapStake { hotkey, origin_netuid, destination_netuid, amount, limit_price } => {
            let from = Place { netuid: *origin_netuid, hotkey: *hotkey, coldkey: signer };
            let to = Place { netuid: *destination_netuid, hotkey: *hotkey, coldkey: signer };
            staking::relocate(state, from, to, *amount, *limit_price)
        }
        Call::IncreaseTake { hotkey, take } => {
            staking::set_take(state, signer, *hotkey, *take, true)
        }
        Call::DecreaseTake { hotkey, take } => {
            staking::set_take(state, signer, *hotkey, *take, false)
        }
        Call::OpenChannel { payee, deposit, expiry } => {
            channels::open_channel(state, signer, *payee, *deposit, *expiry)
        }
        Call::TopUpChannel { channel, amount, expiry } => {
            channels::top_up_channel(state, signer, *channel, *amount, *expiry)
        }
        Call::ClaimChannel { voucher } => channels::claim_channel(state, voucher),
        Call::CloseChannel { channel } => channels::close_channel(state, signer, *channel),
        Call::RegisterValidator { consensus_key, p2p_address, commission, proof } => {
            validators::register(state, signer, *consensus_key, p2p_address, *commission, proof)
        }
        Call::SetValidatorInfo { p2p_address, commission } => {
            validators::set_info(state, signer, p2p_address.as_deref(), *commission)
        }
        Call::Bond { validator, amount } => validators::bond(state, signer, *validator, *amount),
        Call::Unbond { validator, amount } => {
            validators::unbond(state, signer, *validator, *amount)
        }
        Call::Unjail => validators::unjail(state, signer),
        Call::ReportEquivocation { evidence } => validators::report(state, evidence),
    }
}
