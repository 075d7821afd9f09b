//! A dendrite: the validator's client, querying axons (ours or Python's) with the bittensor
//! 10.x headers, signatures and strictly increasing nonces, many at once, each with its own
//! timeout. Results carry the status the Python dendrite would report (200, 401, 403, 404,
//! 408 timeout, 422 unreadable reply, 503 unreachable, …), the message, the latency and the
//! axon's hotkey.

use crate::{body_hash::body_hash, v10};
use http_body_util::{BodyExt, Full};
use hyper::{body::Bytes, client::conn::http1, Request};
use hyper_util::rt::TokioIo;
use serde_json::{Map, Value};
use std::{
    net::SocketAddr,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};
use tao_wallet::Keypair;
use tokio::net::TcpStream;

/// Largest reply body read by default, whole or streamed ([`Dendrite::max_reply_bytes`]).
pub const MAX_REPLY_BYTES: usize = 16 * 1024 * 1024;

/// An axon to query.
#[derive(Clone, Debug)]
pub struct Target {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Its hotkey (SS58): the request is signed for it.
    pub hotkey: String,
}

/// A synapse to send: its class name, body fields, and which fields are required (no
/// default) and hashed.
#[derive(Clone, Debug)]
pub struct Query {
    /// The class name (the URL path).
    pub name: String,
    /// The fields the subclass adds (e.g. `{"input": 21}`).
    pub fields: Map<String, Value>,
    /// Fields without defaults.
    pub required: Vec<String>,
    /// `required_hash_fields`, in order.
    pub hash_fields: Vec<String>,
    /// Total time allowed.
    pub timeout: Duration,
}

/// The outcome of one query.
#[derive(Clone, Debug)]
pub struct Reply {
    /// The status the Python dendrite would report.
    pub status: u16,
    /// Its message.
    pub message: String,
    /// The returned synapse's fields (on success).
    pub synapse: Option<Map<String, Value>>,
    /// Time from sending to the reply.
    pub latency: Duration,
    /// The axon queried.
    pub hotkey: String,
}

impl Reply {
    /// Whether the axon answered 200.
    pub fn is_success(&self) -> bool {
        self.status == 200
    }
}

/// A dendrite signing with a hotkey.
#[derive(Clone)]
pub struct Dendrite {
    inner: Arc<Inner>,
    max_reply_bytes: usize,
}

