//! What an epoch produces.

use tao_primitives::{
    fixed::{fixed_proportion_to_u16, I32F32},
    AlphaRao, Uid,
};

/// One epoch's result. Per-neuron vectors are indexed by UID. Fractions are `I32F32` in
/// [0, 1] (bonds of the classic model are column-max-upscaled, so each column's largest is 1).
#[derive(Clone, Debug, PartialEq)]
pub struct YumaOutput {
    /// Whether the neuron updated its weights within the activity cutoff.
    pub active: Vec<bool>,
    /// Normalized stake (after the stake threshold).
    pub stake: Vec<I32F32>,
    /// Normalized stake of active neurons that held a validator permit.
    pub active_stake: Vec<I32F32>,
    /// Validator permits for the next epoch.
    pub validator_permit: Vec<bool>,
    /// Consensus weight per miner: the stake-weighted median at majority kappa.
    pub consensus: Vec<I32F32>,
    /// Stake-weighted sum of clipped weights per miner, before normalization.
    /// Informative: the reference chain no longer stores it.
    pub rank: Vec<I32F32>,
    /// Fraction of a miner's stake-weighted weight that survived clipping.
    /// Informative: the reference chain no longer stores it.
    pub trust: Vec<I32F32>,
    /// Share of the miners' emission per UID (sums to 1, or 0 if nobody is ranked).
    pub incentive: Vec<I32F32>,
    /// Share of the validators' emission per UID (sums to 1, or 0).
    pub dividends: Vec<I32F32>,
    /// Fraction of each validator's weight that was within consensus.
    pub validator_trust: Vec<I32F32>,
    /// Bonds to store: a row per UID holding a permit after this epoch, empty otherwise.
    pub bonds: Vec<Vec<(Uid, I32F32)>>,
    /// Alpha paid to each UID as a miner.
    pub server_emission: Vec<AlphaRao>,
    /// Alpha paid to each UID as a validator (before take and nominators).
    pub validator_emission: Vec<AlphaRao>,
    /// Combined alpha per UID, as the chain records it in `Emission`.
    pub combined_emission: Vec<AlphaRao>,
}

impl YumaOutput {
    /// The bonds as the chain stores them (u16 proportions), to feed the next epoch.
    pub fn bonds_u16(&self) -> Vec<Vec<(Uid, u16)>> {
        self.bonds
            .iter()
            .map(|row| row.iter().map(|(j, v)| (*j, fixed_proportion_to_u16(*v))).collect())
            .collect()
    }
}

/// A vector of fractions as u16 proportions (`floor(x · 65535)`), as the chain stores
/// consensus, incentive, dividends and validator trust.
pub fn to_u16(values: &[I32F32]) -> Vec<u16> {
    values.iter().map(|v| fixed_proportion_to_u16(*v)).collect()
}
