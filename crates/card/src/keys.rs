//! The ed25519 signing key: `$AGORA_HOME/keys/agora_ed25519` (hex seed, mode 0600) and `.pub`.

use std::path::{Path, PathBuf};

use ed25519_dalek::{SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::error::{io, CardError, Result};
use crate::front::write_atomic;

pub const KEY_FILE: &str = "agora_ed25519";

pub struct Keys {
    pub signing: SigningKey,
    pub path: PathBuf,
}

pub fn key_dir(agora_home: &Path) -> PathBuf {
    agora_home.join("keys")
}

/// Short, stable name for a public key: the first 16 hex digits of its sha256.
pub fn fingerprint(pk: &VerifyingKey) -> String {
    hex(&Sha256::digest(pk.as_bytes()))[..16].to_string()
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub fn unhex(s: &str) -> Option<Vec<u8>> {
    let s = s.trim();
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

impl Keys {
    pub fn load(dir: &Path) -> Result<Option<Keys>> {
        let path = dir.join(KEY_FILE);
        if !path.exists() {
            return Ok(None);
        }
        let bad = |msg: &str| CardError::Key { path: path.display().to_string(), msg: msg.into() };
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).map_err(io(&path))?.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(bad(&format!("is readable by others (mode {mode:o}); run `chmod 600 {}`", path.display())));
            }
        }
        let text = std::fs::read_to_string(&path).map_err(io(&path))?;
        let seed: [u8; 32] = unhex(&text).and_then(|v| v.try_into().ok()).ok_or_else(|| bad("is not a 64-digit hex ed25519 seed; move it away and run `agora keys new`"))?;
        Ok(Some(Keys { signing: SigningKey::from_bytes(&seed), path }))
    }

    /// Makes a new key; refuses to replace an existing one unless `force`.
    pub fn generate(dir: &Path, force: bool) -> Result<Keys> {
        let path = dir.join(KEY_FILE);
        if path.exists() && !force {
            return Err(CardError::Key { path: path.display().to_string(), msg: "already exists; `agora keys show` prints it (use --force to replace it, which orphans old signatures)".into() });
        }
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let mut seed = [0u8; 32];
        getrandom::getrandom(&mut seed).map_err(|e| CardError::Key { path: path.display().to_string(), msg: format!("no OS randomness: {e}") })?;
        let signing = SigningKey::from_bytes(&seed);
        // Create the temp file 0600 before any secret is written into it.
        let tmp = dir.join(format!(".{KEY_FILE}.tmp-{}", std::process::id()));
        {
            use std::io::Write;
            let mut o = std::fs::OpenOptions::new();
            o.write(true).create(true).truncate(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
            let mut f = o.open(&tmp).map_err(io(&tmp))?;
            f.write_all(hex(&seed).as_bytes()).map_err(io(&tmp))?;
        }
        std::fs::rename(&tmp, &path).map_err(io(&path))?;
        write_atomic(&dir.join(format!("{KEY_FILE}.pub")), hex(signing.verifying_key().as_bytes()).as_bytes())?;
        Ok(Keys { signing, path })
    }

    pub fn public_hex(&self) -> String {
        hex(self.signing.verifying_key().as_bytes())
    }

    pub fn fingerprint(&self) -> String {
        fingerprint(&self.signing.verifying_key())
    }
}
