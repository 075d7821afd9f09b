//! `tao wallet`: create, regenerate and list Bittensor-compatible wallets.
//!
//! A new key's recovery phrase is shown once, when it is made (its only backup), unless the
//! user acknowledges going without one (`--no-backup`); no other secret is ever printed; no
//! command waits for input unless stdin is a terminal; an existing key is never replaced
//! without `--overwrite`, and `create` refuses before writing anything if either key exists.

use crate::exit::Failure;
use clap::{Args, Subcommand};
use serde_json::json;
use std::{io::IsTerminal, path::PathBuf};
use tao_wallet::{CryptoType, Keypair, Overwrite, Wallet, WalletError};

/// Which wallet (flag, then environment, then default — as btcli).
#[derive(Debug, Args, Clone)]
pub struct WalletArgs {
    /// Wallets directory [env: BT_WALLET_PATH] [default: ~/.bittensor/wallets].
    #[arg(
        long = "wallet-path",
        alias = "wallet.path",
        global = true,
        help_heading = "Global options"
    )]
    path: Option<PathBuf>,
    /// Wallet name [env: BT_WALLET_NAME] [default: default].
    #[arg(long = "wallet-name", alias = "name", global = true, help_heading = "Global options")]
    name: Option<String>,
    /// Hotkey name [env: BT_WALLET_HOTKEY] [default: default].
    #[arg(
        long = "hotkey",
        alias = "wallet-hotkey",
        global = true,
        help_heading = "Global options"
    )]
    hotkey: Option<String>,
}

impl WalletArgs {
    /// The wallet these arguments name.
    pub fn wallet(&self) -> Wallet {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        Wallet::new(
            self.path.clone().unwrap_or_else(Wallet::default_path),
            self.name.clone().or_else(|| env("BT_WALLET_NAME")).unwrap_or_else(|| "default".into()),
            self.hotkey
                .clone()
                .or_else(|| env("BT_WALLET_HOTKEY"))
                .unwrap_or_else(|| "default".into()),
        )
    }
}

/// How a new or existing key's password is obtained.
#[derive(Debug, Args, Clone, Default)]
pub struct PasswordArgs {
    /// Store the coldkey unencrypted (not recommended outside tests and local networks).
    #[arg(long)]
    no_password: bool,
    /// Read the password from this environment variable instead of prompting.
    #[arg(long, value_name = "VAR")]
    password_env: Option<String>,
}

impl PasswordArgs {
    /// The password to open an existing key, if it is encrypted.
    pub(crate) fn for_existing_key(&self, wallet: &Wallet) -> Result<Option<String>, Failure> {
        if !wallet.coldkey_encrypted().map_err(wallet_failure)? {
            return Ok(None);
        }
        match &self.password_env {
            Some(var) => read_env(var).map(Some),
            None => prompt("Coldkey password: ").map(Some),
        }
    }

    /// The password for a new key: `None` when unencrypted.
    fn for_new_key(&self) -> Result<Option<String>, Failure> {
        if self.no_password {
            return Ok(None);
        }
        if let Some(var) = &self.password_env {
            return read_env(var).map(Some);
        }
        let first = prompt("Password for the new coldkey: ")?;
        let second = prompt("Repeat the password: ")?;
        if first != second {
            return Err(Failure::user("the passwords differ"));
        }
        if first.is_empty() {
            return Err(Failure::user("empty password")
                .hint("pass --no-password to store the key unencrypted"));
        }
        Ok(Some(first))
    }
}

fn read_env(var: &str) -> Result<String, Failure> {
    std::env::var(var).map_err(|_| Failure::user(format!("environment variable {var} is not set")))
}

fn prompt(text: &str) -> Result<String, Failure> {
    if !std::io::stdin().is_terminal() {
        return Err(Failure::user("a password is needed but stdin is not a terminal")
            .hint("pass --password-env VAR (or --no-password for an unencrypted key)"));
    }
    rpassword::prompt_password(text)
        .map_err(|e| Failure::user(format!("cannot read the password: {e}")))
}

/// Whether `path` is a hotkey file (`<wallet>/hotkeys/<name>`), as opposed to a coldkey's.
fn is_hotkey_file(path: &std::path::Path) -> bool {
    path.parent().and_then(|p| p.file_name()).is_some_and(|n| n == "hotkeys")
}

