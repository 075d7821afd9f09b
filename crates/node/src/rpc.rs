//! JSON-RPC over HTTP and WebSocket (`docs/rpc.md` lists every method).
//!
//! Values are JSON at this boundary only: amounts are integers in RAO (or alpha units),
//! accounts SS58, hashes and transactions `0x`-hex.
//!
//! A submitted transaction's signature is checked before the chain's lock is taken, on the
//! blocking pool and at most one check per core at a time, so a flood of badly signed
//! transactions neither holds the lock nor occupies the async workers that consensus and
//! block production share. [`server`] serves the module within the limits of `docs/rpc.md`.

pub mod server;

use crate::{
    chain::Chain,
    mempool::{SubmitError, VerifiedTransaction},
};
use jsonrpsee::{
    core::SubscriptionResult,
    types::{ErrorObject, ErrorObjectOwned, Params},
    PendingSubscriptionSink, RpcModule, SubscriptionMessage,
};
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use tao_primitives::{AccountId, NetUid};
use tao_types::{Block, Hash, Header, Outcome, Receipt, SignedTransaction};
use tokio::sync::broadcast;

/// What the RPC handlers share.
pub struct Node {
    /// The chain.
    pub chain: Mutex<Chain>,
    /// New finalized heads (dev mode: every produced block is final).
    pub heads: broadcast::Sender<Value>,
    /// Each new block's events: `{"block", "hash", "events": [{"tx_hash"?, "event"}]}`.
    pub events: broadcast::Sender<Value>,
    /// Counters for `/metrics`.
    pub metrics: crate::metrics::Metrics,
    /// The node this one follows (a replica produces nothing and refuses submissions).
    pub follows: Option<String>,
    /// Where admitted transactions go to reach the other validators (BFT mode).
    pub gossip: Option<tokio::sync::mpsc::UnboundedSender<SignedTransaction>>,
    /// Signature checks and dry runs under way at once: at most one per core.
    cpu: tokio::sync::Semaphore,
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
            cpu: tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get),
            ),
        }
    }

    /// Runs CPU-heavy `work` (signature checks, dry runs) on the blocking pool, at most one
    /// per core at a time, never holding the chain's lock.
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
        let _ = self.events.send(events_json(block, outcome));
        let _ = self.heads.send(header_json(&block.header));
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
}

fn error(code: i32, message: impl Into<String>) -> ErrorObjectOwned {
    ErrorObject::owned(code, message.into(), None::<()>)
}

fn bad_params(message: impl Into<String>) -> ErrorObjectOwned {
    error(codes::INVALID_PARAMS, message)
}

fn hash_param(text: &str) -> Result<Hash, ErrorObjectOwned> {
    let bytes =
        tao_primitives::hex::decode(text).map_err(|e| bad_params(format!("{text:?}: {e}")))?;
    let array: [u8; 32] = bytes.try_into().map_err(|_| bad_params("a hash is 32 bytes"))?;
    Ok(Hash(array))
}

fn account_param(text: &str) -> Result<AccountId, ErrorObjectOwned> {
    AccountId::from_ss58(text).map_err(|e| bad_params(format!("{text:?}: {e}")))
}

/// A header as JSON.
pub fn header_json(header: &Header) -> Value {
    json!({
        "number": header.number.get(),
        "hash": header.hash().to_string(),
        "parent_hash": header.parent_hash.to_string(),
        "state_root": header.state_root.to_string(),
        "transactions_root": header.transactions_root.to_string(),
        "timestamp_ms": header.timestamp_ms,
    })
}

/// A block's events as JSON: the block's own (emission, epochs), then each transaction's.
pub fn events_json(block: &Block, outcome: &tao_runtime::BlockOutcome) -> Value {
    let own = outcome.events.iter().map(|e| json!({"event": format!("{e:?}")}));
    let of_txs = outcome.receipts.iter().flat_map(|r| {
        r.events
            .iter()
            .map(move |e| json!({"tx_hash": r.tx_hash.to_string(), "event": format!("{e:?}")}))
    });
    json!({"block": block.header.number.get(), "hash": block.header.hash().to_string(),
           "events": own.chain(of_txs).collect::<Vec<_>>()})
}

