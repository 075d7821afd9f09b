//! Keyfiles: the JSON a key is stored as, and its `$NACL` password encryption.

use crate::{CryptoType, Keypair, WalletError};
use crypto_secretbox::{aead::Aead, KeyInit, XSalsa20Poly1305};
use serde_json::{json, Map, Value};
use zeroize::Zeroizing;

/// Prefix of an encrypted keyfile.
pub const NACL_PREFIX: &[u8] = b"$NACL";
/// The fixed Argon2 salt of bittensor-wallet.
const SALT: [u8; 16] = [
    0x13, 0x71, 0x83, 0xdf, 0xf1, 0x5a, 0x09, 0xbc, 0x9c, 0x90, 0xb5, 0x51, 0x87, 0x39, 0xe9, 0xb1,
];
/// libsodium's `OPSLIMIT_SENSITIVE` and `MEMLIMIT_SENSITIVE` (512 MiB).
const OPS_LIMIT: u32 = 8;
const MEM_LIMIT_KIB: u32 = 512 * 1024;

use tao_primitives::hex::encode as hex;

fn unhex(text: &str) -> Result<Vec<u8>, WalletError> {
    tao_primitives::hex::decode(text).map_err(|e| WalletError::Corrupt(e.to_string()))
}

/// The keyfile JSON of a key (with its secret parts if it has them).
pub fn to_json(key: &Keypair) -> Zeroizing<String> {
    let public = hex(&key.public());
    let mut map = Map::new();
    map.insert("accountId".into(), json!(public));
    map.insert("publicKey".into(), json!(public));
    map.insert("ss58Address".into(), json!(key.ss58()));
    map.insert("cryptoType".into(), json!(key.crypto().number()));
    if let Some(private) = key.private() {
        map.insert("privateKey".into(), json!(hex(private)));
    }
    if let Some(seed) = key.seed() {
        map.insert("secretSeed".into(), json!(hex(&seed)));
    }
    if let Some(phrase) = key.mnemonic() {
        map.insert("secretPhrase".into(), json!(phrase));
    }
    Zeroizing::new(Value::Object(map).to_string())
}

/// The public keyfile JSON (`coldkeypub.txt`, `<hotkey>pub.txt`).
pub fn to_public_json(key: &Keypair) -> String {
    let public = hex(&key.public());
    json!({"accountId": public, "publicKey": public, "ss58Address": key.ss58(), "cryptoType": key.crypto().number()})
        .to_string()
}

/// Reads keyfile JSON: `secretPhrase`, else `secretSeed`, else `privateKey`, else the public
/// key (`publicKey`/`accountId`/`ss58Address`). `cryptoType` defaults to sr25519.
pub fn from_json(bytes: &[u8]) -> Result<Keypair, WalletError> {
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| WalletError::Corrupt(format!("not JSON: {e}")))?;
    let map = value.as_object().ok_or_else(|| WalletError::Corrupt("not a JSON object".into()))?;
    let field = |k: &str| map.get(k).and_then(Value::as_str).filter(|s| !s.is_empty());
    let crypto = match map.get("cryptoType") {
        None | Some(Value::Null) => CryptoType::Sr25519,
        Some(v) => v
            .as_u64()
            .and_then(CryptoType::from_number)
            .ok_or_else(|| WalletError::Corrupt("cryptoType".into()))?,
    };
    if let Some(phrase) = field("secretPhrase") {
        return Keypair::from_mnemonic(phrase, crypto);
    }
    if let Some(seed) = field("secretSeed") {
        let bytes = unhex(seed)?;
        let seed: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| WalletError::Corrupt("secretSeed must be 32 bytes".into()))?;
        return Ok(Keypair::from_seed(seed, crypto));
    }
    if let Some(private) = field("privateKey") {
        return Keypair::from_private(&unhex(private)?, crypto);
    }
    if let Some(public) = field("publicKey").or_else(|| field("accountId")) {
        let bytes = unhex(public)?;
        let public: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| WalletError::Corrupt("publicKey must be 32 bytes".into()))?;
        return Ok(Keypair::public_only(public, crypto));
    }
    if let Some(address) = field("ss58Address") {
        let id = tao_primitives::AccountId::from_ss58(address)
            .map_err(|e| WalletError::Corrupt(e.to_string()))?;
        return Ok(Keypair::public_only(*id.as_bytes(), crypto));
    }
    Err(WalletError::Corrupt("no key in the keyfile".into()))
}

