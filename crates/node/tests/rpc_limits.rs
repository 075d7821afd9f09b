//! Hostile JSON-RPC and metrics clients against a real `tao-node --dev` on 127.0.0.1 (issue
//! 13, item 6): each attack is replayed and shown to fail as an attack: idle WebSockets
//! from one address lock nobody out, a silent WebSocket is closed, oversized batches and
//! requests are refused, foreign browser pages are refused, a flood of badly signed
//! transactions does not stop the node answering or producing blocks, and the metrics
//! server outlives running out of file descriptors.
//!
//! Attackers connect from other loopback addresses (127.0.0.2, …) to the node on
//! 127.0.0.1, so per-address limits can be told apart; all traffic stays on this machine.

use serde_json::{json, Value};
use std::{
    io::{BufRead, BufReader, Read, Write},
    net::{IpAddr, SocketAddr, TcpStream},
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};
use tao_primitives::{hex, Rao};
use tao_types::{Call, Hash, Signature, SignedTransaction, Transaction};
use tao_wallet::Keypair;

/// Polls `check` every 20 ms until it gives a value; fails after `limit`.
fn poll<T>(what: &str, limit: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let started = Instant::now();
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(started.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A `tao-node --dev` process whose RPC and metrics ports were bound as 0 (read from its
/// JSON log), with its log kept for assertions.
struct Node {
    child: Child,
    base: PathBuf,
    rpc: SocketAddr,
    metrics: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
}

impl Node {
    fn start(tag: &str, extra: &[&str]) -> Self {
        Self::start_limited(tag, extra, None)
    }

    /// Starts the node, under `ulimit -n FILES` if given.
    fn start_limited(tag: &str, extra: &[&str], files: Option<u32>) -> Self {
        let base =
            std::env::temp_dir().join(format!("tao-rpc-limits-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let binary = env!("CARGO_BIN_EXE_tao-node");
        let mut command = match files {
            Some(n) => {
                let mut sh = Command::new("sh");
                sh.args(["-c", &format!("ulimit -n {n} && exec \"$0\" \"$@\""), binary]);
                sh
            }
            None => Command::new(binary),
        };
        let mut child = command
            .args(["--dev", "--block-time-ms", "100", "--log-format", "json", "--log", "info"])
            .args(["--rpc-addr", "127.0.0.1:0", "--metrics-addr", "127.0.0.1:0"])
            .arg("--base-path")
            .arg(&base)
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("tao-node starts");
        let log = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().expect("piped stderr");
        let lines = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                lines.lock().unwrap().push(line);
            }
        });
        let address = |message: &str| {
            let log = log.clone();
            let wanted = message.to_owned();
            poll(message, Duration::from_secs(60), move || {
                log.lock().unwrap().iter().find_map(|line| {
                    let v: Value = serde_json::from_str(line).ok()?;
                    (v["fields"]["message"].as_str()? == wanted)
                        .then(|| v["fields"]["local"].as_str()?.parse().ok())?
                })
            })
        };
        let rpc = address("JSON-RPC listening (HTTP and WebSocket)");
        let metrics = address("Prometheus metrics on /metrics");
        let node = Self { child, base, rpc, metrics, log };
        poll("the first block", Duration::from_secs(30), || {
            (node.height_of(&node.rpc("tao_health", json!([]))) > 0).then_some(())
        });
        node
    }

    /// Log lines that contain every one of `parts`.
    fn logged(&self, parts: &[&str]) -> usize {
        self.log.lock().unwrap().iter().filter(|l| parts.iter().all(|p| l.contains(p))).count()
    }

    /// POSTs `body` from 127.0.0.1 with extra headers; the status, headers and body.
    fn post(&self, body: &str, headers: &[(&str, &str)]) -> Option<(u16, String, String)> {
        let extra: String = headers.iter().map(|(k, v)| format!("{k}: {v}\r\n")).collect();
        let request = format!(
            "POST / HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{extra}Connection: close\r\n\r\n{body}",
            self.rpc,
            body.len()
        );
        exchange(TcpStream::connect_timeout(&self.rpc, Duration::from_secs(5)).ok()?, &request)
    }

    fn call(&self, method: &str, params: Value) -> Value {
        json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
    }

    /// A call's `result`, which must be there.
    fn rpc(&self, method: &str, params: Value) -> Value {
        let (status, _, body) =
            self.post(&self.call(method, params).to_string(), &[]).expect("the node answers");
        assert_eq!(status, 200, "{body}");
        let answer: Value = serde_json::from_str(&body).expect("JSON");
        answer.get("result").cloned().unwrap_or_else(|| panic!("{method}: {answer}"))
    }

    fn height_of(&self, health: &Value) -> u64 {
        health["block"].as_u64().expect("tao_health has a block number")
    }

    fn height(&self) -> u64 {
        self.height_of(&self.rpc("tao_health", json!([])))
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.base);
    }
}

/// Sends `request` and reads the reply until the server closes; status, head and body.
fn exchange(mut stream: TcpStream, request: &str) -> Option<(u16, String, String)> {
    stream.set_read_timeout(Some(Duration::from_secs(20))).ok()?;
    stream.write_all(request.as_bytes()).ok()?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).ok()?;
    let response = String::from_utf8_lossy(&response).into_owned();
    let (head, body) = response.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, head.to_ascii_lowercase(), body.to_owned()))
}

