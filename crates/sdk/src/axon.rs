//! An axon: the miner's HTTP server, speaking the bittensor 10.x protocol so that Python
//! dendrites (and ours) can query it.
//!
//! Per request, in the Python axon's order: route by the first path segment (404), rebuild
//! the "header synapse" (every required field needs its `bt_header_input_obj_*` header, and a
//! `Content-Type`: else 500), the blacklist hook (403), signature and nonce (401), then the
//! body: JSON (422), required fields and the body hash (500), the handler, and a reply with
//! the Python status, message and `bt_header_axon_*` headers.
//!
//! Against hostile clients ([`AxonLimits`], all with defaults): connections are limited in
//! total and per IP, headers and bodies must arrive within a time, a reply that the client
//! stops reading is abandoned, a body is read only once its headers passed every check
//! (route, authentication, blacklist and allow-list; a declared length above the cap is
//! refused at once, 413), request bodies in memory share a byte budget (503 beyond it), the
//! nonce window is capped whatever the unsigned `timeout` header says and requests signed
//! before the axon started are refused (see [`crate::v10::NoncePolicy::hardened`]), replay
//! and rate-limit memories are bounded and O(1) amortised, and every handler (unary, typed,
//! streaming, `btauth/1`) runs off the async workers in a bounded number of priority slots.
//!
//! Priced synapses ([`Axon::require_payment`]): right after routing, a request without a
//! valid payment voucher gets 402 with the terms, before any signature check; see
//! [`crate::payment`].

use crate::{
    body_hash::body_hash,
    btauth::{self, AuthError},
    expiring::ExpiringMap,
    payment::{
        Accepted, Payee, Refusal, ACCEPTED_HEADER, GENESIS_HEADER, MIN_BLOCKS_HEADER, PAYEE_HEADER,
        PRICE_HEADER, REASON_HEADER, VOUCHER_HEADER,
    },
    v10::{self, NoncePolicy, NonceTracker, RequestAuth},
};
use http_body_util::{combinators::BoxBody, BodyExt, Full};
use hyper::{
    body::{Bytes, Incoming},
    header::{HeaderMap, HeaderValue, CONTENT_LENGTH, CONTENT_TYPE},
    server::conn::http1,
    service::service_fn,
    Request, Response, StatusCode,
};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde_json::{json, Map, Value};
use std::{
    collections::{BTreeMap, HashMap},
    convert::Infallible,
    future::Future,
    io,
    net::{IpAddr, SocketAddr},
    pin::Pin,
    sync::{
        atomic::{AtomicU64, AtomicUsize, Ordering},
        Arc, Mutex,
    },
    task::{Context, Poll},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};
use tao_primitives::Rao;
use tao_wallet::Keypair;
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    sync::{mpsc, watch, OwnedSemaphorePermit, Semaphore},
};

/// Largest request body accepted by default ([`AxonLimits::max_body_bytes`]).
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
/// The protocol version this axon announces (bittensor 10.5.0 as `version_as_int`).
pub const VERSION: u64 = 10_005_000;

/// An axon's defences against hostile clients. [`AxonLimits::default`] suits a public miner;
/// set them with [`Axon::limits`].
///
/// Memory held for clients is bounded by about `max_connections × (max_header_bytes +
/// small_body_bytes) + max_buffered_bytes`, whatever they send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AxonLimits {
    /// Open connections at most; beyond, a new connection is closed at once (default 512).
    pub max_connections: usize,
    /// Open connections from one IP address at most (default 64).
    pub max_connections_per_ip: usize,
    /// Time for a request's headers to arrive, counted from when the connection is ready
    /// for them (so an idle keep-alive connection is closed after it too; default 10 s).
    pub header_read_timeout: Duration,
    /// Time for a request's body to arrive once the axon starts reading it; 408 after
    /// (default 15 s).
    pub body_read_timeout: Duration,
    /// Time a reply may make no progress because the client stopped reading; the connection
    /// is closed after it (default 30 s).
    pub write_stall_timeout: Duration,
    /// Largest request head (request line and headers; at least 8 KiB; 431 beyond; default
    /// 64 KiB).
    pub max_header_bytes: usize,
    /// Largest request body (413 beyond; default [`MAX_BODY_BYTES`], 4 MiB).
    pub max_body_bytes: usize,
    /// Body bytes of all requests held in memory at once beyond each request's first
    /// `small_body_bytes`; a request that would exceed it is answered 503 (default 64 MiB).
    pub max_buffered_bytes: usize,
    /// Body bytes every request may hold outside `max_buffered_bytes` (so small, honest
    /// requests are served while large uploads fill the budget; default 64 KiB).
    pub small_body_bytes: usize,
    /// Handlers running at once (the priority slots; [`Axon::priority`] sets it too;
    /// default 64).
    pub max_handlers: usize,
    /// The longest first-contact nonce window of a bittensor 10 request: the Python axon
    /// allows 4 s + the request's unsigned `timeout` header; this caps it (default 16 s, the
    /// Python window at the default 12 s timeout). Unlike Python, the window applies
    /// whatever version the (unsigned) version header announces, and requests signed
    /// before the axon started are refused ([`NoncePolicy::hardened`] says why).
    pub max_nonce_window: Duration,
    /// How far a bittensor 10 nonce may be ahead of the axon's clock (default 2 s, as
    /// `btauth/1`'s bound).
    pub max_clock_ahead: Duration,
    /// Callers (hotkey and uuid) and `btauth/1` nonces remembered against replay (each;
    /// default 100,000).
    pub replay_memory: usize,
    /// Callers counted by the rate limit (default 100,000; beyond, the longest-counted
    /// caller's count is forgotten).
    pub rate_memory: usize,
}

