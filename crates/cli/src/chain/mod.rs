//! The chain commands: balances and transfers, subnets, staking, weights, axons, blocks,
//! governance, chain validators.
//!
//! Every transaction is signed locally (the coldkey for funds, the hotkey for weights and
//! axons), can be dry-run (`--dry-run`: fee and effect, nothing submitted), and is followed to
//! finality unless `--no-wait`. A refused or failed transaction exits 4 and says why.

pub mod client;
mod delegate;
mod gov;
mod overview;
mod pay;
mod pow;
mod receipt;
mod timing;
mod validator;
mod weights;

pub use delegate::{delegate, root, DelegateCommand, RootCommand};
pub use gov::{gov, GovCommand};
pub use overview::overview;
pub use pay::{pay, query, PayCommand, QueryArgs};
pub use validator::{validator, ValidatorCommand};
pub use weights::{weights, WeightsCommand};

use crate::{
    exit::Failure,
    wallet::{wallet_failure, PasswordArgs},
};
use clap::{Args, Subcommand};
use client::{parse_account, send, send_when_allowed, Client, EndpointArgs, SendArgs, Sent};
use serde_json::{json, Value};
use std::net::IpAddr;
use tao_primitives::{AccountId, AlphaRao, NetUid, Rao};
use tao_sdk::chain::api::{self, method};
use tao_types::{AxonInfo, Call, Existence, Hyperparameter};
use tao_wallet::{Keypair, Wallet};

/// What a chain command needs besides its own arguments.
pub struct Context<'a> {
    /// The wallet named by the global flags.
    pub wallet: &'a Wallet,
    /// Which node.
    pub endpoint: &'a EndpointArgs,
    /// `--json`.
    pub json: bool,
}

impl Context<'_> {
    fn client(&self) -> Result<Client, Failure> {
        Client::new(self.endpoint.url()?)
    }

    fn coldkey(&self, password: &PasswordArgs) -> Result<Keypair, Failure> {
        let password = password.for_existing_key(self.wallet)?;
        self.wallet.coldkey(password.as_deref()).map_err(wallet_failure)
    }

    fn coldkeypub(&self) -> Result<AccountId, Failure> {
        Ok(self.wallet.coldkeypub().map_err(wallet_failure)?.account())
    }

    /// The account an optional SS58 argument names, else the wallet's coldkey.
    fn account_or_own(&self, given: Option<&String>) -> Result<AccountId, Failure> {
        match given {
            Some(text) => parse_account(text),
            None => self.coldkeypub(),
        }
    }

    fn hotkey(&self) -> Result<Keypair, Failure> {
        self.wallet.hotkey_pair(None).map_err(wallet_failure)
    }

    /// Reports an intermediate transaction of a multi-step command (not in `--json`, whose
    /// one document comes at the end).
    fn report_progress(&self, what: &str, sent: &Sent) {
        if !self.json {
            self.report_tx(what, sent);
        }
    }

    /// Prints a transaction's result.
    fn report_tx(&self, what: &str, sent: &Sent) {
        self.report_tx_with(what, sent, Vec::new());
    }

    /// Prints a transaction's result; `--json` adds `extra` members to the receipt.
    fn report_tx_with(&self, what: &str, sent: &Sent, extra: Vec<(&str, Value)>) {
        if self.json {
            let mut result = sent.to_json();
            if let Value::Object(map) = &mut result {
                if let Some(receipt) = sent.receipt() {
                    map.insert("fee_tao".into(), Value::from(Rao::new(receipt.fee).to_string()));
                }
                map.extend(extra.into_iter().map(|(k, v)| (k.to_owned(), v)));
            }
            println!("{result}");
            return;
        }
        match sent {
            Sent::DryRun(receipt) => println!(
                "{what}: would succeed; fee {} TAO (dry run, nothing submitted)",
                Rao::new(receipt.fee)
            ),
            Sent::Pending(hash) => println!("{what}: submitted, tx {hash}"),
            Sent::Final(receipt) => println!(
                "{what}: finalized in block #{} on {} (fee {} TAO), tx {}",
                receipt.block,
                self.endpoint.url().unwrap_or_default(),
                Rao::new(receipt.fee),
                receipt.tx_hash
            ),
        }
        let (events, prefix) = match sent {
            Sent::DryRun(receipt) => (&receipt.event_details, "  would have: "),
            Sent::Final(receipt) => (&receipt.event_details, "  "),
            Sent::Pending(_) => return,
        };
        for line in receipt::lines(events) {
            println!("{prefix}{line}");
        }
    }
}

/// A decimal string cut (not rounded) to `places` decimals, for tables.
fn decimals(text: &str, places: usize) -> String {
    match text.split_once('.') {
        Some((whole, fraction)) => {
            format!("{whole}.{:0<places$}", &fraction[..fraction.len().min(places)])
        }
        None => format!("{text}.{:0<places$}", ""),
    }
}

fn netuid(n: u16) -> NetUid {
    NetUid::new(n)
}

// ---------------------------------------------------------------- wallet balance/transfer

/// Arguments of `tao wallet balance`.
#[derive(Debug, Args)]
pub struct BalanceArgs {
    /// Any address instead of the wallet's coldkey.
    #[arg(long)]
    ss58: Option<String>,
}

