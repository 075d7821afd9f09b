//! Benchmarks of `execute_block`, each against a peer measured in the same run:
//!
//! 1. a block of 1,000 transfers, against verifying its 1,000 signatures alone (the floor
//!    any implementation pays);
//! 2. one empty block on a chain of 1,024 started subnets of 64 neurons (price decay,
//!    emission split, epoch scheduling with two epochs run and the rest deferred, the state
//!    root), against re-hashing the whole
//!    state from scratch (what a root without cached digests would cost per block).
//!
//! Run: `cargo bench -p tao-runtime --bench block` (`-- --quick` for fewer iterations).

use codec::Encode;
use std::time::{Duration, Instant};
use tao_primitives::{AccountId, AlphaRao, BlockNumber, Rao};
use tao_runtime::{execute_block, genesis, BlockContext, State};
use tao_types::{
    blake2_256, Call, GenesisBalance, GenesisConfig, GenesisNeuron, GenesisSubnet, Hash, Keypair,
    SignedTransaction, Transaction,
};

fn key(n: u32) -> Keypair {
    let mut seed = [7u8; 32];
    seed[..4].copy_from_slice(&n.to_le_bytes());
    Keypair::from_seed(&seed)
}

fn config(accounts: u32, subnets: u32, neurons: u32) -> GenesisConfig {
    let account = |n: u32| key(n).account();
    GenesisConfig {
        chain_name: "bench".into(),
        sudo: None,
        balances: (0..accounts)
            .map(|n| GenesisBalance { account: account(n), rao: Rao::new(1_000_000_000_000) })
            .collect(),
        authorities: Vec::new(),
        subnets: (0..subnets)
            .map(|s| {
                let base = 1_000_000 + s * 1_000;
                GenesisSubnet {
                    owner_coldkey: account(base),
                    owner_hotkey: account(base + 1),
                    tempo: None,
                    start_emission: true,
                    commit_reveal: Some(false),
                    neurons: (0..neurons)
                        .map(|k| GenesisNeuron {
                            hotkey: account(base + 2 + k),
                            coldkey: account(base),
                            stake: AlphaRao::new(if k < 8 { 1_000_000 + u64::from(k) } else { 0 }),
                        })
                        .collect(),
                    pool_tao: None,
                }
            })
            .collect(),
        network_min_lock: None,
        network_rate_limit: None,
        subnet_limit: Some(4_000),
        allow_loopback_axons: false,
    }
}

fn median(runs: usize, mut f: impl FnMut() -> Duration) -> Duration {
    let mut times: Vec<Duration> = (0..runs).map(|_| f()).collect();
    times.sort();
    times[times.len() / 2]
}

fn transfers(quick: bool) {
    let state = genesis(&config(1_000, 0, 0)).expect("genesis");
    let txs: Vec<SignedTransaction> = (0..1_000u32)
        .map(|n| {
            let from = key(n);
            Transaction {
                genesis_hash: state.genesis_hash(),
                signer: from.account(),
                nonce: 0,
                call: Call::Transfer {
                    dest: key((n + 1) % 1_000).account(),
                    amount: Rao::new(1_000_000),
                },
            }
            .sign(&from)
        })
        .collect();
    let runs = if quick { 3 } else { 11 };
    let block = median(runs, || {
        let mut state = state.clone();
        let start = Instant::now();
        let context = BlockContext { number: BlockNumber::new(1), parent_hash: Hash::default() };
        let outcome = execute_block(&mut state, &context, &txs).expect("executes");
        let elapsed = start.elapsed();
        assert!(outcome.receipts.iter().all(|r| r.outcome == tao_types::Outcome::Success));
        elapsed
    });
    let verify = median(runs, || {
        let start = Instant::now();
        assert!(txs.iter().all(|tx| tx.verify_signature()));
        start.elapsed()
    });
    println!(
        "1,000 transfers: execute_block {:.2} ms ({:.0} tx/s); signatures alone {:.2} ms; ratio {:.2}x",
        block.as_secs_f64() * 1e3,
        1_000.0 / block.as_secs_f64(),
        verify.as_secs_f64() * 1e3,
        block.as_secs_f64() / verify.as_secs_f64()
    );
}

fn full_rehash(state: &State) -> Hash {
    let mut parts = Vec::new();
    parts.extend_from_slice(&blake2_256(&state.chain().encode()).0);
    let accounts: Vec<(AccountId, tao_runtime::Account)> =
        state.accounts().map(|(a, b)| (*a, *b)).collect();
    parts.extend_from_slice(&blake2_256(&accounts.encode()).0);
    for (netuid, subnet) in state.subnets() {
        parts.extend_from_slice(&netuid.get().to_le_bytes());
        parts.extend_from_slice(&blake2_256(&subnet.info.get().encode()).0);
        parts.extend_from_slice(&blake2_256(&subnet.neurons.get().encode()).0);
    }
    blake2_256(&parts)
}

fn many_subnets(quick: bool) {
    let mut state = genesis(&config(1, 1_024, 63)).expect("genesis");
    // Run to the block where every subnet's first epoch is due: two run, the rest are
    // deferred (the busiest block the scheduler allows).
    let mut next = 1u64;
    for _ in 0..359 {
        let context = BlockContext { number: BlockNumber::new(next), parent_hash: Hash::default() };
        execute_block(&mut state, &context, &[]).expect("executes");
        next += 1;
    }
    let runs = if quick { 3 } else { 21 };
    let mut epochs = 0;
    let block = median(runs, || {
        let mut copy = state.clone();
        let context = BlockContext { number: BlockNumber::new(next), parent_hash: Hash::default() };
        let start = Instant::now();
        let outcome = execute_block(&mut copy, &context, &[]).expect("executes");
        let elapsed = start.elapsed();
        epochs = outcome
            .events
            .iter()
            .filter(|e| matches!(e, tao_types::Event::EpochCompleted { .. }))
            .count();
        elapsed
    });
    let rehash = median(runs, || {
        let start = Instant::now();
        std::hint::black_box(full_rehash(&state));
        start.elapsed()
    });
    println!(
        "1,024 subnets x 64 neurons, one block ({epochs} epochs ran): execute_block {:.2} ms; full state re-hash {:.2} ms; ratio {:.2}x",
        block.as_secs_f64() * 1e3,
        rehash.as_secs_f64() * 1e3,
        block.as_secs_f64() / rehash.as_secs_f64()
    );
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    transfers(quick);
    many_subnets(quick);
}
