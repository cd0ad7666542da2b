//! Model and dataset cards: validation names the field; the writer's output is a valid card that
//! carries inherited obligations and marks unknowns; the real Gemma store model's card.

use card::kb::Relation;
use card::writer::{self, DatasetCardSpec, ModelCardSpec, Recipe};
use card::{check_for_push, Card, CardKind, Terms};

fn problems(text: &str) -> Vec<(String, bool)> {
    Card::parse(text, CardKind::Model).unwrap().problems.into_iter().map(|p| (p.field, p.error)).collect()
}

#[test]
fn each_bad_field_is_named() {
    let cases: &[(&str, &str)] = &[
        ("---\ntags: [a]\n---\n", "license"),
        ("---\nlicense: other\nlicense_link: LICENSE\n---\n", "license_name"),
        ("---\nlicense: other\nlicense_name: x\n---\n", "license_link"),
        ("---\nlicense: mit\nbase_model: not a/valid id\n---\n", "base_model"),
        ("---\nlicense: mit\nbase_model: a/b\nbase_model_relation: cooked\n---\n", "base_model_relation"),
        ("---\nlicense: mit\nbase_model_relation: merge\nbase_model: a/b\n---\n", "base_model_relation"),
        ("---\nlicense: mit\nbase_model_relation: finetune\n---\n", "base_model_relation"),
        ("---\nlicense: mit\nlanguage: English\n---\n", "language"),
        ("---\nlicense: mit\ntags: {a: 1}\n---\n", "tags"),
        ("---\nlicense: mit\ndatasets: [1, 2]\n---\n", "datasets"),
        ("---\nlicense: [mit]\n---\n", "license"),
        ("---\nlicense: mit\nmodel-index:\n- name: m\n  results:\n  - task: {type: x}\n    metrics:\n    - {name: acc}\n---\n", "model-index"),
        ("---\nlicense: mit\nmodel-index: {a: 1}\n---\n", "model-index"),
        ("---\nlicense: mit\nextra_gated_fields: [a]\n---\n", "extra_gated_fields"),
        ("---\nlicense: mit\nextra_gated_prompt: ''\n---\n", "extra_gated_prompt"),
    ];
    for (text, field) in cases {
        let p = problems(text);
        assert!(p.iter().any(|(f, e)| f == field && *e), "{text:?} should fail on {field}: {p:?}");
    }
    let e = Card::parse("---\nlicense: [unclosed\n---\n", CardKind::Model).unwrap_err().to_string();
    assert!(e.contains("not valid YAML"), "{e}");
}

#[test]
fn a_good_card_is_valid_and_typed() {
    let c = Card::parse(
        "---\nlicense: llama3.1\nbase_model:\n- meta-llama/Llama-3.1-8B\nbase_model_relation: finetune\ndatasets: [tatsu-lab/alpaca]\nlanguage: [en, zh-Hans]\ntags: [chat]\nextra_gated_prompt: Accept\n---\n# x\n",
        CardKind::Model,
    )
    .unwrap();
    assert!(c.is_valid(), "{:?}", c.problems);
    assert_eq!(c.relation(), Some(Relation::Finetune));
    assert_eq!(c.license_id(), "llama3.1");
    assert_eq!(c.gated, vec![("extra_gated_prompt".to_string(), "Accept".to_string())]);
    assert!(c.terms().adapted);
}

#[test]
fn hub_check_refuses_invalid_cards_and_warns_on_unknown_terms() {
    assert!(check_for_push("---\nlicense: mit\n---\n# ok\n").iter().all(|p| !p.error));
    assert!(check_for_push("# no front matter\n").iter().any(|p| p.error && p.field == "license"));
    let p = check_for_push("---\nlicense: other\nlicense_name: mine\nlicense_link: LICENSE\n---\n");
    assert!(p.iter().all(|p| !p.error) && !p.is_empty(), "{p:?}");
}

fn spec(terms: Terms, relation: Relation) -> ModelCardSpec {
    ModelCardSpec {
        name: "out.gguf".into(),
        terms,
        base_models: vec!["google/gemma-3-270m".into()],
        relation: Some(relation),
        recipe: Some(Recipe { tool: "agora 0.1.0".into(), command: vec!["agora".into(), "quantize".into(), "in put.gguf".into()], details: [("type".to_string(), "Q4_K_M".to_string())].into() }),
        ..Default::default()
    }
}

