//! Proof of stake: chain-validator candidates, bonds, epochs, elections, fee rewards,
//! equivocation slashing.
//!
//! ```text
//! register_validator(key, addr, commission, proof)   candidate {controller, key}, key never reused
//! bond(validator, amount)        free −amount, candidate.bonds[signer] +amount   (self-bond or nomination)
//! unbond(validator, amount)      bond −amount, unbonding chunk released at now + unbonding_period
//! block step                     due unbonding chunks → free
//! begin (credit in context)      finality credit verified, its signers credited with blocks
//! fees of paying transactions    → the epoch's pot (instead of burned)
//! end of the last block of e     pot → e's validators by signed blocks (commission, bonders),
//!                                or burned if nobody was credited; elect e+1's set
//! report_equivocation(evidence)  bonds and unbonding chunks of that validator −slash_fraction
//!                                (burned); validator jailed for jail_period
//! unjail                         after the jail period
//! ```
//!
//! Epochs: epoch e covers heights `[start_e, start_e + E_e − 1]`, epoch 0 starting at
//! height 1 (genesis is height 0). `E` is read at each boundary, so a change of
//! `ConsensusEpochLength` takes effect from the next epoch; the start of the current epoch
//! is stored (and a short history of length changes, for older heights).
//!
//! Elections: at the end of the last block of epoch e (after its transactions and
//! governance), the top `MaxValidators` non-jailed candidates by total bond with at least
//! `MinValidatorBond`, ties broken by the smaller consensus key, become epoch e+1's set,
//! ordered by consensus key ascending (commonware's participant order). If none qualifies,
//! the previous set continues (liveness), with a `ValidatorSetKept` event.
//!
//! Decisions (documented choices):
//! * Bonded and unbonding TAO are outside the free balance: they cannot be spent, staked or
//!   transferred. Bonded TAO carries no governance vote.
//! * Slashing hits the validator's bonds (self and nominators) **and** every unbonding
//!   chunk still waiting that came from it, each by `slash_fraction` (floored per bond);
//!   slashed TAO is burned. Every bonder of the validator, nominators included, shares it.
//! * Genesis self-bonds are minted bonded and counted in the issuance (not taken from
//!   genesis balances).
//! * Rewards: the pot is split across the epoch's validators pro rata to credited blocks,
//!   the leftover RAO by largest remainder (ties: set order); each validator's share pays
//!   its commission (floored) to the controller and the rest to its bonders pro rata to
//!   their bonds at the epoch's end (floored); that split's dust goes to the controller.
//!   If no block was credited in the epoch, the pot is burned as fees were before.
//! * A finality credit may certify any of the last [`CREDIT_WINDOW`] blocks of the current
//!   epoch the runtime has seen (it learns each block's hash from the next block's parent
//!   hash), above the last credited height.
//! * Candidates are never removed (so a consensus key is never reused); at most
//!   [`MAX_CANDIDATES`] exist. Registration costs only the fee: a squatter could fill the
//!   table (a deposit or pruning of unbonded candidates is left to a later change).
//!
//! Bounded: [`MAX_CANDIDATES`] candidates, [`MAX_NOMINATORS`] nominators each,
//! [`MAX_UNBONDING_CHUNKS`] unbonding chunks per account, the last [`KEPT_SETS`] sets,
//! [`MAX_REPORTS_PER_EPOCH`] reports per kept epoch, [`CREDIT_WINDOW`] block hashes.

use crate::{cached::Cached, State, StatePart};
use codec::{Decode, Encode};
use std::collections::{BTreeMap, BTreeSet};
use tao_primitives::{AccountId, BlockNumber, Rao};
use tao_types::{
    consensus::{key_proof_message, quorum, vote_message, EvidenceFault},
    ConsensusKey, ConsensusSignature, DispatchError, Equivocation, Event, FinalityCredit, Hash,
};

/// Most validator candidates at once.
pub const MAX_CANDIDATES: usize = 1_024;
/// Most nominators (bonders other than the controller) per candidate.
pub const MAX_NOMINATORS: usize = 256;
/// Most unbonding chunks per account.
pub const MAX_UNBONDING_CHUNKS: usize = 32;
/// Validator sets kept (the current epoch's, the next one's and older ones): evidence
/// about older epochs is `EvidenceTooOld`.
pub const KEPT_SETS: u64 = 8;
/// The largest `MaxValidators`.
pub const MAX_SET_SIZE: u16 = 128;
/// Recent blocks of the current epoch a finality credit may certify.
pub const CREDIT_WINDOW: usize = 1_024;
/// Equivocation reports kept per epoch.
pub const MAX_REPORTS_PER_EPOCH: usize = 1_024;
/// Longest p2p address.
pub const MAX_P2P_ADDRESS_BYTES: usize = 64;
/// Commission is in parts per this.
pub const COMMISSION_DENOMINATOR: u16 = 10_000;
/// Slash fraction is in parts per this.
pub const SLASH_DENOMINATOR: u32 = 1_000_000;
/// Shortest epoch.
pub const MIN_EPOCH_LENGTH: u64 = 10;
/// Longest epoch, unbonding period or jail period (about 180 days).
pub const MAX_PERIOD: u64 = 1_296_000;
/// Epoch-length changes remembered for [`State::consensus_epoch_of`] on old heights.
const KEPT_SEGMENTS: usize = 64;

const BUCKETS: usize = 256;
const TAO: u64 = 1_000_000_000;

/// Proof-of-stake parameters (global parameters).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct PosParams {
    /// Blocks per epoch (E).
    pub epoch_length: u64,
    /// Most validators per epoch (K).
    pub max_validators: u16,
    /// Least total bond to be elected.
    pub min_validator_bond: Rao,
    /// Least TAO one bond adds.
    pub min_nomination: Rao,
    /// Blocks unbonding TAO waits.
    pub unbonding_period: u64,
    /// Share slashed per equivocation, parts per million.
    pub slash_fraction: u32,
    /// Blocks a slashed validator stays jailed.
    pub jail_period: u64,
}

impl Default for PosParams {
    fn default() -> Self {
        Self {
            epoch_length: 360,
            max_validators: 32,
            min_validator_bond: Rao::new(1_000 * TAO),
            min_nomination: Rao::new(TAO),
            unbonding_period: 7 * 360,
            slash_fraction: 50_000,
            jail_period: 2 * 360,
        }
    }
}

