//! Arbitrary bytes as a message on the validators' block channel: the decoder never panics,
//! and a decoded block checked against the genesis block (body, then the full check with
//! execution) is accepted or refused, never a panic (a Byzantine peer controls these bytes).
//! A block that passes the full check carries only valid transactions.
//!
//! Run: `RUSTC_BOOTSTRAP=1 cargo fuzz run block_channel` in `crates/node`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use parity_scale_codec::Decode;
use std::sync::OnceLock;
use tao_node::{chain, consensus::Wire};

fn genesis() -> &'static (tao_types::Header, tao_runtime::State) {
    static GENESIS: OnceLock<(tao_types::Header, tao_runtime::State)> = OnceLock::new();
    GENESIS.get_or_init(|| {
        let state = tao_runtime::genesis(&tao_node::dev_genesis().unwrap()).unwrap();
        (chain::genesis_header(&state), state)
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok(Wire::Block(block)) = Wire::decode(&mut &data[..]) {
        let (header, state) = genesis();
        if chain::check_block_body(&block).is_err() {
            return;
        }
        if let Ok((_, outcome)) = chain::check_block(header, state, &block, u64::MAX) {
            assert!(outcome.first_invalid().is_none(), "a block with an invalid transaction passed");
        }
    }
});
