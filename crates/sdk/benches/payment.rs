//! The cost of payment checks at the axon: the same axon and handler, with the synapse
//! priced (`require_payment`: voucher parse, cached channel, sr25519 verify, the voucher
//! kept durably with write + fsync + rename, group-committed) and without, measured in the
//! same run with the same client: 32 consumers (one dendrite and one channel each), one
//! query in flight each, a new connection per query. Vouchers are signed before the clock
//! starts (signing is the consumer's cost). Paid runs twice: vouchers synced to the disk
//! before the reply (`Durability::Synced`, the default) and written to the OS only
//! (`Durability::Written`). Runs alternate (free, synced, written, free, …) and the median
//! run of each is reported. Goal: paid/free throughput ≥ 0.8.
//!
//! Run: `cargo bench -p tao-sdk --bench payment` (`-- --requests N --rounds R`).

use serde_json::{json, Map, Value};
use std::{
    sync::{atomic::Ordering, Arc},
    time::{Duration, Instant},
};
use tao_primitives::{BlockNumber, ChannelId, Rao};
use tao_sdk::{
    axon::{Axon, Serving, SynapseSpec},
    dendrite::{Dendrite, Query, Target},
    payment::{
        encode_voucher, sign_voucher, ChannelInfo, Durability, MemorySource, Payee, PayeeConfig,
        VOUCHER_HEADER,
    },
};
use tao_types::Hash;
use tao_wallet::Keypair;

const IN_FLIGHT: usize = 32;
const PRICE: Rao = Rao::new(1_000);
const GENESIS: Hash = Hash([5; 32]);

fn query() -> Query {
    let mut fields = Map::new();
    fields.insert("input".into(), json!(21));
    Query {
        name: "Dummy".into(),
        fields,
        required: vec!["input".into()],
        hash_fields: Vec::new(),
        timeout: Duration::from_secs(30),
    }
}

fn spec() -> SynapseSpec {
    SynapseSpec {
        required: vec!["input".into()],
        hash_fields: Vec::new(),
        handler: Arc::new(|body: &Map<String, Value>| {
            let input = body.get("input").and_then(Value::as_i64).ok_or("input")?;
            let mut out = Map::new();
            out.insert("output".into(), json!(input * 2));
            Ok(out)
        }),
    }
}

