//! A subnet's TAO/alpha pool: a two-asset weighted (Balancer) pool with protocol-owned
//! liquidity (`chain-protocol.md` §5). With equal weights it is exactly constant product.
//!
//! `y` is the TAO reserve (quote), `x` the alpha reserve (base), `w₂` the quote weight and
//! `w₁ = 1 − w₂`. Price (TAO per alpha) is `(w₁/w₂)·(y/x)`. Powers of reserve ratios are
//! `safe-bigmath`'s `pow_ratio_scaled`, the reference's own AMM math crate, so outputs match.

use codec::{Decode, Encode};
use num_bigint::BigUint;
use safe_bigmath::SafeInt;
use substrate_fixed::types::U64F64;
use tao_primitives::fixed::SafeDiv;

/// Parts per whole of a [`Perquintill`]: 10^18.
pub const ACCURACY: u64 = 1_000_000_000_000_000_000;
/// Lowest weight either asset may have (0.01).
pub const MIN_WEIGHT: u64 = ACCURACY / 100;
/// A swap needs at least this much of the asset it pays out (`MinimumReserve`).
pub const MINIMUM_RESERVE: u64 = 1_000_000;
/// The most a swap may bring in, as a multiple of the input reserve.
pub const MAX_INPUT_RESERVE_MULTIPLIER: u64 = 1_000;
/// Default swap fee, a u16 proportion (33/65535 ≈ 0.05 %).
pub const DEFAULT_FEE_RATE: u16 = 33;
/// Most a root may set the fee to.
pub const MAX_FEE_RATE: u16 = 10_000;

/// A fraction in parts per 10^18 (`sp_arithmetic::Perquintill`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Encode, Decode)]
pub struct Perquintill(u64);

impl Perquintill {
    /// One whole.
    pub const ONE: Perquintill = Perquintill(ACCURACY);
    /// One half.
    pub const HALF: Perquintill = Perquintill(ACCURACY / 2);

    /// From parts per 10^18, clamped to one.
    pub fn from_parts(parts: u64) -> Self {
        Self(parts.min(ACCURACY))
    }

    /// The parts per 10^18.
    pub fn parts(self) -> u64 {
        self.0
    }

    /// `p / q` rounded down, clamped to one; one half if `q` is 0.
    #[allow(clippy::arithmetic_side_effects)] // BigUint cannot overflow; q ≠ 0 is checked
    pub fn from_rational(p: u128, q: u128) -> Self {
        if q == 0 {
            return Self::HALF;
        }
        if p >= q {
            return Self::ONE;
        }
        let parts = BigUint::from(p) * BigUint::from(ACCURACY) / BigUint::from(q);
        Self(u64::try_from(parts).unwrap_or(ACCURACY))
    }

    /// `1 − self`.
    pub fn complement(self) -> Self {
        Self(ACCURACY.saturating_sub(self.0))
    }

    /// `round_half_up(value × self)` (the reference's `mul_perquintill_round`).
    #[allow(clippy::arithmetic_side_effects)] // BigUint cannot overflow; ACCURACY ≠ 0
    pub fn mul_round(self, value: u128) -> u128 {
        let num = BigUint::from(value) * BigUint::from(self.0) + BigUint::from(ACCURACY / 2);
        u128::try_from(num / BigUint::from(ACCURACY)).unwrap_or(u128::MAX)
    }
}

/// Why a swap cannot run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SwapError {
    /// The output reserve is below the minimum, or the swap would pay out nothing.
    ReservesTooLow,
    /// The input is more than 1000 × the input reserve.
    SwapInputTooLarge,
    /// The limit price is not beyond the current price.
    PriceLimitExceeded,
    /// The swap would pay out more than the pool holds.
    InsufficientLiquidity,
}

/// What a swap did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct SwapResult {
    /// Input that entered the pool (excludes the fee).
    pub amount_in: u64,
    /// Output paid by the pool.
    pub amount_out: u64,
    /// Fee taken from the input.
    pub fee: u64,
}

impl SwapResult {
    /// Input consumed in all: what entered the pool plus the fee.
    pub fn total_in(&self) -> u64 {
        self.amount_in.saturating_add(self.fee)
    }
}

/// A pool: reserves and the quote (TAO) weight.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Pool {
    /// TAO reserve (`SubnetTAO`).
    pub tao: u64,
    /// Alpha reserve (`SubnetAlphaIn`).
    pub alpha: u64,
    /// TAO weight `w₂`.
    pub quote_weight: Perquintill,
}

