//! `agora`: main -> run -> ExitCode. Arguments are parsed, resolved into settings, then dispatched.

mod args;
mod card_args;
mod cmd;
mod finetune_args;
mod hub_args;
mod settings;

use std::process::ExitCode;

use clap::Parser;

/// llama.cpp spells the KV cache types `-ctk` / `-ctv`; clap would read those as `-c tk`, so they
/// become `--cache-type-k` / `--cache-type-v` before parsing (up to a `--`).
fn llama_aliases(args: impl Iterator<Item = std::ffi::OsString>) -> Vec<std::ffi::OsString> {
    let mut after_dashdash = false;
    args.map(|a| {
        if after_dashdash {
            return a;
        }
        after_dashdash = a == "--";
        let Some(s) = a.to_str() else { return a };
        for (short, long) in [("-ctk", "--cache-type-k"), ("-ctv", "--cache-type-v")] {
            if s == short {
                return long.into();
            }
            if let Some(v) = s.strip_prefix(short).and_then(|r| r.strip_prefix('=')) {
                return format!("{long}={v}").into();
            }
        }
        a
    })
    .collect()
}

fn main() -> ExitCode {
    // Rust ignores SIGPIPE, turning a closed pipe (`agora info M | head`) into a panic in println!.
    #[cfg(unix)]
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = args::Cli::parse_from(llama_aliases(std::env::args_os()));
    match cmd::dispatch(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
