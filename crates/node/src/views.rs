//! Read-only views of the chain for clients: the chain's types as the RPC's
//! ([`tao_rpc_api`]) types.

use std::collections::{BTreeMap, BTreeSet};
use tao_primitives::{AccountId, ChannelId, NetUid};
use tao_rpc_api as api;
use tao_runtime::State;
use tao_types::{Block, Hash, Header, Outcome, Receipt};

fn address(account: &AccountId) -> api::Address {
    api::Address(*account)
}

/// A header.
pub fn header(header: &Header) -> api::Header {
    api::Header {
        number: header.number.get(),
        hash: api::H256(header.hash()),
        parent_hash: api::H256(header.parent_hash),
        state_root: api::H256(header.state_root),
        transactions_root: api::H256(header.transactions_root),
        timestamp_ms: header.timestamp_ms,
    }
}

/// A block's events: the block's own (emission, epochs), then each transaction's.
pub fn block_events(block: &Block, outcome: &tao_runtime::BlockOutcome) -> api::BlockEvents {
    let record = |tx_hash: Option<api::H256>, e: &tao_types::Event| api::EventRecord {
        tx_hash,
        event: format!("{e:?}"),
        detail: Some(event(e)),
    };
    let own = outcome.events.iter().map(|e| record(None, e));
    let of_txs = outcome
        .receipts
        .iter()
        .flat_map(|r| r.events.iter().map(move |e| record(Some(api::H256(r.tx_hash)), e)));
    api::BlockEvents {
        block: block.header.number.get(),
        hash: api::H256(block.header.hash()),
        events: own.chain(of_txs).collect(),
    }
}

/// A receipt (`block_hash` is `None` in a dry run).
pub fn receipt(receipt: &Receipt, block_hash: Option<&Hash>) -> api::Receipt {
    // The name is the error's identifier, without its fields (`CannotPayFee`, not
    // `CannotPayFee { fee: Rao(…), balance: Rao(…) }`; the message has the numbers).
    let (outcome, error) = match &receipt.outcome {
        Outcome::Success => (api::Outcome::Success, None),
        Outcome::Failed(e) => (api::Outcome::Failed, Some(dispatch_error(e))),
        Outcome::Invalid(e) => {
            // A failing free call is invalid; its name is the call's own error (what a
            // client acts on, e.g. proof of work for a block that is no longer recent).
            let error = match e {
                tao_types::InvalidTransaction::FreeCallFails(call) => {
                    api::ReceiptError { message: e.to_string(), ..dispatch_error(call) }
                }
                other => api::ReceiptError {
                    name: identifier(&format!("{other:?}")),
                    message: other.to_string(),
                    retry_at: None,
                },
            };
            (api::Outcome::Invalid, Some(error))
        }
    };
    api::Receipt {
        tx_hash: api::H256(receipt.tx_hash),
        block: receipt.block.get(),
        block_hash: block_hash.copied().map(api::H256),
        index: receipt.index,
        signer: address(&receipt.signer),
        fee: receipt.fee.get(),
        outcome,
        error,
        events: receipt.events.iter().map(|e| format!("{e:?}")).collect(),
        event_details: receipt.events.iter().map(event).collect(),
    }
}

/// Where stake sits, as the RPC shows it.
fn stake_location(
    (coldkey, hotkey, netuid): &(AccountId, AccountId, NetUid),
) -> api::StakeLocation {
    api::StakeLocation { coldkey: address(coldkey), hotkey: address(hotkey), netuid: netuid.get() }
}

/// The text inside a debug form's outer parentheses (`Tempo(10)` → `10`, `MinBurn(Rao(5))`
/// → `5`): a parameter's value.
fn inner_value(debug: &str) -> String {
    let mut text = debug;
    while let Some(inner) = text.split_once('(').and_then(|(_, rest)| rest.strip_suffix(')')) {
        text = inner;
    }
    text.to_owned()
}

