//! Governance: TAO holders propose privileged calls, vote with their stake, and passed
//! proposals take effect on their own, with or without a root key.
//!
//! ```text
//! propose ─ deposit held ─► Voting ──(end of block voting_ends: tally)──┬─► Passed ─(enact_at)─► Enacted | Failed
//!    cancel (proposer) ◄──┘                                              ├─► Rejected (no quorum / below threshold): deposit back
//!                                                                        └─► Rejected (vetoed): deposit burned
//! ```
//!
//! Rules (`docs/governance.md` says why):
//! * Voting power is stake valued in TAO: root stake 1:1, alpha at the subnet's moving
//!   price (floored to the RAO). It is counted at the end of the vote, from the stake as it
//!   then stands: each stake position (hotkey, coldkey, subnet) counts once, for its
//!   coldkey's vote if the coldkey voted, else for its hotkey's vote (nominators follow
//!   their validator unless they vote themselves), else not at all.
//! * A voter's own stake is locked until the vote ends: it cannot be unstaked, moved,
//!   swapped or given away, so it cannot leave before it is counted.
//! * Quorum: turnout (yes + no + abstain + veto) at least `quorum` of all stake. Veto: more
//!   than `veto_threshold` of the turnout rejects and burns the deposit. Pass: yes more than
//!   `threshold` of yes + no + veto. The critical track (the root key, governance's own
//!   parameters) needs at least half of all stake to vote and two thirds yes.
//! * A passed proposal's calls are enacted `enactment_delay` blocks later, all or none.
//!
//! Bounded: at most [`MAX_OPEN_PROPOSALS`] open at once, the last [`KEPT_FINISHED`]
//! finished ones kept for reading; a vote needs stake; every call pays a fee.

use crate::{dispatch::dispatch_privileged, state::State};
use codec::{Decode, Encode};
use std::collections::BTreeMap;
use tao_primitives::{AccountId, BlockNumber, Rao};
use tao_types::{
    DispatchError, Event, PrivilegedCall, ProposalId, Rejection, Tally, Track, VoteChoice,
    MAX_DESCRIPTION_BYTES, MAX_PROPOSAL_CALLS, MAX_TITLE_BYTES,
};

/// Most proposals open (voting or waiting for enactment) at once.
pub const MAX_OPEN_PROPOSALS: usize = 32;
/// Finished proposals kept for reading (older ones are forgotten).
pub const KEPT_FINISHED: usize = 64;
/// Longest voting period or enactment delay a parameter change may set (about 180 days).
pub const MAX_PERIOD_BLOCKS: u64 = 1_296_000;
/// The critical track's least quorum (one half).
pub const CRITICAL_QUORUM: u16 = 32_768;
/// The critical track's least threshold (two thirds).
pub const CRITICAL_THRESHOLD: u16 = 43_690;

/// Governance parameters (global parameters `gov_*`).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct GovParams {
    /// TAO a proposer puts down.
    pub deposit: Rao,
    /// Blocks a proposal is open for votes.
    pub voting_period: u64,
    /// Blocks from passing to enactment.
    pub enactment_delay: u64,
    /// Share of all stake that must vote (u16 proportion).
    pub quorum: u16,
    /// Share of yes among yes, no and veto needed, strictly more (u16 proportion).
    pub threshold: u16,
    /// Share of vetoes among all votes that rejects and burns, strictly more.
    pub veto_threshold: u16,
}

impl Default for GovParams {
    /// Cosmos x/gov's choices, at 12-second blocks: 100 TAO, 7 days of voting, 1 day before
    /// enactment, 33.4 % quorum, more than 50 % yes, more than 33.4 % veto.
    fn default() -> Self {
        Self {
            deposit: Rao::new(100 * 1_000_000_000),
            voting_period: 50_400,
            enactment_delay: 7_200,
            quorum: 21_889,
            threshold: 32_767,
            veto_threshold: 21_889,
        }
    }
}

impl GovParams {
    /// The quorum and threshold a track needs.
    pub fn bar(&self, track: Track) -> (u16, u16) {
        match track {
            Track::Standard => (self.quorum, self.threshold),
            Track::Critical => {
                (self.quorum.max(CRITICAL_QUORUM), self.threshold.max(CRITICAL_THRESHOLD))
            }
        }
    }
}

