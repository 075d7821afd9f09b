//! The explorer: a web page served by the node itself (`--explorer`), on the JSON-RPC port
//! under `/explorer/` (`docs/explorer.md` says why there and not on a port of its own).
//!
//! The page is a handful of plain ES modules, CSS and one icon in `crates/node/explorer/`,
//! compiled into the binary: nothing is read from disk or fetched from the internet at run
//! time. The browser then calls the node's JSON-RPC (HTTP `POST /`) and subscribes over a
//! WebSocket on the same origin, so the page needs no address and no `--rpc-cors`.
//!
//! Every request is hostile until proven otherwise:
//! * only the embedded files answer, looked up by exact name in a fixed table (no file
//!   system, so no path traversal: `/explorer/../x`, encoded dots and the like are 404);
//! * only `GET` and `HEAD`, without a body (a body is refused with 413 before it is read);
//! * every answer carries its content type, `nosniff`, `no-referrer` and a
//!   Content-Security-Policy that allows scripts, styles and connections from the node's
//!   own origin only (no inline script, no frames);
//! * connection caps, header and idle timeouts are the RPC server's own
//!   ([`crate::rpc::server`]).
//!
//! A page on the node's own origin may call the RPC when that origin's host is an IP
//! literal or `localhost` ([`same_origin`]): a page reached by a domain name could be a DNS
//! rebinding attack (evil.example resolving to the node), so such pages still need
//! `--rpc-cors`.

use http_body_util::Full;
use hyper::{body::Bytes, header, Method, Request, StatusCode};
use jsonrpsee::server::{HttpBody, HttpResponse};

/// The path the explorer is served under.
pub const PREFIX: &str = "/explorer/";

/// What the page may load and call: its own files and its own origin's RPC, nothing else.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// One embedded file: its name under [`PREFIX`], content type and bytes.
pub struct Asset {
    /// The name under `/explorer/`.
    pub name: &'static str,
    /// Its `Content-Type`.
    pub content_type: &'static str,
    /// Its bytes.
    pub bytes: &'static [u8],
}

macro_rules! assets {
    ($($name:literal => $content_type:literal),* $(,)?) => {
        &[$(Asset {
            name: $name,
            content_type: $content_type,
            bytes: include_bytes!(concat!("../explorer/", $name)),
        }),*]
    };
}

/// Every file of the explorer (the page is `index.html`).
pub const ASSETS: &[Asset] = assets! {
    "index.html" => "text/html; charset=utf-8",
    "style.css" => "text/css; charset=utf-8",
    "favicon.svg" => "image/svg+xml",
    "app.js" => "text/javascript; charset=utf-8",
    "rpc.js" => "text/javascript; charset=utf-8",
    "format.js" => "text/javascript; charset=utf-8",
    "dom.js" => "text/javascript; charset=utf-8",
    "events.js" => "text/javascript; charset=utf-8",
    "charts.js" => "text/javascript; charset=utf-8",
    "overview.js" => "text/javascript; charset=utf-8",
    "blocks.js" => "text/javascript; charset=utf-8",
    "account.js" => "text/javascript; charset=utf-8",
    "subnets.js" => "text/javascript; charset=utf-8",
    "metagraph.js" => "text/javascript; charset=utf-8",
    "validators.js" => "text/javascript; charset=utf-8",
    "governance.js" => "text/javascript; charset=utf-8",
};

/// The embedded file `name`, if there is one.
pub fn asset(name: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.name == name)
}

/// Bytes of every embedded file together (the page's whole weight, uncompressed).
pub fn total_bytes() -> usize {
    ASSETS.iter().map(|a| a.bytes.len()).sum()
}

