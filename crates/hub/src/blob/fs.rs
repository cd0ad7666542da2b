//! Blobs as files: `<root>/sha256/ab/cd/<sha256>`, written under `<root>/tmp/` first.

use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::{BlobInfo, BlobStore, BlobWriter, Check, Expect};
use crate::error::{HubError, Result};
use crate::hash::{hex, is_sha256_hex};

pub struct FsBlobStore {
    root: PathBuf,
}

impl FsBlobStore {
    pub fn open(root: impl Into<PathBuf>) -> Result<FsBlobStore> {
        let root = root.into();
        fs::create_dir_all(root.join("sha256"))?;
        fs::create_dir_all(root.join("tmp"))?;
        Ok(FsBlobStore { root })
    }

    fn path_of(&self, sha256: &str) -> Result<PathBuf> {
        if !is_sha256_hex(sha256) {
            return Err(HubError::BadRequest(format!("'{}' is not a sha256 (64 lowercase hex digits)", sha256.escape_default())));
        }
        Ok(self.root.join("sha256").join(&sha256[..2]).join(&sha256[2..4]).join(sha256))
    }
}

impl BlobStore for FsBlobStore {
    fn writer(&self, max_size: u64) -> Result<Box<dyn BlobWriter>> {
        let tmp = tempfile::Builder::new().prefix("upload-").tempfile_in(self.root.join("tmp"))?;
        Ok(Box::new(FsWriter { store_root: self.root.clone(), tmp, hasher: Sha256::new(), written: 0, max_size }))
    }

    fn size(&self, sha256: &str) -> Result<Option<u64>> {
        match fs::metadata(self.path_of(sha256)?) {
            Ok(m) => Ok(Some(m.len())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    fn open(&self, sha256: &str, offset: u64) -> Result<Box<dyn Read + Send>> {
        let mut f = File::open(self.path_of(sha256)?)?;
        f.seek(SeekFrom::Start(offset))?;
        Ok(Box::new(f))
    }

    fn check(&self, sha256: &str) -> Result<Check> {
        let path = self.path_of(sha256)?;
        let mut f = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Check::Missing),
            Err(e) => return Err(e.into()),
        };
        let mut h = Sha256::new();
        let mut buf = vec![0u8; 1 << 20];
        let mut size = 0u64;
        loop {
            let n = f.read(&mut buf)?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
            size += n as u64;
        }
        let actual = hex(&h.finalize());
        Ok(if actual == sha256 { Check::Ok } else { Check::Corrupt { actual, size } })
    }

    fn list(&self) -> Result<Vec<BlobInfo>> {
        let mut out = Vec::new();
        walk(&self.root.join("sha256"), &mut |p: &Path| {
            if let Some(name) = p.file_name().and_then(|n| n.to_str()) {
                if is_sha256_hex(name) {
                    out.push(BlobInfo { sha256: name.to_string(), size: fs::metadata(p).map(|m| m.len()).unwrap_or(0) });
                }
            }
        })?;
        out.sort_by(|a, b| a.sha256.cmp(&b.sha256));
        Ok(out)
    }

    fn clean_temporaries(&self) -> Result<usize> {
        let mut n = 0;
        for e in fs::read_dir(self.root.join("tmp"))? {
            let e = e?;
            if e.file_type()?.is_file() {
                fs::remove_file(e.path())?;
                n += 1;
            }
        }
        Ok(n)
    }
}

fn walk(dir: &Path, f: &mut dyn FnMut(&Path)) -> Result<()> {
    for e in fs::read_dir(dir)? {
        let e = e?;
        if e.file_type()?.is_dir() {
            walk(&e.path(), f)?;
        } else {
            f(&e.path());
        }
    }
    Ok(())
}

struct FsWriter {
    store_root: PathBuf,
    tmp: tempfile::NamedTempFile,
    hasher: Sha256,
    written: u64,
    max_size: u64,
}

impl BlobWriter for FsWriter {
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
        let this = *self;
        let sha256 = hex(&this.hasher.finalize());
        if let Some(e) = expect {
            if e.size != this.written {
                return Err(HubError::BadRequest(format!("size mismatch: expected {} bytes, received {}", e.size, this.written)));
            }
            if e.sha256 != sha256 {
                return Err(HubError::BadRequest(format!("sha256 mismatch: expected {}, the received bytes hash to {sha256}", e.sha256)));
            }
        }
        let dest = this.store_root.join("sha256").join(&sha256[..2]).join(&sha256[2..4]).join(&sha256);
        let info = BlobInfo { sha256, size: this.written };
        if dest.exists() {
            return Ok(info); // stored once: the temporary is dropped
        }
        let parent = dest.parent().expect("blob paths have parents");
        fs::create_dir_all(parent)?;
        this.tmp.as_file().sync_all()?;
        this.tmp.persist(&dest).map_err(|e| HubError::Io(e.error))?;
        // The rename itself must survive a crash before the commit that refers to it is written.
        File::open(parent)?.sync_all()?;
        Ok(info)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::blob::put_bytes;
    use crate::hash::sha256_hex;

    #[test]
    fn stores_once_and_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let s = FsBlobStore::open(dir.path()).unwrap();
        let a = put_bytes(&s, b"hello world").unwrap();
        let b = put_bytes(&s, b"hello world").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.sha256, sha256_hex(b"hello world"));
        assert_eq!(s.list().unwrap().len(), 1, "the same content was stored twice");
        let mut r = s.open(&a.sha256, 6).unwrap();
        let mut out = String::new();
        r.read_to_string(&mut out).unwrap();
        assert_eq!(out, "world");
        assert_eq!(s.check(&a.sha256).unwrap(), Check::Ok);
        assert_eq!(fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0, "a temporary was left behind");
    }

    #[test]
    fn wrong_hash_or_size_is_never_visible() {
        let dir = tempfile::tempdir().unwrap();
        let s = FsBlobStore::open(dir.path()).unwrap();
        let claimed = sha256_hex(b"what the client said");
        let mut w = s.writer(100).unwrap();
        w.write(b"something else").unwrap();
        let err = w.finish(Some(Expect { sha256: &claimed, size: 14 })).unwrap_err();
        assert!(err.to_string().contains("sha256 mismatch"), "{err}");
        assert_eq!(s.size(&claimed).unwrap(), None);
        assert!(s.list().unwrap().is_empty());

        let mut w = s.writer(100).unwrap();
        w.write(b"abc").unwrap();
        assert!(w.finish(Some(Expect { sha256: &sha256_hex(b"abc"), size: 4 })).is_err());
        assert!(s.list().unwrap().is_empty());
        assert_eq!(fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0);
    }

    #[test]
    fn size_limit_and_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let s = FsBlobStore::open(dir.path()).unwrap();
        let mut w = s.writer(4).unwrap();
        assert!(matches!(w.write(b"12345"), Err(HubError::TooLarge(_))));
        let b = put_bytes(&s, b"intact").unwrap();
        let p = s.path_of(&b.sha256).unwrap();
        fs::write(&p, b"tampered").unwrap();
        assert!(matches!(s.check(&b.sha256).unwrap(), Check::Corrupt { .. }));
        assert_eq!(s.check(&sha256_hex(b"absent")).unwrap(), Check::Missing);
        assert!(s.size("../../etc/passwd").is_err());
    }
}
