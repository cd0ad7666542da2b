//! Signed upload URLs. The LFS client PUTs file bytes to the `href` the batch call returned, without
//! an Authorization header (on the Hub it is a presigned S3 URL), so the URL itself carries a
//! short-lived HMAC over what may be uploaded: repo, oid, size, user and expiry.

use std::path::Path;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::{HubError, Result};
use crate::hash::{hex, random_bytes};

type HmacSha256 = Hmac<Sha256>;

/// The server's signing key: `$AGORA_HUB_SECRET` when set (servers behind one load balancer share it),
/// else `<data>/upload-secret`, created once (atomically) and kept.
pub fn load_or_create_secret(dir: &Path) -> Result<Vec<u8>> {
    if let Some(k) = std::env::var_os("AGORA_HUB_SECRET") {
        let k = k.into_encoded_bytes();
        if k.len() < 32 {
            return Err(HubError::BadRequest("AGORA_HUB_SECRET is shorter than 32 bytes; use a long random string (e.g. openssl rand -hex 32)".into()));
        }
        return Ok(k);
    }
    let path = dir.join("upload-secret");
    match std::fs::read(&path) {
        Ok(k) if k.len() >= 32 => return Ok(k),
        Ok(_) => return Err(HubError::Internal(format!("{} is shorter than 32 bytes; delete it to make a new one", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e.into()),
    }
    let key = random_bytes(32);
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut tmp, &key)?;
    tmp.as_file().sync_all()?;
    // persist_noclobber: two servers starting at once agree on whichever key landed first.
    match tmp.persist_noclobber(&path) {
        Ok(_) => Ok(key),
        Err(_) => Ok(std::fs::read(&path)?),
    }
}

pub fn sign(key: &[u8], msg: &str) -> String {
    let mut m = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    m.update(msg.as_bytes());
    hex(&m.finalize().into_bytes())
}

pub fn verify(key: &[u8], msg: &str, sig_hex: &str) -> bool {
    let Some(sig) = unhex(sig_hex) else { return false };
    let mut m = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    m.update(msg.as_bytes());
    m.verify_slice(&sig).is_ok()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() & 1 == 1 {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn signatures_bind_the_message() {
        let k = b"0123456789abcdef0123456789abcdef";
        let s = super::sign(k, "a");
        assert!(super::verify(k, "a", &s));
        assert!(!super::verify(k, "b", &s));
        assert!(!super::verify(b"another key another key another!", "a", &s));
        assert!(!super::verify(k, "a", "zz"));
    }
}