/// The explorer's answer to `request`, or `None` if the request is not the explorer's (the
/// RPC answers it). Ours: `/explorer`, everything under `/explorer/`, and a plain `GET /`
/// (a browser opening the node's address), which is sent to the explorer; a WebSocket
/// upgrade on `/` stays the RPC's.
pub fn route<B>(request: &Request<B>) -> Option<HttpResponse> {
    let path = request.uri().path();
    let upgrade = request.headers().contains_key(header::UPGRADE);
    let page = path == "/explorer" || path.starts_with(PREFIX);
    let root = path == "/" && !upgrade && request.method() == Method::GET;
    if !(page || root) {
        return None;
    }
    if request.method() != Method::GET && request.method() != Method::HEAD {
        let mut response = plain(StatusCode::METHOD_NOT_ALLOWED, "GET or HEAD only\n");
        response.headers_mut().insert(header::ALLOW, header::HeaderValue::from_static("GET, HEAD"));
        return Some(response);
    }
    if has_body(request.headers()) {
        return Some(plain(StatusCode::PAYLOAD_TOO_LARGE, "a GET carries no body\n"));
    }
    let name = match path.strip_prefix(PREFIX) {
        None => return Some(redirect(PREFIX)),
        Some("") => "index.html",
        Some(name) => name,
    };
    Some(match asset(name) {
        Some(asset) => file(asset),
        None => plain(StatusCode::NOT_FOUND, "no such file in the explorer\n"),
    })
}

/// Whether the headers announce a body (a length above 0, or chunks).
fn has_body(headers: &header::HeaderMap) -> bool {
    headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .is_some_and(|v| v.to_str().ok().and_then(|v| v.trim().parse::<u64>().ok()) != Some(0))
}

/// Whether a page of `origin` was served by this node, reached at `host` (the request's
/// `Host` header), by an address no DNS rebinding can forge: the same scheme-less
/// `host[:port]`, whose host is an IP literal or `localhost`.
pub fn same_origin(origin: &str, host: Option<&str>) -> bool {
    let Some(host) = host.map(|h| h.trim().to_ascii_lowercase()) else { return false };
    let origin = origin.trim().to_ascii_lowercase();
    let Some(rest) = origin.strip_prefix("http://").or_else(|| origin.strip_prefix("https://"))
    else {
        return false;
    };
    if rest != host {
        return false;
    }
    let name = if let Some(v6) = host.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        host.split(':').next().unwrap_or("")
    };
    name == "localhost" || name.parse::<std::net::IpAddr>().is_ok()
}

