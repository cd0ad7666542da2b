//! Reports from constructed results: the HF `model-index` value, the side-by-side table, and a
//! self-contained, escaped HTML page with one bar (and whisker) per category per model.

use eval::bias::pairs::{summarize, Direction, PairScore};
use eval::report::{html, model_index, Report, Run};
use eval::suite::TaskResult;

fn run(model: &str, more: f64) -> Run {
    let pairs = (0..10).map(|i| PairScore { bias_type: if i < 4 { "age<&>".into() } else { "gender".into() }, direction: Direction::Stereo, ll_more: if i % 2 == 0 { more } else { -5.0 }, ll_less: -4.0 }).collect();
    Run { model: model.into(), path: format!("/m/{model}.gguf"), prompt_format: "transcript".into(), results: vec![TaskResult::CrowsPairs(summarize("pairs", pairs))] }
}

#[test]
fn model_index_has_the_hub_layout() {
    let mi = model_index(&run("base", -3.0));
    let r = &mi[0]["results"][0];
    assert_eq!(mi[0]["name"], "base");
    assert_eq!(r["task"]["type"], "text-generation");
    assert_eq!(r["dataset"]["name"], "pairs");
    let m = r["metrics"].as_array().unwrap();
    assert_eq!(m[0]["type"], "pct_stereotype");
    assert_eq!(m[0]["value"], 0.5); // 5 of 10 sent_more score higher
    assert_eq!(m.len(), 3, "overall + two categories");
}

#[test]
fn compare_table_and_html() {
    let rep = Report::new(vec![run("base", -3.0), run("q8", -6.0)]);
    let t = rep.table();
    assert!(t.lines().next().unwrap().contains("base") && t.contains("q8"));
    assert!(t.contains("0.500 [0.19,0.81]") && t.contains("0.000 [0.00,0.31]"), "{t}");
    let h = html::render(&rep);
    assert!(h.contains("age&lt;&amp;&gt;") && !h.contains("age<&>"), "labels are escaped");
    assert_eq!(h.matches("<rect class=\"bar\"").count(), 2 * 3, "two models x (two categories + all)");
    assert_eq!(h.matches("<g class=\"ci\"").count(), 6);
    assert!(!h.contains("<script") && !h.contains("src=") && !h.contains("<link"), "no scripts or external assets");
}
