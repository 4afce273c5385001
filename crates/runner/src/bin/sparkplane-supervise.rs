//! The per-application supervisor as a standalone binary (`sparkplane-supervise --app-dir DIR`),
//! used by the runner's own tests; the product binary exposes the same function as the hidden
//! `sparkplane supervise` subcommand.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = match args.as_slice() {
        [flag, dir] if flag == "--app-dir" => PathBuf::from(dir),
        _ => {
            eprintln!("usage: sparkplane-supervise --app-dir DIR");
            return ExitCode::from(2);
        }
    };
    match sparkplane_runner::supervisor::run(&dir) {
        Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(e) => {
            eprintln!("sparkplane-supervise: {e}");
            ExitCode::from(1)
        }
    }
}