/// Arguments of `tao wallet transfer`.
#[derive(Debug, Args)]
pub struct TransferArgs {
    /// The receiver's address.
    #[arg(long)]
    dest: String,
    /// TAO to send (e.g. 1.5).
    #[arg(long, required_unless_present = "all")]
    amount: Option<Rao>,
    /// Send everything (less the fee).
    #[arg(long, conflicts_with = "amount")]
    all: bool,
    /// Allow the sender's balance to fall below the existential deposit (the account is then
    /// reaped).
    #[arg(long)]
    allow_death: bool,
    #[command(flatten)]
    password: PasswordArgs,
    #[command(flatten)]
    send: SendArgs,
}

/// `tao wallet balance`.
pub fn balance(ctx: &Context<'_>, args: &BalanceArgs) -> Result<(), Failure> {
    let address = ctx.account_or_own(args.ss58.as_ref())?;
    let client = ctx.client()?;
    let info = client.request::<method::AccountInfo>((api::Address(address),))?;
    let stakes = client.request::<method::StakesOf>((api::Address(address),))?;
    if ctx.json {
        // Amounts as exact integers (RAO, alpha in 10⁻⁹) and as decimal strings.
        let stakes: Vec<Value> = stakes
            .iter()
            .map(|s| {
                json!({"netuid": s.netuid, "hotkey": s.hotkey, "alpha": s.alpha,
                       "alpha_decimal": AlphaRao::new(s.alpha).to_string()})
            })
            .collect();
        println!(
            "{}",
            json!({"address": address.to_ss58(), "free": info.free,
                   "free_tao": Rao::new(info.free).to_string(), "nonce": info.nonce, "stakes": stakes})
        );
    } else {
        println!("{}  free {} TAO", address.to_ss58(), Rao::new(info.free));
        for s in &stakes {
            println!(
                "  stake on subnet {:>3} to {}: {} {}",
                s.netuid,
                s.hotkey,
                AlphaRao::new(s.alpha),
                if s.netuid == 0 { "TAO" } else { "alpha" }
            );
        }
    }
    Ok(())
}

/// `tao wallet transfer`.
pub fn transfer(ctx: &Context<'_>, args: &TransferArgs) -> Result<(), Failure> {
    let dest = parse_account(&args.dest)?;
    let call = match (args.all, args.amount) {
        (true, _) => Call::TransferAll {
            dest,
            existence: if args.allow_death { Existence::AllowDeath } else { Existence::KeepAlive },
        },
        (false, Some(amount)) if args.allow_death => Call::Transfer { dest, amount },
        (false, Some(amount)) => Call::TransferKeepAlive { dest, amount },
        (false, None) => return Err(Failure::user("give --amount TAO or --all")),
    };
    if args.amount.is_some_and(Rao::is_zero) {
        return Err(Failure::user("the amount is zero"));
    }
    let key = ctx.coldkey(&args.password)?;
    let client = ctx.client()?;
    let summary = match args.amount {
        Some(a) => format!("Transfer {a} TAO from {} to {}", key.ss58(), dest.to_ss58()),
        None => format!("Transfer everything from {} to {}", key.ss58(), dest.to_ss58()),
    };
    let result = send(&client, &key, call, &summary, &args.send)?;
    ctx.report_tx("transfer", &result);
    Ok(())
}

// ---------------------------------------------------------------- subnets

/// `tao subnets` subcommands.
#[derive(Debug, Subcommand)]
pub enum SubnetsCommand {
    /// Every subnet: owner, tempo, neurons, pool and price.
    List,
    /// A subnet's metagraph as a table.
    Show(NetuidArg),
    /// Create a subnet owned by the wallet's coldkey, its hotkey as UID 0 (locks the lock cost).
    Create(SendOnly),
    /// Start a subnet's emission (owner).
    Start(NetuidSend),
    /// Register the wallet's hotkey on a subnet by burning the current price.
    Register(RegisterArgs),
    /// The current registration price of a subnet.
    BurnCost(NetuidArg),
    /// The current cost to create a subnet.
    LockCost,
    /// A subnet's alpha price in TAO.
    Price(NetuidArg),
    /// A subnet's hyperparameters, with who may set each.
    Hyperparameters(NetuidArg),
    /// Set a hyperparameter (the owner, or root for root-only ones).
    SetHyperparameter(SetHyperparameterArgs),
}

/// A subnet.
#[derive(Debug, Args)]
pub struct NetuidArg {
    /// The subnet.
    #[arg(long)]
    netuid: u16,
}

/// A transaction with no further arguments.
#[derive(Debug, Args)]
pub struct SendOnly {
    #[command(flatten)]
    password: PasswordArgs,
    #[command(flatten)]
    send: SendArgs,
}

/// A transaction on a subnet.
#[derive(Debug, Args)]
pub struct NetuidSend {
    /// The subnet.
    #[arg(long)]
    netuid: u16,
    #[command(flatten)]
    password: PasswordArgs,
    #[command(flatten)]
    send: SendArgs,
}

/// Arguments of `tao subnets register`.
#[derive(Debug, Args)]
pub struct RegisterArgs {
    /// The subnet.
    #[arg(long)]
    netuid: u16,
    /// Fail instead of paying more than this many TAO.
    #[arg(long)]
    max_burn: Option<Rao>,
    /// Register by proof of work instead of burning TAO (where the subnet allows it; the
    /// hotkey signs, nothing is paid).
    #[arg(long, conflicts_with = "max_burn")]
    pow: bool,
    /// `--pow`: threads to search with (default: one per core).
    #[arg(long, requires = "pow")]
    threads: Option<usize>,
    #[command(flatten)]
    password: PasswordArgs,
    #[command(flatten)]
    send: SendArgs,
}

