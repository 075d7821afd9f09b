//! Transactions: what a signer asks, signed, and its bounded decoding.

use crate::{blake2_256, Call, Hash, Keypair, Signature};
use codec::{Decode, Encode};
use tao_primitives::AccountId;

/// Prefix of every signed transaction payload (domain separation: a transaction signature
/// can never be mistaken for another kind of signed message).
pub const TX_NAMESPACE: &[u8] = b"_TAO_TX_V1";

/// The largest encoded signed transaction accepted.
pub const MAX_TRANSACTION_BYTES: usize = 64 * 1024;

/// A transaction before signing.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Transaction {
    /// The chain it is for (its genesis hash): no replay on another chain.
    pub genesis_hash: Hash,
    /// Who signs and pays.
    pub signer: AccountId,
    /// The signer's next nonce: no replay on this chain.
    pub nonce: u64,
    /// What to do.
    pub call: Call,
}

impl Transaction {
    /// The bytes the signature covers: [`TX_NAMESPACE`] then the SCALE encoding.
    pub fn signing_payload(&self) -> Vec<u8> {
        let mut payload = TX_NAMESPACE.to_vec();
        self.encode_to(&mut payload);
        payload
    }

    /// Signs with `key` (whose account should be `signer`).
    pub fn sign(self, key: &Keypair) -> SignedTransaction {
        let signature = key.sign(&self.signing_payload());
        SignedTransaction { transaction: self, signature }
    }
}

/// A transaction with its signature, as submitted and stored in blocks.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct SignedTransaction {
    /// The transaction.
    pub transaction: Transaction,
    /// The signer's sr25519 signature of [`Transaction::signing_payload`].
    pub signature: Signature,
}

/// Why bytes are not a signed transaction.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// More bytes than [`MAX_TRANSACTION_BYTES`].
    #[error("transaction is {len} bytes; at most {max} are accepted")]
    TooLarge {
        /// Length given.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Not a SCALE-encoded signed transaction.
    #[error("malformed transaction: {0}")]
    Malformed(String),
    /// Bytes left after the transaction.
    #[error("{0} trailing bytes after the transaction")]
    TrailingBytes(usize),
}

impl SignedTransaction {
    /// The transaction hash: BLAKE2b-256 of the encoding.
    pub fn hash(&self) -> Hash {
        blake2_256(&self.encode())
    }

    /// Whether the signature is the signer's.
    pub fn verify_signature(&self) -> bool {
        self.signature.verify(&self.transaction.signer, &self.transaction.signing_payload())
    }

    /// Decodes untrusted bytes: size-limited, exact (no trailing bytes), never panics.
    pub fn decode_bounded(bytes: &[u8]) -> Result<Self, DecodeError> {
        if bytes.len() > MAX_TRANSACTION_BYTES {
            return Err(DecodeError::TooLarge { len: bytes.len(), max: MAX_TRANSACTION_BYTES });
        }
        let mut input = bytes;
        let tx = Self::decode(&mut input).map_err(|e| DecodeError::Malformed(e.to_string()))?;
        if !input.is_empty() {
            return Err(DecodeError::TrailingBytes(input.len()));
        }
        Ok(tx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Call, Existence};
    use proptest::prelude::*;
    use tao_primitives::{NetUid, Rao};

    fn key(n: u8) -> Keypair {
        Keypair::from_seed(&[n; 32])
    }

    fn transfer(from: &Keypair, nonce: u64) -> Transaction {
        Transaction {
            genesis_hash: Hash([7; 32]),
            signer: from.account(),
            nonce,
            call: Call::Transfer { dest: key(2).account(), amount: Rao::new(5) },
        }
    }

    #[test]
    fn signatures_cover_chain_nonce_and_call() {
        let alice = key(1);
        let signed = transfer(&alice, 0).sign(&alice);
        assert!(signed.verify_signature());

        for tamper in [
            |t: &mut Transaction| t.genesis_hash = Hash([8; 32]),
            |t: &mut Transaction| t.nonce = 1,
            |t: &mut Transaction| {
                t.call = Call::TransferAll { dest: t.signer, existence: Existence::AllowDeath }
            },
        ] {
            let mut forged = signed.clone();
            tamper(&mut forged.transaction);
            assert!(!forged.verify_signature());
        }
        // Signed by someone else.
        let mut forged = signed.clone();
        forged.transaction.signer = key(3).account();
        assert!(!forged.verify_signature());
        // The same bytes signed without the namespace do not verify as a transaction.
        let raw = alice.sign(&signed.transaction.encode());
        assert!(!SignedTransaction { signature: raw, ..signed }.verify_signature());
    }

    #[test]
    fn bounded_decoding_rejects_garbage_trailing_bytes_and_size() {
        let alice = key(1);
        let signed = transfer(&alice, 3).sign(&alice);
        let bytes = signed.encode();
        assert_eq!(SignedTransaction::decode_bounded(&bytes), Ok(signed.clone()));
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert_eq!(
            SignedTransaction::decode_bounded(&trailing),
            Err(DecodeError::TrailingBytes(1))
        );
        assert!(matches!(
            SignedTransaction::decode_bounded(&bytes[..bytes.len() - 1]),
            Err(DecodeError::Malformed(_))
        ));
        let huge = vec![0u8; MAX_TRANSACTION_BYTES + 1];
        assert!(matches!(
            SignedTransaction::decode_bounded(&huge),
            Err(DecodeError::TooLarge { .. })
        ));
        assert_ne!(signed.hash(), transfer(&alice, 4).sign(&alice).hash());
    }

    #[test]
    fn keys_match_the_bittensor_wallet_vectors() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../../shared/spec/vectors/wallet_vectors.json"
        );
        let vectors: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let entry = &vectors["keys"]["substrate_dev_phrase"]["sr25519"];
        let seed_hex = entry["secret_seed"].as_str().unwrap().trim_start_matches("0x");
        let mut seed = [0u8; 32];
        for (i, b) in seed.iter_mut().enumerate() {
            *b = u8::from_str_radix(&seed_hex[2 * i..2 * i + 2], 16).unwrap();
        }
        let pair = Keypair::from_seed(&seed);
        assert_eq!(pair.account().to_ss58(), entry["ss58_address"].as_str().unwrap());
        // The wallet's own signature of the message verifies here.
        let sig_hex = entry["signature"].as_str().unwrap().trim_start_matches("0x");
        let mut sig = [0u8; 64];
        for (i, b) in sig.iter_mut().enumerate() {
            *b = u8::from_str_radix(&sig_hex[2 * i..2 * i + 2], 16).unwrap();
        }
        let message = vectors["message"].as_str().unwrap().as_bytes();
        assert!(Signature(sig).verify(&pair.account(), message));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = SignedTransaction::decode_bounded(&bytes);
        }

        #[test]
        fn encode_decode_round_trips(nonce in any::<u64>(), netuid in any::<u16>(), uids in proptest::collection::vec(any::<u16>(), 0..20)) {
            let alice = key(9);
            let tx = Transaction {
                genesis_hash: Hash([1; 32]),
                signer: alice.account(),
                nonce,
                call: Call::SetWeights { netuid: NetUid::new(netuid), values: uids.clone(), uids, version_key: nonce },
            };
            let signed = tx.sign(&alice);
            prop_assert_eq!(SignedTransaction::decode_bounded(&signed.encode()), Ok(signed));
        }
    }
}
