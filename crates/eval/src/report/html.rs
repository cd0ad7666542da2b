//! A self-contained HTML report: inline CSS and SVG, no scripts, no external assets, so it
//! opens from disk, in a mail attachment or a CI artifact viewer alike.

use std::fmt::Write;

use super::metrics::{bars, headline, Chart};
use super::Report;
use crate::suite::TaskResult;

/// One color per model (up to three compared; more cycle).
const COLORS: [&str; 3] = ["#3366cc", "#dc7633", "#2e8b57"];

pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

pub fn render(report: &Report) -> String {
    let mut h = String::new();
    let models: Vec<String> = report.runs.iter().map(|r| escape(&r.model)).collect();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Agora eval: {}</title>\n<style>{CSS}</style></head><body>\n<h1>Evaluation report</h1>\n<p class=\"models\">",
        models.join(" vs ")
    );
    for (i, m) in models.iter().enumerate() {
        let _ = write!(h, "<span class=\"key\"><svg width=\"12\" height=\"12\"><rect width=\"12\" height=\"12\" fill=\"{}\"/></svg> {m}</span> ", COLORS[i % 3]);
    }
    h += "</p>\n<p class=\"note\">Intervals are exact 95% Clopper-Pearson intervals. Counterfactual gaps use seeded permutation tests (labels shuffled within each prompt template) with Holm-adjusted p-values.</p>\n";
    let Some(first) = report.runs.first() else {
        return h + "</body></html>\n";
    };
    for (ti, t) in first.results.iter().enumerate() {
        let _ = writeln!(h, "<section class=\"task\" id=\"task-{ti}\"><h2>{}</h2>", escape(t.task()));
        h += &metric_table(report, ti);
        let per_run: Vec<Vec<Chart>> = report.runs.iter().map(|r| r.results.get(ti).map(bars).unwrap_or_default()).collect();
        for (ci, chart) in per_run[0].iter().enumerate() {
            let group: Vec<Option<&Chart>> = per_run.iter().map(|c| c.get(ci)).collect();
            h += &svg_chart(chart, &group);
        }
        for (ri, r) in report.runs.iter().enumerate() {
            if let Some(x) = r.results.get(ti) {
                h += &details(x, &models[ri]);
            }
        }
        h += "</section>\n";
    }
    h + "</body></html>\n"
}

const CSS: &str = "body{font-family:system-ui,sans-serif;max-width:980px;margin:2em auto;color:#222}\
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}\
td:first-child,th:first-child{text-align:left}.sig{color:#b00;font-weight:bold}.note{color:#555;font-size:90%}\
.key{margin-right:1em}svg.chart{display:block;margin:1em 0}details{margin:.5em 0}pre{white-space:pre-wrap}";

fn metric_table(report: &Report, ti: usize) -> String {
    let mut h = String::from("<table class=\"metrics\"><tr><th>metric</th>");
    for r in &report.runs {
        let _ = write!(h, "<th>{}</th>", escape(&r.model));
    }
    h += "</tr>\n";
    let names: Vec<String> = report.runs[0].results.get(ti).map(headline).unwrap_or_default().into_iter().map(|m| m.name).collect();
    for n in names {
        let _ = write!(h, "<tr><td>{}</td>", escape(&n));
        for r in &report.runs {
            let cell = r.results.get(ti).and_then(|t| headline(t).into_iter().find(|m| m.name == n)).map_or("-".into(), |m| m.cell());
            let _ = write!(h, "<td>{}</td>", escape(&cell));
        }
        h += "</tr>\n";
    }
    h + "</table>\n"
}

