//! Proof of stake: consensus keys, the bytes commonware's simplex signs, equivocation
//! evidence and finality credits, so the runtime can verify votes without commonware.
//!
//! A vote is an ed25519 signature by a validator's consensus key over
//! [`vote_message`]: `varint(len(namespace)) ++ namespace ++ body`, where
//! `namespace = b"tao-consensus/" ++ genesis_hash ++ suffix` (`_NOTARIZE`, `_NULLIFY`,
//! `_FINALIZE`) and the body is `varint(epoch) ++ varint(view) ++ varint(parent_view) ++
//! block_hash` for notarize and finalize, `varint(epoch) ++ varint(view)` for nullify
//! (commonware simplex 2026.10.0, ed25519 scheme; varints are unsigned LEB128).
//!
//! Verification is `ed25519-dalek`'s standard `verify` (cofactorless, not `verify_strict`):
//! every signature an honest signer produces verifies under both; the few edge-case
//! encodings on which they differ cannot be produced without the secret key of a
//! small-order or non-canonical public key, which [`ConsensusKey::verify`] refuses to parse
//! only if dalek does. All that matters for consensus is that every node runs the same
//! check, which they do (same crate, same version, pinned by `Cargo.lock`).

use crate::Hash;
use codec::{Decode, Encode};
use core::fmt;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use tao_primitives::AccountId;

/// Prefix of every consensus namespace.
pub const NAMESPACE_PREFIX: &[u8] = b"tao-consensus/";
/// Prefix of a registration's key proof ([`key_proof_message`]).
pub const KEY_PROOF_PREFIX: &[u8] = b"tao-validator-key/";

/// An ed25519 public key a chain validator signs votes with.
#[derive(Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode)]
pub struct ConsensusKey(pub [u8; 32]);

/// An ed25519 signature.
#[derive(Clone, Copy, PartialEq, Eq, Encode, Decode)]
pub struct ConsensusSignature(pub [u8; 64]);

impl fmt::Display for ConsensusKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&tao_primitives::hex::encode(&self.0))
    }
}

impl fmt::Debug for ConsensusKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ConsensusKey({self})")
    }
}

impl fmt::Debug for ConsensusSignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ConsensusSignature(0x")?;
        self.0.iter().take(8).try_for_each(|b| write!(f, "{b:02x}"))?;
        f.write_str("…)")
    }
}

impl core::str::FromStr for ConsensusKey {
    type Err = String;

    /// 32 bytes of hex, with or without `0x`.
    fn from_str(text: &str) -> Result<Self, String> {
        let bytes = tao_primitives::hex::decode(text).map_err(|e| e.to_string())?;
        let key: [u8; 32] = bytes
            .try_into()
            .map_err(|b: Vec<u8>| format!("a consensus key is 32 bytes, not {}", b.len()))?;
        Ok(Self(key))
    }
}

impl Serialize for ConsensusKey {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for ConsensusKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(|e| serde::de::Error::custom(format!("{text:?}: {e}")))
    }
}

impl ConsensusKey {
    /// Whether the bytes are an ed25519 public key (a point on the curve).
    pub fn is_valid(&self) -> bool {
        ed25519_dalek::VerifyingKey::from_bytes(&self.0).is_ok()
    }

    /// Whether `signature` is this key's ed25519 signature of `message` (standard
    /// verification; a key that is not a curve point verifies nothing).
    pub fn verify(&self, message: &[u8], signature: &ConsensusSignature) -> bool {
        use ed25519_dalek::Verifier;
        let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(&self.0) else { return false };
        let signature = ed25519_dalek::Signature::from_bytes(&signature.0);
        key.verify(message, &signature).is_ok()
    }
}

/// A block proposal as simplex signs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Proposal {
    /// The consensus epoch.
    pub epoch: u64,
    /// The view (round) within the epoch.
    pub view: u64,
    /// The view of the parent proposal.
    pub parent_view: u64,
    /// The block header hash (the payload).
    pub block: Hash,
}

/// A vote a validator signs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub enum Vote {
    /// Notarize a proposal.
    Notarize(Proposal),
    /// Finalize a proposal.
    Finalize(Proposal),
    /// Give up on a view.
    Nullify {
        /// The epoch.
        epoch: u64,
        /// The view.
        view: u64,
    },
}

impl Vote {
    /// `(epoch, view)` of the vote.
    pub fn round(&self) -> (u64, u64) {
        match self {
            Vote::Notarize(p) | Vote::Finalize(p) => (p.epoch, p.view),
            Vote::Nullify { epoch, view } => (*epoch, *view),
        }
    }
}

