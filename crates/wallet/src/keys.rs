//! Key pairs: sr25519 (default) and ed25519, from mnemonics, seeds, secrets and URIs.

use crate::WalletError;
use codec::Encode;
use schnorrkel::{
    derive::{ChainCode, Derivation},
    ExpansionMode, MiniSecretKey,
};
use std::fmt;
use tao_primitives::AccountId;
use zeroize::{Zeroize, Zeroizing};

/// The Substrate development phrase behind `//Alice`, `//Bob`, ….
pub const DEV_PHRASE: &str =
    "bottom drive obey lake curtain smoke basket hold race lonely fit walk";

const SIGNING_CONTEXT: &[u8] = b"substrate";

/// Signature scheme of a key (`cryptoType` in keyfiles).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CryptoType {
    /// ed25519 (`cryptoType` 0).
    Ed25519,
    /// sr25519 (`cryptoType` 1, the default).
    Sr25519,
}

impl CryptoType {
    /// The keyfile number.
    pub fn number(self) -> u8 {
        match self {
            CryptoType::Ed25519 => 0,
            CryptoType::Sr25519 => 1,
        }
    }

    /// From the keyfile number.
    pub fn from_number(n: u64) -> Option<Self> {
        match n {
            0 => Some(CryptoType::Ed25519),
            1 => Some(CryptoType::Sr25519),
            _ => None,
        }
    }
}

/// Secret material (zeroized on drop).
#[derive(Clone)]
struct Secret {
    /// The 32-byte mini secret (sr25519) or seed (ed25519), when known.
    seed: Option<[u8; 32]>,
    /// sr25519: the 64-byte schnorrkel secret; ed25519: the 32-byte seed.
    private: Vec<u8>,
    /// The mnemonic it came from, when known.
    phrase: Option<String>,
}

impl Drop for Secret {
    fn drop(&mut self) {
        if let Some(seed) = self.seed.as_mut() {
            seed.zeroize();
        }
        self.private.zeroize();
        if let Some(phrase) = self.phrase.as_mut() {
            phrase.zeroize();
        }
    }
}

/// A key pair, or a public key alone.
#[derive(Clone)]
pub struct Keypair {
    crypto: CryptoType,
    public: [u8; 32],
    secret: Option<Secret>,
}

impl fmt::Debug for Keypair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = if self.secret.is_some() { "Keypair" } else { "PublicKey" };
        write!(f, "{kind}({:?}, {})", self.crypto, self.ss58())
    }
}

/// The Substrate mini secret of a mnemonic: PBKDF2-HMAC-SHA512 over the BIP39 entropy,
/// salt `"mnemonic"` (no passphrase), 2048 rounds, first 32 bytes.
fn mini_secret(phrase: &str) -> Result<[u8; 32], WalletError> {
    let mnemonic = bip39::Mnemonic::parse_in(bip39::Language::English, phrase.trim())
        .map_err(|e| WalletError::InvalidMnemonic(e.to_string()))?;
    let entropy = Zeroizing::new(mnemonic.to_entropy());
    let mut seed = Zeroizing::new([0u8; 64]);
    pbkdf2::pbkdf2_hmac::<sha2::Sha512>(&entropy, b"mnemonic", 2048, seed.as_mut());
    let mut mini = [0u8; 32];
    mini.copy_from_slice(&seed[..32]);
    Ok(mini)
}

impl Keypair {
    /// From a 32-byte seed: the sr25519 mini secret (expanded as Bittensor does) or the
    /// ed25519 seed.
    pub fn from_seed(seed: [u8; 32], crypto: CryptoType) -> Self {
        let (public, private) = match crypto {
            CryptoType::Sr25519 => {
                let pair = match MiniSecretKey::from_bytes(&seed) {
                    Ok(mini) => mini.expand_to_keypair(ExpansionMode::Ed25519),
                    Err(_) => unreachable!("32 bytes are a mini secret"),
                };
                (pair.public.to_bytes(), pair.secret.to_bytes().to_vec())
            }
            CryptoType::Ed25519 => {
                let signing = ed25519_dalek::SigningKey::from_bytes(&seed);
                (signing.verifying_key().to_bytes(), seed.to_vec())
            }
        };
        Self { crypto, public, secret: Some(Secret { seed: Some(seed), private, phrase: None }) }
    }

