//! The training loop: epochs of packed batches, gradient accumulation, clipping, the LR schedule,
//! AdamW, evaluation each epoch, periodic checkpoints, exact resume, and a stop flag.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use serde::Serialize;

use crate::checkpoint::{self, Checkpoint, TrainerState};
use crate::data::{derive_seed, Dataset};
use crate::metrics::{self, EvalRow, MetricRow, TrainRow};
use crate::optim::{self, AdamW, AdamWConfig};
use crate::schedule::{Decay, Schedule};
use crate::{Batch, FinetuneError, LoraParams, Objective};

#[derive(Clone, Debug)]
pub struct TrainConfig {
    pub epochs: usize,
    /// Tokens per packed batch.
    pub max_len: usize,
    /// Batches per optimizer step.
    pub grad_accum: usize,
    pub lr: f32,
    pub min_lr: f32,
    pub warmup_steps: usize,
    pub decay: Decay,
    pub adamw: AdamWConfig,
    /// Clip the global gradient norm to this; `None` leaves gradients as they are.
    pub max_grad_norm: Option<f32>,
    pub seed: u64,
    /// Save a checkpoint every this many optimizer steps (0: only when stopped).
    pub checkpoint_every: usize,
    /// Checkpoints to keep (0: all).
    pub keep_checkpoints: usize,
    /// End after this many optimizer steps (the schedule is planned for them); None: all epochs.
    pub max_steps: Option<usize>,
    /// Where checkpoints, `metrics.jsonl` and `loss.svg` go.
    pub out_dir: PathBuf,
    /// The loss curve's title.
    pub title: String,
    /// A `checkpoint-STEP` folder to continue from (its parameters and optimizer state replace the
    /// ones passed in); `checkpoint::latest(out_dir)` finds the newest.
    pub resume: Option<PathBuf>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 1,
            max_len: 512,
            grad_accum: 1,
            lr: 2e-4,
            min_lr: 0.0,
            warmup_steps: 0,
            decay: Decay::Cosine,
            adamw: AdamWConfig::default(),
            max_grad_norm: Some(1.0),
            seed: 0,
            checkpoint_every: 0,
            keep_checkpoints: 2,
            out_dir: PathBuf::from("."),
            title: "LoRA fine-tune".into(),
            resume: None,
            max_steps: None,
        }
    }
}

