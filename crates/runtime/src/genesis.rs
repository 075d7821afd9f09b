//! The first state, from a genesis config.

use crate::{
    neurons::append_neuron,
    state::{ChainInfo, GlobalParams, State},
    subnets::new_subnet,
};
use codec::Encode;
use std::collections::BTreeSet;
use tao_economics::{LockState, TOTAL_SUPPLY};
use tao_primitives::{AccountId, BlockNumber, NetUid, Rao};
use tao_types::{blake2_256, GenesisConfig, Hash};

/// Why a genesis config cannot start a chain.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GenesisError {
    /// Balances add up past the 21 M TAO cap.
    #[error("balances add up to more than the 21M TAO supply")]
    IssuanceTooLarge,
    /// An account is listed twice in `balances`.
    #[error("account {0} is listed twice in balances")]
    DuplicateBalance(AccountId),
    /// A hotkey is registered twice in a subnet or owned by two coldkeys.
    #[error("hotkey {0} is registered twice or owned by two coldkeys")]
    DuplicateHotkey(AccountId),
    /// More subnets than the subnet limit.
    #[error("{0} subnets exceed the subnet limit")]
    TooManySubnets(usize),
    /// A governance parameter out of its range.
    #[error("governance parameter {0} is out of range")]
    InvalidGovernance(&'static str),
    /// More neurons than a subnet's 256 slots.
    #[error("a subnet lists {0} neurons; at most 256 fit")]
    TooManyNeurons(usize),
    /// Both fixed `authorities` and elected `validators`.
    #[error(
        "a genesis names either authorities (a fixed set) or validators (proof of stake), not both"
    )]
    AuthoritiesAndValidators,
    /// More genesis validators than `max_validators`.
    #[error("{0} validators exceed max_validators")]
    TooManyValidators(usize),
    /// A controller or consensus key listed twice among the validators.
    #[error("validator {0} is listed twice, or its consensus key is")]
    DuplicateValidator(AccountId),
    /// A validator with a bad address or consensus key, a commission above 10,000 or no bond.
    #[error("validator {0} needs an IP:PORT address, an ed25519 consensus key, a commission of at most 10000 and a bond")]
    InvalidValidator(AccountId),
    /// A proof-of-stake parameter out of its range.
    #[error("consensus parameter {0} is out of range")]
    InvalidConsensus(&'static str),
}

