//! Attacks on a real `tao-node --dev` process on 127.0.0.1, replayed as an attacker would
//! send them over JSON-RPC (issue: hostile clients cannot halt, stall or fool the node).
//! Each test asserts the attack fails: nothing of it enters the pool, blocks keep coming
//! and stay within the byte limit, an honest transfer is finalized within a bound, and
//! every block can still be served.

use codec::Encode;
use jsonrpsee::{
    core::{client::ClientT, params::ArrayParams, ClientError},
    http_client::{HttpClient, HttpClientBuilder},
};
use std::time::{Duration, Instant};
use tao_node::chain::MAX_BLOCK_BYTES;
use tao_primitives::{hex, NetUid, Rao};
use tao_rpc_api::{method, Method, Outcome};
use tao_types::{Call, Hash, Signature, SignedTransaction, Transaction};
use tao_wallet::Keypair;

/// A `tao-node --dev` process (100 ms blocks, killed on drop) and a client of its RPC.
struct DevNode {
    client: HttpClient,
    _process: tao_testkit::DevNode,
}

impl DevNode {
    async fn start(tag: &str) -> Self {
        let process = tao_testkit::DevNode::start(&format!("attack-{tag}"));
        let client = HttpClientBuilder::default()
            .request_timeout(Duration::from_secs(30))
            .build(process.url())
            .unwrap();
        let node = Self { client, _process: process };
        let started = Instant::now();
        while node.call::<method::Health>(()).await.is_err() {
            assert!(started.elapsed() < Duration::from_secs(30), "tao-node did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        node
    }

    /// Calls `M` through the API's declaration (typed parameters and answer).
    async fn call<M: Method>(&self, params: M::Params) -> Result<M::Output, ClientError> {
        let mut array = ArrayParams::new();
        for arg in tao_rpc_api::to_positional::<M>(&params).unwrap() {
            array.insert(arg).unwrap();
        }
        self.client.request(M::NAME, array).await
    }

    async fn health(&self) -> (u64, u64) {
        let health = self.call::<method::Health>(()).await.unwrap();
        (health.block, health.pending)
    }

    async fn genesis_hash(&self) -> Hash {
        self.call::<method::GenesisHash>(()).await.unwrap().0
    }

    async fn submit(&self, tx: &SignedTransaction) -> Result<Hash, ClientError> {
        let hex = hex::encode(&tx.encode());
        self.call::<method::SubmitTransaction>((hex,)).await.map(|h| h.0)
    }

    /// Waits (bounded) until the node's head is past `number`.
    async fn wait_past(&self, number: u64) {
        let started = Instant::now();
        while self.health().await.0 <= number {
            assert!(started.elapsed() < Duration::from_secs(30), "no block past {number}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Submits an honest transfer from Alice and asserts it is final within 10 s.
    async fn honest_transfer_is_final(&self, genesis_hash: Hash, nonce: u64) {
        let alice = Keypair::from_uri("//Alice").unwrap();
        let bob = Keypair::from_uri("//Bob").unwrap().account();
        let tx = signed(
            &alice,
            genesis_hash,
            nonce,
            Call::Transfer { dest: bob, amount: Rao::new(1_000_000_000) },
        );
        let hex = hex::encode(&tx.encode());
        let started = Instant::now();
        let receipt = self
            .call::<method::SubmitAndWait>((hex, Some(10_000)))
            .await
            .expect("the honest transfer is final within 10 s");
        assert!(started.elapsed() < Duration::from_secs(10));
        assert_eq!(receipt.outcome, Outcome::Success, "{receipt:?}");
    }

    /// Every block up to the head can be served raw and is within the byte limit.
    async fn every_block_is_served_within_the_limit(&self) {
        let (head, _) = self.health().await;
        for number in 1..=head {
            let raw = self.call::<method::GetBlockRaw>((number,)).await.unwrap();
            let bytes = hex::decode(&raw).unwrap();
            assert!(
                bytes.len() <= MAX_BLOCK_BYTES + 4_096,
                "block {number}: {} bytes",
                bytes.len()
            );
        }
    }
}

fn signed(key: &Keypair, genesis_hash: Hash, nonce: u64, call: Call) -> SignedTransaction {
    let transaction = Transaction { genesis_hash, signer: key.account(), nonce, call };
    let signature = key.sign(&transaction.signing_payload()).unwrap();
    SignedTransaction { transaction, signature: Signature(signature) }
}

/// Weights for `n` uids on the dev subnet: ~4n bytes, all of it free if it were admitted.
fn weights(n: u16) -> Call {
    Call::SetWeights {
        netuid: NetUid::new(1),
        uids: (0..n).collect(),
        values: vec![1; usize::from(n)],
        version_key: 0,
    }
}

fn refused<T: std::fmt::Debug>(answer: Result<T, ClientError>) -> String {
    match answer {
        Err(ClientError::Call(error)) => {
            assert_eq!(error.code(), -32010, "{error:?}");
            error.message().to_owned()
        }
        other => panic!("the attack's transaction was not refused: {other:?}"),
    }
}

/// Attack 1 (the BFT halt): fresh, unfunded keys send ~64 KB free calls (weights, axons)
/// at nonces 0..64 so that the next leader builds a block too large to send. Now free calls
/// are valid only if they succeed, so every one is refused at the door.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn free_call_floods_from_fresh_keys_are_refused_and_blocks_stay_small() {
    let node = DevNode::start("free-flood").await;
    let genesis_hash = node.genesis_hash().await;
    let big = weights(15_900);
    for seed in 0..2u8 {
        let key = Keypair::from_uri(&format!("//Flooder{seed}")).unwrap();
        for nonce in 0..65 {
            let tx = signed(&key, genesis_hash, nonce, big.clone());
            assert!(tx.encoded_size() > 60_000);
            let why = refused(node.submit(&tx).await);
            assert!(
                why.contains("free call") || why.contains("registered hotkey"),
                "nonce {nonce}: {why}"
            );
        }
        let axon = Call::ServeAxon {
            netuid: NetUid::new(1),
            axon: tao_types::AxonInfo::new(std::net::IpAddr::from([127, 0, 0, 1]), 8091),
        };
        refused(node.submit(&signed(&key, genesis_hash, 0, axon)).await);
    }
    assert_eq!(node.health().await.1, 0, "nothing of the flood is pending");
    let (now, _) = node.health().await;
    node.wait_past(now + 3).await;
    node.honest_transfer_is_final(genesis_hash, 0).await;
    node.every_block_is_served_within_the_limit().await;
}

/// Attack 2 (the pool lock): per fresh key a free call at nonce 0 (it fails, but was
/// included) and a transfer it can never pay at nonce 1 (a future nonce, admitted with no
/// fee check and never expiring). Now neither enters; honest transfers go through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fresh_keys_cannot_lock_the_pool() {
    let node = DevNode::start("pool-lock").await;
    let genesis_hash = node.genesis_hash().await;
    let bob = Keypair::from_uri("//Bob").unwrap().account();
    let mut refusals = 0;
    for i in 0..400 {
        let key = Keypair::from_uri(&format!("//Locker{i}")).unwrap();
        refused(node.submit(&signed(&key, genesis_hash, 0, weights(1))).await);
        let unpaid = Call::Transfer { dest: bob, amount: Rao::new(1) };
        let why = refused(node.submit(&signed(&key, genesis_hash, 1, unpaid)).await);
        assert!(why.contains("balance"), "{why}");
        refusals += 2;
    }
    assert_eq!(refusals, 800);
    assert_eq!(node.health().await.1, 0, "the pool holds nothing of the attack");
    node.honest_transfer_is_final(genesis_hash, 0).await;
    node.honest_transfer_is_final(genesis_hash, 1).await;
}

/// Transactions with garbage signatures, for another chain, or over the size limit are
/// refused with their reason; none is pending.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_transactions_are_refused_with_their_reason() {
    let node = DevNode::start("malformed").await;
    let genesis_hash = node.genesis_hash().await;
    let alice = Keypair::from_uri("//Alice").unwrap();
    let bob = Keypair::from_uri("//Bob").unwrap().account();
    let transfer = Call::Transfer { dest: bob, amount: Rao::new(1) };
    let mut garbage = signed(&alice, genesis_hash, 0, transfer.clone());
    garbage.signature.0[10] ^= 0xff;
    assert!(refused(node.submit(&garbage).await).contains("bad signature"));
    let other_chain = signed(&alice, Hash([9; 32]), 0, transfer.clone());
    assert!(refused(node.submit(&other_chain).await).contains("another chain"));
    let far = signed(&alice, genesis_hash, 1_000, transfer);
    assert!(refused(node.submit(&far).await).contains("ahead"));
    assert_eq!(node.health().await.1, 0);
    node.honest_transfer_is_final(genesis_hash, 0).await;
}
