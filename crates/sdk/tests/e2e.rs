//! A miner and a validator built on the SDK against a real `tao-node --dev` process: they
//! register, the miner serves and publishes its axon, the validator finds it in the
//! metagraph, queries it, and its weights appear on chain.

use serde_json::{json, Map, Value};
use std::{
    sync::Arc,
    time::{Duration, Instant},
};
use tao_primitives::{NetUid, Rao};
use tao_sdk::chain::api::method;
use tao_sdk::{
    axon::{AllowList, Axon, SynapseSpec},
    chain::ChainClient,
    dendrite::{Dendrite, Query, Target},
};
use tao_types::{Call, Hyperparameter};
use tao_wallet::Keypair;

#[test]
fn a_miner_and_a_validator_on_the_sdk() {
    let node = tao_testkit::DevNode::start("sdk-e2e");
    let addr = node.addr;
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let chain = {
        let _guard = runtime.enter();
        ChainClient::new(&format!("http://{addr}")).unwrap()
    };
    let started = Instant::now();
    while runtime.block_on(chain.request::<method::Health>(())).is_err() {
        assert!(started.elapsed() < Duration::from_secs(30), "node did not start");
        std::thread::sleep(Duration::from_millis(50));
    }

    // Heads arrive by subscription, in order.
    let mut heads = runtime.block_on(ChainClient::new_heads(&format!("http://{addr}"))).unwrap();
    let first = runtime.block_on(heads.next()).unwrap().unwrap().number;
    let second = runtime.block_on(heads.next()).unwrap().unwrap().number;
    assert_eq!(second, first + 1);
    drop(heads);

    let alice = Keypair::from_uri("//Alice").unwrap();
    let miner = Keypair::from_uri("//SdkMiner").unwrap();
    let validator = Keypair::from_uri("//SdkValidator").unwrap();
    let long = Duration::from_secs(30);
    let submit =
        |key: &Keypair, call: Call| runtime.block_on(chain.submit(key, call, long)).unwrap();
    let netuid = NetUid::new(1);
    submit(&alice, Call::SetHyperparameter { netuid, value: Hyperparameter::WeightsRateLimit(0) });
    for hotkey in [&miner, &validator] {
        runtime.block_on(chain.register(&alice, hotkey, 1, Some(100_000_000_000))).unwrap();
    }
    let amount = Rao::from_whole(100).unwrap();
    submit(
        &alice,
        Call::AddStake { hotkey: validator.account(), netuid, amount, limit_price: None },
    );

    // The miner serves a synapse and publishes its axon.
    let spec = SynapseSpec {
        required: vec!["numbers".into()],
        hash_fields: vec!["numbers".into()],
        handler: Arc::new(|body: &Map<String, Value>| {
            let sum: i64 =
                body["numbers"].as_array().ok_or("list")?.iter().filter_map(Value::as_i64).sum();
            let mut out = Map::new();
            out.insert("sum".into(), json!(sum));
            Ok(out)
        }),
    };
    // Only staked callers are served: the allow-list follows the metagraph.
    let allow = AllowList::new(1);
    let chain_for_sync = Arc::new(ChainClient::new(&format!("http://{addr}")).unwrap());
    let _sync = {
        let _guard = runtime.enter();
        allow.sync(chain_for_sync, 1, Duration::from_millis(200))
    };
    let serving = runtime
        .block_on(
            Axon::new(miner.clone())
                .attach("Sum", spec)
                .allow(allow.clone())
                .serve("127.0.0.1:0".parse().unwrap()),
        )
        .unwrap();
    runtime.block_on(chain.serve_axon(&miner, 1, serving.addr)).unwrap();

    // The validator finds it in the metagraph (after its permit arrives with an epoch).
    let neurons = loop {
        let neurons = runtime.block_on(chain.neurons(1)).unwrap();
        if neurons.iter().any(|n| n.hotkey == validator.ss58() && n.validator_permit) {
            break neurons;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "no validator permit");
        std::thread::sleep(Duration::from_millis(100));
    };
    let found = neurons.iter().find(|n| n.hotkey == miner.ss58()).unwrap();
    assert_eq!(found.axon, Some(serving.addr));
    let mut fields = Map::new();
    fields.insert("numbers".into(), json!([1, 2, 3, 40]));
    let query = Query {
        name: "Sum".into(),
        fields,
        required: vec!["numbers".into()],
        hash_fields: vec!["numbers".into()],
        timeout: Duration::from_secs(5),
    };
    let dendrite = Dendrite::new(validator.clone());
    let target = Target { addr: found.axon.unwrap(), hotkey: found.hotkey.clone() };
    let reply = runtime.block_on(dendrite.query(&target, &query));
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.synapse.unwrap()["sum"], 46);
    let outsider = Dendrite::new(Keypair::from_uri("//NotOnTheSubnet").unwrap());
    let reply = runtime.block_on(outsider.query(&target, &query));
    assert_eq!(reply.status, 403, "{reply:?}");

    // Its weights appear on chain.
    runtime.block_on(chain.set_weights(&validator, 1, &[(found.uid, 65535)])).unwrap();
    let m = runtime.block_on(chain.metagraph(1)).unwrap();
    let vuid = neurons.iter().find(|n| n.hotkey == validator.ss58()).unwrap().uid;
    assert_eq!(m.weights[usize::from(vuid)], vec![(found.uid, 65535)]);
    // A transaction that would fail is refused before sending.
    let refused = runtime.block_on(chain.set_weights(&miner, 1, &[(found.uid, 1), (999, 1)]));
    assert!(refused.is_err());
}
