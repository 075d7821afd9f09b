//! bittensor 10.x request authentication: what the dendrite signs, and how the axon checks
//! signature and nonce (`default_verify`), with the Python messages and status codes.

use crate::expiring::ExpiringMap;
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
    /// Further ahead of the axon's clock than its policy allows.
    #[error(
        "Nonce is too new: it is {ahead:.2} seconds ahead but at most {limit:.2} are accepted"
    )]
    TooNew {
        /// How far ahead the nonce is (seconds).
        ahead: f64,
        /// The policy's bound (seconds).
        limit: f64,
    },
    /// A first-contact nonce from before what the axon can vouch for: its start, or the
    /// last nonce of a caller it had to forget (see [`NonceTracker`]).
    #[error(
        "Nonce is too old: it predates this axon's replay memory (its start or a forgotten caller)"
    )]
    Predates,
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

/// How strict [`NonceTracker`] is beyond the Python rules.
///
/// The Python rules trust two headers the dendrite does not sign: `timeout` widens the
/// first-contact window to 4 s + timeout (so `timeout: 1e7` makes a request signed an hour
/// ago fresh), and a missing or old `bt_header_dendrite_version` skips the window
/// altogether. Anyone who captured a request can set both. [`NoncePolicy::PYTHON`] keeps
/// those rules (for tests and the vectors); an axon uses [`NoncePolicy::hardened`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NoncePolicy {
    /// The longest first-contact window (ns): the window is `min(4 s + timeout, this)`.
    pub max_window_ns: u128,
    /// How far a nonce may be ahead of the axon's clock (ns).
    pub max_ahead_ns: u128,
    /// Apply the window to every request, whatever version it announces.
    pub every_version: bool,
    /// First-contact nonces at or below this are refused (ns since the epoch; raised when a
    /// full tracker forgets a caller).
    pub not_before_ns: u128,
}

impl NoncePolicy {
    /// The Python axon's rules: no cap on the window, no bound on the future, no window
    /// for dendrites older than 7.2.0, nothing refused for predating the axon.
    pub const PYTHON: Self = Self {
        max_window_ns: u128::MAX,
        max_ahead_ns: u128::MAX,
        every_version: false,
        not_before_ns: 0,
    };

    /// An axon's rules: the window capped at `max_window_ns`, nonces at most `max_ahead_ns`
    /// ahead, the window applied to every version, and only requests signed after
    /// `started_ns` (the axon's start) accepted.
    ///
    /// Why "signed after the start" and not a file of high-water marks: it needs no disk
    /// write per caller and no file to trust or lose, and it is sound for any restart that
    /// takes longer than `max_ahead_ns`: every nonce the previous run accepted was at most
    /// `max_ahead_ns` ahead of its arrival, which was before this start. (A restart faster
    /// than that could see a request signed by a clock ahead of ours, accepted in the last
    /// `max_ahead_ns` before it, replayed once.) The cost: a dendrite whose clock is behind
    /// ours by `d` is refused for the first `d` seconds after a start.
    pub fn hardened(max_window_ns: u128, max_ahead_ns: u128, started_ns: u128) -> Self {
        Self { max_window_ns, max_ahead_ns, every_version: true, not_before_ns: started_ns }
    }

    /// Whether an entry can be forgotten once its nonce is out of every window: only when
    /// the window applies to every request and both bounds are finite.
    fn expires(&self) -> bool {
        self.every_version && self.max_window_ns != u128::MAX && self.max_ahead_ns != u128::MAX
    }
}

/// The axon's memory of the last nonce per (hotkey, uuid).
///
/// Bounded and O(1) amortised: under [`NoncePolicy::hardened`] an entry is forgotten once
/// its nonce is outside every possible window (a replay of it is then stale anyway); and
/// beyond `capacity` callers the one recorded longest ago is forgotten and the floor
/// ([`NoncePolicy::not_before_ns`]) rises to its nonce, so its requests stay refused (the
/// Python axon never forgets, and so grows without bound).
#[derive(Debug)]
pub struct NonceTracker {
    last: ExpiringMap<(String, String), u64>,
    policy: NoncePolicy,
}

impl NonceTracker {
    /// A tracker with the Python rules remembering up to `capacity` callers.
    pub fn new(capacity: usize) -> Self {
        Self::with_policy(capacity, NoncePolicy::PYTHON)
    }

