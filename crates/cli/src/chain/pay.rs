//! `tao pay channels|open|top-up|close` (payment channels) and `tao query` (ask a subnet's
//! best miners, paying each per request). See `docs/payments-consumers.md`.

use super::{client::parse_account, Context};
use crate::{exit::Failure, wallet::PasswordArgs};
use clap::{Args, Subcommand};
use serde_json::{json, Map, Value};
use std::{sync::Arc, time::Duration};
use tao_primitives::{BlockNumber, ChannelId, Rao};
use tao_sdk::{
    chain::{
        api::{self, method},
        ChainClient,
    },
    dendrite::{Dendrite, Query, Target},
    payment::{PayError, Payer, PayerConfig},
};
use tao_types::Call;

/// `tao pay` subcommands.
#[derive(Debug, Subcommand)]
pub enum PayCommand {
    /// The open channels the wallet's coldkey (or `--address`) pays or is paid by.
    Channels(ChannelsArgs),
    /// Open a channel to a payee, locking a deposit until an expiry.
    Open(OpenArgs),
    /// Add to a channel's deposit and/or move its expiry later.
    TopUp(TopUpArgs),
    /// Close an expired channel: the unclaimed deposit comes back.
    Close(CloseArgs),
}

/// Arguments of `tao pay channels`.
#[derive(Debug, Args)]
pub struct ChannelsArgs {
    /// Any address instead of the wallet's coldkey.
    #[arg(long)]
    address: Option<String>,
}

/// Arguments of `tao pay open`.
#[derive(Debug, Args)]
pub struct OpenArgs {
    /// The payee (a miner's hotkey or coldkey, SS58).
    #[arg(long)]
    payee: String,
    /// TAO to lock.
    #[arg(long)]
    deposit: Rao,
    /// Blocks from now until the channel expires (the payer may close it from then on).
    #[arg(long, default_value_t = 7_200)]
    blocks: u64,
    #[command(flatten)]
    password: PasswordArgs,
    #[command(flatten)]
    send: super::SendArgs,
}

/// Arguments of `tao pay top-up`.
#[derive(Debug, Args)]
pub struct TopUpArgs {
    /// The channel.
    #[arg(long)]
    channel: u64,
    /// TAO to add (0 to only move the expiry).
    #[arg(long, default_value = "0")]
    amount: Rao,
    /// Move the expiry to this many blocks from now.
    #[arg(long)]
    blocks: Option<u64>,
    #[command(flatten)]
    password: PasswordArgs,
    #[command(flatten)]
    send: super::SendArgs,
}

/// Arguments of `tao pay close`.
#[derive(Debug, Args)]
pub struct CloseArgs {
    /// The channel.
    #[arg(long)]
    channel: u64,
    #[command(flatten)]
    password: PasswordArgs,
    #[command(flatten)]
    send: super::SendArgs,
}

fn channel_json(c: &api::Channel) -> Value {
    json!({"id": c.id, "payer": c.payer, "payee": c.payee, "deposit": c.deposit,
           "deposit_tao": Rao::new(c.deposit).to_string(), "claimed": c.claimed,
           "claimed_tao": Rao::new(c.claimed).to_string(), "remaining": c.remaining,
           "expiry": c.expiry, "opened_at": c.opened_at, "state": c.state})
}

fn head(client: &super::Client) -> Result<u64, Failure> {
    Ok(client.request::<method::ChainHead>(())?.number)
}

