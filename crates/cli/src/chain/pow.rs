//! `tao subnets register --pow`: registration by proof of work. The seal is computed over
//! a recent block's hash, so the search restarts on a fresh block when the chain moves on
//! (the chain accepts work on the last three blocks only). The search runs on every core
//! (`--threads`), and shows its progress against the expected number of hashes (the
//! difficulty: each hash meets it with probability 1/difficulty) with an estimate of the
//! time left.

use super::{
    client::{send, try_call, why, Client, SendArgs},
    metagraph, netuid, Context,
};
use crate::exit::Failure;
use serde_json::Value;
use std::{
    io::{IsTerminal, Write},
    sync::{
        atomic::{AtomicBool, AtomicU64, Ordering},
        Mutex,
    },
    time::{Duration, Instant},
};
use tao_primitives::{AccountId, BlockNumber};
use tao_sdk::chain::api::method;
use tao_types::{
    pow::{pow_seal, seal_meets_difficulty},
    Call, Hash,
};

/// Nonces a thread tries between looks at the clock.
const BATCH: u64 = 5_000;

/// How long the search stays on one block before looking at the head again.
const PER_BLOCK: Duration = Duration::from_millis(200);

/// The threads to use: `given`, else one per core.
pub fn threads(given: Option<usize>) -> usize {
    given.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from)).max(1)
}

/// Searches nonces from `start` on `threads` threads (thread `t` takes `start + t`,
/// `start + t + threads`, …) for up to `budget`; the nonce and seal found, if any, and the
/// hashes tried.
fn search(
    hash: &Hash,
    hotkey: &AccountId,
    difficulty: u64,
    start: u64,
    threads: usize,
    budget: Duration,
) -> (Option<(u64, [u8; 32])>, u64) {
    let found = Mutex::new(None);
    let done = AtomicBool::new(false);
    let tried = AtomicU64::new(0);
    let began = Instant::now();
    let stride = threads as u64;
    std::thread::scope(|scope| {
        for t in 0..stride {
            let (found, done, tried) = (&found, &done, &tried);
            scope.spawn(move || {
                let mut nonce = start.wrapping_add(t);
                while !done.load(Ordering::Relaxed) && began.elapsed() < budget {
                    for _ in 0..BATCH {
                        let seal = pow_seal(hash, hotkey, nonce);
                        if seal_meets_difficulty(&seal, difficulty) {
                            done.store(true, Ordering::Relaxed);
                            if let Ok(mut slot) = found.lock() {
                                slot.get_or_insert((nonce, seal));
                            }
                            break;
                        }
                        nonce = nonce.wrapping_add(stride);
                    }
                    tried.fetch_add(BATCH, Ordering::Relaxed);
                }
            });
        }
    });
    let found = found.into_inner().ok().flatten();
    (found, tried.into_inner())
}

/// A random starting nonce (so that searches on the same block do not overlap).
fn random_nonce() -> Result<u64, Failure> {
    let mut bytes = [0u8; 8];
    getrandom::getrandom(&mut bytes).map_err(|e| Failure::user(format!("no randomness: {e}")))?;
    Ok(u64::from_le_bytes(bytes))
}

/// The progress line: hashes against the expected number, the rate, and the expected time
/// left (the search is memoryless: a new hash always meets the difficulty with probability
/// 1/difficulty, so the expected wait stays difficulty/rate; shown while below that many).
pub fn progress(difficulty: u64, tried: u64, elapsed: Duration, threads: usize) -> String {
    let rate = tried as f64 / elapsed.as_secs_f64().max(1e-3);
    let share = tried as f64 * 100.0 / difficulty as f64;
    let left = (difficulty.saturating_sub(tried)) as f64 / rate.max(1.0);
    format!(
        "{tried} hashes of ~{difficulty} expected ({share:.0}%), {rate:.0}/s on {threads} thread(s), ~{left:.0} s left"
    )
}

