//! The JSON-RPC listener and its limits against hostile clients (`docs/rpc.md`, "Limits").
//!
//! jsonrpsee's own accept loop counts WebSockets and HTTP requests against one pool (idle
//! WebSockets lock HTTP callers out with 429), never times out a connection after its first
//! request, and spins on accept errors. This accept loop (HTTP/1.1 and WebSocket) instead:
//! * caps connections overall and per client address (an IPv6 client by its /64), and
//!   WebSockets overall (three quarters of the connections, so HTTP callers always find
//!   room) and per address; what is over a cap gets a 429 and is closed;
//! * closes a connection from which nothing (not even a pong to the server's pings) was
//!   read for the idle timeout, unless it is waiting for its own request's answer;
//! * refuses requests whose `Origin` is not allowed (by default only loopback pages);
//! * on accept errors (out of descriptors) logs at most once a second and backs off.
//!
//! The metrics server shares the accept loop, the caps and the idle timeout.

use hyper::{body::Incoming, header, Method, Request, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use jsonrpsee::server::{
    BatchRequestConfig, HttpBody, HttpResponse, Methods, PingConfig, ServerConfig, ServerHandle,
    StopHandle,
};
use std::{
    collections::HashMap,
    future::Future,
    io,
    net::{IpAddr, Ipv6Addr, SocketAddr},
    pin::Pin,
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Arc, Mutex,
    },
    task::{Context, Poll},
    time::{Duration, Instant},
};
use tokio::{
    io::{AsyncRead, AsyncWrite, ReadBuf},
    net::{TcpListener, TcpStream},
    time::Sleep,
};

/// How long the accept loop waits after an accept error (e.g. out of file descriptors).
pub const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Subscriptions one WebSocket may hold.
pub const MAX_SUBSCRIPTIONS_PER_CONNECTION: u32 = 64;

/// The JSON-RPC server's limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcLimits {
    /// Connections (HTTP and WebSocket) from all clients together.
    pub max_connections: usize,
    /// Connections from one client address.
    pub max_connections_per_ip: usize,
    /// WebSockets from one client address.
    pub max_websockets_per_ip: usize,
    /// A connection that sends nothing for this long is closed (a WebSocket is pinged
    /// twice in that time, and a pong counts).
    pub idle_timeout: Duration,
    /// Calls in one batch.
    pub max_batch: u32,
    /// Bytes in one request (HTTP body or WebSocket message).
    pub max_request_bytes: u32,
    /// Which browser pages (`Origin`) may call.
    pub origins: OriginPolicy,
    /// Serve the explorer under `/explorer/` (`--explorer`; [`crate::explorer`]), and let
    /// its pages call.
    pub explorer: bool,
}

impl Default for RpcLimits {
    fn default() -> Self {
        Self {
            max_connections: 500,
            max_connections_per_ip: 64,
            max_websockets_per_ip: 32,
            idle_timeout: Duration::from_secs(60),
            max_batch: 100,
            max_request_bytes: 1024 * 1024,
            origins: OriginPolicy::default(),
            explorer: false,
        }
    }
}

impl RpcLimits {
    /// The smallest request-size limit that still admits the largest transaction (hex, in
    /// a JSON-RPC request).
    pub const MIN_REQUEST_BYTES: u32 = (2 * tao_types::MAX_TRANSACTION_BYTES + 4096) as u32;

    /// WebSockets from all clients together: three quarters of the connections.
    pub fn max_websockets(&self) -> usize {
        (self.max_connections * 3 / 4).max(1)
    }
}

/// Which `Origin` headers (browser pages) may call the node. Requests without one (the CLI,
/// the SDK, curl) are always served.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OriginPolicy {
    any: bool,
    extra: Vec<String>,
}

/// Why an `--rpc-cors` value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an origin like https://app.example.com (or `all`)")]
pub struct BadOrigin(String);

