//! `tao wallet overview`: a wallet on the chain: the coldkey's balance and stakes, and each
//! of its hotkeys' neurons on every subnet (UID, stake, incentive, dividends, emission, axon).

use super::{client::field_u64, Context};
use crate::exit::Failure;
use serde_json::{json, Value};
use tao_primitives::Rao;

/// Runs `tao wallet overview`.
pub fn overview(ctx: &Context<'_>) -> Result<(), Failure> {
    let coldkey = ctx.coldkeypub()?.to_ss58();
    let client = ctx.client()?;
    let info = client.call("tao_accountInfo", vec![json!(coldkey)])?;
    let stakes = client.call("tao_stakesOf", vec![json!(coldkey)])?;
    let hotkeys = ctx.wallet.hotkeys();
    let mut neurons = Vec::new();
    for subnet in client.get("tao_subnets")?.as_array().into_iter().flatten() {
        let Some(netuid) = subnet["netuid"].as_u64() else { continue };
        let m = client.call("tao_metagraph", vec![json!(netuid)])?;
        let registered = m["hotkeys"].as_array().cloned().unwrap_or_default();
        for (name, address) in &hotkeys {
            let Some(address) = address else { continue };
            let Some(uid) = registered.iter().position(|h| h.as_str() == Some(address)) else {
                continue;
            };
            let at = |key: &str| m[key].get(uid).cloned().unwrap_or(Value::Null);
            neurons.push(json!({
                "hotkey_name": name, "hotkey": address, "netuid": netuid, "uid": uid,
                "stake": at("alpha_stake"), "incentive": at("incentive"), "dividends": at("dividends"),
                "emission": at("emission"), "validator_permit": at("validator_permit"),
                "axon": at("axons"),
            }));
        }
    }
    let free = field_u64(&info, "free")?;
    if ctx.json {
        println!(
            "{}",
            json!({"wallet": ctx.wallet.name, "coldkey": coldkey, "free": free, "stakes": stakes,
                   "hotkeys": hotkeys.iter().map(|(n, a)| json!({"name": n, "address": a})).collect::<Vec<_>>(),
                   "neurons": neurons})
        );
        return Ok(());
    }
    println!("wallet {}  coldkey {coldkey}  free {} TAO", ctx.wallet.name, Rao::new(free));
    for s in stakes.as_array().into_iter().flatten() {
        println!(
            "  stake on subnet {:>3} to {}: {}",
            s["netuid"].as_u64().unwrap_or(0),
            s["hotkey"].as_str().unwrap_or("?"),
            Rao::new(s["alpha"].as_u64().unwrap_or(0))
        );
    }
    if neurons.is_empty() {
        println!("  no hotkey of this wallet is registered on any subnet");
        return Ok(());
    }
    let fraction = |v: &Value| format!("{:.3}", v.as_f64().unwrap_or(0.0) / f64::from(u16::MAX));
    println!(
        "  {:<10} {:>6} {:>4} {:>14} {:>9} {:>9} {:>12} {:>4}  axon",
        "hotkey", "netuid", "uid", "stake α", "incentive", "dividends", "emission α", "vp"
    );
    for n in &neurons {
        let axon = &n["axon"];
        println!(
            "  {:<10} {:>6} {:>4} {:>14} {:>9} {:>9} {:>12} {:>4}  {}",
            n["hotkey_name"].as_str().unwrap_or(""),
            // As numbers: a JSON value ignores the column width.
            n["netuid"].as_u64().unwrap_or(0),
            n["uid"].as_u64().unwrap_or(0),
            Rao::new(n["stake"].as_u64().unwrap_or(0)).to_string(),
            fraction(&n["incentive"]),
            fraction(&n["dividends"]),
            Rao::new(n["emission"].as_u64().unwrap_or(0)).to_string(),
            if n["validator_permit"] == json!(true) { "yes" } else { "" },
            if axon.is_null() {
                "-".to_owned()
            } else {
                format!("{}:{}", axon["ip"].as_str().unwrap_or("?"), axon["port"])
            }
        );
    }
    Ok(())
}
