//! JSON-RPC over HTTP and WebSocket (`docs/rpc.md` lists every method).
//!
//! Every method is declared once in [`tao_rpc_api`] (name, parameters, result); this module
//! registers a handler for each through [`method`] and [`async_method`], which decode the
//! declared parameters and encode the declared result, and serves the API's description
//! (`rpc_discover`) and version (`tao_apiVersion`). More methods (a Substrate JSON-RPC
//! facade) can be registered on the same [`RpcModule`] the same way.
//!
//! A submitted transaction's signature is checked before the chain's lock is taken, on the
//! calling worker but at most one check per core less one at a time, so a flood of badly
//! signed transactions neither holds the lock nor occupies every async worker that consensus
//! and block production share (dry runs go to the blocking pool). [`server`] serves the module within the limits of `docs/rpc.md`.

pub mod server;

use crate::{
    chain::Chain,
    mempool::{SubmitError, VerifiedTransaction},
    store::BlockLookupError,
    views,
};
use jsonrpsee::{
    core::{RegisterMethodError, SubscriptionResult},
    types::{ErrorObject, ErrorObjectOwned, Params},
    PendingSubscriptionSink, RpcModule, SubscriptionMessage,
};
use std::{
    future::Future,
    sync::{Arc, Mutex},
};
use tao_primitives::NetUid;
use tao_rpc_api::{self as api, method, Method, Subscription};
use tao_types::{Block, Hash, SignedTransaction};
use tokio::sync::broadcast;

/// What the RPC handlers share.
pub struct Node {
    /// The chain.
    pub chain: Mutex<Chain>,
    /// New finalized heads (dev mode: every produced block is final).
    pub heads: broadcast::Sender<api::Header>,
    /// Each new block's events.
    pub events: broadcast::Sender<api::BlockEvents>,
    /// Counters for `/metrics`.
    pub metrics: crate::metrics::Metrics,
    /// The node this one follows (a replica produces nothing and refuses submissions).
    pub follows: Option<String>,
    /// Where admitted transactions go to reach the other validators (BFT mode).
    pub gossip: Option<tokio::sync::mpsc::UnboundedSender<SignedTransaction>>,
    /// Signature checks and dry runs under way at once: at most one per core.
    cpu: tokio::sync::Semaphore,
    /// Signature checks under way at once on the async workers: one fewer than the cores
    /// (at least one), so a flood of them never takes every worker from consensus and
    /// block production, and an honest submission pays no hand-off to another thread.
    verifiers: tokio::sync::Semaphore,
    /// What the node has seen of the chain beyond its head (`tao_syncState`).
    pub sync: SyncTracker,
    /// `tao_governance` for the state with this root: live tallies read every stake
    /// position, so they are counted once per state, not once per request.
    governance: Mutex<Option<(Hash, Arc<api::Governance>)>>,
}

impl Node {
    /// A node serving `chain`; `follows` names the node a replica follows, `gossip` takes
    /// admitted transactions to the other validators.
    pub fn new(
        chain: Chain,
        follows: Option<String>,
        gossip: Option<tokio::sync::mpsc::UnboundedSender<SignedTransaction>>,
    ) -> Self {
        Self {
            chain: Mutex::new(chain),
            heads: broadcast::channel(64).0,
            events: broadcast::channel(64).0,
            metrics: crate::metrics::Metrics::default(),
            follows,
            gossip,
            cpu: tokio::sync::Semaphore::new(cores()),
            verifiers: tokio::sync::Semaphore::new(cores().saturating_sub(1).max(1)),
            governance: Mutex::new(None),
            sync: SyncTracker::default(),
        }
    }

    /// `tao_syncState` now.
    pub fn sync_state(&self) -> Result<api::SyncState, ErrorObjectOwned> {
        let (head, oldest_block) = {
            let chain = lock(self)?;
            (chain.head.number.get(), chain.store.oldest_kept())
        };
        let highest_seen = self.sync.highest_seen().max(head);
        let peers = self.metrics.connected_peers() as u64 + self.sync.upstream_peers();
        Ok(api::SyncState {
            head,
            // Only final blocks become heads (see the subscriptions below).
            finalized: head,
            highest_seen,
            peers,
            syncing: highest_seen > head,
            oldest_block,
        })
    }

    /// Governance at the head with live tallies, counted at most once per state.
    fn governance_view(&self) -> Result<Arc<api::Governance>, ErrorObjectOwned> {
        let (state, block, root) = {
            let chain = lock(self)?;
            (chain.state.clone(), chain.head.number.get(), chain.head.state_root)
        };
        let cached = self.governance.lock().map_err(|_| internal("governance cache poisoned"))?;
        if let Some((_, view)) = cached.as_ref().filter(|(at, _)| *at == root) {
            return Ok(view.clone());
        }
        drop(cached);
        // Counted on a copy, outside the chain's lock (and the cache's).
        let view = Arc::new(views::governance(&state, block));
        let mut cached =
            self.governance.lock().map_err(|_| internal("governance cache poisoned"))?;
        *cached = Some((root, view.clone()));
        Ok(view)
    }