/// A TCP connection to `to` from the loopback address `from`.
fn connect_from(from: IpAddr, to: SocketAddr) -> std::io::Result<TcpStream> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let stream = runtime.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4()?;
        socket.bind(SocketAddr::new(from, 0))?;
        socket.connect(to).await
    })?;
    let stream = stream.into_std()?;
    stream.set_nonblocking(false)?;
    Ok(stream)
}

fn loopback(last: u8) -> IpAddr {
    IpAddr::from([127, 0, 0, last])
}

/// Opens a WebSocket from `from` (with an `Origin` if given): the handshake's status and
/// the connection. The client never answers the server's pings.
fn websocket(
    node: &Node,
    from: IpAddr,
    origin: Option<&str>,
) -> std::io::Result<(u16, String, TcpStream)> {
    let mut stream = connect_from(from, node.rpc)?;
    stream.set_read_timeout(Some(Duration::from_secs(20)))?;
    let origin = origin.map(|o| format!("Origin: {o}\r\n")).unwrap_or_default();
    let request = format!(
        "GET / HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n{origin}\r\n",
        node.rpc
    );
    stream.write_all(request.as_bytes())?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    // A refusal's body (its content-length) is read too, to show why.
    let length = head
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:")?.trim().parse().ok())
        .unwrap_or(0usize);
    let mut body = vec![0; length];
    stream.read_exact(&mut body)?;
    Ok((status, String::from_utf8_lossy(&body).into_owned(), stream))
}

/// Whether the server closed `stream` (EOF or reset), reading and discarding its frames.
fn closed_by_server(stream: &mut TcpStream) -> Option<()> {
    let mut buf = [0u8; 256];
    match stream.read(&mut buf) {
        Ok(0) => Some(()),
        Ok(_) => None,
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) =>
        {
            None
        }
        Err(_) => Some(()),
    }
}

/// A transfer of 1 RAO from `from` to Bob with `nonce`, as `0x`-hex; if not `valid`, its
/// signature is well-formed but over another nonce (so checking it costs a full
/// verification).
fn signed_transfer(node: &Node, from: &Keypair, nonce: u64, valid: bool) -> String {
    let genesis = node.rpc("tao_genesisHash", json!([]));
    let genesis: [u8; 32] = hex::decode(genesis.as_str().unwrap()).unwrap().try_into().unwrap();
    let dest = Keypair::from_uri("//Bob").unwrap().account();
    let call = Call::TransferKeepAlive { dest, amount: Rao::new(1) };
    let signed_nonce = if valid { nonce } else { nonce + 1 };
    let mut transaction = Transaction {
        genesis_hash: Hash(genesis),
        signer: from.account(),
        nonce: signed_nonce,
        call,
    };
    let signature = Signature(from.sign(&transaction.signing_payload()).unwrap());
    transaction.nonce = nonce;
    hex::encode(&codec::Encode::encode(&SignedTransaction { transaction, signature }))
}

