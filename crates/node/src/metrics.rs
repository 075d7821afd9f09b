//! Prometheus metrics over HTTP (`GET /metrics`, text format 0.0.4).

use crate::rpc::server::{accept, refuse, ConnectionState, IdleIo, Limiter, Throttle};
use crate::rpc::Node;
use http_body_util::Full;
use hyper::{body::Bytes, server::conn::http1, service::service_fn, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::{
    convert::Infallible,
    net::SocketAddr,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};
use tokio::net::TcpListener;

/// Counters the block producer updates.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Microseconds the last block took to execute and commit.
    pub last_block_micros: AtomicU64,
    /// Transactions included since start.
    pub transactions: AtomicU64,
    /// Blocks produced since start.
    pub blocks: AtomicU64,
    /// Peers blocked since start for what no honest node sends (undecodable messages,
    /// bodies that are not their header's, certificates that do not verify).
    pub peers_blocked: AtomicU64,
    /// A BFT validator's consensus and p2p metrics (commonware's own, Prometheus text).
    pub engine: EngineMetrics,
}

/// Renders the consensus engine's and p2p network's metrics, once a validator sets it.
#[derive(Default)]
pub struct EngineMetrics(std::sync::OnceLock<Box<dyn Fn() -> String + Send + Sync>>);

impl EngineMetrics {
    /// Installs the renderer (the first call wins).
    pub fn set(&self, render: impl Fn() -> String + Send + Sync + 'static) {
        let _ = self.0.set(Box::new(render));
    }

    fn render(&self) -> Option<String> {
        self.0.get().map(|render| render())
    }
}

impl std::fmt::Debug for EngineMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.get().is_some() { "EngineMetrics(set)" } else { "EngineMetrics" })
    }
}

/// Connected peers in commonware's p2p metrics: `…_connected{peer=…} <since>` lines.
fn connected_peers(engine: &str) -> usize {
    engine
        .lines()
        .filter(|line| !line.starts_with('#') && line.contains("_connected{"))
        .filter(|line| {
            line.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()).is_some_and(|v| v > 0.0)
        })
        .count()
}

impl Metrics {
    /// Records a produced block.
    pub fn block(&self, micros: u64, transactions: u64) {
        self.last_block_micros.store(micros, Ordering::Relaxed);
        self.transactions.fetch_add(transactions, Ordering::Relaxed);
        self.blocks.fetch_add(1, Ordering::Relaxed);
    }
}

impl Metrics {
    /// Connected validator peers (0 unless a validator installed its engine's metrics).
    pub fn connected_peers(&self) -> usize {
        self.engine.render().as_deref().map(connected_peers).unwrap_or(0)
    }
}

