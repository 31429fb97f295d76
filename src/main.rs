//! `flowforge`: parse the command line, dispatch, and map every failure to an exit status
//! in one place.
//!
//! Two things happen before `main`: the platform crate's constructor records the signal
//! dispositions and mask we were started with (`platform::inherited`), and Rust's runtime
//! reopens any of fds 0–2 that the caller left closed on /dev/null, so nothing FlowForge
//! opens later (the database, a pipe) can land on a standard descriptor
//! (`lifecycle::closed_stdio_at_start_is_reopened_on_dev_null` pins that).

#![deny(unsafe_code)]

mod act;
mod api;
mod cli;
mod demo;
mod detect;
mod diag;
mod evidence;
mod inspect;
mod replay;
mod sample;
mod supervise;
mod units;

use cli::Command;
use diag::diag;
use std::io::Write;

fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let command = match cli::parse(args) {
        Ok(command) => command,
        Err(usage) => {
            diag!("{usage}");
            std::process::exit(act::EXIT_FLOWFORGE_FAILED);
        }
    };
    let code = match command {
        Command::Shim { pty, command } => flowforge_platform::shim::run(&command, pty),
        Command::Inspect { what, db } => {
            init_logging(0);
            inspect::inspect(what, db)
        }
        Command::Replay(args) => {
            init_logging(0);
            replay::replay(args)
        }
        Command::Serve(args) => {
            init_logging(args.verbose);
            api::serve(args)
        }
        Command::Key { rotate } => api::key_command(rotate),
        Command::Demo(args) => {
            init_logging(0);
            demo::demo(args)
        }
        Command::Help(text) => {
            diag::stdout(text.as_bytes());
            0
        }
        Command::Version => {
            diag::stdout(format!("flowforge {}\n", env!("CARGO_PKG_VERSION")).as_bytes());
            0
        }
        Command::Run(args) => {
            // Before the launcher and writer threads exist: see the function's docs.
            flowforge_platform::process::use_one_malloc_arena();
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
        .target(env_logger::Target::Pipe(Box::new(diag::Writer)))
        .init();
}