impl OriginPolicy {
    /// Parses `all` (any page) or a comma-separated list of origins (`scheme://host[:port]`)
    /// allowed besides the loopback pages.
    pub fn parse(text: &str) -> Result<Self, BadOrigin> {
        if matches!(text.trim(), "all" | "*") {
            return Ok(Self { any: true, extra: Vec::new() });
        }
        let mut extra = Vec::new();
        for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let origin = normalize(item);
            if split_origin(&origin).is_none() {
                return Err(BadOrigin(item.to_owned()));
            }
            extra.push(origin);
        }
        Ok(Self { any: false, extra })
    }

    /// Whether a request with this `Origin` header may call.
    pub fn allows(&self, origin: &str) -> bool {
        let origin = normalize(origin);
        self.any || is_loopback_origin(&origin) || self.extra.contains(&origin)
    }
}

fn normalize(origin: &str) -> String {
    origin.trim().trim_end_matches('/').to_ascii_lowercase()
}

/// `scheme://host[:port]` as (scheme, host), for http(s) only.
fn split_origin(origin: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = origin.split_once("://")?;
    if !matches!(scheme, "http" | "https") || rest.is_empty() || rest.contains('/') {
        return None;
    }
    let host = if let Some(v6) = rest.strip_prefix('[') {
        let (inside, after) = v6.split_once(']')?;
        if !(after.is_empty() || after.strip_prefix(':').is_some_and(is_port)) {
            return None;
        }
        inside
    } else {
        match rest.split_once(':') {
            Some((host, port)) if is_port(port) => host,
            Some(_) => return None,
            None => rest,
        }
    };
    (!host.is_empty()).then_some((scheme, host))
}

fn is_port(text: &str) -> bool {
    text.parse::<u16>().is_ok()
}

/// `http(s)://localhost`, `127.x.y.z` or `[::1]`, any port.
fn is_loopback_origin(origin: &str) -> bool {
    split_origin(origin).is_some_and(|(_, host)| {
        host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
    })
}

/// Logs an often-repeated warning at most once a second, with how many were held back.
#[derive(Debug, Default)]
pub struct Throttle {
    last: Option<Instant>,
    held_back: u64,
}

impl Throttle {
    /// Whether to log now; if so, how many were held back since the last one.
    pub fn allow(&mut self, now: Instant) -> Option<u64> {
        match self.last {
            Some(last) if now.saturating_duration_since(last) < Duration::from_secs(1) => {
                self.held_back += 1;
                None
            }
            _ => {
                self.last = Some(now);
                Some(std::mem::take(&mut self.held_back))
            }
        }
    }
}

/// Accepts the next connection. An accept error (out of file descriptors, …) never stops
/// the server nor spins: it is logged (throttled) and the next try waits [`ACCEPT_BACKOFF`].
pub async fn accept(
    listener: &TcpListener,
    server: &'static str,
    throttle: &mut Throttle,
) -> (TcpStream, SocketAddr) {
    retrying(|| listener.accept(), server, throttle).await
}

/// Tries `next` until it succeeds, logging failures (throttled) and backing off after each.
async fn retrying<T, F: Future<Output = io::Result<T>>>(
    mut next: impl FnMut() -> F,
    server: &'static str,
    throttle: &mut Throttle,
) -> T {
    loop {
        match next().await {
            Ok(value) => return value,
            Err(e) => {
                if let Some(held_back) = throttle.allow(Instant::now()) {
                    tracing::warn!(server, error = %e, held_back, "cannot accept a connection; backing off");
                }
                tokio::time::sleep(ACCEPT_BACKOFF).await;
            }
        }
    }
}

/// Caps on concurrent holders overall and per client address.
#[derive(Debug)]
pub struct Limiter {
    what: &'static str,
    total: usize,
    per_ip: usize,
    held: Mutex<(usize, HashMap<IpAddr, usize>)>,
}

