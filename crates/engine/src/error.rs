use thiserror::Error;

#[derive(Debug, Error)]
pub enum EngineError {
    #[error(transparent)]
    Model(#[from] models::ModelError),
    #[error("the prompt has {n_prompt} tokens but the context holds {n_ctx}; shorten the prompt or raise --ctx (the model was trained for {n_ctx_train})")]
    PromptTooLong { n_prompt: usize, n_ctx: usize, n_ctx_train: usize },
    #[error("the prompt is empty: give at least one token of text")]
    EmptyPrompt,
    #[error(transparent)]
    Tokenize(#[from] tokenize::TokenizeError),
    #[error("no tokenizer.json in {0}; a Hugging Face model folder needs its tokenizer.json")]
    MissingTokenizer(std::path::PathBuf),
    #[error(transparent)]
    Sampler(#[from] crate::sampler::SamplerError),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    KvType(#[from] crate::kv::KvTypeError),
}
