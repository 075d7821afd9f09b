//! Axon throughput and latency against the real Python axon, measured in the same run with
//! the same client: 32 dendrites (as 32 validators: nonces are per dendrite, and one
//! dendrite's overlapping queries to one axon would race their nonces, in Python too), each
//! with one query in flight and a new connection per query. Then the dendrite's fan-out
//! time to 256 local axons.
//!
//! Run: `eval "$(bash ../shared/interop/setup.sh)"; cargo bench -p tao-sdk --bench axon`.

use serde_json::{json, Map, Value};
use std::{
    io::{BufRead, BufReader},
    net::SocketAddr,
    process::{Command, Stdio},
    sync::Arc,
    time::{Duration, Instant},
};
use tao_sdk::{
    axon::{Axon, Handler, SynapseSpec},
    dendrite::{Dendrite, Query, Target},
};
use tao_wallet::Keypair;

const REQUESTS: usize = 2_000;
/// Queries per side in the quick mode (`TAO_BENCH_QUICK` set: CI runs the bench once so it
/// cannot rot; its figures mean little).
const QUICK_REQUESTS: usize = 64;

fn requests() -> usize {
    if std::env::var_os("TAO_BENCH_QUICK").is_some() {
        QUICK_REQUESTS
    } else {
        REQUESTS
    }
}
const IN_FLIGHT: usize = 32;

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

fn doubler() -> Handler {
    Arc::new(|body: &Map<String, Value>| {
        let input = body.get("input").and_then(Value::as_i64).ok_or("input")?;
        let mut out = Map::new();
        out.insert("output".into(), json!(input * 2));
        Ok(out)
    })
}

fn spec() -> SynapseSpec {
    SynapseSpec { required: vec!["input".into()], hash_fields: Vec::new(), handler: doubler() }
}

/// Requests per second and sorted latencies of `REQUESTS` queries, `IN_FLIGHT` at a time.
async fn load(dendrites: &[Dendrite], target: &Target) -> (f64, Vec<Duration>) {
    let started = Instant::now();
    let mut workers = Vec::new();
    for (w, dendrite) in dendrites.iter().enumerate() {
        let (dendrite, target) = (dendrite.clone(), target.clone());
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            for _ in (w..requests()).step_by(IN_FLIGHT) {
                let reply = dendrite.query(&target, &query()).await;
                assert_eq!(reply.status, 200, "{reply:?}");
                latencies.push(reply.latency);
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for w in workers {
        all.extend(w.await.unwrap());
    }
    let rate = requests() as f64 / started.elapsed().as_secs_f64();
    all.sort();
    (rate, all)
}

fn pct(sorted: &[Duration], p: usize) -> f64 {
    sorted[(sorted.len() * p / 100).min(sorted.len() - 1)].as_secs_f64() * 1e3
}

fn main() {
    let python = std::env::var("BT10_PY")
        .expect("BT10_PY must point at the bittensor 10 venv's python: eval \"$(bash ../shared/interop/setup.sh)\"");
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let dendrite = Dendrite::new(Keypair::from_uri("//BenchDendrite").unwrap());

    // Ours.
    let key = Keypair::from_uri("//BenchAxon").unwrap();
    let ours = Target { addr: "127.0.0.1:0".parse().unwrap(), hotkey: key.ss58() };
    let serving =
        runtime.block_on(Axon::new(key).attach("Dummy", spec()).serve(ours.addr)).unwrap();
    let ours = Target { addr: serving.addr, ..ours };

    // The Python axon.
    let wallets = std::env::temp_dir().join(format!("tao-sdk-bench-{}", std::process::id()));
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = Command::new(&python)
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/interop/py_axon.py"))
        .args(["--port", &port.to_string(), "--wallet-path", wallets.to_str().unwrap()])
        .env("READ_ONLY", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let line = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .find(|l| l.starts_with("AXON_READY"))
        .expect("the Python axon started");
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let theirs = Target { addr, hotkey: line.split_whitespace().nth(2).unwrap().to_owned() };

    // Warm up both, then measure alternately.
    runtime.block_on(async {
        for t in [&ours, &theirs] {
            for _ in 0..50 {
                assert_eq!(dendrite.query(t, &query()).await.status, 200);
            }
        }
    });
    let dendrites: Vec<Dendrite> = (0..IN_FLIGHT)
        .map(|i| Dendrite::new(Keypair::from_uri(&format!("//BenchValidator/{i}")).unwrap()))
        .collect();
    let (rust_rate, rust_lat) = runtime.block_on(load(&dendrites, &ours));
    let (py_rate, py_lat) = runtime.block_on(load(&dendrites, &theirs));
    println!(
        "axon, {} queries, {IN_FLIGHT} in flight: ours {rust_rate:.0} req/s (p50 {:.2} ms, p99 {:.2} ms); \
         Python {py_rate:.0} req/s (p50 {:.2} ms, p99 {:.2} ms); throughput ratio {:.1}x",
        requests(),
        pct(&rust_lat, 50),
        pct(&rust_lat, 99),
        pct(&py_lat, 50),
        pct(&py_lat, 99),
        rust_rate / py_rate
    );
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&wallets);

    // Fan-out to 256 local axons.
    let axons: Vec<_> = (0..256)
        .map(|i| {
            let key = Keypair::from_uri(&format!("//Fan/{i}")).unwrap();
            let hotkey = key.ss58();
            let s = runtime
                .block_on(
                    Axon::new(key).attach("Dummy", spec()).serve("127.0.0.1:0".parse().unwrap()),
                )
                .unwrap();
            (Target { addr: s.addr, hotkey }, s)
        })
        .collect();
    let targets: Vec<Target> = axons.iter().map(|(t, _)| t.clone()).collect();
    let mut times = Vec::new();
    for _ in 0..7 {
        let t = Instant::now();
        let replies = runtime.block_on(dendrite.query_all(&targets, &query()));
        times.push(t.elapsed());
        assert!(replies.iter().all(|r| r.status == 200));
    }
    times.sort();
    println!(
        "dendrite fan-out to 256 axons: median {:.1} ms (min {:.1} ms)",
        times[3].as_secs_f64() * 1e3,
        times[0].as_secs_f64() * 1e3
    );
}
