//! `tao gov`: propose privileged changes, vote with stake, follow the tallies live.

use super::{
    client::{parse_account, send, SendArgs},
    receipt::tally_text,
    Context,
};
use crate::{exit::Failure, wallet::PasswordArgs};
use clap::{Args, Subcommand};
use serde_json::Value;
use tao_primitives::{NetUid, Rao};
use tao_sdk::chain::api::{self, method};
use tao_types::{Call, GlobalParameter, Hyperparameter, PrivilegedCall, ProposalId, VoteChoice};

/// `tao gov` subcommands.
#[derive(Debug, Subcommand)]
pub enum GovCommand {
    /// Propose privileged changes; they take effect if TAO holders vote for them. Puts down
    /// the governance deposit (back unless vetoed).
    Propose(ProposeArgs),
    /// Vote yes, no, abstain or veto with your stake (its value in TAO). Your stake stays
    /// put until the vote ends; voting again replaces your vote.
    Vote(VoteArgs),
    /// Open and recent proposals with their live tallies.
    List,
    /// One proposal: its calls, tally, the bar it must clear, and its votes.
    Show(ShowArgs),
    /// Withdraw your own proposal while it is open (the deposit comes back).
    Cancel(CancelArgs),
    /// Every chain parameter a proposal may set, with its value now.
    Params,
}

/// Arguments of `tao gov propose`.
#[derive(Debug, Args)]
pub struct ProposeArgs {
    /// A title (at most 128 bytes).
    #[arg(long)]
    title: String,
    /// What and why (at most 4,096 bytes).
    #[arg(long, default_value = "")]
    description: String,
    /// Set a chain parameter: `NAME=VALUE` (e.g. `subnet_limit=64`; TAO amounts in TAO).
    /// Repeatable.
    #[arg(long = "set-global", value_name = "NAME=VALUE")]
    set_global: Vec<String>,
    /// Set a subnet hyperparameter as root: `NETUID:NAME=VALUE` (e.g. `1:tempo=100`).
    /// Repeatable.
    #[arg(long = "set-param", value_name = "NETUID:NAME=VALUE")]
    set_param: Vec<String>,
    /// Dissolve a subnet (its lock is refunded to its owner).
    #[arg(long, value_name = "NETUID")]
    dissolve: Vec<u16>,
    /// Hand the root key to this address.
    #[arg(long, value_name = "SS58", conflicts_with = "remove_sudo")]
    set_sudo: Option<String>,
    /// Remove the root key: governance becomes the only privileged path.
    #[arg(long)]
    remove_sudo: bool,
    #[command(flatten)]
    password: PasswordArgs,
    #[command(flatten)]
    send: SendArgs,
}

/// Arguments of `tao gov vote`.
#[derive(Debug, Args)]
pub struct VoteArgs {
    /// The proposal's number.
    id: u32,
    /// yes, no, abstain or veto.
    choice: String,
    /// Vote with the wallet's hotkey (a validator voting for its nominators, who follow it
    /// unless they vote themselves); it pays the fee.
    #[arg(long)]
    as_hotkey: bool,
    #[command(flatten)]
    password: PasswordArgs,
    #[command(flatten)]
    send: SendArgs,
}

/// Arguments of `tao gov show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The proposal's number.
    id: u32,
}

/// Arguments of `tao gov cancel`.
#[derive(Debug, Args)]
pub struct CancelArgs {
    /// The proposal's number.
    id: u32,
    #[command(flatten)]
    password: PasswordArgs,
    #[command(flatten)]
    send: SendArgs,
}

/// `NAME=VALUE`.
fn name_value(text: &str) -> Result<(&str, &str), Failure> {
    text.split_once('=')
        .map(|(n, v)| (n.trim(), v.trim()))
        .ok_or_else(|| Failure::user(format!("expected NAME=VALUE, not {text:?}")))
}

