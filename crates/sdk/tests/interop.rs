//! The real Python bittensor 10 dendrite (`shared/interop/py_dendrite.py`, `$BT10_PY`)
//! queries our axon over 127.0.0.1: plain and hashed synapses succeed with the Python
//! client's verdict; a blacklisted caller and an unknown synapse get the codes it expects.

use hyper::body::Bytes;
use serde_json::{json, Map, Value};
use std::{net::SocketAddr, process::Command, sync::Arc};
use tao_sdk::axon::{Axon, Handler, Serving, StreamSpec, SynapseSpec};
use tao_wallet::Keypair;

fn python() -> String {
    std::env::var("BT10_PY").expect(
        "BT10_PY must point at the bittensor 10 venv's python: run `eval \"$(bash ../shared/interop/setup.sh)\"` (scripts/test does)",
    )
}

fn interop_dir() -> String {
    format!("{}/../../../shared/interop", env!("CARGO_MANIFEST_DIR"))
}

/// Runs the Python dendrite; returns its exit success and JSON report.
fn py_dendrite(
    axon: SocketAddr,
    axon_hotkey: &str,
    synapse: &str,
    input: i64,
    wallets: &str,
) -> (bool, Value) {
    py_dendrite_timeout(axon, axon_hotkey, synapse, input, wallets, 10.0)
}