#[test]
fn idle_websockets_from_one_address_lock_nobody_out() {
    let node = Node::start(
        "websockets",
        &[
            "--rpc-max-websockets-per-ip",
            "4",
            "--rpc-max-connections-per-ip",
            "12",
            "--rpc-max-connections",
            "100",
        ],
    );
    // The old attack: one address opens many idle WebSockets. Four are served, the rest refused.
    let mut held = Vec::new();
    let mut refused = 0;
    for _ in 0..10 {
        let (status, body, stream) = websocket(&node, loopback(1), None).unwrap();
        match status {
            101 => held.push(stream),
            429 => {
                assert!(body.contains("too many WebSockets from 127.0.0.1"), "{body}");
                refused += 1;
            }
            other => panic!("WebSocket handshake answered {other}: {body}"),
        }
    }
    assert_eq!((held.len(), refused), (4, 6));
    // HTTP callers, from the same address and from another, are still answered.
    assert!(node.height() > 0);
    let other = connect_from(loopback(2), node.rpc).unwrap();
    let body = node.call("tao_health", json!([])).to_string();
    let request = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let (status, _, answer) = exchange(other, &request).unwrap();
    assert_eq!(status, 200, "{answer}");
    assert!(answer.contains("\"block\""), "{answer}");

    // Idle TCP connections: one address holds at most 12; the 13th is refused.
    let mut idle = Vec::new();
    for _ in 0..12 {
        idle.push(connect_from(loopback(3), node.rpc).unwrap());
    }
    let (status, _, body) =
        exchange(connect_from(loopback(3), node.rpc).unwrap(), "").expect("a refusal");
    assert_eq!(status, 429, "{body}");
    assert!(body.contains("too many connections from 127.0.0.3"), "{body}");
    assert!(node.height() > 0, "127.0.0.1 is still served");

    // Many addresses' WebSockets take at most three quarters (75) of the 100 connections:
    // HTTP callers still find room.
    let mut spread = Vec::new();
    for last in 10..30 {
        for _ in 0..4 {
            if let Ok((101, _, stream)) = websocket(&node, loopback(last), None) {
                spread.push(stream);
            }
        }
    }
    assert_eq!(spread.len() + held.len(), 75, "WebSockets are capped at 75 of 100 connections");
    assert!(node.height() > 0, "HTTP still answered with the WebSocket share taken");
}

#[test]
fn a_silent_websocket_is_closed_and_a_live_subscriber_is_not() {
    let node = Node::start("idle", &["--rpc-idle-timeout-ms", "1000"]);
    let (status, body, mut silent) = websocket(&node, loopback(1), None).unwrap();
    assert_eq!(status, 101, "{body}");
    let mut quiet_http = TcpStream::connect(node.rpc).unwrap();
    silent.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    quiet_http.set_read_timeout(Some(Duration::from_millis(200))).unwrap();

    // A subscriber that answers pings (jsonrpsee's client does) keeps receiving heads for
    // several idle timeouts.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let url = format!("ws://{}", node.rpc);
    let heads = runtime.block_on(async {
        use jsonrpsee::core::client::SubscriptionClientT;
        let client = jsonrpsee::ws_client::WsClientBuilder::default().build(&url).await.unwrap();
        let mut heads = client
            .subscribe::<Value, _>(
                "tao_subscribeNewHeads",
                jsonrpsee::rpc_params![],
                "tao_unsubscribeNewHeads",
            )
            .await
            .unwrap();
        let first = Instant::now();
        let mut count = 0;
        while first.elapsed() < Duration::from_secs(4) {
            let head = tokio::time::timeout(Duration::from_secs(10), heads.next()).await;
            assert!(matches!(head, Ok(Some(Ok(_)))), "the subscription ended: {head:?}");
            count += 1;
        }
        count
    });
    assert!(heads > 10, "{heads} heads");

    // A caller waiting for its own answer longer than the idle time is not cut off:
    // tao_submitAndWait on a transaction that cannot be final (a nonce gap) answers with
    // its timeout after 3 s over the same connection.
    let alice = Keypair::from_uri("//Alice").unwrap();
    let next = node.rpc("tao_accountInfo", json!([alice.account().to_ss58()]))["next_nonce"]
        .as_u64()
        .unwrap();
    let gap = signed_transfer(&node, &alice, next + 1, true);
    let (status, _, body) =
        node.post(&node.call("tao_submitAndWait", json!([gap, 3000])).to_string(), &[]).unwrap();
    assert_eq!(status, 200, "{body}");
    let answer: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["error"]["code"], -32011, "{answer}");

    // The silent ones were closed by the server meanwhile (bounded poll).
    poll("the silent WebSocket to be closed", Duration::from_secs(20), || {
        closed_by_server(&mut silent)
    });
    poll("the silent HTTP connection to be closed", Duration::from_secs(20), || {
        closed_by_server(&mut quiet_http)
    });
    assert!(node.height() > 0);
}

