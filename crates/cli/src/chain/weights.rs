//! `tao weights set|commit|reveal`: a validator's weights, directly or by commit-reveal.
//!
//! Where the subnet has commit-reveal on, `commit` sends only the hash of the weights (with
//! a random salt) and keeps what the reveal needs in the wallet's directory
//! (`<wallet>/commits/<hotkey>-<netuid>.json`, 0600); `reveal` sends them once the reveal
//! window (the commit's epoch plus the subnet's reveal period) has opened; `set` chooses:
//! directly where commit-reveal is off, else commit, wait for the window, reveal.

use super::{
    client::{send, Client, SendArgs, Sent},
    metagraph, netuid, Context,
};
use crate::exit::Failure;
use clap::{Args, Subcommand};
use serde_json::{json, Value};
use std::{
    io::{IsTerminal, Write},
    path::PathBuf,
    time::{Duration, Instant},
};
use tao_sdk::chain::api::Hyperparameters;
use tao_types::Call;
use tao_wallet::Keypair;

/// `tao weights` subcommands.
#[derive(Debug, Subcommand)]
pub enum WeightsCommand {
    /// Set the wallet hotkey's weights: directly, or by commit-reveal where the subnet uses
    /// it (commit, wait for the reveal window, reveal).
    Set(WeightsArgs),
    /// Commit to weights (their hash only); reveal them later with `tao weights reveal`.
    Commit(WeightsArgs),
    /// Reveal weights committed with `tao weights commit`.
    Reveal(RevealArgs),
}

/// Arguments of `tao weights set|commit`.
#[derive(Debug, Args)]
pub struct WeightsArgs {
    /// The subnet.
    #[arg(long)]
    netuid: u16,
    /// Target UIDs, comma-separated.
    #[arg(long, value_delimiter = ',', required = true)]
    uids: Vec<u16>,
    /// Weights, comma-separated, any scale (normalized on chain).
    #[arg(long, value_delimiter = ',', required = true)]
    weights: Vec<u16>,
    /// The weights version key (default: the subnet's `weights_version`).
    #[arg(long)]
    version_key: Option<u64>,
    #[command(flatten)]
    send: SendArgs,
}

/// Arguments of `tao weights reveal`.
#[derive(Debug, Args)]
pub struct RevealArgs {
    /// The subnet.
    #[arg(long)]
    netuid: u16,
    /// Wait for the reveal window (up to --timeout seconds) instead of failing when early.
    #[arg(long)]
    wait: bool,
    #[command(flatten)]
    send: SendArgs,
}

/// What a reveal needs, kept from the commit.
#[derive(Debug, Clone, PartialEq)]
struct Pending {
    commit_hash: String,
    uids: Vec<u16>,
    values: Vec<u16>,
    salt: Vec<u16>,
    version_key: u64,
    block: u64,
}

impl Pending {
    fn to_json(&self) -> Value {
        json!({"commit_hash": self.commit_hash, "uids": self.uids, "values": self.values,
               "salt": self.salt, "version_key": self.version_key, "block": self.block})
    }

    fn from_json(v: &Value) -> Option<Self> {
        let list = |key: &str| -> Option<Vec<u16>> {
            v.get(key)?.as_array()?.iter().map(|x| u16::try_from(x.as_u64()?).ok()).collect()
        };
        Some(Self {
            commit_hash: v.get("commit_hash")?.as_str()?.to_owned(),
            uids: list("uids")?,
            values: list("values")?,
            salt: list("salt")?,
            version_key: v.get("version_key")?.as_u64()?,
            block: v.get("block")?.as_u64()?,
        })
    }
}

/// The file of `hotkey`'s pending commits on `netuid`.
fn pending_path(ctx: &Context<'_>, hotkey: &Keypair, netuid: u16) -> PathBuf {
    let wallet_dir = ctx.wallet.coldkeypub_path().parent().map(PathBuf::from).unwrap_or_default();
    wallet_dir.join("commits").join(format!("{}-{netuid}.json", hotkey.ss58()))
}

