//! `tao wallet overview`: a wallet on the chain: the coldkey's balance and stakes, and each
//! of its hotkeys' neurons on every subnet (UID, stake, incentive, dividends, emission, axon).

use super::Context;
use crate::exit::Failure;
use serde_json::json;
use tao_primitives::Rao;
use tao_sdk::chain::api::{method, Address};

/// Runs `tao wallet overview`.
pub fn overview(ctx: &Context<'_>) -> Result<(), Failure> {
    let account = ctx.coldkeypub()?;
    let coldkey = account.to_ss58();
    let client = ctx.client()?;
    let free = client.request::<method::AccountInfo>((Address(account),))?.free;
    let stakes = client.request::<method::StakesOf>((Address(account),))?;
    let hotkeys = ctx.wallet.hotkeys();
    let mut neurons = Vec::new();
    for subnet in client.request::<method::Subnets>(())? {
        let netuid = subnet.netuid;
        let m = super::metagraph(&client, netuid)?;
        for (name, address) in &hotkeys {
            let Some(address) = address else { continue };
            let Some(uid) = m.hotkeys.iter().position(|h| h.to_string() == *address) else {
                continue;
            };
            neurons.push(Neuron {
                name,
                netuid,
                uid,
                stake: m.alpha_stake[uid],
                incentive: m.incentive[uid],
                dividends: m.dividends[uid],
                emission: m.emission[uid],
                validator_permit: m.validator_permit[uid],
                axon: m.axons[uid].as_ref().map(|a| format!("{}:{}", a.ip, a.port)),
                json: json!({
                    "hotkey_name": name, "hotkey": address, "netuid": netuid, "uid": uid,
                    "stake": m.alpha_stake[uid], "incentive": m.incentive[uid],
                    "dividends": m.dividends[uid], "emission": m.emission[uid],
                    "validator_permit": m.validator_permit[uid], "axon": m.axons[uid],
                }),
            });
        }
    }
    if ctx.json {
        let neurons: Vec<_> = neurons.iter().map(|n| &n.json).collect();
        println!(
            "{}",
            json!({"wallet": ctx.wallet.name, "coldkey": coldkey, "free": free, "stakes": stakes,
                   "hotkeys": hotkeys.iter().map(|(n, a)| json!({"name": n, "address": a})).collect::<Vec<_>>(),
                   "neurons": neurons})
        );
        return Ok(());
    }
    println!("wallet {}  coldkey {coldkey}  free {} TAO", ctx.wallet.name, Rao::new(free));
    for s in &stakes {
        println!("  stake on subnet {:>3} to {}: {}", s.netuid, s.hotkey, Rao::new(s.alpha));
    }
    if neurons.is_empty() {
        println!("  no hotkey of this wallet is registered on any subnet");
        return Ok(());
    }
    let fraction = |v: u16| format!("{:.3}", f64::from(v) / f64::from(u16::MAX));
    println!(
        "  {:<10} {:>6} {:>4} {:>14} {:>9} {:>9} {:>12} {:>4}  axon",
        "hotkey", "netuid", "uid", "stake α", "incentive", "dividends", "emission α", "vp"
    );
    for n in &neurons {
        println!(
            "  {:<10} {:>6} {:>4} {:>14} {:>9} {:>9} {:>12} {:>4}  {}",
            n.name,
            n.netuid,
            n.uid,
            Rao::new(n.stake).to_string(),
            fraction(n.incentive),
            fraction(n.dividends),
            Rao::new(n.emission).to_string(),
            if n.validator_permit { "yes" } else { "" },
            n.axon.as_deref().unwrap_or("-")
        );
    }
    Ok(())
}

/// One of the wallet's neurons: its row of the table and its `--json` document.
struct Neuron<'a> {
    name: &'a str,
    netuid: u16,
    uid: usize,
    stake: u64,
    incentive: u16,
    dividends: u16,
    emission: u64,
    validator_permit: bool,
    axon: Option<String>,
    json: serde_json::Value,
}
