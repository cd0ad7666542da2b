//! Who accepted which gated license, and when: `$AGORA_HOME/acceptances.json` (atomic writes).
//! An acceptance is for one license version; a new version asks again.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{io, CardError, Result};
use crate::front::write_atomic;
use crate::kb::License;

/// Comma-separated license ids accepted by the environment (CI, test harnesses); `all` for any.
pub const ENV: &str = "AGORA_ACCEPT_LICENSES";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acceptance {
    pub license: String,
    pub version: String,
    pub user: String,
    pub at: String,
    /// How: prompt, flag, command.
    pub via: String,
}

pub fn file(home: &Path) -> PathBuf {
    home.join("acceptances.json")
}

pub fn load(home: &Path) -> Result<Vec<Acceptance>> {
    let p = file(home);
    match std::fs::read_to_string(&p) {
        Ok(t) => serde_json::from_str(&t).map_err(|e| CardError::Invalid(format!("{}: not a list of acceptances ({e}); fix or delete it", p.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(io(&p)(e)),
    }
}

pub fn is_accepted(home: &Path, l: &License) -> Result<bool> {
    Ok(load(home)?.iter().any(|a| a.license == l.id && a.version == l.version))
}

/// Whether `$AGORA_ACCEPT_LICENSES` names this license.
pub fn accepted_by_env(l: &License) -> bool {
    std::env::var(ENV).is_ok_and(|v| v.split(',').map(str::trim).any(|x| x.eq_ignore_ascii_case(&l.id) || x == "all"))
}

pub fn current_user() -> String {
    ["USER", "LOGNAME", "USERNAME"].iter().find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty())).unwrap_or_else(|| "unknown".into())
}

/// Records an acceptance of the license's current version (replacing an older one by the same user).
pub fn record(home: &Path, l: &License, at: &str, via: &str) -> Result<Acceptance> {
    std::fs::create_dir_all(home).map_err(io(home))?;
    let mut all = load(home)?;
    let a = Acceptance { license: l.id.clone(), version: l.version.clone(), user: current_user(), at: at.into(), via: via.into() };
    all.retain(|x| !(x.license == a.license && x.user == a.user));
    all.push(a.clone());
    write_atomic(&file(home), serde_json::to_string_pretty(&all).expect("serializes").as_bytes())?;
    Ok(a)
}
