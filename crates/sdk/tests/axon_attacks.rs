//! Hostile clients against a real axon on 127.0.0.1 (issue 13, items 8 to 10): each attack
//! that worked before is replayed and must now fail as an attack, while honest callers are
//! still served. The file-descriptor exhaustion case is in `axon_accept_backoff.rs` (it
//! lowers the whole process's descriptor limit).

use hyper::body::Bytes;
use serde_json::{json, Map, Value};
use std::{
    net::SocketAddr,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};
use tao_sdk::{
    axon::{AllowList, Axon, AxonLimits, Handler, Serving, StreamSpec, SynapseSpec},
    body_hash::body_hash,
    btauth,
    dendrite::{Dendrite, Query, StreamError, Target},
    v10,
};
use tao_wallet::Keypair;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// Bound on every wait below (they are polls or reads that end sooner).
const PATIENCE: Duration = Duration::from_secs(30);

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

fn poll_until(what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < PATIENCE, "gave up waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn now_ns() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos()
}

fn doubler() -> Handler {
    Arc::new(|body: &Map<String, Value>| {
        let input = body.get("input").and_then(Value::as_i64).ok_or("input is not an integer")?;
        let mut out = Map::new();
        out.insert("output".into(), json!(input * 2));
        Ok(out)
    })
}

fn dummy() -> SynapseSpec {
    SynapseSpec { required: vec!["input".into()], hash_fields: Vec::new(), handler: doubler() }
}

fn query(name: &str, input: i64) -> Query {
    let mut fields = Map::new();
    fields.insert("input".into(), json!(input));
    Query {
        name: name.into(),
        fields,
        required: vec!["input".into()],
        hash_fields: Vec::new(),
        timeout: Duration::from_secs(10),
    }
}

fn serve(runtime: &tokio::runtime::Runtime, axon: Axon) -> Serving {
    runtime.block_on(axon.serve("127.0.0.1:0".parse().unwrap())).unwrap()
}

/// An honest bittensor 10 query of `Dummy` from a fresh dendrite.
fn honest_status(runtime: &tokio::runtime::Runtime, target: &Target) -> u16 {
    let dendrite = Dendrite::new(Keypair::from_uri("//Honest").unwrap());
    runtime.block_on(dendrite.query(target, &query("Dummy", 21))).status
}

/// A signed bittensor 10 request for `Dummy`, as raw bytes: `timeout` is the (unsigned)
/// header's text, `version` whether to send the (unsigned) version header.
fn v10_request(key: &Keypair, axon: &str, nonce: u64, timeout: &str, version: bool) -> Vec<u8> {
    let hash = body_hash([]).unwrap();
    let uuid = "0b6c1a2e-0000-4000-8000-000000000001";
    let signature =
        v10::sign(key, &v10::request_message(nonce, &key.ss58(), axon, uuid, &hash)).unwrap();
    let body = r#"{"input": 2}"#;
    let mut head = format!(
        "POST /Dummy HTTP/1.1\r\nhost: axon\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nbt_header_input_obj_input: MA==\r\n\
         bt_header_dendrite_nonce: {nonce}\r\nbt_header_dendrite_uuid: {uuid}\r\n\
         bt_header_dendrite_hotkey: {}\r\nbt_header_dendrite_signature: {signature}\r\n\
         computed_body_hash: {hash}\r\ntimeout: {timeout}\r\nconnection: close\r\n",
        body.len(),
        key.ss58()
    );
    if version {
        head.push_str("bt_header_dendrite_version: 10005000\r\n");
    }
    head.push_str("\r\n");
    (head + body).into_bytes()
}

/// A `btauth/1` request head for `POST /double` (the signature as given: it covers a body
/// the axon has not read when it checks the headers).
fn btauth_head(
    sender: &str,
    receiver: &str,
    nonce: u128,
    signature: &str,
    length: usize,
) -> String {
    format!(
        "POST /double HTTP/1.1\r\nhost: axon\r\ncontent-type: application/json\r\n\
         content-length: {length}\r\nx-bittensor-version: 1\r\nx-bittensor-hotkey: {sender}\r\n\
         x-bittensor-nonce: {nonce}\r\nx-bittensor-signature: {signature}\r\n\
         x-bittensor-receiver: {receiver}\r\nconnection: close\r\n\r\n"
    )
}

