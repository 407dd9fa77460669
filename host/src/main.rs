//! The `reverie` binary: parse the command line and report errors for people.

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = reverie::cli::Cli::parse();
    match reverie::cli::run(cli) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