/// Whether keyfile bytes are encrypted (any known scheme).
pub fn is_encrypted(bytes: &[u8]) -> bool {
    bytes.starts_with(NACL_PREFIX)
        || bytes.starts_with(b"$ANSIBLE_VAULT")
        || bytes.starts_with(b"gAAAAA")
}

fn derive_key(password: &str) -> Result<Zeroizing<[u8; 32]>, WalletError> {
    let params = argon2::Params::new(MEM_LIMIT_KIB, OPS_LIMIT, 1, Some(32))
        .map_err(|e| WalletError::Corrupt(e.to_string()))?;
    let argon = argon2::Argon2::new(argon2::Algorithm::Argon2i, argon2::Version::V0x13, params);
    let mut key = Zeroizing::new([0u8; 32]);
    argon
        .hash_password_into(password.as_bytes(), &SALT, key.as_mut())
        .map_err(|e| WalletError::Corrupt(e.to_string()))?;
    Ok(key)
}

/// `$NACL ‖ nonce[24] ‖ MAC[16] ‖ ciphertext`, key = Argon2i(password, fixed salt, 8 ops, 512 MiB).
pub fn encrypt(plaintext: &[u8], password: &str) -> Result<Vec<u8>, WalletError> {
    let key = derive_key(password)?;
    let mut nonce = [0u8; 24];
    getrandom::getrandom(&mut nonce).map_err(|e| WalletError::Corrupt(e.to_string()))?;
    let cipher = XSalsa20Poly1305::new(key.as_ref().into());
    let sealed = cipher
        .encrypt(&nonce.into(), plaintext)
        .map_err(|_| WalletError::Corrupt("encryption failed".into()))?;
    let mut out = Vec::with_capacity(NACL_PREFIX.len() + 24 + sealed.len());
    out.extend_from_slice(NACL_PREFIX);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    Ok(out)
}

/// Decrypts keyfile bytes with `password`; plaintext keyfiles come back as they are.
pub fn decrypt(bytes: &[u8], password: Option<&str>) -> Result<Zeroizing<Vec<u8>>, WalletError> {
    if bytes.starts_with(b"$ANSIBLE_VAULT") {
        return Err(WalletError::UnsupportedEncryption("Ansible Vault"));
    }
    if bytes.starts_with(b"gAAAAA") {
        return Err(WalletError::UnsupportedEncryption("Fernet"));
    }
    let Some(body) = bytes.strip_prefix(NACL_PREFIX) else {
        return Ok(Zeroizing::new(bytes.to_vec()));
    };
    let password = password.ok_or(WalletError::PasswordRequired)?;
    if body.len() < 24 + 16 {
        return Err(WalletError::Corrupt("encrypted keyfile too short".into()));
    }
    let (nonce, sealed) = body.split_at(24);
    let key = derive_key(password)?;
    let cipher = XSalsa20Poly1305::new(key.as_ref().into());
    let nonce: [u8; 24] = nonce.try_into().map_err(|_| WalletError::Corrupt("nonce".into()))?;
    cipher
        .decrypt(&nonce.into(), sealed)
        .map(Zeroizing::new)
        .map_err(|_| WalletError::WrongPassword)
}

/// The password for a keyfile from the environment, as bittensor-wallet reads it:
/// `BT_PW_<path with '/' and '.' as '_', uppercased>` holds base64 of the password XOR the
/// variable's name.
pub fn password_from_env(path: &std::path::Path) -> Option<String> {
    let name = format!("BT_PW_{}", path.to_string_lossy().replace(['/', '.'], "_").to_uppercase());
    let value = std::env::var(&name).ok()?;
    let bytes = base64_decode(value.trim())?;
    let key = name.as_bytes();
    let plain: Vec<u8> = bytes.iter().enumerate().map(|(i, b)| b ^ key[i % key.len()]).collect();
    String::from_utf8(plain).ok()
}

fn base64_decode(text: &str) -> Option<Vec<u8>> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in text.bytes().filter(|c| *c != b'=') {
        let v = ALPHABET.iter().position(|a| *a == c)? as u32;
        buffer = (buffer << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    Some(out)
}