/// A member of an epoch's validator set.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct SetMember {
    /// The candidate's controller coldkey.
    pub controller: AccountId,
    /// Its consensus key.
    pub consensus_key: ConsensusKey,
    /// Its p2p address when elected.
    pub p2p_address: String,
    /// Its total bond when elected.
    pub bond: Rao,
}

/// An epoch's validator set, ordered by consensus key ascending (the order is commonware's
/// participant indices).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct ValidatorSet {
    /// The epoch it validates.
    pub epoch: u64,
    /// Its members.
    pub members: Vec<SetMember>,
}

impl ValidatorSet {
    /// The member with `key`, and its index.
    pub fn find(&self, key: &ConsensusKey) -> Option<(usize, &SetMember)> {
        self.members.iter().enumerate().find(|(_, m)| m.consensus_key == *key)
    }
}

/// A validator candidate.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Candidate {
    /// Its controller coldkey (who registered it).
    pub controller: AccountId,
    /// Its consensus key.
    pub consensus_key: ConsensusKey,
    /// Where its node listens, `IP:PORT`.
    pub p2p_address: String,
    /// Commission in effect, parts per 10,000.
    pub commission: u16,
    /// Commission from the next epoch.
    pub next_commission: Option<u16>,
    /// The epoch the commission last changed in (once per epoch).
    pub commission_set_epoch: Option<u64>,
    /// Jailed until this block (then it may unjail); not elected while jailed.
    pub jailed_until: Option<BlockNumber>,
    /// Bonds by bonder (the controller's own is its self-bond).
    pub bonds: BTreeMap<AccountId, Rao>,
    /// Σ bonds.
    pub total: Rao,
    /// The block it registered.
    pub registered_at: BlockNumber,
}

impl Candidate {
    /// The controller's own bond.
    pub fn self_bond(&self) -> Rao {
        self.bonds.get(&self.controller).copied().unwrap_or(Rao::ZERO)
    }

    /// Bonders other than the controller.
    pub fn nominators(&self) -> usize {
        self.bonds.keys().filter(|b| **b != self.controller).count()
    }
}

/// TAO on its way out of a bond.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub struct UnbondChunk {
    /// The candidate it was bonded to.
    pub validator: AccountId,
    /// TAO (lowered if the validator is slashed before release).
    pub amount: Rao,
    /// The block its TAO becomes free (in that block's block step).
    pub release_at: BlockNumber,
}

/// Epochs from `epoch` on start at `start` and last `length` blocks (until the next
/// segment).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub struct EpochSegment {
    /// First epoch of the segment.
    pub epoch: u64,
    /// Its first height.
    pub start: BlockNumber,
    /// Blocks per epoch.
    pub length: u64,
}

/// The proof-of-stake record: epochs, sets, the fee pot, credits, keys, reports.
#[derive(Clone, Debug, Default, PartialEq, Eq, Encode, Decode)]
pub struct ConsensusState {
    /// Whether the chain elects its validators (genesis named `validators`).
    pub enabled: bool,
    /// The epoch of the next block to execute.
    pub epoch: u64,
    /// Its first height.
    pub epoch_start: BlockNumber,
    /// Its length.
    pub epoch_length: u64,
    /// Epoch-length history, oldest first (the last one is the current epoch's).
    pub segments: Vec<EpochSegment>,
    /// Fees of the current epoch, paid at its end.
    pub pot: Rao,
    /// Blocks credited to each validator (controller) in the current epoch.
    pub signed: BTreeMap<AccountId, u64>,
    /// Blocks credited in the current epoch.
    pub credited_blocks: u64,
    /// The last height credited (the epoch's start − 1 when none).
    pub last_credited: BlockNumber,
    /// Recent blocks of the current epoch, height → header hash.
    pub block_hashes: BTreeMap<BlockNumber, Hash>,
    /// The earliest release of any unbonding chunk.
    pub next_release: Option<BlockNumber>,
    /// TAO paid as rewards so far.
    pub total_rewards: Rao,
    /// TAO slashed (burned) so far.
    pub total_slashed: Rao,
}

/// What changes at epoch boundaries, registrations and reports (not every block): the
/// kept validator sets, the registered keys, the equivocations slashed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Encode, Decode)]
pub struct ValidatorSets {
    /// Kept validator sets by epoch (the next epoch's once elected).
    pub sets: BTreeMap<u64, ValidatorSet>,
    /// Every registered consensus key and its controller.
    pub keys: BTreeMap<ConsensusKey, AccountId>,
    /// Equivocations slashed, `(epoch, view, key)`, for kept epochs.
    pub reported: BTreeSet<(u64, u64, ConsensusKey)>,
}

/// The proof-of-stake state: the per-block record, the sets and keys, and candidates and
/// unbonding chunks in buckets by account's first byte.
#[derive(Clone, Debug)]
pub struct ValidatorStore {
    pub(crate) meta: Cached<ConsensusState>,
    pub(crate) sets: Cached<ValidatorSets>,
    pub(crate) candidates: Vec<Cached<BTreeMap<AccountId, Candidate>>>,
    pub(crate) unbonding: Vec<Cached<BTreeMap<AccountId, Vec<UnbondChunk>>>>,
}

impl Default for ValidatorStore {
    fn default() -> Self {
        Self {
            meta: Cached::default(),
            sets: Cached::default(),
            candidates: vec![Cached::default(); BUCKETS],
            unbonding: vec![Cached::default(); BUCKETS],
        }
    }
}

fn bucket(id: &AccountId) -> usize {
    usize::from(id.as_bytes()[0])
}

/// What RPC and CLI show of a candidate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CandidateView {
    /// The candidate (bonds, nominators, commission, jail).
    pub candidate: Candidate,
    /// Blocks credited to it in the current epoch.
    pub signed: u64,
    /// Blocks credited in the current epoch that it did not sign (0 outside the set).
    pub missed: u64,
    /// Whether it validates the current epoch.
    pub in_current_set: bool,
}

impl ValidatorStore {
    /// The record.
    pub fn meta(&self) -> &ConsensusState {
        self.meta.get()
    }

    /// A candidate by controller.
    pub fn candidate(&self, controller: &AccountId) -> Option<&Candidate> {
        self.candidates.get(bucket(controller)).and_then(|b| b.get().get(controller))
    }

    /// Every candidate, in controller order.
    pub fn candidates(&self) -> impl Iterator<Item = &Candidate> {
        self.candidates.iter().flat_map(|b| b.get().values())
    }

