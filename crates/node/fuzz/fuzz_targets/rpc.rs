//! Arbitrary bytes as a JSON-RPC request to a dev node's RPC module: every request is
//! answered or refused, never a panic, and nothing reaches the chain (random bytes are never
//! a validly signed transaction).
//!
//! Run: `RUSTC_BOOTSTRAP=1 cargo fuzz run rpc corpus/rpc fuzz/seeds/rpc` in `crates/node`
//! (the seeds are well-formed requests, single and batched, to start from).

#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::{Arc, OnceLock};
use tao_node::{chain::Chain, rpc};

struct Fixture {
    node: Arc<rpc::Node>,
    module: jsonrpsee_module::Module,
    runtime: tokio::runtime::Runtime,
}

mod jsonrpsee_module {
    pub type Module = jsonrpsee::RpcModule<std::sync::Arc<tao_node::rpc::Node>>;
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("tao-node-fuzz-rpc-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let chain = Chain::open(&dir, &tao_node::dev_genesis().unwrap()).unwrap();
        let node = Arc::new(rpc::Node::new(chain, None, None));
        let module = rpc::module(node.clone()).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        Fixture { node, module, runtime }
    })
}

fuzz_target!(|data: &[u8]| {
    let fixture = fixture();
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok((response, _)) = fixture.runtime.block_on(fixture.module.raw_json_request(text, 1)) {
        let response: serde_json::Value = serde_json::from_str(response.get()).unwrap();
        assert!(response.get("result").is_some() || response.get("error").is_some());
    }
    let chain = fixture.node.chain.lock().unwrap();
    assert_eq!(chain.mempool.len(), 0, "random bytes admitted as a transaction");
});