/// Where a proposal stands.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum ProposalStatus {
    /// Open for votes until the end of block `voting_ends`.
    Voting,
    /// Passed; enacted at the block given.
    Passed {
        /// The block its calls take effect.
        enact_at: BlockNumber,
    },
    /// Did not pass.
    Rejected(Rejection),
    /// Withdrawn by the proposer.
    Cancelled,
    /// Passed and enacted.
    Enacted {
        /// The block.
        at: BlockNumber,
    },
    /// Passed, but a call failed at enactment, so none took effect.
    Failed {
        /// The block.
        at: BlockNumber,
        /// The failing call.
        index: u32,
        /// Why.
        error: DispatchError,
    },
}

impl ProposalStatus {
    /// Whether it still holds a slot (voting, or passed and not yet enacted).
    pub fn is_open(&self) -> bool {
        matches!(self, ProposalStatus::Voting | ProposalStatus::Passed { .. })
    }
}

/// A proposal.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Proposal {
    /// Its number.
    pub id: ProposalId,
    /// Who proposed it.
    pub proposer: AccountId,
    /// What it enacts, in order.
    pub calls: Vec<PrivilegedCall>,
    /// Title.
    pub title: String,
    /// Description.
    pub description: String,
    /// The bar it must clear.
    pub track: Track,
    /// TAO held while it is voting (0 once returned or burned).
    pub deposit: Rao,
    /// The block it was submitted.
    pub submitted: BlockNumber,
    /// The last block votes are taken.
    pub voting_ends: BlockNumber,
    /// Votes by voter.
    pub votes: BTreeMap<AccountId, VoteChoice>,
    /// The final count, once voting ended.
    pub tally: Option<Tally>,
    /// Where it stands.
    pub status: ProposalStatus,
}

/// Governance's part of the state.
#[derive(Clone, Debug, Default, PartialEq, Eq, Encode, Decode)]
pub struct Governance {
    /// The next proposal's number.
    pub next_id: u32,
    /// Open proposals and the most recent finished ones, by number.
    pub proposals: BTreeMap<ProposalId, Proposal>,
    /// Coldkeys whose stake is locked by a vote, with the last block of the lock.
    pub locks: BTreeMap<AccountId, BlockNumber>,
}

impl Governance {
    /// TAO held as deposits.
    pub fn deposits_held(&self) -> u128 {
        self.proposals.values().map(|p| u128::from(p.deposit.get())).sum()
    }

    /// Proposals holding a slot.
    pub fn open_count(&self) -> usize {
        self.proposals.values().filter(|p| p.status.is_open()).count()
    }

    /// The last block of `coldkey`'s vote lock, if it is locked at `now`.
    pub fn locked_until(&self, coldkey: &AccountId, now: BlockNumber) -> Option<BlockNumber> {
        self.locks.get(coldkey).copied().filter(|until| *until >= now)
    }
}

/// Refuses a stake withdrawal (unstake, move, swap, transfer) by a coldkey whose vote is
/// still open.
pub(crate) fn ensure_unlocked(state: &State, coldkey: &AccountId) -> Result<(), DispatchError> {
    match state.governance().locked_until(coldkey, state.block()) {
        Some(until) => Err(DispatchError::StakeLockedByVote { until }),
        None => Ok(()),
    }
}

