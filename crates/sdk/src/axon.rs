//! An axon: the miner's HTTP server, speaking the bittensor 10.x protocol so that Python
//! dendrites (and ours) can query it.
//!
//! Per request, in the Python axon's order: route by the first path segment (404), rebuild
//! the "header synapse" (every required field needs its `bt_header_input_obj_*` header, and a
//! `Content-Type`: else 500), the blacklist hook (403), signature and nonce (401), then the
//! body: JSON (422), required fields and the body hash (500), the handler, and a reply with
//! the Python status, message and `bt_header_axon_*` headers. Bodies are capped at
//! [`MAX_BODY_BYTES`] (413).

use crate::{
    body_hash::body_hash,
    v10::{self, NonceTracker, RequestAuth},
};
use http_body_util::{combinators::BoxBody, BodyExt, Full, Limited};
use hyper::{
    body::{Bytes, Incoming},
    header::{HeaderMap, HeaderValue, CONTENT_TYPE},
    server::conn::http1,
    service::service_fn,
    Request, Response, StatusCode,
};
use hyper_util::rt::TokioIo;
use serde_json::{json, Map, Value};
use std::{
    collections::BTreeMap,
    convert::Infallible,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Instant, SystemTime, UNIX_EPOCH},
};
use tao_wallet::Keypair;
use tokio::{
    net::TcpListener,
    sync::{mpsc, watch},
};

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
/// The protocol version this axon announces (bittensor 10.5.0 as `version_as_int`).
pub const VERSION: u64 = 10_005_000;

/// A handler: the request body's fields in, the fields to set on the reply out (or an error
/// message, answered as 500).
pub type Handler =
    Arc<dyn Fn(&Map<String, Value>) -> Result<Map<String, Value>, String> + Send + Sync>;
/// A streaming handler: the request body's fields in, a channel of raw chunks out (sent
/// as they come, chunked, `text/event-stream`; the chunk format is the subnet's). Errors
/// before the first chunk are answered as 500.
pub type StreamHandler =
    Arc<dyn Fn(&Map<String, Value>) -> Result<mpsc::Receiver<Bytes>, String> + Send + Sync>;
/// A priority hook: the caller's hotkey and the synapse name; higher is served first when
/// every handler slot is busy (e.g. the caller's stake).
pub type Priority = Arc<dyn Fn(&str, &str) -> f64 + Send + Sync>;
/// A blacklist hook: the caller's hotkey and the synapse name; `Some(reason)` refuses.
pub type Blacklist = Arc<dyn Fn(&str, &str) -> Option<String> + Send + Sync>;

/// A streaming synapse the axon serves (Python's `StreamingSynapse`).
#[derive(Clone)]
pub struct StreamSpec {
    /// Fields without a default (their `bt_header_input_obj_*` headers are required).
    pub required: Vec<String>,
    /// `required_hash_fields`, in order.
    pub hash_fields: Vec<String>,
    /// What to do.
    pub handler: StreamHandler,
}

#[derive(Clone)]
enum Served {
    Unary(SynapseSpec),
    Stream(StreamSpec),
}

impl Served {
    fn required(&self) -> &[String] {
        match self {
            Self::Unary(s) => &s.required,
            Self::Stream(s) => &s.required,
        }
    }
    fn hash_fields(&self) -> &[String] {
        match self {
            Self::Unary(s) => &s.hash_fields,
            Self::Stream(s) => &s.hash_fields,
        }
    }
}

/// The axon's reply bodies: whole, or streamed from a channel.
type Body = BoxBody<Bytes, Infallible>;

/// A body fed by a channel, one data frame per chunk.
struct ChannelBody(mpsc::Receiver<Bytes>);

impl hyper::body::Body for ChannelBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, Infallible>>> {
        self.0.poll_recv(cx).map(|chunk| chunk.map(|c| Ok(hyper::body::Frame::data(c))))
    }
}

fn whole(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into()).boxed()
}

/// A synapse the axon serves.
#[derive(Clone)]
pub struct SynapseSpec {
    /// Fields without a default (their `bt_header_input_obj_*` headers are required).
    pub required: Vec<String>,
    /// `required_hash_fields`, in order.
    pub hash_fields: Vec<String>,
    /// What to do.
    pub handler: Handler,
}

/// An axon before it serves.
pub struct Axon {
    key: Keypair,
    synapses: BTreeMap<String, Served>,
    blacklist: Option<Blacklist>,
    allow: Option<AllowList>,
    rate: Option<(u32, std::time::Duration)>,
    priority: Option<(Priority, usize)>,
}