fn py_dendrite_timeout(
    axon: SocketAddr,
    axon_hotkey: &str,
    synapse: &str,
    input: i64,
    wallets: &str,
    timeout: f64,
) -> (bool, Value) {
    let out = Command::new(python())
        .arg(format!("{}/py_dendrite.py", interop_dir()))
        .args([
            "--ip",
            "127.0.0.1",
            "--port",
            &axon.port().to_string(),
            "--axon-hotkey",
            axon_hotkey,
        ])
        .args([
            "--synapse",
            synapse,
            "--input",
            &input.to_string(),
            "--timeout",
            &timeout.to_string(),
            "--wallet-path",
            wallets,
        ])
        .env("READ_ONLY", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let start = stdout.find('{').unwrap_or_else(|| {
        panic!("no JSON from the dendrite: {stdout} {}", String::from_utf8_lossy(&out.stderr))
    });
    (out.status.success(), serde_json::from_str(&stdout[start..]).unwrap())
}

fn doubler() -> Handler {
    Arc::new(|body: &Map<String, Value>| {
        let input = body.get("input").and_then(Value::as_i64).ok_or("input is not an integer")?;
        let mut out = Map::new();
        out.insert("output".into(), json!(input.checked_mul(2).ok_or("overflow")?));
        Ok(out)
    })
}

/// `DummyStream`: `input` tokens `tok0 tok1 …`, one chunk each, as the Python axon streams them.
fn streamer() -> StreamSpec {
    StreamSpec {
        required: vec!["input".into()],
        hash_fields: Vec::new(),
        handler: Arc::new(|body: &Map<String, Value>| {
            let n = body.get("input").and_then(Value::as_u64).ok_or("input is not a count")?;
            let (tx, rx) = tokio::sync::mpsc::channel(4);
            tokio::spawn(async move {
                for i in 0..n.min(1000) {
                    if tx.send(Bytes::from(format!("tok{i} "))).await.is_err() {
                        return;
                    }
                }
            });
            Ok(rx)
        }),
    }
}

fn axon(runtime: &tokio::runtime::Runtime, key: Keypair, blacklist_all: bool) -> Serving {
    let spec = |hash: bool| SynapseSpec {
        required: vec!["input".into()],
        hash_fields: if hash { vec!["input".into()] } else { Vec::new() },
        handler: doubler(),
    };
    let mut axon = Axon::new(key).attach("Dummy", spec(false)).attach("DummyHashed", spec(true));
    if blacklist_all {
        axon = axon
            .blacklist(Arc::new(|_hotkey: &str, _name: &str| Some("not a validator".to_owned())));
    } else {
        axon = axon.attach_stream("DummyStream", streamer());
    }
    runtime.block_on(axon.serve("127.0.0.1:0".parse().unwrap())).unwrap()
}

#[test]
fn the_python_dendrite_queries_our_axon() {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let wallets = std::env::temp_dir().join(format!("tao-sdk-interop-{}", std::process::id()));
    let wallets = wallets.to_str().unwrap();
    let key = Keypair::from_uri("//InteropAxon").unwrap();
    let hotkey = key.ss58();
    let serving = axon(&runtime, key, false);

    for (synapse, input) in [("Dummy", 21), ("DummyHashed", -7), ("Dummy", 1_000_000)] {
        let (ok, report) = py_dendrite(serving.addr, &hotkey, synapse, input, wallets);
        assert!(ok, "{synapse}: {report}");
        assert_eq!(report["status_code"], 200, "{report}");
        assert_eq!(report["status_message"], "Success");
        assert_eq!(report["output"], input * 2);
        assert_eq!(report["synapse"]["axon"]["hotkey"], hotkey.as_str());
    }

    // Signed for another axon's hotkey: 401 with the Python message.
    let (ok, report) = py_dendrite(
        serving.addr,
        &Keypair::from_uri("//Else").unwrap().ss58(),
        "Dummy",
        1,
        wallets,
    );
    assert!(!ok);
    assert_eq!(report["status_code"], 401, "{report}");
    assert!(report["status_message"]
        .as_str()
        .unwrap()
        .starts_with("Not Verified with error: Signature mismatch"));

    // Streaming: the Python dendrite's generator yields our chunks, then the synapse.
    let (ok, report) = py_dendrite(serving.addr, &hotkey, "DummyStream", 4, wallets);
    assert!(ok, "{report}");
    assert_eq!(report["status_code"], 200, "{report}");
    let tokens: Vec<Value> = report["stream_chunks"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c.as_array().unwrap().clone())
        .collect();
    assert_eq!(
        tokens,
        vec![json!("tok0"), json!("tok1"), json!("tok2"), json!("tok3")],
        "{report}"
    );
    assert_eq!(report["synapse"]["tokens"], json!(["tok0", "tok1", "tok2", "tok3"]));

    // A handler slower than the caller's timeout: the Python dendrite reports 408.
    let slow = Axon::new(Keypair::from_uri("//SlowAxon").unwrap()).attach(
        "Dummy",
        SynapseSpec {
            required: vec!["input".into()],
            hash_fields: Vec::new(),
            handler: Arc::new(|_: &Map<String, Value>| {
                std::thread::sleep(std::time::Duration::from_millis(1500));
                Ok(Map::new())
            }),
        },
    );
    let slow = runtime.block_on(slow.serve("127.0.0.1:0".parse().unwrap())).unwrap();
    let slow_hotkey = Keypair::from_uri("//SlowAxon").unwrap().ss58();
    let (ok, report) = py_dendrite_timeout(slow.addr, &slow_hotkey, "Dummy", 1, wallets, 0.5);
    assert!(!ok);
    assert_eq!(report["status_code"], 408, "{report}");

    // A request replayed on the wire: captured from the Python dendrite through a relay,
    // answered once, then sent again byte for byte: 401, the Python axon's verdict.
    let (relay, captured) = relay_once(&runtime, serving.addr);
    let (ok, report) = py_dendrite(relay, &hotkey, "Dummy", 5, wallets);
    assert!(ok, "{report}");
    let request = runtime.block_on(captured).unwrap();
    let reply = runtime.block_on(raw_exchange(serving.addr, &request));
    assert!(reply.starts_with("HTTP/1.1 401"), "{reply}");
    assert!(reply.contains("Nonce is too old"), "{reply}");

    // A blacklisting axon (without the streaming synapse): 404 for an unknown synapse,
    // 403 with the reason.
    let strict = axon(&runtime, Keypair::from_uri("//StrictAxon").unwrap(), true);
    let (ok, report) = py_dendrite(
        strict.addr,
        &Keypair::from_uri("//StrictAxon").unwrap().ss58(),
        "DummyStream",
        3,
        wallets,
    );
    assert!(!ok);
    assert_eq!(report["status_code"], 404, "{report}");
    assert!(
        report["status_message"].as_str().unwrap().contains("'DummyStream' not found"),
        "{report}"
    );
    let (ok, report) = py_dendrite(
        strict.addr,
        &Keypair::from_uri("//StrictAxon").unwrap().ss58(),
        "Dummy",
        1,
        wallets,
    );
    assert!(!ok);
    assert_eq!(report["status_code"], 403, "{report}");
    assert_eq!(report["status_message"], "Forbidden. Key is blacklisted: not a validator.");
    let _ = std::fs::remove_dir_all(wallets);
}

/// Reads one HTTP/1.1 request (headers and a Content-Length body) from `stream`.
async fn read_request(stream: &mut tokio::net::TcpStream) -> Vec<u8> {
    use tokio::io::AsyncReadExt;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(n > 0, "the request ended early");
        buf.extend_from_slice(&chunk[..n]);
        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else { continue };
        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .map_or(0, |v| v.trim().parse().unwrap());
        if buf.len() >= end + 4 + length {
            return buf;
        }
    }
}

