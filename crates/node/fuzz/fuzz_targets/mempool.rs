//! The mempool's admission path under arbitrary input: a sequence of byte strings, each
//! decoded as a signed transaction (bounded), verified, and submitted to a pool on the dev
//! chain's genesis state with small limits. Never a panic, and the bounds always hold:
//! count, bytes, and per-sender count. An input that is not a well-signed transaction is
//! never admitted.
//!
//! Run: `RUSTC_BOOTSTRAP=1 cargo fuzz run mempool` in `crates/node`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use tao_node::mempool::{Mempool, PoolLimits, VerifiedTransaction};
use tao_types::SignedTransaction;

fn state() -> &'static tao_runtime::State {
    static STATE: OnceLock<tao_runtime::State> = OnceLock::new();
    STATE.get_or_init(|| tao_runtime::genesis(&tao_node::dev_genesis().unwrap()).unwrap())
}

fuzz_target!(|data: &[u8]| {
    let limits = PoolLimits {
        max_count: 8,
        max_bytes: 4_096,
        per_sender_count: 3,
        per_sender_bytes: 2_048,
        ..PoolLimits::default()
    };
    let mut pool = Mempool::new(limits);
    // Length-prefixed chunks: one byte of length (times 4), then the chunk.
    let mut rest = data;
    while let Some((&len, tail)) = rest.split_first() {
        let len = (usize::from(len) * 4).min(tail.len());
        let (chunk, tail) = tail.split_at(len);
        rest = tail;
        let Ok(tx) = SignedTransaction::decode_bounded(chunk) else { continue };
        let Ok(verified) = VerifiedTransaction::verify(tx.clone()) else {
            continue;
        };
        if pool.submit(state(), verified).is_ok() {
            assert!(tx.verify_signature());
        }
        assert!(pool.len() <= limits.max_count);
        assert!(pool.bytes() <= limits.max_bytes);
        assert!(pool.pending_of(&tx.transaction.signer).count() <= limits.per_sender_count);
    }
});