/// An event as an object.
pub fn event(event: &tao_types::Event) -> api::Event {
    use tao_types::Event as E;
    match event {
        E::Transfer { from, to, amount } => {
            api::Event::Transfer { from: address(from), to: address(to), amount: amount.get() }
        }
        E::NetworkAdded { netuid, owner, lock } => api::Event::NetworkAdded {
            netuid: netuid.get(),
            owner: address(owner),
            lock: lock.get(),
        },
        E::NetworkRemoved { netuid, refund } => {
            api::Event::NetworkRemoved { netuid: netuid.get(), refund: refund.get() }
        }
        E::EmissionStarted { netuid, block } => {
            api::Event::EmissionStarted { netuid: netuid.get(), block: block.get() }
        }
        E::HyperparameterSet { netuid, value } => api::Event::HyperparameterSet {
            netuid: netuid.get(),
            name: value.name().to_owned(),
            value: inner_value(&format!("{value:?}")),
        },
        E::GlobalParameterSet(parameter) => {
            api::Event::GlobalParameterSet { parameter: format!("{parameter:?}") }
        }
        E::NeuronRegistered { netuid, uid, hotkey, replaced, cost } => {
            api::Event::NeuronRegistered {
                netuid: netuid.get(),
                uid: uid.get(),
                hotkey: address(hotkey),
                replaced: replaced.as_ref().map(address),
                cost: cost.get(),
            }
        }
        E::AxonServed { netuid, hotkey } => {
            api::Event::AxonServed { netuid: netuid.get(), hotkey: address(hotkey) }
        }
        E::WeightsSet { netuid, uid } => {
            api::Event::WeightsSet { netuid: netuid.get(), uid: uid.get() }
        }
        E::WeightsCommitted { netuid, hotkey, commit_hash } => api::Event::WeightsCommitted {
            netuid: netuid.get(),
            hotkey: address(hotkey),
            commit_hash: api::H256(Hash(*commit_hash)),
        },
        E::EpochCompleted { netuid, emission } => {
            api::Event::EpochCompleted { netuid: netuid.get(), emission: emission.get() }
        }
        E::StakeAdded { coldkey, hotkey, netuid, tao, alpha } => api::Event::StakeAdded {
            coldkey: address(coldkey),
            hotkey: address(hotkey),
            netuid: netuid.get(),
            tao: tao.get(),
            alpha: alpha.get(),
        },
        E::StakeRemoved { coldkey, hotkey, netuid, alpha, tao } => api::Event::StakeRemoved {
            coldkey: address(coldkey),
            hotkey: address(hotkey),
            netuid: netuid.get(),
            alpha: alpha.get(),
            tao: tao.get(),
        },
        E::StakeMoved { from, to, alpha } => api::Event::StakeMoved {
            from: stake_location(from),
            to: stake_location(to),
            alpha: alpha.get(),
        },
        E::TakeChanged { hotkey, take } => {
            api::Event::TakeChanged { hotkey: address(hotkey), take: *take }
        }
        E::EpochDeferred { netuid } => api::Event::EpochDeferred { netuid: netuid.get() },
        E::Minted { amount } => api::Event::Minted { amount: amount.get() },
        E::EpochTriggered { netuid, at } => {
            api::Event::EpochTriggered { netuid: netuid.get(), at: at.get() }
        }
        E::SudoChanged { key } => api::Event::SudoChanged { key: key.as_ref().map(address) },
        E::ProposalSubmitted { proposal, proposer, track, deposit, voting_ends } => {
            api::Event::ProposalSubmitted {
                proposal: proposal.0,
                proposer: address(proposer),
                track: track.name().to_owned(),
                deposit: deposit.get(),
                voting_ends: voting_ends.get(),
            }
        }
        E::Voted { proposal, voter, choice } => api::Event::Voted {
            proposal: proposal.0,
            voter: address(voter),
            choice: choice.name().to_owned(),
        },
        E::ProposalCancelled { proposal } => api::Event::ProposalCancelled { proposal: proposal.0 },
        E::ProposalPassed { proposal, tally: count, enact_at } => api::Event::ProposalPassed {
            proposal: proposal.0,
            tally: tally(count),
            enact_at: enact_at.get(),
        },
        E::ProposalRejected { proposal, tally: count, reason } => api::Event::ProposalRejected {
            proposal: proposal.0,
            tally: tally(count),
            reason: reason.name().to_owned(),
        },
        E::DepositReturned { proposal, to, amount } => api::Event::DepositReturned {
            proposal: proposal.0,
            to: address(to),
            amount: amount.get(),
        },
        E::DepositBurned { proposal, amount } => {
            api::Event::DepositBurned { proposal: proposal.0, amount: amount.get() }
        }
        E::ProposalEnacted { proposal } => api::Event::ProposalEnacted { proposal: proposal.0 },
        E::ProposalEnactmentFailed { proposal, index, error } => {
            api::Event::ProposalEnactmentFailed {
                proposal: proposal.0,
                index: *index,
                error: dispatch_error(error),
            }
        }
        E::ChannelOpened { channel, payer, payee, deposit, expiry } => api::Event::ChannelOpened {
            channel: channel.get(),
            payer: address(payer),
            payee: address(payee),
            deposit: deposit.get(),
            expiry: expiry.get(),
        },
        E::ChannelToppedUp { channel, amount, deposit, expiry } => api::Event::ChannelToppedUp {
            channel: channel.get(),
            amount: amount.get(),
            deposit: deposit.get(),
            expiry: expiry.get(),
        },
        E::ChannelClaimed { channel, payee, amount, claimed } => api::Event::ChannelClaimed {
            channel: channel.get(),
            payee: address(payee),
            amount: amount.get(),
            claimed: claimed.get(),
        },
        E::ChannelClosed { channel, payer, refund, claimed } => api::Event::ChannelClosed {
            channel: channel.get(),
            payer: address(payer),
            refund: refund.get(),
            claimed: claimed.get(),
        },
        E::ValidatorRegistered { controller, consensus_key, p2p_address, commission } => {
            api::Event::ValidatorRegistered {
                controller: address(controller),
                consensus_key: consensus_key.to_string(),
                p2p_address: p2p_address.clone(),
                commission: *commission,
            }
        }
        E::ValidatorInfoSet { controller, p2p_address, commission } => {
            api::Event::ValidatorInfoSet {
                controller: address(controller),
                p2p_address: p2p_address.clone(),
                commission: *commission,
            }
        }
        E::Bonded { bonder, validator, amount } => api::Event::Bonded {
            bonder: address(bonder),
            validator: address(validator),
            amount: amount.get(),
        },
        E::Unbonded { bonder, validator, amount, release_at } => api::Event::Unbonded {
            bonder: address(bonder),
            validator: address(validator),
            amount: amount.get(),
            release_at: release_at.get(),
        },
        E::UnbondingReleased { account, amount } => {
            api::Event::UnbondingReleased { account: address(account), amount: amount.get() }
        }
        E::ValidatorSetElected { epoch, members } => api::Event::ValidatorSetElected {
            epoch: *epoch,
            members: members
                .iter()
                .map(|(controller, key, bond)| api::ElectedMember {
                    controller: address(controller),
                    consensus_key: key.to_string(),
                    bond: bond.get(),
                })
                .collect(),
        },
        E::ValidatorSetKept { epoch } => api::Event::ValidatorSetKept { epoch: *epoch },
        E::FinalityCredited { epoch, height, signers } => {
            api::Event::FinalityCredited { epoch: *epoch, height: height.get(), signers: *signers }
        }
        E::ValidatorRewarded { epoch, validator, signed, reward, commission } => {
            api::Event::ValidatorRewarded {
                epoch: *epoch,
                validator: address(validator),
                signed: *signed,
                reward: reward.get(),
                commission: commission.get(),
            }
        }
        E::EpochFeesBurned { epoch, amount } => {
            api::Event::EpochFeesBurned { epoch: *epoch, amount: amount.get() }
        }
        E::ValidatorSlashed { validator, epoch, view, amount } => api::Event::ValidatorSlashed {
            validator: address(validator),
            epoch: *epoch,
            view: *view,
            amount: amount.get(),
        },
        E::ValidatorJailed { validator, until } => {
            api::Event::ValidatorJailed { validator: address(validator), until: until.get() }
        }
        E::ValidatorUnjailed { validator } => {
            api::Event::ValidatorUnjailed { validator: address(validator) }
        }
    }
}