/// What the loop reports as it goes (the cli turns these into a progress bar).
pub enum Event<'a> {
    /// Before the first step: the planned number of optimizer steps and where the run starts.
    Start { total_steps: usize, first_step: usize },
    Step { row: &'a TrainRow, total_steps: usize, eta_s: f64 },
    Eval(&'a EvalRow),
    Checkpoint(&'a Path),
}

#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    pub steps: usize,
    pub total_steps: usize,
    /// Loss of the last optimizer step.
    pub final_train_loss: Option<f64>,
    pub final_eval_loss: Option<f64>,
    /// Tokens per second of wall time over this call (evaluations and checkpoints included).
    pub tokens_per_s: f64,
    pub truncated: usize,
    /// Wall time of the whole run, resumed parts included.
    pub elapsed_s: f64,
    /// True when the stop flag ended the run early.
    pub stopped: bool,
    pub last_checkpoint: Option<PathBuf>,
    pub metrics_path: PathBuf,
    pub svg_path: PathBuf,
}

/// Trains `params` in place, or continues the run in `cfg.resume`. `stop` is polled after every optimizer step; when set, a
/// checkpoint is saved and the function returns with `stopped: true`.
pub fn train(
    obj: &mut dyn Objective,
    params: &mut LoraParams,
    train_set: &Dataset,
    eval_set: Option<&Dataset>,
    cfg: &TrainConfig,
    stop: &AtomicBool,
    on_event: &mut dyn FnMut(Event),
) -> Result<Summary, FinetuneError> {
    validate(cfg, train_set)?;
    std::fs::create_dir_all(&cfg.out_dir)
        .map_err(|source| FinetuneError::Io { path: cfg.out_dir.display().to_string(), source })?;
    let (mut opt, mut st) = match cfg.resume.as_deref() {
        Some(dir) => resumed(dir, params, cfg)?,
        None => {
            let st = TrainerState {
                epoch: 0,
                batch_in_epoch: 0,
                global_step: 0,
                seed: cfg.seed,
                max_len: cfg.max_len,
                grad_accum: cfg.grad_accum,
                tokens_seen: 0,
                elapsed_s: 0.0,
                metrics: Vec::new(),
            };
            (AdamW::new(cfg.adamw, params), st)
        }
    };
    // Packing depends on the order, so each epoch's batch count is computed from its own shuffle.
    let steps_per_epoch: Vec<usize> = (0..cfg.epochs)
        .map(|e| train_set.epoch_batches(e, cfg.seed, cfg.max_len).len().div_ceil(cfg.grad_accum))
        .collect();
    let all_steps: usize = steps_per_epoch.iter().sum();
    let total_steps = cfg.max_steps.map_or(all_steps, |m| m.min(all_steps));
    let sched = Schedule { peak_lr: cfg.lr, min_lr: cfg.min_lr, warmup_steps: cfg.warmup_steps, total_steps, decay: cfg.decay };
    let eval_batches = eval_set.map(|d| d.batches_in_order(cfg.max_len));
    on_event(Event::Start { total_steps, first_step: st.global_step });

    let t0 = Instant::now();
    let elapsed0 = st.elapsed_s;
    let (first_step, mut tokens_run) = (st.global_step, 0u64);
    let mut grads = params.zeros_like();
    let mut last_ck = None;
    let mut stopped = false;
    'epochs: for epoch in st.epoch..cfg.epochs {
        let batches = train_set.epoch_batches(epoch, cfg.seed, cfg.max_len);
        let mut bi = if epoch == st.epoch { st.batch_in_epoch } else { 0 };
        while bi < batches.len() {
            if st.global_step >= total_steps {
                break 'epochs;
            }
            let t_step = Instant::now();
            let micro = &batches[bi..(bi + cfg.grad_accum).min(batches.len())];
            grads.fill_zero();
            let (mut sum, mut n_targets, mut n_tokens) = (0.0f64, 0usize, 0usize);
            for (k, b) in micro.iter().enumerate() {
                let seed = derive_seed(&[cfg.seed, st.global_step as u64, k as u64]);
                let (l, n) = obj.loss_and_grad(b, params, &mut grads, true, seed)?;
                sum += l;
                n_targets += n;
                n_tokens += b.tokens.len();
            }
            let step = st.global_step + 1;
            // Mean over the step's targets: every target weighs the same however the batches split.
            let loss = sum / n_targets.max(1) as f64;
            if !loss.is_finite() {
                return Err(FinetuneError::Config(format!(
                    "the training loss became {loss} at step {step}; lower the learning rate (now {}) or clip gradients",
                    sched.lr(st.global_step)
                )));
            }
            optim::scale(&mut grads, 1.0 / n_targets.max(1) as f32);
            let grad_norm = match cfg.max_grad_norm {
                Some(max) => optim::clip_grad_norm(&mut grads, max),
                None => optim::global_norm(&grads),
            };
            let lr = sched.lr(st.global_step);
            opt.step(params, &grads, lr);
            bi += micro.len();
            st.global_step = step;
            st.tokens_seen += n_tokens as u64;
            tokens_run += n_tokens as u64;
            let dt = t_step.elapsed().as_secs_f64();
            st.elapsed_s = elapsed0 + t0.elapsed().as_secs_f64();
            let row = TrainRow { step, epoch, loss, lr, grad_norm, tokens: n_tokens, tokens_per_s: n_tokens as f64 / dt.max(1e-9), elapsed_s: st.elapsed_s };
            let per_step = t0.elapsed().as_secs_f64() / (step - first_step) as f64;
            on_event(Event::Step { row: &row, total_steps, eta_s: per_step * total_steps.saturating_sub(step) as f64 });
            st.metrics.push(MetricRow::Train(row));
            (st.epoch, st.batch_in_epoch) = (epoch, bi);
            if bi == batches.len() {
                if let Some(eb) = &eval_batches {
                    let row = evaluate(obj, params, eb, step, epoch, elapsed0 + t0.elapsed().as_secs_f64())?;
                    on_event(Event::Eval(&row));
                    st.metrics.push(MetricRow::Eval(row));
                }
                (st.epoch, st.batch_in_epoch) = (epoch + 1, 0);
            }
            let stop_now = stop.load(Ordering::SeqCst);
            if stop_now || (cfg.checkpoint_every > 0 && step % cfg.checkpoint_every == 0) {
                st.elapsed_s = elapsed0 + t0.elapsed().as_secs_f64();
                let ck = Checkpoint { params: params.clone(), optimizer: opt.clone(), state: st.clone() };
                let dir = checkpoint::save(&cfg.out_dir, &ck, cfg.keep_checkpoints)?;
                metrics::write_jsonl(&cfg.out_dir.join("metrics.jsonl"), &st.metrics)?;
                on_event(Event::Checkpoint(&dir));
                last_ck = Some(dir);
            }
            if stop_now {
                stopped = true;
                break 'epochs;
            }
        }
    }
    // A run cut short by max_steps ends with an evaluation of where it stopped.
    if !stopped && !matches!(st.metrics.last(), Some(MetricRow::Eval(_))) {
        if let Some(eb) = &eval_batches {
            let row = evaluate(obj, params, eb, st.global_step, st.epoch, elapsed0 + t0.elapsed().as_secs_f64())?;
            on_event(Event::Eval(&row));
            st.metrics.push(MetricRow::Eval(row));
        }
    }
    // The last epoch's evaluation is the final one; a resumed run that had nothing left still reports it.
    st.elapsed_s = elapsed0 + t0.elapsed().as_secs_f64();
    let metrics_path = cfg.out_dir.join("metrics.jsonl");
    let svg_path = cfg.out_dir.join("loss.svg");
    metrics::write_jsonl(&metrics_path, &st.metrics)?;
    crate::svg::write_loss_curve(&svg_path, &st.metrics, &cfg.title)?;
    let last = |eval: bool| {
        st.metrics.iter().rev().find_map(|r| match r {
            MetricRow::Train(t) if !eval => Some(t.loss),
            MetricRow::Eval(e) if eval => Some(e.eval_loss),
            _ => None,
        })
    };
    Ok(Summary {
        steps: st.global_step,
        total_steps,
        final_train_loss: last(false),
        final_eval_loss: last(true),
        tokens_per_s: tokens_run as f64 / t0.elapsed().as_secs_f64().max(1e-9),
        truncated: train_set.stats.truncated,
        elapsed_s: st.elapsed_s,
        stopped,
        last_checkpoint: last_ck,
        metrics_path,
        svg_path,
    })
}

