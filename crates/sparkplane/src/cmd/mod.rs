//! One module per subcommand. Each exposes `Args` (clap) and `run(Args) -> anyhow::Result<ExitCode>`.

#[cfg(feature = "server")]
pub mod admin;
pub mod analyze;
pub mod apps;
pub mod bench;
#[cfg(feature = "server")]
pub mod bench_export;
pub mod exec;
pub mod export;
#[cfg(feature = "server")]
pub mod history;
#[cfg(feature = "server")]
pub mod serve;
pub mod submit;
pub mod supervise;
