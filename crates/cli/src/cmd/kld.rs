//! `agora kld BASE QUANT --text FILE`.

use std::path::Path;

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use kernels::pool::ThreadPool;
use quantize::KldReport;

use crate::args::KldArgs;
use crate::settings;

pub fn run(a: &KldArgs) -> Result<()> {
    let base = settings::resolve_model(Some(&a.base), false)?;
    let quant = settings::resolve_model(Some(&a.quant), false)?;
    let r = measure(&base, &quant, &a.text, a.ctx, a.threads)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        print_report(&r);
    }
    Ok(())
}

/// Loads both models, tokenizes the text with the base model's tokenizer and scores it.
pub fn measure(base: &Path, quant: &Path, text: &Path, ctx: usize, threads: Option<usize>) -> Result<KldReport> {
    let b = super::open_model_ctx(base, ctx)?;
    let q = super::open_model_ctx(quant, ctx)?;
    let body = std::fs::read_to_string(text).with_context(|| format!("reading {}", text.display()))?;
    let tokens = b.tokenizer.encode(&body, true, false)?;
    if q.tokenizer.encode(&body, true, false)? != tokens {
        bail!("{} and {} tokenize the text differently; compare a model only with quantizations of itself", base.display(), quant.display());
    }
    let pool = ThreadPool::new(settings::threads(threads));
    let bar = ProgressBar::new((tokens.len() / ctx.max(1)) as u64);
    bar.set_style(ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} chunks, eta {eta}")?);
    bar.set_message("KL divergence");
    let bos = b.tokenizer.add_bos().then(|| b.tokenizer.bos_id()).flatten();
    let r = quantize::kl_divergence(b.model.as_ref(), q.model.as_ref(), &pool, &tokens, ctx, bos, &mut |i, _| {
        bar.set_position(i as u64)
    })?;
    bar.finish_and_clear();
    Ok(r)
}

pub fn print_report(r: &KldReport) {
    println!("{} chunks of {} tokens, {} positions scored", r.n_chunks, r.n_ctx, r.scored_tokens);
    println!("PPL(base)             {:.4}", r.ppl_base);
    println!("PPL(quant)            {:.4}", r.ppl_quant);
    println!("PPL(quant)-PPL(base)  {:+.4}", r.ppl_delta);
    println!("ln(PPL(q)/PPL(base))  {:.6} +/- {:.6}", r.ln_ppl_ratio, r.ln_ppl_ratio_stderr);
    println!("Cor(ln p(q), ln p(b)) {:.4}", r.logp_correlation);
    println!("Mean KLD              {:.6} +/- {:.6}", r.kld_mean, r.kld_stderr);
    let k = &r.kld;
    println!("KLD max {:.6}, 99.9% {:.6}, 99% {:.6}, 95% {:.6}, median {:.6}, 5% {:.6}, min {:.6}", k.max, k.p99_9, k.p99, k.p95, k.median, k.p5, k.min);
    println!("Same top token        {:.3}% +/- {:.3}%", 100.0 * r.top1_agreement, 100.0 * r.top1_stderr);
    let d = &r.delta_p;
    println!("Delta p mean {:+.3}%, RMS {:.3}%", 100.0 * r.delta_p_mean, 100.0 * r.delta_p_rms);
    println!(
        "Delta p max {:+.3}%, 99% {:+.3}%, 95% {:+.3}%, median {:+.3}%, 5% {:+.3}%, 1% {:+.3}%, min {:+.3}%",
        100.0 * d.max, 100.0 * d.p99, 100.0 * d.p95, 100.0 * d.median, 100.0 * d.p5, 100.0 * d.p1, 100.0 * d.min
    );
}
