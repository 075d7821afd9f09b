//! The Python SDK's golden vectors: body hashes, `btauth/1`, and a captured 10.x request.

use serde_json::Value;
use tao_sdk::{
    body_hash::body_hash,
    btauth::{self, AuthError, Verifier},
    python::python_str,
    v10::{self, NonceTracker, RequestAuth, VerifyError},
};
use tao_wallet::{CryptoType, Keypair};

fn vectors(name: &str) -> String {
    let path = format!("{}/../../../shared/spec/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn body_hashes_match_python() {
    let v: Value = serde_json::from_str(&vectors("body_hash_vectors.json")).unwrap();
    assert_eq!(body_hash([]).unwrap(), v["no_hash_fields"].as_str().unwrap());
    let cases = v["cases"].as_array().unwrap();
    assert!(cases.len() >= 19);
    for case in cases {
        let json = case["value_json"].as_str().unwrap();
        assert_eq!(
            python_str(json).unwrap(),
            case["python_str"].as_str().unwrap(),
            "{}",
            case["name"]
        );
        assert_eq!(
            body_hash([json]).unwrap(),
            case["body_hash"].as_str().unwrap(),
            "{}",
            case["name"]
        );
    }
    let two = &v["two_fields_b_then_a"];
    let (a, b) = (two["a"].to_string(), two["b"].to_string());
    assert_eq!(body_hash([b.as_str(), a.as_str()]).unwrap(), two["body_hash"].as_str().unwrap());
    assert_ne!(
        body_hash([a.as_str(), b.as_str()]).unwrap(),
        two["body_hash"].as_str().unwrap(),
        "order matters"
    );
}

#[test]
fn btauth_matches_python_both_ways() {
    let v: Value = serde_json::from_str(&vectors("btauth_vectors.json")).unwrap();
    let receiver = v["receiver_ss58"].as_str().unwrap();
    for case in v["cases"].as_array().unwrap() {
        let crypto = match case["scheme"].as_str().unwrap() {
            "ed25519" => CryptoType::Ed25519,
            _ => CryptoType::Sr25519,
        };
        let key =
            Keypair::from_mnemonic(case["sender_mnemonic"].as_str().unwrap(), crypto).unwrap();
        assert_eq!(key.ss58(), case["sender_ss58"].as_str().unwrap());
        let (method, path, body) = (
            case["method"].as_str().unwrap(),
            case["path"].as_str().unwrap(),
            case["body_utf8"].as_str().unwrap(),
        );
        let nonce = u128::from(case["nonce_ns"].as_u64().unwrap());
        let payload = btauth::payload(
            crypto,
            method,
            path,
            body.as_bytes(),
            nonce,
            &key.ss58(),
            Some(receiver),
        );
        assert_eq!(payload, case["signed_payload_utf8"].as_str().unwrap());

        // Python's headers verify here (case-insensitive names).
        let headers = case["headers"].as_object().unwrap().clone();
        let lookup = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str().unwrap().to_owned())
        };
        let mut verifier = Verifier::new(receiver.to_owned());
        assert_eq!(verifier.verify(lookup, method, path, body.as_bytes(), nonce), Ok(key.ss58()));
        assert_eq!(
            verifier.verify(lookup, method, path, body.as_bytes(), nonce),
            Err(AuthError::ReplayedRequest)
        );
        // Tampering, staleness, another receiver.
        let mut fresh = Verifier::new(receiver.to_owned());
        assert_eq!(fresh.verify(lookup, method, path, b"{}", nonce), Err(AuthError::BadSignature));
        assert_eq!(
            fresh.verify(lookup, method, path, body.as_bytes(), nonce + 11_000_000_000),
            Err(AuthError::StaleRequest)
        );
        let mut other = Verifier::new(key.ss58());
        assert_eq!(
            other.verify(lookup, method, path, body.as_bytes(), nonce),
            Err(AuthError::WrongReceiver)
        );

        // Ours verify too, and ed25519's are deterministic: byte-equal to Python's.
        let ours =
            btauth::sign(&key, method, path, body.as_bytes(), nonce, Some(receiver)).unwrap();
        if case["deterministic_signature"] == true {
            let sig = ours.iter().find(|(k, _)| *k == "X-Bittensor-Signature").unwrap();
            assert_eq!(Some(sig.1.clone()), lookup("x-bittensor-signature"));
        }
        let ours_lookup = |name: &str| {
            ours.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone())
        };
        let mut verifier = Verifier::new(receiver.to_owned());
        assert_eq!(
            verifier.verify(ours_lookup, method, path, body.as_bytes(), nonce),
            Ok(key.ss58())
        );
    }
}

