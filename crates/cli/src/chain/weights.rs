//! `tao weights set|commit|reveal`: a validator's weights, directly or by commit-reveal.
//!
//! Where the subnet has commit-reveal on, `commit` sends only the hash of the weights (with
//! a random salt) and keeps what the reveal needs in the wallet's directory
//! (`<wallet>/commits/<hotkey>-<netuid>.json`, 0600); `reveal` sends them once the reveal
//! window (the commit's epoch plus the subnet's reveal period) has opened; `set` chooses:
//! directly where commit-reveal is off, else commit, wait for the window, reveal.

use super::{
    client::{send, send_when_allowed, try_call, why, Client, SendArgs, Sent},
    metagraph, netuid, timing, Context,
};
use crate::exit::Failure;
use clap::{Args, Subcommand};
use serde_json::{json, Value};
use std::{
    io::{IsTerminal, Write},
    path::PathBuf,
    time::{Duration, Instant},
};
use tao_sdk::chain::api::{Hyperparameters, Metagraph, Receipt};
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
    /// Wait out the weights rate limit (up to --timeout seconds) instead of failing.
    #[arg(long)]
    wait: bool,
    #[command(flatten)]
    send: SendArgs,
}

impl WeightsArgs {
    /// Whether to wait out, and which refusals pass with time.
    fn waits(&self) -> (bool, &'static [&'static str]) {
        (self.wait, &["SettingWeightsTooFast"])
    }
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
            let (client, key, m) = prepare(ctx, &a)?;
            let params = &m.hyperparameters;
            // What could never be accepted is named first (before a rate limit, say).
            check_weights(&m, &key, &a)?;
            if !params.commit_reveal_weights_enabled {
                let call = Call::SetWeights {
                    netuid: netuid(a.netuid),
                    uids: a.uids.clone(),
                    values: a.weights.clone(),
                    version_key: version(&a, params),
                };
                let summary = format!("Set weights of {} on subnet {}", key.ss58(), a.netuid);
                let result = send_when_allowed(&client, &key, &call, &summary, &a.send, a.waits())
                    .map_err(|f| too_fast(&client, &m, &key, f))?;
                ctx.report_tx("weights set", &result);
                return Ok(());
            }
            if a.send.dry_run {
                let result = commit(ctx, &client, &key, &a, &m)?;
                ctx.report_tx("weights commit", &result.0);
                return Ok(());
            }
            if !ctx.json {
                eprintln!("subnet {} uses commit-reveal: committing, then revealing", a.netuid);
            }
            let (committed, hash) = commit(ctx, &client, &key, &a, &m)?;
            ctx.report_progress("weights committed", &committed);
            let reveal = RevealArgs { netuid: a.netuid, wait: true, send: a.send.clone() };
            let revealed = reveal_pending(ctx, &client, &key, &reveal, Some(&hash))?;
            let mut extra = revealed.extra();
            extra.push(("commit", committed.to_json()));
            ctx.report_tx_with("weights revealed", &revealed.last, extra);
            Ok(())
        }
        WeightsCommand::Commit(a) => {
            let (client, key, m) = prepare(ctx, &a)?;
            if !m.hyperparameters.commit_reveal_weights_enabled {
                return Err(Failure::user(format!(
                    "subnet {} does not use commit-reveal",
                    a.netuid
                ))
                .hint("set the weights directly: tao weights set"));
            }
            check_weights(&m, &key, &a)?;
            let (result, _) = commit(ctx, &client, &key, &a, &m)?;
            ctx.report_tx(
                if a.send.dry_run { "weights commit" } else { "weights committed" },
                &result,
            );
            Ok(())
        }
        WeightsCommand::Reveal(a) => {
            let client = ctx.client()?;
            let key = ctx.hotkey()?;
            let result = reveal_pending(ctx, &client, &key, &a, None)?;
            let what = match (a.send.dry_run, result.revealed) {
                (true, _) => "weights reveal".to_owned(),
                (false, 1) => "weights revealed".to_owned(),
                (false, n) => format!("weights revealed ({n} commits; the last one)"),
            };
            ctx.report_tx_with(&what, &result.last, result.extra());
            Ok(())
        }
    }
}

fn prepare(ctx: &Context<'_>, a: &WeightsArgs) -> Result<(Client, Keypair, Metagraph), Failure> {
    if a.uids.len() != a.weights.len() {
        return Err(Failure::user(format!(
            "{} uids but {} weights",
            a.uids.len(),
            a.weights.len()
        )));
    }
    let client = ctx.client()?;
    let m = metagraph(&client, a.netuid)?;
    let key = ctx.hotkey()?;
    Ok((client, key, m))
}

