//! The per-block coinbase and the epoch payout split, as pure functions
//! (`chain-protocol.md` §3): subnet shares by moving price, TAO and alpha injection with the
//! root-proportion cap, the alpha-out split, the moving price, and the alpha/root split of
//! dividends.

use substrate_fixed::types::{I96F32, U64F64, U96F32};
use tao_primitives::fixed::SafeDiv;

/// `TaoWeight` at its runtime default (≈ 0.05268 as a fraction of `u64::MAX`).
pub const DEFAULT_TAO_WEIGHT: u64 = 971_718_665_099_567_868;
/// The subnet owner's cut of alpha emission, a u16 proportion (≈ 18 %).
pub const DEFAULT_SUBNET_OWNER_CUT: u16 = 11_796;
/// Blocks for the moving-price rate to ramp up to half its value (`EMAPriceHalvingBlocks`).
pub const EMA_PRICE_HALVING_BLOCKS: u64 = 201_600;

/// The moving price's base rate, `SubnetMovingAlpha` = `I96F32::from_num(0.000003)`.
pub fn default_moving_alpha() -> I96F32 {
    I96F32::from_bits(12_885)
}

/// `TaoWeight` as a fraction: `raw / u64::MAX`.
pub fn tao_weight(raw: u64) -> U96F32 {
    U96F32::saturating_from_num(raw).safe_div(U96F32::saturating_from_num(u64::MAX))
}

/// The root proportion of a subnet: `w·T / (w·T + alpha_issuance)`, 0 if both are 0.
pub fn root_proportion(root_tao: u64, tao_weight: U96F32, alpha_issuance: u64) -> U96F32 {
    let weighted = U96F32::saturating_from_num(root_tao).saturating_mul(tao_weight);
    weighted.safe_div(weighted.saturating_add(U96F32::saturating_from_num(alpha_issuance)))
}

/// Each emitting subnet's share of the block's TAO: its moving price over the sum, damped by
/// the fraction of its miner emission it burned last epoch, renormalized.
pub fn subnet_shares(moving_prices: &[U64F64], miner_burned: &[U96F32]) -> Vec<U64F64> {
    let total = moving_prices.iter().fold(U64F64::from_num(0), |acc, p| acc.saturating_add(*p));
    let price_shares: Vec<U64F64> = moving_prices.iter().map(|p| p.safe_div(total)).collect();
    let weights: Vec<U64F64> = price_shares
        .iter()
        .zip(miner_burned.iter().chain(std::iter::repeat(&U96F32::from_num(0))))
        .map(|(share, burned)| {
            let kept = U64F64::from_num(1)
                .saturating_sub(U64F64::saturating_from_num((*burned).min(U96F32::from_num(1))));
            share.saturating_mul(kept)
        })
        .collect();
    let weight_total = weights.iter().fold(U64F64::from_num(0), |acc, w| acc.saturating_add(*w));
    if weight_total > U64F64::from_num(0) {
        weights.iter().map(|w| w.safe_div(weight_total)).collect()
    } else {
        price_shares
    }
}

/// A subnet's block terms (`get_subnet_terms`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SubnetTerms {
    /// TAO injected into the pool.
    pub tao_in: U96F32,
    /// Alpha injected into the pool.
    pub alpha_in: U96F32,
    /// Alpha emitted to participants.
    pub alpha_out: U96F32,
    /// TAO used to buy alpha for the protocol instead of being injected.
    pub excess_tao: U96F32,
}

/// `alpha_in = tao_emission / price`, capped at `root_prop × alpha_emission` (then
/// `tao_in = alpha_in × price`); the rest of the TAO is excess.
pub fn subnet_terms(
    tao_emission: U96F32,
    alpha_emission: u64,
    price: U96F32,
    root_prop: U96F32,
) -> SubnetTerms {
    let alpha_emission = U96F32::saturating_from_num(alpha_emission);
    let mut tao_in = tao_emission;
    let mut alpha_in = tao_emission.safe_div(price);
    let cap = root_prop.saturating_mul(alpha_emission);
    if alpha_in > cap {
        alpha_in = cap;
        tao_in = alpha_in.saturating_mul(price);
    }
    SubnetTerms {
        tao_in,
        alpha_in,
        alpha_out: alpha_emission,
        excess_tao: tao_emission.saturating_sub(tao_in),
    }
}

