//! One module per subcommand. Each exposes `Args` (clap) and `run(Args) -> anyhow::Result<ExitCode>`.

pub mod analyze;
pub mod apps;
pub mod bench;
pub mod exec;
pub mod export;
#[cfg(feature = "server")]
pub mod history;
#[cfg(feature = "server")]
pub mod serve;
pub mod submit;
pub mod supervise;
