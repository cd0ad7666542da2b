//! Byte copies that hash as they go (one read of a 250 MB file, not two) and drive a progress bar.

use std::fs::File;
use std::io::{self, IsTerminal, Read, Write};
use std::path::Path;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sha2::{Digest, Sha256};

use crate::error::{IoContext, Result};

const BUF: usize = 1 << 20;

/// Size and sha256 (lowercase hex) of some bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hashed {
    pub size: u64,
    pub sha256: String,
}

/// A byte progress bar on stderr, hidden when quiet or when stderr is not a terminal.
pub(crate) fn byte_bar(total: u64, message: &str, quiet: bool) -> ProgressBar {
    if quiet || !io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template(
        "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    )
    .map(|s| s.progress_chars("=> "))
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_message(message.to_string());
    bar
}

/// A writer that hashes and counts what passes through it.
pub(crate) struct HashWriter<W> {
    inner: W,
    hasher: Sha256,
    size: u64,
    bar: ProgressBar,
}

impl<W: Write> HashWriter<W> {
    pub(crate) fn new(inner: W, bar: ProgressBar) -> Self {
        HashWriter {
            inner,
            hasher: Sha256::new(),
            size: 0,
            bar,
        }
    }

    pub(crate) fn finish(self) -> (W, Hashed) {
        let sha256 = hex(&self.hasher.finalize());
        (
            self.inner,
            Hashed {
                size: self.size,
                sha256,
            },
        )
    }
}

impl<W: Write> Write for HashWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        self.bar.inc(n as u64);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Copy `src` into `dst` (created), hashing; the file is fsynced before returning.
pub(crate) fn copy_hashed(src: &Path, dst: &Path, bar: &ProgressBar) -> Result<Hashed> {
    let mut input = File::open(src).ctx(|| format!("opening {}", src.display()))?;
    let out = File::create(dst).ctx(|| format!("creating {}", dst.display()))?;
    let mut w = HashWriter::new(out, bar.clone());
    pump(&mut input, &mut w).ctx(|| format!("copying {} to {}", src.display(), dst.display()))?;
    let (out, hashed) = w.finish();
    out.sync_all()
        .ctx(|| format!("syncing {}", dst.display()))?;
    Ok(hashed)
}

/// Read everything from `r` into `w` with a large buffer.
pub(crate) fn pump(r: &mut impl Read, w: &mut impl Write) -> io::Result<u64> {
    let mut buf = vec![0u8; BUF];
    let mut total = 0u64;
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        w.write_all(&buf[..n])?;
        total += n as u64;
    }
}

pub fn hash_file(path: &Path) -> Result<Hashed> {
    let mut f = File::open(path).ctx(|| format!("opening {}", path.display()))?;
    let mut w = HashWriter::new(io::sink(), ProgressBar::hidden());
    pump(&mut f, &mut w).ctx(|| format!("reading {}", path.display()))?;
    Ok(w.finish().1)
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_known_input() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn copy_hashes_what_it_writes() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("a");
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::write(&src, &data).unwrap();
        let dst = dir.path().join("b");
        let h = copy_hashed(&src, &dst, &ProgressBar::hidden()).unwrap();
        assert_eq!(h.size, data.len() as u64);
        assert_eq!(h.sha256, sha256_hex(&data));
        assert_eq!(std::fs::read(&dst).unwrap(), data);
        assert_eq!(hash_file(&dst).unwrap(), h);
    }
}