fn with_security_headers(mut response: HttpResponse, content_type: &'static str) -> HttpResponse {
    let headers = response.headers_mut();
    let static_value = header::HeaderValue::from_static;
    headers.insert(header::CONTENT_TYPE, static_value(content_type));
    headers.insert(header::CONTENT_SECURITY_POLICY, static_value(CONTENT_SECURITY_POLICY));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, static_value("nosniff"));
    headers.insert(header::REFERRER_POLICY, static_value("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, static_value("DENY"));
    // The files change only with the binary; a reload asks again (cheap, on loopback).
    headers.insert(header::CACHE_CONTROL, static_value("no-cache"));
    response
}

fn file(asset: &'static Asset) -> HttpResponse {
    let body = HttpBody::new(Full::new(Bytes::from_static(asset.bytes)));
    with_security_headers(HttpResponse::new(body), asset.content_type)
}

fn plain(status: StatusCode, text: &'static str) -> HttpResponse {
    let mut response = HttpResponse::new(HttpBody::from(text));
    *response.status_mut() = status;
    with_security_headers(response, "text/plain; charset=utf-8")
}

fn redirect(to: &'static str) -> HttpResponse {
    let mut response = plain(StatusCode::PERMANENT_REDIRECT, "");
    response.headers_mut().insert(header::LOCATION, header::HeaderValue::from_static(to));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(path: &str) -> Option<HttpResponse> {
        route(&Request::get(path).body(()).unwrap())
    }

    #[test]
    fn every_file_of_the_explorer_directory_is_embedded() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("explorer");
        let mut files: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        files.sort();
        let mut embedded: Vec<String> = ASSETS.iter().map(|a| a.name.to_owned()).collect();
        embedded.sort();
        assert_eq!(files, embedded, "a file the page loads would be 404");
    }

    #[test]
    fn only_embedded_files_are_served_with_their_type_and_policy() {
        let index = get("/explorer/").unwrap();
        assert_eq!(index.status(), StatusCode::OK);
        assert_eq!(index.headers()[header::CONTENT_TYPE], "text/html; charset=utf-8");
        assert_eq!(index.headers()[header::CONTENT_SECURITY_POLICY], CONTENT_SECURITY_POLICY);
        assert_eq!(index.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        for asset in ASSETS {
            let response = get(&format!("/explorer/{}", asset.name)).unwrap();
            assert_eq!(response.status(), StatusCode::OK, "{}", asset.name);
            assert_eq!(response.headers()[header::CONTENT_TYPE], asset.content_type);
            assert!(!asset.bytes.is_empty());
        }
        for hostile in [
            "/explorer/../Cargo.toml",
            "/explorer/%2e%2e/Cargo.toml",
            "/explorer/..%2fsrc/main.rs",
            "/explorer//etc/passwd",
            "/explorer/index.html/",
            "/explorer/INDEX.HTML",
            "/explorer/app.js%00",
            "/explorer/src/explorer.rs",
        ] {
            let response = get(hostile).unwrap();
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{hostile}");
            assert_eq!(response.headers()[header::CONTENT_TYPE], "text/plain; charset=utf-8");
        }
        assert_eq!(get("/explorer").unwrap().status(), StatusCode::PERMANENT_REDIRECT);
        assert_eq!(get("/").unwrap().headers()[header::LOCATION], PREFIX);
        assert!(get("/metrics").is_none(), "not the explorer's");
        assert!(get("/explorerx").is_none());
        let upgrade = Request::get("/").header(header::UPGRADE, "websocket").body(()).unwrap();
        assert!(route(&upgrade).is_none(), "WebSockets stay the RPC's");
        assert!(route(&Request::post("/").body(()).unwrap()).is_none(), "RPC calls");
    }

    #[test]
    fn other_methods_and_bodies_are_refused() {
        let post = route(&Request::post("/explorer/").body(()).unwrap()).unwrap();
        assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
        let body = Request::get("/explorer/").header(header::CONTENT_LENGTH, "5").body(()).unwrap();
        assert_eq!(route(&body).unwrap().status(), StatusCode::PAYLOAD_TOO_LARGE);
        let chunked =
            Request::get("/explorer/").header(header::TRANSFER_ENCODING, "chunked").body(());
        assert_eq!(route(&chunked.unwrap()).unwrap().status(), StatusCode::PAYLOAD_TOO_LARGE);
        let empty =
            Request::get("/explorer/").header(header::CONTENT_LENGTH, "0").body(()).unwrap();
        assert_eq!(route(&empty).unwrap().status(), StatusCode::OK);
        let head = route(&Request::head("/explorer/app.js").body(()).unwrap()).unwrap();
        assert_eq!(head.status(), StatusCode::OK);
    }

    #[test]
    fn same_origin_needs_the_same_host_and_an_address_dns_cannot_rebind() {
        assert!(same_origin("http://10.0.0.5:9944", Some("10.0.0.5:9944")));
        assert!(same_origin("http://[2001:db8::1]:9944", Some("[2001:db8::1]:9944")));
        assert!(same_origin("https://localhost:9944", Some("LOCALHOST:9944")));
        assert!(!same_origin("http://evil.example:9944", Some("evil.example:9944")), "rebinding");
        assert!(!same_origin("http://10.0.0.6:9944", Some("10.0.0.5:9944")));
        assert!(!same_origin("http://10.0.0.5:9945", Some("10.0.0.5:9944")));
        assert!(!same_origin("http://10.0.0.5:9944", None));
        assert!(!same_origin("null", Some("null")));
        assert!(!same_origin("ftp://10.0.0.5:9944", Some("10.0.0.5:9944")));
    }
}
