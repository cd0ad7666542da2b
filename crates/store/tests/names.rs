//! Model names are validated before anything is written.

mod common;

use common::*;
use store::StoreError;

#[test]
fn invalid_names_are_rejected_with_the_reason() {
    let (tmp, store) = temp_store();
    let src = write(&tmp.path().join("ok.gguf"), &gguf_bytes(1000, 20));
    for bad in [
        "../escape",
        "a/b",
        "..",
        ".hidden",
        "",
        "has space",
        "-dash",
    ] {
        let err = store.pull(src.to_str().unwrap(), &named(bad)).unwrap_err();
        assert!(
            matches!(err, StoreError::InvalidName { .. }),
            "{bad:?}: {err}"
        );
        assert!(err.to_string().contains("invalid model name"), "{err}");
    }
    assert!(!tmp.path().join("escape").exists());
    assert!(store.list().unwrap().is_empty());
    assert!(matches!(
        store.get("../x"),
        Err(StoreError::InvalidName { .. })
    ));
    assert!(matches!(
        store.remove("a/b"),
        Err(StoreError::InvalidName { .. })
    ));
}

#[test]
fn a_derived_name_that_is_invalid_suggests_name() {
    let (tmp, store) = temp_store();
    let src = write(&tmp.path().join("my model.gguf"), &gguf_bytes(1000, 21));
    let err = store
        .pull(src.to_str().unwrap(), &quiet())
        .unwrap_err()
        .to_string();
    assert!(err.contains("--name"), "{err}");
    store
        .pull(src.to_str().unwrap(), &named("my-model"))
        .unwrap();
}

#[test]
fn list_ignores_foreign_folders() {
    let (tmp, store) = temp_store();
    let src = write(&tmp.path().join("k.gguf"), &gguf_bytes(1000, 22));
    store.pull(src.to_str().unwrap(), &quiet()).unwrap();
    std::fs::create_dir_all(store.models_dir().join("no-manifest")).unwrap();
    std::fs::create_dir_all(store.models_dir().join(".trash")).unwrap();
    let names: Vec<String> = store.list().unwrap().into_iter().map(|e| e.name).collect();
    assert_eq!(names, ["k"]);
    // get reports the broken one with the way out.
    let err = store.get("no-manifest").unwrap_err().to_string();
    assert!(err.contains("agora rm no-manifest"), "{err}");
}