/// Arguments of `tao subnets set-hyperparameter`.
#[derive(Debug, Args)]
pub struct SetHyperparameterArgs {
    /// The subnet.
    #[arg(long)]
    netuid: u16,
    /// The parameter's name (see `tao subnets hyperparameters`).
    #[arg(long)]
    param: String,
    /// Its new value (proportions also as a fraction, e.g. 0.5).
    #[arg(long)]
    value: String,
    /// Wait out the freeze window before an epoch (up to --timeout seconds) instead of failing.
    #[arg(long)]
    wait: bool,
    #[command(flatten)]
    password: PasswordArgs,
    #[command(flatten)]
    send: SendArgs,
}

/// Subnet `n`'s metagraph, its per-UID columns checked to have one entry per neuron.
fn metagraph(client: &Client, n: u16) -> Result<api::Metagraph, Failure> {
    let m = client.request::<method::Metagraph>((n,))?;
    if !m.columns_agree() {
        return Err(Failure::network(format!(
            "the node's metagraph of subnet {n} is inconsistent"
        )));
    }
    Ok(m)
}

/// Prints `value` as one JSON document.
fn print_json(value: &impl serde::Serialize) {
    println!("{}", serde_json::to_value(value).unwrap_or(Value::Null));
}

/// One-line descriptions of the hyperparameters.
fn describe(name: &str) -> &'static str {
    match name {
        "rho" => "steepness of the trust sigmoid",
        "kappa" => "stake share that decides consensus (set as a fraction, 0.5 = majority)",
        "immunity_period" => "blocks a new neuron cannot be replaced",
        "min_allowed_weights" => "fewest weights a validator must set",
        "tempo" => "blocks between epochs",
        "activity_cutoff_factor" => "epochs without weights before a validator is inactive",
        "weights_version" => "weights version key validators must send",
        "weights_rate_limit" => "blocks between a hotkey's weight updates",
        "registration_allowed" => "whether registration is open",
        "pow_registration_allowed" => "whether proof-of-work registration is open",
        "difficulty" => "proof-of-work difficulty",
        "min_burn" | "max_burn" => "bounds of the registration price (RAO; set in TAO)",
        "burn" => "current registration price (RAO)",
        "burn_half_life" => "blocks for the price to halve",
        "bonds_moving_avg" => "bond EMA factor (millionths)",
        "bonds_penalty" => "penalty on bonds to out-of-consensus weights",
        "serving_rate_limit" => "blocks between axon updates",
        "max_validators" => "validator permits per subnet",
        "max_allowed_uids" => "neuron slots",
        "commit_reveal_period" => "tempos before committed weights are revealed",
        "commit_reveal_weights_enabled" => "whether weights go through commit-reveal",
        "liquid_alpha_enabled" => "whether the bond EMA rate adapts per pair",
        "alpha_low" | "alpha_high" => "bounds of the liquid bond EMA rate",
        "alpha_sigmoid_steepness" => "liquid alpha sigmoid steepness",
        "yuma_version" => "Yuma Consensus version (2 or 3)",
        "transfers_enabled" => "whether stake may move between coldkeys",
        "owner_cut_enabled" => "whether the owner takes its cut",
        "fee_rate" => "swap fee of the pool (u16 proportion)",
        _ => "",
    }
}

/// The integer a parameter given as a fraction stands for at 1: u16 proportions, and
/// millionths for the bond moving average; `None` for other parameters.
fn fraction_scale(name: &str) -> Option<u64> {
    match name {
        "kappa" | "alpha_low" | "alpha_high" | "alpha_values" | "fee_rate" | "bonds_penalty" => {
            Some(65_535)
        }
        "bonds_moving_avg" => Some(1_000_000),
        _ => None,
    }
}

/// A value as the chain takes it: a fraction with a decimal point (`0.5`; `low,high` for
/// `alpha_values`) of a proportion parameter becomes its integer; anything else is as given.
fn chain_value(name: &str, value: &str) -> Result<String, Failure> {
    let Some(scale) = fraction_scale(name) else { return Ok(value.to_owned()) };
    let part = |text: &str| -> Result<String, Failure> {
        let text = text.trim();
        if !text.contains('.') {
            return Ok(text.to_owned());
        }
        match text.parse::<f64>() {
            Ok(x) if (0.0..=1.0).contains(&x) => {
                Ok(((x * scale as f64).round() as u64).to_string())
            }
            _ => Err(Failure::user(format!(
                "{name} as a fraction is a number from 0 to 1, not {text:?}"
            ))
            .hint(format!("or give the chain's integer (1.0 is {scale})"))),
        }
    };
    Ok(value.split(',').map(part).collect::<Result<Vec<_>, _>>()?.join(","))
}

/// A parameter's value as shown: with its fraction for a proportion (`32768 (0.5000)`).
fn shown_value(name: &str, value: &Value) -> String {
    match (fraction_scale(name), value.as_u64()) {
        (Some(scale), Some(raw)) => format!("{raw} ({:.4})", raw as f64 / scale as f64),
        _ => value.to_string(),
    }
}

/// Who may set a parameter (`chain` for the price the chain sets itself), from the bounds
/// the chain states.
fn who_sets(name: &str) -> &'static str {
    match Hyperparameter::bounds(name) {
        None => "chain",
        Some(("-", _)) => "root",
        Some(_) => "owner",
    }
}