/// Finds work for the wallet's hotkey and registers it on `netuid`, on `threads` threads.
pub fn register(
    ctx: &Context<'_>,
    client: &Client,
    net: u16,
    threads: usize,
    send_args: &SendArgs,
) -> Result<(), Failure> {
    let params = metagraph(client, net)?.hyperparameters;
    if !params.pow_registration_allowed {
        return Err(Failure::user(format!(
            "subnet {net} does not allow proof-of-work registration"
        ))
        .hint("register by burning TAO instead: tao subnets register --netuid N --max-burn X"));
    }
    let difficulty = params.difficulty.max(1);
    let hotkey = ctx.hotkey()?;
    let coldkey = ctx.coldkeypub()?;
    let show = std::io::stderr().is_terminal() && !ctx.json;
    let started = Instant::now();
    let mut tried: u64 = 0;
    loop {
        let head = client.request::<method::ChainHead>(())?;
        let (number, hash) = (head.number, head.hash.0);
        let (found, hashes) =
            search(&hash, &hotkey.account(), difficulty, random_nonce()?, threads, PER_BLOCK);
        tried += hashes;
        if show {
            eprint!(
                "\rsolving proof of work (difficulty {difficulty}): {}",
                progress(difficulty, tried, started.elapsed(), threads)
            );
            let _ = std::io::stderr().flush();
        }
        if started.elapsed() > Duration::from_secs(send_args.timeout.max(1) * 10) {
            return Err(Failure::network(format!(
                "no proof of work found in {tried} hashes ({})",
                progress(difficulty, tried, started.elapsed(), threads)
            ))
            .hint("try again, with more --threads, or register by burn"));
        }
        let Some((nonce, work)) = found else { continue };
        if show {
            eprint!("\r\x1b[2K");
        }
        let seconds = started.elapsed().as_secs_f64();
        let call = Call::PowRegister {
            netuid: netuid(net),
            coldkey,
            block_number: BlockNumber::new(number),
            nonce,
            work,
        };
        let summary = format!("Register {} on subnet {net} by proof of work", hotkey.ss58());
        let receipt = try_call(client, &hotkey, call.clone())?;
        match receipt.error.as_ref().map(|e| e.name.as_str()) {
            // The chain moved past the block the work is on: solve again on a fresh one.
            Some("InvalidWorkBlock" | "WorkRepeated") => continue,
            Some(_) => {
                return Err(Failure::chain(format!(
                    "the registration would fail: {}",
                    why(&receipt)
                )));
            }
            None => {}
        }
        let result = send(client, &hotkey, call, &summary, send_args)?;
        let extra = vec![
            ("hashes", Value::from(tried)),
            ("threads", Value::from(threads)),
            ("difficulty", Value::from(difficulty)),
        ];
        ctx.report_tx_with("subnets register (proof of work)", &result, extra);
        if !ctx.json {
            println!(
                "  proof of work: {tried} hashes in {seconds:.1} s on {threads} thread(s) (difficulty {difficulty})"
            );
        }
        return Ok(());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_find_work_that_meets_the_difficulty() {
        let hotkey =
            AccountId::from_ss58("5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY").unwrap();
        let hash = Hash([7; 32]);
        let (found, tried) = search(&hash, &hotkey, 1_000, 0, 3, Duration::from_secs(30));
        let (nonce, seal) = found.expect("work at difficulty 1000 within 30 s");
        assert_eq!(pow_seal(&hash, &hotkey, nonce), seal);
        assert!(seal_meets_difficulty(&seal, 1_000));
        assert!(tried >= BATCH);
    }

    #[test]
    fn progress_shows_the_share_rate_and_time_left() {
        let line = progress(1_000_000, 250_000, Duration::from_secs(5), 4);
        assert_eq!(
            line,
            "250000 hashes of ~1000000 expected (25%), 50000/s on 4 thread(s), ~15 s left"
        );
        assert_eq!(threads(Some(0)), 1);
        assert!(threads(None) >= 1);
    }
}