struct Shared {
    key: Keypair,
    hotkey: String,
    uuid: String,
    synapses: BTreeMap<String, Served>,
    blacklist: Option<Blacklist>,
    allow: Option<AllowList>,
    rate: Option<(u32, std::time::Duration)>,
    /// Per caller: the start of its current window and the requests in it.
    calls: Mutex<BTreeMap<String, (Instant, u32)>>,
    priority: Option<Priority>,
    slots: Arc<Slots>,
    nonces: Mutex<NonceTracker>,
    btauth: Mutex<crate::btauth::Verifier>,
}

/// A serving axon; dropping it (or [`Serving::stop`]) stops it.
pub struct Serving {
    /// Where it listens.
    pub addr: SocketAddr,
    stop: watch::Sender<bool>,
}

impl Serving {
    /// Stops accepting connections.
    pub fn stop(&self) {
        let _ = self.stop.send(true);
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        self.stop();
    }
}

fn now_ns() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0)
}

/// A random UUID-shaped identifier (one per axon or dendrite instance).
pub(crate) fn uuid() -> String {
    let mut b = [0u8; 16];
    let _ = getrandom::getrandom(&mut b);
    let h = tao_primitives::hex::encode(&b);
    let h = h.trim_start_matches("0x");
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

impl Axon {
    /// An axon signing with `key` (its hotkey).
    pub fn new(key: Keypair) -> Self {
        Self {
            key,
            synapses: BTreeMap::new(),
            blacklist: None,
            allow: None,
            rate: None,
            priority: None,
        }
    }

    /// Serves synapse `name` (the Python class name).
    pub fn attach(mut self, name: &str, spec: SynapseSpec) -> Self {
        self.synapses.insert(name.to_owned(), Served::Unary(spec));
        self
    }

    /// Serves typed synapse `S` with `handler` (see [`crate::synapse`]).
    pub fn attach_typed<S: crate::synapse::Synapse>(
        self,
        handler: impl Fn(S) -> Result<S::Output, String> + Send + Sync + 'static,
    ) -> Self {
        self.attach(S::NAME, crate::synapse::typed_spec(handler))
    }

    /// Serves streaming synapse `name` (a Python `StreamingSynapse` class name).
    pub fn attach_stream(mut self, name: &str, spec: StreamSpec) -> Self {
        self.synapses.insert(name.to_owned(), Served::Stream(spec));
        self
    }

    /// Refuses callers for whom `hook` gives a reason.
    pub fn blacklist(mut self, hook: Blacklist) -> Self {
        self.blacklist = Some(hook);
        self
    }

    /// Serves only callers the allow-list admits (checked with the blacklist, 403 otherwise).
    pub fn allow(mut self, list: AllowList) -> Self {
        self.allow = Some(list);
        self
    }

    /// At most `requests` per `per` from each caller (counted after its signature verifies,
    /// so no one can spend another's quota); 429 beyond.
    pub fn rate_limit(mut self, requests: u32, per: std::time::Duration) -> Self {
        self.rate = Some((requests, per));
        self
    }

    /// Runs at most `slots` handlers at once; waiting requests are served highest `hook`
    /// first (then in arrival order).
    pub fn priority(mut self, hook: Priority, slots: usize) -> Self {
        self.priority = Some((hook, slots.max(1)));
        self
    }

    /// Binds `addr` and serves on the current tokio runtime.
    pub async fn serve(mut self, addr: SocketAddr) -> std::io::Result<Serving> {
        // Every axon answers the base class, as a health check.
        let ping: Handler = Arc::new(|_| Ok(Map::new()));
        self.synapses.entry("Synapse".into()).or_insert(Served::Unary(SynapseSpec {
            required: Vec::new(),
            hash_fields: Vec::new(),
            handler: ping,
        }));
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let verifier = crate::btauth::Verifier::new(self.key.ss58());
        let shared = Arc::new(Shared {
            hotkey: self.key.ss58(),
            key: self.key,
            uuid: uuid(),
            synapses: self.synapses,
            blacklist: self.blacklist,
            allow: self.allow,
            rate: self.rate,
            calls: Mutex::new(BTreeMap::new()),
            slots: Arc::new(Slots::new(self.priority.as_ref().map_or(usize::MAX, |(_, n)| *n))),
            priority: self.priority.map(|(hook, _)| hook),
            nonces: Mutex::new(NonceTracker::new(100_000)),
            btauth: Mutex::new(verifier),
        });
        let (stop, mut stopped) = watch::channel(false);
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    accepted = listener.accept() => {
                        let Ok((stream, peer)) = accepted else { continue };
                        let shared = shared.clone();
                        tokio::spawn(async move {
                            let service = service_fn(move |req| handle(shared.clone(), peer, req));
                            let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
                        });
                    }
                    _ = stopped.changed() => return,
                }
            }
        });
        Ok(Serving { addr, stop })
    }
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

