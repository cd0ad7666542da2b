//! Table-driven license scenarios: each row is a real kind of derivative and names the clause the
//! expected verdict rests on. The clause must appear in the report (as a conflict when one is
//! expected, as a requirement otherwise), so a KB edit that drops it fails here.

use card::kb::{self, Relation, Use};
use card::{check, Question, Terms};

struct Row {
    what: &'static str,
    bases: &'static [&'static str],
    datasets: &'static [&'static str],
    relation: Relation,
    name: Option<&'static str>,
    use_: Use,
    conflict: bool,
    /// (license id, clause) that must be cited.
    cites: (&'static str, &'static str),
}

use Relation::*;
use Use::*;

const fn row(
    what: &'static str,
    bases: &'static [&'static str],
    datasets: &'static [&'static str],
    relation: Relation,
    name: Option<&'static str>,
    use_: Use,
    conflict: bool,
    cites: (&'static str, &'static str),
) -> Row {
    Row { what, bases, datasets, relation, name, use_, conflict, cites }
}

const ROWS: &[Row] = &[
    row("merge apache + cc-by-nc is non-commercial", &["apache-2.0", "cc-by-nc-4.0"], &[], Merge, None, Commercial, true, ("cc-by-nc-4.0", "§2(a)(1)")),
    row("the same merge for research is fine", &["apache-2.0", "cc-by-nc-4.0"], &[], Merge, None, Research, false, ("cc-by-nc-4.0", "§2(a)(1)")),
    row("llama3.1 fine-tune named MyBot breaks naming", &["llama3.1"], &[], Finetune, Some("MyBot"), Commercial, true, ("llama3.1", "§1.b.i")),
    row("llama3.1 fine-tune named Llama-MyBot is fine", &["llama3.1"], &[], Finetune, Some("Llama-MyBot-8B"), Commercial, false, ("llama3.1", "§1.b.i")),
    row("llama3.1 quantization keeps the Built-with display", &["llama3.1"], &[], Quantized, Some("Meta-Llama-3.1-8B-Q4_K_M"), Commercial, false, ("llama3.1", "§1.b.i")),
    row("llama3.1 carries the 700M MAU threshold", &["llama3.1"], &[], Quantized, None, Commercial, false, ("llama3.1", "§2")),
    row("llama3.1 AUP passed down", &["llama3.1"], &[], Adapter, Some("Llama-lora"), Commercial, false, ("llama3.1", "§1.b.iv")),
    row("llama3.2 adapter named Assistant breaks naming", &["llama3.2"], &[], Adapter, Some("Assistant"), Personal, true, ("llama3.2", "§1.b.i")),
    row("llama3.2 notice file", &["llama3.2"], &[], Converted, None, Commercial, false, ("llama3.2", "§1.b.iii")),
    row("llama3.3 distillation is allowed under its terms", &["llama3.3"], &[], Distill, Some("Llama-distilled-1B"), Commercial, false, ("llama3.3", "§1.b.i")),
    row("llama3.3 distillation named Student breaks naming", &["llama3.3"], &[], Distill, Some("Student-1B"), Commercial, true, ("llama3.3", "§1.b.i")),
    row("llama3 fine-tune must start with Llama 3", &["llama3"], &[], Finetune, Some("Llama-2-style"), Commercial, true, ("llama3", "§1.b.i")),
    row("llama3 fine-tune named Llama-3-Chat is fine", &["llama3"], &[], Finetune, Some("Llama-3-Chat"), Commercial, false, ("llama3", "§1.b.i")),
    row("llama3 outputs cannot train another LLM", &["llama3"], &[], Distill, Some("Llama 3 student"), Research, true, ("llama3", "§1.b.v")),
    row("llama2 outputs cannot train another LLM", &["llama2"], &[], Distill, None, Research, true, ("llama2", "§1.b.v")),
    row("llama2 fine-tune keeps the notice file", &["llama2"], &[], Finetune, Some("MyBot"), Commercial, false, ("llama2", "§1.b.iii")),
    row("llama2 fine-tune carries the 700M MAU threshold", &["llama2"], &[], Finetune, None, Commercial, false, ("llama2", "§2")),
    row("gemma quantization passes the prohibited use policy down", &["gemma"], &[], Quantized, None, Commercial, false, ("gemma", "§3.2")),
    row("gemma fine-tune must put restrictions in its terms", &["gemma"], &[], Finetune, Some("MyGemmaBot"), Commercial, false, ("gemma", "§3.1 (condition 1)")),
    row("gemma conversion ships the Notice file", &["gemma"], &[], Converted, None, Personal, false, ("gemma", "§3.1 (condition 4)")),
    row("gemma distillation is a Model Derivative", &["gemma"], &[], Distill, None, Commercial, false, ("gemma", "§1.1(e)")),
    row("cc-by-sa merged with llama3.1 is a share-alike conflict", &["cc-by-sa-4.0", "llama3.1"], &[], Merge, Some("Llama-sa"), Research, true, ("cc-by-sa-4.0", "§3(b)(1)")),
    row("cc-by-sa merged with mit is fine, stays share-alike", &["cc-by-sa-4.0", "mit"], &[], Merge, None, Commercial, false, ("cc-by-sa-4.0", "§3(b)(1)")),
    row("cc-by-sa with cc-by-nc data conflicts", &["cc-by-sa-4.0"], &["cc-by-nc-4.0"], Finetune, None, Research, true, ("cc-by-sa-4.0", "§3(b)(1)")),
    row("apache fine-tune on cc-by-nc data is not commercial", &["apache-2.0"], &["cc-by-nc-4.0"], Finetune, None, Commercial, true, ("cc-by-nc-4.0", "§2(a)(1)")),
    row("apache quantization keeps NOTICE", &["apache-2.0"], &[], Quantized, None, Commercial, false, ("apache-2.0", "§4(d)")),
    row("apache fine-tune marks modified files", &["apache-2.0"], &[], Finetune, Some("anything"), Commercial, false, ("apache-2.0", "§4(b)")),
    row("mit merge keeps the notice", &["mit", "apache-2.0"], &[], Merge, None, Commercial, false, ("mit", "notice condition (second paragraph)")),
    row("bsd-3 conversion: no endorsement", &["bsd-3-clause"], &[], Converted, None, Commercial, false, ("bsd-3-clause", "condition 3")),
    row("cc-by adapter credits the creator", &["cc-by-4.0"], &[], Adapter, None, Commercial, false, ("cc-by-4.0", "§3(a)(1)(A)")),
    row("bigscience openrail-m fine-tune passes attachment A down", &["bigscience-openrail-m"], &[], Finetune, None, Commercial, false, ("bigscience-openrail-m", "paragraph 5 and Attachment A")),
    row("bigscience openrail-m quantization: restrictions in the license", &["bigscience-openrail-m"], &[], Quantized, None, Commercial, false, ("bigscience-openrail-m", "§4(a) (Section III, paragraph 4.a)")),
    row("creativeml openrail-m merge passes attachment A down", &["creativeml-openrail-m", "mit"], &[], Merge, None, Commercial, false, ("creativeml-openrail-m", "paragraph 5 and Attachment A")),
    row("openrail-m with cc-by-sa is a share-alike conflict", &["creativeml-openrail-m", "cc-by-sa-4.0"], &[], Merge, None, Research, true, ("cc-by-sa-4.0", "§3(b)(1)")),
    row("falcon-180b hosting needs a TII license", &["falcon-180b"], &[], Finetune, None, Commercial, false, ("falcon-180b", "\"Hosting Use\"")),
    row("qwen outputs cannot train another LLM", &["tongyi-qianwen"], &[], Distill, None, Commercial, true, ("tongyi-qianwen", "§5(b)")),
    row("qwen fine-tune carries the 100M MAU threshold", &["tongyi-qianwen"], &[], Finetune, None, Commercial, false, ("tongyi-qianwen", "§4")),
    row("mistral research license forbids commercial use", &["mrl"], &[], Quantized, None, Commercial, true, ("mrl", "§2.1 and definition of \"Research Purposes\"")),
    row("mistral research license allows research", &["mrl"], &[], Finetune, None, Research, false, ("mrl", "§2.2")),
    row("mrl merged with llama3.1 conflicts (both keep their terms)", &["mrl", "llama3.1"], &[], Merge, Some("Llama-mix"), Research, true, ("mrl", "§2.3")),
    row("unknown license is never permissive (personal)", &["other"], &[], Quantized, None, Personal, true, ("other", "unknown terms")),
    row("unknown license merged with mit is still review", &["mit", "some-custom-license"], &[], Merge, None, Research, true, ("other", "unknown terms")),
    row("gemma + llama3.1 merge: union of both notices", &["gemma", "llama3.1"], &[], Merge, Some("Llama-Gemma-mix"), Commercial, false, ("gemma", "§3.1 (condition 4)")),
];