#[test]
fn oversized_batches_and_requests_are_refused() {
    let node = Node::start("batch", &["--rpc-max-batch", "10"]);
    let batch = |n: usize| {
        Value::Array((0..n).map(|_| node.call("tao_health", json!([]))).collect()).to_string()
    };
    let (status, _, body) = node.post(&batch(10), &[]).unwrap();
    assert_eq!(status, 200);
    let answers: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answers.as_array().map(Vec::len), Some(10), "{body}");

    let (_, _, body) = node.post(&batch(11), &[]).unwrap();
    let refusal: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(refusal["id"], Value::Null, "{body}");
    assert_eq!(refusal["error"]["message"], "The batch request was too large", "{body}");
    assert_eq!(refusal["error"]["data"], "Exceeded max limit of 10", "{body}");

    // A request above the default 1 MiB is refused before it is parsed.
    let huge = node.call("tao_submitTransaction", json!([format!("0x{}", "00".repeat(600_000))]));
    let (status, _, body) = node.post(&huge.to_string(), &[]).unwrap();
    assert_eq!(status, 413, "{body}");
    assert!(body.contains("Request is too big"), "{body}");
    assert!(node.height() > 0);
}

#[test]
fn foreign_origins_are_refused_and_loopback_or_none_pass() {
    let node = Node::start("origin", &[]);
    let health = node.call("tao_health", json!([])).to_string();
    let (status, _, body) = node.post(&health, &[("Origin", "https://evil.example")]).unwrap();
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("--rpc-cors"), "{body}");
    let (status, _, body) = node.post(&health, &[("Origin", "null")]).unwrap();
    assert_eq!(status, 403, "{body}");
    let (status, head, body) = node.post(&health, &[("Origin", "http://localhost:5173")]).unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(head.contains("access-control-allow-origin: http://localhost:5173"), "{head}");
    let (status, _, body) = node.post(&health, &[("Origin", "http://127.0.0.1:8080")]).unwrap();
    assert_eq!(status, 200, "{body}");
    let (status, _, body) = node.post(&health, &[]).unwrap();
    assert_eq!(status, 200, "{body}");
    // WebSockets carry the page's origin: a foreign page cannot open one.
    let (status, body, _) = websocket(&node, loopback(1), Some("https://evil.example")).unwrap();
    assert_eq!(status, 403, "{body}");
    let (status, _, _ws) = websocket(&node, loopback(1), Some("http://localhost:3000")).unwrap();
    assert_eq!(status, 101);
    drop(node);

    // --rpc-cors lets a named page in, and no other.
    let node = Node::start("origin-cors", &["--rpc-cors", "https://app.example"]);
    let (status, _, body) = node.post(&health, &[("Origin", "https://app.example")]).unwrap();
    assert_eq!(status, 200, "{body}");
    let (status, _, body) = node.post(&health, &[("Origin", "https://evil.example")]).unwrap();
    assert_eq!(status, 403, "{body}");
}