/// `propose`: validates the proposal (bounds, and that its calls would succeed now), takes
/// the deposit and opens the vote.
pub(crate) fn propose(
    state: &mut State,
    signer: AccountId,
    calls: &[PrivilegedCall],
    title: &str,
    description: &str,
) -> Result<Vec<Event>, DispatchError> {
    if calls.is_empty()
        || calls.len() > MAX_PROPOSAL_CALLS
        || title.trim().is_empty()
        || title.len() > MAX_TITLE_BYTES
        || description.len() > MAX_DESCRIPTION_BYTES
    {
        return Err(DispatchError::ProposalMalformed);
    }
    if state.governance().open_count() >= MAX_OPEN_PROPOSALS {
        return Err(DispatchError::TooManyProposals);
    }
    // The calls must make sense now (on a copy): a proposal that could not pass its own
    // enactment today is refused before it takes a slot and everyone's attention.
    let mut scratch = state.clone();
    for call in calls {
        dispatch_privileged(&mut scratch, call)?;
    }
    let now = state.block();
    let params = state.chain().params.gov.clone();
    let deposit = params.deposit;
    let free = state.account(&signer).free;
    let left = free.checked_sub(deposit).ok_or(DispatchError::InsufficientBalance)?;
    let voting_ends = now.get().checked_add(params.voting_period).ok_or(DispatchError::Overflow)?;
    let id = ProposalId(state.governance().next_id);
    let next_id = id.0.checked_add(1).ok_or(DispatchError::Overflow)?;
    let track = calls.iter().map(PrivilegedCall::track).max().unwrap_or(Track::Standard);

    state.account_mut(&signer).free = left;
    let governance = state.governance_mut();
    governance.next_id = next_id;
    governance.proposals.insert(
        id,
        Proposal {
            id,
            proposer: signer,
            calls: calls.to_vec(),
            title: title.to_owned(),
            description: description.to_owned(),
            track,
            deposit,
            submitted: now,
            voting_ends: BlockNumber::new(voting_ends),
            votes: BTreeMap::new(),
            tally: None,
            status: ProposalStatus::Voting,
        },
    );
    Ok(vec![Event::ProposalSubmitted {
        proposal: id,
        proposer: signer,
        track,
        deposit,
        voting_ends: BlockNumber::new(voting_ends),
    }])
}

/// `vote`: records (or replaces) the signer's vote and locks its own stake until the end.
pub(crate) fn vote(
    state: &mut State,
    signer: AccountId,
    id: ProposalId,
    choice: VoteChoice,
) -> Result<Vec<Event>, DispatchError> {
    let now = state.block();
    let proposal = state.governance().proposals.get(&id).ok_or(DispatchError::ProposalNotOpen)?;
    if proposal.status != ProposalStatus::Voting || now > proposal.voting_ends {
        return Err(DispatchError::ProposalNotOpen);
    }
    let voting_ends = proposal.voting_ends;
    if !has_voting_power(state, &signer) {
        return Err(DispatchError::NoVotingPower);
    }
    let governance = state.governance_mut();
    if let Some(proposal) = governance.proposals.get_mut(&id) {
        proposal.votes.insert(signer, choice);
    }
    let lock = governance.locks.entry(signer).or_insert(voting_ends);
    *lock = (*lock).max(voting_ends);
    Ok(vec![Event::Voted { proposal: id, voter: signer, choice }])
}

/// `cancel_proposal`: the proposer withdraws an open proposal; the deposit goes back.
pub(crate) fn cancel(
    state: &mut State,
    signer: AccountId,
    id: ProposalId,
) -> Result<Vec<Event>, DispatchError> {
    let proposal = state.governance().proposals.get(&id).ok_or(DispatchError::ProposalNotOpen)?;
    if proposal.status != ProposalStatus::Voting {
        return Err(DispatchError::ProposalNotOpen);
    }
    if proposal.proposer != signer {
        return Err(DispatchError::NotProposer);
    }
    let mut events = vec![Event::ProposalCancelled { proposal: id }];
    events.extend(return_deposit(state, id));
    if let Some(proposal) = state.governance_mut().proposals.get_mut(&id) {
        proposal.status = ProposalStatus::Cancelled;
    }
    Ok(events)
}

/// Whether `account` has any stake to vote with: its own as a coldkey, or stake on it as a
/// hotkey.
fn has_voting_power(state: &State, account: &AccountId) -> bool {
    let own_or_on = |hotkey: &AccountId, coldkey: &AccountId, amount: u64| {
        amount > 0 && (coldkey == account || hotkey == account)
    };
    let root = state.root_stakes().iter().any(|(hotkey, root)| {
        root.by_coldkey.iter().any(|(coldkey, tao)| own_or_on(hotkey, coldkey, *tao))
    });
    root || state.subnets().any(|(_, subnet)| {
        subnet.stakes.get().iter().any(|(hotkey, pool)| {
            (hotkey == account && pool.total > 0)
                || pool.shares.get(account).is_some_and(|_| pool.value(account) > 0)
        })
    })
}

/// `alpha` valued in TAO at a moving price (TAO per alpha, I96F32 bits), floored.
fn alpha_value(alpha: u64, moving_price_bits: i128) -> u64 {
    let Ok(price) = u128::try_from(moving_price_bits) else { return 0 };
    let value = u128::from(alpha).saturating_mul(price) >> 32;
    u64::try_from(value).unwrap_or(u64::MAX)
}

