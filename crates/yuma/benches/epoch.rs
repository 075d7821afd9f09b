//! Benchmark of one Yuma epoch with dense weights: 256 UIDs (64 validators) and 4096 UIDs
//! (256 validators), for both bond models.
//!
//! The peer, measured in the same run on the same inputs, is a dense `f64` epoch written
//! straight from the equations (the test oracle): what a direct, matrix-based
//! implementation costs. The figure that matters is the ratio; machines here are noisy.
//!
//! Run: `cargo bench -p tao-yuma --bench epoch` (add `-- --quick` for fewer iterations,
//! `-- --ours-only` to skip the peer when profiling).

#![allow(missing_docs)] // the shared oracle's fields

#[path = "../tests/it/oracle.rs"]
mod oracle;

use std::time::{Duration, Instant};
use substrate_fixed::types::I64F64;
use tao_primitives::{AlphaRao, BlockNumber, Uid};
use tao_yuma::{epoch, BondModel, CommitReveal, LiquidAlpha, Params, YumaInput};

/// A deterministic xorshift generator (no `rand` dependency).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// `n` UIDs, the first `validators` staked and weighting every miner; bonds from one
/// previous epoch so the EMA has work to do.
fn subnet(n: usize, validators: usize, bond_model: BondModel) -> YumaInput {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ n as u64);
    let stake = (0..n)
        .map(|i| I64F64::from_num(if i < validators { 1_000 + rng.next() % 1_000_000 } else { 0 }))
        .collect();
    let weights = (0..n)
        .map(|i| {
            if i < validators {
                (validators..n)
                    .map(|j| (Uid::new(j as u16), (rng.next() % 65_536) as u16))
                    .collect()
            } else {
                Vec::new()
            }
        })
        .collect();
    let liquid_alpha = match bond_model {
        BondModel::Yuma3 => {
            LiquidAlpha::On { alpha_low: 45_875, alpha_high: 58_982, steepness: 1_000 }
        }
        BondModel::Classic => LiquidAlpha::Off,
    };
    let mut input = YumaInput {
        block: BlockNumber::new(1_000),
        tempo: 360,
        last_epoch_block: BlockNumber::new(640),
        activity_cutoff: 5_000,
        stake,
        stake_threshold: 0,
        owner: None,
        validator_permit: (0..n).map(|i| i < validators).collect(),
        last_update: vec![BlockNumber::new(990); n],
        block_at_registration: vec![BlockNumber::new(1); n],
        weights,
        bonds: vec![Vec::new(); n],
        commit_reveal: CommitReveal::Off,
        params: Params {
            max_allowed_validators: validators as u16,
            bond_model,
            liquid_alpha,
            ..Params::default()
        },
        emission: AlphaRao::new(1_000_000_000),
    };
    input.bonds = epoch(&input).expect("valid").bonds_u16();
    input
}

/// Median wall time of `runs` calls.
fn median(runs: usize, mut f: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    // `--ours-only` skips the peer (for profiling tao_yuma alone).
    let ours_only = std::env::args().any(|a| a == "--ours-only");
    println!("{:<28} {:>14} {:>16} {:>8}", "case", "tao_yuma (ms)", "f64 dense (ms)", "ratio");
    for (n, validators) in [(256usize, 64usize), (4096, 256)] {
        for model in [BondModel::Yuma3, BondModel::Classic] {
            let input = subnet(n, validators, model);
            let runs = if quick {
                3
            } else if n > 1000 {
                7
            } else {
                51
            };
            let ours = median(runs, || {
                std::hint::black_box(epoch(std::hint::black_box(&input)).expect("valid"));
            });
            if ours_only {
                println!("n={n} v={validators} {model:?}: {:.2} ms", ours.as_secs_f64() * 1e3);
                continue;
            }
            let peer_runs = if n > 1000 { runs.min(3) } else { runs };
            let peer = median(peer_runs, || {
                std::hint::black_box(oracle::epoch(std::hint::black_box(&input)));
            });
            let label = format!("n={n} v={validators} {model:?}");
            println!(
                "{label:<28} {:>14.2} {:>16.2} {:>7.2}x",
                ours.as_secs_f64() * 1e3,
                peer.as_secs_f64() * 1e3,
                peer.as_secs_f64() / ours.as_secs_f64()
            );
        }
    }
}