/// Horizontal grouped bars: one group per label, one bar per model, CI whiskers, a dashed
/// reference line when the chart has one.
fn svg_chart(chart: &Chart, runs: &[Option<&Chart>]) -> String {
    let (left, width, bar_h, gap) = (180.0, 520.0, 14.0, 10.0);
    let n = runs.len().max(1) as f64;
    let group_h = bar_h * n + gap;
    let height = 40.0 + group_h * chart.bars.len() as f64 + 24.0;
    let x = |v: f64| left + width * (v / chart.max).clamp(0.0, 1.0);
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{:.0}\" height=\"{height:.0}\" role=\"img\" aria-label=\"{t}\"><title>{t}</title>\
<text x=\"0\" y=\"16\" font-size=\"13\" font-weight=\"bold\">{t}</text>",
        left + width + 60.0,
        t = escape(&chart.title)
    );
    let bottom = height - 24.0;
    for k in 0..=4 {
        let v = chart.max * k as f64 / 4.0;
        let _ = write!(s, "<line x1=\"{0:.1}\" y1=\"30\" x2=\"{0:.1}\" y2=\"{bottom:.1}\" stroke=\"#eee\"/><text x=\"{0:.1}\" y=\"{1:.1}\" font-size=\"10\" text-anchor=\"middle\">{v:.2}</text>", x(v), bottom + 14.0);
    }
    for (bi, b) in chart.bars.iter().enumerate() {
        let y0 = 36.0 + group_h * bi as f64;
        let _ = write!(s, "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"end\">{}</text>", left - 6.0, y0 + bar_h * n / 2.0 + 4.0, escape(&b.label));
        for (ri, run) in runs.iter().enumerate() {
            let Some(rb) = run.and_then(|c| c.bars.iter().find(|x| x.label == b.label)) else { continue };
            let y = y0 + bar_h * ri as f64;
            let _ = write!(
                s,
                "<rect class=\"bar\" x=\"{left:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{}\"><title>{}: {:.3}</title></rect>",
                x(rb.value) - left,
                bar_h - 2.0,
                COLORS[ri % 3],
                escape(&rb.label),
                rb.value
            );
            if let Some((lo, hi)) = rb.ci {
                let ym = y + (bar_h - 2.0) / 2.0;
                let _ = write!(
                    s,
                    "<g class=\"ci\" stroke=\"#111\" stroke-width=\"1.2\"><line x1=\"{0:.1}\" y1=\"{ym:.1}\" x2=\"{1:.1}\" y2=\"{ym:.1}\"/><line x1=\"{0:.1}\" y1=\"{2:.1}\" x2=\"{0:.1}\" y2=\"{3:.1}\"/><line x1=\"{1:.1}\" y1=\"{2:.1}\" x2=\"{1:.1}\" y2=\"{3:.1}\"/></g>",
                    x(lo),
                    x(hi),
                    ym - 4.0,
                    ym + 4.0
                );
            }
        }
    }
    if let Some(r) = chart.reference {
        let _ = write!(s, "<line class=\"reference\" x1=\"{0:.1}\" y1=\"30\" x2=\"{0:.1}\" y2=\"{bottom:.1}\" stroke=\"#900\" stroke-dasharray=\"4 3\"/>", x(r));
    }
    s + "</svg>\n"
}

fn details(t: &TaskResult, model: &str) -> String {
    let mut h = String::new();
    match t {
        TaskResult::Counterfactual(r) => {
            let _ = write!(h, "<details open><summary>{model}: gaps between groups (alpha {})</summary><table><tr><th>attribute</th><th>groups</th><th>metric</th><th>gap</th><th>p</th><th>p (Holm)</th></tr>", r.alpha);
            for g in &r.gaps {
                let cls = if g.significant { " class=\"sig\"" } else { "" };
                let _ = write!(
                    h,
                    "<tr{cls}><td>{}</td><td>{} vs {}</td><td>{}</td><td>{:.3}</td><td>{:.4}</td><td>{:.4}</td></tr>",
                    escape(&g.attribute),
                    escape(&g.a),
                    escape(&g.b),
                    g.metric,
                    g.value,
                    g.p,
                    g.p_holm
                );
            }
            h += "</table></details>\n";
        }
        TaskResult::Safety(r) => {
            let _ = write!(h, "<details><summary>{model}: responses</summary><table><tr><th>category</th><th>expected</th><th>verdict</th><th>prompt</th><th>response</th></tr>");
            for c in &r.cases {
                let cls = if c.expected != c.verdict { " class=\"sig\"" } else { "" };
                let _ = write!(h, "<tr{cls}><td>{}</td><td>{:?}</td><td>{:?}</td><td>{}</td><td><pre>{}</pre></td></tr>", escape(&c.category), c.expected, c.verdict, escape(&c.prompt), escape(&c.response));
            }
            h += "</table></details>\n";
        }
        _ => {}
    }
    h
}
