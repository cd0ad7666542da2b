//! Blobs in any S3-compatible object store (AWS, SeaweedFS, MinIO) through `object_store`:
//! `<prefix>/sha256/<sha256>`. An upload is spooled to a local temporary file while it is hashed;
//! only a verified blob is put under its content key, and an S3 put (multipart included) becomes
//! visible whole or not at all, so no server can ever read a half-written or unverified blob.
//!
//! The trait is sync: the store owns a small tokio runtime and blocks on it (from the server's
//! blocking threads, or from the CLI).

use std::io::{Read, Seek, SeekFrom, Write};
use std::sync::Arc;

use bytes::Bytes;
use futures_util::stream::{BoxStream, StreamExt};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjPath;
use object_store::{GetOptions, GetRange, ObjectStore, WriteMultipart};
use sha2::{Digest, Sha256};

use super::{BlobInfo, BlobStore, BlobWriter, Check, Expect};
use crate::error::{HubError, Result};
use crate::hash::{hex, is_sha256_hex};

/// Where the blobs live: `s3://bucket/prefix` plus an endpoint for non-AWS stores.
#[derive(Debug, Clone)]
pub struct S3Location {
    pub bucket: String,
    pub prefix: String,
    /// e.g. `http://127.0.0.1:8333`; None means AWS itself (region from AWS_REGION).
    pub endpoint: Option<String>,
}

impl S3Location {
    /// Parses `s3://bucket[/prefix]`.
    pub fn parse(url: &str, endpoint: Option<String>) -> Result<S3Location> {
        let rest = url.strip_prefix("s3://").ok_or_else(|| HubError::BadRequest(format!("'{url}' is not an S3 location; write s3://BUCKET[/PREFIX]")))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(HubError::BadRequest(format!("'{url}' names no bucket; write s3://BUCKET[/PREFIX]")));
        }
        Ok(S3Location { bucket: bucket.into(), prefix: prefix.trim_matches('/').into(), endpoint })
    }
}

const PART_SIZE: usize = 16 << 20;

pub struct S3BlobStore {
    store: Arc<AmazonS3>,
    prefix: String,
    rt: Option<tokio::runtime::Runtime>,
}

impl Drop for S3BlobStore {
    fn drop(&mut self) {
        // The hub may be dropped inside the server's runtime, where a blocking shutdown would panic.
        if let Some(rt) = self.rt.take() {
            rt.shutdown_background();
        }
    }
}

fn s3_err(e: object_store::Error) -> HubError {
    HubError::Io(std::io::Error::other(format!("S3: {e}")))
}

impl S3BlobStore {
    /// Credentials come from the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, ...).
    /// Checks that the bucket answers, so a wrong endpoint or key fails at start, not at the first upload.
    pub fn open(loc: &S3Location) -> Result<S3BlobStore> {
        let mut b = AmazonS3Builder::from_env().with_bucket_name(&loc.bucket).with_virtual_hosted_style_request(false);
        if std::env::var_os("AWS_REGION").is_none() && std::env::var_os("AWS_DEFAULT_REGION").is_none() {
            b = b.with_region("us-east-1");
        }
        if let Some(e) = &loc.endpoint {
            b = b.with_endpoint(e).with_allow_http(e.starts_with("http://"));
        }
        let store = b.build().map_err(|e| HubError::BadRequest(format!("S3 configuration: {e}")))?;
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).thread_name("agora-s3").enable_all().build()?;
        let s = S3BlobStore { store: Arc::new(store), prefix: loc.prefix.clone(), rt: Some(rt) };
        // A listing (unlike a HEAD of a missing key) tells a missing bucket from a missing object.
        let probe = s.key("sha256");
        match s.block_on(s.store.list_with_delimiter(Some(&probe))) {
            Ok(_) => Ok(s),
            Err(e) => Err(HubError::BadRequest(format!(
                "cannot reach the S3 bucket '{}' at {}: {e} (check the endpoint, AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY and that the bucket exists)",
                loc.bucket,
                loc.endpoint.as_deref().unwrap_or("AWS")
            ))),
        }
    }

    /// Removes a blob (garbage collection of orphans; tests use it to simulate loss).
    pub fn delete(&self, sha256: &str) -> Result<()> {
        let key = self.key_of(sha256)?;
        self.block_on(self.store.delete(&key)).map_err(s3_err)
    }

    fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.rt.as_ref().expect("runtime present until drop").block_on(f)
    }

    fn key(&self, name: &str) -> ObjPath {
        if self.prefix.is_empty() {
            ObjPath::from(name)
        } else {
            ObjPath::from(format!("{}/{name}", self.prefix))
        }
    }

    fn key_of(&self, sha256: &str) -> Result<ObjPath> {
        if !is_sha256_hex(sha256) {
            return Err(HubError::BadRequest(format!("'{}' is not a sha256 (64 lowercase hex digits)", sha256.escape_default())));
        }
        Ok(self.key(&format!("sha256/{sha256}")))
    }

    fn stream(&self, sha256: &str, offset: u64) -> Result<Option<BoxStream<'static, object_store::Result<Bytes>>>> {
        let key = self.key_of(sha256)?;
        let opts = GetOptions { range: (offset > 0).then_some(GetRange::Offset(offset)), ..Default::default() };
        match self.block_on(self.store.get_opts(&key, opts)) {
            Ok(r) => Ok(Some(r.into_stream())),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(s3_err(e)),
        }
    }
}

/// Reads an object's byte stream synchronously, one chunk at a time.
struct S3Reader {
    handle: tokio::runtime::Handle,
    stream: BoxStream<'static, object_store::Result<Bytes>>,
    chunk: Bytes,
}

