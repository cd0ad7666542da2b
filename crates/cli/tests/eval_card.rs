//! `agora eval --card README.md`: the results land in the card's `model-index`, the rest of the
//! card is kept.

mod run_util;

use run_util::{agora, testdata};

#[test]
fn eval_results_are_recorded_in_the_model_card() {
    let home = tempfile::tempdir().unwrap();
    let readme = home.path().join("README.md");
    std::fs::write(&readme, "---\nlicense: apache-2.0\ntags:\n- test\n---\n# Tiny Llama\n\nA random test model.\n").unwrap();
    let tasks = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tasks/world-facts");
    let (ok, _, err) = agora(&["eval", testdata("tiny-llama").to_str().unwrap(), "--tasks", tasks.to_str().unwrap(), "--card", readme.to_str().unwrap(), "-t", "2"], home.path());
    assert!(ok, "{err}");
    let text = std::fs::read_to_string(&readme).unwrap();
    let front = text.split("---\n").nth(1).unwrap();
    let yaml: serde_json::Value = plain_yaml(front);
    assert_eq!(yaml["license"], "apache-2.0", "{text}");
    let results = &yaml["model-index"][0]["results"];
    assert!(results.as_array().is_some_and(|r| !r.is_empty()), "{text}");
    assert!(front.contains("agora_world_facts") && front.contains("acc"), "{text}");
    assert!(text.contains("A random test model."), "the card body must be kept: {text}");
    // --card with --compare makes no sense: refused before any work.
    let (ok, _, err) = agora(&["eval", "--compare", "a", "b", "--tasks", tasks.to_str().unwrap(), "--card", readme.to_str().unwrap()], home.path());
    assert!(!ok && err.contains("--card"), "{err}");
}

/// The front matter read back through the card crate's own parser would hide a writer bug; a
/// plain YAML reader is used instead.
fn plain_yaml(front: &str) -> serde_json::Value {
    let v: serde_yaml::Value = serde_yaml::from_str(front).expect("the card's front matter is YAML");
    serde_json::to_value(v).unwrap()
}
