//! `sparkplane supervise --app-dir DIR` (hidden, internal): the per-application supervisor the
//! runner starts for every Spark application. See `sparkplane_runner::supervisor`.

use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of the internal supervisor.
#[derive(clap::Args)]
pub struct Args {
    /// The application's directory (holds launch.json; status.json is written there).
    #[arg(long)]
    app_dir: PathBuf,
}

/// Run the supervisor until the application's driver ends.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let code = sparkplane_runner::supervisor::run(&args.app_dir)?;
    Ok(ExitCode::from(u8::try_from(code).unwrap_or(1)))
}