/// A correctly signed `btauth/1` request, as raw bytes.
fn btauth_request(key: &Keypair, receiver: &str, body: &[u8]) -> Vec<u8> {
    let nonce = now_ns();
    let signed = btauth::sign(key, "POST", "/double", body, nonce, Some(receiver)).unwrap();
    let signature = &signed.iter().find(|(k, _)| *k == "X-Bittensor-Signature").unwrap().1;
    let mut bytes = btauth_head(&key.ss58(), receiver, nonce, signature, body.len()).into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// Sends `request` on a new connection and reads the reply until the axon closes it.
async fn exchange(addr: SocketAddr, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut reply = Vec::new();
    let read = tokio::time::timeout(PATIENCE, stream.read_to_end(&mut reply)).await;
    assert!(read.is_ok(), "no complete reply");
    String::from_utf8_lossy(&reply).into_owned()
}

/// The status of a raw reply, 0 if there is none.
fn status_of(reply: &str) -> u16 {
    reply.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0)
}

/// An upload that sends `head`, then `sent` body bytes, then stalls (never closing its side);
/// yields the status of the reply (0: the connection was closed or reset without one).
async fn stalled_upload(addr: SocketAddr, head: String, sent: usize) -> u16 {
    let Ok(stream) = TcpStream::connect(addr).await else { return 0 };
    let (mut reader, mut writer) = stream.into_split();
    let writing = tokio::spawn(async move {
        if writer.write_all(head.as_bytes()).await.is_ok() {
            let _ = writer.write_all(&vec![b' '; sent]).await;
        }
        writer // kept open: the upload stalls rather than ends
    });
    let mut reply = Vec::new();
    let read = tokio::time::timeout(PATIENCE, reader.read_to_end(&mut reply)).await;
    assert!(read.is_ok(), "the axon kept a stalled upload open past every timeout");
    drop(writing);
    status_of(&String::from_utf8_lossy(&reply))
}

#[test]
fn stalled_uploads_hold_bounded_memory_and_honest_callers_are_still_served() {
    let runtime = runtime();
    let key = Keypair::from_uri("//StalledAxon").unwrap();
    let hotkey = key.ss58();
    let limits = AxonLimits {
        max_connections: 1_000,
        max_connections_per_ip: 1_000,
        max_buffered_bytes: 8 << 20,
        small_body_bytes: 4096,
        body_read_timeout: Duration::from_secs(3),
        ..AxonLimits::default()
    };
    let bound = limits.max_buffered_bytes + 1_000 * limits.small_body_bytes;
    let axon = Axon::new(key).attach("Dummy", dummy()).attach("double", dummy()).limits(limits);
    let serving = serve(&runtime, axon);
    let addr = serving.addr;
    let target = Target { addr, hotkey: hotkey.clone() };
    let attacker = Keypair::from_uri("//Attacker").unwrap().ss58();
    let zero_signature = format!("0x{}", "00".repeat(64));

    // 1. Before: `btauth/1` headers of any kind made the axon read up to 4 MiB first. Now
    // malformed headers are answered at once, with 4 MiB announced and 1 KiB sent.
    let garbage: Vec<_> = (0..200)
        .map(|i| {
            let head = btauth_head(&attacker, &hotkey, i, "0xnot-hex", 4 << 20);
            runtime.spawn(stalled_upload(addr, head, 1024))
        })
        .collect();
    for upload in garbage {
        assert_eq!(runtime.block_on(upload).unwrap(), 401);
    }
    assert_eq!(serving.stats().buffered_bytes, 0, "no body was read");

    // 2. Declared bodies over the cap are refused before reading, on both paths.
    let head = btauth_head(&attacker, &hotkey, now_ns(), &zero_signature, 100 << 20);
    assert_eq!(runtime.block_on(stalled_upload(addr, head, 0)), 413);
    let honest_key = Keypair::from_uri("//Declared").unwrap();
    let nonce = u64::try_from(now_ns()).unwrap();
    let request = String::from_utf8(v10_request(&honest_key, &hotkey, nonce, "12.0", true))
        .unwrap()
        .replace("content-length: 12", "content-length: 104857600");
    let head = request.split("\r\n\r\n").next().unwrap().to_owned() + "\r\n\r\n";
    assert_eq!(runtime.block_on(stalled_upload(addr, head, 0)), 413);

    // 3. 200 uploads whose headers pass (fresh nonces, this axon as receiver; the signature
    // cannot be checked before the body), 512 KiB sent of 1 MiB announced, then stalled.
    let base = now_ns();
    let uploads: Vec<_> = (0..200u128)
        .map(|i| {
            let head = btauth_head(&attacker, &hotkey, base + i, &zero_signature, 1 << 20);
            runtime.spawn(stalled_upload(addr, head, 512 << 10))
        })
        .collect();
    poll_until("the uploads to fill the budget", || serving.stats().buffered_bytes > 4 << 20);
    for _ in 0..5 {
        let stats = serving.stats();
        assert!(stats.buffered_bytes <= bound, "{stats:?} over {bound}");
        // An honest caller is served while the uploads stall (small bodies need no budget).
        assert_eq!(honest_status(&runtime, &target), 200);
    }
    // Every upload ends: refused for the budget (503, or reset while sending) or timed out
    // (408) once the body read timeout passes; none was taken.
    let statuses: Vec<u16> = uploads.into_iter().map(|u| runtime.block_on(u).unwrap()).collect();
    assert!(statuses.iter().all(|s| [0, 408, 503].contains(s)), "{statuses:?}");
    assert!(statuses.contains(&408), "some uploads stalled inside the budget: {statuses:?}");
    poll_until("the buffers to be released", || {
        let stats = serving.stats();
        stats.buffered_bytes == 0 && stats.connections == 0
    });
    assert_eq!(honest_status(&runtime, &target), 200);
}