/// An error's identifier: its debug form without fields (`CannotPayFee`, not
/// `CannotPayFee { fee: Rao(…), balance: Rao(…) }`; the message has the numbers).
fn identifier(debug: &str) -> String {
    let end = debug.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(debug.len());
    debug[..end].to_owned()
}

/// A dispatch error as the RPC names it: identifier, message, and when to retry.
fn dispatch_error(error: &tao_types::DispatchError) -> api::ReceiptError {
    api::ReceiptError {
        name: identifier(&format!("{error:?}")),
        message: error.to_string(),
        retry_at: error.retry_at().map(|b| b.get()),
    }
}

fn tally(count: &tao_types::Tally) -> api::Tally {
    api::Tally {
        yes: api::BigAmount(count.yes.get()),
        no: api::BigAmount(count.no.get()),
        abstain: api::BigAmount(count.abstain.get()),
        veto: api::BigAmount(count.veto.get()),
        total: api::BigAmount(count.total.get()),
    }
}

/// A proposal as the RPC shows it, with `count`: its final tally, or its live one.
fn proposal(
    state: &State,
    p: &tao_runtime::governance::Proposal,
    count: tao_types::Tally,
) -> api::Proposal {
    use tao_runtime::governance::{self as gov, ProposalStatus as S};
    let params = &state.chain().params.gov;
    let passing = gov::verdict(params, p.track, &count).is_ok();
    let (status, reason, enact_at) = match &p.status {
        S::Voting => ("voting", None, None),
        S::Passed { enact_at } => ("passed", None, Some(enact_at.get())),
        S::Rejected(why) => ("rejected", Some(why.name().to_owned()), None),
        S::Cancelled => ("cancelled", None, None),
        S::Enacted { at } => ("enacted", None, Some(at.get())),
        S::Failed { at, index, error } => {
            ("failed", Some(format!("call {index} failed: {error}")), Some(at.get()))
        }
    };
    api::Proposal {
        id: p.id.0,
        proposer: address(&p.proposer),
        title: p.title.clone(),
        description: p.description.clone(),
        track: p.track.name().to_owned(),
        calls: p.calls.iter().map(tao_types::PrivilegedCall::describe).collect(),
        deposit: p.deposit.get(),
        submitted: p.submitted.get(),
        voting_ends: p.voting_ends.get(),
        status: status.to_owned(),
        reason,
        enact_at,
        tally: tally(&count),
        passing,
        voters: u32::try_from(p.votes.len()).unwrap_or(u32::MAX),
    }
}

