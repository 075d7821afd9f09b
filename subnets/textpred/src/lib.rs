//! `tao-textpred`: a text-prediction subnet built only on `tao-sdk`.
//!
//! Miners run real character-level language models ([`model`]) trained at start-up on the
//! training half of a generated corpus ([`corpus`]); validators sample fresh contexts
//! from the held-out half, ask every miner for a distribution over the next character
//! ([`protocol`]), and score each by the log-likelihood of what really came next (and by
//! whether it answered in time). Better models earn more: Yuma Consensus pays by the
//! validators' weights, which follow the moving scores.
//!
//! Invariants: every model's prediction is a distribution over the alphabet (sums to 1, no
//! zero); scoring never trusts a miner's numbers (non-finite, negative or over-confident
//! answers are clamped or scored as the worst); the corpus is the same on every machine.

pub mod corpus;
pub mod model;
pub mod protocol;
pub mod validator;
