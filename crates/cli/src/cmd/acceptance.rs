//! Gated licenses (gemma, llama*) at run time: accepted once per $AGORA_HOME (asked on a terminal,
//! or `--accept-license`, or `agora license accept ID`), or by `$AGORA_ACCEPT_LICENSES` for
//! automation. Without any of these and without a terminal: a clear error naming the fixes.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;

use anyhow::{bail, Result};
use card::acceptance;
use card::kb::License;

/// Asks on the terminal; Err when declined.
pub fn prompt(l: &License) -> Result<()> {
    if !std::io::stdin().is_terminal() {
        bail!("{} requires acceptance and there is no terminal to ask on: pass --yes (`agora license accept {} --yes`)", l.name, l.id);
    }
    eprintln!("{} ({})\n{}\nThis model's license requires you to accept it before use.", l.name, l.version, l.url);
    eprint!("Accept the {} for user {}? [y/N] ", l.name, acceptance::current_user());
    std::io::stderr().flush().ok();
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    if !matches!(line.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
        bail!("license not accepted; the model was not run");
    }
    Ok(())
}

/// Checks (and if needed records) acceptance of every gated license of the model at `path`.
pub fn ensure(path: &Path, flag: bool) -> Result<()> {
    let art = match card::inspect(path) {
        Ok(a) => a,
        Err(e) => bail!("reading the license of {}: {e}", path.display()),
    };
    let home = store::Store::open_default()?.root().to_path_buf();
    for l in art.terms().acceptance_required() {
        if acceptance::accepted_by_env(l) || acceptance::is_accepted(&home, l)? {
            continue;
        }
        let via = if flag {
            "flag --accept-license"
        } else if std::io::stdin().is_terminal() {
            prompt(l)?;
            "prompt"
        } else {
            bail!(
                "{} is under the {} ({}), which must be accepted before use: pass --accept-license, run `agora license accept {}` once, or set {}={} (no terminal to ask on)",
                art.name, l.name, l.url, l.id, acceptance::ENV, l.id
            );
        };
        let a = acceptance::record(&home, l, &store::now_rfc3339(), via)?;
        eprintln!("agora: {} {} accepted by {} ({}), recorded in {}", l.id, l.version, a.user, a.at, acceptance::file(&home).display());
    }
    Ok(())
}
