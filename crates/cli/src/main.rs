//! `agora`: main -> run -> ExitCode. Arguments are parsed, resolved into settings, then dispatched.

mod args;
mod card_args;
mod cmd;
mod finetune_args;
mod hub_args;
mod settings;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    // Rust ignores SIGPIPE, turning a closed pipe (`agora info M | head`) into a panic in println!.
    #[cfg(unix)]
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = args::Cli::parse();
    match cmd::dispatch(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