/// Appends `value` as unsigned LEB128 (7 bits per byte, least significant first, high bit
/// set on every byte but the last).
pub fn write_varint(out: &mut Vec<u8>, mut value: u64) {
    loop {
        let low = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(low);
            return;
        }
        out.push(low | 0x80);
    }
}

/// The bytes simplex signs for `vote` on the chain of `genesis` (module docs).
pub fn vote_message(genesis: &Hash, vote: &Vote) -> Vec<u8> {
    let suffix: &[u8] = match vote {
        Vote::Notarize(_) => b"_NOTARIZE",
        Vote::Finalize(_) => b"_FINALIZE",
        Vote::Nullify { .. } => b"_NULLIFY",
    };
    let mut namespace = Vec::with_capacity(NAMESPACE_PREFIX.len() + 32 + suffix.len());
    namespace.extend_from_slice(NAMESPACE_PREFIX);
    namespace.extend_from_slice(&genesis.0);
    namespace.extend_from_slice(suffix);
    let mut out = Vec::with_capacity(namespace.len() + 64);
    write_varint(&mut out, namespace.len() as u64);
    out.extend_from_slice(&namespace);
    match vote {
        Vote::Notarize(p) | Vote::Finalize(p) => {
            write_varint(&mut out, p.epoch);
            write_varint(&mut out, p.view);
            write_varint(&mut out, p.parent_view);
            out.extend_from_slice(&p.block.0);
        }
        Vote::Nullify { epoch, view } => {
            write_varint(&mut out, *epoch);
            write_varint(&mut out, *view);
        }
    }
    out
}

/// What a registering validator's consensus key signs to prove it holds the key:
/// `b"tao-validator-key/" ++ genesis_hash ++ controller`.
pub fn key_proof_message(genesis: &Hash, controller: &AccountId) -> Vec<u8> {
    let mut out = Vec::with_capacity(KEY_PROOF_PREFIX.len() + 64);
    out.extend_from_slice(KEY_PROOF_PREFIX);
    out.extend_from_slice(&genesis.0);
    out.extend_from_slice(controller.as_bytes());
    out
}

/// A consensus key's secret half: the 32-byte ed25519 seed a validator key file holds
/// (`tao-node --generate-validator-key FILE` writes it as 0x-hex). Zeroed when dropped.
pub struct ConsensusSecret(ed25519_dalek::SigningKey);

impl ConsensusSecret {
    /// The secret of a 32-byte seed.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Self(ed25519_dalek::SigningKey::from_bytes(seed))
    }

    /// A key file's text: 32 bytes of hex, with or without `0x`, surrounding whitespace
    /// ignored. The error never repeats the text (it is a secret).
    pub fn parse(text: &str) -> Result<Self, String> {
        let bytes = tao_primitives::hex::decode(text.trim())
            .map_err(|_| "not hex (a validator key file holds 0x-hex of 32 bytes)".to_owned())?;
        let seed: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
            format!("{} bytes, not 32 (a validator key file holds 0x-hex of 32 bytes)", bytes.len())
        })?;
        Ok(Self::from_seed(&seed))
    }

    /// The public consensus key.
    pub fn public(&self) -> ConsensusKey {
        ConsensusKey(self.0.verifying_key().to_bytes())
    }

    /// The proof a registration carries: this key's signature of
    /// [`key_proof_message`]`(genesis, controller)`.
    pub fn key_proof(&self, genesis: &Hash, controller: &AccountId) -> ConsensusSignature {
        use ed25519_dalek::Signer;
        ConsensusSignature(self.0.sign(&key_proof_message(genesis, controller)).to_bytes())
    }
}

impl fmt::Debug for ConsensusSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ConsensusSecret(public {})", self.public())
    }
}