    /// An account's unbonding chunks.
    pub fn unbonding(&self, account: &AccountId) -> &[UnbondChunk] {
        self.unbonding
            .get(bucket(account))
            .and_then(|b| b.get().get(account))
            .map_or(&[], Vec::as_slice)
    }

    /// Every account's unbonding chunks, in account order.
    pub fn all_unbonding(&self) -> impl Iterator<Item = (&AccountId, &Vec<UnbondChunk>)> {
        self.unbonding.iter().flat_map(|b| b.get().iter())
    }

    /// Σ bonds.
    pub fn bonded(&self) -> u128 {
        self.candidates().map(|c| u128::from(c.total.get())).sum()
    }

    /// Σ unbonding chunks.
    pub fn unbonding_total(&self) -> u128 {
        self.all_unbonding().flat_map(|(_, v)| v).map(|c| u128::from(c.amount.get())).sum()
    }

    pub(crate) fn meta_mut(&mut self) -> &mut ConsensusState {
        self.meta.make_mut()
    }

    /// The sets, keys and reports.
    pub fn sets(&self) -> &ValidatorSets {
        self.sets.get()
    }

    pub(crate) fn sets_mut(&mut self) -> &mut ValidatorSets {
        self.sets.make_mut()
    }

    pub(crate) fn candidate_mut(&mut self, controller: &AccountId) -> Option<&mut Candidate> {
        self.candidates.get_mut(bucket(controller)).and_then(|b| b.make_mut().get_mut(controller))
    }

    fn insert_candidate(&mut self, candidate: Candidate) {
        if let Some(b) = self.candidates.get_mut(bucket(&candidate.controller)) {
            b.make_mut().insert(candidate.controller, candidate);
        }
    }

    fn unbonding_mut(&mut self, account: &AccountId) -> Option<&mut Vec<UnbondChunk>> {
        self.unbonding.get_mut(bucket(account)).map(|b| b.make_mut().entry(*account).or_default())
    }

    pub(crate) fn part_digests(&self, parts: &mut Vec<(StatePart, Hash)>) {
        parts.push((StatePart::Consensus, self.meta.digest()));
        parts.push((StatePart::ValidatorSets, self.sets.digest()));
        for (k, b) in (0..=u8::MAX).zip(&self.candidates) {
            parts.push((StatePart::Candidates(k), b.digest()));
        }
        for (k, b) in (0..=u8::MAX).zip(&self.unbonding) {
            parts.push((StatePart::Unbonding(k), b.digest()));
        }
    }
}

impl ConsensusState {
    /// The epoch of `height` (0 for genesis). Heights past the current epoch assume the
    /// epoch length does not change.
    pub fn epoch_of(&self, height: BlockNumber) -> u64 {
        let h = height.get().max(1);
        let length = self.epoch_length.max(1);
        if h >= self.epoch_start.get() {
            let since = h.saturating_sub(self.epoch_start.get());
            return self.epoch.saturating_add(since.checked_div(length).unwrap_or(0));
        }
        let segment = self.segments.iter().rev().find(|s| s.start.get() <= h);
        match segment {
            Some(s) => {
                let since = h.saturating_sub(s.start.get());
                s.epoch.saturating_add(since.checked_div(s.length.max(1)).unwrap_or(0))
            }
            // Older than the history kept (more than 64 length changes ago): unknown, 0.
            None => 0,
        }
    }

    /// The last height of epoch `e`.
    pub fn last_block(&self, e: u64) -> BlockNumber {
        let (epoch, start, length) = if e >= self.epoch {
            (self.epoch, self.epoch_start, self.epoch_length)
        } else {
            match self.segments.iter().rev().find(|s| s.epoch <= e) {
                Some(s) => (s.epoch, s.start, s.length),
                None => (self.epoch, self.epoch_start, self.epoch_length),
            }
        };
        let epochs = e.saturating_sub(epoch).saturating_add(1);
        BlockNumber::new(
            start.get().saturating_add(epochs.saturating_mul(length)).saturating_sub(1),
        )
    }
}

type Outcome = Result<Vec<Event>, DispatchError>;

fn enabled(state: &State) -> Result<(), DispatchError> {
    if state.validators.meta().enabled {
        Ok(())
    } else {
        Err(DispatchError::ValidatorsDisabled)
    }
}

/// Checks a p2p address: `IP:PORT`, at most 64 bytes, a port above 0, a specified IP.
pub fn valid_p2p_address(address: &str) -> bool {
    if address.len() > MAX_P2P_ADDRESS_BYTES {
        return false;
    }
    match address.parse::<std::net::SocketAddr>() {
        Ok(socket) => socket.port() != 0 && !socket.ip().is_unspecified(),
        Err(_) => false,
    }
}

/// `register_validator`.
pub(crate) fn register(
    state: &mut State,
    signer: AccountId,
    consensus_key: ConsensusKey,
    p2p_address: &str,
    commission: u16,
    proof: &ConsensusSignature,
) -> Outcome {
    enabled(state)?;
    if state.validators.candidate(&signer).is_some() {
        return Err(DispatchError::ValidatorAlreadyRegistered);
    }
    let keys = &state.validators.sets().keys;
    if keys.contains_key(&consensus_key) {
        return Err(DispatchError::ConsensusKeyInUse);
    }
    if !valid_p2p_address(p2p_address) {
        return Err(DispatchError::InvalidP2pAddress);
    }
    if commission > COMMISSION_DENOMINATOR {
        return Err(DispatchError::CommissionTooHigh);
    }
    if keys.len() >= MAX_CANDIDATES {
        return Err(DispatchError::TooManyCandidates);
    }
    if !consensus_key.verify(&key_proof_message(&state.genesis_hash(), &signer), proof) {
        return Err(DispatchError::InvalidKeyProof);
    }
    let now = state.block();
    state.validators.sets_mut().keys.insert(consensus_key, signer);
    state.validators.insert_candidate(Candidate {
        controller: signer,
        consensus_key,
        p2p_address: p2p_address.to_owned(),
        commission,
        next_commission: None,
        commission_set_epoch: None,
        jailed_until: None,
        bonds: BTreeMap::new(),
        total: Rao::ZERO,
        registered_at: now,
    });
    Ok(vec![Event::ValidatorRegistered {
        controller: signer,
        consensus_key,
        p2p_address: p2p_address.to_owned(),
        commission,
    }])
}

