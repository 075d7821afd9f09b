//! `tao subnets register --pow`: registration by proof of work. The seal is computed over
//! a recent block's hash, so the search restarts on a fresh block when the chain moves on
//! (the chain accepts work on the last three blocks only).

use super::{
    client::{send, try_call, why, Client, SendArgs},
    metagraph, netuid, Context,
};
use crate::exit::Failure;
use serde_json::Value;
use std::{
    io::{IsTerminal, Write},
    time::{Duration, Instant},
};
use tao_primitives::BlockNumber;
use tao_sdk::chain::api::method;
use tao_types::{
    pow::{pow_seal, seal_meets_difficulty},
    Call,
};

/// Nonces tried between looks at the chain head.
const BATCH: u64 = 20_000;

/// Finds work for the wallet's hotkey and registers it on `netuid`.
pub fn register(
    ctx: &Context<'_>,
    client: &Client,
    net: u16,
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
    let mut nonce: u64 = {
        let mut bytes = [0u8; 8];
        getrandom::getrandom(&mut bytes)
            .map_err(|e| Failure::user(format!("no randomness: {e}")))?;
        u64::from_le_bytes(bytes)
    };
    loop {
        let head = client.request::<method::ChainHead>(())?;
        let (number, hash) = (head.number, head.hash.0);
        let mut found = None;
        // Work on this block while it is fresh (one block time at most, in batches).
        let on_block = Instant::now();
        while found.is_none() && on_block.elapsed() < Duration::from_millis(200) {
            for _ in 0..BATCH {
                let seal = pow_seal(&hash, &hotkey.account(), nonce);
                if seal_meets_difficulty(&seal, difficulty) {
                    found = Some((nonce, seal));
                    break;
                }
                nonce = nonce.wrapping_add(1);
            }
            tried += BATCH;
        }
        if show {
            eprint!(
                "\rsolving proof of work (difficulty {difficulty}): {tried} hashes, {:.0}/s",
                tried as f64 / started.elapsed().as_secs_f64().max(1e-3)
            );
            let _ = std::io::stderr().flush();
        }
        if started.elapsed() > Duration::from_secs(send_args.timeout.max(1) * 10) {
            return Err(Failure::network(format!("no proof of work found in {} hashes", tried))
                .hint("try again, or register by burn"));
        }
        let Some((nonce, work)) = found else { continue };
        if show {
            eprint!("\r\x1b[2K");
        }
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
        let hashes = vec![("hashes", Value::from(tried))];
        ctx.report_tx_with("subnets register (proof of work)", &result, hashes);
        return Ok(());
    }
}
