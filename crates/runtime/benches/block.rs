//! Benchmarks of `execute_block`, each against a peer measured in the same run:
//!
//! 1. a block of 1,000 transfers, against verifying its 1,000 signatures alone (the floor
//!    any implementation pays);
//! 2. one empty block on a chain of 1,024 started subnets of 64 neurons (price decay,
//!    emission split, epoch scheduling with two epochs run and the rest deferred, the state
//!    root), against re-hashing the whole
//!    state from scratch (what a root without cached digests would cost per block);
//! 3. the block in which a full subnet's epoch pays out 1,000 nominators, against the bare
//!    Yuma epoch on the same input;
//! 4. a block in which 1,024 subnets of 256 UIDs (64 validators weighting 192 miners) all
//!    run their epoch (`MaxEpochsPerBlock` raised by root), split into its parts: the
//!    epochs' inputs read from the state, the bare Yuma epochs on those inputs, the changed
//!    subnets' parts re-hashed for the state root, and the rest (results and bonds written
//!    back, payouts, emission).
//!
//! Run: `cargo bench -p tao-runtime --bench block` (`-- --quick` for fewer iterations).

use codec::Encode;
use std::time::{Duration, Instant};
use tao_primitives::{AccountId, AlphaRao, BlockNumber, Rao};
use tao_runtime::{execute_block, genesis, BlockContext, BlockOutcome, Cached, State};
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

/// `call` signed by `signer` with its next nonce on `state`.
fn sign(state: &State, signer: &Keypair, call: Call) -> SignedTransaction {
    Transaction {
        genesis_hash: state.genesis_hash(),
        signer: signer.account(),
        nonce: state.account(&signer.account()).nonce,
        call,
    }
    .sign(signer)
}

/// Executes the block after `state`'s with `txs` (set-up, not timed); every transaction
/// must succeed.
fn next_block(state: &mut State, txs: &[SignedTransaction]) -> BlockOutcome {
    let context = BlockContext {
        number: BlockNumber::new(state.block().get() + 1),
        parent_hash: Hash::default(),
        credit: None,
    };
    let outcome = execute_block(state, &context, txs).expect("executes");
    assert!(
        outcome.receipts.iter().all(|r| r.outcome == tao_types::Outcome::Success),
        "a set-up transaction failed: {:?}",
        outcome.receipts.iter().find(|r| r.outcome != tao_types::Outcome::Success)
    );
    outcome
}

/// Runs `state` to the block before the one where `epoch_index` next grows.
fn to_the_block_before_an_epoch(state: &mut State, epoch_index: impl Fn(&State) -> u64) {
    let index = epoch_index(state);
    loop {
        let mut probe = state.clone();
        next_block(&mut probe, &[]);
        if epoch_index(&probe) > index {
            return;
        }
        next_block(state, &[]);
    }
}