    /// From a BIP39 English mnemonic, Substrate style.
    pub fn from_mnemonic(phrase: &str, crypto: CryptoType) -> Result<Self, WalletError> {
        let mut pair = Self::from_seed(mini_secret(phrase)?, crypto);
        if let Some(secret) = pair.secret.as_mut() {
            secret.phrase = Some(phrase.split_whitespace().collect::<Vec<_>>().join(" "));
        }
        Ok(pair)
    }

    /// A new random key with a `words`-word mnemonic (12, 15, 18, 21 or 24).
    pub fn generate(words: usize, crypto: CryptoType) -> Result<Self, WalletError> {
        let bytes = match words {
            12 => 16,
            15 => 20,
            18 => 24,
            21 => 28,
            24 => 32,
            _ => {
                return Err(WalletError::InvalidMnemonic(format!(
                    "{words} words: use 12, 15, 18, 21 or 24"
                )))
            }
        };
        let mut entropy = Zeroizing::new(vec![0u8; bytes]);
        getrandom::getrandom(&mut entropy)
            .map_err(|e| WalletError::InvalidMnemonic(e.to_string()))?;
        let mnemonic = bip39::Mnemonic::from_entropy_in(bip39::Language::English, &entropy)
            .map_err(|e| WalletError::InvalidMnemonic(e.to_string()))?;
        Self::from_mnemonic(&mnemonic.to_string(), crypto)
    }

    /// From the keyfile's `privateKey`: the 64-byte sr25519 secret or 32-byte ed25519 seed.
    pub fn from_private(private: &[u8], crypto: CryptoType) -> Result<Self, WalletError> {
        match crypto {
            CryptoType::Sr25519 => {
                let secret = schnorrkel::SecretKey::from_bytes(private)
                    .map_err(|e| WalletError::Corrupt(format!("privateKey: {e}")))?;
                let public = secret.to_public().to_bytes();
                Ok(Self {
                    crypto,
                    public,
                    secret: Some(Secret { seed: None, private: private.to_vec(), phrase: None }),
                })
            }
            CryptoType::Ed25519 => {
                let seed: [u8; 32] = private.try_into().map_err(|_| {
                    WalletError::Corrupt("ed25519 privateKey must be 32 bytes".into())
                })?;
                Ok(Self::from_seed(seed, crypto))
            }
        }
    }

    /// A public key alone.
    pub fn public_only(public: [u8; 32], crypto: CryptoType) -> Self {
        Self { crypto, public, secret: None }
    }

    /// From a secret URI: a mnemonic (or nothing, meaning the dev phrase) followed by
    /// `//hard` and `/soft` junctions, e.g. `//Alice` or `<phrase>//stash/1`. sr25519 only.
    pub fn from_uri(uri: &str) -> Result<Self, WalletError> {
        let bad = |why| WalletError::InvalidUri(uri.to_owned(), why);
        let (phrase, path) = match uri.find('/') {
            Some(i) => (&uri[..i], &uri[i..]),
            None => (uri, ""),
        };
        let phrase = if phrase.trim().is_empty() { DEV_PHRASE } else { phrase };
        let mut seed = Some(mini_secret(phrase)?);
        let mut pair = MiniSecretKey::from_bytes(&seed.unwrap_or_default())
            .map_err(|_| bad("bad seed"))?
            .expand_to_keypair(ExpansionMode::Ed25519);
        let mut rest = path;
        while !rest.is_empty() {
            let hard = rest.starts_with("//");
            rest = rest.trim_start_matches('/');
            let end = rest.find('/').unwrap_or(rest.len());
            let junction = &rest[..end];
            rest = &rest[end..];
            if junction.is_empty() {
                return Err(bad("empty junction"));
            }
            let code = chain_code(junction);
            if hard {
                let current = seed.ok_or(bad("a hard junction after a soft one"))?;
                let mini = MiniSecretKey::from_bytes(&current).map_err(|_| bad("bad seed"))?;
                let (derived, _) = mini.hard_derive_mini_secret_key(
                    Some(ChainCode(code)),
                    b"",
                    ExpansionMode::Ed25519,
                );
                seed = Some(derived.to_bytes());
                pair = derived.expand_to_keypair(ExpansionMode::Ed25519);
            } else {
                let (derived, _) = pair.secret.derived_key_simple(ChainCode(code), []);
                pair = derived.to_keypair();
                seed = None;
            }
        }
        let secret = Secret { seed, private: pair.secret.to_bytes().to_vec(), phrase: None };
        Ok(Self {
            crypto: CryptoType::Sr25519,
            public: pair.public.to_bytes(),
            secret: Some(secret),
        })
    }

