//! `agora keys new|show`: the ed25519 key that signs lineage records.

use anyhow::{anyhow, Result};
use card::keys::{self, Keys};

use crate::card_args::{KeysArgs, KeysCommand};

pub fn key_dir() -> Result<std::path::PathBuf> {
    Ok(keys::key_dir(store::Store::open_default()?.root()))
}

/// The signing key, made on first use (so convert/quantize can always sign).
pub fn load_or_create() -> Result<Keys> {
    let dir = key_dir()?;
    match Keys::load(&dir)? {
        Some(k) => Ok(k),
        None => {
            let k = Keys::generate(&dir, false)?;
            eprintln!("agora: made a signing key for lineage records: {} (fingerprint {})", k.path.display(), k.fingerprint());
            Ok(k)
        }
    }
}

pub fn run(a: &KeysArgs) -> Result<()> {
    let dir = key_dir()?;
    match &a.command {
        KeysCommand::New { force } => {
            let k = Keys::generate(&dir, *force)?;
            println!("new key {} (mode 0600)\npublic key  {}\nfingerprint {}", k.path.display(), k.public_hex(), k.fingerprint());
        }
        KeysCommand::Show { json } => {
            let k = Keys::load(&dir)?.ok_or_else(|| anyhow!("no key in {}; make one with `agora keys new`", dir.display()))?;
            if *json {
                println!("{}", serde_json::json!({"path": k.path, "public_key": k.public_hex(), "fingerprint": k.fingerprint(), "algorithm": "ed25519"}));
            } else {
                println!("key         {}\npublic key  {}\nfingerprint {}", k.path.display(), k.public_hex(), k.fingerprint());
            }
        }
    }
    Ok(())
}