fn transfers(quick: bool) {
    let state = genesis(&config(1_000, 0, 0)).expect("genesis");
    let txs: Vec<SignedTransaction> = (0..1_000u32)
        .map(|n| {
            let call = Call::Transfer {
                dest: key((n + 1) % 1_000).account(),
                amount: Rao::new(1_000_000),
            };
            sign(&state, &key(n), call)
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

/// How many epochs ran in a block.
fn epochs_completed(outcome: &BlockOutcome) -> usize {
    outcome.events.iter().filter(|e| matches!(e, tao_types::Event::EpochCompleted { .. })).count()
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
    for _ in 0..359 {
        next_block(&mut state, &[]);
    }
    let next = state.block().get() + 1;
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
        epochs = epochs_completed(&outcome);
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
    let validators: Vec<AccountId> = (0..64u32).map(|k| key(1_000_000 + 2 + k).account()).collect();
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
    next_block(&mut state, &stakes);
    let epoch_index = |state: &State| state.subnet(netuid).unwrap().info.get().epoch_index;
    while epoch_index(&state) == 0 {
        next_block(&mut state, &[]);
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
    next_block(&mut state, &weights);
    to_the_block_before_an_epoch(&mut state, epoch_index);
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

/// A block in which every one of `subnets` subnets of 256 UIDs runs its epoch: 64
/// validators (stake, permits, dense weights on the 192 miners) per subnet, root having
/// raised `MaxEpochsPerBlock` so that none is deferred. Times `execute_block` of that block
/// and, on the same state, its parts: reading each epoch's input from the state, the bare
/// Yuma epochs on those inputs and re-hashing the subnets' changed parts (as the state root
/// does after the block); the rest of the block is the difference.
fn all_epochs(quick: bool) {
    let subnets: u32 = if quick { 8 } else { 1_024 };
    let root = key(0);
    let mut config = config(1, subnets, 255);
    config.sudo = Some(root.account());
    for subnet in &mut config.subnets {
        subnet.tempo = Some(60);
        for (k, neuron) in subnet.neurons.iter_mut().enumerate() {
            if k < 64 {
                neuron.stake = AlphaRao::new(1_000_000_000 + 1_000 * k as u64);
            }
        }
    }
    let setup = Instant::now();
    let mut state = genesis(&config).expect("genesis");
    let raise = sign(
        &state,
        &root,
        Call::SetGlobalParameter { value: tao_types::GlobalParameter::MaxEpochsPerBlock(u16::MAX) },
    );
    next_block(&mut state, &[raise]);
    let epoch_index = |state: &State| {
        state.subnets().map(|(_, s)| s.info.get().epoch_index).min().unwrap_or_default()
    };
    // The first epoch hands out the validator permits.
    while epoch_index(&state) == 0 {
        next_block(&mut state, &[]);
    }
    // Every validator weights every miner (UIDs 65..256), 4,096 transactions a block.
    let uids: Vec<u16> = (65..256).collect();
    let mut weights = Vec::new();
    for s in 0..subnets {
        let netuid = tao_primitives::NetUid::new(u16::try_from(s + 1).expect("netuid"));
        for k in 0..64u32 {
            let validator = key(1_000_000 + s * 1_000 + 2 + k);
            let values: Vec<u16> = uids
                .iter()
                .map(|u| (u32::from(*u) * 37 + k * 101 + s) as u16 % 1_000 + 1)
                .collect();
            let call = Call::SetWeights { netuid, uids: uids.clone(), values, version_key: 0 };
            weights.push(sign(&state, &validator, call));
        }
    }
    for chunk in weights.chunks(4_096) {
        next_block(&mut state, chunk);
    }
    to_the_block_before_an_epoch(&mut state, epoch_index);
    let setup = setup.elapsed();
    let runs = if quick { 1 } else { 5 };
    let next = BlockNumber::new(state.block().get() + 1);
    let mut epochs = 0;
    let mut after = state.clone();
    let whole = median(runs, || {
        let mut copy = state.clone();
        let context = BlockContext { number: next, parent_hash: Hash::default(), credit: None };
        let start = Instant::now();
        let outcome = execute_block(&mut copy, &context, &[]).expect("executes");
        let elapsed = start.elapsed();
        after = copy;
        epochs = epochs_completed(&outcome);
        elapsed
    });
    assert_eq!(epochs, subnets as usize, "every subnet's epoch runs in the block");
    let weight = tao_economics::coinbase::tao_weight(state.chain().params.tao_weight);
    let threshold = state.chain().params.stake_threshold;
    let mut inputs = Vec::new();
    let assemble = median(runs, || {
        let start = Instant::now();
        inputs = state
            .subnets()
            .map(|(_, subnet)| {
                tao_runtime::epoch::epoch_input(
                    subnet,
                    state.root_stakes(),
                    weight,
                    next,
                    threshold,
                )
            })
            .collect();
        start.elapsed()
    });
    // The epochs are dense (every validator weights every miner) and pay somebody.
    let output = tao_yuma::epoch(&inputs[0]).expect("valid");
    assert!(output.incentive.iter().filter(|i| i.to_bits() > 0).count() >= 190);
    let yuma = median(runs, || {
        let start = Instant::now();
        for input in &inputs {
            std::hint::black_box(tao_yuma::epoch(std::hint::black_box(input)).expect("valid"));
        }
        start.elapsed()
    });
    // The state root's share: every subnet's three parts changed in the block (its record,
    // its neurons' results and bonds, its stakes after the payouts), re-hashed.
    let hashing = median(runs, || {
        let fresh: Vec<_> = after
            .subnets()
            .map(|(_, s)| {
                (
                    Cached::new(s.info.get().clone()),
                    Cached::new(s.neurons.get().clone()),
                    Cached::new(s.stakes.get().clone()),
                )
            })
            .collect();
        let start = Instant::now();
        for (info, neurons, stakes) in &fresh {
            std::hint::black_box((info.digest(), neurons.digest(), stakes.digest()));
        }
        start.elapsed()
    });
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let rest = whole.saturating_sub(assemble).saturating_sub(yuma).saturating_sub(hashing);
    let share = |d: Duration| 100.0 * ms(d) / ms(whole);
    println!(
        "{subnets} subnets x 256 UIDs, every epoch in one block ({epochs} ran; set-up {:.1} s): \
         execute_block {:.1} ms = epoch inputs read from the state {:.1} ms ({:.0}%) + Yuma \
         epochs {:.1} ms ({:.0}%) + the changed subnets' parts re-hashed for the state root \
         {:.1} ms ({:.0}%) + the rest (results and bonds written, payouts, emission) {:.1} ms \
         ({:.0}%)",
        setup.as_secs_f64(),
        ms(whole),
        ms(assemble),
        share(assemble),
        ms(yuma),
        share(yuma),
        ms(hashing),
        share(hashing),
        ms(rest),
        share(rest),
    );
}

fn main() {
    // `--quick`, or `TAO_BENCH_QUICK` set (CI runs every bench once that way).
    let quick =
        std::env::args().any(|a| a == "--quick") || std::env::var_os("TAO_BENCH_QUICK").is_some();
    transfers(quick);
    many_subnets(quick);
    payout(quick);
    all_epochs(quick);
}
