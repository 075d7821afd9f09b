//! Integration tests of `tao-runtime`: every call's happy path and rejections, the
//! emission/price/lock vectors through the runtime, epochs, and properties over random
//! transaction sequences. One binary.

#![allow(missing_docs)] // test helpers

mod balances;
mod block_step;
mod chain;
mod channels;
mod epochs;
mod governance;
mod properties;
mod registration;
mod staking;
mod subnets;
mod validators;
mod weights;