fn load(path: &PathBuf) -> Result<Vec<Pending>, Failure> {
    match std::fs::read(path) {
        Ok(bytes) => {
            let v: Value = serde_json::from_slice(&bytes)
                .map_err(|e| Failure::user(format!("{} is damaged: {e}", path.display())))?;
            Ok(v.as_array().into_iter().flatten().filter_map(Pending::from_json).collect())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(Failure::user(format!("cannot read {}: {e}", path.display()))),
    }
}

fn store(path: &PathBuf, pending: &[Pending]) -> Result<(), Failure> {
    let fail = |e: std::io::Error| Failure::user(format!("cannot write {}: {e}", path.display()));
    if pending.is_empty() {
        return match std::fs::remove_file(path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(fail(e)),
            _ => Ok(()),
        };
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    let text = Value::Array(pending.iter().map(Pending::to_json).collect()).to_string();
    let tmp = path.with_extension("tmp");
    {
        use std::os::unix::fs::OpenOptionsExt;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(fail)?;
        file.write_all(text.as_bytes()).map_err(fail)?;
    }
    std::fs::rename(&tmp, path).map_err(fail)
}

/// Runs a `tao weights` command.
pub fn weights(ctx: &Context<'_>, command: WeightsCommand) -> Result<(), Failure> {
    match command {
        WeightsCommand::Set(a) => {
            let (client, key, params) = prepare(ctx, &a)?;
            if !params.commit_reveal_weights_enabled {
                let call = Call::SetWeights {
                    netuid: netuid(a.netuid),
                    uids: a.uids.clone(),
                    values: a.weights.clone(),
                    version_key: version(&a, &params),
                };
                let summary = format!("Set weights of {} on subnet {}", key.ss58(), a.netuid);
                let result = send(&client, &key, call, &summary, &a.send)?;
                ctx.report_tx("weights set", &result);
                return Ok(());
            }
            if a.send.dry_run {
                let result = commit(ctx, &client, &key, &a, &params)?;
                ctx.report_tx("weights commit", &result);
                return Ok(());
            }
            if !ctx.json {
                eprintln!("subnet {} uses commit-reveal: committing, then revealing", a.netuid);
            }
            let committed = commit(ctx, &client, &key, &a, &params)?;
            ctx.report_progress("weights committed", &committed);
            let reveal = RevealArgs { netuid: a.netuid, wait: true, send: a.send.clone() };
            let revealed = reveal_pending(ctx, &client, &key, &reveal)?;
            ctx.report_tx_with(
                "weights revealed",
                &revealed,
                vec![("commit", committed.to_json())],
            );
            Ok(())
        }
        WeightsCommand::Commit(a) => {
            let (client, key, params) = prepare(ctx, &a)?;
            if !params.commit_reveal_weights_enabled {
                return Err(Failure::user(format!(
                    "subnet {} does not use commit-reveal",
                    a.netuid
                ))
                .hint("set the weights directly: tao weights set"));
            }
            let result = commit(ctx, &client, &key, &a, &params)?;
            ctx.report_tx(
                if a.send.dry_run { "weights commit" } else { "weights committed" },
                &result,
            );
            Ok(())
        }
        WeightsCommand::Reveal(a) => {
            let client = ctx.client()?;
            let key = ctx.hotkey()?;
            let result = reveal_pending(ctx, &client, &key, &a)?;
            ctx.report_tx(
                if a.send.dry_run { "weights reveal" } else { "weights revealed" },
                &result,
            );
            Ok(())
        }
    }
}

fn prepare(
    ctx: &Context<'_>,
    a: &WeightsArgs,
) -> Result<(Client, Keypair, Hyperparameters), Failure> {
    if a.uids.len() != a.weights.len() {
        return Err(Failure::user(format!(
            "{} uids but {} weights",
            a.uids.len(),
            a.weights.len()
        )));
    }
    let client = ctx.client()?;
    let params = metagraph(&client, a.netuid)?.hyperparameters;
    let key = ctx.hotkey()?;
    Ok((client, key, params))
}

fn version(a: &WeightsArgs, params: &Hyperparameters) -> u64 {
    a.version_key.unwrap_or(params.weights_version)
}

/// Commits (or dry-runs the commit); keeps the reveal data once the commit is final.
fn commit(
    ctx: &Context<'_>,
    client: &Client,
    key: &Keypair,
    a: &WeightsArgs,
    params: &Hyperparameters,
) -> Result<Sent, Failure> {
    if a.send.no_wait {
        return Err(Failure::user("--no-wait cannot be used with commits")
            .hint("the reveal data is kept once the commit is final, so the CLI waits for it"));
    }
    let version_key = version(a, params);
    let (salt, hash) =
        tao_sdk::chain::weights_commitment(key, netuid(a.netuid), &a.uids, &a.weights, version_key)
            .map_err(Failure::user)?;
    let call = Call::CommitWeights { netuid: netuid(a.netuid), commit_hash: hash };
    let summary = format!("Commit weights of {} on subnet {}", key.ss58(), a.netuid);
    let result = send(client, key, call, &summary, &a.send)?;
    let Sent::Final(receipt) = &result else { return Ok(result) };
    let path = pending_path(ctx, key, a.netuid);
    let mut pending = load(&path)?;
    pending.push(Pending {
        commit_hash: tao_primitives::hex::encode(&hash),
        uids: a.uids.clone(),
        values: a.weights.clone(),
        salt,
        version_key,
        block: receipt.block,
    });
    store(&path, &pending)?;
    if !ctx.json {
        eprintln!(
            "the reveal data is in {}; reveal after {} epoch(s) with `tao weights reveal --netuid {} --wait`",
            path.display(),
            params.commit_reveal_period,
            a.netuid
        );
    }
    Ok(result)
}

/// Reveals the oldest pending commit (waiting for its window with `--wait`); returns the
/// receipt (or the dry run).
fn reveal_pending(
    ctx: &Context<'_>,
    client: &Client,
    key: &Keypair,
    a: &RevealArgs,
) -> Result<Sent, Failure> {
    let path = pending_path(ctx, key, a.netuid);
    let mut pending = load(&path)?;
    let started = Instant::now();
    let show = std::io::stderr().is_terminal() && !ctx.json;
    while let Some(p) = pending.first().cloned() {
        let call = Call::RevealWeights {
            netuid: netuid(a.netuid),
            uids: p.uids.clone(),
            values: p.values.clone(),
            salt: p.salt.clone(),
            version_key: p.version_key,
        };
        let dry = SendArgs { dry_run: true, ..a.send.clone() };
        let tried = send(client, key, call.clone(), "", &dry)?;
        let Some(receipt) = tried.receipt() else { return Ok(tried) };
        let name = receipt.error.as_ref().map(|e| e.name.as_str());
        match (receipt.succeeded(), name) {
            (true, _) => {
                if a.send.dry_run {
                    return Ok(tried);
                }
                let summary = format!("Reveal weights of {} on subnet {}", key.ss58(), a.netuid);
                let result = send(client, key, call, &summary, &a.send)?;
                pending.remove(0);
                store(&path, &pending)?;
                if show {
                    eprint!("\r\x1b[2K");
                }
                return Ok(result);
            }
            (_, Some("RevealTooEarly")) => {
                if !a.wait {
                    return Err(Failure::chain(format!(
                        "the reveal window of the commit in block #{} has not opened yet",
                        p.block
                    ))
                    .hint(format!(
                        "wait for it: tao weights reveal --netuid {} --wait",
                        a.netuid
                    )));
                }
                if started.elapsed() > Duration::from_secs(a.send.timeout) {
                    return Err(Failure::network(format!(
                        "the reveal window did not open within {} s; the weights are committed",
                        a.send.timeout
                    ))
                    .hint(format!(
                        "reveal later: tao weights reveal --netuid {} --wait (or raise --timeout)",
                        a.netuid
                    )));
                }
                if show {
                    eprint!(
                        "\rwaiting for the reveal window… {:.0}s",
                        started.elapsed().as_secs_f32()
                    );
                    let _ = std::io::stderr().flush();
                }
                std::thread::sleep(Duration::from_millis(250));
            }
            (_, Some(name @ ("ExpiredWeightCommit" | "NoWeightsCommitFound"))) => {
                eprintln!(
                    "warning: the commit in block #{} can no longer be revealed ({name}); dropped",
                    p.block
                );
                pending.remove(0);
                store(&path, &pending)?;
            }
            _ => {
                let why = receipt.error.as_ref().map_or("?", |e| &e.message);
                return Err(Failure::chain(format!("the reveal would fail: {why}")));
            }
        }
    }
    Err(Failure::user(format!("no committed weights to reveal on subnet {}", a.netuid))
        .hint("commit first: tao weights commit (or let tao weights set do both)"))
}
