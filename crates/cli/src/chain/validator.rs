//! `tao validator`: chain validators by proof of stake. Register a consensus key as a
//! candidate, bond TAO to it (self-bond) or to another candidate (nominate), unbond, unjail,
//! change its address or commission, and list the sets and candidates with their bonds and
//! signed blocks.

use super::{
    client::{parse_account, send, Client, SendArgs, Sent},
    print_json,
    receipt::commission_text as percent,
    timing, Context, SendOnly,
};
use crate::{exit::Failure, wallet::PasswordArgs};
use clap::{Args, Subcommand};
use serde_json::Value;
use std::path::PathBuf;
use tao_primitives::{AccountId, Rao};
use tao_sdk::chain::api::{self, method, Event};
use tao_types::{Call, ConsensusSecret};

/// `tao validator` subcommands.
#[derive(Debug, Subcommand)]
pub enum ValidatorCommand {
    /// Register the wallet's coldkey as a validator candidate (its controller) with the
    /// consensus key of a validator key file (`tao-node --generate-validator-key FILE`).
    Register(RegisterArgs),
    /// Bond free TAO to your own candidate (its self-bond); it counts for the election and
    /// is locked until unbonded.
    Bond(BondArgs),
    /// Bond free TAO to another candidate (a nomination): you share its rewards after its
    /// commission, and its slashes.
    Nominate(NominateArgs),
    /// Start unbonding TAO from a candidate (default: your own); it is free again after the
    /// unbonding period.
    Unbond(UnbondArgs),
    /// The current and next validator sets, then every candidate: bonds, commission,
    /// signed and missed blocks this epoch, jail.
    List,
    /// One candidate with every bond on it.
    Show(ShowArgs),
    /// An account's TAO on its way out of bonds, and when each part is released.
    Unbonding(UnbondingArgs),
    /// Leave jail after the jail period (your own candidate).
    Unjail(SendOnly),
    /// Change your candidate's p2p address (at once) or commission (from the next epoch,
    /// once per epoch).
    Set(SetArgs),
}

/// Arguments of `tao validator register`.
#[derive(Debug, Args)]
pub struct RegisterArgs {
    /// The validator key file (0x-hex of a 32-byte ed25519 secret).
    #[arg(long, value_name = "FILE")]
    consensus_key: PathBuf,
    /// Where your validator node listens for consensus peers, `IP:PORT` (the default
    /// suits a network on one machine only; give the address other validators reach).
    #[arg(long, value_name = "IP:PORT", default_value = "127.0.0.1:30333")]
    p2p_address: String,
    /// Share of the rewards you keep before your nominators are paid, in percent.
    #[arg(long, value_name = "PERCENT", default_value = "0")]
    commission: String,
    #[command(flatten)]
    password: PasswordArgs,
    #[command(flatten)]
    send: SendArgs,
}

/// Arguments of `tao validator bond`.
#[derive(Debug, Args)]
pub struct BondArgs {
    /// TAO to bond.
    amount: Rao,
    #[command(flatten)]
    password: PasswordArgs,
    #[command(flatten)]
    send: SendArgs,
}

/// Arguments of `tao validator nominate`.
#[derive(Debug, Args)]
pub struct NominateArgs {
    /// The candidate's controller address.
    controller: String,
    #[command(flatten)]
    bond: BondArgs,
}

/// Arguments of `tao validator unbond`.
#[derive(Debug, Args)]
pub struct UnbondArgs {
    /// The candidate's controller address, or (alone) the TAO to unbond from your own
    /// candidate.
    #[arg(value_name = "CONTROLLER_OR_AMOUNT")]
    first: String,
    /// TAO to unbond, after a controller address.
    #[arg(value_name = "AMOUNT")]
    amount: Option<String>,
    #[command(flatten)]
    password: PasswordArgs,
    #[command(flatten)]
    send: SendArgs,
}

