//! One module per subcommand. Each exposes `Args` (clap) and `run(Args) -> anyhow::Result<ExitCode>`.

pub mod analyze;
pub mod bench;
#[cfg(feature = "server")]
pub mod history;
#[cfg(feature = "server")]
pub mod serve;
pub mod supervise;
