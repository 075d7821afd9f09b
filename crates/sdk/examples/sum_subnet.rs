//! A minimal subnet on `tao-sdk`: miners answer "what is the sum of these numbers?", and
//! validators ask every miner, score the answers, and set weights on chain.
//!
//! ```sh
//! cargo run -p tao-sdk --example sum_subnet -- miner --wallet-name miner1 --port 8091
//! cargo run -p tao-sdk --example sum_subnet -- validator --wallet-name validator1
//! ```
//! A miner serves the `Sum` synapse (`numbers: list[int]` in, `sum: int` out) on its axon and
//! publishes the axon on chain; `--skill P` makes it answer correctly P % of the time. A
//! validator (a `Scorer` for `tao_sdk::neuron::run_validator`) asks every served miner each
//! round and scores 1 for a right answer in time; the SDK keeps the moving scores and sets
//! weights (directly, or by commit-reveal when the subnet requires it).

use clap::{Parser, Subcommand};
use serde_json::{json, Map, Value};
use std::{net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};
use tao_sdk::{
    axon::{Axon, SynapseSpec},
    chain::{ChainClient, Neuron},
    dendrite::{Query, Reply},
    neuron::{run_miner, run_validator, Scorer, ValidatorConfig},
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

/// The validator's part: ask for the sum of 8 random numbers, score 1 for the right answer.
struct SumScorer {
    seed: u64,
}

impl Scorer for SumScorer {
    type Task = i64;

    fn next_query(&mut self, _round: u64) -> (Query, i64) {
        let numbers: Vec<i64> = (0..8).map(|_| (next(&mut self.seed) % 1000) as i64).collect();
        let expected = numbers.iter().sum();
        let mut fields = Map::new();
        fields.insert("numbers".into(), json!(numbers));
        let query = Query {
            name: "Sum".into(),
            fields,
            required: vec!["numbers".into()],
            hash_fields: vec!["numbers".into()],
            timeout: Duration::from_secs(2),
        };
        (query, expected)
    }

    fn score(&mut self, expected: &i64, _miner: &Neuron, reply: &Reply) -> f64 {
        let answer = reply.synapse.as_ref().and_then(|s| s.get("sum")).and_then(Value::as_i64);
        if reply.is_success() && answer == Some(*expected) {
            1.0
        } else {
            0.0
        }
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
            let axon = Axon::new(key.clone()).attach("Sum", sum_spec(skill));
            let served = run_miner(&chain, &key, args.netuid, axon, addr, |serving, block| {
                println!(
                    "miner {}: serving on {} (published in block #{block})",
                    key.ss58(),
                    serving.addr
                )
            });
            if let Err(e) = served.await {
                eprintln!("error: cannot serve on {addr}: {e}");
                std::process::exit(2)
            }
        }
        Role::Validator { round_secs, weights_every, rounds } => {
            let mut scorer = SumScorer { seed: u64::from(key.public()[0]) | 1 };
            let config = ValidatorConfig {
                netuid: args.netuid,
                round: Duration::from_secs_f64(round_secs),
                weights_every,
                smoothing: 0.2,
                rounds,
            };
            let result = run_validator(&chain, &key, &mut scorer, &config, |_, report| {
                if let Some(weights) = &report.weights {
                    println!("validator: round {}: weights {weights:?}", report.round);
                }
            });
            if let Err(e) = result.await {
                eprintln!("validator: {e}");
                std::process::exit(3)
            }
        }
    }
}