/// A wallet error as a user-facing failure.
pub fn wallet_failure(error: WalletError) -> Failure {
    let hint = match &error {
        WalletError::KeyExists(_) => Some("pass --overwrite to replace it"),
        WalletError::NotFound(path) if is_hotkey_file(path) => {
            let name = path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
            let wallet = path
                .parent()
                .and_then(|p| p.parent())
                .and_then(|p| p.file_name())
                .map(|n| n.to_string_lossy())
                .unwrap_or_default();
            return Failure::user(error.to_string()).hint(format!(
                "add the hotkey to the existing wallet with `tao wallet new-hotkey --wallet-name {wallet} --hotkey {name}` (the coldkey stays as it is), or choose another with --hotkey"
            ));
        }
        WalletError::NotFound(_) => {
            Some("create it with `tao wallet create`, or choose another with --wallet-name")
        }
        WalletError::WrongPassword => {
            Some("check the password (or the variable given to --password-env)")
        }
        WalletError::PasswordRequired => Some("pass --password-env VAR or run in a terminal"),
        _ => None,
    };
    let failure = Failure::user(error.to_string());
    match hint {
        Some(hint) => failure.hint(hint),
        None => failure,
    }
}

/// `tao wallet` subcommands.
#[derive(Debug, Subcommand)]
pub enum WalletCommand {
    /// Create a coldkey and a hotkey.
    Create(CreateArgs),
    /// Create a coldkey.
    NewColdkey(CreateArgs),
    /// Create a hotkey.
    NewHotkey(CreateArgs),
    /// Restore a coldkey from its mnemonic or seed.
    RegenColdkey(RegenArgs),
    /// Restore only the public coldkey from an address.
    RegenColdkeypub(RegenPubArgs),
    /// Restore a hotkey from its mnemonic or seed.
    RegenHotkey(RegenArgs),
    /// List the wallets and their hotkeys.
    List,
    /// Show a wallet's addresses; `--unlock` also decrypts the coldkey (checks the password).
    Show(ShowArgs),
    /// The coldkey's free balance and stakes (asks the node).
    Balance(crate::chain::BalanceArgs),
    /// The wallet on the chain: balance, stakes, and every hotkey's neurons on every subnet.
    Overview,
    /// Send TAO from the coldkey.
    Transfer(crate::chain::TransferArgs),
}

/// Arguments of `show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Decrypt the coldkey to check the password (prompts, or --password-env).
    #[arg(long)]
    unlock: bool,
    #[command(flatten)]
    password: PasswordArgs,
}

/// Arguments of the create commands.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Mnemonic length.
    #[arg(long, default_value_t = 12, value_parser = clap::value_parser!(u8).range(12..=24))]
    words: u8,
    /// Replace existing keys.
    #[arg(long)]
    overwrite: bool,
    /// Print the new recovery phrase (the default; kept for compatibility).
    #[arg(long, hide = true, conflicts_with = "no_backup")]
    show_mnemonic: bool,
    /// Do not print the new recovery phrase: the key then has no backup, and is lost with
    /// this machine's files (for throwaway keys on local networks).
    #[arg(long)]
    no_backup: bool,
    #[command(flatten)]
    password: PasswordArgs,
}

/// Arguments of the regen commands.
#[derive(Debug, Args)]
pub struct RegenArgs {
    /// The recovery phrase.
    #[arg(long, conflicts_with = "seed")]
    mnemonic: Option<String>,
    /// The 32-byte seed as 0x-hex.
    #[arg(long, conflicts_with = "uri")]
    seed: Option<String>,
    /// A development key URI such as `//Alice` (sr25519; for local chains).
    #[arg(long, conflicts_with = "mnemonic")]
    uri: Option<String>,
    /// Replace existing keys.
    #[arg(long)]
    overwrite: bool,
    #[command(flatten)]
    password: PasswordArgs,
}

/// Arguments of `regen-coldkeypub`.
#[derive(Debug, Args)]
pub struct RegenPubArgs {
    /// The coldkey's SS58 address.
    #[arg(long)]
    ss58: String,
    /// Replace an existing public key.
    #[arg(long)]
    overwrite: bool,
}

fn overwrite(flag: bool) -> Overwrite {
    if flag {
        Overwrite::Allow
    } else {
        Overwrite::Deny
    }
}