    /// Checks a submitted transaction's signature, never holding the chain's lock, on the
    /// calling worker (a check takes tens of microseconds; handing it to another thread
    /// cost ~40 % of the submission throughput), at most the `verifiers` permits at a time.
    async fn verify(
        &self,
        tx: SignedTransaction,
    ) -> Result<Result<VerifiedTransaction, SubmitError>, ErrorObjectOwned> {
        let _permit = self
            .verifiers
            .acquire()
            .await
            .map_err(|_| error(codes::INTERNAL, "the node is stopping"))?;
        Ok(VerifiedTransaction::verify(tx))
    }

    /// Runs CPU-heavy `work` (dry runs) on the blocking pool, at most one per core at a
    /// time, never holding the chain's lock.
    async fn off_workers<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, ErrorObjectOwned> {
        let _permit =
            self.cpu.acquire().await.map_err(|_| error(codes::INTERNAL, "the node is stopping"))?;
        tokio::task::spawn_blocking(work).await.map_err(|e| error(codes::INTERNAL, e.to_string()))
    }

    /// Announces a block just committed as the head: counted in the metrics (`micros` it
    /// took), logged, and sent to the `events` and head subscribers.
    pub fn announce(&self, block: &Block, outcome: &tao_runtime::BlockOutcome, micros: u64) {
        self.metrics.block(micros, block.transactions.len() as u64);
        let number = block.header.number.get();
        if block.transactions.is_empty() {
            tracing::debug!(number, "block");
        } else {
            let failed = outcome
                .receipts
                .iter()
                .filter(|r| !matches!(r.outcome, tao_types::Outcome::Success))
                .count();
            let (hash, transactions) = (block.header.hash(), block.transactions.len());
            tracing::info!(number, %hash, transactions, failed, "block");
        }
        let _ = self.events.send(views::block_events(block, outcome));
        let _ = self.heads.send(views::header(&block.header));
    }
}

/// What a node has seen of the chain beyond its own head.
#[derive(Debug, Default)]
pub struct SyncTracker {
    highest_seen: std::sync::atomic::AtomicU64,
    upstream: std::sync::atomic::AtomicBool,
}

impl SyncTracker {
    /// A block number announced by the followed node or carried by a peer's block.
    pub fn saw(&self, number: u64) {
        self.highest_seen.fetch_max(number, std::sync::atomic::Ordering::Relaxed);
    }

    /// The highest number seen (0 if none).
    pub fn highest_seen(&self) -> u64 {
        self.highest_seen.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Whether the followed node answered the last poll.
    pub fn set_upstream(&self, answered: bool) {
        self.upstream.store(answered, std::sync::atomic::Ordering::Relaxed);
    }

    /// 1 if a followed node answered the last poll, else 0.
    pub fn upstream_peers(&self) -> u64 {
        u64::from(self.upstream.load(std::sync::atomic::Ordering::Relaxed))
    }
}

/// Error codes beyond JSON-RPC's own.
pub mod codes {
    /// The transaction was refused by the pool (invalid, duplicate, pool full).
    pub const TX_REJECTED: i32 = -32010;
    /// Not found (block, receipt, subnet).
    pub const NOT_FOUND: i32 = -32004;
    /// Internal error.
    pub const INTERNAL: i32 = -32603;
    /// Invalid parameters.
    pub const INVALID_PARAMS: i32 = -32602;
    /// Not done in the time given (the transaction may still be included).
    pub const TIMEOUT: i32 = -32011;
    /// The block was pruned (`data`: [`tao_rpc_api::PrunedBlock`]).
    pub const PRUNED: i32 = tao_rpc_api::ERROR_PRUNED;
}

fn error(code: i32, message: impl Into<String>) -> ErrorObjectOwned {
    ErrorObject::owned(code, message.into(), None::<()>)
}

fn bad_params(message: impl Into<String>) -> ErrorObjectOwned {
    error(codes::INVALID_PARAMS, message)
}

fn decode_tx(hex: &str) -> Result<SignedTransaction, ErrorObjectOwned> {
    let bytes = tao_primitives::hex::decode(hex)
        .map_err(|e| bad_params(format!("the transaction must be 0x-hex: {e}")))?;
    SignedTransaction::decode_bounded(&bytes).map_err(|e| bad_params(e.to_string()))
}

/// Decodes a submitted transaction, checks its signature (outside the chain's lock) and
/// admits it to the pool (a follower refuses it, naming the node it follows); `-32010` with
/// the reason otherwise.
async fn admit(node: &Node, hex: &str) -> Result<Hash, ErrorObjectOwned> {
    let tx = decode_tx(hex)?;
    if let Some(upstream) = &node.follows {
        let message = format!("this node follows {upstream} and produces no blocks; submit there");
        return Err(error(codes::TX_REJECTED, message));
    }
    let refused = |e: SubmitError| error(codes::TX_REJECTED, e.to_string());
    let verified = node.verify(tx).await?.map_err(refused)?;
    let gossiped = node.gossip.as_ref().map(|gossip| (gossip, verified.transaction().clone()));
    let hash = lock(node)?.submit_verified(verified).map_err(refused)?;
    if let Some((gossip, tx)) = gossiped {
        let _ = gossip.send(tx);
    }
    Ok(hash)
}

type Rpc = RpcModule<Arc<Node>>;

/// The machine's cores (1 if unknown).
fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
}