/// Sends raw request bytes on a fresh connection; returns the reply as text.
async fn raw_exchange(addr: SocketAddr, request: &[u8]) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut reply = vec![0u8; 65536];
    let n = stream.read(&mut reply).await.unwrap();
    String::from_utf8_lossy(&reply[..n]).into_owned()
}

/// A relay in front of `axon` for one request; yields the request's bytes.
fn relay_once(
    runtime: &tokio::runtime::Runtime,
    axon: SocketAddr,
) -> (SocketAddr, tokio::task::JoinHandle<Vec<u8>>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    let task = runtime.spawn(async move {
        let (mut client, _) = listener.accept().await.unwrap();
        let request = read_request(&mut client).await;
        let mut upstream = tokio::net::TcpStream::connect(axon).await.unwrap();
        upstream.write_all(&request).await.unwrap();
        let mut reply = vec![0u8; 65536];
        let n = upstream.read(&mut reply).await.unwrap();
        client.write_all(&reply[..n]).await.unwrap();
        request
    });
    (addr, task)
}

struct PyAxon(std::process::Child);
impl Drop for PyAxon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the real Python axon; returns it with its address and hotkey.
fn py_axon(wallets: &str) -> (PyAxon, SocketAddr, String) {
    py_axon_with(wallets, &[])
}

/// The real Python axon with extra arguments (e.g. `--sleep 2`).
fn py_axon_with(wallets: &str, extra: &[&str]) -> (PyAxon, SocketAddr, String) {
    let mut args = vec!["--wallet-path", wallets];
    args.extend_from_slice(extra);
    let (guard, addr, line) = py_peer(&python(), "py_axon.py", &args, "AXON_READY");
    (guard, addr, line.split_whitespace().nth(2).unwrap().to_owned())
}

/// Starts a Python peer script on a free port; returns it, its address, and its line
/// starting with `ready` (printed once it serves). The port is picked here and bound by the
/// script seconds later (after its imports), so another process can take it in between:
/// a peer that never listens is stopped and started again on a new port, three times at
/// most.
fn py_peer(python: &str, script: &str, args: &[&str], ready: &str) -> (PyAxon, SocketAddr, String) {
    let mut failures = Vec::new();
    for _ in 0..3 {
        match py_peer_once(python, script, args, ready) {
            Ok(peer) => return peer,
            Err(why) => failures.push(why),
        }
    }
    panic!("{script} did not start: {failures:?}");
}

