//! `agora perplexity MODEL FILE`.

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use kernels::pool::ThreadPool;

use crate::args::PerplexityArgs;
use crate::settings;

pub fn run(a: &PerplexityArgs) -> Result<()> {
    let path = settings::resolve_model(Some(&a.model), true)?;
    let lm = super::open_model_ctx(&path, a.ctx)?;
    let text = std::fs::read_to_string(&a.file).with_context(|| format!("reading {}", a.file.display()))?;
    let tokens = lm.tokenizer.encode(&text, true, false)?;
    let pool = ThreadPool::new(settings::threads(a.threads));
    let bar = ProgressBar::new((tokens.len() / a.ctx.max(1)) as u64);
    bar.set_style(ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} chunks, eta {eta}")?);
    bar.set_message("perplexity");
    let bos = lm.tokenizer.add_bos().then(|| lm.tokenizer.bos_id()).flatten();
    let r = eval::perplexity::perplexity_with(lm.model.as_ref(), &pool, &tokens, a.ctx, a.kv.types(), bos, &mut |i, _| bar.set_position(i as u64))?;
    bar.finish_and_clear();
    if a.json {
        let mut v = serde_json::to_value(&r)?;
        v["tokens"] = tokens.len().into();
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!("{} tokens, {} chunks of {}", tokens.len(), r.n_chunks, r.n_ctx);
        println!("PPL = {:.4} +/- {:.5}", r.ppl, r.stderr);
    }
    Ok(())
}