fn lock(node: &Node) -> Result<std::sync::MutexGuard<'_, Chain>, ErrorObjectOwned> {
    node.chain.lock().map_err(|_| error(codes::INTERNAL, "chain lock poisoned"))
}

fn internal(e: impl std::fmt::Display) -> ErrorObjectOwned {
    error(codes::INTERNAL, e.to_string())
}

/// The declared parameters of a call to `M`; `-32602` if they do not decode.
fn params_of<M: Method>(params: &Params<'_>) -> Result<M::Params, ErrorObjectOwned> {
    api::from_positional::<M>(params.as_str()).map_err(bad_params)
}

/// Registers `handler` as method `M`: it gets the decoded parameters and the node.
pub fn method<M: Method>(
    rpc: &mut Rpc,
    handler: impl Fn(M::Params, &Node) -> Result<M::Output, ErrorObjectOwned> + Send + Sync + 'static,
) -> Result<(), RegisterMethodError> {
    rpc.register_method(M::NAME, move |params, node, _| -> Result<M::Output, ErrorObjectOwned> {
        handler(params_of::<M>(&params)?, node)
    })?;
    Ok(())
}

/// Registers the asynchronous `handler` as method `M`.
pub fn async_method<M, F, Fut>(rpc: &mut Rpc, handler: F) -> Result<(), RegisterMethodError>
where
    M: Method,
    F: Fn(M::Params, Arc<Node>) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<M::Output, ErrorObjectOwned>> + Send + 'static,
{
    rpc.register_async_method(M::NAME, move |params, node, _| {
        let handler = handler.clone();
        async move { handler(params_of::<M>(&params)?, Arc::clone(&*node)).await }
    })?;
    Ok(())
}

/// Registers subscription `S`, forwarding what `stream` carries.
fn subscription<S: Subscription>(
    rpc: &mut Rpc,
    stream: fn(&Node) -> &broadcast::Sender<S::Item>,
) -> Result<(), RegisterMethodError> {
    rpc.register_subscription(
        S::SUBSCRIBE,
        S::NOTIFICATION,
        S::UNSUBSCRIBE,
        move |_, pending: PendingSubscriptionSink, node, _| async move {
            forward::<S>(pending, stream(&node).subscribe()).await
        },
    )?;
    Ok(())
}

/// The receipt of `hash` if it is in a stored (final) block.
fn stored_receipt(chain: &Chain, hash: &Hash) -> Result<Option<api::Receipt>, ErrorObjectOwned> {
    let stored = chain.store.receipt(hash).map_err(internal)?;
    Ok(stored.map(|s| views::receipt(&s.receipt, Some(&s.block_hash))))
}

/// Most entries in one page of `tao_accountHistory`.
pub const MAX_HISTORY_PAGE: u32 = 100;

/// A stored block by number or hash; `-32004` if there is none, `-32005` (with
/// [`api::PrunedBlock`] as `data`) if it was pruned.
fn stored_block(chain: &Chain, which: api::BlockId) -> Result<Block, ErrorObjectOwned> {
    let number = match which {
        api::BlockId::Number(n) => n,
        api::BlockId::Hash(hash) => chain
            .store
            .number_of(&hash.0)
            .map_err(internal)?
            .ok_or_else(|| error(codes::NOT_FOUND, "no block with that hash"))?,
    };
    match chain.store.block_or_why(number).map_err(internal)? {
        Ok(block) => Ok(block),
        Err(why @ BlockLookupError::Pruned { number, oldest, head }) => {
            let data = api::PrunedBlock { block: number, oldest, head };
            Err(ErrorObject::owned(codes::PRUNED, why.to_string(), Some(data)))
        }
        Err(why @ BlockLookupError::NotFound(_)) => Err(error(codes::NOT_FOUND, why.to_string())),
    }
}

/// A `tao_accountHistory` cursor, `BLOCK.INDEX` (the last entry of the previous page).
fn parse_cursor(text: &str) -> Result<(u64, u32), ErrorObjectOwned> {
    text.split_once('.')
        .and_then(|(block, index)| Some((block.parse().ok()?, index.parse().ok()?)))
        .ok_or_else(|| bad_params(format!("cursor {text:?} is not BLOCK.INDEX")))
}

