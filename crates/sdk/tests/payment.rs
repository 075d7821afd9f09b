//! Payments at the axon, over 127.0.0.1 with the channels in memory: an unpaid request
//! gets 402 and the terms without any chain look-up; every bad voucher (replayed, too
//! small, forged, another chain, unknown channel, another payee, above the deposit, an
//! expiring channel, garbage) gets 402 with its reason and serves nothing; one voucher
//! sent many times at once is served once; vouchers survive a restart and are claimed;
//! the channel cache is bounded.

use serde_json::{json, Map, Value};
use std::{
    path::{Path, PathBuf},
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};
use tao_primitives::{BlockNumber, ChannelId, Rao};
use tao_sdk::{
    axon::{AllowList, Axon, Serving, SynapseSpec},
    dendrite::{Dendrite, Query, Reply, Target},
    payment::{
        encode_voucher, sign_voucher, ChannelInfo, MemorySource, Payee, PayeeConfig,
        ACCEPTED_HEADER, GENESIS_HEADER, MIN_BLOCKS_HEADER, PAYEE_HEADER, PRICE_HEADER,
        REASON_HEADER, VOUCHER_HEADER,
    },
};
use tao_types::Hash;
use tao_wallet::Keypair;

const PRICE: Rao = Rao::new(1_000);
const GENESIS: Hash = Hash([5; 32]);

fn key(uri: &str) -> Keypair {
    Keypair::from_uri(uri).unwrap()
}

