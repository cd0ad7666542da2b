//! `agora run [MODEL] PROMPT`: stream a completion.

use std::io::Write;

use anyhow::Result;
use engine::Session;
use kernels::pool::ThreadPool;

use crate::args::RunArgs;
use crate::settings;

pub fn run(a: &RunArgs) -> Result<()> {
    let (model, prompt) = match a.positional.as_slice() {
        [p] => (None, p.as_str()),
        [m, p] => (Some(m.as_str()), p.as_str()),
        _ => unreachable!("clap enforces 1..=2 positionals"),
    };
    let path = settings::resolve_model(model, true)?;
    super::acceptance::ensure(&path, a.accept_license)?;
    let t_load = std::time::Instant::now();
    let lm = super::open_model_lora(&path, Some(a.model.ctx), a.model.lora.as_deref())?;
    let load_seconds = t_load.elapsed().as_secs_f64();
    let pool = ThreadPool::new(settings::threads(a.model.threads));
    let params = settings::sampling(&a.sampling, a.n_predict);
    let ids = lm.tokenizer.encode(prompt, true, true)?;
    let mut session = Session::with_kv_types(lm.model.as_ref(), &pool, a.model.ctx, a.model.kv.types())?;
    let mut stdout = std::io::stdout();
    let json = a.json;
    if !json {
        print!("{prompt}");
        stdout.flush()?;
    }
    let g = session.generate(&lm.tokenizer, &ids, &params, &mut |s| {
        if !json {
            print!("{s}");
            let _ = stdout.flush();
        }
        true
    })?;
    if json {
        let v = serde_json::json!({
            "model": path, "prompt": prompt, "prompt_tokens": ids, "text": g.text, "tokens": g.tokens,
            "stop_reason": g.stop_reason, "load_seconds": load_seconds, "timings": g.timings,
            "prompt_tokens_per_second": g.timings.prompt_tps(), "generate_tokens_per_second": g.timings.generate_tps(),
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        println!();
        eprintln!(
            "\n[{} prompt tokens at {:.1} tok/s, {} generated at {:.1} tok/s, stop: {:?}]",
            g.timings.prompt_tokens,
            g.timings.prompt_tps(),
            g.timings.generated_tokens,
            g.timings.generate_tps(),
            g.stop_reason
        );
    }
    Ok(())
}