/// Every stake position as `(hotkey, coldkey, value in TAO)`, root first, then subnets in
/// netuid order, each in key order.
fn stake_positions(state: &State) -> Vec<(AccountId, AccountId, u64)> {
    let mut positions = Vec::new();
    for (hotkey, root) in state.root_stakes() {
        for (coldkey, tao) in &root.by_coldkey {
            positions.push((*hotkey, *coldkey, *tao));
        }
    }
    for (_, subnet) in state.subnets() {
        let price = subnet.info.get().moving_price.to_bits();
        for (hotkey, pool) in subnet.stakes.get() {
            for coldkey in pool.coldkeys() {
                positions.push((*hotkey, *coldkey, alpha_value(pool.value(coldkey), price)));
            }
        }
    }
    positions
}

/// The count of a proposal's votes on `state` as it stands: each stake position counts
/// once, for its coldkey's vote, else its hotkey's, else not at all.
pub fn tally(state: &State, proposal: &Proposal) -> Tally {
    count(&stake_positions(state), proposal)
}

/// [`tally`] of several proposals on one `state`, reading its stake positions once.
pub fn tallies(state: &State, proposals: &[&Proposal]) -> Vec<Tally> {
    let positions = stake_positions(state);
    proposals.iter().map(|p| count(&positions, p)).collect()
}

/// A proposal's votes counted over `positions` (`stake_positions` of one state).
fn count(positions: &[(AccountId, AccountId, u64)], proposal: &Proposal) -> Tally {
    let mut tally = Tally::default();
    for (hotkey, coldkey, value) in positions {
        let value = Rao::new(*value);
        tally.total = tally.total.saturating_add(value);
        let choice = proposal.votes.get(coldkey).or_else(|| proposal.votes.get(hotkey));
        let bucket = match choice {
            Some(VoteChoice::Yes) => &mut tally.yes,
            Some(VoteChoice::No) => &mut tally.no,
            Some(VoteChoice::Abstain) => &mut tally.abstain,
            Some(VoteChoice::Veto) => &mut tally.veto,
            None => continue,
        };
        *bucket = bucket.saturating_add(value);
    }
    tally
}

/// `a × num / 65535 < b`, exactly.
fn share_below(b: Rao, a: Rao, num: u16) -> bool {
    u128::from(b.get()).saturating_mul(u128::from(u16::MAX))
        < u128::from(a.get()).saturating_mul(u128::from(num))
}

/// `b > a × num / 65535`, exactly.
fn share_above(b: Rao, a: Rao, num: u16) -> bool {
    u128::from(b.get()).saturating_mul(u128::from(u16::MAX))
        > u128::from(a.get()).saturating_mul(u128::from(num))
}

/// The verdict on a final tally: `Ok(())` passes.
pub fn verdict(params: &GovParams, track: Track, tally: &Tally) -> Result<(), Rejection> {
    let (quorum, threshold) = params.bar(track);
    let turnout = tally.turnout();
    if turnout == Rao::ZERO || share_below(turnout, tally.total, quorum) {
        return Err(Rejection::NoQuorum);
    }
    if share_above(tally.veto, turnout, params.veto_threshold) {
        return Err(Rejection::Vetoed);
    }
    let decisive = tally.yes.saturating_add(tally.no).saturating_add(tally.veto);
    if decisive == Rao::ZERO || !share_above(tally.yes, decisive, threshold) {
        return Err(Rejection::BelowThreshold);
    }
    Ok(())
}

fn return_deposit(state: &mut State, id: ProposalId) -> Option<Event> {
    let proposal = state.governance_mut().proposals.get_mut(&id)?;
    let (to, amount) = (proposal.proposer, proposal.deposit);
    proposal.deposit = Rao::ZERO;
    if amount == Rao::ZERO {
        return None;
    }
    let account = state.account_mut(&to);
    account.free = account.free.saturating_add(amount);
    Some(Event::DepositReturned { proposal: id, to, amount })
}

