//! `flowforge`: parse the command line, dispatch, and map every failure to an exit status
//! in one place.

#![deny(unsafe_code)]

mod act;
mod api;
mod cli;
mod demo;
mod detect;
mod evidence;
mod inspect;
mod sample;
mod supervise;
mod units;

use cli::Command;
use std::io::Write;

fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let command = match cli::parse(args) {
        Ok(command) => command,
        Err(usage) => {
            eprintln!("flowforge: {usage}");
            std::process::exit(act::EXIT_FLOWFORGE_FAILED);
        }
    };
    let code = match command {
        Command::Shim { pty, command } => flowforge_platform::shim::run(&command, pty),
        Command::Inspect { what, db } => {
            init_logging(0);
            inspect::inspect(what, db)
        }
        Command::Serve(args) => {
            init_logging(args.verbose);
            api::serve(args)
        }
        Command::Key { rotate } => api::key_command(rotate),
        Command::Demo => {
            init_logging(0);
            demo::demo()
        }
        Command::Help(text) => {
            let _ = std::io::stdout().write_all(text.as_bytes());
            0
        }
        Command::Version => {
            println!("flowforge {}", env!("CARGO_PKG_VERSION"));
            0
        }
        Command::Run(args) => {
            init_logging(args.verbose);
            act::run(args)
        }
    };
    std::process::exit(code);
}

/// Quiet by default (FlowForge stands in front of someone else's output): warnings only,
/// `-v` for info, `-vv` for debug; RUST_LOG overrides.
fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(level))
        .format(|out, record| writeln!(out, "flowforge: {}", record.args()))
        .init();
}