/// One attempt of [`py_peer`]: the peer, or why not (it exited before its ready line, or
/// its port did not accept within 10 s of it).
fn py_peer_once(
    python: &str,
    script: &str,
    args: &[&str],
    ready: &str,
) -> Result<(PyAxon, SocketAddr, String), String> {
    use std::io::{BufRead, BufReader};
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = Command::new(python)
        .arg(format!("{}/{script}", interop_dir()))
        .args(["--port", &port.to_string()])
        .args(args)
        .env("READ_ONLY", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let guard = PyAxon(child);
    let line = BufReader::new(stdout)
        .lines()
        .map_while(Result::ok)
        .find(|l| l.starts_with(ready))
        .ok_or_else(|| format!("port {port}: exited before its ready line"))?;
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    // The ready line can come before the listener accepts (a loaded machine once saw a
    // refused connection right after it): a bounded poll until it does.
    let started = std::time::Instant::now();
    while std::net::TcpStream::connect(addr).is_err() {
        if started.elapsed() > std::time::Duration::from_secs(10) {
            return Err(format!("port {port}: never listened"));
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    Ok((guard, addr, line))
}

fn dummy(name: &str, input: i64, hashed: bool) -> tao_sdk::dendrite::Query {
    let mut fields = Map::new();
    fields.insert("input".into(), json!(input));
    tao_sdk::dendrite::Query {
        name: name.into(),
        fields,
        required: vec!["input".into()],
        hash_fields: if hashed { vec!["input".into()] } else { Vec::new() },
        timeout: std::time::Duration::from_secs(10),
    }
}

#[test]
fn our_dendrite_queries_the_python_axon() {
    use tao_sdk::dendrite::{Dendrite, Target};
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let wallets = std::env::temp_dir().join(format!("tao-sdk-pyaxon-{}", std::process::id()));
    let (_axon, addr, hotkey) = py_axon(wallets.to_str().unwrap());
    let dendrite = Dendrite::new(Keypair::from_uri("//InteropDendrite").unwrap());
    let target = Target { addr, hotkey: hotkey.clone() };

    for (name, hashed) in [("Dummy", false), ("DummyHashed", true), ("Dummy", false)] {
        let reply = runtime.block_on(dendrite.query(&target, &dummy(name, 21, hashed)));
        assert_eq!(reply.status, 200, "{name}: {reply:?}");
        assert_eq!(reply.message, "Success");
        assert_eq!(reply.synapse.unwrap()["output"], 42);
        assert_eq!(reply.hotkey, hotkey);
    }
    // The Python axon blacklists negative inputs, but its blacklist sees the header
    // synapse, whose inputs are placeholders (`0`), exactly as with the Python dendrite:
    // so a negative input passes and is answered.
    let reply = runtime.block_on(dendrite.query(&target, &dummy("Dummy", -1, false)));
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.synapse.unwrap()["output"], -2);
    // Unknown synapse, and a request signed for another hotkey.
    let reply = runtime.block_on(dendrite.query(&target, &dummy("Nope", 1, false)));
    assert_eq!(reply.status, 404, "{reply:?}");
    let wrong = Target { addr, hotkey: Keypair::from_uri("//Else").unwrap().ss58() };
    let reply = runtime.block_on(dendrite.query(&wrong, &dummy("Dummy", 1, false)));
    assert_eq!(reply.status, 401, "{reply:?}");
    assert!(reply.message.contains("Signature mismatch"), "{reply:?}");
    // Streaming from the Python axon: its chunks arrive as sent.
    let stream = runtime.block_on(dendrite.query_stream(&target, &dummy("DummyStream", 4, false)));
    assert_eq!(stream.status, 200, "{stream:?}");
    assert!(stream.headers.iter().any(|(k, v)| k == "content-type" && v == "text/event-stream"));
    let chunks = runtime.block_on(stream.collect()).unwrap();
    let text: String = chunks.iter().map(|c| String::from_utf8_lossy(c).into_owned()).collect();
    assert_eq!(text, "tok0 tok1 tok2 tok3 ");
    // Our own streaming axon answers our dendrite the same way.
    let ours = axon(&runtime, Keypair::from_uri("//StreamAxon").unwrap(), false);
    let own = Target { addr: ours.addr, hotkey: Keypair::from_uri("//StreamAxon").unwrap().ss58() };
    let stream = runtime.block_on(dendrite.query_stream(&own, &dummy("DummyStream", 3, false)));
    assert_eq!(stream.status, 200, "{stream:?}");
    assert_eq!(runtime.block_on(stream.collect()).unwrap().concat(), b"tok0 tok1 tok2 ".to_vec());
    // A Python axon slower than our timeout: 408, as the Python dendrite reports it.
    let (_slow, slow_addr, slow_hotkey) =
        py_axon_with(wallets.to_str().unwrap(), &["--sleep", "2", "--wallet-name", "slow"]);
    let mut quick = dummy("Dummy", 1, false);
    quick.timeout = std::time::Duration::from_millis(500);
    let reply =
        runtime.block_on(dendrite.query(&Target { addr: slow_addr, hotkey: slow_hotkey }, &quick));
    assert_eq!(reply.status, 408, "{reply:?}");
    assert!(reply.message.starts_with("Request timeout"), "{reply:?}");
    // Nothing listening: 503, as the Python dendrite reports it.
    let closed: SocketAddr =
        std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let reply = runtime
        .block_on(dendrite.query(&Target { addr: closed, hotkey }, &dummy("Dummy", 1, false)));
    assert_eq!(reply.status, 503, "{reply:?}");
    let _ = std::fs::remove_dir_all(wallets);
}

#[test]
fn our_dendrite_fans_out_to_our_axons_and_replays_are_refused() {
    use tao_sdk::dendrite::{Dendrite, Target};
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let axons: Vec<(Serving, String)> = (0..16)
        .map(|i| {
            let key = Keypair::from_uri(&format!("//Fan/{i}")).unwrap();
            let hotkey = key.ss58();
            (axon(&runtime, key, false), hotkey)
        })
        .collect();
    let targets: Vec<Target> =
        axons.iter().map(|(s, h)| Target { addr: s.addr, hotkey: h.clone() }).collect();
    let dendrite = Dendrite::new(Keypair::from_uri("//FanDendrite").unwrap());
    let replies = runtime.block_on(dendrite.query_all(&targets, &dummy("DummyHashed", 5, true)));
    assert_eq!((replies.len(), targets.len()), (16, 16));
    for (reply, target) in replies.iter().zip(&targets) {
        assert_eq!(reply.status, 200, "{reply:?}");
        assert_eq!(reply.hotkey, target.hotkey);
        assert_eq!(reply.synapse.as_ref().unwrap()["output"], 10);
    }
    // A body whose hashed field was changed after signing: the axon refuses it (500).
    let mut tampered = dummy("DummyHashed", 5, true);
    tampered.hash_fields.clear();
    let reply = runtime.block_on(dendrite.query(&targets[0], &tampered));
    assert_eq!(reply.status, 500, "{reply:?}");
}

fn python11() -> String {
    std::env::var("BT11_PY").expect(
        "BT11_PY must point at the bittensor 11 venv's python: run `eval \"$(bash ../shared/interop/setup.sh)\"` (scripts/test does)",
    )
}

#[test]
fn btauth_both_ways_with_bittensor_11() {
    use tao_sdk::dendrite::{Dendrite, Target};
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let wallets = std::env::temp_dir().join(format!("tao-sdk-btauth-{}", std::process::id()));
    let wallets = wallets.to_str().unwrap().to_owned();

    // The bittensor 11 client signs with btauth/1 (its wallet written by tao-wallet); our
    // axon verifies and answers.
    let caller = tao_wallet::Wallet::new(&wallets, "dendrite", "default");
    caller.create_coldkey(12, None, tao_wallet::Overwrite::Deny).unwrap();
    let caller_hotkey = caller.create_hotkey(12, tao_wallet::Overwrite::Deny).unwrap().ss58();
    let key = Keypair::from_uri("//BtauthAxon").unwrap();
    let hotkey = key.ss58();
    let spec =
        SynapseSpec { required: vec!["input".into()], hash_fields: Vec::new(), handler: doubler() };
    let serving = runtime
        .block_on(Axon::new(key).attach("double", spec).serve("127.0.0.1:0".parse().unwrap()))
        .unwrap();
    let client = |receiver: &str| {
        let out = Command::new(python11())
            .arg(format!("{}/py_btauth_client.py", interop_dir()))
            .args(["--url", &format!("http://{}/double", serving.addr), "--receiver", receiver])
            .args(["--input", "21", "--wallet-path", &wallets])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let start = stdout.find('{').unwrap_or_else(|| {
            panic!("no JSON from the client: {stdout} {}", String::from_utf8_lossy(&out.stderr))
        });
        serde_json::from_str::<Value>(&stdout[start..]).unwrap()
    };
    let report = client(&hotkey);
    assert_eq!(report["status"], 200, "{report}");
    assert_eq!(report["response"]["output"], 42);
    assert_eq!(report["sent_headers"]["X-Bittensor-Hotkey"], caller_hotkey.as_str());
    let report = client(&Keypair::from_uri("//Else").unwrap().ss58());
    assert_eq!(report["status"], 403, "{report}");
    assert_eq!(report["response"]["error"], "WrongReceiver");

    // Our dendrite signs with btauth/1; the bittensor 11 server (its wallet also written by
    // tao-wallet) verifies and answers.
    let server = tao_wallet::Wallet::new(&wallets, "btauth_server", "default");
    server.create_coldkey(12, None, tao_wallet::Overwrite::Deny).unwrap();
    let server_key = server.create_hotkey(12, tao_wallet::Overwrite::Deny).unwrap().ss58();
    let (_server, addr, line) =
        py_peer(&python11(), "py_btauth_server.py", &["--wallet-path", &wallets], "BTAUTH_READY");
    let server_hotkey = line.split_whitespace().nth(2).unwrap().to_owned();
    assert_eq!(server_hotkey, server_key, "the server runs on the wallet tao-wallet wrote");
    let dendrite = Dendrite::new(Keypair::from_uri("//BtauthDendrite").unwrap());
    let timeout = std::time::Duration::from_secs(10);
    let call = |hotkey: &str| {
        let target = Target { addr, hotkey: hotkey.to_owned() };
        let started = std::time::Instant::now();
        loop {
            // aiohttp prints READY just before it listens: retry a refused connection.
            let (status, reply) = runtime.block_on(dendrite.post_btauth(
                &target,
                "/double",
                &json!({"input": 21}),
                timeout,
            ));
            if status != 503 || started.elapsed() > timeout {
                return (status, reply);
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    };
    let (status, reply) = call(&server_hotkey);
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["output"], 42);
    assert_eq!(reply["caller"], dendrite.hotkey());
    let (status, reply) = call(&Keypair::from_uri("//Else").unwrap().ss58());
    assert_eq!(status, 403, "{reply}");
    let _ = std::fs::remove_dir_all(&wallets);
}

#[test]
fn the_allow_list_admits_by_stake_and_the_rate_limit_is_per_caller() {
    use tao_sdk::{
        axon::AllowList,
        dendrite::{Dendrite, Target},
    };
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let key = Keypair::from_uri("//GuardedAxon").unwrap();
    let target = Target { addr: "127.0.0.1:1".parse().unwrap(), hotkey: key.ss58() };
    let [rich, poor, stranger] = ["//Rich", "//Poor", "//Stranger"]
        .map(|uri| Dendrite::new(Keypair::from_uri(uri).unwrap()));
    let list = AllowList::new(100);
    list.set([(rich.hotkey().to_owned(), 150), (poor.hotkey().to_owned(), 50)]);
    let spec =
        SynapseSpec { required: vec!["input".into()], hash_fields: Vec::new(), handler: doubler() };
    let axon = Axon::new(key)
        .attach("Dummy", spec)
        .allow(list.clone())
        .rate_limit(3, std::time::Duration::from_secs(60));
    let serving = runtime.block_on(axon.serve("127.0.0.1:0".parse().unwrap())).unwrap();
    let target = Target { addr: serving.addr, ..target };
    let ask = |d: &Dendrite| runtime.block_on(d.query(&target, &dummy("Dummy", 2, false)));

    for _ in 0..3 {
        assert_eq!(ask(&rich).status, 200);
    }
    let over = ask(&rich);
    assert_eq!(over.status, 429, "{over:?}");
    assert!(over.message.contains("at most 3 per 60 s"), "{over:?}");
    let poor_reply = ask(&poor);
    assert_eq!(poor_reply.status, 403, "{poor_reply:?}");
    assert!(poor_reply.message.contains("below the minimum 100"), "{poor_reply:?}");
    let stranger_reply = ask(&stranger);
    assert_eq!(stranger_reply.status, 403);
    assert!(stranger_reply.message.contains("not registered"), "{stranger_reply:?}");
    // The list is live: new stake admits the caller at once (its quota is its own).
    list.set([(poor.hotkey().to_owned(), 500)]);
    assert_eq!(ask(&poor).status, 200);
    assert_eq!(ask(&rich).status, 403, "no longer on the list");
}

#[test]
fn busy_axons_serve_the_highest_priority_caller_first() {
    use std::{
        sync::Mutex,
        time::{Duration, Instant},
    };
    use tao_sdk::dendrite::{Dendrite, Target};
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let key = Keypair::from_uri("//BusyAxon").unwrap();
    let hotkey = key.ss58();
    let [first, low, high] =
        ["//First", "//Low", "//High"].map(|uri| Dendrite::new(Keypair::from_uri(uri).unwrap()));
    let high_key = high.hotkey().to_owned();
    // The handler records the order it runs in; the first request holds the only slot a
    // while, so the other two queue behind it.
    let order: Arc<Mutex<Vec<i64>>> = Arc::default();
    let seen = order.clone();
    let slow = SynapseSpec {
        required: vec!["input".into()],
        hash_fields: Vec::new(),
        handler: Arc::new(move |body: &Map<String, Value>| {
            let input = body["input"].as_i64().unwrap_or(0);
            seen.lock().unwrap().push(input);
            std::thread::sleep(Duration::from_millis(if input == 1 { 1_000 } else { 10 }));
            Ok(Map::new())
        }),
    };
    let axon = Axon::new(key).attach("Dummy", slow).priority(
        Arc::new(move |caller: &str, _: &str| if caller == high_key { 10.0 } else { 1.0 }),
        1,
    );
    let serving = runtime.block_on(axon.serve("127.0.0.1:0".parse().unwrap())).unwrap();
    let target = Target { addr: serving.addr, hotkey };
    let ask = |d: Dendrite, input: i64| {
        let target = target.clone();
        runtime.spawn(async move { d.query(&target, &dummy("Dummy", input, false)).await.status })
    };
    let a = ask(first, 1);
    let started = Instant::now();
    while order.lock().unwrap().is_empty() {
        assert!(started.elapsed() < Duration::from_secs(10), "the first request never ran");
        std::thread::sleep(Duration::from_millis(5));
    }
    let b = ask(low, 2);
    std::thread::sleep(Duration::from_millis(100));
    let c = ask(high, 3);
    let statuses =
        runtime.block_on(async { [a.await.unwrap(), b.await.unwrap(), c.await.unwrap()] });
    assert_eq!(statuses, [200, 200, 200]);
    assert_eq!(
        *order.lock().unwrap(),
        vec![1, 3, 2],
        "the higher priority caller, queued later, ran first"
    );
}

/// `Dummy` as a typed synapse (the Python class in `shared/interop/interop_synapses.py`).
#[derive(serde::Serialize, serde::Deserialize)]
struct TypedDummy {
    input: i64,
}
#[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
struct TypedDummyOutput {
    output: Option<i64>,
}
impl tao_sdk::synapse::Synapse for TypedDummy {
    const NAME: &'static str = "DummyHashed";
    const REQUIRED: &'static [&'static str] = &["input"];
    const HASH_FIELDS: &'static [&'static str] = &["input"];
    type Output = TypedDummyOutput;
}

#[test]
fn typed_synapses_interoperate_with_the_python_sdk() {
    use tao_sdk::dendrite::{Dendrite, Target};
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let wallets = std::env::temp_dir().join(format!("tao-sdk-typed-{}", std::process::id()));
    let wallets = wallets.to_str().unwrap().to_owned();
    // Our typed axon, the Python dendrite.
    let key = Keypair::from_uri("//TypedAxon").unwrap();
    let hotkey = key.ss58();
    let axon = Axon::new(key).attach_typed(|d: TypedDummy| {
        Ok(TypedDummyOutput { output: Some(d.input.checked_mul(3).ok_or("overflow")?) })
    });
    let serving = runtime.block_on(axon.serve("127.0.0.1:0".parse().unwrap())).unwrap();
    let (ok, report) = py_dendrite(serving.addr, &hotkey, "DummyHashed", 14, &wallets);
    assert!(ok, "{report}");
    assert_eq!(report["output"], 42);
    // Our typed dendrite, the Python axon (which doubles).
    let (_axon, addr, py_hotkey) = py_axon(&wallets);
    let dendrite = Dendrite::new(Keypair::from_uri("//TypedDendrite").unwrap());
    let target = Target { addr, hotkey: py_hotkey };
    let reply = runtime.block_on(dendrite.call(
        &target,
        &TypedDummy { input: 21 },
        std::time::Duration::from_secs(10),
    ));
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.output.unwrap().unwrap(), TypedDummyOutput { output: Some(42) });
    let _ = std::fs::remove_dir_all(&wallets);
}