/// Runs a `tao subnets` command.
pub fn subnets(ctx: &Context<'_>, command: SubnetsCommand) -> Result<(), Failure> {
    let client = ctx.client()?;
    match command {
        SubnetsCommand::List => {
            let list = client.request::<method::Subnets>(())?;
            if ctx.json {
                print_json(&list);
                return Ok(());
            }
            println!(
                "{:>6} {:>6} {:>8} {:>16} {:>12}  owner",
                "netuid", "tempo", "neurons", "pool TAO", "price"
            );
            for s in &list {
                println!(
                    "{:>6} {:>6} {:>8} {:>16} {:>12}  {}",
                    s.netuid,
                    s.tempo,
                    s.neurons,
                    Rao::new(s.pool_tao).to_string(),
                    decimals(&s.price, 6),
                    s.owner_coldkey
                );
            }
        }
        SubnetsCommand::Show(a) => {
            let m = metagraph(&client, a.netuid)?;
            if ctx.json {
                print_json(&m);
                return Ok(());
            }
            println!(
                "subnet {} at block {}: {} neurons, tempo {}, price {} TAO",
                a.netuid,
                m.block,
                m.n,
                m.tempo,
                decimals(&m.pool.price, 6)
            );
            println!(
                "{:>4}  {:<48} {:>14} {:>9} {:>9} {:>9} {:>9} {:>6}  axon",
                "uid",
                "hotkey",
                "stake α",
                "vtrust",
                "consensus",
                "incentive",
                "dividends",
                "vpermit"
            );
            let prop = |column: &[u16], i: usize| f64::from(column[i]) / 65_535.0;
            for (i, hotkey) in m.hotkeys.iter().enumerate() {
                let axon = match &m.axons[i] {
                    Some(axon) => format!("{}:{}", axon.ip, axon.port),
                    None => "-".to_owned(),
                };
                println!(
                    "{:>4}  {:<48} {:>14} {:>9.4} {:>9.4} {:>9.4} {:>9.4} {:>6}  {}",
                    i,
                    hotkey.to_string(),
                    AlphaRao::new(m.alpha_stake[i]).to_string(),
                    prop(&m.validator_trust, i),
                    prop(&m.consensus, i),
                    prop(&m.incentive, i),
                    prop(&m.dividends, i),
                    if m.validator_permit[i] { "yes" } else { "" },
                    axon
                );
            }
        }
        SubnetsCommand::Create(a) => {
            let key = ctx.coldkey(&a.password)?;
            let hotkey = ctx.wallet.hotkey_pair(None).map_err(wallet_failure)?.account();
            let cost = Rao::new(client.request::<method::LockCost>(())?);
            let summary =
                format!("Create a subnet, locking {cost} TAO, owner hotkey {}", hotkey.to_ss58());
            let result = send(&client, &key, Call::RegisterNetwork { hotkey }, &summary, &a.send)?;
            let created =
                result.receipt().into_iter().flat_map(|r| &r.event_details).find_map(|e| match e {
                    api::Event::NetworkAdded { netuid, .. } => Some(*netuid),
                    _ => None,
                });
            if let (Some(n), false) = (&created, ctx.json) {
                println!(
                    "created subnet {n}; start its emission with `tao subnets start --netuid {n}`"
                );
            }
            ctx.report_tx("subnets create", &result);
        }
        SubnetsCommand::Start(a) => {
            let key = ctx.coldkey(&a.password)?;
            let summary = format!("Start emission on subnet {}", a.netuid);
            let result = send(
                &client,
                &key,
                Call::StartCall { netuid: netuid(a.netuid) },
                &summary,
                &a.send,
            )?;
            ctx.report_tx("subnets start", &result);
        }
        SubnetsCommand::Register(a) if a.pow => {
            pow::register(ctx, &client, a.netuid, pow::threads(a.threads), &a.send)?
        }
        SubnetsCommand::Register(a) => {
            let price = Rao::new(metagraph(&client, a.netuid)?.hyperparameters.burn);
            if let Some(max) = a.max_burn.filter(|&max| price > max) {
                return Err(Failure::user(format!(
                    "registration on subnet {} costs {price} TAO, above --max-burn {max}",
                    a.netuid
                ))
                .hint("wait for the price to fall, or raise --max-burn"));
            }
            let key = ctx.coldkey(&a.password)?;
            let hotkey = ctx.wallet.hotkey_pair(None).map_err(wallet_failure)?.account();
            let call =
                Call::BurnedRegister { netuid: netuid(a.netuid), hotkey, limit_price: a.max_burn };
            let summary =
                format!("Register {} on subnet {} for {price} TAO", hotkey.to_ss58(), a.netuid);
            let result = send(&client, &key, call, &summary, &a.send)?;
            ctx.report_tx("subnets register", &result);
        }
        SubnetsCommand::BurnCost(a) => {
            let burn = metagraph(&client, a.netuid)?.hyperparameters.burn;
            print_amount(ctx.json, "burn_cost", burn, "TAO");
        }
        SubnetsCommand::LockCost => {
            let cost = client.request::<method::LockCost>(())?;
            print_amount(ctx.json, "lock_cost", cost, "TAO");
        }
        SubnetsCommand::Price(a) => {
            let pool = metagraph(&client, a.netuid)?.pool;
            if ctx.json {
                print_json(&pool);
            } else {
                println!(
                    "subnet {}: {} TAO per alpha (moving {}); pool {} TAO / {} alpha",
                    a.netuid,
                    decimals(&pool.price, 9),
                    decimals(&pool.moving_price, 9),
                    Rao::new(pool.tao),
                    AlphaRao::new(pool.alpha_in)
                );
            }
        }
        SubnetsCommand::Hyperparameters(a) => {
            // By name, as a table or list of rows (the struct's own serialization).
            let params = by_name(metagraph(&client, a.netuid)?.hyperparameters);
            if ctx.json {
                let rows: Vec<Value> = params
                    .iter()
                    .map(|(k, v)| {
                        let (owner, root) = Hyperparameter::bounds(k).unwrap_or(("-", "-"));
                        let mut row = json!({"name": k, "value": v, "setter": who_sets(k), "owner_bounds": owner, "root_bounds": root, "description": describe(k)});
                        if let (Some(scale), Some(raw)) = (fraction_scale(k), v.as_u64()) {
                            row["fraction"] = json!(raw as f64 / scale as f64);
                        }
                        row
                    })
                    .collect();
                println!("{}", Value::Array(rows));
            } else {
                println!(
                    "{:<32} {:>22}  {:<6} {:<34} {:<34} what",
                    "parameter", "value", "setter", "owner may set", "root may set"
                );
                for (k, v) in &params {
                    let (owner, root) = Hyperparameter::bounds(k).unwrap_or(("-", "-"));
                    println!(
                        "{k:<32} {:>22}  {:<6} {owner:<34} {root:<34} {}",
                        shown_value(k, v),
                        who_sets(k),
                        describe(k)
                    );
                }
            }
        }
        SubnetsCommand::SetHyperparameter(a) => {
            let value = Hyperparameter::parse(&a.param, &chain_value(&a.param, &a.value)?)
                .map_err(Failure::user)?;
            let key = ctx.coldkey(&a.password)?;
            let old = hyperparameter(&client, a.netuid, &a.param)?;
            let summary = match &old {
                Some(old) => {
                    format!("Set {} from {old} to {} on subnet {}", a.param, a.value, a.netuid)
                }
                None => format!("Set {} = {} on subnet {}", a.param, a.value, a.netuid),
            };
            let call = Call::SetHyperparameter { netuid: netuid(a.netuid), value };
            let passing: &[&str] =
                &["AdminActionProhibitedDuringWeightsWindow", "TxRateLimitExceeded"];
            let result =
                send_when_allowed(&client, &key, &call, &summary, &a.send, (a.wait, passing))
                    .map_err(|f| out_of_bounds(&a.param, frozen(&client, a.netuid, f)))?;
            let new = match &result {
                Sent::Final(_) => hyperparameter(&client, a.netuid, &a.param)?,
                _ => None,
            };
            let mut extra = Vec::new();
            if let Some(old) = &old {
                extra.push(("old_value", old.clone()));
            }
            if let Some(new) = &new {
                extra.push(("new_value", new.clone()));
            }
            ctx.report_tx_with("subnets set-hyperparameter", &result, extra);
            if let (Some(old), Some(new), false) = (&old, &new, ctx.json) {
                let (old, new) = (shown_value(&a.param, old), shown_value(&a.param, new));
                println!("  {}: {old} → {new}", a.param);
            }
        }
    }
    Ok(())
}