/// The first request of the wire capture, as headers.
fn captured_request() -> (RequestAuth, String) {
    let text = vectors("wire_example.txt");
    let header = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}: ")))
            .unwrap_or_else(|| panic!("{name} in the capture"))
            .trim()
            .to_owned()
    };
    let request = RequestAuth {
        nonce: Some(header("bt_header_dendrite_nonce").parse().unwrap()),
        version: Some(header("bt_header_dendrite_version").parse().unwrap()),
        hotkey: Some(header("bt_header_dendrite_hotkey")),
        uuid: Some(header("bt_header_dendrite_uuid")),
        signature: Some(header("bt_header_dendrite_signature")),
        body_hash: header("computed_body_hash"),
        timeout_secs: Some(header("timeout").parse().unwrap()),
    };
    (request, header("bt_header_axon_hotkey"))
}

#[test]
fn a_captured_python_request_verifies_with_the_python_nonce_rules() {
    let (request, axon) = captured_request();
    let nonce = u128::from(request.nonce.unwrap());
    let mut tracker = NonceTracker::new(1_000);
    assert_eq!(tracker.verify(&request, &axon, nonce + 1_000_000), Ok(()));
    assert_eq!(tracker.verify(&request, &axon, nonce + 2_000_000), Err(VerifyError::Replayed));
    let replay = tracker.verify(&request, &axon, nonce).unwrap_err();
    assert_eq!(
        replay.reply_message(),
        "Not Verified with error: Nonce is too old, a newer one was last processed"
    );
    assert_eq!(replay.status(), 401);

    // First contact 20 s later: stale (window 4 + 12 s); 15 s later: accepted.
    let stale = NonceTracker::new(10).verify(&request, &axon, nonce + 20_000_000_000).unwrap_err();
    assert_eq!(
        stale.to_string(),
        "Nonce is too old: acceptable delta is 16.00 seconds but request was 20.00 seconds old"
    );
    assert_eq!(NonceTracker::new(10).verify(&request, &axon, nonce + 15_000_000_000), Ok(()));
    // An old dendrite version has no staleness check.
    let old = RequestAuth { version: Some(7_001_000), ..request.clone() };
    assert_eq!(NonceTracker::new(10).verify(&old, &axon, nonce + 20_000_000_000), Ok(()));

    // Signed for another axon, or with a changed body hash: a mismatch naming the message.
    let other_axon = Keypair::from_uri("//Other").unwrap().ss58();
    assert!(matches!(
        NonceTracker::new(10).verify(&request, &other_axon, nonce),
        Err(VerifyError::Mismatch { .. })
    ));
    let tampered = RequestAuth { body_hash: "00".repeat(32), ..request.clone() };
    assert!(matches!(
        NonceTracker::new(10).verify(&tampered, &axon, nonce),
        Err(VerifyError::Mismatch { .. })
    ));
    for (broken, error) in [
        (RequestAuth { nonce: None, ..request.clone() }, VerifyError::MissingNonce),
        (RequestAuth { signature: None, ..request.clone() }, VerifyError::MissingSignature),
        (RequestAuth { signature: Some("abcd".into()), ..request.clone() }, VerifyError::BadFormat),
        (
            RequestAuth { hotkey: Some("nope".into()), ..request.clone() },
            VerifyError::MissingHotkey,
        ),
    ] {
        assert_eq!(NonceTracker::new(10).verify(&broken, &axon, nonce), Err(error));
    }
}

#[test]
fn our_dendrite_signatures_verify_and_the_tracker_is_bounded() {
    let dendrite = Keypair::from_uri("//Dendrite").unwrap();
    let axon = Keypair::from_uri("//Axon").unwrap().ss58();
    let hash = body_hash([]).unwrap();
    let mut tracker = NonceTracker::new(2);
    for (i, uuid) in ["u1", "u2", "u3"].iter().enumerate() {
        let nonce = 1_000 + i as u64;
        let message = v10::request_message(nonce, &dendrite.ss58(), &axon, uuid, &hash);
        let request = RequestAuth {
            nonce: Some(nonce),
            version: Some(10_005_000),
            hotkey: Some(dendrite.ss58()),
            uuid: Some((*uuid).to_owned()),
            signature: v10::sign(&dendrite, &message),
            body_hash: hash.clone(),
            timeout_secs: None,
        };
        assert_eq!(tracker.verify(&request, &axon, u128::from(nonce)), Ok(()));
    }
    // Three callers, capacity two: the oldest was forgotten, yet a replay of its request is
    // still refused, as stale under the first-contact rule.
    let message = v10::request_message(1_000, &dendrite.ss58(), &axon, "u1", &hash);
    let replay = RequestAuth {
        nonce: Some(1_000),
        version: Some(10_005_000),
        hotkey: Some(dendrite.ss58()),
        uuid: Some("u1".into()),
        signature: v10::sign(&dendrite, &message),
        body_hash: hash,
        timeout_secs: None,
    };
    assert!(matches!(
        tracker.verify(&replay, &axon, 60_000_000_000),
        Err(VerifyError::Stale { .. })
    ));
}