/// Every method of the node's RPC (the methods of [`tao_rpc_api`]).
pub fn module(node: Arc<Node>) -> anyhow::Result<Rpc> {
    let mut rpc = RpcModule::new(node);
    method::<method::Health>(&mut rpc, |(), node| {
        let chain = lock(node)?;
        let (block, pending) = (chain.head.number.get(), chain.mempool.len() as u64);
        drop(chain);
        let syncing = node.sync.highest_seen() > block;
        Ok(api::Health { block, finalized: block, pending, syncing })
    })?;
    method::<method::SyncState>(&mut rpc, |(), node| node.sync_state())?;
    method::<method::ApiVersion>(&mut rpc, |(), _| Ok(api::API_VERSION.to_owned()))?;
    method::<method::Discover>(&mut rpc, |(), _| {
        static DESCRIPTION: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
        Ok(DESCRIPTION.get_or_init(api::openrpc).clone())
    })?;
    method::<method::GenesisHash>(&mut rpc, |(), node| {
        Ok(api::H256(lock(node)?.state.genesis_hash()))
    })?;
    method::<method::ChainHead>(&mut rpc, |(), node| Ok(views::header(&lock(node)?.head)))?;
    method::<method::GetBlock>(&mut rpc, |(which,), node| {
        Ok(views::block(&stored_block(&*lock(node)?, which)?))
    })?;
    method::<method::GetBlockRaw>(&mut rpc, |(number,), node| {
        let block = stored_block(&*lock(node)?, api::BlockId::Number(number))?;
        Ok(tao_primitives::hex::encode(&codec::Encode::encode(&block)))
    })?;
    async_method::<method::SubmitTransaction, _, _>(&mut rpc, |(hex,), node| async move {
        admit(&node, &hex).await.map(api::H256)
    })?;
    method::<method::TransactionStatus>(&mut rpc, |(hash,), node| {
        let chain = lock(node)?;
        if let Some(receipt) = stored_receipt(&chain, &hash.0)? {
            return Ok(api::TransactionStatus::Finalized { receipt });
        }
        if chain.mempool.contains(&hash.0) {
            return Ok(api::TransactionStatus::Pending);
        }
        Ok(api::TransactionStatus::Unknown)
    })?;
    async_method::<method::DryRun, _, _>(&mut rpc, |(hex,), node| async move {
        let tx = decode_tx(&hex)?;
        // A copy of the head state and the signer's earlier pending transactions, taken
        // under the lock; executed (signatures checked) after it is released.
        let (mut state, earlier) = {
            let chain = lock(&node)?;
            let earlier: Vec<SignedTransaction> = chain
                .mempool
                .pending_of(&tx.transaction.signer)
                .take_while(|p| p.transaction.nonce < tx.transaction.nonce)
                .cloned()
                .collect();
            (chain.state.clone(), earlier)
        };
        // The earlier ones first: the effect is "after what you already sent".
        let receipt = node
            .off_workers(move || {
                for (index, pending) in (0u32..).zip(&earlier) {
                    tao_runtime::apply_transaction(&mut state, pending, index);
                }
                tao_runtime::apply_transaction(&mut state, &tx, 0)
            })
            .await?;
        Ok(views::receipt(&receipt, None))
    })?;
    method::<method::AccountInfo>(&mut rpc, |(address,), node| {
        let chain = lock(node)?;
        let account = chain.state.account(&address.0);
        let next_nonce = chain.mempool.next_nonce(&address.0, account.nonce);
        Ok(api::AccountInfo { address, free: account.free.get(), nonce: account.nonce, next_nonce })
    })?;
    method::<method::Subnets>(&mut rpc, |(), node| Ok(views::subnets(&lock(node)?.state)))?;
    method::<method::Metagraph>(&mut rpc, |(netuid,), node| {
        views::metagraph(&lock(node)?.state, NetUid::new(netuid))
            .ok_or_else(|| error(codes::NOT_FOUND, format!("no subnet {netuid}")))
    })?;
    method::<method::Issuance>(&mut rpc, |(), node| {
        let chain = lock(node)?;
        Ok(views::issuance(&chain.state, chain.head.number.get()))
    })?;
    method::<method::Delegates>(&mut rpc, |(), node| Ok(views::delegates(&lock(node)?.state)))?;
    method::<method::Governance>(&mut rpc, |(), node| {
        let view = node.governance_view()?;
        Ok((*view).clone())
    })?;
    method::<method::Proposal>(&mut rpc, |(id,), node| {
        let view = node.governance_view()?;
        let state = lock(node)?.state.clone();
        let not_found =
            || error(codes::NOT_FOUND, format!("no proposal #{id} (it may be long finished)"));
        let proposal = view.proposals.iter().find(|p| p.id == id).ok_or_else(not_found)?;
        let votes = views::proposal_votes(&state, id).ok_or_else(not_found)?;
        Ok(api::ProposalDetail { proposal: proposal.clone(), votes })
    })?;
    method::<method::GlobalParameters>(&mut rpc, |(), node| {
        let params = lock(node)?.state.chain().params.as_parameters();
        Ok(params
            .iter()
            .map(|p| api::GlobalParameter { name: p.name().to_owned(), value: p.value_text() })
            .collect())
    })?;
    method::<method::LockCost>(&mut rpc, |(), node| {
        Ok(tao_runtime::subnets::lock_cost(&lock(node)?.state).get())
    })?;
    method::<method::BlockReceipts>(&mut rpc, |(which,), node| {
        let chain = lock(node)?;
        let block = stored_block(&chain, which)?;
        let number = block.header.number.get();
        let own = chain.store.block_events(number).map_err(internal)?.unwrap_or_default();
        let mut receipts = Vec::with_capacity(block.transactions.len());
        for tx in &block.transactions {
            let stored = chain.store.receipt(&tx.hash()).map_err(internal)?;
            let stored =
                stored.ok_or_else(|| internal(format!("block {number}: a receipt is missing")))?;
            receipts.push((stored.receipt, stored.block_hash));
        }
        Ok(views::block_receipts(&block, &own, &receipts))
    })?;
    method::<method::AccountHistory>(&mut rpc, |(address, cursor, limit), node| {
        let limit = usize::try_from(limit.unwrap_or(25).clamp(1, MAX_HISTORY_PAGE)).unwrap_or(25);
        let before = cursor.as_deref().map(parse_cursor).transpose()?;
        let chain = lock(node)?;
        let (found, more) =
            chain.store.account_history(&address.0, before, limit).map_err(internal)?;
        let next_cursor = more.then(|| found.last().map(|e| format!("{}.{}", e.block, e.index)));
        let mut entries = Vec::with_capacity(found.len());
        for entry in found {
            let stored = chain.store.receipt(&entry.tx_hash).map_err(internal)?;
            let stored = stored.ok_or_else(|| internal("an indexed receipt is missing"))?;
            let receipt = views::receipt(&stored.receipt, Some(&stored.block_hash));
            entries.push(api::HistoryEntry { call: entry.call, receipt });
        }
        Ok(api::AccountHistory { address, entries, next_cursor: next_cursor.flatten() })
    })?;
    method::<method::Validators>(&mut rpc, |(), node| {
        let chain = lock(node)?;
        let genesis = chain.store.meta("genesis").map_err(internal)?;
        let proof_of_stake = views::proof_of_stake(&chain.state);
        // A proof-of-stake chain's authorities are its current set's keys.
        let authorities = match &proof_of_stake {
            Some(pos) => pos
                .current_set
                .iter()
                .flat_map(|set| set.members.iter().map(|m| m.consensus_key.clone()))
                .collect(),
            None => genesis
                .and_then(|bytes| serde_json::from_slice::<tao_types::GenesisConfig>(&bytes).ok())
                .map(|config| config.authorities)
                .unwrap_or_default(),
        };
        let mode = match (&node.follows, authorities.is_empty() && proof_of_stake.is_none()) {
            (Some(_), _) => "follower",
            (None, false) => "bft",
            (None, true) => "single",
        };
        Ok(api::ChainValidators {
            mode: mode.into(),
            authorities,
            follows: node.follows.clone(),
            proof_of_stake,
        })
    })?;
    method::<method::Validator>(&mut rpc, |(controller,), node| {
        Ok(views::validator(&lock(node)?.state, &controller.0))
    })?;
    method::<method::Unbonding>(&mut rpc, |(account,), node| {
        Ok(views::unbonding(&lock(node)?.state, &account.0))
    })?;
    method::<method::Channel>(&mut rpc, |(id,), node| {
        Ok(views::channel(&lock(node)?.state, tao_primitives::ChannelId::new(id)))
    })?;
    method::<method::Channels>(&mut rpc, |(account,), node| {
        Ok(views::channels_of(&lock(node)?.state, &account.0))
    })?;
    method::<method::Stake>(&mut rpc, |(netuid, hotkey, coldkey), node| {
        let chain = lock(node)?;
        let netuid = NetUid::new(netuid);
        Ok(if netuid.is_root() {
            chain
                .state
                .root_stake(&hotkey.0)
                .and_then(|r| r.by_coldkey.get(&coldkey.0).copied())
                .unwrap_or(0)
        } else {
            chain.state.stake_of(netuid, &hotkey.0, &coldkey.0).get()
        })
    })?;
    method::<method::StakesOf>(&mut rpc, |(coldkey,), node| {
        Ok(views::stakes_of(&lock(node)?.state, &coldkey.0))
    })?;
    // Only final blocks become heads (a single producer's at once, a BFT validator's once
    // finalized), so new and finalized heads are the same stream.
    subscription::<method::NewHeads>(&mut rpc, |n| &n.heads)?;
    subscription::<method::FinalizedHeads>(&mut rpc, |n| &n.heads)?;
    subscription::<method::Events>(&mut rpc, |n| &n.events)?;
    async_method::<method::SubmitAndWait, _, _>(&mut rpc, |(hex, timeout_ms), node| async move {
        // Subscribe before submitting, so the block that includes it cannot be missed.
        let mut heads = node.heads.subscribe();
        let hash = admit(&node, &hex).await?;
        let deadline = tokio::time::Instant::now()
            + std::time::Duration::from_millis(timeout_ms.unwrap_or(60_000).min(600_000));
        loop {
            if let Some(receipt) = stored_receipt(&*lock(&node)?, &hash)? {
                return Ok(receipt);
            }
            match tokio::time::timeout_at(deadline, heads.recv()).await {
                Err(_) => {
                    let message = format!("transaction {hash} not final in time; it may still be included (tao_transactionStatus)");
                    return Err(error(codes::TIMEOUT, message));
                }
                Ok(Err(broadcast::error::RecvError::Closed)) => {
                    return Err(error(codes::INTERNAL, "the node is shutting down"))
                }
                Ok(_) => {}
            }
        }
    })?;
    Ok(rpc)
}

