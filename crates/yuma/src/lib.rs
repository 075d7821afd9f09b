//! Yuma Consensus: stake-weighted weights in, incentive, dividends and bonds out,
//! bit-exact with the reference chain.
//!
//! One call, [`epoch()`], turns a subnet's state ([`YumaInput`]) into a [`YumaOutput`]. It
//! follows the reference chain's sparse production path (`chain-protocol.md` §4) step by step,
//! in the reference's fixed-point types and rounding, so its u16 outputs match the chain's.
//! Steps 5–16 run on sparse rows (the reference) or, when most cells are set, on a dense
//! validator × miner block worked column by column: the same bits ([`epoch_with`],
//! [`Kernel`]).
//!
//! # The equations
//!
//! With `S` the normalized stake, `A` the active stake (active, permitted, renormalized),
//! `W` the row-normalized weights and `κ` the majority:
//!
//! | symbol | meaning | field |
//! |---|---|---|
//! | `C_j = median_κ(A, W_·j)` | consensus: the highest weight a κ-majority of stake supports | `consensus` |
//! | `W̄_ij = min(W_ij, C_j)` | clipped weights | |
//! | `VT_i = Σ_j W̄_ij` | validator trust | `validator_trust` |
//! | `R_j = Σ_i A_i W̄_ij` | rank | `rank` |
//! | `I = R / ΣR` | incentive | `incentive` |
//! | `WB = W + β(W̄ − W)` | weights for bonds, β = bonds penalty | |
//! | Yuma3: `B ← EMA_α(B, WB)`, `D ∝ A ∘ Σ_j (B_ij/Σ_k B_kj) I_j` | bonds, dividends | `bonds`, `dividends` |
//! | classic: `ΔB = colnorm(WB ∘ A)`, `B ← colnorm(EMA_α(colnorm B, ΔB))`, `D ∝ B I` | | |
//! | `E_miner = I/Σ(I+D)·e`, `E_validator = D/Σ(I+D)·e` | emission split of `e` | `*_emission` |
//!
//! # Example
//!
//! Two validators weight the only miner; the miner gets all incentive and the validators
//! share the dividends by stake:
//!
//! ```
//! use tao_primitives::{fixed::I64F64, AlphaRao, BlockNumber, Uid};
//! use tao_yuma::{epoch, CommitReveal, Params, YumaInput};
//!
//! let miner = Uid::new(2);
//! let input = YumaInput {
//!     block: BlockNumber::new(100),
//!     tempo: 360,
//!     last_epoch_block: BlockNumber::new(0),
//!     activity_cutoff: 5_000,
//!     stake: vec![I64F64::from_num(3_000), I64F64::from_num(1_000), I64F64::from_num(0)],
//!     stake_threshold: 0,
//!     owner: None,
//!     validator_permit: vec![true, true, false],
//!     last_update: vec![BlockNumber::new(99); 3],
//!     block_at_registration: vec![BlockNumber::new(1); 3],
//!     weights: vec![vec![(miner, u16::MAX)], vec![(miner, u16::MAX)], vec![]],
//!     bonds: vec![vec![]; 3],
//!     commit_reveal: CommitReveal::Off,
//!     params: Params::default(),
//!     emission: AlphaRao::new(1_000_000_000),
//! };
//! let out = epoch(&input)?;
//! assert_eq!(tao_yuma::to_u16(&out.incentive), vec![0, 0, 65535]);
//! assert_eq!(tao_yuma::to_u16(&out.dividends), vec![49151, 16383, 0]);
//! assert_eq!(out.server_emission[2], AlphaRao::new(500_000_000)); // half to the miner
//! # Ok::<(), tao_yuma::YumaError>(())
//! ```
//!
//! # Invariants
//! * Pure and deterministic: no I/O, no clock, no floats, no hash-map iteration; the same
//!   input gives the same bits, on one thread ([`epoch`]) or split across the crate's
//!   pool of two ([`epoch_with_threads`] with two threads, on a large epoch).
//! * Buffers a thread keeps from one epoch for the next (the dense block, the consensus
//!   scratch, the vectors of `pool.rs`, a dropped output's) carry capacity only: every
//!   value is written before it is read, and each is bounded.
//! * Never panics; a malformed input (length mismatch, UID out of range, repeated UID,
//!   parameter out of domain) is a [`YumaError`].
//! * `incentive` and `dividends` each sum to 1 (up to fixed-point truncation) or are all 0;
//!   every fraction is in [0, 1]; the emission paid never exceeds `emission`.
//! * Relabelling UIDs permutes the outputs (up to the reference's tie-breaks by UID order).

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

mod dense;
mod epoch;
mod error;
mod fast;
mod input;
pub mod math;
mod output;
mod pool;
mod workers;

pub use epoch::{epoch, epoch_with, epoch_with_threads, reset_bonds_to, Kernel, DEFAULT_THREADS};
pub use error::YumaError;
pub use input::{BondModel, CommitReveal, LiquidAlpha, Params, SparseRow, YumaInput};
pub use output::{to_u16, BondRow, Bonds, YumaOutput};