/// `set_validator_info`.
pub(crate) fn set_info(
    state: &mut State,
    signer: AccountId,
    p2p_address: Option<&str>,
    commission: Option<u16>,
) -> Outcome {
    enabled(state)?;
    let epoch = state.validators.meta().epoch;
    let candidate = state.validators.candidate(&signer).ok_or(DispatchError::NotValidator)?;
    if let Some(address) = p2p_address {
        if !valid_p2p_address(address) {
            return Err(DispatchError::InvalidP2pAddress);
        }
    }
    if let Some(commission) = commission {
        if commission > COMMISSION_DENOMINATOR {
            return Err(DispatchError::CommissionTooHigh);
        }
        if candidate.commission_set_epoch == Some(epoch) {
            return Err(DispatchError::CommissionRateLimited);
        }
    }
    let Some(candidate) = state.validators.candidate_mut(&signer) else {
        return Err(DispatchError::NotValidator);
    };
    if let Some(address) = p2p_address {
        address.clone_into(&mut candidate.p2p_address);
    }
    if let Some(commission) = commission {
        candidate.next_commission = Some(commission);
        candidate.commission_set_epoch = Some(epoch);
    }
    Ok(vec![Event::ValidatorInfoSet {
        controller: signer,
        p2p_address: p2p_address.map(str::to_owned),
        commission,
    }])
}

/// `bond`.
pub(crate) fn bond(
    state: &mut State,
    signer: AccountId,
    validator: AccountId,
    amount: Rao,
) -> Outcome {
    enabled(state)?;
    let candidate = state.validators.candidate(&validator).ok_or(DispatchError::NotValidator)?;
    let min = state.chain().params.pos.min_nomination;
    if amount < min || amount.is_zero() {
        return Err(DispatchError::BondTooLow);
    }
    let free = state.account(&signer).free;
    let left = free.checked_sub(amount).ok_or(DispatchError::InsufficientBalance)?;
    let is_new_nominator = signer != validator && !candidate.bonds.contains_key(&signer);
    if is_new_nominator && candidate.nominators() >= MAX_NOMINATORS {
        return Err(DispatchError::TooManyNominators);
    }
    let total = candidate.total.checked_add(amount).ok_or(DispatchError::Overflow)?;
    let bonded = candidate
        .bonds
        .get(&signer)
        .copied()
        .unwrap_or(Rao::ZERO)
        .checked_add(amount)
        .ok_or(DispatchError::Overflow)?;
    state.account_mut(&signer).free = left;
    if let Some(candidate) = state.validators.candidate_mut(&validator) {
        candidate.bonds.insert(signer, bonded);
        candidate.total = total;
    }
    Ok(vec![Event::Bonded { bonder: signer, validator, amount }])
}

/// `unbond`.
pub(crate) fn unbond(
    state: &mut State,
    signer: AccountId,
    validator: AccountId,
    amount: Rao,
) -> Outcome {
    enabled(state)?;
    let candidate = state.validators.candidate(&validator).ok_or(DispatchError::NotValidator)?;
    let bonded = candidate.bonds.get(&signer).copied().unwrap_or(Rao::ZERO);
    if amount.is_zero() {
        return Err(DispatchError::BondTooLow);
    }
    let left = bonded.checked_sub(amount).ok_or(DispatchError::NotEnoughBonded)?;
    let total = candidate.total.checked_sub(amount).ok_or(DispatchError::NotEnoughBonded)?;
    if state.validators.unbonding(&signer).len() >= MAX_UNBONDING_CHUNKS {
        return Err(DispatchError::TooManyUnbondingChunks);
    }
    let period = state.chain().params.pos.unbonding_period;
    let release_at = state.block().checked_add(period).ok_or(DispatchError::Overflow)?;
    if let Some(candidate) = state.validators.candidate_mut(&validator) {
        if left.is_zero() {
            candidate.bonds.remove(&signer);
        } else {
            candidate.bonds.insert(signer, left);
        }
        candidate.total = total;
    }
    if let Some(chunks) = state.validators.unbonding_mut(&signer) {
        chunks.push(UnbondChunk { validator, amount, release_at });
    }
    let meta = state.validators.meta_mut();
    meta.next_release = Some(meta.next_release.map_or(release_at, |r| r.min(release_at)));
    Ok(vec![Event::Unbonded { bonder: signer, validator, amount, release_at }])
}

/// `unjail`.
pub(crate) fn unjail(state: &mut State, signer: AccountId) -> Outcome {
    enabled(state)?;
    let candidate = state.validators.candidate(&signer).ok_or(DispatchError::NotValidator)?;
    let until = candidate.jailed_until.ok_or(DispatchError::NotJailed)?;
    if state.block() < until {
        return Err(DispatchError::StillJailed { until });
    }
    if let Some(candidate) = state.validators.candidate_mut(&signer) {
        candidate.jailed_until = None;
    }
    Ok(vec![Event::ValidatorUnjailed { validator: signer }])
}

/// `floor(a × b / c)` and the remainder, exactly (0 when `c` is 0).
fn mul_div(a: u128, b: u128, c: u128) -> (u128, u128) {
    let product = a.saturating_mul(b);
    (product.checked_div(c).unwrap_or(0), product.checked_rem(c).unwrap_or(0))
}

/// `amount × parts / denominator`, floored.
fn part_of(amount: Rao, parts: u64, denominator: u64) -> Rao {
    let (q, _) = mul_div(u128::from(amount.get()), u128::from(parts), u128::from(denominator));
    Rao::new(u64::try_from(q).unwrap_or(u64::MAX))
}