/// `create` without `--overwrite` where a key already exists: refused before anything is
/// written, with the command that adds only what is missing.
fn refuse_existing(wallet: &Wallet, args: &CreateArgs) -> Result<(), Failure> {
    if args.overwrite {
        return Ok(());
    }
    let cold = wallet.coldkey_path().exists() || wallet.coldkeypub_path().exists();
    let hot = wallet.hotkey_path().exists();
    let name = &wallet.name;
    match (cold, hot) {
        (false, false) => Ok(()),
        (true, false) => Err(Failure::user(format!(
            "wallet `{name}` already has a coldkey; nothing was written"
        ))
        .hint(format!(
            "to add the hotkey `{}`: tao wallet new-hotkey --wallet-name {name} --hotkey {} (--overwrite would replace the coldkey, lost unless you have its recovery phrase)",
            wallet.hotkey, wallet.hotkey
        ))),
        (false, true) => Err(Failure::user(format!(
            "wallet `{name}` already has a hotkey `{}`; nothing was written",
            wallet.hotkey
        ))
        .hint(format!("to add a coldkey: tao wallet new-coldkey --wallet-name {name}"))),
        (true, true) => Err(Failure::user(format!(
            "wallet `{name}` already exists with hotkey `{}`; nothing was written",
            wallet.hotkey
        ))
        .hint("choose another --wallet-name; --overwrite replaces both keys, lost unless you have their recovery phrases")),
    }
}

/// Refuses a phrase with a word outside the BIP39 English list, naming the word by its
/// position counted from 1.
fn check_words(phrase: &str) -> Result<(), Failure> {
    let words: Vec<&str> = phrase.split_whitespace().collect();
    for (i, word) in words.iter().enumerate() {
        if bip39::Language::English.find_word(word).is_none() {
            return Err(Failure::user(format!(
                "word {} of {} in the recovery phrase, {word:?}, is not a BIP39 English word",
                i + 1,
                words.len()
            ))
            .hint("check its spelling (words are lower case)"));
        }
    }
    Ok(())
}

fn key_from(args: &RegenArgs) -> Result<Keypair, Failure> {
    match (&args.mnemonic, &args.seed) {
        (Some(phrase), _) => {
            check_words(phrase)?;
            Keypair::from_mnemonic(phrase, CryptoType::Sr25519).map_err(wallet_failure)
        }
        (None, Some(seed)) => {
            let seed: [u8; 32] = tao_primitives::hex::decode(seed)
                .ok()
                .and_then(|b| b.try_into().ok())
                .ok_or_else(|| Failure::user("--seed must be 32 bytes of 0x-hex"))?;
            Ok(Keypair::from_seed(seed, CryptoType::Sr25519))
        }
        (None, None) => match &args.uri {
            Some(uri) => Keypair::from_uri(uri).map_err(wallet_failure),
            None => Err(Failure::user("give --mnemonic, --seed or --uri")),
        },
    }
}