/// `floor(scale × (num/den)^(exp_num/exp_den))` by `safe-bigmath`, or `None`.
pub fn pow_ratio_scaled(
    num: u128,
    den: u128,
    exp_num: u128,
    exp_den: u128,
    precision: u32,
    scale: u128,
) -> Option<u128> {
    SafeInt::pow_ratio_scaled(
        &SafeInt::from(num),
        &SafeInt::from(den),
        &SafeInt::from(exp_num),
        &SafeInt::from(exp_den),
        precision,
        &SafeInt::from(scale),
    )
    .and_then(|r| r.to_u128())
}

fn pow_ratio(
    num: u128,
    den: u128,
    exp_num: u128,
    exp_den: u128,
    precision: u32,
) -> Option<SafeInt> {
    SafeInt::pow_ratio_scaled(
        &SafeInt::from(num),
        &SafeInt::from(den),
        &SafeInt::from(exp_num),
        &SafeInt::from(exp_den),
        precision,
        &SafeInt::from(ACCURACY),
    )
}

impl Pool {
    /// A pool with equal weights.
    pub fn new(tao: u64, alpha: u64) -> Self {
        Self { tao, alpha, quote_weight: Perquintill::HALF }
    }

    /// A pool whose weights give `price`: `w₂ = y / (p·x + y)`.
    pub fn with_price(tao: u64, alpha: u64, price: U64F64) -> Option<Self> {
        let whole = u128::from(price.saturating_to_num::<u64>()).saturating_mul(u128::from(alpha));
        let fraction = U64F64::saturating_from_num(alpha)
            .saturating_mul(price.frac())
            .saturating_to_num::<u128>();
        let denominator = whole.saturating_add(fraction).saturating_add(u128::from(tao));
        if denominator == 0 {
            return None;
        }
        let weight = Perquintill::from_rational(u128::from(tao), denominator);
        valid_weight(weight).then_some(Self { tao, alpha, quote_weight: weight })
    }

    /// Alpha weight `w₁ = 1 − w₂`.
    pub fn base_weight(&self) -> Perquintill {
        self.quote_weight.complement()
    }

    /// TAO per alpha: `(w₁/w₂)·(y/x)`; 0 without alpha.
    pub fn price(&self) -> U64F64 {
        if self.alpha == 0 {
            return U64F64::from_num(0);
        }
        let w1 = U64F64::saturating_from_num(self.base_weight().parts());
        let w2 = U64F64::saturating_from_num(self.quote_weight.parts());
        w1.safe_div(w2).saturating_mul(
            U64F64::saturating_from_num(self.tao).safe_div(U64F64::saturating_from_num(self.alpha)),
        )
    }

    /// `(x/(x+dx))^(w₁/w₂)` (`base_quote`) or `^(w₂/w₁)`, capped at 1 for `dx ≥ 0`.
    pub fn exp_scaled(&self, x: u64, dx: i128, base_quote: bool) -> U64F64 {
        let magnitude = u64::try_from(dx.unsigned_abs()).unwrap_or(u64::MAX);
        let x_plus_dx =
            if dx >= 0 { x.saturating_add(magnitude) } else { x.saturating_sub(magnitude) };
        if x_plus_dx == 0 {
            return U64F64::from_num(0);
        }
        let (w1, w2) =
            (u128::from(self.base_weight().parts()), u128::from(self.quote_weight.parts()));
        let (exp_num, exp_den) = if base_quote { (w1, w2) } else { (w2, w1) };
        let result = if w1 == w2 {
            // Equal weights: the power is 1 and `pow_ratio_scaled` returns the exact floor of
            // 10^18·x/(x+dx); compute it without big integers (< 2^124 fits in u128).
            u128::from(ACCURACY)
                .saturating_mul(u128::from(x))
                .checked_div(u128::from(x_plus_dx))
                .and_then(|r| u64::try_from(r).ok())
        } else {
            pow_ratio(u128::from(x), u128::from(x_plus_dx), exp_num, exp_den, 256)
                .and_then(|r| r.to_u64())
        };
        let Some(result) = result else {
            return U64F64::from_num(0);
        };
        let result =
            U64F64::saturating_from_num(result).safe_div(U64F64::saturating_from_num(ACCURACY));
        if dx >= 0 {
            result.min(U64F64::from_num(1))
        } else {
            result
        }
    }