fn version(a: &WeightsArgs, params: &Hyperparameters) -> u64 {
    a.version_key.unwrap_or(params.weights_version)
}

/// Refuses weights the chain would refuse at the reveal, as far as the metagraph shows (the
/// chain's own checks of `set_weights`, but the rate limit and the stake threshold).
fn check_weights(m: &Metagraph, key: &Keypair, a: &WeightsArgs) -> Result<(), Failure> {
    let n = m.hotkeys.len();
    let netuid = a.netuid;
    let Some(own) = m.hotkeys.iter().position(|h| h.0 == key.account()) else {
        return Err(Failure::user(format!(
            "hotkey {} is not registered on subnet {netuid}",
            key.ss58()
        ))
        .hint(format!("register it first: tao subnets register --netuid {netuid}")));
    };
    let params = &m.hyperparameters;
    let version_key = version(a, params);
    if params.weights_version != 0 && version_key < params.weights_version {
        return Err(Failure::user(format!(
            "version key {version_key} is below subnet {netuid}'s weights_version {}",
            params.weights_version
        )));
    }
    let mut seen = std::collections::BTreeSet::new();
    if let Some(twice) = a.uids.iter().find(|u| !seen.insert(**u)) {
        return Err(Failure::user(format!("UID {twice} is given twice")));
    }
    let invalid: Vec<String> =
        a.uids.iter().filter(|u| usize::from(**u) >= n).map(u16::to_string).collect();
    if !invalid.is_empty() {
        return Err(Failure::user(format!(
            "UID {} {} not a neuron of subnet {netuid}, which has {n} (UIDs 0 to {})",
            invalid.join(", "),
            if invalid.len() == 1 { "is" } else { "are" },
            n.saturating_sub(1)
        ))
        .hint("see the neurons with `tao subnets show --netuid N`; nothing was committed"));
    }
    let self_weight = a.uids.len() == 1 && a.uids.first().is_some_and(|u| usize::from(*u) == own);
    let is_owner = m.owner_hotkey.0 == key.account();
    if !self_weight && !is_owner && !m.validator_permit.get(own).copied().unwrap_or(false) {
        return Err(Failure::user(format!(
            "UID {own} ({}) has no validator permit on subnet {netuid}, so its weights could not be revealed",
            key.ss58()
        ))
        .hint(format!(
            "permits go at each epoch to the {} hotkeys with the most stake; stake more and wait for the next epoch",
            params.max_validators
        )));
    }
    let fewest = usize::from(params.min_allowed_weights).min(n);
    if !self_weight && a.uids.len() < fewest {
        return Err(Failure::user(format!(
            "{} weight(s) given; subnet {netuid} needs at least {fewest} (min_allowed_weights)",
            a.uids.len()
        )));
    }
    Ok(())
}

/// Commits (or dry-runs the commit); keeps the reveal data once the commit is final.
/// Returns the result and the commit's hash (hex).
fn commit(
    ctx: &Context<'_>,
    client: &Client,
    key: &Keypair,
    a: &WeightsArgs,
    m: &Metagraph,
) -> Result<(Sent, String), Failure> {
    let params = &m.hyperparameters;
    if a.send.no_wait {
        return Err(Failure::user("--no-wait cannot be used with commits")
            .hint("the reveal data is kept once the commit is final, so the CLI waits for it"));
    }
    let version_key = version(a, params);
    let (salt, hash) =
        tao_sdk::chain::weights_commitment(key, netuid(a.netuid), &a.uids, &a.weights, version_key)
            .map_err(Failure::user)?;
    let commit_hash = tao_primitives::hex::encode(&hash);
    let call = Call::CommitWeights { netuid: netuid(a.netuid), commit_hash: hash };
    let summary = format!("Commit weights of {} on subnet {}", key.ss58(), a.netuid);
    let result = send_when_allowed(client, key, &call, &summary, &a.send, a.waits())
        .map_err(|f| too_fast(client, m, key, f))?;
    let Sent::Final(receipt) = &result else { return Ok((result, commit_hash)) };
    let path = pending_path(ctx, key, a.netuid);
    let mut pending = load(&path)?;
    pending.push(Pending {
        commit_hash: commit_hash.clone(),
        uids: a.uids.clone(),
        values: a.weights.clone(),
        salt,
        version_key,
        block: receipt.block,
    });
    store(&path, &pending)?;
    if !ctx.json {
        let opens = window_text(client, a.netuid, receipt.block)?;
        eprintln!(
            "the reveal data is in {}; reveal after {} epoch(s){opens}, with `tao weights reveal --netuid {} --wait`",
            path.display(),
            params.commit_reveal_period,
            a.netuid
        );
    }
    Ok((result, commit_hash))
}

