//! A self-contained SVG loss curve: training loss per step as a line, evaluation loss as points,
//! axes with tick labels and a title. No scripts, fonts or external references.

use std::fmt::Write;

use crate::metrics::MetricRow;

const W: f64 = 720.0;
const H: f64 = 420.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 24.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 48.0;

/// Round tick positions (1, 2 or 5 times a power of ten) covering [lo, hi].
pub fn ticks(lo: f64, hi: f64, want: usize) -> Vec<f64> {
    if hi.partial_cmp(&lo) != Some(std::cmp::Ordering::Greater) {
        return vec![lo];
    }
    let raw = (hi - lo) / want.max(1) as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0].into_iter().map(|m| m * mag).find(|s| *s >= raw).unwrap_or(10.0 * mag);
    let mut t = (lo / step).ceil() * step;
    let mut out = Vec::new();
    while t <= hi + step * 1e-9 {
        out.push(if t.abs() < step * 1e-9 { 0.0 } else { t });
        t += step;
    }
    out
}

fn label(v: f64) -> String {
    if v != 0.0 && (v.abs() >= 1e5 || v.abs() < 1e-3) {
        return format!("{v:.1e}");
    }
    let s = format!("{v:.4}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The SVG document for `rows` under `title`.
pub fn loss_curve(rows: &[MetricRow], title: &str) -> String {
    let train: Vec<(f64, f64)> = rows
        .iter()
        .filter_map(|r| match r {
            MetricRow::Train(t) if t.loss.is_finite() => Some((t.step as f64, t.loss)),
            _ => None,
        })
        .collect();
    let eval: Vec<(f64, f64)> = rows
        .iter()
        .filter_map(|r| match r {
            MetricRow::Eval(e) if e.eval_loss.is_finite() => Some((e.step as f64, e.eval_loss)),
            _ => None,
        })
        .collect();
    let all = train.iter().chain(&eval);
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
    for &(x, y) in all {
        (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
    }
    if x0 > x1 {
        (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
    }
    x0 = x0.min(0.0);
    if x1 <= x0 {
        x1 = x0 + 1.0;
    }
    let pad = ((y1 - y0) * 0.05).max(1e-3);
    (y0, y1) = ((y0 - pad).max(0.0), y1 + pad);
    let (pw, ph) = (W - LEFT - RIGHT, H - TOP - BOTTOM);
    let sx = |x: f64| LEFT + (x - x0) / (x1 - x0) * pw;
    let sy = |y: f64| TOP + (1.0 - (y - y0) / (y1 - y0)) * ph;

    let mut s = String::new();
    let _ = writeln!(s, r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    let _ = writeln!(s, r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">"#);
    let _ = writeln!(s, r#"<rect width="{W}" height="{H}" fill="white"/>"#);
    let _ = writeln!(s, r#"<text x="{}" y="24" text-anchor="middle" font-size="16">{}</text>"#, W / 2.0, escape(title));
    // Grid and tick labels.
    for t in ticks(y0, y1, 6) {
        let y = sy(t);
        let _ = writeln!(s, r##"<line class="grid" x1="{LEFT}" y1="{y:.2}" x2="{:.2}" y2="{y:.2}" stroke="#ddd"/>"##, W - RIGHT);
        let _ = writeln!(s, r#"<text class="ytick" x="{:.2}" y="{:.2}" text-anchor="end">{}</text>"#, LEFT - 6.0, y + 4.0, label(t));
    }
    for t in ticks(x0, x1, 8) {
        let x = sx(t);
        let _ = writeln!(s, r##"<line class="grid" x1="{x:.2}" y1="{TOP}" x2="{x:.2}" y2="{:.2}" stroke="#eee"/>"##, H - BOTTOM);
        let _ = writeln!(s, r#"<text class="xtick" x="{x:.2}" y="{:.2}" text-anchor="middle">{}</text>"#, H - BOTTOM + 16.0, label(t));
    }
    // Axes.
    let _ = writeln!(s, r#"<line x1="{LEFT}" y1="{:.2}" x2="{:.2}" y2="{:.2}" stroke="black"/>"#, H - BOTTOM, W - RIGHT, H - BOTTOM);
    let _ = writeln!(s, r#"<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{:.2}" stroke="black"/>"#, H - BOTTOM);
    let _ = writeln!(s, r#"<text x="{:.2}" y="{:.2}" text-anchor="middle">step</text>"#, LEFT + pw / 2.0, H - 10.0);
    let _ = writeln!(s, r#"<text x="16" y="{:.2}" text-anchor="middle" transform="rotate(-90 16 {:.2})">loss (nats/token)</text>"#, TOP + ph / 2.0, TOP + ph / 2.0);
    // Data.
    if !train.is_empty() {
        let pts: Vec<String> = train.iter().map(|&(x, y)| format!("{:.2},{:.2}", sx(x), sy(y))).collect();
        let _ = writeln!(s, r##"<polyline id="train" fill="none" stroke="#1f77b4" stroke-width="1.5" points="{}"/>"##, pts.join(" "));
    }
    for &(x, y) in &eval {
        let _ = writeln!(s, r##"<circle class="eval" cx="{:.2}" cy="{:.2}" r="4" fill="#d62728"><title>step {x}: eval loss {y:.4}</title></circle>"##, sx(x), sy(y));
    }
    // Legend.
    let lx = W - RIGHT - 150.0;
    let _ = writeln!(s, r##"<line x1="{lx}" y1="{}" x2="{}" y2="{}" stroke="#1f77b4" stroke-width="1.5"/><text x="{}" y="{}">train loss</text>"##, TOP + 10.0, lx + 20.0, TOP + 10.0, lx + 26.0, TOP + 14.0);
    if !eval.is_empty() {
        let _ = writeln!(s, r##"<circle cx="{}" cy="{}" r="4" fill="#d62728"/><text x="{}" y="{}">eval loss</text>"##, lx + 10.0, TOP + 28.0, lx + 26.0, TOP + 32.0);
    }
    s.push_str("</svg>\n");
    s
}

/// Writes the loss curve to `path` atomically.
pub fn write_loss_curve(path: &std::path::Path, rows: &[MetricRow], title: &str) -> Result<(), crate::FinetuneError> {
    crate::metrics::write_atomic(path, loss_curve(rows, title).as_bytes())
}