/// `tao pay`.
pub fn pay(ctx: &Context<'_>, command: PayCommand) -> Result<(), Failure> {
    let client = ctx.client()?;
    match command {
        PayCommand::Channels(args) => {
            let address = ctx.account_or_own(args.address.as_ref())?;
            let channels = client.request::<method::Channels>((api::Address(address),))?;
            if ctx.json {
                let list: Vec<Value> = channels.iter().map(channel_json).collect();
                println!("{}", json!({"address": address.to_ss58(), "channels": list}));
                return Ok(());
            }
            if channels.is_empty() {
                println!("{}: no open payment channels", address.to_ss58());
            }
            for c in &channels {
                let role = if c.payer.0 == address { "pays" } else { "is paid by" };
                let other = if c.payer.0 == address { &c.payee } else { &c.payer };
                println!(
                    "channel {:>4}  {role} {other}  deposit {} TAO, claimed {} TAO, expiry #{} ({:?})",
                    c.id,
                    Rao::new(c.deposit),
                    Rao::new(c.claimed),
                    c.expiry,
                    c.state
                );
            }
            Ok(())
        }
        PayCommand::Open(args) => {
            let payee = parse_account(&args.payee)?;
            if args.blocks == 0 {
                return Err(Failure::user("--blocks must be at least 1"));
            }
            let key = ctx.coldkey(&args.password)?;
            // The transaction lands in a later block: count from the next one.
            let expiry = BlockNumber::new(head(&client)?.saturating_add(1 + args.blocks));
            let summary = format!(
                "Open a payment channel from {} to {} with {} TAO until block #{}",
                key.ss58(),
                payee.to_ss58(),
                args.deposit,
                expiry.get()
            );
            let call = Call::OpenChannel { payee, deposit: args.deposit, expiry };
            let sent = super::send(&client, &key, call, &summary, &args.send)?;
            ctx.report_tx("open channel", &sent);
            Ok(())
        }
        PayCommand::TopUp(args) => {
            let key = ctx.coldkey(&args.password)?;
            let expiry = match args.blocks {
                Some(blocks) => Some(BlockNumber::new(head(&client)?.saturating_add(1 + blocks))),
                None => None,
            };
            let channel = ChannelId::new(args.channel);
            let summary = format!("Top up channel {channel} by {} TAO", args.amount);
            let call = Call::TopUpChannel { channel, amount: args.amount, expiry };
            let sent = super::send(&client, &key, call, &summary, &args.send)?;
            ctx.report_tx("top up channel", &sent);
            Ok(())
        }
        PayCommand::Close(args) => {
            let key = ctx.coldkey(&args.password)?;
            let channel = ChannelId::new(args.channel);
            let summary = format!("Close channel {channel} and take back what is unclaimed");
            let sent =
                super::send(&client, &key, Call::CloseChannel { channel }, &summary, &args.send)?;
            ctx.report_tx("close channel", &sent);
            Ok(())
        }
    }
}

/// Arguments of `tao query`.
#[derive(Debug, Args)]
pub struct QueryArgs {
    /// The subnet.
    #[arg(long)]
    netuid: u16,
    /// The text to continue (the text-prediction subnet's `TextPrediction` synapse).
    #[arg(long, default_value = "the ")]
    text: String,
    /// How many miners to ask: the subnet's best by incentive.
    #[arg(long, default_value_t = 3)]
    top: usize,
    /// Characters to generate after the text (one paid request each, per miner).
    #[arg(long, default_value_t = 16)]
    generate: usize,
    /// The most TAO to spend in all (vouchers signed).
    #[arg(long, default_value = "0.01")]
    budget: Rao,
    /// The most TAO to pay for one request.
    #[arg(long, default_value = "0.001")]
    max_price: Rao,
    /// TAO to lock in each new channel (capped by what is left of the budget).
    #[arg(long, default_value = "0.005")]
    deposit: Rao,
    /// Lifetime of a new channel, in blocks.
    #[arg(long, default_value_t = 7_200)]
    channel_blocks: u64,
    /// Seconds allowed per request.
    #[arg(long, default_value_t = 10)]
    timeout: u64,
    #[command(flatten)]
    password: PasswordArgs,
}

/// One miner's answers.
struct MinerAnswer {
    uid: usize,
    hotkey: String,
    incentive: u16,
    distribution: Option<Map<String, Value>>,
    generated: String,
    requests: u64,
    paid: Rao,
    error: Option<String>,
}

/// The most likely character of a `{char: probability}` map.
fn most_likely(distribution: &Map<String, Value>) -> Option<String> {
    distribution
        .iter()
        .filter_map(|(c, p)| Some((c, p.as_f64()?)))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(c, _)| c.clone())
}

fn prediction(reply: &tao_sdk::dendrite::Reply) -> Option<Map<String, Value>> {
    let predictions = reply.synapse.as_ref()?.get("predictions")?.as_array()?;
    predictions.first()?.as_object().cloned()
}

fn text_query(text: &str, timeout: Duration) -> Query {
    let mut fields = Map::new();
    fields.insert("contexts".into(), json!([text]));
    Query {
        name: "TextPrediction".into(),
        fields,
        required: vec!["contexts".into()],
        hash_fields: vec!["contexts".into()],
        timeout,
    }
}

