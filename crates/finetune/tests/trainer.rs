//! The loop on a real least-squares objective (see lsq/mod.rs).

mod lsq;

use std::sync::atomic::{AtomicBool, Ordering};

use lsq::{dataset, params, LeastSquares};
use finetune::checkpoint;
use finetune::metrics::{read_jsonl, MetricRow};
use finetune::schedule::Decay;
use finetune::trainer::{train, Event, TrainConfig};

fn cfg(out: &std::path::Path) -> TrainConfig {
    TrainConfig {
        epochs: 4,
        max_len: 8,
        grad_accum: 2,
        lr: 0.05,
        min_lr: 0.005,
        warmup_steps: 2,
        decay: Decay::Cosine,
        max_grad_norm: Some(5.0),
        seed: 11,
        checkpoint_every: 0,
        keep_checkpoints: 2,
        out_dir: out.to_path_buf(),
        ..TrainConfig::default()
    }
}

fn train_rows(rows: &[MetricRow]) -> Vec<(usize, f64, f32)> {
    rows.iter()
        .filter_map(|r| match r {
            MetricRow::Train(t) => Some((t.step, t.loss, t.lr)),
            _ => None,
        })
        .collect()
}

#[test]
fn loss_goes_down_and_metrics_and_curve_are_written() {
    let dir = tempfile::tempdir().unwrap();
    let mut obj = LeastSquares::new(400, 0.0);
    let mut p = params();
    let (tr, ev) = (dataset(24, 4, 0), dataset(6, 4, 200));
    let stop = AtomicBool::new(false);
    let mut steps_seen = 0;
    let c = TrainConfig { epochs: 12, lr: 0.1, min_lr: 0.01, ..cfg(dir.path()) };
    let s = train(&mut obj, &mut p, &tr, Some(&ev), &c, &stop, &mut |e| {
        if let Event::Step { .. } = e {
            steps_seen += 1
        }
    })
    .unwrap();
    // 24 docs of 4 tokens, 2 per batch, 2 batches per step: 6 steps per epoch.
    assert_eq!((s.steps, s.total_steps, steps_seen), (72, 72, 72));
    assert!(!s.stopped);
    let rows = read_jsonl(&s.metrics_path).unwrap();
    let tr_rows = train_rows(&rows);
    assert_eq!(tr_rows.len(), 72);
    let evals: Vec<f64> = rows.iter().filter_map(|r| if let MetricRow::Eval(e) = r { Some(e.eval_loss) } else { None }).collect();
    assert_eq!(evals.len(), 12, "one evaluation per epoch");
    assert!(tr_rows[71].1 < tr_rows[0].1 * 0.05, "train loss {} -> {}", tr_rows[0].1, tr_rows[71].1);
    assert!(evals[11] < evals[0] * 0.05, "eval {evals:?}");
    assert_eq!(s.final_eval_loss, Some(evals[11]));
    let svg = std::fs::read_to_string(&s.svg_path).unwrap();
    assert!(svg.contains("<polyline") && svg.matches("class=\"eval\"").count() == 12);
    // Warmup then decay to the floor.
    assert!((tr_rows[0].2 - 0.05).abs() < 1e-7 && (tr_rows[1].2 - 0.1).abs() < 1e-7);
    assert!((tr_rows[71].2 - 0.01).abs() < 1e-7);
}

