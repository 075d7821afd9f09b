//! A chain client for subnet code: the node's RPC through typed calls
//! ([`ChainClient::request`] with a method of [`tao_rpc_api::method`]), the metagraph of a
//! subnet in one call, and signed submissions (serve an axon, set weights) followed to
//! finality. Every call has a timeout. Before its first call the client checks that the node
//! speaks a compatible API version ([`ChainError::Incompatible`] otherwise).

use jsonrpsee::{
    core::{client::ClientT, params::ArrayParams, ClientError},
    http_client::{HttpClient, HttpClientBuilder},
};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};
use tao_primitives::{AccountId, NetUid};
/// The node's RPC API (methods, types, version), as this client speaks it.
pub use tao_rpc_api as api;
use tao_rpc_api::{method, Method, Receipt, Subscription as _, H256};
use tao_types::{AxonInfo, Call, Hash, Signature, SignedTransaction, Transaction};
use tao_wallet::Keypair;

/// Why a chain call failed.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// The node could not be reached (or the request could not be made).
    #[error("node: {0}")]
    Node(String),
    /// The node answered with a JSON-RPC error (see `docs/rpc.md` for the codes).
    #[error("node error {code}: {message}")]
    Rpc {
        /// The JSON-RPC error code.
        code: i32,
        /// Its message.
        message: String,
    },
    /// The node's answer lacked something.
    #[error("unexpected answer: {0}")]
    Answer(String),
    /// The transaction was refused before submission (its dry run failed), or failed on
    /// chain; `name` is the chain's error name (e.g. `RevealTooEarly`).
    #[error("transaction {stage}: {message} ({name})")]
    Rejected {
        /// Where: "would fail" (dry run) or "failed" (on chain).
        stage: &'static str,
        /// The chain's error name.
        name: String,
        /// The chain's error message.
        message: String,
    },
    /// The transaction could not be built or was refused by the node.
    #[error("transaction: {0}")]
    Transaction(String),
    /// Not final in time.
    #[error("transaction {0} not final in time")]
    Timeout(String),
    /// The node speaks another major version of the RPC API (`node` is `None` for a node
    /// older than versioning, which has no `tao_apiVersion`).
    #[error("the node speaks RPC API {}, this client {client}", node.as_deref().unwrap_or("without a version (older than 1.0.0)"))]
    Incompatible {
        /// The node's API version.
        node: Option<String>,
        /// The client's ([`tao_rpc_api::API_VERSION`]).
        client: &'static str,
    },
}

/// One neuron as subnet code needs it.
#[derive(Clone, Debug)]
pub struct Neuron {
    /// Its UID.
    pub uid: u16,
    /// Its hotkey.
    pub hotkey: String,
    /// Where its axon serves, if it published one.
    pub axon: Option<SocketAddr>,
    /// Whether it holds a validator permit.
    pub validator_permit: bool,
    /// Its alpha stake.
    pub stake: u64,
}

/// `call` signed by `key` at `nonce` for the chain `genesis_hash`, as the 0x-hex the node's
/// RPC takes; `None` if the key has no secret part.
pub fn sign_transaction(
    key: &Keypair,
    genesis_hash: Hash,
    nonce: u64,
    call: Call,
) -> Option<String> {
    let transaction = Transaction { genesis_hash, signer: key.account(), nonce, call };
    let signature = key.sign(&transaction.signing_payload())?;
    let signed = SignedTransaction { transaction, signature: Signature(signature) };
    Some(tao_primitives::hex::encode(&codec::Encode::encode(&signed)))
}

/// A signed transaction and its dry run ([`ChainClient::prepare`]).
#[derive(Clone, Debug)]
pub struct Prepared {
    /// The signed transaction, 0x-hex.
    pub hex: String,
    /// What it would do now: its receipt (`outcome`, `fee`, `error`, `events`).
    pub dry_run: Receipt,
}

impl Prepared {
    /// Whether the dry run succeeded.
    pub fn would_succeed(&self) -> bool {
        self.dry_run.succeeded()
    }
}

/// The error of a failed dry run or receipt.
fn rejected(stage: &'static str, receipt: &Receipt) -> ChainError {
    let (name, message) = match &receipt.error {
        Some(e) => (e.name.clone(), e.message.clone()),
        None => ("unknown".to_owned(), format!("outcome {:?}", receipt.outcome)),
    };
    ChainError::Rejected { stage, name, message }
}

