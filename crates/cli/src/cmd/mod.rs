//! One file per subcommand.

mod acceptance;
mod bench;
mod card;
mod chat;
mod convert;
mod eval;
mod finetune;
mod guard;
mod hub;
mod hub_client;
mod imatrix;
mod info;
mod keys;
mod kld;
mod license;
mod lineage;
mod merge;
mod perplexity;
mod provenance;
mod quantize;
mod run;
mod serve;
mod store;
mod tokenize;

use anyhow::Result;

use crate::args::Command;

pub fn dispatch(cmd: Command) -> Result<()> {
    match cmd {
        Command::Pull(a) => store::pull(&a),
        Command::List(a) => store::list(a.json),
        Command::Rm { name } => store::rm(&name),
        Command::Run(a) => run::run(&a),
        Command::Chat(a) => chat::run(&a),
        Command::Info(a) => info::run(&a),
        Command::Tokenize(a) => tokenize::run(&a),
        Command::Perplexity(a) => perplexity::run(&a),
        Command::Bench(a) => bench::run(&a),
        Command::Quantize(a) => quantize::run(&a),
        Command::Merge(a) => merge::run(&a),
        Command::Finetune(a) => finetune::run(&a),
        Command::Kld(a) => kld::run(&a),
        Command::Convert(a) => convert::run(&a),
        Command::Imatrix(a) => imatrix::run(&a),
        Command::Serve(a) => serve::run(&a),
        Command::Eval(a) => eval::run(&a),
        Command::Hub(a) => hub::run(&a),
        Command::Push(a) => hub_client::push(&a),
        Command::Card(a) => card::run(&a),
        Command::License(a) => license::run(&a),
        Command::Lineage(a) => lineage::run(&a),
        Command::Keys(a) => keys::run(&a),
        Command::Login(a) => hub_client::login(&a),
        Command::Logout => hub_client::logout(),
        Command::Whoami(a) => hub_client::whoami(&a),
    }
}

/// Opens a model, naming the file in any error.
pub fn open_model(path: &std::path::Path) -> Result<engine::LoadedModel> {
    open_model_lora(path, None, None)
}

/// Opens a model that will run sequences of up to `ctx` tokens (long-rope models choose their
/// RoPE factors from it).
pub fn open_model_ctx(path: &std::path::Path, ctx: usize) -> Result<engine::LoadedModel> {
    open_model_lora(path, Some(ctx), None)
}

/// `open_model_ctx` with a PEFT LoRA adapter on top (ctx None: the model's training context).
pub fn open_model_lora(path: &std::path::Path, ctx: Option<usize>, lora: Option<&std::path::Path>) -> Result<engine::LoadedModel> {
    use anyhow::Context;
    let opts = models::LoadOptions { n_ctx: ctx, lora: lora.map(std::path::Path::to_path_buf), ..Default::default() };
    engine::LoadedModel::open_with(path, &opts).with_context(|| format!("loading {}", path.display()))
}

/// Opens only what tokenizing needs.
pub fn open_tokenizer(path: &std::path::Path) -> Result<::tokenize::Tokenizer> {
    let src = models::WeightSource::open(path)?;
    Ok(engine::load::tokenizer_for(path, &src)?)
}