#[test]
fn a_flood_of_badly_signed_transactions_does_not_stop_the_node() {
    let node = Arc::new(Node::start("flood", &[]));
    let alice = Keypair::from_uri("//Alice").unwrap();
    let batch: String = Value::Array(
        (0..100)
            .map(|n| {
                node.call(
                    "tao_submitTransaction",
                    json!([signed_transfer(&node, &alice, n, false)]),
                )
            })
            .collect(),
    )
    .to_string();
    let batch = Arc::new(batch);
    let stop = Arc::new(AtomicBool::new(false));
    let flooders: Vec<_> = (0..4)
        .map(|_| {
            let (node, batch, stop) = (node.clone(), batch.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut refused = 0usize;
                while !stop.load(Ordering::Relaxed) {
                    let Some((200, _, body)) = node.post(&batch, &[]) else { continue };
                    let answers: Value = serde_json::from_str(&body).unwrap();
                    for answer in answers.as_array().unwrap() {
                        assert_eq!(answer["error"]["code"], -32010, "{answer}");
                        assert_eq!(
                            answer["error"]["message"], "invalid transaction: bad signature",
                            "{answer}"
                        );
                        refused += 1;
                    }
                }
                refused
            })
        })
        .collect();
    // Meanwhile the node answers and keeps producing blocks.
    let (start, flood_started) = (node.height(), Instant::now());
    let mut waits = Vec::new();
    poll("20 blocks during the flood", Duration::from_secs(60), || {
        let asked = Instant::now();
        let height = node.height();
        waits.push(asked.elapsed());
        (height >= start + 20).then_some(())
    });
    stop.store(true, Ordering::Relaxed);
    let refused: usize = flooders.into_iter().map(|f| f.join().unwrap()).sum();
    assert!(refused >= 100, "the flood was sent ({refused} refusals)");
    // For the record (not asserted: speed depends on the machine).
    waits.sort();
    let elapsed = flood_started.elapsed();
    eprintln!(
        "flood: {refused} bad signatures refused in {elapsed:?} ({:.0}/s); {} blocks; \
         tao_health answered in p50 {:?}, max {:?}",
        refused as f64 / elapsed.as_secs_f64(),
        node.height() - start,
        waits[waits.len() / 2],
        waits[waits.len() - 1],
    );
    assert_eq!(node.rpc("tao_health", json!([]))["pending"], 0, "nothing entered the pool");
}

#[test]
fn metrics_outlive_running_out_of_file_descriptors() {
    // 128 descriptors: the node needs ~15 to run; idle JSON-RPC connections take the rest.
    let node = Node::start_limited(
        "fds",
        &["--rpc-max-connections-per-ip", "1000", "--rpc-max-connections", "1000"],
        Some(128),
    );
    let get_metrics = "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    let (status, _, body) =
        exchange(TcpStream::connect(node.metrics).unwrap(), get_metrics).unwrap();
    assert_eq!(status, 200, "{body}");

    let mut hog = Vec::new();
    for i in 0..200u32 {
        hog.push(connect_from(loopback(2 + (i % 50) as u8), node.rpc).unwrap());
    }
    poll("the JSON-RPC accept error", Duration::from_secs(30), || {
        (node.logged(&["cannot accept a connection", "\"server\":\"JSON-RPC\""]) > 0).then_some(())
    });
    // A scrape now waits in the listen queue while the metrics server cannot accept.
    let mut waiting = TcpStream::connect(node.metrics).unwrap();
    waiting.write_all(get_metrics.as_bytes()).unwrap();
    poll("the metrics accept error", Duration::from_secs(30), || {
        (node.logged(&["cannot accept a connection", "\"server\":\"metrics\""]) > 0).then_some(())
    });
    drop(hog);
    // Descriptors are free again: the waiting scrape is answered, and new ones too.
    let (status, _, body) = exchange(waiting, "").expect("the waiting scrape is answered");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("tao_block_height"), "{body}");
    let (status, _, body) = poll("a fresh scrape", Duration::from_secs(30), || {
        exchange(TcpStream::connect(node.metrics).ok()?, get_metrics)
    });
    assert_eq!(status, 200, "{body}");
    assert!(node.height() > 0);
}