/// `report_equivocation`: verifies, slashes the validator's bonders (bonds and unbonding
/// chunks) by the slash fraction, burns it, and jails the validator.
pub(crate) fn report(state: &mut State, evidence: &Equivocation) -> Outcome {
    enabled(state)?;
    let (epoch, view) = evidence.round();
    let signer = evidence.signer();
    let meta = state.validators.sets();
    let oldest = meta.sets.keys().next().copied().unwrap_or(0);
    if epoch < oldest {
        return Err(DispatchError::EvidenceTooOld);
    }
    let set = meta.sets.get(&epoch).ok_or(DispatchError::EvidenceUnknownEpoch)?;
    let (_, member) = set.find(&signer).ok_or(DispatchError::EvidenceNotValidator)?;
    let controller = member.controller;
    if meta.reported.contains(&(epoch, view, signer)) {
        return Err(DispatchError::EquivocationAlreadyReported);
    }
    let epoch_reports =
        (epoch, 0, ConsensusKey::default())..(epoch.saturating_add(1), 0, ConsensusKey::default());
    let in_epoch = meta.reported.range(epoch_reports).count();
    if in_epoch >= MAX_REPORTS_PER_EPOCH {
        return Err(DispatchError::TooManyReports);
    }
    evidence.check(&state.genesis_hash()).map_err(|fault| match fault {
        EvidenceFault::DifferentRounds => DispatchError::EvidenceDifferentRounds,
        EvidenceFault::SameProposal => DispatchError::EvidenceNotConflicting,
        EvidenceFault::BadSignature => DispatchError::InvalidEvidenceSignature,
    })?;
    if state.validators.candidate(&controller).is_none() {
        return Err(DispatchError::NotValidator);
    }
    let params = state.chain().params.pos.clone();
    let fraction = u64::from(params.slash_fraction);
    let denominator = u64::from(SLASH_DENOMINATOR);
    let mut slashed = Rao::ZERO;
    // Bonds.
    if let Some(candidate) = state.validators.candidate_mut(&controller) {
        let mut total = Rao::ZERO;
        for bond in candidate.bonds.values_mut() {
            let cut = part_of(*bond, fraction, denominator);
            *bond = bond.saturating_sub(cut);
            slashed = slashed.saturating_add(cut);
            total = total.saturating_add(*bond);
        }
        candidate.bonds.retain(|_, bond| !bond.is_zero());
        candidate.total = total;
    }
    // Unbonding chunks from this validator.
    for b in &mut state.validators.unbonding {
        let hit =
            b.get().values().flatten().any(|c| c.validator == controller && !c.amount.is_zero());
        if !hit {
            continue;
        }
        for chunks in b.make_mut().values_mut() {
            for chunk in chunks.iter_mut().filter(|c| c.validator == controller) {
                let cut = part_of(chunk.amount, fraction, denominator);
                chunk.amount = chunk.amount.saturating_sub(cut);
                slashed = slashed.saturating_add(cut);
            }
        }
    }
    let now = state.block();
    let until = now.checked_add(params.jail_period).unwrap_or(now);
    let mut jailed_until = until;
    if let Some(candidate) = state.validators.candidate_mut(&controller) {
        jailed_until = candidate.jailed_until.map_or(until, |u| u.max(until));
        candidate.jailed_until = Some(jailed_until);
    }
    state.validators.sets_mut().reported.insert((epoch, view, signer));
    let meta = state.validators.meta_mut();
    meta.total_slashed = meta.total_slashed.saturating_add(slashed);
    let chain = state.chain_mut();
    chain.total_issuance = chain.total_issuance.saturating_sub(slashed);
    Ok(vec![
        Event::ValidatorSlashed { validator: controller, epoch, view, amount: slashed },
        Event::ValidatorJailed { validator: controller, until: jailed_until },
    ])
}

/// Why a block's finality credit is refused (the block is invalid).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CreditError {
    /// The chain has no elected validator sets.
    #[error("this chain has no elected validator sets")]
    NoValidatorSet,
    /// The credit is for another epoch than the block's.
    #[error("the credit is for epoch {got}, the block is in epoch {expected}")]
    WrongEpoch {
        /// The block's epoch.
        expected: u64,
        /// The credit's.
        got: u64,
    },
    /// The certified block is not one of this epoch's recent blocks.
    #[error("the credited block is not a recent block of this epoch")]
    UnknownBlock,
    /// The certified block is at or below the last credited height.
    #[error("blocks up to {last} are already credited")]
    AlreadyCredited {
        /// The last credited height.
        last: BlockNumber,
    },
    /// A signer index outside the set, or indices not strictly ascending.
    #[error("signer index {index} is outside the set or out of order")]
    BadSignerIndex {
        /// The index.
        index: u32,
    },
    /// A signature does not verify.
    #[error("the signature of signer {index} does not verify")]
    BadSignature {
        /// The index.
        index: u32,
    },
    /// Fewer distinct signers than the quorum.
    #[error("{signers} signers, the quorum is {quorum}")]
    NoQuorum {
        /// Valid distinct signers.
        signers: u32,
        /// The quorum.
        quorum: u32,
    },
}

/// A verified credit: the height certified and the controllers who signed.
pub(crate) struct VerifiedCredit {
    height: BlockNumber,
    signers: Vec<AccountId>,
}

/// Verifies the credit a block at `number` (whose parent hash is `parent_hash`) carries,
/// on the state before the block (read-only).
pub(crate) fn check_credit(
    state: &State,
    number: BlockNumber,
    parent_hash: Hash,
    credit: &FinalityCredit,
) -> Result<VerifiedCredit, CreditError> {
    let meta = state.validators.meta();
    if !meta.enabled {
        return Err(CreditError::NoValidatorSet);
    }
    if credit.epoch != meta.epoch {
        return Err(CreditError::WrongEpoch { expected: meta.epoch, got: credit.epoch });
    }
    let set = state.validators.sets().sets.get(&meta.epoch).ok_or(CreditError::NoValidatorSet)?;
    let parent = BlockNumber::new(number.get().saturating_sub(1));
    let height = if parent >= meta.epoch_start && parent_hash == credit.block {
        parent
    } else {
        meta.block_hashes
            .iter()
            .find(|(_, hash)| **hash == credit.block)
            .map(|(height, _)| *height)
            .ok_or(CreditError::UnknownBlock)?
    };
    if height <= meta.last_credited {
        return Err(CreditError::AlreadyCredited { last: meta.last_credited });
    }
    let message = vote_message(&state.genesis_hash(), &credit.vote());
    let mut previous: Option<u32> = None;
    let mut signers = Vec::with_capacity(credit.signatures.len());
    for (index, signature) in &credit.signatures {
        let bad = CreditError::BadSignerIndex { index: *index };
        if previous.is_some_and(|p| *index <= p) {
            return Err(bad);
        }
        previous = Some(*index);
        let member = usize::try_from(*index).ok().and_then(|i| set.members.get(i)).ok_or(bad)?;
        if !member.consensus_key.verify(&message, signature) {
            return Err(CreditError::BadSignature { index: *index });
        }
        signers.push(member.controller);
    }
    let needed = quorum(set.members.len());
    if signers.len() < needed {
        return Err(CreditError::NoQuorum {
            signers: u32::try_from(signers.len()).unwrap_or(u32::MAX),
            quorum: u32::try_from(needed).unwrap_or(u32::MAX),
        });
    }
    Ok(VerifiedCredit { height, signers })
}

