//! The neuron registration price: a burn that decays every block with a half-life and
//! jumps by a multiplier on each registration (`chain-protocol.md` §7.1).

use substrate_fixed::types::U64F64;
use tao_primitives::Rao;

/// The default per-registration multiplier, 1.26, bit for bit as the reference stores it
/// (`U64F64::from_num(1.26_f64)`: the f64's 52 fraction bits, exact in 64).
pub const DEFAULT_BURN_INCREASE_MULT: U64F64 = U64F64::from_bits(0x1_428F_5C28_F5C2_9000);

/// The bounds a subnet keeps its burn within.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BurnBounds {
    /// Lowest price (`MinBurn`).
    pub min: Rao,
    /// Highest price (`MaxBurn`).
    pub max: Rao,
}

impl BurnBounds {
    fn clamp(&self, burn: u64) -> Rao {
        // Upper bound first, then the lower: as the reference, min wins if min > max.
        Rao::new(burn.min(self.max.get()).max(self.min.get()))
    }
}

/// `value × factor / 2^32`, saturating at `u64::MAX`.
pub fn mul_by_q32(value: u64, factor_q32: u64) -> u64 {
    let shifted = u128::from(value).saturating_mul(u128::from(factor_q32)) >> 32;
    u64::try_from(shifted).unwrap_or(u64::MAX)
}

/// `base^exp` in Q32 by square-and-multiply with saturating [`mul_by_q32`].
pub fn pow_q32(base_q32: u64, exp: u16) -> u64 {
    let mut result: u64 = 1 << 32;
    let mut factor = base_q32;
    let mut power = u32::from(exp);
    while power > 0 {
        if power & 1 == 1 {
            result = mul_by_q32(result, factor);
        }
        power >>= 1;
        if power > 0 {
            factor = mul_by_q32(factor, factor);
        }
    }
    result
}

/// The per-block decay factor in Q32: the largest `f < 2^32` with `f^half_life ≤ 1/2`
/// (binary search, as the reference). A half-life of 0 means no decay (factor 1).
pub fn decay_factor_q32(half_life: u16) -> u64 {
    if half_life == 0 {
        return 1 << 32;
    }
    let (mut lo, mut hi): (u64, u64) = (0, 1 << 32);
    while lo.saturating_add(1) < hi {
        let mid = lo.saturating_add(hi.saturating_sub(lo) >> 1);
        if pow_q32(mid, half_life) > 1 << 31 {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    lo
}

/// One block of decay: `clamp(burn × factor / 2^32)`. `factor_q32` is
/// [`decay_factor_q32`] of the subnet's half-life (cached by the caller).
pub fn decay_burn(burn: Rao, factor_q32: u64, bounds: BurnBounds) -> Rao {
    bounds.clamp(mul_by_q32(burn.get(), factor_q32))
}

/// The price after a registration: `clamp(floor(burn × max(1, mult)))`.
pub fn bump_burn(burn: Rao, mult: U64F64, bounds: BurnBounds) -> Rao {
    let mult = mult.max(U64F64::from_num(1));
    let bumped =
        U64F64::saturating_from_num(burn.get()).saturating_mul(mult).saturating_to_num::<u64>();
    bounds.clamp(bumped)
}