#[test]
fn idle_half_sent_and_excess_connections_are_closed() {
    let runtime = runtime();
    let key = Keypair::from_uri("//IdleAxon").unwrap();
    let hotkey = key.ss58();
    let limits = AxonLimits {
        max_connections_per_ip: 20,
        header_read_timeout: Duration::from_secs(3),
        ..AxonLimits::default()
    };
    let serving = serve(&runtime, Axon::new(key).attach("Dummy", dummy()).limits(limits));
    let addr = serving.addr;

    // 20 idle sockets (some with half a request head) fill this IP's quota; 180 more are
    // closed at once; the 20 are closed after the header timeout.
    let idle = |i: usize| {
        runtime.spawn(async move {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            if i % 4 == 0 {
                let _ = stream.write_all(b"POST /Dummy HTTP/1.1\r\nhost: axon\r\n").await;
            }
            let mut rest = Vec::new();
            // Ends (EOF or reset) only when the axon closes the connection.
            tokio::time::timeout(PATIENCE, stream.read_to_end(&mut rest)).await.is_ok()
        })
    };
    let admitted: Vec<_> = (0..20).map(idle).collect();
    poll_until("20 connections", || serving.stats().connections == 20);
    let excess: Vec<_> = (20..200).map(idle).collect();
    poll_until("the excess connections to be refused", || {
        serving.stats().refused_connections == 180
    });
    assert_eq!(serving.stats().connections, 20);
    for socket in excess.into_iter().chain(admitted) {
        assert!(runtime.block_on(socket).unwrap(), "a connection was left open");
    }
    poll_until("every connection to close", || serving.stats().connections == 0);

    // A keep-alive connection left idle after a request is closed too.
    let closed = runtime.block_on(async {
        let dendrite = Keypair::from_uri("//KeepAlive").unwrap();
        let nonce = u64::try_from(now_ns()).unwrap();
        let request = String::from_utf8(v10_request(&dendrite, &hotkey, nonce, "12.0", true))
            .unwrap()
            .replace("connection: close\r\n", "");
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut all = Vec::new();
        tokio::time::timeout(PATIENCE, stream.read_to_end(&mut all)).await.is_ok()
            && String::from_utf8_lossy(&all).starts_with("HTTP/1.1 200")
    });
    assert!(closed, "the idle keep-alive connection was not closed after its reply");
    let target = Target { addr, hotkey };
    assert_eq!(honest_status(&runtime, &target), 200);
}

