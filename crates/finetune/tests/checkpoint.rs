use finetune::checkpoint::{self, Checkpoint, TrainerState};
use finetune::metrics::{EvalRow, MetricRow};
use finetune::optim::{AdamW, AdamWConfig};
use finetune::{LoraConfig, LoraModule, LoraParams, Target};

fn params(seed: u32) -> LoraParams {
    let config = LoraConfig { r: 2, alpha: 4.0, dropout: 0.05, targets: vec![Target::Q, Target::Down] };
    let vals = |n: usize, k: u32| (0..n).map(|i| f32::from_bits(0x3c00_0000 + (i as u32 * 7919 + k * 104_729 + seed) % 0x0100_0000) * if i % 3 == 0 { -1.0 } else { 1.0 }).collect();
    let m = |layer, target, rows, cols, k| LoraModule { layer, target, rows, cols, r: 2, a: vals(2 * cols, k), b: vals(rows * 2, k + 1) };
    LoraParams { config, modules: vec![m(0, Target::Q, 8, 6, 1), m(1, Target::Down, 6, 10, 3)] }
}

fn ck(step: usize) -> Checkpoint {
    let p = params(step as u32);
    let mut opt = AdamW::new(AdamWConfig { weight_decay: 0.01, ..AdamWConfig::default() }, &p);
    opt.m = params(step as u32 + 100);
    opt.v = params(step as u32 + 200);
    opt.step = step as u64;
    let state = TrainerState {
        epoch: 1,
        batch_in_epoch: 3,
        global_step: step,
        seed: u64::MAX - 5,
        max_len: 256,
        grad_accum: 4,
        tokens_seen: 12345,
        elapsed_s: 6.5,
        metrics: vec![MetricRow::Eval(EvalRow { step, epoch: 0, eval_loss: 1.25, eval_tokens: 9, elapsed_s: 3.0 })],
    };
    Checkpoint { params: p, optimizer: opt, state }
}

#[test]
fn a_checkpoint_round_trips_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    let c = ck(7);
    let path = checkpoint::save(dir.path(), &c, 0).unwrap();
    assert_eq!(path, dir.path().join("checkpoint-7"));
    for f in ["params.safetensors", "optimizer.safetensors", "state.json"] {
        assert!(path.join(f).is_file(), "{f}");
    }
    let back = checkpoint::load(&path).unwrap();
    let bits = |p: &LoraParams| p.values().flatten().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&back.params), bits(&c.params));
    assert_eq!(bits(&back.optimizer.m), bits(&c.optimizer.m));
    assert_eq!(bits(&back.optimizer.v), bits(&c.optimizer.v));
    assert_eq!(back.params, c.params);
    assert_eq!(back.optimizer, c.optimizer);
    assert_eq!(back.state, c.state);
    // Only the finished folder is left: no temp folders.
    let names: Vec<String> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(names, vec!["checkpoint-7".to_string()]);
}

#[test]
fn only_the_newest_k_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    for step in [2, 4, 6, 8, 10] {
        checkpoint::save(dir.path(), &ck(step), 2).unwrap();
    }
    let left: Vec<usize> = checkpoint::list(dir.path()).into_iter().map(|(s, _)| s).collect();
    assert_eq!(left, vec![8, 10], "numeric, not lexical, order");
    assert_eq!(checkpoint::latest(dir.path()), Some(dir.path().join("checkpoint-10")));
}

#[test]
fn a_damaged_or_missing_checkpoint_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let e = checkpoint::load(dir.path()).err().unwrap().to_string();
    assert!(e.contains("state.json") && e.contains("checkpoint-STEP"), "{e}");
    let path = checkpoint::save(dir.path(), &ck(3), 0).unwrap();
    std::fs::write(path.join("optimizer.safetensors"), b"garbage").unwrap();
    let e = checkpoint::load(&path).err().unwrap().to_string();
    assert!(e.contains("optimizer.safetensors") && e.contains("damaged"), "{e}");
}
