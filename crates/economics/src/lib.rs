//! The money math of the chain: block emission and halving, registration price, subnet
//! lock cost, computed exactly as the reference chain computes them.
//!
//! Pure functions over integer amounts; fixed point where the reference uses it, with its
//! rounding. Consensus-critical: no I/O, no floats, no panics.
//!
//! Invariants:
//! * [`block_emission`] never mints past the 21 M TAO cap and halves at issuance
//!   10.5 M, 15.75 M, … TAO (`chain-protocol.md` §2).
//! * The registration price stays within `[min_burn, max_burn]` after every decay and bump.
//! * The lock cost is never below the minimum lock.

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

pub mod coinbase;
pub mod emission;
pub mod lock;
pub mod pool;
pub mod registration;

pub use emission::{block_emission, DEFAULT_BLOCK_EMISSION, TOTAL_SUPPLY};
pub use lock::{lock_reduction_interval, network_lock_cost, LockState};
pub use registration::{
    bump_burn, decay_burn, decay_factor_q32, BurnBounds, DEFAULT_BURN_INCREASE_MULT,
};
