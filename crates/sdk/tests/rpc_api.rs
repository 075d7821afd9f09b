//! Every method and subscription of the node's API (`tao-rpc-api`) against a real
//! `tao-node --dev`: each answer decodes into its declared type and encodes back to exactly
//! what the node sent (no field the type lacks, none it invents), and the typed client's
//! answers hold what the chain did. A client meeting a node of another API version gets a
//! typed error.

use jsonrpsee::core::client::SubscriptionClientT;
use serde_json::Value;
use std::{
    cell::RefCell,
    collections::BTreeSet,
    time::{Duration, Instant},
};
use tao_primitives::{NetUid, Rao};
use tao_sdk::chain::{
    api::{self, method, BlockId, Method, Subscription, TransactionStatus, H256},
    sign_transaction, ChainClient, ChainError,
};
use tao_types::{Call, SignedTransaction};
use tao_wallet::Keypair;

/// A typed client that notes which methods it checked.
struct Api {
    chain: ChainClient,
    runtime: tokio::runtime::Runtime,
    checked: RefCell<BTreeSet<&'static str>>,
}

impl Api {
    /// Calls `M` raw, checks that the answer decodes into `M::Output` and encodes back to
    /// the same JSON, and returns it decoded.
    fn round_trip<M: Method>(&self, params: M::Params) -> M::Output {
        let args = api::to_positional::<M>(&params).unwrap();
        let raw: Value = self.runtime.block_on(self.chain.call(M::NAME, args)).unwrap();
        let decoded: M::Output = serde_json::from_value(raw.clone())
            .unwrap_or_else(|e| panic!("{}: {e}\n{raw}", M::NAME));
        assert_eq!(serde_json::to_value(&decoded).unwrap(), raw, "{} round trip", M::NAME);
        self.checked.borrow_mut().insert(M::NAME);
        decoded
    }

    /// Calls `M` through the typed client.
    fn typed<M: Method>(&self, params: M::Params) -> Result<M::Output, ChainError> {
        self.runtime.block_on(self.chain.request::<M>(params))
    }

    /// `call` signed by `key` at its next nonce, as hex, and its hash.
    fn sign(&self, key: &Keypair, call: Call) -> (String, H256) {
        let genesis = self.typed::<method::GenesisHash>(()).unwrap().0;
        let nonce = self.runtime.block_on(self.chain.account_info(&key.account())).unwrap();
        let hex = sign_transaction(key, genesis, nonce.next_nonce, call).unwrap();
        let bytes = tao_primitives::hex::decode(&hex).unwrap();
        (hex, H256(SignedTransaction::decode_bounded(&bytes).unwrap().hash()))
    }

