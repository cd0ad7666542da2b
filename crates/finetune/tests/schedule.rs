use finetune::schedule::{Decay, Schedule};

fn sched(decay: Decay) -> Schedule {
    Schedule { peak_lr: 1e-3, min_lr: 1e-4, warmup_steps: 4, total_steps: 14, decay }
}

fn close(a: f32, b: f32) -> bool {
    (a - b).abs() <= 1e-9 + 1e-6 * b.abs()
}

#[test]
fn warmup_is_linear_from_the_first_step() {
    let s = sched(Decay::Cosine);
    for (i, want) in [2.5e-4, 5e-4, 7.5e-4, 1e-3].into_iter().enumerate() {
        assert!(close(s.lr(i), want), "step {i}: {} vs {want}", s.lr(i));
    }
}

#[test]
fn cosine_runs_from_peak_to_floor() {
    let s = sched(Decay::Cosine);
    // 10 decay steps: step 4 is t=0, step 13 is t=1, the midpoint t=0.5 lies between 8 and 9.
    assert!(close(s.lr(4), 1e-3));
    assert!(close(s.lr(13), 1e-4));
    let t = 2.0 / 9.0; // step 6
    let want = 1e-4 + 9e-4 * 0.5 * (1.0 + (std::f64::consts::PI * t).cos());
    assert!(close(s.lr(6), want as f32), "{} vs {want}", s.lr(6));
    // Beyond the end it stays at the floor.
    assert!(close(s.lr(100), 1e-4));
}

#[test]
fn linear_and_constant() {
    let l = sched(Decay::Linear);
    assert!(close(l.lr(4), 1e-3));
    assert!(close(l.lr(7), 1e-3 - 9e-4 * 3.0 / 9.0), "{}", l.lr(7));
    assert!(close(l.lr(13), 1e-4));
    let c = sched(Decay::Constant);
    assert!(close(c.lr(2), 7.5e-4));
    assert!(close(c.lr(13), 1e-3));
}

#[test]
fn no_warmup_starts_at_peak() {
    let s = Schedule { warmup_steps: 0, ..sched(Decay::Linear) };
    assert!(close(s.lr(0), 1e-3));
    assert_eq!(Decay::parse("Cosine"), Some(Decay::Cosine));
    assert_eq!(Decay::parse("step"), None);
}
