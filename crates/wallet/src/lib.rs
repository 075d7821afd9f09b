//! Bittensor-compatible wallets: keys, mnemonics, keyfiles and their `$NACL` encryption.
//!
//! Byte-compatible with `bittensor-wallet` 4.x (`sdk-wire-protocol.md` §2): the same
//! mnemonic gives the same SS58 address, keyfiles are the same JSON, and each side opens
//! the other's password-encrypted coldkey.
//!
//! * [`Keypair`]: sr25519 (default) or ed25519 keys from a mnemonic (Substrate style:
//!   PBKDF2 over the BIP39 *entropy*), a seed, a keyfile, or a dev URI such as `//Alice`.
//! * [`keyfile`]: the keyfile JSON and `$NACL` encryption (Argon2i, XSalsa20-Poly1305).
//! * [`Wallet`]: the `~/.bittensor/wallets/<name>/{coldkey,coldkeypub.txt,hotkeys/<hotkey>}`
//!   layout.
//!
//! Invariants: key files are written with mode 0600 (directories 0700) by an atomic rename;
//! an existing key is never overwritten unless the caller says [`Overwrite::Allow`]; secret
//! material is zeroized on drop and never printed by `Debug`.

mod error;
pub mod keyfile;
mod keys;
mod wallet;

pub use error::WalletError;
pub use keys::{CryptoType, Keypair, DEV_PHRASE};
pub use wallet::{Overwrite, Wallet, WalletSummary};