/// A receipt as JSON.
pub fn receipt_json(receipt: &Receipt, block_hash: Option<&Hash>) -> Value {
    let (outcome, error) = match &receipt.outcome {
        Outcome::Success => ("success", Value::Null),
        Outcome::Failed(e) => {
            ("failed", json!({"name": format!("{e:?}"), "message": e.to_string()}))
        }
        Outcome::Invalid(e) => {
            // A failing free call is invalid; its name is the call's own error (what a
            // client acts on, e.g. proof of work for a block that is no longer recent).
            let name = match e {
                tao_types::InvalidTransaction::FreeCallFails(call) => format!("{call:?}"),
                other => format!("{other:?}"),
            };
            ("invalid", json!({"name": name, "message": e.to_string()}))
        }
    };
    json!({
        "tx_hash": receipt.tx_hash.to_string(),
        "block": receipt.block.get(),
        "block_hash": block_hash.map(Hash::to_string),
        "index": receipt.index,
        "signer": receipt.signer.to_ss58(),
        "fee": receipt.fee.get(),
        "outcome": outcome,
        "error": error,
        "events": receipt.events.iter().map(|e| format!("{e:?}")).collect::<Vec<_>>(),
    })
}

fn block_json(block: &Block) -> Value {
    json!({
        "header": header_json(&block.header),
        "transactions": block.transactions.iter().map(|tx| json!({
            "hash": tx.hash().to_string(),
            "signer": tx.transaction.signer.to_ss58(),
            "nonce": tx.transaction.nonce,
            "call": tx.transaction.call.name(),
        })).collect::<Vec<_>>(),
    })
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
    let verified =
        node.off_workers(move || VerifiedTransaction::verify(tx)).await?.map_err(refused)?;
    let gossiped = node.gossip.as_ref().map(|gossip| (gossip, verified.transaction().clone()));
    let hash = lock(node)?.submit_verified(verified).map_err(refused)?;
    if let Some((gossip, tx)) = gossiped {
        let _ = gossip.send(tx);
    }
    Ok(hash)
}

type Rpc = RpcModule<Arc<Node>>;

fn lock(node: &Node) -> Result<std::sync::MutexGuard<'_, Chain>, ErrorObjectOwned> {
    node.chain.lock().map_err(|_| error(codes::INTERNAL, "chain lock poisoned"))
}