/// Most votes one `tao_proposal` answer lists.
pub const MAX_LISTED_VOTES: usize = 1_000;

/// `tao_governance` on `state` (the head's, numbered `block`).
pub fn governance(state: &State, block: u64) -> api::Governance {
    use tao_runtime::governance as gov;
    let params = &state.chain().params.gov;
    let (critical_quorum, critical_threshold) = params.bar(tao_types::Track::Critical);
    api::Governance {
        block,
        sudo: state.chain().sudo.as_ref().map(address),
        params: api::GovernanceParams {
            deposit: params.deposit.get(),
            voting_period: params.voting_period,
            enactment_delay: params.enactment_delay,
            quorum: params.quorum,
            threshold: params.threshold,
            veto_threshold: params.veto_threshold,
            critical_quorum,
            critical_threshold,
            max_open: u32::try_from(gov::MAX_OPEN_PROPOSALS).unwrap_or(u32::MAX),
        },
        proposals: {
            // Those not yet counted for good are counted live, over one reading of the stake.
            let all: Vec<&gov::Proposal> = state.governance().proposals.values().rev().collect();
            let live: Vec<&gov::Proposal> =
                all.iter().copied().filter(|p| p.tally.is_none()).collect();
            let mut counts = gov::tallies(state, &live).into_iter();
            all.iter()
                .map(|p| {
                    let count = p.tally.or_else(|| counts.next()).unwrap_or_default();
                    proposal(state, p, count)
                })
                .collect()
        },
    }
}

