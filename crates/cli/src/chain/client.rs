//! Talking to a node: which endpoint, JSON-RPC calls, and submitting signed transactions.

use crate::exit::Failure;
use clap::Args;
use serde_json::Value;
use std::{
    io::{IsTerminal, Write},
    time::Duration,
};
use tao_primitives::AccountId;
use tao_sdk::chain::{
    api::{self, method, Method, Receipt, TransactionStatus, H256},
    ChainClient, ChainError, Prepared,
};
use tao_types::{Call, Hash};
use tao_wallet::Keypair;

/// The local development node's endpoint.
pub const LOCAL: &str = "http://127.0.0.1:9944";

/// Which node to talk to. Precedence: `--endpoint`, then `--network`, then `TAO_ENDPOINT`,
/// then the config file's `endpoint` (`$TAO_CONFIG`, default `~/.tao/config.json`), then
/// `local`.
#[derive(Debug, Args, Clone)]
pub struct EndpointArgs {
    /// The node's JSON-RPC URL: http://127.0.0.1:9944, ws://127.0.0.1:9944 or 127.0.0.1:9944
    /// [env: TAO_ENDPOINT].
    #[arg(long, global = true, help_heading = "Global options")]
    endpoint: Option<String>,
    /// A named network; `local` is 127.0.0.1:9944.
    #[arg(long, global = true, help_heading = "Global options")]
    network: Option<String>,
}

/// The config file: `$TAO_CONFIG`, else `~/.tao/config.json`.
fn config_path() -> Option<std::path::PathBuf> {
    if let Some(path) = std::env::var_os("TAO_CONFIG").filter(|p| !p.is_empty()) {
        return Some(path.into());
    }
    std::env::var_os("HOME").map(|home| std::path::Path::new(&home).join(".tao/config.json"))
}

fn network_url(name: &str) -> Result<String, Failure> {
    match name {
        "local" => Ok(LOCAL.to_owned()),
        other => Err(Failure::user(format!("unknown network {other:?}"))
            .hint("the built-in network is `local`; give any node with --endpoint URL")),
    }
}

/// The keys a config file may have.
const CONFIG_KEYS: [&str; 2] = ["endpoint", "network"];

/// `text` as an HTTP URL (`ws://`, `wss://` and a bare `host:port` accepted); `origin` says
/// where it came from.
fn endpoint_url(text: &str, origin: &str) -> Result<String, Failure> {
    tao_sdk::chain::http_url(text).map_err(|e| {
        Failure::user(format!("{origin}: {e}")).hint(
            "an endpoint looks like http://127.0.0.1:9944, ws://127.0.0.1:9944 or 127.0.0.1:9944",
        )
    })
}

/// The endpoint a config file names, if any; a file that is not a JSON object of known keys
/// with string values is refused by name.
fn from_config(path: &std::path::Path, bytes: &[u8]) -> Result<Option<String>, Failure> {
    let shape = r#"the config file looks like {"endpoint": "http://127.0.0.1:9944"} or {"network": "local"}"#;
    let config: Value = serde_json::from_slice(bytes).map_err(|e| {
        Failure::user(format!("{} is not valid JSON: {e}", path.display())).hint(shape)
    })?;
    let Value::Object(config) = config else {
        return Err(Failure::user(format!("{} is not a JSON object", path.display())).hint(shape));
    };
    if let Some(unknown) = config.keys().find(|k| !CONFIG_KEYS.contains(&k.as_str())) {
        return Err(Failure::user(format!(
            "{}: unknown key {unknown:?} (the keys are {})",
            path.display(),
            CONFIG_KEYS.join(", ")
        ))
        .hint(shape));
    }
    let text = |key: &str| -> Result<Option<&str>, Failure> {
        match config.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => {
                Err(Failure::user(format!("{}: {key:?} is not a string", path.display()))
                    .hint(shape))
            }
        }
    };
    if let Some(url) = text("endpoint")? {
        return endpoint_url(url, &format!("{} \"endpoint\"", path.display())).map(Some);
    }
    text("network")?.map(network_url).transpose()
}

