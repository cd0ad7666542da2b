//! `agora finetune BASE --data train.jsonl [--eval eval.jsonl] --out DIR`: a LoRA adapter trained on
//! a CPU over the frozen base in its own format (quantized bases train QLoRA-style), written in
//! PEFT's format with metrics.jsonl, loss.svg, checkpoints, a card and a signed lineage record.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{bail, Context, Result};
use finetune::data::Dataset;
use finetune::schedule::Decay;
use finetune::trainer::{self, Event, TrainConfig};
use finetune::{LoraConfig, LoraModel, Target, TrainOptions};
use indicatif::ProgressBar;
use tokenize::chat::ChatTemplate;

use crate::finetune_args::FinetuneArgs;
use crate::settings;

pub fn run(a: &FinetuneArgs) -> Result<()> {
    let base = settings::resolve_model(Some(&a.base), true)?;
    super::acceptance::ensure(&base, a.accept_license)?;
    let lora = lora_config(a)?;
    let decay = match a.schedule.to_ascii_lowercase().as_str() {
        "cosine" => Decay::Cosine,
        "linear" => Decay::Linear,
        "constant" => Decay::Constant,
        o => bail!("--schedule {o}: use cosine, linear or constant"),
    };
    if a.out.join("adapter_model.safetensors").exists() && a.resume.is_none() {
        bail!("{} already holds an adapter; choose another --out, or --resume {}/checkpoint-N to continue", a.out.display(), a.out.display());
    }
    let lm = super::open_model(&base)?;
    let cfg = lm.model.config().clone();
    let template = ChatTemplate::from_source_or_default(lm.tokenizer.chat_template(), &cfg.arch).ok();
    let (train_set, stats) = Dataset::load(&a.data, &lm.tokenizer, template.as_ref(), a.max_len).with_context(|| format!("reading {}", a.data.display()))?;
    let eval_set = match &a.eval {
        Some(p) => Some(Dataset::load(p, &lm.tokenizer, template.as_ref(), a.max_len).with_context(|| format!("reading {}", p.display()))?.0),
        None => None,
    };
    if stats.truncated > 0 {
        let lines: Vec<String> = stats.truncated_lines.iter().take(8).map(|l| l.to_string()).collect();
        eprintln!(
            "warning: {} of {} examples are longer than --max-len {} and were truncated (lines {}{}); raise --max-len to keep them whole",
            stats.truncated,
            stats.examples,
            a.max_len,
            lines.join(", "),
            if stats.truncated_lines.len() > 8 { ", ..." } else { "" }
        );
    }
    let threads = settings::threads(a.threads);
    let opts = TrainOptions { activation_checkpointing: !a.no_checkpointing, threads, ..TrainOptions::default() };
    let mut obj = LoraModel::new(&*lm.model, opts)?;
    let mut params = finetune::init::init_params(obj.view(), &lora, a.seed)?;
    let tc = TrainConfig {
        epochs: a.epochs,
        max_len: a.max_len,
        grad_accum: a.grad_accum.max(1),
        lr: a.lr,
        min_lr: 0.0,
        warmup_steps: a.warmup,
        decay,
        adamw: finetune::optim::AdamWConfig { weight_decay: a.weight_decay, ..Default::default() },
        max_grad_norm: (a.clip > 0.0).then_some(a.clip),
        seed: a.seed,
        checkpoint_every: a.save_every,
        keep_checkpoints: a.keep,
        out_dir: a.out.clone(),
        resume: a.resume.clone(),
        title: format!("LoRA r={} on {}", lora.r, base.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned())),
        max_steps: a.max_steps,
    };
    on_ctrl_c_stop();
    let bar = if a.json { ProgressBar::hidden() } else { ProgressBar::new(0) };
    let mut draw = trainer::progress_bar(bar.clone());
    // Logs (stderr not a terminal) get a line every 10 steps instead of a bar.
    let log_lines = !a.json && !std::io::stderr().is_terminal();
    let mut on_event = |e: Event| {
        if log_lines {
            match &e {
                Event::Step { row, total_steps, eta_s } if row.step % 10 == 0 || row.step == *total_steps => {
                    eprintln!("step {}/{total_steps}: loss {:.4}, lr {:.2e}, {:.0} tokens/s, {:.0} s left", row.step, row.loss, row.lr, row.tokens_per_s, eta_s)
                }
                Event::Eval(r) => eprintln!("step {}: eval loss {:.4}", r.step, r.eval_loss),
                Event::Checkpoint(d) => eprintln!("saved {}", d.display()),
                _ => {}
            }
        }
        draw(e)
    };
    let summary = trainer::train(&mut obj, &mut params, &train_set, eval_set.as_ref(), &tc, &STOP, &mut on_event)?;
    bar.finish_and_clear();
    if summary.stopped {
        let ck = summary.last_checkpoint.as_ref().map_or_else(String::new, |p| p.display().to_string());
        eprintln!("stopped at step {} of {}; resume with --resume {ck}", summary.steps, summary.total_steps);
        return Ok(());
    }
    // The adapter in PEFT's format, then its card and signed lineage.
    let tensors = finetune::peft::to_peft_tensors(&params, &cfg.arch, cfg.n_head, cfg.n_kv_head)?;
    let base_name = base.display().to_string();
    finetune::export::write_peft_adapter(&a.out, &tensors, &finetune::export::PeftAdapterConfig::from_lora(&lora, Some(base_name)))?;
    let datasets: Vec<String> = if a.dataset_names.is_empty() {
        std::iter::once(&a.data).chain(a.eval.iter()).map(|p| p.file_name().map_or_else(|| p.display().to_string(), |n| n.to_string_lossy().into_owned())).collect()
    } else {
        a.dataset_names.clone()
    };
    let (card_path, lineage_path) = record(a, &base, &lora, &datasets, &summary)?;
    if a.json {
        let v = serde_json::json!({
            "base": base, "out": a.out, "data": stats, "summary": summary, "lora": lora,
            "trainable_params": params.n_params(), "card": card_path, "lineage": lineage_path,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!(
            "trained {} steps in {:.0} s ({:.0} tokens/s): train loss {}, eval loss {}; adapter in {} ({} trainable parameters); loss curve {}",
            summary.steps,
            summary.elapsed_s,
            summary.tokens_per_s,
            summary.final_train_loss.map_or("-".into(), |l| format!("{l:.4}")),
            summary.final_eval_loss.map_or("-".into(), |l| format!("{l:.4}")),
            a.out.display(),
            params.n_params(),
            summary.svg_path.display()
        );
    }
    Ok(())
}

/// Set by the first Ctrl-C: the trainer saves a checkpoint after the current step and returns.
static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sigint(_: libc::c_int) {
    // A second Ctrl-C quits at once (only async-signal-safe calls here).
    if STOP.swap(true, Ordering::SeqCst) {
        unsafe { libc::_exit(130) };
    }
}

fn on_ctrl_c_stop() {
    // SAFETY: the handler only touches an atomic and calls _exit, both async-signal-safe.
    unsafe { libc::signal(libc::SIGINT, on_sigint as extern "C" fn(libc::c_int) as libc::sighandler_t) };
}

fn lora_config(a: &FinetuneArgs) -> Result<LoraConfig> {
    if a.rank == 0 {
        bail!("--rank must be at least 1");
    }
    if !(0.0..1.0).contains(&a.dropout) {
        bail!("--dropout {} must be in [0, 1)", a.dropout);
    }
    let mut targets = Vec::new();
    for t in &a.targets {
        let t = Target::parse(t).with_context(|| format!("--targets: unknown projection {t:?}; use q, k, v, o, gate, up, down"))?;
        if !targets.contains(&t) {
            targets.push(t);
        }
    }
    targets.sort();
    Ok(LoraConfig { r: a.rank, alpha: a.alpha.unwrap_or(2.0 * a.rank as f32), dropout: a.dropout, targets })
}

/// Card (relation adapter, license inherited, datasets named) and signed lineage (base, data).
fn record(a: &FinetuneArgs, base: &Path, lora: &LoraConfig, datasets: &[String], s: &trainer::Summary) -> Result<(PathBuf, PathBuf)> {
    let mut details = BTreeMap::new();
    details.insert("r".to_string(), lora.r.to_string());
    details.insert("alpha".to_string(), lora.alpha.to_string());
    details.insert("dropout".to_string(), lora.dropout.to_string());
    details.insert("targets".to_string(), lora.targets.iter().map(|t| t.peft_name()).collect::<Vec<_>>().join(","));
    details.insert("epochs".to_string(), a.epochs.to_string());
    details.insert("steps".to_string(), s.steps.to_string());
    details.insert("lr".to_string(), a.lr.to_string());
    details.insert("max_len".to_string(), a.max_len.to_string());
    details.insert("seed".to_string(), a.seed.to_string());
    if let Some(l) = s.final_eval_loss {
        details.insert("eval_loss".to_string(), format!("{l:.4}"));
    }
    let mut extra_inputs = vec![("dataset", a.data.clone())];
    if let Some(e) = &a.eval {
        extra_inputs.push(("eval dataset", e.clone()));
    }
    super::provenance::record(super::provenance::Made {
        input: base,
        output: &a.out.join("adapter_model.safetensors"),
        relation: card::Relation::Adapter,
        details,
        extra_inputs,
        model_index: None,
        extra_md: Some(format!("Trained with `agora finetune`; the loss curve is `loss.svg`, every step is in `metrics.jsonl`. Truncated examples: {}.", s.truncated)),
        datasets: datasets.to_vec(),
    })
}