/// Requests per second and sorted latencies: consumer `w` sends its `vouchers[w]` (or no
/// header at all when `None`), one after the other.
async fn load(
    dendrites: &[Dendrite],
    target: &Target,
    requests: usize,
    vouchers: Option<Vec<Vec<String>>>,
) -> (f64, Vec<Duration>) {
    let started = Instant::now();
    let mut workers = Vec::new();
    for (w, dendrite) in dendrites.iter().enumerate() {
        let (dendrite, target) = (dendrite.clone(), target.clone());
        let mine = vouchers.as_ref().map(|v| v[w].clone());
        let count = (w..requests).step_by(IN_FLIGHT).count();
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            for i in 0..count {
                let extra: Vec<(&str, String)> = match &mine {
                    Some(v) => vec![(VOUCHER_HEADER, v[i].clone())],
                    None => Vec::new(),
                };
                let sent = Instant::now();
                let (reply, _) = dendrite.query_with_headers(&target, &query(), &extra).await;
                assert_eq!(reply.status, 200, "{reply:?}");
                latencies.push(sent.elapsed());
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await.unwrap());
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort();
    (all.len() as f64 / elapsed, all)
}

fn p99(sorted: &[Duration]) -> f64 {
    sorted[(sorted.len() * 99 / 100).min(sorted.len() - 1)].as_secs_f64() * 1e3
}

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn median(mut runs: Vec<(f64, f64)>) -> (f64, f64) {
    runs.sort_by(|a, b| a.0.total_cmp(&b.0));
    runs[runs.len() / 2]
}

async fn serve(paid: Option<Payee>) -> Serving {
    let miner = Keypair::from_uri("//Miner").unwrap();
    let mut axon = Axon::new(miner).attach("Dummy", spec());
    if let Some(payee) = paid {
        axon = axon.require_payment("Dummy", PRICE, payee);
    }
    axon.serve("127.0.0.1:0".parse().unwrap()).await.unwrap()
}

fn main() {
    // `TAO_BENCH_QUICK` set (CI runs every bench once so it cannot rot): 64 requests, 1 round.
    let quick = std::env::var_os("TAO_BENCH_QUICK").is_some();
    let requests = arg("--requests", if quick { 64 } else { 2_000 });
    let rounds = arg("--rounds", if quick { 1 } else { 3 });
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let miner = Keypair::from_uri("//Miner").unwrap();
        let consumers: Vec<Keypair> =
            (0..IN_FLIGHT).map(|i| Keypair::from_uri(&format!("//Consumer{i}")).unwrap()).collect();
        let dendrites: Vec<Dendrite> = consumers.iter().map(|k| Dendrite::new(k.clone())).collect();
        let source = Arc::new(MemorySource::default());
        source.head.store(10, Ordering::Relaxed);
        {
            let mut channels = source.channels.lock().unwrap();
            for (i, consumer) in consumers.iter().enumerate() {
                channels.insert(
                    ChannelId::new(i as u64),
                    ChannelInfo {
                        payer: consumer.account(),
                        payee: miner.account(),
                        deposit: Rao::new(u64::MAX / 2),
                        claimed: Rao::ZERO,
                        expiry: BlockNumber::new(1_000_000),
                    },
                );
            }
        }
        let dir = std::env::temp_dir().join(format!("tao-bench-payment-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let payee = |durability, sub: &str| {
            let mut config = PayeeConfig::new(miner.account(), GENESIS, dir.join(sub));
            config.durability = durability;
            Payee::open(config, source.clone()).unwrap()
        };
        let free = serve(None).await;
        let paid = serve(Some(payee(Durability::Synced, "synced"))).await;
        let written = serve(Some(payee(Durability::Written, "written"))).await;
        let target = |s: &Serving| Target { addr: s.addr, hotkey: miner.ss58() };
        // Every round's vouchers, signed now: consumer w's k-th voucher pays (k + 1) prices.
        let mut next = vec![0u64; IN_FLIGHT];
        let mut vouchers_for_round = || -> Vec<Vec<String>> {
            consumers
                .iter()
                .enumerate()
                .map(|(w, consumer)| {
                    (w..requests)
                        .step_by(IN_FLIGHT)
                        .map(|_| {
                            next[w] += 1;
                            let amount = Rao::new(next[w] * PRICE.get());
                            let v = sign_voucher(consumer, GENESIS, ChannelId::new(w as u64), amount);
                            encode_voucher(&v.unwrap())
                        })
                        .collect()
                })
                .collect()
        };
        // Warm up both (connections, the channel cache).
        load(&dendrites, &target(&free), IN_FLIGHT * 2, None).await;
        let warm = vouchers_for_round();
        load(&dendrites, &target(&paid), requests, Some(warm)).await;
        let warm = vouchers_for_round();
        load(&dendrites, &target(&written), requests, Some(warm)).await;
        let (mut free_runs, mut paid_runs, mut written_runs) = (Vec::new(), Vec::new(), Vec::new());
        for round in 0..rounds {
            let vouchers = vouchers_for_round();
            let (rps, lat) = load(&dendrites, &target(&free), requests, None).await;
            free_runs.push((rps, p99(&lat)));
            let (prps, plat) = load(&dendrites, &target(&paid), requests, Some(vouchers)).await;
            paid_runs.push((prps, p99(&plat)));
            let vouchers = vouchers_for_round();
            let (wrps, wlat) = load(&dendrites, &target(&written), requests, Some(vouchers)).await;
            written_runs.push((wrps, p99(&wlat)));
            println!(
                "round {round}: free {rps:.0} req/s p99 {:.2} ms | paid, synced {prps:.0} req/s p99 {:.2} ms | paid, written {wrps:.0} req/s p99 {:.2} ms",
                p99(&lat),
                p99(&plat),
                p99(&wlat)
            );
        }
        let (free_rps, free_p99) = median(free_runs);
        let (paid_rps, paid_p99) = median(paid_runs);
        let (written_rps, written_p99) = median(written_runs);
        println!(
            "axon, {requests} requests, {IN_FLIGHT} in flight, median of {rounds} runs:\n  \
             without payment checks:        {free_rps:.0} req/s, p99 {free_p99:.2} ms\n  \
             with payment checks (synced):  {paid_rps:.0} req/s, p99 {paid_p99:.2} ms\n  \
             with payment checks (written): {written_rps:.0} req/s, p99 {written_p99:.2} ms\n  \
             throughput ratio synced/free {:.2}, written/free {:.2} (goal >= 0.8); \
             p99 ratio synced/free {:.2}, written/free {:.2}",
            paid_rps / free_rps,
            written_rps / free_rps,
            paid_p99 / free_p99,
            written_p99 / free_p99
        );
        let _ = std::fs::remove_dir_all(&dir);
    });
}