impl Default for AxonLimits {
    fn default() -> Self {
        Self {
            max_connections: 512,
            max_connections_per_ip: 64,
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(15),
            write_stall_timeout: Duration::from_secs(30),
            max_header_bytes: 64 * 1024,
            max_body_bytes: MAX_BODY_BYTES,
            max_buffered_bytes: 64 * 1024 * 1024,
            small_body_bytes: 64 * 1024,
            max_handlers: 64,
            max_nonce_window: Duration::from_secs(16),
            max_clock_ahead: Duration::from_secs(2),
            replay_memory: 100_000,
            rate_memory: 100_000,
        }
    }
}

/// A handler: the request body's fields in, the fields to set on the reply out (or an error
/// message, answered as 500).
pub type Handler =
    Arc<dyn Fn(&Map<String, Value>) -> Result<Map<String, Value>, String> + Send + Sync>;
/// A streaming handler: the request body's fields in, a channel of raw chunks out (sent
/// as they come, chunked, `text/event-stream`; the chunk format is the subnet's). Errors
/// before the first chunk are answered as 500. It runs off the async workers (it may start
/// tokio tasks), and its handler slot is held until the stream ends.
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

/// A body fed by a channel, one data frame per chunk; it holds the handler slot of the
/// stream's handler until the stream ends or the client goes away.
struct ChannelBody {
    chunks: mpsc::Receiver<Bytes>,
    _slot: Slot,
}

impl hyper::body::Body for ChannelBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Bytes>, Infallible>>> {
        self.chunks.poll_recv(cx).map(|chunk| chunk.map(|c| Ok(hyper::body::Frame::data(c))))
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
    rate: Option<(u32, Duration)>,
    priority: Option<(Priority, usize)>,
    limits: AxonLimits,
    payments: BTreeMap<String, (Rao, Payee)>,
}

struct Shared {
    key: Keypair,
    hotkey: String,
    uuid: String,
    synapses: BTreeMap<String, Served>,
    blacklist: Option<Blacklist>,
    allow: Option<AllowList>,
    rate: Option<(u32, Duration)>,
    /// Per caller: requests counted in its current window (which ends at the entry's
    /// expiry, in ns since `started`).
    calls: Mutex<ExpiringMap<String, u32>>,
    priority: Option<Priority>,
    slots: Arc<Slots>,
    nonces: Mutex<NonceTracker>,
    btauth: Mutex<btauth::Verifier>,
    limits: AxonLimits,
    started: Instant,
    /// Open connections, per IP (entries removed at zero).
    connections: Mutex<HashMap<IpAddr, usize>>,
    open: AtomicUsize,
    refused: AtomicU64,
    accept_errors: AtomicU64,
    /// Permits are bytes of `max_buffered_bytes`.
    budget: Arc<Semaphore>,
    buffered: Arc<AtomicUsize>,
    /// Priced synapses: price per request and the payee that checks vouchers.
    payments: BTreeMap<String, (Rao, Payee)>,
}

