//! `agora eval --card README.md`: the results land in the card's `model-index` (the rest of the
//! card is kept) and in a signed lineage record of the report.

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

    // The same scores in a signed lineage record of the JSON report, chained to the model.
    let results = home.path().join("eval-results.json");
    let record: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(home.path().join("lineage.json")).unwrap()).unwrap();
    assert_eq!(record["artifact"]["path"], "eval-results.json", "{record}");
    assert_eq!(record["recipe"]["relation"], "evaluation", "{record}");
    assert_eq!(record["recipe"]["model-index"], yaml["model-index"], "card and record carry the same scores");
    let roles: Vec<&str> = record["inputs"].as_array().unwrap().iter().map(|i| i["role"].as_str().unwrap()).collect();
    assert!(roles.contains(&"model") && roles.contains(&"task"), "{roles:?}");
    assert!(record["signature"]["value"].as_str().is_some_and(|v| v.len() == 128), "{record}");
    let (ok, out, err) = agora(&["lineage", "verify", results.to_str().unwrap(), "--json"], home.path());
    assert!(ok, "{out}{err}");
    // Edited scores break the chain, and verify says which file.
    let edited = std::fs::read_to_string(&results).unwrap().replacen("\"acc\"", "\"acc \"", 1);
    std::fs::write(&results, edited).unwrap();
    let (ok, out, err) = agora(&["lineage", "verify", results.to_str().unwrap()], home.path());
    assert!(!ok && format!("{out}{err}").contains("eval-results.json"), "{out}{err}");
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