/// A value refused as out of range, with the values the owner and root may set.
fn out_of_bounds(name: &str, failure: Failure) -> Failure {
    match (failure.name(), Hyperparameter::bounds(name)) {
        (Some("InvalidValue"), Some((owner, root))) => {
            let message = format!(
                "{}\n  {name} may be set by the owner to: {owner}; by root to: {root}",
                failure.message()
            );
            failure.reworded(message)
        }
        _ => failure,
    }
}

/// A refusal inside the freeze window before an epoch, with the numbers: when the epoch
/// runs and how long until then; any other failure as it is.
fn frozen(client: &Client, n: u16, failure: Failure) -> Failure {
    if failure.name() != Some("AdminActionProhibitedDuringWeightsWindow") {
        return failure;
    }
    let Ok(m) = metagraph(client, n) else { return failure };
    let next = m.last_epoch_block + u64::from(m.tempo);
    let left = (next + 1).saturating_sub(m.block).max(1);
    let wait = timing::wait_text(client, left).unwrap_or_else(|_| format!("{left} blocks"));
    failure.reworded(format!(
        "subnet {n}'s parameters are frozen in the blocks just before its epoch; the next epoch runs at block #{next} (head #{}), so the change can be made from block #{}: {wait} from now; nothing was submitted",
        m.block,
        next + 1
    ))
    .hint("run the same command again then, or now with --wait")
}

/// Subnet `n`'s hyperparameter `name` as the metagraph shows it (`None` for a parameter the
/// metagraph does not show by that name).
fn hyperparameter(client: &Client, n: u16, name: &str) -> Result<Option<Value>, Failure> {
    Ok(by_name(metagraph(client, n)?.hyperparameters).remove(name))
}