/// Builds the genesis state. Its genesis hash commits to the chain name and the whole
/// initial state.
pub fn genesis(config: &GenesisConfig) -> Result<State, GenesisError> {
    let mut params = GlobalParams::default();
    if let Some(min_lock) = config.network_min_lock {
        params.network_min_lock = Rao::new(min_lock);
    }
    if let Some(limit) = config.network_rate_limit {
        params.network_rate_limit = limit;
    }
    params.allow_loopback_axons = config.allow_loopback_axons;
    if let Some(limit) = config.subnet_limit {
        params.subnet_limit = limit.clamp(1, crate::subnets::MAX_SUBNETS);
    }
    if let Some(gov) = &config.governance {
        use tao_types::GlobalParameter as G;
        let given = [
            gov.deposit.map(|v| G::GovDeposit(Rao::new(v))),
            gov.voting_period.map(G::GovVotingPeriod),
            gov.enactment_delay.map(G::GovEnactmentDelay),
            gov.quorum.map(G::GovQuorum),
            gov.threshold.map(G::GovThreshold),
            gov.veto_threshold.map(G::GovVetoThreshold),
        ];
        for value in given.into_iter().flatten() {
            crate::subnets::apply_global_parameter(&mut params, value)
                .map_err(|_| GenesisError::InvalidGovernance(value.name()))?;
        }
    }
    if let Some(pos) = &config.consensus {
        use tao_types::GlobalParameter as G;
        let given = [
            pos.epoch_length.map(G::ConsensusEpochLength),
            pos.max_validators.map(G::MaxValidators),
            pos.min_validator_bond.map(|v| G::MinValidatorBond(Rao::new(v))),
            pos.min_nomination.map(|v| G::MinNomination(Rao::new(v))),
            pos.unbonding_period.map(G::UnbondingPeriod),
            pos.slash_fraction.map(G::SlashFraction),
            pos.jail_period.map(G::JailPeriod),
        ];
        for value in given.into_iter().flatten() {
            crate::subnets::apply_global_parameter(&mut params, value)
                .map_err(|_| GenesisError::InvalidConsensus(value.name()))?;
        }
    }
    if !config.authorities.is_empty() && !config.validators.is_empty() {
        return Err(GenesisError::AuthoritiesAndValidators);
    }
    let chain = ChainInfo {
        chain_name: config.chain_name.clone(),
        genesis_hash: Hash::default(),
        sudo: config.sudo,
        block: BlockNumber::GENESIS,
        recent_hashes: Vec::new(),
        total_issuance: Rao::ZERO,
        total_minted: Rao::ZERO,
        total_registration_burn: Rao::ZERO,
        total_fees: Rao::ZERO,
        total_deposit_burn: Rao::ZERO,
        lock: LockState {
            last_lock: params.network_min_lock,
            last_lock_block: BlockNumber::GENESIS,
        },
        params,
    };
    let mut state = State::empty(chain);

    let mut seen = BTreeSet::new();
    let mut issuance = Rao::ZERO;
    for entry in &config.balances {
        if !seen.insert(entry.account) {
            return Err(GenesisError::DuplicateBalance(entry.account));
        }
        issuance = issuance.checked_add(entry.rao).ok_or(GenesisError::IssuanceTooLarge)?;
        state.account_mut(&entry.account).free = entry.rao;
    }

    if config.subnets.len() > usize::from(state.chain().params.subnet_limit) {
        return Err(GenesisError::TooManySubnets(config.subnets.len()));
    }
    for (index, spec) in config.subnets.iter().enumerate() {
        let netuid = NetUid::new(
            u16::try_from(index)
                .map_err(|_| GenesisError::TooManySubnets(index))?
                .saturating_add(1),
        );
        if spec.neurons.len() >= 256 {
            return Err(GenesisError::TooManyNeurons(spec.neurons.len().saturating_add(1)));
        }
        claim_hotkey(&mut state, spec.owner_hotkey, spec.owner_coldkey)?;
        let pool_tao = spec.pool_tao.map_or(state.chain().params.network_min_lock, Rao::new);
        issuance = issuance.checked_add(pool_tao).ok_or(GenesisError::IssuanceTooLarge)?;
        new_subnet(&mut state, netuid, spec.owner_coldkey, spec.owner_hotkey, Rao::ZERO, pool_tao);
        let Some(subnet) = state.subnet_mut(netuid) else { continue };
        let info = subnet.info.make_mut();
        if let Some(tempo) = spec.tempo {
            info.params.tempo = tempo;
            info.last_epoch_block = BlockNumber::new(0);
        }
        if let Some(commit_reveal) = spec.commit_reveal {
            info.params.commit_reveal_enabled = commit_reveal;
        }
        if spec.start_emission {
            info.first_emission_block = Some(BlockNumber::new(1));
        }
        for neuron in &spec.neurons {
            claim_hotkey(&mut state, neuron.hotkey, neuron.coldkey)?;
            let Some(subnet) = state.subnet_mut(netuid) else { continue };
            if subnet.neurons.get().uids.contains_key(&neuron.hotkey) {
                return Err(GenesisError::DuplicateHotkey(neuron.hotkey));
            }
            append_neuron(subnet, neuron.hotkey, neuron.coldkey, BlockNumber::GENESIS);
            if !neuron.stake.is_zero() {
                subnet
                    .stakes
                    .make_mut()
                    .entry(neuron.hotkey)
                    .or_default()
                    .add(neuron.coldkey, neuron.stake.get());
                let info = subnet.info.make_mut();
                info.alpha_out = info.alpha_out.saturating_add(neuron.stake);
            }
        }
    }

    let bonded = crate::validators::genesis_validators(&mut state, &config.validators)?;
    issuance = issuance.checked_add(bonded).ok_or(GenesisError::IssuanceTooLarge)?;

    if issuance > TOTAL_SUPPLY {
        return Err(GenesisError::IssuanceTooLarge);
    }
    state.chain_mut().total_issuance = issuance;

    let mut seed = b"tao-genesis".to_vec();
    config.chain_name.encode_to(&mut seed);
    seed.extend_from_slice(&state.state_root().0);
    // The consensus authorities are not runtime state, but they are part of the chain's
    // identity: two networks that differ only in their validators must not accept each
    // other's transactions. Spelled in one canonical form (lowercase hex, sorted).
    let mut authorities: Vec<String> =
        config.authorities.iter().map(|key| key.trim().to_ascii_lowercase()).collect();
    authorities.sort();
    authorities.encode_to(&mut seed);
    state.chain_mut().genesis_hash = blake2_256(&seed);
    Ok(state)
}

/// Records `coldkey` as the hotkey's owner, unless another coldkey owns it.
fn claim_hotkey(
    state: &mut State,
    hotkey: AccountId,
    coldkey: AccountId,
) -> Result<(), GenesisError> {
    match state.hotkey_owner(&hotkey) {
        Some(owner) if owner != coldkey => Err(GenesisError::DuplicateHotkey(hotkey)),
        _ => {
            state.set_hotkey_owner(hotkey, coldkey);
            Ok(())
        }
    }
}