/// Why a [`Limiter`] refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// The overall cap is reached.
    #[error("too many {what} (at most {limit})")]
    Total {
        /// What is counted.
        what: &'static str,
        /// The cap.
        limit: usize,
    },
    /// The caller's address holds its share.
    #[error("too many {what} from {ip} (at most {limit} per address)")]
    PerIp {
        /// What is counted.
        what: &'static str,
        /// The caller (an IPv6 address by its /64).
        ip: IpAddr,
        /// The cap.
        limit: usize,
    },
}

/// One place in a [`Limiter`], given back when dropped.
#[derive(Debug)]
pub struct Permit {
    limiter: Arc<Limiter>,
    ip: IpAddr,
}

impl Limiter {
    /// A limiter of `what` (for messages): `total` holders, `per_ip` from one address.
    pub fn new(what: &'static str, total: usize, per_ip: usize) -> Arc<Self> {
        Arc::new(Self { what, total, per_ip, held: Mutex::new((0, HashMap::new())) })
    }

    /// A place for a caller at `ip`, unless a cap is reached.
    pub fn try_acquire(self: &Arc<Self>, ip: IpAddr) -> Result<Permit, Refused> {
        let ip = client_key(ip);
        let mut held = self.held.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (total, by_ip) = &mut *held;
        if *total >= self.total {
            return Err(Refused::Total { what: self.what, limit: self.total });
        }
        let mine = by_ip.entry(ip).or_insert(0);
        if *mine >= self.per_ip {
            return Err(Refused::PerIp { what: self.what, ip, limit: self.per_ip });
        }
        *mine += 1;
        *total += 1;
        Ok(Permit { limiter: self.clone(), ip })
    }

    /// Places held now.
    pub fn held(&self) -> usize {
        self.held.lock().unwrap_or_else(std::sync::PoisonError::into_inner).0
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut held = self.limiter.held.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (total, by_ip) = &mut *held;
        *total = total.saturating_sub(1);
        if let Some(mine) = by_ip.get_mut(&self.ip) {
            *mine = mine.saturating_sub(1);
            if *mine == 0 {
                by_ip.remove(&self.ip);
            }
        }
    }
}

/// The address a client is counted under: IPv4 (also when mapped into IPv6) as is, IPv6 by
/// its /64 (one host usually has a whole /64).
fn client_key(ip: IpAddr) -> IpAddr {
    match ip.to_canonical() {
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(Ipv6Addr::from(prefix))
        }
        v4 => v4,
    }
}

/// What a connection and its requests share: its places in the limiters, and whether a
/// request of its own is being answered (then it is not idle).
#[derive(Debug)]
pub struct ConnectionState {
    busy: AtomicUsize,
    answered: AtomicBool,
    _connection: Permit,
    websocket: Mutex<Option<Permit>>,
}

impl ConnectionState {
    /// The state of a connection holding `permit`.
    pub fn new(permit: Permit) -> Arc<Self> {
        Arc::new(Self {
            busy: AtomicUsize::new(0),
            answered: AtomicBool::new(false),
            _connection: permit,
            websocket: Mutex::new(None),
        })
    }

    /// Marks a request as being answered until the guard is dropped.
    pub fn busy(self: &Arc<Self>) -> Busy {
        self.busy.fetch_add(1, Ordering::SeqCst);
        Busy(self.clone())
    }

    /// Keeps a WebSocket's place as long as the connection lives.
    fn hold_websocket(&self, permit: Permit) {
        *self.websocket.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(permit);
    }
}

/// A request being answered (see [`ConnectionState::busy`]).
#[derive(Debug)]
pub struct Busy(Arc<ConnectionState>);

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.answered.store(true, Ordering::SeqCst);
        self.0.busy.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A connection that fails with `TimedOut` once nothing was read from it for `idle` while
/// no request of its own was being answered. It keeps the connection's places in the
/// limiters until it is dropped (after a WebSocket upgrade, the WebSocket owns it).
pub struct IdleIo {
    io: TcpStream,
    idle: Duration,
    deadline: Pin<Box<Sleep>>,
    state: Arc<ConnectionState>,
}