    /// A tracker with `policy` remembering up to `capacity` callers.
    pub fn with_policy(capacity: usize, policy: NoncePolicy) -> Self {
        Self { last: ExpiringMap::new(capacity), policy }
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
        let policy = self.policy;
        let ahead = u128::from(nonce).saturating_sub(now_ns);
        if ahead > policy.max_ahead_ns {
            return Err(VerifyError::TooNew {
                ahead: ahead as f64 / 1e9,
                limit: policy.max_ahead_ns as f64 / 1e9,
            });
        }
        self.last.expire(now_ns);
        let hotkey = request.hotkey.as_deref().unwrap_or_default();
        let uuid = request.uuid.as_deref().unwrap_or_default();
        let key = (hotkey.to_owned(), uuid.to_owned());
        let modern = policy.every_version || request.version.is_some_and(|v| v >= V_7_2_0);
        match self.last.get(&key).copied() {
            Some(last) if nonce <= last => return Err(VerifyError::Replayed),
            Some(_) => {}
            None => {
                if modern {
                    let timeout = request.timeout_secs.filter(|t| !t.is_nan()).unwrap_or(12.0);
                    // `as` saturates: an infinite timeout is the longest window.
                    let wanted = ALLOWED_DELTA_NS.saturating_add((timeout.max(0.0) * 1e9) as u128);
                    let window = wanted.min(policy.max_window_ns);
                    if u128::from(nonce) <= now_ns.saturating_sub(window) {
                        let age = now_ns.saturating_sub(u128::from(nonce)) as f64 / 1e9;
                        return Err(VerifyError::Stale { window: window as f64 / 1e9, age });
                    }
                }
                if u128::from(nonce) <= policy.not_before_ns {
                    return Err(VerifyError::Predates);
                }
            }
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
        let expires = if policy.expires() {
            now_ns.saturating_add(policy.max_ahead_ns).saturating_add(policy.max_window_ns)
        } else {
            u128::MAX
        };
        if let Some((_, forgotten)) = self.last.insert(key, nonce, expires) {
            let floor = &mut self.policy.not_before_ns;
            *floor = (*floor).max(u128::from(forgotten));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u128 = 1_000_000_000;
    const NOW: u128 = 1_800_000_000 * S;

    fn signed(uuid: &str, nonce: u128, version: Option<u64>, timeout: Option<f64>) -> RequestAuth {
        let key = Keypair::from_uri("//Dendrite").unwrap();
        let nonce = u64::try_from(nonce).unwrap();
        let message = request_message(nonce, &key.ss58(), &axon(), uuid, "h");
        RequestAuth {
            nonce: Some(nonce),
            version,
            hotkey: Some(key.ss58()),
            uuid: Some(uuid.into()),
            signature: sign(&key, &message),
            body_hash: "h".into(),
            timeout_secs: timeout,
        }
    }

    fn axon() -> String {
        Keypair::from_uri("//Axon").unwrap().ss58()
    }

    fn hardened(capacity: usize) -> NonceTracker {
        NonceTracker::with_policy(capacity, NoncePolicy::hardened(16 * S, 2 * S, NOW - 60 * S))
    }

    #[test]
    fn the_unsigned_timeout_and_version_headers_no_longer_widen_the_window() {
        let hour_old = NOW - 3_600 * S;
        for request in [
            signed("u", hour_old, Some(10_005_000), Some(1e7)),
            signed("u", hour_old, Some(10_005_000), Some(f64::INFINITY)),
            signed("u", hour_old, None, None),
            signed("u", hour_old, Some(7_001_000), Some(12.0)),
        ] {
            // The Python rules accept it (the attack) ...
            assert_eq!(NonceTracker::new(10).verify(&request, &axon(), NOW), Ok(()));
            // ... the axon's refuse it.
            let refused = hardened(10).verify(&request, &axon(), NOW).unwrap_err();
            assert!(
                matches!(refused, VerifyError::Stale { window, .. } if window <= 16.0),
                "{refused:?}"
            );
        }
        // Inside the capped window, and with a short timeout, the Python window still holds.
        let recent = signed("u", NOW - 10 * S, Some(10_005_000), Some(1e7));
        assert_eq!(hardened(10).verify(&recent, &axon(), NOW), Ok(()));
        let short = signed("u", NOW - 10 * S, Some(10_005_000), Some(2.0));
        assert_eq!(
            hardened(10).verify(&short, &axon(), NOW),
            Err(VerifyError::Stale { window: 6.0, age: 10.0 })
        );
    }

    #[test]
    fn nonces_from_the_future_or_before_the_start_are_refused() {
        let ahead = signed("u", NOW + 3 * S, Some(10_005_000), None);
        assert!(matches!(
            hardened(10).verify(&ahead, &axon(), NOW),
            Err(VerifyError::TooNew { .. })
        ));
        assert_eq!(NonceTracker::new(10).verify(&ahead, &axon(), NOW), Ok(()));
        // Signed before the axon started (60 s before NOW), yet inside the window.
        let started = NOW - 60 * S;
        let before = signed("u", started - S, Some(10_005_000), None);
        let tracker =
            || NonceTracker::with_policy(10, NoncePolicy::hardened(16 * S, 2 * S, started));
        assert_eq!(tracker().verify(&before, &axon(), started + 5 * S), Err(VerifyError::Predates));
        let after = signed("u", started + S, Some(10_005_000), None);
        assert_eq!(tracker().verify(&after, &axon(), started + 5 * S), Ok(()));
    }

    #[test]
    fn forgotten_callers_stay_refused_and_memory_is_bounded() {
        let mut tracker = hardened(2);
        for (i, uuid) in ["a", "b", "c"].iter().enumerate() {
            let request = signed(uuid, NOW - 5 * S + i as u128, Some(10_005_000), None);
            assert_eq!(tracker.verify(&request, &axon(), NOW), Ok(()));
        }
        assert_eq!(tracker.last.len(), 2, "bounded");
        // "a" was forgotten for room; its request, still inside the window, is not taken again.
        let replay = signed("a", NOW - 5 * S, Some(10_005_000), None);
        assert_eq!(tracker.verify(&replay, &axon(), NOW + S), Err(VerifyError::Predates));
        // Entries out of every window are dropped; a replay is then plainly stale.
        let later = NOW + 30 * S;
        let fresh = signed("d", later, Some(10_005_000), None);
        assert_eq!(tracker.verify(&fresh, &axon(), later), Ok(()));
        let replay = signed("b", NOW - 5 * S + 1, Some(10_005_000), None);
        assert!(matches!(tracker.verify(&replay, &axon(), later), Err(VerifyError::Stale { .. })));
    }
}
