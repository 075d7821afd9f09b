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
use tao_sdk::chain::api::{self, method};
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

fn percent(take: u16) -> String {
    format!("{:.2} %", f64::from(take) / f64::from(u16::MAX) * 100.0)
}

/// Runs a `tao delegate` command.
pub fn delegate(ctx: &Context<'_>, command: DelegateCommand) -> Result<(), Failure> {
    let client = ctx.client()?;
    match command {
        DelegateCommand::List => {
            let list = client.request::<method::Delegates>(())?;
            if ctx.json {
                println!("{}", serde_json::to_value(&list).unwrap_or(Value::Null));
                return Ok(());
            }
            println!(
                "{:<48} {:<48} {:>8} {:>16} {:>10}",
                "hotkey", "owner", "take", "root TAO", "nominators"
            );
            for d in &list {
                println!(
                    "{:<48} {:<48} {:>8} {:>16} {:>10}",
                    d.hotkey.to_string(),
                    d.owner.map_or_else(|| "-".to_owned(), |o| o.to_string()),
                    percent(d.take),
                    Rao::new(d.root_stake).to_string(),
                    d.nominators
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
            let list = client.request::<method::Delegates>(())?;
            let current = list.iter().find(|d| d.hotkey.0 == hotkey).map(|d| d.take);
            let call = match current {
                Some(now) if take == now => {
                    return Err(Failure::user(format!("the take is already {}", percent(now))))
                }
                Some(now) if take < now => Call::DecreaseTake { hotkey, take },
                _ => Call::IncreaseTake { hotkey, take },
            };
            let key = ctx.coldkey(&a.password)?;
            let summary = format!("Set the take of {} to {}", hotkey.to_ss58(), percent(take));
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
            let address = ctx.account_or_own(a.ss58.as_ref())?;
            let stakes = ctx.client()?.request::<method::StakesOf>((api::Address(address),))?;
            let root: Vec<_> = stakes.iter().filter(|s| s.netuid == 0).collect();
            if ctx.json {
                let root: Vec<Value> =
                    root.iter().map(|s| json!({"hotkey": s.hotkey, "tao": s.alpha})).collect();
                println!("{}", json!({"address": address.to_ss58(), "root_stakes": root}));
            } else if root.is_empty() {
                println!("{}: no root stake", address.to_ss58());
            } else {
                for s in &root {
                    println!(
                        "{}  root stake to {}: {} TAO",
                        address.to_ss58(),
                        s.hotkey,
                        Rao::new(s.alpha)
                    );
                }
            }
            Ok(())
        }
    }
}