    /// Alpha paid out for `tao_in` entering the pool: `floor(x·(1 − (y/(y+Δy))^(w₂/w₁)))`.
    pub fn alpha_out_for(&self, tao_in: u64) -> u64 {
        let e = self.exp_scaled(self.tao, i128::from(tao_in), false);
        U64F64::saturating_from_num(self.alpha)
            .saturating_mul(U64F64::from_num(1).saturating_sub(e))
            .saturating_to_num()
    }

    /// TAO paid out for `alpha_in` entering the pool: `floor(y·(1 − (x/(x+Δx))^(w₁/w₂)))`.
    pub fn tao_out_for(&self, alpha_in: u64) -> u64 {
        let e = self.exp_scaled(self.alpha, i128::from(alpha_in), true);
        U64F64::saturating_from_num(self.tao)
            .saturating_mul(U64F64::from_num(1).saturating_sub(e))
            .saturating_to_num()
    }

    /// `reserve·((num/den)^(w/10^18) − 1)`: the input that moves the price from `current`
    /// to `target` (buying: `w = w₁`, ratio target/current; selling: `w = w₂`, ratio
    /// current/target).
    fn delta_to_price(&self, num: U64F64, den: U64F64, weight: Perquintill, reserve: u64) -> u64 {
        let Some(power) = pow_ratio(
            num.to_bits(),
            den.to_bits(),
            u128::from(weight.parts()),
            u128::from(ACCURACY),
            1024,
        ) else {
            return 0;
        };
        let power = match power.to_u64() {
            Some(p) => U64F64::saturating_from_num(p),
            None if power > u64::MAX => U64F64::saturating_from_num(u64::MAX),
            None => U64F64::from_num(0),
        };
        let ratio = power
            .safe_div(U64F64::saturating_from_num(ACCURACY))
            .saturating_sub(U64F64::from_num(1));
        U64F64::saturating_from_num(reserve).saturating_mul(ratio).saturating_to_num()
    }

    /// TAO needed to raise the price from `current` to `target` (`calculate_quote_delta_in`).
    pub fn quote_delta_in(&self, current: U64F64, target: U64F64, tao_reserve: u64) -> u64 {
        self.delta_to_price(target, current, self.base_weight(), tao_reserve)
    }

    /// Alpha needed to lower the price from `current` to `target` (`calculate_base_delta_in`).
    pub fn base_delta_in(&self, current: U64F64, target: U64F64, alpha_reserve: u64) -> u64 {
        self.delta_to_price(current, target, self.quote_weight, alpha_reserve)
    }

    /// Alpha to sell for `tao` out (`get_base_needed_for_quote`).
    pub fn base_needed_for_quote(&self, tao: u64) -> u64 {
        let e = self.exp_scaled(self.tao, i128::from(tao).saturating_neg(), false);
        U64F64::saturating_from_num(self.alpha)
            .saturating_mul(e.saturating_sub(U64F64::from_num(1)))
            .saturating_to_num()
    }

    /// Buys alpha with `amount` TAO, stopping at `limit` (TAO per alpha).
    pub fn buy(&self, amount: u64, limit: U64F64, fee_rate: u16) -> Result<SwapResult, SwapError> {
        self.swap(Side::Buy, amount, limit, fee_rate)
    }

    /// Sells `amount` alpha for TAO, stopping at `limit`.
    pub fn sell(&self, amount: u64, limit: U64F64, fee_rate: u16) -> Result<SwapResult, SwapError> {
        self.swap(Side::Sell, amount, limit, fee_rate)
    }