async fn forward<S: Subscription>(
    pending: PendingSubscriptionSink,
    mut items: broadcast::Receiver<S::Item>,
) -> SubscriptionResult {
    let sink = pending.accept().await?;
    loop {
        match items.recv().await {
            Ok(item) => {
                let message: SubscriptionMessage = serde_json::value::to_raw_value(&item)?.into();
                if sink.send(message).await.is_err() {
                    return Ok(());
                }
            }
            Err(broadcast::error::RecvError::Lagged(_)) => continue,
            Err(broadcast::error::RecvError::Closed) => return Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::{json, Value};

    fn test_node(tag: &str) -> (Arc<Node>, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("tao-rpc-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let config = tao_types::GenesisConfig::empty(tag);
        let chain = Chain::open(&dir, &config).unwrap();
        (Arc::new(Node::new(chain, None, None)), dir)
    }

    /// Arbitrary JSON parameters: hex-ish strings, numbers, nesting.
    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>()
                .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
            "[0-9a-fx]{0,140}".prop_map(Value::from),
            proptest::collection::vec(any::<u8>(), 0..200)
                .prop_map(|b| Value::from(tao_primitives::hex::encode(&b))),
            ".{0,40}".prop_map(Value::from),
        ];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::btree_map("[a-z]{1,6}", inner, 0..3)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

        /// Any method with any parameters gets a JSON-RPC answer, never a panic, and changes
        /// nothing (random bytes are never a validly signed transaction).
        #[test]
        fn arbitrary_requests_are_answered_and_change_nothing(
            method in 0usize..32,
            params in proptest::collection::vec(json_value(), 0..4),
        ) {
            let (node, dir) = test_node("fuzz");
            let module = module(node.clone()).unwrap();
            let mut names: Vec<&str> = module.method_names().collect();
            names.sort_unstable();
            let name = names[method % names.len()];
            let before = node.chain.lock().unwrap().state.state_root();
            let request = json!({"jsonrpc": "2.0", "id": 1, "method": name, "params": params}).to_string();
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            let (response, _) = runtime.block_on(module.raw_json_request(&request, 1)).unwrap();
            let response: Value = serde_json::from_str(response.get()).unwrap();
            prop_assert!(response.get("result").is_some() || response.get("error").is_some(), "{response}");
            let chain = node.chain.lock().unwrap();
            prop_assert_eq!(chain.state.state_root(), before);
            prop_assert_eq!(chain.mempool.len(), 0);
            drop(chain);
            let _ = std::fs::remove_dir_all(&dir);
        }
    }

    /// `tao_syncState` and `tao_health.syncing` follow what the node has seen beyond its
    /// head: nothing (not syncing), a higher block announced (syncing), reached (not).
    #[test]
    fn sync_state_says_whether_the_node_is_behind_what_it_has_seen() {
        let (node, dir) = test_node("sync");
        let module = module(node.clone()).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let ask = |method: &str| -> Value {
            runtime.block_on(module.call(method, jsonrpsee::rpc_params![])).unwrap()
        };
        let state = ask("tao_syncState");
        assert_eq!(
            state,
            json!({"head": 0, "finalized": 0, "highest_seen": 0, "peers": 0, "syncing": false,
                   "oldest_block": 1})
        );
        node.sync.saw(5);
        node.sync.set_upstream(true);
        let state = ask("tao_syncState");
        assert_eq!((state["highest_seen"].as_u64(), state["peers"].as_u64()), (Some(5), Some(1)));
        assert_eq!(
            (&state["syncing"], &ask("tao_health")["syncing"]),
            (&json!(true), &json!(true))
        );
        for _ in 0..5 {
            node.chain.lock().unwrap().produce(0).unwrap();
        }
        node.sync.set_upstream(false);
        let state = ask("tao_syncState");
        assert_eq!((state["head"].as_u64(), state["peers"].as_u64()), (Some(5), Some(0)));
        assert_eq!(
            (&state["syncing"], &ask("tao_health")["syncing"]),
            (&json!(false), &json!(false))
        );
        drop(module);
        drop(node);
        let _ = std::fs::remove_dir_all(dir);
    }

    /// On a proof-of-stake chain `tao_validators` gives the epoch, parameters, the genesis
    /// set and every candidate; `tao_validator` a candidate's bonds; `tao_unbonding` an
    /// account's chunks with their release; receipts carry the typed validator events. A
    /// chain with fixed authorities has no proof-of-stake part.
    #[test]
    fn validators_candidates_bonds_and_unbonding_are_served() {
        use crate::chain::tests::signed;
        use tao_primitives::Rao;
        use tao_types::{
            Call, ConsensusSecret, GenesisBalance, GenesisConsensus, GenesisValidator,
        };
        const TAO: u64 = 1_000_000_000;
        let dir = std::env::temp_dir().join(format!("tao-rpc-pos-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let account = |uri: &str| tao_wallet::Keypair::from_uri(uri).unwrap().account();
        let (alice, bob, charlie) = (account("//Alice"), account("//Bob"), account("//Charlie"));
        let mut config = tao_types::GenesisConfig::empty("pos-rpc");
        config.balances = [alice, bob, charlie]
            .map(|a| GenesisBalance { account: a, rao: Rao::new(10_000 * TAO) })
            .to_vec();
        let alice_key = ConsensusSecret::from_seed(&[1; 32]).public();
        config.validators = vec![GenesisValidator {
            controller: alice,
            consensus_key: alice_key,
            p2p_address: "127.0.0.1:30000".into(),
            bond: Rao::new(2_000 * TAO),
            commission: 500,
        }];
        config.consensus = Some(GenesisConsensus {
            epoch_length: Some(10),
            min_validator_bond: Some(1_000 * TAO),
            unbonding_period: Some(20),
            ..GenesisConsensus::default()
        });
        let chain = Chain::open(&dir, &config).unwrap();
        let node = Arc::new(Node::new(chain, None, None));
        let module = module(node.clone()).unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let ask = |method: &str, params: Vec<Value>| -> Value {
            let mut p = jsonrpsee::core::params::ArrayParams::new();
            for v in params {
                p.insert(v).unwrap();
            }
            runtime.block_on(module.call(method, p)).unwrap()
        };

        let v = ask("tao_validators", vec![]);
        assert_eq!(v["mode"], "bft", "{v}");
        assert_eq!(v["authorities"], json!([alice_key.to_string()]));
        let pos = &v["proof_of_stake"];
        assert_eq!((pos["epoch"].as_u64(), pos["epoch_length"].as_u64()), (Some(0), Some(10)));
        assert_eq!(
            (pos["epoch_first_block"].as_u64(), pos["epoch_last_block"].as_u64()),
            (Some(1), Some(10))
        );
        assert_eq!(pos["params"]["min_validator_bond"], 1_000 * TAO);
        assert_eq!(pos["params"]["unbonding_period"], 20);
        assert_eq!(pos["current_set"]["members"][0]["controller"], alice.to_ss58());
        assert_eq!(pos["current_set"]["members"][0]["bond"], 2_000 * TAO);
        assert_eq!(pos["next_set"], Value::Null);
        assert_eq!(pos["fee_pot"], "0");
        assert_eq!(pos["candidates"].as_array().unwrap().len(), 1);
        assert_eq!(pos["candidates"][0]["in_current_set"], true);

        // Bob registers and bonds 1,200 TAO; Charlie nominates 300 and unbonds 100.
        let genesis = node.chain.lock().unwrap().state.genesis_hash();
        let bob_secret = ConsensusSecret::from_seed(&[2; 32]);
        let register = Call::RegisterValidator {
            consensus_key: bob_secret.public(),
            p2p_address: "127.0.0.1:30001".into(),
            commission: 1_000,
            proof: bob_secret.key_proof(&genesis, &bob),
        };
        let bond = |amount: u64| Call::Bond { validator: bob, amount: Rao::new(amount * TAO) };
        let unbond = Call::Unbond { validator: bob, amount: Rao::new(100 * TAO) };
        let block = {
            let mut chain = node.chain.lock().unwrap();
            let txs = [
                signed(&chain, "//Bob", 0, register),
                signed(&chain, "//Bob", 1, bond(1_200)),
                signed(&chain, "//Charlie", 0, bond(300)),
                signed(&chain, "//Charlie", 1, unbond),
            ];
            for tx in txs {
                chain.submit(tx).unwrap();
            }
            let (block, outcome) = chain.produce(1_000).unwrap();
            assert!(outcome.receipts.iter().all(|r| r.outcome == tao_types::Outcome::Success));
            block
        };
        let number = block.header.number.get();
        let receipts = ask("tao_blockReceipts", vec![json!(number)]);
        let kinds: Vec<&str> = receipts["receipts"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|r| r["event_details"].as_array().unwrap().iter())
            .filter_map(|e| e["kind"].as_str())
            .filter(|k| *k != "Fee")
            .collect();
        assert_eq!(kinds, ["ValidatorRegistered", "Bonded", "Bonded", "Unbonded"], "{receipts}");
        let unbonded = &receipts["receipts"][3]["event_details"];
        let unbonded = unbonded.as_array().unwrap().iter().find(|e| e["kind"] == "Unbonded");
        assert_eq!(unbonded.unwrap()["release_at"], number + 20);
        assert_eq!(
            receipts["receipts"][0]["event_details"][0]["consensus_key"],
            bob_secret.public().to_string()
        );

        let pos = ask("tao_validators", vec![])["proof_of_stake"].clone();
        let candidates = pos["candidates"].as_array().unwrap();
        assert_eq!(candidates.len(), 2);
        let b = candidates.iter().find(|c| c["controller"] == bob.to_ss58()).unwrap();
        assert_eq!(
            (b["self_bond"].as_u64(), b["total_bond"].as_u64()),
            (Some(1_200 * TAO), Some(1_400 * TAO))
        );
        assert_eq!((b["nominators"].as_u64(), b["commission"].as_u64()), (Some(1), Some(1_000)));
        assert_eq!((b["in_current_set"].as_bool(), b["missed"].as_u64()), (Some(false), Some(0)));
        let detail = ask("tao_validator", vec![json!(bob.to_ss58())]);
        assert_eq!(
            detail["bonds"],
            json!(if bob < charlie {
                vec![
                    json!({"account": bob.to_ss58(), "amount": 1_200 * TAO}),
                    json!({"account": charlie.to_ss58(), "amount": 200 * TAO}),
                ]
            } else {
                vec![
                    json!({"account": charlie.to_ss58(), "amount": 200 * TAO}),
                    json!({"account": bob.to_ss58(), "amount": 1_200 * TAO}),
                ]
            }),
            "{detail}"
        );
        assert_eq!(ask("tao_validator", vec![json!(charlie.to_ss58())]), Value::Null);
        let chunks = ask("tao_unbonding", vec![json!(charlie.to_ss58())]);
        assert_eq!(
            chunks,
            json!([{"validator": bob.to_ss58(), "amount": 100 * TAO, "release_at": number + 20}])
        );
        assert_eq!(ask("tao_unbonding", vec![json!(bob.to_ss58())]), json!([]));
        drop(module);
        drop(node);
        let _ = std::fs::remove_dir_all(&dir);

        // Fixed authorities: no proof-of-stake part.
        let (node, dir) = test_node("fixed");
        let module = super::module(node).unwrap();
        let v: Value =
            runtime.block_on(module.call("tao_validators", jsonrpsee::rpc_params![])).unwrap();
        assert_eq!((&v["mode"], &v["proof_of_stake"]), (&json!("single"), &Value::Null), "{v}");
        drop(module);
        let _ = std::fs::remove_dir_all(dir);
    }

    /// The module serves exactly the declared methods, `rpc_discover` serves the
    /// description, and `docs/rpc.md` has a section for every method of the description and
    /// none for a method it lacks (CI runs this).
    #[test]
    fn the_module_the_description_and_the_docs_agree() {
        let (node, dir) = test_node("doc");
        let module = module(node).unwrap();
        let mut served: Vec<&str> = module.method_names().collect();
        served.sort_unstable();
        let mut declared: Vec<&str> = api::METHODS.to_vec();
        declared.extend(api::SUBSCRIPTIONS.iter().flat_map(|(sub, _, unsub)| [*sub, *unsub]));
        declared.sort_unstable();
        assert_eq!(served, declared, "the module serves what tao-rpc-api declares");

        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let description: Value =
            runtime.block_on(module.call("rpc_discover", jsonrpsee::rpc_params![])).unwrap();
        assert_eq!(description, api::openrpc());
        assert_eq!(description["info"]["version"], api::API_VERSION);
        let version: String =
            runtime.block_on(module.call("tao_apiVersion", jsonrpsee::rpc_params![])).unwrap();
        assert_eq!(version, api::API_VERSION);

        let described: Vec<&str> = description["methods"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["name"].as_str().unwrap())
            .collect();
        let doc = include_str!("../../../docs/rpc.md");
        let documented: Vec<&str> =
            doc.lines().filter_map(|line| line.strip_prefix("### `")?.strip_suffix('`')).collect();
        for name in &described {
            assert!(documented.contains(name), "docs/rpc.md lacks a section `### `{name}``");
        }
        for name in &documented {
            assert!(described.contains(name), "docs/rpc.md documents {name}, which the API lacks");
        }
        for (_, notification, unsubscribe) in api::SUBSCRIPTIONS {
            assert!(doc.contains(notification) && doc.contains(unsubscribe), "{notification}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
