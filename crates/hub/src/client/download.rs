//! Pull: resolve a revision to a commit, then download each file into a folder, verified
//! (sha256 for LFS files, git blob id otherwise) before it is renamed into place. Files already
//! present from an earlier pull of the same commit are not downloaded again.

use std::io::{Read, Write};
use std::path::Path;

use serde_json::Value;
use sha1::Sha1;
use sha2::{Digest, Sha256};

use super::Client;
use crate::error::{HubError, Result};
use crate::hash::hex;
use crate::ids::{check_repo_path, RepoType};

#[derive(Debug, Clone)]
pub struct RemoteFile {
    pub path: String,
    pub size: u64,
    pub lfs_sha256: Option<String>,
    pub git_oid: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Snapshot {
    pub commit: String,
    pub files: Vec<RemoteFile>,
}

#[derive(Debug, Clone, Default)]
pub struct PullReport {
    pub downloaded_files: usize,
    pub downloaded_bytes: u64,
    pub reused_files: usize,
}

impl Client {
    pub fn snapshot(&self, rtype: RepoType, ns: &str, name: &str, rev: &str) -> Result<Snapshot> {
        let url = format!("{}/revision/{}?blobs=true", self.api(rtype, ns, name), crate::server::enc(rev));
        let v: Value = self.check("reading the repo", self.request("GET", &url).call())?.into_json().map_err(|e| HubError::Remote(format!("bad repo info from {}: {e}", self.endpoint)))?;
        let commit = v.get("sha").and_then(Value::as_str).filter(|s| crate::hash::is_commit_hex(s)).ok_or_else(|| HubError::Remote("the repo info has no commit sha".into()))?.to_string();
        let mut files = Vec::new();
        for s in v.get("siblings").and_then(Value::as_array).cloned().unwrap_or_default() {
            let path = s.get("rfilename").and_then(Value::as_str).unwrap_or("").to_string();
            // A remote cannot make us write outside the destination folder.
            check_repo_path(&path).map_err(|e| HubError::Remote(format!("the remote listed an unsafe file name: {e}")))?;
            let lfs = s.get("lfs").and_then(|l| l.get("sha256").or_else(|| l.get("oid"))).and_then(Value::as_str).map(String::from);
            let size = s.get("size").and_then(Value::as_u64).or_else(|| s.get("lfs").and_then(|l| l.get("size")).and_then(Value::as_u64)).unwrap_or(0);
            files.push(RemoteFile { path, size, lfs_sha256: lfs, git_oid: s.get("blobId").and_then(Value::as_str).map(String::from) });
        }
        Ok(Snapshot { commit, files })
    }

    /// Downloads every file of `snap` into `dir` (skipping files already there with the right size).
    pub fn download_snapshot(&self, rtype: RepoType, ns: &str, name: &str, snap: &Snapshot, dir: &Path, progress: &mut dyn FnMut(u64)) -> Result<PullReport> {
        std::fs::create_dir_all(dir)?;
        let mut report = PullReport::default();
        for f in &snap.files {
            let dest = dir.join(&f.path);
            if std::fs::metadata(&dest).map(|m| m.len() == f.size).unwrap_or(false) {
                report.reused_files += 1;
                continue;
            }
            let prefix = if rtype == RepoType::Dataset { "datasets/" } else { "" };
            let url = format!("{}/{prefix}{ns}/{name}/resolve/{}/{}", self.endpoint, snap.commit, f.path.split('/').map(crate::server::enc).collect::<Vec<_>>().join("/"));
            let resp = self.check(&format!("downloading {}", f.path), self.request("GET", &url).call())?;
            let parent = dest.parent().expect("joined paths have parents");
            std::fs::create_dir_all(parent)?;
            let mut tmp = tempfile::Builder::new().prefix(".download-").tempfile_in(parent)?;
            let mut sha256 = Sha256::new();
            let mut sha1 = Sha1::new();
            sha1.update(format!("blob {}\0", f.size).as_bytes());
            let mut r = resp.into_reader();
            let mut buf = vec![0u8; 1 << 20];
            let mut got = 0u64;
            loop {
                let n = r.read(&mut buf).map_err(|e| HubError::Remote(format!("downloading {}: {e}", f.path)))?;
                if n == 0 {
                    break;
                }
                got += n as u64;
                if got > f.size {
                    return Err(HubError::Remote(format!("{}: the server sent more than the {} bytes it announced", f.path, f.size)));
                }
                sha256.update(&buf[..n]);
                sha1.update(&buf[..n]);
                tmp.write_all(&buf[..n])?;
                progress(n as u64);
            }
            if got != f.size {
                return Err(HubError::Remote(format!("{}: received {got} of {} bytes", f.path, f.size)));
            }
            let (want, have) = match (&f.lfs_sha256, &f.git_oid) {
                (Some(s), _) => (s.clone(), hex(&sha256.finalize())),
                (None, Some(g)) => (g.clone(), hex(&sha1.finalize())),
                (None, None) => return Err(HubError::Remote(format!("{}: the remote gave no hash to verify against", f.path))),
            };
            if want != have {
                return Err(HubError::Remote(format!("{}: the downloaded bytes hash to {have}, the remote promised {want}", f.path)));
            }
            tmp.as_file().sync_all()?;
            tmp.persist(&dest).map_err(|e| HubError::Io(e.error))?;
            report.downloaded_files += 1;
            report.downloaded_bytes += got;
        }
        Ok(report)
    }
}