impl EndpointArgs {
    /// The URL to use.
    pub fn url(&self) -> Result<String, Failure> {
        if let Some(url) = &self.endpoint {
            return endpoint_url(url, "--endpoint");
        }
        if let Some(network) = &self.network {
            return network_url(network);
        }
        if let Some(url) = std::env::var("TAO_ENDPOINT").ok().filter(|u| !u.is_empty()) {
            return endpoint_url(&url, "TAO_ENDPOINT");
        }
        if let Some(path) = config_path() {
            match std::fs::read(&path) {
                Ok(bytes) => {
                    if let Some(url) = from_config(&path, &bytes)? {
                        return Ok(url);
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(Failure::user(format!("cannot read {}: {e}", path.display())))
                }
            }
        }
        Ok(LOCAL.to_owned())
    }
}

/// A connection to one node (the SDK's chain client, driven synchronously).
pub struct Client {
    url: String,
    chain: ChainClient,
    runtime: tokio::runtime::Runtime,
}

impl Client {
    /// A client of `url` (no request is made yet).
    pub fn new(url: String) -> Result<Self, Failure> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Failure::network(format!("cannot start the I/O runtime: {e}")))?;
        let chain = {
            let _guard = runtime.enter();
            ChainClient::new(&url)
                .map_err(|e| Failure::user(format!("bad endpoint {url:?}: {e}")))?
        };
        Ok(Self { url, chain, runtime })
    }

    /// A failure as the CLI reports it (user, chain or network) for a chain client error.
    fn failure(&self, error: ChainError) -> Failure {
        match error {
            ChainError::Rpc { code: -32602 | -32004, message } => Failure::user(message),
            ChainError::Transaction(message) => {
                Failure::chain(format!("the node refused the transaction: {message}"))
            }
            ChainError::Rpc { message, .. } => {
                Failure::network(format!("the node answered an error: {message}"))
            }
            ChainError::Node(e) => {
                Failure::network(format!("cannot reach the node at {}: {e}", self.url))
                    .hint("start one with `tao-node --dev`, or give another with --endpoint URL")
            }
            incompatible @ ChainError::Incompatible { .. } => {
                Failure::network(format!("the node at {}: {incompatible}", self.url))
                    .hint("use a tao CLI of the node's release, or a node of this CLI's")
            }
            other => Failure::network(other.to_string()),
        }
    }

    /// Calls method `M` of the node's API (`tao_sdk::chain::api::method`).
    pub fn request<M: Method>(&self, params: M::Params) -> Result<M::Output, Failure> {
        self.runtime.block_on(self.chain.request::<M>(params)).map_err(|e| self.failure(e))
    }

    /// The node's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Runs `work` on the client's runtime (for commands that drive the SDK themselves).
    pub fn block_on<F: std::future::Future>(&self, work: F) -> F::Output {
        self.runtime.block_on(work)
    }

    /// A failure as the CLI reports it, for a chain client error.
    pub fn failure_of(&self, error: ChainError) -> Failure {
        self.failure(error)
    }
}

/// What [`send`] did.
#[derive(Clone, Debug)]
pub enum Sent {
    /// `--dry-run`: what the transaction would do; nothing was submitted.
    DryRun(Receipt),
    /// `--no-wait`: accepted by the node, not yet final.
    Pending(H256),
    /// Final, with its (successful) receipt.
    Final(Receipt),
}

impl Sent {
    /// The receipt (of the dry run, or the final one).
    pub fn receipt(&self) -> Option<&Receipt> {
        match self {
            Self::DryRun(r) | Self::Final(r) => Some(r),
            Self::Pending(_) => None,
        }
    }

    /// As `--json` prints it: the receipt, `{"dry_run": true, "receipt"}` or
    /// `{"status": "pending", "tx_hash"}`.
    pub fn to_json(&self) -> Value {
        match self {
            Self::DryRun(receipt) => serde_json::json!({"dry_run": true, "receipt": receipt}),
            Self::Pending(hash) => serde_json::json!({"status": "pending", "tx_hash": hash}),
            Self::Final(receipt) => serde_json::to_value(receipt).unwrap_or(Value::Null),
        }
    }
}

/// How a transaction is sent.
#[derive(Debug, Args, Clone, Default)]
pub struct SendArgs {
    /// Show the fee and the effect without submitting.
    #[arg(long)]
    pub dry_run: bool,
    /// Return once the node has accepted the transaction, without waiting for finality.
    #[arg(long)]
    pub no_wait: bool,
    /// Do not ask for confirmation (nothing is asked when stdin is not a terminal).
    #[arg(long, short = 'y', alias = "no-prompt")]
    pub yes: bool,
    /// Seconds to wait for finality.
    #[arg(long, default_value_t = 60)]
    pub timeout: u64,
}

