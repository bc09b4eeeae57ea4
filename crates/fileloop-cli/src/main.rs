//! `fileloop`: command-line tool of the fileloop project.
//!
//! A small subcommand dispatcher; each subcommand parses its own arguments by hand.

mod bench;
mod cp;
mod info;
mod signals;

use std::ffi::OsString;
use std::process::ExitCode;

const HELP: &str = "\
fileloop: completion-based async file I/O, from the command line

Usage: fileloop <COMMAND> [OPTIONS]

Commands:
  bench    Measure fileloop against tokio::fs and std (see `fileloop bench --help`)
  cp       Copy files and directory trees in parallel (`fileloop cp [-r] SRC DST`)
  info     Show the backend fileloop uses, and the device class of a path
  help     Print this help, or a command's help (`fileloop help cp`)

Options:
  -h, --help     Print this help
  -V, --version  Print the version";

/// An error to report on stderr, with the exit status to use.
#[derive(Debug)]
pub struct Failure {
    exit: u8,
    message: String,
}

impl Failure {
    /// Bad command line: exit status 2.
    pub fn usage(message: impl Into<String>) -> Self {
        Self {
            exit: 2,
            message: message.into(),
        }
    }

    /// The command could not do its work: exit status 1.
    pub fn runtime(message: impl Into<String>) -> Self {
        Self {
            exit: 1,
            message: message.into(),
        }
    }
}

fn dispatch(mut args: Vec<OsString>) -> Result<(), Failure> {
    if args.is_empty() {
        return Err(Failure::usage(format!("missing command\n\n{HELP}")));
    }
    let cmd = args.remove(0);
    match cmd.to_str() {
        Some("bench") => bench::main(args),
        Some("cp") => cp::main(args),
        Some("info") => info::main(args),
        Some("help") => match args.first().and_then(|a| a.to_str()) {
            None => {
                println!("{HELP}");
                Ok(())
            }
            Some("bench") => bench::main(vec!["--help".into()]),
            Some("cp") => cp::main(vec!["--help".into()]),
            Some("info") => info::main(vec!["--help".into()]),
            Some(other) => Err(Failure::usage(format!("unknown command '{other}'"))),
        },
        Some("-h" | "--help") => {
            println!("{HELP}");
            Ok(())
        }
        Some("-V" | "--version") => {
            println!("fileloop {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        _ => Err(Failure::usage(format!(
            "unknown command '{}' (see `fileloop --help`)",
            cmd.to_string_lossy()
        ))),
    }
}

fn main() -> ExitCode {
    match dispatch(std::env::args_os().skip(1).collect()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("fileloop: {}", f.message);
            ExitCode::from(f.exit)
        }
    }
}
