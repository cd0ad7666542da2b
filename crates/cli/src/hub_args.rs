//! Command-line syntax of `agora hub ...` (kept apart from args.rs: its own group of commands).

use std::path::PathBuf;

use clap::{Args, Subcommand};

#[derive(Args, Debug)]
pub struct HubArgs {
    /// The hub's data directory (metadata database and blobs); default: $AGORA_HUB_DATA
    #[arg(long, global = true)]
    pub data: Option<PathBuf>,
    /// Metadata database: postgres://USER[:PASSWORD]@HOST[:PORT]/DB (default: $AGORA_HUB_DB, else SQLite in the data directory)
    #[arg(long, global = true)]
    pub db: Option<String>,
    /// Blob store: s3://BUCKET[/PREFIX], credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY
    /// (default: $AGORA_HUB_BLOBS, else a folder in the data directory)
    #[arg(long, global = true)]
    pub blobs: Option<String>,
    /// S3 endpoint for non-AWS stores, e.g. http://127.0.0.1:8333 (default: $AGORA_HUB_S3_ENDPOINT)
    #[arg(long, global = true)]
    pub s3_endpoint: Option<String>,
    #[command(subcommand)]
    pub command: HubCommand,
}

#[derive(Subcommand, Debug)]
pub enum HubCommand {
    /// Serve the hub over HTTP (point clients at it with HF_ENDPOINT=http://ADDR)
    Serve(HubServeArgs),
    /// Manage users
    #[command(subcommand)]
    User(HubUserCommand),
    /// Manage organizations and their members
    #[command(subcommand)]
    Org(HubOrgCommand),
    /// Manage access tokens
    #[command(subcommand)]
    Token(HubTokenCommand),
    /// Check every stored file against the metadata (run with the server stopped)
    Fsck(HubFsckArgs),
}

#[derive(Args, Debug)]
pub struct HubServeArgs {
    /// Address to listen on (port 0 picks a free one; the chosen address is printed)
    #[arg(long, default_value = "127.0.0.1:8090")]
    pub addr: String,
    /// Base URL clients reach the hub at, when behind a proxy (default: from each request's Host)
    #[arg(long)]
    pub public_url: Option<String>,
    /// Largest file accepted, in bytes
    #[arg(long, default_value_t = 50 << 30)]
    pub max_file_size: u64,
    /// Entries per page of a tree listing
    #[arg(long, default_value_t = 1000)]
    pub tree_page: usize,
}

#[derive(Subcommand, Debug)]
pub enum HubUserCommand {
    /// Create a user
    Add {
        name: String,
        #[arg(long)]
        fullname: Option<String>,
        #[arg(long)]
        email: Option<String>,
    },
    /// List users
    List {
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum HubOrgCommand {
    /// Create an organization with USER as its admin
    Add {
        name: String,
        #[arg(long)]
        admin: String,
    },
    /// Set a member's role (read, write, admin) or remove them (--remove)
    Member {
        org: String,
        user: String,
        #[arg(long, default_value = "write")]
        role: String,
        #[arg(long)]
        remove: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum HubTokenCommand {
    /// Create a token for USER and print it (shown only this once)
    New {
        user: String,
        /// Allow writes (create repos, push commits); default is read-only
        #[arg(long)]
        write: bool,
        /// A name to recognise the token by
        #[arg(long, default_value = "cli")]
        name: String,
    },
    /// List a user's tokens (never their secrets)
    List {
        user: String,
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token by its id (from `token list`)
    Revoke { user: String, id: i64 },
}

#[derive(Args, Debug)]
pub struct HubFsckArgs {
    /// Only check that blobs exist with the right size (skip re-hashing)
    #[arg(long)]
    pub quick: bool,
    /// Machine-readable report
    #[arg(long)]
    pub json: bool,
}

#[derive(Args, Debug)]
pub struct PushArgs {
    /// A model in the store (by name), or a file or folder
    pub model: String,
    /// Repository to push to: namespace/name (created if missing)
    pub repo: String,
    /// Hub URL (default: $HF_ENDPOINT)
    #[arg(long)]
    pub endpoint: Option<String>,
    /// Access token with write scope (default: $HF_TOKEN, then the huggingface_hub token file)
    #[arg(long)]
    pub token: Option<String>,
    /// Create the repo private
    #[arg(long)]
    pub private: bool,
    /// Commit message
    #[arg(long, short = 'm', default_value = "Upload with agora push")]
    pub message: String,
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Args, Debug)]
pub struct LoginArgs {
    /// The access token (default: read from stdin, so it stays out of the shell history)
    #[arg(long)]
    pub token: Option<String>,
    /// Hub to check the token against (default: $HF_ENDPOINT, else https://huggingface.co)
    #[arg(long)]
    pub endpoint: Option<String>,
}

#[derive(Args, Debug)]
pub struct WhoamiArgs {
    /// Hub URL (default: $HF_ENDPOINT, else https://huggingface.co)
    #[arg(long)]
    pub endpoint: Option<String>,
    /// Access token (default: $HF_TOKEN, then `agora login`'s, then the huggingface_hub token file)
    #[arg(long)]
    pub token: Option<String>,
    /// The hub's whole answer as JSON
    #[arg(long)]
    pub json: bool,
}