#[test]
fn written_cards_are_valid_inherit_obligations_and_mark_unknowns() {
    let text = writer::model_card(&spec(Terms::of("gemma"), Relation::Quantized));
    let c = Card::parse(&text, CardKind::Model).unwrap();
    assert!(c.is_valid(), "{:?}\n{text}", c.problems);
    assert_eq!(c.license.as_deref(), Some("gemma"));
    assert_eq!(c.base_model_relation.as_deref(), Some("quantized"));
    assert!(c.gated.iter().any(|(k, _)| k == "extra_gated_prompt"));
    for needle in [
        "Gemma is provided under and subject to the Gemma Terms of Use found at ai.google.dev/gemma/terms",
        "prohibited_use_policy",
        "## Intended use\n\nunknown",
        "## Out-of-scope use",
        "## Training data and known gaps",
        "## Bias, risks and limitations\n\nunknown",
        "agora quantize 'in put.gguf'",
        "- type: Q4_K_M",
        "§3.1 (condition 4)",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
    // A merge of two licenses: `other` with both named, still valid.
    let mut t = Terms::of("apache-2.0");
    t.licenses.insert("cc-by-nc-4.0".into());
    let text = writer::model_card(&spec(t, Relation::Merge));
    let c = Card::parse(&text, CardKind::Model).unwrap();
    assert_eq!(c.license.as_deref(), Some("other"));
    assert_eq!(c.license_name.as_deref(), Some("apache-2.0+cc-by-nc-4.0"));
    assert!(text.contains("NonCommercial"), "{text}");
}

#[test]
fn set_model_index_replaces_only_that_key_atomically() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("README.md");
    std::fs::write(&p, writer::model_card(&spec(Terms::of("mit"), Relation::Finetune))).unwrap();
    let mi = serde_json::json!([{"name": "out", "results": [{"task": {"type": "multiple-choice"}, "dataset": {"name": "arc", "type": "arc"}, "metrics": [{"type": "acc", "value": 0.5}]}]}]);
    card::set_model_index(&p, &mi).unwrap();
    let c = Card::read(&p, CardKind::Model).unwrap();
    assert!(c.is_valid(), "{:?}", c.problems);
    assert_eq!(c.model_index.as_ref().unwrap()[0]["results"][0]["metrics"][0]["value"], 0.5);
    assert_eq!(c.license.as_deref(), Some("mit"));
    assert!(c.body.contains("## Recipe"));
    let e = card::set_model_index(&p, &serde_json::json!([{"results": []}])).unwrap_err().to_string();
    assert!(e.contains("model-index"), "{e}");
    assert!(std::fs::read_dir(d.path()).unwrap().count() == 1, "no temp files left");
}

#[test]
fn dataset_cards_are_datasheets() {
    let t = writer::dataset_card(&DatasetCardSpec { name: "d".into(), license: "cc-by-sa-4.0".into(), source: Some("wikipedia".into()), ..Default::default() });
    let c = Card::parse(&t, CardKind::Dataset).unwrap();
    assert!(c.is_valid(), "{:?}", c.problems);
    for s in ["## Source\n\nwikipedia", "## Collection process\n\nunknown", "## Known biases and gaps\n\nunknown"] {
        assert!(t.contains(s), "{t}");
    }
}

#[test]
fn the_gemma_store_model_has_a_correct_card() {
    let path = store::test_model_path();
    let a = card::inspect(&path).unwrap();
    assert_eq!(a.license, "gemma");
    assert_eq!(a.base_models, vec!["google/gemma-3-270m".to_string()]);
    assert_eq!(a.relation, Some(Relation::Quantized), "{:?}", a.inferred);
    let text = writer::model_card(&a.card_spec());
    let c = Card::parse(&text, CardKind::Model).unwrap();
    assert!(c.is_valid(), "{:?}", c.problems);
    assert_eq!(c.base_model_relation.as_deref(), Some("quantized"));
    assert!(text.contains("§3.2") && text.contains("ai.google.dev/gemma/prohibited_use_policy"), "{text}");
    assert!(a.terms().acceptance_required().iter().any(|l| l.id == "gemma"));
}