/// Where a block's alpha out goes (floored to integers, as accumulated).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AlphaSplit {
    /// To the subnet owner.
    pub owner_cut: u64,
    /// To miners (by incentive).
    pub server: u64,
    /// To the subnet's validators (by dividends).
    pub validator: u64,
    /// To root stakers of the validators.
    pub root: u64,
}

/// `owner = out × cut`; of the rest half to miners, half to validators of which the root
/// proportion goes to root (§3.5).
pub fn split_alpha_out(alpha_out: U96F32, owner_cut: u16, root_prop: U96F32) -> AlphaSplit {
    let cut =
        U96F32::saturating_from_num(owner_cut).safe_div(U96F32::saturating_from_num(u16::MAX));
    let owner = alpha_out.saturating_mul(cut);
    let rest = alpha_out.saturating_sub(owner);
    let half = U96F32::from_bits(1 << 31);
    let root = root_prop.saturating_mul(rest).saturating_mul(half);
    let server = rest.saturating_mul(half);
    let validator = rest.saturating_sub(server).saturating_sub(root);
    let to_u64 = |x: U96F32| x.saturating_to_num::<u64>();
    AlphaSplit {
        owner_cut: to_u64(owner),
        server: to_u64(server),
        validator: to_u64(validator),
        root: to_u64(root),
    }
}

/// One step of the moving price: `α = base × b/(b + halving)`, `new = α·min(spot, 1) +
/// (1 − α)·old`, with `b` blocks since `start_call`.
pub fn update_moving_price(
    old: I96F32,
    spot: U64F64,
    base: I96F32,
    blocks_since_start: u64,
    halving: u64,
) -> I96F32 {
    let b = U64F64::saturating_from_num(blocks_since_start);
    let ramp = b.safe_div(b.saturating_add(U64F64::saturating_from_num(halving)));
    let alpha = U64F64::saturating_from_num(base).saturating_mul(ramp);
    let one = U64F64::from_num(1);
    let current = alpha.saturating_mul(spot.min(one));
    let kept = one
        .saturating_sub(alpha)
        .saturating_mul(U64F64::saturating_from_num(old.max(I96F32::from_num(0))));
    I96F32::saturating_from_num(current.saturating_add(kept))
}

/// A validator's share of dividends split between its alpha stakers and its root stakers:
/// `root_prop_h = root_h·w / (alpha_h + root_h·w)`. Returns `(alpha part, root part)`.
pub fn alpha_root_split(
    dividend: U96F32,
    alpha_stake: u64,
    root_stake: u64,
    tao_weight: U96F32,
) -> (U96F32, U96F32) {
    let root_alpha = U96F32::saturating_from_num(root_stake).saturating_mul(tao_weight);
    let prop =
        root_alpha.safe_div(U96F32::saturating_from_num(alpha_stake).saturating_add(root_alpha));
    let root = dividend.saturating_mul(prop);
    (dividend.saturating_sub(root), root)
}

/// `parts` scaled so they sum to `pot`: `pot × (part / Σ parts)` each, unfloored (the
/// reference's `prop_alpha` / `root_alpha` dividends; takes are computed on these values).
pub fn share_of_pot(pot: u64, parts: &[U96F32]) -> Vec<U96F32> {
    let total = parts.iter().fold(U96F32::from_num(0), |acc, p| acc.saturating_add(*p));
    parts
        .iter()
        .map(|p| U96F32::saturating_from_num(pot).saturating_mul(p.safe_div(total)))
        .collect()
}

/// Scales `parts` so they sum to `pot`: [`share_of_pot`] floored.
pub fn rescale_to_pot(pot: u64, parts: &[U96F32]) -> Vec<u64> {
    share_of_pot(pot, parts).into_iter().map(|x| x.saturating_to_num::<u64>()).collect()
}