/// Signs `call` with `key` at the signer's next nonce and dry-runs it.
fn prepare(client: &Client, key: &Keypair, call: Call) -> Result<Prepared, Failure> {
    client.runtime.block_on(client.chain.prepare(key, call)).map_err(|e| match e {
        ChainError::Transaction(m) if m.contains("no secret") => {
            Failure::user("this key has no secret part (a public key only)")
        }
        other => client.failure(other),
    })
}

/// What `call` signed by `key` would do now (its dry run's receipt, failed or not); nothing
/// is submitted.
pub fn try_call(client: &Client, key: &Keypair, call: Call) -> Result<Receipt, Failure> {
    prepare(client, key, call).map(|prepared| prepared.dry_run)
}

/// Why a failed dry run or receipt failed: the chain's sentence and its error name.
pub fn why(receipt: &Receipt) -> String {
    match &receipt.error {
        Some(e) => format!("{} ({})", e.message, e.name),
        None => "unknown reason".to_owned(),
    }
}

/// What to do about a chain error a user can act on (by its name), if anything general.
fn hint_for(name: &str) -> Option<&'static str> {
    Some(match name {
        "HotKeyAccountNotExists" => {
            "register the hotkey first (tao subnets register), or stake to a validator's hotkey with --hotkey-ss58"
        }
        "NoVotingPower" => "votes are weighted by stake: stake TAO first (tao root stake, tao stake add)",
        "StakeLockedByVote" => "a vote keeps the stake it counted in place until the vote ends",
        "ProposalNotOpen" => "see the open proposals with `tao gov list`",
        "ValidatorsDisabled" => "this chain's validators are fixed in its genesis; nothing to register or bond",
        "NotValidator" => "see the candidates with `tao validator list`; register with `tao validator register`",
        "BondTooLow" => "see the minimum bond with `tao validator list`",
        "NotEnoughBonded" => "see the bonds with `tao validator show CONTROLLER`",
        "ConsensusKeyInUse" => "a consensus key registers once: make a new one with `tao-node --generate-validator-key FILE`",
        "ValidatorAlreadyRegistered" => "change the address or commission with `tao validator set`",
        "InvalidKeyProof" => "the key file must be the validator's own, for this chain",
        "CommissionRateLimited" => "the commission may change once per epoch; try in the next",
        "TooManyUnbondingChunks" => "see when they are released with `tao validator unbonding`",
        _ => return None,
    })
}

/// For a dry run refused only for now (a rate limit, a vote lock): from which block, and
/// how long from now, as a line to add to the refusal; else nothing.
fn retry_when(client: &Client, dry_run: &Receipt) -> String {
    let Some(at) = dry_run.error.as_ref().and_then(|e| e.retry_at) else { return String::new() };
    // A dry run executes as the next block would.
    let left = at.saturating_sub(dry_run.block).max(1);
    let wait = super::timing::wait_text(client, left).unwrap_or_else(|_| format!("{left} blocks"));
    format!("\n  possible from block #{at}: {wait} from now")
}

/// For a dry run refused for lack of funds: what was asked (`summary`) against the signer's
/// free balance and the fee, as lines to add to the refusal; else nothing.
fn short_of_funds(client: &Client, key: &Keypair, dry_run: &Receipt, summary: &str) -> String {
    let name = dry_run.error.as_ref().map_or("", |e| e.name.as_str());
    let funds = ["InsufficientBalance", "NotEnoughBalanceToStake", "CannotPayFee"];
    if !funds.iter().any(|f| name.starts_with(f)) {
        return String::new();
    }
    let Ok(info) = client.request::<method::AccountInfo>((api::Address(key.account()),)) else {
        return String::new();
    };
    let asked = if summary.is_empty() { String::new() } else { format!("\n  asked: {summary}") };
    // An invalid transaction (one that cannot even pay its fee) has no fee of its own.
    let fee = match dry_run.fee {
        0 => String::new(),
        fee => format!("; fee {} TAO", tao_primitives::Rao::new(fee)),
    };
    format!(
        "{asked}\n  free balance of {}: {} TAO{fee}",
        key.ss58(),
        tao_primitives::Rao::new(info.free)
    )
}