/// Begin of a block (after the block number advanced): remembers the parent's hash if it
/// is in the current epoch, and applies a verified credit.
pub(crate) fn begin_block(
    state: &mut State,
    parent_hash: Hash,
    credit: Option<VerifiedCredit>,
    events: &mut Vec<Event>,
) {
    if !state.validators.meta().enabled {
        return;
    }
    let parent = BlockNumber::new(state.block().get().saturating_sub(1));
    let meta = state.validators.meta_mut();
    if parent >= meta.epoch_start && parent.get() >= 1 {
        meta.block_hashes.insert(parent, parent_hash);
        while meta.block_hashes.len() > CREDIT_WINDOW {
            meta.block_hashes.pop_first();
        }
    }
    let Some(credit) = credit else { return };
    let blocks = credit.height.saturating_since(meta.last_credited);
    for signer in &credit.signers {
        let count = meta.signed.entry(*signer).or_insert(0);
        *count = count.saturating_add(blocks);
    }
    meta.credited_blocks = meta.credited_blocks.saturating_add(blocks);
    meta.last_credited = credit.height;
    events.push(Event::FinalityCredited {
        epoch: meta.epoch,
        height: credit.height,
        signers: u32::try_from(credit.signers.len()).unwrap_or(u32::MAX),
    });
}

/// The block step's part: unbonding chunks due now become free.
pub(crate) fn release_unbonding(state: &mut State, events: &mut Vec<Event>) {
    let now = state.block();
    match state.validators.meta().next_release {
        Some(at) if at <= now => {}
        _ => return,
    }
    let mut released: Vec<(AccountId, Rao)> = Vec::new();
    let mut next: Option<BlockNumber> = None;
    for b in &mut state.validators.unbonding {
        let due = b.get().values().flatten().any(|c| c.release_at <= now);
        if due {
            let map = b.make_mut();
            for (account, chunks) in map.iter_mut() {
                let mut amount = Rao::ZERO;
                chunks.retain(|c| {
                    if c.release_at <= now {
                        amount = amount.saturating_add(c.amount);
                        false
                    } else {
                        true
                    }
                });
                released.push((*account, amount));
            }
            map.retain(|_, chunks| !chunks.is_empty());
        }
        for chunk in b.get().values().flatten() {
            next = Some(next.map_or(chunk.release_at, |n| n.min(chunk.release_at)));
        }
    }
    state.validators.meta_mut().next_release = next;
    for (account, amount) in released {
        if amount.is_zero() {
            // Nothing due for this account (or slashed to nothing).
            continue;
        }
        let a = state.account_mut(&account);
        a.free = a.free.saturating_add(amount);
        events.push(Event::UnbondingReleased { account, amount });
    }
}

/// A paying transaction's fee: into the epoch's pot on a proof-of-stake chain (`true`),
/// else the caller burns it (`false`).
pub(crate) fn collect_fee(state: &mut State, fee: Rao) -> bool {
    if !state.validators.meta().enabled {
        return false;
    }
    let meta = state.validators.meta_mut();
    meta.pot = meta.pot.saturating_add(fee);
    true
}

/// The end of every block (after governance): at the last block of the epoch, pays the
/// epoch's rewards, elects the next set and starts the next epoch.
pub(crate) fn end_block(state: &mut State, events: &mut Vec<Event>) {
    let meta = state.validators.meta();
    if !meta.enabled || state.block() != meta.last_block(meta.epoch) {
        return;
    }
    let epoch = meta.epoch;
    pay_rewards(state, epoch, events);
    apply_commissions(state);
    elect(state, epoch.saturating_add(1), events);
    let now = state.block();
    let length = state.chain().params.pos.epoch_length.max(1);
    let meta = state.validators.meta_mut();
    let next = epoch.saturating_add(1);
    let start = now.next().unwrap_or(now);
    meta.epoch = next;
    meta.epoch_start = start;
    if meta.epoch_length != length || meta.segments.is_empty() {
        meta.segments.push(EpochSegment { epoch: next, start, length });
        let excess = meta.segments.len().saturating_sub(KEPT_SEGMENTS);
        meta.segments.drain(..excess);
    }
    meta.epoch_length = length;
    meta.pot = Rao::ZERO;
    meta.signed.clear();
    meta.credited_blocks = 0;
    meta.last_credited = now;
    meta.block_hashes.clear();
    let oldest = next.saturating_add(1).saturating_sub(KEPT_SETS);
    let sets = state.validators.sets.get();
    let stale = sets.sets.keys().next().is_some_and(|e| *e < oldest)
        || sets.reported.first().is_some_and(|(e, _, _)| *e < oldest);
    if stale {
        let sets = state.validators.sets_mut();
        sets.sets.retain(|e, _| *e >= oldest);
        sets.reported.retain(|(e, _, _)| *e >= oldest);
    }
}

/// Splits the pot of `epoch` (module docs), or burns it if nobody was credited.
fn pay_rewards(state: &mut State, epoch: u64, events: &mut Vec<Event>) {
    let meta = state.validators.meta();
    let pot = meta.pot;
    if pot.is_zero() {
        return;
    }
    let members: Vec<(AccountId, u64)> = state
        .validators
        .sets()
        .sets
        .get(&epoch)
        .map(|set| {
            set.members
                .iter()
                .map(|m| (m.controller, meta.signed.get(&m.controller).copied().unwrap_or(0)))
                .collect()
        })
        .unwrap_or_default();
    let total_signed: u128 = members.iter().map(|(_, s)| u128::from(*s)).sum();
    if total_signed == 0 {
        let chain = state.chain_mut();
        chain.total_issuance = chain.total_issuance.saturating_sub(pot);
        chain.total_fees = chain.total_fees.saturating_add(pot);
        state.validators.meta_mut().pot = Rao::ZERO;
        events.push(Event::EpochFeesBurned { epoch, amount: pot });
        return;
    }
    let shares = largest_remainder(pot.get(), &members.iter().map(|(_, s)| *s).collect::<Vec<_>>());
    let mut paid = Rao::ZERO;
    for ((controller, signed), share) in members.iter().zip(shares) {
        let share = Rao::new(share);
        if share.is_zero() {
            continue;
        }
        paid = paid.saturating_add(share);
        let Some(candidate) = state.validators.candidate(controller) else {
            // Candidates are never removed; pay the controller if it ever were.
            credit(state, controller, share);
            continue;
        };
        let commission =
            part_of(share, u64::from(candidate.commission), u64::from(COMMISSION_DENOMINATOR));
        let rest = share.saturating_sub(commission);
        let total = candidate.total;
        let mut payments: Vec<(AccountId, Rao)> = Vec::new();
        let mut given = Rao::ZERO;
        if !total.is_zero() {
            for (bonder, bond) in &candidate.bonds {
                let amount = part_of(rest, bond.get(), total.get());
                given = given.saturating_add(amount);
                payments.push((*bonder, amount));
            }
        }
        let controller_gets = commission.saturating_add(rest.saturating_sub(given));
        payments.push((*controller, controller_gets));
        for (account, amount) in payments {
            credit(state, &account, amount);
        }
        events.push(Event::ValidatorRewarded {
            epoch,
            validator: *controller,
            signed: *signed,
            reward: share,
            commission,
        });
    }
    let meta = state.validators.meta_mut();
    meta.pot = Rao::ZERO;
    meta.total_rewards = meta.total_rewards.saturating_add(paid);
}

