//! Out of file descriptors, an axon's accepts fail; it used to retry at once, pinning a
//! core for as long as connections waited. Now it pauses, doubling the pause, and serves
//! again once descriptors are free. (A file of its own: it lowers this test process's
//! descriptor limit, with util-linux's `prlimit`.)

use serde_json::{json, Map, Value};
use std::{
    process::Command,
    sync::Arc,
    time::{Duration, Instant},
};
use tao_sdk::{
    axon::{Axon, SynapseSpec},
    dendrite::{Dendrite, Query, Target},
};
use tao_wallet::Keypair;

const PATIENCE: Duration = Duration::from_secs(30);

/// Sets this process's open-file limit (soft:hard) with `prlimit`.
fn set_nofile(limit: &str) -> std::io::Result<std::process::ExitStatus> {
    Command::new("prlimit")
        .args(["--pid", &std::process::id().to_string(), &format!("--nofile={limit}")])
        .status()
}

/// This process's open-file limit as `soft:hard`.
fn nofile() -> String {
    let out = Command::new("prlimit")
        .args(["--pid", &std::process::id().to_string(), "--nofile", "--raw", "--noheadings"])
        .args(["--output", "SOFT,HARD"])
        .output()
        .expect("prlimit (util-linux) runs");
    let text = String::from_utf8(out.stdout).unwrap();
    let mut fields = text.split_whitespace();
    format!("{}:{}", fields.next().unwrap(), fields.next().unwrap())
}

#[test]
fn accept_errors_back_off_and_the_axon_recovers() {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let key = Keypair::from_uri("//DescriptorAxon").unwrap();
    let target_hotkey = key.ss58();
    let spec = SynapseSpec {
        required: vec!["input".into()],
        hash_fields: Vec::new(),
        handler: Arc::new(|body: &Map<String, Value>| {
            let mut out = Map::new();
            out.insert("output".into(), json!(body["input"].as_i64().unwrap_or(0) * 2));
            Ok(out)
        }),
    };
    let serving = runtime
        .block_on(Axon::new(key).attach("Dummy", spec).serve("127.0.0.1:0".parse().unwrap()));
    let serving = serving.unwrap();
    let addr = serving.addr;
    let original = nofile();

    // Client sockets made while descriptors remain; then no descriptor is left, and the
    // clients connect: the kernel completes the handshakes, the axon cannot accept them.
    let sockets: Vec<_> = (0..50).map(|_| tokio::net::TcpSocket::new_v4().unwrap()).collect();
    let open = std::fs::read_dir("/proc/self/fd").unwrap().count() - 1; // minus the listing's own
    assert!(set_nofile(&format!("{open}:{}", original.split(':').nth(1).unwrap()))
        .unwrap()
        .success());
    let started = Instant::now();
    let streams: Vec<_> = runtime.block_on(async {
        let mut streams = Vec::new();
        for socket in sockets {
            streams.push(socket.connect(addr).await.unwrap());
        }
        streams
    });
    let mut errors = 0;
    while errors < 6 {
        assert!(started.elapsed() < PATIENCE, "the accepts did not fail: {:?}", serving.stats());
        std::thread::sleep(Duration::from_millis(5));
        errors = serving.stats().accept_errors;
    }
    // A spinning loop fails millions of times a second; this one has paused 10, 20, 40, 80
    // and 160 ms between its first six failures.
    assert!(errors <= 10, "{errors} failed accepts: the accept loop spins");
    assert!(started.elapsed() >= Duration::from_millis(300), "no pauses between failures");

    // Descriptors come back (the clients give up, the limit is restored): served again.
    drop(streams);
    let restored = Instant::now();
    while !set_nofile(&original).is_ok_and(|s| s.success()) {
        assert!(restored.elapsed() < PATIENCE, "could not restore the descriptor limit");
        std::thread::sleep(Duration::from_millis(50));
    }
    let dendrite = Dendrite::new(Keypair::from_uri("//AfterExhaustion").unwrap());
    let target = Target { addr, hotkey: target_hotkey };
    let mut fields = Map::new();
    fields.insert("input".into(), json!(21));
    let query = Query {
        name: "Dummy".into(),
        fields,
        required: vec!["input".into()],
        hash_fields: Vec::new(),
        timeout: Duration::from_secs(5),
    };
    let served = Instant::now();
    loop {
        let reply = runtime.block_on(dendrite.query(&target, &query));
        if reply.status == 200 {
            assert_eq!(reply.synapse.unwrap()["output"], 42);
            break;
        }
        assert!(served.elapsed() < PATIENCE, "not served after recovery: {reply:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}