/// The hyperparameters by name (their own serialization).
fn by_name(params: api::Hyperparameters) -> serde_json::Map<String, Value> {
    match serde_json::to_value(params) {
        Ok(Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    }
}

fn print_amount(json: bool, key: &str, raw: u64, unit: &str) {
    if json {
        println!("{}", json!({ key: raw, format!("{key}_tao"): Rao::new(raw).to_string() }));
    } else {
        println!("{} {unit}", Rao::new(raw));
    }
}

// ---------------------------------------------------------------- stake

/// `tao stake` subcommands.
#[derive(Debug, Subcommand)]
pub enum StakeCommand {
    /// Stake TAO to a hotkey on a subnet (buys alpha from its pool).
    Add(StakeAddArgs),
    /// Unstake alpha from a hotkey on a subnet (sells it to the pool).
    Remove(StakeRemoveArgs),
    /// The wallet's stakes on every subnet.
    List(BalanceArgs),
    /// Move stake to another hotkey and/or subnet (same coldkey).
    Move(StakeMoveArgs),
    /// Give stake to another coldkey (same hotkey), possibly on another subnet.
    Transfer(StakeMoveArgs),
    /// Swap stake between subnets on the same hotkey (sells one alpha, buys the other).
    Swap(StakeMoveArgs),
}

/// Arguments of `tao stake move|transfer|swap`.
#[derive(Debug, Args)]
pub struct StakeMoveArgs {
    /// The subnet the stake is on.
    #[arg(long)]
    origin_netuid: u16,
    /// The subnet it goes to (default: the same).
    #[arg(long)]
    dest_netuid: Option<u16>,
    /// Alpha to move (default with --all: everything on the origin hotkey and subnet).
    #[arg(long, required_unless_present = "all")]
    amount: Option<AlphaRao>,
    /// Move everything.
    #[arg(long, conflicts_with = "amount")]
    all: bool,
    /// The hotkey the stake is on (default: the wallet's hotkey).
    #[arg(long)]
    hotkey_ss58: Option<String>,
    /// `move`: the hotkey it goes to; `transfer`: the coldkey that receives it.
    #[arg(long)]
    dest: Option<String>,
    /// `swap`: fail instead of a worse price than this (TAO per alpha of the origin).
    #[arg(long)]
    limit_price: Option<Rao>,
    #[command(flatten)]
    password: PasswordArgs,
    #[command(flatten)]
    send: SendArgs,
}

/// Arguments of `tao stake add`.
#[derive(Debug, Args)]
pub struct StakeAddArgs {
    /// The subnet (0 is root: TAO staked 1:1).
    #[arg(long)]
    netuid: u16,
    /// TAO to stake.
    #[arg(long)]
    amount: Rao,
    /// The validator's hotkey address (default: the wallet's hotkey).
    #[arg(long)]
    hotkey_ss58: Option<String>,
    /// Fail instead of buying above this price (TAO per alpha); also `--limit-price`, as in
    /// every stake command.
    #[arg(long, alias = "limit-price")]
    max_price: Option<Rao>,
    #[command(flatten)]
    password: PasswordArgs,
    #[command(flatten)]
    send: SendArgs,
}

/// Arguments of `tao stake remove`.
#[derive(Debug, Args)]
pub struct StakeRemoveArgs {
    /// The subnet.
    #[arg(long)]
    netuid: u16,
    /// Alpha to unstake.
    #[arg(long, required_unless_present = "all")]
    amount: Option<AlphaRao>,
    /// Unstake everything from this hotkey on this subnet.
    #[arg(long, conflicts_with = "amount")]
    all: bool,
    /// The validator's hotkey address (default: the wallet's hotkey).
    #[arg(long)]
    hotkey_ss58: Option<String>,
    /// Fail instead of selling below this price (TAO per alpha); also `--limit-price`, as in
    /// every stake command.
    #[arg(long, alias = "limit-price")]
    min_price: Option<Rao>,
    #[command(flatten)]
    password: PasswordArgs,
    #[command(flatten)]
    send: SendArgs,
}

fn hotkey_or_own(ctx: &Context<'_>, given: Option<&String>) -> Result<AccountId, Failure> {
    match given {
        Some(a) => parse_account(a),
        None => Ok(ctx.wallet.hotkey_pair(None).map_err(wallet_failure)?.account()),
    }
}

/// Runs a `tao stake` command.
pub fn stake(ctx: &Context<'_>, command: StakeCommand) -> Result<(), Failure> {
    match command {
        StakeCommand::Add(a) => {
            let hotkey = hotkey_or_own(ctx, a.hotkey_ss58.as_ref())?;
            let key = ctx.coldkey(&a.password)?;
            let client = ctx.client()?;
            let call = Call::AddStake {
                hotkey,
                netuid: netuid(a.netuid),
                amount: a.amount,
                limit_price: a.max_price,
            };
            let spot = spot_price(&client, a.netuid)?;
            let summary = format!(
                "Stake {} TAO to {} on subnet {} (spot price {} TAO per α)",
                a.amount,
                hotkey.to_ss58(),
                a.netuid,
                spot.as_deref().unwrap_or("1")
            );
            let result = send(&client, &key, call, &summary, &a.send)?;
            report_stake(ctx, "stake add", &result, spot.as_deref());
        }
        StakeCommand::Remove(a) => {
            let hotkey = hotkey_or_own(ctx, a.hotkey_ss58.as_ref())?;
            let key = ctx.coldkey(&a.password)?;
            let client = ctx.client()?;
            let amount = stake_amount(&client, a.amount, a.netuid, &hotkey, &key.account())?;
            let call = Call::RemoveStake {
                hotkey,
                netuid: netuid(a.netuid),
                amount,
                limit_price: a.min_price,
            };
            let spot = spot_price(&client, a.netuid)?;
            let summary =
                format!("Unstake {amount} alpha from {} on subnet {}", hotkey.to_ss58(), a.netuid);
            let result = send(&client, &key, call, &summary, &a.send)?;
            report_stake(ctx, "stake remove", &result, spot.as_deref());
        }
        StakeCommand::List(a) => balance(ctx, &a)?,
        StakeCommand::Move(a) => move_stake(ctx, &a, "move")?,
        StakeCommand::Transfer(a) => move_stake(ctx, &a, "transfer")?,
        StakeCommand::Swap(a) => move_stake(ctx, &a, "swap")?,
    }
    Ok(())
}

/// Slippage (the average price against the spot price, fee included) above which a stake's
/// report warns, in percent.
const SLIPPAGE_WARNING: f64 = 5.0;

/// Subnet `n`'s spot price (TAO per α, a decimal string); `None` on root, staked 1:1.
fn spot_price(client: &Client, n: u16) -> Result<Option<String>, Failure> {
    if n == 0 {
        return Ok(None);
    }
    Ok(Some(metagraph(client, n)?.pool.price))
}

/// Reports a stake or unstake with its numbers: the receipt and its events, the spot price
/// before, and the slippage of the average price (warned above [`SLIPPAGE_WARNING`]).
fn report_stake(ctx: &Context<'_>, what: &str, sent: &Sent, spot: Option<&str>) {
    let traded = sent.receipt().into_iter().flat_map(|r| &r.event_details).find_map(|e| match e {
        api::Event::StakeAdded { tao, alpha, .. } => Some((*tao, *alpha, true)),
        api::Event::StakeRemoved { tao, alpha, .. } => Some((*tao, *alpha, false)),
        _ => None,
    });
    let average = traded.and_then(|(tao, alpha, _)| receipt::average_price(tao, alpha));
    // Buying above the spot price, or selling below it, is the slippage.
    let slippage = match (traded, &average, spot) {
        (Some((_, _, buying)), Some(average), Some(spot)) => {
            receipt::slippage_percent(average, spot).map(|s| if buying { s } else { -s })
        }
        _ => None,
    };
    let mut extra = Vec::new();
    if let Some(spot) = spot {
        extra.push(("spot_price", Value::from(spot)));
    }
    if let Some(average) = &average {
        extra.push(("average_price", Value::from(average.as_str())));
    }
    if let Some(slippage) = slippage {
        extra.push(("slippage_percent", json!((slippage * 100.0).round() / 100.0)));
    }
    ctx.report_tx_with(what, sent, extra);
    if let (Some(spot), Some(slippage)) = (spot, slippage) {
        if !ctx.json {
            println!(
                "  spot price before: {} TAO per α; slippage {slippage:.2}%",
                decimals(spot, 9)
            );
        }
        if slippage > SLIPPAGE_WARNING {
            eprintln!(
                "warning: slippage {slippage:.2}% is above {SLIPPAGE_WARNING}%: the pool is shallow for this amount; split it, or cap the price (--max-price / --min-price)"
            );
        }
    }
}

/// The amount given, or (for `--all`) the coldkey's whole stake on the hotkey and subnet;
/// zero, and more than the coldkey holds there, are refused (the chain would quietly take
/// everything instead).
fn stake_amount(
    client: &Client,
    given: Option<AlphaRao>,
    netuid: u16,
    hotkey: &AccountId,
    coldkey: &AccountId,
) -> Result<AlphaRao, Failure> {
    let held = AlphaRao::new(client.request::<method::Stake>((
        netuid,
        api::Address(*hotkey),
        api::Address(*coldkey),
    ))?);
    if held.is_zero() {
        return Err(Failure::user(format!(
            "nothing to do: no stake of yours on {} on subnet {netuid}",
            hotkey.to_ss58()
        )));
    }
    let amount = given.unwrap_or(held);
    if amount.is_zero() {
        return Err(Failure::user("the amount is zero"));
    }
    if amount > held {
        return Err(Failure::user(format!(
            "--amount {amount} α is more than the {held} α you hold on {} on subnet {netuid}",
            hotkey.to_ss58()
        ))
        .hint(format!("give at most --amount {held}, or --all for everything")));
    }
    Ok(amount)
}

/// `tao stake move|transfer|swap`.
fn move_stake(ctx: &Context<'_>, a: &StakeMoveArgs, kind: &str) -> Result<(), Failure> {
    if kind != "swap" && a.limit_price.is_some() {
        return Err(Failure::user(format!(
            "`stake {kind}` takes no --limit-price: the chain offers no price guard for it"
        ))
        .hint("a swap between subnets takes one: tao stake swap --limit-price P"));
    }
    let hotkey = hotkey_or_own(ctx, a.hotkey_ss58.as_ref())?;
    let key = ctx.coldkey(&a.password)?;
    let client = ctx.client()?;
    let origin = netuid(a.origin_netuid);
    let destination = netuid(a.dest_netuid.unwrap_or(a.origin_netuid));
    let amount = stake_amount(&client, a.amount, a.origin_netuid, &hotkey, &key.account())?;
    let dest = || {
        a.dest
            .as_deref()
            .map(parse_account)
            .unwrap_or_else(|| Err(Failure::user(format!("`stake {kind}` needs --dest ADDRESS"))))
    };
    let (call, summary) = match kind {
        "move" => {
            let to = dest()?;
            let summary = format!(
                "Move {amount} alpha from {} on subnet {} to {} on subnet {}",
                hotkey.to_ss58(),
                origin.get(),
                to.to_ss58(),
                destination.get()
            );
            let call = Call::MoveStake {
                origin_hotkey: hotkey,
                destination_hotkey: to,
                origin_netuid: origin,
                destination_netuid: destination,
                amount,
            };
            (call, summary)
        }
        "transfer" => {
            let to = dest()?;
            let summary = format!(
                "Give {amount} alpha on {} (subnet {}) to coldkey {} on subnet {}",
                hotkey.to_ss58(),
                origin.get(),
                to.to_ss58(),
                destination.get()
            );
            let call = Call::TransferStake {
                destination_coldkey: to,
                hotkey,
                origin_netuid: origin,
                destination_netuid: destination,
                amount,
            };
            (call, summary)
        }
        _ => {
            if origin == destination {
                return Err(Failure::user(
                    "a swap needs --dest-netuid different from --origin-netuid",
                ));
            }
            let summary = format!(
                "Swap {amount} alpha on {} from subnet {} to subnet {}",
                hotkey.to_ss58(),
                origin.get(),
                destination.get()
            );
            let call = Call::SwapStake {
                hotkey,
                origin_netuid: origin,
                destination_netuid: destination,
                amount,
                limit_price: a.limit_price,
            };
            (call, summary)
        }
    };
    let result = send(&client, &key, call, &summary, &a.send)?;
    ctx.report_tx(&format!("stake {kind}"), &result);
    Ok(())
}

// ---------------------------------------------------------------- weights and axons

/// `tao axon` subcommands.
#[derive(Debug, Subcommand)]
pub enum AxonCommand {
    /// Publish where the wallet's hotkey serves on a subnet.
    Serve(AxonServeArgs),
}

/// Arguments of `tao axon serve`.
#[derive(Debug, Args)]
pub struct AxonServeArgs {
    /// The subnet.
    #[arg(long)]
    netuid: u16,
    /// The public IP address.
    #[arg(long)]
    ip: IpAddr,
    /// The port.
    #[arg(long)]
    port: u16,
    #[command(flatten)]
    send: SendArgs,
}

/// Runs a `tao axon` command.
pub fn axon(ctx: &Context<'_>, command: AxonCommand) -> Result<(), Failure> {
    let AxonCommand::Serve(a) = command;
    let key = ctx.hotkey()?;
    let client = ctx.client()?;
    let call = Call::ServeAxon { netuid: netuid(a.netuid), axon: AxonInfo::new(a.ip, a.port) };
    let summary = format!("Serve {} at {}:{} on subnet {}", key.ss58(), a.ip, a.port, a.netuid);
    let result = send(&client, &key, call, &summary, &a.send)?;
    ctx.report_tx("axon serve", &result);
    Ok(())
}

// ---------------------------------------------------------------- chain

/// `tao chain` subcommands.
#[derive(Debug, Subcommand)]
pub enum ChainCommand {
    /// The head block.
    Head,
    /// A block by number or hash.
    Block {
        /// Number or 0x-hash.
        which: String,
    },
    /// A transaction's status and receipt.
    Tx {
        /// The transaction hash.
        hash: String,
    },
}

/// Runs a `tao chain` command.
pub fn chain(ctx: &Context<'_>, command: ChainCommand) -> Result<(), Failure> {
    let client = ctx.client()?;
    let value = match command {
        ChainCommand::Head => serde_json::to_value(client.request::<method::ChainHead>(())?),
        ChainCommand::Block { which } => {
            let block = match which.parse::<u64>() {
                Ok(n) => api::BlockId::Number(n),
                Err(_) => api::BlockId::Hash(api::H256(client::parse_hash(&which)?)),
            };
            serde_json::to_value(client.request::<method::GetBlock>((block,))?)
        }
        ChainCommand::Tx { hash } => {
            let hash = api::H256(client::parse_hash(&hash)?);
            serde_json::to_value(client.request::<method::TransactionStatus>((hash,))?)
        }
    }
    .map_err(|e| Failure::network(format!("cannot show the answer: {e}")))?;
    if ctx.json {
        println!("{value}");
    } else {
        println!("{}", serde_json::to_string_pretty(&value).unwrap_or_default());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{chain_value, decimals, shown_value};

    #[test]
    fn proportions_are_given_and_shown_as_fractions() {
        assert_eq!(chain_value("kappa", "0.5").unwrap(), "32768");
        assert_eq!(chain_value("kappa", "32767").unwrap(), "32767", "integers as they are");
        assert_eq!(chain_value("alpha_values", "0.1, 0.9").unwrap(), "6554,58982");
        assert_eq!(chain_value("bonds_moving_avg", "0.975").unwrap(), "975000");
        assert_eq!(chain_value("tempo", "0.5").unwrap(), "0.5", "not a proportion");
        assert!(chain_value("kappa", "1.5").is_err());
        assert_eq!(shown_value("kappa", &serde_json::json!(16384)), "16384 (0.2500)");
        assert_eq!(shown_value("tempo", &serde_json::json!(10)), "10");
    }

    #[test]
    fn prices_are_cut_to_places_without_floats() {
        assert_eq!(decimals("0.000123456789", 6), "0.000123");
        assert_eq!(decimals("1.5", 6), "1.500000");
        assert_eq!(decimals("12", 3), "12.000");
        assert_eq!(decimals("0.99999999999", 9), "0.999999999", "cut, never rounded up");
    }
}