/// The privileged calls the flags ask for, in flag order by kind.
fn calls(a: &ProposeArgs) -> Result<Vec<PrivilegedCall>, Failure> {
    let mut calls = Vec::new();
    for text in &a.set_global {
        let (name, value) = name_value(text)?;
        let value = GlobalParameter::parse(name, value).map_err(Failure::user)?;
        calls.push(PrivilegedCall::SetGlobalParameter(value));
    }
    for text in &a.set_param {
        let (netuid, rest) = text.split_once(':').ok_or_else(|| {
            Failure::user(format!("expected NETUID:NAME=VALUE (e.g. 1:tempo=100), not {text:?}"))
        })?;
        let netuid: u16 = netuid
            .trim()
            .parse()
            .map_err(|_| Failure::user(format!("{netuid:?} is not a subnet number")))?;
        let (name, value) = name_value(rest)?;
        let value = Hyperparameter::parse(name, value).map_err(Failure::user)?;
        calls.push(PrivilegedCall::SetHyperparameter { netuid: NetUid::new(netuid), value });
    }
    for netuid in &a.dissolve {
        calls.push(PrivilegedCall::DissolveNetwork { netuid: NetUid::new(*netuid) });
    }
    if let Some(key) = &a.set_sudo {
        calls.push(PrivilegedCall::SetSudo { key: Some(parse_account(key)?) });
    }
    if a.remove_sudo {
        calls.push(PrivilegedCall::SetSudo { key: None });
    }
    if calls.is_empty() {
        return Err(Failure::user(
            "a proposal needs at least one change: --set-global, --set-param, --dissolve, --set-sudo or --remove-sudo",
        ));
    }
    if calls.len() > tao_types::MAX_PROPOSAL_CALLS {
        return Err(Failure::user(format!(
            "a proposal carries at most {} changes, not {}",
            tao_types::MAX_PROPOSAL_CALLS,
            calls.len()
        )));
    }
    Ok(calls)
}

/// A u16 proportion in percent.
fn percent(share: u16) -> String {
    format!("{:.1} %", f64::from(share) * 100.0 / 65_535.0)
}

/// A share of `total` in percent (0 for a zero total).
fn share_of(part: u64, total: u64) -> String {
    if total == 0 {
        return "0.0 %".into();
    }
    format!("{:.1} %", part as f64 * 100.0 / total as f64)
}

fn status_line(p: &api::Proposal, head: u64) -> String {
    match p.status.as_str() {
        "voting" => format!(
            "voting until block #{} ({} blocks left), {}",
            p.voting_ends,
            p.voting_ends.saturating_sub(head),
            if p.passing { "passing now" } else { "not passing now" }
        ),
        "passed" => format!("passed; enacted at block #{}", p.enact_at.unwrap_or_default()),
        "enacted" => format!("enacted at block #{}", p.enact_at.unwrap_or_default()),
        "rejected" => {
            format!("rejected: {}", p.reason.as_deref().unwrap_or("-").replace('_', " "))
        }
        "failed" => format!("not enacted: {}", p.reason.as_deref().unwrap_or("-")),
        other => other.to_owned(),
    }
}

fn print_proposal(p: &api::Proposal, params: &api::GovernanceParams, head: u64) {
    println!("proposal #{}: {}", p.id, p.title);
    if !p.description.is_empty() {
        println!("  {}", p.description);
    }
    println!("  proposer {}, {} track, submitted at block #{}", p.proposer, p.track, p.submitted);
    for (i, call) in p.calls.iter().enumerate() {
        println!("  call {i}: {call}");
    }
    println!("  {}", status_line(p, head));
    let t = &p.tally;
    let turnout =
        t.yes.0.saturating_add(t.no.0).saturating_add(t.abstain.0).saturating_add(t.veto.0);
    let decisive = t.yes.0.saturating_add(t.no.0).saturating_add(t.veto.0);
    let (quorum, threshold) = if p.track == "critical" {
        (params.critical_quorum, params.critical_threshold)
    } else {
        (params.quorum, params.threshold)
    };
    println!("  tally: {} ({} voters)", tally_text(t), p.voters);
    println!(
        "  turnout {} of all stake (quorum {}), yes {} of yes+no+veto (needs more than {}), veto {} of votes (rejects above {})",
        share_of(turnout, t.total.0),
        percent(quorum),
        share_of(t.yes.0, decisive),
        percent(threshold),
        share_of(t.veto.0, turnout),
        percent(params.veto_threshold)
    );
    if p.deposit > 0 {
        println!("  deposit held: {} TAO", Rao::new(p.deposit));
    }
}

