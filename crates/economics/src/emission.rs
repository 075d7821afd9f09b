//! Block emission with the halving schedule (`chain-protocol.md` §2).

use substrate_fixed::{transcendental::log2, types::I96F32};
use tao_primitives::{fixed::SafeDiv, Rao};

/// The hard cap: 21 M TAO.
pub const TOTAL_SUPPLY: Rao = Rao::new(21_000_000_000_000_000);
/// Emission per block before any halving: 1 TAO.
pub const DEFAULT_BLOCK_EMISSION: Rao = Rao::new(1_000_000_000);

/// The emission of the next block given the issuance so far (TAO issuance for the chain,
/// a subnet's alpha issuance for its alpha emission).
///
/// `emission = floor(DEFAULT / 2^k)` with `k = floor(log2(1 / (1 − issuance / 21e15)))`,
/// in `I96F32` as the reference computes it; 0 at or past the cap, and 0 where the
/// reference's logarithm fails (one RAO below the cap).
pub fn block_emission(issuance: Rao) -> Rao {
    let supply = I96F32::saturating_from_num(TOTAL_SUPPLY.get());
    let issued = I96F32::saturating_from_num(issuance.get());
    if issued >= supply {
        return Rao::ZERO;
    }
    let one = I96F32::from_num(1);
    let fraction = match issued.checked_div(supply) {
        Some(f) => f,
        None => return Rao::ZERO,
    };
    let Some(remaining) = one.checked_sub(fraction) else { return Rao::ZERO };
    let Some(inverse) = one.checked_div(remaining) else { return Rao::ZERO };
    let Ok(residual) = log2::<I96F32, I96F32>(inverse) else { return Rao::ZERO };
    let halvings = residual.floor().saturating_to_num::<u64>();
    let mut multiplier = one;
    for _ in 0..halvings.min(128) {
        multiplier = multiplier.saturating_mul(I96F32::from_num(2));
    }
    let share = one.safe_div(multiplier);
    let emission = share.saturating_mul(I96F32::saturating_from_num(DEFAULT_BLOCK_EMISSION.get()));
    Rao::new(emission.saturating_to_num::<u64>())
}