    fn swap(
        &self,
        side: Side,
        amount: u64,
        limit: U64F64,
        fee_rate: u16,
    ) -> Result<SwapResult, SwapError> {
        let (reserve_in, reserve_out) = match side {
            Side::Buy => (self.tao, self.alpha),
            Side::Sell => (self.alpha, self.tao),
        };
        let fee = fee_of(amount, fee_rate);
        let requested = amount.saturating_sub(fee);
        if requested > reserve_in.saturating_mul(MAX_INPUT_RESERVE_MULTIPLIER) {
            return Err(SwapError::SwapInputTooLarge);
        }
        if reserve_out < MINIMUM_RESERVE {
            return Err(SwapError::ReservesTooLow);
        }
        let current = self.price();
        let beyond = match side {
            Side::Buy => current < limit,
            Side::Sell => current > limit,
        };
        if !beyond {
            return Err(SwapError::PriceLimitExceeded);
        }
        let out_for = |delta: u64| match side {
            Side::Buy => self.alpha_out_for(delta),
            Side::Sell => self.tao_out_for(delta),
        };
        let target = {
            let out = out_for(requested);
            let after = match side {
                Side::Buy => Pool {
                    tao: self.tao.saturating_add(requested),
                    alpha: self.alpha.saturating_sub(out),
                    ..*self
                },
                Side::Sell => Pool {
                    tao: self.tao.saturating_sub(out),
                    alpha: self.alpha.saturating_add(requested),
                    ..*self
                },
            };
            after.price()
        };
        let within = match side {
            Side::Buy => target <= limit,
            Side::Sell => target >= limit,
        };
        let (delta_in, fee) = if within {
            (requested, fee)
        } else {
            let delta = match side {
                Side::Buy => self.quote_delta_in(current, limit, self.tao),
                Side::Sell => self.base_delta_in(current, limit, self.alpha),
            };
            let rate = U64F64::saturating_from_num(fee_rate);
            let fee = U64F64::saturating_from_num(delta)
                .saturating_mul(
                    rate.safe_div(U64F64::saturating_from_num(u16::MAX).saturating_sub(rate)),
                )
                .saturating_to_num::<u64>();
            (delta, fee)
        };
        let amount_out = out_for(delta_in);
        if delta_in > 0 && amount_out == 0 {
            return Err(SwapError::ReservesTooLow);
        }
        if amount_out > reserve_out {
            return Err(SwapError::InsufficientLiquidity);
        }
        Ok(SwapResult { amount_in: delta_in, amount_out, fee })
    }

    /// Re-weights the pool so that adding `tao` and `alpha` will not move the price
    /// (`update_weights_for_added_liquidity`). Returns false, changing nothing, if the new
    /// weight would leave [0.01, 0.99].
    pub fn reweight_for_liquidity(&mut self, tao: u64, alpha: u64) -> bool {
        let (y, x) = (u128::from(self.tao), u128::from(self.alpha));
        let (new_y, new_x) =
            (y.saturating_add(u128::from(tao)), x.saturating_add(u128::from(alpha)));
        let q1 = self.base_weight().mul_round(y.saturating_mul(new_x));
        let q2 = self.quote_weight.mul_round(x.saturating_mul(new_y));
        let sum = q1.saturating_add(q2);
        let weight = if sum == 0 { Perquintill::HALF } else { Perquintill::from_rational(q2, sum) };
        if !valid_weight(weight) {
            return false;
        }
        self.quote_weight = weight;
        true
    }
}

fn valid_weight(weight: Perquintill) -> bool {
    weight.parts() >= MIN_WEIGHT && weight.complement().parts() >= MIN_WEIGHT
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The equal-weight shortcut is what `safe-bigmath` computes.
        #[test]
        fn equal_weight_shortcut_matches_bigmath(x in 1u64..u64::MAX / 2, dx in 0u64..u64::MAX / 2) {
            let pool = Pool::new(0, 0);
            let fast = pool.exp_scaled(x, i128::from(dx), true);
            let slow = pow_ratio(u128::from(x), u128::from(x + dx), 1, 1, 256).and_then(|r| r.to_u64()).unwrap();
            let slow = U64F64::saturating_from_num(slow).safe_div(U64F64::saturating_from_num(ACCURACY)).min(U64F64::from_num(1));
            prop_assert_eq!(fast, slow);
        }
    }
}

#[derive(Clone, Copy)]
enum Side {
    Buy,
    Sell,
}

/// The swap fee on `amount`: `floor(amount × rate/65535)`.
pub fn fee_of(amount: u64, fee_rate: u16) -> u64 {
    let rate =
        U64F64::saturating_from_num(fee_rate).safe_div(U64F64::saturating_from_num(u16::MAX));
    U64F64::saturating_from_num(amount).saturating_mul(rate).saturating_to_num()
}

/// A limit price given in RAO of TAO per alpha, as TAO per alpha.
pub fn price_from_rao(limit_rao: u64) -> U64F64 {
    U64F64::saturating_from_num(limit_rao).safe_div(U64F64::saturating_from_num(1_000_000_000u64))
}

/// The lowest limit price (1,000 RAO per alpha).
pub fn min_price() -> U64F64 {
    price_from_rao(1_000)
}

/// The highest limit price (10^15 RAO per alpha).
pub fn max_price() -> U64F64 {
    price_from_rao(1_000_000_000_000_000)
}