/// An error reply as the Python axon sends it: `{"message": …}` and signed axon headers.
fn error_reply(
    shared: &Shared,
    status: u16,
    message: String,
    dendrite_hotkey: &str,
    name: &str,
) -> Response<Body> {
    let nonce = u64::try_from(now_ns()).unwrap_or(u64::MAX);
    let signed = v10::response_message(nonce, dendrite_hotkey, &shared.hotkey, &shared.uuid);
    let signature = v10::sign(&shared.key, &signed).unwrap_or_default();
    let mut response = Response::new(whole(json!({ "message": message }).to_string()));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    let mut put = |k: &'static str, v: String| {
        if let Ok(v) = HeaderValue::from_str(&v) {
            headers.insert(k, v);
        }
    };
    put("content-type", "application/json".into());
    put("name", name.to_owned());
    put("bt_header_axon_status_code", status.to_string());
    put("bt_header_axon_status_message", message.clone());
    put("bt_header_axon_version", VERSION.to_string());
    put("bt_header_axon_nonce", nonce.to_string());
    put("bt_header_axon_uuid", shared.uuid.clone());
    put("bt_header_axon_hotkey", shared.hotkey.clone());
    put("bt_header_axon_signature", signature);
    response
}

fn internal_error(shared: &Shared, dendrite: &str, name: &str) -> Response<Body> {
    error_reply(shared, 500, format!("Internal Server Error #{}", uuid()), dendrite, name)
}