/// `tao query`: asks the subnet's best miners (by incentive) for the next-character
/// distribution after `--text` and `--generate` characters of continuation, paying each
/// miner per request through a payment channel (opened once, reused after).
pub fn query(ctx: &Context<'_>, args: &QueryArgs) -> Result<(), Failure> {
    let client = ctx.client()?;
    let metagraph = client.request::<method::Metagraph>((args.netuid,))?;
    let mut miners: Vec<(usize, u16, Target)> = metagraph
        .axons
        .iter()
        .enumerate()
        .filter_map(|(uid, axon)| {
            let axon = axon.as_ref()?;
            let hotkey = metagraph.hotkeys.get(uid)?.to_string();
            let incentive = *metagraph.incentive.get(uid)?;
            Some((uid, incentive, Target { addr: (axon.ip, axon.port).into(), hotkey }))
        })
        .collect();
    miners.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    miners.truncate(args.top);
    if miners.is_empty() {
        return Err(Failure::user(format!("subnet {} has no miner serving an axon", args.netuid)));
    }
    let key = ctx.coldkey(&args.password)?;
    let url = client.url().to_owned();
    let config = PayerConfig {
        budget: args.budget,
        max_price: args.max_price,
        deposit: args.deposit,
        lifetime_blocks: args.channel_blocks,
    };
    let timeout = Duration::from_secs(args.timeout);
    let (answers, spent, fees, channels) = client.block_on(async {
        let chain = Arc::new(ChainClient::new(&url).map_err(|e| client.failure_of(e))?);
        let dendrite = Dendrite::new(key.clone());
        let payer = Payer::new(key, chain, config).await.map_err(pay_failure)?;
        let mut answers = Vec::new();
        for (uid, incentive, target) in &miners {
            answers.push(ask(&payer, &dendrite, target, *uid, *incentive, args, timeout).await);
        }
        Ok::<_, Failure>((answers, payer.spent().await, payer.fees().await, payer.channels().await))
    })?;
    if ctx.json {
        let miners: Vec<Value> = answers
            .iter()
            .map(|a| {
                json!({"uid": a.uid, "hotkey": a.hotkey, "incentive": a.incentive,
                       "distribution": a.distribution, "generated": a.generated,
                       "requests": a.requests, "paid": a.paid.get(), "paid_tao": a.paid.to_string(),
                       "error": a.error})
            })
            .collect();
        let channels: Vec<Value> = channels
            .iter()
            .map(|c| {
                json!({"id": c.id.get(), "payee": c.payee.to_ss58(), "deposit": c.deposit.get(),
                            "cumulative": c.cumulative.get(), "price": c.price.get()})
            })
            .collect();
        println!(
            "{}",
            json!({"netuid": args.netuid, "text": args.text, "miners": miners,
                   "spent": spent.get(), "spent_tao": spent.to_string(),
                   "fees": fees.get(), "fees_tao": fees.to_string(), "channels": channels})
        );
    } else {
        for a in &answers {
            println!(
                "miner uid {} {} (incentive {:.3})",
                a.uid,
                a.hotkey,
                f64::from(a.incentive) / 65_535.0
            );
            if let Some(distribution) = &a.distribution {
                let mut top: Vec<(&String, f64)> =
                    distribution.iter().filter_map(|(c, p)| Some((c, p.as_f64()?))).collect();
                top.sort_by(|x, y| y.1.total_cmp(&x.1));
                let shown: Vec<String> =
                    top.iter().take(5).map(|(c, p)| format!("{c:?} {p:.3}")).collect();
                println!("  next character: {}", shown.join(", "));
            }
            println!("  continuation: {:?}", format!("{}{}", args.text, a.generated));
            println!("  {} requests, paid {} TAO", a.requests, a.paid);
            if let Some(e) = &a.error {
                println!("  stopped: {e}");
            }
        }
        println!("spent {spent} TAO in vouchers; {fees} TAO in channel fees");
    }
    if answers.iter().all(|a| a.distribution.is_none()) {
        let why = answers.iter().find_map(|a| a.error.clone()).unwrap_or_default();
        return Err(Failure::network(format!("no miner answered: {why}")));
    }
    Ok(())
}

/// One miner: the distribution after the text, then `--generate` characters.
async fn ask(
    payer: &Payer,
    dendrite: &Dendrite,
    target: &Target,
    uid: usize,
    incentive: u16,
    args: &QueryArgs,
    timeout: Duration,
) -> MinerAnswer {
    let mut answer = MinerAnswer {
        uid,
        hotkey: target.hotkey.clone(),
        incentive,
        distribution: None,
        generated: String::new(),
        requests: 0,
        paid: Rao::ZERO,
        error: None,
    };
    let mut text = args.text.clone();
    // The first answer gives the distribution and the first character.
    for step in 0..args.generate.max(1) {
        let paid = match payer.query(dendrite, target, &text_query(&text, timeout)).await {
            Ok(paid) => paid,
            Err(e) => {
                answer.error = Some(e.to_string());
                break;
            }
        };
        answer.requests += 1;
        answer.paid = answer.paid.saturating_add(paid.paid);
        let Some(distribution) = prediction(&paid.reply) else {
            answer.error = Some(format!("status {}: {}", paid.reply.status, paid.reply.message));
            break;
        };
        let Some(next) = most_likely(&distribution) else { break };
        if step == 0 {
            answer.distribution = Some(distribution);
        }
        if step < args.generate {
            answer.generated.push_str(&next);
            text.push_str(&next);
        }
    }
    answer
}

fn pay_failure(e: PayError) -> Failure {
    match e {
        PayError::Chain(e) => Failure::chain(e.to_string()),
        PayError::BudgetExhausted { .. } | PayError::PriceTooHigh { .. } => {
            Failure::user(e.to_string())
        }
        other => Failure::network(other.to_string()),
    }
}
