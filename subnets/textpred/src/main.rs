//! `textpred`: the text-prediction subnet's miner and validator.
//!
//! ```sh
//! textpred --wallet-name miner1 miner --model 6-gram --port 8091
//! textpred --wallet-name miner1 miner --model 6-gram --price 0.0001   # sells public requests
//! textpred --wallet-name validator1 validator --report v1.json
//! textpred eval            # every model's held-out loss, measured off-chain
//! ```

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use serde_json::{json, Value};
use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, Instant},
};
use tao_primitives::Rao;
use tao_sdk::{
    axon::{AllowList, Axon},
    chain::{api::method, ChainClient, WeightsOutcome},
    neuron::{run_miner, run_validator, ValidatorConfig},
    payment::{ChainSource, Durability, Payee, PayeeConfig},
};
use tao_textpred::{
    corpus::Corpus,
    model::{self, Alphabet},
    protocol::{self, CONTEXT_CHARS},
    validator::{report, TextScorer},
};
use tao_wallet::{Keypair, Wallet};

#[derive(Parser)]
#[command(name = "textpred", version, about = "The text-prediction subnet: miner, validator, eval")]
struct Args {
    /// The node's JSON-RPC URL (http://, ws:// or host:port) [env: TAO_ENDPOINT]
    /// [default: http://127.0.0.1:9944].
    #[arg(long, global = true)]
    endpoint: Option<String>,
    /// Seconds to wait for the node to answer at start before giving up.
    #[arg(long, global = true, default_value_t = 30)]
    connect_timeout: u64,
    /// Wallets directory [env: BT_WALLET_PATH] [default: ~/.bittensor/wallets].
    #[arg(long, global = true)]
    wallet_path: Option<PathBuf>,
    /// Wallet name [env: BT_WALLET_NAME] [default: default].
    #[arg(long, global = true)]
    wallet_name: Option<String>,
    /// Hotkey name [env: BT_WALLET_HOTKEY] [default: default].
    #[arg(long, global = true)]
    wallet_hotkey: Option<String>,
    /// The subnet.
    #[arg(long, global = true, default_value_t = 1)]
    netuid: u16,
    #[command(subcommand)]
    role: Role,
}

