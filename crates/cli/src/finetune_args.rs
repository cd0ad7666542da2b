//! `agora finetune` syntax. Defaults follow PEFT/TRL practice for small models on small data.

use std::path::PathBuf;

use clap::Args;

#[derive(Args, Debug)]
pub struct FinetuneArgs {
    /// Accept the base model's license if it requires acceptance (gemma, llama*); recorded once in $AGORA_HOME
    #[arg(long)]
    pub accept_license: bool,
    /// Base model: a .gguf file (any type: quantized bases train QLoRA-style), a Hugging Face folder or a store name
    pub base: String,
    /// Training data, JSONL: {"text"}, {"prompt","completion"} or {"messages":[...]} per line
    #[arg(long)]
    pub data: PathBuf,
    /// Held-out data in the same format: its loss is measured after every epoch
    #[arg(long)]
    pub eval: Option<PathBuf>,
    /// Output folder: the adapter in PEFT's format, metrics.jsonl, loss.svg, checkpoints, card, lineage
    #[arg(long)]
    pub out: PathBuf,
    /// Tokens per packed sequence; longer examples are truncated (with a warning, counted)
    #[arg(long, default_value_t = 512)]
    pub max_len: usize,
    #[arg(long, default_value_t = 2)]
    pub epochs: usize,
    /// Stop after this many optimizer steps (benchmarks, smoke runs)
    #[arg(long)]
    pub max_steps: Option<usize>,
    /// Peak learning rate
    #[arg(long, default_value_t = 2e-4)]
    pub lr: f32,
    /// Learning-rate schedule after warmup: cosine, linear or constant
    #[arg(long, default_value = "cosine")]
    pub schedule: String,
    /// Warmup steps (linear ramp from 0)
    #[arg(long, default_value_t = 10)]
    pub warmup: usize,
    /// Packed sequences per optimizer step (gradient accumulation)
    #[arg(long, default_value_t = 1)]
    pub grad_accum: usize,
    /// Clip the global gradient norm to this value (0: no clipping)
    #[arg(long, default_value_t = 1.0)]
    pub clip: f32,
    #[arg(long, default_value_t = 0.0)]
    pub weight_decay: f32,
    /// LoRA rank
    #[arg(long, short = 'r', default_value_t = 8)]
    pub rank: usize,
    /// LoRA alpha (the update is scaled by alpha / r); default 2 r
    #[arg(long)]
    pub alpha: Option<f32>,
    #[arg(long, default_value_t = 0.05)]
    pub dropout: f32,
    /// Projections to adapt, comma-separated: q,k,v,o,gate,up,down (PEFT names like q_proj work too)
    #[arg(long, value_delimiter = ',', default_value = "q,k,v,o,gate,up,down")]
    pub targets: Vec<String>,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Save a checkpoint every N optimizer steps (0: only at the end and on Ctrl-C)
    #[arg(long, default_value_t = 50)]
    pub save_every: usize,
    /// Checkpoints to keep (the newest)
    #[arg(long, default_value_t = 2)]
    pub keep: usize,
    /// Resume from a checkpoint folder (OUT/checkpoint-N), exactly where it stopped
    #[arg(long)]
    pub resume: Option<PathBuf>,
    /// Keep every layer's activations instead of recomputing them in the backward pass (faster, more memory)
    #[arg(long)]
    pub no_checkpointing: bool,
    /// Dataset id(s) to name in the adapter's card (default: the data file names)
    #[arg(long = "dataset-name")]
    pub dataset_names: Vec<String>,
    #[arg(long, short = 't')]
    pub threads: Option<usize>,
    /// Print the summary as JSON
    #[arg(long)]
    pub json: bool,
}
