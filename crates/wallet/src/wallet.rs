//! The on-disk wallet layout of bittensor-wallet.

use crate::{keyfile, CryptoType, Keypair, WalletError};
use std::{
    fs,
    io::Write,
    path::{Path, PathBuf},
};

/// Whether a write may replace an existing key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overwrite {
    /// Refuse (the default everywhere).
    Deny,
    /// Replace it.
    Allow,
}

/// A wallet: `<path>/<name>/{coldkey, coldkeypub.txt, hotkeys/<hotkey>}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Wallet {
    /// The wallets directory.
    pub path: PathBuf,
    /// The wallet name.
    pub name: String,
    /// The hotkey name.
    pub hotkey: String,
}

/// What `list` shows of a wallet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WalletSummary {
    /// Wallet name.
    pub name: String,
    /// Coldkey address, if `coldkeypub.txt` is readable.
    pub coldkey: Option<String>,
    /// Hotkeys: name and address.
    pub hotkeys: Vec<(String, Option<String>)>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> WalletError + '_ {
    move |source| WalletError::Io { path: path.to_owned(), source }
}

/// Writes `bytes` to `path` atomically (temp file + rename), mode 0600, directories 0700.
fn write_key(path: &Path, bytes: &[u8], overwrite: Overwrite) -> Result<(), WalletError> {
    if overwrite == Overwrite::Deny && path.exists() {
        return Err(WalletError::KeyExists(path.to_owned()));
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    create_private_dir(dir)?;
    let tmp = dir.join(format!(
        ".{}.tmp",
        path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default()
    ));
    {
        let mut options = fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&tmp).map_err(io(&tmp))?;
        file.write_all(bytes).map_err(io(&tmp))?;
        file.sync_all().map_err(io(&tmp))?;
    }
    fs::rename(&tmp, path).map_err(io(path))
}

