//! Push: preupload decides per file (inline or LFS) and tells which are unchanged; LFS files go
//! through the batch API (bytes streamed from disk, then verified); one NDJSON commit names them all,
//! with the parent we started from, so a concurrent push is refused rather than overwritten.

use std::fs::File;
use std::io::Read;
use std::path::PathBuf;

use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::Client;
use crate::error::{HubError, Result};
use crate::hash::{git_blob_oid, hex};
use crate::ids::{check_repo_path, RepoType};

#[derive(Debug, Clone)]
pub struct LocalFile {
    /// Path inside the repo.
    pub path: String,
    pub source: PathBuf,
}

#[derive(Debug, Clone)]
pub struct PushReport {
    /// None when nothing changed (no commit made).
    pub commit: Option<String>,
    pub uploaded_bytes: u64,
    pub changed_files: usize,
    pub unchanged_files: usize,
}

fn sha256_file(p: &std::path::Path) -> Result<String> {
    let mut f = File::open(p)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex(&h.finalize()))
}

impl Client {
    pub fn push(&self, rtype: RepoType, ns: &str, name: &str, files: &[LocalFile], message: &str, progress: &mut dyn FnMut(u64)) -> Result<PushReport> {
        let base = self.api(rtype, ns, name);
        let parent = self.snapshot(rtype, ns, name, "main")?.commit;
        let mut pre = Vec::new();
        let mut sizes = Vec::new();
        for f in files {
            check_repo_path(&f.path)?;
            let size = std::fs::metadata(&f.source).map_err(|e| HubError::BadRequest(format!("{}: {e}", f.source.display())))?.len();
            let mut sample = vec![0u8; 512];
            let n = File::open(&f.source)?.read(&mut sample)?;
            sample.truncate(n);
            pre.push(json!({ "path": f.path, "size": size, "sample": base64::engine::general_purpose::STANDARD.encode(&sample) }));
            sizes.push(size);
        }
        let resp: Value = self
            .check("preupload", self.request("POST", &format!("{base}/preupload/main")).send_json(json!({ "files": pre })))?
            .into_json()
            .map_err(|e| HubError::Remote(format!("bad preupload answer: {e}")))?;
        let answers = resp.get("files").and_then(Value::as_array).cloned().unwrap_or_default();
        let mut lines = vec![json!({ "key": "header", "value": { "summary": message, "description": "", "parentCommit": parent } })];
        let mut lfs_objects = Vec::new();
        let mut report = PushReport { commit: None, uploaded_bytes: 0, changed_files: 0, unchanged_files: 0 };
        for (f, size) in files.iter().zip(&sizes) {
            let a = answers.iter().find(|a| a.get("path").and_then(Value::as_str) == Some(f.path.as_str())).ok_or_else(|| HubError::Remote(format!("preupload did not answer for {}", f.path)))?;
            let lfs = a.get("uploadMode").and_then(Value::as_str) == Some("lfs") && *size > 0;
            let remote_oid = a.get("oid").and_then(Value::as_str);
            if lfs {
                let oid = sha256_file(&f.source)?;
                if remote_oid == Some(oid.as_str()) {
                    report.unchanged_files += 1;
                    continue;
                }
                lines.push(json!({ "key": "lfsFile", "value": { "path": f.path, "algo": "sha256", "oid": oid, "size": size } }));
                lfs_objects.push((oid, *size, f.source.clone()));
            } else {
                let bytes = std::fs::read(&f.source)?;
                if remote_oid == Some(git_blob_oid(&bytes).as_str()) {
                    report.unchanged_files += 1;
                    continue;
                }
                lines.push(json!({ "key": "file", "value": { "path": f.path, "encoding": "base64", "content": base64::engine::general_purpose::STANDARD.encode(&bytes) } }));
                report.uploaded_bytes += bytes.len() as u64;
            }
            report.changed_files += 1;
        }
        if report.changed_files == 0 {
            return Ok(report);
        }
        if !lfs_objects.is_empty() {
            report.uploaded_bytes += self.upload_lfs(rtype, ns, name, &lfs_objects, progress)?;
        }
        let mut body = Vec::new();
        for l in &lines {
            body.extend_from_slice(l.to_string().as_bytes());
            body.push(b'\n');
        }
        let resp: Value = self
            .check("committing", self.request("POST", &format!("{base}/commit/main")).set("Content-Type", "application/x-ndjson").send_bytes(&body))?
            .into_json()
            .map_err(|e| HubError::Remote(format!("bad commit answer: {e}")))?;
        report.commit = resp.get("commitOid").and_then(Value::as_str).map(String::from);
        Ok(report)
    }

    /// The LFS batch API, basic transfer: PUT each object the server does not have yet, then verify.
    fn upload_lfs(&self, rtype: RepoType, ns: &str, name: &str, objects: &[(String, u64, PathBuf)], progress: &mut dyn FnMut(u64)) -> Result<u64> {
        let prefix = if rtype == RepoType::Dataset { "datasets/" } else { "" };
        let url = format!("{}/{prefix}{ns}/{name}.git/info/lfs/objects/batch", self.endpoint);
        let req = json!({ "operation": "upload", "transfers": ["basic"], "hash_algo": "sha256", "objects": objects.iter().map(|(o, s, _)| json!({ "oid": o, "size": s })).collect::<Vec<_>>() });
        let resp: Value = self
            .check("LFS batch", self.request("POST", &url).set("Accept", "application/vnd.git-lfs+json").send_json(req))?
            .into_json()
            .map_err(|e| HubError::Remote(format!("bad LFS batch answer: {e}")))?;
        let mut sent = 0;
        for obj in resp.get("objects").and_then(Value::as_array).cloned().unwrap_or_default() {
            let oid = obj.get("oid").and_then(Value::as_str).unwrap_or("");
            if let Some(err) = obj.get("error") {
                return Err(HubError::Remote(format!("LFS object {oid}: {}", err.get("message").and_then(Value::as_str).unwrap_or("refused"))));
            }
            let Some(actions) = obj.get("actions") else { continue }; // already stored there
            let (_, size, path) = objects.iter().find(|(o, _, _)| o == oid).ok_or_else(|| HubError::Remote(format!("LFS batch answered for an unknown object {oid}")))?;
            let href = actions.pointer("/upload/href").and_then(Value::as_str).ok_or_else(|| HubError::Remote("LFS batch gave no upload href".into()))?;
            if actions.pointer("/upload/header/chunk_size").is_some() {
                return Err(HubError::Remote("the server asked for a multipart LFS upload, which this client does not do".into()));
            }
            let reader = ProgressReader { inner: File::open(path)?, progress: &mut *progress };
            // The href is presigned: no Authorization header goes with it.
            let put = self.agent.put(href).set("Content-Length", &size.to_string()).send(reader);
            self.check(&format!("uploading {}", path.display()), put)?;
            if let Some(v) = actions.pointer("/verify/href").and_then(Value::as_str) {
                self.check("verifying an upload", self.request("POST", v).send_json(json!({ "oid": oid, "size": size })))?;
            }
            sent += size;
        }
        Ok(sent)
    }
}

struct ProgressReader<'a> {
    inner: File,
    progress: &'a mut dyn FnMut(u64),
}

impl Read for ProgressReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        (self.progress)(n as u64);
        Ok(n)
    }
}
