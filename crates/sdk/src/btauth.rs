//! bittensor 11's `btauth/1`: signed request headers over method, path, body digest, nonce,
//! sender and receiver.

use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use tao_primitives::{hex, AccountId};
use tao_wallet::{CryptoType, Keypair};

/// Protocol tag, the first line of the payload.
pub const PROTOCOL: &str = "btauth/1";
/// Oldest accepted nonce (ns before now).
pub const MAX_AGE_NS: u128 = 10_000_000_000;
/// Furthest-future accepted nonce (ns after now).
pub const MAX_SKEW_NS: u128 = 2_000_000_000;
/// How long a (hotkey, nonce) is remembered against replay (ns).
pub const REPLAY_WINDOW_NS: u128 = 60_000_000_000;

fn scheme(crypto: CryptoType) -> &'static str {
    match crypto {
        CryptoType::Sr25519 => "sr25519",
        CryptoType::Ed25519 => "ed25519",
    }
}

/// The signed payload.
pub fn payload(
    crypto: CryptoType,
    method: &str,
    path: &str,
    body: &[u8],
    nonce_ns: u128,
    sender: &str,
    receiver: Option<&str>,
) -> String {
    let digest = hex::encode(&Sha256::digest(body));
    [
        PROTOCOL,
        scheme(crypto),
        &method.to_ascii_uppercase(),
        path,
        digest.trim_start_matches("0x"),
        &nonce_ns.to_string(),
        sender,
        receiver.unwrap_or("-"),
    ]
    .join("\n")
}

/// The headers a sender adds (names as bittensor 11 writes them).
pub fn sign(
    key: &Keypair,
    method: &str,
    path: &str,
    body: &[u8],
    nonce_ns: u128,
    receiver: Option<&str>,
) -> Option<Vec<(&'static str, String)>> {
    let sender = key.ss58();
    let message = payload(key.crypto(), method, path, body, nonce_ns, &sender, receiver);
    let signature = hex::encode(&key.sign(message.as_bytes())?);
    let mut headers = vec![
        ("X-Bittensor-Version", "1".to_owned()),
        ("X-Bittensor-Hotkey", sender),
        ("X-Bittensor-Nonce", nonce_ns.to_string()),
        ("X-Bittensor-Signature", signature),
    ];
    if let Some(receiver) = receiver {
        headers.push(("X-Bittensor-Receiver", receiver.to_owned()));
    }
    if key.crypto() == CryptoType::Ed25519 {
        headers.push(("X-Bittensor-Crypto", "ed25519".to_owned()));
    }
    Some(headers)
}

/// Why a request fails `btauth/1`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// Missing or malformed headers.
    #[error("malformed btauth headers: {0}")]
    MalformedAuth(String),
    /// Not addressed to this receiver (or not addressed at all).
    #[error("request is for another receiver")]
    WrongReceiver,
    /// The nonce is outside the freshness window.
    #[error("stale request")]
    StaleRequest,
    /// The signature does not verify under the declared scheme.
    #[error("bad signature")]
    BadSignature,
    /// The same (hotkey, nonce) was seen within the replay window.
    #[error("replayed request")]
    ReplayedRequest,
}

impl AuthError {
    /// The HTTP status to answer with (403 for another receiver, else 401).
    pub fn status(&self) -> u16 {
        match self {
            Self::WrongReceiver => 403,
            _ => 401,
        }
    }
}

/// The receiving side: its address and the replay memory.
#[derive(Debug)]
pub struct Verifier {
    receiver: String,
    seen: BTreeMap<(String, u128), u128>,
}

impl Verifier {
    /// A verifier for requests addressed to `receiver` (SS58).
    pub fn new(receiver: String) -> Self {
        Self { receiver, seen: BTreeMap::new() }
    }

    /// Checks a request; `header` looks a header up case-insensitively. Returns the sender.
    pub fn verify(
        &mut self,
        header: impl Fn(&str) -> Option<String>,
        method: &str,
        path: &str,
        body: &[u8],
        now_ns: u128,
    ) -> Result<String, AuthError> {
        let get = |name: &str| {
            header(name).ok_or_else(|| AuthError::MalformedAuth(format!("missing {name}")))
        };
        if get("x-bittensor-version")? != "1" {
            return Err(AuthError::MalformedAuth("unsupported version".into()));
        }
        let sender = get("x-bittensor-hotkey")?;
        let account =
            AccountId::from_ss58(&sender).map_err(|e| AuthError::MalformedAuth(e.to_string()))?;
        let nonce: u128 = get("x-bittensor-nonce")?
            .parse()
            .map_err(|_| AuthError::MalformedAuth("nonce is not a number".into()))?;
        let signature: [u8; 64] = hex::decode(&get("x-bittensor-signature")?)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| AuthError::MalformedAuth("signature is not 64 bytes of hex".into()))?;
        let crypto = match header("x-bittensor-crypto").as_deref() {
            None | Some("sr25519") => CryptoType::Sr25519,
            Some("ed25519") => CryptoType::Ed25519,
            Some(other) => return Err(AuthError::MalformedAuth(format!("unknown scheme {other}"))),
        };
        match header("x-bittensor-receiver") {
            Some(r) if r == self.receiver => {}
            _ => return Err(AuthError::WrongReceiver),
        }
        if now_ns.saturating_sub(nonce) > MAX_AGE_NS || nonce.saturating_sub(now_ns) > MAX_SKEW_NS {
            return Err(AuthError::StaleRequest);
        }
        let message = payload(crypto, method, path, body, nonce, &sender, Some(&self.receiver));
        if !Keypair::public_only(*account.as_bytes(), crypto).verify(message.as_bytes(), &signature)
        {
            return Err(AuthError::BadSignature);
        }
        self.seen.retain(|_, at| now_ns.saturating_sub(*at) <= REPLAY_WINDOW_NS);
        if self.seen.insert((sender.clone(), nonce), now_ns).is_some() {
            return Err(AuthError::ReplayedRequest);
        }
        Ok(sender)
    }
}
