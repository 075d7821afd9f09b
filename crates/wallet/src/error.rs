//! Wallet errors, each with what to do about it.

use std::path::PathBuf;

/// Why a wallet operation failed.
#[derive(Debug, thiserror::Error)]
pub enum WalletError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The key file does not exist.
    #[error("no key at {0} (create one with `tao wallet create` or regenerate it)")]
    NotFound(PathBuf),
    /// Refusing to overwrite an existing key.
    #[error("a key already exists at {0}; pass --overwrite to replace it (the old key is lost unless you have its mnemonic)")]
    KeyExists(PathBuf),
    /// The password does not decrypt the key.
    #[error("wrong password (the key could not be decrypted)")]
    WrongPassword,
    /// The key is encrypted and no password was given.
    #[error("the key is encrypted: a password is needed")]
    PasswordRequired,
    /// The file is not a keyfile.
    #[error("not a valid keyfile: {0}")]
    Corrupt(String),
    /// An encryption this implementation does not read.
    #[error(
        "the key uses the legacy {0} encryption; open it with the Python wallet and re-save it"
    )]
    UnsupportedEncryption(&'static str),
    /// The mnemonic is not a valid BIP39 English phrase.
    #[error("invalid mnemonic: {0}")]
    InvalidMnemonic(String),
    /// A secret URI that cannot be derived.
    #[error("invalid secret URI {0:?}: {1}")]
    InvalidUri(String, &'static str),
    /// The key has no secret part (a public-only keyfile).
    #[error("the key at {0} holds no secret (public key only)")]
    PublicOnly(PathBuf),
}