/// Runs a `tao gov` command.
pub fn gov(ctx: &Context<'_>, command: GovCommand) -> Result<(), Failure> {
    let client = ctx.client()?;
    match command {
        GovCommand::Propose(a) => {
            let calls = calls(&a)?;
            let governance = client.request::<method::Governance>(())?;
            let described: Vec<String> = calls.iter().map(PrivilegedCall::describe).collect();
            let summary = format!(
                "Propose \"{}\" ({}), putting down {} TAO for {} blocks of voting",
                a.title,
                described.join("; "),
                Rao::new(governance.params.deposit),
                governance.params.voting_period
            );
            let call = Call::Propose { calls, title: a.title, description: a.description };
            let key = ctx.coldkey(&a.password)?;
            let sent = send(&client, &key, call, &summary, &a.send)?;
            ctx.report_tx("proposal submitted", &sent);
            Ok(())
        }
        GovCommand::Vote(a) => {
            let choice = VoteChoice::parse(&a.choice).map_err(Failure::user)?;
            let detail = client.request::<method::Proposal>((a.id,))?;
            if detail.proposal.status != "voting" {
                return Err(Failure::user(format!(
                    "proposal #{} is not open for votes ({})",
                    a.id,
                    status_line(&detail.proposal, detail.proposal.voting_ends)
                )));
            }
            let key = if a.as_hotkey { ctx.hotkey()? } else { ctx.coldkey(&a.password)? };
            let summary = format!(
                "Vote {} on proposal #{} \"{}\" as {} (its stake stays put until block #{})",
                choice.name(),
                a.id,
                detail.proposal.title,
                key.ss58(),
                detail.proposal.voting_ends
            );
            let call = Call::Vote { proposal: ProposalId(a.id), choice };
            let sent = send(&client, &key, call, &summary, &a.send)?;
            ctx.report_tx("vote cast", &sent);
            Ok(())
        }
        GovCommand::Cancel(a) => {
            let key = ctx.coldkey(&a.password)?;
            let summary = format!("Withdraw proposal #{}", a.id);
            let call = Call::CancelProposal { proposal: ProposalId(a.id) };
            let sent = send(&client, &key, call, &summary, &a.send)?;
            ctx.report_tx("proposal withdrawn", &sent);
            Ok(())
        }
        GovCommand::List => {
            let governance = client.request::<method::Governance>(())?;
            if ctx.json {
                println!("{}", serde_json::to_value(&governance).unwrap_or(Value::Null));
                return Ok(());
            }
            let p = &governance.params;
            println!(
                "governance at block #{}: root key {}; deposit {} TAO, {} blocks of voting, enacted {} blocks after passing; quorum {}, threshold {}, veto {} (critical: quorum {}, threshold {})",
                governance.block,
                governance.sudo.map_or_else(|| "none (governance only)".to_owned(), |k| k.to_string()),
                Rao::new(p.deposit),
                p.voting_period,
                p.enactment_delay,
                percent(p.quorum),
                percent(p.threshold),
                percent(p.veto_threshold),
                percent(p.critical_quorum),
                percent(p.critical_threshold)
            );
            if governance.proposals.is_empty() {
                println!("no proposals");
            }
            for proposal in &governance.proposals {
                println!(
                    "#{:<4} {:<40} {}  [{}]",
                    proposal.id,
                    proposal.title,
                    status_line(proposal, governance.block),
                    tally_text(&proposal.tally)
                );
            }
            Ok(())
        }
        GovCommand::Params => {
            let params = client.request::<method::GlobalParameters>(())?;
            if ctx.json {
                println!("{}", serde_json::to_value(&params).unwrap_or(Value::Null));
                return Ok(());
            }
            for p in &params {
                println!("{:<34} {}", p.name, p.value);
            }
            Ok(())
        }
        GovCommand::Show(a) => {
            let detail = client.request::<method::Proposal>((a.id,))?;
            if ctx.json {
                println!("{}", serde_json::to_value(&detail).unwrap_or(Value::Null));
                return Ok(());
            }
            let governance = client.request::<method::Governance>(())?;
            print_proposal(&detail.proposal, &governance.params, governance.block);
            for vote in &detail.votes {
                println!("  {} voted {}", vote.voter, vote.choice);
            }
            Ok(())
        }
    }
}