fn credit(state: &mut State, account: &AccountId, amount: Rao) {
    if amount.is_zero() {
        return;
    }
    let a = state.account_mut(account);
    a.free = a.free.saturating_add(amount);
}

/// `total` split by `weights` (not all zero): each `floor(total × w / Σw)`, the RAO left
/// over one each to the largest remainders (ties: earlier first).
pub(crate) fn largest_remainder(total: u64, weights: &[u64]) -> Vec<u64> {
    let sum: u128 = weights.iter().map(|w| u128::from(*w)).sum();
    let mut shares = Vec::with_capacity(weights.len());
    let mut remainders = Vec::with_capacity(weights.len());
    let mut given: u128 = 0;
    for (i, w) in weights.iter().enumerate() {
        let (q, r) = mul_div(u128::from(total), u128::from(*w), sum);
        given = given.saturating_add(q);
        shares.push(u64::try_from(q).unwrap_or(u64::MAX));
        remainders.push((r, i));
    }
    let mut left = u128::from(total).saturating_sub(given);
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, i) in remainders {
        if left == 0 {
            break;
        }
        if let Some(share) = shares.get_mut(i) {
            *share = share.saturating_add(1);
            left = left.saturating_sub(1);
        }
    }
    shares
}

/// Commission changes take effect at the epoch boundary.
fn apply_commissions(state: &mut State) {
    for b in &mut state.validators.candidates {
        if b.get().values().any(|c| c.next_commission.is_some()) {
            for c in b.make_mut().values_mut() {
                if let Some(next) = c.next_commission.take() {
                    c.commission = next;
                }
            }
        }
    }
}

/// The top `k` candidates by total bond (at least `min`, not jailed; ties: smaller key),
/// ordered by consensus key.
pub fn top_candidates<'a>(
    candidates: impl Iterator<Item = &'a Candidate>,
    k: u16,
    min: Rao,
) -> Vec<SetMember> {
    let mut eligible: Vec<&Candidate> = candidates
        .filter(|c| c.jailed_until.is_none() && c.total >= min && !c.total.is_zero())
        .collect();
    eligible.sort_by(|a, b| b.total.cmp(&a.total).then(a.consensus_key.cmp(&b.consensus_key)));
    eligible.truncate(usize::from(k.min(MAX_SET_SIZE)));
    let mut members: Vec<SetMember> = eligible
        .into_iter()
        .map(|c| SetMember {
            controller: c.controller,
            consensus_key: c.consensus_key,
            p2p_address: c.p2p_address.clone(),
            bond: c.total,
        })
        .collect();
    members.sort_by_key(|m| m.consensus_key);
    members
}

/// Elects the set of `epoch` (the previous one continues if nobody qualifies).
fn elect(state: &mut State, epoch: u64, events: &mut Vec<Event>) {
    let params = state.chain().params.pos.clone();
    let members = top_candidates(
        state.validators.candidates(),
        params.max_validators,
        params.min_validator_bond,
    );
    let meta = state.validators.sets_mut();
    if members.is_empty() {
        let previous = meta.sets.get(&epoch.saturating_sub(1)).map(|s| s.members.clone());
        meta.sets.insert(epoch, ValidatorSet { epoch, members: previous.unwrap_or_default() });
        events.push(Event::ValidatorSetKept { epoch });
        return;
    }
    events.push(Event::ValidatorSetElected {
        epoch,
        members: members.iter().map(|m| (m.controller, m.consensus_key, m.bond)).collect(),
    });
    meta.sets.insert(epoch, ValidatorSet { epoch, members });
}

/// Genesis: the first epoch's validators, self-bonded (minted bonded). Returns the TAO
/// bonded.
pub(crate) fn genesis_validators(
    state: &mut State,
    validators: &[tao_types::GenesisValidator],
) -> Result<Rao, crate::GenesisError> {
    use crate::GenesisError as E;
    let params = state.chain().params.pos.clone();
    let start = BlockNumber::new(1);
    let meta = state.validators.meta_mut();
    meta.epoch = 0;
    meta.epoch_start = start;
    meta.epoch_length = params.epoch_length;
    meta.segments = vec![EpochSegment { epoch: 0, start, length: params.epoch_length }];
    meta.last_credited = BlockNumber::GENESIS;
    if validators.is_empty() {
        return Ok(Rao::ZERO);
    }
    if validators.len() > usize::from(params.max_validators) {
        return Err(E::TooManyValidators(validators.len()));
    }
    let mut bonded = Rao::ZERO;
    for v in validators {
        if state.validators.candidate(&v.controller).is_some()
            || state.validators.sets().keys.contains_key(&v.consensus_key)
        {
            return Err(E::DuplicateValidator(v.controller));
        }
        if !valid_p2p_address(&v.p2p_address)
            || !v.consensus_key.is_valid()
            || v.commission > COMMISSION_DENOMINATOR
            || v.bond.is_zero()
        {
            return Err(E::InvalidValidator(v.controller));
        }
        bonded = bonded.checked_add(v.bond).ok_or(E::IssuanceTooLarge)?;
        state.validators.sets_mut().keys.insert(v.consensus_key, v.controller);
        state.validators.insert_candidate(Candidate {
            controller: v.controller,
            consensus_key: v.consensus_key,
            p2p_address: v.p2p_address.clone(),
            commission: v.commission,
            next_commission: None,
            commission_set_epoch: None,
            jailed_until: None,
            bonds: BTreeMap::from([(v.controller, v.bond)]),
            total: v.bond,
            registered_at: BlockNumber::GENESIS,
        });
    }
    // Genesis names the first set: every listed validator, whatever the minimum.
    let members = top_candidates(state.validators.candidates(), MAX_SET_SIZE, Rao::new(1));
    state.validators.meta_mut().enabled = true;
    state.validators.sets_mut().sets.insert(0, ValidatorSet { epoch: 0, members });
    Ok(bonded)
}