struct Inner {
    key: Keypair,
    hotkey: String,
    uuid: String,
    last_nonce: AtomicU64,
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4usize {
            if i <= chunk.len() {
                let index = (n >> (18 - 6 * i)) & 63;
                out.push(char::from(ALPHABET[index as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// The JSON of an empty value of `value`'s type, as the Python dendrite puts in
/// `bt_header_input_obj_*` (`"0"`, `"0.0"`, `'""'`, `"false"`, `"[]"`, `"{}"`).
fn placeholder(value: &Value) -> &'static str {
    match value {
        Value::Number(n) if n.is_f64() => "0.0",
        Value::Number(_) => "0",
        Value::String(_) => "\"\"",
        Value::Bool(_) => "false",
        Value::Array(_) => "[]",
        Value::Object(_) => "{}",
        Value::Null => "null",
    }
}

impl Dendrite {
    /// A dendrite signing with `key`.
    pub fn new(key: Keypair) -> Self {
        let uuid = crate::axon::uuid();
        Self {
            inner: Arc::new(Inner { hotkey: key.ss58(), key, uuid, last_nonce: AtomicU64::new(0) }),
            max_reply_bytes: MAX_REPLY_BYTES,
        }
    }

    /// Reads at most `bytes` of any reply body (default [`MAX_REPLY_BYTES`]): a longer
    /// reply is answered 400 ("Payload error", as the Python dendrite reports a broken
    /// payload), a longer stream ends with [`StreamError::TooLarge`].
    pub fn max_reply_bytes(mut self, bytes: usize) -> Self {
        self.max_reply_bytes = bytes;
        self
    }

    /// The dendrite's hotkey.
    pub fn hotkey(&self) -> &str {
        &self.inner.hotkey
    }

    /// A nonce: nanoseconds now, and always above the last one.
    fn nonce(&self) -> u64 {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        let now = u64::try_from(now).unwrap_or(u64::MAX);
        let mut last = self.inner.last_nonce.load(Ordering::Relaxed);
        loop {
            let next = now.max(last.saturating_add(1));
            match self.inner.last_nonce.compare_exchange(
                last,
                next,
                Ordering::SeqCst,
                Ordering::Relaxed,
            ) {
                Ok(_) => return next,
                Err(seen) => last = seen,
            }
        }
    }

    /// Queries every target concurrently; replies in the targets' order.
    pub async fn query_all(&self, targets: &[Target], query: &Query) -> Vec<Reply> {
        let mut tasks = Vec::with_capacity(targets.len());
        for target in targets {
            let (this, target, query) = (self.clone(), target.clone(), query.clone());
            tasks.push(tokio::spawn(async move { this.query(&target, &query).await }));
        }
        let mut replies = Vec::with_capacity(tasks.len());
        for (task, target) in tasks.into_iter().zip(targets) {
            replies.push(task.await.unwrap_or_else(|e| Reply {
                status: 500,
                message: format!("query task failed: {e}"),
                synapse: None,
                latency: Duration::ZERO,
                hotkey: target.hotkey.clone(),
            }));
        }
        replies
    }

    /// Queries one axon.
    pub async fn query(&self, target: &Target, query: &Query) -> Reply {
        self.query_with_headers(target, query, &[]).await.0
    }

    /// Queries one axon with `extra` request headers (e.g. a payment voucher); returns the
    /// reply and the reply's `x-tao-*` headers (payment terms, see [`crate::payment`]).
    pub async fn query_with_headers(
        &self,
        target: &Target,
        query: &Query,
        extra: &[(&str, String)],
    ) -> (Reply, Vec<(String, String)>) {
        let mut tao_headers = Vec::new();
        let reply = self.query_inner(target, query, extra, &mut tao_headers).await;
        (reply, tao_headers)
    }

    async fn query_inner(
        &self,
        target: &Target,
        query: &Query,
        extra: &[(&str, String)],
        tao_headers: &mut Vec<(String, String)>,
    ) -> Reply {
        let started = Instant::now();
        let reply = |status: u16, message: String, synapse: Option<Map<String, Value>>| Reply {
            status,
            message,
            synapse,
            latency: started.elapsed(),
            hotkey: target.hotkey.clone(),
        };
        let request = match self.request(target, query, extra) {
            Ok(request) => request,
            Err(message) => return reply(400, message, None),
        };
        let sent = send(target.addr, request, self.max_reply_bytes);
        match tokio::time::timeout(query.timeout, sent).await {
            Err(_) => reply(
                408,
                format!("Request timeout after {} seconds", query.timeout.as_secs_f64()),
                None,
            ),
            Ok(Err(SendError::Connect)) => reply(
                503,
                format!(
                    "Service unavailable at {}:{}/{}",
                    target.addr.ip(),
                    target.addr.port(),
                    query.name
                ),
                None,
            ),
            Ok(Err(SendError::Other(e))) => reply(503, format!("Server disconnected: {e}"), None),
            Ok(Err(SendError::TooLarge)) => {
                reply(400, payload_too_large(self.max_reply_bytes), None)
            }
            Ok(Ok((status, headers, body))) => {
                for (name, value) in &headers {
                    if name.as_str().starts_with("x-tao-") {
                        if let Ok(value) = value.to_str() {
                            tao_headers.push((name.as_str().to_owned(), value.to_owned()));
                        }
                    }
                }
                let json_reply = headers
                    .get("content-type")
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.starts_with("application/json"));
                let parsed: Option<Map<String, Value>> =
                    if json_reply { serde_json::from_slice(&body).ok() } else { None };
                let Some(parsed) = parsed else {
                    return reply(422, "Failed to parse response: not a JSON object".into(), None);
                };
                let header =
                    |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
                if status != 200 {
                    let message = header("bt_header_axon_status_message")
                        .or_else(|| {
                            parsed.get("message").and_then(Value::as_str).map(str::to_owned)
                        })
                        .unwrap_or_default();
                    let status = header("bt_header_axon_status_code")
                        .and_then(|s| s.parse().ok())
                        .unwrap_or(status);
                    return reply(status, message, None);
                }
                if query.required.iter().any(|f| parsed.get(f).is_none_or(Value::is_null)) {
                    return reply(
                        422,
                        "Failed to parse response: a required field is missing".into(),
                        None,
                    );
                }
                let axon = parsed.get("axon").and_then(Value::as_object);
                let status = header("bt_header_axon_status_code")
                    .and_then(|s| s.parse().ok())
                    .or_else(|| {
                        axon.and_then(|a| a.get("status_code"))
                            .and_then(Value::as_u64)
                            .and_then(|s| u16::try_from(s).ok())
                    });
                let message = header("bt_header_axon_status_message")
                    .or_else(|| {
                        axon.and_then(|a| a.get("status_message"))
                            .and_then(Value::as_str)
                            .map(str::to_owned)
                    })
                    .unwrap_or_default();
                match status {
                    Some(status) => reply(status, message, Some(parsed)),
                    // The Python dendrite reports no status when the axon gave none.
                    None => reply(0, message, Some(parsed)),
                }
            }
        }
    }

    fn request(
        &self,
        target: &Target,
        query: &Query,
        extra: &[(&str, String)],
    ) -> Result<Request<Full<Bytes>>, String> {
        let inner = &self.inner;
        let values: Vec<String> = query
            .hash_fields
            .iter()
            .map(|f| query.fields.get(f).map(Value::to_string).unwrap_or_else(|| "null".into()))
            .collect();
        let hash = body_hash(values.iter().map(String::as_str)).map_err(|e| e.to_string())?;
        let nonce = self.nonce();
        let message =
            v10::request_message(nonce, &inner.hotkey, &target.hotkey, &inner.uuid, &hash);
        let signature =
            v10::sign(&inner.key, &message).ok_or("the dendrite's key has no secret")?;
        let timeout = query.timeout.as_secs_f64();
        let mut body = query.fields.clone();
        body.insert("name".into(), Value::from(query.name.clone()));
        body.insert("timeout".into(), Value::from(timeout));
        body.insert(
            "dendrite".into(),
            serde_json::json!({"version": crate::axon::VERSION, "nonce": nonce, "uuid": inner.uuid,
                               "hotkey": inner.hotkey, "signature": signature}),
        );
        body.insert(
            "axon".into(),
            serde_json::json!({"ip": target.addr.ip().to_string(), "port": target.addr.port(), "hotkey": target.hotkey}),
        );
        let mut builder = Request::post(format!("/{}", query.name))
            .header("host", target.addr.to_string())
            .header("content-type", "application/json")
            .header("name", &query.name)
            .header("timeout", format!("{timeout:?}"))
            .header("bt_header_axon_ip", target.addr.ip().to_string())
            .header("bt_header_axon_port", target.addr.port().to_string())
            .header("bt_header_axon_hotkey", &target.hotkey)
            .header("bt_header_dendrite_version", crate::axon::VERSION.to_string())
            .header("bt_header_dendrite_nonce", nonce.to_string())
            .header("bt_header_dendrite_uuid", &inner.uuid)
            .header("bt_header_dendrite_hotkey", &inner.hotkey)
            .header("bt_header_dendrite_signature", signature)
            .header("computed_body_hash", hash);
        for (name, value) in extra {
            builder = builder.header(*name, value);
        }
        for field in &query.required {
            let value = query
                .fields
                .get(field)
                .ok_or_else(|| format!("required field {field} is missing"))?;
            builder = builder.header(
                format!("bt_header_input_obj_{field}"),
                base64(placeholder(value).as_bytes()),
            );
        }
        builder
            .body(Full::new(Bytes::from(Value::Object(body).to_string())))
            .map_err(|e| e.to_string())
    }
}

/// Why a streamed reply ended before its end.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StreamError {
    /// The stream did not end within the query's timeout.
    #[error("timeout: the stream did not end in time")]
    Timeout,
    /// The connection broke.
    #[error("stream broken: {0}")]
    Broken(String),
    /// The axon sent more than the dendrite's [`Dendrite::max_reply_bytes`]; the
    /// connection is closed and nothing beyond the limit is delivered.
    #[error("the streamed reply exceeds {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: usize,
    },
}

/// A streaming reply: the axon's status (from its headers) at once, then the chunks as they
/// arrive. The query's timeout bounds the whole stream, and the dendrite's
/// [`Dendrite::max_reply_bytes`] its size; a stream cut short ends with an `Err` item.
#[derive(Debug)]
pub struct StreamReply {
    /// The status (200 when the axon streams; else as for [`Reply`]).
    pub status: u16,
    /// The status message.
    pub message: String,
    /// Time to the reply's headers.
    pub latency: Duration,
    /// The axon's hotkey.
    pub hotkey: String,
    /// The reply's headers (the final synapse state of a streaming synapse travels here).
    pub headers: Vec<(String, String)>,
    /// The raw chunks (their format is the subnet's).
    pub chunks: tokio::sync::mpsc::Receiver<Result<Bytes, StreamError>>,
}

impl StreamReply {
    /// Collects the rest of the stream (or the error that cut it).
    pub async fn collect(mut self) -> Result<Vec<Bytes>, StreamError> {
        let mut all = Vec::new();
        while let Some(chunk) = self.chunks.recv().await {
            all.push(chunk?);
        }
        Ok(all)
    }
}

impl Dendrite {
    /// Queries a streaming synapse on one axon.
    pub async fn query_stream(&self, target: &Target, query: &Query) -> StreamReply {
        let started = Instant::now();
        let deadline = tokio::time::Instant::now() + query.timeout;
        let (tx, rx) = tokio::sync::mpsc::channel(64);
        let done = |status: u16, message: String, headers: Vec<(String, String)>| StreamReply {
            status,
            message,
            latency: started.elapsed(),
            hotkey: target.hotkey.clone(),
            headers,
            chunks: tokio::sync::mpsc::channel(1).1,
        };
        let request = match self.request(target, query, &[]) {
            Ok(request) => request,
            Err(message) => return done(400, message, Vec::new()),
        };
        let response = match tokio::time::timeout_at(deadline, open(target.addr, request)).await {
            Err(_) => {
                let message =
                    format!("Request timeout after {} seconds", query.timeout.as_secs_f64());
                return done(408, message, Vec::new());
            }
            Ok(Err(SendError::Connect)) => {
                let message = format!(
                    "Service unavailable at {}:{}/{}",
                    target.addr.ip(),
                    target.addr.port(),
                    query.name
                );
                return done(503, message, Vec::new());
            }
            Ok(Err(SendError::Other(e))) => {
                return done(503, format!("Server disconnected: {e}"), Vec::new())
            }
            Ok(Err(SendError::TooLarge)) => {
                return done(400, payload_too_large(self.max_reply_bytes), Vec::new())
            }
            Ok(Ok(response)) => response,
        };
        let headers: Vec<(String, String)> = response
            .headers()
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
            .collect();
        let header = |name: &str| headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
        let status = header("bt_header_axon_status_code")
            .and_then(|s| s.parse().ok())
            .unwrap_or(response.status().as_u16());
        let message = header("bt_header_axon_status_message").unwrap_or_default();
        if status != 200 {
            return done(status, message, headers);
        }
        let mut body = response.into_body();
        let limit = self.max_reply_bytes;
        tokio::spawn(async move {
            let mut received = 0usize;
            loop {
                let chunk = match tokio::time::timeout_at(deadline, body.frame()).await {
                    Err(_) => Err(StreamError::Timeout),
                    Ok(None) => return,
                    Ok(Some(Err(e))) => Err(StreamError::Broken(e.to_string())),
                    Ok(Some(Ok(frame))) => match frame.into_data() {
                        Ok(data) if data.is_empty() => continue,
                        Ok(data) => {
                            received = received.saturating_add(data.len());
                            if received > limit {
                                Err(StreamError::TooLarge { limit })
                            } else {
                                Ok(data)
                            }
                        }
                        Err(_) => continue, // trailers
                    },
                };
                let failed = chunk.is_err();
                // Ending the task drops the body, which closes the connection.
                if tx.send(chunk).await.is_err() || failed {
                    return;
                }
            }
        });
        StreamReply {
            status,
            message,
            latency: started.elapsed(),
            hotkey: target.hotkey.clone(),
            headers,
            chunks: rx,
        }
    }
}

impl Dendrite {
    /// A bittensor 11 call: `POST path` with `body` (JSON), signed with `btauth/1` headers
    /// for `target`'s hotkey. Returns the HTTP status and the JSON reply (`Null` if none).
    pub async fn post_btauth(
        &self,
        target: &Target,
        path: &str,
        body: &Value,
        timeout: Duration,
    ) -> (u16, Value) {
        let bytes = body.to_string().into_bytes();
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        let nonce = u128::from(self.nonce()).max(now);
        let Some(signed) =
            crate::btauth::sign(&self.inner.key, "POST", path, &bytes, nonce, Some(&target.hotkey))
        else {
            return (400, Value::from("the dendrite's key has no secret"));
        };
        let mut builder = Request::post(path)
            .header("host", target.addr.to_string())
            .header("content-type", "application/json");
        for (name, value) in signed {
            builder = builder.header(name, value);
        }
        let Ok(request) = builder.body(Full::new(Bytes::from(bytes))) else {
            return (400, Value::from("bad request"));
        };
        match tokio::time::timeout(timeout, send(target.addr, request, self.max_reply_bytes)).await
        {
            Err(_) => (408, Value::Null),
            Ok(Err(_)) => (503, Value::Null),
            Ok(Ok((status, _, body))) => {
                (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
            }
        }
    }
}

/// A typed reply: the status as for [`Reply`], and the miner's fields when it succeeded.
#[derive(Debug)]
pub struct Typed<T> {
    /// The status the Python dendrite would report.
    pub status: u16,
    /// The status message.
    pub message: String,
    /// Time to the reply.
    pub latency: Duration,
    /// The axon's hotkey.
    pub hotkey: String,
    /// The reply's fields (`None` unless 200 and they parse).
    pub output: Option<Result<T, String>>,
}

impl Dendrite {
    /// Queries a typed synapse on one axon.
    pub async fn call<S: crate::synapse::Synapse>(
        &self,
        target: &Target,
        request: &S,
        timeout: Duration,
    ) -> Typed<S::Output> {
        let query = match request.query(timeout) {
            Ok(query) => query,
            Err(message) => {
                return Typed {
                    status: 400,
                    message,
                    latency: Duration::ZERO,
                    hotkey: target.hotkey.clone(),
                    output: None,
                }
            }
        };
        let reply = self.query(target, &query).await;
        let output = if reply.is_success() {
            reply.synapse.as_ref().map(crate::synapse::output::<S::Output>)
        } else {
            None
        };
        Typed {
            status: reply.status,
            message: reply.message,
            latency: reply.latency,
            hotkey: reply.hotkey,
            output,
        }
    }
}

/// Sends `request` and returns the response with its body unread.
async fn open(
    addr: SocketAddr,
    request: Request<Full<Bytes>>,
) -> Result<hyper::Response<hyper::body::Incoming>, SendError> {
    let stream = TcpStream::connect(addr).await.map_err(|_| SendError::Connect)?;
    let (mut sender, connection) = http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| SendError::Other(e.to_string()))?;
    tokio::spawn(connection);
    sender.send_request(request).await.map_err(|e| SendError::Other(e.to_string()))
}

/// The message of a reply longer than `limit`.
fn payload_too_large(limit: usize) -> String {
    format!("Payload error: the reply exceeds {limit} bytes")
}

enum SendError {
    Connect,
    Other(String),
    /// The reply body is longer than the limit.
    TooLarge,
}

/// Sends `request` and reads the whole reply, at most `limit` bytes of body.
async fn send(
    addr: SocketAddr,
    request: Request<Full<Bytes>>,
    limit: usize,
) -> Result<(u16, hyper::HeaderMap, Bytes), SendError> {
    let response = open(addr, request).await?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let mut body = response.into_body();
    let mut bytes = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| SendError::Other(e.to_string()))?;
        if let Ok(data) = frame.into_data() {
            if bytes.len().saturating_add(data.len()) > limit {
                return Err(SendError::TooLarge);
            }
            bytes.extend_from_slice(&data);
        }
    }
    Ok((status, headers, Bytes::from(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_match_the_python_dendrite() {
        assert_eq!(base64(placeholder(&Value::from(21)).as_bytes()), "MA==");
        assert_eq!(base64(placeholder(&Value::from("x")).as_bytes()), "IiI=");
        assert_eq!(base64(placeholder(&Value::from(vec![1])).as_bytes()), "W10=");
        assert_eq!(base64(placeholder(&Value::from(1.5)).as_bytes()), "MC4w");
        assert_eq!(base64(placeholder(&Value::from(true)).as_bytes()), "ZmFsc2U=");
    }
}
