//! What a transaction did: its receipt, its events, and why it failed.

use crate::{
    ConsensusKey, GlobalParameter, Hash, Hyperparameter, ProposalId, Rejection, Tally, Track,
    VoteChoice,
};
use codec::{Decode, Encode};
use tao_primitives::{AccountId, AlphaRao, BlockNumber, ChannelId, NetUid, Rao, Uid};

/// Why a transaction was not executed at all (no fee, no nonce change). The mempool
/// rejects these; a block that carries one records it and skips it.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, thiserror::Error)]
pub enum InvalidTransaction {
    /// The signature is not the signer's.
    #[error("bad signature")]
    BadSignature,
    /// Signed for another chain (its genesis hash differs).
    #[error("transaction is for another chain")]
    WrongChain,
    /// The nonce was already used.
    #[error("nonce {got} already used (next is {expected})")]
    StaleNonce {
        /// The account's next nonce.
        expected: u64,
        /// The transaction's nonce.
        got: u64,
    },
    /// The nonce is ahead of the account's next nonce.
    #[error("nonce {got} is in the future (next is {expected})")]
    FutureNonce {
        /// The account's next nonce.
        expected: u64,
        /// The transaction's nonce.
        got: u64,
    },
    /// The signer cannot pay the fee.
    #[error("cannot pay the fee of {fee} TAO with a balance of {balance} TAO")]
    CannotPayFee {
        /// The fee.
        fee: Rao,
        /// The signer's free balance.
        balance: Rao,
    },
    /// Larger than any transaction may be.
    #[error("transaction of {bytes} bytes is larger than the limit of {max}")]
    TooLarge {
        /// The transaction's encoded size.
        bytes: u32,
        /// The limit ([`crate::MAX_TRANSACTION_BYTES`]).
        max: u32,
    },
    /// A free call (weights, axon, proof-of-work registration) is valid only if it succeeds:
    /// it pays no fee, so a failing one would cost its sender nothing and everyone else a
    /// slot (the reference chain checks these calls the same way before admitting them).
    #[error("a free call is valid only if it succeeds, and this one fails: {0}")]
    FreeCallFails(DispatchError),
}