fn create_private_dir(dir: &Path) -> Result<(), WalletError> {
    if dir.exists() {
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(io(dir))
}

fn read(path: &Path) -> Result<Vec<u8>, WalletError> {
    match fs::read(path) {
        Ok(bytes) => Ok(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(WalletError::NotFound(path.to_owned()))
        }
        Err(e) => Err(WalletError::Io { path: path.to_owned(), source: e }),
    }
}

impl Wallet {
    /// A wallet handle (nothing is read or written yet).
    pub fn new(
        path: impl Into<PathBuf>,
        name: impl Into<String>,
        hotkey: impl Into<String>,
    ) -> Self {
        Self { path: path.into(), name: name.into(), hotkey: hotkey.into() }
    }

    /// The default wallets directory: `$BT_WALLET_PATH` or `~/.bittensor/wallets`.
    pub fn default_path() -> PathBuf {
        if let Ok(path) = std::env::var("BT_WALLET_PATH") {
            return expand_home(&path);
        }
        expand_home("~/.bittensor/wallets")
    }

    fn dir(&self) -> PathBuf {
        self.path.join(&self.name)
    }

    /// `<wallet>/coldkey`.
    pub fn coldkey_path(&self) -> PathBuf {
        self.dir().join("coldkey")
    }

    /// `<wallet>/coldkeypub.txt`.
    pub fn coldkeypub_path(&self) -> PathBuf {
        self.dir().join("coldkeypub.txt")
    }

    /// `<wallet>/hotkeys/<hotkey>`.
    pub fn hotkey_path(&self) -> PathBuf {
        self.dir().join("hotkeys").join(&self.hotkey)
    }

    /// `<wallet>/hotkeys/<hotkey>pub.txt`.
    pub fn hotkeypub_path(&self) -> PathBuf {
        self.dir().join("hotkeys").join(format!("{}pub.txt", self.hotkey))
    }

    /// Stores `key` as the coldkey (encrypted when a password is given) and its public part.
    pub fn set_coldkey(
        &self,
        key: &Keypair,
        password: Option<&str>,
        overwrite: Overwrite,
    ) -> Result<(), WalletError> {
        if overwrite == Overwrite::Deny {
            for path in [self.coldkey_path(), self.coldkeypub_path()] {
                if path.exists() {
                    return Err(WalletError::KeyExists(path));
                }
            }
        }
        let json = keyfile::to_json(key);
        let bytes = match password {
            Some(password) => keyfile::encrypt(json.as_bytes(), password)?,
            None => json.as_bytes().to_vec(),
        };
        write_key(&self.coldkey_path(), &bytes, overwrite)?;
        write_key(&self.coldkeypub_path(), keyfile::to_public_json(key).as_bytes(), overwrite)
    }

    /// Stores only the public coldkey (`regen-coldkeypub`).
    pub fn set_coldkeypub(&self, key: &Keypair, overwrite: Overwrite) -> Result<(), WalletError> {
        write_key(&self.coldkeypub_path(), keyfile::to_public_json(key).as_bytes(), overwrite)
    }

    /// Stores `key` as the hotkey (encrypted only when a password is given) and its public part.
    pub fn set_hotkey(
        &self,
        key: &Keypair,
        password: Option<&str>,
        overwrite: Overwrite,
    ) -> Result<(), WalletError> {
        if overwrite == Overwrite::Deny && self.hotkey_path().exists() {
            return Err(WalletError::KeyExists(self.hotkey_path()));
        }
        let json = keyfile::to_json(key);
        let bytes = match password {
            Some(password) => keyfile::encrypt(json.as_bytes(), password)?,
            None => json.as_bytes().to_vec(),
        };
        write_key(&self.hotkey_path(), &bytes, overwrite)?;
        write_key(&self.hotkeypub_path(), keyfile::to_public_json(key).as_bytes(), Overwrite::Allow)
    }

    /// A new coldkey with a `words`-word mnemonic; returns it (its mnemonic included).
    pub fn create_coldkey(
        &self,
        words: usize,
        password: Option<&str>,
        overwrite: Overwrite,
    ) -> Result<Keypair, WalletError> {
        let key = Keypair::generate(words, CryptoType::Sr25519)?;
        self.set_coldkey(&key, password, overwrite)?;
        Ok(key)
    }

    /// A new hotkey with a `words`-word mnemonic.
    pub fn create_hotkey(
        &self,
        words: usize,
        overwrite: Overwrite,
    ) -> Result<Keypair, WalletError> {
        let key = Keypair::generate(words, CryptoType::Sr25519)?;
        self.set_hotkey(&key, None, overwrite)?;
        Ok(key)
    }

    /// Reads the coldkey, decrypting it with `password` (or the `BT_PW_…` variable).
    pub fn coldkey(&self, password: Option<&str>) -> Result<Keypair, WalletError> {
        let path = self.coldkey_path();
        let bytes = read(&path)?;
        let env = if password.is_none() { keyfile::password_from_env(&path) } else { None };
        let plain = keyfile::decrypt(&bytes, password.or(env.as_deref()))?;
        let key = keyfile::from_json(&plain)?;
        if !key.has_secret() {
            return Err(WalletError::PublicOnly(path));
        }
        Ok(key)
    }

    /// Whether the coldkey file is encrypted.
    pub fn coldkey_encrypted(&self) -> Result<bool, WalletError> {
        Ok(keyfile::is_encrypted(&read(&self.coldkey_path())?))
    }

    /// The public coldkey, from `coldkeypub.txt`.
    pub fn coldkeypub(&self) -> Result<Keypair, WalletError> {
        keyfile::from_json(&read(&self.coldkeypub_path())?)
    }

    /// Reads the hotkey (decrypting it if it is encrypted and a password is given).
    pub fn hotkey_pair(&self, password: Option<&str>) -> Result<Keypair, WalletError> {
        let path = self.hotkey_path();
        let plain = keyfile::decrypt(&read(&path)?, password)?;
        keyfile::from_json(&plain)
    }

    /// Every wallet under `path`, by name.
    pub fn list(path: &Path) -> Result<Vec<WalletSummary>, WalletError> {
        let mut names: Vec<String> = match fs::read_dir(path) {
            Ok(entries) => entries
                .filter_map(Result::ok)
                .filter(|e| e.path().is_dir())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(WalletError::Io { path: path.to_owned(), source: e }),
        };
        names.sort();
        Ok(names
            .into_iter()
            .map(|name| {
                let wallet = Wallet::new(path, name.clone(), "default");
                let coldkey = wallet.coldkeypub().ok().map(|k| k.ss58());
                WalletSummary { hotkeys: wallet.hotkeys(), name, coldkey }
            })
            .collect())
    }

    /// This wallet's hotkeys, by name, with their addresses where readable.
    pub fn hotkeys(&self) -> Vec<(String, Option<String>)> {
        let mut hotkeys: Vec<(String, Option<String>)> = fs::read_dir(self.dir().join("hotkeys"))
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| !n.ends_with("pub.txt") && !n.starts_with('.'))
                    .map(|n| {
                        let key = Wallet { hotkey: n.clone(), ..self.clone() };
                        let address = key.hotkey_pair(None).ok().map(|k| k.ss58());
                        (n, address)
                    })
                    .collect()
            })
            .unwrap_or_default();
        hotkeys.sort();
        hotkeys
    }
}

/// `~` at the start means `$HOME`.
fn expand_home(path: &str) -> PathBuf {
    match (path.strip_prefix('~'), std::env::var("HOME")) {
        (Some(rest), Ok(home)) => PathBuf::from(format!("{home}{rest}")),
        _ => PathBuf::from(path),
    }
}