impl ChainError {
    /// The chain's error name, if the chain refused the transaction.
    pub fn chain_error(&self) -> Option<&str> {
        match self {
            Self::Rejected { name, .. } => Some(name),
            _ => None,
        }
    }
}

/// A client of one node.
pub struct ChainClient {
    http: HttpClient,
    /// Set once the node's API version was found compatible.
    compatible: tokio::sync::OnceCell<()>,
}

fn params(values: Vec<Value>) -> Result<ArrayParams, ChainError> {
    let mut array = ArrayParams::new();
    for v in values {
        array.insert(v).map_err(|e| ChainError::Node(e.to_string()))?;
    }
    Ok(array)
}

/// The HTTP URL of a node's endpoint as users write it: `http(s)://…` as it is, `ws://…` and
/// `wss://…` as `http://…` and `https://…` (the node serves both on one port), and a bare
/// `host:port` as `http://host:port`; any other scheme is refused.
pub fn http_url(endpoint: &str) -> Result<String, ChainError> {
    let endpoint = endpoint.trim();
    let bad = |why: &str| ChainError::Node(format!("bad endpoint {endpoint:?}: {why}"));
    match endpoint.split_once("://") {
        Some(("http" | "https", rest)) if !rest.is_empty() => Ok(endpoint.to_owned()),
        Some(("ws", rest)) if !rest.is_empty() => Ok(format!("http://{rest}")),
        Some(("wss", rest)) if !rest.is_empty() => Ok(format!("https://{rest}")),
        Some((_, "")) => Err(bad("no host")),
        Some((scheme, _)) => {
            Err(bad(&format!("unknown scheme {scheme:?} (http, https, ws or wss)")))
        }
        None if endpoint.is_empty() => Err(bad("empty")),
        None => Ok(format!("http://{endpoint}")),
    }
}

impl ChainClient {
    /// A client of the node at `url` (e.g. `http://127.0.0.1:9944`; see [`http_url`] for
    /// the other forms accepted).
    pub fn new(url: &str) -> Result<Self, ChainError> {
        let http = HttpClientBuilder::default()
            .request_timeout(Duration::from_secs(10))
            .build(http_url(url)?)
            .map_err(|e| ChainError::Node(e.to_string()))?;
        Ok(Self { http, compatible: tokio::sync::OnceCell::new() })
    }

    /// Sends `method` as it is, without the version check. A request that could not be sent
    /// (the node restarted and the pooled connection died, or it is not up yet) is retried
    /// for up to two seconds.
    async fn send_request<T: DeserializeOwned>(
        &self,
        method: &str,
        args: Vec<Value>,
    ) -> Result<T, ChainError> {
        let started = Instant::now();
        let mut result: Result<T, ClientError> =
            self.http.request(method, params(args.clone())?).await;
        while matches!(result, Err(ClientError::Transport(_)))
            && started.elapsed() < Duration::from_secs(2)
        {
            tokio::time::sleep(Duration::from_millis(100)).await;
            result = self.http.request(method, params(args.clone())?).await;
        }
        result.map_err(|e| match e {
            ClientError::Call(err) if err.code() == -32010 => {
                ChainError::Transaction(err.message().to_owned())
            }
            ClientError::Call(err) => {
                ChainError::Rpc { code: err.code(), message: err.message().to_owned() }
            }
            ClientError::ParseError(e) => {
                ChainError::Answer(format!("{method}: the answer does not decode: {e}"))
            }
            other => ChainError::Node(other.to_string()),
        })
    }