fn render(node: &Node) -> String {
    let (height, pending, replayed) = match node.chain.lock() {
        Ok(chain) => (chain.head.number.get(), chain.mempool.len(), chain.opened.replayed),
        Err(_) => (0, 0, 0),
    };
    let m = &node.metrics;
    let engine = m.engine.render();
    let peers = engine.as_deref().map(connected_peers).unwrap_or(0);
    let highest = node.sync.highest_seen().max(height);
    let rows: [(&str, &str, &str, String); 10] = [
        (
            "tao_peers_blocked_total",
            "counter",
            "Peers blocked since start for sending what no honest node sends.",
            m.peers_blocked.load(Ordering::Relaxed).to_string(),
        ),
        ("tao_block_height", "gauge", "Number of the head block.", height.to_string()),
        (
            "tao_finalized_height",
            "gauge",
            "Number of the newest finalized block.",
            height.to_string(),
        ),
        (
            "tao_peers",
            "gauge",
            "Connected validator peers (a single-authority node has none).",
            peers.to_string(),
        ),
        (
            "tao_highest_seen_height",
            "gauge",
            "Highest block number seen announced (by the followed node or a peer).",
            highest.to_string(),
        ),
        (
            "tao_blocks_replayed_on_open",
            "gauge",
            "Blocks re-executed to rebuild the state when the node opened its store (0: the stored state was read back).",
            replayed.to_string(),
        ),
        (
            "tao_mempool_transactions",
            "gauge",
            "Transactions waiting in the pool.",
            pending.to_string(),
        ),
        (
            "tao_block_execution_seconds",
            "gauge",
            "Time the last block took to execute and commit.",
            format!("{:.6}", m.last_block_micros.load(Ordering::Relaxed) as f64 / 1e6),
        ),
        (
            "tao_blocks_produced_total",
            "counter",
            "Blocks produced since start.",
            m.blocks.load(Ordering::Relaxed).to_string(),
        ),
        (
            "tao_transactions_included_total",
            "counter",
            "Transactions included since start.",
            m.transactions.load(Ordering::Relaxed).to_string(),
        ),
    ];
    let mut out = String::new();
    for (name, kind, help, value) in rows {
        out.push_str(&format!("# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n"));
    }
    if let Some(engine) = engine {
        out.push_str(&engine);
        if !out.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

/// Connections the metrics server holds at once (all clients; a scraper needs one).
pub const MAX_CONNECTIONS: usize = 32;
/// Connections one client address may hold.
pub const MAX_CONNECTIONS_PER_IP: usize = 8;
/// A metrics connection that sends nothing (or not a whole request header) for this long is
/// closed.
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `/metrics` on `addr` until the runtime stops. It outlives accept errors (logged,
/// throttled, then a back-off) and holds at most [`MAX_CONNECTIONS`], each closed after
/// [`READ_TIMEOUT`] without a request.
pub async fn serve(addr: SocketAddr, node: Arc<Node>) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    tokio::spawn(async move {
        let limiter = Limiter::new("metrics connections", MAX_CONNECTIONS, MAX_CONNECTIONS_PER_IP);
        let (mut errors, mut refusals) = (Throttle::default(), Throttle::default());
        loop {
            let (stream, peer) = accept(&listener, "metrics", &mut errors).await;
            let permit = match limiter.try_acquire(peer.ip()) {
                Ok(permit) => permit,
                Err(why) => {
                    refuse(stream, &why, &mut refusals);
                    continue;
                }
            };
            let node = node.clone();
            tokio::spawn(async move {
                let io = IdleIo::new(stream, READ_TIMEOUT, ConnectionState::new(permit));
                let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                    let node = node.clone();
                    async move { Ok::<_, Infallible>(respond(&req, &node)) }
                });
                let _ = http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(READ_TIMEOUT)
                    .serve_connection(TokioIo::new(io), service)
                    .await;
            });
        }
    });
    Ok(local)
}

fn respond(req: &Request<hyper::body::Incoming>, node: &Node) -> Response<Full<Bytes>> {
    if req.uri().path() == "/metrics" {
        let mut r = Response::new(Full::new(Bytes::from(render(node))));
        r.headers_mut().insert(
            "content-type",
            hyper::header::HeaderValue::from_static("text/plain; version=0.0.4"),
        );
        r
    } else {
        let mut r = Response::new(Full::new(Bytes::from_static(b"try /metrics\n")));
        *r.status_mut() = StatusCode::NOT_FOUND;
        r
    }
}

#[cfg(test)]
mod tests {
    use super::connected_peers;

    #[test]
    fn connected_peers_counts_live_connections() {
        let text = "# HELP p2p_tracker_connected When each peer became active\n\
                    p2p_tracker_connected{peer=\"aa\"} 1795330387688\n\
                    p2p_tracker_connected{peer=\"bb\"} 0\n\
                    p2p_tracker_connected{peer=\"cc\"} 1795330387999\n\
                    p2p_tracker_tracked 3\n";
        assert_eq!(connected_peers(text), 2);
        assert_eq!(connected_peers(""), 0);
    }
}