fn store(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tao-sdk-payment-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

struct Setup {
    serving: Serving,
    payee: Payee,
    source: Arc<MemorySource>,
    served: Arc<AtomicU64>,
    miner: Keypair,
}

impl Setup {
    fn target(&self) -> Target {
        Target { addr: self.serving.addr, hotkey: self.miner.ss58() }
    }
}

/// A miner (//Miner) selling `Echo` at PRICE; channel 1 from //Consumer to it (deposit
/// 10,000 RAO, expiry block 1,000), channel 2 from //Consumer to someone else, channel 3
/// expiring soon, channel 4 like channel 1; the head at block 100.
async fn setup(dir: &Path, allow: Option<AllowList>) -> Setup {
    let miner = key("//Miner");
    let consumer = key("//Consumer");
    let source = Arc::new(MemorySource::default());
    source.head.store(100, Ordering::Relaxed);
    {
        let mut channels = source.channels.lock().unwrap();
        let channel = |payee, expiry| ChannelInfo {
            payer: consumer.account(),
            payee,
            deposit: Rao::new(10_000),
            claimed: Rao::ZERO,
            expiry: BlockNumber::new(expiry),
        };
        channels.insert(ChannelId::new(1), channel(miner.account(), 1_000));
        channels.insert(ChannelId::new(2), channel(key("//Other").account(), 1_000));
        channels.insert(ChannelId::new(3), channel(miner.account(), 105));
        channels.insert(ChannelId::new(4), channel(miner.account(), 1_000));
    }
    let mut config = PayeeConfig::new(miner.account(), GENESIS, dir.to_path_buf());
    config.max_cached = 16;
    let payee = Payee::open(config, source.clone()).unwrap();
    let served = Arc::new(AtomicU64::new(0));
    let counter = served.clone();
    let spec = SynapseSpec {
        required: vec!["input".into()],
        hash_fields: vec![],
        handler: Arc::new(move |body: &Map<String, Value>| {
            counter.fetch_add(1, Ordering::SeqCst);
            let mut out = Map::new();
            out.insert("output".into(), body.get("input").cloned().unwrap_or(Value::Null));
            Ok(out)
        }),
    };
    let mut axon =
        Axon::new(miner.clone()).attach("Echo", spec).require_payment("Echo", PRICE, payee.clone());
    if let Some(list) = allow {
        axon = axon.allow(list);
    }
    let serving = axon.serve("127.0.0.1:0".parse().unwrap()).await.unwrap();
    Setup { serving, payee, source, served, miner }
}

fn echo() -> Query {
    let mut fields = Map::new();
    fields.insert("input".into(), json!(7));
    Query {
        name: "Echo".into(),
        fields,
        required: vec!["input".into()],
        hash_fields: vec![],
        timeout: Duration::from_secs(10),
    }
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

async fn send(setup: &Setup, voucher: Option<String>) -> (Reply, Vec<(String, String)>) {
    let dendrite = Dendrite::new(key("//Consumer"));
    let extra: Vec<(&str, String)> = voucher.map(|v| vec![(VOUCHER_HEADER, v)]).unwrap_or_default();
    dendrite.query_with_headers(&setup.target(), &echo(), &extra).await
}

fn voucher(signer: &str, genesis: Hash, channel: u64, amount: u64) -> String {
    encode_voucher(
        &sign_voucher(&key(signer), genesis, ChannelId::new(channel), Rao::new(amount)).unwrap(),
    )
}

/// Sends `voucher` and asserts a 402 with `reason`, and nothing served.
async fn refused(setup: &Setup, voucher: Option<String>, reason: &str) -> Vec<(String, String)> {
    let before = setup.served.load(Ordering::SeqCst);
    let (reply, headers) = send(setup, voucher).await;
    assert_eq!(reply.status, 402, "{reply:?}");
    assert_eq!(header(&headers, REASON_HEADER), Some(reason), "{headers:?}");
    assert_eq!(setup.served.load(Ordering::SeqCst), before, "a refused request was served");
    headers
}

#[tokio::test]
async fn unpaid_requests_get_402_and_the_terms_without_a_chain_lookup() {
    let dir = store("terms");
    let setup = setup(&dir, None).await;
    let headers = refused(&setup, None, "payment-required").await;
    assert_eq!(header(&headers, PRICE_HEADER), Some("1000"));
    assert_eq!(header(&headers, PAYEE_HEADER), Some(setup.miner.ss58().as_str()));
    assert_eq!(header(&headers, GENESIS_HEADER), Some(GENESIS.to_string().as_str()));
    assert_eq!(header(&headers, MIN_BLOCKS_HEADER), Some("20"));
    // Garbage is refused before any look-up too.
    refused(&setup, Some("1:2".into()), "malformed-voucher").await;
    refused(&setup, Some("x".repeat(300)), "malformed-voucher").await;
    assert_eq!(setup.source.lookups.load(Ordering::Relaxed), 0);
    // The health check stays free.
    let reply = Dendrite::new(key("//Consumer"))
        .query(
            &setup.target(),
            &Query {
                name: "Synapse".into(),
                fields: Map::new(),
                required: vec![],
                hash_fields: vec![],
                timeout: Duration::from_secs(5),
            },
        )
        .await;
    assert_eq!(reply.status, 200);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn good_vouchers_pay_and_every_bad_one_is_refused() {
    let dir = store("attacks");
    let setup = setup(&dir, None).await;
    let good = voucher("//Consumer", GENESIS, 1, 1_000);
    let (reply, headers) = send(&setup, Some(good.clone())).await;
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.synapse.unwrap()["output"], 7);
    assert_eq!(header(&headers, ACCEPTED_HEADER), Some("1000"));

    // Replayed, and one that rose by less than the price: the last accepted amount is told.
    let headers = refused(&setup, Some(good), "insufficient").await;
    assert_eq!(header(&headers, ACCEPTED_HEADER), Some("1000"));
    refused(&setup, Some(voucher("//Consumer", GENESIS, 1, 1_999)), "insufficient").await;
    // Forged (signed by another key), for another chain, tampered.
    refused(&setup, Some(voucher("//Mallory", GENESIS, 1, 2_000)), "bad-signature").await;
    refused(&setup, Some(voucher("//Consumer", Hash([6; 32]), 1, 2_000)), "bad-signature").await;
    let other_channel = voucher("//Consumer", GENESIS, 1, 3_000).replacen("1:", "4:", 1);
    refused(&setup, Some(other_channel), "bad-signature").await;
    // An unknown channel, another payee's, above the deposit, expiring soon.
    refused(&setup, Some(voucher("//Consumer", GENESIS, 9, 2_000)), "unknown-channel").await;
    refused(&setup, Some(voucher("//Consumer", GENESIS, 2, 2_000)), "wrong-payee").await;
    refused(&setup, Some(voucher("//Consumer", GENESIS, 1, 10_001)), "above-deposit").await;
    refused(&setup, Some(voucher("//Consumer", GENESIS, 3, 2_000)), "channel-expiring").await;

    // The next good one is served; what is kept is the latest.
    let (reply, _) = send(&setup, Some(voucher("//Consumer", GENESIS, 1, 2_500))).await;
    assert_eq!(reply.status, 200);
    assert_eq!(setup.served.load(Ordering::SeqCst), 2);
    let kept = setup.payee.kept();
    assert_eq!(kept.len(), 1);
    assert_eq!((kept[0].channel, kept[0].amount), (ChannelId::new(1), Rao::new(2_500)));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn one_voucher_sent_many_times_at_once_is_served_once() {
    let dir = store("race");
    let setup = Arc::new(setup(&dir, None).await);
    let v = voucher("//Consumer", GENESIS, 1, 1_000);
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let (setup, v) = (setup.clone(), v.clone());
        tasks.push(tokio::spawn(async move { send(&setup, Some(v)).await.0.status }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 402).count(), 15, "{statuses:?}");
    assert_eq!(setup.served.load(Ordering::SeqCst), 1);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn vouchers_survive_a_restart_and_are_claimed() {
    let dir = store("restart");
    let setup = setup(&dir, None).await;
    for amount in [1_000, 2_000, 3_000] {
        let (reply, _) = send(&setup, Some(voucher("//Consumer", GENESIS, 1, amount))).await;
        assert_eq!(reply.status, 200);
    }
    let source = setup.source.clone();
    // The miner goes away with the vouchers unclaimed (nothing is due yet).
    assert_eq!(setup.payee.claim_due(false).await.unwrap(), 0);
    drop(setup);
    // A new payee on the same directory knows the latest voucher and claims it once due.
    let config = PayeeConfig::new(key("//Miner").account(), GENESIS, dir.clone());
    let again = Payee::open(config, source.clone()).unwrap();
    assert_eq!(again.kept().len(), 1);
    assert_eq!(again.kept()[0].amount, Rao::new(3_000));
    source.head.store(985, Ordering::Relaxed);
    assert_eq!(again.claim_due(false).await.unwrap(), 1);
    let claims = source.claims.lock().unwrap().clone();
    assert_eq!(claims.len(), 1);
    assert_eq!(claims[0].voucher.amount, Rao::new(3_000));
    assert_eq!(source.channels.lock().unwrap()[&ChannelId::new(1)].claimed, Rao::new(3_000));
    // Claimed and past expiry: forgotten (and its file removed).
    source.head.store(1_000, Ordering::Relaxed);
    assert_eq!(again.claim_due(false).await.unwrap(), 0);
    assert!(again.kept().is_empty());
    // ... on disk too, once written: a payee opened later keeps nothing.
    let started = std::time::Instant::now();
    loop {
        let config = PayeeConfig::new(key("//Miner").account(), GENESIS, dir.clone());
        if Payee::open(config, source.clone()).unwrap().kept().is_empty() {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(5), "the forgotten voucher stays on disk");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn staked_callers_are_free_and_the_channel_cache_is_bounded() {
    let dir = store("bounds");
    let list = AllowList::new(1);
    list.set([(key("//Consumer").ss58(), 5)]);
    let setup = setup(&dir, Some(list.clone())).await;
    let (reply, _) = send(&setup, None).await;
    assert_eq!(reply.status, 200, "an allow-listed caller is served free");
    list.set(Vec::<(String, u64)>::new());
    refused(&setup, None, "payment-required").await;
    // Many unknown channels: look-ups happen, the cache stays at its cap (16).
    for channel in 100..140 {
        refused(&setup, Some(voucher("//Consumer", GENESIS, channel, 2_000)), "unknown-channel")
            .await;
    }
    assert!(setup.payee.cached_channels() <= 16, "{}", setup.payee.cached_channels());
    let _ = std::fs::remove_dir_all(&dir);
}