/// Proof that a validator signed two conflicting votes in one view (as commonware's
/// simplex reports them). Valid only if both signatures verify, both votes are for the same
/// `(epoch, view)`, the proposals differ (conflicting kinds), and the signer was in that
/// epoch's validator set.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum Equivocation {
    /// Two notarize votes for different proposals of one view.
    ConflictingNotarize {
        /// The validator's consensus key.
        signer: ConsensusKey,
        /// One proposal.
        first: Proposal,
        /// Its signature.
        first_signature: ConsensusSignature,
        /// The other proposal.
        second: Proposal,
        /// Its signature.
        second_signature: ConsensusSignature,
    },
    /// Two finalize votes for different proposals of one view.
    ConflictingFinalize {
        /// The validator's consensus key.
        signer: ConsensusKey,
        /// One proposal.
        first: Proposal,
        /// Its signature.
        first_signature: ConsensusSignature,
        /// The other proposal.
        second: Proposal,
        /// Its signature.
        second_signature: ConsensusSignature,
    },
    /// A finalize vote and a nullify vote in one view.
    NullifyFinalize {
        /// The validator's consensus key.
        signer: ConsensusKey,
        /// The finalized proposal.
        finalize: Proposal,
        /// The finalize signature.
        finalize_signature: ConsensusSignature,
        /// The nullify signature (for the finalize proposal's epoch and view).
        nullify_signature: ConsensusSignature,
    },
}

/// Why equivocation evidence does not prove anything (before looking at the chain's sets).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EvidenceFault {
    /// The two votes are not for the same `(epoch, view)`.
    DifferentRounds,
    /// The two proposals are the same: no conflict.
    SameProposal,
    /// A signature does not verify under the signer's key.
    BadSignature,
}

impl Equivocation {
    /// The equivocating key.
    pub fn signer(&self) -> ConsensusKey {
        match self {
            Equivocation::ConflictingNotarize { signer, .. }
            | Equivocation::ConflictingFinalize { signer, .. }
            | Equivocation::NullifyFinalize { signer, .. } => *signer,
        }
    }

    /// `(epoch, view)` the evidence is about (the first vote's).
    pub fn round(&self) -> (u64, u64) {
        match self {
            Equivocation::ConflictingNotarize { first, .. }
            | Equivocation::ConflictingFinalize { first, .. } => (first.epoch, first.view),
            Equivocation::NullifyFinalize { finalize, .. } => (finalize.epoch, finalize.view),
        }
    }

    /// The two signed votes.
    pub fn votes(&self) -> [(Vote, ConsensusSignature); 2] {
        match self {
            Equivocation::ConflictingNotarize {
                first,
                first_signature,
                second,
                second_signature,
                ..
            } => [
                (Vote::Notarize(*first), *first_signature),
                (Vote::Notarize(*second), *second_signature),
            ],
            Equivocation::ConflictingFinalize {
                first,
                first_signature,
                second,
                second_signature,
                ..
            } => [
                (Vote::Finalize(*first), *first_signature),
                (Vote::Finalize(*second), *second_signature),
            ],
            Equivocation::NullifyFinalize {
                finalize,
                finalize_signature,
                nullify_signature,
                ..
            } => [
                (Vote::Finalize(*finalize), *finalize_signature),
                (Vote::Nullify { epoch: finalize.epoch, view: finalize.view }, *nullify_signature),
            ],
        }
    }

    /// Checks the evidence on its own (rounds, conflict, signatures) for the chain of
    /// `genesis`; whether the signer was in the epoch's set is the runtime's to check.
    pub fn check(&self, genesis: &Hash) -> Result<(), EvidenceFault> {
        let [(a, a_sig), (b, b_sig)] = self.votes();
        if a.round() != b.round() {
            return Err(EvidenceFault::DifferentRounds);
        }
        if a == b {
            return Err(EvidenceFault::SameProposal);
        }
        let signer = self.signer();
        if !signer.verify(&vote_message(genesis, &a), &a_sig)
            || !signer.verify(&vote_message(genesis, &b), &b_sig)
        {
            return Err(EvidenceFault::BadSignature);
        }
        Ok(())
    }
}

/// A finalization certificate of an earlier block of the current epoch, carried by a block
/// so the runtime can credit its signers: `signatures` are finalize votes on
/// `Proposal { epoch, view, parent_view, block }`, each with the signer's index in the
/// epoch's validator set (ordered by consensus key bytes ascending, as commonware orders
/// participants).
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct FinalityCredit {
    /// The epoch (the carrying block's).
    pub epoch: u64,
    /// The view the block was finalized in.
    pub view: u64,
    /// The parent's view.
    pub parent_view: u64,
    /// The finalized block's header hash.
    pub block: Hash,
    /// `(index in the set, finalize signature)`, indices strictly ascending.
    pub signatures: Vec<(u32, ConsensusSignature)>,
}

impl FinalityCredit {
    /// The finalize vote the signatures are on.
    pub fn vote(&self) -> Vote {
        Vote::Finalize(Proposal {
            epoch: self.epoch,
            view: self.view,
            parent_view: self.parent_view,
            block: self.block,
        })
    }
}