async fn handle(
    shared: Arc<Shared>,
    peer: SocketAddr,
    req: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let started = Instant::now();
    if req.headers().contains_key("x-bittensor-signature") {
        return Ok(handle_btauth(shared, req).await);
    }
    let headers = req.headers().clone();
    let dendrite = header(&headers, "bt_header_dendrite_hotkey").unwrap_or_default();
    let name = req.uri().path().split('/').nth(1).unwrap_or_default().to_owned();
    let Some(spec) = shared.synapses.get(&name).cloned() else {
        let available: Vec<String> = shared.synapses.keys().map(|k| format!("'{k}'")).collect();
        let message = format!(
            "Synapse name '{name}' not found. Available synapses [{}]",
            available.join(", ")
        );
        return Ok(error_reply(&shared, 404, message, &dendrite, "Synapse"));
    };
    // The header synapse: required inputs and a content type must be there.
    if headers.get(CONTENT_TYPE).is_none()
        || spec
            .required()
            .iter()
            .any(|f| headers.get(format!("bt_header_input_obj_{f}").as_str()).is_none())
    {
        return Ok(internal_error(&shared, &dendrite, "Synapse"));
    }
    if let Some(reason) = refused(&shared, &dendrite, &name) {
        return Ok(error_reply(
            &shared,
            403,
            format!("Forbidden. Key is blacklisted: {reason}."),
            &dendrite,
            &name,
        ));
    }
    let auth = RequestAuth {
        nonce: header(&headers, "bt_header_dendrite_nonce").and_then(|n| n.parse().ok()),
        version: header(&headers, "bt_header_dendrite_version").and_then(|v| v.parse().ok()),
        hotkey: header(&headers, "bt_header_dendrite_hotkey"),
        uuid: header(&headers, "bt_header_dendrite_uuid"),
        signature: header(&headers, "bt_header_dendrite_signature"),
        body_hash: header(&headers, "computed_body_hash").unwrap_or_default(),
        timeout_secs: header(&headers, "timeout").and_then(|t| t.parse().ok()),
    };
    let verified = match shared.nonces.lock() {
        Ok(mut nonces) => nonces.verify(&auth, &shared.hotkey, now_ns()),
        Err(_) => return Ok(internal_error(&shared, &dendrite, &name)),
    };
    if let Err(e) = verified {
        return Ok(error_reply(&shared, e.status(), e.reply_message(), &dendrite, &name));
    }
    if let Some(message) = over_rate(&shared, &dendrite) {
        return Ok(error_reply(&shared, 429, message, &dendrite, &name));
    }
    let body = match Limited::new(req.into_body(), MAX_BODY_BYTES).collect().await {
        Ok(body) => body.to_bytes(),
        Err(_) => {
            return Ok(error_reply(&shared, 413, "Request body too large".into(), &dendrite, &name))
        }
    };
    let Ok(Value::Object(mut synapse)) = serde_json::from_slice::<Value>(&body) else {
        let detail = json!({"detail": [{"type": "json_invalid", "loc": ["body"], "msg": "JSON decode error"}]});
        let mut response = Response::new(whole(detail.to_string()));
        *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
        response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        return Ok(response);
    };
    if spec.required().iter().any(|f| synapse.get(f).is_none_or(Value::is_null)) {
        return Ok(internal_error(&shared, &dendrite, &name));
    }
    let values: Vec<String> = spec
        .hash_fields()
        .iter()
        .map(|f| synapse.get(f).map(Value::to_string).unwrap_or_else(|| "null".into()))
        .collect();
    match body_hash(values.iter().map(String::as_str)) {
        Ok(hash) if hash == auth.body_hash => {}
        _ => return Ok(internal_error(&shared, &dendrite, &name)),
    }
    let spec = match spec {
        Served::Unary(spec) => spec,
        Served::Stream(stream) => {
            let chunks = match (stream.handler)(&synapse) {
                Ok(chunks) => chunks,
                Err(_) => return Ok(internal_error(&shared, &dendrite, &name)),
            };
            return Ok(streaming_reply(&shared, &headers, &name, started, chunks));
        }
    };
    let rank = shared.priority.as_ref().map_or(0.0, |hook| hook(&dendrite, &name));
    let slot = shared.slots.acquire(rank).await;
    // Handlers may compute for a while: off the async workers.
    let input = synapse.clone();
    let ran = tokio::task::spawn_blocking(move || (spec.handler)(&input)).await;
    drop(slot);
    let output = match ran {
        Ok(Ok(output)) => output,
        _ => return Ok(internal_error(&shared, &dendrite, &name)),
    };
    synapse.extend(output);
    let process_time = started.elapsed().as_secs_f64();
    synapse.insert("name".into(), json!(name));
    let mut axon = synapse.get("axon").and_then(Value::as_object).cloned().unwrap_or_default();
    axon.insert("status_code".into(), json!(200));
    axon.insert("status_message".into(), json!("Success"));
    axon.insert("process_time".into(), json!(process_time));
    axon.insert("hotkey".into(), json!(shared.hotkey));
    synapse.insert("axon".into(), Value::Object(axon));
    let mut dendrite_info =
        synapse.get("dendrite").and_then(Value::as_object).cloned().unwrap_or_default();
    dendrite_info.insert("ip".into(), json!(peer.ip().to_string()));
    dendrite_info.insert("port".into(), json!(peer.port()));
    synapse.insert("dendrite".into(), Value::Object(dendrite_info));
    let mut response = Response::new(whole(Value::Object(synapse).to_string()));
    let headers = response.headers_mut();
    let mut put = |k: &'static str, v: String| {
        if let Ok(v) = HeaderValue::from_str(&v) {
            headers.insert(k, v);
        }
    };
    put("content-type", "application/json".into());
    put("name", name);
    put("bt_header_axon_status_code", "200".into());
    put("bt_header_axon_status_message", "Success".into());
    put("bt_header_axon_process_time", process_time.to_string());
    put("bt_header_axon_hotkey", shared.hotkey.clone());
    put("computed_body_hash", auth.body_hash);
    Ok(response)
}

/// A streaming reply as the Python axon sends it: status 200 and the synapse's headers
/// (the request's, with the axon's status) before the first chunk, then the chunks.
fn streaming_reply(
    shared: &Shared,
    request: &HeaderMap,
    name: &str,
    started: Instant,
    chunks: mpsc::Receiver<Bytes>,
) -> Response<Body> {
    let mut response = Response::new(ChannelBody(chunks).boxed());
    let headers = response.headers_mut();
    for (key, value) in request {
        let k = key.as_str();
        let echoed = k.starts_with("bt_header_")
            || matches!(
                k,
                "name" | "timeout" | "header_size" | "total_size" | "computed_body_hash"
            );
        if echoed {
            headers.insert(key.clone(), value.clone());
        }
    }
    let mut put = |k: &'static str, v: String| {
        if let Ok(v) = HeaderValue::from_str(&v) {
            headers.insert(k, v);
        }
    };
    put("content-type", "text/event-stream".into());
    put("name", name.to_owned());
    put("bt_header_axon_status_code", "200".into());
    put("bt_header_axon_status_message", "Success".into());
    put("bt_header_axon_process_time", started.elapsed().as_secs_f64().to_string());
    put("bt_header_axon_hotkey", shared.hotkey.clone());
    response
}

