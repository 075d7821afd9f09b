//! The wallet vectors of the Python SDK (`wallet_vectors.json`), and the on-disk layout.

use base64::Engine;
use serde_json::Value;
use tao_wallet::{keyfile, CryptoType, Keypair, Overwrite, Wallet, WalletError};

fn vectors() -> Value {
    let path =
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/spec/vectors/wallet_vectors.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("shared/ beside the repo")).unwrap()
}

fn unhex(text: &str) -> Vec<u8> {
    let text = text.trim_start_matches("0x");
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
}

/// Every mnemonic, both schemes: address, keys, seed, the wallet's signature verifies, and
/// our keyfile JSON has the same fields and values as bittensor-wallet's.
#[test]
fn mnemonics_give_the_python_wallets_keys() {
    let v = vectors();
    let message = v["message"].as_str().unwrap().as_bytes();
    let mut checked = 0;
    for (name, entry) in v["keys"].as_object().unwrap() {
        for (scheme, crypto) in [("sr25519", CryptoType::Sr25519), ("ed25519", CryptoType::Ed25519)]
        {
            let Some(e) = entry.get(scheme) else { continue };
            let key = Keypair::from_mnemonic(entry["mnemonic"].as_str().unwrap(), crypto).unwrap();
            assert_eq!(key.ss58(), e["ss58_address"].as_str().unwrap(), "{name} {scheme}");
            assert_eq!(key.public().to_vec(), unhex(e["public_key"].as_str().unwrap()));
            assert_eq!(
                key.private().unwrap().to_vec(),
                unhex(e["private_key"].as_str().unwrap()),
                "{name} {scheme}"
            );
            assert_eq!(key.seed().unwrap().to_vec(), unhex(e["secret_seed"].as_str().unwrap()));
            let signature: [u8; 64] = unhex(e["signature"].as_str().unwrap()).try_into().unwrap();
            assert!(
                key.verify(message, &signature),
                "{name} {scheme}: the Python signature verifies"
            );
            let ours = key.sign(message).unwrap();
            assert!(key.verify(message, &ours));
            let json: Value = serde_json::from_str(&keyfile::to_json(&key)).unwrap();
            assert_eq!(json, e["keyfile_json"], "{name} {scheme} keyfile");
            // And the Python keyfile reads back to the same key.
            let back = keyfile::from_json(e["keyfile_json"].to_string().as_bytes()).unwrap();
            assert_eq!(back.ss58(), key.ss58());
            checked += 1;
        }
    }
    assert!(checked >= 7, "{checked}");
    let short = Keypair::from_mnemonic("abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about", CryptoType::Sr25519).unwrap();
    let long =
        Keypair::from_mnemonic(&format!("{}art", "abandon ".repeat(23)), CryptoType::Sr25519)
            .unwrap();
    assert_eq!(short.ss58(), long.ss58(), "HMAC pads the shorter entropy: same key");
}

#[test]
fn dev_uris_match() {
    let v = vectors();
    for (uri, e) in v["uri"].as_object().unwrap() {
        let key = Keypair::from_uri(uri).unwrap();
        assert_eq!(key.ss58(), e["ss58_address"].as_str().unwrap(), "{uri}");
    }
    assert!(matches!(Keypair::from_uri("//"), Err(WalletError::InvalidUri(..))));
    assert!(Keypair::from_uri("//Alice/soft").is_ok());
}

#[test]
fn bad_mnemonics_are_refused() {
    assert!(matches!(
        Keypair::from_mnemonic("abandon abandon", CryptoType::Sr25519),
        Err(WalletError::InvalidMnemonic(_))
    ));
    let wrong_checksum = "abandon ".repeat(12);
    assert!(matches!(
        Keypair::from_mnemonic(&wrong_checksum, CryptoType::Sr25519),
        Err(WalletError::InvalidMnemonic(_))
    ));
    assert!(matches!(
        Keypair::generate(13, CryptoType::Sr25519),
        Err(WalletError::InvalidMnemonic(_))
    ));
    let twelve = Keypair::generate(12, CryptoType::Sr25519).unwrap();
    assert_eq!(twelve.mnemonic().unwrap().split(' ').count(), 12);
    let again = Keypair::from_mnemonic(twelve.mnemonic().unwrap(), CryptoType::Sr25519).unwrap();
    assert_eq!(again.ss58(), twelve.ss58());
}

/// The encrypted coldkey bittensor-wallet wrote: decrypts with its password to the right
/// key; a wrong password is refused; our encryption round-trips and has the same layout.
#[test]
fn the_python_encrypted_coldkey_decrypts() {
    let v = vectors();
    let disk = &v["wallet_on_disk"];
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(disk["files"]["vectors/coldkey"]["base64"].as_str().unwrap())
        .unwrap();
    assert!(keyfile::is_encrypted(&bytes));
    let password = disk["coldkey_password"].as_str().unwrap();
    let plain = keyfile::decrypt(&bytes, Some(password)).unwrap();
    let key = keyfile::from_json(&plain).unwrap();
    assert_eq!(key.ss58(), disk["coldkey_ss58"].as_str().unwrap());
    assert!(matches!(keyfile::decrypt(&bytes, Some("wrong")), Err(WalletError::WrongPassword)));
    assert!(matches!(keyfile::decrypt(&bytes, None), Err(WalletError::PasswordRequired)));

    let sealed = keyfile::encrypt(&plain, password).unwrap();
    assert_eq!(sealed.len(), 5 + 24 + 16 + plain.len());
    assert_eq!(&sealed[..5], b"$NACL");
    assert_eq!(keyfile::decrypt(&sealed, Some(password)).unwrap().as_slice(), plain.as_slice());
}

#[test]
fn wallet_files_are_private_and_never_silently_overwritten() {
    let dir = std::env::temp_dir().join(format!("tao-wallet-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let wallet = Wallet::new(&dir, "alice", "miner");
    let cold = Keypair::from_mnemonic(tao_wallet::DEV_PHRASE, CryptoType::Sr25519).unwrap();
    wallet.set_coldkey(&cold, None, Overwrite::Deny).unwrap();
    assert!(matches!(
        wallet.set_coldkey(&cold, None, Overwrite::Deny),
        Err(WalletError::KeyExists(_))
    ));
    wallet.set_coldkey(&cold, None, Overwrite::Allow).unwrap();
    let hot = wallet.create_hotkey(12, Overwrite::Deny).unwrap();
    assert!(matches!(wallet.create_hotkey(12, Overwrite::Deny), Err(WalletError::KeyExists(_))));
    assert_eq!(wallet.hotkey_pair(None).unwrap().ss58(), hot.ss58());
    assert_eq!(wallet.coldkey(None).unwrap().ss58(), cold.ss58());
    assert_eq!(wallet.coldkeypub().unwrap().ss58(), cold.ss58());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for path in [wallet.coldkey_path(), wallet.coldkeypub_path(), wallet.hotkey_path()] {
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600,
                "{}",
                path.display()
            );
        }
    }
    let listed = Wallet::list(&dir).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].coldkey.as_deref(), Some(cold.ss58().as_str()));
    assert_eq!(listed[0].hotkeys, vec![("miner".to_owned(), Some(hot.ss58()))]);
    assert!(matches!(
        Wallet::new(&dir, "nobody", "default").coldkey(None),
        Err(WalletError::NotFound(_))
    ));
    std::fs::remove_dir_all(&dir).unwrap();
}