impl IdleIo {
    /// Wraps `io`.
    pub fn new(io: TcpStream, idle: Duration, state: Arc<ConnectionState>) -> Self {
        Self { io, idle, deadline: Box::pin(tokio::time::sleep(idle)), state }
    }

    fn rearm(&mut self) {
        let at = tokio::time::Instant::now() + self.idle;
        self.deadline.as_mut().reset(at);
    }
}

impl AsyncRead for IdleIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.io).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    this.rearm();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => {
                if this.state.busy.load(Ordering::SeqCst) > 0 {
                    return Poll::Pending;
                }
                if this.state.answered.swap(false, Ordering::SeqCst) {
                    this.rearm();
                }
                match this.deadline.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "connection idle for too long",
                    ))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}

impl AsyncWrite for IdleIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

/// Answers a connection over a cap with a 429 (best effort, never waiting) and closes it.
pub fn refuse(stream: TcpStream, why: &Refused, throttle: &mut Throttle) {
    let body = format!("{why}\n");
    let response = format!(
        "HTTP/1.1 429 Too Many Requests\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.try_write(response.as_bytes());
    if let Some(held_back) = throttle.allow(Instant::now()) {
        tracing::warn!(%why, held_back, "connection refused");
    }
}

/// A plain-text HTTP response.
fn text(status: StatusCode, body: String) -> HttpResponse {
    let mut response = HttpResponse::new(HttpBody::from(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, header::HeaderValue::from_static("text/plain"));
    response
}

/// What every connection of the RPC server shares.
struct Shared {
    limits: RpcLimits,
    websockets: Arc<Limiter>,
    rpc: jsonrpsee::server::TowerServiceBuilder<tower_layer::Identity, tower_layer::Identity>,
    methods: Methods,
    stop: StopHandle,
}

/// Serves `methods` as JSON-RPC over HTTP and WebSocket on `listener` within `limits`.
pub fn start(listener: TcpListener, methods: Methods, limits: RpcLimits) -> ServerHandle {
    let (stop, handle) = jsonrpsee::server::stop_channel();
    let ping = PingConfig::new()
        .ping_interval(limits.idle_timeout / 2)
        .inactive_limit(limits.idle_timeout);
    let config = ServerConfig::builder()
        .max_request_body_size(limits.max_request_bytes)
        // Our caps are tighter: jsonrpsee's own pool (WebSockets and HTTP requests
        // together) must never be what refuses.
        .max_connections(u32::try_from(limits.max_connections).unwrap_or(u32::MAX))
        .max_subscriptions_per_connection(MAX_SUBSCRIPTIONS_PER_CONNECTION)
        .set_batch_request_config(BatchRequestConfig::Limit(limits.max_batch))
        .enable_ws_ping(ping)
        .build();
    let shared = Arc::new(Shared {
        websockets: Limiter::new(
            "WebSockets",
            limits.max_websockets(),
            limits.max_websockets_per_ip,
        ),
        rpc: jsonrpsee::server::Server::builder().set_config(config).to_service_builder(),
        limits,
        methods,
        stop: stop.clone(),
    });
    tokio::spawn(accept_loop(listener, shared));
    handle
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let connections = Limiter::new(
        "connections",
        shared.limits.max_connections,
        shared.limits.max_connections_per_ip,
    );
    let (mut errors, mut refusals) = (Throttle::default(), Throttle::default());
    let stopped = shared.stop.clone().shutdown();
    tokio::pin!(stopped);
    loop {
        let (stream, peer) = tokio::select! {
            connection = accept(&listener, "JSON-RPC", &mut errors) => connection,
            () = &mut stopped => return,
        };
        match connections.try_acquire(peer.ip()) {
            Ok(permit) => {
                tokio::spawn(connection(
                    stream,
                    peer,
                    ConnectionState::new(permit),
                    shared.clone(),
                ));
            }
            Err(why) => refuse(stream, &why, &mut refusals),
        }
    }
}

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    state: Arc<ConnectionState>,
    shared: Arc<Shared>,
) {
    let _ = stream.set_nodelay(true);
    let io = IdleIo::new(stream, shared.limits.idle_timeout, state.clone());
    let rpc = hyper_util::service::TowerToHyperService::new(
        shared.rpc.clone().build(shared.methods.clone(), shared.stop.clone()),
    );
    let (stopped, idle) = (shared.stop.clone().shutdown(), shared.limits.idle_timeout);
    let service = hyper::service::service_fn(move |request: Request<Incoming>| {
        let (state, shared, rpc) = (state.clone(), shared.clone(), rpc.clone());
        async move { handle(request, peer, &state, &shared, &rpc).await }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(idle)
        .serve_connection(TokioIo::new(io), service)
        .with_upgrades();
    tokio::pin!(conn, stopped);
    let result = tokio::select! {
        result = &mut conn => result,
        () = &mut stopped => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = result {
        tracing::debug!(%peer, "JSON-RPC connection ended: {e}");
    }
}

/// jsonrpsee's service (no middleware) as a hyper service.
type Rpc = hyper_util::service::TowerToHyperService<
    jsonrpsee::server::TowerService<tower_layer::Identity, tower_layer::Identity>,
>;

/// jsonrpsee's errors become a 500 here: hyper's bounds on a boxed error type defeat
/// rustc's `Send` proof of the connection.
type Answer = Result<HttpResponse, std::convert::Infallible>;

/// One HTTP request: the `Origin` policy, the WebSocket caps, then jsonrpsee.
async fn handle(
    request: Request<Incoming>,
    peer: SocketAddr,
    state: &Arc<ConnectionState>,
    shared: &Shared,
    rpc: &Rpc,
) -> Answer {
    if shared.limits.explorer {
        if let Some(page) = crate::explorer::route(&request) {
            return Ok(page);
        }
    }
    let host = request.headers().get(header::HOST).and_then(|h| h.to_str().ok());
    let own_page =
        |origin: &str| shared.limits.explorer && crate::explorer::same_origin(origin, host);
    let origin = match request.headers().get(header::ORIGIN).map(|o| o.to_str()) {
        None => None,
        Some(Ok(origin)) if shared.limits.origins.allows(origin) || own_page(origin) => {
            Some(origin.to_owned())
        }
        Some(origin) => {
            let shown = origin.unwrap_or("(not text)");
            let message = format!(
                "origin {shown} may not call this node; start tao-node with --rpc-cors to allow it\n"
            );
            return Ok(text(StatusCode::FORBIDDEN, message));
        }
    };
    let answer = if origin.is_some() && request.method() == Method::OPTIONS {
        Ok(preflight())
    } else if jsonrpsee::server::ws::is_upgrade_request(&request) {
        match shared.websockets.try_acquire(peer.ip()) {
            Ok(permit) => {
                state.hold_websocket(permit);
                hyper::service::Service::call(rpc, request).await
            }
            Err(why) => Ok(text(StatusCode::TOO_MANY_REQUESTS, format!("{why}\n"))),
        }
    } else {
        let _busy = state.busy();
        hyper::service::Service::call(rpc, request).await
    };
    let mut response = answer.unwrap_or_else(|e: jsonrpsee::core::BoxError| {
        text(StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n"))
    });
    if let Some(origin) = origin.and_then(|o| header::HeaderValue::from_str(&o).ok()) {
        let headers = response.headers_mut();
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.insert(header::VARY, header::HeaderValue::from_static("origin"));
    }
    Ok(response)
}

/// The answer to a browser's CORS preflight from an allowed origin.
fn preflight() -> HttpResponse {
    let mut response = text(StatusCode::NO_CONTENT, String::new());
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        header::HeaderValue::from_static("POST, OPTIONS"),
    );
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        header::HeaderValue::from_static("content-type"),
    );
    headers.insert(header::ACCESS_CONTROL_MAX_AGE, header::HeaderValue::from_static("600"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_origins_pass_by_default_and_others_only_when_listed() {
        let default = OriginPolicy::default();
        for origin in [
            "http://127.0.0.1:8080",
            "http://localhost",
            "https://localhost:3000/",
            "http://[::1]:9",
            "HTTP://LOCALHOST:1",
        ] {
            assert!(default.allows(origin), "{origin}");
        }
        for origin in [
            "https://evil.example",
            "null",
            "http://127.0.0.1.evil.example",
            "http://localhost.evil.example:80",
            "file://",
            "http://localhost:99999",
            "",
        ] {
            assert!(!default.allows(origin), "{origin}");
        }
        let listed = OriginPolicy::parse("https://app.example, http://10.0.0.2:8000").unwrap();
        assert!(listed.allows("https://app.example"));
        assert!(listed.allows("http://10.0.0.2:8000"));
        assert!(listed.allows("http://127.0.0.1:5"), "loopback stays allowed");
        assert!(!listed.allows("https://app.example:444"));
        assert!(OriginPolicy::parse("all").unwrap().allows("https://anything.example"));
        assert!(OriginPolicy::parse("app.example").is_err());
        assert!(OriginPolicy::parse("ftp://x").is_err());
    }

    #[test]
    fn limiter_caps_per_address_and_overall_and_gives_places_back() {
        let limiter = Limiter::new("things", 3, 2);
        let (a, b, c) =
            (IpAddr::from([10, 0, 0, 1]), IpAddr::from([10, 0, 0, 2]), IpAddr::from([10, 0, 0, 3]));
        let a1 = limiter.try_acquire(a).unwrap();
        let _a2 = limiter.try_acquire(a).unwrap();
        assert!(matches!(limiter.try_acquire(a), Err(Refused::PerIp { limit: 2, .. })));
        let _b1 = limiter.try_acquire(b).unwrap();
        assert!(matches!(limiter.try_acquire(c), Err(Refused::Total { limit: 3, .. })));
        drop(a1);
        assert_eq!(limiter.held(), 2);
        let _c1 = limiter.try_acquire(c).unwrap();
        // IPv6: one /64 is one client; an IPv4-mapped address is the IPv4 one.
        let v6 = Limiter::new("things", 10, 1);
        let _x = v6.try_acquire("2001:db8::1".parse().unwrap()).unwrap();
        assert!(v6.try_acquire("2001:db8::ffff:1".parse().unwrap()).is_err());
        assert!(v6.try_acquire("2001:db8:0:1::1".parse().unwrap()).is_ok());
        let _m = v6.try_acquire("10.1.1.1".parse().unwrap()).unwrap();
        assert!(v6.try_acquire("::ffff:10.1.1.1".parse().unwrap()).is_err());
    }

    #[test]
    fn throttle_logs_once_a_second_and_counts_what_it_held_back() {
        let mut throttle = Throttle::default();
        let start = Instant::now();
        assert_eq!(throttle.allow(start), Some(0));
        for ms in [1, 10, 999] {
            assert_eq!(throttle.allow(start + Duration::from_millis(ms)), None);
        }
        assert_eq!(throttle.allow(start + Duration::from_millis(1000)), Some(3));
        assert_eq!(throttle.allow(start + Duration::from_millis(1001)), None);
    }

    /// Accept errors neither end the loop nor spin it: each is followed by a back-off, and
    /// they are logged.
    #[tokio::test]
    async fn accept_errors_are_retried_after_a_back_off() {
        let mut attempts = 0;
        let mut throttle = Throttle::default();
        let started = Instant::now();
        let value = retrying(
            || {
                attempts += 1;
                let outcome = if attempts <= 5 {
                    Err(io::Error::from_raw_os_error(24)) // EMFILE: too many open files
                } else {
                    Ok(attempts)
                };
                std::future::ready(outcome)
            },
            "test",
            &mut throttle,
        )
        .await;
        assert_eq!(value, 6, "the sixth try succeeded");
        assert!(started.elapsed() >= ACCEPT_BACKOFF * 5, "a back-off after each error");
        assert!(throttle.last.is_some(), "the errors were logged (throttled: see above)");
    }
}