fn json_reply(status: u16, value: &Value) -> Response<Body> {
    let mut response = Response::new(whole(value.to_string()));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// A bittensor 11 request, authenticated by `btauth/1` headers instead of the 10.x
/// synapse headers: `POST /<synapse>` with the synapse's fields as a JSON object; the reply
/// is the handler's fields. Errors: `{"error", "message"}` with 401 (403 for another
/// receiver), 404 for an unknown synapse, 400 for a body that is not a JSON object.
async fn handle_btauth(shared: Arc<Shared>, req: Request<Incoming>) -> Response<Body> {
    let headers = req.headers().clone();
    let method = req.method().as_str().to_owned();
    let path = req.uri().path_and_query().map(|p| p.as_str().to_owned()).unwrap_or_default();
    let name = req.uri().path().split('/').nth(1).unwrap_or_default().to_owned();
    let body = match Limited::new(req.into_body(), MAX_BODY_BYTES).collect().await {
        Ok(body) => body.to_bytes(),
        Err(_) => {
            return json_reply(
                413,
                &json!({"error": "TooLarge", "message": "Request body too large"}),
            )
        }
    };
    let lookup = |name: &str| header(&headers, name);
    let verified = match shared.btauth.lock() {
        Ok(mut verifier) => verifier.verify(lookup, &method, &path, &body, now_ns()),
        Err(_) => {
            return json_reply(500, &json!({"error": "Internal", "message": "lock poisoned"}))
        }
    };
    let caller = match verified {
        Ok(caller) => caller,
        Err(e) => {
            let kind = format!("{e:?}");
            let kind = kind.split('(').next().unwrap_or_default();
            return json_reply(e.status(), &json!({"error": kind, "message": e.to_string()}));
        }
    };
    let Some(Served::Unary(spec)) = shared.synapses.get(&name).cloned() else {
        return json_reply(
            404,
            &json!({"error": "NotFound", "message": format!("no synapse '{name}'")}),
        );
    };
    if let Some(reason) = refused(&shared, &caller, &name) {
        return json_reply(403, &json!({"error": "Blacklisted", "message": reason}));
    }
    if let Some(message) = over_rate(&shared, &caller) {
        return json_reply(429, &json!({"error": "RateLimited", "message": message}));
    }
    let Ok(Value::Object(fields)) = serde_json::from_slice::<Value>(&body) else {
        return json_reply(
            400,
            &json!({"error": "BadBody", "message": "the body must be a JSON object"}),
        );
    };
    match (spec.handler)(&fields) {
        Ok(output) => json_reply(200, &Value::Object(output)),
        Err(e) => json_reply(500, &json!({"error": "HandlerFailed", "message": e})),
    }
}

/// Hotkeys admitted by stake: those holding at least `min_stake` (alpha RAO) on a subnet.
/// Shared and cheap to clone; [`AllowList::sync`] keeps it current from the chain.
#[derive(Clone, Debug)]
pub struct AllowList {
    min_stake: u64,
    stakes: Arc<std::sync::RwLock<BTreeMap<String, u64>>>,
}

impl AllowList {
    /// An empty list admitting stakes of at least `min_stake`.
    pub fn new(min_stake: u64) -> Self {
        Self { min_stake, stakes: Arc::default() }
    }

    /// Replaces the known stakes.
    pub fn set(&self, stakes: impl IntoIterator<Item = (String, u64)>) {
        if let Ok(mut known) = self.stakes.write() {
            *known = stakes.into_iter().collect();
        }
    }

    /// Why `hotkey` is refused, if it is.
    pub fn refuses(&self, hotkey: &str) -> Option<String> {
        let stake = self.stakes.read().ok()?.get(hotkey).copied();
        match stake {
            None => Some("not registered on the subnet".into()),
            Some(s) if s < self.min_stake => {
                Some(format!("stake {s} is below the minimum {}", self.min_stake))
            }
            Some(_) => None,
        }
    }

    /// Refreshes the list from subnet `netuid`'s metagraph every `every`, until the list's
    /// last clone is dropped.
    pub fn sync(
        &self,
        chain: Arc<crate::chain::ChainClient>,
        netuid: u16,
        every: std::time::Duration,
    ) -> tokio::task::JoinHandle<()> {
        let weak = Arc::downgrade(&self.stakes);
        let min_stake = self.min_stake;
        tokio::spawn(async move {
            loop {
                let Some(stakes) = weak.upgrade() else { return };
                if let Ok(neurons) = chain.neurons(netuid).await {
                    let list = AllowList { min_stake, stakes };
                    list.set(neurons.into_iter().map(|n| (n.hotkey, n.stake)));
                }
                tokio::time::sleep(every).await;
            }
        })
    }
}

/// The blacklist stage: the allow-list, then the subnet's own hook.
fn refused(shared: &Shared, caller: &str, name: &str) -> Option<String> {
    if name == "Synapse" {
        return None;
    }
    shared
        .allow
        .as_ref()
        .and_then(|list| list.refuses(caller))
        .or_else(|| shared.blacklist.as_ref().and_then(|hook| hook(caller, name)))
}

/// Counts a verified call; the message if the caller is over its rate.
fn over_rate(shared: &Shared, caller: &str) -> Option<String> {
    let (limit, per) = shared.rate?;
    let mut calls = shared.calls.lock().ok()?;
    let now = Instant::now();
    if calls.len() > 100_000 {
        calls.retain(|_, (start, _)| now.duration_since(*start) < per);
    }
    let entry = calls.entry(caller.to_owned()).or_insert((now, 0));
    if now.duration_since(entry.0) >= per {
        *entry = (now, 0);
    }
    entry.1 = entry.1.saturating_add(1);
    (entry.1 > limit).then(|| {
        format!("Too Many Requests: at most {limit} per {:.0} s from one caller", per.as_secs_f64())
    })
}

/// Handler slots: at most `limit` at once; waiters are woken highest priority first.
struct Slots {
    state: Mutex<SlotState>,
}

struct SlotState {
    free: usize,
    next: u64,
    waiting: std::collections::BinaryHeap<Waiter>,
}

struct Waiter {
    rank: f64,
    seq: u64,
    wake: tokio::sync::oneshot::Sender<()>,
}

impl PartialEq for Waiter {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == std::cmp::Ordering::Equal
    }
}
impl Eq for Waiter {}
impl PartialOrd for Waiter {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Waiter {
    /// Higher rank first; among equals, earlier arrival first.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.rank.total_cmp(&other.rank).then_with(|| other.seq.cmp(&self.seq))
    }
}

