use finetune::metrics::{read_jsonl, write_jsonl, EvalRow, MetricRow, TrainRow};

fn train(step: usize, loss: f64) -> MetricRow {
    MetricRow::Train(TrainRow { step, epoch: 0, loss, lr: 1e-4, grad_norm: 0.5, tokens: 100, tokens_per_s: 50.0, elapsed_s: step as f64 })
}

#[test]
fn rows_round_trip_one_object_per_line() {
    let rows = vec![
        train(1, 2.5),
        train(2, 2.25),
        MetricRow::Eval(EvalRow { step: 2, epoch: 0, eval_loss: 2.4, eval_tokens: 30, elapsed_s: 2.5 }),
    ];
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("metrics.jsonl");
    write_jsonl(&p, &rows).unwrap();
    let text = std::fs::read_to_string(&p).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3);
    let first: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    for key in ["step", "epoch", "loss", "lr", "grad_norm", "tokens", "tokens_per_s", "elapsed_s"] {
        assert!(first.get(key).is_some(), "train row lacks {key}: {}", lines[0]);
    }
    let eval: serde_json::Value = serde_json::from_str(lines[2]).unwrap();
    assert_eq!(eval["eval_loss"], 2.4);
    assert!(eval.get("loss").is_none());
    assert_eq!(read_jsonl(&p).unwrap(), rows);
    // No temp files left beside it.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn a_bad_row_names_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("metrics.jsonl");
    std::fs::write(&p, "{\"step\": 1}\n").unwrap();
    let e = read_jsonl(&p).unwrap_err().to_string();
    assert!(e.contains("metrics.jsonl") && e.contains("line 1"), "{e}");
}