#[derive(Subcommand)]
enum Role {
    /// Train a model and serve its predictions.
    Miner {
        /// unigram, bigram, trigram, N-gram (N ≤ 12) or mlp.
        #[arg(long, default_value = "trigram")]
        model: String,
        /// Port to serve on.
        #[arg(long, default_value_t = 8091)]
        port: u16,
        /// Address to serve on.
        #[arg(long, default_value = "127.0.0.1")]
        ip: std::net::IpAddr,
        /// Serve only callers holding at least this much alpha on the subnet (0: anyone).
        #[arg(long, default_value_t = 0.0)]
        min_stake: f64,
        /// At most this many requests per minute from one caller (0: no limit).
        #[arg(long, default_value_t = 0)]
        rate_limit: u32,
        /// Sell public requests at this price in TAO per request, paid by voucher on a
        /// payment channel to the hotkey (callers holding --min-stake, default 1 α with a
        /// price, are served free). The hotkey pays the claim fees: keep a little TAO on it.
        #[arg(long)]
        price: Option<Rao>,
        /// Where the latest vouchers are kept [default: ~/.tao/vouchers/<hotkey>].
        #[arg(long)]
        vouchers: Option<PathBuf>,
        /// Refuse vouchers on channels with fewer blocks left, and claim at this many left.
        #[arg(long, default_value_t = 20)]
        min_blocks_left: u64,
        /// Also claim every unclaimed voucher this often, in seconds (default: only before
        /// a channel's expiry).
        #[arg(long)]
        claim_every: Option<f64>,
        /// When a paid request is answered: once its voucher is synced to the disk
        /// (`synced`: survives a power cut), or once it is written to the operating system
        /// (`written`: survives the miner being killed, not a power cut; more requests per
        /// second under load, docs/payments-miners.md).
        #[arg(long, value_enum, default_value_t = VoucherSync::Synced)]
        voucher_sync: VoucherSync,
    },
    /// Ask miners, score them, set weights.
    Validator {
        /// Seconds between rounds.
        #[arg(long, default_value_t = 1.0)]
        round_secs: f64,
        /// Rounds between weight updates.
        #[arg(long, default_value_t = 5)]
        weights_every: u64,
        /// Contexts per round.
        #[arg(long, default_value_t = 32)]
        contexts: usize,
        /// Per-query timeout in milliseconds.
        #[arg(long, default_value_t = 2000)]
        timeout_ms: u64,
        /// Write a JSON report here every round.
        #[arg(long)]
        report: Option<PathBuf>,
        /// Stop after this many rounds (0: never).
        #[arg(long, default_value_t = 0)]
        rounds: u64,
    },
    /// Train the models and print their held-out loss (no chain needed).
    Eval {
        /// Models to evaluate, comma-separated.
        #[arg(long, default_value = "unigram,trigram,6-gram,mlp")]
        models: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

/// A flag's value, else the environment variable's (when set and not empty), else `default`.
fn flag_env_or(flag: Option<&String>, var: &str, default: &str) -> String {
    flag.cloned()
        .or_else(|| std::env::var(var).ok().filter(|v| !v.is_empty()))
        .unwrap_or_else(|| default.to_owned())
}

impl Args {
    /// The node's URL: `--endpoint`, else `TAO_ENDPOINT`, else the local node.
    fn endpoint(&self) -> Result<String> {
        let given = flag_env_or(self.endpoint.as_ref(), "TAO_ENDPOINT", "http://127.0.0.1:9944");
        tao_sdk::chain::http_url(&given).map_err(|e| anyhow::anyhow!("{e}"))
    }
}

fn hotkey(args: &Args) -> Result<Keypair> {
    let name = flag_env_or(args.wallet_name.as_ref(), "BT_WALLET_NAME", "default");
    let hotkey = flag_env_or(args.wallet_hotkey.as_ref(), "BT_WALLET_HOTKEY", "default");
    let wallet =
        Wallet::new(args.wallet_path.clone().unwrap_or_else(Wallet::default_path), &name, &hotkey);
    wallet.hotkey_pair(None).with_context(|| {
        format!(
            "cannot open hotkey {hotkey} of wallet {name} in {} (add it with `tao wallet --wallet-name {name} --hotkey {hotkey} new-hotkey`, or `tao wallet create` for a new wallet)",
            wallet.path.display()
        )
    })
}

/// Waits (up to `timeout`) for the node at `url` to answer; the error names the URL.
fn wait_for_node(
    runtime: &tokio::runtime::Runtime,
    chain: &ChainClient,
    url: &str,
    timeout: Duration,
) -> Result<()> {
    let started = Instant::now();
    let mut said = false;
    loop {
        match runtime.block_on(chain.request::<method::ChainHead>(())) {
            Ok(_) => return Ok(()),
            Err(e) if started.elapsed() >= timeout => bail!(
                "cannot reach the node at {url} within {} s: {e} (start one with `tao-node --dev`, or give another with --endpoint URL or TAO_ENDPOINT)",
                timeout.as_secs()
            ),
            Err(e) => {
                if !said {
                    eprintln!("waiting for the node at {url} ({e})…");
                    said = true;
                }
                std::thread::sleep(Duration::from_millis(500));
            }
        }
    }
}

/// The payee of a miner that sells requests: vouchers kept in `dir`, claims signed (and
/// paid) by the hotkey, a claimer running every second.
/// When a paid request is answered (`--voucher-sync`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum VoucherSync {
    /// Once the voucher is synced to the disk.
    Synced,
    /// Once the voucher is written to the operating system.
    Written,
}

#[allow(clippy::too_many_arguments)] // one per miner flag; read once, at start
fn payee(
    runtime: &tokio::runtime::Runtime,
    chain: &ChainClient,
    endpoint: &str,
    key: &Keypair,
    dir: Option<&Path>,
    min_blocks_left: u64,
    claim_every: Option<f64>,
    voucher_sync: VoucherSync,
) -> Result<Payee> {
    let genesis = runtime
        .block_on(chain.request::<method::GenesisHash>(()))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let dir = match dir {
        Some(dir) => dir.to_owned(),
        None => std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_default()
            .join(".tao/vouchers")
            .join(key.ss58()),
    };
    let mut config = PayeeConfig::new(key.account(), genesis.0, dir);
    config.min_blocks_left = min_blocks_left;
    config.claim_before_blocks = min_blocks_left;
    config.claim_every = claim_every.filter(|s| *s > 0.0).map(Duration::from_secs_f64);
    config.durability = match voucher_sync {
        VoucherSync::Synced => Durability::Synced,
        VoucherSync::Written => Durability::Written,
    };
    let reader = ChainClient::new(endpoint).map_err(|e| anyhow::anyhow!("{e}"))?;
    let payee = Payee::open(config, Arc::new(ChainSource::new(reader, key.clone())))
        .context("cannot open the voucher store")?;
    let _guard = runtime.enter();
    payee.spawn_claimer(Duration::from_secs(1));
    Ok(payee)
}

fn write_atomically(path: &Path, value: &Value) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(value).unwrap_or_default())?;
    std::fs::rename(&tmp, path)
}

