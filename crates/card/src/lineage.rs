//! `lineage.json`: what an artifact was made from (sha256 of every input), by which tool and
//! command, with the parents' records embedded, signed with ed25519 over canonical JSON.
//! `verify` walks the chain from the artifact up and names the first broken link.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use ed25519_dalek::{Signature, Signer, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::canonical;
use crate::error::{io, CardError, Result};
use crate::front::write_atomic;
use crate::keys::{self, Keys};
use crate::writer::artifact_name;

pub const FILE: &str = "lineage.json";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileRef {
    /// base, adapter, dataset, imatrix, text, ... (`artifact` for the output itself)
    pub role: String,
    /// As given on the command line (the artifact's is its file name, beside this record).
    pub path: String,
    pub sha256: String,
    pub size: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sig {
    pub algorithm: String,
    pub public_key: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lineage {
    pub schema: u32,
    pub artifact: FileRef,
    pub inputs: Vec<FileRef>,
    pub tool: String,
    pub command: Vec<String>,
    /// The recipe: relation, types, options; whatever decides the output.
    pub recipe: BTreeMap<String, serde_json::Value>,
    pub licenses: Vec<String>,
    pub created: String,
    /// The inputs' own lineage records, embedded (each still carries its signature).
    #[serde(default)]
    pub parents: Vec<Lineage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<Sig>,
}

pub fn sha256_file(path: &Path) -> Result<(String, u64)> {
    let mut f = std::fs::File::open(path).map_err(io(path))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut n = 0u64;
    loop {
        let k = f.read(&mut buf).map_err(io(path))?;
        if k == 0 {
            break;
        }
        h.update(&buf[..k]);
        n += k as u64;
    }
    Ok((keys::hex(&h.finalize()), n))
}

/// Hashes `path`; a folder becomes one entry per regular file in it (sorted, hidden files skipped).
pub fn file_refs(role: &str, path: &Path) -> Result<Vec<FileRef>> {
    let mut out = Vec::new();
    if path.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(io(path))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')))
            .collect();
        files.sort();
        for f in files {
            let (sha256, size) = sha256_file(&f)?;
            out.push(FileRef { role: role.into(), path: f.display().to_string(), sha256, size });
        }
    } else {
        let (sha256, size) = sha256_file(path)?;
        out.push(FileRef { role: role.into(), path: path.display().to_string(), sha256, size });
    }
    Ok(out)
}

/// The lineage record of `path`: `<name>.lineage.json`, else `lineage.json` when it is about this file.
pub fn find(path: &Path) -> Option<PathBuf> {
    if path.is_dir() {
        let p = path.join(FILE);
        return p.is_file().then_some(p);
    }
    if path.file_name().is_some_and(|n| n.to_string_lossy().ends_with(FILE)) {
        return path.is_file().then(|| path.to_path_buf());
    }
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let own = dir.join(format!("{}.{FILE}", artifact_name(path)));
    if own.is_file() {
        return Some(own);
    }
    let shared = dir.join(FILE);
    let about_this = Lineage::read(&shared).is_ok_and(|l| l.artifact.path == artifact_name(path));
    about_this.then_some(shared)
}

/// Where to write the record of `artifact`: `lineage.json` unless it is another artifact's.
pub fn path_for(artifact: &Path) -> PathBuf {
    let dir = artifact.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let shared = dir.join(FILE);
    match Lineage::read(&shared) {
        Err(_) => shared,
        Ok(l) if l.artifact.path == artifact_name(artifact) => shared,
        Ok(_) => dir.join(format!("{}.{FILE}", artifact_name(artifact))),
    }
}

impl Lineage {
    /// A record for `artifact` made from `inputs` (role, path). Parents are the inputs' own
    /// lineage records where they have one.
    pub fn build(
        artifact: &Path,
        inputs: &[(&str, &Path)],
        command: Vec<String>,
        recipe: BTreeMap<String, serde_json::Value>,
        licenses: Vec<String>,
        created: String,
    ) -> Result<Lineage> {
        let (sha256, size) = sha256_file(artifact)?;
        let mut refs = Vec::new();
        let mut parents = Vec::new();
        for (role, p) in inputs {
            refs.extend(file_refs(role, p)?);
            if let Some(lp) = find(p) {
                parents.push(Lineage::read(&lp)?);
            }
        }
        Ok(Lineage {
            schema: 1,
            artifact: FileRef { role: "artifact".into(), path: artifact_name(artifact), sha256, size },
            inputs: refs,
            tool: format!("agora {}", env!("CARGO_PKG_VERSION")),
            command,
            recipe,
            licenses,
            created,
            parents,
            signature: None,
        })
    }

    pub fn read(path: &Path) -> Result<Lineage> {
        let text = std::fs::read_to_string(path).map_err(io(path))?;
        serde_json::from_str(&text).map_err(|e| CardError::Lineage { path: path.display().to_string(), msg: format!("not a lineage record: {e}") })
    }

    /// The bytes that are signed: canonical JSON of everything but the signature.
    pub fn signed_bytes(&self) -> Vec<u8> {
        let mut v = serde_json::to_value(self).expect("lineage serializes");
        if let Some(o) = v.as_object_mut() {
            o.remove("signature");
        }
        canonical::to_string(&v).into_bytes()
    }

    pub fn sign(&mut self, k: &Keys) {
        self.signature = None;
        let sig = k.signing.sign(&self.signed_bytes());
        self.signature = Some(Sig { algorithm: "ed25519".into(), public_key: k.public_hex(), value: keys::hex(&sig.to_bytes()) });
    }

    /// Writes the record beside the artifact (atomic), returning its path.
    pub fn write_beside(&self, artifact: &Path) -> Result<PathBuf> {
        let path = path_for(artifact);
        let text = serde_json::to_string_pretty(self).expect("lineage serializes");
        write_atomic(&path, text.as_bytes())?;
        Ok(path)
    }

    /// Checks the signature; Ok(fingerprint of the signer).
    pub fn check_signature(&self) -> std::result::Result<String, String> {
        let s = self.signature.as_ref().ok_or("the record is not signed")?;
        if s.algorithm != "ed25519" {
            return Err(format!("unknown signature algorithm {:?}", s.algorithm));
        }
        let pk: [u8; 32] = keys::unhex(&s.public_key).and_then(|v| v.try_into().ok()).ok_or("the public key is not 32 hex bytes")?;
        let pk = VerifyingKey::from_bytes(&pk).map_err(|_| "the public key is not a valid ed25519 point".to_string())?;
        let sig: [u8; 64] = keys::unhex(&s.value).and_then(|v| v.try_into().ok()).ok_or("the signature is not 64 hex bytes")?;
        pk.verify(&self.signed_bytes(), &Signature::from_bytes(&sig))
            .map_err(|_| "the signature does not match the record: its content (inputs, recipe, command or parents) was changed after signing, or the signature was altered".to_string())?;
        Ok(keys::fingerprint(&pk))
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Link {
    pub depth: usize,
    pub artifact: String,
    pub sha256: String,
    pub signer: Option<String>,
    pub checked: Vec<String>,
    /// Inputs not on this machine: their hash is recorded but could not be compared.
    pub not_present: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Broken {
    pub depth: usize,
    pub artifact: String,
    pub problem: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    pub record: PathBuf,
    pub links: Vec<Link>,
    pub broken: Option<Broken>,
}

/// Verifies the record at `record` (its artifact sits beside it) and every parent up the chain.
pub fn verify(record: &Path) -> Result<Verification> {
    let top = Lineage::read(record)?;
    let dir = record.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_path_buf();
    let mut v = Verification { record: record.to_path_buf(), links: Vec::new(), broken: None };
    let art = dir.join(&top.artifact.path);
    if let Err(p) = check_link(&top, 0, Some(&art), &dir, &mut v) {
        v.broken = Some(p);
    }
    Ok(v)
}

fn check_link(l: &Lineage, depth: usize, artifact: Option<&Path>, dir: &Path, v: &mut Verification) -> std::result::Result<(), Broken> {
    let broken = |problem: String| Broken { depth, artifact: l.artifact.path.clone(), problem };
    let signer = l.check_signature().map_err(|e| broken(format!("signature: {e}")))?;
    let mut link = Link { depth, artifact: l.artifact.path.clone(), sha256: l.artifact.sha256.clone(), signer: Some(signer), checked: Vec::new(), not_present: Vec::new() };
    if let Some(a) = artifact {
        let (h, _) = sha256_file(a).map_err(|e| broken(format!("artifact: {e}")))?;
        if h != l.artifact.sha256 {
            return Err(broken(format!("artifact {} does not match its record (sha256 {h}, recorded {})", a.display(), l.artifact.sha256)));
        }
        link.checked.push(format!("artifact {}", a.display()));
    }
    for i in &l.inputs {
        let p = Path::new(&i.path);
        let p = if p.is_absolute() || p.exists() { p.to_path_buf() } else { dir.join(p) };
        if !p.is_file() {
            link.not_present.push(i.path.clone());
            continue;
        }
        let (h, _) = sha256_file(&p).map_err(|e| broken(format!("input {}: {e}", i.path)))?;
        if h != i.sha256 {
            return Err(broken(format!("{} input {} changed since the record was made (sha256 {h}, recorded {})", i.role, i.path, i.sha256)));
        }
        link.checked.push(format!("{} {}", i.role, i.path));
    }
    v.links.push(link);
    for p in &l.parents {
        if !l.inputs.iter().any(|i| i.sha256 == p.artifact.sha256) {
            return Err(broken(format!("parent record for {} names sha256 {}, which is none of this step's inputs", p.artifact.path, p.artifact.sha256)));
        }
        check_link(p, depth + 1, None, dir, v)?;
    }
    Ok(())
}