    /// The scheme.
    pub fn crypto(&self) -> CryptoType {
        self.crypto
    }

    /// The public key.
    pub fn public(&self) -> [u8; 32] {
        self.public
    }

    /// The account id.
    pub fn account(&self) -> AccountId {
        AccountId::new(self.public)
    }

    /// The SS58 address (prefix 42).
    pub fn ss58(&self) -> String {
        self.account().to_ss58()
    }

    /// Whether the secret is present.
    pub fn has_secret(&self) -> bool {
        self.secret.is_some()
    }

    /// The mnemonic, if the key came from one.
    pub fn mnemonic(&self) -> Option<&str> {
        self.secret.as_ref().and_then(|s| s.phrase.as_deref())
    }

    /// The 32-byte seed (sr25519 mini secret or ed25519 seed), if known.
    pub fn seed(&self) -> Option<[u8; 32]> {
        self.secret.as_ref().and_then(|s| s.seed)
    }

    /// The keyfile `privateKey` bytes.
    pub fn private(&self) -> Option<&[u8]> {
        self.secret.as_ref().map(|s| s.private.as_slice())
    }

    /// Signs `message` (sr25519 with context `substrate`, or ed25519).
    pub fn sign(&self, message: &[u8]) -> Option<[u8; 64]> {
        let secret = self.secret.as_ref()?;
        match self.crypto {
            CryptoType::Sr25519 => {
                let key = schnorrkel::SecretKey::from_bytes(&secret.private).ok()?;
                let public = key.to_public();
                Some(key.sign_simple(SIGNING_CONTEXT, message, &public).to_bytes())
            }
            CryptoType::Ed25519 => {
                let seed: [u8; 32] = secret.private.as_slice().try_into().ok()?;
                use ed25519_dalek::Signer;
                Some(ed25519_dalek::SigningKey::from_bytes(&seed).sign(message).to_bytes())
            }
        }
    }

    /// Whether `signature` is this key's signature of `message`.
    pub fn verify(&self, message: &[u8], signature: &[u8; 64]) -> bool {
        match self.crypto {
            CryptoType::Sr25519 => {
                let (Ok(public), Ok(sig)) = (
                    schnorrkel::PublicKey::from_bytes(&self.public),
                    schnorrkel::Signature::from_bytes(signature),
                ) else {
                    return false;
                };
                public.verify_simple(SIGNING_CONTEXT, message, &sig).is_ok()
            }
            CryptoType::Ed25519 => {
                let Ok(public) = ed25519_dalek::VerifyingKey::from_bytes(&self.public) else {
                    return false;
                };
                public
                    .verify_strict(message, &ed25519_dalek::Signature::from_bytes(signature))
                    .is_ok()
            }
        }
    }
}

/// A junction's chain code: the SCALE encoding of the number or text, padded to 32 bytes
/// (hashed with BLAKE2b-256 when longer), as Substrate derives it.
fn chain_code(junction: &str) -> [u8; 32] {
    let encoded = match junction.parse::<u64>() {
        Ok(n) => n.encode(),
        Err(_) => junction.encode(),
    };
    let mut code = [0u8; 32];
    if encoded.len() > 32 {
        use blake2::{digest::consts::U32, Blake2b, Digest};
        code.copy_from_slice(&Blake2b::<U32>::digest(&encoded));
    } else {
        code[..encoded.len()].copy_from_slice(&encoded);
    }
    code
}