/// The votes of proposal `id` on `state`, in voter order (the first [`MAX_LISTED_VOTES`]).
pub fn proposal_votes(state: &State, id: u32) -> Option<Vec<api::Vote>> {
    let p = state.governance().proposals.get(&tao_types::ProposalId(id))?;
    Some(
        p.votes
            .iter()
            .take(MAX_LISTED_VOTES)
            .map(|(voter, choice)| api::Vote {
                voter: address(voter),
                choice: choice.name().to_owned(),
            })
            .collect(),
    )
}

/// A block with a summary of each transaction.
pub fn block(block: &Block) -> api::Block {
    api::Block {
        header: header(&block.header),
        transactions: block
            .transactions
            .iter()
            .map(|tx| api::TransactionSummary {
                hash: api::H256(tx.hash()),
                signer: address(&tx.transaction.signer),
                nonce: tx.transaction.nonce,
                call: tx.transaction.call.name().to_owned(),
            })
            .collect(),
    }
}

/// The whole metagraph of a subnet in one document: per-UID arrays indexed by UID, and the
/// subnet's hyperparameters and pool.
pub fn metagraph(state: &State, netuid: NetUid) -> Option<api::Metagraph> {
    let subnet = state.subnet(netuid)?;
    let info = subnet.info.get();
    let neurons = &subnet.neurons.get().neurons;
    let stakes = subnet.stakes.get();
    fn column<T>(neurons: &[tao_runtime::Neuron], f: impl Fn(&tao_runtime::Neuron) -> T) -> Vec<T> {
        neurons.iter().map(f).collect()
    }
    let rows =
        |pairs: &[(tao_primitives::Uid, u16)]| pairs.iter().map(|(u, v)| (u.get(), *v)).collect();
    Some(api::Metagraph {
        netuid: netuid.get(),
        block: state.block().get(),
        n: neurons.len() as u64,
        owner_hotkey: address(&info.owner_hotkey),
        owner_coldkey: address(&info.owner_coldkey),
        tempo: info.params.tempo,
        last_epoch_block: info.last_epoch_block.get(),
        pool: api::Pool {
            tao: info.pool.tao,
            alpha_in: info.pool.alpha,
            alpha_out: api::BigAmount(info.alpha_out.get()),
            price: info.pool.price().to_string(),
            moving_price: info.moving_price.to_string(),
        },
        hotkeys: column(neurons, |n| address(&n.hotkey)),
        coldkeys: column(neurons, |n| address(&n.coldkey)),
        alpha_stake: column(neurons, |n| stakes.get(&n.hotkey).map_or(0, |s| s.total)),
        root_stake: column(neurons, |n| state.root_stake(&n.hotkey).map_or(0, |r| r.total)),
        active: column(neurons, |n| n.epoch.active),
        validator_permit: column(neurons, |n| n.epoch.validator_permit),
        consensus: column(neurons, |n| n.epoch.consensus),
        incentive: column(neurons, |n| n.epoch.incentive),
        dividends: column(neurons, |n| n.epoch.dividends),
        validator_trust: column(neurons, |n| n.epoch.validator_trust),
        emission: column(neurons, |n| n.epoch.emission),
        last_update: column(neurons, |n| n.last_update.get()),
        block_at_registration: column(neurons, |n| n.block_at_registration.get()),
        axons: column(neurons, |n| {
            n.axon.map(|(block, a)| api::Axon {
                block: block.get(),
                version: a.version,
                ip: a.ip_addr(),
                port: a.port,
                ip_type: a.ip_type.number(),
                protocol: a.protocol,
            })
        }),
        weights: column(neurons, |n| rows(&n.weights)),
        bonds: column(neurons, |n| rows(&n.bonds)),
        hyperparameters: hyperparameters(info),
    })
}