/// Signs `call` with `key` at the signer's next nonce and sends it as `args` say; returns
/// the receipt (or the dry run's, or the pending transaction's hash). A transaction whose
/// dry run fails is not sent and is a chain failure (exit 4), `--dry-run` or not.
pub fn send(
    client: &Client,
    key: &Keypair,
    call: Call,
    summary: &str,
    args: &SendArgs,
) -> Result<Sent, Failure> {
    let prepared = prepare(client, key, call)?;
    // Every transaction is tried first: one that would fail is not sent (so it costs nothing).
    if !prepared.would_succeed() {
        let why = why(&prepared.dry_run);
        let numbers = short_of_funds(client, key, &prepared.dry_run, summary)
            + &retry_when(client, &prepared.dry_run);
        let failure = Failure::chain(if args.dry_run {
            format!("the transaction would fail: {why} (dry run, nothing submitted){numbers}")
        } else {
            format!("the transaction would fail: {why}; nothing was submitted{numbers}")
        });
        return Err(match &prepared.dry_run.error {
            Some(e) => match hint_for(&e.name) {
                Some(hint) => failure.named(e.name.clone()).hint(hint),
                None => failure.named(e.name.clone()),
            },
            None => failure,
        });
    }
    if args.dry_run {
        return Ok(Sent::DryRun(prepared.dry_run));
    }
    if !args.yes && std::io::stdin().is_terminal() && !confirm(summary)? {
        return Err(Failure::user("cancelled"));
    }
    let hash =
        client.runtime.block_on(client.chain.send(&prepared)).map_err(|e| client.failure(e))?;
    if args.no_wait {
        return Ok(Sent::Pending(hash));
    }
    wait_final(client, hash, Duration::from_secs(args.timeout)).map(Sent::Final)
}

/// [`send`], but while the chain refuses it for one of `passing` (reasons that pass with
/// time, such as a rate limit) and `wait` is set, tries again each quarter second, up to
/// `args.timeout` seconds.
pub fn send_when_allowed(
    client: &Client,
    key: &Keypair,
    call: &Call,
    summary: &str,
    args: &SendArgs,
    (wait, passing): (bool, &[&str]),
) -> Result<Sent, Failure> {
    let started = std::time::Instant::now();
    let mut said = false;
    loop {
        match send(client, key, call.clone(), summary, args) {
            Err(failure)
                if wait
                    && failure.name().is_some_and(|n| passing.contains(&n))
                    && started.elapsed() < Duration::from_secs(args.timeout) =>
            {
                if !said {
                    eprintln!("waiting (up to {} s): {}", args.timeout, failure.message());
                    said = true;
                }
                std::thread::sleep(Duration::from_millis(250));
            }
            other => return other,
        }
    }
}

fn confirm(summary: &str) -> Result<bool, Failure> {
    eprint!("{summary}\nSubmit? [y/N] ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .map_err(|e| Failure::user(format!("cannot read the answer: {e}")))?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes"))
}

/// Waits until the transaction is final; shows a progress line on a terminal.
fn wait_final(client: &Client, hash: H256, timeout: Duration) -> Result<Receipt, Failure> {
    let show = std::io::stderr().is_terminal();
    let frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
    let mut frame = 0;
    let spinner = |waited: Duration| {
        if show {
            eprint!(
                "\r{} waiting for finality… {:.1}s",
                frames[frame % frames.len()],
                waited.as_secs_f32()
            );
            let _ = std::io::stderr().flush();
            frame += 1;
        }
    };
    let outcome = client.runtime.block_on(client.chain.wait_final(hash, timeout, spinner));
    if show {
        eprint!("\r\x1b[2K");
    }
    outcome.map_err(|e| match e {
        ChainError::Rejected { message, .. } => {
            let block = match client.request::<method::TransactionStatus>((hash,)) {
                Ok(TransactionStatus::Finalized { receipt }) => {
                    format!(" in block #{}", receipt.block)
                }
                _ => String::new(),
            };
            Failure::chain(format!(
                "the transaction failed{block}: {message} (the fee was charged)"
            ))
        }
        ChainError::Timeout(_) => {
            Failure::network(format!("transaction {hash} not final after {}s", timeout.as_secs()))
                .hint(format!("check later with `tao chain tx {hash}`"))
        }
        other => client.failure(other),
    })
}

/// Parses a 32-byte hash.
pub fn parse_hash(text: &str) -> Result<Hash, Failure> {
    let bytes = tao_primitives::hex::decode(text)
        .map_err(|e| Failure::user(format!("{text:?} is not a hash: {e}")))?;
    let array: [u8; 32] =
        bytes.try_into().map_err(|_| Failure::user(format!("{text:?} is not 32 bytes")))?;
    Ok(Hash(array))
}

/// Parses an SS58 address.
pub fn parse_account(text: &str) -> Result<AccountId, Failure> {
    AccountId::from_ss58(text.trim())
        .map_err(|e| Failure::user(format!("{text:?} is not a valid address: {e}")))
}