fn main() -> Result<()> {
    let args = Args::parse();
    let corpus = Corpus::standard();
    let alphabet = Alphabet::of(&corpus.train);
    if let Role::Eval { models, json } = &args.role {
        let mut rows = Vec::new();
        for name in models.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let started = Instant::now();
            let m = model::build(name, &corpus.train, &alphabet).map_err(anyhow::Error::msg)?;
            let trained = started.elapsed();
            let bits =
                model::heldout_bits(m.as_ref(), &corpus.heldout, &alphabet, CONTEXT_CHARS, 20_000);
            rows.push(
                json!({"model": m.name(), "bits_per_char": bits, "train_ms": trained.as_millis()}),
            );
        }
        if *json {
            println!("{}", Value::Array(rows));
        } else {
            println!("{:<10} {:>14} {:>10}", "model", "bits/char", "train ms");
            for r in rows {
                println!(
                    "{:<10} {:>14.4} {:>10}",
                    r["model"].as_str().unwrap_or(""),
                    r["bits_per_char"].as_f64().unwrap_or(f64::NAN),
                    r["train_ms"]
                );
            }
        }
        return Ok(());
    }
    let key = hotkey(&args)?;
    let endpoint = args.endpoint()?;
    let chain = ChainClient::new(&endpoint).map_err(|e| anyhow::anyhow!("{e}"))?;
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    wait_for_node(&runtime, &chain, &endpoint, Duration::from_secs(args.connect_timeout))?;
    match &args.role {
        Role::Miner {
            model: name,
            port,
            ip,
            min_stake,
            rate_limit,
            price,
            vouchers,
            min_blocks_left,
            claim_every,
            voucher_sync,
        } => {
            let started = Instant::now();
            let m: Arc<dyn model::Model> =
                model::build(name, &corpus.train, &alphabet).map_err(anyhow::Error::msg)?.into();
            let bits =
                model::heldout_bits(m.as_ref(), &corpus.heldout, &alphabet, CONTEXT_CHARS, 5_000);
            println!(
                "miner {}: {} trained in {:.1} s on {} KB of text ({bits:.3} bits/char on held-out text)",
                key.ss58(),
                m.name(),
                started.elapsed().as_secs_f64(),
                corpus.train.len() / 1000
            );
            let mut axon =
                Axon::new(key.clone()).attach(protocol::SYNAPSE, protocol::spec(m, alphabet));
            // With a price, staked callers (the subnet's validators) stay free.
            let min_stake = if price.is_some() && *min_stake <= 0.0 { 1.0 } else { *min_stake };
            if let Some(price) = price {
                let payee = payee(
                    &runtime,
                    &chain,
                    &endpoint,
                    &key,
                    vouchers.as_deref(),
                    *min_blocks_left,
                    *claim_every,
                    *voucher_sync,
                )?;
                println!(
                    "miner {}: selling public requests at {price} TAO each (vouchers in {})",
                    key.ss58(),
                    payee.config().store.display()
                );
                axon = axon.require_payment(protocol::SYNAPSE, *price, payee);
            }
            if min_stake > 0.0 {
                let list = AllowList::new((min_stake * 1e9) as u64);
                let syncing = ChainClient::new(&endpoint).map_err(|e| anyhow::anyhow!("{e}"))?;
                let _guard = runtime.enter();
                list.sync(Arc::new(syncing), args.netuid, Duration::from_secs(2));
                axon = axon.allow(list);
            }
            if *rate_limit > 0 {
                axon = axon.rate_limit(*rate_limit, Duration::from_secs(60));
            }
            let addr = SocketAddr::new(*ip, *port);
            runtime
                .block_on(run_miner(&chain, &key, args.netuid, axon, addr, |serving, block| {
                    println!(
                        "miner {}: serving on {} (published in block #{block})",
                        key.ss58(),
                        serving.addr
                    );
                }))
                .with_context(|| format!("cannot serve on {addr}"))?;
        }
        Role::Validator {
            round_secs,
            weights_every,
            contexts,
            timeout_ms,
            report: path,
            rounds,
        } => {
            if !(*round_secs > 0.0 && round_secs.is_finite()) {
                bail!("--round-secs must be a positive number");
            }
            let seed = u64::from_le_bytes(key.public()[..8].try_into().unwrap_or_default())
                ^ std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos() as u64);
            let mut scorer = TextScorer::new(
                &corpus.heldout,
                alphabet,
                seed,
                *contexts,
                Duration::from_millis(*timeout_ms),
            );
            let config = ValidatorConfig {
                netuid: args.netuid,
                round: Duration::from_secs_f64(*round_secs),
                weights_every: *weights_every,
                smoothing: 0.2,
                rounds: *rounds,
            };
            let me = key.ss58();
            println!("validator {me}: {contexts} contexts per round, weights every {weights_every} rounds");
            let mut last_weights = Value::Null;
            runtime
                .block_on(run_validator(&chain, &key, &mut scorer, &config, |scorer, round| {
                    if let Some(outcome) = &round.weights {
                        last_weights = match outcome {
                            Ok(WeightsOutcome::Set { block }) => {
                                json!({"action": "set", "block": block})
                            }
                            Ok(WeightsOutcome::Committed { block }) => {
                                json!({"action": "committed", "block": block})
                            }
                            Ok(WeightsOutcome::Revealed { block }) => {
                                json!({"action": "revealed", "block": block})
                            }
                            Ok(WeightsOutcome::Waiting) => last_weights.clone(),
                            Err(e) => json!({"action": "error", "error": e}),
                        };
                        if !matches!(outcome, Ok(WeightsOutcome::Waiting)) {
                            println!("validator: round {}: weights {last_weights}", round.round);
                        }
                    }
                    if let Some(path) = path {
                        if let Err(e) =
                            write_atomically(path, &report(&me, scorer, round, &last_weights))
                        {
                            eprintln!("validator: cannot write {}: {e}", path.display());
                        }
                    }
                }))
                .map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        Role::Eval { .. } => {}
    }
    Ok(())
}