fn hyperparameters(info: &tao_runtime::SubnetInfo) -> api::Hyperparameters {
    let p = &info.params;
    api::Hyperparameters {
        rho: p.rho,
        kappa: p.kappa,
        immunity_period: p.immunity_period,
        min_allowed_weights: p.min_allowed_weights,
        tempo: p.tempo,
        activity_cutoff_factor: p.activity_cutoff_factor,
        weights_version: p.weights_version,
        weights_rate_limit: p.weights_rate_limit,
        registration_allowed: p.registration_allowed,
        pow_registration_allowed: p.pow_registration_allowed,
        difficulty: p.difficulty,
        min_burn: p.min_burn.get(),
        max_burn: p.max_burn.get(),
        burn: info.burn.get(),
        burn_half_life: p.burn_half_life,
        bonds_moving_avg: p.bonds_moving_average,
        bonds_penalty: p.bonds_penalty,
        serving_rate_limit: p.serving_rate_limit,
        max_validators: p.max_allowed_validators,
        max_allowed_uids: p.max_allowed_uids,
        commit_reveal_period: p.commit_reveal_period,
        commit_reveal_weights_enabled: p.commit_reveal_enabled,
        liquid_alpha_enabled: p.liquid_alpha_enabled,
        alpha_low: p.alpha_low,
        alpha_high: p.alpha_high,
        alpha_sigmoid_steepness: p.alpha_sigmoid_steepness,
        yuma_version: if p.yuma3 { 3 } else { 2 },
        transfers_enabled: p.transfers_enabled,
        owner_cut_enabled: p.owner_cut_enabled,
        fee_rate: info.fee_rate,
    }
}

/// Every subnet.
pub fn subnets(state: &State) -> Vec<api::SubnetSummary> {
    let shares: BTreeMap<NetUid, String> = tao_runtime::emission_shares(state)
        .into_iter()
        .map(|(netuid, share)| (netuid, share.to_string()))
        .collect();
    state
        .subnets()
        .map(|(netuid, subnet)| {
            let info = subnet.info.get();
            api::SubnetSummary {
                netuid: netuid.get(),
                owner_coldkey: address(&info.owner_coldkey),
                owner_hotkey: address(&info.owner_hotkey),
                tempo: info.params.tempo,
                neurons: subnet.neurons.get().neurons.len() as u64,
                max_uids: info.params.max_allowed_uids,
                burn: info.burn.get(),
                pool_tao: info.pool.tao,
                pool_alpha: info.pool.alpha,
                price: info.pool.price().to_string(),
                moving_price: info.moving_price.to_string(),
                emission_started: info.first_emission_block.is_some(),
                first_emission_block: info.first_emission_block.map(|b| b.get()),
                last_epoch_block: Some(info.last_epoch_block.get()),
                next_epoch_block: next_epoch_block(info, state.block().get()),
                emission_share: shares.get(netuid).cloned(),
            }
        })
        .collect()
}

/// The first block after `head` at which the subnet's epoch is due (the runtime's
/// `should_run_epoch`): `tempo` blocks after the last, or a triggered one sooner; `None`
/// when tempo 0 freezes it.
fn next_epoch_block(info: &tao_runtime::SubnetInfo, head: u64) -> Option<u64> {
    let tempo = u64::from(info.params.tempo);
    if tempo == 0 {
        return None;
    }
    let mut due = info.last_epoch_block.get().saturating_add(tempo);
    let pending = info.pending_epoch_at.get();
    if pending > 0 {
        due = due.min(pending);
    }
    Some(due.max(head.saturating_add(1)))
}

/// The total issuance at which the block emission next halves: the k-th halving comes at
/// `21M × (1 − 2^−k)` TAO; `None` past the last one a u64 can tell apart.
fn next_halving(issuance: u64) -> Option<u64> {
    let supply = tao_economics::TOTAL_SUPPLY.get();
    (1..64).map(|k| supply - (supply >> k)).find(|&threshold| threshold > issuance)
}

/// A block's own events and its transactions' receipts.
pub fn block_receipts(
    block: &Block,
    own_events: &[tao_types::Event],
    receipts: &[(Receipt, Hash)],
) -> api::BlockReceipts {
    api::BlockReceipts {
        block: block.header.number.get(),
        hash: api::H256(block.header.hash()),
        events: own_events.iter().map(event).collect(),
        receipts: receipts.iter().map(|(r, hash)| receipt(r, Some(hash))).collect(),
    }
}