/// A refusal for setting weights too soon, with the numbers: the last update, the limit, and
/// the blocks (and time) left; any other failure as it is.
fn too_fast(client: &Client, m: &Metagraph, key: &Keypair, failure: Failure) -> Failure {
    if failure.name() != Some("SettingWeightsTooFast") {
        return failure;
    }
    let Some(uid) = m.hotkeys.iter().position(|h| h.0 == key.account()) else { return failure };
    let last = m.last_update.get(uid).copied().unwrap_or(0);
    let limit = m.hyperparameters.weights_rate_limit;
    let next = last + limit;
    let left = next.saturating_sub(m.block).max(1);
    let wait = timing::wait_text(client, left).unwrap_or_else(|_| format!("{left} blocks"));
    failure.reworded(format!(
        "UID {uid} last set weights in block #{last}; subnet {} allows one update every {limit} blocks, so the next from block #{next}: {wait} from now (head #{}); nothing was submitted",
        m.netuid, m.block
    ))
    .hint("run the same command again then, or now with --wait")
}

/// What a commit's reveal would do now.
enum RevealState {
    /// It would succeed (the dry run's receipt).
    Ready(Box<Receipt>),
    /// Its window has not opened.
    Early,
    /// The chain no longer holds it (expired, or dropped when a later one was revealed).
    Gone(String),
    /// Its window is open but the reveal would fail: why.
    Failing(String),
}

/// What [`reveal_pending`] did.
struct Revealed {
    /// The last reveal (or the dry run of the first revealable commit).
    last: Sent,
    /// How many commits were revealed.
    revealed: usize,
    /// Blocks of the commits still waiting for their window.
    waiting: Vec<u64>,
    /// Blocks of the commits that would fail now, and why.
    failing: Vec<(u64, String)>,
}

impl Revealed {
    /// The members `--json` adds to the last receipt.
    fn extra(&self) -> Vec<(&'static str, Value)> {
        let failing: Vec<Value> =
            self.failing.iter().map(|(block, why)| json!({"block": block, "error": why})).collect();
        vec![
            ("revealed", json!(self.revealed)),
            ("waiting", json!(self.waiting)),
            ("failing", Value::Array(failing)),
        ]
    }
}

fn reveal_state(client: &Client, key: &Keypair, call: Call) -> Result<RevealState, Failure> {
    let receipt = try_call(client, key, call)?;
    if receipt.succeeded() {
        return Ok(RevealState::Ready(Box::new(receipt)));
    }
    Ok(match receipt.error.as_ref().map(|e| e.name.as_str()) {
        Some("RevealTooEarly") => RevealState::Early,
        Some(
            name @ ("ExpiredWeightCommit"
            | "NoWeightsCommitFound"
            | "InvalidRevealCommitHashNotMatch"),
        ) => RevealState::Gone(name.to_owned()),
        _ => RevealState::Failing(why(&receipt)),
    })
}

