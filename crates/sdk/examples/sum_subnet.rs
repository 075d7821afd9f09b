//! A minimal subnet on `tao-sdk`: miners answer "what is the sum of these numbers?", and
//! validators ask every miner, score the answers, and set weights on chain.
//!
//! ```sh
//! cargo run -p tao-sdk --example sum_subnet -- miner --wallet-name miner1 --port 8091
//! cargo run -p tao-sdk --example sum_subnet -- validator --wallet-name validator1
//! ```
//! A miner serves the `Sum` synapse (`numbers: list[int]` in, `sum: int` out) on its axon and
//! publishes the axon on chain; `--skill P` makes it answer correctly P % of the time. A
//! validator queries all served axons each round, keeps a moving score per miner (correct and
//! answered in time), and sets its weights every few rounds.

use clap::{Parser, Subcommand};
use serde_json::{json, Map, Value};
use std::{collections::BTreeMap, net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};
use tao_sdk::{
    axon::{Axon, SynapseSpec},
    chain::ChainClient,
    dendrite::{Dendrite, Query, Target},
};
use tao_wallet::{Keypair, Wallet};

#[derive(Parser)]
struct Args {
    /// The node's JSON-RPC URL.
    #[arg(long, global = true, default_value = "http://127.0.0.1:9944")]
    endpoint: String,
    /// Wallets directory.
    #[arg(long, global = true)]
    wallet_path: Option<PathBuf>,
    /// Wallet name.
    #[arg(long, global = true, default_value = "default")]
    wallet_name: String,
    /// The subnet.
    #[arg(long, global = true, default_value_t = 1)]
    netuid: u16,
    #[command(subcommand)]
    role: Role,
}

#[derive(Subcommand)]
enum Role {
    /// Serve the Sum synapse.
    Miner {
        /// Port to serve on (127.0.0.1).
        #[arg(long, default_value_t = 8091)]
        port: u16,
        /// Percent of answers that are right.
        #[arg(long, default_value_t = 100)]
        skill: u64,
    },
    /// Query miners, score them, set weights.
    Validator {
        /// Seconds between rounds.
        #[arg(long, default_value_t = 1.0)]
        round_secs: f64,
        /// Rounds between weight updates.
        #[arg(long, default_value_t = 5)]
        weights_every: u64,
        /// Stop after this many rounds (0: never).
        #[arg(long, default_value_t = 0)]
        rounds: u64,
    },
}

fn hotkey(args: &Args) -> Keypair {
    let wallet = Wallet::new(
        args.wallet_path.clone().unwrap_or_else(Wallet::default_path),
        &args.wallet_name,
        "default",
    );
    wallet.hotkey_pair(None).unwrap_or_else(|e| {
        eprintln!("error: cannot open the hotkey of wallet {}: {e}", args.wallet_name);
        std::process::exit(2)
    })
}

/// A small deterministic generator (not for secrets).
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

fn sum_spec(skill: u64) -> SynapseSpec {
    SynapseSpec {
        required: vec!["numbers".into()],
        hash_fields: vec!["numbers".into()],
        handler: Arc::new(move |body: &Map<String, Value>| {
            let numbers =
                body.get("numbers").and_then(Value::as_array).ok_or("numbers must be a list")?;
            let mut sum: i64 = 0;
            for n in numbers {
                sum = sum
                    .checked_add(n.as_i64().ok_or("numbers must be integers")?)
                    .ok_or("overflow")?;
            }
            // An unskilled miner is wrong on some inputs (decided by the input, so repeatable).
            let mut h = numbers.len() as u64 ^ (sum as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            let wrong = next(&mut h) % 100 >= skill;
            let mut out = Map::new();
            out.insert("sum".into(), json!(if wrong { sum + 1 } else { sum }));
            Ok(out)
        }),
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args = Args::parse();
    let key = hotkey(&args);
    let chain = ChainClient::new(&args.endpoint).unwrap_or_else(|e| {
        eprintln!("error: {e}");
        std::process::exit(3)
    });
    match args.role {
        Role::Miner { port, skill } => {
            let addr: SocketAddr = ([127, 0, 0, 1], port).into();
            let serving = Axon::new(key.clone()).attach("Sum", sum_spec(skill)).serve(addr).await;
            let serving = serving.unwrap_or_else(|e| {
                eprintln!("error: cannot serve on {addr}: {e}");
                std::process::exit(2)
            });
            match chain.serve_axon(&key, args.netuid, serving.addr).await {
                Ok(r) => println!(
                    "miner {}: serving on {} (published in block #{})",
                    key.ss58(),
                    serving.addr,
                    r["block"]
                ),
                Err(e) => eprintln!(
                    "miner {}: serving on {}, but publishing failed: {e}",
                    key.ss58(),
                    serving.addr
                ),
            }
            let _ = tokio::signal::ctrl_c().await;
        }
        Role::Validator { round_secs, weights_every, rounds } => {
            let dendrite = Dendrite::new(key.clone());
            let mut scores: BTreeMap<u16, f64> = BTreeMap::new();
            let mut seed = u64::from(key.public()[0]) | 1;
            let mut round = 0u64;
            loop {
                round += 1;
                let neurons = match chain.neurons(args.netuid).await {
                    Ok(n) => n,
                    Err(e) => {
                        eprintln!("validator: {e}");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        continue;
                    }
                };
                let miners: Vec<_> =
                    neurons.iter().filter(|n| n.axon.is_some() && n.hotkey != key.ss58()).collect();
                let numbers: Vec<i64> = (0..8).map(|_| (next(&mut seed) % 1000) as i64).collect();
                let expected: i64 = numbers.iter().sum();
                let mut fields = Map::new();
                fields.insert("numbers".into(), json!(numbers));
                let query = Query {
                    name: "Sum".into(),
                    fields,
                    required: vec!["numbers".into()],
                    hash_fields: vec!["numbers".into()],
                    timeout: Duration::from_secs(2),
                };
                let targets: Vec<Target> = miners
                    .iter()
                    .filter_map(|n| Some(Target { addr: n.axon?, hotkey: n.hotkey.clone() }))
                    .collect();
                let replies = dendrite.query_all(&targets, &query).await;
                for (miner, reply) in miners.iter().zip(&replies) {
                    let right = reply.is_success()
                        && reply
                            .synapse
                            .as_ref()
                            .and_then(|s| s.get("sum"))
                            .and_then(Value::as_i64)
                            == Some(expected);
                    let score = scores.entry(miner.uid).or_insert(0.0);
                    *score = 0.8 * *score + 0.2 * if right { 1.0 } else { 0.0 };
                }
                if round % weights_every == 0 && !scores.is_empty() {
                    let best = scores.values().cloned().fold(0.0, f64::max).max(1e-9);
                    let weights: Vec<(u16, u16)> = scores
                        .iter()
                        .map(|(uid, s)| (*uid, ((s / best) * 65535.0).round() as u16))
                        .collect();
                    match chain.set_weights(&key, args.netuid, &weights).await {
                        Ok(r) => println!(
                            "validator {}: round {round}, scores {:?}, weights set in block #{}",
                            &key.ss58()[..8],
                            scores
                                .iter()
                                .map(|(u, s)| (*u, (s * 100.0).round() / 100.0))
                                .collect::<Vec<_>>(),
                            r["block"]
                        ),
                        Err(e) => eprintln!("validator: round {round}: weights not set: {e}"),
                    }
                }
                if rounds != 0 && round >= rounds {
                    return;
                }
                tokio::time::sleep(Duration::from_secs_f64(round_secs)).await;
            }
        }
    }
}