/// Arguments of `tao validator show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The candidate's controller address.
    controller: String,
}

/// Arguments of `tao validator unbonding`.
#[derive(Debug, Args)]
pub struct UnbondingArgs {
    /// The account (default: the wallet's coldkey).
    address: Option<String>,
}

/// Arguments of `tao validator set`.
#[derive(Debug, Args)]
pub struct SetArgs {
    /// A new p2p address, `IP:PORT`.
    #[arg(long, value_name = "IP:PORT")]
    p2p_address: Option<String>,
    /// A new commission, in percent (from the next epoch).
    #[arg(long, value_name = "PERCENT")]
    commission: Option<String>,
    #[command(flatten)]
    password: PasswordArgs,
    #[command(flatten)]
    send: SendArgs,
}

/// A commission in percent (at most two decimals) as parts per 10,000.
fn commission(text: &str) -> Result<u16, Failure> {
    let bad = || {
        Failure::user(format!(
            "{text:?} is not a commission: a percent from 0 to 100 with at most two decimals (e.g. 5 or 2.5)"
        ))
    };
    let text = text.trim().trim_end_matches('%').trim();
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if whole.is_empty() && fraction.is_empty() || fraction.len() > 2 {
        return Err(bad());
    }
    let digits = |s: &str| s.is_empty() || s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || !digits(fraction) {
        return Err(bad());
    }
    let whole: u32 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| bad())? };
    let fraction: u32 = format!("{fraction:0<2}").parse().map_err(|_| bad())?;
    let parts = whole.checked_mul(100).and_then(|w| w.checked_add(fraction)).ok_or_else(bad)?;
    if parts > 10_000 {
        return Err(bad());
    }
    u16::try_from(parts).map_err(|_| bad())
}

/// The chain's proof-of-stake state, or a clear refusal on a chain with fixed authorities.
fn proof_of_stake(client: &Client) -> Result<api::ProofOfStake, Failure> {
    client.request::<method::Validators>(())?.proof_of_stake.ok_or_else(|| {
        Failure::user(
            "this chain has fixed authorities: it elects no validators, so it takes no registrations or bonds",
        )
    })
}

/// Refuses an amount below the chain's minimum bond before anything is signed.
fn at_least_minimum(pos: &api::ProofOfStake, amount: Rao) -> Result<(), Failure> {
    let minimum = Rao::new(pos.params.min_nomination);
    if amount < minimum {
        return Err(Failure::user(format!(
            "{amount} TAO is below the minimum bond of {minimum} TAO on this chain"
        ))
        .named("BondTooLow"));
    }
    Ok(())
}

/// The candidate controlled by `controller`, or a refusal naming it.
fn candidate(client: &Client, controller: &AccountId) -> Result<api::ValidatorDetail, Failure> {
    client.request::<method::Validator>((api::Address(*controller),))?.ok_or_else(|| {
        Failure::user(format!("{controller} controls no validator candidate"))
            .named("NotValidator")
            .hint("see the candidates with `tao validator list`; register with `tao validator register`")
    })
}

/// After an unbond: when its TAO is free (block and about how long from now).
fn release_line(client: &Client, sent: &Sent) -> Option<(u64, String)> {
    let receipt = sent.receipt()?;
    let release_at = receipt.event_details.iter().find_map(|e| match e {
        Event::Unbonded { release_at, .. } => Some(*release_at),
        _ => None,
    })?;
    let left = release_at.saturating_sub(receipt.block);
    let wait = timing::wait_text(client, left).unwrap_or_else(|_| format!("{left} blocks"));
    Some((release_at, wait))
}

