//! `tao-sdk`: what subnets are written against. Today: the wire protocol of the Python SDK
//! (bittensor 10.x axon/dendrite, and bittensor 11's `btauth/1`), as pure functions:
//!
//! * [`python`]: Python's `str()` of JSON values, the input of body hashes;
//! * [`body_hash`]: a synapse's `computed_body_hash`;
//! * [`v10`]: the dendrite's request signature and the axon's verification with its nonce
//!   rules (replay, staleness) and status codes;
//! * [`btauth`]: `btauth/1` signed headers, both sides.
//!
//! Invariants: byte-for-byte what the Python packages produce and accept (checked against
//! `shared/spec/vectors`); no clocks inside (callers pass "now"), so every rule is testable;
//! no panics on any input. The HTTP axon and dendrite, the chain client and the
//! miner/validator loops are not built yet.

pub mod axon;
pub mod body_hash;
pub mod btauth;
pub mod python;
pub mod v10;