impl Read for S3Reader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.chunk.is_empty() {
            match self.handle.block_on(self.stream.next()) {
                Some(Ok(b)) => self.chunk = b,
                Some(Err(e)) => return Err(std::io::Error::other(format!("S3: {e}"))),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk.split_to(n));
        Ok(n)
    }
}

impl BlobStore for S3BlobStore {
    fn writer(&self, max_size: u64) -> Result<Box<dyn BlobWriter>> {
        let tmp = tempfile::Builder::new().prefix("agora-s3-upload-").tempfile()?;
        let handle = self.rt.as_ref().expect("runtime present until drop").handle().clone();
        Ok(Box::new(S3Writer { store: self.store.clone(), prefix: self.prefix.clone(), handle, tmp, hasher: Sha256::new(), written: 0, max_size }))
    }

    fn size(&self, sha256: &str) -> Result<Option<u64>> {
        match self.block_on(self.store.head(&self.key_of(sha256)?)) {
            Ok(m) => Ok(Some(m.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(s3_err(e)),
        }
    }

    fn open(&self, sha256: &str, offset: u64) -> Result<Box<dyn Read + Send>> {
        if offset > 0 {
            // S3 refuses a range that starts at the end; the file store reads nothing there.
            match self.size(sha256)? {
                Some(n) if offset >= n => return Ok(Box::new(std::io::empty())),
                _ => {}
            }
        }
        let Some(stream) = self.stream(sha256, offset)? else {
            return Err(HubError::Io(std::io::Error::new(std::io::ErrorKind::NotFound, format!("blob {sha256} is not in the store"))));
        };
        let handle = self.rt.as_ref().expect("runtime present until drop").handle().clone();
        Ok(Box::new(S3Reader { handle, stream, chunk: Bytes::new() }))
    }

    fn check(&self, sha256: &str) -> Result<Check> {
        let Some(mut stream) = self.stream(sha256, 0)? else {
            return Ok(Check::Missing);
        };
        let mut h = Sha256::new();
        let mut size = 0u64;
        while let Some(b) = self.block_on(stream.next()) {
            let b = b.map_err(s3_err)?;
            h.update(&b);
            size += b.len() as u64;
        }
        let actual = hex(&h.finalize());
        Ok(if actual == sha256 { Check::Ok } else { Check::Corrupt { actual, size } })
    }

    fn list(&self) -> Result<Vec<BlobInfo>> {
        let prefix = self.key("sha256");
        let metas: Vec<_> = self.block_on(self.store.list(Some(&prefix)).collect::<Vec<_>>());
        let mut out = Vec::new();
        for m in metas {
            let m = m.map_err(s3_err)?;
            if let Some(name) = m.location.filename() {
                if is_sha256_hex(name) {
                    out.push(BlobInfo { sha256: name.to_string(), size: m.size });
                }
            }
        }
        out.sort_by(|a, b| a.sha256.cmp(&b.sha256));
        Ok(out)
    }

    fn clean_temporaries(&self) -> Result<usize> {
        // Uploads are spooled to local temporary files that remove themselves; an interrupted
        // multipart put is never visible in the bucket (the store's lifecycle rules reclaim its parts).
        Ok(0)
    }
}

struct S3Writer {
    store: Arc<AmazonS3>,
    prefix: String,
    handle: tokio::runtime::Handle,
    tmp: tempfile::NamedTempFile,
    hasher: Sha256,
    written: u64,
    max_size: u64,
}

impl BlobWriter for S3Writer {
    fn write(&mut self, data: &[u8]) -> Result<()> {
        if self.written + data.len() as u64 > self.max_size {
            return Err(HubError::TooLarge(format!("the upload is larger than the limit of {} bytes", self.max_size)));
        }
        self.hasher.update(data);
        self.tmp.write_all(data)?;
        self.written += data.len() as u64;
        Ok(())
    }

    fn written(&self) -> u64 {
        self.written
    }

    fn finish(self: Box<Self>, expect: Option<Expect<'_>>) -> Result<BlobInfo> {
        let mut this = *self;
        let sha256 = hex(&this.hasher.finalize());
        if let Some(e) = expect {
            if e.size != this.written {
                return Err(HubError::BadRequest(format!("size mismatch: expected {} bytes, received {}", e.size, this.written)));
            }
            if e.sha256 != sha256 {
                return Err(HubError::BadRequest(format!("sha256 mismatch: expected {}, the received bytes hash to {sha256}", e.sha256)));
            }
        }
        let info = BlobInfo { sha256, size: this.written };
        let key = if this.prefix.is_empty() { ObjPath::from(format!("sha256/{}", info.sha256)) } else { ObjPath::from(format!("{}/sha256/{}", this.prefix, info.sha256)) };
        let (s, h) = (this.store.clone(), this.handle.clone());
        match h.block_on(s.head(&key)) {
            Ok(_) => return Ok(info), // stored once
            Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(s3_err(e)),
        }
        let file = this.tmp.as_file_mut();
        file.seek(SeekFrom::Start(0))?;
        if this.written <= PART_SIZE as u64 {
            let mut data = Vec::with_capacity(this.written as usize);
            file.read_to_end(&mut data)?;
            h.block_on(s.put(&key, data.into())).map_err(s3_err)?;
        } else {
            // The multipart writer spawns its part uploads onto the current runtime.
            let _rt = h.enter();
            let upload = h.block_on(s.put_multipart(&key)).map_err(s3_err)?;
            let mut w = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
            let mut buf = vec![0u8; PART_SIZE];
            loop {
                let n = file.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                h.block_on(w.wait_for_capacity(4)).map_err(s3_err)?;
                w.write(&buf[..n]);
            }
            // Until the upload completes, the key shows nothing; on error the parts are aborted.
            h.block_on(w.finish()).map_err(s3_err)?;
        }
        Ok(info)
    }
}