fn bond(
    ctx: &Context<'_>,
    client: &Client,
    validator: AccountId,
    amount: Rao,
    (password, args): (&PasswordArgs, &SendArgs),
) -> Result<(), Failure> {
    let pos = proof_of_stake(client)?;
    at_least_minimum(&pos, amount)?;
    let detail = candidate(client, &validator)?;
    let key = ctx.coldkey(password)?;
    let own = validator == key.account();
    let summary = format!(
        "Bond {amount} TAO to {} {validator} (total bond now {} TAO; election needs {} TAO)",
        if own { "your own candidate" } else { "candidate" },
        Rao::new(detail.candidate.total_bond),
        Rao::new(pos.params.min_validator_bond)
    );
    let call = Call::Bond { validator, amount };
    let sent = send(client, &key, call, &summary, args)?;
    ctx.report_tx(if own { "bonded" } else { "nominated" }, &sent);
    Ok(())
}

fn print_set(title: &str, set: Option<&api::ValidatorSet>) {
    let Some(set) = set else {
        println!("{title}: not elected yet");
        return;
    };
    let n = set.members.len();
    println!("{title} (epoch {}, {n} validator{}):", set.epoch, if n == 1 { "" } else { "s" });
    for m in &set.members {
        println!(
            "  {}  key {}  {}  bond {} TAO",
            m.controller,
            m.consensus_key,
            m.p2p_address,
            Rao::new(m.bond)
        );
    }
}

fn jail_text(c: &api::ValidatorCandidate) -> String {
    c.jailed_until.map_or_else(|| "no".to_owned(), |b| format!("until #{b}"))
}

fn print_candidate(c: &api::ValidatorCandidate) {
    let next = c.next_commission.map(|n| format!(" ({} from next epoch)", percent(n)));
    println!("candidate {}", c.controller);
    println!("  consensus key {}, p2p {}", c.consensus_key, c.p2p_address);
    println!("  commission {}{}", percent(c.commission), next.unwrap_or_default());
    println!(
        "  bond {} TAO: self {} TAO, {} nominators",
        Rao::new(c.total_bond),
        Rao::new(c.self_bond),
        c.nominators
    );
    println!(
        "  {} the current set; signed {} / missed {} blocks this epoch; jailed: {}; registered at block #{}",
        if c.in_current_set { "in" } else { "not in" },
        c.signed,
        c.missed,
        jail_text(c),
        c.registered_at
    );
}