#[test]
fn two_batches_accumulated_equal_one_batch_of_the_same_data() {
    // Same examples per step either way: 2 batches of 2 docs, or 1 batch of 4 docs.
    let run = |max_len: usize, accum: usize| {
        let dir = tempfile::tempdir().unwrap();
        let mut obj = LeastSquares::new(400, 0.0);
        let mut p = params();
        let c = TrainConfig { max_len, grad_accum: accum, max_grad_norm: None, ..cfg(dir.path()) };
        let s = train(&mut obj, &mut p, &dataset(24, 4, 0), None, &c, &AtomicBool::new(false), &mut |_| {}).unwrap();
        (p, train_rows(&read_jsonl(&s.metrics_path).unwrap()))
    };
    let (pa, ra) = run(8, 2);
    let (pb, rb) = run(16, 1);
    assert_eq!(ra.len(), rb.len());
    for (a, b) in ra.iter().zip(&rb) {
        assert!((a.1 - b.1).abs() < 1e-6, "step {}: loss {} vs {}", a.0, a.1, b.1);
    }
    for (a, b) in pa.values().flatten().zip(pb.values().flatten()) {
        assert!((a - b).abs() < 1e-6, "{a} vs {b}");
    }
    // And it is not vacuous: a different grouping (1 doc per step) trains differently.
    let (pc, _) = run(4, 1);
    assert!(pa.values().flatten().zip(pc.values().flatten()).any(|(a, b)| (a - b).abs() > 1e-4));
}

#[test]
fn resuming_from_a_checkpoint_is_bit_identical() {
    let (tr, ev) = (dataset(24, 4, 0), dataset(6, 4, 200));
    let c = |out: &std::path::Path| TrainConfig { checkpoint_every: 5, keep_checkpoints: 0, ..cfg(out) };
    // Dropout on: the per-step seeds must be reproduced too.
    let whole_dir = tempfile::tempdir().unwrap();
    let mut whole = params();
    let s = train(&mut LeastSquares::new(400, 0.2), &mut whole, &tr, Some(&ev), &c(whole_dir.path()), &AtomicBool::new(false), &mut |_| {}).unwrap();
    assert_eq!(s.steps, 24);
    let steps: Vec<usize> = checkpoint::list(whole_dir.path()).iter().map(|(s, _)| *s).collect();
    assert_eq!(steps, vec![5, 10, 15, 20]);
    let whole_rows = train_rows(&read_jsonl(&s.metrics_path).unwrap());

    // Interrupted by the stop flag mid-epoch (step 8), then resumed in a new process-like call.
    let part_dir = tempfile::tempdir().unwrap();
    let stop = AtomicBool::new(false);
    let mut p1 = params();
    let s1 = train(&mut LeastSquares::new(400, 0.2), &mut p1, &tr, Some(&ev), &c(part_dir.path()), &stop, &mut |e| {
        if let Event::Step { row, .. } = e {
            if row.step == 8 {
                stop.store(true, Ordering::SeqCst);
            }
        }
    })
    .unwrap();
    assert!(s1.stopped);
    assert_eq!(s1.steps, 8);
    let ck = s1.last_checkpoint.clone().unwrap();
    assert!(ck.ends_with("checkpoint-8"), "{}", ck.display());
    let mut p2 = params(); // fresh: the checkpoint's params replace these
    let s2 = train(&mut LeastSquares::new(400, 0.2), &mut p2, &tr, Some(&ev), &TrainConfig { resume: Some(ck.clone()), ..c(part_dir.path()) }, &AtomicBool::new(false), &mut |_| {}).unwrap();
    assert_eq!(s2.steps, 24);
    for (a, b) in whole.values().flatten().zip(p2.values().flatten()) {
        assert_eq!(a.to_bits(), b.to_bits(), "{a} vs {b}");
    }
    let resumed_rows = train_rows(&read_jsonl(&s2.metrics_path).unwrap());
    assert_eq!(resumed_rows, whole_rows, "the metrics continue the same run");
    assert_eq!(s2.final_eval_loss, s.final_eval_loss);

    // Resuming from one of the periodic checkpoints of the uninterrupted run ends in the same place.
    let mut p3 = params();
    let ck10 = whole_dir.path().join("checkpoint-10");
    let other = tempfile::tempdir().unwrap();
    train(&mut LeastSquares::new(400, 0.2), &mut p3, &tr, Some(&ev), &TrainConfig { resume: Some(ck10), ..c(other.path()) }, &AtomicBool::new(false), &mut |_| {}).unwrap();
    assert!(whole.values().flatten().zip(p3.values().flatten()).all(|(a, b)| a.to_bits() == b.to_bits()));
}

