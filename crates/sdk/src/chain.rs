//! A chain client for subnet code: the metagraph of a subnet in one call, and signed
//! submissions (serve an axon, set weights) followed to finality. Every call has a timeout.

use jsonrpsee::{
    core::{client::ClientT, params::ArrayParams, ClientError},
    http_client::{HttpClient, HttpClientBuilder},
};
use serde_json::Value;
use std::{
    net::{IpAddr, SocketAddr},
    time::{Duration, Instant},
};
use tao_primitives::NetUid;
use tao_types::{AxonInfo, Call, Hash, IpType, Signature, SignedTransaction, Transaction};
use tao_wallet::Keypair;

/// Why a chain call failed.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// The node could not be reached, or answered with an error.
    #[error("node: {0}")]
    Node(String),
    /// The node's answer lacked something.
    #[error("unexpected answer: {0}")]
    Answer(String),
    /// The transaction was refused, or failed on chain.
    #[error("transaction: {0}")]
    Transaction(String),
    /// Not final in time.
    #[error("transaction {0} not final in time")]
    Timeout(String),
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

/// A client of one node.
pub struct ChainClient {
    http: HttpClient,
}

fn params(values: Vec<Value>) -> Result<ArrayParams, ChainError> {
    let mut array = ArrayParams::new();
    for v in values {
        array.insert(v).map_err(|e| ChainError::Node(e.to_string()))?;
    }
    Ok(array)
}

impl ChainClient {
    /// A client of the node at `url` (e.g. `http://127.0.0.1:9944`).
    pub fn new(url: &str) -> Result<Self, ChainError> {
        let http = HttpClientBuilder::default()
            .request_timeout(Duration::from_secs(10))
            .build(url)
            .map_err(|e| ChainError::Node(e.to_string()))?;
        Ok(Self { http })
    }

    /// Calls `method`.
    pub async fn call(&self, method: &str, args: Vec<Value>) -> Result<Value, ChainError> {
        let result: Result<Value, ClientError> = self.http.request(method, params(args)?).await;
        result.map_err(|e| match e {
            ClientError::Call(err) if err.code() == -32010 => {
                ChainError::Transaction(err.message().to_owned())
            }
            other => ChainError::Node(other.to_string()),
        })
    }

    /// The neurons of subnet `netuid`, by UID.
    pub async fn neurons(&self, netuid: u16) -> Result<Vec<Neuron>, ChainError> {
        let m = self.call("tao_metagraph", vec![Value::from(netuid)]).await?;
        let list = |key: &str| m.get(key).and_then(Value::as_array).cloned().unwrap_or_default();
        let (hotkeys, axons, permits, stakes) =
            (list("hotkeys"), list("axons"), list("validator_permit"), list("alpha_stake"));
        Ok(hotkeys
            .iter()
            .enumerate()
            .map(|(i, hotkey)| {
                let axon = axons.get(i).and_then(|a| {
                    let ip: IpAddr = a.get("ip")?.as_str()?.parse().ok()?;
                    let port = u16::try_from(a.get("port")?.as_u64()?).ok()?;
                    Some(SocketAddr::new(ip, port))
                });
                Neuron {
                    uid: u16::try_from(i).unwrap_or(u16::MAX),
                    hotkey: hotkey.as_str().unwrap_or_default().to_owned(),
                    axon,
                    validator_permit: permits.get(i).and_then(Value::as_bool).unwrap_or(false),
                    stake: stakes.get(i).and_then(Value::as_u64).unwrap_or(0),
                }
            })
            .collect())
    }

    /// Signs `call` with `key` at its next nonce, submits it and waits until it is final;
    /// returns the receipt. A transaction that would fail is not sent.
    pub async fn submit(
        &self,
        key: &Keypair,
        call: Call,
        timeout: Duration,
    ) -> Result<Value, ChainError> {
        let genesis = self.call("tao_genesisHash", Vec::new()).await?;
        let bytes = tao_primitives::hex::decode(genesis.as_str().unwrap_or_default())
            .map_err(|e| ChainError::Answer(e.to_string()))?;
        let genesis_hash =
            Hash(bytes.try_into().map_err(|_| ChainError::Answer("genesis hash".into()))?);
        let account = self.call("tao_accountInfo", vec![Value::from(key.ss58())]).await?;
        let nonce = account
            .get("next_nonce")
            .and_then(Value::as_u64)
            .ok_or_else(|| ChainError::Answer("no next_nonce".into()))?;
        let transaction = Transaction { genesis_hash, signer: key.account(), nonce, call };
        let signature = key
            .sign(&transaction.signing_payload())
            .ok_or_else(|| ChainError::Transaction("the key has no secret".into()))?;
        let signed = SignedTransaction { transaction, signature: Signature(signature) };
        let hex = tao_primitives::hex::encode(&codec::Encode::encode(&signed));
        let dry = self.call("tao_dryRun", vec![Value::from(hex.clone())]).await?;
        if dry.get("outcome").and_then(Value::as_str) != Some("success") {
            let why = dry.pointer("/error/message").and_then(Value::as_str).unwrap_or("unknown");
            return Err(ChainError::Transaction(format!("would fail: {why}")));
        }
        let hash = self.call("tao_submitTransaction", vec![Value::from(hex)]).await?;
        let hash = hash.as_str().unwrap_or_default().to_owned();
        let started = Instant::now();
        loop {
            let status =
                self.call("tao_transactionStatus", vec![Value::from(hash.clone())]).await?;
            if status.get("status").and_then(Value::as_str) == Some("finalized") {
                let receipt = status.get("receipt").cloned().unwrap_or(Value::Null);
                if receipt.get("outcome").and_then(Value::as_str) == Some("success") {
                    return Ok(receipt);
                }
                let why =
                    receipt.pointer("/error/message").and_then(Value::as_str).unwrap_or("unknown");
                return Err(ChainError::Transaction(format!("failed: {why}")));
            }
            if started.elapsed() > timeout {
                return Err(ChainError::Timeout(hash));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Publishes where `hotkey` serves on subnet `netuid`.
    pub async fn serve_axon(
        &self,
        hotkey: &Keypair,
        netuid: u16,
        addr: SocketAddr,
    ) -> Result<Value, ChainError> {
        let (ip, ip_type) = match addr.ip() {
            IpAddr::V4(v4) => (u128::from(u32::from(v4)), IpType::V4),
            IpAddr::V6(v6) => (u128::from(v6), IpType::V6),
        };
        let axon = AxonInfo { version: 1, ip, port: addr.port(), ip_type, protocol: 4 };
        self.submit(
            hotkey,
            Call::ServeAxon { netuid: NetUid::new(netuid), axon },
            Duration::from_secs(60),
        )
        .await
    }

    /// Sets `hotkey`'s weights on subnet `netuid` (scores of any scale; max-upscaled on chain).
    pub async fn set_weights(
        &self,
        hotkey: &Keypair,
        netuid: u16,
        weights: &[(u16, u16)],
    ) -> Result<Value, ChainError> {
        let call = Call::SetWeights {
            netuid: NetUid::new(netuid),
            uids: weights.iter().map(|(u, _)| *u).collect(),
            values: weights.iter().map(|(_, w)| *w).collect(),
            version_key: 0,
        };
        self.submit(hotkey, call, Duration::from_secs(60)).await
    }
}
