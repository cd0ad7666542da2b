use finetune::metrics::{EvalRow, MetricRow, TrainRow};
use finetune::svg::{loss_curve, ticks, write_loss_curve};
use quick_xml::events::Event;

fn rows() -> Vec<MetricRow> {
    let mut rows: Vec<MetricRow> = (1..=30)
        .map(|s| {
            MetricRow::Train(TrainRow {
                step: s,
                epoch: (s - 1) / 10,
                loss: 3.0 / (1.0 + 0.1 * s as f64),
                lr: 1e-4,
                grad_norm: 1.0,
                tokens: 64,
                tokens_per_s: 10.0,
                elapsed_s: s as f64,
            })
        })
        .collect();
    for s in [10, 20, 30] {
        rows.push(MetricRow::Eval(EvalRow { step: s, epoch: s / 10 - 1, eval_loss: 3.2 / (1.0 + 0.1 * s as f64), eval_tokens: 10, elapsed_s: 0.0 }));
    }
    rows
}

struct Parsed {
    root: String,
    polyline_points: Vec<(f64, f64)>,
    circles: usize,
    texts: Vec<String>,
}

/// Parses the whole document with a real XML parser (it fails on unbalanced or malformed markup).
fn parse(svg: &str) -> Parsed {
    let mut r = quick_xml::Reader::from_str(svg);
    r.config_mut().check_end_names = true;
    let mut p = Parsed { root: String::new(), polyline_points: Vec::new(), circles: 0, texts: Vec::new() };
    let mut depth = 0i32;
    loop {
        let ev = r.read_event().unwrap_or_else(|e| panic!("SVG is not well-formed XML: {e}"));
        match ev {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let name = String::from_utf8(e.name().as_ref().to_vec()).unwrap();
                if p.root.is_empty() {
                    p.root = name.clone();
                }
                if matches!(ev, Event::Start(_)) {
                    depth += 1;
                }
                if name == "circle" && e.attributes().any(|a| a.unwrap().value.as_ref() == b"eval") {
                    p.circles += 1;
                }
                if name == "polyline" {
                    let pts = e.attributes().map(|a| a.unwrap()).find(|a| a.key.as_ref() == b"points").unwrap();
                    let pts = String::from_utf8(pts.value.to_vec()).unwrap();
                    p.polyline_points = pts
                        .split_whitespace()
                        .map(|xy| {
                            let (x, y) = xy.split_once(',').unwrap();
                            (x.parse().unwrap(), y.parse().unwrap())
                        })
                        .collect();
                }
            }
            Event::End(_) => depth -= 1,
            Event::Text(t) => p.texts.push(String::from_utf8_lossy(&t).trim().to_string()),
            Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(depth, 0);
    p
}

#[test]
fn the_curve_is_well_formed_svg_with_every_point() {
    let svg = loss_curve(&rows(), "LoRA fine-tune <gemma3-270m> & co");
    let p = parse(&svg);
    assert_eq!(p.root, "svg");
    assert_eq!(p.polyline_points.len(), 30, "one point per training step");
    assert_eq!(p.circles, 3, "one marker per evaluation");
    // Loss falls, so y (downwards in SVG) grows; steps go right.
    for w in p.polyline_points.windows(2) {
        assert!(w[1].0 > w[0].0 && w[1].1 > w[0].1, "{w:?}");
    }
    assert!(p.texts.iter().any(|t| t.contains("gemma3-270m")), "title is escaped and present");
    for want in ["10", "20", "30", "step", "train loss", "eval loss"] {
        assert!(p.texts.iter().any(|t| t == want), "missing label {want}: {:?}", p.texts);
    }
    assert!(!svg.contains("<script") && !svg.contains("href"), "self-contained");
}

#[test]
fn ticks_are_round_numbers_inside_the_range() {
    assert_eq!(ticks(0.0, 30.0, 6), vec![0.0, 5.0, 10.0, 15.0, 20.0, 25.0, 30.0]);
    let t = ticks(0.83, 2.71, 6);
    assert_eq!(t.first().copied(), Some(1.0));
    assert!(t.iter().all(|&v| (0.83..=2.71).contains(&v)));
}

#[test]
fn empty_metrics_still_make_a_valid_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("loss.svg");
    write_loss_curve(&p, &[], "nothing yet").unwrap();
    let parsed = parse(&std::fs::read_to_string(&p).unwrap());
    assert_eq!(parsed.polyline_points.len(), 0);
}
