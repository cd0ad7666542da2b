//! Pulling from local files and folders, and the list / get / rm / resolve round trip.

mod common;

use common::*;
use store::{sha256_hex, Format, Manifest, PullOptions, StoreError, MANIFEST_FILE};

#[test]
fn file_pull_records_hash_and_manifest_then_list_and_rm() {
    let (tmp, store) = temp_store();
    let bytes = gguf_bytes(3_000_000, 1);
    let src = write(&tmp.path().join("src/tiny-q4.gguf"), &bytes);

    let entry = store.pull(src.to_str().unwrap(), &quiet()).unwrap();
    assert_eq!(entry.name, "tiny-q4", "default name is the file stem");
    assert_eq!(entry.dir, store.models_dir().join("tiny-q4"));
    assert_eq!(entry.manifest.format, Format::Gguf);
    assert_eq!(entry.manifest.primary, "tiny-q4.gguf");
    assert_eq!(entry.manifest.files.len(), 1);
    assert_eq!(entry.manifest.files[0].sha256, sha256_hex(&bytes));
    assert_eq!(entry.manifest.files[0].size, bytes.len() as u64);
    assert_eq!(entry.manifest.total_size, bytes.len() as u64);
    assert_eq!(
        entry.manifest.source,
        std::fs::canonicalize(&src).unwrap().display().to_string()
    );
    assert_eq!(entry.manifest.license, None);
    assert!(entry.manifest.created.ends_with('Z') && entry.manifest.created.len() == 20);
    assert_eq!(std::fs::read(entry.primary_path()).unwrap(), bytes);
    assert_eq!(entry.load_path(), entry.primary_path());

    // The manifest on disk is the one returned.
    let on_disk = Manifest::read("tiny-q4", &entry.dir.join(MANIFEST_FILE)).unwrap();
    assert_eq!(on_disk, entry.manifest);

    // A copy, not a link: changing the source does not change the store.
    std::fs::write(&src, b"GGUF changed").unwrap();
    assert_eq!(std::fs::read(entry.primary_path()).unwrap(), bytes);
    assert_eq!(store.verify("tiny-q4").unwrap().name, "tiny-q4");

    let list = store.list().unwrap();
    assert_eq!(list, vec![entry.clone()]);
    assert_eq!(store.get("tiny-q4").unwrap(), Some(entry.clone()));
    assert!(
        tmp_leftovers(&store).is_empty(),
        "staging cleaned: {:?}",
        tmp_leftovers(&store)
    );

    store.remove("tiny-q4").unwrap();
    assert!(store.list().unwrap().is_empty());
    assert!(!entry.dir.exists());
    assert!(matches!(
        store.remove("tiny-q4"),
        Err(StoreError::NotFound { .. })
    ));
    assert!(tmp_leftovers(&store).is_empty());
}

#[test]
fn pulling_a_taken_name_needs_force() {
    let (tmp, store) = temp_store();
    let src = write(&tmp.path().join("a.gguf"), &gguf_bytes(1000, 2));
    store.pull(src.to_str().unwrap(), &named("m")).unwrap();
    let err = store.pull(src.to_str().unwrap(), &named("m")).unwrap_err();
    assert!(matches!(err, StoreError::AlreadyExists { .. }), "{err}");
    assert!(err.to_string().contains("--force"), "{err}");
}

#[test]
fn folder_pull_copies_hf_layout_with_card_and_license() {
    let (tmp, store) = temp_store();
    let src = hf_folder(&tmp.path().join("tiny-hf"));
    let entry = store.pull(src.to_str().unwrap(), &quiet()).unwrap();
    assert_eq!(entry.name, "tiny-hf");
    assert_eq!(entry.manifest.format, Format::Safetensors);
    assert_eq!(entry.manifest.primary, "model.safetensors");
    assert_eq!(entry.manifest.license.as_deref(), Some("apache-2.0"));
    assert_eq!(entry.manifest.card.as_deref(), Some("README.md"));
    let paths: Vec<&str> = entry
        .manifest
        .files
        .iter()
        .map(|f| f.path.as_str())
        .collect();
    assert_eq!(
        paths,
        [
            "README.md",
            "config.json",
            "extra/notes.txt",
            "model.safetensors",
            "tokenizer.json"
        ]
    );
    for f in &entry.manifest.files {
        let on_disk = std::fs::read(entry.dir.join(&f.path)).unwrap();
        assert_eq!(sha256_hex(&on_disk), f.sha256, "{}", f.path);
        assert_eq!(on_disk, std::fs::read(src.join(&f.path)).unwrap());
    }
    assert!(
        !entry.dir.join(".git").exists(),
        "hidden folders are not copied"
    );
    assert_eq!(
        entry.load_path(),
        entry.dir,
        "HF models load from the folder"
    );

    let r = store.resolve("tiny-hf").unwrap();
    assert_eq!((r.path, r.format), (entry.dir.clone(), Format::Safetensors));
}

