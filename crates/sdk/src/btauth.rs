//! bittensor 11's `btauth/1`: signed request headers over method, path, body digest, nonce,
//! sender and receiver.

use crate::expiring::ExpiringMap;
use sha2::{Digest, Sha256};
use tao_primitives::{hex, AccountId};
use tao_wallet::{CryptoType, Keypair};

/// Protocol tag, the first line of the payload.
pub const PROTOCOL: &str = "btauth/1";
/// Oldest accepted nonce (ns before now).
pub const MAX_AGE_NS: u128 = 10_000_000_000;
/// Furthest-future accepted nonce (ns after now).
pub const MAX_SKEW_NS: u128 = 2_000_000_000;
/// How long bittensor 11 remembers a (hotkey, nonce) against replay (ns). A nonce cannot
/// be fresh for longer than [`MAX_AGE_NS`] + [`MAX_SKEW_NS`] after it arrives, so
/// [`Verifier`] forgets it then, with the same effect and less memory.
pub const REPLAY_WINDOW_NS: u128 = 60_000_000_000;
/// How many (hotkey, nonce) pairs a [`Verifier`] remembers by default.
pub const DEFAULT_MEMORY: usize = 100_000;

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

/// A request whose headers passed [`Verifier::check_headers`]: what checking its body
/// needs.
#[derive(Clone, Debug)]
pub struct Claim {
    /// The sender (SS58), not yet proven: the signature covers the body.
    pub sender: String,
    account: AccountId,
    nonce: u128,
    signature: [u8; 64],
    crypto: CryptoType,
}

/// The receiving side: its address and the replay memory.
///
/// Checking is split so that a server reads a body only for requests whose headers pass:
/// [`Verifier::check_headers`] (shape, receiver, freshness, replay) needs no body;
/// [`Verifier::check_body`] verifies the signature over it and records the nonce.
///
/// The replay memory is bounded and O(1) amortised: a (hotkey, nonce) is forgotten once
/// the nonce can no longer be fresh; beyond its capacity the pair recorded longest ago is
/// forgotten and every nonce up to its one is refused from then on (a floor, which starts
/// at the `not_before_ns` given, e.g. the server's start: so a request accepted before a
/// restart is not accepted again after it).
#[derive(Debug)]
pub struct Verifier {
    receiver: String,
    seen: ExpiringMap<(String, u128), ()>,
    not_before_ns: u128,
}

impl Verifier {
    /// A verifier for requests addressed to `receiver` (SS58), remembering
    /// [`DEFAULT_MEMORY`] nonces, with no floor.
    pub fn new(receiver: String) -> Self {
        Self::with_memory(receiver, DEFAULT_MEMORY, 0)
    }

    /// A verifier remembering up to `capacity` nonces and refusing nonces at or below
    /// `not_before_ns` (as stale).
    pub fn with_memory(receiver: String, capacity: usize, not_before_ns: u128) -> Self {
        Self { receiver, seen: ExpiringMap::new(capacity), not_before_ns }
    }

    /// Checks the headers of a request at `now_ns`; `header` looks a header up
    /// case-insensitively.
    pub fn check_headers(
        &mut self,
        header: impl Fn(&str) -> Option<String>,
        now_ns: u128,
    ) -> Result<Claim, AuthError> {
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
        if now_ns.saturating_sub(nonce) > MAX_AGE_NS
            || nonce.saturating_sub(now_ns) > MAX_SKEW_NS
            || nonce <= self.not_before_ns
        {
            return Err(AuthError::StaleRequest);
        }
        self.seen.expire(now_ns);
        if self.seen.get(&(sender.clone(), nonce)).is_some() {
            return Err(AuthError::ReplayedRequest);
        }
        Ok(Claim { sender, account, nonce, signature, crypto })
    }

