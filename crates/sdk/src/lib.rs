//! `tao-sdk`: what subnets are written against. Today: the wire protocol of the Python SDK
//! (bittensor 10.x axon/dendrite, and bittensor 11's `btauth/1`) and an axon and dendrite
//! speaking it:
//!
//! * [`synapse`]: typed synapses (a request struct, its reply struct, the Python class's
//!   name and required/hashed fields);
//! * [`python`]: Python's `str()` of JSON values, the input of body hashes;
//! * [`body_hash`]: a synapse's `computed_body_hash`;
//! * [`v10`]: the dendrite's request signature and the axon's verification with its nonce
//!   rules (replay, staleness) and status codes;
//! * [`btauth`]: `btauth/1` signed headers, both sides;
//! * [`axon`]: the miner's HTTP server (unary and streaming synapses, `btauth/1` callers,
//!   blacklist, stake allow-list, rate limits, priority), with limits against hostile
//!   clients ([`axon::AxonLimits`]: connections, read timeouts, body budget, nonce window);
//!   [`dendrite`]: the validator's client (fan-out, streaming, `btauth/1` requests, capped
//!   reply sizes);
//! * [`chain`]: the node's RPC through typed calls (every method of `tao-rpc-api`, re-exported
//!   as [`chain::api`], after a check of the node's API version), the metagraph and signed
//!   submissions (`serve_axon`, weights directly or by commit-reveal with
//!   [`chain::WeightSetter`]);
//! * [`neuron`]: the miner and validator loops (`run_miner`, `run_validator` with a
//!   subnet's [`neuron::Scorer`]).
//!
//! Invariants: byte-for-byte what the Python packages produce and accept (checked against
//! `shared/spec/vectors` and the real packages); the protocol functions take "now" from
//! the caller, so every rule is testable;
//! no panics on any input; memory held for any client is bounded.

pub mod axon;
pub mod body_hash;
pub mod btauth;
pub mod chain;
pub mod dendrite;
mod expiring;
pub mod neuron;
pub mod payment;
pub mod python;
pub mod synapse;
pub mod v10;