#[test]
fn at_least_thirty_scenarios() {
    assert!(ROWS.len() >= 30, "{} rows", ROWS.len());
}

#[test]
fn every_scenario_gets_the_expected_verdict_and_cites_its_clause() {
    let mut failures = Vec::new();
    for r in ROWS {
        let parents: Vec<Terms> = r.bases.iter().map(|b| Terms::of(b)).collect();
        let terms = Terms::derive(&parents, r.datasets, r.relation);
        let rep = check(&Question { terms, relation: Some(r.relation), name: r.name.map(Into::into), use_: r.use_ });
        let (lic, clause) = r.cites;
        let cited = if r.conflict {
            rep.conflicts.iter().any(|c| c.license == lic && c.clause == clause)
        } else {
            rep.required.iter().any(|q| q.license == lic && q.obligation.clause == clause)
        };
        if rep.ok() == r.conflict || !cited {
            failures.push(format!("{}: ok={} cited={} conflicts={:#?}", r.what, rep.ok(), cited, rep.conflicts));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn every_license_in_the_issue_is_in_the_kb_with_a_source() {
    let want = [
        "apache-2.0", "mit", "bsd-3-clause", "cc-by-4.0", "cc-by-sa-4.0", "cc-by-nc-4.0", "llama2", "llama3", "llama3.1",
        "llama3.2", "llama3.3", "gemma", "bigscience-openrail-m", "creativeml-openrail-m", "falcon-180b", "tongyi-qianwen",
        "mrl", "other",
    ];
    for id in want {
        let l = kb::find(id).unwrap();
        assert!(!l.version.is_empty() && !l.url.is_empty(), "{id}");
        assert!(!l.obligations.is_empty(), "{id} has no obligations");
        assert!(l.obligations.iter().all(|o| !o.clause.trim().is_empty()), "{id}: an obligation cites no clause");
    }
    assert_eq!(kb::all().len(), want.len());
    // HF spellings of custom licenses resolve through license_name.
    assert_eq!(kb::resolve("other", Some("falcon-180b-license")).id, "falcon-180b");
    assert_eq!(kb::resolve("other", Some("tongyi-qianwen")).id, "tongyi-qianwen");
    assert_eq!(kb::resolve("other", Some("my-own-terms")).id, "other");
    assert_eq!(kb::resolve("LLAMA3.1", None).id, "llama3.1");
}

#[test]
fn gating_licenses_require_acceptance_and_permissive_ones_do_not() {
    for id in ["gemma", "llama2", "llama3", "llama3.1", "llama3.2", "llama3.3"] {
        assert!(kb::find(id).unwrap().acceptance_required, "{id}");
    }
    for id in ["apache-2.0", "mit", "cc-by-4.0"] {
        assert!(!kb::find(id).unwrap().acceptance_required, "{id}");
    }
}

#[test]
fn attribution_lines_carry_the_required_notices() {
    let a = card::attribution_for(&Terms::of("gemma"));
    assert!(a.iter().any(|l| l.starts_with("Gemma is provided under and subject to the Gemma Terms of Use")), "{a:?}");
    assert!(a.iter().any(|l| l.contains("prohibited_use_policy")), "{a:?}");
    let a = card::attribution_for(&Terms::of("llama3.1"));
    assert!(a.contains(&"Built with Llama".to_string()), "{a:?}");
    assert!(card::attribution_for(&Terms::of("mit")).is_empty());
}