/// Why an executed transaction failed. It paid its fee and used its nonce; nothing else
/// changed. Names follow the reference chain's errors where one exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode, thiserror::Error)]
pub enum DispatchError {
    /// Not enough free balance (`InsufficientBalance`).
    #[error("insufficient balance")]
    InsufficientBalance,
    /// A new account would hold less than the existential deposit (`ExistentialDeposit`).
    #[error("a new account needs at least the existential deposit (500 RAO)")]
    ExistentialDeposit,
    /// The sender would drop below the existential deposit (`KeepAlive`).
    #[error("transfer would take the sender below the existential deposit")]
    KeepAlive,
    /// Only root may do this (`BadOrigin`).
    #[error("only root may do this")]
    BadOrigin,
    /// Only the subnet owner (or root) may do this (`NotSubnetOwner`).
    #[error("only the subnet owner may do this")]
    NotSubnetOwner,
    /// No such subnet (`SubnetNotExists`).
    #[error("subnet does not exist")]
    SubnetNotExists,
    /// The root network takes no neurons (`RegistrationNotPermittedOnRootSubnet`).
    #[error("the root network takes no neuron registrations")]
    RegistrationNotPermittedOnRootSubnet,
    /// Weights cannot be set on root (`CanNotSetRootNetworkWeights`).
    #[error("weights cannot be set on the root network")]
    CanNotSetRootNetworkWeights,
    /// Subnet registrations are rate-limited (`NetworkTxRateLimitExceeded`).
    #[error("a subnet was registered too recently; wait for the network rate limit")]
    NetworkTxRateLimitExceeded,
    /// All subnet slots are taken and none may be pruned (`SubnetLimitReached`).
    #[error("the subnet limit is reached")]
    SubnetLimitReached,
    /// The hotkey belongs to another coldkey (`NonAssociatedColdKey`).
    #[error("the hotkey belongs to another coldkey")]
    NonAssociatedColdKey,
    /// The hotkey is already registered on this subnet (`HotKeyAlreadyRegisteredInSubNet`).
    #[error("the hotkey is already registered on this subnet")]
    HotKeyAlreadyRegisteredInSubNet,
    /// The hotkey is not registered on this subnet (`HotKeyNotRegisteredInSubNet`).
    #[error("the hotkey is not registered on this subnet")]
    HotKeyNotRegisteredInSubNet,
    /// `start_call` was already made (`FirstEmissionBlockNumberAlreadySet`).
    #[error("emission has already started")]
    FirstEmissionBlockNumberAlreadySet,
    /// Registration is closed on this subnet (`SubNetRegistrationDisabled`).
    #[error("registration is disabled on this subnet")]
    SubNetRegistrationDisabled,
    /// The subnet is full and every neuron is protected (`NoNeuronIdAvailable`).
    #[error("the subnet is full and no neuron can be replaced")]
    NoNeuronIdAvailable,
    /// The registration price is above the caller's limit (`RegistrationPriceLimitExceeded`).
    #[error("the registration price is above your limit")]
    RegistrationPriceLimitExceeded,
    /// Proof-of-work registration is off on this subnet (`POWRegistrationDisabled`).
    #[error("proof-of-work registration is disabled on this subnet")]
    PowRegistrationDisabled,
    /// The work's block is in the future or too old (`InvalidWorkBlock`).
    #[error("the work is for a block that is not among the last 3")]
    InvalidWorkBlock,
    /// The seal does not meet the difficulty (`InvalidDifficulty`).
    #[error("the work does not meet the difficulty")]
    InvalidDifficulty,
    /// The seal is not the hash of the nonce (`InvalidSeal`).
    #[error("the seal does not match the nonce, block and hotkey")]
    InvalidSeal,
    /// This work was already used (`WorkRepeated`).
    #[error("this work was already used")]
    WorkRepeated,
    /// IP type other than 4 or 6 (`InvalidIpType`).
    #[error("invalid IP type")]
    InvalidIpType,
    /// Loopback, broadcast or out-of-range address (`InvalidIpAddress`).
    #[error("invalid IP address")]
    InvalidIpAddress,
    /// Port 0 (`InvalidPort`).
    #[error("invalid port")]
    InvalidPort,
    /// `serve_axon` again too soon (`ServingRateLimitExceeded`).
    #[error("axon served too recently; wait for the serving rate limit")]
    ServingRateLimitExceeded,
    /// Direct weights, or an early epoch, while commit-reveal is on (`CommitRevealEnabled`).
    #[error("commit-reveal is on for this subnet: weights go through commit and reveal, and epochs cannot be triggered early")]
    CommitRevealEnabled,
    /// Commit or reveal while commit-reveal is off (`CommitRevealDisabled`).
    #[error("commit-reveal is off: set weights directly")]
    CommitRevealDisabled,
    /// `uids` and `values` differ in length (`WeightVecNotEqualSize`).
    #[error("uids and values differ in length")]
    WeightVecNotEqualSize,
    /// More weights than neurons (`UidsLengthExceedUidsInSubNet`).
    #[error("more weights than neurons on the subnet")]
    UidsLengthExceedUidsInSubNet,
    /// Stake below the threshold (`NotEnoughStakeToSetWeights`).
    #[error("not enough stake to set weights")]
    NotEnoughStakeToSetWeights,
    /// Version key below the subnet's (`IncorrectWeightVersionKey`).
    #[error("weights version key is below the subnet's")]
    IncorrectWeightVersionKey,
    /// Weights set again too soon (`SettingWeightsTooFast`).
    #[error("weights set too recently; wait for the weights rate limit")]
    SettingWeightsTooFast,
    /// Weights on others without a validator permit (`NeuronNoValidatorPermit`).
    #[error("no validator permit")]
    NeuronNoValidatorPermit,
    /// A UID twice (`DuplicateUids`).
    #[error("a UID appears twice")]
    DuplicateUids,
    /// A UID that is not a neuron (`UidVecContainInvalidOne`).
    #[error("a UID is not a neuron of the subnet")]
    UidVecContainInvalidOne,
    /// Fewer weights than the subnet's minimum (`WeightVecLengthIsLow`).
    #[error("fewer weights than the subnet's minimum")]
    WeightVecLengthIsLow,
    /// Ten commits are waiting already (`TooManyUnrevealedCommits`).
    #[error("too many unrevealed commits")]
    TooManyUnrevealedCommits,
    /// No commit matches (`NoWeightsCommitFound`).
    #[error("no weights commit found")]
    NoWeightsCommitFound,
    /// The reveal window has not opened (`RevealTooEarly`).
    #[error("too early to reveal these weights")]
    RevealTooEarly,
    /// The commit's reveal window has passed (`ExpiredWeightCommit`).
    #[error("the commit expired")]
    ExpiredWeightCommit,
    /// The revealed weights do not hash to any commit (`InvalidRevealCommitHashNotMatch`).
    #[error("the revealed weights do not match the commit")]
    InvalidRevealCommitHashNotMatch,
    /// Emission cannot start yet (`NeedWaitingMoreBlocksToStarCall`).
    #[error("emission cannot start yet")]
    NeedWaitingMoreBlocksToStarCall,
    /// Owners cannot change parameters just before an epoch (`AdminActionProhibitedDuringWeightsWindow`).
    #[error("parameters are frozen just before the epoch")]
    AdminActionProhibitedDuringWeightsWindow,
    /// The owner changed this parameter too recently (`TxRateLimitExceeded`).
    #[error("the owner changed this parameter at block {last}; it may change it again from block {next}")]
    TxRateLimitExceeded {
        /// The block of the last change.
        last: BlockNumber,
        /// The first block the owner may change it again.
        next: BlockNumber,
    },
    /// A parameter outside its allowed range (`InvalidValue`).
    #[error("value outside the parameter's allowed range")]
    InvalidValue,
    /// Alpha values need liquid alpha on (`LiquidAlphaDisabled`).
    #[error("liquid alpha is disabled")]
    LiquidAlphaDisabled,
    /// `MaxAllowedUids` below the current number of neurons (`MaxAllowedUIdsLessThanCurrentUIds`).
    #[error("max allowed UIDs below the current number of neurons")]
    MaxAllowedUidsLessThanCurrentUids,
    /// A balance or counter would overflow.
    #[error("arithmetic overflow")]
    Overflow,
    /// The subnet's token is not trading yet (`SubtokenDisabled`): the owner has not started it.
    #[error("the subnet has not started (no start_call yet)")]
    SubtokenDisabled,
    /// The hotkey is not known to the chain (`HotKeyAccountNotExists`).
    #[error("the hotkey is not registered anywhere")]
    HotKeyAccountNotExists,
    /// Below the minimum stake (`AmountTooLow`).
    #[error("amount below the minimum stake (0.002 TAO)")]
    AmountTooLow,
    /// Not enough free TAO to stake (`NotEnoughBalanceToStake`).
    #[error("not enough free balance to stake")]
    NotEnoughBalanceToStake,
    /// Not enough stake (`NotEnoughStakeToWithdraw`).
    #[error("not enough stake")]
    NotEnoughStakeToWithdraw,
    /// The swap would go past the limit price (`SlippageTooHigh`).
    #[error("the price would move past your limit")]
    SlippageTooHigh,
    /// The pool cannot take or pay this amount (`InsufficientLiquidity`).
    #[error("the pool cannot take or pay this amount")]
    InsufficientLiquidity,
    /// Stake transfers are off on a subnet (`TransferDisallowed`).
    #[error("stake transfers are disabled on this subnet")]
    TransferDisallowed,
    /// The take is above the maximum or not higher for an increase (`DelegateTakeTooHigh`).
    #[error("take too high")]
    DelegateTakeTooHigh,
    /// The take is below the minimum or not lower for a decrease (`DelegateTakeTooLow`).
    #[error("take too low")]
    DelegateTakeTooLow,
    /// Takes may be raised only every 216,000 blocks (`DelegateTxRateLimitExceeded`).
    #[error("take raised too recently")]
    DelegateTxRateLimitExceeded,
    /// The subnet's proof-of-work registrations for this block are used up
    /// (`TooManyRegistrationsThisBlock`).
    #[error("too many registrations in this block; try the next one")]
    TooManyRegistrationsThisBlock,
    /// The subnet's proof-of-work registrations for this interval are used up
    /// (`TooManyRegistrationsThisInterval`).
    #[error("too many registrations in this interval; try later")]
    TooManyRegistrationsThisInterval,
    /// An early epoch is already scheduled (`EpochAlreadyPending`).
    #[error("an early epoch is already scheduled")]
    EpochAlreadyPending,
    /// A proposal needs 1 to 8 calls, a title of 1 to 128 bytes and a description of at
    /// most 4,096 bytes.
    #[error("a proposal needs 1 to 8 calls, a title of 1 to 128 bytes and a description of at most 4096 bytes")]
    ProposalMalformed,
    /// As many proposals are open as the chain holds at once.
    #[error("too many proposals are open; wait for one to end")]
    TooManyProposals,
    /// No such proposal, or it is no longer open for votes.
    #[error("no such proposal is open for votes")]
    ProposalNotOpen,
    /// Only the proposer may cancel a proposal.
    #[error("only the proposer may cancel a proposal")]
    NotProposer,
    /// The signer has no stake to vote with (own stake, or stake delegated to its hotkey).
    #[error("no stake to vote with")]
    NoVotingPower,
    /// The signer voted: its stake stays put until the vote ends.
    #[error("stake is locked by an open vote until block {until}")]
    StakeLockedByVote {
        /// The last block of the lock.
        until: BlockNumber,
    },
    /// No open channel has this id (never opened, or closed).
    #[error("no open payment channel with this id")]
    ChannelNotFound,
    /// Only the channel's payer may do this.
    #[error("only the channel's payer may do this")]
    NotChannelPayer,
    /// A channel to oneself.
    #[error("a channel's payee must differ from its payer")]
    ChannelToSelf,
    /// The deposit is below the minimum channel deposit.
    #[error("the channel deposit is below the minimum (0.001 TAO)")]
    ChannelDepositTooLow,
    /// The expiry is not after the current block, earlier than the channel's, or too far.
    #[error("the channel expiry must be after the current block (and the current expiry) and at most 1,296,000 blocks ahead")]
    ChannelExpiryInvalid,
    /// The payer has as many open channels as allowed.
    #[error("too many open channels for this payer")]
    TooManyChannels,
    /// The chain holds as many open channels as allowed.
    #[error("the chain's open channel limit is reached")]
    ChannelLimitReached,
    /// The channel cannot be closed before its expiry.
    #[error("the channel has not expired yet")]
    ChannelNotExpired,
    /// The voucher is not signed by the channel's payer for this chain and channel.
    #[error("the voucher's signature is not the payer's for this chain and channel")]
    InvalidVoucherSignature,
    /// The voucher's cumulative amount is above the channel's deposit.
    #[error("the voucher is above the channel's deposit")]
    VoucherAboveDeposit,
    /// The voucher's cumulative amount is not above what was already claimed.
    #[error("the voucher gives nothing beyond what was already claimed")]
    VoucherAlreadyClaimed,
    /// This chain has a fixed set of authorities: no validator elections, bonds or slashes.
    #[error("this chain has fixed authorities; it takes no validator registrations or bonds")]
    ValidatorsDisabled,
    /// The signer already registered a validator candidate.
    #[error("this coldkey already controls a validator candidate")]
    ValidatorAlreadyRegistered,
    /// The consensus key was registered before (by anyone): keys are never reused.
    #[error("this consensus key is already registered")]
    ConsensusKeyInUse,
    /// The proof is not the consensus key's signature for this chain and controller.
    #[error("the proof is not the consensus key's signature of this chain and controller")]
    InvalidKeyProof,
    /// The p2p address is not `IP:PORT` (at most 64 bytes, a routable port).
    #[error("the p2p address must be IP:PORT, at most 64 bytes, with a port above 0")]
    InvalidP2pAddress,
    /// Commission above 10,000 parts per 10,000.
    #[error("commission is at most 10000 (parts per 10,000)")]
    CommissionTooHigh,
    /// The chain holds as many validator candidates as it may.
    #[error("the chain's validator candidate limit (1,024) is reached")]
    TooManyCandidates,
    /// No validator candidate with this controller.
    #[error("no validator candidate with this controller")]
    NotValidator,
    /// The commission was already changed this epoch.
    #[error("the commission may change once per epoch")]
    CommissionRateLimited,
    /// Below the minimum nomination.
    #[error("amount below the minimum bond")]
    BondTooLow,
    /// The candidate has as many nominators as it may.
    #[error("the candidate has the most nominators allowed (256)")]
    TooManyNominators,
    /// Less bonded than asked to unbond.
    #[error("not that much bonded to this validator")]
    NotEnoughBonded,
    /// The account has as many unbonding chunks as it may.
    #[error("too many unbonding chunks (32); wait for one to be released")]
    TooManyUnbondingChunks,
    /// The validator is not jailed.
    #[error("the validator is not jailed")]
    NotJailed,
    /// The jail period has not passed.
    #[error("jailed until block {until}")]
    StillJailed {
        /// The first block the validator may unjail.
        until: BlockNumber,
    },
    /// Evidence about an epoch whose validator set is no longer kept.
    #[error("the evidence is about an epoch whose validator set is no longer kept")]
    EvidenceTooOld,
    /// Evidence about an epoch that has no validator set yet.
    #[error("the evidence is about an epoch with no validator set")]
    EvidenceUnknownEpoch,
    /// The evidence's signer was not in that epoch's validator set.
    #[error("the signer was not a validator of that epoch")]
    EvidenceNotValidator,
    /// The two votes are not for the same epoch and view.
    #[error("the two votes are for different views")]
    EvidenceDifferentRounds,
    /// The two votes do not conflict (the same proposal).
    #[error("the two votes do not conflict")]
    EvidenceNotConflicting,
    /// A signature of the evidence does not verify.
    #[error("a signature of the evidence does not verify")]
    InvalidEvidenceSignature,
    /// This equivocation (epoch, view, signer) was already reported and slashed.
    #[error("this equivocation was already reported")]
    EquivocationAlreadyReported,
    /// The epoch holds as many reports as it may.
    #[error("too many equivocation reports for this epoch")]
    TooManyReports,
}