/// What a serving axon holds now (for monitoring, and for tests of its limits).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AxonStats {
    /// Connections open.
    pub connections: usize,
    /// Request body bytes held in memory.
    pub buffered_bytes: usize,
    /// Connections closed at once because a connection limit was reached (since start).
    pub refused_connections: u64,
    /// Failed accepts, each followed by a growing pause (since start).
    pub accept_errors: u64,
    /// Requests waiting for a handler slot.
    pub waiting_for_slot: usize,
}

/// A serving axon; dropping it (or [`Serving::stop`]) stops it.
pub struct Serving {
    /// Where it listens.
    pub addr: SocketAddr,
    stop: watch::Sender<bool>,
    shared: Arc<Shared>,
}

impl Serving {
    /// Stops accepting connections.
    pub fn stop(&self) {
        let _ = self.stop.send(true);
    }

    /// What the axon holds now.
    pub fn stats(&self) -> AxonStats {
        let shared = &self.shared;
        AxonStats {
            connections: shared.open.load(Ordering::Relaxed),
            buffered_bytes: shared.buffered.load(Ordering::Relaxed),
            refused_connections: shared.refused.load(Ordering::Relaxed),
            accept_errors: shared.accept_errors.load(Ordering::Relaxed),
            waiting_for_slot: shared.slots.waiting(),
        }
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

/// The first pause after a failed accept; it doubles up to [`ACCEPT_BACKOFF_MAX`].
const ACCEPT_BACKOFF_MIN: Duration = Duration::from_millis(10);
/// The longest pause after failed accepts.
const ACCEPT_BACKOFF_MAX: Duration = Duration::from_secs(1);

impl Axon {
    /// An axon signing with `key` (its hotkey), with [`AxonLimits::default`].
    pub fn new(key: Keypair) -> Self {
        Self {
            key,
            synapses: BTreeMap::new(),
            blacklist: None,
            allow: None,
            rate: None,
            priority: None,
            limits: AxonLimits::default(),
            payments: BTreeMap::new(),
        }
    }

    /// Charges `price` per request of synapse `name`, paid by voucher on a payment channel
    /// to `payee`'s account ([`crate::payment`]). Without a valid voucher a request gets
    /// 402 and the terms in `x-tao-*` headers, before any signature is checked. Callers the
    /// allow-list admits (the subnet's validators) are served without payment; with no
    /// allow-list everyone pays. A paid request skips the allow-list (the blacklist hook
    /// still applies).
    pub fn require_payment(mut self, name: &str, price: Rao, payee: Payee) -> Self {
        self.payments.insert(name.to_owned(), (price, payee));
        self
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
    pub fn rate_limit(mut self, requests: u32, per: Duration) -> Self {
        self.rate = Some((requests, per));
        self
    }

    /// Runs at most `slots` handlers at once (instead of [`AxonLimits::max_handlers`]);
    /// waiting requests are served highest `hook` first (then in arrival order).
    pub fn priority(mut self, hook: Priority, slots: usize) -> Self {
        self.priority = Some((hook, slots.max(1)));
        self
    }

    /// Sets the limits against hostile clients (see [`AxonLimits`]).
    pub fn limits(mut self, limits: AxonLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Binds `addr` and serves on the current tokio runtime.
    pub async fn serve(mut self, addr: SocketAddr) -> io::Result<Serving> {
        // Every axon answers the base class, as a health check.
        let ping: Handler = Arc::new(|_| Ok(Map::new()));
        self.synapses.entry("Synapse".into()).or_insert(Served::Unary(SynapseSpec {
            required: Vec::new(),
            hash_fields: Vec::new(),
            handler: ping,
        }));
        let started_ns = now_ns();
        let limits = self.limits;
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let policy = NoncePolicy::hardened(
            limits.max_nonce_window.as_nanos(),
            limits.max_clock_ahead.as_nanos(),
            started_ns,
        );
        let verifier =
            btauth::Verifier::with_memory(self.key.ss58(), limits.replay_memory, started_ns);
        let slots = self.priority.as_ref().map_or(limits.max_handlers, |(_, n)| *n);
        let shared = Arc::new(Shared {
            hotkey: self.key.ss58(),
            key: self.key,
            uuid: uuid(),
            synapses: self.synapses,
            blacklist: self.blacklist,
            allow: self.allow,
            rate: self.rate,
            calls: Mutex::new(ExpiringMap::new(limits.rate_memory)),
            slots: Arc::new(Slots::new(slots.max(1))),
            priority: self.priority.map(|(hook, _)| hook),
            nonces: Mutex::new(NonceTracker::with_policy(limits.replay_memory, policy)),
            btauth: Mutex::new(verifier),
            started: Instant::now(),
            connections: Mutex::new(HashMap::new()),
            open: AtomicUsize::new(0),
            refused: AtomicU64::new(0),
            accept_errors: AtomicU64::new(0),
            budget: Arc::new(Semaphore::new(limits.max_buffered_bytes.min(Semaphore::MAX_PERMITS))),
            buffered: Arc::default(),
            limits,
            payments: self.payments,
        });
        let (stop, stopped) = watch::channel(false);
        tokio::spawn(accept_loop(listener, shared.clone(), stopped));
        Ok(Serving { addr, stop, shared })
    }
}

/// Accepts connections until stopped. A failed accept (e.g. out of file descriptors) is
/// followed by a pause, doubling up to [`ACCEPT_BACKOFF_MAX`]: retrying at once would spin
/// on the same error.
async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut stopped: watch::Receiver<bool>,
) {
    let mut backoff = Duration::ZERO;
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stopped.changed() => return,
        };
        match accepted {
            Ok((stream, peer)) => {
                backoff = Duration::ZERO;
                // Over a limit: the stream is dropped, closing the connection at once.
                if let Some(admitted) = Admitted::new(&shared, peer.ip()) {
                    tokio::spawn(serve_connection(shared.clone(), stream, peer, admitted));
                }
            }
            Err(_) => {
                shared.accept_errors.fetch_add(1, Ordering::Relaxed);
                backoff = (backoff * 2).clamp(ACCEPT_BACKOFF_MIN, ACCEPT_BACKOFF_MAX);
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    _ = stopped.changed() => return,
                }
            }
        }
    }
}

