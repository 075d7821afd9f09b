//! Governance: what a proposal carries and how it is voted on.
//!
//! A proposal holds privileged calls as [`PrivilegedCall`]s, a type of their own rather than
//! nested [`crate::Call`]s: the set of calls a vote may enact is closed and checked by the
//! compiler, and the encoding is not recursive (no decoder can be driven into deep nesting).

use crate::{GlobalParameter, Hyperparameter};
use codec::{Decode, Encode};
use core::fmt;
use tao_primitives::{AccountId, NetUid, Rao};

/// Most privileged calls one proposal may carry.
pub const MAX_PROPOSAL_CALLS: usize = 8;
/// Longest proposal title, in bytes of UTF-8.
pub const MAX_TITLE_BYTES: usize = 128;
/// Longest proposal description, in bytes of UTF-8.
pub const MAX_DESCRIPTION_BYTES: usize = 4_096;

/// A proposal's number, from 0 in submission order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode)]
pub struct ProposalId(pub u32);

impl fmt::Display for ProposalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// A vote.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Encode, Decode)]
pub enum VoteChoice {
    /// For.
    Yes,
    /// Against.
    No,
    /// Counts for the quorum only.
    Abstain,
    /// Against, and if vetoes pass their threshold the deposit is burned.
    Veto,
}

impl VoteChoice {
    /// Its name in text (`yes`, `no`, `abstain`, `veto`).
    pub fn name(self) -> &'static str {
        match self {
            VoteChoice::Yes => "yes",
            VoteChoice::No => "no",
            VoteChoice::Abstain => "abstain",
            VoteChoice::Veto => "veto",
        }
    }

    /// Parses a name as [`VoteChoice::name`] gives it.
    pub fn parse(text: &str) -> Result<Self, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "yes" => Ok(VoteChoice::Yes),
            "no" => Ok(VoteChoice::No),
            "abstain" => Ok(VoteChoice::Abstain),
            "veto" | "no_with_veto" => Ok(VoteChoice::Veto),
            _ => Err(format!("a vote is yes, no, abstain or veto, not {text:?}")),
        }
    }
}

/// Which bar a proposal must clear: chosen by its calls, the highest wins.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Encode, Decode)]
pub enum Track {
    /// Parameters and subnets: the chain's quorum and threshold.
    Standard,
    /// The root key and governance's own parameters: a quorum of at least half of all stake
    /// and a threshold of at least two thirds.
    Critical,
}

impl Track {
    /// Its name in text.
    pub fn name(self) -> &'static str {
        match self {
            Track::Standard => "standard",
            Track::Critical => "critical",
        }
    }
}

/// A call only root may make, as a proposal carries it (or the root key sends it).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum PrivilegedCall {
    /// Set a chain-wide parameter.
    SetGlobalParameter(GlobalParameter),
    /// Set any subnet hyperparameter (as root).
    SetHyperparameter {
        /// The subnet.
        netuid: NetUid,
        /// Parameter and value.
        value: Hyperparameter,
    },
    /// Remove a subnet, refunding its lock to the owner.
    DissolveNetwork {
        /// The subnet.
        netuid: NetUid,
    },
    /// Hand the root key to another account, or remove it (`None`): governance is then the
    /// only privileged path.
    SetSudo {
        /// The new root key.
        key: Option<AccountId>,
    },
}

impl PrivilegedCall {
    /// The track a proposal with this call needs.
    pub fn track(&self) -> Track {
        match self {
            PrivilegedCall::SetSudo { .. } => Track::Critical,
            PrivilegedCall::SetGlobalParameter(p) if p.is_governance() => Track::Critical,
            _ => Track::Standard,
        }
    }

    /// A one-line description for people.
    pub fn describe(&self) -> String {
        match self {
            PrivilegedCall::SetGlobalParameter(p) => {
                format!("set {} to {}", p.name(), p.value_text())
            }
            PrivilegedCall::SetHyperparameter { netuid, value } => {
                format!("set {} of subnet {netuid} ({value:?})", value.name())
            }
            PrivilegedCall::DissolveNetwork { netuid } => format!("dissolve subnet {netuid}"),
            PrivilegedCall::SetSudo { key: Some(key) } => {
                format!("hand the root key to {}", key.to_ss58())
            }
            PrivilegedCall::SetSudo { key: None } => "remove the root key".to_owned(),
        }
    }
}

/// Votes counted for a proposal, as stake valued in TAO (RAO).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Encode, Decode)]
pub struct Tally {
    /// For.
    pub yes: Rao,
    /// Against.
    pub no: Rao,
    /// Abstaining.
    pub abstain: Rao,
    /// Vetoing.
    pub veto: Rao,
    /// All stake that could have voted.
    pub total: Rao,
}

impl Tally {
    /// Stake that voted at all.
    pub fn turnout(&self) -> Rao {
        self.yes.saturating_add(self.no).saturating_add(self.abstain).saturating_add(self.veto)
    }
}

/// Why a proposal did not pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub enum Rejection {
    /// Too little of all stake voted.
    NoQuorum,
    /// Too few yes votes among yes, no and veto.
    BelowThreshold,
    /// Vetoes passed their threshold (the deposit is burned).
    Vetoed,
}

impl Rejection {
    /// Its name in text.
    pub fn name(self) -> &'static str {
        match self {
            Rejection::NoQuorum => "no_quorum",
            Rejection::BelowThreshold => "below_threshold",
            Rejection::Vetoed => "vetoed",
        }
    }
}