    /// Waits (bounded) until transaction `hash` is final; its status.
    fn final_status(&self, hash: H256) -> TransactionStatus {
        let started = Instant::now();
        loop {
            let status = self.round_trip::<method::TransactionStatus>((hash,));
            if matches!(status, TransactionStatus::Finalized { .. }) {
                return status;
            }
            assert!(started.elapsed() < Duration::from_secs(30), "{hash} not final");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The first item of subscription `S`, decoded and encoded back unchanged.
    fn first_item<S: Subscription>(&self, ws: &jsonrpsee::ws_client::WsClient) -> S::Item {
        let mut subscription = self
            .runtime
            .block_on(ws.subscribe::<Value, _>(S::SUBSCRIBE, Vec::<u8>::new(), S::UNSUBSCRIBE))
            .unwrap();
        let next =
            async { tokio::time::timeout(Duration::from_secs(10), subscription.next()).await };
        let raw = self.runtime.block_on(next).unwrap().unwrap().unwrap();
        let item: S::Item = serde_json::from_value(raw.clone()).unwrap();
        assert_eq!(serde_json::to_value(&item).unwrap(), raw, "{}", S::NOTIFICATION);
        self.checked.borrow_mut().insert(S::SUBSCRIBE);
        item
    }
}

#[test]
fn every_method_round_trips_through_the_typed_client() {
    let node = tao_testkit::DevNode::start("rpc-api");
    let url = format!("http://{}", node.addr);
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let chain = {
        let _guard = runtime.enter();
        ChainClient::new(&url).unwrap()
    };
    let api = Api { chain, runtime, checked: RefCell::new(BTreeSet::new()) };
    let started = Instant::now();
    // Up, and past genesis (which is not a stored block).
    while api.typed::<method::Health>(()).map_or(true, |h| h.block == 0) {
        assert!(started.elapsed() < Duration::from_secs(30), "node did not start");
        std::thread::sleep(Duration::from_millis(50));
    }

    // The node and the API.
    assert_eq!(api.round_trip::<method::ApiVersion>(()), api::API_VERSION);
    assert_eq!(api.runtime.block_on(api.chain.api_version()).unwrap().unwrap(), api::API_VERSION);
    assert_eq!(api.round_trip::<method::Discover>(()), api::openrpc());
    let genesis = api.round_trip::<method::GenesisHash>(());
    let head = api.round_trip::<method::ChainHead>(());
    let health = api.round_trip::<method::Health>(());
    assert!(health.block >= head.number && health.finalized == health.block, "{health:?}");
    assert!(!health.syncing, "a single producer has nothing to catch up: {health:?}");
    let sync = api.round_trip::<method::SyncState>(());
    assert!(sync.head >= health.block && sync.highest_seen == sync.head, "{sync:?}");
    assert_eq!((sync.peers, sync.syncing, sync.oldest_block), (0, false, 1), "{sync:?}");

    // Blocks, by number and by hash.
    let block = api.round_trip::<method::GetBlock>((BlockId::Number(head.number),));
    assert_eq!(block.header, head);
    let by_hash = api.typed::<method::GetBlock>((BlockId::Hash(head.hash),)).unwrap();
    assert_eq!(by_hash, block);
    let raw = api.round_trip::<method::GetBlockRaw>((head.number,));
    let decoded: tao_types::Block =
        codec::Decode::decode(&mut &tao_primitives::hex::decode(&raw).unwrap()[..]).unwrap();
    assert_eq!(H256(decoded.header.hash()), head.hash);
    let missing = api.typed::<method::GetBlock>((BlockId::Number(u64::MAX),));
    assert!(matches!(missing, Err(ChainError::Rpc { code: -32004, .. })), "{missing:?}");

    // Transactions: a dry run, a submission followed to finality, a submit-and-wait.
    let alice = Keypair::from_uri("//Alice").unwrap();
    let bob = Keypair::from_uri("//Bob").unwrap();
    let before = api.round_trip::<method::AccountInfo>((api::Address(bob.account()),));
    assert_eq!(before.address.0, bob.account());
    let amount = Rao::from_whole(2).unwrap();
    let transfer = Call::TransferKeepAlive { dest: bob.account(), amount };
    let (hex, hash) = api.sign(&alice, transfer.clone());
    let dry = api.round_trip::<method::DryRun>((hex.clone(),));
    assert!(dry.succeeded() && dry.block_hash.is_none() && dry.fee > 0, "{dry:?}");
    assert_eq!(dry.tx_hash, hash);
    assert_eq!(api.round_trip::<method::SubmitTransaction>((hex,)), hash);
    let TransactionStatus::Finalized { receipt } = api.final_status(hash) else { unreachable!() };
    assert!(receipt.succeeded() && receipt.block_hash.is_some(), "{receipt:?}");
    assert_eq!((receipt.fee, receipt.signer.0), (dry.fee, alice.account()));
    let nowhere = api.round_trip::<method::TransactionStatus>((H256(tao_types::Hash([7; 32])),));
    assert_eq!(nowhere, TransactionStatus::Unknown);
    let (hex, hash) = api.sign(&alice, transfer.clone());
    let waited = api.round_trip::<method::SubmitAndWait>((hex, None));
    assert!(waited.succeeded() && waited.tx_hash == hash, "{waited:?}");
    let (hex, hash) = api.sign(&alice, transfer);
    let waited = api.typed::<method::SubmitAndWait>((hex, Some(30_000))).unwrap();
    assert!(waited.succeeded() && waited.tx_hash == hash, "{waited:?}");
    let after = api.typed::<method::AccountInfo>((api::Address(bob.account()),)).unwrap();
    assert_eq!(after.free, before.free + 3 * amount.get(), "three transfers of 2 TAO");

    // Stake: a hotkey registered on subnet 1 and staked to by Alice.
    let hotkey = Keypair::from_uri("//RpcApiHotkey").unwrap();
    api.runtime
        .block_on(api.chain.register(&alice, &hotkey, 1, Some(100 * 1_000_000_000)))
        .unwrap();
    let stake_call = Call::AddStake {
        hotkey: hotkey.account(),
        netuid: NetUid::new(1),
        amount: Rao::from_whole(50).unwrap(),
        limit_price: None,
    };
    api.runtime.block_on(api.chain.submit(&alice, stake_call, Duration::from_secs(30))).unwrap();
    let (hot, cold) = (api::Address(hotkey.account()), api::Address(alice.account()));
    let alpha = api.round_trip::<method::Stake>((1, hot, cold));
    assert!(alpha > 0);
    let stakes = api.round_trip::<method::StakesOf>((cold,));
    assert!(stakes.iter().any(|s| s.netuid == 1 && s.hotkey == hot && s.alpha == alpha));
    let delegates = api.round_trip::<method::Delegates>(());
    let delegate = delegates.iter().find(|d| d.hotkey == hot).unwrap();
    assert!(delegate.nominators >= 1 && delegate.alpha_stake.iter().any(|a| a.netuid == 1));

    // Subnets and issuance.
    let subnets = api.round_trip::<method::Subnets>(());
    let one = subnets.iter().find(|s| s.netuid == 1).unwrap();
    assert!(one.price.parse::<f64>().is_ok() && one.price.contains('.'), "{one:?}");
    let m = api.round_trip::<method::Metagraph>((1,));
    let uid = m.hotkeys.iter().position(|h| *h == hot).unwrap();
    assert!(m.columns_agree(), "{m:?}");
    let mut short = m.clone();
    short.emission.pop();
    assert!(!short.columns_agree(), "a missing entry is seen, not read as zero");
    assert_eq!(m.coldkeys[uid], cold);
    assert!(m.alpha_stake[uid] >= alpha);
    let unknown = api.typed::<method::Metagraph>((999,));
    assert!(matches!(unknown, Err(ChainError::Rpc { code: -32004, .. })), "{unknown:?}");
    let issuance = api.round_trip::<method::Issuance>(());
    let held = issuance.held.free.0
        + issuance.held.pools.0
        + issuance.held.root_stake.0
        + issuance.held.deposits.0
        + issuance.held.channels.0;
    assert_eq!(held, u128::from(issuance.total_issuance.0), "{issuance:?}");
    assert!(issuance.total_fees.0 >= 3 * dry.fee);
    assert!(api.round_trip::<method::LockCost>(()) > 0);
    assert!(one.emission_share.is_some() && one.next_epoch_block.is_some(), "{one:?}");
    assert!(issuance.block_emission.is_some() && issuance.next_halving_issuance.is_some());

    // The explorer's methods (1.2.0): an account's history a page at a time, a block's
    // receipts and own events, how blocks are made.
    let page = api.round_trip::<method::AccountHistory>((cold, None, Some(1)));
    assert_eq!(page.entries.len(), 1);
    let newest = page.entries[0].receipt.clone();
    assert_eq!(newest.signer, cold);
    let older = api.round_trip::<method::AccountHistory>((cold, page.next_cursor.clone(), None));
    assert!(older.entries.iter().all(|e| e.receipt.block <= newest.block));
    assert!(older.entries.iter().all(|e| e.receipt.tx_hash != newest.tx_hash), "no overlap");
    let bad = api.typed::<method::AccountHistory>((cold, Some("nope".into()), None));
    assert!(matches!(bad, Err(ChainError::Rpc { code: -32602, .. })), "{bad:?}");
    let receipts = api.round_trip::<method::BlockReceipts>((BlockId::Number(newest.block),));
    assert!(receipts.receipts.iter().any(|r| r.tx_hash == newest.tx_hash));
    assert_eq!((receipts.block, Some(receipts.hash)), (newest.block, newest.block_hash));
    let validators = api.round_trip::<method::Validators>(());
    assert_eq!((validators.mode.as_str(), validators.authorities.len()), ("single", 0));
    // The dev chain has no proof of stake: no part of it, no candidate, nothing unbonding
    // (`crates/node/src/rpc.rs` and `crates/cli/tests/validators.rs` cover a chain with it).
    assert_eq!(validators.proof_of_stake, None);
    assert_eq!(api.round_trip::<method::Validator>((cold,)), None);
    assert!(api.round_trip::<method::Unbonding>((cold,)).is_empty());
    assert_eq!(api.typed::<method::GenesisHash>(()).unwrap(), genesis);

    // Payment channels: Alice opens one to Bob; it reads back by id and in both lists.
    let head = api.round_trip::<method::ChainHead>(()).number;
    let open = Call::OpenChannel {
        payee: bob.account(),
        deposit: Rao::from_whole(3).unwrap(),
        expiry: tao_primitives::BlockNumber::new(head + 500),
    };
    let receipt =
        api.runtime.block_on(api.chain.submit(&alice, open, Duration::from_secs(30))).unwrap();
    let id = receipt
        .event_details
        .iter()
        .find_map(|e| match e {
            api::Event::ChannelOpened { channel, deposit, .. } => {
                assert_eq!(*deposit, 3_000_000_000);
                Some(*channel)
            }
            _ => None,
        })
        .expect("a ChannelOpened event");
    let channel = api.round_trip::<method::Channel>((id,)).expect("open");
    assert_eq!((channel.payer.0, channel.payee.0), (alice.account(), bob.account()));
    assert_eq!(
        (channel.deposit, channel.claimed, channel.remaining),
        (3_000_000_000, 0, 3_000_000_000)
    );
    assert_eq!((channel.expiry, channel.state), (head + 500, api::ChannelState::Open));
    assert_eq!(api.round_trip::<method::Channel>((u64::MAX,)), None);
    for who in [alice.account(), bob.account()] {
        let listed = api.round_trip::<method::Channels>((api::Address(who),));
        assert!(listed.contains(&channel), "{listed:?}");
    }
    let issuance = api.round_trip::<method::Issuance>(());
    let held = &issuance.held;
    assert!(held.channels.0 >= 3_000_000_000);
    assert_eq!(
        held.free.0 + held.pools.0 + held.root_stake.0 + held.deposits.0 + held.channels.0,
        u128::from(issuance.total_issuance.0)
    );

    // Governance: Alice proposes a chain parameter; the proposal, its deposit and the
    // parameters read back.
    let params = api.round_trip::<method::GlobalParameters>(());
    let limit = params.iter().find(|p| p.name == "subnet_limit").expect("listed");
    assert_eq!(params.len(), tao_types::GlobalParameter::NAMES.len());
    let propose = Call::Propose {
        calls: vec![tao_types::PrivilegedCall::SetGlobalParameter(
            tao_types::GlobalParameter::SubnetLimit(limit.value.parse::<u16>().unwrap() - 1),
        )],
        title: "One subnet fewer".into(),
        description: String::new(),
    };
    api.runtime.block_on(api.chain.submit(&alice, propose, Duration::from_secs(30))).unwrap();
    let governance = api.round_trip::<method::Governance>(());
    assert_eq!(governance.sudo, Some(api::Address(alice.account())));
    let proposal = governance.proposals.first().expect("the proposal").clone();
    assert_eq!((proposal.status.as_str(), proposal.deposit), ("voting", governance.params.deposit));
    assert_eq!(
        proposal.calls,
        vec![format!("set subnet_limit to {}", limit.value.parse::<u16>().unwrap() - 1)]
    );
    let detail = api.round_trip::<method::Proposal>((proposal.id,));
    assert_eq!((detail.proposal.id, detail.votes.len()), (proposal.id, 0));
    let missing = api.typed::<method::Proposal>((u32::MAX,));
    assert!(matches!(missing, Err(ChainError::Rpc { code: -32004, .. })), "{missing:?}");
    let held = api.round_trip::<method::Issuance>(()).held;
    assert_eq!(held.deposits.0, u128::from(governance.params.deposit));

    // Subscriptions.
    let ws = api
        .runtime
        .block_on(jsonrpsee::ws_client::WsClientBuilder::default().build(url.replace("http", "ws")))
        .unwrap();
    let first = api.first_item::<method::NewHeads>(&ws);
    let finalized = api.first_item::<method::FinalizedHeads>(&ws);
    assert!(finalized.number >= first.number);
    let events = api.first_item::<method::Events>(&ws);
    assert!(events.block >= first.number);
    let mut heads = api.runtime.block_on(ChainClient::new_heads(&url)).unwrap();
    let next = api.runtime.block_on(heads.next()).unwrap().unwrap();
    let after = api.runtime.block_on(heads.next()).unwrap().unwrap();
    assert_eq!((after.number, after.parent_hash), (next.number + 1, next.hash));

    // Every method and subscription of the API was checked.
    let mut all: BTreeSet<&str> = api::METHODS.iter().copied().collect();
    all.extend(api::SUBSCRIPTIONS.iter().map(|(subscribe, _, _)| *subscribe));
    assert_eq!(*api.checked.borrow(), all);
}

/// A server on a free port answering `tao_apiVersion` with `version` (none if `None`) and
/// `tao_health`.
async fn fake_node(version: Option<&'static str>) -> (String, jsonrpsee::server::ServerHandle) {
    let mut module = jsonrpsee::RpcModule::new(());
    if let Some(version) = version {
        module.register_method(method::ApiVersion::NAME, move |_, _, _| version).unwrap();
    }
    let health = api::Health { block: 1, finalized: 1, pending: 0, syncing: false };
    let answer = move |_: jsonrpsee::types::Params<'_>, _: &(), _: &_| {
        Ok::<_, jsonrpsee::types::ErrorObjectOwned>(health.clone())
    };
    module.register_method(method::Health::NAME, answer).unwrap();
    let server = jsonrpsee::server::Server::builder().build("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", server.local_addr().unwrap());
    (url, server.start(module))
}

#[test]
fn a_node_of_another_major_version_is_refused_with_a_typed_error() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let (url, _server) = fake_node(Some("2.0.0")).await;
        let answer = ChainClient::new(&url).unwrap().request::<method::Health>(()).await;
        match answer {
            Err(e @ ChainError::Incompatible { .. }) => {
                assert!(
                    e.to_string().contains("2.0.0") && e.to_string().contains(api::API_VERSION)
                );
            }
            other => panic!("{other:?}"),
        }
        let (url, _server) = fake_node(None).await;
        let answer = ChainClient::new(&url).unwrap().request::<method::Health>(()).await;
        assert!(matches!(answer, Err(ChainError::Incompatible { node: None, .. })), "{answer:?}");
        let heads = ChainClient::new_heads(&url).await;
        assert!(matches!(heads, Err(ChainError::Incompatible { .. })));
        // The same major, another minor: served.
        let (url, _server) = fake_node(Some("1.9.0")).await;
        let health = ChainClient::new(&url).unwrap().request::<method::Health>(()).await.unwrap();
        assert_eq!(health.block, 1);
    });
}