async fn serve_connection(
    shared: Arc<Shared>,
    stream: TcpStream,
    peer: SocketAddr,
    _admitted: Admitted,
) {
    let limits = &shared.limits;
    let io = TokioIo::new(StallGuard::new(stream, limits.write_stall_timeout));
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(limits.max_header_bytes.max(8192));
    let service = {
        let shared = shared.clone();
        service_fn(move |req| handle(shared.clone(), peer, req))
    };
    let _ = builder.serve_connection(io, service).await;
}

/// An admitted connection, counted against the limits until dropped.
struct Admitted {
    shared: Arc<Shared>,
    ip: IpAddr,
}

impl Admitted {
    /// Counts a connection from `ip`, or `None` (counted as refused) over a limit.
    fn new(shared: &Arc<Shared>, ip: IpAddr) -> Option<Self> {
        let limits = &shared.limits;
        let mut connections = shared.connections.lock().ok()?;
        let from_ip = connections.get(&ip).copied().unwrap_or(0);
        if shared.open.load(Ordering::Relaxed) >= limits.max_connections
            || from_ip >= limits.max_connections_per_ip
        {
            shared.refused.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        connections.insert(ip, from_ip + 1);
        shared.open.fetch_add(1, Ordering::Relaxed);
        Some(Self { shared: shared.clone(), ip })
    }
}

impl Drop for Admitted {
    fn drop(&mut self) {
        if let Ok(mut connections) = self.shared.connections.lock() {
            if let Some(count) = connections.get_mut(&self.ip) {
                *count = count.saturating_sub(1);
                if *count == 0 {
                    connections.remove(&self.ip);
                }
            }
        }
        self.shared.open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A connection whose writes fail once they made no progress for `limit`: a client that
/// stops reading a reply (a stream, say) gives its connection and handler slot back.
struct StallGuard {
    inner: TcpStream,
    limit: Duration,
    stalled: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl StallGuard {
    fn new(inner: TcpStream, limit: Duration) -> Self {
        Self { inner, limit, stalled: None }
    }

    /// Passes a write's outcome on, unless it has been pending for longer than the limit.
    fn watch<T>(
        &mut self,
        cx: &mut Context<'_>,
        polled: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        if polled.is_ready() {
            self.stalled = None;
            return polled;
        }
        let limit = self.limit;
        let stalled = self.stalled.get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        match stalled.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client stopped reading",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncRead for StallGuard {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for StallGuard {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.watch(cx, polled)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.watch(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.inner).poll_flush(cx);
        self.watch(cx, polled)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let polled = Pin::new(&mut self.inner).poll_shutdown(cx);
        self.watch(cx, polled)
    }
}

/// Why a request body was not read.
#[derive(Debug)]
enum BodyError {
    /// Longer than `max_body_bytes` (declared or sent).
    TooLarge,
    /// Not received within `body_read_timeout`.
    TimedOut,
    /// The byte budget of all bodies is spent.
    Busy,
    /// The connection broke.
    Broken,
}

impl BodyError {
    /// The status, the `btauth/1` error kind and the message to answer with.
    fn reply(&self, limits: &AxonLimits) -> (u16, &'static str, String) {
        match self {
            Self::TooLarge => (413, "TooLarge", "Request body too large".into()),
            Self::TimedOut => (
                408,
                "Timeout",
                format!(
                    "Request body not received within {} s",
                    limits.body_read_timeout.as_secs_f64()
                ),
            ),
            Self::Busy => {
                (503, "Busy", "Service unavailable: too many request bytes in flight".into())
            }
            Self::Broken => (400, "BadBody", "Request body broken off".into()),
        }
    }
}

/// A request body in memory, counted (and holding its part of the budget) until dropped.
struct Buffered {
    bytes: Vec<u8>,
    counted: Arc<AtomicUsize>,
    budget: Option<OwnedSemaphorePermit>,
}

impl Drop for Buffered {
    fn drop(&mut self) {
        self.counted.fetch_sub(self.bytes.len(), Ordering::Relaxed);
    }
}

/// Reads a request's body within the limits: its declared length is checked first, the
/// whole must arrive within `body_read_timeout`, and bytes beyond `small_body_bytes` are
/// drawn from the shared budget as they arrive (so a stalled upload holds only what it
/// sent).
async fn read_body(
    shared: &Shared,
    headers: &HeaderMap,
    body: Incoming,
) -> Result<Buffered, BodyError> {
    let limits = &shared.limits;
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limits.max_body_bytes as u64) {
        return Err(BodyError::TooLarge);
    }
    let mut body = body;
    let mut buffered =
        Buffered { bytes: Vec::new(), counted: shared.buffered.clone(), budget: None };
    let read = async {
        while let Some(frame) = body.frame().await {
            let Ok(data) = frame.map_err(|_| BodyError::Broken)?.into_data() else { continue };
            let before = buffered.bytes.len();
            let after = before.saturating_add(data.len());
            if after > limits.max_body_bytes {
                return Err(BodyError::TooLarge);
            }
            let charged = after.saturating_sub(limits.small_body_bytes.max(before));
            if charged > 0 {
                let permits = u32::try_from(charged).map_err(|_| BodyError::TooLarge)?;
                let more = shared
                    .budget
                    .clone()
                    .try_acquire_many_owned(permits)
                    .map_err(|_| BodyError::Busy)?;
                match &mut buffered.budget {
                    Some(held) => held.merge(more),
                    None => buffered.budget = Some(more),
                }
            }
            buffered.bytes.extend_from_slice(&data);
            shared.buffered.fetch_add(data.len(), Ordering::Relaxed);
        }
        Ok(())
    };
    tokio::time::timeout(limits.body_read_timeout, read)
        .await
        .map_err(|_| BodyError::TimedOut)??;
    Ok(buffered)
}

/// Runs `work` off the async workers in a handler slot (waiting for one, highest
/// priority first); returns its result with the slot, or `None` if it panicked.
async fn in_slot<T: Send + 'static>(
    shared: &Shared,
    caller: &str,
    name: &str,
    work: impl FnOnce() -> T + Send + 'static,
) -> Option<(T, Slot)> {
    let rank = shared.priority.as_ref().map_or(0.0, |hook| hook(caller, name));
    let slot = shared.slots.acquire(rank).await;
    let done = tokio::task::spawn_blocking(work).await.ok()?;
    Some((done, slot))
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

/// Sets `name: value` on `headers` if the value is a valid header value.
fn put(headers: &mut HeaderMap, name: &'static str, value: String) {
    if let Ok(value) = HeaderValue::from_str(&value) {
        headers.insert(name, value);
    }
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
    put(headers, "content-type", "application/json".into());
    put(headers, "name", name.to_owned());
    put(headers, "bt_header_axon_status_code", status.to_string());
    put(headers, "bt_header_axon_status_message", message);
    put(headers, "bt_header_axon_version", VERSION.to_string());
    put(headers, "bt_header_axon_nonce", nonce.to_string());
    put(headers, "bt_header_axon_uuid", shared.uuid.clone());
    put(headers, "bt_header_axon_hotkey", shared.hotkey.clone());
    put(headers, "bt_header_axon_signature", signature);
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
    if req.headers().contains_key("x-bittensor-signature") {
        return Ok(handle_btauth(shared, req).await);
    }
    Ok(handle_v10(shared, peer, req).await)
}

/// A bittensor 10 request: every header check, then the body, then the handler.
async fn handle_v10(
    shared: Arc<Shared>,
    peer: SocketAddr,
    req: Request<Incoming>,
) -> Response<Body> {
    let started = Instant::now();
    let (parts, body) = req.into_parts();
    let headers = parts.headers;
    let dendrite = header(&headers, "bt_header_dendrite_hotkey").unwrap_or_default();
    let name = parts.uri.path().split('/').nth(1).unwrap_or_default().to_owned();
    let Some(spec) = shared.synapses.get(&name).cloned() else {
        let available: Vec<String> = shared.synapses.keys().map(|k| format!("'{k}'")).collect();
        let message = format!(
            "Synapse name '{name}' not found. Available synapses [{}]",
            available.join(", ")
        );
        return error_reply(&shared, 404, message, &dendrite, "Synapse");
    };
    // The header synapse: required inputs and a content type must be there.
    if headers.get(CONTENT_TYPE).is_none()
        || spec
            .required()
            .iter()
            .any(|f| headers.get(format!("bt_header_input_obj_{f}").as_str()).is_none())
    {
        return internal_error(&shared, &dendrite, "Synapse");
    }
    let paid = match payment(&shared, &headers, &dendrite, &name).await {
        Ok(paid) => paid,
        Err((refusal, price, payee)) => {
            let mut response = error_reply(
                &shared,
                refusal.status,
                format!("Payment Required: {}", refusal.reason),
                &dendrite,
                &name,
            );
            payment_headers(response.headers_mut(), &refusal, price, &payee);
            return response;
        }
    };
    let refusal = match paid {
        Some(_) => shared.blacklist.as_ref().and_then(|hook| hook(&dendrite, &name)),
        None => refused(&shared, &dendrite, &name),
    };
    if let Some(reason) = refusal {
        return error_reply(
            &shared,
            403,
            format!("Forbidden. Key is blacklisted: {reason}."),
            &dendrite,
            &name,
        );
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
        Err(_) => return internal_error(&shared, &dendrite, &name),
    };
    if let Err(e) = verified {
        return error_reply(&shared, e.status(), e.reply_message(), &dendrite, &name);
    }
    if let Some(message) = over_rate(&shared, &dendrite) {
        return error_reply(&shared, 429, message, &dendrite, &name);
    }
    let body = match read_body(&shared, &headers, body).await {
        Ok(body) => body,
        Err(e) => {
            let (status, _, message) = e.reply(&shared.limits);
            return error_reply(&shared, status, message, &dendrite, &name);
        }
    };
    let parsed = serde_json::from_slice::<Value>(&body.bytes);
    drop(body);
    let Ok(Value::Object(mut synapse)) = parsed else {
        let detail = json!({"detail": [{"type": "json_invalid", "loc": ["body"], "msg": "JSON decode error"}]});
        return json_reply(422, &detail);
    };
    if spec.required().iter().any(|f| synapse.get(f).is_none_or(Value::is_null)) {
        return internal_error(&shared, &dendrite, &name);
    }
    let values: Vec<String> = spec
        .hash_fields()
        .iter()
        .map(|f| synapse.get(f).map(Value::to_string).unwrap_or_else(|| "null".into()))
        .collect();
    match body_hash(values.iter().map(String::as_str)) {
        Ok(hash) if hash == auth.body_hash => {}
        _ => return internal_error(&shared, &dendrite, &name),
    }
    let spec = match spec {
        Served::Unary(spec) => spec,
        Served::Stream(stream) => {
            let input = synapse;
            let ran = in_slot(&shared, &dendrite, &name, move || (stream.handler)(&input)).await;
            if let Some(refusal) = not_stored(paid.as_ref()).await {
                return error_reply(
                    &shared,
                    refusal.status,
                    refusal.reason.into(),
                    &dendrite,
                    &name,
                );
            }
            return match ran {
                Some((Ok(chunks), slot)) => streaming_reply(
                    &shared,
                    &headers,
                    &name,
                    started,
                    ChannelBody { chunks, _slot: slot },
                ),
                _ => internal_error(&shared, &dendrite, &name),
            };
        }
    };
    let input = synapse.clone();
    let output = match in_slot(&shared, &dendrite, &name, move || (spec.handler)(&input)).await {
        Some((Ok(output), _slot)) => output,
        _ => return internal_error(&shared, &dendrite, &name),
    };
    // The voucher was being written while the request was checked and handled: the reply
    // goes out only once it is on disk.
    if let Some(refusal) = not_stored(paid.as_ref()).await {
        return error_reply(&shared, refusal.status, refusal.reason.into(), &dendrite, &name);
    }
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
    put(headers, "content-type", "application/json".into());
    put(headers, "name", name);
    put(headers, "bt_header_axon_status_code", "200".into());
    put(headers, "bt_header_axon_status_message", "Success".into());
    put(headers, "bt_header_axon_process_time", process_time.to_string());
    put(headers, "bt_header_axon_hotkey", shared.hotkey.clone());
    put(headers, "computed_body_hash", auth.body_hash);
    if let Some(paid) = paid {
        put(headers, ACCEPTED_HEADER, paid.accepted.amount.get().to_string());
    }
    response
}

/// A paid request: what was accepted, and the payee whose disk must hold it before the
/// reply goes out.
struct Paid {
    accepted: Accepted,
    payee: Payee,
}

/// For a paid request, waits until its voucher is on disk; the refusal (503
/// `store-failed`) if it cannot be stored.
async fn not_stored(paid: Option<&Paid>) -> Option<Refusal> {
    let paid = paid?;
    paid.payee.wait_durable(paid.accepted.generation).await.err()
}

/// The payment stage: `Ok(None)` for a free synapse or a caller the allow-list admits,
/// `Ok(Some(paid))` for a paid request (its voucher kept, on disk before the reply), else
/// the refusal with the terms.
async fn payment(
    shared: &Shared,
    headers: &HeaderMap,
    caller: &str,
    name: &str,
) -> Result<Option<Paid>, (Refusal, Rao, Payee)> {
    let Some((price, payee)) = shared.payments.get(name) else { return Ok(None) };
    if shared.allow.as_ref().is_some_and(|list| list.refuses(caller).is_none()) {
        return Ok(None);
    }
    let voucher = headers.get(VOUCHER_HEADER).and_then(|v| v.to_str().ok());
    match payee.accept(voucher, *price).await {
        Ok(accepted) => Ok(Some(Paid { accepted, payee: payee.clone() })),
        Err(refusal) => Err((refusal, *price, payee.clone())),
    }
}

/// The terms of a 402 (x402-style; see [`crate::payment`] for the header names).
fn payment_headers(headers: &mut HeaderMap, refusal: &Refusal, price: Rao, payee: &Payee) {
    let config = payee.config();
    put(headers, PRICE_HEADER, price.get().to_string());
    put(headers, PAYEE_HEADER, config.payee.to_ss58());
    put(headers, GENESIS_HEADER, config.genesis_hash.to_string());
    put(headers, MIN_BLOCKS_HEADER, config.min_blocks_left.to_string());
    put(headers, REASON_HEADER, refusal.reason.to_owned());
    if let Some(accepted) = refusal.accepted {
        put(headers, ACCEPTED_HEADER, accepted.get().to_string());
    }
}

/// A streaming reply as the Python axon sends it: status 200 and the synapse's headers
/// (the request's, with the axon's status) before the first chunk, then the chunks.
fn streaming_reply(
    shared: &Shared,
    request: &HeaderMap,
    name: &str,
    started: Instant,
    body: ChannelBody,
) -> Response<Body> {
    let mut response = Response::new(body.boxed());
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
    put(headers, "content-type", "text/event-stream".into());
    put(headers, "name", name.to_owned());
    put(headers, "bt_header_axon_status_code", "200".into());
    put(headers, "bt_header_axon_status_message", "Success".into());
    put(headers, "bt_header_axon_process_time", started.elapsed().as_secs_f64().to_string());
    put(headers, "bt_header_axon_hotkey", shared.hotkey.clone());
    response
}

fn json_reply(status: u16, value: &Value) -> Response<Body> {
    let mut response = Response::new(whole(value.to_string()));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// A `btauth/1` error reply: `{"error": kind, "message": …}`.
fn btauth_error(status: u16, kind: &str, message: impl Into<String>) -> Response<Body> {
    json_reply(status, &json!({"error": kind, "message": message.into()}))
}

fn auth_error(e: &AuthError) -> Response<Body> {
    let kind = format!("{e:?}");
    btauth_error(e.status(), kind.split('(').next().unwrap_or_default(), e.to_string())
}

/// A bittensor 11 request, authenticated by `btauth/1` headers instead of the 10.x
/// synapse headers: `POST /<synapse>` with the synapse's fields as a JSON object; the reply
/// is the handler's fields. Errors: `{"error", "message"}` with 401 (403 for another
/// receiver), 404 for an unknown synapse, 400 for a body that is not a JSON object.
///
/// The body is read only after the headers passed (shape, receiver, freshness, replay,
/// route, blacklist and allow-list on the claimed sender); the signature, which covers the
/// body, is checked right after.
async fn handle_btauth(shared: Arc<Shared>, req: Request<Incoming>) -> Response<Body> {
    let (parts, body) = req.into_parts();
    let headers = parts.headers;
    let lookup = |name: &str| header(&headers, name);
    let claim = match shared.btauth.lock() {
        Ok(mut verifier) => verifier.check_headers(lookup, now_ns()),
        Err(_) => return btauth_error(500, "Internal", "lock poisoned"),
    };
    let claim = match claim {
        Ok(claim) => claim,
        Err(e) => return auth_error(&e),
    };
    let name = parts.uri.path().split('/').nth(1).unwrap_or_default().to_owned();
    let Some(Served::Unary(spec)) = shared.synapses.get(&name).cloned() else {
        return btauth_error(404, "NotFound", format!("no synapse '{name}'"));
    };
    let paid = match payment(&shared, &headers, &claim.sender, &name).await {
        Ok(paid) => paid,
        Err((refusal, price, payee)) => {
            let mut response = btauth_error(refusal.status, "PaymentRequired", refusal.reason);
            payment_headers(response.headers_mut(), &refusal, price, &payee);
            return response;
        }
    };
    let refusal = match paid {
        Some(_) => shared.blacklist.as_ref().and_then(|hook| hook(&claim.sender, &name)),
        None => refused(&shared, &claim.sender, &name),
    };
    if let Some(reason) = refusal {
        return btauth_error(403, "Blacklisted", reason);
    }
    let body = match read_body(&shared, &headers, body).await {
        Ok(body) => body,
        Err(e) => {
            let (status, kind, message) = e.reply(&shared.limits);
            return btauth_error(status, kind, message);
        }
    };
    let path = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or_default();
    let verified = match shared.btauth.lock() {
        Ok(mut verifier) => {
            verifier.check_body(claim, parts.method.as_str(), path, &body.bytes, now_ns())
        }
        Err(_) => return btauth_error(500, "Internal", "lock poisoned"),
    };
    let caller = match verified {
        Ok(caller) => caller,
        Err(e) => return auth_error(&e),
    };
    if let Some(message) = over_rate(&shared, &caller) {
        return btauth_error(429, "RateLimited", message);
    }
    let parsed = serde_json::from_slice::<Value>(&body.bytes);
    drop(body);
    let Ok(Value::Object(fields)) = parsed else {
        return btauth_error(400, "BadBody", "the body must be a JSON object");
    };
    let ran = in_slot(&shared, &caller, &name, move || (spec.handler)(&fields)).await;
    if let Some(refusal) = not_stored(paid.as_ref()).await {
        return btauth_error(refusal.status, "PaymentNotStored", refusal.reason);
    }
    match ran {
        Some((Ok(output), _slot)) => json_reply(200, &Value::Object(output)),
        Some((Err(e), _slot)) => btauth_error(500, "HandlerFailed", e),
        None => btauth_error(500, "HandlerFailed", "the handler panicked"),
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

/// Counts a verified call; the message if the caller is over its rate. A caller's window
/// starts with its first call and its count is forgotten when the window ends (or, beyond
/// `rate_memory` callers, when it is the longest counted).
fn over_rate(shared: &Shared, caller: &str) -> Option<String> {
    let (limit, per) = shared.rate?;
    let mut calls = shared.calls.lock().ok()?;
    let now = shared.started.elapsed().as_nanos();
    calls.expire(now);
    let count = match calls.get_mut(caller) {
        Some(count) => {
            *count = count.saturating_add(1);
            *count
        }
        None => {
            calls.insert(caller.to_owned(), 1, now.saturating_add(per.as_nanos()));
            1
        }
    };
    (count > limit).then(|| {
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
    /// Requests waiting for a slot (including any that gave up and were not yet skipped).
    fn waiting(&self) -> usize {
        self.state.lock().map_or(0, |state| state.waiting.len())
    }

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