/// Reveals every pending commit whose window is open, oldest first, and drops those the chain
/// no longer holds. With `--wait`, waits (up to `--timeout`) for the windows still to open:
/// of `target` only if given (the commit `weights set` just made), else of every commit.
fn reveal_pending(
    ctx: &Context<'_>,
    client: &Client,
    key: &Keypair,
    a: &RevealArgs,
    target: Option<&str>,
) -> Result<Revealed, Failure> {
    let path = pending_path(ctx, key, a.netuid);
    let started = Instant::now();
    let show = std::io::stderr().is_terminal() && !ctx.json;
    let mut last = None;
    let mut revealed = 0;
    loop {
        let mut pending = load(&path)?;
        let (mut waiting, mut failing) = (Vec::new(), Vec::new());
        let mut index = 0;
        while let Some(p) = pending.get(index).cloned() {
            let call = Call::RevealWeights {
                netuid: netuid(a.netuid),
                uids: p.uids.clone(),
                values: p.values.clone(),
                salt: p.salt.clone(),
                version_key: p.version_key,
            };
            match reveal_state(client, key, call.clone())? {
                RevealState::Ready(receipt) if a.send.dry_run => {
                    return Ok(Revealed {
                        last: Sent::DryRun(*receipt),
                        revealed: 0,
                        waiting,
                        failing,
                    });
                }
                RevealState::Ready(_) => {
                    let summary =
                        format!("Reveal weights of {} on subnet {}", key.ss58(), a.netuid);
                    let result = send(client, key, call, &summary, &a.send)?;
                    if show {
                        eprint!("\r\x1b[2K");
                    }
                    // The chain drops the older commits it still held along with this one.
                    for older in pending.drain(..index) {
                        warn(&format!(
                            "the commit in block #{} was dropped by the chain when a later one was revealed",
                            older.block
                        ));
                    }
                    pending.remove(0);
                    store(&path, &pending)?;
                    index = 0;
                    revealed += 1;
                    if target == Some(p.commit_hash.as_str()) {
                        return Ok(Revealed { last: result, revealed, waiting, failing });
                    }
                    if let Some(previous) = last.replace(result) {
                        ctx.report_progress("weights revealed", &previous);
                    }
                }
                RevealState::Early => {
                    waiting.push(p.block);
                    index += 1;
                }
                RevealState::Gone(name) => {
                    warn(&format!(
                        "the commit in block #{} can no longer be revealed ({name}); dropped",
                        p.block
                    ));
                    pending.remove(index);
                    store(&path, &pending)?;
                }
                RevealState::Failing(why) => {
                    if target == Some(p.commit_hash.as_str()) {
                        return Err(Failure::chain(format!(
                            "the reveal of the commit in block #{} would fail: {why}",
                            p.block
                        )));
                    }
                    failing.push((p.block, why));
                    index += 1;
                }
            }
        }
        let target_waits = target.is_some_and(|t| pending.iter().any(|p| p.commit_hash == t));
        let keep_waiting = match target {
            Some(_) => target_waits,
            None => a.wait && !waiting.is_empty(),
        };
        if !keep_waiting {
            return finish(ctx, client, a, last, revealed, waiting, failing);
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
            eprint!("\rwaiting for the reveal window… {:.0}s", started.elapsed().as_secs_f32());
            let _ = std::io::stderr().flush();
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// `: it opens at block #O, in N blocks (~t)` for the commit made in block `commit`.
fn window_text(client: &Client, netuid: u16, commit: u64) -> Result<String, Failure> {
    let m = metagraph(client, netuid)?;
    let Some((open, close)) = timing::reveal_window(&m, commit) else { return Ok(String::new()) };
    let wait = timing::wait_text(client, open.saturating_sub(m.block).max(1))?;
    Ok(format!(": it opens at block #{open} and closes at #{close} (head #{}), in {wait}", m.block))
}

/// A warning on stderr (also under `--json`, whose document is on stdout).
fn warn(text: &str) {
    eprintln!("warning: {text}");
}

/// The outcome of a reveal run that stopped waiting: what was revealed and what is left, or
/// why nothing could be.
fn finish(
    ctx: &Context<'_>,
    client: &Client,
    a: &RevealArgs,
    last: Option<Sent>,
    revealed: usize,
    waiting: Vec<u64>,
    failing: Vec<(u64, String)>,
) -> Result<Revealed, Failure> {
    let blocks = |list: &[u64]| list.iter().map(|b| format!("#{b}")).collect::<Vec<_>>().join(", ");
    let Some(last) = last else {
        if let Some((block, why)) = failing.first() {
            return Err(Failure::chain(format!(
                "the reveal of the commit in block #{block} would fail: {why}"
            ))
            .hint("the commit expires by itself after its window; nothing was sent"));
        }
        if let Some(first) = waiting.first() {
            let opens = window_text(client, a.netuid, *first)?;
            return Err(Failure::chain(format!(
                "the reveal window of the commit(s) in block {} has not opened yet{opens}",
                blocks(&waiting)
            ))
            .hint(format!("wait for it: tao weights reveal --netuid {} --wait", a.netuid)));
        }
        return Err(Failure::user(format!(
            "no committed weights to reveal on subnet {}",
            a.netuid
        ))
        .hint("commit first: tao weights commit (or let tao weights set do both)"));
    };
    if !ctx.json {
        if !waiting.is_empty() {
            eprintln!(
                "note: the commit(s) in block {} wait for their window; reveal them later with `tao weights reveal --netuid {} --wait`",
                blocks(&waiting),
                a.netuid
            );
        }
        for (block, why) in &failing {
            eprintln!("warning: the reveal of the commit in block #{block} would fail: {why}");
        }
    }
    Ok(Revealed { last, revealed, waiting, failing })
}
