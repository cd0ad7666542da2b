//! The store is never half-written: failed verification, replacement and concurrent pulls.

mod common;

use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use common::*;
use store::{sha256_hex, PullOptions, StoreError};

#[test]
fn failed_verification_leaves_the_previous_copy_untouched() {
    let (tmp, store) = temp_store();
    let good = gguf_bytes(2_000_000, 10);
    let src = write(&tmp.path().join("m.gguf"), &good);
    let before = store.pull(src.to_str().unwrap(), &named("m")).unwrap();

    // The source is corrupted by one bit; the caller knows the right hash.
    let mut bad = good.clone();
    bad[1_234_567] ^= 0x10;
    std::fs::write(&src, &bad).unwrap();
    let opts = PullOptions {
        force: true,
        expected_sha256: Some(sha256_hex(&good)),
        ..named("m")
    };
    let err = store.pull(src.to_str().unwrap(), &opts).unwrap_err();
    match &err {
        StoreError::Sha256Mismatch {
            file,
            expected,
            actual,
            ..
        } => {
            assert_eq!(file, "m.gguf");
            assert_eq!(expected, &sha256_hex(&good));
            assert_eq!(actual, &sha256_hex(&bad));
        }
        other => panic!("expected a sha256 mismatch, got {other}"),
    }
    let msg = err.to_string();
    assert!(
        msg.starts_with("sha256 mismatch for m.gguf: expected "),
        "{msg}"
    );

    // Same manifest, same bytes, no staging left.
    assert_eq!(store.get("m").unwrap(), Some(before.clone()));
    assert_eq!(std::fs::read(before.primary_path()).unwrap(), good);
    assert!(
        tmp_leftovers(&store).is_empty(),
        "{:?}",
        tmp_leftovers(&store)
    );
}

#[test]
fn failed_first_pull_creates_no_model() {
    let (tmp, store) = temp_store();
    let src = write(&tmp.path().join("n.gguf"), &gguf_bytes(1000, 11));
    let opts = PullOptions {
        expected_sha256: Some("0".repeat(64)),
        ..named("n")
    };
    assert!(matches!(
        store.pull(src.to_str().unwrap(), &opts),
        Err(StoreError::Sha256Mismatch { .. })
    ));
    assert_eq!(store.get("n").unwrap(), None);
    assert!(!store.models_dir().join("n").exists());
    assert!(tmp_leftovers(&store).is_empty());
}

#[test]
fn force_replaces_atomically_with_the_new_verified_copy() {
    let (tmp, store) = temp_store();
    let v1 = gguf_bytes(100_000, 12);
    let v2 = gguf_bytes(150_000, 13);
    let dir = tmp.path().join("src");
    let a = write(&dir.join("a.gguf"), &v1);
    let b = write(&dir.join("b.gguf"), &v2);
    store.pull(a.to_str().unwrap(), &named("x")).unwrap();
    let opts = PullOptions {
        force: true,
        ..named("x")
    };
    let e = store.pull(b.to_str().unwrap(), &opts).unwrap();
    // The folder holds only the new model: the old file did not linger.
    assert_eq!(e.manifest.primary, "b.gguf");
    assert!(!e.dir.join("a.gguf").exists());
    assert_eq!(std::fs::read(e.primary_path()).unwrap(), v2);
    assert_eq!(e.manifest.files[0].sha256, sha256_hex(&v2));
    assert_eq!(store.list().unwrap().len(), 1);
    assert!(tmp_leftovers(&store).is_empty());
}

#[test]
fn a_held_lock_refuses_pull_and_rm() {
    let (tmp, store) = temp_store();
    let src = write(&tmp.path().join("l.gguf"), &gguf_bytes(1000, 14));
    store.pull(src.to_str().unwrap(), &named("l")).unwrap();

    let lock = store.try_lock("l").unwrap();
    let err = store
        .pull(
            src.to_str().unwrap(),
            &PullOptions {
                force: true,
                ..named("l")
            },
        )
        .unwrap_err();
    assert!(matches!(err, StoreError::Busy { .. }), "{err}");
    assert!(err.to_string().contains("in progress"), "{err}");
    assert!(matches!(store.remove("l"), Err(StoreError::Busy { .. })));
    // Other names are not blocked.
    store.pull(src.to_str().unwrap(), &named("other")).unwrap();
    drop(lock);
    store.remove("l").unwrap();
}

#[test]
fn concurrent_pulls_of_one_name_yield_one_model() {
    let (tmp, store) = temp_store();
    let bytes = gguf_bytes(16 << 20, 15);
    let src = write(&tmp.path().join("c.gguf"), &bytes);
    let go = Arc::new(Barrier::new(2));
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let (store, src, go) = (store.clone(), src.clone(), go.clone());
            thread::spawn(move || {
                go.wait();
                store.pull(src.to_str().unwrap(), &named("c"))
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let oks = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(oks, 1, "{results:?}");
    for r in &results {
        if let Err(e) = r {
            assert!(
                matches!(
                    e,
                    StoreError::Busy { .. } | StoreError::AlreadyExists { .. }
                ),
                "{e}"
            );
        }
    }
    assert_eq!(
        store.verify("c").unwrap().manifest.files[0].sha256,
        sha256_hex(&bytes)
    );
    assert!(tmp_leftovers(&store).is_empty());
}

#[test]
fn ensure_waits_for_a_running_pull_instead_of_failing() {
    let (tmp, store) = temp_store();
    let src = write(&tmp.path().join("w.gguf"), &gguf_bytes(1000, 16));
    let lock = store.try_lock("w").unwrap();
    let waiter = {
        let (store, src) = (store.clone(), src.clone());
        thread::spawn(move || store.ensure(src.to_str().unwrap(), &named("w")))
    };
    thread::sleep(Duration::from_millis(300));
    assert!(
        !waiter.is_finished(),
        "ensure must wait while the name is locked"
    );
    drop(lock);
    let entry = waiter.join().unwrap().unwrap();
    assert_eq!(entry.name, "w");
}

#[test]
fn verify_detects_a_damaged_store_copy() {
    let (tmp, store) = temp_store();
    let src = write(&tmp.path().join("d.gguf"), &gguf_bytes(5000, 17));
    let e = store.pull(src.to_str().unwrap(), &named("d")).unwrap();
    let mut bytes = std::fs::read(e.primary_path()).unwrap();
    bytes[100] ^= 1;
    std::fs::write(e.primary_path(), &bytes).unwrap();
    let err = store.verify("d").unwrap_err().to_string();
    assert!(
        err.contains("sha256 mismatch for d.gguf") && err.contains("--force"),
        "{err}"
    );
}