#[test]
fn replays_are_refused_whatever_the_timeout_header_says_and_after_a_restart() {
    let runtime = runtime();
    let key = Keypair::from_uri("//ReplayAxon").unwrap();
    let hotkey = key.ss58();
    let validator = Keypair::from_uri("//HighStakeValidator").unwrap();
    let list = AllowList::new(1_000);
    list.set([(validator.ss58(), 1_000_000)]);
    let axon = || {
        Axon::new(key.clone())
            .attach("Dummy", dummy())
            .attach("double", dummy())
            .allow(list.clone())
            .priority(Arc::new(|_: &str, _: &str| 1.0), 4)
    };
    let first = serve(&runtime, axon());

    // A request signed an hour ago: refused with the default timeout (Python too), and now
    // also with `timeout: 1e7` and without the version header (neither is signed).
    let hour_ago = u64::try_from(now_ns() - 3_600_000_000_000).unwrap();
    for (timeout, version) in [("12.0", true), ("10000000.0", true), ("1e7", true), ("12.0", false)]
    {
        let request = v10_request(&validator, &hotkey, hour_ago, timeout, version);
        let reply = runtime.block_on(exchange(first.addr, &request));
        assert_eq!(status_of(&reply), 401, "timeout {timeout}, version {version}: {reply}");
        assert!(reply.contains("Nonce is too old"), "{reply}");
    }
    // A fresh request with a huge timeout is still served (the cap is on the window only).
    let nonce = u64::try_from(now_ns()).unwrap();
    let fresh = v10_request(&validator, &hotkey, nonce, "1e7", true);
    assert_eq!(status_of(&runtime.block_on(exchange(first.addr, &fresh))), 200);
    // And a btauth/1 request, captured.
    let captured = btauth_request(&validator, &hotkey, br#"{"input": 4}"#);
    let reply = runtime.block_on(exchange(first.addr, &captured));
    assert_eq!(status_of(&reply), 200, "{reply}");
    assert!(reply.contains(r#""output":8"#), "{reply}");
    // Replayed at once on the same axon: refused (Python refuses too).
    assert_eq!(status_of(&runtime.block_on(exchange(first.addr, &fresh))), 401);
    assert_eq!(status_of(&runtime.block_on(exchange(first.addr, &captured))), 401);

    // The axon restarts (same hotkey, memory lost): the captured requests, though inside
    // every freshness window and from an allowed high-stake caller, are refused.
    drop(first);
    let second = serve(&runtime, axon());
    let reply = runtime.block_on(exchange(second.addr, &fresh));
    assert_eq!(status_of(&reply), 401, "{reply}");
    assert!(reply.contains("predates"), "{reply}");
    let reply = runtime.block_on(exchange(second.addr, &captured));
    assert_eq!(status_of(&reply), 401, "{reply}");
    assert!(reply.contains("StaleRequest"), "{reply}");
    // Requests signed after the restart are served.
    let nonce = u64::try_from(now_ns()).unwrap();
    let after = v10_request(&validator, &hotkey, nonce, "12.0", true);
    assert_eq!(status_of(&runtime.block_on(exchange(second.addr, &after))), 200);
    let after = btauth_request(&validator, &hotkey, br#"{"input": 4}"#);
    assert_eq!(status_of(&runtime.block_on(exchange(second.addr, &after))), 200);
}

/// A gate a handler waits at until the test opens it.
#[derive(Clone, Default)]
struct Gate(Arc<(Mutex<bool>, std::sync::Condvar)>);

impl Gate {
    fn wait(&self) {
        let (open, changed) = &*self.0;
        let mut open = open.lock().unwrap();
        while !*open {
            open = changed.wait(open).unwrap();
        }
    }
    fn open(&self) {
        let (open, changed) = &*self.0;
        *open.lock().unwrap() = true;
        changed.notify_all();
    }
}

#[test]
fn btauth_and_streaming_handlers_run_in_the_priority_slots() {
    let runtime = runtime();
    let key = Keypair::from_uri("//SlotAxon").unwrap();
    let hotkey = key.ss58();
    let [first, low, high] = ["//SlotFirst", "//SlotLow", "//SlotHigh"]
        .map(|u| Dendrite::new(Keypair::from_uri(u).unwrap()));
    let high_key = high.hotkey().to_owned();
    // Handlers record their input when they start and how many run at once; input 1 waits
    // at `gate`; a stream with input 9 ends only when `stream_gate` opens.
    let order: Arc<Mutex<Vec<i64>>> = Arc::default();
    let (running, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (gate, stream_gate) = (Gate::default(), Gate::default());
    let enter = {
        let (order, running, most) = (order.clone(), running.clone(), most.clone());
        move |input: i64| {
            order.lock().unwrap().push(input);
            let now = running.fetch_add(1, Ordering::SeqCst) + 1;
            most.fetch_max(now, Ordering::SeqCst);
        }
    };
    let unary: Handler = {
        let (enter, running, gate) = (enter.clone(), running.clone(), gate.clone());
        Arc::new(move |body: &Map<String, Value>| {
            let input = body["input"].as_i64().unwrap_or(0);
            enter(input);
            if input == 1 {
                gate.wait();
            }
            running.fetch_sub(1, Ordering::SeqCst);
            Ok(Map::new())
        })
    };
    let stream = StreamSpec {
        required: vec!["input".into()],
        hash_fields: Vec::new(),
        handler: {
            let (running, stream_gate) = (running.clone(), stream_gate.clone());
            Arc::new(move |body: &Map<String, Value>| {
                let input = body["input"].as_i64().unwrap_or(0);
                enter(input);
                let (tx, rx) = tokio::sync::mpsc::channel(4);
                let (running, stream_gate) = (running.clone(), stream_gate.clone());
                std::thread::spawn(move || {
                    let _ = tx.blocking_send(Bytes::from("tok "));
                    if input == 9 {
                        stream_gate.wait();
                    }
                    running.fetch_sub(1, Ordering::SeqCst);
                });
                Ok(rx)
            })
        },
    };
    let axon = Axon::new(key)
        .attach(
            "double",
            SynapseSpec { required: vec!["input".into()], hash_fields: Vec::new(), handler: unary },
        )
        .attach_stream("DummyStream", stream)
        .priority(
            Arc::new(move |caller: &str, _: &str| if caller == high_key { 10.0 } else { 1.0 }),
            1,
        );
    let serving = serve(&runtime, axon);
    let target = Target { addr: serving.addr, hotkey };
    let btauth = |d: &Dendrite, input: i64| {
        let (d, target) = (d.clone(), target.clone());
        runtime.spawn(async move {
            d.post_btauth(&target, "/double", &json!({"input": input}), PATIENCE).await.0
        })
    };
    let streamed = |d: &Dendrite, input: i64| {
        let (d, target) = (d.clone(), target.clone());
        runtime.spawn(async move {
            let reply = d.query_stream(&target, &query("DummyStream", input)).await;
            (reply.status, reply.collect().await)
        })
    };

    // The only slot is held by a btauth handler; a low-priority stream and a high-priority
    // btauth request queue behind it, and the high one runs first.
    let a = btauth(&first, 1);
    poll_until("the first handler to start", || order.lock().unwrap().len() == 1);
    let b = streamed(&low, 2);
    poll_until("the stream to queue", || serving.stats().waiting_for_slot == 1);
    let c = btauth(&high, 3);
    poll_until("the btauth request to queue", || serving.stats().waiting_for_slot == 2);
    gate.open();
    assert_eq!(runtime.block_on(a).unwrap(), 200);
    assert_eq!(runtime.block_on(c).unwrap(), 200);
    let (status, chunks) = runtime.block_on(b).unwrap();
    assert_eq!(status, 200);
    assert_eq!(chunks.unwrap().concat(), b"tok ".to_vec());
    assert_eq!(*order.lock().unwrap(), vec![1, 3, 2], "served by priority, not arrival");

    // A stream holds its slot until it ends: a btauth request waits behind an open stream.
    let open_stream = runtime.block_on(low.query_stream(&target, &query("DummyStream", 9)));
    assert_eq!(open_stream.status, 200);
    let d = btauth(&high, 4);
    poll_until("the request to queue behind the stream", || serving.stats().waiting_for_slot == 1);
    assert_eq!(order.lock().unwrap().last(), Some(&9), "it has not run");
    stream_gate.open();
    assert_eq!(runtime.block_on(open_stream.collect()).unwrap().concat(), b"tok ".to_vec());
    assert_eq!(runtime.block_on(d).unwrap(), 200);
    assert_eq!(most.load(Ordering::SeqCst), 1, "never more handlers than slots");
}

#[test]
fn a_client_that_stops_reading_a_stream_gives_its_slot_back() {
    let runtime = runtime();
    let key = Keypair::from_uri("//StallAxon").unwrap();
    let hotkey = key.ss58();
    // An endless stream, one handler slot, and a short write-stall timeout.
    let endless = StreamSpec {
        required: vec!["input".into()],
        hash_fields: Vec::new(),
        handler: Arc::new(|_: &Map<String, Value>| {
            let (tx, rx) = tokio::sync::mpsc::channel(4);
            tokio::spawn(async move {
                while tx.send(Bytes::from(vec![b'x'; 64 << 10])).await.is_ok() {}
            });
            Ok(rx)
        }),
    };
    let limits = AxonLimits {
        max_handlers: 1,
        write_stall_timeout: Duration::from_millis(500),
        ..AxonLimits::default()
    };
    let axon = Axon::new(key)
        .attach_stream("DummyStream", endless)
        .attach("Dummy", dummy())
        .limits(limits);
    let serving = serve(&runtime, axon);
    let target = Target { addr: serving.addr, hotkey };
    // The reader takes the first chunks and then reads no more (its buffer is full).
    let reader = Dendrite::new(Keypair::from_uri("//NeverReads").unwrap());
    let stalled = runtime.block_on(reader.query_stream(&target, &query("DummyStream", 1)));
    assert_eq!(stalled.status, 200);
    // An honest query waits for the only slot, and gets it once the stalled reply is
    // abandoned.
    let honest = runtime.spawn({
        let target = target.clone();
        async move {
            let dendrite = Dendrite::new(Keypair::from_uri("//Patient").unwrap());
            let mut query = query("Dummy", 21);
            query.timeout = PATIENCE;
            dendrite.query(&target, &query).await.status
        }
    });
    assert_eq!(runtime.block_on(honest).unwrap(), 200);
    let cut = runtime.block_on(stalled.collect());
    assert!(matches!(cut, Err(StreamError::Broken(_))), "the stalled stream was cut off: {cut:?}");
    poll_until("the stalled connection to close", || serving.stats().connections == 0);
}

#[test]
fn a_dendrite_caps_streamed_and_whole_replies() {
    let runtime = runtime();
    let key = Keypair::from_uri("//FloodAxon").unwrap();
    let hotkey = key.ss58();
    // A miner that streams 1 MiB (64 chunks of 16 KiB) and answers 1 MiB whole.
    let flood = StreamSpec {
        required: vec!["input".into()],
        hash_fields: Vec::new(),
        handler: Arc::new(|_: &Map<String, Value>| {
            let (tx, rx) = tokio::sync::mpsc::channel(4);
            tokio::spawn(async move {
                for _ in 0..64 {
                    if tx.send(Bytes::from(vec![b'x'; 16 << 10])).await.is_err() {
                        return;
                    }
                }
            });
            Ok(rx)
        }),
    };
    let big = SynapseSpec {
        required: vec!["input".into()],
        hash_fields: Vec::new(),
        handler: Arc::new(|_: &Map<String, Value>| {
            let mut out = Map::new();
            out.insert("output".into(), json!("x".repeat(1 << 20)));
            Ok(out)
        }),
    };
    let serving =
        serve(&runtime, Axon::new(key).attach_stream("DummyStream", flood).attach("Dummy", big));
    let target = Target { addr: serving.addr, hotkey };
    let limit = 256 << 10;
    let capped = Dendrite::new(Keypair::from_uri("//Capped").unwrap()).max_reply_bytes(limit);

    let mut reply = runtime.block_on(capped.query_stream(&target, &query("DummyStream", 1)));
    assert_eq!(reply.status, 200);
    let mut received = 0;
    let error = loop {
        match runtime.block_on(reply.chunks.recv()) {
            Some(Ok(chunk)) => received += chunk.len(),
            Some(Err(e)) => break e,
            None => panic!("the stream ended without the cap's error after {received} bytes"),
        }
    };
    assert_eq!(error, StreamError::TooLarge { limit });
    assert!(received <= limit, "{received} bytes delivered past the cap");
    assert!(runtime.block_on(reply.chunks.recv()).is_none(), "nothing after the error");
    let reply = runtime.block_on(capped.query_stream(&target, &query("DummyStream", 1)));
    assert_eq!(runtime.block_on(reply.collect()), Err(StreamError::TooLarge { limit }));

    let whole = runtime.block_on(capped.query(&target, &query("Dummy", 1)));
    assert_eq!(whole.status, 400, "{whole:?}");
    assert!(whole.message.contains("exceeds"), "{whole:?}");

    // Under the (default) cap, both arrive whole.
    let roomy = Dendrite::new(Keypair::from_uri("//Roomy").unwrap());
    let reply = runtime.block_on(roomy.query_stream(&target, &query("DummyStream", 1)));
    assert_eq!(runtime.block_on(reply.collect()).unwrap().concat().len(), 1 << 20);
    assert_eq!(runtime.block_on(roomy.query(&target, &query("Dummy", 1))).status, 200);
}