    /// The API version the node reports (`tao_apiVersion`); `None` for a node older than
    /// versioning.
    pub async fn api_version(&self) -> Result<Option<String>, ChainError> {
        match self.send_request(method::ApiVersion::NAME, Vec::new()).await {
            Ok(version) => Ok(Some(version)),
            Err(ChainError::Rpc { code: -32601, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Checks once that the node speaks a compatible API version ([`api::compatible`]).
    pub async fn check_version(&self) -> Result<(), ChainError> {
        self.compatible
            .get_or_try_init(|| async {
                match self.api_version().await? {
                    Some(v) if api::compatible(&v) => Ok(()),
                    node => Err(ChainError::Incompatible { node, client: api::API_VERSION }),
                }
            })
            .await
            .copied()
    }

    /// Calls method `M` of the node's API ([`tao_rpc_api::method`]) with its parameters and
    /// decodes its result (an answer that does not decode is [`ChainError::Answer`]).
    pub async fn request<M: Method>(&self, params: M::Params) -> Result<M::Output, ChainError> {
        self.check_version().await?;
        let args = api::to_positional::<M>(&params).map_err(|e| ChainError::Node(e.to_string()))?;
        self.send_request(M::NAME, args).await
    }

    /// Calls `method` with positional `args`, untyped: for tools and tests that look at the
    /// raw JSON. Clients use [`ChainClient::request`].
    pub async fn call(&self, method: &str, args: Vec<Value>) -> Result<Value, ChainError> {
        self.check_version().await?;
        self.send_request(method, args).await
    }

    /// Subnet `netuid`'s metagraph, its per-UID columns checked to have one entry per
    /// neuron.
    pub async fn metagraph(&self, netuid: u16) -> Result<api::Metagraph, ChainError> {
        let m = self.request::<method::Metagraph>((netuid,)).await?;
        if !m.columns_agree() {
            return Err(ChainError::Answer(format!("subnet {netuid}: metagraph columns disagree")));
        }
        Ok(m)
    }

    /// An account's balance and nonces.
    pub async fn account_info(&self, account: &AccountId) -> Result<api::AccountInfo, ChainError> {
        self.request::<method::AccountInfo>((api::Address(*account),)).await
    }

    /// The neurons of subnet `netuid`, by UID.
    pub async fn neurons(&self, netuid: u16) -> Result<Vec<Neuron>, ChainError> {
        let m = self.metagraph(netuid).await?;
        Ok((0u16..)
            .zip(&m.hotkeys)
            .map(|(uid, hotkey)| {
                let at = usize::from(uid);
                Neuron {
                    uid,
                    hotkey: hotkey.to_string(),
                    axon: m.axons[at].as_ref().map(|a| SocketAddr::new(a.ip, a.port)),
                    validator_permit: m.validator_permit[at],
                    stake: m.alpha_stake[at],
                }
            })
            .collect())
    }

    /// Signs `call` with `key` at its next nonce (after the signer's pending transactions)
    /// and dry-runs it; nothing is submitted. The dry run's receipt says what it would do.
    pub async fn prepare(&self, key: &Keypair, call: Call) -> Result<Prepared, ChainError> {
        let H256(genesis_hash) = self.request::<method::GenesisHash>(()).await?;
        let nonce = self.account_info(&key.account()).await?.next_nonce;
        let hex = sign_transaction(key, genesis_hash, nonce, call)
            .ok_or_else(|| ChainError::Transaction("the key has no secret".into()))?;
        let dry_run = self.request::<method::DryRun>((hex.clone(),)).await?;
        Ok(Prepared { hex, dry_run })
    }

    /// Submits a prepared transaction; returns its hash.
    pub async fn send(&self, prepared: &Prepared) -> Result<H256, ChainError> {
        self.request::<method::SubmitTransaction>((prepared.hex.clone(),)).await
    }

    /// Waits until transaction `hash` is final (`on_wait` hears the time waited so far,
    /// every poll); a successful receipt, or `Rejected` with stage "failed".
    pub async fn wait_final(
        &self,
        hash: H256,
        timeout: Duration,
        mut on_wait: impl FnMut(Duration),
    ) -> Result<Receipt, ChainError> {
        let started = Instant::now();
        loop {
            let status = self.request::<method::TransactionStatus>((hash,)).await?;
            if let api::TransactionStatus::Finalized { receipt } = status {
                if receipt.succeeded() {
                    return Ok(receipt);
                }
                return Err(rejected("failed", &receipt));
            }
            if started.elapsed() > timeout {
                return Err(ChainError::Timeout(hash.to_string()));
            }
            on_wait(started.elapsed());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Signs `call` with `key` at its next nonce, submits it and waits until it is final;
    /// returns the receipt. A transaction that would fail is not sent.
    pub async fn submit(
        &self,
        key: &Keypair,
        call: Call,
        timeout: Duration,
    ) -> Result<Receipt, ChainError> {
        let prepared = self.prepare(key, call).await?;
        if !prepared.would_succeed() {
            return Err(rejected("would fail", &prepared.dry_run));
        }
        let hash = self.send(&prepared).await?;
        self.wait_final(hash, timeout, |_| {}).await
    }

    /// Publishes where `hotkey` serves on subnet `netuid`.
    pub async fn serve_axon(
        &self,
        hotkey: &Keypair,
        netuid: u16,
        addr: SocketAddr,
    ) -> Result<Receipt, ChainError> {
        let axon = AxonInfo::new(addr.ip(), addr.port());
        self.submit(
            hotkey,
            Call::ServeAxon { netuid: NetUid::new(netuid), axon },
            Duration::from_secs(60),
        )
        .await
    }

    /// Registers `hotkey` on subnet `netuid` by burning TAO from `coldkey` (refused above
    /// `max_burn` RAO, when given); returns the receipt.
    pub async fn register(
        &self,
        coldkey: &Keypair,
        hotkey: &Keypair,
        netuid: u16,
        max_burn: Option<u64>,
    ) -> Result<Receipt, ChainError> {
        let call = Call::BurnedRegister {
            netuid: NetUid::new(netuid),
            hotkey: hotkey.account(),
            limit_price: max_burn.map(tao_primitives::Rao::new),
        };
        self.submit(coldkey, call, Duration::from_secs(60)).await
    }

    /// New heads as the node produces them (a WebSocket subscription to
    /// `tao_subscribeNewHeads` on `url`, `ws://` or `http://`), once the node's API version
    /// is found compatible.
    pub async fn new_heads(url: &str) -> Result<Heads, ChainError> {
        use jsonrpsee::core::client::SubscriptionClientT;
        let http = url.replacen("ws://", "http://", 1).replacen("wss://", "https://", 1);
        Self::new(&http)?.check_version().await?;
        let ws = url.replacen("http://", "ws://", 1).replacen("https://", "wss://", 1);
        let client = jsonrpsee::ws_client::WsClientBuilder::default()
            .build(&ws)
            .await
            .map_err(|e| ChainError::Node(e.to_string()))?;
        let subscription = client
            .subscribe(
                method::NewHeads::SUBSCRIBE,
                ArrayParams::new(),
                method::NewHeads::UNSUBSCRIBE,
            )
            .await
            .map_err(|e| ChainError::Node(e.to_string()))?;
        Ok(Heads { _client: client, subscription })
    }

    /// The hyperparameters of subnet `netuid`.
    pub async fn hyperparameters(&self, netuid: u16) -> Result<api::Hyperparameters, ChainError> {
        Ok(self.metagraph(netuid).await?.hyperparameters)
    }

    /// Sets `hotkey`'s weights on subnet `netuid` (scores of any scale; max-upscaled on chain).
    pub async fn set_weights(
        &self,
        hotkey: &Keypair,
        netuid: u16,
        weights: &[(u16, u16)],
    ) -> Result<Receipt, ChainError> {
        let call = Call::SetWeights {
            netuid: NetUid::new(netuid),
            uids: weights.iter().map(|(u, _)| *u).collect(),
            values: weights.iter().map(|(_, w)| *w).collect(),
            version_key: 0,
        };
        self.submit(hotkey, call, Duration::from_secs(60)).await
    }
}

/// A subscription to new heads ([`ChainClient::new_heads`]).
pub struct Heads {
    _client: jsonrpsee::ws_client::WsClient,
    subscription: jsonrpsee::core::client::Subscription<api::Header>,
}

impl Heads {
    /// The next head; `None` once the node closed the subscription.
    pub async fn next(&mut self) -> Option<Result<api::Header, ChainError>> {
        let item = self.subscription.next().await?;
        Some(item.map_err(|e| ChainError::Answer(e.to_string())))
    }
}

/// A fresh random salt (8 × u16, as the Python SDK uses) and the commit hash of these
/// weights under it: what a weights commit sends, and what its reveal must repeat.
pub fn weights_commitment(
    hotkey: &Keypair,
    netuid: NetUid,
    uids: &[u16],
    values: &[u16],
    version_key: u64,
) -> Result<(Vec<u16>, [u8; 32]), String> {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes).map_err(|e| format!("no randomness: {e}"))?;
    let salt: Vec<u16> = bytes.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
    let hash =
        tao_types::weights_commit_hash(&hotkey.account(), netuid, uids, values, &salt, version_key);
    Ok((salt, hash))
}

/// What [`WeightSetter`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WeightsOutcome {
    /// Weights set directly, in this block.
    Set {
        /// The block.
        block: u64,
    },
    /// A commit of the weights' hash, in this block; the weights follow at the reveal.
    Committed {
        /// The block.
        block: u64,
    },
    /// Earlier committed weights revealed, in this block.
    Revealed {
        /// The block.
        block: u64,
    },
    /// A commit waits for its reveal window; nothing was sent.
    Waiting,
}

struct PendingCommit {
    uids: Vec<u16>,
    values: Vec<u16>,
    salt: Vec<u16>,
    version_key: u64,
}

/// Sets a validator's weights the way its subnet wants: directly, or by commit-reveal when
/// the subnet has `commit_reveal_weights_enabled` (commit a salted hash now, reveal the
/// weights in the commit's reveal epoch). Call [`WeightSetter::offer`] with new weights and
/// [`WeightSetter::reveal_due`] often (every round): it reveals as soon as the window opens.
pub struct WeightSetter {
    netuid: u16,
    pending: Option<PendingCommit>,
}

impl WeightSetter {
    /// A setter for subnet `netuid`.
    pub fn new(netuid: u16) -> Self {
        Self { netuid, pending: None }
    }

    /// Whether a commit waits for its reveal.
    pub fn has_pending(&self) -> bool {
        self.pending.is_some()
    }

    /// Offers new weights: set directly, or committed (a commit still waiting for its reveal
    /// is revealed first if it can be, else kept, and the new weights wait for the next offer).
    pub async fn offer(
        &mut self,
        chain: &ChainClient,
        hotkey: &Keypair,
        weights: &[(u16, u16)],
    ) -> Result<WeightsOutcome, ChainError> {
        let params = chain.hyperparameters(self.netuid).await?;
        let (commit_reveal, version_key) =
            (params.commit_reveal_weights_enabled, params.weights_version);
        let uids: Vec<u16> = weights.iter().map(|(u, _)| *u).collect();
        let values: Vec<u16> = weights.iter().map(|(_, w)| *w).collect();
        let netuid = NetUid::new(self.netuid);
        if !commit_reveal {
            self.pending = None;
            let call = Call::SetWeights { netuid, uids, values, version_key };
            let receipt = chain.submit(hotkey, call, Duration::from_secs(60)).await?;
            return Ok(WeightsOutcome::Set { block: receipt.block });
        }
        if let Some(outcome) = self.reveal_due(chain, hotkey).await? {
            return Ok(outcome);
        }
        if self.pending.is_some() {
            return Ok(WeightsOutcome::Waiting);
        }
        let (salt, commit_hash) = weights_commitment(hotkey, netuid, &uids, &values, version_key)
            .map_err(ChainError::Transaction)?;
        let receipt = chain
            .submit(hotkey, Call::CommitWeights { netuid, commit_hash }, Duration::from_secs(60))
            .await?;
        self.pending = Some(PendingCommit { uids, values, salt, version_key });
        Ok(WeightsOutcome::Committed { block: receipt.block })
    }

    /// Reveals the waiting commit if its window is open: `Some(Revealed)`, `Some(Waiting)`
    /// while too early, `None` when nothing waits (a commit the chain no longer has, expired
    /// or replaced, is forgotten).
    pub async fn reveal_due(
        &mut self,
        chain: &ChainClient,
        hotkey: &Keypair,
    ) -> Result<Option<WeightsOutcome>, ChainError> {
        let Some(p) = &self.pending else { return Ok(None) };
        let call = Call::RevealWeights {
            netuid: NetUid::new(self.netuid),
            uids: p.uids.clone(),
            values: p.values.clone(),
            salt: p.salt.clone(),
            version_key: p.version_key,
        };
        match chain.submit(hotkey, call, Duration::from_secs(60)).await {
            Ok(receipt) => {
                self.pending = None;
                Ok(Some(WeightsOutcome::Revealed { block: receipt.block }))
            }
            Err(e) if e.chain_error() == Some("RevealTooEarly") => {
                Ok(Some(WeightsOutcome::Waiting))
            }
            Err(e)
                if matches!(
                    e.chain_error(),
                    Some(
                        "ExpiredWeightCommit"
                            | "NoWeightsCommitFound"
                            | "InvalidRevealCommitHashNotMatch"
                    )
                ) =>
            {
                self.pending = None;
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }
}
