//! Ids, units, fixed-point helpers and account ids shared by every tao crate.
//!
//! This crate is consensus-critical and pure: no I/O, no clocks, no floats, no hash-map
//! iteration, and no panics on any input.
//!
//! * [`ids`]: newtypes for the identifiers of the chain ([`NetUid`], [`Uid`], [`BlockNumber`]).
//!   They deliberately have no arithmetic operators: every step is a named, checked call.
//! * [`units`]: token amounts in their smallest unit ([`Rao`] for TAO, [`AlphaRao`] for a
//!   subnet's alpha), with checked arithmetic and exact decimal parsing/printing.
//! * [`fixed`]: the reference chain's fixed-point types (from `substrate-fixed`) and the
//!   conversions it uses, with its rounding (floor on multiply, truncate on divide, 0 on
//!   division by zero).
//! * [`account`]: 32-byte account ids and their SS58 text form.
//!
//! Invariants:
//! * A `Rao`/`AlphaRao` amount is a `u64` count of the smallest unit (10^9 per token); no
//!   operation silently wraps: `checked_*` returns `None`, `saturating_*` clamps.
//! * `fixed_proportion_to_u16(u16_proportion_to_fixed(x))` is `x` or `x - 1` (both directions
//!   truncate, as on the reference chain).
//! * `AccountId::from_ss58(a.to_ss58()) == Ok(a)`.

#![cfg_attr(
    not(test),
    deny(
        clippy::arithmetic_side_effects,
        clippy::indexing_slicing,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::float_arithmetic
    )
)]

pub mod account;
pub mod fixed;
pub mod hex;
pub mod ids;
pub mod units;

pub use account::{AccountId, Ss58Error, SS58_PREFIX};
pub use ids::{BlockNumber, ChannelId, NetUid, Uid};
pub use units::{AlphaRao, ParseAmountError, Rao, RAO_PER_TAO};
