//! Arguments of `agora card`, `agora license`, `agora lineage` and `agora keys`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

#[derive(Args, Debug)]
pub struct CardArgs {
    /// Model: store name, .gguf file, or folder with a README.md card
    pub model: String,
    /// Check a dataset card instead of a model card
    #[arg(long)]
    pub dataset: bool,
    /// Write the generated card to this file (atomic) instead of printing it
    #[arg(long, value_name = "FILE")]
    pub write: Option<PathBuf>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct LicenseArgs {
    #[command(subcommand)]
    pub command: LicenseCommand,
}

#[derive(Subcommand, Debug)]
pub enum LicenseCommand {
    /// What an artifact may be used for, what it owes (with clauses) and any conflicts; exits
    /// non-zero on a conflict for the stated use
    Check(LicenseCheckArgs),
    /// Accept a license that requires it (gemma, llama*), recorded in $AGORA_HOME/acceptances.json
    Accept(LicenseAcceptArgs),
    /// The licenses Agora knows
    List(crate::args::JsonFlag),
}

#[derive(Args, Debug)]
pub struct LicenseCheckArgs {
    /// Store model, file or folder with a card, or a lineage.json (omit with --base)
    pub artifact: Option<String>,
    /// Intended use
    #[arg(long = "use", default_value = "commercial", value_parser = ["commercial", "research", "personal"])]
    pub use_: String,
    /// The name the derivative will be published under (checked against naming rules)
    #[arg(long)]
    pub name: Option<String>,
    /// What-if: the base model license(s), comma-separated
    #[arg(long, value_delimiter = ',')]
    pub base: Vec<String>,
    /// What-if: finetune, adapter, merge, quantized, converted or distill
    #[arg(long)]
    pub relation: Option<String>,
    /// What-if: license(s) of the training data (repeatable)
    #[arg(long = "dataset-license")]
    pub dataset_license: Vec<String>,
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct LicenseAcceptArgs {
    /// License id (gemma, llama3.1, ...)
    pub license: String,
    /// Do not ask; record the acceptance (for scripts and CI)
    #[arg(long, short = 'y')]
    pub yes: bool,
}

#[derive(Args, Debug)]
pub struct LineageArgs {
    #[command(subcommand)]
    pub command: LineageCommand,
}

#[derive(Subcommand, Debug)]
pub enum LineageCommand {
    /// Check hashes and signatures from the artifact up its chain; names the first broken link
    Verify {
        /// The artifact (file, folder or store name) or its lineage.json
        artifact: String,
        #[arg(long)]
        json: bool,
    },
    /// Print a lineage record
    Show {
        artifact: String,
    },
}

#[derive(Args, Debug)]
pub struct KeysArgs {
    #[command(subcommand)]
    pub command: KeysCommand,
}

#[derive(Subcommand, Debug)]
pub enum KeysCommand {
    /// Make a new ed25519 signing key in $AGORA_HOME/keys/ (private key mode 0600)
    New {
        /// Replace an existing key (old signatures still verify, but name the old key)
        #[arg(long)]
        force: bool,
    },
    /// Print the public key and its fingerprint
    Show {
        #[arg(long)]
        json: bool,
    },
}
