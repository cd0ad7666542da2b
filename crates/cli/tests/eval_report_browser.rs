//! The HTML report of `agora eval` opens in headless Chromium and shows its charts: bars with
//! confidence-interval whiskers, a reference line, a screenshot as the artifact.

mod run_util;

use std::path::PathBuf;

use run_util::{agora, browser_test};

#[test]
fn eval_report_html_shows_charts_in_chromium() {
    let home = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("report.html");
    let task = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tasks/bias-pairs");
    let model = store::test_model_path();
    let (ok, _, err) = agora(&["eval", model.to_str().unwrap(), "--tasks", task.to_str().unwrap(), "--html", html.to_str().unwrap(), "-t", "2"], home.path());
    assert!(ok, "agora eval failed: {err}");
    browser_test("eval_report.js", &[("REPORT_HTML", html.to_str().unwrap())]);
}