/// Every non-zero stake of `coldkey`: on subnets (alpha), then on root (RAO, netuid 0).
pub fn stakes_of(state: &State, coldkey: &AccountId) -> Vec<api::StakeEntry> {
    let mut stakes = Vec::new();
    for (netuid, subnet) in state.subnets() {
        for (hotkey, pool) in subnet.stakes.get() {
            let alpha = pool.value(coldkey);
            if alpha > 0 {
                stakes.push(api::StakeEntry {
                    netuid: netuid.get(),
                    hotkey: address(hotkey),
                    alpha,
                });
            }
        }
    }
    for (hotkey, root) in state.root_stakes() {
        if let Some(&tao) = root.by_coldkey.get(coldkey).filter(|&&tao| tao > 0) {
            stakes.push(api::StakeEntry { netuid: 0, hotkey: address(hotkey), alpha: tao });
        }
    }
    stakes
}

/// Where all TAO stands in `state` (the head's, numbered `block`).
pub fn issuance(state: &State, block: u64) -> api::Issuance {
    let info = state.chain();
    let held = state.tao_holdings();
    api::Issuance {
        block,
        total_issuance: api::BigAmount(info.total_issuance.get()),
        total_minted: api::BigAmount(info.total_minted.get()),
        total_fees: api::BigAmount(info.total_fees.get()),
        total_registration_burn: api::BigAmount(info.total_registration_burn.get()),
        held: api::Held {
            free: api::WideAmount(held.free),
            pools: api::WideAmount(held.pools),
            root_stake: api::WideAmount(held.root_stake),
            deposits: api::WideAmount(held.deposits),
            channels: api::WideAmount(held.channels),
        },
        block_emission: Some(
            tao_economics::block_emission(info.total_issuance)
                .get()
                .min(tao_economics::TOTAL_SUPPLY.get().saturating_sub(info.total_issuance.get())),
        ),
        next_halving_issuance: next_halving(info.total_issuance.get()).map(api::BigAmount),
    }
}

/// Every hotkey anyone stakes to (on root or a subnet), with its take and nominators.
pub fn delegates(state: &State) -> Vec<api::Delegate> {
    #[derive(Default)]
    struct Entry {
        root: u64,
        subnets: BTreeMap<u16, u64>,
        nominators: BTreeSet<AccountId>,
    }
    let mut all: BTreeMap<AccountId, Entry> = BTreeMap::new();
    for (hotkey, root) in state.root_stakes() {
        let e = all.entry(*hotkey).or_default();
        e.root = root.total;
        e.nominators.extend(root.by_coldkey.iter().filter(|(_, v)| **v > 0).map(|(c, _)| *c));
    }
    for (netuid, subnet) in state.subnets() {
        for (hotkey, pool) in subnet.stakes.get() {
            let e = all.entry(*hotkey).or_default();
            e.subnets.insert(netuid.get(), pool.total);
            e.nominators.extend(pool.coldkeys().filter(|c| pool.value(c) > 0).copied());
        }
    }
    all.into_iter()
        .map(|(hotkey, e)| api::Delegate {
            hotkey: address(&hotkey),
            owner: state.hotkey_owner(&hotkey).as_ref().map(address),
            take: state.take(&hotkey),
            root_stake: e.root,
            alpha_stake: e
                .subnets
                .into_iter()
                .map(|(netuid, alpha)| api::SubnetAlpha { netuid, alpha })
                .collect(),
            nominators: e.nominators.len() as u64,
        })
        .collect()
}

/// A payment channel as the RPC shows it, at the head `state`.
pub fn channel(state: &State, id: ChannelId) -> Option<api::Channel> {
    let c = state.channels().get(id)?;
    let expired = state.block() >= c.expiry;
    Some(api::Channel {
        id: id.get(),
        payer: address(&c.payer),
        payee: address(&c.payee),
        deposit: c.deposit.get(),
        claimed: c.claimed.get(),
        remaining: c.remaining().get(),
        expiry: c.expiry.get(),
        opened_at: c.opened_at.get(),
        state: if expired { api::ChannelState::Expired } else { api::ChannelState::Open },
    })
}

