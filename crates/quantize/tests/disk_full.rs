//! A disk that fills up mid-write: a real 256 KiB tmpfs, mounted by the test. The write must fail with
//! a clear error, leave no temp file and leave an existing output untouched. Mounting needs root (CI
//! runs as root); without it this test fails, it never skips.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use quantize::imatrix::{Entry, Format, Imatrix};
use quantize::{FileType, Options};

/// A mounted tmpfs of `size`, unmounted and removed on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(size: &str, tag: &str) -> Tmpfs {
        let dir = std::env::temp_dir().join(format!("agora-diskfull-{}-{tag}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let st = Command::new("mount").args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"]).arg(&dir).status();
        match st {
            Ok(s) if s.success() => Tmpfs(dir),
            other => {
                let _ = std::fs::remove_dir(&dir);
                panic!(
                    "cannot mount a {size} tmpfs at {} ({other:?}): this test simulates a full disk and needs root \
                     (mount -t tmpfs); run it as root, as CI does",
                    dir.display()
                )
            }
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
        let _ = std::fs::remove_dir(&self.0);
    }
}

fn listing(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

#[test]
fn quantize_onto_a_full_disk_fails_cleanly() {
    let fs = Tmpfs::mount("256k", "quantize");
    let out = fs.0.join("out.gguf");
    std::fs::write(&out, b"the previous output").unwrap();
    // tiny-llama as F32 is 570 KB: it cannot fit.
    let opts = Options { ftype: FileType::F32, threads: 2, extra_metadata: Vec::new() };
    let e = quantize::quantize_file(&common::tiny("tiny-llama/model-f32.gguf"), &out, &opts, &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(e.contains("No space left on device") && e.contains("check free disk space"), "{e}");
    assert!(e.contains("out.gguf"), "{e}");
    assert_eq!(listing(&fs.0), vec!["out.gguf".to_string()], "no temp file is left");
    assert_eq!(std::fs::read(&out).unwrap(), b"the previous output");
}

#[test]
fn imatrix_onto_a_full_disk_fails_cleanly() {
    let fs = Tmpfs::mount("256k", "imatrix");
    let mut entries = BTreeMap::new();
    // 100 entries of 1024 columns: 400 KB in either layout.
    for i in 0..100 {
        entries.insert(format!("blk.{i}.ffn_down.weight"), Entry { sums: vec![1.5; 1024], counts: vec![512] });
    }
    let m = Imatrix { entries, datasets: vec!["t.txt".into()], chunk_count: 1, chunk_size: 512, format: Format::Gguf };
    for (name, format) in [("imatrix.dat", Format::Dat), ("imatrix.gguf", Format::Gguf)] {
        let out = fs.0.join(name);
        std::fs::write(&out, b"old").unwrap();
        let e = m.write(&out, format).unwrap_err().to_string();
        assert!(e.contains("No space left on device") && e.contains(name), "{e}");
        assert_eq!(std::fs::read(&out).unwrap(), b"old");
        std::fs::remove_file(&out).unwrap();
        assert!(listing(&fs.0).is_empty(), "left behind: {:?}", listing(&fs.0));
    }
}