/// A held slot; dropping it hands the slot to the best waiter.
struct Slot(Arc<Slots>);

impl Drop for Slot {
    fn drop(&mut self) {
        release(&self.0);
    }
}

/// Hands a slot to the best live waiter, or frees it.
fn release(slots: &Slots) {
    let Ok(mut state) = slots.state.lock() else { return };
    while let Some(waiter) = state.waiting.pop() {
        if waiter.wake.send(()).is_ok() {
            return; // the slot passes to it
        }
    }
    state.free = state.free.saturating_add(1);
}

/// A request waiting for a slot; if it is abandoned after a slot was handed to it (the
/// caller went away), the slot goes back.
struct Waiting {
    slots: Arc<Slots>,
    woken: Option<tokio::sync::oneshot::Receiver<()>>,
}

impl Drop for Waiting {
    fn drop(&mut self) {
        if let Some(mut woken) = self.woken.take() {
            if woken.try_recv().is_ok() {
                release(&self.slots);
            }
        }
    }
}

impl Slots {
    fn new(limit: usize) -> Self {
        Self {
            state: Mutex::new(SlotState {
                free: limit,
                next: 0,
                waiting: std::collections::BinaryHeap::new(),
            }),
        }
    }
}

trait Acquire {
    async fn acquire(&self, rank: f64) -> Slot;
}

impl Acquire for Arc<Slots> {
    async fn acquire(&self, rank: f64) -> Slot {
        let wait = {
            let Ok(mut state) = self.state.lock() else { return Slot(self.clone()) };
            if state.free > 0 {
                state.free -= 1;
                None
            } else {
                let (wake, woken) = tokio::sync::oneshot::channel();
                let seq = state.next;
                state.next = state.next.wrapping_add(1);
                state.waiting.push(Waiter { rank, seq, wake });
                Some(woken)
            }
        };
        if let Some(woken) = wait {
            let mut waiting = Waiting { slots: self.clone(), woken: Some(woken) };
            if let Some(woken) = waiting.woken.as_mut() {
                let _ = woken.await;
            }
            waiting.woken = None; // the slot is ours now
        }
        Slot(self.clone())
    }
}