    /// Verifies `claim`'s signature over the request line and `body`, and records its
    /// nonce. Returns the sender.
    pub fn check_body(
        &mut self,
        claim: Claim,
        method: &str,
        path: &str,
        body: &[u8],
        now_ns: u128,
    ) -> Result<String, AuthError> {
        let Claim { sender, account, nonce, signature, crypto } = claim;
        let message = payload(crypto, method, path, body, nonce, &sender, Some(&self.receiver));
        if !Keypair::public_only(*account.as_bytes(), crypto).verify(message.as_bytes(), &signature)
        {
            return Err(AuthError::BadSignature);
        }
        self.seen.expire(now_ns);
        let key = (sender.clone(), nonce);
        // Checked again: another request with this nonce may have passed in the meantime.
        if self.seen.get(&key).is_some() {
            return Err(AuthError::ReplayedRequest);
        }
        let forget_at = now_ns.saturating_add(MAX_AGE_NS).saturating_add(MAX_SKEW_NS);
        if let Some(((_, forgotten), ())) = self.seen.insert(key, (), forget_at) {
            self.not_before_ns = self.not_before_ns.max(forgotten);
        }
        Ok(sender)
    }

    /// Checks a request (headers, then body); `header` looks a header up
    /// case-insensitively. Returns the sender.
    pub fn verify(
        &mut self,
        header: impl Fn(&str) -> Option<String>,
        method: &str,
        path: &str,
        body: &[u8],
        now_ns: u128,
    ) -> Result<String, AuthError> {
        let claim = self.check_headers(header, now_ns)?;
        self.check_body(claim, method, path, body, now_ns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u128 = 1_000_000_000;
    const NOW: u128 = 1_800_000_000 * S;

    fn request(key: &Keypair, receiver: &str, nonce: u128) -> Vec<(&'static str, String)> {
        sign(key, "POST", "/x", b"{}", nonce, Some(receiver)).unwrap()
    }

    fn lookup<'a>(headers: &'a [(&'static str, String)]) -> impl Fn(&str) -> Option<String> + 'a {
        |name| headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone())
    }

    #[test]
    fn headers_are_checked_before_any_body() {
        let key = Keypair::from_uri("//Sender").unwrap();
        let receiver = Keypair::from_uri("//Receiver").unwrap().ss58();
        let mut verifier = Verifier::with_memory(receiver.clone(), 10, NOW - 60 * S);
        let good = request(&key, &receiver, NOW);
        let claim = verifier.check_headers(lookup(&good), NOW).unwrap();
        assert_eq!(claim.sender, key.ss58());
        assert_eq!(verifier.check_body(claim.clone(), "POST", "/x", b"{}", NOW), Ok(key.ss58()));
        // The replay is refused on its headers alone, and again if it got past them.
        assert_eq!(
            verifier.check_headers(lookup(&good), NOW).unwrap_err(),
            AuthError::ReplayedRequest
        );
        assert_eq!(
            verifier.check_body(claim, "POST", "/x", b"{}", NOW),
            Err(AuthError::ReplayedRequest)
        );
        // Signed before the floor (the server's start): stale, though inside 10 s.
        let before = request(&key, &receiver, NOW - 61 * S);
        assert_eq!(
            verifier.check_headers(lookup(&before), NOW - 55 * S).unwrap_err(),
            AuthError::StaleRequest
        );
        let garbage = [("X-Bittensor-Signature", "0xzz".to_owned())];
        assert!(matches!(
            verifier.check_headers(lookup(&garbage), NOW),
            Err(AuthError::MalformedAuth(_))
        ));
    }

    #[test]
    fn the_replay_memory_is_bounded_and_forgotten_nonces_stay_refused() {
        let key = Keypair::from_uri("//Sender").unwrap();
        let receiver = Keypair::from_uri("//Receiver").unwrap().ss58();
        let mut verifier = Verifier::with_memory(receiver.clone(), 2, 0);
        for nonce in [NOW, NOW + 1, NOW + 2] {
            let headers = request(&key, &receiver, nonce);
            assert!(verifier.verify(lookup(&headers), "POST", "/x", b"{}", NOW).is_ok());
        }
        let forgotten = request(&key, &receiver, NOW);
        assert_eq!(
            verifier.verify(lookup(&forgotten), "POST", "/x", b"{}", NOW + 1),
            Err(AuthError::StaleRequest),
            "forgotten for room, below the floor"
        );
    }
}