/// Mean loss per target over `batches` (no dropout, no gradients).
pub fn evaluate(
    obj: &mut dyn Objective,
    params: &LoraParams,
    batches: &[Batch],
    step: usize,
    epoch: usize,
    elapsed_s: f64,
) -> Result<EvalRow, FinetuneError> {
    let (mut sum, mut n) = (0.0, 0);
    for b in batches {
        let (l, k) = obj.loss(b, params)?;
        sum += l;
        n += k;
    }
    Ok(EvalRow { step, epoch, eval_loss: sum / n.max(1) as f64, eval_tokens: n, elapsed_s })
}

fn validate(cfg: &TrainConfig, train_set: &Dataset) -> Result<(), FinetuneError> {
    let bad = |m: &str| Err(FinetuneError::Config(m.to_string()));
    if cfg.epochs == 0 {
        return bad("--epochs must be at least 1");
    }
    if cfg.grad_accum == 0 {
        return bad("--grad-accum must be at least 1");
    }
    if !(cfg.lr > 0.0 && cfg.lr.is_finite()) || cfg.min_lr < 0.0 || cfg.min_lr > cfg.lr {
        return bad("the learning rate must be positive and finite, with 0 <= --min-lr <= --lr");
    }
    if train_set.examples.is_empty() {
        return bad("the training set holds no usable examples");
    }
    Ok(())
}

fn resumed(dir: &Path, params: &mut LoraParams, cfg: &TrainConfig) -> Result<(AdamW, TrainerState), FinetuneError> {
    let ck = checkpoint::load(dir)?;
    let layout = |p: &LoraParams| -> Vec<_> { p.modules.iter().map(|m| (m.layer, m.target, m.rows, m.cols, m.r)).collect() };
    if layout(&ck.params) != layout(params) || ck.params.config != params.config {
        return Err(FinetuneError::Config(format!(
            "checkpoint {} holds a different adapter (rank, targets or model) than this run; resume with the settings it was made with",
            dir.display()
        )));
    }
    let s = &ck.state;
    for (what, then, now) in [("--seed", s.seed, cfg.seed), ("--max-len", s.max_len as u64, cfg.max_len as u64), ("--grad-accum", s.grad_accum as u64, cfg.grad_accum as u64)] {
        if then != now {
            return Err(FinetuneError::Config(format!(
                "checkpoint {} was made with {what} {then} but this run has {now}; resume with the same value to continue the same run",
                dir.display()
            )));
        }
    }
    *params = ck.params;
    let mut opt = ck.optimizer;
    opt.config = cfg.adamw;
    Ok((opt, ck.state))
}

/// An `on_event` handler driving an indicatif bar over optimizer steps: loss, tokens/s and ETA in its
/// message; evaluations and checkpoints printed above it.
pub fn progress_bar(bar: indicatif::ProgressBar) -> impl FnMut(Event) {
    let style = indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} steps {msg}")
        .expect("static template")
        .progress_chars("=> ");
    bar.set_style(style);
    move |e| match e {
        Event::Start { total_steps, first_step } => {
            bar.set_length(total_steps as u64);
            bar.set_position(first_step as u64);
        }
        Event::Step { row, eta_s, .. } => {
            bar.set_position(row.step as u64);
            bar.set_message(format!("| loss {:.4} | {:.0} tok/s | ETA {}", row.loss, row.tokens_per_s, clock(eta_s)));
        }
        Event::Eval(r) => bar.println(format!("epoch {} (step {}): eval loss {:.4}", r.epoch + 1, r.step, r.eval_loss)),
        Event::Checkpoint(d) => bar.println(format!("saved {}", d.display())),
    }
}

/// `1h02m03s` / `4m05s` / `7s`.
fn clock(s: f64) -> String {
    let s = s.max(0.0).round() as u64;
    match (s / 3600, s / 60 % 60, s % 60) {
        (0, 0, sec) => format!("{sec}s"),
        (0, m, sec) => format!("{m}m{sec:02}s"),
        (h, m, sec) => format!("{h}h{m:02}m{sec:02}s"),
    }
}