/// Every method of the node's RPC.
pub fn module(node: Arc<Node>) -> anyhow::Result<Rpc> {
    let mut rpc = RpcModule::new(node);
    rpc.register_method("tao_health", |_, node, _| -> Result<Value, ErrorObjectOwned> {
        let chain = lock(node)?;
        Ok(json!({"block": chain.head.number.get(), "finalized": chain.head.number.get(), "pending": chain.mempool.len()}))
    })?;
    rpc.register_method("tao_genesisHash", |_, node, _| -> Result<Value, ErrorObjectOwned> {
        Ok(json!(lock(node)?.state.genesis_hash().to_string()))
    })?;
    rpc.register_method("tao_chainHead", |_, node, _| -> Result<Value, ErrorObjectOwned> {
        Ok(header_json(&lock(node)?.head))
    })?;
    rpc.register_method(
        "tao_getBlock",
        |params: Params<'_>, node, _| -> Result<Value, ErrorObjectOwned> {
            let chain = lock(node)?;
            let which: Value = params.one().map_err(|e| bad_params(e.message().to_owned()))?;
            let number = match &which {
                Value::Number(n) => n.as_u64().ok_or_else(|| bad_params("block number"))?,
                Value::String(s) => chain
                    .store
                    .number_of(&hash_param(s)?)
                    .map_err(|e| error(codes::INTERNAL, e.to_string()))?
                    .ok_or_else(|| error(codes::NOT_FOUND, "no block with that hash"))?,
                _ => return Err(bad_params("give a block number or a block hash")),
            };
            let block =
                chain.store.block(number).map_err(|e| error(codes::INTERNAL, e.to_string()))?;
            block
                .map(|b| block_json(&b))
                .ok_or_else(|| error(codes::NOT_FOUND, format!("no block {number}")))
        },
    )?;
    rpc.register_method(
        "tao_getBlockRaw",
        |params: Params<'_>, node, _| -> Result<Value, ErrorObjectOwned> {
            let number: u64 = params.one().map_err(|e| bad_params(e.message().to_owned()))?;
            let chain = lock(node)?;
            let block =
                chain.store.block(number).map_err(|e| error(codes::INTERNAL, e.to_string()))?;
            block
                .map(|b| json!(tao_primitives::hex::encode(&codec::Encode::encode(&b))))
                .ok_or_else(|| error(codes::NOT_FOUND, format!("no block {number}")))
        },
    )?;
    rpc.register_async_method(
        "tao_submitTransaction",
        |params: Params<'static>, node, _| async move {
            let hex: String = params.one().map_err(|e| bad_params(e.message().to_owned()))?;
            Ok::<Value, ErrorObjectOwned>(json!(admit(&node, &hex).await?.to_string()))
        },
    )?;
    rpc.register_method("tao_transactionStatus", |params: Params<'_>, node, _| -> Result<Value, ErrorObjectOwned> {
        let hex: String = params.one().map_err(|e| bad_params(e.message().to_owned()))?;
        let hash = hash_param(&hex)?;
        let chain = lock(node)?;
        if let Some(stored) = chain.store.receipt(&hash).map_err(|e| error(codes::INTERNAL, e.to_string()))? {
            return Ok(json!({"status": "finalized", "receipt": receipt_json(&stored.receipt, Some(&stored.block_hash))}));
        }
        if chain.mempool.contains(&hash) {
            return Ok(json!({"status": "pending"}));
        }
        Ok(json!({"status": "unknown"}))
    })?;
    rpc.register_async_method("tao_dryRun", |params: Params<'static>, node, _| async move {
        let hex: String = params.one().map_err(|e| bad_params(e.message().to_owned()))?;
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
        Ok::<Value, ErrorObjectOwned>(receipt_json(&receipt, None))
    })?;
    rpc.register_method(
        "tao_accountInfo",
        |params: Params<'_>, node, _| -> Result<Value, ErrorObjectOwned> {
            let address: String = params.one().map_err(|e| bad_params(e.message().to_owned()))?;
            let id = account_param(&address)?;
            let chain = lock(node)?;
            let account = chain.state.account(&id);
            let next_nonce = chain.mempool.next_nonce(&id, account.nonce);
            Ok(json!({"address": address, "free": account.free.get(), "nonce": account.nonce, "next_nonce": next_nonce}))
        },
    )?;
    rpc.register_method("tao_subnets", |_, node, _| -> Result<Value, ErrorObjectOwned> {
        let chain = lock(node)?;
        Ok(Value::Array(chain.state.subnets().map(|(n, s)| subnet_summary(*n, s)).collect()))
    })?;
    rpc.register_method(
        "tao_metagraph",
        |params: Params<'_>, node, _| -> Result<Value, ErrorObjectOwned> {
            let netuid: u16 = params.one().map_err(|e| bad_params(e.message().to_owned()))?;
            let chain = lock(node)?;
            crate::views::metagraph(&chain.state, NetUid::new(netuid))
                .ok_or_else(|| error(codes::NOT_FOUND, format!("no subnet {netuid}")))
        },
    )?;
    rpc.register_method("tao_issuance", |_, node, _| -> Result<Value, ErrorObjectOwned> {
        let chain = lock(node)?;
        let info = chain.state.chain();
        let (free, pools, root) = chain.state.tao_holdings();
        Ok(json!({
            "block": chain.head.number.get(),
            "total_issuance": info.total_issuance.get(),
            "total_minted": info.total_minted.get(),
            "total_fees": info.total_fees.get(),
            "total_registration_burn": info.total_registration_burn.get(),
            "held": {"free": free.to_string(), "pools": pools.to_string(), "root_stake": root.to_string()},
        }))
    })?;
    rpc.register_method("tao_delegates", |_, node, _| -> Result<Value, ErrorObjectOwned> {
        let chain = lock(node)?;
        Ok(Value::Array(delegates(&chain.state)))
    })?;
    rpc.register_method("tao_lockCost", |_, node, _| -> Result<Value, ErrorObjectOwned> {
        Ok(json!(tao_runtime::subnets::lock_cost(&lock(node)?.state).get()))
    })?;
    rpc.register_method(
        "tao_stake",
        |params: Params<'_>, node, _| -> Result<Value, ErrorObjectOwned> {
            let (netuid, hotkey, coldkey): (u16, String, String) =
                params.parse().map_err(|e| bad_params(e.message().to_owned()))?;
            let (hotkey, coldkey) = (account_param(&hotkey)?, account_param(&coldkey)?);
            let chain = lock(node)?;
            let netuid = NetUid::new(netuid);
            let amount = if netuid.is_root() {
                chain
                    .state
                    .root_stake(&hotkey)
                    .and_then(|r| r.by_coldkey.get(&coldkey).copied())
                    .unwrap_or(0)
            } else {
                chain.state.stake_of(netuid, &hotkey, &coldkey).get()
            };
            Ok(json!(amount))
        },
    )?;
    rpc.register_method("tao_stakesOf", |params: Params<'_>, node, _| -> Result<Value, ErrorObjectOwned> {
        let address: String = params.one().map_err(|e| bad_params(e.message().to_owned()))?;
        let coldkey = account_param(&address)?;
        let chain = lock(node)?;
        let mut stakes = Vec::new();
        for (netuid, subnet) in chain.state.subnets() {
            for (hotkey, pool) in subnet.stakes.get() {
                let alpha = pool.value(&coldkey);
                if alpha > 0 {
                    stakes.push(json!({"netuid": netuid.get(), "hotkey": hotkey.to_ss58(), "alpha": alpha}));
                }
            }
        }
        for (hotkey, root) in chain.state.root_stakes() {
            if let Some(&tao) = root.by_coldkey.get(&coldkey).filter(|&&tao| tao > 0) {
                stakes.push(json!({"netuid": 0, "hotkey": hotkey.to_ss58(), "alpha": tao}));
            }
        }
        Ok(Value::Array(stakes))
    })?;
    // (subscribe, notification, unsubscribe, the stream it follows). Only final blocks
    // become heads (a single producer's at once, a BFT validator's once finalized), so new
    // and finalized heads are the same stream.
    type Stream = fn(&Node) -> &broadcast::Sender<Value>;
    let streams: [(&'static str, &'static str, &'static str, Stream); 3] = [
        ("tao_subscribeNewHeads", "tao_newHead", "tao_unsubscribeNewHeads", |n| &n.heads),
        (
            "tao_subscribeFinalizedHeads",
            "tao_finalizedHead",
            "tao_unsubscribeFinalizedHeads",
            |n| &n.heads,
        ),
        ("tao_subscribeEvents", "tao_events", "tao_unsubscribeEvents", |n| &n.events),
    ];
    for (subscribe, notification, unsubscribe, stream) in streams {
        rpc.register_subscription(
            subscribe,
            notification,
            unsubscribe,
            move |_, pending: PendingSubscriptionSink, node, _| async move {
                forward(pending, stream(&node).subscribe()).await
            },
        )?;
    }
    rpc.register_async_method("tao_submitAndWait", |params: Params<'static>, node, _| async move {
        let (hex, timeout_ms): (String, Option<u64>) = params
            .parse()
            .or_else(|_| params.one::<String>().map(|h| (h, None)))
            .map_err(|e| bad_params(e.message().to_owned()))?;
        // Subscribe before submitting, so the block that includes it cannot be missed.
        let mut heads = node.heads.subscribe();
        let hash = admit(&node, &hex).await?;
        let deadline = tokio::time::Instant::now()
            + std::time::Duration::from_millis(timeout_ms.unwrap_or(60_000).min(600_000));
        loop {
            {
                let chain = lock(&node)?;
                if let Some(stored) = chain.store.receipt(&hash).map_err(|e| error(codes::INTERNAL, e.to_string()))? {
                    return Ok::<Value, ErrorObjectOwned>(receipt_json(&stored.receipt, Some(&stored.block_hash)));
                }
            }
            match tokio::time::timeout_at(deadline, heads.recv()).await {
                Err(_) => {
                    return Err(error(codes::TIMEOUT, format!("transaction {hash} not final in time; it may still be included (tao_transactionStatus)")))
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

async fn forward(
    pending: PendingSubscriptionSink,
    mut items: broadcast::Receiver<Value>,
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

/// Every hotkey anyone stakes to (on root or a subnet), with its take and nominators.
fn delegates(state: &tao_runtime::State) -> Vec<Value> {
    use std::collections::{BTreeMap, BTreeSet};
    #[derive(Default)]
    struct Entry {
        root: u64,
        subnets: BTreeMap<u16, u64>,
        nominators: BTreeSet<tao_primitives::AccountId>,
    }
    let mut all: BTreeMap<tao_primitives::AccountId, Entry> = BTreeMap::new();
    for (hotkey, root) in state.root_stakes() {
        let e = all.entry(*hotkey).or_default();
        e.root = root.total;
        e.nominators.extend(root.by_coldkey.iter().filter(|(_, v)| **v > 0).map(|(c, _)| *c));
    }
    for (netuid, subnet) in state.subnets() {
        for (hotkey, pool) in subnet.stakes.get() {
            let e = all.entry(*hotkey).or_default();
            e.subnets.insert(netuid.get(), pool.total);
            e.nominators.extend(pool.coldkeys().filter(|c| pool.value(c) > 0).copied());
        }
    }
    all.into_iter()
        .map(|(hotkey, e)| {
            json!({
                "hotkey": hotkey.to_ss58(),
                "owner": state.hotkey_owner(&hotkey).map(|o| o.to_ss58()),
                "take": state.take(&hotkey),
                "root_stake": e.root,
                "alpha_stake": e.subnets.iter().map(|(n, a)| json!({"netuid": n, "alpha": a})).collect::<Vec<_>>(),
                "nominators": e.nominators.len(),
            })
        })
        .collect()
}

fn subnet_summary(netuid: NetUid, subnet: &tao_runtime::Subnet) -> Value {
    let info = subnet.info.get();
    json!({
        "netuid": netuid.get(),
        "owner_coldkey": info.owner_coldkey.to_ss58(),
        "owner_hotkey": info.owner_hotkey.to_ss58(),
        "tempo": info.params.tempo,
        "neurons": subnet.neurons.get().neurons.len(),
        "max_uids": info.params.max_allowed_uids,
        "burn": info.burn.get(),
        "pool_tao": info.pool.tao,
        "pool_alpha": info.pool.alpha,
        "price": info.pool.price().to_num::<f64>(),
        "moving_price": info.moving_price.to_num::<f64>(),
        "emission_started": info.first_emission_block.is_some(),
        "first_emission_block": info.first_emission_block.map(|b| b.get()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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

    #[test]
    fn every_method_is_documented() {
        let (node, dir) = test_node("doc");
        let module = module(node).unwrap();
        let doc = include_str!("../../../docs/rpc.md");
        let mut names: Vec<&str> = module.method_names().collect();
        names.sort_unstable();
        assert!(names.len() >= 14, "{names:?}");
        for name in names.iter().filter(|n| !n.starts_with("tao_unsubscribe")) {
            assert!(doc.contains(&format!("### `{name}`")), "docs/rpc.md lacks {name}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