fn burn_deposit(state: &mut State, id: ProposalId) -> Option<Event> {
    let proposal = state.governance_mut().proposals.get_mut(&id)?;
    let amount = proposal.deposit;
    proposal.deposit = Rao::ZERO;
    let chain = state.chain_mut();
    chain.total_issuance = chain.total_issuance.saturating_sub(amount);
    chain.total_deposit_burn = chain.total_deposit_burn.saturating_add(amount);
    Some(Event::DepositBurned { proposal: id, amount })
}

/// Governance's part of every block (after its transactions): votes that end in this block
/// are counted and decided, passed proposals due now are enacted, and what is finished is
/// trimmed to [`KEPT_FINISHED`].
pub(crate) fn on_block(state: &mut State, events: &mut Vec<Event>) {
    let now = state.block();
    let ending: Vec<ProposalId> = state
        .governance()
        .proposals
        .values()
        .filter(|p| p.status == ProposalStatus::Voting && p.voting_ends <= now)
        .map(|p| p.id)
        .collect();
    let params = state.chain().params.gov.clone();
    // Settling deposits moves free balances, not stake: one reading of the stake serves
    // every vote ending in this block.
    let positions = if ending.is_empty() { Vec::new() } else { stake_positions(state) };
    for id in ending {
        let Some(proposal) = state.governance().proposals.get(&id) else { continue };
        let (count, track) = (count(&positions, proposal), proposal.track);
        let status = match verdict(&params, track, &count) {
            Ok(()) => {
                let enact_at = BlockNumber::new(now.get().saturating_add(params.enactment_delay));
                events.push(Event::ProposalPassed { proposal: id, tally: count, enact_at });
                events.extend(return_deposit(state, id));
                ProposalStatus::Passed { enact_at }
            }
            Err(reason) => {
                events.push(Event::ProposalRejected { proposal: id, tally: count, reason });
                let settled = match reason {
                    Rejection::Vetoed => burn_deposit(state, id),
                    Rejection::NoQuorum | Rejection::BelowThreshold => return_deposit(state, id),
                };
                events.extend(settled);
                ProposalStatus::Rejected(reason)
            }
        };
        if let Some(proposal) = state.governance_mut().proposals.get_mut(&id) {
            proposal.tally = Some(count);
            proposal.status = status;
        }
    }
    let due: Vec<ProposalId> = state
        .governance()
        .proposals
        .values()
        .filter(|p| matches!(p.status, ProposalStatus::Passed { enact_at } if enact_at <= now))
        .map(|p| p.id)
        .collect();
    for id in due {
        enact(state, id, events);
    }
    forget_finished(state);
}

/// Enacts a passed proposal: every call on a copy of the state, kept only if all succeed.
fn enact(state: &mut State, id: ProposalId, events: &mut Vec<Event>) {
    let now = state.block();
    let Some(proposal) = state.governance().proposals.get(&id) else { return };
    let calls = proposal.calls.clone();
    let mut scratch = state.clone();
    let mut produced = Vec::new();
    let mut failure = None;
    for (index, call) in calls.iter().enumerate() {
        match dispatch_privileged(&mut scratch, call) {
            Ok(more) => produced.extend(more),
            Err(error) => {
                failure = Some((u32::try_from(index).unwrap_or(u32::MAX), error));
                break;
            }
        }
    }
    let status = match failure {
        None => {
            *state = scratch;
            events.push(Event::ProposalEnacted { proposal: id });
            events.extend(produced);
            ProposalStatus::Enacted { at: now }
        }
        Some((index, error)) => {
            events.push(Event::ProposalEnactmentFailed { proposal: id, index, error });
            ProposalStatus::Failed { at: now, index, error }
        }
    };
    if let Some(proposal) = state.governance_mut().proposals.get_mut(&id) {
        proposal.status = status;
    }
}

/// Keeps the [`KEPT_FINISHED`] most recent finished proposals and drops expired locks.
fn forget_finished(state: &mut State) {
    let now = state.block();
    let governance = state.governance();
    let finished: Vec<ProposalId> =
        governance.proposals.values().filter(|p| !p.status.is_open()).map(|p| p.id).collect();
    let excess = finished.len().saturating_sub(KEPT_FINISHED);
    let stale_locks = governance.locks.values().any(|until| *until < now);
    if excess == 0 && !stale_locks {
        return;
    }
    let governance = state.governance_mut();
    for id in finished.iter().take(excess) {
        governance.proposals.remove(id);
    }
    governance.locks.retain(|_, until| *until >= now);
}