/// Runs a `tao validator` command.
pub fn validator(ctx: &Context<'_>, command: ValidatorCommand) -> Result<(), Failure> {
    let client = ctx.client()?;
    match command {
        ValidatorCommand::Register(a) => {
            let commission = commission(&a.commission)?;
            let text = std::fs::read_to_string(&a.consensus_key).map_err(|e| {
                Failure::user(format!(
                    "cannot read the key file {}: {e}",
                    a.consensus_key.display()
                ))
            })?;
            let secret = ConsensusSecret::parse(&text).map_err(|e| {
                Failure::user(format!(
                    "{} is not a validator key file: {e}",
                    a.consensus_key.display()
                ))
                .hint("make one with `tao-node --generate-validator-key FILE`")
            })?;
            proof_of_stake(&client)?;
            let genesis = client.request::<method::GenesisHash>(())?;
            let key = ctx.coldkey(&a.password)?;
            let consensus_key = secret.public();
            let proof = secret.key_proof(&genesis.0, &key.account());
            let summary = format!(
                "Register {} as a validator candidate with consensus key {consensus_key}, p2p {}, commission {}",
                key.ss58(),
                a.p2p_address,
                percent(commission)
            );
            let call = Call::RegisterValidator {
                consensus_key,
                p2p_address: a.p2p_address,
                commission,
                proof,
            };
            let sent = send(&client, &key, call, &summary, &a.send)?;
            let extra = vec![
                ("consensus_key", Value::from(consensus_key.to_string())),
                ("controller", Value::from(key.ss58())),
            ];
            if !ctx.json {
                println!("consensus key {consensus_key}, controller {}", key.ss58());
            }
            ctx.report_tx_with("validator registered", &sent, extra);
            if !ctx.json && matches!(sent, Sent::Final(_)) {
                println!("  next: bond TAO to it with `tao validator bond AMOUNT`");
            }
            Ok(())
        }
        ValidatorCommand::Bond(a) => {
            let own = ctx.coldkeypub()?;
            bond(ctx, &client, own, a.amount, (&a.password, &a.send))
        }
        ValidatorCommand::Nominate(a) => {
            let validator = parse_account(&a.controller)?;
            bond(ctx, &client, validator, a.bond.amount, (&a.bond.password, &a.bond.send))
        }
        ValidatorCommand::Unbond(a) => {
            let (validator, amount) = match &a.amount {
                None => (ctx.coldkeypub()?, &a.first),
                Some(amount) => (parse_account(&a.first)?, amount),
            };
            let amount: Rao = amount
                .parse()
                .map_err(|e| Failure::user(format!("{amount:?} is not an amount of TAO: {e}")))?;
            let pos = proof_of_stake(&client)?;
            let detail = candidate(&client, &validator)?;
            let key = ctx.coldkey(&a.password)?;
            let bonded = detail
                .bonds
                .iter()
                .find(|b| b.account.0 == key.account())
                .map_or(Rao::ZERO, |b| Rao::new(b.amount));
            if amount > bonded {
                return Err(Failure::user(format!(
                    "{} has {bonded} TAO bonded to {validator}, less than {amount} TAO",
                    key.ss58()
                ))
                .named("NotEnoughBonded"));
            }
            let summary = format!(
                "Unbond {amount} TAO from {validator}: free again {} blocks after inclusion",
                pos.params.unbonding_period
            );
            let call = Call::Unbond { validator, amount };
            let sent = send(&client, &key, call, &summary, &a.send)?;
            let release = release_line(&client, &sent);
            let extra = release
                .as_ref()
                .map(|(at, _)| vec![("release_at", Value::from(*at))])
                .unwrap_or_default();
            ctx.report_tx_with("unbonding", &sent, extra);
            if let (false, Some((at, wait))) = (ctx.json, release) {
                println!("  {amount} TAO is released at block #{at}, {wait} from now");
            }
            Ok(())
        }
        ValidatorCommand::Unjail(a) => {
            let own = ctx.coldkeypub()?;
            let detail = candidate(&client, &own)?;
            let summary = match detail.candidate.jailed_until {
                Some(until) => format!("Unjail {own} (jailed until block #{until})"),
                None => format!("Unjail {own}"),
            };
            let key = ctx.coldkey(&a.password)?;
            let sent = send(&client, &key, Call::Unjail, &summary, &a.send)?;
            ctx.report_tx("unjailed", &sent);
            Ok(())
        }
        ValidatorCommand::Set(a) => {
            if a.p2p_address.is_none() && a.commission.is_none() {
                return Err(Failure::user("nothing to change: give --p2p-address or --commission"));
            }
            let commission = a.commission.as_deref().map(commission).transpose()?;
            let own = ctx.coldkeypub()?;
            candidate(&client, &own)?;
            let mut changes = Vec::new();
            if let Some(address) = &a.p2p_address {
                changes.push(format!("p2p address {address} (at once)"));
            }
            if let Some(c) = commission {
                changes.push(format!("commission {} (from the next epoch)", percent(c)));
            }
            let summary = format!("Set {}: {}", own, changes.join(", "));
            let key = ctx.coldkey(&a.password)?;
            let call = Call::SetValidatorInfo { p2p_address: a.p2p_address, commission };
            let sent = send(&client, &key, call, &summary, &a.send)?;
            ctx.report_tx("validator updated", &sent);
            Ok(())
        }
        ValidatorCommand::List => {
            let pos = proof_of_stake(&client)?;
            if ctx.json {
                print_json(&pos);
                return Ok(());
            }
            let p = &pos.params;
            println!(
                "epoch {} (blocks #{}–#{}, {} per epoch); at most {} in a set, election needs {} TAO, bonds from {} TAO, unbonding {} blocks, slash {}.{:04} %, jail {} blocks",
                pos.epoch,
                pos.epoch_first_block,
                pos.epoch_last_block,
                pos.epoch_length,
                p.max_validators,
                Rao::new(p.min_validator_bond),
                Rao::new(p.min_nomination),
                p.unbonding_period,
                p.slash_fraction / 10_000,
                p.slash_fraction % 10_000,
                p.jail_period
            );
            println!(
                "fee pot {} TAO ({} blocks credited this epoch); rewards paid {} TAO, slashed {} TAO",
                Rao::new(pos.fee_pot.0),
                pos.credited_blocks,
                Rao::new(pos.total_rewards.0),
                Rao::new(pos.total_slashed.0)
            );
            print_set("current set", pos.current_set.as_ref());
            print_set("next set", pos.next_set.as_ref());
            println!("candidates ({}):", pos.candidates.len());
            println!(
                "  {:<48} {:>16} {:>16} {:>5} {:>9} {:>7} {:>6} {:>10}  set",
                "controller", "bond TAO", "self TAO", "noms", "comm.", "signed", "missed", "jailed"
            );
            let mut candidates: Vec<&api::ValidatorCandidate> = pos.candidates.iter().collect();
            candidates.sort_by_key(|c| std::cmp::Reverse(c.total_bond));
            for c in candidates {
                println!(
                    "  {:<48} {:>16} {:>16} {:>5} {:>9} {:>7} {:>6} {:>10}  {}",
                    c.controller.to_string(),
                    Rao::new(c.total_bond).to_string(),
                    Rao::new(c.self_bond).to_string(),
                    c.nominators,
                    percent(c.commission),
                    c.signed,
                    c.missed,
                    jail_text(c),
                    if c.in_current_set { "yes" } else { "no" }
                );
            }
            Ok(())
        }
        ValidatorCommand::Show(a) => {
            let controller = parse_account(&a.controller)?;
            let detail = candidate(&client, &controller)?;
            if ctx.json {
                print_json(&detail);
                return Ok(());
            }
            print_candidate(&detail.candidate);
            for b in &detail.bonds {
                let whose = if b.account.0 == controller { " (self)" } else { "" };
                println!("  bond {} TAO from {}{whose}", Rao::new(b.amount), b.account);
            }
            Ok(())
        }
        ValidatorCommand::Unbonding(a) => {
            let account = ctx.account_or_own(a.address.as_ref())?;
            let chunks = client.request::<method::Unbonding>((api::Address(account),))?;
            if ctx.json {
                print_json(&chunks);
                return Ok(());
            }
            if chunks.is_empty() {
                println!("{account} has nothing unbonding");
            }
            let head = client.request::<method::ChainHead>(())?.number;
            for c in &chunks {
                let left = c.release_at.saturating_sub(head);
                let wait =
                    timing::wait_text(&client, left).unwrap_or_else(|_| format!("{left} blocks"));
                println!(
                    "{} TAO from {}: released at block #{} ({wait} from now)",
                    Rao::new(c.amount),
                    c.validator,
                    c.release_at
                );
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commissions_are_percents_with_two_decimals() {
        assert_eq!(commission("0").unwrap(), 0);
        assert_eq!(commission("5").unwrap(), 500);
        assert_eq!(commission("2.5").unwrap(), 250);
        assert_eq!(commission("12.34%").unwrap(), 1_234);
        assert_eq!(commission(".5").unwrap(), 50);
        assert_eq!(commission("100").unwrap(), 10_000);
        for bad in ["100.01", "1.234", "-1", "x", "", ".", "99999999999"] {
            assert!(commission(bad).is_err(), "{bad:?}");
        }
        assert_eq!(percent(1_234), "12.34 %");
        assert_eq!(percent(5), "0.05 %");
    }
}