#[test]
fn folder_with_one_gguf_is_a_gguf_model() {
    let (tmp, store) = temp_store();
    let dir = tmp.path().join("pack");
    write(&dir.join("m.gguf"), &gguf_bytes(5000, 3));
    write(&dir.join("README.md"), b"---\nlicense: gemma\n---\n");
    let e = store.pull(dir.to_str().unwrap(), &quiet()).unwrap();
    assert_eq!(
        (e.manifest.format, e.manifest.primary.as_str()),
        (Format::Gguf, "m.gguf")
    );
    assert_eq!(e.manifest.license.as_deref(), Some("gemma"));
}

#[test]
fn bad_sources_are_explained_and_leave_nothing() {
    let (tmp, store) = temp_store();
    let not_gguf = write(&tmp.path().join("x.gguf"), b"PK\x03\x04 not a gguf");
    let err = store
        .pull(not_gguf.to_str().unwrap(), &quiet())
        .unwrap_err();
    assert!(
        matches!(err, StoreError::BadSource { .. }) && err.to_string().contains("not a GGUF"),
        "{err}"
    );

    let half = tmp.path().join("half");
    write(&half.join("config.json"), b"{}");
    write(&half.join("model.safetensors"), b"x");
    let err = store
        .pull(half.to_str().unwrap(), &quiet())
        .unwrap_err()
        .to_string();
    assert!(err.contains("tokenizer.json"), "{err}");

    let err = store
        .pull("./does/not/exist.gguf", &quiet())
        .unwrap_err()
        .to_string();
    assert!(err.contains("no such file"), "{err}");

    let err = store.pull("hf:google/gemma-3-270m", &quiet()).unwrap_err();
    assert!(matches!(err, StoreError::HubNotSupported { .. }), "{err}");
    assert!(err.to_string().contains("not supported yet"), "{err}");

    assert!(store.list().unwrap().is_empty());
    assert!(tmp_leftovers(&store).is_empty());
}

#[test]
fn resolve_paths_names_and_unpulled_aliases() {
    let (tmp, store) = temp_store();
    let src = write(&tmp.path().join("r.gguf"), &gguf_bytes(2000, 4));

    // A path is used directly, without entering the store.
    let direct = store.resolve(src.to_str().unwrap()).unwrap();
    assert_eq!(direct.path, std::fs::canonicalize(&src).unwrap());
    assert_eq!((direct.format, direct.entry), (Format::Gguf, None));
    let hf = hf_folder(&tmp.path().join("hf"));
    assert_eq!(
        store.resolve(hf.to_str().unwrap()).unwrap().format,
        Format::Safetensors
    );

    // A stored name resolves to its primary file.
    let e = store.pull(src.to_str().unwrap(), &named("rr")).unwrap();
    let r = store.resolve("rr").unwrap();
    assert_eq!(r.path, e.primary_path());
    assert_eq!(r.entry, Some(e));

    let err = store.resolve(store::DEFAULT_MODEL).unwrap_err();
    assert!(matches!(err, StoreError::NotPulled { .. }), "{err}");
    assert!(err.to_string().contains("agora pull gemma3-270m"), "{err}");

    assert!(matches!(
        store.resolve("nothing-here"),
        Err(StoreError::NotFound { .. })
    ));
}

#[test]
fn ensure_pulls_once_then_reuses() {
    let (tmp, store) = temp_store();
    let src = write(&tmp.path().join("e.gguf"), &gguf_bytes(4000, 5));
    let first = store.ensure(src.to_str().unwrap(), &quiet()).unwrap();
    // The source changes, but ensure must not pull again.
    std::fs::write(&src, gguf_bytes(4000, 6)).unwrap();
    let second = store.ensure(src.to_str().unwrap(), &quiet()).unwrap();
    assert_eq!(first, second);
}

#[test]
fn expected_sha256_option_accepts_the_right_hash() {
    let (tmp, store) = temp_store();
    let bytes = gguf_bytes(10_000, 7);
    let src = write(&tmp.path().join("h.gguf"), &bytes);
    let opts = PullOptions {
        expected_sha256: Some(sha256_hex(&bytes).to_uppercase()),
        ..quiet()
    };
    store.pull(src.to_str().unwrap(), &opts).unwrap();
}