/// The least number of distinct signers of a set of `n` that makes a certificate:
/// `n − floor((n − 1) / 3)` (0 for an empty set).
pub fn quorum(n: usize) -> usize {
    if n == 0 {
        return 0;
    }
    n.saturating_sub((n.saturating_sub(1)) / 3)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signer, SigningKey};

    fn signing(n: u8) -> SigningKey {
        SigningKey::from_bytes(&[n; 32])
    }

    fn key(n: u8) -> ConsensusKey {
        ConsensusKey(signing(n).verifying_key().to_bytes())
    }

    fn sign(n: u8, message: &[u8]) -> ConsensusSignature {
        ConsensusSignature(signing(n).sign(message).to_bytes())
    }

    fn proposal(view: u64, block: u8) -> Proposal {
        Proposal { epoch: 2, view, parent_view: view.saturating_sub(1), block: Hash([block; 32]) }
    }

    #[test]
    fn a_key_file_secret_proves_its_key_for_one_chain_and_controller() {
        let secret = ConsensusSecret::parse(&format!("  0x{}\n", "07".repeat(32))).unwrap();
        assert_eq!(secret.public(), key(7));
        let controller = AccountId::new([9; 32]);
        let genesis = Hash([3; 32]);
        let proof = secret.key_proof(&genesis, &controller);
        assert!(key(7).verify(&key_proof_message(&genesis, &controller), &proof));
        let other = AccountId::new([8; 32]);
        assert!(!key(7).verify(&key_proof_message(&genesis, &other), &proof));
        assert!(ConsensusSecret::parse("0x1234").unwrap_err().contains("2 bytes, not 32"));
        let error = ConsensusSecret::parse("hunter2 words").unwrap_err();
        assert!(error.contains("not hex") && !error.contains("hunter2"), "{error}");
    }

    #[test]
    fn varints_are_leb128() {
        let enc = |v: u64| {
            let mut out = Vec::new();
            write_varint(&mut out, v);
            out
        };
        assert_eq!(enc(0), [0x00]);
        assert_eq!(enc(1), [0x01]);
        assert_eq!(enc(127), [0x7f]);
        assert_eq!(enc(128), [0x80, 0x01]);
        assert_eq!(enc(300), [0xac, 0x02]);
        assert_eq!(enc(16_384), [0x80, 0x80, 0x01]);
        assert_eq!(enc(u64::MAX).len(), 10);
        assert_eq!(*enc(u64::MAX).last().unwrap(), 0x01);
    }

    #[test]
    fn vote_messages_are_laid_out_as_simplex_signs_them() {
        let genesis = Hash([7; 32]);
        let p = Proposal { epoch: 1, view: 300, parent_view: 299, block: Hash([9; 32]) };
        let message = vote_message(&genesis, &Vote::Notarize(p));
        let mut namespace = b"tao-consensus/".to_vec();
        namespace.extend_from_slice(&[7; 32]);
        namespace.extend_from_slice(b"_NOTARIZE");
        assert_eq!(namespace.len(), 55);
        let mut expected = vec![55];
        expected.extend_from_slice(&namespace);
        expected.extend_from_slice(&[0x01, 0xac, 0x02, 0xab, 0x02]);
        expected.extend_from_slice(&[9; 32]);
        assert_eq!(message, expected);

        let finalize = vote_message(&genesis, &Vote::Finalize(p));
        assert_eq!(&finalize[1 + 46..1 + 55], b"_FINALIZE");
        assert_eq!(finalize[0], 55);
        let nullify = vote_message(&genesis, &Vote::Nullify { epoch: 1, view: 300 });
        let mut expected = vec![54];
        expected.extend_from_slice(b"tao-consensus/");
        expected.extend_from_slice(&[7; 32]);
        expected.extend_from_slice(b"_NULLIFY");
        expected.extend_from_slice(&[0x01, 0xac, 0x02]);
        assert_eq!(nullify, expected);
    }

    #[test]
    fn signatures_verify_only_under_their_key_message_and_chain() {
        let genesis = Hash([1; 32]);
        let vote = Vote::Finalize(proposal(5, 3));
        let signature = sign(4, &vote_message(&genesis, &vote));
        assert!(key(4).verify(&vote_message(&genesis, &vote), &signature));
        assert!(!key(5).verify(&vote_message(&genesis, &vote), &signature));
        assert!(!key(4).verify(&vote_message(&Hash([2; 32]), &vote), &signature));
        let notarize = Vote::Notarize(proposal(5, 3));
        assert!(!key(4).verify(&vote_message(&genesis, &notarize), &signature));
        let mut bad = signature;
        bad.0[0] ^= 1;
        assert!(!key(4).verify(&vote_message(&genesis, &vote), &bad));
        // Bytes that are not a curve point verify nothing (and do not panic).
        // y = 2 is on no point of the curve.
        let mut not_a_point = [0; 32];
        not_a_point[0] = 2;
        assert!(!ConsensusKey(not_a_point).verify(b"x", &signature));
        assert!(!ConsensusKey(not_a_point).is_valid());
        assert!(key(4).is_valid());
    }

    #[test]
    fn key_proofs_bind_chain_and_controller() {
        let genesis = Hash([1; 32]);
        let controller = AccountId::new([3; 32]);
        let message = key_proof_message(&genesis, &controller);
        assert_eq!(message.len(), 18 + 64);
        assert!(message.starts_with(b"tao-validator-key/"));
        let proof = sign(9, &message);
        assert!(key(9).verify(&message, &proof));
        assert!(!key(9).verify(&key_proof_message(&genesis, &AccountId::new([4; 32])), &proof));
    }

    #[test]
    fn evidence_is_checked_for_rounds_conflict_and_signatures() {
        let genesis = Hash([1; 32]);
        let (a, b) = (proposal(8, 1), proposal(8, 2));
        let s = |v: Vote| sign(6, &vote_message(&genesis, &v));
        let notarize = Equivocation::ConflictingNotarize {
            signer: key(6),
            first: a,
            first_signature: s(Vote::Notarize(a)),
            second: b,
            second_signature: s(Vote::Notarize(b)),
        };
        assert_eq!(notarize.check(&genesis), Ok(()));
        assert_eq!(notarize.round(), (2, 8));
        assert_eq!(notarize.check(&Hash([0; 32])), Err(EvidenceFault::BadSignature));
        let finalize = Equivocation::ConflictingFinalize {
            signer: key(6),
            first: a,
            first_signature: s(Vote::Finalize(a)),
            second: a,
            second_signature: s(Vote::Finalize(a)),
        };
        assert_eq!(finalize.check(&genesis), Err(EvidenceFault::SameProposal));
        let other_view = proposal(9, 2);
        let finalize = Equivocation::ConflictingFinalize {
            signer: key(6),
            first: a,
            first_signature: s(Vote::Finalize(a)),
            second: other_view,
            second_signature: s(Vote::Finalize(other_view)),
        };
        assert_eq!(finalize.check(&genesis), Err(EvidenceFault::DifferentRounds));
        let nullify = Equivocation::NullifyFinalize {
            signer: key(6),
            finalize: a,
            finalize_signature: s(Vote::Finalize(a)),
            nullify_signature: s(Vote::Nullify { epoch: 2, view: 8 }),
        };
        assert_eq!(nullify.check(&genesis), Ok(()));
        let swapped = Equivocation::NullifyFinalize {
            signer: key(6),
            finalize: a,
            finalize_signature: s(Vote::Nullify { epoch: 2, view: 8 }),
            nullify_signature: s(Vote::Finalize(a)),
        };
        assert_eq!(swapped.check(&genesis), Err(EvidenceFault::BadSignature));
    }

    #[test]
    fn quorum_is_n_minus_f() {
        let cases = [(0, 0), (1, 1), (2, 2), (3, 3), (4, 3), (5, 4), (7, 5), (10, 7), (128, 86)];
        for (n, q) in cases {
            assert_eq!(quorum(n), q, "n = {n}");
        }
    }

    #[test]
    fn keys_are_hex_in_json_and_round_trip_in_scale() {
        let k = key(3);
        let json = serde_json::to_string(&k).unwrap();
        assert_eq!(json, format!("\"{}\"", tao_primitives::hex::encode(&k.0)));
        assert_eq!(serde_json::from_str::<ConsensusKey>(&json).unwrap(), k);
        assert!(serde_json::from_str::<ConsensusKey>("\"0x1234\"").is_err());
        let e = Equivocation::NullifyFinalize {
            signer: k,
            finalize: proposal(1, 1),
            finalize_signature: ConsensusSignature([1; 64]),
            nullify_signature: ConsensusSignature([2; 64]),
        };
        assert_eq!(Equivocation::decode(&mut &e.encode()[..]).unwrap(), e);
    }
}