#[test]
fn the_stop_flag_saves_a_checkpoint_and_returns_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let stop = AtomicBool::new(true); // Ctrl-C before the first step finished
    let mut p = params();
    let mut saw = None;
    let s = train(&mut LeastSquares::new(400, 0.0), &mut p, &dataset(24, 4, 0), None, &cfg(dir.path()), &stop, &mut |e| {
        if let Event::Checkpoint(d) = e {
            saw = Some(d.to_path_buf())
        }
    })
    .unwrap();
    assert!(s.stopped);
    assert_eq!(s.steps, 1);
    let ck = dir.path().join("checkpoint-1");
    assert_eq!(saw.as_deref(), Some(ck.as_path()));
    let loaded = checkpoint::load(&ck).unwrap();
    assert_eq!(loaded.params, p);
    assert_eq!(loaded.state.global_step, 1);
    assert_eq!(loaded.state.batch_in_epoch, 2);
    assert!(s.metrics_path.is_file() && s.svg_path.is_file());
}

#[test]
fn resuming_with_other_data_order_settings_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let tr = dataset(24, 4, 0);
    let stop = AtomicBool::new(true);
    let s = train(&mut LeastSquares::new(400, 0.0), &mut params(), &tr, None, &cfg(dir.path()), &stop, &mut |_| {}).unwrap();
    let ck = s.last_checkpoint.unwrap();
    let c = TrainConfig { seed: 12, resume: Some(ck), ..cfg(dir.path()) };
    let e = train(&mut LeastSquares::new(400, 0.0), &mut params(), &tr, None, &c, &AtomicBool::new(false), &mut |_| {}).unwrap_err().to_string();
    assert!(e.contains("--seed 11") && e.contains("12"), "{e}");
    let e = train(&mut LeastSquares::new(400, 0.0), &mut params(), &tr, None, &TrainConfig { grad_accum: 0, ..cfg(dir.path()) }, &AtomicBool::new(false), &mut |_| {}).unwrap_err().to_string();
    assert!(e.contains("--grad-accum"), "{e}");
}

#[test]
fn the_progress_bar_follows_the_steps() {
    let dir = tempfile::tempdir().unwrap();
    let bar = indicatif::ProgressBar::hidden();
    let mut on_event = finetune::trainer::progress_bar(bar.clone());
    train(&mut LeastSquares::new(400, 0.0), &mut params(), &dataset(24, 4, 0), None, &cfg(dir.path()), &AtomicBool::new(false), &mut on_event).unwrap();
    assert_eq!((bar.position(), bar.length()), (24, Some(24)));
    let msg = bar.message();
    assert!(msg.contains("loss ") && msg.contains("tok/s") && msg.contains("ETA 0s"), "{msg}");
}

#[test]
fn max_steps_ends_early_plans_the_schedule_for_it_and_evaluates() {
    let dir = tempfile::tempdir().unwrap();
    let mut obj = LeastSquares::new(400, 0.0);
    let mut p = params();
    let (tr, ev) = (dataset(24, 4, 0), dataset(6, 4, 200));
    // 4 epochs of 6 steps planned; stop after 9 (mid-epoch 2).
    let c = TrainConfig { max_steps: Some(9), ..cfg(dir.path()) };
    let s = train(&mut obj, &mut p, &tr, Some(&ev), &c, &AtomicBool::new(false), &mut |_| {}).unwrap();
    assert_eq!((s.steps, s.total_steps), (9, 9));
    let rows = read_jsonl(&s.metrics_path).unwrap();
    let tr_rows = train_rows(&rows);
    assert_eq!(tr_rows.len(), 9);
    // The cosine reaches its floor at the last step that runs.
    assert!((tr_rows[8].2 - 0.005).abs() < 1e-7, "lr at the end {}", tr_rows[8].2);
    // Epoch 1's evaluation plus one where the run stopped.
    let evals: Vec<usize> = rows.iter().filter_map(|r| if let MetricRow::Eval(e) = r { Some(e.step) } else { None }).collect();
    assert_eq!(evals, vec![6, 9]);
    assert!(s.final_eval_loss.is_some());
}
