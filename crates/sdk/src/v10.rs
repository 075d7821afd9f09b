//! bittensor 10.x request authentication: what the dendrite signs, and how the axon checks
//! signature and nonce (`default_verify`), with the Python messages and status codes.

use std::collections::BTreeMap;
use tao_primitives::{hex, AccountId};
use tao_wallet::{CryptoType, Keypair};

/// Nonces at least this old (plus the request timeout) are refused on first contact (ns).
pub const ALLOWED_DELTA_NS: u128 = 4_000_000_000;
/// From this dendrite version on, stale first-contact nonces are refused.
pub const V_7_2_0: u64 = 7_002_000;

/// The `{nonce}.{dendrite}.{axon}.{uuid}.{body_hash}` message a dendrite signs.
pub fn request_message(
    nonce: u64,
    dendrite: &str,
    axon: &str,
    uuid: &str,
    body_hash: &str,
) -> String {
    format!("{nonce}.{dendrite}.{axon}.{uuid}.{body_hash}")
}

/// The `{nonce}.{dendrite}.{axon}.{uuid}` message an axon signs on its replies.
pub fn response_message(nonce: u64, dendrite: &str, axon: &str, uuid: &str) -> String {
    format!("{nonce}.{dendrite}.{axon}.{uuid}")
}

/// Signs `message` as the Python SDK does: `0x` + hex of the 64-byte signature. `None` for
/// a public-only key.
pub fn sign(key: &Keypair, message: &str) -> Option<String> {
    key.sign(message.as_bytes()).map(|sig| hex::encode(&sig))
}

/// What the axon received, from the request headers.
#[derive(Clone, Debug, Default)]
pub struct RequestAuth {
    /// `bt_header_dendrite_nonce`.
    pub nonce: Option<u64>,
    /// `bt_header_dendrite_version`.
    pub version: Option<u64>,
    /// `bt_header_dendrite_hotkey`.
    pub hotkey: Option<String>,
    /// `bt_header_dendrite_uuid`.
    pub uuid: Option<String>,
    /// `bt_header_dendrite_signature`.
    pub signature: Option<String>,
    /// `computed_body_hash`.
    pub body_hash: String,
    /// `timeout` (seconds; default 12).
    pub timeout_secs: Option<f64>,
}

/// Why a request is not verified; `Display` is the Python axon's message.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum VerifyError {
    /// No nonce header.
    #[error("Missing Nonce")]
    MissingNonce,
    /// A first-contact nonce older than the window.
    #[error("Nonce is too old: acceptable delta is {window:.2} seconds but request was {age:.2} seconds old")]
    Stale {
        /// The window (4 s + timeout).
        window: f64,
        /// The request's age.
        age: f64,
    },
    /// Not newer than the last nonce accepted from this hotkey and uuid.
    #[error("Nonce is too old, a newer one was last processed")]
    Replayed,
    /// No signature.
    #[error("Missing Signature")]
    MissingSignature,
    /// The signature is not `0x` hex.
    #[error("Invalid signature format. Expected hex string.")]
    BadFormat,
    /// No (valid) hotkey.
    #[error("No SS58 formatted address or public key provided.")]
    MissingHotkey,
    /// The signature does not verify.
    #[error("Signature mismatch with {message} and {signature}")]
    Mismatch {
        /// The message checked.
        message: String,
        /// The signature given.
        signature: String,
    },
}

impl VerifyError {
    /// The HTTP status the Python axon answers with (always 401 for verification).
    pub fn status(&self) -> u16 {
        401
    }

    /// The reply's `message`.
    pub fn reply_message(&self) -> String {
        format!("Not Verified with error: {self}")
    }
}

/// The axon's memory of the last nonce per (hotkey, uuid). Bounded: beyond `capacity`
/// callers, the entry with the oldest nonce is forgotten (the Python axon never forgets,
/// and so grows without bound).
#[derive(Debug)]
pub struct NonceTracker {
    last: BTreeMap<(String, String), u64>,
    capacity: usize,
}

impl NonceTracker {
    /// A tracker remembering up to `capacity` callers.
    pub fn new(capacity: usize) -> Self {
        Self { last: BTreeMap::new(), capacity: capacity.max(1) }
    }

    /// `default_verify`: checks nonce and signature of `request` for the axon `axon_hotkey`
    /// at `now_ns`, and records the nonce when all is well.
    pub fn verify(
        &mut self,
        request: &RequestAuth,
        axon_hotkey: &str,
        now_ns: u128,
    ) -> Result<(), VerifyError> {
        let nonce = request.nonce.ok_or(VerifyError::MissingNonce)?;
        let hotkey = request.hotkey.as_deref().unwrap_or_default();
        let uuid = request.uuid.as_deref().unwrap_or_default();
        let key = (hotkey.to_owned(), uuid.to_owned());
        let previous = self.last.get(&key).copied();
        let modern = request.version.is_some_and(|v| v >= V_7_2_0);
        match previous {
            Some(last) if nonce <= last => return Err(VerifyError::Replayed),
            None if modern => {
                let timeout = request.timeout_secs.unwrap_or(12.0).max(0.0);
                let timeout_ns = (timeout * 1e9) as u128;
                let oldest = now_ns.saturating_sub(ALLOWED_DELTA_NS).saturating_sub(timeout_ns);
                if u128::from(nonce) <= oldest {
                    let age = now_ns.saturating_sub(u128::from(nonce)) as f64 / 1e9;
                    return Err(VerifyError::Stale { window: 4.0 + timeout, age });
                }
            }
            _ => {}
        }
        let signature = request
            .signature
            .as_deref()
            .filter(|s| !s.is_empty())
            .ok_or(VerifyError::MissingSignature)?;
        if !signature.starts_with("0x") {
            return Err(VerifyError::BadFormat);
        }
        let account = AccountId::from_ss58(hotkey).map_err(|_| VerifyError::MissingHotkey)?;
        let message = request_message(nonce, hotkey, axon_hotkey, uuid, &request.body_hash);
        let sig: Option<[u8; 64]> = hex::decode(signature).ok().and_then(|b| b.try_into().ok());
        let public = Keypair::public_only(*account.as_bytes(), CryptoType::Sr25519);
        let ok = sig.is_some_and(|sig| {
            public.verify(message.as_bytes(), &sig)
                || public.verify(format!("<Bytes>{message}</Bytes>").as_bytes(), &sig)
        });
        if !ok {
            return Err(VerifyError::Mismatch { message, signature: signature.to_owned() });
        }
        if previous.is_none() && self.last.len() >= self.capacity {
            let oldest = self.last.iter().min_by_key(|(_, n)| **n).map(|(k, _)| k.clone());
            if let Some(oldest) = oldest {
                self.last.remove(&oldest);
            }
        }
        self.last.insert(key, nonce);
        Ok(())
    }
}