/// The open channels `account` pays or is paid by, lowest ids first, at most
/// [`api::MAX_CHANNELS_LISTED`].
pub fn channels_of(state: &State, account: &AccountId) -> Vec<api::Channel> {
    let mut ids: Vec<ChannelId> = state
        .channels()
        .iter()
        .filter(|(_, c)| c.payer == *account || c.payee == *account)
        .map(|(id, _)| *id)
        .collect();
    ids.sort_unstable();
    ids.truncate(api::MAX_CHANNELS_LISTED);
    ids.into_iter().filter_map(|id| channel(state, id)).collect()
}

fn validator_set(set: &tao_runtime::ValidatorSet) -> api::ValidatorSet {
    api::ValidatorSet {
        epoch: set.epoch,
        members: set
            .members
            .iter()
            .map(|m| api::SetMember {
                controller: address(&m.controller),
                consensus_key: m.consensus_key.to_string(),
                p2p_address: m.p2p_address.clone(),
                bond: m.bond.get(),
            })
            .collect(),
    }
}

fn candidate(view: &tao_runtime::CandidateView) -> api::ValidatorCandidate {
    let c = &view.candidate;
    api::ValidatorCandidate {
        controller: address(&c.controller),
        consensus_key: c.consensus_key.to_string(),
        p2p_address: c.p2p_address.clone(),
        commission: c.commission,
        next_commission: c.next_commission,
        self_bond: c.self_bond().get(),
        total_bond: c.total.get(),
        nominators: u32::try_from(c.nominators()).unwrap_or(u32::MAX),
        jailed_until: c.jailed_until.map(|b| b.get()),
        signed: view.signed,
        missed: view.missed,
        in_current_set: view.in_current_set,
        registered_at: c.registered_at.get(),
    }
}

/// The proof-of-stake part of `tao_validators` on `state`; `None` on a chain with fixed
/// authorities. Every candidate is listed (the runtime keeps at most 1,024).
pub fn proof_of_stake(state: &State) -> Option<api::ProofOfStake> {
    let meta = state.consensus();
    if !meta.enabled {
        return None;
    }
    let params = &state.chain().params.pos;
    let epoch = meta.epoch;
    Some(api::ProofOfStake {
        epoch,
        epoch_length: meta.epoch_length,
        epoch_first_block: meta.epoch_start.get(),
        epoch_last_block: state.epoch_last_block(epoch).get(),
        params: api::StakingParams {
            max_validators: params.max_validators,
            min_validator_bond: params.min_validator_bond.get(),
            min_nomination: params.min_nomination.get(),
            unbonding_period: params.unbonding_period,
            slash_fraction: params.slash_fraction,
            jail_period: params.jail_period,
        },
        current_set: state.validator_set(epoch).map(validator_set),
        next_set: state.validator_set(epoch.saturating_add(1)).map(validator_set),
        candidates: state
            .candidates()
            .filter_map(|c| state.candidate(&c.controller))
            .map(|view| candidate(&view))
            .collect(),
        credited_blocks: meta.credited_blocks,
        fee_pot: api::BigAmount(meta.pot.get()),
        total_rewards: api::BigAmount(meta.total_rewards.get()),
        total_slashed: api::BigAmount(meta.total_slashed.get()),
    })
}

/// `tao_validator`: one candidate with its bonds (the controller's and at most 256
/// nominators', in account order).
pub fn validator(state: &State, controller: &AccountId) -> Option<api::ValidatorDetail> {
    let view = state.candidate(controller)?;
    let bonds = view
        .candidate
        .bonds
        .iter()
        .map(|(account, amount)| api::Bond { account: address(account), amount: amount.get() })
        .collect();
    Some(api::ValidatorDetail { candidate: candidate(&view), bonds })
}

/// `tao_unbonding`: an account's unbonding chunks (at most 32), in the order they were made.
pub fn unbonding(state: &State, account: &AccountId) -> Vec<api::UnbondingChunk> {
    state
        .unbonding(account)
        .iter()
        .map(|c| api::UnbondingChunk {
            validator: address(&c.validator),
            amount: c.amount.get(),
            release_at: c.release_at.get(),
        })
        .collect()
}
