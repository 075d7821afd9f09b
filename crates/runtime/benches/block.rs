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
        governance: None,
        validators: Vec::new(),
        consensus: None,
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
        let context = BlockContext {
            number: BlockNumber::new(1),
            parent_hash: Hash::default(),
            credit: None,
        };
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
        let context = BlockContext {
            number: BlockNumber::new(next),
            parent_hash: Hash::default(),
            credit: None,
        };
        execute_block(&mut state, &context, &[]).expect("executes");
        next += 1;
    }
    let runs = if quick { 3 } else { 21 };
    let mut epochs = 0;
    let block = median(runs, || {
        let mut copy = state.clone();
        let context = BlockContext {
            number: BlockNumber::new(next),
            parent_hash: Hash::default(),
            credit: None,
        };
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

/// A full subnet: 256 UIDs, 64 validators with dense weights, 1,000 nominators. Times the
/// block whose epoch pays everyone out, against the bare Yuma epoch on the same input.
fn payout(quick: bool) {
    let nominators = 1_000u32;
    let mut config = config(nominators, 1, 255);
    config.subnets[0].tempo = Some(50);
    let mut state = genesis(&config).expect("genesis");
    let netuid = tao_primitives::NetUid::new(1);
    let block = |state: &mut State, txs: &[SignedTransaction]| {
        let context = BlockContext {
            number: BlockNumber::new(state.block().get() + 1),
            parent_hash: Hash::default(),
            credit: None,
        };
        execute_block(state, &context, txs).expect("executes")
    };
    let validators: Vec<AccountId> = (0..64u32).map(|k| key(1_000_000 + 2 + k).account()).collect();
    let sign = |state: &State, signer: &Keypair, call: Call| {
        Transaction {
            genesis_hash: state.genesis_hash(),
            signer: signer.account(),
            nonce: state.account(&signer.account()).nonce,
            call,
        }
        .sign(signer)
    };
    let stakes: Vec<SignedTransaction> = (0..nominators)
        .map(|n| {
            sign(
                &state,
                &key(n),
                Call::AddStake {
                    hotkey: validators[(n % 64) as usize],
                    netuid,
                    amount: Rao::new(1_000_000_000),
                    limit_price: None,
                },
            )
        })
        .collect();
    block(&mut state, &stakes);
    while state.subnet(netuid).unwrap().info.get().epoch_index == 0 {
        block(&mut state, &[]);
    }
    let weights: Vec<SignedTransaction> = (0..64u32)
        .map(|k| {
            let uids: Vec<u16> = (65..256).collect();
            let values: Vec<u16> = uids.iter().map(|u| u * 37 % 1000 + 1).collect();
            sign(
                &state,
                &key(1_000_000 + 2 + k),
                Call::SetWeights { netuid, uids, values, version_key: 0 },
            )
        })
        .collect();
    block(&mut state, &weights);
    let index = state.subnet(netuid).unwrap().info.get().epoch_index;
    // Run to the block before the next epoch.
    loop {
        let mut probe = state.clone();
        block(&mut probe, &[]);
        if probe.subnet(netuid).unwrap().info.get().epoch_index > index {
            break;
        }
        block(&mut state, &[]);
    }
    let runs = if quick { 3 } else { 11 };
    let next = state.block().get() + 1;
    let epoch_block = median(runs, || {
        let mut copy = state.clone();
        let context = BlockContext {
            number: BlockNumber::new(next),
            parent_hash: Hash::default(),
            credit: None,
        };
        let start = Instant::now();
        execute_block(&mut copy, &context, &[]).expect("executes");
        start.elapsed()
    });
    let subnet = state.subnet(netuid).unwrap();
    let weight = tao_economics::coinbase::tao_weight(state.chain().params.tao_weight);
    let input = tao_runtime::epoch::epoch_input(
        subnet,
        state.root_stakes(),
        weight,
        BlockNumber::new(next),
        0,
    );
    let bare = median(runs, || {
        let start = Instant::now();
        std::hint::black_box(tao_yuma::epoch(&input).expect("valid"));
        start.elapsed()
    });
    println!(
        "256 UIDs, 64 validators, {nominators} nominators: epoch block with payout {:.2} ms; bare Yuma epoch {:.2} ms; ratio {:.2}x",
        epoch_block.as_secs_f64() * 1e3,
        bare.as_secs_f64() * 1e3,
        epoch_block.as_secs_f64() / bare.as_secs_f64()
    );
}

fn main() {
    // `--quick`, or `TAO_BENCH_QUICK` set (CI runs every bench once that way).
    let quick =
        std::env::args().any(|a| a == "--quick") || std::env::var_os("TAO_BENCH_QUICK").is_some();
    transfers(quick);
    many_subnets(quick);
    payout(quick);
}
