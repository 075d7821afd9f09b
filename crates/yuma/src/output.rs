//! What an epoch produces.

use tao_primitives::{fixed::I32F32, AlphaRao, Uid};

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
            .map(|row| row.iter().map(|(j, v)| (*j, proportion_to_u16(*v))).collect())
            .collect()
    }
}

/// A vector of fractions as u16 proportions (`floor(x · 65535)`), as the chain stores
/// consensus, incentive, dividends and validator trust.
pub fn to_u16(values: &[I32F32]) -> Vec<u16> {
    values.iter().map(|v| proportion_to_u16(*v)).collect()
}

/// `fixed_proportion_to_u16(x)` (`x · 65535` saturating, floored, clamped to the u16
/// range), bit for bit, on the raw bits clamped to [0, 1]: 0 when `x ≤ 0`, 65535 when
/// `x ≥ 1`, else `⌊x_bits · 65535 / 2³²⌋` (below 2⁴⁸ before the shift: nothing saturates).
/// Without branches (a bond row converts in a loop that vectorizes).
#[inline]
fn proportion_to_u16(x: I32F32) -> u16 {
    const ONE: i64 = 1 << 32;
    let bits = x.to_bits().clamp(0, ONE);
    (bits.wrapping_mul(65_535) >> 32) as u16
}

#[cfg(test)]
mod tests {
    use super::*;
    use tao_primitives::fixed::fixed_proportion_to_u16;

    /// Against the library's conversion: every u16 proportion's neighbourhood, the edges,
    /// and values far outside [0, 1].
    #[test]
    fn proportion_to_u16_is_the_library_conversion() {
        let mut inputs: Vec<i64> =
            vec![0, 1, -1, 1 << 32, (1 << 32) - 1, (1 << 32) + 1, i64::MAX, i64::MIN, 1 << 62];
        for b in 0..=u16::MAX {
            let bits = tao_primitives::fixed::u16_proportion_to_fixed(b).to_bits();
            inputs.extend([bits - 1, bits, bits + 1, -bits]);
        }
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..200_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            inputs.push((state >> (state % 64)) as i64);
        }
        for bits in inputs {
            let x = I32F32::from_bits(bits);
            assert_eq!(proportion_to_u16(x), fixed_proportion_to_u16(x), "bits {bits}");
        }
    }
}