/// Runs a `tao wallet` command.
pub fn run(command: WalletCommand, wallet: &Wallet, json: bool) -> Result<(), Failure> {
    let report = |what: &str,
                  cold: Option<&Keypair>,
                  hot: Option<&Keypair>,
                  mnemonics: Vec<(&str, String)>| {
        if json {
            let mut doc = json!({"wallet": wallet.name, "path": wallet.path.display().to_string()});
            if let Some(c) = cold {
                doc["coldkey"] = json!(c.ss58());
            }
            if let Some(h) = hot {
                doc["hotkey"] = json!(h.ss58());
                doc["hotkey_name"] = json!(wallet.hotkey);
            }
            for (k, m) in &mnemonics {
                doc[format!("{k}_mnemonic")] = json!(m);
            }
            println!("{doc}");
        } else {
            println!("{what} wallet `{}` in {}", wallet.name, wallet.path.display());
            if let Some(c) = cold {
                println!("  coldkey  {}", c.ss58());
            }
            if let Some(h) = hot {
                println!("  hotkey   {} ({})", h.ss58(), wallet.hotkey);
            }
            for (k, m) in &mnemonics {
                println!("  {k} recovery phrase: {m}");
            }
        }
    };
    let phrases = |args: &CreateArgs,
                   keys: &[(&'static str, &Keypair)]|
     -> Vec<(&'static str, String)> {
        // On stderr, also under --json (whose document is on stdout).
        if args.no_backup {
            eprintln!(
                "warning: the recovery phrase was not shown (--no-backup): this key has no backup"
            );
            return Vec::new();
        }
        eprintln!(
            "Write the recovery phrase down and keep it offline: it is shown only this once, and anyone who has it controls the key."
        );
        keys.iter().filter_map(|(k, key)| key.mnemonic().map(|m| (*k, m.to_owned()))).collect()
    };
    match command {
        WalletCommand::Create(args) => {
            refuse_existing(wallet, &args)?;
            let password = args.password.for_new_key()?;
            let cold = wallet
                .create_coldkey(
                    usize::from(args.words),
                    password.as_deref(),
                    overwrite(args.overwrite),
                )
                .map_err(wallet_failure)?;
            let hot = wallet
                .create_hotkey(usize::from(args.words), overwrite(args.overwrite))
                .map_err(wallet_failure)?;
            let shown = phrases(&args, &[("coldkey", &cold), ("hotkey", &hot)]);
            report("created", Some(&cold), Some(&hot), shown);
        }
        WalletCommand::NewColdkey(args) => {
            let password = args.password.for_new_key()?;
            let cold = wallet
                .create_coldkey(
                    usize::from(args.words),
                    password.as_deref(),
                    overwrite(args.overwrite),
                )
                .map_err(wallet_failure)?;
            let shown = phrases(&args, &[("coldkey", &cold)]);
            report("new coldkey for", Some(&cold), None, shown);
        }
        WalletCommand::NewHotkey(args) => {
            let hot = wallet
                .create_hotkey(usize::from(args.words), overwrite(args.overwrite))
                .map_err(wallet_failure)?;
            let shown = phrases(&args, &[("hotkey", &hot)]);
            report("new hotkey for", None, Some(&hot), shown);
        }
        WalletCommand::RegenColdkey(args) => {
            let key = key_from(&args)?;
            let password = args.password.for_new_key()?;
            wallet
                .set_coldkey(&key, password.as_deref(), overwrite(args.overwrite))
                .map_err(wallet_failure)?;
            report("restored coldkey of", Some(&key), None, Vec::new());
        }
        WalletCommand::RegenColdkeypub(args) => {
            let id = tao_primitives::AccountId::from_ss58(&args.ss58)
                .map_err(|e| Failure::user(format!("--ss58 {}: {e}", args.ss58)))?;
            let key = Keypair::public_only(*id.as_bytes(), CryptoType::Sr25519);
            wallet.set_coldkeypub(&key, overwrite(args.overwrite)).map_err(wallet_failure)?;
            report("restored public coldkey of", Some(&key), None, Vec::new());
        }
        WalletCommand::RegenHotkey(args) => {
            let key = key_from(&args)?;
            wallet.set_hotkey(&key, None, overwrite(args.overwrite)).map_err(wallet_failure)?;
            report("restored hotkey of", None, Some(&key), Vec::new());
        }
        WalletCommand::Show(args) => {
            let coldkeypub = wallet.coldkeypub().map_err(wallet_failure)?;
            let hot = wallet.hotkey_pair(None).ok();
            let unlocked = if args.unlock {
                let password = args.password.for_existing_key(wallet)?;
                let cold = wallet.coldkey(password.as_deref()).map_err(wallet_failure)?;
                if cold.ss58() != coldkeypub.ss58() {
                    return Err(Failure::user("the coldkey does not match coldkeypub.txt")
                        .hint("regenerate coldkeypub.txt"));
                }
                Some(cold)
            } else {
                None
            };
            if json {
                println!(
                    "{}",
                    json!({"wallet": wallet.name, "coldkey": coldkeypub.ss58(),
                           "hotkey": hot.as_ref().map(Keypair::ss58), "hotkey_name": wallet.hotkey,
                           "unlocked": unlocked.is_some()})
                );
            } else {
                report("", Some(&coldkeypub), hot.as_ref(), Vec::new());
                if unlocked.is_some() {
                    println!("  coldkey unlocked: the password is right");
                }
            }
        }
        WalletCommand::Balance(_) | WalletCommand::Transfer(_) | WalletCommand::Overview => {
            return Err(Failure::user(
                "this wallet command needs a node; it runs through the chain commands",
            ));
        }
        WalletCommand::List => {
            let wallets = Wallet::list(&wallet.path).map_err(wallet_failure)?;
            if json {
                let doc: Vec<_> = wallets
                    .iter()
                    .map(|w| {
                        json!({"name": w.name, "coldkey": w.coldkey,
                               "hotkeys": w.hotkeys.iter().map(|(n, a)| json!({"name": n, "hotkey": a})).collect::<Vec<_>>()})
                    })
                    .collect();
                println!("{}", json!({"path": wallet.path.display().to_string(), "wallets": doc}));
            } else if wallets.is_empty() {
                println!(
                    "no wallets in {} (create one with `tao wallet create`)",
                    wallet.path.display()
                );
            } else {
                println!("wallets in {}", wallet.path.display());
                for w in wallets {
                    println!(
                        "  {}  {}",
                        w.name,
                        w.coldkey.as_deref().unwrap_or("(no coldkeypub.txt)")
                    );
                    for (name, address) in w.hotkeys {
                        println!("    └ {name}  {}", address.as_deref().unwrap_or("(unreadable)"));
                    }
                }
            }
        }
    }
    Ok(())
}