impl State {
    /// The proof-of-stake record (epochs, pot, credits).
    pub fn consensus(&self) -> &ConsensusState {
        self.validators.meta()
    }

    /// The kept validator sets, the registered consensus keys, the equivocations slashed.
    pub fn validator_sets(&self) -> &ValidatorSets {
        self.validators.sets()
    }

    /// The consensus epoch of the next block to execute.
    pub fn consensus_epoch(&self) -> u64 {
        self.consensus_epoch_of(self.block().next().unwrap_or(self.block()))
    }

    /// The consensus epoch of `height` (genesis, height 0, counts as epoch 0).
    pub fn consensus_epoch_of(&self, height: BlockNumber) -> u64 {
        self.validators.meta().epoch_of(height)
    }

    /// The last height of epoch `e` (for future epochs, assuming E does not change).
    pub fn epoch_last_block(&self, e: u64) -> BlockNumber {
        self.validators.meta().last_block(e)
    }

    /// Epoch `epoch`'s validator set, if the chain elects its validators and the set is
    /// kept (the next epoch's exists once elected, at the end of the current one). `None`
    /// on a chain with fixed authorities.
    pub fn validator_set(&self, epoch: u64) -> Option<&ValidatorSet> {
        if !self.validators.meta().enabled {
            return None;
        }
        self.validators.sets().sets.get(&epoch)
    }

    /// Every validator candidate, in controller order.
    pub fn candidates(&self) -> impl Iterator<Item = &Candidate> {
        self.validators.candidates()
    }

    /// One candidate with its current-epoch signing record.
    pub fn candidate(&self, controller: &AccountId) -> Option<CandidateView> {
        let candidate = self.validators.candidate(controller)?.clone();
        let meta = self.validators.meta();
        let in_current_set = self
            .validators
            .sets()
            .sets
            .get(&meta.epoch)
            .is_some_and(|s| s.members.iter().any(|m| m.controller == *controller));
        let signed = meta.signed.get(controller).copied().unwrap_or(0);
        let missed = if in_current_set { meta.credited_blocks.saturating_sub(signed) } else { 0 };
        Some(CandidateView { candidate, signed, missed, in_current_set })
    }

    /// An account's unbonding chunks.
    pub fn unbonding(&self, account: &AccountId) -> &[UnbondChunk] {
        self.validators.unbonding(account)
    }

    /// Every account's unbonding chunks, in account order.
    pub fn all_unbonding(&self) -> impl Iterator<Item = (&AccountId, &Vec<UnbondChunk>)> {
        self.validators.all_unbonding()
    }

    /// TAO `account` has bonded to `validator`.
    pub fn bonded(&self, account: &AccountId, validator: &AccountId) -> Rao {
        self.validators
            .candidate(validator)
            .and_then(|c| c.bonds.get(account).copied())
            .unwrap_or(Rao::ZERO)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn largest_remainder_gives_every_rao() {
        assert_eq!(largest_remainder(10, &[1, 1, 1]), vec![4, 3, 3]);
        assert_eq!(largest_remainder(10, &[0, 1, 1]), vec![0, 5, 5]);
        assert_eq!(largest_remainder(7, &[2, 1]), vec![5, 2]);
        assert_eq!(
            largest_remainder(u64::MAX, &[u64::MAX, 1])
                .iter()
                .map(|x| u128::from(*x))
                .sum::<u128>(),
            u128::from(u64::MAX)
        );
    }

    #[test]
    fn addresses_are_ip_and_port() {
        assert!(valid_p2p_address("10.0.0.1:30333"));
        assert!(valid_p2p_address("[::1]:1"));
        assert!(valid_p2p_address("127.0.0.1:9000"));
        assert!(!valid_p2p_address("10.0.0.1:0"));
        assert!(!valid_p2p_address("0.0.0.0:30333"));
        assert!(!valid_p2p_address("example.com:30333"));
        assert!(!valid_p2p_address("10.0.0.1"));
        assert!(!valid_p2p_address(&format!("[{}]:1", "0".repeat(70))));
    }

    #[test]
    fn epochs_are_numbered_from_height_one() {
        let meta = ConsensusState {
            epoch: 0,
            epoch_start: BlockNumber::new(1),
            epoch_length: 10,
            segments: vec![EpochSegment { epoch: 0, start: BlockNumber::new(1), length: 10 }],
            ..ConsensusState::default()
        };
        assert_eq!(meta.epoch_of(BlockNumber::new(0)), 0);
        assert_eq!(meta.epoch_of(BlockNumber::new(1)), 0);
        assert_eq!(meta.epoch_of(BlockNumber::new(10)), 0);
        assert_eq!(meta.epoch_of(BlockNumber::new(11)), 1);
        assert_eq!(meta.last_block(0), BlockNumber::new(10));
        assert_eq!(meta.last_block(2), BlockNumber::new(30));
        // After two epochs of 10, the length became 20 from epoch 2 (height 21).
        let later = ConsensusState {
            epoch: 3,
            epoch_start: BlockNumber::new(41),
            epoch_length: 20,
            segments: vec![
                EpochSegment { epoch: 0, start: BlockNumber::new(1), length: 10 },
                EpochSegment { epoch: 2, start: BlockNumber::new(21), length: 20 },
            ],
            ..ConsensusState::default()
        };
        assert_eq!(later.epoch_of(BlockNumber::new(15)), 1);
        assert_eq!(later.epoch_of(BlockNumber::new(21)), 2);
        assert_eq!(later.epoch_of(BlockNumber::new(40)), 2);
        assert_eq!(later.epoch_of(BlockNumber::new(41)), 3);
        assert_eq!(later.epoch_of(BlockNumber::new(61)), 4);
        assert_eq!(later.last_block(1), BlockNumber::new(20));
        assert_eq!(later.last_block(2), BlockNumber::new(40));
        assert_eq!(later.last_block(3), BlockNumber::new(60));
    }
}