/// Something that happened, for receipts and subscribers.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum Event {
    /// TAO moved between accounts.
    Transfer {
        /// Sender.
        from: AccountId,
        /// Receiver.
        to: AccountId,
        /// Amount.
        amount: Rao,
    },
    /// A subnet was created.
    NetworkAdded {
        /// Its id.
        netuid: NetUid,
        /// Owner coldkey.
        owner: AccountId,
        /// TAO locked.
        lock: Rao,
    },
    /// A subnet was removed and its lock refunded.
    NetworkRemoved {
        /// Its id.
        netuid: NetUid,
        /// TAO returned to the owner.
        refund: Rao,
    },
    /// A subnet's emission starts at `block`.
    EmissionStarted {
        /// The subnet.
        netuid: NetUid,
        /// First emission block.
        block: BlockNumber,
    },
    /// A subnet hyperparameter changed.
    HyperparameterSet {
        /// The subnet.
        netuid: NetUid,
        /// The parameter and its value.
        value: Hyperparameter,
    },
    /// A chain-wide parameter changed.
    GlobalParameterSet(GlobalParameter),
    /// A neuron registered, possibly replacing another.
    NeuronRegistered {
        /// The subnet.
        netuid: NetUid,
        /// Its UID.
        uid: Uid,
        /// Its hotkey.
        hotkey: AccountId,
        /// The hotkey it replaced, if the subnet was full.
        replaced: Option<AccountId>,
        /// TAO burned (0 for proof of work).
        cost: Rao,
    },
    /// A neuron published its axon.
    AxonServed {
        /// The subnet.
        netuid: NetUid,
        /// The hotkey.
        hotkey: AccountId,
    },
    /// A validator's weights changed.
    WeightsSet {
        /// The subnet.
        netuid: NetUid,
        /// The validator.
        uid: Uid,
    },
    /// A validator committed to weights.
    WeightsCommitted {
        /// The subnet.
        netuid: NetUid,
        /// The validator's hotkey.
        hotkey: AccountId,
        /// The commit.
        commit_hash: [u8; 32],
    },
    /// An epoch ran and paid out.
    EpochCompleted {
        /// The subnet.
        netuid: NetUid,
        /// Alpha paid to miners, validators, root stakers and the owner.
        emission: AlphaRao,
    },
    /// Stake was added.
    StakeAdded {
        /// Coldkey.
        coldkey: AccountId,
        /// Hotkey.
        hotkey: AccountId,
        /// Subnet.
        netuid: NetUid,
        /// TAO spent (fee included).
        tao: Rao,
        /// Alpha credited.
        alpha: AlphaRao,
    },
    /// Stake was removed.
    StakeRemoved {
        /// Coldkey.
        coldkey: AccountId,
        /// Hotkey.
        hotkey: AccountId,
        /// Subnet.
        netuid: NetUid,
        /// Alpha debited.
        alpha: AlphaRao,
        /// TAO received.
        tao: Rao,
    },
    /// Stake moved between hotkeys, subnets or coldkeys.
    StakeMoved {
        /// From (coldkey, hotkey, subnet).
        from: (AccountId, AccountId, NetUid),
        /// To (coldkey, hotkey, subnet).
        to: (AccountId, AccountId, NetUid),
        /// Alpha credited at the destination.
        alpha: AlphaRao,
    },
    /// A hotkey's delegate take changed.
    TakeChanged {
        /// Hotkey.
        hotkey: AccountId,
        /// New take (u16 proportion).
        take: u16,
    },
    /// A due epoch was deferred by the per-block cap.
    EpochDeferred {
        /// The subnet.
        netuid: NetUid,
    },
    /// New TAO minted this block.
    Minted {
        /// Amount.
        amount: Rao,
    },
    /// The owner scheduled the subnet's epoch early.
    EpochTriggered {
        /// The subnet.
        netuid: NetUid,
        /// The block it will run at.
        at: BlockNumber,
    },
    /// The root key changed hands or was removed.
    SudoChanged {
        /// The new root key.
        key: Option<AccountId>,
    },
    /// A proposal was submitted and is open for votes.
    ProposalSubmitted {
        /// The proposal.
        proposal: ProposalId,
        /// Who proposed it (and put down the deposit).
        proposer: AccountId,
        /// The bar it must clear.
        track: Track,
        /// TAO put down.
        deposit: Rao,
        /// The last block votes are taken.
        voting_ends: BlockNumber,
    },
    /// A vote was cast (or replaced).
    Voted {
        /// The proposal.
        proposal: ProposalId,
        /// The voter.
        voter: AccountId,
        /// The vote.
        choice: VoteChoice,
    },
    /// The proposer withdrew a proposal; the deposit went back.
    ProposalCancelled {
        /// The proposal.
        proposal: ProposalId,
    },
    /// A proposal passed; its calls take effect at `enact_at`.
    ProposalPassed {
        /// The proposal.
        proposal: ProposalId,
        /// The final count.
        tally: Tally,
        /// The block its calls are enacted.
        enact_at: BlockNumber,
    },
    /// A proposal did not pass.
    ProposalRejected {
        /// The proposal.
        proposal: ProposalId,
        /// The final count.
        tally: Tally,
        /// Why.
        reason: Rejection,
    },
    /// A deposit went back to its proposer.
    DepositReturned {
        /// The proposal.
        proposal: ProposalId,
        /// The proposer.
        to: AccountId,
        /// TAO returned.
        amount: Rao,
    },
    /// A vetoed proposal's deposit was burned.
    DepositBurned {
        /// The proposal.
        proposal: ProposalId,
        /// TAO burned.
        amount: Rao,
    },
    /// A passed proposal's calls all took effect (their own events follow).
    ProposalEnacted {
        /// The proposal.
        proposal: ProposalId,
    },
    /// One of a passed proposal's calls failed, so none took effect.
    ProposalEnactmentFailed {
        /// The proposal.
        proposal: ProposalId,
        /// The failing call's position (from 0).
        index: u32,
        /// Why it failed.
        error: DispatchError,
    },
    /// A payment channel was opened.
    ChannelOpened {
        /// Its id.
        channel: ChannelId,
        /// Who pays.
        payer: AccountId,
        /// Who may claim.
        payee: AccountId,
        /// TAO locked.
        deposit: Rao,
        /// The block from which the payer may close it.
        expiry: BlockNumber,
    },
    /// A channel's deposit grew or its expiry moved later.
    ChannelToppedUp {
        /// The channel.
        channel: ChannelId,
        /// TAO added.
        amount: Rao,
        /// The deposit now.
        deposit: Rao,
        /// The expiry now.
        expiry: BlockNumber,
    },
    /// A channel's payee was paid by voucher.
    ChannelClaimed {
        /// The channel.
        channel: ChannelId,
        /// Who was paid.
        payee: AccountId,
        /// TAO paid by this claim.
        amount: Rao,
        /// TAO claimed from the channel in total.
        claimed: Rao,
    },
    /// A validator candidate registered.
    ValidatorRegistered {
        /// Its controller coldkey.
        controller: AccountId,
        /// Its consensus key.
        consensus_key: ConsensusKey,
        /// Its p2p address.
        p2p_address: String,
        /// Its commission, parts per 10,000.
        commission: u16,
    },
    /// A candidate's address or commission changed (a commission from the next epoch).
    ValidatorInfoSet {
        /// The controller.
        controller: AccountId,
        /// The new address, if it changed.
        p2p_address: Option<String>,
        /// The new commission, if it changed.
        commission: Option<u16>,
    },
    /// TAO was bonded to a candidate.
    Bonded {
        /// Who bonded.
        bonder: AccountId,
        /// The candidate's controller.
        validator: AccountId,
        /// TAO bonded.
        amount: Rao,
    },
    /// TAO started unbonding.
    Unbonded {
        /// Whose TAO.
        bonder: AccountId,
        /// The candidate's controller.
        validator: AccountId,
        /// TAO unbonding.
        amount: Rao,
        /// The block it becomes free.
        release_at: BlockNumber,
    },
    /// Unbonded TAO became free.
    UnbondingReleased {
        /// Whose TAO.
        account: AccountId,
        /// TAO released.
        amount: Rao,
    },
    /// The validator set of an epoch was elected (members ordered by consensus key).
    ValidatorSetElected {
        /// The epoch it validates.
        epoch: u64,
        /// `(controller, consensus key, total bond)` of each member.
        members: Vec<(AccountId, ConsensusKey, Rao)>,
    },
    /// No candidate qualified: the previous set continues for `epoch`.
    ValidatorSetKept {
        /// The epoch it validates.
        epoch: u64,
    },
    /// A finality credit counted signed blocks for its signers.
    FinalityCredited {
        /// The epoch.
        epoch: u64,
        /// The height credited up to.
        height: BlockNumber,
        /// How many validators signed.
        signers: u32,
    },
    /// An epoch's fees were paid to one of its validators and its bonders.
    ValidatorRewarded {
        /// The epoch.
        epoch: u64,
        /// The controller.
        validator: AccountId,
        /// Blocks credited to it.
        signed: u64,
        /// TAO paid in all (commission and bonders).
        reward: Rao,
        /// Of which the controller's commission.
        commission: Rao,
    },
    /// An epoch's fees were burned (no validator was credited with a block).
    EpochFeesBurned {
        /// The epoch.
        epoch: u64,
        /// TAO burned.
        amount: Rao,
    },
    /// A validator's bonders were slashed for equivocation (the TAO is burned).
    ValidatorSlashed {
        /// The controller.
        validator: AccountId,
        /// The epoch of the equivocation.
        epoch: u64,
        /// The view.
        view: u64,
        /// TAO slashed from bonds and unbonding chunks.
        amount: Rao,
    },
    /// A validator was jailed (not elected until it unjails).
    ValidatorJailed {
        /// The controller.
        validator: AccountId,
        /// The first block it may unjail.
        until: BlockNumber,
    },
    /// A validator left jail.
    ValidatorUnjailed {
        /// The controller.
        validator: AccountId,
    },
    /// A channel was closed and its unclaimed deposit refunded.
    ChannelClosed {
        /// The channel.
        channel: ChannelId,
        /// Who was refunded.
        payer: AccountId,
        /// TAO returned.
        refund: Rao,
        /// TAO the payee claimed over the channel's life.
        claimed: Rao,
    },
}

/// How a transaction ended.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum Outcome {
    /// Executed.
    Success,
    /// Executed and failed: fee and nonce used, nothing else changed.
    Failed(DispatchError),
    /// Not executed (no fee, no nonce change).
    Invalid(InvalidTransaction),
}

/// The record of one transaction in a block.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Receipt {
    /// The transaction hash.
    pub tx_hash: Hash,
    /// Block it was included in.
    pub block: BlockNumber,
    /// Position in the block.
    pub index: u32,
    /// The signer.
    pub signer: AccountId,
    /// The fee paid.
    pub fee: Rao,
    /// How it ended.
    pub outcome: Outcome,
    /// What it caused.
    pub events: Vec<Event>,
}

impl DispatchError {
    /// The first block at which the same call could succeed, for errors that only ask to
    /// wait (rate limits, vote locks).
    pub fn retry_at(&self) -> Option<BlockNumber> {
        match self {
            DispatchError::TxRateLimitExceeded { next, .. } => Some(*next),
            DispatchError::StakeLockedByVote { until } => until.next(),
            DispatchError::StillJailed { until } => Some(*until),
            _ => None,
        }
    }
}
