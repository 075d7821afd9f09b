//! `tao delegate` (takes, the list of delegates) and `tao root` (TAO staked on the root
//! network, 1:1, earning a share of every subnet's dividends).

use super::{
    client::{parse_account, send, SendArgs},
    stake, BalanceArgs, Context, StakeAddArgs, StakeCommand, StakeRemoveArgs,
};
use crate::{exit::Failure, wallet::PasswordArgs};
use clap::{Args, Subcommand};
use serde_json::{json, Value};
use tao_primitives::{AlphaRao, Rao};
use tao_types::Call;

/// `tao delegate` subcommands.
#[derive(Debug, Subcommand)]
pub enum DelegateCommand {
    /// Every hotkey with stake: owner, take, root stake, nominators.
    List,
    /// Set the take (share of dividends kept before nominators are paid) of a hotkey the
    /// wallet's coldkey owns. Raising it is rate-limited; lowering is not.
    SetTake(SetTakeArgs),
}

/// Arguments of `tao delegate set-take`.
#[derive(Debug, Args)]
pub struct SetTakeArgs {
    /// The new take, a fraction (e.g. 0.09 for 9 %).
    #[arg(long)]
    take: f64,
    /// The hotkey (default: the wallet's hotkey).
    #[arg(long)]
    hotkey_ss58: Option<String>,
    #[command(flatten)]
    password: PasswordArgs,
    #[command(flatten)]
    send: SendArgs,
}

/// `tao root` subcommands.
#[derive(Debug, Subcommand)]
pub enum RootCommand {
    /// Stake TAO on the root network (1:1) to a hotkey.
    Stake(RootStakeArgs),
    /// Unstake TAO from the root network.
    Unstake(RootUnstakeArgs),
    /// The wallet's root stakes.
    List(BalanceArgs),
}

/// Arguments of `tao root stake`.
#[derive(Debug, Args)]
pub struct RootStakeArgs {
    /// TAO to stake.
    #[arg(long)]
    amount: Rao,
    /// The validator's hotkey address (default: the wallet's hotkey).
    #[arg(long)]
    hotkey_ss58: Option<String>,
    #[command(flatten)]
    password: PasswordArgs,
    #[command(flatten)]
    send: SendArgs,
}

/// Arguments of `tao root unstake`.
#[derive(Debug, Args)]
pub struct RootUnstakeArgs {
    /// TAO to unstake.
    #[arg(long, required_unless_present = "all")]
    amount: Option<Rao>,
    /// Unstake everything from this hotkey.
    #[arg(long, conflicts_with = "amount")]
    all: bool,
    /// The validator's hotkey address (default: the wallet's hotkey).
    #[arg(long)]
    hotkey_ss58: Option<String>,
    #[command(flatten)]
    password: PasswordArgs,
    #[command(flatten)]
    send: SendArgs,
}

fn percent(take: u64) -> String {
    format!("{:.2} %", take as f64 / f64::from(u16::MAX) * 100.0)
}

/// Runs a `tao delegate` command.
pub fn delegate(ctx: &Context<'_>, command: DelegateCommand) -> Result<(), Failure> {
    let client = ctx.client()?;
    match command {
        DelegateCommand::List => {
            let list = client.get("tao_delegates")?;
            if ctx.json {
                println!("{list}");
                return Ok(());
            }
            println!(
                "{:<48} {:<48} {:>8} {:>16} {:>10}",
                "hotkey", "owner", "take", "root TAO", "nominators"
            );
            for d in list.as_array().into_iter().flatten() {
                println!(
                    "{:<48} {:<48} {:>8} {:>16} {:>10}",
                    d["hotkey"].as_str().unwrap_or(""),
                    d["owner"].as_str().unwrap_or("-"),
                    percent(d["take"].as_u64().unwrap_or(0)),
                    Rao::new(d["root_stake"].as_u64().unwrap_or(0)).to_string(),
                    d["nominators"]
                );
            }
            Ok(())
        }
        DelegateCommand::SetTake(a) => {
            if !(0.0..=1.0).contains(&a.take) {
                return Err(Failure::user("--take is a fraction between 0 and 1 (e.g. 0.09)"));
            }
            let take = (a.take * f64::from(u16::MAX)).round() as u16;
            let hotkey = match &a.hotkey_ss58 {
                Some(h) => parse_account(h)?,
                None => ctx.hotkey()?.account(),
            };
            let list = client.get("tao_delegates")?;
            let current = list
                .as_array()
                .into_iter()
                .flatten()
                .find(|d| d["hotkey"] == json!(hotkey.to_ss58()))
                .and_then(|d| d["take"].as_u64());
            let call = match current {
                Some(now) if u64::from(take) == now => {
                    return Err(Failure::user(format!("the take is already {}", percent(now))))
                }
                Some(now) if u64::from(take) < now => Call::DecreaseTake { hotkey, take },
                _ => Call::IncreaseTake { hotkey, take },
            };
            let key = ctx.coldkey(&a.password)?;
            let summary =
                format!("Set the take of {} to {}", hotkey.to_ss58(), percent(u64::from(take)));
            let result = send(&client, &key, call, &summary, &a.send)?;
            ctx.report_tx("take set", &result);
            Ok(())
        }
    }
}

/// Runs a `tao root` command.
pub fn root(ctx: &Context<'_>, command: RootCommand) -> Result<(), Failure> {
    match command {
        RootCommand::Stake(a) => stake(
            ctx,
            StakeCommand::Add(StakeAddArgs {
                netuid: 0,
                amount: a.amount,
                hotkey_ss58: a.hotkey_ss58,
                max_price: None,
                password: a.password,
                send: a.send,
            }),
        ),
        RootCommand::Unstake(a) => stake(
            ctx,
            StakeCommand::Remove(StakeRemoveArgs {
                netuid: 0,
                amount: a.amount.map(|r| AlphaRao::new(r.get())),
                all: a.all,
                hotkey_ss58: a.hotkey_ss58,
                min_price: None,
                password: a.password,
                send: a.send,
            }),
        ),
        RootCommand::List(a) => {
            let address = match &a.ss58 {
                Some(s) => parse_account(s)?,
                None => ctx.coldkeypub()?,
            };
            let stakes = ctx.client()?.call("tao_stakesOf", vec![json!(address.to_ss58())])?;
            let root: Vec<Value> = stakes
                .as_array()
                .into_iter()
                .flatten()
                .filter(|s| s["netuid"] == json!(0))
                .map(|s| json!({"hotkey": s["hotkey"], "tao": s["alpha"]}))
                .collect();
            if ctx.json {
                println!("{}", json!({"address": address.to_ss58(), "root_stakes": root}));
            } else if root.is_empty() {
                println!("{}: no root stake", address.to_ss58());
            } else {
                for s in &root {
                    println!(
                        "{}  root stake to {}: {} TAO",
                        address.to_ss58(),
                        s["hotkey"].as_str().unwrap_or("?"),
                        Rao::new(s["tao"].as_u64().unwrap_or(0))
                    );
                }
            }
            Ok(())
        }
    }
}
