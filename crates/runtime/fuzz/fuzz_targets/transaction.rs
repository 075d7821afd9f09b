//! Arbitrary bytes as a signed transaction: the bounded decoder must never panic, and a
//! block carrying whatever decodes must execute without panicking.
//!
//! Run: `cargo fuzz run transaction` in `crates/runtime` (libFuzzer needs nightly flags;
//! `RUSTC_BOOTSTRAP=1` works with a stable toolchain).

#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use tao_primitives::{AccountId, AlphaRao, BlockNumber, Rao};
use tao_runtime::{execute_block, genesis, BlockContext, State};
use tao_types::{GenesisBalance, GenesisConfig, GenesisNeuron, GenesisSubnet, Hash, SignedTransaction};

fn base() -> &'static State {
    static STATE: OnceLock<State> = OnceLock::new();
    STATE.get_or_init(|| {
        let account = |n: u8| AccountId::new([n; 32]);
        let config = GenesisConfig {
            chain_name: "fuzz".into(),
            sudo: Some(account(1)),
            balances: vec![GenesisBalance { account: account(1), rao: Rao::new(1 << 50) }],
            authorities: Vec::new(),
            subnets: vec![GenesisSubnet {
                owner_coldkey: account(1),
                owner_hotkey: account(2),
                tempo: Some(1),
                start_emission: true,
                commit_reveal: Some(false),
                neurons: vec![GenesisNeuron { hotkey: account(3), coldkey: account(1), stake: AlphaRao::new(5) }],
                pool_tao: None,
            }],
            network_min_lock: None,
            network_rate_limit: None,
            subnet_limit: None,
            allow_loopback_axons: false,
            governance: None,
            validators: Vec::new(),
            consensus: None,
        };
        genesis(&config).expect("valid genesis")
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok(tx) = SignedTransaction::decode_bounded(data) {
        let mut state = base().clone();
        let context =
            BlockContext { number: BlockNumber::new(1), parent_hash: Hash::default(), credit: None };
        let outcome = execute_block(&mut state, &context, &[tx]).expect("block 1 follows genesis");
        assert_eq!(outcome.receipts.len(), 1);
    }
});
